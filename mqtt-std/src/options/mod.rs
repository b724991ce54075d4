//! Client and connection options, the will message, and received messages.

mod connect;
mod message;

pub use connect::{ConnectOptions, Connected, Will};
pub use message::{Message, MessageInfo};

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mqtt_proto::Packet;
use mqtt_session::SessionLostPolicy;

/// Which way a traced packet went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sent to the broker.
    Sent,
    /// Received from the broker.
    Received,
}

/// A packet trace hook (see [`ClientOptions::trace`]).
pub(crate) type TraceFn = Arc<dyn Fn(Direction, &Packet<'_>) + Send + Sync>;

/// The enhanced authentication handler (see [`ClientOptions::authentication`]).
pub(crate) type AuthFn =
    Arc<dyn Fn(&crate::v5::AuthChallenge) -> crate::v5::AuthAnswer + Send + Sync>;

/// A packet trace hook of MQTT 5.0 connections (see [`ClientOptions::trace_v5`]).
pub(crate) type TraceV5Fn = Arc<dyn Fn(Direction, &mqtt_proto::v5::Packet<'_>) + Send + Sync>;

/// Automatic reconnection: after a connection ends for any reason other than the
/// application's own (disconnect, drop, close), the IO thread connects again to the same
/// broker with the same options, waiting `initial`, then twice as long each failed attempt up
/// to `max`, each wait scaled by a random factor in [0.5, 1.0] (jitter) so that many clients
/// do not reconnect in step. With clean session off, the session resumes: QoS 1/2 messages in
/// flight are sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconnect {
    /// First wait.
    pub initial: Duration,
    /// Longest wait.
    pub max: Duration,
}

impl Default for Reconnect {
    /// 500 ms doubling to 30 s.
    fn default() -> Self {
        Reconnect {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

/// Options of [`Client::new`](crate::Client::new) (`nxd_mqtt_client_create`): the client id
/// and the limits of its buffers and queues.
///
/// ```
/// use mqtt_std::ClientOptions;
///
/// let options = ClientOptions::new("sensor-17")
///     .max_inflight(32)
///     .receive_queue_depth(1000)
///     .max_packet_size(1 << 20);
/// # let _ = options;
/// ```
#[derive(Clone)]
pub struct ClientOptions {
    pub(crate) client_id: String,
    pub(crate) max_inflight: u16,
    pub(crate) max_queued: u16,
    pub(crate) receive_queue_depth: usize,
    pub(crate) receive_queue_bytes: usize,
    pub(crate) publish_queue_bytes: usize,
    pub(crate) max_packet_size: usize,
    pub(crate) transmit_buffer_size: usize,
    pub(crate) connack_timeout: Duration,
    pub(crate) ping_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) linger: Duration,
    pub(crate) session_lost: SessionLostPolicy,
    pub(crate) offline_publish: bool,
    pub(crate) topic_aliases: u16,
    pub(crate) auth: Option<AuthFn>,
    pub(crate) reconnect: Option<Reconnect>,
    pub(crate) trace: Option<TraceFn>,
    pub(crate) trace_v5: Option<TraceV5Fn>,
    pub(crate) session_store: Option<(PathBuf, crate::store::FileStoreOptions)>,
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("client_id", &self.client_id)
            .field("max_inflight", &self.max_inflight)
            .field("max_queued", &self.max_queued)
            .field("receive_queue_depth", &self.receive_queue_depth)
            .field("receive_queue_bytes", &self.receive_queue_bytes)
            .field("publish_queue_bytes", &self.publish_queue_bytes)
            .field("max_packet_size", &self.max_packet_size)
            .field("transmit_buffer_size", &self.transmit_buffer_size)
            .field("connack_timeout", &self.connack_timeout)
            .field("ping_timeout", &self.ping_timeout)
            .field("write_timeout", &self.write_timeout)
            .field("linger", &self.linger)
            .field("session_lost", &self.session_lost)
            .field("offline_publish", &self.offline_publish)
            .field("reconnect", &self.reconnect)
            .field("trace", &self.trace.is_some())
            .field("trace_v5", &self.trace_v5.is_some())
            .field("authentication", &self.auth.is_some())
            .field("session_store", &self.session_store)
            .finish()
    }
}

impl ClientOptions {
    /// The session configuration these options ask for (both clients use it).
    pub(crate) fn session_config(&self) -> mqtt_session::Config {
        let mut config = mqtt_session::Config::default();
        config.max_inflight = self.max_inflight;
        config.max_queued = self.max_queued;
        config.connack_timeout = self.connack_timeout;
        config.ping_timeout = self.ping_timeout;
        config.max_incoming_packet = self.max_packet_size;
        config.session_lost = self.session_lost;
        config.offline_publish = self.offline_publish;
        config.max_held_bytes = self.publish_queue_bytes;
        config.outgoing_topic_aliases = self.topic_aliases;
        config
    }

    /// How long the close of a link that ended for `reason` may linger (both clients): the
    /// configured linger after the client's own DISCONNECT went out, none after any other end
    /// (a lost link, a protocol violation, a timeout,
    /// [`Client::drop_connection`](crate::Client::drop_connection)).
    pub(crate) fn linger_for(&self, reason: &crate::DisconnectReason) -> Duration {
        match reason {
            crate::DisconnectReason::Local => self.linger,
            _ => Duration::ZERO,
        }
    }
}

impl ClientOptions {
    /// Options for `client_id` with the defaults: in-flight window 16 (below Mosquitto's
    /// default `max_inflight_messages` of 20), no publish queue beyond the window, receive
    /// queue of 1,024 messages, both queues bounded at 64 MiB, packets up to 1 MiB each way (see
    /// [`max_packet_size`](Self::max_packet_size) and
    /// [`transmit_buffer_size`](Self::transmit_buffer_size)), CONNACK timeout 30 s, PINGRESP
    /// timeout 10 s, socket write timeout 30 s, linger 1 s after DISCONNECT, held messages
    /// resent when the broker lost the session, no automatic reconnect.
    ///
    /// A client id of `prefix` and 12 random characters of `[0-9a-zA-Z]`, as mosquitto_pub
    /// makes them: unique enough that two clients started at once do not take over each
    /// other's session (MQTT 3.1.1 servers must take ids of 1 to 23 such characters; keep the
    /// prefix under 12 for them).
    ///
    /// ```
    /// let id = mqtt_std::ClientOptions::generated_id("sensor");
    /// assert_eq!(id.len(), 18);
    /// assert!(id.starts_with("sensor") && id.chars().all(|c| c.is_ascii_alphanumeric()));
    /// assert_ne!(id, mqtt_std::ClientOptions::generated_id("sensor"));
    /// ```
    pub fn generated_id(prefix: &str) -> String {
        const ALNUM: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let mut id = String::from(prefix);
        let mut r = crate::core::random_u64();
        for _ in 0..12 {
            let i = usize::try_from(r % 62).unwrap_or(0);
            id.push(char::from(ALNUM.get(i).copied().unwrap_or(b'x')));
            r /= 62;
        }
        id
    }

    /// An empty client id asks the broker to assign one (clean session only).
    pub fn new(client_id: impl Into<String>) -> Self {
        ClientOptions {
            client_id: client_id.into(),
            max_inflight: mqtt_session::Config::DEFAULT_MAX_INFLIGHT,
            max_queued: 0,
            receive_queue_depth: 1024,
            receive_queue_bytes: Self::DEFAULT_RECEIVE_QUEUE_BYTES,
            publish_queue_bytes: Self::DEFAULT_PUBLISH_QUEUE_BYTES,
            max_packet_size: 1 << 20,
            transmit_buffer_size: 1 << 20,
            connack_timeout: Duration::from_secs(30),
            ping_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            linger: Self::DEFAULT_LINGER,
            session_lost: SessionLostPolicy::Resend,
            offline_publish: false,
            topic_aliases: 0,
            auth: None,
            reconnect: None,
            trace: None,
            trace_v5: None,
            session_store: None,
        }
    }

    /// The default [`linger`](Self::linger): 1 s.
    pub const DEFAULT_LINGER: Duration = Duration::from_secs(1);

    /// How long the close after DISCONNECT may take (default 1 s). Once DISCONNECT is written,
    /// the client sends a WebSocket close frame and a TLS close_notify (when the link has
    /// them), shuts the write side of the socket, and reads (and discards) what the broker
    /// still sends until the broker closes the connection or the linger passes; then it
    /// closes the socket. Closing at once instead would answer acknowledgements still on their
    /// way with a TCP reset, and a broker that sees the reset before it has read the
    /// DISCONNECT drops the connection as lost and publishes the will.
    ///
    /// [`Client::disconnect`](crate::Client::disconnect) and
    /// [`Client::close`](crate::Client::close) (and their tokio counterparts) return once the
    /// broker has closed, and never later than the linger after DISCONNECT was written (plus
    /// the write itself, bounded by [`write_timeout`](Self::write_timeout)), even if the
    /// broker never closes or stops reading. `Duration::ZERO` closes at once, as a client
    /// without a linger does. A connection that ends any other way (lost,
    /// [`Client::drop_connection`](crate::Client::drop_connection), a protocol violation) is
    /// closed at once.
    pub fn linger(mut self, d: Duration) -> Self {
        self.linger = d;
        self
    }

    /// Outgoing QoS 1/2 messages in flight at once (1 to 1,024).
    pub fn max_inflight(mut self, n: u16) -> Self {
        self.max_inflight = n;
        self
    }

    /// QoS 1/2 publishes accepted beyond the in-flight window and sent as it frees up
    /// (default 0: a publish beyond the window fails with [`Error::WindowFull`](crate::Error::WindowFull)).
    pub fn max_queued_publishes(mut self, n: u16) -> Self {
        self.max_queued = n;
        self
    }

    /// Received messages held for the application. When the queue is full the client stops
    /// reading from the socket (TCP flow control holds the broker back) until the application
    /// takes messages; one network read (up to 64 KiB) may add a few messages beyond the depth.
    pub fn receive_queue_depth(mut self, n: usize) -> Self {
        self.receive_queue_depth = n.max(1);
        self
    }

    /// The default [`receive_queue_bytes`](Self::receive_queue_bytes): 64 MiB.
    pub const DEFAULT_RECEIVE_QUEUE_BYTES: usize = 64 << 20;

    /// The bytes (topics and payloads) of received messages held for the application
    /// (default 64 MiB), besides their number ([`receive_queue_depth`](Self::receive_queue_depth)):
    /// the client stops reading from the socket while the messages waiting reach either
    /// bound. What one network read carried (up to 64 KiB, or the rest of one packet of up
    /// to [`max_packet_size`](Self::max_packet_size)) is still delivered, so memory for
    /// received messages stays under the budget plus one read or one packet, whatever the
    /// broker sends.
    ///
    /// ```
    /// use mqtt_std::ClientOptions;
    ///
    /// // A small device: at most 100 messages and 256 KiB of them waiting.
    /// let options = ClientOptions::new("probe-7")
    ///     .receive_queue_depth(100)
    ///     .receive_queue_bytes(256 << 10);
    /// # let _ = options;
    /// ```
    pub fn receive_queue_bytes(mut self, bytes: usize) -> Self {
        self.receive_queue_bytes = bytes.max(1);
        self
    }

    /// The default [`publish_queue_bytes`](Self::publish_queue_bytes): 64 MiB.
    pub const DEFAULT_PUBLISH_QUEUE_BYTES: usize = 64 << 20;

    /// The bytes (topics and payloads) of QoS 1/2 publishes held until the broker has them
    /// (default 64 MiB): in flight, queued beyond the window, or waiting offline (see
    /// [`offline_publish`](Self::offline_publish)); a QoS 2 message stops counting at its
    /// PUBREC. A publish that would go beyond it is refused as a full window is
    /// ([`Error::WindowFull`](crate::Error::WindowFull) from the blocking client, a wait in the
    /// tokio client), besides the count bound of [`max_inflight`](Self::max_inflight) plus
    /// [`max_queued_publishes`](Self::max_queued_publishes). One message alone is always
    /// accepted, however large (up to [`transmit_buffer_size`](Self::transmit_buffer_size)),
    /// so memory for held publishes stays under the budget plus one message.
    ///
    /// ```
    /// use mqtt_std::ClientOptions;
    ///
    /// // A logger that may be offline for hours: up to 10,000 readings or 4 MiB of them.
    /// let options = ClientOptions::new("logger-3")
    ///     .offline_publish(true)
    ///     .max_queued_publishes(10_000)
    ///     .publish_queue_bytes(4 << 20);
    /// # let _ = options;
    /// ```
    pub fn publish_queue_bytes(mut self, bytes: usize) -> Self {
        self.publish_queue_bytes = bytes;
        self
    }

    /// Largest incoming packet, fixed header included (the receive buffer's size). A larger
    /// packet ends the connection with
    /// [`DisconnectReason::IncomingPacketTooLarge`](crate::DisconnectReason::IncomingPacketTooLarge).
    pub fn max_packet_size(mut self, bytes: usize) -> Self {
        self.max_packet_size = bytes.max(64);
        self
    }

    /// Size of the transmit buffer: the largest outgoing packet (a PUBLISH with its topic
    /// and payload, a CONNECT with its will, a SUBSCRIBE). A larger publish is refused with
    /// [`Error::Command`](crate::Error::Command) (`PacketTooLarge`).
    pub fn transmit_buffer_size(mut self, bytes: usize) -> Self {
        self.transmit_buffer_size = bytes.max(64);
        self
    }

    /// How long to wait for CONNACK once CONNECT is sent (also bounded by
    /// [`ConnectOptions::wait`]).
    pub fn connack_timeout(mut self, d: Duration) -> Self {
        self.connack_timeout = d;
        self
    }

    /// How long to wait for PINGRESP after a PINGREQ before closing the connection.
    pub fn ping_timeout(mut self, d: Duration) -> Self {
        self.ping_timeout = d;
        self
    }

    /// How long one write to the socket may take as a whole (default 30 s) before the
    /// connection is given up: all the `send` calls of a packet batch together, so that a
    /// broker reading a trickle cannot stretch it. The tokio client bounds its writes the same
    /// way.
    pub fn write_timeout(mut self, d: Duration) -> Self {
        self.write_timeout = d;
        self
    }

    /// What happens to QoS 1/2 messages in flight when a connection finds no session on the
    /// broker (see [`SessionLostPolicy`]).
    pub fn session_lost(mut self, policy: SessionLostPolicy) -> Self {
        self.session_lost = policy;
        self
    }

    /// Accept QoS 1/2 publishes while not connected (default off: they fail with
    /// [`Error::NotConnected`](crate::Error::NotConnected)): before the first connect, between
    /// reconnects, after a disconnect. They wait in the session's store, within the same bound
    /// as publishes beyond the window ([`max_inflight`](Self::max_inflight) plus
    /// [`max_queued_publishes`](Self::max_queued_publishes), and in bytes
    /// [`publish_queue_bytes`](Self::publish_queue_bytes); a full queue is
    /// [`Error::WindowFull`](crate::Error::WindowFull) for the blocking client, a wait for the
    /// tokio client), and go out in order after the next CONNACK. With a durable
    /// [`session_store`](Self::session_store) they survive a restart. Their [`Pending`](crate::Pending)
    /// completes on that later connection (or with [`Error::Closed`](crate::Error::Closed) if
    /// the client is closed first; the message stays in a durable store). QoS 0 is still
    /// refused offline.
    ///
    /// ```no_run
    /// use mqtt_std::{Client, ClientOptions, ConnectOptions, QoS};
    ///
    /// # fn main() -> Result<(), mqtt_std::Error> {
    /// let client = Client::new(ClientOptions::new("meter-9").offline_publish(true).max_queued_publishes(100))?;
    /// // Accepted before any connection; sent after the CONNACK.
    /// let reading = client.publish("meter/9/kwh", b"1532.4", QoS::AtLeastOnce, false)?;
    /// client.connect("localhost", 1883, &ConnectOptions::default())?;
    /// reading.wait()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn offline_publish(mut self, on: bool) -> Self {
        self.offline_publish = on;
        self
    }

    /// 5.0: the enhanced authentication handler (see
    /// [`ConnectOptions::authentication`]): called with each AUTH 0x18 of the broker's, during
    /// connect and re-authentication ([`Client::reauthenticate`](crate::Client::reauthenticate)),
    /// it answers with the next Authentication Data or gives up. It runs on the client's IO
    /// thread (or task) with the client locked, so it must compute its answer and return:
    /// calling the client from it would wait for ever. The connect's time limit
    /// ([`ConnectOptions::wait`]) covers the whole exchange.
    ///
    /// ```
    /// use mqtt_std::ClientOptions;
    /// use mqtt_std::v5::AuthAnswer;
    ///
    /// let options = ClientOptions::new("sensor-17").authentication(|challenge| {
    ///     match challenge.data.as_deref() {
    ///         Some(b"nonce") => AuthAnswer::Continue(Some(b"proof".to_vec())),
    ///         _ => AuthAnswer::Abort,
    ///     }
    /// });
    /// # let _ = options;
    /// ```
    pub fn authentication(
        mut self,
        f: impl Fn(&crate::v5::AuthChallenge) -> crate::v5::AuthAnswer + Send + Sync + 'static,
    ) -> Self {
        self.auth = Some(Arc::new(f));
        self
    }

    /// 5.0: outgoing topic aliases, set by the client itself (default 0: none). Up to `n`
    /// topics (and no more than the broker's Topic Alias Maximum) get an alias on a
    /// connection: the first PUBLISH to such a topic carries topic and alias, later ones the
    /// alias and an empty topic, which saves the topic's bytes on every message. Aliases never
    /// outlive a connection; a resent QoS 1/2 message carries its topic.
    pub fn topic_aliases(mut self, n: u16) -> Self {
        self.topic_aliases = n;
        self
    }

    /// Reconnect automatically (off by default). See [`Reconnect`].
    pub fn reconnect(mut self, policy: Option<Reconnect>) -> Self {
        self.reconnect = policy;
        self
    }

    /// Keeps the session in a durable [`FileStore`](crate::store::FileStore) in `dir`
    /// (created if missing) instead of memory, so that a restarted process loses nothing:
    /// [`Client::new`](crate::Client::new) opens it (and fails if another process has it open
    /// or it is damaged), QoS 1/2 messages in flight are resent by the next connect with clean
    /// session off, and received messages the application had not finished with are handed
    /// out again first. See the [`store`](crate::store) module for what is synced when.
    pub fn session_store(self, dir: impl Into<PathBuf>) -> Self {
        self.session_store_with(dir, crate::store::FileStoreOptions::default())
    }

    /// [`ClientOptions::session_store`] with tuning options.
    pub fn session_store_with(
        mut self,
        dir: impl Into<PathBuf>,
        options: crate::store::FileStoreOptions,
    ) -> Self {
        self.session_store = Some((dir.into(), options));
        self
    }

    /// Calls `f` on the IO thread for every packet sent and received (for `mqttc -d` and
    /// debugging). Malformed incoming bytes are not traced; the connection ends with
    /// [`DisconnectReason::ProtocolViolation`](crate::DisconnectReason::ProtocolViolation).
    pub fn trace(mut self, f: impl Fn(Direction, &Packet<'_>) + Send + Sync + 'static) -> Self {
        self.trace = Some(Arc::new(f));
        self
    }

    /// As [`ClientOptions::trace`], for the connections made with MQTT 5.0
    /// ([`ConnectOptions::protocol`]): their packets decoded as 5.0.
    pub fn trace_v5(
        mut self,
        f: impl Fn(Direction, &mqtt_proto::v5::Packet<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.trace_v5 = Some(Arc::new(f));
        self
    }
}
