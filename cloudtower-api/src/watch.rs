//! A stream of resource changes, over `GET /resource-changes`.
//!
//! The tower numbers every change with a revision (a decimal string, compared as a number
//! of any length). [`Client::watch_resource_changes`] asks for the changes from a revision
//! on, yields them one by one, remembers where it is, and polls again. Transient errors are
//! yielded as [`WatchError::Request`] or [`WatchError::Server`] and the stream goes on after
//! a growing pause (the client itself already retries 502–504 and timeouts on this read); a start revision that the tower has already compacted away ends the
//! stream with [`WatchError::Compacted`] (re-read the state you track, then watch again from
//! the current revision).
//!
//! ```no_run
//! # async fn demo(client: cloudtower_api::Client) {
//! use futures_util::StreamExt;
//! use cloudtower_api::watch::WatchOptions;
//!
//! let options = WatchOptions { resource_type: Some("Vm".into()), ..Default::default() };
//! let mut changes = std::pin::pin!(client.watch_resource_changes(options));
//! while let Some(change) = changes.next().await {
//!     match change {
//!         Ok(event) => println!("{} {:?} {:?}", event.revision, event.action, event.resource_id),
//!         Err(error) => eprintln!("{error}"),
//!     }
//! }
//! # }
//! ```

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{stream, Stream};

use crate::models::{GetResourceChangesParams, ResourceChangeEvent, ResourceChangeResponse};
use crate::{Client, Error};

/// What to watch and how often to ask.
#[derive(Clone, Debug, PartialEq)]
pub struct WatchOptions {
    /// The first revision to report; `None` starts after the current revision (only changes
    /// from now on).
    pub start_revision: Option<String>,
    /// Only changes of this resource type (`Vm`, …).
    pub resource_type: Option<String>,
    /// Only changes of this resource.
    pub resource_id: Option<String>,
    /// Only changes of this kind (`CREATE`, `UPDATE`, `DELETE`, …).
    pub action: Option<String>,
    /// Changes per request (1–1000; the tower's default when `None`).
    pub limit: Option<i32>,
    /// The pause between two requests that found nothing new (default 1 s).
    pub poll_interval: Duration,
    /// The pause after the first error; it doubles at each further error (default 500 ms).
    pub initial_backoff: Duration,
    /// The longest pause after errors (default 30 s).
    pub max_backoff: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            start_revision: None,
            resource_type: None,
            resource_id: None,
            action: None,
            limit: None,
            poll_interval: Duration::from_secs(1),
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// Why the watch could not deliver changes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// The changes from `requested` on are gone (the tower kept only those from
    /// `compact_revision` on). The stream ends.
    #[error("resource changes from revision {requested} were compacted (the tower keeps them from revision {compact_revision})")]
    Compacted {
        requested: String,
        compact_revision: String,
    },
    /// The request failed; the stream goes on after a pause when the error is transient and
    /// ends otherwise.
    #[error(transparent)]
    Request(Error),
    /// The tower answered with an error (`ec`, `error`); the stream goes on after a pause.
    #[error("the tower reported an error watching changes ({ec}): {error}")]
    Server {
        ec: String,
        error: serde_json::Value,
    },
    /// The tower sent a revision that is not a decimal number. The stream ends.
    #[error("invalid revision {0:?} (expected a decimal number)")]
    InvalidRevision(String),
}

impl WatchError {
    /// Whether the stream goes on after this error: connection failures, timeouts (the
    /// client's and [`Client::with_call_timeout`]'s), 5xx and 429 answers, a re-login that
    /// failed for one of those, and errors the tower reports in its answer. A 4xx answer (after the
    /// client's own re-login), an undecodable answer and a compaction end the stream.
    pub fn is_transient(&self) -> bool {
        match self {
            // The outages a task wait rides out (`Error::is_retryable`), and any 5xx: a watch
            // runs for days, through tower upgrades that answer 500 for a while.
            WatchError::Request(error) => {
                error.is_retryable() || error.status().is_some_and(|status| status >= 500)
            }
            WatchError::Server { .. } => true,
            WatchError::Compacted { .. } | WatchError::InvalidRevision(_) => false,
        }
    }
}

/// Compares two decimal revisions as numbers (any length; leading zeros ignored).
pub fn compare_revisions(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The revision after `revision` (`"1999"` → `"2000"`), or `None` when it is not a decimal
/// number.
pub fn next_revision(revision: &str) -> Option<String> {
    if revision.is_empty() || !revision.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut digits = revision.as_bytes().to_vec();
    for digit in digits.iter_mut().rev() {
        if *digit == b'9' {
            *digit = b'0';
        } else {
            *digit += 1;
            return String::from_utf8(digits).ok();
        }
    }
    digits.insert(0, b'1');
    String::from_utf8(digits).ok()
}

struct State {
    client: Client,
    options: WatchOptions,
    /// The next revision to ask for (`None` before the first answer when starting from now).
    next: Option<String>,
    buffer: VecDeque<ResourceChangeEvent>,
    /// The pause before the next request.
    pause: Duration,
    backoff: Duration,
    done: bool,
}

impl Client {
    /// Streams resource changes; see the [module docs](crate::watch). The stream never ends
    /// by itself except on [`WatchError::Compacted`] and non-transient errors; drop it to
    /// stop watching.
    pub fn watch_resource_changes(
        &self,
        options: WatchOptions,
    ) -> impl Stream<Item = Result<ResourceChangeEvent, WatchError>> + Send + 'static {
        let state = State {
            client: self.clone(),
            next: options.start_revision.clone(),
            buffer: VecDeque::new(),
            pause: Duration::ZERO,
            backoff: options.initial_backoff,
            options,
            done: false,
        };
        stream::unfold(state, |mut state| async move {
            loop {
                if let Some(event) = state.buffer.pop_front() {
                    return Some((Ok(event), state));
                }
                if state.done {
                    return None;
                }
                if !state.pause.is_zero() {
                    tokio::time::sleep(state.pause).await;
                }
                if let Err(error) = state.poll().await {
                    if error.is_transient() {
                        state.pause = state.backoff;
                        state.backoff =
                            cloudtower_runtime::time::grow(state.backoff, 2.0, state.options.max_backoff);
                    } else {
                        state.done = true;
                    }
                    return Some((Err(error), state));
                }
            }
        })
    }
}

impl State {
    async fn poll(&mut self) -> Result<(), WatchError> {
        // Fields a newer spec adds keep their defaults (codegen/src/helpers.rs).
        #[allow(clippy::needless_update)]
        let params = GetResourceChangesParams {
            start_revision: self.next.clone(),
            resource_type: self.options.resource_type.clone(),
            resource_id: self.options.resource_id.clone(),
            action: self.options.action.clone(),
            limit: self.options.limit,
            ..Default::default()
        };
        let answer: ResourceChangeResponse = self
            .client
            .get_resource_changes(&params)
            .await
            .map_err(WatchError::Request)?;
        if let Some(requested) = &self.next {
            if !answer.compact_revision.is_empty()
                && compare_revisions(requested, &answer.compact_revision) == Ordering::Less
            {
                return Err(WatchError::Compacted {
                    requested: requested.clone(),
                    compact_revision: answer.compact_revision,
                });
            }
        }
        if let Some(error) = answer.error.filter(|e| !e.is_null()) {
            return Err(WatchError::Server {
                ec: answer.ec,
                error,
            });
        }
        self.backoff = self.options.initial_backoff;
        let Some(next) = self.next.clone() else {
            // Starting from now: the changes after the current revision.
            self.next = Some(
                next_revision(&answer.current_revision)
                    .ok_or(WatchError::InvalidRevision(answer.current_revision))?,
            );
            self.pause = Duration::ZERO;
            return Ok(());
        };
        let full = self
            .options
            .limit
            .is_some_and(|limit| answer.data.len() >= limit.max(1) as usize);
        let mut next = next;
        let mut delivered = false;
        for event in answer.data {
            if compare_revisions(&event.revision, &next) == Ordering::Less {
                continue; // Already delivered.
            }
            next = next_revision(&event.revision)
                .ok_or_else(|| WatchError::InvalidRevision(event.revision.clone()))?;
            self.buffer.push_back(event);
            delivered = true;
        }
        self.next = Some(next);
        // A full page of new changes means more is waiting: ask again at once. A full page of
        // old ones (a tower that ignores `start_revision`, or is off by one) would bring the
        // same page back: asking at once would flood it without ever yielding.
        self.pause = if full && delivered {
            Duration::ZERO
        } else {
            self.options.poll_interval
        };
        Ok(())
    }
}
