//! MQTT 5.0 PUBLISH at QoS 0, 1 and 2 both ways, the acknowledgements and their order
//! (sections 2.2.1, 3.3 to 3.7, 4.3, 4.5, 4.6): a 5.0 session against a scripted broker, exact
//! bytes written by hand.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use conformance::v5::wire5::{self, ack, ack_with, p_str, p_u32, p_user, publish, publish_out};
use conformance::v5::{Msg, Peer, Seen5};
use mqtt_session::v5::{Properties, Property};
use mqtt_session::{ConnectOptionsV5, DisconnectReason, PacketId, QoS, State, Violation};

const PUBACK: u8 = 0x40;
const PUBREC: u8 = 0x50;
const PUBREL: u8 = 0x62;
const PUBCOMP: u8 = 0x70;

fn response(packet: &str, id: u16, code: u8) -> Seen5 {
    Seen5::Response {
        packet: packet.into(),
        packet_id: Some(id),
        codes: vec![code],
        properties: vec![],
    }
}

#[test]
fn mqtt5_4_3_1_1_qos0_publish_has_no_packet_id_and_dup_0() {
    let mut p = Peer::plain();
    // QoS 0 and DUP 0 [MQTT-4.3.1-1, MQTT-3.3.1-2], no Packet Identifier [MQTT-2.2.1-2]: Topic
    // Name first [MQTT-3.3.2-1], Property Length 0, payload.
    assert_eq!(p.publish("a/b", b"hi", QoS::AtMostOnce, false), Ok(None));
    assert_eq!(
        p.take_sent(),
        [vec![
            0x30, 0x08, 0x00, 0x03, b'a', b'/', b'b', 0x00, b'h', b'i'
        ]]
    );
    assert_eq!(p.publish("a/b", b"", QoS::AtMostOnce, true), Ok(None));
    assert_eq!(
        p.take_sent(),
        [vec![0x31, 0x06, 0x00, 0x03, b'a', b'/', b'b', 0x00]]
    );
    // A QoS 0 message is never sent again, so never with DUP 1 [MQTT-3.3.1-2]: not after a
    // reconnect with the session resumed.
    let expiry = [Property::SessionExpiryInterval(60)];
    let mut o = ConnectOptionsV5::new("c");
    o.options.clean_session = false;
    o.properties = Properties::new(&expiry);
    let mut p = Peer::default();
    p.connected(&o, &wire5::connack(0, 0, &[]));
    p.publish("t", b"0", QoS::AtMostOnce, false).unwrap();
    p.take_sent();
    p.closed();
    p.up();
    p.connect(&o).unwrap();
    p.receive(&wire5::connack(1, 0, &[]));
    assert_eq!(p.take_sent().len(), 1, "only the CONNECT");
}

#[test]
fn mqtt5_3_3_1_2_incoming_qos0_with_dup_is_malformed() {
    // A receiver of DUP 1 on QoS 0 [MQTT-3.3.1-2] has a malformed packet: DISCONNECT 0x81.
    let mut p = Peer::plain();
    let mut bytes = publish("t", b"x", 0, 0, false, &[]);
    bytes[0] |= 0x08;
    p.receive(&bytes);
    assert_eq!(p.take_sent(), [vec![0xE0, 0x01, 0x81]]);
    let events = p.take_events();
    assert!(!events.iter().any(|e| matches!(e, Seen5::Message(_))));
    assert!(matches!(
        events.last(),
        Some(Seen5::Disconnected(DisconnectReason::ProtocolViolation(
            Violation::Malformed(_)
        )))
    ));
}

#[test]
fn mqtt5_3_3_1_4_incoming_qos_3_is_malformed() {
    // Both QoS bits set [MQTT-3.3.1-4]: DISCONNECT 0x81, nothing delivered or acknowledged.
    let mut p = Peer::plain();
    let mut bytes = publish("t", b"x", 1, 1, false, &[]);
    bytes[0] = 0x36;
    p.receive(&bytes);
    assert_eq!(p.take_sent(), [vec![0xE0, 0x01, 0x81]]);
    assert!(
        !p.take_events()
            .iter()
            .any(|e| matches!(e, Seen5::Message(_)))
    );
    assert_eq!(p.state(), State::Closed);
}

#[test]
fn mqtt5_4_3_2_qos1_publish_unacknowledged_until_its_puback() {
    let mut p = Peer::plain();
    // A new message gets an unused, non-zero Packet Identifier [MQTT-4.3.2-1, MQTT-2.2.1-3];
    // QoS 1, DUP 0 [MQTT-4.3.2-2].
    let id = p.publish("t", b"x", QoS::AtLeastOnce, false).unwrap();
    assert_eq!(id, PacketId::new(1));
    assert_eq!(p.take_sent(), [publish_out("t", b"x", 1, 1, false, false)]);
    // Unacknowledged until the PUBACK for it [MQTT-4.3.2-3]: not a PUBACK for another id, a
    // PUBREC or PUBCOMP for it.
    p.receive(&ack(PUBACK, 2));
    p.receive(&ack(PUBREC, 1));
    p.receive(&ack(PUBCOMP, 1));
    assert!(p.take_events().is_empty());
    assert_eq!(p.session().inflight(), 1);
    let next = p.publish("t", b"y", QoS::AtLeastOnce, false).unwrap();
    assert_eq!(next, PacketId::new(2), "id 1 is still in use");
    p.take_sent();
    p.receive(&ack(PUBACK, 1));
    assert_eq!(p.take_events(), [Seen5::Acknowledged(1)]);
    assert_eq!(p.session().inflight(), 1);
    assert!(p.take_sent().is_empty(), "a PUBACK needs no answer");
    // A PUBACK with a success code and a Reason String acknowledges too.
    p.receive(&ack_with(PUBACK, 2, 0x10, &p_str(0x1F, "ok")));
    assert_eq!(
        p.take_events(),
        [
            Seen5::Response {
                packet: "PUBACK".into(),
                packet_id: Some(2),
                codes: vec![0x10],
                properties: vec!["ReasonString(\"ok\")".into()]
            },
            Seen5::Acknowledged(2)
        ]
    );
    assert_eq!(p.session().inflight(), 0);
}

#[test]
fn mqtt5_4_3_3_qos2_publish_pubrec_pubrel_pubcomp() {
    let mut p = Peer::plain();
    // Unused id, QoS 2, DUP 0 [MQTT-4.3.3-1, MQTT-4.3.3-2].
    let id = p.publish("t", b"x", QoS::ExactlyOnce, true).unwrap();
    assert_eq!(id, PacketId::new(1));
    assert_eq!(p.take_sent(), [publish_out("t", b"x", 2, 1, false, true)]);
    // Unacknowledged until its PUBREC [MQTT-4.3.3-3]: a PUBACK or PUBCOMP for it, a PUBREC for
    // another id, change nothing (that PUBREC gets its PUBREL, so the broker can finish).
    p.receive(&ack(PUBACK, 1));
    p.receive(&ack(PUBCOMP, 1));
    p.receive(&ack(PUBREC, 2));
    assert_eq!(p.take_sent(), [ack(PUBREL, 2)]);
    assert!(p.take_events().is_empty());
    assert_eq!(p.session().inflight(), 1);
    // PUBREC below 0x80: PUBREL with the same Packet Identifier [MQTT-4.3.3-4, MQTT-2.2.1-5],
    // fixed header flags 0010 [MQTT-3.6.1-1].
    p.receive(&ack(PUBREC, 1));
    assert_eq!(p.take_sent(), [vec![0x62, 0x02, 0x00, 0x01]]);
    // The PUBREL is unacknowledged until the PUBCOMP [MQTT-4.3.3-5]: the id stays in use.
    assert_eq!(p.session().inflight(), 1);
    let other = p.publish("t", b"y", QoS::ExactlyOnce, false).unwrap();
    assert_eq!(other, PacketId::new(2));
    p.take_sent();
    p.receive(&ack(PUBACK, 1));
    assert!(p.take_events().is_empty());
    p.receive(&ack(PUBCOMP, 1));
    assert_eq!(p.take_events(), [Seen5::Completed(1)]);
    // PUBREC 0x10 (No matching subscribers) is below 0x80: PUBREL too [MQTT-4.3.3-4].
    p.receive(&ack_with(PUBREC, 2, 0x10, &[]));
    assert_eq!(p.take_sent(), [ack(PUBREL, 2)]);
    assert_eq!(p.take_events(), [response("PUBREC", 2, 0x10)]);
    p.receive(&ack(PUBCOMP, 2));
    assert_eq!(p.take_events(), [Seen5::Completed(2)]);
    assert_eq!(p.session().inflight(), 0);
}

#[test]
fn mqtt5_4_4_0_2_an_error_ack_ends_the_flow() {
    let mut p = Peer::plain();
    p.publish("t", b"1", QoS::AtLeastOnce, false).unwrap();
    p.publish("t", b"2", QoS::ExactlyOnce, false).unwrap();
    p.take_sent();
    // PUBACK 0x80 and PUBREC 0x87: acknowledged [MQTT-4.4.0-2]; no PUBREL follows a PUBREC of
    // 0x80 or more [MQTT-4.3.3-4].
    p.receive(&ack_with(PUBACK, 1, 0x80, &[]));
    p.receive(&ack_with(PUBREC, 2, 0x87, &[]));
    assert_eq!(
        p.take_events(),
        [
            response("PUBACK", 1, 0x80),
            Seen5::Rejected {
                packet_id: 1,
                code: 0x80
            },
            response("PUBREC", 2, 0x87),
            Seen5::Rejected {
                packet_id: 2,
                code: 0x87
            },
        ]
    );
    assert!(p.take_sent().is_empty());
    assert_eq!(p.session().inflight(), 0);
    // Never retransmitted [MQTT-4.4.0-2]: the ids are free again.
    assert_eq!(
        p.publish("t", b"3", QoS::AtLeastOnce, false).unwrap(),
        PacketId::new(3)
    );
    p.take_sent();
    p.receive(&ack(PUBACK, 3));
    assert_eq!(
        p.publish("t", b"4", QoS::AtLeastOnce, false).unwrap(),
        PacketId::new(4)
    );
    assert_eq!(p.take_sent(), [publish_out("t", b"4", 1, 4, false, false)]);
}

#[test]
fn mqtt5_2_2_1_3_packet_ids_are_non_zero_and_unused() {
    let mut p = Peer::plain();
    // PUBLISH QoS 1 and 2, SUBSCRIBE and UNSUBSCRIBE all in flight at once: each a distinct,
    // non-zero Packet Identifier [MQTT-2.2.1-3].
    let a = p
        .publish("t", b"1", QoS::AtLeastOnce, false)
        .unwrap()
        .unwrap();
    let b = p.subscribe(&[("s", QoS::AtMostOnce)]).unwrap();
    let c = p
        .publish("t", b"2", QoS::ExactlyOnce, false)
        .unwrap()
        .unwrap();
    let d = p.unsubscribe(&["s"]).unwrap();
    let ids: BTreeSet<u16> = [a, b, c, d].iter().map(|i| i.get()).collect();
    assert_eq!(ids.len(), 4);
    assert!(!ids.contains(&0));
    let sent = p.take_sent();
    assert_eq!(sent[0], publish_out("t", b"1", 1, a.get(), false, false));
    assert_eq!(
        sent[1],
        [
            vec![0x82, 0x07],
            b.get().to_be_bytes().to_vec(),
            vec![0x00, 0x00, 0x01, b's', 0x00]
        ]
        .concat()
    );
    assert_eq!(sent[2], publish_out("t", b"2", 2, c.get(), false, false));
    assert_eq!(
        sent[3],
        [
            vec![0xA2, 0x06],
            d.get().to_be_bytes().to_vec(),
            vec![0x00, 0x00, 0x01, b's']
        ]
        .concat()
    );
}

#[test]
fn mqtt5_2_2_1_3_id_wraparound_skips_ids_in_use() {
    let mut p = Peer::plain();
    let held = p
        .publish("t", b"held", QoS::AtLeastOnce, false)
        .unwrap()
        .unwrap();
    let pending = p.subscribe(&[("s", QoS::AtMostOnce)]).unwrap();
    assert_eq!((held.get(), pending.get()), (1, 2));
    p.take_sent();
    let mut previous = pending.get();
    let mut wrapped = false;
    for _ in 0..66_000 {
        let id = p
            .publish("t", b"x", QoS::AtLeastOnce, false)
            .unwrap()
            .unwrap()
            .get();
        // Never an id still in use [MQTT-2.2.1-3, MQTT-4.3.2-1].
        assert!(id != held.get() && id != pending.get(), "{id} is in use");
        if id < previous {
            wrapped = true;
            assert_eq!(id, 3, "after 65,535 comes the lowest free id");
        }
        previous = id;
        p.take_sent();
        p.receive(&ack(PUBACK, id));
        assert_eq!(p.take_events(), [Seen5::Acknowledged(id)]);
    }
    assert!(wrapped);
}

#[test]
fn mqtt5_3_3_4_1_each_incoming_publish_is_answered_as_its_qos_says() {
    let mut p = Peer::plain();
    // QoS 0: delivered, no answer [MQTT-3.3.4-1].
    p.receive(&publish("a", b"0", 0, 0, false, &[]));
    assert!(p.take_sent().is_empty());
    assert_eq!(
        p.take_events(),
        [Seen5::message("a", b"0", QoS::AtMostOnce, None)]
    );
    // QoS 1: PUBACK with its Packet Identifier [MQTT-4.3.2-4, MQTT-2.2.1-5].
    p.receive(&publish("a", b"1", 1, 0x1234, false, &[]));
    assert_eq!(p.take_sent(), [vec![0x40, 0x02, 0x12, 0x34]]);
    assert_eq!(
        p.take_events(),
        [Seen5::message("a", b"1", QoS::AtLeastOnce, Some(0x1234))]
    );
    // QoS 2: PUBREC with its Packet Identifier [MQTT-4.3.3-8], then PUBCOMP with the PUBREL's
    // [MQTT-4.3.3-11].
    p.receive(&publish("a", b"2", 2, 0xABCD, false, &[]));
    assert_eq!(p.take_sent(), [vec![0x50, 0x02, 0xAB, 0xCD]]);
    assert_eq!(
        p.take_events(),
        [Seen5::message("a", b"2", QoS::ExactlyOnce, Some(0xABCD))]
    );
    p.receive(&ack(PUBREL, 0xABCD));
    assert_eq!(p.take_sent(), [vec![0x70, 0x02, 0xAB, 0xCD]]);
    // A PUBREL for an id not awaiting one (its PUBCOMP was lost, say): PUBCOMP all the same.
    p.receive(&ack(PUBREL, 0x0042));
    assert_eq!(p.take_sent(), [ack(PUBCOMP, 0x0042)]);
    // With a Reason String on the PUBREL: the same PUBCOMP.
    p.receive(&publish("a", b"3", 2, 9, false, &[]));
    p.receive(&ack_with(PUBREL, 9, 0x00, &p_str(0x1F, "r")));
    assert_eq!(p.take_sent(), [ack(PUBREC, 9), ack(PUBCOMP, 9)]);
    assert!(
        p.take_events()
            .iter()
            .all(|e| !matches!(e, Seen5::Disconnected(_)))
    );
}

#[test]
fn mqtt5_4_3_2_4_the_puback_goes_out_with_the_message_accepted() {
    // The PUBACK and PUBREC are queued when the PUBLISH is read, the message held for the
    // application in the session: the application need not have looked at it (or ever look)
    // [MQTT-4.3.2-4, MQTT-4.3.3-8, MQTT-4.5.0-2].
    let mut p = Peer::plain();
    let mut input = publish("x/1", b"a", 1, 1, false, &[]);
    input.extend(publish("y", b"b", 2, 2, false, &[]));
    let now = p.now();
    let s = p.session_mut();
    assert_eq!(s.handle_receive(now, &input), input.len());
    let mut buf = [0u8; 64];
    let mut out = Vec::new();
    while let Ok(Some(n)) = s.poll_transmit(now, &mut buf) {
        out.extend_from_slice(&buf[..n]);
    }
    assert_eq!(out, [ack(PUBACK, 1), ack(PUBREC, 2)].concat());
    // Both messages are still there for the application.
    p.pump();
    assert_eq!(
        p.take_events(),
        [
            Seen5::message("x/1", b"a", QoS::AtLeastOnce, Some(1)),
            Seen5::message("y", b"b", QoS::ExactlyOnce, Some(2)),
        ]
    );
}

#[test]
fn mqtt5_4_5_0_2_messages_on_any_topic_are_acknowledged() {
    // No subscription at all: whatever the broker sends is acknowledged as its QoS says
    // [MQTT-4.5.0-2], with its properties, retained or not, duplicate or not.
    let mut p = Peer::plain();
    let mut r = publish("never/subscribed", b"r", 1, 3, true, &p_user("k", "v"));
    r[0] |= 0x01;
    p.receive(&r);
    p.receive(&publish("$SYS/x", b"s", 2, 4, false, &p_u32(0x02, 10)));
    assert_eq!(p.take_sent(), [ack(PUBACK, 3), ack(PUBREC, 4)]);
    assert_eq!(
        p.take_events(),
        [
            Seen5::Message(Msg {
                retain: true,
                dup: true,
                properties: vec!["UserProperty(\"k\", \"v\")".into()],
                ..Msg::new("never/subscribed", b"r", QoS::AtLeastOnce, Some(3))
            }),
            Seen5::Message(Msg {
                properties: vec!["MessageExpiryInterval(10)".into()],
                ..Msg::new("$SYS/x", b"s", QoS::ExactlyOnce, Some(4))
            }),
        ]
    );
}

#[test]
fn mqtt5_4_3_2_5_after_the_puback_the_same_id_is_a_new_message() {
    let mut p = Peer::plain();
    p.receive(&publish("t", b"first", 1, 7, false, &[]));
    // The same id again, DUP 1 or not: a new message each time [MQTT-4.3.2-5].
    p.receive(&publish("t", b"again", 1, 7, true, &[]));
    p.receive(&publish("t", b"third", 1, 7, false, &[]));
    assert_eq!(
        p.take_sent(),
        [ack(PUBACK, 7), ack(PUBACK, 7), ack(PUBACK, 7)]
    );
    let payloads: Vec<Vec<u8>> = p
        .take_events()
        .into_iter()
        .map(|e| match e {
            Seen5::Message(m) => m.payload,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(payloads, [&b"first"[..], b"again", b"third"]);
}

#[test]
fn mqtt5_4_3_3_10_qos2_resent_before_pubrel_is_delivered_once() {
    let mut p = Peer::plain();
    p.receive(&publish("t", b"x", 2, 5, false, &[]));
    assert_eq!(
        p.take_events(),
        [Seen5::message("t", b"x", QoS::ExactlyOnce, Some(5))]
    );
    // Until the PUBREL: every PUBLISH with id 5 gets a PUBREC and is not delivered again
    // [MQTT-4.3.3-10].
    for dup in [true, true, false] {
        p.receive(&publish("t", b"x", 2, 5, dup, &[]));
    }
    assert_eq!(
        p.take_sent(),
        [
            ack(PUBREC, 5),
            ack(PUBREC, 5),
            ack(PUBREC, 5),
            ack(PUBREC, 5)
        ]
    );
    assert!(p.take_events().is_empty());
    // PUBREL: PUBCOMP [MQTT-4.3.3-11]; after it, id 5 starts a new message [MQTT-4.3.3-12].
    p.receive(&ack(PUBREL, 5));
    assert_eq!(p.take_sent(), [ack(PUBCOMP, 5)]);
    p.receive(&publish("t", b"new", 2, 5, false, &[]));
    assert_eq!(p.take_sent(), [ack(PUBREC, 5)]);
    assert_eq!(
        p.take_events(),
        [Seen5::message("t", b"new", QoS::ExactlyOnce, Some(5))]
    );
}

#[test]
fn mqtt5_4_3_3_13_the_qos2_sequence_goes_on_past_message_expiry() {
    // Message Expiry Interval 1 s; the resend and the PUBREL come 5 s later: the client keeps
    // acknowledging [MQTT-4.3.3-13]: PUBREC, PUBREC (not delivered again), PUBCOMP.
    let mut p = Peer::plain();
    let expiring = publish("t", b"x", 2, 3, false, &p_u32(0x02, 1));
    p.receive(&expiring);
    assert_eq!(p.take_sent(), [ack(PUBREC, 3)]);
    p.take_events();
    p.advance(5_000);
    let mut again = expiring.clone();
    again[0] |= 0x08;
    p.receive(&again);
    assert_eq!(p.take_sent(), [ack(PUBREC, 3)]);
    assert!(p.take_events().is_empty());
    p.advance(5_000);
    p.receive(&ack(PUBREL, 3));
    assert_eq!(p.take_sent(), [ack(PUBCOMP, 3)]);
}

#[test]
fn mqtt5_4_6_0_2_and_3_acknowledgements_in_the_order_received() {
    let mut p = Peer::plain();
    // QoS 1 and 2 PUBLISH packets interleaved, in one read and one byte at a time: PUBACKs in
    // the order of their PUBLISH packets [MQTT-4.6.0-2], PUBRECs likewise [MQTT-4.6.0-3].
    let order: [(u8, u16); 6] = [(1, 9), (2, 3), (1, 7), (2, 1), (1, 2), (2, 8)];
    let mut input = Vec::new();
    let mut expected = Vec::new();
    for (qos, id) in order {
        input.extend(publish("t", b"m", qos, id, false, &[]));
        expected.push(ack(if qos == 1 { PUBACK } else { PUBREC }, id));
    }
    p.receive(&input);
    assert_eq!(p.take_sent(), expected);
    // The QoS 2 ids again, released in another order: PUBCOMPs follow the PUBRELs.
    for id in [8, 1, 3] {
        p.receive(&ack(PUBREL, id));
    }
    assert_eq!(
        p.take_sent(),
        [ack(PUBCOMP, 8), ack(PUBCOMP, 1), ack(PUBCOMP, 3)]
    );
    let mut p = Peer::plain();
    p.receive_in_chunks(&input, 1);
    assert_eq!(p.take_sent(), expected);
}

#[test]
fn mqtt5_4_6_0_4_pubrels_in_the_order_of_the_pubrecs() {
    let mut p = Peer::plain();
    for payload in [b"1", b"2", b"3", b"4"] {
        p.publish("t", payload, QoS::ExactlyOnce, false).unwrap();
    }
    p.take_sent();
    // PUBRECs 3, 1, 4, 2 in one read: PUBRELs 3, 1, 4, 2 [MQTT-4.6.0-4].
    let mut input = Vec::new();
    for id in [3, 1, 4, 2] {
        input.extend(ack(PUBREC, id));
    }
    p.receive(&input);
    assert_eq!(
        p.take_sent(),
        [
            ack(PUBREL, 3),
            ack(PUBREL, 1),
            ack(PUBREL, 4),
            ack(PUBREL, 2)
        ]
    );
}

#[test]
fn mqtt5_3_6_1_1_incoming_pubrel_with_other_flags_is_malformed() {
    // PUBREL flags other than 0010 [MQTT-3.6.1-1]: malformed, DISCONNECT 0x81, no PUBCOMP.
    for first in [0x60, 0x63, 0x6A] {
        let mut p = Peer::plain();
        p.receive(&publish("t", b"x", 2, 1, false, &[]));
        p.take_sent();
        p.receive(&[first, 0x02, 0x00, 0x01]);
        assert_eq!(p.take_sent(), [vec![0xE0, 0x01, 0x81]], "{first:#04x}");
        assert_eq!(p.state(), State::Closed);
    }
}

#[test]
fn mqtt5_3_4_2_2_the_client_puts_no_reason_string_or_user_property_in_its_acks() {
    // The broker's Maximum Packet Size is 16, and its packets carry Reason Strings and User
    // Properties: the client's PUBACK, PUBREC, PUBREL and PUBCOMP are four bytes each, with
    // neither property, so none grows beyond the broker's maximum [MQTT-3.4.2-2, MQTT-3.4.2-3,
    // MQTT-3.5.2-2, MQTT-3.5.2-3, MQTT-3.6.2-2, MQTT-3.6.2-3, MQTT-3.7.2-2, MQTT-3.7.2-3].
    let mut p = Peer::default();
    p.connected(
        &ConnectOptionsV5::new("c"),
        &wire5::connack(0, 0, &p_u32(0x27, 16)),
    );
    let noise = [p_str(0x1F, "reason"), p_user("k", "v")].concat();
    p.receive(&publish("t", b"1", 1, 1, false, &p_user("k", "v")));
    p.receive(&publish("t", b"2", 2, 2, false, &p_user("k", "v")));
    p.receive(&ack_with(PUBREL, 2, 0x00, &noise));
    p.publish("t", b"3", QoS::ExactlyOnce, false).unwrap();
    p.receive(&ack_with(PUBREC, 1, 0x10, &noise));
    p.receive(&ack_with(PUBCOMP, 1, 0x00, &noise));
    let sent = p.take_sent();
    assert_eq!(
        sent,
        [
            ack(PUBACK, 1),
            ack(PUBREC, 2),
            ack(PUBCOMP, 2),
            publish_out("t", b"3", 2, 1, false, false),
            ack(PUBREL, 1),
        ],
        "{}",
        p.transcript()
    );
    assert!(sent.iter().all(|b| b.len() <= 16));
    assert_eq!(p.state(), State::Connected);
}
