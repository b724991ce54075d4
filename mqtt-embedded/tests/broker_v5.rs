//! Both embedded clients at MQTT 5.0 over loopback TCP against a private Mosquitto (mqtt-std's
//! `test-broker` harness): CONNECT properties (Session Expiry Interval), PUBLISH properties at
//! QoS 0/1/2 received back, No Local, a PUBLISH too large for the output buffer refused up
//! front, `disconnect_with` (reason code 0x04, Session Expiry Interval 0), and a refusal with its
//! 5.0 reason code.
#![cfg(feature = "v5")]
#![allow(clippy::unwrap_used)]

mod common;

use std::fmt::Debug;
use std::time::Duration;

use common::{
    AsyncTcp, BlockingTcp, SleepDelay, StdClock, TimerDelay, async_tcp, block_on, blocking_tcp,
};
use mqtt_embedded::{
    Buffers, Clock, CommandError, Config, ConnectOptionsV5, ConnectReasonCode, DisconnectOptions,
    DisconnectReason, DisconnectReasonCode, Error, Event, FixedStore, LastWill, Memory, PacketId,
    Properties, Property, QoS, Store, SubscriptionOptions, asynch, blocking,
};
use mqtt_test_broker::Broker;

/// Upper bound on how long a test waits for something the broker should do at once; a test
/// that needs it has failed.
const GIVE_UP: Duration = Duration::from_secs(10);

type Store16 = FixedStore<16, 4096>;
type AsyncClient<'a> = asynch::Client<'a, AsyncTcp, Store16, StdClock, TimerDelay>;
type BlockingClient<'a> = blocking::Client<'a, BlockingTcp, Store16, StdClock, SleepDelay>;
type Mem = Memory<2048, 1024, 2048>;

fn start_broker() -> Broker {
    Broker::start().expect("mosquitto starts (apt-get install -y mosquitto)")
}

fn async_client(buffers: Buffers<'_>) -> AsyncClient<'_> {
    let mut client = asynch::Client::new(
        Config::default(),
        Store16::new(),
        buffers,
        StdClock::new(),
        TimerDelay,
    );
    // Hand control back regularly so the helpers below can give up on a broken test.
    client.set_max_wait(Some(Duration::from_millis(100)));
    client
}

fn blocking_client(buffers: Buffers<'_>) -> BlockingClient<'_> {
    let mut client = blocking::Client::new(
        Config::default(),
        Store16::new(),
        buffers,
        StdClock::new(),
        SleepDelay,
    );
    client.set_max_wait(Some(Duration::from_millis(100)));
    client.set_poll_interval(Duration::from_millis(2));
    client
}

/// 5.0 options: this client id and Clean Start, keep alive 30, these CONNECT properties.
fn options<'a>(
    client_id: &'a str,
    clean_start: bool,
    properties: &'a [Property<'a>],
) -> ConnectOptionsV5<'a> {
    let mut o = ConnectOptionsV5::new(client_id);
    o.options.clean_session = clean_start;
    o.options.keep_alive = 30;
    o.properties = Properties::new(properties);
    o
}

/// An owned copy of a 5.0 event, for assertions after the borrow ends.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Message {
        topic: String,
        payload: Vec<u8>,
        qos: QoS,
        content_type: Option<String>,
        user: Vec<(String, String)>,
    },
    PubAck(PacketId),
    PubComp(PacketId),
    /// SUBACK: the packet identifier and one 5.0 reason code per filter.
    Subscribed(PacketId, Vec<u8>),
    Disconnected(DisconnectReason),
    Other(String),
}

impl Seen {
    fn of(event: &Event<'_>) -> Seen {
        match *event {
            Event::Message(m) => Seen::Message {
                topic: m.topic.to_owned(),
                payload: m.payload.to_vec(),
                qos: m.qos,
                content_type: m.properties.content_type().map(str::to_owned),
                user: m
                    .properties
                    .user_properties()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
            },
            Event::PublishAcknowledged { packet_id } => Seen::PubAck(packet_id),
            Event::PublishCompleted { packet_id } => Seen::PubComp(packet_id),
            Event::Subscribed { packet_id, results } => {
                Seen::Subscribed(packet_id, results.as_bytes().to_vec())
            }
            Event::Disconnected { reason } => Seen::Disconnected(reason),
            ref other => Seen::Other(format!("{other:?}")),
        }
    }

    fn is_disconnected(&self) -> bool {
        matches!(self, Seen::Disconnected(_))
    }

    fn is_message(&self) -> bool {
        matches!(self, Seen::Message { .. })
    }
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

/// The messages among `seen`, sorted by topic.
fn messages(seen: &[Seen]) -> Vec<Seen> {
    let mut m: Vec<Seen> = seen.iter().filter(|s| s.is_message()).cloned().collect();
    m.sort_by_key(|s| match s {
        Seen::Message { topic, .. } => topic.clone(),
        _ => String::new(),
    });
    m
}

fn subscribed(id: PacketId) -> impl FnMut(&[Seen]) -> bool {
    move |s| {
        s.iter()
            .any(|e| matches!(e, Seen::Subscribed(got, _) if *got == id))
    }
}

/// What the round-trip tests publish at QoS `q` and expect back.
fn round_trip_message(prefix: &str, q: u8) -> Seen {
    Seen::Message {
        topic: format!("{prefix}/{q}"),
        payload: format!("payload {q}").into_bytes(),
        qos: QoS::from_u8(q).unwrap(),
        content_type: Some("text/plain".into()),
        user: vec![("k".into(), format!("v{q}")), ("k".into(), "again".into())],
    }
}

const QOS: [QoS; 3] = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce];

/// The async client at 5.0: CONNECT with a Session Expiry Interval, PUBLISH properties (Content
/// Type, User Properties, one name twice) at QoS 0/1/2 received back with the message; the
/// session outlives a normal DISCONNECT (session present, a message published meanwhile
/// arrives) and ends with `disconnect_with` and a Session Expiry Interval of 0.
#[test]
fn async_v5_properties_round_trip_and_session_expiry() {
    let broker = start_broker();
    let mut memory = Mem::new();
    let mut client = async_client(memory.buffers());
    let mut other_memory = Mem::new();
    let mut other = async_client(other_memory.buffers());
    let expiry = [Property::SessionExpiryInterval(300)];
    block_on(async {
        let present = client
            .connect(
                async_tcp(broker.port()),
                &options("emb5-async", true, &expiry),
            )
            .await
            .expect("CONNACK accepted");
        assert!(!present);
        let limits = client.session().server_limits().expect("a 5.0 connection");
        assert_eq!(limits.session_expiry_interval, 300);

        let sub = client
            .subscribe_with(
                &[("emb5/art/#", SubscriptionOptions::new(QoS::ExactlyOnce))],
                &Properties::EMPTY,
            )
            .expect("subscribe_with");
        let seen = collect_async(&mut client, subscribed(sub)).await;
        assert!(
            seen.contains(&Seen::Subscribed(sub, vec![0x02])),
            "{seen:?}"
        );

        let mut ids = Vec::new();
        for (q, qos) in QOS.into_iter().enumerate() {
            let user = format!("v{q}");
            let props = [
                Property::ContentType("text/plain"),
                Property::UserProperty("k", &user),
                Property::UserProperty("k", "again"),
            ];
            let topic = format!("emb5/art/{q}");
            let payload = format!("payload {q}");
            let id = client
                .publish_with(
                    &topic,
                    payload.as_bytes(),
                    qos,
                    false,
                    &Properties::new(&props),
                )
                .expect("publish_with");
            assert_eq!(id.is_some(), qos != QoS::AtMostOnce);
            ids.extend(id);
        }
        let seen = collect_async(&mut client, |s| {
            s.iter().filter(|e| e.is_message()).count() == 3
                && s.contains(&Seen::PubAck(ids[0]))
                && s.contains(&Seen::PubComp(ids[1]))
        })
        .await;
        assert_eq!(
            messages(&seen),
            (0..3)
                .map(|q| round_trip_message("emb5/art", q))
                .collect::<Vec<_>>()
        );

        // A normal DISCONNECT: the session lasts its 300 s.
        client.disconnect().await.expect("disconnect");
        collect_async(&mut client, |s| s.iter().any(Seen::is_disconnected)).await;
        drop(client.take_transport());
        other
            .connect(
                async_tcp(broker.port()),
                &options("emb5-async-pub", true, &[]),
            )
            .await
            .expect("publisher connects");
        let id = other
            .publish("emb5/art/away", b"while away", QoS::AtLeastOnce, false)
            .expect("publish")
            .expect("packet id");
        collect_async(&mut other, |s| s.contains(&Seen::PubAck(id))).await;

        let present = client
            .connect(
                async_tcp(broker.port()),
                &options("emb5-async", false, &expiry),
            )
            .await
            .expect("reconnect");
        assert!(present, "the Session Expiry Interval kept the session");
        let seen = collect_async(&mut client, |s| s.iter().any(Seen::is_message)).await;
        assert_eq!(
            messages(&seen),
            vec![Seen::Message {
                topic: "emb5/art/away".into(),
                payload: b"while away".to_vec(),
                qos: QoS::AtLeastOnce,
                content_type: None,
                user: vec![],
            }]
        );

        // DISCONNECT with Session Expiry Interval 0: the session ends with the connection.
        let zero = [Property::SessionExpiryInterval(0)];
        let mut goodbye = DisconnectOptions::new(DisconnectReasonCode::NormalDisconnection);
        goodbye.properties = Properties::new(&zero);
        client
            .disconnect_with(&goodbye)
            .await
            .expect("disconnect_with");
        let seen = collect_async(&mut client, |s| s.iter().any(Seen::is_disconnected)).await;
        assert_eq!(
            seen.last(),
            Some(&Seen::Disconnected(DisconnectReason::Local))
        );
        assert!(matches!(client.poll().await, Err(Error::NotConnected)));
        drop(client.take_transport());
        let present = client
            .connect(
                async_tcp(broker.port()),
                &options("emb5-async", false, &expiry),
            )
            .await
            .expect("reconnect");
        assert!(!present, "the session ended with Session Expiry Interval 0");
    });
}

/// The blocking client at 5.0: the same round trip at QoS 0/1/2, and the session outliving the
/// connection until `disconnect_with` sets its Session Expiry Interval to 0.
#[test]
fn blocking_v5_properties_round_trip_and_session_expiry() {
    let broker = start_broker();
    let mut memory = Mem::new();
    let mut client = blocking_client(memory.buffers());
    let expiry = [Property::SessionExpiryInterval(300)];
    let present = client
        .connect(
            blocking_tcp(broker.port()),
            &options("emb5-blocking", true, &expiry),
        )
        .expect("CONNACK accepted");
    assert!(!present);
    let sub = client
        .subscribe_with(
            &[("emb5/brt/#", SubscriptionOptions::new(QoS::ExactlyOnce))],
            &Properties::EMPTY,
        )
        .expect("subscribe_with");
    let seen = collect_blocking(&mut client, subscribed(sub));
    assert!(
        seen.contains(&Seen::Subscribed(sub, vec![0x02])),
        "{seen:?}"
    );
    let mut ids = Vec::new();
    for (q, qos) in QOS.into_iter().enumerate() {
        let user = format!("v{q}");
        let props = [
            Property::ContentType("text/plain"),
            Property::UserProperty("k", &user),
            Property::UserProperty("k", "again"),
        ];
        let topic = format!("emb5/brt/{q}");
        let payload = format!("payload {q}");
        ids.extend(
            client
                .publish_with(
                    &topic,
                    payload.as_bytes(),
                    qos,
                    false,
                    &Properties::new(&props),
                )
                .expect("publish_with"),
        );
    }
    let seen = collect_blocking(&mut client, |s| {
        s.iter().filter(|e| e.is_message()).count() == 3
            && s.contains(&Seen::PubAck(ids[0]))
            && s.contains(&Seen::PubComp(ids[1]))
    });
    assert_eq!(
        messages(&seen),
        (0..3)
            .map(|q| round_trip_message("emb5/brt", q))
            .collect::<Vec<_>>()
    );

    // The transport drops: the session lasts its 300 s.
    drop(client.take_transport());
    collect_blocking(&mut client, |s| s.iter().any(Seen::is_disconnected));
    let present = client
        .connect(
            blocking_tcp(broker.port()),
            &options("emb5-blocking", false, &expiry),
        )
        .expect("reconnect");
    assert!(present, "the Session Expiry Interval kept the session");

    let zero = [Property::SessionExpiryInterval(0)];
    let mut goodbye = DisconnectOptions::new(DisconnectReasonCode::NormalDisconnection);
    goodbye.properties = Properties::new(&zero);
    client.disconnect_with(&goodbye).expect("disconnect_with");
    let seen = collect_blocking(&mut client, |s| s.iter().any(Seen::is_disconnected));
    assert_eq!(
        seen.last(),
        Some(&Seen::Disconnected(DisconnectReason::Local))
    );
    drop(client.take_transport());
    let present = client
        .connect(
            blocking_tcp(broker.port()),
            &options("emb5-blocking", false, &expiry),
        )
        .expect("reconnect");
    assert!(!present, "the session ended with Session Expiry Interval 0");
}

/// No Local [MQTT-3.8.3-3]: the broker does not send a client its own messages on that
/// subscription. The own message is acknowledged first; the marker another client publishes
/// after it arrives, and nothing came before it.
#[test]
fn async_v5_no_local_own_message_not_received() {
    let broker = start_broker();
    let mut memory = Mem::new();
    let mut client = async_client(memory.buffers());
    let mut other_memory = Mem::new();
    let mut other = async_client(other_memory.buffers());
    block_on(async {
        client
            .connect(async_tcp(broker.port()), &options("emb5-anl", true, &[]))
            .await
            .expect("connect");
        other
            .connect(
                async_tcp(broker.port()),
                &options("emb5-anl-pub", true, &[]),
            )
            .await
            .expect("connect");
        let mut no_local = SubscriptionOptions::new(QoS::AtLeastOnce);
        no_local.no_local = true;
        let sub = client
            .subscribe_with(&[("emb5/anl/#", no_local)], &Properties::EMPTY)
            .expect("subscribe_with");
        collect_async(&mut client, subscribed(sub)).await;
        let id = client
            .publish("emb5/anl/t", b"mine", QoS::AtLeastOnce, false)
            .expect("publish")
            .expect("packet id");
        let seen = collect_async(&mut client, |s| s.contains(&Seen::PubAck(id))).await;
        assert!(!seen.iter().any(Seen::is_message), "{seen:?}");
        let marker = other
            .publish("emb5/anl/t", b"marker", QoS::AtLeastOnce, false)
            .expect("publish")
            .expect("packet id");
        collect_async(&mut other, |s| s.contains(&Seen::PubAck(marker))).await;
        let seen = collect_async(&mut client, |s| s.iter().any(Seen::is_message)).await;
        let got: Vec<_> = seen
            .iter()
            .filter_map(|s| match s {
                Seen::Message { payload, .. } => Some(payload.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(got, vec![b"marker".to_vec()]);
    });
}

#[test]
fn blocking_v5_no_local_own_message_not_received() {
    let broker = start_broker();
    let mut memory = Mem::new();
    let mut client = blocking_client(memory.buffers());
    let mut other_memory = Mem::new();
    let mut other = blocking_client(other_memory.buffers());
    client
        .connect(blocking_tcp(broker.port()), &options("emb5-bnl", true, &[]))
        .expect("connect");
    other
        .connect(
            blocking_tcp(broker.port()),
            &options("emb5-bnl-pub", true, &[]),
        )
        .expect("connect");
    let mut no_local = SubscriptionOptions::new(QoS::ExactlyOnce);
    no_local.no_local = true;
    let sub = client
        .subscribe_with(&[("emb5/bnl/#", no_local)], &Properties::EMPTY)
        .expect("subscribe_with");
    collect_blocking(&mut client, subscribed(sub));
    let id = client
        .publish("emb5/bnl/t", b"mine", QoS::ExactlyOnce, false)
        .expect("publish")
        .expect("packet id");
    let seen = collect_blocking(&mut client, |s| s.contains(&Seen::PubComp(id)));
    assert!(!seen.iter().any(Seen::is_message), "{seen:?}");
    let marker = other
        .publish("emb5/bnl/t", b"marker", QoS::ExactlyOnce, false)
        .expect("publish")
        .expect("packet id");
    collect_blocking(&mut other, |s| s.contains(&Seen::PubComp(marker)));
    let seen = collect_blocking(&mut client, |s| s.iter().any(Seen::is_message));
    let got: Vec<_> = seen
        .iter()
        .filter_map(|s| match s {
            Seen::Message { payload, .. } => Some(payload.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(got, vec![b"marker".to_vec()]);
}

/// Output buffer 256 bytes, transmit buffer 1024: a PUBLISH of 257 bytes with its properties
/// (which the session alone would take) is refused up front; one of exactly 256 goes out and
/// comes back, and the connection carries on.
///
/// QoS 1 on "emb5/big" (10 bytes of topic) with a User Property ("k", "v") (7 bytes) and `n`
/// bytes of payload: 1 + 2 (Remaining Length) + 10 + 2 + 1 + 7 + n.
#[test]
fn async_v5_publish_too_large_for_the_output_buffer_is_refused_up_front() {
    let broker = start_broker();
    let mut memory = Memory::<2048, 1024, 256>::new();
    let mut client = async_client(memory.buffers());
    let props = [Property::UserProperty("k", "v")];
    let props = Properties::new(&props);
    block_on(async {
        client
            .connect(async_tcp(broker.port()), &options("emb5-abig", true, &[]))
            .await
            .expect("connect");
        let sub = client
            .subscribe(&[("emb5/big", QoS::AtLeastOnce)])
            .expect("subscribe");
        collect_async(&mut client, subscribed(sub)).await;
        assert_eq!(
            client.publish_with("emb5/big", &[b'x'; 234], QoS::AtLeastOnce, false, &props),
            Err(CommandError::PacketTooLarge { required: 257 })
        );
        assert_eq!(client.session().store().outgoing_len(), 0);
        let id = client
            .publish_with("emb5/big", &[b'x'; 233], QoS::AtLeastOnce, false, &props)
            .expect("256 bytes fit")
            .expect("packet id");
        let seen = collect_async(&mut client, |s| {
            s.contains(&Seen::PubAck(id)) && s.iter().any(Seen::is_message)
        })
        .await;
        let got = messages(&seen);
        assert!(
            matches!(&got[..], [Seen::Message { payload, user, .. }]
                if payload.len() == 233 && user == &[("k".to_owned(), "v".to_owned())]),
            "{got:?}"
        );
        assert!(client.session().is_connected());
        client.disconnect().await.expect("disconnect");
    });
}

#[test]
fn blocking_v5_publish_too_large_for_the_output_buffer_is_refused_up_front() {
    let broker = start_broker();
    let mut memory = Memory::<2048, 1024, 256>::new();
    let mut client = blocking_client(memory.buffers());
    let props = [Property::UserProperty("k", "v")];
    let props = Properties::new(&props);
    client
        .connect(
            blocking_tcp(broker.port()),
            &options("emb5-bbig", true, &[]),
        )
        .expect("connect");
    let sub = client
        .subscribe(&[("emb5/big", QoS::AtLeastOnce)])
        .expect("subscribe");
    collect_blocking(&mut client, subscribed(sub));
    assert_eq!(
        client.publish_with("emb5/big", &[b'x'; 234], QoS::AtLeastOnce, false, &props),
        Err(CommandError::PacketTooLarge { required: 257 })
    );
    // QoS 0 without properties at 5.0: 1 + 2 + 10 + 1 + n, one byte more than at 3.1.1.
    assert_eq!(
        client.publish("emb5/big", &[b'x'; 243], QoS::AtMostOnce, false),
        Err(CommandError::PacketTooLarge { required: 257 })
    );
    client
        .publish("emb5/big", &[b'y'; 242], QoS::AtMostOnce, false)
        .expect("256 bytes fit");
    let id = client
        .publish_with("emb5/big", &[b'x'; 233], QoS::AtLeastOnce, false, &props)
        .expect("256 bytes fit")
        .expect("packet id");
    let seen = collect_blocking(&mut client, |s| {
        s.contains(&Seen::PubAck(id)) && s.iter().filter(|e| e.is_message()).count() == 2
    });
    let mut sizes: Vec<_> = seen
        .iter()
        .filter_map(|s| match s {
            Seen::Message { payload, .. } => Some(payload.len()),
            _ => None,
        })
        .collect();
    sizes.sort();
    assert_eq!(sizes, [233, 242]);
    assert!(client.session().is_connected());
}

/// 5.0 options with a will on "emb5/will/gone".
fn will_options<'a>(client_id: &'a str, expiry: &'a [Property<'a>]) -> ConnectOptionsV5<'a> {
    let mut o = options(client_id, true, expiry);
    o.options.will = Some(LastWill {
        topic: "emb5/will/gone",
        payload: b"gone",
        qos: QoS::AtLeastOnce,
        retain: false,
    });
    o
}

fn will_message() -> Seen {
    Seen::Message {
        topic: "emb5/will/gone".into(),
        payload: b"gone".to_vec(),
        qos: QoS::AtLeastOnce,
        content_type: None,
        user: vec![],
    }
}

/// `disconnect_with` 0x04 Disconnect with Will Message: the broker publishes the will (a
/// watcher receives it), and the Session Expiry Interval 0 in the same DISCONNECT ends the
/// session (the next connection finds none). A plain `disconnect` (0x00) publishes no will.
#[test]
fn async_v5_disconnect_with_will_reason_code_and_session_expiry_0() {
    let broker = start_broker();
    let mut memory = Mem::new();
    let mut client = async_client(memory.buffers());
    let mut watcher_memory = Mem::new();
    let mut watcher = async_client(watcher_memory.buffers());
    let expiry = [Property::SessionExpiryInterval(300)];
    let zero = [Property::SessionExpiryInterval(0)];
    block_on(async {
        watcher
            .connect(async_tcp(broker.port()), &options("emb5-awatch", true, &[]))
            .await
            .expect("watcher connects");
        let sub = watcher
            .subscribe(&[("emb5/will/#", QoS::AtLeastOnce)])
            .expect("subscribe");
        collect_async(&mut watcher, subscribed(sub)).await;

        client
            .connect(
                async_tcp(broker.port()),
                &will_options("emb5-awill", &expiry),
            )
            .await
            .expect("connect");
        let mut goodbye = DisconnectOptions::new(DisconnectReasonCode::DisconnectWithWillMessage);
        goodbye.properties = Properties::new(&zero);
        client
            .disconnect_with(&goodbye)
            .await
            .expect("disconnect_with");
        let seen = collect_async(&mut client, |s| s.iter().any(Seen::is_disconnected)).await;
        assert_eq!(
            seen.last(),
            Some(&Seen::Disconnected(DisconnectReason::Local))
        );
        drop(client.take_transport());
        let seen = collect_async(&mut watcher, |s| s.iter().any(Seen::is_message)).await;
        assert_eq!(messages(&seen), vec![will_message()]);

        let mut again = will_options("emb5-awill", &expiry);
        again.options.clean_session = false;
        let present = client
            .connect(async_tcp(broker.port()), &again)
            .await
            .expect("reconnect");
        assert!(!present, "Session Expiry Interval 0 ended the session");
        // A normal disconnection: no will this time.
        client.disconnect().await.expect("disconnect");
        let marker = publish_marker(&mut watcher);
        let seen = collect_async(&mut watcher, |s| s.iter().any(Seen::is_message)).await;
        assert_eq!(messages(&seen), vec![marker]);
    });
    assert!(
        broker.wait_for_log("Received DISCONNECT from emb5-awill", GIVE_UP),
        "{}",
        broker.log()
    );
}

/// The watcher publishes a marker to itself: a will published before it arrives before it.
fn publish_marker(watcher: &mut AsyncClient<'_>) -> Seen {
    watcher
        .publish("emb5/will/marker", b"marker", QoS::AtLeastOnce, false)
        .expect("publish");
    Seen::Message {
        topic: "emb5/will/marker".into(),
        payload: b"marker".to_vec(),
        qos: QoS::AtLeastOnce,
        content_type: None,
        user: vec![],
    }
}

#[test]
fn blocking_v5_disconnect_with_will_reason_code_and_session_expiry_0() {
    let broker = start_broker();
    let mut memory = Mem::new();
    let mut client = blocking_client(memory.buffers());
    let mut watcher_memory = Mem::new();
    let mut watcher = blocking_client(watcher_memory.buffers());
    let expiry = [Property::SessionExpiryInterval(300)];
    let zero = [Property::SessionExpiryInterval(0)];
    watcher
        .connect(
            blocking_tcp(broker.port()),
            &options("emb5-bwatch", true, &[]),
        )
        .expect("watcher connects");
    let sub = watcher
        .subscribe(&[("emb5/will/#", QoS::AtLeastOnce)])
        .expect("subscribe");
    collect_blocking(&mut watcher, subscribed(sub));
    client
        .connect(
            blocking_tcp(broker.port()),
            &will_options("emb5-bwill", &expiry),
        )
        .expect("connect");
    let mut goodbye = DisconnectOptions::new(DisconnectReasonCode::DisconnectWithWillMessage);
    goodbye.properties = Properties::new(&zero);
    client.disconnect_with(&goodbye).expect("disconnect_with");
    let seen = collect_blocking(&mut client, |s| s.iter().any(Seen::is_disconnected));
    assert_eq!(
        seen.last(),
        Some(&Seen::Disconnected(DisconnectReason::Local))
    );
    drop(client.take_transport());
    let seen = collect_blocking(&mut watcher, |s| s.iter().any(Seen::is_message));
    assert_eq!(messages(&seen), vec![will_message()]);
    let mut again = will_options("emb5-bwill", &expiry);
    again.options.clean_session = false;
    let present = client
        .connect(blocking_tcp(broker.port()), &again)
        .expect("reconnect");
    assert!(!present, "Session Expiry Interval 0 ended the session");
}

/// The codes Mosquitto's password listener may refuse a wrong password with at 5.0.
fn refused(code: ConnectReasonCode) -> bool {
    matches!(
        code,
        ConnectReasonCode::BadUserNameOrPassword | ConnectReasonCode::NotAuthorized
    )
}

/// Mosquitto's password listener refuses a wrong password at 5.0 with 0x86 Bad User Name or
/// Password or 0x87 Not authorized: `connect` fails with that code, nothing of the attempt is
/// left, and the right password connects.
#[test]
fn blocking_v5_refusal_reports_the_reason_code() {
    let broker = start_broker();
    let mut memory = Mem::new();
    let mut client = blocking_client(memory.buffers());
    let mut o = options("emb5-brefused", true, &[]);
    o.options.username = Some(Broker::USERNAME);
    o.options.password = Some(b"wrong password");
    let result = client.connect(blocking_tcp(broker.auth_port()), &o);
    assert!(
        matches!(result, Err(Error::ConnectFailed(DisconnectReason::RefusedV5(code))) if refused(code)),
        "{result:?}"
    );
    assert!(matches!(client.poll(), Err(Error::NotConnected)));
    o.options.password = Some(Broker::PASSWORD.as_bytes());
    let present = client
        .connect(blocking_tcp(broker.auth_port()), &o)
        .expect("accepted with the right password");
    assert!(!present);
}

#[test]
fn async_v5_refusal_reports_the_reason_code() {
    let broker = start_broker();
    let mut memory = Mem::new();
    let mut client = async_client(memory.buffers());
    let mut o = options("emb5-arefused", true, &[]);
    o.options.username = Some(Broker::USERNAME);
    o.options.password = Some(b"wrong password");
    block_on(async {
        let result = client.connect(async_tcp(broker.auth_port()), &o).await;
        assert!(
            matches!(result, Err(Error::ConnectFailed(DisconnectReason::RefusedV5(code))) if refused(code)),
            "{result:?}"
        );
        assert!(matches!(client.poll().await, Err(Error::NotConnected)));
        // In 5.0 a password needs no user name; Mosquitto refuses it all the same.
        o.options.username = None;
        let result = client.connect(async_tcp(broker.auth_port()), &o).await;
        assert!(
            matches!(result, Err(Error::ConnectFailed(DisconnectReason::RefusedV5(code))) if refused(code)),
            "{result:?}"
        );
        o.options.username = Some(Broker::USERNAME);
        o.options.password = Some(Broker::PASSWORD.as_bytes());
        let present = client
            .connect(async_tcp(broker.auth_port()), &o)
            .await
            .expect("accepted with the right password");
        assert!(!present);
    });
}
