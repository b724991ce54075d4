//! The outgoing window: packet identifiers, which stored messages go out when, resumption.
//!
//! The store holds outgoing QoS 1/2 messages in publish order. The first
//! [`Config::max_inflight`](crate::Config::max_inflight) are in flight; the rest are queued.
//! On the current connection the first `sent` of them have been queued for transmission (a
//! marker in the transmit buffer, or already written), and the first `written` of those have
//! been written out by `poll_transmit`; the first `dup_until` had been written on an earlier
//! connection, so their PUBLISH goes out again with DUP=1 [MQTT-3.3.1-1].
//!
//! Only a message written on this connection can be acknowledged: a PUBACK or PUBREC for one
//! whose PUBLISH (or PUBREL, on resumption) has not been written yet is an unexpected
//! acknowledgement, ignored like any other, and the message is still sent.

use mqtt_proto::PacketId;

use crate::config::SessionLostPolicy;
use crate::session::{Buffer, EventRepr, Session, State};
use crate::store::{OutgoingState, Store};
use crate::wire;

impl<S: Store, B: Buffer> Session<S, B> {
    /// A packet identifier not used by any held outgoing message nor pending request
    /// [MQTT-2.3.1-2]: the counter goes 1, 2, ... 65535, 1 (0 is skipped [MQTT-2.3.1-1]).
    pub(crate) fn allocate_id(&mut self) -> Option<PacketId> {
        for _ in 0..u16::MAX {
            let candidate = PacketId::new(self.next_id);
            self.next_id = self.next_id.checked_add(1).unwrap_or(1);
            if let Some(id) = candidate {
                if !self.id_in_use(id) {
                    return Some(id);
                }
            }
        }
        None
    }

    /// Whether `id` is held by an outgoing message, a pending SUBSCRIBE/UNSUBSCRIBE, or an
    /// event reporting its completion that the application has not polled yet.
    pub(crate) fn id_in_use(&self, id: PacketId) -> bool {
        self.store.outgoing_position(id).is_some()
            || (self.pending_count > 0
                && self.pending.iter().flatten().any(|r| r.packet_id() == id))
            || (!self.events.is_empty() && self.events.iter().any(|e| e.finished_id() == Some(id)))
    }

    /// Queue markers for stored messages that may go out now (in order, within the window).
    pub(crate) fn promote(&mut self) {
        if self.state != State::Connected || self.orphans > 0 {
            return;
        }
        let limit = self.store.outgoing_len().min(self.window());
        while self.sent < limit {
            let Some(m) = self.store.outgoing_info(self.sent) else {
                break;
            };
            let marker = wire::marker(m.packet_id, self.sent < self.dup_until);
            if !self.tx_push(&marker) {
                return;
            }
            self.sent += 1;
        }
        self.resending = false;
    }

    /// Bookkeeping after the outgoing message at `index` left the store.
    pub(crate) fn removed_at(&mut self, index: usize) {
        if index < self.sent {
            self.sent -= 1;
        }
        if index < self.written {
            self.written -= 1;
        }
        if index < self.dup_until {
            self.dup_until -= 1;
        }
        if index < self.orphan_at {
            self.orphan_at -= 1;
        } else if index - self.orphan_at < self.orphans {
            self.orphans -= 1;
        }
    }

    /// Whether the outgoing message at `index` may be acknowledged: its PUBLISH (or, resumed
    /// after PUBREC, its PUBREL) was written out by `poll_transmit` on this connection. An
    /// acknowledgement for a message still queued (not written yet, or beyond the window after
    /// a restart with a smaller one) is ignored: it cannot answer anything the broker received
    /// on this connection, and the message still goes out.
    pub(crate) fn was_written(&self, index: usize) -> bool {
        index < self.written
    }

    /// The marker of the outgoing message at store index `index` was written out.
    pub(crate) fn mark_written(&mut self, index: usize) {
        if index >= self.written {
            self.written = index + 1;
        }
        self.session_fresh = false;
    }

    /// The session ended [MQTT-3.1.2-6]: at a clean-session CONNECT, with the network
    /// connection of a clean session, or at CONNACK with session present 0. Nothing of it is
    /// used again: incoming QoS 2 ids are forgotten, and every held outgoing message is handed
    /// back (one per `poll_event`, before anything of the store goes out) as
    /// [`Config::session_lost`](crate::Config::session_lost) says.
    pub(crate) fn end_session(&mut self) {
        self.session_ended = true;
        self.store.clear_incoming();
        #[cfg(feature = "v5")]
        {
            self.v5.incoming_qos2 = 0;
        }
        self.dup_until = 0;
        if self.session_fresh {
            // Nothing was written since the last end: the held messages are new already.
            return;
        }
        self.session_fresh = true;
        if self.orphans == 0 {
            self.orphan_at = 0;
        }
        self.orphans = self.store.outgoing_len().saturating_sub(self.orphan_at);
    }

    /// Hand back the next held message of an ended session. Under `Resend`, a QoS 2 message
    /// whose PUBREC had arrived is removed and reported as accepted (publishing it again could
    /// deliver it twice), and any other gets a new packet identifier (DUP=0 from then on:
    /// [`Event::Republished`](crate::Event::Republished)). Returns true when the message at
    /// `orphan_at` is to be reported as dropped (policy `Drop`, or no identifier free) and
    /// removed at the next call.
    pub(crate) fn next_orphan(&mut self) -> bool {
        let at = self.orphan_at;
        let Some(m) = self.store.outgoing_info(at) else {
            self.orphans = 0;
            self.promote();
            return false;
        };
        if self.config.session_lost == SessionLostPolicy::Drop {
            return true;
        }
        if m.state == OutgoingState::Released {
            self.unneeded(at);
            self.store.remove_outgoing(m.packet_id);
            self.removed_at(at);
            self.push_event(EventRepr::AcceptedSessionEnded(m.packet_id));
        } else {
            // The old identifier is still held, so the new one differs from every identifier
            // of the ended session not yet handed back.
            let Some(new) = self.allocate_id() else {
                return true;
            };
            if !self.store.renumber_outgoing(m.packet_id, new) {
                return true;
            }
            self.orphan_at += 1;
            self.orphans -= 1;
            self.push_event(EventRepr::Republished {
                old: m.packet_id,
                new,
            });
        }
        if self.orphans == 0 {
            self.promote();
        }
        false
    }

    /// CONNACK accepted: decide what happens to held messages and queue the resends.
    pub(crate) fn resume(&mut self, session_present: bool) {
        self.sent = 0;
        self.written = 0;
        if !session_present {
            // The broker has no session for us: ours ends too.
            self.end_session();
        }
        // Resends (and, under `Resend`, the ended session's messages published again) go
        // before anything new [MQTT-4.4.0-1]; under `Drop`, the ended session's are reported
        // instead.
        let dropping = self.config.session_lost == SessionLostPolicy::Drop && self.orphans > 0;
        self.resending = !dropping && self.store.outgoing_len() > 0;
        self.promote();
    }
}
