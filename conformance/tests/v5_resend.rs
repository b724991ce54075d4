//! MQTT 5.0 session state across network connections (sections 3.1.2.5, 4.1, 4.4, 4.6):
//! what is kept while connected, what is resent after a reconnect, and in which order.
#![allow(clippy::unwrap_used)]

use conformance::v5::wire5::{self, PINGREQ, PINGRESP, ack, ack_with, p_u32, publish, publish_out};
use conformance::v5::{Peer, Seen5};
use mqtt_session::v5::{Properties, Property};
use mqtt_session::{ConnectOptionsV5, QoS, State};

const PUBACK: u8 = 0x40;
const PUBREC: u8 = 0x50;
const PUBREL: u8 = 0x62;
const PUBCOMP: u8 = 0x70;

/// Options with Clean Start 0, keep alive 30 s and these CONNECT properties.
fn options(properties: &'static [Property<'static>]) -> ConnectOptionsV5<'static> {
    let mut o = ConnectOptionsV5::new("c");
    o.options.clean_session = false;
    o.options.keep_alive = 30;
    o.properties = Properties::new(properties);
    o
}

static EXPIRY_600: [Property<'static>; 1] = [Property::SessionExpiryInterval(600)];

/// Closes the transport, reconnects with `o` and answers with `connack`; returns what was
/// sent after the CONNECT, and the events from the reconnect on.
fn reconnect(p: &mut Peer, o: &ConnectOptionsV5<'_>, connack: &[u8]) -> Vec<Vec<u8>> {
    p.closed();
    p.take_events();
    p.up();
    p.connect(o).unwrap();
    let connect = p.take_sent();
    assert_eq!(connect.len(), 1);
    assert_eq!(connect[0][0], 0x10);
    p.receive(connack);
    p.take_sent()
}

#[test]
fn mqtt5_4_4_0_1_resend_in_order_with_the_original_ids() {
    let o = options(&EXPIRY_600);
    let mut p = Peer::default();
    p.connected(&o, &wire5::connack(0, 0, &[]));
    // In publish order: QoS 1 id 1, QoS 2 id 2 (its PUBREC arrives: PUBREL sent), QoS 2 id 3,
    // QoS 1 id 4 (acknowledged: done), QoS 1 id 5.
    p.publish("t", b"1", QoS::AtLeastOnce, false).unwrap();
    p.publish("t", b"2", QoS::ExactlyOnce, false).unwrap();
    p.publish("t", b"3", QoS::ExactlyOnce, true).unwrap();
    p.publish("t", b"4", QoS::AtLeastOnce, false).unwrap();
    p.publish("t", b"5", QoS::AtLeastOnce, false).unwrap();
    p.receive(&ack(PUBREC, 2));
    p.receive(&ack(PUBACK, 4));
    assert_eq!(p.take_sent().len(), 6);
    // Session Present 1: every unacknowledged PUBLISH again with DUP 1 and its original id
    // [MQTT-4.4.0-1, MQTT-3.3.1-1], in the order first sent [MQTT-4.6.0-1]; for id 2 the
    // PUBREL, never the PUBLISH again [MQTT-4.3.3-6]: the PUBREL is unacknowledged until its
    // PUBCOMP [MQTT-4.3.3-5]. The state outlived the connection [MQTT-3.1.2-23].
    let sent = reconnect(&mut p, &o, &wire5::connack(1, 0, &[]));
    assert_eq!(
        sent,
        [
            publish_out("t", b"1", 1, 1, true, false),
            ack(PUBREL, 2),
            publish_out("t", b"3", 2, 3, true, true),
            publish_out("t", b"5", 1, 5, true, false),
        ]
    );
    // New messages only after them.
    p.publish("t", b"6", QoS::AtLeastOnce, false).unwrap();
    assert_eq!(p.take_sent(), [publish_out("t", b"6", 1, 6, false, false)]);
    // Once more, after the PUBREC for 3: its PUBREL, not its PUBLISH [MQTT-4.3.3-6].
    p.receive(&ack(PUBREC, 3));
    assert_eq!(p.take_sent(), [ack(PUBREL, 3)]);
    p.receive(&ack(PUBACK, 1));
    let sent = reconnect(&mut p, &o, &wire5::connack(1, 0, &[]));
    assert_eq!(
        sent,
        [
            ack(PUBREL, 2),
            ack(PUBREL, 3),
            publish_out("t", b"5", 1, 5, true, false),
            publish_out("t", b"6", 1, 6, true, false),
        ]
    );
    for (first, id) in [(PUBCOMP, 2), (PUBCOMP, 3), (PUBACK, 5), (PUBACK, 6)] {
        p.receive(&ack(first, id));
    }
    assert_eq!(p.session().inflight(), 0);
    // Nothing left: the next reconnect resends nothing.
    assert!(reconnect(&mut p, &o, &wire5::connack(1, 0, &[])).is_empty());
}

#[test]
fn mqtt5_4_4_0_1_never_resent_at_any_other_time() {
    let o = options(&EXPIRY_600);
    let mut p = Peer::default();
    p.connected(&o, &wire5::connack(0, 0, &[]));
    p.publish("t", b"1", QoS::AtLeastOnce, false).unwrap();
    p.publish("t", b"2", QoS::ExactlyOnce, false).unwrap();
    p.publish("t", b"3", QoS::ExactlyOnce, false).unwrap();
    p.receive(&ack(PUBREC, 3));
    assert_eq!(p.take_sent().len(), 4);
    // Ten minutes without an answer, the broker's other traffic, PINGREQs answered: nothing is
    // sent again on this connection [MQTT-4.4.0-1] (nor PUBREL 3 again).
    for _ in 0..20 {
        p.advance(30_000);
        assert_eq!(p.take_sent(), [PINGREQ.to_vec()]);
        p.receive(&PINGRESP);
        p.receive(&publish("in", b"x", 0, 0, false, &[]));
    }
    assert!(p.take_sent().is_empty());
    // A duplicate PUBREC for 3 is answered with its PUBREL, not with a resend of anything else.
    p.receive(&ack(PUBREC, 3));
    assert_eq!(p.take_sent(), [ack(PUBREL, 3)]);
    // Session Present 0 on the next connection: no resend either; the messages start afresh
    // (new ids, DUP 0), and the QoS 2 whose PUBREC arrived is not published again.
    let sent = reconnect(&mut p, &o, &wire5::connack(0, 0, &[]));
    assert_eq!(
        sent,
        [
            publish_out("t", b"1", 1, 4, false, false),
            publish_out("t", b"2", 2, 5, false, false),
        ]
    );
}

#[test]
fn mqtt5_4_4_0_2_a_message_refused_with_an_error_code_is_not_resent() {
    let o = options(&EXPIRY_600);
    let mut p = Peer::default();
    p.connected(&o, &wire5::connack(0, 0, &[]));
    p.publish("t", b"1", QoS::AtLeastOnce, false).unwrap();
    p.publish("t", b"2", QoS::ExactlyOnce, false).unwrap();
    p.publish("t", b"3", QoS::AtLeastOnce, false).unwrap();
    p.take_sent();
    p.receive(&ack_with(PUBACK, 1, 0x87, &[]));
    p.receive(&ack_with(PUBREC, 2, 0x97, &[]));
    // PUBACK 0x87 and PUBREC 0x97 acknowledged 1 and 2: only 3 is resent [MQTT-4.4.0-2].
    let sent = reconnect(&mut p, &o, &wire5::connack(1, 0, &[]));
    assert_eq!(sent, [publish_out("t", b"3", 1, 3, true, false)]);
}

#[test]
fn mqtt5_4_1_0_1_session_state_is_kept_while_the_connection_is_open() {
    // Session Expiry Interval 0 (absent), and the broker's CONNACK says 0 too: the session
    // ends when the connection closes, not before [MQTT-4.1.0-1].
    let o = options(&[]);
    let mut p = Peer::default();
    p.connected(&o, &wire5::connack(0, 0, &p_u32(0x11, 0)));
    assert_eq!(
        p.session().server_limits().unwrap().session_expiry_interval,
        0
    );
    p.publish("t", b"1", QoS::AtLeastOnce, false).unwrap();
    p.publish("t", b"2", QoS::ExactlyOnce, false).unwrap();
    p.receive(&publish("in", b"q2", 2, 9, false, &[]));
    p.take_sent();
    p.take_events();
    for _ in 0..10 {
        p.advance(30_000);
        p.receive(&PINGRESP);
    }
    p.take_sent();
    // Twenty minutes later all of it is still there: the incoming QoS 2 id 9 is still known
    // (a resend is not delivered again), the PUBREC for 2 gets its PUBREL, the PUBACK for 1
    // and the PUBCOMP for 2 complete them.
    p.receive(&publish("in", b"q2", 2, 9, true, &[]));
    assert!(p.take_events().is_empty());
    p.receive(&ack(PUBREC, 2));
    p.receive(&ack(PUBACK, 1));
    p.receive(&ack(PUBCOMP, 2));
    p.receive(&ack(PUBREL, 9));
    assert_eq!(
        p.take_sent(),
        [ack(PUBREC, 9), ack(PUBREL, 2), ack(PUBCOMP, 9)]
    );
    assert_eq!(
        p.take_events(),
        [Seen5::Acknowledged(1), Seen5::Completed(2)]
    );
    assert_eq!(p.state(), State::Connected);
}

#[test]
fn mqtt5_3_1_2_23_the_session_state_outlives_the_connection_with_session_expiry() {
    // Session Expiry Interval 600: the state is stored after the connection closes
    // [MQTT-3.1.2-23]: an incoming QoS 2 id awaiting its PUBREL and an outgoing QoS 1.
    let o = options(&EXPIRY_600);
    let mut p = Peer::default();
    p.connected(&o, &wire5::connack(0, 0, &[]));
    p.receive(&publish("in", b"q2", 2, 9, false, &[]));
    p.publish("t", b"1", QoS::AtLeastOnce, false).unwrap();
    p.take_sent();
    p.closed();
    assert_eq!(p.take_events().len(), 2, "the message and Disconnected");
    let sent = reconnect(&mut p, &o, &wire5::connack(1, 0, &[]));
    assert_eq!(sent, [publish_out("t", b"1", 1, 1, true, false)]);
    // The broker resends its QoS 2 message: not delivered again; PUBREL completes it.
    p.receive(&publish("in", b"q2", 2, 9, true, &[]));
    p.receive(&ack(PUBREL, 9));
    assert_eq!(p.take_sent(), [ack(PUBREC, 9), ack(PUBCOMP, 9)]);
    assert!(
        !p.take_events()
            .iter()
            .any(|e| matches!(e, Seen5::Message(_)))
    );
    // The Session Expiry Interval the CONNACK gives wins: 0 there ends the session with this
    // connection, whatever we asked for.
    let mut p = Peer::default();
    p.connected(&o, &wire5::connack(0, 0, &p_u32(0x11, 0)));
    p.receive(&publish("in", b"q2", 2, 9, false, &[]));
    p.publish("t", b"1", QoS::AtLeastOnce, false).unwrap();
    p.closed();
    let events = p.take_events();
    assert!(
        events.contains(&Seen5::Republished { old: 1, new: 2 }),
        "{events:?}"
    );
}
