//! The TLS options `pub` and `sub` share.

use std::path::PathBuf;

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
