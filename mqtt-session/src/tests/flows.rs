//! Every flow of the session against a scripted broker, as transcripts.

use std::string::ToString;
use std::vec::Vec;

use insta::assert_snapshot;
use mqtt_proto::{ConnAck, ConnectReturnCode, Packet, QoS, QosPid};

use super::harness::*;
use crate::{
    CommandError, Config, ConnectOptions, DisconnectReason, Event, FixedStore, Instant, LastWill,
    SessionLostPolicy, State, Store, Violation,
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
fn publish_qos0_qos1_qos2_full_flows() {
    let mut h = Harness::new();
    h.connected();
    assert_eq!(h.publish("a/0", b"zero", QoS::AtMostOnce), None);
    let id1 = h.publish("a/1", b"one", QoS::AtLeastOnce).unwrap();
    let id2 = h.publish("a/2", b"two", QoS::ExactlyOnce).unwrap();
    assert_eq!(h.s.inflight(), 2);
    h.recv(&puback(id1.get()));
    h.recv(&pubrec(id2.get()));
    assert_eq!(h.s.inflight(), 1);
    h.recv(&pubcomp(id2.get()));
    assert_eq!(h.s.inflight(), 0);
    assert_eq!(h.s.store().outgoing_len(), 0);
    assert_snapshot!(h.log);
}

#[test]
fn mqtt_3_1_2_23_pingreq_exactly_when_keep_alive_elapses() {
    let mut h = Harness::new();
    let mut opts = ConnectOptions::new("c");
    opts.keep_alive = 10;
    h.connect_with(&opts);
    h.recv(&connack(false));
    // CONNECT went out at t=0: PINGREQ is due at t=10000, not a millisecond earlier.
    assert_eq!(h.s.poll_timeout(), Some(Instant::from_millis(10_000)));
    let before = h.sent.len();
    h.advance(9_999);
    assert!(h.sent_since(before).is_empty());
    h.advance(1);
    assert_eq!(h.sent_since(before), ["PINGREQ"]);
    h.advance(500);
    h.recv(&pingresp());
    // The next interval counts from the PINGREQ (the last packet sent).
    assert_eq!(h.s.poll_timeout(), Some(Instant::from_millis(20_000)));
    assert_snapshot!(h.log);
}

#[test]
fn keep_alive_sending_resets_the_timer_receiving_does_not() {
    let mut h = Harness::new();
    let mut opts = ConnectOptions::new("c");
    opts.keep_alive = 10;
    h.connect_with(&opts);
    h.recv(&connack(false));
    h.advance(6_000);
    h.publish("t", b"x", QoS::AtMostOnce);
    assert_eq!(h.s.poll_timeout(), Some(Instant::from_millis(16_000)));
    h.advance(4_000);
    // Incoming traffic does not postpone the PINGREQ.
    h.recv(&publish("in", b"y", QosPid::AtMostOnce, false));
    assert_eq!(h.s.poll_timeout(), Some(Instant::from_millis(16_000)));
    let before = h.sent.len();
    h.advance(6_000);
    assert_eq!(h.sent_since(before), ["PINGREQ"]);
    assert_snapshot!(h.log);
}

#[test]
fn keep_alive_missing_pingresp_closes_the_connection() {
    let mut h = Harness::with_config(Config {
        ping_timeout: core::time::Duration::from_secs(3),
        ..Config::default()
    });
    let mut opts = ConnectOptions::new("c");
    opts.keep_alive = 5;
    h.connect_with(&opts);
    h.recv(&connack(false));
    let id = h.publish("t", b"kept", QoS::AtLeastOnce).unwrap();
    h.advance(5_000);
    assert_eq!(h.s.poll_timeout(), Some(Instant::from_millis(8_000)));
    h.advance(2_999);
    assert_eq!(h.s.state(), State::Connected);
    h.advance(1);
    assert_eq!(h.s.state(), State::Closed);
    assert!(h.events.last().unwrap().contains("KeepAliveTimeout"));
    // The session survives the connection.
    assert_eq!(h.s.store().outgoing_position(id), Some(0));
    assert_snapshot!(h.log);
}

#[test]
fn keep_alive_zero_sends_no_pingreq() {
    let mut h = Harness::new();
    let mut opts = ConnectOptions::new("c");
    opts.keep_alive = 0;
    h.connect_with(&opts);
    h.recv(&connack(false));
    assert_eq!(h.s.poll_timeout(), None);
    let before = h.sent.len();
    h.advance(1_000_000);
    assert!(h.sent_since(before).is_empty());
}

#[test]
fn subscribe_many_filters_with_a_failure_and_unsubscribe() {
    let mut h = Harness::new();
    h.connected();
    let id =
        h.s.subscribe(
            h.now,
            &[
                ("a/+", QoS::AtMostOnce),
                ("b/#", QoS::AtLeastOnce),
                ("$SYS/x", QoS::ExactlyOnce),
            ],
        )
        .unwrap();
    h.pump();
    h.recv(&suback(id.get(), &[0, 1, 0x80]));
    let id = h.s.unsubscribe(h.now, &["a/+", "b/#"]).unwrap();
    h.pump();
    h.recv(&unsuback(id.get()));
    assert_snapshot!(h.log);
}

#[test]
fn incoming_qos0_qos1_qos2_are_acknowledged() {
    let mut h = Harness::new();
    h.connected();
    h.recv(&publish("in/0", b"a", QosPid::AtMostOnce, false));
    h.recv(&publish("in/1", b"b", QosPid::AtLeastOnce(pid(7)), false));
    h.recv(&publish("in/2", b"c", QosPid::ExactlyOnce(pid(8)), false));
    h.recv(&pubrel(8));
    assert_snapshot!(h.log);
}

#[test]
fn mqtt_4_3_3_2_incoming_qos2_delivered_once_despite_resend() {
    let mut h = Harness::new();
    h.connected();
    h.recv(&publish("x", b"once", QosPid::ExactlyOnce(pid(3)), false));
    h.recv(&publish("x", b"once", QosPid::ExactlyOnce(pid(3)), true));
    // The resent one survives a reconnect too (the id is session state).
    h.close();
    let mut opts = ConnectOptions::new("c");
    opts.clean_session = false;
    h.connect_with(&opts);
    h.recv(&connack(true));
    h.recv(&publish("x", b"once", QosPid::ExactlyOnce(pid(3)), true));
    h.recv(&pubrel(3));
    // After PUBREL the id is free: a new message with it is delivered.
    h.recv(&publish("x", b"again", QosPid::ExactlyOnce(pid(3)), false));
    let delivered = h.events.iter().filter(|e| e.starts_with("Message")).count();
    assert_eq!(delivered, 2);
    assert_snapshot!(h.log);
}

#[test]
fn pubrel_for_unknown_id_is_answered_with_pubcomp() {
    let mut h = Harness::new();
    h.connected();
    let before = h.sent.len();
    h.recv(&pubrel(42));
    assert_eq!(h.sent_since(before), ["PUBCOMP id=42"]);
}

#[test]
fn stray_acknowledgements_do_not_kill_the_connection() {
    let mut h = Harness::new();
    h.connected();
    let id = h.publish("t", b"q1", QoS::AtLeastOnce).unwrap();
    h.recv(&puback(999));
    h.recv(&pubcomp(998));
    h.recv(&pubrec(id.get())); // wrong kind for a QoS 1 message
    h.recv(&pubcomp(id.get()));
    h.recv(&pubrec(997)); // unknown: answered with PUBREL so the broker can finish
    assert_eq!(h.s.state(), State::Connected);
    assert_eq!(h.s.inflight(), 1);
    h.recv(&puback(id.get()));
    assert_eq!(h.s.inflight(), 0);
    assert_snapshot!(h.log);
}

#[test]
fn protocol_violations_end_the_connection_with_a_named_rule() {
    let cases: Vec<(&str, bool, Vec<u8>)> = std::vec![
        ("malformed: reserved packet type", true, std::vec![0xF0, 0]),
        (
            "malformed: PUBLISH QoS 3",
            true,
            std::vec![0x36, 5, 0, 1, b'a', 0, 1]
        ),
        (
            "client never receives CONNECT",
            true,
            enc(Packet::Connect(mqtt_proto::Connect {
                clean_session: true,
                keep_alive: 0,
                client_id: "x",
                will: None,
                username: None,
                password: None,
            }))
        ),
        ("client never receives PINGREQ", true, enc(Packet::PingReq)),
        (
            "CONNACK not first",
            false,
            publish("t", b"x", QosPid::AtMostOnce, false)
        ),
        ("second CONNACK", true, connack(false)),
        ("SUBACK for no pending SUBSCRIBE", true, suback(77, &[0])),
        ("UNSUBACK for no pending UNSUBSCRIBE", true, unsuback(78)),
    ];
    let mut log = std::string::String::new();
    for (name, connected, bytes) in cases {
        let mut h = Harness::new();
        if connected {
            h.connected();
            h.publish("keep", b"me", QoS::AtLeastOnce).unwrap();
        } else {
            h.connect_with(&ConnectOptions::new("c"));
        }
        let held = h.s.store().outgoing_len();
        let n = h.s.handle_receive(h.now, &bytes);
        assert_eq!(n, bytes.len());
        let reason = disconnect_reason(&mut h);
        assert_eq!(h.s.state(), State::Closed, "{name}");
        assert_eq!(h.s.store().outgoing_len(), held, "{name}: session survives");
        let rule = match reason {
            DisconnectReason::ProtocolViolation(v) => v.rule(),
            other => panic!("{name}: {other:?}"),
        };
        log.push_str(&std::format!("{name}: {reason:?} [{rule}]\n"));
    }
    assert_snapshot!(log);
}

/// Poll events until `Disconnected` and return its reason.
fn disconnect_reason(h: &mut Harness) -> DisconnectReason {
    while let Some(e) = h.s.poll_event() {
        if let Event::Disconnected { reason } = e {
            return reason;
        }
    }
    panic!("no Disconnected event");
}

#[test]
fn suback_with_wrong_number_of_codes_is_a_violation() {
    let mut h = Harness::new();
    h.connected();
    let id =
        h.s.subscribe(h.now, &[("a", QoS::AtMostOnce), ("b", QoS::AtMostOnce)])
            .unwrap();
    h.pump();
    h.s.handle_receive(h.now, &suback(id.get(), &[0]));
    let reason = disconnect_reason(&mut h);
    assert_eq!(
        reason,
        DisconnectReason::ProtocolViolation(Violation::SubAckCountMismatch {
            expected: 2,
            received: 1
        })
    );
    assert_eq!(
        DisconnectReason::ProtocolViolation(Violation::SubAckCountMismatch {
            expected: 2,
            received: 1
        })
        .to_string(),
        "protocol violation by the broker: SUBACK with 1 return codes for 2 filters [MQTT-3.8.4-5]"
    );
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
fn window_full_is_refused_then_frees_up() {
    let c = Config {
        max_inflight: 2,
        ..Config::default()
    };
    let mut h = Harness::with_config(c);
    h.connected();
    let a = h.publish("t", b"1", QoS::AtLeastOnce).unwrap();
    h.publish("t", b"2", QoS::ExactlyOnce).unwrap();
    let err = h.s.publish(h.now, "t", b"3", QoS::AtLeastOnce, false);
    assert_eq!(err, Err(CommandError::WindowFull));
    assert_eq!(h.s.inflight(), 2);
    // QoS 0 is not limited by the window.
    assert_eq!(h.publish("t", b"q0", QoS::AtMostOnce), None);
    h.recv(&puback(a.get()));
    assert!(h.publish("t", b"3", QoS::AtLeastOnce).is_some());
    assert_snapshot!(h.log);
}

#[test]
fn bounded_queue_holds_publishes_beyond_the_window_in_order() {
    let c = Config {
        max_inflight: 1,
        max_queued: 2,
        ..Config::default()
    };
    let mut h = Harness::with_config(c);
    h.connected();
    let a = h.publish("t", b"1", QoS::AtLeastOnce).unwrap();
    let b = h.publish("t", b"2", QoS::AtLeastOnce).unwrap();
    let c2 = h.publish("t", b"3", QoS::ExactlyOnce).unwrap();
    assert_eq!(
        h.s.publish(h.now, "t", b"4", QoS::AtLeastOnce, false),
        Err(CommandError::WindowFull)
    );
    assert_eq!((h.s.inflight(), h.s.queued()), (1, 2));
    h.recv(&puback(a.get()));
    h.recv(&puback(b.get()));
    h.recv(&pubrec(c2.get()));
    h.recv(&pubcomp(c2.get()));
    assert_eq!((h.s.inflight(), h.s.queued()), (0, 0));
    assert_snapshot!(h.log);
}

#[test]
fn mqtt_2_3_1_2_packet_ids_skip_zero_and_ids_in_flight() {
    let mut h = Harness::new();
    h.connected();
    h.s.next_id = 65_534;
    let a = h.publish("t", b"a", QoS::AtLeastOnce).unwrap();
    let b = h.publish("t", b"b", QoS::AtLeastOnce).unwrap();
    let c = h.publish("t", b"c", QoS::AtLeastOnce).unwrap();
    assert_eq!((a.get(), b.get(), c.get()), (65_534, 65_535, 1));
    // Wrap all the way round: the ids still in flight are skipped.
    h.s.next_id = 65_535;
    let d = h.publish("t", b"d", QoS::AtLeastOnce).unwrap();
    assert_eq!(d.get(), 2);
    let sub = h.s.subscribe(h.now, &[("f", QoS::AtMostOnce)]).unwrap();
    assert_eq!(sub.get(), 3);
    h.s.next_id = 3;
    let e = h.publish("t", b"e", QoS::AtLeastOnce).unwrap();
    assert_eq!(e.get(), 4, "id 3 is held by the pending SUBSCRIBE");
}

#[test]
fn mqtt_4_4_0_1_resume_resends_publish_dup_and_pubrel_in_order_before_new_traffic() {
    let mut h = Harness::new();
    let mut opts = ConnectOptions::new("c");
    opts.clean_session = false;
    h.connect_with(&opts);
    h.recv(&connack(false));
    let a = h.publish("t", b"a", QoS::ExactlyOnce).unwrap();
    let b = h.publish("t", b"b", QoS::AtLeastOnce).unwrap();
    let c = h.publish("t", b"c", QoS::ExactlyOnce).unwrap();
    h.recv(&pubrec(a.get()));
    h.close();
    // Not connected: commands are refused and nothing changes.
    assert_eq!(
        h.s.publish(h.now, "t", b"x", QoS::AtLeastOnce, false),
        Err(CommandError::NotConnected)
    );
    h.connect_with(&opts);
    let before = h.sent.len();
    h.recv(&connack(true));
    h.publish("t", b"new", QoS::AtLeastOnce);
    assert_eq!(
        h.sent_since(before),
        [
            std::format!("PUBREL id={}", a.get()),
            std::format!(
                "PUBLISH qos=1 id={} dup=1 retain=0 topic=\"t\" payload=\"b\"",
                b.get()
            ),
            std::format!(
                "PUBLISH qos=2 id={} dup=1 retain=0 topic=\"t\" payload=\"c\"",
                c.get()
            ),
            "PUBLISH qos=1 id=4 dup=0 retain=0 topic=\"t\" payload=\"new\"".into(),
        ]
    );
    assert_snapshot!(h.log);
}

#[test]
fn session_lost_resend_policy_sends_held_messages_as_new() {
    let mut h = Harness::new();
    let mut opts = ConnectOptions::new("c");
    opts.clean_session = false;
    h.connect_with(&opts);
    h.recv(&connack(false));
    let a = h.publish("t", b"a", QoS::AtLeastOnce).unwrap();
    let b = h.publish("t", b"b", QoS::ExactlyOnce).unwrap();
    h.recv(&pubrec(b.get()));
    h.recv(&publish("in", b"q2", QosPid::ExactlyOnce(pid(9)), false));
    h.close();
    h.connect_with(&opts);
    h.recv(&connack(false));
    assert!(!h.s.store().contains_incoming(pid(9)));
    h.recv(&puback(a.get()));
    h.recv(&pubcomp(b.get()));
    assert_eq!(h.s.store().outgoing_len(), 0);
    assert_snapshot!(h.log);
}

#[test]
fn session_lost_drop_policy_reports_every_held_message() {
    let c = Config {
        session_lost: SessionLostPolicy::Drop,
        ..Config::default()
    };
    let mut h = Harness::with_config(c);
    h.connected();
    h.publish("t", b"a", QoS::AtLeastOnce).unwrap();
    h.publish("t", b"b", QoS::ExactlyOnce).unwrap();
    h.close();
    h.connect_with(&ConnectOptions::new("c"));
    h.recv(&connack(false));
    assert_eq!(h.s.store().outgoing_len(), 0);
    // New traffic works afterwards.
    h.publish("t", b"c", QoS::AtLeastOnce).unwrap();
    assert_snapshot!(h.log);
}

#[test]
fn packets_split_one_byte_at_a_time_and_many_at_once() {
    let mut stream = Vec::new();
    stream.extend(publish("a", b"1", QosPid::AtLeastOnce(pid(1)), false));
    stream.extend(publish("b", &[7; 300], QosPid::ExactlyOnce(pid(2)), false));
    stream.extend(pubrel(2));
    stream.extend(publish("c", b"3", QosPid::AtMostOnce, false));
    let mut whole = Harness::new();
    whole.connected();
    whole.feed(&stream, stream.len());
    let mut bytewise = Harness::new();
    bytewise.connected();
    bytewise.feed(&stream, 1);
    assert_eq!(whole.events, bytewise.events);
    assert_eq!(whole.sent, bytewise.sent);
    for chunk in [2, 3, 5, 7, 64, 299] {
        let mut h = Harness::new();
        h.connected();
        h.feed(&stream, chunk);
        assert_eq!(h.events, whole.events, "chunk {chunk}");
    }
    assert_snapshot!(whole.events.join("\n"));
}

#[test]
fn oversized_incoming_packet_ends_the_connection_before_buffering() {
    let c = Config {
        max_incoming_packet: 64,
        ..Config::default()
    };
    let mut h = Harness::with_config(c);
    h.connected();
    assert_eq!(h.s.max_incoming_packet(), 64);
    let big = publish("t", &[0; 100], QosPid::AtMostOnce, false);
    // Only the header is needed to refuse it.
    h.s.handle_receive(h.now, big.get(..3).unwrap());
    assert_eq!(
        disconnect_reason(&mut h),
        DisconnectReason::IncomingPacketTooLarge
    );
}

#[test]
fn receive_buffer_bounds_incoming_packets() {
    let mut h = Harness::new();
    h.s = crate::Session::new(
        Config::default(),
        crate::VecStore::new(),
        std::vec![0; 32],
        std::vec![0; 256],
    );
    h.connected();
    let fits = publish("t", &[1; 27], QosPid::AtMostOnce, false);
    assert_eq!(fits.len(), 32);
    h.recv(&fits);
    assert_eq!(h.s.state(), State::Connected);
    let big = publish("t", &[1; 28], QosPid::AtMostOnce, false);
    h.s.handle_receive(h.now, &big);
    assert_eq!(
        disconnect_reason(&mut h),
        DisconnectReason::IncomingPacketTooLarge
    );
}

#[test]
fn poll_transmit_reports_the_size_needed_and_writes_nothing() {
    let mut h = Harness::new();
    h.connected();
    h.s.publish(h.now, "t", &[5; 100], QoS::AtLeastOnce, false)
        .unwrap();
    let mut small = [0xEEu8; 10];
    assert_eq!(
        h.s.poll_transmit(h.now, &mut small),
        Err(crate::BufferTooSmall { required: 107 })
    );
    assert_eq!(small, [0xEE; 10]);
    let mut buf = [0u8; 107];
    assert_eq!(h.s.poll_transmit(h.now, &mut buf), Ok(Some(107)));
    assert_eq!(h.s.poll_transmit(h.now, &mut buf), Ok(None));
}

#[test]
fn time_going_backwards_is_clamped() {
    let mut h = Harness::new();
    let mut opts = ConnectOptions::new("c");
    opts.keep_alive = 10;
    h.now = Instant::from_millis(50_000);
    h.connect_with(&opts);
    h.recv(&connack(false));
    h.s.handle_timeout(Instant::from_millis(1));
    h.s.publish(Instant::ZERO, "t", b"x", QoS::AtMostOnce, false)
        .unwrap();
    let mut buf = [0u8; 64];
    h.s.poll_transmit(Instant::ZERO, &mut buf).unwrap();
    assert_eq!(h.s.poll_timeout(), Some(Instant::from_millis(60_000)));
    h.s.handle_timeout(Instant::from_millis(59_999));
    assert_eq!(h.s.poll_transmit(Instant::ZERO, &mut buf), Ok(None));
}

#[test]
fn mqtt_3_14_4_2_local_disconnect_is_last_and_reported() {
    let mut h = Harness::new();
    h.connected();
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
fn too_many_pending_requests_is_refused() {
    let mut h = Harness::new();
    h.connected();
    for _ in 0..crate::Session::<crate::VecStore, Vec<u8>>::MAX_PENDING_REQUESTS {
        h.s.subscribe(h.now, &[("a", QoS::AtMostOnce)]).unwrap();
        h.pump();
    }
    assert_eq!(
        h.s.subscribe(h.now, &[("a", QoS::AtMostOnce)]),
        Err(CommandError::TooManyPendingRequests)
    );
}

#[test]
fn fixed_store_session_runs_without_allocation_in_the_store() {
    let mut h = Harness::with(Config::default(), FixedStore::<4, 64>::new());
    h.connected();
    let a = h.publish("t", &[1; 20], QoS::AtLeastOnce).unwrap();
    h.publish("t", &[2; 20], QoS::ExactlyOnce).unwrap();
    assert_eq!(
        h.s.publish(h.now, "t", &[3; 30], QoS::AtLeastOnce, false),
        Err(CommandError::StoreFull)
    );
    h.recv(&puback(a.get()));
    h.publish("t", &[3; 30], QoS::AtLeastOnce).unwrap();
    assert_eq!(h.s.store().outgoing_len(), 2);
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
fn restored_store_is_resent_with_dup_after_a_restart() {
    // A store as a durable implementation would reload it after a process restart.
    let mut store = crate::VecStore::new();
    for (id, qos, payload) in [(7u16, QoS::AtLeastOnce, b"a"), (9, QoS::ExactlyOnce, b"b")] {
        store
            .push_outgoing(&crate::Outgoing {
                packet_id: pid(id),
                qos,
                retain: false,
                state: crate::OutgoingState::Publish,
                topic: "t",
                payload,
            })
            .unwrap();
    }
    store.release_outgoing(pid(9));
    store.insert_incoming(pid(4)).unwrap();
    let mut h = Harness::with(Config::default(), store);
    let mut opts = ConnectOptions::new("c");
    opts.clean_session = false;
    h.connect_with(&opts);
    h.recv(&connack(true));
    // The incoming QoS 2 id survived the restart: a resend is not delivered again.
    h.recv(&publish("x", b"dup", QosPid::ExactlyOnce(pid(4)), true));
    // New ids do not collide with restored ones.
    let id = h.publish("t", b"new", QoS::AtLeastOnce).unwrap();
    assert!(id.get() != 7 && id.get() != 9);
    assert_snapshot!(h.log);
}

#[test]
fn resume_with_queue_resends_the_window_then_the_queue() {
    let c = Config {
        max_inflight: 2,
        max_queued: 2,
        ..Config::default()
    };
    let mut h = Harness::with_config(c);
    let mut opts = ConnectOptions::new("c");
    opts.clean_session = false;
    h.connect_with(&opts);
    h.recv(&connack(false));
    for p in [b"1", b"2", b"3", b"4"] {
        h.publish("t", p, QoS::AtLeastOnce).unwrap();
    }
    assert_eq!(h.s.publish_capacity(), 0);
    h.close();
    h.connect_with(&opts);
    h.recv(&connack(true));
    h.recv(&puback(1));
    h.recv(&puback(2));
    h.recv(&puback(3));
    h.recv(&puback(4));
    assert_eq!(h.s.publish_capacity(), 4);
    assert_snapshot!(h.log);
}

#[test]
fn handle_receive_takes_what_fits_until_events_are_polled() {
    let mut h = Harness::new();
    h.s = crate::Session::new(
        Config::default(),
        crate::VecStore::new(),
        std::vec![0; 64],
        std::vec![0; 256],
    );
    h.connected();
    let mut stream = Vec::new();
    for i in 0..20u8 {
        stream.extend(publish("t", &[i; 10], QosPid::AtMostOnce, false));
    }
    // Without polling, the session takes only what its buffer holds.
    let mut taken = 0;
    loop {
        let n = h.s.handle_receive(h.now, stream.get(taken..).unwrap());
        if n == 0 {
            break;
        }
        taken += n;
    }
    assert!(taken < stream.len());
    // Polling frees room; everything arrives, in order.
    let mut payloads = Vec::new();
    let mut rest = stream.get(taken..).unwrap();
    loop {
        while let Some(e) = h.s.poll_event() {
            if let Event::Message(m) = e {
                payloads.push(m.payload.first().copied().unwrap());
            }
        }
        if rest.is_empty() {
            break;
        }
        let n = h.s.handle_receive(h.now, rest);
        rest = rest.get(n..).unwrap();
    }
    assert_eq!(payloads, (0..20).collect::<Vec<u8>>());
}

#[test]
fn zero_copy_receive_buffer() {
    let mut h = Harness::new();
    h.connected();
    let bytes = publish("zc", b"payload", QosPid::AtLeastOnce(pid(5)), false);
    let space = h.s.receive_buffer();
    space
        .get_mut(..bytes.len())
        .unwrap()
        .copy_from_slice(&bytes);
    h.s.handle_received(h.now, bytes.len());
    match h.s.poll_event() {
        Some(Event::Message(m)) => assert_eq!((m.topic, m.payload), ("zc", &b"payload"[..])),
        other => panic!("{other:?}"),
    }
    let before = h.sent.len();
    h.pump();
    assert_eq!(h.sent_since(before), ["PUBACK id=5"]);
}
