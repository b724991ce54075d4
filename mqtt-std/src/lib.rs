#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod blocking;
mod core;
mod error;
mod options;
pub mod store;
pub mod tls;
#[cfg(feature = "tokio")]
pub mod tokio;
mod trace;
mod transport;
pub mod ws;

pub use blocking::{Client, Messages, Pending, WeakClient};
pub use error::{DisconnectReason, Error, MessageGetError};
pub use options::{
    ClientOptions, ConnectOptions, Connected, Direction, Message, MessageInfo, Reconnect, Will,
};
pub use tls::{TlsConfig, TlsConfigBuilder, TlsError};
pub use ws::{WsConfig, WsError};

pub use mqtt_proto::{ConnectReturnCode, PacketId, QoS, SubAckReturnCode};
pub use mqtt_session::{ProtocolVersion, SessionLostPolicy, Violation};
