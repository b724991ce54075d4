//! The IO thread: moves bytes and time between the socket and the session, and nothing else.
//!
//! One IO thread per client owns the socket's write side, the TLS state and the timers. Per
//! connection, a reader thread blocks in `read` on a clone of the socket and hands raw bytes
//! to the IO thread's inbox. The IO thread sleeps on a condition variable until one of: bytes
//! or end-of-stream in the inbox, a command from the application (`wake`), or the next
//! deadline (the session's `poll_timeout`, the connect wait time, a scheduled reconnect). No
//! polling interval, no spinning. Closing the socket (`shutdown`) ends the reader's `read`.
//!
//! Each round: take the inputs under the lock; decrypt (TLS) without it; feed the session,
//! drain its events and transmit bytes under the lock; write to the socket and run callbacks
//! without it.

use std::io::{self, Read as _};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use mqtt_session::Event;

use crate::client::{CloseKind, ConnectRequest, Shared, State, Status};
use crate::error::{DisconnectReason, Error};
use crate::options::{ClientOptions, ConnectOptions, Connected, Message, Reconnect};
use crate::pending::{Fire, Slot, deadline_after};
use crate::store::{FileStore, SessionStore};
use crate::tls::TlsConfig;
use crate::trace::Tracer;
use crate::transport::{Link, LinkError};
use crate::ws::{WsConfig, WsLayer};

/// Raw bytes buffered from a reader thread before it waits for the IO thread.
const INBOX_LIMIT: usize = 256 * 1024;
/// Size of one socket read.
const READ_CHUNK: usize = 64 * 1024;

/// A connection attempt in progress.
struct Attempt {
    slot: Option<Arc<Slot<Connected>>>,
    deadline: Instant,
    options: ConnectOptions,
    /// TLS handshake done (always true for plain TCP) and CONNECT queued.
    connect_sent: bool,
    refused: Option<mqtt_proto::ConnectReturnCode>,
}

/// Where to connect again (automatic reconnect; the tokio client's too).
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) tls: Option<TlsConfig>,
    pub(crate) ws: Option<WsConfig>,
    pub(crate) options: ConnectOptions,
}

struct Io {
    shared: Arc<Shared>,
    options: ClientOptions,
    link: Option<Link>,
    readers: Vec<JoinHandle<()>>,
    attempt: Option<Attempt>,
    /// The last target that accepted a connection, for automatic reconnects.
    target: Option<Target>,
    reconnect_at: Option<Instant>,
    reconnect_failures: u32,
    /// Set when the session reported the end of the connection: close after writing.
    closing: Option<DisconnectReason>,
    /// What goes out this round: the session writes its packets straight into it.
    out: Outgoing,
    plain: Vec<u8>,
    /// The packet trace hook ([`ClientOptions::trace`]), if set.
    tracer: Option<Tracer>,
    /// Input left over (the session took less than offered): go round again without sleeping.
    again: bool,
    /// The target of the attempt in progress; becomes `target` once CONNACK accepts it.
    pending_target: Option<Target>,
    /// Messages were queued this round: run the receive notification.
    received_any: bool,
    /// Inside `end_link`: the session's own `Disconnected` event is not a new ending.
    ending: bool,
}

/// A callback to run outside the lock, in order.
type Fires = Vec<Fire>;

fn fire(f: impl FnOnce() + Send + 'static) -> Fire {
    Fire::new(f)
}

pub(crate) fn run(shared: Arc<Shared>, options: ClientOptions) {
    let tracer = Tracer::of(&options);
    let mut io = Io {
        shared,
        options,
        link: None,
        readers: Vec::new(),
        attempt: None,
        target: None,
        reconnect_at: None,
        reconnect_failures: 0,
        closing: None,
        out: Outgoing::new(),
        plain: Vec::new(),
        tracer,
        again: false,
        pending_target: None,
        received_any: false,
        ending: false,
    };
    io.main();
    for r in io.readers.drain(..) {
        let _ = r.join();
    }
}

impl Io {
    fn has_work(&self, st: &State) -> bool {
        // Input waits while the receive queue is full (end of stream too: the messages
        // before it are delivered first).
        let can_take = st.messages.len() < st.depth || self.handshaking();
        st.shutdown
            || st.wake
            || st.connect_req.is_some()
            || st.close_req.is_some()
            || st.cancel_reconnect
            || (can_take && (!st.inbox.is_empty() || st.inbox_end.is_some()))
            || self.again
    }

    fn handshaking(&self) -> bool {
        self.link.as_ref().is_some_and(Link::handshaking)
    }

    /// How long the IO thread may sleep: until the session's next timer, the connect
    /// deadline, or a scheduled reconnect.
    fn sleep_for(&self, st: &State) -> Option<Duration> {
        let now = Instant::now();
        let mut until: Option<Duration> = None;
        let mut consider = |d: Duration| until = Some(until.map_or(d, |u| u.min(d)));
        if let Some(t) = st.session.poll_timeout() {
            let now_ms = self.shared.now().as_millis();
            consider(Duration::from_millis(t.as_millis().saturating_sub(now_ms)));
        }
        if let Some(a) = &self.attempt {
            consider(a.deadline.saturating_duration_since(now));
        }
        if let Some(at) = self.reconnect_at {
            consider(at.saturating_duration_since(now));
        }
        until
    }

    fn main(&mut self) {
        loop {
            let shared = self.shared.clone();
            let mut st = shared.lock();
            // Sleep until there is something to do.
            while !self.has_work(&st) {
                match self.sleep_for(&st) {
                    Some(d) if d.is_zero() => break,
                    Some(d) => {
                        shared.io_sleeping.store(true, Ordering::Relaxed);
                        st = shared
                            .io_cv
                            .wait_timeout(st, d)
                            .unwrap_or_else(PoisonError::into_inner)
                            .0;
                        shared.io_sleeping.store(false, Ordering::Relaxed);
                    }
                    None => {
                        shared.io_sleeping.store(true, Ordering::Relaxed);
                        st = shared
                            .io_cv
                            .wait(st)
                            .unwrap_or_else(PoisonError::into_inner);
                        shared.io_sleeping.store(false, Ordering::Relaxed);
                    }
                }
            }
            st.wake = false;
            self.again = false;
            let mut fires = Fires::new();

            if st.shutdown {
                self.shutdown(&mut st, &mut fires);
                drop(st);
                run_fires(fires);
                return;
            }
            if st.cancel_reconnect {
                st.cancel_reconnect = false;
                st.reconnecting = false;
                self.reconnect_at = None;
                let reason = st
                    .last_reason
                    .clone()
                    .unwrap_or(DisconnectReason::TransportClosed);
                interrupt_publishes(&mut st, &reason, &mut fires);
                shared.notify_app();
            }
            if let Some(req) = st.connect_req.take() {
                // An explicit connect replaces a scheduled reconnect.
                self.reconnect_at = None;
                st.reconnecting = false;
                drop(st);
                self.begin_connect(req);
                continue;
            }
            if self.link.is_none()
                && st.status == Status::Idle
                && self.reconnect_at.is_some_and(|at| at <= Instant::now())
            {
                self.reconnect_at = None;
                if let Some(t) = self.target.clone() {
                    st.status = Status::Connecting;
                    drop(st);
                    self.begin_connect(ConnectRequest {
                        host: t.host,
                        port: t.port,
                        tls: t.tls,
                        ws: t.ws,
                        options: t.options,
                        slot: None,
                    });
                    continue;
                }
            }

            let close = st.close_req.take();
            if close == Some(CloseKind::Drop) {
                self.end_link(&mut st, DisconnectReason::Dropped, &mut fires);
                drop(st);
                run_fires(fires);
                continue;
            }

            // Inputs from the reader thread (paused while the receive queue is full). Every
            // chunk waiting, up to one read's worth of bytes (at least one chunk), so that a
            // full queue overshoots by one read at most.
            let mut raw = Vec::new();
            if st.messages.len() < st.depth || self.handshaking() {
                let was_full = st.inbox_bytes >= INBOX_LIMIT;
                let mut taken = 0usize;
                while let Some(len) = st.inbox.front().map(Vec::len) {
                    if taken > 0 && taken.saturating_add(len) > READ_CHUNK {
                        break;
                    }
                    let Some(chunk) = st.inbox.pop_front() else {
                        break;
                    };
                    taken = taken.saturating_add(len);
                    st.inbox_bytes = st.inbox_bytes.saturating_sub(len);
                    raw.push(chunk);
                }
                // The reader waits for room only once the inbox is full.
                if was_full && st.inbox_bytes < INBOX_LIMIT {
                    shared.reader_cv.notify_all();
                }
            }
            let end = if st.inbox.is_empty() && (st.messages.len() < st.depth || self.handshaking())
            {
                st.inbox_end.take()
            } else {
                None
            };
            drop(st);

            // Decrypt (TLS) and trace without the lock.
            let mut link_err = None;
            if let Some(link) = &mut self.link {
                let start = self.plain.len();
                if link.is_plain() && self.plain.is_empty() && !raw.is_empty() {
                    // Plain TCP: the first chunk becomes the input as it is (no copy).
                    self.plain = raw.remove(0);
                }
                for chunk in &raw {
                    if let Err(e) = link.received(chunk, &mut self.plain) {
                        link_err = Some(e);
                        break;
                    }
                }
                self.trace_received(start);
            }

            let mut st = shared.lock();
            let now = shared.now();
            // TLS handshake finished: the transport is up, send CONNECT.
            if link_err.is_none()
                && self.link.is_some()
                && !self.handshaking()
                && self.attempt.as_ref().is_some_and(|a| !a.connect_sent)
            {
                self.transport_up(&mut st, &mut fires);
            }
            self.feed(&mut st, &mut fires);
            // Not connected yet (CONNACK pending): just close.
            if close == Some(CloseKind::Disconnect)
                && self.closing.is_none()
                && st.session.disconnect(now).is_err()
            {
                self.end_link(&mut st, DisconnectReason::Local, &mut fires);
            }
            // A full receive queue stops input: back-pressure, not a dead broker (the PINGRESP
            // may wait unread behind the messages).
            let paused = st.messages.len() >= st.depth && !self.handshaking();
            st.session.set_input_paused(now, paused);
            st.session.handle_timeout(now);
            if let Some(a) = &self.attempt {
                if a.deadline <= Instant::now() && self.closing.is_none() {
                    let slot = self.attempt.take().and_then(|a| a.slot);
                    if let Some(slot) = slot {
                        fires.extend(slot.complete(Err(Error::Timeout)));
                    }
                    self.end_link(&mut st, DisconnectReason::ConnAckTimeout, &mut fires);
                }
            }
            self.pump(&mut st, &mut fires);
            if let Some(e) = link_err {
                let reason = match e {
                    LinkError::Tls(t) => {
                        self.fail_attempt(Error::Tls(t.clone()), &mut fires);
                        DisconnectReason::Tls(t)
                    }
                    LinkError::WebSocket(w) => {
                        // Before CONNACK (the handshake failed): the connect fails with it.
                        self.fail_attempt(Error::WebSocket(w.clone()), &mut fires);
                        DisconnectReason::WebSocket(w)
                    }
                    LinkError::Io(e) => DisconnectReason::Io(e.kind()),
                };
                self.end_link(&mut st, reason, &mut fires);
            } else if let Some(end) = end {
                if self.link.is_some() && self.closing.is_none() {
                    let reason = match end {
                        None => DisconnectReason::TransportClosed,
                        Some(kind) => DisconnectReason::Io(kind),
                    };
                    if self.handshaking() {
                        self.fail_attempt(Error::ConnectionLost(reason.clone()), &mut fires);
                    }
                    self.end_link(&mut st, reason, &mut fires);
                }
            }
            self.notify_received(&st, &mut fires);
            // Nothing goes out before the durable store has what it reports on disk.
            if !self.out.is_empty() {
                if let Some(Err(e)) = st.session.store().file().map(FileStore::sync) {
                    self.out.clear();
                    self.end_link(&mut st, DisconnectReason::Store(e), &mut fires);
                }
            }
            let qos0_upto = st.qos0_seq;
            drop(st);

            // Write without the lock.
            let mut write_err = None;
            if !self.out.is_empty() {
                self.trace_sent();
                if let Some(link) = &mut self.link {
                    if let Err(e) = link.write(self.out.bytes()) {
                        write_err = Some(e);
                    }
                }
                self.out.clear();
            }
            let mut st = shared.lock();
            if write_err.is_none() {
                while st.qos0.front().is_some_and(|(seq, _)| *seq <= qos0_upto) {
                    if let Some((_, slot)) = st.qos0.pop_front() {
                        fires.extend(slot.complete(Ok(())));
                    }
                }
            }
            if let Some(e) = write_err {
                let reason = match e {
                    LinkError::Tls(t) => DisconnectReason::Tls(t),
                    LinkError::WebSocket(w) => DisconnectReason::WebSocket(w),
                    LinkError::Io(e) => DisconnectReason::Io(e.kind()),
                };
                self.end_link(&mut st, reason, &mut fires);
            } else if let Some(reason) = self.closing.take() {
                let linger = self.options.linger_for(&reason);
                if !linger.is_zero() {
                    // DISCONNECT is out: half-close and drain without the lock.
                    drop(st);
                    if let Some(link) = &mut self.link {
                        link.finish(linger);
                    }
                    st = shared.lock();
                }
                self.end_link(&mut st, reason, &mut fires);
            }
            drop(st);
            run_fires(fires);
        }
    }

    /// Feeds the decrypted bytes to the session, draining events and transmit bytes whenever
    /// it stops taking them.
    fn feed(&mut self, st: &mut State, fires: &mut Fires) {
        let mut off = 0;
        let mut stalls = 0;
        while off < self.plain.len() && self.closing.is_none() {
            let rest = self.plain.get(off..).unwrap_or_default();
            let n = st.session.handle_receive(self.shared.now(), rest);
            off += n;
            let progressed = self.pump(st, fires);
            if n == 0 && !progressed {
                stalls += 1;
                if stalls > 2 {
                    break;
                }
            } else {
                stalls = 0;
            }
        }
        if self.closing.is_some() || self.link.is_none() {
            self.plain.clear();
        } else {
            self.plain.drain(..off.min(self.plain.len()));
            self.again = !self.plain.is_empty() && stalls <= 2;
        }
    }

    /// Drains events and transmit bytes until neither has more. Returns whether anything came.
    fn pump(&mut self, st: &mut State, fires: &mut Fires) -> bool {
        let mut any = false;
        loop {
            let events = self.drain_events(st, fires);
            let sent = self.collect_transmit(st);
            if !events && !sent {
                return any;
            }
            any = true;
        }
    }

    fn collect_transmit(&mut self, st: &mut State) -> bool {
        let any = self.out.fill(&mut st.session, self.shared.now());
        if any {
            st.tx_drained = st.tx_drained.wrapping_add(1);
            if st.tx_waiters > 0 {
                self.shared.notify_app();
            }
        }
        any
    }

    /// Handles every pending session event. Returns whether there was any.
    fn drain_events(&mut self, st: &mut State, fires: &mut Fires) -> bool {
        let mut any = false;
        loop {
            let State {
                session,
                messages,
                pubs,
                subs,
                unsubs,
                status,
                ..
            } = &mut *st;
            let Some(event) = session.poll_event() else {
                return any;
            };
            any = true;
            match event {
                Event::Connected { session_present } => {
                    *status = Status::Connected;
                    self.shared.notify_app();
                    if let Some(a) = self.attempt.take() {
                        self.reconnect_failures = 0;
                        if let Some(link_target) = self.pending_target.take() {
                            self.target = Some(link_target);
                        }
                        if let Some(slot) = a.slot {
                            fires.extend(slot.complete(Ok(Connected { session_present })));
                        }
                    }
                }
                Event::ConnectionRefused { code } => {
                    if let Some(a) = &mut self.attempt {
                        a.refused = Some(code);
                    }
                }
                Event::Message(m) => {
                    let message = Message::received(&m, None);
                    messages.push_back(session.store().record(message));
                    self.received_any = true;
                }
                Event::PublishAcknowledged { packet_id }
                | Event::PublishCompleted { packet_id } => {
                    if let Some(slot) = pubs.remove(&packet_id) {
                        fires.extend(slot.complete(Ok(())));
                    }
                }
                Event::PublishDropped(o) => {
                    if let Some(slot) = pubs.remove(&o.packet_id) {
                        fires.extend(slot.complete(Err(Error::PublishDropped)));
                    }
                }
                Event::PublishAcceptedSessionEnded { packet_id } => {
                    if let Some(slot) = pubs.remove(&packet_id) {
                        fires.extend(slot.complete(Err(Error::AcceptedSessionEnded)));
                    }
                }
                Event::PublishRejected {
                    packet_id,
                    reason_code,
                } => {
                    if let Some(slot) = pubs.remove(&packet_id) {
                        fires.extend(slot.complete(Err(Error::PublishRejected(reason_code))));
                    }
                }
                Event::Republished { old, new } => {
                    // Its session ended: the message goes out again under a new id.
                    if let Some(slot) = pubs.remove(&old) {
                        pubs.insert(new, slot);
                    }
                }
                Event::Subscribed { packet_id, results } => {
                    if let Some(slot) = subs.remove(&packet_id) {
                        fires.extend(slot.complete(Ok(results.iter().collect())));
                    }
                }
                Event::Unsubscribed { packet_id } => {
                    if let Some(slot) = unsubs.remove(&packet_id) {
                        fires.extend(slot.complete(Ok(())));
                    }
                }
                Event::Disconnected { reason } if self.closing.is_none() && !self.ending => {
                    self.closing = Some(DisconnectReason::from_session(reason));
                }
                _ => {}
            }
        }
    }

    fn notify_received(&mut self, st: &State, fires: &mut Fires) {
        if !std::mem::take(&mut self.received_any) {
            return;
        }
        self.shared.notify_app();
        if let Some(f) = st.receive_notify.clone() {
            let n = st.messages.len();
            fires.push(fire(move || f(n)));
        }
    }

    fn trace_received(&mut self, start: usize) {
        if let Some(t) = &mut self.tracer {
            t.received(self.plain.get(start..).unwrap_or_default());
        }
    }

    fn trace_sent(&self) {
        if let Some(t) = &self.tracer {
            t.sent(self.out.bytes());
        }
    }

    /// Completes the connection attempt (if any) with `e`.
    fn fail_attempt(&mut self, e: Error, fires: &mut Fires) {
        if let Some(slot) = self.attempt.as_mut().and_then(|a| a.slot.take()) {
            fires.extend(slot.complete(Err(e)));
        }
    }

    /// Opens the TCP (and TLS) connection for `req`; CONNECT goes out once the transport is up.
    fn begin_connect(&mut self, req: ConnectRequest) {
        let deadline = deadline_after(req.options.wait_time());
        let auto = req.slot.is_none();
        let result = self.open(&req, deadline);
        let shared = self.shared.clone();
        let mut st = shared.lock();
        let mut fires = Fires::new();
        match result {
            Ok((link, reader_stream)) => {
                st.conn_gen = st.conn_gen.wrapping_add(1);
                st.inbox.clear();
                st.inbox_bytes = 0;
                st.inbox_end = None;
                let conn_gen = st.conn_gen;
                self.link = Some(link);
                if let Some(t) = &mut self.tracer {
                    t.reset(req.options.protocol_version());
                }
                self.plain.clear();
                self.closing = None;
                self.pending_target = Some(Target {
                    host: req.host.clone(),
                    port: req.port,
                    tls: req.tls.clone(),
                    ws: req.ws.clone(),
                    options: req.options,
                });
                self.attempt = Some(Attempt {
                    slot: req.slot,
                    deadline,
                    options: req.options,
                    connect_sent: false,
                    refused: None,
                });
                let reader_shared = self.shared.clone();
                match thread::Builder::new()
                    .name("mqtt-reader".into())
                    .spawn(move || reader(reader_shared, reader_stream, conn_gen))
                {
                    Ok(h) => self.readers.push(h),
                    Err(e) => {
                        self.fail_attempt(Error::ThreadSpawn(Arc::new(e)), &mut fires);
                        self.end_link(
                            &mut st,
                            DisconnectReason::Io(io::ErrorKind::Other),
                            &mut fires,
                        );
                    }
                }
                if self.link.is_some() && !self.handshaking() {
                    self.transport_up(&mut st, &mut fires);
                    self.pump(&mut st, &mut fires);
                }
            }
            Err(e) => {
                st.status = Status::Idle;
                if let Some(slot) = req.slot {
                    fires.extend(slot.complete(Err(e)));
                }
                if auto {
                    self.reconnect_failures = self.reconnect_failures.saturating_add(1);
                    self.schedule_reconnect(&mut st);
                }
                shared.notify_app();
            }
        }
        // The CONNECT (or ClientHello) goes out in the main loop's write step.
        st.wake = true;
        drop(st);
        run_fires(fires);
    }

    /// TCP connect, TLS set-up and ClientHello, without the lock.
    fn open(
        &mut self,
        req: &ConnectRequest,
        deadline: Instant,
    ) -> Result<(Link, TcpStream), Error> {
        let addr = format!("{}:{}", req.host, req.port);
        let addrs = resolve(&req.host, req.port, deadline).map_err(|e| match e {
            Resolved::TimedOut => Error::Timeout,
            Resolved::Failed(e) => Error::Resolve {
                addr: addr.clone(),
                source: Arc::new(e),
            },
        })?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
        let mut tcp = None;
        for a in &addrs {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Timeout);
            }
            match TcpStream::connect_timeout(a, left) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let tcp = tcp.ok_or_else(|| Error::Connect {
            addr: addr.clone(),
            source: Arc::new(last),
        })?;
        let io_err = |e: io::Error| Error::Connect {
            addr: addr.clone(),
            source: Arc::new(e),
        };
        tcp.set_nodelay(true).map_err(io_err)?;
        let reader = tcp.try_clone().map_err(io_err)?;
        let mut link = match &req.tls {
            None => Link::plain(tcp),
            Some(cfg) => Link::tls(tcp, cfg, &req.host)?,
        };
        link.bound_writes(self.options.write_timeout)
            .map_err(io_err)?;
        if let Some(ws) = &req.ws {
            let request = ws
                .request(&req.host, req.port, req.tls.is_some())
                .map_err(Error::WebSocket)?;
            let config = crate::ws::tungstenite_config(self.options.max_packet_size);
            link = link.websocket(WsLayer::new(request, config));
        }
        link.flush().map_err(|e| match e {
            LinkError::Io(e) => io_err(e),
            LinkError::Tls(t) => Error::Tls(t),
            LinkError::WebSocket(w) => Error::WebSocket(w),
        })?;
        Ok((link, reader))
    }

    /// The transport is up: tell the session and queue CONNECT.
    fn transport_up(&mut self, st: &mut State, fires: &mut Fires) {
        let Some(a) = &mut self.attempt else {
            return;
        };
        a.connect_sent = true;
        let now = self.shared.now();
        st.session.handle_transport_up(now);
        let login = st.login.clone();
        let will = st.will.clone();
        let c = a
            .options
            .session_connect(&self.shared.client_id, login.as_ref(), will.as_ref());
        if let Err(e) = st.session.connect(now, c) {
            if let Some(slot) = a.slot.take() {
                fires.extend(slot.complete(Err(e.into())));
            }
            self.end_link(st, DisconnectReason::Local, fires);
        }
    }

    /// Closes the link (if any), ends the session's connection, and reports the end.
    fn end_link(&mut self, st: &mut State, reason: DisconnectReason, fires: &mut Fires) {
        self.closing = None;
        let had_link = self.link.is_some();
        if let Some(mut link) = self.link.take() {
            link.close();
        }
        // Stale bytes of this connection are ignored from now on; its reader exits.
        st.conn_gen = st.conn_gen.wrapping_add(1);
        st.inbox.clear();
        st.inbox_bytes = 0;
        st.inbox_end = None;
        self.shared.reader_cv.notify_all();
        self.plain.clear();
        self.out.clear();
        self.readers.retain(|h| !h.is_finished());

        self.ending = true;
        st.session.handle_transport_closed(self.shared.now());
        self.drain_events(st, fires);
        self.ending = false;
        self.closing = None;
        let _ = self.collect_transmit(st);
        self.out.clear();

        // A connection attempt still open fails with the reason.
        if let Some(a) = self.attempt.take() {
            if let Some(slot) = a.slot {
                fires.extend(slot.complete(Err(reason.connect_error(a.refused))));
            }
            if self.target.is_some() && !reason.is_local() {
                self.reconnect_failures = self.reconnect_failures.saturating_add(1);
            }
        }
        // Requests awaiting an acknowledgement are forgotten by the session; so are QoS 0
        // messages not yet written. QoS 1/2 publishes stay pending in the session.
        let lost = Error::ConnectionLost(reason.clone());
        for (_, slot) in st.subs.drain() {
            fires.extend(slot.complete(Err(lost.clone())));
        }
        for (_, slot) in st.unsubs.drain() {
            fires.extend(slot.complete(Err(lost.clone())));
        }
        for (_, slot) in st.qos0.drain(..) {
            fires.extend(slot.complete(Err(lost.clone())));
        }
        let was_connected = st.status == Status::Connected;
        if st.status != Status::Closed {
            st.status = Status::Idle;
        }
        st.last_reason = Some(reason.clone());
        if had_link || was_connected {
            if let Some(f) = st.disconnect_notify.clone() {
                let r = reason.clone();
                fires.push(fire(move || f(&r)));
            }
        }
        if !reason.is_local() && !st.shutdown {
            self.schedule_reconnect(st);
        }
        if !st.reconnecting && !matches!(reason, DisconnectReason::ClientClosed) {
            // No reconnect follows: nobody waits for ever.
            interrupt_publishes(st, &reason, fires);
        }
        self.shared.notify_app();
    }

    fn schedule_reconnect(&mut self, st: &mut State) {
        let Some(policy) = self.options.reconnect else {
            return;
        };
        if self.target.is_none() {
            return;
        }
        let delay = backoff(policy, self.reconnect_failures);
        self.reconnect_at = Some(deadline_after(delay));
        st.reconnecting = true;
    }

    fn shutdown(&mut self, st: &mut State, fires: &mut Fires) {
        // Still connected (the client was closed from a callback): say goodbye properly.
        if st.session.is_connected() && st.session.disconnect(self.shared.now()).is_ok() {
            self.out.clear();
            self.collect_transmit(st);
            let synced = st.session.store().file().map_or(Ok(()), FileStore::sync);
            if let (Some(link), Ok(())) = (&mut self.link, synced) {
                if link.write(self.out.bytes()).is_ok() {
                    link.finish(self.options.linger);
                }
            }
            self.out.clear();
        }
        if self.link.is_some() || self.attempt.is_some() {
            self.end_link(st, DisconnectReason::ClientClosed, fires);
        }
        self.reconnect_at = None;
        st.reconnecting = false;
        st.status = Status::Closed;
        for (_, slot) in st.pubs.drain() {
            fires.extend(slot.complete(Err(Error::Closed)));
        }
        if let Some(req) = st.connect_req.take() {
            if let Some(slot) = req.slot {
                fires.extend(slot.complete(Err(Error::Closed)));
            }
        }
        st.messages.clear();
        SessionStore::release(&mut st.session);
        // Callbacks may hold client handles: drop them to break the cycle.
        // Callbacks may hold client handles, the last one among them: they are dropped with
        // the other fires, once the state lock is released (dropping the last handle closes
        // the client, which takes the lock).
        let callbacks = (st.receive_notify.take(), st.disconnect_notify.take());
        fires.push(fire(move || drop(callbacks)));
        self.shared.notify_app();
        self.shared.reader_cv.notify_all();
    }
}

/// Room the session gets to write packets into at least (a larger packet gets what it needs).
const OUT_ROOM: usize = 64 * 1024;

/// The bytes to write this round (both clients). The session encodes its packets straight
/// into the buffer (no copy between a transmit buffer and a write buffer); `buf` stays
/// initialized beyond `len`, so that reusing it costs nothing. `Default` is empty, without
/// an allocation: it grows on the first `fill`.
#[derive(Default)]
pub(crate) struct Outgoing {
    buf: Vec<u8>,
    len: usize,
}

impl Outgoing {
    pub(crate) fn new() -> Self {
        Outgoing {
            buf: vec![0; OUT_ROOM],
            len: 0,
        }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }

    /// Moves every packet the session has to send to the end. Returns whether any came.
    pub(crate) fn fill<S: mqtt_session::Store>(
        &mut self,
        session: &mut mqtt_session::Session<S, Vec<u8>>,
        now: mqtt_session::Instant,
    ) -> bool {
        let mut any = false;
        loop {
            let room = self.buf.get_mut(self.len..).unwrap_or_default();
            let free = room.len();
            match session.poll_transmit(now, room) {
                Ok(Some(n)) => {
                    self.len += n.min(free);
                    any = true;
                }
                Ok(None) => return any,
                Err(too_small) => {
                    if too_small.required <= free {
                        return any;
                    }
                    let want = self.len.saturating_add(too_small.required.max(OUT_ROOM));
                    self.buf.resize(want, 0);
                }
            }
        }
    }
}

fn run_fires(fires: Fires) {
    for f in fires {
        f.run();
    }
}

/// The wait before reconnect attempt `failures + 1`: `initial * 2^failures` capped at `max`,
/// times a random factor in [0.5, 1.0].
pub(crate) fn backoff(policy: Reconnect, failures: u32) -> Duration {
    let base = policy
        .initial
        .saturating_mul(1u32 << failures.min(16))
        .min(policy.max);
    let jitter = 0.5 + (random_u64() % 1_000) as f64 / 2_000.0;
    Duration::try_from_secs_f64(base.as_secs_f64() * jitter).unwrap_or(base)
}

/// 64 random bits (std's per-process random hash keys and the clock).
fn random_u64() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// The reader thread of connection `conn_gen`: blocking reads into the IO thread's inbox.
fn reader(shared: Arc<Shared>, mut tcp: TcpStream, conn_gen: u64) {
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        let r = tcp.read(&mut buf);
        let mut st = shared.lock();
        if st.conn_gen != conn_gen || st.shutdown {
            return;
        }
        match r {
            Ok(0) => {
                st.inbox_end = Some(None);
                shared.notify_io();
                return;
            }
            Ok(n) => {
                st.inbox
                    .push_back(buf.get(..n).unwrap_or_default().to_vec());
                st.inbox_bytes += n;
                shared.notify_io();
                while st.inbox_bytes >= INBOX_LIMIT && st.conn_gen == conn_gen && !st.shutdown {
                    st = shared
                        .reader_cv
                        .wait(st)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                if st.conn_gen != conn_gen || st.shutdown {
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                st.inbox_end = Some(Some(e.kind()));
                shared.notify_io();
                return;
            }
        }
    }
}

/// Why [`resolve`] found no address.
enum Resolved {
    /// The connect wait ran out first.
    TimedOut,
    /// The resolver's error.
    Failed(io::Error),
}

/// The addresses of `host`, within the connect wait: an IP address at once; a name on a thread
/// of its own, so that a resolver that hangs cannot hold the connect past its deadline (the
/// thread ends when the resolver returns; its answer is then dropped).
fn resolve(host: &str, port: u16, deadline: Instant) -> Result<Vec<SocketAddr>, Resolved> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let name = host.to_owned();
    let spawned = std::thread::Builder::new()
        .name("mqtt-resolve".into())
        .spawn(move || {
            let r = (name.as_str(), port)
                .to_socket_addrs()
                .map(|a| a.collect::<Vec<_>>());
            let _ = tx.send(r);
        });
    if spawned.is_err() {
        // No thread to spare: resolve here, without the bound.
        return (host, port)
            .to_socket_addrs()
            .map(|a| a.collect())
            .map_err(Resolved::Failed);
    }
    let left = deadline.saturating_duration_since(Instant::now());
    match rx.recv_timeout(left) {
        Ok(r) => r.map_err(Resolved::Failed),
        Err(_) => Err(Resolved::TimedOut),
    }
}

/// Completes every QoS 1/2 publish still waiting with [`Error::PublishInterrupted`]: the link is
/// gone and no reconnect follows. The messages stay in the session.
fn interrupt_publishes(st: &mut State, reason: &DisconnectReason, fires: &mut Fires) {
    for (_, slot) in st.pubs.drain() {
        fires.extend(slot.complete(Err(Error::PublishInterrupted(reason.clone()))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_max_with_jitter() {
        let p = Reconnect {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        for failures in 0..40 {
            let d = backoff(p, failures);
            let base = Duration::from_millis(100)
                .saturating_mul(1 << failures.min(16))
                .min(Duration::from_secs(1));
            assert!(d >= base / 2 && d <= base, "{failures}: {d:?} vs {base:?}");
        }
        // Absurd policies do not panic.
        let huge = Reconnect {
            initial: Duration::MAX,
            max: Duration::MAX,
        };
        for failures in [0, 1, 40, u32::MAX] {
            let _ = backoff(huge, failures);
        }
        assert!(deadline_after(Duration::MAX) > Instant::now());
    }
}
