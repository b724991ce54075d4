//! Broker URLs as mosquitto_pub/sub take them (`mqtt(s)://`, `ws(s)://`): [`BrokerUrl`].

use super::{WsConfig, WsError};

/// A broker given as a URL, as mosquitto_pub/sub take it:
/// `mqtt(s)://[USER[:PASSWORD]@]HOST[:PORT][/TOPIC]` or `ws(s)://[USER[:PASSWORD]@]HOST[:PORT][/PATH]`
/// (`tcp://` and `ssl://` are taken for `mqtt://` and `mqtts://`). Parsed with the `url` crate;
/// user, password and topic are percent-decoded, and a topic filter ending in `#` may be
/// written as it is (`mqtt://broker/sensors/#`).
///
/// ```
/// use mqtt_std::ws::BrokerUrl;
///
/// let u = BrokerUrl::parse("mqtts://meter:s%40fe@broker.example/meters/12").unwrap();
/// assert_eq!((u.host.as_str(), u.port, u.tls), ("broker.example", 8883, true));
/// assert_eq!(u.username.as_deref(), Some("meter"));
/// assert_eq!(u.password.as_deref(), Some("s@fe"));
/// assert_eq!(u.topic.as_deref(), Some("meters/12"));
/// let w = BrokerUrl::parse("wss://gw.example/mqtt").unwrap();
/// assert_eq!((w.port, w.websocket.unwrap().path()), (443, "/mqtt"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    /// Host name or address (without brackets).
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS (`mqtts`, `wss`).
    pub tls: bool,
    /// WebSocket settings (`ws`, `wss`): the path.
    pub websocket: Option<WsConfig>,
    /// The user name in the URL.
    pub username: Option<String>,
    /// The password in the URL (redacted in `Debug`).
    pub password: Option<String>,
    /// `mqtt(s)://`: the topic (or topic filter) in the path.
    pub topic: Option<String>,
}

impl std::fmt::Debug for BrokerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("websocket", &self.websocket)
            .field("username", &self.username)
            .field(
                "password",
                &self
                    .password
                    .as_ref()
                    .map(|p| format!("<{} bytes redacted>", p.len())),
            )
            .field("topic", &self.topic)
            .finish()
    }
}

impl BrokerUrl {
    /// Parses `url`; the error says what is wrong with it.
    pub fn parse(url: &str) -> Result<Self, WsError> {
        let bad = |why: &str| WsError::InvalidRequest(format!("{url:?}: {why}"));
        let u = url::Url::parse(url)
            .map_err(|e| bad(&format!("{e} (expected SCHEME://HOST[:PORT][/PATH])")))?;
        let (tls, ws, default_port) = match u.scheme() {
            "mqtt" | "tcp" => (false, false, 1883),
            "mqtts" | "ssl" => (true, false, 8883),
            "ws" => (false, true, 80),
            "wss" => (true, true, 443),
            _ => return Err(bad("the scheme must be mqtt, mqtts, ws or wss")),
        };
        let host = match u.host() {
            Some(url::Host::Ipv6(a)) => a.to_string(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Domain(d)) if !d.is_empty() => {
                decode(d).map_err(|()| bad("the host is not UTF-8"))?
            }
            _ => return Err(bad("no host")),
        };
        if host.contains(['[', ']']) {
            return Err(bad("bad brackets in the host"));
        }
        let port = match u.port() {
            None => default_port,
            Some(0) => return Err(bad("the port must be a number from 1 to 65535")),
            Some(p) => p,
        };
        let username = match u.username() {
            "" => None,
            name => Some(decode(name).map_err(|()| bad("the user name is not UTF-8"))?),
        };
        let password = u
            .password()
            .map(decode)
            .transpose()
            .map_err(|()| bad("the password is not UTF-8"))?;
        if password.is_some() && username.is_none() {
            return Err(bad("a password needs a user name (USER:PASSWORD@HOST)"));
        }
        let (websocket, topic) = if ws {
            let mut path = u.path().to_owned();
            if let Some(q) = u.query() {
                path.push('?');
                path.push_str(q);
            }
            let ws = if path.is_empty() || path == "/" {
                WsConfig::default()
            } else {
                WsConfig::new(&path)
            };
            (Some(ws), None)
        } else {
            if u.query().is_some() {
                return Err(bad("a query (?...) has no meaning in an mqtt:// URL"));
            }
            let mut topic = decode(u.path().strip_prefix('/').unwrap_or(u.path()))
                .map_err(|()| bad("the topic is not UTF-8"))?;
            // `#` starts a URL's fragment: `mqtt://h/a/#` is the filter `a/#`.
            match u.fragment() {
                None => {}
                Some("") => topic.push('#'),
                Some(_) => return Err(bad("a # in the topic must be its last character")),
            }
            (None, (!topic.is_empty()).then_some(topic))
        };
        Ok(BrokerUrl {
            host,
            port,
            tls,
            websocket,
            username,
            password,
            topic,
        })
    }
}

/// Percent-decodes a URL component.
fn decode(s: &str) -> Result<String, ()> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| ())
}
