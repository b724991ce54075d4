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
