//! Owned packets sharing one `Bytes` (feature `bytes`).
//!
//! CONTRACT (to implement): `pub struct OwnedPacket` holding the packet's validated bytes;
//! `fn packet(&self) -> Packet<'_>`, `fn bytes(&self) -> &Bytes`.
