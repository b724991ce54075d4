//! The options of `mqttc sub`: what it subscribes to, when it ends, and how it prints.

use mqtt_std::QoS;

use super::{filter, positive, qos};

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
