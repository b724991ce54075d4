//! A reference broker model: a small, obviously-correct MQTT 3.1.1 server for one client id,
//! written from the spec (not from the client's code). It keeps the session across connections
//! (clean session off), delivers QoS 2 with "method A" (deliver on PUBLISH, remember the id
//! until PUBREL), resends its own unacknowledged PUBLISH (DUP=1) and PUBREL on reconnection, and
//! routes every accepted message to the matching subscriptions — including the client's own.
//!
//! It also checks the client: a packet before CONNECT [MQTT-3.1.0-1], a malformed packet, a
//! packet a server never receives, or a QoS 2 PUBLISH that reuses an id awaiting PUBREL for a
//! different message [MQTT-2.3.1-2] is recorded in [`BrokerModel::violations`].

use std::collections::{BTreeMap, VecDeque};

use mqtt_proto::{Decoder, Packet, QoS};

use crate::wire;

/// A message the broker took ownership of (its "onward delivery").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Topic.
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// QoS of the PUBLISH.
    pub qos: QoS,
}

#[derive(Debug, Clone)]
struct Out {
    id: u16,
    topic: String,
    payload: Vec<u8>,
    qos: QoS,
    sent: bool,
    released: bool,
}

#[derive(Debug, Default)]
struct BrokerSession {
    subscriptions: Vec<(String, QoS)>,
    /// Incoming QoS 2: id -> (topic, payload), PUBREC sent, PUBREL awaited.
    awaiting_rel: BTreeMap<u16, (String, Vec<u8>)>,
    /// Outgoing QoS 1/2 to the client, in order; the first `window` are in flight.
    out: VecDeque<Out>,
    next_id: u16,
}

#[derive(Debug, Default)]
struct Conn {
    buf: Vec<u8>,
    connected: bool,
    closed: bool,
}

/// Does `filter` match `topic` (section 4.7; no `$` topics in the simulation)?
pub fn filter_matches(filter: &str, topic: &str) -> bool {
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// The broker model. See the [module docs](self).
#[derive(Debug)]
pub struct BrokerModel {
    session: Option<BrokerSession>,
    conn: Option<Conn>,
    window: usize,
    /// Every message accepted from the client, in order (duplicates included).
    pub accepted: Vec<Accepted>,
    /// What the client did wrong, in words.
    pub violations: Vec<String>,
    /// Acknowledgements from the client for nothing in flight (not an error in 3.1.1).
    pub stray_acks: usize,
    /// Every how many new PUBLISH packets the broker sends one again at once with DUP=1 (0:
    /// never). MQTT 3.1.1 only requires resending on reconnection, but does not forbid it; a
    /// receiver must answer a QoS 2 duplicate with PUBREC and not deliver it again.
    pub duplicate_every: usize,
    sent_new: usize,
}

impl BrokerModel {
    /// A broker that keeps at most `window` QoS 1/2 messages in flight to the client.
    pub fn new(window: usize) -> Self {
        BrokerModel {
            session: None,
            conn: None,
            window: window.max(1),
            accepted: Vec::new(),
            violations: Vec::new(),
            stray_acks: 0,
            duplicate_every: 0,
            sent_new: 0,
        }
    }

    /// A network connection was accepted.
    pub fn connection_opened(&mut self) {
        self.conn = Some(Conn::default());
    }

    /// The connection is gone (cut or closed); the session stays.
    pub fn connection_closed(&mut self) {
        self.conn = None;
    }

    /// Whether the broker closed the connection (DISCONNECT received, or a violation).
    pub fn wants_close(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.closed)
    }

    /// Nothing in flight or queued either way: no outgoing message to the client, no incoming
    /// QoS 2 id awaiting PUBREL.
    pub fn idle(&self) -> bool {
        self.session
            .as_ref()
            .is_none_or(|s| s.out.is_empty() && s.awaiting_rel.is_empty())
    }

    /// Messages queued or in flight to the client.
    pub fn outgoing(&self) -> usize {
        self.session.as_ref().map_or(0, |s| s.out.len())
    }

    /// Bytes from the client; returns the bytes the broker sends back.
    pub fn receive(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut reply = Vec::new();
        let Some(conn) = self.conn.as_mut() else {
            return reply;
        };
        if conn.closed {
            return reply;
        }
        conn.buf.extend_from_slice(bytes);
        while let Some(conn) = self.conn.as_mut() {
            if conn.closed {
                break;
            }
            let buf = std::mem::take(&mut conn.buf);
            let used = match Decoder::new().decode(&buf) {
                Ok(Some((packet, used))) => {
                    self.handle(&packet, &mut reply);
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
        if self.conn.as_ref().is_some_and(|c| c.connected && !c.closed) {
            self.fill_window(&mut reply);
        }
        reply
    }

    fn violation(&mut self, what: String) {
        self.violations.push(what);
        if let Some(c) = self.conn.as_mut() {
            c.closed = true;
        }
    }

    fn handle(&mut self, packet: &Packet<'_>, reply: &mut Vec<u8>) {
        let connected = self.conn.as_ref().is_some_and(|c| c.connected);
        if !connected {
            let Packet::Connect(c) = packet else {
                self.violation(format!(
                    "first packet is {} [MQTT-3.1.0-1]",
                    wire::describe_packet(packet)
                ));
                return;
            };
            let existed = self.session.is_some();
            if c.clean_session || !existed {
                self.session = Some(BrokerSession {
                    next_id: 1,
                    ..BrokerSession::default()
                });
            }
            let present = existed && !c.clean_session;
            reply.extend(wire::connack(u8::from(present), 0));
            if let Some(conn) = self.conn.as_mut() {
                conn.connected = true;
            }
            self.resend(reply);
            return;
        }
        let Some(s) = self.session.as_mut() else {
            return;
        };
        match packet {
            Packet::Connect(_) => self.violation("second CONNECT [MQTT-3.1.0-2]".to_owned()),
            Packet::Publish(p) => {
                let topic = p.topic.as_str().to_owned();
                let payload = p.payload.to_vec();
                match p.qos_pid.packet_id() {
                    None => self.accept(topic, payload, QoS::AtMostOnce, reply),
                    Some(id) if p.qos_pid.qos() == QoS::AtLeastOnce => {
                        reply.extend(wire::puback(id.get()));
                        self.accept(topic, payload, QoS::AtLeastOnce, reply);
                    }
                    Some(id) => {
                        let id = id.get();
                        match s.awaiting_rel.get(&id) {
                            Some((t, b)) if *t == topic && *b == payload => {
                                reply.extend(wire::pubrec(id));
                            }
                            Some(_) => {
                                self.violation(format!(
                                    "QoS 2 PUBLISH reuses id {id}, still awaiting PUBREL for \
                                     another message [MQTT-2.3.1-2]"
                                ));
                            }
                            None => {
                                s.awaiting_rel.insert(id, (topic.clone(), payload.clone()));
                                reply.extend(wire::pubrec(id));
                                self.accept(topic, payload, QoS::ExactlyOnce, reply);
                            }
                        }
                    }
                }
            }
            Packet::PubAck(id) => {
                let pos = s
                    .out
                    .iter()
                    .position(|o| o.id == id.get() && o.sent && o.qos == QoS::AtLeastOnce);
                match pos {
                    Some(i) => {
                        s.out.remove(i);
                    }
                    None => self.stray_acks += 1,
                }
            }
            Packet::PubRec(id) => {
                let found = s
                    .out
                    .iter_mut()
                    .find(|o| o.id == id.get() && o.sent && o.qos == QoS::ExactlyOnce);
                match found {
                    Some(o) => {
                        o.released = true;
                        reply.extend(wire::pubrel(id.get()));
                    }
                    None => self.stray_acks += 1,
                }
            }
            Packet::PubComp(id) => {
                let pos = s.out.iter().position(|o| o.id == id.get() && o.released);
                match pos {
                    Some(i) => {
                        s.out.remove(i);
                    }
                    None => self.stray_acks += 1,
                }
            }
            Packet::PubRel(id) => {
                s.awaiting_rel.remove(&id.get());
                reply.extend(wire::pubcomp(id.get()));
            }
            Packet::Subscribe(sub) => {
                let mut codes = Vec::new();
                for (filter, qos) in sub.filters.iter() {
                    let f = filter.as_str().to_owned();
                    s.subscriptions.retain(|(g, _)| *g != f);
                    s.subscriptions.push((f, qos));
                    codes.push(qos.as_u8());
                }
                reply.extend(wire::suback(sub.packet_id.get(), &codes));
            }
            Packet::Unsubscribe(u) => {
                for filter in u.filters.iter() {
                    s.subscriptions.retain(|(g, _)| g != filter.as_str());
                }
                reply.extend(wire::unsuback(u.packet_id.get()));
            }
            Packet::PingReq => reply.extend(wire::pingresp()),
            Packet::Disconnect => {
                if let Some(c) = self.conn.as_mut() {
                    c.closed = true;
                }
            }
            other => self.violation(format!(
                "a server never receives {} [MQTT-4.8.0-1]",
                wire::describe_packet(other)
            )),
        }
    }

    /// Take ownership of a message and route it to the matching subscriptions.
    fn accept(&mut self, topic: String, payload: Vec<u8>, qos: QoS, reply: &mut Vec<u8>) {
        self.accepted.push(Accepted {
            topic: topic.clone(),
            payload: payload.clone(),
            qos,
        });
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let granted = s
            .subscriptions
            .iter()
            .filter(|(f, _)| filter_matches(f, &topic))
            .map(|(_, q)| *q)
            .max();
        let Some(granted) = granted else {
            return;
        };
        let qos = qos.min(granted);
        if qos == QoS::AtMostOnce {
            // QoS 0 goes out at once while connected, and is lost otherwise.
            if self.conn.as_ref().is_some_and(|c| c.connected && !c.closed) {
                reply.extend(wire::publish(&topic, &payload, 0, 0, false, false));
            }
            return;
        }
        let id = loop {
            let id = s.next_id;
            s.next_id = s.next_id.checked_add(1).unwrap_or(1);
            if !s.out.iter().any(|o| o.id == id) {
                break id;
            }
        };
        s.out.push_back(Out {
            id,
            topic,
            payload,
            qos,
            sent: false,
            released: false,
        });
    }

    /// After CONNACK with the session resumed: PUBLISH (DUP=1) or PUBREL for everything sent
    /// before, in order [MQTT-4.4.0-1].
    fn resend(&mut self, reply: &mut Vec<u8>) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        for o in s.out.iter().take(self.window).filter(|o| o.sent) {
            if o.released {
                reply.extend(wire::pubrel(o.id));
            } else {
                reply.extend(wire::publish(
                    &o.topic,
                    &o.payload,
                    o.qos.as_u8(),
                    o.id,
                    true,
                    false,
                ));
            }
        }
        self.fill_window(reply);
    }

    fn fill_window(&mut self, reply: &mut Vec<u8>) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        for o in s.out.iter_mut().take(self.window).filter(|o| !o.sent) {
            o.sent = true;
            reply.extend(wire::publish(
                &o.topic,
                &o.payload,
                o.qos.as_u8(),
                o.id,
                false,
                false,
            ));
            self.sent_new += 1;
            if self.duplicate_every > 0 && self.sent_new % self.duplicate_every == 0 {
                reply.extend(wire::publish(
                    &o.topic,
                    &o.payload,
                    o.qos.as_u8(),
                    o.id,
                    true,
                    false,
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching() {
        assert!(filter_matches("sim/#", "sim/a"));
        assert!(filter_matches("sim/+", "sim/a"));
        assert!(filter_matches("#", "x"));
        assert!(!filter_matches("sim/+", "sim/a/b"));
        assert!(!filter_matches("other/1", "sim/a"));
    }

    #[test]
    fn qos2_flow_and_routing() {
        let mut b = BrokerModel::new(4);
        b.connection_opened();
        let connect = [
            0x10, 0x0E, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x00, 0x00, 0x05, 0x00, 0x02,
            b'i', b'd',
        ];
        assert_eq!(b.receive(&connect), wire::connack(0, 0));
        let sub = wire::packet(0x82, &[0x00, 0x01, 0x00, 0x01, b'#', 0x02]);
        assert_eq!(b.receive(&sub), wire::suback(1, &[2]));
        let reply = b.receive(&wire::publish("t", b"x", 2, 7, false, false));
        let mut expected = wire::pubrec(7);
        expected.extend(wire::publish("t", b"x", 2, 1, false, false));
        assert_eq!(reply, expected);
        // The same message again before PUBREL: PUBREC, not delivered again.
        assert_eq!(
            b.receive(&wire::publish("t", b"x", 2, 7, true, false)),
            wire::pubrec(7)
        );
        assert_eq!(b.accepted.len(), 1);
        assert!(b.violations.is_empty());
    }
}
