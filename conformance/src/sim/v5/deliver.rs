//! The 5.0 broker model's side towards the client: the in-flight window within the client's
//! Receive Maximum, resending on resumption, message expiry, PUBLISH packets with their
//! properties and Topic Aliases. See [`super::broker`].

use mqtt_proto::QoS;

use super::broker::{Accepted5, BrokerModelV5, Fate, Out, Routed};
use crate::sim::broker::filter_matches;
use crate::v5::wire5;

impl BrokerModelV5 {
    /// Takes ownership of a message and routes it; returns the PUBACK/PUBREC reason code.
    pub(super) fn accept(&mut self, a: Accepted5, reply: &mut Vec<u8>) -> u8 {
        self.accepted.push(a.clone());
        let Some(s) = self.session.as_mut() else {
            return 0;
        };
        let matching = s
            .subscriptions
            .iter()
            .filter(|(f, _, _)| filter_matches(f, &a.topic))
            .max_by_key(|(_, q, _)| *q)
            .cloned();
        let Some((_, granted, sub_id)) = matching else {
            self.stats.no_matching_subscribers += 1;
            return 0x10;
        };
        let qos = a.qos.min(granted);
        let routed = self.routed.len();
        if qos == QoS::AtMostOnce {
            self.routed.push(Routed {
                payload: a.payload.clone(),
                id: 0,
                qos,
                fate: Fate::Sent,
            });
            let o = Out {
                id: 0,
                topic: a.topic,
                payload: a.payload,
                qos,
                user: a.user,
                expires_at: None,
                sub_id,
                sent: true,
                released: false,
                routed,
            };
            // Sent at once: it waited 0 s.
            let bytes = self.publish_bytes(&o, a.expiry, false);
            reply.extend(bytes);
            return 0;
        }
        let id = loop {
            let id = self.next_id;
            self.next_id = self.next_id.checked_add(1).unwrap_or(1);
            if !s.out.iter().any(|o| o.id == id) {
                break id;
            }
        };
        self.routed.push(Routed {
            payload: a.payload.clone(),
            id,
            qos,
            fate: Fate::Pending,
        });
        s.out.push_back(Out {
            id,
            topic: a.topic,
            payload: a.payload,
            qos,
            user: a.user,
            expires_at: a.expiry.map(|e| self.now + u64::from(e) * 1000),
            sub_id,
            sent: false,
            released: false,
            routed,
        });
        0
    }

    /// PUBACK (`qos` 1) or PUBCOMP (`qos` 2, `released`) for an outgoing message: done.
    pub(super) fn completed(&mut self, id: u16, qos: QoS, released: bool) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let pos = s
            .out
            .iter()
            .position(|o| o.id == id && o.sent && o.qos == qos && o.released == released);
        if let Some(o) = pos.and_then(|i| s.out.remove(i)) {
            if let Some(r) = self.routed.get_mut(o.routed) {
                r.fate = Fate::Completed;
            }
        }
    }

    /// The in-flight window: ours, bounded by the client's Receive Maximum [MQTT-3.3.4-9].
    pub(super) fn window(&self) -> usize {
        let client = self
            .conn
            .as_ref()
            .map_or(u16::MAX, |c| c.client_receive_maximum);
        self.window.min(usize::from(client.max(1)))
    }

    /// After CONNACK with the session resumed: PUBLISH (DUP=1) or PUBREL for everything sent
    /// before, in order, with the original packet ids [MQTT-4.4.0-1].
    pub(super) fn resend(&mut self, now: u64, reply: &mut Vec<u8>) {
        let window = self.window();
        let again: Vec<Out> = self.session.as_ref().map_or_else(Vec::new, |s| {
            s.out
                .iter()
                .take(window)
                .filter(|o| o.sent)
                .cloned()
                .collect()
        });
        for o in &again {
            if o.released {
                reply.extend(wire5::ack(0x62, o.id));
            } else {
                let left = o
                    .expires_at
                    .map(|t| t.saturating_sub(now).div_ceil(1000) as u32);
                let bytes = self.publish_bytes(o, left, true);
                reply.extend(bytes);
            }
        }
        self.fill_window(now, reply);
    }

    /// Deletes the unsent copies whose Message Expiry Interval passed, then sends the next ones
    /// the window allows.
    pub(super) fn fill_window(&mut self, now: u64, reply: &mut Vec<u8>) {
        let window = self.window();
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let mut i = 0;
        while i < s.out.len() {
            let o = &s.out[i];
            if !o.sent && o.expires_at.is_some_and(|t| now >= t) {
                if let Some(r) = self.routed.get_mut(o.routed) {
                    r.fate = Fate::Expired;
                }
                self.stats.expired += 1;
                s.out.remove(i);
            } else {
                i += 1;
            }
        }
        let fresh: Vec<usize> = (0..s.out.len().min(window))
            .filter(|&i| !s.out[i].sent)
            .collect();
        for i in fresh {
            let Some(o) = self.session.as_mut().and_then(|s| s.out.get_mut(i)) else {
                break;
            };
            o.sent = true;
            let o = o.clone();
            let left = o
                .expires_at
                .map(|t| t.saturating_sub(now).div_ceil(1000) as u32);
            let bytes = self.publish_bytes(&o, left, false);
            reply.extend(bytes);
        }
    }

    /// A PUBLISH to the client: the Message Expiry Interval left, the User Properties
    /// unaltered, the Subscription Identifier, and a Topic Alias when the client takes them.
    fn publish_bytes(&mut self, o: &Out, expiry: Option<u32>, dup: bool) -> Vec<u8> {
        let mut props = Vec::new();
        if let Some(e) = expiry {
            props.extend(wire5::p_u32(0x02, e));
        }
        for (k, v) in &o.user {
            props.extend(wire5::p_user(k, v));
        }
        if let Some(id) = o.sub_id {
            props.push(0x0B);
            props.extend(wire5::vbi(id as usize));
        }
        let (topic, alias) = self.alias_for(&o.topic);
        if let Some(a) = alias {
            props.extend(wire5::p_u16(0x23, a));
            self.stats.aliases_sent.0 += 1;
            self.stats.aliases_sent.1 += usize::from(topic.is_empty());
        }
        let bytes = wire5::publish(&topic, &o.payload, o.qos.as_u8(), o.id, dup, &props);
        self.checked(bytes)
    }

    /// The topic and alias of a PUBLISH to the client: within its Topic Alias Maximum, an
    /// alias already set (mostly with an empty topic), a new one, or (the table full) one
    /// mapped to this topic instead of its old one [MQTT-3.3.2-10].
    fn alias_for(&mut self, topic: &str) -> (String, Option<u16>) {
        let Some(c) = self.conn.as_mut() else {
            return (topic.to_owned(), None);
        };
        let max = c.client_topic_alias_maximum;
        if max == 0 {
            return (topic.to_owned(), None);
        }
        let rng = &mut self.rng;
        if let Some((&a, _)) = c.aliases_out.iter().find(|(_, t)| *t == topic) {
            return if rng.percent(20) {
                (topic.to_owned(), Some(a))
            } else {
                (String::new(), Some(a))
            };
        }
        let a = match u16::try_from(c.aliases_out.len() + 1) {
            Ok(a) if a <= max => a,
            _ if rng.percent(50) => {
                c.next_victim = c.next_victim % max + 1;
                c.next_victim
            }
            _ => return (topic.to_owned(), None),
        };
        c.aliases_out.insert(a, topic.to_owned());
        (topic.to_owned(), Some(a))
    }
}
