//! The test-broker harness itself.
#![allow(clippy::unwrap_used)]

use mqtt_std::test_broker::Broker;
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
        broker.log().contains("Sending CONNACK to h"),
        "{}",
        broker.log()
    );
}
