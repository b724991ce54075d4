//! MQTT 5.0 features through both clients against a real Mosquitto: publish properties and
//! subscription identifiers round trip, subscription options (No Local, Retain Handling,
//! Retain As Published), SUBACK and UNSUBACK reason codes per filter, session expiry (resumed
//! within it, gone after a DISCONNECT that ends it), what the CONNACK said (an assigned client
//! id, the broker's limits), the will's delay and DISCONNECT with will (0x04).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mqtt_std::v5::{
    DisconnectReasonCode, PublishProperties, RetainHandling, SubAckReasonCode, SubscribeOptions,
    UnsubAckReasonCode,
};
use mqtt_std::{Client, ClientOptions, ConnectOptions, Message, ProtocolVersion, QoS, Will};

fn v5() -> ConnectOptions {
    ConnectOptions::default().protocol(ProtocolVersion::V5)
}

fn v5_client(b: &mqtt_test_broker::Broker, prefix: &str) -> Client {
    let c = Client::new(ClientOptions::new(id(prefix))).unwrap();
    c.connect("127.0.0.1", b.port(), &v5()).unwrap();
    c
}

fn subscribe(c: &Client, filter: &str, options: SubscribeOptions) {
    let codes = c
        .subscribe_with(&[(filter, options)], None)
        .unwrap()
        .wait()
        .unwrap();
    assert!(!codes[0].is_error(), "{filter}: {codes:?}");
}

/// Publishes a marker from a fresh client and returns the first message `c` receives: what
/// should not have arrived before the marker did not.
fn first_before_marker(b: &mqtt_test_broker::Broker, c: &Client, topic: &str) -> Message {
    let other = v5_client(b, "marker");
    other
        .publish(topic, b"marker", QoS::AtLeastOnce, false)
        .unwrap()
        .wait()
        .unwrap();
    other.disconnect().unwrap();
    recv(c)
}

#[test]
fn publish_properties_and_subscription_identifiers_round_trip() {
    let b = broker();
    let sub = v5_client(&b, "props-sub");
    let codes = sub
        .subscribe_with(
            &[("props/#", SubscribeOptions::new(QoS::AtLeastOnce))],
            Some(42),
        )
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(codes, [SubAckReasonCode::GrantedQoS1]);
    let publisher = v5_client(&b, "props-pub");
    let props = PublishProperties::new()
        .payload_utf8(true)
        .message_expiry(300)
        .content_type("application/json")
        .response_topic("props/reply")
        .correlation_data(b"\x00\x01req-7".to_vec())
        .user_property("unit", "celsius")
        .user_property("unit", "kelvin");
    publisher
        .publish_with("props/t", b"{\"t\":21}", QoS::AtMostOnce, false, &props)
        .unwrap()
        .wait()
        .unwrap();
    let m = recv(&sub);
    assert_eq!(m.payload, b"{\"t\":21}");
    let p = &m.properties;
    assert_eq!(p.payload_format_utf8, Some(true));
    assert_eq!(p.content_type.as_deref(), Some("application/json"));
    assert_eq!(p.response_topic.as_deref(), Some("props/reply"));
    assert_eq!(p.correlation_data.as_deref(), Some(&b"\x00\x01req-7"[..]));
    assert_eq!(
        p.user_properties,
        [
            ("unit".to_string(), "celsius".to_string()),
            ("unit".to_string(), "kelvin".to_string())
        ]
    );
    assert_eq!(p.subscription_identifiers, [42]);
    // The broker sends the remaining interval: at most what was published with.
    assert!(p.message_expiry_interval.is_some_and(|s| s <= 300 && s > 0));
    // Without properties, a 5.0 message has none (and no subscription identifier when the
    // subscription had none).
    sub.unsubscribe(&["props/#"]).unwrap().wait().unwrap();
    subscribe(&sub, "plain/t", SubscribeOptions::new(QoS::AtMostOnce));
    publisher
        .publish("plain/t", b"bare", QoS::AtMostOnce, false)
        .unwrap()
        .wait()
        .unwrap();
    assert!(recv(&sub).properties.is_empty());
    // A Response Topic must be a topic name.
    let bad = PublishProperties::new().response_topic("props/#");
    assert!(matches!(
        publisher.publish_with("props/t", b"x", QoS::AtMostOnce, false, &bad),
        Err(mqtt_std::Error::Invalid(_))
    ));
    publisher.disconnect().unwrap();
    sub.disconnect().unwrap();
}

#[test]
fn properties_need_a_5_0_connection() {
    let b = broker();
    let old = connected(&b, "props-311");
    let props = PublishProperties::new().content_type("text/plain");
    assert!(matches!(
        old.publish_with("x/t", b"x", QoS::AtMostOnce, false, &props),
        Err(mqtt_std::Error::RequiresV5)
    ));
    // Options beyond the QoS need 5.0; a bare QoS subscribes as 3.1.1 does.
    let no_local = SubscribeOptions::new(QoS::AtMostOnce).no_local(true);
    assert!(matches!(
        old.subscribe_with(&[("x/t", no_local)], None),
        Err(mqtt_std::Error::RequiresV5)
    ));
    let codes = old
        .subscribe_with(&[("x/t", SubscribeOptions::new(QoS::AtLeastOnce))], None)
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(codes, [SubAckReasonCode::GrantedQoS1]);
    assert_eq!(
        old.unsubscribe_v5(&["x/t"]).unwrap().wait().unwrap(),
        [UnsubAckReasonCode::Success]
    );
    assert!(matches!(
        old.disconnect_with(DisconnectReasonCode::NormalDisconnection, None),
        Err(mqtt_std::Error::RequiresV5)
    ));
    old.disconnect().unwrap();
}

#[test]
fn no_local_keeps_a_client_s_own_messages_away() {
    let b = broker();
    let c = v5_client(&b, "nolocal");
    subscribe(
        &c,
        "nl/t",
        SubscribeOptions::new(QoS::AtLeastOnce).no_local(true),
    );
    c.publish("nl/t", b"own", QoS::AtLeastOnce, false)
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(first_before_marker(&b, &c, "nl/t").payload, b"marker");
    c.disconnect().unwrap();
}

#[test]
fn retain_handling_and_retain_as_published() {
    let b = broker();
    let publisher = v5_client(&b, "rh-pub");
    publisher
        .publish("rh/t", b"retained", QoS::AtLeastOnce, true)
        .unwrap()
        .wait()
        .unwrap();
    // 0: sent at subscribe, with RETAIN set.
    let at_subscribe = v5_client(&b, "rh-0");
    subscribe(
        &at_subscribe,
        "rh/t",
        SubscribeOptions::new(QoS::AtLeastOnce),
    );
    let m = recv(&at_subscribe);
    assert_eq!((&m.payload[..], m.retain), (&b"retained"[..], true));
    // 2: never sent.
    let never = v5_client(&b, "rh-2");
    subscribe(
        &never,
        "rh/t",
        SubscribeOptions::new(QoS::AtLeastOnce).retain_handling(RetainHandling::DoNotSend),
    );
    assert_eq!(first_before_marker(&b, &never, "rh/t").payload, b"marker");
    // 1: sent only for a new subscription, so not when it is made again.
    let if_new = v5_client(&b, "rh-1");
    let once = SubscribeOptions::new(QoS::AtLeastOnce).retain_handling(RetainHandling::SendIfNew);
    subscribe(&if_new, "rh/t", once);
    assert_eq!(recv(&if_new).payload, b"retained");
    subscribe(&if_new, "rh/t", once);
    assert_eq!(first_before_marker(&b, &if_new, "rh/t").payload, b"marker");
    // Retain As Published: a live retained publish is forwarded with RETAIN set only to the
    // subscription that asked for it.
    let rap = v5_client(&b, "rap");
    subscribe(
        &rap,
        "rap/t",
        SubscribeOptions::new(QoS::AtLeastOnce).retain_as_published(true),
    );
    let plain = v5_client(&b, "rap-plain");
    subscribe(&plain, "rap/t", SubscribeOptions::new(QoS::AtLeastOnce));
    publisher
        .publish("rap/t", b"live", QoS::AtLeastOnce, true)
        .unwrap()
        .wait()
        .unwrap();
    assert!(recv(&rap).retain);
    assert!(!recv(&plain).retain);
    for c in [publisher, at_subscribe, never, if_new, rap, plain] {
        c.disconnect().unwrap();
    }
}

#[test]
fn suback_and_unsuback_give_a_reason_code_per_filter() {
    // The broker grants at most QoS 1 (its CONNACK says so too).
    let b = mqtt_test_broker::Broker::builder()
        .config_line("max_qos 1")
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let c = v5_client(&b, "codes");
    let codes = c
        .subscribe_with(
            &[
                ("codes/a", SubscribeOptions::new(QoS::AtMostOnce)),
                ("codes/b", SubscribeOptions::new(QoS::AtLeastOnce)),
                ("codes/c", SubscribeOptions::new(QoS::AtMostOnce)),
            ],
            None,
        )
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(
        codes,
        [
            SubAckReasonCode::GrantedQoS0,
            SubAckReasonCode::GrantedQoS1,
            SubAckReasonCode::GrantedQoS0
        ]
    );
    let codes = c
        .unsubscribe_v5(&["codes/a", "codes/never"])
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(
        codes,
        [
            UnsubAckReasonCode::Success,
            UnsubAckReasonCode::NoSubscriptionExisted
        ]
    );
    c.disconnect().unwrap();
}

#[test]
fn session_expiry_resumes_the_session_and_a_disconnect_can_end_it() {
    let b = broker();
    let name = id("expiry");
    let keep = v5().clean_session(false).session_expiry(60);
    let c = Client::new(ClientOptions::new(name.clone())).unwrap();
    let first = c.connect("127.0.0.1", b.port(), &keep).unwrap();
    assert!(!first.session_present);
    subscribe(&c, "se/t", SubscribeOptions::new(QoS::AtLeastOnce));
    c.disconnect().unwrap();
    // Queued for the absent client within the session's expiry.
    let publisher = v5_client(&b, "expiry-pub");
    publisher
        .publish("se/t", b"while away", QoS::AtLeastOnce, false)
        .unwrap()
        .wait()
        .unwrap();
    let again = c.connect("127.0.0.1", b.port(), &keep).unwrap();
    assert!(again.session_present);
    assert_eq!(recv(&c).payload, b"while away");
    // A DISCONNECT with Session Expiry Interval 0 ends the session now.
    c.disconnect_with(DisconnectReasonCode::NormalDisconnection, Some(0))
        .unwrap();
    let after = c.connect("127.0.0.1", b.port(), &keep).unwrap();
    assert!(!after.session_present);
    c.disconnect().unwrap();
    // With a CONNECT Session Expiry Interval of 0, a DISCONNECT may not set one [MQTT-3.14.2-2].
    let short = v5_client(&b, "expiry-zero");
    assert!(matches!(
        short.disconnect_with(DisconnectReasonCode::NormalDisconnection, Some(60)),
        Err(mqtt_std::Error::Command(
            mqtt_session::CommandError::SessionExpiryAfterZero
        ))
    ));
    short.disconnect().unwrap();
    publisher.disconnect().unwrap();
}

#[test]
fn connack_reports_an_assigned_client_id_and_the_broker_s_limits() {
    let b = broker();
    let c = Client::new(ClientOptions::new("")).unwrap();
    let connected = c
        .connect(
            "127.0.0.1",
            b.port(),
            &v5()
                .user_property("site", "lab")
                .request_problem_information(true),
        )
        .unwrap();
    let info = connected.v5.expect("a 5.0 CONNACK");
    let assigned = info.assigned_client_id.expect("an assigned client id");
    assert!(!assigned.is_empty());
    let limits = info.server.expect("the broker's limits");
    assert!(limits.receive_maximum > 0);
    c.disconnect().unwrap();
    // 3.1.1 has none of it.
    let old = client("connack-311");
    let r = old
        .connect("127.0.0.1", b.port(), &ConnectOptions::default())
        .unwrap();
    assert!(r.v5.is_none());
    old.disconnect().unwrap();
}

#[test]
fn the_will_waits_for_its_delay_and_a_disconnect_with_will_sends_it() {
    let b = broker();
    let watcher = v5_client(&b, "will-watch");
    subscribe(&watcher, "will/#", SubscribeOptions::new(QoS::AtLeastOnce));
    // Back within the delay (the session outlives the connection): no will.
    let name = id("will-back");
    let keep = v5().clean_session(false).session_expiry(60);
    let back = Client::new(ClientOptions::new(name)).unwrap();
    back.set_will(Some(
        Will::new("will/back", "gone", QoS::AtLeastOnce, false).delay(60),
    ))
    .unwrap();
    back.connect("127.0.0.1", b.port(), &keep).unwrap();
    back.drop_connection().unwrap();
    back.connect("127.0.0.1", b.port(), &keep).unwrap();
    // Disconnect with will (0x04): published at once, with its properties.
    let leaving = Client::new(ClientOptions::new(id("will-04"))).unwrap();
    leaving
        .set_will(Some(
            Will::new("will/04", "bye", QoS::AtLeastOnce, false)
                .properties(PublishProperties::new().content_type("text/plain")),
        ))
        .unwrap();
    leaving.connect("127.0.0.1", b.port(), &v5()).unwrap();
    leaving
        .disconnect_with(DisconnectReasonCode::DisconnectWithWillMessage, None)
        .unwrap();
    let m = recv(&watcher);
    assert_eq!(
        (m.topic.as_str(), &m.payload[..]),
        ("will/04", &b"bye"[..]),
        "the delayed will of the client that came back was not sent"
    );
    assert_eq!(m.properties.content_type.as_deref(), Some("text/plain"));
    // A short delay: the will follows a dropped connection once it has passed.
    let late = Client::new(ClientOptions::new(id("will-late"))).unwrap();
    late.set_will(Some(
        Will::new("will/late", "late", QoS::AtLeastOnce, false).delay(1),
    ))
    .unwrap();
    late.connect("127.0.0.1", b.port(), &v5().session_expiry(30))
        .unwrap();
    late.drop_connection().unwrap();
    let m = recv(&watcher);
    assert_eq!(m.topic, "will/late");
    back.disconnect().unwrap();
    watcher.disconnect().unwrap();
}

#[tokio::test]
async fn tokio_client_publishes_and_subscribes_with_5_0_options() {
    let b = broker();
    let (sub, mut messages) =
        mqtt_std::tokio::Client::new(ClientOptions::new(id("tk5-opt-sub"))).unwrap();
    sub.connect("127.0.0.1", b.port(), &v5()).await.unwrap();
    let codes = sub
        .subscribe_with(
            &[
                (
                    "tk5o/t",
                    SubscribeOptions::new(QoS::AtMostOnce).no_local(true),
                ),
                ("tk5o/u", SubscribeOptions::new(QoS::AtLeastOnce)),
            ],
            Some(7),
        )
        .await
        .unwrap();
    assert_eq!(
        codes,
        [SubAckReasonCode::GrantedQoS0, SubAckReasonCode::GrantedQoS1]
    );
    // Its own message on the No Local filter does not come back; the other one does.
    sub.publish("tk5o/t", b"own", QoS::AtMostOnce, false)
        .await
        .unwrap();
    let props = PublishProperties::new().user_property("k", "v");
    sub.publish_with("tk5o/u", b"mine too", QoS::AtMostOnce, false, &props)
        .await
        .unwrap();
    let m = tokio::time::timeout(WAIT, messages.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.payload, b"mine too");
    assert_eq!(
        m.properties.user_properties,
        [("k".to_string(), "v".to_string())]
    );
    assert_eq!(m.properties.subscription_identifiers, [7]);
    assert_eq!(
        sub.unsubscribe_v5(&["tk5o/t", "tk5o/none"]).await.unwrap(),
        [
            UnsubAckReasonCode::Success,
            UnsubAckReasonCode::NoSubscriptionExisted
        ]
    );
    sub.disconnect_with(DisconnectReasonCode::NormalDisconnection, None)
        .await
        .unwrap();
}

/// Refusals per filter, from a scripted 5.0 broker (Mosquitto grants every well-formed
/// filter): the codes reach the caller in request order, and a refused filter is not restored
/// after a reconnect.
#[test]
fn refusals_per_filter_reach_the_caller() {
    use std::io::Write as _;
    let (port, peer) = scripted(|mut s| {
        let (first, _) = read_packet(&mut s);
        assert_eq!(first, 0x10, "CONNECT");
        s.write_all(&[0x20, 0x03, 0x00, 0x00, 0x00]).unwrap();
        let (first, body) = read_packet(&mut s);
        assert_eq!(first, 0x82, "SUBSCRIBE");
        // SUBACK: packet id, no properties, granted QoS 1, 0x87 not authorized, 0xA2 wildcard
        // subscriptions not supported.
        s.write_all(&[0x90, 0x06, body[0], body[1], 0x00, 0x01, 0x87, 0xA2])
            .unwrap();
        let (first, body) = read_packet(&mut s);
        assert_eq!(first, 0xA2, "UNSUBSCRIBE");
        // UNSUBACK: success, no subscription existed, not authorized.
        s.write_all(&[0xB0, 0x06, body[0], body[1], 0x00, 0x00, 0x11, 0x87])
            .unwrap();
        let (first, _) = read_packet(&mut s);
        assert_eq!(first, 0xE0, "DISCONNECT");
    });
    let c = Client::new(ClientOptions::new(id("refusals"))).unwrap();
    c.connect("127.0.0.1", port, &v5()).unwrap();
    let codes = c
        .subscribe_with(
            &[
                ("ok/t", SubscribeOptions::new(QoS::AtLeastOnce)),
                ("secret/t", SubscribeOptions::new(QoS::AtLeastOnce)),
                ("any/+", SubscribeOptions::new(QoS::AtMostOnce)),
            ],
            None,
        )
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(
        codes,
        [
            SubAckReasonCode::GrantedQoS1,
            SubAckReasonCode::NotAuthorized,
            SubAckReasonCode::WildcardSubscriptionsNotSupported
        ]
    );
    assert!(codes[1].is_error() && codes[2].is_error());
    let codes = c
        .unsubscribe_v5(&["ok/t", "none/t", "secret/t"])
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(
        codes,
        [
            UnsubAckReasonCode::Success,
            UnsubAckReasonCode::NoSubscriptionExisted,
            UnsubAckReasonCode::NotAuthorized
        ]
    );
    c.disconnect().unwrap();
    peer.join().unwrap();
}

/// `mqttc -V 5` with `-D` properties, `-x`, a subscription identifier and `--no-local`, and
/// the usage errors of 5.0 options at 3.1.1 or in the wrong packet.
#[test]
fn mqttc_5_0_options() {
    use std::io::BufRead as _;
    use std::process::{Command, Stdio};
    const MQTTC: &str = env!("CARGO_BIN_EXE_mqttc");
    let b = broker();
    let port = b.port().to_string();
    let mut sub = Command::new(MQTTC)
        .args([
            "sub",
            "-V",
            "5",
            "-p",
            &port,
            "-t",
            "cli5o/t",
            "-q",
            "1",
            "-C",
            "1",
            "-W",
            "20",
            "-d",
            "-x",
            "30",
            "--no-local",
            "-D",
            "subscribe",
            "subscription-identifier",
            "5",
            "-F",
            "%t %p %P",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(sub.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("SUBACK") {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "no SUBACK");
    }
    let o = Command::new(MQTTC)
        .args([
            "pub",
            "-V",
            "5",
            "-p",
            &port,
            "-t",
            "cli5o/t",
            "-q",
            "1",
            "-m",
            "hi",
            "-D",
            "publish",
            "user-property",
            "unit",
            "C",
            "-D",
            "publish",
            "content-type",
            "text/plain",
            "-D",
            "connect",
            "session-expiry-interval",
            "0",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = sub.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "cli5o/t hi unit:C");
    for bad in [
        &["pub", "-t", "x", "-m", "x", "-x", "5"][..],
        &[
            "pub",
            "-t",
            "x",
            "-m",
            "x",
            "-D",
            "publish",
            "content-type",
            "a",
        ],
        &["sub", "-t", "x", "--no-local"],
        &[
            "pub",
            "-V",
            "5",
            "-t",
            "x",
            "-m",
            "x",
            "-D",
            "publish",
            "receive-maximum",
            "3",
        ],
        &[
            "pub",
            "-V",
            "5",
            "-t",
            "x",
            "-m",
            "x",
            "-D",
            "bogus",
            "content-type",
            "a",
        ],
    ] {
        let o = Command::new(MQTTC).args(bad).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
    }
}

/// An AUTH packet: reason code, Authentication Method and Data.
fn auth_packet(code: u8, method: &str, data: &[u8]) -> Vec<u8> {
    let mut props = vec![0x15];
    props.extend((method.len() as u16).to_be_bytes());
    props.extend(method.as_bytes());
    props.push(0x16);
    props.extend((data.len() as u16).to_be_bytes());
    props.extend(data);
    let mut p = vec![0xF0, (2 + props.len()) as u8, code, props.len() as u8];
    p.extend(props);
    p
}

/// Enhanced authentication with a scripted 5.0 broker: a challenge and response at connect,
/// the broker's final data in `Connected`, then a re-authentication with one more round.
#[test]
fn enhanced_authentication_challenge_response_and_reauthentication() {
    use std::io::Write as _;
    let (port, peer) = scripted(|mut s| {
        let (first, body) = read_packet(&mut s);
        assert_eq!(first, 0x10, "CONNECT");
        let text = String::from_utf8_lossy(&body).into_owned();
        assert!(
            text.contains("TOY") && text.contains("client-first"),
            "{text:?}"
        );
        s.write_all(&auth_packet(0x18, "TOY", b"server-nonce"))
            .unwrap();
        let answer = read_whole_packet(&mut s);
        assert_eq!(answer, auth_packet(0x18, "TOY", b"proof:server-nonce"));
        // CONNACK success with the method and the broker's final data.
        let mut props = vec![0x15, 0x00, 0x03];
        props.extend(b"TOY");
        props.extend([0x16, 0x00, 0x05]);
        props.extend(b"final");
        let mut connack = vec![0x20, (3 + props.len()) as u8, 0x00, 0x00, props.len() as u8];
        connack.extend(props);
        s.write_all(&connack).unwrap();
        // Re-authentication: AUTH 0x19, one more round, AUTH 0x00.
        assert_eq!(
            read_whole_packet(&mut s),
            auth_packet(0x19, "TOY", b"again")
        );
        s.write_all(&auth_packet(0x18, "TOY", b"nonce-2")).unwrap();
        assert_eq!(
            read_whole_packet(&mut s),
            auth_packet(0x18, "TOY", b"proof:nonce-2")
        );
        s.write_all(&auth_packet(0x00, "TOY", b"")).unwrap();
        let (first, _) = read_packet(&mut s);
        assert_eq!(first, 0xE0, "DISCONNECT");
    });
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let c = Client::new(ClientOptions::new(id("auth")).authentication(move |ch| {
        log.lock().unwrap().push(ch.clone());
        match ch.data.as_deref() {
            Some(nonce) => {
                let mut proof = b"proof:".to_vec();
                proof.extend(nonce);
                mqtt_std::v5::AuthAnswer::Continue(Some(proof))
            }
            None => mqtt_std::v5::AuthAnswer::Abort,
        }
    }))
    .unwrap();
    let options = v5().authentication("TOY", Some(b"client-first".to_vec()));
    let connected = c.connect("127.0.0.1", port, &options).unwrap();
    let info = connected.v5.unwrap();
    assert_eq!(info.authentication_data.as_deref(), Some(&b"final"[..]));
    c.reauthenticate(Some(b"again")).unwrap().wait().unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].reauthenticating),
        ("TOY", false)
    );
    assert!(seen[1].reauthenticating);
    c.disconnect().unwrap();
    peer.join().unwrap();
}

/// Mosquitto without an authentication plugin knows no method: the refusal names 0x8C; and
/// re-authentication without a method is refused locally.
#[test]
fn an_unknown_authentication_method_is_refused_by_the_broker() {
    let b = broker();
    let c = Client::new(ClientOptions::new(id("auth-unknown"))).unwrap();
    let err = c
        .connect(
            "127.0.0.1",
            b.port(),
            &v5().authentication("SCRAM-SHA-256", None),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            mqtt_std::Error::RefusedV5 {
                code: mqtt_std::v5::ConnectReasonCode::BadAuthenticationMethod,
                ..
            }
        ),
        "{err}"
    );
    let plain = v5_client(&b, "auth-none");
    assert!(matches!(
        plain.reauthenticate(None),
        Err(mqtt_std::Error::Command(
            mqtt_session::CommandError::NoAuthMethod
        ))
    ));
    plain.disconnect().unwrap();
}

/// Outgoing topic aliases with Mosquitto's `max_topic_alias`: the first PUBLISH to a topic
/// sets an alias, the later ones carry the alias and an empty topic; the subscriber gets
/// every message under its topic.
#[test]
fn outgoing_topic_aliases_within_the_broker_s_maximum() {
    let b = mqtt_test_broker::Broker::builder()
        .plain_listener_line("max_topic_alias 2")
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let sub = v5_client(&b, "alias-sub");
    subscribe(&sub, "alias/#", SubscribeOptions::new(QoS::AtLeastOnce));
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = sent.clone();
    let publisher = Client::new(
        ClientOptions::new(id("alias-pub"))
            .topic_aliases(8)
            .trace_v5(move |dir, p| {
                if let (mqtt_std::Direction::Sent, mqtt_proto::v5::Packet::Publish(p)) = (dir, p) {
                    log.lock().unwrap().push((
                        p.topic.map(|t| t.as_str().to_owned()),
                        p.properties.topic_alias(),
                    ));
                }
            }),
    )
    .unwrap();
    let connected = publisher.connect("127.0.0.1", b.port(), &v5()).unwrap();
    let limits = connected.v5.unwrap().server.unwrap();
    assert_eq!(limits.topic_alias_maximum, 2);
    let topics = [
        "alias/a", "alias/b", "alias/c", "alias/a", "alias/b", "alias/c",
    ];
    // QoS 0, 1 and 2 alike.
    let qos_of = |i: usize| [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce][i % 3];
    for (i, t) in topics.iter().enumerate() {
        publisher
            .publish(t, format!("{i}").as_bytes(), qos_of(i), false)
            .unwrap()
            .wait()
            .unwrap();
    }
    for (i, t) in topics.iter().enumerate() {
        let m = recv(&sub);
        assert_eq!(
            (m.topic.as_str(), m.payload),
            (*t, format!("{i}").into_bytes())
        );
    }
    let sent = sent.lock().unwrap().clone();
    assert_eq!(
        sent,
        [
            (Some("alias/a".to_owned()), Some(1)),
            (Some("alias/b".to_owned()), Some(2)),
            // The broker allows two: the third topic goes without one.
            (Some("alias/c".to_owned()), None),
            (None, Some(1)),
            (None, Some(2)),
            (Some("alias/c".to_owned()), None),
        ]
    );
    publisher.disconnect().unwrap();
    sub.disconnect().unwrap();
}

/// A shared subscription spreads the messages over its members: each gets some, together
/// all, none twice.
#[test]
fn a_shared_subscription_spreads_messages_over_its_members() {
    let b = broker();
    let one = v5_client(&b, "share-1");
    let two = v5_client(&b, "share-2");
    for c in [&one, &two] {
        subscribe(
            c,
            "$share/workers/jobs/#",
            SubscribeOptions::new(QoS::AtLeastOnce),
        );
    }
    let publisher = v5_client(&b, "share-pub");
    let n = 20;
    for i in 0..n {
        publisher
            .publish("jobs/x", format!("{i}").as_bytes(), QoS::AtLeastOnce, false)
            .unwrap()
            .wait()
            .unwrap();
    }
    let mut got = Vec::new();
    let mut per = [0usize; 2];
    while got.len() < n {
        for (k, c) in [&one, &two].iter().enumerate() {
            while let Some(m) = c.try_recv() {
                per[k] += 1;
                got.push(String::from_utf8(m.payload).unwrap());
            }
        }
        if got.len() < n {
            // Wait on one of them for the rest.
            if let Ok(m) = one.recv_timeout(std::time::Duration::from_millis(50)) {
                per[0] += 1;
                got.push(String::from_utf8(m.payload).unwrap());
            }
        }
    }
    got.sort_by_key(|s| s.parse::<u32>().unwrap());
    let want: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    assert_eq!(got, want);
    assert!(per[0] > 0 && per[1] > 0, "{per:?}");
    for c in [one, two, publisher] {
        c.disconnect().unwrap();
    }
}

/// Maximum Packet Size both ways: the broker's (`max_packet_size`) bounds what the client
/// sends (refused locally, the connection unharmed); the client's (its receive limit,
/// advertised in CONNECT) makes the broker leave out a message too large for it.
#[test]
fn maximum_packet_size_is_honoured_both_ways() {
    let b = mqtt_test_broker::Broker::builder()
        .config_line("max_packet_size 300")
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let c = v5_client(&b, "size-out");
    assert!(matches!(
        c.publish("size/t", &[0u8; 400], QoS::AtLeastOnce, false),
        Err(mqtt_std::Error::Command(
            mqtt_session::CommandError::PacketTooLargeForServer { .. }
        ))
    ));
    c.publish("size/t", &[0u8; 100], QoS::AtLeastOnce, false)
        .unwrap()
        .wait()
        .unwrap();
    c.disconnect().unwrap();
    // A subscriber that takes at most 128-byte packets.
    let b = broker();
    let small = Client::new(ClientOptions::new(id("size-in")).max_packet_size(128)).unwrap();
    small.connect("127.0.0.1", b.port(), &v5()).unwrap();
    subscribe(&small, "big/t", SubscribeOptions::new(QoS::AtLeastOnce));
    let publisher = v5_client(&b, "size-pub");
    publisher
        .publish("big/t", &[1u8; 1000], QoS::AtLeastOnce, false)
        .unwrap()
        .wait()
        .unwrap();
    // The broker dropped it for this subscriber; the connection is fine and the next one
    // arrives.
    assert_eq!(first_before_marker(&b, &small, "big/t").payload, b"marker");
    assert!(small.is_connected());
    small.disconnect().unwrap();
    publisher.disconnect().unwrap();
}

/// A responder for `svc/echo`: answers each request on its Response Topic with its
/// Correlation Data and the payload reversed, until it receives `stop`.
fn echo_responder(b: &mqtt_test_broker::Broker) -> std::thread::JoinHandle<()> {
    let r = v5_client(b, "responder");
    subscribe(&r, "svc/echo", SubscribeOptions::new(QoS::AtLeastOnce));
    std::thread::spawn(move || {
        loop {
            let m = r.recv_timeout(WAIT).unwrap();
            if m.payload == b"stop" {
                break;
            }
            let mut reply = m.payload.clone();
            reply.reverse();
            let props = PublishProperties::new()
                .correlation_data(m.properties.correlation_data.clone().unwrap());
            r.publish_with(
                m.properties.response_topic.as_deref().unwrap(),
                &reply,
                QoS::AtLeastOnce,
                false,
                &props,
            )
            .unwrap()
            .wait()
            .unwrap();
        }
        r.disconnect().unwrap();
    })
}

#[test]
fn request_response_matches_the_answer_by_correlation_data() {
    let b = broker();
    let responder = echo_responder(&b);
    let c = v5_client(&b, "asker");
    let timeout = std::time::Duration::from_secs(20);
    for (qos, ask) in [
        (QoS::AtMostOnce, &b"abc"[..]),
        (QoS::AtLeastOnce, b"hello"),
        (QoS::ExactlyOnce, b"xyz"),
    ] {
        let answer = c
            .request(
                "svc/echo",
                ask,
                qos,
                "asker/replies",
                &PublishProperties::new().user_property("k", "v"),
                timeout,
            )
            .unwrap();
        let mut want = ask.to_vec();
        want.reverse();
        assert_eq!(answer.payload, want);
        assert_eq!(answer.topic, "asker/replies");
    }
    // Answers went to the requests, none to the queue.
    assert!(c.try_recv().is_none());
    // Nobody answers on another service: the wait ends.
    assert!(matches!(
        c.request(
            "svc/nobody",
            b"?",
            QoS::AtMostOnce,
            "asker/replies",
            &PublishProperties::new(),
            std::time::Duration::from_millis(300),
        ),
        Err(mqtt_std::Error::Timeout)
    ));
    c.publish("svc/echo", b"stop", QoS::AtLeastOnce, false)
        .unwrap()
        .wait()
        .unwrap();
    responder.join().unwrap();
    c.disconnect().unwrap();
}

#[tokio::test]
async fn tokio_client_request_response() {
    let b = broker();
    let responder = echo_responder(&b);
    let (c, _messages) = mqtt_std::tokio::Client::new(ClientOptions::new(id("tk-asker"))).unwrap();
    c.connect("127.0.0.1", b.port(), &v5()).await.unwrap();
    let answer = c
        .request(
            "svc/echo",
            b"tokio",
            QoS::AtLeastOnce,
            "tk-asker/replies",
            &PublishProperties::new(),
            std::time::Duration::from_secs(20),
        )
        .await
        .unwrap();
    assert_eq!(answer.payload, b"oikot");
    c.publish("svc/echo", b"stop", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    tokio::task::spawn_blocking(move || responder.join().unwrap())
        .await
        .unwrap();
    c.disconnect().await.unwrap();
}

/// QoS 1 and 2 publishes carry their properties (kept by the session until acknowledged).
#[test]
fn properties_round_trip_at_qos_1_and_2() {
    let b = broker();
    let sub = v5_client(&b, "props12-sub");
    subscribe(&sub, "p12/#", SubscribeOptions::new(QoS::ExactlyOnce));
    let publisher = v5_client(&b, "props12-pub");
    for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let props = PublishProperties::new()
            .content_type("text/plain")
            .correlation_data(vec![qos as u8])
            .user_property("qos", format!("{}", qos as u8));
        publisher
            .publish_with("p12/t", b"x", qos, false, &props)
            .unwrap()
            .wait()
            .unwrap();
        let m = recv(&sub);
        assert_eq!(m.qos, qos);
        assert_eq!(m.properties.content_type.as_deref(), Some("text/plain"));
        assert_eq!(m.properties.correlation_data, Some(vec![qos as u8]));
        assert_eq!(
            m.properties.user_properties,
            [("qos".to_string(), format!("{}", qos as u8))]
        );
    }
    publisher.disconnect().unwrap();
    sub.disconnect().unwrap();
}

/// Message expiry: a message queued by the broker for an absent subscriber is not delivered
/// once its interval has passed; one without expiry is.
#[test]
fn an_expired_queued_message_is_not_delivered() {
    let b = broker();
    let name = id("expiry-sub");
    let keep = v5().clean_session(false).session_expiry(60);
    let sub = Client::new(ClientOptions::new(name)).unwrap();
    sub.connect("127.0.0.1", b.port(), &keep).unwrap();
    subscribe(&sub, "exp/t", SubscribeOptions::new(QoS::AtLeastOnce));
    sub.disconnect().unwrap();
    let publisher = v5_client(&b, "expiry-pub");
    publisher
        .publish_with(
            "exp/t",
            b"short-lived",
            QoS::AtLeastOnce,
            false,
            &PublishProperties::new().message_expiry(1),
        )
        .unwrap()
        .wait()
        .unwrap();
    publisher
        .publish("exp/t", b"lasting", QoS::AtLeastOnce, false)
        .unwrap()
        .wait()
        .unwrap();
    // Past the one-second interval (the broker counts whole seconds).
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let again = sub.connect("127.0.0.1", b.port(), &keep).unwrap();
    assert!(again.session_present);
    assert_eq!(recv(&sub).payload, b"lasting");
    publisher.disconnect().unwrap();
    sub.disconnect().unwrap();
}

/// 5.0 over WebSocket, with Mosquitto's own WebSocket listener (it speaks 5.0): properties,
/// a subscription identifier, No Local and per-filter reason codes, both clients.
#[test]
fn mqtt_5_0_over_websocket() {
    let b = mqtt_test_broker::Broker::builder()
        .websockets()
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let port = b.ws_port().unwrap();
    let ws_client = |prefix: &str| {
        let c = Client::new(ClientOptions::new(id(prefix))).unwrap();
        c.set_websocket(Some(mqtt_std::WsConfig::new("/mqtt")));
        c.connect("127.0.0.1", port, &v5()).unwrap();
        c
    };
    let sub = ws_client("ws5-sub");
    let codes = sub
        .subscribe_with(
            &[
                (
                    "ws5/#",
                    SubscribeOptions::new(QoS::ExactlyOnce).no_local(true),
                ),
                ("ws5b/t", SubscribeOptions::new(QoS::AtMostOnce)),
            ],
            Some(9),
        )
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(
        codes,
        [SubAckReasonCode::GrantedQoS2, SubAckReasonCode::GrantedQoS0]
    );
    // Its own message does not come back (No Local); another client's does, with its
    // properties and the subscription identifier.
    sub.publish("ws5/t", b"own", QoS::AtLeastOnce, false)
        .unwrap()
        .wait()
        .unwrap();
    let publisher = ws_client("ws5-pub");
    let props = PublishProperties::new()
        .content_type("text/plain")
        .user_property("over", "websocket");
    publisher
        .publish_with("ws5/t", b"hello", QoS::ExactlyOnce, false, &props)
        .unwrap()
        .wait()
        .unwrap();
    let m = recv(&sub);
    assert_eq!(
        (m.payload.as_slice(), m.qos),
        (&b"hello"[..], QoS::ExactlyOnce)
    );
    assert_eq!(m.properties.content_type.as_deref(), Some("text/plain"));
    assert_eq!(
        m.properties.user_properties,
        [("over".to_string(), "websocket".to_string())]
    );
    assert_eq!(m.properties.subscription_identifiers, [9]);
    assert_eq!(
        sub.unsubscribe_v5(&["ws5b/t", "ws5c/none"])
            .unwrap()
            .wait()
            .unwrap(),
        [
            UnsubAckReasonCode::Success,
            UnsubAckReasonCode::NoSubscriptionExisted
        ]
    );
    publisher.disconnect().unwrap();
    sub.disconnect_with(DisconnectReasonCode::NormalDisconnection, None)
        .unwrap();
}
