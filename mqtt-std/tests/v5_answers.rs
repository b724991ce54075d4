//! What a 5.0 broker answers, through both clients: the reason code, Reason String and User
//! Properties of a publish's PUBACK or PUBREC (`publish_v5`, a refusal included), a
//! DISCONNECT with a Reason String and User Properties (`disconnect_with_properties`, refused
//! above the broker's Maximum Packet Size), the CONNACK's properties as sent, and the Topic
//! Alias of a received message. Against Mosquitto (an ACL refuses publishes on `secret/#`) and
//! scripted brokers for the exact bytes.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write as _;
use std::net::TcpStream;

use common::*;
use mqtt_proto::v5::{
    ConnAck, ConnectReasonCode, Packet, Properties, Property, PubAckReasonCode, PubResponse,
    Publish,
};
use mqtt_proto::{PacketId, QosPid, TopicName};
use mqtt_std::v5::{DisconnectProperties, DisconnectReasonCode, PublishProperties};
use mqtt_std::{Client, ClientOptions, ConnectOptions, Error, ProtocolVersion, QoS};

fn v5() -> ConnectOptions {
    ConnectOptions::default().protocol(ProtocolVersion::V5)
}

/// Mosquitto whose plain listener lets anonymous clients publish on `open/#` only, and the
/// directory of its ACL file (for the test to remove).
fn broker_with_acl() -> (mqtt_test_broker::Broker, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("mqtt-std-acl-{}", id("acl")));
    std::fs::create_dir_all(&dir).unwrap();
    let acl = dir.join("acl");
    std::fs::write(&acl, "topic readwrite open/#\n").unwrap();
    // Mosquitto started as root reads it as its own user.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&acl, std::fs::Permissions::from_mode(0o644)).unwrap();
    let b = mqtt_test_broker::Broker::builder()
        .plain_listener_line(&format!("acl_file {}", acl.display()))
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    (b, dir)
}

fn write(s: &mut TcpStream, p: &Packet<'_>) {
    let mut buf = vec![0u8; p.encoded_len()];
    let n = p.encode(&mut buf).unwrap();
    s.write_all(&buf[..n]).unwrap();
}

fn connack(s: &mut TcpStream, props: &[Property<'_>]) {
    let (first, _) = read_packet(s);
    assert_eq!(first, 0x10, "CONNECT");
    write(
        s,
        &Packet::ConnAck(ConnAck {
            session_present: false,
            reason_code: ConnectReasonCode::Success,
            properties: Properties::new(props),
        }),
    );
}

/// The packet id of a PUBLISH body (topic, then the id) at QoS 1/2.
fn publish_id(body: &[u8]) -> PacketId {
    let topic_len = usize::from(u16::from_be_bytes([body[0], body[1]]));
    let at = 2 + topic_len;
    PacketId::new(u16::from_be_bytes([body[at], body[at + 1]])).unwrap()
}

#[test]
fn publish_v5_gives_the_answer_of_mosquitto() {
    let (b, dir) = broker_with_acl();
    let c = Client::new(ClientOptions::new(id("ans"))).unwrap();
    c.connect("127.0.0.1", b.port(), &v5()).unwrap();
    let none = PublishProperties::new();
    // Nobody subscribed: Mosquitto says so on a PUBACK.
    let a = c
        .publish_v5("open/nobody", b"x", QoS::AtLeastOnce, false, &none)
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(a.reason_code, PubAckReasonCode::NoMatchingSubscribers);
    // A subscriber: success. QoS 0 reads success once written.
    let sub = Client::new(ClientOptions::new(id("ans-sub"))).unwrap();
    sub.connect("127.0.0.1", b.port(), &v5()).unwrap();
    sub.subscribe(&[("open/#", QoS::AtLeastOnce)])
        .unwrap()
        .wait()
        .unwrap();
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let a = c
            .publish_v5("open/t", b"x", qos, false, &none)
            .unwrap()
            .wait()
            .unwrap();
        assert_eq!(a.reason_code, PubAckReasonCode::Success, "{qos:?}");
        assert_eq!(recv(&sub).payload, b"x");
    }
    // The ACL refuses: the answer at QoS 1 (PUBACK) and 2 (PUBREC) is 0x87, and a plain
    // publish fails with it.
    for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let a = c
            .publish_v5("secret/t", b"x", qos, false, &none)
            .unwrap()
            .wait()
            .unwrap();
        assert_eq!(a.reason_code, PubAckReasonCode::NotAuthorized, "{qos:?}");
        assert!(a.reason_code.is_error());
        let e = c
            .publish_with("secret/t", b"x", qos, false, &none)
            .unwrap()
            .wait()
            .unwrap_err();
        assert!(
            matches!(e, Error::PublishRejected(PubAckReasonCode::NotAuthorized)),
            "{e}"
        );
    }
    assert_eq!(c.publishes_in_flight(), 0);
    c.disconnect().unwrap();
    sub.disconnect().unwrap();
    drop(b);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn tokio_publish_v5_gives_the_answer_of_mosquitto() {
    let (b, dir) = broker_with_acl();
    let (c, _messages) = mqtt_std::tokio::Client::new(ClientOptions::new(id("tk-ans"))).unwrap();
    c.connect("127.0.0.1", b.port(), &v5()).await.unwrap();
    let none = PublishProperties::new();
    let a = c
        .publish_v5("open/nobody", b"x", QoS::AtLeastOnce, false, &none)
        .await
        .unwrap();
    assert_eq!(a.reason_code, PubAckReasonCode::NoMatchingSubscribers);
    let a = c
        .publish_v5("secret/t", b"x", QoS::ExactlyOnce, false, &none)
        .await
        .unwrap();
    assert_eq!(a.reason_code, PubAckReasonCode::NotAuthorized);
    let e = c
        .publish("secret/t", b"x", QoS::AtLeastOnce, false)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::PublishRejected(_)), "{e}");
    c.disconnect().await.unwrap();
    drop(b);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A scripted broker: a CONNACK with properties, a PUBACK and a PUBREC with Reason Strings
/// and User Properties, two messages with Topic Alias 1 (the second without its topic), and
/// the client's DISCONNECT with its properties, byte for byte.
fn answers_broker(mut s: TcpStream) {
    connack(
        &mut s,
        &[
            Property::ReceiveMaximum(5),
            Property::TopicAliasMaximum(3),
            Property::ServerKeepAlive(30),
            Property::RetainAvailable(false),
            Property::MaximumPacketSize(200),
            Property::AssignedClientIdentifier("given"),
        ],
    );
    let (first, body) = read_packet(&mut s);
    assert_eq!(first & 0xF6, 0x32, "PUBLISH QoS 1");
    write(
        &mut s,
        &Packet::PubAck(PubResponse {
            packet_id: publish_id(&body),
            reason_code: PubAckReasonCode::NoMatchingSubscribers,
            properties: Properties::new(&[
                Property::ReasonString("nobody listens"),
                Property::UserProperty("k", "v"),
            ]),
        }),
    );
    let (first, body) = read_packet(&mut s);
    assert_eq!(first & 0xF6, 0x34, "PUBLISH QoS 2");
    write(
        &mut s,
        &Packet::PubRec(PubResponse {
            packet_id: publish_id(&body),
            reason_code: mqtt_proto::v5::PubRecReasonCode::QuotaExceeded,
            properties: Properties::new(&[Property::ReasonString("over quota")]),
        }),
    );
    for (topic, payload) in [(Some("aliased/t"), &b"one"[..]), (None, b"two")] {
        write(
            &mut s,
            &Packet::Publish(Publish {
                dup: false,
                qos_pid: QosPid::AtMostOnce,
                retain: false,
                topic: topic.map(|t| TopicName::new(t).unwrap()),
                properties: Properties::new(&[Property::TopicAlias(1)]),
                payload,
            }),
        );
    }
    let disconnect = read_whole_packet(&mut s);
    let mut expected = vec![0u8; 64];
    let n = Packet::Disconnect(mqtt_proto::v5::Disconnect {
        reason_code: DisconnectReasonCode::DisconnectWithWillMessage,
        properties: Properties::new(&[
            Property::ReasonString("bye"),
            Property::UserProperty("a", "b"),
        ]),
    })
    .encode(&mut expected)
    .unwrap();
    assert_eq!(disconnect, expected[..n], "DISCONNECT");
}

#[test]
fn answers_connack_properties_aliases_and_disconnect_properties() {
    let (port, peer) = scripted(answers_broker);
    let c = Client::new(ClientOptions::new("")).unwrap();
    let connected = c
        .connect("127.0.0.1", port, &v5().topic_alias_maximum(2))
        .unwrap();
    let info = connected.v5.unwrap();
    assert_eq!(info.assigned_client_id.as_deref(), Some("given"));
    assert_eq!(info.sent.receive_maximum, Some(5));
    assert_eq!(info.sent.topic_alias_maximum, Some(3));
    assert_eq!(info.sent.server_keep_alive, Some(30));
    assert_eq!(info.sent.retain_available, Some(false));
    assert_eq!(info.sent.maximum_packet_size, Some(200));
    // What the CONNACK left out reads None (the limits in force have the defaults).
    assert_eq!(info.sent.maximum_qos, None);
    assert_eq!(info.sent.session_expiry_interval, None);
    assert_eq!(info.server.unwrap().maximum_qos, QoS::ExactlyOnce);

    let none = PublishProperties::new();
    let a = c
        .publish_v5("t", b"x", QoS::AtLeastOnce, false, &none)
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(a.reason_code, PubAckReasonCode::NoMatchingSubscribers);
    assert_eq!(a.reason_string.as_deref(), Some("nobody listens"));
    assert_eq!(a.user_properties, [("k".to_string(), "v".to_string())]);
    let a = c
        .publish_v5("t", b"x", QoS::ExactlyOnce, false, &none)
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(a.reason_code, PubAckReasonCode::QuotaExceeded);
    assert_eq!(a.reason_string.as_deref(), Some("over quota"));

    // The topic is resolved; the alias is reported.
    for payload in [&b"one"[..], b"two"] {
        let m = recv(&c);
        assert_eq!((m.topic.as_str(), &m.payload[..]), ("aliased/t", payload));
        assert_eq!(m.properties.topic_alias, Some(1));
    }
    // A publish cannot choose an alias: the client sets them itself.
    let mut aliased = PublishProperties::new();
    aliased.topic_alias = Some(1);
    let e = c
        .publish_v5("t", b"x", QoS::AtMostOnce, false, &aliased)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Command(mqtt_session::CommandError::PropertyNotAllowed)
        ),
        "{e}"
    );

    // Above the broker's Maximum Packet Size of 200: refused, nothing sent, still connected.
    let long = DisconnectProperties::new().reason_string("x".repeat(300));
    let e = c
        .disconnect_with_properties(DisconnectReasonCode::NormalDisconnection, &long)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Command(mqtt_session::CommandError::PacketTooLargeForServer {
                maximum: 200,
                ..
            })
        ),
        "{e}"
    );
    assert!(c.is_connected());
    let props = DisconnectProperties::new()
        .reason_string("bye")
        .user_property("a", "b");
    c.disconnect_with_properties(DisconnectReasonCode::DisconnectWithWillMessage, &props)
        .unwrap();
    peer.join().unwrap();
}

/// The tokio client sends the same DISCONNECT and reports the same answers.
#[tokio::test]
async fn tokio_answers_connack_properties_aliases_and_disconnect_properties() {
    let (port, peer) = scripted(answers_broker);
    let (c, mut messages) = mqtt_std::tokio::Client::new(ClientOptions::new("")).unwrap();
    let connected = c
        .connect("127.0.0.1", port, &v5().topic_alias_maximum(2))
        .await
        .unwrap();
    assert_eq!(connected.v5.unwrap().sent.server_keep_alive, Some(30));
    let none = PublishProperties::new();
    let a = c
        .publish_v5("t", b"x", QoS::AtLeastOnce, false, &none)
        .await
        .unwrap();
    assert_eq!(a.reason_string.as_deref(), Some("nobody listens"));
    let a = c
        .publish_v5("t", b"x", QoS::ExactlyOnce, false, &none)
        .await
        .unwrap();
    assert_eq!(a.reason_code, PubAckReasonCode::QuotaExceeded);
    for _ in 0..2 {
        let m = tokio::time::timeout(WAIT, messages.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.topic, "aliased/t");
        assert_eq!(m.properties.topic_alias, Some(1));
    }
    let long = DisconnectProperties::new().reason_string("x".repeat(300));
    assert!(
        c.disconnect_with_properties(DisconnectReasonCode::NormalDisconnection, &long)
            .await
            .is_err()
    );
    let props = DisconnectProperties::new()
        .reason_string("bye")
        .user_property("a", "b");
    c.disconnect_with_properties(DisconnectReasonCode::DisconnectWithWillMessage, &props)
        .await
        .unwrap();
    tokio::task::spawn_blocking(move || peer.join().unwrap())
        .await
        .unwrap();
}
