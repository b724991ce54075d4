//! The log's framing and records.
//!
//! ```text
//! log    = magic (8 bytes: "MQTTSES" and the format version) | synced: u64 | crc: u32
//!          | zero: u32 | batch*
//! batch  = body_len: u64 | synced: u64 | body_crc: u32 | head_crc: u32 | body
//! body   = record*
//! record = len: u32 | kind: u8 | fields (len bytes in all)
//! ```
//!
//! An outgoing message is a `Push` record (kind 1: id, QoS, retain, topic, payload) or, when
//! it carries MQTT 5.0 PUBLISH properties or an expiry, a `PushV5` record (kind 12: the same
//! with a flags byte, the wall-clock deadline and the property bytes). A log without 5.0
//! messages is the same as before kind 12 existed; a log holding one is refused by a version
//! that does not know the kind ("unknown record kind").
//!
//! Multi-byte fields are little-endian. The `synced` field of the file header (with the
//! CRC-32 of its 8 bytes) is rewritten in place after every `fdatasync`: the length of the
//! log then on disk. `head_crc` is the CRC-32 of the 20 bytes before it,
//! `body_crc` the CRC-32 of the body. `synced` is the length of the log known to be on disk
//! (`fdatasync`ed) when the batch was written: a power cut cannot have damaged anything
//! before it. A batch is the unit of replay: it is applied whole or not at all.
//!
//! Replay walks from one batch header to the next by their lengths and never looks for a
//! header inside a body, so no payload (which may hold any bytes, a valid batch among them)
//! can be taken for a record. A valid header whose body runs past the end of the file is a
//! torn end, recognised at once whatever its length.
use std::fmt;

use super::crc::crc32;

/// The file starts with these 8 bytes (the last one is the format version).
pub(crate) const MAGIC: &[u8; 8] = b"MQTTSES\x02";

/// The magic of the first format (records framed one by one), refused with its own error.
pub(crate) const MAGIC_V1: &[u8; 8] = b"MQTTSES\x01";

/// The file header: the magic and the synced slot.
pub(crate) const FILE_HEADER: usize = 24;

/// Where the synced slot is in the file.
pub(crate) const SLOT_AT: u64 = 8;

/// The synced slot's bytes for `synced`.
pub(crate) fn slot(synced: u64) -> [u8; 16] {
    let mut s = [0u8; 16];
    s[..8].copy_from_slice(&synced.to_le_bytes());
    let crc = crc32(&s[..8]);
    s[8..12].copy_from_slice(&crc.to_le_bytes());
    s
}

/// The synced slot's value, or `None` when it is torn or was never written.
pub(crate) fn read_slot(s: &[u8]) -> Option<u64> {
    let s = s.get(..12)?;
    let mut v = [0u8; 8];
    v.copy_from_slice(&s[..8]);
    let crc = u32::from_le_bytes([s[8], s[9], s[10], s[11]]);
    (crc32(&v) == crc).then(|| u64::from_le_bytes(v))
}

/// A file header whose slot says `synced`.
pub(crate) fn file_header(synced: u64) -> [u8; FILE_HEADER] {
    let mut h = [0u8; FILE_HEADER];
    h[..8].copy_from_slice(MAGIC);
    h[8..].copy_from_slice(&slot(synced));
    h
}

/// The header in front of every batch.
pub(crate) const BATCH_HEADER: usize = 24;

/// The length in front of every record.
const RECORD_LEN: usize = 4;

const PUSH: u8 = 1;
const RELEASE: u8 = 2;
const REMOVE: u8 = 3;
const IN_INSERT: u8 = 4;
const IN_REMOVE: u8 = 5;
const IN_CLEAR: u8 = 6;
const RECEIVED: u8 = 7;
const DONE: u8 = 8;
// 9 was the commit record of the first format; batches replaced it.
const COUNTERS: u8 = 10;
const RENUMBER: u8 = 11;
const PUSH_V5: u8 = 12;

/// `PushV5` flags: the RETAIN flag, and whether a deadline follows.
const FLAG_RETAIN: u8 = 1;
const FLAG_EXPIRES: u8 = 2;

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
    /// An outgoing QoS 1/2 message with MQTT 5.0 PUBLISH properties (checked for PUBLISH
    /// when decoded: no Topic Alias, no Subscription Identifier) or a deadline, in
    /// milliseconds since the Unix epoch.
    PushV5 {
        packet_id: u16,
        qos: u8,
        retain: bool,
        expires: Option<u64>,
        properties: &'a [u8],
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
        out.extend_from_slice(&[0; RECORD_LEN]);
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
            Record::PushV5 {
                packet_id,
                qos,
                retain,
                expires,
                properties,
                topic,
                payload,
            } => {
                out.push(PUSH_V5);
                out.extend_from_slice(&packet_id.to_le_bytes());
                out.push(qos);
                let retaining = if retain { FLAG_RETAIN } else { 0 };
                let expiring = if expires.is_some() { FLAG_EXPIRES } else { 0 };
                out.push(retaining | expiring);
                if let Some(at) = expires {
                    out.extend_from_slice(&at.to_le_bytes());
                }
                let n = u32::try_from(properties.len()).unwrap_or(u32::MAX);
                out.extend_from_slice(&n.to_le_bytes());
                out.extend_from_slice(properties.get(..n as usize).unwrap_or(properties));
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
        let len = out.len() - start - RECORD_LEN;
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        if let Some(h) = out.get_mut(start..start + RECORD_LEN) {
            h.copy_from_slice(&len.to_le_bytes());
        }
    }

    /// Decodes a record's body (kind and fields) from a batch whose CRC was checked.
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
            PUSH_V5 => {
                let packet_id = r.u16()?;
                let qos = r.u8()?;
                let flags = r.u8()?;
                if flags & !(FLAG_RETAIN | FLAG_EXPIRES) != 0 {
                    return Err(BadBody("bad flags in an outgoing record"));
                }
                let expires = if flags & FLAG_EXPIRES != 0 {
                    Some(r.u64()?)
                } else {
                    None
                };
                let n = r.u32()? as usize;
                let properties = r.take(n)?;
                if !publish_properties(properties) {
                    return Err(BadBody("invalid PUBLISH properties in an outgoing record"));
                }
                let (topic, payload) = r.bytes()?;
                return Ok(Record::PushV5 {
                    packet_id,
                    qos,
                    retain: flags & FLAG_RETAIN != 0,
                    expires,
                    properties,
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

/// Whether `bytes` are PUBLISH properties a client may have held to send again: valid for
/// PUBLISH, without a Topic Alias (it belongs to one connection [MQTT-3.3.2-7]) or a
/// Subscription Identifier [MQTT-3.3.4-6].
fn publish_properties(bytes: &[u8]) -> bool {
    use mqtt_proto::v5::{Properties, PropertyContext, PropertyId};
    Properties::from_wire(bytes, PropertyContext::Publish).is_ok_and(|p| {
        !p.contains(PropertyId::TopicAlias) && !p.contains(PropertyId::SubscriptionIdentifier)
    })
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
    fn u32(&mut self) -> Result<u32, BadBody> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
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

/// A batch being built: records after room for the header, sealed when written.
#[derive(Debug)]
pub(crate) struct Batch {
    buf: Vec<u8>,
}

impl Default for Batch {
    fn default() -> Self {
        Batch {
            buf: vec![0; BATCH_HEADER],
        }
    }
}

impl Batch {
    /// Whether it holds no record.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.len() <= BATCH_HEADER
    }

    /// Appends a record.
    pub(crate) fn push(&mut self, rec: &Record<'_>) {
        rec.encode(&mut self.buf);
    }

    /// Where the records end now, to take back what follows with [`Batch::truncate`].
    pub(crate) fn mark(&self) -> usize {
        self.buf.len()
    }

    /// Drops the records appended after `mark`.
    pub(crate) fn truncate(&mut self, mark: usize) {
        self.buf.truncate(mark.max(BATCH_HEADER));
    }

    /// Drops every record.
    pub(crate) fn clear(&mut self) {
        self.buf.truncate(BATCH_HEADER);
    }

    /// The batch with its header, `synced` being the length of the log known to be on disk.
    pub(crate) fn seal(&mut self, synced: u64) -> &[u8] {
        let (head, body) = self.buf.split_at_mut(BATCH_HEADER);
        head[..8].copy_from_slice(&(body.len() as u64).to_le_bytes());
        head[8..16].copy_from_slice(&synced.to_le_bytes());
        head[16..20].copy_from_slice(&crc32(body).to_le_bytes());
        let head_crc = crc32(&head[..20]);
        head[20..].copy_from_slice(&head_crc.to_le_bytes());
        &self.buf
    }
}

/// A batch header whose own CRC is right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// Length of the body.
    pub(crate) body_len: u64,
    /// Length of the log on disk when the batch was written.
    pub(crate) synced: u64,
    /// CRC-32 of the body.
    pub(crate) body_crc: u32,
}

/// The header at the start of `buf`: `None` if fewer than [`BATCH_HEADER`] bytes are there
/// or its CRC is wrong (zeros, garbage, a torn header).
pub(crate) fn header(buf: &[u8]) -> Option<Header> {
    let h = buf.get(..BATCH_HEADER)?;
    let word = |i: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&h[i..i + 8]);
        u64::from_le_bytes(a)
    };
    let half = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    if crc32(&h[..20]) != half(20) {
        return None;
    }
    Some(Header {
        body_len: word(0),
        synced: word(8),
        body_crc: half(16),
    })
}

/// The records of a batch body whose CRC was checked.
pub(crate) fn records(body: &[u8]) -> impl Iterator<Item = Result<Record<'_>, BadBody>> {
    let mut rest = body;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some(len) = rest.get(..RECORD_LEN) else {
            rest = &[];
            return Some(Err(BadBody("record length cut short")));
        };
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let Some(rec) = rest.get(RECORD_LEN..RECORD_LEN.saturating_add(len)) else {
            rest = &[];
            return Some(Err(BadBody("record longer than its batch")));
        };
        rest = rest.get(RECORD_LEN + len..).unwrap_or_default();
        Some(Record::decode(rec))
    })
}

/// Tests build logs by hand with this.
#[cfg(test)]
pub(crate) fn batch(synced: u64, records: &[Record<'_>]) -> Vec<u8> {
    let mut b = Batch::default();
    for r in records {
        b.push(r);
    }
    b.seal(synced).to_vec()
}

#[cfg(test)]
mod tests;
