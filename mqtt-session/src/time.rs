//! The session's notion of time: milliseconds from an epoch the caller chooses.

use core::time::Duration;

/// A point in time: milliseconds since an epoch chosen by the caller (boot, process start, the
/// Unix epoch: anything monotonic). The session never reads a clock; every `handle_*` and
/// `poll_transmit` call takes `now`.
///
/// A `now` earlier than one the session has already seen is clamped to the latest one, so time
/// going backwards never panics and never fires a timer early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The epoch itself.
    pub const ZERO: Instant = Instant(0);

    /// `ms` milliseconds after the epoch.
    #[inline]
    pub const fn from_millis(ms: u64) -> Self {
        Instant(ms)
    }

    /// `s` seconds after the epoch (saturating).
    #[inline]
    pub const fn from_secs(s: u64) -> Self {
        Instant(s.saturating_mul(1000))
    }

    /// Milliseconds since the epoch.
    #[inline]
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at the end of time.
    #[inline]
    pub fn saturating_add(self, d: Duration) -> Self {
        Instant(self.0.saturating_add(duration_millis(d)))
    }

    /// Time elapsed from `earlier` to `self`; zero if `earlier` is later.
    #[inline]
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl core::ops::Add<Duration> for Instant {
    type Output = Instant;
    /// Saturating addition.
    fn add(self, d: Duration) -> Instant {
        self.saturating_add(d)
    }
}

/// Whole milliseconds of `d`, saturating at `u64::MAX`.
#[inline]
pub(crate) fn duration_millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
