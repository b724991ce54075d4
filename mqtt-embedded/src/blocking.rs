//! The client over blocking `embedded-io` and `embedded-hal`.

use core::time::Duration;

use embedded_hal::delay::DelayNs;
use embedded_io::{Read, ReadReady, Write};
#[cfg(feature = "v5")]
use mqtt_session::v5::{DisconnectOptions, Properties, SubscriptionOptions};
use mqtt_session::{
    CommandError, Config, ConnectRequest, Event, Instant, PacketId, QoS, Session, Store,
};

use crate::buffers::Buffers;
use crate::clock::Clock;
use crate::driver::{Driver, Plan};
use crate::error::Error;

/// Default pause between two readiness checks while waiting for input.
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(10);

/// An MQTT 3.1.1 client (and 5.0, with the feature `v5`) over a blocking transport `T`
/// (`embedded_io::Read + Write + ReadReady`), with the in-flight store `S`, the clock `C` and
/// the delay `D` (`embedded_hal::delay::DelayNs`).
///
/// The same loop as [`asynch::Client`](crate::asynch::Client): a blocking `read` cannot be
/// raced against a timer, so while waiting the client asks the transport
/// [`ReadReady::read_ready`] and sleeps in steps of the poll interval
/// ([`Client::set_poll_interval`], default 10 ms) until input is ready or the session's next
/// deadline comes. It only calls `read` when input is ready. As there, commands only queue
/// packets and [`Client::poll`] or [`Client::flush`] writes them out.
#[derive(Debug)]
pub struct Client<'a, T, S, C, D> {
    transport: Option<T>,
    driver: Driver<'a, S, C>,
    delay: D,
    poll_interval: Duration,
}

impl<'a, T, S, C, D> Client<'a, T, S, C, D>
where
    T: Read + Write + ReadReady,
    S: Store,
    C: Clock,
    D: DelayNs,
{
    /// A client with no connection yet; see [`asynch::Client::new`](crate::asynch::Client::new).
    pub fn new(config: Config, store: S, buffers: Buffers<'a>, clock: C, delay: D) -> Self {
        Client {
            transport: None,
            driver: Driver::new(config, store, buffers, clock),
            delay,
            poll_interval: DEFAULT_POLL_INTERVAL,
        }
    }

    /// Longest time one [`Client::poll`] waits for input when the session has no earlier
    /// deadline (`None`, the default: wait for input or the session's next deadline).
    pub fn set_max_wait(&mut self, max_wait: Option<Duration>) {
        self.driver.max_wait = max_wait;
    }

    /// Pause between two readiness checks while waiting (at least 1 ms).
    pub fn set_poll_interval(&mut self, interval: Duration) {
        self.poll_interval = interval;
    }

    /// How long [`Client::disconnect`] goes on reading once DISCONNECT is written (default
    /// 1 s; `Duration::ZERO`: return right after the flush). It reads and discards what the
    /// broker still sends (acknowledgements on their way) until the broker closes the
    /// connection (a read returns 0 or fails) or the linger passes on the clock. Close the
    /// transport after that: closing it while acknowledgements are still arriving makes a TCP
    /// stack answer them with a reset, and a broker that sees the reset before it has read the
    /// DISCONNECT drops the connection as lost and publishes the will.
    pub fn set_linger(&mut self, linger: Duration) {
        self.driver.linger = linger;
    }

    /// The session, for its getters (`state`, `is_connected`, `inflight`, `store`, ...).
    pub fn session(&self) -> &Session<S, &'a mut [u8]> {
        &self.driver.session
    }

    /// The transport of the current (or last) connection.
    pub fn transport_mut(&mut self) -> Option<&mut T> {
        self.transport.as_mut()
    }

    /// Take the transport back (to close it, for instance). If a connection was active, it is
    /// over: the next [`Client::poll`] reports [`Event::Disconnected`].
    pub fn take_transport(&mut self) -> Option<T> {
        if self.driver.active() {
            self.driver.abort();
        }
        self.transport.take()
    }

    /// Connect over `transport` and wait for CONNACK; returns the broker's session-present
    /// flag. `options` is a `&ConnectOptions` (MQTT 3.1.1) or, with the feature `v5`, a
    /// `&ConnectOptionsV5` (5.0). See [`asynch::Client::connect`](crate::asynch::Client::connect)
    /// for the errors: [`Error::Refused`] (3.1.1), [`Error::ConnectFailed`] (at 5.0 a refusal
    /// is `ConnectFailed(DisconnectReason::RefusedV5(code))`), [`Error::AuthExchange`],
    /// [`Error::EventsPending`], [`Error::Command`], transport errors.
    pub fn connect<'o>(
        &mut self,
        transport: T,
        options: impl Into<ConnectRequest<'o>>,
    ) -> Result<bool, Error<T::Error>> {
        self.start_connect(transport, options)?;
        let mut refused = None;
        loop {
            let polled = self.poll();
            if let Some(outcome) = Driver::<S, C>::connect_outcome(polled, &mut refused) {
                return self.driver.finish_connect(outcome);
            }
        }
    }

    /// Start a connection over `transport` without waiting for CONNACK: CONNECT is queued
    /// (no IO), and the following [`Client::poll`] calls write it and hand out what the
    /// broker answers: [`Event::Connected`] once accepted, or [`Event::Disconnected`] with
    /// `DisconnectReason::Refused` (3.1.1, after [`Event::ConnectionRefused`]) or
    /// `DisconnectReason::RefusedV5` (5.0). At 5.0, the CONNACK's reason code and properties
    /// come first as `Event::Response` (Assigned Client Identifier, Reason String, Server
    /// Reference, ...), and during an enhanced authentication (an Authentication Method in
    /// the CONNECT properties) each AUTH 0x18 of the broker's is an `Event::AuthContinue`,
    /// answered with `auth_continue`. The CONNACK timeout of the
    /// [`Config`] runs meanwhile.
    ///
    /// Refused, with the same errors as [`Client::connect`] before any IO:
    /// [`CommandError::AlreadyConnected`], [`Error::EventsPending`], and [`Error::Command`]
    /// for options the session refuses.
    pub fn start_connect<'o>(
        &mut self,
        transport: T,
        options: impl Into<ConnectRequest<'o>>,
    ) -> Result<(), Error<T::Error>> {
        self.driver.begin_connect(options)?;
        self.transport = Some(transport);
        Ok(())
    }

    /// Queue an application message; the next [`Client::poll`] or [`Client::flush`] writes it
    /// out. QoS 0 returns `None`; QoS 1/2 return the packet identifier that
    /// [`Event::PublishAcknowledged`] / [`Event::PublishCompleted`] will carry, and the message
    /// stays in the store until then, across reconnections.
    ///
    /// Refused, with nothing changed, when not connected, when the in-flight window or the store
    /// is full, when the packet cannot fit the output buffer
    /// ([`CommandError::PacketTooLarge`]; with the feature `v5` counted as
    /// `publish_with` counts it), or when the transmit queue is full
    /// ([`CommandError::TransmitBufferFull`]: flush and try again).
    pub fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<Option<PacketId>, CommandError> {
        self.driver.publish(topic, payload, qos, retain)
    }

    /// Queue a SUBSCRIBE for `(filter, maximum QoS)` pairs; the next [`Client::poll`] or
    /// [`Client::flush`] writes it out. The result arrives as [`Event::Subscribed`].
    pub fn subscribe(&mut self, filters: &[(&str, QoS)]) -> Result<PacketId, CommandError> {
        self.driver.subscribe(filters)
    }

    /// Queue an UNSUBSCRIBE; the next [`Client::poll`] or [`Client::flush`] writes it out.
    /// Acknowledged by [`Event::Unsubscribed`].
    pub fn unsubscribe(&mut self, filters: &[&str]) -> Result<PacketId, CommandError> {
        self.driver.unsubscribe(filters)
    }

    /// Send DISCONNECT (after everything queued before it) and end the connection: flush, then
    /// read (and discard) until the broker closes the connection or the
    /// [linger](Client::set_linger) passes. Events still queued, then [`Event::Disconnected`]
    /// with [`DisconnectReason::Local`](crate::DisconnectReason), are delivered by
    /// [`Client::poll`]; close the transport ([`Client::take_transport`]) when done. On a 5.0
    /// connection this is DISCONNECT 0x00 Normal disconnection, without properties.
    ///
    /// A read that fails while lingering only ends the linger: the DISCONNECT is out.
    pub fn disconnect(&mut self) -> Result<(), Error<T::Error>> {
        self.driver.disconnect()?;
        self.close()
    }

    /// Flush, then linger: the end of a connection once DISCONNECT is queued.
    fn close(&mut self) -> Result<(), Error<T::Error>> {
        self.flush()?;
        self.linger();
        Ok(())
    }

    /// After DISCONNECT: read and discard until the end of stream, an error, or the linger,
    /// checking readiness every poll interval.
    fn linger(&mut self) {
        let Some(until) = self.driver.linger_until() else {
            return;
        };
        let Some(transport) = self.transport.as_mut() else {
            return;
        };
        let step = u32::try_from(self.poll_interval.as_millis())
            .unwrap_or(u32::MAX)
            .max(1);
        while let Some(ms) = self.driver.linger_left(until) {
            match transport.read_ready() {
                Ok(true) => {
                    let buf = self.driver.scratch();
                    if buf.is_empty() {
                        return;
                    }
                    match transport.read(buf) {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                }
                Ok(false) => self.delay.delay_ms(ms.min(step)),
                Err(_) => return,
            }
        }
    }

    /// Queue an application message with 5.0 PUBLISH properties (feature `v5`): Payload
    /// Format Indicator, Message Expiry Interval, Content Type, Response Topic, Correlation
    /// Data, User Properties. As [`Client::publish`] otherwise: QoS 0 returns `None`, QoS 1/2
    /// the packet identifier of [`Event::PublishAcknowledged`] / [`Event::PublishCompleted`],
    /// or of [`Event::PublishRejected`] when the broker answers with a reason code of 0x80 or
    /// more (after an [`Event::Response`] with its Reason String), [`Event::PublishExpired`]
    /// when its Message Expiry Interval runs out before it was ever sent, and
    /// [`Event::PublishNotSendable`] when the broker of a later connection cannot take it.
    /// A QoS 1/2 message keeps its properties in the store and carries them on every resend.
    /// Empty properties on a 3.1.1 connection publish as `publish` does.
    ///
    /// The packet, Property Length and properties included, must fit the output buffer,
    /// counted at the largest form it can take: a QoS 1/2 message (which may go out on a
    /// later connection) at its 5.0 size with a Topic Alias when
    /// [`Config::outgoing_topic_aliases`] is non-zero, a QoS 0 message
    /// at this connection's version, with a Topic Alias when both sides allow aliases. A
    /// larger one is refused up front with [`CommandError::PacketTooLarge`] (its `required`
    /// bytes), nothing changed.
    ///
    /// Errors, with nothing changed: those of `publish`;
    /// [`CommandError::RequiresV5`] for properties on a 3.1.1 connection;
    /// [`CommandError::PropertyNotAllowed`] for a Subscription Identifier or a Topic Alias
    /// (the session sets aliases itself); [`CommandError::Invalid`] for a property not
    /// allowed in PUBLISH; [`CommandError::QoSNotSupported`],
    /// [`CommandError::RetainNotSupported`] and [`CommandError::PacketTooLargeForServer`]
    /// against the CONNACK's Maximum QoS, Retain Available and Maximum Packet Size.
    #[cfg(feature = "v5")]
    pub fn publish_with(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: &Properties<'_>,
    ) -> Result<Option<PacketId>, CommandError> {
        self.driver
            .publish_with(topic, payload, qos, retain, properties)
    }

    /// Queue a 5.0 SUBSCRIBE (feature `v5`) with Subscription Options per filter (maximum
    /// QoS, No Local, Retain As Published, Retain Handling) and SUBSCRIBE properties (a
    /// Subscription Identifier, User Properties); the next [`Client::poll`] or
    /// [`Client::flush`] writes it out. Returns its packet identifier; the result arrives as
    /// [`Event::Subscribed`], one 5.0 reason code per filter in `results.as_bytes()` (0x00 to
    /// 0x02 the granted QoS, 0x80 or more a refusal), after an [`Event::Response`] when the
    /// SUBACK has properties.
    ///
    /// Errors, with nothing changed: those of [`Client::subscribe`];
    /// [`CommandError::RequiresV5`] on a 3.1.1 connection; [`CommandError::Invalid`] for No
    /// Local on a shared subscription, a malformed shared filter or a property not allowed in
    /// SUBSCRIBE; [`CommandError::NotAvailableOnServer`] for a wildcard, a shared subscription
    /// or a Subscription Identifier the broker does not offer;
    /// [`CommandError::PacketTooLargeForServer`] above its Maximum Packet Size.
    #[cfg(feature = "v5")]
    pub fn subscribe_with(
        &mut self,
        filters: &[(&str, SubscriptionOptions)],
        properties: &Properties<'_>,
    ) -> Result<PacketId, CommandError> {
        self.driver.subscribe_with(filters, properties)
    }

    /// Send a 5.0 DISCONNECT (feature `v5`) with the reason code and properties of `options`
    /// (after everything queued before it) and end the connection as [`Client::disconnect`]
    /// does: flush, then read until the broker closes or the [linger](Client::set_linger)
    /// passes; [`Event::Disconnected`] with `DisconnectReason::Local` follows in
    /// [`Client::poll`]. Reason code 0x04 Disconnect with Will Message asks the broker to
    /// publish the will (0x00 discards it); a Session Expiry Interval property replaces the
    /// one in force, 0 ending the session with this connection.
    ///
    /// Errors: [`Error::Command`] with nothing sent: [`CommandError::NotConnected`],
    /// [`CommandError::RequiresV5`] on a 3.1.1 connection,
    /// [`CommandError::SessionExpiryAfterZero`] for a non-zero Session Expiry Interval when
    /// the CONNECT's was 0, [`CommandError::PacketTooLargeForServer`],
    /// [`CommandError::Invalid`] for a property not allowed in DISCONNECT, and those of a full
    /// transmit queue; then the errors of the flush (which end the connection).
    #[cfg(feature = "v5")]
    pub fn disconnect_with(
        &mut self,
        options: &DisconnectOptions<'_>,
    ) -> Result<(), Error<T::Error>> {
        self.driver.disconnect_with(options)?;
        self.close()
    }

    /// Answer the broker's AUTH 0x18 Continue authentication ([`Event::AuthContinue`], while
    /// connecting after [`Client::start_connect`], or during a re-authentication) with AUTH
    /// 0x18, the CONNECT's Authentication Method and `data` as the Authentication Data
    /// (feature `v5`). Queued only: the next [`Client::poll`] writes it. The broker answers
    /// with another AUTH 0x18, or CONNACK ([`Event::Connected`]) while connecting, or AUTH
    /// 0x00 ([`Event::Reauthenticated`]) during a re-authentication.
    ///
    /// Errors, with nothing changed: [`CommandError::NotConnected`],
    /// [`CommandError::RequiresV5`], [`CommandError::NoAuthMethod`] when the CONNECT had no
    /// Authentication Method, [`CommandError::AuthNotAwaited`] unless an AUTH 0x18 of the
    /// broker's awaits its answer, [`CommandError::PacketTooLargeForServer`], and those of a
    /// full transmit queue.
    #[cfg(feature = "v5")]
    pub fn auth_continue(&mut self, data: Option<&[u8]>) -> Result<(), CommandError> {
        self.driver.auth_continue(data)
    }

    /// Start a re-authentication (feature `v5`): AUTH 0x19 with the CONNECT's Authentication
    /// Method and `data` as the Authentication Data. Queued only: the next [`Client::poll`]
    /// writes it. The broker answers with [`Event::AuthContinue`] (answer with
    /// [`Client::auth_continue`]) as often as the method needs, then
    /// [`Event::Reauthenticated`]; if it refuses, it disconnects ([`Event::Disconnected`]
    /// with `DisconnectReason::Server`). Other traffic goes on meanwhile.
    ///
    /// Errors, with nothing changed: [`CommandError::NotConnected`] before CONNACK accepted
    /// the connection, [`CommandError::RequiresV5`], [`CommandError::NoAuthMethod`],
    /// [`CommandError::AuthInProgress`] while an exchange is under way,
    /// [`CommandError::PacketTooLargeForServer`], and those of a full transmit queue.
    #[cfg(feature = "v5")]
    pub fn reauthenticate(&mut self, data: Option<&[u8]>) -> Result<(), CommandError> {
        self.driver.reauthenticate(data)
    }

    /// Give up an enhanced authentication (feature `v5`), for instance when the broker's
    /// Authentication Data does not verify: DISCONNECT 0x80 Unspecified error (0x87 and 0x8C
    /// are the server's codes), sent and followed by the linger as [`Client::disconnect`]
    /// does; [`Event::Disconnected`] with `DisconnectReason::Local` follows in
    /// [`Client::poll`]. Use [`Client::disconnect_with`] to add a Reason String.
    ///
    /// Errors: [`Error::Command`] with nothing sent: [`CommandError::NotConnected`],
    /// [`CommandError::RequiresV5`], [`CommandError::NoAuthMethod`] when the CONNECT had no
    /// Authentication Method; then the errors of the flush.
    #[cfg(feature = "v5")]
    pub fn abort_auth(&mut self) -> Result<(), Error<T::Error>> {
        self.driver.abort_auth()?;
        self.close()
    }

    /// One step of the loop; see [`asynch::Client::poll`](crate::asynch::Client::poll).
    pub fn poll(&mut self) -> Result<Option<Event<'_>>, Error<T::Error>> {
        self.flush()?;
        match self.driver.plan() {
            Plan::Ready => {}
            Plan::NotConnected => return Err(Error::NotConnected),
            Plan::Wait(until) => {
                self.wait(until.map(|(at, _)| at))?;
                self.flush()?;
            }
        }
        Ok(self.driver.session.poll_event())
    }

    /// Wait until input is ready (then read it) or `until` passes.
    fn wait(&mut self, until: Option<Instant>) -> Result<(), Error<T::Error>> {
        let Some(transport) = self.transport.as_mut() else {
            self.driver.abort();
            return Ok(());
        };
        let step = u32::try_from(self.poll_interval.as_millis())
            .unwrap_or(u32::MAX)
            .max(1);
        loop {
            match transport.read_ready() {
                Ok(true) => {
                    let buf = self.driver.session.receive_buffer();
                    match transport.read(buf) {
                        Ok(n) => self.driver.received(n),
                        Err(e) => return Err(self.driver.fail(Error::Transport(e))),
                    }
                    return Ok(());
                }
                Ok(false) => {}
                Err(e) => return Err(self.driver.fail(Error::Transport(e))),
            }
            let now = self.driver.now();
            let ms = match until {
                Some(until) if now >= until => {
                    self.driver.timer();
                    return Ok(());
                }
                Some(until) => {
                    let left = until.as_millis().saturating_sub(now.as_millis());
                    u32::try_from(left).unwrap_or(u32::MAX).min(step)
                }
                None => step,
            };
            self.delay.delay_ms(ms);
        }
    }

    /// Write out everything queued (commands, acknowledgements, PINGREQ) and flush the
    /// transport. [`Client::poll`] does this too, before it waits.
    pub fn flush(&mut self) -> Result<(), Error<T::Error>> {
        let Some(transport) = self.transport.as_mut() else {
            return Ok(());
        };
        let mut wrote = false;
        loop {
            let bytes = match self.driver.output() {
                Ok(Some(bytes)) => bytes,
                Ok(None) => break,
                Err(required) => return Err(self.driver.fail(Error::BufferTooSmall { required })),
            };
            match transport.write(bytes) {
                Ok(0) => return Err(self.driver.fail(Error::WriteZero)),
                Ok(n) => self.driver.wrote(n),
                Err(e) => return Err(self.driver.fail(Error::Transport(e))),
            }
            wrote = true;
        }
        if wrote && let Err(e) = transport.flush() {
            return Err(self.driver.fail(Error::Transport(e)));
        }
        Ok(())
    }
}
