//! `mqttc script` and `mqttc -d` at MQTT 5.0 against a private Mosquitto (and a scripted
//! broker where Mosquitto cannot be made to send something): CONNECT and CONNACK properties,
//! publish properties through to the subscriber's `message`, the PUBACK/PUBREC reason codes
//! of `published` and of a refusal, subscription options and reason codes, UNSUBACK reason
//! codes, DISCONNECT with a reason code and properties both ways, and the 5.0 lines of `-d`.
#![allow(clippy::unwrap_used)]

mod common;
mod script;

use std::io::Write;
use std::net::TcpStream;
use std::process::{Command, Stdio};

use common::*;
use script::{MQTTC, Script, broker_with_acl};
use serde_json::json;

#[test]
fn connect_properties_and_what_the_connack_said() {
    let b = mqtt_test_broker::Broker::builder()
        .config_line("max_keepalive 30")
        .config_line("max_packet_size 100000")
        .config_line("retain_available false")
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut s = Script::start();
    // An empty client id: the broker assigns one.
    let ack = s.connect5(
        b.port(),
        json!({"client_id": "", "keep_alive": 60, "properties": {
            "session_expiry_interval": 0, "receive_maximum": 5, "maximum_packet_size": 4096,
            "topic_alias_maximum": 4, "request_problem_information": true,
            "request_response_information": false, "user_properties": [["site", "lab-2"]]}}),
    );
    assert_eq!(ack["return_code"], 0, "{ack}");
    assert_eq!(ack["reason_code"], 0, "{ack}");
    assert_eq!(ack["session_present"], false);
    let p = &ack["properties"];
    assert!(
        p["assigned_client_identifier"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{ack}"
    );
    // What this broker's configuration makes it send.
    assert_eq!(p["server_keep_alive"], 30, "{ack}");
    assert_eq!(p["maximum_packet_size"], 100_000, "{ack}");
    assert_eq!(p["retain_available"], false, "{ack}");
    // Not sent: not reported (the defaults apply).
    assert!(p.get("maximum_qos").is_none(), "{ack}");
    assert!(p.get("session_expiry_interval").is_none(), "{ack}");
    // The broker took the CONNECT's Maximum Packet Size: a larger message is not sent to
    // this client [MQTT-3.1.2-25], the next small one is.
    s.send(json!({"cmd": "subscribe", "filters": [{"filter": "mp/#", "qos": 1}]}));
    s.expect("suback");
    s.send(json!({"cmd": "publish", "topic": "mp/big", "payload": "x".repeat(5000), "qos": 1}));
    s.expect("published");
    s.send(json!({"cmd": "publish", "topic": "mp/small", "payload": "x", "qos": 1}));
    s.expect("published");
    assert_eq!(s.expect("message")["topic"], "mp/small");
    s.send(json!({"cmd": "disconnect"}));
    assert_eq!(s.expect("disconnected")["reason"], "local");

    // Session expiry: with clean_session off the session outlives the connection.
    let id = id("sx");
    let ack = s.connect5(
        b.port(),
        json!({"client_id": id, "clean_session": false,
               "properties": {"session_expiry_interval": 60}}),
    );
    assert_eq!(ack["session_present"], false, "{ack}");
    s.send(json!({"cmd": "disconnect"}));
    s.expect("disconnected");
    let ack = s.connect5(
        b.port(),
        json!({"client_id": id, "clean_session": false,
               "properties": {"session_expiry_interval": 60}}),
    );
    assert_eq!(ack["session_present"], true, "{ack}");
    // A DISCONNECT that sets the interval to 0 ends it.
    s.send(json!({"cmd": "disconnect", "properties": {"session_expiry_interval": 0}}));
    s.expect("disconnected");
    let ack = s.connect5(b.port(), json!({"client_id": id, "clean_session": false}));
    assert_eq!(ack["session_present"], false, "{ack}");
    s.send(json!({"cmd": "disconnect"}));
    s.expect("disconnected");
    s.exit();
}

#[test]
fn a_refused_connect_gives_its_reason_code() {
    let b = broker();
    let mut s = Script::start();
    let ack = s.connect5(
        b.auth_port(),
        json!({"client_id": id("bad"), "username": "tester", "password": "wrong"}),
    );
    assert_eq!(ack["session_present"], false, "{ack}");
    // Mosquitto answers 0x86 (bad user name or password) or 0x87 (not authorized).
    let code = ack["reason_code"].as_u64().unwrap();
    assert!(code == 0x86 || code == 0x87, "{ack}");
    assert_eq!(ack["return_code"], code);
    let ended = s.expect("disconnected");
    assert_eq!(ended["reason"], "refused", "{ended}");
    assert_eq!(ended["reason_code"], code, "{ended}");
    s.exit();
}

#[test]
fn publish_properties_reach_the_subscriber_and_the_answers_come_back() {
    let (b, dir) = broker_with_acl();
    let mut sub = Script::start();
    sub.connect5(b.port(), json!({"client_id": id("psub")}));
    sub.send(json!({"cmd": "subscribe", "subscription_identifier": 9,
                    "filters": [{"filter": "v5/props/#", "qos": 2}]}));
    assert_eq!(sub.expect("suback")["reason_codes"], json!([2]));

    let mut publisher = Script::start();
    publisher.connect5(b.port(), json!({"client_id": id("ppub")}));
    let props = json!({
        "message_expiry_interval": 300, "content_type": "text/plain",
        "response_topic": "v5/reply", "correlation_data_hex": "00ff10",
        "payload_format_indicator": 1, "user_properties": [["k", "v"], ["k", "w"]]
    });
    for qos in 0..3 {
        publisher.send(json!({"cmd": "publish", "topic": format!("v5/props/{qos}"),
                              "payload": "hi", "qos": qos, "properties": props}));
        let done = publisher.expect("published");
        assert_eq!(done["reason_code"], 0, "{done}");
        assert_eq!(done["packet_id"].is_null(), qos == 0, "{done}");
        let m = sub.expect("message");
        assert_eq!(m["topic"], format!("v5/props/{qos}"), "{m}");
        let p = &m["properties"];
        assert_eq!(p["content_type"], "text/plain", "{m}");
        assert_eq!(p["response_topic"], "v5/reply", "{m}");
        assert_eq!(p["correlation_data_hex"], "00ff10", "{m}");
        assert_eq!(p["payload_format_indicator"], 1, "{m}");
        assert_eq!(p["user_properties"], json!([["k", "v"], ["k", "w"]]), "{m}");
        assert_eq!(p["subscription_identifiers"], json!([9]), "{m}");
        // What is left of the interval when the broker forwards it.
        let left = p["message_expiry_interval"].as_u64().unwrap();
        assert!(left > 0 && left <= 300, "{m}");
        assert!(p.get("topic_alias").is_none(), "{m}");
    }
    // Without properties a message has none.
    publisher.send(json!({"cmd": "publish", "topic": "v5/props/bare", "payload": "x"}));
    publisher.expect("published");
    let m = sub.expect("message");
    assert_eq!(
        m["properties"],
        json!({"subscription_identifiers": [9]}),
        "{m}"
    );

    // Nobody subscribed: Mosquitto's PUBACK says so (0x10), a success.
    publisher.send(json!({"cmd": "publish", "topic": "v5/nobody", "payload": "x", "qos": 1}));
    let done = publisher.expect("published");
    assert_eq!(done["reason_code"], 0x10, "{done}");
    // The ACL refuses: PUBACK and PUBREC 0x87, an error event with the packet id and code.
    for qos in [1, 2] {
        publisher.send(
            json!({"cmd": "publish", "topic": "secret/t", "payload": "x",
                              "qos": qos}),
        );
        let e = publisher.expect("error");
        assert_eq!(e["cmd"], "publish", "{e}");
        assert_eq!(e["reason_code"], 0x87, "{e}");
        assert!(e["packet_id"].as_u64().is_some(), "{e}");
        assert!(
            e["error"]
                .as_str()
                .unwrap()
                .contains("not authorized (0x87)"),
            "{e}"
        );
    }
    // A property PUBLISH does not carry, and a topic alias (the client picks them), are
    // refused before anything is sent.
    publisher.send(json!({"cmd": "publish", "topic": "v5/t", "properties":
                          {"session_expiry_interval": 5}}));
    assert!(
        publisher
            .expect_error("publish")
            .contains("not a PUBLISH property")
    );
    publisher.send(json!({"cmd": "publish", "topic": "v5/t", "properties":
                          {"topic_alias": 1}}));
    assert!(
        publisher
            .expect_error("publish")
            .contains("not supported yet")
    );
    publisher.send(json!({"cmd": "publish", "topic": "v5/t", "properties":
                          {"response_topic": "v5/#"}}));
    publisher.expect_error("publish");

    // Outgoing topic aliases set by the client: the messages arrive under their names.
    let mut aliasing = Script::start();
    aliasing.connect5(
        b.port(),
        json!({"client_id": id("alias"), "topic_aliases": 2}),
    );
    for payload in ["one", "two"] {
        aliasing.send(json!({"cmd": "publish", "topic": "v5/props/aliased",
                             "payload": payload}));
        aliasing.expect("published");
        let m = sub.expect("message");
        assert_eq!(
            (m["topic"].as_str(), m["payload"].as_str()),
            (Some("v5/props/aliased"), Some(payload)),
            "{m}"
        );
    }
    aliasing.exit();
    publisher.exit();
    sub.exit();
    drop(b);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn subscription_options_and_reason_codes() {
    let b = broker();
    let mut s = Script::start();
    s.connect5(b.port(), json!({"client_id": id("opts")}));
    // A retained message on each of two topics.
    for t in ["so/keep", "so/skip"] {
        s.send(
            json!({"cmd": "publish", "topic": t, "payload": "retained", "qos": 1,
                      "retain": true}),
        );
        s.expect("published");
    }
    s.send(json!({"cmd": "subscribe", "filters": [
        {"filter": "so/own", "qos": 1, "no_local": true},
        {"filter": "so/keep", "qos": 2, "retain_as_published": true},
        {"filter": "so/skip", "qos": 0, "retain_handling": 2},
        {"filter": "so/marker", "qos": 1}
    ]}));
    let suback = s.expect("suback");
    assert_eq!(suback["reason_codes"], json!([1, 2, 0, 1]), "{suback}");
    assert!(suback.get("return_codes").is_none(), "{suback}");
    // The retained message of so/keep comes (retain flag kept); so/skip's does not
    // (Retain Handling 2), nor the client's own message on the No Local filter.
    let m = s.expect("message");
    assert_eq!(
        (m["topic"].as_str(), m["retain"].as_bool()),
        (Some("so/keep"), Some(true))
    );
    s.send(json!({"cmd": "publish", "topic": "so/own", "payload": "own", "qos": 1}));
    s.expect("published");
    s.send(
        json!({"cmd": "publish", "topic": "so/keep", "payload": "live", "qos": 1,
                  "retain": true}),
    );
    s.expect("published");
    // Retain As Published: a live retained message keeps its flag.
    let m = s.expect("message");
    assert_eq!(
        (m["payload"].as_str(), m["retain"].as_bool()),
        (Some("live"), Some(true)),
        "{m}"
    );
    s.send(json!({"cmd": "publish", "topic": "so/marker", "payload": "marker", "qos": 1}));
    let m = s.expect("message");
    assert_eq!(
        m["payload"], "marker",
        "nothing else before the marker: {m}"
    );

    s.send(json!({"cmd": "unsubscribe", "filters": ["so/own", "so/never"]}));
    let unsuback = s.expect("unsuback");
    assert_eq!(unsuback["reason_codes"], json!([0, 0x11]), "{unsuback}");
    // Bad options are refused before anything is sent.
    s.send(json!({"cmd": "subscribe", "filters": [{"filter": "x", "retain_handling": 3}]}));
    s.expect_error("subscribe");
    s.send(json!({"cmd": "subscribe", "subscription_identifier": 0,
                  "filters": [{"filter": "x"}]}));
    s.expect_error("subscribe");
    s.send(json!({"cmd": "subscribe", "filters": [{"filter": "x"}],
                  "properties": {"user_properties": [["a", "b"]]}}));
    assert!(s.expect_error("subscribe").contains("not supported yet"));
    s.send(json!({"cmd": "unsubscribe", "filters": ["x"],
                  "properties": {"user_properties": [["a", "b"]]}}));
    assert!(s.expect_error("unsubscribe").contains("not supported yet"));
    s.exit();
}

#[test]
fn disconnect_with_a_reason_code_and_the_will() {
    let b = broker();
    let mut watcher = Script::start();
    watcher.connect5(b.port(), json!({"client_id": id("watch")}));
    watcher.send(json!({"cmd": "subscribe", "filters": [{"filter": "dw/#", "qos": 1}]}));
    watcher.expect("suback");

    let mut s = Script::start();
    let will = json!({"topic": "dw/will", "payload": "gone", "qos": 1, "properties": {
        "will_delay_interval": 0, "content_type": "text/plain",
        "user_properties": [["why", "test"]]}});
    s.connect5(b.port(), json!({"client_id": id("dw"), "will": will}));
    // A code only servers send, and properties DISCONNECT does not carry, are refused.
    s.send(json!({"cmd": "disconnect", "reason_code": 0x8e}));
    assert!(s.expect_error("disconnect").contains("MQTT-3.14.2-1"));
    s.send(json!({"cmd": "disconnect", "properties": {"server_reference": "x"}}));
    s.expect_error("disconnect");
    // 0x04: the broker publishes the will all the same.
    s.send(
        json!({"cmd": "disconnect", "reason_code": 4, "properties": {
        "reason_string": "leaving with my will", "user_properties": [["a", "b"]]}}),
    );
    assert_eq!(s.expect("disconnected")["reason"], "local");
    let m = watcher.expect("message");
    assert_eq!(
        (m["topic"].as_str(), m["payload"].as_str()),
        (Some("dw/will"), Some("gone"))
    );
    assert_eq!(m["properties"]["content_type"], "text/plain", "{m}");
    assert_eq!(
        m["properties"]["user_properties"],
        json!([["why", "test"]]),
        "{m}"
    );

    // A plain disconnect (0x00): no will.
    s.connect5(b.port(), json!({"client_id": id("dw"), "will": will}));
    s.send(json!({"cmd": "disconnect", "reason_code": 0}));
    s.expect("disconnected");
    watcher.send(json!({"cmd": "publish", "topic": "dw/marker", "payload": "m", "qos": 1}));
    assert_eq!(watcher.expect("message")["topic"], "dw/marker");
    s.exit();
    watcher.exit();
}

/// A second client with the same id takes the session over. A 5.0 broker may say so with
/// DISCONNECT 0x8E (session taken over), which `disconnected` reports as `"server"` with the
/// code; Mosquitto 2.0.11 closes the connection without a DISCONNECT instead, which is
/// `"closed_by_broker"` and no code. (The scripted broker below sends the 0x8E.)
#[test]
fn a_session_taken_over_ends_the_first_connection() {
    let b = broker();
    let same = id("twin");
    let mut first = Script::start();
    first.connect5(b.port(), json!({"client_id": same}));
    let mut second = Script::start();
    assert_eq!(
        second.connect5(b.port(), json!({"client_id": same}))["reason_code"],
        0
    );
    let ended = first.expect("disconnected");
    match ended["reason"].as_str() {
        Some("server") => {
            assert_eq!(ended["reason_code"], 0x8e, "{ended}");
            assert!(
                ended["detail"]
                    .as_str()
                    .unwrap()
                    .contains("session taken over (0x8e)"),
                "{ended}"
            );
        }
        Some("closed_by_broker") => {
            assert!(ended.get("reason_code").is_none(), "{ended}");
            assert!(
                b.log()
                    .contains("already connected, closing old connection")
            );
        }
        _ => panic!("{ended}"),
    }
    first.exit();
    second.exit();
}

/// What Mosquitto does not send: a Reason String on CONNACK and PUBACK, a message with a
/// Topic Alias, and a DISCONNECT 0x8E (session taken over) with a Reason String. A scripted
/// broker sends them.
#[test]
fn reason_strings_and_a_received_topic_alias() {
    use mqtt_proto::v5::{self, Packet, Properties, Property};
    fn write(s: &mut TcpStream, p: &Packet<'_>) {
        let mut buf = vec![0u8; p.encoded_len()];
        let n = p.encode(&mut buf).unwrap();
        s.write_all(&buf[..n]).unwrap();
    }
    let (port, peer) = scripted(|mut s| {
        let (first, _) = read_packet(&mut s);
        assert_eq!(first, 0x10, "CONNECT");
        let props = [
            Property::ReasonString("welcome"),
            Property::UserProperty("broker", "scripted"),
            Property::MaximumQoS(mqtt_proto::QoS::AtLeastOnce),
        ];
        write(
            &mut s,
            &Packet::ConnAck(v5::ConnAck {
                session_present: false,
                reason_code: v5::ConnectReasonCode::Success,
                properties: Properties::new(&props),
            }),
        );
        let (first, body) = read_packet(&mut s);
        assert_eq!(first & 0xF6, 0x32, "PUBLISH QoS 1");
        let id = mqtt_proto::PacketId::new(u16::from_be_bytes([body[3], body[4]])).unwrap();
        let props = [Property::ReasonString("kept for later")];
        write(
            &mut s,
            &Packet::PubAck(v5::PubResponse {
                packet_id: id,
                reason_code: v5::PubAckReasonCode::NoMatchingSubscribers,
                properties: Properties::new(&props),
            }),
        );
        let alias = [Property::TopicAlias(1)];
        for topic in [Some("al/t"), None] {
            write(
                &mut s,
                &Packet::Publish(v5::Publish {
                    dup: false,
                    qos_pid: mqtt_proto::QosPid::AtMostOnce,
                    retain: false,
                    topic: topic.map(|t| mqtt_proto::TopicName::new(t).unwrap()),
                    properties: Properties::new(&alias),
                    payload: b"p",
                }),
            );
        }
        let props = [Property::ReasonString("another client has your id")];
        write(
            &mut s,
            &Packet::Disconnect(v5::Disconnect {
                reason_code: v5::DisconnectReasonCode::SessionTakenOver,
                properties: Properties::new(&props),
            }),
        );
    });
    let mut s = Script::start();
    let ack = s.connect5(
        port,
        json!({"client_id": "c1",
                                      "properties": {"topic_alias_maximum": 1}}),
    );
    assert_eq!(
        ack["properties"],
        json!({"maximum_qos": 1, "reason_string": "welcome",
               "user_properties": [["broker", "scripted"]]}),
        "{ack}"
    );
    s.send(json!({"cmd": "publish", "topic": "t", "payload": "x", "qos": 1}));
    let done = s.expect("published");
    assert_eq!(done["reason_code"], 0x10, "{done}");
    assert_eq!(done["reason_string"], "kept for later", "{done}");
    for _ in 0..2 {
        let m = s.expect("message");
        assert_eq!(m["topic"], "al/t", "{m}");
        assert_eq!(m["properties"], json!({"topic_alias": 1}), "{m}");
    }
    let ended = s.expect("disconnected");
    assert_eq!(ended["reason"], "server", "{ended}");
    assert_eq!(ended["reason_code"], 0x8e, "{ended}");
    assert_eq!(
        ended["reason_string"], "another client has your id",
        "{ended}"
    );
    assert_eq!(
        ended["detail"],
        "disconnected by the broker: session taken over (0x8e): another client has your id"
    );
    peer.join().unwrap();
    s.exit();
}

/// 5.0 fields on a 3.1.1 connection are error events; 3.1.1 answers keep their shape, and
/// unknown top-level fields are still ignored.
#[test]
fn five_o_fields_at_3_1_1_are_refused() {
    let b = broker();
    let mut s = Script::start();
    s.send(
        json!({"cmd": "connect", "host": "127.0.0.1", "port": b.port(),
                  "protocol_version": 4, "properties": {"session_expiry_interval": 5}}),
    );
    assert!(s.expect_error("connect").contains("needs MQTT 5.0"));
    s.send(
        json!({"cmd": "connect", "host": "127.0.0.1", "port": b.port(),
                  "protocol_version": 3}),
    );
    s.expect_error("connect");
    s.send(
        json!({"cmd": "connect", "host": "127.0.0.1", "port": b.port(),
                  "client_id": id("v4"), "no_such_field": true}),
    );
    let ack = s.expect("connack");
    assert!(
        ack.get("reason_code").is_none() && ack.get("properties").is_none(),
        "{ack}"
    );
    s.send(json!({"cmd": "publish", "topic": "t", "properties": {"content_type": "x"}}));
    assert!(s.expect_error("publish").contains("needs MQTT 5.0"));
    s.send(json!({"cmd": "subscribe", "filters": [{"filter": "t", "no_local": true}]}));
    assert!(s.expect_error("subscribe").contains("needs MQTT 5.0"));
    s.send(
        json!({"cmd": "subscribe", "filters": [{"filter": "t", "no_local": false,
                                                    "qos": 1}]}),
    );
    assert_eq!(s.expect("suback")["return_codes"], json!([1]));
    s.send(json!({"cmd": "unsubscribe", "filters": ["t"]}));
    assert!(s.expect("unsuback").get("reason_codes").is_none());
    s.send(json!({"cmd": "publish", "topic": "nobody", "payload": "x", "qos": 1}));
    assert!(s.expect("published").get("reason_code").is_none());
    s.send(json!({"cmd": "disconnect", "reason_code": 0}));
    assert!(s.expect_error("disconnect").contains("needs MQTT 5.0"));
    s.send(json!({"cmd": "disconnect"}));
    assert_eq!(s.expect("disconnected")["reason"], "local");
    s.exit();
}

fn stderr_lines(args: &[&str]) -> Vec<String> {
    let o = Command::new(MQTTC)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    err.lines().map(str::to_owned).collect()
}

/// The line that starts with `prefix`.
fn line<'a>(lines: &'a [String], prefix: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} in {lines:#?}"))
}

#[test]
fn debug_lines_at_5_0_show_properties_and_reason_codes() {
    let b = broker();
    let port = b.port().to_string();
    let lines = stderr_lines(&[
        "pub",
        "-V",
        "5",
        "-p",
        &port,
        "-t",
        "dbg5/t",
        "-q",
        "1",
        "-m",
        "hi",
        "-d",
        "-D",
        "publish",
        "content-type",
        "text/plain",
        "-D",
        "publish",
        "user-property",
        "a",
        "b",
        "-D",
        "connect",
        "session-expiry-interval",
        "0",
    ]);
    let connect = line(&lines, "sent CONNECT (v5, ");
    assert!(
        connect.contains("properties: session-expiry-interval=0"),
        "{connect}"
    );
    let connack = line(&lines, "received CONNACK ");
    assert!(
        connack.starts_with(
            "received CONNACK (session present 0, reason code 0x00 success, properties: "
        ),
        "{connack}"
    );
    assert!(connack.contains("receive-maximum="), "{connack}");
    let publish = line(&lines, "sent PUBLISH ");
    assert!(
        publish.ends_with(
            "\"dbg5/t\", ... (2 bytes), properties: content-type=\"text/plain\", \
             user-property=\"a\":\"b\")"
        ),
        "{publish}"
    );
    assert_eq!(
        line(&lines, "received PUBACK "),
        "received PUBACK (m1, reason code 0x10 no matching subscribers)"
    );
    assert_eq!(
        line(&lines, "sent DISCONNECT "),
        "sent DISCONNECT (reason code 0x00 normal disconnection)"
    );

    let lines = stderr_lines(&[
        "sub",
        "-V",
        "5",
        "-p",
        &port,
        "-t",
        "dbg5/#",
        "-q",
        "2",
        "--no-local",
        "-d",
        "-E",
        "-U",
        "dbg5/none",
        "-D",
        "subscribe",
        "subscription-identifier",
        "4",
    ]);
    assert_eq!(
        line(&lines, "sent SUBSCRIBE "),
        "sent SUBSCRIBE (m1, \"dbg5/#\" q2 nl1 rap0 rh0, properties: subscription-identifier=4)"
    );
    assert_eq!(
        line(&lines, "received SUBACK "),
        "received SUBACK (m1, reason codes 0x02 granted QoS 2)"
    );
    assert_eq!(
        line(&lines, "received UNSUBACK "),
        "received UNSUBACK (m2, reason codes 0x11 no subscription existed)"
    );
}
