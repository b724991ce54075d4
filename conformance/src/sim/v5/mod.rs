//! The 5.0 runs of the simulation: the same session, network and plan as the 3.1.1 runs, over
//! a 5.0 connection to the 5.0 broker model ([`BrokerModelV5`]).
//!
//! The client connects with `ConnectOptionsV5`: Clean Start 0 and a Session Expiry Interval
//! (mostly long, sometimes 1 to 3 s, so that a reconnect finds the broker's session gone),
//! sometimes a small Receive Maximum, a Topic Alias Maximum and a Maximum Packet Size of its
//! own; its `Config` sets outgoing topic aliases and a [`SessionLostPolicy`]. The application
//! publishes with `publish` and `publish_with` (User Properties, a Message Expiry Interval),
//! subscribes with `subscribe_with` (a Subscription Identifier sometimes), and ends sessions:
//! DISCONNECT with Session Expiry 0 (then Clean Start 1 until a CONNACK accepts a connection,
//! or sometimes 0 anyway), Session Expiry 1 on DISCONNECT, an occasional Clean Start 1. The broker model adds flow control,
//! topic aliases both ways, message expiry, reason codes and DISCONNECTs of its own.
//!
//! Checked besides the checks of the 3.1.1 runs that apply (packet ids, CONNECT first, nothing
//! after DISCONNECT, DUP and resend order, acknowledgement order, keep alive with the Server
//! Keep Alive in force, delivery counts and order):
//!
//! - never more unacknowledged QoS 1/2 PUBLISH on a connection than the broker's Receive
//!   Maximum (PUBACK, PUBCOMP, or PUBREC of 0x80 or more, on that connection, acknowledge one);
//! - outgoing Topic Aliases within the broker's Topic Alias Maximum (none when absent) and the
//!   configured number, an empty topic only with an alias set earlier on the same connection,
//!   and the topic a PUBLISH resolves to is its message's;
//! - every send of a message (first, resend, republish) carries its User Properties and a
//!   Message Expiry Interval no larger than the published one less the whole seconds since,
//!   never a Subscription Identifier; a resend keeps its packet id, a republish after a lost
//!   session has the new id and DUP=0 (unless the process restarted since, when the store
//!   cannot tell);
//! - no packet above the broker's Maximum Packet Size;
//! - messages reach the application under their full topic (aliases resolved) with their User
//!   Properties, a Message Expiry Interval no larger than published, the Subscription
//!   Identifier of the subscription;
//! - after a session-ending event (Session Expiry 0 on DISCONNECT, Clean Start 1, Session
//!   Present 0 on resumption) every held message is republished or reported as
//!   `Config::session_lost` says (`Republished`, `PublishAcceptedSessionEnded` for a QoS 2
//!   message whose PUBREC arrived, `PublishDropped`), never silently lost; an expiry report only
//!   for a message never written in its session, once its lifetime is over; Session Present 1
//!   when the client has no session state closes the connection with DISCONNECT 0x82.
//!
//! At the end the delivery counts are checked against what happened: at the broker per the
//! client's outcome of each message (QoS 1 acknowledged at least once, QoS 2 completed exactly
//! once, one more copy allowed per republish and per QoS 2 state the broker lost with a session
//! it let expire while the client, a CONNACK lost, took it for present), at the application per
//! the fate of each copy the broker routed (completed copies arrive, QoS 2 exactly once each);
//! per topic, the broker's first acceptances come in publish order and the application's first
//! delivery of each copy in the order the broker routed them.

mod app;
pub(super) use app::Got;
pub mod broker;
mod checks;
mod deliver;
mod incoming;
mod observe;

use std::collections::{BTreeMap, BTreeSet};

use mqtt_session::{Config, SessionLostPolicy};

pub use broker::BrokerModelV5;

use super::rng::Rng;

/// What a 5.0 run's client asks for, chosen per seed.
#[derive(Debug, Clone, Default)]
pub(super) struct Params {
    /// Session Expiry Interval of every CONNECT.
    pub session_expiry: u32,
    /// Our Receive Maximum, if sent.
    pub receive_maximum: Option<u16>,
    /// Our Topic Alias Maximum, if sent.
    pub topic_alias_maximum: Option<u16>,
    /// Send the receive buffer's length as our Maximum Packet Size.
    pub maximum_packet_size: bool,
    /// Subscription Identifier of the `sim/#` subscription.
    pub sub_id: Option<u32>,
}

impl Params {
    pub(super) fn choose(rng: &mut Rng) -> Self {
        Params {
            session_expiry: if rng.percent(25) {
                rng.range(1, 3) as u32
            } else {
                [3600, u32::MAX][rng.index(2)]
            },
            receive_maximum: rng.percent(40).then(|| rng.range(1, 5) as u16),
            topic_alias_maximum: rng.percent(50).then(|| rng.range(1, 3) as u16),
            maximum_packet_size: rng.percent(30),
            sub_id: rng.percent(50).then(|| rng.range(1, 300) as u32),
        }
    }
}

/// The 5.0 parts of a client's configuration.
pub(super) fn configure(rng: &mut Rng, config: Config) -> Config {
    let policy = if rng.percent(50) {
        SessionLostPolicy::Resend
    } else {
        SessionLostPolicy::Drop
    };
    config
        .with_outgoing_topic_aliases(rng.range(0, 4) as u16)
        .with_session_lost(policy)
}

/// User Properties and Message Expiry Interval of a planned message (none, some, or both).
pub(super) fn planned_properties(
    rng: &mut Rng,
    seq: usize,
) -> (Vec<(String, String)>, Option<u32>) {
    let mut user = Vec::new();
    if rng.percent(40) {
        user.push(("seq".to_owned(), format!("m{seq}")));
        if rng.percent(30) {
            user.push(("k".to_owned(), "v".to_owned()));
            user.push(("seq".to_owned(), "again".to_owned()));
        }
    }
    let expiry = match rng.below(100) {
        0..15 => Some(rng.range(1, 10) as u32),
        15..30 => Some(3600),
        _ => None,
    };
    (user, expiry)
}

/// What the client's CONNACK allowed on the current connection, as the client received it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Allowed {
    pub receive_maximum: u16,
    pub topic_alias_maximum: u16,
    pub maximum_packet_size: Option<u32>,
    pub keep_alive: u16,
}

/// The 5.0 view of the current connection's bytes.
#[derive(Debug, Default)]
pub(super) struct Wire5 {
    /// Set once the client took the CONNACK.
    pub allowed: Option<Allowed>,
    /// Ids of QoS 1/2 PUBLISH packets written on this connection and not acknowledged on it.
    pub unacked: BTreeSet<u16>,
    /// Our aliases on this connection.
    pub aliases: BTreeMap<u16, String>,
    /// The CONNACK said Session Present 1 although the client has no session state: only
    /// DISCONNECT 0x82 may follow.
    pub expect_close: bool,
    /// Clean Start of this connection's CONNECT.
    pub clean_start: bool,
}

/// How a message of the plan ended at the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Acknowledged,
    Completed,
    AcceptedSessionEnded,
    Dropped,
    /// Dropped after its PUBREC: the broker had accepted it.
    DroppedAccepted,
    Expired,
}

/// Counts of a 5.0 run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats5 {
    /// DISCONNECT packets from the broker.
    pub server_disconnects: usize,
    /// Connections with Clean Start 1.
    pub clean_starts: usize,
    /// DISCONNECT packets of the client's with Session Expiry Interval 0.
    pub expiry_zero_disconnects: usize,
    /// CONNACKs with Session Present 0 on a connection meant to resume.
    pub not_resumed: usize,
    /// Connections the client closed (DISCONNECT 0x82) after Session Present 1 without
    /// session state of its own.
    pub present_without_session: usize,
    /// `Republished`, `PublishDropped`, `PublishAcceptedSessionEnded` events.
    pub republished: usize,
    /// See `republished`.
    pub dropped: usize,
    /// See `republished`.
    pub accepted_session_ended: usize,
    /// `PublishExpired` events.
    pub expired: usize,
    /// Copies the broker deleted unsent, their expiry passed.
    pub expired_at_broker: usize,
    /// PUBLISH packets the client sent with a Topic Alias: with the topic (setting it), and
    /// with an empty topic (using it alone).
    pub aliases_out: (usize, usize),
    /// The same for the PUBLISH packets the client received.
    pub aliases_in: (usize, usize),
    /// Times the client had as many unacknowledged PUBLISH as the broker's Receive Maximum.
    pub receive_maximum_reached: usize,
    /// Acknowledgements with 0x10 No matching subscribers.
    pub no_matching_subscribers: usize,
    /// PUBCOMP with 0x92 Packet Identifier not found.
    pub pubcomp_not_found: usize,
}

impl V5 {
    pub(super) fn with(params: Params) -> Self {
        V5 {
            params,
            ..V5::default()
        }
    }
}

/// The 5.0 state of a run: the seed's choices and what the application knows.
#[derive(Debug, Default)]
pub(super) struct V5 {
    pub params: Params,
    pub wire: Wire5,
    /// The client has no session state (it ended one, and no CONNACK accepted a connection
    /// since): the next CONNECT wants Clean Start 1.
    pub session_gone: bool,
    /// `disconnect_with` Session Expiry 0 was accepted: the session ends with this connection.
    pub ending: bool,
    /// Ids held when a session ended: the ones the session may hand back.
    pub orphans: BTreeSet<u16>,
    /// When the application published each message (virtual ms).
    pub published_at: BTreeMap<usize, u64>,
    /// How often each message was republished.
    pub republished: BTreeMap<usize, usize>,
    /// How each message ended.
    pub outcome: BTreeMap<usize, Outcome>,
    /// QoS 2 messages whose PUBREC the client received (in their current flow).
    pub pubrec: BTreeSet<usize>,
    /// Whether a CONNACK ever accepted a connection.
    pub ever_connected: bool,
    /// The process restarted since the last CONNACK.
    pub restarted: bool,
    /// Messages republished since the last restart: their next PUBLISH is a first send.
    pub fresh: BTreeSet<usize>,
    /// The packet id of each message the application received (`Sim::delivered`, in order).
    pub delivered_ids: Vec<Option<u16>>,
}
