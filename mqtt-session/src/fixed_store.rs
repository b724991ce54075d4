//! [`FixedStore`]: a store in fixed arrays, no allocator.

use core::num::NonZeroU16;

use mqtt_proto::{PacketId, QoS};

use crate::error::StoreError;
use crate::store::{Outgoing, OutgoingInfo, OutgoingState, Store};
use crate::time::Instant;

#[derive(Debug, Clone, Copy)]
struct Slot {
    packet_id: u16,
    qos: QoS,
    retain: bool,
    state: OutgoingState,
    start: usize,
    topic_len: usize,
    props_len: usize,
    payload_len: usize,
    /// [`Outgoing::expires`], as `expires_ms` when `expiring` (a flag in what would be
    /// padding, rather than an `Option` that doubles the field).
    expiring: bool,
    expires_ms: u64,
}

impl Slot {
    const EMPTY: Slot = Slot {
        packet_id: 0,
        qos: QoS::AtLeastOnce,
        retain: false,
        state: OutgoingState::Publish,
        start: 0,
        topic_len: 0,
        props_len: 0,
        payload_len: 0,
        expiring: false,
        expires_ms: 0,
    };

    fn len(&self) -> usize {
        self.topic_len + self.props_len + self.payload_len
    }
}

/// A [`Store`] in fixed arrays: up to `N` outgoing messages whose topics, 5.0 properties and
/// payloads together take at most `BYTES` bytes, and up to `N` incoming QoS 2 ids. Needs no
/// allocator; its size is known at compile time.
///
/// Topics, properties and payloads are packed in one arena in publish order; removing a message
/// moves the bytes of the newer ones down (at most `BYTES`). A message whose PUBREC arrived
/// gives its bytes back at once.
///
/// ```
/// use mqtt_session::{FixedStore, Store};
/// let store: FixedStore<16, 4096> = FixedStore::new();
/// assert_eq!(store.outgoing_len(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct FixedStore<const N: usize, const BYTES: usize> {
    slots: [Slot; N],
    len: usize,
    arena: [u8; BYTES],
    used: usize,
    incoming: [u16; N],
    incoming_len: usize,
}

impl<const N: usize, const BYTES: usize> Default for FixedStore<N, BYTES> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, const BYTES: usize> FixedStore<N, BYTES> {
    /// An empty store.
    pub const fn new() -> Self {
        FixedStore {
            slots: [Slot::EMPTY; N],
            len: 0,
            arena: [0; BYTES],
            used: 0,
            incoming: [0; N],
            incoming_len: 0,
        }
    }

    /// Bytes of the arena in use by topics, properties and payloads.
    pub fn bytes_used(&self) -> usize {
        self.used
    }

    /// Incoming QoS 2 ids held.
    pub fn incoming_len(&self) -> usize {
        self.incoming_len
    }

    /// Remove the bytes of slot `i` from the arena, shifting newer bytes down.
    fn cut_bytes(&mut self, i: usize) {
        let Some(slot) = self.slots.get(i).copied() else {
            return;
        };
        let n = slot.len();
        if n == 0 {
            return;
        }
        let end = slot.start + n;
        self.arena.copy_within(end..self.used, slot.start);
        self.used -= n;
        for s in self.slots[..self.len].iter_mut() {
            if s.start >= end {
                s.start -= n;
            }
        }
        if let Some(s) = self.slots.get_mut(i) {
            s.topic_len = 0;
            s.props_len = 0;
            s.payload_len = 0;
            s.start = self.used;
        }
    }
}

impl<const N: usize, const BYTES: usize> Store for FixedStore<N, BYTES> {
    fn outgoing_len(&self) -> usize {
        self.len
    }

    fn outgoing(&self, index: usize) -> Option<Outgoing<'_>> {
        if index >= self.len {
            return None;
        }
        let s = self.slots.get(index)?;
        let packet_id = PacketId(NonZeroU16::new(s.packet_id)?);
        let topic_end = s.start + s.topic_len;
        let props_end = topic_end + s.props_len;
        let topic = core::str::from_utf8(self.arena.get(s.start..topic_end)?).ok()?;
        let properties = self.arena.get(topic_end..props_end)?;
        let payload = self.arena.get(props_end..props_end + s.payload_len)?;
        Some(Outgoing {
            packet_id,
            qos: s.qos,
            retain: s.retain,
            state: s.state,
            topic,
            payload,
            properties,
            expires: s.expiring.then_some(Instant::from_millis(s.expires_ms)),
        })
    }

    #[inline]
    fn outgoing_info(&self, index: usize) -> Option<OutgoingInfo> {
        let s = self.slots.get(..self.len)?.get(index)?;
        Some(OutgoingInfo {
            packet_id: PacketId(NonZeroU16::new(s.packet_id)?),
            qos: s.qos,
            state: s.state,
        })
    }

    #[inline]
    fn outgoing_position(&self, packet_id: PacketId) -> Option<usize> {
        let id = packet_id.0.get();
        self.slots[..self.len]
            .iter()
            .position(|s| s.packet_id == id)
    }

    fn push_outgoing(&mut self, m: &Outgoing<'_>) -> Result<(), StoreError> {
        let need = m
            .topic
            .len()
            .saturating_add(m.properties.len())
            .saturating_add(m.payload.len());
        if self.len >= N || BYTES - self.used < need {
            return Err(StoreError::Full);
        }
        let start = self.used;
        let topic_end = start + m.topic.len();
        let props_end = topic_end + m.properties.len();
        self.arena[start..topic_end].copy_from_slice(m.topic.as_bytes());
        self.arena[topic_end..props_end].copy_from_slice(m.properties);
        self.arena[props_end..props_end + m.payload.len()].copy_from_slice(m.payload);
        self.used += need;
        self.slots[self.len] = Slot {
            packet_id: m.packet_id.0.get(),
            qos: m.qos,
            retain: m.retain,
            state: m.state,
            start,
            topic_len: m.topic.len(),
            props_len: m.properties.len(),
            payload_len: m.payload.len(),
            expiring: m.expires.is_some(),
            expires_ms: m.expires.map_or(0, Instant::as_millis),
        };
        self.len += 1;
        Ok(())
    }

    fn release_outgoing(&mut self, packet_id: PacketId) -> bool {
        let Some(i) = self.outgoing_position(packet_id) else {
            return false;
        };
        self.cut_bytes(i);
        self.slots[i].state = OutgoingState::Released;
        true
    }

    fn remove_outgoing(&mut self, packet_id: PacketId) -> bool {
        let Some(i) = self.outgoing_position(packet_id) else {
            return false;
        };
        self.cut_bytes(i);
        self.slots.copy_within(i + 1..self.len, i);
        self.len -= 1;
        true
    }

    fn renumber_outgoing(&mut self, old: PacketId, new: PacketId) -> bool {
        let Some(i) = self.outgoing_position(old) else {
            return false;
        };
        self.slots[i].packet_id = new.0.get();
        true
    }

    fn contains_incoming(&self, packet_id: PacketId) -> bool {
        self.incoming[..self.incoming_len].contains(&packet_id.0.get())
    }

    fn insert_incoming(&mut self, packet_id: PacketId) -> Result<(), StoreError> {
        if self.contains_incoming(packet_id) {
            return Ok(());
        }
        let slot = self
            .incoming
            .get_mut(self.incoming_len)
            .ok_or(StoreError::Full)?;
        *slot = packet_id.0.get();
        self.incoming_len += 1;
        Ok(())
    }

    fn remove_incoming(&mut self, packet_id: PacketId) -> bool {
        let id = packet_id.0.get();
        match self.incoming[..self.incoming_len]
            .iter()
            .position(|&x| x == id)
        {
            Some(i) => {
                self.incoming.swap(i, self.incoming_len - 1);
                self.incoming_len -= 1;
                true
            }
            None => false,
        }
    }

    fn clear_incoming(&mut self) {
        self.incoming_len = 0;
    }
}
