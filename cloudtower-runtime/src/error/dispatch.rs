//! Errors where no usable answer came: the request got no HTTP answer, a layer of the client's
//! failed it, or no single endpoint of an active/passive pair is active.

use std::fmt;
use std::sync::Arc;

use super::{BoxError, Error};

/// Why a call got no answer to use.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DispatchError {
    /// The request did not get an HTTP answer (connect, TLS, timeout, broken connection).
    #[error("transport error: {0}")]
    Transport(#[source] TransportError),
    /// A layer of the client's ([`ClientBuilder::layer`](crate::ClientBuilder::layer)) failed
    /// the exchange with an error of its own (a rate limiter refusing, a metrics layer
    /// failing); the request may not have been sent.
    #[error("middleware: {0}")]
    Middleware(#[source] BoxError),
    /// None of the configured endpoints of an active/passive pair says it is active: each
    /// answered `GET /api/healthz` otherwise (307 passive, another status, no answer). A pair
    /// in the middle of a switch-over answers so for a moment, so this is retryable.
    #[error("no active endpoint among {}", describe_answers(.answers))]
    #[non_exhaustive]
    NoActiveEndpoint { answers: Vec<EndpointAnswer> },
    /// More than one configured endpoint says it is active: not one pair, or a split pair.
    /// The client sends nothing rather than guess.
    #[error("several active endpoints: {}", describe_answers(.answers))]
    #[non_exhaustive]
    SeveralActiveEndpoints { answers: Vec<EndpointAnswer> },
    /// The endpoint that was active (the error's [`endpoint`](Error::endpoint)) answered a
    /// call with 307: the pair has switched over. With
    /// [`FailoverStrategy::Manual`](crate::FailoverStrategy::Manual), the client waits to be
    /// told ([`Client::discover_active_endpoint`](crate::Client::discover_active_endpoint));
    /// otherwise the endpoint found active again refused the retried call too. The passive
    /// tower refused it before doing anything.
    #[error("the endpoint is passive (HTTP 307): a failover to the active endpoint is needed")]
    FailoverNeeded,
}

impl DispatchError {
    /// Whether the same call may get an answer later: a connection that failed or broke, an
    /// attempt that timed out, a pair between roles (one of them takes over in a moment).
    pub(super) fn is_transient(&self) -> bool {
        match self {
            DispatchError::Transport(source) => source.is_transient(),
            DispatchError::NoActiveEndpoint { .. } => true,
            _ => false,
        }
    }
}

/// What one endpoint answered to `GET /api/healthz`.
///
/// Defined with the error that lists it so that the error module depends on nothing above it;
/// [`client`](crate::client) re-exports it.
#[derive(Clone, Debug)]
pub struct EndpointAnswer {
    /// The endpoint as configured (its API base URL, `https://a.example.com/v2/api`).
    pub endpoint: String,
    pub health: EndpointHealth,
}

/// An endpoint's role as its health check tells it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum EndpointHealth {
    /// 200: the active tower.
    Active,
    /// 307: the passive tower.
    Passive,
    /// Any other status.
    Status(u16),
    /// No answer (connection refused, timeout, TLS).
    Unreachable(Arc<TransportError>),
    /// Not sent: a layer of the client's ([`ClientBuilder::layer`](crate::ClientBuilder::layer))
    /// refused it.
    Refused(Arc<Error>),
}

impl fmt::Display for EndpointAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let endpoint = &self.endpoint;
        match &self.health {
            EndpointHealth::Active => write!(f, "{endpoint}: active"),
            EndpointHealth::Passive => write!(f, "{endpoint}: passive (307)"),
            EndpointHealth::Status(status) => write!(f, "{endpoint}: HTTP {status}"),
            EndpointHealth::Unreachable(error) => write!(f, "{endpoint}: {error}"),
            EndpointHealth::Refused(error) => write!(f, "{endpoint}: not probed: {error}"),
        }
    }
}

/// The answers of one probe round, for error messages: `a: active, b: passive (307)`.
pub(crate) fn describe_answers(answers: &[EndpointAnswer]) -> String {
    answers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a request got no HTTP answer: connecting, TLS, a timeout, a connection that broke.
///
/// Opaque, so that the HTTP library underneath is not part of this crate's API (its next
/// major version is not a breaking change here); its error is this one's
/// [`source`](std::error::Error::source), for logs and for downcasting.
#[derive(Debug)]
pub struct TransportError(reqwest::Error);

impl TransportError {
    pub(crate) fn new(source: reqwest::Error) -> Self {
        TransportError(source.without_url())
    }

    /// Whether the attempt ran out of time (the builder's `timeout` or `connect_timeout`).
    pub fn is_timeout(&self) -> bool {
        self.0.is_timeout()
    }

    /// Whether connecting failed (refused, unreachable, DNS, TLS handshake).
    pub fn is_connect(&self) -> bool {
        self.0.is_connect()
    }

    /// Whether the same request may get an answer if sent again: connection failures,
    /// timeouts, and connections dropped before or while answering.
    pub fn is_transient(&self) -> bool {
        self.0.is_connect() || self.0.is_timeout() || self.0.is_request() || self.0.is_body()
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The details are the source's; this says what kind of failure it was.
        f.write_str(if self.0.is_timeout() {
            "timed out"
        } else if self.0.is_connect() {
            "could not connect"
        } else if self.0.is_body() || self.0.is_decode() {
            "the connection failed while reading the answer"
        } else if self.0.is_request() {
            "the request could not be sent"
        } else {
            "the HTTP client failed"
        })
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}
