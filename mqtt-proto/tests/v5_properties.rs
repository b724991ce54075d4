//! MQTT 5.0 properties (section 2.2.2): a hand-written vector for each of the 27 properties,
//! decoded in a packet that allows it (whole, byte by byte, with trailing bytes) and encoded
//! back; the table of which packets allow which property; and every validation rule, on decode
//! and on encode.
#![cfg(feature = "v5")]
#![allow(clippy::unwrap_used)]

mod v5_common;

use mqtt_proto::v5::{
    Auth, AuthReasonCode, ConnAck, Connect, ConnectReasonCode, Packet, Properties, Property,
    PropertyContext, PropertyId, PropertyType, PubAck, PubAckReasonCode, Publish, Subscribe,
    SubscriptionOptions, Will,
};
use mqtt_proto::{DecodeError, EncodeError, QoS, QosPid};
use v5_common::{check_malformed, check_vector, filter, pid, topic};

/// Each property, its bytes on the wire (identifier and value, written by hand from section
/// 2.2.2.2 and the data types of section 1.5), and its data type.
fn vectors() -> Vec<(Property<'static>, Vec<u8>, PropertyType)> {
    use PropertyType::*;
    vec![
        (
            Property::PayloadFormatIndicator(true),
            vec![0x01, 0x01],
            Byte,
        ),
        (
            Property::MessageExpiryInterval(0x0102_0304),
            vec![0x02, 0x01, 0x02, 0x03, 0x04],
            FourByteInteger,
        ),
        (
            Property::ContentType("json"),
            vec![0x03, 0x00, 0x04, b'j', b's', b'o', b'n'],
            Utf8String,
        ),
        (
            Property::ResponseTopic(topic("r/1")),
            vec![0x08, 0x00, 0x03, b'r', b'/', b'1'],
            Utf8String,
        ),
        (
            Property::CorrelationData(&[0x00, 0xFF]),
            vec![0x09, 0x00, 0x02, 0x00, 0xFF],
            BinaryData,
        ),
        (
            Property::SubscriptionIdentifier(268_435_455),
            vec![0x0B, 0xFF, 0xFF, 0xFF, 0x7F],
            VariableByteInteger,
        ),
        (
            Property::SessionExpiryInterval(0xFFFF_FFFF),
            vec![0x11, 0xFF, 0xFF, 0xFF, 0xFF],
            FourByteInteger,
        ),
        (
            Property::AssignedClientIdentifier("id-7"),
            vec![0x12, 0x00, 0x04, b'i', b'd', b'-', b'7'],
            Utf8String,
        ),
        (
            Property::ServerKeepAlive(0x0102),
            vec![0x13, 0x01, 0x02],
            TwoByteInteger,
        ),
        (
            Property::AuthenticationMethod("PLAIN"),
            vec![0x15, 0x00, 0x05, b'P', b'L', b'A', b'I', b'N'],
            Utf8String,
        ),
        (
            Property::AuthenticationData(&[]),
            vec![0x16, 0x00, 0x00],
            BinaryData,
        ),
        (
            Property::RequestProblemInformation(false),
            vec![0x17, 0x00],
            Byte,
        ),
        (
            Property::WillDelayInterval(10),
            vec![0x18, 0x00, 0x00, 0x00, 0x0A],
            FourByteInteger,
        ),
        (
            Property::RequestResponseInformation(true),
            vec![0x19, 0x01],
            Byte,
        ),
        (
            Property::ResponseInformation("resp/"),
            vec![0x1A, 0x00, 0x05, b'r', b'e', b's', b'p', b'/'],
            Utf8String,
        ),
        (
            Property::ServerReference("other:1883"),
            vec![
                0x1C, 0x00, 0x0A, b'o', b't', b'h', b'e', b'r', b':', b'1', b'8', b'8', b'3',
            ],
            Utf8String,
        ),
        (
            Property::ReasonString("\u{e9}"),
            vec![0x1F, 0x00, 0x02, 0xC3, 0xA9],
            Utf8String,
        ),
        (
            Property::ReceiveMaximum(1),
            vec![0x21, 0x00, 0x01],
            TwoByteInteger,
        ),
        (
            Property::TopicAliasMaximum(0),
            vec![0x22, 0x00, 0x00],
            TwoByteInteger,
        ),
        (
            Property::TopicAlias(0xFFFF),
            vec![0x23, 0xFF, 0xFF],
            TwoByteInteger,
        ),
        (
            Property::MaximumQoS(QoS::AtMostOnce),
            vec![0x24, 0x00],
            Byte,
        ),
        (Property::RetainAvailable(true), vec![0x25, 0x01], Byte),
        (
            Property::UserProperty("n", "\u{feff}v"),
            vec![0x26, 0x00, 0x01, b'n', 0x00, 0x04, 0xEF, 0xBB, 0xBF, b'v'],
            Utf8StringPair,
        ),
        (
            Property::MaximumPacketSize(1),
            vec![0x27, 0x00, 0x00, 0x00, 0x01],
            FourByteInteger,
        ),
        (
            Property::WildcardSubscriptionAvailable(false),
            vec![0x28, 0x00],
            Byte,
        ),
        (
            Property::SubscriptionIdentifierAvailable(true),
            vec![0x29, 0x01],
            Byte,
        ),
        (
            Property::SharedSubscriptionAvailable(false),
            vec![0x2A, 0x00],
            Byte,
        ),
    ]
}

/// Section 2.2.2.2's table, written out from the standard: the contexts each identifier may
/// appear in.
fn allowed(id: u8) -> &'static [PropertyContext] {
    use PropertyContext::*;
    match id {
        0x01 | 0x02 | 0x03 | 0x08 | 0x09 => &[Publish, Will],
        0x0B => &[Publish, Subscribe],
        0x11 => &[Connect, ConnAck, Disconnect],
        0x12 | 0x13 | 0x1A | 0x24 | 0x25 | 0x28 | 0x29 | 0x2A => &[ConnAck],
        0x15 | 0x16 => &[Connect, ConnAck, Auth],
        0x17 | 0x19 => &[Connect],
        0x18 => &[Will],
        0x1C => &[ConnAck, Disconnect],
        0x1F => &[
            ConnAck, PubAck, PubRec, PubRel, PubComp, SubAck, UnsubAck, Disconnect, Auth,
        ],
        0x21 | 0x22 | 0x27 => &[Connect, ConnAck],
        0x23 => &[Publish],
        0x26 => &PropertyContext::ALL,
        _ => &[],
    }
}

/// The property read back through its typed getter.
fn through_getter<'a>(props: &Properties<'a>, id: PropertyId) -> Option<Property<'a>> {
    use PropertyId as I;
    Some(match id {
        I::PayloadFormatIndicator => {
            Property::PayloadFormatIndicator(props.payload_format_indicator()?)
        }
        I::MessageExpiryInterval => {
            Property::MessageExpiryInterval(props.message_expiry_interval()?)
        }
        I::ContentType => Property::ContentType(props.content_type()?),
        I::ResponseTopic => Property::ResponseTopic(props.response_topic()?),
        I::CorrelationData => Property::CorrelationData(props.correlation_data()?),
        I::SubscriptionIdentifier => {
            Property::SubscriptionIdentifier(props.subscription_identifier()?)
        }
        I::SessionExpiryInterval => {
            Property::SessionExpiryInterval(props.session_expiry_interval()?)
        }
        I::AssignedClientIdentifier => {
            Property::AssignedClientIdentifier(props.assigned_client_identifier()?)
        }
        I::ServerKeepAlive => Property::ServerKeepAlive(props.server_keep_alive()?),
        I::AuthenticationMethod => Property::AuthenticationMethod(props.authentication_method()?),
        I::AuthenticationData => Property::AuthenticationData(props.authentication_data()?),
        I::RequestProblemInformation => {
            Property::RequestProblemInformation(props.request_problem_information()?)
        }
        I::WillDelayInterval => Property::WillDelayInterval(props.will_delay_interval()?),
        I::RequestResponseInformation => {
            Property::RequestResponseInformation(props.request_response_information()?)
        }
        I::ResponseInformation => Property::ResponseInformation(props.response_information()?),
        I::ServerReference => Property::ServerReference(props.server_reference()?),
        I::ReasonString => Property::ReasonString(props.reason_string()?),
        I::ReceiveMaximum => Property::ReceiveMaximum(props.receive_maximum()?),
        I::TopicAliasMaximum => Property::TopicAliasMaximum(props.topic_alias_maximum()?),
        I::TopicAlias => Property::TopicAlias(props.topic_alias()?),
        I::MaximumQoS => Property::MaximumQoS(props.maximum_qos()?),
        I::RetainAvailable => Property::RetainAvailable(props.retain_available()?),
        I::UserProperty => {
            let (k, v) = props.user_properties().next()?;
            Property::UserProperty(k, v)
        }
        I::MaximumPacketSize => Property::MaximumPacketSize(props.maximum_packet_size()?),
        I::WildcardSubscriptionAvailable => {
            Property::WildcardSubscriptionAvailable(props.wildcard_subscription_available()?)
        }
        I::SubscriptionIdentifierAvailable => {
            Property::SubscriptionIdentifierAvailable(props.subscription_identifier_available()?)
        }
        I::SharedSubscriptionAvailable => {
            Property::SharedSubscriptionAvailable(props.shared_subscription_available()?)
        }
    })
}

/// A packet of `context` carrying the property bytes `prop` (Property Length and list), and
/// the same packet as a value carrying `props`. The frames around the list are hand-written.
fn carrier<'a>(
    context: PropertyContext,
    prop: &[u8],
    props: Properties<'a>,
    filters: &'a [(mqtt_proto::TopicFilter<'a>, SubscriptionOptions)],
) -> (Vec<u8>, Packet<'a>) {
    use PropertyContext as C;
    assert!(prop.len() < 100, "one-byte lengths only");
    let plen = prop.len() as u8;
    let (head, tail, packet): (Vec<u8>, Vec<u8>, Packet<'a>) = match context {
        C::Publish => {
            let mut p = Publish::new(topic("t"), QosPid::AtMostOnce, b"");
            p.properties = props;
            (vec![0x30, 0, 0x00, 0x01, b't'], vec![], Packet::Publish(p))
        }
        C::Will => {
            let mut will = Will::new(topic("w"), b"", QoS::AtMostOnce);
            will.properties = props;
            let mut c = Connect::new("", 0);
            c.will = Some(will);
            (
                vec![
                    0x10, 0, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x06, 0x00, 0x00, 0x00,
                    0x00, 0x00,
                ],
                vec![0x00, 0x01, b'w', 0x00, 0x00],
                Packet::Connect(c),
            )
        }
        C::Connect => {
            let mut c = Connect::new("", 0);
            c.properties = props;
            (
                vec![
                    0x10, 0, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x00,
                ],
                vec![0x00, 0x00],
                Packet::Connect(c),
            )
        }
        C::ConnAck => {
            let mut c = ConnAck::new(false, ConnectReasonCode::Success);
            c.properties = props;
            (vec![0x20, 0, 0x00, 0x00], vec![], Packet::ConnAck(c))
        }
        C::Subscribe => {
            let mut s = Subscribe::new(pid(1), filters);
            s.properties = props;
            (
                vec![0x82, 0, 0x00, 0x01],
                vec![0x00, 0x01, b'a', 0x00],
                Packet::Subscribe(s),
            )
        }
        C::PubAck => {
            let mut a = PubAck::new(pid(1), PubAckReasonCode::Success);
            a.properties = props;
            (vec![0x40, 0, 0x00, 0x01, 0x00], vec![], Packet::PubAck(a))
        }
        C::Auth => {
            let mut a = Auth::new(AuthReasonCode::Success);
            a.properties = props;
            (vec![0xF0, 0, 0x00], vec![], Packet::Auth(a))
        }
        other => panic!("no carrier for {other:?}"),
    };
    let mut bytes = head;
    bytes.push(plen);
    bytes.extend_from_slice(prop);
    bytes.extend_from_slice(&tail);
    bytes[1] = (bytes.len() - 2) as u8;
    (bytes, packet)
}

/// The context a property is carried in by [`carrier`].
fn carrier_context(id: PropertyId) -> PropertyContext {
    use PropertyContext as C;
    [
        C::Publish,
        C::Connect,
        C::ConnAck,
        C::Subscribe,
        C::PubAck,
        C::Auth,
        C::Will,
    ]
    .into_iter()
    .find(|c| id.allowed_in(*c))
    .unwrap()
}

#[test]
fn mqtt5_2_2_2_2_every_property_decodes_and_encodes_in_a_packet() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 27);
    let filters = [(filter("a"), SubscriptionOptions::new(QoS::AtMostOnce))];
    for (prop, wire, ty) in &vectors {
        let id = prop.id();
        assert_eq!(id.as_u8(), wire[0], "{id}");
        assert_eq!(id.property_type(), *ty, "{id}");
        assert_eq!(prop.encoded_len(), wire.len(), "{id}");
        let list = [*prop];
        let context = carrier_context(id);
        let (bytes, packet) = carrier(context, wire, Properties::new(&list), &filters);
        check_vector(&bytes, &packet);

        let decoded = Properties::from_wire(wire, context).unwrap();
        assert_eq!(decoded.iter().collect::<Vec<_>>(), [*prop], "{id}");
        assert_eq!(through_getter(&decoded, id), Some(*prop), "getter of {id}");
        assert!(decoded.contains(id));
        assert_eq!(decoded.len(), 1);
        for other in PropertyId::ALL.into_iter().filter(|o| *o != id) {
            assert_eq!(through_getter(&decoded, other), None, "{other} in {id}");
        }

        // The list on its own: Property Length, then the property.
        let mut out = vec![0u8; wire.len() + 1];
        let n = Properties::new(&list).encode(context, &mut out).unwrap();
        assert_eq!(n, wire.len() + 1);
        assert_eq!(out[0] as usize, wire.len());
        assert_eq!(&out[1..], &wire[..]);
    }
}

#[test]
fn mqtt5_2_2_2_2_which_packets_allow_which_property() {
    for (prop, wire, _) in vectors() {
        let id = prop.id();
        for context in PropertyContext::ALL {
            let expected = allowed(id.as_u8()).contains(&context);
            assert_eq!(id.allowed_in(context), expected, "{id} in {context:?}");
            let got = Properties::from_wire(&wire, context).map(|_| ());
            let want = if expected {
                Ok(())
            } else {
                Err(DecodeError::PropertyNotAllowed)
            };
            assert_eq!(got, want, "decode {id} in {context:?}");
            let list = [prop];
            let mut out = [0u8; 32];
            let got = Properties::new(&list).encode(context, &mut out).map(|_| ());
            assert_eq!(
                got,
                want.map_err(EncodeError::Invalid),
                "encode {id} in {context:?}"
            );
        }
    }
}

#[test]
fn mqtt5_2_2_2_2_a_repeated_property_is_refused_except_user_property_and_publish_subscription_identifier()
 {
    for (prop, wire, _) in vectors() {
        let id = prop.id();
        let twice = [wire.clone(), wire.clone()].concat();
        for &context in allowed(id.as_u8()) {
            let may_repeat = id == PropertyId::UserProperty
                || (id == PropertyId::SubscriptionIdentifier
                    && context == PropertyContext::Publish);
            assert_eq!(id.may_repeat(context), may_repeat);
            let got = Properties::from_wire(&twice, context).map(|p| p.len());
            let want = if may_repeat {
                Ok(2)
            } else {
                Err(DecodeError::DuplicateProperty)
            };
            assert_eq!(got, want, "{id} twice in {context:?}");
            let list = [prop, prop];
            let got = Properties::new(&list).validate(context).map(|_| 2);
            assert_eq!(got, want, "encode {id} twice in {context:?}");
        }
    }
}

#[test]
fn mqtt5_2_2_2_2_user_properties_keep_their_order() {
    let wire = [
        0x26, 0x00, 0x01, b'a', 0x00, 0x01, b'1', //
        0x23, 0x00, 0x01, //
        0x26, 0x00, 0x01, b'a', 0x00, 0x01, b'2', //
        0x26, 0x00, 0x01, b'b', 0x00, 0x00,
    ];
    let p = Properties::from_wire(&wire, PropertyContext::Publish).unwrap();
    assert!(p.user_properties().eq([("a", "1"), ("a", "2"), ("b", "")]));
    assert_eq!(p.topic_alias(), Some(1));
    assert_eq!(p.len(), 4);
    assert_eq!(p.wire_bytes(), Some(&wire[..]));
    assert_eq!(p.encoded_len(), wire.len() + 1);
}

#[test]
fn mqtt5_2_2_2_1_empty_list_is_a_property_length_of_zero() {
    let p = Properties::from_wire(&[], PropertyContext::Publish).unwrap();
    assert!(p.is_empty());
    assert_eq!(p, Properties::EMPTY);
    assert_eq!(p.iter().count(), 0);
    let mut out = [0xAA; 2];
    assert_eq!(
        Properties::EMPTY.encode(PropertyContext::PubAck, &mut out),
        Ok(1)
    );
    assert_eq!(out, [0x00, 0xAA]);
    assert_eq!(
        Properties::EMPTY.encode(PropertyContext::PubAck, &mut []),
        Err(EncodeError::BufferTooSmall { required: 1 })
    );
}

/// A QoS 0 PUBLISH to "t" whose property list is `props`, hand-framed.
fn publish_with(props: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0x30, 0x00, 0x00, 0x01, b't', props.len() as u8];
    bytes.extend_from_slice(props);
    bytes[1] = (bytes.len() - 2) as u8;
    bytes
}

/// A CONNACK whose property list is `props`, hand-framed.
fn connack_with(props: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0x20, 0x00, 0x00, 0x00, props.len() as u8];
    bytes.extend_from_slice(props);
    bytes[1] = (bytes.len() - 2) as u8;
    bytes
}

#[test]
fn mqtt5_2_2_2_2_unknown_property_identifiers() {
    for id in [
        0x00, 0x04, 0x0A, 0x10, 0x14, 0x1B, 0x20, 0x2B, 0x7F, 0x80, 0xFF,
    ] {
        check_malformed(
            &publish_with(&[id, 0x00, 0x00]),
            DecodeError::UnknownProperty,
        );
        assert_eq!(
            Properties::from_wire(&[id], PropertyContext::Connect),
            Err(DecodeError::UnknownProperty)
        );
    }
}

#[test]
fn mqtt5_2_2_2_2_property_not_allowed_in_the_packet() {
    // Session Expiry Interval in a PUBLISH, Topic Alias in a CONNACK, Will Delay in CONNECT.
    check_malformed(
        &publish_with(&[0x11, 0, 0, 0, 1]),
        DecodeError::PropertyNotAllowed,
    );
    check_malformed(
        &connack_with(&[0x23, 0, 1]),
        DecodeError::PropertyNotAllowed,
    );
    check_malformed(
        &[0x40, 0x07, 0x00, 0x01, 0x00, 0x03, 0x23, 0x00, 0x01],
        DecodeError::PropertyNotAllowed,
    );
}

#[test]
fn mqtt5_2_2_2_2_duplicate_in_a_packet() {
    check_malformed(
        &publish_with(&[0x23, 0, 1, 0x23, 0, 2]),
        DecodeError::DuplicateProperty,
    );
    // A Subscription Identifier may repeat in PUBLISH, not in SUBSCRIBE (section 3.8.2.1.2).
    check_malformed(
        &[
            0x82, 0x0A, 0x00, 0x01, 0x04, 0x0B, 0x01, 0x0B, 0x02, 0x00, 0x01, b'a', 0x00,
        ][..],
        DecodeError::DuplicateProperty,
    );
}

#[test]
fn mqtt5_3_3_2_8_topic_alias_zero() {
    check_malformed(
        &publish_with(&[0x23, 0x00, 0x00]),
        DecodeError::ZeroTopicAlias,
    );
    assert_eq!(DecodeError::ZeroTopicAlias.rule_v5(), Some("MQTT-3.3.2-8"));
}

#[test]
fn mqtt5_3_3_2_3_8_subscription_identifier_zero() {
    check_malformed(
        &publish_with(&[0x0B, 0x00]),
        DecodeError::ZeroSubscriptionIdentifier,
    );
}

#[test]
fn mqtt5_3_2_2_3_3_receive_maximum_zero_and_maximum_packet_size_zero() {
    check_malformed(
        &connack_with(&[0x21, 0x00, 0x00]),
        DecodeError::ZeroReceiveMaximum,
    );
    check_malformed(
        &connack_with(&[0x27, 0x00, 0x00, 0x00, 0x00]),
        DecodeError::ZeroMaximumPacketSize,
    );
}

#[test]
fn mqtt5_2_2_2_2_byte_properties_are_0_or_1() {
    for (id, context) in [
        (0x01, PropertyContext::Publish),
        (0x17, PropertyContext::Connect),
        (0x19, PropertyContext::Connect),
        (0x24, PropertyContext::ConnAck),
        (0x25, PropertyContext::ConnAck),
        (0x28, PropertyContext::ConnAck),
        (0x29, PropertyContext::ConnAck),
        (0x2A, PropertyContext::ConnAck),
    ] {
        for value in [0x02, 0x80, 0xFF] {
            assert_eq!(
                Properties::from_wire(&[id, value], context),
                Err(DecodeError::InvalidPropertyByte),
                "0x{id:02X} = {value}"
            );
        }
        assert!(Properties::from_wire(&[id, 0x01], context).is_ok());
    }
    // Maximum QoS 2 is a Protocol Error (section 3.2.2.3.4).
    check_malformed(
        &connack_with(&[0x24, 0x02]),
        DecodeError::InvalidPropertyByte,
    );
    check_malformed(
        &publish_with(&[0x01, 0x02]),
        DecodeError::InvalidPropertyByte,
    );
}

#[test]
fn mqtt5_1_5_4_1_ill_formed_utf8_in_strings_and_pairs() {
    // Ill-formed UTF-8 and surrogates are refused in every string property [MQTT-1.5.4-1],
    // the Content Type [MQTT-3.3.2-19] and Response Topic [MQTT-3.3.2-13] among them, and in
    // either string of a User Property [MQTT-1.5.7-1].
    let bad: [&[u8]; 4] = [
        &[0xC3, 0x28],             // invalid continuation
        &[0xED, 0xA0, 0x80],       // U+D800, a surrogate
        &[0xC0, 0x80],             // overlong U+0000
        &[0xF4, 0x90, 0x80, 0x80], // above U+10FFFF
    ];
    for s in bad {
        let mut string = vec![0x00, s.len() as u8];
        string.extend_from_slice(s);
        for (id, context) in [
            (0x03, PropertyContext::Publish),
            (0x08, PropertyContext::Publish),
            (0x12, PropertyContext::ConnAck),
            (0x15, PropertyContext::Auth),
            (0x1A, PropertyContext::ConnAck),
            (0x1C, PropertyContext::Disconnect),
            (0x1F, PropertyContext::PubAck),
        ] {
            let wire = [&[id][..], &string].concat();
            assert_eq!(
                Properties::from_wire(&wire, context),
                Err(DecodeError::InvalidUtf8),
                "0x{id:02X} {s:02X?}"
            );
        }
        let name_bad = [&[0x26][..], &string, &[0x00, 0x01, b'v']].concat();
        let value_bad = [&[0x26, 0x00, 0x01, b'n'][..], &string].concat();
        for wire in [name_bad, value_bad] {
            assert_eq!(
                Properties::from_wire(&wire, PropertyContext::Publish),
                Err(DecodeError::InvalidUtf8),
                "{wire:02X?}"
            );
        }
    }
    check_malformed(
        &publish_with(&[0x03, 0x00, 0x02, 0xED, 0xBF]),
        DecodeError::InvalidUtf8,
    );
}

#[test]
fn mqtt5_1_5_4_2_null_character_in_strings_and_pairs() {
    // U+0000 in a string property or either string of a User Property [MQTT-1.5.4-2,
    // MQTT-1.5.7-1].
    for wire in [
        &[0x03, 0x00, 0x01, 0x00][..],
        &[0x1F, 0x00, 0x02, b'a', 0x00],
        &[0x26, 0x00, 0x01, 0x00, 0x00, 0x00],
        &[0x26, 0x00, 0x00, 0x00, 0x01, 0x00],
    ] {
        let context = if wire[0] == 0x1F {
            PropertyContext::PubAck
        } else {
            PropertyContext::Publish
        };
        assert_eq!(
            Properties::from_wire(wire, context),
            Err(DecodeError::NullCharacter),
            "{wire:02X?}"
        );
    }
    check_malformed(
        &publish_with(&[0x26, 0x00, 0x01, b'k', 0x00, 0x01, 0x00]),
        DecodeError::NullCharacter,
    );
}

#[test]
fn mqtt5_3_3_2_14_response_topic_without_wildcards() {
    // A Response Topic with a wildcard (or empty) is refused [MQTT-3.3.2-14].
    for topic in [&b"a/#"[..], b"+", b""] {
        let mut wire = vec![0x08, 0x00, topic.len() as u8];
        wire.extend_from_slice(topic);
        assert_eq!(
            Properties::from_wire(&wire, PropertyContext::Publish),
            Err(DecodeError::InvalidTopicName),
            "{topic:?}"
        );
    }
}

#[test]
fn mqtt5_1_5_5_1_variable_byte_integers_in_shortest_form() {
    // Subscription Identifier 1 padded to two bytes; 0 padded; a fifth byte.
    check_malformed(
        &publish_with(&[0x0B, 0x81, 0x00]),
        DecodeError::NonMinimalVariableByteInteger,
    );
    check_malformed(
        &publish_with(&[0x0B, 0x80, 0x80, 0x00]),
        DecodeError::NonMinimalVariableByteInteger,
    );
    check_malformed(
        &publish_with(&[0x0B, 0x80, 0x80, 0x80, 0x80, 0x01]),
        DecodeError::VariableByteIntegerTooLong,
    );
    // The Property Length itself padded: 0 as `80 00`.
    check_malformed(
        &[0x30, 0x05, 0x00, 0x01, b't', 0x80, 0x00],
        DecodeError::NonMinimalVariableByteInteger,
    );
    assert_eq!(
        DecodeError::NonMinimalVariableByteInteger.rule_v5(),
        Some("MQTT-1.5.5-1")
    );
}

#[test]
fn mqtt5_2_2_2_1_length_running_past_the_end() {
    // Property Length 6 with 3 bytes of properties in the packet.
    check_malformed(
        &[0x30, 0x07, 0x00, 0x01, b't', 0x06, 0x23, 0x00, 0x01],
        DecodeError::MalformedLength,
    );
    // A value running past the Property Length: a four byte integer in a 2-byte list,
    // followed by payload bytes that must not be read as the rest of it.
    check_malformed(
        &[0x30, 0x08, 0x00, 0x01, b't', 0x02, 0x02, 0x00, 0x00, 0x00],
        DecodeError::MalformedLength,
    );
    // A string whose length prefix runs past the list.
    assert_eq!(
        Properties::from_wire(&[0x1F, 0x00, 0x05, b'a'], PropertyContext::PubAck),
        Err(DecodeError::MalformedLength)
    );
    assert_eq!(
        Properties::from_wire(&[0x26, 0x00, 0x01, b'a', 0x00], PropertyContext::PubAck),
        Err(DecodeError::MalformedLength)
    );
}

#[test]
fn encoder_refuses_what_the_decoder_refuses() {
    let cases: [(Property<'_>, PropertyContext, DecodeError); 9] = [
        (
            Property::TopicAlias(0),
            PropertyContext::Publish,
            DecodeError::ZeroTopicAlias,
        ),
        (
            Property::SubscriptionIdentifier(0),
            PropertyContext::Subscribe,
            DecodeError::ZeroSubscriptionIdentifier,
        ),
        (
            Property::SubscriptionIdentifier(268_435_456),
            PropertyContext::Publish,
            DecodeError::VariableByteIntegerTooLong,
        ),
        (
            Property::ReceiveMaximum(0),
            PropertyContext::Connect,
            DecodeError::ZeroReceiveMaximum,
        ),
        (
            Property::MaximumPacketSize(0),
            PropertyContext::ConnAck,
            DecodeError::ZeroMaximumPacketSize,
        ),
        (
            Property::MaximumQoS(QoS::ExactlyOnce),
            PropertyContext::ConnAck,
            DecodeError::InvalidPropertyByte,
        ),
        (
            Property::ReasonString("a\0"),
            PropertyContext::PubAck,
            DecodeError::NullCharacter,
        ),
        (
            Property::UserProperty("k", "\0"),
            PropertyContext::Auth,
            DecodeError::NullCharacter,
        ),
        (
            Property::TopicAlias(1),
            PropertyContext::ConnAck,
            DecodeError::PropertyNotAllowed,
        ),
    ];
    for (prop, context, error) in cases {
        let list = [prop];
        let mut out = [0xA5u8; 16];
        assert_eq!(
            Properties::new(&list).encode(context, &mut out),
            Err(EncodeError::Invalid(error)),
            "{prop:?}"
        );
        assert!(
            out.iter().all(|&b| b == 0xA5),
            "nothing written for {prop:?}"
        );
    }
    let long = "x".repeat(65_536);
    let list = [Property::ContentType(&long)];
    assert_eq!(
        Properties::new(&list).validate(PropertyContext::Publish),
        Err(DecodeError::StringTooLong)
    );
    let data = vec![0u8; 65_536];
    let list = [Property::CorrelationData(&data)];
    assert_eq!(
        Properties::new(&list).validate(PropertyContext::Will),
        Err(DecodeError::StringTooLong)
    );
}

#[test]
fn a_decoded_list_moved_to_another_packet_is_checked_again() {
    // A Topic Alias decoded from a PUBLISH may not go into a PUBACK.
    let wire = [0x23, 0x00, 0x01];
    let props = Properties::from_wire(&wire, PropertyContext::Publish).unwrap();
    let mut ack = PubAck::new(pid(1), PubAckReasonCode::Success);
    ack.properties = props;
    let mut out = [0u8; 16];
    assert_eq!(
        Packet::PubAck(ack).encode(&mut out),
        Err(EncodeError::Invalid(DecodeError::PropertyNotAllowed))
    );
    // And the same list in a PUBLISH encodes its bytes as they are.
    let mut p = Publish::new(topic("t"), QosPid::AtMostOnce, b"");
    p.properties = props;
    let n = Packet::Publish(p).encode(&mut out).unwrap();
    assert_eq!(
        &out[..n],
        &[0x30, 0x07, 0x00, 0x01, b't', 0x03, 0x23, 0x00, 0x01]
    );
}

#[test]
fn decoded_and_built_lists_compare_equal() {
    let wire = [
        0x02, 0x00, 0x00, 0x00, 0x05, 0x26, 0x00, 0x01, b'a', 0x00, 0x00,
    ];
    let decoded = Properties::from_wire(&wire, PropertyContext::Publish).unwrap();
    let list = [
        Property::MessageExpiryInterval(5),
        Property::UserProperty("a", ""),
    ];
    assert_eq!(decoded, Properties::new(&list));
    let reversed = [list[1], list[0]];
    assert_ne!(decoded, Properties::new(&reversed));
    assert_eq!(
        format!("{decoded:?}"),
        format!("{:?}", Properties::new(&list))
    );
}

/// A list that is valid UTF-8 as a whole may still hold a string that is not valid on its own:
/// a length byte can be the lead of a character whose continuation bytes open the string, and
/// a string can end inside a character that the next length prefix completes. The decoder
/// checks each string on its own whatever the whole list looks like [MQTT-1.5.4-1].
#[test]
fn mqtt5_1_5_4_1_each_string_is_checked_on_its_own_in_a_list_that_is_utf8_as_a_whole() {
    // Reason String of 195 bytes (length 0x00C3) starting with 0xA9: `C3 A9` is "é" in the
    // list, but the string itself starts with a continuation byte.
    let mut starts_inside = vec![0x1F, 0x00, 0xC3, 0xA9];
    starts_inside.resize(3 + 195, b'a');
    // User Property name "a" + 0xE2, value of 0x82AC bytes: `E2 82 AC` is "€" in the list,
    // but the name ends in the middle of a character.
    let mut ends_inside = vec![0x26, 0x00, 0x02, b'a', 0xE2, 0x82, 0xAC];
    ends_inside.resize(7 + 0x82AC, b'v');
    for (wire, context) in [
        (&starts_inside, PropertyContext::PubAck),
        (&ends_inside, PropertyContext::Publish),
    ] {
        assert!(core::str::from_utf8(wire).is_ok(), "the list is UTF-8");
        assert_eq!(
            Properties::from_wire(wire, context),
            Err(DecodeError::InvalidUtf8)
        );
    }
    // The same shapes with strings that are valid on their own decode, and the getters give
    // the strings back.
    let mut fine = vec![0x1F, 0x00, 0xC3];
    fine.resize(3 + 195, b'a');
    let p = Properties::from_wire(&fine, PropertyContext::PubAck).unwrap();
    assert_eq!(p.reason_string(), Some(&*"a".repeat(195)));
    let wire = [
        &[0x03, 0x00, 0x06][..],
        "é/€".as_bytes(),
        &[0x26, 0x00, 0x00, 0x00, 0x02],
        "é".as_bytes(),
    ]
    .concat();
    let p = Properties::from_wire(&wire, PropertyContext::Publish).unwrap();
    assert_eq!(p.content_type(), Some("é/€"));
    assert!(p.user_properties().eq([("", "é")]));
    let list = [
        Property::ContentType("é/€"),
        Property::UserProperty("", "é"),
    ];
    assert_eq!(p, Properties::new(&list));
}

/// U+0000 is found at any place in strings of any length, whether the list is valid UTF-8 as a
/// whole or not (here made not so by a Correlation Data byte of 0xFF in front).
#[test]
fn mqtt5_1_5_4_2_null_character_at_any_place_in_strings_of_any_length() {
    for len in 1..=40usize {
        for at in (0..len).map(Some).chain([None]) {
            let mut s = vec![b'a'; len];
            if let Some(i) = at {
                s[i] = 0x00;
            }
            let content_type = [&[0x03, 0x00, len as u8][..], &s].concat();
            let user = [&[0x26, 0x00, 0x01, b'k', 0x00, len as u8][..], &s].concat();
            for text in [content_type, user] {
                for prefix in [&[][..], &[0x09, 0x00, 0x01, 0xFF]] {
                    let wire = [prefix, &text].concat();
                    let got = Properties::from_wire(&wire, PropertyContext::Publish);
                    match at {
                        Some(_) => assert_eq!(got, Err(DecodeError::NullCharacter), "{wire:02X?}"),
                        None => {
                            let p = got.unwrap();
                            let read = p
                                .content_type()
                                .or_else(|| p.user_properties().next().map(|(_, v)| v));
                            assert_eq!(read.map(str::as_bytes), Some(&s[..]), "{wire:02X?}");
                        }
                    }
                }
            }
        }
    }
}

/// Getters, iteration and counting on a list whose bytes are not valid UTF-8 as a whole (a
/// binary value, integers with bytes of 0x80 and more) and on the same properties in a list
/// that is: the same answers.
#[test]
fn decoded_lists_read_the_same_whether_utf8_as_a_whole_or_not() {
    let tail = [
        &[0x26, 0x00, 0x02][..],
        "é".as_bytes(),
        &[0x00, 0x01, b'v'],
        &[0x03, 0x00, 0x04, b'j', b's', b'o', b'n'],
        &[0x08, 0x00, 0x03, b'r', b'/', b'1'],
        &[0x23, 0x00, 0x05],
        &[0x26, 0x00, 0x01, b'k', 0x00, 0x00],
        &[0x0B, 0x01],
    ]
    .concat();
    // Correlation Data, Message Expiry Interval, a Subscription Identifier (300 takes two
    // bytes, the first above 0x7F; 100 takes one).
    let binary = [
        &[
            0x09, 0x00, 0x02, 0xFF, 0x00, 0x02, 0x80, 0x00, 0x00, 0x01, 0x0B, 0xAC, 0x02,
        ][..],
        &tail,
    ]
    .concat();
    let text = [
        &[
            0x09, 0x00, 0x02, b'c', b'd', 0x02, 0x00, 0x00, 0x00, 0x3C, 0x0B, 0x64,
        ][..],
        &tail,
    ]
    .concat();
    assert!(core::str::from_utf8(&binary).is_err());
    assert!(core::str::from_utf8(&text).is_ok());
    for (wire, data, expiry, sub) in [
        (&binary, &[0xFF, 0x00][..], 0x8000_0001, 300),
        (&text, b"cd", 60, 100),
    ] {
        let p = Properties::from_wire(wire, PropertyContext::Publish).unwrap();
        let list = [
            Property::CorrelationData(data),
            Property::MessageExpiryInterval(expiry),
            Property::SubscriptionIdentifier(sub),
            Property::UserProperty("é", "v"),
            Property::ContentType("json"),
            Property::ResponseTopic(topic("r/1")),
            Property::TopicAlias(5),
            Property::UserProperty("k", ""),
            Property::SubscriptionIdentifier(1),
        ];
        assert_eq!(p.iter().collect::<Vec<_>>(), list);
        assert_eq!(p.len(), list.len());
        assert_eq!(p.correlation_data(), Some(data));
        assert_eq!(p.message_expiry_interval(), Some(expiry));
        assert_eq!(p.content_type(), Some("json"));
        assert_eq!(p.response_topic(), Some(topic("r/1")));
        assert_eq!(p.topic_alias(), Some(5));
        assert_eq!(p.subscription_identifier(), Some(sub));
        assert!(p.subscription_identifiers().eq([sub, 1]));
        assert!(p.user_properties().eq([("é", "v"), ("k", "")]));
        assert_eq!(p.payload_format_indicator(), None);
        assert!(!p.contains(PropertyId::PayloadFormatIndicator));
        assert!(p.contains(PropertyId::SubscriptionIdentifier));
        for id in PropertyId::ALL {
            let present = list.iter().any(|q| q.id() == id);
            assert_eq!(p.contains(id), present, "{id}");
            assert_eq!(through_getter(&p, id).is_some(), present, "{id}");
        }
    }
    // No User Property, no Subscription Identifier: the iterators are empty.
    let p = Properties::from_wire(&[0x23, 0x00, 0x05], PropertyContext::Publish).unwrap();
    assert_eq!(p.user_properties().count(), 0);
    assert_eq!(p.subscription_identifiers().count(), 0);
}
