//! Property tests: arbitrary valid packets of all 14 types round-trip exactly, whole and split;
//! arbitrary bytes never make the decoder panic or over-consume.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use mqtt_proto::{
    ConnAck, Connect, ConnectReturnCode, DecodeError, Decoder, EncodeError, Frame, Packet,
    PacketId, Publish, QoS, QosPid, SubAck, SubAckCodes, Subscribe, SubscribeFilters, TopicFilter,
    TopicFilters, TopicName, Unsubscribe, Will,
};

// ---------------------------------------------------------------------------------------------
// Strategies: owned descriptions of valid packets (a `Packet` borrows, so it is built from one
// of these inside each test).
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct WillSpec {
    topic: String,
    payload: Vec<u8>,
    qos: QoS,
    retain: bool,
}

#[derive(Debug, Clone)]
enum Spec {
    Connect {
        clean_session: bool,
        keep_alive: u16,
        client_id: String,
        will: Option<WillSpec>,
        username: Option<String>,
        password: Option<Vec<u8>>,
    },
    ConnAck(bool, ConnectReturnCode),
    Publish {
        dup: bool,
        qos_pid: QosPid,
        retain: bool,
        topic: String,
        payload: Vec<u8>,
    },
    PubAck(PacketId),
    PubRec(PacketId),
    PubRel(PacketId),
    PubComp(PacketId),
    Subscribe(PacketId, Vec<(String, QoS)>),
    SubAck(PacketId, Vec<u8>),
    Unsubscribe(PacketId, Vec<String>),
    UnsubAck(PacketId),
    PingReq,
    PingResp,
    Disconnect,
}

/// Owned filters and codes, validated, so that a `Packet` can borrow them.
struct Built<'a> {
    spec: &'a Spec,
    sub_filters: Vec<(TopicFilter<'a>, QoS)>,
    unsub_filters: Vec<TopicFilter<'a>>,
}

impl<'a> Built<'a> {
    fn new(spec: &'a Spec) -> Self {
        let sub_filters = match spec {
            Spec::Subscribe(_, f) => f
                .iter()
                .map(|(s, q)| (TopicFilter::new(s).unwrap(), *q))
                .collect(),
            _ => Vec::new(),
        };
        let unsub_filters = match spec {
            Spec::Unsubscribe(_, f) => f.iter().map(|s| TopicFilter::new(s).unwrap()).collect(),
            _ => Vec::new(),
        };
        Built {
            spec,
            sub_filters,
            unsub_filters,
        }
    }

    fn packet(&self) -> Packet<'_> {
        match self.spec {
            Spec::Connect {
                clean_session,
                keep_alive,
                client_id,
                will,
                username,
                password,
            } => Packet::Connect(Connect {
                clean_session: *clean_session,
                keep_alive: *keep_alive,
                client_id,
                will: will.as_ref().map(|w| Will {
                    topic: TopicName::new(&w.topic).unwrap(),
                    payload: &w.payload,
                    qos: w.qos,
                    retain: w.retain,
                }),
                username: username.as_deref(),
                password: password.as_deref(),
            }),
            Spec::ConnAck(session_present, code) => Packet::ConnAck(ConnAck {
                session_present: *session_present,
                code: *code,
            }),
            Spec::Publish {
                dup,
                qos_pid,
                retain,
                topic,
                payload,
            } => Packet::Publish(Publish {
                dup: *dup,
                qos_pid: *qos_pid,
                retain: *retain,
                topic: TopicName::new(topic).unwrap(),
                payload,
            }),
            Spec::PubAck(id) => Packet::PubAck(*id),
            Spec::PubRec(id) => Packet::PubRec(*id),
            Spec::PubRel(id) => Packet::PubRel(*id),
            Spec::PubComp(id) => Packet::PubComp(*id),
            Spec::Subscribe(id, _) => Packet::Subscribe(Subscribe {
                packet_id: *id,
                filters: SubscribeFilters::new(&self.sub_filters),
            }),
            Spec::SubAck(id, codes) => Packet::SubAck(SubAck {
                packet_id: *id,
                codes: SubAckCodes::new(codes).unwrap(),
            }),
            Spec::Unsubscribe(id, _) => Packet::Unsubscribe(Unsubscribe {
                packet_id: *id,
                filters: TopicFilters::new(&self.unsub_filters),
            }),
            Spec::UnsubAck(id) => Packet::UnsubAck(*id),
            Spec::PingReq => Packet::PingReq,
            Spec::PingResp => Packet::PingResp,
            Spec::Disconnect => Packet::Disconnect,
        }
    }
}

fn packet_id() -> impl Strategy<Value = PacketId> {
    (1..=u16::MAX).prop_map(|n| PacketId::new(n).unwrap())
}

fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![
        Just(QoS::AtMostOnce),
        Just(QoS::AtLeastOnce),
        Just(QoS::ExactlyOnce)
    ]
}

/// A character of a UTF-8 string: anything but U+0000 (surrogates cannot be a `char`).
fn string_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('a', 'z'),
        1 => any::<char>().prop_filter("no U+0000", |&c| c != '\0'),
        1 => prop_oneof![Just('/'), Just('$'), Just(' '), Just('\u{FEFF}'), Just('é'), Just('😀')],
    ]
}

/// A UTF-8 string without U+0000.
fn mqtt_string(max_chars: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(string_char(), 0..=max_chars).prop_map(|v| v.into_iter().collect())
}

/// A character allowed in a topic level: no U+0000, no `/`, no wildcard.
fn level_char() -> impl Strategy<Value = char> {
    string_char().prop_filter("no separator or wildcard", |&c| {
        !matches!(c, '/' | '+' | '#')
    })
}

fn level() -> impl Strategy<Value = String> {
    proptest::collection::vec(level_char(), 0..8).prop_map(|v| v.into_iter().collect())
}

/// A valid topic name: one or more levels (possibly empty ones), at least one character.
fn topic_name() -> impl Strategy<Value = String> {
    proptest::collection::vec(level(), 1..5)
        .prop_map(|levels| levels.join("/"))
        .prop_map(|s| if s.is_empty() { "/".to_owned() } else { s })
}

/// A valid topic filter: levels that are `+` or wildcard-free text, optionally a last `#`.
fn topic_filter() -> impl Strategy<Value = String> {
    let filter_level = prop_oneof![3 => level(), 1 => Just("+".to_owned())];
    (proptest::collection::vec(filter_level, 0..5), any::<bool>()).prop_map(|(mut levels, hash)| {
        if hash || levels.is_empty() {
            levels.push("#".to_owned());
        }
        let s = levels.join("/");
        if s.is_empty() { "/".to_owned() } else { s }
    })
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => proptest::collection::vec(any::<u8>(), 0..64),
        1 => proptest::collection::vec(any::<u8>(), 0..4096),
    ]
}

fn connect_spec() -> impl Strategy<Value = Spec> {
    let will = proptest::option::of((topic_name(), payload(), qos(), any::<bool>()).prop_map(
        |(topic, payload, qos, retain)| WillSpec {
            topic,
            payload,
            qos,
            retain,
        },
    ));
    let credentials = proptest::option::of((
        mqtt_string(16),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..32)),
    ));
    (
        any::<bool>(),
        any::<u16>(),
        mqtt_string(23),
        will,
        credentials,
    )
        .prop_map(|(clean, keep_alive, client_id, will, credentials)| {
            // A zero-byte client id goes with clean session [MQTT-3.1.3-7].
            let clean_session = clean || client_id.is_empty();
            let (username, password) = match credentials {
                Some((u, p)) => (Some(u), p),
                None => (None, None),
            };
            Spec::Connect {
                clean_session,
                keep_alive,
                client_id,
                will,
                username,
                password,
            }
        })
}

fn connack_spec() -> impl Strategy<Value = Spec> {
    prop_oneof![
        any::<bool>().prop_map(|sp| Spec::ConnAck(sp, ConnectReturnCode::Accepted)),
        (1u8..=5).prop_map(|c| Spec::ConnAck(false, ConnectReturnCode::from_u8(c).unwrap())),
    ]
}

fn publish_spec() -> impl Strategy<Value = Spec> {
    let qos_pid = prop_oneof![
        Just(QosPid::AtMostOnce),
        packet_id().prop_map(QosPid::AtLeastOnce),
        packet_id().prop_map(QosPid::ExactlyOnce),
    ];
    (
        qos_pid,
        any::<bool>(),
        any::<bool>(),
        topic_name(),
        payload(),
    )
        .prop_map(|(qos_pid, dup, retain, topic, payload)| Spec::Publish {
            // DUP is 0 for QoS 0 [MQTT-3.3.1-2].
            dup: dup && qos_pid != QosPid::AtMostOnce,
            qos_pid,
            retain,
            topic,
            payload,
        })
}

fn suback_code() -> impl Strategy<Value = u8> {
    prop_oneof![Just(0x00u8), Just(0x01), Just(0x02), Just(0x80)]
}

fn spec() -> impl Strategy<Value = Spec> {
    prop_oneof![
        connect_spec(),
        connack_spec(),
        publish_spec(),
        packet_id().prop_map(Spec::PubAck),
        packet_id().prop_map(Spec::PubRec),
        packet_id().prop_map(Spec::PubRel),
        packet_id().prop_map(Spec::PubComp),
        (
            packet_id(),
            proptest::collection::vec((topic_filter(), qos()), 1..6)
        )
            .prop_map(|(id, f)| Spec::Subscribe(id, f)),
        (packet_id(), proptest::collection::vec(suback_code(), 1..8))
            .prop_map(|(id, c)| Spec::SubAck(id, c)),
        (packet_id(), proptest::collection::vec(topic_filter(), 1..6))
            .prop_map(|(id, f)| Spec::Unsubscribe(id, f)),
        packet_id().prop_map(Spec::UnsubAck),
        Just(Spec::PingReq),
        Just(Spec::PingResp),
        Just(Spec::Disconnect),
    ]
}

fn encode(p: &Packet<'_>) -> Vec<u8> {
    let len = p.encoded_len();
    let mut buf = vec![0u8; len];
    assert_eq!(p.encode(&mut buf), Ok(len), "encode {p:?}");
    buf
}

/// Whatever decodes is a packet the encoder accepts (except a CONNECT with an empty client id
/// and clean session off, which only a sender must not produce [MQTT-3.1.3-7]), and its
/// encoding decodes back to the same packet.
fn check_reencode(p: &Packet<'_>) -> Result<(), TestCaseError> {
    let mut buf = vec![0u8; p.encoded_len()];
    match p.encode(&mut buf) {
        Ok(n) => {
            prop_assert_eq!(n, buf.len());
            prop_assert_eq!(Decoder::new().decode(&buf), Ok(Some((*p, n))));
        }
        Err(EncodeError::Invalid(DecodeError::EmptyClientIdWithoutCleanSession)) => {
            prop_assert!(
                matches!(p, Packet::Connect(c) if c.client_id.is_empty() && !c.clean_session)
            );
        }
        Err(e) => prop_assert!(false, "decoded {:?} does not encode: {:?}", p, e),
    }
    Ok(())
}

/// Bytes that look like a packet start more often than uniform random bytes would.
fn arbitrary_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        (
            prop_oneof![
                Just(0x10u8),
                Just(0x20),
                0x30u8..=0x3F,
                Just(0x40),
                Just(0x62),
                Just(0x82),
                Just(0x90),
                Just(0xA2),
                Just(0xB0)
            ],
            0u8..64,
            proptest::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(first, len, rest)| {
                let mut v = vec![first, len];
                v.extend(rest);
                v
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decode_of_encode_is_the_packet(spec in spec()) {
        let built = Built::new(&spec);
        let p = built.packet();
        let bytes = encode(&p);
        prop_assert_eq!(p.encoded_len(), bytes.len());
        prop_assert_eq!(Decoder::new().decode(&bytes), Ok(Some((p, bytes.len()))));
        match Decoder::new().frame(&bytes) {
            Ok(Frame::Complete(h)) => {
                prop_assert_eq!(h.total_len(), bytes.len());
                prop_assert_eq!(h.packet_type, p.packet_type());
            }
            other => prop_assert!(false, "frame: {:?}", other),
        }
    }

    #[test]
    fn decode_split_at_any_point_works(spec in spec(), split in any::<prop::sample::Index>()) {
        let built = Built::new(&spec);
        let p = built.packet();
        let bytes = encode(&p);
        let at = split.index(bytes.len());
        let decoder = Decoder::new();
        // The first part alone is never a packet and never an error.
        prop_assert_eq!(decoder.decode(&bytes[..at]), Ok(None));
        if let Ok(Frame::Incomplete { needed: Some(n) }) = decoder.frame(&bytes[..at]) {
            prop_assert!(n.get() <= bytes.len() - at, "needed over-claims");
        }
        // Both parts together, as a stream buffer would hold them.
        let mut stream = bytes[..at].to_vec();
        stream.extend_from_slice(&bytes[at..]);
        prop_assert_eq!(decoder.decode(&stream), Ok(Some((p, bytes.len()))));
    }

    #[test]
    fn two_packets_in_one_buffer_decode_in_turn(a in spec(), b in spec(), split in any::<prop::sample::Index>()) {
        let (built_a, built_b) = (Built::new(&a), Built::new(&b));
        let (pa, pb) = (built_a.packet(), built_b.packet());
        let mut stream = encode(&pa);
        let len_a = stream.len();
        stream.extend(encode(&pb));
        let decoder = Decoder::new();
        prop_assert_eq!(decoder.decode(&stream), Ok(Some((pa, len_a))));
        prop_assert_eq!(decoder.decode(&stream[len_a..]), Ok(Some((pb, stream.len() - len_a))));
        // A read boundary anywhere inside the second packet leaves it incomplete.
        let at = len_a + split.index(stream.len() - len_a);
        prop_assert_eq!(decoder.decode(&stream[len_a..at]), Ok(None));
    }

    #[test]
    fn decode_never_panics_nor_over_consumes(bytes in arbitrary_bytes()) {
        let decoder = Decoder::new();
        if let Ok(Some((p, n))) = decoder.decode(&bytes) {
            prop_assert!(n >= 2 && n <= bytes.len(), "consumed {} of {}", n, bytes.len());
            check_reencode(&p)?;
        }
        if let Ok(Frame::Complete(h)) = decoder.frame(&bytes) {
            prop_assert!(h.total_len() <= bytes.len());
        }
        let small = Decoder::with_max_remaining_length(8);
        if let Ok(Some((_, n))) = small.decode(&bytes) {
            prop_assert!(n <= bytes.len() && n <= 1 + 4 + 8);
        }
    }

    #[test]
    fn more_bytes_never_change_an_answer_already_given(
        bytes in arbitrary_bytes(),
        extra in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        // An incremental decoder's verdict on a prefix is final: an error stays the same error,
        // a packet stays the same packet of the same size. Only "incomplete" may change.
        let decoder = Decoder::new();
        let mut longer = bytes.clone();
        longer.extend_from_slice(&extra);
        match decoder.decode(&bytes) {
            Ok(None) => {}
            done => prop_assert_eq!(decoder.decode(&longer), done),
        }
        match decoder.frame(&bytes) {
            Err(e) => prop_assert_eq!(decoder.frame(&longer), Err(e)),
            Ok(Frame::Complete(h)) => prop_assert_eq!(decoder.frame(&longer), Ok(Frame::Complete(h))),
            Ok(Frame::Incomplete { .. }) => {}
        }
    }

    #[test]
    fn decode_of_a_mutated_valid_packet_never_panics(
        spec in spec(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let built = Built::new(&spec);
        let mut bytes = encode(&built.packet());
        let i = at.index(bytes.len());
        bytes[i] = byte;
        if let Ok(Some((p, n))) = Decoder::new().decode(&bytes) {
            prop_assert!(n <= bytes.len());
            check_reencode(&p)?;
        }
    }
}

#[test]
fn the_packet_strategy_covers_all_14_types() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    // A fixed seed: the same samples on every run.
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = spec();
    let mut seen = std::collections::HashSet::new();
    let mut largest_payload = 0;
    for _ in 0..2000 {
        let spec = strategy.new_tree(&mut runner).unwrap().current();
        let built = Built::new(&spec);
        let p = built.packet();
        seen.insert(p.packet_type() as u8);
        if let Packet::Publish(p) = p {
            largest_payload = largest_payload.max(p.payload.len());
        }
    }
    assert_eq!(seen.len(), 14, "packet types generated: {seen:?}");
    assert!(largest_payload > 1024, "payloads reach a few KiB");
}
