//! Side-by-side codec throughput: mqtt-proto, rumqttc's MQTT 3.1.1 codec
//! (`rumqttc::mqttbytes::v4`) and mqttrs decode and encode the same packet streams in one run.
//!
//! Streams (the shapes of `mqtt-proto/benches/codec.rs`): 1,000 PUBLISH QoS 1 packets with a
//! 32-byte topic and a 100 B or a 1 KiB payload, and 1,000 mixed acknowledgements (PUBACK,
//! PUBREC, PUBREL, PUBCOMP, SUBACK with three codes, UNSUBACK, PINGRESP in turn).
//!
//! Before measuring, every encoder is checked to produce the same bytes and every decoder to
//! decode the same packets from them, so each function does the same work.
//!
//! Functions per group (`decode-<stream>` and `encode-<stream>`):
//! - `mqtt-proto`: `Decoder::decode` on a byte slice (zero-copy) / `Packet::encode` into a slice.
//! - `mqtt-proto-bytes`: `Decoder::decode_bytes` from a `BytesMut` plus `OwnedPacket::packet` to
//!   read it / `Packet::encode_to_bytes` into a `BytesMut`: the same buffer type as rumqttc.
//! - `rumqttc`: `Packet::read` from a `BytesMut` / `Packet::write` into a `BytesMut`.
//! - `mqttrs`: `decode_slice` on a byte slice (zero-copy) / `encode_slice` into a slice.
//!   mqttrs does not say how many bytes a packet took, so the bench reads the fixed header
//!   itself to step to the next packet (a few instructions, charged to mqttrs).
//!
//! `cargo bench --bench compare -- --warm-up-time 1 --measurement-time 3`, then
//! `cargo run --release --bin codec-table` prints the table (GB/s, packets/s, ratios).
#![allow(missing_docs)]

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mqtt_bench::codec::{ACK_KINDS, AckKind, STREAM, TOPIC, packet_id};

/// A receive buffer big enough for any stream here, so that no encoder grows it while measured.
const MAX_PACKET: usize = 1 << 20;

/// One stream, as each library's own packet values.
struct Case {
    name: &'static str,
    ours: Vec<mqtt_proto::Packet<'static>>,
    rumqttc: Vec<rumqttc::Packet>,
    mqttrs: Vec<mqttrs::Packet<'static>>,
}

fn publish_case(name: &'static str, payload: &'static [u8]) -> Case {
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

fn mqttrs_pid(i: usize) -> mqttrs::Pid {
    mqttrs::Pid::try_from(packet_id(i)).expect("non-zero")
}

const SUBACK_CODES: &[u8] = &[0x00, 0x01, 0x80];

fn acks_case() -> Case {
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

fn encode_ours(packets: &[mqtt_proto::Packet<'_>], out: &mut [u8]) -> usize {
    let mut off = 0;
    for p in packets {
        let rest = out.get_mut(off..).expect("buffer large enough");
        off += p.encode(rest).expect("encodable");
    }
    off
}

fn encode_ours_bytes(packets: &[mqtt_proto::Packet<'_>], out: &mut BytesMut) -> usize {
    out.clear();
    for p in packets {
        p.encode_to_bytes(out).expect("encodable");
    }
    out.len()
}

fn encode_rumqttc(packets: &[rumqttc::Packet], out: &mut BytesMut) -> usize {
    out.clear();
    for p in packets {
        p.write(out, MAX_PACKET).expect("encodable");
    }
    out.len()
}

fn encode_mqttrs(packets: &[mqttrs::Packet<'_>], out: &mut [u8]) -> usize {
    let mut off = 0;
    for p in packets {
        let rest = out.get_mut(off..).expect("buffer large enough");
        off += mqttrs::encode_slice(p, rest).expect("encodable");
    }
    off
}

// ---- decoders: each returns the packets decoded and a digest of what it read ----------------

/// What a consumer reads from each packet: enough to keep every decoder honest.
fn digest_ours(p: &mqtt_proto::Packet<'_>) -> usize {
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

fn digest_rumqttc(p: &rumqttc::Packet) -> usize {
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

fn digest_mqttrs(p: &mqttrs::Packet<'_>) -> usize {
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

fn decode_ours(decoder: &mqtt_proto::Decoder, stream: &[u8]) -> (usize, usize) {
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

fn decode_ours_bytes(decoder: &mqtt_proto::Decoder, buf: &mut BytesMut) -> (usize, usize) {
    let (mut count, mut digest) = (0, 0);
    while let Ok(Some(owned)) = decoder.decode_bytes(buf) {
        digest += digest_ours(&black_box(&owned).packet());
        count += 1;
    }
    (count, digest)
}

fn decode_rumqttc(buf: &mut BytesMut) -> (usize, usize) {
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
fn frame_len(buf: &[u8]) -> Option<usize> {
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

fn decode_mqttrs(stream: &[u8]) -> (usize, usize) {
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

// ---- the benchmark ---------------------------------------------------------------------------

fn bench(c: &mut Criterion) {
    static SMALL: [u8; 100] = [0x5A; 100];
    static LARGE: [u8; 1024] = [0xA5; 1024];
    let cases = [
        publish_case("publish-qos1-100B", &SMALL),
        publish_case("publish-qos1-1KiB", &LARGE),
        acks_case(),
    ];
    let decoder = mqtt_proto::Decoder::new();
    for case in &cases {
        // One wire stream, and proof that all encoders and decoders agree on it.
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

        let expected = decode_ours(&decoder, &stream);
        assert_eq!(expected.0, STREAM);
        let results = [
            (
                "mqtt-proto-bytes",
                decode_ours_bytes(&decoder, &mut BytesMut::from(&stream[..])),
            ),
            ("rumqttc", decode_rumqttc(&mut BytesMut::from(&stream[..]))),
            ("mqttrs", decode_mqttrs(&stream)),
        ];
        for (lib, got) in results {
            assert_eq!(got, expected, "{}: {lib} decodes the same", case.name);
        }

        let mut group = c.benchmark_group(format!("decode-{}", case.name));
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function("mqtt-proto", |b| {
            b.iter(|| decode_ours(&decoder, black_box(&stream)))
        });
        group.bench_function("mqtt-proto-bytes", |b| {
            b.iter_batched_ref(
                || BytesMut::from(&stream[..]),
                |buf| decode_ours_bytes(&decoder, buf),
                BatchSize::PerIteration,
            )
        });
        group.bench_function("rumqttc", |b| {
            b.iter_batched_ref(
                || BytesMut::from(&stream[..]),
                decode_rumqttc,
                BatchSize::PerIteration,
            )
        });
        group.bench_function("mqttrs", |b| b.iter(|| decode_mqttrs(black_box(&stream))));
        group.finish();

        let mut group = c.benchmark_group(format!("encode-{}", case.name));
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function("mqtt-proto", |b| {
            b.iter(|| encode_ours(black_box(&case.ours), black_box(&mut out)))
        });
        group.bench_function("mqtt-proto-bytes", |b| {
            b.iter(|| encode_ours_bytes(black_box(&case.ours), black_box(&mut bm)))
        });
        group.bench_function("rumqttc", |b| {
            b.iter(|| encode_rumqttc(black_box(&case.rumqttc), black_box(&mut bm)))
        });
        group.bench_function("mqttrs", |b| {
            b.iter(|| encode_mqttrs(black_box(&case.mqttrs), black_box(&mut out)))
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
