//! Deadlines that cannot overflow, and the wait before a reconnect attempt (exponential
//! backoff with jitter).

use std::time::{Duration, Instant};

use super::random_u64;
use crate::options::Reconnect;

/// `now + d`, saturating far in the future instead of panicking on overflow (a caller may
/// pass `Duration::MAX` for "no limit").
pub(crate) fn deadline_after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(now)
}

/// The wait before reconnect attempt `failures + 1`: `initial * 2^failures` capped at `max`,
/// times a random factor in [0.5, 1.0].
pub(crate) fn backoff(policy: Reconnect, failures: u32) -> Duration {
    let base = policy
        .initial
        .saturating_mul(1u32 << failures.min(16))
        .min(policy.max);
    let jitter = 0.5 + (random_u64() % 1_000) as f64 / 2_000.0;
    Duration::try_from_secs_f64(base.as_secs_f64() * jitter).unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_max_with_jitter() {
        let p = Reconnect {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        for failures in 0..40 {
            let d = backoff(p, failures);
            let base = Duration::from_millis(100)
                .saturating_mul(1 << failures.min(16))
                .min(Duration::from_secs(1));
            assert!(d >= base / 2 && d <= base, "{failures}: {d:?} vs {base:?}");
        }
        // Absurd policies do not panic.
        let huge = Reconnect {
            initial: Duration::MAX,
            max: Duration::MAX,
        };
        for failures in [0, 1, 40, u32::MAX] {
            let _ = backoff(huge, failures);
        }
        assert!(deadline_after(Duration::MAX) > Instant::now());
    }
}
