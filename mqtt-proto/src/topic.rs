//! Validated topic names and filters, the matcher, and the UTF-8 string rules they share.
use core::fmt;

use crate::DecodeError;

/// Largest length of any string on the wire (a 16-bit length prefix).
pub(crate) const MAX_STRING_LEN: usize = 65_535;

/// A validated topic name: non-empty, valid MQTT UTF-8, no wildcards [MQTT-3.3.2-2, MQTT-4.7.3-1].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicName<'a>(&'a str);

/// A validated topic filter: non-empty, `#` last and alone in its level, `+` alone in its level
/// [MQTT-4.7.1-1/2/3].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicFilter<'a>(&'a str);

/// Whether `bytes` contains any of U+0000, `+`, `#` (returned as a bit set: 1 = NUL,
/// 2 = wildcard). Written without an early exit so the compiler can vectorise it.
#[inline]
fn scan_name(bytes: &[u8]) -> u8 {
    let (mut nul, mut wild) = (false, false);
    for &b in bytes {
        nul |= b == 0;
        wild |= (b == b'+') | (b == b'#');
    }
    (nul as u8) | ((wild as u8) << 1)
}

/// A wire string: well-formed UTF-8 (which excludes surrogates) [MQTT-1.5.3-1] and no U+0000
/// [MQTT-1.5.3-2]. U+FEFF is kept as is [MQTT-1.5.3-3].
#[inline]
pub(crate) fn check_str(bytes: &[u8]) -> Result<&str, DecodeError> {
    let s = core::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)?;
    if scan_name(bytes) & 1 != 0 {
        return Err(DecodeError::NullCharacter);
    }
    Ok(s)
}

/// No U+0000 in a string already known to be UTF-8 [MQTT-1.5.4-2]. Property strings are short
/// (a content type, a user property name), too short for the vectorised loop of
/// [`scan_name`] to pay off: this reads them eight bytes at a time, the last word overlapping
/// the one before it.
#[cfg(feature = "v5")]
#[inline]
pub(crate) fn check_nul(s: &str) -> Result<(), DecodeError> {
    if has_nul(s.as_bytes()) {
        return Err(DecodeError::NullCharacter);
    }
    Ok(())
}

/// Whether `b` holds a 0 byte.
#[cfg(feature = "v5")]
#[inline]
fn has_nul(b: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // Exact as a yes/no test: the lowest 0 byte always sets its high bit here.
    let zero = |x: u64| x.wrapping_sub(LO) & !x & HI != 0;
    match (b.first_chunk::<4>(), b.last_chunk::<4>()) {
        (Some(head), Some(tail)) if b.len() <= 8 => {
            // Four to eight bytes: the first four and the last four (overlapping below 8).
            zero(u64::from(u32::from_le_bytes(*head)) << 32 | u64::from(u32::from_le_bytes(*tail)))
        }
        (Some(_), Some(_)) => {
            let mut rest = b;
            while let Some((word, tail)) = rest.split_first_chunk::<8>() {
                if zero(u64::from_le_bytes(*word)) {
                    return true;
                }
                rest = tail;
            }
            // The last eight bytes, overlapping words already read.
            !rest.is_empty()
                && b.last_chunk::<8>()
                    .is_some_and(|w| zero(u64::from_le_bytes(*w)))
        }
        // Up to three bytes: the first, middle and last cover them all.
        _ => match (b.first(), b.get(b.len() / 2), b.last()) {
            (Some(&x), Some(&y), Some(&z)) => x == 0 || y == 0 || z == 0,
            _ => false,
        },
    }
}

/// The string rules for a string given to the encoder: at most 65,535 bytes, no U+0000.
pub(crate) fn check_encode_str(s: &str) -> Result<(), DecodeError> {
    if s.len() > MAX_STRING_LEN {
        return Err(DecodeError::StringTooLong);
    }
    if s.as_bytes().contains(&0) {
        return Err(DecodeError::NullCharacter);
    }
    Ok(())
}

impl<'a> TopicName<'a> {
    /// Validate a topic name: 1 to 65,535 bytes [MQTT-4.7.3-1, MQTT-4.7.3-3], no U+0000
    /// [MQTT-4.7.3-2], no `+` or `#` [MQTT-3.3.2-2, MQTT-4.7.1-1].
    pub fn new(name: &'a str) -> Result<Self, DecodeError> {
        if name.len() > MAX_STRING_LEN {
            return Err(DecodeError::StringTooLong);
        }
        Self::check_chars(name)?;
        Ok(TopicName(name))
    }

    /// Validate a topic name read from the wire (length already bounded by its prefix).
    #[inline]
    pub(crate) fn from_wire(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let s = core::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)?;
        Self::check_chars(s)?;
        Ok(TopicName(s))
    }

    /// Validate a topic name read from the wire and already known to be UTF-8.
    #[cfg(feature = "v5")]
    #[inline]
    pub(crate) fn from_wire_str(s: &'a str) -> Result<Self, DecodeError> {
        Self::check_chars(s)?;
        Ok(TopicName(s))
    }

    /// A topic name read from bytes that were validated before (iteration over decoded
    /// property lists).
    #[cfg(feature = "v5")]
    pub(crate) fn from_validated(s: &'a str) -> Self {
        TopicName(s)
    }

    #[inline]
    fn check_chars(name: &str) -> Result<(), DecodeError> {
        if name.is_empty() {
            return Err(DecodeError::InvalidTopicName);
        }
        match scan_name(name.as_bytes()) {
            0 => Ok(()),
            2 => Err(DecodeError::InvalidTopicName),
            _ => Err(DecodeError::NullCharacter),
        }
    }

    /// The topic name.
    pub const fn as_str(&self) -> &'a str {
        self.0
    }

    /// Whether the name starts with `$` (a server-specific topic such as `$SYS/...`), which
    /// filters starting with a wildcard do not match [MQTT-4.7.2-1].
    pub fn is_dollar(&self) -> bool {
        self.0.starts_with('$')
    }
}

impl<'a> TryFrom<&'a str> for TopicName<'a> {
    type Error = DecodeError;
    fn try_from(name: &'a str) -> Result<Self, DecodeError> {
        TopicName::new(name)
    }
}

impl AsRef<str> for TopicName<'_> {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl fmt::Display for TopicName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl<'a> TopicFilter<'a> {
    /// Validate a topic filter: 1 to 65,535 bytes [MQTT-4.7.3-1, MQTT-4.7.3-3], no U+0000
    /// [MQTT-4.7.3-2], `#` only as a whole last level [MQTT-4.7.1-2], `+` only as a whole level
    /// [MQTT-4.7.1-3].
    pub fn new(filter: &'a str) -> Result<Self, DecodeError> {
        if filter.len() > MAX_STRING_LEN {
            return Err(DecodeError::StringTooLong);
        }
        if filter.as_bytes().contains(&0) {
            return Err(DecodeError::NullCharacter);
        }
        Self::check_levels(filter)?;
        Ok(TopicFilter(filter))
    }

    /// Validate a filter read from the wire (length already bounded by its prefix).
    pub(crate) fn from_wire(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let s = check_str(bytes)?;
        Self::check_levels(s)?;
        Ok(TopicFilter(s))
    }

    /// A filter read from bytes that were validated before (iteration over decoded lists).
    pub(crate) fn from_validated(s: &'a str) -> Self {
        TopicFilter(s)
    }

    fn check_levels(filter: &str) -> Result<(), DecodeError> {
        if filter.is_empty() {
            return Err(DecodeError::InvalidTopicFilter);
        }
        let mut levels = filter.split('/').peekable();
        while let Some(level) = levels.next() {
            let b = level.as_bytes();
            if b.contains(&b'#') && (b != b"#" || levels.peek().is_some()) {
                return Err(DecodeError::InvalidTopicFilter);
            }
            if b.contains(&b'+') && b != b"+" {
                return Err(DecodeError::InvalidTopicFilter);
            }
        }
        Ok(())
    }

    /// The topic filter.
    pub const fn as_str(&self) -> &'a str {
        self.0
    }

    /// Whether the filter contains `+` or `#`.
    pub fn has_wildcards(&self) -> bool {
        scan_name(self.0.as_bytes()) & 2 != 0
    }

    /// Whether `topic` matches this filter (section 4.7): `+` matches exactly one level, `#`
    /// matches any number of levels including the parent (`sport/#` matches `sport`), and a
    /// filter starting with a wildcard does not match a topic starting with `$` [MQTT-4.7.2-1].
    /// Comparison is byte by byte, without normalisation [MQTT-4.7.3-4].
    ///
    /// ```
    /// use mqtt_proto::{TopicFilter, TopicName};
    /// # fn main() -> Result<(), mqtt_proto::DecodeError> {
    /// let filter = TopicFilter::new("sport/tennis/+")?;
    /// assert!(filter.matches(TopicName::new("sport/tennis/player1")?));
    /// assert!(!filter.matches(TopicName::new("sport/tennis/player1/ranking")?));
    /// assert!(TopicFilter::new("sport/#")?.matches(TopicName::new("sport")?));
    /// assert!(TopicFilter::new("+/+")?.matches(TopicName::new("/finance")?));
    /// assert!(!TopicFilter::new("+")?.matches(TopicName::new("/finance")?));
    /// assert!(!TopicFilter::new("#")?.matches(TopicName::new("$SYS/broker/uptime")?));
    /// # Ok(())
    /// # }
    /// ```
    pub fn matches(&self, topic: TopicName<'_>) -> bool {
        let filter = self.0.as_bytes();
        if topic.is_dollar() && matches!(filter.first(), Some(b'+' | b'#')) {
            return false;
        }
        let mut f_levels = self.0.split('/');
        let mut t_levels = topic.0.split('/');
        loop {
            match (f_levels.next(), t_levels.next()) {
                (Some("#"), _) => return true,
                (Some("+"), Some(_)) => {}
                (Some(f), Some(t)) if f == t => {}
                (None, None) => return true,
                _ => return false,
            }
        }
    }
}

impl<'a> TryFrom<&'a str> for TopicFilter<'a> {
    type Error = DecodeError;
    fn try_from(filter: &'a str) -> Result<Self, DecodeError> {
        TopicFilter::new(filter)
    }
}

impl AsRef<str> for TopicFilter<'_> {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl fmt::Display for TopicFilter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn name(s: &str) -> TopicName<'_> {
        TopicName::new(s).unwrap()
    }

    #[cfg(feature = "v5")]
    #[test]
    fn has_nul_agrees_with_a_plain_search() {
        for len in 0..=40usize {
            let none = [b'a'; 40];
            assert!(!has_nul(&none[..len]), "{len}");
            for at in 0..len {
                let mut b = [0xFFu8; 40];
                b[at] = 0;
                assert!(has_nul(&b[..len]), "{len} {at}");
                assert!(!has_nul(&b[at + 1..len]), "{len} {at}");
            }
        }
    }

    #[test]
    fn topic_name_rules() {
        assert!(TopicName::new("a/b").is_ok());
        assert!(TopicName::new("/").is_ok());
        assert_eq!(TopicName::new(""), Err(DecodeError::InvalidTopicName));
        assert_eq!(TopicName::new("a/+"), Err(DecodeError::InvalidTopicName));
        assert_eq!(TopicName::new("#"), Err(DecodeError::InvalidTopicName));
        assert_eq!(TopicName::new("a\0b"), Err(DecodeError::NullCharacter));
        assert_eq!(
            TopicName::from_wire(b"a\xff"),
            Err(DecodeError::InvalidUtf8)
        );
        // A surrogate encoded as UTF-8 (U+D800) is ill-formed [MQTT-1.5.3-1].
        assert_eq!(
            TopicName::from_wire(b"\xed\xa0\x80"),
            Err(DecodeError::InvalidUtf8)
        );
        // U+FEFF is kept [MQTT-1.5.3-3].
        assert_eq!(
            TopicName::from_wire("\u{feff}a".as_bytes())
                .unwrap()
                .as_str(),
            "\u{feff}a"
        );
        let long = [b'a'; MAX_STRING_LEN + 1];
        let long = core::str::from_utf8(&long).unwrap();
        assert_eq!(TopicName::new(long), Err(DecodeError::StringTooLong));
        assert!(TopicName::new(&long[1..]).is_ok());
    }

    #[test]
    fn topic_filter_rules() {
        for ok in [
            "#",
            "+",
            "+/+",
            "sport/#",
            "sport/+/player1",
            "/",
            "+/tennis/#",
            "a//b",
            "$SYS/#",
        ] {
            assert!(TopicFilter::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "sport/tennis#",
            "sport/tennis/#/ranking",
            "sport+",
            "a/b+/c",
            "##",
            "#/",
        ] {
            assert_eq!(
                TopicFilter::new(bad),
                Err(DecodeError::InvalidTopicFilter),
                "{bad}"
            );
        }
        assert_eq!(TopicFilter::new("a\0"), Err(DecodeError::NullCharacter));
        assert_eq!(
            TopicFilter::from_wire(b"\xc0\x80"),
            Err(DecodeError::InvalidUtf8)
        );
    }

    #[test]
    fn matching() {
        let f = |s| TopicFilter::new(s).unwrap();
        assert!(f("sport/tennis/player1/#").matches(name("sport/tennis/player1")));
        assert!(f("sport/tennis/player1/#").matches(name("sport/tennis/player1/ranking")));
        assert!(f("sport/#").matches(name("sport")));
        assert!(f("sport/tennis/+").matches(name("sport/tennis/player1")));
        assert!(!f("sport/tennis/+").matches(name("sport/tennis/player1/ranking")));
        assert!(!f("sport/+").matches(name("sport")));
        assert!(f("sport/+").matches(name("sport/")));
        assert!(f("+/+").matches(name("/finance")));
        assert!(f("/+").matches(name("/finance")));
        assert!(!f("+").matches(name("/finance")));
        assert!(!f("#").matches(name("$SYS/x")));
        assert!(!f("+/monitor/Clients").matches(name("$SYS/monitor/Clients")));
        assert!(f("$SYS/#").matches(name("$SYS/monitor/Clients")));
        assert!(f("$SYS/monitor/+").matches(name("$SYS/monitor/Clients")));
        assert!(f("#").matches(name("a/b/c")));
        assert!(!f("a/b").matches(name("a/B")));
        assert!(f("a/b").matches(name("a/b")));
    }
}
