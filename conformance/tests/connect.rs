//! CONNECT, CONNACK and DISCONNECT, byte for byte (sections 3.1, 3.2, 3.14).
#![allow(clippy::unwrap_used)]

use conformance::checks;
use conformance::script::{Script, Seen};
use conformance::wire;
use mqtt_session::{
    CommandError, Config, ConnectOptions, ConnectReturnCode, DecodeError, DisconnectReason,
    Instant, LastWill, PacketType, QoS, State, Violation,
};

/// Connects with `options` and returns the one packet sent (CONNECT).
fn connect_bytes(options: &ConnectOptions<'_>) -> Vec<u8> {
    let mut s = Script::new();
    s.up();
    s.connect(options).expect("connect accepted");
    let sent = s.take_sent();
    assert_eq!(sent.len(), 1, "one packet: {sent:?}");
    sent.concat()
}

/// The fixed CONNECT variable header with `flags` and keep alive `ka`, after the fixed header.
fn header(flags: u8, ka: u16) -> Vec<u8> {
    let mut v = vec![0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, flags];
    v.extend(ka.to_be_bytes());
    v
}

fn connect_packet(flags: u8, ka: u16, payload: &[u8]) -> Vec<u8> {
    let mut body = header(flags, ka);
    body.extend_from_slice(payload);
    wire::packet(0x10, &body)
}

#[test]
fn mqtt_3_1_3_3_minimal_connect_client_id_first() {
    checks![
        "MQTT-3.1.3-3",
        "MQTT-3.1.3-4",
        "U-3.1.2.1-protocol-name",
        "U-3.1.2.2-protocol-level",
        "U-3.1.2.3-connect-reserved-flag",
        "MQTT-2.2.2-1",
        "MQTT-7.0.0-2"
    ];
    let bytes = connect_bytes(&ConnectOptions::new("a"));
    assert_eq!(
        bytes,
        [
            0x10, 0x0D, // CONNECT, remaining length 13
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x04, // level 4
            0x02, // clean session, reserved bit 0 clear, no will/user/password
            0x00, 0x3C, // keep alive 60
            0x00, 0x01, b'a', // client id
        ]
    );
}

#[test]
fn mqtt_3_1_3_3_empty_client_id_is_present_with_zero_length() {
    checks!["MQTT-3.1.3-3", "MQTT-3.1.3-7"];
    let bytes = connect_bytes(&ConnectOptions::new(""));
    assert_eq!(bytes, connect_packet(0x02, 60, &[0x00, 0x00]));
}

#[test]
fn mqtt_3_1_3_7_empty_client_id_requires_clean_session() {
    checks!["MQTT-3.1.3-7"];
    let mut s = Script::new();
    s.up();
    let options = ConnectOptions {
        clean_session: false,
        ..ConnectOptions::new("")
    };
    assert_eq!(
        s.connect(&options),
        Err(CommandError::EmptyClientIdWithoutCleanSession)
    );
    assert!(s.take_sent().is_empty());
    assert_eq!(s.state(), State::TransportUp);
    // The same id with clean session on is fine.
    s.connect(&ConnectOptions::new("")).unwrap();
    assert_eq!(s.take_sent().len(), 1);
}

#[test]
fn mqtt_3_1_3_4_non_ascii_client_id_is_utf8_with_byte_length() {
    checks!["MQTT-3.1.3-4", "U-1.5.2-big-endian"];
    let bytes = connect_bytes(&ConnectOptions {
        keep_alive: 0x1234,
        ..ConnectOptions::new("grüße-é")
    });
    let id = "grüße-é".as_bytes();
    assert_eq!(id.len(), 10);
    let mut payload = vec![0x00, 0x0A];
    payload.extend_from_slice(id);
    assert_eq!(bytes, connect_packet(0x02, 0x1234, &payload));
}

#[test]
fn mqtt_3_1_3_4_client_id_with_null_is_refused() {
    checks!["MQTT-3.1.3-4", "MQTT-1.5.3-2"];
    let mut s = Script::new();
    s.up();
    assert_eq!(
        s.connect(&ConnectOptions::new("a\0b")),
        Err(CommandError::Invalid(DecodeError::NullCharacter))
    );
    assert!(s.take_sent().is_empty());
}

#[test]
fn u_1_5_3_client_id_longer_than_65535_bytes_is_refused() {
    checks!["U-1.5.3-string-length"];
    let long = "x".repeat(65_536);
    let mut s = Script::with_buffers(
        Config::default(),
        mqtt_session::VecStore::new(),
        4096,
        80_000,
    );
    s.up();
    let r = s.connect(&ConnectOptions::new(&long));
    assert_eq!(r, Err(CommandError::Invalid(DecodeError::StringTooLong)));
    // Exactly 65,535 bytes is the largest that fits.
    let longest = "x".repeat(65_535);
    s.connect(&ConnectOptions::new(&longest)).unwrap();
    let sent = s.take_sent_bytes();
    // Fixed header: type byte and a 3-byte remaining length (10 + 2 + 65,535 = 65,547).
    assert_eq!(&sent[..4], &[0x10, 0x8B, 0x80, 0x04]);
    assert_eq!(sent.len(), 4 + 10 + 2 + 65_535);
    assert_eq!(&sent[14..16], &[0xFF, 0xFF]);
}

#[test]
fn mqtt_3_1_2_6_clean_session_flag_and_keep_alive_bytes() {
    checks!["MQTT-3.1.2-6", "MQTT-3.1.2-4", "U-1.5.2-big-endian"];
    let clean = connect_bytes(&ConnectOptions {
        keep_alive: 0,
        ..ConnectOptions::new("c")
    });
    assert_eq!(clean, connect_packet(0x02, 0, &[0x00, 0x01, b'c']));
    let resume = connect_bytes(&ConnectOptions {
        clean_session: false,
        keep_alive: 65_535,
        ..ConnectOptions::new("c")
    });
    assert_eq!(resume, connect_packet(0x00, 0xFFFF, &[0x00, 0x01, b'c']));
}

#[test]
fn mqtt_3_1_2_19_user_name_and_password_present_with_their_flags() {
    checks![
        "MQTT-3.1.2-19",
        "MQTT-3.1.2-21",
        "MQTT-3.1.3-1",
        "MQTT-3.1.3-11"
    ];
    let bytes = connect_bytes(&ConnectOptions {
        username: Some("user"),
        password: Some(b"pass"),
        ..ConnectOptions::new("a")
    });
    let mut payload = wire::string("a");
    payload.extend(wire::string("user"));
    payload.extend(wire::string("pass"));
    assert_eq!(bytes, connect_packet(0xC2, 60, &payload));
}

#[test]
fn mqtt_3_1_2_19_empty_user_name_and_password_are_still_present() {
    checks!["MQTT-3.1.2-19", "MQTT-3.1.2-21"];
    let bytes = connect_bytes(&ConnectOptions {
        username: Some(""),
        password: Some(b""),
        ..ConnectOptions::new("a")
    });
    assert_eq!(
        bytes,
        connect_packet(0xC2, 60, &[0x00, 0x01, b'a', 0x00, 0x00, 0x00, 0x00])
    );
}

#[test]
fn mqtt_3_1_3_11_non_ascii_user_name_and_binary_password() {
    checks!["MQTT-3.1.3-11", "MQTT-3.1.2-21"];
    let bytes = connect_bytes(&ConnectOptions {
        username: Some("jürgen 東京"),
        password: Some(&[0x00, 0xFF, 0xC3]),
        ..ConnectOptions::new("a")
    });
    let mut payload = wire::string("a");
    payload.extend(wire::string("jürgen 東京".as_bytes()));
    payload.extend([0x00, 0x03, 0x00, 0xFF, 0xC3]);
    assert_eq!(bytes, connect_packet(0xC2, 60, &payload));
}

#[test]
fn mqtt_3_1_3_11_user_name_with_null_is_refused() {
    checks!["MQTT-3.1.3-11", "MQTT-1.5.3-2"];
    let mut s = Script::new();
    s.up();
    let r = s.connect(&ConnectOptions {
        username: Some("us\0er"),
        ..ConnectOptions::new("a")
    });
    assert_eq!(r, Err(CommandError::Invalid(DecodeError::NullCharacter)));
    assert!(s.take_sent().is_empty());
}

#[test]
fn mqtt_3_1_2_18_user_name_without_password() {
    checks!["MQTT-3.1.2-18", "MQTT-3.1.2-19", "MQTT-3.1.2-20"];
    let none = connect_bytes(&ConnectOptions::new("a"));
    assert_eq!(none[9] & 0xC0, 0x00, "no user name, no password flag");
    assert_eq!(none.len(), 15, "nothing after the client id");
    let bytes = connect_bytes(&ConnectOptions {
        username: Some("u"),
        ..ConnectOptions::new("a")
    });
    assert_eq!(bytes, connect_packet(0x82, 60, &[0, 1, b'a', 0, 1, b'u']));
}

#[test]
fn mqtt_3_1_2_22_password_without_user_name_is_refused() {
    checks!["MQTT-3.1.2-22"];
    let mut s = Script::new();
    s.up();
    let r = s.connect(&ConnectOptions {
        password: Some(b"secret"),
        ..ConnectOptions::new("a")
    });
    assert_eq!(
        r,
        Err(CommandError::Invalid(DecodeError::PasswordWithoutUsername))
    );
    assert!(s.take_sent().is_empty());
    assert_eq!(s.state(), State::TransportUp);
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
fn mqtt_3_1_2_9_will_topic_and_message_present_with_qos_and_retain() {
    checks![
        "MQTT-3.1.2-9",
        "MQTT-3.1.2-14",
        "MQTT-3.1.3-10",
        "MQTT-3.1.3-1"
    ];
    for (qos, retain, flags) in [
        (QoS::AtMostOnce, false, 0x06),
        (QoS::AtLeastOnce, false, 0x0E),
        (QoS::ExactlyOnce, false, 0x16),
        (QoS::AtMostOnce, true, 0x26),
        (QoS::AtLeastOnce, true, 0x2E),
        (QoS::ExactlyOnce, true, 0x36),
    ] {
        let bytes = connect_bytes(&ConnectOptions {
            will: Some(will(qos, retain)),
            ..ConnectOptions::new("a")
        });
        let mut payload = wire::string("a");
        payload.extend(wire::string("w/t"));
        payload.extend(wire::string("bye"));
        assert_eq!(
            bytes,
            connect_packet(flags, 60, &payload),
            "{qos:?} {retain}"
        );
        assert_ne!(bytes[9] & 0x18, 0x18, "will QoS is never 3");
    }
}

#[test]
fn mqtt_3_1_2_11_no_will_means_will_flags_zero_and_no_will_fields() {
    checks!["MQTT-3.1.2-11", "MQTT-3.1.2-13", "MQTT-3.1.2-15"];
    let bytes = connect_bytes(&ConnectOptions::new("a"));
    assert_eq!(
        bytes[9] & 0x3C,
        0,
        "will flag, will QoS and will retain are 0"
    );
    assert_eq!(&bytes[12..], &[0x00, 0x01, b'a'], "client id only");
}

#[test]
fn mqtt_3_1_3_1_all_fields_in_order() {
    checks!["MQTT-3.1.3-1", "MQTT-3.1.3-3"];
    let bytes = connect_bytes(&ConnectOptions {
        clean_session: true,
        keep_alive: 10,
        username: Some("user"),
        password: Some(b"pw"),
        will: Some(LastWill {
            topic: "status/a",
            payload: &[0x00, 0x01],
            qos: QoS::ExactlyOnce,
            retain: true,
        }),
        ..ConnectOptions::new("cid")
    });
    let mut payload = wire::string("cid");
    payload.extend(wire::string("status/a"));
    payload.extend(wire::string([0x00, 0x01]));
    payload.extend(wire::string("user"));
    payload.extend(wire::string("pw"));
    assert_eq!(bytes, connect_packet(0xF6, 10, &payload));
}

#[test]
fn mqtt_3_1_3_10_will_topic_must_be_a_valid_topic_name() {
    checks![
        "MQTT-3.1.3-10",
        "MQTT-4.7.1-1",
        "MQTT-4.7.3-1",
        "MQTT-4.7.3-2"
    ];
    for (topic, err) in [
        ("w/+", DecodeError::InvalidTopicName),
        ("w/#", DecodeError::InvalidTopicName),
        ("", DecodeError::InvalidTopicName),
        ("w\0", DecodeError::NullCharacter),
    ] {
        let mut s = Script::new();
        s.up();
        let r = s.connect(&ConnectOptions {
            will: Some(LastWill {
                topic,
                ..will(QoS::AtMostOnce, false)
            }),
            ..ConnectOptions::new("a")
        });
        assert_eq!(r, Err(CommandError::Invalid(err)), "{topic:?}");
        assert!(s.take_sent().is_empty());
    }
}

#[test]
fn connect_transcript_snapshot() {
    checks!["MQTT-3.1.3-1", "MQTT-3.1.2-9", "MQTT-3.1.2-19"];
    let mut s = Script::new();
    s.up();
    s.connect(&ConnectOptions {
        clean_session: false,
        keep_alive: 30,
        username: Some("jürgen"),
        password: Some(b"s3cret"),
        will: Some(LastWill {
            topic: "clients/sensor-7/status",
            payload: b"offline",
            qos: QoS::AtLeastOnce,
            retain: true,
        }),
        ..ConnectOptions::new("sensor-7")
    })
    .unwrap();
    s.receive(&wire::connack(0, 0));
    assert_eq!(s.state(), State::Connected);
    insta::assert_snapshot!(s.transcript());
}

#[test]
fn mqtt_3_1_0_1_connect_is_the_first_packet() {
    checks!["MQTT-3.1.0-1"];
    let mut s = Script::new();
    // No transport, or transport without CONNECT: commands are refused and nothing is sent.
    assert!(s.publish("t", b"x", QoS::AtMostOnce, false).is_err());
    s.up();
    assert_eq!(
        s.publish("t", b"x", QoS::AtLeastOnce, false),
        Err(CommandError::NotConnected)
    );
    assert_eq!(
        s.subscribe(&[("t", QoS::AtMostOnce)]),
        Err(CommandError::NotConnected)
    );
    assert_eq!(s.unsubscribe(&["t"]), Err(CommandError::NotConnected));
    assert!(s.take_sent().is_empty());
    s.connect(&ConnectOptions::new("a")).unwrap();
    // Before CONNACK, publishing is refused too, so CONNECT stays the only packet.
    assert_eq!(
        s.publish("t", b"x", QoS::AtMostOnce, false),
        Err(CommandError::NotConnected)
    );
    let sent = s.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0][0], 0x10);
}

#[test]
fn mqtt_3_1_0_1_connect_comes_before_resent_messages() {
    checks!["MQTT-3.1.0-1", "MQTT-4.4.0-1"];
    let mut s = Script::new();
    let options = ConnectOptions {
        clean_session: false,
        ..ConnectOptions::new("a")
    };
    s.connected(&options, false);
    s.publish("t", b"1", QoS::AtLeastOnce, false).unwrap();
    s.take_sent();
    s.closed();
    s.up();
    assert!(s.take_sent().is_empty(), "nothing before CONNECT");
    s.connect(&options).unwrap();
    let sent = s.take_sent();
    assert_eq!(sent.len(), 1, "only CONNECT until CONNACK: {sent:?}");
    assert_eq!(sent[0][0], 0x10);
    s.receive(&wire::connack(1, 0));
    assert_eq!(s.take_sent(), [wire::publish("t", b"1", 1, 1, true, false)]);
}

#[test]
fn u_3_2_2_3_connack_codes_1_to_5_refuse_the_connection() {
    checks!["U-3.2.2.3-connack-codes"];
    for (byte, code) in [
        (1, ConnectReturnCode::UnacceptableProtocolVersion),
        (2, ConnectReturnCode::IdentifierRejected),
        (3, ConnectReturnCode::ServerUnavailable),
        (4, ConnectReturnCode::BadUsernameOrPassword),
        (5, ConnectReturnCode::NotAuthorized),
    ] {
        let mut s = Script::new();
        s.up();
        s.connect(&ConnectOptions::new("a")).unwrap();
        s.take_sent();
        s.receive(&wire::connack(0, byte));
        assert_eq!(
            s.take_events(),
            [
                Seen::Refused(code),
                Seen::Disconnected(DisconnectReason::Refused(code))
            ]
        );
        assert_eq!(s.state(), State::Closed);
        assert!(s.take_sent().is_empty());
        assert_eq!(
            s.publish("t", b"x", QoS::AtMostOnce, false),
            Err(CommandError::NotConnected)
        );
        // Whatever follows on that connection is ignored.
        s.receive(&wire::publish("t", b"x", 1, 1, false, false));
        assert!(s.take_sent().is_empty());
        assert!(s.take_events().is_empty());
    }
}

#[test]
fn connack_refusal_transcript_snapshot() {
    checks!["U-3.2.2.3-connack-codes"];
    let mut s = Script::new();
    s.up();
    s.connect(&ConnectOptions {
        username: Some("u"),
        password: Some(b"wrong"),
        ..ConnectOptions::new("a")
    })
    .unwrap();
    s.receive(&wire::connack(0, 4));
    s.closed();
    insta::assert_snapshot!(s.transcript());
}

fn connecting(clean: bool) -> Script {
    let mut s = Script::new();
    s.up();
    s.connect(&ConnectOptions {
        clean_session: clean,
        ..ConnectOptions::new("a")
    })
    .unwrap();
    s.take_sent();
    s
}

#[test]
fn u_3_2_2_3_reserved_connack_code_closes() {
    checks!["U-3.2.2.3-connack-codes", "MQTT-4.8.0-1"];
    for code in [6u8, 0x80, 0xFF] {
        let v = connecting(true).expect_violation(&wire::connack(0, code), "MQTT-4.8.0-1");
        assert_eq!(
            v,
            Violation::Malformed(DecodeError::InvalidConnectReturnCode)
        );
    }
}

#[test]
fn u_3_2_2_1_connack_reserved_bits_set_closes() {
    checks!["U-3.2.2.1-connack-reserved-bits", "MQTT-4.8.0-1"];
    for flags in [0x02u8, 0x80, 0xFE, 0x03] {
        let v = connecting(false).expect_violation(&wire::connack(flags, 0), "MQTT-4.8.0-1");
        assert_eq!(v, Violation::Malformed(DecodeError::ConnAckReservedBits));
    }
}

#[test]
fn u_3_2_2_2_session_present_with_clean_session_closes() {
    checks!["U-3.2.2.2-session-present", "MQTT-4.8.0-1"];
    let v = connecting(true).expect_violation(&wire::connack(1, 0), "MQTT-3.2.2-1");
    assert_eq!(v, Violation::SessionPresentWithCleanSession);
}

#[test]
fn u_3_2_2_2_session_present_with_refusal_closes() {
    checks!["U-3.2.2.2-session-present"];
    let v = connecting(false).expect_violation(&wire::connack(1, 5), "MQTT-3.2.2-4");
    assert_eq!(
        v,
        Violation::Malformed(DecodeError::ConnAckSessionPresentWithError)
    );
}

#[test]
fn u_2_2_3_connack_with_wrong_length_closes() {
    checks!["U-2.2.3-remaining-length"];
    let v = connecting(true).expect_violation(&[0x20, 0x03, 0x00, 0x00, 0x00], "MQTT-4.8.0-1");
    assert_eq!(v, Violation::Malformed(DecodeError::MalformedLength));
}

#[test]
fn u_3_2_0_first_packet_not_connack_closes() {
    checks!["U-3.2.0-connack-first", "MQTT-4.8.0-1"];
    let v = connecting(true).expect_violation(
        &wire::publish("t", b"x", 0, 0, false, false),
        "MQTT-3.2.0-1",
    );
    assert_eq!(v, Violation::ConnAckNotFirst(PacketType::Publish));
    let v = connecting(true).expect_violation(&wire::pingresp(), "MQTT-3.2.0-1");
    assert_eq!(v, Violation::ConnAckNotFirst(PacketType::PingResp));
}

#[test]
fn u_3_2_0_second_connack_closes() {
    checks!["U-3.2.0-connack-first"];
    let mut s = Script::new();
    s.connected(&ConnectOptions::new("a"), false);
    let v = s.expect_violation(&wire::connack(0, 0), "MQTT-3.2.0-1");
    assert_eq!(v, Violation::DuplicateConnAck);
}

#[test]
fn connack_timeout_ends_the_connection() {
    let mut config = Config::default();
    config.connack_timeout = std::time::Duration::from_secs(5);
    let mut s = Script::with_config(config);
    s.up();
    s.connect(&ConnectOptions::new("a")).unwrap();
    assert_eq!(
        s.session().poll_timeout(),
        Some(Instant::from_millis(5_000))
    );
    s.advance(4_999);
    assert!(s.take_events().is_empty());
    s.advance(1);
    assert_eq!(
        s.take_events(),
        [Seen::Disconnected(DisconnectReason::ConnAckTimeout)]
    );
    assert_eq!(s.state(), State::Closed);
}

#[test]
fn mqtt_3_14_4_1_disconnect_is_sent_last_then_the_connection_ends() {
    checks!["MQTT-3.14.4-1", "MQTT-3.14.4-2", "U-3.14-disconnect"];
    let mut s = Script::new();
    // Clean session off, so that the session (and the QoS 1 message) outlives the connection.
    let options = ConnectOptions {
        clean_session: false,
        ..ConnectOptions::new("a")
    };
    s.connected(&options, false);
    s.publish("t", b"x", QoS::AtLeastOnce, false).unwrap();
    s.disconnect().unwrap();
    let sent = s.take_sent();
    assert_eq!(
        sent,
        [
            wire::publish("t", b"x", 1, 1, false, false),
            vec![0xE0, 0x00]
        ]
    );
    assert_eq!(
        s.take_events(),
        [Seen::Disconnected(DisconnectReason::Local)],
        "the driver is told to close the network connection"
    );
    assert_eq!(s.state(), State::Closed);
    // Nothing more on that connection: no commands, no answers, no PINGREQ.
    assert_eq!(
        s.publish("t", b"y", QoS::AtMostOnce, false),
        Err(CommandError::NotConnected)
    );
    s.receive(&wire::publish("t", b"z", 1, 9, false, false));
    s.receive(&wire::puback(1));
    s.advance(600_000);
    assert!(s.take_sent().is_empty());
    assert!(s.take_events().is_empty());
}

#[test]
fn mqtt_3_14_4_2_disconnect_while_connecting_sends_nothing_after_it() {
    checks!["MQTT-3.14.4-2"];
    let mut s = Script::new();
    s.up();
    s.connect(&ConnectOptions::new("a")).unwrap();
    s.disconnect().unwrap();
    let sent = s.take_sent();
    assert_eq!(sent.last(), Some(&vec![0xE0, 0x00]));
    s.receive(&wire::connack(0, 0));
    s.advance(120_000);
    assert!(s.take_sent().is_empty());
}

#[test]
fn mqtt_3_1_0_1_connect_goes_out_first_even_if_the_broker_answers_before_it_is_sent() {
    checks!["MQTT-3.1.0-1"];
    let mut s = Script::new();
    s.up();
    let now = s.now();
    s.session_mut()
        .connect(now, &ConnectOptions::new("early"))
        .unwrap();
    // CONNACK and a QoS 1 PUBLISH arrive before the driver polled CONNECT out.
    let mut early = wire::connack(0, 0);
    early.extend(wire::publish("t", b"x", 1, 3, false, false));
    let taken = s.session_mut().handle_receive(now, &early);
    assert_eq!(taken, early.len());
    s.pump();
    let sent = s.take_sent();
    assert_eq!(
        sent.first().map(|p| p[0]),
        Some(0x10),
        "CONNECT first: {sent:02x?}"
    );
    assert_eq!(sent.get(1), Some(&wire::puback(3)));
}
