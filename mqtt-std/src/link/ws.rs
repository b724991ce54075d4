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

use std::fmt;
use std::io::{self, Read, Write};

use tungstenite::handshake::HandshakeError;
use tungstenite::handshake::MidHandshake;
use tungstenite::handshake::client::{ClientHandshake, Request};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tungstenite::{ClientRequestBuilder, Message, WebSocket};

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

/// A broker given as a URL, as mosquitto_pub/sub take it:
/// `mqtt(s)://[USER[:PASSWORD]@]HOST[:PORT][/TOPIC]` or `ws(s)://[USER[:PASSWORD]@]HOST[:PORT][/PATH]`
/// (`tcp://` and `ssl://` are taken for `mqtt://` and `mqtts://`). Parsed with the `url` crate;
/// user, password and topic are percent-decoded, and a topic filter ending in `#` may be
/// written as it is (`mqtt://broker/sensors/#`).
///
/// ```
/// use mqtt_std::ws::BrokerUrl;
///
/// let u = BrokerUrl::parse("mqtts://meter:s%40fe@broker.example/meters/12").unwrap();
/// assert_eq!((u.host.as_str(), u.port, u.tls), ("broker.example", 8883, true));
/// assert_eq!(u.username.as_deref(), Some("meter"));
/// assert_eq!(u.password.as_deref(), Some("s@fe"));
/// assert_eq!(u.topic.as_deref(), Some("meters/12"));
/// let w = BrokerUrl::parse("wss://gw.example/mqtt").unwrap();
/// assert_eq!((w.port, w.websocket.unwrap().path()), (443, "/mqtt"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    /// Host name or address (without brackets).
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS (`mqtts`, `wss`).
    pub tls: bool,
    /// WebSocket settings (`ws`, `wss`): the path.
    pub websocket: Option<WsConfig>,
    /// The user name in the URL.
    pub username: Option<String>,
    /// The password in the URL (redacted in `Debug`).
    pub password: Option<String>,
    /// `mqtt(s)://`: the topic (or topic filter) in the path.
    pub topic: Option<String>,
}

impl std::fmt::Debug for BrokerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("websocket", &self.websocket)
            .field("username", &self.username)
            .field(
                "password",
                &self
                    .password
                    .as_ref()
                    .map(|p| format!("<{} bytes redacted>", p.len())),
            )
            .field("topic", &self.topic)
            .finish()
    }
}

impl BrokerUrl {
    /// Parses `url`; the error says what is wrong with it.
    pub fn parse(url: &str) -> Result<Self, WsError> {
        let bad = |why: &str| WsError::InvalidRequest(format!("{url:?}: {why}"));
        let u = url::Url::parse(url)
            .map_err(|e| bad(&format!("{e} (expected SCHEME://HOST[:PORT][/PATH])")))?;
        let (tls, ws, default_port) = match u.scheme() {
            "mqtt" | "tcp" => (false, false, 1883),
            "mqtts" | "ssl" => (true, false, 8883),
            "ws" => (false, true, 80),
            "wss" => (true, true, 443),
            _ => return Err(bad("the scheme must be mqtt, mqtts, ws or wss")),
        };
        let host = match u.host() {
            Some(url::Host::Ipv6(a)) => a.to_string(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Domain(d)) if !d.is_empty() => {
                decode(d).map_err(|()| bad("the host is not UTF-8"))?
            }
            _ => return Err(bad("no host")),
        };
        if host.contains(['[', ']']) {
            return Err(bad("bad brackets in the host"));
        }
        let port = match u.port() {
            None => default_port,
            Some(0) => return Err(bad("the port must be a number from 1 to 65535")),
            Some(p) => p,
        };
        let username = match u.username() {
            "" => None,
            name => Some(decode(name).map_err(|()| bad("the user name is not UTF-8"))?),
        };
        let password = u
            .password()
            .map(decode)
            .transpose()
            .map_err(|()| bad("the password is not UTF-8"))?;
        if password.is_some() && username.is_none() {
            return Err(bad("a password needs a user name (USER:PASSWORD@HOST)"));
        }
        let (websocket, topic) = if ws {
            let mut path = u.path().to_owned();
            if let Some(q) = u.query() {
                path.push('?');
                path.push_str(q);
            }
            let ws = if path.is_empty() || path == "/" {
                WsConfig::default()
            } else {
                WsConfig::new(&path)
            };
            (Some(ws), None)
        } else {
            if u.query().is_some() {
                return Err(bad("a query (?...) has no meaning in an mqtt:// URL"));
            }
            let mut topic = decode(u.path().strip_prefix('/').unwrap_or(u.path()))
                .map_err(|()| bad("the topic is not UTF-8"))?;
            // `#` starts a URL's fragment: `mqtt://h/a/#` is the filter `a/#`.
            match u.fragment() {
                None => {}
                Some("") => topic.push('#'),
                Some(_) => return Err(bad("a # in the topic must be its last character")),
            }
            (None, (!topic.is_empty()).then_some(topic))
        };
        Ok(BrokerUrl {
            host,
            port,
            tls,
            websocket,
            username,
            password,
            topic,
        })
    }
}

/// Percent-decodes a URL component.
fn decode(s: &str) -> Result<String, ()> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| ())
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
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn debug_redacts_credential_headers() {
        let ws = WsConfig::new("/mqtt")
            .header("Authorization", "Bearer s3cr3t-t0ken")
            .header("X-Api-Key", "k-123456")
            .header("Cookie", "session=abcdef")
            .header("X-Device", "thermostat-7");
        let d = format!("{ws:?}");
        for secret in ["s3cr3t-t0ken", "k-123456", "abcdef"] {
            assert!(!d.contains(secret), "{d}");
        }
        assert!(
            d.contains("thermostat-7") && d.contains("Authorization"),
            "{d}"
        );
        assert!(d.contains("<19 bytes redacted>"), "{d}");
    }

    #[test]
    fn urls() {
        let u = BrokerUrl::parse("ws://localhost:9001/mqtt").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.tls), ("localhost", 9001, false));
        assert_eq!(u.websocket.unwrap().path(), "/mqtt");
        let u = BrokerUrl::parse("wss://[::1]/x?y=1").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.tls), ("::1", 443, true));
        assert_eq!(u.websocket.unwrap().path(), "/x?y=1");
        let u = BrokerUrl::parse("mqtts://h").unwrap();
        assert_eq!((u.port, u.tls, u.websocket), (8883, true, None));
        let u = BrokerUrl::parse("ws://h").unwrap();
        assert_eq!((u.port, u.websocket.unwrap().path()), (80, "/mqtt"));
        for bad in [
            "localhost:1883",
            "http://h",
            "ws://:80/",
            "ws://h:0/",
            "ws://h:99999/",
            "ws://[::1/",
            "ws://[::1]x/",
            "mqtt://:pw@h/t",
            "mqtt://h/a#b",
            "mqtt://h/t?x=1",
        ] {
            assert!(BrokerUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_with_login_and_topic() {
        let u = BrokerUrl::parse("mqtt://alice:p%3Ass%40w0rd@10.0.0.5:1884/home/+/temp").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.tls), ("10.0.0.5", 1884, false));
        assert_eq!(u.username.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("p:ss@w0rd"));
        assert_eq!(u.topic.as_deref(), Some("home/+/temp"));
        assert!(!format!("{u:?}").contains("w0rd"));
        let u = BrokerUrl::parse("mqtt://h/sensors/#").unwrap();
        assert_eq!(u.topic.as_deref(), Some("sensors/#"));
        let u = BrokerUrl::parse("mqtt://h/#").unwrap();
        assert_eq!(u.topic.as_deref(), Some("#"));
        let u = BrokerUrl::parse("mqtt://bob@h").unwrap();
        assert_eq!(
            (u.username.as_deref(), u.password, u.topic),
            (Some("bob"), None, None)
        );
        let u = BrokerUrl::parse("ws://u:p@h:8080/mqtt").unwrap();
        assert_eq!(
            (u.username.as_deref(), u.password.as_deref()),
            (Some("u"), Some("p"))
        );
        assert_eq!(u.websocket.unwrap().path(), "/mqtt");
        let u = BrokerUrl::parse("tcp://h/%C3%A9t%C3%A9").unwrap();
        assert_eq!(u.topic.as_deref(), Some("été"));
    }

    #[test]
    fn request_has_the_sub_protocol_headers_and_host() {
        let r = WsConfig::new("gw")
            .header("Authorization", "Bearer abc")
            .request("::1", 8080, true)
            .unwrap();
        assert_eq!(r.uri().to_string(), "wss://[::1]:8080/gw");
        let h = r.headers();
        assert_eq!(h.get("Sec-WebSocket-Protocol").unwrap(), "mqtt");
        assert_eq!(h.get("Authorization").unwrap(), "Bearer abc");
        let r = WsConfig::new("/m")
            .host("front.example")
            .request("10.0.0.1", 80, false)
            .unwrap();
        assert_eq!(r.headers().get("Host").unwrap(), "front.example");
        assert!(
            WsConfig::new("/m")
                .header("Bad Name", "x")
                .request("h", 1, false)
                .is_err()
        );
    }

    #[test]
    fn text_frame_reason_names_the_rule() {
        assert_eq!(WsError::NonBinaryFrame.rule(), Some("MQTT-6.0.0-1"));
        assert!(
            WsError::NonBinaryFrame
                .to_string()
                .contains("[MQTT-6.0.0-1]")
        );
    }
}
