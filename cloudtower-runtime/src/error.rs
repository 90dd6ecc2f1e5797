//! The one error type of the SDK.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::client::{describe_answers, EndpointAnswer};
use crate::codec::DecodeError;
use crate::contract::Since;
use crate::resolve::ResolveKey;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Anything that can go wrong calling CloudTower.
///
/// ```no_run
/// # async fn demo(err: cloudtower_api::Error) {
/// use cloudtower_api::Error;
/// match &err {
///     Error::Status { status: 404, .. } => println!("not found"),
///     e if e.is_resource_locked() => println!("locked: {:?}", e.locked_resources()),
///     Error::Task(failure) => println!("task {} failed: {:?}", failure.task_id, failure.error_message),
///     e if e.is_retryable() => println!("try again later: {e}"),
///     e => println!("{e} (request id {:?})", e.request_id()),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request did not get an HTTP answer (connect, TLS, timeout, broken connection).
    #[error("{operation}: transport error: {source}")]
    Transport {
        operation: &'static str,
        #[source]
        source: TransportError,
    },
    /// The call did not end within its timeout
    /// ([`Client::with_call_timeout`](crate::Client::with_call_timeout)): every attempt, the
    /// waits between retries and logging in again included. A mutation may have taken effect.
    #[error("{operation}: no answer within the call's timeout of {timeout:?}")]
    TimedOut {
        operation: &'static str,
        timeout: Duration,
    },
    /// The server answered with an error status.
    #[error("{operation}: HTTP {status}{}", .body.as_ref().map(|b| format!(": {}", b.message)).unwrap_or_default())]
    Status {
        operation: &'static str,
        status: u16,
        /// The decoded `ErrorBody`, when the server sent one.
        body: Option<Box<ErrorBody>>,
        /// The raw response body (at most the client's error-body limit, 64 KiB by default).
        raw: RawBody,
        request_id: Option<String>,
        /// The `Retry-After` of a 429 or 503 answer, when it gave one.
        retry_after: Option<Duration>,
    },
    /// The server answered with a redirect. The client follows none: a CloudTower API never
    /// redirects, and following one would send the password or token to another host.
    #[error("{operation}: HTTP {status} redirect to {} not followed", .location.as_deref().unwrap_or("an unnamed location"))]
    Redirect {
        operation: &'static str,
        status: u16,
        /// The `Location` header, as sent.
        location: Option<String>,
    },
    /// None of the configured endpoints of an active/passive pair says it is active: each
    /// answered `GET /api/healthz` otherwise (307 passive, another status, no answer). A pair
    /// in the middle of a switch-over answers so for a moment, so this is retryable.
    #[error("no active endpoint among {}", describe_answers(.answers))]
    NoActiveEndpoint { answers: Vec<EndpointAnswer> },
    /// More than one configured endpoint says it is active: not one pair, or a split pair.
    /// The client sends nothing rather than guess.
    #[error("several active endpoints: {}", describe_answers(.answers))]
    SeveralActiveEndpoints { answers: Vec<EndpointAnswer> },
    /// The endpoint that was active answered a call with 307: the pair has switched over.
    /// With [`FailoverStrategy::Manual`](crate::FailoverStrategy::Manual), the client waits
    /// to be told ([`Client::discover_active_endpoint`](crate::Client::discover_active_endpoint));
    /// otherwise the endpoint found active again refused the retried call too. The passive
    /// tower refused it before doing anything.
    #[error("{operation}: {endpoint} is passive (HTTP 307): a failover to the active endpoint is needed")]
    FailoverNeeded {
        operation: &'static str,
        /// The endpoint that refused the call.
        endpoint: String,
    },
    /// The tower's version (learned at sign-in, see
    /// [`Client::server_version`](crate::Client::server_version)) predates the operation, as
    /// the published specs tell. Nothing was sent.
    #[error("{operation}: {}; the tower runs {server_version}, so nothing was sent", needs(.since))]
    ServerTooOld {
        operation: &'static str,
        since: Since,
        server_version: String,
    },
    /// A layer of the client's ([`ClientBuilder::layer`](crate::ClientBuilder::layer)) failed
    /// the exchange with an error of its own (a rate limiter refusing, a metrics layer
    /// failing); the request may not have been sent.
    #[error("{operation}: middleware: {source}")]
    Middleware {
        operation: &'static str,
        #[source]
        source: BoxError,
    },
    /// The response body is larger than the client's limit
    /// ([`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes)); the
    /// client stopped reading at the limit.
    #[error("{operation}: the response body exceeds the limit of {limit} bytes")]
    BodyTooLarge { operation: &'static str, limit: u64 },
    /// The server's answers cannot be used as they are: a list whose pages do not advance or
    /// come back to items already seen, a console host that is not a host.
    #[error("{operation}: {reason}")]
    Protocol {
        /// The operation, or the client method that sent it.
        operation: &'static str,
        reason: String,
    },
    /// Logging in again after a 401 failed. Every call that was waiting for that login gets
    /// the same failure, and so does every call until the next attempt is due (the delay
    /// doubles at each failure), so that a changed password does not lock the account.
    #[error("logging in again failed: {0}")]
    Reauthentication(Arc<Error>),
    /// Reading a local file or stream failed (uploads).
    #[error("{message}: {source}")]
    Io {
        message: String,
        #[source]
        source: std::io::Error,
    },
    /// The server answered 2xx but the body does not match the expected type.
    #[error("{operation}: response does not decode: {source}")]
    Decode {
        operation: &'static str,
        /// What failed and at which JSON path (`/0/vm_disks/3/id`).
        #[source]
        source: Box<DecodeError>,
        /// The raw response body.
        raw: RawBody,
        request_id: Option<String>,
    },
    /// An asynchronous task failed, paused, vanished or did not end in time.
    #[error("{0}")]
    Task(Box<TaskFailure>),
    /// No resource of this type has `key` as any of the fields searched
    /// ([`Client::resolve`](crate::Client::resolve)), or a resource being waited for
    /// ([`Client::wait_until_idle`](crate::Client::wait_until_idle)) no longer exists.
    #[error("no {resource} has {} {key:?}", either(searched))]
    NotFound {
        /// The resource type (`Vm`).
        resource: &'static str,
        /// What was looked for.
        key: String,
        /// The fields that were matched against `key`.
        searched: &'static [ResolveKey],
    },
    /// More than one resource has `key` as its `matched` field, and none wins over them
    /// ([`Client::resolve`](crate::Client::resolve): an id wins over a local id, which wins
    /// over a name).
    #[error(
        "{key:?} is ambiguous: {}{} {resource}s have {matched} {key:?} (ids {}{})",
        if *.more { "at least " } else { "" },
        .candidates.len(),
        .candidates.join(", "),
        if *.more { ", …" } else { "" }
    )]
    Ambiguous {
        /// The resource type (`Vm`).
        resource: &'static str,
        /// What was looked for.
        key: String,
        /// The field the candidates share `key` as.
        matched: ResolveKey,
        /// The ids of the candidates (at most
        /// [`resolve::MAX_CANDIDATES`](crate::resolve::MAX_CANDIDATES)).
        candidates: Vec<String>,
        /// There are more candidates than listed (the answer was capped).
        more: bool,
    },
    /// Resources were still being changed by a task (their `entityAsyncStatus` not null)
    /// when the wait's timeout ran out
    /// ([`Client::wait_until_idle`](crate::Client::wait_until_idle)).
    #[error(
        "{} {resource}(s) still busy after {timeout:?}: {}",
        .busy.len(),
        .busy.iter().map(|(id, status)| format!("{id} ({status})")).collect::<Vec<_>>().join(", ")
    )]
    StillBusy {
        /// The resource type (`Vm`).
        resource: &'static str,
        /// How long the wait waited.
        timeout: Duration,
        /// Each resource still busy: its id and its last `entityAsyncStatus` (`UPDATING`, …;
        /// `unknown` when it was never read).
        busy: Vec<(String, String)>,
    },
    /// A JSON request given to `Client::call_operation` does not decode into the operation's
    /// request type. Nothing was sent.
    #[error("{operation}: invalid request: {source}")]
    InvalidRequest {
        operation: &'static str,
        #[source]
        source: Box<DecodeError>,
    },
    /// The request holds a number JSON cannot carry (NaN or an infinity; see
    /// [`codec::try_encode`](crate::codec::try_encode)). Nothing was sent.
    #[error("{operation}: invalid request: {source}")]
    Encode {
        operation: &'static str,
        #[source]
        source: crate::codec::EncodeError,
    },
    /// The call cannot be made this way (`Client::call_operation` with an unknown path, or a
    /// multipart upload, which takes files rather than JSON).
    #[error("{operation}: {reason}")]
    Unsupported {
        operation: &'static str,
        reason: &'static str,
    },
    /// A header parameter the operation does not take (a client bound to an external
    /// CloudTower calling an operation this API version does not proxy), one it requires and
    /// was not given, or a value a header cannot carry. Nothing was sent: sending the call
    /// without it would act on another tower than the one meant.
    #[error("{operation}: header `{header}`: {reason}; nothing was sent")]
    HeaderParameter {
        operation: &'static str,
        header: &'static str,
        reason: &'static str,
    },
    /// The client is misconfigured (endpoint, proxy, certificate, credentials).
    #[error("invalid configuration: {message}: {source}")]
    Config {
        message: String,
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// A configuration error (helpers outside this crate report bad settings this way).
    pub fn config(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Config {
            message: message.into(),
            source: source.into(),
        }
    }

    /// The operation that failed (`get-vms`), when the error belongs to one call.
    pub fn operation(&self) -> Option<&'static str> {
        match self {
            Error::Transport { operation, .. }
            | Error::TimedOut { operation, .. }
            | Error::Status { operation, .. }
            | Error::Decode { operation, .. }
            | Error::Encode { operation, .. }
            | Error::Redirect { operation, .. }
            | Error::BodyTooLarge { operation, .. }
            | Error::FailoverNeeded { operation, .. }
            | Error::Middleware { operation, .. }
            | Error::ServerTooOld { operation, .. }
            | Error::HeaderParameter { operation, .. }
            | Error::Protocol { operation, .. } => Some(operation),
            Error::Reauthentication(inner) => inner.operation(),
            _ => None,
        }
    }

    /// What kind of error this is, in one word for traces and metrics (OpenTelemetry's
    /// `error.type`): the variant's name.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Transport { .. } => "Transport",
            Error::TimedOut { .. } => "TimedOut",
            Error::Status { .. } => "Status",
            Error::Redirect { .. } => "Redirect",
            Error::NoActiveEndpoint { .. } => "NoActiveEndpoint",
            Error::SeveralActiveEndpoints { .. } => "SeveralActiveEndpoints",
            Error::FailoverNeeded { .. } => "FailoverNeeded",
            Error::ServerTooOld { .. } => "ServerTooOld",
            Error::Middleware { .. } => "Middleware",
            Error::NotFound { .. } => "NotFound",
            Error::Ambiguous { .. } => "Ambiguous",
            Error::StillBusy { .. } => "StillBusy",
            Error::BodyTooLarge { .. } => "BodyTooLarge",
            Error::Protocol { .. } => "Protocol",
            Error::Reauthentication(_) => "Reauthentication",
            Error::Io { .. } => "Io",
            Error::Decode { .. } => "Decode",
            Error::Task(_) => "Task",
            Error::InvalidRequest { .. } => "InvalidRequest",
            Error::Encode { .. } => "Encode",
            Error::Unsupported { .. } => "Unsupported",
            Error::HeaderParameter { .. } => "HeaderParameter",
            Error::Config { .. } => "Config",
        }
    }

    /// The HTTP status of an error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Status { status, .. } | Error::Redirect { status, .. } => Some(*status),
            Error::Reauthentication(inner) => inner.status(),
            _ => None,
        }
    }

    /// The decoded `ErrorBody` of an error answer.
    pub fn error_body(&self) -> Option<&ErrorBody> {
        match self {
            Error::Status { body, .. } => body.as_deref(),
            Error::Reauthentication(inner) => inner.error_body(),
            _ => None,
        }
    }

    /// The `x-tower-request-id` of the answer, to quote to SmartX support.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Status { request_id, .. } | Error::Decode { request_id, .. } => {
                request_id.as_deref()
            }
            Error::Reauthentication(inner) => inner.request_id(),
            _ => None,
        }
    }

    /// The raw body of an answer that was an error or did not decode.
    pub fn raw_body(&self) -> Option<&[u8]> {
        match self {
            Error::Status { raw, .. } | Error::Decode { raw, .. } => Some(raw.as_bytes()),
            Error::Reauthentication(inner) => inner.raw_body(),
            _ => None,
        }
    }

    /// How long a 429 or 503 answer asked to wait before trying again (`Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the same call may succeed later unchanged: connection failures, timeouts,
    /// connections dropped before or while answering (a proxy or the tower closing an idle
    /// keep-alive connection), 502/503/504 from a tower that is restarting or overloaded, 429
    /// (too many requests), and a re-login that failed for one of these (a restarted tower
    /// that dropped its sessions and does not answer yet). A mutation may have taken effect
    /// all the same: the client retries reads only.
    ///
    /// This is the one definition of an outage: task waits, the upload's wait and the change
    /// watch ride out exactly these errors.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { source, .. } => source.is_transient(),
            Error::TimedOut { .. } => true,
            Error::Status { status, .. } => matches!(status, 429 | 502..=504),
            Error::Reauthentication(inner) => inner.is_retryable(),
            // A pair between roles: one of them takes over in a moment.
            Error::NoActiveEndpoint { .. } => true,
            _ => false,
        }
    }

    /// Whether the call, the task wait or the wait for idle resources ran out of time.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Transport { source, .. } => source.is_timeout(),
            Error::TimedOut { .. } => true,
            Error::Task(failure) => failure.kind == TaskFailureKind::TimedOut,
            Error::StillBusy { .. } => true,
            _ => false,
        }
    }

    /// Whether the tower refused the credentials (HTTP 401), also when logging in again.
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }

    /// Whether the tower refused a mutation because another operation holds a lock on the
    /// resource (code `ResourceLocked`); retry it once that operation has ended.
    pub fn is_resource_locked(&self) -> bool {
        self.error_body()
            .is_some_and(|b| b.code.as_deref() == Some("ResourceLocked"))
    }

    /// The resources a `ResourceLocked` refusal names (`props.locked_resources`), in the
    /// order sent; entries without an `id` are left out. `None` for any other error.
    pub fn locked_resources(&self) -> Option<Vec<LockedResource>> {
        if !self.is_resource_locked() {
            return None;
        }
        let listed = self
            .error_body()?
            .props
            .as_ref()
            .and_then(|props| props.get("locked_resources"))
            .and_then(|list| list.as_array());
        let text = |value: &serde_json::Value, key: &str| {
            value.get(key).and_then(|v| v.as_str()).map(str::to_owned)
        };
        Some(
            listed
                .into_iter()
                .flatten()
                .filter_map(|entry| {
                    Some(LockedResource {
                        id: text(entry, "id")?,
                        resource_type: text(entry, "type"),
                    })
                })
                .collect(),
        )
    }
}

/// A resource that a `ResourceLocked` refusal says another task is changing.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LockedResource {
    pub id: String,
    /// Its type as the tower names it (`Vm`, `VmVolume`, …), when given.
    pub resource_type: Option<String>,
}

/// "needs CloudTower 4.0.0 (…; 3.4.4 and older lack it)": what the published specs tell,
/// which is exact only where no published version between them is unobtainable.
fn needs(since: &Since) -> String {
    match since.last_absent {
        Some(absent) => format!(
            "needs CloudTower {} (the first published spec with it; {absent} and older lack it)",
            since.first_seen
        ),
        None => format!("needs CloudTower {}", since.first_seen),
    }
}

/// `id, local_id or name`.
fn either(keys: &[ResolveKey]) -> String {
    match keys {
        [] => "a key".into(),
        [one] => one.to_string(),
        [init @ .., last] => format!(
            "{} or {last}",
            init.iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
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

/// CloudTower's error body (`ErrorBody` in the spec), decoded leniently so that any error
/// answer, even from another version, keeps what it says. Its `Debug` masks the values of
/// credential-like keys in `props`, as [`RawBody`]'s does for the same bytes.
#[derive(Clone, Default, PartialEq)]
pub struct ErrorBody {
    /// The error code (`ResourceLocked`, …), kept as text so codes newer than the spec survive.
    pub code: Option<String>,
    pub message: String,
    pub status: Option<i64>,
    pub path: Option<String>,
    pub operation_name: Option<String>,
    pub props: Option<serde_json::Value>,
}

impl fmt::Debug for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let props = self.props.clone().map(|mut props| {
            redact(&mut props);
            props
        });
        f.debug_struct("ErrorBody")
            .field("code", &self.code)
            .field("message", &self.message)
            .field("status", &self.status)
            .field("path", &self.path)
            .field("operation_name", &self.operation_name)
            .field("props", &props)
            .finish()
    }
}

impl crate::codec::Decode for ErrorBody {
    fn decode(d: &mut crate::codec::Decoder<'_>) -> Result<Self, DecodeError> {
        let mut out = ErrorBody::default();
        let mut key = d.first_key("ErrorBody")?;
        while let Some(k) = key {
            match k {
                "code" => d.field(&mut out.code, "code")?,
                "message" => d.field(&mut out.message, "message")?,
                "status" => d.field(&mut out.status, "status")?,
                "path" => d.field(&mut out.path, "path")?,
                "operationName" => d.field(&mut out.operation_name, "operationName")?,
                "props" => d.field(&mut out.props, "props")?,
                _ => d.skip()?,
            }
            key = d.next_key()?;
        }
        Ok(out)
    }
}

/// A response body kept for diagnosis. Its `Debug` shows the text with the values of
/// credential-like keys (`token`, `password`, `key`, `secret`, `authorization`, `cookie`, and
/// the VNC answer's `redirect`, `direct` and `terminal`) masked, because a login answer that
/// fails to decode still carries the token.
#[derive(Clone, Default, PartialEq)]
pub struct RawBody(pub bytes::Bytes);

impl RawBody {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for RawBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match serde_json::from_slice::<serde_json::Value>(&self.0) {
            Ok(mut value) => {
                redact(&mut value);
                write!(f, "{value}")
            }
            Err(_) => write!(f, "<{} bytes, not JSON>", self.0.len()),
        }
    }
}

fn redact(value: &mut serde_json::Value) {
    // Keys that hold a credential wherever they appear in the name.
    const SENSITIVE: [&str; 7] = [
        "token",
        "password",
        "secret",
        "key",
        "credential",
        "authorization",
        "cookie",
    ];
    // Keys that are credentials only as whole names: a VNC answer's console tokens
    // (`redirect`, `direct`) and terminal URL.
    const SENSITIVE_NAMES: [&str; 3] = ["redirect", "direct", "terminal"];
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let k = k.to_ascii_lowercase();
                let sensitive = SENSITIVE.iter().any(|s| k.contains(s))
                    || SENSITIVE_NAMES.contains(&k.as_str());
                if sensitive && !v.is_null() {
                    *v = serde_json::Value::String("<redacted>".into());
                } else {
                    redact(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// Why waiting for an asynchronous task did not give a successful task.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TaskFailure {
    pub kind: TaskFailureKind,
    pub task_id: String,
    /// The last status seen (`FAILED`, `PAUSED`, `EXECUTING`, …), if the task was seen.
    pub status: Option<String>,
    /// The last progress seen, if the task was seen.
    pub progress: Option<f64>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// How a task wait ended without success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskFailureKind {
    /// The task ended with status `FAILED`.
    Failed,
    /// The task is `PAUSED` and the wait was told not to wait for paused tasks.
    Paused,
    /// The tower did not know the task during the whole grace period.
    NotFound,
    /// The task had not ended when the wait's timeout ran out.
    TimedOut,
}

impl fmt::Display for TaskFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = &self.task_id;
        match self.kind {
            TaskFailureKind::Failed => write!(f, "task {id} failed")?,
            TaskFailureKind::Paused => write!(f, "task {id} is paused")?,
            TaskFailureKind::NotFound => write!(f, "task {id} was not found")?,
            TaskFailureKind::TimedOut => write!(
                f,
                "task {id} did not end in time (last status {}, progress {})",
                self.status.as_deref().unwrap_or("unknown"),
                self.progress.map_or("unknown".into(), |p| p.to_string()),
            )?,
        }
        match (&self.error_code, &self.error_message) {
            (Some(code), Some(message)) => write!(f, ": {code}: {message}"),
            (None, Some(text)) | (Some(text), None) => write!(f, ": {text}"),
            (None, None) => Ok(()),
        }
    }
}

impl TaskFailure {
    /// A failure of `kind` for the task `task_id`; the details of the task as last seen are
    /// filled in by whoever saw it.
    pub fn new(kind: TaskFailureKind, task_id: impl Into<String>) -> Self {
        TaskFailure {
            kind,
            task_id: task_id.into(),
            status: None,
            progress: None,
            error_code: None,
            error_message: None,
        }
    }
}
