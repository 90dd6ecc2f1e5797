//! The task engine: tasks that go PENDING → EXECUTING → SUCCESSED (or FAILED, PAUSED) over
//! their duration, the effects they apply when they end, what each running task is changing
//! (`entityAsyncStatus`, `ResourceLocked`), and timers. It keeps `Task` records in the store's
//! records and knows nothing of the operations that start tasks.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::faults::TaskOutcome;
use crate::json::now_rfc3339;
use crate::state::{Records, Store};

/// What a task does to the store when it ends.
pub(crate) type Effect = Box<dyn FnOnce(&mut Store) + Send>;

/// What a running task shows on the resource it changes (`entityAsyncStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AsyncStatus {
    Creating,
    Updating,
    Deleting,
}

impl AsyncStatus {
    fn as_str(self) -> &'static str {
        match self {
            AsyncStatus::Creating => "CREATING",
            AsyncStatus::Updating => "UPDATING",
            AsyncStatus::Deleting => "DELETING",
        }
    }
}

/// What only a running task has: its clock, outcome and effects (dropped when it ends).
struct Running {
    id: String,
    /// The how-manieth task started (for [`TaskEngine::set_outcome_since`]).
    serial: u64,
    started: Instant,
    duration: Duration,
    outcome: TaskOutcome,
    on_success: Option<Effect>,
    on_failure: Option<Effect>,
    /// The resource it changes (`(type, id)`), when it names one.
    resource: Option<(String, String)>,
}

/// The running tasks, the ended ones (bounded) and the timers.
pub(crate) struct TaskEngine {
    running: Vec<Running>,
    /// How many running tasks change each resource id.
    busy: HashMap<String, usize>,
    /// Ended tasks, oldest first.
    ended: VecDeque<String>,
    timers: Vec<(Instant, Effect)>,
    started: u64,
    /// How long tasks started from now on take.
    pub duration: Duration,
    /// How many ended tasks are kept (the oldest go first).
    pub max_ended: usize,
}

impl TaskEngine {
    pub fn new(duration: Duration) -> TaskEngine {
        TaskEngine {
            running: Vec::new(),
            busy: HashMap::new(),
            ended: VecDeque::new(),
            timers: Vec::new(),
            started: 0,
            duration,
            max_ended: 10_000,
        }
    }

    /// A copy of this engine, when no task is running (a running task's effects are
    /// closures, which cannot be copied).
    pub fn copy_at_rest(&self) -> Option<TaskEngine> {
        if !self.running.is_empty() || !self.timers.is_empty() {
            return None;
        }
        Some(TaskEngine {
            running: Vec::new(),
            busy: HashMap::new(),
            ended: self.ended.clone(),
            timers: Vec::new(),
            started: self.started,
            duration: self.duration,
            max_ended: self.max_ended,
        })
    }

    /// How many tasks have been started: a mark for [`TaskEngine::set_outcome_since`].
    pub fn mark(&self) -> u64 {
        self.started
    }

    /// Makes the running tasks started after `mark` end with `outcome`: how a request's
    /// injected fault reaches the tasks it started, without the shared state holding it.
    pub fn set_outcome_since(&mut self, mark: u64, outcome: TaskOutcome) {
        for task in self.running.iter_mut().filter(|t| t.serial > mark) {
            task.outcome = outcome;
        }
    }

    /// Whether a running (PENDING or EXECUTING) task is changing resource `id`.
    pub fn is_busy(&self, id: &str) -> bool {
        self.busy.get(id).is_some_and(|n| *n > 0)
    }

    /// Makes running task `id` fail at the next [`TaskEngine::due`] (its failure effect runs,
    /// its success effect never does); whether it was running.
    pub fn abort(&mut self, id: &str) -> bool {
        let Some(task) = self.running.iter_mut().find(|t| t.id == id) else {
            return false;
        };
        task.outcome = TaskOutcome::Fail;
        task.duration = Duration::ZERO;
        true
    }

    /// Runs `effect` on the store once `after` has passed (at the first request after that).
    pub fn schedule(&mut self, after: Duration, effect: Effect) {
        self.timers.push((Instant::now() + after, effect));
    }

    /// Starts the task whose record (`Task`, PENDING) is already in `records` under `id`.
    pub fn start(
        &mut self,
        records: &mut Records,
        id: String,
        resource: Option<(String, String, AsyncStatus)>,
        on_success: Option<Effect>,
        on_failure: Option<Effect>,
    ) {
        let resource = resource.map(|(kind, rid, status)| {
            *self.busy.entry(rid.clone()).or_default() += 1;
            records.set_async_status(&kind, &rid, Some(status.as_str()));
            (kind, rid)
        });
        self.started += 1;
        self.running.push(Running {
            id,
            serial: self.started,
            started: Instant::now(),
            duration: self.duration,
            outcome: TaskOutcome::Succeed,
            on_success,
            on_failure,
            resource,
        });
    }

    /// Moves every running task on to where its clock says it is; the effects of the tasks
    /// (and timers) that ended, in order, for the caller to apply. A resource's
    /// `entityAsyncStatus` is cleared when its last running task ends (succeeds, fails or
    /// pauses), before the task's effect applies.
    pub fn due(&mut self, records: &mut Records, now: Instant) -> Vec<Effect> {
        let mut effects: Vec<Effect> = Vec::new();
        let mut still_running = Vec::with_capacity(self.running.len());
        for mut task in std::mem::take(&mut self.running) {
            let elapsed = now.saturating_duration_since(task.started);
            let fraction = if task.duration.is_zero() {
                1.0
            } else {
                (elapsed.as_secs_f64() / task.duration.as_secs_f64()).min(1.0)
            };
            let Some(record) = records.fields_mut("Task", &task.id) else {
                continue;
            };
            if fraction < 1.0 {
                if fraction >= 0.2 {
                    if record.get("started_at").is_none_or(Value::is_null) {
                        record.insert("started_at".into(), now_rfc3339().into());
                    }
                    record.insert("status".into(), "EXECUTING".into());
                    record.insert(
                        "progress".into(),
                        ((fraction * 100.0).round() / 100.0).into(),
                    );
                }
                still_running.push(task);
                continue;
            }
            if record.get("started_at").is_none_or(Value::is_null) {
                record.insert("started_at".into(), now_rfc3339().into());
            }
            record.insert("finished_at".into(), now_rfc3339().into());
            match task.outcome {
                TaskOutcome::Succeed => {
                    record.insert("status".into(), "SUCCESSED".into());
                    record.insert("progress".into(), 1.0.into());
                    effects.extend(task.on_success.take());
                }
                TaskOutcome::Fail => {
                    let description = record["description"].as_str().unwrap_or_default();
                    let message = format!("{description} failed (injected by the mock)");
                    record.insert("status".into(), "FAILED".into());
                    record.insert("progress".into(), 0.5.into());
                    record.insert("error_code".into(), "MockInjectedFailure".into());
                    record.insert("error_message".into(), message.into());
                    effects.extend(task.on_failure.take());
                }
                TaskOutcome::Pause => {
                    record.insert("status".into(), "PAUSED".into());
                    record.insert("progress".into(), 0.5.into());
                    record.insert("finished_at".into(), Value::Null);
                }
            }
            if let Some((kind, rid)) = &task.resource {
                let left = self.busy.get_mut(rid).map(|n| {
                    *n = n.saturating_sub(1);
                    *n
                });
                if left == Some(0) {
                    self.busy.remove(rid);
                    records.set_async_status(kind, rid, None);
                }
            }
            self.ended.push_back(task.id);
        }
        self.running = still_running;
        self.forget_old_tasks(records);
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.timers)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.timers = waiting;
        effects.extend(ready.into_iter().map(|(_, effect)| effect));
        effects
    }

    /// Drops the oldest ended tasks beyond `max_ended` (a tenth more at a time, so that a
    /// long-running mock does not pay for it on every task).
    fn forget_old_tasks(&mut self, records: &mut Records) {
        let cap = self.max_ended;
        if self.ended.len() <= cap + cap / 10 {
            return;
        }
        let drop = self.ended.len() - cap;
        let gone: HashSet<String> = self.ended.drain(..drop).collect();
        records.remove_many("Task", &gone);
    }
}
