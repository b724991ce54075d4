//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::mpsc;
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
