//! Incoming packets: QoS handling, exactly-once, splits, size limits, violations.

use std::vec::Vec;

use insta::assert_snapshot;
use mqtt_proto::{Packet, QoS, QosPid};

use super::harness::*;
use crate::{Config, ConnectOptions, DisconnectReason, Event, State, Store};

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
    let mut opts = ConnectOptions::new("c");
    opts.clean_session = false;
    h.connect_with(&opts);
    h.recv(&connack(false));
    h.recv(&publish("x", b"once", QosPid::ExactlyOnce(pid(3)), false));
    h.recv(&publish("x", b"once", QosPid::ExactlyOnce(pid(3)), true));
    // The resent one survives a reconnect of the session too (the id is session state).
    h.close();
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

/// A remaining length padded to more bytes than needed (`82 80 80 00` for 2) is a malformed
/// packet, a protocol violation, whatever the size limit: not a packet too large.
#[test]
fn padded_remaining_length_is_a_protocol_violation_under_any_size_limit() {
    for max in [16, 64, 4096] {
        let mut h = Harness::with_config(Config::default().with_max_incoming_packet(max));
        h.connect_with(&ConnectOptions::new("c"));
        h.s.handle_receive(h.now, &[0x20, 0x82, 0x80, 0x80, 0x00, 0x00, 0x00]);
        assert_eq!(
            disconnect_reason(&mut h),
            DisconnectReason::ProtocolViolation(crate::Violation::Malformed(
                mqtt_proto::DecodeError::MalformedLength
            )),
            "max {max}"
        );
    }
}

/// A fixed header that does not fit in the receive buffer is a packet too large for it: the
/// connection ends instead of waiting for a length byte there is no room for.
#[test]
fn a_fixed_header_longer_than_the_receive_buffer_ends_the_connection() {
    let mut h = Harness::new();
    h.s = crate::Session::new(
        Config::default(),
        crate::VecStore::new(),
        std::vec![0; 3],
        std::vec![0; 256],
    );
    h.connect_with(&ConnectOptions::new("c"));
    assert_eq!(h.s.handle_receive(h.now, &[0x20, 0xFF, 0xFF, 0x02]), 3);
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

#[test]
fn incoming_qos2_without_room_in_the_store_ends_the_connection_unacknowledged() {
    let mut h = Harness::with(Config::default(), crate::VecStore::with_limit(1));
    h.connected();
    h.recv(&publish("x", b"1", QosPid::ExactlyOnce(pid(1)), false));
    let before = h.sent.len();
    h.s.handle_receive(
        h.now,
        &publish("x", b"2", QosPid::ExactlyOnce(pid(2)), false),
    );
    assert_eq!(
        disconnect_reason(&mut h),
        crate::DisconnectReason::StoreFull
    );
    h.pump();
    // Neither delivered nor acknowledged: the broker keeps it and sends it again later.
    assert!(h.sent_since(before).is_empty());
    assert_eq!(
        h.events.iter().filter(|e| e.starts_with("Message")).count(),
        1
    );
}
