//! The reference broker model of the 5.0 runs: the 3.1.1 model ([`super::broker`]) in 5.0
//! terms, for one client id, written from the standard (not from the client's code). It decodes
//! with `mqtt_proto::v5::Decoder` and writes with the hand-written [`wire5`].
//!
//! - Sessions: Clean Start 1 discards the session; with Clean Start 0 it is resumed (Session
//!   Present 1) unless its Session Expiry Interval (the CONNECT's, or the last DISCONNECT's)
//!   ran out since its connection closed; an interval of 0 ends it with the connection. A
//!   discarded session takes its subscriptions and its messages to the client with it.
//! - CONNACK: per connection a Receive Maximum (small, so flow control bites), a Topic Alias
//!   Maximum, a Maximum Packet Size and a Server Keep Alive, each sometimes ([`Limits`]).
//! - From the client: Topic Aliases resolved per connection; PUBACK/PUBREC 0x00, or 0x10 No
//!   matching subscribers (sometimes with a Reason String); QoS 2 "method A"; PUBCOMP 0x92
//!   Packet Identifier not found for a PUBREL of an id it does not hold.
//! - To the client: at most the client's Receive Maximum QoS 1/2 PUBLISH unacknowledged, the
//!   same packet ids and DUP=1 on resumption, never a resend at another time; Topic Aliases
//!   within the client's Topic Alias Maximum (set, used with an empty topic, set again, and
//!   mapped to another topic when the table is full); the Message Expiry Interval counted down,
//!   a copy whose interval passed before it was first sent deleted; the subscription's
//!   Subscription Identifier; sometimes a DISCONNECT with a reason code
//!   ([`BrokerModelV5::server_disconnect`]).
//!
//! The fate of every copy routed to the client is recorded ([`Routed`]), so the end of a run
//! can say what the application had to receive. What the client does wrong is recorded in
//! [`BrokerModelV5::violations`]: a packet before CONNECT, a malformed packet, one above the
//! CONNACK's Maximum Packet Size, a Topic Alias above its Topic Alias Maximum or one not set on
//! this connection, a Subscription Identifier in a PUBLISH, a QoS 2 id reused for another
//! message, a packet a server never receives.

use std::collections::{BTreeMap, VecDeque};

use mqtt_proto::QoS;
use mqtt_proto::v5::{Decoder, Packet};

use crate::sim::rng::Rng;
use crate::v5::wire5;

/// What the CONNACK of a connection allows the client. `None`/`u16::MAX`/0: the property is
/// absent (its default applies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Receive Maximum (65,535: absent).
    pub receive_maximum: u16,
    /// Topic Alias Maximum (0: absent).
    pub topic_alias_maximum: u16,
    /// Maximum Packet Size.
    pub maximum_packet_size: Option<u32>,
    /// Server Keep Alive.
    pub server_keep_alive: Option<u16>,
}

/// A message the broker took ownership of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted5 {
    /// Topic (an alias resolved).
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// QoS of the PUBLISH.
    pub qos: QoS,
    /// User Properties, in order.
    pub user: Vec<(String, String)>,
    /// Message Expiry Interval.
    pub expiry: Option<u32>,
}

/// What became of a copy routed to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// QoS 1/2 still queued or in flight.
    Pending,
    /// QoS 1/2: PUBACK or PUBCOMP received.
    Completed,
    /// QoS 1/2: its Message Expiry Interval passed before it was first sent: deleted.
    Expired,
    /// QoS 1/2: its session was discarded; `sent`: its PUBLISH had gone out.
    Discarded {
        /// Whether its PUBLISH had been sent.
        sent: bool,
    },
    /// QoS 0: sent.
    Sent,
}

/// A copy of an accepted message routed to the client's subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    /// Payload.
    pub payload: Vec<u8>,
    /// The packet id it goes out with (QoS 1/2; 0 for QoS 0).
    pub id: u16,
    /// QoS of the delivery.
    pub qos: QoS,
    /// What became of it.
    pub fate: Fate,
}

/// Counts of what the model did, for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerStats5 {
    /// DISCONNECT packets sent with a reason code.
    pub server_disconnects: usize,
    /// Sessions discarded (Clean Start 1, expiry, Session Expiry Interval 0).
    pub sessions_discarded: usize,
    /// Copies deleted because their Message Expiry Interval passed.
    pub expired: usize,
    /// PUBLISH packets to the client with a Topic Alias, and of those with an empty topic.
    pub aliases_sent: (usize, usize),
    /// PUBLISH packets from the client with a Topic Alias, and of those with an empty topic.
    pub aliases_received: (usize, usize),
    /// PUBACK/PUBREC with 0x10 No matching subscribers.
    pub no_matching_subscribers: usize,
    /// PUBCOMP with 0x92 Packet Identifier not found.
    pub pubcomp_not_found: usize,
}

#[derive(Debug, Clone)]
pub(super) struct Out {
    pub(super) id: u16,
    pub(super) topic: String,
    pub(super) payload: Vec<u8>,
    pub(super) qos: QoS,
    pub(super) user: Vec<(String, String)>,
    /// When its Message Expiry Interval runs out (virtual ms).
    pub(super) expires_at: Option<u64>,
    pub(super) sub_id: Option<u32>,
    pub(super) sent: bool,
    pub(super) released: bool,
    pub(super) routed: usize,
}

#[derive(Debug, Default)]
pub(super) struct Session5 {
    /// Filter, maximum QoS, Subscription Identifier.
    pub(super) subscriptions: Vec<(String, QoS, Option<u32>)>,
    /// Incoming QoS 2: id -> (topic, payload, PUBREC code), PUBREL awaited.
    pub(super) awaiting_rel: BTreeMap<u16, (String, Vec<u8>, u8)>,
    pub(super) out: VecDeque<Out>,
    /// Session Expiry Interval in force, in seconds.
    pub(super) expiry: u32,
    /// When its last connection closed.
    pub(super) closed_at: Option<u64>,
}

#[derive(Debug, Default)]
pub(super) struct Conn5 {
    pub(super) buf: Vec<u8>,
    pub(super) connected: bool,
    pub(super) closed: bool,
    pub(super) limits: Option<Limits>,
    pub(super) client_receive_maximum: u16,
    pub(super) client_topic_alias_maximum: u16,
    pub(super) client_maximum_packet_size: Option<u32>,
    /// The client's aliases on this connection.
    pub(super) aliases_in: BTreeMap<u16, String>,
    /// Ours: alias -> topic.
    pub(super) aliases_out: BTreeMap<u16, String>,
    pub(super) next_victim: u16,
}

/// The 5.0 broker model. See the [module docs](self).
#[derive(Debug)]
pub struct BrokerModelV5 {
    pub(super) rng: Rng,
    pub(super) now: u64,
    pub(super) session: Option<Session5>,
    pub(super) conn: Option<Conn5>,
    pub(super) window: usize,
    pub(super) min_packet_size: u32,
    /// Every message accepted from the client, in order (duplicates included).
    pub accepted: Vec<Accepted5>,
    /// Every copy routed to the client, in order.
    pub routed: Vec<Routed>,
    /// The payloads of the client's QoS 2 messages whose PUBREL was still awaited when their
    /// session was discarded: a copy the client sends again is a new message then.
    pub lost_incoming: Vec<Vec<u8>>,
    /// The next packet id for a PUBLISH to the client. It keeps counting across sessions, so
    /// a new session's ids never meet the ones of a discarded session that the client may
    /// still hold, not having heard of its end (a CONNACK lost on the way).
    pub(super) next_id: u16,
    /// What the client did wrong (or the model, sending beyond the client's limits), in words.
    pub violations: Vec<String>,
    /// What the model did.
    pub stats: BrokerStats5,
}

impl BrokerModelV5 {
    /// A broker with its own generator (from `seed`), keeping at most `window` QoS 1/2
    /// messages in flight to the client (fewer when the client's Receive Maximum says so), and
    /// a Maximum Packet Size, when it sends one, of at least `min_packet_size`.
    pub fn new(seed: u64, window: usize, min_packet_size: u32) -> Self {
        BrokerModelV5 {
            rng: Rng::new(seed),
            now: 0,
            session: None,
            conn: None,
            window: window.max(1),
            min_packet_size,
            accepted: Vec::new(),
            routed: Vec::new(),
            lost_incoming: Vec::new(),
            next_id: 1,
            violations: Vec::new(),
            stats: BrokerStats5::default(),
        }
    }

    /// A network connection was accepted.
    pub fn connection_opened(&mut self) {
        self.conn = Some(Conn5::default());
    }

    /// The connection is gone at `now`: a session with a Session Expiry Interval of 0 ends.
    pub fn connection_closed(&mut self, now: u64) {
        self.conn = None;
        match self.session.as_mut() {
            Some(s) if s.expiry == 0 => self.discard_session(),
            Some(s) => s.closed_at = Some(now),
            None => {}
        }
    }

    /// Whether the broker closed the connection (DISCONNECT either way, or a violation).
    pub fn wants_close(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.closed)
    }

    /// Whether a CONNACK went out on an open connection.
    pub fn connected(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.connected && !c.closed)
    }

    /// Nothing in flight or queued either way.
    pub fn idle(&self) -> bool {
        self.session
            .as_ref()
            .is_none_or(|s| s.out.is_empty() && s.awaiting_rel.is_empty())
    }

    /// Messages queued or in flight to the client.
    pub fn outgoing(&self) -> usize {
        self.session.as_ref().map_or(0, |s| s.out.len())
    }

    /// Ends the connection with a DISCONNECT with a reason code (a broker going away, busy,
    /// ...): returns its bytes (empty when not connected). The session stays as its Session
    /// Expiry Interval says; the DISCONNECT never carries one [MQTT-3.14.2-2].
    pub fn server_disconnect(&mut self) -> Vec<u8> {
        if !self.connected() {
            return Vec::new();
        }
        let code = [0x00, 0x80, 0x89, 0x8B, 0x97, 0x98, 0x9C][self.rng.index(7)];
        let props = if self.rng.percent(50) {
            wire5::p_str(0x1F, "going away")
        } else {
            Vec::new()
        };
        if let Some(c) = self.conn.as_mut() {
            c.closed = true;
        }
        self.stats.server_disconnects += 1;
        self.checked(wire5::disconnect(code, &props))
    }

    /// Bytes from the client at `now`; returns the bytes the broker sends back.
    pub fn receive(&mut self, now: u64, bytes: &[u8]) -> Vec<u8> {
        let mut reply = Vec::new();
        self.now = self.now.max(now);
        match self.conn.as_mut() {
            Some(c) if !c.closed => c.buf.extend_from_slice(bytes),
            _ => return reply,
        }
        while let Some(conn) = self.conn.as_mut().filter(|c| !c.closed) {
            let buf = std::mem::take(&mut conn.buf);
            let used = match Decoder::new().decode(&buf) {
                Ok(Some((packet, used))) => {
                    let max = self
                        .conn
                        .as_ref()
                        .and_then(|c| c.limits?.maximum_packet_size);
                    if max.is_some_and(|m| used as u64 > u64::from(m)) {
                        self.violation(format!(
                            "a {used}-byte packet above the Maximum Packet Size {max:?} \
                             [MQTT-3.2.2-15]"
                        ));
                        break;
                    }
                    self.handle(now, &packet, &mut reply);
                    used
                }
                Ok(None) => {
                    if let Some(c) = self.conn.as_mut() {
                        c.buf = buf;
                    }
                    break;
                }
                Err(e) => {
                    self.violation(format!("malformed packet from the client: {e}"));
                    break;
                }
            };
            if let Some(c) = self.conn.as_mut() {
                c.buf = buf.get(used..).unwrap_or_default().to_vec();
            }
        }
        if self.connected() {
            self.fill_window(now, &mut reply);
        }
        reply
    }

    pub(super) fn violation(&mut self, what: String) {
        self.violations.push(what);
        if let Some(c) = self.conn.as_mut() {
            c.closed = true;
        }
    }

    /// `bytes`, after checking they fit the client's Maximum Packet Size (the model's duty).
    pub(super) fn checked(&mut self, bytes: Vec<u8>) -> Vec<u8> {
        let max = self
            .conn
            .as_ref()
            .and_then(|c| c.client_maximum_packet_size);
        if max.is_some_and(|m| bytes.len() as u64 > u64::from(m)) {
            self.violations.push(format!(
                "the model sent {} bytes above the client's Maximum Packet Size {max:?}",
                bytes.len()
            ));
        }
        bytes
    }

    fn discard_session(&mut self) {
        if let Some(s) = self.session.take() {
            self.lost_incoming
                .extend(s.awaiting_rel.into_values().map(|(_, payload, _)| payload));
            for o in s.out {
                if let Some(r) = self.routed.get_mut(o.routed) {
                    r.fate = Fate::Discarded { sent: o.sent };
                }
            }
            self.stats.sessions_discarded += 1;
        }
    }

    fn handle(&mut self, now: u64, packet: &Packet<'_>, reply: &mut Vec<u8>) {
        if !self.conn.as_ref().is_some_and(|c| c.connected) {
            match packet {
                Packet::Connect(c) => self.connect(now, c, reply),
                other => self.violation(format!("first packet is {other:?} [MQTT-3.1.0-1]")),
            }
            return;
        }
        match packet {
            Packet::Connect(_) => self.violation("second CONNECT [MQTT-3.1.0-2]".to_owned()),
            Packet::Publish(p) => self.publish(p, reply),
            Packet::PubAck(a) => self.completed(a.packet_id.get(), QoS::AtLeastOnce, false),
            Packet::PubRec(r) => {
                let id = r.packet_id.get();
                let found = self.session.as_mut().and_then(|s| {
                    s.out
                        .iter_mut()
                        .find(|o| o.id == id && o.sent && o.qos == QoS::ExactlyOnce)
                });
                if let Some(o) = found {
                    o.released = true;
                    reply.extend(wire5::ack(0x62, id));
                }
            }
            Packet::PubComp(c) => self.completed(c.packet_id.get(), QoS::ExactlyOnce, true),
            Packet::PubRel(r) => {
                let id = r.packet_id.get();
                let held = self
                    .session
                    .as_mut()
                    .and_then(|s| s.awaiting_rel.remove(&id));
                if held.is_some() {
                    reply.extend(wire5::ack(0x70, id));
                } else {
                    self.stats.pubcomp_not_found += 1;
                    reply.extend(wire5::ack_with(0x70, id, 0x92, &[]));
                }
            }
            Packet::Subscribe(sub) => {
                let sub_id = sub.properties.subscription_identifier();
                let mut codes = Vec::new();
                for (filter, options) in sub.filters.iter() {
                    let f = filter.as_str().to_owned();
                    if f.starts_with("other/") && self.rng.percent(15) {
                        codes.push([0x87, 0x97][self.rng.index(2)]);
                        continue;
                    }
                    if let Some(s) = self.session.as_mut() {
                        s.subscriptions.retain(|(g, _, _)| *g != f);
                        s.subscriptions.push((f, options.qos, sub_id));
                    }
                    codes.push(options.qos.as_u8());
                }
                let bytes = self.checked(wire5::suback(sub.packet_id.get(), &codes));
                reply.extend(bytes);
            }
            Packet::Unsubscribe(u) => {
                let mut codes = Vec::new();
                for filter in u.filters.iter() {
                    let existed = self.session.as_mut().is_some_and(|s| {
                        let before = s.subscriptions.len();
                        s.subscriptions.retain(|(g, _, _)| g != filter.as_str());
                        s.subscriptions.len() < before
                    });
                    codes.push(if existed { 0x00 } else { 0x11 });
                }
                reply.extend(wire5::unsuback(u.packet_id.get(), &codes));
            }
            Packet::PingReq => reply.extend(wire5::PINGRESP),
            Packet::Disconnect(d) => {
                if let (Some(e), Some(s)) = (
                    d.properties.session_expiry_interval(),
                    self.session.as_mut(),
                ) {
                    s.expiry = e;
                }
                if let Some(c) = self.conn.as_mut() {
                    c.closed = true;
                }
            }
            other => self.violation(format!("a server never receives {other:?}")),
        }
    }

    fn connect(&mut self, now: u64, c: &mqtt_proto::v5::Connect<'_>, reply: &mut Vec<u8>) {
        let expired = self.session.as_ref().is_some_and(|s| {
            s.expiry != u32::MAX
                && s.closed_at
                    .is_some_and(|t| now >= t + u64::from(s.expiry) * 1000)
        });
        if c.clean_start || expired {
            self.discard_session();
        }
        let present = self.session.is_some();
        let s = self.session.get_or_insert_with(Session5::default);
        s.expiry = c.properties.session_expiry_interval().unwrap_or(0);
        s.closed_at = None;
        let rng = &mut self.rng;
        let limits = Limits {
            receive_maximum: if rng.percent(70) {
                rng.range(1, 5) as u16
            } else {
                u16::MAX
            },
            topic_alias_maximum: if rng.percent(70) {
                rng.range(1, 4) as u16
            } else {
                0
            },
            maximum_packet_size: rng
                .percent(40)
                .then(|| self.min_packet_size + rng.below(200) as u32),
            server_keep_alive: rng.percent(25).then(|| rng.range(2, 8) as u16),
        };
        let mut props = Vec::new();
        if limits.receive_maximum != u16::MAX {
            props.extend(wire5::p_u16(0x21, limits.receive_maximum));
        }
        if limits.topic_alias_maximum > 0 {
            props.extend(wire5::p_u16(0x22, limits.topic_alias_maximum));
        }
        if let Some(m) = limits.maximum_packet_size {
            props.extend(wire5::p_u32(0x27, m));
        }
        if let Some(k) = limits.server_keep_alive {
            props.extend(wire5::p_u16(0x13, k));
        }
        if let Some(conn) = self.conn.as_mut() {
            conn.connected = true;
            conn.limits = Some(limits);
            conn.client_receive_maximum = c.properties.receive_maximum().unwrap_or(u16::MAX);
            conn.client_topic_alias_maximum = c.properties.topic_alias_maximum().unwrap_or(0);
            conn.client_maximum_packet_size = c.properties.maximum_packet_size();
        }
        let connack = self.checked(wire5::connack(u8::from(present), 0, &props));
        reply.extend(connack);
        self.resend(now, reply);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect(flags: u8, props: &[u8]) -> Vec<u8> {
        wire5::connect(flags, 5, props, &wire5::string("id"))
    }

    #[test]
    fn session_kept_expired_and_discarded() {
        let mut b = BrokerModelV5::new(1, 4, 200);
        b.connection_opened();
        let reply = b.receive(0, &connect(0x00, &wire5::p_u32(0x11, 2)));
        assert_eq!(reply.get(..4), Some(&[0x20, reply[1], 0x00, 0x00][..]));
        b.connection_closed(1000);
        b.connection_opened();
        let reply = b.receive(2000, &connect(0x00, &wire5::p_u32(0x11, 2)));
        assert_eq!(reply[2], 0x01, "resumed within its expiry interval");
        b.connection_closed(3000);
        b.connection_opened();
        let reply = b.receive(5000, &connect(0x00, &[]));
        assert_eq!(reply[2], 0x00, "expired after 2 s");
        b.connection_closed(6000);
        b.connection_opened();
        let reply = b.receive(6000, &connect(0x00, &[]));
        assert_eq!(reply[2], 0x00, "expiry 0 ends it with the connection");
        assert_eq!(b.stats.sessions_discarded, 2);
        assert!(b.violations.is_empty(), "{:?}", b.violations);
    }

    #[test]
    fn qos2_routing_aliases_and_unknown_pubrel() {
        let mut b = BrokerModelV5::new(2, 4, 200);
        b.connection_opened();
        b.receive(0, &connect(0x02, &wire5::p_u16(0x22, 2)));
        let sub = wire5::packet(0x82, &[0x00, 0x01, 0x00, 0x00, 0x01, b'#', 0x02]);
        assert_eq!(b.receive(0, &sub), wire5::suback(1, &[2]));
        // The client's PUBLISH with alias 1 within the CONNACK's Topic Alias Maximum, if any.
        let max = b
            .conn
            .as_ref()
            .and_then(|c| c.limits)
            .map(|l| l.topic_alias_maximum);
        let publish = wire5::publish("t", b"x", 2, 7, false, &[]);
        let reply = b.receive(0, &publish);
        assert!(reply.starts_with(&wire5::ack(0x50, 7)) || reply.starts_with(&[0x50, 0x03]));
        assert_eq!(b.accepted.len(), 1);
        assert_eq!(b.routed.len(), 1);
        // The same PUBLISH again: PUBREC, not accepted again.
        b.receive(0, &wire5::publish("t", b"x", 2, 7, true, &[]));
        assert_eq!(b.accepted.len(), 1);
        assert_eq!(
            b.receive(0, &wire5::ack(0x62, 9)),
            wire5::ack_with(0x70, 9, 0x92, &[])
        );
        if max == Some(0) {
            let aliased = wire5::publish("t", b"y", 0, 0, false, &wire5::p_u16(0x23, 1));
            b.receive(0, &aliased);
            assert!(
                b.violations[0].contains("Topic Alias 1 above"),
                "{:?}",
                b.violations
            );
        } else {
            assert!(b.violations.is_empty(), "{:?}", b.violations);
        }
    }
}
