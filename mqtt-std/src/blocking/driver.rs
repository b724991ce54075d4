//! The IO thread and the reader threads: they move bytes and time between the socket and the
//! session, and nothing else.
//!
//! The driver core ([`crate::core`]), the socket's write side and the TLS state live in an
//! [`IoSide`] under a mutex of their own. Whoever holds it runs a round: take the inputs,
//! decrypt (TLS), step the core, write. Per connection, a reader thread blocks in `read` on a
//! clone of the socket and puts the bytes in the inbox; then, when nobody else holds the IO
//! side and the connection is in its steady state, it runs the round itself, so that a packet
//! is read, decoded, answered and written on one thread with no hand-off. An application
//! thread does the same after a session command ([`take_turn`]), so that a publish is
//! written without waking anyone. A thread that finds the IO side taken leaves its work to
//! the holder, who looks again after letting go; work that is not for a borrowed round (a
//! connect, a close, the shutdown, a connection not in its steady state) wakes the IO thread.
//!
//! An application thread about to block for a message or a completion reads the connection
//! itself instead while the connection is in its steady state ([`read`]): the bytes it waits
//! for then wake the thread that wants them, and the reader thread stays parked until no
//! application thread has read for 5 ms.
//!
//! The IO thread owns everything else: connects, reconnects, closing, shutdown, timers, and
//! every callback (a round a reader ran hands its callbacks over). It sleeps on a condition
//! variable until one of: bytes or end-of-stream in the inbox, a command from the application
//! (`wake`), callbacks handed over, or the next deadline (the core's). No polling interval,
//! no spinning. Closing the socket (`shutdown`) ends the reader's `read`.
//!
//! Lock order: the IO side before the state (`Shared::st`). Only the IO thread waits for the
//! IO side; readers and application threads only try it.

pub(crate) mod read;
mod turn;

use std::io;
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use super::pending::Slot;
use super::resolve::{Resolved, resolve};
use super::shared::{Shared, Slots, State};
use crate::core::driver::{Core, LinkState};
use crate::core::{Fire, Status, Target, deadline_after};
use crate::error::{DisconnectReason, Error};
use crate::link::socket::{Link, LinkError};
use crate::options::{ClientOptions, Connected};
use crate::ws::WsLayer;

use turn::reader;
pub(crate) use turn::take_turn;

/// Raw bytes buffered from a reader thread before it waits for the IO thread.
const INBOX_LIMIT: usize = 256 * 1024;
/// Size of one socket read.
const READ_CHUNK: usize = 64 * 1024;

impl LinkState for Link {
    fn handshaking(&self) -> bool {
        Link::handshaking(self)
    }
}

impl LinkError {
    /// The end of a link this error is.
    fn reason(self) -> DisconnectReason {
        match self {
            LinkError::Tls(t) => DisconnectReason::Tls(t),
            LinkError::WebSocket(w) => DisconnectReason::WebSocket(w),
            LinkError::Io(e) => DisconnectReason::Io(e.kind()),
        }
    }
}

/// The driver core and the reader threads: what a round needs, under its own mutex.
pub(crate) struct IoSide {
    core: Core<Slots, Link>,
    readers: Vec<JoinHandle<()>>,
}

type IoCell = Arc<Mutex<IoSide>>;

fn lock_io(io: &Mutex<IoSide>) -> MutexGuard<'_, IoSide> {
    io.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Who runs a round: its callbacks run at once on the IO thread, or are handed to it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Runner {
    IoThread,
    /// A reader thread, or an application thread after its command.
    Other,
}

pub(crate) fn run(shared: Arc<Shared>, options: ClientOptions) {
    let clock = shared.clock;
    let _ = shared.io_thread.set(thread::current().id());
    let io: IoCell = Arc::new(Mutex::new(IoSide {
        core: Core::new(options, clock, Vec::new()),
        readers: Vec::new(),
    }));
    let _ = shared.io.set(Arc::downgrade(&io));
    main(&shared, &io);
    let readers = std::mem::take(&mut lock_io(&io).readers);
    for r in readers {
        let _ = r.join();
    }
}

/// The IO thread's loop.
fn main(shared: &Arc<Shared>, cell: &IoCell) {
    loop {
        let (mut io, mut st) = wait(shared, cell);
        st.wake = false;
        let handed = std::mem::take(&mut st.fires);
        io.core.fires.extend(handed);
        if st.c.shutdown {
            drop(st);
            io.shutdown(shared);
            return;
        }
        io.core.cancel_reconnect(&mut st.c);
        if let Some(req) = st.connect_req.take() {
            drop(st);
            io.begin_connect(shared, cell, req.target, req.slot, false);
            continue;
        }
        if let Some(target) = io.core.due_reconnect(&mut st.c) {
            drop(st);
            io.begin_connect(shared, cell, target, None, true);
            continue;
        }
        io.exchange(shared, st, Runner::IoThread);
    }
}

/// Sleeps until there is something to do; returns with the IO side and the state locked.
fn wait<'a>(
    shared: &'a Shared,
    cell: &'a Mutex<IoSide>,
) -> (MutexGuard<'a, IoSide>, MutexGuard<'a, State>) {
    loop {
        let io = lock_io(cell);
        let mut st = shared.lock();
        if io.has_work(&st) || !st.fires.is_empty() {
            return (io, st);
        }
        let until = io.core.deadline(&st.c);
        let sleep = until.map(|at| at.saturating_duration_since(Instant::now()));
        if sleep.is_some_and(|d| d.is_zero()) {
            return (io, st);
        }
        // Readers may run rounds while the IO thread sleeps.
        drop(io);
        st.io_until = until;
        shared.io_sleeping.store(true, Ordering::Relaxed);
        st = match sleep {
            Some(d) => {
                shared
                    .io_cv
                    .wait_timeout(st, d)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
            None => shared
                .io_cv
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner),
        };
        shared.io_sleeping.store(false, Ordering::Relaxed);
        // The lock order is the IO side first: take both again from the top.
        drop(st);
    }
}

impl IoSide {
    fn has_work(&self, st: &State) -> bool {
        // Input waits while the receive queue is full (end of stream too: the messages
        // before it are delivered first).
        st.c.shutdown
            || st.wake
            || st.connect_req.is_some()
            || st.c.close_req.is_some()
            || st.c.cancel_reconnect
            || (self.can_take(st) && (!st.inbox.is_empty() || st.inbox_end.is_some()))
            || self.core.more_input()
    }

    fn can_take(&self, st: &State) -> bool {
        !self.core.queue_full(st.queued(), st.depth) || self.core.handshaking()
    }

    /// Whether a thread other than the IO thread (a reader, an application thread after its
    /// command) may run the round: the connection is in its steady state and nothing but
    /// input and output is due (connects, closes, the shutdown and reconnects are the IO
    /// thread's).
    fn others_may_run(&self, st: &State) -> bool {
        st.c.status == Status::Connected
            && !lifecycle_due(st)
            && self.core.link.is_some()
            && self.core.closing_linger().is_none()
    }

    /// One round: the inputs from the inbox (paused while the receive queue is full), then
    /// the core's step and the write.
    fn exchange(&mut self, shared: &Shared, mut st: MutexGuard<'_, State>, runner: Runner) {
        // Every chunk waiting, up to one read's worth of bytes (at least one chunk), so that a
        // full queue overshoots by one read at most.
        let mut raw = Vec::new();
        let can_take = self.can_take(&st);
        if can_take {
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
        let end = if st.inbox.is_empty() && can_take {
            st.inbox_end.take()
        } else {
            None
        };
        if runner == Runner::Other {
            // This round takes the application's commands too.
            st.wake = false;
        }
        drop(st);

        // Decrypt (TLS) and trace without the lock.
        let mut link_err = None;
        if let Some(link) = &mut self.core.link {
            let start = self.core.input.len();
            if link.is_plain() && self.core.input.is_empty() && !raw.is_empty() {
                // Plain TCP: the first chunk becomes the input as it is (no copy).
                self.core.input = raw.remove(0);
            }
            for chunk in &raw {
                if let Err(e) = link.received(chunk, &mut self.core.input) {
                    link_err = Some(e);
                    break;
                }
            }
            self.core.trace_received(start);
        }

        let mut st = shared.lock();
        let (queued, depth) = (st.queued(), st.depth);
        self.core.step(&mut st.c, queued, depth);
        if let Some(e) = link_err {
            // Before CONNACK (the handshake failed): the connect fails with it.
            let attempt = match &e {
                LinkError::Tls(t) => Some(Error::Tls(t.clone())),
                LinkError::WebSocket(w) => Some(Error::WebSocket(w.clone())),
                LinkError::Io(_) => None,
            };
            self.core.link_lost(&mut st.c, e.reason(), attempt);
        } else if let Some(end) = end {
            let reason = match end {
                None => DisconnectReason::TransportClosed,
                Some(kind) => DisconnectReason::Io(kind),
            };
            let attempt = self
                .core
                .handshaking()
                .then(|| Error::ConnectionLost(reason.clone()));
            self.core.link_lost(&mut st.c, reason, attempt);
        }
        let upto = self.core.before_write(&mut st.c);
        self.settle(shared, &mut st);
        drop(st);

        // Write without the lock.
        let mut written = Ok(());
        if !self.core.out.is_empty() {
            if let Some(link) = &mut self.core.link {
                written = link.write(self.core.out.bytes()).map_err(LinkError::reason);
            }
        }
        let mut st = shared.lock();
        self.core.after_write(&mut st.c, written, upto);
        if let Some(linger) = self.core.closing_linger() {
            if !linger.is_zero() {
                // DISCONNECT is out: half-close and drain without the lock.
                drop(st);
                if let Some(link) = &mut self.core.link {
                    link.finish(linger);
                }
                st = shared.lock();
            }
            self.core.finish_closing(&mut st.c);
        }
        self.settle(shared, &mut st);
        match runner {
            Runner::IoThread => {
                drop(st);
                self.run_fires();
            }
            Runner::Other => {
                // Callbacks run on the IO thread; so do a deadline this round brought
                // forward and the lifecycle work that came up (more input and commands are
                // for the caller's next turn).
                let handed = std::mem::take(&mut self.core.fires);
                let earlier = match (self.core.deadline(&st.c), st.io_until) {
                    (Some(at), Some(until)) => at < until,
                    (Some(_), None) => true,
                    (None, _) => false,
                };
                if !handed.is_empty() || earlier || lifecycle_due(&st) {
                    st.fires.extend(handed);
                    shared.notify_io();
                }
            }
        }
    }

    /// Before the lock is released: received messages to the application's queue, the
    /// receive notification, wake-ups, and links the core let go of closed.
    fn settle(&mut self, shared: &Shared, st: &mut State) {
        read::kick_poller(shared, st);
        while let Some(m) = self.core.take_received() {
            st.queued_bytes = st.queued_bytes.saturating_add(m.size());
            st.messages.push_back(m);
        }
        let wake = self.core.take_wake();
        if wake.received {
            if let Some(f) = st.receive_notify.clone() {
                let n = st.messages.len();
                self.core.fires.push(Fire::new(move || f(n)));
            }
        }
        if wake.room {
            st.tx_drained = st.tx_drained.wrapping_add(1);
        }
        if wake.room || wake.status || wake.received {
            shared.notify_app();
        }
        if !self.core.closed.is_empty() {
            for mut link in self.core.closed.drain(..) {
                link.close();
            }
            // Stale bytes of that connection are ignored from now on; its reader exits.
            st.conn_gen = st.conn_gen.wrapping_add(1);
            st.inbox.clear();
            st.inbox_bytes = 0;
            st.inbox_end = None;
            st.read_sock = None;
            st.app_wants_read = false;
            shared.reader_cv.notify_all();
            self.readers.retain(|h| !h.is_finished());
        }
    }

    fn run_fires(&mut self) {
        for f in std::mem::take(&mut self.core.fires) {
            f.run();
        }
    }

    /// Opens the TCP (and TLS) connection to `target`; CONNECT goes out once the transport
    /// is up.
    fn begin_connect(
        &mut self,
        shared: &Arc<Shared>,
        cell: &IoCell,
        target: Target,
        slot: Option<Arc<Slot<Connected>>>,
        auto: bool,
    ) {
        let deadline = deadline_after(target.options.wait_time());
        let result = self.open(&target, deadline);
        let mut st = shared.lock();
        match result {
            Ok((link, reader_stream)) => {
                st.conn_gen = st.conn_gen.wrapping_add(1);
                st.inbox.clear();
                st.inbox_bytes = 0;
                st.inbox_end = None;
                let reader_stream = Arc::new(reader_stream);
                st.read_sock = Some(reader_stream.clone());
                st.app_wants_read = false;
                st.app_read_at = None;
                let conn_gen = st.conn_gen;
                let reader_shared = shared.clone();
                let reader_io = cell.clone();
                match thread::Builder::new()
                    .name("mqtt-reader".into())
                    .spawn(move || reader(&reader_shared, &reader_io, reader_stream, conn_gen))
                {
                    Ok(h) => {
                        self.readers.push(h);
                        self.core.begin(&mut st.c, link, target, slot, deadline);
                    }
                    Err(e) => {
                        self.core.closed.push(link);
                        let e = Error::ThreadSpawn(Arc::new(e));
                        self.core.open_failed(&mut st.c, e, slot, auto);
                    }
                }
            }
            Err(e) => self.core.open_failed(&mut st.c, e, slot, auto),
        }
        // The CONNECT (or ClientHello) goes out in the main loop's write step.
        st.wake = true;
        self.settle(shared, &mut st);
        drop(st);
        self.run_fires();
    }

    /// TCP connect, TLS set-up and ClientHello, without the lock.
    fn open(&self, req: &Target, deadline: Instant) -> Result<(Link, TcpStream), Error> {
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
                // It had what was left of the connect wait: that is over (as in the tokio
                // client, whose whole open runs under the wait).
                Err(e) if e.kind() == io::ErrorKind::TimedOut => return Err(Error::Timeout),
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
        link.bound_writes(self.core.options().write_timeout)
            .map_err(io_err)?;
        if let Some(ws) = &req.ws {
            let request = ws
                .request(&req.host, req.port, req.tls.is_some())
                .map_err(Error::WebSocket)?;
            let config = crate::ws::tungstenite_config(self.core.options().max_packet_size);
            link = link.websocket(WsLayer::new(request, config));
        }
        link.flush().map_err(|e| match e {
            LinkError::Io(e) => io_err(e),
            LinkError::Tls(t) => Error::Tls(t),
            LinkError::WebSocket(w) => Error::WebSocket(w),
        })?;
        Ok((link, reader))
    }

    fn shutdown(&mut self, shared: &Shared) {
        let mut st = shared.lock();
        // Still connected (the client was closed from a callback, or its last handle
        // dropped): say goodbye properly, without the lock.
        if self.core.shutdown_begin(&mut st.c) {
            drop(st);
            let linger = self.core.options().linger;
            if let Some(link) = &mut self.core.link {
                if link.write(self.core.out.bytes()).is_ok() {
                    link.finish(linger);
                }
            }
            st = shared.lock();
        }
        self.core.shutdown_end(&mut st.c);
        if let Some(req) = st.connect_req.take() {
            if let Some(slot) = req.slot {
                self.core.fires.extend(slot.complete(Err(Error::Closed)));
            }
        }
        st.messages.clear();
        st.queued_bytes = 0;
        // Callbacks may hold client handles, the last one among them: they are dropped with
        // the other fires, once the state lock is released (dropping the last handle closes
        // the client, which takes the lock).
        let callbacks = (
            st.receive_notify.take(),
            st.c.disconnect_notify.take(),
            st.c.reconnect_notify.take(),
        );
        self.core.fires.push(Fire::new(move || drop(callbacks)));
        self.settle(shared, &mut st);
        shared.reader_cv.notify_all();
        drop(st);
        self.run_fires();
    }
}

/// Lifecycle work, the IO thread's alone.
fn lifecycle_due(st: &State) -> bool {
    st.c.shutdown
        || st.connect_req.is_some()
        || st.c.close_req.is_some()
        || st.c.cancel_reconnect
        || st.inbox_end.is_some()
}
