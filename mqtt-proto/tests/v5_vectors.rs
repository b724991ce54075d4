//! MQTT 5.0 exact-byte vectors for all 15 packet types, both directions.
//!
//! Every expected byte string was written by hand from the MQTT 5.0 standard (fixed header
//! 2.1, properties 2.2.2, reason codes 2.4, variable headers and payloads in chapter 3), not
//! produced by the encoder. `check_vector` checks that the packet encodes to exactly these
//! bytes and that the bytes decode to exactly this packet whole, one byte at a time and
//! followed by the bytes of a next packet; `check_decode` covers decode-only forms (fields the
//! encoder leaves out but a sender may include).
#![cfg(feature = "v5")]
#![allow(clippy::unwrap_used)]

mod v5_common;

use mqtt_proto::v5::{
    Auth, AuthReasonCode, ConnAck, Connect, ConnectReasonCode, Disconnect, DisconnectReasonCode,
    Packet, PacketType, Properties, Property, ProtocolVersion, PubAck, PubAckReasonCode, PubComp,
    PubCompReasonCode, PubRec, PubRecReasonCode, PubRel, PubRelReasonCode, Publish, RetainHandling,
    SubAck, SubAckReasonCode, SubAckReasonCodes, Subscribe, SubscriptionOptions, UnsubAck,
    UnsubAckReasonCode, UnsubAckReasonCodes, Unsubscribe, Will,
};
use mqtt_proto::{DecodeError, QoS, QosPid};
use v5_common::{check_decode, check_vector, filter, pid, topic};

// CONNECT (3.1) --------------------------------------------------------------------------------

#[test]
fn mqtt5_3_1_connect_minimal() {
    let bytes = [
        0x10, 0x0D, // CONNECT, remaining length 13
        0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
        0x05, // protocol version 5
        0x02, // clean start
        0x00, 0x3C, // keep alive 60
        0x00, // property length 0 [MQTT-2.2.2-1]
        0x00, 0x00, // client id ""
    ];
    check_vector(&bytes, &Packet::Connect(Connect::new("", 60)));
}

#[test]
fn mqtt5_3_1_connect_with_properties_will_and_credentials() {
    let bytes = [
        0x10, 0x2E, // remaining length 46
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, //
        0xEE, // user name, password, will retain, will QoS 1, will flag, clean start
        0x00, 0x1E, // keep alive 30
        0x08, // property length 8
        0x11, 0x00, 0x00, 0x00, 0x78, // Session Expiry Interval 120
        0x21, 0x00, 0x0A, // Receive Maximum 10
        0x00, 0x02, b'c', b'1', // client id
        0x05, // will property length 5
        0x18, 0x00, 0x00, 0x00, 0x05, // Will Delay Interval 5
        0x00, 0x03, b'w', b'/', b't', // will topic
        0x00, 0x03, b'b', b'y', b'e', // will payload
        0x00, 0x01, b'u', // user name
        0x00, 0x02, 0x01, 0x02, // password
    ];
    let props = [
        Property::SessionExpiryInterval(120),
        Property::ReceiveMaximum(10),
    ];
    let will_props = [Property::WillDelayInterval(5)];
    let mut will = Will::new(topic("w/t"), b"bye", QoS::AtLeastOnce);
    will.retain = true;
    will.properties = Properties::new(&will_props);
    let connect = Connect {
        clean_start: true,
        keep_alive: 30,
        properties: Properties::new(&props),
        client_id: "c1",
        will: Some(will),
        username: Some("u"),
        password: Some(&[1, 2]),
    };
    check_vector(&bytes, &Packet::Connect(connect));
    let Ok(Some((Packet::Connect(c), _))) = Packet::decode(&bytes) else {
        panic!("a CONNECT")
    };
    assert_eq!(c.properties.session_expiry_interval(), Some(120));
    assert_eq!(c.properties.receive_maximum(), Some(10));
    assert_eq!(c.will.unwrap().properties.will_delay_interval(), Some(5));
}

#[test]
fn mqtt5_3_1_2_9_connect_password_without_user_name() {
    // 5.0 allows a password without a user name (section 3.1.2.9).
    let bytes = [
        0x10, 0x10, //
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, //
        0x42, // password, clean start
        0x00, 0x00, 0x00, // keep alive 0, no properties
        0x00, 0x00, // client id ""
        0x00, 0x01, b'p', // password
    ];
    let mut c = Connect::new("", 0);
    c.password = Some(b"p");
    check_vector(&bytes, &Packet::Connect(c));
}

#[test]
fn mqtt5_3_1_2_2_protocol_version_of_a_connect() {
    let v5 = [0x10, 0x0D, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05];
    let v4 = [0x10, 0x0C, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04];
    for n in 0..v5.len() {
        assert_eq!(ProtocolVersion::of_connect(&v5[..n]), Ok(None));
    }
    assert_eq!(
        ProtocolVersion::of_connect(&v5),
        Ok(Some(ProtocolVersion::V5))
    );
    assert_eq!(
        ProtocolVersion::of_connect(&v4),
        Ok(Some(ProtocolVersion::V311))
    );
    let mut v3 = v4;
    v3[8] = 3;
    assert_eq!(
        ProtocolVersion::of_connect(&v3),
        Err(DecodeError::UnsupportedProtocolLevel)
    );
    assert_eq!(
        ProtocolVersion::of_connect(&[0x10, 0x0C, 0x00, 0x04, b'M', b'Q', b'X']),
        Err(DecodeError::InvalidProtocolName)
    );
    assert_eq!(
        ProtocolVersion::of_connect(&[0x20]),
        Err(DecodeError::InvalidProtocolName)
    );
}

// CONNACK (3.2) --------------------------------------------------------------------------------

#[test]
fn mqtt5_3_2_connack_success_without_properties() {
    let bytes = [0x20, 0x03, 0x00, 0x00, 0x00];
    check_vector(
        &bytes,
        &Packet::ConnAck(ConnAck::new(false, ConnectReasonCode::Success)),
    );
}

#[test]
fn mqtt5_3_2_connack_session_present_with_properties() {
    let bytes = [
        0x20, 0x0D, // remaining length 13
        0x01, 0x00, // session present, Success
        0x0A, // property length 10
        0x24, 0x01, // Maximum QoS 1
        0x25, 0x00, // Retain Available 0
        0x13, 0x00, 0x1E, // Server Keep Alive 30
        0x22, 0x00, 0x05, // Topic Alias Maximum 5
    ];
    let props = [
        Property::MaximumQoS(QoS::AtLeastOnce),
        Property::RetainAvailable(false),
        Property::ServerKeepAlive(30),
        Property::TopicAliasMaximum(5),
    ];
    let mut c = ConnAck::new(true, ConnectReasonCode::Success);
    c.properties = Properties::new(&props);
    check_vector(&bytes, &Packet::ConnAck(c));
}

#[test]
fn mqtt5_3_2_2_2_connack_refused_not_authorized() {
    let bytes = [0x20, 0x03, 0x00, 0x87, 0x00];
    check_vector(
        &bytes,
        &Packet::ConnAck(ConnAck::new(false, ConnectReasonCode::NotAuthorized)),
    );
}

// PUBLISH (3.3) --------------------------------------------------------------------------------

#[test]
fn mqtt5_3_3_publish_qos0_without_properties() {
    let bytes = [0x30, 0x07, 0x00, 0x03, b'a', b'/', b'b', 0x00, b'h'];
    let p = Publish::new(topic("a/b"), QosPid::AtMostOnce, b"h");
    check_vector(&bytes, &Packet::Publish(p));
}

#[test]
fn mqtt5_3_3_publish_qos1_with_properties() {
    let bytes = [
        0x32, 0x19, // PUBLISH QoS 1, remaining length 25
        0x00, 0x01, b't', // topic
        0x00, 0x0A, // packet id 10
        0x11, // property length 17
        0x01, 0x01, // Payload Format Indicator: UTF-8
        0x02, 0x00, 0x00, 0x00, 0x3C, // Message Expiry Interval 60
        0x23, 0x00, 0x02, // Topic Alias 2
        0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', // User Property k=v
        b'h', b'i', // payload
    ];
    let props = [
        Property::PayloadFormatIndicator(true),
        Property::MessageExpiryInterval(60),
        Property::TopicAlias(2),
        Property::UserProperty("k", "v"),
    ];
    let mut p = Publish::new(topic("t"), QosPid::AtLeastOnce(pid(10)), b"hi");
    p.properties = Properties::new(&props);
    check_vector(&bytes, &Packet::Publish(p));
}

#[test]
fn mqtt5_3_3_2_3_4_publish_qos2_dup_retain_empty_topic_with_alias() {
    let bytes = [
        0x3D, 0x08, // PUBLISH DUP, QoS 2, RETAIN
        0x00, 0x00, // zero-length topic name
        0x00, 0x05, // packet id 5
        0x03, 0x23, 0x00, 0x07, // Topic Alias 7
    ];
    let props = [Property::TopicAlias(7)];
    let p = Publish {
        dup: true,
        qos_pid: QosPid::ExactlyOnce(pid(5)),
        retain: true,
        topic: None,
        properties: Properties::new(&props),
        payload: b"",
    };
    check_vector(&bytes, &Packet::Publish(p));
}

#[test]
fn mqtt5_3_3_2_3_8_publish_with_two_subscription_identifiers() {
    let bytes = [
        0x30, 0x09, //
        0x00, 0x01, b't', //
        0x05, // property length 5
        0x0B, 0x01, // Subscription Identifier 1
        0x0B, 0x80, 0x01, // Subscription Identifier 128 (two bytes)
    ];
    let props = [
        Property::SubscriptionIdentifier(1),
        Property::SubscriptionIdentifier(128),
    ];
    let mut p = Publish::new(topic("t"), QosPid::AtMostOnce, b"");
    p.properties = Properties::new(&props);
    check_vector(&bytes, &Packet::Publish(p));
    let Ok(Some((Packet::Publish(d), _))) = Packet::decode(&bytes) else {
        panic!("a PUBLISH")
    };
    assert!(d.properties.subscription_identifiers().eq([1, 128]));
}

#[test]
fn mqtt5_3_3_publish_with_a_two_byte_remaining_length() {
    let payload = [0x5A; 200];
    let mut bytes = vec![0x30, 0xCC, 0x01, 0x00, 0x01, b't', 0x00];
    bytes.extend_from_slice(&payload);
    assert_eq!(bytes.len(), 3 + 204);
    let p = Publish::new(topic("t"), QosPid::AtMostOnce, &payload);
    check_vector(&bytes, &Packet::Publish(p));
}

// PUBACK, PUBREC, PUBREL, PUBCOMP (3.4 to 3.7) ------------------------------------------------

#[test]
fn mqtt5_3_4_2_1_puback_success_leaves_out_reason_code_and_properties() {
    let bytes = [0x40, 0x02, 0x00, 0x01];
    check_vector(
        &bytes,
        &Packet::PubAck(PubAck::new(pid(1), PubAckReasonCode::Success)),
    );
    // A sender may include the code and an empty property list (section 3.4.2.2.1).
    check_decode(
        &[0x40, 0x03, 0x00, 0x01, 0x00],
        &Packet::PubAck(PubAck::new(pid(1), PubAckReasonCode::Success)),
    );
    check_decode(
        &[0x40, 0x04, 0x00, 0x01, 0x00, 0x00],
        &Packet::PubAck(PubAck::new(pid(1), PubAckReasonCode::Success)),
    );
}

#[test]
fn mqtt5_3_4_2_1_puback_reason_code_without_properties() {
    let bytes = [0x40, 0x03, 0x00, 0x01, 0x10];
    check_vector(
        &bytes,
        &Packet::PubAck(PubAck::new(pid(1), PubAckReasonCode::NoMatchingSubscribers)),
    );
}

#[test]
fn mqtt5_3_4_2_2_puback_with_reason_string() {
    let bytes = [
        0x40, 0x0A, 0x00, 0x01, 0x80, //
        0x06, 0x1F, 0x00, 0x03, b'b', b'a', b'd', // Reason String "bad"
    ];
    let props = [Property::ReasonString("bad")];
    let mut a = PubAck::new(pid(1), PubAckReasonCode::UnspecifiedError);
    a.properties = Properties::new(&props);
    check_vector(&bytes, &Packet::PubAck(a));
}

#[test]
fn mqtt5_3_4_2_puback_success_with_properties_carries_the_code() {
    let bytes = [0x40, 0x08, 0x00, 0x02, 0x00, 0x04, 0x1F, 0x00, 0x01, b'x'];
    let props = [Property::ReasonString("x")];
    let mut a = PubAck::new(pid(2), PubAckReasonCode::Success);
    a.properties = Properties::new(&props);
    check_vector(&bytes, &Packet::PubAck(a));
}

#[test]
fn mqtt5_3_5_pubrec() {
    check_vector(
        &[0x50, 0x02, 0x00, 0x02],
        &Packet::PubRec(PubRec::new(pid(2), PubRecReasonCode::Success)),
    );
    check_vector(
        &[0x50, 0x03, 0x00, 0x02, 0x91],
        &Packet::PubRec(PubRec::new(pid(2), PubRecReasonCode::PacketIdentifierInUse)),
    );
}

#[test]
fn mqtt5_3_6_pubrel() {
    // PUBREL fixed header flags 0010 [MQTT-3.6.1-1].
    check_vector(
        &[0x62, 0x02, 0x00, 0x03],
        &Packet::PubRel(PubRel::new(pid(3), PubRelReasonCode::Success)),
    );
    check_vector(
        &[0x62, 0x03, 0x00, 0x03, 0x92],
        &Packet::PubRel(PubRel::new(
            pid(3),
            PubRelReasonCode::PacketIdentifierNotFound,
        )),
    );
}

#[test]
fn mqtt5_3_7_pubcomp() {
    check_vector(
        &[0x70, 0x02, 0x00, 0x04],
        &Packet::PubComp(PubComp::new(pid(4), PubCompReasonCode::Success)),
    );
    let props = [Property::UserProperty("a", "")];
    let mut c = PubComp::new(pid(4), PubCompReasonCode::PacketIdentifierNotFound);
    c.properties = Properties::new(&props);
    check_vector(
        &[
            0x70, 0x0A, 0x00, 0x04, 0x92, //
            0x06, 0x26, 0x00, 0x01, b'a', 0x00, 0x00, // User Property a=""
        ],
        &Packet::PubComp(c),
    );
}

// SUBSCRIBE, SUBACK (3.8, 3.9) -----------------------------------------------------------------

#[test]
fn mqtt5_3_8_subscribe_with_identifier_and_options() {
    // SUBSCRIBE fixed header flags 0010 [MQTT-3.8.1-1].
    let bytes = [
        0x82, 0x0F, // SUBSCRIBE, remaining length 15
        0x00, 0x0A, // packet id 10
        0x02, 0x0B, 0x05, // Subscription Identifier 5
        0x00, 0x03, b'a', b'/', b'#', //
        0x2D, // QoS 1, No Local, Retain As Published, Retain Handling 2
        0x00, 0x01, b'b', //
        0x00, // QoS 0, all options 0
    ];
    let list = [
        (
            filter("a/#"),
            SubscriptionOptions {
                qos: QoS::AtLeastOnce,
                no_local: true,
                retain_as_published: true,
                retain_handling: RetainHandling::DoNotSend,
            },
        ),
        (filter("b"), SubscriptionOptions::new(QoS::AtMostOnce)),
    ];
    let props = [Property::SubscriptionIdentifier(5)];
    let mut s = Subscribe::new(pid(10), &list);
    s.properties = Properties::new(&props);
    check_vector(&bytes, &Packet::Subscribe(s));
}

#[test]
fn mqtt5_4_8_2_subscribe_shared_subscription() {
    let mut bytes = vec![0x82, 0x12, 0x00, 0x01, 0x00, 0x00, 0x0C];
    bytes.extend_from_slice(b"$share/g/a/+");
    bytes.push(0x12); // QoS 2, Retain Handling 1
    let list = [(
        filter("$share/g/a/+"),
        SubscriptionOptions {
            qos: QoS::ExactlyOnce,
            no_local: false,
            retain_as_published: false,
            retain_handling: RetainHandling::SendIfNew,
        },
    )];
    check_vector(&bytes, &Packet::Subscribe(Subscribe::new(pid(1), &list)));
}

#[test]
fn mqtt5_3_9_suback() {
    let bytes = [
        0x90, 0x09, 0x00, 0x0A, 0x00, //
        0x01, 0x00, 0x02, 0x80, 0x9E, 0xA2,
    ];
    let codes = SubAckReasonCodes::new(&bytes[5..]).unwrap();
    check_vector(&bytes, &Packet::SubAck(SubAck::new(pid(10), codes)));
    assert!(codes.iter().eq([
        SubAckReasonCode::GrantedQoS1,
        SubAckReasonCode::GrantedQoS0,
        SubAckReasonCode::GrantedQoS2,
        SubAckReasonCode::UnspecifiedError,
        SubAckReasonCode::SharedSubscriptionsNotSupported,
        SubAckReasonCode::WildcardSubscriptionsNotSupported,
    ]));
}

#[test]
fn mqtt5_3_9_suback_with_reason_string() {
    let bytes = [
        0x90, 0x08, 0x00, 0x0A, //
        0x04, 0x1F, 0x00, 0x01, b'r', // Reason String "r"
        0x87,
    ];
    let props = [Property::ReasonString("r")];
    let mut s = SubAck::new(pid(10), SubAckReasonCodes::new(&[0x87]).unwrap());
    s.properties = Properties::new(&props);
    check_vector(&bytes, &Packet::SubAck(s));
}

// UNSUBSCRIBE, UNSUBACK (3.10, 3.11) ------------------------------------------------------------

#[test]
fn mqtt5_3_10_unsubscribe() {
    // UNSUBSCRIBE fixed header flags 0010 [MQTT-3.10.1-1].
    let bytes = [
        0xA2, 0x0B, 0x00, 0x0B, 0x00, //
        0x00, 0x03, b'a', b'/', b'b', //
        0x00, 0x01, b'#',
    ];
    let list = [filter("a/b"), filter("#")];
    check_vector(
        &bytes,
        &Packet::Unsubscribe(Unsubscribe::new(pid(11), &list)),
    );
}

#[test]
fn mqtt5_3_10_unsubscribe_with_user_property() {
    let bytes = [
        0xA2, 0x0D, 0x00, 0x0B, //
        0x07, 0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', //
        0x00, 0x01, b'x',
    ];
    let list = [filter("x")];
    let props = [Property::UserProperty("k", "v")];
    let mut u = Unsubscribe::new(pid(11), &list);
    u.properties = Properties::new(&props);
    check_vector(&bytes, &Packet::Unsubscribe(u));
}

#[test]
fn mqtt5_3_11_unsuback() {
    let bytes = [0xB0, 0x06, 0x00, 0x0B, 0x00, 0x00, 0x11, 0x8F];
    let codes = UnsubAckReasonCodes::new(&bytes[5..]).unwrap();
    check_vector(&bytes, &Packet::UnsubAck(UnsubAck::new(pid(11), codes)));
    assert!(codes.iter().eq([
        UnsubAckReasonCode::Success,
        UnsubAckReasonCode::NoSubscriptionExisted,
        UnsubAckReasonCode::TopicFilterInvalid,
    ]));
}

// PINGREQ, PINGRESP (3.12, 3.13) ----------------------------------------------------------------

#[test]
fn mqtt5_3_12_pingreq_and_3_13_pingresp() {
    check_vector(&[0xC0, 0x00], &Packet::PingReq);
    check_vector(&[0xD0, 0x00], &Packet::PingResp);
}

// DISCONNECT (3.14) ---------------------------------------------------------------------------

#[test]
fn mqtt5_3_14_disconnect_normal() {
    let d = Packet::Disconnect(Disconnect::new(DisconnectReasonCode::NormalDisconnection));
    check_vector(&[0xE0, 0x00], &d);
    check_decode(&[0xE0, 0x01, 0x00], &d);
    check_decode(&[0xE0, 0x02, 0x00, 0x00], &d);
}

#[test]
fn mqtt5_3_14_disconnect_with_will_message() {
    check_vector(
        &[0xE0, 0x01, 0x04],
        &Packet::Disconnect(Disconnect::new(
            DisconnectReasonCode::DisconnectWithWillMessage,
        )),
    );
}

#[test]
fn mqtt5_3_14_disconnect_session_taken_over_with_properties() {
    let bytes = [
        0xE0, 0x0D, 0x8E, 0x0B, //
        0x1F, 0x00, 0x02, b'b', b'y', // Reason String "by"
        0x1C, 0x00, 0x03, b'x', b'.', b'y', // Server Reference "x.y"
    ];
    let props = [
        Property::ReasonString("by"),
        Property::ServerReference("x.y"),
    ];
    let mut d = Disconnect::new(DisconnectReasonCode::SessionTakenOver);
    d.properties = Properties::new(&props);
    check_vector(&bytes, &Packet::Disconnect(d));
}

// AUTH (3.15) ---------------------------------------------------------------------------------

#[test]
fn mqtt5_3_15_auth_success_is_two_bytes() {
    // AUTH fixed header flags 0000 [MQTT-3.15.1-1].
    let a = Packet::Auth(Auth::new(AuthReasonCode::Success));
    check_vector(&[0xF0, 0x00], &a);
    assert_eq!(a.packet_type(), PacketType::Auth);
}

#[test]
fn mqtt5_3_15_auth_continue_with_method_and_data() {
    let bytes = [
        0xF0, 0x0F, 0x18, 0x0D, //
        0x15, 0x00, 0x05, b'S', b'C', b'R', b'A', b'M', // Authentication Method
        0x16, 0x00, 0x02, 0x01, 0x02, // Authentication Data
    ];
    let props = [
        Property::AuthenticationMethod("SCRAM"),
        Property::AuthenticationData(&[1, 2]),
    ];
    let mut a = Auth::new(AuthReasonCode::ContinueAuthentication);
    a.properties = Properties::new(&props);
    check_vector(&bytes, &Packet::Auth(a));
}

#[test]
fn mqtt5_3_15_auth_re_authenticate_without_properties() {
    check_vector(
        &[0xF0, 0x01, 0x19],
        &Packet::Auth(Auth::new(AuthReasonCode::ReAuthenticate)),
    );
}

// Streams ---------------------------------------------------------------------------------------

#[test]
fn several_packets_in_one_buffer_decode_one_at_a_time() {
    let stream = [
        0x20, 0x03, 0x00, 0x00, 0x00, // CONNACK
        0x40, 0x02, 0x00, 0x01, // PUBACK
        0xF0, 0x00, // AUTH
        0xE0, // start of a DISCONNECT
    ];
    let decoder = mqtt_proto::v5::Decoder::new();
    let mut rest = &stream[..];
    let mut types = Vec::new();
    while let Some((p, n)) = decoder.decode(rest).unwrap() {
        types.push(p.packet_type());
        rest = &rest[n..];
    }
    assert_eq!(
        types,
        [PacketType::ConnAck, PacketType::PubAck, PacketType::Auth]
    );
    assert_eq!(rest, &[0xE0]);
}
