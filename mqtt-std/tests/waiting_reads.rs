//! The blocking client's application threads read the connection themselves while they wait
//! for a message or a completion (the reader thread parked meanwhile): against Mosquitto,
//! two threads waiting on one client each get what they wait for, input held back by a full
//! receive queue reaches a thread that reads for itself, and once the application stops
//! waiting the reader thread reads again (callbacks keep coming).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::mpsc;
use std::thread;

use common::*;
use mqtt_std::{Client, ClientOptions, ConnectOptions, QoS};

/// A publisher and a subscriber thread on one client: each waits (the publisher on every
/// PUBACK, the subscriber in `recv`) and whichever reads completes the other's wait.
#[test]
fn two_threads_waiting_on_one_client_each_get_theirs() {
    let b = broker();
    let c = connected(&b, "two");
    let topic = format!("two/{}", id("t"));
    c.subscribe(&[(topic.as_str(), QoS::AtLeastOnce)])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    const N: u32 = 300;
    let rc = c.clone();
    let receiver = thread::spawn(move || {
        (0..N)
            .map(|_| {
                let m = rc.recv_timeout(WAIT).unwrap();
                u32::from_be_bytes(m.payload[..4].try_into().unwrap())
            })
            .collect::<Vec<_>>()
    });
    for i in 0..N {
        c.publish(&topic, &i.to_be_bytes(), QoS::AtLeastOnce, false)
            .unwrap()
            .wait_timeout(WAIT)
            .unwrap();
    }
    let got = receiver.join().unwrap();
    assert_eq!(got, (0..N).collect::<Vec<_>>());
    c.disconnect().unwrap();
}

/// Receive queue of depth 1 and a burst of messages after the receiving thread began to read
/// for itself: the input waits (in the inbox or the core) and goes to the queue one message
/// at a time, each time the application takes one, in order, none lost, although nothing
/// more comes on the socket after the burst.
#[test]
fn a_reading_thread_is_woken_when_input_from_the_inbox_is_queued() {
    let b = broker();
    let s = Client::new(ClientOptions::new(id("deep1")).receive_queue_depth(1)).unwrap();
    s.connect("127.0.0.1", b.port(), &ConnectOptions::default())
        .unwrap();
    let topic = format!("deep1/{}", id("t"));
    s.subscribe(&[(topic.as_str(), QoS::AtMostOnce)])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let p = connected(&b, "deep1p");
    // One message at a time first, so that the receiving thread reads for itself.
    for i in 0u32..30 {
        p.publish(&topic, &i.to_be_bytes(), QoS::AtMostOnce, false)
            .unwrap();
        let m = recv(&s);
        assert_eq!(m.payload[..4], i.to_be_bytes());
    }
    // Then a burst, taken one by one.
    for i in 30u32..230 {
        p.publish(&topic, &i.to_be_bytes(), QoS::AtMostOnce, false)
            .unwrap();
    }
    for i in 30u32..230 {
        let m = recv(&s);
        assert_eq!(m.payload[..4], i.to_be_bytes(), "message {i}");
    }
    p.disconnect().unwrap();
    s.disconnect().unwrap();
}

/// After reading for itself in `recv`, the application leaves the messages to a receive
/// callback: the reader thread reads again and every message reaches the callback.
#[test]
fn once_the_application_stops_waiting_the_reader_thread_reads_again() {
    let b = broker();
    let s = connected(&b, "back");
    let topic = format!("back/{}", id("t"));
    s.subscribe(&[(topic.as_str(), QoS::AtLeastOnce)])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let p = connected(&b, "backp");
    for i in 0u32..30 {
        p.publish(&topic, &i.to_be_bytes(), QoS::AtLeastOnce, false)
            .unwrap();
        assert_eq!(recv(&s).payload[..4], i.to_be_bytes());
    }
    let (tx, rx) = mpsc::channel();
    let weak = s.downgrade();
    s.set_receive_notify(move |_| {
        if let Some(c) = weak.upgrade() {
            while let Some(m) = c.try_recv() {
                let _ = tx.send(u32::from_be_bytes(m.payload[..4].try_into().unwrap()));
            }
        }
    });
    for i in 30u32..60 {
        p.publish(&topic, &i.to_be_bytes(), QoS::AtLeastOnce, false)
            .unwrap()
            .wait_timeout(WAIT)
            .unwrap();
        assert_eq!(wait_for(&rx), i);
    }
    p.disconnect().unwrap();
    s.disconnect().unwrap();
}
