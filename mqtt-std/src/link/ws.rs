//! MQTT over WebSocket (`nxd_mqtt_client_websocket_set`): the options, the errors, and the
//! framing layer that sits between TLS (or TCP) and the session.
//!
//! MQTT bytes travel in binary WebSocket messages [MQTT-6.0.0-2]; a message may hold part of
//! a packet or several packets (the session's decoder is incremental, so both need nothing
//! special). A text (or any other non-binary data) message ends the connection
//! [MQTT-6.0.0-1]. The handshake asks for the sub-protocol `mqtt` and fails unless the server
//! agrees [MQTT-6.0.0-3].
//!
//! In the blocking client the layer is sans-IO in the same way as the session (tungstenite
//! over in-memory buffers: bytes from the link go in, bytes for the link come out), so the
//! client keeps its one IO thread and its reader thread unchanged. The async client
//! (`mqtt_std::tokio`, feature `tokio`) uses `tokio-tungstenite` with the same request
//! ([`WsConfig::request`]) and the same rules.

mod broker_url;
mod layer;

use std::fmt;

use tungstenite::handshake::client::Request;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tungstenite::{ClientRequestBuilder, Message};

pub use broker_url::BrokerUrl;
pub(crate) use layer::WsLayer;

/// The WebSocket sub-protocol name MQTT uses [MQTT-6.0.0-3].
pub const SUB_PROTOCOL: &str = "mqtt";

/// MQTT over WebSocket settings (`nxd_mqtt_client_websocket_set`): the URI path, the `Host`
/// header, and extra handshake headers (for example a bearer token). The sub-protocol is
/// always `mqtt` [MQTT-6.0.0-3]. Plain (`ws://`) or TLS (`wss://`) follows the connect call:
/// [`Client::connect`](crate::Client::connect) or
/// [`Client::secure_connect`](crate::Client::secure_connect).
///
/// ```
/// use mqtt_std::WsConfig;
///
/// let ws = WsConfig::new("/mqtt").header("Authorization", "Bearer eyJhbGciOi...");
/// assert_eq!(ws.path(), "/mqtt");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct WsConfig {
    path: String,
    host: Option<String>,
    headers: Vec<(String, String)>,
}

/// Headers that carry credentials: their values never appear in `Debug` output.
fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie"
    ) || ["token", "secret", "password", "key", "auth"]
        .iter()
        .any(|w| name.contains(w))
}

impl std::fmt::Debug for WsConfig {
    /// Shows the path, host and header names; the values of headers that carry credentials
    /// (`Authorization`, `Cookie`, names with "token", "key", ...) are redacted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        struct Headers<'a>(&'a [(String, String)]);
        impl std::fmt::Debug for Headers<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let mut list = f.debug_list();
                for (name, value) in self.0 {
                    if is_secret_header(name) {
                        list.entry(&(name, format_args!("<{} bytes redacted>", value.len())));
                    } else {
                        list.entry(&(name, value));
                    }
                }
                list.finish()
            }
        }
        f.debug_struct("WsConfig")
            .field("path", &self.path)
            .field("host", &self.host)
            .field("headers", &Headers(&self.headers))
            .finish()
    }
}

impl Default for WsConfig {
    /// Path `/mqtt`, the most common endpoint.
    fn default() -> Self {
        WsConfig::new("/mqtt")
    }
}

impl WsConfig {
    /// WebSocket at `path` (a leading `/` is added when missing).
    pub fn new(path: &str) -> Self {
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        WsConfig {
            path,
            host: None,
            headers: Vec::new(),
        }
    }

    /// The `Host` header to send instead of the connect call's `host[:port]` (NetX Duo's
    /// `host` argument; useful behind a gateway that routes by name).
    pub fn host(mut self, host: &str) -> Self {
        self.host = Some(host.to_owned());
        self
    }

    /// An extra header of the handshake request (for example `Authorization`).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The URI path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The extra headers.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The handshake request for `host:port` (`wss` when `secure`): URI, `Host`, the `mqtt`
    /// sub-protocol and the extra headers. The async driver and the blocking client send the
    /// same request.
    pub fn request(&self, host: &str, port: u16, secure: bool) -> Result<Request, WsError> {
        let scheme = if secure { "wss" } else { "ws" };
        let authority = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let uri: tungstenite::http::Uri = format!("{scheme}://{authority}{}", self.path)
            .parse()
            .map_err(|e| WsError::InvalidRequest(format!("{e}")))?;
        let mut builder = ClientRequestBuilder::new(uri).with_sub_protocol(SUB_PROTOCOL);
        for (k, v) in &self.headers {
            builder = builder.with_header(k.as_str(), v.as_str());
        }
        let mut request = tungstenite::client::IntoClientRequest::into_client_request(builder)
            .map_err(|e| WsError::InvalidRequest(e.to_string()))?;
        if let Some(h) = &self.host {
            let value = tungstenite::http::HeaderValue::from_str(h)
                .map_err(|e| WsError::InvalidRequest(format!("host header: {e}")))?;
            request
                .headers_mut()
                .insert(tungstenite::http::header::HOST, value);
        }
        Ok(request)
    }
}

/// A WebSocket failure: the handshake, or a frame the MQTT binding does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WsError {
    /// The broker sent a text (or other non-binary) data message [MQTT-6.0.0-1].
    NonBinaryFrame,
    /// The server answered the upgrade request with this HTTP status instead of 101.
    HandshakeStatus(u16),
    /// The server did not select the `mqtt` sub-protocol [MQTT-6.0.0-3].
    SubProtocol,
    /// The server closed the WebSocket (close code, if it sent one).
    Closed(Option<u16>),
    /// The handshake request could not be built (bad path, header or host).
    InvalidRequest(String),
    /// Any other WebSocket protocol error (bad frame, bad handshake response, size limit).
    Protocol(String),
}

impl WsError {
    /// The MQTT rule the peer broke, when there is one.
    pub fn rule(&self) -> Option<&'static str> {
        match self {
            WsError::NonBinaryFrame => Some("MQTT-6.0.0-1"),
            WsError::SubProtocol => Some("MQTT-6.0.0-3"),
            _ => None,
        }
    }

    pub(crate) fn from_tungstenite(e: tungstenite::Error) -> Self {
        use tungstenite::error::ProtocolError;
        match e {
            tungstenite::Error::Http(response) => {
                WsError::HandshakeStatus(response.status().as_u16())
            }
            tungstenite::Error::Protocol(ProtocolError::SecWebSocketSubProtocolError(_)) => {
                WsError::SubProtocol
            }
            tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
                WsError::Closed(None)
            }
            tungstenite::Error::Url(u) => WsError::InvalidRequest(u.to_string()),
            tungstenite::Error::HttpFormat(h) => WsError::InvalidRequest(h.to_string()),
            other => WsError::Protocol(other.to_string()),
        }
    }
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WsError::NonBinaryFrame => f.write_str(
                "protocol violation by the broker: non-binary WebSocket data frame [MQTT-6.0.0-1]",
            ),
            WsError::HandshakeStatus(code) => {
                write!(f, "websocket handshake refused: HTTP status {code}")
            }
            WsError::SubProtocol => f.write_str(
                "websocket handshake: the server did not select the sub-protocol \"mqtt\" [MQTT-6.0.0-3]",
            ),
            WsError::Closed(Some(code)) => {
                write!(f, "websocket closed by the broker (close code {code})")
            }
            WsError::Closed(None) => f.write_str("websocket closed by the broker"),
            WsError::InvalidRequest(e) => write!(f, "websocket request: {e}"),
            WsError::Protocol(e) => write!(f, "websocket: {e}"),
        }
    }
}

impl std::error::Error for WsError {}

/// Receive-side limits of the WebSocket layer: a message or frame larger than this ends the
/// connection (the MQTT receive buffer bounds each packet separately).
pub(crate) fn tungstenite_config(max_packet_size: usize) -> WebSocketConfig {
    // A message may hold several packets: allow a few, with a floor for small buffers.
    let limit = max_packet_size.saturating_mul(4).max(1 << 20);
    WebSocketConfig::default()
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit))
}

/// The MQTT bytes a received WebSocket message carries (both clients): a binary message's
/// payload; nothing for a ping, pong or raw frame (tungstenite answers pings itself); the end
/// of the link for a close, and for a text message [MQTT-6.0.0-1] (then close with
/// [`non_binary_close`]).
pub(crate) fn mqtt_bytes(m: Message) -> Result<Option<tungstenite::Bytes>, WsError> {
    match m {
        Message::Binary(b) => Ok(Some(b)),
        Message::Text(_) => Err(WsError::NonBinaryFrame),
        Message::Close(frame) => Err(WsError::Closed(frame.map(|f| u16::from(f.code)))),
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Ok(None),
    }
}

/// The close frame that answers a text message [MQTT-6.0.0-1].
pub(crate) fn non_binary_close() -> CloseFrame {
    CloseFrame {
        code: CloseCode::Unsupported,
        reason: "MQTT-6.0.0-1: binary frames only".into(),
    }
}

#[cfg(test)]
mod tests;
