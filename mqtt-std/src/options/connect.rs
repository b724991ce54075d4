//! Options of one connection, the will message, and what a connect returns.

use std::time::Duration;

use mqtt_proto::QoS;
use mqtt_proto::v5::{Properties, Property};
use mqtt_session::{ConnectOptions as SessionConnect, LastWill, ProtocolVersion};

use crate::v5::{ConnAckInfo, ConnectProperties, PublishProperties};

/// Options of one connection (`nxd_mqtt_client_connect`): keep alive, clean session, and how
/// long `connect` may take.
///
/// ```
/// use std::time::Duration;
/// use mqtt_std::ConnectOptions;
///
/// let options = ConnectOptions::default()
///     .keep_alive(30)
///     .clean_session(false)
///     .wait(Duration::from_secs(5));
/// # let _ = options;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    pub(crate) keep_alive: u16,
    pub(crate) clean_session: bool,
    pub(crate) wait: Duration,
    pub(crate) protocol: ProtocolVersion,
    pub(crate) v5: ConnectProperties,
}

impl Default for ConnectOptions {
    /// Keep alive 60 s, clean session on, wait 10 s.
    fn default() -> Self {
        ConnectOptions {
            keep_alive: 60,
            clean_session: true,
            wait: Duration::from_secs(10),
            protocol: ProtocolVersion::V311,
            v5: ConnectProperties::default(),
        }
    }
}

impl ConnectOptions {
    /// Keep alive in seconds; 0 turns it off.
    pub fn keep_alive(mut self, secs: u16) -> Self {
        self.keep_alive = secs;
        self
    }

    /// Clean session (default on). On, the previous session is discarded at `connect`, and the
    /// new one lasts as long as the connection: QoS 1/2 messages still held when it ends are
    /// published again as new messages on the next connection (or reported, see
    /// [`SessionLostPolicy`](mqtt_session::SessionLostPolicy)). Off keeps the session on the
    /// broker and here: QoS 1/2 messages in flight are resent on the next connection, and the
    /// broker queues QoS 1/2 messages for the subscriptions while the client is away.
    pub fn clean_session(mut self, clean: bool) -> Self {
        self.clean_session = clean;
        self
    }

    /// The longest `connect` may take: TCP connection, TLS handshake and CONNACK together.
    pub fn wait(mut self, d: Duration) -> Self {
        self.wait = d;
        self
    }

    /// The configured wait time.
    pub fn wait_time(&self) -> Duration {
        self.wait
    }

    /// The protocol version (default MQTT 3.1.1). With [`ProtocolVersion::V5`] the client
    /// speaks MQTT 5.0: the CONNECT carries the properties set below and the client's
    /// receive limit as Maximum Packet Size
    /// ([`ClientOptions::max_packet_size`](crate::ClientOptions::max_packet_size)); the
    /// broker's limits from CONNACK are honoured (Receive Maximum, Maximum QoS, Retain
    /// Available, Maximum Packet Size, Topic Alias Maximum, Server Keep Alive) and reported
    /// in [`Connected::v5`]; a publish the broker rejects (PUBACK or PUBREC code 0x80 or
    /// more) fails with [`Error::PublishRejected`](crate::Error::PublishRejected), and a
    /// refusal or a DISCONNECT from the broker names its 5.0 reason code. See
    /// [`crate::v5`] for properties, subscription options and reason codes.
    ///
    /// ```
    /// use mqtt_std::{ConnectOptions, ProtocolVersion};
    ///
    /// let options = ConnectOptions::default()
    ///     .protocol(ProtocolVersion::V5)
    ///     .session_expiry(3600)
    ///     .user_property("site", "lab-2");
    /// assert_eq!(options.protocol_version(), ProtocolVersion::V5);
    /// ```
    pub fn protocol(mut self, version: ProtocolVersion) -> Self {
        self.protocol = version;
        self
    }

    /// The configured protocol version.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.protocol
    }

    /// 5.0: the Session Expiry Interval in seconds (section 3.1.2.11.2): how long the broker
    /// keeps the session after the connection ends (0, the default, ends it with the
    /// connection; `u32::MAX` never). With [`ConnectOptions::clean_session`] off and an
    /// interval above 0, the session resumes on the next connection within it. Ignored on
    /// 3.1.1, where clean session alone decides.
    pub fn session_expiry(mut self, secs: u32) -> Self {
        self.v5.session_expiry_interval = Some(secs);
        self
    }

    /// 5.0: the Receive Maximum (section 3.1.2.11.3): how many QoS 1/2 messages the broker
    /// may send before they are acknowledged (default 65,535). 0 is refused at connect.
    pub fn receive_maximum(mut self, n: u16) -> Self {
        self.v5.receive_maximum = Some(n);
        self
    }

    /// 5.0: the Topic Alias Maximum (section 3.1.2.11.5): how many topic aliases the broker
    /// may set on messages to this client (default 0: none).
    pub fn topic_alias_maximum(mut self, n: u16) -> Self {
        self.v5.topic_alias_maximum = Some(n);
        self
    }

    /// 5.0: ask for Response Information in the CONNACK (section 3.1.2.11.6); it comes back
    /// in [`Connected::v5`].
    pub fn request_response_information(mut self, on: bool) -> Self {
        self.v5.request_response_information = on;
        self
    }

    /// 5.0: Request Problem Information (section 3.1.2.11.7; the broker's default is on):
    /// off asks the broker to leave Reason Strings and User Properties out of most packets.
    pub fn request_problem_information(mut self, on: bool) -> Self {
        self.v5.request_problem_information = Some(on);
        self
    }

    /// 5.0: enhanced authentication (section 4.12) with this Authentication Method and, if
    /// given, initial Authentication Data. The broker's challenges go to the handler set with
    /// [`ClientOptions::authentication`](crate::ClientOptions::authentication) (without one,
    /// the client gives up at the first challenge); a broker that does not know the method
    /// refuses with 0x8C "bad authentication method".
    pub fn authentication(mut self, method: impl Into<String>, data: Option<Vec<u8>>) -> Self {
        self.v5.authentication_method = Some(method.into());
        self.v5.authentication_data = data;
        self
    }

    /// 5.0: a User Property of the CONNECT (a name may repeat).
    pub fn user_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.v5.user_properties.push((name.into(), value.into()));
        self
    }

    /// The session's CONNECT for these options, the client id, and the login and will set on
    /// the client (both clients use it). `props` and `will_props` hold the 5.0 property lists
    /// the request borrows ([`ConnectOptions::v5_lists`]).
    pub(crate) fn session_connect<'a>(
        &self,
        client_id: &'a str,
        login: Option<&'a (String, Option<Vec<u8>>)>,
        will: Option<&'a Will>,
        lists: &'a (Vec<Property<'a>>, Vec<Property<'a>>),
    ) -> mqtt_session::ConnectRequest<'a> {
        let c = self.session_connect_311(client_id, login, will);
        match self.protocol {
            ProtocolVersion::V311 => (&c).into(),
            ProtocolVersion::V5 => {
                let mut v5 = c.v5();
                v5.properties = Properties::new(&lists.0);
                v5.will_properties = Properties::new(&lists.1);
                (&v5).into()
            }
        }
    }

    /// The 5.0 CONNECT properties (with `max_packet` as Maximum Packet Size) and will
    /// properties that [`ConnectOptions::session_connect`] borrows; empty on 3.1.1.
    pub(crate) fn v5_lists<'a>(
        &'a self,
        will: Option<&'a Will>,
        max_packet: usize,
    ) -> Result<(Vec<Property<'a>>, Vec<Property<'a>>), crate::Error> {
        if self.protocol != ProtocolVersion::V5 {
            return Ok((Vec::new(), Vec::new()));
        }
        let max = u32::try_from(max_packet).ok().filter(|&n| n < u32::MAX);
        let props = self.v5.to_list(max);
        let mut will_props = Vec::new();
        if let Some(w) = will {
            if let Some(d) = w.delay_interval {
                will_props.push(Property::WillDelayInterval(d));
            }
            will_props.extend(w.properties.to_list().map_err(crate::Error::Invalid)?);
        }
        Ok((props, will_props))
    }

    fn session_connect_311<'a>(
        &self,
        client_id: &'a str,
        login: Option<&'a (String, Option<Vec<u8>>)>,
        will: Option<&'a Will>,
    ) -> SessionConnect<'a> {
        let mut c = SessionConnect::new(client_id);
        c.clean_session = self.clean_session;
        c.keep_alive = self.keep_alive;
        c.username = login.map(|(u, _)| u.as_str());
        c.password = login.and_then(|(_, p)| p.as_deref());
        c.will = will.map(|w| LastWill {
            topic: &w.topic,
            payload: &w.payload,
            qos: w.qos,
            retain: w.retain,
        });
        c
    }
}

/// A will message (`nxd_mqtt_client_will_message_set`): published by the broker when the
/// connection ends without DISCONNECT (on 5.0, also after a DISCONNECT with reason code
/// 0x04, and only once its delay has passed).
///
/// ```
/// use mqtt_std::v5::PublishProperties;
/// use mqtt_std::{QoS, Will};
///
/// let will = Will::new("sensors/17/status", "offline", QoS::AtLeastOnce, true)
///     .delay(30)
///     .properties(PublishProperties::new().content_type("text/plain"));
/// # let _ = will;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Will {
    /// Topic name (no wildcards).
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// QoS.
    pub qos: QoS,
    /// Retain.
    pub retain: bool,
    /// 5.0: its properties (Payload Format Indicator, Message Expiry Interval, Content Type,
    /// Response Topic, Correlation Data, User Properties; not Subscription Identifiers).
    /// Ignored on 3.1.1.
    pub properties: PublishProperties,
    /// 5.0: the Will Delay Interval in seconds: the broker waits that long after the
    /// connection ends (or the session, if sooner) before publishing the will, and not at all
    /// if the client is back in time. Ignored on 3.1.1.
    pub delay_interval: Option<u32>,
}

impl Will {
    /// A will with this topic, payload, QoS and retain flag; no 5.0 properties.
    pub fn new(
        topic: impl Into<String>,
        payload: impl Into<Vec<u8>>,
        qos: QoS,
        retain: bool,
    ) -> Self {
        Will {
            topic: topic.into(),
            payload: payload.into(),
            qos,
            retain,
            properties: PublishProperties::default(),
            delay_interval: None,
        }
    }

    /// 5.0: set its properties.
    pub fn properties(mut self, properties: PublishProperties) -> Self {
        self.properties = properties;
        self
    }

    /// 5.0: set the Will Delay Interval in seconds.
    pub fn delay(mut self, secs: u32) -> Self {
        self.delay_interval = Some(secs);
        self
    }
}

/// The result of a successful connect.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Connected {
    /// The broker resumed a session it kept for this client id (only with clean session off).
    pub session_present: bool,
    /// 5.0: what the CONNACK said besides (assigned client id, the broker's limits, Reason
    /// String, Response Information, Server Reference, User Properties); `None` on 3.1.1.
    pub v5: Option<Box<ConnAckInfo>>,
}
