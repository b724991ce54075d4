//! The options `pub` and `sub` share: the broker and the connection, the login and the will
//! (TLS is in [`super::tls`]).

use std::path::PathBuf;

use mqtt_std::{ProtocolVersion, QoS};

use super::tls::TlsOpts;
use super::{client_id, header, port, positive, protocol, qos, size, url};

/// The options `pub` and `sub` share.
#[derive(Debug, clap::Args)]
pub struct CommonOpts {
    #[command(flatten)]
    pub conn: ConnOpts,
    #[command(flatten)]
    pub login: LoginOpts,
    #[command(flatten)]
    pub will: WillOpts,
    #[command(flatten)]
    pub tls: TlsOpts,
}

/// The broker and the connection.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Connection")]
pub struct ConnOpts {
    /// Broker host (default localhost)
    #[arg(short = 'h', long = "host", value_name = "HOST")]
    pub host: Option<String>,
    /// Broker port (default 1883; 8883 with TLS; 80/443 over WebSocket)
    #[arg(short = 'p', long = "port", value_name = "PORT", value_parser = port)]
    pub port: Option<u16>,
    /// The broker as a URL instead of -h/-p: mqtt://[USER[:PASS]@]HOST[:PORT][/TOPIC],
    /// mqtts://.., ws://[USER[:PASS]@]HOST[:PORT][/PATH], wss://..; user, password and topic
    /// percent-encoded (%40 for @)
    #[arg(short = 'L', long = "url", value_name = "URL", value_parser = url)]
    pub url: Option<mqtt_std::ws::BrokerUrl>,
    /// MQTT over WebSocket at PATH (sub-protocol mqtt) with -h/-p
    #[arg(long = "ws-path", value_name = "PATH")]
    pub ws_path: Option<String>,
    /// An extra WebSocket handshake header, e.g. a token (repeat for more)
    #[arg(long = "ws-header", value_name = "'NAME: VALUE'", value_parser = header)]
    pub ws_headers: Vec<(String, String)>,
    /// Protocol version: 311 or mqttv311 (MQTT 3.1.1, the default), 5 or mqttv5 (MQTT 5.0)
    #[arg(short = 'V', long = "protocol-version", value_name = "VER", value_parser = protocol)]
    pub protocol: Option<ProtocolVersion>,
    /// 5.0: a property, as mosquitto_pub/sub take it: COMMAND is connect, publish,
    /// subscribe, disconnect or will; e.g. -D publish content-type text/plain,
    /// -D connect user-property KEY VALUE (repeat for more)
    #[arg(
        short = 'D',
        long = "property",
        value_names = ["COMMAND", "PROPERTY", "VALUE"],
        num_args = 3..=4
    )]
    pub properties: Vec<String>,
    /// 5.0: session expiry interval in seconds (how long the broker keeps the session)
    #[arg(short = 'x', long = "session-expiry-interval", value_name = "SECS")]
    pub session_expiry: Option<u32>,
    /// Client id (default: generated, 17 characters of [0-9a-zA-Z])
    #[arg(short = 'i', long = "id", value_name = "ID", value_parser = client_id, allow_hyphen_values = true)]
    pub client_id: Option<String>,
    /// Keep alive in seconds (0 = off)
    #[arg(
        short = 'k',
        long = "keepalive",
        value_name = "SECS",
        default_value_t = 60
    )]
    pub keep_alive: u16,
    /// Clean session off: a persistent session (needs -i)
    #[arg(short = 'c', long = "disable-clean-session")]
    pub no_clean_session: bool,
    /// Give up after SECS seconds (exit 1)
    #[arg(short = 'W', value_name = "SECS", value_parser = positive)]
    pub timeout_secs: Option<u64>,
    /// Print every packet sent and received to stderr
    #[arg(short = 'd', long = "debug")]
    pub debug: bool,
    /// Keep the session in DIR (QoS 1/2 in flight both ways, received messages not yet
    /// printed) so that a restarted mqttc loses nothing; use with -c and -i (one process per
    /// DIR at a time)
    #[arg(long = "session-store", value_name = "DIR")]
    pub session_store: Option<PathBuf>,
    /// Largest packet accepted from the broker, e.g. 64K, 16M (default 256M, any MQTT packet);
    /// a larger one ends the run
    #[arg(long = "max-packet", value_name = "SIZE", value_parser = size)]
    pub max_packet: Option<usize>,
    /// Memory for messages waiting: received ones not yet printed, and publishes not yet
    /// acknowledged (each bound apart; default 64M)
    #[arg(long = "queue-bytes", value_name = "SIZE", value_parser = size)]
    pub queue_bytes: Option<usize>,
}

/// User name and password.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Login")]
pub struct LoginOpts {
    /// User name
    #[arg(
        short = 'u',
        long = "username",
        value_name = "USER",
        allow_hyphen_values = true
    )]
    pub username: Option<String>,
    /// Password (needs -u). Visible to every user of the machine (`ps`): prefer --pw-file
    /// or MQTTC_PASSWORD
    #[arg(
        short = 'P',
        long = "pw",
        value_name = "PASS",
        allow_hyphen_values = true,
        overrides_with = "pw_file"
    )]
    pub password: Option<String>,
    /// The password: the first line of FILE (kept out of `ps`)
    #[arg(long = "pw-file", value_name = "FILE", overrides_with = "password")]
    pub pw_file: Option<PathBuf>,
}

/// The will message.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Will (published by the broker if the connection is lost)")]
pub struct WillOpts {
    /// Will topic
    #[arg(long = "will-topic", value_name = "TOPIC")]
    pub will_topic: Option<String>,
    /// Will payload
    #[arg(long = "will-payload", value_name = "TEXT", allow_hyphen_values = true)]
    pub will_payload: Option<String>,
    /// Will QoS (default 0)
    #[arg(long = "will-qos", value_name = "0|1|2", value_parser = qos)]
    pub will_qos: Option<QoS>,
    /// Retain the will
    #[arg(long = "will-retain")]
    pub will_retain: bool,
}
