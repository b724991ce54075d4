//! A scripted in-process "broker" (a plain `TcpListener`) sends what a real one never would;
//! the client reports a typed error, closes the connection, and stays usable.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread::{self};
use std::time::Duration;

use common::*;
use mqtt_proto::DecodeError;
use mqtt_std::{
    Client, ClientOptions, ConnectOptions, ConnectReturnCode, DisconnectReason, Error, QoS,
    SubAckReturnCode, Violation,
};

/// Reads CONNECT and accepts it.
fn accept_connect(s: &mut TcpStream) {
    let (first, _) = read_packet(s);
    assert_eq!(first, 0x10, "CONNECT expected");
    s.write_all(&[0x20, 2, 0, 0]).unwrap();
}

/// The client closed the connection: the next read sees end of stream (not a timeout).
fn assert_closed_by_client(s: &mut TcpStream) {
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
}

fn client_with_notify() -> (Client, mpsc::Receiver<DisconnectReason>) {
    let c = client("bad");
    let (tx, rx) = mpsc::channel();
    c.set_disconnect_notify(move |r: &DisconnectReason| {
        let _ = tx.send(r.clone());
    });
    (c, rx)
}

/// After the failure, the same client works with a real broker.
fn still_usable(c: &Client) {
    let broker = broker();
    c.connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .unwrap();
    c.subscribe(&[("after", QoS::AtLeastOnce)])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    c.publish("after", b"ok", QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    assert_eq!(recv(c).payload, b"ok");
    c.disconnect().unwrap();
}

#[test]
fn mqtt_3_3_1_4_publish_with_qos_3_closes_the_connection() {
    let (port, server) = scripted(|mut s| {
        accept_connect(&mut s);
        // PUBLISH, QoS bits 11, topic "t", payload "evil".
        s.write_all(&[0x36, 9, 0, 1, b't', 0, 1, b'e', b'v', b'i', b'l'])
            .unwrap();
        assert_closed_by_client(&mut s);
    });
    let (c, notified) = client_with_notify();
    c.connect("127.0.0.1", port, &ConnectOptions::default())
        .unwrap();
    let reason = wait_for(&notified);
    assert!(
        matches!(
            reason,
            DisconnectReason::ProtocolViolation(Violation::Malformed(DecodeError::InvalidQoS))
        ),
        "{reason:?}"
    );
    assert!(reason.to_string().contains("[MQTT-3.3.1-4]"), "{reason}");
    // No message from the broken packet reaches the application.
    match c.recv_timeout(WAIT) {
        Err(Error::ConnectionLost(DisconnectReason::ProtocolViolation(_))) => {}
        other => panic!("{other:?}"),
    }
    server.join().unwrap();
    still_usable(&c);
}

#[test]
fn reserved_packet_type_before_connack_fails_the_connect() {
    let (port, server) = scripted(|mut s| {
        let _ = read_packet(&mut s);
        s.write_all(&[0xF0, 0]).unwrap();
        assert_closed_by_client(&mut s);
    });
    let (c, _) = client_with_notify();
    let e = c
        .connect("127.0.0.1", port, &ConnectOptions::default())
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::ConnectionLost(DisconnectReason::ProtocolViolation(_))
        ),
        "{e:?}"
    );
    server.join().unwrap();
    still_usable(&c);
}

#[test]
fn remaining_length_of_five_bytes_is_malformed() {
    let (port, server) = scripted(|mut s| {
        accept_connect(&mut s);
        s.write_all(&[0x30, 0x80, 0x80, 0x80, 0x80, 0x01]).unwrap();
        assert_closed_by_client(&mut s);
    });
    let (c, notified) = client_with_notify();
    c.connect("127.0.0.1", port, &ConnectOptions::default())
        .unwrap();
    // Either error names the problem: the length can only exceed any limit.
    let reason = wait_for(&notified);
    assert!(
        matches!(
            reason,
            DisconnectReason::ProtocolViolation(Violation::Malformed(
                DecodeError::RemainingLengthTooLong | DecodeError::PacketTooLarge
            )) | DisconnectReason::IncomingPacketTooLarge
        ),
        "{reason:?}"
    );
    server.join().unwrap();
    still_usable(&c);
}

#[test]
fn unexpected_packet_type_is_a_violation() {
    let (port, server) = scripted(|mut s| {
        accept_connect(&mut s);
        // SUBSCRIBE is never sent to a client.
        s.write_all(&[0x82, 6, 0, 1, 0, 1, b'a', 0]).unwrap();
        assert_closed_by_client(&mut s);
    });
    let (c, notified) = client_with_notify();
    c.connect("127.0.0.1", port, &ConnectOptions::default())
        .unwrap();
    assert!(matches!(
        wait_for(&notified),
        DisconnectReason::ProtocolViolation(_)
    ));
    server.join().unwrap();
}

#[test]
fn packet_larger_than_the_receive_buffer_ends_the_connection() {
    let (port, server) = scripted(|mut s| {
        accept_connect(&mut s);
        // A PUBLISH announcing 100,000 bytes; the client's limit is 4,096.
        s.write_all(&[0x30, 0xa0, 0x8d, 0x06]).unwrap();
        assert_closed_by_client(&mut s);
    });
    let c = Client::new(ClientOptions::new(id("small")).max_packet_size(4096)).unwrap();
    let (tx, rx) = mpsc::channel();
    c.set_disconnect_notify(move |r: &DisconnectReason| {
        let _ = tx.send(r.clone());
    });
    c.connect("127.0.0.1", port, &ConnectOptions::default())
        .unwrap();
    let reason = wait_for(&rx);
    assert!(
        matches!(
            reason,
            DisconnectReason::IncomingPacketTooLarge
                | DisconnectReason::ProtocolViolation(Violation::Malformed(
                    DecodeError::PacketTooLarge
                ))
        ),
        "{reason:?}"
    );
    server.join().unwrap();
}

#[test]
fn suback_failure_code_reaches_the_caller() {
    let (port, server) = scripted(|mut s| {
        accept_connect(&mut s);
        let (first, body) = read_packet(&mut s);
        assert_eq!(first, 0x82);
        // SUBACK: granted QoS 1 for the first filter, 0x80 for the second.
        s.write_all(&[0x90, 4, body[0], body[1], 0x01, 0x80])
            .unwrap();
        let (first, _) = read_packet(&mut s);
        assert_eq!(first, 0xE0, "DISCONNECT expected");
    });
    let c = client("suback");
    c.connect("127.0.0.1", port, &ConnectOptions::default())
        .unwrap();
    let codes = c
        .subscribe(&[("ok/#", QoS::AtLeastOnce), ("refused/#", QoS::ExactlyOnce)])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    assert_eq!(
        codes,
        vec![
            SubAckReturnCode::Success(QoS::AtLeastOnce),
            SubAckReturnCode::Failure
        ]
    );
    c.disconnect().unwrap();
    server.join().unwrap();
}

#[test]
fn refused_connack_codes_are_reported() {
    let (port, server) = scripted(|mut s| {
        let _ = read_packet(&mut s);
        s.write_all(&[0x20, 2, 0, 2]).unwrap();
        assert_closed_by_client(&mut s);
    });
    let c = client("refused");
    let e = c
        .connect("127.0.0.1", port, &ConnectOptions::default())
        .unwrap_err();
    assert!(
        matches!(e, Error::Refused(ConnectReturnCode::IdentifierRejected)),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "connection refused: identifier rejected (2)");
    server.join().unwrap();
}

#[test]
fn no_connack_within_the_wait_time() {
    let (tx, rx) = mpsc::channel::<()>();
    let (port, server) = scripted(move |mut s| {
        let _ = read_packet(&mut s);
        // Say nothing until the client gives up and closes.
        assert_closed_by_client(&mut s);
        let _ = tx.send(());
    });
    let c = client("silent");
    let e = c
        .connect(
            "127.0.0.1",
            port,
            &ConnectOptions::default().wait(Duration::from_millis(300)),
        )
        .unwrap_err();
    assert!(matches!(e, Error::Timeout), "{e:?}");
    wait_for(&rx);
    server.join().unwrap();
    still_usable(&c);
}

#[test]
fn broker_closing_at_once_fails_the_connect() {
    let (port, server) = scripted(drop);
    let c = client("hangup");
    let e = c
        .connect("127.0.0.1", port, &ConnectOptions::default())
        .unwrap_err();
    assert!(matches!(e, Error::ConnectionLost(_)), "{e:?}");
    server.join().unwrap();
}

#[test]
fn garbage_instead_of_tls_is_a_tls_error() {
    let (port, server) = scripted(|mut s| {
        let mut hello = [0u8; 5];
        s.read_exact(&mut hello).unwrap();
        s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").unwrap();
        assert_closed_by_client(&mut s);
    });
    let broker = broker();
    let c = client("notls");
    let e = c
        .secure_connect(
            "localhost",
            port,
            &tls_config(&broker),
            &ConnectOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(e, Error::Tls(_)), "{e:?}");
    server.join().unwrap();
}

#[test]
fn pending_publish_completes_with_closed_when_the_client_closes() {
    let (port, server) = scripted(|mut s| {
        accept_connect(&mut s);
        // Take the PUBLISH and never acknowledge it.
        let (first, _) = read_packet(&mut s);
        assert_eq!(first & 0xf0, 0x30);
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });
    let c = client("unacked");
    c.connect("127.0.0.1", port, &ConnectOptions::default())
        .unwrap();
    let p = c.publish("t", b"x", QoS::AtLeastOnce, false).unwrap();
    assert!(matches!(
        p.wait_timeout(Duration::from_millis(1)),
        Err(Error::Timeout)
    ));
    assert_eq!(c.publishes_in_flight(), 1);
    // `close` disconnects first: the link ends and no reconnect follows, so the wait is over
    // at once; the message stays in the session (a durable store keeps it for the next run).
    c.close();
    assert!(matches!(
        p.wait_timeout(WAIT),
        Err(Error::PublishInterrupted(DisconnectReason::Local))
    ));
    server.join().unwrap();
}

#[test]
fn no_pingresp_ends_the_connection_with_keep_alive_timeout() {
    let (port, server) = scripted(|mut s| {
        accept_connect(&mut s);
        // PINGREQ arrives after the keep-alive interval; never answer it.
        let (first, _) = read_packet(&mut s);
        assert_eq!(first, 0xC0, "PINGREQ expected");
        assert_closed_by_client(&mut s);
    });
    let c = Client::new(ClientOptions::new(id("noping")).ping_timeout(Duration::from_millis(200)))
        .unwrap();
    let (tx, rx) = mpsc::channel();
    c.set_disconnect_notify(move |r: &DisconnectReason| {
        let _ = tx.send(r.clone());
    });
    c.connect("127.0.0.1", port, &ConnectOptions::default().keep_alive(1))
        .unwrap();
    assert!(matches!(wait_for(&rx), DisconnectReason::KeepAliveTimeout));
    server.join().unwrap();
}

#[test]
fn qos1_in_flight_at_disconnect_is_resent_on_the_next_connect() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (id_tx, id_rx) = mpsc::channel();
    let server = thread::spawn(move || {
        // First connection: take the PUBLISH, never acknowledge it, see DISCONNECT.
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        accept_connect(&mut s);
        let (first, body) = read_packet(&mut s);
        assert_eq!(first, 0x32, "QoS 1 PUBLISH, DUP 0");
        let packet_id = [body[3], body[4]];
        id_tx.send(()).unwrap();
        let (first, _) = read_packet(&mut s);
        assert_eq!(first, 0xE0, "DISCONNECT expected");
        drop(s);
        // Second connection: session present; the same PUBLISH comes again with DUP set.
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        let (first, _) = read_packet(&mut s);
        assert_eq!(first, 0x10);
        s.write_all(&[0x20, 2, 1, 0]).unwrap();
        let (first, body) = read_packet(&mut s);
        assert_eq!(first, 0x3A, "QoS 1 PUBLISH with DUP 1");
        assert_eq!([body[3], body[4]], packet_id);
        assert_eq!(&body[5..], b"keep me");
        s.write_all(&[0x40, 2, packet_id[0], packet_id[1]]).unwrap();
        let (first, _) = read_packet(&mut s);
        assert_eq!(first, 0xE0, "DISCONNECT expected");
    });
    let c = client("resend");
    let persistent = ConnectOptions::default().clean_session(false);
    c.connect("127.0.0.1", port, &persistent).unwrap();
    let p = c.publish("t", b"keep me", QoS::AtLeastOnce, false).unwrap();
    wait_for(&id_rx);
    c.disconnect().unwrap();
    // The message survives in the session; the wait for it ends with the link, since no
    // automatic reconnect follows (nobody waits for ever).
    assert_eq!(c.publishes_in_flight(), 1);
    assert!(matches!(
        p.wait_timeout(WAIT),
        Err(Error::PublishInterrupted(DisconnectReason::Local))
    ));
    let again = c.connect("127.0.0.1", port, &persistent).unwrap();
    assert!(again.session_present);
    // Resent with DUP and acknowledged (the server thread checks the bytes).
    let deadline = std::time::Instant::now() + WAIT;
    while c.publishes_in_flight() > 0 && std::time::Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(c.publishes_in_flight(), 0);
    c.disconnect().unwrap();
    server.join().unwrap();
}
