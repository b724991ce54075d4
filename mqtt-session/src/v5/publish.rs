//! 5.0 publishing: incoming PUBLISH (topic aliases, our Receive Maximum), the acknowledgements
//! with their reason codes, SUBACK/UNSUBACK with properties, and the 5.0 PUBLISH encoding.

use mqtt_proto::v5::{PacketType, Properties, PropertyContext, PropertyId};
use mqtt_proto::{PacketId, QoS, QosPid};

use core::time::Duration;

use super::{Codes, TopicAt};
use crate::error::CommandError;
use crate::event::{DisconnectReason, Violation};
use crate::publish::HeldProperties;
use crate::session::{Buffer, EventRepr, Request, Session};
use crate::store::{OutgoingState, Store};
use crate::time::Instant;
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

    /// Incoming QoS 1/2 messages of this connection the broker may still count against our
    /// Receive Maximum: QoS 2 ids received on it and awaiting PUBREL, and PUBACKs queued but
    /// not written yet. The broker's send quota starts afresh on each connection (section
    /// 4.9), so ids left from an earlier one do not count; nor do queued PUBCOMPs, which may
    /// answer a PUBREL of an earlier connection's message: a broker is never accused of
    /// exceeding what it may send, at the cost of letting one PUBCOMP's worth through.
    fn incoming_unacknowledged(&self) -> usize {
        let queued = self
            .control
            .iter()
            .filter(|c| c.first() == Some(&0x40))
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

/// Bytes of the 5.0 PUBLISH packet that [`Session::publish_with`] sends for this message,
/// fixed header included (the same for any packet identifier, DUP and RETAIN; a Message Expiry
/// Interval keeps its size when it is counted down); `None` when the remaining length would
/// exceed the format's limit of 268,435,455 bytes. [`Session::publish`] on a 5.0 connection
/// sends it with [`Properties::EMPTY`].
///
/// `with_topic_alias`: count the Topic Alias property (3 bytes, and the Property Length and
/// Remaining Length that may grow with it) that the session adds when it sets an alias for the
/// topic (see [`Config::outgoing_topic_aliases`](crate::Config::outgoing_topic_aliases)): the
/// largest form the packet takes, with the topic in full and the alias. A packet that uses an
/// alias already set has an empty topic and is smaller; a resend never carries one
/// [MQTT-3.3.2-7].
///
/// A driver that writes through an output buffer smaller than the transmit buffer checks a
/// message against it with this before the command, as with
/// [`publish_len`](crate::publish_len) for 3.1.1.
///
/// ```
/// use mqtt_session::QoS;
/// use mqtt_session::v5::{Properties, Property, publish_len};
///
/// let props = [Property::ContentType("text/plain")];
/// // Fixed header 2, topic 2 + 3, packet id 2, Property Length 1, Content Type 1 + 2 + 10,
/// // payload 4.
/// let len = publish_len("a/b", b"data", QoS::AtLeastOnce, &Properties::new(&props), false);
/// assert_eq!(len, Some(2 + 5 + 2 + 1 + 13 + 4));
/// // With a Topic Alias (1 + 2 bytes).
/// let len = publish_len("a/b", b"data", QoS::AtLeastOnce, &Properties::new(&props), true);
/// assert_eq!(len, Some(2 + 5 + 2 + 1 + 13 + 3 + 4));
/// ```
pub fn publish_len(
    topic: &str,
    payload: &[u8],
    qos: QoS,
    properties: &Properties<'_>,
    with_topic_alias: bool,
) -> Option<usize> {
    let alias = if with_topic_alias { 3 } else { 0 };
    let props = content_len(properties).saturating_add(alias);
    wire::total_len(publish_body_len(topic.len(), payload, qos, props))
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

/// The properties of a held message as they are written: the store's bytes checked for
/// PUBLISH, without any Topic Alias or Subscription Identifier (the session never stores one;
/// a store that hands one back has it left out), the Message Expiry Interval rewritten. Bytes
/// that are not a valid PUBLISH property list are left out whole: such a store broke its
/// contract, and the message still goes out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredProperties<'a> {
    list: Properties<'a>,
    /// Bytes written, without the Property Length.
    len: usize,
}

impl<'a> StoredProperties<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        let list =
            Properties::from_wire(bytes, PropertyContext::Publish).unwrap_or(Properties::EMPTY);
        let len = list
            .iter()
            .filter(|p| kept(p.id()))
            .map(|p| p.encoded_len())
            .sum();
        StoredProperties { list, len }
    }

    /// Bytes written, without the Property Length.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The Message Expiry Interval stored.
    pub(crate) fn interval(&self) -> Option<u32> {
        self.list.message_expiry_interval()
    }

    /// Write the Property Length and the properties, with `expiry` as the Message Expiry
    /// Interval (when the list has one).
    fn write(&self, w: &mut wire::Out<'_>, expiry: u32, alias: Option<u16>) {
        w.remaining_length(self.len + if alias.is_some() { 3 } else { 0 });
        let mut rest = self.list.wire_bytes().unwrap_or(&[]);
        for p in self.list.iter() {
            let (raw, tail) = rest
                .split_at_checked(p.encoded_len())
                .unwrap_or((rest, &[]));
            rest = tail;
            match p.id() {
                PropertyId::MessageExpiryInterval => {
                    w.u8(PropertyId::MessageExpiryInterval.as_u8());
                    w.bytes(&expiry.to_be_bytes());
                }
                id if kept(id) => w.bytes(raw),
                _ => {}
            }
        }
        if let Some(a) = alias {
            w.u8(PropertyId::TopicAlias.as_u8());
            w.u16(a);
        }
    }
}

/// Whether a stored property is written (a Topic Alias and a Subscription Identifier never).
fn kept(id: PropertyId) -> bool {
    !matches!(
        id,
        PropertyId::TopicAlias | PropertyId::SubscriptionIdentifier
    )
}

/// What the expiry of a held message comes to when its PUBLISH is written at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// It has none, or this much is left: the Message Expiry Interval to write (the
    /// interval published, less the whole seconds elapsed).
    Left(Option<u32>),
    /// Its lifetime is over.
    Over,
}

/// The expiry of a held message at `now`: `expires` is its deadline, `interval` the Message
/// Expiry Interval in its properties.
pub(crate) fn expiry(expires: Option<Instant>, interval: Option<u32>, now: Instant) -> Expiry {
    let Some(deadline) = expires else {
        return Expiry::Left(interval);
    };
    if now >= deadline {
        return Expiry::Over;
    }
    // Whole seconds elapsed, rounded down, leave the interval rounded up: at least 1.
    let ms = deadline.as_millis() - now.as_millis();
    let left = u32::try_from(ms.div_ceil(1000)).unwrap_or(u32::MAX);
    Expiry::Left(interval.map(|v| v.min(left)))
}

/// Encode a held message's 5.0 PUBLISH into `buf` (which holds the whole packet): its topic
/// in full (no alias: it may go out on another connection than the one it was published on
/// [MQTT-3.3.2-7]), its stored properties with `expiry` as the Message Expiry Interval.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_stored_publish(
    buf: &mut [u8],
    topic: &str,
    payload: &[u8],
    qos: QoS,
    id: PacketId,
    dup: bool,
    retain: bool,
    props: &StoredProperties<'_>,
    expiry: u32,
    alias: Option<u16>,
) -> usize {
    let extra = if alias.is_some() { 3 } else { 0 };
    let body = publish_body_len(topic.len(), payload, qos, props.len() + extra);
    let mut w = wire::Out::new(buf);
    w.u8(0x30 | (u8::from(dup) << 3) | (qos.as_u8() << 1) | u8::from(retain));
    w.remaining_length(body);
    w.string(topic);
    w.u16(id.get());
    props.write(&mut w, expiry, alias);
    w.bytes(payload);
    w.position()
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
    /// [`CommandError::Invalid`] for a property not allowed in PUBLISH.
    ///
    /// A QoS 1/2 message keeps its properties in the store
    /// ([`Outgoing::properties`](crate::Outgoing::properties), counted in the store's bytes and in
    /// [`Config::max_held_bytes`](crate::Config::max_held_bytes)) and carries them on every
    /// send, the resend with DUP=1 after a reconnect included [MQTT-3.3.1-1]; it never carries
    /// a Topic Alias, so a resend names its topic in full [MQTT-3.3.2-7]. A list of values
    /// (not a decoded list) is encoded into the free end of the transmit buffer on its way to
    /// the store: [`CommandError::TransmitBufferFull`] when that room is missing.
    ///
    /// # Message Expiry Interval on QoS 1/2
    ///
    /// The interval counts from this call's `now`. Each time the PUBLISH is written, it
    /// carries the interval less the whole seconds elapsed since then (a message held 3.5 s
    /// with 10 goes out with 7), so the message never lives longer than asked. When the
    /// whole seconds elapsed reach the interval (a message published with 0 once a second
    /// has passed) it has expired:
    ///
    /// * if its PUBLISH was never written, on any connection of this session, it is not sent
    ///   at all: it is removed and reported as
    ///   [`Event::PublishExpired`](crate::Event::PublishExpired). Nothing in the standard
    ///   makes a client send a message it has not sent yet, and sending it would deliver it
    ///   after its lifetime;
    /// * if its PUBLISH was written on an earlier connection and not acknowledged, it is
    ///   sent again all the same, with a Message Expiry Interval of 0: a resumed session
    ///   resends every unacknowledged PUBLISH [MQTT-4.4.0-1], and a QoS 2 sender does not
    ///   apply expiry once a PUBLISH was sent [MQTT-4.3.3-7]. The broker, which applies
    ///   expiry to what it forwards [MQTT-3.3.2-5] while it finishes the flow
    ///   [MQTT-4.3.3-13], sees that nothing is left of its lifetime; the flow completes as
    ///   usual (`PublishAcknowledged` / `PublishCompleted`). A broker that reads 0 as "no
    ///   expiry" (which the standard does not say) would keep that copy.
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
            let held = match props.wire_bytes() {
                Some(b) => HeldProperties::Bytes(b),
                None if user == 0 => HeldProperties::NONE,
                None => HeldProperties::Encode(props, user),
            };
            let expires = props
                .message_expiry_interval()
                .map(|v| self.now + Duration::from_secs(u64::from(v.max(1))));
            return self.hold(topic, payload, qos, retain, held, expires);
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
