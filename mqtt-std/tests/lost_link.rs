//! A lost link never leaves a caller waiting for ever: when the connection ends before a QoS 1
//! publish is acknowledged and no automatic reconnect follows, the publish completes at once
//! with `Error::PublishInterrupted` (the message stays in the session), in the blocking and the
//! tokio client, and `mqttc pub` exits 1 with one line. Three ways for the link to end: the
//! broker closes it before its PUBACK, or breaks the protocol with a PUBACK whose flags are
//! 0010 or a PUBREC whose remaining length is 3.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use common::*;
use mqtt_std::{Client, ClientOptions, ConnectOptions, Error, QoS, Reconnect};

const MQTTC: &str = env!("CARGO_BIN_EXE_mqttc");

/// How the scripted broker ends the connection after the client's PUBLISH.
#[derive(Debug, Clone, Copy)]
enum End {
    /// Closes the socket.
    Close,
    /// PUBACK with flags 0010 (they must be 0000) [MQTT-2.2.2-2].
    BadPubAckFlags,
    /// PUBREC with remaining length 3 (it must be 2).
    LongPubRec,
}

const ENDS: [End; 3] = [End::Close, End::BadPubAckFlags, End::LongPubRec];

/// Accepts one client: CONNACK, reads its QoS 1 or 2 PUBLISH, then ends as `end` says and
/// waits for the client to close its side.
fn broker(end: End) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        let (first, _) = read_packet(&mut s);
        assert_eq!(first, 0x10);
        s.write_all(&[0x20, 2, 0, 0]).unwrap();
        let (first, body) = read_packet(&mut s);
        assert_eq!(first & 0xF0, 0x30, "PUBLISH expected");
        let topic_len = usize::from(u16::from_be_bytes([body[0], body[1]]));
        let (hi, lo) = (body[2 + topic_len], body[3 + topic_len]);
        match end {
            End::Close => return,
            End::BadPubAckFlags => s.write_all(&[0x42, 2, hi, lo]).unwrap(),
            End::LongPubRec => s.write_all(&[0x50, 3, hi, lo, 0]).unwrap(),
        }
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });
    (port, handle)
}

fn qos_for(end: End) -> QoS {
    match end {
        End::LongPubRec => QoS::ExactlyOnce,
        _ => QoS::AtLeastOnce,
    }
}

#[test]
fn blocking_publish_completes_when_the_link_is_lost() {
    for end in ENDS {
        let (port, broker) = broker(end);
        let c = client("lost");
        c.connect(
            "127.0.0.1",
            port,
            &ConnectOptions::default().clean_session(false),
        )
        .unwrap();
        let p = c.publish("t", b"x", qos_for(end), false).unwrap();
        // Bounded only so that a regression fails instead of hanging the suite.
        match p.wait_timeout(WAIT) {
            Err(Error::PublishInterrupted(_)) => {}
            other => panic!("{end:?}: {other:?}"),
        }
        // Kept in the session for the next connect.
        assert_eq!(c.publishes_in_flight(), 1, "{end:?}");
        broker.join().unwrap();
        c.close();
    }
}

#[tokio::test]
async fn tokio_publish_completes_when_the_link_is_lost() {
    for end in ENDS {
        let (port, broker) = broker(end);
        let (c, _messages) = mqtt_std::tokio::Client::new(ClientOptions::new(id("lost"))).unwrap();
        c.connect(
            "127.0.0.1",
            port,
            &ConnectOptions::default().clean_session(false),
        )
        .await
        .unwrap();
        let r = tokio::time::timeout(WAIT, c.publish("t", b"x", qos_for(end), false))
            .await
            .unwrap();
        assert!(
            matches!(r, Err(Error::PublishInterrupted(_))),
            "{end:?}: {r:?}"
        );
        assert_eq!(c.publishes_in_flight(), 1, "{end:?}");
        tokio::task::spawn_blocking(move || broker.join().unwrap())
            .await
            .unwrap();
        c.close().await;
    }
}

/// With automatic reconnect on, the wait goes on across reconnects (here until its own
/// timeout: the broker never comes back).
#[test]
fn with_automatic_reconnect_the_publish_waits_on() {
    let (port, broker) = broker(End::Close);
    let c = Client::new(ClientOptions::new(id("lost-rc")).reconnect(Some(Reconnect {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(200),
    })))
    .unwrap();
    c.connect(
        "127.0.0.1",
        port,
        &ConnectOptions::default().clean_session(false),
    )
    .unwrap();
    let p = c.publish("t", b"x", QoS::AtLeastOnce, false).unwrap();
    broker.join().unwrap();
    assert!(matches!(
        p.wait_timeout(Duration::from_millis(500)),
        Err(Error::Timeout)
    ));
    // Cancelling the reconnect ends the wait too.
    c.disconnect().unwrap();
    match p.wait_timeout(WAIT) {
        Err(Error::PublishInterrupted(_)) => {}
        other => panic!("{other:?}"),
    }
    c.close();
}

#[test]
fn mqttc_pub_exits_1_with_one_line_when_the_link_is_lost() {
    for end in ENDS {
        let (port, broker) = broker(end);
        let qos = if matches!(end, End::LongPubRec) {
            "2"
        } else {
            "1"
        };
        let mut child = Command::new(MQTTC)
            .args(["pub", "-h", "127.0.0.1", "-p", &port.to_string()])
            .args(["-q", qos, "-t", "t", "-m", "x"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Killed after a long bound so that a hang fails the test instead of the suite.
        let deadline = std::time::Instant::now() + WAIT;
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("{end:?}: mqttc pub still waiting");
            }
            thread::sleep(Duration::from_millis(10));
        };
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(status.code(), Some(1), "{end:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{end:?}: {err}");
        broker.join().unwrap();
    }
}
