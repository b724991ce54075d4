//! The 5.0 half of the `session` target: a [`Session`] on MQTT 5.0 connections.
//!
//! Selected by the first input byte [`crate::session::V5`]; the rest is the 3.1.1 setup
//! (window, queue, timeouts, size limit, buffer sizes, store kind, resend policy), a 5.0 setup
//! ([`SetupV5`]: the Receive Maximum, Maximum Packet Size, Topic Alias Maximum, Maximum QoS,
//! Retain Available and availability flags of the cooperative broker's CONNACK; our Receive
//! Maximum, Maximum Packet Size and Topic Alias Maximum for CONNECT;
//! `Config::outgoing_topic_aliases`, offline publishing, a byte bound on held messages), then
//! operations. The operations are those of the 3.1.1 half (same numbers), with the 5.0
//! commands and packets in place of connect, publish, subscribe, disconnect and broker
//! packets: `connect` with `ConnectOptionsV5` (session expiry, limits, will properties, and
//! sometimes what the session must refuse), `publish_with` (QoS 0/1/2, properties, sometimes
//! invalid ones), `subscribe_with` and `subscribe` (options, a Subscription Identifier, shared
//! filters),
//! `disconnect_with` (any reason code, session expiry, reason string), broker packets built
//! from the input (CONNACK with reason codes and properties, PUBLISH with topic aliases and
//! properties, PUBACK/PUBREC/PUBREL/PUBCOMP with reason codes of 0x80 or more, SUBACK/UNSUBACK
//! with per-filter codes, DISCONNECT, AUTH, PINGRESP, packets a client never receives), and a
//! cooperative broker that answers what the client sent with the setup's CONNACK.
//!
//! Checked after every step, besides everything the 3.1.1 half checks that 5.0 keeps (the
//! store contract, packet ids, the window, `poll_transmit` bounds, every accepted publish
//! reported once or held, one `Connected` at most and one `Disconnected` per connection,
//! progress):
//!
//! - what the client sends, decoded with `mqtt_proto::v5::Decoder`: CONNECT first, nothing
//!   after DISCONNECT, only packets a client may send (AUTH only after a CONNECT with an
//!   Authentication Method [MQTT-4.12.0-7]);
//! - never more QoS 1/2 PUBLISH packets unacknowledged on a connection than the broker's
//!   Receive Maximum [MQTT-3.3.4-7, MQTT-4.9.0-2], an acknowledgement counting only once its
//!   bytes were fed whole to the session, and no PUBLISH sent twice on one connection while
//!   unacknowledged [MQTT-4.4.0-1];
//! - once the session holds the CONNACK's limits, no packet above the broker's Maximum Packet
//!   Size [MQTT-3.2.2-15], no PUBLISH above its Maximum QoS [MQTT-3.2.2-11], no RETAIN when
//!   Retain Available is 0 [MQTT-3.2.2-14], no Subscription Identifier in PUBLISH
//!   [MQTT-3.3.4-6], no SUBSCRIBE with a wildcard, shared filter or Subscription Identifier
//!   the broker does not offer; `Session::server_limits` is what the CONNACK said;
//! - an outgoing Topic Alias is between 1 and the broker's Topic Alias Maximum
//!   [MQTT-3.2.2-17, MQTT-3.3.2-9], an empty topic only with an alias set earlier on the same
//!   connection [MQTT-3.3.2-7]; a PUBLISH carries the topic, payload and properties it was
//!   published with (resolved through the alias), QoS 0 ones in command order;
//! - a PUBREL only to answer a PUBREC below 0x80 on this connection, or once when resuming a
//!   released message [MQTT-4.3.3-4]: never after a PUBREC of 0x80 or more;
//! - a DISCONNECT from the client only with a reason code a client may send (section
//!   3.14.2.1), and no Session Expiry Interval above 0 in it when the CONNECT's was 0 (section
//!   3.14.2.2.2);
//! - a delivered message is one the broker sent, in order, with the topic the broker meant (an
//!   alias resolved as the broker set it on this connection) and its properties; a packet
//!   that must end the connection (a Topic Alias above our maximum or never set, a packet
//!   above our Maximum Packet Size or the receive limit, malformed bytes, a packet a client
//!   never receives, ...) ends it before anything after it is delivered;
//! - every `Event::Response` is a packet the broker sent, followed by the event of its
//!   outcome; a `Disconnected` reason names what happened (`RefusedV5` and `Server` with the
//!   broker's code, a `ProtocolViolation` only for what the broker did).

mod events;
mod fed;
#[cfg(test)]
pub(crate) mod scripts;
mod sent;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use arbitrary::Unstructured;
use mqtt_proto::QoS;
use mqtt_proto::v5::{
    DisconnectReasonCode, Properties, Property, PropertyContext, PropertyId, RetainHandling,
    SubscriptionOptions,
};
use mqtt_session::{
    CommandError, ConnectOptions, ConnectOptionsV5, DisconnectOptions, LastWill, ProtocolVersion,
    State, Store,
};

pub(crate) use events::EventV5;

use crate::input::In;
use crate::session::{Conn, Harness, Published, Request, Setup, Wire, pid, qos_of, trace};

// ---------------------------------------------------------------------------------------------
// Setup.
// ---------------------------------------------------------------------------------------------

/// CONNACK limits (the cooperative broker's, or a built CONNACK's); `None` leaves a property
/// out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ServerProps {
    pub(crate) receive_maximum: Option<u16>,
    pub(crate) maximum_packet_size: Option<u32>,
    pub(crate) topic_alias_maximum: Option<u16>,
    pub(crate) maximum_qos: Option<QoS>,
    pub(crate) retain_available: Option<bool>,
    pub(crate) wildcard: Option<bool>,
    pub(crate) subscription_identifiers: Option<bool>,
    pub(crate) shared: Option<bool>,
    pub(crate) session_expiry: Option<u32>,
    pub(crate) keep_alive: Option<u16>,
}

/// A Receive Maximum: absent, 1 to 254, or any non-zero value.
fn read_receive_maximum(r: &mut In<'_, '_>) -> Option<u16> {
    match r.u8() {
        0 => None,
        0xFF => Some(r.u16().max(1)),
        b => Some(u16::from(b)),
    }
}

/// A Maximum Packet Size: absent, 8 to 2,032 in steps of 8, or any value from 4 up. Below 4
/// not even an acknowledgement fits, which no client could honour, so none is generated.
fn read_maximum_packet_size(r: &mut In<'_, '_>) -> Option<u32> {
    match r.u8() {
        0 => None,
        0xFF => Some((u32::from(r.u16()) << 16 | u32::from(r.u16())).max(4)),
        b => Some(u32::from(b) * 8),
    }
}

/// A Topic Alias Maximum: absent, 0 to 15, or any value.
fn read_topic_alias_maximum(r: &mut In<'_, '_>) -> Option<u16> {
    match r.u8() {
        0 => None,
        0xFF => Some(r.u16()),
        b => Some(u16::from(b % 16)),
    }
}

/// A flag property from two bits: absent, 0, 1, absent.
fn tri(bits: u8) -> Option<bool> {
    match bits & 3 {
        1 => Some(false),
        2 => Some(true),
        _ => None,
    }
}

impl ServerProps {
    pub(crate) fn read(r: &mut In<'_, '_>) -> ServerProps {
        let receive_maximum = read_receive_maximum(r);
        let maximum_packet_size = read_maximum_packet_size(r);
        let topic_alias_maximum = read_topic_alias_maximum(r);
        let f = r.u8();
        let g = r.u8();
        ServerProps {
            receive_maximum,
            maximum_packet_size,
            topic_alias_maximum,
            maximum_qos: match f & 3 {
                1 => Some(QoS::AtMostOnce),
                2 => Some(QoS::AtLeastOnce),
                _ => None,
            },
            retain_available: tri(f >> 2),
            wildcard: tri(f >> 4),
            subscription_identifiers: tri(f >> 6),
            shared: tri(g),
            session_expiry: match (g >> 2) & 3 {
                1 => Some(0),
                2 => Some(60),
                3 => Some(u32::from(r.u8())),
                _ => None,
            },
            keep_alive: (g & 0x10 != 0).then(|| u16::from(r.u8())),
        }
    }

    /// The CONNACK properties.
    pub(crate) fn push_props(&self, out: &mut Vec<Property<'_>>) {
        if let Some(v) = self.receive_maximum {
            out.push(Property::ReceiveMaximum(v));
        }
        if let Some(v) = self.maximum_packet_size {
            out.push(Property::MaximumPacketSize(v));
        }
        if let Some(v) = self.topic_alias_maximum {
            out.push(Property::TopicAliasMaximum(v));
        }
        if let Some(v) = self.maximum_qos {
            out.push(Property::MaximumQoS(v));
        }
        if let Some(v) = self.retain_available {
            out.push(Property::RetainAvailable(v));
        }
        if let Some(v) = self.wildcard {
            out.push(Property::WildcardSubscriptionAvailable(v));
        }
        if let Some(v) = self.subscription_identifiers {
            out.push(Property::SubscriptionIdentifierAvailable(v));
        }
        if let Some(v) = self.shared {
            out.push(Property::SharedSubscriptionAvailable(v));
        }
        if let Some(v) = self.session_expiry {
            out.push(Property::SessionExpiryInterval(v));
        }
        if let Some(v) = self.keep_alive {
            out.push(Property::ServerKeepAlive(v));
        }
    }
}

/// The 5.0 part of the setup.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SetupV5 {
    /// What the cooperative broker's CONNACK says.
    pub(crate) server: ServerProps,
    /// Our CONNECT limits (a connect may override them).
    pub(crate) receive_maximum: Option<u16>,
    pub(crate) maximum_packet_size: Option<u32>,
    pub(crate) topic_alias_maximum: Option<u16>,
}

impl SetupV5 {
    fn read(r: &mut In<'_, '_>, setup: &mut Setup) -> SetupV5 {
        let server = ServerProps::read(r);
        let receive_maximum = read_receive_maximum(r);
        let maximum_packet_size = read_maximum_packet_size(r);
        let topic_alias_maximum = read_topic_alias_maximum(r);
        let aliases = u16::from(r.u8() % 10);
        let flags = r.u8();
        let mut config = setup
            .config
            .with_outgoing_topic_aliases(aliases)
            .with_offline_publish(flags & 1 != 0);
        if flags & 2 != 0 {
            config = config.with_max_held_bytes(usize::from(r.u8()) * 8);
        }
        setup.config = config;
        SetupV5 {
            server,
            receive_maximum,
            maximum_packet_size,
            topic_alias_maximum,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The model.
// ---------------------------------------------------------------------------------------------

/// What the broker's first CONNACK on a connection said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConnAckView {
    pub(crate) code: u8,
    pub(crate) session_present: bool,
    pub(crate) receive_maximum: u16,
    pub(crate) maximum_packet_size: Option<u32>,
    pub(crate) topic_alias_maximum: u16,
    pub(crate) maximum_qos: QoS,
    pub(crate) retain_available: bool,
    pub(crate) wildcard: bool,
    pub(crate) subscription_identifiers: bool,
    pub(crate) shared: bool,
    pub(crate) keep_alive: u16,
    pub(crate) session_expiry: u32,
}

/// An outgoing QoS 1/2 PUBLISH sent on this connection and not acknowledged yet: what it
/// awaits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// QoS 1: PUBACK.
    AtLeastOnce,
    /// QoS 2: PUBREC.
    ExactlyOnce,
    /// QoS 2 after a PUBREC below 0x80: PUBCOMP.
    Released,
}

/// An incoming PUBLISH fed to the session, as the broker meant it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expected {
    pub(crate) qos: QoS,
    pub(crate) packet_id: Option<u16>,
    pub(crate) dup: bool,
    pub(crate) retain: bool,
    /// The topic (alias resolved); `None` when the connection must end before it is delivered.
    pub(crate) topic: Option<String>,
    pub(crate) payload: Vec<u8>,
    /// Its property bytes (without the Property Length).
    pub(crate) props: Vec<u8>,
    /// It came with an empty topic and an alias.
    pub(crate) via_alias: bool,
}

/// A broker acknowledgement fed to the session: its reason codes and whether it had
/// properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FedAck {
    pub(crate) codes: Vec<u8>,
    pub(crate) has_props: bool,
    /// A DISCONNECT's Session Expiry Interval was present.
    pub(crate) session_expiry: bool,
}

/// What the broker did on a connection that the session may name as a protocol violation.
#[derive(Debug, Clone, Default)]
pub(crate) struct Broke {
    pub(crate) malformed: bool,
    pub(crate) unexpected: bool,
    pub(crate) connack_not_first: bool,
    pub(crate) duplicate_connack: bool,
    pub(crate) session_present_clean: bool,
    pub(crate) auth: bool,
    pub(crate) alias_invalid: BTreeSet<u16>,
    pub(crate) alias_unknown: BTreeSet<u16>,
    pub(crate) receive_maximum_exceeded: bool,
    pub(crate) session_expiry_in_disconnect: bool,
    /// A packet (or a declared length) above the session's receive limit.
    pub(crate) too_large: bool,
    /// A packet above the Maximum Packet Size of our CONNECT.
    pub(crate) above_our_maximum: bool,
    /// SUBACK or UNSUBACK packets fed (the session checks them against its requests).
    pub(crate) sub_acks: bool,
    /// The connection must end: a packet was fed that the session may not process as normal.
    pub(crate) must_end: Option<&'static str>,
}

/// One 5.0 connection: what the client asked for, what was fed to the session, what the
/// client sent.
#[derive(Debug, Default)]
pub(crate) struct ConnV5 {
    pub(crate) clean_start: bool,
    pub(crate) our_receive_maximum: u16,
    pub(crate) our_maximum_packet_size: Option<u32>,
    pub(crate) our_topic_alias_maximum: u16,
    pub(crate) connect_session_expiry: u32,
    pub(crate) keep_alive: u16,
    /// The Session Expiry Interval in force when set by `disconnect_with`.
    pub(crate) expiry_override: Option<u32>,

    // -- the broker's bytes the session took while receiving ----------------------------------
    pub(crate) fed: Vec<u8>,
    pub(crate) fed_broken: bool,
    pub(crate) packets_fed: usize,
    pub(crate) connack: Option<ConnAckView>,
    /// Topic aliases the broker set, as it meant them.
    pub(crate) aliases_in: BTreeMap<u16, String>,
    pub(crate) expected: VecDeque<Expected>,
    /// Acknowledgements by (5.0 packet type, packet id; 0 for CONNACK and DISCONNECT).
    pub(crate) acks: BTreeMap<(u8, u16), VecDeque<FedAck>>,
    /// Incoming QoS 1/2 PUBLISH ids the client has not written PUBACK or PUBCOMP for.
    pub(crate) broker_unacked: BTreeSet<u16>,
    pub(crate) broke: Broke,

    // -- the client's bytes -------------------------------------------------------------------
    /// CONNECT as written: its Session Expiry Interval and whether it had an Authentication
    /// Method.
    pub(crate) wire_connect: Option<(u32, bool)>,
    pub(crate) unacked: BTreeMap<u16, Flow>,
    /// QoS 2 ids published on this connection.
    pub(crate) published_q2: BTreeSet<u16>,
    /// PUBRECs below 0x80 fed per id, not answered by a PUBREL yet.
    pub(crate) pubrel_credit: BTreeMap<u16, usize>,
    /// Released messages whose PUBREL was sent again on resumption.
    pub(crate) resumed_pubrel: BTreeSet<u16>,
    /// Topic aliases the client set.
    pub(crate) aliases_out: BTreeMap<u16, String>,
    /// QoS 0 publishes accepted on this connection, not seen on the wire yet.
    pub(crate) qos0: VecDeque<Published>,
}

impl ConnV5 {
    /// The accepting CONNACK the session was fed.
    pub(crate) fn accepted(&self) -> Option<&ConnAckView> {
        self.connack.as_ref().filter(|c| c.code < 0x80)
    }

    pub(crate) fn must_end(&mut self, why: &'static str) {
        if self.broke.must_end.is_none() {
            trace!("  the connection must end: {why}");
            self.broke.must_end = Some(why);
        }
    }
}

/// Details of a SUBSCRIBE made with `subscribe_with`, to check its bytes.
#[derive(Debug, Clone)]
pub(crate) struct SubDetails {
    pub(crate) conn: usize,
    pub(crate) filters: Vec<(String, u8)>,
    pub(crate) props: Vec<u8>,
}

/// Counts of what a run reached (for the seed tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Stats {
    pub(crate) connected: usize,
    pub(crate) messages: usize,
    pub(crate) messages_via_alias: usize,
    pub(crate) aliases_out_set: usize,
    pub(crate) aliases_out_used: usize,
    pub(crate) acknowledged: usize,
    pub(crate) completed: usize,
    pub(crate) rejected: usize,
    pub(crate) receive_maximum_full: usize,
    pub(crate) responses: usize,
    pub(crate) error_responses: usize,
    pub(crate) server_disconnects: usize,
    pub(crate) refused: usize,
    pub(crate) violations: usize,
    pub(crate) subscribed: usize,
    pub(crate) unsubscribed: usize,
    pub(crate) client_disconnects: usize,
    pub(crate) restarts: usize,
    pub(crate) resumed: usize,
}

/// The 5.0 state of the harness.
#[derive(Debug)]
pub(crate) struct Model {
    pub(crate) setup: SetupV5,
    /// Connections by number, until their `Disconnected` is polled (the current one stays).
    pub(crate) conns: BTreeMap<usize, ConnV5>,
    /// The current connection's number (0: none yet).
    pub(crate) cur: usize,
    /// A `Response` event whose outcome event comes next.
    pub(crate) pending: Option<events::ResponseV5>,
    pub(crate) subs: BTreeMap<u16, SubDetails>,
    pub(crate) stats: Stats,
}

impl Model {
    fn new(setup: SetupV5) -> Model {
        Model {
            setup,
            conns: BTreeMap::new(),
            cur: 0,
            pending: None,
            subs: BTreeMap::new(),
            stats: Stats::default(),
        }
    }

    /// The current connection (a placeholder before the first).
    pub(crate) fn cur(&mut self) -> &mut ConnV5 {
        self.conns.entry(self.cur).or_default()
    }

    /// The session was made again over its store: no connection, no event left.
    pub(crate) fn restart(&mut self) {
        self.conns.clear();
        self.cur = 0;
        self.pending = None;
        self.subs.clear();
        self.stats.restarts += 1;
    }
}

// ---------------------------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------------------------

/// The bytes of a property list after its Property Length (`None` if it does not encode for
/// `context`).
pub(crate) fn props_bytes(p: &Properties<'_>, context: PropertyContext) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; p.encoded_len()];
    let n = p.encode(context, &mut buf).ok()?;
    buf.truncate(n);
    let len_bytes = buf.iter().take_while(|b| **b & 0x80 != 0).count() + 1;
    Some(buf.split_off(len_bytes.min(buf.len())))
}

/// A PUBLISH's properties without the Topic Alias (which the session sets itself).
pub(crate) fn without_alias(p: &Properties<'_>) -> Vec<u8> {
    let rest: Vec<Property<'_>> = p
        .iter()
        .filter(|x| x.id() != PropertyId::TopicAlias)
        .collect();
    props_bytes(&Properties::new(&rest), PropertyContext::Publish).unwrap_or_default()
}

/// A string property value from the input: up to its first U+0000, which no UTF-8 Encoded
/// String may hold [MQTT-1.5.4-2].
pub(crate) fn text<'a>(r: &mut In<'a, '_>) -> &'a str {
    let s = r.str();
    s.split('\0').next().unwrap_or_default()
}

/// DISCONNECT reason codes a client may send (the table of section 3.14.2.1).
pub(crate) const CLIENT_DISCONNECT_CODES: &[u8] = &[
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
];

/// Every DISCONNECT reason code, the client's and the server's.
pub(crate) const DISCONNECT_CODES: &[u8] = &[
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8C, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94,
    0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
];

/// Filters a 5.0 subscribe may also use: shared subscriptions, two of them malformed.
const SHARED: &[&str] = &["$share/g/a", "$share/g/#", "$share//a", "$share/g"];

// ---------------------------------------------------------------------------------------------
// Entry and commands.
// ---------------------------------------------------------------------------------------------

/// The 5.0 half of the `session` target (the input after the selector byte).
pub fn session_v5(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mut r = In::new(&mut u);
    let mut setup = Setup::read(&mut r);
    let v5 = SetupV5::read(&mut r, &mut setup);
    trace!("5.0 setup {v5:?}, {:?}", setup.config);
    crate::session::run_setup(&setup, &mut r, Some(Box::new(Model::new(v5))));
}

/// What a connect asked for, for the checks.
struct Asked {
    auth: bool,
    will_props_without_will: bool,
}

impl<S: Store + Default> Harness<S> {
    pub(crate) fn model(&mut self) -> &mut Model {
        match &mut self.v5 {
            Some(m) => m,
            None => panic!("a 5.0 step on the 3.1.1 path"),
        }
    }

    /// The 5.0 version of operation `op`; false for those the 3.1.1 half does alike.
    pub(crate) fn step_v5(&mut self, op: u8, r: &mut In<'_, '_>) -> bool {
        match op {
            2 => self.connect_v5(r),
            3 => self.publish_v5(r),
            4 => self.subscribe_v5(r),
            6 => self.disconnect_v5(r),
            7 => {
                self.broker_packet_v5(r);
                self.feed(usize::MAX);
            }
            _ => return false,
        }
        true
    }

    fn connect_v5(&mut self, r: &mut In<'_, '_>) {
        let flags = r.u8();
        let keep_alive = u16::from(r.u8());
        let expiry = match r.u8() % 6 {
            0 => None,
            1 => Some(0),
            2 => Some(10),
            3 => Some(u32::MAX),
            4 => Some(u32::from(r.u8())),
            _ => Some(1),
        };
        let extra = r.u8();
        let setup = self.model().setup;
        let (mut rm, mut mps, mut tam) = (
            setup.receive_maximum,
            setup.maximum_packet_size,
            setup.topic_alias_maximum,
        );
        if extra & 8 != 0 {
            rm = read_receive_maximum(r);
            mps = read_maximum_packet_size(r);
            tam = read_topic_alias_maximum(r);
        }
        let will_topic = Self::topic(r);
        let will_payload = r.bytes();
        let user_value = text(r);
        let mut props = Vec::new();
        if let Some(e) = expiry {
            props.push(Property::SessionExpiryInterval(e));
        }
        if let Some(v) = rm {
            props.push(Property::ReceiveMaximum(v));
        }
        if let Some(v) = mps {
            props.push(Property::MaximumPacketSize(v));
        }
        if let Some(v) = tam {
            props.push(Property::TopicAliasMaximum(v));
        }
        if extra & 1 != 0 {
            props.push(Property::RequestProblemInformation(extra & 0x40 != 0));
        }
        if extra & 2 != 0 {
            props.push(Property::UserProperty("k", user_value));
        }
        if extra & 0x10 != 0 {
            // Enhanced authentication, which the session refuses for now.
            props.push(Property::AuthenticationMethod("SCRAM-SHA-1"));
        }
        let will = flags & 2 != 0;
        let mut will_props = Vec::new();
        if extra & 4 != 0 {
            will_props.push(Property::WillDelayInterval(u32::from(keep_alive)));
            will_props.push(Property::PayloadFormatIndicator(true));
        }
        if extra & 0x20 != 0 {
            will_props.push(Property::ContentType("text/plain"));
        }
        let asked = Asked {
            auth: extra & 0x10 != 0,
            will_props_without_will: !will && !will_props.is_empty(),
        };
        let client_id = if flags & 16 != 0 { "" } else { "fuzz-client" };
        let options = ConnectOptionsV5 {
            options: ConnectOptions {
                client_id,
                clean_session: flags & 1 != 0,
                keep_alive,
                username: (flags & 4 != 0).then_some("user"),
                password: (flags & 8 != 0).then_some(b"secret".as_slice()),
                will: will.then_some(LastWill {
                    topic: will_topic,
                    payload: will_payload,
                    qos: qos_of(flags >> 5),
                    retain: flags & 0x80 != 0,
                }),
            },
            properties: Properties::new(&props),
            will_properties: Properties::new(&will_props),
        };
        let before = self.session.state();
        let limit = self.session.max_incoming_packet();
        match self.session.connect(self.now(), &options) {
            Ok(()) => {
                assert_eq!(before, State::TransportUp, "connect accepted in {before:?}");
                assert_eq!(self.session.state(), State::Connecting);
                assert!(!asked.auth, "an Authentication Method accepted");
                assert!(
                    !asked.will_props_without_will,
                    "will properties without a will"
                );
                assert!(
                    mps.is_none_or(|m| usize::try_from(m).is_ok_and(|m| m <= limit)),
                    "a Maximum Packet Size of {mps:?} accepted above the {limit}-byte limit"
                );
                assert_eq!(self.session.protocol(), ProtocolVersion::V5);
                self.conn_no += 1;
                self.conns.push_back(Conn {
                    no: self.conn_no,
                    clean_session: options.options.clean_session,
                    connected_seen: false,
                });
                self.wire = Wire::default();
                let no = self.conn_no;
                let m = self.model();
                m.cur = no;
                m.conns.insert(
                    no,
                    ConnV5 {
                        clean_start: options.options.clean_session,
                        our_receive_maximum: rm.unwrap_or(u16::MAX),
                        our_maximum_packet_size: mps,
                        our_topic_alias_maximum: tam.unwrap_or(0),
                        connect_session_expiry: expiry.unwrap_or(0),
                        keep_alive,
                        ..ConnV5::default()
                    },
                );
            }
            Err(e) => {
                assert_eq!(
                    self.session.state(),
                    before,
                    "a refused connect changed the state"
                );
                match e {
                    CommandError::TransportDown => {
                        assert!(matches!(before, State::TransportDown | State::Closed));
                    }
                    CommandError::AlreadyConnected => assert!(matches!(
                        before,
                        State::Connecting | State::Connected | State::Disconnecting
                    )),
                    CommandError::EnhancedAuthUnsupported => assert!(asked.auth),
                    CommandError::WillPropertiesWithoutWill => {
                        assert!(asked.will_props_without_will);
                    }
                    CommandError::MaximumPacketSizeTooLarge { limit: l } => {
                        assert_eq!(l, limit);
                        assert!(mps.is_some_and(|m| usize::try_from(m).is_ok_and(|m| m > l)));
                    }
                    CommandError::PacketTooLarge { required } => {
                        assert!(required > self.tx_len);
                    }
                    CommandError::EmptyClientIdWithoutCleanSession
                    | CommandError::TopicAliasesUnavailable => {
                        // 5.0 allows an empty client id with Clean Start 0 (the server may
                        // refuse it, 0x85); incoming aliases are there with `alloc`.
                        panic!("connect refused: {e:?}")
                    }
                    _ => {}
                }
            }
        }
    }

    fn publish_v5(&mut self, r: &mut In<'_, '_>) {
        let flags = r.u8();
        let qos = qos_of(flags);
        let retain = flags & 4 != 0;
        let topic = Self::topic(r);
        let payload = r.bytes();
        let p = if flags & 8 != 0 { r.u8() } else { 0 };
        let correlation = if p & 0x10 != 0 { r.bytes() } else { &[] };
        let user_value = if p & 0x20 != 0 { text(r) } else { "" };
        let mut props = Vec::new();
        if p & 1 != 0 {
            props.push(Property::PayloadFormatIndicator(p & 0x80 == 0));
        }
        if p & 2 != 0 {
            props.push(Property::MessageExpiryInterval(u32::from(flags)));
        }
        if p & 4 != 0 {
            props.push(Property::ContentType("text/plain"));
        }
        if let Some(t) = (p & 8 != 0)
            .then(|| mqtt_proto::TopicName::new("reply/to").ok())
            .flatten()
        {
            props.push(Property::ResponseTopic(t));
        }
        if p & 0x10 != 0 {
            props.push(Property::CorrelationData(correlation));
        }
        if p & 0x20 != 0 {
            props.push(Property::UserProperty("k", user_value));
        }
        // Properties a client may not send in PUBLISH, or that the session sets itself.
        let mut forbidden = false;
        let mut invalid = false;
        if p & 0x40 != 0 {
            match flags >> 4 {
                0..=4 => {
                    props.push(Property::SubscriptionIdentifier(1));
                    forbidden = true;
                }
                5..=9 => {
                    props.push(Property::TopicAlias(1));
                    forbidden = true;
                }
                10..=12 => {
                    props.push(Property::ReasonString("no"));
                    invalid = true;
                }
                _ => {
                    props.push(Property::ContentType("a"));
                    props.push(Property::ContentType("b"));
                    invalid = true;
                }
            }
        }
        let properties = Properties::new(&props);
        let props_wire = props_bytes(&properties, PropertyContext::Publish);
        let topic_ok = mqtt_proto::TopicName::new(topic).is_ok();
        let before_state = self.session.state();
        let limits = self.session.server_limits();
        let protocol = self.session.protocol();
        let store = self.session.store();
        let settled = self
            .pending_drop
            .take()
            .is_some_and(|id| store.outgoing_position(pid(id)).is_some());
        let before_len = store.outgoing_len() - usize::from(settled);
        let result =
            self.session
                .publish_with(self.now(), topic, payload, qos, retain, &properties);
        trace!("  publish_with {qos:?} {topic:?} {props:?}: {result:?}");
        if result.is_ok() {
            assert!(topic_ok, "published to an invalid topic {topic:?}");
            assert!(!forbidden && !invalid, "published with {props:?}");
            if before_state == State::Connected {
                let l = limits.unwrap_or_else(|| panic!("connected without server limits"));
                assert!(
                    qos.as_u8() <= l.maximum_qos.as_u8(),
                    "QoS above the maximum"
                );
                assert!(
                    !retain || l.retain_available,
                    "RETAIN without Retain Available"
                );
            }
        }
        match result {
            Ok(None) => {
                assert_eq!(qos, QoS::AtMostOnce);
                assert_eq!(before_state, State::Connected);
                assert_eq!(self.session.store().outgoing_len(), before_len);
                let published = Published {
                    qos,
                    retain,
                    topic: topic.to_owned(),
                    payload: payload.to_vec(),
                    props: props_wire.unwrap_or_default(),
                };
                self.model().cur().qos0.push_back(published);
            }
            Ok(Some(id)) => {
                assert_ne!(qos, QoS::AtMostOnce);
                assert!(
                    before_state == State::Connected || self.config.offline_publish,
                    "a QoS {} publish accepted in {before_state:?}",
                    qos.as_u8()
                );
                self.check_new_id(id);
                assert_eq!(self.session.store().outgoing_len(), before_len + 1);
                let held = self.session.store().outgoing(before_len);
                assert!(
                    matches!(held, Some(m) if m.packet_id == id && m.topic == topic && m.payload == payload && m.qos == qos && m.retain == retain),
                    "the store holds {held:?} for publish {}",
                    id.get()
                );
                self.published.insert(
                    id.get(),
                    Published {
                        qos,
                        retain,
                        topic: topic.to_owned(),
                        payload: payload.to_vec(),
                        props: props_wire.unwrap_or_default(),
                    },
                );
                self.remember_id(id.get());
            }
            Err(e) => {
                assert_eq!(self.session.store().outgoing_len(), before_len);
                assert_eq!(self.session.state(), before_state);
                match e {
                    CommandError::NotConnected => assert_ne!(before_state, State::Connected),
                    CommandError::RequiresV5 => {
                        assert_eq!(protocol, ProtocolVersion::V311);
                        assert!(!props.is_empty());
                    }
                    CommandError::Invalid(_) => assert!(!topic_ok || invalid),
                    CommandError::PropertyNotAllowed => assert!(forbidden),
                    CommandError::StoredPropertiesUnsupported => {
                        assert!(qos != QoS::AtMostOnce && !props.is_empty());
                    }
                    CommandError::QoSNotSupported { maximum } => {
                        let l = limits.unwrap_or_else(|| panic!("{e:?} without limits"));
                        assert_eq!(maximum, l.maximum_qos);
                        assert!(qos.as_u8() > maximum.as_u8());
                    }
                    CommandError::RetainNotSupported => {
                        assert!(retain && limits.is_some_and(|l| !l.retain_available));
                    }
                    CommandError::PacketTooLargeForServer { required, maximum } => {
                        let l = limits.unwrap_or_else(|| panic!("{e:?} without limits"));
                        assert_eq!(l.maximum_packet_size, Some(maximum));
                        assert!(usize::try_from(maximum).is_ok_and(|m| required > m));
                    }
                    _ => {}
                }
            }
        }
    }

    fn subscribe_v5(&mut self, r: &mut In<'_, '_>) {
        let n = usize::from(r.u8() % 5);
        let mut filters: Vec<(&str, SubscriptionOptions)> = Vec::new();
        for _ in 0..n {
            let b = r.u8();
            let filter = match b {
                0xFF => r.str(),
                0x80..=0xFE => SHARED[usize::from(b) % SHARED.len()],
                _ => crate::session::FILTERS[usize::from(b) % crate::session::FILTERS.len()],
            };
            let o = r.u8();
            filters.push((
                filter,
                SubscriptionOptions {
                    qos: qos_of(o),
                    no_local: o & 4 != 0,
                    retain_as_published: o & 8 != 0,
                    retain_handling: match (o >> 4) % 3 {
                        0 => RetainHandling::SendAtSubscribe,
                        1 => RetainHandling::SendIfNew,
                        _ => RetainHandling::DoNotSend,
                    },
                },
            ));
        }
        let p = r.u8();
        // The 3.1.1 command on a 5.0 connection: maximum QoS only, no properties.
        let plain = p & 0x80 != 0;
        if plain {
            for (_, o) in &mut filters {
                *o = SubscriptionOptions::new(o.qos);
            }
        }
        let p = if plain { 0 } else { p };
        let user_value = if p & 4 != 0 { text(r) } else { "" };
        let mut props = Vec::new();
        if p & 1 != 0 {
            let id = if p & 2 != 0 { 0 } else { u32::from(r.u8()) + 1 };
            props.push(Property::SubscriptionIdentifier(id));
        }
        if p & 4 != 0 {
            props.push(Property::UserProperty("k", user_value));
        }
        if p & 8 != 0 {
            props.push(Property::TopicAlias(1));
        }
        let properties = Properties::new(&props);
        let props_wire = props_bytes(&properties, PropertyContext::Subscribe);
        // What the session must refuse.
        let mut invalid = props_wire.is_none();
        let mut wildcard = false;
        let mut shared = false;
        for (f, o) in &filters {
            match mqtt_proto::TopicFilter::new(f) {
                Ok(tf) => match mqtt_proto::v5::shared_subscription(tf) {
                    Ok(s) => {
                        shared |= s;
                        invalid |= s && o.no_local;
                    }
                    Err(_) => invalid = true,
                },
                Err(_) => invalid = true,
            }
            wildcard |= f.contains(['+', '#']);
        }
        let subscription_id = props
            .iter()
            .any(|x| x.id() == PropertyId::SubscriptionIdentifier);
        let before = self.session.state();
        let limits = self.session.server_limits();
        let protocol = self.session.protocol();
        let result = if plain {
            let pairs: Vec<(&str, QoS)> = filters.iter().map(|(f, o)| (*f, o.qos)).collect();
            self.session.subscribe(self.now(), &pairs)
        } else {
            self.session
                .subscribe_with(self.now(), &filters, &properties)
        };
        trace!("  subscribe (plain: {plain}) {filters:?} {props:?}: {result:?}");
        match result {
            Ok(id) => {
                assert_eq!(before, State::Connected);
                assert!(
                    n > 0 && !invalid,
                    "subscribed to {filters:?} with {props:?}"
                );
                let l = limits.unwrap_or_else(|| panic!("connected without server limits"));
                assert!(
                    !subscription_id || l.subscription_identifiers_available,
                    "a Subscription Identifier accepted, the broker offers none"
                );
                assert!(
                    !shared || l.shared_subscription_available,
                    "a shared subscription accepted, the broker offers none"
                );
                assert!(
                    !wildcard || l.wildcard_subscription_available,
                    "a wildcard subscription accepted, the broker offers none"
                );
                self.check_new_id(id);
                self.requests
                    .insert(id.get(), (Request::Subscribe(n), self.conn_no));
                self.issued
                    .insert(id.get(), (Request::Subscribe(n), self.conn_no));
                self.remember_id(id.get());
                let details = SubDetails {
                    conn: self.conn_no,
                    filters: filters
                        .iter()
                        .map(|(f, o)| ((*f).to_owned(), o.as_u8()))
                        .collect(),
                    props: props_wire.unwrap_or_default(),
                };
                self.model().subs.insert(id.get(), details);
            }
            Err(e) => {
                assert_eq!(self.session.state(), before);
                match e {
                    CommandError::RequiresV5 => {
                        assert!(!plain);
                        assert_eq!(protocol, ProtocolVersion::V311);
                    }
                    CommandError::NoFilters => assert_eq!(n, 0),
                    CommandError::Invalid(_) => assert!(invalid, "{e:?} for {filters:?}"),
                    CommandError::NotAvailableOnServer => {
                        let l = limits.unwrap_or_else(|| panic!("{e:?} without limits"));
                        assert!(
                            (subscription_id && !l.subscription_identifiers_available)
                                || (shared && !l.shared_subscription_available)
                                || (wildcard && !l.wildcard_subscription_available),
                            "{e:?} for {filters:?} under {l:?}"
                        );
                    }
                    CommandError::PacketTooLargeForServer { required, maximum } => {
                        let l = limits.unwrap_or_else(|| panic!("{e:?} without limits"));
                        assert_eq!(l.maximum_packet_size, Some(maximum));
                        assert!(usize::try_from(maximum).is_ok_and(|m| required > m));
                    }
                    _ => {}
                }
            }
        }
    }

    fn disconnect_v5(&mut self, r: &mut In<'_, '_>) {
        let b = r.u8();
        let before = self.session.state();
        if b & 1 == 0 {
            let res = self.session.disconnect(self.now());
            assert_eq!(
                res.is_ok(),
                matches!(before, State::Connecting | State::Connected),
                "disconnect in {before:?}: {res:?}"
            );
            return;
        }
        let code_byte = DISCONNECT_CODES[usize::from(r.u8()) % DISCONNECT_CODES.len()];
        let Ok(code) = DisconnectReasonCode::from_u8(code_byte) else {
            panic!("0x{code_byte:02X} is in the list of DISCONNECT codes");
        };
        let p = r.u8();
        let reason = if p & 8 != 0 { text(r) } else { "" };
        let mut props = Vec::new();
        let expiry = (p & 1 != 0).then_some(match (p >> 1) & 3 {
            0 => 0,
            1 => 1,
            2 => 3600,
            _ => u32::MAX,
        });
        if let Some(e) = expiry {
            props.push(Property::SessionExpiryInterval(e));
        }
        if p & 8 != 0 {
            props.push(Property::ReasonString(reason));
        }
        if p & 0x10 != 0 {
            props.push(Property::UserProperty("k", "v"));
        }
        if p & 0x20 != 0 {
            props.push(Property::ServerReference("elsewhere"));
        }
        // Section 3.14.2.1: some codes only a server sends.
        let server_only = !CLIENT_DISCONNECT_CODES.contains(&code_byte);
        let invalid = p & 0x40 != 0;
        if invalid {
            props.push(Property::TopicAlias(1));
        }
        let protocol = self.session.protocol();
        let limits = self.session.server_limits();
        let options = DisconnectOptions {
            reason_code: code,
            properties: Properties::new(&props),
        };
        let res = self.session.disconnect_with(self.now(), &options);
        trace!("  disconnect_with {code:?} {props:?}: {res:?}");
        let connect_expiry = self.model().cur().connect_session_expiry;
        match res {
            Ok(()) => {
                assert!(matches!(before, State::Connecting | State::Connected));
                assert_eq!(self.session.state(), State::Disconnecting);
                assert!(!invalid, "disconnect_with accepted {props:?}");
                assert!(
                    !server_only,
                    "disconnect_with accepted 0x{code_byte:02X}, a server's reason code"
                );
                assert!(
                    expiry.is_none_or(|e| e == 0 || connect_expiry > 0),
                    "a Session Expiry Interval of {expiry:?} after a CONNECT with 0"
                );
                if let Some(e) = expiry {
                    self.model().cur().expiry_override = Some(e);
                }
            }
            Err(e) => {
                assert_eq!(self.session.state(), before);
                match e {
                    CommandError::NotConnected => {
                        assert!(!matches!(before, State::Connecting | State::Connected));
                    }
                    CommandError::RequiresV5 => assert_eq!(protocol, ProtocolVersion::V311),
                    CommandError::SessionExpiryAfterZero => {
                        assert!(expiry.is_some_and(|e| e > 0) && connect_expiry == 0);
                    }
                    CommandError::Invalid(_) => assert!(invalid || server_only),
                    CommandError::PacketTooLargeForServer { required, maximum } => {
                        let l = limits.unwrap_or_else(|| panic!("{e:?} without limits"));
                        assert_eq!(l.maximum_packet_size, Some(maximum));
                        assert!(usize::try_from(maximum).is_ok_and(|m| required > m));
                    }
                    _ => {}
                }
            }
        }
    }

    /// 5.0 invariants that hold after every step.
    pub(crate) fn check_v5(&mut self) {
        let limits = self.session.server_limits();
        let inflight = self.session.inflight();
        let window = self.window;
        let m = self.model();
        let Some(l) = limits else {
            return;
        };
        let c = m.cur();
        let Some(v) = c.accepted().copied() else {
            panic!("server limits {l:?} without an accepting CONNACK fed");
        };
        assert_eq!(
            (
                l.receive_maximum,
                l.maximum_packet_size,
                l.topic_alias_maximum,
                l.maximum_qos,
                l.retain_available
            ),
            (
                v.receive_maximum,
                v.maximum_packet_size,
                v.topic_alias_maximum,
                v.maximum_qos,
                v.retain_available
            ),
            "the server limits are not the CONNACK's"
        );
        assert_eq!(
            (
                l.wildcard_subscription_available,
                l.subscription_identifiers_available,
                l.shared_subscription_available,
                l.keep_alive,
            ),
            (
                v.wildcard,
                v.subscription_identifiers,
                v.shared,
                v.keep_alive
            ),
            "the server limits are not the CONNACK's"
        );
        let expiry = c.expiry_override.unwrap_or(v.session_expiry);
        assert_eq!(l.session_expiry_interval, expiry, "session expiry in force");
        let rm = usize::from(l.receive_maximum.max(1));
        assert!(
            inflight <= window.min(rm),
            "{inflight} in flight, window {window}, Receive Maximum {rm}"
        );
    }

    /// After a drain (nothing to poll, nothing to send): a connection fed a packet that must
    /// end it has ended.
    pub(crate) fn drained_v5(&mut self) {
        let active = matches!(
            self.session.state(),
            State::Connecting | State::Connected | State::Disconnecting
        );
        let m = self.model();
        let cur = m.cur;
        let c = m.cur();
        if let Some(why) = c.broke.must_end {
            assert!(
                !active,
                "connection {cur} still up after the broker sent {why}"
            );
        }
    }
}
