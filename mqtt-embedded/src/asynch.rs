//! The client over `embedded-io-async` and `embedded-hal-async`.

use core::time::Duration;

use embedded_hal_async::delay::DelayNs;
use embedded_io_async::{Read, Write};
#[cfg(feature = "v5")]
use mqtt_session::v5::{DisconnectOptions, Properties, SubscriptionOptions};
use mqtt_session::{CommandError, Config, ConnectRequest, Event, PacketId, QoS, Session, Store};

use crate::buffers::Buffers;
use crate::clock::Clock;
use crate::driver::{Driver, Plan};
use crate::error::Error;
use crate::select::{Either, select};

/// An MQTT 3.1.1 client (and 5.0, with the feature `v5`) over an async transport `T`
/// (`embedded_io_async::Read + Write`: a TCP socket, a TLS connection over one, a serial
/// link), with the in-flight store `S`, the clock `C` and the async delay `D`
/// (`embedded_hal_async::delay::DelayNs`). The version of a connection is the options'
/// given to [`Client::connect`].
///
/// [`Client::poll`] is one step of the loop: write what the session has queued, wait for input
/// or the session's next deadline, feed what happened to the session, hand out the next event.
/// There are no background tasks: call it often enough for keep-alive (at least once per
/// keep-alive interval; in practice, in a loop). Commands ([`Client::publish`],
/// [`Client::subscribe`], [`Client::unsubscribe`], and at 5.0 `publish_with`,
/// `subscribe_with`, `auth_continue`, `reauthenticate`) only queue packets, without IO; `poll`
/// or [`Client::flush`] writes them out. Only [`Client::connect`], `poll`, `flush`,
/// [`Client::disconnect`] and at 5.0 `disconnect_with` and `abort_auth` do IO.
///
/// # Cancellation
/// Waiting in [`Client::poll`] races the transport's `read` against the delay and drops the read
/// when the delay wins (at the session's next deadline, or after [`Client::set_max_wait`]).
/// A read dropped before any byte arrived loses nothing, with any transport; a transport whose
/// `read` is cancel-safe (`embassy-net` sockets, the `embedded-io-adapters` wrappers) loses
/// nothing ever. `embedded-tls` keeps a record header inside its read future, so a read dropped
/// after part of a TLS record arrived makes the rest fail to decrypt: the connection ends with
/// a transport error and the session resumes on the next one (nothing is misread). With such a
/// transport, leave `max_wait` unset so reads are only dropped at keep-alive deadlines.
///
/// [`Client::poll`] itself may be cancelled (for instance by `select` with another future)
/// under the same condition. Bytes handed out for writing are tracked, so a write interrupted by
/// cancellation is finished by the next call.
#[derive(Debug)]
pub struct Client<'a, T, S, C, D> {
    transport: Option<T>,
    driver: Driver<'a, S, C>,
    delay: D,
}

impl<'a, T, S, C, D> Client<'a, T, S, C, D>
where
    T: Read + Write,
    S: Store,
    C: Clock,
    D: DelayNs,
{
    /// A client with no connection yet. `store` holds outgoing QoS 1/2 messages in flight and
    /// incoming QoS 2 ids (for instance `FixedStore<N, BYTES>`, or `&mut` one to keep it across
    /// clients); `buffers` are the caller-sized receive, transmit and output buffers.
    pub fn new(config: Config, store: S, buffers: Buffers<'a>, clock: C, delay: D) -> Self {
        Client {
            transport: None,
            driver: Driver::new(config, store, buffers, clock),
            delay,
        }
    }

    /// Longest time one [`Client::poll`] waits for input when the session has no earlier
    /// deadline (`None`, the default: wait for input or the session's next deadline).
    pub fn set_max_wait(&mut self, max_wait: Option<Duration>) {
        self.driver.max_wait = max_wait;
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

    /// Connect over `transport` (already open: TCP, or a TLS session over TCP) and wait for
    /// CONNACK. Returns the broker's session-present flag. With `clean_session` off and
    /// session present, messages still in flight from the previous connection are sent again
    /// first.
    ///
    /// `options` is a `&ConnectOptions` for an MQTT 3.1.1 connection or, with the feature
    /// `v5`, a `&ConnectOptionsV5` for a 5.0 one (with its CONNECT properties: Session Expiry
    /// Interval, Receive Maximum, ...). At 5.0 the CONNACK's limits are then in
    /// `session().server_limits()`; its other properties (Assigned Client Identifier, Reason
    /// String, User Properties) come in an `Event::Response` that `connect` does not hand
    /// out: use [`Client::start_connect`] to see it.
    ///
    /// Refused while a connection is active ([`CommandError::AlreadyConnected`]) or while
    /// events of the previous connection wait to be polled ([`Error::EventsPending`]), and
    /// with [`Error::Command`] for options the session refuses. Fails with
    /// [`Error::Refused`] when a 3.1.1 CONNACK refuses the connection, with
    /// [`Error::ConnectFailed`] when it ends otherwise before being accepted (at 5.0, a
    /// refusal is `Error::ConnectFailed(DisconnectReason::RefusedV5(code))` with the CONNACK's
    /// reason code), with [`Error::AuthExchange`] when the broker continues an enhanced
    /// authentication, which needs [`Client::start_connect`], and with the errors of the
    /// transport. After a failure, nothing of the attempt is left to poll.
    pub async fn connect<'o>(
        &mut self,
        transport: T,
        options: impl Into<ConnectRequest<'o>>,
    ) -> Result<bool, Error<T::Error>> {
        self.start_connect(transport, options)?;
        let mut refused = None;
        loop {
            let polled = self.poll().await;
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
    pub async fn disconnect(&mut self) -> Result<(), Error<T::Error>> {
        self.driver.disconnect()?;
        self.close().await
    }

    /// Flush, then linger: the end of a connection once DISCONNECT is queued.
    async fn close(&mut self) -> Result<(), Error<T::Error>> {
        self.flush().await?;
        self.linger().await;
        Ok(())
    }

    /// After DISCONNECT: read and discard until the end of stream, an error, or the linger.
    async fn linger(&mut self) {
        let Some(until) = self.driver.linger_until() else {
            return;
        };
        let Some(transport) = self.transport.as_mut() else {
            return;
        };
        while let Some(ms) = self.driver.linger_left(until) {
            let buf = self.driver.scratch();
            if buf.is_empty() {
                return;
            }
            match select(transport.read(buf), self.delay.delay_ms(ms)).await {
                Either::Left(Ok(0) | Err(_)) | Either::Right(()) => return,
                Either::Left(Ok(_)) => {}
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
    pub async fn disconnect_with(
        &mut self,
        options: &DisconnectOptions<'_>,
    ) -> Result<(), Error<T::Error>> {
        self.driver.disconnect_with(options)?;
        self.close().await
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
    pub async fn abort_auth(&mut self) -> Result<(), Error<T::Error>> {
        self.driver.abort_auth()?;
        self.close().await
    }

    /// One step of the loop: write what is queued, wait for input or the next deadline (or
    /// [`Client::set_max_wait`]), feed it to the session, and return the next event.
    ///
    /// `Ok(None)` means something happened that the application need not see (an
    /// acknowledgement went out, a PINGRESP came in, a timer ran): call again.
    /// [`Event::Disconnected`] is the last event of a connection; after it (and once every
    /// queued event is delivered) `poll` returns [`Error::NotConnected`].
    ///
    /// A received message borrows the receive buffer until the next call.
    pub async fn poll(&mut self) -> Result<Option<Event<'_>>, Error<T::Error>> {
        self.flush().await?;
        match self.driver.plan() {
            Plan::Ready => {}
            Plan::NotConnected => return Err(Error::NotConnected),
            Plan::Wait(until) => {
                self.wait(until.map(|(_, ms)| ms)).await?;
                self.flush().await?;
            }
        }
        Ok(self.driver.session.poll_event())
    }

    /// Wait for input (at most `ms` milliseconds) and feed the session.
    async fn wait(&mut self, ms: Option<u32>) -> Result<(), Error<T::Error>> {
        let Some(transport) = self.transport.as_mut() else {
            self.driver.abort();
            return Ok(());
        };
        let buf = self.driver.session.receive_buffer();
        let read = match ms {
            Some(ms) => match select(transport.read(buf), self.delay.delay_ms(ms)).await {
                Either::Left(r) => Some(r),
                Either::Right(()) => None,
            },
            None => Some(transport.read(buf).await),
        };
        match read {
            Some(Ok(n)) => self.driver.received(n),
            Some(Err(e)) => return Err(self.driver.fail(Error::Transport(e))),
            None => self.driver.timer(),
        }
        Ok(())
    }

    /// Write out everything queued (commands, acknowledgements, PINGREQ) and flush the
    /// transport. [`Client::poll`] does this too, before it waits.
    pub async fn flush(&mut self) -> Result<(), Error<T::Error>> {
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
            match transport.write(bytes).await {
                Ok(0) => return Err(self.driver.fail(Error::WriteZero)),
                Ok(n) => self.driver.wrote(n),
                Err(e) => return Err(self.driver.fail(Error::Transport(e))),
            }
            wrote = true;
        }
        if wrote && let Err(e) = transport.flush().await {
            return Err(self.driver.fail(Error::Transport(e)));
        }
        Ok(())
    }
}
