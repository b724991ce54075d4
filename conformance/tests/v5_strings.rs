//! MQTT 5.0 strings, topic names and topic filters (sections 1.5.4, 1.5.7, 3.3.2, 3.8, 3.10,
//! 4.7, 4.8): what the client refuses to send, what it refuses to receive, and what it
//! passes through untouched.
#![allow(clippy::unwrap_used)]

use conformance::v5::wire5::{self, ack_with, p_str, p_user, publish, string};
use conformance::v5::{Msg, Peer, Seen5};
use mqtt_session::v5::{Properties, Property, SubscriptionOptions};
use mqtt_session::{
    CommandError, Config, ConnectOptionsV5, DecodeError, DisconnectReason, LastWill, QoS, State,
};

/// Feeds `bytes` to a connected session and checks that it closes the connection: a
/// DISCONNECT with an error reason code first, nothing delivered, state Closed.
fn refused(bytes: &[u8]) {
    let mut p = Peer::plain();
    p.receive(bytes);
    let sent = p.take_sent();
    assert!(
        matches!(&sent[..], [d] if d.len() == 3 && d[..2] == [0xE0, 0x01] && d[2] >= 0x80),
        "{}",
        p.transcript()
    );
    let events = p.take_events();
    assert!(
        !events.iter().any(|e| matches!(e, Seen5::Message(_))),
        "{events:?}"
    );
    assert!(
        matches!(
            events.last(),
            Some(Seen5::Disconnected(DisconnectReason::ProtocolViolation(_)))
        ),
        "{events:?}"
    );
    assert_eq!(p.state(), State::Closed);
}

/// Ill-formed UTF-8: a bad continuation byte, a surrogate (U+D800), an overlong U+0000, a
/// code point above U+10FFFF, a truncated sequence.
const ILL_FORMED: [&[u8]; 5] = [
    &[b'a', 0xC3, 0x28],
    &[0xED, 0xA0, 0x80],
    &[0xC0, 0x80],
    &[0xF4, 0x90, 0x80, 0x80],
    &[b'a', 0xE2, 0x82],
];

#[test]
fn mqtt5_1_5_4_1_ill_formed_utf8_from_the_broker_closes_the_connection() {
    for bad in ILL_FORMED {
        // In the Topic Name [MQTT-3.3.2-1, MQTT-1.5.4-1].
        refused(&publish(bad, b"x", 1, 1, false, &[]));
        // In a Content Type [MQTT-3.3.2-19], a Response Topic [MQTT-3.3.2-13], either string
        // of a User Property [MQTT-1.5.7-1], a Reason String.
        refused(&publish("t", b"x", 0, 0, false, &p_str(0x03, bad)));
        refused(&publish("t", b"x", 0, 0, false, &p_str(0x08, bad)));
        refused(&publish("t", b"x", 0, 0, false, &p_user(bad, "v")));
        refused(&publish("t", b"x", 0, 0, false, &p_user("k", bad)));
        refused(&wire5::disconnect(0x00, &p_str(0x1F, bad)));
    }
}

#[test]
fn mqtt5_1_5_4_2_null_characters_from_the_broker_close_the_connection() {
    // U+0000 in the Topic Name [MQTT-4.7.3-2], a Content Type, a Response Topic, a User
    // Property name or value [MQTT-1.5.7-1].
    refused(&publish(b"a\0b", b"x", 0, 0, false, &[]));
    refused(&publish("t", b"x", 0, 0, false, &p_str(0x03, b"\0")));
    refused(&publish("t", b"x", 0, 0, false, &p_str(0x08, b"r\0")));
    refused(&publish("t", b"x", 0, 0, false, &p_user(b"\0", "v")));
    refused(&publish("t", b"x", 0, 0, false, &p_user("k", b"v\0")));
}

#[test]
fn mqtt5_3_3_2_2_topic_names_from_the_broker_have_no_wildcards() {
    // A Topic Name with a wildcard [MQTT-3.3.2-2, MQTT-4.7.0-1], an empty one without a Topic
    // Alias [MQTT-4.7.3-1], a Response Topic with a wildcard or empty [MQTT-3.3.2-14].
    for topic in ["a/+", "#", "a/#", "+", "a+b"] {
        refused(&publish(topic, b"x", 1, 1, false, &[]));
        refused(&publish("t", b"x", 0, 0, false, &p_str(0x08, topic)));
    }
    refused(&publish("", b"x", 0, 0, false, &[]));
    refused(&publish("t", b"x", 0, 0, false, &p_str(0x08, "")));
}

#[test]
fn mqtt5_1_5_4_3_a_bom_is_kept_where_it_appears() {
    // 0xEF 0xBB 0xBF is U+FEFF wherever it is, never skipped or stripped [MQTT-1.5.4-3]: in
    // the Topic Name, a User Property, the Content Type, a Response Topic, a Reason String.
    const BOM: &str = "\u{FEFF}";
    let mut p = Peer::plain();
    let props = [
        p_str(0x03, format!("{BOM}text")),
        p_str(0x08, format!("{BOM}r/{BOM}")),
        p_user(format!("{BOM}k"), format!("v{BOM}")),
    ]
    .concat();
    p.receive(&publish(format!("{BOM}a/{BOM}"), b"x", 0, 0, false, &props));
    assert_eq!(
        p.take_events(),
        [Seen5::Message(Msg {
            properties: vec![
                format!("ContentType({:?})", format!("{BOM}text")),
                format!("ResponseTopic(TopicName({:?}))", format!("{BOM}r/{BOM}")),
                format!(
                    "UserProperty({:?}, {:?})",
                    format!("{BOM}k"),
                    format!("v{BOM}")
                ),
            ],
            ..Msg::new(&format!("{BOM}a/{BOM}"), b"x", QoS::AtMostOnce, None)
        })]
    );
    p.publish(&format!("{BOM}t"), b"y", QoS::AtLeastOnce, false)
        .unwrap();
    p.take_sent();
    p.receive(&ack_with(0x40, 1, 0x10, &p_str(0x1F, format!("{BOM}why"))));
    assert_eq!(
        p.take_events()[0],
        Seen5::Response {
            packet: "PUBACK".into(),
            packet_id: Some(1),
            codes: vec![0x10],
            properties: vec![format!("ReasonString({:?})", format!("{BOM}why"))]
        }
    );
    // Sent as given, BOM and all.
    p.publish(&format!("{BOM}t"), b"z", QoS::AtMostOnce, false)
        .unwrap();
    assert_eq!(
        p.take_sent(),
        [vec![
            0x30, 0x08, 0x00, 0x04, 0xEF, 0xBB, 0xBF, b't', 0x00, b'z'
        ]]
    );
    let mut p = Peer::plain();
    p.subscribe(&[(&format!("{BOM}/#"), QoS::AtMostOnce)])
        .unwrap();
    assert_eq!(
        p.take_sent(),
        [vec![
            0x82, 0x0B, 0x00, 0x01, 0x00, 0x00, 0x05, 0xEF, 0xBB, 0xBF, b'/', b'#', 0x00
        ]]
    );
}

/// Connected, with a transmit buffer large enough for 65,536-byte strings.
fn roomy() -> Peer {
    let mut p = Peer::with_buffers(Config::default(), 4096, 1 << 18);
    p.connected(&ConnectOptionsV5::new("c"), &wire5::connack(0, 0, &[]));
    p
}

#[test]
fn mqtt5_4_7_3_1_topic_names_the_client_refuses_to_publish() {
    let mut p = roomy();
    let long = "x".repeat(65_536);
    for (topic, error) in [
        // At least one character [MQTT-4.7.3-1].
        ("", DecodeError::InvalidTopicName),
        // No wildcards [MQTT-3.3.2-2].
        ("a/+", DecodeError::InvalidTopicName),
        ("#", DecodeError::InvalidTopicName),
        ("a/#", DecodeError::InvalidTopicName),
        // No U+0000 [MQTT-4.7.3-2, MQTT-3.3.2-1].
        ("a\0", DecodeError::NullCharacter),
        // At most 65,535 bytes [MQTT-4.7.3-3].
        (&long, DecodeError::StringTooLong),
    ] {
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            assert_eq!(
                p.publish(topic, b"x", qos, false),
                Err(CommandError::Invalid(error)),
                "{:?}",
                &topic[..topic.len().min(8)]
            );
        }
    }
    assert!(p.take_sent().is_empty());
    // 65,535 bytes is fine: the length goes out as FF FF.
    let max = "y".repeat(65_535);
    p.publish(&max, b"", QoS::AtMostOnce, false).unwrap();
    let sent = p.take_sent();
    assert_eq!(sent[0][..6], [0x30, 0x82, 0x80, 0x04, 0xFF, 0xFF]);
    assert_eq!(sent[0].len(), 6 + 65_535 + 1);
}

#[test]
fn mqtt5_3_3_2_13_publish_properties_the_client_refuses_to_send() {
    let mut p = Peer::plain();
    // A Response Topic is a Topic Name: no wildcards, not empty [MQTT-3.3.2-14]; the type
    // cannot hold one.
    for bad in ["a/#", "+", ""] {
        assert!(mqtt_proto::TopicName::new(bad).is_err(), "{bad:?}");
    }
    // U+0000 in a Response Topic [MQTT-3.3.2-13], a Content Type [MQTT-3.3.2-19] or a User
    // Property [MQTT-1.5.7-1]: refused, nothing sent.
    let null_topic = mqtt_proto::TopicName::new("r\0");
    assert_eq!(null_topic, Err(DecodeError::NullCharacter));
    for props in [
        [Property::ContentType("text\0")],
        [Property::UserProperty("k\0", "v")],
        [Property::UserProperty("k", "\0")],
    ] {
        assert_eq!(
            p.publish_with("t", b"x", QoS::AtMostOnce, false, &Properties::new(&props)),
            Err(CommandError::Invalid(DecodeError::NullCharacter)),
            "{props:?}"
        );
    }
    assert!(p.take_sent().is_empty());
    // Well-formed ones go out as UTF-8 Encoded Strings, byte for byte.
    let props = [
        Property::ResponseTopic(mqtt_proto::TopicName::new("re/é").unwrap()),
        Property::ContentType("text/é"),
        Property::UserProperty("ü", "v"),
    ];
    p.publish_with("t", b"x", QoS::AtMostOnce, false, &Properties::new(&props))
        .unwrap();
    let mut body = string("t");
    let list = [p_str(0x08, "re/é"), p_str(0x03, "text/é"), p_user("ü", "v")].concat();
    body.extend(wire5::properties(&list));
    body.push(b'x');
    assert_eq!(p.take_sent(), [wire5::packet(0x30, &body)]);
}

#[test]
fn mqtt5_3_1_3_2_will_properties_are_checked_too() {
    // A User Property with U+0000 in the Will Properties is refused at connect; nothing goes
    // out [MQTT-1.5.7-1].
    let props = [Property::UserProperty("k", "v\0")];
    let mut o = ConnectOptionsV5::new("c");
    o.options.will = Some(LastWill {
        topic: "w",
        payload: b"",
        qos: QoS::AtMostOnce,
        retain: false,
    });
    o.will_properties = Properties::new(&props);
    let mut p = Peer::default();
    p.up();
    assert_eq!(
        p.connect(&o),
        Err(CommandError::Invalid(DecodeError::NullCharacter))
    );
    assert!(p.take_sent().is_empty());
    // A Response Topic and Content Type in the Will Properties go out as strings.
    let rt = mqtt_proto::TopicName::new("reply/to").unwrap();
    let props = [Property::ResponseTopic(rt), Property::ContentType("c")];
    o.will_properties = Properties::new(&props);
    p.connect(&o).unwrap();
    let mut payload = string("c");
    payload.extend(wire5::properties(
        &[p_str(0x08, "reply/to"), p_str(0x03, "c")].concat(),
    ));
    payload.extend(string("w"));
    payload.extend(string(""));
    assert_eq!(p.take_sent(), [wire5::connect(0x06, 60, &[], &payload)]);
}

#[test]
fn mqtt5_4_7_1_topic_filters_the_client_sends() {
    let valid = [
        "#", "a/#", "/#", "+", "+/+", "a/+/b", "+/", "/", "a//b", "$SYS/#", "é/+",
    ];
    let invalid = ["a#", "a/#/b", "#/a", "##", "a+", "+a/b", "a/b+", "++", ""];
    let mut p = Peer::plain();
    for (i, f) in valid.iter().enumerate() {
        // The multi-level wildcard alone or after a separator, last [MQTT-4.7.1-1]; the single
        // level wildcard taking a whole level [MQTT-4.7.1-2]; a UTF-8 Encoded String
        // [MQTT-3.8.3-1, MQTT-3.10.3-1].
        let id = p.subscribe(&[(f, QoS::AtLeastOnce)]).unwrap();
        assert_eq!(usize::from(id.get()), 2 * i + 1);
        let mut body = id.get().to_be_bytes().to_vec();
        body.push(0x00);
        body.extend(string(f));
        body.push(0x01);
        // SUBSCRIBE fixed header flags 0010 [MQTT-3.8.1-1].
        assert_eq!(p.take_sent(), [wire5::packet(0x82, &body)], "{f:?}");
        p.receive(&wire5::suback(id.get(), &[0x01]));
        let id = p.unsubscribe(&[f]).unwrap();
        let mut body = id.get().to_be_bytes().to_vec();
        body.push(0x00);
        body.extend(string(f));
        // UNSUBSCRIBE fixed header flags 0010 [MQTT-3.10.1-1].
        assert_eq!(p.take_sent(), [wire5::packet(0xA2, &body)], "{f:?}");
        p.receive(&wire5::unsuback(id.get(), &[0x00]));
        assert_eq!(p.state(), State::Connected);
    }
    for f in invalid {
        // Not a filter [MQTT-4.7.1-1, MQTT-4.7.1-2], or empty [MQTT-4.7.3-1]: refused,
        // alone or among valid ones.
        let error = Err(CommandError::Invalid(DecodeError::InvalidTopicFilter));
        assert_eq!(p.subscribe(&[(f, QoS::AtMostOnce)]), error, "{f:?}");
        assert_eq!(
            p.subscribe(&[("ok", QoS::AtMostOnce), (f, QoS::AtMostOnce)]),
            error
        );
        assert_eq!(p.unsubscribe(&[f]), error, "{f:?}");
        let o = SubscriptionOptions::new(QoS::AtMostOnce);
        assert_eq!(p.subscribe_with(&[(f, o)], &Properties::EMPTY), error);
    }
    assert!(p.take_sent().is_empty());
}

#[test]
fn mqtt5_4_7_3_2_topic_filters_the_client_refuses_for_their_strings() {
    let mut p = roomy();
    let long = "x".repeat(65_536);
    // U+0000 [MQTT-4.7.3-2, MQTT-3.8.3-1, MQTT-3.10.3-1]; more than 65,535 bytes
    // [MQTT-4.7.3-3].
    for (f, error) in [
        ("a\0", DecodeError::NullCharacter),
        (&long[..], DecodeError::StringTooLong),
    ] {
        assert_eq!(
            p.subscribe(&[(f, QoS::AtMostOnce)]),
            Err(CommandError::Invalid(error))
        );
        assert_eq!(p.unsubscribe(&[f]), Err(CommandError::Invalid(error)));
    }
    // No filter at all [MQTT-3.8.3-2, MQTT-3.10.3-2].
    assert_eq!(p.subscribe(&[]), Err(CommandError::NoFilters));
    assert_eq!(
        p.subscribe_with(&[], &Properties::EMPTY),
        Err(CommandError::NoFilters)
    );
    assert_eq!(p.unsubscribe(&[]), Err(CommandError::NoFilters));
    assert!(p.take_sent().is_empty());
    // Several filters in one UNSUBSCRIBE, one after the other.
    let id = p.unsubscribe(&["a", "b/+"]).unwrap();
    let mut body = id.get().to_be_bytes().to_vec();
    body.push(0x00);
    body.extend(string("a"));
    body.extend(string("b/+"));
    assert_eq!(p.take_sent(), [wire5::packet(0xA2, &body)]);
}

#[test]
fn mqtt5_3_8_3_4_no_local_on_a_shared_subscription_is_not_sent() {
    let mut p = Peer::plain();
    let no_local = SubscriptionOptions {
        no_local: true,
        ..SubscriptionOptions::new(QoS::AtLeastOnce)
    };
    // No Local on a Shared Subscription is a Protocol Error [MQTT-3.8.3-4]: refused.
    assert_eq!(
        p.subscribe_with(&[("$share/g/a", no_local)], &Properties::EMPTY),
        Err(CommandError::Invalid(
            DecodeError::NoLocalOnSharedSubscription
        ))
    );
    assert_eq!(
        p.subscribe_with(
            &[("a", no_local), ("$share/g/#", no_local)],
            &Properties::EMPTY
        ),
        Err(CommandError::Invalid(
            DecodeError::NoLocalOnSharedSubscription
        ))
    );
    assert!(p.take_sent().is_empty());
    // On an ordinary filter, and a shared one without it, both fine: options 0x05 and 0x01.
    let plain = SubscriptionOptions::new(QoS::AtLeastOnce);
    let id = p
        .subscribe_with(
            &[("a", no_local), ("$share/g/a", plain)],
            &Properties::EMPTY,
        )
        .unwrap();
    let mut body = id.get().to_be_bytes().to_vec();
    body.push(0x00);
    body.extend(string("a"));
    body.push(0x05);
    body.extend(string("$share/g/a"));
    body.push(0x01);
    assert_eq!(p.take_sent(), [wire5::packet(0x82, &body)]);
}

#[test]
fn mqtt5_4_8_2_1_shared_subscription_filters_are_checked_on_every_subscribe() {
    // A filter starting with "$share/" is a Shared Subscription on a 5.0 connection: its
    // ShareName is at least one character [MQTT-4.8.2-1], without "/", "+" or "#", and is
    // followed by "/" and a Topic Filter [MQTT-4.8.2-2]. `subscribe_with` refuses these;
    // `subscribe` must too.
    let mut p = Peer::plain();
    for f in ["$share//a", "$share/g", "$share/g/"] {
        assert_eq!(
            p.subscribe(&[(f, QoS::AtMostOnce)]),
            Err(CommandError::Invalid(
                DecodeError::InvalidSharedSubscription
            )),
            "{f:?}"
        );
        assert_eq!(
            p.subscribe_with(
                &[(f, SubscriptionOptions::new(QoS::AtMostOnce))],
                &Properties::EMPTY
            ),
            Err(CommandError::Invalid(
                DecodeError::InvalidSharedSubscription
            )),
            "{f:?}"
        );
    }
    assert!(p.take_sent().is_empty(), "{}", p.transcript());
}
