//! SUBSCRIBE / UNSUBSCRIBE and their acknowledgements.

use mqtt_proto::{PacketId, QoS};

use crate::error::CommandError;
use crate::session::{Buffer, Session};
use crate::store::Store;
use crate::time::Instant;

impl<S: Store, B: Buffer> Session<S, B> {
    /// Command: subscribe to one or more `(filter, maximum QoS)` pairs in one SUBSCRIBE. Needs
    /// [`State::Connected`](crate::State). The result arrives as
    /// [`Event::Subscribed`](crate::Event::Subscribed) with one return code per filter.
    pub fn subscribe(
        &mut self,
        now: Instant,
        filters: &[(&str, QoS)],
    ) -> Result<PacketId, CommandError> {
        let _ = (now, filters);
        Err(CommandError::NotConnected)
    }

    /// Command: unsubscribe from one or more filters in one UNSUBSCRIBE. Needs
    /// [`State::Connected`](crate::State). Acknowledged by
    /// [`Event::Unsubscribed`](crate::Event::Unsubscribed).
    pub fn unsubscribe(
        &mut self,
        now: Instant,
        filters: &[&str],
    ) -> Result<PacketId, CommandError> {
        let _ = (now, filters);
        Err(CommandError::NotConnected)
    }
}
