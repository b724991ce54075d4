//! PUBLISH at QoS 0, 1 and 2, outbound and inbound, byte for byte (sections 3.3-3.7, 4.3,
//! 4.5, 4.6), and packet identifiers (section 2.3.1).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use conformance::checks;
use conformance::script::{Script, Seen};
use conformance::wire;
use mqtt_session::{
    CommandError, Config, ConnectOptions, Event, Instant, PacketId, QoS, Session, VecStore,
};

fn connected() -> Script {
    let mut s = Script::new();
    s.connected(&ConnectOptions::new("c"), false);
    s
}

#[test]
fn mqtt_4_3_1_1_qos0_publish_has_no_id_and_dup_0() {
    checks![
        "MQTT-4.3.1-1",
        "MQTT-2.3.1-5",
        "MQTT-3.3.1-2",
        "MQTT-3.3.2-1",
        "MQTT-2.2.2-1"
    ];
    let mut s = connected();
    assert_eq!(s.publish("a/b", b"hi", QoS::AtMostOnce, false), Ok(None));
    assert_eq!(
        s.take_sent(),
        [vec![0x30, 0x07, 0x00, 0x03, b'a', b'/', b'b', b'h', b'i']]
    );
    assert_eq!(s.publish("a/b", b"", QoS::AtMostOnce, true), Ok(None));
    assert_eq!(
        s.take_sent(),
        [vec![0x31, 0x05, 0x00, 0x03, b'a', b'/', b'b']]
    );
    assert!(s.take_events().is_empty(), "QoS 0 has no acknowledgement");
}

#[test]
fn mqtt_4_3_2_1_qos1_publish_unacknowledged_until_puback() {
    checks![
        "MQTT-4.3.2-1",
        "MQTT-2.3.1-1",
        "MQTT-3.3.2-1",
        "U-1.5.2-big-endian"
    ];
    let mut s = connected();
    let id = s.publish("t", b"x", QoS::AtLeastOnce, false).unwrap();
    assert_eq!(id, PacketId::new(1));
    assert_eq!(
        s.take_sent(),
        [vec![0x32, 0x06, 0x00, 0x01, b't', 0x00, 0x01, b'x']]
    );
    assert_eq!(s.session().inflight(), 1);
    // Something else acknowledged: still unacknowledged.
    s.receive(&wire::puback(2));
    s.receive(&wire::pubcomp(1));
    assert!(s.take_events().is_empty());
    assert_eq!(s.session().inflight(), 1);
    s.receive(&wire::puback(1));
    assert_eq!(s.take_events(), [Seen::Acknowledged(1)]);
    assert_eq!(s.session().inflight(), 0);
    assert!(s.take_sent().is_empty(), "PUBACK needs no answer");
}

#[test]
fn mqtt_4_3_3_1_qos2_publish_pubrec_pubrel_pubcomp() {
    checks![
        "MQTT-4.3.3-1",
        "MQTT-2.3.1-6",
        "MQTT-3.6.1-1",
        "MQTT-2.2.2-1"
    ];
    let mut s = connected();
    let id = s.publish("t", b"x", QoS::ExactlyOnce, true).unwrap();
    assert_eq!(id, PacketId::new(1));
    assert_eq!(
        s.take_sent(),
        [vec![0x35, 0x06, 0x00, 0x01, b't', 0x00, 0x01, b'x']]
    );
    s.receive(&wire::pubrec(1));
    assert_eq!(
        s.take_sent(),
        [vec![0x62, 0x02, 0x00, 0x01]],
        "PUBREL, flags 0010"
    );
    assert!(s.take_events().is_empty(), "not complete before PUBCOMP");
    assert_eq!(
        s.session().inflight(),
        1,
        "PUBREL is unacknowledged until PUBCOMP"
    );
    s.receive(&wire::pubcomp(1));
    assert_eq!(s.take_events(), [Seen::Completed(1)]);
    assert_eq!(s.session().inflight(), 0);
    assert!(s.take_sent().is_empty());
}

#[test]
fn qos2_outbound_transcript_snapshot() {
    checks!["MQTT-4.3.3-1", "MQTT-4.6.0-4"];
    let mut s = connected();
    s.publish("t/1", b"one", QoS::ExactlyOnce, false).unwrap();
    s.publish("t/2", b"two", QoS::ExactlyOnce, false).unwrap();
    s.publish("t/3", b"three", QoS::ExactlyOnce, false).unwrap();
    // PUBRECs arrive in another order: PUBRELs follow the PUBREC order.
    let mut recs = wire::pubrec(3);
    recs.extend(wire::pubrec(1));
    recs.extend(wire::pubrec(2));
    s.receive(&recs);
    let mut comps = wire::pubcomp(1);
    comps.extend(wire::pubcomp(3));
    comps.extend(wire::pubcomp(2));
    s.receive(&comps);
    insta::assert_snapshot!(s.transcript());
}

#[test]
fn mqtt_4_6_0_4_pubrel_in_pubrec_order() {
    checks!["MQTT-4.6.0-4"];
    let mut s = connected();
    for i in 0..4u8 {
        s.publish("t", &[i], QoS::ExactlyOnce, false).unwrap();
    }
    s.take_sent();
    let mut recs = Vec::new();
    for id in [2, 4, 1, 3] {
        recs.extend(wire::pubrec(id));
    }
    s.receive_in_chunks(&recs, 3);
    assert_eq!(
        s.take_sent(),
        [
            wire::pubrel(2),
            wire::pubrel(4),
            wire::pubrel(1),
            wire::pubrel(3)
        ]
    );
}

#[test]
fn mqtt_2_3_1_2_ids_in_flight_are_distinct_and_nonzero() {
    checks!["MQTT-2.3.1-2", "MQTT-2.3.1-1"];
    let mut s = connected();
    let mut ids = BTreeSet::new();
    for i in 0..16u8 {
        let qos = if i % 2 == 0 {
            QoS::AtLeastOnce
        } else {
            QoS::ExactlyOnce
        };
        let id = s.publish("t", &[i], qos, false).unwrap().unwrap();
        assert!(ids.insert(id.get()), "id {} handed out twice", id.get());
    }
    let sub = s.subscribe(&[("f", QoS::AtMostOnce)]).unwrap();
    let unsub = s.unsubscribe(&["g"]).unwrap();
    assert!(ids.insert(sub.get()) && ids.insert(unsub.get()));
    assert!(!ids.contains(&0));
    // The ids on the wire are the ones returned.
    let on_wire: BTreeSet<u16> = s
        .take_sent()
        .iter()
        .map(|p| {
            let (_, len) = (p[0], p[1]);
            let at = if p[0] >> 4 == 3 { 2 + 2 + 1 } else { 2 };
            assert!(usize::from(len) >= at);
            u16::from_be_bytes([p[at], p[at + 1]])
        })
        .collect();
    assert_eq!(on_wire, ids);
}

/// Drives a bare session (no transcript) through 70,000 QoS 1 publishes while id 1 stays in
/// flight: ids wrap from 65,535 to 1, skip the one in use, and are never 0.
#[test]
fn mqtt_2_3_1_2_id_wraparound_skips_ids_in_use() {
    checks!["MQTT-2.3.1-2", "MQTT-2.3.1-3", "MQTT-2.3.1-1"];
    let mut session = Session::new(
        Config::default(),
        VecStore::new(),
        vec![0; 512],
        vec![0; 512],
    );
    let now = Instant::ZERO;
    let mut out = [0u8; 512];
    session.handle_transport_up(now);
    session.connect(now, &ConnectOptions::new("w")).unwrap();
    while session.poll_transmit(now, &mut out).unwrap().is_some() {}
    session.handle_receive(now, &wire::connack(0, 0));
    while session.poll_event().is_some() {}
    let held = session
        .publish(now, "t", b"held", QoS::AtLeastOnce, false)
        .unwrap()
        .unwrap();
    assert_eq!(held.get(), 1);
    let mut previous = held.get();
    let mut wrapped = false;
    for _ in 0..70_000 {
        while session.poll_transmit(now, &mut out).unwrap().is_some() {}
        let id = session
            .publish(now, "t", b"x", QoS::AtLeastOnce, false)
            .unwrap()
            .unwrap()
            .get();
        assert_ne!(id, held.get(), "id 1 is still in flight");
        if id < previous {
            wrapped = true;
            assert_eq!(id, 2, "after 65,535 comes the lowest free id");
        }
        previous = id;
        while session.poll_transmit(now, &mut out).unwrap().is_some() {}
        // The PUBACK frees the id for reuse [MQTT-2.3.1-3].
        session.handle_receive(now, &wire::puback(id));
        let mut acked = false;
        while let Some(e) = session.poll_event() {
            acked |= e
                == Event::PublishAcknowledged {
                    packet_id: PacketId::new(id).unwrap(),
                };
        }
        assert!(acked, "id {id} acknowledged");
    }
    assert!(wrapped, "ids wrapped around");
}

#[test]
fn mqtt_2_3_1_3_id_reusable_only_after_its_acknowledgement() {
    checks!["MQTT-2.3.1-3"];
    let mut config = Config::default();
    config.max_inflight = 2;
    let mut s = Script::with_config(config);
    s.connected(&ConnectOptions::new("c"), false);
    let a = s
        .publish("t", b"a", QoS::AtLeastOnce, false)
        .unwrap()
        .unwrap();
    let b = s
        .publish("t", b"b", QoS::ExactlyOnce, false)
        .unwrap()
        .unwrap();
    assert_eq!(
        s.publish("t", b"c", QoS::AtLeastOnce, false),
        Err(CommandError::WindowFull)
    );
    // PUBREC does not free a QoS 2 id; PUBCOMP does.
    s.receive(&wire::pubrec(b.get()));
    s.receive(&wire::puback(a.get()));
    let c = s
        .publish("t", b"c", QoS::AtLeastOnce, false)
        .unwrap()
        .unwrap();
    assert_ne!(c, b);
    assert_eq!(
        s.publish("t", b"d", QoS::AtLeastOnce, false),
        Err(CommandError::WindowFull)
    );
    s.receive(&wire::pubcomp(b.get()));
    let d = s
        .publish("t", b"d", QoS::AtLeastOnce, false)
        .unwrap()
        .unwrap();
    assert_ne!(d, c);
}

#[test]
fn mqtt_3_3_4_1_inbound_qos0_is_delivered_and_not_answered() {
    checks!["MQTT-3.3.4-1"];
    let mut s = connected();
    s.receive(&wire::publish("a/b", b"hello", 0, 0, false, false));
    assert_eq!(
        s.take_events(),
        [Seen::message("a/b", b"hello", QoS::AtMostOnce, None)]
    );
    assert!(s.take_sent().is_empty());
}

#[test]
fn mqtt_4_3_2_2_inbound_qos1_puback_then_same_id_is_a_new_message() {
    checks![
        "MQTT-4.3.2-2",
        "MQTT-3.3.4-1",
        "MQTT-2.3.1-6",
        "MQTT-4.5.0-2"
    ];
    let mut s = connected();
    s.receive(&wire::publish("t", b"one", 1, 0x1234, false, false));
    assert_eq!(s.take_sent(), [vec![0x40, 0x02, 0x12, 0x34]]);
    assert_eq!(
        s.take_events(),
        [Seen::message("t", b"one", QoS::AtLeastOnce, Some(0x1234))]
    );
    // Same id again (DUP set or not): a new publication, delivered and acknowledged.
    s.receive(&wire::publish("t", b"two", 1, 0x1234, true, false));
    assert_eq!(s.take_sent(), [wire::puback(0x1234)]);
    let events = s.take_events();
    assert_eq!(events.len(), 1);
    assert!(matches!(&events[0], Seen::Message { payload, dup: true, .. } if payload == b"two"));
    s.receive(&wire::publish("t", b"three", 1, 0x1234, false, true));
    assert_eq!(s.take_sent(), [wire::puback(0x1234)]);
    assert_eq!(s.take_events().len(), 1);
}

#[test]
fn mqtt_4_3_3_2_inbound_qos2_exactly_once() {
    checks![
        "MQTT-4.3.3-2",
        "MQTT-3.3.4-1",
        "MQTT-2.3.1-6",
        "MQTT-4.1.0-2"
    ];
    let mut s = connected();
    s.receive(&wire::publish("t", b"once", 2, 7, false, false));
    assert_eq!(s.take_sent(), [vec![0x50, 0x02, 0x00, 0x07]]);
    assert_eq!(
        s.take_events(),
        [Seen::message("t", b"once", QoS::ExactlyOnce, Some(7))]
    );
    // Before PUBREL, the same id is answered with PUBREC and not delivered again, whatever
    // time passes on the connection.
    s.advance(30_000);
    s.take_sent();
    s.receive(&wire::publish("t", b"once", 2, 7, true, false));
    assert_eq!(s.take_sent(), [wire::pubrec(7)]);
    assert!(s.take_events().is_empty());
    // PUBREL: PUBCOMP with the same id.
    s.receive(&wire::pubrel(7));
    assert_eq!(s.take_sent(), [vec![0x70, 0x02, 0x00, 0x07]]);
    // After PUBCOMP, id 7 is a new publication.
    s.receive(&wire::publish("t", b"again", 2, 7, false, false));
    assert_eq!(s.take_sent(), [wire::pubrec(7)]);
    assert_eq!(
        s.take_events(),
        [Seen::message("t", b"again", QoS::ExactlyOnce, Some(7))]
    );
}

#[test]
fn qos2_inbound_transcript_snapshot() {
    checks!["MQTT-4.3.3-2"];
    let mut s = connected();
    s.receive(&wire::publish("cmd/reboot", b"now", 2, 1, false, false));
    s.receive(&wire::publish("cmd/reboot", b"now", 2, 1, true, false));
    s.receive(&wire::pubrel(1));
    s.receive(&wire::pubrel(1));
    insta::assert_snapshot!(s.transcript());
}

#[test]
fn mqtt_4_3_3_2_unknown_pubrel_is_answered_with_pubcomp() {
    checks!["MQTT-4.3.3-2"];
    let mut s = connected();
    s.receive(&wire::pubrel(42));
    assert_eq!(s.take_sent(), [wire::pubcomp(42)]);
    assert!(s.take_events().is_empty());
    assert!(s.session().is_connected());
}

#[test]
fn mqtt_4_5_0_2_unsubscribed_topic_is_still_acknowledged() {
    checks!["MQTT-4.5.0-2"];
    let mut s = connected();
    // No subscription at all: the broker's messages are acknowledged by their QoS anyway.
    s.receive(&wire::publish("never/subscribed", b"1", 1, 1, false, false));
    s.receive(&wire::publish("never/subscribed", b"2", 2, 2, false, true));
    assert_eq!(s.take_sent(), [wire::puback(1), wire::pubrec(2)]);
    assert_eq!(s.take_events().len(), 2);
}

#[test]
fn mqtt_4_6_0_2_pubacks_in_publish_order() {
    checks!["MQTT-4.6.0-2", "MQTT-4.6.0-3", "MQTT-7.1.2-1"];
    let ids = [9u16, 3, 65_535, 1, 200];
    let mut bytes = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let qos = if i % 2 == 0 { 1 } else { 2 };
        bytes.extend(wire::publish("t", &[i as u8], qos, *id, false, false));
    }
    let expected: Vec<Vec<u8>> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            if i % 2 == 0 {
                wire::puback(*id)
            } else {
                wire::pubrec(*id)
            }
        })
        .collect();
    // All at once, then one byte at a time: the same answers in the same order.
    for chunk in [bytes.len(), 1, 7] {
        let mut s = connected();
        s.receive_in_chunks(&bytes, chunk);
        assert_eq!(s.take_sent(), expected, "chunk {chunk}");
        let delivered: Vec<Vec<u8>> = s
            .take_events()
            .into_iter()
            .map(|e| match e {
                Seen::Message { payload, .. } => payload,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(delivered, [[0], [1], [2], [3], [4]]);
    }
}

#[test]
fn mqtt_7_1_2_1_many_packets_in_one_read_and_one_byte_per_read() {
    checks!["MQTT-7.1.2-1"];
    let mut stream = wire::connack(0, 0);
    stream.extend(wire::publish("a", b"1", 0, 0, false, false));
    stream.extend(wire::publish("b", &[0xAB; 300], 1, 5, false, false));
    stream.extend(wire::pingresp());
    for chunk in [1, 2, 3, 64, stream.len()] {
        let mut s = Script::new();
        s.up();
        s.connect(&ConnectOptions::new("c")).unwrap();
        s.take_sent();
        s.receive_in_chunks(&stream, chunk);
        let events = s.take_events();
        assert_eq!(events.len(), 3, "chunk {chunk}: {events:?}");
        assert_eq!(
            events[0],
            Seen::Connected {
                session_present: false
            }
        );
        assert!(matches!(&events[2], Seen::Message { payload, .. } if payload.len() == 300));
        assert_eq!(s.take_sent(), [wire::puback(5)]);
    }
}

#[test]
fn outbound_qos1_transcript_snapshot() {
    checks!["MQTT-4.3.2-1"];
    let mut s = connected();
    s.publish("sensors/1/temp", b"21.5", QoS::AtLeastOnce, false)
        .unwrap();
    s.publish("sensors/1/temp", b"21.6", QoS::AtLeastOnce, true)
        .unwrap();
    s.receive(&wire::puback(2));
    s.receive(&wire::puback(1));
    insta::assert_snapshot!(s.transcript());
}

#[test]
fn stray_acknowledgements_are_ignored_and_unknown_pubrec_is_released() {
    checks!["MQTT-4.3.3-1"];
    let mut s = connected();
    let q1 = s
        .publish("t", b"1", QoS::AtLeastOnce, false)
        .unwrap()
        .unwrap();
    let q2 = s
        .publish("t", b"2", QoS::ExactlyOnce, false)
        .unwrap()
        .unwrap();
    s.take_sent();
    // PUBACK / PUBCOMP for nothing in flight, or of the wrong kind: no event, no answer.
    s.receive(&wire::puback(99));
    s.receive(&wire::pubcomp(99));
    s.receive(&wire::puback(q2.get()));
    s.receive(&wire::pubcomp(q2.get()));
    s.receive(&wire::pubrec(q1.get()));
    assert!(s.take_events().is_empty());
    assert!(s.take_sent().is_empty());
    assert!(s.session().is_connected());
    assert_eq!(s.session().inflight(), 2);
    // A PUBREC for an id the client does not hold is released, so the broker can finish.
    s.receive(&wire::pubrec(77));
    assert_eq!(s.take_sent(), [wire::pubrel(77)]);
    // The real acknowledgements still work.
    s.receive(&wire::puback(q1.get()));
    s.receive(&wire::pubrec(q2.get()));
    s.receive(&wire::pubcomp(q2.get()));
    assert_eq!(
        s.take_events(),
        [Seen::Acknowledged(q1.get()), Seen::Completed(q2.get())]
    );
}

#[test]
fn inbound_retain_and_dup_flags_reach_the_application() {
    checks!["MQTT-3.3.4-1"];
    let mut s = connected();
    s.receive(&wire::publish("r", b"kept", 1, 4, true, true));
    assert_eq!(
        s.take_events(),
        [Seen::Message {
            topic: "r".to_owned(),
            payload: b"kept".to_vec(),
            qos: QoS::AtLeastOnce,
            retain: true,
            dup: true,
            packet_id: Some(4)
        }]
    );
    assert_eq!(s.take_sent(), [wire::puback(4)]);
}
