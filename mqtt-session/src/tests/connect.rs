//! CONNECT/CONNACK, refusals, timeouts, local disconnect, command errors.

use insta::assert_snapshot;
use mqtt_proto::{ConnAck, ConnectReturnCode, Packet, QoS, QosPid};

use super::harness::*;
use crate::{
    CommandError, Config, ConnectOptions, DisconnectReason, Instant, LastWill, State, Store,
    Violation,
};

#[test]
fn mqtt_3_1_0_1_connect_is_first_and_connack_accepts() {
    let mut h = Harness::new();
    let opts = ConnectOptions {
        client_id: "dev-1",
        clean_session: true,
        keep_alive: 30,
        username: Some("user"),
        password: Some(b"secret"),
        will: Some(LastWill {
            topic: "dev-1/status",
            payload: b"offline",
            qos: QoS::AtLeastOnce,
            retain: true,
        }),
    };
    h.connect_with(&opts);
    assert_eq!(h.s.state(), State::Connecting);
    h.recv(&connack(false));
    assert!(h.s.is_connected());
    assert_snapshot!(h.log);
}

#[test]
fn connection_refused_names_each_return_code() {
    let codes = [
        ConnectReturnCode::UnacceptableProtocolVersion,
        ConnectReturnCode::IdentifierRejected,
        ConnectReturnCode::ServerUnavailable,
        ConnectReturnCode::BadUsernameOrPassword,
        ConnectReturnCode::NotAuthorized,
    ];
    let mut h = Harness::new();
    for code in codes {
        h.connect_with(&ConnectOptions::new("c"));
        h.recv(&enc(Packet::ConnAck(ConnAck {
            session_present: false,
            code,
        })));
        assert_eq!(h.s.state(), State::Closed);
        h.close();
    }
    assert_snapshot!(h.log);
}

#[test]
fn connack_timeout_ends_the_connection() {
    let mut h = Harness::with_config(Config {
        connack_timeout: core::time::Duration::from_secs(5),
        ..Config::default()
    });
    h.connect_with(&ConnectOptions::new("c"));
    assert_eq!(h.s.poll_timeout(), Some(Instant::from_millis(5000)));
    h.advance(4999);
    assert_eq!(h.s.state(), State::Connecting);
    h.advance(1);
    assert_eq!(h.s.state(), State::Closed);
    assert_snapshot!(h.log);
}

#[test]
fn mqtt_3_2_2_1_session_present_with_clean_session_is_a_violation() {
    let mut h = Harness::new();
    h.connect_with(&ConnectOptions::new("c"));
    h.s.handle_receive(h.now, &connack(true));
    assert_eq!(
        disconnect_reason(&mut h),
        DisconnectReason::ProtocolViolation(Violation::SessionPresentWithCleanSession)
    );
}

#[test]
fn mqtt_3_14_4_2_local_disconnect_is_last_and_reported() {
    let mut h = Harness::new();
    // Clean session off: the session outlives the connection.
    let mut opts = ConnectOptions::new("client");
    opts.clean_session = false;
    h.connect_with(&opts);
    h.recv(&connack(false));
    h.s.publish(h.now, "t", b"q0", QoS::AtMostOnce, false)
        .unwrap();
    h.note("cmd publish qos=0 (not transmitted yet)");
    let id =
        h.s.publish(h.now, "t", b"q1", QoS::AtLeastOnce, false)
            .unwrap();
    h.note("cmd publish qos=1 (not transmitted yet)");
    h.s.disconnect(h.now).unwrap();
    h.note("cmd disconnect");
    assert_eq!(h.s.state(), State::Disconnecting);
    assert_eq!(
        h.s.publish(h.now, "t", b"late", QoS::AtMostOnce, false),
        Err(CommandError::NotConnected)
    );
    h.pump();
    assert_eq!(h.s.state(), State::Closed);
    // Anything arriving now is ignored; the QoS 1 message waits for a later session.
    assert!(h.s.store().outgoing_position(id.unwrap()).is_some());
    h.recv(&puback(1));
    h.close();
    assert_eq!(h.s.state(), State::TransportDown);
    assert_snapshot!(h.log);
}

#[test]
fn commands_refused_for_local_misuse_leave_state_unchanged() {
    let mut h = Harness::new();
    assert_eq!(
        h.s.connect(h.now, &ConnectOptions::new("c")),
        Err(CommandError::TransportDown)
    );
    h.s.handle_transport_up(h.now);
    let mut opts = ConnectOptions::new("");
    opts.clean_session = false;
    assert_eq!(
        h.s.connect(h.now, &opts),
        Err(CommandError::EmptyClientIdWithoutCleanSession)
    );
    let mut opts = ConnectOptions::new("c");
    opts.password = Some(b"pw");
    assert!(matches!(
        h.s.connect(h.now, &opts),
        Err(CommandError::Invalid(_))
    ));
    let mut opts = ConnectOptions::new("c");
    opts.will = Some(LastWill {
        topic: "bad/#",
        payload: b"",
        qos: QoS::AtMostOnce,
        retain: false,
    });
    assert!(matches!(
        h.s.connect(h.now, &opts),
        Err(CommandError::Invalid(_))
    ));
    assert_eq!(h.s.state(), State::TransportUp);
    h.s.connect(h.now, &ConnectOptions::new("c")).unwrap();
    assert_eq!(
        h.s.connect(h.now, &ConnectOptions::new("c")),
        Err(CommandError::AlreadyConnected)
    );
    assert_eq!(
        h.s.subscribe(h.now, &[("a", QoS::AtMostOnce)]),
        Err(CommandError::NotConnected)
    );
    h.pump();
    h.recv(&connack(false));
    assert!(matches!(
        h.s.publish(h.now, "a/+", b"", QoS::AtLeastOnce, false),
        Err(CommandError::Invalid(_))
    ));
    assert!(matches!(
        h.s.subscribe(h.now, &[("a/#/b", QoS::AtMostOnce)]),
        Err(CommandError::Invalid(_))
    ));
    assert_eq!(h.s.subscribe(h.now, &[]), Err(CommandError::NoFilters));
    assert_eq!(h.s.unsubscribe(h.now, &[]), Err(CommandError::NoFilters));
    assert_eq!(
        h.s.publish(h.now, "t", &[0; 5000], QoS::AtMostOnce, false),
        Err(CommandError::PacketTooLarge { required: 5006 })
    );
    assert_eq!(h.s.inflight(), 0);
    assert_eq!(h.s.store().outgoing_len(), 0);
    let before = h.sent.len();
    h.pump();
    assert!(
        h.sent_since(before).is_empty(),
        "refused commands sent nothing"
    );
}

#[test]
fn transport_up_while_connected_ends_the_old_connection() {
    let mut h = Harness::new();
    h.connected();
    h.s.handle_transport_up(h.now);
    assert_eq!(disconnect_reason(&mut h), DisconnectReason::TransportClosed);
    assert_eq!(h.s.state(), State::TransportUp);
}

#[test]
fn mqtt_3_1_0_1_connect_goes_first_even_if_the_broker_answers_early() {
    let mut h = Harness::new();
    h.s.handle_transport_up(h.now);
    h.s.connect(h.now, &ConnectOptions::new("c")).unwrap();
    // The broker's bytes arrive before the session's CONNECT was written out.
    let mut early = connack(false);
    early.extend(publish("t", b"x", QosPid::AtLeastOnce(pid(3)), false));
    h.s.handle_receive(h.now, &early);
    h.pump();
    assert_eq!(
        h.sent_since(0),
        [
            "CONNECT client_id=\"c\" clean_session=1 keep_alive=60",
            "PUBACK id=3"
        ]
    );
}

#[test]
fn debug_output_redacts_the_password() {
    let mut o = crate::ConnectOptions::new("dev-1");
    o.username = Some("alice");
    o.password = Some(b"hunter2");
    let d = std::format!("{o:?}");
    assert!(!d.contains("hunter2") && !d.contains("104, 117"), "{d}");
    assert!(
        d.contains("Some(<7 bytes redacted>)") && d.contains("alice"),
        "{d}"
    );
}
