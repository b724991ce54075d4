//! A clean session ends with its connection [MQTT-3.1.2-6]: after the link drops and the client
//! reconnects on its own, nothing of the ended session goes on the wire. The QoS 1 publish goes
//! out again as a new message under a new packet id, and its `Pending` completes on that id's
//! PUBACK; the QoS 2 publish whose PUBREC had arrived completes with
//! `Error::AcceptedSessionEnded`, and no PUBREL goes out for it.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use common::*;
use mqtt_std::{Client, ClientOptions, ConnectOptions, Error, QoS, Reconnect};

/// The packet id of a QoS 1/2 PUBLISH body.
fn publish_id(body: &[u8]) -> u16 {
    let topic_len = usize::from(u16::from_be_bytes([body[0], body[1]]));
    u16::from_be_bytes([body[2 + topic_len], body[3 + topic_len]])
}

/// Two connections. On the first: CONNACK, the QoS 1 PUBLISH (not acknowledged) and the QoS 2
/// PUBLISH (PUBREC, then the client's PUBREL is read), then the broker drops the link. On the
/// second: CONNACK session present 0, and the first packet must be the QoS 1 message again as a
/// new one; it is acknowledged. Returns (old id, new id, first byte of the resend).
fn broker_dropping_the_first_link() -> (u16, JoinHandle<(u16, u16, u8)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        let (first, connect) = read_packet(&mut s);
        assert_eq!(first, 0x10);
        assert_eq!(connect[7] & 0x02, 0x02, "clean session");
        s.write_all(&[0x20, 2, 0, 0]).unwrap();
        let (first, q1) = read_packet(&mut s);
        assert_eq!(first & 0xF6, 0x32, "QoS 1 PUBLISH");
        let old = publish_id(&q1);
        let (first, q2) = read_packet(&mut s);
        assert_eq!(first & 0xF6, 0x34, "QoS 2 PUBLISH");
        let q2_id = publish_id(&q2);
        s.write_all(&[0x50, 2, (q2_id >> 8) as u8, q2_id as u8])
            .unwrap();
        let (first, _) = read_packet(&mut s);
        assert_eq!(first, 0x62, "PUBREL");
        drop(s);

        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        let (first, _) = read_packet(&mut s);
        assert_eq!(first, 0x10);
        s.write_all(&[0x20, 2, 0, 0]).unwrap();
        let (first, again) = read_packet(&mut s);
        assert_eq!(
            first & 0xF0,
            0x30,
            "a PUBLISH first, no PUBREL: {first:02x}"
        );
        let new = publish_id(&again);
        s.write_all(&[0x40, 2, (new >> 8) as u8, new as u8])
            .unwrap();
        // Nothing else comes: no PUBREL for the QoS 2 id of the ended session.
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut rest = [0u8; 64];
        match s.read(&mut rest) {
            Ok(n) => assert!(
                n == 0 || rest[..n].iter().all(|&b| b == 0xC0 || b == 0),
                "more after the resend: {:02x?}",
                &rest[..n]
            ),
            Err(e) => assert!(
                matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
                "{e}"
            ),
        }
        (old, new, first)
    });
    (port, handle)
}

fn options(prefix: &str) -> ClientOptions {
    ClientOptions::new(id(prefix)).reconnect(Some(Reconnect {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(100),
    }))
}

#[test]
fn blocking_client_republishes_after_a_clean_session_ends() {
    let (port, broker) = broker_dropping_the_first_link();
    let c = Client::new(options("ended")).unwrap();
    c.connect("127.0.0.1", port, &ConnectOptions::default())
        .unwrap();
    let q1 = c.publish("t/1", b"one", QoS::AtLeastOnce, false).unwrap();
    let q2 = c.publish("t/2", b"two", QoS::ExactlyOnce, false).unwrap();
    assert!(matches!(
        q2.wait_timeout(WAIT),
        Err(Error::AcceptedSessionEnded)
    ));
    q1.wait_timeout(WAIT).unwrap();
    let (old, new, first) = broker.join().unwrap();
    assert_eq!(q1.packet_id().map(|p| p.get()), Some(old));
    assert_ne!(old, new, "a new packet id in the new session");
    assert_eq!(first & 0x08, 0, "DUP=0: a new message");
    c.close();
}

#[tokio::test]
async fn tokio_client_republishes_after_a_clean_session_ends() {
    let (port, broker) = broker_dropping_the_first_link();
    let (c, _messages) = mqtt_std::tokio::Client::new(options("async-ended")).unwrap();
    c.connect("127.0.0.1", port, &ConnectOptions::default())
        .await
        .unwrap();
    let q1 = c.publish("t/1", b"one", QoS::AtLeastOnce, false);
    let q2 = c.publish("t/2", b"two", QoS::ExactlyOnce, false);
    let (r1, r2) = tokio::time::timeout(WAIT, async { tokio::join!(q1, q2) })
        .await
        .unwrap();
    r1.unwrap();
    assert!(matches!(r2, Err(Error::AcceptedSessionEnded)), "{r2:?}");
    let (old, new, first) = tokio::task::spawn_blocking(move || broker.join().unwrap())
        .await
        .unwrap();
    assert_ne!(old, new);
    assert_eq!(first & 0x08, 0);
    c.close().await;
}
