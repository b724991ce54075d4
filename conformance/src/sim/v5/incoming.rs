//! The 5.0 broker model's side from the client: its PUBLISH packets, their Topic Aliases
//! resolved per connection, PUBACK/PUBREC with their reason codes, QoS 2 "method A". See
//! [`super::broker`].

use mqtt_proto::QoS;

use super::broker::{Accepted5, BrokerModelV5};
use crate::v5::wire5;

impl BrokerModelV5 {
    pub(super) fn publish(&mut self, p: &mqtt_proto::v5::Publish<'_>, reply: &mut Vec<u8>) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        if p.properties.subscription_identifier().is_some() {
            return self
                .violation("a PUBLISH with a Subscription Identifier [MQTT-3.3.4-6]".into());
        }
        let max = conn.limits.map_or(0, |l| l.topic_alias_maximum);
        let alias = p.properties.topic_alias();
        let topic = match (p.topic, alias) {
            (_, Some(a)) if a > max => {
                return self.violation(format!(
                    "Topic Alias {a} above the Topic Alias Maximum {max} [MQTT-3.2.2-17, \
                     MQTT-3.2.2-18]"
                ));
            }
            (Some(t), Some(a)) => {
                conn.aliases_in.insert(a, t.as_str().to_owned());
                self.stats.aliases_received.0 += 1;
                t.as_str().to_owned()
            }
            (Some(t), None) => t.as_str().to_owned(),
            (None, Some(a)) => match conn.aliases_in.get(&a) {
                Some(t) => {
                    self.stats.aliases_received.0 += 1;
                    self.stats.aliases_received.1 += 1;
                    t.clone()
                }
                None => {
                    return self.violation(format!(
                        "an empty topic with Topic Alias {a}, not set on this connection \
                         [MQTT-3.3.2-7]"
                    ));
                }
            },
            (None, None) => return self.violation("an empty topic and no alias".into()),
        };
        let payload = p.payload.to_vec();
        let accepted = Accepted5 {
            topic: topic.clone(),
            payload: payload.clone(),
            qos: p.qos_pid.qos(),
            user: p
                .properties
                .user_properties()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            expiry: p.properties.message_expiry_interval(),
        };
        let Some(id) = p.qos_pid.packet_id().map(|i| i.get()) else {
            self.accept(accepted, reply);
            return;
        };
        if p.qos_pid.qos() == QoS::AtLeastOnce {
            let code = self.accept(accepted, reply);
            let ack = self.ack(0x40, id, code);
            reply.extend(ack);
            return;
        }
        let again = self.session.as_ref().and_then(|s| s.awaiting_rel.get(&id));
        match again {
            Some((t, b, code)) if *t == topic && *b == payload => {
                let ack = self.ack(0x50, id, *code);
                reply.extend(ack);
            }
            Some(_) => self.violation(format!(
                "QoS 2 PUBLISH reuses id {id}, still awaiting PUBREL for another message \
                 [MQTT-2.2.1-3]"
            )),
            None => {
                let code = self.accept(accepted, reply);
                if let Some(s) = self.session.as_mut() {
                    s.awaiting_rel.insert(id, (topic, payload, code));
                }
                let ack = self.ack(0x50, id, code);
                reply.extend(ack);
            }
        }
    }

    /// PUBACK (0x40) or PUBREC (0x50) with `code`: four bytes for 0x00 (or sometimes the long
    /// form), a Reason String sometimes with 0x10.
    fn ack(&mut self, first: u8, id: u16, code: u8) -> Vec<u8> {
        let bytes = match code {
            0 if self.rng.percent(80) => wire5::ack(first, id),
            0x10 if self.rng.percent(50) => {
                wire5::ack_with(first, id, code, &wire5::p_str(0x1F, "no subscribers"))
            }
            _ => wire5::ack_with(first, id, code, &[]),
        };
        self.checked(bytes)
    }
}
