//! The `decode` target: arbitrary bytes into the incremental decoder.
//!
//! An input whose first byte is [`V5`] (0xF5) is a 5.0 stream after that byte (see
//! `decode_v5.rs`); every other input is a 3.1.1 stream, checked as follows.
//!
//! The input is a stream of bytes as a broker (or anyone) might send. It is decoded three ways,
//! which must agree:
//!
//! 1. whole: packet after packet until an error or an incomplete tail;
//! 2. fed in chunks of pseudo-random sizes (the pattern is derived from the input, so a crash
//!    reproduces), the way a receiver accumulates bytes: after each chunk every whole packet is
//!    decoded; short inputs are also fed one byte at a time;
//! 3. through `Decoder::frame` + `Decoder::decode_body`, and `decode_bytes` on a `BytesMut`.
//!
//! Checks: no panic; a verdict on a prefix is final (a prefix that decodes to a packet or fails
//! gives the same answer as the whole input); `frame`'s `needed` is exact; a decoder with a
//! smaller maximum refuses exactly the packets above it; every decoded packet re-encodes to
//! exactly the bytes it was decoded from (`encoded_len` included), and those decode to the same
//! packet.

use mqtt_proto::{DecodeError, Decoder, EncodeError, Frame, MAX_REMAINING_LENGTH, Packet};

/// What decoding the whole stream gives: the packets with their byte ranges, then how it ended.
struct Whole<'a> {
    packets: Vec<(Packet<'a>, usize, usize)>,
    end: End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Every byte was consumed by whole packets.
    Clean,
    /// The tail from this offset is an incomplete packet.
    Incomplete(usize),
    /// The packet at this offset is malformed.
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

/// A small deterministic generator for chunk sizes, seeded from the input.
pub(crate) struct SplitMix(u64);

impl SplitMix {
    pub(crate) fn from_bytes(data: &[u8]) -> Self {
        // FNV-1a
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in data {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        SplitMix(h)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A chunk size: mostly small, sometimes large.
    pub(crate) fn chunk(&mut self) -> usize {
        let r = self.next();
        match r % 8 {
            0 => 1,
            1..=4 => 1 + (r >> 8) as usize % 8,
            5 | 6 => 1 + (r >> 8) as usize % 64,
            _ => 1 + (r >> 8) as usize % 1024,
        }
    }
}

/// Feed `data` to a receiver in chunks whose ends are `cuts` (increasing, last = data.len()),
/// decoding whole packets after each chunk, and compare with the whole decoding.
fn check_split(
    decoder: &Decoder,
    data: &[u8],
    whole: &Whole<'_>,
    cuts: impl Iterator<Item = usize>,
) {
    let mut pos = 0; // start of the next undecoded packet
    let mut next = 0; // index of the next expected packet
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

/// `frame` and `decode_body` agree with `decode` for the packet at the start of `buf`.
fn check_frame(
    decoder: &Decoder,
    buf: &[u8],
    whole_answer: Result<Option<(Packet<'_>, usize)>, DecodeError>,
) {
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
            // decode may see a body error before the packet is whole; frame never does.
            assert!(
                !matches!(whole_answer, Ok(Some(_))),
                "frame incomplete, decode complete"
            );
            if let Some(n) = needed {
                // The header is complete: exactly `n` more bytes make the packet whole.
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

/// A decoded packet re-encodes to exactly its bytes, and those decode to the same packet.
fn check_reencode(packet: &Packet<'_>, original: &[u8]) {
    let len = packet.encoded_len();
    assert_eq!(len, original.len(), "encoded_len of {packet:?}");
    let mut buf = vec![0u8; len];
    match packet.encode(&mut buf) {
        Ok(n) => assert_eq!(n, len),
        // A receiver accepts it (a server answers CONNACK 0x02 [MQTT-3.1.3-8]); only a sender
        // must not produce it [MQTT-3.1.3-7].
        Err(EncodeError::Invalid(DecodeError::EmptyClientIdWithoutCleanSession)) => {
            assert!(
                matches!(packet, Packet::Connect(c) if c.client_id.is_empty() && !c.clean_session),
                "{packet:?}"
            );
            return;
        }
        Err(e) => panic!("a decoded packet does not encode: {packet:?}: {e:?}"),
    }
    assert_eq!(buf, original, "re-encoding of {packet:?}");
    assert_eq!(Decoder::new().decode(&buf), Ok(Some((*packet, len))));
}

/// The first byte that selects MQTT 5.0: the rest of the input goes to the 5.0 decoder
/// (`decode_v5.rs`). Any other input is a 3.1.1 stream as it is; 0xF5 is a reserved packet type
/// in 3.1.1, which the decoder refuses at the first byte like every other 0xF_ byte, so the
/// 3.1.1 half loses no path.
pub const V5: u8 = 0xF5;

/// The `decode` target. Never panics for any input unless the decoder breaks a property.
pub fn decode(data: &[u8]) {
    if let Some((&V5, rest)) = data.split_first() {
        crate::decode_v5::decode_v5(rest);
        return;
    }
    let decoder = Decoder::new();
    let whole = decode_whole(&decoder, data);

    for (packet, start, end) in &whole.packets {
        let bytes = data.get(*start..*end).unwrap_or_default();
        check_reencode(packet, bytes);
        // frame/decode_body agree on the packet alone and followed by the rest of the input.
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

    // Fed in pseudo-random chunks.
    let mut rng = SplitMix::from_bytes(data);
    let mut cuts = Vec::new();
    let mut at = 0;
    while at < data.len() {
        at = (at + rng.chunk()).min(data.len());
        cuts.push(at);
    }
    check_split(&decoder, data, &whole, cuts.into_iter());
    // Short inputs: one byte at a time too.
    if data.len() <= 256 {
        check_split(&decoder, data, &whole, 1..=data.len());
    }

    // A decoder with a smaller maximum: the same answers, except that packets above the
    // maximum are refused with PacketTooLarge (at the latest where the whole input had them).
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

    check_bytes(&decoder, data, &whole);
}

/// The remaining length of a whole packet's bytes.
fn remaining_length(bytes: &[u8]) -> u32 {
    match Decoder::new().frame(bytes) {
        Ok(Frame::Complete(h)) => h.remaining_length,
        other => panic!("frame of a decoded packet: {other:?}"),
    }
}

/// `decode_bytes` into owned packets gives the same packets and leaves the buffer alone on error.
fn check_bytes(decoder: &Decoder, data: &[u8], whole: &Whole<'_>) {
    let mut buf = bytes::BytesMut::from(data);
    for (packet, start, end) in &whole.packets {
        match decoder.decode_bytes(&mut buf) {
            Ok(Some(owned)) => {
                assert_eq!(owned.packet(), *packet);
                assert_eq!(owned.bytes().len(), end - start);
            }
            other => panic!("decode_bytes: {other:?}"),
        }
    }
    let before = buf.len();
    match (decoder.decode_bytes(&mut buf), whole.end) {
        (Ok(None), End::Clean | End::Incomplete(_)) => {}
        (Err(e), End::Error(_, e2)) => assert_eq!(e, e2),
        (other, end) => panic!("decode_bytes at the end: {other:?}, whole input {end:?}"),
    }
    assert_eq!(
        buf.len(),
        before,
        "decode_bytes changed the buffer without a packet"
    );
}
