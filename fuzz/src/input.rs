//! Reading fuzzer bytes as structured values, and writing values back as bytes (for seeds).
//!
//! The readers sit on [`arbitrary::Unstructured`] and use only whole bytes taken from the
//! front, so every structured input has a byte form that [`Out`] writes: seeds are real
//! scenarios, not random bytes. Running out of data reads zeros, as `arbitrary` does.

use arbitrary::{Arbitrary, Unstructured};

/// A cursor over the fuzzer's bytes.
pub struct In<'a, 'b> {
    u: &'b mut Unstructured<'a>,
}

impl<'a, 'b> In<'a, 'b> {
    pub fn new(u: &'b mut Unstructured<'a>) -> Self {
        In { u }
    }

    pub fn is_empty(&self) -> bool {
        self.u.is_empty()
    }

    pub fn u8(&mut self) -> u8 {
        u8::arbitrary(self.u).unwrap_or(0)
    }

    /// Big-endian, two bytes.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    /// A length: one byte, or 0xFF then two bytes.
    pub fn len(&mut self) -> usize {
        match self.u8() {
            0xFF => usize::from(self.u16()),
            n => usize::from(n),
        }
    }

    /// Up to `len()` bytes (fewer when the input ends).
    pub fn bytes(&mut self) -> &'a [u8] {
        let n = self.len().min(self.u.len());
        self.u.bytes(n).unwrap_or_default()
    }

    /// The longest valid UTF-8 prefix of `bytes()`.
    pub fn str(&mut self) -> &'a str {
        let b = self.bytes();
        match core::str::from_utf8(b) {
            Ok(s) => s,
            Err(e) => core::str::from_utf8(b.get(..e.valid_up_to()).unwrap_or_default())
                .unwrap_or_default(),
        }
    }
}

/// Writes the byte form [`In`] reads.
#[cfg(test)]
#[derive(Default)]
pub struct Out(pub Vec<u8>);

#[cfg(test)]
impl Out {
    pub fn u8(&mut self, b: u8) -> &mut Self {
        self.0.push(b);
        self
    }

    pub fn bool(&mut self, b: bool) -> &mut Self {
        self.u8(u8::from(b))
    }

    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn len(&mut self, n: usize) -> &mut Self {
        match u8::try_from(n) {
            Ok(b) if b != 0xFF => self.u8(b),
            _ => self.u8(0xFF).u16(u16::try_from(n).unwrap_or(u16::MAX)),
        }
    }

    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        let b = b.get(..usize::from(u16::MAX)).unwrap_or(b);
        self.len(b.len());
        self.0.extend_from_slice(b);
        self
    }

    pub fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }
}
