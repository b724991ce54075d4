//! The options of `mqttc pub`: what it publishes, and where the payload comes from.

use std::path::PathBuf;
use std::time::Duration;

use mqtt_std::QoS;

use super::{positive, qos, seconds};

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
