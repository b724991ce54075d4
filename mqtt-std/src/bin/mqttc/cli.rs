//! The command line as `clap` sees it: subcommands, options, their help and value checks.
//!
//! `args` turns a parsed `pub` or `sub` into the [`Args`](crate::args::Args) that `run` takes,
//! with the checks that involve more than one option.

mod connection;
mod publish;
mod subscribe;
mod tls;

use std::time::Duration;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgAction, CommandFactory as _, Parser, Subcommand};
use mqtt_proto::TopicFilter;
use mqtt_std::{ProtocolVersion, QoS};

pub use connection::{CommonOpts, ConnOpts, LoginOpts, WillOpts};
use publish::{PayloadOpts, PublishOpts};
use subscribe::{OutputOpts, SubscribeOpts};
pub use tls::TlsOpts;

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
