//! Per-call options: what a [`Client`] clone changes about its calls (`with_language`,
//! `with_timeout`, `with_call_timeout`, `with_retry_policy`, `with_locked_retry`,
//! `with_header_parameter`), kept as one value beside the shared state.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderValue;

use super::{ApiRequest, Client, Language, LockedRetry, RetryPolicy};
use crate::error::{ConstructionError, Error};

/// What a client's calls are sent with, besides what the client shares with its clones.
#[derive(Clone, Debug)]
pub(super) struct CallOptions {
    /// `content-language` (`with_language`, the builder's `content_language`).
    pub(super) language: Option<Language>,
    /// Replaces the builder's per-attempt timeout (`with_timeout`).
    pub(super) attempt_timeout: Option<Duration>,
    /// Bounds each call as a whole (`with_call_timeout`).
    pub(super) call_timeout: Option<Duration>,
    /// Replaces the builder's retry policy for reads (`with_retry_policy`).
    pub(super) retry: Option<RetryPolicy>,
    /// Waits out `ResourceLocked` refusals (`with_locked_retry`, the builder's
    /// `retry_locked`).
    pub(super) locked_retry: Option<LockedRetry>,
    /// Sent with each call (`with_header_parameter`).
    pub(super) header_parameters: Arc<[(&'static str, String)]>,
    /// Whether a 401 starts a re-login. Off for the calls an [`Authenticator`] makes while
    /// logging in, so that a 401 then is reported instead of starting another login.
    ///
    /// [`Authenticator`]: super::Authenticator
    pub(super) relogin_on_401: bool,
}

impl CallOptions {
    pub(super) fn new(language: Option<Language>, locked_retry: Option<LockedRetry>) -> Self {
        CallOptions {
            language,
            attempt_timeout: None,
            call_timeout: None,
            retry: None,
            locked_retry,
            header_parameters: Arc::from([]),
            relogin_on_401: true,
        }
    }

    /// The header parameters `request` goes with: the client's, then the call's own (which
    /// win), checked against what the operation takes. Computed once per call.
    pub(super) fn header_parameters_for(
        &self,
        request: &ApiRequest,
    ) -> Result<Vec<(&'static str, HeaderValue)>, Error> {
        // The pipeline names the operation.
        let refuse =
            |header, reason| Error::from(ConstructionError::HeaderParameter { header, reason });
        let mut headers: Vec<(&'static str, &str)> = Vec::new();
        for (name, value) in self.header_parameters.iter().chain(&request.headers) {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            headers.push((name, value));
        }
        if let Some(info) = request.info {
            if let Some((name, _)) = headers.iter().find(|(n, _)| !info.takes_header(n)) {
                return Err(refuse(
                    name,
                    "the operation does not take it in this API version",
                ));
            }
            if let Some(missing) = info.headers.iter().find(|h| {
                h.required && !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(h.name))
            }) {
                return Err(refuse(missing.name, "the operation requires it"));
            }
        }
        headers
            .into_iter()
            .map(|(name, value)| {
                HeaderValue::from_str(value)
                    .map(|value| (name, value))
                    .map_err(|_| refuse(name, "the value cannot be sent in a header"))
            })
            .collect()
    }
}

impl Client {
    /// This client with `change` made to its call options; the session, connections and
    /// policies stay shared.
    fn with_options(&self, change: impl FnOnce(&mut CallOptions)) -> Client {
        let mut client = self.clone();
        change(&mut client.options);
        client
    }

    /// The same client (same session and connections) sending `content-language: language`.
    #[must_use]
    pub fn with_language(&self, language: Language) -> Client {
        self.with_options(|o| o.language = Some(language))
    }

    /// The same client (same session and connections) whose calls may each take up to
    /// `timeout` instead of the builder's (long uploads, slow reports).
    #[must_use]
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        self.with_options(|o| o.attempt_timeout = Some(timeout))
    }

    /// The same client (same session and connections) whose calls each end within `timeout`
    /// as a whole, with [`CallTimeout`](crate::error::CallTimeout): every attempt, the waits between retries and
    /// logging in again included. The builder's [`timeout`](super::ClientBuilder::timeout)
    /// (or [`with_timeout`](Self::with_timeout)) still bounds each attempt. Dropping the call
    /// at the deadline is what a `tokio::time::timeout` around it would do; this one says
    /// which operation, and composes with every method: `client.with_call_timeout(d).get_vms(&r)`.
    #[must_use]
    pub fn with_call_timeout(&self, timeout: Duration) -> Client {
        self.with_options(|o| o.call_timeout = Some(timeout))
    }

    /// The same client (same session and connections) retrying its reads after transient
    /// failures as `policy` says, instead of as the builder's
    /// [`retry_policy`](super::ClientBuilder::retry_policy) does (`RetryPolicy::none()` for
    /// a caller that retries itself).
    #[must_use]
    pub fn with_retry_policy(&self, policy: RetryPolicy) -> Client {
        self.with_options(|o| o.retry = Some(policy))
    }

    /// The same client (same session and connections) whose calls refused with
    /// `ResourceLocked` are sent again as `policy` says.
    #[must_use]
    pub fn with_locked_retry(&self, policy: LockedRetry) -> Client {
        self.with_options(|o| o.locked_retry = Some(policy))
    }

    /// The same client, reporting `ResourceLocked` refusals at once (the default).
    #[must_use]
    pub fn without_locked_retry(&self) -> Client {
        self.with_options(|o| o.locked_retry = None)
    }

    /// The same client (same session and connections) sending the header parameter `name:
    /// value` with each of its calls, e.g. `external-cloudtower-id` (CloudTower 4.8.0 and
    /// later), which makes every call act on another CloudTower that this one manages; the
    /// generated client names it (`Client::with_external_cloudtower_id`). A call of an
    /// operation whose table entry does not take the header is refused before anything is
    /// sent ([`ConstructionError::HeaderParameter`]), never sent without it.
    #[must_use]
    pub fn with_header_parameter(&self, name: &'static str, value: impl Into<String>) -> Client {
        let value = value.into();
        self.with_options(|o| {
            let mut headers: Vec<(&'static str, String)> = o
                .header_parameters
                .iter()
                .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
                .cloned()
                .collect();
            headers.push((name, value));
            o.header_parameters = headers.into();
        })
    }

    /// The header parameters this client sends with each call.
    pub fn header_parameters(&self) -> &[(&'static str, String)] {
        &self.options.header_parameters
    }

    /// This client, reporting a 401 instead of logging in again (for logging in itself).
    pub(crate) fn without_reauthentication(&self) -> Client {
        self.with_options(|o| o.relogin_on_401 = false)
    }
}
