//! The MQTT 5.0 half of the `decode` target: the input after the selector byte
//! ([`crate::decode::V5`]) as a stream into the 5.0 decoder (`mqtt_proto::v5::Decoder`).
//!
//! The checks are those of the 3.1.1 half (see `decode.rs`): decoded whole, in pseudo-random
//! chunks and (up to 256 bytes) one byte at a time, the decoder gives the same packets and the
//! same error at the same offset; `frame` + `decode_body` agree with `decode`; a decoder with a
//! smaller maximum refuses exactly the packets above it; every decoded packet encodes, its
//! `encoded_len` is the bytes written, and they decode to the same packet.
//!
//! One difference: 5.0 lets a sender leave out a reason code of 0x00 and an empty property
//! list at the end of PUBACK, PUBREC, PUBREL, PUBCOMP, DISCONNECT and AUTH (sections 3.4.2.1,
//! 3.14.2.1, 3.15.2.1), and the encoder always leaves them out. So a decoded packet re-encodes
//! to exactly its bytes, except that one of those packets with no properties may come out
//! shorter by exactly such a zero reason code and/or zero Property Length.

use mqtt_proto::v5::{Decoder, Frame, Packet};
use mqtt_proto::{DecodeError, MAX_REMAINING_LENGTH};

use crate::decode::SplitMix;

struct Whole<'a> {
    packets: Vec<(Packet<'a>, usize, usize)>,
    end: End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Clean,
    Incomplete(usize),
    Error(usize, DecodeError),
}

fn decode_whole<'a>(decoder: &Decoder, data: &'a [u8]) -> Whole<'a> {
    let mut packets = Vec::new();
    let mut pos = 0;
    let end = loop {
        let Some(rest) = data.get(pos..) else {
            panic!("offset {pos} past the input");
        };
        if rest.is_empty() {
            break End::Clean;
        }
        match decoder.decode(rest) {
            Ok(Some((packet, used))) => {
                assert!(
                    used >= 2 && used <= rest.len(),
                    "used {used} of {}",
                    rest.len()
                );
                packets.push((packet, pos, pos + used));
                pos += used;
            }
            Ok(None) => break End::Incomplete(pos),
            Err(e) => break End::Error(pos, e),
        }
    };
    Whole { packets, end }
}

fn check_split(
    decoder: &Decoder,
    data: &[u8],
    whole: &Whole<'_>,
    cuts: impl Iterator<Item = usize>,
) {
    let mut pos = 0;
    let mut next = 0;
    for avail in cuts {
        loop {
            let Some(buf) = data.get(pos..avail) else {
                panic!("bad cut {pos}..{avail}");
            };
            match decoder.decode(buf) {
                Ok(Some((packet, used))) => {
                    let Some(&(expected, start, end)) = whole.packets.get(next) else {
                        panic!("split feed decoded an extra packet at {pos}: {packet:?}");
                    };
                    assert_eq!((packet, pos, pos + used), (expected, start, end));
                    next += 1;
                    pos += used;
                }
                Ok(None) => break,
                Err(e) => {
                    assert_eq!(
                        End::Error(pos, e),
                        whole.end,
                        "a prefix of {avail} bytes failed differently from the whole input"
                    );
                    assert_eq!(next, whole.packets.len());
                    return;
                }
            }
        }
    }
    assert_eq!(next, whole.packets.len(), "split feed missed packets");
    match whole.end {
        End::Clean => assert_eq!(pos, data.len()),
        End::Incomplete(at) => assert_eq!(pos, at),
        End::Error(at, e) => panic!("split feed ended at {pos}, whole input failed at {at}: {e:?}"),
    }
}

type Answer<'a> = Result<Option<(Packet<'a>, usize)>, DecodeError>;

fn check_frame(decoder: &Decoder, buf: &[u8], whole_answer: Answer<'_>) {
    match decoder.frame(buf) {
        Ok(Frame::Complete(h)) => {
            let total = h.total_len();
            assert!(total <= buf.len());
            assert_eq!(h.header_len + h.remaining_length as usize, total);
            assert!((2..=5).contains(&h.header_len));
            assert!(h.remaining_length <= decoder.max_remaining_length());
            let body = buf.get(h.header_len..total).unwrap_or_default();
            let by_body = decoder.decode_body(&h, body);
            match whole_answer {
                Ok(Some((p, used))) => {
                    assert_eq!(used, total);
                    assert_eq!(by_body, Ok(p));
                }
                Ok(None) => panic!("frame complete, decode incomplete"),
                Err(e) => assert_eq!(by_body, Err(e)),
            }
        }
        Ok(Frame::Incomplete { needed }) => {
            assert!(
                !matches!(whole_answer, Ok(Some(_))),
                "frame incomplete, decode complete"
            );
            if let Some(n) = needed {
                let total = buf.len() + n.get();
                assert!(total <= 5 + MAX_REMAINING_LENGTH as usize);
            }
        }
        Err(e) => assert_eq!(
            whole_answer.map(|_| ()),
            Err(e),
            "frame failed, decode did not"
        ),
    }
}

/// Whether `encoded` is `original` with only an optional zero reason code and/or a zero
/// Property Length left out at the end, which the encoder does for these packet types.
fn shortened_tail(packet: &Packet<'_>, original: &[u8], encoded: &[u8]) -> bool {
    let no_properties = match packet {
        Packet::PubAck(p) => p.properties.is_empty(),
        Packet::PubRec(p) => p.properties.is_empty(),
        Packet::PubRel(p) => p.properties.is_empty(),
        Packet::PubComp(p) => p.properties.is_empty(),
        Packet::Disconnect(d) => d.properties.is_empty(),
        Packet::Auth(a) => a.properties.is_empty(),
        _ => false,
    };
    // These packets are short enough for a one-byte remaining length.
    let (Some((&o_first, o_body)), Some((&e_first, e_body))) = (
        original
            .split_first()
            .and_then(|(f, r)| r.split_first().map(|(_, b)| (f, b))),
        encoded
            .split_first()
            .and_then(|(f, r)| r.split_first().map(|(_, b)| (f, b))),
    ) else {
        return false;
    };
    let Some(extra) = o_body.strip_prefix(e_body) else {
        return false;
    };
    no_properties
        && o_first == e_first
        && (1..=2).contains(&extra.len())
        && extra.iter().all(|&b| b == 0)
}

fn check_reencode(packet: &Packet<'_>, original: &[u8]) {
    let len = packet.encoded_len();
    let mut buf = vec![0u8; len];
    match packet.encode(&mut buf) {
        Ok(n) => assert_eq!(n, len, "encoded_len of {packet:?}"),
        Err(e) => panic!("a decoded packet does not encode: {packet:?}: {e:?}"),
    }
    if buf != original {
        assert!(
            shortened_tail(packet, original, &buf),
            "re-encoding of {packet:?}: {original:02X?} became {buf:02X?}"
        );
    }
    assert_eq!(Decoder::new().decode(&buf), Ok(Some((*packet, len))));
    let mut out = bytes::BytesMut::from(&b"xy"[..]);
    assert_eq!(packet.encode_to_bytes(&mut out), Ok(len));
    assert_eq!(out.get(2..), Some(&buf[..]));
}

fn remaining_length(bytes: &[u8]) -> u32 {
    match Decoder::new().frame(bytes) {
        Ok(Frame::Complete(h)) => h.remaining_length,
        other => panic!("frame of a decoded packet: {other:?}"),
    }
}

/// The 5.0 stream checks (the input without its selector byte).
pub fn decode_v5(data: &[u8]) {
    let decoder = Decoder::new();
    let whole = decode_whole(&decoder, data);

    for (packet, start, end) in &whole.packets {
        let bytes = data.get(*start..*end).unwrap_or_default();
        check_reencode(packet, bytes);
        check_frame(&decoder, bytes, Ok(Some((*packet, bytes.len()))));
        let rest = data.get(*start..).unwrap_or_default();
        check_frame(&decoder, rest, decoder.decode(rest));
    }
    match whole.end {
        End::Clean => {}
        End::Incomplete(at) | End::Error(at, _) => {
            let rest = data.get(at..).unwrap_or_default();
            check_frame(&decoder, rest, decoder.decode(rest));
        }
    }

    let mut rng = SplitMix::from_bytes(data);
    let mut cuts = Vec::new();
    let mut at = 0;
    while at < data.len() {
        at = (at + rng.chunk()).min(data.len());
        cuts.push(at);
    }
    check_split(&decoder, data, &whole, cuts.into_iter());
    if data.len() <= 256 {
        check_split(&decoder, data, &whole, 1..=data.len());
    }

    let max = (rng.next() % 300) as u32;
    let small = Decoder::with_max_remaining_length(max);
    let limited = decode_whole(&small, data);
    let mut n = 0;
    for (packet, start, end) in &whole.packets {
        let rl = remaining_length(data.get(*start..*end).unwrap_or_default());
        if rl > max {
            assert!(
                matches!(limited.end, End::Error(at, DecodeError::PacketTooLarge) if at == *start),
                "packet of remaining length {rl} accepted with maximum {max}"
            );
            break;
        }
        assert_eq!(limited.packets.get(n), Some(&(*packet, *start, *end)));
        n += 1;
    }
    if n == whole.packets.len() {
        match (whole.end, limited.end) {
            (a, b) if a == b => {}
            (
                End::Incomplete(at) | End::Error(at, _),
                End::Error(at2, DecodeError::PacketTooLarge),
            ) => {
                assert_eq!(at, at2);
            }
            (a, b) => panic!("maximum {max}: whole input ended {a:?}, limited decoder {b:?}"),
        }
    }
}
