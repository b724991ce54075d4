//! `mqttc script`: a client driven by JSON lines (see `mqttc script --help`).
//!
//! Commands are read from stdin one per line and run in order; every answer and event is one
//! JSON object per line on stdout, flushed at once. Completions (PUBACK, SUBACK, ...) and
//! messages are written from the client's IO thread as they happen, so a command never waits
//! for an earlier one's acknowledgement.

use std::io::{self, BufRead as _, Write as _};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mqtt_std::{Client, ConnectOptions, DisconnectReason, Error, Message, QoS, TlsConfig, Will};
use serde_json::{Map, Value, json};

/// Serialised writer of JSON lines.
#[derive(Clone)]
struct Out(Arc<Mutex<io::Stdout>>);

impl Out {
    fn emit(&self, v: &Value) {
        let line = v.to_string();
        let guard = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = guard.lock();
        // stdout gone: nothing left to tell anyone; the read loop ends at EOF.
        let _ = out
            .write_all(line.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
    }
    fn error(&self, cmd: &str, error: impl std::fmt::Display) {
        self.emit(&json!({"event": "error", "cmd": cmd, "error": error.to_string()}));
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if s.len() % 2 != 0 {
        return Err("payload_hex has an odd number of digits".into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
                .ok_or_else(|| format!("payload_hex: {:?} is not hex", s.get(i..i + 2)))
        })
        .collect()
}

fn message_event(m: &Message) -> Value {
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
    Value::Object(ev)
}

/// The optional `websocket` object of `connect`: `{path, headers: {NAME: VALUE}}`.
fn websocket_of(o: &Map<String, Value>) -> Result<Option<mqtt_std::WsConfig>, String> {
    let w = match o.get("websocket") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(w)) => w,
        Some(_) => return Err("websocket must be an object".into()),
    };
    let mut ws = mqtt_std::WsConfig::new(str_of(w, "path")?.unwrap_or("/mqtt"));
    match w.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(h)) => {
            for (name, value) in h {
                let value = value.as_str().ok_or("websocket headers must be strings")?;
                ws = ws.header(name, value);
            }
        }
        Some(_) => return Err("websocket headers must be an object".into()),
    }
    Ok(Some(ws))
}

/// The `reason` word and `detail` text of a `disconnected` event.
fn reason_event(reason: &DisconnectReason) -> Value {
    let word = match reason {
        DisconnectReason::Local => "local",
        DisconnectReason::Dropped => "dropped",
        DisconnectReason::KeepAliveTimeout => "keep_alive_timeout",
        DisconnectReason::ProtocolViolation(_) => "protocol_violation",
        DisconnectReason::TransportClosed => "closed_by_broker",
        DisconnectReason::Tls(_) => "tls",
        DisconnectReason::Io(_) => "io",
        DisconnectReason::Refused(_) => "refused",
        DisconnectReason::ConnAckTimeout => "connack_timeout",
        DisconnectReason::IncomingPacketTooLarge => "packet_too_large",
        DisconnectReason::ClientClosed => "client_closed",
        DisconnectReason::WebSocket(_) => "websocket",
        _ => "other",
    };
    json!({"event": "disconnected", "reason": word, "detail": reason.to_string()})
}

fn qos_of(v: Option<&Value>) -> Result<QoS, String> {
    match v.map(Value::as_u64) {
        None => Ok(QoS::AtMostOnce),
        Some(Some(0)) => Ok(QoS::AtMostOnce),
        Some(Some(1)) => Ok(QoS::AtLeastOnce),
        Some(Some(2)) => Ok(QoS::ExactlyOnce),
        _ => Err("qos must be 0, 1 or 2".into()),
    }
}

fn str_of<'a>(o: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{key} must be a string")),
    }
}

fn bool_of(o: &Map<String, Value>, key: &str, default: bool) -> Result<bool, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("{key} must be true or false")),
    }
}

fn payload_of(o: &Map<String, Value>) -> Result<Vec<u8>, String> {
    match (str_of(o, "payload")?, str_of(o, "payload_hex")?) {
        (Some(_), Some(_)) => Err("give payload or payload_hex, not both".into()),
        (Some(p), None) => Ok(p.as_bytes().to_vec()),
        (None, Some(h)) => unhex(h),
        (None, None) => Ok(Vec::new()),
    }
}

struct Script {
    out: Out,
    client: Option<Client>,
    /// The durable session store of `client`, if any.
    store: Option<String>,
}

/// Runs the script loop until `exit` or the end of stdin.
pub fn run() -> ExitCode {
    let mut s = Script {
        out: Out(Arc::new(Mutex::new(io::stdout()))),
        client: None,
        store: None,
    };
    let stdin = io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else {
            s.out.error("", "stdin is not valid UTF-8");
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        let cmd = match serde_json::from_str::<Value>(&line) {
            Ok(Value::Object(o)) => o,
            Ok(_) => {
                s.out.error("", "a command must be a JSON object");
                continue;
            }
            Err(e) => {
                s.out.error("", format!("not JSON: {e}"));
                continue;
            }
        };
        let name = match cmd.get("cmd") {
            Some(Value::String(n)) => n.clone(),
            _ => {
                s.out.error("", "missing \"cmd\"");
                continue;
            }
        };
        if name == "exit" {
            break;
        }
        if let Err(e) = s.command(&name, &cmd) {
            s.out.error(&name, e);
        }
    }
    if let Some(c) = s.client.take() {
        c.close();
    }
    ExitCode::SUCCESS
}

impl Script {
    fn client(&self) -> Result<&Client, String> {
        self.client
            .as_ref()
            .ok_or_else(|| "not connected: send connect first".to_owned())
    }

    fn command(&mut self, name: &str, o: &Map<String, Value>) -> Result<(), String> {
        match name {
            "connect" => self.connect(o),
            "publish" => self.publish(o),
            "subscribe" => self.subscribe(o),
            "unsubscribe" => self.unsubscribe(o),
            "disconnect" => self.client()?.disconnect().map_err(|e| e.to_string()),
            "drop" => self.client()?.drop_connection().map_err(|e| e.to_string()),
            other => Err(format!("unknown command {other:?}")),
        }
    }

    /// The client for `client_id` (and `session_store`): kept across connects with the same
    /// ones, so a session with clean session off carries over; a new id or store makes a new
    /// client.
    fn client_for(&mut self, client_id: &str, store: Option<&str>) -> Result<Client, String> {
        if let Some(c) = &self.client {
            if c.client_id() == client_id && self.store.as_deref() == store {
                return Ok(c.clone());
            }
        }
        if let Some(old) = self.client.take() {
            old.close();
        }
        self.store = store.map(str::to_owned);
        let mut options = crate::run::cli_options(client_id, 0);
        if let Some(dir) = store {
            options = options.session_store(dir);
        }
        let c = Client::new(options).map_err(|e| e.to_string())?;
        let out = self.out.clone();
        c.set_disconnect_notify(move |reason: &DisconnectReason| {
            out.emit(&reason_event(reason));
        });
        let out = self.out.clone();
        let reader = c.clone();
        c.set_receive_notify(move |_queued: usize| {
            while let Some(m) = reader.try_recv() {
                out.emit(&message_event(&m));
            }
        });
        // Messages a durable store hands out again are queued from the start.
        while let Some(m) = c.try_recv() {
            self.out.emit(&message_event(&m));
        }
        self.client = Some(c.clone());
        Ok(c)
    }

    fn connect(&mut self, o: &Map<String, Value>) -> Result<(), String> {
        let host = str_of(o, "host")?.unwrap_or("localhost").to_owned();
        let client_id = str_of(o, "client_id")?.unwrap_or("").to_owned();
        let clean = bool_of(o, "clean_session", true)?;
        let keep_alive = match o.get("keep_alive").map(Value::as_u64) {
            None => 60,
            Some(Some(k)) => u16::try_from(k).map_err(|_| "keep_alive must be 0-65535")?,
            Some(None) => return Err("keep_alive must be a number".into()),
        };
        let tls = match o.get("tls") {
            None | Some(Value::Null) => None,
            Some(Value::Object(t)) => Some(t),
            Some(_) => return Err("tls must be an object".into()),
        };
        let websocket = websocket_of(o)?;
        let port = match o.get("port").map(Value::as_u64) {
            None => match (websocket.is_some(), tls.is_some()) {
                (false, false) => 1883,
                (false, true) => 8883,
                (true, false) => 80,
                (true, true) => 443,
            },
            Some(Some(p)) => u16::try_from(p).map_err(|_| "port must be 1-65535")?,
            Some(None) => return Err("port must be a number".into()),
        };
        let mut options = ConnectOptions::default()
            .keep_alive(keep_alive)
            .clean_session(clean);
        match o.get("timeout_ms").map(Value::as_u64) {
            None => {}
            Some(Some(ms)) => options = options.wait(Duration::from_millis(ms)),
            Some(None) => return Err("timeout_ms must be a number".into()),
        }
        let will = match o.get("will") {
            None | Some(Value::Null) => None,
            Some(Value::Object(w)) => Some(Will::new(
                str_of(w, "topic")?.ok_or("will needs a topic")?,
                payload_of(w)?,
                qos_of(w.get("qos"))?,
                bool_of(w, "retain", false)?,
            )),
            Some(_) => return Err("will must be an object".into()),
        };
        let username = str_of(o, "username")?;
        let password = str_of(o, "password")?;
        if password.is_some() && username.is_none() {
            return Err("password needs username".into());
        }
        let tls = match tls {
            None => None,
            Some(t) => {
                let ca = str_of(t, "ca_file")?.ok_or("tls needs ca_file")?;
                let mut b = TlsConfig::builder()
                    .ca_file(ca)
                    .map_err(|e| format!("tls: {e}"))?;
                match (str_of(t, "cert_file")?, str_of(t, "key_file")?) {
                    (Some(c), Some(k)) => {
                        b = b.client_cert_files(c, k).map_err(|e| format!("tls: {e}"))?;
                    }
                    (None, None) => {}
                    _ => return Err("tls: cert_file and key_file go together".into()),
                }
                if let Some(n) = str_of(t, "server_name")? {
                    b = b.server_name(n);
                }
                Some(b.build().map_err(|e| format!("tls: {e}"))?)
            }
        };

        let store = str_of(o, "session_store")?;
        let client = self.client_for(&client_id, store)?;
        match username {
            Some(u) => client.set_login(u, password.map(str::as_bytes)),
            None => client.clear_login(),
        }
        client.set_will(will).map_err(|e| e.to_string())?;
        client.set_websocket(websocket);
        // The answer is written from the IO thread at CONNACK, so that it comes before any
        // message the broker sends right after it (a resumed session's queue).
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let out = self.out.clone();
        let on_complete = move |r: Result<mqtt_std::Connected, Error>| {
            let answer = match r {
                Ok(c) => Ok(json!({
                    "event": "connack",
                    "session_present": c.session_present,
                    "return_code": 0
                })),
                Err(Error::Refused(code)) => Ok(json!({
                    "event": "connack",
                    "session_present": false,
                    "return_code": code.as_u8()
                })),
                Err(e) => Err(e.to_string()),
            };
            if let Ok(ev) = &answer {
                out.emit(ev);
            }
            let _ = done_tx.send(answer.map(|_| ()));
        };
        client
            .connect_nonblocking(&host, port, tls.as_ref(), &options, on_complete)
            .map_err(|e| e.to_string())?;
        match done_rx.recv_timeout(options.wait_time() + Duration::from_secs(2)) {
            Ok(r) => r?,
            Err(_) => return Err("timed out".into()),
        }
        Ok(())
    }

    fn publish(&mut self, o: &Map<String, Value>) -> Result<(), String> {
        let topic = str_of(o, "topic")?.ok_or("publish needs a topic")?;
        let payload = payload_of(o)?;
        let qos = qos_of(o.get("qos"))?;
        let retain = bool_of(o, "retain", false)?;
        let pending = self
            .client()?
            .publish(topic, &payload, qos, retain)
            .map_err(|e| e.to_string())?;
        let out = self.out.clone();
        let packet_id = pending.packet_id().map(|p| p.get());
        pending.on_complete(move |r| match r {
            Ok(()) => out.emit(&json!({"event": "published", "packet_id": packet_id})),
            Err(e) => out.error("publish", e),
        });
        Ok(())
    }

    fn subscribe(&mut self, o: &Map<String, Value>) -> Result<(), String> {
        let Some(Value::Array(list)) = o.get("filters") else {
            return Err("subscribe needs filters: [{\"filter\":F,\"qos\":Q}]".into());
        };
        let mut filters = Vec::with_capacity(list.len());
        for f in list {
            let Value::Object(f) = f else {
                return Err("each filter is {\"filter\":F,\"qos\":Q}".into());
            };
            let filter = str_of(f, "filter")?.ok_or("a filter needs \"filter\"")?;
            filters.push((filter.to_owned(), qos_of(f.get("qos"))?));
        }
        let refs: Vec<(&str, QoS)> = filters.iter().map(|(f, q)| (f.as_str(), *q)).collect();
        let pending = self.client()?.subscribe(&refs).map_err(|e| e.to_string())?;
        let out = self.out.clone();
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
        Ok(())
    }

    fn unsubscribe(&mut self, o: &Map<String, Value>) -> Result<(), String> {
        let Some(Value::Array(list)) = o.get("filters") else {
            return Err("unsubscribe needs filters: [string]".into());
        };
        let mut filters = Vec::with_capacity(list.len());
        for f in list {
            filters.push(f.as_str().ok_or("each filter is a string")?);
        }
        let pending = self
            .client()?
            .unsubscribe(&filters)
            .map_err(|e| e.to_string())?;
        let out = self.out.clone();
        let packet_id = pending.packet_id().map(|p| p.get());
        pending.on_complete(move |r| match r {
            Ok(()) => out.emit(&json!({"event": "unsuback", "packet_id": packet_id})),
            Err(e) => out.error("unsubscribe", e),
        });
        Ok(())
    }
}
