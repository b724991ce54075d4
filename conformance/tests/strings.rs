//! UTF-8 strings and topic names, both ways (sections 1.5.3, 3.3.2, 4.7).
#![allow(clippy::unwrap_used)]

use conformance::checks;
use conformance::script::{Script, Seen};
use conformance::wire;
use mqtt_session::{CommandError, Config, ConnectOptions, DecodeError, QoS, VecStore, Violation};

fn connected() -> Script {
    let mut s = Script::new();
    s.connected(&ConnectOptions::new("c"), false);
    s
}

/// A broker PUBLISH (QoS 0) whose topic is the raw bytes `topic`.
fn raw_publish(topic: &[u8]) -> Vec<u8> {
    let mut body = wire::string(topic);
    body.extend_from_slice(b"payload");
    wire::packet(0x30, &body)
}

#[test]
fn mqtt_1_5_3_1_ill_formed_utf8_topic_closes() {
    checks!["MQTT-1.5.3-1", "MQTT-3.3.2-1", "MQTT-4.8.0-1"];
    for topic in [
        &[b'a', 0xFF][..],         // never valid in UTF-8
        &[0xC3],                   // truncated sequence
        &[0xC0, 0xAF],             // overlong encoding of '/'
        &[0xED, 0xA0, 0x80],       // U+D800, a surrogate
        &[0xED, 0xBF, 0xBF],       // U+DFFF, a surrogate
        &[0xF4, 0x90, 0x80, 0x80], // above U+10FFFF
    ] {
        let v = connected().expect_violation(&raw_publish(topic), "MQTT-1.5.3-1");
        assert_eq!(
            v,
            Violation::Malformed(DecodeError::InvalidUtf8),
            "{topic:02x?}"
        );
    }
}

#[test]
fn mqtt_1_5_3_2_null_in_incoming_topic_closes() {
    checks!["MQTT-1.5.3-2", "MQTT-4.7.3-2", "MQTT-4.8.0-1"];
    let v = connected().expect_violation(&raw_publish(b"a\0b"), "MQTT-1.5.3-2");
    assert_eq!(v, Violation::Malformed(DecodeError::NullCharacter));
}

#[test]
fn mqtt_1_5_3_1_ill_formed_utf8_in_the_middle_of_a_qos1_publish_is_not_acknowledged() {
    checks!["MQTT-1.5.3-1"];
    let mut s = connected();
    let mut body = wire::string([b'o', b'k', 0xFE]);
    body.extend([0x00, 0x05]);
    body.extend_from_slice(b"x");
    s.expect_violation(&wire::packet(0x32, &body), "MQTT-1.5.3-1");
}

#[test]
fn mqtt_1_5_3_3_bom_is_kept_both_ways() {
    checks!["MQTT-1.5.3-3"];
    let mut s = connected();
    let topic = "\u{FEFF}t/\u{FEFF}";
    s.publish(topic, b"x", QoS::AtMostOnce, false).unwrap();
    let sent = s.take_sent();
    assert_eq!(
        sent,
        [vec![
            0x30, 0x0B, 0x00, 0x08, 0xEF, 0xBB, 0xBF, b't', b'/', 0xEF, 0xBB, 0xBF, b'x'
        ]]
    );
    s.subscribe(&[("\u{FEFF}/#", QoS::AtMostOnce)]).unwrap();
    let sub = s.take_sent_bytes();
    assert_eq!(&sub[4..11], &[0x00, 0x05, 0xEF, 0xBB, 0xBF, b'/', b'#']);
    s.receive(&wire::publish(topic, b"y", 0, 0, false, false));
    assert_eq!(
        s.take_events(),
        [Seen::message(topic, b"y", QoS::AtMostOnce, None)]
    );
}

#[test]
fn mqtt_3_3_2_1_non_ascii_topics_are_utf8_both_ways() {
    checks!["MQTT-3.3.2-1", "MQTT-1.5.3-1"];
    let mut s = connected();
    let topic = "température/Zürich/東京/🙂";
    s.publish(topic, b"", QoS::AtLeastOnce, false).unwrap();
    let mut body = wire::string(topic);
    body.extend([0x00, 0x01]);
    assert_eq!(s.take_sent(), [wire::packet(0x32, &body)]);
    s.receive(&wire::publish(topic, "😀".as_bytes(), 1, 3, false, false));
    assert_eq!(
        s.take_events(),
        [Seen::message(
            topic,
            "😀".as_bytes(),
            QoS::AtLeastOnce,
            Some(3)
        )]
    );
}

#[test]
fn mqtt_3_3_2_2_publish_topic_with_wildcards_is_refused() {
    checks!["MQTT-3.3.2-2", "MQTT-4.7.1-1"];
    let mut s = connected();
    for topic in ["a/+", "+", "#", "a/#", "a+b", "x#"] {
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            assert_eq!(
                s.publish(topic, b"x", qos, false),
                Err(CommandError::Invalid(DecodeError::InvalidTopicName)),
                "{topic:?}"
            );
        }
    }
    assert!(s.take_sent().is_empty());
    assert_eq!(s.session().inflight(), 0);
}

#[test]
fn mqtt_3_3_2_2_incoming_topic_with_wildcards_closes() {
    checks!["MQTT-3.3.2-2", "MQTT-4.7.1-1", "MQTT-4.8.0-1"];
    for topic in ["a/+", "#", "a/#"] {
        let v = connected().expect_violation(&raw_publish(topic.as_bytes()), "MQTT-3.3.2-2");
        assert_eq!(v, Violation::Malformed(DecodeError::InvalidTopicName));
    }
}

#[test]
fn mqtt_4_7_3_1_empty_topic_refused_both_ways() {
    checks!["MQTT-4.7.3-1"];
    let mut s = connected();
    assert_eq!(
        s.publish("", b"x", QoS::AtMostOnce, false),
        Err(CommandError::Invalid(DecodeError::InvalidTopicName))
    );
    assert!(s.take_sent().is_empty());
    let v = s.expect_violation(&raw_publish(b""), "MQTT-3.3.2-2");
    assert_eq!(v, Violation::Malformed(DecodeError::InvalidTopicName));
}

#[test]
fn mqtt_4_7_3_2_publish_topic_with_null_is_refused() {
    checks!["MQTT-4.7.3-2", "MQTT-1.5.3-2"];
    let mut s = connected();
    assert_eq!(
        s.publish("a\0", b"x", QoS::AtLeastOnce, false),
        Err(CommandError::Invalid(DecodeError::NullCharacter))
    );
    assert!(s.take_sent().is_empty());
}

#[test]
fn mqtt_4_7_3_3_topic_longer_than_65535_bytes_is_refused() {
    checks!["MQTT-4.7.3-3", "U-1.5.3-string-length"];
    let mut s = Script::with_buffers(Config::default(), VecStore::new(), 4096, 140_000);
    s.connected(&ConnectOptions::new("c"), false);
    let long = "t".repeat(65_536);
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        assert_eq!(
            s.publish(&long, b"x", qos, false),
            Err(CommandError::Invalid(DecodeError::StringTooLong))
        );
    }
    assert_eq!(
        s.subscribe(&[(&long, QoS::AtMostOnce)]),
        Err(CommandError::Invalid(DecodeError::StringTooLong))
    );
    assert_eq!(
        s.unsubscribe(&[&long]),
        Err(CommandError::Invalid(DecodeError::StringTooLong))
    );
    assert!(s.take_sent().is_empty());
    // 65,535 bytes fits.
    let longest = "t".repeat(65_535);
    s.publish(&longest, b"x", QoS::AtMostOnce, false).unwrap();
    let sent = s.take_sent_bytes();
    assert_eq!(&sent[4..6], &[0xFF, 0xFF]);
}

#[test]
fn u_1_5_3_will_message_and_password_longer_than_65535_bytes_are_refused() {
    checks!["U-1.5.3-string-length"];
    let big = vec![0u8; 65_536];
    let mut s = Script::with_buffers(Config::default(), VecStore::new(), 4096, 140_000);
    s.up();
    let r = s.connect(&ConnectOptions {
        username: Some("u"),
        password: Some(&big),
        ..ConnectOptions::new("c")
    });
    assert_eq!(r, Err(CommandError::Invalid(DecodeError::StringTooLong)));
    let r = s.connect(&ConnectOptions {
        will: Some(mqtt_session::LastWill {
            topic: "w",
            payload: &big,
            qos: QoS::AtMostOnce,
            retain: false,
        }),
        ..ConnectOptions::new("c")
    });
    assert_eq!(r, Err(CommandError::Invalid(DecodeError::StringTooLong)));
    assert!(s.take_sent().is_empty());
}
