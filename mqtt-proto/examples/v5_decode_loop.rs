//! A decode loop to profile the MQTT 5.0 decoder (feature `v5`) with instruction counts: the
//! stream of `bench/benches/compare_v5.rs` (1,000 PUBLISH QoS 1 packets, 32-byte topic, 100 B
//! payload, Message Expiry Interval, a User Property and Content Type, each followed by a
//! PUBACK), decoded N times (default 100), reading what the bench reads from each packet.
//!
//! ```sh
//! cargo build --release -p mqtt-proto --features v5 --example v5_decode_loop
//! valgrind --tool=callgrind target/release/examples/v5_decode_loop 20
//! callgrind_annotate --inclusive=yes callgrind.out.*
//! ```
use std::error::Error;
use std::hint::black_box;
use std::time::Instant;

use mqtt_proto::v5::{Decoder, Packet, Properties, Property, PubAck, PubAckReasonCode, Publish};
use mqtt_proto::{PacketId, QosPid, TopicName};

static PAYLOAD: [u8; 100] = [0x5A; 100];
static PROPS: [Property<'static>; 3] = [
    Property::MessageExpiryInterval(60),
    Property::UserProperty("unit", "celsius"),
    Property::ContentType("application/json"),
];

/// What a consumer reads from a packet (the bench's digest).
fn digest(p: &Packet<'_>) -> usize {
    match p {
        Packet::Publish(p) => {
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
        Packet::PubAck(a) => usize::from(a.packet_id.get()),
        _ => 1,
    }
}

#[inline(never)]
fn decode_all(decoder: &Decoder, stream: &[u8]) -> (usize, usize) {
    let (mut off, mut count, mut sum) = (0, 0, 0);
    while let Some(rest) = stream.get(off..).filter(|r| !r.is_empty()) {
        match decoder.decode(rest) {
            Ok(Some((packet, n))) => {
                sum += digest(black_box(&packet));
                off += n;
                count += 1;
            }
            _ => break,
        }
    }
    (count, sum)
}

fn main() -> Result<(), Box<dyn Error>> {
    let topic = TopicName::new("devices/0123456789/telemetry/tmp")?;
    let mut packets = Vec::new();
    for i in 0..1000u16 {
        let id = PacketId::new(i + 1).ok_or("zero packet identifier")?;
        let mut p = Publish::new(topic, QosPid::AtLeastOnce(id), &PAYLOAD);
        p.properties = Properties::new(&PROPS);
        packets.push(Packet::Publish(p));
        packets.push(Packet::PubAck(PubAck::new(id, PubAckReasonCode::Success)));
    }
    let len = packets.iter().map(Packet::encoded_len).sum();
    let mut stream = vec![0u8; len];
    let mut off = 0;
    for p in &packets {
        off += p.encode(stream.get_mut(off..).ok_or("stream too short")?)?;
    }
    let rounds: u32 = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 100,
    };
    let decoder = Decoder::new();
    let start = Instant::now();
    let mut sum = 0;
    for _ in 0..rounds {
        let (count, s) = decode_all(&decoder, black_box(&stream));
        if count != packets.len() {
            return Err(format!("decoded {count} of {} packets", packets.len()).into());
        }
        sum += s;
    }
    let per_round = start.elapsed() / rounds.max(1);
    println!(
        "{rounds} rounds of {} packets ({len} bytes): {per_round:?} a round (digest {sum})",
        packets.len()
    );
    Ok(())
}
