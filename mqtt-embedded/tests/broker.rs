//! The embedded clients over loopback TCP against a private Mosquitto (mqtt-std's `test-broker`
//! harness): connect, QoS 0/1/2 round trips, keep-alive, resumption with clean session off.
#![allow(clippy::unwrap_used)]

mod common;

use std::fmt::Debug;
use std::time::Duration;

use common::{
    AsyncTcp, BlockingTcp, Seen, SleepDelay, StdClock, TimerDelay, async_tcp, block_on,
    blocking_tcp,
};
use mqtt_embedded::{
    Clock, Config, ConnectOptions, Error, FixedStore, Memory, QoS, Store, SubAckReturnCode, asynch,
    blocking,
};
use mqtt_test_broker::Broker;

/// Upper bound on how long a test waits for something the broker should do at once; a test
/// that needs it has failed.
const GIVE_UP: Duration = Duration::from_secs(10);

type Store16 = FixedStore<16, 4096>;
type AsyncClient<'a> = asynch::Client<'a, AsyncTcp, Store16, StdClock, TimerDelay>;
type BlockingClient<'a> = blocking::Client<'a, BlockingTcp, Store16, StdClock, SleepDelay>;

fn start_broker() -> Broker {
    Broker::start().expect("mosquitto starts (apt-get install -y mosquitto)")
}

fn async_client(memory: &mut Memory<2048, 1024, 2048>) -> AsyncClient<'_> {
    let mut client = asynch::Client::new(
        Config::default(),
        Store16::new(),
        memory.buffers(),
        StdClock::new(),
        TimerDelay,
    );
    // Hand control back regularly so the helpers below can give up on a broken test.
    client.set_max_wait(Some(Duration::from_millis(100)));
    client
}

fn blocking_client(memory: &mut Memory<2048, 1024, 2048>) -> BlockingClient<'_> {
    let mut client = blocking::Client::new(
        Config::default(),
        Store16::new(),
        memory.buffers(),
        StdClock::new(),
        SleepDelay,
    );
    client.set_max_wait(Some(Duration::from_millis(100)));
    client.set_poll_interval(Duration::from_millis(2));
    client
}

fn options(client_id: &str, clean_session: bool) -> ConnectOptions<'_> {
    let mut o = ConnectOptions::new(client_id);
    o.clean_session = clean_session;
    o
}

/// Poll the async client until `done` holds for the events seen so far.
async fn collect_async<T, S, C, D>(
    client: &mut asynch::Client<'_, T, S, C, D>,
    mut done: impl FnMut(&[Seen]) -> bool,
) -> Vec<Seen>
where
    T: embedded_io_async::Read + embedded_io_async::Write,
    T::Error: Debug,
    S: Store,
    C: Clock,
    D: embedded_hal_async::delay::DelayNs,
{
    let start = std::time::Instant::now();
    let mut seen = Vec::new();
    while !done(&seen) {
        assert!(
            start.elapsed() < GIVE_UP,
            "gave up waiting; seen so far: {seen:?}"
        );
        if let Some(event) = client.poll().await.expect("poll") {
            seen.push(Seen::of(&event));
        }
    }
    seen
}

/// Poll the blocking client until `done` holds for the events seen so far.
fn collect_blocking<T, S, C, D>(
    client: &mut blocking::Client<'_, T, S, C, D>,
    mut done: impl FnMut(&[Seen]) -> bool,
) -> Vec<Seen>
where
    T: embedded_io::Read + embedded_io::Write + embedded_io::ReadReady,
    T::Error: Debug,
    S: Store,
    C: Clock,
    D: embedded_hal::delay::DelayNs,
{
    let start = std::time::Instant::now();
    let mut seen = Vec::new();
    while !done(&seen) {
        assert!(
            start.elapsed() < GIVE_UP,
            "gave up waiting; seen so far: {seen:?}"
        );
        if let Some(event) = client.poll().expect("poll") {
            seen.push(Seen::of(&event));
        }
    }
    seen
}

fn count(seen: &[Seen], f: impl Fn(&Seen) -> bool) -> usize {
    seen.iter().filter(|s| f(s)).count()
}

fn messages(seen: &[Seen]) -> Vec<(String, Vec<u8>, QoS)> {
    seen.iter()
        .filter_map(|s| match s {
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

#[test]
fn async_connect_subscribe_and_qos_0_1_2_round_trip() {
    let broker = start_broker();
    let mut memory = Memory::new();
    let mut client = async_client(&mut memory);
    block_on(async {
        let present = client
            .connect(async_tcp(broker.port()), &options("emb-async-rt", true))
            .await
            .expect("CONNACK accepted");
        assert!(!present, "clean session: no session present");
        assert!(client.session().is_connected());

        let sub = client
            .subscribe(&[("emb/rt/#", QoS::ExactlyOnce)])
            .expect("subscribe");
        let seen = collect_async(&mut client, |s| !s.is_empty()).await;
        assert_eq!(
            seen,
            vec![Seen::Subscribed(
                sub,
                vec![SubAckReturnCode::Success(QoS::ExactlyOnce)]
            )]
        );

        assert_eq!(
            client
                .publish("emb/rt/0", b"zero", QoS::AtMostOnce, false)
                .expect("publish QoS 0"),
            None
        );
        let id1 = client
            .publish("emb/rt/1", b"one", QoS::AtLeastOnce, false)
            .expect("publish QoS 1")
            .expect("QoS 1 has a packet id");
        let id2 = client
            .publish("emb/rt/2", b"two", QoS::ExactlyOnce, false)
            .expect("publish QoS 2")
            .expect("QoS 2 has a packet id");
        let seen = collect_async(&mut client, |s| {
            count(s, |e| matches!(e, Seen::Message { .. })) == 3
                && s.contains(&Seen::PubAck(id1))
                && s.contains(&Seen::PubComp(id2))
        })
        .await;
        let mut got = messages(&seen);
        got.sort();
        assert_eq!(
            got,
            vec![
                ("emb/rt/0".into(), b"zero".to_vec(), QoS::AtMostOnce),
                ("emb/rt/1".into(), b"one".to_vec(), QoS::AtLeastOnce),
                ("emb/rt/2".into(), b"two".to_vec(), QoS::ExactlyOnce),
            ]
        );
        assert_eq!(client.session().inflight(), 0);

        client.disconnect().await.expect("disconnect");
        let seen = collect_async(&mut client, |s| s.iter().any(Seen::is_disconnected)).await;
        assert_eq!(
            seen.last(),
            Some(&Seen::Disconnected(mqtt_embedded::DisconnectReason::Local))
        );
        assert!(matches!(client.poll().await, Err(Error::NotConnected)));
    });
    assert!(
        broker.wait_for_log("Client emb-async-rt disconnected.", GIVE_UP),
        "{}",
        broker.log()
    );
}

#[test]
fn blocking_connect_subscribe_and_qos_0_1_2_round_trip() {
    let broker = start_broker();
    let mut memory = Memory::new();
    let mut client = blocking_client(&mut memory);
    let present = client
        .connect(
            blocking_tcp(broker.port()),
            &options("emb-blocking-rt", true),
        )
        .expect("CONNACK accepted");
    assert!(!present);
    let sub = client
        .subscribe(&[("emb/brt/#", QoS::ExactlyOnce)])
        .expect("subscribe");
    let seen = collect_blocking(&mut client, |s| !s.is_empty());
    assert_eq!(
        seen,
        vec![Seen::Subscribed(
            sub,
            vec![SubAckReturnCode::Success(QoS::ExactlyOnce)]
        )]
    );
    client
        .publish("emb/brt/0", b"zero", QoS::AtMostOnce, false)
        .expect("publish QoS 0");
    let id1 = client
        .publish("emb/brt/1", b"one", QoS::AtLeastOnce, false)
        .expect("publish QoS 1")
        .expect("packet id");
    let id2 = client
        .publish("emb/brt/2", b"two", QoS::ExactlyOnce, true)
        .expect("publish QoS 2")
        .expect("packet id");
    let seen = collect_blocking(&mut client, |s| {
        count(s, |e| matches!(e, Seen::Message { .. })) == 3
            && s.contains(&Seen::PubAck(id1))
            && s.contains(&Seen::PubComp(id2))
    });
    let mut got = messages(&seen);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("emb/brt/0".into(), b"zero".to_vec(), QoS::AtMostOnce),
            ("emb/brt/1".into(), b"one".to_vec(), QoS::AtLeastOnce),
            ("emb/brt/2".into(), b"two".to_vec(), QoS::ExactlyOnce),
        ]
    );

    let unsub = client.unsubscribe(&["emb/brt/#"]).expect("unsubscribe");
    let seen = collect_blocking(&mut client, |s| s.contains(&Seen::Unsubscribed(unsub)));
    assert_eq!(seen, vec![Seen::Unsubscribed(unsub)]);
    client.disconnect().expect("disconnect");
    let seen = collect_blocking(&mut client, |s| s.iter().any(Seen::is_disconnected));
    assert_eq!(
        seen,
        vec![Seen::Disconnected(mqtt_embedded::DisconnectReason::Local)]
    );
    assert!(matches!(client.poll(), Err(Error::NotConnected)));
}

#[test]
fn refused_connection_reports_the_return_code() {
    let broker = start_broker();
    let mut memory = Memory::new();
    let mut client = blocking_client(&mut memory);
    let mut o = options("emb-refused", true);
    o.username = Some(Broker::USERNAME);
    o.password = Some(b"wrong password");
    let result = client.connect(blocking_tcp(broker.auth_port()), &o);
    assert!(
        matches!(result, Err(Error::Refused(code)) if code != mqtt_embedded::ConnectReturnCode::Accepted),
        "{result:?}"
    );
    // The attempt is over and nothing of it is left to poll: the right password connects.
    o.password = Some(Broker::PASSWORD.as_bytes());
    let present = client
        .connect(blocking_tcp(broker.auth_port()), &o)
        .expect("accepted with the right password");
    assert!(!present);
}

/// Keep alive 1 s and no application traffic for 3 s, twice Mosquitto's limit of 1.5 × keep
/// alive: the client's PINGREQs keep the connection up.
#[test]
fn keep_alive_pings_keep_an_idle_connection_up() {
    let broker = start_broker();
    let mut memory = Memory::new();
    let mut client = async_client(&mut memory);
    block_on(async {
        let mut o = options("emb-keepalive", true);
        o.keep_alive = 1;
        client
            .connect(async_tcp(broker.port()), &o)
            .await
            .expect("connect");
        let idle = std::time::Instant::now();
        let mut seen = Vec::new();
        while idle.elapsed() < Duration::from_secs(3) {
            if let Some(event) = client.poll().await.expect("poll while idle") {
                seen.push(Seen::of(&event));
            }
        }
        assert!(seen.is_empty(), "no event while idle: {seen:?}");
        assert!(client.session().is_connected());
        // Still alive end to end.
        let id = client
            .publish("emb/ka", b"alive", QoS::AtLeastOnce, false)
            .expect("publish")
            .expect("packet id");
        let seen = collect_async(&mut client, |s| !s.is_empty()).await;
        assert_eq!(seen, vec![Seen::PubAck(id)]);
    });
    let log = broker.log();
    assert!(
        log.matches("Received PINGREQ from emb-keepalive").count() >= 2,
        "{log}"
    );
    assert!(log.contains("Sending PINGRESP to emb-keepalive"), "{log}");
    assert!(!log.contains("emb-keepalive has exceeded timeout"), "{log}");
}

/// Clean session off: a QoS 1 message published while the client was away arrives after it
/// reconnects, and the broker reports the session present.
#[test]
fn resume_delivers_a_qos_1_message_published_while_away() {
    let broker = start_broker();
    let mut memory = Memory::new();
    let mut client = async_client(&mut memory);
    let mut other_memory = Memory::new();
    let mut other = async_client(&mut other_memory);
    block_on(async {
        let present = client
            .connect(async_tcp(broker.port()), &options("emb-resume-sub", false))
            .await
            .expect("first connect");
        assert!(!present, "a new client id has no session yet");
        let sub = client
            .subscribe(&[("emb/away", QoS::AtLeastOnce)])
            .expect("subscribe");
        collect_async(&mut client, |s| {
            s.iter()
                .any(|e| matches!(e, Seen::Subscribed(id, _) if *id == sub))
        })
        .await;
        // The connection drops (no DISCONNECT).
        drop(client.take_transport());
        let seen = collect_async(&mut client, |s| s.iter().any(Seen::is_disconnected)).await;
        assert_eq!(
            seen,
            vec![Seen::Disconnected(
                mqtt_embedded::DisconnectReason::TransportClosed
            )]
        );
        assert!(matches!(client.poll().await, Err(Error::NotConnected)));
        assert!(
            broker.wait_for_log("Client emb-resume-sub closed its connection", GIVE_UP)
                || broker.wait_for_log("emb-resume-sub disconnected", GIVE_UP),
            "{}",
            broker.log()
        );

        other
            .connect(async_tcp(broker.port()), &options("emb-resume-pub", true))
            .await
            .expect("publisher connects");
        let id = other
            .publish("emb/away", b"while you were out", QoS::AtLeastOnce, false)
            .expect("publish")
            .expect("packet id");
        collect_async(&mut other, |s| s.contains(&Seen::PubAck(id))).await;

        let present = client
            .connect(async_tcp(broker.port()), &options("emb-resume-sub", false))
            .await
            .expect("reconnect");
        assert!(present, "the broker kept the session");
        let seen = collect_async(&mut client, |s| {
            s.iter().any(|e| matches!(e, Seen::Message { .. }))
        })
        .await;
        assert_eq!(
            messages(&seen),
            vec![(
                "emb/away".into(),
                b"while you were out".to_vec(),
                QoS::AtLeastOnce
            )]
        );
    });
}

/// Clean session off: a QoS 1 PUBLISH whose PUBACK never reached the client is sent again,
/// with DUP set, on the next connection, and acknowledged there.
#[test]
fn resume_resends_an_unacknowledged_qos_1_publish() {
    let broker = start_broker();
    let mut memory = Memory::new();
    let mut client = async_client(&mut memory);
    let mut sub_memory = Memory::new();
    let mut subscriber = async_client(&mut sub_memory);
    block_on(async {
        subscriber
            .connect(async_tcp(broker.port()), &options("emb-resend-sub", true))
            .await
            .expect("subscriber connects");
        let sub = subscriber
            .subscribe(&[("emb/resend", QoS::AtLeastOnce)])
            .expect("subscribe");
        collect_async(&mut subscriber, |s| {
            s.iter()
                .any(|e| matches!(e, Seen::Subscribed(id, _) if *id == sub))
        })
        .await;

        client
            .connect(async_tcp(broker.port()), &options("emb-resend", false))
            .await
            .expect("connect");
        let id = client
            .publish("emb/resend", b"again", QoS::AtLeastOnce, false)
            .expect("publish")
            .expect("packet id");
        client.flush().await.expect("PUBLISH written");
        // The connection drops before the PUBACK is read.
        drop(client.take_transport());
        let seen = collect_async(&mut client, |s| s.iter().any(Seen::is_disconnected)).await;
        assert!(!seen.contains(&Seen::PubAck(id)), "{seen:?}");
        assert_eq!(client.session().inflight(), 1, "still in flight");
        assert_eq!(client.session().store().outgoing_len(), 1);
        assert!(matches!(client.poll().await, Err(Error::NotConnected)));

        let present = client
            .connect(async_tcp(broker.port()), &options("emb-resend", false))
            .await
            .expect("reconnect");
        assert!(present);
        let seen = collect_async(&mut client, |s| s.contains(&Seen::PubAck(id))).await;
        assert_eq!(seen, vec![Seen::PubAck(id)]);
        assert_eq!(client.session().inflight(), 0);

        let seen = collect_async(&mut subscriber, |s| {
            s.iter().any(|e| matches!(e, Seen::Message { .. }))
        })
        .await;
        assert_eq!(
            messages(&seen)[0],
            ("emb/resend".into(), b"again".to_vec(), QoS::AtLeastOnce)
        );
    });
    let line = "Received PUBLISH from emb-resend (d1, q1";
    assert!(broker.wait_for_log(line, GIVE_UP), "{}", broker.log());
}

/// TLS is whatever `Read + Write` the caller passes: here `embedded-tls` (TLS 1.3, no_std, no
/// allocator) over the TCP socket, against the broker's TLS listener.
#[test]
fn async_client_over_embedded_tls() {
    use embedded_tls::{Aes128GcmSha256, TlsConfig, TlsConnection, TlsContext, UnsecureProvider};

    let broker = start_broker();
    let mut record_read = vec![0u8; 16_640];
    let mut record_write = vec![0u8; 16_640];
    let mut memory = Memory::<2048, 1024, 2048>::new();
    block_on(async {
        let tcp = async_tcp(broker.tls_port());
        let mut tls: TlsConnection<'_, _, Aes128GcmSha256> =
            TlsConnection::new(tcp, &mut record_read, &mut record_write);
        let config = TlsConfig::new().with_server_name("localhost");
        // Certificate checking is the TLS stack's business (embedded-tls's `rustpki` or
        // `webpki` features); this test is about carrying MQTT over the TLS connection.
        let provider = UnsecureProvider::new::<Aes128GcmSha256>(rand_core::OsRng);
        tls.open(TlsContext::new(&config, provider))
            .await
            .expect("TLS 1.3 handshake with Mosquitto");

        let mut client = asynch::Client::new(
            Config::default(),
            Store16::new(),
            memory.buffers(),
            StdClock::new(),
            TimerDelay,
        );
        client.set_max_wait(Some(Duration::from_millis(100)));
        client
            .connect(tls, &options("emb-tls", true))
            .await
            .expect("CONNACK over TLS");
        let sub = client
            .subscribe(&[("emb/tls", QoS::AtLeastOnce)])
            .expect("subscribe");
        collect_async(&mut client, |s| {
            s.iter()
                .any(|e| matches!(e, Seen::Subscribed(id, _) if *id == sub))
        })
        .await;
        let id = client
            .publish("emb/tls", b"over TLS 1.3", QoS::AtLeastOnce, false)
            .expect("publish")
            .expect("packet id");
        let seen = collect_async(&mut client, |s| {
            s.contains(&Seen::PubAck(id)) && s.iter().any(|e| matches!(e, Seen::Message { .. }))
        })
        .await;
        assert_eq!(
            messages(&seen),
            vec![("emb/tls".into(), b"over TLS 1.3".to_vec(), QoS::AtLeastOnce)]
        );
        client.disconnect().await.expect("disconnect");
    });
    assert!(
        broker.wait_for_log("Client emb-tls disconnected.", GIVE_UP),
        "{}",
        broker.log()
    );
}

/// The blocking client across a dropped connection: clean session off, an unacknowledged QoS 2
/// PUBLISH is completed on the next connection, and a QoS 1 message published meanwhile by
/// another client arrives.
#[test]
fn blocking_resume_completes_qos_2_and_receives_what_was_missed() {
    let broker = start_broker();
    let mut memory = Memory::new();
    let mut client = blocking_client(&mut memory);
    let mut other_memory = Memory::new();
    let mut other = blocking_client(&mut other_memory);

    assert!(
        !client
            .connect(blocking_tcp(broker.port()), &options("emb-bresume", false))
            .expect("connect")
    );
    let sub = client
        .subscribe(&[("emb/bresume/in", QoS::AtLeastOnce)])
        .expect("subscribe");
    collect_blocking(&mut client, |s| {
        s.iter()
            .any(|e| matches!(e, Seen::Subscribed(id, _) if *id == sub))
    });
    let id = client
        .publish("emb/bresume/out", b"exactly once", QoS::ExactlyOnce, false)
        .expect("publish")
        .expect("packet id");
    client.flush().expect("PUBLISH written");
    drop(client.take_transport());
    let seen = collect_blocking(&mut client, |s| s.iter().any(Seen::is_disconnected));
    assert!(!seen.contains(&Seen::PubComp(id)), "{seen:?}");
    assert_eq!(client.session().inflight(), 1);
    assert!(matches!(client.poll(), Err(Error::NotConnected)));

    other
        .connect(
            blocking_tcp(broker.port()),
            &options("emb-bresume-pub", true),
        )
        .expect("publisher connects");
    let id1 = other
        .publish("emb/bresume/in", b"missed", QoS::AtLeastOnce, false)
        .expect("publish")
        .expect("packet id");
    collect_blocking(&mut other, |s| s.contains(&Seen::PubAck(id1)));

    assert!(
        client
            .connect(blocking_tcp(broker.port()), &options("emb-bresume", false))
            .expect("reconnect"),
        "session present"
    );
    let seen = collect_blocking(&mut client, |s| {
        s.contains(&Seen::PubComp(id)) && s.iter().any(|e| matches!(e, Seen::Message { .. }))
    });
    assert_eq!(
        messages(&seen),
        vec![(
            "emb/bresume/in".into(),
            b"missed".to_vec(),
            QoS::AtLeastOnce
        )]
    );
    assert_eq!(client.session().inflight(), 0);
}
