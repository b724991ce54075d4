//! Command-line parsing for `mqttc pub` and `mqttc sub` (mosquitto_pub/sub option names).

use std::fmt;
use std::path::PathBuf;

use mqtt_proto::{TopicFilter, TopicName};
use mqtt_std::QoS;

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

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Pub => "pub",
            Mode::Sub => "sub",
        }
    }
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
    /// `-V 5` / `-V 311`.
    pub protocol: mqtt_std::ProtocolVersion,
    /// sub: how messages are printed and which.
    pub sub: SubArgs,
    /// pub: `--repeat N` (1 without it) and `--repeat-delay SECS`.
    pub repeat: u64,
    pub repeat_delay: std::time::Duration,
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
}

fn parse_num<T: std::str::FromStr>(opt: &str, v: &str, what: &str) -> Result<T, Usage> {
    v.parse()
        .map_err(|_| Usage(format!("{opt} needs {what}, not {v:?}")))
}

fn parse_qos(opt: &str, v: &str) -> Result<QoS, Usage> {
    match v {
        "0" => Ok(QoS::AtMostOnce),
        "1" => Ok(QoS::AtLeastOnce),
        "2" => Ok(QoS::ExactlyOnce),
        _ => usage(format!("{opt} must be 0, 1 or 2, not {v:?}")),
    }
}

/// A generated client id: "mqttc" and 12 characters of `[0-9a-zA-Z]` (17 in all).
pub fn generated_client_id() -> String {
    const ALNUM: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut id = String::from("mqttc");
    let mut r = random_u64();
    for _ in 0..12 {
        let i = usize::try_from(r % 62).unwrap_or(0);
        id.push(char::from(ALNUM.get(i).copied().unwrap_or(b'x')));
        r /= 62;
    }
    id
}

/// 64 random bits from the standard library's per-process hash seed and the clock.
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// Parses the options that follow `pub` or `sub`.
pub fn parse(mode: Mode, argv: &[String]) -> Result<Args, Usage> {
    let mut host = None;
    let mut port = None;
    let mut client_id = None;
    let mut keep_alive = 60u16;
    let mut clean_session = true;
    let mut qos = QoS::AtMostOnce;
    let mut topics = Vec::new();
    let mut payload: Option<Payload> = None;
    let mut retain = false;
    let mut username = None;
    let mut password = None;
    let mut will_topic: Option<String> = None;
    let mut will_payload: Option<Vec<u8>> = None;
    let mut will_qos = QoS::AtMostOnce;
    let mut will_retain = false;
    let mut will_qos_given = false;
    let mut cafile = None;
    let mut capath = None;
    let mut use_os_certs = false;
    let mut alpn: Vec<String> = Vec::new();
    let mut cert = None;
    let mut key = None;
    let mut insecure = false;
    let mut server_name = None;
    let mut count = None;
    let mut timeout_secs = None;
    let mut verbose = false;
    let mut sub = SubArgs::default();
    let mut protocol = mqtt_std::ProtocolVersion::V311;
    let mut format: Option<String> = None;
    let mut pretty = false;
    let mut repeat = 1u64;
    let mut repeat_delay = std::time::Duration::ZERO;
    let mut debug = false;
    let mut session_store = None;
    let mut url: Option<mqtt_std::ws::BrokerUrl> = None;
    let mut ws_path: Option<String> = None;
    let mut ws_headers: Vec<(String, String)> = Vec::new();

    let mut it = argv.iter();
    while let Some(opt) = it.next() {
        let opt = opt.as_str();
        let mut value = || -> Result<String, Usage> {
            it.next()
                .cloned()
                .ok_or_else(|| Usage(format!("{opt} needs a value")))
        };
        let mut set_payload = |p: Payload| -> Result<(), Usage> {
            if payload.is_some() {
                return usage("give only one of -m, -f, -n, -l, -s");
            }
            payload = Some(p);
            Ok(())
        };
        let pub_only = |o: &str| -> Result<(), Usage> {
            if mode == Mode::Sub {
                return usage(format!("{o} is an option of mqttc pub, not mqttc sub"));
            }
            Ok(())
        };
        let sub_only = |o: &str| -> Result<(), Usage> {
            if mode == Mode::Pub {
                return usage(format!("{o} is an option of mqttc sub, not mqttc pub"));
            }
            Ok(())
        };
        match opt {
            "-h" | "--host" => host = Some(value()?),
            "-p" | "--port" => port = Some(parse_num::<u16>(opt, &value()?, "a port number")?),
            "-i" | "--id" => {
                let id = value()?;
                if id.len() > 65_535 || id.contains('\0') {
                    return usage("-i: the client id must be at most 65,535 bytes, without NUL");
                }
                client_id = Some(id);
            }
            "-k" | "--keepalive" => {
                keep_alive = parse_num(opt, &value()?, "seconds from 0 to 65535")?;
            }
            "-c" | "--disable-clean-session" => clean_session = false,
            "-q" | "--qos" => qos = parse_qos(opt, &value()?)?,
            "-t" | "--topic" => topics.push(value()?),
            "-m" | "--message" => {
                pub_only(opt)?;
                let v = value()?;
                set_payload(Payload::Text(v))?;
            }
            "-f" | "--file" => {
                pub_only(opt)?;
                let v = value()?;
                set_payload(Payload::File(PathBuf::from(v)))?;
            }
            "-n" | "--null-message" => {
                pub_only(opt)?;
                set_payload(Payload::Empty)?;
            }
            "-l" | "--stdin-line" => {
                pub_only(opt)?;
                set_payload(Payload::Lines)?;
            }
            "-s" | "--stdin-file" => {
                pub_only(opt)?;
                set_payload(Payload::Stdin)?;
            }
            "-r" | "--retain" => {
                pub_only(opt)?;
                retain = true;
            }
            "-u" | "--username" => username = Some(value()?),
            "-P" | "--pw" => password = Some(value()?),
            "--pw-file" => {
                let path = value()?;
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| Usage(format!("--pw-file {path}: {e}")))?;
                // The first line; a trailing newline (as editors and `echo` leave) is not
                // part of the password.
                let line = text.lines().next().unwrap_or_default();
                password = Some(line.to_owned());
            }
            "--will-topic" => will_topic = Some(value()?),
            "--will-payload" => will_payload = Some(value()?.into_bytes()),
            "--will-qos" => {
                will_qos = parse_qos(opt, &value()?)?;
                will_qos_given = true;
            }
            "--will-retain" => will_retain = true,
            "--cafile" => cafile = Some(PathBuf::from(value()?)),
            "--capath" => capath = Some(PathBuf::from(value()?)),
            "--tls-use-os-certs" => use_os_certs = true,
            "--tls-alpn" => alpn.push(value()?),
            "--cert" => cert = Some(PathBuf::from(value()?)),
            "--key" => key = Some(PathBuf::from(value()?)),
            "--insecure" => insecure = true,
            "--tls-server-name" => server_name = Some(value()?),
            "-L" | "--url" => {
                let v = value()?;
                url = Some(
                    mqtt_std::ws::BrokerUrl::parse(&v).map_err(|e| Usage(format!("-L: {e}")))?,
                );
            }
            "--ws-path" => ws_path = Some(value()?),
            "--ws-header" => {
                let v = value()?;
                let Some((name, val)) = v.split_once(':') else {
                    return usage("--ws-header needs NAME: VALUE");
                };
                ws_headers.push((name.trim().to_owned(), val.trim().to_owned()));
            }
            "-C" => {
                sub_only(opt)?;
                let n: u64 = parse_num(opt, &value()?, "a positive count")?;
                if n == 0 {
                    return usage("-C needs a positive count");
                }
                count = Some(n);
            }
            "-W" => {
                let n: u64 = parse_num(opt, &value()?, "a positive number of seconds")?;
                if n == 0 {
                    return usage("-W needs a positive number of seconds");
                }
                timeout_secs = Some(n);
            }
            "-v" | "--verbose" => {
                sub_only(opt)?;
                verbose = true;
            }
            "-d" | "--debug" => debug = true,
            "-V" | "--protocol-version" => {
                let v = value()?;
                protocol = match v.as_str() {
                    "5" | "mqttv5" => mqtt_std::ProtocolVersion::V5,
                    "311" | "mqttv311" => mqtt_std::ProtocolVersion::V311,
                    "31" | "mqttv31" => {
                        return usage("MQTT 3.1 (-V 31) is not supported: use 311 or 5");
                    }
                    _ => return usage(format!("-V must be 5, mqttv5, 311 or mqttv311, not {v:?}")),
                };
            }
            "-F" => {
                sub_only(opt)?;
                format = Some(value()?);
            }
            "--pretty" => {
                sub_only(opt)?;
                pretty = true;
            }
            "-N" => {
                sub_only(opt)?;
                sub.no_newline = true;
            }
            "-R" => {
                sub_only(opt)?;
                sub.no_retained = true;
            }
            "--retained-only" => {
                sub_only(opt)?;
                sub.retained_only = true;
            }
            "--remove-retained" => {
                sub_only(opt)?;
                sub.remove_retained = true;
            }
            "-T" | "--filter-out" => {
                sub_only(opt)?;
                let f = value()?;
                if let Err(e) = TopicFilter::new(&f) {
                    return usage(format!("-T {f:?}: {e}"));
                }
                sub.filter_out.push(f);
            }
            "-U" | "--unsubscribe" => {
                sub_only(opt)?;
                let f = value()?;
                if let Err(e) = TopicFilter::new(&f) {
                    return usage(format!("-U {f:?}: {e}"));
                }
                sub.unsubscribe.push(f);
            }
            "-E" => {
                sub_only(opt)?;
                sub.exit_subscribed = true;
            }
            "--repeat" => {
                pub_only(opt)?;
                repeat = parse_num(opt, &value()?, "a count of at least 1")?;
                if repeat == 0 {
                    return usage("--repeat needs a count of at least 1");
                }
            }
            "--repeat-delay" => {
                pub_only(opt)?;
                let v = value()?;
                let secs: f64 = parse_num(opt, &v, "seconds")?;
                repeat_delay = std::time::Duration::try_from_secs_f64(secs)
                    .map_err(|_| Usage(format!("--repeat-delay needs seconds, not {v:?}")))?;
            }
            "--session-store" => session_store = Some(PathBuf::from(value()?)),
            other => {
                return usage(format!(
                    "unknown option {other:?} (see mqttc {} --help)",
                    mode.name()
                ));
            }
        }
    }

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
            if sub.no_retained && sub.retained_only {
                return usage("-R and --retained-only exclude each other");
            }
            if let Some(f) = &format {
                sub.format = Some(crate::format::Format::parse(f, pretty).map_err(Usage)?);
            } else if pretty {
                return usage("--pretty needs -F with %j or %J");
            }
            for t in &topics {
                if let Err(e) = TopicFilter::new(t) {
                    return usage(format!("invalid topic filter {t:?}: {e}"));
                }
            }
        }
    }
    let will = match (will_topic, will_payload) {
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
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn generated_ids_are_short_alphanumeric() {
        for _ in 0..100 {
            let id = generated_client_id();
            assert!((1..=23).contains(&id.len()), "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
        }
    }

    #[test]
    fn defaults_and_tls_port() {
        let a = parse(Mode::Pub, &args("-t a/b -m x")).unwrap();
        assert_eq!(
            (a.host.as_str(), a.port, a.keep_alive),
            ("localhost", 1883, 60)
        );
        assert!(a.clean_session);
        let a = parse(Mode::Sub, &args("-t a/# --cafile ca.pem")).unwrap();
        assert_eq!(a.port, 8883);
    }

    #[test]
    fn websocket_urls_and_paths() {
        let a = parse(Mode::Sub, &args("-t a -L ws://127.0.0.1:9001/gw")).unwrap();
        assert_eq!((a.host.as_str(), a.port), ("127.0.0.1", 9001));
        assert_eq!(a.websocket.unwrap().path(), "/gw");
        let a = parse(
            Mode::Sub,
            &args("-t a -L wss://h/m --cafile ca.pem --ws-header Authorization:Bearer"),
        )
        .unwrap();
        assert_eq!((a.port, a.tls.is_some()), (443, true));
        assert_eq!(a.websocket.unwrap().headers().len(), 1);
        let a = parse(Mode::Sub, &args("-t a --ws-path /mqtt -p 8080")).unwrap();
        assert_eq!((a.port, a.websocket.unwrap().path()), (8080, "/mqtt"));
        let a = parse(Mode::Sub, &args("-t a --ws-path /mqtt")).unwrap();
        assert_eq!(a.port, 80);
        // wss:// without a CA option: TLS with the system's trust store.
        let a = parse(Mode::Sub, &args("-t a -L wss://h/m")).unwrap();
        let tls = a.tls.unwrap();
        assert!(tls.cafile.is_none() && tls.capath.is_none());
        // -p 8883 turns TLS on too, as with mosquitto_sub; ALPN needs TLS.
        let a = parse(Mode::Sub, &args("-t a -p 8883 --tls-alpn x-amzn-mqtt-ca")).unwrap();
        assert_eq!(a.tls.unwrap().alpn, ["x-amzn-mqtt-ca"]);
        assert!(parse(Mode::Sub, &args("-t a --tls-alpn mqtt")).is_err());
        for bad in [
            "-t a -L ws://h/m --cafile ca.pem",
            "-t a -L ws://h/m -p 1",
            "-t a -L ws://h/m --ws-path /x",
            "-t a -L http://h/",
            "-t a --ws-header X:y",
            "-t a --ws-path /m --ws-header nocolon",
        ] {
            assert!(parse(Mode::Sub, &args(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn usage_errors() {
        for bad in [
            "-t a -m x -q 3",
            "-t a -m x -c",
            "-t a -m x -P pw",
            "-t a/+ -m x",
            "-t  -m x",
            "-m x",
            "-t a",
            "-t a -m x -n",
            "-t a -m x -C 1",
            "-t a -m x --bogus",
            "-t a -m x -p",
            "-t a -m x -p 70000",
            "-t a -m x --cert c.pem",
        ] {
            assert!(parse(Mode::Pub, &args(bad)).is_err(), "{bad}");
        }
        for bad in ["", "-t a/#/b", "-t a -m x", "-t a -r", "-t a+ -q 1"] {
            assert!(parse(Mode::Sub, &args(bad)).is_err(), "{bad}");
        }
    }
}
