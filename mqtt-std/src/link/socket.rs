//! The byte pipe under the session: a TCP stream, optionally wrapped in rustls.
//!
//! The IO thread owns the [`Link`]; a reader thread per connection only moves raw bytes from
//! the socket into the IO thread's inbox (see `crate::blocking`). TLS records are decrypted and
//! encrypted here, on the IO thread, so rustls' single connection object is never shared.

use std::io::{self, Read as _, Write as _};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use crate::tls::{TlsConfig, TlsError};
use crate::ws::{WsError, WsLayer};

/// Why the link failed.
#[derive(Debug)]
pub(crate) enum LinkError {
    /// Socket error.
    Io(io::Error),
    /// TLS error (handshake or record layer).
    Tls(TlsError),
    /// WebSocket error (handshake, a frame MQTT does not allow, close).
    WebSocket(WsError),
}

impl From<io::Error> for LinkError {
    fn from(e: io::Error) -> Self {
        LinkError::Io(e)
    }
}

/// A connected socket, plain or TLS, optionally carrying MQTT in WebSocket frames.
pub(crate) struct Link {
    tcp: TcpStream,
    tls: Option<Box<rustls::ClientConnection>>,
    ws: Option<WsLayer>,
    /// [`Link::finish`] sent the close frame and close_notify and shut the write side.
    finished: bool,
    /// The bound of one whole [`Link::write`] (all its `send` calls together), if any.
    write_timeout: Option<Duration>,
    /// The socket's write timeout as last set by the writes here.
    socket_write_timeout: Option<Duration>,
}

/// A write that would make progress within this much of the deadline does not lower the
/// socket timeout first (saves a system call per `send` on the fast path); the bound of a
/// whole write is its timeout plus at most this.
const DEADLINE_SLACK: Duration = Duration::from_millis(50);

/// The socket under a [`Link`], for one write bounded by `deadline` as a whole: each `send`
/// gets what is left of it as its timeout, so that a peer reading a trickle cannot stretch
/// the write to one timeout per `send`.
struct Bounded<'a> {
    tcp: &'a TcpStream,
    deadline: Option<Instant>,
    set: &'a mut Option<Duration>,
}

impl io::Write for Bounded<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(deadline) = self.deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "write timeout: the broker does not read fast enough",
                ));
            }
            if self.set.is_none_or(|set| left + DEADLINE_SLACK < set) {
                let t = left.max(Duration::from_millis(1));
                self.tcp.set_write_timeout(Some(t))?;
                *self.set = Some(t);
            }
        }
        match (&mut &*self.tcp).write(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "write timeout: the broker does not read fast enough",
            )),
            other => other,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// How long the close frame and close_notify of an immediate close may take to write.
const CLOSE_WRITE_TIMEOUT: Duration = Duration::from_millis(200);

impl Link {
    /// A plain TCP link.
    pub(crate) fn plain(tcp: TcpStream) -> Self {
        Link {
            tcp,
            tls: None,
            ws: None,
            finished: false,
            write_timeout: None,
            socket_write_timeout: None,
        }
    }

    /// A TLS link; the handshake starts when [`Link::flush`] sends the ClientHello.
    pub(crate) fn tls(tcp: TcpStream, config: &TlsConfig, host: &str) -> Result<Self, TlsError> {
        let name = config.server_name_for(host)?;
        let conn =
            rustls::ClientConnection::new(config.config.clone(), name).map_err(TlsError::from)?;
        Ok(Link {
            tcp,
            tls: Some(Box::new(conn)),
            ws: None,
            finished: false,
            write_timeout: None,
            socket_write_timeout: None,
        })
    }

    /// Bounds each [`Link::write`] as a whole by `timeout` (not each `send` it makes).
    pub(crate) fn bound_writes(&mut self, timeout: Duration) -> io::Result<()> {
        self.tcp.set_write_timeout(Some(timeout))?;
        self.write_timeout = Some(timeout);
        self.socket_write_timeout = Some(timeout);
        Ok(())
    }

    /// The deadline of a write starting now, resetting the socket's timeout if an earlier
    /// write lowered it.
    fn write_deadline(&mut self) -> Option<Instant> {
        let t = self.write_timeout?;
        if self.socket_write_timeout != Some(t) && self.tcp.set_write_timeout(Some(t)).is_ok() {
            self.socket_write_timeout = Some(t);
        }
        Instant::now().checked_add(t)
    }

    /// Carries MQTT in WebSocket frames over this link; the WebSocket handshake starts once
    /// TLS (if any) is up.
    pub(crate) fn websocket(mut self, layer: WsLayer) -> Self {
        self.ws = Some(layer);
        self
    }

    /// Plain TCP: no TLS and no WebSocket, the bytes read are the bytes of the session.
    pub(crate) fn is_plain(&self) -> bool {
        self.tls.is_none() && self.ws.is_none()
    }

    fn tls_handshaking(&self) -> bool {
        self.tls.as_ref().is_some_and(|c| c.is_handshaking())
    }

    /// True while a TLS or WebSocket handshake is still going on (never for plain TCP).
    pub(crate) fn handshaking(&self) -> bool {
        self.tls_handshaking() || self.ws.as_ref().is_some_and(WsLayer::handshaking)
    }

    /// Sends application bytes (in a WebSocket binary frame when over WebSocket, encrypted
    /// under TLS).
    ///
    /// The whole write is bounded by the timeout of [`Link::bound_writes`].
    pub(crate) fn write(&mut self, data: &[u8]) -> Result<(), LinkError> {
        let deadline = self.write_deadline();
        match &mut self.ws {
            None => self.write_raw(data, deadline),
            Some(ws) => {
                ws.send(data).map_err(LinkError::WebSocket)?;
                self.write_ws_output(deadline)
            }
        }
    }

    /// Starts the WebSocket handshake once TLS is up, and writes what the layer has queued.
    fn write_ws_output(&mut self, deadline: Option<Instant>) -> Result<(), LinkError> {
        if self.tls_handshaking() {
            return Ok(());
        }
        let Some(ws) = &mut self.ws else {
            return Ok(());
        };
        ws.start().map_err(LinkError::WebSocket)?;
        let out = ws.take_output();
        if out.is_empty() {
            return Ok(());
        }
        self.write_raw(&out, deadline)
    }

    /// Sends bytes below the WebSocket layer (encrypting them under TLS), all of them by
    /// `deadline` (`None`: the socket's own timeout per `send`).
    fn write_raw(&mut self, data: &[u8], deadline: Option<Instant>) -> Result<(), LinkError> {
        let mut sock = Bounded {
            tcp: &self.tcp,
            deadline,
            set: &mut self.socket_write_timeout,
        };
        match &mut self.tls {
            None => sock.write_all(data)?,
            Some(conn) => {
                // rustls buffers plaintext without limit once the handshake is done (the
                // buffer limit is only for early data); push records out as we go.
                for chunk in data.chunks(16 * 1024) {
                    conn.writer().write_all(chunk)?;
                    while conn.wants_write() {
                        conn.write_tls(&mut sock)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes whatever TLS has to send (handshake messages, alerts, key updates), and the
    /// WebSocket upgrade request once the transport under it is up.
    pub(crate) fn flush(&mut self) -> Result<(), LinkError> {
        if let Some(conn) = &mut self.tls {
            while conn.wants_write() {
                conn.write_tls(&mut self.tcp)?;
            }
        }
        let deadline = self.write_deadline();
        self.write_ws_output(deadline)
    }

    /// Takes raw bytes read from the socket and appends the application bytes they carry to
    /// `out` (for plain TCP: all of them; over WebSocket: the payloads of binary frames).
    pub(crate) fn received(&mut self, raw: &[u8], out: &mut Vec<u8>) -> Result<(), LinkError> {
        if self.ws.is_none() {
            return self.received_raw(raw, out);
        }
        let mut frames = Vec::new();
        self.received_raw(raw, &mut frames)?;
        if let Some(ws) = &mut self.ws {
            if !frames.is_empty() {
                let r = ws.received(&frames, out);
                // Answers (pong, close) go out even when the layer failed.
                let deadline = self.write_deadline();
                let flushed = self.write_ws_output(deadline);
                r.map_err(LinkError::WebSocket)?;
                return flushed;
            }
        }
        // TLS may just have finished its handshake: send the upgrade request.
        let deadline = self.write_deadline();
        self.write_ws_output(deadline)
    }

    /// Decrypts (TLS) raw socket bytes into `out`.
    fn received_raw(&mut self, mut raw: &[u8], out: &mut Vec<u8>) -> Result<(), LinkError> {
        let Some(conn) = &mut self.tls else {
            out.extend_from_slice(raw);
            return Ok(());
        };
        while !raw.is_empty() {
            let n = conn.read_tls(&mut raw)?;
            if n == 0 {
                break;
            }
            let state = conn
                .process_new_packets()
                .map_err(|e| LinkError::Tls(TlsError::from(e)))?;
            let mut pending = state.plaintext_bytes_to_read();
            while pending > 0 {
                let start = out.len();
                out.resize(start + pending, 0);
                let got = match conn.reader().read(&mut out[start..]) {
                    Ok(got) => got,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
                    Err(e) => {
                        out.truncate(start);
                        return Err(LinkError::Io(e));
                    }
                };
                out.truncate(start + got);
                if got == 0 {
                    break;
                }
                pending -= got.min(pending);
            }
            // Answer what the peer expects (handshake flights, key updates) right away.
            while conn.wants_write() {
                conn.write_tls(&mut self.tcp)?;
            }
        }
        Ok(())
    }

    /// The graceful end after DISCONNECT went out: a WebSocket close frame and a TLS
    /// close_notify (when the link has them), then the write side of the socket is shut, and
    /// what the broker still sends (acknowledgements on their way, its own close) is read and
    /// discarded until it closes the connection or `linger` passes. [`Link::close`] then
    /// closes the socket. Closing at once would answer those bytes with a reset, and a broker
    /// that sees the reset before the DISCONNECT publishes the will.
    ///
    /// Bounded: the writes and the reads together take at most `linger` (the socket's own
    /// timeouts), whatever the broker does. A zero `linger` does nothing: [`Link::close`]
    /// closes at once.
    ///
    /// The reader thread of the connection may take some of the bytes (and the end of stream)
    /// first; they are discarded with the connection, and the end of stream is seen by every
    /// read after it. The read timeout set here is the socket's, so the reader's own `read`
    /// may end with a timeout too: that report is discarded with the connection as well.
    pub(crate) fn finish(&mut self, linger: Duration) {
        if linger.is_zero() || self.finished {
            return;
        }
        self.finished = true;
        let deadline = Instant::now().checked_add(linger);
        // What is left of the linger, at least 1 ms (a zero socket timeout is refused); `None`
        // once it has passed.
        let left = || match deadline {
            None => Some(linger),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                (!left.is_zero()).then(|| left.max(Duration::from_millis(1)))
            }
        };
        let Some(t) = left() else {
            return;
        };
        if self.tcp.set_write_timeout(Some(t)).is_err() {
            return;
        }
        self.socket_write_timeout = Some(t);
        self.send_close();
        if self.tcp.shutdown(Shutdown::Write).is_err() {
            return;
        }
        let mut buf = [0u8; 4096];
        while let Some(t) = left() {
            if self.tcp.set_read_timeout(Some(t)).is_err() {
                return;
            }
            match self.tcp.read(&mut buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // A timeout (the linger passed) or a reset: nothing more will come.
                Err(_) => return,
            }
        }
    }

    /// Writes the WebSocket close frame and the TLS close_notify, within the socket's write
    /// timeout. Errors do not matter any more.
    fn send_close(&mut self) {
        if let Some(ws) = &mut self.ws {
            ws.close();
            let out = ws.take_output();
            if !out.is_empty() {
                let _ = self.write_raw(&out, None);
            }
        }
        if let Some(conn) = &mut self.tls {
            conn.send_close_notify();
            while conn.wants_write() {
                if conn.write_tls(&mut self.tcp).is_err() {
                    break;
                }
            }
        }
    }

    /// Closes the link: a TLS close_notify when possible (unless [`Link::finish`] sent it),
    /// then a TCP shutdown (which also ends the reader thread blocked in `read`).
    pub(crate) fn close(&mut self) {
        if !self.finished {
            let _ = self.tcp.set_write_timeout(Some(CLOSE_WRITE_TIMEOUT));
            self.socket_write_timeout = Some(CLOSE_WRITE_TIMEOUT);
            self.send_close();
        }
        let _ = self.tcp.shutdown(Shutdown::Both);
    }
}
