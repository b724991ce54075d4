//! The blocking client's application threads read the connection themselves while they wait
//! for a message or a completion (the reader thread parked meanwhile): against Mosquitto,
//! two threads waiting on one client each get what they wait for (over TCP, TLS and
//! WebSocket), input held back by a full receive queue reaches a thread that reads for
//! itself, once the application stops waiting the reader thread reads again (callbacks keep
//! coming), and a wait that outlasts the quiet time still gets its message; and against
//! scripted brokers, a link that ends while the waiting thread reads it (closed, or a
//! malformed packet) ends that thread's wait at once, in `Pending::wait` and in `recv`.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread;

use common::*;
use mqtt_std::{Client, ClientOptions, ConnectOptions, Error, QoS};

/// A publisher and a subscriber thread on one client: each waits (the publisher on every
/// PUBACK, the subscriber in `recv`) and whichever reads completes the other's wait.
fn two_threads_on(c: Client) {
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

#[test]
fn two_threads_waiting_on_one_client_each_get_theirs() {
    let b = broker();
    two_threads_on(connected(&b, "two"));
}

/// The same over TLS: the bytes an application thread reads are decrypted in the round it
/// runs, as the reader thread's are.
#[test]
fn two_threads_waiting_on_one_tls_client_each_get_theirs() {
    let b = broker();
    let c = client("two-tls");
    c.secure_connect(
        "localhost",
        b.tls_port(),
        &tls_config(&b),
        &ConnectOptions::default(),
    )
    .unwrap();
    two_threads_on(c);
}

/// The same over WebSocket (Mosquitto's own listener).
#[test]
fn two_threads_waiting_on_one_websocket_client_each_get_theirs() {
    let b = mqtt_test_broker::Broker::builder()
        .websockets()
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let c = client("two-ws");
    c.set_websocket(Some(mqtt_std::WsConfig::new("/mqtt")));
    c.connect(
        "127.0.0.1",
        b.ws_port().unwrap(),
        &ConnectOptions::default(),
    )
    .unwrap();
    two_threads_on(c);
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

/// A subscriber that has been reading for itself: 30 messages from a publisher, each taken
/// in `recv` as it comes. Returns the subscriber, the publisher and the topic.
fn reading_subscriber(b: &mqtt_test_broker::Broker, prefix: &str) -> (Client, Client, String) {
    let s = connected(b, prefix);
    let topic = format!("{prefix}/{}", id("t"));
    s.subscribe(&[(topic.as_str(), QoS::AtLeastOnce)])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let p = connected(b, &format!("{prefix}p"));
    for i in 0u32..30 {
        // Each PUBACK waited for: Mosquitto's socket has Nagle on, and PUBACKs it holds for
        // a delayed ACK would fill the publisher's window of 16.
        p.publish(&topic, &i.to_be_bytes(), QoS::AtLeastOnce, false)
            .unwrap()
            .wait_timeout(WAIT)
            .unwrap();
        assert_eq!(recv(&s).payload[..4], i.to_be_bytes());
    }
    (s, p, topic)
}

/// After reading for itself in `recv`, the application leaves the messages to a receive
/// callback: the reader thread reads again and every message reaches the callback.
#[test]
fn once_the_application_stops_waiting_the_reader_thread_reads_again() {
    let b = broker();
    let (s, p, topic) = reading_subscriber(&b, "back");
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

/// How a scripted broker ends the link after the warm-up.
#[derive(Debug, Clone, Copy)]
enum End {
    /// Closes the socket.
    Close,
    /// A PUBACK with flags 0010 (they must be 0000) [MQTT-2.2.2-2].
    BadPubAck,
}

fn end_link(s: &mut TcpStream, end: End, id: [u8; 2]) {
    match end {
        End::Close => {}
        End::BadPubAck => {
            s.write_all(&[0x42, 2, id[0], id[1]]).unwrap();
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest);
        }
    }
}

/// The packet id of a QoS 1 PUBLISH body.
fn publish_id(body: &[u8]) -> [u8; 2] {
    let topic_len = usize::from(u16::from_be_bytes([body[0], body[1]]));
    [body[2 + topic_len], body[3 + topic_len]]
}

const WARM_UP: u32 = 50;

/// A publisher waiting on each PUBACK (reading them itself after the first few): the link
/// ends while it waits on the next one, which completes at once with `PublishInterrupted`.
#[test]
fn a_publish_wait_that_reads_ends_when_the_link_ends() {
    for end in [End::Close, End::BadPubAck] {
        let (port, broker) = scripted(move |mut s| {
            let (first, _) = read_packet(&mut s);
            assert_eq!(first, 0x10);
            s.write_all(&[0x20, 2, 0, 0]).unwrap();
            for _ in 0..WARM_UP {
                let (first, body) = read_packet(&mut s);
                assert_eq!(first & 0xF0, 0x30, "PUBLISH expected");
                let id = publish_id(&body);
                s.write_all(&[0x40, 2, id[0], id[1]]).unwrap();
            }
            let (_, body) = read_packet(&mut s);
            end_link(&mut s, end, publish_id(&body));
        });
        let c = client("pubend");
        c.connect(
            "127.0.0.1",
            port,
            &ConnectOptions::default().clean_session(false),
        )
        .unwrap();
        for i in 0..WARM_UP {
            c.publish("t", &i.to_be_bytes(), QoS::AtLeastOnce, false)
                .unwrap()
                .wait_timeout(WAIT)
                .unwrap();
        }
        let p = c.publish("t", b"last", QoS::AtLeastOnce, false).unwrap();
        match p.wait_timeout(WAIT) {
            Err(Error::PublishInterrupted(_)) => {}
            other => panic!("{end:?}: {other:?}"),
        }
        assert_eq!(c.publishes_in_flight(), 1, "{end:?}: kept in the session");
        broker.join().unwrap();
        c.close();
    }
}

/// A subscriber in `recv` (reading for itself after the first few messages): the link ends
/// while it waits for the next message, and `recv` fails with `ConnectionLost` at once.
#[test]
fn a_recv_that_reads_ends_when_the_link_ends() {
    for end in [End::Close, End::BadPubAck] {
        let (port, broker) = scripted(move |mut s| {
            let (first, _) = read_packet(&mut s);
            assert_eq!(first, 0x10);
            s.write_all(&[0x20, 2, 0, 0]).unwrap();
            for i in 0..WARM_UP {
                // PUBLISH QoS 1, topic "t", id i + 1, payload i; then the client's PUBACK.
                let id = u16::try_from(i + 1).unwrap().to_be_bytes();
                let mut p = vec![0x32, 9, 0, 1, b't', id[0], id[1]];
                p.extend_from_slice(&i.to_be_bytes());
                s.write_all(&p).unwrap();
                let (first, body) = read_packet(&mut s);
                assert_eq!((first, body), (0x40, id.to_vec()), "PUBACK of {i}");
            }
            // A PUBACK for a publish never sent is a protocol violation too.
            end_link(&mut s, end, [0, 7]);
        });
        let c = client("recvend");
        c.connect("127.0.0.1", port, &ConnectOptions::default())
            .unwrap();
        for i in 0..WARM_UP {
            assert_eq!(recv(&c).payload, i.to_be_bytes(), "{end:?}");
        }
        match c.recv_timeout(WAIT) {
            Err(Error::ConnectionLost(_)) => {}
            other => panic!("{end:?}: {other:?}"),
        }
        broker.join().unwrap();
        c.close();
    }
}

/// A subscriber that reads for itself, then waits longer than the quiet time for the next
/// message: it gives the reads back to the reader thread, which wakes it when the message
/// comes.
#[test]
fn a_wait_longer_than_the_quiet_time_gets_its_message() {
    let b = broker();
    let (s, p, topic) = reading_subscriber(&b, "quiet");
    let (tx, rx) = mpsc::channel();
    let waiter = s.clone();
    let h = thread::spawn(move || {
        tx.send(()).unwrap();
        waiter.recv_timeout(WAIT).unwrap()
    });
    rx.recv_timeout(WAIT).unwrap();
    // Past the quiet time (50 ms) before the message is published: the waiting thread has
    // handed the reads back by then.
    thread::sleep(std::time::Duration::from_millis(200));
    p.publish(&topic, b"late", QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    assert_eq!(h.join().unwrap().payload, b"late");
    p.disconnect().unwrap();
    s.disconnect().unwrap();
}
