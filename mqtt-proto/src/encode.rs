//! Encoding: size first, then write into a caller buffer. Nothing is written unless the whole
//! packet is valid and fits.
use crate::{DecodeError, EncodeError, MAX_REMAINING_LENGTH, Packet, PacketId, PacketType};

/// Writes into a buffer whose size was checked beforehand. Every write is still bounds-checked
/// (a write that does not fit is dropped and recorded), so a sizing bug cannot panic.
pub(crate) struct Writer<'b> {
    buf: &'b mut [u8],
    pos: usize,
    overflow: bool,
}

impl<'b> Writer<'b> {
    pub(crate) fn new(buf: &'b mut [u8]) -> Self {
        Writer {
            buf,
            pos: 0,
            overflow: false,
        }
    }

    #[inline]
    pub(crate) fn bytes(&mut self, src: &[u8]) {
        let end = self.pos.saturating_add(src.len());
        match self.buf.get_mut(self.pos..end) {
            Some(dst) => {
                dst.copy_from_slice(src);
                self.pos = end;
            }
            None => self.overflow = true,
        }
    }

    #[inline]
    pub(crate) fn u8(&mut self, b: u8) {
        self.bytes(&[b]);
    }

    #[inline]
    pub(crate) fn u16(&mut self, v: u16) {
        self.bytes(&v.to_be_bytes());
    }

    /// A length-prefixed binary field; the length was checked to fit 16 bits.
    #[inline]
    pub(crate) fn binary(&mut self, b: &[u8]) {
        match u16::try_from(b.len()) {
            Ok(len) => {
                self.u16(len);
                self.bytes(b);
            }
            Err(_) => self.overflow = true,
        }
    }

    /// A length-prefixed UTF-8 string.
    #[inline]
    pub(crate) fn string(&mut self, s: &str) {
        self.binary(s.as_bytes());
    }

    /// The variable length encoding of section 2.2.3.
    #[inline]
    pub(crate) fn remaining_length(&mut self, mut len: usize) {
        loop {
            let mut byte = (len & 0x7F) as u8;
            len >>= 7;
            if len > 0 {
                byte |= 0x80;
            }
            self.u8(byte);
            if len == 0 {
                break;
            }
        }
    }
}

/// Write `bytes` at the start of `buf`, or nothing when it is too short.
#[inline]
fn put<const N: usize>(buf: &mut [u8], bytes: [u8; N]) -> Result<usize, EncodeError> {
    match buf.first_chunk_mut::<N>() {
        Some(out) => {
            *out = bytes;
            Ok(N)
        }
        None => Err(EncodeError::BufferTooSmall { required: N }),
    }
}

/// Size a packet with first byte `first` and remaining length `body`, write its fixed header
/// at the start of `buf`, and return the packet's total size and the `body` bytes that follow
/// the header, to be filled in. Nothing is written on error.
#[inline]
pub(crate) fn fixed_header(
    buf: &mut [u8],
    first: u8,
    body: usize,
) -> Result<(usize, &mut [u8]), EncodeError> {
    if body > MAX_REMAINING_LENGTH as usize {
        return Err(DecodeError::PacketTooLarge.into());
    }
    let total = 1 + remaining_length_len(body) + body;
    let too_small = EncodeError::BufferTooSmall { required: total };
    let out = buf.get_mut(..total).ok_or(too_small)?;
    let (b0, mut rest) = out.split_first_mut().ok_or(too_small)?;
    *b0 = first;
    // The remaining length (section 2.2.3): 1 to 4 bytes for a body within the maximum.
    let mut len = body;
    loop {
        let (b, r) = core::mem::take(&mut rest)
            .split_first_mut()
            .ok_or(too_small)?;
        *b = (len & 0x7F) as u8 | if len > 0x7F { 0x80 } else { 0 };
        rest = r;
        len >>= 7;
        if len == 0 {
            break;
        }
    }
    Ok((total, rest))
}

/// Bytes the variable length encoding of `len` takes (1 to 4; more for lengths too large to
/// encode, which [`Packet::encode`] refuses).
#[inline]
pub(crate) const fn remaining_length_len(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

impl Packet<'_> {
    /// The packet's type.
    pub const fn packet_type(&self) -> PacketType {
        match self {
            Packet::Connect(_) => PacketType::Connect,
            Packet::ConnAck(_) => PacketType::ConnAck,
            Packet::Publish(_) => PacketType::Publish,
            Packet::PubAck(_) => PacketType::PubAck,
            Packet::PubRec(_) => PacketType::PubRec,
            Packet::PubRel(_) => PacketType::PubRel,
            Packet::PubComp(_) => PacketType::PubComp,
            Packet::Subscribe(_) => PacketType::Subscribe,
            Packet::SubAck(_) => PacketType::SubAck,
            Packet::Unsubscribe(_) => PacketType::Unsubscribe,
            Packet::UnsubAck(_) => PacketType::UnsubAck,
            Packet::PingReq => PacketType::PingReq,
            Packet::PingResp => PacketType::PingResp,
            Packet::Disconnect => PacketType::Disconnect,
        }
    }

    /// The packet identifier, for the packet types that carry one.
    pub const fn packet_id(&self) -> Option<PacketId> {
        match self {
            Packet::Publish(p) => p.qos_pid.packet_id(),
            Packet::PubAck(id)
            | Packet::PubRec(id)
            | Packet::PubRel(id)
            | Packet::PubComp(id)
            | Packet::UnsubAck(id) => Some(*id),
            Packet::Subscribe(s) => Some(s.packet_id),
            Packet::SubAck(s) => Some(s.packet_id),
            Packet::Unsubscribe(u) => Some(u.packet_id),
            Packet::Connect(_)
            | Packet::ConnAck(_)
            | Packet::PingReq
            | Packet::PingResp
            | Packet::Disconnect => None,
        }
    }

    fn first_byte(&self) -> u8 {
        match self {
            Packet::Publish(p) => p.first_byte(),
            _ => {
                let ty = self.packet_type();
                (ty as u8) << 4 | ty.fixed_flags()
            }
        }
    }

    /// The remaining length: bytes after the fixed header.
    fn body_len(&self) -> usize {
        match self {
            Packet::Connect(c) => c.body_len(),
            Packet::ConnAck(_) => 2,
            Packet::Publish(p) => p.body_len(),
            Packet::PubAck(_)
            | Packet::PubRec(_)
            | Packet::PubRel(_)
            | Packet::PubComp(_)
            | Packet::UnsubAck(_) => 2,
            Packet::Subscribe(s) => s.body_len(),
            Packet::SubAck(s) => s.body_len(),
            Packet::Unsubscribe(u) => u.body_len(),
            Packet::PingReq | Packet::PingResp | Packet::Disconnect => 0,
        }
    }

    /// Check what the types cannot express, and the size. Returns the remaining length.
    fn validate(&self) -> Result<usize, DecodeError> {
        match self {
            Packet::Connect(c) => c.validate()?,
            Packet::ConnAck(c) => c.validate()?,
            Packet::Publish(p) => p.validate()?,
            Packet::Subscribe(s) => s.validate()?,
            Packet::SubAck(s) => s.validate()?,
            Packet::Unsubscribe(u) => u.validate()?,
            _ => {}
        }
        let body = self.body_len();
        if body > MAX_REMAINING_LENGTH as usize {
            return Err(DecodeError::PacketTooLarge);
        }
        Ok(body)
    }

    /// Bytes the encoded packet takes (fixed header included). Meaningful for packets that
    /// [`Packet::encode`] accepts.
    pub fn encoded_len(&self) -> usize {
        let body = self.body_len();
        1 + remaining_length_len(body) + body
    }

    /// Encode into the start of `buf` and return the bytes written.
    ///
    /// Nothing is written on error: [`EncodeError::Invalid`] when the packet breaks a rule the
    /// types cannot express (string over 65,535 bytes, U+0000 in a client identifier or user
    /// name, DUP on QoS 0, empty filter list, remaining length over 268,435,455, ...), and
    /// [`EncodeError::BufferTooSmall`] with the whole size when `buf` is too short.
    #[inline]
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        // Packets whose bytes follow from their type and packet identifier alone: no rule to
        // check, one bounds check.
        match *self {
            Packet::PubAck(id)
            | Packet::PubRec(id)
            | Packet::PubRel(id)
            | Packet::PubComp(id)
            | Packet::UnsubAck(id) => {
                let [hi, lo] = id.get().to_be_bytes();
                return put(buf, [self.first_byte(), 2, hi, lo]);
            }
            Packet::PingReq | Packet::PingResp | Packet::Disconnect => {
                return put(buf, [self.first_byte(), 0]);
            }
            Packet::Publish(ref p) => return p.encode(buf),
            Packet::SubAck(ref s) => return s.encode(buf),
            _ => {}
        }
        let body = self.validate()?;
        self.encode_valid(body, buf)
    }

    /// [`Packet::encode`] for a packet that passed [`Packet::validate`] with remaining length
    /// `body`.
    fn encode_valid(&self, body: usize, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let total = 1 + remaining_length_len(body) + body;
        let Some(out) = buf.get_mut(..total) else {
            return Err(EncodeError::BufferTooSmall { required: total });
        };
        let mut w = Writer::new(out);
        w.u8(self.first_byte());
        w.remaining_length(body);
        match self {
            Packet::Connect(c) => c.write_body(&mut w),
            Packet::ConnAck(c) => c.write_body(&mut w),
            Packet::Publish(p) => p.write_body(&mut w),
            Packet::PubAck(id)
            | Packet::PubRec(id)
            | Packet::PubRel(id)
            | Packet::PubComp(id)
            | Packet::UnsubAck(id) => w.u16(id.get()),
            Packet::Subscribe(s) => s.write_body(&mut w),
            Packet::SubAck(s) => s.write_body(&mut w),
            Packet::Unsubscribe(u) => u.write_body(&mut w),
            Packet::PingReq | Packet::PingResp | Packet::Disconnect => {}
        }
        debug_assert!(!w.overflow && w.pos == total, "encoded size mismatch");
        Ok(total)
    }

    /// Append the encoded packet to `buf` (growing it as needed) and return the bytes written.
    /// On error `buf` is left as it was.
    #[cfg(feature = "bytes")]
    pub fn encode_to_bytes(&self, buf: &mut bytes::BytesMut) -> Result<usize, EncodeError> {
        let body = self.validate()?;
        let total = 1 + remaining_length_len(body) + body;
        let start = buf.len();
        buf.resize(start + total, 0);
        match buf.get_mut(start..).map(|out| self.encode(out)) {
            Some(Ok(n)) => Ok(n),
            Some(Err(e)) => {
                buf.truncate(start);
                Err(e)
            }
            None => {
                buf.truncate(start);
                Err(EncodeError::BufferTooSmall { required: total })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn encode_len(len: usize) -> ([u8; 8], usize) {
        let mut buf = [0u8; 8];
        let mut w = Writer::new(&mut buf);
        w.remaining_length(len);
        let n = w.pos;
        (buf, n)
    }

    #[test]
    fn remaining_length_encoding() {
        let cases: [(usize, &[u8]); 9] = [
            (0, &[0x00]),
            (127, &[0x7F]),
            (128, &[0x80, 0x01]),
            (321, &[0xC1, 0x02]),
            (16_383, &[0xFF, 0x7F]),
            (16_384, &[0x80, 0x80, 0x01]),
            (2_097_151, &[0xFF, 0xFF, 0x7F]),
            (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
            (268_435_455, &[0xFF, 0xFF, 0xFF, 0x7F]),
        ];
        for (len, bytes) in cases {
            let (buf, n) = encode_len(len);
            assert_eq!(&buf[..n], bytes, "{len}");
            assert_eq!(remaining_length_len(len), n, "{len}");
        }
    }

    #[test]
    fn short_buffer_writes_nothing() {
        let p = Packet::PubAck(PacketId::new(1).unwrap());
        let mut buf = [0xAAu8; 3];
        assert_eq!(
            p.encode(&mut buf),
            Err(EncodeError::BufferTooSmall { required: 4 })
        );
        assert_eq!(buf, [0xAA; 3]);
        let mut buf = [0u8; 4];
        assert_eq!(p.encode(&mut buf), Ok(4));
        assert_eq!(buf, [0x40, 0x02, 0x00, 0x01]);
        assert_eq!(p.encoded_len(), 4);
    }

    #[test]
    fn fixed_flags_are_written() {
        let id = PacketId::new(0x1234).unwrap();
        let mut buf = [0u8; 4];
        Packet::PubRel(id).encode(&mut buf).unwrap();
        assert_eq!(buf, [0x62, 0x02, 0x12, 0x34]);
        let mut buf = [0u8; 2];
        Packet::Disconnect.encode(&mut buf).unwrap();
        assert_eq!(buf, [0xE0, 0x00]);
    }
}
