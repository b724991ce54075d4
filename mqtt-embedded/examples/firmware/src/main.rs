//! Firmware-shaped use of `mqtt-embedded`: connect, subscribe, publish at QoS 1 and handle
//! incoming messages, with every byte of RAM sized by the application and no allocator.
//!
//! The transport is a fake standing in for a network stack (`embassy-net`, smoltcp, a vendor
//! socket API, or `embedded-tls` over one of them): it plays a broker's answers from flash and
//! swallows what the client writes. The executor is a busy-polling `block_on`; a real firmware
//! uses its own (Embassy, RTIC, ...).
#![no_std]
#![no_main]
// The measuring variants leave part of the scaffolding unused.
#![cfg_attr(any(feature = "blocking", feature = "raw-session"), allow(dead_code))]

use core::cell::Cell;
use core::future::Future;
use core::hint::black_box;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use cortex_m_rt::entry;

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

/// What the fake broker sends, in order: CONNACK, SUBACK (id 1, QoS 1 granted), PUBACK (id 2),
/// then a QoS 1 PUBLISH on `cmd/led` (id 5), then end of stream.
static SCRIPT: &[u8] = &[
    0x20, 0x02, 0x00, 0x00, // CONNACK
    0x90, 0x03, 0x00, 0x01, 0x01, // SUBACK
    0x40, 0x02, 0x00, 0x02, // PUBACK
    0x32, 0x0B, 0x00, 0x07, b'c', b'm', b'd', b'/', b'l', b'e', b'd', 0x00, 0x05, b'o', b'n',
];

/// A fake socket: reads play [`SCRIPT`], writes are swallowed.
struct FakeSocket {
    script: &'static [u8],
    written: usize,
}

impl embedded_io::ErrorType for FakeSocket {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io_async::Read for FakeSocket {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let script = black_box(self.script);
        let n = buf.len().min(script.len());
        let (now, rest) = script.split_at(n);
        buf[..n].copy_from_slice(now);
        self.script = rest;
        Ok(n)
    }
}

impl embedded_io_async::Write for FakeSocket {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.written += black_box(buf).len();
        Ok(buf.len())
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl embedded_io::Read for FakeSocket {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let script = black_box(self.script);
        let n = buf.len().min(script.len());
        let (now, rest) = script.split_at(n);
        buf[..n].copy_from_slice(now);
        self.script = rest;
        Ok(n)
    }
}

impl embedded_io::ReadReady for FakeSocket {
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

impl embedded_io::Write for FakeSocket {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.written += black_box(buf).len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// A tick counter standing in for a hardware timer (1 tick = 1 ms).
struct Ticks(Cell<u64>);

/// A delay that advances [`Ticks`] (a real one waits for a timer interrupt).
struct Delay<'a>(&'a Ticks);

impl embedded_hal_async::delay::DelayNs for Delay<'_> {
    async fn delay_ns(&mut self, ns: u32) {
        let t = &self.0.0;
        t.set(t.get() + u64::from(ns / 1_000_000).max(1));
    }
}

impl embedded_hal::delay::DelayNs for Delay<'_> {
    fn delay_ns(&mut self, ns: u32) {
        let t = &self.0.0;
        t.set(t.get() + u64::from(ns / 1_000_000).max(1));
    }
}

/// Poll a future to completion, spinning (a real firmware sleeps until an interrupt).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

#[cfg(not(any(feature = "baseline", feature = "blocking", feature = "raw-session")))]
mod app {
    use super::*;
    use mqtt_embedded::{
        Config, ConnectOptions, Event, FixedStore, Instant, Memory, QoS, asynch::Client,
    };

    /// Receive 512 B, transmit queue 256 B, output 512 B.
    pub type Buffers = Memory<512, 256, 512>;
    /// Up to 4 QoS 1/2 messages in flight, 512 B of topics and payloads.
    pub type Store = FixedStore<4, 512>;
    /// The client as this firmware instantiates it.
    pub type MqttClient<'a, C> = Client<'a, FakeSocket, &'a mut Store, C, Delay<'a>>;

    pub fn run(ticks: &Ticks) -> usize {
        let mut memory = Buffers::new();
        let mut store = Store::new();
        let clock = || Instant::from_millis(ticks.0.get());
        let mut client: MqttClient<'_, _> = Client::new(
            Config::default().with_max_inflight(4),
            &mut store,
            memory.buffers(),
            clock,
            Delay(ticks),
        );
        let socket = FakeSocket {
            script: SCRIPT,
            written: 0,
        };
        let mut led = 0;
        block_on(async {
            let mut options = ConnectOptions::new("fw-node-1");
            options.keep_alive = 30;
            if client.connect(socket, &options).await.is_err() {
                return;
            }
            if client.subscribe(&[("cmd/#", QoS::AtLeastOnce)]).is_err() {
                return;
            }
            if client
                .publish("status/fw-node-1", b"up", QoS::AtLeastOnce, false)
                .is_err()
            {
                return;
            }
            loop {
                match client.poll().await {
                    Ok(Some(Event::Message(m))) if m.topic == "cmd/led" => {
                        led = usize::from(m.payload == b"on");
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
        led + client.transport_mut().map_or(0, |s| s.written)
    }

    /// `size_of` the client state, as symbol sizes `size-report` reads.
    #[cfg(feature = "size-probe")]
    pub mod probe {
        use super::*;
        type Clock = fn() -> Instant;
        #[used]
        #[unsafe(no_mangle)]
        static SIZE_OF_CLIENT: [u8; core::mem::size_of::<MqttClient<'static, Clock>>()] =
            [0; core::mem::size_of::<MqttClient<'static, Clock>>()];
        #[used]
        #[unsafe(no_mangle)]
        static SIZE_OF_SESSION: [u8; core::mem::size_of::<
            mqtt_embedded::Session<&'static mut Store, &'static mut [u8]>,
        >()] = [0; core::mem::size_of::<
            mqtt_embedded::Session<&'static mut Store, &'static mut [u8]>,
        >()];
        #[used]
        #[unsafe(no_mangle)]
        static SIZE_OF_STORE: [u8; core::mem::size_of::<Store>()] =
            [0; core::mem::size_of::<Store>()];
        #[used]
        #[unsafe(no_mangle)]
        static SIZE_OF_BUFFERS: [u8; core::mem::size_of::<Buffers>()] =
            [0; core::mem::size_of::<Buffers>()];
    }
}

/// The same application on the blocking client.
#[cfg(feature = "blocking")]
mod app {
    use super::*;
    use mqtt_embedded::{
        Config, ConnectOptions, Event, FixedStore, Instant, Memory, QoS, blocking::Client,
    };

    pub fn run(ticks: &Ticks) -> usize {
        let mut memory = Memory::<512, 256, 512>::new();
        let mut store = FixedStore::<4, 512>::new();
        let clock = || Instant::from_millis(ticks.0.get());
        let mut client = Client::new(
            Config::default().with_max_inflight(4),
            &mut store,
            memory.buffers(),
            clock,
            Delay(ticks),
        );
        let socket = FakeSocket {
            script: SCRIPT,
            written: 0,
        };
        let mut led = 0;
        let mut options = ConnectOptions::new("fw-node-1");
        options.keep_alive = 30;
        if client.connect(socket, &options).is_ok()
            && client.subscribe(&[("cmd/#", QoS::AtLeastOnce)]).is_ok()
            && client
                .publish("status/fw-node-1", b"up", QoS::AtLeastOnce, false)
                .is_ok()
        {
            loop {
                match client.poll() {
                    Ok(Some(Event::Message(m))) if m.topic == "cmd/led" => {
                        led = usize::from(m.payload == b"on");
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }
        led + client.transport_mut().map_or(0, |s| s.written)
    }
}

/// The same application driving the session by hand: no driver, no async.
#[cfg(feature = "raw-session")]
mod app {
    use super::*;
    use mqtt_embedded::{Config, ConnectOptions, Event, FixedStore, Instant, QoS, Session, State};

    pub fn run(ticks: &Ticks) -> usize {
        let (mut rx, mut tx, mut out) = ([0u8; 512], [0u8; 256], [0u8; 512]);
        let mut store = FixedStore::<4, 512>::new();
        let now = || Instant::from_millis(ticks.0.get());
        let mut session = Session::new(
            Config::default().with_max_inflight(4),
            &mut store,
            &mut rx[..],
            &mut tx[..],
        );
        let mut script = SCRIPT;
        let mut written = 0;
        let mut led = 0;
        let mut options = ConnectOptions::new("fw-node-1");
        options.keep_alive = 30;
        session.handle_transport_up(now());
        if session.connect(now(), &options).is_err() {
            return 0;
        }
        loop {
            let mut connected = false;
            let mut closed = false;
            while let Some(event) = session.poll_event() {
                match event {
                    Event::Connected { .. } => connected = true,
                    Event::Message(m) if m.topic == "cmd/led" => {
                        led = usize::from(m.payload == b"on");
                    }
                    Event::Disconnected { .. } => closed = true,
                    _ => {}
                }
            }
            if closed {
                break;
            }
            if connected {
                let _ = session.subscribe(now(), &[("cmd/#", QoS::AtLeastOnce)]);
                let _ = session.publish(now(), "status/fw-node-1", b"up", QoS::AtLeastOnce, false);
            }
            while let Ok(Some(n)) = session.poll_transmit(now(), &mut out) {
                written += black_box(&out[..n]).len();
            }
            if session.state() == State::Closed {
                break;
            }
            let buf = session.receive_buffer();
            let n = buf.len().min(script.len());
            let (chunk, rest) = black_box(script).split_at(n);
            buf[..n].copy_from_slice(chunk);
            script = rest;
            if n == 0 {
                session.handle_transport_closed(now());
            } else {
                session.handle_received(now(), n);
            }
            session.handle_timeout(now());
        }
        led + written
    }
}

#[cfg(feature = "baseline")]
mod app {
    use super::*;
    use embedded_hal_async::delay::DelayNs;
    use embedded_io_async::{Read, Write};

    /// The same transport, clock and executor without the client.
    pub fn run(ticks: &Ticks) -> usize {
        let mut socket = FakeSocket {
            script: SCRIPT,
            written: 0,
        };
        let mut buf = [0u8; 512];
        let mut delay = Delay(ticks);
        block_on(async {
            while let Ok(n) = socket.read(&mut buf).await {
                if n == 0 || socket.write(black_box(&buf[..n])).await.is_err() {
                    break;
                }
                delay.delay_ms(1).await;
            }
        });
        socket.written + usize::try_from(ticks.0.get()).unwrap_or(0)
    }
}

#[entry]
fn main() -> ! {
    let ticks = Ticks(Cell::new(0));
    black_box(app::run(&ticks));
    loop {
        core::hint::spin_loop();
    }
}
