//! Errors and disconnect reasons.

use std::fmt;
use std::io;
use std::sync::Arc;

use mqtt_proto::{ConnectReturnCode, DecodeError};
use mqtt_session::{CommandError, Violation};

use crate::tls::TlsError;
use crate::ws::WsError;

/// Why a connection ended. Given to the disconnect notification
/// ([`Client::set_disconnect_notify`](crate::Client::set_disconnect_notify)) and carried by
/// [`Error::ConnectionLost`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// [`Client::disconnect`](crate::Client::disconnect): DISCONNECT was sent and the link
    /// closed.
    Local,
    /// [`Client::drop_connection`](crate::Client::drop_connection): the link was closed
    /// without DISCONNECT (the broker publishes the will).
    Dropped,
    /// The client was closed ([`Client::close`](crate::Client::close) or the last handle
    /// dropped).
    ClientClosed,
    /// The broker (or the network) closed the connection.
    TransportClosed,
    /// No PINGRESP in time after a PINGREQ.
    KeepAliveTimeout,
    /// No CONNACK in time.
    ConnAckTimeout,
    /// The broker refused the connection (CONNACK return code).
    Refused(ConnectReturnCode),
    /// An incoming packet was larger than the receive buffer
    /// ([`ClientOptions::max_packet_size`](crate::ClientOptions::max_packet_size)).
    IncomingPacketTooLarge,
    /// The session store had no room to record an incoming QoS 2 packet id.
    StoreFull,
    /// The broker broke the protocol; the connection was closed [MQTT-4.8.0-1].
    ProtocolViolation(Violation),
    /// TLS failed on an established connection (bad record, alert, ...).
    Tls(TlsError),
    /// MQTT over WebSocket: a frame the binding does not allow (a text frame
    /// [MQTT-6.0.0-1]), a WebSocket protocol error, or the broker's close frame.
    WebSocket(WsError),
    /// A socket error.
    Io(io::ErrorKind),
    /// The durable session store could not write or sync what the client was about to act
    /// on, so nothing was sent. The store rewrites its log at the next attempt (the next
    /// connect, publish or [`Client::sync_session_store`](crate::Client::sync_session_store))
    /// and works again once the disk does.
    Store(crate::store::StoreError),
    /// MQTT 5.0: the broker sent DISCONNECT with this reason code (section 3.14.2.1), and
    /// perhaps a Reason String and a Server Reference (another server to use, with codes
    /// 0x9C "use another server" and 0x9D "server moved").
    Server {
        /// The reason code.
        code: mqtt_proto::v5::DisconnectReasonCode,
        /// Its Reason String, if any.
        reason_string: Option<String>,
        /// Its Server Reference, if any.
        server_reference: Option<String>,
    },
    /// MQTT 5.0: the broker refused the connection (CONNACK reason code 0x80 or more).
    RefusedV5 {
        /// The reason code.
        code: mqtt_proto::v5::ConnectReasonCode,
        /// The CONNACK's Reason String, if any.
        reason_string: Option<String>,
        /// The CONNACK's Server Reference, if any.
        server_reference: Option<String>,
    },
    /// A reason the session reports that this version does not name.
    Other(mqtt_session::DisconnectReason),
}

impl DisconnectReason {
    pub(crate) fn from_session(r: mqtt_session::DisconnectReason) -> Self {
        use mqtt_session::DisconnectReason as R;
        match r {
            R::Local => Self::Local,
            R::TransportClosed => Self::TransportClosed,
            R::KeepAliveTimeout => Self::KeepAliveTimeout,
            R::ConnAckTimeout => Self::ConnAckTimeout,
            R::Refused(code) => Self::Refused(code),
            R::IncomingPacketTooLarge => Self::IncomingPacketTooLarge,
            R::StoreFull => Self::StoreFull,
            R::ProtocolViolation(v) => Self::ProtocolViolation(v),
            R::Server(code) => Self::Server {
                code,
                reason_string: None,
                server_reference: None,
            },
            R::RefusedV5(code) => Self::RefusedV5 {
                code,
                reason_string: None,
                server_reference: None,
            },
            other => Self::Other(other),
        }
    }

    /// The reason, with the Reason String and Server Reference of the 5.0 DISCONNECT or
    /// CONNACK that ended the connection.
    pub(crate) fn with_server_text(
        mut self,
        text: Option<(Option<String>, Option<String>)>,
    ) -> Self {
        if let (
            Some((reason, reference)),
            Self::Server {
                reason_string,
                server_reference,
                ..
            }
            | Self::RefusedV5 {
                reason_string,
                server_reference,
                ..
            },
        ) = (text, &mut self)
        {
            *reason_string = reason;
            *server_reference = reference;
        }
        self
    }

    /// Whether the application ended the connection itself (disconnect, drop, close).
    pub fn is_local(&self) -> bool {
        matches!(self, Self::Local | Self::Dropped | Self::ClientClosed)
    }

    /// The error of a connect whose connection ended with this reason before CONNACK accepted
    /// it; `refused` is the return code of a refusing CONNACK seen first, if any.
    pub(crate) fn connect_error(&self, refused: Option<ConnectReturnCode>) -> Error {
        match (refused, self) {
            (Some(code), _) | (None, &Self::Refused(code)) => Error::Refused(code),
            (
                None,
                Self::RefusedV5 {
                    code,
                    reason_string,
                    server_reference,
                },
            ) => Error::RefusedV5 {
                code: *code,
                reason_string: reason_string.clone(),
                server_reference: server_reference.clone(),
            },
            (None, r) => Error::ConnectionLost(r.clone()),
        }
    }
}

/// The CONNACK return code in words, as `mosquitto_pub` users know them.
pub(crate) fn refused_text(code: ConnectReturnCode) -> &'static str {
    match code {
        ConnectReturnCode::Accepted => "accepted",
        ConnectReturnCode::UnacceptableProtocolVersion => "unacceptable protocol version",
        ConnectReturnCode::IdentifierRejected => "identifier rejected",
        ConnectReturnCode::ServerUnavailable => "server unavailable",
        ConnectReturnCode::BadUsernameOrPassword => "bad user name or password",
        ConnectReturnCode::NotAuthorized => "not authorised",
    }
}

fn violation_text(f: &mut fmt::Formatter<'_>, v: &Violation) -> fmt::Result {
    match v {
        // The decode error names its rule itself.
        Violation::Malformed(e) => write!(f, "protocol violation by the broker: {e}"),
        other => write!(
            f,
            "protocol violation by the broker: {other} [{}]",
            other.rule()
        ),
    }
}

fn server_text(
    f: &mut fmt::Formatter<'_>,
    reason: &Option<String>,
    reference: &Option<String>,
) -> fmt::Result {
    if let Some(r) = reason {
        write!(f, ": {r}")?;
    }
    if let Some(r) = reference {
        write!(f, " (server reference: {r})")?;
    }
    Ok(())
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local => f.write_str("disconnected by the client"),
            Self::Dropped => f.write_str("connection dropped by the client without DISCONNECT"),
            Self::ClientClosed => f.write_str("client closed"),
            Self::TransportClosed => f.write_str("connection closed by the broker"),
            Self::KeepAliveTimeout => f.write_str("keep-alive timeout: no PINGRESP"),
            Self::ConnAckTimeout => f.write_str("no CONNACK in time"),
            Self::Refused(code) => write!(
                f,
                "connection refused: {} ({})",
                refused_text(*code),
                code.as_u8()
            ),
            Self::IncomingPacketTooLarge => {
                f.write_str("incoming packet larger than the receive buffer")
            }
            Self::StoreFull => {
                f.write_str("no room in the session store for an incoming QoS 2 packet id")
            }
            Self::ProtocolViolation(v) => violation_text(f, v),
            Self::Tls(e) => write!(f, "tls: {e}"),
            Self::WebSocket(e) => write!(f, "{e}"),
            Self::Io(kind) => write!(f, "socket error: {kind}"),
            Self::Store(e) => write!(f, "{e}"),
            Self::Server {
                code,
                reason_string,
                server_reference,
            } => {
                write!(f, "disconnected by the broker: {code}")?;
                server_text(f, reason_string, server_reference)
            }
            Self::RefusedV5 {
                code,
                reason_string,
                server_reference,
            } => {
                write!(f, "connection refused: {code}")?;
                server_text(f, reason_string, server_reference)
            }
            Self::Other(r) => write!(f, "{r}"),
        }
    }
}

/// Everything that can go wrong in a [`Client`](crate::Client) call.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// The command needs a connection and there is none (or it is still being made).
    NotConnected,
    /// `connect` while a connection exists or is being made.
    AlreadyConnected,
    /// The in-flight window (and queue) of QoS 1/2 publishes is full: wait for a completion
    /// ([`Pending::wait`](crate::Pending::wait)) and publish again.
    WindowFull,
    /// A topic name or filter, client id, or other argument breaks a rule of the protocol.
    Invalid(DecodeError),
    /// Another refusal by the session (see [`CommandError`]).
    Command(CommandError),
    /// The host name could not be resolved.
    Resolve {
        /// `host:port` as given.
        addr: String,
        /// Why.
        source: Arc<io::Error>,
    },
    /// The TCP connection could not be made.
    Connect {
        /// `host:port` as given.
        addr: String,
        /// Why.
        source: Arc<io::Error>,
    },
    /// A TLS failure: the handshake (unknown CA, name mismatch, expired certificate, ...) or
    /// the configuration.
    Tls(TlsError),
    /// The WebSocket handshake failed (HTTP status, no `mqtt` sub-protocol [MQTT-6.0.0-3],
    /// a bad request).
    WebSocket(WsError),
    /// The broker refused the connection (CONNACK return code 1-5).
    Refused(ConnectReturnCode),
    /// MQTT 5.0: the broker refused the connection (CONNACK reason code 0x80 or more).
    RefusedV5 {
        /// The reason code.
        code: mqtt_proto::v5::ConnectReasonCode,
        /// The CONNACK's Reason String, if any.
        reason_string: Option<String>,
        /// The CONNACK's Server Reference (another server to use), if any.
        server_reference: Option<String>,
    },
    /// MQTT 5.0: the broker refused the subscription a request needed for its response topic
    /// ([`Client::request`](crate::Client::request)).
    SubscribeRefused(mqtt_proto::v5::SubAckReasonCode),
    /// A 5.0 feature (publish properties, a subscription option other than the maximum
    /// QoS, a subscription identifier) on a 3.1.1 connection.
    RequiresV5,
    /// The connection ended before the operation completed.
    ConnectionLost(DisconnectReason),
    /// The connection ended before this QoS 1/2 publish completed, and no automatic reconnect
    /// follows (none configured, or it was cancelled). The message is kept in the session: the
    /// next connect sends it again (with clean session off, as a resend; with clean session
    /// on, as a new message), but this wait is over and its completion is not reported.
    PublishInterrupted(DisconnectReason),
    /// A QoS 1/2 message was removed from the session because its session ended (clean session,
    /// or the broker had none) under
    /// [`SessionLostPolicy::Drop`](mqtt_session::SessionLostPolicy::Drop).
    PublishDropped,
    /// A QoS 2 message the broker accepted (its PUBREC arrived) whose session ended before the
    /// PUBCOMP. The broker owns its delivery; it is not published again, which could deliver it
    /// twice ([`SessionLostPolicy::Resend`](mqtt_session::SessionLostPolicy::Resend)).
    AcceptedSessionEnded,
    /// MQTT 5.0: the broker rejected the publish (PUBACK or PUBREC with this reason code,
    /// 0x80 or more); the message was not accepted and is not sent again.
    PublishRejected(mqtt_proto::v5::PubAckReasonCode),
    /// MQTT 5.0: the message's Message Expiry Interval passed before its PUBLISH was ever
    /// sent (see [`Event::PublishExpired`](mqtt_session::Event::PublishExpired)): it was not
    /// sent and is removed from the session.
    PublishExpired,
    /// The wait time ran out.
    Timeout,
    /// The client was closed.
    Closed,
    /// The operating system could not start the client's IO thread.
    ThreadSpawn(Arc<io::Error>),
    /// A feature this version does not support (the text names it).
    Unsupported(&'static str),
    /// The durable session store
    /// ([`ClientOptions::session_store`](crate::ClientOptions::session_store)) could not be
    /// opened, or could not record a publish (a write failed: the OS error's kind and text
    /// are in it). The store tries again at the next publish, so the client works again
    /// once the disk does.
    Store(crate::store::StoreError),
}

impl From<CommandError> for Error {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::NotConnected | CommandError::TransportDown => Error::NotConnected,
            CommandError::AlreadyConnected => Error::AlreadyConnected,
            CommandError::WindowFull => Error::WindowFull,
            CommandError::Invalid(d) => Error::Invalid(d),
            CommandError::RequiresV5 => Error::RequiresV5,
            other => Error::Command(other),
        }
    }
}

impl From<TlsError> for Error {
    fn from(e: TlsError) -> Self {
        Error::Tls(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotConnected => f.write_str("not connected"),
            Error::AlreadyConnected => f.write_str("already connected or connecting"),
            Error::WindowFull => f.write_str("in-flight window full"),
            Error::Invalid(e) => write!(f, "invalid argument: {e}"),
            Error::Command(e) => write!(f, "{e}"),
            Error::Resolve { addr, source } => write!(f, "cannot resolve {addr}: {source}"),
            Error::Connect { addr, source } => write!(f, "cannot connect to {addr}: {source}"),
            Error::Tls(e) => write!(f, "tls: {e}"),
            Error::WebSocket(e) => write!(f, "{e}"),
            Error::Refused(code) => write!(
                f,
                "connection refused: {} ({})",
                refused_text(*code),
                code.as_u8()
            ),
            Error::RefusedV5 {
                code,
                reason_string,
                server_reference,
            } => {
                write!(f, "connection refused: {code}")?;
                server_text(f, reason_string, server_reference)
            }
            Error::RequiresV5 => f.write_str("needs an MQTT 5.0 connection"),
            Error::SubscribeRefused(code) => {
                write!(f, "subscription refused by the broker: {code}")
            }
            Error::ConnectionLost(r) => write!(f, "{r}"),
            Error::PublishInterrupted(r) => write!(
                f,
                "{r} before the publish completed (the message is kept in the session for the \
                 next connect)"
            ),
            Error::PublishDropped => f.write_str("message dropped: its session ended"),
            Error::AcceptedSessionEnded => f.write_str(
                "QoS 2 message accepted by the broker (PUBREC), but the session ended before \
                 PUBCOMP; not published again",
            ),
            Error::PublishRejected(code) => {
                write!(f, "publish refused by the broker: {code}")
            }
            Error::PublishExpired => {
                f.write_str("message expired before it was sent (Message Expiry Interval)")
            }
            Error::Timeout => f.write_str("timed out"),
            Error::Closed => f.write_str("client closed"),
            Error::ThreadSpawn(e) => write!(f, "cannot start the IO thread: {e}"),
            Error::Unsupported(what) => write!(f, "not supported yet: {what}"),
            Error::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Invalid(e) => Some(e),
            Error::Command(e) => Some(e),
            Error::Resolve { source, .. } | Error::Connect { source, .. } => Some(&**source),
            Error::Tls(e) => Some(e),
            Error::WebSocket(e) => Some(e),
            Error::ThreadSpawn(e) => Some(&**e),
            Error::Store(e) => Some(e),
            _ => None,
        }
    }
}

/// Why [`Client::message_get`](crate::Client::message_get) returned no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageGetError {
    /// The receive queue is empty (not an error condition: poll again later, or use
    /// [`Client::set_receive_notify`](crate::Client::set_receive_notify)).
    NoMessage,
    /// The oldest message does not fit the buffers; it stays queued. The lengths are what it
    /// needs.
    BufferTooSmall {
        /// Bytes the topic needs.
        topic_len: usize,
        /// Bytes the payload needs.
        payload_len: usize,
    },
}

impl fmt::Display for MessageGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoMessage => f.write_str("no message queued"),
            Self::BufferTooSmall {
                topic_len,
                payload_len,
            } => write!(
                f,
                "buffers too small: the message needs {topic_len} bytes of topic and {payload_len} of payload"
            ),
        }
    }
}

impl std::error::Error for MessageGetError {}
