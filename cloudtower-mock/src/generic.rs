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

use std::collections::BTreeMap;
use std::sync::OnceLock;

use cloudtower_schema::{ApiSchema, FieldMapping, OperationKind, Ty, TypeSchema, Via};
use serde_json::{json, Map, Value};

use crate::filter::Query;
use crate::state::{now_rfc3339, ApiError, Store};

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

/// The JSON records of the resource types the generic path holds.
#[derive(Default)]
pub(crate) struct Records {
    by_type: BTreeMap<String, Vec<Value>>,
}

impl Records {
    pub fn of(&self, resource: &str) -> &[Value] {
        self.by_type.get(resource).map_or(&[], Vec::as_slice)
    }

    pub fn find(&self, resource: &str, id: &str) -> Option<&Value> {
        self.of(resource).iter().find(|r| r["id"] == id)
    }

    fn find_mut(&mut self, resource: &str, id: &str) -> Option<&mut Value> {
        self.by_type
            .get_mut(resource)?
            .iter_mut()
            .find(|r| r["id"] == id)
    }

    pub fn insert(&mut self, resource: &str, record: Value) {
        self.by_type
            .entry(resource.to_owned())
            .or_default()
            .push(record);
    }

    fn remove(&mut self, resource: &str, id: &str) -> Option<Value> {
        let list = self.by_type.get_mut(resource)?;
        let at = list.iter().position(|r| r["id"] == id)?;
        Some(list.remove(at))
    }

    /// Sets `entityAsyncStatus` of a record that has the field.
    pub fn set_async_status(&mut self, resource: &str, id: &str, status: Option<&str>) {
        if let Some(Value::Object(record)) = self.find_mut(resource, id) {
            if record.contains_key("entityAsyncStatus") {
                record.insert(
                    "entityAsyncStatus".into(),
                    status.map_or(Value::Null, Value::from),
                );
            }
        }
    }
}

/// The resource types the hand-written store holds as typed models (until they move here):
/// their lists are overrides, and the generic path reads them as JSON to resolve references.
fn typed_records(store: &Store, resource: &str) -> Option<Vec<Value>> {
    use crate::state::to_json;
    fn all<T: cloudtower_api::codec::Encode>(items: &[T]) -> Vec<Value> {
        items.iter().map(to_json).collect()
    }
    Some(match resource {
        "Cluster" => all(&store.clusters),
        "Host" => all(&store.hosts),
        "Vlan" => all(&store.vlans),
        "Vm" => all(&store.vms),
        "VmDisk" => all(&store.vm_disks),
        "VmVolume" => all(&store.vm_volumes),
        "VmNic" => all(&store.vm_nics),
        "VmSnapshot" => all(&store.vm_snapshots),
        "IscsiLunSnapshot" => all(&store.iscsi_lun_snapshots),
        "ElfImage" => all(&store.elf_images),
        "ContentLibraryVmTemplate" => all(&store.content_library_vm_templates),
        "Task" => all(&store.tasks),
        "UploadTask" => all(&store.upload_tasks),
        _ => return None,
    })
}

/// Whether the hand-written store holds `resource`.
pub(crate) fn is_typed(resource: &str) -> bool {
    matches!(
        resource,
        "Cluster"
            | "Host"
            | "Vlan"
            | "Vm"
            | "VmDisk"
            | "VmVolume"
            | "VmNic"
            | "VmSnapshot"
            | "IscsiLunSnapshot"
            | "ElfImage"
            | "ContentLibraryVmTemplate"
            | "Task"
            | "UploadTask"
    )
}

/// Every record of `resource`, wherever it is held.
fn records_of(store: &Store, resource: &str) -> Vec<Value> {
    typed_records(store, resource).unwrap_or_else(|| store.records.of(resource).to_vec())
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
        kind => match kind.resource() {
            Some(resource) if !is_typed(resource) => Coverage::Generic,
            _ => Coverage::SchemaOnly,
        },
    }
}

/// Answers an operation of the schema that no override takes.
pub(crate) fn answer(store: &mut Store, path: &str, body: &[u8]) -> Result<Value, ApiError> {
    let Some(op) = schema().operation(path) else {
        return Err(ApiError::not_found(format!("unknown operation `{path}`")));
    };
    let request: Value = if op.multipart || body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("the request body is not JSON: {e}")))?
    };
    let typed = op.kind.resource().is_some_and(is_typed);
    match &op.kind {
        OperationKind::List { resource } if !typed => {
            let query = query(&request)?;
            let records = store.records.of(resource);
            let picked = query.select(records);
            Ok(Value::Array(
                picked.into_iter().map(|i| records[i].clone()).collect(),
            ))
        }
        OperationKind::Connection { resource } if !typed => {
            let count = query(&request)?.count(store.records.of(resource));
            Ok(json!({ "aggregate": { "count": count } }))
        }
        OperationKind::Create { resource, fields } if !typed => {
            create(store, resource, fields, &request)
        }
        OperationKind::Update { resource, fields } if !typed => {
            update(store, resource, fields, &request)
        }
        OperationKind::Delete { resource } if !typed => delete(store, resource, &request),
        _ => schema_only(store, path, op.response.as_ref(), &request),
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
    let filter = request.get("where").cloned().unwrap_or(Value::Null);
    let query = query(&json!({ "where": filter }))?;
    let records = records_of(store, resource);
    Ok(query
        .select(&records)
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
        let resource_owned = resource.to_owned();
        let failed_id = id.clone();
        let task_id = store.task(
            &format!("Create {resource}"),
            resource,
            &id,
            Some(Box::new({
                let (resource, id) = (resource.to_owned(), id.clone());
                move |store: &mut Store| store.record(&resource, "CREATE", &id, None)
            })),
            Some(Box::new(move |store: &mut Store| {
                store.records.remove(&resource_owned, &failed_id);
            })),
        );
        let data = store
            .records
            .find(resource, &id)
            .cloned()
            .unwrap_or(Value::Null);
        answers.push(json!({ "task_id": task_id, "data": data }));
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
                let Some(Value::Object(current)) = store.records.find_mut(&resource, &id) else {
                    return;
                };
                let old = Value::Object(current.clone());
                current.extend(set);
                store.record(&resource, "UPDATE", &id, Some(old));
            }
        };
        let task_id = store.task(
            &format!("Update {resource}"),
            resource,
            &id,
            Some(Box::new(effect)),
            None,
        );
        answers.push(json!({ "task_id": task_id, "data": record }));
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
                    store.record(&resource, "DELETE", &id, Some(old));
                }
            }
        };
        let task_id = store.task(
            &format!("Delete {resource}"),
            resource,
            &id,
            Some(Box::new(effect)),
            None,
        );
        answers.push(json!({ "task_id": task_id, "data": { "id": id } }));
    }
    Ok(Value::Array(answers))
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
    let record = records_of(store, target)
        .into_iter()
        .find(|r| r["id"] == id)
        .ok_or_else(|| ApiError::bad_request(format!("no {target} with id `{id}`")))?;
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
                        let record = records_of(store, resource)
                            .into_iter()
                            .find(|r| r["id"] == id.as_str());
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
    let seeded: Vec<&str> = referred.into_iter().filter(|r| !is_typed(r)).collect();
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
            if let Some(target) = records_of(store, &relation.resource).first() {
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
        if let Some(Value::Object(fields)) = store.records.find_mut(resource, &id) {
            fields.extend(links);
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
