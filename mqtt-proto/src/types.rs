//! Small types that carry the rules.
use core::num::NonZeroU16;

use crate::DecodeError;

/// A packet identifier: never zero [MQTT-2.3.1-1].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PacketId(pub NonZeroU16);

impl PacketId {
    /// The packet identifier `id`, or `None` for 0 [MQTT-2.3.1-1].
    pub const fn new(id: u16) -> Option<Self> {
        match NonZeroU16::new(id) {
            Some(id) => Some(PacketId(id)),
            None => None,
        }
    }

    /// The identifier as a number (never 0).
    pub const fn get(self) -> u16 {
        self.0.get()
    }
}

impl From<NonZeroU16> for PacketId {
    fn from(id: NonZeroU16) -> Self {
        PacketId(id)
    }
}

impl From<PacketId> for u16 {
    fn from(id: PacketId) -> Self {
        id.get()
    }
}

impl TryFrom<u16> for PacketId {
    type Error = DecodeError;
    /// Fails with [`DecodeError::ZeroPacketId`] for 0 [MQTT-2.3.1-1].
    fn try_from(id: u16) -> Result<Self, DecodeError> {
        PacketId::new(id).ok_or(DecodeError::ZeroPacketId)
    }
}

/// Quality of service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QoS {
    /// QoS 0.
    AtMostOnce = 0,
    /// QoS 1.
    AtLeastOnce = 1,
    /// QoS 2.
    ExactlyOnce = 2,
}

impl QoS {
    /// QoS from its two-bit value; 3 is [`DecodeError::InvalidQoS`] [MQTT-3.3.1-4].
    pub const fn from_u8(bits: u8) -> Result<Self, DecodeError> {
        match bits {
            0 => Ok(QoS::AtMostOnce),
            1 => Ok(QoS::AtLeastOnce),
            2 => Ok(QoS::ExactlyOnce),
            _ => Err(DecodeError::InvalidQoS),
        }
    }

    /// The numeric value 0, 1 or 2.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }
}

impl TryFrom<u8> for QoS {
    type Error = DecodeError;
    fn try_from(bits: u8) -> Result<Self, DecodeError> {
        QoS::from_u8(bits)
    }
}

impl From<QoS> for u8 {
    fn from(q: QoS) -> Self {
        q as u8
    }
}

/// A PUBLISH's QoS with the packet identifier that QoS 1 and 2 require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QosPid {
    /// QoS 0: no packet identifier.
    AtMostOnce,
    /// QoS 1 with its packet identifier.
    AtLeastOnce(PacketId),
    /// QoS 2 with its packet identifier.
    ExactlyOnce(PacketId),
}

impl QosPid {
    /// The QoS level.
    pub const fn qos(self) -> QoS {
        match self {
            QosPid::AtMostOnce => QoS::AtMostOnce,
            QosPid::AtLeastOnce(_) => QoS::AtLeastOnce,
            QosPid::ExactlyOnce(_) => QoS::ExactlyOnce,
        }
    }

    /// The packet identifier, for QoS 1 and 2.
    pub const fn packet_id(self) -> Option<PacketId> {
        match self {
            QosPid::AtMostOnce => None,
            QosPid::AtLeastOnce(id) | QosPid::ExactlyOnce(id) => Some(id),
        }
    }

    /// Combine a QoS with a packet identifier; QoS 0 drops the identifier.
    pub const fn from_qos(qos: QoS, id: PacketId) -> Self {
        match qos {
            QoS::AtMostOnce => QosPid::AtMostOnce,
            QoS::AtLeastOnce => QosPid::AtLeastOnce(id),
            QoS::ExactlyOnce => QosPid::ExactlyOnce(id),
        }
    }
}

/// CONNACK return code (3.2.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectReturnCode {
    /// 0: connection accepted.
    Accepted = 0,
    /// 1: unacceptable protocol version.
    UnacceptableProtocolVersion = 1,
    /// 2: identifier rejected.
    IdentifierRejected = 2,
    /// 3: server unavailable.
    ServerUnavailable = 3,
    /// 4: bad user name or password.
    BadUsernameOrPassword = 4,
    /// 5: not authorized.
    NotAuthorized = 5,
}

impl ConnectReturnCode {
    /// The code from its byte; 6-255 are reserved ([`DecodeError::InvalidConnectReturnCode`]).
    pub const fn from_u8(code: u8) -> Result<Self, DecodeError> {
        Ok(match code {
            0 => ConnectReturnCode::Accepted,
            1 => ConnectReturnCode::UnacceptableProtocolVersion,
            2 => ConnectReturnCode::IdentifierRejected,
            3 => ConnectReturnCode::ServerUnavailable,
            4 => ConnectReturnCode::BadUsernameOrPassword,
            5 => ConnectReturnCode::NotAuthorized,
            _ => return Err(DecodeError::InvalidConnectReturnCode),
        })
    }

    /// The code's byte.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }
}

impl TryFrom<u8> for ConnectReturnCode {
    type Error = DecodeError;
    fn try_from(code: u8) -> Result<Self, DecodeError> {
        ConnectReturnCode::from_u8(code)
    }
}

/// The 14 control packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// 1
    Connect = 1,
    /// 2
    ConnAck = 2,
    /// 3
    Publish = 3,
    /// 4
    PubAck = 4,
    /// 5
    PubRec = 5,
    /// 6
    PubRel = 6,
    /// 7
    PubComp = 7,
    /// 8
    Subscribe = 8,
    /// 9
    SubAck = 9,
    /// 10
    Unsubscribe = 10,
    /// 11
    UnsubAck = 11,
    /// 12
    PingReq = 12,
    /// 13
    PingResp = 13,
    /// 14
    Disconnect = 14,
}

impl PacketType {
    /// Validate a whole first byte: the type (0 and 15 are reserved) and the flag bits of
    /// Table 2.2 [MQTT-2.2.2-1/2] (PUBREL, SUBSCRIBE, UNSUBSCRIBE need 0b0010
    /// [MQTT-3.6.1-1, MQTT-3.8.1-1, MQTT-3.10.1-1]; PUBLISH QoS 3 [MQTT-3.3.1-4] and DUP with
    /// QoS 0 [MQTT-3.3.1-2] are refused).
    #[inline]
    pub const fn from_first_byte(byte: u8) -> Result<PacketType, DecodeError> {
        let flags = byte & 0x0F;
        let ty = match byte >> 4 {
            3 => {
                let qos = (flags >> 1) & 0b11;
                if qos == 3 {
                    return Err(DecodeError::InvalidQoS);
                }
                if qos == 0 && flags & 0b1000 != 0 {
                    return Err(DecodeError::DupWithQoS0);
                }
                return Ok(PacketType::Publish);
            }
            1 => PacketType::Connect,
            2 => PacketType::ConnAck,
            4 => PacketType::PubAck,
            5 => PacketType::PubRec,
            6 => PacketType::PubRel,
            7 => PacketType::PubComp,
            8 => PacketType::Subscribe,
            9 => PacketType::SubAck,
            10 => PacketType::Unsubscribe,
            11 => PacketType::UnsubAck,
            12 => PacketType::PingReq,
            13 => PacketType::PingResp,
            14 => PacketType::Disconnect,
            _ => return Err(DecodeError::ReservedPacketType),
        };
        if flags != ty.fixed_flags() {
            return Err(DecodeError::InvalidFlags);
        }
        Ok(ty)
    }

    /// The flag bits this type must carry (Table 2.2). For PUBLISH, whose flags vary, 0.
    pub const fn fixed_flags(self) -> u8 {
        match self {
            PacketType::PubRel | PacketType::Subscribe | PacketType::Unsubscribe => 0b0010,
            _ => 0,
        }
    }

    /// Whether a client may receive this type from a server: CONNACK, PUBLISH, PUBACK,
    /// PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK and PINGRESP.
    pub const fn client_may_receive(self) -> bool {
        matches!(
            self,
            PacketType::ConnAck
                | PacketType::Publish
                | PacketType::PubAck
                | PacketType::PubRec
                | PacketType::PubRel
                | PacketType::PubComp
                | PacketType::SubAck
                | PacketType::UnsubAck
                | PacketType::PingResp
        )
    }

    /// Whether a server may receive this type from a client: CONNECT, PUBLISH, PUBACK,
    /// PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, UNSUBSCRIBE, PINGREQ and DISCONNECT.
    pub const fn server_may_receive(self) -> bool {
        matches!(
            self,
            PacketType::Connect
                | PacketType::Publish
                | PacketType::PubAck
                | PacketType::PubRec
                | PacketType::PubRel
                | PacketType::PubComp
                | PacketType::Subscribe
                | PacketType::Unsubscribe
                | PacketType::PingReq
                | PacketType::Disconnect
        )
    }

    /// The packet type's name as the spec writes it, e.g. `"PUBLISH"`.
    pub const fn name(self) -> &'static str {
        match self {
            PacketType::Connect => "CONNECT",
            PacketType::ConnAck => "CONNACK",
            PacketType::Publish => "PUBLISH",
            PacketType::PubAck => "PUBACK",
            PacketType::PubRec => "PUBREC",
            PacketType::PubRel => "PUBREL",
            PacketType::PubComp => "PUBCOMP",
            PacketType::Subscribe => "SUBSCRIBE",
            PacketType::SubAck => "SUBACK",
            PacketType::Unsubscribe => "UNSUBSCRIBE",
            PacketType::UnsubAck => "UNSUBACK",
            PacketType::PingReq => "PINGREQ",
            PacketType::PingResp => "PINGRESP",
            PacketType::Disconnect => "DISCONNECT",
        }
    }
}

impl core::fmt::Display for PacketType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_byte_rules() {
        assert_eq!(PacketType::from_first_byte(0x30), Ok(PacketType::Publish));
        assert_eq!(PacketType::from_first_byte(0x3B), Ok(PacketType::Publish));
        assert_eq!(
            PacketType::from_first_byte(0x36),
            Err(DecodeError::InvalidQoS)
        );
        assert_eq!(
            PacketType::from_first_byte(0x38),
            Err(DecodeError::DupWithQoS0)
        );
        assert_eq!(PacketType::from_first_byte(0x62), Ok(PacketType::PubRel));
        assert_eq!(
            PacketType::from_first_byte(0x60),
            Err(DecodeError::InvalidFlags)
        );
        assert_eq!(
            PacketType::from_first_byte(0x00),
            Err(DecodeError::ReservedPacketType)
        );
        assert_eq!(
            PacketType::from_first_byte(0xF0),
            Err(DecodeError::ReservedPacketType)
        );
        assert_eq!(
            PacketType::from_first_byte(0xC1),
            Err(DecodeError::InvalidFlags)
        );
    }

    #[test]
    fn qos_and_ids() {
        assert_eq!(QoS::try_from(2), Ok(QoS::ExactlyOnce));
        assert_eq!(QoS::try_from(3), Err(DecodeError::InvalidQoS));
        assert_eq!(PacketId::new(0), None);
        assert_eq!(PacketId::new(7).map(PacketId::get), Some(7));
        assert_eq!(PacketId::try_from(0), Err(DecodeError::ZeroPacketId));
    }
}
