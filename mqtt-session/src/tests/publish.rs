//! Outgoing PUBLISH: QoS flows, window, queue, packet ids, stray acknowledgements.

use insta::assert_snapshot;
use mqtt_proto::QoS;

use super::harness::*;
use crate::{CommandError, Config, FixedStore, State, Store};

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
fn an_id_is_not_reused_before_its_acknowledgement_is_polled() {
    let mut h = Harness::new();
    h.connected();
    h.s.next_id = 1;
    let a = h.publish("t", b"a", QoS::AtLeastOnce).unwrap();
    assert_eq!(a.get(), 1);
    // The PUBACK is processed but its event not polled yet.
    h.s.handle_receive(h.now, &puback(1));
    h.s.next_id = 1;
    let b =
        h.s.publish(h.now, "t", b"b", QoS::AtLeastOnce, false)
            .unwrap()
            .unwrap();
    assert_ne!(b.get(), 1, "id 1 is still reported by a pending event");
    assert_eq!(
        h.s.poll_event(),
        Some(crate::Event::PublishAcknowledged { packet_id: a })
    );
}

#[test]
fn publish_len_is_the_size_of_the_packet_publish_queues() {
    for (qos, len) in [
        (QoS::AtMostOnce, 1 + 1 + 2 + 3 + 4),
        (QoS::AtLeastOnce, 1 + 1 + 2 + 3 + 2 + 4),
        (QoS::ExactlyOnce, 1 + 1 + 2 + 3 + 2 + 4),
    ] {
        assert_eq!(crate::publish_len("a/b", b"data", qos), Some(len));
    }
    // Two bytes of remaining length from a body of 128 on.
    assert_eq!(
        crate::publish_len("t", &[0; 125], QoS::AtMostOnce),
        Some(1 + 2 + 128)
    );
    // A body past the format's limit (268,435,455 bytes) has no size.
    let big = std::vec![0u8; 268_435_455];
    assert_eq!(crate::publish_len("t", &big, QoS::AtMostOnce), None);
    let mut h = Harness::new();
    h.connected();
    assert_eq!(
        h.s.publish(h.now, "t", &big, QoS::AtMostOnce, false),
        Err(CommandError::PacketTooLarge {
            required: 3 + 268_435_455 + 5
        })
    );
}

/// `max_held_bytes` bounds the topic and payload bytes of held messages whose PUBLISH is still
/// needed: a QoS 1 message frees its bytes on PUBACK, a QoS 2 message on PUBREC (before its
/// PUBCOMP); one message alone is accepted even when larger than the budget.
#[test]
fn the_held_bytes_bound_refuses_what_would_exceed_it_and_frees_on_ack() {
    let config = Config::default()
        .with_max_inflight(8)
        .with_max_queued(8)
        .with_max_held_bytes(10);
    let mut h = Harness::with_config(config);
    h.connected();
    // 1 + 4 bytes each: two fit, a third would make 15.
    let a = h.publish("t", b"aaaa", QoS::AtLeastOnce).unwrap();
    let b = h.publish("t", b"bbbb", QoS::ExactlyOnce).unwrap();
    assert_eq!(
        h.s.publish(h.now, "t", b"cccc", QoS::AtLeastOnce, false),
        Err(CommandError::WindowFull)
    );
    // QoS 0 is not held: not bounded.
    assert_eq!(h.publish("t", b"zero zero zero", QoS::AtMostOnce), None);
    h.recv(&pubrec(b.get()));
    let c = h.publish("t", b"cccc", QoS::AtLeastOnce).unwrap();
    assert_eq!(
        h.s.publish(h.now, "t", b"d", QoS::AtLeastOnce, false),
        Err(CommandError::WindowFull)
    );
    h.recv(&puback(a.get()));
    h.recv(&puback(c.get()));
    h.recv(&pubcomp(b.get()));
    assert_eq!(h.s.inflight(), 0);
    // Nothing held: a message larger than the budget alone is accepted, and then nothing else.
    let big = h.publish("t", &[7; 64], QoS::AtLeastOnce).unwrap();
    assert_eq!(
        h.s.publish(h.now, "t", b"", QoS::AtLeastOnce, false),
        Err(CommandError::WindowFull)
    );
    h.recv(&puback(big.get()));
    assert!(h.publish("t", b"ok", QoS::AtLeastOnce).is_some());
}

/// A store reloaded after a restart counts toward the bound from the start; a released QoS 2
/// message in it counts nothing.
#[test]
fn the_held_bytes_bound_counts_a_restored_store() {
    let mut store = crate::VecStore::new();
    for (id, qos) in [(3u16, QoS::AtLeastOnce), (4, QoS::ExactlyOnce)] {
        store
            .push_outgoing(&crate::Outgoing {
                packet_id: pid(id),
                qos,
                retain: false,
                state: crate::OutgoingState::Publish,
                topic: "t",
                payload: b"12345",
                properties: &[],
                expires: None,
            })
            .unwrap();
    }
    store.release_outgoing(pid(4));
    let config = Config::default()
        .with_max_queued(4)
        .with_max_held_bytes(10)
        .with_offline_publish(true);
    let mut h = Harness::with(config, store);
    // 6 held (id 3); 6 more would be 12.
    assert_eq!(
        h.s.publish(h.now, "t", b"67890", QoS::AtLeastOnce, false),
        Err(CommandError::WindowFull)
    );
    assert!(h.publish("t", b"678", QoS::AtLeastOnce).is_some());
}
