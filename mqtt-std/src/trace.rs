//! The packet trace hook ([`ClientOptions::trace`](crate::ClientOptions::trace)): decodes the
//! bytes each way and hands every packet to the hook. Used by both clients.

use mqtt_proto::Decoder;

use crate::options::{Direction, TraceFn};

/// Decodes the bytes of one connection for the trace hook. A decode error stops tracing the
/// input of this connection (the session reports the violation).
pub(crate) struct Tracer {
    f: TraceFn,
    /// Received bytes of a packet not yet whole.
    input: Vec<u8>,
    broken: bool,
}

impl Tracer {
    pub(crate) fn new(f: TraceFn) -> Self {
        Tracer {
            f,
            input: Vec::new(),
            broken: false,
        }
    }

    /// Bytes received (decrypted, unframed), in order.
    pub(crate) fn received(&mut self, data: &[u8]) {
        if self.broken {
            return;
        }
        self.input.extend_from_slice(data);
        let decoder = Decoder::new();
        let mut off = 0;
        loop {
            let rest = self.input.get(off..).unwrap_or_default();
            match decoder.decode(rest) {
                Ok(Some((packet, n))) if n > 0 => {
                    (self.f)(Direction::Received, &packet);
                    off += n;
                }
                Ok(_) => break,
                Err(_) => {
                    self.broken = true;
                    self.input.clear();
                    return;
                }
            }
        }
        self.input.drain(..off.min(self.input.len()));
    }

    /// Bytes about to be written: whole packets from the session.
    pub(crate) fn sent(&self, data: &[u8]) {
        let decoder = Decoder::new();
        let mut off = 0;
        while let Some(rest) = data.get(off..) {
            match decoder.decode(rest) {
                Ok(Some((packet, n))) if n > 0 => {
                    (self.f)(Direction::Sent, &packet);
                    off += n;
                }
                _ => break,
            }
        }
    }

    /// A new connection: forget the last one's partial input.
    pub(crate) fn reset(&mut self) {
        self.input.clear();
        self.broken = false;
    }
}
