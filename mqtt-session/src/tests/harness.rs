//! A scripted broker and virtual time around one [`Session`]. Every step is written to a
//! transcript (`in`: bytes from the broker, `out`: packets the session sent, `event`: what the
//! application saw), which tests compare with insta snapshots.

use std::fmt::Write as _;
use std::string::String;
use std::vec;
use std::vec::Vec;

use mqtt_proto::{
    ConnAck, ConnectReturnCode, Decoder, Packet, PacketId, Publish, QoS, QosPid, SubAck,
    SubAckCodes, TopicName,
};

use crate::{Config, ConnectOptions, Event, Instant, Session, Store, SubscribeResults, VecStore};

pub(crate) type TestSession<S> = Session<S, Vec<u8>>;

pub(crate) struct Harness<S: Store = VecStore> {
    pub(crate) s: TestSession<S>,
    pub(crate) now: Instant,
    pub(crate) log: String,
    /// Every packet the session sent, as raw bytes, in order.
    pub(crate) sent: Vec<Vec<u8>>,
    /// Every event, described.
    pub(crate) events: Vec<String>,
    /// Size of the buffer handed to `poll_transmit`.
    pub(crate) out_size: usize,
}

pub(crate) fn pid(n: u16) -> PacketId {
    PacketId::new(n).expect("non-zero test id")
}

/// Encode a broker packet.
pub(crate) fn enc(p: Packet<'_>) -> Vec<u8> {
    let mut v = vec![0; p.encoded_len()];
    let n = p.encode(&mut v).expect("test packet encodes");
    v.truncate(n);
    v
}

pub(crate) fn connack(session_present: bool) -> Vec<u8> {
    enc(Packet::ConnAck(ConnAck {
        session_present,
        code: ConnectReturnCode::Accepted,
    }))
}

pub(crate) fn publish(topic: &str, payload: &[u8], qos_pid: QosPid, dup: bool) -> Vec<u8> {
    enc(Packet::Publish(Publish {
        dup,
        qos_pid,
        retain: false,
        topic: TopicName::new(topic).expect("valid test topic"),
        payload,
    }))
}

pub(crate) fn suback(id: u16, codes: &[u8]) -> Vec<u8> {
    enc(Packet::SubAck(SubAck {
        packet_id: pid(id),
        codes: SubAckCodes::new(codes).expect("valid test codes"),
    }))
}

pub(crate) fn puback(id: u16) -> Vec<u8> {
    enc(Packet::PubAck(pid(id)))
}
pub(crate) fn pubrec(id: u16) -> Vec<u8> {
    enc(Packet::PubRec(pid(id)))
}
pub(crate) fn pubrel(id: u16) -> Vec<u8> {
    enc(Packet::PubRel(pid(id)))
}
pub(crate) fn pubcomp(id: u16) -> Vec<u8> {
    enc(Packet::PubComp(pid(id)))
}
pub(crate) fn unsuback(id: u16) -> Vec<u8> {
    enc(Packet::UnsubAck(pid(id)))
}
pub(crate) fn pingresp() -> Vec<u8> {
    enc(Packet::PingResp)
}

fn text(b: &[u8]) -> String {
    if b.len() > 32 {
        return std::format!("<{} bytes>", b.len());
    }
    match core::str::from_utf8(b) {
        Ok(s) => std::format!("{s:?}"),
        Err(_) => std::format!("{b:02x?}"),
    }
}

fn flag(b: bool) -> u8 {
    u8::from(b)
}

/// One line per packet, in the spirit of a packet trace.
pub(crate) fn describe(p: &Packet<'_>) -> String {
    match p {
        Packet::Connect(c) => {
            let mut s = std::format!(
                "CONNECT client_id={:?} clean_session={} keep_alive={}",
                c.client_id,
                flag(c.clean_session),
                c.keep_alive
            );
            if let Some(u) = c.username {
                let _ = write!(s, " username={u:?}");
            }
            if let Some(pw) = c.password {
                let _ = write!(s, " password={}", text(pw));
            }
            if let Some(w) = &c.will {
                let _ = write!(
                    s,
                    " will(topic={:?} payload={} qos={} retain={})",
                    w.topic.as_str(),
                    text(w.payload),
                    w.qos.as_u8(),
                    flag(w.retain)
                );
            }
            s
        }
        Packet::ConnAck(c) => std::format!(
            "CONNACK session_present={} code={:?}",
            flag(c.session_present),
            c.code
        ),
        Packet::Publish(p) => {
            let id = match p.qos_pid.packet_id() {
                Some(id) => std::format!(" id={}", id.get()),
                None => String::new(),
            };
            std::format!(
                "PUBLISH qos={}{id} dup={} retain={} topic={:?} payload={}",
                p.qos_pid.qos().as_u8(),
                flag(p.dup),
                flag(p.retain),
                p.topic.as_str(),
                text(p.payload)
            )
        }
        Packet::PubAck(id) => std::format!("PUBACK id={}", id.get()),
        Packet::PubRec(id) => std::format!("PUBREC id={}", id.get()),
        Packet::PubRel(id) => std::format!("PUBREL id={}", id.get()),
        Packet::PubComp(id) => std::format!("PUBCOMP id={}", id.get()),
        Packet::Subscribe(s) => {
            let mut out = std::format!("SUBSCRIBE id={}", s.packet_id.get());
            for (f, q) in s.filters.iter() {
                let _ = write!(out, " {:?}@{}", f.as_str(), q.as_u8());
            }
            out
        }
        Packet::SubAck(s) => std::format!(
            "SUBACK id={} codes={:02x?}",
            s.packet_id.get(),
            s.codes.as_bytes()
        ),
        Packet::Unsubscribe(u) => {
            let mut out = std::format!("UNSUBSCRIBE id={}", u.packet_id.get());
            for f in u.filters.iter() {
                let _ = write!(out, " {:?}", f.as_str());
            }
            out
        }
        Packet::UnsubAck(id) => std::format!("UNSUBACK id={}", id.get()),
        Packet::PingReq => "PINGREQ".into(),
        Packet::PingResp => "PINGRESP".into(),
        Packet::Disconnect => "DISCONNECT".into(),
    }
}

fn describe_results(r: &SubscribeResults<'_>) -> String {
    let v: Vec<String> = r
        .iter()
        .map(|c| match c {
            mqtt_proto::SubAckReturnCode::Success(q) => std::format!("granted {}", q.as_u8()),
            mqtt_proto::SubAckReturnCode::Failure => "failure".into(),
        })
        .collect();
    v.join(", ")
}

pub(crate) fn describe_event(e: &Event<'_>) -> String {
    match e {
        Event::Connected { session_present } => {
            std::format!("Connected session_present={}", flag(*session_present))
        }
        Event::ConnectionRefused { code } => std::format!("ConnectionRefused {code:?}"),
        Event::Message(m) => std::format!(
            "Message topic={:?} payload={} qos={} retain={} dup={}{}",
            m.topic,
            text(m.payload),
            m.qos.as_u8(),
            flag(m.retain),
            flag(m.dup),
            m.packet_id
                .map(|id| std::format!(" id={}", id.get()))
                .unwrap_or_default()
        ),
        Event::PublishAcknowledged { packet_id } => {
            std::format!("PublishAcknowledged id={}", packet_id.get())
        }
        Event::PublishCompleted { packet_id } => {
            std::format!("PublishCompleted id={}", packet_id.get())
        }
        Event::PublishDropped(m) => std::format!(
            "PublishDropped id={} qos={} topic={:?} payload={}",
            m.packet_id.get(),
            m.qos.as_u8(),
            m.topic,
            text(m.payload)
        ),
        Event::PublishAcceptedSessionEnded { packet_id } => {
            std::format!("PublishAcceptedSessionEnded id={}", packet_id.get())
        }
        Event::Republished { old, new } => {
            std::format!("Republished id={} -> id={}", old.get(), new.get())
        }
        Event::Subscribed { packet_id, results } => std::format!(
            "Subscribed id={} [{}]",
            packet_id.get(),
            describe_results(results)
        ),
        Event::Unsubscribed { packet_id } => std::format!("Unsubscribed id={}", packet_id.get()),
        Event::Disconnected { reason } => std::format!("Disconnected {reason:?}"),
        #[cfg(feature = "v5")]
        Event::Response(r) => std::format!("Response {r:?}"),
        #[cfg(feature = "v5")]
        Event::PublishRejected {
            packet_id,
            reason_code,
        } => std::format!("PublishRejected id={} {reason_code}", packet_id.get()),
        #[cfg(feature = "v5")]
        Event::AuthContinue { method, data, .. } => {
            std::format!("AuthContinue {method:?} {:?}", data.map(text))
        }
        #[cfg(feature = "v5")]
        Event::Reauthenticated { method, data, .. } => {
            std::format!("Reauthenticated {method:?} {:?}", data.map(text))
        }
        #[cfg(feature = "v5")]
        Event::PublishNotSendable { packet_id, reason } => {
            std::format!("PublishNotSendable id={} {reason:?}", packet_id.get())
        }
        #[cfg(feature = "v5")]
        Event::PublishExpired { packet_id } => {
            std::format!("PublishExpired id={}", packet_id.get())
        }
    }
}

impl Harness<VecStore> {
    pub(crate) fn new() -> Self {
        Self::with(Config::default(), VecStore::new())
    }

    pub(crate) fn with_config(config: Config) -> Self {
        Self::with(config, VecStore::new())
    }
}

impl<S: Store> Harness<S> {
    pub(crate) fn with(config: Config, store: S) -> Self {
        Harness {
            s: Session::new(config, store, vec![0; 4096], vec![0; 4096]),
            now: Instant::ZERO,
            log: String::new(),
            sent: Vec::new(),
            events: Vec::new(),
            out_size: 1500,
        }
    }

    pub(crate) fn note(&mut self, line: &str) {
        let _ = writeln!(
            self.log,
            "{:>7} {line}",
            std::format!("t={}", self.now.as_millis())
        );
    }

    /// Transport up, CONNECT with these options, pump.
    pub(crate) fn connect_with(&mut self, opts: &ConnectOptions<'_>) {
        self.s.handle_transport_up(self.now);
        self.note("transport up");
        self.s.connect(self.now, opts).expect("connect accepted");
        self.note(&std::format!(
            "cmd connect client_id={:?} clean_session={} keep_alive={}",
            opts.client_id,
            flag(opts.clean_session),
            opts.keep_alive
        ));
        self.pump();
    }

    /// Connect with a clean session and accept it.
    pub(crate) fn connected(&mut self) {
        self.connect_with(&ConnectOptions::new("client"));
        self.recv(&connack(false));
    }

    /// Feed broker bytes, whole, then pump.
    pub(crate) fn recv(&mut self, bytes: &[u8]) {
        self.note_in(bytes);
        self.feed(bytes, bytes.len().max(1));
    }

    /// Feed broker bytes `chunk` at a time, pumping between chunks.
    pub(crate) fn feed(&mut self, bytes: &[u8], chunk: usize) {
        for part in bytes.chunks(chunk.max(1)) {
            let mut rest = part;
            let mut stalls = 0;
            while !rest.is_empty() {
                let n = self.s.handle_receive(self.now, rest);
                rest = rest.get(n..).unwrap_or(&[]);
                self.pump();
                if n == 0 {
                    stalls += 1;
                    assert!(stalls < 100, "session never took the input");
                }
            }
        }
        self.pump();
    }

    fn note_in(&mut self, bytes: &[u8]) {
        let d = Decoder::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            match d.decode(rest) {
                Ok(Some((p, n))) => {
                    let line = std::format!("in    {}", describe(&p));
                    self.note(&line);
                    rest = rest.get(n..).unwrap_or(&[]);
                }
                _ => {
                    let line = std::format!("in    bytes {rest:02x?}");
                    self.note(&line);
                    break;
                }
            }
        }
    }

    /// Drain events and transmissions until the session is quiet at `now`.
    pub(crate) fn pump(&mut self) {
        for _ in 0..1000 {
            let mut busy = false;
            while let Some(e) = self.s.poll_event() {
                let line = describe_event(&e);
                self.events.push(line.clone());
                self.note(&std::format!("event {line}"));
                busy = true;
            }
            let mut buf = vec![0u8; self.out_size];
            loop {
                match self.s.poll_transmit(self.now, &mut buf) {
                    Ok(Some(n)) => {
                        busy = true;
                        let chunk = buf.get(..n).expect("n within buf").to_vec();
                        self.record_out(&chunk);
                    }
                    Ok(None) => break,
                    Err(e) => panic!("transmit buffer too small: {e:?}"),
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

    fn record_out(&mut self, mut chunk: &[u8]) {
        let d = Decoder::new();
        while !chunk.is_empty() {
            match d.decode(chunk) {
                Ok(Some((p, n))) => {
                    let line = std::format!("out   {}", describe(&p));
                    self.note(&line);
                    self.sent.push(chunk.get(..n).expect("n in chunk").to_vec());
                    chunk = chunk.get(n..).unwrap_or(&[]);
                }
                other => panic!("session sent bytes that do not decode: {other:?} {chunk:02x?}"),
            }
        }
    }

    /// Move virtual time forward by `ms`, firing every timer on the way at its exact instant.
    pub(crate) fn advance(&mut self, ms: u64) {
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

    /// Publish and log.
    pub(crate) fn publish(&mut self, topic: &str, payload: &[u8], qos: QoS) -> Option<PacketId> {
        let r = self.s.publish(self.now, topic, payload, qos, false);
        self.note(&std::format!(
            "cmd publish qos={} topic={topic:?} payload={} -> {}",
            qos.as_u8(),
            text(payload),
            match &r {
                Ok(Some(id)) => std::format!("id {}", id.get()),
                Ok(None) => "ok".into(),
                Err(e) => std::format!("Err({e:?})"),
            }
        ));
        self.pump();
        r.ok().flatten()
    }

    /// Transport closed, pump.
    pub(crate) fn close(&mut self) {
        self.s.handle_transport_closed(self.now);
        self.note("transport closed");
        self.pump();
    }

    /// Descriptions of the packets sent since index `from`.
    pub(crate) fn sent_since(&self, from: usize) -> Vec<String> {
        let d = Decoder::new();
        self.sent
            .get(from..)
            .unwrap_or(&[])
            .iter()
            .map(|b| match d.decode(b) {
                Ok(Some((p, _))) => describe(&p),
                _ => "?".into(),
            })
            .collect()
    }
}

/// Poll events until `Disconnected` and return its reason.
pub(crate) fn disconnect_reason<S: Store>(h: &mut Harness<S>) -> crate::DisconnectReason {
    while let Some(e) = h.s.poll_event() {
        if let crate::Event::Disconnected { reason } = e {
            return reason;
        }
    }
    panic!("no Disconnected event");
}
