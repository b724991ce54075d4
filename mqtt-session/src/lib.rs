#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
// docs.rs: each item gated by a feature says which one.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

mod config;
mod connect;
mod error;
mod event;
mod fixed_store;
mod inflight;
mod keep_alive;
mod publish;
mod queue;
mod receive;
mod session;
#[cfg(feature = "std")]
mod std_clock;
mod store;
mod subscribe;
mod time;
mod transmit;
#[cfg(feature = "v5")]
pub mod v5;
#[cfg(feature = "alloc")]
mod vec_store;
mod wire;

#[cfg(all(test, feature = "alloc"))]
mod tests;

pub use config::{Config, SessionLostPolicy};
#[cfg(feature = "v5")]
pub use connect::ConnectOptionsV5;
pub use connect::{ConnectOptions, ConnectRequest, LastWill};
pub use error::{BufferTooSmall, CommandError, StoreError};
#[cfg(feature = "alloc")]
pub use event::OwnedMessage;
pub use event::{DisconnectReason, Event, Message, SubscribeResults, Violation};
pub use fixed_store::FixedStore;
pub use publish::publish_len;
pub use session::{Buffer, Session, State};
#[cfg(feature = "std")]
pub use std_clock::{StdClock, read_timeout};
pub use store::{Outgoing, OutgoingInfo, OutgoingState, Store};
pub use time::Instant;
#[cfg(feature = "v5")]
pub use v5::{DisconnectOptions, ProtocolVersion, Response, ServerLimits};
#[cfg(feature = "alloc")]
pub use vec_store::VecStore;

pub use mqtt_proto::{ConnectReturnCode, DecodeError, PacketId, PacketType, QoS, SubAckReturnCode};
