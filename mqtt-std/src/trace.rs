//! The packet trace hooks ([`ClientOptions::trace`](crate::ClientOptions::trace) and
//! [`trace_v5`](crate::ClientOptions::trace_v5)): decode the bytes each way and hand every
//! packet to the hook of the connection's protocol version. Used by both clients.

use mqtt_proto::Decoder;
use mqtt_session::ProtocolVersion;

use crate::options::{ClientOptions, Direction, TraceFn, TraceV5Fn};

/// Decodes the bytes of one connection for the trace hooks. A decode error stops tracing the
/// input of this connection (the session reports the violation).
pub(crate) struct Tracer {
    f: Option<TraceFn>,
    f5: Option<TraceV5Fn>,
    /// The protocol of the current connection.
    version: ProtocolVersion,
    /// Received bytes of a packet not yet whole.
    input: Vec<u8>,
    broken: bool,
}

impl Tracer {
    /// A tracer when the options have a hook.
    pub(crate) fn of(options: &ClientOptions) -> Option<Self> {
        if options.trace.is_none() && options.trace_v5.is_none() {
            return None;
        }
        Some(Tracer {
            f: options.trace.clone(),
            f5: options.trace_v5.clone(),
            version: ProtocolVersion::V311,
            input: Vec::new(),
            broken: false,
        })
    }

    /// Decodes whole packets at the start of `data` and hands them to the hook; returns the
    /// bytes used, or `None` on a decode error.
    fn each(&self, dir: Direction, data: &[u8]) -> Option<usize> {
        let mut off = 0;
        loop {
            let rest = data.get(off..).unwrap_or_default();
            let n = match self.version {
                ProtocolVersion::V311 => match Decoder::new().decode(rest) {
                    Ok(Some((packet, n))) if n > 0 => {
                        if let Some(f) = &self.f {
                            f(dir, &packet);
                        }
                        n
                    }
                    Ok(_) => return Some(off),
                    Err(_) => return None,
                },
                ProtocolVersion::V5 => match mqtt_proto::v5::Decoder::new().decode(rest) {
                    Ok(Some((packet, n))) if n > 0 => {
                        if let Some(f) = &self.f5 {
                            f(dir, &packet);
                        }
                        n
                    }
                    Ok(_) => return Some(off),
                    Err(_) => return None,
                },
            };
            off += n;
        }
    }

    /// Bytes received (decrypted, unframed), in order.
    pub(crate) fn received(&mut self, data: &[u8]) {
        if self.broken {
            return;
        }
        self.input.extend_from_slice(data);
        match self.each(Direction::Received, &self.input) {
            Some(used) => {
                self.input.drain(..used.min(self.input.len()));
            }
            None => {
                self.broken = true;
                self.input.clear();
            }
        }
    }

    /// Bytes about to be written: whole packets from the session.
    pub(crate) fn sent(&self, data: &[u8]) {
        let _ = self.each(Direction::Sent, data);
    }

    /// A new connection with this protocol version: forget the last one's partial input.
    pub(crate) fn reset(&mut self, version: ProtocolVersion) {
        self.version = version;
        self.input.clear();
        self.broken = false;
    }
}
