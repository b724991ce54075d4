//! The packet model. Decoded packets borrow from the input buffer.
use core::fmt;

use crate::{ConnectReturnCode, DecodeError, PacketId, QoS, QosPid, TopicFilter, TopicName};

/// Any MQTT 3.1.1 control packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    /// CONNECT
    Connect(Connect<'a>),
    /// CONNACK
    ConnAck(ConnAck),
    /// PUBLISH
    Publish(Publish<'a>),
    /// PUBACK
    PubAck(PacketId),
    /// PUBREC
    PubRec(PacketId),
    /// PUBREL
    PubRel(PacketId),
    /// PUBCOMP
    PubComp(PacketId),
    /// SUBSCRIBE
    Subscribe(Subscribe<'a>),
    /// SUBACK
    SubAck(SubAck<'a>),
    /// UNSUBSCRIBE
    Unsubscribe(Unsubscribe<'a>),
    /// UNSUBACK
    UnsubAck(PacketId),
    /// PINGREQ
    PingReq,
    /// PINGRESP
    PingResp,
    /// DISCONNECT
    Disconnect,
}

/// CONNECT (protocol name "MQTT", level 4 implied). Its `Debug` output shows the password's
/// length only.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Connect<'a> {
    /// Clean session flag.
    pub clean_session: bool,
    /// Keep alive in seconds; 0 turns it off.
    pub keep_alive: u16,
    /// Client identifier (may be empty).
    pub client_id: &'a str,
    /// The will message.
    pub will: Option<Will<'a>>,
    /// User name.
    pub username: Option<&'a str>,
    /// Password (binary).
    pub password: Option<&'a [u8]>,
}

impl fmt::Debug for Connect<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connect")
            .field("clean_session", &self.clean_session)
            .field("keep_alive", &self.keep_alive)
            .field("client_id", &self.client_id)
            .field("will", &self.will)
            .field("username", &self.username)
            .field("password", &Redacted(self.password))
            .finish()
    }
}

/// A secret in `Debug` output: its length, not its bytes.
pub(crate) struct Redacted<'a>(pub(crate) Option<&'a [u8]>);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("None"),
            Some(p) => write!(f, "Some(<{} bytes redacted>)", p.len()),
        }
    }
}

/// A will message carried in CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Will<'a> {
    /// Will topic.
    pub topic: TopicName<'a>,
    /// Will payload.
    pub payload: &'a [u8],
    /// Will QoS.
    pub qos: QoS,
    /// Will retain.
    pub retain: bool,
}

/// CONNACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnAck {
    /// Session present flag.
    pub session_present: bool,
    /// Return code.
    pub code: ConnectReturnCode,
}

/// PUBLISH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publish<'a> {
    /// DUP flag (never set with QoS 0).
    pub dup: bool,
    /// QoS and, for QoS 1/2, the packet identifier.
    pub qos_pid: QosPid,
    /// RETAIN flag.
    pub retain: bool,
    /// Topic name.
    pub topic: TopicName<'a>,
    /// Application payload.
    pub payload: &'a [u8],
}

/// SUBSCRIBE: one or more (filter, requested QoS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscribe<'a> {
    /// Packet identifier.
    pub packet_id: PacketId,
    /// The filters (never empty).
    pub filters: SubscribeFilters<'a>,
}

/// SUBSCRIBE's filter list: either validated wire bytes (decoded) or a caller slice (to encode).
/// Compare, print and iterate the same way whichever it holds.
#[derive(Clone, Copy)]
pub struct SubscribeFilters<'a> {
    repr: SubscribeRepr<'a>,
}

#[derive(Debug, Clone, Copy)]
enum SubscribeRepr<'a> {
    Wire(&'a [u8]),
    Slice(&'a [(TopicFilter<'a>, QoS)]),
}

/// SUBACK: a return code per requested filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubAck<'a> {
    /// Packet identifier.
    pub packet_id: PacketId,
    /// Return codes, in the order of the SUBSCRIBE's filters.
    pub codes: SubAckCodes<'a>,
}

/// Validated SUBACK return code bytes (each 0x00, 0x01, 0x02 or 0x80; at least one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubAckCodes<'a>(&'a [u8]);

/// One SUBACK return code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubAckReturnCode {
    /// Granted at this QoS.
    Success(QoS),
    /// 0x80: refused.
    Failure,
}

/// UNSUBSCRIBE: one or more filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsubscribe<'a> {
    /// Packet identifier.
    pub packet_id: PacketId,
    /// The filters (never empty).
    pub filters: TopicFilters<'a>,
}

/// UNSUBSCRIBE's filter list: validated wire bytes or a caller slice. Compare, print and
/// iterate the same way whichever it holds.
#[derive(Clone, Copy)]
pub struct TopicFilters<'a> {
    repr: FiltersRepr<'a>,
}

#[derive(Debug, Clone, Copy)]
enum FiltersRepr<'a> {
    Wire(&'a [u8]),
    Slice(&'a [TopicFilter<'a>]),
}

/// Reads the next `u16`-length-prefixed string from validated wire bytes.
fn next_wire_str<'a>(rest: &mut &'a [u8]) -> Option<&'a str> {
    let (len, tail) = rest.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_be_bytes(*len));
    let (s, tail) = tail.split_at_checked(len)?;
    *rest = tail;
    core::str::from_utf8(s).ok()
}

impl<'a> SubscribeFilters<'a> {
    /// A list to encode. It must not be empty: encoding an empty list fails with
    /// [`DecodeError::EmptySubscribe`] [MQTT-3.8.3-3].
    pub const fn new(filters: &'a [(TopicFilter<'a>, QoS)]) -> Self {
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

    /// The (filter, requested QoS) pairs, in order.
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

impl<'a> From<&'a [(TopicFilter<'a>, QoS)]> for SubscribeFilters<'a> {
    fn from(filters: &'a [(TopicFilter<'a>, QoS)]) -> Self {
        SubscribeFilters::new(filters)
    }
}

impl<'a, const N: usize> From<&'a [(TopicFilter<'a>, QoS); N]> for SubscribeFilters<'a> {
    fn from(filters: &'a [(TopicFilter<'a>, QoS); N]) -> Self {
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
    type Item = (TopicFilter<'a>, QoS);
    type IntoIter = SubscribeFiltersIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a> IntoIterator for &SubscribeFilters<'a> {
    type Item = (TopicFilter<'a>, QoS);
    type IntoIter = SubscribeFiltersIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over a SUBSCRIBE's (filter, requested QoS) pairs.
#[derive(Debug, Clone)]
pub struct SubscribeFiltersIter<'a> {
    repr: SubscribeRepr<'a>,
}

impl<'a> Iterator for SubscribeFiltersIter<'a> {
    type Item = (TopicFilter<'a>, QoS);
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.repr {
            SubscribeRepr::Slice(s) => {
                let (first, rest) = s.split_first()?;
                *s = rest;
                Some(*first)
            }
            SubscribeRepr::Wire(w) => {
                let filter = next_wire_str(w)?;
                let (qos, rest) = w.split_first()?;
                *w = rest;
                let qos = QoS::from_u8(*qos).ok()?;
                Some((TopicFilter::from_validated(filter), qos))
            }
        }
    }
}

impl<'a> TopicFilters<'a> {
    /// A list to encode. It must not be empty: encoding an empty list fails with
    /// [`DecodeError::EmptyUnsubscribe`] [MQTT-3.10.3-2].
    pub const fn new(filters: &'a [TopicFilter<'a>]) -> Self {
        TopicFilters {
            repr: FiltersRepr::Slice(filters),
        }
    }

    /// Decoded payload bytes, already validated by the decoder.
    pub(crate) const fn from_wire(payload: &'a [u8]) -> Self {
        TopicFilters {
            repr: FiltersRepr::Wire(payload),
        }
    }

    /// The filters, in order.
    pub fn iter(&self) -> TopicFiltersIter<'a> {
        TopicFiltersIter { repr: self.repr }
    }

    /// Number of filters.
    pub fn len(&self) -> usize {
        match self.repr {
            FiltersRepr::Slice(s) => s.len(),
            FiltersRepr::Wire(_) => self.iter().count(),
        }
    }

    /// Whether the list is empty (never, for a decoded UNSUBSCRIBE).
    pub fn is_empty(&self) -> bool {
        match self.repr {
            FiltersRepr::Slice(s) => s.is_empty(),
            FiltersRepr::Wire(w) => w.is_empty(),
        }
    }

    /// Bytes of the encoded payload.
    pub(crate) fn encoded_len(&self) -> usize {
        match self.repr {
            FiltersRepr::Wire(w) => w.len(),
            FiltersRepr::Slice(s) => s.iter().map(|f| 2 + f.as_str().len()).sum(),
        }
    }
}

impl<'a> From<&'a [TopicFilter<'a>]> for TopicFilters<'a> {
    fn from(filters: &'a [TopicFilter<'a>]) -> Self {
        TopicFilters::new(filters)
    }
}

impl<'a, const N: usize> From<&'a [TopicFilter<'a>; N]> for TopicFilters<'a> {
    fn from(filters: &'a [TopicFilter<'a>; N]) -> Self {
        TopicFilters::new(filters)
    }
}

impl PartialEq for TopicFilters<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for TopicFilters<'_> {}

impl fmt::Debug for TopicFilters<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for TopicFilters<'a> {
    type Item = TopicFilter<'a>;
    type IntoIter = TopicFiltersIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a> IntoIterator for &TopicFilters<'a> {
    type Item = TopicFilter<'a>;
    type IntoIter = TopicFiltersIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over an UNSUBSCRIBE's filters.
#[derive(Debug, Clone)]
pub struct TopicFiltersIter<'a> {
    repr: FiltersRepr<'a>,
}

impl<'a> Iterator for TopicFiltersIter<'a> {
    type Item = TopicFilter<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.repr {
            FiltersRepr::Slice(s) => {
                let (first, rest) = s.split_first()?;
                *s = rest;
                Some(*first)
            }
            FiltersRepr::Wire(w) => next_wire_str(w).map(TopicFilter::from_validated),
        }
    }
}

impl SubAckReturnCode {
    /// The code from its byte: 0x00, 0x01, 0x02 or 0x80; anything else is
    /// [`DecodeError::InvalidSubAckCode`] [MQTT-3.9.3-2].
    pub const fn from_u8(code: u8) -> Result<Self, DecodeError> {
        match code {
            0x00 => Ok(SubAckReturnCode::Success(QoS::AtMostOnce)),
            0x01 => Ok(SubAckReturnCode::Success(QoS::AtLeastOnce)),
            0x02 => Ok(SubAckReturnCode::Success(QoS::ExactlyOnce)),
            0x80 => Ok(SubAckReturnCode::Failure),
            _ => Err(DecodeError::InvalidSubAckCode),
        }
    }

    /// The code's byte.
    pub const fn as_u8(self) -> u8 {
        match self {
            SubAckReturnCode::Success(q) => q as u8,
            SubAckReturnCode::Failure => 0x80,
        }
    }
}

impl<'a> SubAckCodes<'a> {
    /// Validate return code bytes: at least one, each 0x00, 0x01, 0x02 or 0x80
    /// ([`DecodeError::InvalidSubAckCode`] otherwise) [MQTT-3.9.3-2].
    pub fn new(codes: &'a [u8]) -> Result<Self, DecodeError> {
        if codes.is_empty() || codes.iter().any(|&c| c > 2 && c != 0x80) {
            return Err(DecodeError::InvalidSubAckCode);
        }
        Ok(SubAckCodes(codes))
    }

    /// The raw code bytes.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// Number of return codes.
    pub const fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a valid SUBACK carries at least one code.
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The return codes, in the order of the SUBSCRIBE's filters.
    pub fn iter(&self) -> SubAckCodesIter<'a> {
        SubAckCodesIter(self.0.iter())
    }
}

impl<'a> IntoIterator for SubAckCodes<'a> {
    type Item = SubAckReturnCode;
    type IntoIter = SubAckCodesIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a> IntoIterator for &SubAckCodes<'a> {
    type Item = SubAckReturnCode;
    type IntoIter = SubAckCodesIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over SUBACK return codes.
#[derive(Debug, Clone)]
pub struct SubAckCodesIter<'a>(core::slice::Iter<'a, u8>);

impl Iterator for SubAckCodesIter<'_> {
    type Item = SubAckReturnCode;
    fn next(&mut self) -> Option<SubAckReturnCode> {
        // Bytes were validated by `SubAckCodes::new`; a reserved byte would end the iteration.
        self.0
            .next()
            .and_then(|&c| SubAckReturnCode::from_u8(c).ok())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for SubAckCodesIter<'_> {}
