//! The JSON events of `mqttc script`: messages, acknowledgements and the end of a connection,
//! with the 5.0 reason codes and properties the broker sent.

use mqtt_std::v5::{ConnAckInfo, PubAck, PublishProperties};
use mqtt_std::{DisconnectReason, Message};
use serde_json::{Map, Value, json};

use super::json::hex;

fn user_properties(list: &[(String, String)]) -> Value {
    list.iter().map(|(k, v)| json!([k, v])).collect()
}

/// The properties of a PUBLISH as the broker sent them (the empty object for none).
pub fn publish_properties(p: &PublishProperties) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(b) = p.payload_format_utf8 {
        m.insert("payload_format_indicator".into(), u8::from(b).into());
    }
    if let Some(n) = p.message_expiry_interval {
        m.insert("message_expiry_interval".into(), n.into());
    }
    if let Some(s) = &p.content_type {
        m.insert("content_type".into(), s.as_str().into());
    }
    if let Some(s) = &p.response_topic {
        m.insert("response_topic".into(), s.as_str().into());
    }
    if let Some(d) = &p.correlation_data {
        m.insert("correlation_data_hex".into(), hex(d).into());
    }
    if !p.user_properties.is_empty() {
        m.insert(
            "user_properties".into(),
            user_properties(&p.user_properties),
        );
    }
    if !p.subscription_identifiers.is_empty() {
        m.insert(
            "subscription_identifiers".into(),
            p.subscription_identifiers.clone().into(),
        );
    }
    if let Some(a) = p.topic_alias {
        m.insert("topic_alias".into(), a.into());
    }
    m
}

/// A received message; with `v5` (a 5.0 connection) its `properties`, empty or not.
pub fn message_event(m: &Message, v5: bool) -> Value {
    let mut ev = Map::new();
    ev.insert("event".into(), "message".into());
    ev.insert("topic".into(), m.topic.clone().into());
    if let Ok(text) = std::str::from_utf8(&m.payload) {
        ev.insert("payload".into(), text.into());
    }
    ev.insert("payload_hex".into(), hex(&m.payload).into());
    ev.insert("qos".into(), (m.qos as u8).into());
    ev.insert("retain".into(), m.retain.into());
    ev.insert("dup".into(), m.dup.into());
    if let Some(seq) = m.seq {
        ev.insert("seq".into(), seq.into());
    }
    if v5 || !m.properties.is_empty() {
        ev.insert(
            "properties".into(),
            publish_properties(&m.properties).into(),
        );
    }
    Value::Object(ev)
}

/// The properties of a 5.0 CONNACK that accepted the connection, as the broker sent them.
pub fn connack_properties(info: &ConnAckInfo) -> Map<String, Value> {
    let mut m = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            m.insert(k.into(), v);
        }
    };
    let s = &info.sent;
    put(
        "assigned_client_identifier",
        info.assigned_client_id.clone().map(Value::from),
    );
    put("server_keep_alive", s.server_keep_alive.map(Value::from));
    put(
        "session_expiry_interval",
        s.session_expiry_interval.map(Value::from),
    );
    put("receive_maximum", s.receive_maximum.map(Value::from));
    put("maximum_qos", s.maximum_qos.map(|q| Value::from(q as u8)));
    put("retain_available", s.retain_available.map(Value::from));
    put(
        "maximum_packet_size",
        s.maximum_packet_size.map(Value::from),
    );
    put(
        "topic_alias_maximum",
        s.topic_alias_maximum.map(Value::from),
    );
    put(
        "wildcard_subscription_available",
        s.wildcard_subscription_available.map(Value::from),
    );
    put(
        "subscription_identifiers_available",
        s.subscription_identifiers_available.map(Value::from),
    );
    put(
        "shared_subscription_available",
        s.shared_subscription_available.map(Value::from),
    );
    put(
        "response_information",
        info.response_information.clone().map(Value::from),
    );
    put(
        "server_reference",
        info.server_reference.clone().map(Value::from),
    );
    put("reason_string", info.reason_string.clone().map(Value::from));
    put(
        "user_properties",
        (!info.user_properties.is_empty()).then(|| user_properties(&info.user_properties)),
    );
    put(
        "authentication_data_hex",
        info.authentication_data.as_deref().map(|d| hex(d).into()),
    );
    m
}

/// `connack` for a refusal (3.1.1 return code or 5.0 reason code), or `None` for another
/// connect error.
pub fn refused_connack(e: &mqtt_std::Error) -> Option<Value> {
    match e {
        mqtt_std::Error::Refused(code) => Some(json!({
            "event": "connack",
            "session_present": false,
            "return_code": code.as_u8()
        })),
        mqtt_std::Error::RefusedV5 {
            code,
            reason_string,
            server_reference,
        } => {
            let mut props = Map::new();
            if let Some(r) = reason_string {
                props.insert("reason_string".into(), r.as_str().into());
            }
            if let Some(r) = server_reference {
                props.insert("server_reference".into(), r.as_str().into());
            }
            Some(json!({
                "event": "connack",
                "session_present": false,
                "return_code": code.as_u8(),
                "reason_code": code.as_u8(),
                "properties": props
            }))
        }
        _ => None,
    }
}

/// `connack` for an accepted connection (with the 5.0 CONNACK's reason code and properties).
pub fn connack(c: &mqtt_std::Connected) -> Value {
    let mut ev = json!({
        "event": "connack",
        "session_present": c.session_present,
        "return_code": 0
    });
    if let (Some(info), Some(m)) = (&c.v5, ev.as_object_mut()) {
        m.insert("reason_code".into(), 0.into());
        m.insert("properties".into(), connack_properties(info).into());
    }
    ev
}

/// What a 5.0 publish's PUBACK or PUBREC said: `published`, or for a refusal an `error`.
pub fn publish_answer(packet_id: Option<u16>, a: &PubAck) -> Value {
    let mut ev = Map::new();
    if a.reason_code.is_error() {
        ev.insert("event".into(), "error".into());
        ev.insert("cmd".into(), "publish".into());
    } else {
        ev.insert("event".into(), "published".into());
    }
    ev.insert("packet_id".into(), packet_id.into());
    ev.insert("reason_code".into(), a.reason_code.as_u8().into());
    if let Some(r) = &a.reason_string {
        ev.insert("reason_string".into(), r.as_str().into());
    }
    if !a.user_properties.is_empty() {
        ev.insert(
            "user_properties".into(),
            user_properties(&a.user_properties),
        );
    }
    if a.reason_code.is_error() {
        let e = mqtt_std::Error::PublishRejected(a.reason_code);
        ev.insert("error".into(), e.to_string().into());
    }
    Value::Object(ev)
}

/// The `reason` word, the `detail` text and for 5.0 the reason code and text of a
/// `disconnected` event.
pub fn reason_event(reason: &DisconnectReason) -> Value {
    let word = match reason {
        DisconnectReason::Local => "local",
        DisconnectReason::Dropped => "dropped",
        DisconnectReason::KeepAliveTimeout => "keep_alive_timeout",
        DisconnectReason::ProtocolViolation(_) => "protocol_violation",
        DisconnectReason::TransportClosed => "closed_by_broker",
        DisconnectReason::Tls(_) => "tls",
        DisconnectReason::Io(_) => "io",
        DisconnectReason::Refused(_) | DisconnectReason::RefusedV5 { .. } => "refused",
        DisconnectReason::ConnAckTimeout => "connack_timeout",
        DisconnectReason::IncomingPacketTooLarge => "packet_too_large",
        DisconnectReason::ClientClosed => "client_closed",
        DisconnectReason::WebSocket(_) => "websocket",
        DisconnectReason::Server { .. } => "server",
        _ => "other",
    };
    let mut ev = json!({"event": "disconnected", "reason": word, "detail": reason.to_string()});
    let (code, text, reference) = match reason {
        DisconnectReason::Server {
            code,
            reason_string,
            server_reference,
        } => (code.as_u8(), reason_string, server_reference),
        DisconnectReason::RefusedV5 {
            code,
            reason_string,
            server_reference,
        } => (code.as_u8(), reason_string, server_reference),
        _ => return ev,
    };
    if let Some(m) = ev.as_object_mut() {
        m.insert("reason_code".into(), code.into());
        if let Some(s) = text {
            m.insert("reason_string".into(), s.as_str().into());
        }
        if let Some(s) = reference {
            m.insert("server_reference".into(), s.as_str().into());
        }
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;
    use mqtt_std::v5::{DisconnectReasonCode, PubAckReasonCode};

    #[test]
    fn message_properties_as_received() {
        let mut p = PublishProperties::new()
            .payload_utf8(true)
            .message_expiry(9)
            .content_type("text/plain")
            .response_topic("r")
            .correlation_data(vec![0xab])
            .user_property("k", "v");
        p.subscription_identifiers = vec![3, 4];
        p.topic_alias = Some(1);
        assert_eq!(
            Value::from(publish_properties(&p)),
            json!({
                "payload_format_indicator": 1,
                "message_expiry_interval": 9,
                "content_type": "text/plain",
                "response_topic": "r",
                "correlation_data_hex": "ab",
                "user_properties": [["k", "v"]],
                "subscription_identifiers": [3, 4],
                "topic_alias": 1
            })
        );
        assert!(publish_properties(&PublishProperties::new()).is_empty());
    }

    #[test]
    fn a_5_0_message_always_has_properties_a_3_1_1_one_never() {
        let m = Message {
            topic: "t".into(),
            payload: b"\xff".to_vec(),
            qos: mqtt_std::QoS::AtLeastOnce,
            retain: false,
            dup: false,
            packet_id: None,
            seq: None,
            properties: PublishProperties::new(),
        };
        assert_eq!(
            message_event(&m, true),
            json!({"event": "message", "topic": "t", "payload_hex": "ff", "qos": 1,
                   "retain": false, "dup": false, "properties": {}})
        );
        assert!(message_event(&m, false).get("properties").is_none());
    }

    #[test]
    fn answers_of_a_publish() {
        let mut a = PubAck::new(PubAckReasonCode::NoMatchingSubscribers);
        a.reason_string = Some("nobody".into());
        assert_eq!(
            publish_answer(Some(3), &a),
            json!({"event": "published", "packet_id": 3, "reason_code": 16,
                   "reason_string": "nobody"})
        );
        let refused = PubAck::new(PubAckReasonCode::NotAuthorized);
        assert_eq!(
            publish_answer(Some(4), &refused),
            json!({"event": "error", "cmd": "publish", "packet_id": 4, "reason_code": 135,
                   "error": "publish refused by the broker: not authorized (0x87)"})
        );
    }

    #[test]
    fn a_server_disconnect_names_its_code() {
        let r = DisconnectReason::Server {
            code: DisconnectReasonCode::SessionTakenOver,
            reason_string: Some("taken".into()),
            server_reference: None,
        };
        let ev = reason_event(&r);
        assert_eq!(ev["reason"], "server");
        assert_eq!(ev["reason_code"], 0x8e);
        assert_eq!(ev["reason_string"], "taken");
        assert!(ev.get("server_reference").is_none());
        assert_eq!(
            reason_event(&DisconnectReason::Local),
            json!({"event": "disconnected", "reason": "local",
                   "detail": "disconnected by the client"})
        );
    }
}
