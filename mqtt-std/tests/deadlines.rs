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

/// A listener whose accept queue is full: Linux then drops new SYNs, so a TCP connect to it
/// hangs (retransmitting its SYN) rather than failing. Returns the port, the listener and the
/// connections that filled the queue (keep them open while the listener is used).
fn full_backlog() -> (u16, TcpListener, Vec<std::net::TcpStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut filled = Vec::new();
    // The queue holds the listen backlog (128 for std) plus one; a connect that does not
    // complete within the short wait shows it is full.
    for _ in 0..1024 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(s) => filled.push(s),
            Err(_) => return (addr.port(), listener, filled),
        }
    }
    panic!(
        "the accept queue never filled ({} connections)",
        filled.len()
    );
}

/// A TCP connect that hangs is bounded by the connect wait: `connect` fails with
/// `Error::Timeout` once the wait is over, and the client stays usable (not connected).
#[test]
fn a_tcp_connect_that_hangs_is_bounded_by_the_connect_wait() {
    let (port, _listener, _filled) = full_backlog();
    let c = client("hang");
    let r = c.connect(
        "127.0.0.1",
        port,
        &ConnectOptions::default().wait(Duration::from_secs(1)),
    );
    assert!(matches!(r, Err(mqtt_std::Error::Timeout)), "{r:?}");
    assert!(!c.is_connected());
    // The same through a host name (resolved first, then the hanging connect).
    let r = c.connect(
        "localhost",
        port,
        &ConnectOptions::default().wait(Duration::from_secs(1)),
    );
    assert!(
        matches!(
            r,
            Err(mqtt_std::Error::Timeout | mqtt_std::Error::Connect { .. })
        ),
        "{r:?}"
    );
    c.close();
}

/// The same for the tokio client: its whole open (resolve, TCP, TLS, WebSocket) runs under
/// the connect wait.
#[cfg(feature = "tokio")]
#[test]
fn tokio_a_tcp_connect_that_hangs_is_bounded_by_the_connect_wait() {
    let (port, _listener, _filled) = full_backlog();
    let rt = ::tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (c, _messages) =
            mqtt_std::tokio::Client::new(ClientOptions::new(id("tk-hang"))).unwrap();
        let r = c
            .connect(
                "127.0.0.1",
                port,
                &ConnectOptions::default().wait(Duration::from_secs(1)),
            )
            .await;
        assert!(matches!(r, Err(mqtt_std::Error::Timeout)), "{r:?}");
        assert!(!c.is_connected());
        c.close().await;
    });
}
