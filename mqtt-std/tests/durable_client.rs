//! A client restarted over its durable store, against a scripted in-process broker that shows
//! the exact packets: the resend after the restart (DUP, original ids and order, PUBREL for a
//! released QoS 2), the incoming QoS 2 id kept across the restart (a resent PUBLISH is
//! answered, not delivered again), and the received message handed out again with its number.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread::{self};
use std::time::{Duration, Instant};

use common::*;
use mqtt_std::{Client, ClientOptions, ConnectOptions, QoS};

/// Reads CONNECT (clean session must be off) and answers CONNACK with `session_present`.
fn accept_persistent(s: &mut TcpStream, session_present: bool) {
    let connect = read_whole_packet(s);
    assert_eq!(connect[0], 0x10);
    // Fixed header (2 bytes), protocol name (6), level (1), then the flags.
    assert_eq!(connect[9] & 0x02, 0, "clean session must be off");
    s.write_all(&[0x20, 2, u8::from(session_present), 0])
        .unwrap();
}

fn publish(first: u8, topic: &str, id: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![first, (2 + topic.len() + 2 + payload.len()) as u8];
    p.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    p.extend_from_slice(topic.as_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !f() {
        assert!(Instant::now() < deadline, "{what}");
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_restarted_client_resumes_from_its_store() {
    let store = std::env::temp_dir().join(format!("mqtt-durable-client-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store);
    let options = || ClientOptions::new(id("durable")).session_store(&store);
    let persistent = ConnectOptions::default().clean_session(false);

    // First life: three publishes; the broker takes the QoS 2 id 2 (PUBREC) and sends an
    // incoming QoS 2 message (id 7), then goes silent.
    let (done_tx, done_rx) = mpsc::channel();
    let (port, first) = scripted(move |mut s| {
        accept_persistent(&mut s, false);
        let sent: Vec<Vec<u8>> = (0..3).map(|_| read_whole_packet(&mut s)).collect();
        assert_eq!(sent[0], publish(0x32, "d/1", 1, b"one"));
        assert_eq!(sent[1], publish(0x34, "d/2", 2, b"two"));
        assert_eq!(sent[2], publish(0x34, "d/3", 3, b"three"));
        s.write_all(&[0x50, 2, 0, 2]).unwrap();
        s.write_all(&publish(0x34, "i/n", 7, b"hi")).unwrap();
        let answers = [read_whole_packet(&mut s), read_whole_packet(&mut s)];
        assert_eq!(answers, [vec![0x62, 2, 0, 2], vec![0x50, 2, 0, 7]]);
        done_tx.send(()).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });
    let a = Client::new(options()).unwrap();
    a.connect("127.0.0.1", port, &persistent).unwrap();
    for (topic, payload, qos) in [
        ("d/1", &b"one"[..], QoS::AtLeastOnce),
        ("d/2", b"two", QoS::ExactlyOnce),
        ("d/3", b"three", QoS::ExactlyOnce),
    ] {
        a.publish(topic, payload, qos, false).unwrap();
    }
    done_rx.recv_timeout(WAIT).unwrap();
    wait_until("the message is queued", || a.queued_messages() == 1);
    assert_eq!(a.accepted_publishes(), Some(3));
    // The process ends without taking the message or finishing the flows.
    a.drop_connection().unwrap();
    drop(a);
    first.join().unwrap();

    // Second life over the same store.
    let (port, second) = scripted(move |mut s| {
        accept_persistent(&mut s, true);
        // The resend, in the original order: PUBLISH 1 (DUP), PUBREL 2, PUBLISH 3 (DUP).
        let resent: Vec<Vec<u8>> = (0..3).map(|_| read_whole_packet(&mut s)).collect();
        assert_eq!(
            resent,
            [
                publish(0x3a, "d/1", 1, b"one"),
                vec![0x62, 2, 0, 2],
                publish(0x3c, "d/3", 3, b"three"),
            ]
        );
        // The broker resends PUBLISH 7 (it never saw the PUBREC), then releases it, and
        // acknowledges everything.
        let mut burst = publish(0x3c, "i/n", 7, b"hi");
        burst.extend_from_slice(&[0x62, 2, 0, 7, 0x40, 2, 0, 1, 0x70, 2, 0, 2, 0x50, 2, 0, 3]);
        s.write_all(&burst).unwrap();
        let answers: Vec<Vec<u8>> = (0..3).map(|_| read_whole_packet(&mut s)).collect();
        assert_eq!(
            answers,
            [
                vec![0x50, 2, 0, 7],
                vec![0x70, 2, 0, 7],
                vec![0x62, 2, 0, 3]
            ]
        );
        s.write_all(&[0x70, 2, 0, 3]).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });
    let b = Client::new(options()).unwrap();
    assert_eq!(b.publishes_in_flight(), 3);
    // The received message is handed out again, with its number.
    assert_eq!(b.queued_messages(), 1);
    let connected = b.connect("127.0.0.1", port, &persistent).unwrap();
    assert!(connected.session_present);
    wait_until("every flow completes", || b.publishes_in_flight() == 0);
    let m = b.recv_timeout(WAIT).unwrap();
    assert_eq!(
        (m.topic.as_str(), &m.payload[..], m.qos, m.seq),
        ("i/n", &b"hi"[..], QoS::ExactlyOnce, Some(1))
    );
    // The resent PUBLISH 7 was not delivered a second time.
    assert!(b.try_recv().is_none());
    assert_eq!(b.accepted_publishes(), Some(3));
    b.disconnect().unwrap();
    b.close();
    second.join().unwrap();

    // A third life finds nothing left: every flow completed and the message was taken.
    let c = Client::new(options()).unwrap();
    assert_eq!(c.publishes_in_flight(), 0);
    assert_eq!(c.queued_messages(), 0);
    c.close();
    std::fs::remove_dir_all(&store).unwrap();
}
