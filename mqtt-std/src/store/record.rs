//! The log's records: framing (length, CRC-32, body) and the body of each kind.
//!
//! ```text
//! record = len: u32 LE | crc: u32 LE (CRC-32 of body) | body (len bytes)
//! body   = kind: u8 | fields
//! ```
//!
//! Multi-byte fields are little-endian. Records are grouped in batches that end with a
//! `Commit` record; replay applies a batch only when its `Commit` is there.

use std::fmt;

use super::crc::crc32;

/// The file starts with these 8 bytes (the last one is the format version).
pub(crate) const MAGIC: &[u8; 8] = b"MQTTSES\x01";

/// Length and CRC in front of every body.
pub(crate) const HEADER: usize = 8;

/// The largest body: a PUBLISH can carry at most 268,435,455 bytes; a few more for the fields.
pub(crate) const MAX_BODY: usize = 268_435_455 + 64;

const PUSH: u8 = 1;
const RELEASE: u8 = 2;
const REMOVE: u8 = 3;
const IN_INSERT: u8 = 4;
const IN_REMOVE: u8 = 5;
const IN_CLEAR: u8 = 6;
const RECEIVED: u8 = 7;
const DONE: u8 = 8;
const COMMIT: u8 = 9;
const COUNTERS: u8 = 10;
const RENUMBER: u8 = 11;

/// One change to the stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Record<'a> {
    /// An outgoing QoS 1/2 message was accepted.
    Push {
        packet_id: u16,
        qos: u8,
        retain: bool,
        topic: &'a str,
        payload: &'a [u8],
    },
    /// PUBREC arrived for an outgoing QoS 2 message.
    Release { packet_id: u16 },
    /// An outgoing message is complete (or dropped).
    Remove { packet_id: u16 },
    /// The session of an outgoing message ended: it is published again under a new id.
    Renumber { old: u16, new: u16 },
    /// An incoming QoS 2 id awaits PUBREL.
    InInsert { packet_id: u16 },
    /// PUBREL arrived for an incoming QoS 2 id.
    InRemove { packet_id: u16 },
    /// The broker lost the session: every incoming id is forgotten.
    InClear,
    /// An incoming QoS 1/2 message was received, as the application will see it.
    Received {
        seq: u64,
        qos: u8,
        retain: bool,
        dup: bool,
        topic: &'a str,
        payload: &'a [u8],
    },
    /// The application is done with every received message up to `seq`.
    Done { seq: u64 },
    /// The batch before this record is whole.
    Commit,
    /// Counters carried over by compaction.
    Counters {
        accepted: u64,
        received: u64,
        done: u64,
    },
}

/// Why a body could not be decoded (its CRC was right: a format or version mismatch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadBody(pub(crate) &'static str);

impl fmt::Display for BadBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Record<'_> {
    /// Appends the framed record to `out`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0; HEADER]);
        match *self {
            Record::Push {
                packet_id,
                qos,
                retain,
                topic,
                payload,
            } => {
                out.push(PUSH);
                out.extend_from_slice(&packet_id.to_le_bytes());
                out.push(qos);
                out.push(u8::from(retain));
                put_bytes(out, topic.as_bytes(), payload);
            }
            Record::Release { packet_id } => id_body(out, RELEASE, packet_id),
            Record::Remove { packet_id } => id_body(out, REMOVE, packet_id),
            Record::Renumber { old, new } => {
                id_body(out, RENUMBER, old);
                out.extend_from_slice(&new.to_le_bytes());
            }
            Record::InInsert { packet_id } => id_body(out, IN_INSERT, packet_id),
            Record::InRemove { packet_id } => id_body(out, IN_REMOVE, packet_id),
            Record::InClear => out.push(IN_CLEAR),
            Record::Received {
                seq,
                qos,
                retain,
                dup,
                topic,
                payload,
            } => {
                out.push(RECEIVED);
                out.extend_from_slice(&seq.to_le_bytes());
                out.push(qos);
                out.push(u8::from(retain) | (u8::from(dup) << 1));
                put_bytes(out, topic.as_bytes(), payload);
            }
            Record::Done { seq } => {
                out.push(DONE);
                out.extend_from_slice(&seq.to_le_bytes());
            }
            Record::Commit => out.push(COMMIT),
            Record::Counters {
                accepted,
                received,
                done,
            } => {
                out.push(COUNTERS);
                out.extend_from_slice(&accepted.to_le_bytes());
                out.extend_from_slice(&received.to_le_bytes());
                out.extend_from_slice(&done.to_le_bytes());
            }
        }
        let body_start = start + HEADER;
        let body = out.get(body_start..).unwrap_or_default();
        let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
        let crc = crc32(body);
        if let Some(h) = out.get_mut(start..body_start) {
            h[..4].copy_from_slice(&len.to_le_bytes());
            h[4..].copy_from_slice(&crc.to_le_bytes());
        }
    }

    /// Decodes a body whose CRC was checked.
    pub(crate) fn decode(body: &[u8]) -> Result<Record<'_>, BadBody> {
        let mut r = Reader(body);
        let kind = r.u8()?;
        let rec = match kind {
            PUSH => {
                let packet_id = r.u16()?;
                let qos = r.u8()?;
                let retain = r.flag()?;
                let (topic, payload) = r.bytes()?;
                return Ok(Record::Push {
                    packet_id,
                    qos,
                    retain,
                    topic,
                    payload,
                });
            }
            RELEASE => Record::Release {
                packet_id: r.u16()?,
            },
            REMOVE => Record::Remove {
                packet_id: r.u16()?,
            },
            RENUMBER => Record::Renumber {
                old: r.u16()?,
                new: r.u16()?,
            },
            IN_INSERT => Record::InInsert {
                packet_id: r.u16()?,
            },
            IN_REMOVE => Record::InRemove {
                packet_id: r.u16()?,
            },
            IN_CLEAR => Record::InClear,
            RECEIVED => {
                let seq = r.u64()?;
                let qos = r.u8()?;
                let flags = r.u8()?;
                if flags & !3 != 0 {
                    return Err(BadBody("bad flags in a received-message record"));
                }
                let (topic, payload) = r.bytes()?;
                return Ok(Record::Received {
                    seq,
                    qos,
                    retain: flags & 1 != 0,
                    dup: flags & 2 != 0,
                    topic,
                    payload,
                });
            }
            DONE => Record::Done { seq: r.u64()? },
            COMMIT => Record::Commit,
            COUNTERS => Record::Counters {
                accepted: r.u64()?,
                received: r.u64()?,
                done: r.u64()?,
            },
            _ => return Err(BadBody("unknown record kind")),
        };
        if !r.0.is_empty() {
            return Err(BadBody("trailing bytes in a record"));
        }
        Ok(rec)
    }
}

fn id_body(out: &mut Vec<u8>, kind: u8, packet_id: u16) {
    out.push(kind);
    out.extend_from_slice(&packet_id.to_le_bytes());
}

/// Topic length (u16), topic, payload (the rest of the body).
fn put_bytes(out: &mut Vec<u8>, topic: &[u8], payload: &[u8]) {
    let len = u16::try_from(topic.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(topic.get(..usize::from(len)).unwrap_or(topic));
    out.extend_from_slice(payload);
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], BadBody> {
        if self.0.len() < n {
            return Err(BadBody("record shorter than its fields"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, BadBody> {
        Ok(self.take(1)?.first().copied().unwrap_or(0))
    }
    fn flag(&mut self) -> Result<bool, BadBody> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(BadBody("bad flag in a record")),
        }
    }
    fn u16(&mut self) -> Result<u16, BadBody> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u64(&mut self) -> Result<u64, BadBody> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    /// Topic (UTF-8) and payload (the rest).
    fn bytes(&mut self) -> Result<(&'a str, &'a [u8]), BadBody> {
        let n = usize::from(self.u16()?);
        let topic =
            std::str::from_utf8(self.take(n)?).map_err(|_| BadBody("topic is not UTF-8"))?;
        let payload = std::mem::take(&mut self.0);
        Ok((topic, payload))
    }
}

/// What the next bytes of a log hold.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame<'a> {
    /// A whole record with a good CRC: its body and its total length.
    Whole(&'a [u8], usize),
    /// The bytes end inside the record (a torn write at the end of the file).
    Torn,
    /// The CRC does not match (or the length is impossible).
    Bad,
}

/// Frames the record at the start of `buf` (which is not empty).
pub(crate) fn frame(buf: &[u8]) -> Frame<'_> {
    let Some(h) = buf.get(..HEADER) else {
        return Frame::Torn;
    };
    let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
    let crc = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
    if len == 0 || len > MAX_BODY {
        return Frame::Bad;
    }
    match buf.get(HEADER..HEADER + len) {
        None => Frame::Torn,
        Some(body) if crc32(body) == crc => Frame::Whole(body, HEADER + len),
        Some(_) => Frame::Bad,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Record<'static>> {
        vec![
            Record::Push {
                packet_id: 7,
                qos: 2,
                retain: true,
                topic: "a/b",
                payload: b"xyz",
            },
            Record::Release { packet_id: 7 },
            Record::Remove { packet_id: 65535 },
            Record::Renumber { old: 3, new: 65535 },
            Record::InInsert { packet_id: 1 },
            Record::InRemove { packet_id: 2 },
            Record::InClear,
            Record::Received {
                seq: 99,
                qos: 1,
                retain: false,
                dup: true,
                topic: "t",
                payload: b"",
            },
            Record::Done { seq: 5 },
            Record::Commit,
            Record::Counters {
                accepted: 1,
                received: 2,
                done: 3,
            },
        ]
    }

    #[test]
    fn every_record_round_trips() {
        for rec in all() {
            let mut buf = Vec::new();
            rec.encode(&mut buf);
            match frame(&buf) {
                Frame::Whole(body, n) => {
                    assert_eq!(n, buf.len());
                    assert_eq!(Record::decode(body), Ok(rec));
                }
                other => panic!("{rec:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn every_prefix_is_torn_and_every_flipped_bit_is_caught() {
        for rec in all() {
            let mut buf = Vec::new();
            rec.encode(&mut buf);
            for cut in 0..buf.len() {
                assert_eq!(frame(&buf[..cut.max(1)]), Frame::Torn, "{rec:?} cut {cut}");
            }
            for i in 0..buf.len() * 8 {
                let mut b = buf.clone();
                b[i / 8] ^= 1 << (i % 8);
                match frame(&b) {
                    Frame::Whole(body, _) => panic!("{rec:?} bit {i}: accepted {body:?}"),
                    Frame::Torn | Frame::Bad => {}
                }
            }
        }
    }
}
