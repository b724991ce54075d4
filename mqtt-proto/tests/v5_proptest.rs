//! MQTT 5.0 property tests: arbitrary valid packets of all 15 types, with arbitrary property
//! lists allowed in each, round-trip exactly (encode, then decode whole and split, gives the
//! original, and the decoded packet encodes to the same bytes); arbitrary bytes never make the
//! decoder panic or over-consume.
#![cfg(feature = "v5")]
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use mqtt_proto::v5::{
    Auth, AuthReasonCode, ConnAck, Connect, ConnectReasonCode, Decoder, Disconnect,
    DisconnectReasonCode, Frame, MAX_VARIABLE_BYTE_INTEGER, Packet, Properties, Property,
    PropertyContext, PropertyId, PropertyType, PubAckReasonCode, PubCompReasonCode,
    PubRecReasonCode, PubRelReasonCode, PubResponse, Publish, RetainHandling, SubAck,
    SubAckReasonCode, SubAckReasonCodes, Subscribe, SubscribeFilters, SubscriptionOptions,
    UnsubAck, UnsubAckReasonCode, UnsubAckReasonCodes, Unsubscribe, Will,
};
use mqtt_proto::{PacketId, QoS, QosPid, TopicFilter, TopicFilters, TopicName};

/// The raw material of one property; which property it becomes depends on the packet.
#[derive(Debug, Clone)]
struct PropSpec {
    pick: usize,
    num: u32,
    s1: String,
    s2: String,
    topic: String,
    bin: Vec<u8>,
}

fn text() -> impl Strategy<Value = String> {
    "[^\u{0}]{0,6}"
}

fn topic_name() -> impl Strategy<Value = String> {
    "[a-z0-9/$]{1,10}"
}

fn prop_spec() -> impl Strategy<Value = PropSpec> {
    (
        any::<usize>(),
        any::<u32>(),
        text(),
        text(),
        topic_name(),
        proptest::collection::vec(any::<u8>(), 0..6),
    )
        .prop_map(|(pick, num, s1, s2, topic, bin)| PropSpec {
            pick,
            num,
            s1,
            s2,
            topic,
            bin,
        })
}

fn props_spec() -> impl Strategy<Value = Vec<PropSpec>> {
    proptest::collection::vec(prop_spec(), 0..6)
}

/// The property `s` stands for in `context`: an identifier allowed there, with a valid value.
fn make_property(s: &PropSpec, context: PropertyContext) -> Property<'_> {
    let ids: Vec<PropertyId> = PropertyId::ALL
        .into_iter()
        .filter(|id| id.allowed_in(context))
        .collect();
    let id = ids[s.pick % ids.len()];
    let non_zero16 = (s.num as u16).max(1);
    let flag = s.num % 2 == 1;
    match id {
        PropertyId::PayloadFormatIndicator => Property::PayloadFormatIndicator(flag),
        PropertyId::MessageExpiryInterval => Property::MessageExpiryInterval(s.num),
        PropertyId::ContentType => Property::ContentType(&s.s1),
        PropertyId::ResponseTopic => Property::ResponseTopic(TopicName::new(&s.topic).unwrap()),
        PropertyId::CorrelationData => Property::CorrelationData(&s.bin),
        PropertyId::SubscriptionIdentifier => {
            Property::SubscriptionIdentifier(s.num % MAX_VARIABLE_BYTE_INTEGER + 1)
        }
        PropertyId::SessionExpiryInterval => Property::SessionExpiryInterval(s.num),
        PropertyId::AssignedClientIdentifier => Property::AssignedClientIdentifier(&s.s1),
        PropertyId::ServerKeepAlive => Property::ServerKeepAlive(s.num as u16),
        PropertyId::AuthenticationMethod => Property::AuthenticationMethod(&s.s1),
        PropertyId::AuthenticationData => Property::AuthenticationData(&s.bin),
        PropertyId::RequestProblemInformation => Property::RequestProblemInformation(flag),
        PropertyId::WillDelayInterval => Property::WillDelayInterval(s.num),
        PropertyId::RequestResponseInformation => Property::RequestResponseInformation(flag),
        PropertyId::ResponseInformation => Property::ResponseInformation(&s.s1),
        PropertyId::ServerReference => Property::ServerReference(&s.s1),
        PropertyId::ReasonString => Property::ReasonString(&s.s1),
        PropertyId::ReceiveMaximum => Property::ReceiveMaximum(non_zero16),
        PropertyId::TopicAliasMaximum => Property::TopicAliasMaximum(s.num as u16),
        PropertyId::TopicAlias => Property::TopicAlias(non_zero16),
        PropertyId::MaximumQoS => Property::MaximumQoS(if flag {
            QoS::AtLeastOnce
        } else {
            QoS::AtMostOnce
        }),
        PropertyId::RetainAvailable => Property::RetainAvailable(flag),
        PropertyId::UserProperty => Property::UserProperty(&s.s1, &s.s2),
        PropertyId::MaximumPacketSize => Property::MaximumPacketSize(s.num.max(1)),
        PropertyId::WildcardSubscriptionAvailable => Property::WildcardSubscriptionAvailable(flag),
        PropertyId::SubscriptionIdentifierAvailable => {
            Property::SubscriptionIdentifierAvailable(flag)
        }
        PropertyId::SharedSubscriptionAvailable => Property::SharedSubscriptionAvailable(flag),
    }
}

/// A valid list for `context`: forbidden repeats dropped.
fn make_properties(specs: &[PropSpec], context: PropertyContext) -> Vec<Property<'_>> {
    let mut out: Vec<Property<'_>> = Vec::new();
    for s in specs {
        let p = make_property(s, context);
        if p.id().may_repeat(context) || out.iter().all(|q| q.id() != p.id()) {
            out.push(p);
        }
    }
    out
}

fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![
        Just(QoS::AtMostOnce),
        Just(QoS::AtLeastOnce),
        Just(QoS::ExactlyOnce)
    ]
}

fn packet_id() -> impl Strategy<Value = PacketId> {
    (1u16..).prop_map(|n| PacketId::new(n).unwrap())
}

/// A topic filter: levels of names or `+`, maybe a last `#`, maybe shared.
fn topic_filter() -> impl Strategy<Value = (String, bool)> {
    (
        proptest::collection::vec(prop_oneof!["[a-z]{1,4}", Just("+".to_string())], 1..4),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(levels, hash, shared)| {
            let mut f = levels.join("/");
            if hash {
                f.push_str("/#");
            }
            if shared {
                f = format!("$share/g1/{f}");
            }
            (f, shared)
        })
}

fn options(shared: bool) -> impl Strategy<Value = SubscriptionOptions> {
    (qos(), any::<bool>(), any::<bool>(), 0u8..3).prop_map(move |(qos, nl, rap, rh)| {
        SubscriptionOptions {
            qos,
            no_local: nl && !shared,
            retain_as_published: rap,
            retain_handling: match rh {
                0 => RetainHandling::SendAtSubscribe,
                1 => RetainHandling::SendIfNew,
                _ => RetainHandling::DoNotSend,
            },
        }
    })
}

fn subscription() -> impl Strategy<Value = (String, SubscriptionOptions)> {
    topic_filter().prop_flat_map(|(f, shared)| (Just(f), options(shared)))
}

#[derive(Debug, Clone)]
struct WillSpec {
    props: Vec<PropSpec>,
    topic: String,
    payload: Vec<u8>,
    qos: QoS,
    retain: bool,
}

#[derive(Debug, Clone)]
enum Spec {
    Connect {
        clean_start: bool,
        keep_alive: u16,
        props: Vec<PropSpec>,
        client_id: String,
        will: Option<WillSpec>,
        username: Option<String>,
        password: Option<Vec<u8>>,
    },
    ConnAck(bool, usize, Vec<PropSpec>),
    Publish {
        dup: bool,
        qos: QoS,
        id: PacketId,
        retain: bool,
        topic: Option<String>,
        props: Vec<PropSpec>,
        payload: Vec<u8>,
    },
    /// PUBACK, PUBREC, PUBREL, PUBCOMP by `kind` 0 to 3.
    Response(u8, PacketId, usize, Vec<PropSpec>),
    Subscribe(PacketId, Vec<PropSpec>, Vec<(String, SubscriptionOptions)>),
    SubAck(PacketId, Vec<PropSpec>, Vec<usize>),
    Unsubscribe(PacketId, Vec<PropSpec>, Vec<String>),
    UnsubAck(PacketId, Vec<PropSpec>, Vec<usize>),
    PingReq,
    PingResp,
    Disconnect(usize, Vec<PropSpec>),
    Auth(usize, Vec<PropSpec>),
}

fn will_spec() -> impl Strategy<Value = WillSpec> {
    (
        props_spec(),
        topic_name(),
        proptest::collection::vec(any::<u8>(), 0..8),
        qos(),
        any::<bool>(),
    )
        .prop_map(|(props, topic, payload, qos, retain)| WillSpec {
            props,
            topic,
            payload,
            qos,
            retain,
        })
}

fn spec() -> impl Strategy<Value = Spec> {
    prop_oneof![
        (
            any::<bool>(),
            any::<u16>(),
            props_spec(),
            text(),
            proptest::option::of(will_spec()),
            proptest::option::of(text()),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..6)),
        )
            .prop_map(
                |(clean_start, keep_alive, props, client_id, will, username, password)| {
                    Spec::Connect {
                        clean_start,
                        keep_alive,
                        props,
                        client_id,
                        will,
                        username,
                        password,
                    }
                }
            ),
        (any::<bool>(), any::<usize>(), props_spec())
            .prop_map(|(sp, code, props)| Spec::ConnAck(sp, code, props)),
        (
            any::<bool>(),
            qos(),
            packet_id(),
            any::<bool>(),
            proptest::option::of(topic_name()),
            props_spec(),
            proptest::collection::vec(any::<u8>(), 0..300),
        )
            .prop_map(
                |(dup, qos, id, retain, topic, props, payload)| Spec::Publish {
                    dup,
                    qos,
                    id,
                    retain,
                    topic,
                    props,
                    payload,
                }
            ),
        (0u8..4, packet_id(), any::<usize>(), props_spec())
            .prop_map(|(k, id, code, props)| Spec::Response(k, id, code, props)),
        (
            packet_id(),
            props_spec(),
            proptest::collection::vec(subscription(), 1..4)
        )
            .prop_map(|(id, props, subs)| Spec::Subscribe(id, props, subs)),
        (
            packet_id(),
            props_spec(),
            proptest::collection::vec(any::<usize>(), 1..5)
        )
            .prop_map(|(id, props, codes)| Spec::SubAck(id, props, codes)),
        (
            packet_id(),
            props_spec(),
            proptest::collection::vec(topic_filter().prop_map(|(f, _)| f), 1..4)
        )
            .prop_map(|(id, props, filters)| Spec::Unsubscribe(id, props, filters)),
        (
            packet_id(),
            props_spec(),
            proptest::collection::vec(any::<usize>(), 1..5)
        )
            .prop_map(|(id, props, codes)| Spec::UnsubAck(id, props, codes)),
        Just(Spec::PingReq),
        Just(Spec::PingResp),
        (any::<usize>(), props_spec()).prop_map(|(c, p)| Spec::Disconnect(c, p)),
        (any::<usize>(), props_spec()).prop_map(|(c, p)| Spec::Auth(c, p)),
    ]
}

/// Everything a `Packet` borrows, built from a `Spec`.
struct Built<'a> {
    spec: &'a Spec,
    props: Vec<Property<'a>>,
    will_props: Vec<Property<'a>>,
    subs: Vec<(TopicFilter<'a>, SubscriptionOptions)>,
    filters: Vec<TopicFilter<'a>>,
    codes: Vec<u8>,
}

fn context(spec: &Spec) -> PropertyContext {
    match spec {
        Spec::Connect { .. } => PropertyContext::Connect,
        Spec::ConnAck(..) => PropertyContext::ConnAck,
        Spec::Publish { .. } => PropertyContext::Publish,
        Spec::Response(0, ..) => PropertyContext::PubAck,
        Spec::Response(1, ..) => PropertyContext::PubRec,
        Spec::Response(2, ..) => PropertyContext::PubRel,
        Spec::Response(..) => PropertyContext::PubComp,
        Spec::Subscribe(..) => PropertyContext::Subscribe,
        Spec::SubAck(..) => PropertyContext::SubAck,
        Spec::Unsubscribe(..) => PropertyContext::Unsubscribe,
        Spec::UnsubAck(..) => PropertyContext::UnsubAck,
        Spec::PingReq | Spec::PingResp => PropertyContext::Disconnect,
        Spec::Disconnect(..) => PropertyContext::Disconnect,
        Spec::Auth(..) => PropertyContext::Auth,
    }
}

fn pick<T: Copy>(all: &[T], i: usize) -> T {
    all[i % all.len()]
}

impl<'a> Built<'a> {
    fn new(spec: &'a Spec) -> Self {
        let empty: &'a [PropSpec] = &[];
        let props_of = match spec {
            Spec::Connect { props, .. }
            | Spec::ConnAck(_, _, props)
            | Spec::Publish { props, .. }
            | Spec::Response(_, _, _, props)
            | Spec::Subscribe(_, props, _)
            | Spec::SubAck(_, props, _)
            | Spec::Unsubscribe(_, props, _)
            | Spec::UnsubAck(_, props, _)
            | Spec::Disconnect(_, props)
            | Spec::Auth(_, props) => props.as_slice(),
            Spec::PingReq | Spec::PingResp => empty,
        };
        let mut props = make_properties(props_of, context(spec));
        if let Spec::Publish { topic: None, .. } = spec {
            if !props.iter().any(|p| p.id() == PropertyId::TopicAlias) {
                props.push(Property::TopicAlias(1));
            }
        }
        let will_props = match spec {
            Spec::Connect { will: Some(w), .. } => make_properties(&w.props, PropertyContext::Will),
            _ => Vec::new(),
        };
        let subs = match spec {
            Spec::Subscribe(_, _, s) => s
                .iter()
                .map(|(f, o)| (TopicFilter::new(f).unwrap(), *o))
                .collect(),
            _ => Vec::new(),
        };
        let filters = match spec {
            Spec::Unsubscribe(_, _, f) => f.iter().map(|f| TopicFilter::new(f).unwrap()).collect(),
            _ => Vec::new(),
        };
        let codes = match spec {
            Spec::SubAck(_, _, c) => c
                .iter()
                .map(|&i| pick(SubAckReasonCode::ALL, i).as_u8())
                .collect(),
            Spec::UnsubAck(_, _, c) => c
                .iter()
                .map(|&i| pick(UnsubAckReasonCode::ALL, i).as_u8())
                .collect(),
            _ => Vec::new(),
        };
        Built {
            spec,
            props,
            will_props,
            subs,
            filters,
            codes,
        }
    }

    fn packet(&'a self) -> Packet<'a> {
        let properties = Properties::new(&self.props);
        match self.spec {
            Spec::Connect {
                clean_start,
                keep_alive,
                client_id,
                will,
                username,
                password,
                ..
            } => Packet::Connect(Connect {
                clean_start: *clean_start,
                keep_alive: *keep_alive,
                properties,
                client_id,
                will: will.as_ref().map(|w| Will {
                    properties: Properties::new(&self.will_props),
                    topic: TopicName::new(&w.topic).unwrap(),
                    payload: &w.payload,
                    qos: w.qos,
                    retain: w.retain,
                }),
                username: username.as_deref(),
                password: password.as_deref(),
            }),
            Spec::ConnAck(sp, code, _) => {
                let reason_code = pick(ConnectReasonCode::ALL, *code);
                Packet::ConnAck(ConnAck {
                    session_present: *sp && reason_code == ConnectReasonCode::Success,
                    reason_code,
                    properties,
                })
            }
            Spec::Publish {
                dup,
                qos,
                id,
                retain,
                topic,
                payload,
                ..
            } => Packet::Publish(Publish {
                dup: *dup && *qos != QoS::AtMostOnce,
                qos_pid: QosPid::from_qos(*qos, *id),
                retain: *retain,
                topic: topic.as_deref().map(|t| TopicName::new(t).unwrap()),
                properties,
                payload,
            }),
            Spec::Response(kind, id, code, _) => {
                let packet_id = *id;
                match kind {
                    0 => Packet::PubAck(PubResponse {
                        packet_id,
                        reason_code: pick(PubAckReasonCode::ALL, *code),
                        properties,
                    }),
                    1 => Packet::PubRec(PubResponse {
                        packet_id,
                        reason_code: pick(PubRecReasonCode::ALL, *code),
                        properties,
                    }),
                    2 => Packet::PubRel(PubResponse {
                        packet_id,
                        reason_code: pick(PubRelReasonCode::ALL, *code),
                        properties,
                    }),
                    _ => Packet::PubComp(PubResponse {
                        packet_id,
                        reason_code: pick(PubCompReasonCode::ALL, *code),
                        properties,
                    }),
                }
            }
            Spec::Subscribe(id, ..) => Packet::Subscribe(Subscribe {
                packet_id: *id,
                properties,
                filters: SubscribeFilters::new(&self.subs),
            }),
            Spec::SubAck(id, ..) => Packet::SubAck(SubAck {
                packet_id: *id,
                properties,
                reason_codes: SubAckReasonCodes::new(&self.codes).unwrap(),
            }),
            Spec::Unsubscribe(id, ..) => Packet::Unsubscribe(Unsubscribe {
                packet_id: *id,
                properties,
                filters: TopicFilters::new(&self.filters),
            }),
            Spec::UnsubAck(id, ..) => Packet::UnsubAck(UnsubAck {
                packet_id: *id,
                properties,
                reason_codes: UnsubAckReasonCodes::new(&self.codes).unwrap(),
            }),
            Spec::PingReq => Packet::PingReq,
            Spec::PingResp => Packet::PingResp,
            Spec::Disconnect(code, _) => Packet::Disconnect(Disconnect {
                reason_code: pick(DisconnectReasonCode::ALL, *code),
                properties,
            }),
            Spec::Auth(code, _) => Packet::Auth(Auth {
                reason_code: pick(AuthReasonCode::ALL, *code),
                properties,
            }),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// encode, then decode, gives the original packet; every proper prefix is incomplete;
    /// trailing bytes are left alone; the decoded packet encodes to the same bytes.
    #[test]
    fn round_trip_every_packet_type(spec in spec()) {
        let built = Built::new(&spec);
        let packet = built.packet();
        let len = packet.encoded_len();
        let mut buf = vec![0u8; len + 3];
        prop_assert_eq!(packet.encode(&mut buf), Ok(len));
        buf[len..].copy_from_slice(&[0xD0, 0x00, 0x30]);
        let decoder = Decoder::new();
        prop_assert_eq!(decoder.decode(&buf), Ok(Some((packet, len))));
        prop_assert_eq!(decoder.decode(&buf[..len]), Ok(Some((packet, len))));
        for n in 0..len {
            prop_assert_eq!(decoder.decode(&buf[..n]), Ok(None), "prefix {}", n);
        }
        let (decoded, _) = decoder.decode(&buf).unwrap().unwrap();
        let mut again = vec![0u8; len];
        prop_assert_eq!(decoded.encode(&mut again), Ok(len));
        prop_assert_eq!(&again[..], &buf[..len]);
    }

    /// A property list for any context round-trips on its own, and its getters find what was
    /// put in.
    #[test]
    fn property_lists_round_trip(specs in props_spec(), c in 0usize..14) {
        let context = PropertyContext::ALL[c];
        let list = make_properties(&specs, context);
        let props = Properties::new(&list);
        let len = props.encoded_len();
        let mut buf = vec![0u8; len];
        prop_assert_eq!(props.encode(context, &mut buf), Ok(len));
        // The Property Length is a Variable Byte Integer; the list starts after it.
        let start = len - list.iter().map(Property::encoded_len).sum::<usize>();
        let decoded = Properties::from_wire(&buf[start..], context).unwrap();
        prop_assert_eq!(decoded, props);
        for p in &list {
            prop_assert!(decoded.contains(p.id()));
            if p.id().property_type() == PropertyType::Utf8StringPair {
                prop_assert!(decoded.user_properties().count() >= 1);
            }
        }
    }

    /// Arbitrary bytes: never a panic, never more bytes taken than given, and `frame` agrees
    /// with `decode` on completeness.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let decoder = Decoder::new();
        match decoder.decode(&bytes) {
            Ok(Some((packet, n))) => {
                prop_assert!(n <= bytes.len());
                let complete = matches!(decoder.frame(&bytes), Ok(Frame::Complete(h)) if h.total_len() == n);
                prop_assert!(complete);
                let _ = packet.encoded_len();
            }
            Ok(None) => {
                let incomplete = matches!(decoder.frame(&bytes), Ok(Frame::Incomplete { .. }));
                prop_assert!(incomplete);
            }
            Err(_) => {}
        }
    }

    /// Arbitrary bodies behind a valid fixed header of each type: never a panic.
    #[test]
    fn arbitrary_bodies_never_panic(first in 0u8..16, flags in 0u8..16, body in proptest::collection::vec(any::<u8>(), 0..100)) {
        let mut bytes = vec![first << 4 | flags, body.len() as u8];
        bytes.extend_from_slice(&body);
        if let Ok(Some((packet, n))) = Decoder::new().decode(&bytes) {
            prop_assert_eq!(n, bytes.len());
            let mut out = vec![0u8; packet.encoded_len()];
            prop_assert!(packet.encode(&mut out).is_ok());
        }
    }
}
