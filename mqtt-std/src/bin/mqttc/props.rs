//! MQTT 5.0 options of `pub` and `sub`: `-D COMMAND PROPERTY VALUE` as mosquitto_pub/sub spell
//! them, `-x` and the subscription options, checked against the packet each property goes in.

use mqtt_proto::v5::{PropertyContext, PropertyId};
use mqtt_std::ConnectOptions;
use mqtt_std::v5::PublishProperties;

/// What the 5.0 options ask for, by the packet it goes in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct V5 {
    pub session_expiry: Option<u32>,
    pub receive_maximum: Option<u16>,
    pub maximum_packet_size: Option<u32>,
    pub topic_alias_maximum: Option<u16>,
    pub request_response_information: Option<bool>,
    pub request_problem_information: Option<bool>,
    pub connect_user_properties: Vec<(String, String)>,
    pub publish: PublishProperties,
    /// `-D publish topic-alias N`: aliases on, up to N (the client picks them).
    pub topic_aliases: Option<u16>,
    pub will: PublishProperties,
    pub will_delay: Option<u32>,
    pub subscription_identifier: Option<u32>,
    pub disconnect_session_expiry: Option<u32>,
}

impl V5 {
    /// Whether any 5.0 option was given.
    pub fn any(&self) -> bool {
        *self != V5::default()
    }

    /// The CONNECT properties on `c`.
    pub fn connect(&self, mut c: ConnectOptions) -> ConnectOptions {
        if let Some(s) = self.session_expiry {
            c = c.session_expiry(s);
        }
        if let Some(n) = self.receive_maximum {
            c = c.receive_maximum(n);
        }
        if let Some(n) = self.topic_alias_maximum {
            c = c.topic_alias_maximum(n);
        }
        if let Some(b) = self.request_response_information {
            c = c.request_response_information(b);
        }
        if let Some(b) = self.request_problem_information {
            c = c.request_problem_information(b);
        }
        for (k, v) in &self.connect_user_properties {
            c = c.user_property(k, v);
        }
        c
    }
}

/// The property names mosquitto_pub/sub take, with the identifier each stands for.
const NAMES: &[(&str, PropertyId)] = &[
    (
        "payload-format-indicator",
        PropertyId::PayloadFormatIndicator,
    ),
    ("message-expiry-interval", PropertyId::MessageExpiryInterval),
    ("content-type", PropertyId::ContentType),
    ("response-topic", PropertyId::ResponseTopic),
    ("correlation-data", PropertyId::CorrelationData),
    (
        "subscription-identifier",
        PropertyId::SubscriptionIdentifier,
    ),
    ("session-expiry-interval", PropertyId::SessionExpiryInterval),
    (
        "request-problem-information",
        PropertyId::RequestProblemInformation,
    ),
    ("will-delay-interval", PropertyId::WillDelayInterval),
    (
        "request-response-information",
        PropertyId::RequestResponseInformation,
    ),
    ("receive-maximum", PropertyId::ReceiveMaximum),
    ("topic-alias-maximum", PropertyId::TopicAliasMaximum),
    ("topic-alias", PropertyId::TopicAlias),
    ("user-property", PropertyId::UserProperty),
    ("maximum-packet-size", PropertyId::MaximumPacketSize),
    ("authentication-method", PropertyId::AuthenticationMethod),
    ("authentication-data", PropertyId::AuthenticationData),
    ("reason-string", PropertyId::ReasonString),
];

fn number<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("-D {name}: {v:?} is not a number in range"))
}

fn flag(name: &str, v: &str) -> Result<bool, String> {
    match v {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(format!("-D {name}: give 0 or 1, not {v:?}")),
    }
}

/// Splits the words of every `-D` (clap hands them over in one list) into occurrences:
/// COMMAND PROPERTY VALUE, or COMMAND user-property NAME VALUE.
pub fn occurrences(flat: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = flat;
    while !rest.is_empty() {
        let n = if rest.get(1).is_some_and(|p| p == "user-property") {
            4
        } else {
            3
        };
        let (one, tail) = rest.split_at(n.min(rest.len()));
        out.push(one.to_vec());
        rest = tail;
    }
    out
}

/// Reads every `-D COMMAND PROPERTY VALUE [VALUE]` occurrence.
pub fn parse(list: &[Vec<String>], v5: &mut V5) -> Result<(), String> {
    for words in list {
        let [command, name, rest @ ..] = words.as_slice() else {
            return Err("-D needs COMMAND PROPERTY VALUE".into());
        };
        let context = match command.as_str() {
            "connect" => PropertyContext::Connect,
            "publish" => PropertyContext::Publish,
            "subscribe" => PropertyContext::Subscribe,
            "unsubscribe" => PropertyContext::Unsubscribe,
            "disconnect" => PropertyContext::Disconnect,
            "will" => PropertyContext::Will,
            other => {
                return Err(format!(
                    "-D: unknown command {other:?} (connect, publish, subscribe, unsubscribe, \
                     disconnect or will)"
                ));
            }
        };
        let id = NAMES
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
            .ok_or_else(|| format!("-D {command}: unknown property {name:?}"))?;
        if !id.allowed_in(context) {
            return Err(format!(
                "-D {command} {name}: not allowed in {}",
                command.to_uppercase()
            ));
        }
        let want = if id == PropertyId::UserProperty { 2 } else { 1 };
        if rest.len() != want {
            return Err(format!(
                "-D {command} {name}: needs {}",
                if want == 2 { "NAME VALUE" } else { "one VALUE" }
            ));
        }
        let value = rest[0].as_str();
        set(v5, command, context, id, name, value, rest.get(1))?;
    }
    Ok(())
}

fn set(
    v5: &mut V5,
    command: &str,
    context: PropertyContext,
    id: PropertyId,
    name: &str,
    value: &str,
    second: Option<&String>,
) -> Result<(), String> {
    use PropertyContext as C;
    use PropertyId as P;
    let unsupported = || Err(format!("-D {command} {name}: not supported by mqttc yet"));
    match (context, id) {
        (C::Connect, P::SessionExpiryInterval) => v5.session_expiry = Some(number(name, value)?),
        (C::Connect, P::ReceiveMaximum) => {
            let n: u16 = number(name, value)?;
            if n == 0 {
                return Err(format!("-D {command} {name}: 0 is not allowed"));
            }
            v5.receive_maximum = Some(n);
        }
        (C::Connect, P::MaximumPacketSize) => {
            let n: u32 = number(name, value)?;
            if n == 0 {
                return Err(format!("-D {command} {name}: 0 is not allowed"));
            }
            v5.maximum_packet_size = Some(n);
        }
        (C::Connect, P::TopicAliasMaximum) => v5.topic_alias_maximum = Some(number(name, value)?),
        (C::Connect, P::RequestResponseInformation) => {
            v5.request_response_information = Some(flag(name, value)?);
        }
        (C::Connect, P::RequestProblemInformation) => {
            v5.request_problem_information = Some(flag(name, value)?);
        }
        (C::Connect, P::UserProperty) => v5
            .connect_user_properties
            .push((value.to_owned(), second.cloned().unwrap_or_default())),
        (C::Publish, P::TopicAlias) => {
            let n: u16 = number(name, value)?;
            if n == 0 {
                return Err(format!("-D {command} {name}: 0 is not allowed"));
            }
            v5.topic_aliases = Some(n);
        }
        (C::Publish | C::Will, _) => {
            let p = if context == C::Publish {
                &mut v5.publish
            } else {
                &mut v5.will
            };
            match id {
                P::PayloadFormatIndicator => p.payload_format_utf8 = Some(flag(name, value)?),
                P::MessageExpiryInterval => p.message_expiry_interval = Some(number(name, value)?),
                P::ContentType => p.content_type = Some(value.to_owned()),
                P::ResponseTopic => {
                    mqtt_proto::TopicName::new(value)
                        .map_err(|e| format!("-D {command} {name}: {e}"))?;
                    p.response_topic = Some(value.to_owned());
                }
                P::CorrelationData => p.correlation_data = Some(value.as_bytes().to_vec()),
                P::UserProperty => p
                    .user_properties
                    .push((value.to_owned(), second.cloned().unwrap_or_default())),
                P::WillDelayInterval => v5.will_delay = Some(number(name, value)?),
                _ => return unsupported(),
            }
        }
        (C::Subscribe, P::SubscriptionIdentifier) => {
            let n: u32 = number(name, value)?;
            if n == 0 || n > mqtt_proto::v5::MAX_VARIABLE_BYTE_INTEGER {
                return Err(format!(
                    "-D {command} {name}: from 1 to {}",
                    mqtt_proto::v5::MAX_VARIABLE_BYTE_INTEGER
                ));
            }
            v5.subscription_identifier = Some(n);
        }
        (C::Disconnect, P::SessionExpiryInterval) => {
            v5.disconnect_session_expiry = Some(number(name, value)?);
        }
        _ => return unsupported(),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn words(list: &[&[&str]]) -> Vec<Vec<String>> {
        list.iter()
            .map(|w| w.iter().map(|s| (*s).to_owned()).collect())
            .collect()
    }

    #[test]
    fn properties_go_where_they_are_allowed() {
        let mut v5 = V5::default();
        parse(
            &words(&[
                &["connect", "session-expiry-interval", "60"],
                &["connect", "user-property", "site", "lab"],
                &["publish", "content-type", "text/plain"],
                &["publish", "user-property", "a", "b"],
                &["publish", "message-expiry-interval", "30"],
                &["publish", "topic-alias", "3"],
                &["will", "will-delay-interval", "10"],
                &["will", "payload-format-indicator", "1"],
                &["subscribe", "subscription-identifier", "9"],
                &["disconnect", "session-expiry-interval", "0"],
            ]),
            &mut v5,
        )
        .unwrap();
        assert_eq!(v5.session_expiry, Some(60));
        assert_eq!(v5.connect_user_properties, [("site".into(), "lab".into())]);
        assert_eq!(v5.publish.content_type.as_deref(), Some("text/plain"));
        assert_eq!(v5.publish.user_properties, [("a".into(), "b".into())]);
        assert_eq!(v5.publish.message_expiry_interval, Some(30));
        assert_eq!(v5.topic_aliases, Some(3));
        assert_eq!(v5.will_delay, Some(10));
        assert_eq!(v5.will.payload_format_utf8, Some(true));
        assert_eq!(v5.subscription_identifier, Some(9));
        assert_eq!(v5.disconnect_session_expiry, Some(0));
        assert!(v5.any());
    }

    #[test]
    fn occurrences_split_at_their_word_counts() {
        let flat: Vec<String> = [
            "publish",
            "content-type",
            "a",
            "connect",
            "user-property",
            "k",
            "v",
            "will",
            "will-delay-interval",
            "3",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let o = occurrences(&flat);
        assert_eq!(o.len(), 3);
        assert_eq!(o[1], ["connect", "user-property", "k", "v"]);
        assert_eq!(o[2], ["will", "will-delay-interval", "3"]);
    }

    #[test]
    fn a_property_in_the_wrong_packet_or_badly_formed_is_refused() {
        for bad in [
            &["publish", "session-expiry-interval", "5"][..],
            &["connect", "content-type", "x"],
            &["subscribe", "will-delay-interval", "1"],
            &["bogus", "content-type", "x"],
            &["publish", "no-such-property", "x"],
            &["publish", "user-property", "only-a-name"],
            &["connect", "receive-maximum", "0"],
            &["connect", "receive-maximum", "70000"],
            &["publish", "payload-format-indicator", "2"],
            &["publish", "response-topic", "a/#"],
            &["subscribe", "subscription-identifier", "0"],
            &["publish", "topic-alias", "0"],
        ] {
            let mut v5 = V5::default();
            assert!(parse(&words(&[bad]), &mut v5).is_err(), "{bad:?}");
        }
    }
}
