//! [`VecStore`]: a growable store (feature `alloc`).

use alloc::boxed::Box;
use alloc::collections::BTreeSet;
use alloc::collections::VecDeque;

use mqtt_proto::{PacketId, QoS};

use crate::error::StoreError;
use crate::store::{Outgoing, OutgoingInfo, OutgoingState, Store};
use crate::time::Instant;

#[derive(Debug, Clone)]
struct Entry {
    packet_id: PacketId,
    qos: QoS,
    retain: bool,
    state: OutgoingState,
    topic_len: usize,
    props_len: usize,
    expires: Option<Instant>,
    /// Topic, properties, payload.
    data: Box<[u8]>,
}

/// A [`Store`] on the heap (feature `alloc`): one allocation per held message. Its size is
/// bounded by the session's window and queue, and optionally by [`VecStore::with_limit`].
#[derive(Debug, Clone, Default)]
pub struct VecStore {
    outgoing: VecDeque<Entry>,
    incoming: BTreeSet<u16>,
    limit: Option<usize>,
}

impl VecStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store holding at most `max` outgoing messages and `max` incoming ids.
    pub fn with_limit(max: usize) -> Self {
        VecStore {
            limit: Some(max),
            ..Self::default()
        }
    }

    /// Incoming QoS 2 ids held.
    pub fn incoming_len(&self) -> usize {
        self.incoming.len()
    }

    fn full(&self, n: usize) -> bool {
        self.limit.is_some_and(|max| n >= max)
    }
}

impl Store for VecStore {
    fn outgoing_len(&self) -> usize {
        self.outgoing.len()
    }

    fn outgoing(&self, index: usize) -> Option<Outgoing<'_>> {
        let e = self.outgoing.get(index)?;
        let (topic, rest) = e.data.split_at_checked(e.topic_len)?;
        let (properties, payload) = rest.split_at_checked(e.props_len)?;
        Some(Outgoing {
            packet_id: e.packet_id,
            qos: e.qos,
            retain: e.retain,
            state: e.state,
            topic: core::str::from_utf8(topic).ok()?,
            payload,
            properties,
            expires: e.expires,
        })
    }

    fn outgoing_info(&self, index: usize) -> Option<OutgoingInfo> {
        let e = self.outgoing.get(index)?;
        Some(OutgoingInfo {
            packet_id: e.packet_id,
            qos: e.qos,
            state: e.state,
        })
    }

    fn outgoing_position(&self, packet_id: PacketId) -> Option<usize> {
        self.outgoing.iter().position(|e| e.packet_id == packet_id)
    }

    fn push_outgoing(&mut self, m: &Outgoing<'_>) -> Result<(), StoreError> {
        if self.full(self.outgoing.len()) {
            return Err(StoreError::Full);
        }
        let len = m
            .topic
            .len()
            .saturating_add(m.properties.len())
            .saturating_add(m.payload.len());
        let mut data = alloc::vec::Vec::with_capacity(len);
        data.extend_from_slice(m.topic.as_bytes());
        data.extend_from_slice(m.properties);
        data.extend_from_slice(m.payload);
        self.outgoing.push_back(Entry {
            packet_id: m.packet_id,
            qos: m.qos,
            retain: m.retain,
            state: m.state,
            topic_len: m.topic.len(),
            props_len: m.properties.len(),
            expires: m.expires,
            data: data.into_boxed_slice(),
        });
        Ok(())
    }

    fn release_outgoing(&mut self, packet_id: PacketId) -> bool {
        match self.outgoing.iter_mut().find(|e| e.packet_id == packet_id) {
            Some(e) => {
                e.state = OutgoingState::Released;
                e.data = Box::default();
                e.topic_len = 0;
                e.props_len = 0;
                true
            }
            None => false,
        }
    }

    fn remove_outgoing(&mut self, packet_id: PacketId) -> bool {
        match self.outgoing_position(packet_id) {
            Some(i) => self.outgoing.remove(i).is_some(),
            None => false,
        }
    }

    fn renumber_outgoing(&mut self, old: PacketId, new: PacketId) -> bool {
        match self.outgoing.iter_mut().find(|e| e.packet_id == old) {
            Some(e) => {
                e.packet_id = new;
                true
            }
            None => false,
        }
    }

    fn contains_incoming(&self, packet_id: PacketId) -> bool {
        self.incoming.contains(&packet_id.0.get())
    }

    fn insert_incoming(&mut self, packet_id: PacketId) -> Result<(), StoreError> {
        if self.incoming.contains(&packet_id.0.get()) {
            return Ok(());
        }
        if self.full(self.incoming.len()) {
            return Err(StoreError::Full);
        }
        self.incoming.insert(packet_id.0.get());
        Ok(())
    }

    fn remove_incoming(&mut self, packet_id: PacketId) -> bool {
        self.incoming.remove(&packet_id.0.get())
    }

    fn clear_incoming(&mut self) {
        self.incoming.clear();
    }
}
