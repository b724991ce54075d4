//! The transmit side: the queue of packets to send and `poll_transmit`.
//!
//! Three sources, emitted in this order on every call: four-byte acknowledgements (PUBACK,
//! PUBREC, PUBREL, PUBCOMP, in the order they were decided [MQTT-4.6.0-2/3/4]) and PINGREQ; then
//! the transmit buffer in command order (CONNECT, QoS 0 PUBLISH, SUBSCRIBE, UNSUBSCRIBE, and
//! four-byte markers standing for stored QoS 1/2 messages, encoded from the store only when
//! written out); then DISCONNECT, last [MQTT-3.14.4-2].

use mqtt_proto::{PacketId, QoS};

use crate::error::BufferTooSmall;
use crate::event::DisconnectReason;
use crate::session::{Buffer, Ping, Session, State};
use crate::store::{OutgoingState, Store};
use crate::time::Instant;
use crate::wire;

/// Outcome of trying to write one packet.
enum Step {
    /// Wrote this many bytes.
    Wrote(usize),
    /// Consumed a queue entry that produces nothing (a marker whose message is gone).
    Skipped,
    /// The next packet needs this many bytes and they are not free in the output.
    Full(usize),
    /// Nothing left.
    Empty,
    /// The next packet waits for room in the event queue (a held message expired and is
    /// to be reported): `poll_event` first.
    #[cfg(feature = "v5")]
    Blocked,
}

impl Step {
    /// Whether the queue entry stays for the next call (nothing was consumed).
    fn stays(&self) -> bool {
        match self {
            Step::Full(_) => true,
            #[cfg(feature = "v5")]
            Step::Blocked => true,
            _ => false,
        }
    }
}

impl<S: Store, B: Buffer> Session<S, B> {
    /// Write whole packets to send into `buf`: `Ok(Some(n))` with `n > 0` bytes in `buf[..n]`,
    /// `Ok(None)` when there is nothing to send, `Err` when `buf` cannot hold the next packet
    /// (nothing written; [`BufferTooSmall::required`] says how much it needs).
    ///
    /// Sending resets the keep-alive interval, so pass the time the bytes are handed to the
    /// transport. Once DISCONNECT has been written the connection is over
    /// ([`Event::Disconnected`](crate::Event::Disconnected) with
    /// [`DisconnectReason::Local`] is queued).
    ///
    /// 5.0: a held message found expired when its turn comes is reported as
    /// `Event::PublishExpired` (feature `v5`) instead of sent; when the event
    /// queue has no room for that, writing stops there (`Ok(None)` if nothing was written
    /// yet) and [`Session::poll_timeout`] says there is work now: poll the events, then
    /// transmit again.
    pub fn poll_transmit(
        &mut self,
        now: Instant,
        buf: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        self.settle();
        let now = self.clamp(now);
        if !self.active() {
            return Ok(None);
        }
        let mut n = 0;
        let mut disconnected = false;
        loop {
            let out = buf.get_mut(n..).unwrap_or(&mut []);
            let step = self.next_packet(out, now);
            match step {
                Step::Wrote(k) => {
                    n += k;
                    #[cfg(feature = "v5")]
                    if self.v5.disconnect_written {
                        // Nothing goes out after DISCONNECT [MQTT-3.14.4-1].
                        break;
                    }
                }
                Step::Skipped => {}
                Step::Empty => {
                    if self.disconnect_queued {
                        let Some(dst) = buf.get_mut(n..n + wire::DISCONNECT.len()) else {
                            if n == 0 {
                                return Err(BufferTooSmall {
                                    required: wire::DISCONNECT.len(),
                                });
                            }
                            break;
                        };
                        dst.copy_from_slice(&wire::DISCONNECT);
                        n += wire::DISCONNECT.len();
                        self.disconnect_queued = false;
                        disconnected = true;
                    }
                    break;
                }
                Step::Full(required) => {
                    if n == 0 {
                        return Err(BufferTooSmall { required });
                    }
                    break;
                }
                #[cfg(feature = "v5")]
                Step::Blocked => break,
            }
        }
        if n == 0 {
            return Ok(None);
        }
        self.last_sent = now;
        #[cfg(feature = "v5")]
        if self.v5.disconnect_written {
            let reason = self.v5.closing.take().unwrap_or(DisconnectReason::Local);
            self.end_connection(reason);
        }
        if disconnected {
            self.end_connection(DisconnectReason::Local);
        }
        Ok(Some(n))
    }

    /// Write the next queued packet into `out`.
    fn next_packet(&mut self, out: &mut [u8], now: Instant) -> Step {
        if self.connect_unsent {
            // CONNECT is first in the transmit buffer and goes out before any acknowledgement or
            // PINGREQ, even if a (misbehaving) broker answered before it was sent.
            return self.next_queued(out);
        }
        if let Some(c) = self.control.front() {
            let Some(dst) = out.get_mut(..c.len()) else {
                return Step::Full(c.len());
            };
            dst.copy_from_slice(&c);
            self.control.pop();
            return Step::Wrote(c.len());
        }
        if self.ping == Ping::Due {
            let Some(dst) = out.get_mut(..wire::PINGREQ.len()) else {
                return Step::Full(wire::PINGREQ.len());
            };
            dst.copy_from_slice(&wire::PINGREQ);
            self.ping = Ping::Sent(now);
            return Step::Wrote(wire::PINGREQ.len());
        }
        self.next_queued(out)
    }

    /// Write the next packet of the transmit buffer into `out`.
    fn next_queued(&mut self, out: &mut [u8]) -> Step {
        if self.tx_head >= self.tx_tail {
            self.connect_unsent = false;
            return Step::Empty;
        }
        let queued = self
            .tx
            .as_ref()
            .get(self.tx_head..self.tx_tail)
            .unwrap_or(&[]);
        let step = match queued.first() {
            Some(&wire::MARKER) => {
                let (dup, id) = match queued {
                    [_, flags, hi, lo, ..] => (
                        flags & wire::MARKER_DUP != 0,
                        PacketId::new(u16::from_be_bytes([*hi, *lo])),
                    ),
                    _ => (false, None),
                };
                let step = match id {
                    Some(id) => self.write_stored(out, id, dup),
                    None => Step::Skipped,
                };
                if !step.stays() {
                    self.tx_head += wire::MARKER_LEN;
                }
                step
            }
            _ => {
                let len = wire::packet_len(queued).unwrap_or(queued.len());
                match (queued.get(..len), out.get_mut(..len)) {
                    (Some(src), Some(dst)) => {
                        dst.copy_from_slice(src);
                        #[cfg(feature = "v5")]
                        if src.first() == Some(&0xE0) && self.v5.closing.is_some() {
                            // The 5.0 DISCONNECT queued last (a close or `disconnect_with`).
                            self.v5.disconnect_written = true;
                        }
                        self.tx_head += len;
                        self.connect_unsent = false;
                        Step::Wrote(len)
                    }
                    (None, _) => {
                        // Cannot happen for bytes the session wrote; drop them rather than loop.
                        self.tx_head = self.tx_tail;
                        Step::Skipped
                    }
                    (Some(_), None) => Step::Full(len),
                }
            }
        };
        if self.tx_head >= self.tx_tail {
            self.tx_head = 0;
            self.tx_tail = 0;
            // Whatever set an alias has been written.
            #[cfg(feature = "v5")]
            self.v5.aliases_out.all_on_wire();
        }
        if !step.stays() {
            self.promote();
        }
        step
    }

    /// Encode the stored message `id` (PUBLISH, or PUBREL once released) into `out`.
    fn write_stored(&mut self, out: &mut [u8], id: PacketId, dup: bool) -> Step {
        let Some(i) = self.store.outgoing_position(id) else {
            return Step::Skipped;
        };
        let Some(m) = self.store.outgoing(i) else {
            return Step::Skipped;
        };
        if m.state == OutgoingState::Released {
            let Some(dst) = out.get_mut(..4) else {
                return Step::Full(4);
            };
            dst.copy_from_slice(&wire::pubrel(id));
            self.mark_written(i);
            return Step::Wrote(4);
        }
        let qos = if m.qos == QoS::AtMostOnce {
            QoS::AtLeastOnce
        } else {
            m.qos
        };
        #[cfg(feature = "v5")]
        {
            let props = crate::v5::StoredProperties::new(m.properties);
            let expiry = match crate::v5::expiry(m.expires, props.interval(), self.now) {
                crate::v5::Expiry::Left(v) => v.unwrap_or(0),
                // Written on an earlier connection and unacknowledged: sent again however
                // late [MQTT-4.4.0-1], expiry not applied [MQTT-4.3.3-7], with nothing left.
                crate::v5::Expiry::Over if dup => 0,
                // Never written: it is not sent after its lifetime.
                crate::v5::Expiry::Over => return self.expire(i, id),
            };
            if self.v5.on {
                let body = crate::v5::publish_body_len(m.topic.len(), m.payload, qos, props.len());
                let Some(total) = wire::total_len(body) else {
                    return Step::Skipped;
                };
                if let Err(reason) = self.check_publish_v5(qos, m.retain, total) {
                    // Held (queued, offline, or from the last connection) and not what this
                    // broker takes (size, QoS, retain): it cannot be sent [MQTT-3.2.2-15,
                    // MQTT-3.2.2-11, MQTT-3.2.2-14].
                    return self.not_sendable(i, id, reason);
                }
                // A first send may use a Topic Alias of this connection (set here, in wire
                // order); a resend carries its topic.
                let max = self
                    .config
                    .outgoing_topic_aliases
                    .min(self.v5.server.topic_alias_maximum);
                let (topic, alias, new) = match (dup, max) {
                    (true, _) | (_, 0) => (m.topic, None, false),
                    _ => match (
                        self.v5.aliases_out.find_on_wire(m.topic),
                        self.v5.aliases_out.find(m.topic),
                    ) {
                        (Some(a), _) => ("", Some(a), false),
                        // Set by a QoS 0 packet not written yet: the topic goes in full.
                        (None, Some(_)) => (m.topic, None, false),
                        (None, None) => match self.v5.aliases_out.next_free(m.topic, max) {
                            Some(a) => (m.topic, Some(a), true),
                            None => (m.topic, None, false),
                        },
                    },
                };
                let (topic, alias, new, total) = if alias.is_some() {
                    let with =
                        crate::v5::publish_body_len(topic.len(), m.payload, qos, props.len() + 3);
                    match wire::total_len(with) {
                        Some(n) if self.check_server_size(n).is_ok() => (topic, alias, new, n),
                        _ => (m.topic, None, false, total),
                    }
                } else {
                    (topic, alias, new, total)
                };
                let Some(dst) = out.get_mut(..total) else {
                    return Step::Full(total);
                };
                let k = crate::v5::write_stored_publish(
                    dst, topic, m.payload, qos, id, dup, m.retain, &props, expiry, alias,
                );
                if new {
                    self.v5.aliases_out.assign_on_wire(m.topic, max);
                }
                self.mark_written(i);
                return Step::Wrote(k);
            }
        }
        let body = wire::publish_body_len(m.topic, m.payload, qos);
        let Some(total) = wire::total_len(body) else {
            return Step::Skipped;
        };
        let Some(dst) = out.get_mut(..total) else {
            return Step::Full(total);
        };
        let k = wire::write_publish(dst, m.topic, m.payload, qos, Some(id), dup, m.retain);
        self.mark_written(i);
        Step::Wrote(k)
    }

    /// The held message at `index` (identifier `id`) is not what this connection's broker
    /// takes: remove it and report it (as [`Session::expire`] does).
    #[cfg(feature = "v5")]
    fn not_sendable(&mut self, index: usize, id: PacketId, reason: crate::CommandError) -> Step {
        if self.events.free() < crate::receive::EVENTS_PER_PACKET {
            return Step::Blocked;
        }
        self.unneeded(index);
        self.store.remove_outgoing(id);
        self.removed_at(index);
        self.push_event(crate::session::EventRepr::NotSendable { id, reason });
        Step::Skipped
    }

    /// The held message at `index` (identifier `id`) expired before its PUBLISH was first
    /// written: remove it and report it, when the event queue has room for that (keeping
    /// what a packet or a timer may need).
    #[cfg(feature = "v5")]
    fn expire(&mut self, index: usize, id: PacketId) -> Step {
        if self.events.free() < crate::receive::EVENTS_PER_PACKET {
            return Step::Blocked;
        }
        self.unneeded(index);
        self.store.remove_outgoing(id);
        self.removed_at(index);
        self.push_event(crate::session::EventRepr::Expired(id));
        Step::Skipped
    }

    /// Room for `n` more bytes at the end of the transmit buffer, compacting it if needed.
    pub(crate) fn tx_reserve(&mut self, n: usize) -> Option<&mut [u8]> {
        let cap = self.tx.as_ref().len();
        if cap - self.tx_tail < n && self.tx_head > 0 {
            self.tx.as_mut().copy_within(self.tx_head..self.tx_tail, 0);
            self.tx_tail -= self.tx_head;
            self.tx_head = 0;
        }
        let start = self.tx_tail;
        self.tx.as_mut().get_mut(start..start + n)
    }

    /// Free bytes in the transmit buffer (after compaction).
    pub(crate) fn tx_free(&self) -> usize {
        self.tx.as_ref().len() - (self.tx_tail - self.tx_head)
    }

    /// Capacity of the transmit buffer.
    pub(crate) fn tx_capacity(&self) -> usize {
        self.tx.as_ref().len()
    }

    /// Append `bytes` to the transmit buffer; false when they do not fit.
    pub(crate) fn tx_push(&mut self, bytes: &[u8]) -> bool {
        match self.tx_reserve(bytes.len()) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.tx_tail += bytes.len();
                true
            }
            None => false,
        }
    }

    /// Whether a command may queue new traffic now: connected, and every resend decided at
    /// CONNACK already queued (resends go before anything new [MQTT-4.4.0-1]).
    pub(crate) fn may_send_new(&self) -> bool {
        self.state == State::Connected && !self.resending
    }
}
