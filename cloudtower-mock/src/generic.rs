//! Every operation the hand-written handlers (`server.rs`) do not override, answered from the
//! table the generator emits (`cloudtower_api::SCHEMA_JSON`, read as a
//! [`cloudtower_schema::ApiSchema`]): a regenerated crate gets a regenerated mock.
//!
//! The regular shapes have generic behaviour over JSON records kept per resource type: lists
//! and connections filter and page what is held; creates map their params onto a new record
//! (references resolved into the nested form of what they name, a 400 for a reference to
//! nothing); updates and deletes act on what their `where` selects. Each mutation is a task
//! that applies its effect when it succeeds. Every other operation answers a value valid for
//! its response schema that reflects the store where it can (tasks for what its `where`
//! selects), never a 501.

use std::sync::OnceLock;

use cloudtower_schema::{ApiSchema, FieldMapping, OperationKind, Ty, TypeSchema, Via};
use serde_json::{json, Map, Value};

use crate::filter::Query;
use crate::state::{now_rfc3339, ApiError, Effect, Store};

/// The table `cloudtower-api` was generated with.
pub(crate) fn schema() -> &'static ApiSchema {
    static SCHEMA: OnceLock<ApiSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        // Generated and checked with the crate (`cargo xtask regen --check`, this crate's tests):
        // a table that does not parse is a build defect, not a request's.
        ApiSchema::parse(cloudtower_api::SCHEMA_JSON)
            .expect("cloudtower-api's generated schema.json parses")
    })
}

/// How deep a skeleton answer nests before optional parts are left out.
const MAX_SKELETON_DEPTH: usize = 12;

/// A new record of `resource`: every required field (the smallest value of its type), the
/// nullable ones `null`, a fresh `id`.
pub(crate) fn new_record(store: &mut Store, resource: &str) -> Value {
    skeleton_object(store, resource, 0)
}

/// A value of the object type `name` with `fields` set and every other required field at its
/// smallest value: how hand-written behaviour builds nested values that stay schema-valid.
pub(crate) fn fill(store: &mut Store, name: &str, fields: Value) -> Value {
    let mut value = skeleton_object(store, name, 1);
    if let (Value::Object(value), Value::Object(fields)) = (&mut value, fields) {
        value.extend(fields);
    }
    value
}

/// What the generic path does with an operation (the coverage table's column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Hand-written behaviour.
    Override,
    /// The generic behaviour of its shape (list, connection, create, update, delete).
    Generic,
    /// An answer valid for its response schema, reflecting the store where it can.
    SchemaOnly,
}

/// How the mock answers `path` (an operation of the schema), given the overrides.
pub(crate) fn coverage(path: &str, overridden: bool) -> Coverage {
    if overridden {
        return Coverage::Override;
    }
    let Some(op) = schema().operation(path) else {
        return Coverage::SchemaOnly;
    };
    match &op.kind {
        OperationKind::Other => Coverage::SchemaOnly,
        _ => Coverage::Generic,
    }
}

/// Answers an operation of the schema that no override takes; `request` is its body, already
/// checked against the operation's request type (`null` when it has none).
pub(crate) fn answer(store: &mut Store, path: &str, request: &Value) -> Result<Value, ApiError> {
    let Some(op) = schema().operation(path) else {
        return Err(ApiError::not_found(format!("unknown operation `{path}`")));
    };
    match &op.kind {
        OperationKind::List { resource } => {
            let query = query(request)?;
            let records = store.records.of(resource);
            let picked = query.select_related(resource, records, &store.records);
            Ok(Value::Array(
                picked.into_iter().map(|i| records[i].clone()).collect(),
            ))
        }
        OperationKind::Connection { resource } => {
            let count =
                query(request)?.count_related(resource, store.records.of(resource), &store.records);
            Ok(json!({ "aggregate": { "count": count } }))
        }
        OperationKind::Create { resource, fields } => create(store, resource, fields, request),
        OperationKind::Update { resource, fields } => update(store, resource, fields, request),
        OperationKind::Delete { resource } => delete(store, resource, request),
        OperationKind::Other => schema_only(store, path, op.response.as_ref(), request),
    }
}

fn query(request: &Value) -> Result<Query, ApiError> {
    Query::from_json(request).map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))
}

fn elements(request: &Value) -> Result<&[Value], ApiError> {
    request
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| ApiError::bad_request("the request body must be an array of params"))
}

/// The records of `resource` that the request's `where` selects (ids, in store order).
fn selected(store: &Store, resource: &str, request: &Value) -> Result<Vec<String>, ApiError> {
    selected_ids(
        store,
        resource,
        request.get("where").unwrap_or(&Value::Null),
    )
}

/// The ids of the records of `resource` that `filter` (a `*WhereInput`) selects, in store
/// order; a 400 for a filter that cannot be evaluated.
pub(crate) fn selected_ids(
    store: &Store,
    resource: &str,
    filter: &Value,
) -> Result<Vec<String>, ApiError> {
    let query = Query::from_json(&json!({ "where": filter }))
        .map_err(|e| ApiError::bad_request(format!("invalid `where` filter: {e}")))?;
    let records = store.records.of(resource);
    Ok(query
        .select_related(resource, records, &store.records)
        .into_iter()
        .filter_map(|i| records[i]["id"].as_str().map(str::to_owned))
        .collect())
}

fn create(
    store: &mut Store,
    resource: &str,
    mappings: &[FieldMapping],
    request: &Value,
) -> Result<Value, ApiError> {
    let mut answers = Vec::new();
    let mut created = Vec::new();
    for params in elements(request)? {
        let set = resolve_fields(store, resource, mappings, params)?;
        let mut record = skeleton_object(store, resource, 0);
        let id = store.id();
        let local_id = store.uuid();
        if let Value::Object(fields) = &mut record {
            fields.extend(set);
            fields.insert("id".into(), id.clone().into());
            for (key, value) in [
                ("local_id", Value::from(local_id)),
                ("local_created_at", Value::from(now_rfc3339())),
            ] {
                if fields.contains_key(key) {
                    fields.insert(key.into(), value);
                }
            }
        }
        created.push((id, record));
    }
    // Every element is checked before any is created: a bad one loses nothing.
    for (id, record) in created {
        store.records.insert(resource, record);
        let on_success = {
            let (resource, id) = (resource.to_owned(), id.clone());
            move |store: &mut Store| {
                sync_inverse(store, &resource, &id, &Value::Null);
                store.record(&resource, "CREATE", &id, None)
            }
        };
        let on_failure = {
            let (resource, id) = (resource.to_owned(), id.clone());
            move |store: &mut Store| {
                store.records.remove(&resource, &id);
            }
        };
        let data = store
            .records
            .find(resource, &id)
            .cloned()
            .unwrap_or(Value::Null);
        let task = Task::new("Create", resource, &id).on_success(on_success);
        answers.push(task.on_failure(on_failure).answer(store, data));
    }
    Ok(Value::Array(answers))
}

fn update(
    store: &mut Store,
    resource: &str,
    mappings: &[FieldMapping],
    request: &Value,
) -> Result<Value, ApiError> {
    // `data` is optional in some specs' update params: none changes nothing.
    let data = match request.get("data") {
        None | Some(Value::Null) => &Value::Null,
        Some(data @ Value::Object(_)) => data,
        Some(_) => return Err(ApiError::bad_request("`data` must be an object")),
    };
    let set = resolve_fields(store, resource, mappings, data)?;
    let mut answers = Vec::new();
    for id in selected(store, resource, request)? {
        let Some(mut record) = store.records.find(resource, &id).cloned() else {
            continue;
        };
        if let Value::Object(fields) = &mut record {
            fields.extend(set.clone());
        }
        let effect = {
            let (resource, id, set) = (resource.to_owned(), id.clone(), set.clone());
            move |store: &mut Store| {
                // Applied to the record as it is when the task ends (gone: deleted meanwhile).
                let Some(current) = store.records.fields_mut(&resource, &id) else {
                    return;
                };
                let old = Value::Object(current.clone());
                current.extend(set);
                sync_inverse(store, &resource, &id, &old);
                refresh_nested(store, &resource, &id);
                store.record(&resource, "UPDATE", &id, Some(old));
            }
        };
        let task = Task::new("Update", resource, &id).on_success(effect);
        answers.push(task.answer(store, record));
    }
    Ok(Value::Array(answers))
}

fn delete(store: &mut Store, resource: &str, request: &Value) -> Result<Value, ApiError> {
    let mut answers = Vec::new();
    for id in selected(store, resource, request)? {
        let effect = {
            let (resource, id) = (resource.to_owned(), id.clone());
            move |store: &mut Store| {
                if let Some(old) = store.records.remove(&resource, &id) {
                    sync_inverse(store, &resource, &id, &old);
                    store.record(&resource, "DELETE", &id, Some(old));
                }
            }
        };
        let task = Task::new("Delete", resource, &id).on_success(effect);
        answers.push(task.answer(store, json!({ "id": id })));
    }
    Ok(Value::Array(answers))
}

/// A mutation's task on one resource, and the `{task_id, data}` answer that names it.
pub(crate) struct Task {
    description: String,
    resource: String,
    id: String,
    on_success: Option<Effect>,
    on_failure: Option<Effect>,
}

impl Task {
    /// `verb` (`Create`, `Update`, `Delete`, or a description) of `resource`/`id`.
    pub fn new(verb: &str, resource: &str, id: &str) -> Task {
        let description = match verb {
            "Create" | "Update" | "Delete" => format!("{verb} {resource}"),
            other => other.to_owned(),
        };
        Task {
            description,
            resource: resource.to_owned(),
            id: id.to_owned(),
            on_success: None,
            on_failure: None,
        }
    }

    /// What happens when the task succeeds.
    pub fn on_success(mut self, effect: impl FnOnce(&mut Store) + Send + 'static) -> Task {
        self.on_success = Some(Box::new(effect));
        self
    }

    /// What happens when it fails (a create undone, say).
    pub fn on_failure(mut self, effect: impl FnOnce(&mut Store) + Send + 'static) -> Task {
        self.on_failure = Some(Box::new(effect));
        self
    }

    /// Starts the task; the answer `{task_id, data}`.
    pub fn answer(self, store: &mut Store, data: Value) -> Value {
        let task_id = store.task(
            &self.description,
            &self.resource,
            &self.id,
            self.on_success,
            self.on_failure,
        );
        json!({ "task_id": task_id, "data": data })
    }
}

/// The resource fields the params of `operation` (a create, or an update's `data`) set, as
/// the table maps them: what an override of it starts from (references resolved, a 400 for
/// one to nothing).
pub(crate) fn mapped(
    store: &Store,
    operation: &str,
    params: &Value,
) -> Result<Map<String, Value>, ApiError> {
    match schema().operation(operation).map(|op| &op.kind) {
        Some(
            OperationKind::Create { resource, fields } | OperationKind::Update { resource, fields },
        ) => resolve_fields(store, resource, fields, params),
        _ => Ok(Map::new()),
    }
}

/// The resource fields that the params (or data) set, as `mappings` say: values as they are,
/// references resolved into the nested form of what they name (a 400 for a reference to
/// nothing).
fn resolve_fields(
    store: &Store,
    resource: &str,
    mappings: &[FieldMapping],
    params: &Value,
) -> Result<Map<String, Value>, ApiError> {
    let mut fields = Map::new();
    for mapping in mappings {
        let Some(value) = params.get(&mapping.param) else {
            continue;
        };
        let held = match &mapping.via {
            Via::Value => value.clone(),
            Via::Reference { resource: target } => match value {
                Value::Null => Value::Null,
                Value::String(id) => nested(store, resource, &mapping.field, target, id)?,
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "`{}` must be the id of a {target}",
                        mapping.param
                    )))
                }
            },
            Via::References { resource: target } => {
                let not_ids =
                    || ApiError::bad_request(format!("`{}` must be a list of ids", mapping.param));
                let mut held = Vec::new();
                for id in value.as_array().ok_or_else(not_ids)? {
                    let id = id.as_str().ok_or_else(not_ids)?;
                    held.push(nested(store, resource, &mapping.field, target, id)?);
                }
                Value::Array(held)
            }
        };
        fields.insert(mapping.field.clone(), held);
    }
    Ok(fields)
}

/// The nested form (`{id, name}`, whatever fields the nested type has) of the `target` record
/// with `id`, as `resource.field` holds it; a 400 when there is none.
fn nested(
    store: &Store,
    resource: &str,
    field: &str,
    target: &str,
    id: &str,
) -> Result<Value, ApiError> {
    let record = store
        .records
        .find(target, id)
        .ok_or_else(|| ApiError::no_such(format!("no {target} with id `{id}`")))?;
    let schema = schema();
    let nested_type = schema
        .fields(resource)
        .and_then(|fields| fields.iter().find(|f| f.name == field))
        .and_then(|f| f.ty.named().map(str::to_owned));
    let keep: Vec<String> = nested_type
        .and_then(|name| schema.fields(&name))
        .map(|fields| fields.iter().map(|f| f.name.clone()).collect())
        .unwrap_or_else(|| vec!["id".into(), "name".into()]);
    let mut out = Map::new();
    for key in keep {
        if let Some(value) = record.get(&key) {
            out.insert(key, value.clone());
        }
    }
    Ok(Value::Object(out))
}

/// An answer for an operation with no generic behaviour: for a list of tasks on a resource
/// whose filter the request carries, a task per resource it selects (holding the resource);
/// otherwise the smallest value of the response type.
fn schema_only(
    store: &mut Store,
    path: &str,
    response: Option<&Ty>,
    request: &Value,
) -> Result<Value, ApiError> {
    let Some(response) = response else {
        return Ok(Value::Null);
    };
    if let Ty::Array(element) = response {
        if let Ty::WithTask(data) = element.as_ref() {
            if let Some(resource) = data.named().filter(|r| schema().resource(r).is_some()) {
                if request.get("where").is_some_and(Value::is_object) {
                    let mut answers = Vec::new();
                    for id in selected(store, resource, request)? {
                        let record = store.records.find(resource, &id).cloned();
                        let task_id = store.task(path, resource, &id, None, None);
                        answers.push(json!({ "task_id": task_id, "data": record }));
                    }
                    return Ok(Value::Array(answers));
                }
            }
        }
    }
    Ok(skeleton(store, response, 0))
}

/// The smallest value of `ty`: required fields only, `null` where allowed, empty lists, the
/// first enum value; a task for a `task<T>` (one that succeeds and changes nothing).
fn skeleton(store: &mut Store, ty: &Ty, depth: usize) -> Value {
    match ty {
        Ty::String => Value::from(""),
        Ty::Bool => Value::from(false),
        Ty::Int32 | Ty::Int64 => Value::from(0),
        Ty::Float | Ty::Double => Value::from(0.0),
        Ty::Json => json!({}),
        Ty::File => Value::Null,
        Ty::Array(_) => json!([]),
        Ty::WithTask(data) => {
            let data = skeleton(store, data, depth + 1);
            let task_id = store.task("Mock task", "", "", None, None);
            json!({ "task_id": task_id, "data": data })
        }
        Ty::Named(name) => match schema().resolve(name) {
            Some(TypeSchema::Enum { values }) => {
                values.first().cloned().map_or(Value::Null, Value::from)
            }
            Some(TypeSchema::Union { alternatives }) => match alternatives.first() {
                Some(first) => skeleton(store, &first.clone(), depth + 1),
                None => Value::Null,
            },
            Some(TypeSchema::Alias { target }) => skeleton(store, &target.clone(), depth + 1),
            Some(_) => skeleton_object(store, name, depth),
            None => Value::Null,
        },
    }
}

fn skeleton_object(store: &mut Store, name: &str, depth: usize) -> Value {
    let mut out = Map::new();
    for field in schema().fields(name).unwrap_or(&[]) {
        let kept = field.required || (depth == 0 && field.nullable);
        if !kept {
            continue;
        }
        let value = if field.nullable || depth >= MAX_SKELETON_DEPTH {
            Value::Null
        } else {
            skeleton(store, &field.ty, depth + 1)
        };
        out.insert(field.name.clone(), value);
    }
    if let Some(Value::String(id)) = out.get("id").filter(|_| depth == 0).cloned() {
        if id.is_empty() {
            out.insert("id".into(), Value::from(store.id()));
        }
    }
    Value::Object(out)
}

/// One record of every resource type that others refer to (relations and create params'
/// `*_id`s) and the hand-written store does not hold, named `<type>-1` (`vds-1`), its to-one
/// relations pointing at the first record of their resource: references in requests built
/// from the spec resolve to something.
pub(crate) fn seed(store: &mut Store) {
    let schema = schema();
    let mut referred: Vec<&str> = Vec::new();
    for resource in &schema.resources {
        referred.extend(resource.relations.iter().map(|r| r.resource.as_str()));
    }
    for op in &schema.operations {
        if let OperationKind::Create { fields, .. } | OperationKind::Update { fields, .. } =
            &op.kind
        {
            for mapping in fields {
                if let Via::Reference { resource } | Via::References { resource } = &mapping.via {
                    referred.push(resource);
                }
            }
        }
    }
    referred.sort_unstable();
    referred.dedup();
    // The VM slice's sample inventory comes first; every other type gets one record.
    let seeded: Vec<&str> = referred
        .into_iter()
        .filter(|r| store.records.of(r).is_empty())
        .collect();
    for resource in &seeded {
        let mut record = skeleton_object(store, resource, 0);
        if let Value::Object(fields) = &mut record {
            if fields.contains_key("name") || has_field(resource, "name") {
                fields.insert("name".into(), Value::from(format!("{}-1", kebab(resource))));
            }
            if has_field(resource, "local_id") {
                fields.insert("local_id".into(), Value::from(store.uuid()));
            }
        }
        store.records.insert(resource, record);
    }
    // Second pass, once every record exists: to-one relations point at a record.
    for resource in &seeded {
        let Some(shape) = schema.resource(resource) else {
            continue;
        };
        let Some(id) = store.records.of(resource).first().map(|r| r["id"].clone()) else {
            continue;
        };
        let id = id.as_str().unwrap_or_default().to_owned();
        let mut links = Vec::new();
        for relation in shape.relations.iter().filter(|r| !r.many) {
            if let Some(target) = store.records.of(&relation.resource).first() {
                let target_id = target["id"].as_str().unwrap_or_default().to_owned();
                if let Ok(value) = nested(
                    store,
                    resource,
                    &relation.field,
                    &relation.resource,
                    &target_id,
                ) {
                    links.push((relation.field.clone(), value));
                }
            }
        }
        if let Some(fields) = store.records.fields_mut(resource, &id) {
            fields.extend(links);
        }
    }
}

/// `add-labels-to-resources` and `remove-labels-from-resources`, read from the table: for each
/// record of `resource` that `where` selects, each key of `data` names one of its to-many
/// relations and holds a filter of the related type; what the filter selects is added to (or
/// removed from) the relation when the task succeeds, and the related records show the change
/// in their relation back (a labelled VM lists the label).
pub(crate) fn link(
    store: &mut Store,
    resource: &str,
    request: &Value,
    add: bool,
) -> Result<Value, ApiError> {
    let shape = schema()
        .resource(resource)
        .ok_or_else(|| ApiError::not_found(format!("no resource `{resource}`")))?;
    let mut changes: Vec<(String, Vec<String>)> = Vec::new();
    for (field, filter) in request["data"].as_object().into_iter().flatten() {
        let relation = shape
            .relations
            .iter()
            .find(|r| &r.field == field && r.many)
            .ok_or_else(|| {
                ApiError::bad_request(format!("{resource} has no to-many relation `{field}`"))
            })?;
        changes.push((
            field.clone(),
            selected_ids(store, &relation.resource, filter)?,
        ));
    }
    let verb = if add { "Add" } else { "Remove" };
    let mut answers = Vec::new();
    for id in selected(store, resource, request)? {
        let Some(data) = store.records.find(resource, &id).cloned() else {
            continue;
        };
        let effect = {
            let (resource, id, changes) = (resource.to_owned(), id.clone(), changes.clone());
            move |store: &mut Store| {
                let Some(old) = store.records.find(&resource, &id).cloned() else {
                    return;
                };
                for (field, targets) in &changes {
                    let Some(target) = schema()
                        .resource(&resource)
                        .and_then(|s| s.relations.iter().find(|r| &r.field == field))
                    else {
                        continue;
                    };
                    let projections: Vec<Value> = targets
                        .iter()
                        .filter_map(|t| nested(store, &resource, field, &target.resource, t).ok())
                        .collect();
                    let Some(record) = store.records.fields_mut(&resource, &id) else {
                        return;
                    };
                    let slot = record.entry(field.clone()).or_insert_with(|| json!([]));
                    if !slot.is_array() {
                        *slot = json!([]);
                    }
                    if let Value::Array(list) = slot {
                        list.retain(|item| !targets.iter().any(|t| item["id"] == t.as_str()));
                        if add {
                            list.extend(projections);
                        }
                    }
                }
                sync_inverse(store, &resource, &id, &old);
                store.record(&resource, "UPDATE", &id, Some(old));
            }
        };
        let description = format!("{verb} {resource} relations");
        answers.push(
            Task::new(&description, resource, &id)
                .on_success(effect)
                .answer(store, data),
        );
    }
    Ok(Value::Array(answers))
}

/// The ids a relation field holds: the `id` of a nested object, or of each in a list.
fn relation_ids(value: &Value) -> Vec<String> {
    match value {
        Value::Object(_) => value["id"]
            .as_str()
            .map(str::to_owned)
            .into_iter()
            .collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i["id"].as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Keeps relations consistent both ways: after record `resource`/`id` changed from `old`
/// (`null` for a new record; the record is gone after a delete), each record it now points
/// at (or no longer does) shows it in (or drops it from) the relation back, when the other
/// type has exactly one relation to `resource`. Adding labels to a VM shows the VM on them.
pub(crate) fn sync_inverse(store: &mut Store, resource: &str, id: &str, old: &Value) {
    let schema = schema();
    let Some(shape) = schema.resource(resource) else {
        return;
    };
    let new = store
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
            if let Some(fields) = store.records.fields_mut(&target.name, gone) {
                match fields.get_mut(&inverse.field) {
                    Some(Value::Array(list)) => list.retain(|item| item["id"] != id),
                    Some(one) if one["id"] == id => *one = Value::Null,
                    _ => {}
                }
            }
        }
        for added in after.iter().filter(|t| !before.contains(t)) {
            let Ok(projection) = nested(store, &target.name, &inverse.field, resource, id) else {
                continue;
            };
            if let Some(fields) = store.records.fields_mut(&target.name, added) {
                let slot = fields.entry(inverse.field.clone()).or_insert(Value::Null);
                if inverse.many {
                    match slot {
                        Value::Array(list) if list.iter().any(|i| i["id"] == id) => {}
                        Value::Array(list) => list.push(projection),
                        other => *other = Value::Array(vec![projection]),
                    }
                } else {
                    *slot = projection;
                }
            }
        }
    }
}

/// After record `resource`/`id` changed, the nested copies other records hold of it (`vm:
/// {id, name}` on a disk) show its new values.
pub(crate) fn refresh_nested(store: &mut Store, resource: &str, id: &str) {
    let schema = schema();
    for holder in &schema.resources {
        for relation in holder.relations.iter().filter(|r| r.resource == resource) {
            let field = relation.field.as_str();
            let holders: Vec<String> = store
                .records
                .of(&holder.name)
                .iter()
                .filter(|r| relation_ids(&r[field]).iter().any(|i| i == id))
                .filter_map(|r| r["id"].as_str().map(str::to_owned))
                .collect();
            // Built only for a relation something holds: updates are a hot path.
            if holders.is_empty() {
                continue;
            }
            let Ok(fresh) = nested(store, &holder.name, &relation.field, resource, id) else {
                return;
            };
            for holder_id in holders {
                let Some(slot) = store
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

fn has_field(resource: &str, field: &str) -> bool {
    schema()
        .fields(resource)
        .is_some_and(|fields| fields.iter().any(|f| f.name == field))
}

/// `VmPlacementGroup` → `vm-placement-group`.
fn kebab(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}
