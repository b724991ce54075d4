//! The MQTT 5.0 half of the `roundtrip` target: an arbitrary 5.0 packet, properties included,
//! is encoded with `mqtt_proto::v5`, then decoded.
//!
//! Selected by bit 6 of the first input byte (see `roundtrip.rs`); bit 7 is the raw mode, as
//! in 3.1.1, and the low six bits modulo 15 pick the packet type. In the default mode the
//! input is fixed up to a valid packet: properties are drawn from those allowed in the packet
//! (section 2.2.2.2) with no forbidden repeat, values are kept in range (no Topic Alias,
//! Receive Maximum, Maximum Packet Size or Subscription Identifier of 0, a Maximum QoS of 0 or
//! 1), strings have no U+0000, reason codes are ones the packet may carry, subscription
//! options have no reserved bits, a shared subscription is well-formed and without No Local,
//! an empty PUBLISH topic comes with a Topic Alias. In raw mode nothing is fixed: any property
//! anywhere, repeated, with any value; the encoder may refuse (writing nothing), and whatever
//! it accepts must round-trip.
//!
//! Checks: those of the 3.1.1 half (`encoded_len`, nothing written past the packet, too-small
//! buffers refused with the exact size and untouched, decoding alone and with trailing bytes,
//! every proper prefix incomplete, `frame` + `decode_body`, `encode_to_bytes`).

use arbitrary::Unstructured;
use mqtt_proto::TopicName;
use mqtt_proto::v5::{
    Auth, AuthReasonCode, ConnAck, Connect, ConnectReasonCode, Decoder, Disconnect,
    DisconnectReasonCode, Frame, MAX_VARIABLE_BYTE_INTEGER, Packet, Properties, Property,
    PropertyContext, PropertyId, PropertyType, PubAckReasonCode, PubCompReasonCode,
    PubRecReasonCode, PubRelReasonCode, PubResponse, Publish, ReasonCode, ReasonCodes, SubAck,
    SubAckReasonCode, Subscribe, SubscribeFilters, SubscriptionOptions, UnsubAck,
    UnsubAckReasonCode, Unsubscribe, Will, shared_subscription,
};
use mqtt_proto::{DecodeError, EncodeError, PacketId, QoS, QosPid, TopicFilter, TopicFilters};

use crate::input::In;
#[cfg(test)]
use crate::input::Out;
use crate::roundtrip::{fix_string, fix_topic_filter, fix_topic_name, qos};

/// A property value as read from the input; its meaning depends on the identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(u32),
    Str(String),
    Pair(String, String),
    Bin(Vec<u8>),
}

/// One property: an identifier (any of the 27) and its value.
pub type Prop = (PropertyId, Value);

/// A will: its properties, topic, payload, QoS and retain flag.
pub type WillSpec = (Vec<Prop>, String, Vec<u8>, QoS, bool);

/// One 5.0 packet, with owned data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    Connect {
        clean_start: bool,
        keep_alive: u16,
        properties: Vec<Prop>,
        client_id: String,
        will: Option<WillSpec>,
        username: Option<String>,
        password: Option<Vec<u8>>,
    },
    ConnAck {
        session_present: bool,
        code: u8,
        properties: Vec<Prop>,
    },
    Publish {
        dup: bool,
        qos: QoS,
        retain: bool,
        packet_id: u16,
        topic: String,
        properties: Vec<Prop>,
        payload: Vec<u8>,
    },
    /// PUBACK, PUBREC, PUBREL, PUBCOMP (type 3 to 6), DISCONNECT (13) and AUTH (14): an
    /// optional packet id, a reason code, properties.
    Response {
        kind: u8,
        packet_id: u16,
        code: u8,
        properties: Vec<Prop>,
    },
    Subscribe {
        packet_id: u16,
        properties: Vec<Prop>,
        filters: Vec<(String, u8)>,
    },
    /// SUBACK (8) and UNSUBACK (10).
    Acks {
        kind: u8,
        packet_id: u16,
        properties: Vec<Prop>,
        codes: Vec<u8>,
    },
    Unsubscribe {
        packet_id: u16,
        properties: Vec<Prop>,
        filters: Vec<String>,
    },
    PingReq,
    PingResp,
}

fn context_of(kind: u8) -> PropertyContext {
    match kind {
        3 => PropertyContext::PubAck,
        4 => PropertyContext::PubRec,
        5 => PropertyContext::PubRel,
        6 => PropertyContext::PubComp,
        8 => PropertyContext::SubAck,
        10 => PropertyContext::UnsubAck,
        13 => PropertyContext::Disconnect,
        _ => PropertyContext::Auth,
    }
}

/// The first byte from `b` on (wrapping) that `R` accepts: idempotent on valid codes.
fn fix_code<R: ReasonCode>(b: u8) -> u8 {
    (0..=255u8)
        .map(|k| b.wrapping_add(k))
        .find(|&c| R::from_byte(c).is_some())
        .unwrap_or(0)
}

fn fix_code_of(kind: u8, b: u8) -> u8 {
    match kind {
        1 => fix_code::<ConnectReasonCode>(b),
        3 => fix_code::<PubAckReasonCode>(b),
        4 => fix_code::<PubRecReasonCode>(b),
        5 => fix_code::<PubRelReasonCode>(b),
        6 => fix_code::<PubCompReasonCode>(b),
        8 => fix_code::<SubAckReasonCode>(b),
        10 => fix_code::<UnsubAckReasonCode>(b),
        13 => fix_code::<DisconnectReasonCode>(b),
        _ => fix_code::<AuthReasonCode>(b),
    }
}

/// Keep a value in the range its property allows (idempotent).
fn fix_int(id: PropertyId, v: u32) -> u32 {
    match id.property_type() {
        PropertyType::Byte if id == PropertyId::MaximumQoS => v % 2,
        PropertyType::Byte => v & 1,
        PropertyType::TwoByteInteger => match (id, v) {
            (PropertyId::TopicAlias | PropertyId::ReceiveMaximum, 0) => 1,
            _ => v,
        },
        PropertyType::VariableByteInteger => match v {
            0 => 1,
            v if v > MAX_VARIABLE_BYTE_INTEGER => (v % MAX_VARIABLE_BYTE_INTEGER).max(1),
            v => v,
        },
        _ if id == PropertyId::MaximumPacketSize && v == 0 => 1,
        _ => v,
    }
}

fn read_value(r: &mut In<'_, '_>, id: PropertyId, raw: bool) -> Value {
    let s = |r: &mut In<'_, '_>| {
        let s = r.str();
        if raw { s.to_owned() } else { fix_string(s) }
    };
    match id.property_type() {
        PropertyType::Byte => {
            let v = u32::from(r.u8());
            Value::Int(if raw { v } else { fix_int(id, v) })
        }
        PropertyType::TwoByteInteger => {
            let v = u32::from(r.u16());
            Value::Int(if raw { v } else { fix_int(id, v) })
        }
        PropertyType::FourByteInteger | PropertyType::VariableByteInteger => {
            let v = u32::from(r.u16()) << 16 | u32::from(r.u16());
            Value::Int(if raw { v } else { fix_int(id, v) })
        }
        PropertyType::Utf8String if id == PropertyId::ResponseTopic => {
            let t = r.str();
            Value::Str(if raw { t.to_owned() } else { fix_topic_name(t) })
        }
        PropertyType::Utf8String => Value::Str(s(r)),
        PropertyType::Utf8StringPair => {
            let k = s(r);
            Value::Pair(k, s(r))
        }
        PropertyType::BinaryData => Value::Bin(r.bytes().to_vec()),
    }
}

/// Up to 7 properties. Default mode: identifiers allowed in `context`, a forbidden repeat
/// skipped. Raw mode: any identifier.
fn read_props(r: &mut In<'_, '_>, context: PropertyContext, raw: bool) -> Vec<Prop> {
    let allowed: Vec<PropertyId> = PropertyId::ALL
        .into_iter()
        .filter(|id| raw || id.allowed_in(context))
        .collect();
    let n = r.u8() % 8;
    let mut props: Vec<Prop> = Vec::new();
    for _ in 0..n {
        let pick = usize::from(r.u8());
        let Some(&id) = allowed.get(pick % allowed.len().max(1)) else {
            break;
        };
        let value = read_value(r, id, raw);
        if !raw && !id.may_repeat(context) && props.iter().any(|(p, _)| *p == id) {
            continue;
        }
        props.push((id, value));
    }
    props
}

/// A filter that is valid, and a valid shared subscription if it starts with `$share/`.
fn fix_filter(s: &str) -> String {
    let mut f = fix_topic_filter(s);
    while let Ok(tf) = TopicFilter::new(&f) {
        if shared_subscription(tf).is_ok() {
            break;
        }
        f = match f.strip_prefix("$share/") {
            Some("") | None => "t".to_owned(),
            Some(rest) => rest.to_owned(),
        };
    }
    f
}

fn fix_options(filter: &str, b: u8) -> u8 {
    let q = (b & 3) % 3;
    let rh = ((b >> 4) & 3) % 3;
    let mut o = q | (b & 0b1100) | rh << 4;
    let shared = TopicFilter::new(filter)
        .ok()
        .and_then(|f| shared_subscription(f).ok())
        .unwrap_or(false);
    if shared {
        o &= !0b0100;
    }
    o
}

/// Read a 5.0 packet (the tag byte already read).
pub fn read(r: &mut In<'_, '_>, tag: u8) -> Spec {
    let raw = tag & 0x80 != 0;
    let id = |r: &mut In<'_, '_>| match r.u16() {
        0 if !raw => 1,
        n => n,
    };
    let kind = (tag & 0x3F) % 15;
    match kind {
        0 => {
            let flags = r.u8();
            let keep_alive = r.u16();
            let properties = read_props(r, PropertyContext::Connect, raw);
            let client_id = r.str();
            let client_id = if raw {
                client_id.to_owned()
            } else {
                fix_string(client_id)
            };
            let will = if flags & 2 != 0 {
                let props = read_props(r, PropertyContext::Will, raw);
                let topic = r.str();
                let topic = if raw {
                    topic.to_owned()
                } else {
                    fix_topic_name(topic)
                };
                let payload = r.bytes().to_vec();
                Some((props, topic, payload, qos(flags >> 5), flags & 16 != 0))
            } else {
                None
            };
            let username = (flags & 4 != 0).then(|| {
                let u = r.str();
                if raw { u.to_owned() } else { fix_string(u) }
            });
            let password = (flags & 8 != 0).then(|| r.bytes().to_vec());
            Spec::Connect {
                clean_start: flags & 1 != 0,
                keep_alive,
                properties,
                client_id,
                will,
                username,
                password,
            }
        }
        1 => {
            let flags = r.u8();
            let code = r.u8();
            let code = if raw { code } else { fix_code_of(1, code) };
            Spec::ConnAck {
                session_present: flags & 1 != 0 && (raw || code == 0),
                code,
                properties: read_props(r, PropertyContext::ConnAck, raw),
            }
        }
        2 => {
            let flags = r.u8();
            let qos = qos(flags >> 2);
            let packet_id = if qos == QoS::AtMostOnce { 0 } else { id(r) };
            let properties = read_props(r, PropertyContext::Publish, raw);
            let topic = r.str();
            let alias = properties.iter().any(|(p, _)| *p == PropertyId::TopicAlias);
            let topic = if raw || (topic.is_empty() && alias) {
                topic.to_owned()
            } else {
                fix_topic_name(topic)
            };
            Spec::Publish {
                dup: flags & 1 != 0 && (raw || qos != QoS::AtMostOnce),
                qos,
                retain: flags & 2 != 0,
                packet_id,
                topic,
                properties,
                payload: r.bytes().to_vec(),
            }
        }
        3..=6 | 13 | 14 => {
            let packet_id = if kind <= 6 { id(r) } else { 0 };
            let code = r.u8();
            let code = if raw { code } else { fix_code_of(kind, code) };
            Spec::Response {
                kind,
                packet_id,
                code,
                properties: read_props(r, context_of(kind), raw),
            }
        }
        7 => {
            let packet_id = id(r);
            let properties = read_props(r, PropertyContext::Subscribe, raw);
            let n = usize::from(r.u8() % 16);
            let n = if raw { n } else { n.max(1) };
            let filters = (0..n)
                .map(|_| {
                    let f = r.str();
                    let o = r.u8();
                    if raw {
                        (f.to_owned(), o)
                    } else {
                        let f = fix_filter(f);
                        let o = fix_options(&f, o);
                        (f, o)
                    }
                })
                .collect();
            Spec::Subscribe {
                packet_id,
                properties,
                filters,
            }
        }
        8 | 10 => {
            let packet_id = id(r);
            let properties = read_props(r, context_of(kind), raw);
            let mut codes = r.bytes().to_vec();
            if !raw {
                for c in &mut codes {
                    *c = fix_code_of(kind, *c);
                }
                if codes.is_empty() {
                    codes.push(0x80);
                }
            }
            Spec::Acks {
                kind,
                packet_id,
                properties,
                codes,
            }
        }
        9 => {
            let packet_id = id(r);
            let properties = read_props(r, PropertyContext::Unsubscribe, raw);
            let n = usize::from(r.u8() % 16);
            let n = if raw { n } else { n.max(1) };
            let filters = (0..n)
                .map(|_| {
                    let f = r.str();
                    if raw {
                        f.to_owned()
                    } else {
                        fix_topic_filter(f)
                    }
                })
                .collect();
            Spec::Unsubscribe {
                packet_id,
                properties,
                filters,
            }
        }
        11 => Spec::PingReq,
        _ => Spec::PingResp,
    }
}

/// The property values; `None` when one is not expressible (an invalid Response Topic).
fn build_props(props: &[Prop]) -> Option<Vec<Property<'_>>> {
    props
        .iter()
        .map(|(id, v)| {
            let bool_of = |v: &u32| *v & 1 != 0;
            Some(match (id, v) {
                (PropertyId::PayloadFormatIndicator, Value::Int(v)) => {
                    Property::PayloadFormatIndicator(bool_of(v))
                }
                (PropertyId::MessageExpiryInterval, Value::Int(v)) => {
                    Property::MessageExpiryInterval(*v)
                }
                (PropertyId::ContentType, Value::Str(s)) => Property::ContentType(s),
                (PropertyId::ResponseTopic, Value::Str(s)) => {
                    Property::ResponseTopic(TopicName::new(s).ok()?)
                }
                (PropertyId::CorrelationData, Value::Bin(b)) => Property::CorrelationData(b),
                (PropertyId::SubscriptionIdentifier, Value::Int(v)) => {
                    Property::SubscriptionIdentifier(*v)
                }
                (PropertyId::SessionExpiryInterval, Value::Int(v)) => {
                    Property::SessionExpiryInterval(*v)
                }
                (PropertyId::AssignedClientIdentifier, Value::Str(s)) => {
                    Property::AssignedClientIdentifier(s)
                }
                (PropertyId::ServerKeepAlive, Value::Int(v)) => {
                    Property::ServerKeepAlive(*v as u16)
                }
                (PropertyId::AuthenticationMethod, Value::Str(s)) => {
                    Property::AuthenticationMethod(s)
                }
                (PropertyId::AuthenticationData, Value::Bin(b)) => Property::AuthenticationData(b),
                (PropertyId::RequestProblemInformation, Value::Int(v)) => {
                    Property::RequestProblemInformation(bool_of(v))
                }
                (PropertyId::WillDelayInterval, Value::Int(v)) => Property::WillDelayInterval(*v),
                (PropertyId::RequestResponseInformation, Value::Int(v)) => {
                    Property::RequestResponseInformation(bool_of(v))
                }
                (PropertyId::ResponseInformation, Value::Str(s)) => {
                    Property::ResponseInformation(s)
                }
                (PropertyId::ServerReference, Value::Str(s)) => Property::ServerReference(s),
                (PropertyId::ReasonString, Value::Str(s)) => Property::ReasonString(s),
                (PropertyId::ReceiveMaximum, Value::Int(v)) => Property::ReceiveMaximum(*v as u16),
                (PropertyId::TopicAliasMaximum, Value::Int(v)) => {
                    Property::TopicAliasMaximum(*v as u16)
                }
                (PropertyId::TopicAlias, Value::Int(v)) => Property::TopicAlias(*v as u16),
                (PropertyId::MaximumQoS, Value::Int(v)) => Property::MaximumQoS(qos(*v as u8)),
                (PropertyId::RetainAvailable, Value::Int(v)) => {
                    Property::RetainAvailable(bool_of(v))
                }
                (PropertyId::UserProperty, Value::Pair(k, v)) => Property::UserProperty(k, v),
                (PropertyId::MaximumPacketSize, Value::Int(v)) => Property::MaximumPacketSize(*v),
                (PropertyId::WildcardSubscriptionAvailable, Value::Int(v)) => {
                    Property::WildcardSubscriptionAvailable(bool_of(v))
                }
                (PropertyId::SubscriptionIdentifierAvailable, Value::Int(v)) => {
                    Property::SubscriptionIdentifierAvailable(bool_of(v))
                }
                (PropertyId::SharedSubscriptionAvailable, Value::Int(v)) => {
                    Property::SharedSubscriptionAvailable(bool_of(v))
                }
                _ => return None,
            })
        })
        .collect()
}

fn response<'a, R: ReasonCode>(
    id: u16,
    code: u8,
    properties: Properties<'a>,
) -> Option<PubResponse<'a, R>> {
    Some(PubResponse {
        packet_id: PacketId::new(id)?,
        reason_code: R::from_byte(code)?,
        properties,
    })
}

/// Build the packet and run `check` on it; `None` when the raw input names a value the types
/// refuse (a zero packet id, an invalid topic or filter, a code the packet cannot carry).
pub fn with_packet(spec: &Spec, check: impl FnOnce(&Packet<'_>)) -> Option<()> {
    let pid = PacketId::new;
    match spec {
        Spec::Connect {
            clean_start,
            keep_alive,
            properties,
            client_id,
            will,
            username,
            password,
        } => {
            let props = build_props(properties)?;
            let will_props;
            let will = match will {
                Some((wp, t, p, q, r)) => {
                    will_props = build_props(wp)?;
                    Some(Will {
                        properties: Properties::new(&will_props),
                        topic: TopicName::new(t).ok()?,
                        payload: p,
                        qos: *q,
                        retain: *r,
                    })
                }
                None => None,
            };
            check(&Packet::Connect(Connect {
                clean_start: *clean_start,
                keep_alive: *keep_alive,
                properties: Properties::new(&props),
                client_id,
                will,
                username: username.as_deref(),
                password: password.as_deref(),
            }));
        }
        Spec::ConnAck {
            session_present,
            code,
            properties,
        } => {
            let props = build_props(properties)?;
            check(&Packet::ConnAck(ConnAck {
                session_present: *session_present,
                reason_code: ConnectReasonCode::from_u8(*code).ok()?,
                properties: Properties::new(&props),
            }));
        }
        Spec::Publish {
            dup,
            qos,
            retain,
            packet_id,
            topic,
            properties,
            payload,
        } => {
            let props = build_props(properties)?;
            let qos_pid = match qos {
                QoS::AtMostOnce => QosPid::AtMostOnce,
                QoS::AtLeastOnce => QosPid::AtLeastOnce(pid(*packet_id)?),
                QoS::ExactlyOnce => QosPid::ExactlyOnce(pid(*packet_id)?),
            };
            let topic = if topic.is_empty() {
                None
            } else {
                Some(TopicName::new(topic).ok()?)
            };
            check(&Packet::Publish(Publish {
                dup: *dup,
                qos_pid,
                retain: *retain,
                topic,
                properties: Properties::new(&props),
                payload,
            }));
        }
        Spec::Response {
            kind,
            packet_id,
            code,
            properties,
        } => {
            let props = build_props(properties)?;
            let p = Properties::new(&props);
            let packet = match kind {
                3 => Packet::PubAck(response(*packet_id, *code, p)?),
                4 => Packet::PubRec(response(*packet_id, *code, p)?),
                5 => Packet::PubRel(response(*packet_id, *code, p)?),
                6 => Packet::PubComp(response(*packet_id, *code, p)?),
                13 => Packet::Disconnect(Disconnect {
                    reason_code: DisconnectReasonCode::from_u8(*code).ok()?,
                    properties: p,
                }),
                _ => Packet::Auth(Auth {
                    reason_code: AuthReasonCode::from_u8(*code).ok()?,
                    properties: p,
                }),
            };
            check(&packet);
        }
        Spec::Subscribe {
            packet_id,
            properties,
            filters,
        } => {
            let props = build_props(properties)?;
            let list = filters
                .iter()
                .map(|(f, o)| {
                    Some((
                        TopicFilter::new(f).ok()?,
                        SubscriptionOptions::from_u8(*o).ok()?,
                    ))
                })
                .collect::<Option<Vec<_>>>()?;
            check(&Packet::Subscribe(Subscribe {
                packet_id: pid(*packet_id)?,
                properties: Properties::new(&props),
                filters: SubscribeFilters::new(&list),
            }));
        }
        Spec::Acks {
            kind,
            packet_id,
            properties,
            codes,
        } => {
            let props = build_props(properties)?;
            let properties = Properties::new(&props);
            let packet_id = pid(*packet_id)?;
            let packet = if *kind == 8 {
                Packet::SubAck(SubAck {
                    packet_id,
                    properties,
                    reason_codes: ReasonCodes::new(codes).ok()?,
                })
            } else {
                Packet::UnsubAck(UnsubAck {
                    packet_id,
                    properties,
                    reason_codes: ReasonCodes::new(codes).ok()?,
                })
            };
            check(&packet);
        }
        Spec::Unsubscribe {
            packet_id,
            properties,
            filters,
        } => {
            let props = build_props(properties)?;
            let list = filters
                .iter()
                .map(|f| TopicFilter::new(f).ok())
                .collect::<Option<Vec<_>>>()?;
            check(&Packet::Unsubscribe(Unsubscribe {
                packet_id: pid(*packet_id)?,
                properties: Properties::new(&props),
                filters: TopicFilters::new(&list),
            }));
        }
        Spec::PingReq => check(&Packet::PingReq),
        Spec::PingResp => check(&Packet::PingResp),
    }
    Some(())
}

const SENTINEL: u8 = 0xA5;

/// The checks on one packet (see the module docs).
pub fn check_packet(packet: &Packet<'_>, raw: bool) {
    let len = packet.encoded_len();
    let mut buf = vec![SENTINEL; len + 16];
    let n = match packet.encode(&mut buf) {
        Ok(n) => n,
        Err(EncodeError::Invalid(e)) if raw => {
            assert!(buf.iter().all(|&b| b == SENTINEL), "a refused encode wrote");
            check_refused(packet, e);
            return;
        }
        Err(e) => panic!("a valid packet does not encode: {packet:?}: {e:?}"),
    };
    assert_eq!(n, len, "encoded_len of {packet:?}");
    assert!(
        buf.get(n..)
            .unwrap_or_default()
            .iter()
            .all(|&b| b == SENTINEL),
        "encode wrote past the packet"
    );
    let bytes = buf.get(..n).unwrap_or_default().to_vec();
    assert_eq!(
        packet.packet_type() as u8,
        bytes.first().map_or(0, |b| b >> 4)
    );

    for short in [0, 1, n / 2, n - 1] {
        if short >= n {
            continue;
        }
        let mut small = vec![SENTINEL; short];
        assert_eq!(
            packet.encode(&mut small),
            Err(EncodeError::BufferTooSmall { required: n })
        );
        assert!(small.iter().all(|&b| b == SENTINEL));
    }

    let decoder = Decoder::new();
    assert_eq!(
        decoder.decode(&bytes),
        Ok(Some((*packet, n))),
        "{bytes:02X?}"
    );
    let mut more = bytes.clone();
    more.extend_from_slice(&[0xD0, 0x00, 0x30]);
    assert_eq!(decoder.decode(&more), Ok(Some((*packet, n))));
    match decoder.frame(&bytes) {
        Ok(Frame::Complete(h)) => {
            assert_eq!(h.total_len(), n);
            let body = bytes.get(h.header_len..).unwrap_or_default();
            assert_eq!(decoder.decode_body(&h, body), Ok(*packet));
        }
        other => panic!("frame of an encoded packet: {other:?}"),
    }
    assert_eq!(
        Packet::decode(&bytes).map(|p| p.map(|(p, _)| p.packet_id())),
        Ok(Some(packet.packet_id()))
    );

    let step = (n / 64).max(1);
    for k in (0..n).step_by(step).chain([n - 1]) {
        let prefix = bytes.get(..k).unwrap_or_default();
        assert_eq!(
            decoder.decode(prefix),
            Ok(None),
            "prefix of {k} of {n} bytes"
        );
        assert!(matches!(
            decoder.frame(prefix),
            Ok(Frame::Incomplete { .. })
        ));
    }

    let mut out = bytes::BytesMut::from(&b"xy"[..]);
    assert_eq!(packet.encode_to_bytes(&mut out), Ok(n));
    assert_eq!(out.get(2..), Some(&bytes[..]));
}

fn check_refused(packet: &Packet<'_>, e: DecodeError) {
    let mut out = bytes::BytesMut::from(&b"xy"[..]);
    assert_eq!(
        packet.encode_to_bytes(&mut out),
        Err(EncodeError::Invalid(e))
    );
    assert_eq!(
        &out[..],
        b"xy",
        "a refused encode_to_bytes changed the buffer"
    );
}

/// Run the 5.0 half on the input after its tag byte.
pub fn roundtrip_v5(u: &mut Unstructured<'_>, tag: u8) {
    let mut r = In::new(u);
    let spec = read(&mut r, tag);
    let raw = tag & 0x80 != 0;
    let built = with_packet(&spec, |p| check_packet(p, raw));
    assert!(
        raw || built.is_some(),
        "a fixed-up 5.0 spec is not a packet: {spec:?}"
    );
}

// ---- seeds ----------------------------------------------------------------------------------

/// The byte form of a default-mode spec, as [`read`] reads it (tag byte included).
#[cfg(test)]
pub(crate) fn write(spec: &Spec) -> Vec<u8> {
    fn props(o: &mut Out, props: &[Prop], context: PropertyContext) {
        let allowed: Vec<PropertyId> = PropertyId::ALL
            .into_iter()
            .filter(|id| id.allowed_in(context))
            .collect();
        o.u8(props.len() as u8);
        for (id, v) in props {
            let pick = allowed.iter().position(|a| a == id).unwrap_or(0);
            o.u8(pick as u8);
            match v {
                Value::Int(v) => match id.property_type() {
                    PropertyType::Byte => {
                        o.u8(*v as u8);
                    }
                    PropertyType::TwoByteInteger => {
                        o.u16(*v as u16);
                    }
                    _ => {
                        o.u16((*v >> 16) as u16).u16(*v as u16);
                    }
                },
                Value::Str(s) => {
                    o.str(s);
                }
                Value::Pair(k, v) => {
                    o.str(k).str(v);
                }
                Value::Bin(b) => {
                    o.bytes(b);
                }
            }
        }
    }
    let mut o = Out::default();
    let tag = |kind: u8| 0x40 | kind;
    match spec {
        Spec::Connect {
            clean_start,
            keep_alive,
            properties,
            client_id,
            will,
            username,
            password,
        } => {
            let will_flags = will.as_ref().map_or(0, |(_, _, _, q, r)| {
                2 | if *r { 16 } else { 0 } | (q.as_u8() << 5)
            });
            let flags = u8::from(*clean_start)
                | will_flags
                | if username.is_some() { 4 } else { 0 }
                | if password.is_some() { 8 } else { 0 };
            o.u8(tag(0)).u8(flags).u16(*keep_alive);
            props(&mut o, properties, PropertyContext::Connect);
            o.str(client_id);
            if let Some((wp, t, p, _, _)) = will {
                props(&mut o, wp, PropertyContext::Will);
                o.str(t).bytes(p);
            }
            if let Some(u) = username {
                o.str(u);
            }
            if let Some(p) = password {
                o.bytes(p);
            }
        }
        Spec::ConnAck {
            session_present,
            code,
            properties,
        } => {
            o.u8(tag(1)).bool(*session_present).u8(*code);
            props(&mut o, properties, PropertyContext::ConnAck);
        }
        Spec::Publish {
            dup,
            qos,
            retain,
            packet_id,
            topic,
            properties,
            payload,
        } => {
            let flags = u8::from(*dup) | if *retain { 2 } else { 0 } | (qos.as_u8() << 2);
            o.u8(tag(2)).u8(flags);
            if *qos != QoS::AtMostOnce {
                o.u16(*packet_id);
            }
            props(&mut o, properties, PropertyContext::Publish);
            o.str(topic).bytes(payload);
        }
        Spec::Response {
            kind,
            packet_id,
            code,
            properties,
        } => {
            o.u8(tag(*kind));
            if *kind <= 6 {
                o.u16(*packet_id);
            }
            o.u8(*code);
            props(&mut o, properties, context_of(*kind));
        }
        Spec::Subscribe {
            packet_id,
            properties,
            filters,
        } => {
            o.u8(tag(7)).u16(*packet_id);
            props(&mut o, properties, PropertyContext::Subscribe);
            o.u8(filters.len() as u8);
            for (f, opt) in filters {
                o.str(f).u8(*opt);
            }
        }
        Spec::Acks {
            kind,
            packet_id,
            properties,
            codes,
        } => {
            o.u8(tag(*kind)).u16(*packet_id);
            props(&mut o, properties, context_of(*kind));
            o.bytes(codes);
        }
        Spec::Unsubscribe {
            packet_id,
            properties,
            filters,
        } => {
            o.u8(tag(9)).u16(*packet_id);
            props(&mut o, properties, PropertyContext::Unsubscribe);
            o.u8(filters.len() as u8);
            for f in filters {
                o.str(f);
            }
        }
        Spec::PingReq => {
            o.u8(tag(11));
        }
        Spec::PingResp => {
            o.u8(tag(12));
        }
    }
    o.0
}

/// A few valid 5.0 packets with properties: the seeds of both targets.
#[cfg(test)]
pub(crate) fn samples() -> Vec<(&'static str, Spec)> {
    use PropertyId as P;
    let s = |s: &str| s.to_owned();
    let user = |k: &str, v: &str| (P::UserProperty, Value::Pair(s(k), s(v)));
    vec![
        (
            "connect-properties-will",
            Spec::Connect {
                clean_start: true,
                keep_alive: 60,
                properties: vec![
                    (P::SessionExpiryInterval, Value::Int(3600)),
                    (P::ReceiveMaximum, Value::Int(20)),
                    (P::MaximumPacketSize, Value::Int(65_536)),
                    (P::TopicAliasMaximum, Value::Int(10)),
                    (P::RequestProblemInformation, Value::Int(1)),
                    user("app", "demo"),
                ],
                client_id: s("client-5"),
                will: Some((
                    vec![
                        (P::WillDelayInterval, Value::Int(30)),
                        (P::PayloadFormatIndicator, Value::Int(1)),
                        (P::ContentType, Value::Str(s("text/plain"))),
                    ],
                    s("status/client-5"),
                    b"gone".to_vec(),
                    QoS::AtLeastOnce,
                    true,
                )),
                username: Some(s("user")),
                password: Some(b"secret".to_vec()),
            },
        ),
        (
            "connack-properties",
            Spec::ConnAck {
                session_present: false,
                code: 0x00,
                properties: vec![
                    (P::AssignedClientIdentifier, Value::Str(s("auto-1"))),
                    (P::ServerKeepAlive, Value::Int(30)),
                    (P::MaximumQoS, Value::Int(1)),
                    (P::RetainAvailable, Value::Int(0)),
                    (P::TopicAliasMaximum, Value::Int(5)),
                    (P::SharedSubscriptionAvailable, Value::Int(1)),
                ],
            },
        ),
        (
            "publish-qos1-properties",
            Spec::Publish {
                dup: false,
                qos: QoS::AtLeastOnce,
                retain: false,
                packet_id: 7,
                topic: s("sensors/1/temperature"),
                properties: vec![
                    (P::MessageExpiryInterval, Value::Int(60)),
                    (P::ContentType, Value::Str(s("application/json"))),
                    user("unit", "celsius"),
                    (P::ResponseTopic, Value::Str(s("replies/1"))),
                    (P::CorrelationData, Value::Bin(vec![1, 2, 3, 4])),
                ],
                payload: br#"{"t":21.5}"#.to_vec(),
            },
        ),
        (
            "publish-topic-alias-empty-topic",
            Spec::Publish {
                dup: true,
                qos: QoS::ExactlyOnce,
                retain: true,
                packet_id: 0xFFFF,
                topic: String::new(),
                properties: vec![
                    (P::TopicAlias, Value::Int(3)),
                    (P::SubscriptionIdentifier, Value::Int(1)),
                    (P::SubscriptionIdentifier, Value::Int(268_435_455)),
                ],
                payload: vec![0; 3],
            },
        ),
        (
            "puback-reason-string",
            Spec::Response {
                kind: 3,
                packet_id: 7,
                code: 0x10,
                properties: vec![(P::ReasonString, Value::Str(s("no subscribers")))],
            },
        ),
        (
            "pubrec-error-no-properties",
            Spec::Response {
                kind: 4,
                packet_id: 8,
                code: 0x80,
                properties: vec![],
            },
        ),
        (
            "pubrel-success",
            Spec::Response {
                kind: 5,
                packet_id: 8,
                code: 0x00,
                properties: vec![],
            },
        ),
        (
            "subscribe-options-shared",
            Spec::Subscribe {
                packet_id: 2,
                properties: vec![(P::SubscriptionIdentifier, Value::Int(42))],
                filters: vec![
                    (s("sensors/+/temperature"), 0x01 | 0x04 | 0x08 | 0x20),
                    (s("$share/group/jobs/#"), 0x02 | 0x10),
                ],
            },
        ),
        (
            "suback-codes",
            Spec::Acks {
                kind: 8,
                packet_id: 2,
                properties: vec![user("k", "v")],
                codes: vec![0x01, 0x02, 0x9E],
            },
        ),
        (
            "unsubscribe",
            Spec::Unsubscribe {
                packet_id: 3,
                properties: vec![user("why", "done")],
                filters: vec![s("sensors/+/temperature"), s("$share/group/jobs/#")],
            },
        ),
        (
            "unsuback-codes",
            Spec::Acks {
                kind: 10,
                packet_id: 3,
                properties: vec![],
                codes: vec![0x00, 0x11],
            },
        ),
        (
            "disconnect-server-reference",
            Spec::Response {
                kind: 13,
                packet_id: 0,
                code: 0x9C,
                properties: vec![
                    (P::ServerReference, Value::Str(s("other.example"))),
                    (P::SessionExpiryInterval, Value::Int(0)),
                ],
            },
        ),
        (
            "auth-continue",
            Spec::Response {
                kind: 14,
                packet_id: 0,
                code: 0x18,
                properties: vec![
                    (P::AuthenticationMethod, Value::Str(s("SCRAM-SHA-1"))),
                    (P::AuthenticationData, Value::Bin(b"client-first".to_vec())),
                ],
            },
        ),
        ("pingreq", Spec::PingReq),
        ("pingresp", Spec::PingResp),
    ]
}

/// The encoded bytes of a sample.
#[cfg(test)]
pub(crate) fn encode(spec: &Spec) -> Vec<u8> {
    let mut out = None;
    with_packet(spec, |p| {
        let mut buf = vec![0u8; p.encoded_len()];
        let n = p.encode(&mut buf).expect("a sample encodes");
        buf.truncate(n);
        out = Some(buf);
    });
    out.expect("a sample is a packet")
}
