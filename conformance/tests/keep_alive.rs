//! Keep alive: PINGREQ when nothing was sent for the keep-alive interval [MQTT-3.1.2-23], and
//! the PINGRESP timeout.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use conformance::checks;
use conformance::script::{Script, Seen};
use conformance::wire;
use mqtt_session::{
    Config, ConnectOptions, DecodeError, DisconnectReason, Instant, QoS, State, Violation,
};

const PINGREQ: [u8; 2] = [0xC0, 0x00];

fn connected(keep_alive: u16) -> Script {
    let mut s = Script::new();
    s.connected(
        &ConnectOptions {
            keep_alive,
            ..ConnectOptions::new("k")
        },
        false,
    );
    s
}

#[test]
fn mqtt_3_1_2_23_pingreq_when_idle_for_the_keep_alive() {
    checks!["MQTT-3.1.2-23", "U-3.12-pingreq"];
    let mut s = connected(10);
    assert_eq!(s.session().poll_timeout(), Some(Instant::from_secs(10)));
    s.advance(9_999);
    assert!(s.take_sent().is_empty(), "not before the interval");
    s.advance(1);
    assert_eq!(s.take_sent(), [PINGREQ.to_vec()]);
    s.receive(&wire::pingresp());
    assert!(s.take_events().is_empty());
    // The next one is 10 s after this one.
    s.advance(9_999);
    assert!(s.take_sent().is_empty());
    s.advance(1);
    assert_eq!(s.take_sent(), [PINGREQ.to_vec()]);
}

#[test]
fn mqtt_3_1_2_23_any_packet_sent_restarts_the_interval() {
    checks!["MQTT-3.1.2-23"];
    let mut s = connected(10);
    s.advance(6_000);
    s.publish("t", b"x", QoS::AtMostOnce, false).unwrap();
    s.take_sent();
    s.advance(9_999);
    assert!(
        s.take_sent().is_empty(),
        "interval counted from the PUBLISH"
    );
    s.advance(1);
    assert_eq!(s.take_sent(), [PINGREQ.to_vec()]);
}

#[test]
fn mqtt_3_1_2_23_received_packets_do_not_count_as_sent() {
    checks!["MQTT-3.1.2-23"];
    let mut s = connected(10);
    // The broker talks (QoS 0 needs no answer), the client sends nothing: PINGREQ stays due.
    for _ in 0..9 {
        s.advance(1_000);
        s.receive(&wire::publish("t", b"x", 0, 0, false, false));
    }
    s.advance(1_000);
    assert_eq!(s.take_sent(), [PINGREQ.to_vec()]);
}

#[test]
fn mqtt_3_1_2_23_gap_between_sent_packets_never_exceeds_keep_alive() {
    checks!["MQTT-3.1.2-23"];
    let mut s = connected(3);
    let start = s.now();
    // Ten minutes of uneven activity: publishes at odd moments, PINGRESP soon after PINGREQ.
    let steps = [700u64, 2_999, 1, 5_000, 1_234, 3_001, 250, 4_400];
    let mut t = 0;
    for i in 0..600usize {
        let step = steps[i % steps.len()];
        t += step;
        s.advance(step);
        if s.take_sent().contains(&PINGREQ.to_vec()) {
            s.receive(&wire::pingresp());
        }
        if i % 3 == 0 {
            s.publish("t", b"x", QoS::AtMostOnce, false).unwrap();
            s.take_sent();
        }
    }
    assert!(t > 600_000);
    assert!(s.session().is_connected());
    let mut last = start.as_millis();
    let mut pings = 0;
    for (at, packet) in s.history() {
        let gap = at.as_millis() - last;
        assert!(gap <= 3_000, "{gap} ms without sending, until {at:?}");
        last = at.as_millis();
        pings += usize::from(packet[..] == PINGREQ);
    }
    assert!(pings > 100, "{pings} PINGREQ");
}

#[test]
fn keep_alive_zero_sends_no_pingreq() {
    checks!["MQTT-3.1.2-23"];
    let mut s = connected(0);
    assert_eq!(s.session().poll_timeout(), None);
    s.advance(3_600_000);
    assert!(s.take_sent().is_empty());
    assert!(s.session().is_connected());
}

#[test]
fn no_pingresp_within_the_ping_timeout_closes() {
    checks!["MQTT-3.1.2-23"];
    let mut config = Config::default();
    config.ping_timeout = Duration::from_secs(4);
    let mut s = Script::with_config(config);
    s.connected(
        &ConnectOptions {
            keep_alive: 10,
            ..ConnectOptions::new("k")
        },
        false,
    );
    s.advance(10_000);
    assert_eq!(s.take_sent(), [PINGREQ.to_vec()]);
    s.advance(3_999);
    assert!(s.take_events().is_empty());
    s.advance(1);
    assert_eq!(
        s.take_events(),
        [Seen::Disconnected(DisconnectReason::KeepAliveTimeout)]
    );
    assert_eq!(s.state(), State::Closed);
    s.advance(60_000);
    assert!(s.take_sent().is_empty());
}

#[test]
fn keep_alive_transcript_snapshot() {
    checks!["MQTT-3.1.2-23"];
    let mut s = connected(5);
    s.advance(5_000);
    s.receive(&wire::pingresp());
    s.advance(2_000);
    s.publish("t", b"x", QoS::AtMostOnce, false).unwrap();
    s.advance(5_000);
    s.advance(10_000);
    insta::assert_snapshot!(s.transcript());
}

#[test]
fn u_3_12_pingresp_with_a_body_closes() {
    checks!["U-3.12-pingreq", "U-2.2.3-remaining-length"];
    let v = connected(10).expect_violation(&[0xD0, 0x01, 0x00], "MQTT-4.8.0-1");
    assert_eq!(v, Violation::Malformed(DecodeError::MalformedLength));
}

#[test]
fn mqtt_3_1_2_23_an_acknowledgement_sent_restarts_the_interval() {
    checks!["MQTT-3.1.2-23"];
    let mut s = connected(10);
    s.advance(5_000);
    s.receive(&wire::publish("t", b"x", 1, 1, false, false));
    assert_eq!(s.take_sent(), [wire::puback(1)]);
    s.advance(9_999);
    assert!(s.take_sent().is_empty(), "counted from the PUBACK");
    s.advance(1);
    assert_eq!(s.take_sent(), [PINGREQ.to_vec()]);
}

#[test]
fn mqtt_3_1_2_23_no_silence_longer_than_keep_alive_while_pingresp_is_awaited() {
    checks!["MQTT-3.1.2-23"];
    // The default ping timeout (10 s) is longer than this keep alive (1 s): the broker never
    // answers the PINGREQ, and the client must still not stay silent for longer than 1 s
    // while it is connected (it ends the connection instead).
    assert!(Config::default().ping_timeout > Duration::from_secs(1));
    let mut s = connected(1);
    for _ in 0..30 {
        s.advance(500);
        if s.state() != State::Connected {
            break;
        }
        let last_sent = s.history().last().map(|(at, _)| *at).unwrap();
        let silent = s.now().saturating_duration_since(last_sent);
        assert!(
            silent <= Duration::from_millis(1_000),
            "silent for {silent:?} while connected with keep alive 1 s"
        );
    }
    assert_ne!(
        s.state(),
        State::Connected,
        "the unanswered PINGREQ ends the connection"
    );
    assert!(
        s.take_events()
            .iter()
            .any(|e| matches!(e, Seen::Disconnected(DisconnectReason::KeepAliveTimeout))),
        "ended as a keep-alive timeout"
    );
}
