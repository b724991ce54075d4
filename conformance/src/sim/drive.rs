//! The simulation's connections: opening one (and restarting the process), its end, the
//! bytes either way, and polling the session until nothing moves.

use std::time::Duration;

use mqtt_session::{Config, ConnectOptions, QoS, Session, VecStore};

use super::{CLIENT_ID, Conn, KEEP_ALIVE_S, Link, Pipe, Rng, Sim, SimStore, Use, v5};
use crate::script::Seen;

impl Sim {
    pub(super) fn open(&mut self) -> Result<(), String> {
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
            self.client = new_client(&mut self.rng, old.into_store(), self.version5);
            self.v5.restarted = true;
            self.v5.fresh.clear();
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
        self.v5.wire = v5::Wire5::default();
        self.stats.connections += 1;
        let n = self.stats.connections;
        self.log(|| format!("== connection {n} up"));
        self.client.handle_transport_up(self.instant());
        if self.version5 {
            return self.connect_v5();
        }
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
    pub(super) fn transport_gone(&mut self, cut: bool) {
        self.link = None;
        self.broker.connection_closed(self.now);
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

    pub(super) fn deliver(&mut self, mut bytes: &[u8]) -> Result<(), String> {
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
    pub(super) fn pump(&mut self) -> Result<bool, String> {
        let mut any = false;
        let mut buf = vec![0u8; 4096];
        for _ in 0..10_000 {
            let mut moved = false;
            while let Some(e) = self.client.poll_event() {
                moved = true;
                if self.version5 {
                    let got = v5::Got::from_event(&e);
                    self.on_event_v5(got)?;
                } else {
                    let seen = Seen::from_event(&e);
                    self.on_event(seen)?;
                }
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
                    if self.version5 {
                        self.subscribe_sim_v5()?;
                    } else {
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

    pub(super) fn take_id(&mut self, id: u16, what: Use) -> Result<(), String> {
        if let Some(old) = self.ids.insert(id, what) {
            let rule = if self.version5 {
                "MQTT-2.2.1-3"
            } else {
                "MQTT-2.3.1-2"
            };
            return Err(format!(
                "packet id {id} handed out for {what:?} while still in use by {old:?} [{rule}]"
            ));
        }
        Ok(())
    }
}

/// A client session with a random window, queue and buffer sizes (and for 5.0 outgoing topic
/// aliases and a session-lost policy), over `store`.
pub(super) fn new_client(
    rng: &mut Rng,
    store: SimStore,
    version5: bool,
) -> Session<SimStore, Vec<u8>> {
    let mut config = Config::default();
    config.max_inflight = rng.range(1, 6) as u16;
    config.max_queued = rng.range(0, 6) as u16;
    config.connack_timeout = Duration::from_secs(5);
    config.ping_timeout = Duration::from_secs(3);
    let rx = [256, 512, 2048][rng.index(3)];
    let tx = [256, 512, 2048][rng.index(3)];
    if version5 {
        config = v5::configure(rng, config);
    }
    Session::new(config, store, vec![0; rx], vec![0; tx])
}
