//! What `mqttc pub` and `mqttc sub` run with, made from what `clap` parsed (see `cli`): the
//! defaults that depend on other options, and the checks that involve more than one option.

use std::fmt;
use std::path::PathBuf;

use mqtt_proto::{TopicFilter, TopicName};
use mqtt_std::QoS;

use crate::cli::{CommonOpts, ConnOpts, LoginOpts, PubCli, SubCli, TlsOpts, WillOpts};

/// A usage error: exit status 2.
#[derive(Debug)]
pub struct Usage(pub String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn usage<T>(msg: impl Into<String>) -> Result<T, Usage> {
    Err(Usage(msg.into()))
}

/// Which subcommand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Pub,
    Sub,
}

/// Where `pub` takes its payload from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// `-m MSG`
    Text(String),
    /// `-f FILE`
    File(PathBuf),
    /// `-n`
    Empty,
    /// `-l`: one message per stdin line.
    Lines,
    /// `-s`: all of stdin as one message.
    Stdin,
}

/// TLS options; present when `--cafile` was given.
#[derive(Debug, Clone, Default)]
pub struct TlsArgs {
    /// `--cafile`; with neither it nor `capath`, the operating system's trust store.
    pub cafile: Option<PathBuf>,
    /// `--capath DIR`.
    pub capath: Option<PathBuf>,
    /// `--tls-alpn PROTO` (repeatable).
    pub alpn: Vec<String>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub insecure: bool,
    pub server_name: Option<String>,
}

/// The will options.
#[derive(Debug, Clone)]
pub struct WillArgs {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: QoS,
    pub retain: bool,
}

/// Everything `pub` and `sub` accept.
#[derive(Debug, Clone)]
pub struct Args {
    pub mode: Mode,
    pub host: String,
    pub port: u16,
    pub client_id: String,
    pub keep_alive: u16,
    pub clean_session: bool,
    pub qos: QoS,
    pub topics: Vec<String>,
    pub payload: Option<Payload>,
    pub retain: bool,
    pub username: Option<String>,
    pub password: Option<String>,
    pub will: Option<WillArgs>,
    pub tls: Option<TlsArgs>,
    /// MQTT over WebSocket (`-L ws://...`, `--ws-path`).
    pub websocket: Option<mqtt_std::WsConfig>,
    pub count: Option<u64>,
    pub timeout_secs: Option<u64>,
    pub verbose: bool,
    pub debug: bool,
    pub session_store: Option<PathBuf>,
    /// `--max-packet` (incoming) and `--queue-bytes`.
    pub max_packet: Option<usize>,
    pub queue_bytes: Option<usize>,
    /// `-V 5` / `-V 311`.
    pub protocol: mqtt_std::ProtocolVersion,
    /// sub: how messages are printed and which.
    pub sub: SubArgs,
    /// pub: `--repeat N` (1 without it) and `--repeat-delay SECS`.
    pub repeat: u64,
    pub repeat_delay: std::time::Duration,
    /// `-D`, `-x` (5.0).
    pub v5: crate::props::V5,
}

/// mosquitto_sub's output and selection options.
#[derive(Debug, Clone, Default)]
pub struct SubArgs {
    /// `-F FORMAT` (with `--pretty`).
    pub format: Option<crate::format::Format>,
    /// `-N`: no newline after the payload.
    pub no_newline: bool,
    /// `-R`: skip retained messages (stale ones sent on subscription).
    pub no_retained: bool,
    /// `--retained-only`: print retained messages, stop at the first that is not.
    pub retained_only: bool,
    /// `--remove-retained`: clear each retained message received (an empty retained publish).
    pub remove_retained: bool,
    /// `-T FILTER`: do not print messages on topics matching these.
    pub filter_out: Vec<String>,
    /// `-U FILTER`: unsubscribe from these.
    pub unsubscribe: Vec<String>,
    /// `-E`: exit once subscribed (and unsubscribed).
    pub exit_subscribed: bool,
    /// 5.0 subscription options beyond the QoS.
    pub no_local: bool,
    pub retain_as_published: bool,
    pub retain_handling: Option<mqtt_std::v5::RetainHandling>,
}

/// A generated client id: "mqttc" and 12 characters of `[0-9a-zA-Z]` (17 in all).
pub fn generated_client_id() -> String {
    mqtt_std::ClientOptions::generated_id("mqttc")
}

/// What only one of `pub` and `sub` has (the other's defaults).
struct ModeOpts {
    mode: Mode,
    topics: Vec<String>,
    qos: QoS,
    payload: Option<Payload>,
    retain: bool,
    repeat: u64,
    repeat_delay: std::time::Duration,
    count: Option<u64>,
    verbose: bool,
    sub: SubArgs,
    format: Option<String>,
    pretty: bool,
}

/// The options of `mqttc pub`.
pub fn from_pub(c: PubCli) -> Result<Args, Usage> {
    let p = c.payload;
    // clap lets through at most one of them.
    let payload = if let Some(m) = p.message {
        Some(Payload::Text(m))
    } else if let Some(f) = p.file {
        Some(Payload::File(f))
    } else if p.null_message {
        Some(Payload::Empty)
    } else if p.stdin_line {
        Some(Payload::Lines)
    } else if p.stdin_file {
        Some(Payload::Stdin)
    } else {
        None
    };
    let m = ModeOpts {
        mode: Mode::Pub,
        topics: c.publish.topics,
        qos: c.publish.qos.unwrap_or(QoS::AtMostOnce),
        payload,
        retain: c.publish.retain,
        repeat: c.publish.repeat.unwrap_or(1),
        repeat_delay: c.publish.repeat_delay.unwrap_or_default(),
        count: None,
        verbose: false,
        sub: SubArgs::default(),
        format: None,
        pretty: false,
    };
    finish(m, c.common)
}

/// The options of `mqttc sub`.
pub fn from_sub(c: SubCli) -> Result<Args, Usage> {
    let (s, o) = (c.subscribe, c.output);
    let m = ModeOpts {
        mode: Mode::Sub,
        topics: s.topics,
        qos: s.qos.unwrap_or(QoS::AtMostOnce),
        payload: None,
        retain: false,
        repeat: 1,
        repeat_delay: std::time::Duration::ZERO,
        count: s.count,
        verbose: o.verbose,
        sub: SubArgs {
            format: None,
            no_newline: o.no_newline,
            no_retained: o.no_retained,
            retained_only: o.retained_only,
            remove_retained: o.remove_retained,
            filter_out: o.filter_out,
            unsubscribe: s.unsubscribe,
            exit_subscribed: s.exit_subscribed,
            no_local: s.no_local,
            retain_as_published: s.retain_as_published,
            retain_handling: s.retain_handling,
        },
        format: o.format,
        pretty: o.pretty,
    };
    finish(m, c.common)
}

/// The options both share, and the checks across options.
fn finish(m: ModeOpts, common: CommonOpts) -> Result<Args, Usage> {
    let ModeOpts {
        mode,
        mut topics,
        qos,
        payload,
        retain,
        repeat,
        repeat_delay,
        count,
        verbose,
        mut sub,
        format,
        pretty,
    } = m;
    let CommonOpts {
        conn,
        login,
        will,
        tls,
    } = common;
    let ConnOpts {
        host,
        port,
        mut url,
        ws_path,
        ws_headers,
        properties,
        session_expiry,
        protocol,
        client_id,
        keep_alive,
        no_clean_session,
        timeout_secs,
        debug,
        session_store,
        max_packet,
        queue_bytes,
    } = conn;
    let clean_session = !no_clean_session;
    let protocol = protocol.unwrap_or(mqtt_std::ProtocolVersion::V311);
    let mut v5 = crate::props::V5::default();
    crate::props::parse(&crate::props::occurrences(&properties), &mut v5).map_err(Usage)?;
    if session_expiry.is_some() {
        v5.session_expiry = session_expiry;
    }
    let sub_v5 = sub.no_local || sub.retain_as_published || sub.retain_handling.is_some();
    if protocol != mqtt_std::ProtocolVersion::V5 && (v5.any() || sub_v5) {
        return usage(
            "-D, -x, --no-local, --retain-as-published and --retain-handling need MQTT 5.0: \
             give -V 5",
        );
    }
    let LoginOpts {
        mut username,
        password,
        pw_file,
    } = login;
    // clap keeps the last of -P and --pw-file.
    let mut password = match pw_file {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| Usage(format!("--pw-file {}: {e}", path.display())))?;
            // The first line; a trailing newline (as editors and `echo` leave) is not part of
            // the password.
            Some(text.lines().next().unwrap_or_default().to_owned())
        }
        None => password,
    };
    let WillOpts {
        will_topic,
        will_payload,
        will_qos,
        will_retain,
    } = will;
    let will_qos_given = will_qos.is_some();
    let will_qos = will_qos.unwrap_or(QoS::AtMostOnce);
    let TlsOpts {
        cafile,
        capath,
        use_os_certs,
        alpn,
        cert,
        key,
        server_name,
        insecure,
    } = tls;

    if !clean_session && client_id.is_none() {
        return usage("-c (persistent session) needs a client id: give -i ID");
    }
    // Login and topic given in the URL (mqtt://USER:PASS@HOST/TOPIC, as mosquitto takes it).
    if let Some(u) = url.as_mut() {
        if let Some(user) = u.username.take() {
            if username.is_some() {
                return usage("-L gives the user name: leave out -u");
            }
            username = Some(user);
        }
        if let Some(pw) = u.password.take() {
            if password.is_some() {
                return usage("-L gives the password: leave out -P and --pw-file");
            }
            password = Some(pw);
        }
        if let Some(topic) = u.topic.take() {
            if !topics.is_empty() {
                return usage("-L gives the topic: leave out -t");
            }
            topics.push(topic);
        }
    }
    if password.is_none() {
        // Kept off the command line, where every user of the machine sees it (`ps`).
        password = std::env::var("MQTTC_PASSWORD")
            .ok()
            .filter(|p| !p.is_empty());
        if password.is_some() && username.is_none() {
            return usage("MQTTC_PASSWORD is set: it needs -u");
        }
    }
    if password.is_some() && username.is_none() {
        return usage("-P needs -u (a password without a user name is not allowed)");
    }
    match mode {
        Mode::Pub => {
            if topics.len() != 1 {
                return usage("mqttc pub needs exactly one -t TOPIC");
            }
            for t in &topics {
                if let Err(e) = TopicName::new(t) {
                    return usage(format!("invalid topic {t:?}: {e}"));
                }
            }
            if payload.is_none() {
                return usage("mqttc pub needs a payload: -m MSG, -f FILE, -n, -l or -s");
            }
        }
        Mode::Sub => {
            if topics.is_empty() && sub.unsubscribe.is_empty() {
                return usage("mqttc sub needs at least one -t FILTER (or -U FILTER)");
            }
            // clap has refused -R with --retained-only, and --pretty without -F.
            if let Some(f) = &format {
                sub.format = Some(crate::format::Format::parse(f, pretty).map_err(Usage)?);
            }
            for t in &topics {
                if let Err(e) = TopicFilter::new(t) {
                    return usage(format!("invalid topic filter {t:?}: {e}"));
                }
            }
        }
    }
    let will = match (will_topic, will_payload.map(String::into_bytes)) {
        (Some(topic), payload) => {
            if let Err(e) = TopicName::new(&topic) {
                return usage(format!("invalid will topic {topic:?}: {e}"));
            }
            Some(WillArgs {
                topic,
                payload: payload.unwrap_or_default(),
                qos: will_qos,
                retain: will_retain,
            })
        }
        (None, Some(_)) => return usage("--will-payload needs --will-topic"),
        (None, None) => {
            if will_qos_given || will_retain {
                return usage("--will-qos and --will-retain need --will-topic");
            }
            None
        }
    };
    // TLS is on with a CA option, an mqtts:// or wss:// URL, or port 8883 (as with
    // mosquitto_pub/sub); without --cafile and --capath the system's trust store is used.
    let url_tls = url.as_ref().is_some_and(|u| u.tls);
    let tls_on = cafile.is_some()
        || capath.is_some()
        || use_os_certs
        || url_tls
        || (port == Some(8883) && url.is_none());
    let tls = if tls_on {
        if cert.is_some() != key.is_some() {
            return usage("--cert and --key go together");
        }
        Some(TlsArgs {
            cafile,
            capath,
            alpn,
            cert,
            key,
            insecure,
            server_name,
        })
    } else {
        if cert.is_some() || key.is_some() || insecure || server_name.is_some() || !alpn.is_empty()
        {
            return usage(
                "--cert, --key, --insecure, --tls-server-name and --tls-alpn need TLS: \
                 --cafile, --capath, --tls-use-os-certs, an mqtts:// URL or -p 8883",
            );
        }
        None
    };
    let mut websocket = ws_path.as_deref().map(mqtt_std::WsConfig::new);
    let (host, port) = match url {
        Some(u) => {
            if host.is_some() || port.is_some() {
                return usage("-L gives the host and port: leave out -h and -p");
            }
            if ws_path.is_some() {
                return usage("-L gives the WebSocket path: leave out --ws-path");
            }
            if !u.tls && tls.is_some() {
                return usage("a TLS option turns TLS on: use a wss:// or mqtts:// URL");
            }
            websocket = u.websocket;
            (Some(u.host), u.port)
        }
        None => {
            let default = match (websocket.is_some(), tls.is_some()) {
                (false, false) => 1883,
                (false, true) => 8883,
                (true, false) => 80,
                (true, true) => 443,
            };
            (host, port.unwrap_or(default))
        }
    };
    match &mut websocket {
        Some(ws) => {
            for (name, val) in ws_headers {
                *ws = ws.clone().header(&name, &val);
            }
        }
        None if !ws_headers.is_empty() => {
            return usage("--ws-header needs --ws-path or a ws:// or wss:// URL");
        }
        None => {}
    }
    Ok(Args {
        mode,
        host: host.unwrap_or_else(|| "localhost".to_owned()),
        port,
        client_id: client_id.unwrap_or_else(generated_client_id),
        keep_alive,
        clean_session,
        qos,
        topics,
        payload,
        retain,
        username,
        password,
        will,
        tls,
        websocket,
        count,
        timeout_secs,
        verbose,
        debug,
        protocol,
        sub,
        repeat,
        repeat_delay,
        session_store,
        max_packet: max_packet.or(v5.maximum_packet_size.map(|n| n as usize)),
        queue_bytes,
        v5,
    })
}

#[cfg(test)]
mod tests;
