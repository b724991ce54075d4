//! Where the persistent part of a session lives: outgoing QoS 1/2 messages in flight (or queued),
//! and incoming QoS 2 packet ids awaiting PUBREL.
//!
//! The session tells the store about every change as it happens (insert, PUBREC received,
//! removal), so a durable store can write each one down and restore them when it is opened: a
//! [`Session`](crate::Session) created over a store that already holds entries resends them on
//! the next connection that finds the broker's session present.

use mqtt_proto::{PacketId, QoS};

use crate::error::StoreError;
use crate::time::Instant;

/// What an outgoing QoS 1/2 message waits for, and so what is sent again on resumption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutgoingState {
    /// PUBLISH sent (or to be sent): waiting for PUBACK (QoS 1) or PUBREC (QoS 2). Resumption
    /// sends the PUBLISH again with DUP=1.
    Publish,
    /// QoS 2 after PUBREC: PUBREL sent, waiting for PUBCOMP. Resumption sends the PUBREL again.
    /// The store may drop the topic, properties and payload once an entry reaches this state.
    Released,
}

/// An outgoing QoS 1/2 message as held by a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outgoing<'a> {
    /// Its packet identifier, unique among held outgoing messages.
    pub packet_id: PacketId,
    /// [`QoS::AtLeastOnce`] or [`QoS::ExactlyOnce`].
    pub qos: QoS,
    /// RETAIN flag.
    pub retain: bool,
    /// Where it stands.
    pub state: OutgoingState,
    /// Topic name (already validated when it was published). May be empty in the
    /// [`OutgoingState::Released`] state.
    pub topic: &'a str,
    /// Payload. May be empty in the [`OutgoingState::Released`] state.
    pub payload: &'a [u8],
    /// MQTT 5.0 PUBLISH properties as the application gave them, in wire form: the property
    /// bytes without the Property Length in front, never a Topic Alias (aliases belong to one
    /// connection [MQTT-3.3.2-7]) nor a Subscription Identifier [MQTT-3.3.4-6]. Empty for a
    /// message published without properties (every 3.1.1 publish). Written again, whole, on
    /// every resend over a 5.0 connection, with the Message Expiry Interval replaced by what
    /// is left of it (see [`Outgoing::expires`]); a 3.1.1 connection, or a session built
    /// without the `v5` feature, sends none. May be empty in the
    /// [`OutgoingState::Released`] state.
    pub properties: &'a [u8],
    /// When the message expires, on the session's clock: set by the session when a message
    /// with a Message Expiry Interval is published (the `now` of the command plus the
    /// interval, at least one second), `None` for one without. A resend carries the interval
    /// left at that moment; a message that expired before its PUBLISH was first written is
    /// not sent (see `Event::PublishExpired`, feature `v5`; a session built without it does
    /// not look at this field).
    ///
    /// It counts from the epoch of the [`Instant`]s the session is given. A store that
    /// outlives that clock (a durable store reopened by a new process, whose clock starts
    /// again) must hand it back on the new clock: keep the deadline in wall-clock time and
    /// give back what is left of it counted from the new clock's epoch, saturating at
    /// [`Instant::ZERO`] (expired).
    pub expires: Option<Instant>,
}

/// An outgoing message's identity and state, without its bytes (see [`Store::outgoing_info`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OutgoingInfo {
    /// Its packet identifier.
    pub packet_id: PacketId,
    /// [`QoS::AtLeastOnce`] or [`QoS::ExactlyOnce`].
    pub qos: QoS,
    /// Where it stands.
    pub state: OutgoingState,
}

impl Outgoing<'_> {
    /// Identity and state, without the bytes.
    pub fn info(&self) -> OutgoingInfo {
        OutgoingInfo {
            packet_id: self.packet_id,
            qos: self.qos,
            state: self.state,
        }
    }
}

/// Storage for the persistent part of a session.
///
/// Outgoing messages form one sequence in the order they were published; the session appends at
/// the end and removes anywhere. The first [`Config::max_inflight`](crate::Config::max_inflight)
/// of them are in flight, the rest queued. Incoming QoS 2 ids form a set.
///
/// A durable implementation writes each change before returning (or journals it) and loads the
/// entries back when it is opened. Only [`Store::push_outgoing`] and [`Store::insert_incoming`]
/// may fail; a durable store that cannot record a removal or a state change should keep the
/// error to report through its own API (the worst outcome after a restart is a duplicate
/// delivery, which QoS 1 allows and which a broker's QoS 2 handling absorbs).
///
/// The session never gives a store two outgoing entries with the same packet id, nor inserts an
/// incoming id already present.
pub trait Store {
    /// Number of outgoing messages held.
    fn outgoing_len(&self) -> usize;

    /// The `index`-th outgoing message, oldest first.
    fn outgoing(&self, index: usize) -> Option<Outgoing<'_>>;

    /// Identity and state of the `index`-th outgoing message, without its bytes. The default
    /// calls [`Store::outgoing`]; stores override it when that is cheaper.
    fn outgoing_info(&self, index: usize) -> Option<OutgoingInfo> {
        self.outgoing(index).map(|m| m.info())
    }

    /// Index of the outgoing message with this id. The default scans [`Store::outgoing`].
    fn outgoing_position(&self, packet_id: PacketId) -> Option<usize> {
        (0..self.outgoing_len()).find(|&i| {
            self.outgoing_info(i)
                .is_some_and(|m| m.packet_id == packet_id)
        })
    }

    /// Append a new outgoing message (state [`OutgoingState::Publish`]). On `Err` nothing changed.
    /// Every field is kept as given and handed back by [`Store::outgoing`], its properties
    /// and expiry too.
    fn push_outgoing(&mut self, message: &Outgoing<'_>) -> Result<(), StoreError>;

    /// PUBREC arrived for this QoS 2 message: its state becomes [`OutgoingState::Released`].
    /// Returns whether the entry existed.
    fn release_outgoing(&mut self, packet_id: PacketId) -> bool;

    /// PUBACK/PUBCOMP arrived (or the message was dropped): remove it, keeping the others' order.
    /// Returns whether the entry existed.
    fn remove_outgoing(&mut self, packet_id: PacketId) -> bool;

    /// The session this message was published in has ended (see
    /// [`SessionLostPolicy::Resend`](crate::SessionLostPolicy::Resend)): it is published again
    /// as a new message, under the new identifier `new` (not held by any other entry). Its place
    /// in the order, QoS, flags and bytes stay; its state is [`OutgoingState::Publish`]. Returns
    /// whether the entry existed.
    ///
    /// Its [`Outgoing::expires`] stays too: the message's lifetime goes on.
    fn renumber_outgoing(&mut self, old: PacketId, new: PacketId) -> bool;

    /// Whether an incoming QoS 2 PUBLISH with this id was received and its PUBREL not yet.
    fn contains_incoming(&self, packet_id: PacketId) -> bool;

    /// Record an incoming QoS 2 id (PUBREC about to be sent). On `Err` nothing changed.
    fn insert_incoming(&mut self, packet_id: PacketId) -> Result<(), StoreError>;

    /// PUBREL arrived: forget the id. Returns whether it was present.
    fn remove_incoming(&mut self, packet_id: PacketId) -> bool;

    /// Forget every incoming QoS 2 id (the broker's session is gone).
    fn clear_incoming(&mut self);
}

impl<S: Store + ?Sized> Store for &mut S {
    fn outgoing_len(&self) -> usize {
        (**self).outgoing_len()
    }
    fn outgoing(&self, index: usize) -> Option<Outgoing<'_>> {
        (**self).outgoing(index)
    }
    fn outgoing_info(&self, index: usize) -> Option<OutgoingInfo> {
        (**self).outgoing_info(index)
    }
    fn outgoing_position(&self, packet_id: PacketId) -> Option<usize> {
        (**self).outgoing_position(packet_id)
    }
    fn push_outgoing(&mut self, message: &Outgoing<'_>) -> Result<(), StoreError> {
        (**self).push_outgoing(message)
    }
    fn release_outgoing(&mut self, packet_id: PacketId) -> bool {
        (**self).release_outgoing(packet_id)
    }
    fn remove_outgoing(&mut self, packet_id: PacketId) -> bool {
        (**self).remove_outgoing(packet_id)
    }
    fn renumber_outgoing(&mut self, old: PacketId, new: PacketId) -> bool {
        (**self).renumber_outgoing(old, new)
    }
    fn contains_incoming(&self, packet_id: PacketId) -> bool {
        (**self).contains_incoming(packet_id)
    }
    fn insert_incoming(&mut self, packet_id: PacketId) -> Result<(), StoreError> {
        (**self).insert_incoming(packet_id)
    }
    fn remove_incoming(&mut self, packet_id: PacketId) -> bool {
        (**self).remove_incoming(packet_id)
    }
    fn clear_incoming(&mut self) {
        (**self).clear_incoming()
    }
}
