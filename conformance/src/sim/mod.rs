//! The deterministic simulation: one [`Session`] against the reference [`BrokerModel`] over a
//! simulated [`Link`] that delays bytes, splits them anyhow and cuts the connection after any
//! number of bytes; the client reconnects (clean session off) and goes on. Everything (faults,
//! delays, the application's publishes, subscribes, unsubscribes and disconnects) comes from one
//! seed, so a failing seed replays exactly.
//!
//! A run has a fault phase, then a calm phase (no new faults) that must settle: every message
//! published, nothing in flight either way. Checked during the run:
//!
//! - a packet id returned by `publish`/`subscribe`/`unsubscribe` is never one still in use
//!   [MQTT-2.3.1-2], and acknowledgement events name ids in use;
//! - the first packet on every connection is CONNECT [MQTT-3.1.0-1]; nothing follows
//!   DISCONNECT [MQTT-3.14.4-2];
//! - a first send has DUP=0, a resend DUP=1 and the same packet id [MQTT-3.3.1-1,
//!   MQTT-2.3.1-3]; resends come first on a connection, in the original order [MQTT-4.6.0-1];
//!   no PUBLISH is sent again after its PUBREL [MQTT-4.3.3-1];
//! - PUBACK and PUBREC go out in the order of the PUBLISH packets received, PUBREL in the order
//!   of the PUBREC packets received [MQTT-4.6.0-2/3/4];
//! - while connected, the client is never silent for longer than the keep alive
//!   [MQTT-3.1.2-23] (with a ping timeout shorter than the keep alive);
//! - the broker model finds no violation.
//!
//! Checked at the end: every QoS 1 message the client accepted reached the broker at least once
//! and the application at least once (it comes back through the client's own subscription),
//! every QoS 2 message exactly once at both, QoS 0 at most once; per topic, QoS 1/2 messages
//! arrive in publish order at both [MQTT-4.6.0-*].
//!
//! A 5.0 run ([`run_v5`]) drives the same session over 5.0 connections to a 5.0 broker model,
//! with flow control, topic aliases, message properties and expiry, reason codes and sessions
//! that end; see [`v5`] for what it adds and checks.

mod app;
pub mod broker;
mod checks;
mod drive;
mod model;
pub mod net;
mod observe;
pub mod rng;
mod store;
pub mod v5;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;

use drive::new_client;
use model::Model;
use mqtt_session::{Instant, QoS, Session, VecStore};
use v5::{BrokerModelV5, V5};

pub use broker::BrokerModel;
pub use net::{Link, Pipe};
pub use rng::Rng;
pub use store::SimStore;
use store::StoreLen as _;

/// Virtual milliseconds of the fault phase.
pub const FAULT_MS: u64 = 60_000;
/// Virtual milliseconds the calm phase may take to settle.
pub const SETTLE_MS: u64 = 180_000;
const TOPICS: [&str; 3] = ["sim/a", "sim/b", "sim/c/d"];
pub(crate) const CLIENT_ID: &str = "sim-client";
pub(crate) const KEEP_ALIVE_S: u16 = 5;

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages the client accepted, by QoS.
    pub published: [usize; 3],
    /// Connections opened.
    pub connections: usize,
    /// Connections cut by the network.
    pub cuts: usize,
    /// Process restarts: a new session over the old one's store.
    pub restarts: usize,
    /// Connections the client ended, by reason (`Debug` of the reason).
    pub client_ends: BTreeMap<String, usize>,
    /// PUBLISH packets the client sent again with DUP=1.
    pub resends: usize,
    /// DUP=1 on a PUBLISH the client had never written before (allowed: "might be" a
    /// redelivery, section 3.3.1.1; counted to keep an eye on it).
    pub dup_on_first_write: usize,
    /// QoS 1 messages that reached the broker more than once.
    pub broker_duplicates: usize,
    /// QoS 1 messages the application received more than once.
    pub app_duplicates: usize,
    /// Virtual time the run took, in ms.
    pub virtual_ms: u64,
    /// What a 5.0 run adds.
    pub v5: v5::Stats5,
}

/// A failed run: the seed and what broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The seed (replay with `SIM_SEED=<seed>`).
    pub seed: u64,
    /// What broke.
    pub reason: String,
    /// The run's trace, when tracing was on.
    pub trace: String,
}

/// Runs one seed of the 3.1.1 simulation. With `trace`, the failure carries a line per packet
/// and event.
pub fn run(seed: u64, trace: bool) -> Result<Stats, Failure> {
    run_version(seed, false, trace)
}

/// Runs one seed of the 5.0 simulation (see [`v5`]).
pub fn run_v5(seed: u64, trace: bool) -> Result<Stats, Failure> {
    run_version(seed, true, trace)
}

fn run_version(seed: u64, version5: bool, trace: bool) -> Result<Stats, Failure> {
    let mut sim = Sim::new(seed, version5, trace);
    match sim.run() {
        Ok(()) => Ok(sim.stats),
        Err(reason) => Err(Failure {
            seed,
            reason: format!("t={} ms: {reason}", sim.now),
            trace: sim.trace.unwrap_or_default(),
        }),
    }
}

#[derive(Debug, Clone)]
struct Planned {
    topic: &'static str,
    qos: QoS,
    payload: Vec<u8>,
    /// 5.0: User Properties and Message Expiry Interval.
    user: Vec<(String, String)>,
    expiry: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Publish(usize),
    Request,
}

/// Per-connection view of the bytes either way.
#[derive(Debug, Default)]
struct Conn {
    out_buf: Vec<u8>,
    in_buf: Vec<u8>,
    packets_out: usize,
    last_write: u64,
    disconnect_sent: bool,
    fresh_publish_seen: bool,
    last_resend: Option<usize>,
    expect_puback: VecDeque<u16>,
    expect_pubrec: VecDeque<u16>,
    pubrecs_in: VecDeque<u16>,
}

fn seq_of(payload: &[u8]) -> Option<usize> {
    let s = std::str::from_utf8(payload).ok()?;
    s.strip_prefix("m")?.split(';').next()?.parse().ok()
}

struct Sim {
    seed: u64,
    rng: Rng,
    now: u64,
    client: Session<SimStore, Vec<u8>>,
    broker: Model,
    /// A 5.0 run.
    version5: bool,
    /// The 5.0 state (unused in a 3.1.1 run).
    v5: V5,
    link: Option<Link>,
    reconnect_at: Option<u64>,
    faults: bool,
    plan: Vec<Planned>,
    next: usize,
    next_action_at: u64,
    connected: bool,
    ids: BTreeMap<u16, Use>,
    sub_confirmed: bool,
    sub_pending: Option<u16>,
    want_subscribe: bool,
    transport_closed_pending: bool,
    /// seq -> packet id of its first write.
    written: BTreeMap<usize, u16>,
    /// seqs whose PUBREL the client wrote.
    released: BTreeSet<usize>,
    conn: Conn,
    delivered: Vec<(String, usize, QoS)>,
    stats: Stats,
    trace: Option<String>,
}

impl Sim {
    fn new(seed: u64, version5: bool, trace: bool) -> Self {
        let mut rng = Rng::new(seed);
        let store = if rng.percent(50) {
            SimStore::Vec(VecStore::new())
        } else {
            SimStore::Fixed(Box::default())
        };
        let client = new_client(&mut rng, store, version5);
        let window = rng.range(1, 8) as usize;
        let mut broker = BrokerModel::new(window);
        // A 5.0 broker never sends a PUBLISH again but on resumption [MQTT-4.4.0-1].
        if !version5 && rng.percent(30) {
            broker.duplicate_every = rng.range(1, 5) as usize;
        }
        let count = rng.range(5, 30) as usize;
        let plan: Vec<Planned> = (0..count)
            .map(|seq| {
                let qos = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce][rng.index(3)];
                let mut payload = format!("m{seq};").into_bytes();
                payload.resize(payload.len() + rng.below(100) as usize, b'.');
                let topic = TOPICS[rng.index(TOPICS.len())];
                let (user, expiry) = if version5 {
                    v5::planned_properties(&mut rng, seq)
                } else {
                    (Vec::new(), None)
                };
                Planned {
                    topic,
                    qos,
                    payload,
                    user,
                    expiry,
                }
            })
            .collect();
        let (broker, v5) = if version5 {
            // Room for the largest PUBLISH of the plan: topic, packet id, properties (User
            // Properties, Message Expiry Interval, Topic Alias), payload, fixed header.
            let largest = plan
                .iter()
                .map(|m| {
                    let user: usize = m.user.iter().map(|(k, v)| 5 + k.len() + v.len()).sum();
                    2 + m.topic.len() + 2 + 4 + user + 5 + 3 + m.payload.len() + 5
                })
                .max()
                .unwrap_or(0);
            let model = BrokerModelV5::new(rng.next_u64(), window, largest as u32);
            let params = v5::Params::choose(&mut rng);
            (Model::V5(Box::new(model)), V5::with(params))
        } else {
            (Model::V3(broker), V5::default())
        };
        Sim {
            seed,
            rng,
            now: 0,
            client,
            broker,
            version5,
            v5,
            link: None,
            reconnect_at: Some(0),
            faults: true,
            plan,
            next: 0,
            next_action_at: 0,
            connected: false,
            ids: BTreeMap::new(),
            sub_confirmed: false,
            sub_pending: None,
            want_subscribe: false,
            transport_closed_pending: false,
            written: BTreeMap::new(),
            released: BTreeSet::new(),
            conn: Conn::default(),
            delivered: Vec::new(),
            stats: Stats::default(),
            trace: trace.then(String::new),
        }
    }

    fn log(&mut self, line: impl FnOnce() -> String) {
        if let Some(t) = self.trace.as_mut() {
            let _ = writeln!(t, "t={:>6} {}", self.now, line());
        }
    }

    fn instant(&self) -> Instant {
        Instant::from_millis(self.now)
    }

    fn run(&mut self) -> Result<(), String> {
        let (seed, planned) = (self.seed, self.plan.len());
        let (window, queue) = (
            self.client.config().max_inflight,
            self.client.config().max_queued,
        );
        let fixed = matches!(self.client.store(), SimStore::Fixed(_));
        let model = match &self.broker {
            Model::V3(b) => format!("broker duplicates every {} PUBLISH", b.duplicate_every),
            Model::V5(_) => format!("5.0 {:?}, {:?}", self.v5.params, self.client.config()),
        };
        self.log(|| {
            format!(
                "seed {seed}: {planned} messages, window {window}, queue {queue}, fixed store \
                 {fixed}, {model}"
            )
        });
        let mut same_time = 0u32;
        loop {
            if self.faults && self.now >= FAULT_MS {
                self.faults = false;
                self.log(|| "-- calm phase".to_owned());
            }
            if !self.faults && self.settled() {
                self.stats.virtual_ms = self.now;
                return self.final_checks();
            }
            if self.now > FAULT_MS + SETTLE_MS {
                return Err(format!(
                    "did not settle: {} of {} messages published, {} held by the client, {} \
                     queued at the broker, broker idle={}, connected={}",
                    self.next,
                    self.plan.len(),
                    self.client.store_len(),
                    self.broker.outgoing(),
                    self.broker.idle(),
                    self.connected
                ));
            }
            let app_due =
                (self.next < self.plan.len() || self.faults).then_some(self.next_action_at);
            let next = [
                self.link.as_ref().and_then(Link::next_due),
                self.client.poll_timeout().map(Instant::as_millis),
                self.reconnect_at.filter(|_| self.link.is_none()),
                app_due,
                self.faults.then_some(FAULT_MS),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(t) = next else {
                return Err("nothing left to happen, yet not settled".to_owned());
            };
            if t <= self.now {
                same_time += 1;
                if same_time > 100_000 {
                    return Err(format!(
                        "livelock: no progress in virtual time (link due {:?}, client timeout \
                         {:?}, reconnect {:?}, app {:?}, state {:?})",
                        self.link.as_ref().and_then(Link::next_due),
                        self.client.poll_timeout(),
                        self.reconnect_at,
                        app_due,
                        self.client.state()
                    ));
                }
            } else {
                same_time = 0;
                self.now = t;
            }
            self.step()?;
        }
    }

    fn step(&mut self) -> Result<(), String> {
        let now = self.now;
        // The network.
        if let Some(link) = self.link.as_mut() {
            let up = link.up.take_due(now);
            if !up.is_empty() {
                let mut reply = self.broker.receive(now, &up);
                if let Some(v) = self.broker.violation() {
                    return Err(format!("broker model: {v}"));
                }
                // 5.0: now and then the broker ends the connection with a DISCONNECT.
                let mut server_close = false;
                if let Model::V5(b) = &mut self.broker {
                    if self.faults && b.connected() && self.rng.percent(2) {
                        let bytes = b.server_disconnect();
                        server_close = !bytes.is_empty();
                        reply.extend(bytes);
                    }
                }
                if let Some(link) = self.link.as_mut() {
                    if !reply.is_empty() && !link.client_closed {
                        if let Some(at) = link.down.write(&mut self.rng, now, &reply) {
                            link.cut(at);
                        }
                    }
                    if server_close {
                        // Closed once the DISCONNECT is through.
                        link.cut(link.down.drained_at(now));
                    } else if self.broker.wants_close() {
                        link.cut(now);
                    }
                }
            }
        }
        if let Some(link) = self.link.as_mut() {
            let down = link.down.take_due(now);
            if !down.is_empty() {
                self.deliver(&down)?;
            }
        }
        if let Some(link) = self.link.as_ref() {
            if link.client_closed && link.up.is_empty() {
                self.transport_gone(false);
            } else if link.cut_at.is_some_and(|t| t <= now) {
                self.transport_gone(true);
            }
        }
        self.pump()?;
        // Timers.
        if self
            .client
            .poll_timeout()
            .is_some_and(|t| t.as_millis() <= now)
        {
            self.client.handle_timeout(self.instant());
            self.pump()?;
        }
        // Reconnection.
        if self.reconnect_at.is_some_and(|t| t <= now) && self.link.is_none() {
            self.reconnect_at = None;
            self.open()?;
        }
        // The application.
        if self.next_action_at <= now && (self.next < self.plan.len() || self.faults) {
            self.next_action_at = now + self.rng.range(1, 300);
            self.app_action()?;
        }
        // Keep alive [MQTT-3.1.2-23]: while connected, the client never stays silent longer
        // than the keep-alive (the ping timeout is shorter than it here).
        // 5.0: the Server Keep Alive, if the CONNACK had one [MQTT-3.2.2-21, MQTT-3.1.2-20].
        let (keep_alive, rule) = match self.v5.wire.allowed {
            Some(a) if self.version5 => (a.keep_alive, "MQTT-3.2.2-21, MQTT-3.1.2-20"),
            _ => (KEEP_ALIVE_S, "MQTT-3.1.2-23"),
        };
        let silent = now.saturating_sub(self.conn.last_write);
        if self.connected && self.link.is_some() && silent > u64::from(keep_alive) * 1000 {
            return Err(format!(
                "connected and silent for {silent} ms, keep alive {keep_alive} s [{rule}]"
            ));
        }
        Ok(())
    }

    fn settled(&self) -> bool {
        self.next == self.plan.len()
            && self.connected
            && self.client.store_len() == 0
            && self.broker.idle()
            && self
                .link
                .as_ref()
                .is_some_and(|l| l.up.is_empty() && l.down.is_empty() && l.cut_at.is_none())
            && !self.ids.values().any(|u| matches!(u, Use::Publish(_)))
    }
}
