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
use mqtt_std::test_broker::Broker;
use mqtt_std::{Client, ClientOptions, ConnectOptions, Message, QoS, Will};

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
    Will {
        topic,
        payload: b"gone".to_vec(),
        qos: QoS::AtLeastOnce,
        retain: false,
    }
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

/// 50 rounds of: a client with a will, a QoS 1 and a QoS 2 publish in flight, `disconnect`.
/// Then a control round that drops the link without DISCONNECT, whose will must come (so that
/// the count can see wills at all). Returns the wills of the 50 rounds.
fn blocking_rounds(broker: &Broker, options: impl Fn(String) -> ClientOptions) -> usize {
    let prefix = id("wills");
    let watcher = will_watcher(broker, &prefix);
    for round in 0..ROUNDS {
        let c = Client::new(options(id("round"))).unwrap();
        c.set_will(Some(will(format!("{prefix}/{round}")))).unwrap();
        c.connect("127.0.0.1", broker.port(), &ConnectOptions::default())
            .unwrap();
        let q1 = c.publish("graceful/q1", b"one", QoS::AtLeastOnce, false);
        let q2 = c.publish("graceful/q2", b"two", QoS::ExactlyOnce, false);
        assert!(q1.is_ok() && q2.is_ok());
        c.disconnect().unwrap();
        wait_connection_end(broker, c.client_id());
    }
    let control = format!("{prefix}/control");
    let c = Client::new(options(id("control"))).unwrap();
    c.set_will(Some(will(control.clone()))).unwrap();
    c.connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .unwrap();
    let _ = c.publish("graceful/q1", b"one", QoS::AtLeastOnce, false);
    c.drop_connection().unwrap();
    let wills = wills_until(&watcher, &control);
    eprintln!(
        "blocking client: wills published in {} of {ROUNDS} rounds",
        wills.len()
    );
    wills.len()
}

#[test]
fn disconnect_with_acks_in_flight_never_publishes_the_will() {
    let broker = broker();
    let wills = blocking_rounds(&broker, ClientOptions::new);
    assert_eq!(wills, 0, "wills published in {wills} of {ROUNDS} rounds");
}

/// The rounds of [`blocking_rounds`] with the tokio client.
async fn tokio_rounds(broker: &Broker, options: impl Fn(String) -> ClientOptions) -> usize {
    use mqtt_std::tokio::Client as AsyncClient;
    let prefix = id("async-wills");
    let watcher = will_watcher(broker, &prefix);
    let round_client = |client_id: String, will_topic: String| {
        let (c, _messages) = AsyncClient::new(options(client_id)).unwrap();
        c.set_will(Some(will(will_topic))).unwrap();
        c
    };
    for round in 0..ROUNDS {
        let c = round_client(id("async-round"), format!("{prefix}/{round}"));
        c.connect("127.0.0.1", broker.port(), &ConnectOptions::default())
            .await
            .unwrap();
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
    let c = round_client(id("async-control"), control.clone());
    c.connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .await
        .unwrap();
    c.drop_connection().await.unwrap();
    let wills = wills_until(&watcher, &control);
    eprintln!(
        "tokio client: wills published in {} of {ROUNDS} rounds",
        wills.len()
    );
    wills.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_disconnect_with_acks_in_flight_never_publishes_the_will() {
    let broker = broker();
    let wills = tokio_rounds(&broker, ClientOptions::new).await;
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
    let first = "a".repeat(400);
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
