//! The one error type of the SDK: an [`Error`] is a [`Context`] (which call failed: its
//! operation, the tower's request id, the endpoint), stored once, and an [`ErrorKind`] grouped
//! the way a caller handles failures:
//!
//! | kind | what happened | was anything done? |
//! |---|---|---|
//! | [`Construction`](ErrorKind::Construction) | the request, the configuration or the tower's version ruled the call out | nothing was sent |
//! | [`Timeout`](ErrorKind::Timeout) | the call's timeout ran out | a mutation may have taken effect |
//! | [`Dispatch`](ErrorKind::Dispatch) | no answer: transport, a middleware layer, no single active endpoint | maybe, for a mutation |
//! | [`Response`](ErrorKind::Response) | an answer that cannot be used: a redirect, too large, not decodable | yes, for a mutation |
//! | [`Service`](ErrorKind::Service) | the tower refused with an error status | no |
//! | [`Workflow`](ErrorKind::Workflow) | a task failed, a resource was not found or is still busy, logging in again failed | depends |
//! | [`Io`](ErrorKind::Io) | reading a local file or stream failed (uploads) | no |
//!
//! Whether a failure is transient ([`Error::is_retryable`]) is decided here, per kind; which
//! policy of the client a transient failure goes to (retries, failover, re-login, lock waits)
//! is the client's (`client/classify.rs`).
//!
//! This module depends on nothing above it (only the codec's errors): what an error needs
//! to describe (an endpoint's health answer, a version bound, a resolve key) is defined here
//! and re-exported where it is used.

use std::fmt;
use std::time::Duration;

mod body;
mod construction;
mod dispatch;
mod response;
mod service;
mod task;
mod workflow;

pub use body::{ErrorBody, RawBody};
pub use construction::{ConstructionError, Since};
pub(crate) use dispatch::describe_answers;
pub use dispatch::{DispatchError, EndpointAnswer, EndpointHealth, TransportError};
pub use response::ResponseError;
pub use service::{LockedResource, ServiceError};
pub use task::{TaskFailure, TaskFailureKind};
pub use workflow::{ResolveKey, WorkflowError};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Anything that can go wrong calling CloudTower.
///
/// ```no_run
/// # async fn demo(err: cloudtower_api::Error) {
/// use cloudtower_api::error::{ErrorKind, WorkflowError};
/// match err.kind() {
///     _ if err.status() == Some(404) => println!("not found"),
///     _ if err.is_resource_locked() => println!("locked: {:?}", err.locked_resources()),
///     ErrorKind::Workflow(WorkflowError::Task(failure)) => {
///         println!("task {} failed: {:?}", failure.task_id, failure.error_message)
///     }
///     _ if err.is_retryable() => println!("try again later: {err}"),
///     _ => println!("{err} (request id {:?})", err.request_id()),
/// }
/// # }
/// ```
///
/// Boxed, so that a `Result<T, Error>` is one pointer wider than `T` at most, however large
/// the kinds grow (a `Result<(), Error>` is one pointer).
pub struct Error(Box<Inner>);

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    context: Context,
}

/// Which call an error belongs to, filled in by the call pipeline (`Client::execute`) once
/// for every kind, and by the helpers that name the operation they ran.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Context {
    /// The operation (`get-vms`), or the helper that sent it.
    pub operation: Option<&'static str>,
    /// The `x-tower-request-id` of the answer, when one came with it.
    pub request_id: Option<String>,
    /// The endpoint the call was sent to (its API base URL), when one was chosen.
    pub endpoint: Option<String>,
}

/// What went wrong, grouped by how a caller handles it (see the [module](self) table).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Nothing was sent.
    #[error(transparent)]
    Construction(ConstructionError),
    /// The call did not end within its timeout.
    #[error(transparent)]
    Timeout(CallTimeout),
    /// No usable answer came.
    #[error(transparent)]
    Dispatch(DispatchError),
    /// An answer came that cannot be used.
    #[error(transparent)]
    Response(ResponseError),
    /// The tower answered with an error status.
    #[error(transparent)]
    Service(ServiceError),
    /// A helper made of several calls did not get what it was after.
    #[error(transparent)]
    Workflow(WorkflowError),
    /// Reading a local file or stream failed.
    #[error(transparent)]
    Io(IoError),
}

/// The call did not end within its timeout
/// ([`Client::with_call_timeout`](crate::Client::with_call_timeout)): every attempt, the
/// waits between retries and logging in again included. A mutation may have taken effect.
#[derive(Debug, thiserror::Error)]
#[error("no answer within the call's timeout of {timeout:?}")]
#[non_exhaustive]
pub struct CallTimeout {
    pub timeout: Duration,
}

/// Reading a local file or stream failed (uploads).
#[derive(Debug, thiserror::Error)]
#[error("{message}: {source}")]
#[non_exhaustive]
pub struct IoError {
    /// What was being read.
    pub message: String,
    #[source]
    pub source: std::io::Error,
}

macro_rules! into_kind {
    ($($variant:ident($type:ty)),* $(,)?) => {$(
        impl From<$type> for ErrorKind {
            fn from(error: $type) -> Self {
                ErrorKind::$variant(error)
            }
        }
        impl From<$type> for Error {
            fn from(error: $type) -> Self {
                Error::new(ErrorKind::$variant(error))
            }
        }
    )*};
}

into_kind!(
    Construction(ConstructionError),
    Timeout(CallTimeout),
    Dispatch(DispatchError),
    Response(ResponseError),
    Service(ServiceError),
    Workflow(WorkflowError),
    Io(IoError),
);

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error::new(kind)
    }
}

impl From<TaskFailure> for Error {
    fn from(failure: TaskFailure) -> Self {
        WorkflowError::Task(failure).into()
    }
}

impl From<TransportError> for Error {
    fn from(source: TransportError) -> Self {
        DispatchError::Transport(source).into()
    }
}

impl Error {
    /// An error of `kind` with no context yet.
    pub fn new(kind: impl Into<ErrorKind>) -> Self {
        Error(Box::new(Inner {
            kind: kind.into(),
            context: Context::default(),
        }))
    }

    /// A configuration error (helpers outside this crate report bad settings this way).
    pub fn config(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        ConstructionError::Config {
            message: message.into(),
            source: source.into(),
        }
        .into()
    }

    /// The call cannot be made this way; nothing was sent.
    pub fn unsupported(operation: &'static str, reason: &'static str) -> Self {
        Error::from(ConstructionError::Unsupported { reason }).with_operation(operation)
    }

    /// The answers of `operation` cannot be used as they are (see
    /// [`ResponseError::Protocol`]).
    pub fn protocol(operation: &'static str, reason: impl Into<String>) -> Self {
        Error::from(ResponseError::Protocol {
            reason: reason.into(),
        })
        .with_operation(operation)
    }

    /// Reading a local file or stream failed; `message` says what was being read.
    pub fn io(message: impl Into<String>, source: std::io::Error) -> Self {
        IoError {
            message: message.into(),
            source,
        }
        .into()
    }

    /// The same error, as a failure of `operation`.
    pub fn with_operation(mut self, operation: &'static str) -> Self {
        self.0.context.operation = Some(operation);
        self
    }

    /// The same error, with the request id of the answer it came with.
    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.0.context.request_id = request_id;
        self
    }

    /// The same error, as a failure at `endpoint` (an API base URL).
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.0.context.endpoint = Some(endpoint.into());
        self
    }

    /// The same error as a failure of `operation`, unless it already names one (the call
    /// pipeline fills in what the phases left out).
    pub(crate) fn in_operation(mut self, operation: &'static str) -> Self {
        self.0.context.operation.get_or_insert(operation);
        self
    }

    /// The transport error this is, or the error itself when it is another.
    pub(crate) fn into_transport(self) -> Result<TransportError, Error> {
        match self.0.kind {
            ErrorKind::Dispatch(DispatchError::Transport(source)) => Ok(source),
            _ => Err(self),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// What went wrong, taken out of the error.
    pub fn into_kind(self) -> ErrorKind {
        self.0.kind
    }

    /// Which call the error belongs to.
    pub fn context(&self) -> &Context {
        &self.0.context
    }

    /// What kind of error this is, in one word for traces and metrics (OpenTelemetry's
    /// `error.type`): `Status`, `Transport`, `Decode`, … (the names are stable).
    pub fn type_name(&self) -> &'static str {
        match &self.0.kind {
            ErrorKind::Construction(e) => match e {
                ConstructionError::InvalidRequest { .. } => "InvalidRequest",
                ConstructionError::Encode { .. } => "Encode",
                ConstructionError::Unsupported { .. } => "Unsupported",
                ConstructionError::HeaderParameter { .. } => "HeaderParameter",
                ConstructionError::Config { .. } => "Config",
                ConstructionError::ServerTooOld { .. } => "ServerTooOld",
            },
            ErrorKind::Timeout(_) => "TimedOut",
            ErrorKind::Dispatch(e) => match e {
                DispatchError::Transport(_) => "Transport",
                DispatchError::Middleware(_) => "Middleware",
                DispatchError::NoActiveEndpoint { .. } => "NoActiveEndpoint",
                DispatchError::SeveralActiveEndpoints { .. } => "SeveralActiveEndpoints",
                DispatchError::FailoverNeeded => "FailoverNeeded",
            },
            ErrorKind::Response(e) => match e {
                ResponseError::Redirect { .. } => "Redirect",
                ResponseError::BodyTooLarge { .. } => "BodyTooLarge",
                ResponseError::Decode { .. } => "Decode",
                ResponseError::Protocol { .. } => "Protocol",
            },
            ErrorKind::Service(_) => "Status",
            ErrorKind::Workflow(e) => match e {
                WorkflowError::Task(_) => "Task",
                WorkflowError::NotFound { .. } => "NotFound",
                WorkflowError::Ambiguous { .. } => "Ambiguous",
                WorkflowError::StillBusy { .. } => "StillBusy",
                WorkflowError::Reauthentication(_) => "Reauthentication",
            },
            ErrorKind::Io(_) => "Io",
        }
    }

    /// The login's own error, when logging in again failed.
    fn reauthentication(&self) -> Option<&Error> {
        match &self.0.kind {
            ErrorKind::Workflow(WorkflowError::Reauthentication(login)) => Some(login),
            _ => None,
        }
    }

    /// The operation that failed (`get-vms`), when the error belongs to one call.
    pub fn operation(&self) -> Option<&'static str> {
        self.0.context.operation
    }

    /// The `x-tower-request-id` of the answer, to quote to SmartX support (the login's,
    /// when logging in again failed).
    pub fn request_id(&self) -> Option<&str> {
        match &self.0.context.request_id {
            Some(id) => Some(id),
            None => self.reauthentication()?.request_id(),
        }
    }

    /// The endpoint the call was sent to (its API base URL), when one was chosen.
    pub fn endpoint(&self) -> Option<&str> {
        self.0.context.endpoint.as_deref()
    }

    /// The refusal of the tower, when the error is one (also when logging in again).
    pub fn service_error(&self) -> Option<&ServiceError> {
        match &self.0.kind {
            ErrorKind::Service(refusal) => Some(refusal),
            _ => self.reauthentication()?.service_error(),
        }
    }

    /// The failure of a task wait, when the error is one.
    pub fn task_failure(&self) -> Option<&TaskFailure> {
        match &self.0.kind {
            ErrorKind::Workflow(WorkflowError::Task(failure)) => Some(failure),
            _ => None,
        }
    }

    /// The failure of a task wait taken out of the error, or the error itself when it is
    /// another.
    pub fn into_task_failure(self) -> Result<TaskFailure, Error> {
        match self.0.kind {
            ErrorKind::Workflow(WorkflowError::Task(failure)) => Ok(failure),
            _ => Err(self),
        }
    }

    /// The HTTP status of an error answer or a redirect.
    pub fn status(&self) -> Option<u16> {
        match &self.0.kind {
            ErrorKind::Response(ResponseError::Redirect { status, .. }) => Some(*status),
            _ => self.service_error().map(ServiceError::status),
        }
    }

    /// The decoded `ErrorBody` of an error answer.
    pub fn error_body(&self) -> Option<&ErrorBody> {
        self.service_error()?.body()
    }

    /// The raw body of an answer that was an error or did not decode.
    pub fn raw_body(&self) -> Option<&[u8]> {
        match &self.0.kind {
            ErrorKind::Response(ResponseError::Decode { raw, .. }) => Some(raw.as_bytes()),
            _ => Some(self.service_error()?.raw.as_bytes()),
        }
    }

    /// How long a 429 or 503 answer asked to wait before trying again (`Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match &self.0.kind {
            ErrorKind::Service(refusal) => refusal.retry_after,
            _ => None,
        }
    }

    /// Whether the same call may succeed later unchanged: connection failures, timeouts,
    /// connections dropped before or while answering (a proxy or the tower closing an idle
    /// keep-alive connection), a pair between roles (no active endpoint for a moment),
    /// 502/503/504 from a tower that is restarting or overloaded, 429 (too many requests),
    /// and a re-login that failed for one of these (a restarted tower that dropped its
    /// sessions and does not answer yet). A mutation may have taken effect all the same: the
    /// client retries reads only.
    ///
    /// This is the one definition of an outage: the client's retries, task waits, the
    /// upload's wait and the change watch ride out exactly these errors.
    pub fn is_retryable(&self) -> bool {
        match &self.0.kind {
            ErrorKind::Dispatch(failure) => failure.is_transient(),
            ErrorKind::Timeout(_) => true,
            ErrorKind::Service(refusal) => refusal.is_transient(),
            ErrorKind::Workflow(WorkflowError::Reauthentication(login)) => login.is_retryable(),
            _ => false,
        }
    }

    /// Whether the call, the task wait or the wait for idle resources ran out of time.
    pub fn is_timeout(&self) -> bool {
        match &self.0.kind {
            ErrorKind::Dispatch(DispatchError::Transport(source)) => source.is_timeout(),
            ErrorKind::Timeout(_) => true,
            ErrorKind::Workflow(WorkflowError::Task(failure)) => {
                failure.kind == TaskFailureKind::TimedOut
            }
            ErrorKind::Workflow(WorkflowError::StillBusy { .. }) => true,
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
        self.service_error()
            .is_some_and(|refusal| refusal.code() == Some("ResourceLocked"))
    }

    /// The resources a `ResourceLocked` refusal names (`props.locked_resources`), in the
    /// order sent; entries without an `id` are left out. `None` for any other error.
    pub fn locked_resources(&self) -> Option<Vec<LockedResource>> {
        self.service_error()?.locked_resources()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Inner { kind, context } = &*self.0;
        if let Some(operation) = context.operation {
            write!(f, "{operation}: ")?;
        }
        match (kind, &context.endpoint) {
            // The endpoint is the subject of this one message.
            (ErrorKind::Dispatch(DispatchError::FailoverNeeded), Some(endpoint)) => write!(
                f,
                "{endpoint} is passive (HTTP 307): a failover to the active endpoint is needed"
            ),
            (kind, _) => write!(f, "{kind}"),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.0.kind)
            .field("context", &self.0.context)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_is_one_pointer_wide() {
        assert_eq!(
            std::mem::size_of::<Result<(), Error>>(),
            std::mem::size_of::<usize>()
        );
    }

    /// The error module depends on nothing above it: its code names, of this crate, only
    /// itself and the codec (a leaf). Documentation links may point anywhere.
    #[test]
    fn the_error_module_uses_nothing_above_it() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/error");
        // Spelled so that this test does not find itself.
        let (path_of_crate, reach_up) = (concat!("crate", "::"), concat!("super::", "super"));
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            checked += 1;
            for (number, line) in text.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                for (at, _) in code.match_indices(path_of_crate) {
                    let named = &code[at + path_of_crate.len()..];
                    assert!(
                        ["error", "codec"]
                            .iter()
                            .any(|leaf| named.starts_with(leaf)),
                        "{}:{}: the error module names the crate's `{}`",
                        path.display(),
                        number + 1,
                        named
                            .split(|c: char| !c.is_alphanumeric() && c != '_')
                            .next()
                            .unwrap_or("")
                    );
                }
                assert!(
                    !code.contains(reach_up),
                    "{}:{}: the error module reaches above itself",
                    path.display(),
                    number + 1
                );
            }
        }
        assert!(checked >= 8, "only {checked} files of src/error were read");
    }

    #[test]
    fn the_error_is_sendable_and_static() {
        fn check<E: std::error::Error + Send + Sync + 'static>() {}
        check::<Error>();
    }
}
