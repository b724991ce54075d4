//! The client over `embedded-io-async` and `embedded-hal-async`.

use core::time::Duration;

use embedded_hal_async::delay::DelayNs;
use embedded_io_async::{Read, Write};
use mqtt_session::{CommandError, Config, ConnectOptions, Event, PacketId, QoS, Session, Store};

use crate::buffers::Buffers;
use crate::clock::Clock;
use crate::driver::{Driver, Plan};
use crate::error::Error;
use crate::select::{Either, select};

/// An MQTT 3.1.1 client over an async transport `T` (`embedded_io_async::Read + Write`: a TCP
/// socket, a TLS connection over one, a serial link), with the in-flight store `S`, the clock
/// `C` and the async delay `D` (`embedded_hal_async::delay::DelayNs`).
///
/// [`Client::poll`] is one step of the loop: write what the session has queued, wait for input
/// or the session's next deadline, feed what happened to the session, hand out the next event.
/// There are no background tasks: call it often enough for keep-alive (at least once per
/// keep-alive interval; in practice, in a loop). Commands ([`Client::publish`],
/// [`Client::subscribe`], [`Client::unsubscribe`]) only queue packets, without IO; `poll` or
/// [`Client::flush`] writes them out. Only [`Client::connect`], `poll`, `flush` and
/// [`Client::disconnect`] do IO.
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
    /// Refused while a connection is active ([`CommandError::AlreadyConnected`]) or while
    /// events of the previous connection wait to be polled ([`Error::EventsPending`]).
    pub async fn connect(
        &mut self,
        transport: T,
        options: &ConnectOptions<'_>,
    ) -> Result<bool, Error<T::Error>> {
        self.driver.begin_connect(options)?;
        self.transport = Some(transport);
        let mut refused = None;
        loop {
            let polled = self.poll().await;
            if let Some(outcome) = Driver::<S, C>::connect_outcome(polled, &mut refused) {
                return self.driver.finish_connect(outcome);
            }
        }
    }

    /// Queue an application message; the next [`Client::poll`] or [`Client::flush`] writes it
    /// out. QoS 0 returns `None`; QoS 1/2 return the packet identifier that
    /// [`Event::PublishAcknowledged`] / [`Event::PublishCompleted`] will carry, and the message
    /// stays in the store until then, across reconnections.
    ///
    /// Refused, with nothing changed, when not connected, when the in-flight window or the store
    /// is full, when the packet cannot fit the output buffer
    /// ([`CommandError::PacketTooLarge`]), or when the transmit queue is full
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
    /// [`Client::poll`]; close the transport ([`Client::take_transport`]) when done.
    ///
    /// A read that fails while lingering only ends the linger: the DISCONNECT is out.
    pub async fn disconnect(&mut self) -> Result<(), Error<T::Error>> {
        self.driver.disconnect()?;
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
