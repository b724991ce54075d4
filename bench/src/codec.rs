//! The stream shapes of the codec comparison (the same as `mqtt-proto/benches/codec.rs`).

/// Packets per stream.
pub const STREAM: usize = 1000;

/// A 32-byte topic.
pub const TOPIC: &str = "devices/0123456789/telemetry/tmp";

/// The packet identifier of the `n`th packet of a stream: 1 to 65,535, never zero.
pub fn packet_id(n: usize) -> u16 {
    // `n % 65_535` is below 65,535, so the cast cannot truncate.
    (n % 65_535) as u16 + 1
}

/// The packets of the mixed acknowledgement stream, in the order they repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckKind {
    /// PUBACK.
    PubAck,
    /// PUBREC.
    PubRec,
    /// PUBREL.
    PubRel,
    /// PUBCOMP.
    PubComp,
    /// SUBACK with three return codes (granted QoS 0, granted QoS 1, failure).
    SubAck,
    /// UNSUBACK.
    UnsubAck,
    /// PINGRESP.
    PingResp,
}

/// The mixed stream's cycle: packet `i` is `ACK_KINDS[i % 7]`.
pub const ACK_KINDS: [AckKind; 7] = [
    AckKind::PubAck,
    AckKind::PubRec,
    AckKind::PubRel,
    AckKind::PubComp,
    AckKind::SubAck,
    AckKind::UnsubAck,
    AckKind::PingResp,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_is_32_bytes() {
        assert_eq!(TOPIC.len(), 32);
    }

    #[test]
    fn packet_ids_wrap_without_zero() {
        assert_eq!(packet_id(0), 1);
        assert_eq!(packet_id(65_534), 65_535);
        assert_eq!(packet_id(65_535), 1);
    }
}
