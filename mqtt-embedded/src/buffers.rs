//! Caller-sized memory: the receive, transmit-queue and output buffers.

/// The three byte buffers a client works in, borrowed from the caller.
///
/// * `rx`: incoming bytes. Bounds the largest packet the client accepts from the broker (a
///   larger one ends the connection with
///   [`DisconnectReason::IncomingPacketTooLarge`](crate::DisconnectReason)). Received messages
///   are handed out as slices of it (zero copy).
/// * `tx`: the session's queue of outgoing packets other than stored QoS 1/2 messages (CONNECT,
///   QoS 0 PUBLISH, SUBSCRIBE, UNSUBSCRIBE). Bounds the largest of these.
/// * `out`: what is handed to the transport in one `write`. Bounds the largest packet sent,
///   QoS 1/2 PUBLISH included (those are encoded from the store straight into it).
///
/// [`Memory`] owns all three with sizes fixed at compile time.
#[derive(Debug)]
pub struct Buffers<'a> {
    /// Receive buffer.
    pub rx: &'a mut [u8],
    /// Transmit queue.
    pub tx: &'a mut [u8],
    /// Output buffer for the transport.
    pub out: &'a mut [u8],
}

impl<'a> Buffers<'a> {
    /// Three buffers from the caller.
    pub fn new(rx: &'a mut [u8], tx: &'a mut [u8], out: &'a mut [u8]) -> Self {
        Buffers { rx, tx, out }
    }
}

/// [`Buffers`] of sizes fixed at compile time: `RX` bytes to receive, `TX` bytes of transmit
/// queue, `OUT` bytes of output. `const fn new` lets it live in a `static` (for instance behind
/// a `StaticCell`) as well as on the stack.
///
/// ```
/// use mqtt_embedded::Memory;
/// let mut memory: Memory<512, 256, 512> = Memory::new();
/// let buffers = memory.buffers();
/// assert_eq!(buffers.rx.len(), 512);
/// ```
#[derive(Debug)]
pub struct Memory<const RX: usize, const TX: usize, const OUT: usize> {
    rx: [u8; RX],
    tx: [u8; TX],
    out: [u8; OUT],
}

impl<const RX: usize, const TX: usize, const OUT: usize> Memory<RX, TX, OUT> {
    /// Zeroed buffers.
    pub const fn new() -> Self {
        Memory {
            rx: [0; RX],
            tx: [0; TX],
            out: [0; OUT],
        }
    }

    /// Borrow the three buffers for a client.
    pub fn buffers(&mut self) -> Buffers<'_> {
        Buffers {
            rx: &mut self.rx,
            tx: &mut self.tx,
            out: &mut self.out,
        }
    }
}

impl<const RX: usize, const TX: usize, const OUT: usize> Default for Memory<RX, TX, OUT> {
    fn default() -> Self {
        Self::new()
    }
}
