//! The store: JSON records per resource type (one store for every type, the VM slice
//! included), relations kept consistent both ways, the resource-change log, ids, and the task
//! engine's records. It knows the API table (`table.rs`) and nothing else: what operations do
//! with it is the reactors' business (`reactors/`), and it never calls them.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use crate::json::{id_name, merge, now_rfc3339, relation_ids};
use crate::table::{schema, skeleton_object};
use crate::tasks::{AsyncStatus, Effect, TaskEngine};

/// The fields in which a record says when it last changed (the spec's spellings).
pub(crate) const UPDATED_AT: &[&str] = &[
    "local_updated_at",
    "updatedAt",
    "updated_at",
    "local_update_time",
    "update_time",
];

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
#[derive(Clone, Default)]
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
#[derive(Clone, Default)]
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
    pub fn remove_many(&mut self, resource: &str, ids: &HashSet<String>) {
        self.retain(resource, |r| {
            !r["id"].as_str().is_some_and(|id| ids.contains(id))
        });
    }

    /// The nested form (`{id, name}`, whatever fields the nested type has) of the `target`
    /// record with `id`, as `resource.field` holds it; `None` when there is no such record.
    pub fn nested(&self, resource: &str, field: &str, target: &str, id: &str) -> Option<Value> {
        let record = self.find(target, id)?;
        let keep = nested_fields(resource, field);
        let mut out = Map::new();
        for key in keep {
            if let Some(value) = record.get(key.as_str()) {
                out.insert(key.clone(), value.clone());
            }
        }
        Some(Value::Object(out))
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
        let shape = schema().resource(resource)?;
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

/// The fields the nested type of `resource.field` holds (`{id, name}` when it names none).
fn nested_fields(resource: &str, field: &str) -> Vec<String> {
    crate::table::field_type(resource, field)
        .and_then(|ty| ty.named())
        .and_then(|name| schema().fields(name))
        .map(|fields| fields.iter().map(|f| f.name.clone()).collect())
        .unwrap_or_else(|| vec!["id".into(), "name".into()])
}

/// Per resource type, the fields that some other record's nested copy of it holds: an
/// update that changes none of them has no copies to refresh.
fn projected_fields(resource: &str) -> &'static HashSet<String> {
    static BY_TYPE: OnceLock<HashMap<String, HashSet<String>>> = OnceLock::new();
    static NONE: OnceLock<HashSet<String>> = OnceLock::new();
    BY_TYPE
        .get_or_init(|| {
            let mut map: HashMap<String, HashSet<String>> = HashMap::new();
            for holder in &schema().resources {
                for relation in &holder.relations {
                    map.entry(relation.resource.clone())
                        .or_default()
                        .extend(nested_fields(&holder.name, &relation.field));
                }
            }
            map
        })
        .get(resource)
        .unwrap_or_else(|| NONE.get_or_init(HashSet::new))
}

/// An unfinished (or recently finished) chunked upload: what only the uploads reactor reads.
#[derive(Clone)]
pub(crate) struct UploadMeta {
    /// What the upload becomes when all its bytes arrived.
    pub kind: &'static crate::reactors::uploads::Upload,
    /// The first chunk's other form fields (`clusters`, `version`).
    pub form: Value,
    pub received: i64,
    pub chunks: i32,
    /// All bytes arrived (a later chunk is one too many).
    pub complete: bool,
    pub name: String,
    pub cluster_id: Option<String>,
    pub description: String,
}

/// How many uploads the store remembers (unfinished or finished): beyond it the oldest is
/// forgotten, and its `UploadTask` record removed when it never finished (abandoned).
pub const MAX_UPLOADS: usize = 256;

/// The uploads in progress, oldest first, bounded by [`MAX_UPLOADS`].
#[derive(Clone, Default)]
pub(crate) struct Uploads {
    meta: HashMap<String, UploadMeta>,
    order: VecDeque<String>,
}

impl Uploads {
    pub fn get_mut(&mut self, id: &str) -> Option<&mut UploadMeta> {
        self.meta.get_mut(id)
    }
    pub fn contains(&self, id: &str) -> bool {
        self.meta.contains_key(id)
    }
    pub fn remove(&mut self, id: &str) -> Option<UploadMeta> {
        self.order.retain(|o| o != id);
        self.meta.remove(id)
    }
    /// Adds an upload; the ids of the ones forgotten to stay within [`MAX_UPLOADS`], with
    /// whether each had all its bytes.
    pub fn insert(&mut self, id: String, meta: UploadMeta) -> Vec<(String, bool)> {
        self.meta.insert(id.clone(), meta);
        self.order.push_back(id);
        let mut forgotten = Vec::new();
        while self.order.len() > MAX_UPLOADS {
            if let Some(old) = self.order.pop_front() {
                if let Some(meta) = self.meta.remove(&old) {
                    forgotten.push((old, meta.complete));
                }
            }
        }
        forgotten
    }
}

/// The in-memory tower.
pub(crate) struct Store {
    /// Every resource, as JSON records per type (tasks and upload tasks included).
    pub records: Records,
    /// The resource-change log, oldest first (`ResourceChangeEvent`s).
    pub events: VecDeque<Value>,
    pub revision: u64,
    pub compact_revision: u64,
    /// How many resource changes are kept before the oldest are compacted away.
    pub max_events: usize,
    /// The running and ended tasks.
    pub tasks: TaskEngine,
    /// Refuse mutations of resources a running task is changing (`ResourceLocked`).
    pub lock_busy: bool,
    pub uploads: Uploads,
    next: u64,
}

impl Store {
    pub fn new(task_duration: Duration) -> Self {
        Store {
            records: Records::default(),
            events: VecDeque::new(),
            revision: 1000,
            compact_revision: 1000,
            max_events: 10_000,
            tasks: TaskEngine::new(task_duration),
            lock_busy: false,
            uploads: Uploads::default(),
            next: 0,
        }
    }

    /// A store whose ids start after `offset` (the stores of external towers get ids of
    /// their own, so that an id never names records of two towers).
    pub fn with_id_offset(task_duration: Duration, offset: u64) -> Self {
        Store {
            next: offset,
            ..Store::new(task_duration)
        }
    }

    /// A copy of this store, when no task is running (a running task's effects cannot be
    /// copied).
    pub fn copy_at_rest(&self) -> Option<Store> {
        Some(Store {
            records: self.records.clone(),
            events: self.events.clone(),
            revision: self.revision,
            compact_revision: self.compact_revision,
            max_events: self.max_events,
            tasks: self.tasks.copy_at_rest()?,
            lock_busy: self.lock_busy,
            uploads: self.uploads.clone(),
            next: self.next,
        })
    }

    /// A fresh id in CloudTower's style (`cl…`, 25 characters).
    pub fn id(&mut self) -> String {
        self.next += 1;
        format!("clmock{:019}", self.next)
    }

    /// Makes sure no fresh id is `id` (one a fixture or state file brought).
    pub fn reserve_id(&mut self, id: &str) {
        if let Some(n) = id
            .strip_prefix("clmock")
            .and_then(|n| n.parse::<u64>().ok())
        {
            self.next = self.next.max(n);
        }
    }

    /// A fresh UUID-shaped local id (what SMTX OS calls things).
    pub fn uuid(&mut self) -> String {
        self.next += 1;
        format!("00000000-0000-4000-8000-{:012x}", self.next)
    }

    /// An opaque token (VNC tickets and the like).
    pub fn token(&mut self) -> String {
        self.next += 1;
        format!("mock-token-{:08x}", self.next.wrapping_mul(0x9e37_79b9))
    }

    /// A counter that only grows (for MAC addresses and the like).
    pub fn serial(&self) -> u64 {
        self.next
    }

    /// A new record of `resource`: every required field (the smallest value of its type), the
    /// nullable ones `null`, a fresh `id`.
    /// Its required timestamps are now (never the skeleton's `""`).
    pub fn new_record(&mut self, resource: &str) -> Value {
        let mut record = skeleton_object(resource, 0, &mut || self.id());
        if let Some(fields) = record.as_object_mut() {
            for field in crate::table::timestamp_fields(resource) {
                if fields.get(field).is_some_and(|v| v == "") {
                    fields.insert(field.into(), now_rfc3339().into());
                }
            }
        }
        record
    }

    /// A value of the object type `name` with `fields` set and every other required field at
    /// its smallest value: how reactors build nested values that stay schema-valid.
    pub fn fill(&mut self, name: &str, fields: Value) -> Value {
        let mut value = skeleton_object(name, 1, &mut || self.id());
        merge(&mut value, fields);
        value
    }

    // -----------------------------------------------------------------------------------------
    // Tasks

    /// Starts a task that ends after the configured duration; `on_success` runs when it
    /// succeeds, `on_failure` when it fails. While it runs, the resource it names shows
    /// `status` in its `entityAsyncStatus`.
    pub fn task(
        &mut self,
        description: &str,
        status: AsyncStatus,
        resource_type: &str,
        resource_id: &str,
        on_success: Option<Effect>,
        on_failure: Option<Effect>,
    ) -> String {
        let cluster = self.records.of("Cluster").first().map(id_name);
        let mut task = self.new_record("Task");
        let id = task["id"].as_str().unwrap_or_default().to_owned();
        merge(
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
        let resource = (!resource_id.is_empty())
            .then(|| (resource_type.to_owned(), resource_id.to_owned(), status));
        self.tasks.start(
            &mut self.records,
            id.clone(),
            resource,
            on_success,
            on_failure,
        );
        id
    }

    /// Moves every running task on to where its clock says it is, applying the effects of
    /// those that ended (and of due timers).
    pub fn advance(&mut self) {
        let effects = self.tasks.due(&mut self.records, Instant::now());
        for effect in effects {
            effect(self);
        }
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

    // -----------------------------------------------------------------------------------------
    // Writes that keep relations consistent

    /// Adds a new record and shows it on the records it points at; recorded as a CREATE.
    pub fn create(&mut self, resource: &str, record: Value) -> String {
        let id = record["id"].as_str().unwrap_or_default().to_owned();
        self.records.insert(resource, record);
        self.sync_inverse(resource, &id, &Value::Null);
        self.record(resource, "CREATE", &id, None);
        id
    }

    /// Adds a record and shows it on the records it points at (no change event: part of a
    /// larger change that records its own).
    pub fn insert_linked(&mut self, resource: &str, record: Value) {
        let id = record["id"].as_str().unwrap_or_default().to_owned();
        self.records.insert(resource, record);
        self.sync_inverse(resource, &id, &Value::Null);
    }

    /// Removes a record, and it from the records that pointed at it (no change event).
    pub fn remove_linked(&mut self, resource: &str, id: &str) -> Option<Value> {
        let old = self.records.remove(resource, id)?;
        self.sync_inverse(resource, id, &old);
        self.unlink_everywhere(resource, id);
        Some(old)
    }

    /// After record `resource`/`id` is gone, no record names it any more: it leaves the
    /// to-many relations that held it, and a to-one relation that named it is `null` (what a
    /// tower's foreign keys do). Relations without an inverse (`Application.vm`) included.
    fn unlink_everywhere(&mut self, resource: &str, id: &str) {
        for holder in &schema().resources {
            for relation in holder.relations.iter().filter(|r| r.resource == resource) {
                let field = relation.field.as_str();
                let holders: Vec<String> = self
                    .records
                    .of(&holder.name)
                    .iter()
                    .filter(|r| relation_ids(&r[field]).iter().any(|i| i == id))
                    .filter_map(|r| r["id"].as_str().map(str::to_owned))
                    .collect();
                for holder_id in holders {
                    if let Some(fields) = self.records.fields_mut(&holder.name, &holder_id) {
                        match fields.get_mut(field) {
                            Some(Value::Array(list)) => list.retain(|item| item["id"] != id),
                            Some(one) => *one = Value::Null,
                            None => {}
                        }
                    }
                    self.recount(&holder.name, &holder_id);
                }
            }
        }
    }

    /// Changes record `resource`/`id` and records the change (nothing when it is gone): the
    /// records it points at, and the nested copies others hold of it, follow; its "last
    /// updated" fields ([`UPDATED_AT`]) become now.
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
        // A record's own "last updated" time moves with every change to it.
        for field in UPDATED_AT {
            if record.contains_key(*field) {
                record.insert((*field).into(), now_rfc3339().into());
            }
        }
        self.sync_inverse(resource, id, &old);
        self.refresh_nested(resource, id, &old);
        self.record(resource, "UPDATE", id, Some(old));
    }

    /// Removes record `resource`/`id`, and it from the records that pointed at it; recorded
    /// as a DELETE.
    pub fn delete(&mut self, resource: &str, id: &str) -> Option<Value> {
        let old = self.remove_linked(resource, id)?;
        self.record(resource, "DELETE", id, Some(old.clone()));
        Some(old)
    }

    /// Keeps relations consistent both ways: after record `resource`/`id` changed from `old`
    /// (`null` for a new record; the record is gone after a delete), each record it now points
    /// at (or no longer does) shows it in (or drops it from) the relation back, when the other
    /// type has exactly one relation to `resource`. Adding labels to a VM shows the VM on them.
    pub fn sync_inverse(&mut self, resource: &str, id: &str, old: &Value) {
        let schema = schema();
        let Some(shape) = schema.resource(resource) else {
            return;
        };
        let new = self
            .records
            .find(resource, id)
            .cloned()
            .unwrap_or(Value::Null);
        for relation in &shape.relations {
            let Some(target) = schema.resource(&relation.resource) else {
                continue;
            };
            let mut back = target.relations.iter().filter(|r| r.resource == resource);
            let (Some(inverse), None) = (back.next(), back.next()) else {
                continue;
            };
            let before = relation_ids(&old[relation.field.as_str()]);
            let after = relation_ids(&new[relation.field.as_str()]);
            for gone in before.iter().filter(|t| !after.contains(t)) {
                if let Some(fields) = self.records.fields_mut(&target.name, gone) {
                    match fields.get_mut(&inverse.field) {
                        Some(Value::Array(list)) => list.retain(|item| item["id"] != id),
                        Some(one) if one["id"] == id => *one = Value::Null,
                        _ => {}
                    }
                }
                self.recount(&target.name, gone);
            }
            for added in after.iter().filter(|t| !before.contains(t)) {
                let Some(projection) =
                    self.records
                        .nested(&target.name, &inverse.field, resource, id)
                else {
                    continue;
                };
                let mut displaced = None;
                if let Some(fields) = self.records.fields_mut(&target.name, added) {
                    let slot = fields.entry(inverse.field.clone()).or_insert(Value::Null);
                    if inverse.many {
                        match slot {
                            Value::Array(list) if list.iter().any(|i| i["id"] == id) => {}
                            Value::Array(list) => list.push(projection),
                            other => *other = Value::Array(vec![projection]),
                        }
                    } else {
                        displaced = slot["id"]
                            .as_str()
                            .filter(|previous| *previous != id)
                            .map(str::to_owned);
                        *slot = projection;
                    }
                }
                // A to-one slot names one record: the one it named before lets go of it
                // (a NIC moved to another VDS leaves the old one's `nics`).
                if let Some(previous) = displaced {
                    if let Some(fields) = self.records.fields_mut(resource, &previous) {
                        match fields.get_mut(&relation.field) {
                            Some(Value::Array(list)) => {
                                list.retain(|item| item["id"] != added.as_str())
                            }
                            Some(one) if one["id"] == added.as_str() => *one = Value::Null,
                            _ => {}
                        }
                    }
                    self.recount(resource, &previous);
                }
                self.recount(&target.name, added);
            }
        }
        self.recount(resource, id);
    }

    /// Sets the `<relation>_num` counts of record `resource`/`id` (`vm_num`, `vlans_num`) to
    /// the length of the to-many relation they count.
    pub fn recount(&mut self, resource: &str, id: &str) {
        let Some(shape) = schema().resource(resource) else {
            return;
        };
        let Some(fields) = self.records.fields_mut(resource, id) else {
            return;
        };
        for relation in shape.relations.iter().filter(|r| r.many) {
            for count in num_fields(&relation.field) {
                if fields.contains_key(&count) {
                    let n = fields
                        .get(&relation.field)
                        .and_then(Value::as_array)
                        .map_or(0, Vec::len);
                    fields.insert(count, n.into());
                }
            }
        }
    }

    /// After record `resource`/`id` changed from `old`, the nested copies other records hold
    /// of it (`vm: {id, name}` on a disk) show its new values. Only when a field such a copy
    /// holds changed: most updates (a VM's status, say) touch none.
    fn refresh_nested(&mut self, resource: &str, id: &str, old: &Value) {
        let Some(new) = self.records.find(resource, id) else {
            return;
        };
        let projected = projected_fields(resource);
        if !projected
            .iter()
            .any(|f| f != "id" && old.get(f) != new.get(f))
        {
            return;
        }
        let schema = schema();
        for holder in &schema.resources {
            for relation in holder.relations.iter().filter(|r| r.resource == resource) {
                let field = relation.field.as_str();
                let holders: Vec<String> = self
                    .records
                    .of(&holder.name)
                    .iter()
                    .filter(|r| relation_ids(&r[field]).iter().any(|i| i == id))
                    .filter_map(|r| r["id"].as_str().map(str::to_owned))
                    .collect();
                if holders.is_empty() {
                    continue;
                }
                let Some(fresh) = self.records.nested(&holder.name, field, resource, id) else {
                    return;
                };
                for holder_id in holders {
                    let Some(slot) = self
                        .records
                        .fields_mut(&holder.name, &holder_id)
                        .and_then(|r| r.get_mut(field))
                    else {
                        continue;
                    };
                    match slot {
                        Value::Array(list) => {
                            for item in list.iter_mut().filter(|i| i["id"] == id) {
                                *item = fresh.clone();
                            }
                        }
                        one => *one = fresh.clone(),
                    }
                }
            }
        }
    }
}

/// The count fields of a to-many relation: `vms` → `vm_num`, `vms_num`; `vlans` → `vlan_num`,
/// `vlans_num` (CloudTower spells both).
pub(crate) fn num_fields(relation: &str) -> [String; 2] {
    let singular = relation.strip_suffix('s').unwrap_or(relation);
    [format!("{singular}_num"), format!("{relation}_num")]
}
