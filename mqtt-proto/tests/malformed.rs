//! Malformed input: each vector breaks one rule and must give the `DecodeError` that names it.
//!
//! Vectors are hand-written bytes. Errors proven by the first byte or the length field are
//! checked to come before any body arrives; errors in the body are checked whole, byte by
//! byte (never another error, never a packet) and followed by a next packet.
#![allow(clippy::unwrap_used)]

mod common;

use common::{check_decode, check_malformed, check_malformed_at, check_malformed_at_with};
use mqtt_proto::{DecodeError, Decoder, Frame, Packet};

use DecodeError::*;

// ---------------------------------------------------------------------------------------------
// Fixed header: reserved flags, packet type, QoS and DUP [MQTT-2.2.2-1], [MQTT-2.2.2-2]
// ---------------------------------------------------------------------------------------------

#[test]
fn mqtt_2_2_2_1_reserved_flags_must_be_zero_for_each_type() {
    // Types whose flags are all reserved as 0000, each with every non-zero flag nibble.
    for type_nibble in [1u8, 2, 4, 5, 7, 9, 11, 12, 13, 14] {
        for flags in 1u8..=15 {
            let first = type_nibble << 4 | flags;
            check_malformed_at(&[first, 0x00, 0x00, 0x00], InvalidFlags, 1);
        }
    }
}

#[test]
fn mqtt_3_6_1_1_pubrel_flags_not_0010_are_malformed() {
    for flags in (0u8..=15).filter(|&f| f != 0b0010) {
        check_malformed_at(&[0x60 | flags, 0x02, 0x00, 0x01], InvalidFlags, 1);
    }
}

#[test]
fn mqtt_3_8_1_1_subscribe_flags_not_0010_are_malformed() {
    for flags in (0u8..=15).filter(|&f| f != 0b0010) {
        check_malformed_at(
            &[0x80 | flags, 0x06, 0x00, 0x01, 0x00, 0x01, b'#', 0x00],
            InvalidFlags,
            1,
        );
    }
}

#[test]
fn mqtt_3_10_1_1_unsubscribe_flags_not_0010_are_malformed() {
    for flags in (0u8..=15).filter(|&f| f != 0b0010) {
        check_malformed_at(
            &[0xA0 | flags, 0x05, 0x00, 0x01, 0x00, 0x01, b'#'],
            InvalidFlags,
            1,
        );
    }
}

#[test]
fn mqtt_2_2_1_reserved_packet_types_0_and_15() {
    for flags in 0u8..=15 {
        check_malformed_at(&[flags, 0x00], ReservedPacketType, 1);
        check_malformed_at(&[0xF0 | flags, 0x00], ReservedPacketType, 1);
    }
}

#[test]
fn mqtt_3_3_1_4_publish_qos_3_is_malformed() {
    // QoS bits 11, with and without RETAIN and DUP.
    for first in [0x36u8, 0x37, 0x3E, 0x3F] {
        check_malformed_at(&[first, 0x05, 0x00, 0x01, b't', 0x00, 0x01], InvalidQoS, 1);
    }
}

#[test]
fn mqtt_3_3_1_2_publish_dup_with_qos_0_is_malformed() {
    for first in [0x38u8, 0x39] {
        check_malformed_at(&[first, 0x03, 0x00, 0x01, b't'], DupWithQoS0, 1);
    }
}

#[test]
fn mqtt_2_2_2_2_bad_first_byte_is_rejected_with_nothing_else_given() {
    let decoder = Decoder::new();
    for (byte, error) in [
        (0x00, ReservedPacketType),
        (0xF0, ReservedPacketType),
        (0x11, InvalidFlags),
        (0x60, InvalidFlags),
        (0x36, InvalidQoS),
        (0x38, DupWithQoS0),
    ] {
        assert_eq!(decoder.frame(&[byte]), Err(error), "{byte:#04X}");
        assert_eq!(decoder.decode(&[byte]), Err(error), "{byte:#04X}");
    }
}

// ---------------------------------------------------------------------------------------------
// Remaining length [2.2.3]
// ---------------------------------------------------------------------------------------------

#[test]
fn mqtt_2_2_3_remaining_length_with_a_fifth_byte_is_rejected() {
    // The fourth length byte still has its continuation bit set: a fifth would follow.
    check_malformed_at(
        &[0x30, 0x80, 0x80, 0x80, 0x80, 0x01],
        RemainingLengthTooLong,
        5,
    );
    check_malformed_at(
        &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
        RemainingLengthTooLong,
        5,
    );
    check_malformed_at(
        &[0xC0, 0x80, 0x80, 0x80, 0x80, 0x00],
        RemainingLengthTooLong,
        5,
    );
    check_malformed_at(&[0x82, 0xFF, 0xFF, 0xFF, 0x80], RemainingLengthTooLong, 5);
}

#[test]
fn mqtt_2_2_3_remaining_length_not_in_its_shortest_encoding_is_malformed() {
    // Table 2.4 gives each length one encoding: a last byte of 0 after a continuation byte
    // spells a smaller length in more bytes than it needs.
    check_malformed_at(&[0xC0, 0x80, 0x00], MalformedLength, 3); // 0 as 80 00
    check_malformed_at(&[0x40, 0x82, 0x00, 0x00, 0x01], MalformedLength, 3); // 2 as 82 00
    check_malformed_at(
        &[0x30, 0x85, 0x80, 0x00, 0x00, 0x01, b't'],
        MalformedLength,
        4,
    );
    check_malformed_at(
        &[0x30, 0x83, 0x80, 0x80, 0x00, 0x00, 0x01],
        MalformedLength,
        5,
    );
    // A zero byte in the middle is fine: 16,384 = 80 80 01.
    assert_eq!(
        Decoder::new().frame(&[0x30, 0x80, 0x80, 0x01]),
        Ok(Frame::Incomplete {
            needed: core::num::NonZeroUsize::new(16_384)
        })
    );
}

#[test]
fn remaining_length_maximum_check_agrees_with_the_complete_length() {
    // With the shortest encoding, a continuation bit proves the length is at least the next
    // power of 128, so refusing early never refuses a length that would fit.
    for max in [
        0u32, 1, 126, 127, 128, 129, 16_383, 16_384, 16_385, 2_097_151, 2_097_152,
    ] {
        let decoder = Decoder::with_max_remaining_length(max);
        for len in [
            0u32, 1, 127, 128, 129, 16_383, 16_384, 16_385, 2_097_151, 2_097_152,
        ] {
            let mut header = vec![0x30];
            let mut x = len;
            loop {
                let byte = (x % 128) as u8;
                x /= 128;
                if x > 0 {
                    header.push(byte | 0x80);
                } else {
                    header.push(byte);
                    break;
                }
            }
            for n in 1..header.len() {
                let early = decoder.frame(&header[..n]);
                if len <= max {
                    assert!(
                        matches!(early, Ok(Frame::Incomplete { needed: None })),
                        "{len} {max} {n}"
                    );
                }
            }
            let got = decoder.frame(&header);
            if len > max {
                assert_eq!(got, Err(PacketTooLarge), "len {len}, max {max}");
            } else if len < 2 {
                assert_eq!(got, Err(MalformedLength), "len {len}");
            } else {
                assert!(
                    matches!(got, Ok(Frame::Incomplete { needed: Some(n) }) if n.get() == len as usize)
                );
            }
        }
    }
}

#[test]
fn remaining_length_over_configured_maximum_is_refused_before_the_body() {
    let decoder = Decoder::with_max_remaining_length(16);
    // 17 > 16: refused with the two header bytes only.
    let mut bytes = vec![0x30, 0x11, 0x00, 0x01, b't'];
    bytes.extend_from_slice(&[0u8; 14]);
    check_malformed_at_with(&decoder, &bytes, PacketTooLarge, 2);
    // Exactly the maximum is accepted.
    let mut ok = vec![0x30, 0x10, 0x00, 0x01, b't'];
    ok.extend_from_slice(&[0x42; 13]);
    let payload = [0x42; 13];
    let expected = Packet::Publish(mqtt_proto::Publish {
        dup: false,
        qos_pid: mqtt_proto::QosPid::AtMostOnce,
        retain: false,
        topic: common::topic("t"),
        payload: &payload,
    });
    common::check_decode_with(&decoder, &ok, &expected);
}

#[test]
fn remaining_length_over_configured_maximum_multi_byte_field() {
    let decoder = Decoder::with_max_remaining_length(127);
    // 128 = 80 01: the error comes with the last length byte. A continuation bit alone proves
    // nothing yet: `80 00` would be a padded 0, malformed rather than too large.
    check_malformed_at_with(&decoder, &[0x30, 0x80, 0x01, 0x00], PacketTooLarge, 3);
    // 2,097,152 = 80 80 80 01 with a 1 MiB cap: known at the fourth length byte.
    let decoder = Decoder::with_max_remaining_length(1 << 20);
    check_malformed_at_with(&decoder, &[0x30, 0x80, 0x80, 0x80, 0x01], PacketTooLarge, 5);
    // 1,048,577 = 81 80 40 with a 1 MiB cap: only the last length byte proves it.
    check_malformed_at_with(&decoder, &[0x30, 0x81, 0x80, 0x40], PacketTooLarge, 4);
    // Exactly the cap, 1,048,576 = 80 80 40: incomplete, needing the whole body.
    assert_eq!(
        decoder.frame(&[0x30, 0x80, 0x80, 0x40]),
        Ok(Frame::Incomplete {
            needed: core::num::NonZeroUsize::new(1 << 20)
        })
    );
    // The cap applies to every type.
    let decoder = Decoder::with_max_remaining_length(4);
    check_malformed_at_with(
        &decoder,
        &[0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'#', 0x00],
        PacketTooLarge,
        2,
    );
    assert_eq!(
        decoder.frame(&[0x82, 0x05]),
        Err(PacketTooLarge),
        "frame refuses too"
    );
    assert!(matches!(
        decoder.frame(&[0x82, 0x04]),
        Ok(Frame::Incomplete { .. })
    ));
}

#[test]
fn remaining_length_too_long_for_content_is_malformed() {
    // Fixed-size packets with bytes left over.
    check_malformed(&[0x40, 0x03, 0x00, 0x01, 0x00], MalformedLength);
    check_malformed(&[0x50, 0x04, 0x00, 0x01, 0x00, 0x00], MalformedLength);
    check_malformed(&[0x62, 0x03, 0x00, 0x01, 0x00], MalformedLength);
    check_malformed(&[0x70, 0x03, 0x00, 0x01, 0x00], MalformedLength);
    check_malformed(&[0xB0, 0x03, 0x00, 0x01, 0x00], MalformedLength);
    check_malformed(&[0x20, 0x03, 0x00, 0x00, 0x00], MalformedLength);
    check_malformed(&[0xC0, 0x01, 0x00], MalformedLength);
    check_malformed(&[0xD0, 0x01, 0x00], MalformedLength);
    check_malformed(&[0xE0, 0x01, 0x00], MalformedLength);
    // CONNECT with a byte after the last field its flags announce.
    check_malformed(
        &[
            0x10, 0x0D, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x00, 0x00, 0x00,
            0x00,
        ],
        MalformedLength,
    );
    // UNSUBSCRIBE with one stray byte after its last filter.
    check_malformed(
        &[0xA2, 0x06, 0x00, 0x01, 0x00, 0x01, b'#', 0x00],
        MalformedLength,
    );
}

#[test]
fn remaining_length_too_short_for_content_is_malformed() {
    // Fixed-size packets cut short.
    check_malformed(&[0x40, 0x01, 0x00], MalformedLength);
    check_malformed(&[0x40, 0x00], MalformedLength);
    check_malformed(&[0x62, 0x01, 0x00], MalformedLength);
    check_malformed(&[0x20, 0x01, 0x00], MalformedLength);
    check_malformed(&[0xB0, 0x00], MalformedLength);
    // PUBLISH whose topic length runs past the remaining length.
    check_malformed(&[0x30, 0x03, 0x00, 0x05, b'a'], MalformedLength);
    // PUBLISH without room for its topic length.
    check_malformed(&[0x30, 0x01, 0x00], MalformedLength);
    check_malformed(&[0x30, 0x00], MalformedLength);
    // QoS 1 PUBLISH without its packet identifier.
    check_malformed(&[0x32, 0x03, 0x00, 0x01, b't'], MalformedLength);
    check_malformed(&[0x32, 0x04, 0x00, 0x01, b't', 0x00], MalformedLength);
    // SUBSCRIBE whose last filter has no QoS byte.
    check_malformed(
        &[
            0x82, 0x09, 0x00, 0x01, 0x00, 0x01, b'#', 0x00, 0x00, 0x01, b'+',
        ],
        MalformedLength,
    );
    // SUBSCRIBE without a whole packet identifier.
    check_malformed(&[0x82, 0x01, 0x00], MalformedLength);
    // CONNECT whose user name flag announces a field that is not there.
    check_malformed(
        &[
            0x10, 0x0C, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x82, 0x00, 0x00, 0x00, 0x00,
        ],
        MalformedLength,
    );
    // CONNECT cut in its variable header.
    check_malformed(&[0x10, 0x05, 0x00, 0x04, b'M', b'Q', b'T'], MalformedLength);
}

// ---------------------------------------------------------------------------------------------
// Packet identifiers [MQTT-2.3.1-1]
// ---------------------------------------------------------------------------------------------

#[test]
fn mqtt_2_3_1_1_packet_id_0_is_malformed() {
    check_malformed(&[0x32, 0x05, 0x00, 0x01, b't', 0x00, 0x00], ZeroPacketId);
    check_malformed(&[0x3C, 0x05, 0x00, 0x01, b't', 0x00, 0x00], ZeroPacketId);
    check_malformed(&[0x40, 0x02, 0x00, 0x00], ZeroPacketId);
    check_malformed(&[0x50, 0x02, 0x00, 0x00], ZeroPacketId);
    check_malformed(&[0x62, 0x02, 0x00, 0x00], ZeroPacketId);
    check_malformed(&[0x70, 0x02, 0x00, 0x00], ZeroPacketId);
    check_malformed(
        &[0x82, 0x06, 0x00, 0x00, 0x00, 0x01, b'#', 0x00],
        ZeroPacketId,
    );
    check_malformed(&[0x90, 0x03, 0x00, 0x00, 0x00], ZeroPacketId);
    check_malformed(&[0xA2, 0x05, 0x00, 0x00, 0x00, 0x01, b'#'], ZeroPacketId);
    check_malformed(&[0xB0, 0x02, 0x00, 0x00], ZeroPacketId);
}

// ---------------------------------------------------------------------------------------------
// UTF-8 strings [MQTT-1.5.3-1], [MQTT-1.5.3-2], [MQTT-1.5.3-3]
// ---------------------------------------------------------------------------------------------

/// A QoS 0 PUBLISH whose topic is the given raw bytes.
fn publish_raw_topic(raw: &[u8]) -> Vec<u8> {
    let mut v = vec![0x30, (2 + raw.len()) as u8, 0x00, raw.len() as u8];
    v.extend_from_slice(raw);
    v
}

/// A CONNECT (clean session, keep alive 0) whose client id is the given raw bytes.
fn connect_raw_client_id(raw: &[u8]) -> Vec<u8> {
    let mut v = vec![
        0x10,
        (12 + raw.len()) as u8,
        0x00,
        0x04,
        b'M',
        b'Q',
        b'T',
        b'T',
        0x04,
        0x02,
        0x00,
        0x00,
        0x00,
        raw.len() as u8,
    ];
    v.extend_from_slice(raw);
    v
}

const ILL_FORMED_UTF8: &[&[u8]] = &[
    &[0xC3, 0x28],             // a lead byte followed by ASCII
    &[0x80],                   // a lone continuation byte
    &[0xC0, 0xAF],             // overlong encoding of '/'
    &[0xE0, 0x80, 0xAF],       // overlong, three bytes
    &[0xE2, 0x82],             // truncated at the end of the string
    &[0xF8, 0x88, 0x80, 0x80], // five-byte form
    &[0xF4, 0x90, 0x80, 0x80], // above U+10FFFF
    &[0xFF],                   // never valid
    &[b'a', 0xFE, b'b'],       // never valid, inside ASCII
];

#[test]
fn mqtt_1_5_3_1_ill_formed_utf8_is_malformed() {
    for raw in ILL_FORMED_UTF8 {
        check_malformed(&publish_raw_topic(raw), InvalidUtf8);
        check_malformed(&connect_raw_client_id(raw), InvalidUtf8);
    }
}

#[test]
fn mqtt_1_5_3_1_ill_formed_utf8_in_every_string_field_is_malformed() {
    let bad = [0xED, 0xA0, 0x80]; // U+D800
    // User name.
    let mut payload = vec![0x00, 0x00, 0x00, 0x03];
    payload.extend_from_slice(&bad);
    check_malformed(&connect_raw(b"MQTT", 4, 0x82, &payload), InvalidUtf8);
    // Will topic.
    let mut payload = vec![0x00, 0x00, 0x00, 0x03];
    payload.extend_from_slice(&bad);
    payload.extend_from_slice(&[0x00, 0x00]);
    check_malformed(&connect_raw(b"MQTT", 4, 0x06, &payload), InvalidUtf8);
    // SUBSCRIBE and UNSUBSCRIBE filters.
    check_malformed(&subscribe_raw_filter(&bad), InvalidUtf8);
    check_malformed(&unsubscribe_raw_filter(&[b'a', 0xC0, 0xAF]), InvalidUtf8);
}

#[test]
fn mqtt_3_1_3_password_and_will_message_are_binary_not_strings() {
    // Password and will message may hold any bytes: U+0000, a surrogate, 0xFF.
    let binary: &[u8] = &[0x00, 0xED, 0xA0, 0x80, 0xFF];
    let mut payload = vec![0x00, 0x00]; // client id ""
    payload.extend_from_slice(&[0x00, 0x01, b'w', 0x00, 0x05]);
    payload.extend_from_slice(binary); // will message
    payload.extend_from_slice(&[0x00, 0x01, b'u', 0x00, 0x05]);
    payload.extend_from_slice(binary); // password
    let bytes = connect_raw(b"MQTT", 4, 0xC6, &payload);
    let mut c = common::connect(true, 0, "");
    c.will = Some(common::will(
        "w",
        binary,
        mqtt_proto::QoS::AtMostOnce,
        false,
    ));
    c.username = Some("u");
    c.password = Some(binary);
    check_decode(&bytes, &Packet::Connect(c));
}

#[test]
fn mqtt_1_5_3_1_surrogate_code_points_are_malformed() {
    // U+D800 (ED A0 80), U+DBFF, U+DC00, U+DFFF (ED BF BF)
    for raw in [
        &[0xED, 0xA0, 0x80][..],
        &[0xED, 0xAF, 0xBF],
        &[0xED, 0xB0, 0x80],
        &[0xED, 0xBF, 0xBF],
        &[b'a', b'/', 0xED, 0xA0, 0x80],
    ] {
        check_malformed(&publish_raw_topic(raw), InvalidUtf8);
        check_malformed(&connect_raw_client_id(raw), InvalidUtf8);
    }
}

#[test]
fn mqtt_1_5_3_2_null_character_is_malformed() {
    check_malformed(&publish_raw_topic(&[b'a', 0x00, b'b']), NullCharacter);
    check_malformed(&publish_raw_topic(&[0x00]), NullCharacter);
    check_malformed(&connect_raw_client_id(&[0x00]), NullCharacter);
    check_malformed(&connect_raw_client_id(&[b'i', b'd', 0x00]), NullCharacter);
    // In a user name.
    check_malformed(
        &[
            0x10, 0x10, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x82, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x02, b'u', 0x00,
        ],
        NullCharacter,
    );
    // In a will topic.
    check_malformed(
        &[
            0x10, 0x12, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x06, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x02, b'w', 0x00, 0x00, 0x00,
        ],
        NullCharacter,
    );
    // In SUBSCRIBE and UNSUBSCRIBE filters.
    check_malformed(
        &[0x82, 0x07, 0x00, 0x01, 0x00, 0x02, b'a', 0x00, 0x00],
        NullCharacter,
    );
    check_malformed(
        &[0xA2, 0x06, 0x00, 0x01, 0x00, 0x02, 0x00, b'a'],
        NullCharacter,
    );
}

#[test]
fn mqtt_1_5_3_3_bom_is_kept_not_an_error_and_not_stripped() {
    let bytes = publish_raw_topic(&[0xEF, 0xBB, 0xBF]);
    let Ok(Some((Packet::Publish(p), 7))) = Decoder::new().decode(&bytes) else {
        panic!("a topic of U+FEFF decodes");
    };
    assert_eq!(p.topic.as_str(), "\u{FEFF}");
    let bytes = connect_raw_client_id(&[b'a', 0xEF, 0xBB, 0xBF, b'b']);
    let Ok(Some((Packet::Connect(c), _))) = Decoder::new().decode(&bytes) else {
        panic!("a client id with U+FEFF decodes");
    };
    assert_eq!(c.client_id, "a\u{FEFF}b");
}

// ---------------------------------------------------------------------------------------------
// Topic names and filters [MQTT-3.3.2-2], [MQTT-4.7.1-1..3], [MQTT-4.7.3-1]
// ---------------------------------------------------------------------------------------------

#[test]
fn mqtt_3_3_2_2_wildcard_in_topic_name_is_malformed() {
    for raw in [
        &b"a/+"[..],
        b"+",
        b"#",
        b"a/#",
        b"a+b",
        b"sport/tennis#",
        b"+/x",
    ] {
        check_malformed(&publish_raw_topic(raw), InvalidTopicName);
    }
    // In a will topic too.
    check_malformed(
        &[
            0x10, 0x12, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x06, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x02, b'w', b'#', 0x00, 0x00,
        ],
        InvalidTopicName,
    );
}

#[test]
fn mqtt_4_7_3_1_empty_topic_name_is_malformed() {
    check_malformed(&[0x30, 0x02, 0x00, 0x00], InvalidTopicName);
    check_malformed(&[0x32, 0x04, 0x00, 0x00, 0x00, 0x01], InvalidTopicName);
    // An empty will topic.
    check_malformed(
        &[
            0x10, 0x10, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x06, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00,
        ],
        InvalidTopicName,
    );
}

/// SUBSCRIBE id 1 with one filter (raw bytes) and QoS 0.
fn subscribe_raw_filter(raw: &[u8]) -> Vec<u8> {
    let mut v = vec![
        0x82,
        (5 + raw.len()) as u8,
        0x00,
        0x01,
        0x00,
        raw.len() as u8,
    ];
    v.extend_from_slice(raw);
    v.push(0x00);
    v
}

/// UNSUBSCRIBE id 1 with one filter (raw bytes).
fn unsubscribe_raw_filter(raw: &[u8]) -> Vec<u8> {
    let mut v = vec![
        0xA2,
        (4 + raw.len()) as u8,
        0x00,
        0x01,
        0x00,
        raw.len() as u8,
    ];
    v.extend_from_slice(raw);
    v
}

const BAD_FILTERS: &[&[u8]] = &[
    b"a/#/b",
    b"a#",
    b"a+",
    b"",
    b"#/",
    b"#/a",
    b"+a",
    b"a/b#",
    b"##",
    b"a/++",
    b"sport+",
    b"sport/tennis#",
    b"sport/tennis/#/ranking",
];

#[test]
fn mqtt_4_7_1_bad_topic_filters_in_subscribe_are_malformed() {
    for raw in BAD_FILTERS {
        check_malformed(&subscribe_raw_filter(raw), InvalidTopicFilter);
    }
}

#[test]
fn mqtt_4_7_1_bad_topic_filters_in_unsubscribe_are_malformed() {
    for raw in BAD_FILTERS {
        check_malformed(&unsubscribe_raw_filter(raw), InvalidTopicFilter);
    }
}

#[test]
fn mqtt_4_7_1_a_bad_filter_after_good_ones_is_malformed() {
    let bytes = [
        0x82, 0x11, 0x00, 0x01, //
        0x00, 0x01, b'#', 0x00, // "#" QoS 0
        0x00, 0x03, b'a', b'/', b'+', 0x00, // "a/+" QoS 0
        0x00, 0x02, b'a', b'#', 0x01, // "a#" QoS 1: bad
    ];
    check_malformed(&bytes, InvalidTopicFilter);
    let bytes = [
        0xA2, 0x09, 0x00, 0x01, //
        0x00, 0x01, b'#', // "#"
        0x00, 0x02, b'a', b'+', // "a+": bad
    ];
    check_malformed(&bytes, InvalidTopicFilter);
}

#[test]
fn mqtt_4_7_1_good_filters_are_accepted_in_subscribe() {
    for raw in [
        &b"#"[..],
        b"+",
        b"+/+",
        b"/",
        b"a/#",
        b"+/tennis/#",
        b"sport/+/player1",
        b"/+",
    ] {
        let bytes = subscribe_raw_filter(raw);
        let decoded = Decoder::new().decode(&bytes);
        assert!(
            matches!(decoded, Ok(Some((Packet::Subscribe(_), n))) if n == bytes.len()),
            "{raw:?}: {decoded:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// SUBSCRIBE, UNSUBSCRIBE, SUBACK payloads [MQTT-3.8.3-3], [MQTT-3.8.3-4], [MQTT-3.10.3-2],
// [MQTT-3.9.3-2]
// ---------------------------------------------------------------------------------------------

#[test]
fn mqtt_3_8_3_3_subscribe_without_filters_is_malformed() {
    check_malformed(&[0x82, 0x02, 0x00, 0x01], EmptySubscribe);
}

#[test]
fn mqtt_3_10_3_2_unsubscribe_without_filters_is_malformed() {
    check_malformed(&[0xA2, 0x02, 0x00, 0x01], EmptyUnsubscribe);
}

#[test]
fn mqtt_3_8_3_4_subscribe_qos_byte_reserved_bits_are_malformed() {
    for qos_byte in [0x04u8, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFC, 0x81, 0xFE] {
        check_malformed(
            &[0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'#', qos_byte],
            SubscribeReservedBits,
        );
    }
}

#[test]
fn mqtt_3_8_3_4_subscribe_requested_qos_3_is_malformed() {
    check_malformed(
        &[0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'#', 0x03],
        InvalidQoS,
    );
}

#[test]
fn mqtt_3_9_3_2_suback_reserved_return_codes_are_malformed() {
    for code in [0x03u8, 0x04, 0x7F, 0x81, 0xFF] {
        check_malformed(&[0x90, 0x03, 0x00, 0x01, code], InvalidSubAckCode);
        check_malformed(&[0x90, 0x04, 0x00, 0x01, 0x00, code], InvalidSubAckCode);
    }
}

#[test]
fn mqtt_3_9_3_suback_without_return_codes_is_malformed() {
    check_malformed(&[0x90, 0x02, 0x00, 0x01], InvalidSubAckCode);
}

// ---------------------------------------------------------------------------------------------
// CONNACK [3.2.2]
// ---------------------------------------------------------------------------------------------

#[test]
fn mqtt_3_2_2_1_connack_reserved_flag_bits_are_malformed() {
    for flags in [0x02u8, 0x04, 0x80, 0xFE, 0x03] {
        check_malformed(&[0x20, 0x02, flags, 0x00], ConnAckReservedBits);
    }
}

#[test]
fn mqtt_3_2_2_3_connack_return_codes_6_to_255_are_malformed() {
    for code in [6u8, 7, 0x80, 0xFF] {
        check_malformed(&[0x20, 0x02, 0x00, code], InvalidConnectReturnCode);
    }
}

#[test]
fn mqtt_3_2_2_4_connack_session_present_with_non_zero_code_is_malformed() {
    for code in 1u8..=5 {
        check_malformed(&[0x20, 0x02, 0x01, code], ConnAckSessionPresentWithError);
    }
}

// ---------------------------------------------------------------------------------------------
// CONNECT [3.1.2]
// ---------------------------------------------------------------------------------------------

/// A CONNECT with the given protocol name, level, flags, and payload.
fn connect_raw(name: &[u8], level: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
    let remaining = 2 + name.len() + 1 + 1 + 2 + payload.len();
    let mut v = vec![0x10, remaining as u8, 0x00, name.len() as u8];
    v.extend_from_slice(name);
    v.extend_from_slice(&[level, flags, 0x00, 0x00]);
    v.extend_from_slice(payload);
    v
}

const EMPTY_ID: &[u8] = &[0x00, 0x00];

#[test]
fn mqtt_3_1_2_1_connect_protocol_name_not_mqtt_is_malformed() {
    for name in [&b"MQIsdp"[..], b"mqtt", b"MQT", b"MQTTT", b"", b"MQTs"] {
        check_malformed(&connect_raw(name, 4, 0x02, EMPTY_ID), InvalidProtocolName);
    }
}

#[test]
fn mqtt_3_1_2_2_connect_protocol_level_not_4_is_refused() {
    for level in [0u8, 3, 5, 0xFF] {
        check_malformed(
            &connect_raw(b"MQTT", level, 0x02, EMPTY_ID),
            UnsupportedProtocolLevel,
        );
    }
}

#[test]
fn mqtt_3_1_2_3_connect_reserved_flag_is_malformed() {
    check_malformed(
        &connect_raw(b"MQTT", 4, 0x03, EMPTY_ID),
        ConnectReservedFlag,
    );
    check_malformed(
        &connect_raw(b"MQTT", 4, 0x01, EMPTY_ID),
        ConnectReservedFlag,
    );
}

#[test]
fn mqtt_3_1_2_11_connect_will_qos_or_retain_without_will_flag_is_malformed() {
    // Will QoS 1, will QoS 2, will retain, each with the will flag off.
    for flags in [0x0Au8, 0x12, 0x22, 0x3A] {
        check_malformed(&connect_raw(b"MQTT", 4, flags, EMPTY_ID), InvalidWillFlags);
    }
}

#[test]
fn mqtt_3_1_2_14_connect_will_qos_3_is_malformed() {
    // Will flag, will QoS 3 (0x18), clean session; will topic "w", will message "".
    let payload = [0x00, 0x00, 0x00, 0x01, b'w', 0x00, 0x00];
    check_malformed(&connect_raw(b"MQTT", 4, 0x1E, &payload), InvalidWillFlags);
}

#[test]
fn mqtt_3_1_2_22_connect_password_without_username_is_malformed() {
    // Password flag only; client id "", password "pw".
    let payload = [0x00, 0x00, 0x00, 0x02, b'p', b'w'];
    check_malformed(
        &connect_raw(b"MQTT", 4, 0x42, &payload),
        PasswordWithoutUsername,
    );
}

#[test]
fn mqtt_3_1_connect_helpers_build_a_valid_packet() {
    // The raw builders above give a valid CONNECT when no rule is broken, so each malformed
    // vector differs from a valid one by the broken rule only.
    let bytes = connect_raw(b"MQTT", 4, 0x02, EMPTY_ID);
    check_decode(&bytes, &Packet::Connect(common::connect(true, 0, "")));
    let bytes = connect_raw(
        b"MQTT",
        4,
        0xC2,
        &[0x00, 0x00, 0x00, 0x01, b'u', 0x00, 0x01, b'p'],
    );
    let mut c = common::connect(true, 0, "");
    c.username = Some("u");
    c.password = Some(b"p");
    check_decode(&bytes, &Packet::Connect(c));
    let bytes = publish_raw_topic(b"a/b");
    check_decode(
        &bytes,
        &common::publish(false, mqtt_proto::QosPid::AtMostOnce, false, "a/b", b""),
    );
    check_decode(
        &subscribe_raw_filter(b"a/+"),
        &common::subscribe(1, &[("a/+", mqtt_proto::QoS::AtMostOnce)]),
    );
    check_decode(
        &unsubscribe_raw_filter(b"#"),
        &common::unsubscribe(1, &["#"]),
    );
}

#[cfg(feature = "bytes")]
#[test]
fn decode_bytes_leaves_the_buffer_as_it_was_on_error_and_when_incomplete() {
    use bytes::BytesMut;
    let decoder = Decoder::new();
    let bad: &[u8] = &[0x32, 0x05, 0x00, 0x01, b't', 0x00, 0x00, 0xD0, 0x00];
    let mut buf = BytesMut::from(bad);
    assert_eq!(decoder.decode_bytes(&mut buf), Err(ZeroPacketId));
    assert_eq!(&buf[..], bad);
    let partial: &[u8] = &[0x30, 0x05, 0x00, 0x01];
    let mut buf = BytesMut::from(partial);
    assert_eq!(decoder.decode_bytes(&mut buf), Ok(None));
    assert_eq!(&buf[..], partial);
}
