//! The test-broker harness itself.
#![allow(clippy::unwrap_used)]

use mqtt_test_broker::Broker;
use std::io::{Read, Write};
use std::net::TcpStream;

#[test]
fn broker_starts_and_answers_connect() {
    let broker = Broker::start().unwrap();
    let mut s = TcpStream::connect(("127.0.0.1", broker.port())).unwrap();
    // CONNECT, clean session, keep alive 60, client id "h".
    s.write_all(&[
        0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60, 0, 1, b'h',
    ])
    .unwrap();
    let mut connack = [0u8; 4];
    s.read_exact(&mut connack).unwrap();
    assert_eq!(connack, [0x20, 2, 0, 0]);
    assert!(
        broker.wait_for_log("Sending CONNACK to h", std::time::Duration::from_secs(10)),
        "{}",
        broker.log()
    );
}

#[test]
fn brokers_are_independent_and_clean_up() {
    let a = Broker::start().unwrap();
    let b = Broker::start().unwrap();
    let ports_a = [
        a.port(),
        a.auth_port(),
        a.tls_port(),
        a.mtls_port(),
        a.expired_tls_port(),
    ];
    let ports_b = [
        b.port(),
        b.auth_port(),
        b.tls_port(),
        b.mtls_port(),
        b.expired_tls_port(),
    ];
    assert!(ports_a.iter().all(|p| !ports_b.contains(p)));
    let dir = a.dir().to_owned();
    assert!(dir.join("mosquitto.conf").exists());
    assert!(a.pki().ca_path().exists() && a.pki().client_key_path().exists());
    let port = a.port();
    drop(a);
    assert!(!dir.exists(), "temporary directory left behind");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "broker still running"
    );
    // The other broker is unaffected.
    assert!(TcpStream::connect(("127.0.0.1", b.port())).is_ok());
}

#[test]
fn missing_mosquitto_message_says_how_to_install() {
    let msg = mqtt_test_broker::HarnessError::MosquittoNotFound.to_string();
    assert!(msg.contains("apt-get install -y mosquitto"), "{msg}");
}
