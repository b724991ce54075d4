//! Helpers shared by the integration tests: packet builders and the three-way decode check.
//!
//! Each test binary uses a different subset of these helpers.
#![allow(dead_code, clippy::unwrap_used)]

use core::num::NonZeroU16;

use mqtt_proto::{
    ConnAck, Connect, ConnectReturnCode, DecodeError, Decoder, EncodeError, Frame, Packet,
    PacketId, Publish, QoS, QosPid, SubAck, SubAckCodes, Subscribe, SubscribeFilters, TopicFilter,
    TopicFilters, TopicName, Unsubscribe, Will,
};

/// A packet identifier; panics on 0 (test input only).
pub fn pid(n: u16) -> PacketId {
    PacketId(NonZeroU16::new(n).expect("test packet ids are non-zero"))
}

/// A validated topic name; panics if the test wrote an invalid one.
pub fn topic(s: &str) -> TopicName<'_> {
    TopicName::new(s).expect("test topic names are valid")
}

/// A validated topic filter; panics if the test wrote an invalid one.
pub fn filter(s: &str) -> TopicFilter<'_> {
    TopicFilter::new(s).expect("test topic filters are valid")
}

fn leak<T>(v: Vec<T>) -> &'static [T] {
    Vec::leak(v)
}

/// SUBSCRIBE with the given (filter, QoS) pairs.
pub fn subscribe(id: u16, filters: &[(&'static str, QoS)]) -> Packet<'static> {
    let list: &'static [(TopicFilter<'static>, QoS)] =
        leak(filters.iter().map(|&(f, q)| (filter(f), q)).collect());
    Packet::Subscribe(Subscribe {
        packet_id: pid(id),
        filters: SubscribeFilters::new(list),
    })
}

/// UNSUBSCRIBE with the given filters.
pub fn unsubscribe(id: u16, filters: &[&'static str]) -> Packet<'static> {
    let list: &'static [TopicFilter<'static>] = leak(filters.iter().map(|&f| filter(f)).collect());
    Packet::Unsubscribe(Unsubscribe {
        packet_id: pid(id),
        filters: TopicFilters::new(list),
    })
}

/// SUBACK with the given raw return codes (each 0x00, 0x01, 0x02 or 0x80).
pub fn suback(id: u16, codes: &'static [u8]) -> Packet<'static> {
    Packet::SubAck(SubAck {
        packet_id: pid(id),
        codes: SubAckCodes::new(codes).expect("test return codes are valid"),
    })
}

/// PUBLISH.
pub fn publish(
    dup: bool,
    qos_pid: QosPid,
    retain: bool,
    topic_name: &'static str,
    payload: &'static [u8],
) -> Packet<'static> {
    Packet::Publish(Publish {
        dup,
        qos_pid,
        retain,
        topic: topic(topic_name),
        payload,
    })
}

/// CONNACK.
pub fn connack(session_present: bool, code: ConnectReturnCode) -> Packet<'static> {
    Packet::ConnAck(ConnAck {
        session_present,
        code,
    })
}

/// CONNECT without will, user name or password.
pub fn connect(clean_session: bool, keep_alive: u16, client_id: &'static str) -> Connect<'static> {
    Connect {
        clean_session,
        keep_alive,
        client_id,
        will: None,
        username: None,
        password: None,
    }
}

/// A will message.
pub fn will(
    topic_name: &'static str,
    payload: &'static [u8],
    qos: QoS,
    retain: bool,
) -> Will<'static> {
    Will {
        topic: topic(topic_name),
        payload,
        qos,
        retain,
    }
}

/// Bytes of another packet appended after a vector to check that the decoder stops at the
/// packet's end: a PINGRESP, the start of a PUBLISH, a lone first byte.
const TRAILERS: &[&[u8]] = &[
    &[0xD0, 0x00],
    &[0x30, 0x07, 0x00, 0x03, b'a'],
    &[0x82],
    &[0x00],
];

/// Checks one decode vector three ways, as a stream decoder must handle it:
/// 1. whole: `decode` gives exactly `expected` and consumes every byte; `frame` agrees;
/// 2. one byte at a time: every proper prefix is `Ok(None)` / `Frame::Incomplete`, never an
///    error, and `needed` never claims more bytes than the packet still lacks;
/// 3. with trailing bytes of a next packet: the same packet, consuming exactly `bytes.len()`.
///
/// The `bytes` feature path (`decode_bytes` on a `BytesMut`) is checked the same way.
pub fn check_decode(bytes: &[u8], expected: &Packet<'_>) {
    check_decode_with(&Decoder::new(), bytes, expected);
}

/// [`check_decode`] with a given decoder.
pub fn check_decode_with(decoder: &Decoder, bytes: &[u8], expected: &Packet<'_>) {
    let len = bytes.len();

    // 1. Whole.
    assert_eq!(
        decoder.decode(bytes),
        Ok(Some((*expected, len))),
        "decode of the whole vector {bytes:02X?}"
    );
    let header = match decoder.frame(bytes) {
        Ok(Frame::Complete(header)) => header,
        other => panic!("frame of the whole vector {bytes:02X?}: {other:?}"),
    };
    assert_eq!(header.total_len(), len, "frame total_len of {bytes:02X?}");
    assert_eq!(header.header_len + header.remaining_length as usize, len);
    assert_eq!(header.packet_type, expected.packet_type());
    assert_eq!(header.flags, bytes[0] & 0x0F);
    // Framing first, then the body on its own, gives the same packet.
    assert_eq!(
        decoder.decode_body(&header, &bytes[header.header_len..]),
        Ok(*expected),
        "decode_body of {bytes:02X?}"
    );

    // 2. One byte at a time: every proper prefix (the empty one included) is incomplete.
    for n in 0..len {
        let prefix = &bytes[..n];
        assert_eq!(
            decoder.decode(prefix),
            Ok(None),
            "decode of the {n}-byte prefix of {bytes:02X?}"
        );
        match decoder.frame(prefix) {
            Ok(Frame::Incomplete {
                needed: Some(needed),
            }) => {
                // Never over-claims; in fact exact once the fixed header is complete.
                assert!(
                    needed.get() <= len - n,
                    "the {n}-byte prefix of {bytes:02X?} claims {needed} more bytes, \
                     but only {} are missing",
                    len - n
                );
                assert_eq!(needed.get(), len - n, "needed for the {n}-byte prefix");
                assert!(
                    n >= header.header_len,
                    "needed known before the header is complete"
                );
            }
            Ok(Frame::Incomplete { needed: None }) => assert!(
                n < header.header_len,
                "needed unknown with the whole fixed header ({n} bytes of {bytes:02X?})"
            ),
            other => panic!("frame of the {n}-byte prefix of {bytes:02X?}: {other:?}"),
        }
    }

    // 3. With trailing bytes of the next packet.
    for trailer in TRAILERS {
        let mut buf = bytes.to_vec();
        buf.extend_from_slice(trailer);
        assert_eq!(
            decoder.decode(&buf),
            Ok(Some((*expected, len))),
            "decode of {bytes:02X?} followed by {trailer:02X?}"
        );
        match decoder.frame(&buf) {
            Ok(Frame::Complete(header)) => assert_eq!(header.total_len(), len),
            other => panic!("frame of {bytes:02X?} followed by {trailer:02X?}: {other:?}"),
        }
    }

    check_decode_bytes(decoder, bytes, expected);
}

#[cfg(feature = "bytes")]
fn check_decode_bytes(decoder: &Decoder, bytes: &[u8], expected: &Packet<'_>) {
    use bytes::BytesMut;

    // Fed one byte at a time into a growing buffer.
    let mut buf = BytesMut::new();
    for (i, &b) in bytes.iter().enumerate() {
        assert_eq!(
            decoder.decode_bytes(&mut buf).map(|p| p.is_some()),
            Ok(false),
            "decode_bytes after {i} bytes of {bytes:02X?}"
        );
        buf.extend_from_slice(&[b]);
    }
    let owned = decoder
        .decode_bytes(&mut buf)
        .expect("a valid vector decodes")
        .expect("a whole vector is complete");
    assert_eq!(owned.packet(), *expected, "decode_bytes of {bytes:02X?}");
    assert_eq!(
        &owned.bytes()[..],
        bytes,
        "OwnedPacket::bytes of {bytes:02X?}"
    );
    assert!(buf.is_empty(), "decode_bytes consumed the packet");

    // Followed by the first bytes of a next packet: those stay in the buffer.
    let mut buf = BytesMut::from(bytes);
    buf.extend_from_slice(&[0x30, 0x07, 0x00]);
    let owned = decoder
        .decode_bytes(&mut buf)
        .expect("a valid vector decodes")
        .expect("a whole vector is complete");
    assert_eq!(owned.packet(), *expected);
    assert_eq!(&buf[..], &[0x30, 0x07, 0x00]);
}

#[cfg(not(feature = "bytes"))]
fn check_decode_bytes(_decoder: &Decoder, _bytes: &[u8], _expected: &Packet<'_>) {}

/// Checks a malformed vector whose error is proven only by its body: the whole vector (and the
/// vector followed by a next packet) fails with `error`; each proper prefix is `Ok(None)` or
/// already that error (a decoder may see the rule broken before the end), never another error
/// and never a packet; once a prefix fails, every longer one fails the same way.
pub fn check_malformed(bytes: &[u8], error: DecodeError) {
    check_malformed_with(&Decoder::new(), bytes, error);
}

/// [`check_malformed`] with a given decoder.
pub fn check_malformed_with(decoder: &Decoder, bytes: &[u8], error: DecodeError) {
    assert_eq!(decoder.decode(bytes), Err(error), "decode of {bytes:02X?}");
    assert_eq!(
        decoder.frame(bytes).err().unwrap_or(error),
        error,
        "frame of {bytes:02X?} gives another error"
    );
    let mut failed = false;
    for n in 0..bytes.len() {
        let got = decoder.decode(&bytes[..n]);
        if failed {
            assert_eq!(got, Err(error), "the {n}-byte prefix of {bytes:02X?}");
        } else {
            assert!(
                got == Ok(None) || got == Err(error),
                "the {n}-byte prefix of {bytes:02X?}: {got:?}"
            );
            failed = got.is_err();
        }
    }
    let mut buf = bytes.to_vec();
    buf.extend_from_slice(&[0xD0, 0x00]);
    assert_eq!(
        decoder.decode(&buf),
        Err(error),
        "decode of {bytes:02X?} + a PINGRESP"
    );
}

/// Checks a malformed vector whose error is proven by its first `proven_at` bytes (the first
/// byte, or the remaining length field): shorter prefixes are `Ok(None)`, and from `proven_at`
/// bytes on both `decode` and `frame` answer `error`, before any body arrives.
pub fn check_malformed_at(bytes: &[u8], error: DecodeError, proven_at: usize) {
    check_malformed_at_with(&Decoder::new(), bytes, error, proven_at);
}

/// [`check_malformed_at`] with a given decoder.
pub fn check_malformed_at_with(
    decoder: &Decoder,
    bytes: &[u8],
    error: DecodeError,
    proven_at: usize,
) {
    assert!(proven_at <= bytes.len());
    for n in 0..=bytes.len() {
        let prefix = &bytes[..n];
        if n < proven_at {
            assert_eq!(
                decoder.decode(prefix),
                Ok(None),
                "the {n}-byte prefix of {bytes:02X?}"
            );
            assert!(
                matches!(decoder.frame(prefix), Ok(Frame::Incomplete { .. })),
                "frame of the {n}-byte prefix of {bytes:02X?}"
            );
        } else {
            assert_eq!(
                decoder.decode(prefix),
                Err(error),
                "the {n}-byte prefix of {bytes:02X?}"
            );
            assert_eq!(
                decoder.frame(prefix).err(),
                Some(error),
                "frame of the {n}-byte prefix of {bytes:02X?}"
            );
        }
    }
}

/// Checks one encode vector: `encoded_len` is exact, `encode` writes exactly `bytes` and
/// nothing past them, and every too-small buffer is refused untouched with `required`.
pub fn check_encode(packet: &Packet<'_>, bytes: &[u8]) {
    let len = bytes.len();
    assert_eq!(packet.encoded_len(), len, "encoded_len of {packet:?}");

    let mut buf = vec![0xA5; len + 8];
    assert_eq!(packet.encode(&mut buf), Ok(len), "encode of {packet:?}");
    assert_eq!(&buf[..len], bytes, "bytes of {packet:?}");
    assert!(
        buf[len..].iter().all(|&b| b == 0xA5),
        "encode wrote past the packet"
    );

    let mut exact = vec![0u8; len];
    assert_eq!(packet.encode(&mut exact), Ok(len));
    assert_eq!(&exact[..], bytes);

    let short_sizes: Vec<usize> = if len <= 1024 {
        (0..len).collect()
    } else {
        vec![0, 1, 2, len / 2, len - 2, len - 1]
    };
    for n in short_sizes {
        let mut short = vec![0xA5; n];
        assert_eq!(
            packet.encode(&mut short),
            Err(EncodeError::BufferTooSmall { required: len }),
            "encode of {packet:?} into {n} bytes"
        );
        assert!(
            short.iter().all(|&b| b == 0xA5),
            "a failed encode wrote into the buffer"
        );
    }

    #[cfg(feature = "bytes")]
    {
        let mut out = bytes::BytesMut::from(&b"xy"[..]);
        assert_eq!(packet.encode_to_bytes(&mut out), Ok(len));
        assert_eq!(&out[..2], b"xy", "encode_to_bytes appends");
        assert_eq!(&out[2..], bytes);
    }
}

/// Both directions: `packet` encodes to exactly `bytes`, and `bytes` decode to exactly
/// `packet` (three ways).
pub fn check_vector(bytes: &[u8], packet: &Packet<'_>) {
    check_encode(packet, bytes);
    check_decode(bytes, packet);
}
