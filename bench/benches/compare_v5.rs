//! MQTT 5.0 decoding side by side: mqtt-proto's `v5::Decoder` and rumqttc's 5.0 codec
//! (`rumqttc::v5::mqttbytes::v5`, rumqttc 0.25) read the same stream in one run.
//!
//! The stream: 1,000 PUBLISH QoS 1 packets (32-byte topic, 100-byte payload, three properties:
//! Message Expiry Interval, a User Property, Content Type), each followed by its PUBACK
//! (reason code 0x00 left out: 4 bytes), 2,000 packets in all. Both encoders are checked to
//! produce the same bytes, and both decoders to read the same packets (topics, payload sizes,
//! packet ids, the three property values), before anything is measured.
//!
//! - `mqtt-proto`: `v5::Decoder::decode` on a byte slice (zero-copy: topic, payload and
//!   properties borrow from the input; the properties are validated while decoding and read
//!   through the getters).
//! - `rumqttc`: `v5::mqttbytes::v5::Packet::read` from a `BytesMut` (a fresh copy of the
//!   stream before each iteration, outside the timed part); the topic and payload share the
//!   buffer, the properties are parsed into owned `String`s.
//!
//! Each reader does the same work on what it decoded: topic and payload lengths, packet id,
//! message expiry, content type length, user property lengths.
//!
//! `ROUNDS=9 cargo bench --bench compare_v5 -- --warm-up-time 0.5 --measurement-time 1`: the
//! two functions are measured in turn, in ROUNDS rounds (default 5), and the end prints each
//! library's median time and the median over the rounds of the speed ratio (rumqttc's time
//! / mqtt-proto's time in the same round: above 1, mqtt-proto is faster).
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::Path;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput};
use mqtt_bench::codec::{STREAM, TOPIC, packet_id};
use mqtt_proto::v5::{self, Properties, Property};
use mqtt_proto::{PacketId, QosPid, TopicName};
use rumqttc::v5::mqttbytes::v5 as rv5;

const GROUP: &str = "decode-v5-publish-qos1-100B-properties-puback";
const MAX_PACKET: Option<u32> = Some(1 << 20);
const EXPIRY: u32 = 60;
const CONTENT_TYPE: &str = "application/json";
const USER: (&str, &str) = ("unit", "celsius");
static PAYLOAD: [u8; 100] = [0x5A; 100];
static PROPS: [Property<'static>; 3] = [
    Property::MessageExpiryInterval(EXPIRY),
    Property::UserProperty(USER.0, USER.1),
    Property::ContentType(CONTENT_TYPE),
];

fn ours() -> Vec<v5::Packet<'static>> {
    let topic = TopicName::new(TOPIC).expect("valid topic");
    let mut packets = Vec::with_capacity(2 * STREAM);
    for i in 0..STREAM {
        let id = PacketId::new(packet_id(i)).expect("non-zero");
        let mut p = v5::Publish::new(topic, QosPid::AtLeastOnce(id), &PAYLOAD);
        p.properties = Properties::new(&PROPS);
        packets.push(v5::Packet::Publish(p));
        packets.push(v5::Packet::PubAck(v5::PubAck::new(
            id,
            v5::PubAckReasonCode::Success,
        )));
    }
    packets
}

fn theirs() -> Vec<rv5::Packet> {
    let mut packets = Vec::with_capacity(2 * STREAM);
    for i in 0..STREAM {
        // rumqttc writes the properties in its own fixed order: Message Expiry Interval, User
        // Properties, Content Type; `PROPS` above is in that order.
        let props = rv5::PublishProperties {
            message_expiry_interval: Some(EXPIRY),
            user_properties: vec![(USER.0.to_owned(), USER.1.to_owned())],
            content_type: Some(CONTENT_TYPE.to_owned()),
            ..Default::default()
        };
        let mut p = rv5::Publish::new(
            TOPIC,
            rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
            Bytes::from_static(&PAYLOAD),
            Some(props),
        );
        p.pkid = packet_id(i);
        packets.push(rv5::Packet::Publish(p));
        packets.push(rv5::Packet::PubAck(rv5::PubAck::new(packet_id(i), None)));
    }
    packets
}

/// What a consumer reads from a packet.
fn digest_ours(p: &v5::Packet<'_>) -> usize {
    match p {
        v5::Packet::Publish(p) => {
            let props = &p.properties;
            p.topic_str().len()
                + p.payload.len()
                + p.qos_pid.packet_id().map_or(0, |id| usize::from(id.get()))
                + props.message_expiry_interval().unwrap_or(0) as usize
                + props.content_type().map_or(0, str::len)
                + props
                    .user_properties()
                    .map(|(k, v)| k.len() + v.len())
                    .sum::<usize>()
        }
        v5::Packet::PubAck(a) => usize::from(a.packet_id.get()),
        _ => 1,
    }
}

fn digest_theirs(p: &rv5::Packet) -> usize {
    match p {
        rv5::Packet::Publish(p) => {
            let props = p.properties.as_ref();
            p.topic.len()
                + p.payload.len()
                + usize::from(p.pkid)
                + props.and_then(|p| p.message_expiry_interval).unwrap_or(0) as usize
                + props
                    .and_then(|p| p.content_type.as_ref())
                    .map_or(0, String::len)
                + props.map_or(0, |p| {
                    p.user_properties
                        .iter()
                        .map(|(k, v)| k.len() + v.len())
                        .sum::<usize>()
                })
        }
        rv5::Packet::PubAck(a) => usize::from(a.pkid),
        _ => 1,
    }
}

fn decode_ours(decoder: &v5::Decoder, stream: &[u8]) -> (usize, usize) {
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

fn decode_theirs(buf: &mut BytesMut) -> (usize, usize) {
    let (mut count, mut digest) = (0, 0);
    while !buf.is_empty() {
        match rv5::Packet::read(buf, MAX_PACKET) {
            Ok(packet) => {
                digest += digest_theirs(black_box(&packet));
                count += 1;
            }
            Err(_) => break,
        }
    }
    (count, digest)
}

/// Encode with both libraries, check the bytes and the decoded packets agree; the stream.
fn checked_stream(decoder: &v5::Decoder) -> Vec<u8> {
    let ours = ours();
    let len: usize = ours.iter().map(v5::Packet::encoded_len).sum();
    let mut stream = vec![0u8; len];
    let mut off = 0;
    for p in &ours {
        let rest = stream.get_mut(off..).expect("sized");
        off += p.encode(rest).expect("encodable");
    }
    assert_eq!(off, len);
    let mut bm = BytesMut::with_capacity(len);
    for p in &theirs() {
        p.write(&mut bm, MAX_PACKET).expect("encodable");
    }
    assert_eq!(&bm[..], &stream[..], "rumqttc encodes the same bytes");
    let expected = decode_ours(decoder, &stream);
    assert_eq!(expected.0, 2 * STREAM);
    assert_eq!(
        decode_theirs(&mut BytesMut::from(&stream[..])),
        expected,
        "rumqttc decodes the same packets"
    );
    stream
}

fn median_ns(dir: &Path, function: &str) -> Option<f64> {
    let path = dir.join(GROUP).join(function).join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["median"]["point_estimate"].as_f64()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    let decoder = v5::Decoder::new();
    let stream = checked_stream(&decoder);
    let len = stream.len();
    // Rounds: criterion measures both functions in turn, then again; on a machine shared with
    // other work the load drifts from one function to the next, and each round's ratio is
    // taken from the two measurements made next to each other.
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5)
        .max(1);
    // criterion writes its results under the target directory of this workspace.
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| Path::new("target").to_path_buf(), Into::into)
        .join("criterion");

    let (mut ours_ns, mut theirs_ns, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        eprintln!("round {round} of {rounds}");
        // A new criterion each round, so that each round's results replace the last ones
        // under the same names.
        let mut c = Criterion::default().configure_from_args();
        let mut group = c.benchmark_group(GROUP);
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function("mqtt-proto", |b| {
            b.iter(|| decode_ours(&decoder, black_box(&stream)))
        });
        group.bench_function("rumqttc", |b| {
            b.iter_batched_ref(
                || BytesMut::from(&stream[..]),
                decode_theirs,
                BatchSize::PerIteration,
            )
        });
        group.finish();
        if let (Some(ours), Some(theirs)) =
            (median_ns(&dir, "mqtt-proto"), median_ns(&dir, "rumqttc"))
        {
            println!(
                "round {round}: mqtt-proto {:.1} µs, rumqttc {:.1} µs, ratio {:.2}×",
                ours / 1e3,
                theirs / 1e3,
                theirs / ours
            );
            ours_ns.push(ours);
            theirs_ns.push(theirs);
            ratios.push(theirs / ours);
        }
        c.final_summary();
    }

    if ratios.is_empty() {
        println!("{GROUP}: no criterion results to compare (run without --test)");
        return;
    }
    let packets = (2 * STREAM) as f64;
    println!(
        "{GROUP}: {len} bytes, {} packets, medians over {} rounds",
        2 * STREAM,
        ratios.len()
    );
    for (name, ns) in [
        ("mqtt-proto", median(&mut ours_ns)),
        ("rumqttc", median(&mut theirs_ns)),
    ] {
        println!(
            "  {name:<10} {:>8.1} µs  {:>6.2} GB/s  {:>6.1} Mpackets/s",
            ns / 1e3,
            len as f64 / ns,
            packets / ns * 1e3
        );
    }
    let (lo, hi) = ratios
        .iter()
        .fold((f64::INFINITY, 0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    println!(
        "  mqtt-proto / rumqttc speed: {:.2}× (median of the per-round ratios; {lo:.2}× to {hi:.2}×)",
        median(&mut ratios)
    );
}
