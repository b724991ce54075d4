//! All 256 first bytes against the spec's Table 2.2 (flag bits), Table 2.1 (packet types and
//! direction of flow) and the PUBLISH rules [MQTT-3.3.1-2] (no DUP with QoS 0) and
//! [MQTT-3.3.1-4] (no QoS 3).
//!
//! The expected answer for each byte comes from `spec_first_byte` below, which restates the
//! tables; the implementation is never asked what it should answer.

use mqtt_proto::{DecodeError, Decoder, Frame, PacketType};

/// What the spec says about one first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    /// A valid first byte of this type; `client_may_receive` from Table 2.1's direction column
    /// ("Server to Client" or "Client to Server or Server to Client").
    Valid(PacketType, bool),
    /// Invalid, with the rule that rejects it.
    Invalid(DecodeError),
}

/// Table 2.1 and 2.2, restated.
fn spec_first_byte(byte: u8) -> Expected {
    let packet_type = byte >> 4;
    let flags = byte & 0x0F;
    // (type, required flags, direction: may a client receive it?)
    let fixed = |t: PacketType, required: u8, to_client: bool| {
        if flags == required {
            Expected::Valid(t, to_client)
        } else {
            Expected::Invalid(DecodeError::InvalidFlags)
        }
    };
    match packet_type {
        0 | 15 => Expected::Invalid(DecodeError::ReservedPacketType),
        1 => fixed(PacketType::Connect, 0b0000, false), // Client to Server
        2 => fixed(PacketType::ConnAck, 0b0000, true),  // Server to Client
        3 => {
            // PUBLISH: DUP (bit 3), QoS (bits 2-1), RETAIN (bit 0).
            let dup = flags & 0b1000 != 0;
            let qos = (flags >> 1) & 0b11;
            if qos == 3 {
                Expected::Invalid(DecodeError::InvalidQoS)
            } else if dup && qos == 0 {
                Expected::Invalid(DecodeError::DupWithQoS0)
            } else {
                Expected::Valid(PacketType::Publish, true) // both directions
            }
        }
        4 => fixed(PacketType::PubAck, 0b0000, true), // both directions
        5 => fixed(PacketType::PubRec, 0b0000, true), // both directions
        6 => fixed(PacketType::PubRel, 0b0010, true), // both directions
        7 => fixed(PacketType::PubComp, 0b0000, true), // both directions
        8 => fixed(PacketType::Subscribe, 0b0010, false), // Client to Server
        9 => fixed(PacketType::SubAck, 0b0000, true), // Server to Client
        10 => fixed(PacketType::Unsubscribe, 0b0010, false), // Client to Server
        11 => fixed(PacketType::UnsubAck, 0b0000, true), // Server to Client
        12 => fixed(PacketType::PingReq, 0b0000, false), // Client to Server
        13 => fixed(PacketType::PingResp, 0b0000, true), // Server to Client
        14 => fixed(PacketType::Disconnect, 0b0000, false), // Client to Server
        _ => unreachable!("a nibble is at most 15"),
    }
}

/// The valid first bytes, listed literally: a second, independent statement of the same table.
const VALID_FIRST_BYTES: &[u8] = &[
    0x10, // CONNECT
    0x20, // CONNACK
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, // PUBLISH, DUP 0: QoS 0/1/2 x RETAIN 0/1
    0x3A, 0x3B, 0x3C, 0x3D, // PUBLISH, DUP 1: QoS 1/2 x RETAIN 0/1
    0x40, // PUBACK
    0x50, // PUBREC
    0x62, // PUBREL
    0x70, // PUBCOMP
    0x82, // SUBSCRIBE
    0x90, // SUBACK
    0xA2, // UNSUBSCRIBE
    0xB0, // UNSUBACK
    0xC0, // PINGREQ
    0xD0, // PINGRESP
    0xE0, // DISCONNECT
];

#[test]
fn table_2_2_spec_function_agrees_with_the_literal_list() {
    let valid: Vec<u8> = (0..=255u8)
        .filter(|&b| matches!(spec_first_byte(b), Expected::Valid(..)))
        .collect();
    assert_eq!(valid, VALID_FIRST_BYTES);
    assert_eq!(valid.len(), 23);
}

#[test]
fn mqtt_2_2_2_1_every_first_byte_against_table_2_2() {
    for byte in 0..=255u8 {
        let got = PacketType::from_first_byte(byte);
        match spec_first_byte(byte) {
            Expected::Valid(t, client_may_receive) => {
                assert_eq!(got, Ok(t), "first byte {byte:#04X}");
                assert_eq!(
                    t.client_may_receive(),
                    client_may_receive,
                    "client_may_receive for {t:?}"
                );
                assert_eq!(t as u8, byte >> 4, "type number of {t:?}");
            }
            Expected::Invalid(error) => assert_eq!(got, Err(error), "first byte {byte:#04X}"),
        }
    }
}

#[test]
fn table_2_1_client_may_receive_exactly_the_server_to_client_types() {
    let receivable: Vec<PacketType> = VALID_FIRST_BYTES
        .iter()
        .filter_map(|&b| PacketType::from_first_byte(b).ok())
        .filter(|t| t.client_may_receive())
        .fold(Vec::new(), |mut v, t| {
            if !v.contains(&t) {
                v.push(t);
            }
            v
        });
    assert_eq!(
        receivable,
        [
            PacketType::ConnAck,
            PacketType::Publish,
            PacketType::PubAck,
            PacketType::PubRec,
            PacketType::PubRel,
            PacketType::PubComp,
            PacketType::SubAck,
            PacketType::UnsubAck,
            PacketType::PingResp,
        ]
    );
}

#[test]
fn mqtt_2_2_2_2_bad_first_byte_is_rejected_by_frame_with_only_that_byte() {
    let decoder = Decoder::new();
    for byte in 0..=255u8 {
        let one = [byte];
        let frame = decoder.frame(&one);
        let decode = decoder.decode(&one);
        match spec_first_byte(byte) {
            Expected::Valid(..) => {
                assert!(
                    matches!(frame, Ok(Frame::Incomplete { .. })),
                    "frame of {byte:#04X}: {frame:?}"
                );
                assert_eq!(decode, Ok(None), "decode of {byte:#04X}");
            }
            Expected::Invalid(error) => {
                assert_eq!(frame, Err(error), "frame of {byte:#04X}");
                assert_eq!(decode, Err(error), "decode of {byte:#04X}");
            }
        }
    }
}

#[test]
fn mqtt_2_2_2_2_bad_first_byte_is_rejected_whatever_follows() {
    let decoder = Decoder::new();
    for byte in 0..=255u8 {
        if let Expected::Invalid(error) = spec_first_byte(byte) {
            for rest in [
                &[0x00][..],
                &[0x02, 0x00, 0x01],
                &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
            ] {
                let mut bytes = vec![byte];
                bytes.extend_from_slice(rest);
                assert_eq!(decoder.frame(&bytes), Err(error), "{bytes:02X?}");
                assert_eq!(decoder.decode(&bytes), Err(error), "{bytes:02X?}");
            }
        }
    }
}
