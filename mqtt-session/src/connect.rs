//! Connecting and disconnecting: transport up/closed, CONNECT, CONNACK, DISCONNECT.

use mqtt_proto::QoS;

use crate::error::CommandError;
use crate::session::{Buffer, Session};
use crate::store::Store;
use crate::time::Instant;

/// What goes into CONNECT. Borrowed: the session encodes it at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectOptions<'a> {
    /// Client identifier; empty asks the broker to assign one (clean session required
    /// [MQTT-3.1.3-7]).
    pub client_id: &'a str,
    /// Clean session: start a new session on the broker (and drop ours) [MQTT-3.1.2-6].
    pub clean_session: bool,
    /// Keep alive in seconds; 0 turns keep-alive off [MQTT-3.1.2-23].
    pub keep_alive: u16,
    /// User name.
    pub username: Option<&'a str>,
    /// Password; requires a user name [MQTT-3.1.2-22].
    pub password: Option<&'a [u8]>,
    /// Will message.
    pub will: Option<LastWill<'a>>,
}

impl<'a> ConnectOptions<'a> {
    /// Options with this client id, clean session on, keep alive 60 s, no credentials, no will.
    pub const fn new(client_id: &'a str) -> Self {
        ConnectOptions {
            client_id,
            clean_session: true,
            keep_alive: 60,
            username: None,
            password: None,
            will: None,
        }
    }
}

/// The will message of [`ConnectOptions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastWill<'a> {
    /// Will topic (a topic name: no wildcards).
    pub topic: &'a str,
    /// Will payload.
    pub payload: &'a [u8],
    /// Will QoS.
    pub qos: QoS,
    /// Will retain.
    pub retain: bool,
}

impl<S: Store, B: Buffer> Session<S, B> {
    /// Input: a transport (TCP, TLS, ...) to the broker is open. Any previous connection is
    /// over (reported as [`DisconnectReason::TransportClosed`](crate::DisconnectReason) if it had
    /// not ended yet); buffers are reset. Next: [`Session::connect`].
    pub fn handle_transport_up(&mut self, now: Instant) {
        let _ = now;
    }

    /// Input: the transport closed (by either side, or failed). Reports
    /// [`Event::Disconnected`](crate::Event::Disconnected) with
    /// [`DisconnectReason::TransportClosed`](crate::DisconnectReason::TransportClosed) unless the
    /// connection had already ended.
    pub fn handle_transport_closed(&mut self, now: Instant) {
        let _ = now;
    }

    /// Command: queue CONNECT and start the CONNACK timer. Needs [`State::TransportUp`](crate::State).
    ///
    /// With `clean_session` on, the incoming QoS 2 ids are forgotten now [MQTT-3.1.2-6]; held
    /// outgoing messages follow [`Config::session_lost`](crate::Config::session_lost) when
    /// CONNACK arrives (session present is then off).
    pub fn connect(
        &mut self,
        now: Instant,
        options: &ConnectOptions<'_>,
    ) -> Result<(), CommandError> {
        let _ = (now, options);
        Err(CommandError::TransportDown)
    }

    /// Command: queue DISCONNECT after everything already queued. Once `poll_transmit` has
    /// written it, the connection ends with
    /// [`DisconnectReason::Local`](crate::DisconnectReason::Local) and nothing more is sent
    /// [MQTT-3.14.4-2]; incoming bytes are ignored from now on. Outgoing messages still in flight
    /// stay in the store for a later session.
    pub fn disconnect(&mut self, now: Instant) -> Result<(), CommandError> {
        let _ = now;
        Err(CommandError::NotConnected)
    }
}
