//! A client/server exchange: CONNECT, CONNACK, SUBSCRIBE, SUBACK, PUBLISH QoS 1, PUBACK.
//! Each packet is encoded, printed as hex, decoded back and printed as decoded.
//!
//! Run with `cargo run -p mqtt-proto --example exchange`.
use std::error::Error;

use mqtt_proto::{
    ConnAck, Connect, ConnectReturnCode, Decoder, Packet, PacketId, Publish, QoS, QosPid, SubAck,
    SubAckCodes, Subscribe, TopicFilter, TopicName,
};

fn main() -> Result<(), Box<dyn Error>> {
    let sub_id = PacketId::new(1).ok_or("packet identifier 0")?;
    let pub_id = PacketId::new(2).ok_or("packet identifier 0")?;
    let filters = [(TopicFilter::new("sensors/+/temperature")?, QoS::AtLeastOnce)];
    let granted = [QoS::AtLeastOnce.as_u8()];

    let exchange = [
        ("client", Packet::Connect(Connect::new("sensor-17", 30))),
        (
            "server",
            Packet::ConnAck(ConnAck {
                session_present: false,
                code: ConnectReturnCode::Accepted,
            }),
        ),
        (
            "client",
            Packet::Subscribe(Subscribe::new(sub_id, &filters)),
        ),
        (
            "server",
            Packet::SubAck(SubAck::new(sub_id, SubAckCodes::new(&granted)?)),
        ),
        (
            "client",
            Packet::Publish(Publish::new(
                TopicName::new("sensors/17/temperature")?,
                QosPid::AtLeastOnce(pub_id),
                b"21.5",
            )),
        ),
        ("server", Packet::PubAck(pub_id)),
    ];

    let decoder = Decoder::new();
    let mut buf = [0u8; 256];
    for (sender, packet) in &exchange {
        let n = packet.encode(&mut buf)?;
        let wire = buf.get(..n).ok_or("encoded past the buffer")?;
        println!("{sender} -> {} ({n} bytes)", packet.packet_type());
        println!("  hex:     {}", hex(wire));
        let (decoded, used) = decoder.decode(wire)?.ok_or("incomplete packet")?;
        assert_eq!(used, n);
        assert_eq!(&decoded, packet);
        println!("  decoded: {}", describe(&decoded));
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn describe(packet: &Packet<'_>) -> String {
    match packet {
        Packet::Connect(c) => format!(
            "CONNECT client_id={:?} keep_alive={}s clean_session={}",
            c.client_id, c.keep_alive, c.clean_session
        ),
        Packet::ConnAck(c) => format!(
            "CONNACK session_present={} code={:?}",
            c.session_present, c.code
        ),
        Packet::Subscribe(s) => {
            let filters: Vec<String> = s
                .filters
                .iter()
                .map(|(f, q)| format!("{f} (QoS {})", q.as_u8()))
                .collect();
            format!(
                "SUBSCRIBE id={} filters=[{}]",
                s.packet_id.get(),
                filters.join(", ")
            )
        }
        Packet::SubAck(s) => format!(
            "SUBACK id={} codes={:?}",
            s.packet_id.get(),
            s.codes.iter().collect::<Vec<_>>()
        ),
        Packet::Publish(p) => format!(
            "PUBLISH topic={} qos={} id={:?} dup={} retain={} payload={:?}",
            p.topic,
            p.qos_pid.qos().as_u8(),
            p.qos_pid.packet_id().map(PacketId::get),
            p.dup,
            p.retain,
            String::from_utf8_lossy(p.payload)
        ),
        Packet::PubAck(id) => format!("PUBACK id={}", id.get()),
        other => format!("{}", other.packet_type()),
    }
}
