//! MQTT 5.0 properties (section 2.2.2): the 27 identifiers with their data types and the
//! packets each may appear in, a validated zero-copy view over the wire bytes, and encoding.
use core::fmt;

use crate::encode::{Writer, remaining_length_len};
use crate::topic::{MAX_STRING_LEN, check_encode_str, check_nul};
use crate::{DecodeError, EncodeError, QoS, TopicName};

/// The largest value of a Variable Byte Integer (section 1.5.5): 268,435,455.
pub const MAX_VARIABLE_BYTE_INTEGER: u32 = 268_435_455;

/// The data type of a property's value (sections 1.5 and 2.2.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PropertyType {
    /// One byte.
    Byte,
    /// Two Byte Integer, big-endian (section 1.5.2).
    TwoByteInteger,
    /// Four Byte Integer, big-endian (section 1.5.3).
    FourByteInteger,
    /// Variable Byte Integer (section 1.5.5).
    VariableByteInteger,
    /// UTF-8 Encoded String (section 1.5.4).
    Utf8String,
    /// UTF-8 String Pair (section 1.5.7).
    Utf8StringPair,
    /// Binary Data (section 1.5.6).
    BinaryData,
}

/// Where a property list appears: one of the packet types that carry properties, or the Will
/// Properties in a CONNECT payload (section 3.1.3.2). PINGREQ and PINGRESP carry none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PropertyContext {
    /// CONNECT (section 3.1.2.11).
    Connect,
    /// The Will Properties of CONNECT (section 3.1.3.2).
    Will,
    /// CONNACK (section 3.2.2.3).
    ConnAck,
    /// PUBLISH (section 3.3.2.3).
    Publish,
    /// PUBACK (section 3.4.2.2).
    PubAck,
    /// PUBREC (section 3.5.2.2).
    PubRec,
    /// PUBREL (section 3.6.2.2).
    PubRel,
    /// PUBCOMP (section 3.7.2.2).
    PubComp,
    /// SUBSCRIBE (section 3.8.2.1).
    Subscribe,
    /// SUBACK (section 3.9.2.1).
    SubAck,
    /// UNSUBSCRIBE (section 3.10.2.1).
    Unsubscribe,
    /// UNSUBACK (section 3.11.2.1).
    UnsubAck,
    /// DISCONNECT (section 3.14.2.2).
    Disconnect,
    /// AUTH (section 3.15.2.2).
    Auth,
}

impl PropertyContext {
    /// All 14 contexts.
    pub const ALL: [PropertyContext; 14] = [
        PropertyContext::Connect,
        PropertyContext::Will,
        PropertyContext::ConnAck,
        PropertyContext::Publish,
        PropertyContext::PubAck,
        PropertyContext::PubRec,
        PropertyContext::PubRel,
        PropertyContext::PubComp,
        PropertyContext::Subscribe,
        PropertyContext::SubAck,
        PropertyContext::Unsubscribe,
        PropertyContext::UnsubAck,
        PropertyContext::Disconnect,
        PropertyContext::Auth,
    ];

    const fn bit(self) -> u16 {
        1 << self as u8
    }
}

// Context bits for the table of section 2.2.2.2.
const CONNECT: u16 = PropertyContext::Connect.bit();
const WILL: u16 = PropertyContext::Will.bit();
const CONNACK: u16 = PropertyContext::ConnAck.bit();
const PUBLISH: u16 = PropertyContext::Publish.bit();
const PUBACK: u16 = PropertyContext::PubAck.bit();
const PUBREC: u16 = PropertyContext::PubRec.bit();
const PUBREL: u16 = PropertyContext::PubRel.bit();
const PUBCOMP: u16 = PropertyContext::PubComp.bit();
const SUBSCRIBE: u16 = PropertyContext::Subscribe.bit();
const SUBACK: u16 = PropertyContext::SubAck.bit();
const UNSUBSCRIBE: u16 = PropertyContext::Unsubscribe.bit();
const UNSUBACK: u16 = PropertyContext::UnsubAck.bit();
const DISCONNECT: u16 = PropertyContext::Disconnect.bit();
const AUTH: u16 = PropertyContext::Auth.bit();

/// The 27 property identifiers of section 2.2.2.2.
///
/// The identifier is a Variable Byte Integer on the wire; every identifier MQTT 5.0 defines
/// fits in one byte, so a first byte of 0x80 or more is an unknown identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum PropertyId {
    /// 0x01 Payload Format Indicator: byte, PUBLISH, Will Properties.
    PayloadFormatIndicator = 0x01,
    /// 0x02 Message Expiry Interval: four byte integer, PUBLISH, Will Properties.
    MessageExpiryInterval = 0x02,
    /// 0x03 Content Type: UTF-8 string, PUBLISH, Will Properties.
    ContentType = 0x03,
    /// 0x08 Response Topic: UTF-8 string, PUBLISH, Will Properties.
    ResponseTopic = 0x08,
    /// 0x09 Correlation Data: binary data, PUBLISH, Will Properties.
    CorrelationData = 0x09,
    /// 0x0B Subscription Identifier: variable byte integer, PUBLISH, SUBSCRIBE.
    SubscriptionIdentifier = 0x0B,
    /// 0x11 Session Expiry Interval: four byte integer, CONNECT, CONNACK, DISCONNECT.
    SessionExpiryInterval = 0x11,
    /// 0x12 Assigned Client Identifier: UTF-8 string, CONNACK.
    AssignedClientIdentifier = 0x12,
    /// 0x13 Server Keep Alive: two byte integer, CONNACK.
    ServerKeepAlive = 0x13,
    /// 0x15 Authentication Method: UTF-8 string, CONNECT, CONNACK, AUTH.
    AuthenticationMethod = 0x15,
    /// 0x16 Authentication Data: binary data, CONNECT, CONNACK, AUTH.
    AuthenticationData = 0x16,
    /// 0x17 Request Problem Information: byte, CONNECT.
    RequestProblemInformation = 0x17,
    /// 0x18 Will Delay Interval: four byte integer, Will Properties.
    WillDelayInterval = 0x18,
    /// 0x19 Request Response Information: byte, CONNECT.
    RequestResponseInformation = 0x19,
    /// 0x1A Response Information: UTF-8 string, CONNACK.
    ResponseInformation = 0x1A,
    /// 0x1C Server Reference: UTF-8 string, CONNACK, DISCONNECT.
    ServerReference = 0x1C,
    /// 0x1F Reason String: UTF-8 string, CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK,
    /// UNSUBACK, DISCONNECT, AUTH.
    ReasonString = 0x1F,
    /// 0x21 Receive Maximum: two byte integer, CONNECT, CONNACK.
    ReceiveMaximum = 0x21,
    /// 0x22 Topic Alias Maximum: two byte integer, CONNECT, CONNACK.
    TopicAliasMaximum = 0x22,
    /// 0x23 Topic Alias: two byte integer, PUBLISH.
    TopicAlias = 0x23,
    /// 0x24 Maximum QoS: byte, CONNACK.
    MaximumQoS = 0x24,
    /// 0x25 Retain Available: byte, CONNACK.
    RetainAvailable = 0x25,
    /// 0x26 User Property: UTF-8 string pair, every packet with properties and the Will
    /// Properties; may repeat.
    UserProperty = 0x26,
    /// 0x27 Maximum Packet Size: four byte integer, CONNECT, CONNACK.
    MaximumPacketSize = 0x27,
    /// 0x28 Wildcard Subscription Available: byte, CONNACK.
    WildcardSubscriptionAvailable = 0x28,
    /// 0x29 Subscription Identifier Available: byte, CONNACK.
    SubscriptionIdentifierAvailable = 0x29,
    /// 0x2A Shared Subscription Available: byte, CONNACK.
    SharedSubscriptionAvailable = 0x2A,
}

impl PropertyId {
    /// All 27 identifiers, in numeric order.
    pub const ALL: [PropertyId; 27] = [
        PropertyId::PayloadFormatIndicator,
        PropertyId::MessageExpiryInterval,
        PropertyId::ContentType,
        PropertyId::ResponseTopic,
        PropertyId::CorrelationData,
        PropertyId::SubscriptionIdentifier,
        PropertyId::SessionExpiryInterval,
        PropertyId::AssignedClientIdentifier,
        PropertyId::ServerKeepAlive,
        PropertyId::AuthenticationMethod,
        PropertyId::AuthenticationData,
        PropertyId::RequestProblemInformation,
        PropertyId::WillDelayInterval,
        PropertyId::RequestResponseInformation,
        PropertyId::ResponseInformation,
        PropertyId::ServerReference,
        PropertyId::ReasonString,
        PropertyId::ReceiveMaximum,
        PropertyId::TopicAliasMaximum,
        PropertyId::TopicAlias,
        PropertyId::MaximumQoS,
        PropertyId::RetainAvailable,
        PropertyId::UserProperty,
        PropertyId::MaximumPacketSize,
        PropertyId::WildcardSubscriptionAvailable,
        PropertyId::SubscriptionIdentifierAvailable,
        PropertyId::SharedSubscriptionAvailable,
    ];

    /// The identifier from its byte; `None` for a byte section 2.2.2.2 does not define.
    pub const fn from_u8(id: u8) -> Option<Self> {
        Some(match id {
            0x01 => PropertyId::PayloadFormatIndicator,
            0x02 => PropertyId::MessageExpiryInterval,
            0x03 => PropertyId::ContentType,
            0x08 => PropertyId::ResponseTopic,
            0x09 => PropertyId::CorrelationData,
            0x0B => PropertyId::SubscriptionIdentifier,
            0x11 => PropertyId::SessionExpiryInterval,
            0x12 => PropertyId::AssignedClientIdentifier,
            0x13 => PropertyId::ServerKeepAlive,
            0x15 => PropertyId::AuthenticationMethod,
            0x16 => PropertyId::AuthenticationData,
            0x17 => PropertyId::RequestProblemInformation,
            0x18 => PropertyId::WillDelayInterval,
            0x19 => PropertyId::RequestResponseInformation,
            0x1A => PropertyId::ResponseInformation,
            0x1C => PropertyId::ServerReference,
            0x1F => PropertyId::ReasonString,
            0x21 => PropertyId::ReceiveMaximum,
            0x22 => PropertyId::TopicAliasMaximum,
            0x23 => PropertyId::TopicAlias,
            0x24 => PropertyId::MaximumQoS,
            0x25 => PropertyId::RetainAvailable,
            0x26 => PropertyId::UserProperty,
            0x27 => PropertyId::MaximumPacketSize,
            0x28 => PropertyId::WildcardSubscriptionAvailable,
            0x29 => PropertyId::SubscriptionIdentifierAvailable,
            0x2A => PropertyId::SharedSubscriptionAvailable,
            _ => return None,
        })
    }

    /// The identifier's byte.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// The identifier's bit in a set of identifiers (one bit for each of the 27, in the order
    /// of [`PropertyId::ALL`]).
    #[inline]
    const fn bit(self) -> u32 {
        1 << INDEX[self as usize]
    }

    /// The data type of the property's value.
    pub const fn property_type(self) -> PropertyType {
        match self {
            PropertyId::PayloadFormatIndicator
            | PropertyId::RequestProblemInformation
            | PropertyId::RequestResponseInformation
            | PropertyId::MaximumQoS
            | PropertyId::RetainAvailable
            | PropertyId::WildcardSubscriptionAvailable
            | PropertyId::SubscriptionIdentifierAvailable
            | PropertyId::SharedSubscriptionAvailable => PropertyType::Byte,
            PropertyId::ServerKeepAlive
            | PropertyId::ReceiveMaximum
            | PropertyId::TopicAliasMaximum
            | PropertyId::TopicAlias => PropertyType::TwoByteInteger,
            PropertyId::MessageExpiryInterval
            | PropertyId::SessionExpiryInterval
            | PropertyId::WillDelayInterval
            | PropertyId::MaximumPacketSize => PropertyType::FourByteInteger,
            PropertyId::SubscriptionIdentifier => PropertyType::VariableByteInteger,
            PropertyId::ContentType
            | PropertyId::ResponseTopic
            | PropertyId::AssignedClientIdentifier
            | PropertyId::AuthenticationMethod
            | PropertyId::ResponseInformation
            | PropertyId::ServerReference
            | PropertyId::ReasonString => PropertyType::Utf8String,
            PropertyId::CorrelationData | PropertyId::AuthenticationData => {
                PropertyType::BinaryData
            }
            PropertyId::UserProperty => PropertyType::Utf8StringPair,
        }
    }

    /// The contexts of section 2.2.2.2's table, as bits of [`PropertyContext`].
    const fn contexts(self) -> u16 {
        match self {
            PropertyId::PayloadFormatIndicator
            | PropertyId::MessageExpiryInterval
            | PropertyId::ContentType
            | PropertyId::ResponseTopic
            | PropertyId::CorrelationData => PUBLISH | WILL,
            PropertyId::SubscriptionIdentifier => PUBLISH | SUBSCRIBE,
            PropertyId::SessionExpiryInterval => CONNECT | CONNACK | DISCONNECT,
            PropertyId::AssignedClientIdentifier
            | PropertyId::ServerKeepAlive
            | PropertyId::ResponseInformation
            | PropertyId::MaximumQoS
            | PropertyId::RetainAvailable
            | PropertyId::WildcardSubscriptionAvailable
            | PropertyId::SubscriptionIdentifierAvailable
            | PropertyId::SharedSubscriptionAvailable => CONNACK,
            PropertyId::AuthenticationMethod | PropertyId::AuthenticationData => {
                CONNECT | CONNACK | AUTH
            }
            PropertyId::RequestProblemInformation | PropertyId::RequestResponseInformation => {
                CONNECT
            }
            PropertyId::WillDelayInterval => WILL,
            PropertyId::ServerReference => CONNACK | DISCONNECT,
            PropertyId::ReasonString => {
                CONNACK | PUBACK | PUBREC | PUBREL | PUBCOMP | SUBACK | UNSUBACK | DISCONNECT | AUTH
            }
            PropertyId::ReceiveMaximum
            | PropertyId::TopicAliasMaximum
            | PropertyId::MaximumPacketSize => CONNECT | CONNACK,
            PropertyId::TopicAlias => PUBLISH,
            PropertyId::UserProperty => {
                CONNECT
                    | WILL
                    | CONNACK
                    | PUBLISH
                    | PUBACK
                    | PUBREC
                    | PUBREL
                    | PUBCOMP
                    | SUBSCRIBE
                    | SUBACK
                    | UNSUBSCRIBE
                    | UNSUBACK
                    | DISCONNECT
                    | AUTH
            }
        }
    }

    /// Whether the property may appear in `context` (section 2.2.2.2).
    pub const fn allowed_in(self, context: PropertyContext) -> bool {
        self.contexts() & context.bit() != 0
    }

    /// Whether the property may appear more than once in `context`: User Property anywhere
    /// (section 3.1.2.11.8 and the like), Subscription Identifier in PUBLISH only
    /// (section 3.3.2.3.8). Any other property twice is a Protocol Error.
    pub const fn may_repeat(self, context: PropertyContext) -> bool {
        match self {
            PropertyId::UserProperty => true,
            PropertyId::SubscriptionIdentifier => matches!(context, PropertyContext::Publish),
            _ => false,
        }
    }

    /// The property's name as the spec writes it, e.g. `"Topic Alias"`.
    pub const fn name(self) -> &'static str {
        match self {
            PropertyId::PayloadFormatIndicator => "Payload Format Indicator",
            PropertyId::MessageExpiryInterval => "Message Expiry Interval",
            PropertyId::ContentType => "Content Type",
            PropertyId::ResponseTopic => "Response Topic",
            PropertyId::CorrelationData => "Correlation Data",
            PropertyId::SubscriptionIdentifier => "Subscription Identifier",
            PropertyId::SessionExpiryInterval => "Session Expiry Interval",
            PropertyId::AssignedClientIdentifier => "Assigned Client Identifier",
            PropertyId::ServerKeepAlive => "Server Keep Alive",
            PropertyId::AuthenticationMethod => "Authentication Method",
            PropertyId::AuthenticationData => "Authentication Data",
            PropertyId::RequestProblemInformation => "Request Problem Information",
            PropertyId::WillDelayInterval => "Will Delay Interval",
            PropertyId::RequestResponseInformation => "Request Response Information",
            PropertyId::ResponseInformation => "Response Information",
            PropertyId::ServerReference => "Server Reference",
            PropertyId::ReasonString => "Reason String",
            PropertyId::ReceiveMaximum => "Receive Maximum",
            PropertyId::TopicAliasMaximum => "Topic Alias Maximum",
            PropertyId::TopicAlias => "Topic Alias",
            PropertyId::MaximumQoS => "Maximum QoS",
            PropertyId::RetainAvailable => "Retain Available",
            PropertyId::UserProperty => "User Property",
            PropertyId::MaximumPacketSize => "Maximum Packet Size",
            PropertyId::WildcardSubscriptionAvailable => "Wildcard Subscription Available",
            PropertyId::SubscriptionIdentifierAvailable => "Subscription Identifier Available",
            PropertyId::SharedSubscriptionAvailable => "Shared Subscription Available",
        }
    }
}

impl fmt::Display for PropertyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One property with its value. Decoded strings and binary data borrow from the input.
///
/// Byte properties that the spec restricts to 0 and 1 are `bool`s; Maximum QoS is a [`QoS`]
/// of 0 or 1 (encoding [`QoS::ExactlyOnce`] fails with [`DecodeError::InvalidPropertyByte`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Property<'a> {
    /// 0x01: `true` when the payload is UTF-8 character data, `false` for unspecified bytes.
    PayloadFormatIndicator(bool),
    /// 0x02: lifetime of the message in seconds.
    MessageExpiryInterval(u32),
    /// 0x03: the content type of the payload.
    ContentType(&'a str),
    /// 0x08: the topic name for a response message (no wildcards [MQTT-3.3.2-14]).
    ResponseTopic(TopicName<'a>),
    /// 0x09: correlation data for a request/response exchange.
    CorrelationData(&'a [u8]),
    /// 0x0B: 1 to 268,435,455 (0 is a Protocol Error).
    SubscriptionIdentifier(u32),
    /// 0x11: session expiry interval in seconds.
    SessionExpiryInterval(u32),
    /// 0x12: the client identifier the server assigned.
    AssignedClientIdentifier(&'a str),
    /// 0x13: the keep alive the server wants, in seconds.
    ServerKeepAlive(u16),
    /// 0x15: the name of the extended authentication method.
    AuthenticationMethod(&'a str),
    /// 0x16: authentication data.
    AuthenticationData(&'a [u8]),
    /// 0x17: whether the server may send a Reason String or User Properties on failures.
    RequestProblemInformation(bool),
    /// 0x18: delay before the will is published, in seconds.
    WillDelayInterval(u32),
    /// 0x19: whether the client asks for Response Information in CONNACK.
    RequestResponseInformation(bool),
    /// 0x1A: the basis for response topics.
    ResponseInformation(&'a str),
    /// 0x1C: another server to use.
    ServerReference(&'a str),
    /// 0x1F: a human-readable reason.
    ReasonString(&'a str),
    /// 0x21: 1 to 65,535 QoS 1/2 publications in flight (0 is a Protocol Error).
    ReceiveMaximum(u16),
    /// 0x22: the highest topic alias accepted.
    TopicAliasMaximum(u16),
    /// 0x23: a topic alias, 1 to 65,535 [MQTT-3.3.2-8].
    TopicAlias(u16),
    /// 0x24: the highest QoS the server supports, 0 or 1 (absent means 2).
    MaximumQoS(QoS),
    /// 0x25: whether the server supports retained messages.
    RetainAvailable(bool),
    /// 0x26: a name/value pair; may repeat, order kept.
    UserProperty(&'a str, &'a str),
    /// 0x27: the largest packet accepted, 1 to 4,294,967,295 bytes (0 is a Protocol Error).
    MaximumPacketSize(u32),
    /// 0x28: whether the server supports wildcard subscriptions.
    WildcardSubscriptionAvailable(bool),
    /// 0x29: whether the server supports subscription identifiers.
    SubscriptionIdentifierAvailable(bool),
    /// 0x2A: whether the server supports shared subscriptions.
    SharedSubscriptionAvailable(bool),
}

/// Read a Variable Byte Integer at the start of `buf` (section 1.5.5): `Ok(None)` while
/// incomplete, else the value and the bytes it took. A fifth byte is
/// [`DecodeError::VariableByteIntegerTooLong`]; a last byte of 0 after a continuation byte is
/// [`DecodeError::NonMinimalVariableByteInteger`] [MQTT-1.5.5-1].
pub(crate) fn read_vbi(buf: &[u8]) -> Result<Option<(u32, usize)>, DecodeError> {
    let mut value: u32 = 0;
    for i in 0..4 {
        let Some(&b) = buf.get(i) else {
            return Ok(None);
        };
        value |= u32::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            if b == 0 && i > 0 {
                return Err(DecodeError::NonMinimalVariableByteInteger);
            }
            return Ok(Some((value, i + 1)));
        }
    }
    Err(DecodeError::VariableByteIntegerTooLong)
}

/// A cursor over property bytes: running out is [`DecodeError::MalformedLength`] (a value
/// running past the end of the property list, section 2.2.2.1).
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let (b, rest) = self
            .0
            .split_at_checked(n)
            .ok_or(DecodeError::MalformedLength)?;
        self.0 = rest;
        Ok(b)
    }

    #[inline]
    fn u8(&mut self) -> Result<u8, DecodeError> {
        let (&b, rest) = self.0.split_first().ok_or(DecodeError::MalformedLength)?;
        self.0 = rest;
        Ok(b)
    }

    #[inline]
    fn u16(&mut self) -> Result<u16, DecodeError> {
        let (b, rest) = self
            .0
            .split_first_chunk::<2>()
            .ok_or(DecodeError::MalformedLength)?;
        self.0 = rest;
        Ok(u16::from_be_bytes(*b))
    }

    #[inline]
    fn u32(&mut self) -> Result<u32, DecodeError> {
        let (b, rest) = self
            .0
            .split_first_chunk::<4>()
            .ok_or(DecodeError::MalformedLength)?;
        self.0 = rest;
        Ok(u32::from_be_bytes(*b))
    }

    #[inline]
    fn vbi(&mut self) -> Result<u32, DecodeError> {
        let (v, n) = read_vbi(self.0)?.ok_or(DecodeError::MalformedLength)?;
        self.take(n)?;
        Ok(v)
    }

    #[inline]
    fn binary(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }

    /// A length-prefixed string, checked as UTF-8 [MQTT-1.5.4-1] (U+0000 is the caller's to
    /// check). `list` is the property list the cursor started on, `text` the same list as a
    /// `str` when it is valid UTF-8 as a whole, else empty. In a valid UTF-8 list, a string is
    /// valid UTF-8 on its own exactly when it starts and ends on character boundaries (its
    /// first byte is not a continuation byte, and the character before its end is complete),
    /// so it is sliced out of `text` after two boundary tests instead of being validated again.
    #[inline]
    fn utf8(&mut self, list: &'a [u8], text: &'a str) -> Result<&'a str, DecodeError> {
        let len = usize::from(self.u16()?);
        let start = list.len().saturating_sub(self.0.len());
        let raw = self.take(len)?;
        if text.is_empty() {
            core::str::from_utf8(raw).map_err(|_| DecodeError::InvalidUtf8)
        } else {
            text.get(start..start + len).ok_or(DecodeError::InvalidUtf8)
        }
    }
}

/// Check one property's value (its identifier read and checked already) at the start of `c`:
/// the bytes are there, in the form of the property's type, and the value rules hold: every
/// byte property 0 or 1 (the seven booleans and Maximum QoS), no Topic Alias, Receive Maximum,
/// Maximum Packet Size or Subscription Identifier of 0, Variable Byte Integers in shortest
/// form [MQTT-1.5.5-1], strings valid UTF-8 without U+0000 [MQTT-1.5.4-1, MQTT-1.5.4-2], the
/// Response Topic a valid topic name [MQTT-3.3.2-14]. `list` and `text` as for
/// [`Cursor::utf8`].
#[inline]
fn check_value<'a>(
    id: PropertyId,
    c: &mut Cursor<'a>,
    list: &'a [u8],
    text: &'a str,
) -> Result<(), DecodeError> {
    match id.property_type() {
        PropertyType::Byte => {
            if c.u8()? > 1 {
                return Err(DecodeError::InvalidPropertyByte);
            }
        }
        PropertyType::TwoByteInteger => {
            if c.u16()? == 0 {
                match id {
                    PropertyId::TopicAlias => return Err(DecodeError::ZeroTopicAlias),
                    PropertyId::ReceiveMaximum => return Err(DecodeError::ZeroReceiveMaximum),
                    _ => {}
                }
            }
        }
        PropertyType::FourByteInteger => {
            if c.u32()? == 0 && id == PropertyId::MaximumPacketSize {
                return Err(DecodeError::ZeroMaximumPacketSize);
            }
        }
        // The Subscription Identifier, the one property of this type: 1 to 268,435,455.
        PropertyType::VariableByteInteger => {
            if c.vbi()? == 0 {
                return Err(DecodeError::ZeroSubscriptionIdentifier);
            }
        }
        PropertyType::Utf8String => {
            let s = c.utf8(list, text)?;
            if id == PropertyId::ResponseTopic {
                TopicName::from_wire_str(s)?;
            } else {
                check_nul(s)?;
            }
        }
        PropertyType::Utf8StringPair => {
            check_nul(c.utf8(list, text)?)?;
            check_nul(c.utf8(list, text)?)?;
        }
        PropertyType::BinaryData => {
            c.binary()?;
        }
    }
    Ok(())
}

/// Check the property bytes `list` (without the Property Length) for `context`, property by
/// property in order, so that the error is the one at the first byte that proves a rule broken:
/// the identifier known, allowed in `context` and not a forbidden repeat (checked before its
/// value is read), then the value ([`check_value`]). `text` is `list` as a `str` when it is
/// valid UTF-8 as a whole, else empty. Returns the identifiers present, as bits of
/// [`PropertyId::bit`].
fn check_list<'a>(
    list: &'a [u8],
    text: &'a str,
    context: PropertyContext,
) -> Result<u32, DecodeError> {
    let mut c = Cursor(list);
    let mut seen = Seen::new(context);
    let mut present = 0;
    while let Some((&b, rest)) = c.0.split_first() {
        c.0 = rest;
        let id = seen.check_byte(b)?;
        present |= id.bit();
        check_value(id, &mut c, list, text)?;
    }
    Ok(present)
}

/// Read one property's value from a list that passed [`check_list`]: the value rules are not
/// checked again, and strings come from `text` when the list is valid UTF-8 as a whole (else
/// they are validated as UTF-8 again, the one check that making a `str` in safe code cannot
/// skip). `list` and `text` as for [`Cursor::utf8`].
fn read_validated<'a>(
    id: PropertyId,
    c: &mut Cursor<'a>,
    list: &'a [u8],
    text: &'a str,
) -> Result<Property<'a>, DecodeError> {
    Ok(match id {
        PropertyId::PayloadFormatIndicator => Property::PayloadFormatIndicator(c.u8()? != 0),
        PropertyId::MessageExpiryInterval => Property::MessageExpiryInterval(c.u32()?),
        PropertyId::ContentType => Property::ContentType(c.utf8(list, text)?),
        PropertyId::ResponseTopic => {
            Property::ResponseTopic(TopicName::from_validated(c.utf8(list, text)?))
        }
        PropertyId::CorrelationData => Property::CorrelationData(c.binary()?),
        PropertyId::SubscriptionIdentifier => Property::SubscriptionIdentifier(c.vbi()?),
        PropertyId::SessionExpiryInterval => Property::SessionExpiryInterval(c.u32()?),
        PropertyId::AssignedClientIdentifier => {
            Property::AssignedClientIdentifier(c.utf8(list, text)?)
        }
        PropertyId::ServerKeepAlive => Property::ServerKeepAlive(c.u16()?),
        PropertyId::AuthenticationMethod => Property::AuthenticationMethod(c.utf8(list, text)?),
        PropertyId::AuthenticationData => Property::AuthenticationData(c.binary()?),
        PropertyId::RequestProblemInformation => Property::RequestProblemInformation(c.u8()? != 0),
        PropertyId::WillDelayInterval => Property::WillDelayInterval(c.u32()?),
        PropertyId::RequestResponseInformation => {
            Property::RequestResponseInformation(c.u8()? != 0)
        }
        PropertyId::ResponseInformation => Property::ResponseInformation(c.utf8(list, text)?),
        PropertyId::ServerReference => Property::ServerReference(c.utf8(list, text)?),
        PropertyId::ReasonString => Property::ReasonString(c.utf8(list, text)?),
        PropertyId::ReceiveMaximum => Property::ReceiveMaximum(c.u16()?),
        PropertyId::TopicAliasMaximum => Property::TopicAliasMaximum(c.u16()?),
        PropertyId::TopicAlias => Property::TopicAlias(c.u16()?),
        PropertyId::MaximumQoS => Property::MaximumQoS(if c.u8()? == 0 {
            QoS::AtMostOnce
        } else {
            QoS::AtLeastOnce
        }),
        PropertyId::RetainAvailable => Property::RetainAvailable(c.u8()? != 0),
        PropertyId::UserProperty => {
            let name = c.utf8(list, text)?;
            Property::UserProperty(name, c.utf8(list, text)?)
        }
        PropertyId::MaximumPacketSize => Property::MaximumPacketSize(c.u32()?),
        PropertyId::WildcardSubscriptionAvailable => {
            Property::WildcardSubscriptionAvailable(c.u8()? != 0)
        }
        PropertyId::SubscriptionIdentifierAvailable => {
            Property::SubscriptionIdentifierAvailable(c.u8()? != 0)
        }
        PropertyId::SharedSubscriptionAvailable => {
            Property::SharedSubscriptionAvailable(c.u8()? != 0)
        }
    })
}

/// Step over one property's value in a list that passed [`check_list`], without reading it.
#[inline(always)]
fn skip_value(id: PropertyId, c: &mut Cursor<'_>) -> Result<(), DecodeError> {
    match id.property_type() {
        PropertyType::Byte => c.take(1).map(drop),
        PropertyType::TwoByteInteger => c.take(2).map(drop),
        PropertyType::FourByteInteger => c.take(4).map(drop),
        PropertyType::VariableByteInteger => c.vbi().map(drop),
        PropertyType::Utf8String | PropertyType::BinaryData => c.binary().map(drop),
        PropertyType::Utf8StringPair => {
            c.binary()?;
            c.binary().map(drop)
        }
    }
}

/// Per context (indexed by `PropertyContext as usize`), the identifiers allowed there, as bits
/// `1 << id` (section 2.2.2.2's table).
const ALLOWED: [u64; 14] = context_masks(false);
/// Per context, the identifiers allowed there that may not repeat.
const SINGLE: [u64; 14] = context_masks(true);

const fn context_masks(single_only: bool) -> [u64; 14] {
    let mut masks = [0u64; 14];
    let mut c = 0;
    while c < PropertyContext::ALL.len() {
        let context = PropertyContext::ALL[c];
        let mut i = 0;
        while i < PropertyId::ALL.len() {
            let id = PropertyId::ALL[i];
            if id.allowed_in(context) && !(single_only && id.may_repeat(context)) {
                masks[context as usize] |= 1 << id.as_u8();
            }
            i += 1;
        }
        c += 1;
    }
    masks
}

/// For each identifier byte below 64, its place in [`PropertyId::ALL`] (0 for bytes that are
/// not identifiers).
const INDEX: [u8; 64] = {
    let mut index = [0u8; 64];
    let mut i = 0;
    while i < PropertyId::ALL.len() {
        index[PropertyId::ALL[i].as_u8() as usize] = i as u8;
        i += 1;
    }
    index
};

/// Tracks the identifiers seen in one property list, to refuse repeats.
struct Seen {
    allowed: u64,
    single: u64,
    bits: u64,
}

impl Seen {
    const fn new(context: PropertyContext) -> Self {
        Seen {
            allowed: ALLOWED[context as usize],
            single: SINGLE[context as usize],
            bits: 0,
        }
    }

    /// The identifier byte `b` is a known identifier ([`DecodeError::UnknownProperty`]),
    /// allowed in this context ([`DecodeError::PropertyNotAllowed`]) and not a forbidden
    /// repeat ([`DecodeError::DuplicateProperty`]).
    #[inline]
    fn check_byte(&mut self, b: u8) -> Result<PropertyId, DecodeError> {
        // Every identifier is below 64; the masks hold known identifiers only.
        let bit = 1u64.checked_shl(u32::from(b)).unwrap_or(0);
        if self.allowed & bit == 0 {
            return Err(match PropertyId::from_u8(b) {
                Some(_) => DecodeError::PropertyNotAllowed,
                None => DecodeError::UnknownProperty,
            });
        }
        if self.bits & bit & self.single != 0 {
            return Err(DecodeError::DuplicateProperty);
        }
        self.bits |= bit;
        PropertyId::from_u8(b).ok_or(DecodeError::UnknownProperty)
    }

    /// The identifier is allowed in this context and not a forbidden repeat.
    fn check(&mut self, id: PropertyId) -> Result<(), DecodeError> {
        self.check_byte(id.as_u8()).map(drop)
    }
}

impl<'a> Property<'a> {
    /// The property's identifier.
    pub const fn id(&self) -> PropertyId {
        match self {
            Property::PayloadFormatIndicator(_) => PropertyId::PayloadFormatIndicator,
            Property::MessageExpiryInterval(_) => PropertyId::MessageExpiryInterval,
            Property::ContentType(_) => PropertyId::ContentType,
            Property::ResponseTopic(_) => PropertyId::ResponseTopic,
            Property::CorrelationData(_) => PropertyId::CorrelationData,
            Property::SubscriptionIdentifier(_) => PropertyId::SubscriptionIdentifier,
            Property::SessionExpiryInterval(_) => PropertyId::SessionExpiryInterval,
            Property::AssignedClientIdentifier(_) => PropertyId::AssignedClientIdentifier,
            Property::ServerKeepAlive(_) => PropertyId::ServerKeepAlive,
            Property::AuthenticationMethod(_) => PropertyId::AuthenticationMethod,
            Property::AuthenticationData(_) => PropertyId::AuthenticationData,
            Property::RequestProblemInformation(_) => PropertyId::RequestProblemInformation,
            Property::WillDelayInterval(_) => PropertyId::WillDelayInterval,
            Property::RequestResponseInformation(_) => PropertyId::RequestResponseInformation,
            Property::ResponseInformation(_) => PropertyId::ResponseInformation,
            Property::ServerReference(_) => PropertyId::ServerReference,
            Property::ReasonString(_) => PropertyId::ReasonString,
            Property::ReceiveMaximum(_) => PropertyId::ReceiveMaximum,
            Property::TopicAliasMaximum(_) => PropertyId::TopicAliasMaximum,
            Property::TopicAlias(_) => PropertyId::TopicAlias,
            Property::MaximumQoS(_) => PropertyId::MaximumQoS,
            Property::RetainAvailable(_) => PropertyId::RetainAvailable,
            Property::UserProperty(..) => PropertyId::UserProperty,
            Property::MaximumPacketSize(_) => PropertyId::MaximumPacketSize,
            Property::WildcardSubscriptionAvailable(_) => PropertyId::WildcardSubscriptionAvailable,
            Property::SubscriptionIdentifierAvailable(_) => {
                PropertyId::SubscriptionIdentifierAvailable
            }
            Property::SharedSubscriptionAvailable(_) => PropertyId::SharedSubscriptionAvailable,
        }
    }

    /// Bytes the property takes on the wire: identifier and value.
    pub const fn encoded_len(&self) -> usize {
        1 + match self {
            Property::PayloadFormatIndicator(_)
            | Property::RequestProblemInformation(_)
            | Property::RequestResponseInformation(_)
            | Property::MaximumQoS(_)
            | Property::RetainAvailable(_)
            | Property::WildcardSubscriptionAvailable(_)
            | Property::SubscriptionIdentifierAvailable(_)
            | Property::SharedSubscriptionAvailable(_) => 1,
            Property::ServerKeepAlive(_)
            | Property::ReceiveMaximum(_)
            | Property::TopicAliasMaximum(_)
            | Property::TopicAlias(_) => 2,
            Property::MessageExpiryInterval(_)
            | Property::SessionExpiryInterval(_)
            | Property::WillDelayInterval(_)
            | Property::MaximumPacketSize(_) => 4,
            Property::SubscriptionIdentifier(v) => remaining_length_len(*v as usize),
            Property::ResponseTopic(t) => 2 + t.as_str().len(),
            Property::ContentType(s)
            | Property::AssignedClientIdentifier(s)
            | Property::AuthenticationMethod(s)
            | Property::ResponseInformation(s)
            | Property::ServerReference(s)
            | Property::ReasonString(s) => 2 + s.len(),
            Property::CorrelationData(b) | Property::AuthenticationData(b) => 2 + b.len(),
            Property::UserProperty(k, v) => 4 + k.len() + v.len(),
        }
    }

    /// The value rules every property list must keep, whichever side made it: no Topic Alias,
    /// Subscription Identifier, Receive Maximum or Maximum Packet Size of 0, a Maximum QoS of
    /// 0 or 1, a Subscription Identifier within the Variable Byte Integer range.
    fn check_value(&self) -> Result<(), DecodeError> {
        match *self {
            Property::TopicAlias(0) => Err(DecodeError::ZeroTopicAlias),
            Property::SubscriptionIdentifier(0) => Err(DecodeError::ZeroSubscriptionIdentifier),
            Property::SubscriptionIdentifier(v) if v > MAX_VARIABLE_BYTE_INTEGER => {
                Err(DecodeError::VariableByteIntegerTooLong)
            }
            Property::ReceiveMaximum(0) => Err(DecodeError::ZeroReceiveMaximum),
            Property::MaximumPacketSize(0) => Err(DecodeError::ZeroMaximumPacketSize),
            Property::MaximumQoS(QoS::ExactlyOnce) => Err(DecodeError::InvalidPropertyByte),
            _ => Ok(()),
        }
    }

    /// The string rules for values given to the encoder: at most 65,535 bytes, no U+0000.
    fn check_encode(&self) -> Result<(), DecodeError> {
        self.check_value()?;
        match *self {
            Property::ContentType(s)
            | Property::AssignedClientIdentifier(s)
            | Property::AuthenticationMethod(s)
            | Property::ResponseInformation(s)
            | Property::ServerReference(s)
            | Property::ReasonString(s) => check_encode_str(s),
            Property::UserProperty(k, v) => {
                check_encode_str(k)?;
                check_encode_str(v)
            }
            Property::CorrelationData(b) | Property::AuthenticationData(b)
                if b.len() > MAX_STRING_LEN =>
            {
                Err(DecodeError::StringTooLong)
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>) {
        w.u8(self.id().as_u8());
        match *self {
            Property::PayloadFormatIndicator(b)
            | Property::RequestProblemInformation(b)
            | Property::RequestResponseInformation(b)
            | Property::RetainAvailable(b)
            | Property::WildcardSubscriptionAvailable(b)
            | Property::SubscriptionIdentifierAvailable(b)
            | Property::SharedSubscriptionAvailable(b) => w.u8(u8::from(b)),
            Property::MaximumQoS(q) => w.u8(q.as_u8()),
            Property::ServerKeepAlive(v)
            | Property::ReceiveMaximum(v)
            | Property::TopicAliasMaximum(v)
            | Property::TopicAlias(v) => w.u16(v),
            Property::MessageExpiryInterval(v)
            | Property::SessionExpiryInterval(v)
            | Property::WillDelayInterval(v)
            | Property::MaximumPacketSize(v) => w.bytes(&v.to_be_bytes()),
            Property::SubscriptionIdentifier(v) => w.remaining_length(v as usize),
            Property::ResponseTopic(t) => w.string(t.as_str()),
            Property::ContentType(s)
            | Property::AssignedClientIdentifier(s)
            | Property::AuthenticationMethod(s)
            | Property::ResponseInformation(s)
            | Property::ServerReference(s)
            | Property::ReasonString(s) => w.string(s),
            Property::CorrelationData(b) | Property::AuthenticationData(b) => w.binary(b),
            Property::UserProperty(k, v) => {
                w.string(k);
                w.string(v);
            }
        }
    }
}

/// The error for property bytes cut short by the end of the bytes buffered so far: the first
/// broken rule in what has arrived, else [`DecodeError::MalformedLength`].
#[cold]
fn partial_error(rest: &[u8], context: PropertyContext) -> DecodeError {
    match check_list(rest, "", context) {
        Err(e) => e,
        Ok(_) => DecodeError::MalformedLength,
    }
}

/// A property list: validated wire bytes (decoded) or a caller slice of [`Property`] values
/// (to encode). Getters, iteration, comparison and printing work the same way whichever it
/// holds; two lists are equal when they hold the same properties in the same order.
///
/// A decoded list was checked for its packet when decoded: every identifier known and allowed
/// there, no forbidden repeat, every value well-formed (UTF-8 rules, Variable Byte Integers in
/// shortest form [MQTT-1.5.5-1], booleans 0 or 1, no Topic Alias, Subscription Identifier,
/// Receive Maximum or Maximum Packet Size of 0). A caller list is checked the same way when its
/// packet is encoded.
///
/// A decoded list also knows which identifiers it holds, so a getter for an absent property
/// answers without reading the bytes, and a getter for a present one steps over the other
/// properties without checking them again.
#[derive(Clone, Copy)]
pub struct Properties<'a> {
    repr: Repr<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Repr<'a> {
    /// Validated bytes (without the Property Length) that are not valid UTF-8 as a whole, the
    /// context they were checked for, and the identifiers present (bits of
    /// [`PropertyId::bit`]).
    Wire(&'a [u8], PropertyContext, u32),
    /// Validated bytes that are valid UTF-8 as a whole (small integers, short ASCII strings:
    /// the usual list), the context and the identifiers present: strings are sliced out of it.
    Text(&'a str, PropertyContext, u32),
    List(&'a [Property<'a>]),
}

/// A decoded list as the readers see it: its bytes, the same bytes as a `str` when they are
/// valid UTF-8 as a whole (else empty), and the identifiers present.
struct Wire<'a> {
    bytes: &'a [u8],
    text: &'a str,
    present: u32,
}

/// A value in a decoded list, read the way its getter says: the cursor at the value, the list
/// and its text as for [`Cursor::utf8`]. The list was validated, so only the reading is left.
struct Value<'a> {
    c: Cursor<'a>,
    list: &'a [u8],
    text: &'a str,
}

impl<'a> Value<'a> {
    #[inline]
    fn flag(mut self) -> Option<bool> {
        Some(self.c.u8().ok()? != 0)
    }

    #[inline]
    fn qos(mut self) -> Option<QoS> {
        Some(match self.c.u8().ok()? {
            0 => QoS::AtMostOnce,
            _ => QoS::AtLeastOnce,
        })
    }

    #[inline]
    fn u16(mut self) -> Option<u16> {
        self.c.u16().ok()
    }

    #[inline]
    fn u32(mut self) -> Option<u32> {
        self.c.u32().ok()
    }

    #[inline]
    fn vbi(mut self) -> Option<u32> {
        self.c.vbi().ok()
    }

    #[inline]
    fn string(mut self) -> Option<&'a str> {
        self.c.utf8(self.list, self.text).ok()
    }

    #[inline]
    fn topic(self) -> Option<TopicName<'a>> {
        self.string().map(TopicName::from_validated)
    }

    #[inline]
    fn binary(mut self) -> Option<&'a [u8]> {
        self.c.binary().ok()
    }
}

impl Default for Properties<'_> {
    fn default() -> Self {
        Properties::EMPTY
    }
}

macro_rules! getters {
    ($($(#[$meta:meta])* $name:ident => $variant:ident: $ty:ty = $read:ident;)*) => {
        $(
            $(#[$meta])*
            #[inline]
            pub fn $name(&self) -> Option<$ty> {
                match self.repr {
                    Repr::List(l) => l.iter().find_map(|p| match *p {
                        Property::$variant(v) => Some(v),
                        _ => None,
                    }),
                    _ => self.value_of(PropertyId::$variant)?.$read(),
                }
            }
        )*
    };
}

impl<'a> Properties<'a> {
    /// No properties (a Property Length of 0 [MQTT-2.2.2-1]).
    pub const EMPTY: Properties<'static> = Properties {
        repr: Repr::List(&[]),
    };

    /// A list to encode. It is checked for its packet when the packet is encoded.
    pub const fn new(list: &'a [Property<'a>]) -> Self {
        Properties {
            repr: Repr::List(list),
        }
    }

    /// Validate property bytes (the bytes after the Property Length) for `context`: the
    /// zero-copy view a decoder makes.
    #[inline]
    pub fn from_wire(bytes: &'a [u8], context: PropertyContext) -> Result<Self, DecodeError> {
        // One UTF-8 pass over the whole list first: when it passes, every string in the list
        // is checked by two character-boundary tests instead of a pass of its own, and the
        // getters slice strings out of it. When it fails (a byte of an integer or of binary
        // data that is not UTF-8), each string is validated on its own.
        let repr = match core::str::from_utf8(bytes) {
            Ok(text) => Repr::Text(text, context, check_list(bytes, text, context)?),
            Err(_) => Repr::Wire(bytes, context, check_list(bytes, "", context)?),
        };
        Ok(Properties { repr })
    }

    /// Read a Property Length and the property bytes it covers at the start of `buf`, validated
    /// for `context`. Returns the list and the bytes taken. Bytes running short are
    /// [`DecodeError::MalformedLength`].
    #[inline]
    pub(crate) fn read(
        buf: &'a [u8],
        context: PropertyContext,
    ) -> Result<(Self, usize), DecodeError> {
        let (len, n) = match buf.first() {
            Some(&b) if b < 0x80 => (usize::from(b), 1),
            _ => {
                let (len, n) = read_vbi(buf)?.ok_or(DecodeError::MalformedLength)?;
                (len as usize, n)
            }
        };
        let rest = buf.get(n..).unwrap_or_default();
        match rest.get(..len) {
            Some(bytes) => Ok((Properties::from_wire(bytes, context)?, n + len)),
            None => Err(partial_error(rest, context)),
        }
    }

    /// The decoded list's bytes, text and identifiers; `None` for a caller list.
    #[inline]
    fn wire(&self) -> Option<Wire<'a>> {
        match self.repr {
            Repr::Wire(bytes, _, present) => Some(Wire {
                bytes,
                text: "",
                present,
            }),
            Repr::Text(text, _, present) => Some(Wire {
                bytes: text.as_bytes(),
                text,
                present,
            }),
            Repr::List(_) => None,
        }
    }

    /// The value of the first property with this identifier, in a decoded list.
    #[inline]
    fn value_of(&self, id: PropertyId) -> Option<Value<'a>> {
        let w = self.wire()?;
        if w.present & id.bit() == 0 {
            return None;
        }
        let mut c = Cursor(w.bytes);
        loop {
            let found = PropertyId::from_u8(c.u8().ok()?)?;
            if found == id {
                return Some(Value {
                    c,
                    list: w.bytes,
                    text: w.text,
                });
            }
            skip_value(found, &mut c).ok()?;
        }
    }

    /// The properties, in order.
    pub fn iter(&self) -> PropertiesIter<'a> {
        PropertiesIter {
            repr: match self.wire() {
                Some(w) => IterRepr::Wire {
                    rest: w.bytes,
                    list: w.bytes,
                    text: w.text,
                },
                None => match self.repr {
                    Repr::List(l) => IterRepr::List(l),
                    _ => IterRepr::List(&[]),
                },
            },
        }
    }

    /// An iterator over the list, or an empty one when a decoded list lacks `id`.
    fn iter_if(&self, id: PropertyId) -> PropertiesIter<'a> {
        match self.wire() {
            Some(w) if w.present & id.bit() == 0 => PropertiesIter {
                repr: IterRepr::List(&[]),
            },
            _ => self.iter(),
        }
    }

    /// Whether there are no properties.
    pub fn is_empty(&self) -> bool {
        self.content_len() == 0
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        let Some(w) = self.wire() else {
            return self.iter().count();
        };
        let mut c = Cursor(w.bytes);
        let mut n = 0;
        while let Some(id) = c.u8().ok().and_then(PropertyId::from_u8) {
            if skip_value(id, &mut c).is_err() {
                break;
            }
            n += 1;
        }
        n
    }

    /// The wire bytes (without the Property Length), for a decoded list.
    pub const fn wire_bytes(&self) -> Option<&'a [u8]> {
        match self.repr {
            Repr::Wire(b, _, _) => Some(b),
            Repr::Text(t, _, _) => Some(t.as_bytes()),
            Repr::List(_) => None,
        }
    }

    /// Bytes of the properties without the Property Length in front.
    fn content_len(&self) -> usize {
        match self.repr {
            Repr::Wire(b, _, _) => b.len(),
            Repr::Text(t, _, _) => t.len(),
            Repr::List(l) => l.iter().map(Property::encoded_len).sum(),
        }
    }

    /// Bytes the list takes on the wire: the Property Length and the properties.
    pub fn encoded_len(&self) -> usize {
        let n = self.content_len();
        remaining_length_len(n) + n
    }

    /// Check the list for `context` (as a decoder would, plus the encoder's string limits) and
    /// return [`Properties::encoded_len`].
    pub fn validate(&self, context: PropertyContext) -> Result<usize, DecodeError> {
        match self.repr {
            Repr::Wire(_, ctx, _) | Repr::Text(_, ctx, _) if ctx == context => {}
            Repr::Wire(b, _, _) => {
                check_list(b, "", context)?;
            }
            Repr::Text(t, _, _) => {
                check_list(t.as_bytes(), t, context)?;
            }
            Repr::List(l) => {
                let mut seen = Seen::new(context);
                for p in l {
                    seen.check(p.id())?;
                    p.check_encode()?;
                }
            }
        }
        let n = self.content_len();
        if n > MAX_VARIABLE_BYTE_INTEGER as usize {
            return Err(DecodeError::PacketTooLarge);
        }
        Ok(remaining_length_len(n) + n)
    }

    /// Encode the list (Property Length, then the properties) for `context` into the start of
    /// `buf`, and return the bytes written. Nothing is written on error.
    pub fn encode(&self, context: PropertyContext, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let len = self.validate(context)?;
        let out = buf
            .get_mut(..len)
            .ok_or(EncodeError::BufferTooSmall { required: len })?;
        let mut w = Writer::new(out);
        self.write(&mut w);
        Ok(len)
    }

    /// Write a list that passed [`Properties::validate`].
    pub(crate) fn write(&self, w: &mut Writer<'_>) {
        w.remaining_length(self.content_len());
        match self.repr {
            Repr::Wire(b, _, _) => w.bytes(b),
            Repr::Text(t, _, _) => w.bytes(t.as_bytes()),
            Repr::List(l) => l.iter().for_each(|p| p.write(w)),
        }
    }

    /// Whether a property with this identifier is present.
    #[inline]
    pub fn contains(&self, id: PropertyId) -> bool {
        match self.wire() {
            Some(w) => w.present & id.bit() != 0,
            None => self.iter().any(|p| p.id() == id),
        }
    }

    /// The User Properties (name, value), in order.
    #[inline]
    pub fn user_properties(&self) -> UserProperties<'a> {
        UserProperties(self.iter_if(PropertyId::UserProperty))
    }

    /// The Subscription Identifiers, in order (several in a PUBLISH, at most one in SUBSCRIBE).
    #[inline]
    pub fn subscription_identifiers(&self) -> SubscriptionIdentifiers<'a> {
        SubscriptionIdentifiers(self.iter_if(PropertyId::SubscriptionIdentifier))
    }

    getters! {
        /// 0x01 Payload Format Indicator: `Some(true)` for UTF-8 payloads.
        payload_format_indicator => PayloadFormatIndicator: bool = flag;
        /// 0x02 Message Expiry Interval, seconds.
        message_expiry_interval => MessageExpiryInterval: u32 = u32;
        /// 0x03 Content Type.
        content_type => ContentType: &'a str = string;
        /// 0x08 Response Topic.
        response_topic => ResponseTopic: TopicName<'a> = topic;
        /// 0x09 Correlation Data.
        correlation_data => CorrelationData: &'a [u8] = binary;
        /// 0x0B the first Subscription Identifier; see
        /// [`Properties::subscription_identifiers`] for all.
        subscription_identifier => SubscriptionIdentifier: u32 = vbi;
        /// 0x11 Session Expiry Interval, seconds.
        session_expiry_interval => SessionExpiryInterval: u32 = u32;
        /// 0x12 Assigned Client Identifier.
        assigned_client_identifier => AssignedClientIdentifier: &'a str = string;
        /// 0x13 Server Keep Alive, seconds.
        server_keep_alive => ServerKeepAlive: u16 = u16;
        /// 0x15 Authentication Method.
        authentication_method => AuthenticationMethod: &'a str = string;
        /// 0x16 Authentication Data.
        authentication_data => AuthenticationData: &'a [u8] = binary;
        /// 0x17 Request Problem Information.
        request_problem_information => RequestProblemInformation: bool = flag;
        /// 0x18 Will Delay Interval, seconds.
        will_delay_interval => WillDelayInterval: u32 = u32;
        /// 0x19 Request Response Information.
        request_response_information => RequestResponseInformation: bool = flag;
        /// 0x1A Response Information.
        response_information => ResponseInformation: &'a str = string;
        /// 0x1C Server Reference.
        server_reference => ServerReference: &'a str = string;
        /// 0x1F Reason String.
        reason_string => ReasonString: &'a str = string;
        /// 0x21 Receive Maximum (never 0).
        receive_maximum => ReceiveMaximum: u16 = u16;
        /// 0x22 Topic Alias Maximum.
        topic_alias_maximum => TopicAliasMaximum: u16 = u16;
        /// 0x23 Topic Alias (never 0).
        topic_alias => TopicAlias: u16 = u16;
        /// 0x24 Maximum QoS (0 or 1).
        maximum_qos => MaximumQoS: QoS = qos;
        /// 0x25 Retain Available.
        retain_available => RetainAvailable: bool = flag;
        /// 0x27 Maximum Packet Size (never 0).
        maximum_packet_size => MaximumPacketSize: u32 = u32;
        /// 0x28 Wildcard Subscription Available.
        wildcard_subscription_available => WildcardSubscriptionAvailable: bool = flag;
        /// 0x29 Subscription Identifier Available.
        subscription_identifier_available => SubscriptionIdentifierAvailable: bool = flag;
        /// 0x2A Shared Subscription Available.
        shared_subscription_available => SharedSubscriptionAvailable: bool = flag;
    }
}

impl<'a> From<&'a [Property<'a>]> for Properties<'a> {
    fn from(list: &'a [Property<'a>]) -> Self {
        Properties::new(list)
    }
}

impl<'a, const N: usize> From<&'a [Property<'a>; N]> for Properties<'a> {
    fn from(list: &'a [Property<'a>; N]) -> Self {
        Properties::new(list)
    }
}

impl PartialEq for Properties<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Properties<'_> {}

impl fmt::Debug for Properties<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for Properties<'a> {
    type Item = Property<'a>;
    type IntoIter = PropertiesIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a> IntoIterator for &Properties<'a> {
    type Item = Property<'a>;
    type IntoIter = PropertiesIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over a property list.
#[derive(Debug, Clone)]
pub struct PropertiesIter<'a> {
    repr: IterRepr<'a>,
}

#[derive(Debug, Clone)]
enum IterRepr<'a> {
    List(&'a [Property<'a>]),
    /// A decoded list: the bytes not read yet, the whole list, and the list as a `str` when it
    /// is valid UTF-8 as a whole (else empty).
    Wire {
        rest: &'a [u8],
        list: &'a [u8],
        text: &'a str,
    },
}

impl<'a> Iterator for PropertiesIter<'a> {
    type Item = Property<'a>;
    fn next(&mut self) -> Option<Property<'a>> {
        match &mut self.repr {
            IterRepr::List(l) => {
                let (first, rest) = l.split_first()?;
                *l = rest;
                Some(*first)
            }
            IterRepr::Wire { rest, list, text } => {
                // The bytes were validated when the list was made; an error would end the
                // iteration.
                let mut c = Cursor(rest);
                let id = PropertyId::from_u8(c.u8().ok()?)?;
                let p = read_validated(id, &mut c, list, text).ok()?;
                *rest = c.0;
                Some(p)
            }
        }
    }
}

/// Iterator over the User Properties (name, value) of a list, in order.
#[derive(Debug, Clone)]
pub struct UserProperties<'a>(PropertiesIter<'a>);

impl<'a> Iterator for UserProperties<'a> {
    type Item = (&'a str, &'a str);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0.repr {
            IterRepr::List(l) => loop {
                let (p, tail) = l.split_first()?;
                *l = tail;
                if let Property::UserProperty(k, v) = *p {
                    return Some((k, v));
                }
            },
            IterRepr::Wire { rest, list, text } => {
                // Validated when the list was made: an error would end the iteration.
                let mut c = Cursor(rest);
                loop {
                    let id = PropertyId::from_u8(c.u8().ok()?)?;
                    if id == PropertyId::UserProperty {
                        let name = c.utf8(list, text).ok()?;
                        let value = c.utf8(list, text).ok()?;
                        *rest = c.0;
                        return Some((name, value));
                    }
                    skip_value(id, &mut c).ok()?;
                    *rest = c.0;
                }
            }
        }
    }
}

/// Iterator over the Subscription Identifiers of a list, in order.
#[derive(Debug, Clone)]
pub struct SubscriptionIdentifiers<'a>(PropertiesIter<'a>);

impl Iterator for SubscriptionIdentifiers<'_> {
    type Item = u32;
    #[inline]
    fn next(&mut self) -> Option<u32> {
        match &mut self.0.repr {
            IterRepr::List(l) => loop {
                let (p, tail) = l.split_first()?;
                *l = tail;
                if let Property::SubscriptionIdentifier(v) = *p {
                    return Some(v);
                }
            },
            IterRepr::Wire { rest, .. } => {
                // Validated when the list was made: an error would end the iteration.
                let mut c = Cursor(rest);
                loop {
                    let id = PropertyId::from_u8(c.u8().ok()?)?;
                    if id == PropertyId::SubscriptionIdentifier {
                        let v = c.vbi().ok()?;
                        *rest = c.0;
                        return Some(v);
                    }
                    skip_value(id, &mut c).ok()?;
                    *rest = c.0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn table_has_27_distinct_identifiers_that_round_trip() {
        for (i, id) in PropertyId::ALL.iter().enumerate() {
            assert_eq!(PropertyId::from_u8(id.as_u8()), Some(*id));
            assert!(PropertyId::ALL[..i].iter().all(|other| other != id));
            assert!(PropertyContext::ALL.iter().any(|c| id.allowed_in(*c)));
        }
        let known = (0..=255u8).filter(|b| PropertyId::from_u8(*b).is_some());
        assert_eq!(known.count(), 27);
    }

    #[test]
    fn vbi_forms() {
        assert_eq!(read_vbi(&[0x00]), Ok(Some((0, 1))));
        assert_eq!(read_vbi(&[0x7F]), Ok(Some((127, 1))));
        assert_eq!(read_vbi(&[0x80, 0x01]), Ok(Some((128, 2))));
        assert_eq!(
            read_vbi(&[0xFF, 0xFF, 0xFF, 0x7F]),
            Ok(Some((268_435_455, 4)))
        );
        assert_eq!(read_vbi(&[0x80]), Ok(None));
        assert_eq!(
            read_vbi(&[0x80, 0x00]),
            Err(DecodeError::NonMinimalVariableByteInteger)
        );
        assert_eq!(
            read_vbi(&[0x80, 0x80, 0x80, 0x80, 0x01]),
            Err(DecodeError::VariableByteIntegerTooLong)
        );
    }

    #[test]
    fn read_reports_rules_before_the_end() {
        // Property Length 10, then Topic Alias 0: already wrong with 4 of the 10 bytes.
        assert_eq!(
            Properties::read(&[10, 0x23, 0, 0], PropertyContext::Publish),
            Err(DecodeError::ZeroTopicAlias)
        );
        assert_eq!(
            Properties::read(&[10, 0x23, 0], PropertyContext::Publish),
            Err(DecodeError::MalformedLength)
        );
        let (p, n) = Properties::read(&[3, 0x23, 0, 7, 0xAA], PropertyContext::Publish).unwrap();
        assert_eq!((p.topic_alias(), n), (Some(7), 4));
    }
}
