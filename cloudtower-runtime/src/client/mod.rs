//! The client and its transport: every generated method ends in [`Client::execute`].
//!
//! Logging in, task waiting and pagination live in modules of their own and reach the
//! transport through [`Client::execute`] and the [`Authenticator`] hook. This module holds the
//! client and the steps of one call; its parts, one job each:
//!
//! - `builder`: [`ClientBuilder`], from settings to a client;
//! - `session`: the token, [`Secret`], [`Authenticator`] and logging in again after a 401;
//! - `retry`: [`RetryPolicy`] and retrying reads after transient failures;
//! - `transport`: one attempt: the HTTP exchange and reading its body within the limits;
//! - `request`: [`ApiRequest`] and [`ApiResponse`], a call as generated methods describe it;
//! - `endpoints`: which endpoint of an active/passive pair is active, and failing over;
//! - `version`: the tower's version, and refusing calls to operations it predates;
//! - `locked`: waiting out `ResourceLocked` refusals, when asked to;
//! - `middleware`: the `tower` service stack every HTTP exchange goes through.

mod builder;
mod endpoints;
mod locked;
mod middleware;
mod request;
mod retry;
mod session;
mod transport;
mod version;

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tracing::Instrument;

use crate::codec;
use crate::error::Error;

pub use builder::ClientBuilder;
pub(crate) use endpoints::describe as describe_answers;
pub use endpoints::{EndpointAnswer, EndpointHealth, FailoverStrategy};
pub use locked::LockedRetry;
pub use middleware::{BoxError, HttpService};
pub use request::{ApiRequest, ApiResponse, FilePart, MultipartField};
pub use retry::RetryPolicy;
pub use session::{Authenticator, Secret};
pub use version::ServerVersion;

use endpoints::Endpoints;
use request::RequestBody;
use session::{Relogins, Session};
use version::KnownVersion;

/// A CloudTower API client. Cheap to clone and safe to share across tasks: clones share the
/// connection pool and the session (token), while two clients built separately never do.
///
/// ```no_run
/// # async fn demo() -> Result<(), cloudtower_api::Error> {
/// use std::time::Duration;
/// use cloudtower_api::{Client, Language};
///
/// let client = Client::builder("https://tower.example.com")
///     .content_language(Language::EnUs)
///     .timeout(Duration::from_secs(30))
///     .api_key("my-api-key")
///     .build()?;
/// // The same session, with Chinese messages for these calls only.
/// let zh = client.with_language(Language::ZhCn);
/// # let _ = zh; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    language: Option<Language>,
    // False only for the clone handed to the `Authenticator`, so that a 401 while logging in
    // is reported instead of starting another login.
    reauthenticate: bool,
    // Replaces the builder's timeout for this clone's calls (`with_timeout`).
    timeout: Option<Duration>,
    // Bounds each of this clone's calls as a whole (`with_call_timeout`).
    call_timeout: Option<Duration>,
    // Waits out `ResourceLocked` refusals (`with_locked_retry`, the builder's `retry_locked`).
    locked_retry: Option<LockedRetry>,
    // Header parameters sent with each of this clone's calls (`with_header_parameter`).
    header_parameters: Arc<[(&'static str, String)]>,
}

struct Inner {
    http: reqwest::Client,
    // `http`, inside the user's layers if any: what every exchange goes through.
    exchange: middleware::Exchange,
    endpoints: Endpoints,
    version: RwLock<KnownVersion>,
    retry: RetryPolicy,
    session: RwLock<Session>,
    authenticator: RwLock<Option<Arc<dyn Authenticator>>>,
    // Held while logging in again, so that concurrent 401s share one login; keeps the last
    // failed login, which the calls waiting on it and those until the next attempt share.
    relogin: tokio::sync::Mutex<Relogins>,
    limits: Limits,
}

/// The bounds a client puts on what a server can make it do; see the `ClientBuilder` setters.
#[derive(Clone, Debug)]
struct Limits {
    max_response_bytes: u64,
    max_error_body_bytes: u64,
    max_retry_after: Duration,
    relogin_backoff: Duration,
    max_relogin_backoff: Duration,
    // How answers are decoded (`max_decode_depth`, `max_decode_alloc_ratio`).
    decode: codec::DecodeOptions,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_error_body_bytes: DEFAULT_MAX_ERROR_BODY_BYTES,
            max_retry_after: Duration::from_secs(60),
            relogin_backoff: Duration::from_secs(30),
            max_relogin_backoff: Duration::from_secs(15 * 60),
            decode: codec::DecodeOptions::default(),
        }
    }
}

/// The default limit on a response body: 256 MiB, over ten times the largest real answer
/// (`get-vms` for 10,000 VMs is about 22 MB). With the decode budget
/// ([`ClientBuilder::max_decode_alloc_ratio`]) it bounds what one answer can make a client
/// hold: the body, and what it decodes into, proportional to the body.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;

/// The default limit on an error answer's body: 64 KiB. CloudTower's `ErrorBody` is a few
/// hundred bytes; longer error bodies (a proxy's HTML page) are cut there.
pub const DEFAULT_MAX_ERROR_BODY_BYTES: u64 = 64 * 1024;

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let authenticated = self.session().0.is_some();
        f.debug_struct("Client")
            .field("base_url", &self.base_url())
            .field("language", &self.language)
            .field("authenticated", &authenticated)
            .finish_non_exhaustive()
    }
}

/// The language of CloudTower's messages (the `content-language` header).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Language {
    /// `en-US`
    EnUs,
    /// `zh-CN`
    ZhCn,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::EnUs => "en-US",
            Language::ZhCn => "zh-CN",
        }
    }
}

impl Client {
    /// Starts configuring a client for the tower at `endpoint` (`https://tower.example.com`;
    /// `/v2/api` is appended unless the endpoint already ends with it).
    pub fn builder(endpoint: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(endpoint)
    }

    /// A client with the default settings for the tower at `endpoint`.
    pub fn new(endpoint: &str) -> Result<Self, Error> {
        Client::builder(endpoint).build()
    }

    /// The API base URL (`https://tower.example.com/v2/api`) of the active endpoint, or of
    /// the first one configured while none is known to be active.
    pub fn base_url(&self) -> &str {
        let endpoints = &self.inner.endpoints;
        endpoints.base_url(endpoints.active_index().unwrap_or(0))
    }

    /// The same client (same session and connections) sending `content-language: language`.
    #[must_use]
    pub fn with_language(&self, language: Language) -> Client {
        Client {
            language: Some(language),
            ..self.clone()
        }
    }

    /// The same client (same session and connections) whose calls may each take up to
    /// `timeout` instead of the builder's (long uploads, slow reports).
    #[must_use]
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client {
            timeout: Some(timeout),
            ..self.clone()
        }
    }

    /// The same client (same session and connections) whose calls each end within `timeout`
    /// as a whole, with [`Error::TimedOut`]: every attempt, the waits between retries and
    /// logging in again included. The builder's [`timeout`](ClientBuilder::timeout) (or
    /// [`with_timeout`](Self::with_timeout)) still bounds each attempt. Dropping the call at
    /// the deadline is what a `tokio::time::timeout` around it would do; this one says which
    /// operation, and composes with every method: `client.with_call_timeout(d).get_vms(&r)`.
    #[must_use]
    pub fn with_call_timeout(&self, timeout: Duration) -> Client {
        Client {
            call_timeout: Some(timeout),
            ..self.clone()
        }
    }

    /// The same client (same session and connections) sending the header parameter `name:
    /// value` with each of its calls, e.g. `external-cloudtower-id` (CloudTower 4.8.0 and
    /// later), which makes every call act on another CloudTower that this one manages; the
    /// generated client names it (`Client::with_external_cloudtower_id`). A call of an
    /// operation whose table entry does not take the header is refused before anything is
    /// sent ([`Error::HeaderParameter`]), never sent without it.
    #[must_use]
    pub fn with_header_parameter(&self, name: &'static str, value: impl Into<String>) -> Client {
        let value = value.into();
        let mut headers: Vec<(&'static str, String)> = self
            .header_parameters
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
            .cloned()
            .collect();
        headers.push((name, value));
        Client {
            header_parameters: headers.into(),
            ..self.clone()
        }
    }

    /// The header parameters this client sends with each call.
    pub fn header_parameters(&self) -> &[(&'static str, String)] {
        &self.header_parameters
    }

    /// The header parameters `request` goes with: the client's, then the call's own (which
    /// win), checked against what the operation takes.
    fn header_parameters_for(
        &self,
        request: &ApiRequest,
    ) -> Result<Vec<(&'static str, reqwest::header::HeaderValue)>, Error> {
        let refuse = |header, reason| Error::HeaderParameter {
            operation: request.operation,
            header,
            reason,
        };
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
                reqwest::header::HeaderValue::from_str(value)
                    .map(|value| (name, value))
                    .map_err(|_| refuse(name, "the value cannot be sent in a header"))
            })
            .collect()
    }

    /// Sends one request and returns the successful (2xx or 304) response: refuses it when
    /// the tower's version predates the operation, sends it to the active endpoint (failing
    /// over when that is no longer it), retries reads after transient failures, logs in again
    /// once after a 401 when it can, and waits out `ResourceLocked` when told to.
    #[doc(hidden)]
    pub async fn execute(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        // Field names as OpenTelemetry's HTTP client conventions name them.
        let span = tracing::debug_span!(
            "cloudtower",
            operation = request.operation,
            "http.request.method" = request.method(),
            "server.address" = tracing::field::Empty,
            "server.port" = tracing::field::Empty,
            "url.full" = tracing::field::Empty,
            "http.request.resend_count" = tracing::field::Empty,
            "http.response.status_code" = tracing::field::Empty,
            "http.response.header.x-tower-request-id" = tracing::field::Empty,
            "error.type" = tracing::field::Empty,
        );
        let operation = request.operation;
        let call = async {
            if let RequestBody::Refused(source) = &request.body {
                return Err(Error::Encode {
                    operation: request.operation,
                    source: source.clone(),
                });
            }
            // An operation some published versions lack, on a tower whose version nobody
            // asked yet (a client given a token or an API key): ask once, so that a tower
            // too old for it is refused before sending, as after a sign-in.
            let needs_version = request.since.is_some_and(|s| s.last_absent.is_some());
            if needs_version && !self.version_was_asked() {
                self.learn_server_version_before_a_call().await;
            }
            self.check_available(&request)?;
            self.header_parameters_for(&request)?;
            let result = self.send_waiting_out_locks(&request).await;
            if let Err(error) = &result {
                tracing::Span::current().record("error.type", error.kind());
            }
            result
        };
        match self.call_timeout {
            None => call.instrument(span).await,
            Some(timeout) => tokio::time::timeout(timeout, call)
                .instrument(span)
                .await
                .unwrap_or(Err(Error::TimedOut { operation, timeout })),
        }
    }

    /// One call with the session's credentials, logging in again once after a 401.
    async fn send_authenticated(&self, request: &ApiRequest) -> Result<ApiResponse, Error> {
        if request.anonymous {
            return self.send_to_active(request, None).await;
        }
        let (authorization, generation) = self.session();
        match self.send_to_active(request, authorization).await {
            Err(error) if error.status() == Some(401) && self.reauthenticate => {
                let Some(authenticator) = self.authenticator() else {
                    return Err(error);
                };
                let (authorization, fresh) =
                    self.reauthenticate(&*authenticator, generation).await?;
                let result = self.send_to_active(request, Some(authorization)).await;
                self.judge_fresh_session(fresh, result).await
            }
            result => result,
        }
    }
}
