//! `-d`: one line on stderr per packet sent or received, in the spirit of `mosquitto_pub -d`.

use std::io::Write as _;

use mqtt_proto::{Packet, QosPid};
use mqtt_std::Direction;

/// A short rendering of a packet: its type and the fields a person debugging wants.
pub fn describe(p: &Packet<'_>) -> String {
    match p {
        Packet::Connect(c) => format!(
            "CONNECT (id {:?}, c{}, k{}, u{}, p{}, will {})",
            c.client_id,
            u8::from(c.clean_session),
            c.keep_alive,
            u8::from(c.username.is_some()),
            u8::from(c.password.is_some()),
            c.will
                .map(|w| format!(
                    "{:?} q{} r{}",
                    w.topic.as_str(),
                    w.qos as u8,
                    u8::from(w.retain)
                ))
                .unwrap_or_else(|| "none".into())
        ),
        Packet::ConnAck(a) => format!(
            "CONNACK (session present {}, return code {})",
            u8::from(a.session_present),
            a.code.as_u8()
        ),
        Packet::Publish(p) => {
            let id = match p.qos_pid {
                QosPid::AtMostOnce => String::new(),
                QosPid::AtLeastOnce(id) | QosPid::ExactlyOnce(id) => format!(", m{}", id.get()),
            };
            format!(
                "PUBLISH (d{}, q{}, r{}{id}, {:?}, ... ({} bytes))",
                u8::from(p.dup),
                p.qos_pid.qos() as u8,
                u8::from(p.retain),
                p.topic.as_str(),
                p.payload.len()
            )
        }
        Packet::PubAck(id) => format!("PUBACK (m{})", id.get()),
        Packet::PubRec(id) => format!("PUBREC (m{})", id.get()),
        Packet::PubRel(id) => format!("PUBREL (m{})", id.get()),
        Packet::PubComp(id) => format!("PUBCOMP (m{})", id.get()),
        Packet::Subscribe(s) => {
            let filters: Vec<String> = s
                .filters
                .iter()
                .map(|(f, q)| format!("{:?} q{}", f.as_str(), q as u8))
                .collect();
            format!("SUBSCRIBE (m{}, {})", s.packet_id.get(), filters.join(", "))
        }
        Packet::SubAck(a) => {
            let codes: Vec<String> = a.codes.iter().map(|c| c.as_u8().to_string()).collect();
            format!("SUBACK (m{}, {})", a.packet_id.get(), codes.join(", "))
        }
        Packet::Unsubscribe(u) => {
            let filters: Vec<String> = u
                .filters
                .iter()
                .map(|f| format!("{:?}", f.as_str()))
                .collect();
            format!(
                "UNSUBSCRIBE (m{}, {})",
                u.packet_id.get(),
                filters.join(", ")
            )
        }
        Packet::UnsubAck(id) => format!("UNSUBACK (m{})", id.get()),
        Packet::PingReq => "PINGREQ".into(),
        Packet::PingResp => "PINGRESP".into(),
        Packet::Disconnect => "DISCONNECT".into(),
    }
}

/// A short rendering of a 5.0 packet: its type, ids and reason codes.
pub fn describe_v5(p: &mqtt_proto::v5::Packet<'_>) -> String {
    use mqtt_proto::v5::Packet as P;
    match p {
        P::Connect(c) => format!(
            "CONNECT (v5, id {:?}, c{}, k{}, u{}, p{}, will {})",
            c.client_id,
            u8::from(c.clean_start),
            c.keep_alive,
            u8::from(c.username.is_some()),
            u8::from(c.password.is_some()),
            if c.will.is_some() { "yes" } else { "none" }
        ),
        P::ConnAck(a) => format!(
            "CONNACK (session present {}, {})",
            u8::from(a.session_present),
            a.reason_code
        ),
        P::Publish(p) => {
            let id = match p.qos_pid {
                QosPid::AtMostOnce => String::new(),
                QosPid::AtLeastOnce(id) | QosPid::ExactlyOnce(id) => format!(", m{}", id.get()),
            };
            format!(
                "PUBLISH (d{}, q{}, r{}{id}, {:?}, ... ({} bytes))",
                u8::from(p.dup),
                p.qos_pid.qos() as u8,
                u8::from(p.retain),
                p.topic.map(|t| t.as_str()).unwrap_or_default(),
                p.payload.len()
            )
        }
        P::PubAck(r) => format!("PUBACK (m{}, {})", r.packet_id.get(), r.reason_code),
        P::PubRec(r) => format!("PUBREC (m{}, {})", r.packet_id.get(), r.reason_code),
        P::PubRel(r) => format!("PUBREL (m{}, {})", r.packet_id.get(), r.reason_code),
        P::PubComp(r) => format!("PUBCOMP (m{}, {})", r.packet_id.get(), r.reason_code),
        P::Subscribe(s) => format!("SUBSCRIBE (m{})", s.packet_id.get()),
        P::SubAck(a) => {
            let codes: Vec<String> = a.reason_codes.iter().map(|c| c.to_string()).collect();
            format!("SUBACK (m{}, {})", a.packet_id.get(), codes.join(", "))
        }
        P::Unsubscribe(u) => format!("UNSUBSCRIBE (m{})", u.packet_id.get()),
        P::UnsubAck(a) => format!("UNSUBACK (m{})", a.packet_id.get()),
        P::PingReq => "PINGREQ".into(),
        P::PingResp => "PINGRESP".into(),
        P::Disconnect(d) => format!("DISCONNECT ({})", d.reason_code),
        P::Auth(a) => format!("AUTH ({})", a.reason_code),
    }
}

/// The `-d` trace hook of 5.0 connections.
pub fn to_stderr_v5(dir: Direction, p: &mqtt_proto::v5::Packet<'_>) {
    let arrow = match dir {
        Direction::Sent => "sent",
        Direction::Received => "received",
    };
    let _ = writeln!(std::io::stderr().lock(), "{arrow} {}", describe_v5(p));
}

/// The `-d` trace hook.
pub fn to_stderr(dir: Direction, p: &Packet<'_>) {
    let arrow = match dir {
        Direction::Sent => "sent",
        Direction::Received => "received",
    };
    let _ = writeln!(std::io::stderr().lock(), "{arrow} {}", describe(p));
}
