//! The command line as `clap` sees it: subcommands, options, their help and value checks.
//!
//! `args` turns a parsed `pub` or `sub` into the [`Args`](crate::args::Args) that `run` takes,
//! with the checks that involve more than one option.

use std::path::PathBuf;
use std::time::Duration;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgAction, CommandFactory as _, Parser, Subcommand};
use mqtt_proto::TopicFilter;
use mqtt_std::{ProtocolVersion, QoS};

/// The exit statuses, as CLI.md gives them: at the end of the help pages.
macro_rules! exit_status {
    () => {
        "\
Exit status:
  0  success
  1  failure at run time (refused, timed out, TLS failure, protocol violation by the broker)
  2  bad usage
Every failure is one line on stderr."
    };
}

/// After the options of `mqttc --help`.
const ROOT_AFTER: &str = concat!(
    "\
The options: mqttc pub --help, mqttc sub --help. Option names follow mosquitto_pub and
mosquitto_sub (-h is the host, -V the protocol version).

",
    exit_status!()
);

const PUB_AFTER: &str = concat!(
    "\
Environment:
  MQTTC_PASSWORD  the password, when neither -P, --pw-file nor the -L URL gives one (unlike
                  -P, it is not shown by `ps`)

TLS is on with any of --cafile, --capath, --tls-use-os-certs, an mqtts:// or wss:// URL, or
-p 8883; without --cafile and --capath the operating system's trust store is used. The server
certificate chain is always verified.

pub waits until every QoS 1/2 flow is complete, then sends DISCONNECT (a normal run never
triggers the will).

",
    exit_status!()
);

const SUB_AFTER: &str = concat!(
    "\
Environment:
  MQTTC_PASSWORD  the password, when neither -P, --pw-file nor the -L URL gives one (unlike
                  -P, it is not shown by `ps`)

TLS is on with any of --cafile, --capath, --tls-use-os-certs, an mqtts:// or wss:// URL, or
-p 8883; without --cafile and --capath the operating system's trust store is used. The server
certificate chain is always verified.

sub prints each message on its own line, and reconnects after a lost link (backoff from 0.5 s
to 30 s); -W and -C still end the run.

",
    exit_status!()
);

const SCRIPT_AFTER: &str = "\
Commands (\"cmd\"), one JSON object per stdin line:
  connect      host, port, client_id, clean_session (true), keep_alive (60), username,
               password, will {topic, payload, qos, retain}, tls {ca_file, cert_file,
               key_file, server_name}, websocket {path (\"/mqtt\"), headers {NAME: VALUE}}
               (MQTT over WebSocket; wss with tls), timeout_ms, session_store (a directory: the
               client keeps its session there, like --session-store; messages then carry
               \"seq\", their number in the store), protocol_version (4 = 3.1.1, 5 = 5.0)
               -> {\"event\":\"connack\",\"session_present\":B,\"return_code\":N} or an error event
  publish      topic, payload | payload_hex, qos, retain
               -> {\"event\":\"published\",\"packet_id\":N|null} once the flow is complete
  subscribe    filters [{filter, qos}] -> {\"event\":\"suback\",\"packet_id\":N,\"return_codes\":[..]}
  unsubscribe  filters [string]        -> {\"event\":\"unsuback\",\"packet_id\":N}
  disconnect   -> {\"event\":\"disconnected\",\"reason\":\"local\"}
  drop         close the connection without DISCONNECT
               -> {\"event\":\"disconnected\",\"reason\":\"dropped\"}
  exit         end the process (status 0)

MQTT 5.0 (after a connect with \"protocol_version\":5; a 5.0 field at 3.1.1 is an error event):
  connect      properties {session_expiry_interval, receive_maximum, maximum_packet_size,
               topic_alias_maximum, request_response_information, request_problem_information,
               user_properties [[K,V],..], authentication_method, authentication_data_hex};
               will {.., properties {will_delay_interval, message_expiry_interval,
               content_type, response_topic, correlation_data_hex, payload_format_indicator,
               user_properties}}; topic_aliases N (outgoing aliases the client sets itself;
               a new maximum_packet_size or topic_aliases, like a new client_id or
               session_store, makes a new client, whose session here starts empty)
               -> connack adds reason_code and properties as the broker sent them
               (assigned_client_identifier, server_keep_alive, receive_maximum, maximum_qos,
               retain_available, maximum_packet_size, topic_alias_maximum, reason_string,
               user_properties, ...); a refusal gives its reason_code
  publish      properties {message_expiry_interval, content_type, response_topic,
               correlation_data_hex, payload_format_indicator, user_properties}
               -> published adds reason_code (PUBACK or PUBREC; 0 at QoS 0) and reason_string;
               a refusal: {\"event\":\"error\",\"cmd\":\"publish\",\"packet_id\":N,\"reason_code\":C,..}
  subscribe    filters [{filter, qos, no_local, retain_as_published, retain_handling 0|1|2}],
               subscription_identifier -> suback gives reason_codes [..] per filter
  unsubscribe  -> unsuback gives reason_codes [..] per filter
  disconnect   reason_code (0), properties {session_expiry_interval, reason_string,
               user_properties}
  Flags take true/false or 1/0; a property a packet cannot carry is an error event.
  Not supported yet (an error event): properties.topic_alias on publish (the client picks
  its aliases: topic_aliases), properties on subscribe and unsubscribe.

Events without a command, one JSON object per stdout line:
  {\"event\":\"message\",\"topic\":T,\"payload\":S,\"payload_hex\":H,\"qos\":Q,\"retain\":B,\"dup\":B}
    (5.0: \"properties\" as sent, {} for none, subscription_identifiers [..] and topic_alias
    included; the topic is always the name)
  {\"event\":\"disconnected\",\"reason\":R,\"detail\":S}
    (5.0: a DISCONNECT from the broker: \"reason\":\"server\",\"reason_code\":C,\"reason_string\":S)
  {\"event\":\"error\",\"cmd\":C,\"error\":S}

Exit status: 0 after `exit` or the end of stdin; 2 bad usage.";

const COMPLETIONS_AFTER: &str = "\
For example:
  mqttc completions bash > ~/.local/share/bash-completion/completions/mqttc
  mqttc completions zsh > \"${fpath[1]}/_mqttc\"
  mqttc completions fish > ~/.config/fish/completions/mqttc.fish";

/// mqttc: an MQTT 3.1.1 and 5.0 client (mqtt-std)
#[derive(Debug, Parser)]
#[command(
    name = "mqttc",
    version,
    // `-h` is the host and `-V` the protocol version, as with mosquitto_pub/sub: help and
    // version are the long options only (and `-?`).
    disable_help_flag = true,
    disable_version_flag = true,
    subcommand_required = true,
    max_term_width = 100,
    after_help = ROOT_AFTER,
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Print help
    #[arg(long, short = '?', action = ArgAction::Help, global = true)]
    help: Option<bool>,
    /// Print the version
    #[arg(long, action = ArgAction::Version)]
    version: Option<bool>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    // pub and sub: an option given twice keeps its last value (`-t`, `-T`, `-U`, `--tls-alpn`
    // and `--ws-header` add up); a value may start with a dash (`-m -5`, `-p -1` is a bad
    // port, not an unknown option).
    /// Publish a message (or one per stdin line)
    #[command(
        disable_help_flag = true,
        args_override_self = true,
        allow_negative_numbers = true,
        override_usage = "mqttc pub [OPTIONS] -t TOPIC (-m MSG | -f FILE | -n | -l | -s)",
        after_help = PUB_AFTER,
    )]
    Pub(PubCli),
    /// Subscribe and print the messages received
    #[command(
        disable_help_flag = true,
        args_override_self = true,
        allow_negative_numbers = true,
        override_usage = "mqttc sub [OPTIONS] -t FILTER [-t FILTER ...]",
        after_help = SUB_AFTER,
    )]
    Sub(SubCli),
    /// A client driven by JSON lines on stdin; events as JSON lines on stdout
    #[command(disable_help_flag = true, after_help = SCRIPT_AFTER)]
    Script,
    /// Print a shell completion script (bash, zsh, fish, elvish or powershell)
    #[command(disable_help_flag = true, after_help = COMPLETIONS_AFTER)]
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
}

/// `mqttc pub`.
#[derive(Debug, clap::Args)]
pub struct PubCli {
    #[command(flatten)]
    pub publish: PublishOpts,
    #[command(flatten)]
    pub payload: PayloadOpts,
    #[command(flatten)]
    pub common: CommonOpts,
}

/// `mqttc sub`.
#[derive(Debug, clap::Args)]
pub struct SubCli {
    #[command(flatten)]
    pub subscribe: SubscribeOpts,
    #[command(flatten)]
    pub output: OutputOpts,
    #[command(flatten)]
    pub common: CommonOpts,
}

/// What `pub` publishes.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Publish")]
pub struct PublishOpts {
    /// Topic (no wildcards)
    #[arg(
        short = 't',
        long = "topic",
        value_name = "TOPIC",
        allow_hyphen_values = true
    )]
    pub topics: Vec<String>,
    /// QoS of the publish (default 0)
    #[arg(short = 'q', long = "qos", value_name = "0|1|2", value_parser = qos)]
    pub qos: Option<QoS>,
    /// Retain
    #[arg(short = 'r', long = "retain")]
    pub retain: bool,
    /// Publish the message N times
    #[arg(long = "repeat", value_name = "N", value_parser = positive)]
    pub repeat: Option<u64>,
    /// Wait SECS (fractions allowed) between repeats
    #[arg(long = "repeat-delay", value_name = "SECS", value_parser = seconds)]
    pub repeat_delay: Option<Duration>,
}

/// Where `pub` takes its payload from: one of them.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Payload (one of)")]
#[group(id = "payload", multiple = false)]
pub struct PayloadOpts {
    /// The text MSG
    #[arg(
        short = 'm',
        long = "message",
        value_name = "MSG",
        allow_hyphen_values = true
    )]
    pub message: Option<String>,
    /// The contents of FILE
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// An empty message
    #[arg(short = 'n', long = "null-message")]
    pub null_message: bool,
    /// One message per line of stdin
    #[arg(short = 'l', long = "stdin-line")]
    pub stdin_line: bool,
    /// All of stdin as one message
    #[arg(short = 's', long = "stdin-file")]
    pub stdin_file: bool,
}

/// What `sub` subscribes to, and when it ends.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Subscribe")]
pub struct SubscribeOpts {
    /// Topic filter (repeat for more)
    #[arg(
        short = 't',
        long = "topic",
        value_name = "FILTER",
        allow_hyphen_values = true
    )]
    pub topics: Vec<String>,
    /// Requested QoS (default 0)
    #[arg(short = 'q', long = "qos", value_name = "0|1|2", value_parser = qos)]
    pub qos: Option<QoS>,
    /// Exit after N messages
    #[arg(short = 'C', value_name = "N", value_parser = positive)]
    pub count: Option<u64>,
    /// Unsubscribe from FILTER (with -c: end a persistent subscription; repeat for more)
    #[arg(short = 'U', long = "unsubscribe", value_name = "FILTER", value_parser = filter)]
    pub unsubscribe: Vec<String>,
    /// Exit once subscribed (and unsubscribed)
    #[arg(short = 'E')]
    pub exit_subscribed: bool,
    /// 5.0: the broker does not send this client its own publications
    #[arg(long = "no-local")]
    pub no_local: bool,
    /// 5.0: messages keep the RETAIN flag they were published with
    #[arg(long = "retain-as-published")]
    pub retain_as_published: bool,
    /// 5.0: retained messages at subscribe: 0 send (default), 1 only for a new
    /// subscription, 2 never
    #[arg(long = "retain-handling", value_name = "0|1|2", value_parser = retain_handling)]
    pub retain_handling: Option<mqtt_std::v5::RetainHandling>,
}

fn retain_handling(v: &str) -> Result<mqtt_std::v5::RetainHandling, String> {
    use mqtt_std::v5::RetainHandling as R;
    match v {
        "0" => Ok(R::SendAtSubscribe),
        "1" => Ok(R::SendIfNew),
        "2" => Ok(R::DoNotSend),
        _ => Err(format!("{v:?}: give 0, 1 or 2")),
    }
}

/// How `sub` prints messages, and which.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Output")]
pub struct OutputOpts {
    /// Print `topic payload` instead of the payload
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// Print each message as FORMAT (no newline added): %t topic, %p payload, %l length,
    /// %q QoS, %r retain, %m message id, %c client id, %x/%X hex, %j JSON, %J JSON with a
    /// JSON payload embedded, %I ISO 8601 time (UTC), %U Unix time, %P properties (5.0), %%
    /// a %, and the escapes \n \t \r \a \e \v \0 \\
    #[arg(short = 'F', value_name = "FORMAT", allow_hyphen_values = true)]
    pub format: Option<String>,
    /// JSON (%j, %J) over several lines
    #[arg(long = "pretty", requires = "format")]
    pub pretty: bool,
    /// No newline after the payload
    #[arg(short = 'N')]
    pub no_newline: bool,
    /// Do not print retained messages (the stale ones sent on subscribing)
    #[arg(short = 'R', conflicts_with = "retained_only")]
    pub no_retained: bool,
    /// Print only retained messages; exit at the first that is not
    #[arg(long = "retained-only")]
    pub retained_only: bool,
    /// Clear each retained message received (publish an empty retained one)
    #[arg(long = "remove-retained")]
    pub remove_retained: bool,
    /// Do not print messages on topics matching FILTER (repeat for more)
    #[arg(short = 'T', long = "filter-out", value_name = "FILTER", value_parser = filter)]
    pub filter_out: Vec<String>,
}

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

/// TLS (rustls).
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "TLS (rustls; the server certificate chain is always verified)")]
pub struct TlsOpts {
    /// Trusted CA certificates (PEM); turns TLS on
    #[arg(long = "cafile", value_name = "FILE")]
    pub cafile: Option<PathBuf>,
    /// Trusted CA certificates: every PEM file in DIR; turns TLS on
    #[arg(long = "capath", value_name = "DIR")]
    pub capath: Option<PathBuf>,
    /// TLS with the operating system's trust store
    #[arg(long = "tls-use-os-certs")]
    pub use_os_certs: bool,
    /// Offer PROTO in ALPN (repeat for more; AWS IoT on 443: x-amzn-mqtt-ca)
    #[arg(long = "tls-alpn", value_name = "PROTO")]
    pub alpn: Vec<String>,
    /// Client certificate (PEM) for mutual TLS (with --key)
    #[arg(long = "cert", value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// Client private key (PEM) for mutual TLS (with --cert)
    #[arg(long = "key", value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Check the server certificate against NAME instead of HOST
    #[arg(long = "tls-server-name", value_name = "NAME")]
    pub server_name: Option<String>,
    /// Skip the server-name check only (the chain is still verified)
    #[arg(long = "insecure")]
    pub insecure: bool,
}

fn qos(v: &str) -> Result<QoS, String> {
    match v {
        "0" => Ok(QoS::AtMostOnce),
        "1" => Ok(QoS::AtLeastOnce),
        "2" => Ok(QoS::ExactlyOnce),
        _ => Err("must be 0, 1 or 2".to_owned()),
    }
}

fn positive(v: &str) -> Result<u64, String> {
    match v.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("needs a positive whole number".to_owned()),
    }
}

/// A byte count: digits with an optional K, M or G (powers of 1024).
fn size(v: &str) -> Result<usize, String> {
    let err = || "needs a size in bytes, e.g. 65536, 64K, 16M or 1G".to_owned();
    let (digits, shift) = match v.as_bytes().last() {
        Some(b'k' | b'K') => (&v[..v.len() - 1], 10),
        Some(b'm' | b'M') => (&v[..v.len() - 1], 20),
        Some(b'g' | b'G') => (&v[..v.len() - 1], 30),
        _ => (v, 0),
    };
    let n: usize = digits.parse().map_err(|_| err())?;
    match n.checked_mul(1 << shift) {
        Some(bytes) if bytes > 0 => Ok(bytes),
        _ => Err(err()),
    }
}

fn port(v: &str) -> Result<u16, String> {
    v.parse()
        .map_err(|_| "needs a port number (0-65535)".to_owned())
}

fn seconds(v: &str) -> Result<Duration, String> {
    v.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| "needs seconds".to_owned())
}

fn protocol(v: &str) -> Result<ProtocolVersion, String> {
    match v {
        "5" | "mqttv5" => Ok(ProtocolVersion::V5),
        "311" | "mqttv311" => Ok(ProtocolVersion::V311),
        "31" | "mqttv31" => Err("MQTT 3.1 (-V 31) is not supported: use 311 or 5".to_owned()),
        _ => Err("must be 5, mqttv5, 311 or mqttv311".to_owned()),
    }
}

fn client_id(v: &str) -> Result<String, String> {
    if v.len() > 65_535 || v.contains('\0') {
        return Err("the client id must be at most 65,535 bytes, without NUL".to_owned());
    }
    Ok(v.to_owned())
}

fn filter(v: &str) -> Result<String, String> {
    TopicFilter::new(v).map_err(|e| e.to_string())?;
    Ok(v.to_owned())
}

fn url(v: &str) -> Result<mqtt_std::ws::BrokerUrl, String> {
    mqtt_std::ws::BrokerUrl::parse(v).map_err(|e| e.to_string())
}

fn header(v: &str) -> Result<(String, String), String> {
    let (name, val) = v.split_once(':').ok_or("needs NAME: VALUE")?;
    Ok((name.trim().to_owned(), val.trim().to_owned()))
}

/// A shell completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "mqttc", &mut script);
    script
}

/// A parse error as one line for stderr (without the `usage error: ` that the caller puts
/// first): clap's message, its suggestion if it has one, and where to find help.
///
/// `argv` are the arguments after the program name: an option of `pub` given to `sub` (or
/// the other way round) is named as such.
pub fn one_line(e: &clap::Error, argv: &[String]) -> String {
    let sub = argv
        .first()
        .map(String::as_str)
        .filter(|s| matches!(*s, "pub" | "sub" | "script" | "completions"));
    if e.kind() == ErrorKind::UnknownArgument {
        if let (Some(ContextValue::String(arg)), Some(this @ ("pub" | "sub"))) =
            (e.get(ContextKind::InvalidArg), sub)
        {
            let other = if this == "pub" { "sub" } else { "pub" };
            if takes(other, arg) {
                let arg = arg.split_once('=').map_or(arg.as_str(), |(a, _)| a);
                return format!("{arg} is an option of mqttc {other}, not mqttc {this}");
            }
        }
    }
    // (The derive asks for help on no arguments at all; that is a usage error too.)
    let mut line = if matches!(
        e.kind(),
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        "give a subcommand: pub, sub, script or completions".to_owned()
    } else {
        // clap's message is its first paragraph (a list of missing arguments is indented on
        // the lines after the first); tips and usage come after a blank line.
        let rendered = e.render().to_string();
        let message: Vec<&str> = rendered
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .map(str::trim)
            .collect();
        let message = message.join(" ");
        message
            .strip_prefix("error: ")
            .unwrap_or(&message)
            .to_owned()
    };
    let suggested = match (
        e.get(ContextKind::SuggestedArg),
        e.get(ContextKind::SuggestedSubcommand),
    ) {
        (Some(ContextValue::String(s)), _) => Some(s.clone()),
        (_, Some(ContextValue::String(s))) => Some(s.clone()),
        (_, Some(ContextValue::Strings(s))) => s.first().cloned(),
        _ => None,
    };
    if let Some(s) = suggested {
        line.push_str(&format!(" (did you mean '{s}'?)"));
    }
    match sub {
        Some(s) => line.push_str(&format!(" (see mqttc {s} --help)")),
        None => line.push_str(" (see mqttc --help)"),
    }
    line
}

/// Whether subcommand `sub` has the option `arg` (`-C`, `--retain`, `--repeat=3`).
fn takes(sub: &str, arg: &str) -> bool {
    let cmd = Cli::command();
    let Some(sc) = cmd.find_subcommand(sub) else {
        return false;
    };
    let arg = arg.split_once('=').map_or(arg, |(a, _)| a);
    sc.get_arguments().any(|a| {
        if let Some(long) = arg.strip_prefix("--") {
            a.get_long() == Some(long)
        } else if let Some(short) = arg.strip_prefix('-') {
            let mut chars = short.chars();
            matches!((chars.next(), chars.next()), (Some(c), None) if a.get_short() == Some(c))
        } else {
            false
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory as _;
        super::Cli::command().debug_assert();
    }
}
