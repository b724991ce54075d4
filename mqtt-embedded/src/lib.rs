#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod asynch;
pub mod blocking;
mod buffers;
mod clock;
mod driver;
mod error;
mod select;

pub use buffers::{Buffers, Memory};
pub use clock::Clock;
pub use error::Error;

pub use mqtt_session::{
    CommandError, Config, ConnectOptions, ConnectReturnCode, DisconnectReason, Event, FixedStore,
    Instant, LastWill, Message, Outgoing, PacketId, QoS, Session, SessionLostPolicy, State, Store,
    SubAckReturnCode, SubscribeResults, Violation,
};
