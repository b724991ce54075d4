//! The packet model. Decoded packets borrow from the input buffer.
use crate::{ConnectReturnCode, PacketId, QoS, QosPid, TopicFilter, TopicName};

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

/// CONNECT (protocol name "MQTT", level 4 implied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
/// Compare and iterate the same way whichever it holds.
#[derive(Debug, Clone, Copy)]
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

/// UNSUBSCRIBE's filter list: validated wire bytes or a caller slice.
#[derive(Debug, Clone, Copy)]
pub struct TopicFilters<'a> {
    repr: FiltersRepr<'a>,
}

#[derive(Debug, Clone, Copy)]
enum FiltersRepr<'a> {
    Wire(&'a [u8]),
    Slice(&'a [TopicFilter<'a>]),
}
