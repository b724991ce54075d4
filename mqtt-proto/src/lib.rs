//! MQTT 3.1.1 packets: encoder and zero-copy, incremental decoder.
//!
//! (crate docs: to be written — see README)
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "bytes")]
extern crate alloc;

mod error;
mod types;
mod packet;
mod decode;
mod encode;
mod topic;
#[cfg(feature = "bytes")]
mod owned;

pub use error::{DecodeError, EncodeError};
pub use types::{PacketId, QoS, QosPid, ConnectReturnCode, PacketType};
pub use packet::{
    Packet, Connect, Will, ConnAck, Publish, Subscribe, SubAck, SubAckCodes, SubAckReturnCode,
    Unsubscribe, SubscribeFilters, TopicFilters,
};
pub use decode::{Decoder, Frame, FixedHeader, MAX_REMAINING_LENGTH};
pub use topic::{TopicFilter, TopicName};
#[cfg(feature = "bytes")]
pub use owned::OwnedPacket;
