//! The MQTT 5.0 packet model. Decoded packets borrow from the input buffer.
use core::fmt;

use super::properties::{Properties, PropertyId};
use super::reason::{
    AuthReasonCode, ConnectReasonCode, DisconnectReasonCode, PubAckReasonCode, PubCompReasonCode,
    PubRecReasonCode, PubRelReasonCode, SubAckReasonCodes, UnsubAckReasonCodes,
};
use crate::{DecodeError, PacketId, QoS, QosPid, TopicFilter, TopicFilters, TopicName};

/// The 15 control packet types of MQTT 5.0 (section 2.1.2): those of 3.1.1 and AUTH.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// 1
    Connect = 1,
    /// 2
    ConnAck = 2,
    /// 3
    Publish = 3,
    /// 4
    PubAck = 4,
    /// 5
    PubRec = 5,
    /// 6
    PubRel = 6,
    /// 7
    PubComp = 7,
    /// 8
    Subscribe = 8,
    /// 9
    SubAck = 9,
    /// 10
    Unsubscribe = 10,
    /// 11
    UnsubAck = 11,
    /// 12
    PingReq = 12,
    /// 13
    PingResp = 13,
    /// 14
    Disconnect = 14,
    /// 15: authentication exchange (new in 5.0).
    Auth = 15,
}

impl PacketType {
    /// Validate a whole first byte: the type (0 is reserved) and the flag bits of section
    /// 2.1.3 [MQTT-2.1.3-1] (PUBREL, SUBSCRIBE, UNSUBSCRIBE need 0b0010 [MQTT-3.6.1-1,
    /// MQTT-3.8.1-1, MQTT-3.10.1-1], AUTH 0 [MQTT-3.15.1-1]; PUBLISH QoS 3 [MQTT-3.3.1-4] and
    /// DUP with QoS 0 [MQTT-3.3.1-2] are refused).
    #[inline]
    pub const fn from_first_byte(byte: u8) -> Result<PacketType, DecodeError> {
        if byte >> 4 == 15 {
            return if byte & 0x0F == 0 {
                Ok(PacketType::Auth)
            } else {
                Err(DecodeError::InvalidFlags)
            };
        }
        match crate::PacketType::from_first_byte(byte) {
            Ok(t) => Ok(PacketType::from_v3(t)),
            Err(e) => Err(e),
        }
    }

    const fn from_v3(t: crate::PacketType) -> Self {
        match t {
            crate::PacketType::Connect => PacketType::Connect,
            crate::PacketType::ConnAck => PacketType::ConnAck,
            crate::PacketType::Publish => PacketType::Publish,
            crate::PacketType::PubAck => PacketType::PubAck,
            crate::PacketType::PubRec => PacketType::PubRec,
            crate::PacketType::PubRel => PacketType::PubRel,
            crate::PacketType::PubComp => PacketType::PubComp,
            crate::PacketType::Subscribe => PacketType::Subscribe,
            crate::PacketType::SubAck => PacketType::SubAck,
            crate::PacketType::Unsubscribe => PacketType::Unsubscribe,
            crate::PacketType::UnsubAck => PacketType::UnsubAck,
            crate::PacketType::PingReq => PacketType::PingReq,
            crate::PacketType::PingResp => PacketType::PingResp,
            crate::PacketType::Disconnect => PacketType::Disconnect,
        }
    }

    /// The flag bits this type must carry (section 2.1.3). For PUBLISH, whose flags vary, 0.
    pub const fn fixed_flags(self) -> u8 {
        match self {
            PacketType::PubRel | PacketType::Subscribe | PacketType::Unsubscribe => 0b0010,
            _ => 0,
        }
    }

    /// The packet type's name as the spec writes it, e.g. `"AUTH"`.
    pub const fn name(self) -> &'static str {
        match self {
            PacketType::Connect => "CONNECT",
            PacketType::ConnAck => "CONNACK",
            PacketType::Publish => "PUBLISH",
            PacketType::PubAck => "PUBACK",
            PacketType::PubRec => "PUBREC",
            PacketType::PubRel => "PUBREL",
            PacketType::PubComp => "PUBCOMP",
            PacketType::Subscribe => "SUBSCRIBE",
            PacketType::SubAck => "SUBACK",
            PacketType::Unsubscribe => "UNSUBSCRIBE",
            PacketType::UnsubAck => "UNSUBACK",
            PacketType::PingReq => "PINGREQ",
            PacketType::PingResp => "PINGRESP",
            PacketType::Disconnect => "DISCONNECT",
            PacketType::Auth => "AUTH",
        }
    }
}

impl fmt::Display for PacketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Any MQTT 5.0 control packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    /// CONNECT
    Connect(Connect<'a>),
    /// CONNACK
    ConnAck(ConnAck<'a>),
    /// PUBLISH
    Publish(Publish<'a>),
    /// PUBACK
    PubAck(PubAck<'a>),
    /// PUBREC
    PubRec(PubRec<'a>),
    /// PUBREL
    PubRel(PubRel<'a>),
    /// PUBCOMP
    PubComp(PubComp<'a>),
    /// SUBSCRIBE
    Subscribe(Subscribe<'a>),
    /// SUBACK
    SubAck(SubAck<'a>),
    /// UNSUBSCRIBE
    Unsubscribe(Unsubscribe<'a>),
    /// UNSUBACK
    UnsubAck(UnsubAck<'a>),
    /// PINGREQ
    PingReq,
    /// PINGRESP
    PingResp,
    /// DISCONNECT
    Disconnect(Disconnect<'a>),
    /// AUTH
    Auth(Auth<'a>),
}

/// CONNECT (section 3.1): protocol name "MQTT", version 5 implied. Its `Debug` output shows
/// the password's length only.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Connect<'a> {
    /// Clean Start flag (section 3.1.2.4).
    pub clean_start: bool,
    /// Keep alive in seconds; 0 turns it off.
    pub keep_alive: u16,
    /// CONNECT properties (section 3.1.2.11).
    pub properties: Properties<'a>,
    /// Client identifier (may be empty: the server then assigns one).
    pub client_id: &'a str,
    /// The will message.
    pub will: Option<Will<'a>>,
    /// User name.
    pub username: Option<&'a str>,
    /// Password (binary; allowed without a user name in 5.0).
    pub password: Option<&'a [u8]>,
}

impl core::fmt::Debug for Connect<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connect")
            .field("clean_start", &self.clean_start)
            .field("keep_alive", &self.keep_alive)
            .field("properties", &self.properties)
            .field("client_id", &self.client_id)
            .field("will", &self.will)
            .field("username", &self.username)
            .field("password", &crate::packet::Redacted(self.password))
            .finish()
    }
}

/// A will message carried in CONNECT (section 3.1.3.2 to 3.1.3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Will<'a> {
    /// Will Properties.
    pub properties: Properties<'a>,
    /// Will topic.
    pub topic: TopicName<'a>,
    /// Will payload.
    pub payload: &'a [u8],
    /// Will QoS.
    pub qos: QoS,
    /// Will retain.
    pub retain: bool,
}

/// CONNACK (section 3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnAck<'a> {
    /// Session present flag (0 with any non-zero reason code [MQTT-3.2.2-6]).
    pub session_present: bool,
    /// Connect reason code.
    pub reason_code: ConnectReasonCode,
    /// CONNACK properties (section 3.2.2.3).
    pub properties: Properties<'a>,
}

/// PUBLISH (section 3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publish<'a> {
    /// DUP flag (never set with QoS 0).
    pub dup: bool,
    /// QoS and, for QoS 1/2, the packet identifier.
    pub qos_pid: QosPid,
    /// RETAIN flag.
    pub retain: bool,
    /// Topic name; `None` for a zero-length topic name, which needs a Topic Alias property
    /// (section 3.3.2.3.4).
    pub topic: Option<TopicName<'a>>,
    /// PUBLISH properties (section 3.3.2.3).
    pub properties: Properties<'a>,
    /// Application payload.
    pub payload: &'a [u8],
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP (sections 3.4 to 3.7): a packet identifier, a reason
/// code `R` of that packet, and properties (Reason String, User Property).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PubResponse<'a, R> {
    /// Packet identifier of the PUBLISH (or PUBREL) answered.
    pub packet_id: PacketId,
    /// Reason code (omitted on the wire when it is 0x00 and there are no properties).
    pub reason_code: R,
    /// Properties.
    pub properties: Properties<'a>,
}

/// PUBACK (section 3.4).
pub type PubAck<'a> = PubResponse<'a, PubAckReasonCode>;
/// PUBREC (section 3.5).
pub type PubRec<'a> = PubResponse<'a, PubRecReasonCode>;
/// PUBREL (section 3.6).
pub type PubRel<'a> = PubResponse<'a, PubRelReasonCode>;
/// PUBCOMP (section 3.7).
pub type PubComp<'a> = PubResponse<'a, PubCompReasonCode>;

/// SUBSCRIBE (section 3.8): one or more (filter, options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscribe<'a> {
    /// Packet identifier.
    pub packet_id: PacketId,
    /// SUBSCRIBE properties (Subscription Identifier, User Property).
    pub properties: Properties<'a>,
    /// The filters (never empty).
    pub filters: SubscribeFilters<'a>,
}

/// Retain Handling of a subscription (section 3.8.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RetainHandling {
    /// 0: send retained messages at the time of the subscribe.
    #[default]
    SendAtSubscribe = 0,
    /// 1: send retained messages only if the subscription did not exist.
    SendIfNew = 1,
    /// 2: do not send retained messages.
    DoNotSend = 2,
}

/// Subscription Options (section 3.8.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriptionOptions {
    /// Maximum QoS.
    pub qos: QoS,
    /// No Local: do not receive one's own publications (not on a shared subscription
    /// [MQTT-3.8.3-4]).
    pub no_local: bool,
    /// Retain As Published.
    pub retain_as_published: bool,
    /// Retain Handling.
    pub retain_handling: RetainHandling,
}

impl SubscriptionOptions {
    /// Options with this QoS and every other option 0.
    pub const fn new(qos: QoS) -> Self {
        SubscriptionOptions {
            qos,
            no_local: false,
            retain_as_published: false,
            retain_handling: RetainHandling::SendAtSubscribe,
        }
    }

    /// The options from their byte: reserved bits 6-7 set is
    /// [`DecodeError::SubscribeReservedBits`] [MQTT-3.8.3-5], QoS 3
    /// [`DecodeError::InvalidQoS`], Retain Handling 3 [`DecodeError::InvalidRetainHandling`].
    pub const fn from_u8(b: u8) -> Result<Self, DecodeError> {
        if b & 0xC0 != 0 {
            return Err(DecodeError::SubscribeReservedBits);
        }
        let qos = match QoS::from_u8(b & 0b11) {
            Ok(q) => q,
            Err(e) => return Err(e),
        };
        let retain_handling = match (b >> 4) & 0b11 {
            0 => RetainHandling::SendAtSubscribe,
            1 => RetainHandling::SendIfNew,
            2 => RetainHandling::DoNotSend,
            _ => return Err(DecodeError::InvalidRetainHandling),
        };
        Ok(SubscriptionOptions {
            qos,
            no_local: b & 0b0100 != 0,
            retain_as_published: b & 0b1000 != 0,
            retain_handling,
        })
    }

    /// The options' byte.
    pub const fn as_u8(self) -> u8 {
        self.qos as u8
            | (self.no_local as u8) << 2
            | (self.retain_as_published as u8) << 3
            | (self.retain_handling as u8) << 4
    }
}

/// Whether a filter is a Shared Subscription (`$share/{ShareName}/{filter}`, section 4.8.2),
/// checking its form: a ShareName of at least one character without `/`, `+` or `#`, followed
/// by `/` and a topic filter [MQTT-4.8.2-1, MQTT-4.8.2-2].
pub fn shared_subscription(filter: TopicFilter<'_>) -> Result<bool, DecodeError> {
    let Some(rest) = filter.as_str().strip_prefix("$share/") else {
        return Ok(false);
    };
    match rest.split_once('/') {
        Some((name, inner))
            if !name.is_empty() && !inner.is_empty() && !name.contains(['+', '#']) =>
        {
            Ok(true)
        }
        _ => Err(DecodeError::InvalidSharedSubscription),
    }
}

/// The rules of one (filter, options) pair that its types do not carry: the shared
/// subscription form and No Local on a shared subscription.
pub(crate) fn check_subscription(
    filter: TopicFilter<'_>,
    options: SubscriptionOptions,
) -> Result<(), DecodeError> {
    if shared_subscription(filter)? && options.no_local {
        return Err(DecodeError::NoLocalOnSharedSubscription);
    }
    Ok(())
}

/// SUBSCRIBE's filter list: validated wire bytes (decoded) or a caller slice (to encode).
/// Compare, print and iterate the same way whichever it holds.
#[derive(Clone, Copy)]
pub struct SubscribeFilters<'a> {
    repr: SubscribeRepr<'a>,
}

#[derive(Debug, Clone, Copy)]
enum SubscribeRepr<'a> {
    Wire(&'a [u8]),
    Slice(&'a [(TopicFilter<'a>, SubscriptionOptions)]),
}

impl<'a> SubscribeFilters<'a> {
    /// A list to encode. It must not be empty: encoding an empty list fails with
    /// [`DecodeError::EmptySubscribe`] [MQTT-3.8.3-2].
    pub const fn new(filters: &'a [(TopicFilter<'a>, SubscriptionOptions)]) -> Self {
        SubscribeFilters {
            repr: SubscribeRepr::Slice(filters),
        }
    }

    /// Decoded payload bytes, already validated by the decoder.
    pub(crate) const fn from_wire(payload: &'a [u8]) -> Self {
        SubscribeFilters {
            repr: SubscribeRepr::Wire(payload),
        }
    }

    /// The (filter, options) pairs, in order.
    pub fn iter(&self) -> SubscribeFiltersIter<'a> {
        SubscribeFiltersIter { repr: self.repr }
    }

    /// Number of filters.
    pub fn len(&self) -> usize {
        match self.repr {
            SubscribeRepr::Slice(s) => s.len(),
            SubscribeRepr::Wire(_) => self.iter().count(),
        }
    }

    /// Whether the list is empty (never, for a decoded SUBSCRIBE).
    pub fn is_empty(&self) -> bool {
        match self.repr {
            SubscribeRepr::Slice(s) => s.is_empty(),
            SubscribeRepr::Wire(w) => w.is_empty(),
        }
    }

    /// Bytes of the encoded payload.
    pub(crate) fn encoded_len(&self) -> usize {
        match self.repr {
            SubscribeRepr::Wire(w) => w.len(),
            SubscribeRepr::Slice(s) => s.iter().map(|(f, _)| 3 + f.as_str().len()).sum(),
        }
    }
}

impl<'a> From<&'a [(TopicFilter<'a>, SubscriptionOptions)]> for SubscribeFilters<'a> {
    fn from(filters: &'a [(TopicFilter<'a>, SubscriptionOptions)]) -> Self {
        SubscribeFilters::new(filters)
    }
}

impl<'a, const N: usize> From<&'a [(TopicFilter<'a>, SubscriptionOptions); N]>
    for SubscribeFilters<'a>
{
    fn from(filters: &'a [(TopicFilter<'a>, SubscriptionOptions); N]) -> Self {
        SubscribeFilters::new(filters)
    }
}

impl PartialEq for SubscribeFilters<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for SubscribeFilters<'_> {}

impl fmt::Debug for SubscribeFilters<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for SubscribeFilters<'a> {
    type Item = (TopicFilter<'a>, SubscriptionOptions);
    type IntoIter = SubscribeFiltersIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a> IntoIterator for &SubscribeFilters<'a> {
    type Item = (TopicFilter<'a>, SubscriptionOptions);
    type IntoIter = SubscribeFiltersIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over a SUBSCRIBE's (filter, options) pairs.
#[derive(Debug, Clone)]
pub struct SubscribeFiltersIter<'a> {
    repr: SubscribeRepr<'a>,
}

impl<'a> Iterator for SubscribeFiltersIter<'a> {
    type Item = (TopicFilter<'a>, SubscriptionOptions);
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.repr {
            SubscribeRepr::Slice(s) => {
                let (first, rest) = s.split_first()?;
                *s = rest;
                Some(*first)
            }
            SubscribeRepr::Wire(w) => {
                let (len, tail) = w.split_first_chunk::<2>()?;
                let (f, tail) = tail.split_at_checked(usize::from(u16::from_be_bytes(*len)))?;
                let (options, tail) = tail.split_first()?;
                *w = tail;
                let filter = core::str::from_utf8(f).ok()?;
                let options = SubscriptionOptions::from_u8(*options).ok()?;
                Some((TopicFilter::from_validated(filter), options))
            }
        }
    }
}

/// SUBACK (section 3.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubAck<'a> {
    /// Packet identifier.
    pub packet_id: PacketId,
    /// SUBACK properties (Reason String, User Property).
    pub properties: Properties<'a>,
    /// Reason codes, in the order of the SUBSCRIBE's filters.
    pub reason_codes: SubAckReasonCodes<'a>,
}

/// UNSUBSCRIBE (section 3.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsubscribe<'a> {
    /// Packet identifier.
    pub packet_id: PacketId,
    /// UNSUBSCRIBE properties (User Property).
    pub properties: Properties<'a>,
    /// The filters (never empty).
    pub filters: TopicFilters<'a>,
}

/// UNSUBACK (section 3.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsubAck<'a> {
    /// Packet identifier.
    pub packet_id: PacketId,
    /// UNSUBACK properties (Reason String, User Property).
    pub properties: Properties<'a>,
    /// Reason codes, in the order of the UNSUBSCRIBE's filters.
    pub reason_codes: UnsubAckReasonCodes<'a>,
}

/// DISCONNECT (section 3.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnect<'a> {
    /// Reason code (omitted on the wire when it is 0x00 and there are no properties).
    pub reason_code: DisconnectReasonCode,
    /// DISCONNECT properties.
    pub properties: Properties<'a>,
}

/// AUTH (section 3.15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Auth<'a> {
    /// Reason code (omitted on the wire when it is 0x00 and there are no properties).
    pub reason_code: AuthReasonCode,
    /// AUTH properties (Authentication Method and Data, Reason String, User Property).
    pub properties: Properties<'a>,
}

impl<'a> Connect<'a> {
    /// A CONNECT with clean start on, no properties, no will, no credentials.
    pub const fn new(client_id: &'a str, keep_alive: u16) -> Self {
        Connect {
            clean_start: true,
            keep_alive,
            properties: Properties::EMPTY,
            client_id,
            will: None,
            username: None,
            password: None,
        }
    }
}

impl<'a> Will<'a> {
    /// A will without properties, not retained.
    pub const fn new(topic: TopicName<'a>, payload: &'a [u8], qos: QoS) -> Self {
        Will {
            properties: Properties::EMPTY,
            topic,
            payload,
            qos,
            retain: false,
        }
    }
}

impl<'a> ConnAck<'a> {
    /// A CONNACK without properties.
    pub const fn new(session_present: bool, reason_code: ConnectReasonCode) -> Self {
        ConnAck {
            session_present,
            reason_code,
            properties: Properties::EMPTY,
        }
    }
}

impl<'a> Publish<'a> {
    /// A PUBLISH with DUP and RETAIN off and no properties.
    pub const fn new(topic: TopicName<'a>, qos_pid: QosPid, payload: &'a [u8]) -> Self {
        Publish {
            dup: false,
            qos_pid,
            retain: false,
            topic: Some(topic),
            properties: Properties::EMPTY,
            payload,
        }
    }

    /// The topic name as a string; empty when the topic is given by a Topic Alias.
    pub fn topic_str(&self) -> &'a str {
        match self.topic {
            Some(t) => t.as_str(),
            None => "",
        }
    }

    /// A zero-length topic name needs a Topic Alias (section 3.3.2.3.4).
    pub(crate) fn check_topic(&self) -> Result<(), DecodeError> {
        if self.topic.is_none() && !self.properties.contains(PropertyId::TopicAlias) {
            return Err(DecodeError::EmptyTopicWithoutAlias);
        }
        Ok(())
    }
}

impl<'a, R> PubResponse<'a, R> {
    /// A response with this reason code and no properties.
    pub const fn new(packet_id: PacketId, reason_code: R) -> Self {
        PubResponse {
            packet_id,
            reason_code,
            properties: Properties::EMPTY,
        }
    }
}

impl<'a> Subscribe<'a> {
    /// A SUBSCRIBE of `filters` (which must not be empty to be encoded), no properties.
    pub const fn new(
        packet_id: PacketId,
        filters: &'a [(TopicFilter<'a>, SubscriptionOptions)],
    ) -> Self {
        Subscribe {
            packet_id,
            properties: Properties::EMPTY,
            filters: SubscribeFilters::new(filters),
        }
    }
}

impl<'a> SubAck<'a> {
    /// A SUBACK with these codes, no properties.
    pub const fn new(packet_id: PacketId, reason_codes: SubAckReasonCodes<'a>) -> Self {
        SubAck {
            packet_id,
            properties: Properties::EMPTY,
            reason_codes,
        }
    }
}

impl<'a> Unsubscribe<'a> {
    /// An UNSUBSCRIBE of `filters` (which must not be empty to be encoded), no properties.
    pub const fn new(packet_id: PacketId, filters: &'a [TopicFilter<'a>]) -> Self {
        Unsubscribe {
            packet_id,
            properties: Properties::EMPTY,
            filters: TopicFilters::new(filters),
        }
    }
}

impl<'a> UnsubAck<'a> {
    /// An UNSUBACK with these codes, no properties.
    pub const fn new(packet_id: PacketId, reason_codes: UnsubAckReasonCodes<'a>) -> Self {
        UnsubAck {
            packet_id,
            properties: Properties::EMPTY,
            reason_codes,
        }
    }
}

impl<'a> Disconnect<'a> {
    /// A DISCONNECT with this reason code, no properties.
    pub const fn new(reason_code: DisconnectReasonCode) -> Self {
        Disconnect {
            reason_code,
            properties: Properties::EMPTY,
        }
    }
}

impl<'a> Auth<'a> {
    /// An AUTH with this reason code, no properties.
    pub const fn new(reason_code: AuthReasonCode) -> Self {
        Auth {
            reason_code,
            properties: Properties::EMPTY,
        }
    }
}
