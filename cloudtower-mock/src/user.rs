//! What a test (or the program) brings to a tower: records checked against the table
//! ([`MockTower::insert`](crate::MockTower::insert), fixture and state files), reactors of its
//! own that override or wrap one operation ([`MockTower::react`](crate::MockTower::react)),
//! and reads of the store for assertions.

use std::sync::Arc;

use cloudtower_schema::Ty;
use serde_json::{Map, Value};

use crate::state::Store;
use crate::table::schema;

/// A record the store refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsertError(pub String);

impl std::fmt::Display for InsertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InsertError {}

/// What a user's reactor decides for one call.
pub enum Reaction {
    /// Let the mock answer as it would (the reactor only looked, or changed the store).
    Pass,
    /// Answer this JSON with 200 instead.
    Answer(Value),
    /// Answer this status with an `ErrorBody` carrying the message.
    Fail(u16, String),
}

/// A user's reactor: the call's checked request body and the tower's records.
pub type UserReactor = Arc<dyn Fn(&mut Records<'_>, &Value) -> Reaction + Send + Sync>;

/// The records of a tower, as a user's reactor (or [`MockTower::with_records`]) sees them.
///
/// [`MockTower::with_records`]: crate::MockTower::with_records
pub struct Records<'a> {
    pub(crate) store: &'a mut Store,
}

impl Records<'_> {
    /// Every record of `resource` (`Vm`, `Vlan`, …), in creation order.
    pub fn all(&self, resource: &str) -> Vec<Value> {
        self.store.records.of(resource).to_vec()
    }

    /// The record `resource`/`id`.
    pub fn get(&self, resource: &str, id: &str) -> Option<Value> {
        self.store.records.find(resource, id).cloned()
    }

    /// Adds a record of `resource`: `fields` over the smallest valid record (a fresh `id`
    /// unless `fields` has one), checked against the table, its relations shown on the
    /// records it names. Its id.
    pub fn insert(&mut self, resource: &str, fields: Value) -> Result<String, InsertError> {
        insert(self.store, resource, fields)
    }

    /// Sets `fields` on record `resource`/`id` (checked against the table; relations follow).
    pub fn update(&mut self, resource: &str, id: &str, fields: Value) -> Result<(), InsertError> {
        let Value::Object(fields) = fields else {
            return Err(InsertError("the fields must be a JSON object".into()));
        };
        let mut record = self
            .store
            .records
            .find(resource, id)
            .cloned()
            .ok_or_else(|| InsertError(format!("no {resource} with id `{id}`")))?;
        if let Some(record) = record.as_object_mut() {
            record.extend(fields.clone());
        }
        check(resource, &record)?;
        self.store.update(resource, id, |r| r.extend(fields));
        Ok(())
    }
}

fn check(resource: &str, record: &Value) -> Result<(), InsertError> {
    if schema().resource(resource).is_none() {
        return Err(InsertError(format!(
            "`{resource}` is not a resource of CloudTower {}",
            schema().version
        )));
    }
    schema()
        .check(record, &Ty::Named(resource.to_owned()))
        .map_err(|e| InsertError(format!("not a {resource}: {e}")))
}

/// Adds a record of `resource` (see [`Records::insert`]).
pub(crate) fn insert(
    store: &mut Store,
    resource: &str,
    fields: Value,
) -> Result<String, InsertError> {
    let Value::Object(fields) = fields else {
        return Err(InsertError("a record must be a JSON object".into()));
    };
    let mut record = store.new_record(resource);
    if let Some(record) = record.as_object_mut() {
        record.extend(fields);
    }
    check(resource, &record)?;
    let id = record["id"].as_str().unwrap_or_default().to_owned();
    if id.is_empty() || store.records.find(resource, &id).is_some() {
        return Err(InsertError(format!(
            "{resource} `{id}`: an id must be new and not empty"
        )));
    }
    for relation in schema()
        .resource(resource)
        .map_or(&[][..], |r| &r.relations)
    {
        for target in crate::json::relation_ids(&record[relation.field.as_str()]) {
            if store.records.find(&relation.resource, &target).is_none() {
                return Err(InsertError(format!(
                    "{resource}.{} names {} `{target}`, which does not exist",
                    relation.field, relation.resource
                )));
            }
        }
    }
    Ok(store.create(resource, record))
}

/// Every record of `store`, by resource type (`{"Vm": [...], ...}`): a fixture or state
/// file ([`MockTower::save_state`](crate::MockTower::save_state)). Tasks and upload tasks
/// included; what only a running task holds (its effect) is not.
pub(crate) fn dump(store: &Store) -> Value {
    let mut out = Map::new();
    for resource in &schema().resources {
        let records = store.records.of(&resource.name);
        if !records.is_empty() {
            out.insert(resource.name.clone(), Value::Array(records.to_vec()));
        }
    }
    Value::Object(out)
}

/// Loads a fixture or state file's records (`{"Vm": [...], ...}`) into `store`: each checked
/// against the table. Records whose id the store already holds replace them (a state file
/// saved from a seeded tower starts from itself). In two passes, so that records may name
/// each other in any order.
pub(crate) fn load(store: &mut Store, file: &Value) -> Result<usize, InsertError> {
    let Value::Object(types) = file else {
        return Err(InsertError(
            "a fixture file is a JSON object of resource types to lists of records".into(),
        ));
    };
    let mut all = Vec::new();
    for (resource, records) in types {
        let Value::Array(records) = records else {
            return Err(InsertError(format!(
                "`{resource}` must hold a list of records"
            )));
        };
        for record in records {
            let mut full = store.new_record(resource);
            if let (Some(full), Some(fields)) = (full.as_object_mut(), record.as_object()) {
                full.extend(fields.clone());
            }
            check(resource, &full)?;
            all.push((resource.clone(), full));
        }
    }
    let count = all.len();
    for (resource, record) in &all {
        let id = record["id"].as_str().unwrap_or_default();
        store.reserve_id(id);
        store.records.remove(resource, id);
        store.records.insert(resource, record.clone());
    }
    for (resource, record) in &all {
        let id = record["id"].as_str().unwrap_or_default();
        store.sync_inverse(resource, id, &Value::Null);
    }
    Ok(count)
}
