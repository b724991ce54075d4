//! MQTT 5.0 for both clients: the properties of a publish and of a received message, the
//! CONNECT properties, subscription options, and the reason codes acknowledgements carry.
//!
//! A client speaks 5.0 when its [`ConnectOptions`](crate::ConnectOptions) say
//! [`ProtocolVersion::V5`](crate::ProtocolVersion::V5). Everything here is owned (`String`,
//! `Vec`), so it can be kept, sent to another thread or built ahead of time; an empty
//! [`PublishProperties`] costs no allocation.
//!
//! ```
//! use mqtt_std::v5::{PublishProperties, RetainHandling, SubscribeOptions};
//! use mqtt_std::QoS;
//!
//! let props = PublishProperties::new()
//!     .content_type("application/json")
//!     .message_expiry(60)
//!     .user_property("unit", "celsius");
//! assert_eq!(props.user_properties, [("unit".to_string(), "celsius".to_string())]);
//!
//! let options = SubscribeOptions::new(QoS::AtLeastOnce)
//!     .no_local(true)
//!     .retain_handling(RetainHandling::SendIfNew);
//! # let _ = options;
//! ```

use mqtt_proto::v5::{Properties, Property};
use mqtt_proto::{QoS, TopicName};

pub use mqtt_proto::v5::{
    ConnectReasonCode, DisconnectReasonCode, PubAckReasonCode, RetainHandling, SubAckReasonCode,
    UnsubAckReasonCode,
};
pub use mqtt_session::ServerLimits;

/// The 5.0 properties of an application message (section 3.3.2.3): given to
/// [`Client::publish_with`](crate::Client::publish_with), carried by a received
/// [`Message`](crate::Message) and a [`Will`](crate::Will).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PublishProperties {
    /// Payload Format Indicator: `Some(true)` says the payload is UTF-8 text.
    pub payload_format_utf8: Option<bool>,
    /// Message Expiry Interval in seconds: the broker drops the message once it has waited
    /// that long for a subscriber.
    pub message_expiry_interval: Option<u32>,
    /// Content Type (a MIME type, by convention).
    pub content_type: Option<String>,
    /// Response Topic: where a responder should publish its answer (a topic name, no
    /// wildcards).
    pub response_topic: Option<String>,
    /// Correlation Data: binary data a requester uses to match a response to its request.
    pub correlation_data: Option<Vec<u8>>,
    /// User Properties, name and value, in order (a name may repeat).
    pub user_properties: Vec<(String, String)>,
    /// Subscription Identifiers of the subscriptions a received message matched (set by the
    /// broker; a publish must leave it empty [MQTT-3.3.4-6]).
    pub subscription_identifiers: Vec<u32>,
    /// The Topic Alias a received message came with, if any (set by the broker; the
    /// message's topic is the name it stands for). A publish must leave it `None`: the client
    /// sets outgoing aliases itself
    /// ([`ClientOptions::topic_aliases`](crate::ClientOptions::topic_aliases)), and one given
    /// here is refused with [`Error::Command`](crate::Error::Command)
    /// (`PropertyNotAllowed`).
    pub topic_alias: Option<u16>,
}

impl PublishProperties {
    /// No properties.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.payload_format_utf8.is_none()
            && self.message_expiry_interval.is_none()
            && self.content_type.is_none()
            && self.response_topic.is_none()
            && self.correlation_data.is_none()
            && self.user_properties.is_empty()
            && self.subscription_identifiers.is_empty()
            && self.topic_alias.is_none()
    }

    /// Set the Payload Format Indicator (`true`: UTF-8 text).
    pub fn payload_utf8(mut self, utf8: bool) -> Self {
        self.payload_format_utf8 = Some(utf8);
        self
    }

    /// Set the Message Expiry Interval in seconds.
    pub fn message_expiry(mut self, secs: u32) -> Self {
        self.message_expiry_interval = Some(secs);
        self
    }

    /// Set the Content Type.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Set the Response Topic.
    pub fn response_topic(mut self, topic: impl Into<String>) -> Self {
        self.response_topic = Some(topic.into());
        self
    }

    /// Set the Correlation Data.
    pub fn correlation_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.correlation_data = Some(data.into());
        self
    }

    /// Add a User Property.
    pub fn user_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.user_properties.push((name.into(), value.into()));
        self
    }

    /// The properties as the session takes them, borrowing from `self`; `None` if the
    /// Response Topic is not a valid topic name (the error the session would give).
    pub(crate) fn to_list(&self) -> Result<Vec<Property<'_>>, mqtt_proto::DecodeError> {
        let mut list = Vec::new();
        if let Some(utf8) = self.payload_format_utf8 {
            list.push(Property::PayloadFormatIndicator(utf8));
        }
        if let Some(secs) = self.message_expiry_interval {
            list.push(Property::MessageExpiryInterval(secs));
        }
        if let Some(ct) = &self.content_type {
            list.push(Property::ContentType(ct));
        }
        if let Some(t) = &self.response_topic {
            list.push(Property::ResponseTopic(TopicName::new(t)?));
        }
        if let Some(d) = &self.correlation_data {
            list.push(Property::CorrelationData(d));
        }
        for (k, v) in &self.user_properties {
            list.push(Property::UserProperty(k, v));
        }
        for id in &self.subscription_identifiers {
            list.push(Property::SubscriptionIdentifier(*id));
        }
        if let Some(a) = self.topic_alias {
            list.push(Property::TopicAlias(a));
        }
        Ok(list)
    }

    /// An owned copy of a received PUBLISH's properties (with the Topic Alias it used, which
    /// the session resolved already).
    pub(crate) fn received(p: &Properties<'_>) -> Self {
        let mut out = Self::default();
        if p.is_empty() {
            return out;
        }
        for prop in p.iter() {
            match prop {
                Property::PayloadFormatIndicator(b) => out.payload_format_utf8 = Some(b),
                Property::MessageExpiryInterval(s) => out.message_expiry_interval = Some(s),
                Property::ContentType(s) => out.content_type = Some(s.to_owned()),
                Property::ResponseTopic(t) => out.response_topic = Some(t.as_str().to_owned()),
                Property::CorrelationData(d) => out.correlation_data = Some(d.to_vec()),
                Property::UserProperty(k, v) => {
                    out.user_properties.push((k.to_owned(), v.to_owned()));
                }
                Property::SubscriptionIdentifier(id) => out.subscription_identifiers.push(id),
                Property::TopicAlias(a) => out.topic_alias = Some(a),
                _ => {}
            }
        }
        out
    }

    /// Bytes of the strings and binary data it holds (for the receive queue's byte budget).
    pub(crate) fn size(&self) -> usize {
        let strings = [&self.content_type, &self.response_topic]
            .iter()
            .filter_map(|s| s.as_ref().map(String::len))
            .sum::<usize>();
        let user: usize = self
            .user_properties
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum();
        strings + user + self.correlation_data.as_ref().map_or(0, Vec::len)
    }
}

/// Subscription Options of one filter (section 3.8.3.1), for
/// [`Client::subscribe_with`](crate::Client::subscribe_with).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscribeOptions {
    /// Maximum QoS the broker may deliver with.
    pub qos: QoS,
    /// No Local: the broker does not send the client its own publications (not allowed on
    /// a shared subscription [MQTT-3.8.3-4]).
    pub no_local: bool,
    /// Retain As Published: forwarded messages keep the RETAIN flag they were published with.
    pub retain_as_published: bool,
    /// Retain Handling: when retained messages are sent for this subscription.
    pub retain_handling: RetainHandling,
}

impl SubscribeOptions {
    /// This maximum QoS, every other option off (retained messages sent at subscribe).
    pub const fn new(qos: QoS) -> Self {
        SubscribeOptions {
            qos,
            no_local: false,
            retain_as_published: false,
            retain_handling: RetainHandling::SendAtSubscribe,
        }
    }

    /// Set No Local.
    pub const fn no_local(mut self, on: bool) -> Self {
        self.no_local = on;
        self
    }

    /// Set Retain As Published.
    pub const fn retain_as_published(mut self, on: bool) -> Self {
        self.retain_as_published = on;
        self
    }

    /// Set Retain Handling.
    pub const fn retain_handling(mut self, handling: RetainHandling) -> Self {
        self.retain_handling = handling;
        self
    }

    pub(crate) const fn wire(self) -> mqtt_proto::v5::SubscriptionOptions {
        mqtt_proto::v5::SubscriptionOptions {
            qos: self.qos,
            no_local: self.no_local,
            retain_as_published: self.retain_as_published,
            retain_handling: self.retain_handling,
        }
    }
}

impl From<QoS> for SubscribeOptions {
    fn from(qos: QoS) -> Self {
        SubscribeOptions::new(qos)
    }
}

/// The CONNECT properties a 5.0 connection sends (section 3.1.2.11), set through
/// [`ConnectOptions`](crate::ConnectOptions). The Maximum Packet Size is not among them: the
/// client always advertises its receive limit,
/// [`ClientOptions::max_packet_size`](crate::ClientOptions::max_packet_size).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ConnectProperties {
    pub(crate) session_expiry_interval: Option<u32>,
    pub(crate) receive_maximum: Option<u16>,
    pub(crate) topic_alias_maximum: Option<u16>,
    pub(crate) request_response_information: bool,
    pub(crate) request_problem_information: Option<bool>,
    pub(crate) user_properties: Vec<(String, String)>,
    pub(crate) authentication_method: Option<String>,
    pub(crate) authentication_data: Option<Vec<u8>>,
}

impl ConnectProperties {
    /// The property list, with `max_packet` as the Maximum Packet Size.
    pub(crate) fn to_list(&self, max_packet: Option<u32>) -> Vec<Property<'_>> {
        let mut list = Vec::new();
        if let Some(s) = self.session_expiry_interval {
            list.push(Property::SessionExpiryInterval(s));
        }
        if let Some(n) = self.receive_maximum {
            list.push(Property::ReceiveMaximum(n));
        }
        if let Some(n) = max_packet {
            list.push(Property::MaximumPacketSize(n));
        }
        if let Some(n) = self.topic_alias_maximum {
            list.push(Property::TopicAliasMaximum(n));
        }
        if self.request_response_information {
            list.push(Property::RequestResponseInformation(true));
        }
        if let Some(b) = self.request_problem_information {
            list.push(Property::RequestProblemInformation(b));
        }
        for (k, v) in &self.user_properties {
            list.push(Property::UserProperty(k, v));
        }
        if let Some(m) = &self.authentication_method {
            list.push(Property::AuthenticationMethod(m));
        }
        if let Some(d) = &self.authentication_data {
            list.push(Property::AuthenticationData(d));
        }
        list
    }
}

/// A step of enhanced authentication the broker asks for (its AUTH 0x18 Continue
/// authentication, section 4.12), handed to the handler set with
/// [`ClientOptions::authentication`](crate::ClientOptions::authentication).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthChallenge {
    /// The Authentication Method (the CONNECT's).
    pub method: String,
    /// The broker's Authentication Data, if any.
    pub data: Option<Vec<u8>>,
    /// The Reason String, if any.
    pub reason_string: Option<String>,
    /// Whether this is a re-authentication
    /// ([`Client::reauthenticate`](crate::Client::reauthenticate)) rather than the connect.
    pub reauthenticating: bool,
}

/// The handler's answer to an [`AuthChallenge`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthAnswer {
    /// Continue: AUTH 0x18 with this Authentication Data (or none).
    Continue(Option<Vec<u8>>),
    /// Give up: the client sends DISCONNECT 0x80 and the connection ends.
    Abort,
}

/// What a 5.0 CONNACK said beyond "accepted" (see [`Connected::v5`](crate::Connected::v5)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnAckInfo {
    /// The client id the broker assigned (the CONNECT had an empty one).
    pub assigned_client_id: Option<String>,
    /// The broker's limits and the keep alive and session expiry in force.
    pub server: Option<ServerLimits>,
    /// Response Information (asked for with
    /// [`ConnectOptions::request_response_information`](crate::ConnectOptions::request_response_information)).
    pub response_information: Option<String>,
    /// Reason String.
    pub reason_string: Option<String>,
    /// Server Reference (another server to use).
    pub server_reference: Option<String>,
    /// User Properties.
    pub user_properties: Vec<(String, String)>,
    /// Enhanced authentication: the broker's last Authentication Data (e.g. SCRAM's server
    /// signature, for the application to verify).
    pub authentication_data: Option<Vec<u8>>,
    /// The limits and settings among the CONNACK's properties, as the broker sent them
    /// (`None` where it sent none; [`ConnAckInfo::server`] has the values in force).
    pub sent: ConnAckProperties,
}

/// The limit and setting properties of a 5.0 CONNACK (section 3.2.2.3) as the broker sent
/// them: `None` for each one it left out (the standard's default then applies).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnAckProperties {
    /// Session Expiry Interval.
    pub session_expiry_interval: Option<u32>,
    /// Receive Maximum.
    pub receive_maximum: Option<u16>,
    /// Maximum QoS.
    pub maximum_qos: Option<QoS>,
    /// Retain Available.
    pub retain_available: Option<bool>,
    /// Maximum Packet Size.
    pub maximum_packet_size: Option<u32>,
    /// Topic Alias Maximum.
    pub topic_alias_maximum: Option<u16>,
    /// Wildcard Subscription Available.
    pub wildcard_subscription_available: Option<bool>,
    /// Subscription Identifiers Available.
    pub subscription_identifiers_available: Option<bool>,
    /// Shared Subscription Available.
    pub shared_subscription_available: Option<bool>,
    /// Server Keep Alive.
    pub server_keep_alive: Option<u16>,
}

impl ConnAckInfo {
    pub(crate) fn from_props(p: &Properties<'_>) -> Self {
        let mut out = ConnAckInfo::default();
        for prop in p.iter() {
            let sent = &mut out.sent;
            match prop {
                Property::SessionExpiryInterval(n) => sent.session_expiry_interval = Some(n),
                Property::ReceiveMaximum(n) => sent.receive_maximum = Some(n),
                Property::MaximumQoS(q) => sent.maximum_qos = Some(q),
                Property::RetainAvailable(b) => sent.retain_available = Some(b),
                Property::MaximumPacketSize(n) => sent.maximum_packet_size = Some(n),
                Property::TopicAliasMaximum(n) => sent.topic_alias_maximum = Some(n),
                Property::WildcardSubscriptionAvailable(b) => {
                    sent.wildcard_subscription_available = Some(b);
                }
                Property::SubscriptionIdentifierAvailable(b) => {
                    sent.subscription_identifiers_available = Some(b);
                }
                Property::SharedSubscriptionAvailable(b) => {
                    sent.shared_subscription_available = Some(b);
                }
                Property::ServerKeepAlive(n) => sent.server_keep_alive = Some(n),
                Property::AssignedClientIdentifier(s) => out.assigned_client_id = Some(s.into()),
                Property::ResponseInformation(s) => out.response_information = Some(s.into()),
                Property::ReasonString(s) => out.reason_string = Some(s.into()),
                Property::ServerReference(s) => out.server_reference = Some(s.into()),
                Property::UserProperty(k, v) => out.user_properties.push((k.into(), v.into())),
                Property::AuthenticationData(d) => out.authentication_data = Some(d.to_vec()),
                _ => {}
            }
        }
        out
    }
}

/// How the broker answered a QoS 1/2 publish made with
/// [`Client::publish_v5`](crate::Client::publish_v5): the reason code, Reason String and User
/// Properties of its PUBACK (QoS 1) or PUBREC (QoS 2). A QoS 0 publish has no answer: it
/// reads [`PubAckReasonCode::Success`] once written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PubAck {
    /// The reason code: 0x00 success, 0x10 "no matching subscribers", or a refusal (0x80 or
    /// more, e.g. 0x87 "not authorized", 0x97 "quota exceeded").
    pub reason_code: PubAckReasonCode,
    /// The Reason String, if any.
    pub reason_string: Option<String>,
    /// The User Properties, in order.
    pub user_properties: Vec<(String, String)>,
}

impl PubAck {
    /// An answer with this code and nothing else.
    pub fn new(reason_code: PubAckReasonCode) -> Self {
        PubAck {
            reason_code,
            reason_string: None,
            user_properties: Vec::new(),
        }
    }

    /// The answer a PUBACK's or PUBREC's code and properties give.
    pub(crate) fn from_response(code: u8, p: &Properties<'_>) -> Self {
        let mut out = PubAck::new(
            PubAckReasonCode::from_u8(code).unwrap_or(PubAckReasonCode::UnspecifiedError),
        );
        for prop in p.iter() {
            match prop {
                Property::ReasonString(s) => out.reason_string = Some(s.to_owned()),
                Property::UserProperty(k, v) => {
                    out.user_properties.push((k.to_owned(), v.to_owned()));
                }
                _ => {}
            }
        }
        out
    }
}

/// The properties of a 5.0 DISCONNECT the client sends (section 3.14.2.2), for
/// [`Client::disconnect_with_properties`](crate::Client::disconnect_with_properties).
///
/// ```
/// use mqtt_std::v5::DisconnectProperties;
///
/// let props = DisconnectProperties::new()
///     .session_expiry(0)
///     .reason_string("shutting down for maintenance")
///     .user_property("host", "gw-4");
/// # let _ = props;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DisconnectProperties {
    /// A new Session Expiry Interval (not above 0 when the CONNECT's was 0 [MQTT-3.14.2-2]).
    pub session_expiry_interval: Option<u32>,
    /// A Reason String for the broker's logs.
    pub reason_string: Option<String>,
    /// User Properties, in order.
    pub user_properties: Vec<(String, String)>,
}

impl DisconnectProperties {
    /// No properties.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the Session Expiry Interval in seconds.
    pub fn session_expiry(mut self, secs: u32) -> Self {
        self.session_expiry_interval = Some(secs);
        self
    }

    /// Set the Reason String.
    pub fn reason_string(mut self, reason: impl Into<String>) -> Self {
        self.reason_string = Some(reason.into());
        self
    }

    /// Add a User Property.
    pub fn user_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.user_properties.push((name.into(), value.into()));
        self
    }

    /// The properties as the session takes them.
    pub(crate) fn to_list(&self) -> Vec<Property<'_>> {
        let mut list = Vec::new();
        if let Some(s) = self.session_expiry_interval {
            list.push(Property::SessionExpiryInterval(s));
        }
        if let Some(r) = &self.reason_string {
            list.push(Property::ReasonString(r));
        }
        for (k, v) in &self.user_properties {
            list.push(Property::UserProperty(k, v));
        }
        list
    }
}

/// A request's properties: `properties` with `response_topic` and fresh Correlation Data,
/// which come back first.
pub(crate) fn request_properties(
    properties: &PublishProperties,
    response_topic: &str,
) -> (Vec<u8>, PublishProperties) {
    let correlation = correlation_data();
    let mut props = properties.clone();
    props.response_topic = Some(response_topic.to_owned());
    props.correlation_data = Some(correlation.clone());
    (correlation, props)
}

/// 16 random bytes: the Correlation Data of a request.
fn correlation_data() -> Vec<u8> {
    let a = crate::core::random_u64();
    let b = crate::core::random_u64();
    let mut d = a.to_be_bytes().to_vec();
    d.extend(b.to_be_bytes());
    d
}

/// The reason codes of an UNSUBACK, one per filter: a 3.1.1 UNSUBACK has none, so a 3.1.1
/// connection gives [`UnsubAckReasonCode::Success`] for each.
pub(crate) fn unsuback_codes(raw: &[u8], filters: usize) -> Vec<UnsubAckReasonCode> {
    if raw.is_empty() {
        return vec![UnsubAckReasonCode::Success; filters];
    }
    raw.iter()
        .map(|&b| UnsubAckReasonCode::from_u8(b).unwrap_or(UnsubAckReasonCode::UnspecifiedError))
        .collect()
}

/// The reason codes of a 5.0 SUBACK, one per filter.
pub(crate) fn suback_codes(raw: &[u8]) -> Vec<SubAckReasonCode> {
    raw.iter()
        .map(|&b| SubAckReasonCode::from_u8(b).unwrap_or(SubAckReasonCode::UnspecifiedError))
        .collect()
}

#[cfg(test)]
mod tests;
