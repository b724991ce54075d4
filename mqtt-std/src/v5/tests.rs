//! Unit tests of the 5.0 types: properties to the wire and back, the CONNACK's properties
//! as sent, PUBACK answers, DISCONNECT properties and reason codes from bytes.

use super::*;

#[test]
fn publish_properties_to_wire_and_back() {
    let mut p = PublishProperties::new()
        .payload_utf8(true)
        .message_expiry(30)
        .content_type("text/plain")
        .response_topic("reply/here")
        .correlation_data(b"id-1".to_vec())
        .user_property("a", "1")
        .user_property("a", "2");
    p.subscription_identifiers = vec![7, 9];
    assert!(!p.is_empty());
    let list = p.to_list().expect("valid");
    assert_eq!(list.len(), 9);
    let back = PublishProperties::received(&Properties::new(&list));
    assert_eq!(back, p);
    assert_eq!(p.size(), 10 + 10 + 4 + 4);
    assert!(PublishProperties::new().is_empty());
    assert!(
        PublishProperties::new()
            .to_list()
            .expect("empty")
            .is_empty()
    );
}

#[test]
fn a_response_topic_with_a_wildcard_is_refused() {
    let p = PublishProperties::new().response_topic("reply/#");
    assert!(p.to_list().is_err());
}

#[test]
fn connect_properties_list() {
    let c = ConnectProperties {
        session_expiry_interval: Some(3600),
        receive_maximum: Some(10),
        topic_alias_maximum: Some(5),
        request_response_information: true,
        request_problem_information: Some(false),
        user_properties: vec![("k".into(), "v".into())],
        authentication_method: None,
        authentication_data: None,
    };
    let list = c.to_list(Some(1024));
    assert_eq!(
        list,
        [
            Property::SessionExpiryInterval(3600),
            Property::ReceiveMaximum(10),
            Property::MaximumPacketSize(1024),
            Property::TopicAliasMaximum(5),
            Property::RequestResponseInformation(true),
            Property::RequestProblemInformation(false),
            Property::UserProperty("k", "v"),
        ]
    );
    assert!(ConnectProperties::default().to_list(None).is_empty());
}

#[test]
fn a_received_topic_alias_is_kept_and_a_publish_may_not_set_one() {
    let list = [Property::TopicAlias(3), Property::ContentType("t")];
    let p = PublishProperties::received(&Properties::new(&list));
    assert_eq!(p.topic_alias, Some(3));
    assert!(!p.is_empty());
    // Given back to a publish, the session refuses it (the client sets aliases).
    assert!(
        p.to_list()
            .expect("valid")
            .contains(&Property::TopicAlias(3))
    );
}

#[test]
fn connack_properties_as_sent() {
    let list = [
        Property::ReceiveMaximum(20),
        Property::TopicAliasMaximum(10),
        Property::MaximumQoS(QoS::AtLeastOnce),
        Property::RetainAvailable(false),
        Property::ServerKeepAlive(15),
        Property::SessionExpiryInterval(60),
        Property::MaximumPacketSize(1000),
        Property::WildcardSubscriptionAvailable(false),
        Property::SubscriptionIdentifierAvailable(false),
        Property::SharedSubscriptionAvailable(true),
        Property::ReasonString("hello"),
    ];
    let info = ConnAckInfo::from_props(&Properties::new(&list));
    let s = info.sent;
    assert_eq!(
        (s.receive_maximum, s.topic_alias_maximum, s.maximum_qos),
        (Some(20), Some(10), Some(QoS::AtLeastOnce))
    );
    assert_eq!(
        (
            s.retain_available,
            s.server_keep_alive,
            s.session_expiry_interval
        ),
        (Some(false), Some(15), Some(60))
    );
    assert_eq!(s.maximum_packet_size, Some(1000));
    assert_eq!(
        (
            s.wildcard_subscription_available,
            s.subscription_identifiers_available,
            s.shared_subscription_available
        ),
        (Some(false), Some(false), Some(true))
    );
    assert_eq!(info.reason_string.as_deref(), Some("hello"));
    assert_eq!(
        ConnAckInfo::from_props(&Properties::EMPTY).sent,
        ConnAckProperties::default()
    );
}

#[test]
fn puback_answers_and_disconnect_properties() {
    let list = [
        Property::ReasonString("why"),
        Property::UserProperty("k", "v"),
    ];
    let a = PubAck::from_response(0x97, &Properties::new(&list));
    assert_eq!(a.reason_code, PubAckReasonCode::QuotaExceeded);
    assert_eq!(a.reason_string.as_deref(), Some("why"));
    assert_eq!(a.user_properties, [("k".to_string(), "v".to_string())]);
    // A code PUBACK does not have reads as an unspecified error.
    assert_eq!(
        PubAck::from_response(0x04, &Properties::EMPTY).reason_code,
        PubAckReasonCode::UnspecifiedError
    );
    let d = DisconnectProperties::new()
        .session_expiry(0)
        .reason_string("bye")
        .user_property("a", "b");
    assert_eq!(
        d.to_list(),
        [
            Property::SessionExpiryInterval(0),
            Property::ReasonString("bye"),
            Property::UserProperty("a", "b"),
        ]
    );
    assert!(DisconnectProperties::new().to_list().is_empty());
}

#[test]
fn reason_codes_from_bytes() {
    assert_eq!(
        suback_codes(&[0x01, 0x87, 0x55]),
        [
            SubAckReasonCode::GrantedQoS1,
            SubAckReasonCode::NotAuthorized,
            SubAckReasonCode::UnspecifiedError
        ]
    );
    assert_eq!(
        unsuback_codes(&[0x00, 0x11], 2),
        [
            UnsubAckReasonCode::Success,
            UnsubAckReasonCode::NoSubscriptionExisted
        ]
    );
    assert_eq!(unsuback_codes(&[], 2), [UnsubAckReasonCode::Success; 2]);
}
