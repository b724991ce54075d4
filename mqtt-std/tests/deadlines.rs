//! Deadlines. The write timeout bounds a whole write, not each `send`: a broker that reads a trickle
//! (a few bytes at a time, so that every `send` makes a little progress) cannot keep the
//! client writing, or `close` waiting, much past the write timeout. Before, with a 3 s write
//! timeout, such a broker kept `close()` blocked for 52 s.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use common::*;
use mqtt_std::{Client, ClientOptions, ConnectOptions, DisconnectReason, QoS};

#[test]
fn a_broker_reading_a_trickle_cannot_stretch_a_write() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let broker = thread::spawn({
        let stop = stop.clone();
        move || {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(WAIT)).unwrap();
            let mut connect = [0u8; 64];
            let _ = s.read(&mut connect).unwrap();
            s.write_all(&[0x20, 2, 0, 0]).unwrap();
            // Then a trickle, about 400 KB/s: every `send` of the client makes progress well
            // within its timeout, the whole write would take over a minute.
            let mut buf = [0u8; 4096];
            while !stop.load(Ordering::Relaxed) {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
        }
    });
    let c = Client::new(
        ClientOptions::new(id("trickle"))
            .write_timeout(Duration::from_secs(1))
            .max_packet_size(64 << 20)
            .transmit_buffer_size(64 << 20),
    )
    .unwrap();
    let (tx, rx) = mpsc::channel();
    c.set_disconnect_notify(move |r: &DisconnectReason| {
        let _ = tx.send(r.clone());
    });
    c.connect("127.0.0.1", port, &ConnectOptions::default())
        .unwrap();
    // Far more than the socket buffers hold: the write has to wait for the trickle.
    let payload = vec![0x55u8; 32 << 20];
    let sent = c.publish("big", &payload, QoS::AtMostOnce, false).unwrap();
    // The connection ends with the write timeout; the bound here only keeps a regression
    // from hanging the suite (at 400 KB/s the write would take about 80 s).
    let reason = rx.recv_timeout(WAIT).expect("the write was not bounded");
    assert!(
        matches!(reason, DisconnectReason::Io(std::io::ErrorKind::TimedOut)),
        "{reason:?}"
    );
    assert!(sent.wait_timeout(WAIT).is_err());
    stop.store(true, Ordering::Relaxed);
    c.close();
    broker.join().unwrap();
}

/// A host name is resolved within the connect wait, on a thread of its own (so that a
/// resolver that hangs cannot hold `connect` past its wait); a name that resolves connects.
#[test]
fn a_host_name_is_resolved_within_the_connect_wait() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let broker = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        let mut connect = [0u8; 64];
        let _ = s.read(&mut connect).unwrap();
        s.write_all(&[0x20, 2, 0, 0]).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });
    let c = client("by-name");
    let connected = c
        .connect("localhost", port, &ConnectOptions::default().wait(WAIT))
        .unwrap();
    assert!(!connected.session_present);
    c.close();
    broker.join().unwrap();
}
