//! Waiting for CloudTower's asynchronous tasks.
//!
//! Every mutation answers at once with the affected resources and the id of a task doing the
//! work. [`Client::wait_tasks_as`] (the generated client's `wait_tasks`) polls `get-tasks` for many tasks in one request per poll, and
//! [`WaitForTasks::wait`] does so straight from a mutation's answer:
//!
//! ```no_run
//! # async fn demo(client: cloudtower_api::Client) -> Result<(), cloudtower_api::Error> {
//! use cloudtower_api::models::{VmStartParams, VmWhereInput};
//! use cloudtower_api::WaitForTasks;
//!
//! let params = VmStartParams {
//!     r#where: VmWhereInput { name: "web-1".to_string().into(), ..Default::default() },
//!     ..Default::default()
//! };
//! let vms = client.start_vm(&params).await?.wait(&client).await?;
//! println!("started {} VM(s)", vms.len());
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::contract::{TaskClient, TaskModel, TaskState};
use crate::error::{TaskFailure, TaskFailureKind};
use crate::{Client, Error, WithTask};

/// How to wait for tasks.
///
/// The defaults poll after 1 s, then ever less often (×1.5) up to every 5 s: most tasks end
/// within seconds and are seen ending soon, while a long task costs one request per 5 s like
/// the official SDKs. They give up after 300 s (the official SDKs' limit) and treat a paused
/// task as an error, since it needs a person to resume it.
#[derive(Clone, Debug, PartialEq)]
pub struct WaitOptions {
    /// The delay before the second poll (the first one is immediate).
    pub interval: Duration,
    /// Each delay is the previous one times this factor (1.0 polls at a fixed interval).
    pub backoff: f64,
    /// The longest delay between two polls.
    pub max_interval: Duration,
    /// How long to wait in all before [`TaskFailureKind::TimedOut`].
    pub timeout: Duration,
    /// How long a task may be missing from the answers of `get-tasks` (not created yet, or
    /// deleted) before [`TaskFailureKind::NotFound`]. Only answers count: while polls fail
    /// (an outage), no task is missing, and the grace starts again after it.
    pub not_found_grace: Duration,
    /// What a `PAUSED` task means.
    pub on_paused: OnPaused,
}

/// What to do when a task is `PAUSED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnPaused {
    /// Stop waiting with [`TaskFailureKind::Paused`].
    Fail,
    /// Keep waiting (until the timeout) for someone to resume it.
    Wait,
}

/// How far a wait has come: what [`Client::wait_tasks_all_observed_as`] reports after each
/// poll (a progress bar's position).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WaitProgress {
    /// Tasks that have an outcome (succeeded, failed, paused, not found).
    pub ended: usize,
    /// Tasks waited for.
    pub total: usize,
    /// The mean of the tasks' progress, from 0.0 to 1.0: an ended task counts 1.0, a running
    /// one its last `progress` (0.0 until seen).
    pub fraction: f64,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            interval: Duration::from_secs(1),
            backoff: 1.5,
            max_interval: Duration::from_secs(5),
            timeout: Duration::from_secs(300),
            not_found_grace: Duration::from_secs(30),
            on_paused: OnPaused::Fail,
        }
    }
}

impl Client {
    /// Waits until every task succeeds, polling the unfinished ones with `get-tasks` (up to
    /// 100 ids a request, each asking for as many tasks as it names; ids a capped answer left
    /// out are asked again); returns them in the order of `task_ids`.
    ///
    /// Stops at the first task that fails (or pauses, unless told to wait), with
    /// [`WorkflowError::Task`](crate::error::WorkflowError::Task) ([`wait_tasks_all_as`](Self::wait_tasks_all_as) waits for every task
    /// and returns every outcome). Transient errors while polling (connection errors, 429, 502–504) are
    /// retried, with the polls' growing interval, until the timeout, which also bounds a poll
    /// in flight. Dropping the future stops the polling (the tasks themselves go on in
    /// CloudTower).
    ///
    /// `T` is the API's task type: the generated client's `wait_tasks_with` calls this with
    /// it.
    ///
    /// ```no_run
    /// # async fn demo(client: cloudtower_api::Client, ids: Vec<String>) -> Result<(), cloudtower_api::Error> {
    /// use std::time::Duration;
    /// use cloudtower_api::tasks::{OnPaused, WaitOptions};
    ///
    /// let options = WaitOptions {
    ///     timeout: Duration::from_secs(3600),
    ///     on_paused: OnPaused::Wait,
    ///     ..Default::default()
    /// };
    /// let tasks = client.wait_tasks_with(&ids, &options).await?;
    /// # let _ = tasks; Ok(()) }
    /// ```
    pub async fn wait_tasks_as<T: TaskModel>(
        &self,
        task_ids: &[String],
        options: &WaitOptions,
    ) -> Result<Vec<T>, Error> {
        self.settle_tasks(task_ids, options, Settle::FirstFailure, &mut |_| {})
            .await?
            .into_iter()
            .map(|outcome| outcome.map_err(Error::from))
            .collect()
    }

    /// Waits until every task has ended and returns every outcome, in the order of
    /// `task_ids`: the task when it succeeded, else why not ([`TaskFailureKind`]: failed,
    /// paused unless told to wait, not found, or not ended when the timeout ran out). Like
    /// the Python SDK's `exit_on_error=False`: a failed task does not stop the wait for the
    /// others.
    ///
    /// The outer error is for a wait that could not go on at all (a poll answered with an
    /// error that is not transient, such as 401). `T` is the API's task type: the generated
    /// client's `wait_tasks_all` calls this with it.
    ///
    /// ```no_run
    /// # async fn demo(client: cloudtower_api::Client, ids: Vec<String>) -> Result<(), cloudtower_api::Error> {
    /// let outcomes = client.wait_tasks_all(&ids, &Default::default()).await?;
    /// for (id, outcome) in ids.iter().zip(&outcomes) {
    ///     match outcome {
    ///         Ok(task) => println!("{id}: {:?}", task.status),
    ///         Err(failure) => println!("{id}: {failure}"),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn wait_tasks_all_as<T: TaskModel>(
        &self,
        task_ids: &[String],
        options: &WaitOptions,
    ) -> Result<Vec<Result<T, TaskFailure>>, Error> {
        self.settle_tasks(task_ids, options, Settle::All, &mut |_| {})
            .await
    }

    /// [`wait_tasks_all_as`](Self::wait_tasks_all_as), calling `on_poll` after every poll
    /// with how far the tasks have come (for a progress bar).
    pub async fn wait_tasks_all_observed_as<T: TaskModel>(
        &self,
        task_ids: &[String],
        options: &WaitOptions,
        on_poll: &mut (dyn FnMut(WaitProgress) + Send),
    ) -> Result<Vec<Result<T, TaskFailure>>, Error> {
        self.settle_tasks(task_ids, options, Settle::All, on_poll)
            .await
    }

    /// Polls until every task has an outcome, or, with [`Settle::FirstFailure`], until the
    /// first failure, which is then the error.
    async fn settle_tasks<T: TaskModel>(
        &self,
        task_ids: &[String],
        options: &WaitOptions,
        settle: Settle,
        on_poll: &mut (dyn FnMut(WaitProgress) + Send),
    ) -> Result<Vec<Result<T, TaskFailure>>, Error> {
        let started = Instant::now();
        let deadline = crate::time::deadline_after(started, options.timeout);
        let mut delay = options.interval;
        let mut outcomes: HashMap<&str, Result<T, TaskFailure>> = HashMap::new();
        // The last state of each unfinished task, and since when answers have lacked it
        // (`None` while it is found, or while the tower does not answer).
        let mut last_seen: HashMap<&str, (Option<T>, Option<Instant>)> = task_ids
            .iter()
            .map(|id| (id.as_str(), (None, Some(started))))
            .collect();
        // Distinct tasks: an id given twice is one task.
        let total = last_seen.len();
        // A task type is known when the code is built.
        let dyn_type = T::DynamicType::default();
        loop {
            // As `reread` asks: at most 100 ids a request, each with its `first`, and the ids a
            // capped answer left out asked again, so that a tower capping its answers does not
            // make the tasks past its cap look missing (and end as `NotFound`).
            let pending: Vec<&str> = last_seen.keys().copied().collect();
            let polled = self.reread_ids::<T>(&dyn_type, &pending);
            let answer = match tokio::time::timeout_at(deadline, polled).await {
                Ok(answer) => answer,
                Err(_) => {
                    for (id, (task, _)) in last_seen.drain() {
                        settle_failure(&mut outcomes, settle, id, TaskFailureKind::TimedOut, task)?;
                    }
                    break;
                }
            };
            match answer {
                Ok(tasks) => {
                    let now = Instant::now();
                    for (_, missing_since) in last_seen.values_mut() {
                        missing_since.get_or_insert(now);
                    }
                    for task in tasks.into_values() {
                        let Some((id, _)) = last_seen.get_key_value(task.id()) else {
                            continue;
                        };
                        let id = *id;
                        match task.state() {
                            TaskState::Succeeded => {
                                last_seen.remove(id);
                                outcomes.insert(id, Ok(task));
                            }
                            TaskState::Failed => {
                                last_seen.remove(id);
                                settle_failure(
                                    &mut outcomes,
                                    settle,
                                    id,
                                    TaskFailureKind::Failed,
                                    Some(task),
                                )?;
                            }
                            TaskState::Paused if options.on_paused == OnPaused::Fail => {
                                last_seen.remove(id);
                                settle_failure(
                                    &mut outcomes,
                                    settle,
                                    id,
                                    TaskFailureKind::Paused,
                                    Some(task),
                                )?;
                            }
                            _ => {
                                last_seen.insert(id, (Some(task), None));
                            }
                        }
                    }
                }
                Err(error) if error.is_retryable() => {
                    tracing::warn!(%error, "polling tasks failed; polling again");
                    // The tower did not say whether it knows the tasks.
                    for (_, missing_since) in last_seen.values_mut() {
                        *missing_since = None;
                    }
                }
                Err(error) => return Err(error),
            }
            let now = Instant::now();
            let missing: Vec<&str> = last_seen
                .iter()
                .filter(|(_, (_, missing_since))| {
                    missing_since.is_some_and(|since| now - since >= options.not_found_grace)
                })
                .map(|(id, _)| *id)
                .collect();
            for id in missing {
                let (task, _) = last_seen.remove(id).expect("listed above");
                settle_failure(&mut outcomes, settle, id, TaskFailureKind::NotFound, task)?;
            }
            on_poll(progress(total, &last_seen));
            if last_seen.is_empty() {
                break;
            }
            if now >= deadline {
                for (id, (task, _)) in last_seen.drain() {
                    settle_failure(&mut outcomes, settle, id, TaskFailureKind::TimedOut, task)?;
                }
                break;
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
            delay = crate::time::grow(delay, options.backoff, options.max_interval);
        }
        Ok(task_ids
            .iter()
            .filter_map(|id| outcomes.get(id.as_str()).cloned())
            .collect())
    }
}

/// How far `total` tasks have come, `running` being those without an outcome yet.
fn progress<T: TaskModel>(
    total: usize,
    running: &HashMap<&str, (Option<T>, Option<Instant>)>,
) -> WaitProgress {
    let ended = total - running.len();
    let running_sum: f64 = running
        .values()
        .filter_map(|(task, _)| task.as_ref()?.progress())
        .map(|p| {
            if p.is_finite() {
                p.clamp(0.0, 1.0)
            } else {
                0.0
            }
        })
        .sum();
    let fraction = if total == 0 {
        1.0
    } else {
        (ended as f64 + running_sum) / total as f64
    };
    WaitProgress {
        ended,
        total,
        fraction,
    }
}

/// Whether a wait ends at the first failure or waits for every task.
#[derive(Clone, Copy)]
enum Settle {
    FirstFailure,
    All,
}

/// Records how a task ended without success; with [`Settle::FirstFailure`], it is the error
/// that ends the wait.
fn settle_failure<'a, T: TaskModel>(
    outcomes: &mut HashMap<&'a str, Result<T, TaskFailure>>,
    settle: Settle,
    task_id: &'a str,
    kind: TaskFailureKind,
    task: Option<T>,
) -> Result<(), Error> {
    let failure = failure(kind, task_id, task);
    match settle {
        Settle::FirstFailure => Err(failure.into()),
        Settle::All => {
            outcomes.insert(task_id, Err(failure));
            Ok(())
        }
    }
}

fn failure<T: TaskModel>(kind: TaskFailureKind, task_id: &str, task: Option<T>) -> TaskFailure {
    let mut failure = TaskFailure::new(kind, task_id);
    if let Some(task) = task {
        failure.status = Some(task.status().to_owned());
        failure.progress = task.progress();
        failure.error_code = task.error_code().map(str::to_owned);
        failure.error_message = task.error_message().map(str::to_owned);
    }
    failure
}

/// Waits for the tasks of a mutation's answer and gives back its data.
///
/// Implemented for `WithTask<T>` and `Vec<WithTask<T>>` (one `get-tasks` request per poll for
/// all of them). The data is the resources as they were when the request was accepted:
/// re-read them by id for their final state, since only ids are stable while a task runs.
pub trait WaitForTasks: Sized {
    type Output;

    /// Waits with the default [`WaitOptions`].
    fn wait<C: TaskClient>(
        self,
        client: &C,
    ) -> impl Future<Output = Result<Self::Output, Error>> + Send {
        self.wait_with(client, WaitOptions::default())
    }

    /// Waits with these options.
    fn wait_with<C: TaskClient>(
        self,
        client: &C,
        options: WaitOptions,
    ) -> impl Future<Output = Result<Self::Output, Error>> + Send;
}

impl<T: Send> WaitForTasks for Vec<WithTask<T>> {
    type Output = Vec<T>;

    async fn wait_with<C: TaskClient>(
        self,
        client: &C,
        options: WaitOptions,
    ) -> Result<Vec<T>, Error> {
        let ids: Vec<String> = self.iter().filter_map(|w| w.task_id.clone()).collect();
        if !ids.is_empty() {
            client.wait_for(&ids, &options).await?;
        }
        Ok(self.into_iter().map(|w| w.data).collect())
    }
}

impl<T: Send> WaitForTasks for WithTask<T> {
    type Output = T;

    async fn wait_with<C: TaskClient>(self, client: &C, options: WaitOptions) -> Result<T, Error> {
        if let Some(id) = &self.task_id {
            client.wait_for(std::slice::from_ref(id), &options).await?;
        }
        Ok(self.data)
    }
}
