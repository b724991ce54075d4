//! Decode and encode throughput: streams of PUBLISH QoS 1 packets (32-byte topic, 100 B and
//! 1 KiB payloads) and a mixed stream of acknowledgements. Each case is reported in bytes/s
//! (group `*-bytes`) and in packets/s (group `*-packets`).
//!
//! `cargo bench -p mqtt-proto --bench codec -- --warm-up-time 1 --measurement-time 3`
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mqtt_proto::{Decoder, Packet, PacketId, Publish, QosPid, SubAck, SubAckCodes, TopicName};

/// Packets per stream.
const STREAM: usize = 1000;
/// A 32-byte topic.
const TOPIC: &str = "devices/0123456789/telemetry/tmp";

fn id(n: usize) -> PacketId {
    PacketId::new((n % 65_535) as u16 + 1).expect("never zero")
}

fn publishes(payload: &[u8]) -> Vec<Packet<'_>> {
    let topic = TopicName::new(TOPIC).expect("valid topic");
    assert_eq!(TOPIC.len(), 32);
    (0..STREAM)
        .map(|i| Packet::Publish(Publish::new(topic, QosPid::AtLeastOnce(id(i)), payload)))
        .collect()
}

const SUBACK_CODES: &[u8] = &[0x00, 0x01, 0x80];

fn acks() -> Vec<Packet<'static>> {
    let codes = SubAckCodes::new(SUBACK_CODES).expect("valid codes");
    (0..STREAM)
        .map(|i| match i % 7 {
            0 => Packet::PubAck(id(i)),
            1 => Packet::PubRec(id(i)),
            2 => Packet::PubRel(id(i)),
            3 => Packet::PubComp(id(i)),
            4 => Packet::SubAck(SubAck::new(id(i), codes)),
            5 => Packet::UnsubAck(id(i)),
            _ => Packet::PingResp,
        })
        .collect()
}

fn encode_all(packets: &[Packet<'_>], out: &mut [u8]) -> usize {
    let mut off = 0;
    for p in packets {
        let rest = out.get_mut(off..).expect("buffer large enough");
        off += p.encode(rest).expect("encodable");
    }
    off
}

fn decode_all(decoder: &Decoder, stream: &[u8]) -> usize {
    let mut off = 0;
    let mut count = 0;
    while let Some(rest) = stream.get(off..).filter(|r| !r.is_empty()) {
        match decoder.decode(rest) {
            Ok(Some((packet, n))) => {
                black_box(packet);
                off += n;
                count += 1;
            }
            _ => break,
        }
    }
    count
}

fn bench(c: &mut Criterion) {
    let small = [0x5Au8; 100];
    let large = [0xA5u8; 1024];
    let cases: [(&str, Vec<Packet<'_>>); 3] = [
        ("publish-qos1-100B", publishes(&small)),
        ("publish-qos1-1KiB", publishes(&large)),
        ("mixed-acks", acks()),
    ];
    let decoder = Decoder::new();
    for (name, packets) in &cases {
        let len: usize = packets.iter().map(Packet::encoded_len).sum();
        let mut stream = vec![0u8; len];
        assert_eq!(encode_all(packets, &mut stream), len);
        assert_eq!(decode_all(&decoder, &stream), STREAM);
        let mut out = vec![0u8; len];

        for (unit, throughput) in [
            ("bytes", Throughput::Bytes(len as u64)),
            ("packets", Throughput::Elements(STREAM as u64)),
        ] {
            let mut group = c.benchmark_group(format!("decode-{unit}"));
            group.throughput(throughput.clone());
            group.bench_function(*name, |b| {
                b.iter(|| decode_all(&decoder, black_box(&stream)))
            });
            group.finish();

            let mut group = c.benchmark_group(format!("encode-{unit}"));
            group.throughput(throughput);
            group.bench_function(*name, |b| {
                b.iter(|| encode_all(black_box(packets), black_box(&mut out)))
            });
            group.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
