//! `publish`, `subscribe`, `unsubscribe` and `disconnect`: each starts its flow and returns;
//! the acknowledgement's event is written from the IO thread when it comes.

use mqtt_std::QoS;
use mqtt_std::v5::{PubAck, RetainHandling, SubscribeOptions};
use serde_json::{Map, Value, json};

use super::json::{self, bool_of, num_of, object_of, payload_of, qos_of, str_of};
use super::{Script, events, needs_v5};

/// The options of one `subscribe` filter beyond its QoS.
fn options_of(f: &Map<String, Value>, qos: QoS) -> Result<SubscribeOptions, String> {
    let handling = match num_of::<u8>(f, "retain_handling", 0, 2)? {
        None | Some(0) => RetainHandling::SendAtSubscribe,
        Some(1) => RetainHandling::SendIfNew,
        Some(_) => RetainHandling::DoNotSend,
    };
    Ok(SubscribeOptions::new(qos)
        .no_local(bool_of(f, "no_local", false)?)
        .retain_as_published(bool_of(f, "retain_as_published", false)?)
        .retain_handling(handling))
}

/// A `properties` field the library cannot send in this packet yet.
fn no_properties(o: &Map<String, Value>, packet: &str) -> Result<(), String> {
    match object_of(o, "properties")? {
        Some(_) => Err(format!(
            "properties (User Properties) in {packet}: not supported yet"
        )),
        None => Ok(()),
    }
}

impl Script {
    pub(super) fn publish(&mut self, o: &Map<String, Value>) -> Result<(), String> {
        let topic = str_of(o, "topic")?.ok_or("publish needs a topic")?;
        let payload = payload_of(o)?;
        let qos = qos_of(o.get("qos"))?;
        let retain = bool_of(o, "retain", false)?;
        let props = match object_of(o, "properties")? {
            Some(_) if !self.v5() => return Err(needs_v5("properties")),
            Some(p) => Some(json::publish_props(p, false)?.0),
            None => None,
        };
        let out = self.out.clone();
        if !self.v5() {
            let pending = self
                .client()?
                .publish(topic, &payload, qos, retain)
                .map_err(|e| e.to_string())?;
            let packet_id = pending.packet_id().map(|p| p.get());
            pending.on_complete(move |r| match r {
                Ok(()) => out.emit(&json!({"event": "published", "packet_id": packet_id})),
                Err(e) => out.error("publish", e),
            });
            return Ok(());
        }
        let pending = self
            .client()?
            .publish_v5(topic, &payload, qos, retain, &props.unwrap_or_default())
            .map_err(|e| e.to_string())?;
        let packet_id = pending.packet_id().map(|p| p.get());
        pending.on_complete(move |r: Result<PubAck, mqtt_std::Error>| match r {
            Ok(a) => out.emit(&events::publish_answer(packet_id, &a)),
            Err(e) => out.error("publish", e),
        });
        Ok(())
    }

    pub(super) fn subscribe(&mut self, o: &Map<String, Value>) -> Result<(), String> {
        let Some(Value::Array(list)) = o.get("filters") else {
            return Err("subscribe needs filters: [{\"filter\":F,\"qos\":Q}]".into());
        };
        no_properties(o, "SUBSCRIBE")?;
        let id = json::subscription_identifier(o)?;
        let mut filters = Vec::with_capacity(list.len());
        for f in list {
            let Value::Object(f) = f else {
                return Err("each filter is {\"filter\":F,\"qos\":Q}".into());
            };
            let filter = str_of(f, "filter")?.ok_or("a filter needs \"filter\"")?;
            let qos = qos_of(f.get("qos"))?;
            filters.push((filter.to_owned(), options_of(f, qos)?));
        }
        let out = self.out.clone();
        if !self.v5() {
            if id.is_some() {
                return Err(needs_v5("subscription_identifier"));
            }
            if filters
                .iter()
                .any(|(_, o)| *o != SubscribeOptions::new(o.qos))
            {
                return Err(needs_v5(
                    "no_local, retain_as_published and retain_handling",
                ));
            }
            let refs: Vec<(&str, QoS)> = filters.iter().map(|(f, o)| (f.as_str(), o.qos)).collect();
            let pending = self.client()?.subscribe(&refs).map_err(|e| e.to_string())?;
            let packet_id = pending.packet_id().map(|p| p.get());
            pending.on_complete(move |r| match r {
                Ok(codes) => {
                    let codes: Vec<u8> = codes.iter().map(|c| c.as_u8()).collect();
                    out.emit(
                        &json!({"event": "suback", "packet_id": packet_id, "return_codes": codes}),
                    );
                }
                Err(e) => out.error("subscribe", e),
            });
            return Ok(());
        }
        let refs: Vec<(&str, SubscribeOptions)> =
            filters.iter().map(|(f, o)| (f.as_str(), *o)).collect();
        let pending = self
            .client()?
            .subscribe_with(&refs, id)
            .map_err(|e| e.to_string())?;
        let packet_id = pending.packet_id().map(|p| p.get());
        pending.on_complete(move |r| match r {
            Ok(codes) => {
                let codes: Vec<u8> = codes.iter().map(|c| c.as_u8()).collect();
                out.emit(
                    &json!({"event": "suback", "packet_id": packet_id, "reason_codes": codes}),
                );
            }
            Err(e) => out.error("subscribe", e),
        });
        Ok(())
    }

    pub(super) fn unsubscribe(&mut self, o: &Map<String, Value>) -> Result<(), String> {
        let Some(Value::Array(list)) = o.get("filters") else {
            return Err("unsubscribe needs filters: [string]".into());
        };
        no_properties(o, "UNSUBSCRIBE")?;
        let mut filters = Vec::with_capacity(list.len());
        for f in list {
            filters.push(f.as_str().ok_or("each filter is a string")?);
        }
        let out = self.out.clone();
        if !self.v5() {
            let pending = self
                .client()?
                .unsubscribe(&filters)
                .map_err(|e| e.to_string())?;
            let packet_id = pending.packet_id().map(|p| p.get());
            pending.on_complete(move |r| match r {
                Ok(()) => out.emit(&json!({"event": "unsuback", "packet_id": packet_id})),
                Err(e) => out.error("unsubscribe", e),
            });
            return Ok(());
        }
        let pending = self
            .client()?
            .unsubscribe_v5(&filters)
            .map_err(|e| e.to_string())?;
        let packet_id = pending.packet_id().map(|p| p.get());
        pending.on_complete(move |r| match r {
            Ok(codes) => {
                let codes: Vec<u8> = codes.iter().map(|c| c.as_u8()).collect();
                out.emit(
                    &json!({"event": "unsuback", "packet_id": packet_id, "reason_codes": codes}),
                );
            }
            Err(e) => out.error("unsubscribe", e),
        });
        Ok(())
    }

    pub(super) fn disconnect(&mut self, o: &Map<String, Value>) -> Result<(), String> {
        let code = num_of::<u8>(o, "reason_code", 0, 0xff)?;
        let props = object_of(o, "properties")?;
        if code.is_none() && props.is_none() {
            return self.client()?.disconnect().map_err(|e| e.to_string());
        }
        if !self.v5() {
            return Err(needs_v5("reason_code and properties"));
        }
        let code = json::client_disconnect_code(code.unwrap_or(0))?;
        let props = props.map(json::disconnect_props).transpose()?;
        self.client()?
            .disconnect_with_properties(code, &props.unwrap_or_default())
            .map_err(|e| e.to_string())
    }
}
