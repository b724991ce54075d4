//! The `session` target: a [`Session`] driven by an arbitrary sequence of operations.
//!
//! An input whose first byte is [`V5`] (0xF5) runs the MQTT 5.0 half (`session_v5.rs`) on this
//! same harness, which hands it the version-specific operations and checks; every other input
//! is the 3.1.1 scenario described here, unchanged.
//!
//! The input is a setup (window, queue, timeouts, size limits, buffer sizes, store kind, resend
//! policy) followed by operations: transport up / closed, commands (connect, publish, subscribe,
//! unsubscribe, disconnect), bytes from the broker (well-formed packets built from the input,
//! including a cooperative broker that answers what the client sent, or raw bytes) fed in
//! arbitrary splits and through both receive APIs, ticks of arbitrary size (also backwards),
//! polls with small buffers, and restarting the session over the same store.
//!
//! Checked after every step, besides "no panic":
//! - packet ids: the store never gets two outgoing entries with one id nor an incoming id it
//!   holds; an id a command returns is not in use by a held message or a request of this
//!   connection; what the client sends with an id is what was published/requested with it;
//! - the window: at most `max_inflight` messages in flight, the store never holds more than
//!   window + queue, a QoS 1/2 PUBLISH or PUBREL goes out only for a message inside the window;
//! - bounds: `poll_transmit` writes whole, valid packets within the buffer and asks for more
//!   only when the next packet does not fit, `handle_receive` takes at most what fits, a message
//!   delivered is never larger than the incoming limit;
//! - every accepted QoS 1/2 publish is still held or was reported (acknowledged, completed or
//!   dropped) exactly once, and the store holds nothing that was not published;
//! - the connection: CONNECT first, nothing after DISCONNECT, no packet a client must not send,
//!   one `Connected` at most and exactly one `Disconnected` per connection, session present
//!   never accepted with clean session, a QoS 2 message delivered once per stored id;
//! - progress: a driver that polls as documented never spins (a deadline in the past that
//!   does nothing) and never stalls (input left that the session neither takes nor processes).

use std::collections::{BTreeMap, VecDeque};

use arbitrary::Unstructured;
use mqtt_proto::{
    ConnAck, ConnectReturnCode, Decoder, Packet, PacketId, PacketType, Publish, QoS, QosPid,
    SubAck, SubAckCodes, TopicName,
};
use mqtt_session::{
    CommandError, Config, ConnectOptions, Event, FixedStore, Instant, LastWill, Outgoing,
    OutgoingState, Session, SessionLostPolicy, State, Store, StoreError, VecStore,
};

use crate::input::In;

/// Whether `MQTT_FUZZ_TRACE` is set: print every operation, event and packet sent (to read a
/// crash input: `MQTT_FUZZ_TRACE=1 cargo test --manifest-path fuzz/Cargo.toml -- --nocapture`).
pub(crate) fn tracing() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("MQTT_FUZZ_TRACE").is_some())
}

macro_rules! trace {
    ($($arg:tt)*) => {
        if $crate::session::tracing() {
            eprintln!($($arg)*);
        }
    };
}
pub(crate) use trace;

// ---------------------------------------------------------------------------------------------
// A store wrapper that checks the session's side of the Store contract.
// ---------------------------------------------------------------------------------------------

/// Delegates to `S` and asserts what the [`Store`] docs promise: no two outgoing entries with
/// one id, no incoming id inserted twice; and that removals and releases name held entries.
pub struct Checked<S> {
    inner: S,
    /// Successful `insert_incoming` calls, ever.
    pub(crate) incoming_inserts: usize,
}

impl<S: Store> Store for Checked<S> {
    fn outgoing_len(&self) -> usize {
        self.inner.outgoing_len()
    }
    fn outgoing(&self, index: usize) -> Option<Outgoing<'_>> {
        self.inner.outgoing(index)
    }
    fn outgoing_position(&self, packet_id: PacketId) -> Option<usize> {
        self.inner.outgoing_position(packet_id)
    }
    fn push_outgoing(&mut self, message: &Outgoing<'_>) -> Result<(), StoreError> {
        assert!(
            self.inner.outgoing_position(message.packet_id).is_none(),
            "two outgoing entries with packet id {}",
            message.packet_id.get()
        );
        assert_ne!(message.qos, QoS::AtMostOnce, "QoS 0 in the store");
        assert_eq!(message.state, OutgoingState::Publish);
        let before = self.inner.outgoing_len();
        let r = self.inner.push_outgoing(message);
        let after = self.inner.outgoing_len();
        assert_eq!(after, before + usize::from(r.is_ok()));
        r
    }
    fn release_outgoing(&mut self, packet_id: PacketId) -> bool {
        let held = self
            .inner
            .outgoing_position(packet_id)
            .and_then(|i| self.inner.outgoing(i));
        assert!(
            matches!(held, Some(m) if m.qos == QoS::ExactlyOnce && m.state == OutgoingState::Publish),
            "release of {} which is {held:?}",
            packet_id.get()
        );
        self.inner.release_outgoing(packet_id)
    }
    fn remove_outgoing(&mut self, packet_id: PacketId) -> bool {
        let existed = self.inner.remove_outgoing(packet_id);
        assert!(existed, "removal of {} which is not held", packet_id.get());
        existed
    }
    fn renumber_outgoing(&mut self, old: PacketId, new: PacketId) -> bool {
        let held = self
            .inner
            .outgoing_position(old)
            .and_then(|i| self.inner.outgoing(i));
        assert!(
            matches!(held, Some(m) if m.state == OutgoingState::Publish),
            "renumbering of {} which is {held:?}",
            old.get()
        );
        assert!(
            self.inner.outgoing_position(new).is_none(),
            "renumbering {} to {}, which is held",
            old.get(),
            new.get()
        );
        let before = self.inner.outgoing_position(old);
        let existed = self.inner.renumber_outgoing(old, new);
        assert!(existed);
        assert_eq!(
            self.inner.outgoing_position(new),
            before,
            "renumbering moved it"
        );
        existed
    }
    fn contains_incoming(&self, packet_id: PacketId) -> bool {
        self.inner.contains_incoming(packet_id)
    }
    fn insert_incoming(&mut self, packet_id: PacketId) -> Result<(), StoreError> {
        assert!(
            !self.inner.contains_incoming(packet_id),
            "incoming id {} inserted twice",
            packet_id.get()
        );
        let r = self.inner.insert_incoming(packet_id);
        if r.is_ok() {
            assert!(self.inner.contains_incoming(packet_id));
            self.incoming_inserts += 1;
        }
        r
    }
    fn remove_incoming(&mut self, packet_id: PacketId) -> bool {
        let r = self.inner.remove_incoming(packet_id);
        assert!(!self.inner.contains_incoming(packet_id));
        r
    }
    fn clear_incoming(&mut self) {
        self.inner.clear_incoming();
    }
}

// ---------------------------------------------------------------------------------------------
// Setup and operations.
// ---------------------------------------------------------------------------------------------

pub(crate) const TOPICS: &[&str] = &["a", "a/b", "sport/tennis/player1", "$SYS/uptime", "t"];
pub(crate) const FILTERS: &[&str] = &["a", "a/+", "#", "sport/#", "+/+", "$SYS/#"];
/// The driver's send buffer in a well-behaved loop.
pub(crate) const BIG: usize = 1 << 17;

pub(crate) struct Setup {
    pub(crate) config: Config,
    pub(crate) rx_len: usize,
    pub(crate) tx_len: usize,
    pub(crate) fixed_store: bool,
    pub(crate) store_limit: usize,
    /// Drain events and transmit after every operation, as the docs ask.
    pub(crate) auto_drain: bool,
}

impl Setup {
    pub(crate) fn read(r: &mut In<'_, '_>) -> Setup {
        let max_inflight = [0u16, 1, 2, 3, 4, 8, 16, 2000][usize::from(r.u8() % 8)];
        let max_queued = u16::from(r.u8() % 4);
        let connack_timeout = u64::from(r.u8()) * 100 + 1;
        let ping_timeout = u64::from(r.u8()) * 50 + 1;
        let max_incoming = match r.u8() {
            0xFF | 0 => usize::MAX,
            b => usize::from(b) * 2,
        };
        let rx_len = 2 + usize::from(r.u8()) * 3;
        let tx_len = 2 + usize::from(r.u8()) * 3;
        let flags = r.u8();
        let store_limit = usize::from(r.u8() % 32);
        let policy = if flags & 1 != 0 {
            SessionLostPolicy::Drop
        } else {
            SessionLostPolicy::Resend
        };
        Setup {
            config: Config::default()
                .with_max_inflight(max_inflight)
                .with_max_queued(max_queued)
                .with_connack_timeout(std::time::Duration::from_millis(connack_timeout))
                .with_ping_timeout(std::time::Duration::from_millis(ping_timeout))
                .with_max_incoming_packet(max_incoming)
                .with_session_lost(policy),
            rx_len,
            tx_len,
            fixed_store: flags & 2 != 0,
            store_limit,
            auto_drain: flags & 4 != 0,
        }
    }
}

/// What a request was, to check its acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Request {
    Subscribe(usize),
    Unsubscribe(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Published {
    pub(crate) qos: QoS,
    pub(crate) retain: bool,
    pub(crate) topic: String,
    pub(crate) payload: Vec<u8>,
    /// 5.0: the PUBLISH properties given, as wire bytes without their length (empty in 3.1.1).
    pub(crate) props: Vec<u8>,
}

/// One connection as seen in events: started by `connect`, ended by `Disconnected`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Conn {
    /// Its number (`Harness::conn_no` when it was made).
    pub(crate) no: usize,
    pub(crate) clean_session: bool,
    pub(crate) connected_seen: bool,
}

/// The client's byte stream on the current connection.
#[derive(Debug, Default)]
pub(crate) struct Wire {
    pub(crate) connect_sent: bool,
    pub(crate) disconnect_sent: bool,
}

pub(crate) struct Harness<S: Store> {
    /// The driver's send buffer, reused.
    pub(crate) out: Vec<u8>,
    /// A message reported dropped, which the store holds until the next call.
    pub(crate) pending_drop: Option<u16>,
    pub(crate) session: Session<Checked<S>, Vec<u8>>,
    pub(crate) config: Config,
    pub(crate) window: usize,
    pub(crate) rx_len: usize,
    pub(crate) tx_len: usize,
    pub(crate) auto_drain: bool,
    pub(crate) now: u64,
    /// Broker bytes not taken by the session yet.
    pub(crate) inbound: Vec<u8>,
    /// Accepted QoS 1/2 publishes not reported done yet.
    pub(crate) published: BTreeMap<u16, Published>,
    /// SUBSCRIBE/UNSUBSCRIBE not acknowledged yet, with the connection they were made on.
    pub(crate) requests: BTreeMap<u16, (Request, usize)>,
    /// Every SUBSCRIBE/UNSUBSCRIBE made, by id (latest), with its connection: a broker may
    /// acknowledge one before it is written out.
    pub(crate) issued: BTreeMap<u16, (Request, usize)>,
    /// Connections whose `Disconnected` was not polled yet, oldest first.
    pub(crate) conns: VecDeque<Conn>,
    /// Number of the current connection (`connect` calls that succeeded).
    pub(crate) conn_no: usize,
    pub(crate) wire: Wire,
    /// What a cooperative broker would answer to what the client sent, in order.
    pub(crate) to_answer: VecDeque<Vec<u8>>,
    /// Packet ids the client used, most recent last (for the broker to refer to).
    pub(crate) ids: Vec<u16>,
    /// QoS 2 messages delivered, ever.
    pub(crate) q2_delivered: usize,
    /// The 5.0 model (`session_v5`): `None` on the 3.1.1 path, which it leaves unchanged.
    pub(crate) v5: Option<Box<crate::session_v5::Model>>,
}

pub(crate) fn encode(p: &Packet<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; p.encoded_len()];
    match p.encode(&mut buf) {
        Ok(n) => buf.truncate(n),
        Err(e) => panic!("the harness built an invalid packet {p:?}: {e:?}"),
    }
    buf
}

pub(crate) fn pid(id: u16) -> PacketId {
    PacketId::new(id).unwrap_or(PacketId(core::num::NonZeroU16::MIN))
}

pub(crate) fn qos_of(b: u8) -> QoS {
    match b % 3 {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

impl<S: Store + Default> Harness<S> {
    pub(crate) fn new(setup: &Setup, store: S) -> Self {
        let config = setup.config;
        let window = usize::from(config.max_inflight.clamp(1, Config::MAX_INFLIGHT));
        Harness {
            session: Session::new(
                config,
                Checked {
                    inner: store,
                    incoming_inserts: 0,
                },
                vec![0; setup.rx_len],
                vec![0; setup.tx_len],
            ),
            config,
            window,
            rx_len: setup.rx_len,
            tx_len: setup.tx_len,
            auto_drain: setup.auto_drain,
            now: 0,
            inbound: Vec::new(),
            published: BTreeMap::new(),
            requests: BTreeMap::new(),
            issued: BTreeMap::new(),
            conns: VecDeque::new(),
            conn_no: 0,
            wire: Wire::default(),
            to_answer: VecDeque::new(),
            ids: Vec::new(),
            q2_delivered: 0,
            pending_drop: None,
            out: vec![0; BIG],
            v5: None,
        }
    }

    pub(crate) fn now(&self) -> Instant {
        Instant::from_millis(self.now)
    }

    pub(crate) fn remember_id(&mut self, id: u16) {
        if self.ids.len() >= 32 {
            self.ids.remove(0);
        }
        self.ids.push(id);
    }

    /// A packet id for the broker to use: mostly one the client used.
    pub(crate) fn pick_id(&self, r: &mut In<'_, '_>) -> u16 {
        let b = r.u8();
        if b < 0xC0 && !self.ids.is_empty() {
            let i = self.ids.len() - 1 - usize::from(b) % self.ids.len();
            self.ids.get(i).copied().unwrap_or(1)
        } else {
            r.u16().max(1)
        }
    }

    pub(crate) fn topic<'a>(r: &mut In<'a, '_>) -> &'a str {
        let b = r.u8();
        match TOPICS.get(usize::from(b)) {
            Some(t) => t,
            None if b == 0xFF => r.str(),
            None => TOPICS[usize::from(b) % TOPICS.len()],
        }
    }

    pub(crate) fn filter<'a>(r: &mut In<'a, '_>) -> &'a str {
        let b = r.u8();
        match FILTERS.get(usize::from(b)) {
            Some(f) => f,
            None if b == 0xFF => r.str(),
            None => FILTERS[usize::from(b) % FILTERS.len()],
        }
    }

    /// An id a command returned: not in use by a held message or a live request.
    pub(crate) fn check_new_id(&self, id: PacketId) {
        let id = id.get();
        assert!(
            !self.published.contains_key(&id),
            "id {id} returned while a publish holds it"
        );
        if let Some((_, conn)) = self.requests.get(&id) {
            assert_ne!(
                *conn, self.conn_no,
                "id {id} returned while a request of this connection holds it"
            );
        }
    }

    // -- operations ---------------------------------------------------------------------------

    pub(crate) fn step(&mut self, r: &mut In<'_, '_>) {
        let op = r.u8();
        trace!(
            "op {} at {} in {:?}",
            op % 16,
            self.now,
            self.session.state()
        );
        if self.v5.is_some() && self.step_v5(op % 16, r) {
            if self.auto_drain {
                self.drain();
            }
            self.check();
            return;
        }
        match op % 16 {
            0 => {
                self.session.handle_transport_up(self.now());
                self.inbound.clear();
                self.to_answer.clear();
            }
            1 => {
                self.session.handle_transport_closed(self.now());
                self.inbound.clear();
                self.to_answer.clear();
            }
            2 => self.connect(r),
            3 => self.publish(r),
            4 => self.subscribe(r),
            5 => self.unsubscribe(r),
            6 => {
                let before = self.session.state();
                let res = self.session.disconnect(self.now());
                assert_eq!(
                    res.is_ok(),
                    matches!(before, State::Connecting | State::Connected),
                    "disconnect in {before:?}: {res:?}"
                );
            }
            7 => {
                self.broker_packet(r);
                self.feed(usize::MAX);
            }
            8 => {
                let bytes = r.bytes();
                self.inbound.extend_from_slice(bytes);
                let chunk = usize::from(r.u8()).max(1);
                self.feed(chunk);
            }
            9 => {
                let chunk = usize::from(r.u8()).max(1);
                self.feed(chunk);
            }
            10 => {
                let n = usize::from(r.u8());
                self.feed_zero_copy(n);
            }
            11 => self.tick(r),
            12 => {
                let n = usize::from(r.u8() % 8) + 1;
                for _ in 0..n {
                    if !self.poll_one_event() {
                        break;
                    }
                }
            }
            13 => {
                let size = match r.u8() {
                    0 => 0,
                    b @ 1..=200 => usize::from(b),
                    _ => BIG,
                };
                self.transmit(size);
            }
            14 => self.restart(),
            _ => self.settle(),
        }
        if self.auto_drain {
            self.drain();
        }
        self.check();
    }

    pub(crate) fn connect(&mut self, r: &mut In<'_, '_>) {
        let flags = r.u8();
        let keep_alive = u16::from(r.u8());
        let will_topic = Self::topic(r);
        let will_payload = r.bytes();
        let client_id = if flags & 16 != 0 { "" } else { "fuzz-client" };
        let options = ConnectOptions {
            client_id,
            clean_session: flags & 1 != 0,
            keep_alive,
            username: (flags & 4 != 0).then_some("user"),
            password: (flags & 8 != 0).then_some(b"secret".as_slice()),
            will: (flags & 2 != 0).then_some(LastWill {
                topic: will_topic,
                payload: will_payload,
                qos: qos_of(flags >> 5),
                retain: flags & 0x80 != 0,
            }),
        };
        let before = self.session.state();
        match self.session.connect(self.now(), &options) {
            Ok(()) => {
                assert_eq!(before, State::TransportUp, "connect accepted in {before:?}");
                assert_eq!(self.session.state(), State::Connecting);
                self.conn_no += 1;
                self.conns.push_back(Conn {
                    no: self.conn_no,
                    clean_session: options.clean_session,
                    connected_seen: false,
                });
                self.wire = Wire::default();
            }
            Err(e) => {
                assert_eq!(
                    self.session.state(),
                    before,
                    "a refused connect changed the state"
                );
                match e {
                    CommandError::TransportDown => {
                        assert!(matches!(before, State::TransportDown | State::Closed));
                    }
                    CommandError::AlreadyConnected => assert!(matches!(
                        before,
                        State::Connecting | State::Connected | State::Disconnecting
                    )),
                    CommandError::EmptyClientIdWithoutCleanSession => {
                        assert!(client_id.is_empty() && !options.clean_session);
                    }
                    CommandError::PacketTooLarge { required } => {
                        assert!(required > self.tx_len);
                    }
                    _ => {}
                }
            }
        }
    }

    pub(crate) fn publish(&mut self, r: &mut In<'_, '_>) {
        let flags = r.u8();
        let qos = qos_of(flags);
        let retain = flags & 4 != 0;
        let topic = Self::topic(r);
        let payload = r.bytes();
        let before_state = self.session.state();
        // A message reported dropped leaves the store at the start of this call.
        let store = self.session.store();
        let settled = self
            .pending_drop
            .take()
            .is_some_and(|id| store.outgoing_position(pid(id)).is_some());
        let before_len = store.outgoing_len() - usize::from(settled);
        match self
            .session
            .publish(self.now(), topic, payload, qos, retain)
        {
            Ok(None) => {
                assert_eq!(qos, QoS::AtMostOnce);
                assert_eq!(self.session.store().outgoing_len(), before_len);
            }
            Ok(Some(id)) => {
                assert_ne!(qos, QoS::AtMostOnce);
                assert_eq!(before_state, State::Connected);
                self.check_new_id(id);
                assert_eq!(self.session.store().outgoing_len(), before_len + 1);
                let held = self.session.store().outgoing(before_len);
                assert!(
                    matches!(held, Some(m) if m.packet_id == id && m.topic == topic && m.payload == payload && m.qos == qos && m.retain == retain),
                    "the store holds {held:?} for publish {}",
                    id.get()
                );
                self.published.insert(
                    id.get(),
                    Published {
                        qos,
                        retain,
                        topic: topic.to_owned(),
                        payload: payload.to_vec(),
                        props: Vec::new(),
                    },
                );
                self.remember_id(id.get());
            }
            Err(e) => {
                assert_eq!(self.session.store().outgoing_len(), before_len);
                assert_eq!(self.session.state(), before_state);
                if e == CommandError::NotConnected {
                    assert_ne!(before_state, State::Connected);
                }
                if let CommandError::Invalid(_) = e {
                    assert!(TopicName::new(topic).is_err());
                }
            }
        }
    }

    pub(crate) fn subscribe(&mut self, r: &mut In<'_, '_>) {
        let n = usize::from(r.u8() % 5);
        let filters: Vec<(&str, QoS)> = (0..n).map(|_| (Self::filter(r), qos_of(r.u8()))).collect();
        let before = self.session.state();
        match self.session.subscribe(self.now(), &filters) {
            Ok(id) => {
                assert_eq!(before, State::Connected);
                assert!(n > 0);
                self.check_new_id(id);
                self.requests
                    .insert(id.get(), (Request::Subscribe(n), self.conn_no));
                self.issued
                    .insert(id.get(), (Request::Subscribe(n), self.conn_no));
                self.remember_id(id.get());
            }
            Err(e) => {
                assert_eq!(self.session.state(), before);
                if n == 0 && before == State::Connected {
                    assert_eq!(e, CommandError::NoFilters);
                }
            }
        }
    }

    pub(crate) fn unsubscribe(&mut self, r: &mut In<'_, '_>) {
        let n = usize::from(r.u8() % 5);
        let filters: Vec<&str> = (0..n).map(|_| Self::filter(r)).collect();
        let before = self.session.state();
        match self.session.unsubscribe(self.now(), &filters) {
            Ok(id) => {
                assert_eq!(before, State::Connected);
                assert!(n > 0);
                self.check_new_id(id);
                self.requests
                    .insert(id.get(), (Request::Unsubscribe(n), self.conn_no));
                self.issued
                    .insert(id.get(), (Request::Unsubscribe(n), self.conn_no));
                self.remember_id(id.get());
            }
            Err(_) => assert_eq!(self.session.state(), before),
        }
    }

    /// A well-formed packet from the broker, appended to the inbound bytes.
    pub(crate) fn broker_packet(&mut self, r: &mut In<'_, '_>) {
        let kind = r.u8();
        let bytes = match kind % 12 {
            0 => {
                let b = r.u8();
                let code = ConnectReturnCode::from_u8(b % 8).unwrap_or(ConnectReturnCode::Accepted);
                encode(&Packet::ConnAck(ConnAck {
                    session_present: b & 0x80 != 0 && code == ConnectReturnCode::Accepted,
                    code,
                }))
            }
            1 => {
                let flags = r.u8();
                let qos = qos_of(flags);
                let id = pid(self.pick_id(r));
                let topic = Self::topic(r);
                let Ok(topic) = TopicName::new(topic).or_else(|_| TopicName::new("t")) else {
                    return;
                };
                let payload = r.bytes();
                encode(&Packet::Publish(Publish {
                    dup: flags & 4 != 0 && qos != QoS::AtMostOnce,
                    qos_pid: QosPid::from_qos(qos, id),
                    retain: flags & 8 != 0,
                    topic,
                    payload,
                }))
            }
            2 => encode(&Packet::PubAck(pid(self.pick_id(r)))),
            3 => encode(&Packet::PubRec(pid(self.pick_id(r)))),
            4 => encode(&Packet::PubRel(pid(self.pick_id(r)))),
            5 => encode(&Packet::PubComp(pid(self.pick_id(r)))),
            6 => {
                let id = self.pick_id(r);
                let b = r.u8();
                let n = match self.requests.get(&id) {
                    Some((Request::Subscribe(n), _)) if b < 0xE0 => *n,
                    _ => usize::from(b % 4) + 1,
                };
                let codes: Vec<u8> = (0..n)
                    .map(|i| [0x00, 0x01, 0x02, 0x80][usize::from(b.rotate_left(i as u32 * 2) % 4)])
                    .collect();
                let Ok(codes) = SubAckCodes::new(&codes) else {
                    return;
                };
                encode(&Packet::SubAck(SubAck {
                    packet_id: pid(id),
                    codes,
                }))
            }
            7 => encode(&Packet::UnsubAck(pid(self.pick_id(r)))),
            8 => encode(&Packet::PingResp),
            9 => {
                // A packet a client never receives.
                match r.u8() % 3 {
                    0 => encode(&Packet::PingReq),
                    1 => encode(&Packet::Disconnect),
                    _ => encode(&Packet::Connect(mqtt_proto::Connect::new("x", 0))),
                }
            }
            _ => {
                // A cooperative broker: answer what the client sent, oldest first.
                let n = usize::from(r.u8() % 8) + 1;
                let mut out = Vec::new();
                for _ in 0..n {
                    match self.to_answer.pop_front() {
                        Some(b) => out.extend_from_slice(&b),
                        None => break,
                    }
                }
                out
            }
        };
        self.inbound.extend_from_slice(&bytes);
    }

    /// Give the session up to `chunk` inbound bytes (once).
    pub(crate) fn feed(&mut self, chunk: usize) -> usize {
        let n = chunk.min(self.inbound.len());
        if n == 0 {
            return 0;
        }
        let data = self.inbound.get(..n).unwrap_or_default().to_vec();
        let receiving = self.receiving();
        let taken = self.session.handle_receive(self.now(), &data);
        trace!("  received {data:02X?}: took {taken}");
        assert!(taken <= n, "handle_receive took {taken} of {n}");
        if matches!(self.session.state(), State::Connecting | State::Connected) {
            assert!(
                taken <= self.rx_len,
                "took {taken} into a {}-byte buffer",
                self.rx_len
            );
        }
        if receiving && self.v5.is_some() {
            self.fed_v5(data.get(..taken).unwrap_or_default());
        }
        self.inbound.drain(..taken);
        taken
    }

    pub(crate) fn feed_zero_copy(&mut self, want: usize) {
        let now = self.now();
        let receiving = self.receiving();
        let buf = self.session.receive_buffer();
        assert!(buf.len() <= self.rx_len);
        let n = want.min(buf.len()).min(self.inbound.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), self.inbound.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.session.handle_received(now, n);
        if receiving && self.v5.is_some() {
            let fed = self.inbound.get(..n).unwrap_or_default().to_vec();
            self.fed_v5(&fed);
        }
        self.inbound.drain(..n);
    }

    pub(crate) fn tick(&mut self, r: &mut In<'_, '_>) {
        let b = r.u8();
        let amount = u64::from(r.u8());
        let at = match b % 5 {
            0 => {
                self.now += amount;
                self.now
            }
            1 => {
                self.now += amount * 1000;
                self.now
            }
            2 | 3 => {
                if let Some(t) = self.session.poll_timeout() {
                    self.now = self.now.max(t.as_millis());
                }
                self.now
            }
            // Time going backwards: clamped by the session.
            _ => self.now.saturating_sub(amount * 100),
        };
        self.session.handle_timeout(Instant::from_millis(at));
    }

    /// One `poll_event`; false when there was none.
    pub(crate) fn poll_one_event(&mut self) -> bool {
        let max_incoming = self.session.max_incoming_packet();
        let rx_len = self.rx_len;
        let Some(event) = self.session.poll_event() else {
            return false;
        };
        // Copy what the checks need: the event borrows the session.
        trace!("  event {event:?}");
        let summary = Summary::of(&event);
        if self.v5.is_some() {
            let v5 = crate::session_v5::EventV5::of(&event);
            self.event_v5(v5);
        }
        match summary {
            Summary::Connected { session_present } => {
                let Some(conn) = self.conns.front_mut() else {
                    panic!("Connected without a connection");
                };
                assert!(!conn.connected_seen, "two Connected on one connection");
                conn.connected_seen = true;
                assert!(
                    !(session_present && conn.clean_session),
                    "session present accepted with clean session"
                );
            }
            Summary::Refused => {
                assert!(self.conns.front().is_some_and(|c| !c.connected_seen));
            }
            Summary::Message {
                qos,
                packet_id,
                size,
                topic_ok,
            } => {
                assert!(topic_ok, "a message with an invalid topic");
                assert_eq!(qos != QoS::AtMostOnce, packet_id.is_some());
                // 5.0 checks the exact size of the packet it came in (`session_v5`): this
                // 3.1.1 size leaves out the properties and counts a topic an alias stood for.
                if self.v5.is_none() {
                    assert!(
                        size <= max_incoming,
                        "a {size}-byte message over the {max_incoming} limit"
                    );
                    assert!(size <= rx_len + 5);
                }
                if qos == QoS::ExactlyOnce {
                    self.q2_delivered += 1;
                    assert!(
                        self.q2_delivered <= self.session.store().incoming_inserts,
                        "a QoS 2 message delivered twice for one stored id"
                    );
                }
            }
            Summary::Acknowledged(id) => match self.published.remove(&id) {
                Some(p) => assert_eq!(p.qos, QoS::AtLeastOnce, "PUBACK completed QoS 2 id {id}"),
                None => panic!("PublishAcknowledged for {id}, not held"),
            },
            Summary::Completed(id) => match self.published.remove(&id) {
                Some(p) => assert_eq!(p.qos, QoS::ExactlyOnce, "PUBCOMP completed QoS 1 id {id}"),
                None => panic!("PublishCompleted for {id}, not held"),
            },
            Summary::Rejected(id) => {
                assert!(
                    self.published.remove(&id).is_some(),
                    "PublishRejected for {id}, not held"
                );
            }
            Summary::Unsent(id) => {
                assert!(
                    self.published.remove(&id).is_some(),
                    "PublishExpired or PublishNotSendable for {id}, not held"
                );
            }
            Summary::Accepted(id) => match self.published.remove(&id) {
                Some(p) => assert_eq!(p.qos, QoS::ExactlyOnce, "QoS 1 id {id} reported accepted"),
                None => panic!("PublishAcceptedSessionEnded for {id}, not held"),
            },
            Summary::Republished { old, new } => {
                assert_ne!(old, new, "republished under its old id");
                let Some(p) = self.published.remove(&old) else {
                    panic!("Republished {old}, not held");
                };
                assert!(
                    self.published.insert(new, p).is_none(),
                    "republished as {new}, which is held"
                );
            }
            Summary::Dropped {
                id,
                qos,
                retain,
                content,
            } => match self.published.remove(&id) {
                Some(p) => {
                    self.pending_drop = Some(id);
                    assert_eq!((p.qos, p.retain), (qos, retain));
                    if let Some((topic, payload)) = content {
                        assert_eq!((&p.topic, &p.payload), (&topic, &payload));
                    }
                }
                None => panic!("PublishDropped for {id}, not held"),
            },
            Summary::Subscribed { id, results } => match self.requests.remove(&id) {
                Some((Request::Subscribe(n), _)) => assert_eq!(n, results, "SUBACK results"),
                other => panic!("Subscribed for {id}: {other:?}"),
            },
            Summary::Unsubscribed(id) => match self.requests.remove(&id) {
                Some((Request::Unsubscribe(_), _)) => {}
                other => panic!("Unsubscribed for {id}: {other:?}"),
            },
            Summary::Disconnected => {
                assert!(
                    self.conns.pop_front().is_some(),
                    "Disconnected without a connection"
                );
            }
            Summary::Other => {}
        }
        true
    }

    /// One `poll_transmit` into a buffer of `size` bytes; the number of bytes written.
    pub(crate) fn transmit(&mut self, size: usize) -> usize {
        let mut buf = std::mem::take(&mut self.out);
        let n = self.transmit_into(buf.get_mut(..size).unwrap_or_default());
        self.out = buf;
        n
    }

    pub(crate) fn transmit_into(&mut self, buf: &mut [u8]) -> usize {
        let size = buf.len();
        let active_before = matches!(
            self.session.state(),
            State::Connecting | State::Connected | State::Disconnecting
        );
        // 5.0: whether the session had the broker's CONNACK limits when it wrote these bytes.
        let limits_known = self.session.server_limits().is_some();
        match self.session.poll_transmit(self.now(), buf) {
            Ok(None) => 0,
            Ok(Some(n)) => {
                assert!(active_before, "bytes sent with no connection");
                assert!(n > 0 && n <= size, "poll_transmit wrote {n} into {size}");
                trace!("  sent {:02X?}", buf.get(..n).unwrap_or_default());
                if self.v5.is_some() {
                    self.check_sent_v5(buf.get(..n).unwrap_or_default(), limits_known);
                } else {
                    self.check_sent(buf.get(..n).unwrap_or_default());
                }
                n
            }
            Err(e) => {
                assert!(
                    e.required > size,
                    "poll_transmit refused a {size}-byte buffer for a {}-byte packet",
                    e.required
                );
                0
            }
        }
    }

    /// The client's bytes: whole valid packets, in a valid order, naming held ids.
    pub(crate) fn check_sent(&mut self, mut bytes: &[u8]) {
        let decoder = Decoder::new();
        while !bytes.is_empty() {
            let (packet, used) = match decoder.decode(bytes) {
                Ok(Some(x)) => x,
                other => panic!("the client sent {bytes:02X?}: {other:?}"),
            };
            bytes = bytes.get(used..).unwrap_or_default();
            let ty = packet.packet_type();
            assert!(ty.server_may_receive(), "the client sent {ty:?}");
            assert!(!self.wire.disconnect_sent, "{ty:?} sent after DISCONNECT");
            if ty == PacketType::Connect {
                assert!(!self.wire.connect_sent, "a second CONNECT");
                self.wire.connect_sent = true;
                self.to_answer.push_back(encode(&Packet::ConnAck(ConnAck {
                    session_present: matches!(packet, Packet::Connect(c) if !c.clean_session),
                    code: ConnectReturnCode::Accepted,
                })));
                continue;
            }
            // [MQTT-3.1.0-1], even when the broker answers before CONNECT is written.
            assert!(self.wire.connect_sent, "{ty:?} before CONNECT");
            match packet {
                Packet::Publish(p) => match p.qos_pid.packet_id() {
                    None => {}
                    Some(id) => {
                        let i = self.session.store().outgoing_position(id);
                        assert!(
                            i.is_some_and(|i| i < self.window),
                            "PUBLISH {} sent at store index {i:?}, window {}",
                            id.get(),
                            self.window
                        );
                        match self.published.get(&id.get()) {
                            Some(m) => assert_eq!(
                                (m.qos, m.retain, m.topic.as_str(), &m.payload[..]),
                                (p.qos_pid.qos(), p.retain, p.topic.as_str(), p.payload),
                                "PUBLISH {} content",
                                id.get()
                            ),
                            None => panic!("PUBLISH {} which was never published", id.get()),
                        }
                        let answer = match p.qos_pid {
                            QosPid::ExactlyOnce(_) => Packet::PubRec(id),
                            _ => Packet::PubAck(id),
                        };
                        self.to_answer.push_back(encode(&answer));
                    }
                },
                Packet::PubRel(id) => {
                    if let Some(i) = self.session.store().outgoing_position(id) {
                        assert!(i < self.window, "PUBREL {} outside the window", id.get());
                    }
                    self.to_answer.push_back(encode(&Packet::PubComp(id)));
                }
                Packet::Subscribe(s) => {
                    let id = s.packet_id.get();
                    match self.issued.get(&id) {
                        Some((Request::Subscribe(n), c)) if *c == self.conn_no => {
                            assert_eq!(*n, s.filters.len());
                            let codes: Vec<u8> = s.filters.iter().map(|(_, q)| q.as_u8()).collect();
                            if let Ok(codes) = SubAckCodes::new(&codes) {
                                self.to_answer.push_back(encode(&Packet::SubAck(SubAck {
                                    packet_id: s.packet_id,
                                    codes,
                                })));
                            }
                        }
                        other => panic!("SUBSCRIBE {id} sent for {other:?}"),
                    }
                }
                Packet::Unsubscribe(u) => {
                    let id = u.packet_id.get();
                    match self.issued.get(&id) {
                        Some((Request::Unsubscribe(n), c)) if *c == self.conn_no => {
                            assert_eq!(*n, u.filters.len());
                            self.to_answer
                                .push_back(encode(&Packet::UnsubAck(u.packet_id)));
                        }
                        other => panic!("UNSUBSCRIBE {id} sent for {other:?}"),
                    }
                }
                Packet::PingReq => self.to_answer.push_back(encode(&Packet::PingResp)),
                Packet::Disconnect => self.wire.disconnect_sent = true,
                _ => {}
            }
        }
    }

    /// Poll events and transmit until both are empty, as the docs ask after every call.
    pub(crate) fn drain(&mut self) -> bool {
        let mut progressed = false;
        let mut rounds = 0;
        loop {
            rounds += 1;
            assert!(rounds < 100_000, "draining never ends");
            if self.poll_one_event() {
                progressed = true;
                continue;
            }
            self.check_drained();
            if self.transmit(BIG) > 0 {
                progressed = true;
                continue;
            }
            if self.v5.is_some() {
                self.drained_v5();
            }
            return progressed;
        }
    }

    /// A driver's loop until nothing is left to do now: it must neither spin nor stall.
    pub(crate) fn settle(&mut self) {
        let mut idle = 0;
        for _ in 0..10_000 {
            let mut progressed = self.drain();
            if !self.inbound.is_empty() && self.feed(usize::MAX) > 0 {
                progressed = true;
            }
            let due = self
                .session
                .poll_timeout()
                .is_some_and(|t| t.as_millis() <= self.now);
            if due {
                self.session.handle_timeout(self.now());
            }
            if progressed {
                idle = 0;
                continue;
            }
            if !due && (self.inbound.is_empty() || !self.receiving()) {
                return;
            }
            idle += 1;
            assert!(
                idle < 3,
                "no progress: state {:?}, deadline {:?} at {}, {} inbound bytes",
                self.session.state(),
                self.session.poll_timeout(),
                self.now,
                self.inbound.len()
            );
        }
        panic!("the driver loop never settles");
    }

    pub(crate) fn receiving(&self) -> bool {
        matches!(self.session.state(), State::Connecting | State::Connected)
    }

    /// Restart the session over its store, as after a process restart: unpolled events are gone;
    /// the store is the truth.
    pub(crate) fn restart(&mut self) {
        let config = self.config;
        let placeholder = Session::new(
            config,
            Checked {
                inner: S::default(),
                incoming_inserts: 0,
            },
            Vec::new(),
            Vec::new(),
        );
        let old = std::mem::replace(&mut self.session, placeholder);
        let store = old.into_store();
        self.session = Session::new(config, store, vec![0; self.rx_len], vec![0; self.tx_len]);
        let store = self.session.store();
        self.published
            .retain(|id, _| store.outgoing_position(pid(*id)).is_some());
        self.pending_drop = None;
        self.requests.clear();
        self.issued.clear();
        self.conns.clear();
        self.wire = Wire::default();
        self.to_answer.clear();
        self.inbound.clear();
        if let Some(m) = &mut self.v5 {
            m.restart();
        }
    }

    /// Invariants that hold after every step.
    pub(crate) fn check(&mut self) {
        let store = self.session.store();
        // A message reported dropped leaves the store at the next call that settles it.
        if self
            .pending_drop
            .is_some_and(|id| store.outgoing_position(pid(id)).is_none())
        {
            self.pending_drop = None;
        }
        let held = store.outgoing_len();
        assert!(self.session.inflight() <= self.window);
        // 5.0: a smaller Receive Maximum on a later connection queues held messages beyond
        // the queue's bound; the store's bound below still holds.
        if self.v5.is_none() {
            assert!(self.session.queued() <= usize::from(self.config.max_queued));
        }
        assert!(
            held <= self.window + usize::from(self.config.max_queued),
            "{held} held, window {} + queue {}",
            self.window,
            self.config.max_queued
        );
        // Nothing held that was not published, and with the content published.
        for i in 0..held {
            let Some(m) = store.outgoing(i) else {
                panic!("outgoing({i}) is None below outgoing_len {held}");
            };
            assert_eq!(store.outgoing_position(m.packet_id), Some(i));
            if self.pending_drop == Some(m.packet_id.get()) {
                assert_eq!(i, 0, "the message reported dropped is not the oldest");
                continue;
            }
            match self.published.get(&m.packet_id.get()) {
                Some(p) => {
                    assert_eq!((p.qos, p.retain), (m.qos, m.retain));
                    if m.state == OutgoingState::Publish {
                        assert_eq!((p.topic.as_str(), &p.payload[..]), (m.topic, m.payload));
                    } else {
                        assert_eq!(m.qos, QoS::ExactlyOnce, "a released QoS 1 message");
                    }
                }
                None => panic!(
                    "the store holds {}, which was not published (or was reported done)",
                    m.packet_id.get()
                ),
            }
        }
        assert!(self.session.max_incoming_packet() <= self.rx_len);
        if self.v5.is_some() {
            self.check_v5();
        }
    }

    /// After `poll_event` said `None`: every accepted publish not reported is still held, and
    /// the connections reported match the state.
    pub(crate) fn check_drained(&mut self) {
        let store = self.session.store();
        assert!(
            self.pending_drop
                .is_none_or(|id| store.outgoing_position(pid(id)).is_none()),
            "a message reported dropped is still held after poll_event"
        );
        self.pending_drop = None;
        for id in self.published.keys() {
            assert!(
                store.outgoing_position(pid(*id)).is_some(),
                "publish {id} was accepted, is not held and was never reported"
            );
        }
        let active = matches!(
            self.session.state(),
            State::Connecting | State::Connected | State::Disconnecting
        );
        assert_eq!(
            self.conns.len(),
            usize::from(active),
            "state {:?} with {} connections not reported ended",
            self.session.state(),
            self.conns.len()
        );
    }
}

/// What the checks need from an event (which borrows the session).
enum Summary {
    Connected {
        session_present: bool,
    },
    Refused,
    Message {
        qos: QoS,
        packet_id: Option<PacketId>,
        size: usize,
        topic_ok: bool,
    },
    Acknowledged(u16),
    Completed(u16),
    /// 5.0: PUBACK or PUBREC with a code of 0x80 or more.
    Rejected(u16),
    /// 5.0: a held message removed unsent: it expired, or the connection's broker does not
    /// take it (size, QoS, retain).
    Unsent(u16),
    Accepted(u16),
    Republished {
        old: u16,
        new: u16,
    },
    Dropped {
        id: u16,
        qos: QoS,
        retain: bool,
        content: Option<(String, Vec<u8>)>,
    },
    Subscribed {
        id: u16,
        results: usize,
    },
    Unsubscribed(u16),
    Disconnected,
    Other,
}

impl Summary {
    fn of(e: &Event<'_>) -> Summary {
        match e {
            Event::Connected { session_present } => Summary::Connected {
                session_present: *session_present,
            },
            Event::ConnectionRefused { code } => {
                assert_ne!(*code, ConnectReturnCode::Accepted);
                Summary::Refused
            }
            Event::Message(m) => {
                let rl =
                    m.topic.len() + 2 + m.payload.len() + if m.packet_id.is_some() { 2 } else { 0 };
                let rl_len = match rl {
                    0..=127 => 1,
                    128..=16_383 => 2,
                    16_384..=2_097_151 => 3,
                    _ => 4,
                };
                Summary::Message {
                    qos: m.qos,
                    packet_id: m.packet_id,
                    size: 1 + rl_len + rl,
                    topic_ok: TopicName::new(m.topic).is_ok(),
                }
            }
            Event::PublishAcknowledged { packet_id } => Summary::Acknowledged(packet_id.get()),
            Event::PublishCompleted { packet_id } => Summary::Completed(packet_id.get()),
            Event::PublishRejected { packet_id, .. } => Summary::Rejected(packet_id.get()),
            Event::PublishExpired { packet_id } | Event::PublishNotSendable { packet_id, .. } => {
                Summary::Unsent(packet_id.get())
            }
            Event::PublishAcceptedSessionEnded { packet_id } => Summary::Accepted(packet_id.get()),
            Event::Republished { old, new } => Summary::Republished {
                old: old.get(),
                new: new.get(),
            },
            Event::PublishDropped(o) => Summary::Dropped {
                id: o.packet_id.get(),
                qos: o.qos,
                retain: o.retain,
                content: (o.state == OutgoingState::Publish)
                    .then(|| (o.topic.to_owned(), o.payload.to_vec())),
            },
            Event::Subscribed { packet_id, results } => Summary::Subscribed {
                id: packet_id.get(),
                results: results.len(),
            },
            Event::Unsubscribed { packet_id } => Summary::Unsubscribed(packet_id.get()),
            Event::Disconnected { .. } => Summary::Disconnected,
            _ => Summary::Other,
        }
    }
}

/// Most operations one input runs.
const MAX_STEPS: usize = 4096;

fn run<S: Store + Default>(
    setup: &Setup,
    store: S,
    r: &mut In<'_, '_>,
    v5: Option<Box<crate::session_v5::Model>>,
) {
    let mut h = Harness::new(setup, store);
    h.v5 = v5;
    h.check();
    let mut steps = 0;
    while !r.is_empty() && steps < MAX_STEPS {
        h.step(r);
        steps += 1;
    }
    h.settle();
    h.check();
    #[cfg(test)]
    if let Some(m) = &h.v5 {
        crate::session_v5::scripts::record(m.stats);
    }
}

/// The first input byte that selects the 5.0 half (`session_v5`), as in `decode`. Its 3.1.1
/// reading (window index 0xF5 % 8 = 5) is reached by other first bytes, so the 3.1.1 half
/// loses no setup.
pub const V5: u8 = 0xF5;

/// Run the operations of `r` on a session over the store `setup` names.
pub(crate) fn run_setup(
    setup: &Setup,
    r: &mut In<'_, '_>,
    v5: Option<Box<crate::session_v5::Model>>,
) {
    if setup.fixed_store {
        run(setup, FixedStore::<8, 1024>::new(), r, v5);
    } else if setup.store_limit == 0 {
        run(setup, VecStore::new(), r, v5);
    } else {
        run(setup, VecStore::with_limit(setup.store_limit), r, v5);
    }
}

/// The `session` target: 3.1.1, or 5.0 after the selector byte 0xF5.
pub fn session(data: &[u8]) {
    if let Some((&V5, rest)) = data.split_first() {
        return crate::session_v5::session_v5(rest);
    }
    let mut u = Unstructured::new(data);
    let mut r = In::new(&mut u);
    let setup = Setup::read(&mut r);
    run_setup(&setup, &mut r, None);
}

/// Scripted scenarios in the target's input form: the `session` seeds.
#[cfg(test)]
pub(crate) mod scripts {
    use crate::input::Out;

    /// Setup flags.
    pub const DROP: u8 = 1;
    pub const FIXED: u8 = 2;
    pub const AUTO: u8 = 4;

    pub struct Script(pub Out);

    impl Script {
        /// Window 16 (or 2), no queue (or 2), long timeouts, no size limit, 767-byte buffers.
        pub fn new(flags: u8, small_window: bool) -> Script {
            let mut o = Out::default();
            let (window, queue) = if small_window { (2, 2) } else { (6, 0) };
            o.u8(window)
                .u8(queue)
                .u8(100)
                .u8(100)
                .u8(0)
                .u8(255)
                .u8(255)
                .u8(flags)
                .u8(0);
            Script(o)
        }
        pub fn up(mut self) -> Self {
            self.0.u8(0);
            self
        }
        pub fn closed(mut self) -> Self {
            self.0.u8(1);
            self
        }
        pub fn connect(mut self, clean: bool, keep_alive: u8) -> Self {
            self.0
                .u8(2)
                .u8(u8::from(clean) | 2 | 4 | 8)
                .u8(keep_alive)
                .u8(1)
                .bytes(b"gone");
            self
        }
        pub fn publish(mut self, qos: u8, topic: u8, payload: &[u8]) -> Self {
            self.0.u8(3).u8(qos).u8(topic).bytes(payload);
            self
        }
        pub fn subscribe(mut self, filters: &[(u8, u8)]) -> Self {
            self.0.u8(4).u8(filters.len() as u8);
            for (f, q) in filters {
                self.0.u8(*f).u8(*q);
            }
            self
        }
        pub fn unsubscribe(mut self, filters: &[u8]) -> Self {
            self.0.u8(5).u8(filters.len() as u8);
            for f in filters {
                self.0.u8(*f);
            }
            self
        }
        pub fn disconnect(mut self) -> Self {
            self.0.u8(6);
            self
        }
        /// The cooperative broker answers up to `n` client packets.
        pub fn answer(mut self, n: u8) -> Self {
            self.0.u8(7).u8(10).u8(n - 1);
            self
        }
        pub fn connack(mut self, b: u8) -> Self {
            self.0.u8(7).u8(0).u8(b);
            self
        }
        /// A PUBLISH from the broker with its own packet id.
        pub fn incoming(mut self, qos: u8, id: u16, topic: u8, payload: &[u8]) -> Self {
            self.0
                .u8(7)
                .u8(1)
                .u8(qos)
                .u8(0xFF)
                .u16(id)
                .u8(topic)
                .bytes(payload);
            self
        }
        /// An acknowledgement (kind 2 PUBACK .. 5 PUBCOMP, 7 UNSUBACK) for the latest id used.
        pub fn ack(mut self, kind: u8) -> Self {
            self.0.u8(7).u8(kind).u8(0);
            self
        }
        pub fn pubrel(mut self, id: u16) -> Self {
            self.0.u8(7).u8(4).u8(0xFF).u16(id);
            self
        }
        pub fn raw(mut self, bytes: &[u8], chunk: u8) -> Self {
            self.0.u8(8).bytes(bytes).u8(chunk);
            self
        }
        pub fn feed(mut self, chunk: u8) -> Self {
            self.0.u8(9).u8(chunk);
            self
        }
        pub fn feed_zero_copy(mut self, n: u8) -> Self {
            self.0.u8(10).u8(n);
            self
        }
        pub fn tick_ms(mut self, ms: u8) -> Self {
            self.0.u8(11).u8(0).u8(ms);
            self
        }
        pub fn tick_s(mut self, s: u8) -> Self {
            self.0.u8(11).u8(1).u8(s);
            self
        }
        pub fn until_deadline(mut self) -> Self {
            self.0.u8(11).u8(2).u8(0);
            self
        }
        pub fn back(mut self, hundreds_ms: u8) -> Self {
            self.0.u8(11).u8(4).u8(hundreds_ms);
            self
        }
        pub fn events(mut self, n: u8) -> Self {
            self.0.u8(12).u8(n - 1);
            self
        }
        pub fn transmit(mut self, size: u8) -> Self {
            self.0.u8(13).u8(size);
            self
        }
        pub fn restart(mut self) -> Self {
            self.0.u8(14);
            self
        }
        pub fn settle(mut self) -> Self {
            self.0.u8(15);
            self
        }
        pub fn bytes(self) -> Vec<u8> {
            self.0.0
        }
    }

    /// The scripted scenarios, by name.
    pub fn all(vectors: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
        let connected = |flags, small| Script::new(flags, small).up().connect(true, 30).answer(1);
        let mut out = vec![
            (
                "qos1-subscribe-ping-disconnect",
                connected(AUTO, false)
                    .publish(1, 1, b"hi")
                    .answer(1)
                    .subscribe(&[(0, 1), (3, 2)])
                    .answer(1)
                    .unsubscribe(&[0])
                    .answer(1)
                    .incoming(1, 7, 2, b"msg")
                    .until_deadline()
                    .answer(1)
                    .disconnect()
                    .settle()
                    .bytes(),
            ),
            (
                "qos2-both-ways-duplicate",
                connected(AUTO, false)
                    .publish(2, 0, b"exactly once")
                    .answer(1)
                    .answer(1)
                    .incoming(2, 9, 1, b"q2")
                    .incoming(2, 9, 1, b"q2")
                    .pubrel(9)
                    .incoming(2, 9, 1, b"q2 again")
                    .settle()
                    .bytes(),
            ),
            (
                "resume-with-session-present",
                Script::new(AUTO, true)
                    .up()
                    .connect(false, 10)
                    .answer(1)
                    .publish(1, 0, b"one")
                    .publish(2, 1, b"two")
                    .publish(1, 2, b"three")
                    .publish(2, 3, b"four")
                    .answer(1)
                    .closed()
                    .up()
                    .connect(false, 10)
                    .answer(8)
                    .answer(8)
                    .answer(8)
                    .settle()
                    .bytes(),
            ),
            (
                "session-lost-drop",
                Script::new(AUTO | DROP, false)
                    .up()
                    .connect(false, 0)
                    .answer(1)
                    .publish(1, 0, b"one")
                    .publish(2, 1, b"two")
                    .closed()
                    .up()
                    .connect(true, 0)
                    .answer(1)
                    .settle()
                    .bytes(),
            ),
            (
                "manual-polling-small-buffers",
                Script::new(FIXED, true)
                    .up()
                    .connect(true, 5)
                    .transmit(3)
                    .transmit(200)
                    .connack(0)
                    .events(1)
                    .publish(1, 1, b"payload")
                    .publish(2, 2, b"payload")
                    .transmit(4)
                    .transmit(255)
                    .raw(b"\x40\x02\x00\x01\x50\x02\x00\x02\xd0\x00", 3)
                    .feed(2)
                    .feed_zero_copy(5)
                    .events(8)
                    .transmit(255)
                    .back(5)
                    .tick_s(6)
                    .transmit(1)
                    .transmit(255)
                    .settle()
                    .bytes(),
            ),
            (
                "timeouts",
                Script::new(AUTO, false)
                    .up()
                    .connect(true, 1)
                    .tick_s(20)
                    .tick_s(20)
                    .up()
                    .connect(true, 1)
                    .answer(1)
                    .tick_ms(200)
                    .tick_s(2)
                    .until_deadline()
                    .tick_s(30)
                    .settle()
                    .bytes(),
            ),
            (
                "restart-over-the-store",
                Script::new(AUTO, false)
                    .up()
                    .connect(false, 0)
                    .answer(1)
                    .publish(1, 0, b"kept")
                    .publish(2, 0, b"kept too")
                    .restart()
                    .up()
                    .connect(false, 0)
                    .answer(8)
                    .answer(8)
                    .settle()
                    .bytes(),
            ),
            (
                "violations",
                connected(AUTO, false)
                    .ack(7)
                    .up()
                    .connect(true, 0)
                    .connack(0x80)
                    .up()
                    .connect(true, 0)
                    .raw(b"\x30\x03\x00\x01+", 1)
                    .settle()
                    .bytes(),
            ),
        ]
        .into_iter()
        .map(|(n, b)| (n.to_owned(), b))
        .collect::<Vec<_>>();
        // Every byte vector, as broker bytes one at a time on a fresh connection.
        for (name, bytes) in vectors {
            let b = Script::new(AUTO, false)
                .up()
                .connect(true, 0)
                .answer(1)
                .subscribe(&[(0, 1)])
                .raw(bytes, 1)
                .settle()
                .bytes();
            out.push((format!("vec-{name}"), b));
        }
        out
    }
}
