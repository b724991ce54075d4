//! The 5.0 setup and the model: what a connection asked for, what the broker's bytes fed to
//! the session mean, what the client sent.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use mqtt_proto::QoS;
use mqtt_proto::v5::{Properties, Property, PropertyContext, PropertyId};

use crate::input::In;
use crate::session::{Published, Setup, trace};

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
pub(crate) fn read_receive_maximum(r: &mut In<'_, '_>) -> Option<u16> {
    match r.u8() {
        0 => None,
        0xFF => Some(r.u16().max(1)),
        b => Some(u16::from(b)),
    }
}

/// A Maximum Packet Size: absent, 8 to 2,032 in steps of 8, or any value from 4 up. Below 4
/// not even an acknowledgement fits, which no client could honour, so none is generated.
pub(crate) fn read_maximum_packet_size(r: &mut In<'_, '_>) -> Option<u32> {
    match r.u8() {
        0 => None,
        0xFF => Some((u32::from(r.u16()) << 16 | u32::from(r.u16())).max(4)),
        b => Some(u32::from(b) * 8),
    }
}

/// A Topic Alias Maximum: absent, 0 to 15, or any value.
pub(crate) fn read_topic_alias_maximum(r: &mut In<'_, '_>) -> Option<u16> {
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
    pub(crate) fn read(r: &mut In<'_, '_>, setup: &mut Setup) -> SetupV5 {
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
    /// Session present 1 when the client's session had ended (Session Expiry 0 on the last
    /// connection, or another client id) [MQTT-3.2.2-4].
    pub(crate) session_present_without_session: bool,
    /// The connection asked for enhanced authentication, which the cooperative broker does
    /// not do: the session ends it as the AUTH rules say.
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

/// Whether the session took a CONNACK's limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Taken {
    /// No CONNACK, or one that ended the connection.
    #[default]
    No,
    /// One the session may or may not have refused.
    Maybe,
    Yes,
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
    /// The client had no session when this connection began (the last one ended it, or the
    /// client id changed).
    pub(crate) no_session: bool,

    // -- the broker's bytes the session took while receiving ----------------------------------
    pub(crate) fed: Vec<u8>,
    pub(crate) fed_broken: bool,
    pub(crate) packets_fed: usize,
    /// An AUTH 0x18 of the broker's, in turn, awaits the application's answer (the harness
    /// never gives one: the next AUTH or CONNACK is out of turn).
    pub(crate) auth_awaiting: bool,
    /// Whether the session took the CONNACK's limits (its Session Expiry among them): not
    /// when feeding it ended the connection, perhaps when it said session present 1 where
    /// the client may hold no session.
    pub(crate) connack_taken: Taken,
    pub(crate) connack: Option<ConnAckView>,
    /// Topic aliases the broker set, as it meant them.
    pub(crate) aliases_in: BTreeMap<u16, String>,
    pub(crate) expected: VecDeque<Expected>,
    /// Acknowledgements by (5.0 packet type, packet id; 0 for CONNACK and DISCONNECT).
    pub(crate) acks: BTreeMap<(u8, u16), VecDeque<FedAck>>,
    /// Incoming QoS 1 PUBLISH packets the client has not written a PUBACK for, counted by
    /// packet id: [MQTT-3.3.4-9] counts PUBLISH packets, so a second one with an id whose
    /// PUBACK is still unwritten counts again.
    pub(crate) broker_unacked_qos1: BTreeMap<u16, usize>,
    /// Incoming QoS 2 PUBLISH ids the client has not written PUBCOMP (or an error PUBREC) for.
    pub(crate) broker_unacked_qos2: BTreeSet<u16>,
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
    pub(crate) pending: Option<super::events::ResponseV5>,
    pub(crate) subs: BTreeMap<u16, SubDetails>,
    pub(crate) stats: Stats,
    /// The client's session ended and no CONNACK has accepted a connection since.
    pub(crate) session_ended: bool,
    /// The client id of the last CONNECT (the held state belongs to it).
    pub(crate) last_client_id: Option<&'static str>,
}

impl Model {
    pub(crate) fn new(setup: SetupV5) -> Model {
        Model {
            setup,
            conns: BTreeMap::new(),
            cur: 0,
            pending: None,
            subs: BTreeMap::new(),
            stats: Stats::default(),
            session_ended: false,
            last_client_id: None,
        }
    }

    /// The current connection (a placeholder before the first).
    pub(crate) fn cur(&mut self) -> &mut ConnV5 {
        self.conns.entry(self.cur).or_default()
    }

    /// The session was made again over its store: no connection, no event left.
    pub(crate) fn restart(&mut self) {
        self.session_ended = false;
        self.last_client_id = None;
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
pub(crate) const SHARED: &[&str] = &["$share/g/a", "$share/g/#", "$share//a", "$share/g"];
