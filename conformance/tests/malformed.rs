//! Malformed or misdirected packets from the broker: each one closes the connection, names the
//! rule it breaks, and gets no answer (sections 2, 4.8). Each is checked whole and one byte at a
//! time.
#![allow(clippy::unwrap_used)]

use conformance::checks;
use conformance::script::{Script, Seen};
use conformance::wire;
use mqtt_session::{
    Config, ConnectOptions, DecodeError, DisconnectReason, PacketType, QoS, State, Violation,
};

fn connected() -> Script {
    let mut s = Script::new();
    s.connected(&ConnectOptions::new("m"), false);
    s
}

/// Feeds `bytes` whole and then one byte at a time to fresh connected sessions; both must close
/// with `expected`, naming `rule`.
fn closes(bytes: &[u8], expected: Violation, rule: &str) {
    let v = connected().expect_violation(bytes, rule);
    assert_eq!(v, expected, "{}", wire::hex(bytes));
    let mut s = connected();
    s.receive_in_chunks(bytes, 1);
    let events = s.take_events();
    assert_eq!(
        events.last(),
        Some(&Seen::Disconnected(DisconnectReason::ProtocolViolation(
            expected
        ))),
        "byte by byte: {}",
        wire::hex(bytes)
    );
    assert!(s.take_sent().is_empty());
}

#[test]
fn u_2_2_1_reserved_packet_types_close() {
    checks!["U-2.2.1-reserved-type", "MQTT-4.8.0-1"];
    closes(
        &[0x00, 0x00],
        Violation::Malformed(DecodeError::ReservedPacketType),
        "MQTT-4.8.0-1",
    );
    closes(
        &[0xF0, 0x00],
        Violation::Malformed(DecodeError::ReservedPacketType),
        "MQTT-4.8.0-1",
    );
}

#[test]
fn mqtt_2_2_2_2_invalid_flags_close() {
    checks!["MQTT-2.2.2-2", "MQTT-2.2.2-1", "MQTT-4.8.0-1"];
    for bytes in [
        vec![0x21, 0x02, 0x00, 0x00],       // CONNACK
        vec![0x41, 0x02, 0x00, 0x01],       // PUBACK
        vec![0x58, 0x02, 0x00, 0x01],       // PUBREC
        vec![0x72, 0x02, 0x00, 0x01],       // PUBCOMP
        vec![0x92, 0x03, 0x00, 0x01, 0x00], // SUBACK
        vec![0xB1, 0x02, 0x00, 0x01],       // UNSUBACK
        vec![0xD4, 0x00],                   // PINGRESP
    ] {
        closes(
            &bytes,
            Violation::Malformed(DecodeError::InvalidFlags),
            "MQTT-2.2.2-1",
        );
    }
}

#[test]
fn mqtt_3_6_1_1_pubrel_with_other_flags_closes() {
    checks!["MQTT-3.6.1-1", "MQTT-2.2.2-2"];
    for first in [0x60, 0x61, 0x63, 0x66, 0x6A] {
        closes(
            &[first, 0x02, 0x00, 0x01],
            Violation::Malformed(DecodeError::InvalidFlags),
            "MQTT-2.2.2-1",
        );
    }
}

#[test]
fn mqtt_3_3_1_4_publish_with_qos_3_closes() {
    checks!["MQTT-3.3.1-4"];
    for first in [0x36, 0x37, 0x3E, 0x3F] {
        let mut bytes = vec![first];
        bytes.extend(&wire::publish("t", b"x", 1, 1, false, false)[1..]);
        closes(
            &bytes,
            Violation::Malformed(DecodeError::InvalidQoS),
            "MQTT-3.3.1-4",
        );
    }
}

#[test]
fn mqtt_3_3_1_2_qos0_publish_with_dup_closes() {
    checks!["MQTT-3.3.1-2"];
    let mut bytes = wire::publish("t", b"x", 0, 0, false, false);
    bytes[0] |= 0x08;
    closes(
        &bytes,
        Violation::Malformed(DecodeError::DupWithQoS0),
        "MQTT-3.3.1-2",
    );
}

#[test]
fn mqtt_2_3_1_1_packet_id_zero_closes() {
    checks!["MQTT-2.3.1-1"];
    for bytes in [
        wire::publish("t", b"x", 1, 0, false, false),
        wire::publish("t", b"x", 2, 0, false, false),
        wire::puback(0),
        wire::pubrec(0),
        wire::pubrel(0),
        wire::pubcomp(0),
        wire::unsuback(0),
        wire::suback(0, &[0]),
    ] {
        closes(
            &bytes,
            Violation::Malformed(DecodeError::ZeroPacketId),
            "MQTT-2.3.1-1",
        );
    }
}

#[test]
fn u_2_2_3_fifth_remaining_length_byte_closes() {
    checks!["U-2.2.3-remaining-length"];
    // The codec refuses a fifth length byte as soon as it arrives, whatever the value so far.
    for bytes in [
        &[0x30, 0x80, 0x80, 0x80, 0x80][..],
        &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
    ] {
        assert_eq!(
            mqtt_proto::Decoder::new().decode(bytes),
            Err(DecodeError::RemainingLengthTooLong)
        );
    }
    // The session too: a fifth length byte is a malformed packet, whatever the size limit
    // (the size is known only at the length's last byte, which never came). The connection
    // closes and nothing is answered.
    for bytes in [
        &[0x30, 0x80, 0x80, 0x80, 0x80, 0x01][..],
        &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
    ] {
        let mut s = connected();
        s.receive_in_chunks(bytes, 1);
        assert_eq!(
            s.take_events(),
            [Seen::Disconnected(DisconnectReason::ProtocolViolation(
                Violation::Malformed(DecodeError::RemainingLengthTooLong)
            ))],
            "{}",
            s.transcript()
        );
        assert_eq!(s.state(), State::Closed);
        assert!(s.take_sent().is_empty());
    }
}

#[test]
fn u_2_2_3_remaining_length_not_matching_the_packet_closes() {
    checks!["U-2.2.3-remaining-length"];
    for bytes in [
        vec![0x40, 0x03, 0x00, 0x01, 0x00], // PUBACK, one byte too many
        vec![0x40, 0x01, 0x00],             // PUBACK, one byte short
        vec![0xB0, 0x00],                   // UNSUBACK without its id
        vec![0x30, 0x01, 0x00],             // PUBLISH shorter than its topic length
        vec![0x90, 0x02, 0x00, 0x01],       // SUBACK without a return code
    ] {
        let mut s = connected();
        s.receive(&bytes);
        let v = conformance::script::violation(&s.take_events());
        assert_eq!(s.state(), State::Closed);
        assert!(s.take_sent().is_empty());
        assert!(
            matches!(
                v,
                Some(Violation::Malformed(
                    DecodeError::MalformedLength | DecodeError::InvalidSubAckCode
                ))
            ),
            "{}: {v:?}",
            wire::hex(&bytes)
        );
    }
}

#[test]
fn u_2_1_packets_a_client_never_receives_close() {
    checks!["U-2.1-direction", "MQTT-4.8.0-1"];
    let connect = wire::packet(
        0x10,
        &[0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60, 0, 1, b'x'],
    );
    let subscribe = wire::packet(0x82, &[0, 1, 0, 1, b'a', 0]);
    let unsubscribe = wire::packet(0xA2, &[0, 1, 0, 1, b'a']);
    for (bytes, ty) in [
        (connect, PacketType::Connect),
        (subscribe, PacketType::Subscribe),
        (unsubscribe, PacketType::Unsubscribe),
        (vec![0xC0, 0x00], PacketType::PingReq),
        (vec![0xE0, 0x00], PacketType::Disconnect),
    ] {
        closes(&bytes, Violation::UnexpectedPacket(ty), "MQTT-4.8.0-1");
    }
}

#[test]
fn mqtt_4_8_0_1_nothing_after_a_violation_is_processed() {
    checks!["MQTT-4.8.0-1"];
    let mut s = connected();
    s.publish("t", b"x", QoS::AtLeastOnce, false).unwrap();
    s.take_sent();
    let mut bytes = vec![0x41, 0x02, 0x00, 0x01];
    bytes.extend(wire::puback(1));
    bytes.extend(wire::publish("t", b"y", 1, 5, false, false));
    s.expect_violation(&bytes, "MQTT-2.2.2-1");
    s.receive(&wire::puback(1));
    assert!(
        s.take_events().is_empty(),
        "no PUBACK event after the violation"
    );
    assert!(
        s.take_sent().is_empty(),
        "no PUBACK for the PUBLISH after it"
    );
    assert_eq!(s.state(), State::Closed);
    // The message is still held for the next connection.
    assert_eq!(s.session().inflight(), 1);
}

#[test]
fn malformed_transcript_snapshot() {
    checks!["MQTT-3.3.1-4", "MQTT-4.8.0-1"];
    let mut s = connected();
    s.receive(&wire::publish("ok", b"1", 1, 1, false, false));
    let mut bad = wire::publish("t", b"x", 1, 2, false, false);
    bad[0] = 0x36;
    s.receive(&bad);
    s.receive(&wire::publish("ignored", b"2", 1, 3, false, false));
    s.closed();
    insta::assert_snapshot!(s.transcript());
}

#[test]
fn mqtt_4_8_0_2_incoming_qos2_the_store_cannot_record_closes() {
    checks!["MQTT-4.8.0-2"];
    // A store with room for one incoming QoS 2 id: the second one cannot be recorded, so it
    // cannot be acknowledged safely (a transient error): the connection closes, no PUBREC.
    let mut s = Script::with(Config::default(), mqtt_session::VecStore::with_limit(1));
    s.connected(&ConnectOptions::new("m"), false);
    s.receive(&wire::publish("t", b"1", 2, 1, false, false));
    assert_eq!(s.take_sent(), [wire::pubrec(1)]);
    s.take_events();
    s.receive(&wire::publish("t", b"2", 2, 2, false, false));
    assert_eq!(
        s.take_events(),
        [Seen::Disconnected(DisconnectReason::StoreFull)]
    );
    assert!(
        s.take_sent().is_empty(),
        "no PUBREC for what was not recorded"
    );
    assert_eq!(s.state(), State::Closed);
}

#[test]
fn incoming_packet_larger_than_the_limit_closes_before_its_body() {
    checks!["MQTT-4.8.0-2"];
    let mut config = Config::default();
    config.max_incoming_packet = 64;
    let mut s = Script::with_config(config);
    s.connected(&ConnectOptions::new("m"), false);
    // Only the fixed header of a 1 MB PUBLISH arrives.
    s.receive(&[0x30, 0x80, 0x80, 0x40]);
    assert_eq!(
        s.take_events(),
        [Seen::Disconnected(DisconnectReason::IncomingPacketTooLarge)]
    );
    assert!(s.take_sent().is_empty());
}
