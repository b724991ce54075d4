//! MQTT 5.0: a scripted broker for a 5.0 [`Session`] ([`Peer`]) and 5.0 bytes written by hand
//! ([`wire5`]), the 5.0 twins of [`crate::script`] and [`crate::wire`].
//!
//! The test plays the broker: it feeds exact bytes ([`Peer::receive`]), gives commands, moves
//! virtual time ([`Peer::advance`]) and takes what the session sent ([`Peer::take_sent`], whole
//! packets) and what the application saw ([`Peer::take_events`], owned copies of the events
//! with their 5.0 reason codes and properties). After every input and command the peer polls
//! as the session's docs say: events until `None`, then `poll_transmit` until `Ok(None)`,
//! then `handle_timeout` when a deadline is due, until nothing moves. Every step goes to a
//! transcript ([`Peer::transcript`]) that failing assertions print.

use std::fmt::{self, Write as _};

use mqtt_session::v5::{DisconnectOptions, Properties, SubscriptionOptions};
use mqtt_session::{
    CommandError, Config, ConnectOptionsV5, DisconnectReason, Event, Instant, PacketId, QoS,
    Session, State, VecStore,
};

use crate::wire::{self, hex};

/// An owned copy of an [`Event`] of a 5.0 connection; properties as their `Debug` text, in
/// wire order (`UserProperty("k", "v")`, `ReasonString("x")`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen5 {
    /// [`Event::Connected`].
    Connected {
        /// Session Present.
        session_present: bool,
    },
    /// [`Event::Message`].
    Message(Msg),
    /// [`Event::Response`]: a 5.0 acknowledgement or DISCONNECT with its reason codes.
    Response {
        /// The packet type as the session names it (`"CONNACK"`, `"PUBACK"`, ...).
        packet: String,
        /// The packet identifier it answers.
        packet_id: Option<u16>,
        /// The reason code bytes.
        codes: Vec<u8>,
        /// The properties.
        properties: Vec<String>,
    },
    /// [`Event::PublishAcknowledged`].
    Acknowledged(u16),
    /// [`Event::PublishCompleted`].
    Completed(u16),
    /// [`Event::PublishRejected`]: the reason code byte.
    Rejected {
        /// Packet id.
        packet_id: u16,
        /// The PUBACK or PUBREC reason code.
        code: u8,
    },
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
    /// [`Event::Subscribed`]: the reason code bytes, one per filter.
    Subscribed {
        /// Packet id.
        packet_id: u16,
        /// SUBACK reason codes.
        codes: Vec<u8>,
    },
    /// [`Event::Unsubscribed`].
    Unsubscribed(u16),
    /// [`Event::Disconnected`].
    Disconnected(DisconnectReason),
    /// An event this crate does not know (`Event` is non-exhaustive), as `Debug` text.
    Other(String),
}

/// An incoming application message, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    /// Topic name (an alias resolved).
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// QoS.
    pub qos: QoS,
    /// RETAIN.
    pub retain: bool,
    /// DUP as received.
    pub dup: bool,
    /// Packet id.
    pub packet_id: Option<u16>,
    /// PUBLISH properties as `Debug` text.
    pub properties: Vec<String>,
}

impl Msg {
    /// A message without properties, RETAIN and DUP 0.
    pub fn new(topic: &str, payload: &[u8], qos: QoS, packet_id: Option<u16>) -> Msg {
        Msg {
            topic: topic.to_owned(),
            payload: payload.to_vec(),
            qos,
            retain: false,
            dup: false,
            packet_id,
            properties: Vec::new(),
        }
    }
}

fn props(p: &Properties<'_>) -> Vec<String> {
    p.iter().map(|x| format!("{x:?}")).collect()
}

impl Seen5 {
    /// Copies an event.
    pub fn from_event(e: &Event<'_>) -> Seen5 {
        match e {
            Event::Connected { session_present } => Seen5::Connected {
                session_present: *session_present,
            },
            Event::Message(m) => Seen5::Message(Msg {
                topic: m.topic.to_owned(),
                payload: m.payload.to_vec(),
                qos: m.qos,
                retain: m.retain,
                dup: m.dup,
                packet_id: m.packet_id.map(PacketId::get),
                properties: props(&m.properties),
            }),
            Event::Response(r) => Seen5::Response {
                packet: r.packet_type.to_string(),
                packet_id: r.packet_id.map(PacketId::get),
                codes: r.reason_codes.to_vec(),
                properties: props(&r.properties),
            },
            Event::PublishAcknowledged { packet_id } => Seen5::Acknowledged(packet_id.get()),
            Event::PublishCompleted { packet_id } => Seen5::Completed(packet_id.get()),
            Event::PublishRejected {
                packet_id,
                reason_code,
            } => Seen5::Rejected {
                packet_id: packet_id.get(),
                code: reason_code.as_u8(),
            },
            Event::PublishAcceptedSessionEnded { packet_id } => {
                Seen5::AcceptedSessionEnded(packet_id.get())
            }
            Event::Republished { old, new } => Seen5::Republished {
                old: old.get(),
                new: new.get(),
            },
            Event::PublishDropped(o) => Seen5::Dropped {
                packet_id: o.packet_id.get(),
                topic: o.topic.to_owned(),
                payload: o.payload.to_vec(),
            },
            Event::Subscribed { packet_id, results } => Seen5::Subscribed {
                packet_id: packet_id.get(),
                codes: results.as_bytes().to_vec(),
            },
            Event::Unsubscribed { packet_id } => Seen5::Unsubscribed(packet_id.get()),
            Event::Disconnected { reason } => Seen5::Disconnected(*reason),
            other => Seen5::Other(format!("{other:?}")),
        }
    }

    /// A [`Seen5::Message`] without properties, RETAIN and DUP 0.
    pub fn message(topic: &str, payload: &[u8], qos: QoS, packet_id: Option<u16>) -> Seen5 {
        Seen5::Message(Msg::new(topic, payload, qos, packet_id))
    }
}

impl fmt::Display for Seen5 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Seen5::Message(m) => {
                write!(
                    f,
                    "Message topic={:?} payload={} qos={} retain={} dup={}",
                    m.topic,
                    hex(&m.payload),
                    m.qos.as_u8(),
                    u8::from(m.retain),
                    u8::from(m.dup)
                )?;
                if let Some(id) = m.packet_id {
                    write!(f, " id={id}")?;
                }
                for p in &m.properties {
                    write!(f, " {p}")?;
                }
                Ok(())
            }
            Seen5::Response {
                packet,
                packet_id,
                codes,
                properties,
            } => {
                write!(f, "{packet} codes=[{}]", hex(codes))?;
                if let Some(id) = packet_id {
                    write!(f, " id={id}")?;
                }
                for p in properties {
                    write!(f, " {p}")?;
                }
                Ok(())
            }
            other => write!(f, "{other:?}"),
        }
    }
}

/// Receive and transmit buffer size of [`Peer::new`].
pub const BUFFER: usize = 4096;

/// The scripted broker around one 5.0 session. See the [module docs](self).
#[derive(Debug)]
pub struct Peer {
    session: Session<VecStore, Vec<u8>>,
    now: Instant,
    log: String,
    sent: Vec<Vec<u8>>,
    events: Vec<Seen5>,
    partial: Vec<u8>,
    /// Poll events before transmitting (the order the session's docs give).
    events_first: bool,
    /// The buffer handed to `poll_transmit`.
    out: Vec<u8>,
}

impl Default for Peer {
    fn default() -> Self {
        Peer::new(Config::default())
    }
}

impl Peer {
    /// A session with this configuration, a [`VecStore`] and [`BUFFER`]-byte buffers.
    pub fn new(config: Config) -> Self {
        Peer::with_buffers(config, BUFFER, BUFFER)
    }

    /// A session with buffers of the given sizes.
    pub fn with_buffers(config: Config, rx: usize, tx: usize) -> Self {
        Peer::over(Session::new(
            config,
            VecStore::new(),
            vec![0; rx],
            vec![0; tx],
        ))
    }

    /// Drives an existing session (a restart over a kept store).
    pub fn over(session: Session<VecStore, Vec<u8>>) -> Self {
        Peer {
            session,
            now: Instant::ZERO,
            log: String::new(),
            sent: Vec::new(),
            events: Vec::new(),
            partial: Vec::new(),
            events_first: true,
            out: vec![0; 1 << 20],
        }
    }

    /// Transport up, connect with `options`, take the CONNECT, receive `connack`; panics unless
    /// the session is then connected. Clears sent packets, events and the transcript.
    pub fn connected(&mut self, options: &ConnectOptionsV5<'_>, connack: &[u8]) {
        self.up();
        self.connect(options).expect("connect command accepted");
        self.receive(connack);
        assert_eq!(self.state(), State::Connected, "{}", self.log);
        self.sent.clear();
        self.events.clear();
        self.log.clear();
    }

    /// A fresh session connected with client id `"c"`, Clean Start, keep alive 60 and no
    /// properties, to a CONNACK with no properties.
    pub fn plain() -> Self {
        let mut p = Peer::default();
        p.connected(&ConnectOptionsV5::new("c"), &wire5::connack(0, 0, &[]));
        p
    }

    /// The session (getters).
    pub fn session(&self) -> &Session<VecStore, Vec<u8>> {
        &self.session
    }

    /// The session, to call it directly (then call [`Peer::pump`]).
    pub fn session_mut(&mut self) -> &mut Session<VecStore, Vec<u8>> {
        &mut self.session
    }

    /// The session back, for a restart over its store.
    pub fn into_session(self) -> Session<VecStore, Vec<u8>> {
        self.session
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

    /// Adds a comment line to the transcript.
    pub fn note(&mut self, text: &str) {
        let _ = writeln!(self.log, "#  {text}");
    }

    /// Whole packets sent since the last call, as raw bytes.
    pub fn take_sent(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.sent)
    }

    /// Events since the last call.
    pub fn take_events(&mut self) -> Vec<Seen5> {
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

    /// Command: connect (5.0).
    pub fn connect(&mut self, options: &ConnectOptionsV5<'_>) -> Result<(), CommandError> {
        let r = self.session.connect(self.now, options);
        self.command("connect", &r);
        r
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
        self.command(&format!("publish {topic:?} qos={}", qos.as_u8()), &r);
        r
    }

    /// Command: publish with PUBLISH properties.
    pub fn publish_with(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: &Properties<'_>,
    ) -> Result<Option<PacketId>, CommandError> {
        let r = self
            .session
            .publish_with(self.now, topic, payload, qos, retain, properties);
        self.command(&format!("publish_with {topic:?} qos={}", qos.as_u8()), &r);
        r
    }

    /// Command: subscribe.
    pub fn subscribe(&mut self, filters: &[(&str, QoS)]) -> Result<PacketId, CommandError> {
        let r = self.session.subscribe(self.now, filters);
        self.command("subscribe", &r);
        r
    }

    /// Command: subscribe with options and properties.
    pub fn subscribe_with(
        &mut self,
        filters: &[(&str, SubscriptionOptions)],
        properties: &Properties<'_>,
    ) -> Result<PacketId, CommandError> {
        let r = self.session.subscribe_with(self.now, filters, properties);
        self.command("subscribe_with", &r);
        r
    }

    /// Command: unsubscribe.
    pub fn unsubscribe(&mut self, filters: &[&str]) -> Result<PacketId, CommandError> {
        let r = self.session.unsubscribe(self.now, filters);
        self.command("unsubscribe", &r);
        r
    }

    /// Command: disconnect (DISCONNECT 0x00 without properties).
    pub fn disconnect(&mut self) -> Result<(), CommandError> {
        let r = self.session.disconnect(self.now);
        self.command("disconnect", &r);
        r
    }

    /// Command: disconnect with a reason code and properties.
    pub fn disconnect_with(&mut self, options: &DisconnectOptions<'_>) -> Result<(), CommandError> {
        let r = self.session.disconnect_with(self.now, options);
        self.command("disconnect_with", &r);
        r
    }

    fn command<T: fmt::Debug>(&mut self, what: &str, r: &Result<T, CommandError>) {
        let _ = writeln!(self.log, "cmd {what} -> {r:?}");
        self.pump();
    }

    /// Input: bytes from the broker, fed again after polling while the session takes only part.
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

    /// Input: bytes handed to `handle_receive` once, without polling afterwards; returns how
    /// many the session took.
    pub fn receive_unpolled(&mut self, bytes: &[u8]) -> usize {
        self.log_incoming(bytes);
        self.session.handle_receive(self.now, bytes)
    }

    fn log_incoming(&mut self, bytes: &[u8]) {
        let (packets, rest) = wire::split(bytes);
        for p in &packets {
            let _ = writeln!(self.log, "<- {}   {}", hex(p), describe(p));
        }
        if rest > 0 {
            let _ = writeln!(
                self.log,
                "<- {}   (partial)",
                hex(&bytes[bytes.len() - rest..])
            );
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
                if stalls >= 3 {
                    // The connection is over (or input is refused): the rest is not read.
                    let _ = writeln!(self.log, "   ({} bytes not taken)", bytes.len());
                    return;
                }
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

    /// Poll events before transmitting (the default), or transmit first.
    pub fn set_events_first(&mut self, on: bool) {
        self.events_first = on;
    }

    fn poll_events(&mut self) -> bool {
        let mut moved = false;
        while let Some(e) = self.session.poll_event() {
            let seen = Seen5::from_event(&e);
            let _ = writeln!(self.log, "!  {seen}");
            self.events.push(seen);
            moved = true;
        }
        moved
    }

    fn poll_transmit(&mut self) -> bool {
        let mut moved = false;
        let mut buf = std::mem::take(&mut self.out);
        loop {
            match self.session.poll_transmit(self.now, &mut buf) {
                Ok(Some(n)) => {
                    moved = true;
                    self.partial.extend_from_slice(&buf[..n.min(buf.len())]);
                    let (packets, rest) = wire::split(&self.partial);
                    for p in &packets {
                        let _ = writeln!(self.log, "-> {}   {}", hex(p), describe(p));
                    }
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
        self.out = buf;
        moved
    }

    /// Polls events and transmits, then fires a due timeout, until nothing moves. Returns
    /// whether anything happened.
    pub fn pump(&mut self) -> bool {
        let mut any = false;
        for _ in 0..100_000 {
            let mut moved = if self.events_first {
                let a = self.poll_events();
                self.poll_transmit() || a
            } else {
                let a = self.poll_transmit();
                self.poll_events() || a
            };
            if self.session.poll_timeout().is_some_and(|t| t <= self.now) {
                self.session.handle_timeout(self.now);
                if self.session.poll_timeout().is_some_and(|t| t <= self.now) && !moved {
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

/// One line describing 5.0 packet bytes, decoded with `mqtt-proto`'s 5.0 decoder (or its error).
pub fn describe(bytes: &[u8]) -> String {
    match mqtt_proto::v5::Decoder::new().decode(bytes) {
        Ok(Some((p, used))) if used == bytes.len() => format!("{p:?}"),
        Ok(Some((p, used))) => format!("{p:?} (+{} trailing bytes)", bytes.len() - used),
        Ok(None) => "(incomplete)".to_owned(),
        Err(e) => format!("(malformed: {e})"),
    }
}

/// MQTT 5.0 bytes written by hand from the standard, independently of `mqtt-proto`'s encoder.
pub mod wire5 {
    pub use crate::wire::{packet, remaining_length as vbi, string};

    /// A property list with its Property Length in front (section 2.2.2.1).
    pub fn properties(props: &[u8]) -> Vec<u8> {
        let mut out = vbi(props.len());
        out.extend_from_slice(props);
        out
    }

    /// A Byte property.
    pub fn p_byte(id: u8, v: u8) -> Vec<u8> {
        vec![id, v]
    }

    /// A Two Byte Integer property.
    pub fn p_u16(id: u8, v: u16) -> Vec<u8> {
        let mut out = vec![id];
        out.extend(v.to_be_bytes());
        out
    }

    /// A Four Byte Integer property.
    pub fn p_u32(id: u8, v: u32) -> Vec<u8> {
        let mut out = vec![id];
        out.extend(v.to_be_bytes());
        out
    }

    /// A UTF-8 Encoded String (or Binary Data) property, from raw bytes.
    pub fn p_str(id: u8, v: impl AsRef<[u8]>) -> Vec<u8> {
        let mut out = vec![id];
        out.extend(string(v));
        out
    }

    /// A User Property (0x26), from raw bytes.
    pub fn p_user(k: impl AsRef<[u8]>, v: impl AsRef<[u8]>) -> Vec<u8> {
        let mut out = vec![0x26];
        out.extend(string(k));
        out.extend(string(v));
        out
    }

    /// CONNACK with this acknowledge-flags byte, reason code and property bytes.
    pub fn connack(flags: u8, code: u8, props: &[u8]) -> Vec<u8> {
        let mut body = vec![flags, code];
        body.extend(properties(props));
        packet(0x20, &body)
    }

    /// A PUBLISH from the broker: `qos` 0 takes no packet id (pass 0); `topic` raw bytes.
    pub fn publish(
        topic: impl AsRef<[u8]>,
        payload: &[u8],
        qos: u8,
        id: u16,
        dup: bool,
        props: &[u8],
    ) -> Vec<u8> {
        let first = 0x30 | (u8::from(dup) << 3) | (qos << 1);
        let mut body = string(topic);
        if qos > 0 {
            body.extend(id.to_be_bytes());
        }
        body.extend(properties(props));
        body.extend_from_slice(payload);
        packet(first, &body)
    }

    /// A PUBLISH as the client sends it without properties: Property Length 0.
    pub fn publish_out(
        topic: &str,
        payload: &[u8],
        qos: u8,
        id: u16,
        dup: bool,
        retain: bool,
    ) -> Vec<u8> {
        let mut p = publish(topic, payload, qos, id, dup, &[]);
        p[0] |= u8::from(retain);
        p
    }

    /// A four-byte acknowledgement (reason code 0x00 left out, no properties): `first` 0x40
    /// PUBACK, 0x50 PUBREC, 0x62 PUBREL, 0x70 PUBCOMP.
    pub fn ack(first: u8, id: u16) -> Vec<u8> {
        let [hi, lo] = id.to_be_bytes();
        vec![first, 0x02, hi, lo]
    }

    /// An acknowledgement with a reason code and properties.
    pub fn ack_with(first: u8, id: u16, code: u8, props: &[u8]) -> Vec<u8> {
        let mut body = id.to_be_bytes().to_vec();
        body.push(code);
        body.extend(properties(props));
        packet(first, &body)
    }

    /// SUBACK with no properties and these reason codes.
    pub fn suback(id: u16, codes: &[u8]) -> Vec<u8> {
        let mut body = id.to_be_bytes().to_vec();
        body.push(0);
        body.extend_from_slice(codes);
        packet(0x90, &body)
    }

    /// UNSUBACK with no properties and these reason codes.
    pub fn unsuback(id: u16, codes: &[u8]) -> Vec<u8> {
        let mut body = id.to_be_bytes().to_vec();
        body.push(0);
        body.extend_from_slice(codes);
        packet(0xB0, &body)
    }

    /// DISCONNECT with this reason code and property bytes.
    pub fn disconnect(code: u8, props: &[u8]) -> Vec<u8> {
        let mut body = vec![code];
        body.extend(properties(props));
        packet(0xE0, &body)
    }

    /// The CONNECT the client sends: protocol name and version 5, these flags and keep alive,
    /// CONNECT property bytes, then the payload bytes.
    pub fn connect(flags: u8, keep_alive: u16, props: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut body = vec![0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, flags];
        body.extend(keep_alive.to_be_bytes());
        body.extend(properties(props));
        body.extend_from_slice(payload);
        packet(0x10, &body)
    }

    /// PINGREQ.
    pub const PINGREQ: [u8; 2] = [0xC0, 0x00];
    /// PINGRESP.
    pub const PINGRESP: [u8; 2] = [0xD0, 0x00];
}
