//! Encoding.
//!
//! CONTRACT (to implement): `Packet::packet_type(&self)`, `Packet::encoded_len(&self) -> usize`,
//! `Packet::encode(&self, &mut [u8]) -> Result<usize, EncodeError>` (nothing written on error),
//! `#[cfg(feature = "bytes")] Packet::encode_to_bytes(&self, &mut BytesMut) -> Result<usize, EncodeError>`.
