//! The tower's own refusal: an error status, with what its body says.

use std::fmt;
use std::time::Duration;

use super::body::{ErrorBody, RawBody};

/// The server answered with an error status (4xx, 5xx).
#[derive(Debug)]
#[non_exhaustive]
pub struct ServiceError {
    /// The HTTP status.
    pub status: u16,
    /// The decoded `ErrorBody`, when the server sent one.
    pub body: Option<ErrorBody>,
    /// The raw response body (at most the client's error-body limit, 64 KiB by default).
    pub raw: RawBody,
    /// The `Retry-After` of a 429 or 503 answer, when it gave one.
    pub retry_after: Option<Duration>,
}

impl ServiceError {
    /// An error answer of `status` with the body `raw`, decoded as `body` when it is one.
    pub fn new(status: u16, body: Option<ErrorBody>, raw: RawBody) -> Self {
        ServiceError {
            status,
            body,
            raw,
            retry_after: None,
        }
    }

    /// The same answer with the wait its `Retry-After` asked for.
    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The decoded `ErrorBody`, when the server sent one.
    pub fn body(&self) -> Option<&ErrorBody> {
        self.body.as_ref()
    }

    /// The error code of the body (`ResourceLocked`, `VmNotFound`, …), when it has one.
    pub fn code(&self) -> Option<&str> {
        self.body.as_ref()?.code.as_deref()
    }

    /// Whether the same call may succeed later: 502/503/504 from a tower that is restarting
    /// or overloaded, 429 (too many requests).
    pub(super) fn is_transient(&self) -> bool {
        matches!(self.status, 429 | 502..=504)
    }

    /// The resources a `ResourceLocked` refusal names (`props.locked_resources`), in the
    /// order sent; entries without an `id` are left out. `None` for any other refusal.
    pub fn locked_resources(&self) -> Option<Vec<LockedResource>> {
        if self.code() != Some("ResourceLocked") {
            return None;
        }
        let listed = self
            .body
            .as_ref()?
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

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        match &self.body {
            Some(body) => write!(f, ": {}", body.message),
            None => Ok(()),
        }
    }
}

impl std::error::Error for ServiceError {}

/// A resource that a `ResourceLocked` refusal says another task is changing.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LockedResource {
    pub id: String,
    /// Its type as the tower names it (`Vm`, `VmVolume`, …), when given.
    pub resource_type: Option<String>,
}
