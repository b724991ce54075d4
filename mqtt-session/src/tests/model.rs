//! Property tests: random commands, byte splits, ticks and connection losses against a model
//! broker, with the session's invariants checked after every step.

use std::collections::{BTreeMap, BTreeSet};
use std::vec;
use std::vec::Vec;

use mqtt_proto::{
    ConnAck, ConnectReturnCode, Decoder, Packet, PacketId, Publish, QoS, QosPid, SubAck,
    SubAckCodes, TopicName,
};
use proptest::prelude::*;

use super::harness::{enc, pid};
use crate::{
    Config, ConnectOptions, Event, FixedStore, Instant, Session, SessionLostPolicy, State, Store,
    VecStore,
};

#[derive(Debug, Clone)]
enum Op {
    Publish {
        qos: u8,
        len: usize,
    },
    Subscribe {
        filters: usize,
    },
    Unsubscribe,
    Tick {
        ms: u64,
    },
    /// Deliver up to `max` pending broker bytes, `chunk` at a time.
    Deliver {
        max: usize,
        chunk: usize,
    },
    /// Carry up to `max` bytes the client sent to the broker.
    Upload {
        max: usize,
    },
    BrokerPublish {
        qos: u8,
    },
    /// The broker resends its oldest unfinished QoS 1/2 PUBLISH (DUP=1).
    BrokerResend,
    BrokerStray {
        kind: u8,
        id: u16,
    },
    /// The transport dies; bytes in flight either way are lost.
    Drop,
    Reconnect {
        clean: bool,
        broker_forgets: bool,
    },
    Disconnect,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..3, 0usize..40).prop_map(|(qos, len)| Op::Publish { qos, len }),
        1 => (1usize..4).prop_map(|filters| Op::Subscribe { filters }),
        1 => Just(Op::Unsubscribe),
        2 => prop_oneof![0u64..100, 0u64..40_000].prop_map(|ms| Op::Tick { ms }),
        5 => (1usize..400, 1usize..40).prop_map(|(max, chunk)| Op::Deliver { max, chunk }),
        5 => (1usize..400).prop_map(|max| Op::Upload { max }),
        2 => (0u8..3).prop_map(|qos| Op::BrokerPublish { qos }),
        1 => Just(Op::BrokerResend),
        1 => (0u8..4, 1u16..20).prop_map(|(kind, id)| Op::BrokerStray { kind, id }),
        1 => Just(Op::Drop),
        2 => (any::<bool>(), prop::bool::weighted(0.2))
            .prop_map(|(clean, broker_forgets)| Op::Reconnect { clean, broker_forgets }),
        1 => Just(Op::Disconnect),
    ]
}

/// A broker message to the client still unfinished (QoS 1 awaiting PUBACK, QoS 2 awaiting
/// PUBREC or PUBCOMP).
#[derive(Debug, Clone)]
struct BrokerOutgoing {
    id: u16,
    qos: QoS,
    payload: Vec<u8>,
    released: bool,
}

#[derive(Debug, Default)]
struct Broker {
    /// Broker holds a session for the client (it connected with clean session off).
    has_session: bool,
    /// QoS 2 ids from the client awaiting PUBREL.
    incoming: BTreeSet<u16>,
    outgoing: Vec<BrokerOutgoing>,
    next_id: u16,
    next_msg: u32,
    /// Bytes to the client, not delivered yet.
    to_client: Vec<u8>,
    /// Bytes from the client, not parsed yet.
    from_client: Vec<u8>,
    connected: bool,
    got_disconnect: bool,
    forget_next: bool,
    /// This connection started a new session (CONNACK session present 0).
    new_session: bool,
    /// Client QoS 2 ids this broker session answered with PUBREC (or that the broker sent a
    /// PUBREC for).
    pubrec_sent: BTreeSet<u16>,
}

impl Broker {
    fn send(&mut self, p: Packet<'_>) {
        self.to_client.extend(enc(p));
    }

    fn new_connection(&mut self, forget: bool) {
        self.to_client.clear();
        self.from_client.clear();
        self.connected = false;
        self.got_disconnect = false;
        self.forget_next = forget;
    }

    /// Parse what the client sent and answer like a broker would; checks the client's side of
    /// the protocol.
    fn receive(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        assert!(
            !self.got_disconnect,
            "client sent after DISCONNECT [MQTT-3.14.4-2]"
        );
        self.from_client.extend_from_slice(bytes);
        let d = Decoder::new();
        loop {
            let buf = std::mem::take(&mut self.from_client);
            let packet_len = match d.decode(&buf) {
                Ok(Some((p, n))) => {
                    self.handle(p);
                    n
                }
                Ok(None) => {
                    self.from_client = buf;
                    return;
                }
                Err(e) => panic!("client sent a malformed packet: {e:?} {buf:02x?}"),
            };
            self.from_client = buf.get(packet_len..).unwrap_or(&[]).to_vec();
        }
    }

    fn handle(&mut self, p: Packet<'_>) {
        if !self.connected {
            let Packet::Connect(c) = p else {
                panic!("first packet is not CONNECT [MQTT-3.1.0-1]: {p:?}");
            };
            self.connected = true;
            // A clean session ended with its connection [MQTT-3.1.2-6].
            if c.clean_session || self.forget_next || !self.has_session {
                self.has_session = false;
                self.incoming.clear();
                self.outgoing.clear();
                self.pubrec_sent.clear();
            }
            let session_present = !c.clean_session && self.has_session;
            self.new_session = !session_present;
            self.has_session = !c.clean_session;
            self.send(Packet::ConnAck(ConnAck {
                session_present,
                code: ConnectReturnCode::Accepted,
            }));
            if session_present {
                for m in self.outgoing.clone() {
                    if m.released {
                        self.send(Packet::PubRel(pid(m.id)));
                    } else {
                        self.send_publish(&m, true);
                    }
                }
            }
            return;
        }
        match p {
            Packet::Connect(_) => panic!("second CONNECT"),
            Packet::Publish(p) => {
                if p.qos_pid.qos() == QoS::AtMostOnce {
                    assert!(!p.dup, "DUP on QoS 0 [MQTT-3.3.1-2]");
                }
                // Nothing was sent in a session that starts now: a DUP=1 PUBLISH would resume
                // one that ended [MQTT-3.1.2-6].
                assert!(
                    !(p.dup && self.new_session),
                    "DUP=1 PUBLISH in a new session (resumes an ended one) [MQTT-3.1.2-6]"
                );
                match p.qos_pid {
                    QosPid::AtMostOnce => {}
                    QosPid::AtLeastOnce(id) => self.send(Packet::PubAck(id)),
                    QosPid::ExactlyOnce(id) => {
                        self.incoming.insert(id.get());
                        self.pubrec_sent.insert(id.get());
                        self.send(Packet::PubRec(id));
                    }
                }
            }
            Packet::PubRel(id) => {
                // On a connection that began a new session, the client knew (it processed the
                // CONNACK before sending anything else); after a session-present CONNACK it
                // may not know that an earlier CONNACK it never got had replaced its session.
                assert!(
                    !self.new_session || self.pubrec_sent.contains(&id.get()),
                    "PUBREL for id {} never PUBREC'd in this session (state of an ended \
                     session reused) [MQTT-3.1.2-6]",
                    id.get()
                );
                self.incoming.remove(&id.get());
                self.send(Packet::PubComp(id));
            }
            Packet::PubAck(id) => {
                self.outgoing
                    .retain(|m| !(m.id == id.get() && m.qos == QoS::AtLeastOnce));
            }
            Packet::PubRec(id) => {
                if let Some(m) = self.outgoing.iter_mut().find(|m| m.id == id.get()) {
                    m.released = true;
                }
                self.send(Packet::PubRel(id));
            }
            Packet::PubComp(id) => {
                self.outgoing.retain(|m| !(m.id == id.get() && m.released));
            }
            Packet::Subscribe(s) => {
                let codes: Vec<u8> = s.filters.iter().map(|(_, q)| q.as_u8()).collect();
                let codes = SubAckCodes::new(&codes).expect("valid codes");
                self.send(Packet::SubAck(SubAck {
                    packet_id: s.packet_id,
                    codes,
                }));
            }
            Packet::Unsubscribe(u) => self.send(Packet::UnsubAck(u.packet_id)),
            Packet::PingReq => self.send(Packet::PingResp),
            Packet::Disconnect => self.got_disconnect = true,
            other => panic!("a client never sends {other:?}"),
        }
    }

    fn send_publish(&mut self, m: &BrokerOutgoing, dup: bool) {
        let qos_pid = match m.qos {
            QoS::AtMostOnce => QosPid::AtMostOnce,
            QoS::AtLeastOnce => QosPid::AtLeastOnce(pid(m.id)),
            QoS::ExactlyOnce => QosPid::ExactlyOnce(pid(m.id)),
        };
        let payload = m.payload.clone();
        self.send(Packet::Publish(Publish {
            dup: dup && m.qos != QoS::AtMostOnce,
            qos_pid,
            retain: false,
            topic: TopicName::new("in").expect("valid"),
            payload: &payload,
        }));
    }

    fn publish(&mut self, qos: QoS) {
        self.next_msg += 1;
        self.next_id = self.next_id % 1000 + 1;
        let m = BrokerOutgoing {
            id: self.next_id,
            qos,
            payload: self.next_msg.to_be_bytes().to_vec(),
            released: false,
        };
        self.send_publish(&m, false);
        if qos != QoS::AtMostOnce {
            self.outgoing.retain(|o| o.id != m.id);
            self.outgoing.push(m);
        }
    }
}

struct World<S: Store> {
    s: Session<S, Vec<u8>>,
    broker: Broker,
    now: Instant,
    /// Accepted QoS 1/2 publishes not yet completed or dropped.
    outstanding: BTreeMap<u16, QoS>,
    /// Deliveries of each broker QoS 2 message.
    qos2_deliveries: BTreeMap<Vec<u8>, u32>,
    connections: u32,
    disconnects: u32,
    /// Bytes the client sent, not carried to the broker yet.
    to_broker: Vec<u8>,
    window: usize,
    max_held: usize,
}

impl<S: Store> World<S> {
    fn new(config: Config, store: S) -> Self {
        World {
            window: usize::from(config.max_inflight),
            max_held: usize::from(config.max_inflight) + usize::from(config.max_queued),
            s: Session::new(config, store, vec![0; 512], vec![0; 512]),
            broker: Broker::default(),
            now: Instant::ZERO,
            outstanding: BTreeMap::new(),
            qos2_deliveries: BTreeMap::new(),
            connections: 0,
            disconnects: 0,
            to_broker: Vec::new(),
        }
    }

    fn pump(&mut self) {
        for _ in 0..10_000 {
            let mut busy = false;
            while let Some(e) = self.s.poll_event() {
                busy = true;
                match e {
                    Event::PublishAcknowledged { packet_id } => {
                        let q = self.outstanding.remove(&packet_id.get());
                        assert_eq!(q, Some(QoS::AtLeastOnce), "ack for {packet_id:?}");
                    }
                    Event::PublishCompleted { packet_id } => {
                        let q = self.outstanding.remove(&packet_id.get());
                        assert_eq!(q, Some(QoS::ExactlyOnce), "completion for {packet_id:?}");
                    }
                    Event::PublishDropped(m) => {
                        let q = self.outstanding.remove(&m.packet_id.get());
                        assert_eq!(q, Some(m.qos), "drop of {:?}", m.packet_id);
                    }
                    Event::PublishAcceptedSessionEnded { packet_id } => {
                        let q = self.outstanding.remove(&packet_id.get());
                        assert_eq!(q, Some(QoS::ExactlyOnce), "accepted {packet_id:?}");
                    }
                    Event::Republished { old, new } => {
                        let q = self.outstanding.remove(&old.get());
                        assert!(q.is_some(), "republished {old:?} not outstanding");
                        assert_ne!(old, new);
                        let before = self.outstanding.insert(new.get(), q.expect("checked"));
                        assert_eq!(before, None, "republished as {new:?}, already in use");
                    }
                    Event::Message(m) if m.qos == QoS::ExactlyOnce => {
                        *self.qos2_deliveries.entry(m.payload.to_vec()).or_default() += 1;
                    }
                    Event::Disconnected { .. } => self.disconnects += 1,
                    _ => {}
                }
            }
            let mut buf = [0u8; 300];
            loop {
                match self.s.poll_transmit(self.now, &mut buf) {
                    Ok(Some(n)) => {
                        busy = true;
                        self.to_broker
                            .extend_from_slice(buf.get(..n).expect("n fits"));
                    }
                    Ok(None) => break,
                    Err(e) => panic!("300-byte buffer too small: {e:?}"),
                }
            }
            if self.s.poll_timeout() == Some(self.now) {
                self.s.handle_timeout(self.now);
                busy = true;
            }
            if !busy {
                return;
            }
        }
        panic!("session never went quiet");
    }

    fn deliver(&mut self, max: usize, chunk: usize) {
        let n = max.min(self.broker.to_client.len());
        let bytes: Vec<u8> = self.broker.to_client.drain(..n).collect();
        for part in bytes.chunks(chunk.max(1)) {
            let mut rest = part;
            let mut stalls = 0;
            while !rest.is_empty() {
                let k = self.s.handle_receive(self.now, rest);
                rest = rest.get(k..).unwrap_or(&[]);
                self.pump();
                if k == 0 {
                    stalls += 1;
                    assert!(stalls < 100, "session never took the input");
                }
            }
        }
    }

    fn upload(&mut self, max: usize) {
        let n = max.min(self.to_broker.len());
        let bytes: Vec<u8> = self.to_broker.drain(..n).collect();
        self.broker.receive(&bytes);
    }

    fn connect(&mut self, clean: bool, forget: bool) {
        if self.s.state() != State::TransportDown {
            self.s.handle_transport_closed(self.now);
        }
        self.pump();
        self.to_broker.clear();
        self.broker.new_connection(forget);
        self.s.handle_transport_up(self.now);
        let opts = ConnectOptions {
            clean_session: clean,
            keep_alive: 20,
            ..ConnectOptions::new("model")
        };
        self.s
            .connect(self.now, &opts)
            .expect("connect after transport up");
        if clean {
            // The client discarded its session here [MQTT-3.1.2-6], even if this CONNECT never
            // reaches the broker: a broker that kept the old session and resends its QoS 2
            // PUBLISH to a later connection delivers a message that is new to the client.
            self.qos2_deliveries.clear();
        }
        self.connections += 1;
        self.pump();
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Publish { qos, len } => {
                let qos = QoS::from_u8(qos).expect("0..3");
                let payload = vec![0xAB; len];
                if let Ok(Some(id)) = self.s.publish(self.now, "out/t", &payload, qos, false) {
                    assert!(
                        self.outstanding.insert(id.get(), qos).is_none(),
                        "id {id:?} reused while in flight [MQTT-2.3.1-2]"
                    );
                }
            }
            Op::Subscribe { filters } => {
                let f = [
                    ("a/+", QoS::AtMostOnce),
                    ("b/#", QoS::AtLeastOnce),
                    ("c", QoS::ExactlyOnce),
                ];
                let _ = self.s.subscribe(self.now, f.get(..filters).unwrap_or(&f));
            }
            Op::Unsubscribe => {
                let _ = self.s.unsubscribe(self.now, &["a/+", "c"]);
            }
            Op::Tick { ms } => {
                let end = Instant::from_millis(self.now.as_millis() + ms);
                while let Some(t) = self.s.poll_timeout() {
                    if t > end {
                        break;
                    }
                    self.now = t.max(self.now);
                    self.s.handle_timeout(self.now);
                    self.pump();
                }
                self.now = end;
            }
            Op::Deliver { max, chunk } => self.deliver(max, chunk),
            Op::Upload { max } => self.upload(max),
            Op::BrokerPublish { qos } => {
                if self.broker.connected && !self.broker.got_disconnect {
                    self.broker.publish(QoS::from_u8(qos).expect("0..3"));
                }
            }
            Op::BrokerResend => {
                if self.broker.connected {
                    if let Some(m) = self.broker.outgoing.iter().find(|m| !m.released).cloned() {
                        self.broker.send_publish(&m, true);
                    }
                }
            }
            Op::BrokerStray { kind, id } => {
                if self.broker.connected {
                    let id = pid(id + 2000);
                    if kind == 1 {
                        // The client answers a PUBREC it does not know with PUBREL.
                        self.broker.pubrec_sent.insert(id.get());
                    }
                    self.broker.send(match kind {
                        0 => Packet::PubAck(id),
                        1 => Packet::PubRec(id),
                        2 => Packet::PubComp(id),
                        _ => Packet::PubRel(id),
                    });
                }
            }
            Op::Drop => {
                self.to_broker.clear();
                self.broker.new_connection(false);
                self.s.handle_transport_closed(self.now);
            }
            Op::Reconnect {
                clean,
                broker_forgets,
            } => self.connect(clean, broker_forgets),
            Op::Disconnect => {
                let _ = self.s.disconnect(self.now);
            }
        }
        self.pump();
    }

    fn check(&self) {
        let store = self.s.store();
        let held = store.outgoing_len();
        let mut ids = BTreeSet::new();
        for i in 0..held {
            let m = store.outgoing(i).expect("index below len");
            assert!(ids.insert(m.packet_id.get()), "packet id held twice");
            assert_ne!(m.qos, QoS::AtMostOnce);
        }
        assert!(
            self.s.inflight() <= self.window,
            "in-flight above the window"
        );
        assert!(held <= self.max_held, "more held than window + queue");
        let budget = self.s.config().max_held_bytes;
        if budget != usize::MAX {
            let needed: std::vec::Vec<usize> = (0..held)
                .map(|i| crate::session::needed_bytes(store, i))
                .filter(|&n| n > 0)
                .collect();
            let sum: usize = needed.iter().sum();
            assert_eq!(self.s.held_bytes, sum, "held byte count drifted");
            assert!(
                sum <= budget || needed.len() == 1,
                "{sum} bytes held over a budget of {budget}"
            );
        }
        let outstanding: BTreeSet<u16> = self.outstanding.keys().copied().collect();
        assert_eq!(outstanding, ids, "accepted publishes lost or invented");
        for (payload, n) in &self.qos2_deliveries {
            assert!(*n <= 1, "QoS 2 message {payload:?} delivered {n} times");
        }
        assert!(
            self.disconnects <= self.connections,
            "more Disconnected than connections"
        );
    }

    /// Reconnect to a broker that keeps the session and let everything finish.
    fn finish(&mut self) {
        self.connect(false, false);
        for _ in 0..50 {
            self.upload(usize::MAX);
            self.deliver(usize::MAX, 1000);
            self.pump();
            if self.broker.to_client.is_empty()
                && self.to_broker.is_empty()
                && self.s.store().outgoing_len() == 0
            {
                break;
            }
        }
        assert_eq!(self.s.state(), State::Connected);
        assert!(
            self.outstanding.is_empty(),
            "never acknowledged: {:?}",
            self.outstanding
        );
        assert_eq!(self.s.store().outgoing_len(), 0);
    }
}

fn config() -> impl Strategy<Value = Config> {
    (
        1u16..6,
        0u16..4,
        any::<bool>(),
        prop::option::of(0usize..120),
        any::<bool>(),
    )
        .prop_map(|(inflight, queued, drop, held_bytes, offline)| {
            Config::new()
                .with_max_inflight(inflight)
                .with_max_queued(queued)
                .with_max_held_bytes(held_bytes.unwrap_or(usize::MAX))
                .with_offline_publish(offline)
                .with_session_lost(if drop {
                    SessionLostPolicy::Drop
                } else {
                    SessionLostPolicy::Resend
                })
        })
}

fn run<S: Store>(config: Config, store: S, ops: &[Op]) {
    let mut w = World::new(config, store);
    w.connect(false, false);
    w.check();
    for op in ops {
        w.apply(op);
        w.check();
    }
    w.finish();
    w.check();
}

proptest! {
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn random_sessions_keep_their_invariants(
        config in config(),
        ops in prop::collection::vec(op(), 1..80),
    ) {
        run(config, VecStore::new(), &ops);
    }

    #[test]
    fn random_sessions_with_fixed_store(
        config in config(),
        ops in prop::collection::vec(op(), 1..60),
    ) {
        run(config, FixedStore::<8, 512>::new(), &ops);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..20),
        connected in any::<bool>(),
        ticks in prop::collection::vec(0u64..100_000, 0..5),
    ) {
        let mut s = Session::new(Config::default(), VecStore::new(), vec![0u8; 64], vec![0u8; 128]);
        let mut now = Instant::ZERO;
        s.handle_transport_up(now);
        s.connect(now, &ConnectOptions::new("fuzz")).expect("connect");
        let mut out = [0u8; 128];
        if connected {
            s.handle_receive(now, &[0x20, 2, 0, 0]);
        }
        for (i, chunk) in chunks.iter().enumerate() {
            let mut rest: &[u8] = chunk;
            for _ in 0..10 {
                let k = s.handle_receive(now, rest);
                rest = rest.get(k..).unwrap_or(&[]);
                while s.poll_event().is_some() {}
                while let Ok(Some(_)) = s.poll_transmit(now, &mut out) {}
                if rest.is_empty() { break; }
            }
            if let Some(t) = ticks.get(i) {
                now = Instant::from_millis(now.as_millis() + t);
                s.handle_timeout(now);
            }
            let _ = s.publish(now, "t", b"x", QoS::ExactlyOnce, false);
        }
    }
}

#[test]
fn model_broker_smoke() {
    // A fixed run through the model, so a broken model is caught without shrinking noise.
    let ops = [
        Op::Publish { qos: 1, len: 3 },
        Op::Publish { qos: 2, len: 3 },
        Op::BrokerPublish { qos: 2 },
        Op::Deliver {
            max: 1000,
            chunk: 1,
        },
        Op::Drop,
        Op::Reconnect {
            clean: false,
            broker_forgets: false,
        },
        Op::BrokerResend,
        Op::Deliver {
            max: 1000,
            chunk: 7,
        },
        Op::Upload { max: 1000 },
        Op::Deliver {
            max: 1000,
            chunk: 3,
        },
    ];
    run(Config::default(), VecStore::new(), &ops);
    let _ = PacketId::new(1);
}

/// A change to a store: `at` picks a held entry (modulo the count).
#[derive(Debug, Clone)]
enum StoreOp {
    Push {
        topic: usize,
        props: usize,
        payload: usize,
        expires: Option<u64>,
        qos2: bool,
    },
    Release {
        at: usize,
    },
    Remove {
        at: usize,
    },
    Renumber {
        at: usize,
    },
}

fn store_op() -> impl Strategy<Value = StoreOp> {
    prop_oneof![
        4 => (1usize..8, 0usize..30, 0usize..30, prop::option::of(0u64..100_000), any::<bool>())
            .prop_map(|(topic, props, payload, expires, qos2)| StoreOp::Push {
                topic,
                props,
                payload,
                expires,
                qos2,
            }),
        1 => (0usize..8).prop_map(|at| StoreOp::Release { at }),
        2 => (0usize..8).prop_map(|at| StoreOp::Remove { at }),
        1 => (0usize..8).prop_map(|at| StoreOp::Renumber { at }),
    ]
}

/// What a store should hold: one entry per message, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Held {
    id: u16,
    qos: QoS,
    state: crate::OutgoingState,
    topic: std::string::String,
    properties: Vec<u8>,
    payload: Vec<u8>,
    expires: Option<Instant>,
}

/// Apply `ops` to `store` and to a model of it; after each one the store hands back every
/// entry as the model has it (properties and expiry included, bytes dropped once released),
/// and `used` (a fixed store's arena use, if any) is the model's live bytes. A push the
/// store refuses must be over `capacity` (entries, bytes).
fn check_store<S: Store>(
    mut store: S,
    ops: &[StoreOp],
    capacity: Option<(usize, usize)>,
    used: impl Fn(&S) -> Option<usize>,
) {
    let mut model: Vec<Held> = Vec::new();
    let mut next = 1u16;
    let live = |m: &[Held]| -> usize {
        m.iter()
            .map(|h| h.topic.len() + h.properties.len() + h.payload.len())
            .sum()
    };
    for op in ops {
        let n = model.len();
        match *op {
            StoreOp::Push {
                topic,
                props,
                payload,
                expires,
                qos2,
            } => {
                let h = Held {
                    id: next,
                    qos: if qos2 {
                        QoS::ExactlyOnce
                    } else {
                        QoS::AtLeastOnce
                    },
                    state: crate::OutgoingState::Publish,
                    topic: "t/".repeat(topic),
                    properties: (0..props).map(|i| i as u8).collect(),
                    payload: vec![0xC3; payload],
                    expires: expires.map(Instant::from_millis),
                };
                next += 1;
                let pushed = store.push_outgoing(&crate::Outgoing {
                    packet_id: pid(h.id),
                    qos: h.qos,
                    retain: false,
                    state: h.state,
                    topic: &h.topic,
                    payload: &h.payload,
                    properties: &h.properties,
                    expires: h.expires,
                });
                match pushed {
                    Ok(()) => model.push(h),
                    Err(_) => {
                        let (slots, bytes) = capacity.expect("a growable store refused a push");
                        let need = h.topic.len() + h.properties.len() + h.payload.len();
                        assert!(
                            n >= slots || live(&model) + need > bytes,
                            "refused with room left"
                        );
                    }
                }
            }
            StoreOp::Release { at } if n > 0 => {
                let h = &mut model[at % n];
                if h.qos == QoS::ExactlyOnce {
                    assert!(store.release_outgoing(pid(h.id)));
                    h.state = crate::OutgoingState::Released;
                    h.topic.clear();
                    h.properties.clear();
                    h.payload.clear();
                }
            }
            StoreOp::Remove { at } if n > 0 => {
                let h = model.remove(at % n);
                assert!(store.remove_outgoing(pid(h.id)));
            }
            StoreOp::Renumber { at } if n > 0 => {
                // The session renumbers only messages whose PUBREC never came.
                let h = &mut model[at % n];
                if h.state == crate::OutgoingState::Publish {
                    assert!(store.renumber_outgoing(pid(h.id), pid(next)));
                    h.id = next;
                    next += 1;
                }
            }
            _ => {}
        }
        assert_eq!(store.outgoing_len(), model.len());
        for (i, h) in model.iter().enumerate() {
            let m = store.outgoing(i).expect("index below len");
            let got = Held {
                id: m.packet_id.get(),
                qos: m.qos,
                state: m.state,
                topic: m.topic.into(),
                properties: m.properties.to_vec(),
                payload: m.payload.to_vec(),
                expires: m.expires,
            };
            // A released entry may keep its bytes or not; a renumbered one keeps them.
            if h.state == crate::OutgoingState::Released {
                assert_eq!((got.id, got.qos, got.state), (h.id, h.qos, h.state));
            } else {
                assert_eq!(&got, h);
            }
        }
        if let Some(u) = used(&store) {
            assert_eq!(u, live(&model), "arena bytes drifted");
        }
    }
}

proptest! {
    #[test]
    fn stores_keep_properties_and_expiry_and_count_their_bytes(
        ops in prop::collection::vec(store_op(), 1..60),
    ) {
        check_store(VecStore::new(), &ops, None, |_| None);
        check_store(FixedStore::<6, 120>::new(), &ops, Some((6, 120)), |s| Some(s.bytes_used()));
    }
}
