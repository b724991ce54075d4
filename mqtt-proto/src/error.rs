//! Errors. One `Copy` enum per direction; the shape never changes with features.

/// Why bytes could not be decoded as an MQTT 3.1.1 packet. Each variant names the broken rule;
/// [`DecodeError::rule`] gives the normative statement ID where the spec numbers one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeError {
    /// Packet type 0 or 15 (reserved) in the first byte.
    ReservedPacketType,
    /// Flag bits of the first byte do not match Table 2.2 for this packet type [MQTT-2.2.2-1/2],
    /// including PUBREL/SUBSCRIBE/UNSUBSCRIBE not 0b0010 [MQTT-3.6.1-1, 3.8.1-1, 3.10.1-1].
    InvalidFlags,
    /// QoS bits 0b11 in a PUBLISH, a will, or a SUBSCRIBE request [MQTT-3.3.1-4].
    InvalidQoS,
    /// DUP set on a QoS 0 PUBLISH [MQTT-3.3.1-2].
    DupWithQoS0,
    /// A remaining length with a fifth byte.
    RemainingLengthTooLong,
    /// Remaining length above the decoder's configured maximum (refused before the body arrives).
    PacketTooLarge,
    /// The remaining length does not match the packet's content (too short, or bytes left over).
    MalformedLength,
    /// Packet identifier 0 [MQTT-2.3.1-1].
    ZeroPacketId,
    /// Ill-formed UTF-8 or a surrogate code point [MQTT-1.5.3-1].
    InvalidUtf8,
    /// U+0000 in a string [MQTT-1.5.3-2].
    NullCharacter,
    /// A topic name with `+` or `#`, or an empty topic name [MQTT-3.3.2-2, MQTT-4.7.3-1].
    InvalidTopicName,
    /// A topic filter breaking the wildcard rules or empty [MQTT-4.7.1-1/2/3, MQTT-4.7.3-1].
    InvalidTopicFilter,
    /// SUBSCRIBE with no topic filter [MQTT-3.8.3-3].
    EmptySubscribe,
    /// UNSUBSCRIBE with no topic filter [MQTT-3.10.3-2].
    EmptyUnsubscribe,
    /// SUBSCRIBE requested-QoS byte with its reserved upper bits set [MQTT-3.8.3-4].
    SubscribeReservedBits,
    /// SUBACK with no return code, or a return code other than 0x00, 0x01, 0x02, 0x80 [MQTT-3.9.3-2].
    InvalidSubAckCode,
    /// CONNACK acknowledge flags bits 7-1 not zero.
    ConnAckReservedBits,
    /// CONNACK return code 6-255 (reserved).
    InvalidConnectReturnCode,
    /// CONNACK with session present set and a non-zero return code [MQTT-3.2.2-4].
    ConnAckSessionPresentWithError,
    /// CONNECT protocol name is not "MQTT" [MQTT-3.1.2-1].
    InvalidProtocolName,
    /// CONNECT protocol level is not 4 [MQTT-3.1.2-2].
    UnsupportedProtocolLevel,
    /// CONNECT reserved flag bit 0 set [MQTT-3.1.2-3].
    ConnectReservedFlag,
    /// CONNECT will QoS/retain set with will flag off, or will QoS 3 [MQTT-3.1.2-11/13/15].
    InvalidWillFlags,
    /// CONNECT password flag set with username flag off [MQTT-3.1.2-22].
    PasswordWithoutUsername,
}

/// Why a packet could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncodeError {
    /// The output buffer is too small; nothing was written. `required` is the whole packet size.
    BufferTooSmall {
        /// Bytes the whole encoded packet needs.
        required: usize,
    },
    /// The packet's content breaks a rule of the format (a string over 65,535 bytes, a
    /// remaining length over 268,435,455, an empty filter list, a string with U+0000, ...).
    Invalid(DecodeError),
}
