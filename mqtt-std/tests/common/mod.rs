//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Read as _;
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use mqtt_std::{Client, ClientOptions, ConnectOptions, Message, TlsConfig};
use mqtt_test_broker::Broker;

/// Generous limit for any single wait: tests wait for events, never sleep.
pub const WAIT: Duration = Duration::from_secs(20);

pub fn broker() -> Broker {
    Broker::start().unwrap_or_else(|e| panic!("{e}"))
}

/// A unique client id per call in this process.
pub fn id(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn client(prefix: &str) -> Client {
    Client::new(ClientOptions::new(id(prefix))).unwrap()
}

pub fn connected(broker: &Broker, prefix: &str) -> Client {
    let c = client(prefix);
    c.connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .unwrap();
    c
}

pub fn tls_config(broker: &Broker) -> TlsConfig {
    TlsConfig::builder()
        .ca_pem(broker.pki().ca_pem().as_bytes())
        .unwrap()
        .build()
        .unwrap()
}

pub fn recv(c: &Client) -> Message {
    c.recv_timeout(WAIT).unwrap()
}

/// Waits for a value sent from a callback.
pub fn wait_for<T>(rx: &mpsc::Receiver<T>) -> T {
    rx.recv_timeout(WAIT).expect("event did not come in time")
}

/// Runs `script` on the first connection to a fresh loopback listener (a scripted broker).
pub fn scripted(script: impl FnOnce(TcpStream) + Send + 'static) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        script(s);
    });
    (port, handle)
}

/// Reads one packet: first byte and body.
pub fn read_packet(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut first = [0u8; 1];
    s.read_exact(&mut first).unwrap();
    let mut len = 0usize;
    let mut shift = 0;
    loop {
        let mut b = [0u8; 1];
        s.read_exact(&mut b).unwrap();
        len |= usize::from(b[0] & 0x7f) << shift;
        shift += 7;
        if b[0] & 0x80 == 0 {
            break;
        }
    }
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    (first[0], body)
}

/// Reads one whole packet, its fixed header included (the remaining length re-encoded).
pub fn read_whole_packet(s: &mut TcpStream) -> Vec<u8> {
    let (first, body) = read_packet(s);
    let mut packet = vec![first];
    let mut n = body.len();
    loop {
        let b = (n % 128) as u8;
        n /= 128;
        packet.push(if n > 0 { b | 0x80 } else { b });
        if n == 0 {
            break;
        }
    }
    packet.extend_from_slice(&body);
    packet
}
