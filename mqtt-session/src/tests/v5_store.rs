//! MQTT 5.0 PUBLISH properties on QoS 1/2: kept by the store, written again on every resend,
//! the Message Expiry Interval counted down; exact bytes, written by hand from the standard.

use std::string::String;
use std::vec;
use std::vec::Vec;

use mqtt_proto::QoS;
use mqtt_proto::v5::{Properties, Property, PropertyContext};

use super::harness::pid;
use super::v5::{CONNACK, S, T0, connected, events, out, plain, session};
use crate::{
    CommandError, Config, ConnectOptionsV5, Event, FixedStore, Instant, Outgoing, OutgoingState,
    Session, SessionLostPolicy, Store, VecStore,
};

/// CONNACK: accepted, session present, no properties.
const CONNACK_PRESENT: &[u8] = &[0x20, 0x03, 0x01, 0x00, 0x00];

/// PUBACK, PUBREC, PUBCOMP for `id` (reason code left out: 0x00).
fn ack(first: u8, id: u16) -> [u8; 4] {
    let [hi, lo] = id.to_be_bytes();
    [first, 0x02, hi, lo]
}

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

/// Options that keep the session across connections (Session Expiry Interval 60).
fn lasting() -> ConnectOptionsV5<'static> {
    static EXPIRY: [Property<'static>; 1] = [Property::SessionExpiryInterval(60)];
    let mut c = ConnectOptionsV5::new("c");
    c.options.clean_session = false;
    c.properties = Properties::new(&EXPIRY);
    c
}

/// Lose the connection at `now` and connect again, the broker answering `connack`: the
/// events of both.
fn reconnect(s: &mut S, now: Instant, connack: &[u8]) -> Vec<String> {
    s.handle_transport_closed(now);
    let mut e = events(s);
    s.handle_transport_up(now);
    s.connect(now, &lasting()).unwrap();
    out(s, now);
    s.handle_receive(now, connack);
    e.extend(events(s));
    e
}

/// Message Expiry Interval `secs` and one User Property.
fn props(secs: u32) -> [Property<'static>; 2] {
    [
        Property::MessageExpiryInterval(secs),
        Property::UserProperty("k", "v"),
    ]
}

/// A PUBLISH of "a" on "t" with id 1, the first byte given, the properties of [`props`].
fn publish_bytes(first: u8, secs: u32) -> Vec<u8> {
    let [a, b, c, d] = secs.to_be_bytes();
    vec![
        first, 0x13, 0x00, 0x01, b't', 0x00, 0x01, // topic "t", id 1
        0x0C, // Property Length 12
        0x02, a, b, c, d, // Message Expiry Interval
        0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', // User Property
        b'a',
    ]
}

fn publish(s: &mut S, now: Instant, qos: QoS, secs: u32) -> crate::PacketId {
    let p = props(secs);
    s.publish_with(now, "t", b"a", qos, false, &Properties::new(&p))
        .unwrap()
        .unwrap()
}

#[test]
fn qos1_and_qos2_carry_their_properties() {
    let mut s = plain();
    assert_eq!(publish(&mut s, T0, QoS::AtLeastOnce, 60), pid(1));
    assert_eq!(out(&mut s, T0), publish_bytes(0x32, 60));
    // The store keeps them as wire bytes, without the Property Length.
    let m = s.store().outgoing(0).unwrap();
    assert_eq!(m.properties, &publish_bytes(0x32, 60)[8..20]);
    assert_eq!(m.expires, Some(at(60_000)));
    s.handle_receive(T0, &ack(0x40, 1));
    assert_eq!(
        events(&mut s),
        ["PublishAcknowledged { packet_id: PacketId(1) }"]
    );

    let mut s = plain();
    publish(&mut s, T0, QoS::ExactlyOnce, 60);
    assert_eq!(out(&mut s, T0), publish_bytes(0x34, 60));
    s.handle_receive(T0, &ack(0x50, 1));
    assert_eq!(out(&mut s, T0), [0x62, 0x02, 0x00, 0x01]);
    // The properties are given back with the topic and payload once PUBREC arrived.
    assert!(s.store().outgoing(0).unwrap().properties.is_empty());
    s.handle_receive(T0, &ack(0x70, 1));
    assert_eq!(
        events(&mut s),
        ["PublishCompleted { packet_id: PacketId(1) }"]
    );
}

#[test]
fn a_decoded_property_list_is_stored_as_it_came() {
    // The properties of a received message, forwarded as they are.
    let wire = [0x03, 0x00, 0x01, b'j', 0x01, 0x01];
    let list = Properties::from_wire(&wire, PropertyContext::Publish).unwrap();
    let mut s = plain();
    s.publish_with(T0, "t", b"a", QoS::AtLeastOnce, false, &list)
        .unwrap();
    assert_eq!(s.store().outgoing(0).unwrap().properties, wire);
    assert_eq!(s.store().outgoing(0).unwrap().expires, None);
    assert_eq!(
        out(&mut s, T0),
        [
            0x32, 0x0D, 0x00, 0x01, b't', 0x00, 0x01, 0x06, 0x03, 0x00, 0x01, b'j', 0x01, 0x01,
            b'a'
        ]
    );
}

#[test]
fn mqtt_3_3_1_1_qos1_resent_with_dup_and_the_same_properties() {
    let mut s = connected(Config::default(), &lasting(), CONNACK);
    publish(&mut s, T0, QoS::AtLeastOnce, 60);
    assert_eq!(out(&mut s, T0), publish_bytes(0x32, 60));
    assert_eq!(
        reconnect(&mut s, T0, CONNACK_PRESENT),
        [
            "Disconnected { reason: TransportClosed }",
            "CONNACK [00]",
            "Connected { session_present: true }"
        ]
    );
    // DUP=1, every property again [MQTT-3.3.1-1, MQTT-4.4.0-1].
    assert_eq!(out(&mut s, T0), publish_bytes(0x3A, 60));
    s.handle_receive(T0, &ack(0x40, 1));
    assert_eq!(
        events(&mut s),
        ["PublishAcknowledged { packet_id: PacketId(1) }"]
    );
}

#[test]
fn mqtt_3_3_1_1_qos2_resent_with_dup_and_the_same_properties_then_pubrel() {
    let mut s = connected(Config::default(), &lasting(), CONNACK);
    publish(&mut s, T0, QoS::ExactlyOnce, 60);
    assert_eq!(out(&mut s, T0), publish_bytes(0x34, 60));
    reconnect(&mut s, T0, CONNACK_PRESENT);
    assert_eq!(out(&mut s, T0), publish_bytes(0x3C, 60));
    s.handle_receive(T0, &ack(0x50, 1));
    assert_eq!(out(&mut s, T0), [0x62, 0x02, 0x00, 0x01]);
    // After PUBREC only the PUBREL goes again [MQTT-4.3.3-6].
    reconnect(&mut s, T0, CONNACK_PRESENT);
    assert_eq!(out(&mut s, T0), [0x62, 0x02, 0x00, 0x01]);
}

#[test]
fn the_message_expiry_interval_is_counted_down_on_every_resend() {
    let mut s = connected(Config::default(), &lasting(), CONNACK);
    publish(&mut s, T0, QoS::AtLeastOnce, 10);
    assert_eq!(out(&mut s, T0), publish_bytes(0x32, 10));
    // 3.5 s later: 3 whole seconds have passed, 7 are left.
    reconnect(&mut s, at(3_500), CONNACK_PRESENT);
    assert_eq!(out(&mut s, at(3_500)), publish_bytes(0x3A, 7));
    reconnect(&mut s, at(9_999), CONNACK_PRESENT);
    assert_eq!(out(&mut s, at(9_999)), publish_bytes(0x3A, 1));
}

#[test]
fn mqtt_4_4_0_1_an_expired_qos1_message_once_sent_is_resent_with_nothing_left() {
    let mut s = connected(Config::default(), &lasting(), CONNACK);
    publish(&mut s, T0, QoS::AtLeastOnce, 10);
    out(&mut s, T0);
    // Unacknowledged on a resumed session: resent however late [MQTT-4.4.0-1], with a
    // Message Expiry Interval of 0, and it completes as usual.
    reconnect(&mut s, at(60_000), CONNACK_PRESENT);
    assert_eq!(out(&mut s, at(60_000)), publish_bytes(0x3A, 0));
    s.handle_receive(at(60_000), &ack(0x40, 1));
    assert_eq!(
        events(&mut s),
        ["PublishAcknowledged { packet_id: PacketId(1) }"]
    );
}

#[test]
fn mqtt_4_3_3_7_an_expired_qos2_message_once_sent_is_not_expired() {
    let mut s = connected(Config::default(), &lasting(), CONNACK);
    publish(&mut s, T0, QoS::ExactlyOnce, 10);
    out(&mut s, T0);
    // The PUBLISH was sent: expiry is not applied [MQTT-4.3.3-7]; the flow goes on.
    reconnect(&mut s, at(10_000), CONNACK_PRESENT);
    assert_eq!(out(&mut s, at(10_000)), publish_bytes(0x3C, 0));
    s.handle_receive(at(10_000), &ack(0x50, 1));
    assert_eq!(out(&mut s, at(10_000)), [0x62, 0x02, 0x00, 0x01]);
    s.handle_receive(at(10_000), &ack(0x70, 1));
    assert_eq!(
        events(&mut s),
        ["PublishCompleted { packet_id: PacketId(1) }"]
    );
}

/// A window of one and a queue: the second message waits for the first's PUBACK.
fn queued() -> S {
    let config = Config::default().with_max_inflight(1).with_max_queued(4);
    let mut s = connected(config, &ConnectOptionsV5::new("c"), CONNACK);
    s.publish(T0, "q", b"1", QoS::AtLeastOnce, false).unwrap();
    assert_eq!(
        out(&mut s, T0),
        [0x32, 0x07, 0x00, 0x01, b'q', 0x00, 0x01, 0x00, b'1']
    );
    s
}

#[test]
fn a_message_that_waited_in_the_queue_goes_out_with_what_is_left() {
    let mut s = queued();
    let p = props(5);
    let id = s
        .publish_with(T0, "t", b"a", QoS::AtLeastOnce, false, &Properties::new(&p))
        .unwrap();
    assert_eq!(id, Some(pid(2)));
    assert!(out(&mut s, T0).is_empty());
    s.handle_receive(at(2_500), &ack(0x40, 1));
    let mut expected = publish_bytes(0x32, 3);
    expected[6] = 0x02;
    assert_eq!(out(&mut s, at(2_500)), expected);
}

#[test]
fn a_message_expired_before_it_was_ever_sent_is_reported_not_sent() {
    let mut s = queued();
    let p = props(5);
    s.publish_with(T0, "t", b"a", QoS::ExactlyOnce, false, &Properties::new(&p))
        .unwrap();
    s.publish(T0, "q", b"3", QoS::AtLeastOnce, false).unwrap();
    s.handle_receive(at(5_000), &ack(0x40, 1));
    // The expired one is skipped; the next goes out.
    assert_eq!(
        out(&mut s, at(5_000)),
        [0x32, 0x07, 0x00, 0x01, b'q', 0x00, 0x03, 0x00, b'3']
    );
    assert_eq!(
        events(&mut s),
        [
            "PublishAcknowledged { packet_id: PacketId(1) }",
            "PublishExpired { packet_id: PacketId(2) }"
        ]
    );
    assert_eq!(s.store().outgoing_len(), 1);
    assert_eq!(s.store().outgoing_position(pid(2)), None);
}

#[test]
fn an_interval_of_0_goes_out_as_given_within_the_first_second() {
    let mut s = queued();
    let p = props(0);
    s.publish_with(T0, "t", b"a", QoS::AtLeastOnce, false, &Properties::new(&p))
        .unwrap();
    s.publish_with(
        at(1),
        "t",
        b"a",
        QoS::AtLeastOnce,
        false,
        &Properties::new(&p),
    )
    .unwrap();
    s.handle_receive(at(999), &ack(0x40, 1));
    let mut expected = publish_bytes(0x32, 0);
    expected[6] = 0x02;
    assert_eq!(out(&mut s, at(999)), expected);
    // The third waited a whole second: expired.
    s.handle_receive(at(1_001), &ack(0x40, 2));
    assert!(out(&mut s, at(1_001)).is_empty());
    assert_eq!(
        events(&mut s),
        [
            "PublishAcknowledged { packet_id: PacketId(1) }",
            "PublishAcknowledged { packet_id: PacketId(2) }",
            "PublishExpired { packet_id: PacketId(3) }"
        ]
    );
}

#[test]
fn expiries_wait_for_room_in_the_event_queue() {
    let config = Config::default().with_max_inflight(1).with_max_queued(12);
    let mut s = connected(config, &ConnectOptionsV5::new("c"), CONNACK);
    s.publish(T0, "q", b"1", QoS::AtLeastOnce, false).unwrap();
    let p = props(1);
    for _ in 0..10 {
        s.publish_with(T0, "t", b"a", QoS::AtLeastOnce, false, &Properties::new(&p))
            .unwrap();
    }
    s.publish(T0, "q", b"z", QoS::AtLeastOnce, false).unwrap();
    out(&mut s, T0);
    let now = at(1_000);
    s.handle_receive(now, &ack(0x40, 1));
    let mut buf = [0u8; 64];
    let mut sent = Vec::new();
    let mut reported = Vec::new();
    for _ in 0..20 {
        while let Ok(Some(n)) = s.poll_transmit(now, &mut buf) {
            sent.extend_from_slice(&buf[..n]);
        }
        if s.poll_timeout() != Some(now) {
            break;
        }
        while let Some(e) = s.poll_event() {
            reported.push(format_event(&e));
        }
    }
    // Every one reported, in order; none sent; the last message went out after them.
    let mut expected = vec![String::from("acked 1")];
    expected.extend((2..12).map(|id| std::format!("expired {id}")));
    assert_eq!(reported, expected);
    assert_eq!(sent, [0x32, 0x07, 0x00, 0x01, b'q', 0x00, 0x0C, 0x00, b'z']);
}

fn format_event(e: &Event<'_>) -> String {
    match e {
        Event::PublishAcknowledged { packet_id } => std::format!("acked {}", packet_id.get()),
        Event::PublishExpired { packet_id } => std::format!("expired {}", packet_id.get()),
        other => std::format!("{other:?}"),
    }
}

#[test]
fn republished_after_a_lost_session_with_its_properties_and_what_is_left() {
    let mut s = connected(Config::default(), &lasting(), CONNACK);
    publish(&mut s, T0, QoS::AtLeastOnce, 10);
    out(&mut s, T0);
    // The broker lost the session: published again as a new message, DUP=0, new id.
    assert_eq!(
        reconnect(&mut s, at(4_000), CONNACK),
        [
            "Disconnected { reason: TransportClosed }",
            "CONNACK [00]",
            "Connected { session_present: false }",
            "Republished { old: PacketId(1), new: PacketId(2) }"
        ]
    );
    let mut expected = publish_bytes(0x32, 6);
    expected[6] = 0x02;
    assert_eq!(out(&mut s, at(4_000)), expected);
}

#[test]
fn a_republished_message_that_expired_is_reported() {
    let mut s = connected(Config::default(), &lasting(), CONNACK);
    publish(&mut s, T0, QoS::ExactlyOnce, 10);
    out(&mut s, T0);
    // A new session: the message is new there, and its lifetime is over.
    assert_eq!(
        reconnect(&mut s, at(10_000), CONNACK),
        [
            "Disconnected { reason: TransportClosed }",
            "CONNACK [00]",
            "Connected { session_present: false }",
            "Republished { old: PacketId(1), new: PacketId(2) }"
        ]
    );
    assert!(out(&mut s, at(10_000)).is_empty());
    assert_eq!(
        events(&mut s),
        ["PublishExpired { packet_id: PacketId(2) }"]
    );
    assert_eq!(s.store().outgoing_len(), 0);
}

#[test]
fn a_dropped_message_is_handed_back_with_its_properties() {
    let config = Config::default().with_session_lost(SessionLostPolicy::Drop);
    let mut s = connected(config, &lasting(), CONNACK);
    publish(&mut s, T0, QoS::AtLeastOnce, 10);
    out(&mut s, T0);
    s.handle_transport_closed(T0);
    events(&mut s);
    s.handle_transport_up(T0);
    s.connect(T0, &lasting()).unwrap();
    out(&mut s, T0);
    s.handle_receive(T0, CONNACK);
    let mut dropped = None;
    while let Some(e) = s.poll_event() {
        if let Event::PublishDropped(m) = e {
            dropped = Some((m.properties.to_vec(), m.expires));
        }
    }
    assert_eq!(
        dropped,
        Some((publish_bytes(0x32, 10)[8..20].to_vec(), Some(at(10_000))))
    );
}

#[test]
fn mqtt_3_3_2_7_a_resend_never_carries_a_topic_alias() {
    // The broker allows 2 aliases; QoS 0 to "t" sets alias 1 on the first connection.
    let connack = [0x20, 0x06, 0x00, 0x00, 0x03, 0x22, 0x00, 0x02];
    let config = Config::default().with_outgoing_topic_aliases(2);
    let mut s = connected(config, &lasting(), &connack);
    s.publish(T0, "t", b"0", QoS::AtMostOnce, false).unwrap();
    assert_eq!(
        out(&mut s, T0),
        [0x30, 0x08, 0x00, 0x01, b't', 0x03, 0x23, 0x00, 0x01, b'0']
    );
    // A QoS 1/2 message's first send uses the alias on the wire (an empty topic, the alias
    // after its own properties); its resend on the next connection names the topic in full.
    publish(&mut s, T0, QoS::AtLeastOnce, 60);
    assert_eq!(
        out(&mut s, T0),
        [
            0x32, 21, 0x00, 0x00, 0x00, 0x01, 15, 0x02, 0x00, 0x00, 0x00, 60, 0x26, 0x00, 0x01,
            b'k', 0x00, 0x01, b'v', 0x23, 0x00, 0x01, b'a'
        ]
    );
    s.handle_transport_closed(T0);
    events(&mut s);
    s.handle_transport_up(T0);
    s.connect(T0, &lasting()).unwrap();
    out(&mut s, T0);
    s.handle_receive(T0, &[0x20, 0x06, 0x01, 0x00, 0x03, 0x22, 0x00, 0x02]);
    events(&mut s);
    assert_eq!(out(&mut s, T0), publish_bytes(0x3A, 60));
}

/// A store a durable implementation reloaded: one message whose stored properties hold a
/// Topic Alias (the session never stores one).
fn restored_with(properties: &[u8], expires: Option<Instant>) -> S {
    let mut store = VecStore::new();
    store
        .push_outgoing(&Outgoing {
            packet_id: pid(7),
            qos: QoS::AtLeastOnce,
            retain: false,
            state: OutgoingState::Publish,
            topic: "t",
            payload: b"a",
            properties,
            expires,
        })
        .unwrap();
    let mut s = Session::new(Config::default(), store, vec![0; 4096], vec![0; 4096]);
    s.handle_transport_up(T0);
    s.connect(T0, &lasting()).unwrap();
    out(&mut s, T0);
    s.handle_receive(T0, CONNACK_PRESENT);
    events(&mut s);
    s
}

#[test]
fn a_topic_alias_handed_back_by_a_store_is_left_out() {
    let mut s = restored_with(&[0x23, 0x00, 0x01, 0x01, 0x01], None);
    assert_eq!(
        out(&mut s, T0),
        [
            0x3A, 0x09, 0x00, 0x01, b't', 0x00, 0x07, 0x02, 0x01, 0x01, b'a'
        ]
    );
}

#[test]
fn property_bytes_a_store_broke_are_left_out_whole() {
    // 0x7F is no property.
    let mut s = restored_with(&[0x7F, 0x00], None);
    assert_eq!(
        out(&mut s, T0),
        [0x3A, 0x07, 0x00, 0x01, b't', 0x00, 0x07, 0x00, b'a']
    );
}

#[test]
fn a_restored_message_is_taken_as_sent_and_resent_however_late() {
    // A reopened store cannot tell whether the PUBLISH went out: it is resent (DUP=1), with
    // nothing left of an interval that ran out while the process was down [MQTT-4.4.0-1].
    let mut s = restored_with(&[0x02, 0x00, 0x00, 0x00, 0x0A], Some(Instant::ZERO));
    assert_eq!(
        out(&mut s, T0),
        [
            0x3A, 0x0C, 0x00, 0x01, b't', 0x00, 0x07, 0x05, 0x02, 0x00, 0x00, 0x00, 0x00, b'a'
        ]
    );
    // With 2.5 s left on the new clock: 3 (rounded up, as the whole seconds elapsed are
    // rounded down).
    let mut s = restored_with(&[0x02, 0x00, 0x00, 0x00, 0x0A], Some(at(2_500)));
    assert_eq!(
        out(&mut s, T0),
        [
            0x3A, 0x0C, 0x00, 0x01, b't', 0x00, 0x07, 0x05, 0x02, 0x00, 0x00, 0x00, 0x03, b'a'
        ]
    );
}

#[test]
fn on_a_311_connection_the_properties_stay_behind() {
    let mut store = VecStore::new();
    store
        .push_outgoing(&Outgoing {
            packet_id: pid(7),
            qos: QoS::AtLeastOnce,
            retain: false,
            state: OutgoingState::Publish,
            topic: "t",
            payload: b"a",
            properties: &[0x01, 0x01],
            expires: None,
        })
        .unwrap();
    let mut s = Session::new(Config::default(), store, vec![0; 4096], vec![0; 4096]);
    let mut o = crate::ConnectOptions::new("c");
    o.clean_session = false;
    s.handle_transport_up(T0);
    s.connect(T0, &o).unwrap();
    out(&mut s, T0);
    s.handle_receive(T0, &[0x20, 0x02, 0x01, 0x00]);
    events(&mut s);
    assert_eq!(
        out(&mut s, T0),
        [0x3A, 0x06, 0x00, 0x01, b't', 0x00, 0x07, b'a']
    );
}

#[test]
fn the_fixed_store_counts_properties_in_its_bytes() {
    // 32 bytes: topic "t" (1) + properties (12) + payload (1) = 14 a message.
    let mut s = Session::new(
        Config::default(),
        FixedStore::<4, 32>::new(),
        vec![0u8; 256],
        vec![0u8; 256],
    );
    s.handle_transport_up(T0);
    s.connect(T0, &ConnectOptionsV5::new("c")).unwrap();
    let mut buf = [0u8; 256];
    while let Ok(Some(_)) = s.poll_transmit(T0, &mut buf) {}
    s.handle_receive(T0, CONNACK);
    while s.poll_event().is_some() {}
    let p = props(60);
    let list = Properties::new(&p);
    s.publish_with(T0, "t", b"a", QoS::AtLeastOnce, false, &list)
        .unwrap();
    assert_eq!(s.store().bytes_used(), 14);
    s.publish_with(T0, "t", b"a", QoS::ExactlyOnce, false, &list)
        .unwrap();
    assert_eq!(s.store().bytes_used(), 28);
    // A third would need 42 bytes: the store is full, though its slots are not.
    assert_eq!(
        s.publish_with(T0, "t", b"a", QoS::AtLeastOnce, false, &list),
        Err(CommandError::StoreFull)
    );
    // Without properties 2 bytes still fit.
    s.publish(T0, "t", b"", QoS::AtLeastOnce, false).unwrap();
    assert_eq!(s.store().bytes_used(), 29);
    let n = s.poll_transmit(T0, &mut buf).unwrap().unwrap();
    let mut sent = publish_bytes(0x32, 60);
    let mut second = publish_bytes(0x34, 60);
    second[6] = 0x02;
    sent.extend_from_slice(&second);
    sent.extend_from_slice(&[0x32, 0x06, 0x00, 0x01, b't', 0x00, 0x03, 0x00]);
    assert_eq!(&buf[..n], sent);
    // PUBREC gives the QoS 2 message's bytes back, PUBACK the QoS 1 message's.
    s.handle_receive(T0, &ack(0x50, 2));
    assert_eq!(s.store().bytes_used(), 15);
    s.handle_receive(T0, &ack(0x40, 1));
    assert_eq!(s.store().bytes_used(), 1);
    s.publish_with(T0, "t", b"a", QoS::AtLeastOnce, false, &list)
        .unwrap();
    assert_eq!(s.store().bytes_used(), 15);
    // The slots hold each message's own bytes after the moves.
    let m = s.store().outgoing(2).unwrap();
    assert_eq!((m.topic, m.payload), ("t", &b"a"[..]));
    assert_eq!(m.properties, &publish_bytes(0x32, 60)[8..20]);
}

#[test]
fn the_held_bytes_bound_counts_properties() {
    let config = Config::default().with_max_queued(4).with_max_held_bytes(20);
    let mut s = connected(config, &ConnectOptionsV5::new("c"), CONNACK);
    publish(&mut s, T0, QoS::AtLeastOnce, 60);
    // 14 held, 14 more would be 28 > 20.
    let p = props(60);
    assert_eq!(
        s.publish_with(T0, "t", b"a", QoS::AtLeastOnce, false, &Properties::new(&p)),
        Err(CommandError::WindowFull)
    );
    s.publish(T0, "t", b"12345", QoS::AtLeastOnce, false)
        .unwrap();
}

#[test]
fn a_list_is_encoded_in_the_free_transmit_buffer_or_refused() {
    // A transmit buffer of 40 bytes, 31 of them taken by a QoS 0 message not written yet:
    // 13 bytes to encode the list do not fit; a decoded list needs no room.
    let mut s = session_with_tx(40);
    s.publish(T0, "t", &[0u8; 25], QoS::AtMostOnce, false)
        .unwrap();
    let p = props(60);
    assert_eq!(
        s.publish_with(T0, "t", b"a", QoS::AtLeastOnce, false, &Properties::new(&p)),
        Err(CommandError::TransmitBufferFull { required: 13 })
    );
    assert_eq!(s.store().outgoing_len(), 0);
    let wire = publish_bytes(0x32, 60);
    let list = Properties::from_wire(&wire[8..20], PropertyContext::Publish).unwrap();
    s.publish_with(T0, "t", b"a", QoS::AtLeastOnce, false, &list)
        .unwrap();
    let mut all = Vec::new();
    let mut buf = [0u8; 40];
    while let Ok(Some(n)) = s.poll_transmit(T0, &mut buf) {
        all.extend_from_slice(&buf[..n]);
    }
    assert_eq!(&all[31..], publish_bytes(0x32, 60));
}

fn session_with_tx(tx: usize) -> S {
    let mut s = Session::new(
        Config::default(),
        VecStore::new(),
        vec![0; 256],
        vec![0; tx],
    );
    s.handle_transport_up(T0);
    s.connect(T0, &ConnectOptionsV5::new("c")).unwrap();
    let mut buf = vec![0u8; tx];
    while let Ok(Some(_)) = s.poll_transmit(T0, &mut buf) {}
    s.handle_receive(T0, CONNACK);
    events(&mut s);
    s
}

#[test]
fn publishes_without_properties_store_none() {
    let mut s = session(Config::default());
    s.handle_transport_up(T0);
    s.connect(T0, &crate::ConnectOptions::new("c")).unwrap();
    out(&mut s, T0);
    s.handle_receive(T0, &[0x20, 0x02, 0x00, 0x00]);
    events(&mut s);
    s.publish(T0, "t", b"a", QoS::AtLeastOnce, false).unwrap();
    let m = s.store().outgoing(0).unwrap();
    assert!(m.properties.is_empty());
    assert_eq!(m.expires, None);
    assert_eq!(
        out(&mut s, T0),
        [0x32, 0x06, 0x00, 0x01, b't', 0x00, 0x01, b'a']
    );
}
