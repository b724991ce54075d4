//! Keep-alive with virtual time [MQTT-3.1.2-23].

use insta::assert_snapshot;
use mqtt_proto::{QoS, QosPid};

use super::harness::*;
use crate::{Config, ConnectOptions, Instant, State, Store};

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
    opts.clean_session = false;
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

/// Back-pressure is not a dead broker: while the driver withholds input, a missing PINGRESP
/// (it may be unread in the socket) does not end the connection, and a PINGREQ still goes out
/// every keep-alive interval. Once input flows again, the wait starts over: a broker that
/// really stays silent is still detected.
#[test]
fn paused_input_suspends_the_pingresp_wait_not_the_pingreq() {
    let mut h = Harness::new();
    let mut opts = ConnectOptions::new("c");
    opts.keep_alive = 2;
    h.connect_with(&opts);
    h.recv(&connack(false));
    h.s.set_input_paused(h.now, true);
    let before = h.sent.len();
    h.advance(10_000);
    assert_eq!(h.s.state(), State::Connected);
    assert_eq!(h.sent_since(before), ["PINGREQ"; 5]);
    h.s.set_input_paused(h.now, false);
    h.advance(1_999);
    assert_eq!(h.s.state(), State::Connected);
    h.advance(1);
    assert_eq!(h.s.state(), State::Closed);
    assert_eq!(h.events.last().unwrap(), "Disconnected KeepAliveTimeout");
}

/// The same without the driver saying anything: input the session holds because the
/// application does not poll its events is withheld too. Receive depth 1 in effect: the
/// application takes nothing for 10 s with keep alive 2 s, and the connection stays up; once
/// it polls, the PINGRESP waiting behind the messages is processed.
#[test]
fn unpolled_events_do_not_make_a_keep_alive_timeout() {
    let mut h = Harness::new();
    let mut opts = ConnectOptions::new("c");
    opts.keep_alive = 2;
    h.connect_with(&opts);
    h.recv(&connack(false));
    // Messages the application does not poll: more than the event queue holds.
    let mut input = std::vec::Vec::new();
    for i in 0..20u8 {
        input.extend(publish("in", &[i], QosPid::AtMostOnce, false));
    }
    assert_eq!(h.s.handle_receive(h.now, &input), input.len());
    let mut out = [0u8; 64];
    let mut pingreqs = 0;
    let mut pingresp_fed = false;
    // A driver that goes on with timers and transmission, 10 s in steps of 1 s.
    for _ in 0..10 {
        h.now = Instant::from_millis(h.now.as_millis() + 1_000);
        h.s.handle_timeout(h.now);
        while let Ok(Some(n)) = h.s.poll_transmit(h.now, &mut out) {
            if out[..n] == [0xC0, 0x00] {
                pingreqs += 1;
                if !pingresp_fed {
                    // The broker answers; the answer waits behind the messages.
                    h.s.handle_receive(h.now, &pingresp());
                    pingresp_fed = true;
                }
            }
        }
        assert_eq!(h.s.state(), State::Connected, "at {:?}", h.now);
    }
    assert!(pingreqs >= 4, "{pingreqs} PINGREQ in 10 keep-alive steps");
    // The application polls: every message, and the PINGRESP behind them.
    h.pump();
    let messages = h.events.iter().filter(|e| e.starts_with("Message")).count();
    assert_eq!(messages, 20);
    h.advance(1_000);
    assert_eq!(h.s.state(), State::Connected);
}
