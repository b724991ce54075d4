//! The caller's clock: where `now` comes from.

use mqtt_session::Instant;

/// A monotonic millisecond clock supplied by the caller (a hardware timer, `embassy_time`,
/// `std::time::Instant` in tests). The epoch is the caller's choice (boot is typical); the
/// client only compares instants it got from the same clock.
///
/// The client reads it whenever it hands the session an input or a command; nothing depends on
/// how often. A clock that goes backwards is harmless: the session clamps time so it never runs
/// backwards.
///
/// Any `Fn() -> Instant` is a clock:
///
/// ```
/// use mqtt_embedded::{Clock, Instant};
/// let clock = || Instant::from_millis(1234);
/// assert_eq!(clock.now(), Instant::from_millis(1234));
/// ```
pub trait Clock {
    /// The current time.
    fn now(&self) -> Instant;
}

impl<F: Fn() -> Instant> Clock for F {
    fn now(&self) -> Instant {
        self()
    }
}
