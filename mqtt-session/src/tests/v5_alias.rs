//! 5.0 outgoing topic aliases on QoS 1/2 messages, and held messages larger than the broker's
//! Maximum Packet Size.

use std::vec::Vec;

use mqtt_proto::QoS;
use mqtt_proto::v5::{Properties, Property};

use super::v5::{CONNACK, T0, connected, events, out};
use crate::{Config, ConnectOptionsV5};

/// CONNACK with Topic Alias Maximum 2.
const CONNACK_ALIASES: &[u8] = &[0x20, 0x06, 0x00, 0x00, 0x03, 0x22, 0x00, 0x02];
/// The same, session present.
const CONNACK_ALIASES_PRESENT: &[u8] = &[0x20, 0x06, 0x01, 0x00, 0x03, 0x22, 0x00, 0x02];

/// A QoS 1/2 PUBLISH's first send sets or uses an alias in wire order, as QoS 0 does
/// [MQTT-3.2.2-17]; its resend on the next connection carries the topic and no alias of the
/// old connection [MQTT-3.3.2-7].
#[test]
fn mqtt_3_2_2_17_qos_1_and_2_use_outgoing_aliases_and_resends_carry_the_topic() {
    let expiry = [Property::SessionExpiryInterval(60)];
    let mut o = ConnectOptionsV5::new("c");
    o.options.clean_session = false;
    o.properties = Properties::new(&expiry);
    let config = Config::default().with_outgoing_topic_aliases(8);
    let mut s = connected(config, &o, CONNACK_ALIASES);
    s.publish(T0, "abc", b"1", QoS::AtLeastOnce, false).unwrap();
    s.publish(T0, "abc", b"2", QoS::ExactlyOnce, false).unwrap();
    s.publish(T0, "abc", b"3", QoS::AtMostOnce, false).unwrap();
    // The QoS 0 command set alias 1 at once, in a packet queued behind the two held ones:
    // they go out first, so they carry the topic and no alias.
    let expected: &[u8] = &[
        0x32, 0x09, 0x00, 0x03, b'a', b'b', b'c', 0x00, 0x01, 0x00, b'1', //
        0x34, 0x09, 0x00, 0x03, b'a', b'b', b'c', 0x00, 0x02, 0x00, b'2', //
        0x30, 0x0A, 0x00, 0x03, b'a', b'b', b'c', 0x03, 0x23, 0x00, 0x01, b'3',
    ];
    assert_eq!(out(&mut s, T0), expected);
    // Now alias 1 is on the wire: held messages use it, and set the next one themselves.
    s.publish(T0, "abc", b"4", QoS::AtLeastOnce, false).unwrap();
    s.publish(T0, "de", b"5", QoS::ExactlyOnce, false).unwrap();
    s.publish(T0, "de", b"6", QoS::AtLeastOnce, false).unwrap();
    let expected: &[u8] = &[
        0x32, 0x09, 0x00, 0x00, 0x00, 0x03, 0x03, 0x23, 0x00, 0x01, b'4', // uses 1
        0x34, 0x0B, 0x00, 0x02, b'd', b'e', 0x00, 0x04, 0x03, 0x23, 0x00, 0x02,
        b'5', // sets 2
        0x32, 0x09, 0x00, 0x00, 0x00, 0x05, 0x03, 0x23, 0x00, 0x02, b'6', // uses 2
    ];
    assert_eq!(out(&mut s, T0), expected);
    // The link drops; the session resumes: both go again with DUP and their topic.
    s.handle_transport_closed(T0);
    events(&mut s);
    s.handle_transport_up(T0);
    s.connect(T0, &o).unwrap();
    out(&mut s, T0);
    s.handle_receive(T0, CONNACK_ALIASES_PRESENT);
    events(&mut s);
    let expected: &[u8] = &[
        0x3A, 0x09, 0x00, 0x03, b'a', b'b', b'c', 0x00, 0x01, 0x00, b'1', //
        0x3C, 0x09, 0x00, 0x03, b'a', b'b', b'c', 0x00, 0x02, 0x00, b'2', //
        0x3A, 0x09, 0x00, 0x03, b'a', b'b', b'c', 0x00, 0x03, 0x00, b'4', //
        0x3C, 0x08, 0x00, 0x02, b'd', b'e', 0x00, 0x04, 0x00, b'5', //
        0x3A, 0x08, 0x00, 0x02, b'd', b'e', 0x00, 0x05, 0x00, b'6',
    ];
    assert_eq!(out(&mut s, T0), expected);
    // A new message on this connection sets the alias afresh.
    s.publish(T0, "abc", b"7", QoS::AtLeastOnce, false).unwrap();
    assert_eq!(
        out(&mut s, T0),
        [
            0x32, 0x0C, 0x00, 0x03, b'a', b'b', b'c', 0x00, 0x06, 0x03, 0x23, 0x00, 0x01, b'7'
        ]
    );
}

/// A held message larger than the Maximum Packet Size of the broker of the next connection is
/// not sent: removed and reported [MQTT-3.2.2-15]; the ones after it go out.
#[test]
fn mqtt_3_2_2_15_a_held_message_too_large_for_the_broker_is_reported_not_sent() {
    let expiry = [Property::SessionExpiryInterval(60)];
    let mut o = ConnectOptionsV5::new("c");
    o.options.clean_session = false;
    o.properties = Properties::new(&expiry);
    let mut s = connected(Config::default(), &o, CONNACK);
    s.publish(T0, "t", &[7u8; 100], QoS::AtLeastOnce, false)
        .unwrap();
    s.publish(T0, "t", b"small", QoS::AtLeastOnce, false)
        .unwrap();
    out(&mut s, T0);
    s.handle_transport_closed(T0);
    events(&mut s);
    s.handle_transport_up(T0);
    s.connect(T0, &o).unwrap();
    out(&mut s, T0);
    // Session present, Maximum Packet Size 50.
    s.handle_receive(
        T0,
        &[0x20, 0x08, 0x01, 0x00, 0x05, 0x27, 0x00, 0x00, 0x00, 0x32],
    );
    let sent = out(&mut s, T0);
    assert_eq!(
        sent,
        [
            0x3A, 0x0B, 0x00, 0x01, b't', 0x00, 0x02, 0x00, b's', b'm', b'a', b'l', b'l'
        ]
    );
    let seen: Vec<_> = events(&mut s);
    assert!(
        seen.iter()
            .any(|e| e.contains("PublishNotSendable") && e.contains("maximum: 50")),
        "{seen:?}"
    );
    assert_eq!(s.inflight(), 1);
}

/// Held messages the next broker does not take by QoS or retain: not sent, reported, and the
/// others go out [MQTT-3.2.2-11, MQTT-3.2.2-14].
#[test]
fn mqtt_3_2_2_11_held_messages_above_the_maximum_qos_or_retained_without_retain_available() {
    let mut s = super::v5::session(Config::default().with_offline_publish(true));
    s.publish(T0, "t", b"two", QoS::ExactlyOnce, false).unwrap();
    s.publish(T0, "t", b"kept", QoS::AtLeastOnce, true).unwrap();
    s.publish(T0, "t", b"one", QoS::AtLeastOnce, false).unwrap();
    s.handle_transport_up(T0);
    s.connect(T0, &ConnectOptionsV5::new("c")).unwrap();
    out(&mut s, T0);
    // Maximum QoS 1, Retain Available 0.
    s.handle_receive(T0, &[0x20, 0x07, 0x00, 0x00, 0x04, 0x24, 0x01, 0x25, 0x00]);
    assert_eq!(
        out(&mut s, T0),
        [
            0x32, 0x09, 0x00, 0x01, b't', 0x00, 0x03, 0x00, b'o', b'n', b'e'
        ]
    );
    let seen = events(&mut s);
    assert!(
        seen.iter().any(
            |e| e.contains("PublishNotSendable { packet_id: PacketId(1)")
                && e.contains("QoSNotSupported")
        ),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(
            |e| e.contains("PublishNotSendable { packet_id: PacketId(2)")
                && e.contains("RetainNotSupported")
        ),
        "{seen:?}"
    );
    assert_eq!(s.inflight(), 1);
}

/// Our Receive Maximum counts the messages of this connection only: the broker's send quota
/// starts afresh on each connection (section 4.9), so a QoS 2 id left awaiting PUBREL from the
/// last connection does not count against the next [MQTT-3.3.4-9].
#[test]
fn our_receive_maximum_starts_afresh_on_each_connection() {
    let props = [
        Property::SessionExpiryInterval(60),
        Property::ReceiveMaximum(1),
    ];
    let mut o = ConnectOptionsV5::new("c");
    o.options.clean_session = false;
    o.properties = Properties::new(&props);
    let mut s = connected(Config::default(), &o, CONNACK);
    // QoS 2 PUBLISH id 1 "t" "a": delivered, PUBREC sent, the id awaits PUBREL.
    s.handle_receive(T0, &[0x34, 0x07, 0x00, 0x01, b't', 0x00, 0x01, 0x00, b'a']);
    assert_eq!(out(&mut s, T0), [0x50, 0x02, 0x00, 0x01]);
    events(&mut s);
    s.handle_transport_closed(T0);
    events(&mut s);
    s.handle_transport_up(T0);
    s.connect(T0, &o).unwrap();
    out(&mut s, T0);
    s.handle_receive(T0, &[0x20, 0x03, 0x01, 0x00, 0x00]);
    events(&mut s);
    // A new QoS 2 message on this connection is within its quota of 1.
    s.handle_receive(T0, &[0x34, 0x07, 0x00, 0x01, b't', 0x00, 0x02, 0x00, b'b']);
    assert_eq!(out(&mut s, T0), [0x50, 0x02, 0x00, 0x02]);
    let seen = events(&mut s);
    assert!(!seen.iter().any(|e| e.contains("Disconnected")), "{seen:?}");
    // A second one beyond it is the broker's error: DISCONNECT 0x93.
    s.handle_receive(T0, &[0x34, 0x07, 0x00, 0x01, b't', 0x00, 0x03, 0x00, b'c']);
    let sent = out(&mut s, T0);
    assert_eq!(sent.first(), Some(&0xE0), "{sent:02X?}");
    assert_eq!(sent.get(2), Some(&0x93));
}

/// `v5::publish_len` is the size of what goes out: without an alias, with a Topic Alias being
/// set (the property pushing the Property Length and the Remaining Length to two bytes), and
/// for `publish` on a 5.0 connection (empty properties: one byte more than 3.1.1).
#[test]
fn publish_len_is_the_size_of_the_5_0_publish_sent() {
    use crate::v5::publish_len;
    // 125 bytes of properties: the list takes one byte of Property Length; with the 3 bytes
    // of a Topic Alias it takes two.
    let value = [b'x'; 122];
    let props = [Property::CorrelationData(&value)];
    let list = Properties::new(&props);
    let mut s = connected(Config::default(), &ConnectOptionsV5::new("c"), CONNACK);
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        s.publish_with(T0, "t", b"p", qos, false, &list).unwrap();
        let sent = out(&mut s, T0);
        assert_eq!(publish_len("t", b"p", qos, &list, false), Some(sent.len()));
        events(&mut s);
        s.publish(T0, "t", b"p", qos, false).unwrap();
        let sent = out(&mut s, T0);
        assert_eq!(
            publish_len("t", b"p", qos, &Properties::EMPTY, false),
            Some(sent.len())
        );
        assert_eq!(
            Some(sent.len()),
            crate::publish_len("t", b"p", qos).map(|n| n + 1)
        );
    }
    let config = Config::default().with_outgoing_topic_aliases(8);
    let mut s = connected(config, &ConnectOptionsV5::new("c"), CONNACK_ALIASES);
    for (topic, qos) in [("t", QoS::AtMostOnce), ("u", QoS::AtLeastOnce)] {
        s.publish_with(T0, topic, b"p", qos, false, &list).unwrap();
        let sent = out(&mut s, T0);
        // The alias is set: topic in full, Topic Alias 0x23 after the user's properties.
        let body = if qos == QoS::AtMostOnce { 134 } else { 136 };
        assert_eq!(
            &sent[1..3],
            &[0x80 | (body % 128), 0x01],
            "Remaining Length"
        );
        let at = if qos == QoS::AtMostOnce { 6 } else { 8 };
        assert_eq!(&sent[at..at + 2], &[0x80, 0x01], "Property Length 128");
        assert_eq!(publish_len(topic, b"p", qos, &list, true), Some(sent.len()));
        assert_eq!(
            publish_len(topic, b"p", qos, &list, false).map(|n| n + 4),
            Some(sent.len()),
            "3 bytes of Topic Alias and one more of Property Length"
        );
        events(&mut s);
    }
    let big = std::vec![0u8; 268_435_455];
    assert_eq!(
        publish_len("t", &big, QoS::AtMostOnce, &Properties::EMPTY, false),
        None
    );
}
