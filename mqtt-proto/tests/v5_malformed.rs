//! MQTT 5.0 decode validation per packet: each rule broken on its own, with the error that
//! names it; and the encoder refusing the same packets.
#![cfg(feature = "v5")]
#![allow(clippy::unwrap_used)]

mod v5_common;

use mqtt_proto::v5::{
    ConnAck, ConnectReasonCode, Decoder, Frame, Packet, Properties, Property, Publish,
    RetainHandling, Subscribe, SubscriptionOptions, Unsubscribe,
};
use mqtt_proto::{DecodeError, EncodeError, QoS, QosPid};
use v5_common::{check_malformed, filter, pid, topic};

/// The error is known from the first `proven_at` bytes: shorter prefixes are incomplete, and
/// from there on both `decode` and `frame` fail with it.
fn check_malformed_at(bytes: &[u8], error: DecodeError, proven_at: usize) {
    let d = Decoder::new();
    for n in 0..=bytes.len() {
        let prefix = &bytes[..n];
        if n < proven_at {
            assert_eq!(
                d.decode(prefix),
                Ok(None),
                "{n}-byte prefix of {bytes:02X?}"
            );
            assert!(matches!(d.frame(prefix), Ok(Frame::Incomplete { .. })));
        } else {
            assert_eq!(
                d.decode(prefix),
                Err(error),
                "{n}-byte prefix of {bytes:02X?}"
            );
            assert_eq!(d.frame(prefix).err(), Some(error));
        }
    }
}

// Fixed header (2.1) ---------------------------------------------------------------------------

#[test]
fn mqtt5_2_1_3_1_reserved_flags_and_types_at_the_first_byte() {
    check_malformed_at(&[0xF1, 0x00], DecodeError::InvalidFlags, 1);
    check_malformed_at(&[0xF8, 0x00], DecodeError::InvalidFlags, 1);
    check_malformed_at(&[0x60, 0x02, 0x00, 0x01], DecodeError::InvalidFlags, 1);
    check_malformed_at(&[0x80, 0x02], DecodeError::InvalidFlags, 1);
    check_malformed_at(&[0xA0, 0x02], DecodeError::InvalidFlags, 1);
    check_malformed_at(&[0x00, 0x00], DecodeError::ReservedPacketType, 1);
    check_malformed_at(&[0x36, 0x00], DecodeError::InvalidQoS, 1);
    check_malformed_at(&[0x38, 0x00], DecodeError::DupWithQoS0, 1);
    assert_eq!(DecodeError::InvalidFlags.rule_v5(), Some("MQTT-2.1.3-1"));
}

#[test]
fn remaining_length_rules_at_the_header() {
    check_malformed_at(&[0x20, 0x02, 0x00, 0x00], DecodeError::MalformedLength, 2);
    check_malformed_at(&[0xC0, 0x01, 0x00], DecodeError::MalformedLength, 2);
    check_malformed_at(&[0x40, 0x01, 0x00], DecodeError::MalformedLength, 2);
    check_malformed_at(
        &[0x32, 0x04, 0x00, 0x01, b't', 0x00],
        DecodeError::MalformedLength,
        2,
    );
    check_malformed_at(&[0x82, 0x02, 0x00, 0x01], DecodeError::MalformedLength, 2);
    check_malformed_at(&[0x30, 0x83, 0x00], DecodeError::MalformedLength, 3);
    check_malformed_at(
        &[0x30, 0xFF, 0xFF, 0xFF, 0xFF],
        DecodeError::RemainingLengthTooLong,
        5,
    );
    let d = Decoder::with_max_remaining_length(10);
    assert_eq!(d.frame(&[0x30, 0x0B]), Err(DecodeError::PacketTooLarge));
    assert_eq!(d.decode(&[0x30, 0x0B]), Err(DecodeError::PacketTooLarge));
    assert!(matches!(
        d.frame(&[0x30, 0x0A]),
        Ok(Frame::Incomplete { .. })
    ));
}

// CONNECT (3.1) --------------------------------------------------------------------------------

fn connect(flags: u8, rest: &[u8]) -> Vec<u8> {
    let mut b = vec![
        0x10, 0x00, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, flags, 0x00, 0x00,
    ];
    b.extend_from_slice(rest);
    b[1] = (b.len() - 2) as u8;
    b
}

#[test]
fn mqtt5_3_1_2_1_protocol_name_and_3_1_2_2_version() {
    let mut b = connect(0x02, &[0x00, 0x00, 0x00]);
    b[7] = b'X';
    check_malformed(&b, DecodeError::InvalidProtocolName);
    let mut b = connect(0x02, &[0x00, 0x00, 0x00]);
    b[8] = 4;
    check_malformed(&b, DecodeError::ProtocolVersionNot5);
    assert_eq!(
        DecodeError::ProtocolVersionNot5.rule_v5(),
        Some("MQTT-3.1.2-2")
    );
}

#[test]
fn mqtt5_3_1_2_3_reserved_flag_and_3_1_2_11_will_flags() {
    check_malformed(&connect(0x03, &[0, 0, 0]), DecodeError::ConnectReservedFlag);
    check_malformed(&connect(0x08, &[0, 0, 0]), DecodeError::InvalidWillFlags);
    check_malformed(&connect(0x20, &[0, 0, 0]), DecodeError::InvalidWillFlags);
    check_malformed(&connect(0x1C, &[0, 0, 0]), DecodeError::InvalidWillFlags);
}

#[test]
fn mqtt5_3_1_3_2_will_properties_are_checked_as_will_properties() {
    // Session Expiry Interval is a CONNECT property, not a Will property.
    let will = [
        0x00, 0x00, 0x00, // CONNECT properties, client id ""
        0x05, 0x11, 0x00, 0x00, 0x00, 0x01, // will properties
        0x00, 0x01, b'w', 0x00, 0x00,
    ];
    check_malformed(&connect(0x06, &will), DecodeError::PropertyNotAllowed);
    // Will Delay Interval is a Will property, not a CONNECT property.
    let props = [0x05, 0x18, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00];
    check_malformed(&connect(0x02, &props), DecodeError::PropertyNotAllowed);
}

#[test]
fn mqtt5_3_1_3_11_will_topic_is_a_topic_name() {
    // CONNECT properties, client id "", will properties, will topic "#", payload.
    let will = [0x00, 0x00, 0x00, 0x00, 0x00, 0x01, b'#', 0x00, 0x00];
    check_malformed(&connect(0x06, &will), DecodeError::InvalidTopicName);
}

#[test]
fn mqtt5_3_1_connect_fields_missing_or_left_over() {
    // User name flag without a user name; a byte after the last field.
    check_malformed(
        &connect(0x82, &[0x00, 0x00, 0x00]),
        DecodeError::MalformedLength,
    );
    check_malformed(
        &connect(0x02, &[0x00, 0x00, 0x00, 0x00]),
        DecodeError::MalformedLength,
    );
    // Client identifier with U+0000 [MQTT-1.5.4-2].
    check_malformed(
        &connect(0x02, &[0x00, 0x00, 0x01, 0x00]),
        DecodeError::NullCharacter,
    );
}

// CONNACK (3.2) --------------------------------------------------------------------------------

#[test]
fn mqtt5_3_2_2_1_connack_reserved_bits() {
    check_malformed(
        &[0x20, 0x03, 0x02, 0x00, 0x00],
        DecodeError::ConnAckReservedBits,
    );
    assert_eq!(
        DecodeError::ConnAckReservedBits.rule_v5(),
        Some("MQTT-3.2.2-1")
    );
}

#[test]
fn mqtt5_3_2_2_8_connack_reason_codes() {
    for code in [0x01, 0x04, 0x10, 0x8B, 0x8E, 0x92, 0xA0, 0xFF] {
        check_malformed(
            &[0x20, 0x03, 0x00, code, 0x00],
            DecodeError::InvalidConnAckReasonCode,
        );
    }
    assert_eq!(
        DecodeError::InvalidConnAckReasonCode.rule_v5(),
        Some("MQTT-3.2.2-8")
    );
}

#[test]
fn mqtt5_3_2_2_6_session_present_with_a_failure_code() {
    check_malformed(
        &[0x20, 0x03, 0x01, 0x80, 0x00],
        DecodeError::ConnAckSessionPresentWithError,
    );
    assert_eq!(
        DecodeError::ConnAckSessionPresentWithError.rule_v5(),
        Some("MQTT-3.2.2-6")
    );
    let c = Packet::ConnAck(ConnAck::new(true, ConnectReasonCode::Banned));
    assert_eq!(
        c.encode(&mut [0u8; 8]),
        Err(EncodeError::Invalid(
            DecodeError::ConnAckSessionPresentWithError
        ))
    );
}

// PUBLISH (3.3) --------------------------------------------------------------------------------

#[test]
fn mqtt5_3_3_2_3_4_empty_topic_needs_a_topic_alias() {
    check_malformed(
        &[0x30, 0x03, 0x00, 0x00, 0x00],
        DecodeError::EmptyTopicWithoutAlias,
    );
    check_malformed(
        &[
            0x30, 0x0A, 0x00, 0x00, 0x07, 0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v',
        ],
        DecodeError::EmptyTopicWithoutAlias,
    );
    let p = Publish {
        topic: None,
        ..Publish::new(topic("t"), QosPid::AtMostOnce, b"")
    };
    assert_eq!(
        Packet::Publish(p).encode(&mut [0u8; 8]),
        Err(EncodeError::Invalid(DecodeError::EmptyTopicWithoutAlias))
    );
}

#[test]
fn mqtt5_3_3_2_2_topic_name_without_wildcards() {
    // A Topic Name with a wildcard is refused [MQTT-3.3.2-2].
    check_malformed(
        &[0x30, 0x04, 0x00, 0x01, b'+', 0x00],
        DecodeError::InvalidTopicName,
    );
    assert_eq!(
        DecodeError::InvalidTopicName.rule_v5(),
        Some("MQTT-4.7.0-1")
    );
}

#[test]
fn mqtt5_2_2_1_3_publish_packet_identifier_zero() {
    check_malformed(
        &[0x32, 0x06, 0x00, 0x01, b't', 0x00, 0x00, 0x00],
        DecodeError::ZeroPacketId,
    );
}

#[test]
fn mqtt5_3_3_1_2_dup_on_qos0_is_not_encoded() {
    // DUP 1 on QoS 0 is never encoded [MQTT-3.3.1-2].
    let p = Publish {
        dup: true,
        ..Publish::new(topic("t"), QosPid::AtMostOnce, b"")
    };
    assert_eq!(
        Packet::Publish(p).encode(&mut [0u8; 16]),
        Err(EncodeError::Invalid(DecodeError::DupWithQoS0))
    );
}

#[test]
fn publish_errors_are_reported_before_the_payload_arrives() {
    let d = Decoder::new();
    // Remaining length 200; topic "t", then a Topic Alias 0: the payload is not here yet.
    let head = [0x30, 0xC8, 0x01, 0x00, 0x01, b't', 0x03, 0x23, 0x00, 0x00];
    assert_eq!(d.decode(&head), Err(DecodeError::ZeroTopicAlias));
    assert_eq!(d.decode(&head[..9]), Ok(None));
    // The properties are fine, the payload is still to come: not yet, not an error.
    let head = [
        0x30, 0xC8, 0x01, 0x00, 0x01, b't', 0x03, 0x23, 0x00, 0x01, 0xAA,
    ];
    assert_eq!(d.decode(&head), Ok(None));
}

// PUBACK, PUBREC, PUBREL, PUBCOMP (3.4 to 3.7) -------------------------------------------------

#[test]
fn mqtt5_3_4_2_1_to_3_7_2_1_response_reason_codes() {
    let cases = [
        (
            0x40,
            0x92,
            DecodeError::InvalidPubAckReasonCode,
            "MQTT-3.4.2-1",
        ),
        (
            0x40,
            0x01,
            DecodeError::InvalidPubAckReasonCode,
            "MQTT-3.4.2-1",
        ),
        (
            0x50,
            0x92,
            DecodeError::InvalidPubRecReasonCode,
            "MQTT-3.5.2-1",
        ),
        (
            0x50,
            0x04,
            DecodeError::InvalidPubRecReasonCode,
            "MQTT-3.5.2-1",
        ),
        (
            0x62,
            0x10,
            DecodeError::InvalidPubRelReasonCode,
            "MQTT-3.6.2-1",
        ),
        (
            0x62,
            0x80,
            DecodeError::InvalidPubRelReasonCode,
            "MQTT-3.6.2-1",
        ),
        (
            0x70,
            0x10,
            DecodeError::InvalidPubCompReasonCode,
            "MQTT-3.7.2-1",
        ),
        (
            0x70,
            0x80,
            DecodeError::InvalidPubCompReasonCode,
            "MQTT-3.7.2-1",
        ),
    ];
    for (first, code, error, rule) in cases {
        check_malformed(&[first, 0x03, 0x00, 0x01, code], error);
        // The code is refused before the properties arrive.
        check_malformed(&[first, 0x05, 0x00, 0x01, code, 0x01, 0x1F], error);
        assert_eq!(error.rule_v5(), Some(rule));
    }
}

#[test]
fn mqtt5_3_4_response_identifier_and_properties() {
    check_malformed(&[0x40, 0x02, 0x00, 0x00], DecodeError::ZeroPacketId);
    // Property Length 1 with no property byte; a Topic Alias in a PUBREL.
    check_malformed(
        &[0x40, 0x04, 0x00, 0x01, 0x00, 0x01],
        DecodeError::MalformedLength,
    );
    check_malformed(
        &[0x62, 0x07, 0x00, 0x01, 0x00, 0x03, 0x23, 0x00, 0x01],
        DecodeError::PropertyNotAllowed,
    );
}

// SUBSCRIBE (3.8) ------------------------------------------------------------------------------

fn subscribe(payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0x82, 0x00, 0x00, 0x01, 0x00];
    b.extend_from_slice(payload);
    b[1] = (b.len() - 2) as u8;
    b
}

#[test]
fn mqtt5_3_8_3_2_subscribe_needs_a_filter() {
    check_malformed(&subscribe(&[]), DecodeError::EmptySubscribe);
    assert_eq!(DecodeError::EmptySubscribe.rule_v5(), Some("MQTT-3.8.3-2"));
    let s = Packet::Subscribe(Subscribe::new(pid(1), &[]));
    assert_eq!(
        s.encode(&mut [0u8; 8]),
        Err(EncodeError::Invalid(DecodeError::EmptySubscribe))
    );
}

#[test]
fn mqtt5_3_8_3_5_subscription_options_reserved_bits() {
    for options in [0x40, 0x80, 0xC1] {
        check_malformed(
            &subscribe(&[0x00, 0x01, b'a', options]),
            DecodeError::SubscribeReservedBits,
        );
    }
    assert_eq!(
        DecodeError::SubscribeReservedBits.rule_v5(),
        Some("MQTT-3.8.3-5")
    );
}

#[test]
fn mqtt5_3_8_3_1_qos_3_and_retain_handling_3() {
    check_malformed(
        &subscribe(&[0x00, 0x01, b'a', 0x03]),
        DecodeError::InvalidQoS,
    );
    check_malformed(
        &subscribe(&[0x00, 0x01, b'a', 0x30]),
        DecodeError::InvalidRetainHandling,
    );
}

#[test]
fn mqtt5_3_8_3_4_no_local_on_a_shared_subscription() {
    // Decoded and encoded: No Local on a Shared Subscription is refused [MQTT-3.8.3-4].
    let mut payload = vec![0x00, 0x0A];
    payload.extend_from_slice(b"$share/g/a");
    payload.push(0x04);
    check_malformed(
        &subscribe(&payload),
        DecodeError::NoLocalOnSharedSubscription,
    );
    let list = [(
        filter("$share/g/a"),
        SubscriptionOptions {
            no_local: true,
            ..SubscriptionOptions::new(QoS::AtMostOnce)
        },
    )];
    assert_eq!(
        Packet::Subscribe(Subscribe::new(pid(1), &list)).encode(&mut [0u8; 32]),
        Err(EncodeError::Invalid(
            DecodeError::NoLocalOnSharedSubscription
        ))
    );
    // No Local on an ordinary filter is fine.
    let list = [(
        filter("$sharex/g/a"),
        SubscriptionOptions {
            no_local: true,
            retain_handling: RetainHandling::SendIfNew,
            ..SubscriptionOptions::new(QoS::AtMostOnce)
        },
    )];
    assert!(
        Packet::Subscribe(Subscribe::new(pid(1), &list))
            .encode(&mut [0u8; 32])
            .is_ok()
    );
}

#[test]
fn mqtt5_4_8_2_1_and_4_8_2_2_shared_subscription_form() {
    for f in ["$share/g", "$share//a", "$share/+/a", "$share/g/"] {
        let mut payload = vec![0x00, f.len() as u8];
        payload.extend_from_slice(f.as_bytes());
        payload.push(0x00);
        check_malformed(&subscribe(&payload), DecodeError::InvalidSharedSubscription);
    }
}

#[test]
fn mqtt5_4_7_1_subscribe_filter_rules() {
    check_malformed(
        &subscribe(&[0x00, 0x03, b'a', b'#', b'b', 0x00]),
        DecodeError::InvalidTopicFilter,
    );
    check_malformed(
        &subscribe(&[0x00, 0x00, 0x00]),
        DecodeError::InvalidTopicFilter,
    );
    // The first filter is refused before the second arrives.
    let d = Decoder::new();
    let head = [0x82, 0x20, 0x00, 0x01, 0x00, 0x00, 0x02, b'a', b'#'];
    assert_eq!(d.decode(&head), Err(DecodeError::InvalidTopicFilter));
}

// SUBACK, UNSUBSCRIBE, UNSUBACK (3.9 to 3.11) --------------------------------------------------

#[test]
fn mqtt5_3_9_3_2_suback_reason_codes() {
    check_malformed(
        &[0x90, 0x03, 0x00, 0x01, 0x00],
        DecodeError::InvalidSubAckCode,
    );
    for code in [0x03, 0x04, 0x11, 0x81, 0x92, 0xFF] {
        check_malformed(
            &[0x90, 0x05, 0x00, 0x01, 0x00, 0x00, code],
            DecodeError::InvalidSubAckCode,
        );
    }
}

#[test]
fn mqtt5_3_10_3_2_unsubscribe_needs_a_filter() {
    // Decoded and encoded: an UNSUBSCRIBE needs a filter [MQTT-3.10.3-2].
    check_malformed(
        &[0xA2, 0x03, 0x00, 0x01, 0x00],
        DecodeError::EmptyUnsubscribe,
    );
    check_malformed(
        &[0xA2, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00],
        DecodeError::NullCharacter,
    );
    let u = Packet::Unsubscribe(Unsubscribe::new(pid(1), &[]));
    assert_eq!(
        u.encode(&mut [0u8; 8]),
        Err(EncodeError::Invalid(DecodeError::EmptyUnsubscribe))
    );
}

#[test]
fn mqtt5_3_11_3_2_unsuback_reason_codes() {
    check_malformed(
        &[0xB0, 0x03, 0x00, 0x01, 0x00],
        DecodeError::InvalidUnsubAckReasonCode,
    );
    for code in [0x01, 0x02, 0x10, 0x97, 0x9E] {
        check_malformed(
            &[0xB0, 0x04, 0x00, 0x01, 0x00, code],
            DecodeError::InvalidUnsubAckReasonCode,
        );
    }
    assert_eq!(
        DecodeError::InvalidUnsubAckReasonCode.rule_v5(),
        Some("MQTT-3.11.3-2")
    );
}

// DISCONNECT, AUTH (3.14, 3.15) ----------------------------------------------------------------

#[test]
fn mqtt5_3_14_2_1_disconnect_reason_codes() {
    for code in [0x01, 0x10, 0x84, 0x85, 0x91, 0x92, 0xA3, 0xFF] {
        check_malformed(
            &[0xE0, 0x01, code],
            DecodeError::InvalidDisconnectReasonCode,
        );
    }
    check_malformed(
        &[0xE0, 0x05, 0x00, 0x03, 0x23, 0x00, 0x01],
        DecodeError::PropertyNotAllowed,
    );
    assert_eq!(
        DecodeError::InvalidDisconnectReasonCode.rule_v5(),
        Some("MQTT-3.14.2-1")
    );
}

#[test]
fn mqtt5_3_15_2_1_auth_reason_codes() {
    for code in [0x01, 0x04, 0x80, 0x87, 0xFF] {
        check_malformed(&[0xF0, 0x01, code], DecodeError::InvalidAuthReasonCode);
    }
    check_malformed(
        &[0xF0, 0x07, 0x18, 0x05, 0x11, 0x00, 0x00, 0x00, 0x01],
        DecodeError::PropertyNotAllowed,
    );
    assert_eq!(
        DecodeError::InvalidAuthReasonCode.rule_v5(),
        Some("MQTT-3.15.2-1")
    );
}

#[test]
fn encoder_checks_properties_against_the_packet() {
    let props = [Property::SessionExpiryInterval(1)];
    let mut p = Publish::new(topic("t"), QosPid::AtMostOnce, b"");
    p.properties = Properties::new(&props);
    let mut out = [0xA5u8; 32];
    assert_eq!(
        Packet::Publish(p).encode(&mut out),
        Err(EncodeError::Invalid(DecodeError::PropertyNotAllowed))
    );
    assert!(out.iter().all(|&b| b == 0xA5));
}

#[test]
fn display_names_the_5_0_rule() {
    let e = DecodeError::ZeroTopicAlias;
    assert_eq!(e.to_string(), "Topic Alias 0 [MQTT-3.3.2-8]");
    assert_eq!(DecodeError::InvalidUtf8.rule_v5(), Some("MQTT-1.5.4-1"));
    assert_eq!(DecodeError::InvalidUtf8.rule(), Some("MQTT-1.5.3-1"));
    assert_eq!(DecodeError::PasswordWithoutUsername.rule_v5(), None);
}
