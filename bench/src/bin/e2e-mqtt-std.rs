//! End-to-end throughput and latency of the `mqtt-std` clients through a broker: N publishers
//! and M subscribers in one process, each subscriber receiving every message. The blocking
//! `mqtt_std::Client` by default (one client per thread); `--driver tokio` runs the async
//! `mqtt_std::tokio::Client` instead (one driver task per client on a multi-threaded tokio
//! runtime, as the rumqttc program does); `--driver tokio-threads` runs the same tokio client
//! with each publisher and subscriber on an OS thread of its own that blocks on the client's
//! futures (`Handle::block_on`), the shape of a blocking API over the tokio driver. `--v5` speaks MQTT 5.0 (`--user-property` then
//! publishes with `publish_with` and checks `Message::properties`). `e2e-mqtt-std --help`
//! lists the options; `bench/run-e2e` runs it beside the peers.
use std::collections::VecDeque;
use std::fmt::Display;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::thread;
use std::time::Duration;

use mqtt_bench::e2e::{Clock, Options, Payload, Progress, Report, Tracker, USAGE};
use mqtt_std::v5::{PublishProperties, SubscribeOptions};
use mqtt_std::{
    Client, ClientOptions, ConnectOptions, Error, Message, Pending, ProtocolVersion, QoS,
    SubAckReturnCode,
};

const NAME: &str = "mqtt-std";
const NAME_TOKIO: &str = "mqtt-std-tokio";
const NAME_TOKIO_THREADS: &str = "mqtt-std-tokio-threads";

fn qos(q: u8) -> QoS {
    match q {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

/// The CONNECT options: 3.1.1, or 5.0 with `--v5`.
fn connect_options(o: &Options) -> ConnectOptions {
    let c = ConnectOptions::default();
    if o.v5 {
        c.protocol(ProtocolVersion::V5)
    } else {
        c
    }
}

/// The properties every publish carries (none without `--user-property`).
fn publish_properties(o: &Options) -> PublishProperties {
    match &o.user_property {
        Some((name, value)) => PublishProperties::new().user_property(name, value),
        None => PublishProperties::new(),
    }
}

/// Whether a received message carries the User Properties every publish does.
fn properties_ok(o: &Options, m: &Message) -> bool {
    o.properties_ok(
        m.properties
            .user_properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )
}

fn context<T>(what: &str, r: Result<T, impl Display>) -> Result<T, String> {
    r.map_err(|e| format!("{what}: {e}"))
}

fn client(o: &Options, id: String) -> Result<Client, String> {
    let options = ClientOptions::new(id.clone())
        .max_inflight(o.inflight)
        .receive_queue_depth(65_536)
        .max_packet_size((o.size + 1024).max(1 << 20));
    let c = context(&id, Client::new(options))?;
    context(
        &format!("{id}: connect"),
        c.connect(&o.host, o.port, &connect_options(o)),
    )?;
    Ok(c)
}

fn subscribe(o: &Options, c: &Client) -> Result<(), String> {
    let filter = o.filter();
    if o.v5 {
        let options = SubscribeOptions::new(qos(o.qos));
        let pending = context(
            "subscribe",
            c.subscribe_with(&[(filter.as_str(), options)], None),
        )?;
        let codes = context("SUBACK", pending.wait_timeout(Duration::from_secs(10)))?;
        if codes.iter().any(|c| c.is_error()) {
            return Err(format!("subscription refused: {codes:?}"));
        }
        return Ok(());
    }
    let pending = context("subscribe", c.subscribe(&[(filter.as_str(), qos(o.qos))]))?;
    let codes = context("SUBACK", pending.wait_timeout(Duration::from_secs(10)))?;
    if codes.contains(&SubAckReturnCode::Failure) {
        return Err("subscription refused".into());
    }
    Ok(())
}

fn publish_all(o: &Options, c: &Client, index: u32, clock: &Clock) -> Result<(), String> {
    let topic = o.publish_topic(index);
    let q = qos(o.qos);
    let mut payload = Payload::new(o.size, index);
    let props = publish_properties(o);
    let mut window: VecDeque<Pending<()>> = VecDeque::with_capacity(usize::from(o.inflight));
    let mut last = None;
    for seq in 0..o.messages {
        let bytes = payload.stamp(seq, clock);
        let p = if props.is_empty() {
            c.publish(&topic, bytes, q, false)
        } else {
            c.publish_with(&topic, bytes, q, false, &props)
        };
        let p = context("publish", p)?;
        if o.qos == 0 {
            last = Some(p);
            continue;
        }
        window.push_back(p);
        if window.len() >= usize::from(o.inflight) {
            if let Some(oldest) = window.pop_front() {
                context("publish flow", oldest.wait())?;
            }
        }
    }
    for p in window.into_iter().chain(last) {
        context("publish flow", p.wait())?;
    }
    Ok(())
}

fn receive_all(
    o: &Options,
    c: &Client,
    tracker: &mut Tracker,
    clock: &Clock,
) -> Result<(), String> {
    while !tracker.complete() {
        match c.recv_timeout(o.idle_timeout) {
            Ok(m) => tracker.record_checked(&m.payload, properties_ok(o, &m), clock.now_ns()),
            Err(Error::Timeout) => {
                return Err(format!(
                    "no message for {:?} ({} of {} arrived)",
                    o.idle_timeout,
                    tracker.unique,
                    o.expected()
                ));
            }
            Err(e) => return Err(format!("receive: {e}")),
        }
    }
    Ok(())
}

fn run(o: Options) -> Report {
    let pid = std::process::id();
    let received = Arc::new(AtomicU64::new(0));
    let mut report = Report {
        client: NAME,
        options: o.clone(),
        elapsed_s: f64::NAN,
        trackers: Vec::new(),
        error: None,
    };
    let setup = || -> Result<(Vec<Client>, Vec<Client>), String> {
        let mut subs = Vec::new();
        for j in 0..o.subscribers {
            let c = client(&o, format!("bs{pid}s{j}"))?;
            subscribe(&o, &c)?;
            subs.push(c);
        }
        let mut pubs = Vec::new();
        for i in 0..o.publishers {
            pubs.push(client(&o, format!("bs{pid}p{i}"))?);
        }
        Ok((subs, pubs))
    };
    let (subs, pubs) = match setup() {
        Ok(v) => v,
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    // A pause after SUBACK, so that the first message does not wait on a delayed ACK.
    thread::sleep(Duration::from_millis(100));
    let progress = Progress::start(
        o.progress,
        NAME.into(),
        received.clone(),
        o.expected() * u64::from(o.subscribers),
    );
    let clock = Clock::start();
    let (trackers, errors) = thread::scope(|s| {
        let receivers: Vec<_> = subs
            .iter()
            .map(|c| {
                let mut tracker = Tracker::new(&o, received.clone());
                let o = &o;
                s.spawn(move || {
                    let r = receive_all(o, c, &mut tracker, &clock);
                    (tracker, r.err())
                })
            })
            .collect();
        let senders: Vec<_> = pubs
            .iter()
            .zip(0..)
            .map(|(c, i)| {
                let o = &o;
                s.spawn(move || publish_all(o, c, i, &clock).err())
            })
            .collect();
        let mut errors: Vec<String> = senders
            .into_iter()
            .filter_map(|h| {
                h.join()
                    .unwrap_or_else(|_| Some("publisher panicked".into()))
            })
            .collect();
        let mut trackers = Vec::new();
        for h in receivers {
            match h.join() {
                Ok((t, e)) => {
                    trackers.push(t);
                    errors.extend(e);
                }
                Err(_) => errors.push("subscriber panicked".into()),
            }
        }
        (trackers, errors)
    });
    drop(progress);
    report.elapsed_s = trackers.iter().map(|t| t.last_ns).max().unwrap_or(0) as f64 / 1e9;
    report.trackers = trackers;
    report.error = (!errors.is_empty()).then(|| errors.join("; "));
    for c in subs.iter().chain(&pubs) {
        let _ = c.disconnect();
    }
    report
}

/// Which of the two clients runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Driver {
    Blocking,
    Tokio,
    /// The tokio client, its publishers and subscribers on OS threads of their own.
    TokioThreads,
}

/// Takes `--driver blocking|tokio|tokio-threads` out of the arguments, then parses the shared options.
fn parse_args() -> Result<(Driver, Options), String> {
    let mut driver = Driver::Blocking;
    let mut rest = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--driver" {
            driver = match args.next().as_deref() {
                Some("blocking") => Driver::Blocking,
                Some("tokio") => Driver::Tokio,
                Some("tokio-threads") => Driver::TokioThreads,
                other => {
                    return Err(format!(
                        "--driver must be blocking, tokio or tokio-threads, not {other:?}"
                    ));
                }
            };
        } else {
            rest.push(a);
        }
    }
    Ok((driver, Options::parse(rest)?))
}

fn main() {
    const PROGRAM: &str = "e2e-mqtt-std";
    let (driver, o) = match parse_args() {
        Ok(v) => v,
        Err(e) => {
            let usage = format!(
                "usage: {PROGRAM} [--driver blocking|tokio|tokio-threads] [options]\n{USAGE}\n  \
                 --driver D         blocking (mqtt_std::Client, default), tokio \
                 (mqtt_std::tokio::Client) or tokio-threads (the tokio client, each \
                 publisher and subscriber on an OS thread blocking on its futures)"
            );
            if e.is_empty() {
                println!("{usage}");
                std::process::exit(0);
            }
            eprintln!("{PROGRAM}: {e}\n{usage}");
            std::process::exit(2);
        }
    };
    let report = match driver {
        Driver::Blocking => run(o),
        Driver::Tokio | Driver::TokioThreads => match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime.block_on(async_driver::run(o, driver == Driver::TokioThreads)),
            Err(e) => {
                eprintln!("{PROGRAM}: tokio runtime: {e}");
                std::process::exit(1);
            }
        },
    };
    std::process::exit(report.finish());
}

/// The same run with `mqtt_std::tokio::Client`.
mod async_driver {
    use std::collections::VecDeque;
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;
    use std::time::Duration;

    use mqtt_bench::e2e::{Clock, Options, Payload, Progress, Report, Tracker};
    use mqtt_std::tokio::{Client, Messages};
    use mqtt_std::{ClientOptions, SubAckReturnCode};
    use std::future::Future;
    use std::pin::Pin;
    use std::task::Poll;
    use tokio::time::timeout;

    use super::{
        NAME_TOKIO, NAME_TOKIO_THREADS, PublishProperties, SubscribeOptions, connect_options,
        context, properties_ok, publish_properties, qos,
    };

    async fn client(o: &Options, id: String) -> Result<(Client, Messages), String> {
        let options = ClientOptions::new(id.clone())
            .max_inflight(o.inflight)
            .receive_queue_depth(65_536)
            .max_packet_size((o.size + 1024).max(1 << 20));
        let (c, m) = context(&id, Client::new(options))?;
        context(
            &format!("{id}: connect"),
            c.connect(&o.host, o.port, &connect_options(o)).await,
        )?;
        Ok((c, m))
    }

    async fn subscribe(o: &Options, c: &Client) -> Result<(), String> {
        let filter = o.filter();
        if o.v5 {
            let options = SubscribeOptions::new(qos(o.qos));
            let codes = match timeout(
                Duration::from_secs(10),
                c.subscribe_with(&[(filter.as_str(), options)], None),
            )
            .await
            {
                Ok(r) => context("subscribe", r)?,
                Err(_) => return Err("SUBACK: timed out".into()),
            };
            if codes.iter().any(|c| c.is_error()) {
                return Err(format!("subscription refused: {codes:?}"));
            }
            return Ok(());
        }
        let codes = match timeout(
            Duration::from_secs(10),
            c.subscribe(&[(filter.as_str(), qos(o.qos))]),
        )
        .await
        {
            Ok(r) => context("subscribe", r)?,
            Err(_) => return Err("SUBACK: timed out".into()),
        };
        if codes.contains(&SubAckReturnCode::Failure) {
            return Err("subscription refused".into());
        }
        Ok(())
    }

    /// Keeps up to `inflight` publishes going at once (a publish resolves on its
    /// acknowledgement), waiting on the oldest when the window is full. Each publish is polled
    /// once as it is made, which queues it in the session, so that they go out in order.
    async fn publish_all(o: Options, c: Client, index: u32, clock: Clock) -> Result<(), String> {
        let topic = o.publish_topic(index);
        let q = qos(o.qos);
        let mut payload = Payload::new(o.size, index);
        let props: PublishProperties = publish_properties(&o);
        let window_len = usize::from(o.inflight);
        let mut window: VecDeque<Flow<'_>> = VecDeque::with_capacity(window_len);
        for seq in 0..o.messages {
            let bytes = payload.stamp(seq, &clock).to_vec();
            let (c, topic, props) = (&c, topic.as_str(), &props);
            let mut flow: Flow<'_> = if props.is_empty() {
                Box::pin(async move { c.publish(topic, &bytes, q, false).await })
            } else {
                Box::pin(async move { c.publish_with(topic, &bytes, q, false, props).await })
            };
            let first = std::future::poll_fn(|cx| Poll::Ready(flow.as_mut().poll(cx))).await;
            match first {
                Poll::Ready(r) => context("publish", r)?,
                Poll::Pending => window.push_back(flow),
            }
            if window.len() >= window_len {
                if let Some(oldest) = window.pop_front() {
                    context("publish flow", oldest.await)?;
                }
            }
        }
        for flow in window {
            context("publish flow", flow.await)?;
        }
        Ok(())
    }

    /// One publish in progress.
    type Flow<'a> = Pin<Box<dyn Future<Output = Result<(), mqtt_std::Error>> + Send + 'a>>;

    async fn receive_all(
        o: Options,
        mut messages: Messages,
        mut tracker: Tracker,
        clock: Clock,
    ) -> (Messages, Tracker, Option<String>) {
        while !tracker.complete() {
            match timeout(o.idle_timeout, messages.recv()).await {
                Ok(Some(m)) => {
                    tracker.record_checked(&m.payload, properties_ok(&o, &m), clock.now_ns())
                }
                Ok(None) => return (messages, tracker, Some("receive: client closed".into())),
                Err(_) => {
                    let e = format!(
                        "no message for {:?} ({} of {} arrived)",
                        o.idle_timeout,
                        tracker.unique,
                        o.expected()
                    );
                    return (messages, tracker, Some(e));
                }
            }
        }
        (messages, tracker, None)
    }

    /// Runs `f` as a task, or with `threads` on an OS thread of its own that blocks on it.
    fn start<T: Send + 'static>(
        threads: bool,
        f: impl Future<Output = T> + Send + 'static,
    ) -> tokio::task::JoinHandle<T> {
        if !threads {
            return tokio::spawn(f);
        }
        let handle = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            // This blocking-pool thread is the application's thread: it polls `f` and sleeps
            // until the client's driver task wakes it.
            handle.block_on(f)
        })
    }

    pub(super) async fn run(o: Options, threads: bool) -> Report {
        let pid = std::process::id();
        let received = Arc::new(AtomicU64::new(0));
        let mut report = Report {
            client: if threads {
                NAME_TOKIO_THREADS
            } else {
                NAME_TOKIO
            },
            options: o.clone(),
            elapsed_s: f64::NAN,
            trackers: Vec::new(),
            error: None,
        };
        let mut subs = Vec::new();
        let mut pubs = Vec::new();
        let setup: Result<(), String> = async {
            for j in 0..o.subscribers {
                let (c, m) = client(&o, format!("bt{pid}s{j}")).await?;
                subscribe(&o, &c).await?;
                subs.push((c, m));
            }
            for i in 0..o.publishers {
                pubs.push(client(&o, format!("bt{pid}p{i}")).await?.0);
            }
            Ok(())
        }
        .await;
        if let Err(e) = setup {
            report.error = Some(e);
            return report;
        }
        // A pause after SUBACK, so that the first message does not wait on a delayed ACK.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let progress = Progress::start(
            o.progress,
            NAME_TOKIO.into(),
            received.clone(),
            o.expected() * u64::from(o.subscribers),
        );
        let clock = Clock::start();
        let mut receivers = Vec::new();
        let mut sub_clients = Vec::new();
        for (c, m) in subs {
            let tracker = Tracker::new(&o, received.clone());
            receivers.push(start(threads, receive_all(o.clone(), m, tracker, clock)));
            sub_clients.push(c);
        }
        let senders: Vec<_> = pubs
            .iter()
            .zip(0u32..)
            .map(|(c, i)| start(threads, publish_all(o.clone(), c.clone(), i, clock)))
            .collect();
        let mut errors = Vec::new();
        for h in senders {
            match h.await {
                Ok(r) => errors.extend(r.err()),
                Err(e) => errors.push(format!("publisher task: {e}")),
            }
        }
        let mut kept = Vec::new();
        for h in receivers {
            match h.await {
                Ok((m, t, e)) => {
                    kept.push(m);
                    report.trackers.push(t);
                    errors.extend(e);
                }
                Err(e) => errors.push(format!("subscriber task: {e}")),
            }
        }
        drop(progress);
        report.elapsed_s =
            report.trackers.iter().map(|t| t.last_ns).max().unwrap_or(0) as f64 / 1e9;
        report.error = (!errors.is_empty()).then(|| errors.join("; "));
        for c in sub_clients.iter().chain(&pubs) {
            let _ = c.disconnect().await;
            c.close().await;
        }
        drop(kept);
        report
    }
}
