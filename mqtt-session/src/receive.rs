//! The receive side: buffering incoming bytes and dispatching packets.

use mqtt_proto::DecodeError;

use crate::session::{Buffer, Session};
use crate::store::Store;
use crate::time::Instant;

impl<S: Store, B: Buffer> Session<S, B> {
    /// Input: bytes from the transport, split anyhow. Copies what fits into the receive buffer,
    /// processes every whole packet it can, and returns how many bytes it took. When it took
    /// fewer than `data.len()`, drain [`Session::poll_event`] and [`Session::poll_transmit`]
    /// and call again with the rest. Bytes received while no connection is active are
    /// discarded (and counted as taken).
    pub fn handle_receive(&mut self, now: Instant, data: &[u8]) -> usize {
        let _ = (now, data);
        0
    }

    /// Zero-copy receive, step 1: the free part of the receive buffer; read from the transport
    /// into it, then call [`Session::handle_received`] with the count. Empty while the buffer is
    /// full of unprocessed input (drain the polls first).
    pub fn receive_buffer(&mut self) -> &mut [u8] {
        &mut []
    }

    /// Zero-copy receive, step 2: `n` bytes were written at the start of
    /// [`Session::receive_buffer`]. `n` is clamped to that buffer's length.
    pub fn handle_received(&mut self, now: Instant, n: usize) {
        let _ = (now, n);
    }
}

/// The normative statement a decode error breaks, or [MQTT-4.8.0-1] for plain malformation.
pub(crate) fn decode_rule(e: DecodeError) -> &'static str {
    match e {
        DecodeError::InvalidFlags => "MQTT-2.2.2-2",
        DecodeError::InvalidQoS => "MQTT-3.3.1-4",
        DecodeError::DupWithQoS0 => "MQTT-3.3.1-2",
        DecodeError::ZeroPacketId => "MQTT-2.3.1-1",
        DecodeError::InvalidUtf8 => "MQTT-1.5.3-1",
        DecodeError::NullCharacter => "MQTT-1.5.3-2",
        DecodeError::InvalidTopicName => "MQTT-3.3.2-2",
        DecodeError::InvalidTopicFilter => "MQTT-4.7.1-1",
        DecodeError::EmptySubscribe => "MQTT-3.8.3-3",
        DecodeError::EmptyUnsubscribe => "MQTT-3.10.3-2",
        DecodeError::SubscribeReservedBits => "MQTT-3.8.3-4",
        DecodeError::InvalidSubAckCode => "MQTT-3.9.3-2",
        DecodeError::ConnAckSessionPresentWithError => "MQTT-3.2.2-4",
        _ => "MQTT-4.8.0-1",
    }
}
