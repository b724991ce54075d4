//! A scripted broker: one [`Session`] driven with virtual time. The test plays the broker: it
//! feeds exact bytes ([`Script::receive`]), gives commands, moves time ([`Script::advance`]) and
//! takes what the session sent ([`Script::take_sent`], whole packets as raw bytes) and what the
//! application saw ([`Script::take_events`]). Every step is written to a transcript
//! ([`Script::transcript`]) that tests compare with insta snapshots:
//!
//! ```text
//! -> 10 0d 00 04 4d 51 54 54 04 02 00 3c 00 01 61   CONNECT client_id="a" clean_session=1 keep_alive=60
//! <- 20 02 00 00   CONNACK session_present=0 code=0
//! !  Connected session_present=0
//! ```
//!
//! After every input and command the script polls the way the session's docs say: events until
//! `None`, then `poll_transmit` until `Ok(None)`, then `handle_timeout` if
//! [`Session::poll_timeout`] is not in the future, and again until nothing moves.

use std::fmt::{self, Write as _};

use mqtt_session::{
    CommandError, Config, ConnectOptions, ConnectReturnCode, DisconnectReason, Event, Instant,
    PacketId, QoS, Session, State, Store, SubAckReturnCode, VecStore,
};

use crate::wire;

/// An owned copy of an [`Event`], so tests can keep it past the next call on the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// [`Event::Connected`].
    Connected {
        /// Session present.
        session_present: bool,
    },
    /// [`Event::ConnectionRefused`].
    Refused(ConnectReturnCode),
    /// [`Event::Message`].
    Message {
        /// Topic name.
        topic: String,
        /// Payload.
        payload: Vec<u8>,
        /// QoS.
        qos: QoS,
        /// RETAIN.
        retain: bool,
        /// DUP as received.
        dup: bool,
        /// Packet id.
        packet_id: Option<u16>,
    },
    /// [`Event::PublishAcknowledged`].
    Acknowledged(u16),
    /// [`Event::PublishCompleted`].
    Completed(u16),
    /// [`Event::PublishAcceptedSessionEnded`].
    AcceptedSessionEnded(u16),
    /// [`Event::Republished`].
    Republished {
        /// The id it had.
        old: u16,
        /// The id it has now.
        new: u16,
    },
    /// [`Event::PublishDropped`].
    Dropped {
        /// Packet id.
        packet_id: u16,
        /// Topic.
        topic: String,
        /// Payload.
        payload: Vec<u8>,
    },
    /// [`Event::Subscribed`].
    Subscribed {
        /// Packet id.
        packet_id: u16,
        /// One result per filter.
        results: Vec<SubAckReturnCode>,
    },
    /// [`Event::Unsubscribed`].
    Unsubscribed(u16),
    /// [`Event::Disconnected`].
    Disconnected(DisconnectReason),
    /// An event this crate does not know yet (`Event` is non-exhaustive), as `Debug` text.
    Other(String),
}

impl Seen {
    /// Copies an event.
    pub fn from_event(e: &Event<'_>) -> Seen {
        match e {
            Event::Connected { session_present } => Seen::Connected {
                session_present: *session_present,
            },
            Event::ConnectionRefused { code } => Seen::Refused(*code),
            Event::Message(m) => Seen::Message {
                topic: m.topic.to_owned(),
                payload: m.payload.to_vec(),
                qos: m.qos,
                retain: m.retain,
                dup: m.dup,
                packet_id: m.packet_id.map(PacketId::get),
            },
            Event::PublishAcknowledged { packet_id } => Seen::Acknowledged(packet_id.get()),
            Event::PublishCompleted { packet_id } => Seen::Completed(packet_id.get()),
            Event::PublishAcceptedSessionEnded { packet_id } => {
                Seen::AcceptedSessionEnded(packet_id.get())
            }
            Event::Republished { old, new } => Seen::Republished {
                old: old.get(),
                new: new.get(),
            },
            Event::PublishDropped(o) => Seen::Dropped {
                packet_id: o.packet_id.get(),
                topic: o.topic.to_owned(),
                payload: o.payload.to_vec(),
            },
            Event::Subscribed { packet_id, results } => Seen::Subscribed {
                packet_id: packet_id.get(),
                results: results.iter().collect(),
            },
            Event::Unsubscribed { packet_id } => Seen::Unsubscribed(packet_id.get()),
            Event::Disconnected { reason } => Seen::Disconnected(*reason),
            other => Seen::Other(format!("{other:?}")),
        }
    }

    /// A `Message` with QoS 0 fields defaulted, for short assertions.
    pub fn message(topic: &str, payload: &[u8], qos: QoS, packet_id: Option<u16>) -> Seen {
        Seen::Message {
            topic: topic.to_owned(),
            payload: payload.to_vec(),
            qos,
            retain: false,
            dup: false,
            packet_id,
        }
    }
}

impl fmt::Display for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Seen::Connected { session_present } => {
                write!(
                    f,
                    "Connected session_present={}",
                    u8::from(*session_present)
                )
            }
            Seen::Refused(code) => write!(f, "ConnectionRefused code={}", code.as_u8()),
            Seen::Message {
                topic,
                payload,
                qos,
                retain,
                dup,
                packet_id,
            } => {
                write!(
                    f,
                    "Message topic={topic:?} payload={} qos={} retain={} dup={}",
                    match std::str::from_utf8(payload) {
                        Ok(s) => format!("{s:?}"),
                        Err(_) => wire::hex(payload),
                    },
                    qos.as_u8(),
                    u8::from(*retain),
                    u8::from(*dup)
                )?;
                if let Some(id) = packet_id {
                    write!(f, " id={id}")?;
                }
                Ok(())
            }
            Seen::Acknowledged(id) => write!(f, "PublishAcknowledged id={id}"),
            Seen::Completed(id) => write!(f, "PublishCompleted id={id}"),
            Seen::AcceptedSessionEnded(id) => write!(f, "PublishAcceptedSessionEnded id={id}"),
            Seen::Republished { old, new } => write!(f, "Republished id={old} -> id={new}"),
            Seen::Dropped {
                packet_id,
                topic,
                payload,
            } => write!(
                f,
                "PublishDropped id={packet_id} topic={topic:?} payload={}",
                wire::hex(payload)
            ),
            Seen::Subscribed { packet_id, results } => {
                write!(f, "Subscribed id={packet_id} results=[")?;
                for (i, r) in results.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    match r {
                        SubAckReturnCode::Success(q) => write!(f, "granted {}", q.as_u8())?,
                        SubAckReturnCode::Failure => f.write_str("failure")?,
                    }
                }
                f.write_str("]")
            }
            Seen::Unsubscribed(id) => write!(f, "Unsubscribed id={id}"),
            Seen::Disconnected(reason) => match reason {
                DisconnectReason::ProtocolViolation(v) => {
                    write!(f, "Disconnected protocol violation [{}]: {v}", v.rule())
                }
                other => write!(f, "Disconnected {other:?}"),
            },
            Seen::Other(s) => write!(f, "{s}"),
        }
    }
}

/// The protocol violation that ended the connection, if the last `Disconnected` in `events`
/// was one.
pub fn violation(events: &[Seen]) -> Option<mqtt_session::Violation> {
    events.iter().rev().find_map(|e| match e {
        Seen::Disconnected(DisconnectReason::ProtocolViolation(v)) => Some(*v),
        _ => None,
    })
}

/// Receive and transmit buffer size of [`Script::new`].
pub const BUFFER: usize = 4096;

/// The scripted broker around one session. See the [module docs](self).
#[derive(Debug)]
pub struct Script<S: Store = VecStore> {
    session: Session<S, Vec<u8>>,
    now: Instant,
    log: String,
    sent: Vec<Vec<u8>>,
    history: Vec<(Instant, Vec<u8>)>,
    events: Vec<Seen>,
    partial: Vec<u8>,
    out_buf: usize,
}

impl Default for Script {
    fn default() -> Self {
        Script::new()
    }
}

impl Script {
    /// A session with the default configuration, a [`VecStore`] and [`BUFFER`]-byte buffers.
    pub fn new() -> Self {
        Script::with(Config::default(), VecStore::new())
    }

    /// A session with this configuration, a [`VecStore`] and [`BUFFER`]-byte buffers.
    pub fn with_config(config: Config) -> Self {
        Script::with(config, VecStore::new())
    }
}

impl<S: Store> Script<S> {
    /// A session over `store` with [`BUFFER`]-byte buffers.
    pub fn with(config: Config, store: S) -> Self {
        Script::with_buffers(config, store, BUFFER, BUFFER)
    }

    /// A session over `store` with buffers of the given sizes.
    pub fn with_buffers(config: Config, store: S, rx: usize, tx: usize) -> Self {
        Script {
            session: Session::new(config, store, vec![0; rx], vec![0; tx]),
            now: Instant::ZERO,
            log: String::new(),
            sent: Vec::new(),
            history: Vec::new(),
            events: Vec::new(),
            partial: Vec::new(),
            out_buf: 1 << 20,
        }
    }

    /// Size of the buffer handed to `poll_transmit` (default 1 MiB).
    pub fn set_transmit_chunk(&mut self, n: usize) {
        self.out_buf = n;
    }

    /// The session (getters).
    pub fn session(&self) -> &Session<S, Vec<u8>> {
        &self.session
    }

    /// The session, to call it directly (then call [`Script::pump`]).
    pub fn session_mut(&mut self) -> &mut Session<S, Vec<u8>> {
        &mut self.session
    }

    /// The session's state.
    pub fn state(&self) -> State {
        self.session.state()
    }

    /// Virtual now.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The transcript so far.
    pub fn transcript(&self) -> &str {
        &self.log
    }

    /// Adds a comment line (`#  ...`) to the transcript.
    pub fn note(&mut self, text: &str) {
        let _ = writeln!(self.log, "#  {text}");
    }

    /// Packets sent since the last call, as raw bytes, one entry per packet.
    pub fn take_sent(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.sent)
    }

    /// Everything sent since the last call, as one byte string.
    pub fn take_sent_bytes(&mut self) -> Vec<u8> {
        self.take_sent().concat()
    }

    /// Every packet sent since the script started, with the virtual time it was handed out.
    pub fn history(&self) -> &[(Instant, Vec<u8>)] {
        &self.history
    }

    /// Events since the last call.
    pub fn take_events(&mut self) -> Vec<Seen> {
        std::mem::take(&mut self.events)
    }

    /// Input: the transport is up.
    pub fn up(&mut self) {
        let _ = writeln!(self.log, "== transport up");
        self.session.handle_transport_up(self.now);
        self.pump();
    }

    /// Input: the transport closed.
    pub fn closed(&mut self) {
        let _ = writeln!(self.log, "== transport closed");
        self.session.handle_transport_closed(self.now);
        self.pump();
    }

    /// Command: connect.
    pub fn connect(&mut self, options: &ConnectOptions<'_>) -> Result<(), CommandError> {
        let r = self.session.connect(self.now, options);
        self.command("connect", &r);
        r
    }

    /// Transport up, connect with `options`, take the CONNECT, receive CONNACK accepted with
    /// `session_present`; panics unless the session is then connected. Clears sent packets and
    /// events, and the transcript, so scenarios start from here.
    pub fn connected(&mut self, options: &ConnectOptions<'_>, session_present: bool) {
        self.up();
        self.connect(options).expect("connect command accepted");
        self.receive(&wire::connack(u8::from(session_present), 0));
        assert_eq!(self.state(), State::Connected, "{}", self.log);
        self.sent.clear();
        self.events.clear();
        self.log.clear();
    }

    /// Feeds `bytes` to a connected session and asserts that it closes the connection because
    /// of a protocol violation naming `rule`, sending nothing in answer; returns the violation.
    pub fn expect_violation(&mut self, bytes: &[u8], rule: &str) -> mqtt_session::Violation {
        self.take_sent();
        self.take_events();
        self.receive(bytes);
        let events = self.take_events();
        let v = violation(&events).unwrap_or_else(|| {
            panic!(
                "no protocol violation after {}:\n{}",
                wire::hex(bytes),
                self.log
            )
        });
        assert_eq!(v.rule(), rule, "violation {v:?}\n{}", self.log);
        // Only the hand-back of a clean session's held messages (it ended with its connection
        // [MQTT-3.1.2-6]) follows Disconnected.
        let after = events
            .iter()
            .skip_while(|e| !matches!(e, Seen::Disconnected(_)))
            .skip(1);
        assert!(
            after.clone().all(|e| matches!(
                e,
                Seen::Republished { .. } | Seen::AcceptedSessionEnded(_) | Seen::Dropped { .. }
            )),
            "Disconnected is the last event of the connection: {events:?}"
        );
        assert_eq!(self.state(), State::Closed, "{}", self.log);
        assert_eq!(
            self.take_sent(),
            Vec::<Vec<u8>>::new(),
            "nothing sent in answer"
        );
        v
    }

    /// Command: publish.
    pub fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<Option<PacketId>, CommandError> {
        let r = self.session.publish(self.now, topic, payload, qos, retain);
        let what = format!("publish {topic:?} qos={}", qos.as_u8());
        self.command(&what, &r);
        r
    }

    /// Command: subscribe.
    pub fn subscribe(&mut self, filters: &[(&str, QoS)]) -> Result<PacketId, CommandError> {
        let r = self.session.subscribe(self.now, filters);
        self.command("subscribe", &r);
        r
    }

    /// Command: unsubscribe.
    pub fn unsubscribe(&mut self, filters: &[&str]) -> Result<PacketId, CommandError> {
        let r = self.session.unsubscribe(self.now, filters);
        self.command("unsubscribe", &r);
        r
    }

    /// Command: disconnect.
    pub fn disconnect(&mut self) -> Result<(), CommandError> {
        let r = self.session.disconnect(self.now);
        self.command("disconnect", &r);
        r
    }

    fn command<T: fmt::Debug>(&mut self, what: &str, r: &Result<T, CommandError>) {
        match r {
            Ok(v) => {
                let _ = writeln!(self.log, "cmd {what} -> Ok({v:?})");
            }
            Err(e) => {
                let _ = writeln!(self.log, "cmd {what} -> Err({e:?})");
            }
        }
        self.pump();
    }

    /// Input: bytes from the broker, all at once (fed again after polling while the session
    /// takes only part).
    pub fn receive(&mut self, bytes: &[u8]) {
        self.log_incoming(bytes);
        self.feed(bytes);
    }

    /// Input: the same bytes, `chunk` bytes per `handle_receive` call.
    pub fn receive_in_chunks(&mut self, bytes: &[u8], chunk: usize) {
        self.log_incoming(bytes);
        for piece in bytes.chunks(chunk.max(1)) {
            self.feed(piece);
        }
    }

    fn log_incoming(&mut self, bytes: &[u8]) {
        let (packets, rest) = wire::split(bytes);
        for p in &packets {
            let _ = writeln!(self.log, "<- {}   {}", wire::hex(p), wire::describe(p));
        }
        if rest > 0 {
            let tail = &bytes[bytes.len() - rest..];
            let _ = writeln!(self.log, "<- {}   (partial)", wire::hex(tail));
        }
    }

    fn feed(&mut self, mut bytes: &[u8]) {
        let mut stalls = 0;
        while !bytes.is_empty() {
            let n = self.session.handle_receive(self.now, bytes);
            bytes = bytes.get(n..).unwrap_or_default();
            let moved = self.pump();
            if n == 0 && !moved {
                stalls += 1;
                assert!(
                    stalls < 3,
                    "session takes no input and has nothing to do\n{}",
                    self.log
                );
            }
        }
        self.pump();
    }

    /// Moves virtual time forward by `ms`, firing every deadline on the way.
    pub fn advance(&mut self, ms: u64) {
        let target = Instant::from_millis(self.now.as_millis() + ms);
        let _ = writeln!(self.log, "@  +{ms} ms");
        for _ in 0..10_000 {
            match self.session.poll_timeout() {
                Some(t) if t <= target => {
                    if t > self.now {
                        self.now = t;
                    }
                    self.session.handle_timeout(self.now);
                    self.pump();
                }
                _ => break,
            }
        }
        self.now = target;
        self.session.handle_timeout(self.now);
        self.pump();
    }

    /// Polls events, then transmits, then fires a due timeout, until nothing moves. Returns
    /// whether anything happened.
    pub fn pump(&mut self) -> bool {
        let mut any = false;
        for _ in 0..100_000 {
            let mut moved = false;
            while let Some(e) = self.session.poll_event() {
                let seen = Seen::from_event(&e);
                let _ = writeln!(self.log, "!  {seen}");
                self.events.push(seen);
                moved = true;
            }
            let mut buf = vec![0u8; self.out_buf];
            loop {
                match self.session.poll_transmit(self.now, &mut buf) {
                    Ok(Some(n)) => {
                        moved = true;
                        self.partial.extend_from_slice(&buf[..n.min(buf.len())]);
                        let (packets, rest) = wire::split(&self.partial);
                        for p in &packets {
                            let _ =
                                writeln!(self.log, "-> {}   {}", wire::hex(p), wire::describe(p));
                        }
                        self.history
                            .extend(packets.iter().map(|p| (self.now, p.clone())));
                        self.sent.extend(packets);
                        let keep = self.partial.len() - rest;
                        self.partial.drain(..keep);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let _ = writeln!(self.log, "-> (poll_transmit: {e})");
                        break;
                    }
                }
            }
            if self.session.poll_timeout().is_some_and(|t| t <= self.now) {
                self.session.handle_timeout(self.now);
                if self.session.poll_timeout().is_some_and(|t| t <= self.now) && !moved {
                    // Nothing moved and the session still says "now": stop rather than spin.
                    break;
                }
                moved = true;
            }
            if !moved {
                break;
            }
            any = true;
        }
        any
    }
}
