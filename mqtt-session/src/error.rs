//! Errors returned to the caller: local misuse or full resources. A broker's misbehaviour is never
//! an `Err`; it ends the connection with [`DisconnectReason`](crate::DisconnectReason).

use core::fmt;
use mqtt_proto::DecodeError;

/// Why a command was refused. The session is unchanged when a command returns `Err`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CommandError {
    /// The transport is not up: call [`Session::handle_transport_up`](crate::Session::handle_transport_up) first.
    TransportDown,
    /// `connect` was called while a connection is already being made or is established.
    AlreadyConnected,
    /// The command needs an accepted connection (CONNACK with return code 0 received, no
    /// DISCONNECT queued).
    NotConnected,
    /// The in-flight window is full and no queue is configured (or the queue is full).
    /// Wait for [`Event::PublishAcknowledged`](crate::Event) / `PublishCompleted`.
    WindowFull,
    /// The store has no room for the message (its own capacity, below the configured window).
    StoreFull,
    /// The store's backend failed to record the message (a durable store's I/O error).
    StoreFailed,
    /// Too many SUBSCRIBE/UNSUBSCRIBE requests await their acknowledgement
    /// (at most [`Session::MAX_PENDING_REQUESTS`](crate::Session::MAX_PENDING_REQUESTS)).
    TooManyPendingRequests,
    /// The transmit buffer has no room for this packet right now: drain
    /// [`Session::poll_transmit`](crate::Session::poll_transmit) and try again.
    TransmitBufferFull {
        /// Bytes the packet needs in the transmit buffer.
        required: usize,
    },
    /// The packet can never fit the transmit buffer (or breaks the format's size limits).
    PacketTooLarge {
        /// Bytes the packet would need.
        required: usize,
    },
    /// A topic name, topic filter or string breaks a rule; the inner error names it.
    Invalid(DecodeError),
    /// SUBSCRIBE / UNSUBSCRIBE with no filter [MQTT-3.8.3-3, MQTT-3.10.3-2].
    NoFilters,
    /// `connect` while the events of earlier connections fill the event queue: drain
    /// [`Session::poll_event`](crate::Session::poll_event) first.
    EventsPending,
    /// A zero-length client id with clean session off [MQTT-3.1.3-7].
    EmptyClientIdWithoutCleanSession,
    /// 5.0 only: PUBLISH properties or
    /// `Session::disconnect_with` on a 3.1.1 connection.
    RequiresV5,
    /// 5.0: the broker's Maximum QoS is below the QoS asked for [MQTT-3.2.2-11].
    QoSNotSupported {
        /// The broker's Maximum QoS.
        maximum: mqtt_proto::QoS,
    },
    /// 5.0: RETAIN set but the broker's Retain Available is 0 [MQTT-3.2.2-14].
    RetainNotSupported,
    /// 5.0: the packet exceeds the broker's Maximum Packet Size [MQTT-3.2.2-15].
    PacketTooLargeForServer {
        /// Bytes the packet needs.
        required: usize,
        /// The broker's Maximum Packet Size.
        maximum: u32,
    },
    /// 5.0: a non-zero Session Expiry Interval in DISCONNECT after a CONNECT whose was 0
    /// (a protocol error, section 3.14.2.2.2).
    SessionExpiryAfterZero,
    /// 5.0: a Topic Alias Maximum above 0 in CONNECT, but the session cannot hold incoming
    /// aliases (built without the `alloc` feature).
    TopicAliasesUnavailable,
    /// 5.0: a Maximum Packet Size in CONNECT above what the session accepts
    /// ([`Session::max_incoming_packet`](crate::Session::max_incoming_packet)).
    MaximumPacketSizeTooLarge {
        /// The largest value allowed.
        limit: usize,
    },
    /// 5.0: Will Properties without a will.
    WillPropertiesWithoutWill,
    /// 5.0: an authentication command (`Session::auth_continue`, `reauthenticate`,
    /// `abort_auth`) on a connection whose CONNECT had no Authentication Method: no AUTH may
    /// be sent then [MQTT-4.12.0-7].
    NoAuthMethod,
    /// 5.0: `Session::auth_continue` with no AUTH 0x18 of the broker's awaiting an answer.
    AuthNotAwaited,
    /// 5.0: `Session::reauthenticate` while an authentication exchange is under way.
    AuthInProgress,
    /// 5.0: Authentication Data in CONNECT without an Authentication Method (a Protocol Error,
    /// section 3.1.2.11.10).
    AuthDataWithoutMethod,
    /// 5.0: an Authentication Method in CONNECT longer than the session keeps.
    AuthMethodTooLong {
        /// The longest method kept, in bytes (`v5::MAX_AUTH_METHOD_LEN`).
        max: usize,
    },
    /// 5.0: a property the client may not send here (a Subscription Identifier in PUBLISH
    /// [MQTT-3.3.4-6]) or that the session sets itself (Topic Alias).
    PropertyNotAllowed,
    /// 5.0: the broker's CONNACK said it does not offer this: wildcard subscriptions,
    /// shared subscriptions or subscription identifiers (Wildcard / Shared Subscription /
    /// Subscription Identifiers Available 0).
    NotAvailableOnServer,
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::TransportDown => f.write_str("transport is not up"),
            CommandError::AlreadyConnected => f.write_str("already connecting or connected"),
            CommandError::NotConnected => f.write_str("not connected"),
            CommandError::WindowFull => f.write_str("in-flight window full"),
            CommandError::StoreFull => f.write_str("in-flight store full"),
            CommandError::StoreFailed => f.write_str("in-flight store failed"),
            CommandError::TooManyPendingRequests => {
                f.write_str("too many subscribe/unsubscribe requests pending")
            }
            CommandError::TransmitBufferFull { required } => {
                write!(f, "transmit buffer full ({required} bytes needed)")
            }
            CommandError::PacketTooLarge { required } => {
                write!(f, "packet too large ({required} bytes)")
            }
            CommandError::Invalid(e) => write!(f, "invalid argument: {e:?}"),
            CommandError::NoFilters => f.write_str("no topic filter given"),
            CommandError::EventsPending => f.write_str("events pending: poll them first"),
            CommandError::EmptyClientIdWithoutCleanSession => {
                f.write_str("empty client id requires clean session [MQTT-3.1.3-7]")
            }
            CommandError::RequiresV5 => f.write_str("needs an MQTT 5.0 connection"),
            CommandError::QoSNotSupported { maximum } => write!(
                f,
                "QoS above the broker's Maximum QoS {} [MQTT-3.2.2-11]",
                maximum.as_u8()
            ),
            CommandError::RetainNotSupported => {
                f.write_str("the broker does not support retain [MQTT-3.2.2-14]")
            }
            CommandError::PacketTooLargeForServer { required, maximum } => write!(
                f,
                "packet of {required} bytes above the broker's Maximum Packet Size {maximum} \
                 [MQTT-3.2.2-15]"
            ),
            CommandError::SessionExpiryAfterZero => {
                f.write_str("non-zero Session Expiry Interval after a CONNECT with 0")
            }
            CommandError::TopicAliasesUnavailable => {
                f.write_str("incoming topic aliases need the alloc feature")
            }
            CommandError::MaximumPacketSizeTooLarge { limit } => {
                write!(
                    f,
                    "Maximum Packet Size above the session's limit of {limit}"
                )
            }
            CommandError::WillPropertiesWithoutWill => {
                f.write_str("will properties without a will")
            }
            CommandError::NoAuthMethod => {
                f.write_str("the CONNECT had no Authentication Method [MQTT-4.12.0-7]")
            }
            CommandError::AuthNotAwaited => f.write_str("no AUTH of the broker's awaits an answer"),
            CommandError::AuthInProgress => f.write_str("an authentication exchange is under way"),
            CommandError::AuthDataWithoutMethod => {
                f.write_str("Authentication Data without an Authentication Method")
            }
            CommandError::AuthMethodTooLong { max } => {
                write!(f, "Authentication Method longer than {max} bytes")
            }
            CommandError::PropertyNotAllowed => f.write_str("property not allowed here"),
            CommandError::NotAvailableOnServer => {
                f.write_str("the broker does not offer this feature")
            }
        }
    }
}

impl core::error::Error for CommandError {}

/// [`Session::poll_transmit`](crate::Session::poll_transmit)'s buffer cannot hold the next
/// packet; nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BufferTooSmall {
    /// Bytes the next whole packet needs.
    pub required: usize,
}

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "transmit buffer too small: {} bytes needed",
            self.required
        )
    }
}

impl core::error::Error for BufferTooSmall {}

/// Why a [`Store`](crate::Store) refused an insertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreError {
    /// No room left (entries or bytes).
    Full,
    /// The backing storage failed (a durable store's I/O error; the store keeps the details).
    Backend,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Full => f.write_str("store full"),
            StoreError::Backend => f.write_str("store backend failed"),
        }
    }
}

impl core::error::Error for StoreError {}
