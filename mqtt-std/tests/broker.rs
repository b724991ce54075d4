//! The client against a real Mosquitto (started by the `mqtt-test-broker` harness).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::*;
use mqtt_std::{
    Client, ClientOptions, ConnectOptions, ConnectReturnCode, DisconnectReason, Error,
    MessageGetError, QoS, Reconnect, Reconnected, SubAckReturnCode, TlsConfig, TlsError, Will,
};
use mqtt_test_broker::{Broker, TestPki};

#[test]
fn connect_and_disconnect() {
    let broker = broker();
    let c = client("cd");
    assert!(!c.is_connected());
    let connected = c
        .connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .unwrap();
    assert!(!connected.session_present);
    assert!(c.is_connected());
    assert!(matches!(
        c.connect("127.0.0.1", broker.port(), &ConnectOptions::default()),
        Err(Error::AlreadyConnected)
    ));
    c.disconnect().unwrap();
    assert!(!c.is_connected());
    assert!(matches!(c.disconnect(), Err(Error::NotConnected)));
    // The broker saw a DISCONNECT, not a lost connection.
    let line = format!("Client {} disconnected.", c.client_id());
    assert!(broker.wait_for_log(&line, WAIT), "{}", broker.log());
    // And the same client connects again.
    c.connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .unwrap();
    assert!(c.is_connected());
}

#[test]
fn commands_before_connect_are_refused() {
    let c = client("early");
    assert!(matches!(
        c.publish("a", b"x", QoS::AtMostOnce, false),
        Err(Error::NotConnected)
    ));
    assert!(matches!(
        c.subscribe(&[("a", QoS::AtMostOnce)]),
        Err(Error::NotConnected)
    ));
    assert!(matches!(c.recv(), Err(Error::NotConnected)));
    assert_eq!(
        c.message_get(&mut [0; 8], &mut [0; 8]),
        Err(MessageGetError::NoMessage)
    );
}

#[test]
fn connect_to_closed_port_fails_with_connect_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = client("closed");
    let e = c
        .connect("127.0.0.1", port, &ConnectOptions::default())
        .unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
    assert!(!c.is_connected());
}

#[test]
fn login_right_and_wrong() {
    let broker = broker();
    let c = client("login");
    c.set_login(Broker::USERNAME, Some(Broker::PASSWORD.as_bytes()));
    c.connect("127.0.0.1", broker.auth_port(), &ConnectOptions::default())
        .unwrap();
    c.disconnect().unwrap();

    // A wrong password: Mosquitto answers 5 (not authorised) in 3.1.1.
    c.set_login(Broker::USERNAME, Some(b"wrong"));
    let e = c
        .connect("127.0.0.1", broker.auth_port(), &ConnectOptions::default())
        .unwrap_err();
    assert!(
        matches!(e, Error::Refused(ConnectReturnCode::NotAuthorized)),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "connection refused: not authorised (5)");
    assert!(!c.is_connected());

    // No login at all on the password listener: refused too.
    c.clear_login();
    let e = c
        .connect("127.0.0.1", broker.auth_port(), &ConnectOptions::default())
        .unwrap_err();
    assert!(matches!(e, Error::Refused(_)), "{e:?}");

    // The login is kept across connects until changed.
    c.set_login(Broker::USERNAME, Some(Broker::PASSWORD.as_bytes()));
    for _ in 0..2 {
        c.connect("127.0.0.1", broker.auth_port(), &ConnectOptions::default())
            .unwrap();
        c.disconnect().unwrap();
    }
}

#[test]
fn tls_with_the_right_ca() {
    let broker = broker();
    let c = client("tls");
    c.secure_connect(
        "localhost",
        broker.tls_port(),
        &tls_config(&broker),
        &ConnectOptions::default(),
    )
    .unwrap();
    // Round trip over TLS.
    c.subscribe(&[("tls/t", QoS::AtLeastOnce)])
        .unwrap()
        .wait()
        .unwrap();
    c.publish("tls/t", b"secret", QoS::AtLeastOnce, false)
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(recv(&c).payload, b"secret");
    c.disconnect().unwrap();

    // By IP address: checked against the IP SAN.
    c.secure_connect(
        "127.0.0.1",
        broker.tls_port(),
        &tls_config(&broker),
        &ConnectOptions::default(),
    )
    .unwrap();
    c.disconnect().unwrap();
}

#[test]
fn tls_with_the_wrong_ca_fails_clearly() {
    let broker = broker();
    let tls = TlsConfig::builder()
        .ca_pem(broker.pki().other_ca_pem().as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let c = client("tlsca");
    let e = c
        .secure_connect(
            "localhost",
            broker.tls_port(),
            &tls,
            &ConnectOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(e, Error::Tls(TlsError::UnknownCa)), "{e:?}");
    assert_eq!(e.to_string(), "tls: unknown certificate authority");
    assert!(!c.is_connected());
}

#[test]
fn tls_with_the_wrong_server_name_fails() {
    let broker = broker();
    let tls = TlsConfig::builder()
        .ca_pem(broker.pki().ca_pem().as_bytes())
        .unwrap()
        .server_name("wrong.example")
        .build()
        .unwrap();
    let c = client("tlsname");
    let e = c
        .secure_connect(
            "localhost",
            broker.tls_port(),
            &tls,
            &ConnectOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(e, Error::Tls(TlsError::NameMismatch)), "{e:?}");

    // Skipping the name check only: the chain is still verified and this connects.
    let tls = TlsConfig::builder()
        .ca_pem(broker.pki().ca_pem().as_bytes())
        .unwrap()
        .server_name("wrong.example")
        .skip_server_name_check(true)
        .build()
        .unwrap();
    c.secure_connect(
        "localhost",
        broker.tls_port(),
        &tls,
        &ConnectOptions::default(),
    )
    .unwrap();
    c.disconnect().unwrap();
}

#[test]
fn tls_with_an_expired_certificate_fails() {
    let broker = broker();
    let c = client("tlsexp");
    let e = c
        .secure_connect(
            "localhost",
            broker.expired_tls_port(),
            &tls_config(&broker),
            &ConnectOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(e, Error::Tls(TlsError::Expired)), "{e:?}");
}

#[test]
fn mutual_tls() {
    let broker = broker();
    let pki = broker.pki();
    let tls = TlsConfig::builder()
        .ca_pem(pki.ca_pem().as_bytes())
        .unwrap()
        .client_cert_pem(
            pki.client_cert_pem().as_bytes(),
            pki.client_key_pem().as_bytes(),
        )
        .unwrap()
        .build()
        .unwrap();
    let c = client("mtls");
    c.secure_connect(
        "localhost",
        broker.mtls_port(),
        &tls,
        &ConnectOptions::default(),
    )
    .unwrap();
    c.disconnect().unwrap();
    // The certificate's common name became the user name.
    let line = format!("u'{}'", TestPki::CLIENT_CN);
    assert!(broker.wait_for_log(&line, WAIT), "{}", broker.log());

    // Without a client certificate the broker refuses the handshake.
    let e = client("mtls-none")
        .secure_connect(
            "localhost",
            broker.mtls_port(),
            &tls_config(&broker),
            &ConnectOptions::default(),
        )
        .unwrap_err();
    assert!(
        matches!(e, Error::Tls(_) | Error::ConnectionLost(_)),
        "{e:?}"
    );
}

fn round_trip(qos: QoS) {
    let broker = broker();
    let sub = connected(&broker, "sub");
    let codes = sub
        .subscribe(&[("rt/+/x", qos), ("rt/other", QoS::AtMostOnce)])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    assert_eq!(
        codes,
        vec![
            SubAckReturnCode::Success(qos),
            SubAckReturnCode::Success(QoS::AtMostOnce)
        ]
    );
    let publisher = connected(&broker, "pub");
    let done = publisher.publish("rt/a/x", b"payload", qos, false).unwrap();
    assert_eq!(done.packet_id().is_some(), qos != QoS::AtMostOnce);
    done.wait_timeout(WAIT).unwrap();
    let m = recv(&sub);
    assert_eq!(m.topic, "rt/a/x");
    assert_eq!(m.payload, b"payload");
    assert_eq!(m.qos, qos);
    assert!(!m.retain);
    assert_eq!(publisher.publishes_in_flight(), 0);

    // Unsubscribe: nothing more arrives (checked by a marker on another filter).
    sub.unsubscribe(&["rt/+/x"])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    publisher
        .publish("rt/a/x", b"not delivered", qos, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    publisher
        .publish("rt/other", b"marker", QoS::AtMostOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    assert_eq!(recv(&sub).payload, b"marker");
}

#[test]
fn publish_subscribe_qos0() {
    round_trip(QoS::AtMostOnce);
}

#[test]
fn publish_subscribe_qos1() {
    round_trip(QoS::AtLeastOnce);
}

#[test]
fn publish_subscribe_qos2() {
    round_trip(QoS::ExactlyOnce);
}

#[test]
fn invalid_topics_are_refused_locally() {
    let broker = broker();
    let c = connected(&broker, "invalid");
    assert!(matches!(
        c.publish("a/+", b"x", QoS::AtMostOnce, false),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        c.publish("", b"x", QoS::AtLeastOnce, false),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        c.subscribe(&[("a/#/b", QoS::AtMostOnce)]),
        Err(Error::Invalid(_))
    ));
    assert!(c.subscribe(&[]).is_err());
    assert!(matches!(
        c.set_will(Some(Will::new(
            "w/#",
            Vec::<u8>::new(),
            QoS::AtMostOnce,
            false
        ))),
        Err(Error::Invalid(_))
    ));
    // The connection is unharmed.
    c.publish("a/b", b"x", QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
}

#[test]
fn retained_message() {
    let broker = broker();
    let publisher = connected(&broker, "retain-pub");
    publisher
        .publish("retained/t", b"kept", QoS::AtLeastOnce, true)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    publisher.disconnect().unwrap();
    // A later subscriber gets it, flagged retained.
    let sub = connected(&broker, "retain-sub");
    sub.subscribe(&[("retained/#", QoS::AtLeastOnce)])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let m = recv(&sub);
    assert_eq!(
        (m.topic.as_str(), m.payload.as_slice()),
        ("retained/t", &b"kept"[..])
    );
    assert!(m.retain);
}

#[test]
fn will_is_published_when_the_connection_drops() {
    let broker = broker();
    let watcher = connected(&broker, "will-watch");
    watcher
        .subscribe(&[("will/#", QoS::AtLeastOnce)])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();

    // A clean DISCONNECT discards the will.
    let polite = client("will-polite");
    polite
        .set_will(Some(Will::new(
            "will/polite",
            b"should not appear".to_vec(),
            QoS::AtLeastOnce,
            false,
        )))
        .unwrap();
    polite
        .connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .unwrap();
    polite.disconnect().unwrap();

    let dying = client("will-dying");
    dying
        .set_will(Some(Will::new(
            "will/dying",
            b"gone".to_vec(),
            QoS::AtLeastOnce,
            false,
        )))
        .unwrap();
    dying
        .connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .unwrap();
    dying.drop_connection().unwrap();
    assert!(!dying.is_connected());

    let m = recv(&watcher);
    assert_eq!(m.topic, "will/dying");
    assert_eq!(m.payload, b"gone");
    assert_eq!(m.qos, QoS::AtLeastOnce);
}

#[test]
fn four_mib_payload_arrives_intact() {
    let broker = broker();
    let options = |p| {
        ClientOptions::new(id(p))
            .max_packet_size(5 << 20)
            .transmit_buffer_size(5 << 20)
    };
    let sub = Client::new(options("big-sub")).unwrap();
    sub.connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .unwrap();
    sub.subscribe(&[("big", QoS::AtLeastOnce)])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let publisher = Client::new(options("big-pub")).unwrap();
    publisher
        .connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .unwrap();
    let payload: Vec<u8> = (0..4u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    publisher
        .publish("big", &payload, QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let m = recv(&sub);
    assert_eq!(m.payload.len(), payload.len());
    assert!(m.payload == payload, "payload differs");

    // The same at QoS 0 (through the transmit buffer).
    publisher
        .publish("big", &payload, QoS::AtMostOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    assert!(recv(&sub).payload == payload);
}

#[test]
fn ten_thousand_qos1_messages_exactly_once_in_order() {
    const N: u32 = 10_000;
    let broker = Broker::builder()
        .max_inflight_messages(100)
        .start()
        .unwrap();
    let sub = Client::new(ClientOptions::new(id("many-sub")).receive_queue_depth(256)).unwrap();
    sub.connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .unwrap();
    sub.subscribe(&[("many", QoS::AtLeastOnce)])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let publisher =
        Client::new(ClientOptions::new(id("many-pub")).max_queued_publishes(1000)).unwrap();
    publisher
        .connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .unwrap();
    let sender = thread::spawn(move || {
        let mut pending = std::collections::VecDeque::new();
        for i in 0..N {
            loop {
                match publisher.publish("many", &i.to_be_bytes(), QoS::AtLeastOnce, false) {
                    Ok(p) => {
                        pending.push_back(p);
                        break;
                    }
                    Err(Error::WindowFull) => {
                        let p: mqtt_std::Pending<()> = pending.pop_front().unwrap();
                        p.wait_timeout(WAIT).unwrap();
                    }
                    Err(e) => panic!("{e}"),
                }
            }
        }
        for p in pending {
            p.wait_timeout(WAIT).unwrap();
        }
        publisher
    });
    for expected in 0..N {
        let m = recv(&sub);
        let got = u32::from_be_bytes(m.payload.as_slice().try_into().unwrap());
        assert_eq!(got, expected, "out of order or duplicated");
    }
    let publisher = sender.join().unwrap();
    // Nothing more: a marker published after all of them is the next message.
    publisher
        .publish("many", b"end", QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    assert_eq!(recv(&sub).payload, b"end");
}

#[test]
fn persistent_session_receives_messages_queued_while_away() {
    let broker = broker();
    let sub_id = id("persist");
    let sub = Client::new(ClientOptions::new(sub_id.clone())).unwrap();
    let persistent = ConnectOptions::default().clean_session(false);
    // Start from a clean slate on the broker, then keep the session.
    sub.connect(
        "127.0.0.1",
        broker.port(),
        &ConnectOptions::default().clean_session(true),
    )
    .unwrap();
    sub.disconnect().unwrap();
    let first = sub
        .connect("127.0.0.1", broker.port(), &persistent)
        .unwrap();
    assert!(!first.session_present);
    sub.subscribe(&[("persist/t", QoS::AtLeastOnce)])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    sub.disconnect().unwrap();

    let publisher = connected(&broker, "persist-pub");
    for i in 0..5u8 {
        publisher
            .publish("persist/t", &[i], QoS::AtLeastOnce, false)
            .unwrap()
            .wait_timeout(WAIT)
            .unwrap();
    }

    let again = sub
        .connect("127.0.0.1", broker.port(), &persistent)
        .unwrap();
    assert!(again.session_present);
    for i in 0..5u8 {
        let m = recv(&sub);
        assert_eq!(m.payload, [i]);
        assert_eq!(m.qos, QoS::AtLeastOnce);
    }
}

#[test]
fn message_get_no_message_and_small_buffers() {
    let broker = broker();
    let c = connected(&broker, "get");
    let mut topic = [0u8; 64];
    let mut payload = [0u8; 64];
    assert_eq!(
        c.message_get(&mut topic, &mut payload),
        Err(MessageGetError::NoMessage)
    );
    let (tx, rx) = mpsc::channel();
    c.set_receive_notify(move |n| {
        let _ = tx.send(n);
    });
    c.subscribe(&[("get/#", QoS::AtLeastOnce)])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    c.publish("get/long-topic", b"0123456789", QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    assert!(wait_for(&rx) >= 1);
    assert_eq!(c.queued_messages(), 1);

    // Too small: the sizes needed come back and the message stays queued.
    let mut small_topic = [0u8; 4];
    let mut small_payload = [0u8; 4];
    assert_eq!(
        c.message_get(&mut small_topic, &mut payload),
        Err(MessageGetError::BufferTooSmall {
            topic_len: 14,
            payload_len: 10
        })
    );
    assert_eq!(
        c.message_get(&mut topic, &mut small_payload),
        Err(MessageGetError::BufferTooSmall {
            topic_len: 14,
            payload_len: 10
        })
    );
    assert_eq!(c.queued_messages(), 1);

    let info = c.message_get(&mut topic, &mut payload).unwrap();
    assert_eq!(&topic[..info.topic_len], b"get/long-topic");
    assert_eq!(&payload[..info.payload_len], b"0123456789");
    assert_eq!(info.qos, QoS::AtLeastOnce);
    assert_eq!(
        c.message_get(&mut topic, &mut payload),
        Err(MessageGetError::NoMessage)
    );
}

#[test]
fn receive_and_disconnect_notifications_fire() {
    let broker = broker();
    let c = connected(&broker, "notify");
    let (msg_tx, msg_rx) = mpsc::channel();
    let io_thread = thread::current().id();
    c.set_receive_notify(move |queued| {
        // Runs on the IO thread, not the test's.
        let _ = msg_tx.send((queued, thread::current().id() != io_thread));
    });
    let (dc_tx, dc_rx) = mpsc::channel();
    c.set_disconnect_notify(move |reason: &DisconnectReason| {
        let _ = dc_tx.send(reason.clone());
    });
    c.subscribe(&[("notify", QoS::AtMostOnce)])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    c.publish("notify", b"1", QoS::AtMostOnce, false).unwrap();
    let (queued, other_thread) = wait_for(&msg_rx);
    assert_eq!(queued, 1);
    assert!(other_thread);
    // A second message while the first is still queued: the count says two.
    c.publish("notify", b"2", QoS::AtMostOnce, false).unwrap();
    assert_eq!(wait_for(&msg_rx).0, 2);
    assert_eq!(c.messages().take(2).count(), 2);

    c.disconnect().unwrap();
    assert!(matches!(wait_for(&dc_rx), DisconnectReason::Local));

    c.connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .unwrap();
    c.drop_connection().unwrap();
    assert!(matches!(wait_for(&dc_rx), DisconnectReason::Dropped));

    // The broker ending the connection: a second client with the same id takes over.
    c.connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .unwrap();
    let thief = Client::new(ClientOptions::new(c.client_id())).unwrap();
    thief
        .connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .unwrap();
    assert!(matches!(
        wait_for(&dc_rx),
        DisconnectReason::TransportClosed
    ));
    assert!(matches!(
        c.recv_timeout(WAIT),
        Err(Error::ConnectionLost(_))
    ));
}

#[test]
fn nonblocking_connect_calls_back() {
    let broker = broker();
    let c = client("nb");
    let (tx, rx) = mpsc::channel();
    c.connect_nonblocking(
        "127.0.0.1",
        broker.port(),
        None,
        &ConnectOptions::default(),
        move |r| {
            let _ = tx.send(r.map(|c| c.session_present));
        },
    )
    .unwrap();
    assert!(!wait_for(&rx).unwrap());
    assert!(c.is_connected());

    let tls = tls_config(&broker);
    c.disconnect().unwrap();
    let (tx, rx) = mpsc::channel();
    c.connect_nonblocking(
        "localhost",
        broker.tls_port(),
        Some(&tls),
        &ConnectOptions::default(),
        move |r| {
            let _ = tx.send(r.is_ok());
        },
    )
    .unwrap();
    assert!(wait_for(&rx));
}

#[test]
fn publish_from_many_threads() {
    let broker = broker();
    let sub = connected(&broker, "mt-sub");
    sub.subscribe(&[("mt/#", QoS::AtLeastOnce)])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let publisher =
        Client::new(ClientOptions::new(id("mt-pub")).max_queued_publishes(1000)).unwrap();
    publisher
        .connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .unwrap();
    let threads: Vec<_> = (0..4u8)
        .map(|t| {
            let p = publisher.clone();
            thread::spawn(move || {
                let pending: Vec<_> = (0..50u8)
                    .map(|i| {
                        p.publish(&format!("mt/{t}"), &[t, i], QoS::AtLeastOnce, false)
                            .unwrap()
                    })
                    .collect();
                for p in pending {
                    p.wait_timeout(WAIT).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut next = [0u8; 4];
    for _ in 0..200 {
        let m = recv(&sub);
        let (t, i) = (usize::from(m.payload[0]), m.payload[1]);
        // Per publisher thread, in order.
        assert_eq!(next[t], i);
        next[t] += 1;
    }
    assert_eq!(next, [50; 4]);
}

#[test]
fn automatic_reconnect_resumes_the_session() {
    let broker = broker();
    let shared_id = id("recon");
    let c = Client::new(
        ClientOptions::new(shared_id.clone()).reconnect(Some(Reconnect {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(200),
        })),
    )
    .unwrap();
    let (tx, rx) = mpsc::channel();
    c.set_disconnect_notify(move |r: &DisconnectReason| {
        let _ = tx.send(r.clone());
    });
    let persistent = ConnectOptions::default().clean_session(false);
    c.connect("127.0.0.1", broker.port(), &persistent).unwrap();
    c.subscribe(&[("recon/t", QoS::AtLeastOnce)])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    // Take the client id over: the broker closes the first connection, which reconnects
    // (taking it back) and finds its session.
    let thief = Client::new(ClientOptions::new(shared_id)).unwrap();
    thief
        .connect("127.0.0.1", broker.port(), &persistent)
        .unwrap();
    assert!(matches!(wait_for(&rx), DisconnectReason::TransportClosed));
    c.wait_connected(WAIT).unwrap();
    let publisher = connected(&broker, "recon-pub");
    thief.close();
    publisher
        .publish("recon/t", b"final", QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let mut got_final = false;
    while let Ok(m) = c.recv_timeout(WAIT) {
        if m.payload == b"final" {
            got_final = true;
            break;
        }
    }
    assert!(got_final);
    c.disconnect().unwrap();
}

#[test]
fn close_ends_everything() {
    let broker = broker();
    let c = connected(&broker, "close");
    let other = c.clone();
    c.close();
    assert!(matches!(
        other.publish("a", b"x", QoS::AtMostOnce, false),
        Err(Error::Closed)
    ));
    assert!(matches!(other.recv(), Err(Error::Closed)));
    let line = format!("Client {} disconnected.", c.client_id());
    assert!(broker.wait_for_log(&line, WAIT), "{}", broker.log());
}

#[test]
fn a_full_receive_queue_holds_the_broker_back_without_loss() {
    let broker = Broker::builder().max_inflight_messages(50).start().unwrap();
    let sub = Client::new(ClientOptions::new(id("bp-sub")).receive_queue_depth(4)).unwrap();
    sub.connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .unwrap();
    sub.subscribe(&[("bp", QoS::AtLeastOnce)])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let publisher =
        Client::new(ClientOptions::new(id("bp-pub")).max_queued_publishes(500)).unwrap();
    publisher
        .connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .unwrap();
    let payload = vec![7u8; 10_000];
    let pending: Vec<_> = (0..300u16)
        .map(|i| {
            let mut p = payload.clone();
            p[..2].copy_from_slice(&i.to_be_bytes());
            publisher
                .publish("bp", &p, QoS::AtLeastOnce, false)
                .unwrap()
        })
        .collect();
    // The subscriber has not read anything: its queue stays near its depth (one network read
    // may add a few), the rest waits in TCP buffers and at the broker.
    pending[10].wait_timeout(WAIT).unwrap();
    // One 64 KiB read holds at most 7 of these 10 kB messages.
    assert!(sub.queued_messages() <= 4 + 7, "{}", sub.queued_messages());
    for i in 0..300u16 {
        let m = recv(&sub);
        assert_eq!(m.payload[..2], i.to_be_bytes());
        assert_eq!(m.payload.len(), payload.len());
    }
    for p in pending {
        p.wait_timeout(WAIT).unwrap();
    }
}

#[test]
fn callbacks_may_disconnect_and_close() {
    let broker = broker();
    let c = connected(&broker, "cb");
    let (tx, rx) = mpsc::channel();
    let handle = c.clone();
    c.set_receive_notify(move |_| {
        // From the IO thread: returns at once, the connection closes after the callback.
        let _ = tx.send(handle.disconnect().is_ok());
    });
    let (dc_tx, dc_rx) = mpsc::channel();
    c.set_disconnect_notify(move |r: &DisconnectReason| {
        let _ = dc_tx.send(r.clone());
    });
    c.subscribe(&[("cb", QoS::AtMostOnce)])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    c.publish("cb", b"bye", QoS::AtMostOnce, false).unwrap();
    assert!(wait_for(&rx));
    assert!(matches!(wait_for(&dc_rx), DisconnectReason::Local));
    let line = format!("Client {} disconnected.", c.client_id());
    assert!(broker.wait_for_log(&line, WAIT), "{}", broker.log());

    // close() from a callback: DISCONNECT is still sent, and the client ends.
    let c = connected(&broker, "cb-close");
    let handle = c.clone();
    let (tx, rx) = mpsc::channel();
    c.set_receive_notify(move |_| {
        handle.close();
        let _ = tx.send(());
    });
    c.subscribe(&[("cbc", QoS::AtMostOnce)])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    c.publish("cbc", b"bye", QoS::AtMostOnce, false).unwrap();
    wait_for(&rx);
    let line = format!("Client {} disconnected.", c.client_id());
    assert!(broker.wait_for_log(&line, WAIT), "{}", broker.log());
    assert!(matches!(c.recv(), Err(Error::Closed)));
}

#[test]
fn keep_alive_pings_keep_an_idle_connection_up() {
    let broker = broker();
    let c = client("ka");
    c.connect(
        "127.0.0.1",
        broker.port(),
        &ConnectOptions::default().keep_alive(1),
    )
    .unwrap();
    let line = format!("Received PINGREQ from {}", c.client_id());
    assert!(broker.wait_for_log(&line, WAIT), "{}", broker.log());
    let line = format!("Sending PINGRESP to {}", c.client_id());
    assert!(broker.wait_for_log(&line, WAIT), "{}", broker.log());
    assert!(c.is_connected());
    c.publish("ka", b"still here", QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
}

#[test]
fn a_full_transmit_buffer_makes_publish_wait_for_room() {
    let broker = broker();
    let sub = connected(&broker, "txb-sub");
    sub.subscribe(&[("txb", QoS::AtMostOnce)])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let c = Client::new(ClientOptions::new(id("txb")).transmit_buffer_size(512)).unwrap();
    c.connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .unwrap();
    let body = [b'x'; 200];
    let mut last = None;
    for _ in 0..200 {
        last = Some(c.publish("txb", &body, QoS::AtMostOnce, false).unwrap());
    }
    last.unwrap().wait_timeout(WAIT).unwrap();
    // A packet that can never fit is refused at once, whatever its QoS.
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
        let e = c.publish("txb", &[0u8; 1000], qos, false).unwrap_err();
        assert!(matches!(e, Error::Command(_)), "{e:?}");
    }
    // Everything sent reached the subscriber (QoS 0 over a healthy loopback link).
    for _ in 0..200 {
        assert_eq!(recv(&sub).payload, body);
    }
}

#[test]
fn client_is_send_and_sync_and_takes_any_duration() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<Client>();
    send_sync::<mqtt_std::Pending<()>>();
    send_sync::<Error>();

    let broker = broker();
    let c = client("durations");
    c.connect(
        "127.0.0.1",
        broker.port(),
        &ConnectOptions::default().wait(Duration::MAX),
    )
    .unwrap();
    c.subscribe(&[("d", QoS::AtLeastOnce)])
        .unwrap()
        .wait_timeout(Duration::MAX)
        .unwrap();
    c.publish("d", b"x", QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(Duration::MAX)
        .unwrap();
    assert_eq!(c.recv_timeout(Duration::MAX).unwrap().payload, b"x");
}

/// The broker restarts and has lost the session: the automatic reconnect sends the granted
/// subscriptions again (not the one taken back), and the reconnect notify says so.
#[test]
fn a_reconnect_to_a_broker_without_the_session_subscribes_again() {
    let mut broker = broker();
    let c = Client::new(ClientOptions::new(id("resub")).reconnect(Some(Reconnect {
        initial: Duration::from_millis(100),
        max: Duration::from_millis(500),
    })))
    .unwrap();
    let (tx, rx) = mpsc::channel();
    c.set_reconnect_notify(move |r: &Reconnected| {
        let _ = tx.send(r.clone());
    });
    c.connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .unwrap();
    let granted = c
        .subscribe(&[("resub/#", QoS::AtLeastOnce), ("gone/#", QoS::AtMostOnce)])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    assert_eq!(granted.len(), 2);
    c.unsubscribe(&["gone/#"])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    broker.restart().unwrap();
    let r = rx.recv_timeout(WAIT).unwrap();
    assert!(!r.session_present);
    assert_eq!(
        r.resubscribed,
        vec![("resub/#".to_owned(), QoS::AtLeastOnce)]
    );
    // Retained, so that it arrives whether the SUBSCRIBE or the PUBLISH reaches the broker
    // first.
    let p = connected(&broker, "resub-pub");
    p.publish("resub/x", b"back", QoS::AtLeastOnce, true)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let m = c.recv_timeout(WAIT).unwrap();
    assert_eq!(
        (m.topic.as_str(), &m.payload[..]),
        ("resub/x", &b"back"[..])
    );
    p.publish("resub/x", b"", QoS::AtLeastOnce, true)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
}
