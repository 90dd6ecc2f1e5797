//! Waiting out `ResourceLocked`: since CloudTower 3.3.0 a mutation on a resource that another
//! task is changing is refused (HTTP 400, code `ResourceLocked`) before it has any effect, so
//! it can be sent again once that task ends. Opt-in: a caller may rather report the refusal.

use std::time::Duration;

use super::{ApiRequest, ApiResponse, Client, RetryPolicy};
use crate::error::Error;
use crate::time::deadline_after;

/// How a call refused with `ResourceLocked` is sent again: after a backoff, at most
/// `retries.max_retries` more times and within `timeout` in all. No other error is retried
/// by it. Set it on the builder ([`ClientBuilder::retry_locked`](super::ClientBuilder::retry_locked))
/// or per call ([`Client::with_locked_retry`]).
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

impl Client {
    /// The same client (same session and connections) whose calls refused with
    /// `ResourceLocked` are sent again as `policy` says.
    #[must_use]
    pub fn with_locked_retry(&self, policy: LockedRetry) -> Client {
        Client {
            locked_retry: Some(policy),
            ..self.clone()
        }
    }

    /// The same client, reporting `ResourceLocked` refusals at once (the default).
    #[must_use]
    pub fn without_locked_retry(&self) -> Client {
        Client {
            locked_retry: None,
            ..self.clone()
        }
    }

    /// Sends `request`, and again after a `ResourceLocked` refusal when the policy says so.
    pub(super) async fn send_waiting_out_locks(
        &self,
        request: &ApiRequest,
    ) -> Result<ApiResponse, Error> {
        let Some(policy) = &self.locked_retry else {
            return self.send_authenticated(request).await;
        };
        let mut deadline = None;
        let mut retry = 0;
        loop {
            let error = match self.send_authenticated(request).await {
                Err(error) if error.is_resource_locked() => error,
                result => return result,
            };
            let now = tokio::time::Instant::now();
            let deadline = *deadline.get_or_insert_with(|| deadline_after(now, policy.timeout));
            let delay = policy.retries.backoff(retry);
            if retry >= policy.retries.max_retries || deadline_after(now, delay) > deadline {
                return Err(error);
            }
            retry += 1;
            tracing::info!(
                retry,
                delay_ms = delay.as_millis() as u64,
                locked = ?error.locked_resources(),
                "resource locked by another task; trying again"
            );
            tokio::time::sleep(delay).await;
        }
    }
}
