//! Resumption after a connection ends [MQTT-4.4.0-1], and the session-lost policies.

use insta::assert_snapshot;
use mqtt_proto::{QoS, QosPid};

use super::harness::*;
use crate::{CommandError, Config, ConnectOptions, SessionLostPolicy, Store};

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

/// Session present 0 ends the session [MQTT-3.1.2-6]: under `Resend` the QoS 1 message and the
/// QoS 2 message before PUBREC go out again as new messages (new ids, DUP=0); the QoS 2 message
/// after PUBREC is reported as accepted, and no PUBREL goes out for it.
#[test]
fn session_lost_resend_policy_sends_held_messages_as_new() {
    let mut h = Harness::new();
    let mut opts = ConnectOptions::new("c");
    opts.clean_session = false;
    h.connect_with(&opts);
    h.recv(&connack(false));
    let a = h.publish("t", b"a", QoS::AtLeastOnce).unwrap();
    let b = h.publish("t", b"b", QoS::ExactlyOnce).unwrap();
    let c = h.publish("t", b"c", QoS::ExactlyOnce).unwrap();
    h.recv(&pubrec(b.get()));
    h.recv(&publish("in", b"q2", QosPid::ExactlyOnce(pid(9)), false));
    h.close();
    h.connect_with(&opts);
    let before = h.sent.len();
    let events = h.events.len();
    h.recv(&connack(false));
    assert!(!h.s.store().contains_incoming(pid(9)));
    let ended = h.events.get(events + 1..).unwrap().to_vec();
    assert_eq!(
        ended,
        [
            std::format!("Republished id={} -> id=4", a.get()),
            std::format!("PublishAcceptedSessionEnded id={}", b.get()),
            std::format!("Republished id={} -> id=5", c.get()),
        ]
    );
    assert_eq!(
        h.sent_since(before),
        [
            "PUBLISH qos=1 id=4 dup=0 retain=0 topic=\"t\" payload=\"a\"",
            "PUBLISH qos=2 id=5 dup=0 retain=0 topic=\"t\" payload=\"c\"",
        ]
    );
    // The old ids mean nothing any more.
    h.recv(&puback(a.get()));
    assert_eq!(h.s.store().outgoing_len(), 2);
    h.recv(&puback(4));
    h.recv(&pubrec(5));
    h.recv(&pubcomp(5));
    assert_eq!(h.s.store().outgoing_len(), 0);
    assert_snapshot!(h.log);
}

/// The reports of [MQTT-3.1.2-6]: after the connection of a clean session ends, however the
/// client reconnects, nothing of the ended session goes on the wire.
#[test]
fn mqtt_3_1_2_6_a_clean_session_ends_with_its_connection() {
    for reconnect_clean in [true, false] {
        let mut h = Harness::new();
        h.connected();
        let a = h.publish("t", b"a", QoS::AtLeastOnce).unwrap();
        let b = h.publish("t", b"b", QoS::ExactlyOnce).unwrap();
        h.recv(&pubrec(b.get()));
        h.recv(&publish("in", b"q2", QosPid::ExactlyOnce(pid(9)), false));
        let events = h.events.len();
        h.close();
        // Handed back at once: the session is over with its connection.
        assert_eq!(
            h.events.get(events..).unwrap(),
            [
                std::string::String::from("Disconnected TransportClosed"),
                std::format!("Republished id={} -> id=3", a.get()),
                std::format!("PublishAcceptedSessionEnded id={}", b.get()),
            ]
        );
        assert!(!h.s.store().contains_incoming(pid(9)));
        let mut opts = ConnectOptions::new("c");
        opts.clean_session = reconnect_clean;
        h.connect_with(&opts);
        let before = h.sent.len();
        // Even a broker claiming a session (another connection with this client id may have
        // made one) gets nothing of ours.
        h.recv(&connack(!reconnect_clean));
        assert_eq!(
            h.sent_since(before),
            ["PUBLISH qos=1 id=3 dup=0 retain=0 topic=\"t\" payload=\"a\""],
            "reconnect clean={reconnect_clean}"
        );
        // The QoS 2 id 9 of the ended session is new again.
        h.recv(&publish("in", b"new", QosPid::ExactlyOnce(pid(9)), false));
        assert_eq!(
            h.events.last().unwrap(),
            "Message topic=\"in\" payload=\"new\" qos=2 retain=0 dup=0 id=9"
        );
    }
}

/// A clean-session CONNECT discards the previous session at once [MQTT-3.1.2-6]: the session
/// of a clean-session-off connection is not resumed, not even when the CONNECT is lost and a
/// later connection finds the broker's session.
#[test]
fn mqtt_3_1_2_6_a_clean_connect_discards_the_previous_session() {
    let mut h = Harness::new();
    let mut keep = ConnectOptions::new("c");
    keep.clean_session = false;
    h.connect_with(&keep);
    h.recv(&connack(false));
    let a = h.publish("t", b"a", QoS::ExactlyOnce).unwrap();
    h.recv(&pubrec(a.get()));
    let b = h.publish("t", b"b", QoS::AtLeastOnce).unwrap();
    h.close();
    let events = h.events.len();
    h.connect_with(&ConnectOptions::new("c"));
    assert_eq!(
        h.events.get(events..).unwrap(),
        [
            std::format!("PublishAcceptedSessionEnded id={}", a.get()),
            std::format!("Republished id={} -> id=3", b.get()),
        ]
    );
    // That CONNECT never got an answer; the next one resumes the broker's session.
    h.close();
    h.connect_with(&keep);
    let before = h.sent.len();
    h.recv(&connack(true));
    assert_eq!(
        h.sent_since(before),
        ["PUBLISH qos=1 id=3 dup=0 retain=0 topic=\"t\" payload=\"b\""]
    );
}

/// Under `Drop`, every held message of the ended session is reported, with its bytes.
#[test]
fn session_lost_drop_policy_hands_back_a_released_qos2_too() {
    let mut h = Harness::with_config(Config::default().with_session_lost(SessionLostPolicy::Drop));
    h.connected();
    let a = h.publish("t", b"a", QoS::ExactlyOnce).unwrap();
    h.recv(&pubrec(a.get()));
    let events = h.events.len();
    h.close();
    assert_eq!(
        h.events.get(events..).unwrap(),
        [
            std::string::String::from("Disconnected TransportClosed"),
            std::format!(
                "PublishDropped id={} qos=2 topic=\"\" payload=\"\"",
                a.get()
            ),
        ]
    );
    h.connected();
    assert_eq!(h.s.store().outgoing_len(), 0);
}

/// An acknowledgement for a message whose PUBLISH was not written yet completes nothing: the
/// message is still sent, and completes on the acknowledgement that follows.
#[test]
fn acknowledgement_before_the_publish_is_written_is_ignored() {
    let mut h = Harness::new();
    h.connected();
    let q1 =
        h.s.publish(h.now, "t", b"a", QoS::AtLeastOnce, false)
            .unwrap()
            .unwrap();
    let q2 =
        h.s.publish(h.now, "t", b"b", QoS::ExactlyOnce, false)
            .unwrap()
            .unwrap();
    // Nothing polled yet: the acks arrive before anything went out.
    h.s.handle_receive(h.now, &puback(q1.get()));
    h.s.handle_receive(h.now, &pubrec(q2.get()));
    h.s.handle_receive(h.now, &pubcomp(q2.get()));
    let before = h.sent.len();
    h.pump();
    assert!(
        !h.events.iter().any(|e| e.starts_with("Publish")),
        "{:?}",
        h.events
    );
    assert_eq!(
        h.sent_since(before),
        [
            std::format!(
                "PUBLISH qos=1 id={} dup=0 retain=0 topic=\"t\" payload=\"a\"",
                q1.get()
            ),
            std::format!(
                "PUBLISH qos=2 id={} dup=0 retain=0 topic=\"t\" payload=\"b\"",
                q2.get()
            ),
        ]
    );
    assert_eq!(h.s.store().outgoing_len(), 2);
    h.recv(&puback(q1.get()));
    h.recv(&pubrec(q2.get()));
    h.recv(&pubcomp(q2.get()));
    assert_eq!(h.s.store().outgoing_len(), 0);
    assert_eq!(
        h.events.get(h.events.len() - 2..).unwrap(),
        [
            std::format!("PublishAcknowledged id={}", q1.get()),
            std::format!("PublishCompleted id={}", q2.get()),
        ]
    );
}

/// On resumption, a PUBCOMP for a message whose PUBREL is queued but not written is ignored
/// too, and so is an ack for a message the previous connection wrote but this one has not
/// resent yet.
#[test]
fn acknowledgement_before_the_resend_is_written_is_ignored() {
    let mut h = Harness::new();
    let mut opts = ConnectOptions::new("c");
    opts.clean_session = false;
    h.connect_with(&opts);
    h.recv(&connack(false));
    let a = h.publish("t", b"a", QoS::ExactlyOnce).unwrap();
    h.recv(&pubrec(a.get()));
    let b = h.publish("t", b"b", QoS::AtLeastOnce).unwrap();
    h.close();
    h.connect_with(&opts);
    // CONNACK and the acks in one read, before the resends are written.
    let mut input = connack(true);
    input.extend(pubcomp(a.get()));
    input.extend(puback(b.get()));
    h.s.handle_receive(h.now, &input);
    let before = h.sent.len();
    h.pump();
    assert_eq!(
        h.sent_since(before),
        [
            std::format!("PUBREL id={}", a.get()),
            std::format!(
                "PUBLISH qos=1 id={} dup=1 retain=0 topic=\"t\" payload=\"b\"",
                b.get()
            ),
        ]
    );
    assert_eq!(h.s.store().outgoing_len(), 2);
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
                properties: &[],
                expires: None,
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
fn after_a_restart_with_a_smaller_window_nothing_goes_out_beyond_it() {
    let mut store = crate::VecStore::new();
    for id in [1u16, 2, 3] {
        store
            .push_outgoing(&crate::Outgoing {
                packet_id: pid(id),
                qos: QoS::ExactlyOnce,
                retain: false,
                state: crate::OutgoingState::Publish,
                topic: "t",
                payload: b"m",
                properties: &[],
                expires: None,
            })
            .unwrap();
    }
    let config = Config::new().with_max_inflight(1).with_max_queued(2);
    let mut h = Harness::with(config, store);
    let mut opts = ConnectOptions::new("c");
    opts.clean_session = false;
    h.connect_with(&opts);
    h.recv(&connack(true));
    // A PUBREC for a message outside the window is ignored: no PUBREL for it.
    let before = h.sent.len();
    h.recv(&pubrec(3));
    assert!(h.sent_since(before).is_empty());
    h.recv(&pubrec(1));
    h.recv(&pubcomp(1));
    h.recv(&pubrec(2));
    h.recv(&pubcomp(2));
    h.recv(&pubrec(3));
    h.recv(&pubcomp(3));
    assert_eq!(h.s.store().outgoing_len(), 0);
    assert_snapshot!(h.log);
}

/// With `offline_publish`, QoS 1/2 publishes while not connected are held and go out after
/// the next CONNACK: on a resumed session, after the message in flight (DUP=1, it was sent)
/// and as new messages themselves (DUP=0, they never were) [MQTT-3.3.1-1], in order. QoS 0
/// is still refused offline.
#[test]
fn offline_publishes_go_out_in_order_after_the_next_connack() {
    let mut h = Harness::with_config(Config::default().with_offline_publish(true));
    let mut opts = ConnectOptions::new("c");
    opts.clean_session = false;
    h.connect_with(&opts);
    h.recv(&connack(false));
    let a = h.publish("t", b"a", QoS::AtLeastOnce).unwrap();
    h.close();
    let b = h.publish("t", b"b", QoS::ExactlyOnce).unwrap();
    let c = h.publish("t", b"c", QoS::AtLeastOnce).unwrap();
    assert_eq!(
        h.s.publish(h.now, "t", b"zero", QoS::AtMostOnce, false),
        Err(CommandError::NotConnected)
    );
    assert!(matches!(
        h.s.publish(h.now, "bad/#", b"x", QoS::AtLeastOnce, false),
        Err(CommandError::Invalid(_))
    ));
    let before = h.sent.len();
    h.connect_with(&opts);
    assert_eq!(h.sent_since(before).len(), 1, "only CONNECT before CONNACK");
    h.recv(&connack(true));
    assert_eq!(
        h.sent_since(before + 1),
        [
            std::format!(
                "PUBLISH qos=1 id={} dup=1 retain=0 topic=\"t\" payload=\"a\"",
                a.get()
            ),
            std::format!(
                "PUBLISH qos=2 id={} dup=0 retain=0 topic=\"t\" payload=\"b\"",
                b.get()
            ),
            std::format!(
                "PUBLISH qos=1 id={} dup=0 retain=0 topic=\"t\" payload=\"c\"",
                c.get()
            ),
        ]
    );
}

/// Offline publishes before the very first connection go out once, as new messages, and the
/// bound of what may be held (window plus queue) holds offline too.
#[test]
fn offline_publishes_before_the_first_connect_are_bounded_and_sent_once() {
    let config = Config::default()
        .with_offline_publish(true)
        .with_max_inflight(2)
        .with_max_queued(1);
    let mut h = Harness::with_config(config);
    for p in [b"1", b"2", b"3"] {
        assert!(h.publish("t", p, QoS::AtLeastOnce).is_some());
    }
    assert_eq!(
        h.s.publish(h.now, "t", b"4", QoS::AtLeastOnce, false),
        Err(CommandError::WindowFull)
    );
    assert!(h.sent.is_empty());
    h.connected();
    let published: std::vec::Vec<std::string::String> = h
        .sent_since(1)
        .into_iter()
        .filter(|p| p.starts_with("PUBLISH"))
        .collect();
    // The window: two now, the third once one is acknowledged.
    assert_eq!(published.len(), 2, "{published:?}");
    assert!(
        published.iter().all(|p| p.contains("dup=0")),
        "{published:?}"
    );
    assert!(published[0].ends_with("payload=\"1\"") && published[1].ends_with("payload=\"2\""));
    let first: u16 = published[0]
        .split("id=")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    let before = h.sent.len();
    h.recv(&puback(first));
    let next = h.sent_since(before);
    assert_eq!(next.len(), 1, "{next:?}");
    assert!(next[0].ends_with("payload=\"3\"") && next[0].contains("dup=0"));
}
