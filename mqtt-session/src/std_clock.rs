//! Time for drivers on `std` (feature `std`): [`StdClock`] maps `std::time::Instant` to the
//! session's [`Instant`] and back, and [`read_timeout`] turns the session's next deadline into
//! a timeout for a blocking read.

use core::time::Duration;
use std::time::Instant as StdInstant;

use crate::time::{Instant, duration_millis};

/// The shortest timeout [`read_timeout`] returns: `std` refuses a zero read timeout
/// (`TcpStream::set_read_timeout(Some(Duration::ZERO))` is an error), so "now" waits this long.
const MIN_READ_TIMEOUT: Duration = Duration::from_millis(1);

/// A clock for a [`Session`](crate::Session) over the monotonic `std::time::Instant` (feature
/// `std`). The session's [`Instant`] is the whole milliseconds elapsed since the clock's
/// epoch, the moment [`StdClock::new`] made it; keep one clock for the life of a session, since
/// the session's deadlines are counted from that epoch.
///
/// ```
/// use std::time::Duration;
/// use mqtt_session::{Instant, StdClock};
///
/// let clock = StdClock::new();
/// let t = clock.epoch() + Duration::from_millis(1_500);
/// assert_eq!(clock.instant_of(t), Instant::from_millis(1_500));
/// assert_eq!(clock.std_instant_of(Instant::from_millis(1_500)), Some(t));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StdClock {
    epoch: StdInstant,
}

impl StdClock {
    /// A clock whose epoch is now.
    pub fn new() -> Self {
        StdClock::with_epoch(StdInstant::now())
    }

    /// A clock whose epoch is `epoch`.
    pub fn with_epoch(epoch: StdInstant) -> Self {
        StdClock { epoch }
    }

    /// The `std` instant that is [`Instant::ZERO`] for this clock.
    pub fn epoch(&self) -> StdInstant {
        self.epoch
    }

    /// The present, as the session counts time: pass it as `now` to every `handle_*`,
    /// `poll_transmit` and command call.
    pub fn now(&self) -> Instant {
        self.instant_of(StdInstant::now())
    }

    /// The session's instant for `t`: the whole milliseconds from the epoch to `t`, rounded
    /// down (so it is never later than `t`, and a timer is never handled early); the epoch for a
    /// `t` before it.
    pub fn instant_of(&self, t: StdInstant) -> Instant {
        Instant::from_millis(duration_millis(t.saturating_duration_since(self.epoch)))
    }

    /// The `std` instant of the session's instant `at` (a deadline from
    /// [`Session::poll_timeout`](crate::Session::poll_timeout), say): the epoch plus `at`'s
    /// milliseconds. `None` if the platform cannot represent it (a deadline millions of years
    /// away).
    pub fn std_instant_of(&self, at: Instant) -> Option<StdInstant> {
        self.epoch
            .checked_add(Duration::from_millis(at.as_millis()))
    }

    /// [`read_timeout`] from the present: `read_timeout(self.now(), deadline)`.
    pub fn read_timeout(&self, deadline: Option<Instant>) -> Option<Duration> {
        read_timeout(self.now(), deadline)
    }
}

impl Default for StdClock {
    /// [`StdClock::new`].
    fn default() -> Self {
        StdClock::new()
    }
}

/// The read timeout that wakes a blocking read at `deadline` (usually
/// [`Session::poll_timeout`](crate::Session::poll_timeout)), for
/// `std::net::TcpStream::set_read_timeout` and the like (feature `std`).
///
/// `None` for no deadline (block until data comes). Otherwise the time from `now` to
/// `deadline`, and never less than 1 ms: a deadline that is now or already past (the session has
/// work to do at once) gives `Some(1 ms)`, never `Some(Duration::ZERO)`, which
/// `set_read_timeout` refuses with an error. With `now` from [`StdClock::now`] (rounded down)
/// the read never wakes before the deadline.
///
/// ```
/// use std::time::Duration;
/// use mqtt_session::{Instant, read_timeout};
///
/// let now = Instant::from_millis(1_000);
/// assert_eq!(read_timeout(now, None), None);
/// assert_eq!(read_timeout(now, Some(Instant::from_millis(1_250))), Some(Duration::from_millis(250)));
/// assert_eq!(read_timeout(now, Some(now)), Some(Duration::from_millis(1)));
/// ```
pub fn read_timeout(now: Instant, deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|at| at.saturating_duration_since(now).max(MIN_READ_TIMEOUT))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn instant_of_counts_whole_milliseconds_from_the_epoch() {
        let clock = StdClock::new();
        let epoch = clock.epoch();
        assert_eq!(clock.instant_of(epoch), Instant::ZERO);
        let t = epoch + Duration::from_micros(1_500_999);
        assert_eq!(clock.instant_of(t), Instant::from_millis(1_500));
        let t = epoch + Duration::from_secs(86_400);
        assert_eq!(clock.instant_of(t), Instant::from_secs(86_400));
    }

    #[test]
    fn an_instant_before_the_epoch_is_the_epoch() {
        let earlier = StdInstant::now();
        let clock = StdClock::with_epoch(earlier + Duration::from_secs(10));
        assert_eq!(clock.instant_of(earlier), Instant::ZERO);
    }

    #[test]
    fn std_instant_of_is_the_reverse_of_instant_of() {
        let clock = StdClock::new();
        for ms in [0, 1, 999, 30_020, 86_400_000] {
            let at = Instant::from_millis(ms);
            let t = clock.std_instant_of(at).unwrap();
            assert_eq!(t, clock.epoch() + Duration::from_millis(ms));
            assert_eq!(clock.instant_of(t), at);
        }
    }

    #[test]
    fn now_is_never_before_an_earlier_reading() {
        let clock = StdClock::new();
        let before = StdInstant::now();
        let now = clock.now();
        assert!(now >= clock.instant_of(before));
        assert_eq!(StdClock::with_epoch(before).epoch(), before);
    }

    #[test]
    fn read_timeout_without_deadline_blocks() {
        assert_eq!(read_timeout(Instant::from_millis(5), None), None);
        assert_eq!(StdClock::default().read_timeout(None), None);
    }

    #[test]
    fn read_timeout_waits_until_the_deadline() {
        let now = Instant::from_millis(10_000);
        for wait in [1, 2, 999, 30_000] {
            let deadline = Instant::from_millis(10_000 + wait);
            assert_eq!(
                read_timeout(now, Some(deadline)),
                Some(Duration::from_millis(wait))
            );
        }
    }

    #[test]
    fn read_timeout_is_never_zero() {
        let now = Instant::from_millis(10_000);
        for at in [0, 1, 9_999, 10_000] {
            let timeout = read_timeout(now, Some(Instant::from_millis(at)));
            assert_eq!(timeout, Some(Duration::from_millis(1)));
        }
        // A clock's deadline of its own epoch is always due.
        let clock = StdClock::new();
        assert_eq!(
            clock.read_timeout(Some(Instant::ZERO)),
            Some(Duration::from_millis(1))
        );
    }

    #[test]
    fn a_due_deadline_is_accepted_by_set_read_timeout() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let now = Instant::from_millis(7);
        assert!(stream.set_read_timeout(Some(Duration::ZERO)).is_err());
        stream
            .set_read_timeout(read_timeout(now, Some(now)))
            .unwrap();
        // The system may round the timeout up (to its timer tick), never down to zero.
        let set = stream.read_timeout().unwrap().unwrap();
        assert!(set >= Duration::from_millis(1));
    }
}
