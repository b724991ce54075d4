//! Incremental, zero-copy decoding of MQTT 5.0 packets: framing and the body decoders.
use core::num::NonZeroUsize;

use super::packet::{
    Auth, ConnAck, Connect, Disconnect, Packet, PacketType, PubResponse, Publish, SubAck,
    Subscribe, SubscribeFilters, SubscriptionOptions, UnsubAck, Unsubscribe, Will,
    check_subscription,
};
use super::properties::{Properties, PropertyContext, PropertyId, read_vbi};
use super::reason::{
    AuthReasonCode, ConnectReasonCode, DisconnectReasonCode, ReasonCode, ReasonCodes,
};
use crate::read::Reader;
use crate::{
    DecodeError, MAX_REMAINING_LENGTH, PacketId, QoS, QosPid, TopicFilter, TopicFilters, TopicName,
};

const PROTOCOL_NAME: &[u8] = b"MQTT";
/// The protocol version byte of MQTT 5.0 (section 3.1.2.2).
pub const PROTOCOL_VERSION: u8 = 5;

pub(crate) const FLAG_RESERVED: u8 = 0b0000_0001;
pub(crate) const FLAG_CLEAN_START: u8 = 0b0000_0010;
pub(crate) const FLAG_WILL: u8 = 0b0000_0100;
pub(crate) const FLAG_WILL_RETAIN: u8 = 0b0010_0000;
pub(crate) const FLAG_PASSWORD: u8 = 0b0100_0000;
pub(crate) const FLAG_USERNAME: u8 = 0b1000_0000;

/// A complete, validated MQTT 5.0 fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FixedHeader {
    /// The packet type (flags already checked against section 2.1.3).
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
    /// the fixed header is complete; `None` while the fixed header itself is incomplete.
    Incomplete {
        /// Bytes still missing, when known.
        needed: Option<NonZeroUsize>,
    },
    /// A whole packet is buffered: its first [`FixedHeader::total_len`] bytes.
    Complete(FixedHeader),
}

/// An incremental MQTT 5.0 decoder, the 5.0 twin of [`crate::Decoder`]: it holds only
/// configuration, is given the bytes received so far starting at a packet boundary, answers
/// `Ok(None)` while more bytes are needed, and refuses malformed input at the first byte that
/// proves it (the first byte on its own, a remaining length above the maximum before the body,
/// and the part of the body that has arrived: a PUBLISH topic and properties before the
/// payload, say).
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
    /// [`DecodeError::PacketTooLarge`] (capped at [`MAX_REMAINING_LENGTH`]). To enforce a
    /// Maximum Packet Size (section 3.1.2.11.4), subtract the fixed header's size.
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
    /// Errors as soon as the buffered bytes prove the fixed header malformed; the body is not
    /// looked at.
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

    #[inline]
    fn header(&self, buf: &[u8]) -> Result<Option<FixedHeader>, DecodeError> {
        let Some((&first, rest)) = buf.split_first() else {
            return Ok(None);
        };
        let packet_type = PacketType::from_first_byte(first)?;
        let (remaining_length, n) = match rest {
            [] => return Ok(None),
            [b, ..] if b & 0x80 == 0 => (u32::from(*b), 1),
            // Two bytes (128 to 16,383), the usual size of a PUBLISH: the second byte is
            // neither a continuation nor a 0 (which would not be the shortest encoding).
            [b1, b2, ..] if b2.wrapping_sub(1) < 0x7F => {
                (u32::from(b1 & 0x7F) | u32::from(*b2) << 7, 2)
            }
            _ => match long_remaining_length(rest)? {
                Some(v) => v,
                None => return Ok(None),
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
            header_len: 1 + n,
        }))
    }

    /// Decode the packet at the start of `buf`, borrowing from it. `Ok(None)` when more bytes
    /// are needed; otherwise the packet and the number of bytes it took.
    #[inline]
    pub fn decode<'a>(&self, buf: &'a [u8]) -> Result<Option<(Packet<'a>, usize)>, DecodeError> {
        let Some(header) = self.header(buf)? else {
            return Ok(None);
        };
        let total = header.total_len();
        match buf.get(header.header_len..total) {
            Some(body) => decode_into(header.packet_type, header.flags, body, true, |p| {
                Some((p, total))
            }),
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
        decode_body(packet_type, header.flags, body, true)
    }
}

/// A remaining length of three or four bytes, or one still arriving: `Ok(None)` while
/// incomplete.
fn long_remaining_length(rest: &[u8]) -> Result<Option<(u32, usize)>, DecodeError> {
    match read_vbi(rest) {
        Ok(v) => Ok(v),
        Err(DecodeError::NonMinimalVariableByteInteger) => Err(DecodeError::MalformedLength),
        Err(_) => Err(DecodeError::RemainingLengthTooLong),
    }
}

impl<'a> Packet<'a> {
    /// Decode the packet at the start of `buf` with [`Decoder::new`]: `Ok(None)` when more
    /// bytes are needed, else the packet and the bytes it took.
    pub fn decode(buf: &'a [u8]) -> Result<Option<(Packet<'a>, usize)>, DecodeError> {
        Decoder::new().decode(buf)
    }
}

/// Sizes no packet of this type can have, refused while only the header is buffered.
#[inline]
fn check_remaining_length(ty: PacketType, flags: u8, rl: u32) -> Result<(), DecodeError> {
    let ok = match ty {
        PacketType::PingReq | PacketType::PingResp => rl == 0,
        // Flags, reason code, Property Length.
        PacketType::ConnAck => rl >= 3,
        // A packet identifier; the reason code and properties may be left out.
        PacketType::PubAck | PacketType::PubRec | PacketType::PubRel | PacketType::PubComp => {
            rl >= 2
        }
        // A packet identifier and a Property Length.
        PacketType::Subscribe
        | PacketType::SubAck
        | PacketType::Unsubscribe
        | PacketType::UnsubAck => rl >= 3,
        // Topic length, packet identifier when QoS > 0, Property Length.
        PacketType::Publish => rl >= if flags & 0b0110 == 0 { 3 } else { 5 },
        PacketType::Connect | PacketType::Disconnect | PacketType::Auth => true,
    };
    if ok {
        Ok(())
    } else {
        Err(DecodeError::MalformedLength)
    }
}

/// Check the part of a body that has arrived: the decoders read in order and decide only from
/// bytes already read (list emptiness aside, which needs the whole body), so an error here is
/// the one the whole packet would give; running out of bytes only means "not yet".
#[cold]
fn check_partial_body(ty: PacketType, flags: u8, partial: &[u8]) -> Result<(), DecodeError> {
    match decode_body(ty, flags, partial, false) {
        Ok(_) | Err(DecodeError::MalformedLength) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A Property Length and the properties it covers, validated for `context`.
#[inline]
fn properties<'a>(
    r: &mut Reader<'a>,
    context: PropertyContext,
) -> Result<Properties<'a>, DecodeError> {
    let (props, n) = Properties::read(r.rest(), context)?;
    r.take(n)?;
    Ok(props)
}

/// Decode a body whose size passed [`check_remaining_length`]. With `complete` false, `body`
/// is the start of a body still arriving: lists may still be empty and bytes may be left.
#[inline]
fn decode_body(
    ty: PacketType,
    flags: u8,
    body: &[u8],
    complete: bool,
) -> Result<Packet<'_>, DecodeError> {
    decode_into(ty, flags, body, complete, |p| p)
}

/// [`decode_body`], handing the packet to `wrap`: PUBLISH and its acknowledgements are decoded
/// here, each packet built where `wrap` puts it (what [`Decoder::decode`] returns), without a
/// copy in between; the other types in [`decode_other`].
#[inline]
fn decode_into<'a, T>(
    ty: PacketType,
    flags: u8,
    body: &'a [u8],
    complete: bool,
    wrap: impl FnOnce(Packet<'a>) -> T,
) -> Result<T, DecodeError> {
    let mut r = Reader::new(body);
    macro_rules! response {
        ($variant:ident, $context:ident) => {{
            let p = decode_response(&mut r, PropertyContext::$context)?;
            if complete {
                r.finish()?;
            }
            Ok(wrap(Packet::$variant(p)))
        }};
    }
    match ty {
        // The payload takes the rest of the body.
        PacketType::Publish => {
            let p = decode_publish(flags, &mut r)?;
            Ok(wrap(Packet::Publish(p)))
        }
        PacketType::PubAck => response!(PubAck, PubAck),
        PacketType::PubRec => response!(PubRec, PubRec),
        PacketType::PubRel => response!(PubRel, PubRel),
        PacketType::PubComp => response!(PubComp, PubComp),
        _ => decode_other(ty, flags, body, complete).map(wrap),
    }
}

/// [`decode_body`] for the packet types other than PUBLISH and its acknowledgements.
fn decode_other(
    ty: PacketType,
    flags: u8,
    body: &[u8],
    complete: bool,
) -> Result<Packet<'_>, DecodeError> {
    let mut r = Reader::new(body);
    let packet = match ty {
        PacketType::Publish
        | PacketType::PubAck
        | PacketType::PubRec
        | PacketType::PubRel
        | PacketType::PubComp => return decode_body(ty, flags, body, complete),
        PacketType::Connect => Packet::Connect(decode_connect(&mut r)?),
        PacketType::ConnAck => Packet::ConnAck(decode_connack(&mut r)?),
        PacketType::Subscribe => Packet::Subscribe(decode_subscribe(&mut r, complete)?),
        PacketType::SubAck => {
            let (packet_id, properties, reason_codes) =
                decode_codes(&mut r, PropertyContext::SubAck, complete)?;
            Packet::SubAck(SubAck {
                packet_id,
                properties,
                reason_codes,
            })
        }
        PacketType::Unsubscribe => Packet::Unsubscribe(decode_unsubscribe(&mut r, complete)?),
        PacketType::UnsubAck => {
            let (packet_id, properties, reason_codes) =
                decode_codes(&mut r, PropertyContext::UnsubAck, complete)?;
            Packet::UnsubAck(UnsubAck {
                packet_id,
                properties,
                reason_codes,
            })
        }
        PacketType::PingReq => Packet::PingReq,
        PacketType::PingResp => Packet::PingResp,
        PacketType::Disconnect => {
            let (reason_code, properties) =
                decode_tail::<DisconnectReasonCode>(&mut r, PropertyContext::Disconnect)?;
            Packet::Disconnect(Disconnect {
                reason_code,
                properties,
            })
        }
        PacketType::Auth => {
            let (reason_code, properties) =
                decode_tail::<AuthReasonCode>(&mut r, PropertyContext::Auth)?;
            Packet::Auth(Auth {
                reason_code,
                properties,
            })
        }
    };
    if complete {
        r.finish()?;
    }
    Ok(packet)
}

/// PUBLISH (section 3.3): topic, packet identifier for QoS 1/2, properties; the payload is
/// borrowed as it is.
#[inline]
fn decode_publish<'a>(flags: u8, r: &mut Reader<'a>) -> Result<Publish<'a>, DecodeError> {
    let topic = r.binary()?;
    let topic = if topic.is_empty() {
        None
    } else {
        Some(TopicName::from_wire(topic)?)
    };
    let qos_pid = match QoS::from_u8((flags >> 1) & 0b11)? {
        QoS::AtMostOnce => QosPid::AtMostOnce,
        QoS::AtLeastOnce => QosPid::AtLeastOnce(r.packet_id()?),
        QoS::ExactlyOnce => QosPid::ExactlyOnce(r.packet_id()?),
    };
    let properties = properties(r, PropertyContext::Publish)?;
    // A zero-length topic name needs a Topic Alias (section 3.3.2.3.4).
    if topic.is_none() && !properties.contains(PropertyId::TopicAlias) {
        return Err(DecodeError::EmptyTopicWithoutAlias);
    }
    let payload = r.take(r.rest().len())?;
    Ok(Publish {
        dup: flags & 0b1000 != 0,
        qos_pid,
        retain: flags & 0b0001 != 0,
        topic,
        properties,
        payload,
    })
}

/// PUBACK, PUBREC, PUBREL, PUBCOMP (sections 3.4 to 3.7): a remaining length of 2 means reason
/// code 0x00 and no properties; below 4, no properties.
fn decode_response<'a, R: ReasonCode>(
    r: &mut Reader<'a>,
    context: PropertyContext,
) -> Result<PubResponse<'a, R>, DecodeError> {
    let packet_id = r.packet_id()?;
    let (reason_code, properties) = decode_tail(r, context)?;
    Ok(PubResponse {
        packet_id,
        reason_code,
        properties,
    })
}

/// An optional reason code and optional properties: nothing left means 0x00 and none
/// (sections 3.4.2.1, 3.14.2.1, 3.15.2.1). The code is checked before the properties are read.
fn decode_tail<'a, R: ReasonCode>(
    r: &mut Reader<'a>,
    context: PropertyContext,
) -> Result<(R, Properties<'a>), DecodeError> {
    if r.is_empty() {
        return Ok((R::from_byte(0).ok_or(R::INVALID)?, Properties::EMPTY));
    }
    let code = R::from_byte(r.u8()?).ok_or(R::INVALID)?;
    if r.is_empty() {
        return Ok((code, Properties::EMPTY));
    }
    Ok((code, properties(r, context)?))
}

/// SUBACK and UNSUBACK (sections 3.9, 3.11): packet identifier, properties, at least one
/// reason code.
fn decode_codes<'a, R: ReasonCode>(
    r: &mut Reader<'a>,
    context: PropertyContext,
    complete: bool,
) -> Result<(PacketId, Properties<'a>, ReasonCodes<'a, R>), DecodeError> {
    let packet_id = r.packet_id()?;
    let properties = properties(r, context)?;
    let rest = r.rest();
    if !complete && rest.is_empty() {
        return Err(DecodeError::MalformedLength);
    }
    let codes = ReasonCodes::new(rest)?;
    r.take(rest.len())?;
    Ok((packet_id, properties, codes))
}

/// CONNECT (section 3.1).
fn decode_connect<'a>(r: &mut Reader<'a>) -> Result<Connect<'a>, DecodeError> {
    if r.binary()? != PROTOCOL_NAME {
        return Err(DecodeError::InvalidProtocolName);
    }
    if r.u8()? != PROTOCOL_VERSION {
        return Err(DecodeError::ProtocolVersionNot5);
    }
    let flags = r.u8()?;
    if flags & FLAG_RESERVED != 0 {
        return Err(DecodeError::ConnectReservedFlag);
    }
    let will_flag = flags & FLAG_WILL != 0;
    let will_qos = (flags >> 3) & 0b11;
    let will_retain = flags & FLAG_WILL_RETAIN != 0;
    if !will_flag && (will_qos != 0 || will_retain) {
        return Err(DecodeError::InvalidWillFlags);
    }
    let will_qos = QoS::from_u8(will_qos).map_err(|_| DecodeError::InvalidWillFlags)?;
    let keep_alive = r.u16()?;
    let props = properties(r, PropertyContext::Connect)?;
    let client_id = r.string()?;
    let will = if will_flag {
        let properties = properties(r, PropertyContext::Will)?;
        let topic = TopicName::from_wire(r.binary()?)?;
        let payload = r.binary()?;
        Some(Will {
            properties,
            topic,
            payload,
            qos: will_qos,
            retain: will_retain,
        })
    } else {
        None
    };
    let username = if flags & FLAG_USERNAME != 0 {
        Some(r.string()?)
    } else {
        None
    };
    let password = if flags & FLAG_PASSWORD != 0 {
        Some(r.binary()?)
    } else {
        None
    };
    Ok(Connect {
        clean_start: flags & FLAG_CLEAN_START != 0,
        keep_alive,
        properties: props,
        client_id,
        will,
        username,
        password,
    })
}

/// CONNACK (section 3.2).
fn decode_connack<'a>(r: &mut Reader<'a>) -> Result<ConnAck<'a>, DecodeError> {
    let flags = r.u8()?;
    if flags & 0xFE != 0 {
        return Err(DecodeError::ConnAckReservedBits);
    }
    let reason_code = ConnectReasonCode::from_u8(r.u8()?)?;
    let session_present = flags & 1 != 0;
    if session_present && reason_code != ConnectReasonCode::Success {
        return Err(DecodeError::ConnAckSessionPresentWithError);
    }
    Ok(ConnAck {
        session_present,
        reason_code,
        properties: properties(r, PropertyContext::ConnAck)?,
    })
}

/// SUBSCRIBE (section 3.8): packet identifier, properties, at least one (filter, options)
/// [MQTT-3.8.3-2]. Every pair is validated now, so iterating the result cannot fail.
fn decode_subscribe<'a>(r: &mut Reader<'a>, complete: bool) -> Result<Subscribe<'a>, DecodeError> {
    let packet_id = r.packet_id()?;
    let properties = properties(r, PropertyContext::Subscribe)?;
    let payload = r.rest();
    if r.is_empty() {
        return Err(if complete {
            DecodeError::EmptySubscribe
        } else {
            DecodeError::MalformedLength
        });
    }
    while !r.is_empty() {
        let filter = TopicFilter::from_wire(r.binary()?)?;
        let options = SubscriptionOptions::from_u8(r.u8()?)?;
        check_subscription(filter, options)?;
    }
    Ok(Subscribe {
        packet_id,
        properties,
        filters: SubscribeFilters::from_wire(payload),
    })
}

/// UNSUBSCRIBE (section 3.10): packet identifier, properties, at least one filter
/// [MQTT-3.10.3-2].
fn decode_unsubscribe<'a>(
    r: &mut Reader<'a>,
    complete: bool,
) -> Result<Unsubscribe<'a>, DecodeError> {
    let packet_id = r.packet_id()?;
    let properties = properties(r, PropertyContext::Unsubscribe)?;
    let payload = r.rest();
    if r.is_empty() {
        return Err(if complete {
            DecodeError::EmptyUnsubscribe
        } else {
            DecodeError::MalformedLength
        });
    }
    while !r.is_empty() {
        TopicFilter::from_wire(r.binary()?)?;
    }
    Ok(Unsubscribe {
        packet_id,
        properties,
        filters: TopicFilters::from_wire(payload),
    })
}
