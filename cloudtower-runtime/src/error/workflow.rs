//! Errors of the helpers built on calls: task waits, finding a resource by key, waiting for
//! resources to be idle, and the shared re-login.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::task::TaskFailure;
use super::Error;

/// Why a helper made of several calls did not get what it was after.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkflowError {
    /// An asynchronous task failed, paused, vanished or did not end in time.
    #[error("{0}")]
    Task(TaskFailure),
    /// No resource of this type has `key` as any of the fields searched
    /// ([`Client::resolve`](crate::Client::resolve)), or a resource being waited for
    /// ([`Client::wait_until_idle`](crate::Client::wait_until_idle)) no longer exists.
    #[error("no {resource} has {} {key:?}", either(searched))]
    #[non_exhaustive]
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
    #[non_exhaustive]
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
    #[non_exhaustive]
    StillBusy {
        /// The resource type (`Vm`).
        resource: &'static str,
        /// How long the wait waited.
        timeout: Duration,
        /// Each resource still busy: its id and its last `entityAsyncStatus` (`UPDATING`, …;
        /// `unknown` when it was never read).
        busy: Vec<(String, String)>,
    },
    /// Logging in again after a 401 failed (the login's own error, with its context). Every
    /// call that was waiting for that login gets the same failure, and so does every call
    /// until the next attempt is due (the delay doubles at each failure), so that a changed
    /// password does not lock the account.
    #[error("logging in again failed: {0}")]
    Reauthentication(Arc<Error>),
}

/// A field [`Client::resolve`](crate::Client::resolve) matches a key against, in the order it
/// tries them.
///
/// Defined with the errors that name it so that the error module depends on nothing above
/// it; [`resolve`](crate::resolve) re-exports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResolveKey {
    /// The CloudTower id (`id`).
    Id,
    /// The id SMTX OS gives the resource in its cluster (`local_id`).
    LocalId,
    /// The name (`name`), matched exactly.
    Name,
}

impl ResolveKey {
    /// The field's name on the wire (`id`, `local_id`, `name`).
    pub fn as_str(self) -> &'static str {
        match self {
            ResolveKey::Id => "id",
            ResolveKey::LocalId => "local_id",
            ResolveKey::Name => "name",
        }
    }
}

impl fmt::Display for ResolveKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
