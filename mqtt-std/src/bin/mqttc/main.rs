//! `mqttc`: publish, subscribe, or drive a client with JSON lines. See `mqttc --help`.
//!
//! Exit status: 0 success, 1 failure at run time, 2 bad usage. Every failure is one line on
//! stderr.

mod args;
mod format;
mod run;
mod script;
mod trace;

use std::process::ExitCode;

const HELP: &str = "\
mqttc: an MQTT 3.1.1 client (mqtt-std)

usage:
  mqttc pub [options] -t TOPIC (-m MSG | -f FILE | -n | -l | -s)
  mqttc sub [options] -t FILTER [-t FILTER ...]
  mqttc script            (JSON lines on stdin, events as JSON lines on stdout)
  mqttc --help | mqttc pub --help | mqttc sub --help | mqttc script --help

connection:
  -h HOST              broker host (default localhost)
  -p PORT              broker port (default 1883; 8883 with TLS; 80/443 over WebSocket)
  -L URL               the broker as a URL instead of -h/-p:
                       mqtt://[USER[:PASS]@]HOST[:PORT][/TOPIC], mqtts://..,
                       ws://[USER[:PASS]@]HOST[:PORT][/PATH], wss://..;
                       user, password and topic percent-encoded (%40 for @)
  --ws-path PATH       MQTT over WebSocket at PATH (sub-protocol mqtt) with -h/-p
  --ws-header 'NAME: VALUE'
                       an extra WebSocket handshake header (repeat for more), e.g. a token
  -V 5|mqttv5|311|mqttv311
                       protocol version (default 311: MQTT 3.1.1; 5: MQTT 5.0)
  -i ID                client id (default: generated, 17 characters of [0-9a-zA-Z])
  -k SECS              keep alive in seconds (default 60; 0 = off)
  -c                   clean session off (persistent session; needs -i)
  -u USER, -P PASS     user name and password (-P needs -u); a password on the command
                       line is visible to every user of the machine (ps), so prefer:
  --pw-file FILE       the password: the first line of FILE
  MQTTC_PASSWORD       (environment) the password, when neither -P nor --pw-file is given
  --will-topic TOPIC, --will-payload TEXT, --will-qos 0|1|2, --will-retain
                       the will message, published by the broker if the connection is lost
  -W SECS              give up after SECS seconds (exit 1)
  -d                   print every packet sent and received to stderr
  --session-store DIR  keep the session in DIR (QoS 1/2 in flight both ways, received
                       messages not yet printed) so that a restarted mqttc loses nothing;
                       use with -c and -i (one process per DIR at a time)

TLS (rustls; the server certificate chain and name are always verified):
  TLS is on with any of --cafile, --capath, --tls-use-os-certs, an mqtts:// or wss:// URL,
  or -p 8883; without --cafile and --capath the operating system's trust store is used.
  --cafile FILE        trusted CA certificates (PEM)
  --capath DIR         trusted CA certificates: every PEM file in DIR
  --tls-use-os-certs   TLS with the operating system's trust store
  --tls-alpn PROTO     offer PROTO in ALPN (repeat for more; AWS IoT on 443: x-amzn-mqtt-ca)
  --cert FILE, --key FILE
                       client certificate and key (PEM) for mutual TLS
  --tls-server-name N  check the certificate against N instead of HOST
  --insecure           skip the server-name check only (the chain is still verified)

pub:
  -t TOPIC             topic (no wildcards)
  -q 0|1|2             QoS (default 0)
  -r                   retain
  -m MSG | -f FILE | -n | -l | -s
                       payload: text, a file, empty, one message per stdin line, all of stdin
  --repeat N           publish the message N times
  --repeat-delay SECS  wait SECS (fractions allowed) between repeats
  pub waits until every QoS 1/2 flow is complete, then sends DISCONNECT.

sub:
  -t FILTER            topic filter (repeat for more)
  -q 0|1|2             requested QoS (default 0)
  -C N                 exit after N messages
  -v                   print `topic payload` instead of the payload
  -F FORMAT            print each message as FORMAT (no newline added): %t topic, %p payload,
                       %l length, %q QoS, %r retain, %m message id, %c client id, %x/%X hex,
                       %j JSON, %J JSON with a JSON payload embedded, %I ISO 8601 time (UTC),
                       %U Unix time, %P properties (5.0), %% a %; escapes \\n \\t \\r \\a \\e \\v \\0 \\\\
  --pretty             JSON (%j, %J) over several lines
  -N                   no newline after the payload
  -R                   do not print retained messages (stale ones sent on subscribing)
  --retained-only      print only retained messages; exit at the first that is not
  --remove-retained    clear each retained message received (publish an empty retained one)
  -T FILTER            do not print messages on topics matching FILTER (repeat for more)
  -U FILTER            unsubscribe from FILTER (with -c: end a persistent subscription)
  -E                   exit once subscribed (and unsubscribed)

exit status: 0 success, 1 failure at run time, 2 bad usage.
";

const SCRIPT_HELP: &str = "\
mqttc script: one JSON command per stdin line; one JSON event per stdout line.

commands (\"cmd\"):
  connect      host, port, client_id, clean_session (true), keep_alive (60), username,
               password, will {topic, payload, qos, retain}, tls {ca_file, cert_file,
               key_file, server_name}, websocket {path (\"/mqtt\"), headers {NAME: VALUE}}
               (MQTT over WebSocket; wss with tls), timeout_ms, session_store (a directory: the
               client keeps its session there, like --session-store; messages then carry
               \"seq\", their number in the store)
               -> {\"event\":\"connack\",\"session_present\":B,\"return_code\":N} or an error event
  publish      topic, payload | payload_hex, qos, retain
               -> {\"event\":\"published\",\"packet_id\":N|null} once the flow is complete
  subscribe    filters [{filter, qos}] -> {\"event\":\"suback\",\"packet_id\":N,\"return_codes\":[..]}
  unsubscribe  filters [string]        -> {\"event\":\"unsuback\",\"packet_id\":N}
  disconnect   -> {\"event\":\"disconnected\",\"reason\":\"local\"}
  drop         close the connection without DISCONNECT
               -> {\"event\":\"disconnected\",\"reason\":\"dropped\"}
  exit         end the process (status 0)

events without a command:
  {\"event\":\"message\",\"topic\":T,\"payload\":S,\"payload_hex\":H,\"qos\":Q,\"retain\":B,\"dup\":B}
  {\"event\":\"disconnected\",\"reason\":R,\"detail\":S}
  {\"event\":\"error\",\"cmd\":C,\"error\":S}
";

fn main() -> ExitCode {
    // `std::env::args` would panic on an argument that is not UTF-8.
    let mut argv = Vec::new();
    for arg in std::env::args_os().skip(1) {
        match arg.into_string() {
            Ok(a) => argv.push(a),
            Err(bad) => {
                eprintln!("usage error: argument {bad:?} is not valid UTF-8");
                return ExitCode::from(2);
            }
        }
    }
    let (sub, rest) = match argv.split_first() {
        Some((sub, rest)) => (sub.as_str(), rest),
        None => {
            eprintln!("usage error: give a subcommand: pub, sub or script (see mqttc --help)");
            return ExitCode::from(2);
        }
    };
    let wants_help = rest.iter().any(|a| a == "--help");
    match sub {
        "--help" | "help" | "-?" => {
            print!("{HELP}");
            ExitCode::SUCCESS
        }
        "pub" | "sub" if wants_help => {
            print!("{HELP}");
            ExitCode::SUCCESS
        }
        "script" if wants_help => {
            print!("{SCRIPT_HELP}");
            ExitCode::SUCCESS
        }
        "pub" | "sub" => {
            let mode = if sub == "pub" {
                args::Mode::Pub
            } else {
                args::Mode::Sub
            };
            match args::parse(mode, rest) {
                Ok(a) => match run::run(&a) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("{e}");
                        ExitCode::from(1)
                    }
                },
                Err(e) => {
                    eprintln!("usage error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        "script" => {
            if let Some(extra) = rest.first() {
                eprintln!("usage error: mqttc script takes no options, not {extra:?}");
                return ExitCode::from(2);
            }
            script::run()
        }
        other => {
            eprintln!(
                "usage error: unknown subcommand {other:?}: use pub, sub or script (see mqttc --help)"
            );
            ExitCode::from(2)
        }
    }
}
