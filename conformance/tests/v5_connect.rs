//! MQTT 5.0 CONNECT and CONNACK (sections 3.1, 3.2), keep alive, and the start and end of a
//! session: a 5.0 session against a scripted broker, exact bytes written by hand.
#![allow(clippy::unwrap_used)]

use conformance::v5::wire5::{self, string};
use conformance::v5::{Peer, Seen5};
use mqtt_session::v5::{Properties, Property};
use mqtt_session::{
    CommandError, Config, ConnectOptionsV5, DecodeError, DisconnectReason, LastWill, QoS, State,
    Violation,
};

/// CONNACK accepted, no session, no properties.
fn connack() -> Vec<u8> {
    wire5::connack(0, 0, &[])
}

/// The CONNECT `options` produce, taken from a fresh session.
fn connect_bytes(options: &ConnectOptionsV5<'_>) -> Result<Vec<Vec<u8>>, CommandError> {
    let mut p = Peer::default();
    p.up();
    p.connect(options)?;
    Ok(p.take_sent())
}

#[test]
fn mqtt5_3_1_2_1_minimal_connect_bytes() {
    // Protocol name "MQTT" (00 04 4D 51 54 54), version 5 [MQTT-3.1.2-1]; flags 0x02: Clean
    // Start only, so Will QoS 0 [MQTT-3.1.2-11] and Will Retain 0 [MQTT-3.1.2-13] without a
    // will, no User Name [MQTT-3.1.2-16], no Password [MQTT-3.1.2-18]; Property Length 0
    // [MQTT-2.2.2-1]; the Client Identifier present and the first field of the payload
    // [MQTT-3.1.3-3].
    let expected = [
        0x10, 0x0E, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3C, 0x00, 0x00, 0x01,
        b'c',
    ];
    assert_eq!(
        connect_bytes(&ConnectOptionsV5::new("c")).unwrap(),
        [expected.to_vec()]
    );
    // An empty Client Identifier is still present, as a zero length [MQTT-3.1.3-3].
    assert_eq!(
        connect_bytes(&ConnectOptionsV5::new("")).unwrap(),
        [wire5::connect(0x02, 60, &[], &[0x00, 0x00])]
    );
    // Clean Start 0, keep alive 0x1234: only those bytes change.
    let mut o = ConnectOptionsV5::new("c");
    o.options.clean_session = false;
    o.options.keep_alive = 0x1234;
    assert_eq!(
        connect_bytes(&o).unwrap(),
        [wire5::connect(0x00, 0x1234, &[], &string("c"))]
    );
}

fn will(qos: QoS, retain: bool) -> LastWill<'static> {
    LastWill {
        topic: "w/t",
        payload: b"bye",
        qos,
        retain,
    }
}

#[test]
fn mqtt5_3_1_2_12_will_qos_0_1_2_and_will_retain() {
    for (qos, bits) in [
        (QoS::AtMostOnce, 0x00),
        (QoS::AtLeastOnce, 0x08),
        (QoS::ExactlyOnce, 0x10),
    ] {
        for retain in [false, true] {
            let mut o = ConnectOptionsV5::new("c");
            o.options.will = Some(will(qos, retain));
            // Will Flag (0x04), Will QoS 0, 1 or 2 in bits 3-4 [MQTT-3.1.2-12], Will Retain
            // (0x20), Clean Start.
            let flags = 0x02 | 0x04 | bits | if retain { 0x20 } else { 0 };
            // Client Identifier, Will Properties (none: length 0), Will Topic, Will Payload
            // [MQTT-3.1.2-9, MQTT-3.1.3-1].
            let mut payload = string("c");
            payload.push(0x00);
            payload.extend(string("w/t"));
            payload.extend(string("bye"));
            assert_eq!(
                connect_bytes(&o).unwrap(),
                [wire5::connect(flags, 60, &[], &payload)],
                "will qos {} retain {retain}",
                qos.as_u8()
            );
        }
    }
}

#[test]
fn mqtt5_3_1_2_16_to_19_user_name_and_password_flags() {
    type Credentials<'a> = (Option<&'a str>, Option<&'a [u8]>, u8);
    let cases: [Credentials<'_>; 4] = [
        (None, None, 0x02),
        (Some("user"), None, 0x82),
        // 5.0 allows a Password without a User Name.
        (None, Some(b"\x00pw\xff"), 0x42),
        (Some("user"), Some(b""), 0xC2),
    ];
    for (username, password, flags) in cases {
        let mut o = ConnectOptionsV5::new("c");
        o.options.username = username;
        o.options.password = password;
        // User Name present exactly when its flag is 1 [MQTT-3.1.2-16, MQTT-3.1.2-17], the
        // next field after the Client Identifier [MQTT-3.1.3-12]; Password present exactly when
        // its flag is 1 [MQTT-3.1.2-18, MQTT-3.1.2-19], last [MQTT-3.1.3-1].
        let mut payload = string("c");
        if let Some(u) = username {
            payload.extend(string(u));
        }
        if let Some(p) = password {
            payload.extend(string(p));
        }
        assert_eq!(
            connect_bytes(&o).unwrap(),
            [wire5::connect(flags, 60, &[], &payload)],
            "{username:?} {password:?}"
        );
    }
    // All fields at once, in the order of the body of the standard: Client Identifier, Will
    // Properties, Will Topic, Will Payload, User Name, Password [MQTT-3.1.3-1].
    let will_props = [Property::MessageExpiryInterval(9)];
    let mut o = ConnectOptionsV5::new("id");
    o.options.will = Some(will(QoS::AtLeastOnce, false));
    o.will_properties = Properties::new(&will_props);
    o.options.username = Some("u");
    o.options.password = Some(b"p");
    let mut payload = string("id");
    payload.extend([0x05, 0x02, 0x00, 0x00, 0x00, 0x09]);
    payload.extend(string("w/t"));
    payload.extend(string("bye"));
    payload.extend(string("u"));
    payload.extend(string("p"));
    assert_eq!(
        connect_bytes(&o).unwrap(),
        [wire5::connect(0xCE, 60, &[], &payload)]
    );
}

#[test]
fn mqtt5_3_1_3_4_client_id_will_topic_and_user_name_are_utf8_strings() {
    // Non-ASCII text goes out as its UTF-8 bytes, length in bytes.
    let mut o = ConnectOptionsV5::new("é");
    o.options.username = Some("ü");
    o.options.will = Some(LastWill {
        topic: "€",
        payload: b"",
        qos: QoS::AtMostOnce,
        retain: false,
    });
    let mut payload = vec![0x00, 0x02, 0xC3, 0xA9, 0x00];
    payload.extend([0x00, 0x03, 0xE2, 0x82, 0xAC, 0x00, 0x00]);
    payload.extend([0x00, 0x02, 0xC3, 0xBC]);
    assert_eq!(
        connect_bytes(&o).unwrap(),
        [wire5::connect(0x86, 60, &[], &payload)]
    );
    // A string a UTF-8 Encoded String may not be is refused, and nothing is sent: U+0000 in
    // the Client Identifier [MQTT-3.1.3-4], the Will Topic [MQTT-3.1.3-11] or the User Name
    // [MQTT-3.1.3-12] [MQTT-1.5.4-2].
    let mut cases = Vec::new();
    cases.push(ConnectOptionsV5::new("a\0b"));
    let mut o = ConnectOptionsV5::new("c");
    o.options.will = Some(LastWill {
        topic: "w\0",
        ..will(QoS::AtMostOnce, false)
    });
    cases.push(o);
    let mut o = ConnectOptionsV5::new("c");
    o.options.username = Some("\0");
    cases.push(o);
    for o in &cases {
        let mut p = Peer::default();
        p.up();
        assert_eq!(
            p.connect(o),
            Err(CommandError::Invalid(DecodeError::NullCharacter)),
            "{o:?}"
        );
        assert_eq!(p.take_sent(), Vec::<Vec<u8>>::new());
        assert_eq!(p.state(), State::TransportUp);
    }
    // Longer than a UTF-8 Encoded String can be (65,535 bytes) [MQTT-3.1.3-4].
    let long = "x".repeat(65_536);
    let mut p = Peer::with_buffers(Config::default(), 4096, 1 << 18);
    p.up();
    assert_eq!(
        p.connect(&ConnectOptionsV5::new(&long)),
        Err(CommandError::Invalid(DecodeError::StringTooLong))
    );
    assert_eq!(p.take_sent(), Vec::<Vec<u8>>::new());
    // The Will Topic is a Topic Name: no wildcards [MQTT-3.1.3-11].
    for topic in ["w/#", "+", ""] {
        let mut o = ConnectOptionsV5::new("c");
        o.options.will = Some(LastWill {
            topic,
            ..will(QoS::AtMostOnce, false)
        });
        assert_eq!(
            connect_bytes(&o),
            Err(CommandError::Invalid(DecodeError::InvalidTopicName)),
            "{topic:?}"
        );
    }
}

#[test]
fn mqtt5_3_1_0_1_connect_is_the_first_packet() {
    // Nothing goes out before CONNECT: not a PINGREQ, whatever the time.
    let mut p = Peer::default();
    p.up();
    p.advance(120_000);
    assert!(p.take_sent().is_empty());
    // The broker's CONNACK arrives before the CONNECT was even polled out: CONNECT still goes
    // out first [MQTT-3.1.0-1].
    let now = p.now();
    p.session_mut()
        .connect(now, &ConnectOptionsV5::new("c"))
        .unwrap();
    p.receive_unpolled(&connack());
    p.pump();
    let sent = p.take_sent();
    assert_eq!(sent.first().map(|c| c[0]), Some(0x10), "{}", p.transcript());
    assert_eq!(sent.len(), 1);
}

#[test]
fn mqtt5_3_1_0_1_connect_comes_before_the_resent_messages() {
    let expiry = [Property::SessionExpiryInterval(600)];
    let mut o = ConnectOptionsV5::new("c");
    o.options.clean_session = false;
    o.properties = Properties::new(&expiry);
    let mut p = Peer::default();
    p.connected(&o, &connack());
    p.publish("t", b"a", QoS::AtLeastOnce, false).unwrap();
    p.take_sent();
    p.closed();
    p.up();
    p.connect(&o).unwrap();
    // Only the CONNECT until the CONNACK [MQTT-3.1.0-1].
    let sent = p.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0][0], 0x10);
    p.receive(&wire5::connack(1, 0, &[]));
    assert_eq!(
        p.take_sent(),
        [wire5::publish_out("t", b"a", 1, 1, true, false)]
    );
}

#[test]
fn mqtt5_3_1_2_20_pingreq_when_nothing_else_is_sent() {
    let mut o = ConnectOptionsV5::new("c");
    o.options.keep_alive = 10;
    let mut p = Peer::default();
    p.connected(&o, &connack());
    p.advance(9_999);
    assert!(p.take_sent().is_empty());
    // Keep Alive 10 s and nothing sent for 10 s: PINGREQ [MQTT-3.1.2-20].
    p.advance(1);
    assert_eq!(p.take_sent(), [wire5::PINGREQ.to_vec()]);
    p.receive(&wire5::PINGRESP);
    // Any other packet sent restarts the interval; packets received do not.
    p.advance(5_000);
    p.publish("t", b"x", QoS::AtMostOnce, false).unwrap();
    assert_eq!(p.take_sent().len(), 1);
    p.receive(&wire5::publish("in", b"y", 0, 0, false, &[]));
    p.advance(9_999);
    assert!(p.take_sent().is_empty());
    p.advance(1);
    assert_eq!(p.take_sent(), [wire5::PINGREQ.to_vec()]);

    // Keep Alive 0: keep alive is off, no PINGREQ ever.
    o.options.keep_alive = 0;
    let mut p = Peer::default();
    p.connected(&o, &connack());
    p.advance(3_600_000);
    assert!(p.take_sent().is_empty());
    assert_eq!(p.state(), State::Connected);
}

#[test]
fn mqtt5_3_1_2_21_the_server_keep_alive_replaces_ours() {
    // We send 60 s; the CONNACK's Server Keep Alive (0x13) says 5 s, 120 s or 0: that value
    // is used instead [MQTT-3.1.2-21, MQTT-3.2.2-21], for the PINGREQ of [MQTT-3.1.2-20].
    for (server, first_ping) in [(5u16, Some(5_000u64)), (120, Some(120_000)), (0, None)] {
        let mut p = Peer::default();
        p.connected(
            &ConnectOptionsV5::new("c"),
            &wire5::connack(0, 0, &wire5::p_u16(0x13, server)),
        );
        assert_eq!(p.session().server_limits().unwrap().keep_alive, server);
        match first_ping {
            Some(at) => {
                p.advance(at - 1);
                assert!(p.take_sent().is_empty(), "server keep alive {server}");
                p.advance(1);
                assert_eq!(p.take_sent(), [wire5::PINGREQ.to_vec()]);
                p.receive(&wire5::PINGRESP);
                p.advance(at);
                assert_eq!(p.take_sent(), [wire5::PINGREQ.to_vec()]);
            }
            None => {
                p.advance(3_600_000);
                assert!(p.take_sent().is_empty(), "server keep alive 0");
                assert_eq!(p.state(), State::Connected);
            }
        }
    }
}

/// A session with Session Expiry Interval 600 and Clean Start 0, connected.
fn lasting() -> (Peer, [Property<'static>; 1]) {
    let expiry = [Property::SessionExpiryInterval(600)];
    let mut p = Peer::default();
    let mut o = ConnectOptionsV5::new("c");
    o.options.clean_session = false;
    o.properties = Properties::new(&expiry);
    p.connected(&o, &connack());
    (p, expiry)
}

/// Session state of both kinds: QoS 1 id 1 unacknowledged, QoS 2 id 2 after PUBREC (PUBREL
/// sent), and an incoming QoS 2 id 7 awaiting its PUBREL. Returns the peer after the
/// connection closed.
fn with_session_state() -> (Peer, [Property<'static>; 1]) {
    let (mut p, expiry) = lasting();
    p.publish("t", b"one", QoS::AtLeastOnce, false).unwrap();
    p.publish("t", b"two", QoS::ExactlyOnce, false).unwrap();
    p.receive(&wire5::ack(0x50, 2));
    p.receive(&wire5::publish("in", b"q2", 2, 7, false, &[]));
    assert_eq!(
        p.take_sent(),
        [
            wire5::publish_out("t", b"one", 1, 1, false, false),
            wire5::publish_out("t", b"two", 2, 2, false, false),
            wire5::ack(0x62, 2),
            wire5::ack(0x50, 7),
        ]
    );
    p.closed();
    p.take_events();
    (p, expiry)
}

#[test]
fn mqtt5_3_1_2_4_clean_start_discards_the_session() {
    let (mut p, expiry) = with_session_state();
    let mut o = ConnectOptionsV5::new("c");
    o.properties = Properties::new(&expiry);
    p.up();
    p.connect(&o).unwrap();
    // Clean Start 1: the session ends at once [MQTT-3.1.2-4]: QoS 1 id 1 becomes a new message
    // (a new id), QoS 2 id 2 was accepted by the broker (PUBREC) and is not sent again.
    assert_eq!(
        p.take_events(),
        [
            Seen5::Republished { old: 1, new: 3 },
            Seen5::AcceptedSessionEnded(2)
        ]
    );
    assert_eq!(p.take_sent().len(), 1);
    p.receive(&connack());
    // No PUBLISH with DUP, no PUBREL of the old session: the message goes out as new.
    assert_eq!(
        p.take_sent(),
        [wire5::publish_out("t", b"one", 1, 3, false, false)]
    );
    // Incoming id 7 is forgotten: a QoS 2 PUBLISH with it is a new message.
    p.take_events();
    p.receive(&wire5::publish("in", b"again", 2, 7, false, &[]));
    assert_eq!(
        p.take_events(),
        [Seen5::message("in", b"again", QoS::ExactlyOnce, Some(7))]
    );
}

#[test]
fn mqtt5_3_2_2_5_session_present_0_discards_the_session_state() {
    let (mut p, expiry) = with_session_state();
    let mut o = ConnectOptionsV5::new("c");
    o.options.clean_session = false;
    o.properties = Properties::new(&expiry);
    p.up();
    p.connect(&o).unwrap();
    assert!(p.take_events().is_empty());
    assert_eq!(p.take_sent().len(), 1);
    // The broker has no session: the client, continuing, discards its own [MQTT-3.2.2-5].
    p.receive(&connack());
    assert_eq!(
        p.take_events(),
        [
            Seen5::Response {
                packet: "CONNACK".into(),
                packet_id: None,
                codes: vec![0],
                properties: vec![]
            },
            Seen5::Connected {
                session_present: false
            },
            Seen5::Republished { old: 1, new: 3 },
            Seen5::AcceptedSessionEnded(2)
        ]
    );
    assert_eq!(
        p.take_sent(),
        [wire5::publish_out("t", b"one", 1, 3, false, false)]
    );
    p.receive(&wire5::publish("in", b"again", 2, 7, false, &[]));
    assert_eq!(
        p.take_events(),
        [Seen5::message("in", b"again", QoS::ExactlyOnce, Some(7))]
    );
    assert_eq!(p.take_sent(), [wire5::ack(0x50, 7)]);
}

#[test]
fn session_present_after_clean_start_closes() {
    // Clean Start 1: the client has no session state; Session Present 1 closes the connection
    // (section 3.2.2.1.2), after a DISCONNECT 0x82 (Protocol Error). Not tagged: after a
    // session that ended with its connection (Session Expiry Interval 0), Session Present 1 on
    // a Clean Start 0 reconnect is accepted, which the statement forbids.
    let mut p = Peer::default();
    p.up();
    p.connect(&ConnectOptionsV5::new("c")).unwrap();
    p.take_sent();
    p.receive(&wire5::connack(1, 0, &[]));
    assert_eq!(p.take_sent(), [vec![0xE0, 0x01, 0x82]]);
    let events = p.take_events();
    assert!(
        !events.iter().any(|e| matches!(e, Seen5::Connected { .. })),
        "{events:?}"
    );
    assert_eq!(
        events.last(),
        Some(&Seen5::Disconnected(DisconnectReason::ProtocolViolation(
            Violation::SessionPresentWithCleanSession
        )))
    );
    assert_eq!(p.state(), State::Closed);
    // Nothing is read or sent after that.
    p.receive(&wire5::publish("t", b"x", 1, 1, false, &[]));
    assert!(p.take_sent().is_empty());
    assert!(p.take_events().is_empty());
}

#[test]
fn mqtt5_3_2_2_4_session_present_after_the_session_ended_closes() {
    // Session Expiry Interval 0 (absent): the session ends with the connection, and the QoS 1
    // message held becomes a new one. On the next connection the client has no session
    // state, so Session Present 1 must close the connection [MQTT-3.2.2-4].
    let mut o = ConnectOptionsV5::new("c");
    o.options.clean_session = false;
    let mut p = Peer::default();
    p.connected(&o, &connack());
    p.publish("t", b"a", QoS::AtLeastOnce, false).unwrap();
    p.closed();
    assert_eq!(
        p.take_events(),
        [
            Seen5::Disconnected(DisconnectReason::TransportClosed),
            Seen5::Republished { old: 1, new: 2 }
        ]
    );
    p.up();
    p.connect(&o).unwrap();
    p.take_sent();
    p.receive(&wire5::connack(1, 0, &[]));
    let events = p.take_events();
    assert!(
        !events.iter().any(|e| matches!(e, Seen5::Connected { .. })),
        "{events:?}"
    );
    assert_ne!(p.state(), State::Connected);
    assert!(
        !p.take_sent().iter().any(|b| b[0] & 0xF0 == 0x30),
        "no PUBLISH on a connection that must close"
    );
}

#[test]
fn mqtt5_3_1_3_2_state_is_not_resumed_under_another_client_id() {
    // State held for client id "c" (a QoS 1 message in flight) is not that of a session of
    // client id "other" [MQTT-3.1.3-2]: it must not be resent there as a duplicate.
    let (mut p, expiry) = lasting();
    p.publish("t", b"a", QoS::AtLeastOnce, false).unwrap();
    p.closed();
    let mut o = ConnectOptionsV5::new("other");
    o.options.clean_session = false;
    o.properties = Properties::new(&expiry);
    p.up();
    p.connect(&o).unwrap();
    p.take_sent();
    p.receive(&wire5::connack(1, 0, &[]));
    assert!(
        !p.take_sent()
            .contains(&wire5::publish_out("t", b"a", 1, 1, true, false)),
        "client c's PUBLISH resent into client other's session"
    );
}
