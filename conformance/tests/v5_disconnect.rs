//! MQTT 5.0 DISCONNECT both ways and the end of a connection (sections 3.14, 4.13), and the
//! AUTH fixed header (section 3.15.1): a 5.0 session against a scripted broker.
#![allow(clippy::unwrap_used)]

use conformance::v5::wire5::{self, p_str, p_u32, p_user, publish};
use conformance::v5::{Peer, Seen5};
use mqtt_session::v5::{
    ConnectReasonCode, DisconnectOptions, DisconnectReasonCode, Properties, Property,
};
use mqtt_session::{CommandError, ConnectOptionsV5, DisconnectReason, QoS, State, Violation};

/// Asserts the connection is over: the last `Disconnected` of `events` (the events of its
/// end) is `reason`, the state is Closed, and nothing is sent or reported afterwards whatever
/// comes in or however long it waits.
fn over(p: &mut Peer, events: &[Seen5], reason: DisconnectReason) {
    assert_eq!(
        events
            .iter()
            .rev()
            .find(|e| matches!(e, Seen5::Disconnected(_))),
        Some(&Seen5::Disconnected(reason)),
        "{}",
        p.transcript()
    );
    assert_eq!(p.state(), State::Closed);
    p.receive(&publish("t", b"x", 1, 1, false, &[]));
    p.receive(&wire5::PINGRESP);
    p.advance(600_000);
    assert!(p.take_sent().is_empty(), "{}", p.transcript());
    assert!(p.take_events().is_empty());
    assert_eq!(
        p.publish("t", b"y", QoS::AtMostOnce, false),
        Err(CommandError::NotConnected)
    );
}

#[test]
fn mqtt5_3_14_1_1_reserved_bits_of_a_disconnect_are_checked() {
    // DISCONNECT with a reserved flag bit set: the client sends DISCONNECT 0x81 (Malformed
    // Packet) [MQTT-3.14.1-1] and closes.
    for first in [0xE1, 0xE2, 0xE4, 0xE8, 0xEF] {
        let mut p = Peer::plain();
        p.receive(&[first, 0x01, 0x00]);
        assert_eq!(p.take_sent(), [vec![0xE0, 0x01, 0x81]], "{first:#04x}");
        let events = p.take_events();
        assert!(
            matches!(
                events.last(),
                Some(Seen5::Disconnected(DisconnectReason::ProtocolViolation(
                    Violation::Malformed(_)
                )))
            ),
            "{events:?}"
        );
        assert_eq!(p.state(), State::Closed);
    }
    // Its own DISCONNECT has them 0: E0.
    let mut p = Peer::plain();
    p.disconnect().unwrap();
    assert_eq!(p.take_sent(), [vec![0xE0, 0x00]]);
}

#[test]
fn mqtt5_3_15_1_1_auth_with_reserved_bits_set_is_malformed() {
    // AUTH fixed header bits 3-0 must all be 0: any other value is malformed and the client
    // closes [MQTT-3.15.1-1] (DISCONNECT 0x81 first).
    for first in [0xF1, 0xF2, 0xF4, 0xF8, 0xFF] {
        let mut p = Peer::plain();
        p.receive(&[first, 0x00]);
        assert_eq!(p.take_sent(), [vec![0xE0, 0x01, 0x81]], "{first:#04x}");
        assert_eq!(p.state(), State::Closed);
        assert!(matches!(
            p.take_events().last(),
            Some(Seen5::Disconnected(DisconnectReason::ProtocolViolation(
                Violation::Malformed(_)
            )))
        ));
    }
}

/// Connected to a CONNACK with Maximum Packet Size `max`.
fn limited(max: u32) -> Peer {
    let mut p = Peer::default();
    p.connected(
        &ConnectOptionsV5::new("c"),
        &wire5::connack(0, 0, &p_u32(0x27, max)),
    );
    p
}

#[test]
fn mqtt5_3_14_2_3_reason_string_and_user_property_within_the_maximum_packet_size() {
    // Maximum Packet Size 20. DISCONNECT 0x80 with a Reason String: 2 + 1 + 1 + 3 + n bytes.
    // n = 14 makes 21: refused, nothing sent, still connected [MQTT-3.14.2-3].
    let mut p = limited(20);
    let long = [Property::ReasonString("abcdefghijklmn")];
    let options = DisconnectOptions {
        reason_code: DisconnectReasonCode::UnspecifiedError,
        properties: Properties::new(&long),
    };
    assert_eq!(
        p.disconnect_with(&options),
        Err(CommandError::PacketTooLargeForServer {
            required: 21,
            maximum: 20
        })
    );
    // A User Property that makes 21 bytes: 2 + 1 + 1 + 1 + 2 + k + 2 + v, k + v = 12
    // [MQTT-3.14.2-4].
    let pair = [Property::UserProperty("key123", "val456")];
    let options = DisconnectOptions {
        reason_code: DisconnectReasonCode::NormalDisconnection,
        properties: Properties::new(&pair),
    };
    assert_eq!(
        p.disconnect_with(&options),
        Err(CommandError::PacketTooLargeForServer {
            required: 21,
            maximum: 20
        })
    );
    assert!(p.take_sent().is_empty());
    assert_eq!(p.state(), State::Connected);
    // One byte less fits: exactly 20 bytes go out.
    let fits = [Property::ReasonString("abcdefghijklm")];
    p.disconnect_with(&DisconnectOptions {
        reason_code: DisconnectReasonCode::UnspecifiedError,
        properties: Properties::new(&fits),
    })
    .unwrap();
    let sent = p.take_sent();
    assert_eq!(
        sent,
        [wire5::disconnect(0x80, &p_str(0x1F, "abcdefghijklm"))]
    );
    assert_eq!(sent[0].len(), 20);
    let mut p = limited(20);
    let pair = [Property::UserProperty("key12", "val456")];
    p.disconnect_with(&DisconnectOptions {
        reason_code: DisconnectReasonCode::NormalDisconnection,
        properties: Properties::new(&pair),
    })
    .unwrap();
    assert_eq!(
        p.take_sent(),
        [wire5::disconnect(0x00, &p_user("key12", "val456"))]
    );
}

#[test]
fn mqtt5_3_14_4_2_after_its_disconnect_the_client_closes() {
    // Its DISCONNECT written, the connection is over for the client: Disconnected (Local) tells
    // the driver to close the network connection [MQTT-3.14.4-2], and nothing else goes out
    // on it [MQTT-3.14.4-1], not even what was queued after it.
    let mut p = Peer::plain();
    p.publish("t", b"before", QoS::AtMostOnce, false).unwrap();
    p.disconnect_with(&DisconnectOptions::new(
        DisconnectReasonCode::DisconnectWithWillMessage,
    ))
    .unwrap();
    assert_eq!(
        p.publish("t", b"after", QoS::AtMostOnce, false),
        Err(CommandError::NotConnected)
    );
    assert_eq!(
        p.take_sent(),
        [
            wire5::publish_out("t", b"before", 0, 0, false, false),
            vec![0xE0, 0x01, 0x04]
        ]
    );
    let events = p.take_events();
    over(&mut p, &events, DisconnectReason::Local);
    // The same after a DISCONNECT the client sends because the broker broke the protocol.
    let mut p = Peer::plain();
    p.receive(&[0xC0, 0x00]);
    assert_eq!(p.take_sent(), [vec![0xE0, 0x01, 0x82]]);
    let events = p.take_events();
    over(
        &mut p,
        &events,
        DisconnectReason::ProtocolViolation(Violation::UnexpectedPacket(
            mqtt_session::PacketType::PingReq,
        )),
    );
}

#[test]
fn mqtt5_4_13_2_1_a_connack_error_code_closes_the_connection() {
    // CONNACK 0x80 or more: the connection is closed [MQTT-4.13.2-1]; nothing goes out.
    for (code, reason) in [
        (0x80, ConnectReasonCode::UnspecifiedError),
        (0x84, ConnectReasonCode::UnsupportedProtocolVersion),
        (0x87, ConnectReasonCode::NotAuthorized),
        (0x9F, ConnectReasonCode::ConnectionRateExceeded),
    ] {
        let mut p = Peer::default();
        p.up();
        let mut o = ConnectOptionsV5::new("c");
        o.options.keep_alive = 5;
        p.connect(&o).unwrap();
        p.take_sent();
        p.receive(&wire5::connack(0, code, &p_str(0x1F, "no")));
        let events = p.take_events();
        assert_eq!(
            events[0],
            Seen5::Response {
                packet: "CONNACK".into(),
                packet_id: None,
                codes: vec![code],
                properties: vec!["ReasonString(\"no\")".into()]
            }
        );
        assert!(!events.iter().any(|e| matches!(e, Seen5::Connected { .. })));
        over(&mut p, &events, DisconnectReason::RefusedV5(reason));
    }
}

#[test]
fn mqtt5_4_13_2_1_a_disconnect_error_code_closes_the_connection() {
    // The broker's DISCONNECT with 0x80 or more: the connection is over [MQTT-4.13.2-1]; the
    // client sends nothing back.
    for (code, reason) in [
        (0x80, DisconnectReasonCode::UnspecifiedError),
        (0x8B, DisconnectReasonCode::ServerShuttingDown),
        (0x8E, DisconnectReasonCode::SessionTakenOver),
        (0x98, DisconnectReasonCode::AdministrativeAction),
    ] {
        let mut p = Peer::plain();
        p.receive(&wire5::disconnect(code, &[]));
        let events = p.take_events();
        assert_eq!(
            events[0],
            Seen5::Response {
                packet: "DISCONNECT".into(),
                packet_id: None,
                codes: vec![code],
                properties: vec![]
            }
        );
        over(&mut p, &events, DisconnectReason::Server(reason));
    }
    // Its own DISCONNECT with 0x80 or more closes the connection as well.
    let mut p = Peer::plain();
    p.disconnect_with(&DisconnectOptions::new(
        DisconnectReasonCode::ImplementationSpecificError,
    ))
    .unwrap();
    assert_eq!(p.take_sent(), [vec![0xE0, 0x01, 0x83]]);
    let events = p.take_events();
    over(&mut p, &events, DisconnectReason::Local);
}

/// The client's AUTH carries no Reason String and no User Property (only the method and the
/// data), so neither can take it beyond the broker's Maximum Packet Size; and the AUTH as a
/// whole never goes beyond it: an answer too large is refused and nothing is sent
/// [MQTT-3.15.2-2, MQTT-3.15.2-3].
#[test]
fn mqtt5_3_15_2_2_the_client_s_auth_stays_within_the_maximum_packet_size() {
    let method = [Property::AuthenticationMethod("SCRAM")];
    let mut o = ConnectOptionsV5::new("c");
    o.properties = Properties::new(&method);
    let mut p = Peer::default();
    p.up();
    p.connect(&o).unwrap();
    p.take_sent();
    // AUTH 0x18 from the broker with the method and a challenge.
    let mut props = p_str(0x15, "SCRAM");
    props.extend(wire5::p_str(0x16, b"challenge"));
    let mut auth = vec![0xF0];
    let body_len = 1 + 1 + props.len();
    auth.push(u8::try_from(body_len).unwrap());
    auth.push(0x18);
    auth.push(u8::try_from(props.len()).unwrap());
    auth.extend(&props);
    p.receive(&auth);
    p.take_events();
    // The answer goes out as AUTH 0x18 with the method and the data, nothing more.
    let now = p.now();
    p.session_mut()
        .auth_continue(now, Some(b"response"))
        .unwrap();
    p.pump();
    let sent = p.take_sent();
    let mut answer = p_str(0x15, "SCRAM");
    answer.extend(wire5::p_str(0x16, b"response"));
    let mut expected = vec![0xF0, u8::try_from(2 + answer.len()).unwrap(), 0x18];
    expected.push(u8::try_from(answer.len()).unwrap());
    expected.extend(&answer);
    assert_eq!(sent, [expected]);
    // A CONNACK with Maximum Packet Size 40 accepts; a re-authentication whose AUTH would be
    // larger is refused before anything is written.
    let mut connack_props = p_u32(0x27, 40);
    connack_props.extend(p_str(0x15, "SCRAM"));
    p.receive(&wire5::connack(0, 0, &connack_props));
    assert!(p.take_events().contains(&Seen5::Connected {
        session_present: false
    }));
    let now = p.now();
    assert!(matches!(
        p.session_mut().reauthenticate(now, Some(&[7u8; 64])),
        Err(CommandError::PacketTooLargeForServer { .. })
    ));
    p.pump();
    assert!(p.take_sent().is_empty(), "{}", p.transcript());
    // One that fits goes out.
    p.session_mut().reauthenticate(now, Some(b"again")).unwrap();
    p.pump();
    let sent = p.take_sent();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].len() <= 40 && sent[0][0] == 0xF0 && sent[0][2] == 0x19);
}
