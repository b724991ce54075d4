//! `mqtt-std`: a blocking MQTT 3.1.1 client over std `TcpStream` and rustls.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "test-broker")]
pub mod test_broker;
pub mod tls;

pub use tls::{TlsConfig, TlsConfigBuilder, TlsError};
