//! Small encoders for the packets the session writes on its hot paths (PUBLISH from the store,
//! the four-byte acknowledgements, SUBSCRIBE/UNSUBSCRIBE from caller strings). CONNECT goes
//! through `mqtt_proto::Packet::encode`.

use mqtt_proto::{MAX_REMAINING_LENGTH, PacketId, QoS};

/// First byte of a transmit-buffer marker standing for a stored QoS 1/2 message. 0 is a reserved
/// packet type, so a marker never looks like a packet.
pub(crate) const MARKER: u8 = 0;
/// Bytes of a marker: `[MARKER, flags, id_hi, id_lo]`.
pub(crate) const MARKER_LEN: usize = 4;
/// Marker flag: send the PUBLISH with DUP=1.
pub(crate) const MARKER_DUP: u8 = 1;

pub(crate) const PINGREQ: [u8; 2] = [0xC0, 0];
pub(crate) const DISCONNECT: [u8; 2] = [0xE0, 0];

#[inline]
pub(crate) fn puback(id: PacketId) -> [u8; 4] {
    ack(0x40, id)
}
#[inline]
pub(crate) fn pubrec(id: PacketId) -> [u8; 4] {
    ack(0x50, id)
}
#[inline]
pub(crate) fn pubrel(id: PacketId) -> [u8; 4] {
    ack(0x62, id)
}
#[inline]
pub(crate) fn pubcomp(id: PacketId) -> [u8; 4] {
    ack(0x70, id)
}

fn ack(first: u8, id: PacketId) -> [u8; 4] {
    let [hi, lo] = id.get().to_be_bytes();
    [first, 2, hi, lo]
}

#[inline]
pub(crate) fn marker(id: PacketId, dup: bool) -> [u8; 4] {
    let [hi, lo] = id.get().to_be_bytes();
    [MARKER, if dup { MARKER_DUP } else { 0 }, hi, lo]
}

/// Bytes the variable-length encoding of `n` takes.
#[inline]
pub(crate) fn rl_len(n: usize) -> usize {
    match n {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Total size of a packet with this body length, or `None` above the format's limit.
#[inline]
pub(crate) fn total_len(body: usize) -> Option<usize> {
    if body > MAX_REMAINING_LENGTH as usize {
        return None;
    }
    Some(1 + rl_len(body) + body)
}

/// Sequential writer over a slice already known to be large enough; writes past the end are
/// dropped (never a panic).
pub(crate) struct Out<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Out<'a> {
    #[inline]
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Out { buf, pos: 0 }
    }

    #[inline]
    pub(crate) fn u8(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.pos) {
            *slot = b;
        }
        self.pos += 1;
    }

    /// Bytes written (or skipped) so far.
    #[cfg(feature = "v5")]
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// The whole buffer, to write a part through another encoder.
    #[cfg(feature = "v5")]
    pub(crate) fn buffer(&mut self) -> &mut [u8] {
        self.buf
    }

    /// Move past `n` bytes written through [`Out::buffer`].
    #[cfg(feature = "v5")]
    pub(crate) fn skip(&mut self, n: usize) {
        self.pos += n;
    }

    #[inline]
    pub(crate) fn u16(&mut self, v: u16) {
        self.bytes(&v.to_be_bytes());
    }

    #[inline]
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        if let Some(dst) = self.buf.get_mut(self.pos..self.pos + b.len()) {
            dst.copy_from_slice(b);
        }
        self.pos += b.len();
    }

    #[inline]
    pub(crate) fn string(&mut self, s: &str) {
        self.u16(u16::try_from(s.len()).unwrap_or(u16::MAX));
        self.bytes(s.as_bytes());
    }

    #[inline]
    pub(crate) fn remaining_length(&mut self, mut n: usize) {
        loop {
            let mut b = (n % 128) as u8;
            n /= 128;
            if n > 0 {
                b |= 0x80;
            }
            self.u8(b);
            if n == 0 {
                break;
            }
        }
    }
}

/// Body length of a PUBLISH.
#[inline]
pub(crate) fn publish_body_len(topic: &str, payload: &[u8], qos: QoS) -> usize {
    let id = if qos == QoS::AtMostOnce { 0 } else { 2 };
    // Saturating: a sum past `usize::MAX` is past the format's limit too.
    topic
        .len()
        .saturating_add(payload.len())
        .saturating_add(2 + id)
}

/// Encode a PUBLISH into `buf` (which must hold `total_len(publish_body_len(..))` bytes).
#[inline]
pub(crate) fn write_publish(
    buf: &mut [u8],
    topic: &str,
    payload: &[u8],
    qos: QoS,
    id: Option<PacketId>,
    dup: bool,
    retain: bool,
) -> usize {
    let body = publish_body_len(topic, payload, qos);
    let mut w = Out::new(buf);
    w.u8(0x30 | (u8::from(dup) << 3) | (qos.as_u8() << 1) | u8::from(retain));
    w.remaining_length(body);
    w.string(topic);
    if let Some(id) = id {
        w.u16(id.get());
    }
    w.bytes(payload);
    w.pos
}

/// Length of the whole packet starting at `buf[0]`, from its fixed header; `None` if the header is
/// incomplete or broken (never for bytes the session wrote itself).
#[inline]
pub(crate) fn packet_len(buf: &[u8]) -> Option<usize> {
    if buf.first() == Some(&MARKER) {
        return Some(MARKER_LEN);
    }
    let mut value = 0usize;
    for i in 0..4 {
        let b = *buf.get(1 + i)?;
        value |= usize::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Some(2 + i + value);
        }
    }
    None
}
