//! MQTT 5.0 against a real Mosquitto (its default listener speaks 3.1.1 and 5.0): round trips
//! at each QoS with the blocking client, the tokio client and `mqttc -V 5`, a 5.0 subscriber
//! with a 3.1.1 publisher, and a refusal with its 5.0 reason code.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Stdio};

use common::*;
use mqtt_std::{Client, ClientOptions, ConnectOptions, ProtocolVersion, QoS};

const MQTTC: &str = env!("CARGO_BIN_EXE_mqttc");

fn v5() -> ConnectOptions {
    ConnectOptions::default().protocol(ProtocolVersion::V5)
}

#[test]
fn blocking_client_round_trips_at_each_qos() {
    let b = broker();
    let sub = Client::new(ClientOptions::new(id("v5-sub"))).unwrap();
    sub.connect("127.0.0.1", b.port(), &v5()).unwrap();
    sub.subscribe(&[("v5/#", QoS::ExactlyOnce)])
        .unwrap()
        .wait()
        .unwrap();
    let publisher = Client::new(ClientOptions::new(id("v5-pub"))).unwrap();
    publisher.connect("127.0.0.1", b.port(), &v5()).unwrap();
    for (qos, payload) in [
        (QoS::AtMostOnce, &b"zero"[..]),
        (QoS::AtLeastOnce, b"one"),
        (QoS::ExactlyOnce, b"two"),
    ] {
        publisher
            .publish("v5/t", payload, qos, false)
            .unwrap()
            .wait()
            .unwrap();
        let m = recv(&sub);
        assert_eq!(
            (m.topic.as_str(), &m.payload[..], m.qos),
            ("v5/t", payload, qos)
        );
    }
    // A 3.1.1 publisher reaches the 5.0 subscriber through the broker.
    let old = connected(&b, "v311-pub");
    old.publish("v5/old", b"from 3.1.1", QoS::AtLeastOnce, false)
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(recv(&sub).payload, b"from 3.1.1");
    publisher.disconnect().unwrap();
    sub.disconnect().unwrap();
    // Mosquitto saw 5.0 CONNECTs (its log names the protocol).
    let log = b.log();
    assert!(log.contains("p5") || log.contains("MQTT v5"), "{log}");
}

#[tokio::test]
async fn tokio_client_round_trip_at_qos_2() {
    let b = broker();
    let (sub, mut messages) =
        mqtt_std::tokio::Client::new(ClientOptions::new(id("tk5-sub"))).unwrap();
    sub.connect("127.0.0.1", b.port(), &v5()).await.unwrap();
    sub.subscribe(&[("tk5/t", QoS::ExactlyOnce)]).await.unwrap();
    let (publisher, _m) = mqtt_std::tokio::Client::new(ClientOptions::new(id("tk5-pub"))).unwrap();
    publisher
        .connect("127.0.0.1", b.port(), &v5())
        .await
        .unwrap();
    publisher
        .publish("tk5/t", b"exactly once", QoS::ExactlyOnce, false)
        .await
        .unwrap();
    let m = tokio::time::timeout(WAIT, messages.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (&m.payload[..], m.qos),
        (&b"exactly once"[..], QoS::ExactlyOnce)
    );
    publisher.close().await;
    sub.close().await;
}

#[test]
fn a_bad_password_is_refused_with_its_5_0_reason_code() {
    let b = broker();
    let c = Client::new(ClientOptions::new(id("v5-bad"))).unwrap();
    c.set_login("tester", Some(b"wrong"));
    let err = c.connect("127.0.0.1", b.auth_port(), &v5()).unwrap_err();
    let text = err.to_string();
    // Mosquitto answers 0x86 (bad user name or password) or 0x87 (not authorized).
    assert!(
        text.contains("bad user name or password (0x86)") || text.contains("not authorized (0x87)"),
        "{text}"
    );
}

#[test]
fn mqttc_v5_pub_and_sub_at_each_qos() {
    let b = broker();
    let port = b.port().to_string();
    for q in ["0", "1", "2"] {
        let topic = format!("cli5/{q}");
        let mut sub = Command::new(MQTTC)
            .args([
                "sub", "-V", "5", "-p", &port, "-t", &topic, "-q", q, "-C", "1", "-W", "20", "-d",
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
            assert!(
                std::io::BufRead::read_line(&mut err, &mut line).unwrap() > 0,
                "no SUBACK"
            );
        }
        let o = Command::new(MQTTC)
            .args([
                "pub", "-V", "mqttv5", "-p", &port, "-t", &topic, "-q", q, "-m", "hello 5",
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let out = sub.wait_with_output().unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hello 5\n", "QoS {q}");
    }
    // A bad version is a usage error.
    let o = Command::new(MQTTC)
        .args(["pub", "-V", "4", "-t", "x", "-m", "x"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// A DISCONNECT from the server with a reason code reaches the disconnect notify. Mosquitto
/// 2.0.11 closes a taken-over connection without a DISCONNECT, so a scripted server sends
/// the exact bytes: CONNACK (5.0, success), then DISCONNECT 0x8E (session taken over).
#[test]
fn a_server_disconnect_is_reported_with_its_reason_code() {
    use std::io::Write as _;
    let (port, server) = scripted(|mut s| {
        let (first, body) = read_packet(&mut s);
        assert_eq!(first, 0x10);
        assert_eq!(body[6], 5, "protocol version 5");
        s.write_all(&[0x20, 3, 0, 0, 0]).unwrap();
        s.write_all(&[0xe0, 2, 0x8e, 0]).unwrap();
    });
    let c = Client::new(ClientOptions::new(id("v5-server-disconnect"))).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    c.set_disconnect_notify(move |reason| {
        let _ = tx.send(reason.to_string());
    });
    c.connect("127.0.0.1", port, &v5()).unwrap();
    assert_eq!(
        wait_for(&rx),
        "disconnected by the broker: session taken over (0x8e)"
    );
    server.join().unwrap();
}

#[test]
fn the_brokers_receive_maximum_bounds_the_publishes_in_flight() {
    use std::sync::{Arc, Mutex};
    // Mosquitto announces max_inflight_messages as its Receive Maximum in a 5.0 CONNACK.
    let b = mqtt_test_broker::Broker::builder()
        .max_inflight_messages(3)
        .start()
        .unwrap();
    // (in flight now, most seen): PUBLISH sent adds one, PUBACK received takes one.
    let window = Arc::new(Mutex::new((0i32, 0i32)));
    let w = window.clone();
    let options = ClientOptions::new(id("v5-window")).trace_v5(move |dir, p| {
        use mqtt_proto::v5::Packet;
        let mut w = w.lock().unwrap();
        match (dir, p) {
            (mqtt_std::Direction::Sent, Packet::Publish(_)) => {
                w.0 += 1;
                w.1 = w.1.max(w.0);
            }
            (mqtt_std::Direction::Received, Packet::PubAck(_)) => w.0 -= 1,
            _ => {}
        }
    });
    let c = Client::new(options).unwrap();
    c.connect("127.0.0.1", b.port(), &v5()).unwrap();
    let pending: Vec<_> = (0..40)
        .map(|i| {
            loop {
                match c.publish("win/t", format!("{i}").as_bytes(), QoS::AtLeastOnce, false) {
                    Ok(p) => break p,
                    Err(mqtt_std::Error::WindowFull) => {
                        std::thread::sleep(std::time::Duration::from_millis(1))
                    }
                    Err(e) => panic!("{e}"),
                }
            }
        })
        .collect();
    for p in pending {
        p.wait().unwrap();
    }
    let (now, most) = *window.lock().unwrap();
    assert_eq!(now, 0);
    assert!(most <= 3, "{most} publishes in flight, the broker allows 3");
    assert!(most >= 1);
    c.disconnect().unwrap();
}
