#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
// docs.rs: each item gated by a feature says which one.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod connect;
mod decode;
mod encode;
mod error;
#[cfg(feature = "bytes")]
mod owned;
mod packet;
mod publish;
mod read;
mod subscribe;
mod topic;
mod types;
#[cfg(feature = "v5")]
pub mod v5;

pub use decode::{Decoder, FixedHeader, Frame, MAX_REMAINING_LENGTH};
pub use error::{DecodeError, EncodeError};
#[cfg(feature = "bytes")]
pub use owned::OwnedPacket;
pub use packet::{
    ConnAck, Connect, Packet, Publish, SubAck, SubAckCodes, SubAckCodesIter, SubAckReturnCode,
    Subscribe, SubscribeFilters, SubscribeFiltersIter, TopicFilters, TopicFiltersIter, Unsubscribe,
    Will,
};
pub use topic::{TopicFilter, TopicName};
pub use types::{ConnectReturnCode, PacketId, PacketType, QoS, QosPid};
