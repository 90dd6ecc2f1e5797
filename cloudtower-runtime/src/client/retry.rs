//! Retrying reads after transient failures, as the [`RetryPolicy`] says.

use std::time::Duration;

use super::{ApiRequest, ApiResponse, Client, Secret};
use crate::error::Error;

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

impl Client {
    pub(super) async fn send_with_retries(
        &self,
        request: &ApiRequest,
        authorization: Option<&Secret>,
        endpoint: usize,
    ) -> Result<ApiResponse, Error> {
        let retry = &self.inner.retry;
        let mut attempt = 0;
        loop {
            match self.send(request, authorization, endpoint).await {
                Err(error)
                    if request.is_read() && error.is_retryable() && attempt < retry.max_retries =>
                {
                    let delay = match error.retry_after() {
                        // Coming back sooner than asked would only be refused again.
                        Some(wait) if wait > self.inner.limits.max_retry_after => {
                            return Err(error)
                        }
                        Some(wait) => wait,
                        None => retry.backoff(attempt),
                    };
                    attempt += 1;
                    tracing::Span::current().record("http.request.resend_count", attempt);
                    tracing::warn!(%error, attempt, delay_ms = delay.as_millis() as u64, "retrying");
                    tokio::time::sleep(delay).await;
                }
                result => return result,
            }
        }
    }
}

/// A `Retry-After` header: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub(super) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    // A date in the past means now.
    Some(
        date.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}
