//! The driver loop shared by the async and the blocking client: every step except the IO calls
//! themselves. It moves bytes and time between the transport and the
//! [`Session`](mqtt_session::Session) and makes no protocol decision.

use core::time::Duration;

use mqtt_proto::TopicName;
#[cfg(feature = "v5")]
use mqtt_session::v5::{DisconnectOptions, Properties, SubscriptionOptions};
use mqtt_session::{
    CommandError, Config, ConnectRequest, Event, Instant, PacketId, QoS, Session, State, Store,
};

use crate::buffers::Buffers;
use crate::clock::Clock;
use crate::error::Error;

/// What the client should wait for before the next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Nothing to wait for: poll the next event now.
    Ready,
    /// No connection and no event left to deliver.
    NotConnected,
    /// Wait for input until `until` (at most `ms` milliseconds), or for input only (`None`).
    Wait(Option<(Instant, u32)>),
}

/// Session, output buffer and clock: the state both clients share.
#[derive(Debug)]
pub(crate) struct Driver<'a, S, C> {
    pub(crate) session: Session<S, &'a mut [u8]>,
    out: &'a mut [u8],
    /// Bytes `[out_pos, out_end)` of `out` still have to be written.
    out_pos: usize,
    out_end: usize,
    pub(crate) clock: C,
    pub(crate) max_wait: Option<Duration>,
    /// How long `disconnect` reads after DISCONNECT for the broker to close.
    pub(crate) linger: Duration,
}

/// The default linger after DISCONNECT.
pub(crate) const DEFAULT_LINGER: Duration = Duration::from_secs(1);

impl<'a, S: Store, C: Clock> Driver<'a, S, C> {
    pub(crate) fn new(config: Config, store: S, buffers: Buffers<'a>, clock: C) -> Self {
        let Buffers { rx, tx, out } = buffers;
        Driver {
            session: Session::new(config, store, rx, tx),
            out,
            out_pos: 0,
            out_end: 0,
            clock,
            max_wait: None,
            linger: DEFAULT_LINGER,
        }
    }

    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Whether a connection is being made or is up (bytes flow).
    pub(crate) fn active(&self) -> bool {
        matches!(
            self.session.state(),
            State::Connecting | State::Connected | State::Disconnecting
        )
    }

    /// Whether the session has work to do at once (events to deliver, a timer due).
    fn ready(&self, now: Instant) -> bool {
        self.session.poll_timeout().is_some_and(|t| t <= now)
    }

    /// The next bytes to hand to the transport: the rest of the current chunk, or a new chunk
    /// of whole packets from the session. `Err(required)` when the output buffer cannot hold
    /// the next packet.
    pub(crate) fn output(&mut self) -> Result<Option<&[u8]>, usize> {
        if self.out_pos >= self.out_end {
            self.out_pos = 0;
            self.out_end = 0;
            let now = self.clock.now();
            match self.session.poll_transmit(now, self.out) {
                Ok(Some(n)) => self.out_end = n.min(self.out.len()),
                Ok(None) => return Ok(None),
                Err(e) => return Err(e.required),
            }
        }
        Ok(self
            .out
            .get(self.out_pos..self.out_end)
            .filter(|b| !b.is_empty()))
    }

    /// The transport took `n` bytes of [`Driver::output`].
    pub(crate) fn wrote(&mut self, n: usize) {
        self.out_pos = self.out_pos.saturating_add(n).min(self.out_end);
    }

    /// The transport failed: the connection is over (the session reports it as an event).
    pub(crate) fn abort(&mut self) {
        let now = self.now();
        self.session.handle_transport_closed(now);
        self.out_pos = 0;
        self.out_end = 0;
    }

    /// Map a failed write/flush/read to an error, ending the connection.
    pub(crate) fn fail<E>(&mut self, error: Error<E>) -> Error<E> {
        self.abort();
        error
    }

    /// Decide what to wait for; runs a due timer at once.
    pub(crate) fn plan(&mut self) -> Plan {
        let now = self.now();
        if !self.active() {
            if self.ready(now) {
                self.session.handle_timeout(now);
                return Plan::Ready;
            }
            if self.session.state() == State::Closed {
                self.abort();
            }
            return Plan::NotConnected;
        }
        let deadline = self.session.poll_timeout();
        if deadline.is_some_and(|t| t <= now) || self.session.receive_buffer().is_empty() {
            self.session.handle_timeout(now);
            return Plan::Ready;
        }
        let limit = self.max_wait.map(|d| now + d);
        let until = match (deadline, limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Plan::Wait(until.map(|u| (u, millis_until(now, u))))
    }

    /// The read filled `n` bytes of the receive buffer; 0 means the transport is at EOF.
    pub(crate) fn received(&mut self, n: usize) {
        let now = self.now();
        if n == 0 {
            self.session.handle_transport_closed(now);
        } else {
            self.session.handle_received(now, n);
        }
    }

    /// The wait ended without input.
    pub(crate) fn timer(&mut self) {
        let now = self.now();
        self.session.handle_timeout(now);
    }

    /// Start a connection over a fresh transport: refuse if one is active or events of the
    /// previous one wait, else queue CONNECT.
    pub(crate) fn begin_connect<'o, E>(
        &mut self,
        options: impl Into<ConnectRequest<'o>>,
    ) -> Result<(), Error<E>> {
        if self.active() {
            return Err(Error::Command(CommandError::AlreadyConnected));
        }
        let now = self.now();
        if self.ready(now) {
            return Err(Error::EventsPending);
        }
        self.out_pos = 0;
        self.out_end = 0;
        self.session.handle_transport_up(now);
        self.session.connect(now, options)?;
        Ok(())
    }

    /// What one `poll` result means for a `connect` in progress: `Some` ends it.
    pub(crate) fn connect_outcome<E>(
        polled: Result<Option<Event<'_>>, Error<E>>,
        refused: &mut Option<mqtt_session::ConnectReturnCode>,
    ) -> Option<Result<bool, Error<E>>> {
        match polled {
            Ok(Some(Event::Connected { session_present })) => Some(Ok(session_present)),
            Ok(Some(Event::ConnectionRefused { code })) => {
                *refused = Some(code);
                None
            }
            // 5.0: a refusal is `Disconnected` with `DisconnectReason::RefusedV5`, after the
            // CONNACK's `Event::Response`.
            Ok(Some(Event::Disconnected { reason })) => Some(Err(match refused.take() {
                Some(code) => Error::Refused(code),
                None => Error::ConnectFailed(reason),
            })),
            // Enhanced authentication needs the application's answer, with the broker's data,
            // which only `poll` can hand out.
            #[cfg(feature = "v5")]
            Ok(Some(Event::AuthContinue { .. })) => Some(Err(Error::AuthExchange)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        }
    }

    /// The end of a `connect`: after a failure, the attempt's own events are forgotten.
    pub(crate) fn finish_connect<E>(
        &mut self,
        outcome: Result<bool, Error<E>>,
    ) -> Result<bool, Error<E>> {
        if outcome.is_err() {
            self.discard_connect_events();
        }
        outcome
    }

    /// After a failed `connect`: forget the attempt's own events (only CONNACK-related ones can
    /// be queued before CONNACK).
    fn discard_connect_events(&mut self) {
        if self.active() {
            self.abort();
        }
        while self.session.poll_event().is_some() {}
        let now = self.now();
        self.session.handle_transport_closed(now);
    }

    /// Queue a PUBLISH (see the clients' `publish`).
    pub(crate) fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<Option<PacketId>, CommandError> {
        #[cfg(feature = "v5")]
        self.check_publish_fits(topic, payload, qos, &Properties::EMPTY)?;
        #[cfg(not(feature = "v5"))]
        self.check_publish_fits(topic, payload, qos)?;
        let now = self.now();
        self.session.publish(now, topic, payload, qos, retain)
    }

    /// Queue a PUBLISH with 5.0 properties (see the clients' `publish_with`).
    #[cfg(feature = "v5")]
    pub(crate) fn publish_with(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: &Properties<'_>,
    ) -> Result<Option<PacketId>, CommandError> {
        self.check_publish_fits(topic, payload, qos, properties)?;
        let now = self.now();
        self.session
            .publish_with(now, topic, payload, qos, retain, properties)
    }

    /// Queue a 5.0 SUBSCRIBE with subscription options and properties.
    #[cfg(feature = "v5")]
    pub(crate) fn subscribe_with(
        &mut self,
        filters: &[(&str, SubscriptionOptions)],
        properties: &Properties<'_>,
    ) -> Result<PacketId, CommandError> {
        let now = self.now();
        self.session.subscribe_with(now, filters, properties)
    }

    /// Queue a 5.0 DISCONNECT with a reason code and properties.
    #[cfg(feature = "v5")]
    pub(crate) fn disconnect_with(
        &mut self,
        options: &DisconnectOptions<'_>,
    ) -> Result<(), CommandError> {
        let now = self.now();
        self.session.disconnect_with(now, options)
    }

    /// Queue AUTH 0x18 answering the broker's AUTH 0x18.
    #[cfg(feature = "v5")]
    pub(crate) fn auth_continue(&mut self, data: Option<&[u8]>) -> Result<(), CommandError> {
        let now = self.now();
        self.session.auth_continue(now, data)
    }

    /// Queue AUTH 0x19, starting a re-authentication.
    #[cfg(feature = "v5")]
    pub(crate) fn reauthenticate(&mut self, data: Option<&[u8]>) -> Result<(), CommandError> {
        let now = self.now();
        self.session.reauthenticate(now, data)
    }

    /// Queue DISCONNECT 0x80, giving up an authentication.
    #[cfg(feature = "v5")]
    pub(crate) fn abort_auth(&mut self) -> Result<(), CommandError> {
        let now = self.now();
        self.session.abort_auth(now)
    }

    /// Queue a SUBSCRIBE.
    pub(crate) fn subscribe(&mut self, filters: &[(&str, QoS)]) -> Result<PacketId, CommandError> {
        let now = self.now();
        self.session.subscribe(now, filters)
    }

    /// Queue an UNSUBSCRIBE.
    pub(crate) fn unsubscribe(&mut self, filters: &[&str]) -> Result<PacketId, CommandError> {
        let now = self.now();
        self.session.unsubscribe(now, filters)
    }

    /// When the linger after a DISCONNECT written now ends (`None`: no linger).
    pub(crate) fn linger_until(&self) -> Option<Instant> {
        (!self.linger.is_zero()).then(|| self.now() + self.linger)
    }

    /// Milliseconds left of the linger ending at `until`; `None` once it has passed.
    pub(crate) fn linger_left(&self, until: Instant) -> Option<u32> {
        let now = self.now();
        (now < until).then(|| millis_until(now, until))
    }

    /// A buffer to read the bytes the broker sends after DISCONNECT into, to discard them:
    /// the output buffer, free once everything is written (empty while output is pending).
    pub(crate) fn scratch(&mut self) -> &mut [u8] {
        if self.out_pos < self.out_end {
            return &mut [];
        }
        self.out
    }

    /// Queue DISCONNECT.
    pub(crate) fn disconnect(&mut self) -> Result<(), CommandError> {
        let now = self.now();
        self.session.disconnect(now)
    }

    /// Refuse a PUBLISH that can never pass through the output buffer (3.1.1 build).
    #[cfg(not(feature = "v5"))]
    fn check_publish_fits(
        &self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
    ) -> Result<(), CommandError> {
        // An invalid topic, or a packet too large for MQTT itself, is the session's to report.
        if TopicName::new(topic).is_err() {
            return Ok(());
        }
        self.fits(mqtt_session::publish_len(topic, payload, qos))
    }

    /// Refuse a PUBLISH that can never pass through the output buffer, counted at the largest
    /// form it can take on the wire:
    ///
    /// * QoS 0 goes out on this connection only: at its version, and at 5.0 with the 3 bytes
    ///   of a Topic Alias if the session may set one (our and the broker's maximum both
    ///   non-zero);
    /// * a QoS 1/2 message is held and may go out on a later connection of either version,
    ///   first sent there with a Topic Alias: it is counted at its 5.0 size (Property Length
    ///   and properties), with a Topic Alias if
    ///   [`Config::outgoing_topic_aliases`] is non-zero.
    #[cfg(feature = "v5")]
    fn check_publish_fits(
        &self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        properties: &Properties<'_>,
    ) -> Result<(), CommandError> {
        // An invalid topic, or a packet too large for MQTT itself, is the session's to report.
        if TopicName::new(topic).is_err() {
            return Ok(());
        }
        let v5 = self.session.protocol() == mqtt_session::ProtocolVersion::V5;
        if !v5 && !properties.is_empty() {
            // Properties without a 5.0 connection are the session's to refuse.
            return Ok(());
        }
        let ours = self.session.config().outgoing_topic_aliases > 0;
        let required = match qos {
            QoS::AtMostOnce if !v5 => mqtt_session::publish_len(topic, payload, qos),
            QoS::AtMostOnce => {
                let theirs = self
                    .session
                    .server_limits()
                    .is_some_and(|l| l.topic_alias_maximum > 0);
                let alias = ours && theirs;
                mqtt_session::v5::publish_len(topic, payload, qos, properties, alias)
            }
            _ => mqtt_session::v5::publish_len(topic, payload, qos, properties, ours),
        };
        self.fits(required)
    }

    /// `Err(PacketTooLarge)` if a packet of `required` bytes cannot pass through the output
    /// buffer (`None`, too large for MQTT itself, is the session's to report).
    fn fits(&self, required: Option<usize>) -> Result<(), CommandError> {
        match required {
            Some(required) if required > self.out.len() => {
                Err(CommandError::PacketTooLarge { required })
            }
            _ => Ok(()),
        }
    }
}

/// Milliseconds from `now` to `until`, at least 1, at most `u32::MAX`.
fn millis_until(now: Instant, until: Instant) -> u32 {
    let ms = until.as_millis().saturating_sub(now.as_millis());
    u32::try_from(ms).unwrap_or(u32::MAX).max(1)
}
