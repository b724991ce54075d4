//! Edges around the statements: session present 0 with held incoming QoS 2 ids, a restart with
//! a smaller window, buffer and size boundaries, time going backwards, acknowledgements for
//! messages not sent yet, and commands at the wrong moment.
#![allow(clippy::unwrap_used)]

use conformance::checks;
use conformance::script::{Script, Seen};
use conformance::wire;
use mqtt_session::{
    CommandError, Config, ConnectOptions, DisconnectReason, Instant, QoS, Session, State, VecStore,
};

fn resume() -> ConnectOptions<'static> {
    ConnectOptions {
        clean_session: false,
        ..ConnectOptions::new("e")
    }
}

#[test]
fn session_present_0_forgets_incoming_qos2_ids_so_no_new_message_is_lost() {
    let mut s = Script::new();
    s.connected(&resume(), false);
    s.receive(&wire::publish("t", b"old", 2, 5, false, false));
    s.take_sent();
    s.take_events();
    s.closed();
    s.up();
    s.connect(&resume()).unwrap();
    // The broker lost the session: its next message with id 5 is a new one.
    s.receive(&wire::connack(0, 0));
    s.take_events();
    s.receive(&wire::publish("t", b"new", 2, 5, false, false));
    assert_eq!(
        s.take_events(),
        [Seen::message("t", b"new", QoS::ExactlyOnce, Some(5))]
    );
    assert_eq!(s.take_sent().last(), Some(&wire::pubrec(5)));
}

#[test]
fn restart_with_a_smaller_window_resends_everything_in_order() {
    checks!["MQTT-4.4.0-1", "MQTT-4.6.0-1", "MQTT-4.3.3-1"];
    let mut config = Config::default();
    config.max_inflight = 4;
    let mut s = Script::with_config(config);
    s.connected(&resume(), false);
    for (i, qos) in [
        QoS::AtLeastOnce,
        QoS::ExactlyOnce,
        QoS::AtLeastOnce,
        QoS::ExactlyOnce,
    ]
    .into_iter()
    .enumerate()
    {
        s.publish("w", &[b'0' + i as u8], qos, false).unwrap();
    }
    s.receive(&wire::pubrec(2));
    s.take_sent();
    s.closed();
    let old = std::mem::replace(
        s.session_mut(),
        Session::new(Config::default(), VecStore::new(), Vec::new(), Vec::new()),
    );
    let mut small = Config::default();
    small.max_inflight = 1;
    let mut s = Script::with(small, old.into_store());
    s.up();
    s.connect(&resume()).unwrap();
    s.take_sent();
    s.receive(&wire::connack(1, 0));
    let mut out = s.take_sent();
    // One at a time (window 1), in the original order, each answered before the next.
    s.receive(&wire::puback(1));
    out.extend(s.take_sent());
    s.receive(&wire::pubcomp(2));
    out.extend(s.take_sent());
    s.receive(&wire::puback(3));
    out.extend(s.take_sent());
    s.receive(&wire::pubrec(4));
    out.extend(s.take_sent());
    s.receive(&wire::pubcomp(4));
    assert_eq!(
        out,
        [
            wire::publish("w", b"0", 1, 1, true, false),
            wire::pubrel(2),
            wire::publish("w", b"2", 1, 3, true, false),
            wire::publish("w", b"3", 2, 4, true, false),
            wire::pubrel(4),
        ]
    );
    assert_eq!(s.session().inflight(), 0);
}

#[test]
fn acknowledgement_for_a_queued_message_not_sent_yet_is_ignored() {
    checks!["MQTT-4.3.2-1"];
    let mut config = Config::default();
    config.max_inflight = 1;
    config.max_queued = 2;
    let mut s = Script::with_config(config);
    s.connected(&ConnectOptions::new("e"), false);
    s.publish("q", b"1", QoS::AtLeastOnce, false).unwrap();
    s.publish("q", b"2", QoS::AtLeastOnce, false).unwrap();
    s.publish("q", b"3", QoS::ExactlyOnce, false).unwrap();
    assert_eq!(s.take_sent().len(), 1);
    assert_eq!((s.session().inflight(), s.session().queued()), (1, 2));
    // PUBACK 2 / PUBREC 3 before they were ever sent: not theirs yet.
    s.receive(&wire::puback(2));
    s.receive(&wire::pubrec(3));
    assert!(s.take_events().is_empty());
    assert!(s.take_sent().is_empty());
    s.receive(&wire::puback(1));
    assert_eq!(
        s.take_sent(),
        [wire::publish("q", b"2", 1, 2, false, false)]
    );
    s.receive(&wire::puback(2));
    assert_eq!(
        s.take_sent(),
        [wire::publish("q", b"3", 2, 3, false, false)]
    );
    assert_eq!(
        s.take_events(),
        [Seen::Acknowledged(1), Seen::Acknowledged(2)]
    );
}

#[test]
fn window_full_and_queue_full_are_refused_without_change() {
    let mut config = Config::default();
    config.max_inflight = 2;
    config.max_queued = 1;
    let mut s = Script::with_config(config);
    s.connected(&ConnectOptions::new("e"), false);
    for i in 0..3u8 {
        s.publish("q", &[i], QoS::AtLeastOnce, false).unwrap();
    }
    assert_eq!(
        s.publish("q", b"x", QoS::ExactlyOnce, false),
        Err(CommandError::WindowFull)
    );
    // QoS 0 does not use the window.
    assert_eq!(s.publish("q", b"y", QoS::AtMostOnce, false), Ok(None));
    assert_eq!((s.session().inflight(), s.session().queued()), (2, 1));
}

#[test]
fn incoming_packet_exactly_the_buffer_size_is_accepted_one_more_byte_is_not() {
    // A 64-byte receive buffer: a 64-byte PUBLISH fits, a 65-byte one does not.
    for (payload, fits) in [(59usize, true), (60, false)] {
        let mut s = Script::with_buffers(Config::default(), VecStore::new(), 64, 256);
        s.connected(&ConnectOptions::new("e"), false);
        let p = wire::publish("t", &vec![b'x'; payload], 0, 0, false, false);
        assert_eq!(p.len(), if fits { 64 } else { 65 });
        s.receive(&p);
        let events = s.take_events();
        if fits {
            assert!(matches!(&events[..], [Seen::Message { .. }]), "{events:?}");
        } else {
            assert_eq!(
                events,
                [Seen::Disconnected(DisconnectReason::IncomingPacketTooLarge)]
            );
        }
    }
}

#[test]
fn poll_transmit_with_a_small_buffer_loses_nothing() {
    let mut session = Session::new(
        Config::default(),
        VecStore::new(),
        vec![0; 256],
        vec![0; 256],
    );
    let now = Instant::ZERO;
    session.handle_transport_up(now);
    session
        .connect(now, &ConnectOptions::new("abcdef"))
        .unwrap();
    let mut tiny = [0u8; 4];
    let err = session.poll_transmit(now, &mut tiny).unwrap_err();
    assert_eq!(err.required, 20);
    assert_eq!(tiny, [0; 4], "nothing written");
    let mut buf = [0u8; 64];
    let n = session.poll_transmit(now, &mut buf).unwrap().unwrap();
    assert_eq!(
        &buf[..n],
        &wire::packet(0x10, &{
            let mut b = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60];
            b.extend(wire::string("abcdef"));
            b
        })[..]
    );
}

#[test]
fn time_going_backwards_fires_nothing_early_and_does_not_panic() {
    let mut session = Session::new(
        Config::default(),
        VecStore::new(),
        vec![0; 256],
        vec![0; 256],
    );
    let mut buf = [0u8; 256];
    let t0 = Instant::from_secs(1_000);
    session.handle_transport_up(t0);
    session
        .connect(
            t0,
            &ConnectOptions {
                keep_alive: 10,
                ..ConnectOptions::new("t")
            },
        )
        .unwrap();
    while session.poll_transmit(t0, &mut buf).unwrap().is_some() {}
    session.handle_receive(t0, &wire::connack(0, 0));
    while session.poll_event().is_some() {}
    let due = session.poll_timeout().unwrap();
    assert_eq!(due, Instant::from_secs(1_010));
    // Earlier times, even zero, change nothing.
    for t in [
        Instant::ZERO,
        Instant::from_secs(500),
        Instant::from_millis(1_009_999),
    ] {
        session.handle_timeout(t);
        assert_eq!(session.poll_transmit(t, &mut buf), Ok(None));
        assert_eq!(session.poll_timeout(), Some(due));
    }
    session.handle_timeout(due);
    let n = session.poll_transmit(due, &mut buf).unwrap().unwrap();
    assert_eq!(&buf[..n], &[0xC0, 0x00]);
}

#[test]
fn too_many_pending_requests_are_refused() {
    let mut s = Script::new();
    s.connected(&ConnectOptions::new("e"), false);
    let max = Session::<VecStore, Vec<u8>>::MAX_PENDING_REQUESTS;
    for _ in 0..max {
        s.subscribe(&[("a", QoS::AtMostOnce)]).unwrap();
    }
    assert_eq!(
        s.unsubscribe(&["a"]),
        Err(CommandError::TooManyPendingRequests)
    );
    assert_eq!(s.take_sent().len(), max);
    s.receive(&wire::suback(1, &[0]));
    s.unsubscribe(&["a"]).unwrap();
}

#[test]
fn commands_after_disconnect_is_queued_are_refused() {
    checks!["MQTT-3.14.4-2"];
    let mut s = Script::new();
    s.connected(&ConnectOptions::new("e"), false);
    // Disconnect while the session has not written it yet: everything after is refused.
    let now = s.now();
    s.session_mut().disconnect(now).unwrap();
    assert_eq!(s.state(), State::Disconnecting);
    assert_eq!(
        s.session_mut()
            .publish(now, "t", b"x", QoS::AtMostOnce, false),
        Err(CommandError::NotConnected)
    );
    assert_eq!(
        s.session_mut().subscribe(now, &[("t", QoS::AtMostOnce)]),
        Err(CommandError::NotConnected)
    );
    s.pump();
    assert_eq!(s.take_sent(), [vec![0xE0, 0x00]]);
}
