//! Test support: std clocks, delays and transports for the embedded clients, and a scripted
//! in-process peer with virtual time.
#![allow(dead_code, clippy::unwrap_used)]

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::net::TcpStream;
use std::rc::Rc;
use std::time::Duration;

use embedded_io::ErrorKind;
use mqtt_embedded::Instant;

/// A real monotonic clock: milliseconds since it was made.
#[derive(Clone, Copy)]
pub struct StdClock(std::time::Instant);

impl StdClock {
    pub fn new() -> Self {
        StdClock(std::time::Instant::now())
    }
}

impl mqtt_embedded::Clock for StdClock {
    fn now(&self) -> Instant {
        Instant::from_millis(u64::try_from(self.0.elapsed().as_millis()).unwrap())
    }
}

/// An async delay on `async-io`'s timers.
pub struct TimerDelay;

impl embedded_hal_async::delay::DelayNs for TimerDelay {
    async fn delay_ns(&mut self, ns: u32) {
        async_io::Timer::after(Duration::from_nanos(ns.into())).await;
    }
    async fn delay_ms(&mut self, ms: u32) {
        async_io::Timer::after(Duration::from_millis(ms.into())).await;
    }
}

/// A blocking delay: `thread::sleep`.
pub struct SleepDelay;

impl embedded_hal::delay::DelayNs for SleepDelay {
    fn delay_ns(&mut self, ns: u32) {
        std::thread::sleep(Duration::from_nanos(ns.into()));
    }
    fn delay_ms(&mut self, ms: u32) {
        std::thread::sleep(Duration::from_millis(ms.into()));
    }
}

/// An async TCP transport: `TcpStream` through `async-io`, wrapped as `embedded-io-async`.
pub type AsyncTcp = embedded_io_adapters::futures_03::FromFutures<async_io::Async<TcpStream>>;

pub fn async_tcp(port: u16) -> AsyncTcp {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the broker");
    embedded_io_adapters::futures_03::FromFutures::new(
        async_io::Async::new(stream).expect("non-blocking socket"),
    )
}

/// A blocking TCP transport with `ReadReady` (peek on a non-blocking socket).
pub struct BlockingTcp(pub TcpStream);

pub fn blocking_tcp(port: u16) -> BlockingTcp {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the broker");
    BlockingTcp(stream)
}

impl embedded_io::ErrorType for BlockingTcp {
    type Error = std::io::Error;
}

impl embedded_io::Read for BlockingTcp {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        std::io::Read::read(&mut self.0, buf)
    }
}

impl embedded_io::Write for BlockingTcp {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        std::io::Write::write(&mut self.0, buf)
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        std::io::Write::flush(&mut self.0)
    }
}

impl embedded_io::ReadReady for BlockingTcp {
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        self.0.set_nonblocking(true)?;
        let mut probe = [0u8; 1];
        let ready = match self.0.peek(&mut probe) {
            Ok(_) => Ok(true), // data, or EOF (0)
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        };
        self.0.set_nonblocking(false)?;
        ready
    }
}

/// Virtual time shared by a clock and a delay: the delay advances it.
#[derive(Clone, Default)]
pub struct VirtualTime(pub Rc<Cell<u64>>);

impl VirtualTime {
    pub fn clock(&self) -> impl Fn() -> Instant + use<> {
        let t = self.0.clone();
        move || Instant::from_millis(t.get())
    }
    pub fn delay(&self) -> VirtualDelay {
        VirtualDelay(self.0.clone())
    }
    pub fn millis(&self) -> u64 {
        self.0.get()
    }
}

/// A delay that returns at once after moving virtual time forward.
pub struct VirtualDelay(Rc<Cell<u64>>);

impl VirtualDelay {
    fn advance_ns(&self, ns: u32) {
        self.0.set(self.0.get() + u64::from(ns).div_ceil(1_000_000));
    }
}

impl embedded_hal_async::delay::DelayNs for VirtualDelay {
    async fn delay_ns(&mut self, ns: u32) {
        self.advance_ns(ns);
    }
    async fn delay_ms(&mut self, ms: u32) {
        self.0.set(self.0.get() + u64::from(ms));
    }
}

impl embedded_hal::delay::DelayNs for VirtualDelay {
    fn delay_ns(&mut self, ns: u32) {
        self.advance_ns(ns);
    }
    fn delay_ms(&mut self, ms: u32) {
        self.0.set(self.0.get() + u64::from(ms));
    }
}

/// What a scripted peer does, shared between the test and the transport the client owns.
#[derive(Default)]
pub struct Script {
    /// Bytes the peer will send (read returns at most `chunk` of them at a time).
    pub inbound: VecDeque<u8>,
    /// Bytes the client wrote.
    pub outbound: Vec<u8>,
    /// Read returns EOF once `inbound` is empty.
    pub eof: bool,
    /// Largest read.
    pub chunk: usize,
    /// Writes fail with this error kind.
    pub write_error: Option<ErrorKind>,
    /// Writes accept zero bytes.
    pub write_zero: bool,
    /// Largest write accepted at once (0: all).
    pub write_limit: usize,
    /// Once this many bytes were written in total, further writes wait (never complete) until
    /// it is cleared.
    pub write_stall_at: Option<usize>,
}

/// The transport side of a [`Script`]: async and blocking.
#[derive(Clone)]
pub struct ScriptedPeer(pub Rc<RefCell<Script>>);

impl ScriptedPeer {
    pub fn new() -> Self {
        ScriptedPeer(Rc::new(RefCell::new(Script {
            chunk: usize::MAX,
            ..Script::default()
        })))
    }
    pub fn send(&self, bytes: &[u8]) {
        self.0.borrow_mut().inbound.extend(bytes.iter().copied());
    }
    /// Take what the client wrote so far.
    pub fn take_written(&self) -> Vec<u8> {
        std::mem::take(&mut self.0.borrow_mut().outbound)
    }
    fn try_read(&mut self, buf: &mut [u8]) -> Option<usize> {
        let mut s = self.0.borrow_mut();
        if s.inbound.is_empty() {
            return s.eof.then_some(0);
        }
        let n = buf.len().min(s.chunk).min(s.inbound.len());
        for (dst, src) in buf.iter_mut().zip(s.inbound.drain(..n)) {
            *dst = src;
        }
        Some(n)
    }
    fn do_write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        let mut s = self.0.borrow_mut();
        if let Some(kind) = s.write_error {
            return Err(kind);
        }
        if s.write_zero {
            return Ok(0);
        }
        let n = if s.write_limit == 0 {
            buf.len()
        } else {
            buf.len().min(s.write_limit)
        };
        s.outbound.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

impl embedded_io::ErrorType for ScriptedPeer {
    type Error = ErrorKind;
}

impl embedded_io_async::Read for ScriptedPeer {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        match self.try_read(buf) {
            Some(n) => Ok(n),
            // Nothing scripted yet: never ready (cancel-safe: nothing was taken).
            None => std::future::pending().await,
        }
    }
}

impl embedded_io_async::Write for ScriptedPeer {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        let stalled = {
            let s = self.0.borrow();
            s.write_stall_at.is_some_and(|at| s.outbound.len() >= at)
        };
        if stalled {
            std::future::pending::<()>().await;
        }
        self.do_write(buf)
    }
    async fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}

impl embedded_io::Read for ScriptedPeer {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        // Only called when `read_ready` said so.
        Ok(self.try_read(buf).unwrap_or(0))
    }
}

impl embedded_io::ReadReady for ScriptedPeer {
    fn read_ready(&mut self) -> Result<bool, ErrorKind> {
        let s = self.0.borrow();
        Ok(!s.inbound.is_empty() || s.eof)
    }
}

impl embedded_io::Write for ScriptedPeer {
    fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        self.do_write(buf)
    }
    fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}

/// CONNACK, accepted, with this session-present flag.
pub fn connack(session_present: bool) -> [u8; 4] {
    [0x20, 0x02, u8::from(session_present), 0x00]
}

/// PINGRESP.
pub const PINGRESP: [u8; 2] = [0xD0, 0x00];
/// PINGREQ.
pub const PINGREQ: [u8; 2] = [0xC0, 0x00];

/// A PUBLISH from the broker.
pub fn publish(topic: &str, payload: &[u8], qos: u8, id: u16) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&u16::try_from(topic.len()).unwrap().to_be_bytes());
    body.extend_from_slice(topic.as_bytes());
    if qos > 0 {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend_from_slice(payload);
    let mut packet = vec![0x30 | (qos << 1)];
    let mut len = body.len();
    loop {
        let mut byte = u8::try_from(len % 128).unwrap();
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        packet.push(byte);
        if len == 0 {
            break;
        }
    }
    packet.extend_from_slice(&body);
    packet
}

/// Run a future to completion on the current thread.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    async_io::block_on(f)
}

/// An owned copy of an event, for assertions after the borrow ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    Connected(bool),
    Message {
        topic: String,
        payload: Vec<u8>,
        qos: mqtt_embedded::QoS,
        dup: bool,
    },
    PubAck(mqtt_embedded::PacketId),
    PubComp(mqtt_embedded::PacketId),
    Subscribed(
        mqtt_embedded::PacketId,
        Vec<mqtt_embedded::SubAckReturnCode>,
    ),
    Unsubscribed(mqtt_embedded::PacketId),
    Disconnected(mqtt_embedded::DisconnectReason),
    Other(String),
}

impl Seen {
    pub fn of(event: &mqtt_embedded::Event<'_>) -> Seen {
        use mqtt_embedded::Event;
        match *event {
            Event::Connected { session_present } => Seen::Connected(session_present),
            Event::Message(m) => Seen::Message {
                topic: m.topic.to_owned(),
                payload: m.payload.to_vec(),
                qos: m.qos,
                dup: m.dup,
            },
            Event::PublishAcknowledged { packet_id } => Seen::PubAck(packet_id),
            Event::PublishCompleted { packet_id } => Seen::PubComp(packet_id),
            Event::Subscribed { packet_id, results } => {
                Seen::Subscribed(packet_id, results.iter().collect())
            }
            Event::Unsubscribed { packet_id } => Seen::Unsubscribed(packet_id),
            Event::Disconnected { reason } => Seen::Disconnected(reason),
            ref other => Seen::Other(format!("{other:?}")),
        }
    }

    pub fn is_disconnected(&self) -> bool {
        matches!(self, Seen::Disconnected(_))
    }
}
