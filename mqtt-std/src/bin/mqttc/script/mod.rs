//! `mqttc script`: a client driven by JSON lines (see `mqttc script --help`).
//!
//! Commands are read from stdin one per line and run in order; every answer and event is one
//! JSON object per line on stdout, flushed at once. Completions (PUBACK, SUBACK, ...) and
//! messages are written from the client's IO thread as they happen, so a command never waits
//! for an earlier one's acknowledgement.

use std::io::{self, BufRead as _, Write as _};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod commands;
mod events;
mod json;

use mqtt_std::{Client, ConnectOptions, DisconnectReason, Error, ProtocolVersion, TlsConfig, Will};
use serde_json::{Map, Value, json};

use events::message_event;
use json::{bool_of, num_of, object_of, payload_of, qos_of, str_of};

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

/// What makes a client: a connect that differs in any of these makes a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ClientKey {
    client_id: String,
    /// The durable session store, if any.
    store: Option<String>,
    /// 5.0 `maximum_packet_size`: the receive buffer.
    max_packet: Option<usize>,
    /// Outgoing topic aliases the client may set.
    topic_aliases: u16,
}

struct Script {
    out: Out,
    client: Option<Client>,
    key: Option<ClientKey>,
    /// The last connect asked for MQTT 5.0 (also read by the IO thread, which writes the
    /// `message` events).
    v5: Arc<AtomicBool>,
}

/// Runs the script loop until `exit` or the end of stdin.
pub fn run() -> ExitCode {
    let mut s = Script {
        out: Out(Arc::new(Mutex::new(io::stdout()))),
        client: None,
        key: None,
        v5: Arc::new(AtomicBool::new(false)),
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

/// The error text of a 5.0 field on a 3.1.1 connection.
fn needs_v5(field: &str) -> String {
    format!("{field} needs MQTT 5.0 (connect with \"protocol_version\": 5)")
}

impl Script {
    /// The last connect asked for MQTT 5.0.
    fn v5(&self) -> bool {
        self.v5.load(Ordering::Relaxed)
    }

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
            "disconnect" => self.disconnect(o),
            "drop" => self.client()?.drop_connection().map_err(|e| e.to_string()),
            other => Err(format!("unknown command {other:?}")),
        }
    }

    /// The client for `key`: kept across connects with the same one, so a session with clean
    /// session off carries over; a new id, store, packet size or alias count makes a new
    /// client.
    fn client_for(&mut self, key: ClientKey) -> Result<Client, String> {
        if let (Some(c), Some(k)) = (&self.client, &self.key) {
            if *k == key {
                return Ok(c.clone());
            }
        }
        if let Some(old) = self.client.take() {
            old.close();
        }
        self.key = None;
        let mut options = crate::run::cli_options(&key.client_id, 0);
        if let Some(dir) = &key.store {
            options = options.session_store(dir);
        }
        if let Some(n) = key.max_packet {
            options = options.max_packet_size(n);
        }
        options = options.topic_aliases(key.topic_aliases);
        let c = Client::new(options).map_err(|e| e.to_string())?;
        let out = self.out.clone();
        c.set_disconnect_notify(move |reason: &DisconnectReason| {
            out.emit(&events::reason_event(reason));
        });
        let out = self.out.clone();
        let reader = c.clone();
        let v5 = Arc::clone(&self.v5);
        c.set_receive_notify(move |_queued: usize| {
            while let Some(m) = reader.try_recv() {
                out.emit(&message_event(&m, v5.load(Ordering::Relaxed)));
            }
        });
        // Messages a durable store hands out again are queued from the start.
        while let Some(m) = c.try_recv() {
            self.out.emit(&message_event(&m, self.v5()));
        }
        self.client = Some(c.clone());
        self.key = Some(key);
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
        let v5 = match o.get("protocol_version") {
            None | Some(Value::Null) => false,
            Some(v) if v.as_u64() == Some(4) => false,
            Some(v) if v.as_u64() == Some(5) => true,
            Some(_) => return Err("protocol_version must be 4 (MQTT 3.1.1) or 5 (MQTT 5.0)".into()),
        };
        let mut options = ConnectOptions::default()
            .keep_alive(keep_alive)
            .clean_session(clean);
        match o.get("timeout_ms").map(Value::as_u64) {
            None => {}
            Some(Some(ms)) => options = options.wait(Duration::from_millis(ms)),
            Some(None) => return Err("timeout_ms must be a number".into()),
        }
        let props = match object_of(o, "properties")? {
            Some(_) if !v5 => return Err(needs_v5("properties")),
            Some(p) => json::connect_props(p)?,
            None => json::ConnectProps::default(),
        };
        let topic_aliases = num_of(o, "topic_aliases", 0, u16::MAX.into())?.unwrap_or(0);
        if topic_aliases > 0 && !v5 {
            return Err(needs_v5("topic_aliases"));
        }
        if v5 {
            options = v5_options(options.protocol(ProtocolVersion::V5), &props);
        }
        let will = match o.get("will") {
            None | Some(Value::Null) => None,
            Some(Value::Object(w)) => {
                let mut will = Will::new(
                    str_of(w, "topic")?.ok_or("will needs a topic")?,
                    payload_of(w)?,
                    qos_of(w.get("qos"))?,
                    bool_of(w, "retain", false)?,
                );
                match object_of(w, "properties")? {
                    Some(_) if !v5 => return Err(needs_v5("will properties")),
                    Some(p) => {
                        let (props, delay) = json::publish_props(p, true)?;
                        will = will.properties(props);
                        if let Some(d) = delay {
                            will = will.delay(d);
                        }
                    }
                    None => {}
                }
                Some(will)
            }
            Some(_) => return Err("will must be an object".into()),
        };
        let username = str_of(o, "username")?;
        let password = str_of(o, "password")?;
        if password.is_some() && username.is_none() {
            return Err("password needs username".into());
        }
        let tls = match tls {
            None => None,
            Some(t) => Some(tls_of(t)?),
        };

        let key = ClientKey {
            client_id,
            store: str_of(o, "session_store")?.map(str::to_owned),
            max_packet: props
                .maximum_packet_size
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            topic_aliases,
        };
        self.v5.store(v5, Ordering::Relaxed);
        let client = self.client_for(key)?;
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
                Ok(c) => Ok(events::connack(&c)),
                Err(e) => events::refused_connack(&e).ok_or_else(|| e.to_string()),
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
}

/// The 5.0 CONNECT properties on `c` (the Maximum Packet Size goes in the client options).
fn v5_options(mut c: ConnectOptions, p: &json::ConnectProps) -> ConnectOptions {
    if let Some(s) = p.session_expiry_interval {
        c = c.session_expiry(s);
    }
    if let Some(n) = p.receive_maximum {
        c = c.receive_maximum(n);
    }
    if let Some(n) = p.topic_alias_maximum {
        c = c.topic_alias_maximum(n);
    }
    if let Some(b) = p.request_response_information {
        c = c.request_response_information(b);
    }
    if let Some(b) = p.request_problem_information {
        c = c.request_problem_information(b);
    }
    for (k, v) in &p.user_properties {
        c = c.user_property(k, v);
    }
    if let Some((method, data)) = &p.authentication {
        c = c.authentication(method, data.clone());
    }
    c
}

/// The `tls` object of `connect`: `{ca_file, cert_file, key_file, server_name}`.
fn tls_of(t: &Map<String, Value>) -> Result<TlsConfig, String> {
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
    b.build().map_err(|e| format!("tls: {e}"))
}
