//! The outgoing window: packet identifiers, which stored messages go out when, resumption.
//!
//! The store holds outgoing QoS 1/2 messages in publish order. The first
//! [`Config::max_inflight`](crate::Config::max_inflight) are in flight; the rest are queued.
//! On the current connection the first `sent` of them have been queued for transmission (a
//! marker in the transmit buffer, or already written); the first `dup_until` had been sent on
//! an earlier connection, so their PUBLISH goes out again with DUP=1 [MQTT-3.3.1-1].

use mqtt_proto::PacketId;

use crate::config::SessionLostPolicy;
use crate::session::{Buffer, Session, State};
use crate::store::Store;
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
        if self.state != State::Connected || self.drop_remaining > 0 {
            return;
        }
        let limit = self.store.outgoing_len().min(self.config.window());
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
        if index < self.dup_until {
            self.dup_until -= 1;
        }
    }

    /// Whether the outgoing message at `index` may be acknowledged: it is in the window and was
    /// sent on this connection or an earlier one. (After a restart with a smaller window, an
    /// acknowledgement for a message beyond the window is ignored; the broker acknowledges it
    /// again when it is resent, so nothing goes out for it outside the window.)
    pub(crate) fn was_sent(&self, index: usize) -> bool {
        index < self.config.window() && (index < self.sent || index < self.dup_until)
    }

    /// CONNACK accepted: decide what happens to held messages and queue the resends.
    pub(crate) fn resume(&mut self, session_present: bool) {
        self.sent = 0;
        if !session_present {
            // The broker has no session: no PUBREL will come for our incoming QoS 2 ids.
            self.store.clear_incoming();
            match self.config.session_lost {
                SessionLostPolicy::Resend => self.dup_until = 0,
                SessionLostPolicy::Drop => {
                    self.drop_remaining = self.store.outgoing_len();
                    self.dup_until = 0;
                }
            }
        }
        self.resending = self.drop_remaining == 0 && self.store.outgoing_len() > 0;
        self.promote();
    }
}
