//! [`ClientBuilder`]: from settings to a [`Client`].

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use tower::{Layer, Service};

use super::endpoints::Endpoints;
use super::middleware::{wrap_with, BoxError, Exchange, HttpService, WrapService};
use super::options::CallOptions;
use super::session::{ReloginPolicy, SessionStore};
use super::transport::{BodyLimits, Transport};
use super::version::VersionGate;
use super::{Client, FailoverStrategy, Inner, Language, Limits, LockedRetry, RetryPolicy, Secret};
use crate::error::Error;

/// Configures a client; see [`Client::builder`]. `C` is the client it builds: this crate's
/// [`Client`], or the generated client wrapping it.
#[must_use]
pub struct ClientBuilder<C = Client> {
    endpoints: Vec<String>,
    failover: FailoverStrategy,
    probe_timeout: Duration,
    locked_retry: Option<LockedRetry>,
    layers: Vec<WrapService>,
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
            .field(
                "endpoints",
                &self
                    .endpoints
                    .iter()
                    .map(|e| without_credentials(e))
                    .collect::<Vec<_>>(),
            )
            .field("failover", &self.failover)
            .field("probe_timeout", &self.probe_timeout)
            .field("locked_retry", &self.locked_retry)
            .field("layers", &self.layers.len())
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
            endpoints: vec![endpoint.into()],
            failover: FailoverStrategy::default(),
            probe_timeout: Duration::from_secs(10),
            locked_retry: None,
            layers: Vec::new(),
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

    /// Adds another endpoint of the same tower: the other tower of an active/passive pair.
    /// With more than one endpoint, the client probes each (`GET /api/healthz`: 200 active,
    /// 307 passive) before the first call and sends every call to the active one; when that
    /// one answers a call with 307, it fails over as [`failover`](Self::failover) says. A 307
    /// is never followed to its `Location`: calls, and credentials, only go to the endpoints
    /// given here.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoints.push(endpoint.into());
        self
    }

    /// What a client with several endpoints does when its endpoint turns passive (default
    /// [`FailoverStrategy::Automatic`]).
    pub fn failover(mut self, strategy: FailoverStrategy) -> Self {
        self.failover = strategy;
        self
    }

    /// The longest one endpoint's health probe may take (default 10 s); an endpoint that does
    /// not answer in time counts as unreachable for that round.
    pub fn probe_timeout(mut self, timeout: Duration) -> Self {
        self.probe_timeout = timeout;
        self
    }

    /// Sends a call refused with `ResourceLocked` again as `policy` says (off by default; see
    /// [`LockedRetry`]). Per call: [`Client::with_locked_retry`].
    pub fn retry_locked(mut self, policy: LockedRetry) -> Self {
        self.locked_retry = Some(policy);
        self
    }

    /// Wraps every HTTP exchange of the client in `layer`: each attempt of each call, the
    /// retries, logins and health probes included, so a layer sees what goes on the wire. Any
    /// `tower` layer fits (`tower::limit::ConcurrencyLimitLayer`, a rate limit, metrics, a
    /// `tower::layer::layer_fn` interceptor). Called several times, the first layer added is
    /// the outermost. A layer's own error (not reqwest's) is reported as
    /// [`DispatchError::Middleware`](crate::error::DispatchError::Middleware); the per-attempt timeout is the request's, set inside.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cloudtower_api::Client;
    /// use tower::limit::ConcurrencyLimitLayer;
    ///
    /// let client = Client::builder("https://tower.example.com")
    ///     // At most 8 requests in flight to this tower, however many tasks call it.
    ///     .layer(ConcurrencyLimitLayer::new(8))
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<HttpService> + Send + Sync + 'static,
        L::Service: Service<reqwest::Request, Response = reqwest::Response, Error = BoxError>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as Service<reqwest::Request>>::Future: Send + 'static,
    {
        self.layers.push(wrap_with(layer));
        self
    }

    /// How deeply arrays and objects may nest in an answer, error answers included (default
    /// 128, serde_json's limit); a deeper answer is an [`ResponseError::Decode`](crate::error::ResponseError::Decode) instead of a stack
    /// overflow. No CloudTower answer nests deeper than about 10. The decoder's stack is
    /// bounded too, by 1 MiB (see
    /// [`DecodeOptions::max_stack_bytes`](crate::codec::DecodeOptions::max_stack_bytes)): an
    /// answer that needs more is an [`ResponseError::Decode`](crate::error::ResponseError::Decode) whatever this limit says.
    pub fn max_decode_depth(mut self, depth: u32) -> Self {
        self.limits.decode.max_depth = depth;
        self
    }

    /// How many bytes an answer may decode into per byte of its body, plus 1 MiB (default 16;
    /// see [`DecodeOptions::max_alloc_ratio`](crate::codec::DecodeOptions::max_alloc_ratio)).
    /// With [`max_response_bytes`](Self::max_response_bytes), it bounds what a server can make
    /// the client allocate: lenient decoding fills the fields an answer leaves out, so without
    /// it 8 MiB of `[{},{},…]` answering `get-vms` would become gigabytes of default VMs. An
    /// answer past it is an [`ResponseError::Decode`](crate::error::ResponseError::Decode).
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

    /// The largest response body accepted (default [`DEFAULT_MAX_RESPONSE_BYTES`](super::DEFAULT_MAX_RESPONSE_BYTES), 256 MiB).
    /// Reading stops as soon as a body goes past it, with [`ResponseError::BodyTooLarge`](crate::error::ResponseError::BodyTooLarge).
    pub fn max_response_bytes(mut self, bytes: u64) -> Self {
        self.limits.max_response_bytes = bytes;
        self
    }

    /// How much of an error answer's body is kept (default
    /// [`DEFAULT_MAX_ERROR_BODY_BYTES`](super::DEFAULT_MAX_ERROR_BODY_BYTES), 64 KiB); the rest is not read.
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
    /// (connection error, 5xx) is tried again sooner, after the backoff of this builder's
    /// [`retry_policy`](Self::retry_policy); a login whose fresh token the tower refused at
    /// once, after 1 s (at most `initial`), doubling up to `max`.
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

    /// How reads are retried after transient failures. Per call:
    /// [`Client::with_retry_policy`].
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
        let mut base_urls: Vec<String> = Vec::with_capacity(self.endpoints.len());
        for endpoint in &self.endpoints {
            let base_url = api_base_url(endpoint)?;
            if base_urls.contains(&base_url) {
                return Err(Error::config(
                    format!(
                        "endpoint {:?} is given twice",
                        without_credentials(endpoint)
                    ),
                    "each endpoint of an active/passive pair is given once",
                ));
            }
            base_urls.push(base_url);
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
        let limits = self.limits;
        Ok(Client {
            inner: Arc::new(Inner {
                transport: Transport {
                    exchange: Exchange::new(http.clone(), &self.layers),
                    http,
                    limits: BodyLimits {
                        max_response_bytes: limits.max_response_bytes,
                        max_error_body_bytes: limits.max_error_body_bytes,
                    },
                },
                endpoints: Endpoints::new(base_urls, self.failover, self.probe_timeout),
                version: VersionGate::default(),
                relogin: ReloginPolicy::new(
                    limits.relogin_backoff,
                    limits.max_relogin_backoff,
                    self.retry.clone(),
                ),
                retry: self.retry,
                max_retry_after: limits.max_retry_after,
                session: SessionStore::new(self.authorization),
                decode: limits.decode,
            }),
            options: CallOptions::new(self.language, self.locked_retry),
        })
    }
}

/// The API base URL of `endpoint` (`/v2/api` appended unless it ends with it), checked.
fn api_base_url(endpoint: &str) -> Result<String, Error> {
    let trimmed = endpoint.trim_end_matches('/');
    let base_url = if trimmed.ends_with("/v2/api") {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/v2/api")
    };
    let invalid = || format!("invalid endpoint {:?}", without_credentials(endpoint));
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
    Ok(base_url)
}
