//! Reading the fields of a script command: strings, numbers, flags, payloads, and the 5.0
//! property objects (each checked against the packet it goes in).

use mqtt_std::QoS;
use mqtt_std::v5::{DisconnectProperties, PublishProperties};
use serde_json::{Map, Value};

/// Lowercase hex digits of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The bytes of the hex digits in `s`; `key` names the field in the error.
pub fn unhex(key: &str, s: &str) -> Result<Vec<u8>, String> {
    if s.len() % 2 != 0 {
        return Err(format!("{key} has an odd number of digits"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
                .ok_or_else(|| format!("{key}: {:?} is not hex", s.get(i..i + 2)))
        })
        .collect()
}

pub fn qos_of(v: Option<&Value>) -> Result<QoS, String> {
    match v.map(Value::as_u64) {
        None => Ok(QoS::AtMostOnce),
        Some(Some(0)) => Ok(QoS::AtMostOnce),
        Some(Some(1)) => Ok(QoS::AtLeastOnce),
        Some(Some(2)) => Ok(QoS::ExactlyOnce),
        _ => Err("qos must be 0, 1 or 2".into()),
    }
}

pub fn str_of<'a>(o: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{key} must be a string")),
    }
}

pub fn bool_of(o: &Map<String, Value>, key: &str, default: bool) -> Result<bool, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("{key} must be true or false")),
    }
}

/// A flag of the protocol: `true`/`false` or `1`/`0`.
pub fn flag_of(o: &Map<String, Value>, key: &str) -> Result<Option<bool>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) if v.as_u64() == Some(0) => Ok(Some(false)),
        Some(v) if v.as_u64() == Some(1) => Ok(Some(true)),
        Some(_) => Err(format!("{key} must be true or false (or 1 or 0)")),
    }
}

/// A whole number from `min` to `max`.
pub fn num_of<T: TryFrom<u64>>(
    o: &Map<String, Value>,
    key: &str,
    min: u64,
    max: u64,
) -> Result<Option<T>, String> {
    let out_of_range = || format!("{key} must be a number from {min} to {max}");
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let n = v
                .as_u64()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(out_of_range)?;
            T::try_from(n).map(Some).map_err(|_| out_of_range())
        }
    }
}

/// Hex-encoded binary data.
pub fn bytes_of(o: &Map<String, Value>, key: &str) -> Result<Option<Vec<u8>>, String> {
    str_of(o, key)?.map(|h| unhex(key, h)).transpose()
}

pub fn payload_of(o: &Map<String, Value>) -> Result<Vec<u8>, String> {
    match (str_of(o, "payload")?, str_of(o, "payload_hex")?) {
        (Some(_), Some(_)) => Err("give payload or payload_hex, not both".into()),
        (Some(p), None) => Ok(p.as_bytes().to_vec()),
        (None, Some(h)) => unhex("payload_hex", h),
        (None, None) => Ok(Vec::new()),
    }
}

/// An optional object field.
pub fn object_of<'a>(
    o: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a Map<String, Value>>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(format!("{key} must be an object")),
    }
}

/// `user_properties`: `[[NAME, VALUE], ...]`.
pub fn user_properties_of(o: &Map<String, Value>) -> Result<Vec<(String, String)>, String> {
    const SHAPE: &str = "user_properties must be [[NAME, VALUE], ...] (strings)";
    match o.get("user_properties") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(list)) => list
            .iter()
            .map(|pair| match pair.as_array().map(Vec::as_slice) {
                Some([Value::String(k), Value::String(v)]) => Ok((k.clone(), v.clone())),
                _ => Err(SHAPE.to_owned()),
            })
            .collect(),
        Some(_) => Err(SHAPE.into()),
    }
}

/// Refuses a key of a `properties` object that is not among `known` (a property that
/// packet does not carry, or a misspelling): a property is never dropped unseen.
pub fn only(p: &Map<String, Value>, packet: &str, known: &[&str]) -> Result<(), String> {
    match p.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "properties: {k:?} is not a {packet} property here (known: {})",
            known.join(", ")
        )),
        None => Ok(()),
    }
}

/// The CONNECT `properties` of `connect`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ConnectProps {
    pub session_expiry_interval: Option<u32>,
    pub receive_maximum: Option<u16>,
    pub maximum_packet_size: Option<u32>,
    pub topic_alias_maximum: Option<u16>,
    pub request_response_information: Option<bool>,
    pub request_problem_information: Option<bool>,
    pub user_properties: Vec<(String, String)>,
    pub authentication: Option<(String, Option<Vec<u8>>)>,
}

/// The smallest receive buffer the client takes (`ClientOptions::max_packet_size`).
pub const MIN_PACKET: u64 = 64;

pub fn connect_props(p: &Map<String, Value>) -> Result<ConnectProps, String> {
    only(
        p,
        "CONNECT",
        &[
            "session_expiry_interval",
            "receive_maximum",
            "maximum_packet_size",
            "topic_alias_maximum",
            "request_response_information",
            "request_problem_information",
            "user_properties",
            "authentication_method",
            "authentication_data_hex",
        ],
    )?;
    let method = str_of(p, "authentication_method")?;
    let data = bytes_of(p, "authentication_data_hex")?;
    let authentication = match (method, data) {
        (Some(m), data) => Some((m.to_owned(), data)),
        (None, Some(_)) => return Err("authentication_data_hex needs authentication_method".into()),
        (None, None) => None,
    };
    Ok(ConnectProps {
        session_expiry_interval: num_of(p, "session_expiry_interval", 0, u32::MAX.into())?,
        // 0 is a Protocol Error [MQTT-3.1.2.11.3].
        receive_maximum: num_of(p, "receive_maximum", 1, u16::MAX.into())?,
        // The client's receive buffer: at least 64 bytes.
        maximum_packet_size: num_of(p, "maximum_packet_size", MIN_PACKET, u32::MAX.into())?,
        topic_alias_maximum: num_of(p, "topic_alias_maximum", 0, u16::MAX.into())?,
        request_response_information: flag_of(p, "request_response_information")?,
        request_problem_information: flag_of(p, "request_problem_information")?,
        user_properties: user_properties_of(p)?,
        authentication,
    })
}

/// The greatest Subscription Identifier (a Variable Byte Integer).
const MAX_VBI: u64 = 268_435_455;

/// The properties of a PUBLISH (`publish`) or of a will (`will`, with its Will Delay
/// Interval, returned besides).
pub fn publish_props(
    p: &Map<String, Value>,
    will: bool,
) -> Result<(PublishProperties, Option<u32>), String> {
    let mut known = vec![
        "message_expiry_interval",
        "content_type",
        "response_topic",
        "correlation_data_hex",
        "payload_format_indicator",
        "user_properties",
    ];
    known.push(if will {
        "will_delay_interval"
    } else {
        "topic_alias"
    });
    only(p, if will { "will" } else { "PUBLISH" }, &known)?;
    if p.get("topic_alias").is_some_and(|v| !v.is_null()) {
        return Err(
            "properties.topic_alias: not supported yet: the client picks its \
                    outgoing topic aliases itself (connect with \"topic_aliases\": N)"
                .into(),
        );
    }
    let mut out = PublishProperties::new();
    out.payload_format_utf8 = flag_of(p, "payload_format_indicator")?;
    out.message_expiry_interval = num_of(p, "message_expiry_interval", 0, u32::MAX.into())?;
    out.content_type = str_of(p, "content_type")?.map(str::to_owned);
    out.response_topic = str_of(p, "response_topic")?.map(str::to_owned);
    out.correlation_data = bytes_of(p, "correlation_data_hex")?;
    out.user_properties = user_properties_of(p)?;
    let delay = num_of(p, "will_delay_interval", 0, u32::MAX.into())?;
    Ok((out, delay))
}

/// The Subscription Identifier of `subscribe`.
pub fn subscription_identifier(o: &Map<String, Value>) -> Result<Option<u32>, String> {
    num_of(o, "subscription_identifier", 1, MAX_VBI)
}

/// The DISCONNECT `properties` of `disconnect`.
pub fn disconnect_props(p: &Map<String, Value>) -> Result<DisconnectProperties, String> {
    only(
        p,
        "DISCONNECT",
        &[
            "session_expiry_interval",
            "reason_string",
            "user_properties",
        ],
    )?;
    let mut out = DisconnectProperties::new();
    out.session_expiry_interval = num_of(p, "session_expiry_interval", 0, u32::MAX.into())?;
    out.reason_string = str_of(p, "reason_string")?.map(str::to_owned);
    out.user_properties = user_properties_of(p)?;
    Ok(out)
}

/// The DISCONNECT reason codes a client may send (section 3.14.2.1, "Sent by" Client or
/// both) [MQTT-3.14.2-1].
pub fn client_disconnect_code(code: u8) -> Result<mqtt_std::v5::DisconnectReasonCode, String> {
    let c = mqtt_std::v5::DisconnectReasonCode::from_u8(code)
        .map_err(|_| format!("reason_code {code:#04x} is not a DISCONNECT reason code"))?;
    match code {
        0x00 | 0x04 | 0x80..=0x83 | 0x90 | 0x93..=0x99 => Ok(c),
        _ => Err(format!(
            "reason_code {code:#04x} ({c}) is one only a server sends [MQTT-3.14.2-1]"
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("an object"),
        }
    }

    #[test]
    fn connect_properties() {
        let p = connect_props(&obj(json!({
            "session_expiry_interval": 60,
            "receive_maximum": 10,
            "maximum_packet_size": 1024,
            "topic_alias_maximum": 4,
            "request_response_information": true,
            "request_problem_information": 0,
            "user_properties": [["site", "lab"], ["site", "2"]],
            "authentication_method": "SCRAM-SHA-1",
            "authentication_data_hex": "0a0b"
        })))
        .unwrap();
        assert_eq!(p.session_expiry_interval, Some(60));
        assert_eq!(p.receive_maximum, Some(10));
        assert_eq!(p.maximum_packet_size, Some(1024));
        assert_eq!(p.topic_alias_maximum, Some(4));
        assert_eq!(p.request_response_information, Some(true));
        assert_eq!(p.request_problem_information, Some(false));
        assert_eq!(
            p.user_properties,
            [("site".into(), "lab".into()), ("site".into(), "2".into())]
        );
        assert_eq!(
            p.authentication,
            Some(("SCRAM-SHA-1".into(), Some(vec![0x0a, 0x0b])))
        );
        assert_eq!(connect_props(&Map::new()).unwrap(), ConnectProps::default());
    }

    #[test]
    fn bad_connect_properties_are_refused() {
        for bad in [
            json!({"receive_maximum": 0}),
            json!({"receive_maximum": 65536}),
            json!({"session_expiry_interval": -1}),
            json!({"session_expiry_interval": "60"}),
            json!({"maximum_packet_size": 10}),
            json!({"request_problem_information": 2}),
            json!({"user_properties": [["only a name"]]}),
            json!({"user_properties": {"k": "v"}}),
            json!({"authentication_data_hex": "00"}),
            json!({"authentication_method": "x", "authentication_data_hex": "0"}),
            // Not a CONNECT property, or misspelt: never dropped unseen.
            json!({"content_type": "text/plain"}),
            json!({"session_expiry": 5}),
        ] {
            assert!(connect_props(&obj(bad.clone())).is_err(), "{bad}");
        }
    }

    #[test]
    fn publish_and_will_properties() {
        let (p, delay) = publish_props(
            &obj(json!({
                "message_expiry_interval": 30,
                "content_type": "text/plain",
                "response_topic": "reply/1",
                "correlation_data_hex": "0102",
                "payload_format_indicator": 1,
                "user_properties": [["k", "v"]]
            })),
            false,
        )
        .unwrap();
        assert_eq!(delay, None);
        assert_eq!(p.message_expiry_interval, Some(30));
        assert_eq!(p.content_type.as_deref(), Some("text/plain"));
        assert_eq!(p.response_topic.as_deref(), Some("reply/1"));
        assert_eq!(p.correlation_data.as_deref(), Some(&[1u8, 2][..]));
        assert_eq!(p.payload_format_utf8, Some(true));
        assert_eq!(p.user_properties, [("k".into(), "v".into())]);
        let (w, delay) = publish_props(
            &obj(json!({"will_delay_interval": 5, "payload_format_indicator": false})),
            true,
        )
        .unwrap();
        assert_eq!((delay, w.payload_format_utf8), (Some(5), Some(false)));
        // The delay is the will's only; the alias a publish's (and not supported yet).
        assert!(publish_props(&obj(json!({"will_delay_interval": 5})), false).is_err());
        assert!(publish_props(&obj(json!({"topic_alias": 1})), true).is_err());
        let e = publish_props(&obj(json!({"topic_alias": 1})), false).unwrap_err();
        assert!(e.contains("not supported yet"), "{e}");
        assert!(publish_props(&obj(json!({"correlation_data_hex": "xyz"})), false).is_err());
        assert!(publish_props(&obj(json!({"subscription_identifier": 1})), false).is_err());
    }

    #[test]
    fn disconnect_properties_and_codes() {
        let p = disconnect_props(&obj(json!({
            "session_expiry_interval": 0,
            "reason_string": "bye",
            "user_properties": [["a", "b"]]
        })))
        .unwrap();
        assert_eq!(p.session_expiry_interval, Some(0));
        assert_eq!(p.reason_string.as_deref(), Some("bye"));
        assert_eq!(p.user_properties, [("a".into(), "b".into())]);
        assert!(disconnect_props(&obj(json!({"server_reference": "x"}))).is_err());
        for ok in [
            0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
        ] {
            assert!(client_disconnect_code(ok).is_ok(), "{ok:#x}");
        }
        // Codes of the server's (section 3.14.2.1), and bytes that are no code at all.
        for bad in [
            0x87, 0x89, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x9a, 0x9c, 0xa2, 0x01, 0xff,
        ] {
            assert!(client_disconnect_code(bad).is_err(), "{bad:#x}");
        }
    }

    #[test]
    fn subscription_identifiers_from_1_to_268435455() {
        let id = |v: Value| subscription_identifier(&obj(json!({"subscription_identifier": v})));
        assert_eq!(id(json!(1)).unwrap(), Some(1));
        assert_eq!(id(json!(268_435_455)).unwrap(), Some(268_435_455));
        assert!(id(json!(0)).is_err());
        assert!(id(json!(268_435_456)).is_err());
        assert_eq!(subscription_identifier(&Map::new()).unwrap(), None);
    }
}
