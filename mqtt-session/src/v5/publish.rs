//! 5.0 publishing: incoming PUBLISH (topic aliases, our Receive Maximum), the acknowledgements
//! with their reason codes, SUBACK/UNSUBACK with properties, and the 5.0 PUBLISH encoding.

use mqtt_proto::v5::{PacketType, Properties, PropertyContext, PropertyId};
use mqtt_proto::{PacketId, QoS, QosPid};

use super::{Codes, TopicAt};
use crate::error::CommandError;
use crate::event::{DisconnectReason, Violation};
use crate::session::{Buffer, EventRepr, Request, Session};
use crate::store::{OutgoingState, Store};
use crate::wire;

impl<S: Store, B: Buffer> Session<S, B> {
    /// Whether an incoming packet may be processed now: a PUBLISH that sets a topic alias
    /// waits while a queued message still reads that alias's topic.
    pub(crate) fn may_dispatch_v5(&self, p: &super::receive::Incoming) -> bool {
        match *p {
            super::receive::Incoming::Publish {
                alias: Some(a),
                topic,
                ..
            } if topic.0 != topic.1 => !self.events.iter().any(
                |e| matches!(e, EventRepr::MessageV5 { topic: TopicAt::Alias(b), .. } if b == a),
            ),
            _ => true,
        }
    }

    /// Incoming QoS 1/2 messages the broker has not had the final acknowledgement of: QoS 2
    /// ids awaiting PUBREL, and PUBACKs and PUBCOMPs queued but not written yet.
    fn incoming_unacknowledged(&self) -> usize {
        let queued = self
            .control
            .iter()
            .filter(|c| matches!(c.first(), Some(0x40 | 0x70)))
            .count();
        self.v5.incoming_qos2 + queued
    }

    /// PUBLISH from the broker on a 5.0 connection.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_publish_v5(
        &mut self,
        dup: bool,
        qos_pid: QosPid,
        retain: bool,
        topic: (usize, usize),
        alias: Option<u16>,
        props: (usize, usize),
        payload: (usize, usize),
    ) {
        let topic = match alias {
            None => TopicAt::Rx(topic.0, topic.1),
            Some(a) if a > self.v5.topic_alias_maximum => {
                // Alias 0 is refused by the decoder [MQTT-3.3.2-8]; above our maximum
                // [MQTT-3.3.2-11]: 0x94.
                return self.violation(Violation::TopicAliasInvalid(a));
            }
            Some(a) if topic.0 == topic.1 => {
                if self.v5.aliases_in.get(a).is_none() {
                    return self.violation(Violation::UnknownTopicAlias(a));
                }
                TopicAt::Alias(a)
            }
            Some(a) => {
                let name = self
                    .rx
                    .as_ref()
                    .get(topic.0..topic.1)
                    .and_then(|b| core::str::from_utf8(b).ok())
                    .unwrap_or("");
                if !self.v5.aliases_in.set(a, name) {
                    return self.violation(Violation::TopicAliasInvalid(a));
                }
                TopicAt::Rx(topic.0, topic.1)
            }
        };
        let event = |qos, packet_id| EventRepr::MessageV5 {
            topic,
            payload,
            qos,
            retain,
            dup,
            packet_id,
            props,
        };
        if qos_pid != QosPid::AtMostOnce {
            let repeat =
                matches!(qos_pid, QosPid::ExactlyOnce(id) if self.store.contains_incoming(id));
            if !repeat && self.incoming_unacknowledged() >= usize::from(self.v5.receive_maximum) {
                return self.violation(Violation::ReceiveMaximumExceeded);
            }
        }
        match qos_pid {
            QosPid::AtMostOnce => self.push_packet_event(event(QoS::AtMostOnce, None)),
            QosPid::AtLeastOnce(id) => {
                self.push_control(wire::puback(id));
                self.push_packet_event(event(QoS::AtLeastOnce, Some(id)));
            }
            QosPid::ExactlyOnce(id) => {
                if self.store.contains_incoming(id) {
                    self.push_control(wire::pubrec(id));
                    return;
                }
                if self.store.insert_incoming(id).is_err() {
                    self.end_connection(DisconnectReason::StoreFull);
                    return;
                }
                self.v5.incoming_qos2 += 1;
                self.push_control(wire::pubrec(id));
                self.push_packet_event(event(QoS::ExactlyOnce, Some(id)));
            }
        }
    }

    /// PUBACK, PUBREC, PUBREL or PUBCOMP on a 5.0 connection. A code of 0x80 or more on PUBACK
    /// or PUBREC ends the flow: the message is removed, no PUBREL follows [MQTT-3.3.4-7,
    /// MQTT-4.3.3 (PUBREC)], and the application hears
    /// [`Event::PublishRejected`](crate::Event::PublishRejected).
    pub(crate) fn on_response_v5(
        &mut self,
        packet_type: PacketType,
        id: PacketId,
        code: u8,
        props: (usize, usize),
    ) {
        let response = EventRepr::Response {
            packet_type,
            packet_id: Some(id),
            codes: Codes::One(code),
            props,
        };
        let detailed = code != 0 || props.0 != props.1;
        match packet_type {
            PacketType::PubRel => {
                if self.store.remove_incoming(id) {
                    self.v5.incoming_qos2 = self.v5.incoming_qos2.saturating_sub(1);
                }
                self.push_control(wire::pubcomp(id));
            }
            PacketType::PubAck | PacketType::PubRec => {
                let qos = if packet_type == PacketType::PubAck {
                    QoS::AtLeastOnce
                } else {
                    QoS::ExactlyOnce
                };
                let held = self.store.outgoing_position(id).and_then(|i| {
                    let m = self.store.outgoing_info(i)?;
                    (m.qos == qos && self.was_written(i)).then_some((i, m.state))
                });
                if code >= 0x80 {
                    let Some((i, OutgoingState::Publish)) = held else {
                        return;
                    };
                    self.unneeded(i);
                    self.store.remove_outgoing(id);
                    self.removed_at(i);
                    self.push_packet_event(response);
                    self.push_packet_event(EventRepr::PublishRejected {
                        packet_id: id,
                        code,
                    });
                    self.promote();
                    return;
                }
                if detailed && held.is_some() {
                    self.push_packet_event(response);
                }
                if packet_type == PacketType::PubAck {
                    self.on_puback(id);
                } else {
                    self.on_pubrec(id);
                }
            }
            _ => {
                let held = self.store.outgoing_position(id).and_then(|i| {
                    let m = self.store.outgoing_info(i)?;
                    (m.qos == QoS::ExactlyOnce
                        && m.state == OutgoingState::Released
                        && self.was_written(i))
                    .then_some(i)
                });
                if detailed && held.is_some() {
                    self.push_packet_event(response);
                }
                self.on_pubcomp(id);
            }
        }
    }

    /// SUBACK on a 5.0 connection: its properties reach the application when it has any.
    pub(crate) fn on_suback_v5(
        &mut self,
        id: PacketId,
        codes: (usize, usize),
        props: (usize, usize),
    ) {
        let pending = self.pending.iter().any(
            |r| matches!(r, Some(Request::Subscribe { packet_id, filters }) if *packet_id == id && *filters == codes.1.saturating_sub(codes.0)),
        );
        if pending && props.0 != props.1 {
            self.push_packet_event(EventRepr::Response {
                packet_type: PacketType::SubAck,
                packet_id: Some(id),
                codes: Codes::Range(codes.0, codes.1),
                props,
            });
        }
        self.on_suback(id, codes);
    }

    /// UNSUBACK on a 5.0 connection: one reason code per filter [MQTT-3.11.3-1], always
    /// reported as a response before `Unsubscribed`.
    pub(crate) fn on_unsuback_v5(
        &mut self,
        id: PacketId,
        codes: (usize, usize),
        props: (usize, usize),
    ) {
        let expected = self.pending.iter().find_map(|r| match r {
            Some(Request::Unsubscribe { packet_id, filters }) if *packet_id == id => Some(*filters),
            _ => None,
        });
        let Some(expected) = expected else {
            return self.violation(Violation::UnexpectedUnsubAck(id));
        };
        let received = codes.1.saturating_sub(codes.0);
        if received != expected {
            return self.violation(Violation::UnsubAckCountMismatch { expected, received });
        }
        self.push_packet_event(EventRepr::Response {
            packet_type: PacketType::UnsubAck,
            packet_id: Some(id),
            codes: Codes::Range(codes.0, codes.1),
            props,
        });
        self.on_unsuback(id);
    }

    /// The 5.0 checks of a PUBLISH command against the CONNACK: Maximum QoS, Retain Available,
    /// Maximum Packet Size (of the packet as it goes out the first time, `required` bytes).
    pub(crate) fn check_publish_v5(
        &self,
        qos: QoS,
        retain: bool,
        required: usize,
    ) -> Result<(), CommandError> {
        let server = &self.v5.server;
        if qos.as_u8() > server.maximum_qos.as_u8() {
            return Err(CommandError::QoSNotSupported {
                maximum: server.maximum_qos,
            });
        }
        if retain && !server.retain_available {
            return Err(CommandError::RetainNotSupported);
        }
        self.check_server_size(required)
    }
}

/// Body length of a 5.0 PUBLISH: topic (possibly empty), packet id, Property Length and
/// properties (`props` bytes of them), payload.
pub(crate) fn publish_body_len(topic_len: usize, payload: &[u8], qos: QoS, props: usize) -> usize {
    let id = if qos == QoS::AtMostOnce { 0 } else { 2 };
    topic_len
        .saturating_add(payload.len())
        .saturating_add(props)
        .saturating_add(wire::rl_len(props))
        .saturating_add(2 + id)
}

/// Bytes of the user's PUBLISH properties on the wire, without the Property Length; checks
/// them for PUBLISH: a client never sends a Subscription Identifier [MQTT-3.3.4-6], and the
/// session sets any Topic Alias itself.
pub(crate) fn publish_props_len(p: &Properties<'_>) -> Result<usize, CommandError> {
    if p.contains(PropertyId::SubscriptionIdentifier) || p.contains(PropertyId::TopicAlias) {
        return Err(CommandError::PropertyNotAllowed);
    }
    p.validate(PropertyContext::Publish)
        .map_err(CommandError::Invalid)?;
    Ok(content_len(p))
}

/// Bytes of a property list without its Property Length.
pub(crate) fn content_len(p: &Properties<'_>) -> usize {
    p.iter().map(|x| x.encoded_len()).sum()
}

/// Encode a 5.0 PUBLISH into `buf` (which holds the whole packet): `topic` may be empty when
/// `alias` is given; `props` are the user's properties (already validated), `alias` is added
/// after them.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_publish(
    buf: &mut [u8],
    topic: &str,
    payload: &[u8],
    qos: QoS,
    id: Option<PacketId>,
    dup: bool,
    retain: bool,
    props: &Properties<'_>,
    alias: Option<u16>,
) -> usize {
    let user = content_len(props);
    let all = user + if alias.is_some() { 3 } else { 0 };
    let body = publish_body_len(topic.len(), payload, qos, all);
    let mut w = wire::Out::new(buf);
    w.u8(0x30 | (u8::from(dup) << 3) | (qos.as_u8() << 1) | u8::from(retain));
    w.remaining_length(body);
    w.string(topic);
    if let Some(id) = id {
        w.u16(id.get());
    }
    // The user's list goes in through the proto encoder, which writes its own Property Length
    // first: encode it so that this length lands where ours goes, then write ours over it.
    let at = w.position();
    let ours = wire::rl_len(all);
    let theirs = wire::rl_len(user);
    let start = at + ours - theirs;
    if let Some(dst) = w.buffer().get_mut(start..) {
        let _ = props.encode(PropertyContext::Publish, dst);
    }
    w.remaining_length(all);
    w.skip(user);
    if let Some(a) = alias {
        w.u8(PropertyId::TopicAlias.as_u8());
        w.u16(a);
    }
    w.bytes(payload);
    w.position()
}

impl<S: Store, B: Buffer> Session<S, B> {
    /// Command (5.0): publish with PUBLISH properties (Payload Format Indicator, Message
    /// Expiry Interval, Content Type, Response Topic, Correlation Data, User Properties), as
    /// [`Session::publish`] does otherwise. On a 3.1.1 connection, empty properties publish as
    /// `publish` does and others are [`CommandError::RequiresV5`].
    ///
    /// Errors besides `publish`'s: [`CommandError::PropertyNotAllowed`] for a Subscription
    /// Identifier [MQTT-3.3.4-6] or a Topic Alias (the session sets aliases itself, see
    /// [`Config::outgoing_topic_aliases`](crate::Config::outgoing_topic_aliases)),
    /// [`CommandError::Invalid`] for a property not allowed in PUBLISH,
    /// [`CommandError::StoredPropertiesUnsupported`] for properties on QoS 1/2 (the store
    /// keeps topic and payload only, so a resend could not carry them: not offered yet).
    pub fn publish_with(
        &mut self,
        now: crate::Instant,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: &Properties<'_>,
    ) -> Result<Option<PacketId>, CommandError> {
        if !self.v5.on || properties.is_empty() {
            if !properties.is_empty() {
                return Err(CommandError::RequiresV5);
            }
            return self.publish(now, topic, payload, qos, retain);
        }
        self.settle();
        self.clamp(now);
        if self.state != crate::State::Connected {
            return Err(CommandError::NotConnected);
        }
        mqtt_proto::TopicName::new(topic).map_err(CommandError::Invalid)?;
        self.publish_v5(topic, payload, qos, retain, properties)
    }

    /// A 5.0 PUBLISH command whose state and topic were checked.
    pub(crate) fn publish_v5(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        props: &Properties<'_>,
    ) -> Result<Option<PacketId>, CommandError> {
        let user = publish_props_len(props)?;
        if qos != QoS::AtMostOnce && user > 0 {
            return Err(CommandError::StoredPropertiesUnsupported);
        }
        let body = publish_body_len(topic.len(), payload, qos, user);
        let required = wire::total_len(body).ok_or(CommandError::PacketTooLarge {
            required: body.saturating_add(5),
        })?;
        if required > self.tx_capacity() {
            return Err(CommandError::PacketTooLarge { required });
        }
        self.check_publish_v5(qos, retain, required)?;
        if !self.may_send_new() {
            return Err(CommandError::TransmitBufferFull { required });
        }
        if qos != QoS::AtMostOnce {
            return self.hold(topic, payload, qos, retain);
        }
        // QoS 0 goes out in command order, so an alias this command sets is defined on the
        // wire before any later packet uses it.
        let max = self
            .config
            .outgoing_topic_aliases
            .min(self.v5.server.topic_alias_maximum);
        let (mut wire_topic, mut alias, mut new) = match self.v5.aliases_out.find(topic) {
            Some(a) if max > 0 => ("", Some(a), false),
            _ => match self.v5.aliases_out.next_free(topic, max) {
                Some(a) => (topic, Some(a), true),
                None => (topic, None, false),
            },
        };
        let mut actual = required;
        if alias.is_some() {
            let with_alias = publish_body_len(wire_topic.len(), payload, qos, user + 3);
            match wire::total_len(with_alias) {
                Some(n) if n <= self.tx_capacity() && self.check_server_size(n).is_ok() => {
                    actual = n;
                }
                _ => (wire_topic, alias, new) = (topic, None, false),
            }
        }
        let Some(dst) = self.tx_reserve(actual) else {
            return Err(CommandError::TransmitBufferFull { required: actual });
        };
        let n = write_publish(
            dst, wire_topic, payload, qos, None, false, retain, props, alias,
        );
        self.tx_tail += n;
        if new {
            self.v5.aliases_out.assign(topic, max);
        }
        Ok(None)
    }
}
