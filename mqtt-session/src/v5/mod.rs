//! MQTT 5.0 (feature `v5`): what a 5.0 connection adds to the one state machine.
//!
//! The version is chosen per connection by the options given to
//! [`Session::connect`](crate::Session::connect): [`ConnectOptionsV5`](crate::ConnectOptionsV5)
//! (or [`ConnectOptions::v5`](crate::ConnectOptions::v5)) makes a 5.0 connection. A 5.0
//! connection:
//!
//! * sends the CONNECT properties the application gives, and honours the CONNACK's: Receive
//!   Maximum bounds the in-flight window [MQTT-3.3.4-7], Maximum Packet Size, Maximum QoS and
//!   Retain Available bound what commands accept (typed [`CommandError`](crate::CommandError)s)
//!   [MQTT-3.2.2-11, MQTT-3.2.2-14, MQTT-3.2.2-15], Server Keep Alive replaces ours
//!   [MQTT-3.2.2-21], Session Expiry Interval decides whether the session outlives the
//!   connection [MQTT-3.1.2-23], Topic Alias Maximum bounds outgoing aliases [MQTT-3.2.2-17];
//!   see [`ServerLimits`];
//! * reports the reason code and properties of CONNACK, PUBACK, PUBREC, PUBCOMP, SUBACK,
//!   UNSUBACK and the broker's DISCONNECT as [`Event::Response`](crate::Event::Response), just
//!   before the event of the outcome (for PUBACK, PUBREC and PUBCOMP only when the code is not
//!   0x00 or properties are present, so the common case costs one event);
//! * publishes with PUBLISH properties at any QoS
//!   ([`Session::publish_with`](crate::Session::publish_with)): a QoS 1/2 message keeps them
//!   in the store and carries them again on every resend (DUP=1 after a reconnect), never
//!   with a Topic Alias [MQTT-3.3.2-7], its Message Expiry Interval counted down by the whole
//!   seconds elapsed; one that expires before its PUBLISH was ever written is not sent but
//!   reported ([`Event::PublishExpired`](crate::Event::PublishExpired)), one that was written
//!   is resent however late [MQTT-4.4.0-1, MQTT-4.3.3-7];
//! * ends a PUBLISH flow on a PUBACK or PUBREC with a code of 0x80 or more
//!   ([`Event::PublishRejected`](crate::Event::PublishRejected), no PUBREL);
//! * enforces our Receive Maximum, Maximum Packet Size and Topic Alias Maximum on the broker,
//!   and on any protocol error by the broker sends DISCONNECT with the reason code that names
//!   it (0x81 malformed, 0x82 protocol error, 0x93, 0x94, 0x95) before the connection ends
//!   [MQTT-4.13.1-1];
//! * can send DISCONNECT with a reason code and properties
//!   ([`Session::disconnect_with`](crate::Session::disconnect_with));
//! * offers enhanced authentication (section 4.12), below.
//!
//! # Enhanced authentication
//!
//! An Authentication Method (and optional Authentication Data) in the CONNECT properties
//! starts it. Each AUTH 0x18 Continue authentication of the broker's is an
//! [`Event::AuthContinue`](crate::Event::AuthContinue) with its Authentication Data, which the
//! application answers with [`Session::auth_continue`](crate::Session::auth_continue) (AUTH
//! 0x18 with the same method [MQTT-4.12.0-3, MQTT-4.12.0-5]); CONNACK ends the exchange as
//! for any connection, and its Authentication Data, if any, is in the CONNACK's
//! [`Event::Response`](crate::Event::Response). After CONNACK,
//! [`Session::reauthenticate`](crate::Session::reauthenticate) sends AUTH 0x19
//! [MQTT-4.12.1-1]; the broker's AUTH 0x00 ends it as
//! [`Event::Reauthenticated`](crate::Event::Reauthenticated).
//! [`Session::abort_auth`](crate::Session::abort_auth) gives up at any point with DISCONNECT
//! 0x80 (0x87 and 0x8C are the server's codes).
//!
//! The CONNACK timeout runs from `connect` through the whole exchange, the application's time
//! to answer included. A re-authentication has no timer of its own (the standard sets none);
//! the keep alive goes on meanwhile, as do other packets.
//!
//! The broker's side is checked: an AUTH, or a successful CONNACK, without the CONNECT's
//! method; AUTH when the CONNECT had none; AUTH 0x19; AUTH 0x00 before CONNACK; an AUTH or a
//! successful CONNACK before the application answered the last AUTH; AUTH after CONNACK with
//! no re-authentication in progress: each is a typed [`Violation`](crate::Violation) and
//! ends the connection with DISCONNECT 0x82 Protocol Error. An AUTH reason code that is not
//! one of the three is malformed (0x81), as for every packet.
//!
//! ```
//! use mqtt_session::{Config, ConnectOptionsV5, Event, FixedStore, Instant, Session, State};
//! use mqtt_session::v5::{Properties, Property};
//!
//! let mut s = Session::new(Config::default(), FixedStore::<4, 256>::new(), [0u8; 256], [0u8; 256]);
//! let mut out = [0u8; 256];
//! let now = Instant::ZERO;
//! s.handle_transport_up(now);
//! let props = [Property::AuthenticationMethod("M"), Property::AuthenticationData(b"hi")];
//! let mut options = ConnectOptionsV5::new("c");
//! options.properties = Properties::new(&props);
//! s.connect(now, &options).unwrap();
//! s.poll_transmit(now, &mut out).unwrap(); // CONNECT
//!
//! // AUTH 0x18, method "M", data "?".
//! s.handle_receive(now, b"\xf0\x0a\x18\x08\x15\x00\x01M\x16\x00\x01?");
//! match s.poll_event() {
//!     Some(Event::AuthContinue { method, data, .. }) => {
//!         assert_eq!((method, data), ("M", Some(&b"?"[..])));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! s.auth_continue(now, Some(b"!")).unwrap();
//! let n = s.poll_transmit(now, &mut out).unwrap().unwrap();
//! assert_eq!(&out[..n], b"\xf0\x0a\x18\x08\x15\x00\x01M\x16\x00\x01!");
//!
//! // CONNACK: accepted, with the method.
//! s.handle_receive(now, b"\x20\x07\x00\x00\x04\x15\x00\x01M");
//! assert!(matches!(s.poll_event(), Some(Event::Response(_))));
//! assert!(matches!(s.poll_event(), Some(Event::Connected { .. })));
//! assert_eq!(s.state(), State::Connected);
//! ```

mod alias;
mod auth;
mod connect;
mod publish;
mod receive;
mod subscribe;

use mqtt_proto::QoS;
use mqtt_proto::v5::{PacketType, PropertyContext};

pub use mqtt_proto::v5::{
    AuthReasonCode, ConnectReasonCode, DisconnectReasonCode, PacketType as PacketTypeV5,
    Properties, Property, PropertyId, ProtocolVersion, PubAckReasonCode, PubCompReasonCode,
    PubRecReasonCode, RetainHandling, SubAckReasonCode, SubscriptionOptions, UnsubAckReasonCode,
};

pub(crate) use alias::{InAliases, OutAliases};
pub use auth::MAX_AUTH_METHOD_LEN;
pub(crate) use auth::{Auth, auth_event};
pub use connect::DisconnectOptions;
pub use publish::publish_len;
pub(crate) use publish::{
    Expiry, StoredProperties, expiry, publish_body_len, write_stored_publish,
};

/// What the broker's CONNACK allows on this connection (section 3.2.2.3), with the defaults of
/// the standard for absent properties. See
/// [`Session::server_limits`](crate::Session::server_limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ServerLimits {
    /// Receive Maximum: QoS 1/2 PUBLISH packets the broker accepts unacknowledged (65,535
    /// when absent). The in-flight window is the smaller of this and
    /// [`Config::max_inflight`](crate::Config::max_inflight) [MQTT-3.3.4-7].
    pub receive_maximum: u16,
    /// Maximum Packet Size the broker accepts (`None`: no limit besides the format's)
    /// [MQTT-3.2.2-15].
    pub maximum_packet_size: Option<u32>,
    /// Topic Alias Maximum: highest alias the client may send (0: none) [MQTT-3.2.2-17].
    pub topic_alias_maximum: u16,
    /// Maximum QoS of the PUBLISH packets the broker accepts [MQTT-3.2.2-11].
    pub maximum_qos: QoS,
    /// Retain Available [MQTT-3.2.2-14].
    pub retain_available: bool,
    /// Wildcard Subscription Available.
    pub wildcard_subscription_available: bool,
    /// Subscription Identifiers Available.
    pub subscription_identifiers_available: bool,
    /// Shared Subscription Available.
    pub shared_subscription_available: bool,
    /// The keep alive in force, in seconds: the Server Keep Alive if the CONNACK had one, else
    /// ours [MQTT-3.2.2-21].
    pub keep_alive: u16,
    /// The Session Expiry Interval in force, in seconds: the CONNACK's if present, else the
    /// one we sent (0 when absent: the session ends with the connection).
    pub session_expiry_interval: u32,
}

impl ServerLimits {
    /// The standard's defaults (every property absent) for this keep alive and session expiry.
    pub(crate) const fn defaults(keep_alive: u16, session_expiry_interval: u32) -> Self {
        ServerLimits {
            receive_maximum: u16::MAX,
            maximum_packet_size: None,
            topic_alias_maximum: 0,
            maximum_qos: QoS::ExactlyOnce,
            retain_available: true,
            wildcard_subscription_available: true,
            subscription_identifiers_available: true,
            shared_subscription_available: true,
            keep_alive,
            session_expiry_interval,
        }
    }

    /// The limits a CONNACK's properties set.
    pub(crate) fn from_connack(
        p: &Properties<'_>,
        keep_alive: u16,
        session_expiry_interval: u32,
    ) -> Self {
        let d = Self::defaults(keep_alive, session_expiry_interval);
        ServerLimits {
            receive_maximum: p.receive_maximum().unwrap_or(d.receive_maximum),
            maximum_packet_size: p.maximum_packet_size(),
            topic_alias_maximum: p.topic_alias_maximum().unwrap_or(0),
            maximum_qos: p.maximum_qos().unwrap_or(d.maximum_qos),
            retain_available: p.retain_available().unwrap_or(true),
            wildcard_subscription_available: p.wildcard_subscription_available().unwrap_or(true),
            subscription_identifiers_available: p
                .subscription_identifier_available()
                .unwrap_or(true),
            shared_subscription_available: p.shared_subscription_available().unwrap_or(true),
            keep_alive: p.server_keep_alive().unwrap_or(keep_alive),
            session_expiry_interval: p
                .session_expiry_interval()
                .unwrap_or(session_expiry_interval),
        }
    }
}

/// A 5.0 acknowledgement or DISCONNECT from the broker, whole: its reason code(s) and
/// properties (Reason String, User Properties, and for CONNACK the Assigned Client Identifier,
/// Server Reference, Response Information, ...). Borrowed from the receive buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response<'a> {
    /// CONNACK, PUBACK, PUBREC, PUBCOMP, SUBACK, UNSUBACK or DISCONNECT.
    pub packet_type: PacketType,
    /// The packet identifier it answers (PUBACK to UNSUBACK).
    pub packet_id: Option<mqtt_proto::PacketId>,
    /// The reason code bytes: one, or one per filter for SUBACK and UNSUBACK (in the order of
    /// the request). A code left out on the wire is 0x00.
    pub reason_codes: &'a [u8],
    /// The properties, validated for the packet.
    pub properties: Properties<'a>,
}

impl<'a> Response<'a> {
    /// The first (for most packets the only) reason code.
    pub fn reason_code(&self) -> u8 {
        self.reason_codes.first().copied().unwrap_or(0)
    }

    /// Whether a reason code reports a failure (0x80 or above).
    pub fn is_error(&self) -> bool {
        self.reason_codes.iter().any(|&c| c >= 0x80)
    }

    /// The Reason String, if any.
    pub fn reason_string(&self) -> Option<&'a str> {
        self.properties.reason_string()
    }
}

/// Every byte value, so that a single reason code can be lent as a one-byte slice.
static BYTES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = i as u8;
        i += 1;
    }
    t
};

/// The reason codes of a queued [`Response`]: one byte, or a range of the receive buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codes {
    One(u8),
    Range(usize, usize),
}

impl Codes {
    pub(crate) fn slice<'a>(&self, rx: &'a [u8]) -> &'a [u8] {
        match *self {
            Codes::One(c) => BYTES.get(usize::from(c)..=usize::from(c)).unwrap_or(&[]),
            Codes::Range(a, b) => rx.get(a..b).unwrap_or(&[]),
        }
    }
}

/// Where the topic of a queued 5.0 message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TopicAt {
    /// In the receive buffer.
    Rx(usize, usize),
    /// In the incoming alias table, under this alias (the PUBLISH had an empty topic).
    Alias(u16),
}

/// The property context of a packet type a client receives.
pub(crate) fn context(t: PacketType) -> PropertyContext {
    match t {
        PacketType::ConnAck => PropertyContext::ConnAck,
        PacketType::Publish => PropertyContext::Publish,
        PacketType::PubAck => PropertyContext::PubAck,
        PacketType::PubRec => PropertyContext::PubRec,
        PacketType::PubRel => PropertyContext::PubRel,
        PacketType::PubComp => PropertyContext::PubComp,
        PacketType::SubAck => PropertyContext::SubAck,
        PacketType::UnsubAck => PropertyContext::UnsubAck,
        PacketType::Auth => PropertyContext::Auth,
        _ => PropertyContext::Disconnect,
    }
}

/// Validated properties from a range of the receive buffer (they were validated when the
/// packet was decoded; should that ever fail, none).
pub(crate) fn props_at(rx: &[u8], range: (usize, usize), t: PacketType) -> Properties<'_> {
    rx.get(range.0..range.1)
        .and_then(|b| Properties::from_wire(b, context(t)).ok())
        .unwrap_or(Properties::EMPTY)
}

/// The 5.0 part of a session: the connection's version and what was negotiated.
#[derive(Debug)]
pub(crate) struct State {
    /// The current (or last) connection is 5.0.
    pub(crate) on: bool,
    /// What the CONNACK allows (defaults until it arrives).
    pub(crate) server: ServerLimits,
    /// Our Receive Maximum (65,535 when we sent none).
    pub(crate) receive_maximum: u16,
    /// Our Topic Alias Maximum (0 when we sent none).
    pub(crate) topic_alias_maximum: u16,
    /// Our Maximum Packet Size (`None` when we sent none): a larger incoming packet is a
    /// Protocol Error, DISCONNECT 0x95 (section 3.1.2.11.4).
    pub(crate) maximum_packet_size: Option<u32>,
    /// The Session Expiry Interval we sent in CONNECT.
    pub(crate) connect_session_expiry: u32,
    /// A CONNACK accepted the current (or last) connection.
    pub(crate) accepted: bool,
    /// Enhanced authentication: the CONNECT's Authentication Method and whose turn it is.
    pub(crate) auth: Auth,
    /// Incoming QoS 2 messages whose PUBREL has not arrived (counted since connect).
    pub(crate) incoming_qos2: usize,
    /// Why the connection ends once the DISCONNECT queued last in the transmit buffer is
    /// written (a protocol error of the broker's, or [`Session::disconnect_with`]).
    pub(crate) closing: Option<crate::DisconnectReason>,
    /// The DISCONNECT of `closing` was written by `poll_transmit`.
    pub(crate) disconnect_written: bool,
    /// Topic aliases the broker set.
    pub(crate) aliases_in: InAliases,
    /// Topic aliases we set.
    pub(crate) aliases_out: OutAliases,
}

impl State {
    pub(crate) fn new() -> Self {
        State {
            on: false,
            server: ServerLimits::defaults(0, 0),
            receive_maximum: u16::MAX,
            topic_alias_maximum: 0,
            maximum_packet_size: None,
            connect_session_expiry: 0,
            accepted: false,
            auth: Auth::new(),
            incoming_qos2: 0,
            closing: None,
            disconnect_written: false,
            aliases_in: InAliases::new(),
            aliases_out: OutAliases::new(),
        }
    }
}
