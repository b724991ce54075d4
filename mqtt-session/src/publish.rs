//! Publishing (outgoing PUBLISH and its acknowledgements) and receiving PUBLISH.

use mqtt_proto::{PacketId, QoS};

use crate::error::CommandError;
use crate::session::{Buffer, Session};
use crate::store::Store;
use crate::time::Instant;

impl<S: Store, B: Buffer> Session<S, B> {
    /// Command: publish an application message. Needs [`State::Connected`](crate::State).
    ///
    /// QoS 0 is queued in the transmit buffer and returns `Ok(None)`. QoS 1 and 2 are recorded in
    /// the store with a fresh packet identifier (non-zero, not in use [MQTT-2.3.1-2]) that is
    /// returned, and sent when the in-flight window allows. Beyond the window the message is
    /// queued if [`Config::max_queued`](crate::Config::max_queued) allows, else refused with
    /// [`CommandError::WindowFull`]. Completion is reported by
    /// [`Event::PublishAcknowledged`](crate::Event) (QoS 1) or `PublishCompleted` (QoS 2).
    pub fn publish(
        &mut self,
        now: Instant,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<Option<PacketId>, CommandError> {
        let _ = (now, topic, payload, qos, retain);
        Err(CommandError::NotConnected)
    }
}
