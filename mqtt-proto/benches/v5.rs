//! MQTT 5.0 decode and encode throughput (feature `v5`): streams of PUBLISH QoS 1 packets with
//! a few properties (32-byte topic, 100 B payload, Message Expiry Interval, Topic Alias,
//! Content Type and a User Property), the same without properties, and PUBACKs (bare, and with
//! a reason code). Reported in packets/s; the 3.1.1 figures are in `codec.rs`.
//!
//! `cargo bench -p mqtt-proto --features v5 --bench v5 -- --warm-up-time 1 --measurement-time 3`
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mqtt_proto::v5::{Decoder, Packet, Properties, Property, PubAck, PubAckReasonCode, Publish};
use mqtt_proto::{PacketId, QosPid, TopicName};

/// Packets per stream.
const STREAM: usize = 1000;
/// A 32-byte topic.
const TOPIC: &str = "devices/0123456789/telemetry/tmp";

fn id(n: usize) -> PacketId {
    PacketId::new((n % 65_535) as u16 + 1).expect("never zero")
}

const PROPS: &[Property<'static>] = &[
    Property::MessageExpiryInterval(3600),
    Property::TopicAlias(17),
    Property::ContentType("application/json"),
    Property::UserProperty("trace", "a1b2c3d4"),
];

fn publishes<'a>(payload: &'a [u8], props: &'a [Property<'a>]) -> Vec<Packet<'a>> {
    let topic = TopicName::new(TOPIC).expect("valid topic");
    (0..STREAM)
        .map(|i| {
            let mut p = Publish::new(topic, QosPid::AtLeastOnce(id(i)), payload);
            p.properties = Properties::new(props);
            Packet::Publish(p)
        })
        .collect()
}

fn pubacks(code: PubAckReasonCode) -> Vec<Packet<'static>> {
    (0..STREAM)
        .map(|i| Packet::PubAck(PubAck::new(id(i), code)))
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

/// Decode a stream and read the properties a receiver looks at.
fn decode_and_read_all(decoder: &Decoder, stream: &[u8]) -> u64 {
    let mut off = 0;
    let mut sum = 0u64;
    while let Some(rest) = stream.get(off..).filter(|r| !r.is_empty()) {
        match decoder.decode(rest) {
            Ok(Some((Packet::Publish(p), n))) => {
                sum += u64::from(p.properties.topic_alias().unwrap_or(0));
                sum += u64::from(p.properties.message_expiry_interval().unwrap_or(0));
                sum += p.properties.user_properties().count() as u64;
                off += n;
            }
            _ => break,
        }
    }
    sum
}

fn bench(c: &mut Criterion) {
    let payload = [0x5Au8; 100];
    let cases: [(&str, Vec<Packet<'_>>); 4] = [
        ("publish-qos1-100B-4-props", publishes(&payload, PROPS)),
        ("publish-qos1-100B-no-props", publishes(&payload, &[])),
        ("puback-success", pubacks(PubAckReasonCode::Success)),
        (
            "puback-no-matching-subscribers",
            pubacks(PubAckReasonCode::NoMatchingSubscribers),
        ),
    ];
    let decoder = Decoder::new();
    for (name, packets) in &cases {
        let len: usize = packets.iter().map(Packet::encoded_len).sum();
        let mut stream = vec![0u8; len];
        assert_eq!(encode_all(packets, &mut stream), len);
        assert_eq!(decode_all(&decoder, &stream), STREAM);
        let mut out = vec![0u8; len];

        let mut group = c.benchmark_group("v5-decode-packets");
        group.throughput(Throughput::Elements(STREAM as u64));
        group.bench_function(*name, |b| {
            b.iter(|| decode_all(&decoder, black_box(&stream)))
        });
        if name.starts_with("publish") {
            group.bench_function(format!("{name}-read-props"), |b| {
                b.iter(|| decode_and_read_all(&decoder, black_box(&stream)))
            });
        }
        group.finish();

        let mut group = c.benchmark_group("v5-encode-packets");
        group.throughput(Throughput::Elements(STREAM as u64));
        group.bench_function(*name, |b| {
            b.iter(|| encode_all(black_box(packets), black_box(&mut out)))
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
