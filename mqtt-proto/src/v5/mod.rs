//! MQTT 5.0 packets (feature `v5`): the 15 packet types with their properties and reason
//! codes, a zero-copy incremental [`Decoder`] and an encoder into caller buffers, in the same
//! shape as the 3.1.1 items at the crate root, which this module leaves untouched.
//!
//! - [`Packet<'a>`](Packet) borrows from the input; properties are a validated view
//!   ([`Properties`]) over the wire bytes with typed getters, or a caller slice of
//!   [`Property`] values to encode.
//! - Every packet's reason code is an enum holding exactly the codes that packet may carry
//!   ([`ConnectReasonCode`], [`PubAckReasonCode`], ..., [`AuthReasonCode`]).
//! - Decoding checks what the format can express: property identifiers known and allowed in
//!   the packet, no forbidden repeats, property values (no Topic Alias 0, booleans 0 or 1,
//!   Variable Byte Integers in shortest form [MQTT-1.5.5-1], UTF-8 rules), reason codes allowed
//!   in the packet, subscription options, shared subscription filters. Errors are the crate's
//!   [`DecodeError`](crate::DecodeError); [`DecodeError::rule_v5`](crate::DecodeError::rule_v5)
//!   names the 5.0 statement.
//!
//! ```
//! use mqtt_proto::v5::{Decoder, Packet, Properties, Property, Publish, PubAck, PubAckReasonCode};
//! use mqtt_proto::{PacketId, QosPid, TopicName};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let id = PacketId::new(7).ok_or("zero id")?;
//! let props = [
//!     Property::MessageExpiryInterval(60),
//!     Property::UserProperty("unit", "celsius"),
//! ];
//! let mut publish = Publish::new(TopicName::new("sensors/1")?, QosPid::AtLeastOnce(id), b"21.5");
//! publish.properties = Properties::new(&props);
//!
//! let mut buf = [0u8; 64];
//! let n = Packet::Publish(publish).encode(&mut buf)?;
//!
//! let (packet, used) = Decoder::new().decode(&buf[..n])?.ok_or("incomplete")?;
//! assert_eq!(used, n);
//! let Packet::Publish(p) = packet else { panic!("expected PUBLISH") };
//! assert_eq!(p.properties.message_expiry_interval(), Some(60));
//! assert!(p.properties.user_properties().eq([("unit", "celsius")]));
//! assert_eq!(p, publish);
//!
//! // A PUBACK with reason code 0x10 and no properties takes 5 bytes.
//! let ack = Packet::PubAck(PubAck::new(id, PubAckReasonCode::NoMatchingSubscribers));
//! assert_eq!(ack.encode(&mut buf)?, 5);
//! assert_eq!(&buf[..5], &[0x40, 0x03, 0x00, 0x07, 0x10]);
//! # Ok(())
//! # }
//! ```

mod decode;
mod encode;
mod packet;
mod properties;
mod reason;

pub use decode::{Decoder, FixedHeader, Frame, PROTOCOL_VERSION};
pub use packet::{
    Auth, ConnAck, Connect, Disconnect, Packet, PacketType, PubAck, PubComp, PubRec, PubRel,
    PubResponse, Publish, RetainHandling, SubAck, Subscribe, SubscribeFilters,
    SubscribeFiltersIter, SubscriptionOptions, UnsubAck, Unsubscribe, Will, shared_subscription,
};
pub use properties::{
    MAX_VARIABLE_BYTE_INTEGER, Properties, PropertiesIter, Property, PropertyContext, PropertyId,
    PropertyType, SubscriptionIdentifiers, UserProperties,
};
pub use reason::{
    AuthReasonCode, ConnectReasonCode, DisconnectReasonCode, PubAckReasonCode, PubCompReasonCode,
    PubRecReasonCode, PubRelReasonCode, ReasonCode, ReasonCodes, ReasonCodesIter, SubAckReasonCode,
    SubAckReasonCodes, UnsubAckReasonCode, UnsubAckReasonCodes,
};

/// The protocol version of a connection, from its CONNECT (section 3.1.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolVersion {
    /// MQTT 3.1.1 (protocol level 4): decode with [`crate::Decoder`].
    V311 = 4,
    /// MQTT 5.0 (protocol version 5): decode with [`Decoder`].
    V5 = 5,
}

impl ProtocolVersion {
    /// The protocol version of the CONNECT at the start of `buf`, read from its first bytes
    /// before the rest arrives, so that a server can pick the decoder. `Ok(None)` while the
    /// version byte has not arrived. Errors: not a CONNECT or a malformed fixed header (as the
    /// 3.1.1 decoder reports them), a protocol name other than "MQTT"
    /// ([`DecodeError::InvalidProtocolName`](crate::DecodeError::InvalidProtocolName)), a level
    /// other than 4 or 5
    /// ([`DecodeError::UnsupportedProtocolLevel`](crate::DecodeError::UnsupportedProtocolLevel)).
    pub fn of_connect(buf: &[u8]) -> Result<Option<Self>, crate::DecodeError> {
        use crate::DecodeError;
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        if first != 0x10 {
            return Err(match crate::PacketType::from_first_byte(first) {
                Err(e) => e,
                Ok(_) => DecodeError::InvalidProtocolName,
            });
        }
        let rest = buf.get(1..).unwrap_or_default();
        let n = match properties::read_vbi(rest) {
            Ok(Some((_, n))) => n,
            Ok(None) => return Ok(None),
            Err(DecodeError::NonMinimalVariableByteInteger) => {
                return Err(DecodeError::MalformedLength);
            }
            Err(_) => return Err(DecodeError::RemainingLengthTooLong),
        };
        let body = rest.get(n..).unwrap_or_default();
        let name = [0x00, 0x04, b'M', b'Q', b'T', b'T'];
        for (got, want) in body.iter().zip(name) {
            if *got != want {
                return Err(DecodeError::InvalidProtocolName);
            }
        }
        match body.get(6) {
            None => Ok(None),
            Some(4) => Ok(Some(ProtocolVersion::V311)),
            Some(5) => Ok(Some(ProtocolVersion::V5)),
            Some(_) => Err(DecodeError::UnsupportedProtocolLevel),
        }
    }
}
