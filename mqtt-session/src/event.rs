//! What the session tells the application: [`Event`], polled with
//! [`Session::poll_event`](crate::Session::poll_event).

use core::fmt;
use mqtt_proto::{ConnectReturnCode, DecodeError, PacketId, PacketType, QoS, SubAckReturnCode};

use crate::store::Outgoing;

/// Something the application should know. Borrowed events ([`Event::Message`],
/// [`Event::Subscribed`], [`Event::PublishDropped`]) point into the session's own buffers and
/// stay valid until the next call on the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// CONNACK with return code 0: the connection is up and commands are accepted.
    Connected {
        /// The broker resumed a stored session (only possible with clean session off).
        session_present: bool,
    },
    /// CONNACK with a non-zero return code. A [`Event::Disconnected`] with
    /// [`DisconnectReason::Refused`] follows.
    ConnectionRefused {
        /// The broker's reason (never [`ConnectReturnCode::Accepted`]).
        code: ConnectReturnCode,
    },
    /// An application message from the broker. Already acknowledged according to its QoS; a
    /// QoS 2 message is delivered once even if the broker sends it again before PUBREL.
    Message(Message<'a>),
    /// PUBACK: a QoS 1 publish is done and its packet identifier free again.
    PublishAcknowledged {
        /// The identifier [`Session::publish`](crate::Session::publish) returned.
        packet_id: PacketId,
    },
    /// PUBCOMP: a QoS 2 publish is done and its packet identifier free again.
    PublishCompleted {
        /// The identifier [`Session::publish`](crate::Session::publish) returned.
        packet_id: PacketId,
    },
    /// A held QoS 1/2 message was removed because its session ended (see
    /// [`SessionLostPolicy`](crate::SessionLostPolicy)), with its topic, payload and 5.0
    /// properties so that the application can publish it again. Oldest first. Under
    /// [`SessionLostPolicy::Drop`](crate::SessionLostPolicy::Drop) every held message ends so;
    /// under `Resend` only one for which no packet identifier was free (all 65,535 in use).
    PublishDropped(Outgoing<'a>),
    /// Under [`SessionLostPolicy::Resend`](crate::SessionLostPolicy::Resend): the session of a
    /// QoS 2 publish ended after the broker's PUBREC and before its PUBCOMP. The broker accepted
    /// the message (it owns its delivery from PUBREC on), so it is not published again, which
    /// could deliver it twice; no PUBREL goes out for it either, since the session it belonged
    /// to is gone [MQTT-3.1.2-6]. The message is finished and its identifier free.
    PublishAcceptedSessionEnded {
        /// The identifier [`Session::publish`](crate::Session::publish) returned.
        packet_id: PacketId,
    },
    /// Under [`SessionLostPolicy::Resend`](crate::SessionLostPolicy::Resend): the session of a
    /// held QoS 1/2 message (QoS 2 only before PUBREC) ended, so it is published again as a new
    /// message, DUP=0, under a new packet identifier: nothing of the ended session is used
    /// again [MQTT-3.1.2-6]. Its completion is reported under `new` from now on.
    Republished {
        /// The identifier it had.
        old: PacketId,
        /// The identifier it goes out with from now on.
        new: PacketId,
    },
    /// SUBACK: one result per filter, in the order of the request.
    Subscribed {
        /// The identifier [`Session::subscribe`](crate::Session::subscribe) returned.
        packet_id: PacketId,
        /// Granted QoS or failure (0x80), per filter.
        results: SubscribeResults<'a>,
    },
    /// UNSUBACK.
    Unsubscribed {
        /// The identifier [`Session::unsubscribe`](crate::Session::unsubscribe) returned.
        packet_id: PacketId,
    },
    /// The connection is over (reported once per connection): close the transport (gracefully
    /// after [`DisconnectReason::Local`]: half-close, then read until the broker closes or a
    /// linger passes; see the crate docs), then call
    /// [`Session::handle_transport_closed`](crate::Session::handle_transport_closed). The
    /// session state (messages in flight, QoS 2 ids awaiting PUBREL) is kept for the next
    /// connection; SUBSCRIBE/UNSUBSCRIBE requests still pending are forgotten.
    Disconnected {
        /// Why.
        reason: DisconnectReason,
    },
    /// 5.0 (feature `v5`): an acknowledgement or DISCONNECT from the broker with its reason
    /// code(s) and properties, reported just before the event of its outcome (`Connected`,
    /// `Disconnected`, `PublishAcknowledged`, `PublishRejected`, `PublishCompleted`,
    /// `Subscribed`, `Unsubscribed`). Always for CONNACK, UNSUBACK and DISCONNECT; for SUBACK
    /// when it has properties; for PUBACK, PUBREC and PUBCOMP when the code is not 0x00 or it
    /// has properties. See [`crate::v5`].
    #[cfg(feature = "v5")]
    Response(crate::v5::Response<'a>),
    /// 5.0 (feature `v5`): the broker answered a QoS 1/2 publish with a PUBACK or PUBREC code
    /// of 0x80 or more: the message was not accepted, the flow is over (no PUBREL follows) and
    /// its packet identifier is free again [MQTT-3.3.4-7]. The preceding
    /// [`Event::Response`] carries the Reason String, if any.
    #[cfg(feature = "v5")]
    PublishRejected {
        /// The identifier [`Session::publish`](crate::Session::publish) returned.
        packet_id: PacketId,
        /// The reason code (PUBREC's codes are PUBACK's).
        reason_code: mqtt_proto::v5::PubAckReasonCode,
    },
    /// 5.0 (feature `v5`): the broker's AUTH 0x18 Continue authentication, during connect or
    /// a re-authentication (section 4.12): the Authentication Method needs another step.
    /// Answer with [`Session::auth_continue`](crate::Session::auth_continue) (AUTH 0x18 with
    /// the application's Authentication Data), or give up with
    /// [`Session::abort_auth`](crate::Session::abort_auth). Until then the broker's next AUTH
    /// or successful CONNACK would be out of turn
    /// ([`Violation::AuthBeforeAnswer`]). While connecting, the CONNACK timeout keeps running.
    #[cfg(feature = "v5")]
    AuthContinue {
        /// The Authentication Method: the CONNECT's (checked [MQTT-4.12.0-5]).
        method: &'a str,
        /// The broker's Authentication Data, if any.
        data: Option<&'a [u8]>,
        /// The Reason String, if any.
        reason_string: Option<&'a str>,
        /// Every property of the AUTH (User Properties among them).
        properties: mqtt_proto::v5::Properties<'a>,
    },
    /// 5.0 (feature `v5`): the broker's AUTH 0x00 Success ended the re-authentication
    /// [`Session::reauthenticate`](crate::Session::reauthenticate) started (section 4.12.1).
    /// Its Authentication Data, if any, is for the application to verify
    /// ([`Session::abort_auth`](crate::Session::abort_auth) if it does not).
    #[cfg(feature = "v5")]
    Reauthenticated {
        /// The Authentication Method: the CONNECT's (checked [MQTT-4.12.0-5]).
        method: &'a str,
        /// The broker's Authentication Data, if any.
        data: Option<&'a [u8]>,
        /// The Reason String, if any.
        reason_string: Option<&'a str>,
        /// Every property of the AUTH (User Properties among them).
        properties: mqtt_proto::v5::Properties<'a>,
    },
    /// 5.0 (feature `v5`): a held QoS 1/2 message the broker of this connection does not
    /// take, as its CONNACK says (the message was published offline, queued, or held from a
    /// connection that allowed it): larger than its Maximum Packet Size [MQTT-3.2.2-15],
    /// above its Maximum QoS [MQTT-3.2.2-11], or retained when Retain Available is 0
    /// [MQTT-3.2.2-14]. It cannot be sent, so it is removed and its packet identifier is free
    /// again; `reason` is the error `publish` would have given for it on this connection.
    #[cfg(feature = "v5")]
    PublishNotSendable {
        /// The identifier [`Session::publish`](crate::Session::publish) returned (or the one
        /// [`Event::Republished`] gave it).
        packet_id: PacketId,
        /// [`CommandError::PacketTooLargeForServer`](crate::CommandError::PacketTooLargeForServer),
        /// [`CommandError::QoSNotSupported`](crate::CommandError::QoSNotSupported) or
        /// [`CommandError::RetainNotSupported`](crate::CommandError::RetainNotSupported).
        reason: crate::CommandError,
    },
    /// 5.0 (feature `v5`): a held QoS 1/2 message published with a Message Expiry Interval
    /// expired before its PUBLISH was ever written (it waited in the queue, offline, or for
    /// a reconnect): it was not sent, it is removed, and its packet identifier is free
    /// again. A message whose PUBLISH was written once is never ended so: it is sent again
    /// on resumption however late, with a Message Expiry Interval of 0 [MQTT-4.4.0-1,
    /// MQTT-4.3.3-7], and completes as usual. See
    /// [`Session::publish_with`](crate::Session::publish_with).
    #[cfg(feature = "v5")]
    PublishExpired {
        /// The identifier [`Session::publish_with`](crate::Session::publish_with) returned
        /// (or the one [`Event::Republished`] gave it).
        packet_id: PacketId,
    },
}

/// An incoming application message, borrowed from the session's receive buffer. To keep it, or
/// to call the session in reaction to it, copy it first: `Message::to_owned` (feature `alloc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// Topic name.
    pub topic: &'a str,
    /// Payload.
    pub payload: &'a [u8],
    /// QoS it was delivered with.
    pub qos: QoS,
    /// RETAIN flag.
    pub retain: bool,
    /// DUP flag as received.
    pub dup: bool,
    /// Packet identifier (QoS 1 and 2).
    pub packet_id: Option<PacketId>,
    /// 5.0 PUBLISH properties (feature `v5`; empty on a 3.1.1 connection). A Topic Alias has
    /// been resolved already: [`Message::topic`] is the topic name.
    /// [`Message::to_owned`] does not keep them.
    #[cfg(feature = "v5")]
    pub properties: mqtt_proto::v5::Properties<'a>,
}

impl Message<'_> {
    /// An owned copy (feature `alloc`), to keep the message past the next call on the session.
    ///
    /// A `Message` borrows the session's receive buffer, so the [`Event`] it came in keeps the
    /// session borrowed (`poll_event` takes `&mut self`). Using `m.topic` or `m.payload` in a
    /// call on the session, such as publishing in reaction to the message, is then a second
    /// mutable borrow and does not compile (E0499):
    ///
    /// ```compile_fail,E0499
    /// # use mqtt_session::{Config, Event, FixedStore, Instant, QoS, Session};
    /// # let mut session = Session::new(Config::default(), FixedStore::<4, 256>::new(), [0u8; 256], [0u8; 256]);
    /// # let now = Instant::ZERO;
    /// if let Some(Event::Message(m)) = session.poll_event() {
    ///     // error[E0499]: cannot borrow `session` as mutable more than once at a time
    ///     session.publish(now, "echo", m.payload, QoS::AtMostOnce, false);
    /// }
    /// ```
    ///
    /// Copy what you need first; the borrow ends with the last use of `m`:
    ///
    /// ```
    /// use mqtt_session::{Config, ConnectOptions, Event, FixedStore, Instant, QoS, Session};
    ///
    /// let mut session = Session::new(
    ///     Config::default(),
    ///     FixedStore::<4, 256>::new(),
    ///     [0u8; 256],
    ///     [0u8; 256],
    /// );
    /// let mut out = [0u8; 256];
    /// let now = Instant::ZERO;
    /// session.handle_transport_up(now);
    /// session.connect(now, &ConnectOptions::new("echo")).unwrap();
    /// session.poll_transmit(now, &mut out).unwrap(); // CONNECT
    /// // CONNACK, then a QoS 0 PUBLISH of "hi" on "in".
    /// session.handle_receive(now, b"\x20\x02\x00\x00\x30\x06\x00\x02inhi");
    /// assert!(matches!(session.poll_event(), Some(Event::Connected { .. })));
    ///
    /// if let Some(Event::Message(m)) = session.poll_event() {
    ///     let m = m.to_owned(); // the session is free again
    ///     assert_eq!((m.topic.as_str(), m.payload.as_slice()), ("in", &b"hi"[..]));
    ///     session.publish(now, "echo", &m.payload, QoS::AtMostOnce, false).unwrap();
    /// }
    /// let n = session.poll_transmit(now, &mut out).unwrap().unwrap();
    /// assert_eq!(&out[..n], b"\x30\x08\x00\x04echohi");
    /// ```
    #[cfg(feature = "alloc")]
    pub fn to_owned(&self) -> OwnedMessage {
        OwnedMessage {
            topic: alloc::string::String::from(self.topic),
            payload: alloc::vec::Vec::from(self.payload),
            qos: self.qos,
            retain: self.retain,
            dup: self.dup,
            packet_id: self.packet_id,
        }
    }
}

/// An incoming application message that owns its topic and payload (feature `alloc`): made by
/// [`Message::to_owned`], it does not borrow the session.
#[cfg(feature = "alloc")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OwnedMessage {
    /// Topic name.
    pub topic: alloc::string::String,
    /// Payload.
    pub payload: alloc::vec::Vec<u8>,
    /// QoS it was delivered with.
    pub qos: QoS,
    /// RETAIN flag.
    pub retain: bool,
    /// DUP flag as received.
    pub dup: bool,
    /// Packet identifier (QoS 1 and 2).
    pub packet_id: Option<PacketId>,
}

#[cfg(feature = "alloc")]
impl OwnedMessage {
    /// The message borrowed again, as a [`Message`].
    pub fn as_message(&self) -> Message<'_> {
        Message {
            topic: &self.topic,
            payload: &self.payload,
            qos: self.qos,
            retain: self.retain,
            dup: self.dup,
            packet_id: self.packet_id,
            #[cfg(feature = "v5")]
            properties: mqtt_proto::v5::Properties::EMPTY,
        }
    }
}

#[cfg(feature = "alloc")]
impl From<Message<'_>> for OwnedMessage {
    fn from(m: Message<'_>) -> Self {
        m.to_owned()
    }
}

/// The return codes of a SUBACK, one per requested filter (validated: 0x00, 0x01, 0x02, 0x80).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SubscribeResults<'a>(pub(crate) &'a [u8]);

impl<'a> SubscribeResults<'a> {
    /// Number of results (equal to the number of filters requested).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true for a delivered event; present for completeness.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Result for the `i`-th filter.
    pub fn get(&self, i: usize) -> Option<SubAckReturnCode> {
        self.0.get(i).map(|&b| return_code(b))
    }

    /// Results in request order.
    pub fn iter(&self) -> impl Iterator<Item = SubAckReturnCode> + 'a {
        self.0.iter().map(|&b| return_code(b))
    }

    /// The raw return code bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
}

impl fmt::Debug for SubscribeResults<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

fn return_code(b: u8) -> SubAckReturnCode {
    match b {
        0 => SubAckReturnCode::Success(QoS::AtMostOnce),
        1 => SubAckReturnCode::Success(QoS::AtLeastOnce),
        2 => SubAckReturnCode::Success(QoS::ExactlyOnce),
        _ => SubAckReturnCode::Failure,
    }
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// [`Session::disconnect`](crate::Session::disconnect): DISCONNECT was sent.
    Local,
    /// [`Session::handle_transport_closed`](crate::Session::handle_transport_closed) while the
    /// connection was up.
    TransportClosed,
    /// No PINGRESP within [`Config::ping_timeout`](crate::Config::ping_timeout) (at most the keep
    /// alive) of a PINGREQ.
    KeepAliveTimeout,
    /// No CONNACK within [`Config::connack_timeout`](crate::Config::connack_timeout).
    ConnAckTimeout,
    /// CONNACK refused the connection.
    Refused(ConnectReturnCode),
    /// An incoming packet is larger than the configured maximum or the receive buffer.
    IncomingPacketTooLarge,
    /// The store could not record an incoming QoS 2 packet id, so it could not be acknowledged
    /// safely.
    StoreFull,
    /// The broker broke the protocol [MQTT-4.8.0-1]. On a 5.0 connection a DISCONNECT with the
    /// reason code that names the error went out first (when it could).
    ProtocolViolation(Violation),
    /// 5.0 (feature `v5`): CONNACK refused the connection with this reason code (0x80 or
    /// more; 0x9C Use another server and 0x9D Server moved come with a Server Reference in
    /// the preceding [`Event::Response`]).
    #[cfg(feature = "v5")]
    RefusedV5(mqtt_proto::v5::ConnectReasonCode),
    /// 5.0 (feature `v5`): the broker sent DISCONNECT with this reason code; its Reason String
    /// and Server Reference are in the preceding [`Event::Response`].
    #[cfg(feature = "v5")]
    Server(mqtt_proto::v5::DisconnectReasonCode),
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::Local => f.write_str("disconnected by the client"),
            DisconnectReason::TransportClosed => f.write_str("transport closed"),
            DisconnectReason::KeepAliveTimeout => f.write_str("no PINGRESP (keep-alive timeout)"),
            DisconnectReason::ConnAckTimeout => f.write_str("no CONNACK (timeout)"),
            DisconnectReason::Refused(code) => write!(f, "connection refused: {code:?}"),
            DisconnectReason::IncomingPacketTooLarge => f.write_str("incoming packet too large"),
            DisconnectReason::StoreFull => f.write_str("store full for incoming QoS 2"),
            DisconnectReason::ProtocolViolation(v) => {
                write!(f, "protocol violation by the broker: {v} [{}]", v.rule())
            }
            #[cfg(feature = "v5")]
            DisconnectReason::RefusedV5(code) => write!(f, "connection refused: {code}"),
            #[cfg(feature = "v5")]
            DisconnectReason::Server(code) => write!(f, "disconnected by the broker: {code}"),
        }
    }
}

/// A protocol violation by the broker. [`Violation::rule`] names the normative statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Violation {
    /// The bytes are not a valid packet.
    Malformed(DecodeError),
    /// A packet a client never receives (CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT).
    UnexpectedPacket(PacketType),
    /// The first packet was not CONNACK [MQTT-3.2.0-1].
    ConnAckNotFirst(PacketType),
    /// A second CONNACK on the same connection [MQTT-3.2.0-1].
    DuplicateConnAck,
    /// Session present set although the client asked for a clean session [MQTT-3.2.2-1].
    SessionPresentWithCleanSession,
    /// 5.0: session present set although the client's session had ended (its Session Expiry
    /// Interval was 0, or its state belonged to another client id), so it has no session
    /// state [MQTT-3.2.2-4]; DISCONNECT 0x82.
    SessionPresentWithoutSession,
    /// SUBACK for a packet identifier with no SUBSCRIBE pending [MQTT-3.8.4-2].
    UnexpectedSubAck(PacketId),
    /// SUBACK with a return-code count different from the SUBSCRIBE's filter count
    /// [MQTT-3.8.4-5].
    SubAckCountMismatch {
        /// Filters in the SUBSCRIBE.
        expected: usize,
        /// Return codes in the SUBACK.
        received: usize,
    },
    /// UNSUBACK for a packet identifier with no UNSUBSCRIBE pending [MQTT-3.10.4-4].
    UnexpectedUnsubAck(PacketId),
    /// 5.0: AUTH, or an Authentication Method in a successful CONNACK, although the CONNECT
    /// had no Authentication Method [MQTT-4.12.0-6]; DISCONNECT 0x82.
    UnexpectedAuth,
    /// 5.0: an AUTH, or a successful CONNACK, without the CONNECT's Authentication Method or
    /// with another one [MQTT-4.12.0-5]; DISCONNECT 0x82.
    AuthMethodMismatch,
    /// 5.0: AUTH 0x19 Re-authenticate from the broker: only a client sends it (section
    /// 3.15.2.1) [MQTT-3.15.2-1]; DISCONNECT 0x82.
    ReAuthenticateFromServer,
    /// 5.0: AUTH 0x00 Success before CONNACK: during connect the broker continues the
    /// exchange with AUTH 0x18 [MQTT-4.12.0-2] and ends it with CONNACK; DISCONNECT 0x82.
    AuthSuccessBeforeConnAck,
    /// 5.0: an AUTH, or a successful CONNACK, before we answered the broker's previous AUTH
    /// 0x18: the exchange alternates, the client answers each AUTH of the broker's with one
    /// of its own [MQTT-4.12.0-3]; DISCONNECT 0x82.
    AuthBeforeAnswer,
    /// 5.0: AUTH 0x00 or 0x18 after CONNACK with no re-authentication of ours in progress:
    /// only the client starts one [MQTT-4.12.1-1]; DISCONNECT 0x82. Holds the reason code.
    UnsolicitedAuth(u8),
    /// 5.0: more unacknowledged QoS 1/2 PUBLISH packets than our Receive Maximum
    /// [MQTT-3.3.4-9]; DISCONNECT 0x93.
    ReceiveMaximumExceeded,
    /// 5.0: a Topic Alias above the Topic Alias Maximum we sent [MQTT-3.3.2-11]; DISCONNECT
    /// 0x94.
    TopicAliasInvalid(u16),
    /// 5.0: a PUBLISH with an empty topic and a Topic Alias the broker never set on this
    /// connection (section 3.3.2.3.4); DISCONNECT 0x82.
    UnknownTopicAlias(u16),
    /// 5.0: UNSUBACK with a reason-code count different from the UNSUBSCRIBE's filter count
    /// [MQTT-3.11.3-1].
    UnsubAckCountMismatch {
        /// Filters in the UNSUBSCRIBE.
        expected: usize,
        /// Reason codes in the UNSUBACK.
        received: usize,
    },
    /// 5.0: DISCONNECT from the broker with a Session Expiry Interval [MQTT-3.14.2-2].
    SessionExpiryInServerDisconnect,
}

impl Violation {
    /// The normative statement broken (or the closest one the spec numbers).
    pub fn rule(&self) -> &'static str {
        match self {
            Violation::Malformed(e) => e.rule().unwrap_or("MQTT-4.8.0-1"),
            Violation::UnexpectedPacket(_) => "MQTT-4.8.0-1",
            Violation::ConnAckNotFirst(_) | Violation::DuplicateConnAck => "MQTT-3.2.0-1",
            Violation::SessionPresentWithCleanSession => "MQTT-3.2.2-1",
            Violation::SessionPresentWithoutSession => "MQTT-3.2.2-4",
            Violation::UnexpectedSubAck(_) => "MQTT-3.8.4-2",
            Violation::SubAckCountMismatch { .. } => "MQTT-3.8.4-5",
            Violation::UnexpectedUnsubAck(_) => "MQTT-3.10.4-4",
            Violation::UnexpectedAuth => "MQTT-4.12.0-6",
            Violation::AuthMethodMismatch => "MQTT-4.12.0-5",
            Violation::ReAuthenticateFromServer => "MQTT-3.15.2-1",
            Violation::AuthSuccessBeforeConnAck => "MQTT-4.12.0-2",
            Violation::AuthBeforeAnswer => "MQTT-4.12.0-3",
            Violation::UnsolicitedAuth(_) => "MQTT-4.12.1-1",
            Violation::ReceiveMaximumExceeded => "MQTT-3.3.4-9",
            Violation::TopicAliasInvalid(_) | Violation::UnknownTopicAlias(_) => "MQTT-3.3.2-11",
            Violation::UnsubAckCountMismatch { .. } => "MQTT-3.11.3-1",
            Violation::SessionExpiryInServerDisconnect => "MQTT-3.14.2-2",
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Malformed(e) => write!(f, "malformed packet: {e:?}"),
            Violation::UnexpectedPacket(t) => write!(f, "a client never receives {t:?}"),
            Violation::ConnAckNotFirst(t) => write!(f, "{t:?} before CONNACK"),
            Violation::DuplicateConnAck => f.write_str("second CONNACK"),
            Violation::SessionPresentWithCleanSession => {
                f.write_str("session present with clean session")
            }
            Violation::SessionPresentWithoutSession => {
                f.write_str("session present although the client's session had ended")
            }
            Violation::UnexpectedSubAck(id) => write!(f, "SUBACK for unknown id {}", id.0),
            Violation::SubAckCountMismatch { expected, received } => write!(
                f,
                "SUBACK with {received} return codes for {expected} filters"
            ),
            Violation::UnexpectedUnsubAck(id) => write!(f, "UNSUBACK for unknown id {}", id.0),
            Violation::UnexpectedAuth => f.write_str("AUTH without an Authentication Method"),
            Violation::AuthMethodMismatch => {
                f.write_str("Authentication Method absent or not the CONNECT's")
            }
            Violation::ReAuthenticateFromServer => f.write_str("AUTH 0x19 from the broker"),
            Violation::AuthSuccessBeforeConnAck => f.write_str("AUTH 0x00 before CONNACK"),
            Violation::AuthBeforeAnswer => f.write_str("AUTH or CONNACK before our AUTH answer"),
            Violation::UnsolicitedAuth(code) => {
                write!(f, "AUTH 0x{code:02X} with no re-authentication")
            }
            Violation::ReceiveMaximumExceeded => f.write_str("Receive Maximum exceeded"),
            Violation::TopicAliasInvalid(a) => write!(f, "Topic Alias {a} above our maximum"),
            Violation::UnknownTopicAlias(a) => write!(f, "Topic Alias {a} never set"),
            Violation::UnsubAckCountMismatch { expected, received } => write!(
                f,
                "UNSUBACK with {received} reason codes for {expected} filters"
            ),
            Violation::SessionExpiryInServerDisconnect => {
                f.write_str("Session Expiry Interval in the broker's DISCONNECT")
            }
        }
    }
}

impl core::error::Error for Violation {}
