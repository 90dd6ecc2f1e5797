//! Waiting out `ResourceLocked`: since CloudTower 3.3.0 a mutation on a resource that another
//! task is changing is refused (HTTP 400, code `ResourceLocked`) before it has any effect, so
//! it can be sent again once that task ends. Opt-in: a caller may rather report the refusal.

use std::time::Duration;

use super::RetryPolicy;
use crate::error::Error;
use crate::time::deadline_after;

/// How a call refused with `ResourceLocked` is sent again: after a backoff, at most
/// `retries.max_retries` more times and within `timeout` in all. No other error is retried
/// by it. Set it on the builder ([`ClientBuilder::retry_locked`](super::ClientBuilder::retry_locked))
/// or per call ([`Client::with_locked_retry`](super::Client::with_locked_retry)).
#[derive(Clone, Debug, PartialEq)]
pub struct LockedRetry {
    /// How many times, and the backoff between times (jittered, doubling).
    pub retries: RetryPolicy,
    /// The longest the waiting may take, from the first refusal; a retry that would start
    /// later is not made and the refusal is returned.
    pub timeout: Duration,
}

impl Default for LockedRetry {
    /// Up to 30 retries, 1 s doubling to 15 s apart, within 5 minutes: a VM's configuration
    /// change or snapshot usually holds its lock for seconds to a minute or two.
    fn default() -> Self {
        LockedRetry {
            retries: RetryPolicy {
                max_retries: 30,
                initial_backoff: Duration::from_secs(1),
                max_backoff: Duration::from_secs(15),
            },
            timeout: Duration::from_secs(5 * 60),
        }
    }
}

/// The lock waits of one call: the policy, when the first refusal came, how many retries.
pub(super) struct LockWaits<'a> {
    policy: Option<&'a LockedRetry>,
    deadline: Option<tokio::time::Instant>,
    made: u32,
}

impl<'a> LockWaits<'a> {
    /// `None`: refusals are reported at once.
    pub(super) fn new(policy: Option<&'a LockedRetry>) -> Self {
        LockWaits {
            policy,
            deadline: None,
            made: 0,
        }
    }

    /// The wait before sending the call again after the `ResourceLocked` refusal `error`,
    /// or `None` when the refusal is the answer (no policy, no retry left, or the retry
    /// would start past the policy's timeout).
    pub(super) fn next(&mut self, error: &Error) -> Option<Duration> {
        let policy = self.policy?;
        let now = tokio::time::Instant::now();
        let deadline = *self
            .deadline
            .get_or_insert_with(|| deadline_after(now, policy.timeout));
        let delay = policy.retries.backoff(self.made);
        if self.made >= policy.retries.max_retries || deadline_after(now, delay) > deadline {
            return None;
        }
        self.made += 1;
        tracing::info!(
            retry = self.made,
            delay_ms = delay.as_millis() as u64,
            locked = ?error.locked_resources(),
            "resource locked by another task; trying again"
        );
        Some(delay)
    }
}
