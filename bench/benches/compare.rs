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

mod common;

use std::hint::black_box;

use bytes::BytesMut;
use common::*;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

// ---- the benchmark ---------------------------------------------------------------------------

fn bench(c: &mut Criterion) {
    let cases = cases();
    let decoder = mqtt_proto::Decoder::new();
    for case in &cases {
        let stream = checked_stream(case, &decoder);
        let len = stream.len();
        let mut bm = BytesMut::with_capacity(len);
        let mut out = vec![0u8; len];

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
