//! Exact-byte vectors for all 14 packet types, both directions.
//!
//! Every expected byte string below was written by hand from the MQTT 3.1.1 specification
//! (fixed header 2.2, variable headers and payloads in chapter 3), not produced by the encoder.
//! Each vector is checked by `check_vector`: the packet encodes to exactly these bytes, and
//! the bytes decode to exactly this packet whole, one byte at a time, and followed by the
//! bytes of a next packet.
#![allow(clippy::unwrap_used)]

mod common;

use common::{
    check_decode, check_encode, check_vector, connack, connect, pid, publish, suback, subscribe,
    unsubscribe, will,
};
use mqtt_proto::{ConnectReturnCode, Decoder, FixedHeader, Frame, Packet, PacketType, QoS, QosPid};

// ---------------------------------------------------------------------------------------------
// CONNECT (3.1)
// ---------------------------------------------------------------------------------------------

#[test]
fn mqtt_3_1_connect_empty_client_id_clean_session_keep_alive_0() {
    // [MQTT-3.1.3-7]: a zero-byte client id goes with CleanSession = 1.
    let bytes = [
        0x10, 0x0C, // CONNECT, remaining length 12
        0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
        0x04, // protocol level 4
        0x02, // flags: clean session
        0x00, 0x00, // keep alive 0 (off)
        0x00, 0x00, // client id ""
    ];
    check_vector(&bytes, &Packet::Connect(connect(true, 0, "")));
}

#[test]
fn mqtt_3_1_connect_client_id_no_clean_session_keep_alive_60() {
    let bytes = [
        0x10, 0x0F, //
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, //
        0x00, // flags: nothing
        0x00, 0x3C, // keep alive 60
        0x00, 0x03, b'a', b'b', b'c',
    ];
    check_vector(&bytes, &Packet::Connect(connect(false, 60, "abc")));
}

#[test]
fn mqtt_3_1_2_9_connect_will_qos_1_retain() {
    let bytes = [
        0x10, 0x18, // remaining length 24
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, //
        0x2E, // will retain 0x20 | will QoS 1 (0x08) | will flag 0x04 | clean session 0x02
        0x00, 0x0A, // keep alive 10
        0x00, 0x02, b'c', b'1', // client id
        0x00, 0x03, b'w', b'/', b't', // will topic
        0x00, 0x03, b'b', b'y', b'e', // will message
    ];
    let mut c = connect(true, 10, "c1");
    c.will = Some(will("w/t", b"bye", QoS::AtLeastOnce, true));
    check_vector(&bytes, &Packet::Connect(c));
}

#[test]
fn mqtt_3_1_2_14_connect_will_qos_2_not_retained() {
    let bytes = [
        0x10, 0x14, // remaining length 20
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, //
        0x16, // will QoS 2 (0x10) | will flag | clean session
        0x00, 0x00, //
        0x00, 0x01, b'x', // client id
        0x00, 0x01, b't', // will topic
        0x00, 0x02, 0x00, 0xFF, // will message (binary)
    ];
    let mut c = connect(true, 0, "x");
    c.will = Some(will("t", &[0x00, 0xFF], QoS::ExactlyOnce, false));
    check_vector(&bytes, &Packet::Connect(c));
}

#[test]
fn mqtt_3_1_2_9_connect_will_qos_0_empty_message() {
    let bytes = [
        0x10, 0x11, // remaining length 17
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, //
        0x06, // will flag | clean session
        0x00, 0x05, //
        0x00, 0x00, // client id ""
        0x00, 0x01, b'w', // will topic
        0x00, 0x00, // will message: zero bytes
    ];
    let mut c = connect(true, 5, "");
    c.will = Some(will("w", b"", QoS::AtMostOnce, false));
    check_vector(&bytes, &Packet::Connect(c));
}

#[test]
fn mqtt_3_1_2_19_connect_username_and_password() {
    let bytes = [
        0x10, 0x19, // remaining length 25
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, //
        0xC2, // user name 0x80 | password 0x40 | clean session
        0xFF, 0xFF, // keep alive 65535
        0x00, 0x02, b'i', b'd', // client id
        0x00, 0x04, b'u', b's', b'e', b'r', // user name
        0x00, 0x03, 0x00, 0xFF, 0x10, // password (binary data)
    ];
    let mut c = connect(true, 0xFFFF, "id");
    c.username = Some("user");
    c.password = Some(&[0x00, 0xFF, 0x10]);
    check_vector(&bytes, &Packet::Connect(c));
}

#[test]
fn mqtt_3_1_2_19_connect_username_without_password() {
    let bytes = [
        0x10, 0x12, // remaining length 18
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, //
        0x80, // user name only
        0x00, 0x1E, //
        0x00, 0x01, b'c', //
        0x00, 0x03, b'b', b'o', b'b',
    ];
    let mut c = connect(false, 30, "c");
    c.username = Some("bob");
    check_vector(&bytes, &Packet::Connect(c));
}

#[test]
fn mqtt_3_1_3_1_connect_all_fields_in_order() {
    // Client id, will topic, will message, user name, password [MQTT-3.1.3-1].
    let bytes = [
        0x10, 0x1F, // remaining length 31
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, //
        0xF6, // user | password | will retain | will QoS 2 | will | clean = 0x80|0x40|0x20|0x10|0x04|0x02
        0x00, 0x01, //
        0x00, 0x02, b'i', b'd', //
        0x00, 0x02, b'w', b't', //
        0x00, 0x02, b'w', b'm', //
        0x00, 0x02, b'u', b'n', //
        0x00, 0x03, b'p', b'w', b'd',
    ];
    let mut c = connect(true, 1, "id");
    c.will = Some(will("wt", b"wm", QoS::ExactlyOnce, true));
    c.username = Some("un");
    c.password = Some(b"pwd");
    check_vector(&bytes, &Packet::Connect(c));
}

#[test]
fn mqtt_1_5_3_connect_non_ascii_strings() {
    let bytes = [
        0x10, 0x1F, // remaining length 31
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, //
        0x86, // user name | will | clean session
        0x01, 0x2C, // keep alive 300
        0x00, 0x02, 0xC3, 0xBC, // client id "ü"
        0x00, 0x05, 0xE2, 0x82, 0xAC, b'/', b'x', // will topic "€/x"
        0x00, 0x00, // will message ""
        0x00, 0x06, 0xE6, 0x97, 0xA5, 0xE6, 0x9C, 0xAC, // user name "日本"
    ];
    let mut c = connect(true, 300, "ü");
    c.will = Some(will("€/x", b"", QoS::AtMostOnce, false));
    c.username = Some("日本");
    check_vector(&bytes, &Packet::Connect(c));
}

#[test]
fn mqtt_1_5_3_3_connect_client_id_with_bom_is_kept() {
    // U+FEFF (EF BB BF) is a character like any other: not skipped, not stripped.
    let bytes = [
        0x10, 0x10, // remaining length 16
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x00, //
        0x00, 0x04, 0xEF, 0xBB, 0xBF, b'a',
    ];
    check_vector(&bytes, &Packet::Connect(connect(true, 0, "\u{FEFF}a")));
}

// ---------------------------------------------------------------------------------------------
// CONNACK (3.2)
// ---------------------------------------------------------------------------------------------

#[test]
fn mqtt_3_2_connack_accepted_without_session() {
    check_vector(
        &[0x20, 0x02, 0x00, 0x00],
        &connack(false, ConnectReturnCode::Accepted),
    );
}

#[test]
fn mqtt_3_2_2_2_connack_accepted_with_session_present() {
    check_vector(
        &[0x20, 0x02, 0x01, 0x00],
        &connack(true, ConnectReturnCode::Accepted),
    );
}

#[test]
fn mqtt_3_2_2_3_connack_every_refusal_code() {
    let table = [
        (0x01, ConnectReturnCode::UnacceptableProtocolVersion),
        (0x02, ConnectReturnCode::IdentifierRejected),
        (0x03, ConnectReturnCode::ServerUnavailable),
        (0x04, ConnectReturnCode::BadUsernameOrPassword),
        (0x05, ConnectReturnCode::NotAuthorized),
    ];
    for (byte, code) in table {
        check_vector(&[0x20, 0x02, 0x00, byte], &connack(false, code));
    }
}

// ---------------------------------------------------------------------------------------------
// PUBLISH (3.3)
// ---------------------------------------------------------------------------------------------

#[test]
fn mqtt_3_3_publish_qos_0() {
    let bytes = [0x30, 0x07, 0x00, 0x03, b'a', b'/', b'b', b'h', b'i'];
    check_vector(
        &bytes,
        &publish(false, QosPid::AtMostOnce, false, "a/b", b"hi"),
    );
}

#[test]
fn mqtt_3_3_publish_qos_0_retain_empty_payload() {
    let bytes = [0x31, 0x03, 0x00, 0x01, b't'];
    check_vector(&bytes, &publish(false, QosPid::AtMostOnce, true, "t", b""));
}

#[test]
fn mqtt_3_3_publish_qos_1_retain() {
    let bytes = [
        0x33, 0x09, 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x0A, b'h', b'i',
    ];
    check_vector(
        &bytes,
        &publish(false, QosPid::AtLeastOnce(pid(10)), true, "a/b", b"hi"),
    );
}

#[test]
fn mqtt_3_3_1_1_publish_qos_1_dup() {
    let bytes = [0x3A, 0x06, 0x00, 0x01, b't', 0x01, 0x02, 0x55];
    check_vector(
        &bytes,
        &publish(true, QosPid::AtLeastOnce(pid(0x0102)), false, "t", &[0x55]),
    );
}

#[test]
fn mqtt_3_3_publish_qos_2() {
    let bytes = [0x34, 0x08, 0x00, 0x02, b'x', b'y', 0x00, 0x01, 0x00, 0xFF];
    check_vector(
        &bytes,
        &publish(
            false,
            QosPid::ExactlyOnce(pid(1)),
            false,
            "xy",
            &[0x00, 0xFF],
        ),
    );
}

#[test]
fn mqtt_3_3_1_1_publish_qos_2_dup_retain_max_packet_id() {
    let bytes = [0x3D, 0x05, 0x00, 0x01, b't', 0xFF, 0xFF];
    check_vector(
        &bytes,
        &publish(true, QosPid::ExactlyOnce(pid(0xFFFF)), true, "t", b""),
    );
}

#[test]
fn mqtt_4_7_3_publish_topic_with_dollar_space_and_empty_levels() {
    let bytes = [
        0x30, 0x0A, 0x00, 0x08, b'$', b'S', b'Y', b'S', b'/', b' ', b'/', b'/',
    ];
    check_vector(
        &bytes,
        &publish(false, QosPid::AtMostOnce, false, "$SYS/ //", b""),
    );
}

#[test]
fn mqtt_1_5_3_publish_topic_with_four_byte_utf8() {
    // "🌡/°C": F0 9F 8C A1, '/', C2 B0, 'C'
    let bytes = [
        0x30, 0x0A, 0x00, 0x08, 0xF0, 0x9F, 0x8C, 0xA1, b'/', 0xC2, 0xB0, b'C',
    ];
    check_vector(
        &bytes,
        &publish(false, QosPid::AtMostOnce, false, "🌡/°C", b""),
    );
}

#[test]
fn mqtt_1_5_3_3_publish_topic_bom_is_kept_not_stripped() {
    let bytes = [0x30, 0x06, 0x00, 0x04, 0xEF, 0xBB, 0xBF, b't'];
    let expected = publish(false, QosPid::AtMostOnce, false, "\u{FEFF}t", b"");
    check_vector(&bytes, &expected);
    match Decoder::new().decode(&bytes) {
        Ok(Some((Packet::Publish(p), _))) => assert_eq!(p.topic.as_str().as_bytes(), &bytes[4..]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn mqtt_3_3_publish_payload_of_200_bytes_two_byte_remaining_length() {
    // Remaining length 2 + 1 + 200 = 203 = 0x4B + 1 * 128: bytes CB 01.
    let payload: &'static [u8] = Vec::leak((0..200u8).collect::<Vec<u8>>());
    let mut bytes = vec![0x30, 0xCB, 0x01, 0x00, 0x01, b'p'];
    bytes.extend_from_slice(payload);
    check_vector(
        &bytes,
        &publish(false, QosPid::AtMostOnce, false, "p", payload),
    );
}

// ---------------------------------------------------------------------------------------------
// PUBACK, PUBREC, PUBREL, PUBCOMP (3.4 - 3.7)
// ---------------------------------------------------------------------------------------------

#[test]
fn mqtt_3_4_puback() {
    check_vector(&[0x40, 0x02, 0x00, 0x01], &Packet::PubAck(pid(1)));
    check_vector(&[0x40, 0x02, 0xAB, 0xCD], &Packet::PubAck(pid(0xABCD)));
}

#[test]
fn mqtt_3_5_pubrec() {
    check_vector(&[0x50, 0x02, 0x12, 0x34], &Packet::PubRec(pid(0x1234)));
}

#[test]
fn mqtt_3_6_1_1_pubrel_flags_0010() {
    check_vector(&[0x62, 0x02, 0x00, 0xFF], &Packet::PubRel(pid(0x00FF)));
}

#[test]
fn mqtt_3_7_pubcomp() {
    check_vector(&[0x70, 0x02, 0xFF, 0xFF], &Packet::PubComp(pid(0xFFFF)));
}

// ---------------------------------------------------------------------------------------------
// SUBSCRIBE, SUBACK (3.8, 3.9)
// ---------------------------------------------------------------------------------------------

#[test]
fn mqtt_3_8_1_1_subscribe_one_filter() {
    let bytes = [0x82, 0x06, 0x0A, 0x0B, 0x00, 0x01, b'#', 0x01];
    check_vector(&bytes, &subscribe(0x0A0B, &[("#", QoS::AtLeastOnce)]));
}

#[test]
fn mqtt_3_8_3_subscribe_several_filters() {
    let bytes = [
        0x82, 0x14, // SUBSCRIBE, remaining length 20
        0x00, 0x01, // packet id 1
        0x00, 0x03, b'a', b'/', b'b', 0x00, // "a/b" QoS 0
        0x00, 0x03, b'c', b'/', b'#', 0x01, // "c/#" QoS 1
        0x00, 0x03, b'+', b'/', b'd', 0x02, // "+/d" QoS 2
    ];
    check_vector(
        &bytes,
        &subscribe(
            1,
            &[
                ("a/b", QoS::AtMostOnce),
                ("c/#", QoS::AtLeastOnce),
                ("+/d", QoS::ExactlyOnce),
            ],
        ),
    );
}

#[test]
fn mqtt_3_8_3_subscribe_non_ascii_filter_and_dollar_filter() {
    let bytes = [
        0x82, 0x13, // remaining length 19
        0x00, 0x05, //
        0x00, 0x05, 0xC3, 0xA9, b'/', b'+', b'/', 0x00, // "é/+/" QoS 0 (5 bytes + 1)
        0x00, 0x06, b'$', b'S', b'Y', b'S', b'/', b'#', 0x02,
    ];
    check_vector(
        &bytes,
        &subscribe(
            5,
            &[("é/+/", QoS::AtMostOnce), ("$SYS/#", QoS::ExactlyOnce)],
        ),
    );
}

#[test]
fn mqtt_3_9_suback_every_return_code() {
    let bytes = [0x90, 0x06, 0x00, 0x01, 0x00, 0x01, 0x02, 0x80];
    check_vector(&bytes, &suback(1, &[0x00, 0x01, 0x02, 0x80]));
}

#[test]
fn mqtt_3_9_3_suback_failure_0x80() {
    check_vector(&[0x90, 0x03, 0x00, 0x07, 0x80], &suback(7, &[0x80]));
}

#[test]
fn mqtt_3_9_3_suback_codes_read_back_in_order() {
    use mqtt_proto::SubAckReturnCode;
    let bytes = [0x90, 0x05, 0x12, 0x34, 0x02, 0x80, 0x00];
    let Ok(Some((Packet::SubAck(ack), 7))) = Decoder::new().decode(&bytes) else {
        panic!("SUBACK vector does not decode");
    };
    assert_eq!(ack.packet_id, pid(0x1234));
    let codes: Vec<SubAckReturnCode> = ack.codes.iter().collect();
    assert_eq!(
        codes,
        [
            SubAckReturnCode::Success(QoS::ExactlyOnce),
            SubAckReturnCode::Failure,
            SubAckReturnCode::Success(QoS::AtMostOnce),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// UNSUBSCRIBE, UNSUBACK (3.10, 3.11)
// ---------------------------------------------------------------------------------------------

#[test]
fn mqtt_3_10_1_1_unsubscribe_one_filter() {
    let bytes = [0xA2, 0x07, 0x00, 0x09, 0x00, 0x03, b'a', b'/', b'b'];
    check_vector(&bytes, &unsubscribe(9, &["a/b"]));
}

#[test]
fn mqtt_3_10_3_unsubscribe_several_filters() {
    let bytes = [
        0xA2, 0x0F, // UNSUBSCRIBE, remaining length 15
        0x00, 0x02, // packet id 2
        0x00, 0x03, b'a', b'/', b'b', //
        0x00, 0x03, b'c', b'/', b'#', //
        0x00, 0x01, b'+',
    ];
    check_vector(&bytes, &unsubscribe(2, &["a/b", "c/#", "+"]));
}

#[test]
fn mqtt_3_11_unsuback() {
    check_vector(&[0xB0, 0x02, 0x00, 0x02], &Packet::UnsubAck(pid(2)));
}

// ---------------------------------------------------------------------------------------------
// PINGREQ, PINGRESP, DISCONNECT (3.12 - 3.14)
// ---------------------------------------------------------------------------------------------

#[test]
fn mqtt_3_12_pingreq() {
    check_vector(&[0xC0, 0x00], &Packet::PingReq);
}

#[test]
fn mqtt_3_13_pingresp() {
    check_vector(&[0xD0, 0x00], &Packet::PingResp);
}

#[test]
fn mqtt_3_14_disconnect() {
    check_vector(&[0xE0, 0x00], &Packet::Disconnect);
}

// ---------------------------------------------------------------------------------------------
// Remaining length (2.2.3, Table 2.4)
// ---------------------------------------------------------------------------------------------

/// A QoS 0 PUBLISH to "t" whose remaining length is exactly `remaining` (>= 3).
fn publish_with_remaining_length(remaining: usize) -> (Vec<u8>, &'static [u8]) {
    let payload: &'static [u8] = Vec::leak(vec![0x5A; remaining - 3]);
    (vec![0x00, 0x01, b't'], payload)
}

/// Boundaries of Table 2.4 that a buffer can hold, with their hand-written encodings.
const LENGTH_BOUNDARIES: &[(usize, &[u8])] = &[
    (127, &[0x7F]),
    (128, &[0x80, 0x01]),
    (16_383, &[0xFF, 0x7F]),
    (16_384, &[0x80, 0x80, 0x01]),
    (2_097_151, &[0xFF, 0xFF, 0x7F]),
    (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
];

#[test]
fn mqtt_2_2_3_remaining_length_0() {
    // The length field alone: PINGREQ's remaining length is 0, one byte 0x00.
    check_vector(&[0xC0, 0x00], &Packet::PingReq);
    assert_eq!(
        Decoder::new().frame(&[0xC0, 0x00]),
        Ok(Frame::Complete(FixedHeader {
            packet_type: PacketType::PingReq,
            flags: 0,
            remaining_length: 0,
            header_len: 2,
        }))
    );
    // DISCONNECT and PINGRESP too, each followed by the next packet.
    assert_eq!(
        Decoder::new().decode(&[0xE0, 0x00, 0xD0, 0x00]),
        Ok(Some((Packet::Disconnect, 2)))
    );
}

#[test]
fn mqtt_2_2_3_remaining_length_boundaries_encode_and_decode() {
    for &(remaining, field) in LENGTH_BOUNDARIES {
        let (variable_header, payload) = publish_with_remaining_length(remaining);
        let mut bytes = vec![0x30];
        bytes.extend_from_slice(field);
        bytes.extend_from_slice(&variable_header);
        bytes.extend_from_slice(payload);
        assert_eq!(bytes.len(), 1 + field.len() + remaining);
        let packet = publish(false, QosPid::AtMostOnce, false, "t", payload);
        check_encode(&packet, &bytes);
        let decoder = Decoder::new();
        assert_eq!(decoder.decode(&bytes), Ok(Some((packet, bytes.len()))));
        match decoder.frame(&bytes) {
            Ok(Frame::Complete(h)) => {
                assert_eq!(h.packet_type, PacketType::Publish);
                assert_eq!(h.remaining_length as usize, remaining);
                assert_eq!(h.header_len, 1 + field.len());
                assert_eq!(h.total_len(), bytes.len());
            }
            other => panic!("frame for remaining length {remaining}: {other:?}"),
        }
        // The header alone: incomplete, needing exactly the whole body.
        let header_only = &bytes[..1 + field.len()];
        assert_eq!(
            decoder.frame(header_only),
            Ok(Frame::Incomplete {
                needed: core::num::NonZeroUsize::new(remaining)
            }),
            "remaining length {remaining}"
        );
        assert_eq!(decoder.decode(header_only), Ok(None));
    }
}

#[test]
fn mqtt_2_2_3_small_boundary_vectors_decode_three_ways() {
    for &(remaining, field) in &LENGTH_BOUNDARIES[..4] {
        let (variable_header, payload) = publish_with_remaining_length(remaining);
        let mut bytes = vec![0x31];
        bytes.extend_from_slice(field);
        bytes.extend_from_slice(&variable_header);
        bytes.extend_from_slice(payload);
        check_decode(
            &bytes,
            &publish(false, QosPid::AtMostOnce, true, "t", payload),
        );
    }
}

#[test]
fn mqtt_2_2_3_largest_remaining_length_header_is_incomplete_with_exact_need() {
    // 268,435,455 = FF FF FF 7F. Only the header is given: no 256 MiB buffer is needed.
    let decoder = Decoder::new();
    let header = [0x30, 0xFF, 0xFF, 0xFF, 0x7F];
    assert_eq!(
        decoder.frame(&header),
        Ok(Frame::Incomplete {
            needed: core::num::NonZeroUsize::new(268_435_455)
        })
    );
    assert_eq!(decoder.decode(&header), Ok(None));
    // With a few body bytes, the need shrinks by as many.
    let mut more = header.to_vec();
    more.extend_from_slice(&[0x00, 0x01, b't']);
    assert_eq!(
        decoder.frame(&more),
        Ok(Frame::Incomplete {
            needed: core::num::NonZeroUsize::new(268_435_452)
        })
    );
    assert_eq!(decoder.decode(&more), Ok(None));
    assert_eq!(mqtt_proto::MAX_REMAINING_LENGTH, 268_435_455);
}

#[test]
fn mqtt_2_2_3_every_large_boundary_header_is_incomplete_with_exact_need() {
    let decoder = Decoder::new();
    let table: &[(usize, &[u8])] = &[
        (16_384, &[0x80, 0x80, 0x01]),
        (2_097_151, &[0xFF, 0xFF, 0x7F]),
        (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
        (268_435_455, &[0xFF, 0xFF, 0xFF, 0x7F]),
    ];
    for &(remaining, field) in table {
        for first in [0x30u8, 0x82, 0x10] {
            let mut header = vec![first];
            header.extend_from_slice(field);
            assert_eq!(
                decoder.frame(&header),
                Ok(Frame::Incomplete {
                    needed: core::num::NonZeroUsize::new(remaining)
                }),
                "{header:02X?}"
            );
            assert_eq!(decoder.decode(&header), Ok(None));
            // Every shorter prefix of the length field is incomplete too, never an error.
            for n in 0..header.len() {
                assert_eq!(decoder.decode(&header[..n]), Ok(None));
                assert!(matches!(
                    decoder.frame(&header[..n]),
                    Ok(Frame::Incomplete { .. })
                ));
            }
        }
    }
}
