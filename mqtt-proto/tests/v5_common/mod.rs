//! Helpers shared by the MQTT 5.0 integration tests: the three-way decode check and the encode
//! check, the 5.0 twins of `tests/common`.
//!
//! Each test binary uses a different subset of these helpers.
#![allow(dead_code, clippy::unwrap_used)]

use core::num::NonZeroU16;

use mqtt_proto::v5::{Decoder, Frame, Packet};
use mqtt_proto::{DecodeError, EncodeError, PacketId, TopicFilter, TopicName};

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

/// Bytes of another packet appended after a vector to check that the decoder stops at the
/// packet's end: a PINGRESP, the start of a PUBLISH, an AUTH first byte, a lone reserved byte.
const TRAILERS: &[&[u8]] = &[
    &[0xD0, 0x00],
    &[0x30, 0x07, 0x00, 0x03, b'a'],
    &[0xF0],
    &[0x00],
];

/// Checks one decode vector three ways:
/// 1. whole: `decode` gives exactly `expected` and consumes every byte; `frame` and
///    `decode_body` agree;
/// 2. one byte at a time: every proper prefix is `Ok(None)` / `Frame::Incomplete`, never an
///    error, and `needed` is exact once the fixed header is complete;
/// 3. with trailing bytes of a next packet: the same packet, consuming exactly `bytes.len()`.
pub fn check_decode(bytes: &[u8], expected: &Packet<'_>) {
    let decoder = Decoder::new();
    let len = bytes.len();

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
    assert_eq!(header.packet_type, expected.packet_type());
    assert_eq!(header.flags, bytes[0] & 0x0F);
    assert_eq!(
        decoder.decode_body(&header, &bytes[header.header_len..]),
        Ok(*expected),
        "decode_body of {bytes:02X?}"
    );

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
                assert_eq!(needed.get(), len - n, "needed for the {n}-byte prefix");
                assert!(n >= header.header_len);
            }
            Ok(Frame::Incomplete { needed: None }) => assert!(
                n < header.header_len,
                "needed unknown with the whole fixed header ({n} bytes of {bytes:02X?})"
            ),
            other => panic!("frame of the {n}-byte prefix of {bytes:02X?}: {other:?}"),
        }
    }

    for trailer in TRAILERS {
        let mut buf = bytes.to_vec();
        buf.extend_from_slice(trailer);
        assert_eq!(
            decoder.decode(&buf),
            Ok(Some((*expected, len))),
            "decode of {bytes:02X?} followed by {trailer:02X?}"
        );
    }
}

/// Checks a malformed vector: the whole vector (and the vector followed by a next packet)
/// fails with `error`; each proper prefix is `Ok(None)` or already that error, never another
/// error and never a packet; once a prefix fails, every longer one fails the same way.
pub fn check_malformed(bytes: &[u8], error: DecodeError) {
    let decoder = Decoder::new();
    assert_eq!(decoder.decode(bytes), Err(error), "decode of {bytes:02X?}");
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

    for n in 0..len {
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
