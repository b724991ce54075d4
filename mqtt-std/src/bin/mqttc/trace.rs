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

/// A 5.0 reason code as `-d` prints it: "reason code 0x10 no matching subscribers".
fn code(c: impl std::fmt::Display) -> String {
    // The codes display as "no matching subscribers (0x10)".
    let text = c.to_string();
    match text.rsplit_once(" (0x") {
        Some((words, hex)) => format!("0x{} {words}", hex.trim_end_matches(')')),
        None => text,
    }
}

/// Binary data as `0x` and hex digits.
fn hex(bytes: &[u8]) -> String {
    let digits: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("0x{digits}")
}

/// One property as `name=value`, named as mosquitto_pub's `-D` names them.
fn property(p: &mqtt_proto::v5::Property<'_>) -> String {
    use mqtt_proto::v5::Property as P;
    match p {
        P::PayloadFormatIndicator(b) => format!("payload-format-indicator={}", u8::from(*b)),
        P::MessageExpiryInterval(n) => format!("message-expiry-interval={n}"),
        P::ContentType(s) => format!("content-type={s:?}"),
        P::ResponseTopic(t) => format!("response-topic={:?}", t.as_str()),
        P::CorrelationData(d) => format!("correlation-data={}", hex(d)),
        P::SubscriptionIdentifier(n) => format!("subscription-identifier={n}"),
        P::SessionExpiryInterval(n) => format!("session-expiry-interval={n}"),
        P::AssignedClientIdentifier(s) => format!("assigned-client-identifier={s:?}"),
        P::ServerKeepAlive(n) => format!("server-keep-alive={n}"),
        P::AuthenticationMethod(s) => format!("authentication-method={s:?}"),
        P::AuthenticationData(d) => format!("authentication-data={}", hex(d)),
        P::RequestProblemInformation(b) => {
            format!("request-problem-information={}", u8::from(*b))
        }
        P::WillDelayInterval(n) => format!("will-delay-interval={n}"),
        P::RequestResponseInformation(b) => {
            format!("request-response-information={}", u8::from(*b))
        }
        P::ResponseInformation(s) => format!("response-information={s:?}"),
        P::ServerReference(s) => format!("server-reference={s:?}"),
        P::ReasonString(s) => format!("reason-string={s:?}"),
        P::ReceiveMaximum(n) => format!("receive-maximum={n}"),
        P::TopicAliasMaximum(n) => format!("topic-alias-maximum={n}"),
        P::TopicAlias(n) => format!("topic-alias={n}"),
        P::MaximumQoS(q) => format!("maximum-qos={}", *q as u8),
        P::RetainAvailable(b) => format!("retain-available={}", u8::from(*b)),
        P::UserProperty(k, v) => format!("user-property={k:?}:{v:?}"),
        P::MaximumPacketSize(n) => format!("maximum-packet-size={n}"),
        P::WildcardSubscriptionAvailable(b) => {
            format!("wildcard-subscription-available={}", u8::from(*b))
        }
        P::SubscriptionIdentifierAvailable(b) => {
            format!("subscription-identifier-available={}", u8::from(*b))
        }
        P::SharedSubscriptionAvailable(b) => {
            format!("shared-subscription-available={}", u8::from(*b))
        }
    }
}

/// `, LABEL: name=value, ...` for a packet's properties, or nothing when it has none.
fn properties(label: &str, p: &mqtt_proto::v5::Properties<'_>) -> String {
    if p.is_empty() {
        return String::new();
    }
    let list: Vec<String> = p.iter().map(|x| property(&x)).collect();
    format!(", {label}: {}", list.join(", "))
}

/// A short rendering of a 5.0 packet: its type, ids, reason codes and properties.
pub fn describe_v5(p: &mqtt_proto::v5::Packet<'_>) -> String {
    use mqtt_proto::v5::Packet as P;
    let props = |p: &mqtt_proto::v5::Properties<'_>| properties("properties", p);
    match p {
        P::Connect(c) => format!(
            "CONNECT (v5, id {:?}, c{}, k{}, u{}, p{}, will {}{}{})",
            c.client_id,
            u8::from(c.clean_start),
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
                .unwrap_or_else(|| "none".into()),
            props(&c.properties),
            c.will
                .map(|w| properties("will properties", &w.properties))
                .unwrap_or_default()
        ),
        P::ConnAck(a) => format!(
            "CONNACK (session present {}, reason code {}{})",
            u8::from(a.session_present),
            code(a.reason_code),
            props(&a.properties)
        ),
        P::Publish(p) => {
            let id = match p.qos_pid {
                QosPid::AtMostOnce => String::new(),
                QosPid::AtLeastOnce(id) | QosPid::ExactlyOnce(id) => format!(", m{}", id.get()),
            };
            format!(
                "PUBLISH (d{}, q{}, r{}{id}, {:?}, ... ({} bytes){})",
                u8::from(p.dup),
                p.qos_pid.qos() as u8,
                u8::from(p.retain),
                p.topic.map(|t| t.as_str()).unwrap_or_default(),
                p.payload.len(),
                props(&p.properties)
            )
        }
        P::PubAck(r) => response("PUBACK", r.packet_id, code(r.reason_code), &r.properties),
        P::PubRec(r) => response("PUBREC", r.packet_id, code(r.reason_code), &r.properties),
        P::PubRel(r) => response("PUBREL", r.packet_id, code(r.reason_code), &r.properties),
        P::PubComp(r) => response("PUBCOMP", r.packet_id, code(r.reason_code), &r.properties),
        P::Subscribe(s) => {
            let filters: Vec<String> = s
                .filters
                .iter()
                .map(|(f, o)| {
                    format!(
                        "{:?} q{} nl{} rap{} rh{}",
                        f.as_str(),
                        o.qos as u8,
                        u8::from(o.no_local),
                        u8::from(o.retain_as_published),
                        o.retain_handling as u8
                    )
                })
                .collect();
            format!(
                "SUBSCRIBE (m{}, {}{})",
                s.packet_id.get(),
                filters.join(", "),
                props(&s.properties)
            )
        }
        P::SubAck(a) => {
            let codes: Vec<String> = a.reason_codes.iter().map(code).collect();
            format!(
                "SUBACK (m{}, reason codes {}{})",
                a.packet_id.get(),
                codes.join(", "),
                props(&a.properties)
            )
        }
        P::Unsubscribe(u) => {
            let filters: Vec<String> = u
                .filters
                .iter()
                .map(|f| format!("{:?}", f.as_str()))
                .collect();
            format!(
                "UNSUBSCRIBE (m{}, {}{})",
                u.packet_id.get(),
                filters.join(", "),
                props(&u.properties)
            )
        }
        P::UnsubAck(a) => {
            let codes: Vec<String> = a.reason_codes.iter().map(code).collect();
            format!(
                "UNSUBACK (m{}, reason codes {}{})",
                a.packet_id.get(),
                codes.join(", "),
                props(&a.properties)
            )
        }
        P::PingReq => "PINGREQ".into(),
        P::PingResp => "PINGRESP".into(),
        P::Disconnect(d) => format!(
            "DISCONNECT (reason code {}{})",
            code(d.reason_code),
            props(&d.properties)
        ),
        P::Auth(a) => format!(
            "AUTH (reason code {}{})",
            code(a.reason_code),
            props(&a.properties)
        ),
    }
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP at 5.0.
fn response(
    name: &str,
    id: mqtt_proto::PacketId,
    code: String,
    p: &mqtt_proto::v5::Properties<'_>,
) -> String {
    format!(
        "{name} (m{}, reason code {code}{})",
        id.get(),
        properties("properties", p)
    )
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use mqtt_proto::v5::{self, Packet as P, Properties, Property};
    use mqtt_proto::{PacketId, TopicName};

    fn id(n: u16) -> PacketId {
        PacketId::new(n).unwrap()
    }

    #[test]
    fn connack_and_disconnect_show_reason_codes_and_properties() {
        let props = [
            Property::TopicAliasMaximum(10),
            Property::ReceiveMaximum(20),
        ];
        let connack = P::ConnAck(v5::ConnAck {
            session_present: false,
            reason_code: v5::ConnectReasonCode::Success,
            properties: Properties::new(&props),
        });
        assert_eq!(
            describe_v5(&connack),
            "CONNACK (session present 0, reason code 0x00 success, properties: \
             topic-alias-maximum=10, receive-maximum=20)"
        );
        let props = [Property::ReasonString("another client")];
        let disconnect = P::Disconnect(v5::Disconnect {
            reason_code: v5::DisconnectReasonCode::SessionTakenOver,
            properties: Properties::new(&props),
        });
        assert_eq!(
            describe_v5(&disconnect),
            "DISCONNECT (reason code 0x8e session taken over, properties: \
             reason-string=\"another client\")"
        );
        let bare = P::Disconnect(v5::Disconnect {
            reason_code: v5::DisconnectReasonCode::NormalDisconnection,
            properties: Properties::EMPTY,
        });
        assert_eq!(
            describe_v5(&bare),
            "DISCONNECT (reason code 0x00 normal disconnection)"
        );
    }

    #[test]
    fn publish_and_its_acknowledgements() {
        let props = [
            Property::ContentType("text/plain"),
            Property::CorrelationData(b"\x01\xff"),
            Property::UserProperty("k", "v"),
            Property::TopicAlias(2),
        ];
        let publish = P::Publish(v5::Publish {
            dup: false,
            qos_pid: QosPid::AtLeastOnce(id(7)),
            retain: true,
            topic: Some(TopicName::new("a/b").unwrap()),
            properties: Properties::new(&props),
            payload: b"hi",
        });
        assert_eq!(
            describe_v5(&publish),
            "PUBLISH (d0, q1, r1, m7, \"a/b\", ... (2 bytes), properties: \
             content-type=\"text/plain\", correlation-data=0x01ff, user-property=\"k\":\"v\", \
             topic-alias=2)"
        );
        let props = [Property::ReasonString("nobody")];
        let puback = P::PubAck(v5::PubResponse {
            packet_id: id(7),
            reason_code: v5::PubAckReasonCode::NoMatchingSubscribers,
            properties: Properties::new(&props),
        });
        assert_eq!(
            describe_v5(&puback),
            "PUBACK (m7, reason code 0x10 no matching subscribers, properties: \
             reason-string=\"nobody\")"
        );
        let pubrec = P::PubRec(v5::PubResponse {
            packet_id: id(8),
            reason_code: v5::PubRecReasonCode::NotAuthorized,
            properties: Properties::EMPTY,
        });
        assert_eq!(
            describe_v5(&pubrec),
            "PUBREC (m8, reason code 0x87 not authorized)"
        );
    }

    #[test]
    fn subscribe_and_its_acknowledgements() {
        let filters = [(
            mqtt_proto::TopicFilter::new("a/#").unwrap(),
            v5::SubscriptionOptions {
                qos: mqtt_proto::QoS::AtLeastOnce,
                no_local: true,
                retain_as_published: false,
                retain_handling: v5::RetainHandling::DoNotSend,
            },
        )];
        let props = [Property::SubscriptionIdentifier(3)];
        let subscribe = P::Subscribe(v5::Subscribe {
            packet_id: id(1),
            properties: Properties::new(&props),
            filters: (&filters).into(),
        });
        assert_eq!(
            describe_v5(&subscribe),
            "SUBSCRIBE (m1, \"a/#\" q1 nl1 rap0 rh2, properties: subscription-identifier=3)"
        );
        let suback = P::SubAck(v5::SubAck {
            packet_id: id(1),
            properties: Properties::EMPTY,
            reason_codes: v5::SubAckReasonCodes::new(&[0x01, 0x87]).unwrap(),
        });
        assert_eq!(
            describe_v5(&suback),
            "SUBACK (m1, reason codes 0x01 granted QoS 1, 0x87 not authorized)"
        );
        let unsuback = P::UnsubAck(v5::UnsubAck {
            packet_id: id(2),
            properties: Properties::EMPTY,
            reason_codes: v5::UnsubAckReasonCodes::new(&[0x11]).unwrap(),
        });
        assert_eq!(
            describe_v5(&unsuback),
            "UNSUBACK (m2, reason codes 0x11 no subscription existed)"
        );
    }

    #[test]
    fn connect_shows_its_properties_and_the_will_s() {
        let props = [Property::SessionExpiryInterval(60)];
        let will_props = [Property::WillDelayInterval(5)];
        let mut will = v5::Will::new(
            TopicName::new("w").unwrap(),
            b"bye",
            mqtt_proto::QoS::AtLeastOnce,
        );
        will.properties = Properties::new(&will_props);
        let mut c = v5::Connect::new("id-1", 30);
        c.properties = Properties::new(&props);
        c.will = Some(will);
        assert_eq!(
            describe_v5(&P::Connect(c)),
            "CONNECT (v5, id \"id-1\", c1, k30, u0, p0, will \"w\" q1 r0, properties: \
             session-expiry-interval=60, will properties: will-delay-interval=5)"
        );
    }
}
