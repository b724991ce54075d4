//! Interop: the bare `mqtt_session::Session`, driven over a `std::net::TcpStream` by the small
//! loop below, against a real Mosquitto started by `mqtt_std::test_broker` (one private broker
//! per test). The scenarios: connect (anonymous, with a password, refused), QoS 0/1/2 round
//! trips through a subscription, a session resumed with stored messages, and resending after a
//! dropped connection (QoS 1, QoS 2 before and after PUBREC).
//!
//! Wall-clock time only bounds how long a test waits for the broker (generous limits); no test
//! asserts anything about speed.
#![allow(clippy::unwrap_used)]

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant as WallClock};

use conformance::checks;
use conformance::script::Seen;
use mqtt_session::{
    Config, ConnectOptions, ConnectReturnCode, DisconnectReason, Instant, QoS, Session, State,
    SubAckReturnCode, VecStore,
};
use mqtt_test_broker::Broker;

const PATIENCE: Duration = Duration::from_secs(10);

/// One client: a session and, while connected, its TCP stream.
struct Client {
    session: Session<VecStore, Vec<u8>>,
    stream: Option<TcpStream>,
    epoch: WallClock,
    events: Vec<Seen>,
    /// Sent packets' first bytes, in order, for checks on what went out.
    sent: Vec<Vec<u8>>,
    /// Packets for which this is true are not written (lost in a dying connection).
    hold: fn(&[u8]) -> bool,
}

impl Client {
    fn new() -> Self {
        Client {
            session: Session::new(
                Config::default(),
                VecStore::new(),
                vec![0; 8192],
                vec![0; 8192],
            ),
            stream: None,
            epoch: WallClock::now(),
            events: Vec::new(),
            sent: Vec::new(),
            hold: |_| false,
        }
    }

    fn now(&self) -> Instant {
        Instant::from_millis(u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// Opens TCP to `port`, sends CONNECT, waits for CONNACK (accepted or refused).
    fn connect(&mut self, broker: &Broker, port: u16, options: &ConnectOptions<'_>) -> Seen {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("TCP connect to mosquitto");
        stream
            .set_read_timeout(Some(Duration::from_millis(5)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        self.stream = Some(stream);
        self.session.handle_transport_up(self.now());
        self.session.connect(self.now(), options).unwrap();
        self.run_until(broker, |e| {
            matches!(e, Seen::Connected { .. } | Seen::Refused(_))
        })
    }

    /// Sends what the session has, handles due timers, drains events.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(e) = self.session.poll_event() {
                let seen = Seen::from_event(&e);
                moved = true;
                if matches!(seen, Seen::Disconnected(_)) {
                    self.close_transport();
                }
                self.events.push(seen);
            }
            let mut buf = [0u8; 8192];
            while let Some(n) = self.session.poll_transmit(self.now(), &mut buf).unwrap() {
                moved = true;
                let (packets, _) = conformance::wire::split(&buf[..n]);
                for packet in packets {
                    if let (Some(stream), false) = (self.stream.as_mut(), (self.hold)(&packet)) {
                        if stream.write_all(&packet).is_err() {
                            self.close_transport();
                        }
                    }
                    self.sent.push(packet);
                }
            }
            if self.session.poll_timeout().is_some_and(|t| t <= self.now()) {
                self.session.handle_timeout(self.now());
                moved = true;
            }
            if !moved {
                return;
            }
        }
    }

    fn close_transport(&mut self) {
        if let Some(stream) = self.stream.take() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        self.session.handle_transport_closed(self.now());
    }

    /// Reads and pumps until a new event matching `done` arrives (and returns it), or panics
    /// after [`PATIENCE`] with the broker's log.
    fn run_until(&mut self, broker: &Broker, done: impl Fn(&Seen) -> bool) -> Seen {
        let start = WallClock::now();
        let mut checked = self.events.len();
        loop {
            self.pump();
            if let Some(e) = self.events[checked..].iter().find(|e| done(e)) {
                return e.clone();
            }
            checked = self.events.len();
            assert!(
                start.elapsed() < PATIENCE,
                "no matching event; events so far: {:?}\n--- broker log ---\n{}",
                self.events,
                broker.log()
            );
            assert!(
                self.stream.is_some(),
                "connection closed; events: {:?}",
                self.events
            );
            self.read_once();
        }
    }

    /// One read from the socket (up to 5 ms), fed to the session, then a pump.
    fn read_once(&mut self) {
        let Some(stream) = self.stream.as_mut() else {
            return;
        };
        let mut buf = [0u8; 4096];
        match stream.read(&mut buf) {
            Ok(0) => self.close_transport(),
            Ok(n) => {
                let mut rest = &buf[..n];
                while !rest.is_empty() {
                    let took = self.session.handle_receive(self.now(), rest);
                    rest = &rest[took..];
                    self.pump();
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => self.close_transport(),
        }
        self.pump();
    }

    /// Messages received so far: (topic, payload, QoS).
    fn messages(&self) -> Vec<(String, Vec<u8>, QoS)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Seen::Message {
                    topic,
                    payload,
                    qos,
                    ..
                } => Some((topic.clone(), payload.clone(), *qos)),
                _ => None,
            })
            .collect()
    }

    /// The network connection dies without DISCONNECT.
    fn drop_connection(&mut self) {
        self.close_transport();
        self.pump();
    }

    fn disconnect(&mut self, broker: &Broker) {
        self.session.disconnect(self.now()).unwrap();
        self.run_until(broker, |e| {
            matches!(e, Seen::Disconnected(DisconnectReason::Local))
        });
        // The driver closed the transport on `Disconnected` and told the session.
        assert_eq!(self.session.state(), State::TransportDown);
    }
}

fn start_broker() -> Broker {
    Broker::start().unwrap_or_else(|e| panic!("{e}"))
}

fn persistent(id: &str) -> ConnectOptions<'_> {
    ConnectOptions {
        clean_session: false,
        keep_alive: 30,
        ..ConnectOptions::new(id)
    }
}

/// Waits until `client` has received `n` messages.
fn wait_messages(client: &mut Client, broker: &Broker, n: usize) {
    while client.messages().len() < n {
        let have = client.messages().len();
        client.run_until(broker, |e| matches!(e, Seen::Message { .. }));
        assert!(client.messages().len() > have);
    }
}

#[test]
fn interop_connect_subscribe_and_qos_0_1_2_round_trip() {
    checks![
        "MQTT-7.0.0-2",
        "MQTT-7.1.2-1",
        "MQTT-4.3.1-1",
        "MQTT-4.3.2-1",
        "MQTT-4.3.3-1",
        "MQTT-4.3.2-2",
        "MQTT-4.3.3-2",
        "MQTT-3.14.4-1"
    ];
    let broker = start_broker();
    let mut c = Client::new();
    let connack = c.connect(&broker, broker.port(), &ConnectOptions::new("interop-rt"));
    assert_eq!(
        connack,
        Seen::Connected {
            session_present: false
        }
    );
    let sub = c
        .session
        .subscribe(
            c.now(),
            &[
                ("rt/#", QoS::ExactlyOnce),
                ("bad/#/filter-ok", QoS::AtMostOnce),
            ],
        )
        .err();
    assert!(sub.is_some(), "an invalid filter is refused locally");
    let sub = c
        .session
        .subscribe(c.now(), &[("rt/#", QoS::ExactlyOnce)])
        .unwrap();
    let granted = c.run_until(&broker, |e| matches!(e, Seen::Subscribed { .. }));
    assert_eq!(
        granted,
        Seen::Subscribed {
            packet_id: sub.get(),
            results: vec![SubAckReturnCode::Success(QoS::ExactlyOnce)]
        }
    );
    c.session
        .publish(c.now(), "rt/0", b"zero", QoS::AtMostOnce, false)
        .unwrap();
    let q1 = c
        .session
        .publish(c.now(), "rt/1", b"one", QoS::AtLeastOnce, false)
        .unwrap()
        .unwrap();
    let q2 = c
        .session
        .publish(
            c.now(),
            "rt/2",
            "zwei ü".as_bytes(),
            QoS::ExactlyOnce,
            false,
        )
        .unwrap()
        .unwrap();
    c.run_until(&broker, |e| *e == Seen::Completed(q2.get()));
    assert!(c.events.contains(&Seen::Acknowledged(q1.get())));
    wait_messages(&mut c, &broker, 3);
    let mut got = c.messages();
    got.sort();
    assert_eq!(
        got,
        [
            ("rt/0".to_owned(), b"zero".to_vec(), QoS::AtMostOnce),
            ("rt/1".to_owned(), b"one".to_vec(), QoS::AtLeastOnce),
            (
                "rt/2".to_owned(),
                "zwei ü".as_bytes().to_vec(),
                QoS::ExactlyOnce
            ),
        ]
    );
    c.disconnect(&broker);
    assert_eq!(c.sent.last(), Some(&vec![0xE0, 0x00]));
    assert!(broker.wait_for_log("Received DISCONNECT from interop-rt", PATIENCE));
}

#[test]
fn interop_login_accepted_and_refused() {
    checks!["U-3.2.2.3-connack-codes", "MQTT-3.1.2-19", "MQTT-3.1.2-21"];
    let broker = start_broker();
    let mut good = Client::new();
    let r = good.connect(
        &broker,
        broker.auth_port(),
        &ConnectOptions {
            username: Some(Broker::USERNAME),
            password: Some(Broker::PASSWORD.as_bytes()),
            ..ConnectOptions::new("interop-login")
        },
    );
    assert_eq!(
        r,
        Seen::Connected {
            session_present: false
        }
    );
    let mut bad = Client::new();
    let r = bad.connect(
        &broker,
        broker.auth_port(),
        &ConnectOptions {
            username: Some(Broker::USERNAME),
            password: Some(b"wrong"),
            ..ConnectOptions::new("interop-bad-login")
        },
    );
    let Seen::Refused(code) = r else {
        panic!("{r:?}")
    };
    assert!(
        matches!(
            code,
            ConnectReturnCode::BadUsernameOrPassword | ConnectReturnCode::NotAuthorized
        ),
        "{code:?}"
    );
    bad.pump();
    assert_eq!(bad.session.state(), State::TransportDown);
    assert!(bad.stream.is_none(), "the driver closed the connection");
    assert!(
        bad.events
            .contains(&Seen::Disconnected(DisconnectReason::Refused(code)))
    );
}

#[test]
fn interop_resumed_session_receives_stored_messages_once() {
    checks![
        "MQTT-3.1.2-4",
        "MQTT-4.3.3-2",
        "MQTT-4.1.0-1",
        "MQTT-3.1.3-2"
    ];
    let broker = start_broker();
    let mut sub = Client::new();
    sub.connect(&broker, broker.port(), &persistent("interop-sub"));
    sub.session
        .subscribe(sub.now(), &[("resume/#", QoS::ExactlyOnce)])
        .unwrap();
    sub.run_until(&broker, |e| matches!(e, Seen::Subscribed { .. }));
    sub.disconnect(&broker);

    let mut publisher = Client::new();
    publisher.connect(&broker, broker.port(), &ConnectOptions::new("interop-pub"));
    let a = publisher
        .session
        .publish(publisher.now(), "resume/a", b"1", QoS::AtLeastOnce, false)
        .unwrap()
        .unwrap();
    let b = publisher
        .session
        .publish(publisher.now(), "resume/b", b"2", QoS::ExactlyOnce, false)
        .unwrap()
        .unwrap();
    publisher.run_until(&broker, |e| *e == Seen::Completed(b.get()));
    assert!(publisher.events.contains(&Seen::Acknowledged(a.get())));

    let r = sub.connect(&broker, broker.port(), &persistent("interop-sub"));
    assert_eq!(
        r,
        Seen::Connected {
            session_present: true
        }
    );
    wait_messages(&mut sub, &broker, 2);
    // Give a duplicate a chance to show up, then check each arrived once.
    sub.session
        .subscribe(sub.now(), &[("other", QoS::AtMostOnce)])
        .unwrap();
    sub.run_until(&broker, |e| matches!(e, Seen::Subscribed { .. }));
    let mut got = sub.messages();
    got.sort();
    assert_eq!(
        got,
        [
            ("resume/a".to_owned(), b"1".to_vec(), QoS::AtLeastOnce),
            ("resume/b".to_owned(), b"2".to_vec(), QoS::ExactlyOnce),
        ]
    );
}

#[test]
fn interop_resend_after_dropped_connection_qos1_and_qos2_before_and_after_pubrec() {
    checks![
        "MQTT-4.4.0-1",
        "MQTT-3.3.1-1",
        "MQTT-4.3.3-1",
        "MQTT-2.3.1-3",
        "MQTT-4.6.0-1"
    ];
    let broker = start_broker();
    let mut watcher = Client::new();
    watcher.connect(
        &broker,
        broker.port(),
        &ConnectOptions::new("interop-watch"),
    );
    watcher
        .session
        .subscribe(watcher.now(), &[("drop/#", QoS::ExactlyOnce)])
        .unwrap();
    watcher.run_until(&broker, |e| matches!(e, Seen::Subscribed { .. }));

    let mut c = Client::new();
    c.connect(&broker, broker.port(), &persistent("interop-drop"));
    // QoS 2 "after PUBREC": let the PUBLISH out, hold back the PUBREL the PUBREC triggers.
    let released = c
        .session
        .publish(c.now(), "drop/rel", b"r", QoS::ExactlyOnce, false)
        .unwrap()
        .unwrap();
    c.pump();
    c.hold = |_| true;
    let pubrel = vec![
        0x62,
        0x02,
        (released.get() >> 8) as u8,
        released.get() as u8,
    ];
    let start = WallClock::now();
    while !c.sent.contains(&pubrel) {
        assert!(start.elapsed() < PATIENCE, "no PUBREC from the broker");
        c.read_once();
    }
    // QoS 1 and QoS 2 "before PUBREC": written nowhere (the connection is dying).
    let q1 = c
        .session
        .publish(c.now(), "drop/one", b"1", QoS::AtLeastOnce, false)
        .unwrap()
        .unwrap();
    let q2 = c
        .session
        .publish(c.now(), "drop/two", b"2", QoS::ExactlyOnce, false)
        .unwrap()
        .unwrap();
    c.pump();
    c.drop_connection();
    c.hold = |_| false;
    c.sent.clear();

    let r = c.connect(&broker, broker.port(), &persistent("interop-drop"));
    assert_eq!(
        r,
        Seen::Connected {
            session_present: true
        }
    );
    c.run_until(&broker, |e| *e == Seen::Completed(q2.get()));
    assert!(c.events.contains(&Seen::Completed(released.get())));
    assert!(c.events.contains(&Seen::Acknowledged(q1.get())));
    // What went out after CONNECT: PUBREL, then both PUBLISH packets with DUP=1, in order.
    let resent: Vec<u8> = c.sent.iter().skip(1).take(3).map(|p| p[0]).collect();
    assert_eq!(resent, [0x62, 0x3A, 0x3C], "{:02x?}", c.sent);

    wait_messages(&mut watcher, &broker, 3);
    watcher
        .session
        .subscribe(watcher.now(), &[("other", QoS::AtMostOnce)])
        .unwrap();
    watcher.run_until(&broker, |e| matches!(e, Seen::Subscribed { .. }));
    let mut got = watcher.messages();
    got.sort();
    assert_eq!(
        got,
        [
            ("drop/one".to_owned(), b"1".to_vec(), QoS::AtLeastOnce),
            ("drop/rel".to_owned(), b"r".to_vec(), QoS::ExactlyOnce),
            ("drop/two".to_owned(), b"2".to_vec(), QoS::ExactlyOnce),
        ],
        "QoS 2 exactly once; QoS 1 not lost"
    );
}

#[test]
fn interop_keep_alive_pingreq_answered() {
    checks!["MQTT-3.1.2-23"];
    let broker = start_broker();
    let mut c = Client::new();
    c.connect(
        &broker,
        broker.port(),
        &ConnectOptions {
            keep_alive: 1,
            ..ConnectOptions::new("interop-ping")
        },
    );
    // Idle: the session sends PINGREQ after 1 s; Mosquitto answers, the connection stays up.
    let start = WallClock::now();
    while c.sent.iter().filter(|p| p[..] == [0xC0, 0x00]).count() < 2 {
        assert!(start.elapsed() < PATIENCE, "no PINGREQ");
        c.read_once();
    }
    assert!(broker.wait_for_log("Received PINGREQ from interop-ping", PATIENCE));
    assert!(broker.wait_for_log("Sending PINGRESP to interop-ping", PATIENCE));
    c.pump();
    assert!(c.session.is_connected(), "{:?}", c.events);
}

#[test]
fn interop_inbound_qos2_exactly_once_across_dropped_connections() {
    checks!["MQTT-4.3.3-2", "MQTT-4.4.0-1", "MQTT-4.1.0-1"];
    let broker = start_broker();
    let mut sub = Client::new();
    sub.connect(&broker, broker.port(), &persistent("interop-q2-sub"));
    sub.session
        .subscribe(sub.now(), &[("once/#", QoS::ExactlyOnce)])
        .unwrap();
    sub.run_until(&broker, |e| matches!(e, Seen::Subscribed { .. }));
    let mut publisher = Client::new();
    publisher.connect(
        &broker,
        broker.port(),
        &ConnectOptions::new("interop-q2-pub"),
    );

    // 1. The subscriber's PUBREC is lost: Mosquitto resends the PUBLISH (DUP=1) on the next
    //    connection; the client answers PUBREC and does not deliver it again.
    sub.hold = |p| p.first() == Some(&0x50);
    let id = publisher
        .session
        .publish(publisher.now(), "once/a", b"A", QoS::ExactlyOnce, false)
        .unwrap()
        .unwrap();
    publisher.run_until(&broker, |e| *e == Seen::Completed(id.get()));
    sub.run_until(&broker, |e| matches!(e, Seen::Message { .. }));
    sub.drop_connection();
    sub.hold = |_| false;
    sub.sent.clear();
    let r = sub.connect(&broker, broker.port(), &persistent("interop-q2-sub"));
    assert_eq!(
        r,
        Seen::Connected {
            session_present: true
        }
    );
    let start = WallClock::now();
    while !sub.sent.iter().any(|p| p.first() == Some(&0x70)) {
        assert!(
            start.elapsed() < PATIENCE,
            "no PUBCOMP sent: {:02x?}",
            sub.sent
        );
        sub.read_once();
    }
    assert!(
        sub.sent.iter().any(|p| p.first() == Some(&0x50)),
        "PUBREC for the resent PUBLISH"
    );
    assert!(broker.wait_for_log("Sending PUBLISH to interop-q2-sub (d1, q2", PATIENCE));

    // 2. The subscriber's PUBCOMP is lost: Mosquitto resends PUBREL; the client answers
    //    PUBCOMP, and the message still counts once.
    sub.hold = |p| p.first() == Some(&0x70);
    let id = publisher
        .session
        .publish(publisher.now(), "once/b", b"B", QoS::ExactlyOnce, false)
        .unwrap()
        .unwrap();
    publisher.run_until(&broker, |e| *e == Seen::Completed(id.get()));
    sub.sent.clear();
    let start = WallClock::now();
    while !sub.sent.iter().any(|p| p.first() == Some(&0x70)) {
        assert!(start.elapsed() < PATIENCE, "no PUBREL received");
        sub.read_once();
    }
    sub.drop_connection();
    sub.hold = |_| false;
    sub.sent.clear();
    sub.connect(&broker, broker.port(), &persistent("interop-q2-sub"));
    let start = WallClock::now();
    while !sub.sent.iter().any(|p| p.first() == Some(&0x70)) {
        assert!(
            start.elapsed() < PATIENCE,
            "no PUBCOMP for the resent PUBREL"
        );
        sub.read_once();
    }
    assert!(broker.wait_for_log("Received PUBCOMP from interop-q2-sub", PATIENCE));
    let pubrels = broker
        .log()
        .matches("Sending PUBREL to interop-q2-sub")
        .count();
    assert!(
        pubrels >= 3,
        "PUBREL for A, for B, and B's again: {pubrels}"
    );

    // A round trip, so anything still in flight would have arrived.
    sub.session
        .subscribe(sub.now(), &[("x", QoS::AtMostOnce)])
        .unwrap();
    sub.run_until(&broker, |e| matches!(e, Seen::Subscribed { .. }));
    let mut got = sub.messages();
    got.sort();
    assert_eq!(
        got,
        [
            ("once/a".to_owned(), b"A".to_vec(), QoS::ExactlyOnce),
            ("once/b".to_owned(), b"B".to_vec(), QoS::ExactlyOnce),
        ]
    );
}
