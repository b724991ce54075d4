//! The simulation's wire checks: every packet the client writes and every packet it takes,
//! per connection.

use std::collections::VecDeque;

use mqtt_proto::{Decoder, Packet};
use mqtt_session::QoS;

use super::{Sim, Use, seq_of};
use crate::wire;

impl Sim {
    /// Bytes the client wrote on the current connection.
    pub(super) fn observe_out(&mut self, bytes: &[u8]) -> Result<(), String> {
        if self.version5 {
            return self.observe_out_v5(bytes);
        }
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
            self.log(|| format!("-> {}", wire::describe_packet(&packet)));
            if self.conn.disconnect_sent {
                return Err("a packet after DISCONNECT [MQTT-3.14.4-2]".to_owned());
            }
            if self.conn.packets_out == 0 && !matches!(packet, Packet::Connect(_)) {
                return Err("first packet is not CONNECT [MQTT-3.1.0-1]".to_owned());
            }
            self.conn.packets_out += 1;
            self.conn.last_write = self.now;
            self.check_out(&packet)?;
        }
        Ok(())
    }

    fn check_out(&mut self, packet: &Packet<'_>) -> Result<(), String> {
        match packet {
            Packet::Disconnect => self.conn.disconnect_sent = true,
            Packet::Publish(p) => {
                let Some(id) = p.qos_pid.packet_id() else {
                    return Ok(());
                };
                let id = id.get();
                let seq = seq_of(p.payload).ok_or("PUBLISH with an unknown payload")?;
                self.track_publish(seq, id, p.dup)?;
            }
            Packet::PubAck(id) => expect_front(
                &mut self.conn.expect_puback,
                id.get(),
                "PUBACK",
                "MQTT-4.6.0-2",
            )?,
            Packet::PubRec(id) => expect_front(
                &mut self.conn.expect_pubrec,
                id.get(),
                "PUBREC",
                "MQTT-4.6.0-3",
            )?,
            Packet::PubRel(id) => {
                let id = id.get();
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

    /// A QoS 1/2 PUBLISH of message `seq` under `id`: a first send, or a resend with the same
    /// id, DUP=1, before anything new, in order; never after its PUBREL.
    pub(super) fn track_publish(&mut self, seq: usize, id: u16, dup: bool) -> Result<(), String> {
        // The same rules, numbered differently in 5.0.
        let (after_pubrel, same_id) = if self.version5 {
            ("MQTT-4.3.3-6", "MQTT-4.4.0-1")
        } else {
            ("MQTT-4.3.3-1", "MQTT-2.3.1-3")
        };
        if self.released.contains(&seq) {
            return Err(format!(
                "m{seq} sent again after its PUBREL [{after_pubrel}]"
            ));
        }
        match self.written.get(&seq) {
            Some(&first_id) => {
                self.stats.resends += 1;
                if first_id != id {
                    return Err(format!(
                        "m{seq} resent with id {id}, first sent with {first_id} [{same_id}]"
                    ));
                }
                if !dup {
                    return Err(format!("m{seq} resent with DUP=0 [MQTT-3.3.1-1]"));
                }
                if self.conn.fresh_publish_seen {
                    return Err(format!(
                        "m{seq} resent after a new PUBLISH on this connection [MQTT-4.6.0-1]"
                    ));
                }
                if self.conn.last_resend.is_some_and(|last| last > seq) {
                    return Err(format!("m{seq} resent out of order [MQTT-4.6.0-1]"));
                }
                self.conn.last_resend = Some(seq);
            }
            None => {
                if dup {
                    self.stats.dup_on_first_write += 1;
                }
                self.conn.fresh_publish_seen = true;
                self.written.insert(seq, id);
            }
        }
        Ok(())
    }

    /// Bytes the client took from the current connection.
    pub(super) fn observe_in(&mut self, bytes: &[u8]) -> Result<(), String> {
        if self.version5 {
            return self.observe_in_v5(bytes);
        }
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
            self.log(|| format!("<- {}", wire::describe_packet(&packet)));
            match packet {
                Packet::Publish(p) => match p.qos_pid.qos() {
                    QoS::AtMostOnce => {}
                    QoS::AtLeastOnce => {
                        self.conn
                            .expect_puback
                            .extend(p.qos_pid.packet_id().map(|i| i.get()));
                    }
                    QoS::ExactlyOnce => {
                        self.conn
                            .expect_pubrec
                            .extend(p.qos_pid.packet_id().map(|i| i.get()));
                    }
                },
                Packet::PubRec(id) => {
                    // Only PUBRECs for a QoS 2 message in flight call for a PUBREL.
                    if matches!(self.ids.get(&id.get()), Some(Use::Publish(_))) {
                        self.conn.pubrecs_in.push_back(id.get());
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

pub(super) fn expect_front(
    q: &mut VecDeque<u16>,
    id: u16,
    what: &str,
    rule: &str,
) -> Result<(), String> {
    match q.front() {
        Some(&f) if f == id => {
            q.pop_front();
            Ok(())
        }
        front => Err(format!(
            "{what} for id {id}, but the next one due answers id {front:?} [{rule}]"
        )),
    }
}
