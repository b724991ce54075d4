//! Resending after a dropped connection (sections 4.4, 4.6, 3.3.1.1), session state across
//! connections (3.1.2.4, 4.1), and what happens to held messages when the broker has no session.
#![allow(clippy::unwrap_used)]

use conformance::checks;
use conformance::script::{Script, Seen};
use conformance::wire;
use mqtt_session::{
    Config, ConnectOptions, DisconnectReason, QoS, Session, SessionLostPolicy, State, Store,
    VecStore,
};

fn resume_options() -> ConnectOptions<'static> {
    ConnectOptions {
        clean_session: false,
        ..ConnectOptions::new("dev-1")
    }
}

fn persistent() -> Script {
    let mut s = Script::new();
    s.connected(&resume_options(), false);
    s
}

/// Drops the connection and reconnects; CONNACK says `session_present`. Returns what was sent
/// after CONNACK.
fn reconnect(s: &mut Script, options: &ConnectOptions<'_>, session_present: bool) -> Vec<Vec<u8>> {
    s.take_sent();
    s.take_events();
    s.closed();
    assert_eq!(
        s.take_events(),
        [Seen::Disconnected(DisconnectReason::TransportClosed)]
    );
    s.up();
    s.connect(options).unwrap();
    let connect = s.take_sent();
    assert_eq!(connect.len(), 1);
    assert_eq!(connect[0][0], 0x10, "CONNECT first");
    s.receive(&wire::connack(u8::from(session_present), 0));
    assert_eq!(
        s.take_events().first(),
        Some(&Seen::Connected { session_present })
    );
    s.take_sent()
}

#[test]
fn mqtt_3_3_1_1_qos1_resent_with_dup_and_same_id() {
    checks![
        "MQTT-3.3.1-1",
        "MQTT-4.4.0-1",
        "MQTT-2.3.1-3",
        "MQTT-3.1.2-4",
        "MQTT-4.1.0-1"
    ];
    let mut s = persistent();
    let id = s
        .publish("t", b"x", QoS::AtLeastOnce, false)
        .unwrap()
        .unwrap();
    assert_eq!(
        s.take_sent(),
        [wire::publish("t", b"x", 1, id.get(), false, false)]
    );
    let resent = reconnect(&mut s, &resume_options(), true);
    assert_eq!(
        resent,
        [vec![0x3A, 0x06, 0x00, 0x01, b't', 0x00, 0x01, b'x']],
        "DUP=1, same packet id"
    );
    // Dropped again before PUBACK: resent again, still DUP=1, still the same id.
    let resent = reconnect(&mut s, &resume_options(), true);
    assert_eq!(resent, [wire::publish("t", b"x", 1, id.get(), true, false)]);
    s.receive(&wire::puback(id.get()));
    assert_eq!(s.take_events(), [Seen::Acknowledged(id.get())]);
    // Nothing left to resend.
    assert!(reconnect(&mut s, &resume_options(), true).is_empty());
}

#[test]
fn mqtt_4_4_0_1_qos2_before_pubrec_resends_publish_with_dup() {
    checks!["MQTT-4.4.0-1", "MQTT-3.3.1-1", "MQTT-4.3.3-1"];
    let mut s = persistent();
    let id = s
        .publish("t", b"x", QoS::ExactlyOnce, false)
        .unwrap()
        .unwrap();
    s.take_sent();
    let resent = reconnect(&mut s, &resume_options(), true);
    assert_eq!(
        resent,
        [vec![0x3C, 0x06, 0x00, 0x01, b't', 0x00, 0x01, b'x']]
    );
    s.receive(&wire::pubrec(id.get()));
    assert_eq!(s.take_sent(), [wire::pubrel(id.get())]);
    s.receive(&wire::pubcomp(id.get()));
    assert_eq!(s.take_events(), [Seen::Completed(id.get())]);
}

#[test]
fn mqtt_4_3_3_1_qos2_after_pubrec_resends_pubrel_never_the_publish() {
    checks!["MQTT-4.3.3-1", "MQTT-4.4.0-1", "MQTT-2.3.1-6"];
    let mut s = persistent();
    let id = s
        .publish("t", b"x", QoS::ExactlyOnce, false)
        .unwrap()
        .unwrap();
    s.receive(&wire::pubrec(id.get()));
    assert_eq!(s.take_sent().last(), Some(&wire::pubrel(id.get())));
    for _ in 0..2 {
        let resent = reconnect(&mut s, &resume_options(), true);
        assert_eq!(resent, [vec![0x62, 0x02, 0x00, 0x01]], "PUBREL only");
    }
    // A late PUBREC (the broker's own resend) is answered with PUBREL again, not PUBLISH.
    s.receive(&wire::pubrec(id.get()));
    assert_eq!(s.take_sent(), [wire::pubrel(id.get())]);
    s.receive(&wire::pubcomp(id.get()));
    assert_eq!(s.take_events(), [Seen::Completed(id.get())]);
}

#[test]
fn mqtt_4_6_0_1_resends_in_original_order_before_anything_new() {
    checks!["MQTT-4.6.0-1", "MQTT-4.4.0-1", "MQTT-3.3.1-1"];
    let mut s = persistent();
    let a = s
        .publish("o/1", b"a", QoS::AtLeastOnce, false)
        .unwrap()
        .unwrap();
    let b = s
        .publish("o/2", b"b", QoS::ExactlyOnce, false)
        .unwrap()
        .unwrap();
    let c = s
        .publish("o/3", b"c", QoS::ExactlyOnce, true)
        .unwrap()
        .unwrap();
    let d = s
        .publish("o/4", b"d", QoS::AtLeastOnce, false)
        .unwrap()
        .unwrap();
    s.receive(&wire::pubrec(b.get()));
    s.take_sent();
    s.closed();
    s.up();
    s.connect(&resume_options()).unwrap();
    s.take_sent();
    s.receive(&wire::connack(1, 0));
    // A new message published right after CONNACK goes after the resends.
    s.publish("o/5", b"e", QoS::AtLeastOnce, false).unwrap();
    assert_eq!(
        s.take_sent(),
        [
            wire::publish("o/1", b"a", 1, a.get(), true, false),
            wire::pubrel(b.get()),
            wire::publish("o/3", b"c", 2, c.get(), true, true),
            wire::publish("o/4", b"d", 1, d.get(), true, false),
            wire::publish("o/5", b"e", 1, 5, false, false),
        ]
    );
}

#[test]
fn resend_transcript_snapshot() {
    checks!["MQTT-4.4.0-1", "MQTT-3.3.1-1", "MQTT-4.6.0-1"];
    let mut s = persistent();
    s.publish("q/1", b"one", QoS::AtLeastOnce, false).unwrap();
    s.publish("q/2", b"two", QoS::ExactlyOnce, false).unwrap();
    s.publish("q/2", b"three", QoS::ExactlyOnce, false).unwrap();
    s.receive(&wire::pubrec(2));
    s.note("the connection drops before PUBACK 1, PUBCOMP 2 and PUBREC 3");
    reconnect(&mut s, &resume_options(), true);
    s.receive(&wire::puback(1));
    s.receive(&wire::pubcomp(2));
    s.receive(&wire::pubrec(3));
    s.receive(&wire::pubcomp(3));
    insta::assert_snapshot!(s.transcript());
}

#[test]
fn mqtt_4_4_0_1_messages_beyond_the_window_go_out_fresh_after_the_resends() {
    checks!["MQTT-4.4.0-1", "MQTT-4.6.0-1"];
    let mut config = Config::default();
    config.max_inflight = 1;
    config.max_queued = 4;
    let mut s = Script::with_config(config);
    s.connected(&resume_options(), false);
    s.publish("t", b"1", QoS::AtLeastOnce, false).unwrap();
    s.publish("t", b"2", QoS::AtLeastOnce, false).unwrap();
    assert_eq!(
        s.take_sent(),
        [wire::publish("t", b"1", 1, 1, false, false)]
    );
    let resent = reconnect(&mut s, &resume_options(), true);
    assert_eq!(resent, [wire::publish("t", b"1", 1, 1, true, false)]);
    s.receive(&wire::puback(1));
    assert_eq!(
        s.take_sent(),
        [wire::publish("t", b"2", 1, 2, false, false)],
        "never sent before: DUP=0"
    );
}

#[test]
fn mqtt_3_1_2_4_state_survives_a_new_session_value_over_the_same_store() {
    checks!["MQTT-3.1.2-4", "MQTT-4.1.0-1", "MQTT-3.1.3-2"];
    let mut s = persistent();
    s.publish("t", b"1", QoS::AtLeastOnce, false).unwrap();
    s.publish("t", b"2", QoS::ExactlyOnce, false).unwrap();
    s.receive(&wire::publish("in", b"q2", 2, 9, false, false));
    s.take_sent();
    s.take_events();
    s.closed();
    // The process "restarts": a new session over the store the old one kept.
    let old: Session<VecStore, Vec<u8>> = std::mem::replace(
        s.session_mut(),
        Session::new(Config::default(), VecStore::new(), vec![0; 64], vec![0; 64]),
    );
    let store = old.into_store();
    assert_eq!(store.outgoing_len(), 2);
    let mut s = Script::with(Config::default(), store);
    s.up();
    s.connect(&resume_options()).unwrap();
    let connect = s.take_sent_bytes();
    assert!(connect.ends_with(&wire::string("dev-1")), "same client id");
    s.receive(&wire::connack(1, 0));
    assert_eq!(
        s.take_events(),
        [Seen::Connected {
            session_present: true
        }]
    );
    assert_eq!(
        s.take_sent(),
        [
            wire::publish("t", b"1", 1, 1, true, false),
            wire::publish("t", b"2", 2, 2, true, false)
        ]
    );
    // The incoming QoS 2 id is still awaiting PUBREL: the broker's resend is not delivered again.
    s.receive(&wire::publish("in", b"q2", 2, 9, true, false));
    assert_eq!(s.take_sent(), [wire::pubrec(9)]);
    assert!(s.take_events().is_empty());
}

#[test]
fn mqtt_4_3_3_2_incoming_qos2_id_kept_across_connections() {
    checks![
        "MQTT-4.3.3-2",
        "MQTT-4.1.0-1",
        "MQTT-3.1.2-4",
        "MQTT-4.4.0-1"
    ];
    let mut s = persistent();
    s.receive(&wire::publish("in", b"x", 2, 3, false, false));
    assert_eq!(s.take_sent(), [wire::pubrec(3)]);
    assert_eq!(s.take_events().len(), 1);
    assert!(reconnect(&mut s, &resume_options(), true).is_empty());
    s.take_events();
    // The broker resends the PUBLISH (its PUBREC may have been lost): PUBREC, no delivery.
    s.receive(&wire::publish("in", b"x", 2, 3, true, false));
    assert_eq!(s.take_sent(), [wire::pubrec(3)]);
    assert!(s.take_events().is_empty());
    s.receive(&wire::pubrel(3));
    assert_eq!(s.take_sent(), [wire::pubcomp(3)]);
}

#[test]
fn mqtt_3_1_2_6_clean_session_forgets_incoming_qos2_ids() {
    checks!["MQTT-3.1.2-6"];
    let mut s = persistent();
    s.receive(&wire::publish("in", b"old", 2, 3, false, false));
    s.take_sent();
    s.take_events();
    // A clean session: the broker's id 3 is a new message in the new session.
    let clean = ConnectOptions::new("dev-1");
    assert!(reconnect(&mut s, &clean, false).is_empty());
    s.take_events();
    s.receive(&wire::publish("in", b"new", 2, 3, false, false));
    assert_eq!(s.take_sent(), [wire::pubrec(3)]);
    assert_eq!(
        s.take_events(),
        [Seen::message("in", b"new", QoS::ExactlyOnce, Some(3))]
    );
}

#[test]
fn mqtt_3_1_2_6_clean_session_does_not_resume_held_messages_as_duplicates() {
    checks!["MQTT-3.1.2-6"];
    // Default policy (Resend). A clean-session CONNECT discards the session: nothing of it is
    // used again on the wire. The QoS 1 message is published again as a new message (new id,
    // DUP=0); the QoS 2 message whose PUBREC had arrived was accepted by the broker and is
    // reported so, with no PUBREL: a PUBREL would finish a message of the ended session.
    let mut s = persistent();
    s.publish("t", b"1", QoS::AtLeastOnce, false).unwrap();
    s.publish("t", b"2", QoS::ExactlyOnce, false).unwrap();
    s.receive(&wire::pubrec(2));
    s.take_sent();
    s.take_events();
    s.closed();
    s.take_events();
    s.up();
    s.connect(&ConnectOptions::new("dev-1")).unwrap();
    assert_eq!(
        s.take_events(),
        [
            Seen::Republished { old: 1, new: 3 },
            Seen::AcceptedSessionEnded(2),
        ]
    );
    let connect = s.take_sent();
    assert_eq!(connect.len(), 1);
    s.receive(&wire::connack(0, 0));
    assert_eq!(
        s.take_events(),
        [Seen::Connected {
            session_present: false
        }]
    );
    let sent = s.take_sent();
    assert_eq!(sent, [wire::publish("t", b"1", 1, 3, false, false)]);
    assert!(
        sent.iter().all(|p| p[0] & 0x08 == 0),
        "no DUP in a new session"
    );
    // The new id completes it.
    s.receive(&wire::puback(3));
    assert_eq!(s.take_events(), [Seen::Acknowledged(3)]);
    assert_eq!(s.session().store().outgoing_len(), 0);
}

#[test]
fn mqtt_3_1_2_6_a_clean_session_is_not_resumed_after_its_connection() {
    checks!["MQTT-3.1.2-6"];
    // A clean session lasts as long as its network connection: reconnecting with clean session
    // off, even to a broker that answers session present 1, resumes nothing of it.
    let mut s = Script::new();
    s.connected(&ConnectOptions::new("dev-1"), false);
    s.publish("t", b"2", QoS::ExactlyOnce, false).unwrap();
    s.receive(&wire::pubrec(1));
    s.take_sent();
    s.take_events();
    s.closed();
    assert_eq!(
        s.take_events(),
        [
            Seen::Disconnected(DisconnectReason::TransportClosed),
            Seen::AcceptedSessionEnded(1),
        ]
    );
    s.up();
    s.connect(&resume_options()).unwrap();
    s.take_sent();
    s.receive(&wire::connack(1, 0));
    assert_eq!(
        s.take_sent(),
        Vec::<Vec<u8>>::new(),
        "no PUBREL of the ended session"
    );
}

#[test]
fn session_lost_policy_drop_reports_every_held_message() {
    checks!["MQTT-3.1.2-6"];
    let mut config = Config::default();
    config.session_lost = SessionLostPolicy::Drop;
    let mut s = Script::with_config(config);
    s.connected(&resume_options(), false);
    s.publish("t", b"1", QoS::AtLeastOnce, false).unwrap();
    s.publish("u", b"2", QoS::ExactlyOnce, false).unwrap();
    s.take_sent();
    // The broker lost our session (session present 0): nothing is resent, both are reported.
    s.closed();
    s.up();
    s.connect(&resume_options()).unwrap();
    s.take_sent();
    s.take_events();
    s.receive(&wire::connack(0, 0));
    let sent = s.take_sent();
    assert!(sent.is_empty(), "{sent:?}");
    let events = s.take_events();
    assert_eq!(
        events,
        [
            Seen::Connected {
                session_present: false
            },
            Seen::Dropped {
                packet_id: 1,
                topic: "t".to_owned(),
                payload: b"1".to_vec()
            },
            Seen::Dropped {
                packet_id: 2,
                topic: "u".to_owned(),
                payload: b"2".to_vec()
            },
        ]
    );
    assert_eq!(s.session().store().outgoing_len(), 0);
    assert_eq!(s.state(), State::Connected);
}

#[test]
fn mqtt_4_1_0_2_session_state_kept_for_the_whole_connection() {
    checks!["MQTT-4.1.0-2", "MQTT-4.1.0-1"];
    // Even a clean session keeps its state while the connection lasts.
    let mut s = Script::new();
    s.connected(&ConnectOptions::new("c"), false);
    let id = s
        .publish("t", b"x", QoS::ExactlyOnce, false)
        .unwrap()
        .unwrap();
    s.receive(&wire::publish("in", b"y", 2, 4, false, false));
    s.take_sent();
    s.take_events();
    // Ten minutes of keep-alive traffic.
    for _ in 0..100 {
        s.advance(6_000);
        if s.take_sent().contains(&vec![0xC0, 0x00]) {
            s.receive(&wire::pingresp());
        }
    }
    assert!(s.session().is_connected());
    s.receive(&wire::publish("in", b"y", 2, 4, true, false));
    assert_eq!(s.take_sent().last(), Some(&wire::pubrec(4)));
    s.receive(&wire::pubrec(id.get()));
    assert_eq!(s.take_sent(), [wire::pubrel(id.get())]);
    assert!(s.take_events().is_empty());
}

#[test]
fn mqtt_3_1_3_2_state_goes_with_the_client_id_the_broker_confirms() {
    checks!["MQTT-3.1.3-2", "MQTT-3.1.2-4"];
    let mut s = persistent();
    let id = s
        .publish("t", b"x", QoS::AtLeastOnce, false)
        .unwrap()
        .unwrap();
    s.take_sent();
    // Every reconnection presents the same client id, byte for byte.
    s.closed();
    s.up();
    s.connect(&resume_options()).unwrap();
    let connect = s.take_sent_bytes();
    let mut expected = vec![0x10, 0x11, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x00, 0, 60];
    expected.extend(wire::string("dev-1"));
    assert_eq!(connect, expected);
    // The broker holds state for that id: the client resumes its own state for it.
    s.receive(&wire::connack(1, 0));
    assert_eq!(
        s.take_sent(),
        [wire::publish("t", b"x", 1, id.get(), true, false)]
    );
    // Another client id: the state held is not that session's [MQTT-3.1.3-2], so the
    // client's session ends at the CONNECT (as a clean session's would [MQTT-3.1.2-6]): the
    // message starts afresh as a new one, under a new packet id and without DUP, and goes out
    // once the broker (which has no state for the id) accepts.
    let other = ConnectOptions {
        clean_session: false,
        ..ConnectOptions::new("dev-2")
    };
    s.take_sent();
    s.take_events();
    s.closed();
    s.take_events();
    s.up();
    s.connect(&other).unwrap();
    assert_eq!(s.take_sent()[0][0], 0x10, "CONNECT first");
    s.receive(&wire::connack(0, 0));
    let events = s.take_events();
    assert!(
        events.contains(&Seen::Connected {
            session_present: false
        }),
        "{events:?}"
    );
    assert_eq!(
        s.take_sent(),
        [wire::publish("t", b"x", 1, id.get() + 1, false, false)]
    );
}
