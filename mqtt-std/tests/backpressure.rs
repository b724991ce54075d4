//! Back-pressure is not a dead broker: an application that takes no messages fills the
//! receive queue, the client stops reading, and the PINGRESP stays unread behind the messages.
//! The connection must stay up (before, receive depth 1 and keep alive 2 s ended it with a
//! keep-alive timeout after 3 s), and every message is there once the application takes them.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::*;
use mqtt_std::{Client, ClientOptions, ConnectOptions, DisconnectReason, QoS};

/// Three keep-alive intervals of 2 s: a PINGRESP timeout would have ended it by then.
const QUIET: Duration = Duration::from_secs(7);

#[test]
fn a_full_receive_queue_keeps_a_healthy_connection() {
    let broker = broker();
    let c = Client::new(ClientOptions::new(id("slow")).receive_queue_depth(1)).unwrap();
    let (tx, rx) = mpsc::channel();
    c.set_disconnect_notify(move |r: &DisconnectReason| {
        let _ = tx.send(r.clone());
    });
    c.connect(
        "127.0.0.1",
        broker.port(),
        &ConnectOptions::default().keep_alive(2),
    )
    .unwrap();
    let topic = id("bp");
    c.subscribe(&[(&topic, QoS::AtLeastOnce)])
        .unwrap()
        .wait()
        .unwrap();
    let sender = connected(&broker, "sender");
    for i in 0..5u8 {
        sender
            .publish(&topic, &[i], QoS::AtLeastOnce, false)
            .unwrap()
            .wait()
            .unwrap();
    }
    // The application takes nothing for a while: no disconnect may come.
    match rx.recv_timeout(QUIET) {
        Err(mpsc::RecvTimeoutError::Timeout) => {}
        other => panic!("the connection ended: {other:?}"),
    }
    assert!(c.is_connected());
    for i in 0..5u8 {
        assert_eq!(recv(&c).payload, [i]);
    }
    c.disconnect().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_a_full_receive_queue_keeps_a_healthy_connection() {
    let broker = broker();
    let (c, mut messages) =
        mqtt_std::tokio::Client::new(ClientOptions::new(id("slow-async")).receive_queue_depth(1))
            .unwrap();
    c.connect(
        "127.0.0.1",
        broker.port(),
        &ConnectOptions::default().keep_alive(2),
    )
    .await
    .unwrap();
    let topic = id("bp-async");
    c.subscribe(&[(&topic, QoS::AtLeastOnce)]).await.unwrap();
    let sender = connected(&broker, "sender");
    for i in 0..5u8 {
        sender
            .publish(&topic, &[i], QoS::AtLeastOnce, false)
            .unwrap()
            .wait()
            .unwrap();
    }
    let ended = tokio::time::timeout(QUIET, c.disconnected()).await;
    assert!(ended.is_err(), "the connection ended: {ended:?}");
    assert!(c.is_connected());
    for i in 0..5u8 {
        let m = tokio::time::timeout(WAIT, messages.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.payload, [i]);
    }
    c.disconnect().await.unwrap();
}

/// The receive queue's byte budget bounds what waits, not only its number: 10 messages of
/// 100 KB against a budget of 150 KB, the application not taking any. Reading stops after the
/// budget is reached (one read's worth more at most: 3 messages), and goes on as the
/// application takes them. With the default budget, the same 10 all wait in the queue.
#[test]
fn the_byte_budget_bounds_the_receive_queue() {
    const SIZE: usize = 100_000;
    let broker = broker();
    let run = |budget: Option<usize>| {
        let mut options = ClientOptions::new(id("budget"));
        if let Some(b) = budget {
            options = options.receive_queue_bytes(b);
        }
        let c = Client::new(options).unwrap();
        c.connect("127.0.0.1", broker.port(), &ConnectOptions::default())
            .unwrap();
        let topic = id("big");
        c.subscribe(&[(&topic, QoS::AtLeastOnce)])
            .unwrap()
            .wait()
            .unwrap();
        let sender = connected(&broker, "big-sender");
        for i in 0..10u8 {
            sender
                .publish(&topic, &[i; SIZE], QoS::AtLeastOnce, false)
                .unwrap()
                .wait_timeout(WAIT)
                .unwrap();
        }
        // Every PUBACK is in: the broker has all 10 and sends them as fast as we read.
        let mut most = 0;
        let until = std::time::Instant::now() + Duration::from_secs(1);
        while std::time::Instant::now() < until && most < 10 {
            most = most.max(c.queued_messages());
            std::thread::sleep(Duration::from_millis(10));
        }
        for i in 0..10u8 {
            let m = c.recv_timeout(WAIT).unwrap();
            assert_eq!(m.payload, vec![i; SIZE]);
        }
        most
    };
    let bounded = run(Some(150_000));
    assert!((2..=3).contains(&bounded), "{bounded} messages waited");
    assert_eq!(run(None), 10);
}
