//! MQTT over WebSocket against a real broker (Aedes behind `ws`, started by
//! `mqtt_test_broker::ws`): QoS 0/1/2 round trips over `ws://` and `wss://`, the path, a
//! bearer-token header, login, and a cross-transport check (TCP subscriber, WebSocket
//! publisher).
#![allow(clippy::unwrap_used)]

mod common;

use common::{WAIT, id};
use mqtt_std::{
    Client, ClientOptions, ConnectOptions, Error, QoS, TlsConfig, Will, WsConfig, WsError,
};
use mqtt_test_broker::ws::WsBroker;

fn ws_broker(b: mqtt_test_broker::ws::WsBrokerBuilder) -> WsBroker {
    b.start().unwrap_or_else(|e| panic!("{e}"))
}

fn ws_client(prefix: &str, ws: WsConfig) -> Client {
    let c = Client::new(ClientOptions::new(id(prefix))).unwrap();
    c.set_websocket(Some(ws));
    c
}

fn tls(broker: &WsBroker) -> TlsConfig {
    TlsConfig::builder()
        .ca_pem(broker.pki().ca_pem().as_bytes())
        .unwrap()
        .build()
        .unwrap()
}

/// Subscribes at QoS 2 and publishes at 0, 1 and 2 on one client; each message comes back
/// with the QoS it was sent with.
fn round_trips(c: &Client, topic: &str) {
    let codes = c
        .subscribe(&[(topic, QoS::ExactlyOnce)])
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(
        codes,
        vec![mqtt_std::SubAckReturnCode::Success(QoS::ExactlyOnce)]
    );
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let payload = format!("over websocket at {qos:?}");
        c.publish(topic, payload.as_bytes(), qos, false)
            .unwrap()
            .wait_timeout(WAIT)
            .unwrap();
        let m = c.recv_timeout(WAIT).unwrap();
        assert_eq!(
            (m.topic.as_str(), m.payload.as_slice(), m.qos),
            (topic, payload.as_bytes(), qos)
        );
    }
}

#[test]
fn ws_qos_0_1_2_round_trips() {
    let broker = ws_broker(WsBroker::builder());
    let c = ws_client("ws-rt", WsConfig::new(broker.path()));
    let connected = c
        .connect("127.0.0.1", broker.ws_port(), &ConnectOptions::default())
        .unwrap();
    assert!(!connected.session_present);
    round_trips(&c, "ws/round/trip");
    c.disconnect().unwrap();
}

#[test]
fn wss_qos_0_1_2_round_trips_with_a_test_ca() {
    let broker = ws_broker(WsBroker::builder().tls(true));
    let c = ws_client("wss-rt", WsConfig::new(broker.path()));
    c.secure_connect(
        "localhost",
        broker.wss_port().unwrap(),
        &tls(&broker),
        &ConnectOptions::default(),
    )
    .unwrap();
    round_trips(&c, "wss/round/trip");
    c.disconnect().unwrap();
}

#[test]
fn wss_with_the_wrong_ca_fails_as_tls() {
    let broker = ws_broker(WsBroker::builder().tls(true));
    let c = ws_client("wss-ca", WsConfig::new(broker.path()));
    let wrong = TlsConfig::builder()
        .ca_pem(broker.pki().other_ca_pem().as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let e = c
        .secure_connect(
            "localhost",
            broker.wss_port().unwrap(),
            &wrong,
            &ConnectOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(e, Error::Tls(_)), "{e}");
}

#[test]
fn bearer_token_header_and_path() {
    let broker = ws_broker(WsBroker::builder().path("/gw/mqtt").token("t0k3n"));
    let port = broker.ws_port();
    let opts = ConnectOptions::default();

    // No token: the upgrade is refused with 401, before any MQTT.
    let c = ws_client("ws-tok", WsConfig::new("/gw/mqtt"));
    match c.connect("127.0.0.1", port, &opts).unwrap_err() {
        Error::WebSocket(WsError::HandshakeStatus(401)) => {}
        other => panic!("expected HTTP 401, got {other}"),
    }
    // The wrong path: 400.
    let c = ws_client(
        "ws-tok",
        WsConfig::new("/mqtt").header("Authorization", "Bearer t0k3n"),
    );
    match c.connect("127.0.0.1", port, &opts).unwrap_err() {
        Error::WebSocket(WsError::HandshakeStatus(400)) => {}
        other => panic!("expected HTTP 400, got {other}"),
    }
    // Both right.
    let c = ws_client(
        "ws-tok",
        WsConfig::new("/gw/mqtt").header("Authorization", "Bearer t0k3n"),
    );
    c.connect("127.0.0.1", port, &opts).unwrap();
    c.publish("tok/ok", b"1", QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    c.disconnect().unwrap();
}

#[test]
fn login_over_websocket() {
    let broker = ws_broker(WsBroker::builder().user("alice", "wonderland"));
    let opts = ConnectOptions::default();
    let c = ws_client("ws-login", WsConfig::new(broker.path()));
    c.set_login("alice", Some(b"wrong".as_slice()));
    match c.connect("127.0.0.1", broker.ws_port(), &opts).unwrap_err() {
        Error::Refused(code) => assert_ne!(code, mqtt_std::ConnectReturnCode::Accepted),
        other => panic!("expected a refusal, got {other}"),
    }
    c.set_login("alice", Some(b"wonderland".as_slice()));
    c.connect("127.0.0.1", broker.ws_port(), &opts).unwrap();
    c.disconnect().unwrap();
}

#[test]
fn websocket_publisher_tcp_subscriber_and_will() {
    let broker = ws_broker(WsBroker::builder());
    let sub = Client::new(ClientOptions::new(id("tcp-sub"))).unwrap();
    sub.connect("127.0.0.1", broker.tcp_port(), &ConnectOptions::default())
        .unwrap();
    sub.subscribe(&[("cross/#", QoS::AtLeastOnce)])
        .unwrap()
        .wait()
        .unwrap();

    let publisher = ws_client("ws-pub", WsConfig::new(broker.path()));
    publisher
        .set_will(Some(Will::new(
            "cross/will",
            b"ws client gone".to_vec(),
            QoS::AtLeastOnce,
            false,
        )))
        .unwrap();
    publisher
        .connect(
            "127.0.0.1",
            broker.ws_port(),
            &ConnectOptions::default().keep_alive(5),
        )
        .unwrap();
    // 200 KiB: one MQTT packet over many TCP segments and (from the broker) WebSocket frames.
    let big = vec![0x5a_u8; 200 * 1024];
    publisher
        .publish("cross/big", &big, QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let m = sub.recv_timeout(WAIT).unwrap();
    assert_eq!(
        (m.topic.as_str(), m.payload.len()),
        ("cross/big", big.len())
    );
    assert!(m.payload == big);

    publisher.drop_connection().unwrap();
    let will = sub.recv_timeout(WAIT).unwrap();
    assert_eq!(
        (will.topic.as_str(), will.payload.as_slice()),
        ("cross/will", b"ws client gone".as_slice())
    );
}

#[test]
fn persistent_session_resumes_over_websocket() {
    let broker = ws_broker(WsBroker::builder());
    let client_id = id("ws-persist");
    let opts = ConnectOptions::default().clean_session(false);
    let c = Client::new(ClientOptions::new(client_id.clone())).unwrap();
    c.set_websocket(Some(WsConfig::new(broker.path())));
    c.connect("127.0.0.1", broker.ws_port(), &opts).unwrap();
    c.subscribe(&[("persist/#", QoS::AtLeastOnce)])
        .unwrap()
        .wait()
        .unwrap();
    c.disconnect().unwrap();

    // Published while the subscriber is away: the broker keeps it for the session.
    let p = ws_client("ws-persist-pub", WsConfig::new(broker.path()));
    p.connect("127.0.0.1", broker.ws_port(), &ConnectOptions::default())
        .unwrap();
    p.publish("persist/a", b"kept", QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    p.disconnect().unwrap();

    let connected = c.connect("127.0.0.1", broker.ws_port(), &opts).unwrap();
    assert!(connected.session_present);
    let m = c.recv_timeout(WAIT).unwrap();
    assert_eq!(
        (m.topic.as_str(), m.payload.as_slice()),
        ("persist/a", b"kept".as_slice())
    );
    c.disconnect().unwrap();
}

#[test]
fn mqttc_over_ws_and_wss_urls() {
    const MQTTC: &str = env!("CARGO_BIN_EXE_mqttc");
    let broker = ws_broker(WsBroker::builder().tls(true).token("cli"));
    let ca = broker.pki().ca_path();
    let ws_url = format!("ws://127.0.0.1:{}{}", broker.ws_port(), broker.path());
    let wss_url = format!(
        "wss://localhost:{}{}",
        broker.wss_port().unwrap(),
        broker.path()
    );
    let run = |args: &[&str]| {
        let out = std::process::Command::new(MQTTC)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            err,
        )
    };
    // A retained message over ws://, read back over wss:// (so no race with the subscription).
    let header = "Authorization: Bearer cli";
    let (code, _, err) = run(&[
        "pub",
        "-L",
        &ws_url,
        "--ws-header",
        header,
        "-t",
        "cli/ws",
        "-m",
        "hello",
        "-q",
        "1",
        "-r",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = run(&[
        "sub",
        "-L",
        &wss_url,
        "--cafile",
        ca.to_str().unwrap(),
        "--ws-header",
        header,
        "-t",
        "cli/#",
        "-C",
        "1",
        "-v",
        "-W",
        "20",
    ]);
    assert_eq!((code, out.as_str()), (Some(0), "cli/ws hello\n"), "{err}");
    // Without the token the upgrade is refused: one line, exit 1.
    let (code, _, err) = run(&["pub", "-L", &ws_url, "-t", "cli/ws", "-m", "x"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("401"), "{err}");
    // --ws-path with -h/-p.
    let port = broker.ws_port().to_string();
    let (code, _, err) = run(&[
        "pub",
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "--ws-path",
        "/mqtt",
        "--ws-header",
        header,
        "-t",
        "cli/path",
        "-m",
        "p",
        "-q",
        "2",
    ]);
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn mqttc_script_over_websocket() {
    use std::io::{BufRead as _, BufReader, Write as _};
    let broker = ws_broker(WsBroker::builder().token("s"));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mqttc"))
        .arg("script")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut events = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_event = |want: &str| -> serde_json::Value {
        loop {
            let line = events.next().expect("mqttc script ended").unwrap();
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_ne!(v["event"], "error", "{v}");
            if v["event"] == want {
                return v;
            }
        }
    };
    let connect = serde_json::json!({
        "cmd": "connect", "host": "127.0.0.1", "port": broker.ws_port(),
        "client_id": id("ws-script"),
        "websocket": {"path": broker.path(), "headers": {"Authorization": "Bearer s"}},
    });
    writeln!(stdin, "{connect}").unwrap();
    assert_eq!(next_event("connack")["return_code"], 0);
    writeln!(
        stdin,
        r#"{{"cmd":"subscribe","filters":[{{"filter":"script/ws","qos":2}}]}}"#
    )
    .unwrap();
    next_event("suback");
    writeln!(
        stdin,
        r#"{{"cmd":"publish","topic":"script/ws","payload":"hi","qos":2}}"#
    )
    .unwrap();
    let m = next_event("message");
    assert_eq!(
        (m["topic"].as_str(), m["payload"].as_str()),
        (Some("script/ws"), Some("hi"))
    );
    writeln!(stdin, r#"{{"cmd":"exit"}}"#).unwrap();
    assert!(child.wait().unwrap().success());
}
