//! Waiting until no task is changing a resource.
//!
//! Since 3.3.0 CloudTower refuses a mutation on a resource that another task is changing
//! (HTTP 400, code `ResourceLocked`: [`Error::is_resource_locked`]). Such a resource has an
//! `entityAsyncStatus` (`CREATING`, `UPDATING`, `DELETING`) until the task ends; the advice is
//! to wait until it is null, then try again:
//!
//! ```no_run
//! # async fn demo(client: cloudtower_api::Client, params: cloudtower_api::models::VmStartParams, ids: Vec<String>) -> Result<(), cloudtower_api::Error> {
//! use cloudtower_api::models::Vm;
//!
//! let started = match client.start_vm(&params).await {
//!     Err(e) if e.is_resource_locked() => {
//!         client.wait_until_idle::<Vm>(&ids, &Default::default()).await?;
//!         client.start_vm(&params).await?
//!     }
//!     other => other?,
//! };
//! # let _ = started; Ok(()) }
//! ```

use std::collections::{HashMap, HashSet};

use tokio::time::Instant;

use crate::codec::Decode;
use crate::error::{ResolveKey, WorkflowError};
use crate::pagination::RereadById;
use crate::tasks::WaitOptions;
use crate::{Client, Error};

/// A resource whose `entityAsyncStatus` says whether a task is changing it. Implemented for
/// the list item types (re-read by id) that have that field.
pub trait AsyncStatus: RereadById + Decode + Clone {
    /// The resource type, for errors (`Vm`).
    fn resource(dyn_type: &Self::DynamicType) -> &'static str;
    /// The `entityAsyncStatus` as sent (`UPDATING`, …), or `None` when it is null or absent:
    /// no task is changing the resource.
    fn entity_async_status(&self) -> Option<&str>;
}

impl Client {
    /// Waits until no task is changing the resources with these ids (their
    /// `entityAsyncStatus` is null), and returns each as it was first read idle, in the order
    /// of `ids` (an id given twice comes back twice).
    ///
    /// Re-reads the busy ones by id ([`reread`](Self::reread)'s requests), at once and then
    /// after the pauses of `options` (`interval`, growing by `backoff` up to `max_interval`),
    /// until `options.timeout`, which also bounds a read in flight; its `not_found_grace` and
    /// `on_paused` play no part. Then it is [`WorkflowError::StillBusy`], naming the ids still busy
    /// and their last status. Transient errors ([`Error::is_retryable`]) are read through
    /// until the timeout, like a task wait's.
    ///
    /// A resource that does not exist, or no longer does (deleted meanwhile), ends the wait
    /// with [`WorkflowError::NotFound`] for its id: it will never be idle.
    ///
    /// A resource seen idle is not read again: a task starting on it later is not waited for.
    pub async fn wait_until_idle<T: AsyncStatus>(
        &self,
        ids: &[String],
        options: &WaitOptions,
    ) -> Result<Vec<T>, Error>
    where
        T::DynamicType: Default,
    {
        self.wait_until_idle_with(&T::DynamicType::default(), ids, options)
            .await
    }

    /// [`wait_until_idle`](Self::wait_until_idle) for resources known only at run time:
    /// `dyn_type` says which resource they are.
    pub async fn wait_until_idle_with<T: AsyncStatus>(
        &self,
        dyn_type: &T::DynamicType,
        ids: &[String],
        options: &WaitOptions,
    ) -> Result<Vec<T>, Error> {
        let deadline = crate::time::deadline_after(Instant::now(), options.timeout);
        let mut delay = options.interval;
        let mut wanted: HashSet<&str> = HashSet::with_capacity(ids.len());
        // Each busy resource and its last status (`None` until read).
        let mut busy: Vec<(&str, Option<String>)> = ids
            .iter()
            .filter(|id| wanted.insert(id.as_str()))
            .map(|id| (id.as_str(), None))
            .collect();
        let mut idle: HashMap<&str, T> = HashMap::with_capacity(busy.len());
        let still_busy = |busy: &[(&str, Option<String>)]| -> Error {
            WorkflowError::StillBusy {
                resource: T::resource(dyn_type),
                timeout: options.timeout,
                busy: busy
                    .iter()
                    .map(|(id, status)| {
                        let status = status.as_deref().unwrap_or("unknown");
                        ((*id).to_owned(), status.to_owned())
                    })
                    .collect(),
            }
            .into()
        };
        while !busy.is_empty() {
            let pending: Vec<&str> = busy.iter().map(|(id, _)| *id).collect();
            let read = tokio::time::timeout_at(deadline, self.reread_ids::<T>(dyn_type, &pending));
            match read.await {
                Err(_) => return Err(still_busy(&busy)),
                Ok(Ok(mut current)) => {
                    let mut still = Vec::with_capacity(busy.len());
                    for (id, _) in busy {
                        let Some(resource) = current.remove(id) else {
                            return Err(WorkflowError::NotFound {
                                resource: T::resource(dyn_type),
                                key: id.to_owned(),
                                searched: &[ResolveKey::Id],
                            }
                            .into());
                        };
                        match resource.entity_async_status().map(str::to_owned) {
                            None => {
                                idle.insert(id, resource);
                            }
                            status => still.push((id, status)),
                        }
                    }
                    busy = still;
                }
                Ok(Err(error)) if error.is_retryable() => {
                    tracing::warn!(%error, "reading resources failed; reading again");
                }
                Ok(Err(error)) => return Err(error),
            }
            if busy.is_empty() {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(still_busy(&busy));
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
            delay = crate::time::grow(delay, options.backoff, options.max_interval);
        }
        Ok(ids
            .iter()
            .filter_map(|id| idle.get(id.as_str()).cloned())
            .collect())
    }
}
