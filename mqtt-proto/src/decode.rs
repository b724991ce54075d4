//! Incremental, zero-copy decoding: framing (fixed header, remaining length) and dispatch to
//! the per-packet body decoders.
use core::num::NonZeroUsize;

use crate::read::Reader;
use crate::{DecodeError, Packet, PacketType, connect, publish, subscribe};

/// The largest remaining length the 4-byte variable length encoding can carry (section 2.2.3).
pub const MAX_REMAINING_LENGTH: u32 = 268_435_455;

/// A complete, validated fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FixedHeader {
    /// The packet type (flags already checked against Table 2.2).
    pub packet_type: PacketType,
    /// The low four bits of the first byte.
    pub flags: u8,
    /// The remaining length: bytes after the fixed header.
    pub remaining_length: u32,
    /// Bytes of the fixed header itself (2 to 5).
    pub header_len: usize,
}

impl FixedHeader {
    /// Bytes of the whole packet: fixed header plus remaining length.
    pub const fn total_len(&self) -> usize {
        self.header_len + self.remaining_length as usize
    }
}

/// What the bytes at the start of a buffer amount to so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Frame {
    /// Not a whole packet yet. `needed` is exactly how many more bytes complete the packet once
    /// the fixed header is complete; `None` while the fixed header itself is incomplete (the
    /// packet's size is not known yet; at least one more byte is needed).
    Incomplete {
        /// Bytes still missing, when known.
        needed: Option<NonZeroUsize>,
    },
    /// A whole packet is buffered: its first [`FixedHeader::total_len`] bytes.
    Complete(FixedHeader),
}

/// An incremental decoder. It holds only configuration (no buffered state), so one value can
/// decode any number of streams: give it the bytes received so far, starting at a packet
/// boundary.
///
/// - Not enough bytes yet: `Ok(None)` (or [`Frame::Incomplete`]), never an error.
/// - Malformed bytes: an error at the first byte that proves it. The first byte is checked on
///   its own, a remaining length above the maximum is refused while only the header is
///   buffered, and so are sizes that cannot fit the packet type. [`Decoder::decode`] also checks
///   the part of the body that has arrived (a PUBLISH topic, a CONNECT header, SUBSCRIBE
///   filters, SUBACK codes), so a broken rule never waits for a large payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decoder {
    max_remaining_length: u32,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    /// A decoder accepting any remaining length up to [`MAX_REMAINING_LENGTH`].
    pub const fn new() -> Self {
        Decoder {
            max_remaining_length: MAX_REMAINING_LENGTH,
        }
    }

    /// A decoder refusing packets whose remaining length is above `max` with
    /// [`DecodeError::PacketTooLarge`]. `max` is capped at [`MAX_REMAINING_LENGTH`].
    pub const fn with_max_remaining_length(max: u32) -> Self {
        Decoder {
            max_remaining_length: if max > MAX_REMAINING_LENGTH {
                MAX_REMAINING_LENGTH
            } else {
                max
            },
        }
    }

    /// The configured maximum remaining length.
    pub const fn max_remaining_length(&self) -> u32 {
        self.max_remaining_length
    }

    /// Read the fixed header at the start of `buf` and say whether the whole packet is there.
    ///
    /// Errors as soon as the buffered bytes prove the fixed header malformed: a bad first byte,
    /// a fifth remaining-length byte, a remaining length not in its shortest encoding
    /// ([`DecodeError::MalformedLength`], whatever the maximum), a remaining length above the
    /// maximum (known at the length's last byte, so before any of the body), or a remaining
    /// length impossible for the packet type. The body is not looked at:
    /// [`Decoder::decode`] checks it, as far as it has arrived.
    ///
    /// ```
    /// use mqtt_proto::{Decoder, Frame};
    /// # fn main() -> Result<(), mqtt_proto::DecodeError> {
    /// let decoder = Decoder::new();
    /// // PUBLISH QoS 0, remaining length 200: 3 header bytes in, 200 body bytes to come.
    /// match decoder.frame(&[0x30, 0xC8, 0x01])? {
    ///     Frame::Incomplete { needed } => assert_eq!(needed.map(|n| n.get()), Some(200)),
    ///     Frame::Complete(_) => unreachable!(),
    /// }
    /// // Only part of the remaining length: the size is not known yet.
    /// assert_eq!(decoder.frame(&[0x30, 0xC8])?, Frame::Incomplete { needed: None });
    /// // A PUBLISH with both QoS bits set is refused at its first byte [MQTT-3.3.1-4].
    /// assert!(decoder.frame(&[0x36]).is_err());
    /// # Ok(())
    /// # }
    /// ```
    #[inline]
    pub fn frame(&self, buf: &[u8]) -> Result<Frame, DecodeError> {
        let Some(header) = self.header(buf)? else {
            return Ok(Frame::Incomplete { needed: None });
        };
        match NonZeroUsize::new(header.total_len().saturating_sub(buf.len())) {
            None => Ok(Frame::Complete(header)),
            Some(needed) => Ok(Frame::Incomplete {
                needed: Some(needed),
            }),
        }
    }

    /// The fixed header, or `None` while it is incomplete.
    #[inline]
    fn header(&self, buf: &[u8]) -> Result<Option<FixedHeader>, DecodeError> {
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        let packet_type = PacketType::from_first_byte(first)?;
        let (remaining_length, header_len) = match buf.get(1) {
            None => return Ok(None),
            Some(&b) if b & 0x80 == 0 => (u32::from(b), 2),
            // Two bytes (128 to 16,383), the usual size of a PUBLISH: the second byte is
            // neither a continuation nor a 0 (which would not be the shortest encoding).
            Some(&b1) => match buf.get(2) {
                Some(&b2) if b2.wrapping_sub(1) < 0x7F => {
                    (u32::from(b1 & 0x7F) | u32::from(b2) << 7, 3)
                }
                _ => match self.long_remaining_length(buf)? {
                    Some(v) => v,
                    None => return Ok(None),
                },
            },
        };
        if remaining_length > self.max_remaining_length {
            return Err(DecodeError::PacketTooLarge);
        }
        check_remaining_length(packet_type, first & 0x0F, remaining_length)?;
        Ok(Some(FixedHeader {
            packet_type,
            flags: first & 0x0F,
            remaining_length,
            header_len,
        }))
    }

    /// The remaining length when its first byte has the continuation bit set:
    /// `Ok(None)` while incomplete, `(value, header_len)` when complete.
    fn long_remaining_length(&self, buf: &[u8]) -> Result<Option<(u32, usize)>, DecodeError> {
        let mut value: u32 = 0;
        for i in 0..4 {
            let Some(&b) = buf.get(1 + i) else {
                return Ok(None);
            };
            value |= u32::from(b & 0x7F) << (7 * i);
            if b & 0x80 == 0 {
                // A last byte of 0 after a continuation byte encodes the value in more bytes
                // than needed (e.g. `80 00` for 0): refused, so that one length has one
                // encoding and the early maximum check below stays exact.
                if b == 0 {
                    return Err(DecodeError::MalformedLength);
                }
                return Ok(Some((value, 2 + i)));
            }
            if i == 3 {
                return Err(DecodeError::RemainingLengthTooLong);
            }
            // No early size check on a continuation byte: whether the length is too large or
            // padded (malformed) is known only at its last byte, at most three bytes on, and a
            // padded length is a malformed packet whatever the size limit.
        }
        Err(DecodeError::RemainingLengthTooLong)
    }

    /// Decode the packet at the start of `buf`, borrowing from it. `Ok(None)` when more bytes
    /// are needed; otherwise the packet and the number of bytes it took (the rest of `buf`
    /// belongs to the next packets).
    #[inline]
    pub fn decode<'a>(&self, buf: &'a [u8]) -> Result<Option<(Packet<'a>, usize)>, DecodeError> {
        let Some(header) = self.header(buf)? else {
            return Ok(None);
        };
        let total = header.total_len();
        match buf.get(header.header_len..total) {
            Some(body) => {
                let packet = decode_body(header.packet_type, header.flags, body)?;
                Ok(Some((packet, total)))
            }
            None => {
                let partial = buf.get(header.header_len..).unwrap_or_default();
                check_partial_body(header.packet_type, header.flags, partial)?;
                Ok(None)
            }
        }
    }

    /// Decode a packet whose fixed header was read by [`Decoder::frame`] and whose body (the
    /// `remaining_length` bytes after the header) is `body`.
    pub fn decode_body<'a>(
        &self,
        header: &FixedHeader,
        body: &'a [u8],
    ) -> Result<Packet<'a>, DecodeError> {
        if body.len() != header.remaining_length as usize {
            return Err(DecodeError::MalformedLength);
        }
        let first = (header.packet_type as u8) << 4 | header.flags;
        let packet_type = PacketType::from_first_byte(first)?;
        check_remaining_length(packet_type, header.flags, header.remaining_length)?;
        decode_body(packet_type, header.flags, body)
    }

    /// Decode the packet at the start of `buf`, splitting its bytes off `buf` into an
    /// [`OwnedPacket`](crate::OwnedPacket) that shares them (no copy). `Ok(None)` when more bytes
    /// are needed; on error `buf` is left as it was.
    #[cfg(feature = "bytes")]
    pub fn decode_bytes(
        &self,
        buf: &mut bytes::BytesMut,
    ) -> Result<Option<crate::OwnedPacket>, DecodeError> {
        let total = match self.decode(buf)? {
            None => return Ok(None),
            Some((_, total)) => total,
        };
        Ok(Some(crate::OwnedPacket::from_validated(
            buf.split_to(total).freeze(),
        )))
    }
}

/// Sizes that no packet of this type can have, refused while only the header is buffered.
/// The body decoders rely on these checks.
#[inline]
fn check_remaining_length(ty: PacketType, flags: u8, rl: u32) -> Result<(), DecodeError> {
    let ok = match ty {
        PacketType::ConnAck
        | PacketType::PubAck
        | PacketType::PubRec
        | PacketType::PubRel
        | PacketType::PubComp
        | PacketType::UnsubAck => rl == 2,
        PacketType::PingReq | PacketType::PingResp | PacketType::Disconnect => rl == 0,
        // Topic length, and a packet identifier when QoS > 0.
        PacketType::Publish => rl >= if flags & 0b0110 == 0 { 2 } else { 4 },
        PacketType::Subscribe => match rl {
            2 => return Err(DecodeError::EmptySubscribe),
            _ => rl >= 2,
        },
        PacketType::Unsubscribe => match rl {
            2 => return Err(DecodeError::EmptyUnsubscribe),
            _ => rl >= 2,
        },
        PacketType::SubAck => match rl {
            2 => return Err(DecodeError::InvalidSubAckCode),
            _ => rl >= 2,
        },
        PacketType::Connect => true,
    };
    if ok {
        Ok(())
    } else {
        Err(DecodeError::MalformedLength)
    }
}

/// Check the part of a body that has arrived, so that a broken rule is reported before the
/// rest (a PUBLISH payload, say) is buffered. The body decoders read in order and decide only
/// from bytes already read, so an error here is the error the whole packet would give; running
/// out of bytes (`MalformedLength`) only means "not yet". Lists are checked once they hold more
/// than the packet identifier, since their emptiness depends on the whole size (already checked
/// with the header).
#[cold]
fn check_partial_body(ty: PacketType, flags: u8, partial: &[u8]) -> Result<(), DecodeError> {
    let mut r = Reader::new(partial);
    let result = match ty {
        PacketType::Publish => publish::decode_publish(flags, partial).map(drop),
        PacketType::Connect => connect::decode_connect(&mut r).map(drop),
        _ if partial.len() <= 2 => Ok(()),
        PacketType::Subscribe => subscribe::decode_subscribe(&mut r).map(drop),
        PacketType::Unsubscribe => subscribe::decode_unsubscribe(&mut r).map(drop),
        PacketType::SubAck => subscribe::decode_suback(&mut r).map(drop),
        _ => Ok(()),
    };
    match result {
        Ok(()) | Err(DecodeError::MalformedLength) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Decode a body whose size already passed [`check_remaining_length`].
#[inline]
fn decode_body(ty: PacketType, flags: u8, body: &[u8]) -> Result<Packet<'_>, DecodeError> {
    let mut r = Reader::new(body);
    let packet = match ty {
        PacketType::Publish => return publish::decode_publish(flags, body).map(Packet::Publish),
        PacketType::PubAck => Packet::PubAck(r.packet_id()?),
        PacketType::PubRec => Packet::PubRec(r.packet_id()?),
        PacketType::PubRel => Packet::PubRel(r.packet_id()?),
        PacketType::PubComp => Packet::PubComp(r.packet_id()?),
        PacketType::UnsubAck => Packet::UnsubAck(r.packet_id()?),
        PacketType::PingReq => Packet::PingReq,
        PacketType::PingResp => Packet::PingResp,
        PacketType::Disconnect => Packet::Disconnect,
        PacketType::Connect => Packet::Connect(connect::decode_connect(&mut r)?),
        PacketType::ConnAck => Packet::ConnAck(connect::decode_connack(&mut r)?),
        PacketType::Subscribe => Packet::Subscribe(subscribe::decode_subscribe(&mut r)?),
        PacketType::SubAck => Packet::SubAck(subscribe::decode_suback(&mut r)?),
        PacketType::Unsubscribe => Packet::Unsubscribe(subscribe::decode_unsubscribe(&mut r)?),
    };
    r.finish()?;
    Ok(packet)
}

impl<'a> Packet<'a> {
    /// Decode the packet at the start of `buf` with [`Decoder::new`]: `Ok(None)` when more
    /// bytes are needed, else the packet and the bytes it took.
    pub fn decode(buf: &'a [u8]) -> Result<Option<(Packet<'a>, usize)>, DecodeError> {
        Decoder::new().decode(buf)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn needed(n: usize) -> Frame {
        Frame::Incomplete {
            needed: NonZeroUsize::new(n),
        }
    }

    #[test]
    fn remaining_length_boundaries() {
        let d = Decoder::new();
        let cases: [(&[u8], u32, usize); 8] = [
            (&[0x00], 0, 2),
            (&[0x7F], 127, 2),
            (&[0x80, 0x01], 128, 3),
            (&[0xFF, 0x7F], 16_383, 3),
            (&[0x80, 0x80, 0x01], 16_384, 4),
            (&[0xFF, 0xFF, 0x7F], 2_097_151, 4),
            (&[0x80, 0x80, 0x80, 0x01], 2_097_152, 5),
            (&[0xFF, 0xFF, 0xFF, 0x7F], 268_435_455, 5),
        ];
        for (len, value, header_len) in cases {
            let mut buf = [0u8; 5];
            buf[0] = 0x30;
            buf[1..1 + len.len()].copy_from_slice(len);
            let frame = d.frame(&buf[..1 + len.len()]);
            let expected = if value == 0 {
                Err(DecodeError::MalformedLength)
            } else {
                Ok(needed(value as usize))
            };
            assert_eq!(frame, expected, "{len:02x?}");
            let header = FixedHeader {
                packet_type: PacketType::Publish,
                flags: 0,
                remaining_length: value,
                header_len,
            };
            assert_eq!(header.total_len(), header_len + value as usize);
        }
    }

    #[test]
    fn fifth_length_byte_is_an_error() {
        let d = Decoder::new();
        assert_eq!(
            d.frame(&[0x30, 0xFF, 0xFF, 0xFF, 0x80]),
            Err(DecodeError::RemainingLengthTooLong)
        );
        assert_eq!(d.frame(&[0x30, 0xFF, 0xFF, 0xFF]), Ok(needed(0)));
    }

    #[test]
    fn too_large_is_refused_before_the_body() {
        let d = Decoder::with_max_remaining_length(100);
        assert_eq!(d.frame(&[0x30, 101]), Err(DecodeError::PacketTooLarge));
        assert_eq!(
            d.frame(&[0x30, 0x80, 0x01]),
            Err(DecodeError::PacketTooLarge)
        );
        assert_eq!(
            d.frame(&[0x30, 0x80, 0x80, 0x80, 0x01]),
            Err(DecodeError::PacketTooLarge)
        );
        assert_eq!(d.frame(&[0x30, 100]), Ok(needed(100)));
        let d = Decoder::with_max_remaining_length(200);
        assert_eq!(d.frame(&[0x30, 0x80]), Ok(needed(0)));
        assert_eq!(
            d.frame(&[0x30, 0xC9, 0x01]),
            Err(DecodeError::PacketTooLarge)
        );
    }

    /// A remaining length in a longer form than needed is malformed whatever the size limit:
    /// `82 80 80 00` is 2, padded to four bytes [MQTT-1.5.5-1 in 5.0; 3.1.1 §2.2.3 encodes each
    /// length one way]. With a small maximum it is still malformed, not too large.
    #[test]
    fn padded_length_is_malformed_even_under_a_small_maximum() {
        for max in [0, 1, 100, 127, 128, 16_383, 16_384, MAX_REMAINING_LENGTH] {
            let d = Decoder::with_max_remaining_length(max);
            for padded in [
                &[0x20, 0x82, 0x00][..],
                &[0x20, 0x82, 0x80, 0x00],
                &[0x20, 0x82, 0x80, 0x80, 0x00, 0x00, 0x00],
            ] {
                assert_eq!(
                    d.frame(padded),
                    Err(DecodeError::MalformedLength),
                    "max {max}, {padded:02x?}"
                );
                assert_eq!(d.decode(padded), Err(DecodeError::MalformedLength));
            }
            // Until the last length byte arrives, neither is known.
            assert_eq!(d.frame(&[0x20, 0x82, 0x80, 0x80]), Ok(needed(0)));
        }
    }

    #[test]
    fn first_byte_is_checked_alone() {
        let d = Decoder::new();
        assert_eq!(d.frame(&[]), Ok(needed(0)));
        assert_eq!(d.frame(&[0x30]), Ok(needed(0)));
        assert_eq!(d.frame(&[0x00]), Err(DecodeError::ReservedPacketType));
        assert_eq!(d.frame(&[0x63]), Err(DecodeError::InvalidFlags));
    }

    #[test]
    fn impossible_sizes_are_refused_at_the_header() {
        let d = Decoder::new();
        assert_eq!(d.frame(&[0x40, 0x03]), Err(DecodeError::MalformedLength));
        assert_eq!(d.frame(&[0xC0, 0x01]), Err(DecodeError::MalformedLength));
        assert_eq!(d.frame(&[0x82, 0x02]), Err(DecodeError::EmptySubscribe));
        assert_eq!(d.frame(&[0xA2, 0x02]), Err(DecodeError::EmptyUnsubscribe));
        assert_eq!(d.frame(&[0x90, 0x02]), Err(DecodeError::InvalidSubAckCode));
        assert_eq!(d.frame(&[0x32, 0x03]), Err(DecodeError::MalformedLength));
    }

    #[test]
    fn body_errors_are_reported_before_the_payload_arrives() {
        let d = Decoder::new();
        // PUBLISH QoS 1, remaining length 200, topic "a/#", packet id 1: payload not here yet.
        let head = [0x32, 0xC8, 0x01, 0x00, 0x03, b'a', b'/', b'#', 0x00];
        assert_eq!(d.decode(&head), Ok(None));
        let head = [0x32, 0xC8, 0x01, 0x00, 0x03, b'a', b'/', b'#', 0x00, 0x01];
        assert_eq!(d.decode(&head), Err(DecodeError::InvalidTopicName));
        assert!(matches!(d.frame(&head), Ok(Frame::Incomplete { .. })));
        // SUBSCRIBE whose first filter is bad, second filter still to come.
        let head = [0x82, 0x20, 0x00, 0x01, 0x00, 0x02, b'a', b'#'];
        assert_eq!(d.decode(&head), Err(DecodeError::InvalidTopicFilter));
        assert_eq!(d.decode(&head[..4]), Ok(None));
        // SUBACK with a reserved code among the first ones.
        assert_eq!(
            d.decode(&[0x90, 0x05, 0x00, 0x01, 0x03]),
            Err(DecodeError::InvalidSubAckCode)
        );
        // CONNECT with the wrong protocol name.
        assert_eq!(
            d.decode(&[0x10, 0x20, 0x00, 0x04, b'M', b'Q', b'T', b'X']),
            Err(DecodeError::InvalidProtocolName)
        );
    }

    #[test]
    fn decodes_one_packet_and_reports_its_size() {
        let buf = [0x40, 0x02, 0x00, 0x07, 0xD0, 0x00, 0xC0];
        let (p, n) = Packet::decode(&buf).unwrap().unwrap();
        assert_eq!(n, 4);
        assert_eq!(p, Packet::PubAck(crate::PacketId::new(7).unwrap()));
        let (p, n) = Packet::decode(&buf[4..]).unwrap().unwrap();
        assert_eq!((p, n), (Packet::PingResp, 2));
        assert_eq!(Packet::decode(&buf[6..]), Ok(None));
        assert_eq!(
            Packet::decode(&[0x40, 0x02, 0x00, 0x00]),
            Err(DecodeError::ZeroPacketId)
        );
    }
}
