//! Connecting and disconnecting: transport up/closed, CONNECT, CONNACK, DISCONNECT.

use core::time::Duration;

use mqtt_proto::{
    ConnAck, Connect, ConnectReturnCode, DecodeError, EncodeError, Packet, QoS, TopicName, Will,
};

use crate::error::CommandError;
use crate::event::{DisconnectReason, Violation};
use crate::session::{Buffer, EventRepr, Ping, Session, State};
use crate::store::Store;
use crate::time::Instant;

/// What goes into CONNECT. Borrowed: the session encodes it at once. Its `Debug` output shows
/// the password's length only.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ConnectOptions<'a> {
    /// Client identifier; empty asks the broker to assign one (clean session required
    /// [MQTT-3.1.3-7]).
    pub client_id: &'a str,
    /// Clean session: discard the previous session, here at [`Session::connect`] and on the
    /// broker, and start a new one that lasts as long as this network connection
    /// [MQTT-3.1.2-6]. See [`SessionLostPolicy`](crate::SessionLostPolicy) for what becomes of
    /// held messages when a session ends.
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

impl core::fmt::Debug for ConnectOptions<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        struct Redacted(Option<usize>);
        impl core::fmt::Debug for Redacted {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.0 {
                    None => f.write_str("None"),
                    Some(n) => write!(f, "Some(<{n} bytes redacted>)"),
                }
            }
        }
        f.debug_struct("ConnectOptions")
            .field("client_id", &self.client_id)
            .field("clean_session", &self.clean_session)
            .field("keep_alive", &self.keep_alive)
            .field("username", &self.username)
            .field("password", &Redacted(self.password.map(<[u8]>::len)))
            .field("will", &self.will)
            .finish()
    }
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

    /// These options for an MQTT 5.0 connection (feature `v5`), without properties: see
    /// [`ConnectOptionsV5`]. [`ConnectOptions::clean_session`] is then the Clean Start flag.
    #[cfg(feature = "v5")]
    pub const fn v5(self) -> ConnectOptionsV5<'a> {
        ConnectOptionsV5 {
            options: self,
            properties: mqtt_proto::v5::Properties::EMPTY,
            will_properties: mqtt_proto::v5::Properties::EMPTY,
        }
    }
}

/// What [`Session::connect`] takes: [`ConnectOptions`] for an MQTT 3.1.1 connection, or
/// (feature `v5`) `ConnectOptionsV5` for a 5.0 one; made with `From`/`Into` from a
/// reference to either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectRequest<'a> {
    pub(crate) options: ConnectOptions<'a>,
    #[cfg(feature = "v5")]
    pub(crate) v5: Option<ConnectOptionsV5<'a>>,
}

impl<'a> From<&ConnectOptions<'a>> for ConnectRequest<'a> {
    fn from(options: &ConnectOptions<'a>) -> Self {
        ConnectRequest {
            options: *options,
            #[cfg(feature = "v5")]
            v5: None,
        }
    }
}

/// The options of an MQTT 5.0 connection (feature `v5`): [`ConnectOptions`] and the 5.0
/// properties. In 5.0, [`ConnectOptions::clean_session`] is the Clean Start flag, and whether
/// the session outlives the connection is the Session Expiry Interval's business.
///
/// ```
/// use mqtt_session::ConnectOptionsV5;
/// use mqtt_session::v5::{Properties, Property};
///
/// let props = [Property::SessionExpiryInterval(3600), Property::ReceiveMaximum(10)];
/// let mut options = ConnectOptionsV5::new("sensor-1");
/// options.options.keep_alive = 30;
/// options.properties = Properties::new(&props);
/// ```
#[cfg(feature = "v5")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectOptionsV5<'a> {
    /// Client id, Clean Start, keep alive, credentials (in 5.0 a password needs no user name),
    /// will.
    pub options: ConnectOptions<'a>,
    /// CONNECT properties (section 3.1.2.11): Session Expiry Interval, Receive Maximum,
    /// Maximum Packet Size, Topic Alias Maximum, Request Response/Problem Information, User
    /// Properties, Authentication Method and Data. The session honours what it sends: see
    /// [`crate::v5`]. An Authentication Method starts enhanced authentication (section 4.12,
    /// see [`Session::auth_continue`]); it may be at most
    /// [`MAX_AUTH_METHOD_LEN`](crate::v5::MAX_AUTH_METHOD_LEN) bytes
    /// ([`CommandError::AuthMethodTooLong`]), and Authentication Data needs one
    /// ([`CommandError::AuthDataWithoutMethod`]).
    pub properties: mqtt_proto::v5::Properties<'a>,
    /// Will Properties (section 3.1.3.2): Will Delay Interval, Payload Format Indicator,
    /// Message Expiry Interval, Content Type, Response Topic, Correlation Data, User
    /// Properties. Must be empty without a will ([`CommandError::WillPropertiesWithoutWill`]).
    pub will_properties: mqtt_proto::v5::Properties<'a>,
}

#[cfg(feature = "v5")]
impl<'a> ConnectOptionsV5<'a> {
    /// 5.0 options with this client id, Clean Start on, keep alive 60 s, no credentials, no
    /// will, no properties.
    pub const fn new(client_id: &'a str) -> Self {
        ConnectOptions::new(client_id).v5()
    }
}

#[cfg(feature = "v5")]
impl<'a> From<&ConnectOptionsV5<'a>> for ConnectRequest<'a> {
    fn from(options: &ConnectOptionsV5<'a>) -> Self {
        ConnectRequest {
            options: options.options,
            v5: Some(*options),
        }
    }
}

/// FNV-1a over the client id: which client id the held session state belongs to.
fn client_id_hash(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
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
    /// over (reported as [`DisconnectReason::TransportClosed`] if it had not ended yet); the
    /// connection's buffers are reset. Next: [`Session::connect`].
    pub fn handle_transport_up(&mut self, now: Instant) {
        self.settle();
        self.clamp(now);
        #[cfg(feature = "v5")]
        if let Some(reason) = self.v5.closing.take() {
            self.end_connection(reason);
        }
        self.end_connection(DisconnectReason::TransportClosed);
        self.state = State::TransportUp;
        self.rx_end = self.rx_pos;
        self.tx_head = 0;
        self.tx_tail = 0;
    }

    /// Input: the transport closed (by either side, or failed). Reports
    /// [`Event::Disconnected`](crate::Event::Disconnected) with
    /// [`DisconnectReason::TransportClosed`] unless the connection had already ended.
    pub fn handle_transport_closed(&mut self, now: Instant) {
        self.settle();
        self.clamp(now);
        #[cfg(feature = "v5")]
        if let Some(reason) = self.v5.closing.take() {
            // The transport closed before our DISCONNECT went out: the reason stands.
            self.end_connection(reason);
        }
        self.end_connection(DisconnectReason::TransportClosed);
        self.state = State::TransportDown;
    }

    /// Command: queue CONNECT and start the CONNACK timer. Needs [`State::TransportUp`].
    ///
    /// With `clean_session` on, the previous session ends here [MQTT-3.1.2-6], whatever becomes
    /// of this connection: incoming QoS 2 ids are forgotten and held outgoing messages follow
    /// [`Config::session_lost`](crate::Config::session_lost) (handed back through
    /// [`Session::poll_event`] before anything of the store is sent). The new session lasts as
    /// long as this network connection.
    ///
    /// `options` is a `&ConnectOptions` (MQTT 3.1.1) or, with the `v5` feature, a
    /// `ConnectOptionsV5` (MQTT 5.0): the version of the connection is the options'.
    pub fn connect<'o>(
        &mut self,
        now: Instant,
        options: impl Into<ConnectRequest<'o>>,
    ) -> Result<(), CommandError> {
        let request = options.into();
        let options = &request.options;
        self.settle();
        let now = self.clamp(now);
        match self.state {
            State::TransportUp => {}
            State::TransportDown | State::Closed => return Err(CommandError::TransportDown),
            State::Connecting | State::Connected | State::Disconnecting => {
                return Err(CommandError::AlreadyConnected);
            }
        }
        if self.events.free() < crate::receive::EVENTS_PER_PACKET {
            return Err(CommandError::EventsPending);
        }
        #[cfg(feature = "v5")]
        {
            if let Some(v5) = &request.v5 {
                self.connect_v5(v5)?;
                self.start_connecting(now, options);
                return Ok(());
            }
            self.v5.on = false;
        }
        if options.client_id.is_empty() && !options.clean_session {
            return Err(CommandError::EmptyClientIdWithoutCleanSession);
        }
        if options.password.is_some() && options.username.is_none() {
            return Err(CommandError::Invalid(DecodeError::PasswordWithoutUsername));
        }
        let will = match &options.will {
            Some(w) => Some(Will {
                topic: TopicName::new(w.topic).map_err(CommandError::Invalid)?,
                payload: w.payload,
                qos: w.qos,
                retain: w.retain,
            }),
            None => None,
        };
        let packet = Packet::Connect(Connect {
            clean_session: options.clean_session,
            keep_alive: options.keep_alive,
            client_id: options.client_id,
            will,
            username: options.username,
            password: options.password,
        });
        let required = packet.encoded_len();
        if required > self.tx_capacity() {
            return Err(CommandError::PacketTooLarge { required });
        }
        let Some(dst) = self.tx_reserve(required) else {
            return Err(CommandError::TransmitBufferFull { required });
        };
        let written = match packet.encode(dst) {
            Ok(n) => n,
            Err(EncodeError::Invalid(e)) => return Err(CommandError::Invalid(e)),
            Err(EncodeError::BufferTooSmall { required }) => {
                return Err(CommandError::TransmitBufferFull { required });
            }
            Err(_) => return Err(CommandError::PacketTooLarge { required }),
        };
        self.tx_tail += written;
        self.start_connecting(now, options);
        Ok(())
    }

    /// CONNECT is queued: the connection's state from here to CONNACK.
    pub(crate) fn start_connecting(&mut self, now: Instant, options: &ConnectOptions<'_>) {
        // The state held belongs to the client id it was made under [MQTT-3.1.3-2]: under
        // another one, that session is over (its messages follow `Config::session_lost`).
        let owner = client_id_hash(options.client_id);
        if self.state_owner.is_some_and(|o| o != owner) {
            self.end_session();
        }
        self.state_owner = Some(owner);
        self.connect_unsent = true;
        self.clean_session = options.clean_session;
        self.keep_alive = Duration::from_secs(u64::from(options.keep_alive));
        self.connack_deadline = now + self.config.connack_timeout;
        self.last_sent = now;
        self.ping = Ping::Idle;
        self.sent = 0;
        self.written = 0;
        self.resending = false;
        self.state = State::Connecting;
        if options.clean_session {
            self.end_session();
        }
    }

    /// Command: queue DISCONNECT after everything already queued. Once `poll_transmit` has
    /// written it, the connection ends with [`DisconnectReason::Local`] and nothing more is sent
    /// [MQTT-3.14.4-2]; incoming bytes are ignored from now on. Outgoing messages still in flight
    /// stay in the store for a later session. Allowed while connecting or connected.
    pub fn disconnect(&mut self, now: Instant) -> Result<(), CommandError> {
        self.settle();
        self.clamp(now);
        match self.state {
            State::Connecting | State::Connected => {
                self.state = State::Disconnecting;
                self.disconnect_queued = true;
                Ok(())
            }
            _ => Err(CommandError::NotConnected),
        }
    }

    /// CONNACK on a connection waiting for it.
    pub(crate) fn on_connack(&mut self, c: ConnAck) {
        if c.code != ConnectReturnCode::Accepted {
            self.push_packet_event(EventRepr::Refused(c.code));
            self.end_connection(DisconnectReason::Refused(c.code));
            return;
        }
        if c.session_present && self.clean_session {
            self.violation(Violation::SessionPresentWithCleanSession);
            return;
        }
        self.state = State::Connected;
        self.push_packet_event(EventRepr::Connected {
            session_present: c.session_present,
        });
        self.resume(c.session_present);
        // A session exists again, resumed or new.
        self.session_ended = false;
    }
}
