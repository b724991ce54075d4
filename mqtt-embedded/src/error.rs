//! [`Error`]: what a client call can fail with, generic over the transport's error.

use core::fmt;

use mqtt_session::{CommandError, ConnectReturnCode, DisconnectReason};

/// Why a client call failed. `E` is the transport's error type.
///
/// A transport error, a zero-length write or an output buffer too small for the next packet
/// ends the connection: the session is told the transport closed, and the next
/// `poll` returns [`Event::Disconnected`](crate::Event::Disconnected) (after any events still
/// queued before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error<E> {
    /// The transport failed to read, write or flush.
    Transport(E),
    /// The transport accepted zero bytes of a non-empty write.
    WriteZero,
    /// The output buffer ([`Buffers::out`](crate::Buffers)) cannot hold the next packet.
    BufferTooSmall {
        /// Bytes the packet needs.
        required: usize,
    },
    /// The session refused a command (local misuse or full resources); nothing changed.
    Command(CommandError),
    /// There is no connection: it never was made, or it ended and every event of it was
    /// polled. Call `connect` again.
    NotConnected,
    /// `connect`: events of the previous connection have not been polled yet. Call `poll`
    /// until it returns [`Error::NotConnected`], then connect.
    EventsPending,
    /// `connect`: an MQTT 3.1.1 CONNACK refused the connection with this return code. A 5.0
    /// refusal is [`Error::ConnectFailed`] with `DisconnectReason::RefusedV5`.
    Refused(ConnectReturnCode),
    /// `connect`: the connection ended without being accepted: CONNACK timeout, transport
    /// closed, protocol violation, or (feature `v5`) a 5.0 CONNACK that refused it, as
    /// `DisconnectReason::RefusedV5(code)` with the 5.0 reason code (0x80 or more: 0x86 Bad
    /// User Name or Password, 0x87 Not authorized, 0x9C Use another server, ...).
    ConnectFailed(DisconnectReason),
    /// `connect` (feature `v5`): the broker continued an enhanced authentication (AUTH 0x18
    /// Continue authentication), which `connect` cannot answer; the connection is closed. To
    /// authenticate so, start the connection with `start_connect` and answer the
    /// `Event::AuthContinue` that `poll` hands out with `auth_continue`.
    AuthExchange,
}

impl<E> From<CommandError> for Error<E> {
    fn from(e: CommandError) -> Self {
        Error::Command(e)
    }
}

impl<E: fmt::Debug> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Transport(e) => write!(f, "transport error: {e:?}"),
            Error::WriteZero => f.write_str("transport wrote zero bytes"),
            Error::BufferTooSmall { required } => {
                write!(f, "output buffer too small: {required} bytes needed")
            }
            Error::Command(e) => write!(f, "command refused: {e}"),
            Error::NotConnected => f.write_str("not connected"),
            Error::EventsPending => f.write_str("events of the previous connection not polled"),
            Error::Refused(code) => write!(f, "connection refused: {code:?}"),
            Error::ConnectFailed(reason) => write!(f, "connection failed: {reason}"),
            Error::AuthExchange => {
                f.write_str("enhanced authentication needs an answer: use start_connect and poll")
            }
        }
    }
}

impl<E: fmt::Debug> core::error::Error for Error<E> {}
