//! Owned packets sharing one `Bytes` (feature `bytes`).
use bytes::Bytes;

use crate::{Decoder, Packet, PacketType};

/// A decoded packet that owns its bytes: the frame split off the receive buffer, shared, not
/// copied. [`OwnedPacket::packet`] gives the borrowed view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedPacket {
    bytes: Bytes,
    packet_type: PacketType,
}

impl OwnedPacket {
    /// Wrap the bytes of exactly one packet that was just decoded without error.
    pub(crate) fn from_validated(bytes: Bytes) -> Self {
        let packet_type = match bytes.first().map(|&b| PacketType::from_first_byte(b)) {
            Some(Ok(t)) => t,
            // Unreachable: the first byte was validated by the decoder.
            _ => PacketType::Disconnect,
        };
        OwnedPacket { bytes, packet_type }
    }

    /// Decode exactly one whole packet from `bytes` (shared, not copied).
    pub fn decode(bytes: Bytes) -> Result<Option<Self>, crate::DecodeError> {
        match Decoder::new().decode(&bytes)? {
            Some((_, n)) if n == bytes.len() => Ok(Some(OwnedPacket::from_validated(bytes))),
            Some(_) => Err(crate::DecodeError::MalformedLength),
            None => Ok(None),
        }
    }

    /// The packet, borrowing from the owned bytes.
    pub fn packet(&self) -> Packet<'_> {
        match Decoder::new().decode(&self.bytes) {
            Ok(Some((packet, _))) => packet,
            // Unreachable: these bytes were decoded without error when the value was made,
            // decoding is deterministic and `Bytes` is immutable.
            _ => Packet::Disconnect,
        }
    }

    /// The packet's type, without decoding it again.
    pub fn packet_type(&self) -> PacketType {
        self.packet_type
    }

    /// The packet's bytes on the wire (fixed header included).
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Give back the bytes.
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }
}
