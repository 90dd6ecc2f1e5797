//! The mock tower's state: JSON records per resource type (one store for every type, the VM
//! slice included), tasks that progress over time, the resource-change log, users and sessions.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::faults::TaskOutcome;

/// An error answer: HTTP status and CloudTower `ErrorBody`.
#[derive(Clone, Debug)]
pub(crate) struct ApiError {
    pub status: u16,
    pub message: String,
    /// The `ErrorBody.code` (CloudTower's `ErrorCode`: `ResourceLocked`).
    pub code: Option<String>,
    pub props: Option<Box<Value>>,
    /// Why the mock refused, for tests to tell refusals apart without reading messages:
    /// answered as `props.mock_reason` (`ErrorBody.props` is free-form, `code` an enum).
    pub reason: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            code: None,
            props: None,
            reason: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(404, message)
    }
    /// A reference to a resource that does not exist.
    pub fn no_such(message: impl Into<String>) -> Self {
        ApiError {
            reason: Some(NO_SUCH_RESOURCE),
            ..ApiError::bad_request(message)
        }
    }
    /// A request the resource's current state does not allow.
    pub fn invalid_state(message: impl Into<String>) -> Self {
        ApiError {
            reason: Some(INVALID_STATE),
            ..ApiError::bad_request(message)
        }
    }
    /// A `where` that selects nothing where the operation needs something.
    pub fn nothing_selected(message: impl Into<String>) -> Self {
        ApiError {
            reason: Some(NOTHING_SELECTED),
            ..ApiError::not_found(message)
        }
    }
}

/// `props.mock_reason` of a 400 for a reference to a resource that does not exist.
pub const NO_SUCH_RESOURCE: &str = "NoSuchResource";
/// `props.mock_reason` of a 400 for a request the resource's current state does not allow.
pub const INVALID_STATE: &str = "InvalidState";
/// `props.mock_reason` of a 404 for a `where` that selects nothing where something is needed.
pub const NOTHING_SELECTED: &str = "NothingSelected";

/// The records of one resource type, in creation order, found by id in O(1).
#[derive(Default)]
struct Table {
    rows: Vec<Value>,
    index: HashMap<String, usize>,
}

impl Table {
    fn reindex_from(&mut self, from: usize) {
        for (i, row) in self.rows.iter().enumerate().skip(from) {
            if let Some(id) = row["id"].as_str() {
                self.index.insert(id.to_owned(), i);
            }
        }
    }
}

/// The JSON records of every resource type the mock holds.
#[derive(Default)]
pub(crate) struct Records {
    by_type: HashMap<String, Table>,
}

impl Records {
    pub fn of(&self, resource: &str) -> &[Value] {
        self.by_type
            .get(resource)
            .map_or(&[], |table| table.rows.as_slice())
    }

    pub fn find(&self, resource: &str, id: &str) -> Option<&Value> {
        let table = self.by_type.get(resource)?;
        table.index.get(id).map(|&i| &table.rows[i])
    }

    pub fn find_mut(&mut self, resource: &str, id: &str) -> Option<&mut Value> {
        let table = self.by_type.get_mut(resource)?;
        let i = *table.index.get(id)?;
        Some(&mut table.rows[i])
    }

    /// The object record `resource`/`id`, for changing its fields.
    pub fn fields_mut(&mut self, resource: &str, id: &str) -> Option<&mut Map<String, Value>> {
        self.find_mut(resource, id)?.as_object_mut()
    }

    pub fn insert(&mut self, resource: &str, record: Value) {
        let table = self.by_type.entry(resource.to_owned()).or_default();
        if let Some(id) = record["id"].as_str() {
            table.index.insert(id.to_owned(), table.rows.len());
        }
        table.rows.push(record);
    }

    pub fn remove(&mut self, resource: &str, id: &str) -> Option<Value> {
        let table = self.by_type.get_mut(resource)?;
        let at = table.index.remove(id)?;
        let record = table.rows.remove(at);
        table.reindex_from(at);
        Some(record)
    }

    /// Keeps the records of `resource` that `keep` accepts.
    pub fn retain(&mut self, resource: &str, keep: impl FnMut(&Value) -> bool) {
        if let Some(table) = self.by_type.get_mut(resource) {
            table.rows.retain(keep);
            table.index.clear();
            table.reindex_from(0);
        }
    }

    /// Removes the records of `resource` with the ids in `ids`.
    fn remove_many(&mut self, resource: &str, ids: &HashSet<String>) {
        self.retain(resource, |r| {
            !r["id"].as_str().is_some_and(|id| ids.contains(id))
        });
    }

    /// Sets `entityAsyncStatus` of a record that has the field.
    pub fn set_async_status(&mut self, resource: &str, id: &str, status: Option<&str>) {
        if let Some(record) = self.fields_mut(resource, id) {
            if record.contains_key("entityAsyncStatus") {
                record.insert(
                    "entityAsyncStatus".into(),
                    status.map_or(Value::Null, Value::from),
                );
            }
        }
    }
}

impl crate::filter::Related for Records {
    fn relation(&self, resource: &str, field: &str) -> Option<&str> {
        let shape = crate::generic::schema().resource(resource)?;
        shape
            .relations
            .iter()
            .find(|r| r.field == field)
            .map(|r| r.resource.as_str())
    }

    fn record(&self, resource: &str, id: &str) -> Option<&Value> {
        self.find(resource, id)
    }
}

/// What a task does to the store when it ends.
pub(crate) type Effect = Box<dyn FnOnce(&mut Store) + Send>;

/// What only a running task has: its clock, outcome and effects (dropped when it ends).
struct TaskMeta {
    started: Instant,
    duration: Duration,
    outcome: TaskOutcome,
    on_success: Option<Effect>,
    on_failure: Option<Effect>,
    /// The resource it changes (`(type, id)`), when it names one.
    resource: Option<(String, String)>,
}

pub(crate) struct UploadMeta {
    pub received: i64,
    pub chunks: i32,
    pub finished_at: Option<Instant>,
    pub name: String,
    pub cluster_id: Option<String>,
    pub description: String,
}

/// The in-memory tower.
pub(crate) struct Store {
    /// Every resource, as JSON records per type (tasks and upload tasks included).
    pub records: Records,
    /// The resource-change log, oldest first (`ResourceChangeEvent`s).
    pub events: VecDeque<Value>,
    pub revision: u64,
    pub compact_revision: u64,
    pub task_duration: Duration,
    /// How the tasks of the request being handled end.
    pub outcome: TaskOutcome,
    /// `(username, password, source)`.
    pub users: Vec<(String, String, String)>,
    pub tokens: HashSet<String>,
    pub api_keys: HashSet<String>,
    /// Refuse mutations of resources a running task is changing (`ResourceLocked`).
    pub lock_busy: bool,
    /// How many ended tasks are kept (the oldest go first); see `MockConfig::max_tasks`.
    pub max_ended_tasks: usize,
    /// How many resource changes are kept before the oldest are compacted away.
    pub max_events: usize,
    /// Running tasks, in creation order: all that `advance` looks at.
    running: Vec<(String, TaskMeta)>,
    /// How many running tasks change each resource id.
    busy: HashMap<String, usize>,
    /// Ended tasks, oldest first.
    ended: VecDeque<String>,
    pub upload_meta: HashMap<String, UploadMeta>,
    next: u64,
}

pub(crate) fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

impl Store {
    pub fn new(task_duration: Duration) -> Self {
        Store {
            records: Records::default(),
            events: VecDeque::new(),
            revision: 1000,
            compact_revision: 1000,
            task_duration,
            outcome: TaskOutcome::Succeed,
            users: Vec::new(),
            tokens: HashSet::new(),
            api_keys: HashSet::new(),
            lock_busy: false,
            max_ended_tasks: 10_000,
            max_events: 10_000,
            running: Vec::new(),
            busy: HashMap::new(),
            ended: VecDeque::new(),
            upload_meta: HashMap::new(),
            next: 0,
        }
    }

    /// A fresh id in CloudTower's style (`cl…`, 25 characters).
    pub fn id(&mut self) -> String {
        self.next += 1;
        format!("clmock{:019}", self.next)
    }

    /// A fresh UUID-shaped local id (what SMTX OS calls things).
    pub fn uuid(&mut self) -> String {
        self.next += 1;
        format!("00000000-0000-4000-8000-{:012x}", self.next)
    }

    pub fn token(&mut self) -> String {
        self.next += 1;
        format!("mock-token-{:08x}", self.next.wrapping_mul(0x9e37_79b9))
    }

    /// A counter that only grows (for MAC addresses and the like).
    pub fn serial(&self) -> u64 {
        self.next
    }

    // -----------------------------------------------------------------------------------------
    // Tasks

    /// Creates a task that ends after the configured duration; `on_success` runs when it
    /// succeeds, `on_failure` when it fails. While it runs, the resource it names shows it in
    /// its `entityAsyncStatus`.
    pub fn task(
        &mut self,
        description: &str,
        resource_type: &str,
        resource_id: &str,
        on_success: Option<Effect>,
        on_failure: Option<Effect>,
    ) -> String {
        let cluster = self.records.of("Cluster").first().map(crate::vm::id_name);
        let mut task = crate::generic::new_record(self, "Task");
        let id = task["id"].as_str().unwrap_or_default().to_owned();
        crate::vm::merge(
            &mut task,
            json!({
                "description": description,
                "status": "PENDING",
                "progress": 0.0,
                "local_created_at": now_rfc3339(),
                "resource_id": resource_id,
                "resource_type": resource_type,
                "snapshot": "{}",
                "args": {},
                "cluster": cluster,
            }),
        );
        self.records.insert("Task", task);
        let status = if description.starts_with("Create") {
            "CREATING"
        } else if description.starts_with("Delete") {
            "DELETING"
        } else {
            "UPDATING"
        };
        let resource =
            (!resource_id.is_empty()).then(|| (resource_type.to_owned(), resource_id.to_owned()));
        if let Some((kind, rid)) = &resource {
            *self.busy.entry(rid.clone()).or_default() += 1;
            self.records.set_async_status(kind, rid, Some(status));
        }
        self.running.push((
            id.clone(),
            TaskMeta {
                started: Instant::now(),
                duration: self.task_duration,
                outcome: self.outcome,
                on_success,
                on_failure,
                resource,
            },
        ));
        self.advance();
        id
    }

    /// Whether a running (PENDING or EXECUTING) task is changing resource `id`.
    pub fn is_busy(&self, id: &str) -> bool {
        self.busy.get(id).is_some_and(|n| *n > 0)
    }

    /// Moves every running task on to where its clock says it is, applying ended tasks'
    /// effects. A resource's `entityAsyncStatus` is cleared when its last running task ends
    /// (succeeds, fails or pauses), before the task's effect applies.
    pub fn advance(&mut self) {
        let now = Instant::now();
        let mut effects: Vec<Effect> = Vec::new();
        let mut still_running = Vec::with_capacity(self.running.len());
        for (id, mut meta) in std::mem::take(&mut self.running) {
            let elapsed = now - meta.started;
            let fraction = if meta.duration.is_zero() {
                1.0
            } else {
                (elapsed.as_secs_f64() / meta.duration.as_secs_f64()).min(1.0)
            };
            let Some(task) = self.records.fields_mut("Task", &id) else {
                continue;
            };
            if fraction < 1.0 {
                if fraction >= 0.2 {
                    if task.get("started_at").is_none_or(Value::is_null) {
                        task.insert("started_at".into(), now_rfc3339().into());
                    }
                    task.insert("status".into(), "EXECUTING".into());
                    task.insert(
                        "progress".into(),
                        ((fraction * 100.0).round() / 100.0).into(),
                    );
                }
                still_running.push((id, meta));
                continue;
            }
            task.insert("finished_at".into(), now_rfc3339().into());
            match meta.outcome {
                TaskOutcome::Succeed => {
                    task.insert("status".into(), "SUCCESSED".into());
                    task.insert("progress".into(), 1.0.into());
                    effects.extend(meta.on_success.take());
                }
                TaskOutcome::Fail => {
                    let description = task["description"].as_str().unwrap_or_default();
                    let message = format!("{description} failed (injected by the mock)");
                    task.insert("status".into(), "FAILED".into());
                    task.insert("progress".into(), 0.5.into());
                    task.insert("error_code".into(), "MockInjectedFailure".into());
                    task.insert("error_message".into(), message.into());
                    effects.extend(meta.on_failure.take());
                }
                TaskOutcome::Pause => {
                    task.insert("status".into(), "PAUSED".into());
                    task.insert("progress".into(), 0.5.into());
                    task.insert("finished_at".into(), Value::Null);
                }
            }
            if let Some((kind, rid)) = &meta.resource {
                let left = self.busy.get_mut(rid).map(|n| {
                    *n = n.saturating_sub(1);
                    *n
                });
                if left == Some(0) {
                    self.busy.remove(rid);
                    self.records.set_async_status(kind, rid, None);
                }
            }
            self.ended.push_back(id);
        }
        self.running = still_running;
        self.forget_old_tasks();
        for effect in effects {
            effect(self);
        }
        crate::vm::advance_uploads(self, now);
    }

    /// Drops the oldest ended tasks beyond [`Store::max_ended_tasks`] (a tenth more at a
    /// time, so that a long-running mock does not pay for it on every task).
    fn forget_old_tasks(&mut self) {
        let cap = self.max_ended_tasks;
        if self.ended.len() <= cap + cap / 10 {
            return;
        }
        let drop = self.ended.len() - cap;
        let gone: HashSet<String> = self.ended.drain(..drop).collect();
        self.records.remove_many("Task", &gone);
    }

    // -----------------------------------------------------------------------------------------
    // Resource changes

    pub fn record(&mut self, resource_type: &str, action: &str, id: &str, old: Option<Value>) {
        let new = match action {
            "DELETE" => None,
            _ => self.records.find(resource_type, id).cloned(),
        };
        let prev = self.revision;
        self.revision += 1;
        self.events.push_back(json!({
            "prev_revision": prev.to_string(),
            "created_at": now_rfc3339(),
            "new_value": new.map(|v| v.to_string()),
            "old_value": old.map(|v| v.to_string()),
            "resource_id": id,
            "resource_type": resource_type,
            "action": action,
            "revision": self.revision.to_string(),
        }));
        if self.events.len() > self.max_events {
            // What a tower does to its history: the oldest is compacted away.
            self.events.pop_front();
            if let Some(first) = self.events.front() {
                let oldest = first["revision"].as_str().and_then(|r| r.parse().ok());
                self.compact_revision = oldest.unwrap_or(self.revision);
            }
        }
    }

    /// Forgets the change log before `revision` (what a tower does to its history).
    pub fn compact(&mut self, revision: u64) {
        self.compact_revision = self.compact_revision.max(revision.min(self.revision));
        let keep = self.compact_revision;
        self.events.retain(|e| {
            e["revision"]
                .as_str()
                .and_then(|r| r.parse::<u64>().ok())
                .is_some_and(|r| r >= keep)
        });
    }

    /// Changes record `resource`/`id` and records the change (nothing when it is gone).
    pub fn update(
        &mut self,
        resource: &str,
        id: &str,
        change: impl FnOnce(&mut Map<String, Value>),
    ) {
        let Some(record) = self.records.fields_mut(resource, id) else {
            return;
        };
        let old = Value::Object(record.clone());
        change(record);
        crate::generic::refresh_nested(self, resource, id);
        self.record(resource, "UPDATE", id, Some(old));
    }
}
