#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// docs.rs: each item gated by a feature says which one.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod blocking;
mod core;
mod error;
mod link;
mod options;
pub mod store;
#[cfg(feature = "tokio")]
pub mod tokio;
mod trace;
pub mod v5;

pub use blocking::{Client, Messages, Pending, WeakClient};
pub use core::Reconnected;
pub use error::{DisconnectReason, Error, MessageGetError};
pub use link::{tls, ws};
pub use options::{
    ClientOptions, ConnectOptions, Connected, Direction, Message, MessageInfo, Reconnect, Will,
};
pub use tls::{TlsConfig, TlsConfigBuilder, TlsError};
pub use ws::{WsConfig, WsError};

pub use mqtt_proto::{ConnectReturnCode, PacketId, QoS, SubAckReturnCode};
pub use mqtt_session::{ProtocolVersion, SessionLostPolicy, Violation};
