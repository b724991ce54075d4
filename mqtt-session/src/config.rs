//! Session configuration.

use core::time::Duration;

/// What to do with outgoing QoS 1/2 messages still held when their session ends.
///
/// A session ends [MQTT-3.1.2-6]:
/// * at [`Session::connect`](crate::Session::connect) with clean session on (the previous
///   session is discarded whatever becomes of the connection);
/// * with the network connection of a clean session (a clean session lasts exactly as long as
///   its connection: lost link, DISCONNECT, refusal, timeout);
/// * at a CONNACK with session present 0 (the broker has no session for us).
///
/// Nothing of an ended session is used again on the wire: no PUBREL, no PUBLISH with DUP=1,
/// no packet identifier kept; incoming QoS 2 ids are forgotten. Nothing is dropped silently
/// either: each held message is handed back through
/// [`Session::poll_event`](crate::Session::poll_event), oldest first, before anything of the
/// store is sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SessionLostPolicy {
    /// Publish them again as new messages, in their original order: each QoS 1 message, and
    /// each QoS 2 message whose PUBREC had not arrived, gets a new packet identifier
    /// ([`Event::Republished`](crate::Event::Republished)) and goes out with DUP=0 on the next
    /// connection. Such a message may arrive twice (its first copy may have reached the broker
    /// before the session ended), as QoS 1 allows; for QoS 2 it is the price of a lost session.
    /// A QoS 2 message whose PUBREC had arrived was accepted by the broker: it is not published
    /// again (that could deliver it twice) but reported as
    /// [`Event::PublishAcceptedSessionEnded`](crate::Event::PublishAcceptedSessionEnded).
    #[default]
    Resend,
    /// Remove them from the session and report each one, oldest first, as
    /// [`Event::PublishDropped`](crate::Event::PublishDropped) (with topic and payload, so the
    /// application can publish it again).
    Drop,
}

/// Configuration of a [`Session`](crate::Session). Start from [`Config::default`] (or
/// [`Config::new`], usable in `const`) and set fields, or chain the `with_*` methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Outgoing QoS 1/2 messages in flight at once (PUBLISH or PUBREL sent, final ack not yet
    /// received). Default 16, below Mosquitto's default `max_inflight_messages` of 20.
    /// Clamped to 1..=[`Config::MAX_INFLIGHT`].
    pub max_inflight: u16,
    /// Outgoing QoS 1/2 messages accepted beyond the in-flight window, held in the store and sent
    /// as the window frees up. Default 0: a publish beyond the window is refused with
    /// [`CommandError::WindowFull`](crate::CommandError::WindowFull).
    pub max_queued: u16,
    /// Bytes (topic, 5.0 properties and payload) of the outgoing QoS 1/2 messages held whose PUBLISH is still
    /// needed: in flight or queued, not a QoS 2 message whose PUBREC arrived. A publish that
    /// would go beyond it is refused with
    /// [`CommandError::WindowFull`](crate::CommandError::WindowFull) (wait for an earlier
    /// one), except when nothing is held: one message alone is always accepted, so that a
    /// message larger than the budget is not refused for ever. Default: no limit.
    pub max_held_bytes: usize,
    /// How long to wait for CONNACK after [`Session::connect`](crate::Session::connect).
    /// Default 30 s.
    pub connack_timeout: Duration,
    /// How long to wait for PINGRESP after a PINGREQ went out. Default 10 s. The wait never
    /// exceeds the connection's keep-alive interval, so that the client is never silent for
    /// longer than the keep alive [MQTT-3.1.2-23].
    pub ping_timeout: Duration,
    /// Largest incoming packet accepted, fixed header included. A larger packet ends the
    /// connection with [`DisconnectReason::IncomingPacketTooLarge`](crate::DisconnectReason)
    /// before its body is buffered. The receive buffer's length is a limit too (see
    /// [`Session::max_incoming_packet`](crate::Session::max_incoming_packet)). Default: no limit
    /// besides the buffer.
    pub max_incoming_packet: usize,
    /// What happens to held outgoing messages when the broker has no session for us.
    pub session_lost: SessionLostPolicy,
    /// Accept QoS 1/2 publishes while not connected (default off: they are refused with
    /// [`CommandError::NotConnected`](crate::CommandError::NotConnected)). They are held in
    /// the store as any publish beyond the window is, within the same bound
    /// ([`Config::max_inflight`] plus [`Config::max_queued`], else
    /// [`CommandError::WindowFull`](crate::CommandError::WindowFull)), and go out in order
    /// once a connection is accepted: on a resumed session after the messages it carried,
    /// on a new one as [`Config::session_lost`] says. QoS 0 is still refused while offline:
    /// it has no store to wait in.
    pub offline_publish: bool,
    /// 5.0 (feature `v5`): how many outgoing topic aliases the session may set on a connection
    /// (at most 8, and never more than the broker's Topic Alias Maximum [MQTT-3.2.2-17]);
    /// default 0, none [MQTT-3.2.2-18]. With aliases on, the first QoS 0 PUBLISH to a topic (of
    /// at most 64 bytes) sets an alias and later ones carry the alias instead of the topic. An
    /// alias is never changed on its connection and never reused on the next one
    /// [MQTT-3.3.2-7]. QoS 1/2 messages, encoded from the store when written (and resent after
    /// a reconnect), always carry their topic.
    #[cfg(feature = "v5")]
    pub outgoing_topic_aliases: u16,
}

impl Config {
    /// Default in-flight window.
    pub const DEFAULT_MAX_INFLIGHT: u16 = 16;
    /// Largest in-flight window accepted.
    pub const MAX_INFLIGHT: u16 = 1024;

    /// Set [`Config::max_inflight`].
    pub const fn with_max_inflight(mut self, n: u16) -> Self {
        self.max_inflight = n;
        self
    }

    /// Set [`Config::max_queued`].
    pub const fn with_max_queued(mut self, n: u16) -> Self {
        self.max_queued = n;
        self
    }

    /// Set [`Config::connack_timeout`].
    pub const fn with_connack_timeout(mut self, d: Duration) -> Self {
        self.connack_timeout = d;
        self
    }

    /// Set [`Config::ping_timeout`].
    pub const fn with_ping_timeout(mut self, d: Duration) -> Self {
        self.ping_timeout = d;
        self
    }

    /// Set [`Config::max_incoming_packet`].
    pub const fn with_max_incoming_packet(mut self, n: usize) -> Self {
        self.max_incoming_packet = n;
        self
    }

    /// Set [`Config::session_lost`].
    pub const fn with_session_lost(mut self, p: SessionLostPolicy) -> Self {
        self.session_lost = p;
        self
    }

    /// Set [`Config::max_held_bytes`].
    pub const fn with_max_held_bytes(mut self, bytes: usize) -> Self {
        self.max_held_bytes = bytes;
        self
    }

    /// Set [`Config::offline_publish`].
    pub const fn with_offline_publish(mut self, on: bool) -> Self {
        self.offline_publish = on;
        self
    }

    /// Set [`Config::outgoing_topic_aliases`] (feature `v5`).
    #[cfg(feature = "v5")]
    pub const fn with_outgoing_topic_aliases(mut self, n: u16) -> Self {
        self.outgoing_topic_aliases = n;
        self
    }

    /// In-flight window actually used.
    #[inline]
    pub(crate) fn window(&self) -> usize {
        usize::from(self.max_inflight.clamp(1, Self::MAX_INFLIGHT))
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

impl Config {
    /// The defaults: window 16, no queue, CONNACK timeout 30 s, ping timeout 10 s, no incoming
    /// size limit besides the receive buffer, [`SessionLostPolicy::Resend`].
    pub const fn new() -> Self {
        Config {
            max_inflight: Self::DEFAULT_MAX_INFLIGHT,
            max_queued: 0,
            max_held_bytes: usize::MAX,
            connack_timeout: Duration::from_secs(30),
            ping_timeout: Duration::from_secs(10),
            max_incoming_packet: usize::MAX,
            session_lost: SessionLostPolicy::Resend,
            offline_publish: false,
            #[cfg(feature = "v5")]
            outgoing_topic_aliases: 0,
        }
    }
}
