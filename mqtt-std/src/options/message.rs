//! Received messages.

use mqtt_proto::{PacketId, QoS};

use crate::v5::PublishProperties;

/// A received application message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Topic name.
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// QoS it was delivered with.
    pub qos: QoS,
    /// Retain flag (a retained message sent on subscription).
    pub retain: bool,
    /// DUP flag as received.
    pub dup: bool,
    /// Its packet identifier (QoS 1 and 2; `None` for QoS 0, and for a message a durable
    /// store hands out again after a restart).
    pub packet_id: Option<PacketId>,
    /// With a durable session store, the message's number in it (1, 2, 3, ... in the order
    /// received, never reused; QoS 1/2 only). A message handed out again after a restart keeps
    /// its number: an application that records the numbers it has handled can skip it. See
    /// [`store`](crate::store).
    pub seq: Option<u64>,
    /// 5.0: its properties (empty on 3.1.1). The durable store does not keep them: a message
    /// it hands out again after a restart has none.
    pub properties: PublishProperties,
}

impl Message {
    /// The bytes of its topic, payload and 5.0 property strings and data: what it counts
    /// for in [`ClientOptions::receive_queue_bytes`](crate::ClientOptions::receive_queue_bytes).
    pub fn size(&self) -> usize {
        self.topic
            .len()
            .saturating_add(self.payload.len())
            .saturating_add(self.properties.size())
    }

    /// An owned copy of a message the session delivered, with its number in the durable store
    /// (if any).
    pub(crate) fn received(m: &mqtt_session::Message<'_>, seq: Option<u64>) -> Self {
        Message {
            topic: m.topic.to_owned(),
            payload: m.payload.to_vec(),
            qos: m.qos,
            retain: m.retain,
            dup: m.dup,
            packet_id: m.packet_id,
            seq,
            properties: PublishProperties::received(&m.properties),
        }
    }
}

/// What [`Client::message_get`](crate::Client::message_get) copied into the caller's buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageInfo {
    /// Bytes of topic written at the start of the topic buffer.
    pub topic_len: usize,
    /// Bytes of payload written at the start of the payload buffer.
    pub payload_len: usize,
    /// QoS it was delivered with.
    pub qos: QoS,
    /// Retain flag.
    pub retain: bool,
    /// DUP flag as received.
    pub dup: bool,
}
