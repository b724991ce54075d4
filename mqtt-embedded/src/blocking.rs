//! The client over blocking `embedded-io` and `embedded-hal`.

use core::time::Duration;

use embedded_hal::delay::DelayNs;
use embedded_io::{Read, ReadReady, Write};
use mqtt_session::{
    CommandError, Config, ConnectOptions, Event, Instant, PacketId, QoS, Session, Store,
};

use crate::buffers::Buffers;
use crate::clock::Clock;
use crate::driver::{Driver, Plan};
use crate::error::Error;

/// Default pause between two readiness checks while waiting for input.
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(10);

/// An MQTT 3.1.1 client over a blocking transport `T` (`embedded_io::Read + Write +
/// ReadReady`), with the in-flight store `S`, the clock `C` and the delay `D`
/// (`embedded_hal::delay::DelayNs`).
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

    /// Connect over `transport` and wait for CONNACK; see
    /// [`asynch::Client::connect`](crate::asynch::Client::connect).
    pub fn connect(
        &mut self,
        transport: T,
        options: &ConnectOptions<'_>,
    ) -> Result<bool, Error<T::Error>> {
        self.driver.begin_connect(options)?;
        self.transport = Some(transport);
        let mut refused = None;
        loop {
            let polled = self.poll();
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
    pub fn disconnect(&mut self) -> Result<(), Error<T::Error>> {
        self.driver.disconnect()?;
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
