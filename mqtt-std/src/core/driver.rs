//! [`Core`]: the driver's side of a client, whatever does its IO (see [`crate::core`]).
//!
//! A round of either driver: take what the link read into [`Core::input`]; under the lock,
//! [`Core::step`] (close requests, CONNECT once the transport is up, input, timers, events,
//! output) and [`Core::before_write`]; without it, write [`Core::out`]; under the lock again,
//! [`Core::after_write`], and if the session ended the connection, finish the link (half-close
//! and drain, [`Core::closing_linger`]) and [`Core::finish_closing`]. Links the core has let go
//! of wait in [`Core::closed`] for the shell to close; callbacks in [`Core::fires`] run once the
//! lock is released; [`Core::take_wake`] says whom to wake.

use std::collections::VecDeque;
use std::time::Instant;

mod attempt;
mod ending;
mod events;

use mqtt_proto::ConnectReturnCode;

use super::{Clock, Common, Family, Fire, Outgoing, Target};
use crate::error::{DisconnectReason, Error};
use crate::options::{ClientOptions, ConnectOptions, Connected, Message};
use crate::store::FileStore;
use crate::trace::Tracer;

/// What the core needs to know of a link.
pub(crate) trait LinkState {
    /// The transport's own handshake (TLS, WebSocket) is still under way: CONNECT waits.
    fn handshaking(&self) -> bool {
        false
    }
}

/// A connection attempt, until CONNACK accepts it.
struct Attempt<F: Family> {
    done: Option<F::Done<Connected>>,
    deadline: Instant,
    options: ConnectOptions,
    /// The transport is up and CONNECT queued.
    connect_sent: bool,
    /// The return code of a refusing CONNACK.
    refused: Option<ConnectReturnCode>,
    /// 5.0: what the CONNACK said besides, until `Connected` reports it.
    connack: Option<Box<crate::v5::ConnAckInfo>>,
}

/// The received messages an application has not taken yet.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Queued {
    pub(crate) messages: usize,
    /// Their topics and payloads ([`Message::size`]).
    pub(crate) bytes: usize,
}

/// Whom the shell wakes after a round.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Wake {
    /// The transmit buffer drained or acknowledgements freed the window: commands waiting for
    /// room may go on.
    pub(crate) room: bool,
    /// The connection came up or ended.
    pub(crate) status: bool,
    /// Messages arrived ([`Core::received`]).
    pub(crate) received: bool,
}

/// The driver's side of a client: link, attempt, reconnects, and the session's input, output
/// and events.
pub(crate) struct Core<F: Family, L> {
    options: ClientOptions,
    clock: Clock,
    client_id: String,
    /// The current link.
    pub(crate) link: Option<L>,
    /// Links let go of, for the shell to close once the lock is released.
    pub(crate) closed: Vec<L>,
    attempt: Option<Attempt<F>>,
    /// The target of the last connection CONNACK accepted: automatic reconnects go there.
    target: Option<Target>,
    /// The target of the attempt in progress; becomes `target` at CONNACK.
    pending_target: Option<Target>,
    reconnect_at: Option<Instant>,
    reconnect_failures: u32,
    /// Bumped whenever a connection ends or a reconnect is cancelled: an automatic attempt
    /// begun in an older generation is stale.
    pub(crate) generation: u64,
    /// The session reported the end of the connection: close after writing.
    closing: Option<DisconnectReason>,
    /// Inside `end_link`: the session's own `Disconnected` event is not a new ending.
    ending: bool,
    /// 5.0: the Reason String and Server Reference of the broker's DISCONNECT or refusing
    /// CONNACK, for the `Disconnected` event that follows.
    server_text: Option<(Option<String>, Option<String>)>,
    /// 5.0: the reason codes of the UNSUBACK whose `Unsubscribed` event follows.
    unsuback: Vec<u8>,
    /// What goes out this round: the session writes its packets straight into it.
    pub(crate) out: Outgoing,
    /// Bytes read (and decrypted) and not yet taken by the session.
    pub(crate) input: Vec<u8>,
    /// The session took none of `input` last round.
    stalled: bool,
    /// Received messages, for the shell to hand to the application
    /// ([`Core::take_received`]).
    received: VecDeque<Message>,
    /// Their bytes ([`Message::size`]).
    received_bytes: usize,
    /// Callbacks to run once the lock is released, in order.
    pub(crate) fires: Vec<Fire>,
    wake: Wake,
    tracer: Option<Tracer>,
}

impl<F: Family, L: LinkState> Core<F, L> {
    pub(crate) fn new(options: ClientOptions, clock: Clock, restored: Vec<Message>) -> Self {
        Core {
            tracer: Tracer::of(&options),
            client_id: options.client_id.clone(),
            options,
            clock,
            link: None,
            closed: Vec::new(),
            attempt: None,
            target: None,
            pending_target: None,
            reconnect_at: None,
            reconnect_failures: 0,
            generation: 0,
            closing: None,
            ending: false,
            server_text: None,
            unsuback: Vec::new(),
            out: Outgoing::new(),
            input: Vec::new(),
            stalled: false,
            // Messages a durable store kept from the last run come first.
            received_bytes: restored.iter().map(Message::size).sum(),
            received: restored.into(),
            fires: Vec::new(),
            wake: Wake::default(),
        }
    }

    pub(crate) fn options(&self) -> &ClientOptions {
        &self.options
    }

    fn complete<T: Clone + Send + 'static>(&mut self, done: F::Done<T>, r: Result<T, Error>) {
        self.fires.extend(F::complete(done, r));
    }

    fn complete_pub(&mut self, done: super::PubDone<F>, r: Result<crate::v5::PubAck, Error>) {
        self.fires.extend(done.complete(r));
    }

    /// A received message, for the application.
    pub(crate) fn push_received(&mut self, m: Message) {
        self.received_bytes = self.received_bytes.saturating_add(m.size());
        self.received.push_back(m);
        self.wake.received = true;
    }

    /// The oldest received message not yet handed to the application.
    pub(crate) fn take_received(&mut self) -> Option<Message> {
        let m = self.received.pop_front()?;
        self.received_bytes = self.received_bytes.saturating_sub(m.size());
        Some(m)
    }

    /// Puts back a message the application had no room for.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn untake_received(&mut self, m: Message) {
        self.received_bytes = self.received_bytes.saturating_add(m.size());
        self.received.push_front(m);
    }

    /// Received messages are waiting here.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn has_received(&self) -> bool {
        !self.received.is_empty()
    }

    /// Whom to wake for what this round did (and forget it).
    pub(crate) fn take_wake(&mut self) -> Wake {
        std::mem::take(&mut self.wake)
    }

    /// The link is still in its TLS or WebSocket handshake.
    pub(crate) fn handshaking(&self) -> bool {
        self.link.as_ref().is_some_and(L::handshaking)
    }

    /// Input is left that the session may take without waiting for more.
    pub(crate) fn more_input(&self) -> bool {
        !self.input.is_empty() && !self.stalled
    }

    /// The next instant the driver must act at without being woken: the session's timer, the
    /// connect wait time, or a scheduled reconnect.
    pub(crate) fn deadline(&self, c: &Common<F>) -> Option<Instant> {
        let session = c.session.poll_timeout().map(|t| self.clock.instant(t));
        let attempt = self.attempt.as_ref().map(|a| a.deadline);
        [session, attempt, self.reconnect_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// Traces the bytes of `input` from `from` on as received.
    pub(crate) fn trace_received(&mut self, from: usize) {
        if let Some(t) = &mut self.tracer {
            t.received(self.input.get(from..).unwrap_or_default());
        }
    }

    /// One round's work under the lock, after the shell put what it read into
    /// [`Core::input`]: the application's close request, CONNECT once the transport is up,
    /// the input, the timers, then every event and packet that follows. Input pauses while
    /// `queued` (messages the application has not taken) plus [`Core::received`] reach the
    /// shell's `depth` in number or the receive byte budget in bytes: back-pressure, not a
    /// dead broker (the PINGRESP may wait unread behind them).
    pub(crate) fn step(&mut self, c: &mut Common<F>, queued: Queued, depth: usize) {
        let now = self.clock.now();
        let close = c.close_req.take();
        if close == Some(super::CloseKind::Drop) {
            self.end_link(c, DisconnectReason::Dropped);
        }
        if self.link.is_some()
            && !self.handshaking()
            && self.attempt.as_ref().is_some_and(|a| !a.connect_sent)
        {
            self.transport_up(c);
        }
        self.feed(c);
        // Not connected yet (CONNACK pending): just close.
        if let (Some(super::CloseKind::Disconnect(v5)), None) = (close, &self.closing) {
            let sent = match v5.as_deref() {
                None => c.session.disconnect(now),
                Some((code, props)) => {
                    let list = props.to_list();
                    let options = mqtt_session::DisconnectOptions {
                        reason_code: *code,
                        properties: mqtt_proto::v5::Properties::new(&list),
                    };
                    c.session.disconnect_with(now, &options)
                }
            };
            if sent.is_err() {
                self.end_link(c, DisconnectReason::Local);
            }
        }
        let paused = self.queue_full(queued, depth) && !self.handshaking();
        let now = self.clock.now();
        c.session.set_input_paused(now, paused);
        c.session.handle_timeout(now);
        if self.closing.is_none()
            && self
                .attempt
                .as_ref()
                .is_some_and(|a| a.deadline <= Instant::now())
        {
            if let Some(done) = self.attempt.as_mut().and_then(|a| a.done.take()) {
                self.complete(done, Err(Error::Timeout));
            }
            self.end_link(c, DisconnectReason::ConnAckTimeout);
        }
        self.pump(c);
    }

    /// Whether the messages waiting (`queued` with the application, [`Core::received`] here)
    /// fill the receive queue, by number (`depth`) or bytes.
    pub(crate) fn queue_full(&self, queued: Queued, depth: usize) -> bool {
        let held = self.received_bytes;
        queued.messages.saturating_add(self.received.len()) >= depth
            || queued.bytes.saturating_add(held) >= self.options.receive_queue_bytes
    }

    /// Feeds the input to the session, draining events and output whenever it stops taking
    /// it.
    fn feed(&mut self, c: &mut Common<F>) {
        let mut off = 0;
        let mut stalls = 0;
        while off < self.input.len() && self.closing.is_none() && self.link.is_some() {
            let rest = self.input.get(off..).unwrap_or_default();
            let n = c.session.handle_receive(self.clock.now(), rest);
            off += n;
            let progressed = self.pump(c);
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
        // The session takes no more for now: wait for a wake-up or a timer.
        self.stalled = stalls > 2;
    }

    /// Drains events and output until neither has more. Returns whether anything came.
    fn pump(&mut self, c: &mut Common<F>) -> bool {
        let mut any = false;
        loop {
            let events = self.drain_events(c);
            let sent = self.collect_transmit(c);
            if !events && !sent {
                return any;
            }
            any = true;
        }
    }

    fn collect_transmit(&mut self, c: &mut Common<F>) -> bool {
        let any = self.out.fill(&mut c.session, self.clock.now());
        if self.link.is_none() {
            // No link: the packets are dropped.
            self.out.clear();
        }
        if any {
            // Room in the transmit buffer: commands waiting for it may go on.
            self.wake.room = true;
        }
        any
    }

    /// Before the shell writes [`Core::out`]: nothing goes out before the durable store has
    /// what it reports on disk. Returns the mark of the QoS 0 publishes this write carries.
    pub(crate) fn before_write(&mut self, c: &mut Common<F>) -> u64 {
        if !self.out.is_empty() {
            if let Some(Err(e)) = c.session.store().file().map(FileStore::sync) {
                self.out.clear();
                lifecycle!(error, "session store: {e}; nothing was sent");
                self.end_link(c, DisconnectReason::Store(e));
            } else if let Some(t) = &self.tracer {
                t.sent(self.out.bytes());
            }
        }
        c.qos0_seq
    }

    /// After the write: the QoS 0 publishes up to `upto` are complete, or the write's error
    /// ends the link.
    pub(crate) fn after_write(
        &mut self,
        c: &mut Common<F>,
        written: Result<(), DisconnectReason>,
        upto: u64,
    ) {
        self.out.clear();
        match written {
            Ok(()) => {
                while c.qos0.front().is_some_and(|(seq, _)| *seq <= upto) {
                    if let Some((_, done)) = c.qos0.pop_front() {
                        let ok = crate::v5::PubAck::new(crate::v5::PubAckReasonCode::Success);
                        self.complete_pub(done, Ok(ok));
                    }
                }
            }
            Err(reason) => self.end_link(c, reason),
        }
    }
}
