//! The simulated client's store, chosen per seed.

use mqtt_session::{
    FixedStore, Outgoing, OutgoingInfo, PacketId, Session, Store, StoreError, VecStore,
};

/// Store length through the public `Store` trait.
pub(super) trait StoreLen {
    fn store_len(&self) -> usize;
}

impl StoreLen for Session<SimStore, Vec<u8>> {
    fn store_len(&self) -> usize {
        self.store().outgoing_len()
    }
}

/// The simulated client's store: the growable [`VecStore`], or the fixed-capacity
/// [`FixedStore`] (16 messages, 1 KiB of topics and payloads: it fills up, and its arena is
/// compacted as messages leave), chosen per seed.
#[derive(Debug)]
pub enum SimStore {
    /// A [`VecStore`].
    Vec(VecStore),
    /// A [`FixedStore`].
    Fixed(Box<FixedStore<16, 1024>>),
}

macro_rules! delegate {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            SimStore::Vec($s) => $e,
            SimStore::Fixed($s) => $e,
        }
    };
}

impl Store for SimStore {
    fn outgoing_len(&self) -> usize {
        delegate!(self, s => s.outgoing_len())
    }
    fn outgoing(&self, index: usize) -> Option<Outgoing<'_>> {
        delegate!(self, s => s.outgoing(index))
    }
    fn outgoing_info(&self, index: usize) -> Option<OutgoingInfo> {
        delegate!(self, s => s.outgoing_info(index))
    }
    fn outgoing_position(&self, packet_id: PacketId) -> Option<usize> {
        delegate!(self, s => s.outgoing_position(packet_id))
    }
    fn push_outgoing(&mut self, message: &Outgoing<'_>) -> Result<(), StoreError> {
        delegate!(self, s => s.push_outgoing(message))
    }
    fn release_outgoing(&mut self, packet_id: PacketId) -> bool {
        delegate!(self, s => s.release_outgoing(packet_id))
    }
    fn remove_outgoing(&mut self, packet_id: PacketId) -> bool {
        delegate!(self, s => s.remove_outgoing(packet_id))
    }
    fn renumber_outgoing(&mut self, old: PacketId, new: PacketId) -> bool {
        delegate!(self, s => s.renumber_outgoing(old, new))
    }
    fn contains_incoming(&self, packet_id: PacketId) -> bool {
        delegate!(self, s => s.contains_incoming(packet_id))
    }
    fn insert_incoming(&mut self, packet_id: PacketId) -> Result<(), StoreError> {
        delegate!(self, s => s.insert_incoming(packet_id))
    }
    fn remove_incoming(&mut self, packet_id: PacketId) -> bool {
        delegate!(self, s => s.remove_incoming(packet_id))
    }
    fn clear_incoming(&mut self) {
        delegate!(self, s => s.clear_incoming())
    }
}
