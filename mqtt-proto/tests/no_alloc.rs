//! The decode path allocates nothing.
//!
//! `allocation-counter` installs a counting global allocator for this test binary (its own
//! `unsafe impl GlobalAlloc`, so this crate keeps `unsafe_code` forbidden) and counts per
//! thread, so the test harness's own threads cannot disturb the count. The check is
//! deterministic: a number of allocations, not a time.
#![allow(clippy::unwrap_used)]

mod common;

use common::{connect, pid, publish, suback, subscribe, unsubscribe, will};
use mqtt_proto::{ConnectReturnCode, Decoder, Frame, Packet, PacketType, QoS, QosPid};

/// A stream holding one packet of every type, and the packets, encoded outside the measurement.
fn stream() -> (Vec<u8>, Vec<Packet<'static>>) {
    let mut c = connect(true, 60, "client-ü");
    c.will = Some(will("w/t", b"gone", QoS::ExactlyOnce, true));
    c.username = Some("user");
    c.password = Some(b"secret");
    let big: &'static [u8] = Vec::leak(vec![0x42; 20_000]);
    let packets = vec![
        Packet::Connect(c),
        common::connack(true, ConnectReturnCode::Accepted),
        publish(false, QosPid::AtMostOnce, false, "a/b", b"hello"),
        publish(true, QosPid::ExactlyOnce(pid(7)), true, "\u{FEFF}t/€", big),
        Packet::PubAck(pid(1)),
        Packet::PubRec(pid(2)),
        Packet::PubRel(pid(3)),
        Packet::PubComp(pid(4)),
        subscribe(
            5,
            &[
                ("a/+", QoS::AtLeastOnce),
                ("#", QoS::AtMostOnce),
                ("$SYS/#", QoS::ExactlyOnce),
            ],
        ),
        suback(5, &[0x01, 0x00, 0x80]),
        unsubscribe(6, &["a/+", "#"]),
        Packet::UnsubAck(pid(6)),
        Packet::PingReq,
        Packet::PingResp,
        Packet::Disconnect,
    ];
    let mut bytes = Vec::new();
    for p in &packets {
        let start = bytes.len();
        bytes.resize(start + p.encoded_len(), 0);
        p.encode(&mut bytes[start..]).unwrap();
    }
    (bytes, packets)
}

/// Decodes every packet of `bytes` in turn, one byte at a time as a socket might deliver them
/// (every prefix first, then the whole), touching every field so nothing is left lazy.
/// Returns the packet types and a checksum of the fields, computed without allocating.
fn decode_all(decoder: &Decoder, bytes: &[u8], types: &mut [Option<PacketType>; 16]) -> usize {
    let mut offset = 0;
    let mut count = 0;
    let mut checksum = 0usize;
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        // Feed byte by byte until the packet is complete.
        let mut end = 0;
        let (packet, used) = loop {
            match decoder.decode(&rest[..end]) {
                Ok(Some(done)) => break done,
                Ok(None) => {
                    assert!(matches!(
                        decoder.frame(&rest[..end]),
                        Ok(Frame::Incomplete { .. })
                    ));
                    end += 1;
                }
                Err(e) => panic!("decode error {e:?}"),
            }
        };
        assert_eq!(used, end);
        checksum = checksum.wrapping_add(touch(&packet));
        types[count] = Some(packet.packet_type());
        count += 1;
        offset += used;
    }
    checksum
}

/// Reads every field of a decoded packet, iterating lists, so lazy views are exercised.
fn touch(p: &Packet<'_>) -> usize {
    match p {
        Packet::Connect(c) => {
            c.client_id.len()
                + c.will
                    .map_or(0, |w| w.topic.as_str().len() + w.payload.len())
                + c.username.map_or(0, str::len)
                + c.password.map_or(0, <[u8]>::len)
        }
        Packet::ConnAck(a) => usize::from(a.session_present),
        Packet::Publish(p) => p.topic.as_str().len() + p.payload.len(),
        Packet::Subscribe(s) => s
            .filters
            .iter()
            .map(|(f, q)| f.as_str().len() + q as usize)
            .sum(),
        Packet::SubAck(a) => a.codes.iter().count(),
        Packet::Unsubscribe(u) => u.filters.iter().map(|f| f.as_str().len()).sum(),
        Packet::PubAck(id)
        | Packet::PubRec(id)
        | Packet::PubRel(id)
        | Packet::PubComp(id)
        | Packet::UnsubAck(id) => usize::from(id.get()),
        _ => 1,
    }
}

#[test]
fn decoding_a_stream_of_every_packet_type_allocates_nothing() {
    let (bytes, packets) = stream();
    let decoder = Decoder::new();
    let mut types = [None; 16];

    // The counter works: an allocation made inside `measure` is seen.
    let control = allocation_counter::measure(|| {
        std::hint::black_box(Vec::<u8>::with_capacity(16));
    });
    assert_eq!(
        control.count_total, 1,
        "the counting allocator is installed"
    );

    let mut checksum = 0;
    let info = allocation_counter::measure(|| {
        checksum = decode_all(&decoder, &bytes, &mut types);
    });
    assert_eq!(info.count_total, 0, "decoding allocated: {info:?}");
    assert_eq!(info.bytes_total, 0);

    // The measured run really decoded every packet (checked after, where allocating is fine).
    let expected_types: Vec<_> = packets.iter().map(|p| Some(p.packet_type())).collect();
    assert_eq!(&types[..packets.len()], &expected_types[..]);
    assert_eq!(checksum, packets.iter().map(touch).sum::<usize>());
    let all: std::collections::HashSet<u8> =
        packets.iter().map(|p| p.packet_type() as u8).collect();
    assert_eq!(all.len(), 14, "every packet type is in the stream");
}

#[test]
fn rejecting_malformed_input_allocates_nothing() {
    let decoder = Decoder::with_max_remaining_length(1024);
    let inputs: [&[u8]; 8] = [
        &[0x00],
        &[0x36, 0x05],
        &[0x30, 0x80, 0x80, 0x80, 0x80],
        &[0x30, 0x80, 0x10],
        &[0x30, 0x05, 0x00, 0x03, 0xED, 0xA0, 0x80],
        &[0x82, 0x02, 0x00, 0x01],
        &[0x20, 0x02, 0x01, 0x05],
        &[0x90, 0x03, 0x00, 0x01, 0x03],
    ];
    let mut errors = 0;
    let info = allocation_counter::measure(|| {
        for input in inputs {
            if decoder.decode(input).is_err() {
                errors += 1;
            }
        }
    });
    assert_eq!(info.count_total, 0, "rejecting allocated: {info:?}");
    assert_eq!(errors, inputs.len());
}

#[test]
fn encoding_into_a_caller_buffer_allocates_nothing() {
    let (bytes, packets) = stream();
    let mut out = vec![0u8; bytes.len()];
    let mut written = 0;
    let info = allocation_counter::measure(|| {
        for p in &packets {
            let n = p.encode(&mut out[written..]).expect("fits");
            assert_eq!(n, p.encoded_len());
            written += n;
        }
        // A refused encode allocates nothing either.
        let mut small = [0u8; 1];
        assert!(packets[0].encode(&mut small).is_err());
    });
    assert_eq!(info.count_total, 0, "encoding allocated: {info:?}");
    assert_eq!(written, bytes.len());
    assert_eq!(out, bytes);
}
