//! The packet streams of the codec comparison as each library's own values, each library's
//! encoder and decoder over a whole stream, and the check that they all agree.
#![allow(dead_code)]

use std::hint::black_box;

use bytes::BytesMut;
use mqtt_bench::codec::{ACK_KINDS, AckKind, STREAM, TOPIC, packet_id};

/// A receive buffer big enough for any stream here, so that no encoder grows it while measured.
pub const MAX_PACKET: usize = 1 << 20;

/// One stream, as each library's own packet values.
pub struct Case {
    pub name: &'static str,
    pub ours: Vec<mqtt_proto::Packet<'static>>,
    pub rumqttc: Vec<rumqttc::Packet>,
    pub mqttrs: Vec<mqttrs::Packet<'static>>,
}

pub fn publish_case(name: &'static str, payload: &'static [u8]) -> Case {
    use mqtt_proto::{Packet, Publish, QosPid, TopicName};
    let topic = TopicName::new(TOPIC).expect("valid topic");
    let ours = (0..STREAM)
        .map(|i| {
            let id = mqtt_proto::PacketId::new(packet_id(i)).expect("non-zero");
            Packet::Publish(Publish::new(topic, QosPid::AtLeastOnce(id), payload))
        })
        .collect();
    let rumqttc = (0..STREAM)
        .map(|i| {
            let mut p = rumqttc::Publish::from_bytes(
                TOPIC,
                rumqttc::QoS::AtLeastOnce,
                bytes::Bytes::from_static(payload),
            );
            p.pkid = packet_id(i);
            rumqttc::Packet::Publish(p)
        })
        .collect();
    let mqttrs = (0..STREAM)
        .map(|i| {
            mqttrs::Packet::Publish(mqttrs::Publish {
                dup: false,
                qospid: mqttrs::QosPid::AtLeastOnce(mqttrs_pid(i)),
                retain: false,
                topic_name: TOPIC,
                payload,
            })
        })
        .collect();
    Case {
        name,
        ours,
        rumqttc,
        mqttrs,
    }
}

pub fn mqttrs_pid(i: usize) -> mqttrs::Pid {
    mqttrs::Pid::try_from(packet_id(i)).expect("non-zero")
}

pub const SUBACK_CODES: &[u8] = &[0x00, 0x01, 0x80];

pub fn acks_case() -> Case {
    use mqtt_proto::{Packet, PacketId, SubAck, SubAckCodes};
    let codes = SubAckCodes::new(SUBACK_CODES).expect("valid codes");
    let kind = |i: usize| ACK_KINDS[i % ACK_KINDS.len()];
    let ours = (0..STREAM)
        .map(|i| {
            let id = PacketId::new(packet_id(i)).expect("non-zero");
            match kind(i) {
                AckKind::PubAck => Packet::PubAck(id),
                AckKind::PubRec => Packet::PubRec(id),
                AckKind::PubRel => Packet::PubRel(id),
                AckKind::PubComp => Packet::PubComp(id),
                AckKind::SubAck => Packet::SubAck(SubAck::new(id, codes)),
                AckKind::UnsubAck => Packet::UnsubAck(id),
                AckKind::PingResp => Packet::PingResp,
            }
        })
        .collect();
    let rumqttc = (0..STREAM)
        .map(|i| {
            use rumqttc::{Packet, QoS, SubscribeReasonCode as C};
            let id = packet_id(i);
            match kind(i) {
                AckKind::PubAck => Packet::PubAck(rumqttc::PubAck::new(id)),
                AckKind::PubRec => Packet::PubRec(rumqttc::PubRec::new(id)),
                AckKind::PubRel => Packet::PubRel(rumqttc::PubRel::new(id)),
                AckKind::PubComp => Packet::PubComp(rumqttc::PubComp::new(id)),
                AckKind::SubAck => Packet::SubAck(rumqttc::SubAck::new(
                    id,
                    vec![
                        C::Success(QoS::AtMostOnce),
                        C::Success(QoS::AtLeastOnce),
                        C::Failure,
                    ],
                )),
                AckKind::UnsubAck => Packet::UnsubAck(rumqttc::UnsubAck::new(id)),
                AckKind::PingResp => Packet::PingResp,
            }
        })
        .collect();
    let mqttrs = (0..STREAM)
        .map(|i| {
            use mqttrs::{Packet, QoS, SubscribeReturnCodes as C};
            let id = mqttrs_pid(i);
            match kind(i) {
                AckKind::PubAck => Packet::Puback(id),
                AckKind::PubRec => Packet::Pubrec(id),
                AckKind::PubRel => Packet::Pubrel(id),
                AckKind::PubComp => Packet::Pubcomp(id),
                AckKind::SubAck => Packet::Suback(mqttrs::Suback {
                    pid: id,
                    return_codes: vec![
                        C::Success(QoS::AtMostOnce),
                        C::Success(QoS::AtLeastOnce),
                        C::Failure,
                    ],
                }),
                AckKind::UnsubAck => Packet::Unsuback(id),
                AckKind::PingResp => Packet::Pingresp,
            }
        })
        .collect();
    Case {
        name: "mixed-acks",
        ours,
        rumqttc,
        mqttrs,
    }
}

// ---- encoders -------------------------------------------------------------------------------

pub fn encode_ours(packets: &[mqtt_proto::Packet<'_>], out: &mut [u8]) -> usize {
    let mut off = 0;
    for p in packets {
        let rest = out.get_mut(off..).expect("buffer large enough");
        off += p.encode(rest).expect("encodable");
    }
    off
}

pub fn encode_ours_bytes(packets: &[mqtt_proto::Packet<'_>], out: &mut BytesMut) -> usize {
    out.clear();
    for p in packets {
        p.encode_to_bytes(out).expect("encodable");
    }
    out.len()
}

pub fn encode_rumqttc(packets: &[rumqttc::Packet], out: &mut BytesMut) -> usize {
    out.clear();
    for p in packets {
        p.write(out, MAX_PACKET).expect("encodable");
    }
    out.len()
}

pub fn encode_mqttrs(packets: &[mqttrs::Packet<'_>], out: &mut [u8]) -> usize {
    let mut off = 0;
    for p in packets {
        let rest = out.get_mut(off..).expect("buffer large enough");
        off += mqttrs::encode_slice(p, rest).expect("encodable");
    }
    off
}

// ---- decoders: each returns the packets decoded and a digest of what it read ----------------

/// What a consumer reads from each packet: enough to keep every decoder honest.
pub fn digest_ours(p: &mqtt_proto::Packet<'_>) -> usize {
    use mqtt_proto::Packet;
    match p {
        Packet::Publish(p) => {
            p.topic.as_str().len()
                + p.payload.len()
                + p.qos_pid.packet_id().map_or(0, |id| usize::from(id.get()))
        }
        Packet::PubAck(id)
        | Packet::PubRec(id)
        | Packet::PubRel(id)
        | Packet::PubComp(id)
        | Packet::UnsubAck(id) => usize::from(id.get()),
        Packet::SubAck(s) => usize::from(s.packet_id.get()) + s.codes.len(),
        _ => 1,
    }
}

pub fn digest_rumqttc(p: &rumqttc::Packet) -> usize {
    use rumqttc::Packet;
    match p {
        Packet::Publish(p) => p.topic.len() + p.payload.len() + usize::from(p.pkid),
        Packet::PubAck(a) => usize::from(a.pkid),
        Packet::PubRec(a) => usize::from(a.pkid),
        Packet::PubRel(a) => usize::from(a.pkid),
        Packet::PubComp(a) => usize::from(a.pkid),
        Packet::UnsubAck(a) => usize::from(a.pkid),
        Packet::SubAck(s) => usize::from(s.pkid) + s.return_codes.len(),
        _ => 1,
    }
}

pub fn digest_mqttrs(p: &mqttrs::Packet<'_>) -> usize {
    use mqttrs::Packet;
    match p {
        Packet::Publish(p) => {
            p.topic_name.len() + p.payload.len() + p.qospid.pid().map_or(0, |id| id.get().into())
        }
        Packet::Puback(id)
        | Packet::Pubrec(id)
        | Packet::Pubrel(id)
        | Packet::Pubcomp(id)
        | Packet::Unsuback(id) => id.get().into(),
        Packet::Suback(s) => usize::from(s.pid.get()) + s.return_codes.len(),
        _ => 1,
    }
}

pub fn decode_ours(decoder: &mqtt_proto::Decoder, stream: &[u8]) -> (usize, usize) {
    let (mut off, mut count, mut digest) = (0, 0, 0);
    while let Some(rest) = stream.get(off..).filter(|r| !r.is_empty()) {
        match decoder.decode(rest) {
            Ok(Some((packet, n))) => {
                digest += digest_ours(black_box(&packet));
                off += n;
                count += 1;
            }
            _ => break,
        }
    }
    (count, digest)
}

pub fn decode_ours_bytes(decoder: &mqtt_proto::Decoder, buf: &mut BytesMut) -> (usize, usize) {
    let (mut count, mut digest) = (0, 0);
    while let Ok(Some(owned)) = decoder.decode_bytes(buf) {
        digest += digest_ours(&black_box(&owned).packet());
        count += 1;
    }
    (count, digest)
}

pub fn decode_rumqttc(buf: &mut BytesMut) -> (usize, usize) {
    let (mut count, mut digest) = (0, 0);
    while !buf.is_empty() {
        match rumqttc::Packet::read(buf, MAX_PACKET) {
            Ok(packet) => {
                digest += digest_rumqttc(black_box(&packet));
                count += 1;
            }
            Err(_) => break,
        }
    }
    (count, digest)
}

/// The size of the packet at the start of `buf` from its fixed header: mqttrs's `decode_slice`
/// does not report it.
#[inline]
pub fn frame_len(buf: &[u8]) -> Option<usize> {
    let mut len = 0usize;
    for i in 0..4 {
        let b = *buf.get(1 + i)?;
        len |= usize::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Some(2 + i + len);
        }
    }
    None
}

pub fn decode_mqttrs(stream: &[u8]) -> (usize, usize) {
    let (mut off, mut count, mut digest) = (0, 0, 0);
    while let Some(rest) = stream.get(off..).filter(|r| !r.is_empty()) {
        match mqttrs::decode_slice(rest) {
            Ok(Some(packet)) => {
                digest += digest_mqttrs(black_box(&packet));
                match frame_len(rest) {
                    Some(n) => off += n,
                    None => break,
                }
                count += 1;
            }
            _ => break,
        }
    }
    (count, digest)
}

/// The three streams.
pub fn cases() -> [Case; 3] {
    static SMALL: [u8; 100] = [0x5A; 100];
    static LARGE: [u8; 1024] = [0xA5; 1024];
    [
        publish_case("publish-qos1-100B", &SMALL),
        publish_case("publish-qos1-1KiB", &LARGE),
        acks_case(),
    ]
}

/// Encode `case` with mqtt-proto and check that every encoder produces these bytes and every
/// decoder reads the same packets from them. Returns the stream.
pub fn checked_stream(case: &Case, decoder: &mqtt_proto::Decoder) -> Vec<u8> {
    let len: usize = case.ours.iter().map(mqtt_proto::Packet::encoded_len).sum();
    let mut stream = vec![0u8; len];
    assert_eq!(encode_ours(&case.ours, &mut stream), len);
    let mut bm = BytesMut::with_capacity(MAX_PACKET);
    encode_ours_bytes(&case.ours, &mut bm);
    assert_eq!(&bm[..], &stream[..], "{}: mqtt-proto-bytes", case.name);
    encode_rumqttc(&case.rumqttc, &mut bm);
    assert_eq!(
        &bm[..],
        &stream[..],
        "{}: rumqttc encodes the same",
        case.name
    );
    let mut out = vec![0u8; len];
    assert_eq!(encode_mqttrs(&case.mqttrs, &mut out), len);
    assert_eq!(out, stream, "{}: mqttrs encodes the same", case.name);

    let expected = decode_ours(decoder, &stream);
    assert_eq!(expected.0, STREAM);
    let results = [
        (
            "mqtt-proto-bytes",
            decode_ours_bytes(decoder, &mut BytesMut::from(&stream[..])),
        ),
        ("rumqttc", decode_rumqttc(&mut BytesMut::from(&stream[..]))),
        ("mqttrs", decode_mqttrs(&stream)),
    ];
    for (lib, got) in results {
        assert_eq!(got, expected, "{}: {lib} decodes the same", case.name);
    }
    stream
}
