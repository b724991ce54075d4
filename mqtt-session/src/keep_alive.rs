//! Timers: CONNACK timeout, keep-alive PINGREQ [MQTT-3.1.2-23], PINGRESP timeout.
//!
//! A PINGREQ goes out when nothing was sent for the keep-alive interval: every `poll_transmit`
//! that writes bytes restarts the interval; receiving does not (the rule binds what the client
//! sends). Once a PINGREQ is written, a PINGRESP must arrive within
//! [`Config::ping_timeout`](crate::Config::ping_timeout), capped at the keep-alive interval, or
//! the connection ends with [`DisconnectReason::KeepAliveTimeout`]. The cap keeps the client
//! from ever staying silent longer than the keep alive while it waits [MQTT-3.1.2-23].
//!
//! Back-pressure is not a dead broker: while the client itself withholds input (the driver
//! said so with [`Session::set_input_paused`], or the session holds unprocessed input because
//! the application has not polled its events), the PINGRESP wait does not run, and a PINGREQ
//! still goes out every keep-alive interval. When input flows again, the wait starts over.

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
                Ping::Sent(_) if self.input_withheld() => {
                    self.ping_deferred = true;
                    if self.state == State::Connected
                        && self.keep_alive > Duration::ZERO
                        && now >= self.last_sent + self.keep_alive
                    {
                        // Stay heard [MQTT-3.1.2-23]: the answer to the last one may be
                        // waiting unread.
                        self.ping = Ping::Due;
                    }
                }
                Ping::Sent(at) if now >= self.pingresp_deadline(at) => {
                    if self.ping_deferred {
                        // Input flows again: the PINGRESP may have waited behind it.
                        self.ping_deferred = false;
                        self.ping = Ping::Sent(now);
                    } else {
                        self.end_connection(DisconnectReason::KeepAliveTimeout);
                    }
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
                Ping::Sent(_) if self.input_withheld() => (self.state == State::Connected
                    && self.keep_alive > Duration::ZERO)
                    .then(|| self.last_sent + self.keep_alive),
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
        self.ping_deferred = false;
    }

    /// Input: whether the driver withholds input from the session for now (for instance it
    /// stopped reading the transport because the application's receive queue is full). While
    /// paused, a missing PINGRESP does not end the connection (it may be waiting unread), and
    /// a PINGREQ still goes out every keep-alive interval; once input flows again, the
    /// PINGRESP wait starts over. Unprocessed input held by the session itself (events not
    /// polled) counts as withheld without this call.
    pub fn set_input_paused(&mut self, now: Instant, paused: bool) {
        self.settle();
        let now = self.clamp(now);
        if self.input_paused && !paused {
            if let Ping::Sent(at) = self.ping {
                // Input flows again: the PINGRESP wait starts over.
                self.ping = Ping::Sent(at.max(now));
            }
            self.ping_deferred = false;
        }
        self.input_paused = paused;
    }

    /// Whether input is withheld by the client itself: paused by the driver, or buffered here
    /// and waiting for the application to poll events.
    pub(crate) fn input_withheld(&self) -> bool {
        self.input_paused
            || (self.rx_pos < self.rx_end
                && (self.events.free() < crate::receive::EVENTS_PER_PACKET
                    || self.control.free() < 1
                    || self.orphans > 0))
    }
}
