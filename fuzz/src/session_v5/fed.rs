//! The broker's side: 5.0 packets built from the input, and what the bytes fed to the session
//! mean (the broker's topic aliases, the acknowledgements, what must end the connection).

use mqtt_proto::v5::{
    Auth, AuthReasonCode, ConnAck, Connect, ConnectReasonCode, Decoder, Disconnect,
    DisconnectReasonCode, Frame, Packet, PacketType, Properties, Property, PubResponse, Publish,
    ReasonCode, ReasonCodes, SubAck, Subscribe, SubscribeFilters, SubscriptionOptions, UnsubAck,
    Unsubscribe,
};
use mqtt_proto::{PacketId, QoS, QosPid, TopicFilter, TopicName};
use mqtt_session::Store;

use super::model::{
    ConnAckView, ConnV5, DISCONNECT_CODES, Expected, FedAck, Flow, ServerProps, text,
};
use crate::input::In;
use crate::session::{Harness, Request, pid, qos_of, trace};

/// Encode a 5.0 packet the harness built (valid by construction).
pub(crate) fn encode_v5(p: &Packet<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; p.encoded_len()];
    match p.encode(&mut buf) {
        Ok(n) => buf.truncate(n),
        Err(e) => panic!("the harness built an invalid 5.0 packet {p:?}: {e:?}"),
    }
    buf
}

/// A string from the input when `on`.
fn text_if<'a>(r: &mut In<'a, '_>, on: u8) -> &'a str {
    if on != 0 { text(r) } else { "" }
}

/// 5.0 packet types as the acknowledgement table keys them.
pub(crate) const T_CONNACK: u8 = PacketType::ConnAck as u8;
pub(crate) const T_PUBACK: u8 = PacketType::PubAck as u8;
pub(crate) const T_PUBREC: u8 = PacketType::PubRec as u8;
pub(crate) const T_PUBCOMP: u8 = PacketType::PubComp as u8;
pub(crate) const T_SUBACK: u8 = PacketType::SubAck as u8;
pub(crate) const T_UNSUBACK: u8 = PacketType::UnsubAck as u8;
pub(crate) const T_DISCONNECT: u8 = PacketType::Disconnect as u8;

/// CONNACK refusal codes.
const CONNACK_ERRORS: &[u8] = &[
    0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97, 0x99,
    0x9A, 0x9B, 0x9C, 0x9D, 0x9F,
];
/// PUBACK and PUBREC codes.
const PUBACK_CODES: &[u8] = &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
/// SUBACK codes.
const SUBACK_CODES: &[u8] = &[
    0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2,
];
/// UNSUBACK codes.
const UNSUBACK_CODES: &[u8] = &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91];

fn pick(list: &[u8], b: u8) -> u8 {
    list.get(usize::from(b) % list.len().max(1))
        .copied()
        .unwrap_or(0)
}

fn code<R: ReasonCode>(b: u8) -> R {
    match R::from_byte(b) {
        Some(c) => c,
        None => panic!("0x{b:02X} is not a reason code of its packet"),
    }
}

fn response<'a, R: ReasonCode>(id: u16, c: u8, props: &'a [Property<'a>]) -> PubResponse<'a, R> {
    PubResponse {
        packet_id: pid(id),
        reason_code: code(c),
        properties: Properties::new(props),
    }
}

impl<S: Store + Default> Harness<S> {
    /// A well-formed 5.0 packet from the broker, appended to the inbound bytes.
    pub(crate) fn broker_packet_v5(&mut self, r: &mut In<'_, '_>) {
        let kind = r.u8();
        let bytes = match kind % 14 {
            0 => {
                let b = r.u8();
                let m = r.u8();
                let c = if b & 0x10 == 0 {
                    0x00
                } else {
                    pick(CONNACK_ERRORS, b)
                };
                let server = if m & 1 == 0 {
                    self.model().setup.server
                } else {
                    ServerProps::read(r)
                };
                let reason = text_if(r, m & 2);
                let mut props = Vec::new();
                server.push_props(&mut props);
                if m & 2 != 0 {
                    props.push(Property::ReasonString(reason));
                }
                if m & 4 != 0 {
                    props.push(Property::AssignedClientIdentifier("assigned"));
                }
                if m & 8 != 0 {
                    props.push(Property::UserProperty("k", "v"));
                }
                if m & 0x10 != 0 {
                    props.push(Property::ServerReference("other:1883"));
                }
                if m & 0x20 != 0 {
                    props.push(Property::ResponseInformation("resp/"));
                }
                encode_v5(&Packet::ConnAck(ConnAck {
                    session_present: b & 0x80 != 0 && c == 0,
                    reason_code: code::<ConnectReasonCode>(c),
                    properties: Properties::new(&props),
                }))
            }
            1 => self.broker_publish(r),
            k @ 2..=5 => {
                let id = self.pick_id(r);
                let b = r.u8();
                let reason = text_if(r, b & 0x80);
                let props = [Property::ReasonString(reason)];
                let props: &[Property<'_>] = if b & 0x80 != 0 { &props } else { &[] };
                let pub_code = pick(PUBACK_CODES, b);
                let rel_code = if b & 1 != 0 { 0x92 } else { 0x00 };
                encode_v5(&match k {
                    2 => Packet::PubAck(response(id, pub_code, props)),
                    3 => Packet::PubRec(response(id, pub_code, props)),
                    4 => Packet::PubRel(response(id, rel_code, props)),
                    _ => Packet::PubComp(response(id, rel_code, props)),
                })
            }
            k @ 6..=7 => {
                let id = self.pick_id(r);
                let b = r.u8();
                let n = match self.requests.get(&id) {
                    Some((Request::Subscribe(n) | Request::Unsubscribe(n), _)) if b < 0xE0 => *n,
                    _ => usize::from(b % 4) + 1,
                };
                let list = if k == 6 { SUBACK_CODES } else { UNSUBACK_CODES };
                let codes: Vec<u8> = (0..n)
                    .map(|i| pick(list, b.rotate_left(i as u32 * 3) ^ (i as u8)))
                    .collect();
                let props = [Property::ReasonString("why")];
                let props = Properties::new(if b & 0x10 != 0 { &props } else { &[] });
                let packet = if k == 6 {
                    let Ok(reason_codes) = ReasonCodes::new(&codes) else {
                        return;
                    };
                    Packet::SubAck(SubAck {
                        packet_id: pid(id),
                        properties: props,
                        reason_codes,
                    })
                } else {
                    let Ok(reason_codes) = ReasonCodes::new(&codes) else {
                        return;
                    };
                    Packet::UnsubAck(UnsubAck {
                        packet_id: pid(id),
                        properties: props,
                        reason_codes,
                    })
                };
                encode_v5(&packet)
            }
            8 => encode_v5(&Packet::PingResp),
            9 => {
                let c = pick(DISCONNECT_CODES, r.u8());
                let m = r.u8();
                let reason = text_if(r, m & 1);
                let mut props = Vec::new();
                if m & 1 != 0 {
                    props.push(Property::ReasonString(reason));
                }
                if m & 2 != 0 {
                    props.push(Property::ServerReference("other:1883"));
                }
                if m & 4 != 0 {
                    props.push(Property::UserProperty("k", "v"));
                }
                if m & 8 != 0 {
                    // A server must not send it [MQTT-3.14.2-2].
                    props.push(Property::SessionExpiryInterval(u32::from(m)));
                }
                encode_v5(&Packet::Disconnect(Disconnect {
                    reason_code: code::<DisconnectReasonCode>(c),
                    properties: Properties::new(&props),
                }))
            }
            10 => {
                let b = r.u8();
                let c = [0x00, 0x18, 0x19][usize::from(b % 3)];
                let props = [
                    Property::AuthenticationMethod("SCRAM-SHA-1"),
                    Property::AuthenticationData(b"challenge"),
                ];
                encode_v5(&Packet::Auth(Auth {
                    reason_code: code::<AuthReasonCode>(c),
                    properties: Properties::new(if b & 4 != 0 { &props } else { &[] }),
                }))
            }
            11 => {
                // A packet a client never receives.
                let b = r.u8();
                let f = [(
                    TopicFilter::new("a").unwrap_or_else(|e| panic!("{e:?}")),
                    SubscriptionOptions::new(QoS::AtMostOnce),
                )];
                let u = [f[0].0];
                encode_v5(&match b % 4 {
                    0 => Packet::PingReq,
                    1 => Packet::Connect(Connect::new("x", 0)),
                    2 => Packet::Subscribe(Subscribe {
                        packet_id: pid(1),
                        properties: Properties::EMPTY,
                        filters: SubscribeFilters::new(&f),
                    }),
                    _ => Packet::Unsubscribe(Unsubscribe::new(pid(1), &u)),
                })
            }
            _ => {
                // A cooperative broker: answer what the client sent, oldest first.
                let n = usize::from(r.u8() % 8) + 1;
                let mut out = Vec::new();
                for _ in 0..n {
                    match self.to_answer.pop_front() {
                        Some(b) => out.extend_from_slice(&b),
                        None => break,
                    }
                }
                out
            }
        };
        self.inbound.extend_from_slice(&bytes);
    }

    /// A PUBLISH from the broker: topic, Topic Alias (set, used, out of range), properties.
    fn broker_publish(&mut self, r: &mut In<'_, '_>) -> Vec<u8> {
        let flags = r.u8();
        let qos = qos_of(flags);
        let id = pid(self.pick_id(r));
        let topic = Self::topic(r);
        let topic = TopicName::new(topic)
            .or_else(|_| TopicName::new("t"))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let a = r.u8();
        let alias = match a {
            0xF0..=0xFE => u16::from(a) * 64,
            0xFF => r.u16().max(1),
            _ => u16::from(a % 8) + 1,
        };
        let p = r.u8();
        let correlation = if p & 0x10 != 0 { r.bytes() } else { &[] };
        let payload = r.bytes();
        let mut props = Vec::new();
        if p & 1 != 0 {
            props.push(Property::PayloadFormatIndicator(p & 0x80 != 0));
        }
        if p & 2 != 0 {
            props.push(Property::MessageExpiryInterval(u32::from(p)));
        }
        if p & 4 != 0 {
            props.push(Property::ContentType("application/json"));
        }
        if p & 8 != 0 {
            props.push(Property::ResponseTopic(topic));
        }
        if p & 0x10 != 0 {
            props.push(Property::CorrelationData(correlation));
        }
        if p & 0x20 != 0 {
            props.push(Property::SubscriptionIdentifier(u32::from(flags) + 1));
            props.push(Property::SubscriptionIdentifier(268_435_455));
        }
        if p & 0x40 != 0 {
            props.push(Property::UserProperty("k", "v"));
        }
        // The alias goes first or last: the session must find it anywhere.
        let (topic, alias) = match (flags >> 4) & 3 {
            0 => (Some(topic), None),
            1 => (Some(topic), Some(alias)),
            _ => (None, Some(alias)),
        };
        if let Some(a) = alias {
            if flags & 0x40 != 0 {
                props.insert(0, Property::TopicAlias(a));
            } else {
                props.push(Property::TopicAlias(a));
            }
        }
        encode_v5(&Packet::Publish(Publish {
            dup: flags & 4 != 0 && qos != QoS::AtMostOnce,
            qos_pid: QosPid::from_qos(qos, id),
            retain: flags & 8 != 0,
            topic,
            properties: Properties::new(&props),
            payload,
        }))
    }

    /// Bytes the session took while receiving: decode the whole packets among them and note
    /// what they mean.
    pub(crate) fn fed_v5(&mut self, bytes: &[u8]) {
        let limit = self.session.max_incoming_packet();
        let m = self.model();
        let c = m.cur();
        if c.fed_broken {
            return;
        }
        c.fed.extend_from_slice(bytes);
        let buf = std::mem::take(&mut c.fed);
        let decoder = Decoder::new();
        let mut pos = 0;
        loop {
            let rest = buf.get(pos..).unwrap_or_default();
            if rest.is_empty() {
                break;
            }
            // As the session does: a packet is judged once it is whole (the decoder may refuse
            // a prefix already, which the session need not notice before the rest arrives).
            let whole = match decoder.frame(rest) {
                Ok(Frame::Complete(h)) => rest.get(..h.total_len()),
                Ok(Frame::Incomplete { needed }) => {
                    // A declared length above a limit: the session ends it at once.
                    let declared = needed.map_or(rest.len(), |more| rest.len() + more.get());
                    let ours = c
                        .our_maximum_packet_size
                        .and_then(|m| usize::try_from(m).ok())
                        .unwrap_or(usize::MAX);
                    if declared > limit || rest.len() >= limit {
                        c.broke.too_large = true;
                        c.must_end("a declared length above the receive limit");
                    }
                    if declared > ours || rest.len() >= ours {
                        c.broke.above_our_maximum = true;
                        c.must_end("a declared length above our Maximum Packet Size");
                    }
                    break;
                }
                Err(_) => None,
            };
            match whole.map(|b| decoder.decode(b)) {
                Some(Ok(Some((packet, used)))) => {
                    pos += used;
                    c.on_fed(&packet, used, limit);
                }
                other => {
                    trace!("  fed bytes malformed: {other:?}");
                    c.fed_broken = true;
                    c.broke.malformed = true;
                    c.must_end("malformed bytes");
                    // A whole packet above a size limit may be refused for its size before
                    // its body is read.
                    if let Some(n) = whole.map(<[u8]>::len).or_else(|| declared_len(rest)) {
                        let ours = c
                            .our_maximum_packet_size
                            .and_then(|m| usize::try_from(m).ok())
                            .unwrap_or(usize::MAX);
                        c.broke.too_large |= n > limit;
                        c.broke.above_our_maximum |= n > ours;
                    }
                    return;
                }
            }
        }
        c.fed = buf.get(pos..).unwrap_or_default().to_vec();
    }
}

impl ConnV5 {
    /// One whole packet of `size` bytes fed to the session.
    fn on_fed(&mut self, packet: &Packet<'_>, size: usize, limit: usize) {
        self.packets_fed += 1;
        if size > limit {
            self.broke.too_large = true;
            self.must_end("a packet above the receive limit");
        }
        if self
            .our_maximum_packet_size
            .is_some_and(|m| usize::try_from(m).is_ok_and(|m| size > m))
        {
            // Section 3.1.2.11.4: a Protocol Error, DISCONNECT 0x95.
            self.broke.above_our_maximum = true;
            self.must_end("a packet above our Maximum Packet Size");
        }
        let connack_seen = self.connack.is_some();
        // Enhanced authentication: before CONNACK, the broker's AUTH 0x18 with the CONNECT's
        // method is its turn of the exchange (section 4.12), once.
        let auth_turn = matches!(packet, Packet::Auth(a)
            if self.broke.auth
                && !connack_seen
                && !self.auth_awaiting
                && a.reason_code == mqtt_proto::v5::AuthReasonCode::ContinueAuthentication
                && a.properties.authentication_method() == Some("SCRAM-SHA-1"));
        if auth_turn {
            self.auth_awaiting = true;
            return;
        }
        if !connack_seen && !matches!(packet, Packet::ConnAck(_) | Packet::Disconnect(_)) {
            self.broke.connack_not_first = true;
            self.must_end("a packet before CONNACK");
        }
        match packet {
            Packet::ConnAck(c) => {
                if connack_seen {
                    self.broke.duplicate_connack = true;
                    self.must_end("a second CONNACK");
                    return;
                }
                let code = c.reason_code.as_u8();
                let p = &c.properties;
                self.connack = Some(ConnAckView {
                    code,
                    session_present: c.session_present,
                    receive_maximum: p.receive_maximum().unwrap_or(u16::MAX),
                    maximum_packet_size: p.maximum_packet_size(),
                    topic_alias_maximum: p.topic_alias_maximum().unwrap_or(0),
                    maximum_qos: p.maximum_qos().unwrap_or(QoS::ExactlyOnce),
                    retain_available: p.retain_available().unwrap_or(true),
                    wildcard: p.wildcard_subscription_available().unwrap_or(true),
                    subscription_identifiers: p.subscription_identifier_available().unwrap_or(true),
                    shared: p.shared_subscription_available().unwrap_or(true),
                    keep_alive: p.server_keep_alive().unwrap_or(self.keep_alive),
                    session_expiry: p
                        .session_expiry_interval()
                        .unwrap_or(self.connect_session_expiry),
                });
                self.ack(T_CONNACK, 0, vec![code], p, false);
                if c.reason_code.is_error() {
                    self.must_end("a CONNACK refusal");
                } else if c.session_present && self.clean_start {
                    self.broke.session_present_clean = true;
                    self.must_end("session present with Clean Start");
                } else if c.session_present && self.no_session {
                    // The session may hold none: it may close [MQTT-3.2.2-4] (the model does
                    // not know for sure, see `no_session`).
                    self.broke.session_present_without_session = true;
                } else if self.broke.auth {
                    self.must_end("a CONNACK without the Authentication Method asked for");
                }
                self.connack_taken = if self.broke.must_end.is_some() {
                    super::model::Taken::No
                } else if self.broke.session_present_without_session {
                    super::model::Taken::Maybe
                } else {
                    super::model::Taken::Yes
                };
            }
            Packet::Publish(p) => self.fed_publish(p),
            Packet::PubAck(r) => {
                let (id, c) = (r.packet_id.get(), r.reason_code.as_u8());
                if self.unacked.get(&id) == Some(&Flow::AtLeastOnce) {
                    self.unacked.remove(&id);
                }
                self.ack(T_PUBACK, id, vec![c], &r.properties, false);
            }
            Packet::PubRec(r) => {
                let (id, c) = (r.packet_id.get(), r.reason_code.as_u8());
                if c >= 0x80 {
                    if self.unacked.get(&id) == Some(&Flow::ExactlyOnce) {
                        self.unacked.remove(&id);
                    }
                } else {
                    if let Some(f) = self
                        .unacked
                        .get_mut(&id)
                        .filter(|f| **f == Flow::ExactlyOnce)
                    {
                        *f = Flow::Released;
                    }
                    *self.pubrel_credit.entry(id).or_default() += 1;
                }
                self.ack(T_PUBREC, id, vec![c], &r.properties, false);
            }
            Packet::PubComp(r) => {
                let id = r.packet_id.get();
                if self.unacked.get(&id) == Some(&Flow::Released) {
                    self.unacked.remove(&id);
                }
                self.ack(
                    T_PUBCOMP,
                    id,
                    vec![r.reason_code.as_u8()],
                    &r.properties,
                    false,
                );
            }
            Packet::SubAck(s) => {
                self.broke.sub_acks = true;
                let codes = s.reason_codes.as_bytes().to_vec();
                self.ack(T_SUBACK, s.packet_id.get(), codes, &s.properties, false);
            }
            Packet::UnsubAck(u) => {
                self.broke.sub_acks = true;
                let codes = u.reason_codes.as_bytes().to_vec();
                self.ack(T_UNSUBACK, u.packet_id.get(), codes, &u.properties, false);
            }
            Packet::Disconnect(d) => {
                let expiry = d.properties.session_expiry_interval().is_some();
                self.ack(
                    T_DISCONNECT,
                    0,
                    vec![d.reason_code.as_u8()],
                    &d.properties,
                    expiry,
                );
                if expiry {
                    self.broke.session_expiry_in_disconnect = true;
                }
                self.must_end("a DISCONNECT from the broker");
            }
            Packet::PingResp | Packet::PubRel(_) => {}
            Packet::Auth(_) => {
                self.broke.auth = true;
                self.must_end("AUTH without an Authentication Method");
            }
            Packet::Connect(_)
            | Packet::Subscribe(_)
            | Packet::Unsubscribe(_)
            | Packet::PingReq => {
                self.broke.unexpected = true;
                self.must_end("a packet a client never receives");
            }
        }
    }

    fn ack(&mut self, ty: u8, id: u16, codes: Vec<u8>, props: &Properties<'_>, expiry: bool) {
        self.acks.entry((ty, id)).or_default().push_back(FedAck {
            codes,
            has_props: !props.is_empty(),
            session_expiry: expiry,
        });
    }

    /// A PUBLISH fed to the session: the topic the broker meant, and our Receive Maximum.
    fn fed_publish(&mut self, p: &Publish<'_>) {
        let alias = p.properties.topic_alias();
        let topic = match (p.topic, alias) {
            (Some(t), None) => Some(t.as_str().to_owned()),
            (t, Some(a)) if a > self.our_topic_alias_maximum => {
                // [MQTT-3.3.2-11]; the session says 0x94.
                self.broke.alias_invalid.insert(a);
                self.must_end("a Topic Alias above our maximum");
                t.map(|t| t.as_str().to_owned())
            }
            (Some(t), Some(a)) => {
                self.aliases_in.insert(a, t.as_str().to_owned());
                Some(t.as_str().to_owned())
            }
            (None, Some(a)) => match self.aliases_in.get(&a) {
                Some(t) => Some(t.clone()),
                None => {
                    self.broke.alias_unknown.insert(a);
                    self.must_end("a Topic Alias never set");
                    None
                }
            },
            (None, None) => None,
        };
        if let Some(id) = p.qos_pid.packet_id() {
            if p.qos_pid.qos() == QoS::AtLeastOnce {
                *self.broker_unacked_qos1.entry(id.get()).or_insert(0) += 1;
            } else {
                self.broker_unacked_qos2.insert(id.get());
            }
            let unacked =
                self.broker_unacked_qos1.values().sum::<usize>() + self.broker_unacked_qos2.len();
            if unacked > usize::from(self.our_receive_maximum) {
                self.broke.receive_maximum_exceeded = true;
            }
        }
        let topic = if self.broke.must_end.is_some() {
            None
        } else {
            topic
        };
        self.expected.push_back(Expected {
            qos: p.qos_pid.qos(),
            packet_id: p.qos_pid.packet_id().map(PacketId::get),
            dup: p.dup,
            retain: p.retain,
            topic,
            payload: p.payload.to_vec(),
            props: p
                .properties
                .wire_bytes()
                .map(<[u8]>::to_vec)
                .unwrap_or_default(),
            via_alias: p.topic.is_none(),
        });
    }
}

/// The whole length a fixed header at the start of `b` declares (type byte, Remaining Length,
/// body), when the Remaining Length can be read.
fn declared_len(b: &[u8]) -> Option<usize> {
    let mut len = 0usize;
    for i in 0..4 {
        let byte = *b.get(1 + i)?;
        len |= usize::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(1 + i + 1 + len);
        }
    }
    None
}
