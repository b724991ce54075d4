//! The 5.0 wire checks: every packet the client writes and takes on a 5.0 connection.

use mqtt_proto::QoS;
use mqtt_proto::v5::{Decoder, DisconnectReasonCode, Packet, Publish};

use super::Allowed;
use crate::sim::observe::expect_front;
use crate::sim::{KEEP_ALIVE_S, Sim, Use, seq_of};
use crate::v5::describe;
use crate::wire;

impl Sim {
    /// Bytes the client wrote on the current 5.0 connection.
    pub(in crate::sim) fn observe_out_v5(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.conn.out_buf.extend_from_slice(bytes);
        let (packets, rest) = wire::split(&self.conn.out_buf);
        let keep = self.conn.out_buf.len() - rest;
        self.conn.out_buf.drain(..keep);
        if rest > 0 {
            return Err("poll_transmit wrote part of a packet".to_owned());
        }
        for raw in packets {
            let Ok(Some((packet, _))) = Decoder::new().decode(&raw) else {
                return Err(format!(
                    "the client wrote a malformed packet: {}",
                    wire::hex(&raw)
                ));
            };
            self.log(|| format!("-> {}", describe(&raw)));
            if self.conn.disconnect_sent {
                return Err("a packet after DISCONNECT [MQTT-3.14.4-1]".to_owned());
            }
            if self.conn.packets_out == 0 && !matches!(packet, Packet::Connect(_)) {
                return Err("first packet is not CONNECT [MQTT-3.1.0-1]".to_owned());
            }
            let max = self.v5.wire.allowed.and_then(|a| a.maximum_packet_size);
            if max.is_some_and(|m| raw.len() as u64 > u64::from(m)) {
                return Err(format!(
                    "a {}-byte packet above the broker's Maximum Packet Size {max:?} \
                     [MQTT-3.2.2-15]",
                    raw.len()
                ));
            }
            if self.v5.wire.expect_close
                && !matches!(packet, Packet::Disconnect(d)
                    if d.reason_code == DisconnectReasonCode::ProtocolError)
            {
                return Err(format!(
                    "{} after Session Present 1 without session state, not DISCONNECT 0x82 \
                     [MQTT-3.2.2-4]",
                    describe(&raw)
                ));
            }
            self.conn.packets_out += 1;
            self.conn.last_write = self.now;
            self.check_out_v5(&packet)?;
        }
        Ok(())
    }

    fn check_out_v5(&mut self, packet: &Packet<'_>) -> Result<(), String> {
        match packet {
            Packet::Disconnect(_) => self.conn.disconnect_sent = true,
            Packet::Connect(c) if c.clean_start != self.v5.wire.clean_start => {
                return Err(format!("CONNECT with Clean Start {}", c.clean_start));
            }
            Packet::Publish(p) => self.check_publish_v5(p)?,
            Packet::PubAck(a) => expect_front(
                &mut self.conn.expect_puback,
                a.packet_id.get(),
                "PUBACK",
                "MQTT-4.6.0-2",
            )?,
            Packet::PubRec(r) => expect_front(
                &mut self.conn.expect_pubrec,
                r.packet_id.get(),
                "PUBREC",
                "MQTT-4.6.0-3",
            )?,
            Packet::PubRel(r) => {
                let id = r.packet_id.get();
                if let Some(Use::Publish(seq)) = self.ids.get(&id) {
                    self.released.insert(*seq);
                }
                if self.conn.pubrecs_in.contains(&id) {
                    expect_front(&mut self.conn.pubrecs_in, id, "PUBREL", "MQTT-4.6.0-4")?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn check_publish_v5(&mut self, p: &Publish<'_>) -> Result<(), String> {
        let allowed = self.v5.wire.allowed.ok_or("PUBLISH before the CONNACK")?;
        if p.properties.subscription_identifier().is_some() {
            return Err("a PUBLISH with a Subscription Identifier [MQTT-3.3.4-6]".to_owned());
        }
        let topic = self.outgoing_topic(p, allowed)?;
        let seq = seq_of(p.payload).ok_or("PUBLISH with an unknown payload")?;
        let m = self.plan.get(seq).ok_or("PUBLISH of an unknown message")?;
        if topic != m.topic {
            return Err(format!(
                "m{seq} sent under topic {topic:?}, published to {:?}",
                m.topic
            ));
        }
        let user: Vec<(String, String)> = p
            .properties
            .user_properties()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        if user != m.user {
            return Err(format!(
                "m{seq} sent with User Properties {user:?}, published with {:?}",
                m.user
            ));
        }
        let at = self.v5.published_at.get(&seq).copied().unwrap_or(0);
        let elapsed = (self.now.saturating_sub(at) / 1000) as u32;
        match (m.expiry, p.properties.message_expiry_interval()) {
            (None, None) => {}
            (Some(e), Some(v)) if v <= e.saturating_sub(elapsed) => {}
            (e, v) => {
                return Err(format!(
                    "m{seq} sent with Message Expiry Interval {v:?}, published with {e:?} \
                     {elapsed} s ago"
                ));
            }
        }
        let Some(id) = p.qos_pid.packet_id().map(|i| i.get()) else {
            return Ok(());
        };
        if self.ids.get(&id) != Some(&Use::Publish(seq)) {
            return Err(format!(
                "m{seq} sent under id {id}, which is {:?}",
                self.ids.get(&id)
            ));
        }
        if !self.written.contains_key(&seq) && self.v5.fresh.remove(&seq) && p.dup {
            let rule = if m.qos == QoS::AtLeastOnce {
                "MQTT-4.3.2-2"
            } else {
                "MQTT-4.3.3-2"
            };
            return Err(format!(
                "m{seq}, published again as a new message, sent with DUP=1 [{rule}]"
            ));
        }
        self.track_publish(seq, id, p.dup)?;
        let unacked = &mut self.v5.wire.unacked;
        unacked.insert(id);
        let max = usize::from(allowed.receive_maximum);
        if unacked.len() > max {
            return Err(format!(
                "{} QoS 1/2 PUBLISH unacknowledged, the broker's Receive Maximum is {max} \
                 [MQTT-3.3.4-7, MQTT-4.9.0-2]",
                unacked.len()
            ));
        }
        if unacked.len() == max {
            self.stats.v5.receive_maximum_reached += 1;
        }
        Ok(())
    }

    /// The topic an outgoing PUBLISH names: its Topic Alias within the broker's Topic Alias
    /// Maximum and the configured number, an empty topic only under an alias set on this
    /// connection [MQTT-3.3.2-7].
    fn outgoing_topic(&mut self, p: &Publish<'_>, allowed: Allowed) -> Result<String, String> {
        let Some(a) = p.properties.topic_alias() else {
            return p
                .topic
                .map(|t| t.as_str().to_owned())
                .ok_or_else(|| "a PUBLISH with an empty topic and no alias".to_owned());
        };
        let max = allowed.topic_alias_maximum;
        if a > max {
            let rule = if max == 0 {
                "MQTT-3.2.2-18"
            } else {
                "MQTT-3.2.2-17, MQTT-3.3.2-9"
            };
            return Err(format!(
                "Topic Alias {a} above the broker's Topic Alias Maximum {max} [{rule}]"
            ));
        }
        let configured = self.client.config().outgoing_topic_aliases;
        if a > configured {
            return Err(format!(
                "Topic Alias {a} beyond the {configured} configured"
            ));
        }
        match p.topic {
            Some(t) => {
                self.stats.v5.aliases_out.0 += 1;
                self.v5.wire.aliases.insert(a, t.as_str().to_owned());
                Ok(t.as_str().to_owned())
            }
            None => {
                self.stats.v5.aliases_out.1 += 1;
                self.v5.wire.aliases.get(&a).cloned().ok_or_else(|| {
                    format!(
                        "an empty topic with Topic Alias {a}, not set on this connection \
                         [MQTT-3.3.2-7]"
                    )
                })
            }
        }
    }

    /// Bytes the client took from the current 5.0 connection.
    pub(in crate::sim) fn observe_in_v5(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.conn.in_buf.extend_from_slice(bytes);
        let (packets, rest) = wire::split(&self.conn.in_buf);
        let keep = self.conn.in_buf.len() - rest;
        self.conn.in_buf.drain(..keep);
        for raw in packets {
            let Ok(Some((packet, _))) = Decoder::new().decode(&raw) else {
                return Err(format!(
                    "the broker model wrote a malformed packet: {}",
                    wire::hex(&raw)
                ));
            };
            self.log(|| format!("<- {}", describe(&raw)));
            match packet {
                Packet::ConnAck(c) => {
                    let p = &c.properties;
                    self.v5.wire.allowed = Some(Allowed {
                        receive_maximum: p.receive_maximum().unwrap_or(u16::MAX),
                        topic_alias_maximum: p.topic_alias_maximum().unwrap_or(0),
                        maximum_packet_size: p.maximum_packet_size(),
                        keep_alive: p.server_keep_alive().unwrap_or(KEEP_ALIVE_S),
                    });
                    self.v5.wire.expect_close = c.session_present && self.v5.session_gone;
                }
                Packet::Publish(p) => {
                    if p.properties.topic_alias().is_some() {
                        self.stats.v5.aliases_in.0 += usize::from(p.topic.is_some());
                        self.stats.v5.aliases_in.1 += usize::from(p.topic.is_none());
                    }
                    let id = p.qos_pid.packet_id().map(|i| i.get());
                    match p.qos_pid.qos() {
                        QoS::AtMostOnce => {}
                        QoS::AtLeastOnce => self.conn.expect_puback.extend(id),
                        QoS::ExactlyOnce => self.conn.expect_pubrec.extend(id),
                    }
                }
                Packet::PubAck(a) => {
                    self.v5.wire.unacked.remove(&a.packet_id.get());
                }
                Packet::PubComp(c) => {
                    self.v5.wire.unacked.remove(&c.packet_id.get());
                }
                Packet::PubRec(r) => {
                    let id = r.packet_id.get();
                    if r.reason_code.as_u8() >= 0x80 {
                        self.v5.wire.unacked.remove(&id);
                    } else if let Some(Use::Publish(seq)) = self.ids.get(&id) {
                        // Only PUBRECs for a QoS 2 message in flight call for a PUBREL.
                        self.v5.pubrec.insert(*seq);
                        self.conn.pubrecs_in.push_back(id);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}
