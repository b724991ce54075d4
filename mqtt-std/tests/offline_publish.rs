//! `ClientOptions::offline_publish`: QoS 1/2 publishes accepted while not connected, held in
//! the session (and its durable store), sent after the next CONNACK; against a real Mosquitto.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mqtt_std::{Client, ClientOptions, ConnectOptions, Error, QoS};

fn subscriber(broker: &mqtt_test_broker::Broker, filter: &str) -> Client {
    let s = connected(broker, "off-sub");
    s.subscribe(&[(filter, QoS::ExactlyOnce)])
        .unwrap()
        .wait()
        .unwrap();
    s
}

/// `n` messages, grouped by QoS in the order each QoS came: MQTT orders the messages of
/// one QoS on a topic (section 4.6), and the broker forwards a QoS 2 message once released.
fn received(s: &Client, n: usize) -> Vec<(String, Vec<u8>, QoS)> {
    let mut got: Vec<_> = (0..n)
        .map(|_| {
            let m = recv(s);
            (m.topic.to_string(), m.payload.to_vec(), m.qos)
        })
        .collect();
    got.sort_by_key(|m| m.2 as u8);
    got
}

#[test]
fn off_by_default_a_publish_before_connect_is_refused() {
    let c = client("off-default");
    assert!(matches!(
        c.publish("t", b"x", QoS::AtLeastOnce, false),
        Err(Error::NotConnected)
    ));
    assert_eq!(c.publishes_in_flight(), 0);
}

#[test]
fn publishes_before_the_first_connect_are_delivered_after_it_in_order() {
    let broker = broker();
    let sub = subscriber(&broker, "off/first/#");
    let c = Client::new(ClientOptions::new(id("off-first")).offline_publish(true)).unwrap();
    // QoS 0 has nowhere to wait: still refused.
    assert!(matches!(
        c.publish("off/first/0", b"zero", QoS::AtMostOnce, false),
        Err(Error::NotConnected)
    ));
    assert!(matches!(
        c.publish("off/+/bad", b"x", QoS::AtLeastOnce, false),
        Err(Error::Invalid(_))
    ));
    let pending: Vec<_> = [
        ("off/first/a", &b"1"[..], QoS::AtLeastOnce),
        ("off/first/b", b"2", QoS::ExactlyOnce),
        ("off/first/a", b"3", QoS::AtLeastOnce),
    ]
    .into_iter()
    .map(|(t, p, q)| c.publish(t, p, q, false).unwrap())
    .collect();
    assert_eq!(c.publishes_in_flight(), 3);
    assert!(pending.iter().all(|p| p.result().is_none()));

    c.connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .unwrap();
    for p in &pending {
        p.wait_timeout(WAIT).unwrap();
    }
    assert_eq!(
        received(&sub, 3),
        [
            ("off/first/a".into(), b"1".to_vec(), QoS::AtLeastOnce),
            ("off/first/a".into(), b"3".to_vec(), QoS::AtLeastOnce),
            ("off/first/b".into(), b"2".to_vec(), QoS::ExactlyOnce),
        ]
    );
    assert_eq!(c.publishes_in_flight(), 0);
}

#[test]
fn publishes_between_connections_go_out_on_the_next_one() {
    let broker = broker();
    let sub = subscriber(&broker, "off/between");
    let c = Client::new(ClientOptions::new(id("off-between")).offline_publish(true)).unwrap();
    let persistent = ConnectOptions::default().clean_session(false);
    c.connect("127.0.0.1", broker.port(), &persistent).unwrap();
    c.publish("off/between", b"online", QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    c.disconnect().unwrap();
    let later = c
        .publish("off/between", b"offline", QoS::ExactlyOnce, false)
        .unwrap();
    assert!(later.result().is_none());
    let resumed = c.connect("127.0.0.1", broker.port(), &persistent).unwrap();
    assert!(resumed.session_present);
    later.wait_timeout(WAIT).unwrap();
    assert_eq!(
        received(&sub, 2),
        [
            ("off/between".into(), b"online".to_vec(), QoS::AtLeastOnce),
            ("off/between".into(), b"offline".to_vec(), QoS::ExactlyOnce),
        ]
    );
}

#[test]
fn the_offline_bound_is_the_window_plus_the_queue() {
    let c = Client::new(
        ClientOptions::new(id("off-bound"))
            .offline_publish(true)
            .max_inflight(1)
            .max_queued_publishes(1),
    )
    .unwrap();
    c.publish("t", b"1", QoS::AtLeastOnce, false).unwrap();
    c.publish("t", b"2", QoS::AtLeastOnce, false).unwrap();
    assert!(matches!(
        c.publish("t", b"3", QoS::AtLeastOnce, false),
        Err(Error::WindowFull)
    ));
}

#[test]
fn closing_before_any_connection_ends_the_waits() {
    let c = Client::new(ClientOptions::new(id("off-close")).offline_publish(true)).unwrap();
    let p = c.publish("t", b"x", QoS::AtLeastOnce, false).unwrap();
    c.close();
    assert!(matches!(p.wait_timeout(WAIT), Err(Error::Closed)));
}

#[test]
fn offline_publishes_in_a_durable_store_survive_a_restart() {
    let broker = broker();
    let sub = subscriber(&broker, "off/durable");
    let dir = std::env::temp_dir().join(format!("mqtt-offline-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let client_id = id("off-durable");
    let options = || {
        ClientOptions::new(&client_id)
            .offline_publish(true)
            .session_store(&dir)
    };

    // First life: never connected.
    let first = Client::new(options()).unwrap();
    first
        .publish("off/durable", b"kept 1", QoS::AtLeastOnce, false)
        .unwrap();
    first
        .publish("off/durable", b"kept 2", QoS::ExactlyOnce, false)
        .unwrap();
    first.close();
    drop(first);

    // Second life: the messages come back from the store and go out on the first connect.
    let second = Client::new(options()).unwrap();
    assert_eq!(second.publishes_in_flight(), 2);
    second
        .connect(
            "127.0.0.1",
            broker.port(),
            &ConnectOptions::default().clean_session(false),
        )
        .unwrap();
    assert_eq!(
        received(&sub, 2),
        [
            ("off/durable".into(), b"kept 1".to_vec(), QoS::AtLeastOnce),
            ("off/durable".into(), b"kept 2".to_vec(), QoS::ExactlyOnce),
        ]
    );
    let deadline = std::time::Instant::now() + WAIT;
    while second.publishes_in_flight() > 0 {
        assert!(std::time::Instant::now() < deadline, "not acknowledged");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    second.close();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_tokio_client_sends_offline_publishes_after_connect() {
    let broker = broker();
    let sub = subscriber(&broker, "off/tokio");
    let (c, _messages) =
        mqtt_std::tokio::Client::new(ClientOptions::new(id("off-tk")).offline_publish(true))
            .unwrap();
    assert!(matches!(
        c.publish("off/tokio", b"zero", QoS::AtMostOnce, false)
            .await,
        Err(Error::NotConnected)
    ));
    let publisher = c.clone();
    let first = tokio::spawn(async move {
        publisher
            .publish("off/tokio", b"early", QoS::AtLeastOnce, false)
            .await
    });
    let deadline = std::time::Instant::now() + WAIT;
    while c.publishes_in_flight() == 0 {
        assert!(std::time::Instant::now() < deadline, "publish not accepted");
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    c.connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .await
        .unwrap();
    tokio::time::timeout(WAIT, first)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let m = tokio::task::spawn_blocking(move || recv(&sub))
        .await
        .unwrap();
    assert_eq!(
        (m.topic.as_str(), &m.payload[..]),
        ("off/tokio", &b"early"[..])
    );
    c.close().await;
}

#[test]
fn the_offline_queue_is_bounded_in_bytes_too() {
    let broker = broker();
    let sub = subscriber(&broker, "off/bytes");
    let c = Client::new(
        ClientOptions::new(id("off-bytes"))
            .offline_publish(true)
            .max_queued_publishes(100)
            .publish_queue_bytes(3 * 1024),
    )
    .unwrap();
    let payload = vec![b'x'; 1000];
    for _ in 0..3 {
        c.publish("off/bytes", &payload, QoS::AtLeastOnce, false)
            .unwrap();
    }
    // 3 x (9 + 1000) bytes held; a fourth would pass 3 KiB.
    assert!(matches!(
        c.publish("off/bytes", &payload, QoS::AtLeastOnce, false),
        Err(Error::WindowFull)
    ));
    assert_eq!(c.publishes_in_flight(), 3);
    c.connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .unwrap();
    assert_eq!(received(&sub, 3).len(), 3);
    let deadline = std::time::Instant::now() + WAIT;
    while c.publishes_in_flight() > 0 {
        assert!(std::time::Instant::now() < deadline, "not acknowledged");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // Acknowledged: the room is back.
    c.publish("off/bytes", &payload, QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
}
