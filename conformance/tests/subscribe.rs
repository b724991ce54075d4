//! SUBSCRIBE / SUBACK and UNSUBSCRIBE / UNSUBACK, byte for byte (sections 3.8-3.11).
#![allow(clippy::unwrap_used)]

use conformance::checks;
use conformance::script::{Script, Seen};
use conformance::wire;
use mqtt_session::{
    CommandError, ConnectOptions, DecodeError, PacketId, QoS, SubAckReturnCode, Violation,
};

fn connected() -> Script {
    let mut s = Script::new();
    s.connected(&ConnectOptions::new("c"), false);
    s
}

#[test]
fn mqtt_3_8_1_1_subscribe_bytes() {
    checks![
        "MQTT-3.8.1-1",
        "MQTT-2.2.2-1",
        "MQTT-2.3.1-1",
        "MQTT-3.8.3-1",
        "U-3.8.3.1-requested-qos-bits"
    ];
    let mut s = connected();
    let id = s.subscribe(&[("a/b", QoS::AtLeastOnce)]).unwrap();
    assert_eq!(id, PacketId::new(1).unwrap());
    assert_eq!(
        s.take_sent(),
        [vec![
            0x82, 0x08, 0x00, 0x01, 0x00, 0x03, b'a', b'/', b'b', 0x01
        ]]
    );
}

#[test]
fn mqtt_3_8_3_1_several_filters_in_one_subscribe_with_suback_0x80() {
    checks![
        "MQTT-3.8.3-1",
        "MQTT-3.8.1-1",
        "U-3.8.3.1-requested-qos-bits",
        "U-3.9.3-suback-codes"
    ];
    let mut s = connected();
    let id = s
        .subscribe(&[
            ("sport/+/score", QoS::AtMostOnce),
            ("$SYS/#", QoS::AtLeastOnce),
            ("ünï/#", QoS::ExactlyOnce),
        ])
        .unwrap();
    let mut body = id.get().to_be_bytes().to_vec();
    body.extend(wire::string("sport/+/score"));
    body.push(0x00);
    body.extend(wire::string("$SYS/#"));
    body.push(0x01);
    body.extend(wire::string("ünï/#"));
    body.push(0x02);
    assert_eq!(s.take_sent(), [wire::packet(0x82, &body)]);
    s.receive(&wire::suback(id.get(), &[0x00, 0x80, 0x01]));
    assert_eq!(
        s.take_events(),
        [Seen::Subscribed {
            packet_id: id.get(),
            results: vec![
                SubAckReturnCode::Success(QoS::AtMostOnce),
                SubAckReturnCode::Failure,
                SubAckReturnCode::Success(QoS::AtLeastOnce),
            ]
        }]
    );
    assert!(s.session().is_connected(), "0x80 is a result, not an error");
}

#[test]
fn subscribe_transcript_snapshot() {
    checks!["MQTT-3.8.1-1", "MQTT-3.10.1-1", "U-3.9.3-suback-codes"];
    let mut s = connected();
    s.subscribe(&[("a/#", QoS::ExactlyOnce), ("b/+", QoS::AtMostOnce)])
        .unwrap();
    s.subscribe(&[("forbidden/#", QoS::AtLeastOnce)]).unwrap();
    s.receive(&wire::suback(2, &[0x80]));
    s.receive(&wire::suback(1, &[0x01, 0x00]));
    s.unsubscribe(&["a/#", "b/+"]).unwrap();
    s.receive(&wire::unsuback(3));
    insta::assert_snapshot!(s.transcript());
}

#[test]
fn mqtt_3_8_3_3_subscribe_without_filters_is_refused() {
    checks!["MQTT-3.8.3-3"];
    let mut s = connected();
    assert_eq!(s.subscribe(&[]), Err(CommandError::NoFilters));
    assert!(s.take_sent().is_empty());
}

#[test]
fn mqtt_3_10_3_2_unsubscribe_without_filters_is_refused() {
    checks!["MQTT-3.10.3-2"];
    let mut s = connected();
    assert_eq!(s.unsubscribe(&[]), Err(CommandError::NoFilters));
    assert!(s.take_sent().is_empty());
}

#[test]
fn mqtt_3_10_1_1_unsubscribe_bytes_filters_packed_contiguously() {
    checks![
        "MQTT-3.10.1-1",
        "MQTT-3.10.3-1",
        "MQTT-2.2.2-1",
        "MQTT-2.3.1-1"
    ];
    let mut s = connected();
    let id = s.unsubscribe(&["a/b", "c/#", "ü"]).unwrap();
    let mut body = id.get().to_be_bytes().to_vec();
    body.extend(wire::string("a/b"));
    body.extend(wire::string("c/#"));
    body.extend(wire::string("ü"));
    assert_eq!(s.take_sent(), [wire::packet(0xA2, &body)]);
    assert_eq!(
        body,
        [
            0, 1, 0, 3, b'a', b'/', b'b', 0, 3, b'c', b'/', b'#', 0, 2, 0xC3, 0xBC
        ]
    );
    s.receive(&wire::unsuback(id.get()));
    assert_eq!(s.take_events(), [Seen::Unsubscribed(id.get())]);
}

#[test]
fn mqtt_3_8_3_1_filters_with_null_are_refused() {
    checks![
        "MQTT-3.8.3-1",
        "MQTT-3.10.3-1",
        "MQTT-4.7.3-2",
        "MQTT-1.5.3-2"
    ];
    let mut s = connected();
    assert_eq!(
        s.subscribe(&[("ok", QoS::AtMostOnce), ("a\0b", QoS::AtMostOnce)]),
        Err(CommandError::Invalid(DecodeError::NullCharacter))
    );
    assert_eq!(
        s.unsubscribe(&["a\0"]),
        Err(CommandError::Invalid(DecodeError::NullCharacter))
    );
    assert!(s.take_sent().is_empty());
}

#[test]
fn mqtt_4_7_1_2_multi_level_wildcard_rules() {
    checks!["MQTT-4.7.1-2"];
    let mut s = connected();
    for bad in ["a/#/b", "a#", "#/a", "a/b#", "##"] {
        assert_eq!(
            s.subscribe(&[(bad, QoS::AtMostOnce)]),
            Err(CommandError::Invalid(DecodeError::InvalidTopicFilter)),
            "{bad:?}"
        );
        assert_eq!(
            s.unsubscribe(&[bad]),
            Err(CommandError::Invalid(DecodeError::InvalidTopicFilter)),
            "{bad:?}"
        );
    }
    assert!(s.take_sent().is_empty());
    for good in ["#", "a/#", "/#", "a/b/#"] {
        s.subscribe(&[(good, QoS::AtMostOnce)]).unwrap();
    }
    assert_eq!(s.take_sent().len(), 4);
}

#[test]
fn mqtt_4_7_1_3_single_level_wildcard_rules() {
    checks!["MQTT-4.7.1-3"];
    let mut s = connected();
    for bad in ["a+", "+a", "a/+b", "a/b+/c", "++"] {
        assert_eq!(
            s.subscribe(&[(bad, QoS::AtMostOnce)]),
            Err(CommandError::Invalid(DecodeError::InvalidTopicFilter)),
            "{bad:?}"
        );
    }
    assert!(s.take_sent().is_empty());
    for good in ["+", "+/+", "a/+", "+/b", "/+", "a/+/#"] {
        s.subscribe(&[(good, QoS::AtMostOnce)]).unwrap();
    }
    assert_eq!(s.take_sent().len(), 6);
}

#[test]
fn mqtt_4_7_3_1_empty_filter_is_refused() {
    checks!["MQTT-4.7.3-1"];
    let mut s = connected();
    assert_eq!(
        s.subscribe(&[("", QoS::AtMostOnce)]),
        Err(CommandError::Invalid(DecodeError::InvalidTopicFilter))
    );
    assert_eq!(
        s.unsubscribe(&[""]),
        Err(CommandError::Invalid(DecodeError::InvalidTopicFilter))
    );
    assert!(s.take_sent().is_empty());
}

#[test]
fn u_3_9_3_suback_with_another_count_of_codes_closes() {
    checks!["U-3.9.3-suback-codes", "MQTT-4.8.0-1"];
    let mut s = connected();
    let id = s
        .subscribe(&[("a", QoS::AtMostOnce), ("b", QoS::AtMostOnce)])
        .unwrap();
    let v = s.expect_violation(&wire::suback(id.get(), &[0x00]), "MQTT-3.8.4-5");
    assert_eq!(
        v,
        Violation::SubAckCountMismatch {
            expected: 2,
            received: 1
        }
    );
}

#[test]
fn u_3_9_3_suback_with_a_reserved_code_closes() {
    checks!["U-3.9.3-suback-codes", "MQTT-4.8.0-1"];
    for code in [0x03u8, 0x40, 0x81, 0xFF] {
        let mut s = connected();
        let id = s.subscribe(&[("a", QoS::AtMostOnce)]).unwrap();
        let v = s.expect_violation(&wire::suback(id.get(), &[code]), "MQTT-3.9.3-2");
        assert_eq!(v, Violation::Malformed(DecodeError::InvalidSubAckCode));
    }
}

#[test]
fn suback_and_unsuback_for_unknown_ids_close() {
    checks!["MQTT-4.8.0-1"];
    let mut s = connected();
    let v = s.expect_violation(&wire::suback(9, &[0x00]), "MQTT-3.8.4-2");
    assert_eq!(v, Violation::UnexpectedSubAck(PacketId::new(9).unwrap()));
    let mut s = connected();
    let id = s.subscribe(&[("a", QoS::AtMostOnce)]).unwrap();
    // UNSUBACK for the SUBSCRIBE's id: no UNSUBSCRIBE is pending with it.
    let v = s.expect_violation(&wire::unsuback(id.get()), "MQTT-3.10.4-4");
    assert_eq!(v, Violation::UnexpectedUnsubAck(id));
}

#[test]
fn mqtt_2_3_1_3_subscribe_ids_freed_by_their_acks() {
    checks!["MQTT-2.3.1-3", "MQTT-2.3.1-2"];
    let mut s = connected();
    let a = s.subscribe(&[("a", QoS::AtMostOnce)]).unwrap();
    let b = s.unsubscribe(&["a"]).unwrap();
    assert_ne!(a, b);
    s.receive(&wire::unsuback(b.get()));
    s.receive(&wire::suback(a.get(), &[0]));
    assert_eq!(
        s.take_events(),
        [
            Seen::Unsubscribed(b.get()),
            Seen::Subscribed {
                packet_id: a.get(),
                results: vec![SubAckReturnCode::Success(QoS::AtMostOnce)]
            }
        ]
    );
    // Acknowledged once, an id no longer matches anything pending.
    let v = s.expect_violation(&wire::suback(a.get(), &[0]), "MQTT-3.8.4-2");
    assert_eq!(v, Violation::UnexpectedSubAck(a));
}
