//! MQTT 5.0 reason codes (section 2.4), one enum per packet holding exactly the codes that
//! packet may carry, and the validated code lists of SUBACK and UNSUBACK.
use core::fmt;
use core::marker::PhantomData;

use crate::DecodeError;

/// What every per-packet reason code enum offers.
pub trait ReasonCode: Copy + Sized + 'static {
    /// The error for a byte this packet may not carry (it names the packet's rule).
    const INVALID: DecodeError;

    /// The code from its byte; `None` when this packet may not carry it.
    fn from_byte(code: u8) -> Option<Self>;

    /// The code's byte.
    fn to_byte(self) -> u8;
}

macro_rules! reason_codes {
    (
        $(#[$meta:meta])*
        $name:ident, $invalid:ident, $section:literal {
            $($(#[$vmeta:meta])* $variant:ident = $value:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u8)]
        pub enum $name {
            $($(#[$vmeta])* $variant = $value,)+
        }

        impl $name {
            /// Every code this packet may carry, in numeric order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            #[doc = concat!(
                "The code from its byte; a byte not listed in section ", $section,
                " is [`DecodeError::", stringify!($invalid), "`]."
            )]
            pub const fn from_u8(code: u8) -> Result<Self, DecodeError> {
                match code {
                    $($value => Ok($name::$variant),)+
                    _ => Err(DecodeError::$invalid),
                }
            }

            /// The code's byte.
            pub const fn as_u8(self) -> u8 {
                self as u8
            }

            /// Whether the code reports a failure (0x80 and above, section 2.4).
            pub const fn is_error(self) -> bool {
                self.as_u8() >= 0x80
            }
        }

        impl ReasonCode for $name {
            const INVALID: DecodeError = DecodeError::$invalid;
            fn from_byte(code: u8) -> Option<Self> {
                $name::from_u8(code).ok()
            }
            fn to_byte(self) -> u8 {
                self.as_u8()
            }
        }

        impl TryFrom<u8> for $name {
            type Error = DecodeError;
            fn try_from(code: u8) -> Result<Self, DecodeError> {
                $name::from_u8(code)
            }
        }

        impl From<$name> for u8 {
            fn from(code: $name) -> u8 {
                code.as_u8()
            }
        }

        impl fmt::Display for $name {
            /// The standard's name in lower case, then the code: "bad user name or password
            /// (0x86)".
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                words(f, self)?;
                write!(f, " (0x{:02x})", self.as_u8())
            }
        }
    };
}

/// Writes a variant's name (`BadUserNameOrPassword`) as words (`bad user name or password`),
/// without allocating.
fn words(f: &mut fmt::Formatter<'_>, name: &dyn fmt::Debug) -> fmt::Result {
    struct Words<'a, 'b> {
        f: &'a mut fmt::Formatter<'b>,
        first: bool,
        after_letter: bool,
    }
    impl fmt::Write for Words<'_, '_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let mut rest = s;
            while let Some(c) = rest.chars().next() {
                // "QoS" is a name of its own ("GrantedQoS0": "granted QoS 0").
                let (word, len) = if rest.starts_with("QoS") {
                    ("QoS", 3)
                } else {
                    ("", c.len_utf8())
                };
                let starts_word =
                    c.is_ascii_uppercase() || (c.is_ascii_digit() && self.after_letter);
                if starts_word && !self.first {
                    self.f.write_char(' ')?;
                }
                if word.is_empty() {
                    self.f.write_char(c.to_ascii_lowercase())?;
                } else {
                    self.f.write_str(word)?;
                }
                self.after_letter = !c.is_ascii_digit();
                self.first = false;
                rest = rest.get(len..).unwrap_or_default();
            }
            Ok(())
        }
    }
    fmt::write(
        &mut Words {
            f,
            first: true,
            after_letter: false,
        },
        format_args!("{name:?}"),
    )
}

#[cfg(test)]
mod display_tests {
    use super::*;
    extern crate std;
    use std::string::ToString as _;

    #[test]
    fn reason_codes_read_as_the_standard_names_them() {
        assert_eq!(
            ConnectReasonCode::BadUserNameOrPassword.to_string(),
            "bad user name or password (0x86)"
        );
        assert_eq!(
            DisconnectReasonCode::SessionTakenOver.to_string(),
            "session taken over (0x8e)"
        );
        assert_eq!(
            PubAckReasonCode::NotAuthorized.to_string(),
            "not authorized (0x87)"
        );
        assert_eq!(
            DisconnectReasonCode::QoSNotSupported.to_string(),
            "QoS not supported (0x9b)"
        );
        assert_eq!(
            SubAckReasonCode::GrantedQoS2.to_string(),
            "granted QoS 2 (0x02)"
        );
    }
}

reason_codes! {
    /// CONNACK reason codes (section 3.2.2.2) [MQTT-3.2.2-8].
    ConnectReasonCode, InvalidConnAckReasonCode, "3.2.2.2" {
        /// 0x00 Success: the connection is accepted.
        Success = 0x00,
        /// 0x80 Unspecified error.
        UnspecifiedError = 0x80,
        /// 0x81 Malformed Packet.
        MalformedPacket = 0x81,
        /// 0x82 Protocol Error.
        ProtocolError = 0x82,
        /// 0x83 Implementation specific error.
        ImplementationSpecificError = 0x83,
        /// 0x84 Unsupported Protocol Version.
        UnsupportedProtocolVersion = 0x84,
        /// 0x85 Client Identifier not valid.
        ClientIdentifierNotValid = 0x85,
        /// 0x86 Bad User Name or Password.
        BadUserNameOrPassword = 0x86,
        /// 0x87 Not authorized.
        NotAuthorized = 0x87,
        /// 0x88 Server unavailable.
        ServerUnavailable = 0x88,
        /// 0x89 Server busy.
        ServerBusy = 0x89,
        /// 0x8A Banned.
        Banned = 0x8A,
        /// 0x8C Bad authentication method.
        BadAuthenticationMethod = 0x8C,
        /// 0x90 Topic Name invalid.
        TopicNameInvalid = 0x90,
        /// 0x95 Packet too large.
        PacketTooLarge = 0x95,
        /// 0x97 Quota exceeded.
        QuotaExceeded = 0x97,
        /// 0x99 Payload format invalid.
        PayloadFormatInvalid = 0x99,
        /// 0x9A Retain not supported.
        RetainNotSupported = 0x9A,
        /// 0x9B QoS not supported.
        QoSNotSupported = 0x9B,
        /// 0x9C Use another server.
        UseAnotherServer = 0x9C,
        /// 0x9D Server moved.
        ServerMoved = 0x9D,
        /// 0x9F Connection rate exceeded.
        ConnectionRateExceeded = 0x9F,
    }
}

reason_codes! {
    /// PUBACK reason codes (section 3.4.2.1) [MQTT-3.4.2-1].
    PubAckReasonCode, InvalidPubAckReasonCode, "3.4.2.1" {
        /// 0x00 Success.
        Success = 0x00,
        /// 0x10 No matching subscribers.
        NoMatchingSubscribers = 0x10,
        /// 0x80 Unspecified error.
        UnspecifiedError = 0x80,
        /// 0x83 Implementation specific error.
        ImplementationSpecificError = 0x83,
        /// 0x87 Not authorized.
        NotAuthorized = 0x87,
        /// 0x90 Topic Name invalid.
        TopicNameInvalid = 0x90,
        /// 0x91 Packet Identifier in use.
        PacketIdentifierInUse = 0x91,
        /// 0x97 Quota exceeded.
        QuotaExceeded = 0x97,
        /// 0x99 Payload format invalid.
        PayloadFormatInvalid = 0x99,
    }
}

reason_codes! {
    /// PUBREC reason codes (section 3.5.2.1) [MQTT-3.5.2-1]: the same codes as PUBACK.
    PubRecReasonCode, InvalidPubRecReasonCode, "3.5.2.1" {
        /// 0x00 Success.
        Success = 0x00,
        /// 0x10 No matching subscribers.
        NoMatchingSubscribers = 0x10,
        /// 0x80 Unspecified error.
        UnspecifiedError = 0x80,
        /// 0x83 Implementation specific error.
        ImplementationSpecificError = 0x83,
        /// 0x87 Not authorized.
        NotAuthorized = 0x87,
        /// 0x90 Topic Name invalid.
        TopicNameInvalid = 0x90,
        /// 0x91 Packet Identifier in use.
        PacketIdentifierInUse = 0x91,
        /// 0x97 Quota exceeded.
        QuotaExceeded = 0x97,
        /// 0x99 Payload format invalid.
        PayloadFormatInvalid = 0x99,
    }
}

reason_codes! {
    /// PUBREL reason codes (section 3.6.2.1) [MQTT-3.6.2-1].
    PubRelReasonCode, InvalidPubRelReasonCode, "3.6.2.1" {
        /// 0x00 Success.
        Success = 0x00,
        /// 0x92 Packet Identifier not found.
        PacketIdentifierNotFound = 0x92,
    }
}

reason_codes! {
    /// PUBCOMP reason codes (section 3.7.2.1) [MQTT-3.7.2-1].
    PubCompReasonCode, InvalidPubCompReasonCode, "3.7.2.1" {
        /// 0x00 Success.
        Success = 0x00,
        /// 0x92 Packet Identifier not found.
        PacketIdentifierNotFound = 0x92,
    }
}

reason_codes! {
    /// SUBACK reason codes (section 3.9.3) [MQTT-3.9.3-2].
    SubAckReasonCode, InvalidSubAckCode, "3.9.3" {
        /// 0x00 Granted QoS 0.
        GrantedQoS0 = 0x00,
        /// 0x01 Granted QoS 1.
        GrantedQoS1 = 0x01,
        /// 0x02 Granted QoS 2.
        GrantedQoS2 = 0x02,
        /// 0x80 Unspecified error.
        UnspecifiedError = 0x80,
        /// 0x83 Implementation specific error.
        ImplementationSpecificError = 0x83,
        /// 0x87 Not authorized.
        NotAuthorized = 0x87,
        /// 0x8F Topic Filter invalid.
        TopicFilterInvalid = 0x8F,
        /// 0x91 Packet Identifier in use.
        PacketIdentifierInUse = 0x91,
        /// 0x97 Quota exceeded.
        QuotaExceeded = 0x97,
        /// 0x9E Shared Subscriptions not supported.
        SharedSubscriptionsNotSupported = 0x9E,
        /// 0xA1 Subscription Identifiers not supported.
        SubscriptionIdentifiersNotSupported = 0xA1,
        /// 0xA2 Wildcard Subscriptions not supported.
        WildcardSubscriptionsNotSupported = 0xA2,
    }
}

reason_codes! {
    /// UNSUBACK reason codes (section 3.11.3) [MQTT-3.11.3-2].
    UnsubAckReasonCode, InvalidUnsubAckReasonCode, "3.11.3" {
        /// 0x00 Success.
        Success = 0x00,
        /// 0x11 No subscription existed.
        NoSubscriptionExisted = 0x11,
        /// 0x80 Unspecified error.
        UnspecifiedError = 0x80,
        /// 0x83 Implementation specific error.
        ImplementationSpecificError = 0x83,
        /// 0x87 Not authorized.
        NotAuthorized = 0x87,
        /// 0x8F Topic Filter invalid.
        TopicFilterInvalid = 0x8F,
        /// 0x91 Packet Identifier in use.
        PacketIdentifierInUse = 0x91,
    }
}

reason_codes! {
    /// DISCONNECT reason codes (section 3.14.2.1) [MQTT-3.14.2-1].
    DisconnectReasonCode, InvalidDisconnectReasonCode, "3.14.2.1" {
        /// 0x00 Normal disconnection.
        NormalDisconnection = 0x00,
        /// 0x04 Disconnect with Will Message.
        DisconnectWithWillMessage = 0x04,
        /// 0x80 Unspecified error.
        UnspecifiedError = 0x80,
        /// 0x81 Malformed Packet.
        MalformedPacket = 0x81,
        /// 0x82 Protocol Error.
        ProtocolError = 0x82,
        /// 0x83 Implementation specific error.
        ImplementationSpecificError = 0x83,
        /// 0x87 Not authorized.
        NotAuthorized = 0x87,
        /// 0x89 Server busy.
        ServerBusy = 0x89,
        /// 0x8B Server shutting down.
        ServerShuttingDown = 0x8B,
        /// 0x8C Bad authentication method.
        BadAuthenticationMethod = 0x8C,
        /// 0x8D Keep Alive timeout.
        KeepAliveTimeout = 0x8D,
        /// 0x8E Session taken over.
        SessionTakenOver = 0x8E,
        /// 0x8F Topic Filter invalid.
        TopicFilterInvalid = 0x8F,
        /// 0x90 Topic Name invalid.
        TopicNameInvalid = 0x90,
        /// 0x93 Receive Maximum exceeded.
        ReceiveMaximumExceeded = 0x93,
        /// 0x94 Topic Alias invalid.
        TopicAliasInvalid = 0x94,
        /// 0x95 Packet too large.
        PacketTooLarge = 0x95,
        /// 0x96 Message rate too high.
        MessageRateTooHigh = 0x96,
        /// 0x97 Quota exceeded.
        QuotaExceeded = 0x97,
        /// 0x98 Administrative action.
        AdministrativeAction = 0x98,
        /// 0x99 Payload format invalid.
        PayloadFormatInvalid = 0x99,
        /// 0x9A Retain not supported.
        RetainNotSupported = 0x9A,
        /// 0x9B QoS not supported.
        QoSNotSupported = 0x9B,
        /// 0x9C Use another server.
        UseAnotherServer = 0x9C,
        /// 0x9D Server moved.
        ServerMoved = 0x9D,
        /// 0x9E Shared Subscriptions not supported.
        SharedSubscriptionsNotSupported = 0x9E,
        /// 0x9F Connection rate exceeded.
        ConnectionRateExceeded = 0x9F,
        /// 0xA0 Maximum connect time.
        MaximumConnectTime = 0xA0,
        /// 0xA1 Subscription Identifiers not supported.
        SubscriptionIdentifiersNotSupported = 0xA1,
        /// 0xA2 Wildcard Subscriptions not supported.
        WildcardSubscriptionsNotSupported = 0xA2,
    }
}

reason_codes! {
    /// AUTH reason codes (section 3.15.2.1) [MQTT-3.15.2-1].
    AuthReasonCode, InvalidAuthReasonCode, "3.15.2.1" {
        /// 0x00 Success.
        Success = 0x00,
        /// 0x18 Continue authentication.
        ContinueAuthentication = 0x18,
        /// 0x19 Re-authenticate.
        ReAuthenticate = 0x19,
    }
}

/// A validated list of reason codes (SUBACK's [`SubAckReasonCode`]s or UNSUBACK's
/// [`UnsubAckReasonCode`]s): at least one, each allowed in its packet. Borrows the bytes.
pub struct ReasonCodes<'a, R> {
    bytes: &'a [u8],
    _codes: PhantomData<R>,
}

/// SUBACK's reason codes, one per filter of the SUBSCRIBE.
pub type SubAckReasonCodes<'a> = ReasonCodes<'a, SubAckReasonCode>;
/// UNSUBACK's reason codes, one per filter of the UNSUBSCRIBE.
pub type UnsubAckReasonCodes<'a> = ReasonCodes<'a, UnsubAckReasonCode>;

impl<'a, R: ReasonCode> ReasonCodes<'a, R> {
    /// Validate code bytes: at least one, each a code of this packet (else `R::INVALID`:
    /// [`DecodeError::InvalidSubAckCode`] [MQTT-3.9.3-2] or
    /// [`DecodeError::InvalidUnsubAckReasonCode`] [MQTT-3.11.3-2]).
    pub fn new(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        if bytes.is_empty() || bytes.iter().any(|&b| R::from_byte(b).is_none()) {
            return Err(R::INVALID);
        }
        Ok(ReasonCodes {
            bytes,
            _codes: PhantomData,
        })
    }

    /// The raw code bytes.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Number of codes.
    pub const fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always false for a valid list.
    pub const fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The codes, in the order of the request's filters.
    pub fn iter(&self) -> ReasonCodesIter<'a, R> {
        ReasonCodesIter {
            bytes: self.bytes.iter(),
            _codes: PhantomData,
        }
    }
}

impl<R> Clone for ReasonCodes<'_, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for ReasonCodes<'_, R> {}

impl<R> PartialEq for ReasonCodes<'_, R> {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl<R> Eq for ReasonCodes<'_, R> {}

impl<R: ReasonCode + fmt::Debug> fmt::Debug for ReasonCodes<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a, R: ReasonCode> IntoIterator for ReasonCodes<'a, R> {
    type Item = R;
    type IntoIter = ReasonCodesIter<'a, R>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, R: ReasonCode> IntoIterator for &ReasonCodes<'a, R> {
    type Item = R;
    type IntoIter = ReasonCodesIter<'a, R>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over a [`ReasonCodes`] list.
#[derive(Debug)]
pub struct ReasonCodesIter<'a, R> {
    bytes: core::slice::Iter<'a, u8>,
    _codes: PhantomData<R>,
}

impl<R> Clone for ReasonCodesIter<'_, R> {
    fn clone(&self) -> Self {
        ReasonCodesIter {
            bytes: self.bytes.clone(),
            _codes: PhantomData,
        }
    }
}

impl<R: ReasonCode> Iterator for ReasonCodesIter<'_, R> {
    type Item = R;
    fn next(&mut self) -> Option<R> {
        // Validated by `ReasonCodes::new`; a byte not allowed would end the iteration.
        self.bytes.next().and_then(|&b| R::from_byte(b))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.bytes.size_hint()
    }
}

impl<R: ReasonCode> ExactSizeIterator for ReasonCodesIter<'_, R> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Section 2.4's table, as (code, packets) with packets in the order CONNACK, PUBACK,
    /// PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT, AUTH.
    const TABLE: &[(u8, [bool; 9])] = &[
        (0x00, [true, true, true, true, true, true, true, true, true]),
        (
            0x01,
            [false, false, false, false, false, true, false, false, false],
        ),
        (
            0x02,
            [false, false, false, false, false, true, false, false, false],
        ),
        (
            0x04,
            [false, false, false, false, false, false, false, true, false],
        ),
        (
            0x10,
            [false, true, true, false, false, false, false, false, false],
        ),
        (
            0x11,
            [false, false, false, false, false, false, true, false, false],
        ),
        (
            0x18,
            [false, false, false, false, false, false, false, false, true],
        ),
        (
            0x19,
            [false, false, false, false, false, false, false, false, true],
        ),
        (
            0x80,
            [true, true, true, false, false, true, true, true, false],
        ),
        (
            0x81,
            [true, false, false, false, false, false, false, true, false],
        ),
        (
            0x82,
            [true, false, false, false, false, false, false, true, false],
        ),
        (
            0x83,
            [true, true, true, false, false, true, true, true, false],
        ),
        (
            0x84,
            [true, false, false, false, false, false, false, false, false],
        ),
        (
            0x85,
            [true, false, false, false, false, false, false, false, false],
        ),
        (
            0x86,
            [true, false, false, false, false, false, false, false, false],
        ),
        (
            0x87,
            [true, true, true, false, false, true, true, true, false],
        ),
        (
            0x88,
            [true, false, false, false, false, false, false, false, false],
        ),
        (
            0x89,
            [true, false, false, false, false, false, false, true, false],
        ),
        (
            0x8A,
            [true, false, false, false, false, false, false, false, false],
        ),
        (
            0x8B,
            [false, false, false, false, false, false, false, true, false],
        ),
        (
            0x8C,
            [true, false, false, false, false, false, false, true, false],
        ),
        (
            0x8D,
            [false, false, false, false, false, false, false, true, false],
        ),
        (
            0x8E,
            [false, false, false, false, false, false, false, true, false],
        ),
        (
            0x8F,
            [false, false, false, false, false, true, true, true, false],
        ),
        (
            0x90,
            [true, true, true, false, false, false, false, true, false],
        ),
        (
            0x91,
            [false, true, true, false, false, true, true, false, false],
        ),
        (
            0x92,
            [false, false, false, true, true, false, false, false, false],
        ),
        (
            0x93,
            [false, false, false, false, false, false, false, true, false],
        ),
        (
            0x94,
            [false, false, false, false, false, false, false, true, false],
        ),
        (
            0x95,
            [true, false, false, false, false, false, false, true, false],
        ),
        (
            0x96,
            [false, false, false, false, false, false, false, true, false],
        ),
        (
            0x97,
            [true, true, true, false, false, true, false, true, false],
        ),
        (
            0x98,
            [false, false, false, false, false, false, false, true, false],
        ),
        (
            0x99,
            [true, true, true, false, false, false, false, true, false],
        ),
        (
            0x9A,
            [true, false, false, false, false, false, false, true, false],
        ),
        (
            0x9B,
            [true, false, false, false, false, false, false, true, false],
        ),
        (
            0x9C,
            [true, false, false, false, false, false, false, true, false],
        ),
        (
            0x9D,
            [true, false, false, false, false, false, false, true, false],
        ),
        (
            0x9E,
            [false, false, false, false, false, true, false, true, false],
        ),
        (
            0x9F,
            [true, false, false, false, false, false, false, true, false],
        ),
        (
            0xA0,
            [false, false, false, false, false, false, false, true, false],
        ),
        (
            0xA1,
            [false, false, false, false, false, true, false, true, false],
        ),
        (
            0xA2,
            [false, false, false, false, false, true, false, true, false],
        ),
    ];

    #[test]
    fn section_2_4_table() {
        for b in 0..=255u8 {
            let row = TABLE.iter().find(|(c, _)| *c == b).map(|(_, r)| *r);
            let row = row.unwrap_or([false; 9]);
            let got = [
                ConnectReasonCode::from_u8(b).is_ok(),
                PubAckReasonCode::from_u8(b).is_ok(),
                PubRecReasonCode::from_u8(b).is_ok(),
                PubRelReasonCode::from_u8(b).is_ok(),
                PubCompReasonCode::from_u8(b).is_ok(),
                SubAckReasonCode::from_u8(b).is_ok(),
                UnsubAckReasonCode::from_u8(b).is_ok(),
                DisconnectReasonCode::from_u8(b).is_ok(),
                AuthReasonCode::from_u8(b).is_ok(),
            ];
            assert_eq!(got, row, "reason code 0x{b:02X}");
        }
        assert_eq!(
            ConnectReasonCode::from_u8(0x8B),
            Err(DecodeError::InvalidConnAckReasonCode)
        );
        assert_eq!(
            PubRelReasonCode::from_u8(0x10),
            Err(DecodeError::InvalidPubRelReasonCode)
        );
        assert!(ConnectReasonCode::Banned.is_error());
        assert!(!PubAckReasonCode::NoMatchingSubscribers.is_error());
    }

    #[test]
    fn code_lists() {
        let codes = SubAckReasonCodes::new(&[0x00, 0x02, 0x9E]).map(|c| c.iter().count());
        assert_eq!(codes, Ok(3));
        assert_eq!(
            SubAckReasonCodes::new(&[]),
            Err(DecodeError::InvalidSubAckCode)
        );
        assert_eq!(
            UnsubAckReasonCodes::new(&[0x11, 0x01]),
            Err(DecodeError::InvalidUnsubAckReasonCode)
        );
    }
}
