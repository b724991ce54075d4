//! The driver task: moves bytes and time between the link and the session, and nothing else.
//!
//! It sleeps in one `select!` until: the application wakes it (a command, a close, a new
//! link), the link has bytes (only while the received-message channel has room), the channel
//! has room again for held-back messages, or the session's next deadline (`poll_timeout`, and
//! the connect wait time). Then, under the lock, it feeds the session, handles its timers and
//! drains its events and transmit bytes; without the lock, it writes and closes.

use std::collections::VecDeque;
use std::sync::Arc;

use ::tokio::sync::mpsc;
use ::tokio::time::{Instant as TokioInstant, sleep_until, timeout};
use mqtt_session::Event;

use super::link::Link;
use super::{CloseKind, Done, NewLink, Shared, State, Status, Target};
use crate::error::{DisconnectReason, Error};
use crate::io::Outgoing;
use crate::options::{ClientOptions, Connected, Message};
use crate::store::{FileStore, SessionStore};
use crate::trace::Tracer;

/// How long closing a link may take (close frame, close_notify) before it is just dropped.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// A connection attempt waiting for CONNACK.
struct Attempt {
    done: Option<Done<Connected>>,
    deadline: TokioInstant,
    refused: Option<mqtt_proto::ConnectReturnCode>,
}

struct Driver {
    shared: Arc<Shared>,
    options: ClientOptions,
    link: Option<Link>,
    /// Links to close once the lock is released.
    to_close: Vec<Link>,
    attempt: Option<Attempt>,
    /// Bytes read and not yet taken by the session.
    input: Vec<u8>,
    /// Bytes to write.
    /// What goes out this round: the session writes its packets straight into it.
    out: Outgoing,
    /// Messages the channel had no room for; reading pauses while any wait.
    backlog: VecDeque<Message>,
    messages: mpsc::Sender<Message>,
    /// The session reported the end of the connection: close after writing.
    closing: Option<DisconnectReason>,
    /// Inside `end_link`: the session's own `Disconnected` event is not a new ending.
    ending: bool,
    /// The session took none of `input` last round.
    stalled: bool,
    /// The packet trace hook ([`ClientOptions::trace`]), if set.
    tracer: Option<Tracer>,
    /// For automatic reconnects, which send their links like `connect` does.
    links: mpsc::UnboundedSender<NewLink>,
    /// The target of the last connection CONNACK accepted (automatic reconnects go there).
    target: Option<Target>,
    /// The target of the attempt in progress; becomes `target` at CONNACK.
    pending_target: Option<Target>,
    reconnect_at: Option<TokioInstant>,
    reconnect_failures: u32,
    /// Bumped whenever a connection ends or a reconnect is cancelled: automatic attempts of
    /// an older generation are stale.
    auto_gen: u64,
}

/// What ended the driver's sleep.
enum Woke {
    /// The application, a timer, or room in the message channel: just run a round.
    App,
    /// A new link from `connect` or a reconnect (`None`: the channel closed).
    Link(Option<Box<NewLink>>),
    /// The link read bytes, or ended.
    Read(Result<(), DisconnectReason>),
}

/// Reads from the link, or waits forever when there is none.
async fn read(link: &mut Option<Link>, buf: &mut Vec<u8>) -> Result<(), DisconnectReason> {
    match link {
        Some(l) => l.read(buf).await,
        None => std::future::pending().await,
    }
}

pub(super) async fn run(
    shared: Arc<Shared>,
    links_tx: mpsc::UnboundedSender<NewLink>,
    mut links: mpsc::UnboundedReceiver<NewLink>,
    messages: mpsc::Sender<Message>,
    restored: Vec<Message>,
    options: ClientOptions,
) {
    let tracer = Tracer::of(&options);
    let mut d = Driver {
        tracer,
        links: links_tx,
        target: None,
        pending_target: None,
        reconnect_at: None,
        reconnect_failures: 0,
        auto_gen: 0,
        shared,
        options,
        link: None,
        to_close: Vec::new(),
        attempt: None,
        input: Vec::new(),
        out: Outgoing::new(),
        // Messages a durable store kept from the last run come first.
        backlog: restored.into(),
        messages,
        closing: None,
        ending: false,
        stalled: false,
    };
    d.deliver();
    loop {
        let (deadline, shutdown) = {
            let st = d.shared.lock();
            (d.deadline(&st), st.shutdown)
        };
        if shutdown {
            d.shutdown().await;
            return;
        }
        let can_read = d.link.is_some() && d.backlog.is_empty() && d.input.is_empty();
        let before = d.input.len();
        if d.input.is_empty() || d.stalled {
            let woke = ::tokio::select! {
                biased;
                () = d.shared.wake.notified() => Woke::App,
                new = links.recv() => Woke::Link(new.map(Box::new)),
                r = read(&mut d.link, &mut d.input), if can_read => Woke::Read(r),
                permit = d.messages.reserve(), if !d.backlog.is_empty() => {
                    if let (Ok(permit), Some(m)) = (permit, d.backlog.pop_front()) {
                        permit.send(m);
                    }
                    Woke::App
                }
                () = sleep_until(deadline.unwrap_or_else(TokioInstant::now)), if deadline.is_some() => Woke::App,
            };
            match woke {
                Woke::App => {}
                Woke::Read(Ok(())) => {
                    if let Some(t) = &mut d.tracer {
                        t.received(d.input.get(before..).unwrap_or_default());
                    }
                }
                Woke::Link(Some(new)) => d.new_link(*new),
                // Cannot happen while the driver holds a sender; end if it does.
                Woke::Link(None) => d.shared.lock().shutdown = true,
                Woke::Read(Err(reason)) => {
                    let shared = d.shared.clone();
                    let mut st = shared.lock();
                    d.end_link(&mut st, reason);
                }
            }
        }
        d.round().await;
    }
}

impl Driver {
    /// The next instant the driver must act at without being woken: the session's deadline,
    /// the connect wait time, or a scheduled reconnect.
    fn deadline(&self, st: &State) -> Option<TokioInstant> {
        let session = st.session.poll_timeout().map(|t| {
            let ms = t.as_millis();
            let at = self
                .shared
                .epoch
                .checked_add(std::time::Duration::from_millis(ms))
                .unwrap_or_else(std::time::Instant::now);
            TokioInstant::from_std(at)
        });
        let attempt = self.attempt.as_ref().map(|a| a.deadline);
        [session, attempt, self.reconnect_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// A link from `connect` or an automatic reconnect: the transport is up, queue CONNECT.
    fn new_link(&mut self, new: NewLink) {
        let shared = self.shared.clone();
        let mut st = shared.lock();
        if let Some(generation) = new.auto {
            // A reconnect that was cancelled, or overtaken by the application's own connect.
            if generation != self.auto_gen || self.link.is_some() || st.status != Status::Connecting
            {
                if let Ok(link) = new.link {
                    self.to_close.push(link);
                }
                return;
            }
        }
        let link = match new.link {
            Ok(link) => link,
            Err(e) => {
                // An automatic reconnect could not open the link: try again later.
                if let Some(done) = new.done {
                    let _ = done.send(Err(e));
                }
                if st.status == Status::Connecting {
                    st.status = Status::Idle;
                }
                self.reconnect_failures = self.reconnect_failures.saturating_add(1);
                self.schedule_reconnect(&mut st);
                return;
            }
        };
        if st.status == Status::Closed || self.link.is_some() {
            if let Some(done) = new.done {
                let _ = done.send(Err(if st.status == Status::Closed {
                    Error::Closed
                } else {
                    Error::AlreadyConnected
                }));
            }
            self.to_close.push(link);
            return;
        }
        // An explicit connect replaces a scheduled reconnect.
        self.reconnect_at = None;
        st.reconnecting = false;
        st.status = Status::Connecting;
        self.pending_target = Some(new.target);
        self.link = Some(link);
        self.input.clear();
        self.closing = None;
        let options = self
            .pending_target
            .as_ref()
            .map(|t| t.options)
            .unwrap_or_default();
        if let Some(t) = &mut self.tracer {
            t.reset(options.protocol_version());
        }
        let now = shared.now();
        st.session.handle_transport_up(now);
        let login = st.login.clone();
        let will = st.will.clone();
        let c = options.session_connect(&shared.client_id, login.as_ref(), will.as_ref());
        let result = st.session.connect(now, c);
        self.attempt = Some(Attempt {
            done: new.done,
            deadline: new.deadline,
            refused: None,
        });
        if let Err(e) = result {
            if let Some(done) = self.attempt.as_mut().and_then(|a| a.done.take()) {
                let _ = done.send(Err(e.into()));
            }
            self.end_link(&mut st, DisconnectReason::Local);
        }
    }

    /// One round after waking: close requests, input, timers, events, output.
    async fn round(&mut self) {
        let shared = self.shared.clone();
        let qos0_upto;
        {
            let mut st = shared.lock();
            let now = shared.now();
            if st.cancel_reconnect {
                st.cancel_reconnect = false;
                st.reconnecting = false;
                self.reconnect_at = None;
                self.auto_gen = self.auto_gen.wrapping_add(1);
                // No reconnect follows any more: nobody waits for ever.
                let reason = st
                    .last_reason
                    .clone()
                    .unwrap_or(DisconnectReason::TransportClosed);
                for (_, done) in st.pubs.drain() {
                    let _ = done.send(Err(Error::PublishInterrupted(reason.clone())));
                }
            }
            if self.link.is_none()
                && st.status == Status::Idle
                && self
                    .reconnect_at
                    .is_some_and(|at| at <= TokioInstant::now())
            {
                self.reconnect_at = None;
                if let Some(target) = self.target.clone() {
                    st.status = Status::Connecting;
                    self.spawn_reconnect(target);
                }
            }
            match st.close_req.take() {
                Some(CloseKind::Drop) => self.end_link(&mut st, DisconnectReason::Dropped),
                // Not connected yet (CONNACK pending): just close.
                Some(CloseKind::Disconnect)
                    if self.closing.is_none() && st.session.disconnect(now).is_err() =>
                {
                    self.end_link(&mut st, DisconnectReason::Local);
                }
                Some(CloseKind::Disconnect) | None => {}
            }
            if self
                .attempt
                .as_ref()
                .is_some_and(|a| a.deadline <= TokioInstant::now())
                && self.closing.is_none()
            {
                if let Some(done) = self.attempt.as_mut().and_then(|a| a.done.take()) {
                    let _ = done.send(Err(Error::Timeout));
                }
                self.end_link(&mut st, DisconnectReason::ConnAckTimeout);
            }
            self.feed(&mut st);
            // Held-back messages stop input: back-pressure, not a dead broker (the PINGRESP
            // may wait unread behind them).
            st.session
                .set_input_paused(shared.now(), !self.backlog.is_empty());
            st.session.handle_timeout(shared.now());
            self.pump(&mut st);
            // Nothing goes out before the durable store has what it reports on disk.
            if !self.out.is_empty() {
                if let Some(Err(e)) = st.session.store().file().map(FileStore::sync) {
                    self.out.clear();
                    self.end_link(&mut st, DisconnectReason::Store(e));
                }
            }
            qos0_upto = st.qos0_seq;
        }
        self.deliver();

        // Write and close without the lock.
        let mut write_err = None;
        if !self.out.is_empty() {
            if let Some(link) = &mut self.link {
                let data = std::mem::take(&mut self.out);
                if let Some(t) = &self.tracer {
                    t.sent(data.bytes());
                }
                write_err =
                    match timeout(self.options.write_timeout, link.write(data.bytes())).await {
                        Ok(Ok(())) => None,
                        Ok(Err(reason)) => Some(reason),
                        Err(_) => Some(DisconnectReason::Io(std::io::ErrorKind::TimedOut)),
                    };
                self.out = data;
            }
            self.out.clear();
        }
        if write_err.is_none() {
            let mut st = shared.lock();
            while st.qos0.front().is_some_and(|(seq, _)| *seq <= qos0_upto) {
                if let Some((_, done)) = st.qos0.pop_front() {
                    let _ = done.send(Ok(()));
                }
            }
        }
        if let (None, Some(reason), Some(link)) = (&write_err, &self.closing, &mut self.link) {
            // DISCONNECT is out: half-close and drain before the link is given up.
            link.finish(self.options.linger_for(reason)).await;
        }
        {
            let mut st = shared.lock();
            if let Some(reason) = write_err {
                self.end_link(&mut st, reason);
            } else if let Some(reason) = self.closing.take() {
                self.end_link(&mut st, reason);
            }
        }
        self.close_links().await;
    }

    async fn close_links(&mut self) {
        for mut link in self.to_close.drain(..) {
            let _ = timeout(CLOSE_GRACE, link.close()).await;
        }
    }

    /// Feeds received bytes to the session, draining events and output whenever it stops
    /// taking them.
    fn feed(&mut self, st: &mut State) {
        let mut off = 0;
        let mut stalls = 0;
        while off < self.input.len() && self.closing.is_none() && self.link.is_some() {
            let rest = self.input.get(off..).unwrap_or_default();
            let n = st.session.handle_receive(self.shared.now(), rest);
            off += n;
            let progressed = self.pump(st);
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
            self.input.clear();
        } else {
            self.input.drain(..off.min(self.input.len()));
        }
        // The session takes no more for now: wait for a wake-up or a timer before trying again.
        self.stalled = stalls > 2;
    }

    /// Drains events and transmit bytes until neither has more. Returns whether anything came.
    fn pump(&mut self, st: &mut State) -> bool {
        let mut any = false;
        loop {
            let events = self.drain_events(st);
            let sent = self.collect_transmit(st);
            if !events && !sent {
                return any;
            }
            any = true;
        }
    }

    fn collect_transmit(&mut self, st: &mut State) -> bool {
        let any = self.out.fill(&mut st.session, self.shared.now());
        if self.link.is_none() {
            // No link: the packets are dropped.
            self.out.clear();
        }
        if any {
            // Room in the transmit buffer: commands waiting for it may go on.
            self.shared.room.notify_waiters();
        }
        any
    }

    /// Handles every pending session event. Returns whether there was any.
    fn drain_events(&mut self, st: &mut State) -> bool {
        let mut any = false;
        let mut room = false;
        loop {
            let State {
                session,
                pubs,
                subs,
                unsubs,
                status,
                ..
            } = &mut *st;
            let Some(event) = session.poll_event() else {
                break;
            };
            any = true;
            match event {
                Event::Connected { session_present } => {
                    *status = Status::Connected;
                    self.reconnect_failures = 0;
                    if let Some(t) = self.pending_target.take() {
                        self.target = Some(t);
                    }
                    if let Some(done) = self.attempt.take().and_then(|a| a.done) {
                        let _ = done.send(Ok(Connected { session_present }));
                    }
                }
                Event::ConnectionRefused { code } => {
                    if let Some(a) = &mut self.attempt {
                        a.refused = Some(code);
                    }
                }
                Event::Message(m) => {
                    let message = Message::received(&m, None);
                    self.backlog.push_back(session.store().record(message));
                }
                Event::PublishAcknowledged { packet_id }
                | Event::PublishCompleted { packet_id } => {
                    room = true;
                    if let Some(done) = pubs.remove(&packet_id) {
                        let _ = done.send(Ok(()));
                    }
                }
                Event::PublishDropped(o) => {
                    room = true;
                    if let Some(done) = pubs.remove(&o.packet_id) {
                        let _ = done.send(Err(Error::PublishDropped));
                    }
                }
                Event::PublishAcceptedSessionEnded { packet_id } => {
                    room = true;
                    if let Some(done) = pubs.remove(&packet_id) {
                        let _ = done.send(Err(Error::AcceptedSessionEnded));
                    }
                }
                Event::PublishRejected {
                    packet_id,
                    reason_code,
                } => {
                    room = true;
                    if let Some(done) = pubs.remove(&packet_id) {
                        let _ = done.send(Err(Error::PublishRejected(reason_code)));
                    }
                }
                Event::Republished { old, new } => {
                    // Its session ended: the message goes out again under a new id.
                    if let Some(done) = pubs.remove(&old) {
                        pubs.insert(new, done);
                    }
                }
                Event::Subscribed { packet_id, results } => {
                    room = true;
                    if let Some(done) = subs.remove(&packet_id) {
                        let _ = done.send(Ok(results.iter().collect()));
                    }
                }
                Event::Unsubscribed { packet_id } => {
                    room = true;
                    if let Some(done) = unsubs.remove(&packet_id) {
                        let _ = done.send(Ok(()));
                    }
                }
                Event::Disconnected { reason } if self.closing.is_none() && !self.ending => {
                    self.closing = Some(DisconnectReason::from_session(reason));
                }
                _ => {}
            }
        }
        if room {
            self.shared.room.notify_waiters();
        }
        any
    }

    /// Hands held-back messages to the channel while it has room.
    fn deliver(&mut self) {
        while let Some(m) = self.backlog.pop_front() {
            match self.messages.try_send(m) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(m)) => {
                    self.backlog.push_front(m);
                    return;
                }
                // Nobody listens: drop them (the application dropped `Messages`).
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
    }

    /// Ends the connection (if any): the link is closed after the lock is released, the
    /// session told, and everything waiting on this connection answered.
    fn end_link(&mut self, st: &mut State, reason: DisconnectReason) {
        self.closing = None;
        let had_link = self.link.is_some();
        if let Some(link) = self.link.take() {
            self.to_close.push(link);
        }
        self.input.clear();
        self.out.clear();
        self.ending = true;
        st.session.handle_transport_closed(self.shared.now());
        self.drain_events(st);
        self.ending = false;
        self.closing = None;
        let _ = self.collect_transmit(st);
        self.out.clear();

        if let Some(a) = self.attempt.take() {
            if let Some(done) = a.done {
                let _ = done.send(Err(reason.connect_error(a.refused)));
            }
            if self.target.is_some() && !reason.is_local() {
                self.reconnect_failures = self.reconnect_failures.saturating_add(1);
            }
        }
        // Requests awaiting an acknowledgement are forgotten by the session; so are QoS 0
        // messages not yet written. QoS 1/2 publishes stay pending in the session.
        let lost = || Error::ConnectionLost(reason.clone());
        for (_, done) in st.subs.drain() {
            let _ = done.send(Err(lost()));
        }
        for (_, done) in st.unsubs.drain() {
            let _ = done.send(Err(lost()));
        }
        for (_, done) in st.qos0.drain(..) {
            let _ = done.send(Err(lost()));
        }
        if st.status != Status::Closed {
            st.status = Status::Idle;
        }
        if had_link || !st.end_waiters.is_empty() {
            st.last_reason = Some(reason.clone());
        }
        for w in st.end_waiters.drain(..) {
            let _ = w.send(reason.clone());
        }
        self.auto_gen = self.auto_gen.wrapping_add(1);
        if !reason.is_local() && !st.shutdown {
            self.schedule_reconnect(st);
        }
        if !st.reconnecting && !matches!(reason, DisconnectReason::ClientClosed) {
            // No reconnect follows: nobody waits for ever. The messages stay in the session.
            for (_, done) in st.pubs.drain() {
                let _ = done.send(Err(Error::PublishInterrupted(reason.clone())));
            }
        }
        // Commands waiting for room find out that the connection is gone.
        self.shared.room.notify_waiters();
    }

    /// Schedules an automatic reconnect, if the options ask for them and a connection was
    /// ever accepted.
    fn schedule_reconnect(&mut self, st: &mut State) {
        let Some(policy) = self.options.reconnect else {
            return;
        };
        if self.target.is_none() || st.shutdown || st.status == Status::Closed {
            return;
        }
        let delay = crate::io::backoff(policy, self.reconnect_failures);
        self.reconnect_at = Some(
            TokioInstant::now()
                .checked_add(delay)
                .unwrap_or_else(super::far_future),
        );
        st.reconnecting = true;
    }

    /// Opens a link to `target` on a task of its own; it comes back as a [`NewLink`].
    fn spawn_reconnect(&mut self, target: Target) {
        let links = self.links.clone();
        let generation = self.auto_gen;
        let max_packet_size = self.options.max_packet_size;
        let deadline = TokioInstant::now()
            .checked_add(target.options.wait)
            .unwrap_or_else(super::far_future);
        ::tokio::spawn(async move {
            let open = super::link::open(
                &target.host,
                target.port,
                target.tls.as_ref(),
                target.ws.as_ref(),
                max_packet_size,
            );
            let link = match ::tokio::time::timeout_at(deadline, open).await {
                Ok(r) => r,
                Err(_) => Err(Error::Timeout),
            };
            let _ = links.send(NewLink {
                link,
                deadline,
                done: None,
                target,
                auto: Some(generation),
            });
        });
    }

    async fn shutdown(&mut self) {
        let shared = self.shared.clone();
        {
            let mut st = shared.lock();
            // Still connected (the last handle was dropped): say goodbye properly.
            if let Some(f) = st.session.store().file() {
                f.finish_taken();
            }
            if st.session.is_connected() && st.session.disconnect(shared.now()).is_ok() {
                self.out.clear();
                self.collect_transmit(&mut st);
                if let Some(Err(_)) = st.session.store().file().map(FileStore::sync) {
                    self.out.clear();
                }
            }
        }
        if let Some(link) = &mut self.link {
            if !self.out.is_empty() {
                let data = std::mem::take(&mut self.out);
                if let Ok(Ok(())) = timeout(CLOSE_GRACE, link.write(data.bytes())).await {
                    link.finish(self.options.linger).await;
                }
            }
        }
        {
            let mut st = shared.lock();
            if self.link.is_some() || self.attempt.is_some() {
                self.end_link(&mut st, DisconnectReason::ClientClosed);
            }
            st.status = Status::Closed;
            st.reconnecting = false;
            self.reconnect_at = None;
            for (_, done) in st.pubs.drain() {
                let _ = done.send(Err(Error::Closed));
            }
            for w in st.end_waiters.drain(..) {
                let _ = w.send(DisconnectReason::ClientClosed);
            }
            SessionStore::release(&mut st.session);
        }
        self.shared.room.notify_waiters();
        self.close_links().await;
    }
}
