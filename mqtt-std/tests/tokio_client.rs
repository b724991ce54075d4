//! The async (tokio) client against a private Mosquitto (`mqtt_test_broker`): the
//! blocking client's interop scenarios (connect, login, TLS, QoS 0/1/2, retained, will,
//! persistent session, keep alive), 100 concurrent publishers on one runtime; a scripted
//! broker for an in-flight QoS 1 resent on resume; and MQTT over WebSocket against Aedes
//! (`mqtt_test_broker::ws`) and a scripted WebSocket peer.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::io::{Read as _, Write as _};
use std::net::TcpListener;

use common::{WAIT, id, read_whole_packet, scripted};
use futures_util::StreamExt as _;
use mqtt_std::tokio::{Client, Messages};
use mqtt_std::{
    ClientOptions, ConnectOptions, Direction, DisconnectReason, Error, Message, QoS,
    SubAckReturnCode, TlsConfig, Will, WsConfig, WsError,
};
use mqtt_test_broker::Broker;
use mqtt_test_broker::ws::WsBroker;
use tokio::time::timeout;

fn broker() -> Broker {
    Broker::start().unwrap_or_else(|e| panic!("{e}"))
}

fn new_client(prefix: &str) -> (Client, Messages) {
    Client::new(ClientOptions::new(id(prefix))).unwrap()
}

async fn connected(port: u16, prefix: &str) -> (Client, Messages) {
    let (c, m) = new_client(prefix);
    c.connect("127.0.0.1", port, &ConnectOptions::default())
        .await
        .unwrap();
    (c, m)
}

async fn next(messages: &mut Messages) -> Message {
    timeout(WAIT, messages.recv())
        .await
        .expect("no message in time")
        .expect("message stream ended")
}

fn ca(pem: &str) -> TlsConfig {
    TlsConfig::builder()
        .ca_pem(pem.as_bytes())
        .unwrap()
        .build()
        .unwrap()
}

#[tokio::test]
async fn outside_a_runtime_new_fails_cleanly() {
    // Inside one it works; outside (a plain thread) it is an error, not a panic.
    assert!(Client::new(ClientOptions::new("x")).is_ok());
    let outside = std::thread::spawn(|| Client::new(ClientOptions::new("x")).map(|_| ()))
        .join()
        .unwrap();
    assert!(matches!(outside, Err(Error::ThreadSpawn(_))));
}

#[tokio::test]
async fn a_durable_store_carries_the_session_across_a_restart() {
    use std::io::Write as _;
    let dir = std::env::temp_dir().join(format!("tk-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let options = || ClientOptions::new("tk-durable").session_store(&dir);
    let persistent = ConnectOptions::default().clean_session(false);

    // First life: a QoS 1 publish the broker never acknowledges, and a QoS 1 message received
    // (and acknowledged) that the application never takes.
    let (port, broker) = scripted(|mut s| {
        assert_eq!(read_whole_packet(&mut s)[0], 0x10);
        s.write_all(&[0x20, 2, 0, 0]).unwrap();
        assert_eq!(read_whole_packet(&mut s), b"\x32\x09\x00\x03d/1\x00\x01hi");
        s.write_all(b"\x32\x09\x00\x03d/9\x00\x07in").unwrap();
        // The PUBACK follows the store's sync.
        assert_eq!(read_whole_packet(&mut s), [0x40, 2, 0, 7]);
    });
    let (c, _messages) = Client::new(options()).unwrap();
    c.connect("127.0.0.1", port, &persistent).await.unwrap();
    let publish = c.publish("d/1", b"hi", QoS::AtLeastOnce, false);
    // No PUBACK comes: the publish is pending, or interrupted once the broker hangs up.
    match tokio::time::timeout(WAIT, publish).await {
        Ok(Err(Error::PublishInterrupted(_))) => {}
        other => panic!("{other:?}"),
    }
    broker.join().unwrap();
    c.drop_connection().await.ok();
    c.close().await;
    drop(c);

    // Second life over the same store: the message not taken comes first, with its number,
    // before any connection; then the publish is resent (DUP, same id) on connect.
    let (port, broker) = scripted(|mut s| {
        assert_eq!(read_whole_packet(&mut s)[0], 0x10);
        s.write_all(&[0x20, 2, 1, 0]).unwrap();
        assert_eq!(read_whole_packet(&mut s), b"\x3a\x09\x00\x03d/1\x00\x01hi");
        s.write_all(&[0x40, 2, 0, 1]).unwrap();
        let mut rest = Vec::new();
        let _ = std::io::Read::read_to_end(&mut s, &mut rest);
    });
    let (c, mut messages) = Client::new(options()).unwrap();
    let m = next(&mut messages).await;
    assert_eq!(
        (m.topic.as_str(), &m.payload[..], m.seq),
        ("d/9", &b"in"[..], Some(1))
    );
    c.connect("127.0.0.1", port, &persistent).await.unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    while c.publishes_in_flight() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the resend was not acknowledged"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    c.close().await;
    drop(c);
    broker.join().unwrap();
    // The store is released on close, and holds nothing unfinished.
    let s = mqtt_std::store::FileStore::open(&dir).unwrap();
    assert_eq!(mqtt_session::Store::outgoing_len(&s), 0);
    assert!(s.pending_received().is_empty());
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn connect_disconnect_and_errors() {
    let broker = broker();
    let (c, _m) = new_client("tk-conn");
    assert!(matches!(
        c.publish("a", b"", QoS::AtMostOnce, false).await,
        Err(Error::NotConnected)
    ));
    let connected = c
        .connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .await
        .unwrap();
    assert!(!connected.session_present);
    assert!(c.is_connected());
    assert!(matches!(
        c.connect("127.0.0.1", broker.port(), &ConnectOptions::default())
            .await,
        Err(Error::AlreadyConnected)
    ));
    assert!(matches!(
        c.publish("bad/#", b"", QoS::AtMostOnce, false).await,
        Err(Error::Invalid(_))
    ));
    c.disconnect().await.unwrap();
    assert!(!c.is_connected());
    assert!(matches!(
        c.disconnected().await,
        Some(DisconnectReason::Local)
    ));

    // A closed port.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (c, _m) = new_client("tk-closed");
    assert!(matches!(
        c.connect("127.0.0.1", port, &ConnectOptions::default())
            .await,
        Err(Error::Connect { .. })
    ));
    c.close().await;
    assert!(matches!(
        c.connect("127.0.0.1", port, &ConnectOptions::default())
            .await,
        Err(Error::Closed)
    ));
}

#[tokio::test]
async fn trace_hook_sees_packets_both_ways() {
    let broker = broker();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let options = ClientOptions::new(id("tk-trace")).trace(move |dir, packet| {
        log.lock()
            .unwrap()
            .push((dir, format!("{:?}", packet.packet_type())));
    });
    let (c, _m) = Client::new(options).unwrap();
    c.connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .await
        .unwrap();
    c.publish("trace/t", b"x", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    c.disconnect().await.unwrap();
    let seen = seen.lock().unwrap().clone();
    let want = [
        (Direction::Sent, "Connect"),
        (Direction::Received, "ConnAck"),
        (Direction::Sent, "Publish"),
        (Direction::Received, "PubAck"),
        (Direction::Sent, "Disconnect"),
    ];
    let got: Vec<_> = seen.iter().map(|(d, t)| (*d, t.as_str())).collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn login_right_and_wrong() {
    let broker = broker();
    let (c, _m) = new_client("tk-login");
    c.set_login(Broker::USERNAME, Some(b"wrong".as_slice()));
    match c
        .connect("127.0.0.1", broker.auth_port(), &ConnectOptions::default())
        .await
    {
        Err(Error::Refused(code)) => assert_ne!(code, mqtt_std::ConnectReturnCode::Accepted),
        other => panic!("expected a refusal, got {other:?}"),
    }
    c.set_login(Broker::USERNAME, Some(Broker::PASSWORD.as_bytes()));
    c.connect("127.0.0.1", broker.auth_port(), &ConnectOptions::default())
        .await
        .unwrap();
    c.disconnect().await.unwrap();
}

#[tokio::test]
async fn tls_right_ca_wrong_ca_and_mutual() {
    let broker = broker();
    let (c, mut m) = new_client("tk-tls");
    let tls = ca(broker.pki().ca_pem());
    c.secure_connect(
        "localhost",
        broker.tls_port(),
        &tls,
        &ConnectOptions::default(),
    )
    .await
    .unwrap();
    c.subscribe(&[("tls/t", QoS::ExactlyOnce)]).await.unwrap();
    c.publish("tls/t", b"secret", QoS::ExactlyOnce, false)
        .await
        .unwrap();
    assert_eq!(next(&mut m).await.payload, b"secret");
    c.disconnect().await.unwrap();

    let wrong = ca(broker.pki().other_ca_pem());
    let (c, _m) = new_client("tk-tls-bad");
    match c
        .secure_connect(
            "localhost",
            broker.tls_port(),
            &wrong,
            &ConnectOptions::default(),
        )
        .await
    {
        Err(Error::Tls(e)) => assert!(e.to_string().contains("unknown"), "{e}"),
        other => panic!("expected a TLS error, got {other:?}"),
    }

    let mtls = TlsConfig::builder()
        .ca_pem(broker.pki().ca_pem().as_bytes())
        .unwrap()
        .client_cert_pem(
            broker.pki().client_cert_pem().as_bytes(),
            broker.pki().client_key_pem().as_bytes(),
        )
        .unwrap()
        .build()
        .unwrap();
    let (c, _m) = new_client("tk-mtls");
    c.secure_connect(
        "localhost",
        broker.mtls_port(),
        &mtls,
        &ConnectOptions::default(),
    )
    .await
    .unwrap();
    c.disconnect().await.unwrap();
}

async fn round_trip(qos: QoS) {
    let broker = broker();
    let (sub, mut messages) = connected(broker.port(), "tk-sub").await;
    let codes = sub
        .subscribe(&[("rt/+/x", qos), ("rt/other", QoS::AtMostOnce)])
        .await
        .unwrap();
    assert_eq!(
        codes,
        vec![
            SubAckReturnCode::Success(qos),
            SubAckReturnCode::Success(QoS::AtMostOnce)
        ]
    );
    let (publisher, _pm) = connected(broker.port(), "tk-pub").await;
    publisher
        .publish("rt/a/x", b"payload", qos, false)
        .await
        .unwrap();
    assert_eq!(publisher.publishes_in_flight(), 0);
    let m = next(&mut messages).await;
    assert_eq!(
        (m.topic.as_str(), m.payload.as_slice(), m.qos, m.retain),
        ("rt/a/x", b"payload".as_slice(), qos, false)
    );
    sub.unsubscribe(&["rt/+/x"]).await.unwrap();
    publisher
        .publish("rt/a/x", b"not delivered", qos, false)
        .await
        .unwrap();
    publisher
        .publish("rt/other", b"marker", QoS::AtMostOnce, false)
        .await
        .unwrap();
    assert_eq!(next(&mut messages).await.payload, b"marker");
    publisher.close().await;
    sub.close().await;
    // The stream ends when the client is closed.
    assert!(timeout(WAIT, messages.next()).await.unwrap().is_none());
}

#[tokio::test]
async fn publish_subscribe_qos0() {
    round_trip(QoS::AtMostOnce).await;
}

#[tokio::test]
async fn publish_subscribe_qos1() {
    round_trip(QoS::AtLeastOnce).await;
}

#[tokio::test]
async fn publish_subscribe_qos2() {
    round_trip(QoS::ExactlyOnce).await;
}

#[tokio::test]
async fn retained_message() {
    let broker = broker();
    let (p, _pm) = connected(broker.port(), "tk-ret-pub").await;
    p.publish("ret/t", b"kept", QoS::AtLeastOnce, true)
        .await
        .unwrap();
    let (s, mut m) = connected(broker.port(), "tk-ret-sub").await;
    s.subscribe(&[("ret/#", QoS::AtLeastOnce)]).await.unwrap();
    let got = next(&mut m).await;
    assert_eq!((got.topic.as_str(), got.retain), ("ret/t", true));
    assert_eq!(got.payload, b"kept");
}

#[tokio::test]
async fn will_is_published_when_the_connection_drops() {
    let broker = broker();
    let (watcher, mut m) = connected(broker.port(), "tk-will-watch").await;
    watcher
        .subscribe(&[("will/#", QoS::AtLeastOnce)])
        .await
        .unwrap();
    let will =
        |topic: &str, payload: &[u8]| Will::new(topic, payload.to_vec(), QoS::AtLeastOnce, false);
    // A clean DISCONNECT discards the will.
    let (polite, _pm) = new_client("tk-will-polite");
    polite
        .set_will(Some(will("will/polite", b"should not appear")))
        .unwrap();
    polite
        .connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .await
        .unwrap();
    polite.disconnect().await.unwrap();

    let (dying, _dm) = new_client("tk-will-dying");
    dying.set_will(Some(will("will/dying", b"gone"))).unwrap();
    assert!(matches!(
        dying.set_will(Some(will("will/#", b""))),
        Err(Error::Invalid(_))
    ));
    dying
        .connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .await
        .unwrap();
    dying.drop_connection().await.unwrap();
    assert!(matches!(
        dying.disconnected().await,
        Some(DisconnectReason::Dropped)
    ));
    let got = next(&mut m).await;
    assert_eq!(
        (got.topic.as_str(), got.payload.as_slice()),
        ("will/dying", b"gone".as_slice())
    );
}

#[tokio::test]
async fn persistent_session_receives_messages_queued_while_away() {
    let broker = broker();
    let client_id = id("tk-persist");
    let (c, mut m) = Client::new(ClientOptions::new(client_id.clone())).unwrap();
    let opts = ConnectOptions::default().clean_session(false);
    let first = c.connect("127.0.0.1", broker.port(), &opts).await.unwrap();
    assert!(!first.session_present);
    c.subscribe(&[("away/#", QoS::ExactlyOnce)]).await.unwrap();
    c.disconnect().await.unwrap();

    let (p, _pm) = connected(broker.port(), "tk-persist-pub").await;
    for i in 0..5 {
        p.publish(&format!("away/{i}"), b"queued", QoS::ExactlyOnce, false)
            .await
            .unwrap();
    }
    let again = c.connect("127.0.0.1", broker.port(), &opts).await.unwrap();
    assert!(again.session_present);
    for i in 0..5 {
        let got = next(&mut m).await;
        assert_eq!(
            (got.topic, got.qos),
            (format!("away/{i}"), QoS::ExactlyOnce)
        );
    }
    c.disconnect().await.unwrap();
}

#[tokio::test]
async fn keep_alive_pings_the_broker() {
    let broker = broker();
    let (c, _m) = new_client("tk-ping");
    c.connect(
        "127.0.0.1",
        broker.port(),
        &ConnectOptions::default().keep_alive(1),
    )
    .await
    .unwrap();
    // Mosquitto logs "Received PINGREQ from ID" (waiting on the log, not a fixed sleep).
    let needle = format!("Received PINGREQ from {}", c.client_id());
    let seen = tokio::task::spawn_blocking(move || {
        let found = broker.wait_for_log(&needle, WAIT);
        (found, broker)
    })
    .await
    .unwrap();
    let (seen, _broker) = seen;
    assert!(seen, "no PINGREQ in the broker log");
    assert!(c.is_connected());
    c.disconnect().await.unwrap();
}

/// 100 publisher tasks on one runtime, each with its own connection, 10 QoS 1 and 10 QoS 2
/// messages each; one subscriber gets all 2,000 exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_publishers() {
    let broker = broker();
    let port = broker.port();
    let (sub, mut messages) =
        Client::new(ClientOptions::new(id("tk-many-sub")).receive_queue_depth(64)).unwrap();
    sub.connect("127.0.0.1", port, &ConnectOptions::default())
        .await
        .unwrap();
    sub.subscribe(&[("many/#", QoS::ExactlyOnce)])
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for p in 0..100 {
        tasks.push(tokio::spawn(async move {
            let (c, _m) = connected(port, "tk-many").await;
            for i in 0..20 {
                let qos = if i % 2 == 0 {
                    QoS::AtLeastOnce
                } else {
                    QoS::ExactlyOnce
                };
                c.publish(&format!("many/{p}"), format!("{i}").as_bytes(), qos, false)
                    .await
                    .unwrap();
            }
            c.disconnect().await.unwrap();
        }));
    }
    let mut seen = HashSet::new();
    while seen.len() < 2000 {
        let m = next(&mut messages).await;
        let key = (m.topic.clone(), String::from_utf8(m.payload).unwrap());
        assert!(seen.insert(key.clone()), "duplicate {key:?}");
    }
    for t in tasks {
        t.await.unwrap();
    }
    // Exactly once: nothing more comes.
    sub.publish("many/end", b"end", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    let last = next(&mut messages).await;
    assert_eq!(last.topic, "many/end");
}

/// 100 tasks publishing through one shared client: `publish` waits for room in the in-flight
/// window (16) instead of failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_tasks_share_one_client_and_its_window() {
    let broker = broker();
    let (c, mut messages) = connected(broker.port(), "tk-shared").await;
    c.subscribe(&[("shared/#", QoS::AtLeastOnce)])
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for p in 0..100 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..5 {
                c.publish(
                    &format!("shared/{p}"),
                    format!("{i}").as_bytes(),
                    QoS::ExactlyOnce,
                    false,
                )
                .await
                .unwrap();
            }
        }));
    }
    let mut seen = HashSet::new();
    while seen.len() < 500 {
        let m = next(&mut messages).await;
        assert!(seen.insert((m.topic, m.payload)));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(c.publishes_in_flight(), 0);
    c.close().await;
}

/// A scripted broker: the first connection takes a QoS 1 PUBLISH and closes without PUBACK;
/// the second resumes the session, gets the same PUBLISH again with DUP set, and acknowledges
/// it.
fn resume_peer() -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let read_packet = |s: &mut std::net::TcpStream| {
            let mut head = [0u8; 2];
            s.read_exact(&mut head).unwrap();
            let mut body = vec![0u8; usize::from(head[1])];
            s.read_exact(&mut body).unwrap();
            (head[0], body)
        };
        // First connection.
        let (mut s, _) = listener.accept().unwrap();
        let (kind, _) = read_packet(&mut s);
        assert_eq!(kind, 0x10);
        s.write_all(&[0x20, 0x02, 0x00, 0x00]).unwrap();
        let (kind, body) = read_packet(&mut s);
        assert_eq!(kind, 0x32, "PUBLISH QoS 1, DUP 0");
        drop(s);
        // Second connection: session present.
        let (mut s, _) = listener.accept().unwrap();
        let (kind, connect) = read_packet(&mut s);
        assert_eq!(kind, 0x10);
        assert_eq!(
            connect.get(7).map(|f| f & 0x02),
            Some(0),
            "clean session off"
        );
        s.write_all(&[0x20, 0x02, 0x01, 0x00]).unwrap();
        let (kind, again) = read_packet(&mut s);
        assert_eq!(kind, 0x3a, "PUBLISH QoS 1 with DUP [MQTT-3.3.1-1]");
        assert_eq!(again, body, "same topic, id and payload");
        let len = body.len();
        let id = &body[len - 2 - 5..len - 5];
        s.write_all(&[0x40, 0x02, id[0], id[1]]).unwrap();
        // Wait for the client to go away.
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });
    (port, peer)
}

/// The message in flight when the link drops is resent by the next connect. Without automatic
/// reconnect, its `publish` future does not wait for that connect: it ends with the link
/// (`PublishInterrupted`), so that nobody waits for ever; the message stays in the session.
#[tokio::test]
async fn qos1_in_flight_when_the_link_drops_is_resent_on_resume() {
    let (port, peer) = resume_peer();
    let (c, _m) = new_client("tk-resume");
    let opts = ConnectOptions::default().clean_session(false);
    c.connect("127.0.0.1", port, &opts).await.unwrap();
    let publish = tokio::spawn({
        let c = c.clone();
        async move {
            c.publish("resume/t", b"again", QoS::AtLeastOnce, false)
                .await
        }
    });
    // The broker closes the link without acknowledging.
    let reason = timeout(WAIT, c.disconnected()).await.unwrap();
    assert!(
        matches!(reason, Some(DisconnectReason::TransportClosed)),
        "{reason:?}"
    );
    assert_eq!(c.publishes_in_flight(), 1);
    assert!(matches!(
        timeout(WAIT, publish).await.unwrap().unwrap(),
        Err(Error::PublishInterrupted(DisconnectReason::TransportClosed))
    ));
    let again = c.connect("127.0.0.1", port, &opts).await.unwrap();
    assert!(again.session_present);
    // Resent and acknowledged (the peer checks the bytes).
    let deadline = tokio::time::Instant::now() + WAIT;
    while c.publishes_in_flight() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(c.publishes_in_flight(), 0);
    c.disconnect().await.unwrap();
    peer.join().unwrap();
}

/// The same with `ClientOptions::reconnect`: nobody calls `connect` a second time.
#[tokio::test]
async fn automatic_reconnect_resends_the_message_in_flight() {
    let (port, peer) = resume_peer();
    let options = ClientOptions::new(id("tk-auto")).reconnect(Some(mqtt_std::Reconnect {
        initial: std::time::Duration::from_millis(20),
        max: std::time::Duration::from_millis(100),
    }));
    let (c, _m) = Client::new(options).unwrap();
    let opts = ConnectOptions::default().clean_session(false);
    c.connect("127.0.0.1", port, &opts).await.unwrap();
    timeout(
        WAIT,
        c.publish("resume/t", b"again", QoS::AtLeastOnce, false),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(c.is_connected());
    c.disconnect().await.unwrap();
    peer.join().unwrap();
    // Disconnected by the application: no reconnect is scheduled.
    assert!(matches!(c.disconnect().await, Err(Error::NotConnected)));
}

async fn ws_round_trips(c: &Client, m: &mut Messages, topic: &str) {
    c.subscribe(&[(topic, QoS::ExactlyOnce)]).await.unwrap();
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let payload = format!("tokio over websocket at {qos:?}");
        c.publish(topic, payload.as_bytes(), qos, false)
            .await
            .unwrap();
        let got = next(m).await;
        assert_eq!(
            (got.topic.as_str(), got.payload.as_slice(), got.qos),
            (topic, payload.as_bytes(), qos)
        );
    }
}

#[tokio::test]
async fn websocket_ws_and_wss_against_aedes() {
    let broker = WsBroker::builder()
        .tls(true)
        .token("tk")
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let ws = WsConfig::new(broker.path()).header("Authorization", "Bearer tk");

    let (c, mut m) = new_client("tk-ws");
    c.set_websocket(Some(ws.clone()));
    c.connect("127.0.0.1", broker.ws_port(), &ConnectOptions::default())
        .await
        .unwrap();
    ws_round_trips(&c, &mut m, "tokio/ws").await;
    c.disconnect().await.unwrap();

    let (c, mut m) = new_client("tk-wss");
    c.set_websocket(Some(ws));
    c.secure_connect(
        "localhost",
        broker.wss_port().unwrap(),
        &ca(broker.pki().ca_pem()),
        &ConnectOptions::default(),
    )
    .await
    .unwrap();
    ws_round_trips(&c, &mut m, "tokio/wss").await;
    c.disconnect().await.unwrap();

    // No token: HTTP 401.
    let (c, _m) = new_client("tk-ws-401");
    c.set_websocket(Some(WsConfig::new(broker.path())));
    assert!(matches!(
        c.connect("127.0.0.1", broker.ws_port(), &ConnectOptions::default())
            .await,
        Err(Error::WebSocket(WsError::HandshakeStatus(401)))
    ));
}

/// A scripted WebSocket peer: CONNACK split over two frames, two PUBLISH in one frame, then a
/// text frame, which ends the connection with the [MQTT-6.0.0-1] reason and a 1003 close.
#[tokio::test]
async fn websocket_frame_rules() {
    use tungstenite::Message as Ws;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        #[allow(clippy::result_large_err)]
        let callback = |_: &tungstenite::handshake::server::Request,
                        mut resp: tungstenite::handshake::server::Response| {
            resp.headers_mut()
                .insert("Sec-WebSocket-Protocol", "mqtt".parse().unwrap());
            Ok(resp)
        };
        let mut ws = tungstenite::accept_hdr(tcp, callback).unwrap();
        assert!(matches!(ws.read().unwrap(), Ws::Binary(b) if b.first() == Some(&0x10)));
        ws.send(Ws::binary(vec![0x20, 0x02])).unwrap();
        ws.send(Ws::binary(vec![0x00, 0x00])).unwrap();
        ws.send(Ws::binary(b"\x30\x04\x00\x01a1\x30\x04\x00\x01b2".to_vec()))
            .unwrap();
        ws.send(Ws::text("\x30\x04\x00\x01c3")).unwrap();
        loop {
            match ws.read() {
                Ok(Ws::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                Ok(_) => {}
                Err(e) => panic!("no close frame: {e}"),
            }
        }
    });
    let (c, mut m) = new_client("tk-ws-frames");
    c.set_websocket(Some(WsConfig::new("/mqtt")));
    c.connect("127.0.0.1", port, &ConnectOptions::default())
        .await
        .unwrap();
    for (topic, payload) in [("a", b"1"), ("b", b"2")] {
        let got = next(&mut m).await;
        assert_eq!(
            (got.topic.as_str(), got.payload.as_slice()),
            (topic, payload.as_slice())
        );
    }
    let reason = timeout(WAIT, c.disconnected()).await.unwrap().unwrap();
    assert!(
        matches!(reason, DisconnectReason::WebSocket(WsError::NonBinaryFrame)),
        "{reason:?}"
    );
    assert!(reason.to_string().contains("[MQTT-6.0.0-1]"));
    let code = tokio::task::spawn_blocking(move || peer.join().unwrap())
        .await
        .unwrap();
    assert_eq!(code, Some(1003));
    assert!(m.try_recv().is_none(), "nothing from the text frame");
}

/// A receive queue of 4 that nobody reads while 300 messages arrive: the driver stops reading
/// (TCP holds the broker back), keeps the connection alive, and loses nothing.
#[tokio::test]
async fn a_full_message_stream_holds_the_broker_back_without_loss() {
    let broker = broker();
    let (sub, mut messages) =
        Client::new(ClientOptions::new(id("tk-slow")).receive_queue_depth(4)).unwrap();
    sub.connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .await
        .unwrap();
    sub.subscribe(&[("slow/#", QoS::AtLeastOnce)])
        .await
        .unwrap();
    let (p, _pm) = connected(broker.port(), "tk-slow-pub").await;
    let payload = vec![7u8; 1000];
    for i in 0..300 {
        p.publish(&format!("slow/{i}"), &payload, QoS::AtLeastOnce, false)
            .await
            .unwrap();
    }
    for i in 0..300 {
        let m = next(&mut messages).await;
        assert_eq!(m.topic, format!("slow/{i}"));
    }
    assert!(sub.is_connected());
    assert!(messages.try_recv().is_none());
}

/// No CONNACK within the wait time: `connect` fails with a timeout and the link is closed.
#[tokio::test]
async fn connect_times_out_without_connack() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        // Read until the client closes the connection.
        let mut all = Vec::new();
        let _ = s.read_to_end(&mut all);
        all
    });
    let (c, _m) = new_client("tk-silent");
    let opts = ConnectOptions::default().wait(std::time::Duration::from_millis(300));
    assert!(matches!(
        c.connect("127.0.0.1", port, &opts).await,
        Err(Error::Timeout)
    ));
    assert!(!c.is_connected());
    let sent = tokio::task::spawn_blocking(move || peer.join().unwrap())
        .await
        .unwrap();
    assert_eq!(sent.first(), Some(&0x10), "CONNECT was sent");
    // The client is usable again.
    assert!(matches!(
        c.publish("a", b"", QoS::AtMostOnce, false).await,
        Err(Error::NotConnected)
    ));
}

/// A lost link (no reconnect follows) ends the wait of a publish; closing the client then fails
/// what is called on it and ends the message stream.
#[tokio::test]
async fn close_fails_pending_publishes_and_ends_the_stream() {
    // A broker that accepts, takes one PUBLISH without acknowledging it, and closes.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 256];
        let _ = s.read(&mut buf).unwrap();
        s.write_all(&[0x20, 0x02, 0x00, 0x00]).unwrap();
        let _ = s.read(&mut buf).unwrap();
    });
    let (c, mut messages) = new_client("tk-close");
    c.connect(
        "127.0.0.1",
        port,
        &ConnectOptions::default().clean_session(false),
    )
    .await
    .unwrap();
    let publish = tokio::spawn({
        let c = c.clone();
        async move { c.publish("close/t", b"x", QoS::AtLeastOnce, false).await }
    });
    timeout(WAIT, c.disconnected()).await.unwrap();
    c.close().await;
    assert!(matches!(
        timeout(WAIT, publish).await.unwrap().unwrap(),
        Err(Error::PublishInterrupted(DisconnectReason::TransportClosed))
    ));
    assert!(timeout(WAIT, messages.recv()).await.unwrap().is_none());
    assert!(matches!(
        c.subscribe(&[("a", QoS::AtMostOnce)]).await,
        Err(Error::Closed)
    ));
    tokio::task::spawn_blocking(move || peer.join().unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn disconnect_notify_reports_every_end_with_its_reason() {
    let b = broker();
    let (c, _m) = new_client("dn");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    c.set_disconnect_notify(move |r: &DisconnectReason| {
        let _ = tx.send(r.clone());
    });
    // The client's own disconnect.
    c.connect("127.0.0.1", b.port(), &ConnectOptions::default())
        .await
        .unwrap();
    c.disconnect().await.unwrap();
    let r = timeout(WAIT, rx.recv()).await.unwrap().unwrap();
    assert!(matches!(r, DisconnectReason::Local), "{r:?}");
    // A second client with the same id takes the session over: the broker closes this one.
    c.connect("127.0.0.1", b.port(), &ConnectOptions::default())
        .await
        .unwrap();
    let twin = Client::new(ClientOptions::new(c.client_id())).unwrap().0;
    twin.connect("127.0.0.1", b.port(), &ConnectOptions::default())
        .await
        .unwrap();
    let r = timeout(WAIT, rx.recv()).await.unwrap().unwrap();
    assert!(matches!(r, DisconnectReason::TransportClosed), "{r:?}");
    // Removed: no more calls.
    c.clear_disconnect_notify();
    c.connect("127.0.0.1", b.port(), &ConnectOptions::default())
        .await
        .unwrap();
    c.disconnect().await.unwrap();
    assert!(rx.try_recv().is_err());
    twin.close().await;
}

#[tokio::test]
async fn a_reconnect_to_a_broker_without_the_session_subscribes_again() {
    let mut b = broker();
    let (c, mut messages) = Client::new(ClientOptions::new(id("tresub")).reconnect(Some(
        mqtt_std::Reconnect {
            initial: std::time::Duration::from_millis(100),
            max: std::time::Duration::from_millis(500),
        },
    )))
    .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    c.set_reconnect_notify(move |r: &mqtt_std::Reconnected| {
        let _ = tx.send(r.clone());
    });
    c.connect("127.0.0.1", b.port(), &ConnectOptions::default())
        .await
        .unwrap();
    c.subscribe(&[("tresub/#", QoS::ExactlyOnce)])
        .await
        .unwrap();
    b.restart().unwrap();
    let r = timeout(WAIT, rx.recv()).await.unwrap().unwrap();
    assert!(!r.session_present);
    assert_eq!(
        r.resubscribed,
        vec![("tresub/#".to_owned(), QoS::ExactlyOnce)]
    );
    let (p, _pm) = connected(b.port(), "tresub-pub").await;
    p.publish("tresub/x", b"back", QoS::AtLeastOnce, true)
        .await
        .unwrap();
    let m = next(&mut messages).await;
    assert_eq!(
        (m.topic.as_str(), &m.payload[..]),
        ("tresub/x", &b"back"[..])
    );
    p.publish("tresub/x", b"", QoS::AtLeastOnce, true)
        .await
        .unwrap();
}

/// A receive byte budget smaller than two messages: the driver pauses and resumes reading as
/// the application takes them, and every message arrives in order.
#[tokio::test]
async fn a_small_receive_byte_budget_delivers_everything_in_order() {
    let b = broker();
    let (c, mut messages) =
        Client::new(ClientOptions::new(id("tbudget")).receive_queue_bytes(150_000)).unwrap();
    c.connect("127.0.0.1", b.port(), &ConnectOptions::default())
        .await
        .unwrap();
    c.subscribe(&[("tbudget/x", QoS::AtLeastOnce)])
        .await
        .unwrap();
    let (p, _pm) = connected(b.port(), "tbudget-pub").await;
    for i in 0..10u8 {
        p.publish("tbudget/x", &[i; 100_000], QoS::AtLeastOnce, false)
            .await
            .unwrap();
    }
    for i in 0..10u8 {
        assert_eq!(next(&mut messages).await.payload, vec![i; 100_000]);
    }
}
