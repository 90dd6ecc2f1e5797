//! Time arithmetic on durations that callers choose, which saturates where `std` panics.
//!
//! A caller's `Duration::MAX` means "wait forever", and a backoff factor of `f64::INFINITY`
//! (or NaN, from a computed factor) means "as slowly as allowed": neither may panic a wait.

use std::time::Duration;

use tokio::time::Instant;

/// About 30 years: what "never" is for a deadline (tokio's own far future).
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// `start + wait`, or a deadline that never comes when that sum does not fit in an `Instant`.
pub fn deadline_after(start: Instant, wait: Duration) -> Instant {
    start
        .checked_add(wait)
        .or_else(|| start.checked_add(FAR_FUTURE))
        .unwrap_or(start)
}

/// The pause after `delay` that grows by `factor` (below 1, or NaN, counts as 1), at most
/// `max`.
pub fn grow(delay: Duration, factor: f64, max: Duration) -> Duration {
    let factor = if factor.is_nan() {
        1.0
    } else {
        factor.max(1.0)
    };
    Duration::try_from_secs_f64(delay.as_secs_f64() * factor)
        .unwrap_or(max)
        .min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_of_forever_does_not_overflow() {
        let now = Instant::now();
        assert!(deadline_after(now, Duration::MAX) > now + Duration::from_secs(86_400 * 365));
        assert_eq!(
            deadline_after(now, Duration::from_secs(1)),
            now + Duration::from_secs(1)
        );
    }

    #[test]
    fn growth_saturates_at_the_maximum_for_any_factor() {
        let max = Duration::from_secs(5);
        let second = Duration::from_secs(1);
        assert_eq!(grow(second, 1.5, max), Duration::from_millis(1500));
        assert_eq!(grow(second, f64::INFINITY, max), max);
        assert_eq!(grow(second, f64::MAX, max), max);
        assert_eq!(grow(second, f64::NAN, max), second);
        assert_eq!(grow(second, -3.0, max), second);
        assert_eq!(grow(Duration::MAX, 2.0, Duration::MAX), Duration::MAX);
    }
}
