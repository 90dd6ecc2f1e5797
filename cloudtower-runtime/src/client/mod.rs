//! The client and its transport: every generated method ends in [`Client::execute`].
//!
//! Logging in, task waiting and pagination live in modules of their own and reach the
//! transport through [`Client::execute`] and the [`Authenticator`] hook. This module holds the
//! client; its parts, one job each:
//!
//! - `orchestrator`: one call, its phases in order (`Client::execute`, `invoke`);
//! - `options`: the per-call options a clone carries (`with_timeout`, `with_header_parameter`, …);
//! - `builder`: [`ClientBuilder`], from settings to a client;
//! - `request`: [`ApiRequest`] and [`ApiResponse`], a call as generated methods describe it;
//! - `version`: the version gate: the tower's version, and refusing calls it predates;
//! - `locked`: [`LockedRetry`], and the lock waits of a call;
//! - `session`: the token, [`Secret`], [`Authenticator`], and the re-login policy;
//! - `endpoints`: endpoint selection: the active one of an active/passive pair, switch-overs;
//! - `retry`: [`RetryPolicy`], and the retries of a call's reads;
//! - `classify`: retry classification: which policy a failed attempt concerns;
//! - `transport`: one exchange: headers, the `tower` stack, redirects refused, bounded bodies;
//! - `middleware`: the `tower` service stack every HTTP exchange goes through.

mod builder;
mod call_future;
mod classify;
mod endpoints;
mod locked;
mod middleware;
mod options;
mod orchestrator;
mod request;
mod retry;
mod session;
mod transport;
mod version;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::codec;
use crate::error::Error;

pub use builder::ClientBuilder;
pub use call_future::CallFuture;
pub(crate) use endpoints::describe as describe_answers;
pub use endpoints::{EndpointAnswer, EndpointHealth, FailoverStrategy};
pub use locked::LockedRetry;
pub use middleware::{BoxError, HttpService};
pub use request::{ApiRequest, ApiResponse, FilePart, MultipartField};
pub use retry::RetryPolicy;
pub use session::{Authenticator, Secret};
pub use version::ServerVersion;

use endpoints::Endpoints;
use options::CallOptions;
use session::{ReloginPolicy, SessionStore};
use transport::Transport;
use version::VersionGate;

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
    // What every clone shares: the connections, the session and the policies' state.
    inner: Arc<Inner>,
    // What this clone changes about its calls.
    options: CallOptions,
}

/// The parts of a call that every clone shares, one per phase.
struct Inner {
    // The wire: reqwest inside the user's layers, and the body limits.
    transport: Transport,
    // Endpoint selection: the active endpoint of a pair.
    endpoints: Endpoints,
    // The version gate.
    version: VersionGate,
    // The builder's retry policy (a clone's `with_retry_policy` replaces it).
    retry: RetryPolicy,
    // The longest `Retry-After` a read waits for.
    max_retry_after: Duration,
    // The token, and who renews it.
    session: SessionStore,
    // One shared re-login after a 401, and storm protection.
    relogin: ReloginPolicy,
    // How answers are decoded (`max_decode_depth`, `max_decode_alloc_ratio`).
    decode: codec::DecodeOptions,
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
        f.debug_struct("Client")
            .field("base_url", &self.base_url())
            .field("language", &self.options.language)
            .field("authenticated", &self.is_authenticated())
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
}
