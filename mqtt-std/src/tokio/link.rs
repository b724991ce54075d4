//! The async byte pipe under the session: TCP, optionally `tokio-rustls`, optionally
//! `tokio-tungstenite` on top. It moves bytes and reports how the pipe ended; it knows nothing
//! about MQTT packets.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use ::tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use ::tokio::net::TcpStream;
use futures_util::{SinkExt, StreamExt as _};
use tokio_tungstenite::WebSocketStream;
use tungstenite::Message as WsMessage;

use crate::error::{DisconnectReason, Error};
use crate::tls::{TlsConfig, TlsError};
use crate::ws::{WsConfig, WsError};

/// Size of one socket read.
const READ_CHUNK: usize = 64 * 1024;

/// A byte stream: plain TCP or TLS.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// An open connection to the broker.
pub(crate) enum Link {
    /// MQTT bytes straight on the stream.
    Stream { io: Box<dyn Io> },
    /// MQTT bytes in binary WebSocket messages.
    Ws {
        ws: Box<WebSocketStream<Box<dyn Io>>>,
        /// A text message came: the close says why ([MQTT-6.0.0-1]).
        close: bool,
    },
    /// Closed by [`Link::finish`]: the socket is gone.
    Closed,
}

/// A TLS failure hidden in an I/O error (tokio-rustls reports rustls errors that way).
fn tls_error(e: &io::Error) -> Option<TlsError> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .map(|r| TlsError::from(r.clone()))
}

fn io_reason(e: &io::Error) -> DisconnectReason {
    match tls_error(e) {
        Some(t) => DisconnectReason::Tls(t),
        None if e.kind() == io::ErrorKind::UnexpectedEof => DisconnectReason::TransportClosed,
        None => DisconnectReason::Io(e.kind()),
    }
}

fn ws_reason(e: tungstenite::Error) -> DisconnectReason {
    match e {
        tungstenite::Error::Io(e) => io_reason(&e),
        other => DisconnectReason::WebSocket(WsError::from_tungstenite(other)),
    }
}

/// Resolves `host`, connects over TCP, then TLS and the WebSocket handshake when asked.
pub(crate) async fn open(
    host: &str,
    port: u16,
    tls: Option<&TlsConfig>,
    ws: Option<&WsConfig>,
    max_packet_size: usize,
) -> Result<Link, Error> {
    let addr = format!("{host}:{port}");
    let addrs: Vec<_> = ::tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| Error::Resolve {
            addr: addr.clone(),
            source: Arc::new(e),
        })?
        .collect();
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    let mut tcp = None;
    for a in addrs {
        match TcpStream::connect(a).await {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = e,
        }
    }
    let connect_err = |e: io::Error| Error::Connect {
        addr: addr.clone(),
        source: Arc::new(e),
    };
    let tcp = tcp.ok_or_else(|| connect_err(last))?;
    tcp.set_nodelay(true).map_err(connect_err)?;
    let io: Box<dyn Io> = match tls {
        None => Box::new(tcp),
        Some(cfg) => {
            let name = cfg.server_name_for(host)?;
            let connector = tokio_rustls::TlsConnector::from(cfg.config.clone());
            let stream = connector
                .connect(name, tcp)
                .await
                .map_err(|e| match tls_error(&e) {
                    Some(t) => Error::Tls(t),
                    None => connect_err(e),
                })?;
            Box::new(stream)
        }
    };
    let Some(ws) = ws else {
        return Ok(Link::Stream { io });
    };
    let request = ws
        .request(host, port, tls.is_some())
        .map_err(Error::WebSocket)?;
    let config = crate::ws::tungstenite_config(max_packet_size);
    let (stream, _response) =
        tokio_tungstenite::client_async_with_config(request, io, Some(config))
            .await
            .map_err(|e| match e {
                tungstenite::Error::Io(e) => match tls_error(&e) {
                    Some(t) => Error::Tls(t),
                    None => connect_err(e),
                },
                other => Error::WebSocket(WsError::from_tungstenite(other)),
            })?;
    Ok(Link::Ws {
        ws: Box::new(stream),
        close: false,
    })
}

impl Link {
    /// Waits for bytes and appends them to `buf`; `Err` says how the link ended. Cancel safe:
    /// nothing is lost when the future is dropped before it completes.
    pub(crate) async fn read(&mut self, buf: &mut Vec<u8>) -> Result<(), DisconnectReason> {
        match self {
            Link::Stream { io } => {
                // Straight into `buf`'s spare room (no scratch buffer and copy); `read_buf`
                // is cancel safe.
                buf.reserve(READ_CHUNK);
                match io.read_buf(buf).await {
                    Ok(0) => Err(DisconnectReason::TransportClosed),
                    Ok(_) => Ok(()),
                    Err(e) => Err(io_reason(&e)),
                }
            }
            Link::Ws { ws, close } => loop {
                match ws.next().await {
                    None => return Err(DisconnectReason::TransportClosed),
                    Some(Ok(m)) => match crate::ws::mqtt_bytes(m) {
                        Ok(Some(b)) => {
                            buf.extend_from_slice(&b);
                            return Ok(());
                        }
                        Ok(None) => {}
                        Err(e) => {
                            // After a text message, close telling the broker why.
                            *close = e == WsError::NonBinaryFrame;
                            return Err(DisconnectReason::WebSocket(e));
                        }
                    },
                    Some(Err(e)) => return Err(ws_reason(e)),
                }
            },
            Link::Closed => Err(DisconnectReason::TransportClosed),
        }
    }

    /// Writes `data` (in one binary message over WebSocket) and flushes.
    pub(crate) async fn write(&mut self, data: &[u8]) -> Result<(), DisconnectReason> {
        match self {
            Link::Stream { io, .. } => {
                io.write_all(data).await.map_err(|e| io_reason(&e))?;
                io.flush().await.map_err(|e| io_reason(&e))
            }
            Link::Ws { ws, .. } => ws
                .send(WsMessage::binary(data.to_vec()))
                .await
                .map_err(ws_reason),
            Link::Closed => Err(DisconnectReason::TransportClosed),
        }
    }

    /// The graceful end after DISCONNECT went out: a WebSocket close frame and a TLS
    /// close_notify (when the link has them), then the write side of the socket is shut, and
    /// what the broker still sends (acknowledgements on their way, its own close) is read and
    /// discarded until it closes the connection or `linger` passes; then the socket is closed.
    /// Closing at once would answer those bytes with a reset, and a broker that sees the reset
    /// before the DISCONNECT publishes the will.
    ///
    /// Bounded: the writes and the reads together take at most `linger`, whatever the broker
    /// does. A zero `linger` does nothing: [`Link::close`] closes at once.
    pub(crate) async fn finish(&mut self, linger: Duration) {
        if linger.is_zero() {
            return;
        }
        let _ = ::tokio::time::timeout(linger, self.half_close_and_drain()).await;
        // Dropping the stream closes the socket.
        *self = Link::Closed;
    }

    async fn half_close_and_drain(&mut self) {
        match self {
            Link::Stream { io } => {
                // tokio-rustls sends close_notify, then shuts the TCP write side.
                if io.shutdown().await.is_ok() {
                    drain(io).await;
                }
            }
            Link::Ws { ws, close } => {
                let frame = close.then(crate::ws::non_binary_close);
                if ws.send(WsMessage::Close(frame)).await.is_err() {
                    return;
                }
                if ws.get_mut().shutdown().await.is_err() {
                    return;
                }
                // The broker's close frame (and anything before it), then the end of stream.
                while let Some(Ok(_)) = ws.next().await {}
                drain(ws.get_mut()).await;
            }
            Link::Closed => {}
        }
    }

    /// Closes the link: a WebSocket close frame (with the reason after a text frame), TLS
    /// close_notify, TCP shutdown. Errors do not matter any more.
    pub(crate) async fn close(&mut self) {
        match self {
            Link::Closed => {}
            Link::Stream { io, .. } => {
                let _ = io.shutdown().await;
            }
            Link::Ws { ws, close } => {
                let frame = close.then(crate::ws::non_binary_close);
                // Sending the close frame through the Sink starts the closing handshake the
                // same way whichever inherent `close` tokio-tungstenite offers.
                let _ = ws.send(WsMessage::Close(frame)).await;
                let _ = SinkExt::close(&mut **ws).await;
                let _ = ws.get_mut().shutdown().await;
            }
        }
    }
}

/// Reads and discards until the end of stream (or an error).
async fn drain(io: &mut Box<dyn Io>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = io.read(&mut buf).await {
        if n == 0 {
            return;
        }
    }
}
