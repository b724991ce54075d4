//! Test harness of the workspace (not published): a private Mosquitto broker ([`Broker`],
//! plain, password, TLS, mutual-TLS and expired-certificate listeners with throwaway
//! certificates) and an MQTT-over-WebSocket broker ([`WsBroker`], Aedes under Node.js), each
//! started on free loopback ports with its own configuration and stopped on drop.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod mosquitto;
pub mod ws;

pub use mosquitto::{Broker, BrokerBuilder, HarnessError, TestPki, mosquitto_path};
pub use ws::WsBroker;
