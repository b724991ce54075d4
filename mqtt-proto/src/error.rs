//! Errors. One `Copy` enum per direction; the shape never changes with features.
use core::fmt;

/// Why bytes could not be decoded as an MQTT 3.1.1 packet. Each variant names the broken rule;
/// [`DecodeError::rule`] gives the normative statement ID where the spec numbers one.
///
/// The same enum also says why a packet cannot be *encoded* (inside
/// [`EncodeError::Invalid`]): a rule is a rule whichever side breaks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeError {
    /// Packet type 0 or 15 (reserved) in the first byte.
    ReservedPacketType,
    /// Flag bits of the first byte do not match Table 2.2 for this packet type [MQTT-2.2.2-1/2],
    /// including PUBREL/SUBSCRIBE/UNSUBSCRIBE not 0b0010 [MQTT-3.6.1-1, 3.8.1-1, 3.10.1-1].
    InvalidFlags,
    /// QoS bits 0b11 in a PUBLISH or a SUBSCRIBE request [MQTT-3.3.1-4].
    /// (A will QoS of 3 is [`DecodeError::InvalidWillFlags`].)
    InvalidQoS,
    /// DUP set on a QoS 0 PUBLISH [MQTT-3.3.1-2].
    DupWithQoS0,
    /// A remaining length with a fifth byte.
    RemainingLengthTooLong,
    /// Remaining length above the decoder's configured maximum (refused before the body arrives).
    /// When encoding: a remaining length above 268,435,455.
    PacketTooLarge,
    /// The remaining length does not match the packet's content (too short, or bytes left over),
    /// or is not in its shortest encoding.
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
    /// CONNECT will QoS/retain set with will flag off, or will QoS 3 [MQTT-3.1.2-11/13/14/15].
    InvalidWillFlags,
    /// CONNECT password flag set with username flag off [MQTT-3.1.2-22].
    PasswordWithoutUsername,
    /// A string or binary field longer than 65,535 bytes (section 1.5.3, [MQTT-4.7.3-3]).
    /// Only an encoder can see this: a decoded length prefix is 16 bits.
    StringTooLong,
    /// CONNECT with an empty client identifier and clean session off [MQTT-3.1.3-7].
    /// Only checked when encoding: a server answers such a CONNECT with a CONNACK code.
    EmptyClientIdWithoutCleanSession,

    // MQTT 5.0 only (feature `v5`). The variants exist with or without the feature, so that
    // the enum has one shape.
    /// MQTT 5.0: CONNECT protocol version is not 5 [MQTT-3.1.2-2 in 5.0].
    ProtocolVersionNot5,
    /// MQTT 5.0: a property identifier that section 2.2.2.2 does not define.
    UnknownProperty,
    /// MQTT 5.0: a property that may not appear in this packet (section 2.2.2.2).
    PropertyNotAllowed,
    /// MQTT 5.0: a property repeated that may appear at most once (only User Property, and
    /// Subscription Identifier in PUBLISH, may repeat).
    DuplicateProperty,
    /// MQTT 5.0: Topic Alias 0 [MQTT-3.3.2-8].
    ZeroTopicAlias,
    /// MQTT 5.0: Subscription Identifier 0 (sections 3.3.2.3.8 and 3.8.2.1.2).
    ZeroSubscriptionIdentifier,
    /// MQTT 5.0: Receive Maximum 0 (sections 3.1.2.11.3 and 3.2.2.3.3).
    ZeroReceiveMaximum,
    /// MQTT 5.0: Maximum Packet Size 0 (sections 3.1.2.11.4 and 3.2.2.3.6).
    ZeroMaximumPacketSize,
    /// MQTT 5.0: a byte property other than 0 or 1 (Payload Format Indicator, Request Problem
    /// Information, Request Response Information, Maximum QoS, Retain Available, Wildcard /
    /// Subscription Identifier / Shared Subscription Available).
    InvalidPropertyByte,
    /// MQTT 5.0: a Variable Byte Integer not in its shortest form [MQTT-1.5.5-1].
    NonMinimalVariableByteInteger,
    /// MQTT 5.0: a Variable Byte Integer with a fifth byte, or (when encoding) a value above
    /// 268,435,455 (section 1.5.5).
    VariableByteIntegerTooLong,
    /// MQTT 5.0: PUBLISH with a zero-length topic name and no Topic Alias (section 3.3.2.3.4).
    EmptyTopicWithoutAlias,
    /// MQTT 5.0: a CONNACK reason code not in section 3.2.2.2 [MQTT-3.2.2-8].
    InvalidConnAckReasonCode,
    /// MQTT 5.0: a PUBACK reason code not in section 3.4.2.1 [MQTT-3.4.2-1].
    InvalidPubAckReasonCode,
    /// MQTT 5.0: a PUBREC reason code not in section 3.5.2.1 [MQTT-3.5.2-1].
    InvalidPubRecReasonCode,
    /// MQTT 5.0: a PUBREL reason code not in section 3.6.2.1 [MQTT-3.6.2-1].
    InvalidPubRelReasonCode,
    /// MQTT 5.0: a PUBCOMP reason code not in section 3.7.2.1 [MQTT-3.7.2-1].
    InvalidPubCompReasonCode,
    /// MQTT 5.0: UNSUBACK with no reason code, or one not in section 3.11.3 [MQTT-3.11.3-2].
    /// (SUBACK uses [`DecodeError::InvalidSubAckCode`], [MQTT-3.9.3-2] in both versions.)
    InvalidUnsubAckReasonCode,
    /// MQTT 5.0: a DISCONNECT reason code not in section 3.14.2.1 [MQTT-3.14.2-1].
    InvalidDisconnectReasonCode,
    /// MQTT 5.0: an AUTH reason code not in section 3.15.2.1 [MQTT-3.15.2-1].
    InvalidAuthReasonCode,
    /// MQTT 5.0: SUBSCRIBE Retain Handling 3 (section 3.8.3.1).
    InvalidRetainHandling,
    /// MQTT 5.0: No Local set on a Shared Subscription [MQTT-3.8.3-4].
    NoLocalOnSharedSubscription,
    /// MQTT 5.0: a `$share/` filter without a valid ShareName and topic filter
    /// [MQTT-4.8.2-1, MQTT-4.8.2-2].
    InvalidSharedSubscription,
}

impl DecodeError {
    /// The normative statement ID of the broken rule (e.g. `"MQTT-3.3.1-4"`), when the spec
    /// numbers one; `None` for rules the spec states without a number (such as the remaining
    /// length format). The IDs are those of MQTT 3.1.1, except for the variants that only
    /// MQTT 5.0 has, which give their 5.0 IDs; see [`DecodeError::rule_v5`].
    pub const fn rule(&self) -> Option<&'static str> {
        Some(match self {
            DecodeError::InvalidFlags => "MQTT-2.2.2-1",
            DecodeError::InvalidQoS => "MQTT-3.3.1-4",
            DecodeError::DupWithQoS0 => "MQTT-3.3.1-2",
            DecodeError::ZeroPacketId => "MQTT-2.3.1-1",
            DecodeError::InvalidUtf8 => "MQTT-1.5.3-1",
            DecodeError::NullCharacter => "MQTT-1.5.3-2",
            DecodeError::InvalidTopicName => "MQTT-3.3.2-2",
            DecodeError::InvalidTopicFilter => "MQTT-4.7.1-2",
            DecodeError::EmptySubscribe => "MQTT-3.8.3-3",
            DecodeError::EmptyUnsubscribe => "MQTT-3.10.3-2",
            DecodeError::SubscribeReservedBits => "MQTT-3.8.3-4",
            DecodeError::InvalidSubAckCode => "MQTT-3.9.3-2",
            DecodeError::ConnAckSessionPresentWithError => "MQTT-3.2.2-4",
            DecodeError::InvalidProtocolName => "MQTT-3.1.2-1",
            DecodeError::UnsupportedProtocolLevel => "MQTT-3.1.2-2",
            DecodeError::ConnectReservedFlag => "MQTT-3.1.2-3",
            DecodeError::InvalidWillFlags => "MQTT-3.1.2-11",
            DecodeError::PasswordWithoutUsername => "MQTT-3.1.2-22",
            DecodeError::StringTooLong => "MQTT-4.7.3-3",
            DecodeError::EmptyClientIdWithoutCleanSession => "MQTT-3.1.3-7",
            DecodeError::ProtocolVersionNot5 => "MQTT-3.1.2-2",
            DecodeError::ZeroTopicAlias => "MQTT-3.3.2-8",
            DecodeError::NonMinimalVariableByteInteger => "MQTT-1.5.5-1",
            DecodeError::InvalidConnAckReasonCode => "MQTT-3.2.2-8",
            DecodeError::InvalidPubAckReasonCode => "MQTT-3.4.2-1",
            DecodeError::InvalidPubRecReasonCode => "MQTT-3.5.2-1",
            DecodeError::InvalidPubRelReasonCode => "MQTT-3.6.2-1",
            DecodeError::InvalidPubCompReasonCode => "MQTT-3.7.2-1",
            DecodeError::InvalidUnsubAckReasonCode => "MQTT-3.11.3-2",
            DecodeError::InvalidDisconnectReasonCode => "MQTT-3.14.2-1",
            DecodeError::InvalidAuthReasonCode => "MQTT-3.15.2-1",
            DecodeError::NoLocalOnSharedSubscription => "MQTT-3.8.3-4",
            DecodeError::InvalidSharedSubscription => "MQTT-4.8.2-2",
            DecodeError::UnknownProperty
            | DecodeError::PropertyNotAllowed
            | DecodeError::DuplicateProperty
            | DecodeError::ZeroSubscriptionIdentifier
            | DecodeError::ZeroReceiveMaximum
            | DecodeError::ZeroMaximumPacketSize
            | DecodeError::InvalidPropertyByte
            | DecodeError::VariableByteIntegerTooLong
            | DecodeError::EmptyTopicWithoutAlias
            | DecodeError::InvalidRetainHandling => return None,
            DecodeError::ReservedPacketType
            | DecodeError::RemainingLengthTooLong
            | DecodeError::PacketTooLarge
            | DecodeError::MalformedLength
            | DecodeError::ConnAckReservedBits
            | DecodeError::InvalidConnectReturnCode => return None,
        })
    }

    /// A short description of the broken rule, without the rule ID.
    pub const fn description(&self) -> &'static str {
        match self {
            DecodeError::ReservedPacketType => "reserved packet type 0 or 15",
            DecodeError::InvalidFlags => "invalid fixed header flags",
            DecodeError::InvalidQoS => "QoS 3 is reserved",
            DecodeError::DupWithQoS0 => "DUP flag set on a QoS 0 PUBLISH",
            DecodeError::RemainingLengthTooLong => "remaining length longer than 4 bytes",
            DecodeError::PacketTooLarge => "packet larger than the allowed maximum",
            DecodeError::MalformedLength => "remaining length does not match the packet content",
            DecodeError::ZeroPacketId => "packet identifier 0",
            DecodeError::InvalidUtf8 => "ill-formed UTF-8 string",
            DecodeError::NullCharacter => "U+0000 in a string",
            DecodeError::InvalidTopicName => "invalid topic name (empty or with a wildcard)",
            DecodeError::InvalidTopicFilter => "invalid topic filter",
            DecodeError::EmptySubscribe => "SUBSCRIBE without a topic filter",
            DecodeError::EmptyUnsubscribe => "UNSUBSCRIBE without a topic filter",
            DecodeError::SubscribeReservedBits => "SUBSCRIBE requested QoS with reserved bits set",
            DecodeError::InvalidSubAckCode => "SUBACK return code missing or reserved",
            DecodeError::ConnAckReservedBits => "CONNACK reserved flag bits set",
            DecodeError::InvalidConnectReturnCode => "reserved CONNACK return code",
            DecodeError::ConnAckSessionPresentWithError => {
                "CONNACK with session present and a non-zero return code"
            }
            DecodeError::InvalidProtocolName => "CONNECT protocol name is not \"MQTT\"",
            DecodeError::UnsupportedProtocolLevel => "CONNECT protocol level is not 4",
            DecodeError::ConnectReservedFlag => "CONNECT reserved flag set",
            DecodeError::InvalidWillFlags => "CONNECT will QoS/retain flags invalid",
            DecodeError::PasswordWithoutUsername => "CONNECT password without user name",
            DecodeError::StringTooLong => "string longer than 65535 bytes",
            DecodeError::EmptyClientIdWithoutCleanSession => {
                "empty client identifier with clean session off"
            }
            DecodeError::ProtocolVersionNot5 => "CONNECT protocol version is not 5",
            DecodeError::UnknownProperty => "unknown property identifier",
            DecodeError::PropertyNotAllowed => "property not allowed in this packet",
            DecodeError::DuplicateProperty => "property included more than once",
            DecodeError::ZeroTopicAlias => "Topic Alias 0",
            DecodeError::ZeroSubscriptionIdentifier => "Subscription Identifier 0",
            DecodeError::ZeroReceiveMaximum => "Receive Maximum 0",
            DecodeError::ZeroMaximumPacketSize => "Maximum Packet Size 0",
            DecodeError::InvalidPropertyByte => "byte property other than 0 or 1",
            DecodeError::NonMinimalVariableByteInteger => {
                "variable byte integer not in its shortest form"
            }
            DecodeError::VariableByteIntegerTooLong => "variable byte integer too long",
            DecodeError::EmptyTopicWithoutAlias => "PUBLISH with an empty topic and no Topic Alias",
            DecodeError::InvalidConnAckReasonCode => "reason code not allowed in CONNACK",
            DecodeError::InvalidPubAckReasonCode => "reason code not allowed in PUBACK",
            DecodeError::InvalidPubRecReasonCode => "reason code not allowed in PUBREC",
            DecodeError::InvalidPubRelReasonCode => "reason code not allowed in PUBREL",
            DecodeError::InvalidPubCompReasonCode => "reason code not allowed in PUBCOMP",
            DecodeError::InvalidUnsubAckReasonCode => "UNSUBACK reason code missing or not allowed",
            DecodeError::InvalidDisconnectReasonCode => "reason code not allowed in DISCONNECT",
            DecodeError::InvalidAuthReasonCode => "reason code not allowed in AUTH",
            DecodeError::InvalidRetainHandling => "SUBSCRIBE Retain Handling 3",
            DecodeError::NoLocalOnSharedSubscription => "No Local on a Shared Subscription",
            DecodeError::InvalidSharedSubscription => "invalid Shared Subscription topic filter",
        }
    }

    /// The MQTT 5.0 normative statement ID of the broken rule, when the 5.0 standard numbers
    /// one. The two standards number some shared rules differently (UTF-8 strings are
    /// [MQTT-1.5.3-1] in 3.1.1 and [MQTT-1.5.4-1] in 5.0); [`DecodeError::rule`] gives the
    /// 3.1.1 IDs, this the 5.0 ones. 3.1.1-only rules give `None`.
    pub const fn rule_v5(&self) -> Option<&'static str> {
        Some(match self {
            DecodeError::InvalidFlags => "MQTT-2.1.3-1",
            DecodeError::InvalidQoS => "MQTT-3.3.1-4",
            DecodeError::DupWithQoS0 => "MQTT-3.3.1-2",
            DecodeError::ZeroPacketId => "MQTT-2.2.1-3",
            DecodeError::InvalidUtf8 => "MQTT-1.5.4-1",
            DecodeError::NullCharacter => "MQTT-1.5.4-2",
            DecodeError::InvalidTopicName => "MQTT-4.7.0-1",
            DecodeError::InvalidTopicFilter => "MQTT-4.7.1-1",
            DecodeError::EmptySubscribe => "MQTT-3.8.3-2",
            DecodeError::EmptyUnsubscribe => "MQTT-3.10.3-2",
            DecodeError::SubscribeReservedBits => "MQTT-3.8.3-5",
            DecodeError::InvalidSubAckCode => "MQTT-3.9.3-2",
            DecodeError::ConnAckReservedBits => "MQTT-3.2.2-1",
            DecodeError::ConnAckSessionPresentWithError => "MQTT-3.2.2-6",
            DecodeError::InvalidProtocolName => "MQTT-3.1.2-1",
            DecodeError::ConnectReservedFlag => "MQTT-3.1.2-3",
            DecodeError::InvalidWillFlags => "MQTT-3.1.2-11",
            DecodeError::StringTooLong => "MQTT-4.7.3-3",
            DecodeError::UnsupportedProtocolLevel
            | DecodeError::PasswordWithoutUsername
            | DecodeError::EmptyClientIdWithoutCleanSession
            | DecodeError::InvalidConnectReturnCode => return None,
            _ => return self.rule(),
        })
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rule() {
            Some(rule) => write!(f, "{} [{}]", self.description(), rule),
            None => f.write_str(self.description()),
        }
    }
}

impl core::error::Error for DecodeError {}

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

impl EncodeError {
    /// The normative statement ID of the broken rule, for [`EncodeError::Invalid`].
    pub const fn rule(&self) -> Option<&'static str> {
        match self {
            EncodeError::BufferTooSmall { .. } => None,
            EncodeError::Invalid(e) => e.rule(),
        }
    }
}

impl From<DecodeError> for EncodeError {
    fn from(e: DecodeError) -> Self {
        EncodeError::Invalid(e)
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferTooSmall { required } => {
                write!(f, "output buffer too small: {required} bytes required")
            }
            EncodeError::Invalid(e) => write!(f, "cannot encode: {e}"),
        }
    }
}

impl core::error::Error for EncodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_rule() {
        let mut buf = [0u8; 64];
        let n = fmt_into(&mut buf, DecodeError::InvalidQoS);
        assert_eq!(&buf[..n], b"QoS 3 is reserved [MQTT-3.3.1-4]");
        assert_eq!(DecodeError::InvalidQoS.rule(), Some("MQTT-3.3.1-4"));
        assert_eq!(DecodeError::MalformedLength.rule(), None);
        assert_eq!(
            EncodeError::Invalid(DecodeError::NullCharacter).rule(),
            Some("MQTT-1.5.3-2")
        );
    }

    fn fmt_into(buf: &mut [u8], e: DecodeError) -> usize {
        struct W<'b>(&'b mut [u8], usize);
        impl fmt::Write for W<'_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                let end = self.1 + s.len();
                self.0
                    .get_mut(self.1..end)
                    .ok_or(fmt::Error)?
                    .copy_from_slice(s.as_bytes());
                self.1 = end;
                Ok(())
            }
        }
        let mut w = W(buf, 0);
        fmt::write(&mut w, format_args!("{e}")).expect("buffer large enough");
        w.1
    }
}
