//! Publishing (outgoing PUBLISH and its acknowledgements) and receiving PUBLISH.

use mqtt_proto::{PacketId, QoS, QosPid, TopicName};

use crate::error::{CommandError, StoreError};
use crate::event::DisconnectReason;
use crate::session::{Buffer, EventRepr, Session, State};
use crate::store::{Outgoing, OutgoingState, Store};
use crate::time::Instant;
use crate::wire;
#[cfg(feature = "v5")]
use mqtt_proto::v5::Properties;

/// The 5.0 properties of a message to hold, as the store is to keep them.
#[derive(Clone, Copy)]
pub(crate) enum HeldProperties<'p> {
    /// Wire bytes already (none, or a list that was decoded).
    Bytes(&'p [u8]),
    /// A list of values to encode first, of this many bytes without its Property Length.
    #[cfg(feature = "v5")]
    Encode(&'p Properties<'p>, usize),
}

impl HeldProperties<'_> {
    /// No properties.
    pub(crate) const NONE: HeldProperties<'static> = HeldProperties::Bytes(&[]);

    /// Bytes the store keeps.
    fn len(&self) -> usize {
        match *self {
            HeldProperties::Bytes(b) => b.len(),
            #[cfg(feature = "v5")]
            HeldProperties::Encode(_, n) => n,
        }
    }
}

/// Bytes of the PUBLISH packet that [`Session::publish`] queues for this message, fixed header
/// included (the same for any packet identifier, DUP and RETAIN); `None` when the remaining
/// length would exceed the format's limit of 268,435,455 bytes. A driver that writes through an
/// output buffer smaller than the transmit buffer checks a message against it with this before
/// the command.
pub fn publish_len(topic: &str, payload: &[u8], qos: QoS) -> Option<usize> {
    wire::total_len(wire::publish_body_len(topic, payload, qos))
}

impl<S: Store, B: Buffer> Session<S, B> {
    /// Command: publish an application message. Needs [`State::Connected`], except a QoS 1/2
    /// message with [`Config::offline_publish`](crate::Config::offline_publish) on, which is
    /// held for the next connection.
    ///
    /// No packet larger than the transmit buffer is accepted
    /// ([`CommandError::PacketTooLarge`]), so a `poll_transmit` buffer as large as the transmit
    /// buffer always fits the next packet.
    ///
    /// QoS 0 is queued in the transmit buffer and returns `Ok(None)`. QoS 1 and 2 are recorded in
    /// the store with a fresh packet identifier (non-zero, not in use [MQTT-2.3.1-2]) that is
    /// returned, and sent when the in-flight window allows. Beyond the window the message is
    /// queued if [`Config::max_queued`](crate::Config::max_queued) allows, else refused with
    /// [`CommandError::WindowFull`]. Completion is reported by
    /// [`Event::PublishAcknowledged`](crate::Event) (QoS 1) or `PublishCompleted` (QoS 2).
    pub fn publish(
        &mut self,
        now: Instant,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<Option<PacketId>, CommandError> {
        self.settle();
        self.clamp(now);
        if self.state != State::Connected {
            if !self.config.offline_publish || qos == QoS::AtMostOnce {
                return Err(CommandError::NotConnected);
            }
            TopicName::new(topic).map_err(CommandError::Invalid)?;
            // Held for the next connection: it must fit the transmit buffer then, at either
            // version (a 5.0 PUBLISH has one byte more, its empty properties).
            let body = wire::publish_body_len(topic, payload, qos).saturating_add(1);
            let required = wire::total_len(body).ok_or(CommandError::PacketTooLarge {
                required: body.saturating_add(5),
            })?;
            if required > self.tx_capacity() {
                return Err(CommandError::PacketTooLarge { required });
            }
            return self.hold(topic, payload, qos, retain, HeldProperties::NONE, None);
        }
        TopicName::new(topic).map_err(CommandError::Invalid)?;
        #[cfg(feature = "v5")]
        if self.v5.on {
            return self.publish_v5(topic, payload, qos, retain, &Properties::EMPTY);
        }
        let body = wire::publish_body_len(topic, payload, qos);
        let required = wire::total_len(body).ok_or(CommandError::PacketTooLarge {
            required: body.saturating_add(5),
        })?;
        if required > self.tx_capacity() {
            return Err(CommandError::PacketTooLarge { required });
        }
        if !self.may_send_new() {
            return Err(CommandError::TransmitBufferFull { required });
        }
        if qos == QoS::AtMostOnce {
            let Some(dst) = self.tx_reserve(required) else {
                return Err(CommandError::TransmitBufferFull { required });
            };
            let n = wire::write_publish(dst, topic, payload, qos, None, false, retain);
            self.tx_tail += n;
            return Ok(None);
        }
        self.hold(topic, payload, qos, retain, HeldProperties::NONE, None)
    }

    /// Record a QoS 1/2 message in the store under a fresh packet identifier (the checks of
    /// the command other than the window's are done), with its 5.0 properties and the instant
    /// it expires.
    pub(crate) fn hold(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: HeldProperties<'_>,
        expires: Option<Instant>,
    ) -> Result<Option<PacketId>, CommandError> {
        let held = self.store.outgoing_len();
        let window = self.window();
        if held >= window + usize::from(self.config.max_queued) {
            return Err(CommandError::WindowFull);
        }
        let bytes = topic
            .len()
            .saturating_add(payload.len())
            .saturating_add(properties.len());
        if self.bytes_bounded()
            && held > 0
            && self.held_bytes.saturating_add(bytes) > self.config.max_held_bytes
        {
            return Err(CommandError::WindowFull);
        }
        if held < window && self.sent == held && self.tx_free() < wire::MARKER_LEN {
            return Err(CommandError::TransmitBufferFull {
                required: wire::MARKER_LEN,
            });
        }
        // A list of values is encoded first, into the free end of the transmit buffer (the
        // store copies it; a marker may take that room afterwards).
        #[cfg(feature = "v5")]
        let encoded = self.encode_held(properties)?;
        let next_id = self.next_id;
        let packet_id = self.allocate_id().ok_or(CommandError::WindowFull)?;
        let message = Outgoing {
            packet_id,
            qos,
            retain,
            state: OutgoingState::Publish,
            topic,
            payload,
            properties: match properties {
                HeldProperties::Bytes(b) => b,
                #[cfg(feature = "v5")]
                HeldProperties::Encode(..) => self.tx.as_ref().get(encoded).unwrap_or(&[]),
            },
            expires,
        };
        if let Err(e) = self.store.push_outgoing(&message) {
            self.next_id = next_id;
            return Err(match e {
                StoreError::Full => CommandError::StoreFull,
                _ => CommandError::StoreFailed,
            });
        }
        if self.bytes_bounded() {
            self.held_bytes += bytes;
        }
        self.promote();
        Ok(Some(packet_id))
    }

    /// Encode a list of property values to hold into the free end of the transmit buffer;
    /// returns where the property bytes are (empty for wire bytes, which need no encoding).
    #[cfg(feature = "v5")]
    fn encode_held(
        &mut self,
        properties: HeldProperties<'_>,
    ) -> Result<core::ops::Range<usize>, CommandError> {
        let HeldProperties::Encode(list, len) = properties else {
            return Ok(0..0);
        };
        let scratch = len + wire::rl_len(len);
        if scratch > self.tx_free() {
            return Err(CommandError::TransmitBufferFull { required: scratch });
        }
        let Some(dst) = self.tx_reserve(scratch) else {
            return Err(CommandError::TransmitBufferFull { required: scratch });
        };
        if list
            .encode(mqtt_proto::v5::PropertyContext::Publish, dst)
            .ok()
            != Some(scratch)
        {
            // The command validated the list and measured it: cannot happen.
            return Err(CommandError::PropertyNotAllowed);
        }
        let start = self.tx_tail + (scratch - len);
        Ok(start..start + len)
    }

    /// PUBLISH from the broker: acknowledge per its QoS [MQTT-3.3.4-1, MQTT-4.5.0-2] and
    /// deliver it (a QoS 2 message only once until its PUBREL [MQTT-4.3.3-2]).
    pub(crate) fn on_publish(
        &mut self,
        dup: bool,
        qos_pid: QosPid,
        retain: bool,
        topic: (usize, usize),
        payload: (usize, usize),
    ) {
        let event = |qos, packet_id| EventRepr::Message {
            topic,
            payload,
            qos,
            retain,
            dup,
            packet_id,
        };
        match qos_pid {
            QosPid::AtMostOnce => self.push_packet_event(event(QoS::AtMostOnce, None)),
            QosPid::AtLeastOnce(id) => {
                self.push_control(wire::puback(id));
                self.push_packet_event(event(QoS::AtLeastOnce, Some(id)));
            }
            QosPid::ExactlyOnce(id) => {
                if self.store.contains_incoming(id) {
                    // Already delivered; the broker resent it before our PUBREC reached it.
                    self.push_control(wire::pubrec(id));
                    return;
                }
                if self.store.insert_incoming(id).is_err() {
                    self.end_connection(DisconnectReason::StoreFull);
                    return;
                }
                self.push_control(wire::pubrec(id));
                self.push_packet_event(event(QoS::ExactlyOnce, Some(id)));
            }
        }
    }

    /// PUBACK: a QoS 1 message is done. Unknown ids are ignored.
    pub(crate) fn on_puback(&mut self, id: PacketId) {
        if let Some(i) = self.acknowledgeable(id, QoS::AtLeastOnce, OutgoingState::Publish) {
            self.unneeded(i);
            self.store.remove_outgoing(id);
            self.removed_at(i);
            self.push_packet_event(EventRepr::PubAck(id));
            self.promote();
        }
    }

    /// PUBREC: the broker owns the QoS 2 message; release it with PUBREL [MQTT-4.3.3-1]. A
    /// PUBREC for an id we no longer hold is answered with PUBREL too, so the broker can finish.
    pub(crate) fn on_pubrec(&mut self, id: PacketId) {
        match self.store.outgoing_position(id) {
            Some(i) => {
                let Some(m) = self.store.outgoing_info(i) else {
                    return;
                };
                if m.qos != QoS::ExactlyOnce || !self.was_written(i) {
                    return;
                }
                if m.state == OutgoingState::Publish {
                    self.unneeded(i);
                    self.store.release_outgoing(id);
                }
                self.push_control(wire::pubrel(id));
            }
            None => self.push_control(wire::pubrel(id)),
        }
    }

    /// PUBCOMP: a QoS 2 message is done. Unknown ids are ignored.
    pub(crate) fn on_pubcomp(&mut self, id: PacketId) {
        if let Some(i) = self.acknowledgeable(id, QoS::ExactlyOnce, OutgoingState::Released) {
            self.unneeded(i);
            self.store.remove_outgoing(id);
            self.removed_at(i);
            self.push_packet_event(EventRepr::PubComp(id));
            self.promote();
        }
    }

    /// PUBREL: forget the incoming QoS 2 id and answer PUBCOMP, known id or not.
    pub(crate) fn on_pubrel(&mut self, id: PacketId) {
        self.store.remove_incoming(id);
        self.push_control(wire::pubcomp(id));
    }

    /// Index of the held message `id` if it is sent, of this QoS and in this state.
    /// Whether [`Config::max_held_bytes`](crate::Config::max_held_bytes) is set (the count is
    /// kept only then: no cost on the default path).
    pub(crate) fn bytes_bounded(&self) -> bool {
        self.config.max_held_bytes != usize::MAX
    }

    /// The held message at `index` no longer needs its PUBLISH (acknowledged, released,
    /// dropped or rejected): it leaves the byte count. Call before the store changes.
    pub(crate) fn unneeded(&mut self, index: usize) {
        if self.bytes_bounded() {
            let n = crate::session::needed_bytes(&self.store, index);
            self.held_bytes = self.held_bytes.saturating_sub(n);
        }
    }

    fn acknowledgeable(&self, id: PacketId, qos: QoS, state: OutgoingState) -> Option<usize> {
        let i = self.store.outgoing_position(id)?;
        let m = self.store.outgoing_info(i)?;
        (m.qos == qos && m.state == state && self.was_written(i)).then_some(i)
    }
}
