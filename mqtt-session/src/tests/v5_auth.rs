//! MQTT 5.0 enhanced authentication (section 4.12, AUTH section 3.15): exact bytes in and out,
//! written by hand from the standard. The method is "SCRAM-SHA-1", as in the standard's
//! example; the data are two-byte tokens.

use std::format;
use std::string::String;
use std::vec;
use std::vec::Vec;

use mqtt_proto::QoS;
use mqtt_proto::v5::{Properties, Property};

use crate::{
    CommandError, Config, ConnectOptions, ConnectOptionsV5, DisconnectReason, Event, Instant,
    Session, State, VecStore, Violation,
};

type S = Session<VecStore, Vec<u8>>;

const T0: Instant = Instant::ZERO;
const METHOD: &str = "SCRAM-SHA-1";

/// CONNECT: client id "c", Clean Start, keep alive 60, Authentication Method "SCRAM-SHA-1",
/// Authentication Data "cf".
const CONNECT: &[u8] =
    b"\x10\x21\x00\x04MQTT\x05\x02\x00\x3c\x13\x15\x00\x0bSCRAM-SHA-1\x16\x00\x02cf\x00\x01c";
/// The broker's AUTH 0x18, method and data "sf".
const AUTH_SF: &[u8] = b"\xf0\x15\x18\x13\x15\x00\x0bSCRAM-SHA-1\x16\x00\x02sf";
/// The broker's AUTH 0x18, method and data "s3".
const AUTH_S3: &[u8] = b"\xf0\x15\x18\x13\x15\x00\x0bSCRAM-SHA-1\x16\x00\x02s3";
/// Our AUTH 0x18, method and data "c2".
const AUTH_C2: &[u8] = b"\xf0\x15\x18\x13\x15\x00\x0bSCRAM-SHA-1\x16\x00\x02c2";
/// Our AUTH 0x18, method and data "c4".
const AUTH_C4: &[u8] = b"\xf0\x15\x18\x13\x15\x00\x0bSCRAM-SHA-1\x16\x00\x02c4";
/// CONNACK: accepted, method and data "s2".
const CONNACK_S2: &[u8] = b"\x20\x16\x00\x00\x13\x15\x00\x0bSCRAM-SHA-1\x16\x00\x02s2";
/// CONNACK: accepted, method only.
const CONNACK_M: &[u8] = b"\x20\x11\x00\x00\x0e\x15\x00\x0bSCRAM-SHA-1";
/// Our AUTH 0x19 Re-authenticate, method and data "r1".
const REAUTH_R1: &[u8] = b"\xf0\x15\x19\x13\x15\x00\x0bSCRAM-SHA-1\x16\x00\x02r1";
/// The broker's AUTH 0x00 Success, method and data "ok".
const AUTH_OK: &[u8] = b"\xf0\x15\x00\x13\x15\x00\x0bSCRAM-SHA-1\x16\x00\x02ok";
/// DISCONNECT 0x82 Protocol Error.
const DISCONNECT_82: [u8; 3] = [0xE0, 0x01, 0x82];

fn session(config: Config) -> S {
    Session::new(config, VecStore::new(), vec![0; 4096], vec![0; 4096])
}

fn out(s: &mut S, now: Instant) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = vec![0u8; 4096];
    while let Ok(Some(n)) = s.poll_transmit(now, &mut buf) {
        all.extend_from_slice(&buf[..n]);
    }
    all
}

fn events(s: &mut S) -> Vec<String> {
    let mut v = Vec::new();
    while let Some(e) = s.poll_event() {
        v.push(match e {
            Event::AuthContinue { method, data, .. } => {
                format!("AuthContinue {method} {}", lossy(data))
            }
            Event::Reauthenticated { method, data, .. } => {
                format!("Reauthenticated {method} {}", lossy(data))
            }
            Event::Response(r) => format!(
                "{} {:02x?} data={}",
                r.packet_type,
                r.reason_codes,
                lossy(r.properties.authentication_data())
            ),
            other => format!("{other:?}"),
        });
    }
    v
}

fn lossy(data: Option<&[u8]>) -> String {
    data.map_or("-".into(), |d| String::from_utf8_lossy(d).into_owned())
}

/// The `Disconnected` event of a violation, described.
fn violation(v: Violation) -> String {
    format!(
        "Disconnected {{ reason: {:?} }}",
        DisconnectReason::ProtocolViolation(v)
    )
}

/// The CONNECT's properties: the method, and data "cf".
const AUTH_PROPS: [Property<'static>; 2] = [
    Property::AuthenticationMethod(METHOD),
    Property::AuthenticationData(b"cf"),
];

/// A session whose CONNECT (with the method and data "cf") went out.
fn connecting(config: Config) -> S {
    let mut s = session(config);
    s.handle_transport_up(T0);
    let mut o = ConnectOptionsV5::new("c");
    o.properties = Properties::new(&AUTH_PROPS);
    s.connect(T0, &o).unwrap();
    assert_eq!(out(&mut s, T0), CONNECT);
    s
}

/// A session past one round trip and CONNACK, events drained.
fn connected() -> S {
    let mut s = connecting(Config::default());
    s.handle_receive(T0, AUTH_SF);
    s.auth_continue(T0, Some(b"c2")).unwrap();
    assert_eq!(out(&mut s, T0), AUTH_C2);
    s.handle_receive(T0, CONNACK_S2);
    assert_eq!(
        events(&mut s).last().map(String::as_str),
        Some("Connected { session_present: false }")
    );
    s
}

/// A session whose CONNECT without an Authentication Method went out.
fn connecting_without_method() -> S {
    let mut s = session(Config::default());
    s.handle_transport_up(T0);
    s.connect(T0, &ConnectOptionsV5::new("c")).unwrap();
    out(&mut s, T0);
    s
}

/// A session connected without an Authentication Method.
fn plain() -> S {
    let mut s = connecting_without_method();
    s.handle_receive(T0, &[0x20, 0x03, 0x00, 0x00, 0x00]);
    events(&mut s);
    s
}

/// After `bytes`, the session sent DISCONNECT 0x82 and ended the connection with `v`.
fn assert_protocol_error(s: &mut S, bytes: &[u8], v: Violation) {
    s.handle_receive(T0, bytes);
    assert_eq!(out(s, T0), DISCONNECT_82);
    assert_eq!(events(s).last(), Some(&violation(v)));
    assert_eq!(s.state(), State::Closed);
}

#[test]
fn one_round_trip_then_connack() {
    let mut s = connecting(Config::default());
    // [MQTT-4.12.0-2]: the broker asks for more with AUTH 0x18.
    s.handle_receive(T0, AUTH_SF);
    assert_eq!(events(&mut s), ["AuthContinue SCRAM-SHA-1 sf"]);
    assert_eq!(s.state(), State::Connecting);
    // [MQTT-4.12.0-3]: the answer is AUTH 0x18; [MQTT-4.12.0-5] with the CONNECT's method.
    s.auth_continue(T0, Some(b"c2")).unwrap();
    assert_eq!(out(&mut s, T0), AUTH_C2);
    // The successful CONNACK carries the method [MQTT-4.12.0-5], and its Authentication
    // Data reaches the application in the CONNACK's Response.
    s.handle_receive(T0, CONNACK_S2);
    assert_eq!(
        events(&mut s),
        [
            "CONNACK [00] data=s2",
            "Connected { session_present: false }"
        ]
    );
    assert_eq!(s.state(), State::Connected);
    assert!(s.server_limits().is_some());
}

#[test]
fn several_round_trips_byte_by_byte() {
    let mut s = connecting(Config::default());
    for b in AUTH_SF {
        s.handle_receive(T0, core::slice::from_ref(b));
    }
    assert_eq!(events(&mut s), ["AuthContinue SCRAM-SHA-1 sf"]);
    s.auth_continue(T0, Some(b"c2")).unwrap();
    assert_eq!(out(&mut s, T0), AUTH_C2);
    // A second step [MQTT-4.12.0-2], answered again with 0x18 [MQTT-4.12.0-3].
    for b in AUTH_S3 {
        s.handle_receive(T0, core::slice::from_ref(b));
    }
    assert_eq!(events(&mut s), ["AuthContinue SCRAM-SHA-1 s3"]);
    s.auth_continue(T0, Some(b"c4")).unwrap();
    assert_eq!(out(&mut s, T0), AUTH_C4);
    // A step without data either way: AUTH 0x18 with the method alone [MQTT-4.12.0-5].
    s.handle_receive(T0, b"\xf0\x10\x18\x0e\x15\x00\x0bSCRAM-SHA-1");
    assert_eq!(events(&mut s), ["AuthContinue SCRAM-SHA-1 -"]);
    s.auth_continue(T0, None).unwrap();
    assert_eq!(out(&mut s, T0), b"\xf0\x10\x18\x0e\x15\x00\x0bSCRAM-SHA-1");
    for b in CONNACK_M {
        s.handle_receive(T0, core::slice::from_ref(b));
    }
    assert_eq!(
        events(&mut s),
        [
            "CONNACK [00] data=-",
            "Connected { session_present: false }"
        ]
    );
}

#[test]
fn method_without_data_and_no_round_trip() {
    let mut s = session(Config::default());
    s.handle_transport_up(T0);
    let props = [Property::AuthenticationMethod(METHOD)];
    let mut o = ConnectOptionsV5::new("c");
    o.properties = Properties::new(&props);
    s.connect(T0, &o).unwrap();
    assert_eq!(
        out(&mut s, T0),
        b"\x10\x1c\x00\x04MQTT\x05\x02\x00\x3c\x0e\x15\x00\x0bSCRAM-SHA-1\x00\x01c"
    );
    // The broker accepts at once, with the method [MQTT-4.12.0-5].
    s.handle_receive(T0, CONNACK_M);
    assert_eq!(
        events(&mut s),
        [
            "CONNACK [00] data=-",
            "Connected { session_present: false }"
        ]
    );
}

#[test]
fn mqtt_3_1_2_30_only_auth_or_disconnect_before_connack() {
    let mut s = connecting(Config::default().with_offline_publish(true));
    s.handle_receive(T0, AUTH_SF);
    events(&mut s);
    // [MQTT-3.1.2-30]: nothing but AUTH or DISCONNECT until CONNACK.
    assert_eq!(
        s.subscribe(T0, &[("t", QoS::AtMostOnce)]),
        Err(CommandError::NotConnected)
    );
    assert_eq!(
        s.publish(T0, "t", b"0", QoS::AtMostOnce, false),
        Err(CommandError::NotConnected)
    );
    // A QoS 1 publish offline is held until CONNACK.
    let id = s.publish(T0, "t", b"1", QoS::AtLeastOnce, false).unwrap();
    assert!(id.is_some());
    assert_eq!(s.reauthenticate(T0, None), Err(CommandError::NotConnected));
    s.auth_continue(T0, Some(b"c2")).unwrap();
    assert_eq!(out(&mut s, T0), AUTH_C2);
    s.handle_receive(T0, CONNACK_S2);
    events(&mut s);
    assert_eq!(out(&mut s, T0), b"\x32\x07\x00\x01t\x00\x01\x00\x31");
}

#[test]
fn the_connack_timeout_bounds_the_whole_exchange() {
    let config = Config::default();
    let mut s = connecting(config);
    s.handle_receive(T0, AUTH_SF);
    assert_eq!(events(&mut s), ["AuthContinue SCRAM-SHA-1 sf"]);
    // Waiting for the application's answer: the CONNACK deadline set by connect stands.
    let deadline = T0 + config.connack_timeout;
    assert_eq!(s.poll_timeout(), Some(deadline));
    s.auth_continue(T0, Some(b"c2")).unwrap();
    assert_eq!(out(&mut s, T0), AUTH_C2);
    // An answer does not move it either.
    assert_eq!(s.poll_timeout(), Some(deadline));
    s.handle_timeout(deadline);
    assert_eq!(events(&mut s), ["Disconnected { reason: ConnAckTimeout }"]);
    assert!(out(&mut s, deadline).is_empty());
}

#[test]
fn mqtt_4_12_0_4_connack_refusal_during_the_exchange() {
    let mut s = connecting(Config::default());
    s.handle_receive(T0, AUTH_SF);
    events(&mut s);
    s.auth_continue(T0, Some(b"c2")).unwrap();
    out(&mut s, T0);
    // [MQTT-4.12.0-4]: the broker rejects with CONNACK 0x87 at any point.
    s.handle_receive(T0, &[0x20, 0x03, 0x00, 0x87, 0x00]);
    assert_eq!(
        events(&mut s),
        [
            "CONNACK [87] data=-",
            "Disconnected { reason: RefusedV5(NotAuthorized) }"
        ]
    );
    assert!(out(&mut s, T0).is_empty());
    // Even while our answer is owed.
    let mut s = connecting(Config::default());
    s.handle_receive(T0, AUTH_SF);
    s.handle_receive(T0, &[0x20, 0x03, 0x00, 0x87, 0x00]);
    assert_eq!(
        events(&mut s).last().map(String::as_str),
        Some("Disconnected { reason: RefusedV5(NotAuthorized) }")
    );
}

#[test]
fn mqtt_4_12_0_1_unsupported_method_is_a_refusal() {
    let mut s = connecting(Config::default());
    // [MQTT-4.12.0-1]: CONNACK 0x8C Bad authentication method.
    s.handle_receive(T0, &[0x20, 0x03, 0x00, 0x8C, 0x00]);
    assert_eq!(
        events(&mut s),
        [
            "CONNACK [8c] data=-",
            "Disconnected { reason: RefusedV5(BadAuthenticationMethod) }"
        ]
    );
    assert_eq!(s.state(), State::Closed);
}

#[test]
fn mqtt_4_12_1_1_reauthentication_with_a_round_trip() {
    let mut s = connected();
    // [MQTT-4.12.1-1]: AUTH 0x19 with the CONNECT's method.
    s.reauthenticate(T0, Some(b"r1")).unwrap();
    assert_eq!(out(&mut s, T0), REAUTH_R1);
    assert_eq!(
        s.reauthenticate(T0, None),
        Err(CommandError::AuthInProgress)
    );
    // Other packets flow meanwhile.
    s.publish(T0, "t", b"x", QoS::AtMostOnce, false).unwrap();
    assert_eq!(out(&mut s, T0), b"\x30\x05\x00\x01t\x00x");
    s.handle_receive(T0, AUTH_SF);
    assert_eq!(events(&mut s), ["AuthContinue SCRAM-SHA-1 sf"]);
    // [MQTT-4.12.0-3]
    s.auth_continue(T0, Some(b"c2")).unwrap();
    assert_eq!(out(&mut s, T0), AUTH_C2);
    s.handle_receive(T0, AUTH_OK);
    assert_eq!(events(&mut s), ["Reauthenticated SCRAM-SHA-1 ok"]);
    assert_eq!(s.state(), State::Connected);
    // And again, answered at once with 0x00.
    s.reauthenticate(T0, None).unwrap();
    assert_eq!(out(&mut s, T0), b"\xf0\x10\x19\x0e\x15\x00\x0bSCRAM-SHA-1");
    s.handle_receive(T0, b"\xf0\x10\x00\x0e\x15\x00\x0bSCRAM-SHA-1");
    assert_eq!(events(&mut s), ["Reauthenticated SCRAM-SHA-1 -"]);
}

#[test]
fn auth_event_carries_reason_string_and_user_properties() {
    let mut s = connecting(Config::default());
    // AUTH 0x18: method, Reason String "more", User Property k=v.
    s.handle_receive(
        T0,
        b"\xf0\x1e\x18\x1c\x15\x00\x0bSCRAM-SHA-1\x1f\x00\x04more\x26\x00\x01k\x00\x01v",
    );
    match s.poll_event() {
        Some(Event::AuthContinue {
            method,
            data,
            reason_string,
            properties,
        }) => {
            assert_eq!((method, data, reason_string), (METHOD, None, Some("more")));
            assert_eq!(
                properties.user_properties().collect::<Vec<_>>(),
                [("k", "v")]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn mqtt_4_12_0_7_no_auth_without_a_method() {
    let mut s = plain();
    // [MQTT-4.12.0-7]: none of the commands sends AUTH.
    assert_eq!(s.reauthenticate(T0, None), Err(CommandError::NoAuthMethod));
    assert_eq!(s.auth_continue(T0, None), Err(CommandError::NoAuthMethod));
    assert_eq!(s.abort_auth(T0), Err(CommandError::NoAuthMethod));
    assert!(out(&mut s, T0).is_empty());
    assert_eq!(s.state(), State::Connected);
}

#[test]
fn auth_commands_out_of_turn_are_refused() {
    let mut s = connecting(Config::default());
    // Our turn has not come: the broker has not answered CONNECT.
    assert_eq!(s.auth_continue(T0, None), Err(CommandError::AuthNotAwaited));
    s.handle_receive(T0, AUTH_SF);
    events(&mut s);
    s.auth_continue(T0, Some(b"c2")).unwrap();
    assert_eq!(s.auth_continue(T0, None), Err(CommandError::AuthNotAwaited));
    assert_eq!(out(&mut s, T0), AUTH_C2);
    s.handle_receive(T0, CONNACK_S2);
    events(&mut s);
    assert_eq!(s.auth_continue(T0, None), Err(CommandError::AuthNotAwaited));
    assert!(out(&mut s, T0).is_empty());
    // Above the broker's Maximum Packet Size [MQTT-3.2.2-15].
    let mut s = connecting(Config::default());
    s.handle_receive(
        T0,
        b"\x20\x16\x00\x00\x13\x15\x00\x0bSCRAM-SHA-1\x27\x00\x00\x00\x16",
    );
    events(&mut s);
    assert_eq!(
        s.reauthenticate(T0, Some(b"r1")),
        Err(CommandError::PacketTooLargeForServer {
            required: 23,
            maximum: 22
        })
    );
    s.reauthenticate(T0, Some(b"r")).unwrap();
    assert_eq!(out(&mut s, T0).len(), 22);
    // After the connection, nothing.
    s.handle_transport_closed(T0);
    assert_eq!(s.reauthenticate(T0, None), Err(CommandError::NotConnected));
}

#[test]
fn mqtt_4_12_0_6_auth_without_a_method_in_connect() {
    // [MQTT-4.12.0-6]: the broker must not send AUTH; DISCONNECT 0x82.
    let mut s = plain();
    assert_protocol_error(&mut s, AUTH_SF, Violation::UnexpectedAuth);
    // Nor during connect.
    let mut s = connecting_without_method();
    assert_protocol_error(&mut s, b"\xf0\x00", Violation::UnexpectedAuth);
    // Nor an Authentication Method in CONNACK.
    let mut s = connecting_without_method();
    assert_protocol_error(&mut s, CONNACK_M, Violation::UnexpectedAuth);
}

#[test]
fn mqtt_4_12_0_5_auth_with_another_or_no_method() {
    // [MQTT-4.12.0-5]: another method.
    let mut s = connecting(Config::default());
    let other = b"\xf0\x10\x18\x0e\x15\x00\x0bSCRAM-SHA-2";
    assert_protocol_error(&mut s, other, Violation::AuthMethodMismatch);
    // No method (section 3.15.2.2.2: a Protocol Error).
    let mut s = connecting(Config::default());
    let none = b"\xf0\x07\x18\x05\x16\x00\x02sf";
    assert_protocol_error(&mut s, none, Violation::AuthMethodMismatch);
    // The short form of AUTH 0x00 has no method either, during re-authentication too.
    let mut s = connected();
    s.reauthenticate(T0, None).unwrap();
    out(&mut s, T0);
    assert_protocol_error(&mut s, b"\xf0\x00", Violation::AuthMethodMismatch);
}

#[test]
fn mqtt_4_12_0_5_successful_connack_without_the_method() {
    let mut s = connecting(Config::default());
    let plain_connack = [0x20, 0x03, 0x00, 0x00, 0x00];
    // [MQTT-4.12.0-5]: any successful CONNACK has the method.
    assert_protocol_error(&mut s, &plain_connack, Violation::AuthMethodMismatch);
    let mut s = connecting(Config::default());
    let other = b"\x20\x11\x00\x00\x0e\x15\x00\x0bSCRAM-SHA-2";
    assert_protocol_error(&mut s, other, Violation::AuthMethodMismatch);
    assert!(s.server_limits().is_none());
}

#[test]
fn mqtt_3_15_2_1_reauthenticate_from_the_server() {
    // [MQTT-3.15.2-1]: 0x19 is a client's code.
    let reauth = b"\xf0\x10\x19\x0e\x15\x00\x0bSCRAM-SHA-1";
    let mut s = connecting(Config::default());
    assert_protocol_error(&mut s, reauth, Violation::ReAuthenticateFromServer);
    let mut s = connected();
    assert_protocol_error(&mut s, reauth, Violation::ReAuthenticateFromServer);
}

#[test]
fn mqtt_3_15_2_1_reason_code_not_an_auth_code_is_malformed() {
    // [MQTT-3.15.2-1]: 0x87 is no AUTH reason code: malformed, DISCONNECT 0x81.
    let mut s = connecting(Config::default());
    s.handle_receive(T0, b"\xf0\x10\x87\x0e\x15\x00\x0bSCRAM-SHA-1");
    assert_eq!(out(&mut s, T0), [0xE0, 0x01, 0x81]);
    let v = Violation::Malformed(mqtt_proto::DecodeError::InvalidAuthReasonCode);
    assert_eq!(events(&mut s), [violation(v)]);
    assert_eq!(v.rule(), "MQTT-3.15.2-1");
}

#[test]
fn mqtt_3_15_1_1_reserved_flags_are_malformed() {
    let mut s = connected();
    // [MQTT-3.15.1-1]: bits 3-0 of AUTH's first byte are 0.
    s.handle_receive(T0, b"\xf1\x10\x00\x0e\x15\x00\x0bSCRAM-SHA-1");
    assert_eq!(out(&mut s, T0), [0xE0, 0x01, 0x81]);
    let v = Violation::Malformed(mqtt_proto::DecodeError::InvalidFlags);
    assert_eq!(events(&mut s), [violation(v)]);
}

#[test]
fn mqtt_4_12_0_2_auth_success_before_connack() {
    // [MQTT-4.12.0-2]: during connect the broker's AUTH is 0x18; CONNACK ends the exchange.
    let mut s = connecting(Config::default());
    assert_protocol_error(&mut s, AUTH_OK, Violation::AuthSuccessBeforeConnAck);
    let mut s = connecting(Config::default());
    s.handle_receive(T0, AUTH_SF);
    s.auth_continue(T0, Some(b"c2")).unwrap();
    assert_eq!(out(&mut s, T0), AUTH_C2);
    assert_protocol_error(&mut s, AUTH_OK, Violation::AuthSuccessBeforeConnAck);
}

#[test]
fn mqtt_4_12_0_3_broker_out_of_turn_before_our_answer() {
    // [MQTT-4.12.0-3]: the client answers each AUTH; a second one before it is out of turn.
    let mut s = connecting(Config::default());
    let two = [AUTH_SF, AUTH_S3].concat();
    assert_protocol_error(&mut s, &two, Violation::AuthBeforeAnswer);
    // So is a successful CONNACK.
    let mut s = connecting(Config::default());
    let then_connack = [AUTH_SF, CONNACK_S2].concat();
    assert_protocol_error(&mut s, &then_connack, Violation::AuthBeforeAnswer);
    // And during re-authentication.
    let mut s = connected();
    s.reauthenticate(T0, None).unwrap();
    out(&mut s, T0);
    let then_ok = [AUTH_SF, AUTH_OK].concat();
    assert_protocol_error(&mut s, &then_ok, Violation::AuthBeforeAnswer);
}

#[test]
fn mqtt_4_12_1_1_auth_after_connack_without_reauthentication() {
    // [MQTT-4.12.1-1]: only the client starts a re-authentication.
    let mut s = connected();
    assert_protocol_error(&mut s, AUTH_SF, Violation::UnsolicitedAuth(0x18));
    let mut s = connected();
    assert_protocol_error(&mut s, AUTH_OK, Violation::UnsolicitedAuth(0x00));
    // Nor a second 0x00 after a re-authentication ended.
    let mut s = connected();
    s.reauthenticate(T0, None).unwrap();
    out(&mut s, T0);
    let twice = [AUTH_OK, AUTH_OK].concat();
    assert_protocol_error(&mut s, &twice, Violation::UnsolicitedAuth(0x00));
    assert_eq!(Violation::UnsolicitedAuth(0).rule(), "MQTT-4.12.1-1");
}

#[test]
fn mqtt_4_12_1_2_abort_sends_disconnect_0x80() {
    // During connect, while our answer is owed.
    let mut s = connecting(Config::default());
    s.handle_receive(T0, AUTH_SF);
    events(&mut s);
    s.abort_auth(T0).unwrap();
    // [MQTT-3.14.2-1]: 0x87 and 0x8C are the server's; the client's code is 0x80.
    assert_eq!(out(&mut s, T0), [0xE0, 0x01, 0x80]);
    assert_eq!(events(&mut s), ["Disconnected { reason: Local }"]);
    assert_eq!(s.auth_continue(T0, None), Err(CommandError::NotConnected));
    // After a CONNACK whose Authentication Data does not verify.
    let mut s = connected();
    s.abort_auth(T0).unwrap();
    assert_eq!(out(&mut s, T0), [0xE0, 0x01, 0x80]);
    assert_eq!(events(&mut s), ["Disconnected { reason: Local }"]);
    // [MQTT-4.12.1-2]: a re-authentication that fails ends with DISCONNECT and a close.
    let mut s = connected();
    s.reauthenticate(T0, Some(b"r1")).unwrap();
    out(&mut s, T0);
    s.handle_receive(T0, AUTH_SF);
    events(&mut s);
    s.abort_auth(T0).unwrap();
    assert_eq!(out(&mut s, T0), [0xE0, 0x01, 0x80]);
    assert_eq!(s.state(), State::Closed);
}

#[test]
fn mqtt_4_12_1_2_broker_refuses_the_reauthentication() {
    let mut s = connected();
    s.reauthenticate(T0, Some(b"r1")).unwrap();
    assert_eq!(out(&mut s, T0), REAUTH_R1);
    // [MQTT-4.12.1-2]: the broker sends DISCONNECT 0x87 and closes.
    s.handle_receive(T0, &[0xE0, 0x01, 0x87]);
    assert_eq!(
        events(&mut s),
        [
            "DISCONNECT [87] data=-",
            "Disconnected { reason: Server(NotAuthorized) }"
        ]
    );
    assert!(out(&mut s, T0).is_empty());
}

#[test]
fn the_next_connection_forgets_the_method() {
    let mut s = connected();
    s.handle_transport_closed(T0);
    events(&mut s);
    s.handle_transport_up(T0);
    s.connect(T0, &ConnectOptionsV5::new("c")).unwrap();
    out(&mut s, T0);
    s.handle_receive(T0, &[0x20, 0x03, 0x00, 0x00, 0x00]);
    events(&mut s);
    assert_eq!(s.reauthenticate(T0, None), Err(CommandError::NoAuthMethod));
    // [MQTT-4.12.0-6]
    assert_protocol_error(&mut s, AUTH_SF, Violation::UnexpectedAuth);
}

#[test]
fn a_311_session_is_unaffected() {
    let mut s = session(Config::default());
    s.handle_transport_up(T0);
    s.connect(T0, &ConnectOptions::new("c")).unwrap();
    assert_eq!(
        out(&mut s, T0),
        b"\x10\x0d\x00\x04MQTT\x04\x02\x00\x3c\x00\x01c"
    );
    s.handle_receive(T0, &[0x20, 0x02, 0x00, 0x00]);
    assert_eq!(events(&mut s), ["Connected { session_present: false }"]);
    assert_eq!(s.reauthenticate(T0, None), Err(CommandError::RequiresV5));
    assert_eq!(s.auth_continue(T0, None), Err(CommandError::RequiresV5));
    assert_eq!(s.abort_auth(T0), Err(CommandError::RequiresV5));
    assert!(out(&mut s, T0).is_empty());
    // Packet type 15 is reserved in 3.1.1: malformed, closed without DISCONNECT.
    s.handle_receive(T0, AUTH_SF);
    let v = Violation::Malformed(mqtt_proto::DecodeError::ReservedPacketType);
    assert_eq!(events(&mut s), [violation(v)]);
    assert!(out(&mut s, T0).is_empty());
}
