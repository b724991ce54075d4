//! MQTT 5.0 sessions: exact bytes in and out, written by hand from the standard.

use std::format;
use std::string::String;
use std::vec;
use std::vec::Vec;

use mqtt_proto::QoS;
use mqtt_proto::v5::{
    ConnectReasonCode, DisconnectReasonCode, Properties, Property, PubAckReasonCode,
};

use crate::tests::harness::pid;
use crate::{
    CommandError, Config, ConnectOptionsV5, DisconnectOptions, DisconnectReason, Event, Instant,
    Session, State, VecStore, Violation,
};

pub(super) type S = Session<VecStore, Vec<u8>>;

pub(super) fn session(config: Config) -> S {
    Session::new(config, VecStore::new(), vec![0; 4096], vec![0; 4096])
}

/// Everything `poll_transmit` has to send now.
pub(super) fn out(s: &mut S, now: Instant) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = vec![0u8; 4096];
    while let Ok(Some(n)) = s.poll_transmit(now, &mut buf) {
        all.extend_from_slice(&buf[..n]);
    }
    all
}

/// Every event, described.
pub(super) fn events(s: &mut S) -> Vec<String> {
    let mut v = Vec::new();
    while let Some(e) = s.poll_event() {
        v.push(describe(&e));
    }
    v
}

pub(super) fn describe(e: &Event<'_>) -> String {
    match e {
        Event::Response(r) => {
            let mut d = format!("{} {:02x?}", r.packet_type, r.reason_codes);
            if let Some(id) = r.packet_id {
                d += &format!(" id={}", id.get());
            }
            for p in r.properties.iter() {
                d += &format!(" {p:?}");
            }
            d
        }
        Event::Message(m) => {
            let mut d = format!(
                "Message {:?} {:?} qos={}",
                m.topic,
                String::from_utf8_lossy(m.payload),
                m.qos.as_u8()
            );
            for p in m.properties.iter() {
                d += &format!(" {p:?}");
            }
            d
        }
        other => format!("{other:?}"),
    }
}

pub(super) const T0: Instant = Instant::ZERO;

/// CONNECT (5.0, client id "c", Clean Start, keep alive 60, no properties).
const CONNECT: &[u8] = &[
    0x10, 0x0E, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3C, 0x00, 0x00, 0x01, b'c',
];
/// CONNACK: accepted, no session, no properties.
pub(super) const CONNACK: &[u8] = &[0x20, 0x03, 0x00, 0x00, 0x00];

/// A 5.0 session connected with these options and CONNACK, events drained.
pub(super) fn connected(config: Config, options: &ConnectOptionsV5<'_>, connack: &[u8]) -> S {
    let mut s = session(config);
    s.handle_transport_up(T0);
    s.connect(T0, options).unwrap();
    out(&mut s, T0);
    s.handle_receive(T0, connack);
    let e = events(&mut s);
    assert_eq!(
        e.last().map(String::as_str),
        Some("Connected { session_present: false }")
    );
    s
}

pub(super) fn plain() -> S {
    connected(Config::default(), &ConnectOptionsV5::new("c"), CONNACK)
}

#[test]
fn connect_v5_minimal_bytes_and_connack_response() {
    let mut s = session(Config::default());
    s.handle_transport_up(T0);
    s.connect(T0, &ConnectOptionsV5::new("c")).unwrap();
    assert_eq!(out(&mut s, T0), CONNECT);
    s.handle_receive(T0, CONNACK);
    assert_eq!(
        events(&mut s),
        ["CONNACK [00]", "Connected { session_present: false }"]
    );
    assert_eq!(s.protocol(), crate::ProtocolVersion::V5);
}

#[test]
fn connect_v5_sends_the_application_properties() {
    let props = [
        Property::SessionExpiryInterval(3600),
        Property::ReceiveMaximum(2),
        Property::TopicAliasMaximum(4),
        Property::MaximumPacketSize(4096),
        Property::RequestProblemInformation(false),
        Property::UserProperty("k", "v"),
    ];
    let mut o = ConnectOptionsV5::new("c");
    o.properties = Properties::new(&props);
    let mut s = session(Config::default());
    s.handle_transport_up(T0);
    s.connect(T0, &o).unwrap();
    let expected: &[u8] = &[
        0x10, 0x27, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3C, // header
        0x19, // Property Length 25
        0x11, 0x00, 0x00, 0x0E, 0x10, // Session Expiry Interval 3600
        0x21, 0x00, 0x02, // Receive Maximum 2
        0x22, 0x00, 0x04, // Topic Alias Maximum 4
        0x27, 0x00, 0x00, 0x10, 0x00, // Maximum Packet Size 4096
        0x17, 0x00, // Request Problem Information 0
        0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', // User Property
        0x00, 0x01, b'c',
    ];
    assert_eq!(out(&mut s, T0), expected);
}

#[test]
fn connect_v5_refuses_what_the_session_cannot_honour() {
    let mut s = session(Config::default());
    s.handle_transport_up(T0);
    let big = [Property::MaximumPacketSize(5000)];
    let mut o = ConnectOptionsV5::new("c");
    o.properties = Properties::new(&big);
    assert_eq!(
        s.connect(T0, &o),
        Err(CommandError::MaximumPacketSizeTooLarge { limit: 4096 })
    );
    // Section 3.1.2.11.10: Authentication Data without a method is a Protocol Error.
    let auth = [Property::AuthenticationData(b"x")];
    o.properties = Properties::new(&auth);
    assert_eq!(s.connect(T0, &o), Err(CommandError::AuthDataWithoutMethod));
    let long = "m".repeat(crate::v5::MAX_AUTH_METHOD_LEN + 1);
    let auth = [Property::AuthenticationMethod(&long)];
    o.properties = Properties::new(&auth);
    assert_eq!(
        s.connect(T0, &o),
        Err(CommandError::AuthMethodTooLong { max: 64 })
    );
    let will = [Property::WillDelayInterval(5)];
    let mut o = ConnectOptionsV5::new("c");
    o.will_properties = Properties::new(&will);
    assert_eq!(
        s.connect(T0, &o),
        Err(CommandError::WillPropertiesWithoutWill)
    );
    assert_eq!(s.state(), State::TransportUp);
    assert!(out(&mut s, T0).is_empty());
}

#[test]
fn connect_v5_will_properties() {
    // [MQTT-3.1.2-9]: Will Properties, Will Topic and Will Payload in the payload, in that
    // order after the client id [MQTT-3.1.3-1].
    let will = [Property::WillDelayInterval(10)];
    let mut o = ConnectOptionsV5::new("c");
    o.options.will = Some(crate::LastWill {
        topic: "w",
        payload: b"x",
        qos: QoS::AtLeastOnce,
        retain: false,
    });
    o.will_properties = Properties::new(&will);
    let mut s = session(Config::default());
    s.handle_transport_up(T0);
    s.connect(T0, &o).unwrap();
    let expected: &[u8] = &[
        0x10, 0x1A, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x0E, 0x00, 0x3C, 0x00, 0x00, 0x01,
        b'c', // flags: Will QoS 1, Will, Clean Start
        0x05, 0x18, 0x00, 0x00, 0x00, 0x0A, // Will Properties: Will Delay Interval 10
        0x00, 0x01, b'w', 0x00, 0x01, b'x',
    ];
    assert_eq!(out(&mut s, T0), expected);
}

/// CONNACK with Receive Maximum 2, Maximum Packet Size 32, Topic Alias Maximum 2, Server Keep
/// Alive 10, Maximum QoS 1, Retain Available 0, Assigned Client Identifier "id".
const CONNACK_LIMITS: &[u8] = &[
    0x20, 0x1A, 0x00, 0x00, 0x17, // flags, code, Property Length 23
    0x21, 0x00, 0x02, 0x27, 0x00, 0x00, 0x00, 0x20, 0x22, 0x00, 0x02, 0x13, 0x00, 0x0A, 0x24, 0x01,
    0x25, 0x00, 0x12, 0x00, 0x02, b'i', b'd',
];

#[test]
fn mqtt_3_2_2_21_connack_limits_are_honoured() {
    let mut s = session(Config::default());
    s.handle_transport_up(T0);
    s.connect(T0, &ConnectOptionsV5::new("")).unwrap();
    out(&mut s, T0);
    s.handle_receive(T0, CONNACK_LIMITS);
    let e = events(&mut s);
    assert_eq!(
        e,
        [
            "CONNACK [00] ReceiveMaximum(2) MaximumPacketSize(32) TopicAliasMaximum(2) \
             ServerKeepAlive(10) MaximumQoS(AtLeastOnce) RetainAvailable(false) \
             AssignedClientIdentifier(\"id\")",
            "Connected { session_present: false }"
        ]
    );
    let limits = s.server_limits().unwrap();
    assert_eq!(limits.receive_maximum, 2);
    assert_eq!(limits.maximum_packet_size, Some(32));
    assert_eq!(limits.keep_alive, 10);
    // [MQTT-3.2.2-21]: the Server Keep Alive replaces our 60 s.
    assert_eq!(s.poll_timeout(), Some(Instant::from_millis(10_000)));
    // [MQTT-3.2.2-11]
    assert_eq!(
        s.publish(T0, "t", b"a", QoS::ExactlyOnce, false),
        Err(CommandError::QoSNotSupported {
            maximum: QoS::AtLeastOnce
        })
    );
    // [MQTT-3.2.2-14]
    assert_eq!(
        s.publish(T0, "t", b"a", QoS::AtMostOnce, true),
        Err(CommandError::RetainNotSupported)
    );
    // [MQTT-3.2.2-15]: 2 + 3 + 1 + 27 = 33 bytes > 32.
    assert_eq!(
        s.publish(T0, "t", &[0; 27], QoS::AtMostOnce, false),
        Err(CommandError::PacketTooLargeForServer {
            required: 33,
            maximum: 32
        })
    );
    assert!(out(&mut s, T0).is_empty());
    s.publish(T0, "t", &[0; 26], QoS::AtMostOnce, false)
        .unwrap();
    assert_eq!(out(&mut s, T0).len(), 32);
}

#[test]
fn mqtt_3_3_4_7_never_more_in_flight_than_receive_maximum() {
    let mut s = connected(
        Config::default(),
        &ConnectOptionsV5::new("c"),
        CONNACK_LIMITS,
    );
    let a = s.publish(T0, "t", b"a", QoS::AtLeastOnce, false).unwrap();
    s.publish(T0, "t", b"b", QoS::AtLeastOnce, false).unwrap();
    assert_eq!(
        s.publish(T0, "t", b"c", QoS::AtLeastOnce, false),
        Err(CommandError::WindowFull)
    );
    assert_eq!(s.publish_capacity(), 0);
    let expected: &[u8] = &[
        0x32, 0x07, 0x00, 0x01, b't', 0x00, 0x01, 0x00, b'a', // id 1, Property Length 0
        0x32, 0x07, 0x00, 0x01, b't', 0x00, 0x02, 0x00, b'b', // id 2
    ];
    assert_eq!(out(&mut s, T0), expected);
    assert_eq!(a, Some(pid(1)));
    // PUBACK, reason code left out (success).
    s.handle_receive(T0, &[0x40, 0x02, 0x00, 0x01]);
    assert_eq!(
        events(&mut s),
        ["PublishAcknowledged { packet_id: PacketId(1) }"]
    );
    s.publish(T0, "t", b"c", QoS::AtLeastOnce, false).unwrap();
    assert_eq!(
        out(&mut s, T0),
        [0x32, 0x07, 0x00, 0x01, b't', 0x00, 0x03, 0x00, b'c']
    );
}

#[test]
fn mqtt_3_3_4_7_window_queue_beyond_receive_maximum() {
    let mut s = connected(
        Config::default().with_max_queued(1),
        &ConnectOptionsV5::new("c"),
        CONNACK_LIMITS,
    );
    for p in [b"a", b"b", b"c"] {
        s.publish(T0, "t", p, QoS::AtLeastOnce, false).unwrap();
    }
    assert_eq!((s.inflight(), s.queued()), (2, 1));
    assert_eq!(out(&mut s, T0).len(), 18);
    // PUBACK with an error code ends the flow and frees the window [MQTT-3.3.4-7].
    s.handle_receive(T0, &[0x40, 0x03, 0x00, 0x02, 0x97]);
    assert_eq!(
        events(&mut s),
        [
            "PUBACK [97] id=2",
            "PublishRejected { packet_id: PacketId(2), reason_code: QuotaExceeded }"
        ]
    );
    assert_eq!(
        out(&mut s, T0),
        [0x32, 0x07, 0x00, 0x01, b't', 0x00, 0x03, 0x00, b'c']
    );
}

#[test]
fn connack_refusal_reports_code_reason_string_and_server_reference() {
    let mut s = session(Config::default());
    s.handle_transport_up(T0);
    s.connect(T0, &ConnectOptionsV5::new("c")).unwrap();
    out(&mut s, T0);
    // 0x9C Use another server, Server Reference "xyz", Reason String "no".
    s.handle_receive(
        T0,
        &[
            0x20, 0x0E, 0x00, 0x9C, 0x0B, 0x1C, 0x00, 0x03, b'x', b'y', b'z', 0x1F, 0x00, 0x02,
            b'n', b'o',
        ],
    );
    let mut seen = Vec::new();
    while let Some(e) = s.poll_event() {
        if let Event::Response(r) = &e {
            assert_eq!(r.reason_code(), 0x9C);
            assert!(r.is_error());
            assert_eq!(r.properties.server_reference(), Some("xyz"));
            assert_eq!(r.reason_string(), Some("no"));
        }
        seen.push(describe(&e));
    }
    assert_eq!(
        seen[1],
        format!(
            "{:?}",
            Event::Disconnected {
                reason: DisconnectReason::RefusedV5(ConnectReasonCode::UseAnotherServer)
            }
        )
    );
    assert_eq!(s.state(), State::Closed);
    assert!(out(&mut s, T0).is_empty());
}

#[test]
fn connack_0x9d_server_moved_is_reported() {
    let mut s = session(Config::default());
    s.handle_transport_up(T0);
    s.connect(T0, &ConnectOptionsV5::new("c")).unwrap();
    out(&mut s, T0);
    s.handle_receive(T0, &[0x20, 0x03, 0x00, 0x9D, 0x00]);
    let e = events(&mut s);
    assert_eq!(e[0], "CONNACK [9d]");
    assert_eq!(e[1], "Disconnected { reason: RefusedV5(ServerMoved) }");
}

#[test]
fn pubrec_error_ends_the_flow_without_pubrel() {
    let mut s = plain();
    s.publish(T0, "t", b"a", QoS::ExactlyOnce, false).unwrap();
    assert_eq!(
        out(&mut s, T0),
        [0x34, 0x07, 0x00, 0x01, b't', 0x00, 0x01, 0x00, b'a']
    );
    s.handle_receive(T0, &[0x50, 0x03, 0x00, 0x01, 0x80]);
    assert_eq!(
        events(&mut s),
        [
            "PUBREC [80] id=1",
            "PublishRejected { packet_id: PacketId(1), reason_code: UnspecifiedError }"
        ]
    );
    // [MQTT-3.3.4-7]: no PUBREL after an error PUBREC; the id is free.
    assert!(out(&mut s, T0).is_empty());
    assert_eq!(s.inflight(), 0);
}

#[test]
fn qos2_flow_with_reason_codes_and_reason_string() {
    let mut s = plain();
    s.publish(T0, "t", b"a", QoS::ExactlyOnce, false).unwrap();
    out(&mut s, T0);
    // PUBREC 0x10 No matching subscribers: success, so PUBREL follows.
    s.handle_receive(T0, &[0x50, 0x03, 0x00, 0x01, 0x10]);
    assert_eq!(events(&mut s), ["PUBREC [10] id=1"]);
    assert_eq!(out(&mut s, T0), [0x62, 0x02, 0x00, 0x01]);
    // PUBCOMP 0x00 with a Reason String "ok".
    s.handle_receive(
        T0,
        &[
            0x70, 0x09, 0x00, 0x01, 0x00, 0x05, 0x1F, 0x00, 0x02, b'o', b'k',
        ],
    );
    assert_eq!(
        events(&mut s),
        [
            "PUBCOMP [00] id=1 ReasonString(\"ok\")",
            "PublishCompleted { packet_id: PacketId(1) }"
        ]
    );
}

#[test]
fn puback_error_with_reason_string() {
    let mut s = plain();
    s.publish(T0, "t", b"a", QoS::AtLeastOnce, false).unwrap();
    out(&mut s, T0);
    s.handle_receive(
        T0,
        &[0x40, 0x08, 0x00, 0x01, 0x87, 0x04, 0x1F, 0x00, 0x01, b'x'],
    );
    let mut rejected = None;
    while let Some(e) = s.poll_event() {
        match e {
            Event::Response(r) => assert_eq!(r.reason_string(), Some("x")),
            Event::PublishRejected {
                packet_id,
                reason_code,
            } => rejected = Some((packet_id, reason_code)),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(rejected, Some((pid(1), PubAckReasonCode::NotAuthorized)));
    assert_eq!(s.inflight(), 0);
}

#[test]
fn subscribe_and_unsubscribe_v5_with_per_filter_codes() {
    let mut s = plain();
    s.subscribe(T0, &[("a", QoS::AtLeastOnce), ("b", QoS::AtMostOnce)])
        .unwrap();
    assert_eq!(
        out(&mut s, T0),
        [
            0x82, 0x0B, 0x00, 0x01, 0x00, 0x00, 0x01, b'a', 0x01, 0x00, 0x01, b'b', 0x00
        ]
    );
    s.handle_receive(T0, &[0x90, 0x05, 0x00, 0x01, 0x00, 0x01, 0x87]);
    match s.poll_event() {
        Some(Event::Subscribed { packet_id, results }) => {
            assert_eq!(packet_id, pid(1));
            assert_eq!(results.as_bytes(), [0x01, 0x87]);
        }
        other => panic!("{other:?}"),
    }
    s.unsubscribe(T0, &["a", "b"]).unwrap();
    assert_eq!(
        out(&mut s, T0),
        [
            0xA2, 0x09, 0x00, 0x02, 0x00, 0x00, 0x01, b'a', 0x00, 0x01, b'b'
        ]
    );
    s.handle_receive(T0, &[0xB0, 0x05, 0x00, 0x02, 0x00, 0x00, 0x11]);
    assert_eq!(
        events(&mut s),
        [
            "UNSUBACK [00, 11] id=2",
            "Unsubscribed { packet_id: PacketId(2) }"
        ]
    );
}

#[test]
fn mqtt_3_11_3_1_unsuback_code_count_mismatch_is_a_protocol_error() {
    let mut s = plain();
    s.unsubscribe(T0, &["a", "b"]).unwrap();
    out(&mut s, T0);
    s.handle_receive(T0, &[0xB0, 0x04, 0x00, 0x01, 0x00, 0x00]);
    // DISCONNECT 0x82 Protocol Error goes out, then the connection ends.
    assert!(events(&mut s).is_empty());
    assert_eq!(s.state(), State::Disconnecting);
    assert_eq!(out(&mut s, T0), [0xE0, 0x01, 0x82]);
    assert_eq!(
        events(&mut s),
        [format!(
            "{:?}",
            Event::Disconnected {
                reason: DisconnectReason::ProtocolViolation(Violation::UnsubAckCountMismatch {
                    expected: 2,
                    received: 1
                })
            }
        )]
    );
}

#[test]
fn server_disconnect_is_a_typed_reason_with_its_reason_string() {
    let mut s = plain();
    s.handle_receive(
        T0,
        &[0xE0, 0x08, 0x8B, 0x06, 0x1F, 0x00, 0x03, b'b', b'y', b'e'],
    );
    assert_eq!(
        events(&mut s),
        [
            "DISCONNECT [8b] ReasonString(\"bye\")",
            "Disconnected { reason: Server(ServerShuttingDown) }"
        ]
    );
    assert!(out(&mut s, T0).is_empty());
}

#[test]
fn mqtt_3_14_2_2_server_disconnect_with_session_expiry_is_a_protocol_error() {
    let mut s = plain();
    s.handle_receive(T0, &[0xE0, 0x07, 0x00, 0x05, 0x11, 0x00, 0x00, 0x00, 0x00]);
    let e = events(&mut s);
    assert_eq!(
        e[1],
        "Disconnected { reason: ProtocolViolation(SessionExpiryInServerDisconnect) }"
    );
}

#[test]
fn disconnect_with_will_reason_code_0x04() {
    let mut s = plain();
    s.disconnect_with(
        T0,
        &DisconnectOptions::new(DisconnectReasonCode::DisconnectWithWillMessage),
    )
    .unwrap();
    assert_eq!(s.state(), State::Disconnecting);
    // [MQTT-3.14.4-1]: nothing after DISCONNECT.
    assert_eq!(out(&mut s, T0), [0xE0, 0x01, 0x04]);
    assert_eq!(events(&mut s), ["Disconnected { reason: Local }"]);
}

/// Section 3.14.2.1: a client sends 0x00, 0x04, 0x80 to 0x83, 0x90 and 0x93 to 0x99; the other
/// codes (0x87 Not authorized, 0x8B Server shutting down, 0x8E Session taken over, ...) are the
/// server's, and `disconnect_with` refuses them with nothing sent.
#[test]
fn disconnect_with_a_servers_reason_code_is_refused() {
    let client = [
        0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
    ];
    let mut refused = Vec::new();
    for b in 0..=255u8 {
        let Ok(code) = DisconnectReasonCode::from_u8(b) else {
            continue;
        };
        let mut s = plain();
        match s.disconnect_with(T0, &DisconnectOptions::new(code)) {
            Ok(()) => assert_eq!(out(&mut s, T0)[..2], [0xE0, 0x01 - u8::from(b == 0)]),
            Err(e) => {
                assert_eq!(
                    e,
                    CommandError::Invalid(mqtt_proto::DecodeError::InvalidDisconnectReasonCode)
                );
                assert_eq!(s.state(), State::Connected);
                assert!(out(&mut s, T0).is_empty());
                refused.push(b);
            }
        }
        assert_eq!(refused.contains(&b), !client.contains(&b), "0x{b:02X}");
    }
    assert_eq!(refused.len(), 16);
}

#[test]
fn plain_disconnect_on_v5_is_normal_disconnection() {
    let mut s = plain();
    s.disconnect(T0).unwrap();
    assert_eq!(out(&mut s, T0), [0xE0, 0x00]);
    assert_eq!(events(&mut s), ["Disconnected { reason: Local }"]);
}

#[test]
fn disconnect_session_expiry_rules() {
    // After a CONNECT without Session Expiry Interval (0), a non-zero one in DISCONNECT is a
    // protocol error (section 3.14.2.2.2): refused.
    let mut s = plain();
    let props = [Property::SessionExpiryInterval(10)];
    let o = DisconnectOptions {
        reason_code: DisconnectReasonCode::NormalDisconnection,
        properties: Properties::new(&props),
    };
    assert_eq!(
        s.disconnect_with(T0, &o),
        Err(CommandError::SessionExpiryAfterZero)
    );
    assert_eq!(s.state(), State::Connected);
    assert!(out(&mut s, T0).is_empty());

    // After a CONNECT with 60, DISCONNECT may set 0: the session ends with the connection, so
    // a held message is published again under a new identifier.
    let expiry = [Property::SessionExpiryInterval(60)];
    let mut c = ConnectOptionsV5::new("c");
    c.options.clean_session = false;
    c.properties = Properties::new(&expiry);
    let mut s = connected(Config::default(), &c, CONNACK);
    s.publish(T0, "t", b"a", QoS::AtLeastOnce, false).unwrap();
    out(&mut s, T0);
    let zero = [Property::SessionExpiryInterval(0)];
    let o = DisconnectOptions {
        reason_code: DisconnectReasonCode::NormalDisconnection,
        properties: Properties::new(&zero),
    };
    s.disconnect_with(T0, &o).unwrap();
    assert_eq!(
        out(&mut s, T0),
        [0xE0, 0x07, 0x00, 0x05, 0x11, 0x00, 0x00, 0x00, 0x00]
    );
    assert_eq!(
        events(&mut s),
        [
            "Disconnected { reason: Local }",
            "Republished { old: PacketId(1), new: PacketId(2) }"
        ]
    );
}

#[test]
fn mqtt_3_1_2_23_session_outlives_the_connection_with_session_expiry() {
    let expiry = [Property::SessionExpiryInterval(60)];
    let mut c = ConnectOptionsV5::new("c");
    c.options.clean_session = false;
    c.properties = Properties::new(&expiry);
    let mut s = connected(Config::default(), &c, CONNACK);
    s.publish(T0, "t", b"a", QoS::AtLeastOnce, false).unwrap();
    out(&mut s, T0);
    s.handle_transport_closed(T0);
    assert_eq!(events(&mut s), ["Disconnected { reason: TransportClosed }"]);
    s.handle_transport_up(T0);
    s.connect(T0, &c).unwrap();
    out(&mut s, T0);
    s.handle_receive(T0, &[0x20, 0x03, 0x01, 0x00, 0x00]);
    assert_eq!(
        events(&mut s),
        ["CONNACK [00]", "Connected { session_present: true }"]
    );
    // [MQTT-3.3.1-1]: resent with DUP=1.
    assert_eq!(
        out(&mut s, T0),
        [0x3A, 0x07, 0x00, 0x01, b't', 0x00, 0x01, 0x00, b'a']
    );
}

#[test]
fn session_expiry_zero_ends_the_session_with_the_connection() {
    let mut c = ConnectOptionsV5::new("c");
    c.options.clean_session = false;
    let mut s = connected(Config::default(), &c, CONNACK);
    s.publish(T0, "t", b"a", QoS::AtLeastOnce, false).unwrap();
    out(&mut s, T0);
    s.handle_transport_closed(T0);
    assert_eq!(
        events(&mut s),
        [
            "Disconnected { reason: TransportClosed }",
            "Republished { old: PacketId(1), new: PacketId(2) }"
        ]
    );
}

#[test]
fn receive_maximum_exceeded_by_the_broker_is_disconnect_0x93() {
    let rm = [Property::ReceiveMaximum(1)];
    let mut c = ConnectOptionsV5::new("c");
    c.properties = Properties::new(&rm);
    let mut s = connected(Config::default(), &c, CONNACK);
    // QoS 2 id 1: PUBREC, and it stays unacknowledged until PUBREL.
    s.handle_receive(T0, &[0x34, 0x07, 0x00, 0x01, b't', 0x00, 0x01, 0x00, b'a']);
    assert_eq!(events(&mut s), ["Message \"t\" \"a\" qos=2"]);
    assert_eq!(out(&mut s, T0), [0x50, 0x02, 0x00, 0x01]);
    // A second QoS 1 PUBLISH exceeds our Receive Maximum of 1.
    s.handle_receive(T0, &[0x32, 0x07, 0x00, 0x01, b't', 0x00, 0x02, 0x00, b'b']);
    assert!(events(&mut s).is_empty());
    assert_eq!(out(&mut s, T0), [0xE0, 0x01, 0x93]);
    assert_eq!(
        events(&mut s),
        ["Disconnected { reason: ProtocolViolation(ReceiveMaximumExceeded) }"]
    );
}

#[test]
fn receive_maximum_frees_up_after_pubrel() {
    let rm = [Property::ReceiveMaximum(1)];
    let mut c = ConnectOptionsV5::new("c");
    c.properties = Properties::new(&rm);
    let mut s = connected(Config::default(), &c, CONNACK);
    s.handle_receive(T0, &[0x34, 0x07, 0x00, 0x01, b't', 0x00, 0x01, 0x00, b'a']);
    out(&mut s, T0);
    s.handle_receive(T0, &[0x62, 0x02, 0x00, 0x01]);
    assert_eq!(out(&mut s, T0), [0x70, 0x02, 0x00, 0x01]);
    s.handle_receive(T0, &[0x32, 0x07, 0x00, 0x01, b't', 0x00, 0x02, 0x00, b'b']);
    assert_eq!(
        events(&mut s),
        ["Message \"t\" \"a\" qos=2", "Message \"t\" \"b\" qos=1"]
    );
    assert_eq!(out(&mut s, T0), [0x40, 0x02, 0x00, 0x02]);
}

fn with_aliases(max: u16) -> S {
    let ta = [Property::TopicAliasMaximum(max)];
    let mut c = ConnectOptionsV5::new("c");
    c.properties = Properties::new(&ta);
    connected(Config::default(), &c, CONNACK)
}

#[test]
fn mqtt_3_3_2_10_incoming_topic_aliases_resolve_in_order() {
    let mut s = with_aliases(2);
    let mut input = Vec::new();
    // "ab" as alias 1, then alias 1 alone, then "cd" as alias 1, then alias 1 alone.
    input.extend_from_slice(&[
        0x30, 0x09, 0x00, 0x02, b'a', b'b', 0x03, 0x23, 0x00, 0x01, b'x',
    ]);
    input.extend_from_slice(&[0x30, 0x07, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01, b'y']);
    input.extend_from_slice(&[
        0x30, 0x09, 0x00, 0x02, b'c', b'd', 0x03, 0x23, 0x00, 0x01, b'z',
    ]);
    input.extend_from_slice(&[0x30, 0x07, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01, b'w']);
    assert_eq!(s.handle_receive(T0, &input), input.len());
    assert_eq!(
        events(&mut s),
        [
            "Message \"ab\" \"x\" qos=0 TopicAlias(1)",
            "Message \"ab\" \"y\" qos=0 TopicAlias(1)",
            "Message \"cd\" \"z\" qos=0 TopicAlias(1)",
            "Message \"cd\" \"w\" qos=0 TopicAlias(1)",
        ]
    );
}

#[test]
fn topic_alias_above_our_maximum_is_disconnect_0x94() {
    let mut s = with_aliases(2);
    s.handle_receive(
        T0,
        &[
            0x30, 0x09, 0x00, 0x02, b'a', b'b', 0x03, 0x23, 0x00, 0x03, b'x',
        ],
    );
    assert_eq!(out(&mut s, T0), [0xE0, 0x01, 0x94]);
    assert_eq!(
        events(&mut s),
        ["Disconnected { reason: ProtocolViolation(TopicAliasInvalid(3)) }"]
    );
    // No Topic Alias Maximum sent: any alias is above it.
    let mut s = plain();
    s.handle_receive(
        T0,
        &[
            0x30, 0x09, 0x00, 0x02, b'a', b'b', 0x03, 0x23, 0x00, 0x01, b'x',
        ],
    );
    assert_eq!(out(&mut s, T0), [0xE0, 0x01, 0x94]);
}

#[test]
fn mqtt_3_3_2_8_topic_alias_zero_is_disconnect_0x94() {
    let mut s = with_aliases(2);
    s.handle_receive(
        T0,
        &[
            0x30, 0x09, 0x00, 0x02, b'a', b'b', 0x03, 0x23, 0x00, 0x00, b'x',
        ],
    );
    assert_eq!(out(&mut s, T0), [0xE0, 0x01, 0x94]);
}

#[test]
fn unknown_topic_alias_is_disconnect_0x82() {
    let mut s = with_aliases(2);
    s.handle_receive(T0, &[0x30, 0x07, 0x00, 0x00, 0x03, 0x23, 0x00, 0x02, b'y']);
    assert_eq!(out(&mut s, T0), [0xE0, 0x01, 0x82]);
    assert_eq!(
        events(&mut s),
        ["Disconnected { reason: ProtocolViolation(UnknownTopicAlias(2)) }"]
    );
}

#[test]
fn mqtt_3_3_2_7_incoming_aliases_do_not_survive_a_reconnect() {
    let mut s = with_aliases(2);
    s.handle_receive(
        T0,
        &[
            0x30, 0x09, 0x00, 0x02, b'a', b'b', 0x03, 0x23, 0x00, 0x01, b'x',
        ],
    );
    events(&mut s);
    s.handle_transport_closed(T0);
    events(&mut s);
    let ta = [Property::TopicAliasMaximum(2)];
    let mut c = ConnectOptionsV5::new("c");
    c.properties = Properties::new(&ta);
    s.handle_transport_up(T0);
    s.connect(T0, &c).unwrap();
    out(&mut s, T0);
    s.handle_receive(T0, CONNACK);
    events(&mut s);
    s.handle_receive(T0, &[0x30, 0x07, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01, b'y']);
    assert_eq!(out(&mut s, T0), [0xE0, 0x01, 0x82]);
}

/// CONNACK with Topic Alias Maximum 2.
const CONNACK_ALIASES: &[u8] = &[0x20, 0x06, 0x00, 0x00, 0x03, 0x22, 0x00, 0x02];

#[test]
fn mqtt_3_2_2_17_outgoing_topic_aliases_within_the_servers_maximum() {
    let config = Config::default().with_outgoing_topic_aliases(8);
    let mut s = connected(config, &ConnectOptionsV5::new("c"), CONNACK_ALIASES);
    for (topic, payload) in [("abc", b"1"), ("abc", b"2"), ("de", b"3"), ("fgh", b"4")] {
        s.publish(T0, topic, payload, QoS::AtMostOnce, false)
            .unwrap();
    }
    let expected: &[u8] = &[
        0x30, 0x0A, 0x00, 0x03, b'a', b'b', b'c', 0x03, 0x23, 0x00, 0x01, b'1', // sets 1
        0x30, 0x07, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01, b'2', // uses 1
        0x30, 0x09, 0x00, 0x02, b'd', b'e', 0x03, 0x23, 0x00, 0x02, b'3', // sets 2
        0x30, 0x07, 0x00, 0x03, b'f', b'g', b'h', 0x00, b'4', // none left [MQTT-3.2.2-17]
    ];
    assert_eq!(out(&mut s, T0), expected);

    // [MQTT-3.3.2-7]: a new connection starts without aliases.
    s.handle_transport_closed(T0);
    events(&mut s);
    s.handle_transport_up(T0);
    s.connect(T0, &ConnectOptionsV5::new("c")).unwrap();
    out(&mut s, T0);
    s.handle_receive(T0, CONNACK_ALIASES);
    events(&mut s);
    s.publish(T0, "abc", b"5", QoS::AtMostOnce, false).unwrap();
    assert_eq!(
        out(&mut s, T0),
        [
            0x30, 0x0A, 0x00, 0x03, b'a', b'b', b'c', 0x03, 0x23, 0x00, 0x01, b'5'
        ]
    );
}

#[test]
fn mqtt_3_2_2_18_no_outgoing_aliases_without_the_servers_maximum() {
    let config = Config::default().with_outgoing_topic_aliases(8);
    let mut s = connected(config, &ConnectOptionsV5::new("c"), CONNACK);
    s.publish(T0, "abc", b"1", QoS::AtMostOnce, false).unwrap();
    s.publish(T0, "abc", b"2", QoS::AtMostOnce, false).unwrap();
    assert_eq!(
        out(&mut s, T0),
        [
            0x30, 0x07, 0x00, 0x03, b'a', b'b', b'c', 0x00, b'1', 0x30, 0x07, 0x00, 0x03, b'a',
            b'b', b'c', 0x00, b'2'
        ]
    );
}

#[test]
fn publish_with_properties_on_qos0() {
    let mut s = plain();
    let props = [Property::MessageExpiryInterval(60)];
    s.publish_with(
        T0,
        "t",
        b"a",
        QoS::AtMostOnce,
        false,
        &Properties::new(&props),
    )
    .unwrap();
    assert_eq!(
        out(&mut s, T0),
        [
            0x30, 0x0A, 0x00, 0x01, b't', 0x05, 0x02, 0x00, 0x00, 0x00, 0x3C, b'a'
        ]
    );
    // A Subscription Identifier never [MQTT-3.3.4-6] (QoS 1/2 with properties: v5_store.rs).
    let sub_id = [Property::SubscriptionIdentifier(1)];
    assert_eq!(
        s.publish_with(
            T0,
            "t",
            b"a",
            QoS::AtMostOnce,
            false,
            &Properties::new(&sub_id)
        ),
        Err(CommandError::PropertyNotAllowed)
    );
    assert!(out(&mut s, T0).is_empty());
}

#[test]
fn incoming_message_properties_reach_the_application() {
    let mut s = plain();
    s.handle_receive(
        T0,
        &[
            0x30, 0x0C, 0x00, 0x01, b't', 0x07, 0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', b'a',
        ],
    );
    assert_eq!(
        events(&mut s),
        ["Message \"t\" \"a\" qos=0 UserProperty(\"k\", \"v\")"]
    );
}

#[test]
fn malformed_packet_is_disconnect_0x81() {
    let mut s = plain();
    // PUBACK reason code 0x05 is not a PUBACK code.
    s.handle_receive(T0, &[0x40, 0x03, 0x00, 0x01, 0x05]);
    assert_eq!(out(&mut s, T0), [0xE0, 0x01, 0x81]);
    assert!(matches!(
        s.poll_event(),
        Some(Event::Disconnected {
            reason: DisconnectReason::ProtocolViolation(Violation::Malformed(_))
        })
    ));
}

#[test]
fn incoming_packet_too_large_is_disconnect_0x95() {
    let mut s = connected(
        Config::default().with_max_incoming_packet(16),
        &ConnectOptionsV5::new("c"),
        CONNACK,
    );
    s.handle_receive(T0, &[0x30, 0x20, 0x00, 0x01, b't']);
    assert_eq!(out(&mut s, T0), [0xE0, 0x01, 0x95]);
    assert_eq!(
        events(&mut s),
        ["Disconnected { reason: IncomingPacketTooLarge }"]
    );
}

/// Section 3.1.2.11.4: a packet above the Maximum Packet Size of our CONNECT is a Protocol
/// Error, DISCONNECT 0x95, even when the receive buffer could hold it.
#[test]
fn incoming_packet_above_our_maximum_packet_size_is_disconnect_0x95() {
    let props = [Property::MaximumPacketSize(10)];
    let mut options = ConnectOptionsV5::new("c");
    options.properties = Properties::new(&props);
    let mut s = connected(Config::default(), &options, CONNACK);
    // Ten bytes: PUBLISH "t" with "abcd" at QoS 0 is delivered.
    s.handle_receive(
        T0,
        &[0x30, 0x08, 0x00, 0x01, b't', 0x00, b'a', b'b', b'c', b'd'],
    );
    assert_eq!(events(&mut s), ["Message \"t\" \"abcd\" qos=0"]);
    // Eleven bytes are refused before the body arrives.
    s.handle_receive(T0, &[0x30, 0x09, 0x00, 0x01, b't']);
    assert_eq!(out(&mut s, T0), [0xE0, 0x01, 0x95]);
    assert_eq!(
        events(&mut s),
        ["Disconnected { reason: IncomingPacketTooLarge }"]
    );
}

#[test]
fn auth_without_authentication_method_is_a_protocol_error() {
    let mut s = plain();
    s.handle_receive(T0, &[0xF0, 0x00]);
    assert_eq!(out(&mut s, T0), [0xE0, 0x01, 0x82]);
    assert_eq!(
        events(&mut s),
        ["Disconnected { reason: ProtocolViolation(UnexpectedAuth) }"]
    );
}

#[test]
fn transport_closed_before_the_closing_disconnect_keeps_the_reason() {
    let mut s = plain();
    s.handle_receive(T0, &[0xF0, 0x00]);
    s.handle_transport_closed(T0);
    assert_eq!(
        events(&mut s),
        ["Disconnected { reason: ProtocolViolation(UnexpectedAuth) }"]
    );
    assert_eq!(s.state(), State::TransportDown);
}

#[test]
fn v5_commands_on_a_311_connection_are_refused() {
    let mut s = session(Config::default());
    s.handle_transport_up(T0);
    s.connect(T0, &crate::ConnectOptions::new("c")).unwrap();
    out(&mut s, T0);
    s.handle_receive(T0, &[0x20, 0x02, 0x00, 0x00]);
    events(&mut s);
    assert_eq!(
        s.disconnect_with(T0, &DisconnectOptions::NORMAL),
        Err(CommandError::RequiresV5)
    );
    let props = [Property::MessageExpiryInterval(1)];
    assert_eq!(
        s.publish_with(
            T0,
            "t",
            b"a",
            QoS::AtMostOnce,
            false,
            &Properties::new(&props)
        ),
        Err(CommandError::RequiresV5)
    );
    assert_eq!(s.server_limits(), None);
    // The 3.1.1 PUBLISH has no Property Length.
    s.publish(T0, "t", b"a", QoS::AtMostOnce, false).unwrap();
    assert_eq!(out(&mut s, T0), [0x30, 0x04, 0x00, 0x01, b't', b'a']);
}

#[test]
fn subscribe_with_options_and_subscription_identifier() {
    use mqtt_proto::v5::{RetainHandling, SubscriptionOptions};
    let mut s = plain();
    let options = SubscriptionOptions {
        qos: QoS::AtLeastOnce,
        no_local: true,
        retain_as_published: true,
        retain_handling: RetainHandling::DoNotSend,
    };
    let id = [Property::SubscriptionIdentifier(5)];
    s.subscribe_with(T0, &[("a", options)], &Properties::new(&id))
        .unwrap();
    // Options byte: QoS 1, No Local (bit 2), Retain As Published (bit 3), Retain Handling 2
    // (bits 4-5) = 0x2D; properties: Subscription Identifier 5.
    assert_eq!(
        out(&mut s, T0),
        [
            0x82, 0x09, 0x00, 0x01, 0x02, 0x0B, 0x05, 0x00, 0x01, b'a', 0x2D
        ]
    );
    s.handle_receive(T0, &[0x90, 0x04, 0x00, 0x01, 0x00, 0x01]);
    assert_eq!(
        events(&mut s),
        ["Subscribed { packet_id: PacketId(1), results: [Success(AtLeastOnce)] }"]
    );
    // A matching message carries the identifier.
    s.handle_receive(T0, &[0x30, 0x07, 0x00, 0x01, b't', 0x02, 0x0B, 0x05, b'x']);
    assert_eq!(
        events(&mut s),
        ["Message \"t\" \"x\" qos=0 SubscriptionIdentifier(5)"]
    );
}

#[test]
fn mqtt_3_8_3_4_no_local_on_a_shared_subscription_is_refused() {
    use mqtt_proto::v5::SubscriptionOptions;
    let mut s = plain();
    let mut o = SubscriptionOptions::new(QoS::AtMostOnce);
    o.no_local = true;
    assert_eq!(
        s.subscribe_with(T0, &[("$share/g/t", o)], &Properties::EMPTY),
        Err(CommandError::Invalid(
            mqtt_proto::DecodeError::NoLocalOnSharedSubscription
        ))
    );
    s.subscribe_with(
        T0,
        &[("$share/g/t", SubscriptionOptions::new(QoS::AtMostOnce))],
        &Properties::EMPTY,
    )
    .unwrap();
    assert_eq!(
        out(&mut s, T0),
        [
            0x82, 0x10, 0x00, 0x01, 0x00, 0x00, 0x0A, b'$', b's', b'h', b'a', b'r', b'e', b'/',
            b'g', b'/', b't', 0x00
        ]
    );
}

#[test]
fn subscribe_with_what_the_broker_does_not_offer_is_refused() {
    use mqtt_proto::v5::SubscriptionOptions;
    // CONNACK: Wildcard, Subscription Identifier and Shared Subscription Available all 0.
    let connack = [
        0x20, 0x09, 0x00, 0x00, 0x06, 0x28, 0x00, 0x29, 0x00, 0x2A, 0x00,
    ];
    let mut s = connected(Config::default(), &ConnectOptionsV5::new("c"), &connack);
    let q0 = SubscriptionOptions::new(QoS::AtMostOnce);
    let id = [Property::SubscriptionIdentifier(1)];
    for (filter, props) in [
        ("a/+", Properties::EMPTY),
        ("$share/g/t", Properties::EMPTY),
        ("a", Properties::new(&id)),
    ] {
        assert_eq!(
            s.subscribe_with(T0, &[(filter, q0)], &props),
            Err(CommandError::NotAvailableOnServer)
        );
    }
    assert!(out(&mut s, T0).is_empty());
}

/// The 3.1.1 `subscribe` on a 5.0 connection checks its filters as `subscribe_with` does: a
/// malformed shared subscription [MQTT-4.8.2-1, MQTT-4.8.2-2], and what the broker does not
/// offer (a Protocol Error, section 3.2.2.3), are refused with nothing sent.
#[test]
fn plain_subscribe_on_v5_checks_its_filters() {
    let mut s = plain();
    for filter in ["$share//a", "$share/g"] {
        assert_eq!(
            s.subscribe(T0, &[(filter, QoS::AtMostOnce)]),
            Err(CommandError::Invalid(
                mqtt_proto::DecodeError::InvalidSharedSubscription
            )),
            "{filter}"
        );
    }
    // Wildcard and Shared Subscription Available 0.
    let connack = [0x20, 0x07, 0x00, 0x00, 0x04, 0x28, 0x00, 0x2A, 0x00];
    let mut s = connected(Config::default(), &ConnectOptionsV5::new("c"), &connack);
    for filter in ["a/+", "#", "$share/g/t"] {
        assert_eq!(
            s.subscribe(T0, &[("a", QoS::AtLeastOnce), (filter, QoS::AtMostOnce)]),
            Err(CommandError::NotAvailableOnServer),
            "{filter}"
        );
    }
    assert!(out(&mut s, T0).is_empty());
    // A plain filter still goes out, with its empty property list.
    s.subscribe(T0, &[("a", QoS::AtLeastOnce)]).unwrap();
    assert_eq!(
        out(&mut s, T0),
        [0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, b'a', 0x01]
    );
}
