//! Incremental, zero-copy decoding.
//!
//! CONTRACT (to implement):
//! - `pub const MAX_REMAINING_LENGTH: u32 = 268_435_455;`
//! - `pub struct FixedHeader { pub packet_type: PacketType, pub flags: u8, pub remaining_length: u32, pub header_len: usize }`
//!   with `fn total_len(&self) -> usize`.
//! - `pub enum Frame { Incomplete { needed: Option<NonZeroUsize> }, Complete(FixedHeader) }`
//! - `pub struct Decoder { .. }` (Copy): `const fn new()` (max = MAX_REMAINING_LENGTH),
//!   `const fn with_max_remaining_length(u32)`, `fn frame(&self, &[u8]) -> Result<Frame, DecodeError>`,
//!   `fn decode<'a>(&self, &'a [u8]) -> Result<Option<(Packet<'a>, usize)>, DecodeError>`,
//!   `#[cfg(feature = "bytes")] fn decode_bytes(&self, &mut BytesMut) -> Result<Option<OwnedPacket>, DecodeError>`.
//! - `PacketType::from_first_byte(u8) -> Result<PacketType, DecodeError>`, `PacketType::client_may_receive(self) -> bool`.
//! - `Packet::decode(&[u8])` = `Decoder::new().decode(..)`.
