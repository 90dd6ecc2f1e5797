//! Retrying reads after transient failures, as the [`RetryPolicy`] says.

use std::time::Duration;

use super::ApiRequest;

/// How reads (`get-*` operations) are retried after transient failures: connection errors,
/// timeouts and HTTP 502/503/504. Mutations are never retried: CloudTower mutations are not
/// idempotent, and a repeated `create-vm` makes a second VM.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// The delay before the first retry; it doubles at every retry.
    pub initial_backoff: Duration,
    /// The longest delay between two attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The delay before retry number `retry` (0-based): exponential, with the upper half
    /// jittered so that many clients failing together do not come back together.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let exponential = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.max_backoff);
        exponential / 2 + exponential.mul_f64(fastrand::f64() / 2.0)
    }
}

/// The retries of one call's reads: how many were made, and when the next is due.
pub(super) struct ReadRetries<'a> {
    policy: &'a RetryPolicy,
    // The longest `Retry-After` worth waiting for (`ClientBuilder::max_retry_after`).
    max_retry_after: Duration,
    made: u32,
}

impl<'a> ReadRetries<'a> {
    pub(super) fn new(policy: &'a RetryPolicy, max_retry_after: Duration) -> Self {
        ReadRetries {
            policy,
            max_retry_after,
            made: 0,
        }
    }

    /// The wait before sending `request` again after a transient failure (whose answer asked
    /// to wait `retry_after`), or `None` when it is not sent again: a mutation (CloudTower
    /// mutations are not idempotent), no retry left, or a `Retry-After` longer than the
    /// client waits (coming back sooner than asked would only be refused again).
    pub(super) fn next(
        &mut self,
        request: &ApiRequest,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if !request.is_read() || self.made >= self.policy.max_retries {
            return None;
        }
        let delay = match retry_after {
            Some(wait) if wait > self.max_retry_after => return None,
            Some(wait) => wait,
            None => self.policy.backoff(self.made),
        };
        self.made += 1;
        Some(delay)
    }

    /// How many retries were made.
    pub(super) fn made(&self) -> u32 {
        self.made
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_calls_read_retries_stop_at_the_policy_and_at_a_long_retry_after() {
        let policy = RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(150),
        };
        let read = ApiRequest::empty("get-vms").read();
        let mut retries = ReadRetries::new(&policy, Duration::from_secs(5));
        let first = retries.next(&read, None).unwrap();
        assert!((Duration::from_millis(50)..=Duration::from_millis(100)).contains(&first));
        assert_eq!(
            retries.next(&read, Some(Duration::from_secs(5))),
            Some(Duration::from_secs(5))
        );
        assert_eq!(retries.next(&read, None), None, "two retries made");
        assert_eq!(retries.made(), 2);

        let mut retries = ReadRetries::new(&policy, Duration::from_secs(5));
        assert_eq!(retries.next(&read, Some(Duration::from_secs(6))), None);
        let mutation = ApiRequest::empty("update-vm");
        assert_eq!(retries.next(&mutation, None), None);
    }
}
