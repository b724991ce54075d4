#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
// docs.rs: each item gated by a feature says which one.
#![cfg_attr(docsrs, feature(doc_cfg))]
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

/// The blocking delay trait, re-exported so versions match.
pub use embedded_hal;
/// The async delay trait, re-exported so versions match.
pub use embedded_hal_async;
/// The transport traits of the blocking client, re-exported so versions match.
pub use embedded_io;
/// The transport traits of the async client, re-exported so versions match.
pub use embedded_io_async;

pub use mqtt_session::{
    CommandError, Config, ConnectOptions, ConnectRequest, ConnectReturnCode, DisconnectReason,
    Event, FixedStore, Instant, LastWill, Message, Outgoing, PacketId, QoS, Session,
    SessionLostPolicy, State, Store, SubAckReturnCode, SubscribeResults, Violation,
};

#[cfg(feature = "v5")]
pub use mqtt_session::ConnectOptionsV5;
/// MQTT 5.0 (feature `v5`): the session's `v5` module, with what a 5.0 connection takes and
/// gives: [`Properties`] and [`Property`], [`SubscriptionOptions`] and [`RetainHandling`],
/// [`DisconnectOptions`], the reason codes of every packet, [`Response`], [`ServerLimits`] and
/// [`v5::publish_len`]. The most used are re-exported here too.
#[cfg(feature = "v5")]
pub use mqtt_session::v5;
#[cfg(feature = "v5")]
pub use mqtt_session::v5::{
    ConnectReasonCode, DisconnectOptions, DisconnectReasonCode, Properties, Property,
    ProtocolVersion, PubAckReasonCode, Response, RetainHandling, ServerLimits, SubAckReasonCode,
    SubscriptionOptions,
};
