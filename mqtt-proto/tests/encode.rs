//! Encoding: caller buffers, exact sizes, and content the format cannot carry.
#![allow(clippy::unwrap_used)]

mod common;

use common::{check_encode, connect, filter, pid, publish, suback, subscribe, unsubscribe, will};
use mqtt_proto::{
    ConnectReturnCode, DecodeError, EncodeError, Packet, QoS, QosPid, Subscribe, SubscribeFilters,
    TopicFilters, Unsubscribe,
};

/// One packet of each type (the hand-written vectors live in `vectors.rs`; here only sizes and
/// buffer behaviour matter).
fn one_of_each() -> Vec<Packet<'static>> {
    let mut c = connect(true, 60, "client");
    c.will = Some(will("w/t", b"gone", QoS::ExactlyOnce, true));
    c.username = Some("user");
    c.password = Some(b"secret");
    vec![
        Packet::Connect(c),
        common::connack(true, ConnectReturnCode::Accepted),
        publish(
            true,
            QosPid::ExactlyOnce(pid(7)),
            true,
            "a/b",
            b"payload bytes",
        ),
        Packet::PubAck(pid(1)),
        Packet::PubRec(pid(2)),
        Packet::PubRel(pid(3)),
        Packet::PubComp(pid(4)),
        subscribe(5, &[("a/+", QoS::AtLeastOnce), ("#", QoS::AtMostOnce)]),
        suback(5, &[0x01, 0x80]),
        unsubscribe(6, &["a/+", "#"]),
        Packet::UnsubAck(pid(6)),
        Packet::PingReq,
        Packet::PingResp,
        Packet::Disconnect,
    ]
}

#[test]
fn encoded_len_equals_bytes_written_for_every_type() {
    for p in one_of_each() {
        let len = p.encoded_len();
        let mut buf = vec![0u8; len + 16];
        assert_eq!(p.encode(&mut buf), Ok(len), "{p:?}");
    }
}

#[test]
fn short_buffers_write_nothing_and_report_required() {
    for p in one_of_each() {
        let len = p.encoded_len();
        for n in 0..len {
            let mut buf = vec![0xEE; n];
            assert_eq!(
                p.encode(&mut buf),
                Err(EncodeError::BufferTooSmall { required: len }),
                "{p:?} into {n} bytes"
            );
            assert!(
                buf.iter().all(|&b| b == 0xEE),
                "{p:?}: a failed encode wrote"
            );
        }
    }
}

#[test]
fn encode_then_decode_gives_the_packet_back_for_every_type() {
    for p in one_of_each() {
        let mut buf = vec![0u8; p.encoded_len()];
        let n = p.encode(&mut buf).unwrap();
        common::check_decode(&buf[..n], &p);
    }
}

#[test]
fn packet_type_of_every_packet() {
    use mqtt_proto::PacketType::*;
    let types: Vec<_> = one_of_each().iter().map(Packet::packet_type).collect();
    assert_eq!(
        types,
        [
            Connect,
            ConnAck,
            Publish,
            PubAck,
            PubRec,
            PubRel,
            PubComp,
            Subscribe,
            SubAck,
            Unsubscribe,
            UnsubAck,
            PingReq,
            PingResp,
            Disconnect
        ]
    );
}

/// Checks that `p` is refused with `EncodeError::Invalid(error)` and writes nothing, whatever
/// the buffer size.
fn check_invalid(p: &Packet<'_>, error: DecodeError) {
    for size in [0usize, 16, 1 << 17, 1 << 18] {
        let mut buf = vec![0xEE; size];
        assert_eq!(
            p.encode(&mut buf),
            Err(EncodeError::Invalid(error)),
            "buffer of {size} bytes"
        );
        assert!(buf.iter().all(|&b| b == 0xEE), "an invalid encode wrote");
    }
}

#[test]
fn mqtt_1_5_3_2_null_character_in_client_id_is_invalid() {
    check_invalid(
        &Packet::Connect(connect(true, 0, "a\0b")),
        DecodeError::NullCharacter,
    );
    check_invalid(
        &Packet::Connect(connect(true, 0, "\0")),
        DecodeError::NullCharacter,
    );
}

#[test]
fn mqtt_1_5_3_2_null_character_in_username_is_invalid() {
    let mut c = connect(true, 0, "id");
    c.username = Some("us\0er");
    check_invalid(&Packet::Connect(c), DecodeError::NullCharacter);
}

#[test]
fn mqtt_1_5_3_string_over_65535_bytes_is_invalid() {
    let long: &'static str = String::leak("x".repeat(65_536));
    check_invalid(
        &Packet::Connect(connect(true, 0, long)),
        DecodeError::StringTooLong,
    );
    let mut c = connect(true, 0, "id");
    c.username = Some(long);
    check_invalid(&Packet::Connect(c), DecodeError::StringTooLong);
}

#[test]
fn mqtt_1_5_3_string_of_65535_bytes_is_valid() {
    let max: &'static str = String::leak("x".repeat(65_535));
    let p = Packet::Connect(connect(true, 0, max));
    let mut expected = vec![0x10, 0x8B, 0x80, 0x04]; // remaining length 10 + 2 + 65535 = 65547
    expected.extend_from_slice(&[0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x00]);
    expected.extend_from_slice(&[0xFF, 0xFF]);
    expected.extend_from_slice(max.as_bytes());
    check_encode(&p, &expected);
}

#[test]
fn mqtt_1_5_3_binary_field_over_65535_bytes_is_invalid() {
    let long: &'static [u8] = Vec::leak(vec![0u8; 65_536]);
    let mut c = connect(true, 0, "id");
    c.username = Some("u");
    c.password = Some(long);
    check_invalid(&Packet::Connect(c), DecodeError::StringTooLong);
    let mut c = connect(true, 0, "id");
    c.will = Some(will("t", long, QoS::AtMostOnce, false));
    check_invalid(&Packet::Connect(c), DecodeError::StringTooLong);
}

#[test]
fn mqtt_3_1_2_22_password_without_username_is_invalid() {
    let mut c = connect(true, 0, "id");
    c.password = Some(b"pw");
    check_invalid(&Packet::Connect(c), DecodeError::PasswordWithoutUsername);
}

#[test]
fn mqtt_3_1_3_7_empty_client_id_without_clean_session_is_invalid() {
    check_invalid(
        &Packet::Connect(connect(false, 0, "")),
        DecodeError::EmptyClientIdWithoutCleanSession,
    );
}

#[test]
fn mqtt_3_8_3_3_empty_subscribe_is_invalid() {
    let p = Packet::Subscribe(Subscribe {
        packet_id: pid(1),
        filters: SubscribeFilters::new(&[]),
    });
    check_invalid(&p, DecodeError::EmptySubscribe);
}

#[test]
fn mqtt_3_10_3_2_empty_unsubscribe_is_invalid() {
    let p = Packet::Unsubscribe(Unsubscribe {
        packet_id: pid(1),
        filters: TopicFilters::new(&[]),
    });
    check_invalid(&p, DecodeError::EmptyUnsubscribe);
}

#[test]
fn mqtt_3_3_publish_with_payload_making_a_four_byte_length() {
    // Remaining length 2 + 1 + 2,097,149 = 2,097,152 = 80 80 80 01.
    let payload: &'static [u8] = Vec::leak(vec![0x11; 2_097_149]);
    let p = publish(false, QosPid::AtMostOnce, false, "t", payload);
    assert_eq!(p.encoded_len(), 1 + 4 + 2_097_152);
    let mut buf = vec![0u8; p.encoded_len()];
    assert_eq!(p.encode(&mut buf), Ok(buf.len()));
    assert_eq!(&buf[..8], &[0x30, 0x80, 0x80, 0x80, 0x01, 0x00, 0x01, b't']);
}

#[test]
fn subscribe_filter_lists_compare_by_content() {
    let list = [(filter("a/+"), QoS::AtLeastOnce)];
    let a = SubscribeFilters::new(&list);
    let b = SubscribeFilters::from(&list);
    assert_eq!(a, b);
    assert_eq!(a.len(), 1);
    assert_eq!(a.iter().collect::<Vec<_>>(), list);
}

#[test]
fn mqtt_3_3_1_2_dup_on_qos_0_is_invalid() {
    check_invalid(
        &publish(true, QosPid::AtMostOnce, false, "t", b""),
        DecodeError::DupWithQoS0,
    );
}

#[test]
fn mqtt_3_2_2_4_connack_session_present_with_refusal_is_invalid() {
    check_invalid(
        &common::connack(true, ConnectReturnCode::NotAuthorized),
        DecodeError::ConnAckSessionPresentWithError,
    );
}

#[test]
fn mqtt_2_2_3_largest_remaining_length_is_sized_and_one_more_is_invalid() {
    // `vec![0; n]` asks the allocator for zeroed memory, which the system hands out as
    // untouched pages: neither test below reads or writes the payload, so no 256 MiB is used.
    // Remaining length 2 + 1 + 268,435,452 = 268,435,455 (FF FF FF 7F).
    let payload = vec![0u8; 268_435_452];
    let p = Packet::Publish(mqtt_proto::Publish {
        dup: false,
        qos_pid: QosPid::AtMostOnce,
        retain: false,
        topic: common::topic("t"),
        payload: &payload,
    });
    assert_eq!(p.encoded_len(), 1 + 4 + 268_435_455);
    let mut small = [0u8; 16];
    assert_eq!(
        p.encode(&mut small),
        Err(EncodeError::BufferTooSmall {
            required: 1 + 4 + 268_435_455
        })
    );
    drop(payload);

    // One byte more does not fit the 4-byte remaining length.
    let payload = vec![0u8; 268_435_453];
    let p = Packet::Publish(mqtt_proto::Publish {
        dup: false,
        qos_pid: QosPid::AtMostOnce,
        retain: false,
        topic: common::topic("t"),
        payload: &payload,
    });
    assert_eq!(
        p.encode(&mut small),
        Err(EncodeError::Invalid(DecodeError::PacketTooLarge))
    );
    assert_eq!(small, [0u8; 16]);
}
