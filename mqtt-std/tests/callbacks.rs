//! Callbacks that hold the client: one holding the last handle and closing the client from
//! inside, and one holding a weak handle after the application dropped its own. Against a
//! scripted in-process broker that shows what reaches the wire and when the connection ends;
//! the client's threads must end too (counted in `/proc/self/status`, so the file holds one
//! test: the test harness runs no other thread beside it).
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};

use common::*;
use mqtt_std::{Client, ClientOptions, ConnectOptions};

/// A broker that accepts one client, answers CONNACK, sends one QoS 0 PUBLISH on "cb/t",
/// then reads until the client closes; reports the bytes read after CONNECT.
fn broker_once() -> (u16, JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        read_connect(&mut s);
        s.write_all(&[0x20, 2, 0, 0]).unwrap();
        s.write_all(&[0x30, 8, 0, 4, b'c', b'b', b'/', b't', b'h', b'i'])
            .unwrap();
        let mut rest = Vec::new();
        // Until EOF: the client closed the connection (a timeout fails the test).
        s.read_to_end(&mut rest).unwrap();
        rest
    });
    (port, handle)
}

fn read_connect(s: &mut TcpStream) {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).unwrap();
    assert_eq!(head[0], 0x10);
    let mut body = vec![0u8; usize::from(head[1])];
    s.read_exact(&mut body).unwrap();
}

/// The threads of this process.
fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Waits until the client's threads (and the scripted broker's) are gone.
fn threads_back_to(n: usize, what: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    while threads() > n {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: threads left running"
        );
        thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn callbacks_holding_the_client() {
    let baseline = threads();
    a_callback_holding_the_last_handle_may_close_the_client();
    threads_back_to(baseline, "closed from a callback holding the last handle");
    a_callback_with_a_weak_handle_does_not_keep_the_client_alive();
    threads_back_to(baseline, "a callback with a weak handle");
}

fn a_callback_holding_the_last_handle_may_close_the_client() {
    let (port, broker) = broker_once();
    let c = Client::new(ClientOptions::new(id("cb-close"))).unwrap();
    let (tx, rx) = mpsc::channel();
    let inside = c.clone();
    c.set_receive_notify(move |_| {
        let _ = inside.try_recv();
        inside.close();
        let _ = tx.send(());
    });
    // The PUBLISH follows the CONNACK at once: the callback is in place before.
    c.connect("127.0.0.1", port, &ConnectOptions::default())
        .unwrap();
    // The application lets go: the callback holds the last handle.
    drop(c);
    wait_for(&rx);
    // The IO thread said goodbye and closed the connection, without a deadlock.
    let rest = broker.join().unwrap();
    assert_eq!(rest, [0xe0, 0x00], "DISCONNECT, then the close");
}

fn a_callback_with_a_weak_handle_does_not_keep_the_client_alive() {
    let (port, broker) = broker_once();
    let c = Client::new(ClientOptions::new(id("cb-weak"))).unwrap();
    let (tx, rx) = mpsc::channel();
    let weak = c.downgrade();
    c.set_receive_notify(move |_| {
        if let Some(c) = weak.upgrade() {
            let _ = tx.send(c.try_recv().map(|m| m.payload));
        }
    });
    c.connect("127.0.0.1", port, &ConnectOptions::default())
        .unwrap();
    assert_eq!(wait_for(&rx), Some(b"hi".to_vec()));
    drop(c);
    // Dropping the last application handle ends the client and closes the connection.
    let rest = broker.join().unwrap();
    assert_eq!(rest, [0xe0, 0x00]);
}
