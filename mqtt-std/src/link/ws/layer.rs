//! The sans-IO WebSocket framing layer of the blocking client: tungstenite over in-memory
//! buffers, between the link (TLS or TCP) and the session.

use std::fmt;
use std::io::{self, Read, Write};

use tungstenite::handshake::HandshakeError;
use tungstenite::handshake::MidHandshake;
use tungstenite::handshake::client::{ClientHandshake, Request};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

use super::{WsError, mqtt_bytes, non_binary_close};

/// An in-memory stream: tungstenite reads what the link received and writes what the link
/// must send. An empty input is `WouldBlock`, which tungstenite treats as "call me later".
#[derive(Debug, Default)]
struct Mem {
    input: Vec<u8>,
    pos: usize,
    output: Vec<u8>,
}

impl Read for Mem {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.input.get(self.pos..).unwrap_or_default();
        if avail.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = avail.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), avail.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos += n;
        if self.pos >= self.input.len() {
            self.input.clear();
            self.pos = 0;
        }
        Ok(n)
    }
}

impl Write for Mem {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum State {
    /// The link under it (TLS) is not up yet.
    NotStarted(Box<Request>),
    Handshaking(Box<MidHandshake<ClientHandshake<Mem>>>),
    Open(Box<WebSocket<Mem>>),
    /// Failed or closed: nothing more goes in or out.
    Done,
}

/// The WebSocket framing layer of one connection (client side).
pub(crate) struct WsLayer {
    state: State,
    config: WebSocketConfig,
    /// Bytes for the link produced while the state was changing hands.
    pending_out: Vec<u8>,
}

impl fmt::Debug for WsLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::NotStarted(_) => "not started",
            State::Handshaking(_) => "handshaking",
            State::Open(_) => "open",
            State::Done => "done",
        };
        f.debug_struct("WsLayer").field("state", &state).finish()
    }
}

impl WsLayer {
    /// A layer that will send `request` once [`WsLayer::start`] is called.
    pub(crate) fn new(request: Request, config: WebSocketConfig) -> Self {
        WsLayer {
            state: State::NotStarted(Box::new(request)),
            config,
            pending_out: Vec::new(),
        }
    }

    /// True until the handshake has completed.
    pub(crate) fn handshaking(&self) -> bool {
        matches!(self.state, State::NotStarted(_) | State::Handshaking(_))
    }

    /// Starts the handshake (queues the upgrade request) if it has not started yet.
    pub(crate) fn start(&mut self) -> Result<(), WsError> {
        let State::NotStarted(_) = &self.state else {
            return Ok(());
        };
        let State::NotStarted(request) = std::mem::replace(&mut self.state, State::Done) else {
            return Ok(());
        };
        let mid = ClientHandshake::start(Mem::default(), *request, Some(self.config))
            .map_err(WsError::from_tungstenite)?;
        self.advance(mid)
    }

    /// Runs the handshake as far as the input allows.
    fn advance(&mut self, mid: MidHandshake<ClientHandshake<Mem>>) -> Result<(), WsError> {
        match mid.handshake() {
            Ok((ws, _response)) => {
                self.state = State::Open(Box::new(ws));
                Ok(())
            }
            Err(HandshakeError::Interrupted(mut mid)) => {
                let out = &mut mid.get_mut().get_mut().output;
                self.pending_out.append(out);
                self.state = State::Handshaking(Box::new(mid));
                Ok(())
            }
            Err(HandshakeError::Failure(e)) => {
                self.state = State::Done;
                Err(WsError::from_tungstenite(e))
            }
        }
    }

    /// Takes bytes received from the link and appends the MQTT bytes they carry to `out`.
    /// Control frames are answered (pong, close) through [`WsLayer::take_output`].
    pub(crate) fn received(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), WsError> {
        match &mut self.state {
            State::NotStarted(_) | State::Done => Ok(()),
            State::Handshaking(mid) => {
                mid.get_mut().get_mut().input.extend_from_slice(data);
                let State::Handshaking(mid) = std::mem::replace(&mut self.state, State::Done)
                else {
                    return Ok(());
                };
                self.advance(*mid)?;
                // Frames that came with the handshake response.
                self.read_messages(out)
            }
            State::Open(ws) => {
                ws.get_mut().input.extend_from_slice(data);
                self.read_messages(out)
            }
        }
    }

    fn read_messages(&mut self, out: &mut Vec<u8>) -> Result<(), WsError> {
        let State::Open(ws) = &mut self.state else {
            return Ok(());
        };
        let result = loop {
            match ws.read() {
                Ok(m) => match mqtt_bytes(m) {
                    Ok(Some(b)) => out.extend_from_slice(&b),
                    Ok(None) => {}
                    Err(e) => {
                        if e == WsError::NonBinaryFrame {
                            // Close the connection, telling the broker why.
                            let _ = ws.close(Some(non_binary_close()));
                        }
                        let _ = ws.flush();
                        break Err(e);
                    }
                },
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    break Ok(());
                }
                Err(e) => break Err(WsError::from_tungstenite(e)),
            }
        };
        // Pongs and close replies are queued by tungstenite: push them out.
        let _ = ws.flush();
        self.pending_out.append(&mut ws.get_mut().output);
        if result.is_err() {
            self.state = State::Done;
        }
        result
    }

    /// Wraps `data` (whole MQTT packets, or any bytes) in one binary message.
    pub(crate) fn send(&mut self, data: &[u8]) -> Result<(), WsError> {
        let State::Open(ws) = &mut self.state else {
            return Err(WsError::Closed(None));
        };
        ws.write(Message::binary(data.to_vec()))
            .and_then(|()| ws.flush())
            .map_err(WsError::from_tungstenite)?;
        self.pending_out.append(&mut ws.get_mut().output);
        Ok(())
    }

    /// Queues a normal close frame (the link closes right after).
    pub(crate) fn close(&mut self) {
        if let State::Open(ws) = &mut self.state {
            let _ = ws.close(None);
            let _ = ws.flush();
            self.pending_out.append(&mut ws.get_mut().output);
        }
        self.state = State::Done;
    }

    /// Bytes to write to the link (handshake request, frames, pongs, close).
    pub(crate) fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.pending_out)
    }
}
