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

mod app;
pub mod broker;
mod checks;
pub mod net;
mod observe;
pub mod rng;
mod store;
pub mod v5;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::time::Duration;

use mqtt_session::{Config, ConnectOptions, Instant, QoS, Session, VecStore};

pub use broker::BrokerModel;
pub use net::{Link, Pipe};
pub use rng::Rng;
pub use store::SimStore;
use store::StoreLen as _;

use crate::script::Seen;

/// Virtual milliseconds of the fault phase.
pub const FAULT_MS: u64 = 60_000;
/// Virtual milliseconds the calm phase may take to settle.
pub const SETTLE_MS: u64 = 180_000;
const TOPICS: [&str; 3] = ["sim/a", "sim/b", "sim/c/d"];
const CLIENT_ID: &str = "sim-client";
const KEEP_ALIVE_S: u16 = 5;

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

/// Runs one seed. With `trace`, the failure carries a line per packet and event.
pub fn run(seed: u64, trace: bool) -> Result<Stats, Failure> {
    let mut sim = Sim::new(seed, trace);
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
    broker: BrokerModel,
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
    fn new(seed: u64, trace: bool) -> Self {
        let mut rng = Rng::new(seed);
        let store = if rng.percent(50) {
            SimStore::Vec(VecStore::new())
        } else {
            SimStore::Fixed(Box::default())
        };
        let client = new_client(&mut rng, store);
        let mut broker = BrokerModel::new(rng.range(1, 8) as usize);
        if rng.percent(30) {
            broker.duplicate_every = rng.range(1, 5) as usize;
        }
        let count = rng.range(5, 30) as usize;
        let plan = (0..count)
            .map(|seq| {
                let qos = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce][rng.index(3)];
                let mut payload = format!("m{seq};").into_bytes();
                payload.resize(payload.len() + rng.below(100) as usize, b'.');
                Planned {
                    topic: TOPICS[rng.index(TOPICS.len())],
                    qos,
                    payload,
                }
            })
            .collect();
        Sim {
            seed,
            rng,
            now: 0,
            client,
            broker,
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
        let dup = self.broker.duplicate_every;
        self.log(|| {
            format!(
                "seed {seed}: {planned} messages, window {window}, queue {queue}, fixed store \
                 {fixed}, broker duplicates every {dup} PUBLISH"
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
                let reply = self.broker.receive(&up);
                if let Some(v) = self.broker.violations.first() {
                    return Err(format!("broker model: {v}"));
                }
                if let Some(link) = self.link.as_mut() {
                    if !reply.is_empty() && !link.client_closed {
                        if let Some(at) = link.down.write(&mut self.rng, now, &reply) {
                            link.cut(at);
                        }
                    }
                    if self.broker.wants_close() {
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
        let silent = now.saturating_sub(self.conn.last_write);
        if self.connected && self.link.is_some() && silent > u64::from(KEEP_ALIVE_S) * 1000 {
            return Err(format!(
                "connected and silent for {silent} ms, keep alive {KEEP_ALIVE_S} s [MQTT-3.1.2-23]"
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

    fn open(&mut self) -> Result<(), String> {
        if self.faults && self.rng.percent(10) {
            // The process restarts: a new session (maybe configured otherwise) over the store
            // the old one kept.
            let placeholder = Session::new(
                Config::default(),
                SimStore::Vec(VecStore::new()),
                Vec::new(),
                Vec::new(),
            );
            let old = std::mem::replace(&mut self.client, placeholder);
            self.client = new_client(&mut self.rng, old.into_store());
            self.stats.restarts += 1;
            let window = self.client.config().max_inflight;
            self.log(|| format!("== process restart (window {window})"));
        }
        let rng = &mut self.rng;
        let (up_budget, down_budget, latency, piece, stall) = if self.faults {
            let up = if rng.percent(50) {
                rng.range(1, 400)
            } else {
                u64::MAX
            };
            let down = if rng.percent(40) {
                rng.range(1, 400)
            } else {
                u64::MAX
            };
            let base = rng.range(0, 30);
            let latency = (base, base + rng.range(0, 50));
            // Sometimes the broker stalls after some bytes: the client's CONNACK or PINGRESP
            // timeout fires.
            let stall = rng.percent(10).then(|| rng.range(0, 200));
            (up, down, latency, rng.range(1, 64) as usize, stall)
        } else {
            (u64::MAX, u64::MAX, (1, 20), 64, None)
        };
        let up_latency = (latency.0.min(50), latency.1.min(100));
        let mut down = Pipe::new(latency, piece, down_budget);
        if let Some(after) = stall {
            down.stall_after(after, (10_000, 12_000), 15_000);
        }
        self.link = Some(Link::new(Pipe::new(up_latency, piece, up_budget), down));
        self.broker.connection_opened();
        self.conn = Conn::default();
        self.stats.connections += 1;
        let n = self.stats.connections;
        self.log(|| format!("== connection {n} up"));
        self.client.handle_transport_up(self.instant());
        let options = ConnectOptions {
            clean_session: false,
            keep_alive: KEEP_ALIVE_S,
            ..ConnectOptions::new(CLIENT_ID)
        };
        self.client
            .connect(self.instant(), &options)
            .map_err(|e| format!("connect refused by the session: {e:?}"))?;
        self.pump().map(|_| ())
    }

    /// The transport is gone: the broker forgets the connection, the client is told.
    fn transport_gone(&mut self, cut: bool) {
        self.link = None;
        self.broker.connection_closed();
        if cut {
            self.stats.cuts += 1;
        }
        self.log(|| format!("== transport gone (cut={cut})"));
        self.client.handle_transport_closed(self.instant());
        self.transport_closed_pending = false;
        self.connected = false;
        if self.reconnect_at.is_none() {
            let delay = if self.faults {
                self.rng.range(0, 3000)
            } else {
                10
            };
            self.reconnect_at = Some(self.now + delay);
        }
    }

    fn deliver(&mut self, mut bytes: &[u8]) -> Result<(), String> {
        let mut stalls = 0;
        while !bytes.is_empty() {
            let n = self.client.handle_receive(self.instant(), bytes);
            let (taken, rest) = bytes.split_at(n.min(bytes.len()));
            self.observe_in(taken)?;
            bytes = rest;
            let moved = self.pump()?;
            if n == 0 && !moved {
                stalls += 1;
                if stalls > 3 {
                    return Err("handle_receive takes nothing and nothing else moves".to_owned());
                }
            }
        }
        Ok(())
    }

    /// Polls events, transmits, fires due timers, until nothing moves.
    fn pump(&mut self) -> Result<bool, String> {
        let mut any = false;
        let mut buf = vec![0u8; 4096];
        for _ in 0..10_000 {
            let mut moved = false;
            while let Some(e) = self.client.poll_event() {
                let seen = Seen::from_event(&e);
                moved = true;
                self.on_event(seen)?;
            }
            if self.transport_closed_pending {
                // The client ended the connection: close our side after its last bytes.
                self.transport_closed_pending = false;
                match self.link.as_mut() {
                    Some(link) if !link.up.is_empty() => {
                        link.client_closed = true;
                        link.down.clear();
                    }
                    Some(_) => self.transport_gone(false),
                    None => {
                        self.client.handle_transport_closed(self.instant());
                    }
                }
            }
            if self.want_subscribe {
                self.want_subscribe = false;
                if self.connected && !self.sub_confirmed && self.sub_pending.is_none() {
                    match self
                        .client
                        .subscribe(self.instant(), &[("sim/#", QoS::ExactlyOnce)])
                    {
                        Ok(id) => {
                            self.take_id(id.get(), Use::Request)?;
                            self.sub_pending = Some(id.get());
                        }
                        Err(e) => self.log(|| format!("subscribe sim/#: {e:?}")),
                    }
                    moved = true;
                }
            }
            loop {
                match self.client.poll_transmit(self.instant(), &mut buf) {
                    Ok(Some(n)) => {
                        moved = true;
                        let bytes = buf.get(..n).unwrap_or_default().to_vec();
                        self.observe_out(&bytes)?;
                        if let Some(link) = self.link.as_mut() {
                            if !link.client_closed {
                                if let Some(at) = link.up.write(&mut self.rng, self.now, &bytes) {
                                    link.cut(at);
                                }
                            }
                        }
                    }
                    Ok(None) => break,
                    Err(e) => return Err(format!("poll_transmit with 4096 bytes: {e}")),
                }
            }
            if self
                .client
                .poll_timeout()
                .is_some_and(|t| t.as_millis() < self.now)
            {
                self.client.handle_timeout(self.instant());
                moved = true;
            }
            if !moved {
                return Ok(any);
            }
            any = true;
        }
        Err("pump: the session never stops producing".to_owned())
    }

    fn take_id(&mut self, id: u16, what: Use) -> Result<(), String> {
        if let Some(old) = self.ids.insert(id, what) {
            return Err(format!(
                "packet id {id} handed out for {what:?} while still in use by {old:?} [MQTT-2.3.1-2]"
            ));
        }
        Ok(())
    }
}

/// A client session with a random window, queue and buffer sizes, over `store`.
fn new_client(rng: &mut Rng, store: SimStore) -> Session<SimStore, Vec<u8>> {
    let mut config = Config::default();
    config.max_inflight = rng.range(1, 6) as u16;
    config.max_queued = rng.range(0, 6) as u16;
    config.connack_timeout = Duration::from_secs(5);
    config.ping_timeout = Duration::from_secs(3);
    let rx = [256, 512, 2048][rng.index(3)];
    let tx = [256, 512, 2048][rng.index(3)];
    Session::new(config, store, vec![0; rx], vec![0; tx])
}
