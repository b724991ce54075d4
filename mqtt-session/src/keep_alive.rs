//! Timers: CONNACK timeout, keep-alive PINGREQ [MQTT-3.1.2-23], PINGRESP timeout.
//!
//! A PINGREQ goes out when nothing was sent for the keep-alive interval: every `poll_transmit`
//! that writes bytes restarts the interval; receiving does not (the rule binds what the client
//! sends). Once a PINGREQ is written, a PINGRESP must arrive within
//! [`Config::ping_timeout`](crate::Config::ping_timeout), capped at the keep-alive interval, or
//! the connection ends with [`DisconnectReason::KeepAliveTimeout`]. The cap keeps the client
//! from ever staying silent longer than the keep alive while it waits [MQTT-3.1.2-23].

use core::time::Duration;

use crate::event::DisconnectReason;
use crate::session::{Buffer, Ping, Session, State};
use crate::store::Store;
use crate::time::Instant;

impl<S: Store, B: Buffer> Session<S, B> {
    /// Input: time passed. Does whatever is due at `now` (queue a PINGREQ, end the connection on
    /// a CONNACK or PINGRESP timeout, resume buffered input); a call before
    /// [`Session::poll_timeout`]'s instant does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.settle();
        let now = self.clamp(now);
        self.process();
        match self.state {
            State::Connecting if now >= self.connack_deadline => {
                self.end_connection(DisconnectReason::ConnAckTimeout);
            }
            State::Connected | State::Disconnecting => match self.ping {
                Ping::Sent(at) if now >= self.pingresp_deadline(at) => {
                    self.end_connection(DisconnectReason::KeepAliveTimeout);
                }
                Ping::Idle
                    if self.state == State::Connected
                        && self.keep_alive > Duration::ZERO
                        && now >= self.last_sent + self.keep_alive =>
                {
                    self.ping = Ping::Due;
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// The next timer deadline, ignoring immediate work.
    pub(crate) fn next_timer(&self) -> Option<Instant> {
        match self.state {
            State::Connecting => Some(self.connack_deadline),
            State::Connected | State::Disconnecting => match self.ping {
                Ping::Sent(at) => Some(self.pingresp_deadline(at)),
                Ping::Idle
                    if self.state == State::Connected && self.keep_alive > Duration::ZERO =>
                {
                    Some(self.last_sent + self.keep_alive)
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// When a PINGREQ written at `at` has waited too long for its PINGRESP: the configured ping
    /// timeout, but never later than the keep-alive interval, so that the connection ends
    /// before the client has been silent for longer than the keep alive [MQTT-3.1.2-23].
    fn pingresp_deadline(&self, at: Instant) -> Instant {
        let wait = if self.keep_alive > Duration::ZERO {
            self.config.ping_timeout.min(self.keep_alive)
        } else {
            self.config.ping_timeout
        };
        at + wait
    }

    /// Work the session can do at once: events to poll, messages of an ended session to hand
    /// back, input waiting for room in the acknowledgement queue.
    pub(crate) fn has_immediate_work(&self) -> bool {
        !self.events.is_empty()
            || self.orphans > usize::from(self.drop_reported)
            || (self.control.free() > 0 && self.input_ready())
    }

    /// PINGRESP: the broker is alive. An unsolicited one is ignored.
    pub(crate) fn on_pingresp(&mut self) {
        if matches!(self.ping, Ping::Sent(_)) {
            self.ping = Ping::Idle;
        }
    }
}
