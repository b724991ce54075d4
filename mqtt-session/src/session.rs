//! The [`Session`] type: its state, getters and outputs (`poll_*`).

use core::time::Duration;

use mqtt_proto::{PacketId, QoS};

use crate::config::Config;
use crate::event::{DisconnectReason, Event, Message, SubscribeResults};
use crate::queue::Ring;
use crate::store::Store;
use crate::time::Instant;

/// A byte buffer the session owns: `[u8; N]`, `&mut [u8]`, `Vec<u8>`, `Box<[u8]>`... Its length
/// when the session is created is its capacity for good.
pub trait Buffer: AsRef<[u8]> + AsMut<[u8]> {}

impl<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized> Buffer for T {}

/// Where the connection stands. See [`Session::state`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// No transport: call [`Session::handle_transport_up`] once one is open.
    TransportDown,
    /// Transport up, CONNECT not queued yet: call [`Session::connect`].
    TransportUp,
    /// CONNECT queued or sent, waiting for CONNACK.
    Connecting,
    /// CONNACK accepted: commands are accepted.
    Connected,
    /// [`Session::disconnect`] was called; DISCONNECT is waiting for `poll_transmit`.
    Disconnecting,
    /// The connection is over ([`Event::Disconnected`] is or was reported): close the transport
    /// and call [`Session::handle_transport_closed`].
    Closed,
}

/// Control packets of four bytes (PUBACK, PUBREC, PUBREL, PUBCOMP), already encoded.
pub(crate) type Control = [u8; 4];

/// Events waiting for [`Session::poll_event`]; borrowed parts are ranges into the receive buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) enum EventRepr {
    Connected {
        session_present: bool,
    },
    Refused(mqtt_proto::ConnectReturnCode),
    Message {
        topic: (usize, usize),
        payload: (usize, usize),
        qos: QoS,
        retain: bool,
        dup: bool,
        packet_id: Option<PacketId>,
    },
    PubAck(PacketId),
    PubComp(PacketId),
    /// A QoS 2 message whose session ended after PUBREC, removed.
    AcceptedSessionEnded(PacketId),
    /// A held message of an ended session, renumbered to be published again.
    Republished {
        old: PacketId,
        new: PacketId,
    },
    Subscribed {
        packet_id: PacketId,
        codes: (usize, usize),
    },
    Unsubscribed(PacketId),
    Disconnected(DisconnectReason),
    /// 5.0: an acknowledgement or DISCONNECT, whole.
    #[cfg(feature = "v5")]
    Response {
        packet_type: mqtt_proto::v5::PacketType,
        packet_id: Option<PacketId>,
        codes: crate::v5::Codes,
        props: (usize, usize),
    },
    /// 5.0: PUBACK or PUBREC with a code of 0x80 or more ended this publish.
    #[cfg(feature = "v5")]
    PublishRejected {
        packet_id: PacketId,
        code: u8,
    },
    /// 5.0: a held message expired before its PUBLISH was written, removed.
    #[cfg(feature = "v5")]
    Expired(PacketId),
    /// 5.0: a held message this connection's broker does not take, removed.
    #[cfg(feature = "v5")]
    NotSendable {
        id: PacketId,
        reason: crate::CommandError,
    },
    /// 5.0: an application message with properties, its topic maybe from an alias.
    #[cfg(feature = "v5")]
    MessageV5 {
        topic: crate::v5::TopicAt,
        payload: (usize, usize),
        qos: QoS,
        retain: bool,
        dup: bool,
        packet_id: Option<PacketId>,
        props: (usize, usize),
    },
    /// 5.0: the broker's AUTH 0x18, awaiting the application's answer.
    #[cfg(feature = "v5")]
    AuthContinue {
        props: (usize, usize),
    },
    /// 5.0: the broker's AUTH 0x00 ended a re-authentication.
    #[cfg(feature = "v5")]
    Reauthenticated {
        props: (usize, usize),
    },
}

impl EventRepr {
    /// The identifier of one of our own packets this event reports as finished: it stays in
    /// use until the event is delivered, so the application never sees two meanings for one id.
    pub(crate) fn finished_id(&self) -> Option<PacketId> {
        match *self {
            EventRepr::PubAck(id)
            | EventRepr::PubComp(id)
            | EventRepr::AcceptedSessionEnded(id)
            | EventRepr::Republished { old: id, .. }
            | EventRepr::Unsubscribed(id)
            | EventRepr::Subscribed { packet_id: id, .. } => Some(id),
            #[cfg(feature = "v5")]
            EventRepr::PublishRejected { packet_id: id, .. }
            | EventRepr::Expired(id)
            | EventRepr::NotSendable { id, .. } => Some(id),
            _ => None,
        }
    }

    pub(crate) fn borrows_rx(&self) -> bool {
        #[cfg(feature = "v5")]
        if matches!(
            self,
            EventRepr::Response { .. }
                | EventRepr::MessageV5 { .. }
                | EventRepr::AuthContinue { .. }
                | EventRepr::Reauthenticated { .. }
        ) {
            return true;
        }
        matches!(
            self,
            EventRepr::Message { .. } | EventRepr::Subscribed { .. }
        )
    }
}

/// A SUBSCRIBE or UNSUBSCRIBE waiting for its acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Request {
    Subscribe { packet_id: PacketId, filters: usize },
    Unsubscribe { packet_id: PacketId, filters: usize },
}

impl Request {
    pub(crate) fn packet_id(&self) -> PacketId {
        match *self {
            Request::Subscribe { packet_id, .. } | Request::Unsubscribe { packet_id, .. } => {
                packet_id
            }
        }
    }
}

/// Keep-alive state of the current connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ping {
    /// Nothing outstanding.
    Idle,
    /// A PINGREQ is due and waits for `poll_transmit`.
    Due,
    /// PINGREQ sent at this time; PINGRESP awaited.
    Sent(Instant),
}

pub(crate) const CONTROL_CAP: usize = 32;
pub(crate) const EVENT_CAP: usize = 8;
pub(crate) const MAX_PENDING: usize = 16;

/// A sans-IO MQTT 3.1.1 client session: connection state plus the persistent session
/// (outgoing QoS 1/2 messages in flight, incoming QoS 2 ids awaiting PUBREL) kept in a
/// [`Store`] `S`. `B` is the type of the receive and transmit buffers (see [`Buffer`]).
///
/// It never reads a clock and never touches a socket. Its methods come in four kinds:
///
/// * **getters** (`&self`): [`state`](Session::state), [`is_connected`](Session::is_connected),
///   [`inflight`](Session::inflight), [`queued`](Session::queued),
///   [`publish_capacity`](Session::publish_capacity), [`store`](Session::store),
///   [`config`](Session::config), [`max_incoming_packet`](Session::max_incoming_packet),
///   [`poll_timeout`](Session::poll_timeout).
/// * **inputs** (`handle_*`, each with `now`): [`handle_transport_up`](Session::handle_transport_up),
///   [`handle_receive`](Session::handle_receive) (or [`receive_buffer`](Session::receive_buffer) +
///   [`handle_received`](Session::handle_received)), [`handle_timeout`](Session::handle_timeout),
///   [`handle_transport_closed`](Session::handle_transport_closed),
///   [`set_input_paused`](Session::set_input_paused).
/// * **commands** (`Err` only for local misuse or full resources, state unchanged on `Err`):
///   [`connect`](Session::connect), [`publish`](Session::publish),
///   [`subscribe`](Session::subscribe), [`unsubscribe`](Session::unsubscribe),
///   [`disconnect`](Session::disconnect).
/// * **outputs** (`poll_*`): [`poll_event`](Session::poll_event),
///   [`poll_transmit`](Session::poll_transmit), [`poll_timeout`](Session::poll_timeout).
///
/// # The order to poll in
///
/// After every input or command:
///
/// 1. `poll_event` until `None`. Events are produced as incoming packets are processed, and
///    processing pauses while events wait (a bounded queue), so draining them lets the session
///    go on with buffered input. On [`Event::Disconnected`], close the transport.
/// 2. `poll_transmit(now, buf)` until `Ok(None)`, writing each `Ok(Some(n))` chunk
///    (`buf[..n]`, whole packets) to the transport.
/// 3. `poll_timeout()`: call `handle_timeout` at that instant (early calls are harmless), then
///    start again at 1. It returns the current time when the session has more to do at once
///    (for instance the `Disconnected` event queued when `poll_transmit` wrote DISCONNECT, or
///    input that waited for room in the acknowledgement queue), so a loop that follows these
///    three steps never leaves work behind.
///
/// [`handle_receive`](Session::handle_receive) takes what fits in the receive buffer and returns
/// how many bytes it took: after the polls above, feed it the rest.
#[derive(Debug)]
pub struct Session<S, B> {
    pub(crate) config: Config,
    pub(crate) store: S,
    pub(crate) state: State,
    /// Latest `now` seen: earlier values are clamped to it.
    pub(crate) now: Instant,

    // Receive side: bytes [rx_pos, rx_end) are unprocessed.
    pub(crate) rx: B,
    pub(crate) rx_pos: usize,
    pub(crate) rx_end: usize,

    // Transmit side: bytes [tx_head, tx_tail) are queued packets and markers.
    pub(crate) tx: B,
    pub(crate) tx_head: usize,
    pub(crate) tx_tail: usize,
    pub(crate) control: Ring<Control, CONTROL_CAP>,
    pub(crate) disconnect_queued: bool,
    /// CONNECT is queued and not written yet: it goes before anything else [MQTT-3.1.0-1].
    pub(crate) connect_unsent: bool,

    pub(crate) events: Ring<EventRepr, EVENT_CAP>,
    /// Outgoing messages of an ended session still to hand back (store entries
    /// `[orphan_at, orphan_at + orphans)`), one per `poll_event`: reported as dropped (policy
    /// `Drop`), or renumbered or finished (policy `Resend`). Nothing of the store goes out
    /// until they are all handled.
    pub(crate) orphans: usize,
    pub(crate) orphan_at: usize,
    /// The entry at `orphan_at` was reported as dropped and is removed at the next call.
    pub(crate) drop_reported: bool,
    /// No held message was written since the session last ended: they belong to the new
    /// session already, and a second end (CONNACK session present 0 after a clean-session
    /// CONNECT) leaves them as they are.
    pub(crate) session_fresh: bool,
    /// The session ended (see `end_session`) and no CONNACK has accepted a connection since:
    /// the client holds no session state, so a 5.0 CONNACK with session present 1 is a
    /// protocol error [MQTT-3.2.2-4].
    pub(crate) session_ended: bool,
    /// A hash of the client id the held session state belongs to (set by the first CONNECT):
    /// the state identifies with it [MQTT-3.1.3-2].
    pub(crate) state_owner: Option<u64>,

    // Connection parameters.
    pub(crate) clean_session: bool,
    pub(crate) keep_alive: Duration,
    pub(crate) connack_deadline: Instant,
    pub(crate) last_sent: Instant,
    pub(crate) ping: Ping,
    /// The driver withholds input ([`Session::set_input_paused`]).
    pub(crate) input_paused: bool,
    /// The PINGRESP wait was suspended while input was withheld.
    pub(crate) ping_deferred: bool,

    // In flight: the first `sent` store entries have been queued for transmission on this
    // connection (a marker each), of which the first `written` have been written out by
    // `poll_transmit` (markers leave the transmit buffer in store order, so both are prefixes);
    // the first `dup_until` had been written on an earlier one (DUP=1 on resend).
    pub(crate) sent: usize,
    pub(crate) written: usize,
    pub(crate) dup_until: usize,
    pub(crate) resending: bool,
    pub(crate) pending: [Option<Request>; MAX_PENDING],
    pub(crate) pending_count: usize,
    pub(crate) next_id: u16,
    /// What a 5.0 connection adds.
    #[cfg(feature = "v5")]
    pub(crate) v5: crate::v5::State,
    /// The request being written brings its own 5.0 properties.
    pub(crate) request_properties: bool,
    /// Bytes of the held messages [`Config::max_held_bytes`] counts (kept only when it is set).
    pub(crate) held_bytes: usize,
}

impl<S: Store, B: Buffer> Session<S, B> {
    /// SUBSCRIBE/UNSUBSCRIBE requests that may await acknowledgement at once.
    pub const MAX_PENDING_REQUESTS: usize = MAX_PENDING;

    /// A session with no connection, over `store` (which may hold entries restored from disk:
    /// they are resent on the next connection that resumes the broker's session), receiving into
    /// `rx_buffer` and queueing outgoing packets in `tx_buffer`.
    ///
    /// The receive buffer bounds the largest incoming packet; the transmit buffer bounds the
    /// largest outgoing packet (a `poll_transmit` buffer of the same size always fits the next
    /// packet). QoS 1/2 PUBLISH packets are not copied into it: they are encoded from the store
    /// straight into `poll_transmit`'s buffer.
    pub fn new(config: Config, store: S, rx_buffer: B, tx_buffer: B) -> Self {
        let held = store.outgoing_len();
        let held_bytes = if config.max_held_bytes == usize::MAX {
            0
        } else {
            (0..held).map(|i| needed_bytes(&store, i)).sum()
        };
        Session {
            config,
            store,
            state: State::TransportDown,
            now: Instant::ZERO,
            rx: rx_buffer,
            rx_pos: 0,
            rx_end: 0,
            tx: tx_buffer,
            tx_head: 0,
            tx_tail: 0,
            control: Ring::new(),
            disconnect_queued: false,
            connect_unsent: false,
            events: Ring::new(),
            orphans: 0,
            orphan_at: 0,
            drop_reported: false,
            session_fresh: held == 0,
            session_ended: false,
            state_owner: None,
            clean_session: true,
            keep_alive: Duration::ZERO,
            connack_deadline: Instant::ZERO,
            last_sent: Instant::ZERO,
            ping: Ping::Idle,
            input_paused: false,
            ping_deferred: false,
            sent: 0,
            written: 0,
            dup_until: held,
            resending: false,
            pending: [None; MAX_PENDING],
            pending_count: 0,
            next_id: 1,
            #[cfg(feature = "v5")]
            v5: crate::v5::State::new(),
            request_properties: false,
            held_bytes,
        }
    }

    /// Where the connection stands.
    pub fn state(&self) -> State {
        self.state
    }

    /// CONNACK accepted and no DISCONNECT queued: commands are accepted.
    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// Outgoing QoS 1/2 messages in flight (at most the configured window).
    pub fn inflight(&self) -> usize {
        self.store.outgoing_len().min(self.window())
    }

    /// The in-flight window in force: [`Config::max_inflight`], and on a 5.0 connection at
    /// most the broker's Receive Maximum [MQTT-3.3.4-7].
    pub(crate) fn window(&self) -> usize {
        #[cfg(feature = "v5")]
        if self.v5.on {
            return self
                .config
                .window()
                .min(usize::from(self.v5.server.receive_maximum.max(1)));
        }
        self.config.window()
    }

    /// The protocol version of the current (or last) connection (feature `v5`).
    #[cfg(feature = "v5")]
    pub fn protocol(&self) -> crate::ProtocolVersion {
        if self.v5.on {
            crate::ProtocolVersion::V5
        } else {
            crate::ProtocolVersion::V311
        }
    }

    /// What the broker's CONNACK allows on this 5.0 connection (feature `v5`): `Some` once a
    /// 5.0 CONNACK accepted the connection, until the next `connect`.
    #[cfg(feature = "v5")]
    pub fn server_limits(&self) -> Option<crate::ServerLimits> {
        (self.v5.on && self.v5.accepted).then_some(self.v5.server)
    }

    /// Outgoing QoS 1/2 messages accepted and waiting for room in the window.
    pub fn queued(&self) -> usize {
        self.store.outgoing_len().saturating_sub(self.window())
    }

    /// How many more QoS 1/2 publishes the window and queue would accept now (the store's own
    /// capacity aside). Zero means [`Session::publish`] returns
    /// [`CommandError::WindowFull`](crate::CommandError::WindowFull) for QoS 1/2.
    pub fn publish_capacity(&self) -> usize {
        (self.window() + usize::from(self.config.max_queued))
            .saturating_sub(self.store.outgoing_len())
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The store (read only: the session owns its contents' consistency).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Give the store back (for instance to open a new session over it later).
    pub fn into_store(mut self) -> S {
        self.settle();
        self.store
    }

    /// Largest incoming packet accepted, fixed header included: the configured maximum, bounded
    /// by the receive buffer's length.
    pub fn max_incoming_packet(&self) -> usize {
        self.config.max_incoming_packet.min(self.rx.as_ref().len())
    }

    /// The next instant at which [`Session::handle_timeout`] has something to do (CONNACK
    /// timeout, PINGREQ due, PINGRESP timeout), or `None`. It is the latest `now` seen when the
    /// session has work it could do at once (events waiting to be polled, buffered input that
    /// was waiting for room in the transmit queue): call `handle_timeout` and poll again.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.has_immediate_work() {
            return Some(self.now);
        }
        self.next_timer()
    }

    /// The next event, or `None`. Borrowed data in the event points into the session's buffers
    /// and lives until the next call on the session.
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        self.settle();
        if self.events.is_empty() {
            if self.orphans > 0 && self.next_orphan() {
                self.drop_reported = true;
                return self
                    .store
                    .outgoing(self.orphan_at)
                    .map(Event::PublishDropped);
            }
            self.process();
        }
        let repr = self.events.pop()?;
        Some(self.materialize(repr))
    }

    /// Turn a queued event into its public form, borrowing from the receive buffer.
    fn materialize(&self, repr: EventRepr) -> Event<'_> {
        let rx = self.rx.as_ref();
        let slice = |(a, b): (usize, usize)| rx.get(a..b).unwrap_or(&[]);
        match repr {
            EventRepr::Connected { session_present } => Event::Connected { session_present },
            EventRepr::Refused(code) => Event::ConnectionRefused { code },
            EventRepr::Message {
                topic,
                payload,
                qos,
                retain,
                dup,
                packet_id,
            } => Event::Message(Message {
                topic: core::str::from_utf8(slice(topic)).unwrap_or(""),
                payload: slice(payload),
                qos,
                retain,
                dup,
                packet_id,
                #[cfg(feature = "v5")]
                properties: mqtt_proto::v5::Properties::EMPTY,
            }),
            EventRepr::PubAck(packet_id) => Event::PublishAcknowledged { packet_id },
            EventRepr::PubComp(packet_id) => Event::PublishCompleted { packet_id },
            EventRepr::AcceptedSessionEnded(packet_id) => {
                Event::PublishAcceptedSessionEnded { packet_id }
            }
            EventRepr::Republished { old, new } => Event::Republished { old, new },
            EventRepr::Subscribed { packet_id, codes } => Event::Subscribed {
                packet_id,
                results: SubscribeResults(slice(codes)),
            },
            EventRepr::Unsubscribed(packet_id) => Event::Unsubscribed { packet_id },
            EventRepr::Disconnected(reason) => Event::Disconnected { reason },
            #[cfg(feature = "v5")]
            EventRepr::Response {
                packet_type,
                packet_id,
                codes,
                props,
            } => Event::Response(crate::v5::Response {
                packet_type,
                packet_id,
                reason_codes: codes.slice(rx),
                properties: crate::v5::props_at(rx, props, packet_type),
            }),
            #[cfg(feature = "v5")]
            EventRepr::PublishRejected { packet_id, code } => Event::PublishRejected {
                packet_id,
                reason_code: mqtt_proto::v5::PubAckReasonCode::from_u8(code)
                    .unwrap_or(mqtt_proto::v5::PubAckReasonCode::UnspecifiedError),
            },
            #[cfg(feature = "v5")]
            EventRepr::Expired(packet_id) => Event::PublishExpired { packet_id },
            #[cfg(feature = "v5")]
            EventRepr::NotSendable { id, reason } => Event::PublishNotSendable {
                packet_id: id,
                reason,
            },
            #[cfg(feature = "v5")]
            EventRepr::MessageV5 {
                topic,
                payload,
                qos,
                retain,
                dup,
                packet_id,
                props,
            } => Event::Message(Message {
                topic: match topic {
                    crate::v5::TopicAt::Rx(a, b) => {
                        core::str::from_utf8(slice((a, b))).unwrap_or("")
                    }
                    crate::v5::TopicAt::Alias(a) => self.v5.aliases_in.get(a).unwrap_or(""),
                },
                payload: slice(payload),
                qos,
                retain,
                dup,
                packet_id,
                properties: crate::v5::props_at(rx, props, mqtt_proto::v5::PacketType::Publish),
            }),
            #[cfg(feature = "v5")]
            EventRepr::AuthContinue { props } => crate::v5::auth_event(rx, props, false),
            #[cfg(feature = "v5")]
            EventRepr::Reauthenticated { props } => crate::v5::auth_event(rx, props, true),
        }
    }

    /// Finish what the previous call left: remove an outgoing message reported as dropped.
    pub(crate) fn settle(&mut self) {
        if self.drop_reported {
            self.drop_reported = false;
            let at = self.orphan_at;
            match self.store.outgoing_info(at) {
                Some(m) => {
                    self.unneeded(at);
                    self.store.remove_outgoing(m.packet_id);
                    self.removed_at(at);
                }
                None => self.orphans = 0,
            }
            if self.orphans == 0 {
                self.promote();
            }
        }
    }

    /// Clamp `now` so time never goes backwards, and remember it.
    pub(crate) fn clamp(&mut self, now: Instant) -> Instant {
        if now > self.now {
            self.now = now;
        }
        self.now
    }

    /// Whether a connection is in progress or up (CONNECT queued, not ended yet).
    pub(crate) fn active(&self) -> bool {
        matches!(
            self.state,
            State::Connecting | State::Connected | State::Disconnecting
        )
    }

    /// Queue an event. Processing keeps room for the events a packet or a timer can produce,
    /// so this never finds the queue full; if it ever did, the event would be dropped rather
    /// than panic.
    pub(crate) fn push_event(&mut self, e: EventRepr) {
        let pushed = self.events.push(e);
        debug_assert!(pushed.is_ok(), "event queue overflow");
    }

    /// End the connection once: report it and reset everything that belongs to the connection.
    /// The session (store, packet ids) stays.
    pub(crate) fn end_connection(&mut self, reason: DisconnectReason) {
        if !self.active() {
            return;
        }
        self.state = State::Closed;
        self.push_event(EventRepr::Disconnected(reason));
        self.dup_until = self
            .dup_until
            .max(self.written)
            .min(self.store.outgoing_len());
        self.sent = 0;
        self.written = 0;
        self.resending = false;
        self.rx_end = self.rx_pos;
        self.tx_head = 0;
        self.tx_tail = 0;
        self.control.clear();
        self.disconnect_queued = false;
        self.connect_unsent = false;
        self.ping = Ping::Idle;
        self.ping_deferred = false;
        self.pending = [None; MAX_PENDING];
        self.pending_count = 0;
        #[cfg(feature = "v5")]
        {
            self.v5.closing = None;
            self.v5.disconnect_written = false;
            if self.v5.on {
                // The session outlives the connection only with a Session Expiry Interval
                // above 0 [MQTT-3.1.2-23].
                if self.v5.server.session_expiry_interval == 0 {
                    self.end_session();
                }
                return;
            }
        }
        if self.clean_session {
            // A clean session lasts as long as its network connection [MQTT-3.1.2-6].
            self.end_session();
        }
    }
}

/// The bytes [`Config::max_held_bytes`] counts for the held message at `index`.
pub(crate) fn needed_bytes<S: Store>(store: &S, index: usize) -> usize {
    match store.outgoing(index) {
        Some(m) if m.state == crate::store::OutgoingState::Publish => m
            .topic
            .len()
            .saturating_add(m.properties.len())
            .saturating_add(m.payload.len()),
        _ => 0,
    }
}
