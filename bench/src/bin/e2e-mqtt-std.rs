//! End-to-end throughput and latency of the `mqtt-std` blocking client through a broker:
//! N publishers and M subscribers in one process, each subscriber receiving every message.
//! `e2e-mqtt-std --help` lists the options; `bench/run-e2e` runs it beside the peers.
use std::collections::VecDeque;
use std::fmt::Display;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::thread;
use std::time::Duration;

use mqtt_bench::e2e::{Clock, Options, Payload, Progress, Report, Tracker, options_or_exit};
use mqtt_std::{Client, ClientOptions, ConnectOptions, Error, Pending, QoS, SubAckReturnCode};

const NAME: &str = "mqtt-std";

fn qos(q: u8) -> QoS {
    match q {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
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
        c.connect(&o.host, o.port, &ConnectOptions::default()),
    )?;
    Ok(c)
}

fn subscribe(o: &Options, c: &Client) -> Result<(), String> {
    let filter = o.filter();
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
    let mut window: VecDeque<Pending<()>> = VecDeque::with_capacity(usize::from(o.inflight));
    let mut last = None;
    for seq in 0..o.messages {
        let p = context(
            "publish",
            c.publish(&topic, payload.stamp(seq, clock), q, false),
        )?;
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
            Ok(m) => tracker.record(&m.payload, clock.now_ns()),
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

fn main() {
    let o = options_or_exit("e2e-mqtt-std");
    std::process::exit(run(o).finish());
}
