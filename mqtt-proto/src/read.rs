//! A checked cursor over a packet body: every read is bounds-checked, running out of bytes is
//! [`DecodeError::MalformedLength`].
use crate::topic::check_str;
use crate::{DecodeError, PacketId};

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    #[inline]
    pub(crate) const fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    #[inline]
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        let (&b, rest) = self.buf.split_first().ok_or(DecodeError::MalformedLength)?;
        self.buf = rest;
        Ok(b)
    }

    #[inline]
    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        let (b, rest) = self
            .buf
            .split_first_chunk::<2>()
            .ok_or(DecodeError::MalformedLength)?;
        self.buf = rest;
        Ok(u16::from_be_bytes(*b))
    }

    /// A non-zero packet identifier [MQTT-2.3.1-1].
    #[inline]
    pub(crate) fn packet_id(&mut self) -> Result<PacketId, DecodeError> {
        PacketId::new(self.u16()?).ok_or(DecodeError::ZeroPacketId)
    }

    /// `n` raw bytes.
    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let (b, rest) = self
            .buf
            .split_at_checked(n)
            .ok_or(DecodeError::MalformedLength)?;
        self.buf = rest;
        Ok(b)
    }

    /// A length-prefixed binary field (section 1.5.3 format, no character rules).
    #[inline]
    pub(crate) fn binary(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }

    /// A length-prefixed UTF-8 string [MQTT-1.5.3-1/2].
    pub(crate) fn string(&mut self) -> Result<&'a str, DecodeError> {
        check_str(self.binary()?)
    }

    /// The unread bytes.
    #[inline]
    pub(crate) const fn rest(&self) -> &'a [u8] {
        self.buf
    }

    #[inline]
    pub(crate) const fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// All bytes must have been read.
    #[inline]
    pub(crate) const fn finish(&self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::MalformedLength)
        }
    }
}
