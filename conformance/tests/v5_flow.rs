//! MQTT 5.0 flow control (section 4.9: Receive Maximum and the send quota) and topic aliases
//! (section 3.3.2.3.4): a 5.0 session against a scripted broker, exact bytes written by hand.
#![allow(clippy::unwrap_used)]

use conformance::v5::wire5::{self, PINGREQ, PINGRESP, ack, ack_with, p_u16, publish, publish_out};
use conformance::v5::{Peer, Seen5};
use mqtt_session::v5::{Properties, Property};
use mqtt_session::{CommandError, Config, ConnectOptionsV5, DisconnectReason, QoS, State};

const PUBACK: u8 = 0x40;
const PUBREC: u8 = 0x50;
const PUBREL: u8 = 0x62;
const PUBCOMP: u8 = 0x70;

/// Connected to a CONNACK with Receive Maximum `rm` (0x21), with room to queue.
fn receive_maximum(rm: u16, config: Config) -> Peer {
    let mut p = Peer::new(config);
    p.connected(
        &ConnectOptionsV5::new("c"),
        &wire5::connack(0, 0, &p_u16(0x21, rm)),
    );
    p
}

/// The QoS and Packet Identifier of each QoS 1/2 PUBLISH in `sent`.
fn publishes(sent: &[Vec<u8>]) -> Vec<(u8, u16)> {
    sent.iter()
        .filter(|b| b[0] & 0xF0 == 0x30 && b[0] & 0x06 != 0)
        .map(|b| {
            let topic = usize::from(u16::from_be_bytes([b[2], b[3]]));
            let at = 4 + topic;
            ((b[0] >> 1) & 3, u16::from_be_bytes([b[at], b[at + 1]]))
        })
        .collect()
}

#[test]
fn mqtt5_4_9_0_1_the_initial_send_quota_is_the_receive_maximum() {
    // Receive Maximum 3: three QoS 1/2 PUBLISH packets go out, the rest wait for a slot
    // [MQTT-4.9.0-1, MQTT-3.3.4-7].
    let mut p = receive_maximum(3, Config::default().with_max_queued(8));
    for i in 0..6u8 {
        let qos = if i % 2 == 0 {
            QoS::AtLeastOnce
        } else {
            QoS::ExactlyOnce
        };
        p.publish("t", &[i], qos, false).unwrap();
    }
    assert_eq!(publishes(&p.take_sent()), [(1, 1), (2, 2), (1, 3)]);
    // The quota is never zero to start with: a window of 0 is taken as 1.
    let mut p = receive_maximum(1, Config::default().with_max_inflight(0).with_max_queued(1));
    p.publish("t", b"a", QoS::AtLeastOnce, false).unwrap();
    p.publish("t", b"b", QoS::AtLeastOnce, false).unwrap();
    assert_eq!(publishes(&p.take_sent()), [(1, 1)]);
    // No Receive Maximum: 65,535; the session's own window (16 by default) is below it.
    let mut p = Peer::new(Config::default().with_max_queued(4));
    p.connected(&ConnectOptionsV5::new("c"), &wire5::connack(0, 0, &[]));
    for _ in 0..20 {
        p.publish("t", b"x", QoS::AtLeastOnce, false).unwrap();
    }
    assert_eq!(publishes(&p.take_sent()).len(), 16);
}

#[test]
fn mqtt5_4_9_0_2_a_send_quota_of_zero_holds_back_qos_1_and_2() {
    let mut p = receive_maximum(1, Config::default().with_max_queued(4));
    p.publish("t", b"2", QoS::ExactlyOnce, false).unwrap();
    p.publish("t", b"1", QoS::AtLeastOnce, false).unwrap();
    // The QoS 2 PUBLISH took the only slot: the quota is 0, the QoS 1 waits
    // [MQTT-4.9.0-2].
    assert_eq!(p.take_sent(), [publish_out("t", b"2", 2, 1, false, false)]);
    // A PUBREC below 0x80 does not give the slot back: PUBREL, and the QoS 1 still waits.
    p.receive(&ack(PUBREC, 1));
    assert_eq!(p.take_sent(), [ack(PUBREL, 1)]);
    // QoS 0 is not counted: it goes out [MQTT-4.9.0-2 speaks of QoS > 0 only].
    p.publish("t", b"0", QoS::AtMostOnce, false).unwrap();
    assert_eq!(p.take_sent(), [publish_out("t", b"0", 0, 0, false, false)]);
    // PUBCOMP gives the slot back: the QoS 1 goes out.
    p.receive(&ack(PUBCOMP, 1));
    assert_eq!(p.take_sent(), [publish_out("t", b"1", 1, 2, false, false)]);
    // A PUBACK with an error code gives it back too, as does a PUBREC of 0x80 or more.
    p.publish("t", b"3", QoS::ExactlyOnce, false).unwrap();
    assert!(p.take_sent().is_empty());
    p.receive(&ack_with(PUBACK, 2, 0x97, &[]));
    assert_eq!(publishes(&p.take_sent()), [(2, 3)]);
    p.publish("t", b"4", QoS::AtLeastOnce, false).unwrap();
    assert!(p.take_sent().is_empty());
    p.receive(&ack_with(PUBREC, 3, 0x80, &[]));
    assert_eq!(publishes(&p.take_sent()), [(1, 4)]);
    assert_eq!(p.state(), State::Connected);
}

#[test]
fn mqtt5_4_9_0_3_everything_else_goes_on_at_a_quota_of_zero() {
    let mut o = ConnectOptionsV5::new("c");
    o.options.keep_alive = 10;
    let mut p = Peer::new(Config::default().with_max_queued(4));
    p.connected(&o, &wire5::connack(0, 0, &p_u16(0x21, 1)));
    p.publish("t", b"a", QoS::AtLeastOnce, false).unwrap();
    p.publish("t", b"b", QoS::AtLeastOnce, false).unwrap();
    assert_eq!(publishes(&p.take_sent()), [(1, 1)]);
    // Quota 0. SUBSCRIBE, UNSUBSCRIBE, QoS 0 PUBLISH, the acknowledgements of incoming
    // messages and PINGREQ are not delayed [MQTT-3.3.4-8, MQTT-4.9.0-3], and what the broker
    // sends is processed [MQTT-4.9.0-3].
    let sub = p.subscribe(&[("s", QoS::AtLeastOnce)]).unwrap();
    assert_eq!(p.take_sent().len(), 1);
    p.receive(&wire5::suback(sub.get(), &[0x01]));
    assert_eq!(
        p.take_events(),
        [Seen5::Subscribed {
            packet_id: sub.get(),
            codes: vec![0x01]
        }]
    );
    let unsub = p.unsubscribe(&["s"]).unwrap();
    assert_eq!(p.take_sent().len(), 1);
    p.receive(&wire5::unsuback(unsub.get(), &[0x00]));
    assert!(p.take_events().contains(&Seen5::Unsubscribed(unsub.get())));
    p.publish("t", b"0", QoS::AtMostOnce, false).unwrap();
    assert_eq!(p.take_sent(), [publish_out("t", b"0", 0, 0, false, false)]);
    p.receive(&publish("in", b"1", 1, 7, false, &[]));
    p.receive(&publish("in", b"2", 2, 8, false, &[]));
    p.receive(&ack(PUBREL, 8));
    assert_eq!(
        p.take_sent(),
        [ack(PUBACK, 7), ack(PUBREC, 8), ack(PUBCOMP, 8)]
    );
    assert_eq!(p.take_events().len(), 2);
    p.advance(10_000);
    assert_eq!(p.take_sent(), [PINGREQ.to_vec()]);
    p.receive(&PINGRESP);
    // The queued QoS 1 still waits for its slot, then goes.
    p.receive(&ack(PUBACK, 1));
    assert_eq!(
        p.take_sent(),
        [publish_out("t", b"b", 1, 2, false, false)],
        "{}",
        p.transcript()
    );
    // DISCONNECT is not delayed either.
    p.publish("t", b"c", QoS::AtLeastOnce, false).unwrap();
    p.disconnect().unwrap();
    assert_eq!(p.take_sent(), [vec![0xE0, 0x00]]);
    assert!(
        p.take_events()
            .contains(&Seen5::Disconnected(DisconnectReason::Local))
    );
}

#[test]
fn mqtt5_4_9_0_1_each_connection_starts_with_its_own_receive_maximum() {
    // Three QoS 1 messages in flight; the session resumes under a Receive Maximum of 1: one
    // PUBLISH at a time is resent [MQTT-4.9.0-1, MQTT-3.3.4-7].
    let expiry = [Property::SessionExpiryInterval(600)];
    let mut o = ConnectOptionsV5::new("c");
    o.options.clean_session = false;
    o.properties = Properties::new(&expiry);
    let mut p = Peer::default();
    p.connected(&o, &wire5::connack(0, 0, &[]));
    for x in [b"a", b"b", b"c"] {
        p.publish("t", x, QoS::AtLeastOnce, false).unwrap();
    }
    assert_eq!(publishes(&p.take_sent()).len(), 3);
    p.closed();
    p.up();
    p.connect(&o).unwrap();
    p.take_sent();
    p.receive(&wire5::connack(1, 0, &p_u16(0x21, 1)));
    assert_eq!(p.take_sent(), [publish_out("t", b"a", 1, 1, true, false)]);
    p.receive(&ack(PUBACK, 1));
    assert_eq!(p.take_sent(), [publish_out("t", b"b", 1, 2, true, false)]);
    p.receive(&ack(PUBACK, 2));
    assert_eq!(p.take_sent(), [publish_out("t", b"c", 1, 3, true, false)]);
}

/// Connected with `aliases` outgoing topic aliases allowed by the configuration, to a CONNACK
/// with these properties.
fn aliasing(aliases: u16, connack_props: &[u8]) -> Peer {
    let mut p = Peer::new(Config::default().with_outgoing_topic_aliases(aliases));
    p.connected(
        &ConnectOptionsV5::new("c"),
        &wire5::connack(0, 0, connack_props),
    );
    p
}

/// A QoS 0 PUBLISH as the client sends it with a Topic Alias (0x23).
fn aliased(topic: &str, alias: u16, payload: &[u8]) -> Vec<u8> {
    publish(topic, payload, 0, 0, false, &p_u16(0x23, alias))
}

#[test]
fn mqtt5_3_2_2_18_no_topic_alias_without_the_servers_topic_alias_maximum() {
    // No Topic Alias Maximum in the CONNACK, or 0: no Topic Alias goes out, whatever the
    // configuration allows [MQTT-3.2.2-18].
    for props in [vec![], p_u16(0x22, 0)] {
        let mut p = aliasing(8, &props);
        for payload in [b"1", b"2", b"3"] {
            p.publish("a/b", payload, QoS::AtMostOnce, false).unwrap();
        }
        assert_eq!(
            p.take_sent(),
            [
                publish_out("a/b", b"1", 0, 0, false, false),
                publish_out("a/b", b"2", 0, 0, false, false),
                publish_out("a/b", b"3", 0, 0, false, false),
            ],
            "{props:02x?}"
        );
    }
}

#[test]
fn mqtt5_3_3_2_9_topic_aliases_within_the_servers_maximum() {
    // Topic Alias Maximum 2, the configuration allows 8: aliases 1 and 2 only, never 0
    // [MQTT-3.3.2-9, MQTT-3.2.2-17, MQTT-3.3.2-8].
    let mut p = aliasing(8, &p_u16(0x22, 2));
    for topic in ["a", "b", "c", "a", "b", "c"] {
        p.publish(topic, b"x", QoS::AtMostOnce, false).unwrap();
    }
    assert_eq!(
        p.take_sent(),
        [
            aliased("a", 1, b"x"),
            aliased("b", 2, b"x"),
            publish_out("c", b"x", 0, 0, false, false),
            aliased("", 1, b"x"),
            aliased("", 2, b"x"),
            publish_out("c", b"x", 0, 0, false, false),
        ]
    );
    // The configuration's limit is lower: 1 alias, whatever the broker allows.
    let mut p = aliasing(1, &p_u16(0x22, 100));
    for topic in ["a", "b", "a"] {
        p.publish(topic, b"x", QoS::AtMostOnce, false).unwrap();
    }
    assert_eq!(
        p.take_sent(),
        [
            aliased("a", 1, b"x"),
            publish_out("b", b"x", 0, 0, false, false),
            aliased("", 1, b"x"),
        ]
    );
    // A Topic Alias given by the application is refused: the session sets aliases itself.
    let alias = [Property::TopicAlias(1)];
    assert_eq!(
        p.publish_with("a", b"x", QoS::AtMostOnce, false, &Properties::new(&alias)),
        Err(CommandError::PropertyNotAllowed)
    );
}

/// Connected with Topic Alias Maximum `max` in the CONNECT.
fn accepting(max: u16) -> Peer {
    let tam = [Property::TopicAliasMaximum(max)];
    let mut o = ConnectOptionsV5::new("c");
    o.properties = Properties::new(&tam);
    let mut p = Peer::default();
    p.connected(&o, &wire5::connack(0, 0, &[]));
    p
}

#[test]
fn mqtt5_3_3_2_10_every_alias_up_to_our_maximum_is_accepted() {
    // Topic Alias Maximum 3 sent: aliases 1, 2 and 3 are set and used [MQTT-3.3.2-10].
    let mut p = accepting(3);
    let mut input = Vec::new();
    for (alias, topic) in [(1, "one"), (2, "two"), (3, "three")] {
        input.extend(aliased(topic, alias, b"set"));
    }
    for alias in [3, 1, 2] {
        input.extend(aliased("", alias, b"use"));
    }
    // An alias set again maps to its new topic.
    input.extend(aliased("uno", 1, b"reset"));
    input.extend(aliased("", 1, b"use"));
    p.receive(&input);
    let topics: Vec<(String, Vec<u8>)> = p
        .take_events()
        .into_iter()
        .map(|e| match e {
            Seen5::Message(m) => (m.topic, m.payload),
            other => panic!("{other:?}"),
        })
        .collect();
    let want: Vec<(String, Vec<u8>)> = [
        ("one", &b"set"[..]),
        ("two", b"set"),
        ("three", b"set"),
        ("three", b"use"),
        ("one", b"use"),
        ("two", b"use"),
        ("uno", b"reset"),
        ("uno", b"use"),
    ]
    .iter()
    .map(|(t, b)| (t.to_string(), b.to_vec()))
    .collect();
    assert_eq!(topics, want);
    assert!(p.take_sent().is_empty());
    // The largest maximum: alias 65,535 is accepted, on QoS 1 and 2 messages too.
    let mut p = accepting(u16::MAX);
    p.receive(&publish("top", b"1", 1, 1, false, &p_u16(0x23, u16::MAX)));
    p.receive(&publish("", b"2", 2, 2, false, &p_u16(0x23, u16::MAX)));
    assert_eq!(p.take_sent(), [ack(PUBACK, 1), ack(PUBREC, 2)]);
    let events = p.take_events();
    assert_eq!(events.len(), 2);
    assert!(
        events
            .iter()
            .all(|e| matches!(e, Seen5::Message(m) if m.topic == "top"))
    );
    assert_eq!(p.state(), State::Connected);
}

#[test]
fn mqtt5_3_3_2_7_aliases_of_either_side_end_with_the_connection() {
    // The broker set alias 1; after a reconnect it is unknown [MQTT-3.3.2-7]: a PUBLISH that
    // uses it is a protocol error (DISCONNECT 0x82), not a message on the old topic.
    let tam = [Property::TopicAliasMaximum(4)];
    let mut o = ConnectOptionsV5::new("c");
    o.properties = Properties::new(&tam);
    let mut p = Peer::new(Config::default().with_outgoing_topic_aliases(4));
    p.connected(&o, &wire5::connack(0, 0, &p_u16(0x22, 4)));
    p.receive(&aliased("old", 1, b"x"));
    p.publish("mine", b"y", QoS::AtMostOnce, false).unwrap();
    assert_eq!(p.take_sent(), [aliased("mine", 1, b"y")]);
    p.take_events();
    p.closed();
    p.up();
    p.connect(&o).unwrap();
    p.receive(&wire5::connack(0, 0, &p_u16(0x22, 4)));
    p.take_sent();
    p.take_events();
    // Our alias 1 is set again from scratch, with its topic.
    p.publish("mine", b"z", QoS::AtMostOnce, false).unwrap();
    assert_eq!(p.take_sent(), [aliased("mine", 1, b"z")]);
    p.receive(&aliased("", 1, b"w"));
    assert_eq!(p.take_sent(), [vec![0xE0, 0x01, 0x82]]);
    assert!(
        !p.take_events()
            .iter()
            .any(|e| matches!(e, Seen5::Message(_)))
    );
}

#[test]
fn mqtt5_3_2_2_15_nothing_beyond_the_maximum_packet_size_after_a_reconnect() {
    // A 108-byte QoS 1 PUBLISH held in the session; the next CONNACK says Maximum Packet Size
    // 50: the client must not send it [MQTT-3.2.2-15], neither as a resend nor (held while
    // offline) as a new message.
    let expiry = [Property::SessionExpiryInterval(600)];
    let mut o = ConnectOptionsV5::new("c");
    o.options.clean_session = false;
    o.properties = Properties::new(&expiry);
    let mut p = Peer::default();
    p.connected(&o, &wire5::connack(0, 0, &[]));
    p.publish("t", &[0u8; 100], QoS::AtLeastOnce, false)
        .unwrap();
    p.take_sent();
    p.closed();
    p.up();
    p.connect(&o).unwrap();
    p.take_sent();
    p.receive(&wire5::connack(1, 0, &wire5::p_u32(0x27, 50)));
    assert!(
        p.take_sent().iter().all(|b| b.len() <= 50),
        "{}",
        p.transcript()
    );

    let mut p = Peer::new(Config::default().with_offline_publish(true));
    p.publish("t", &[0u8; 100], QoS::AtLeastOnce, false)
        .unwrap();
    p.up();
    p.connect(&ConnectOptionsV5::new("c")).unwrap();
    p.take_sent();
    p.receive(&wire5::connack(0, 0, &wire5::p_u32(0x27, 50)));
    assert!(
        p.take_sent().iter().all(|b| b.len() <= 50),
        "{}",
        p.transcript()
    );
}
