//! The close after DISCONNECT: half-close, drain, close. Against Mosquitto, a client that
//! disconnects with QoS 1 and QoS 2 acknowledgements still on their way back must never make
//! the broker publish its will; and a `mqttc pub` that exits must not be overtaken by the next
//! one on a slow link.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::io::{self, Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use futures_util::FutureExt as _;
use mqtt_std::{Client, ClientOptions, ConnectOptions, Message, QoS, TlsConfig, Will};
use mqtt_test_broker::Broker;

const MQTTC: &str = env!("CARGO_BIN_EXE_mqttc");
const ROUNDS: usize = 50;

/// A subscriber on `prefix/#` that counts the wills of the rounds.
fn will_watcher(broker: &Broker, prefix: &str) -> Client {
    let w = connected(broker, "watch");
    let codes = w
        .subscribe(&[(&format!("{prefix}/#"), QoS::AtLeastOnce)])
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(codes.len(), 1);
    w
}

fn will(topic: String) -> Will {
    Will::new(topic, b"gone".to_vec(), QoS::AtLeastOnce, false)
}

/// Waits until the broker's log shows that the connection of `client_id` ended, one way or
/// the other (the will, if any, is published at that moment).
fn wait_connection_end(broker: &Broker, client_id: &str) {
    let deadline = Instant::now() + WAIT;
    let ends = [
        // "disconnected." after DISCONNECT; "disconnected: Broken pipe." and the others after
        // a lost link.
        format!("Client {client_id} disconnected"),
        format!("Client {client_id} closed its connection"),
        format!("Socket error on client {client_id},"),
    ];
    loop {
        let log = broker.log();
        if ends.iter().any(|e| log.contains(e.as_str())) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no end of {client_id} in the log:\n{log}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// The wills received until the control will (the last one asked for) arrives.
fn wills_until(watcher: &Client, control: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    loop {
        let m: Message = recv(watcher);
        assert_eq!(m.payload, b"gone");
        if m.topic == control {
            return seen;
        }
        seen.insert(m.topic);
    }
}

/// 50 rounds of: a client with a will, a QoS 1 and a QoS 2 publish in flight, `disconnect`
/// (over TLS to the broker's TLS listener when `tls` is given). Then a control round that
/// drops the link without DISCONNECT, whose will must come (so that the count can see wills at
/// all). Returns the wills of the 50 rounds.
fn blocking_rounds(broker: &Broker, tls: Option<&TlsConfig>) -> usize {
    let prefix = id("wills");
    let watcher = will_watcher(broker, &prefix);
    let connect = |c: &Client| match tls {
        None => c.connect("127.0.0.1", broker.port(), &ConnectOptions::default()),
        Some(t) => c.secure_connect(
            "127.0.0.1",
            broker.tls_port(),
            t,
            &ConnectOptions::default(),
        ),
    };
    for round in 0..ROUNDS {
        let c = Client::new(ClientOptions::new(id("round"))).unwrap();
        c.set_will(Some(will(format!("{prefix}/{round}")))).unwrap();
        connect(&c).unwrap();
        let q1 = c.publish("graceful/q1", b"one", QoS::AtLeastOnce, false);
        let q2 = c.publish("graceful/q2", b"two", QoS::ExactlyOnce, false);
        assert!(q1.is_ok() && q2.is_ok());
        c.disconnect().unwrap();
        wait_connection_end(broker, c.client_id());
    }
    let control = format!("{prefix}/control");
    let c = Client::new(ClientOptions::new(id("control"))).unwrap();
    c.set_will(Some(will(control.clone()))).unwrap();
    connect(&c).unwrap();
    let _ = c.publish("graceful/q1", b"one", QoS::AtLeastOnce, false);
    c.drop_connection().unwrap();
    let wills = wills_until(&watcher, &control);
    eprintln!(
        "blocking client{}: wills published in {} of {ROUNDS} rounds",
        if tls.is_some() { " over TLS" } else { "" },
        wills.len()
    );
    wills.len()
}

#[test]
fn disconnect_with_acks_in_flight_never_publishes_the_will() {
    let broker = broker();
    let wills = blocking_rounds(&broker, None);
    assert_eq!(wills, 0, "wills published in {wills} of {ROUNDS} rounds");
}

#[test]
fn tls_disconnect_with_acks_in_flight_never_publishes_the_will() {
    let broker = broker();
    let wills = blocking_rounds(&broker, Some(&tls_config(&broker)));
    assert_eq!(wills, 0, "wills published in {wills} of {ROUNDS} rounds");
}

/// The rounds of [`blocking_rounds`] with the tokio client.
async fn tokio_rounds(broker: &Broker, tls: Option<&TlsConfig>) -> usize {
    use mqtt_std::tokio::Client as AsyncClient;
    let prefix = id("async-wills");
    let watcher = will_watcher(broker, &prefix);
    let round_client = |client_id: String, will_topic: String| {
        let (c, _messages) = AsyncClient::new(ClientOptions::new(client_id)).unwrap();
        c.set_will(Some(will(will_topic))).unwrap();
        c
    };
    let connect = |c: AsyncClient| async move {
        let options = ConnectOptions::default();
        match tls {
            None => c.connect("127.0.0.1", broker.port(), &options).await,
            Some(t) => {
                c.secure_connect("127.0.0.1", broker.tls_port(), t, &options)
                    .await
            }
        }
        .unwrap();
        c
    };
    for round in 0..ROUNDS {
        let c = connect(round_client(id("async-round"), format!("{prefix}/{round}"))).await;
        // The first poll of a publish hands it to the session (and wakes the driver to send
        // it); the futures then wait for acknowledgements, which come after DISCONNECT (or
        // just before it: the driver runs on another thread).
        let mut q1 = Box::pin(c.publish("graceful/q1", b"one", QoS::AtLeastOnce, false));
        let mut q2 = Box::pin(c.publish("graceful/q2", b"two", QoS::ExactlyOnce, false));
        let polled = [(&mut q1).now_or_never(), (&mut q2).now_or_never()];
        assert!(polled.iter().flatten().all(Result::is_ok), "{polled:?}");
        c.disconnect().await.unwrap();
        wait_connection_end(broker, c.client_id());
        c.close().await;
    }
    let control = format!("{prefix}/control");
    let c = connect(round_client(id("async-control"), control.clone())).await;
    c.drop_connection().await.unwrap();
    let wills = wills_until(&watcher, &control);
    eprintln!(
        "tokio client{}: wills published in {} of {ROUNDS} rounds",
        if tls.is_some() { " over TLS" } else { "" },
        wills.len()
    );
    wills.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_disconnect_with_acks_in_flight_never_publishes_the_will() {
    let broker = broker();
    let wills = tokio_rounds(&broker, None).await;
    assert_eq!(wills, 0, "wills published in {wills} of {ROUNDS} rounds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_tls_disconnect_with_acks_in_flight_never_publishes_the_will() {
    let broker = broker();
    let wills = tokio_rounds(&broker, Some(&tls_config(&broker))).await;
    assert_eq!(wills, 0, "wills published in {wills} of {ROUNDS} rounds");
}

/// A scripted broker on a loopback port: it accepts one client, answers its CONNECT with
/// CONNACK and reads up to its DISCONNECT; the test then plays the broker's part of the close.
struct FakeBroker {
    listener: TcpListener,
}

impl FakeBroker {
    fn new() -> Self {
        FakeBroker {
            listener: TcpListener::bind("127.0.0.1:0").unwrap(),
        }
    }

    fn port(&self) -> u16 {
        self.listener.local_addr().unwrap().port()
    }

    /// Accepts the client, sends CONNACK, and returns once DISCONNECT was read.
    fn accept_until_disconnect(&self) -> TcpStream {
        let (mut s, _) = self.listener.accept().unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        let mut connack_sent = false;
        loop {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "the client closed before DISCONNECT: {got:02x?}");
            got.extend_from_slice(&buf[..n]);
            if !connack_sent && got.first() == Some(&0x10) {
                s.write_all(&[0x20, 0x02, 0x00, 0x00]).unwrap();
                connack_sent = true;
            }
            if got.ends_with(&[0xE0, 0x00]) {
                return s;
            }
        }
    }
}

fn linger_client(linger: Duration) -> Client {
    Client::new(ClientOptions::new(id("linger")).linger(linger)).unwrap()
}

/// Runs `disconnect` on a thread of its own; the receiver gets its result.
fn disconnect_in_background(c: &Client) -> std::sync::mpsc::Receiver<Result<(), mqtt_std::Error>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let c = c.clone();
    thread::spawn(move || {
        let _ = tx.send(c.disconnect());
    });
    rx
}

/// A PUBACK the broker sends after the client's DISCONNECT (an acknowledgement on its way).
const LATE_PUBACK: [u8; 4] = [0x40, 0x02, 0x00, 0x01];

#[test]
fn after_disconnect_the_client_half_closes_and_reads_until_the_broker_closes() {
    let broker = FakeBroker::new();
    let c = linger_client(Duration::from_secs(300));
    let port = broker.port();
    let accepted = thread::spawn(move || broker.accept_until_disconnect());
    c.connect("127.0.0.1", port, &ConnectOptions::default())
        .unwrap();
    let done = disconnect_in_background(&c);
    let mut s = accepted.join().unwrap();
    // The client shut its write side after DISCONNECT: end of stream here.
    let mut buf = [0u8; 16];
    assert_eq!(s.read(&mut buf).unwrap(), 0);
    // It still reads: late acknowledgements are taken without a reset, many times over.
    for _ in 0..20 {
        s.write_all(&LATE_PUBACK).unwrap();
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        s.read(&mut buf).unwrap(),
        0,
        "the client reset the connection"
    );
    // And `disconnect` waits for the broker to close (the linger is far off).
    assert!(matches!(
        done.try_recv(),
        Err(std::sync::mpsc::TryRecvError::Empty)
    ));
    assert!(c.is_connected());
    drop(s);
    done.recv_timeout(WAIT).unwrap().unwrap();
    assert!(!c.is_connected());
}

#[test]
fn linger_zero_closes_at_once_as_before() {
    let broker = FakeBroker::new();
    let c = linger_client(Duration::ZERO);
    let port = broker.port();
    let accepted = thread::spawn(move || broker.accept_until_disconnect());
    c.connect("127.0.0.1", port, &ConnectOptions::default())
        .unwrap();
    c.disconnect().unwrap();
    let mut s = accepted.join().unwrap();
    // The socket is closed: the broker's late acknowledgements are answered with a reset
    // (the first write may still be accepted; a later one fails).
    let deadline = Instant::now() + WAIT;
    let error = loop {
        if let Err(e) = s.write_all(&LATE_PUBACK) {
            break e;
        }
        assert!(Instant::now() < deadline, "no reset from a closed socket");
        thread::sleep(Duration::from_millis(5));
    };
    assert!(
        matches!(
            error.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
        ),
        "{error}"
    );
}

#[test]
fn linger_is_bounded_when_the_broker_never_closes() {
    let broker = FakeBroker::new();
    let linger = Duration::from_millis(300);
    let c = linger_client(linger);
    let port = broker.port();
    let accepted = thread::spawn(move || broker.accept_until_disconnect());
    c.connect("127.0.0.1", port, &ConnectOptions::default())
        .unwrap();
    let start = Instant::now();
    let done = disconnect_in_background(&c);
    // The broker keeps the connection open and reads nothing more.
    let s = accepted.join().unwrap();
    done.recv_timeout(WAIT).unwrap().unwrap();
    assert!(
        start.elapsed() >= linger,
        "returned before the linger passed"
    );
    assert!(!c.is_connected());
    drop(s);
}

#[test]
fn close_lingers_too_and_is_bounded() {
    let broker = FakeBroker::new();
    let linger = Duration::from_millis(300);
    let c = linger_client(linger);
    let port = broker.port();
    let accepted = thread::spawn(move || broker.accept_until_disconnect());
    c.connect("127.0.0.1", port, &ConnectOptions::default())
        .unwrap();
    let closer = {
        let c = c.clone();
        thread::spawn(move || c.close())
    };
    let mut s = accepted.join().unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(s.read(&mut buf).unwrap(), 0);
    s.write_all(&LATE_PUBACK).unwrap();
    // The broker never closes: `close` returns once the linger passed.
    closer.join().unwrap();
    assert!(matches!(c.disconnect(), Err(mqtt_std::Error::Closed)));
    drop(s);
}

#[tokio::test]
async fn tokio_after_disconnect_the_client_half_closes_and_reads_until_the_broker_closes() {
    use mqtt_std::tokio::Client as AsyncClient;
    let broker = FakeBroker::new();
    let (c, _messages) =
        AsyncClient::new(ClientOptions::new(id("linger")).linger(Duration::from_secs(300)))
            .unwrap();
    let port = broker.port();
    let accepted = thread::spawn(move || broker.accept_until_disconnect());
    c.connect("127.0.0.1", port, &ConnectOptions::default())
        .await
        .unwrap();
    let disconnecting = tokio::spawn({
        let c = c.clone();
        async move { c.disconnect().await }
    });
    let (tx, rx) = tokio::sync::oneshot::channel();
    thread::spawn(move || {
        let mut s = accepted.join().unwrap();
        let mut buf = [0u8; 16];
        let eof = s.read(&mut buf).unwrap();
        for _ in 0..20 {
            s.write_all(&LATE_PUBACK).unwrap();
            thread::sleep(Duration::from_millis(5));
        }
        let after = s.read(&mut buf).map_err(|e| e.kind());
        let _ = tx.send((eof, after, s));
    });
    let (eof, after, s) = rx.await.unwrap();
    assert_eq!(eof, 0, "no half-close after DISCONNECT");
    assert_eq!(after, Ok(0), "the client reset the connection");
    assert!(!disconnecting.is_finished());
    drop(s);
    tokio::time::timeout(WAIT, disconnecting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(!c.is_connected());
}

#[tokio::test]
async fn tokio_linger_zero_closes_at_once_and_linger_is_bounded() {
    use mqtt_std::tokio::Client as AsyncClient;
    for linger in [Duration::ZERO, Duration::from_millis(300)] {
        let broker = FakeBroker::new();
        let (c, _messages) =
            AsyncClient::new(ClientOptions::new(id("linger")).linger(linger)).unwrap();
        let port = broker.port();
        let accepted = thread::spawn(move || broker.accept_until_disconnect());
        c.connect("127.0.0.1", port, &ConnectOptions::default())
            .await
            .unwrap();
        let start = Instant::now();
        // The broker never closes.
        tokio::time::timeout(WAIT, c.disconnect())
            .await
            .unwrap()
            .unwrap();
        assert!(start.elapsed() >= linger);
        let mut s = accepted.join().unwrap();
        if linger.is_zero() {
            let deadline = Instant::now() + WAIT;
            let error = loop {
                if let Err(e) = s.write_all(&LATE_PUBACK) {
                    break e;
                }
                assert!(Instant::now() < deadline, "no reset from a closed socket");
                thread::sleep(Duration::from_millis(5));
            };
            assert!(matches!(
                error.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ));
        }
    }
}

/// A loopback TCP proxy to `upstream` that forwards one byte per millisecond each way, and
/// each half-close after the bytes before it.
fn slow_proxy(upstream: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                return;
            };
            for (from, to) in [
                (client.try_clone().unwrap(), server.try_clone().unwrap()),
                (server, client),
            ] {
                thread::spawn(move || trickle(from, to));
            }
        }
    });
    port
}

fn trickle(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 4096];
    loop {
        match from.read(&mut buf) {
            Ok(0) => {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => {
                for b in &buf[..n] {
                    if to.write_all(std::slice::from_ref(b)).is_err() {
                        let _ = from.shutdown(Shutdown::Both);
                        return;
                    }
                    thread::sleep(Duration::from_millis(1));
                }
            }
            Err(_) => {
                let _ = to.shutdown(Shutdown::Both);
                return;
            }
        }
    }
}

#[test]
fn mqttc_pub_qos0_then_qos1_arrive_in_order_over_a_slow_link() {
    let broker = broker();
    let proxy = slow_proxy(broker.port());
    let topic = format!("slow/{}", id("order"));
    let sub = connected(&broker, "order-sub");
    sub.subscribe(&[(&topic, QoS::AtLeastOnce)])
        .unwrap()
        .wait()
        .unwrap();
    // The first message is long (it takes a while through the proxy), the second short: a
    // first process that exits before the broker has its PUBLISH is overtaken.
    let first = "a".repeat(250);
    let port = proxy.to_string();
    for (qos, payload) in [("0", first.as_str()), ("1", "second")] {
        let out = Command::new(MQTTC)
            .args([
                "pub",
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-t",
                &topic,
                "-q",
                qos,
                "-m",
                payload,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    assert_eq!(recv(&sub).payload, first.as_bytes());
    assert_eq!(recv(&sub).payload, b"second");
}

/// Throwaway certificates for a scripted TLS peer, in a directory of their own (removed on
/// drop).
struct Pki {
    dir: std::path::PathBuf,
    pki: mqtt_test_broker::TestPki,
}

impl Pki {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(id("graceful-pki"));
        std::fs::create_dir_all(&dir).unwrap();
        let pki = mqtt_test_broker::TestPki::generate(&dir).unwrap();
        Pki { dir, pki }
    }

    fn server_config(&self) -> std::sync::Arc<rustls::ServerConfig> {
        use rustls::pki_types::pem::PemObject as _;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let chain = CertificateDer::pem_slice_iter(self.pki.server_cert_pem().as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(self.pki.server_key_pem().as_bytes()).unwrap();
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        std::sync::Arc::new(config)
    }

    fn client_config(&self) -> TlsConfig {
        TlsConfig::builder()
            .ca_pem(self.pki.ca_pem().as_bytes())
            .unwrap()
            .build()
            .unwrap()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What a scripted peer saw of the client's close after DISCONNECT.
#[derive(Debug, PartialEq, Eq)]
struct SeenClose {
    /// The close the transport has (TLS close_notify, a WebSocket close frame) arrived.
    transport_close: bool,
    /// Then the TCP stream ended (the client shut its write side).
    tcp_eof: bool,
    /// Late acknowledgements written after that were taken without a reset.
    no_reset: bool,
}

/// Reads plaintext until DISCONNECT, answering CONNECT with CONNACK.
fn read_until_disconnect(s: &mut (impl io::Read + io::Write)) {
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    let mut connack_sent = false;
    loop {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "the client closed before DISCONNECT: {got:02x?}");
        got.extend_from_slice(&buf[..n]);
        if !connack_sent && got.first() == Some(&0x10) {
            s.write_all(&[0x20, 0x02, 0x00, 0x00]).unwrap();
            s.flush().unwrap();
            connack_sent = true;
        }
        if got.ends_with(&[0xE0, 0x00]) {
            return;
        }
    }
}

/// A scripted TLS peer: accepts one client, answers CONNECT, and after DISCONNECT checks that
/// the client sent close_notify before it shut its write side, that it still takes late
/// acknowledgements, and that it waits for the peer to close. Sends what it saw once the
/// client's side is closed, then waits for `close` before it closes its own side.
fn tls_peer(
    config: std::sync::Arc<rustls::ServerConfig>,
) -> (
    u16,
    std::sync::mpsc::Receiver<SeenClose>,
    std::sync::mpsc::Sender<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (seen_tx, seen_rx) = std::sync::mpsc::channel();
    let (close_tx, close_rx) = std::sync::mpsc::channel::<()>();
    thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(WAIT)).unwrap();
        let conn = rustls::ServerConnection::new(config).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        read_until_disconnect(&mut tls);
        // An acknowledgement on its way while the client closes.
        tls.write_all(&LATE_PUBACK).unwrap();
        tls.flush().unwrap();
        let mut buf = [0u8; 64];
        // close_notify reads as a clean end of the TLS stream; a TCP end without it is an
        // error (UnexpectedEof).
        let transport_close = matches!(tls.read(&mut buf), Ok(0));
        let tcp_eof = matches!(tls.sock.read(&mut buf), Ok(0));
        let mut no_reset = true;
        for _ in 0..10 {
            no_reset &= tls
                .write_all(&LATE_PUBACK)
                .and_then(|()| tls.flush())
                .is_ok();
            thread::sleep(Duration::from_millis(5));
        }
        no_reset &= matches!(tls.sock.read(&mut buf), Ok(0));
        seen_tx
            .send(SeenClose {
                transport_close,
                tcp_eof,
                no_reset,
            })
            .unwrap();
        let _ = close_rx.recv_timeout(WAIT);
        tls.conn.send_close_notify();
        let _ = tls.flush();
    });
    (port, seen_rx, close_tx)
}

const EXPECTED_CLOSE: SeenClose = SeenClose {
    transport_close: true,
    tcp_eof: true,
    no_reset: true,
};

#[test]
fn tls_close_notify_goes_before_the_half_close_and_the_client_waits_for_the_broker() {
    let pki = Pki::new();
    let (port, seen, close) = tls_peer(pki.server_config());
    let c = linger_client(Duration::from_secs(300));
    c.secure_connect(
        "127.0.0.1",
        port,
        &pki.client_config(),
        &ConnectOptions::default(),
    )
    .unwrap();
    let done = disconnect_in_background(&c);
    assert_eq!(seen.recv_timeout(WAIT).unwrap(), EXPECTED_CLOSE);
    // `disconnect` waits for the broker's side to close.
    assert!(matches!(
        done.try_recv(),
        Err(std::sync::mpsc::TryRecvError::Empty)
    ));
    close.send(()).unwrap();
    done.recv_timeout(WAIT).unwrap().unwrap();
    assert!(!c.is_connected());
}

#[tokio::test]
async fn tokio_tls_close_notify_goes_before_the_half_close_and_the_client_waits_for_the_broker() {
    use mqtt_std::tokio::Client as AsyncClient;
    let pki = Pki::new();
    let (port, seen, close) = tls_peer(pki.server_config());
    let (c, _messages) =
        AsyncClient::new(ClientOptions::new(id("linger")).linger(Duration::from_secs(300)))
            .unwrap();
    c.secure_connect(
        "127.0.0.1",
        port,
        &pki.client_config(),
        &ConnectOptions::default(),
    )
    .await
    .unwrap();
    let disconnecting = tokio::spawn({
        let c = c.clone();
        async move { c.disconnect().await }
    });
    let seen = tokio::task::spawn_blocking(move || seen.recv_timeout(WAIT))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen, EXPECTED_CLOSE);
    assert!(!disconnecting.is_finished());
    close.send(()).unwrap();
    tokio::time::timeout(WAIT, disconnecting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(!c.is_connected());
}

/// A scripted WebSocket peer (a `tungstenite` server): accepts one client at `/mqtt`, answers
/// CONNECT, and after DISCONNECT checks that the client sent a close frame and then shut its
/// write side, that it still takes late acknowledgements, and that it waits for the peer to
/// close. Sends what it saw, then waits for `close` before it closes its own side.
fn ws_peer() -> (
    u16,
    std::sync::mpsc::Receiver<SeenClose>,
    std::sync::mpsc::Sender<()>,
) {
    use tungstenite::Message as Ws;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (seen_tx, seen_rx) = std::sync::mpsc::channel();
    let (close_tx, close_rx) = std::sync::mpsc::channel::<()>();
    thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(WAIT)).unwrap();
        #[allow(clippy::result_large_err)]
        let select_mqtt =
            |_: &tungstenite::handshake::server::Request,
             mut resp: tungstenite::handshake::server::Response| {
                resp.headers_mut()
                    .insert("Sec-WebSocket-Protocol", "mqtt".parse().unwrap());
                Ok(resp)
            };
        let mut ws = tungstenite::accept_hdr(tcp, select_mqtt).unwrap();
        let mut got = Vec::new();
        while !got.ends_with(&[0xE0, 0x00]) {
            match ws.read().unwrap() {
                Ws::Binary(b) => {
                    if got.is_empty() && b.first() == Some(&0x10) {
                        ws.send(Ws::binary(vec![0x20, 0x02, 0x00, 0x00])).unwrap();
                    }
                    got.extend_from_slice(&b);
                }
                Ws::Ping(_) | Ws::Pong(_) => {}
                other => panic!("expected a binary message, got {other:?}"),
            }
        }
        // An acknowledgement on its way while the client closes.
        ws.send(Ws::binary(LATE_PUBACK.to_vec())).unwrap();
        // The client's close frame; tungstenite answers it with the peer's own.
        let transport_close = matches!(ws.read(), Ok(Ws::Close(_)));
        let _ = ws.flush();
        let mut buf = [0u8; 64];
        let tcp_eof = matches!(ws.get_mut().read(&mut buf), Ok(0));
        let mut no_reset = true;
        for _ in 0..10 {
            no_reset &= ws.get_mut().write_all(&[0x82, 0x04]).is_ok()
                && ws.get_mut().write_all(&LATE_PUBACK).is_ok();
            thread::sleep(Duration::from_millis(5));
        }
        no_reset &= matches!(ws.get_mut().read(&mut buf), Ok(0));
        seen_tx
            .send(SeenClose {
                transport_close,
                tcp_eof,
                no_reset,
            })
            .unwrap();
        let _ = close_rx.recv_timeout(WAIT);
    });
    (port, seen_rx, close_tx)
}

#[test]
fn websocket_close_frame_goes_before_the_half_close_and_the_client_waits_for_the_broker() {
    let (port, seen, close) = ws_peer();
    let c = linger_client(Duration::from_secs(300));
    c.set_websocket(Some(mqtt_std::WsConfig::new("/mqtt")));
    c.connect("127.0.0.1", port, &ConnectOptions::default())
        .unwrap();
    let done = disconnect_in_background(&c);
    assert_eq!(seen.recv_timeout(WAIT).unwrap(), EXPECTED_CLOSE);
    assert!(matches!(
        done.try_recv(),
        Err(std::sync::mpsc::TryRecvError::Empty)
    ));
    close.send(()).unwrap();
    done.recv_timeout(WAIT).unwrap().unwrap();
    assert!(!c.is_connected());
}

#[tokio::test]
async fn tokio_websocket_close_frame_goes_before_the_half_close_and_the_client_waits_for_the_broker()
 {
    use mqtt_std::tokio::Client as AsyncClient;
    let (port, seen, close) = ws_peer();
    let (c, _messages) =
        AsyncClient::new(ClientOptions::new(id("linger")).linger(Duration::from_secs(300)))
            .unwrap();
    c.set_websocket(Some(mqtt_std::WsConfig::new("/mqtt")));
    c.connect("127.0.0.1", port, &ConnectOptions::default())
        .await
        .unwrap();
    let disconnecting = tokio::spawn({
        let c = c.clone();
        async move { c.disconnect().await }
    });
    let seen = tokio::task::spawn_blocking(move || seen.recv_timeout(WAIT))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen, EXPECTED_CLOSE);
    assert!(!disconnecting.is_finished());
    close.send(()).unwrap();
    tokio::time::timeout(WAIT, disconnecting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(!c.is_connected());
}
