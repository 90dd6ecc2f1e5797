//! The client and its transport: every generated method ends in [`Client::execute`].
//!
//! Logging in, task waiting and pagination live in modules of their own and reach the
//! transport through [`Client::execute`] and the [`Authenticator`] hook.

use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::future::BoxFuture;
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use tracing::Instrument;

use crate::codec::{self, Decode, Encode};
use crate::contract::Since;
use crate::error::{Error, ErrorBody, RawBody, TransportError};

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
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
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

// What the re-logins so far tell about the next one.
#[derive(Default)]
struct Relogins {
    // The last re-login that did not give a working session.
    failure: Option<LoginFailure>,
    // Re-logins in a row that did not give a working session: those that failed, and those
    // whose fresh token the tower refused at once (sessions not shared behind a load
    // balancer, 401 meaning "no permission"). A call that succeeds with a fresh token ends the
    // run; the backoff grows with it.
    in_a_row: u32,
}

impl Relogins {
    /// Records that the session of `generation` does not work: `error` is every 401's answer
    /// at that generation until the next re-login is due, and what this one returns.
    fn failed(&mut self, generation: u64, error: Error) -> Error {
        let error = Arc::new(error);
        self.in_a_row = self.in_a_row.saturating_add(1);
        self.failure = Some(LoginFailure {
            generation,
            error: error.clone(),
            at: Instant::now(),
        });
        Error::Reauthentication(error)
    }
}

// A re-login that did not give a working session.
struct LoginFailure {
    // The session generation it failed at: a new token (`set_token`) makes it moot.
    generation: u64,
    error: Arc<Error>,
    at: Instant,
}

#[derive(Default)]
struct Session {
    authorization: Option<Secret>,
    // Bumped at every change of `authorization`: a call that got a 401 with generation `g`
    // logs in again only if nobody has done so since `g`.
    generation: u64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let authenticated = self.session().0.is_some();
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
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

/// A credential (token, password, API key): its `Debug` prints `Secret(<redacted>)`, so it
/// can sit in structs that are logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself; call it only where it is sent.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

/// Obtains a fresh `Authorization` value when a call answers 401.
///
/// The client calls it at most once per expired session however many calls fail at once,
/// and retries each failed call once with the new value. [`Client::sign_in_with`] (the
/// generated client's `sign_in`) installs one that logs in with a username and password;
/// implement it to fetch credentials elsewhere.
pub trait Authenticator: Send + Sync + 'static {
    /// Logs in through `client` (which does not itself re-authenticate) and returns the
    /// token.
    fn authenticate<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, Result<Secret, Error>>;
}

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

/// Configures a client; see [`Client::builder`]. `C` is the client it builds: this crate's
/// [`Client`], or the generated client wrapping it.
#[must_use]
pub struct ClientBuilder<C = Client> {
    endpoint: String,
    language: Option<Language>,
    timeout: Duration,
    connect_timeout: Duration,
    proxy: Option<String>,
    root_certificates: Vec<Vec<u8>>,
    accept_invalid_certs: bool,
    user_agent: String,
    retry: RetryPolicy,
    authorization: Option<Secret>,
    limits: Limits,
    native_roots: bool,
    http: Option<reqwest::ClientBuilder>,
    client: PhantomData<fn() -> C>,
}

impl<C> fmt::Debug for ClientBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("endpoint", &without_credentials(&self.endpoint))
            .field("language", &self.language)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("proxy", &self.proxy.as_deref().map(without_credentials))
            .field("root_certificates", &self.root_certificates.len())
            .field("accept_invalid_certs", &self.accept_invalid_certs)
            .field("user_agent", &self.user_agent)
            .field("retry", &self.retry)
            .field("authorization", &self.authorization)
            .field("limits", &self.limits)
            .field("native_roots", &self.native_roots)
            .field("http", &self.http.is_some())
            .finish()
    }
}

/// `url` with its `user:password@` replaced, for messages and `Debug` output.
fn without_credentials(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            // Both succeed on a URL that has credentials (it has a host).
            let _ = parsed.set_password(None);
            let _ = parsed.set_username("redacted");
            parsed.into()
        }
        Ok(_) => url.to_owned(),
        // Unparsed, anything before an `@` may be a password.
        Err(_) => match url.rsplit_once('@') {
            Some((_, host)) => format!("<redacted>@{host}"),
            None => url.to_owned(),
        },
    }
}

impl<C> ClientBuilder<C> {
    /// Starts configuring a client for the tower at `endpoint` (`https://tower.example.com`;
    /// `/v2/api` is appended unless the endpoint already ends with it).
    pub fn new(endpoint: impl Into<String>) -> Self {
        ClientBuilder {
            endpoint: endpoint.into(),
            language: None,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            proxy: None,
            root_certificates: Vec::new(),
            accept_invalid_certs: false,
            user_agent: concat!("cloudtower-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
            retry: RetryPolicy::default(),
            authorization: None,
            limits: Limits::default(),
            native_roots: false,
            http: None,
            client: PhantomData,
        }
    }

    /// How deeply arrays and objects may nest in an answer, error answers included (default
    /// 128, serde_json's limit); a deeper answer is an [`Error::Decode`] instead of a stack
    /// overflow. No CloudTower answer nests deeper than about 10. The decoder's stack is
    /// bounded too, by 1 MiB (see
    /// [`DecodeOptions::max_stack_bytes`](crate::codec::DecodeOptions::max_stack_bytes)): an
    /// answer that needs more is an [`Error::Decode`] whatever this limit says.
    pub fn max_decode_depth(mut self, depth: u32) -> Self {
        self.limits.decode.max_depth = depth;
        self
    }

    /// How many bytes an answer may decode into per byte of its body, plus 1 MiB (default 16;
    /// see [`DecodeOptions::max_alloc_ratio`](crate::codec::DecodeOptions::max_alloc_ratio)).
    /// With [`max_response_bytes`](Self::max_response_bytes), it bounds what a server can make
    /// the client allocate: lenient decoding fills the fields an answer leaves out, so without
    /// it 8 MiB of `[{},{},…]` answering `get-vms` would become gigabytes of default VMs. An
    /// answer past it is an [`Error::Decode`].
    pub fn max_decode_alloc_ratio(mut self, ratio: u32) -> Self {
        self.limits.decode.max_alloc_ratio = ratio;
        self
    }

    /// Trusts the operating system's certificate store too, besides the bundled web roots
    /// and [`root_certificate_pem`](Self::root_certificate_pem): a tower whose certificate a
    /// company CA installed on the machine signed. Off by default, so that what a client
    /// trusts does not depend on the machine. Needs the cargo feature `native-roots`.
    #[cfg(feature = "native-roots")]
    pub fn tls_native_roots(mut self, trust: bool) -> Self {
        self.native_roots = trust;
        self
    }

    /// Builds the HTTP client from `http`, a `reqwest::ClientBuilder` of yours: client
    /// certificates (mTLS), default headers, a DNS resolver, connector layers (metrics, rate
    /// limits), pool and HTTP/2 settings all apply.
    ///
    /// A builder rather than a built `reqwest::Client`, because a built client follows
    /// redirects by its own policy (ten hops by default, resending the body of a 307, such
    /// as the login's password, to wherever it points) before this client could refuse them.
    /// These settings of this builder are applied on top of yours and win: no redirects are
    /// followed (ever), [`timeout`](Self::timeout), [`connect_timeout`](Self::connect_timeout),
    /// [`user_agent`](Self::user_agent), and, when set here, [`proxy`](Self::proxy),
    /// [`root_certificate_pem`](Self::root_certificate_pem),
    /// [`danger_accept_invalid_certs`](Self::danger_accept_invalid_certs) and
    /// `tls_native_roots`. Its TLS backend must be rustls (this crate's).
    pub fn http_client_builder(mut self, http: reqwest::ClientBuilder) -> Self {
        self.http = Some(http);
        self
    }

    /// The largest response body accepted (default [`DEFAULT_MAX_RESPONSE_BYTES`], 256 MiB).
    /// Reading stops as soon as a body goes past it, with [`Error::BodyTooLarge`].
    pub fn max_response_bytes(mut self, bytes: u64) -> Self {
        self.limits.max_response_bytes = bytes;
        self
    }

    /// How much of an error answer's body is kept (default
    /// [`DEFAULT_MAX_ERROR_BODY_BYTES`], 64 KiB); the rest is not read.
    pub fn max_error_body_bytes(mut self, bytes: u64) -> Self {
        self.limits.max_error_body_bytes = bytes;
        self
    }

    /// The longest `Retry-After` of a 429 or 503 that a read waits for before trying again
    /// (default 60 s). A longer one ends the call with that answer.
    pub fn max_retry_after(mut self, wait: Duration) -> Self {
        self.limits.max_retry_after = wait;
        self
    }

    /// After a failed re-login, how long every later 401 is answered with that failure before
    /// the client tries to log in again: `initial` after the first failure, doubling up to
    /// `max` (defaults 30 s and 15 min, so that a changed password makes a handful of failed
    /// logins an hour, not one per call). A login that failed for want of an answer
    /// (connection error, 5xx) is tried again sooner, after the retry policy's backoff.
    pub fn relogin_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.limits.relogin_backoff = initial;
        self.limits.max_relogin_backoff = max;
        self
    }

    /// The `content-language` sent with every call (CloudTower's default when unset).
    pub fn content_language(mut self, language: Language) -> Self {
        self.language = Some(language);
        self
    }

    /// The longest one attempt of a call may take, from connecting to the end of the response
    /// body (default 60 s). Reads retried after a transient failure get this much again.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The longest connecting may take (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sends every call through this proxy (`http://proxy:3128`). Without it the usual
    /// `HTTPS_PROXY`/`NO_PROXY` environment variables apply.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// Trusts the CA certificates of this PEM bundle besides the built-in web roots: the
    /// way to talk to a tower whose certificate your organisation's CA signed, or whose
    /// self-signed certificate you trust (add that certificate itself).
    ///
    /// This adds roots; it does not pin: every certificate the bundled web roots (and, with
    /// `tls_native_roots`, the OS store) vouch for stays trusted
    /// too. To trust nothing else, pass a `reqwest::ClientBuilder` with
    /// `tls_built_in_root_certs(false)` to [`http_client_builder`](Self::http_client_builder).
    pub fn root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// Accepts any certificate, including self-signed and expired ones. Off by default;
    /// anyone on the network path can then read the token. Prefer
    /// [`root_certificate_pem`](Self::root_certificate_pem).
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.accept_invalid_certs = accept;
        self
    }

    /// The `User-Agent` header (default `cloudtower-rs/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// How reads are retried after transient failures.
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Authenticates with an API key (sent as the raw `Authorization` value).
    pub fn api_key(mut self, key: impl Into<Secret>) -> Self {
        self.authorization = Some(key.into());
        self
    }

    /// Authenticates with a token from an earlier login.
    pub fn token(self, token: impl Into<Secret>) -> Self {
        self.api_key(token)
    }

    /// Builds the client; fails on an unusable endpoint, proxy or certificate.
    pub fn build(self) -> Result<C, Error>
    where
        C: From<Client>,
    {
        self.build_runtime().map(C::from)
    }

    fn build_runtime(self) -> Result<Client, Error> {
        let trimmed = self.endpoint.trim_end_matches('/');
        let base_url = if trimmed.ends_with("/v2/api") {
            trimmed.to_owned()
        } else {
            format!("{trimmed}/v2/api")
        };
        let invalid = || format!("invalid endpoint {:?}", without_credentials(&self.endpoint));
        let url = reqwest::Url::parse(&base_url).map_err(|e| Error::config(invalid(), e))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::config(invalid(), "the scheme must be http or https"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            // reqwest would send them as a Basic `Authorization` beside the token.
            return Err(Error::config(
                invalid(),
                "credentials in the endpoint (user:password@) are never sent; log in with \
                 sign_in, a token or an API key",
            ));
        }
        let mut http = self
            .http
            .unwrap_or_default()
            // Never followed: a 307 would resend the login's password to wherever it points,
            // and `https` -> `http` would put the token on the wire in clear text.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent);
        if self.accept_invalid_certs {
            http = http.danger_accept_invalid_certs(true);
        }
        #[cfg(feature = "native-roots")]
        {
            // reqwest loads the OS store by default once its feature is on: only when asked.
            http = http.tls_built_in_native_certs(self.native_roots);
        }
        if let Some(proxy) = &self.proxy {
            let proxy = reqwest::Proxy::all(proxy).map_err(|e| {
                Error::config(
                    format!("invalid proxy {:?}", without_credentials(proxy)),
                    e.without_url(),
                )
            })?;
            http = http.proxy(proxy);
        }
        for pem in &self.root_certificates {
            let certificates = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| Error::config("invalid root certificate", e))?;
            if certificates.is_empty() {
                return Err(Error::config(
                    "invalid root certificate",
                    "no PEM certificate found",
                ));
            }
            for certificate in certificates {
                http = http.add_root_certificate(certificate);
            }
        }
        let http = http
            .build()
            .map_err(|e| Error::config("cannot build the HTTP client", e))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                retry: self.retry,
                session: RwLock::new(Session {
                    authorization: self.authorization,
                    generation: 0,
                }),
                authenticator: RwLock::new(None),
                relogin: tokio::sync::Mutex::new(Relogins::default()),
                limits: self.limits,
            }),
            language: self.language,
            reauthenticate: true,
            timeout: None,
            call_timeout: None,
        })
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

    /// The API base URL (`https://tower.example.com/v2/api`).
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
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

    /// Sends `token` (or an API key) as the `Authorization` value of every later call.
    pub fn set_token(&self, token: impl Into<Secret>) {
        self.set_authorization(token.into());
    }

    /// Whether the client holds a token or API key.
    pub fn is_authenticated(&self) -> bool {
        self.session().0.is_some()
    }

    /// Installs the hook that logs in again when a call answers 401.
    pub fn set_authenticator(&self, authenticator: Arc<dyn Authenticator>) {
        if let Ok(mut slot) = self.inner.authenticator.write() {
            *slot = Some(authenticator);
        }
    }

    /// This client, reporting a 401 instead of logging in again (for logging in itself).
    pub(crate) fn without_reauthentication(&self) -> Client {
        Client {
            reauthenticate: false,
            ..self.clone()
        }
    }

    fn set_authorization(&self, value: Secret) {
        // A poisoned lock only means another thread panicked mid-assignment; the slot holds
        // a whole value either way.
        let mut session = self
            .inner
            .session
            .write()
            .unwrap_or_else(|e| e.into_inner());
        session.authorization = Some(value);
        session.generation += 1;
    }

    /// Installs `token` if the session is still at `generation`; returns what is installed
    /// then, with its generation.
    fn replace_authorization(&self, generation: u64, token: Secret) -> (Secret, u64) {
        let mut session = self
            .inner
            .session
            .write()
            .unwrap_or_else(|e| e.into_inner());
        match &session.authorization {
            Some(current) if session.generation != generation => {
                (current.clone(), session.generation)
            }
            _ => {
                session.authorization = Some(token.clone());
                session.generation += 1;
                (token, session.generation)
            }
        }
    }

    fn session(&self) -> (Option<Secret>, u64) {
        let session = self.inner.session.read().unwrap_or_else(|e| e.into_inner());
        (session.authorization.clone(), session.generation)
    }

    fn authenticator(&self) -> Option<Arc<dyn Authenticator>> {
        self.inner
            .authenticator
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sends one request and returns the successful (2xx or 304) response: retries reads
    /// after transient failures, and logs in again once after a 401 when it can.
    #[doc(hidden)]
    pub async fn execute(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        let span = tracing::debug_span!(
            "cloudtower",
            operation = request.operation,
            status = tracing::field::Empty,
            request_id = tracing::field::Empty,
        );
        let operation = request.operation;
        let call = async {
            if let RequestBody::Refused(source) = &request.body {
                return Err(Error::Encode {
                    operation: request.operation,
                    source: source.clone(),
                });
            }
            if request.anonymous {
                return self.send_with_retries(&request, None).await;
            }
            let (authorization, generation) = self.session();
            match self.send_with_retries(&request, authorization).await {
                Err(error) if error.status() == Some(401) && self.reauthenticate => {
                    let Some(authenticator) = self.authenticator() else {
                        return Err(error);
                    };
                    let (authorization, fresh) =
                        self.reauthenticate(&*authenticator, generation).await?;
                    let result = self.send_with_retries(&request, Some(authorization)).await;
                    self.judge_fresh_session(fresh, result).await
                }
                result => result,
            }
        };
        match self.call_timeout {
            None => call.instrument(span).await,
            Some(timeout) => tokio::time::timeout(timeout, call)
                .instrument(span)
                .await
                .unwrap_or(Err(Error::TimedOut { operation, timeout })),
        }
    }

    /// Logs in again unless a concurrent call already did since `generation`; returns the
    /// token to send and the session generation it belongs to.
    async fn reauthenticate(
        &self,
        authenticator: &dyn Authenticator,
        generation: u64,
    ) -> Result<(Secret, u64), Error> {
        let mut relogins = self.inner.relogin.lock().await;
        let (current, now) = self.session();
        if let Some(current) = current {
            if now != generation {
                return Ok((current, now));
            }
        }
        // A login that failed at this generation, not long ago, is everyone's outcome: the
        // calls that waited for it, and those that come before the next attempt is due.
        if let Some(failure) = relogins.failure.as_ref() {
            if failure.generation == now
                && failure.at.elapsed() < self.relogin_delay(failure, relogins.in_a_row)
            {
                return Err(Error::Reauthentication(failure.error.clone()));
            }
        }
        tracing::info!("session expired, logging in again");
        match authenticator
            .authenticate(&self.without_reauthentication())
            .await
        {
            Ok(token) => {
                relogins.failure = None;
                // A token set meanwhile (`set_token`, a sign-in, maybe as another user) is
                // newer than the one this login started from: it stays.
                Ok(self.replace_authorization(now, token))
            }
            Err(error) => {
                tracing::warn!(%error, "logging in again failed");
                Err(relogins.failed(now, error))
            }
        }
    }

    /// The outcome of a call retried with the session of generation `fresh`, just logged in:
    /// a 401 again means that logging in does not help for now, which is recorded as a failed
    /// login (so later 401s wait for the backoff instead of logging in once each) and reported
    /// as [`Error::Reauthentication`]; a success ends a run of such failures.
    async fn judge_fresh_session(
        &self,
        fresh: u64,
        result: Result<ApiResponse, Error>,
    ) -> Result<ApiResponse, Error> {
        match result {
            Err(error) if error.status() == Some(401) => {
                tracing::warn!(%error, "the tower refused the token of a fresh login");
                Err(self.inner.relogin.lock().await.failed(fresh, error))
            }
            Ok(response) => {
                let mut relogins = self.inner.relogin.lock().await;
                relogins.in_a_row = 0;
                Ok(response)
            }
            other => other,
        }
    }

    /// How long after `failure`, the last of `in_a_row` failed re-logins, the next one may
    /// be tried.
    fn relogin_delay(&self, failure: &LoginFailure, in_a_row: u32) -> Duration {
        let retry = in_a_row.saturating_sub(1);
        if failure.error.is_retryable() {
            // The tower did not answer: it may be back soon, and no password was refused.
            return self.inner.retry.backoff(retry);
        }
        let limits = &self.inner.limits;
        limits
            .relogin_backoff
            .saturating_mul(2u32.saturating_pow(retry))
            .min(limits.max_relogin_backoff)
    }

    async fn send_with_retries(
        &self,
        request: &ApiRequest,
        authorization: Option<Secret>,
    ) -> Result<ApiResponse, Error> {
        let retry = &self.inner.retry;
        let mut attempt = 0;
        loop {
            match self.send(request, authorization.as_ref()).await {
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
                    tracing::warn!(%error, attempt, delay_ms = delay.as_millis() as u64, "retrying");
                    tokio::time::sleep(delay).await;
                }
                result => return result,
            }
        }
    }

    async fn send(
        &self,
        request: &ApiRequest,
        authorization: Option<&Secret>,
    ) -> Result<ApiResponse, Error> {
        let operation = request.operation;
        let started = Instant::now();
        let mut builder = request.build(&self.inner.http, &self.inner.base_url);
        if let Some(secret) = authorization {
            let mut value = HeaderValue::from_str(secret.expose()).map_err(|e| {
                Error::config("the token or API key is not a valid header value", e)
            })?;
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
        if let Some(language) = self.language {
            builder = builder.header("content-language", language.as_str());
        }
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        let transport = |source| Error::Transport {
            operation,
            source: TransportError::new(source),
        };
        let mut response = builder.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let request_id = response
            .headers()
            .get("x-tower-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let span = tracing::Span::current();
        span.record("status", status);
        if let Some(id) = &request_id {
            span.record("request_id", id.as_str());
        }
        if (300..400).contains(&status) && status != 304 {
            // Not read further, and not followed.
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            return Err(Error::Redirect {
                operation,
                status,
                location,
            });
        }
        let success = (200..300).contains(&status) || status == 304;
        let retry_after = matches!(status, 429 | 503)
            .then(|| retry_after(response.headers()))
            .flatten();
        let limits = &self.inner.limits;
        let body = if success {
            read_body(&mut response, limits.max_response_bytes)
                .await
                .map_err(transport)?
                .ok_or(Error::BodyTooLarge {
                    operation,
                    limit: limits.max_response_bytes,
                })?
        } else {
            // An error answer is kept for diagnosis only: its first bytes are enough.
            read_body_prefix(&mut response, limits.max_error_body_bytes)
                .await
                .map_err(transport)?
        };
        tracing::debug!(
            status,
            duration_ms = started.elapsed().as_millis() as u64,
            bytes = body.len(),
            "response"
        );
        if (200..300).contains(&status) || status == 304 {
            Ok(ApiResponse {
                operation,
                status,
                body,
                request_id,
                options: limits.decode,
            })
        } else {
            Err(Error::Status {
                operation,
                status,
                body: codec::decode_with_options::<ErrorBody>(&body, &limits.decode)
                    .ok()
                    .map(Box::new),
                raw: RawBody(body),
                request_id,
                retry_after,
            })
        }
    }
}

/// The body of `response`, or `None` as soon as it goes past `limit` bytes.
async fn read_body(
    response: &mut reqwest::Response,
    limit: u64,
) -> Result<Option<Bytes>, reqwest::Error> {
    if response
        .content_length()
        .is_some_and(|length| length > limit)
    {
        return Ok(None);
    }
    let capacity = response.content_length().unwrap_or(0) as usize;
    // A body that arrives in one chunk is returned as it is, without a copy.
    let Some(first) = response.chunk().await? else {
        return Ok(Some(Bytes::new()));
    };
    if first.len() as u64 > limit {
        return Ok(None);
    }
    let Some(second) = response.chunk().await? else {
        return Ok(Some(first));
    };
    let mut body = BytesMut::with_capacity(capacity.max(first.len() + second.len()));
    body.extend_from_slice(&first);
    let mut next = Some(second);
    while let Some(chunk) = next {
        if (body.len() + chunk.len()) as u64 > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
        next = response.chunk().await?;
    }
    Ok(Some(body.freeze()))
}

/// The first `limit` bytes of the body of `response`; the rest is not read.
async fn read_body_prefix(
    response: &mut reqwest::Response,
    limit: u64,
) -> Result<Bytes, reqwest::Error> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut body = BytesMut::new();
    while body.len() < limit {
        let Some(chunk) = response.chunk().await? else {
            break;
        };
        let room = limit - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok(body.freeze())
}

/// A `Retry-After` header: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
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

/// One call, as the generated methods describe it.
#[doc(hidden)]
pub struct ApiRequest {
    operation: &'static str,
    body: RequestBody,
    // Sent without credentials (the spec's `security: []`: login, version).
    anonymous: bool,
    // Changes nothing on the tower, so it may be sent again after a transient failure.
    read: bool,
    // The versions that have the operation; a server known to predate it is not asked.
    since: Option<Since>,
}

// Kept in a form that can be sent again (retries, the call after a re-login).
enum RequestBody {
    Json(Bytes),
    // The body holds a number JSON cannot carry (NaN, infinity): never sent.
    Refused(codec::EncodeError),
    Empty,
    Get(Vec<(&'static str, String)>),
    Multipart(Vec<MultipartField>),
}

impl ApiRequest {
    /// `POST /v2/api/<operation>` with a JSON body.
    pub fn json<T: Encode + ?Sized>(operation: &'static str, body: &T) -> Self {
        ApiRequest {
            operation,
            anonymous: false,
            read: false,
            since: None,
            body: match codec::try_encode(body) {
                Ok(json) => RequestBody::Json(json.into()),
                Err(refused) => RequestBody::Refused(refused),
            },
        }
    }

    /// `POST /v2/api/<operation>` without a body.
    pub fn empty(operation: &'static str) -> Self {
        ApiRequest {
            operation,
            anonymous: false,
            read: false,
            since: None,
            body: RequestBody::Empty,
        }
    }

    /// `GET /v2/api/<operation>?<query>`.
    pub fn get(operation: &'static str, query: Vec<(&'static str, String)>) -> Self {
        ApiRequest {
            operation,
            anonymous: false,
            read: false,
            since: None,
            body: RequestBody::Get(query),
        }
    }

    /// `POST /v2/api/<operation>` as `multipart/form-data`.
    pub fn multipart(operation: &'static str, fields: Vec<MultipartField>) -> Self {
        ApiRequest {
            operation,
            anonymous: false,
            read: false,
            since: None,
            body: RequestBody::Multipart(fields),
        }
    }

    /// Sends the request without the `Authorization` header, and never logs in again for it
    /// (operations the spec marks as needing no credentials).
    pub fn anonymous(mut self) -> Self {
        self.anonymous = true;
        self
    }

    /// Marks the request as a read, which changes nothing on the tower and so may be sent
    /// again after a transient failure. The generator decides which operations are reads.
    pub fn read(mut self) -> Self {
        self.read = true;
        self
    }

    /// Records since which version the operation exists, so that a call to a server whose
    /// version is known to predate it fails before anything is sent.
    pub fn since(mut self, since: Since) -> Self {
        self.since = Some(since);
        self
    }

    /// Since which version the operation exists, when the generator said so.
    pub fn availability(&self) -> Option<Since> {
        self.since
    }

    /// Whether the request may be retried (see [`read`](Self::read)).
    pub fn is_read(&self) -> bool {
        self.read
    }

    /// The operation's path under `/v2/api/` (`get-vms`).
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    fn build(&self, http: &reqwest::Client, base_url: &str) -> reqwest::RequestBuilder {
        let url = format!("{base_url}/{}", self.operation);
        match &self.body {
            RequestBody::Get(query) => http.get(url).query(query),
            RequestBody::Empty | RequestBody::Refused(_) => http.post(url),
            RequestBody::Json(json) => http
                .post(url)
                .header(CONTENT_TYPE, "application/json")
                .body(json.clone()),
            RequestBody::Multipart(fields) => {
                let form = fields
                    .iter()
                    .fold(
                        reqwest::multipart::Form::new(),
                        |form, field| match &field.value {
                            FieldValue::Text(text) => form.text(field.name, text.clone()),
                            FieldValue::File(file) => form.part(
                                field.name,
                                reqwest::multipart::Part::stream(file.bytes.clone())
                                    .file_name(file.file_name.clone())
                                    // A file part says what it is (RFC 7578 §4.4); some
                                    // servers refuse parts without a type.
                                    .headers(reqwest::header::HeaderMap::from_iter([(
                                        CONTENT_TYPE,
                                        HeaderValue::from_static("application/octet-stream"),
                                    )])),
                            ),
                        },
                    );
                http.post(url).multipart(form)
            }
        }
    }
}

/// One part of a `multipart/form-data` body.
#[doc(hidden)]
pub struct MultipartField {
    name: &'static str,
    value: FieldValue,
}

enum FieldValue {
    Text(String),
    File(FilePart),
}

impl MultipartField {
    pub fn text(name: &'static str, value: impl ToString) -> Self {
        MultipartField {
            name,
            value: FieldValue::Text(value.to_string()),
        }
    }
    pub fn file(name: &'static str, file: FilePart) -> Self {
        MultipartField {
            name,
            value: FieldValue::File(file),
        }
    }
}

/// A file sent in a `multipart/form-data` upload.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FilePart {
    /// The file name the server sees.
    pub file_name: String,
    pub bytes: Bytes,
}

impl FilePart {
    pub fn new(file_name: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        FilePart {
            file_name: file_name.into(),
            bytes: bytes.into(),
        }
    }
}

/// A successful answer, not yet decoded.
#[doc(hidden)]
pub struct ApiResponse {
    operation: &'static str,
    status: u16,
    body: Bytes,
    request_id: Option<String>,
    // The client's (`ClientBuilder::max_decode_depth`, `max_decode_alloc_ratio`).
    options: codec::DecodeOptions,
}

impl ApiResponse {
    /// Decodes the body as the operation's 200 response.
    pub fn decode<T: Decode>(self) -> Result<T, Error> {
        codec::decode_with_options(&self.body, &self.options)
            .map_err(|source| self.undecodable(source))
    }

    /// The error for a body that does not decode, keeping it for diagnosis.
    fn undecodable(self, source: codec::DecodeError) -> Error {
        Error::Decode {
            operation: self.operation,
            source: Box::new(source),
            raw: RawBody(self.body),
            request_id: self.request_id,
        }
    }

    /// The count at `path` (wire names from the top: `["aggregate", "count"]`) of a
    /// `*-connection` answer. A count that is missing, `null` or negative is an
    /// [`Error::Protocol`]: a count of 0 would be a wrong answer, not a missing one.
    pub fn count_at(self, path: &[&str]) -> Result<u64, Error> {
        let options = self.options;
        let protocol = |reason: String| Error::Protocol {
            operation: self.operation,
            reason,
        };
        match codec::integer_at(&self.body, path, &options) {
            Ok(Some(count)) => u64::try_from(count).map_err(|_| {
                protocol(format!(
                    "the answer's {} is negative: {count}",
                    path.join(".")
                ))
            }),
            Ok(None) => Err(protocol(format!("the answer holds no {}", path.join(".")))),
            Err(source) => Err(self.undecodable(source)),
        }
    }

    /// For operations that may answer 304 Not Modified: `None` then, else the decoded body.
    pub fn decode_unless_not_modified<T: Decode>(self) -> Result<Option<T>, Error> {
        if self.status == 304 {
            Ok(None)
        } else {
            self.decode().map(Some)
        }
    }
}
