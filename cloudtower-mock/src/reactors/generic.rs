//! Every operation no other reactor takes (see `reactors/mod.rs`), answered from the
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

use cloudtower_schema::{FieldMapping, OperationKind, Ty, Via};
use serde_json::{json, Map, Value};

use crate::filter::Query;
use crate::json::{add_to_list, list_mut, now_rfc3339, relation_ids, remove_from_list};
use crate::state::{ApiError, Store};
use crate::table::{has_field, kebab, schema, skeleton};
use crate::tasks::{AsyncStatus, Effect};

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
        OperationKind::Create { resource, fields } => {
            create(store, resource, fields, request, &Value::Null)
        }
        OperationKind::Update { resource, fields } => update(store, resource, fields, request),
        OperationKind::Delete { resource } => delete(store, resource, request),
        OperationKind::Other => match other_shape(path) {
            Some(OtherShape::Delete { resource }) => {
                delete_selected(store, resource, op.response.as_ref(), request)
            }
            Some(OtherShape::Create { resource }) => {
                create_by_name(store, resource, op.response.as_ref(), request)
            }
            Some(OtherShape::Copy { resource }) => copy_selected(store, resource, request),
            Some(OtherShape::Update { resource }) => {
                update_by_name(store, path, resource, op.response.as_ref(), request)
            }
            Some(OtherShape::Relate {
                resource,
                relation,
                add,
            }) => relate(store, path, resource, relation, add, request),
            None => schema_only(store, path, op.response.as_ref(), request),
        },
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

/// `create-X`: a record per params, with `defaults` (what the operation implies, such as a
/// VM VLAN's `type`), then the fields the table maps, and the params it does not map whose
/// name and value fit a field of the record ([`fields_by_name`]: `vlan_id`, `qos_*`).
pub(crate) fn create(
    store: &mut Store,
    resource: &str,
    mappings: &[FieldMapping],
    request: &Value,
    defaults: &Value,
) -> Result<Value, ApiError> {
    let mut answers = Vec::new();
    let mut created = Vec::new();
    for params in elements(request)? {
        let set = resolve_fields(store, resource, mappings, params)?;
        let mut unmapped = params.clone();
        if let Some(unmapped) = unmapped.as_object_mut() {
            unmapped.retain(|param, _| !mappings.iter().any(|m| &m.param == param));
        }
        let by_name = fields_by_name(store, resource, &unmapped)?;
        let mut record = store.new_record(resource);
        let id = store.id();
        let local_id = store.uuid();
        if let Value::Object(fields) = &mut record {
            crate::json::set(fields, defaults.clone());
            fields.extend(by_name);
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
        fill_placeholders(store, Some(resource), &mut record);
        created.push((id, record));
    }
    // Every element is checked before any is created: a bad one loses nothing.
    for (id, record) in created {
        store.records.insert(resource, record);
        let on_success = {
            let (resource, id) = (resource.to_owned(), id.clone());
            move |store: &mut Store| {
                store.sync_inverse(&resource, &id, &Value::Null);
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
    // As a create: what the table maps, then the params it does not map whose name and value
    // fit a field (`vms: VmWhereInput` selecting a backup plan's VMs).
    let mut unmapped = data.clone();
    if let Some(unmapped) = unmapped.as_object_mut() {
        unmapped.retain(|param, _| !mappings.iter().any(|m| &m.param == param));
    }
    let mut set = fields_by_name(store, resource, &unmapped)?;
    set.extend(resolve_fields(store, resource, mappings, data)?);
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
                store.update(&resource, &id, |current| current.extend(set));
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
                store.delete(&resource, &id);
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
    status: AsyncStatus,
    resource: String,
    id: String,
    on_success: Option<Effect>,
    on_failure: Option<Effect>,
}

impl Task {
    /// `verb` (`Create`, `Update`, `Delete`, or a description, which updates) of
    /// `resource`/`id`.
    pub fn new(verb: &str, resource: &str, id: &str) -> Task {
        let (description, status) = match verb {
            "Create" => (format!("{verb} {resource}"), AsyncStatus::Creating),
            "Delete" => (format!("{verb} {resource}"), AsyncStatus::Deleting),
            "Update" => (format!("{verb} {resource}"), AsyncStatus::Updating),
            other => (other.to_owned(), AsyncStatus::Updating),
        };
        Task {
            description,
            status,
            resource: resource.to_owned(),
            id: id.to_owned(),
            on_success: None,
            on_failure: None,
        }
    }

    /// What the resource shows while the task runs (`entityAsyncStatus`).
    pub fn status(mut self, status: AsyncStatus) -> Task {
        self.status = status;
        self
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
            self.status,
            &self.resource,
            &self.id,
            self.on_success,
            self.on_failure,
        );
        json!({ "task_id": task_id, "data": data })
    }
}

/// Adds `record` (a new record of `resource`) now and answers the task that creates it: when
/// the task succeeds the records it points at show it (a CREATE in the change log) and
/// `then` runs; when it fails the record is gone again.
pub(crate) fn create_task(
    store: &mut Store,
    resource: &str,
    record: Value,
    description: &str,
    then: Option<Effect>,
) -> Value {
    let id = record["id"].as_str().unwrap_or_default().to_owned();
    store.records.insert(resource, record.clone());
    let (kind, created) = (resource.to_owned(), id.clone());
    let (gone_kind, failed) = (resource.to_owned(), id.clone());
    Task::new(description, resource, &id)
        .status(AsyncStatus::Creating)
        .on_success(move |s: &mut Store| {
            s.sync_inverse(&kind, &created, &Value::Null);
            s.record(&kind, "CREATE", &created, None);
            if let Some(then) = then {
                then(s);
            }
        })
        .on_failure(move |s: &mut Store| {
            s.records.remove(&gone_kind, &failed);
        })
        .answer(store, record)
}

/// A new record of `resource` per element of `fields` ([`new_record_with`]), each created by
/// its task ([`create_task`], described by `describe(record)`); the answers, in order.
pub(crate) fn create_all(
    store: &mut Store,
    resource: &str,
    fields: Vec<Value>,
    describe: impl Fn(&Value) -> String,
) -> Value {
    let mut answers = Vec::new();
    for fields in fields {
        let record = new_record_with(store, resource, fields);
        let description = describe(&record);
        answers.push(create_task(store, resource, record, &description, None));
    }
    Value::Array(answers)
}

/// The ids of the records of `resource` that `filter` selects; none is refused (naming
/// `what`), as a tower refuses an operation on nothing.
pub(crate) fn selected_some(
    store: &Store,
    resource: &str,
    filter: &Value,
    what: &str,
) -> Result<Vec<String>, ApiError> {
    let ids = selected_ids(store, resource, filter)?;
    if ids.is_empty() {
        return Err(ApiError::nothing_selected(format!(
            "no {what} matches `where`"
        )));
    }
    Ok(ids)
}

/// A new record of `resource` (fresh `id`, `local_id`, creation time) with `fields` set and
/// the placeholders its relations leave filled: what a reactor creates.
pub(crate) fn new_record_with(store: &mut Store, resource: &str, fields: Value) -> Value {
    let mut record = store.new_record(resource);
    let local_id = store.uuid();
    if let Value::Object(held) = &mut record {
        for (key, value) in [
            ("local_id", Value::from(local_id)),
            ("local_created_at", Value::from(now_rfc3339())),
        ] {
            if held.contains_key(key) {
                held.insert(key.into(), value);
            }
        }
        crate::json::set(held, fields);
    }
    fill_placeholders(store, Some(resource), &mut record);
    record
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
pub(crate) fn nested(
    store: &Store,
    resource: &str,
    field: &str,
    target: &str,
    id: &str,
) -> Result<Value, ApiError> {
    store
        .records
        .nested(resource, field, target, id)
        .ok_or_else(|| ApiError::no_such(format!("no {target} with id `{id}`")))
}

/// The resource whose records a filter type selects (`VmWhereInput`,
/// `VmWhereUniqueInput` → `Vm`).
fn filtered_resource(filter: &str) -> Option<&'static str> {
    let schema = schema();
    if let Some(r) = schema.resources.iter().find(|r| r.filter == filter) {
        return Some(r.name.as_str());
    }
    let name = filter.strip_suffix("WhereUniqueInput")?;
    schema.resource(name).map(|r| r.name.as_str())
}

/// The resource the `where` of `request` (of type `request_type`) selects, and the ids.
fn where_selection(
    store: &Store,
    request_type: Option<&Ty>,
    request: &Value,
) -> Result<Option<(&'static str, Vec<String>)>, ApiError> {
    let Some(filter) = request.get("where").filter(|w| w.is_object()) else {
        return Ok(None);
    };
    let Some(name) = request_type.and_then(Ty::named) else {
        return Ok(None);
    };
    let Some(filter_type) = schema()
        .fields(name)
        .and_then(|fields| fields.iter().find(|f| f.name == "where"))
        .and_then(|f| f.ty.named())
    else {
        return Ok(None);
    };
    let Some(resource) = filtered_resource(filter_type) else {
        return Ok(None);
    };
    Ok(Some((resource, selected_ids(store, resource, filter)?)))
}

/// The response's element type: `(resource or type name, list, with tasks)`.
fn response_shape(response: &Ty) -> Option<(&str, bool, bool)> {
    match response {
        Ty::Array(element) => match element.as_ref() {
            Ty::WithTask(data) => match data.as_ref() {
                Ty::Named(name) => Some((name, true, true)),
                _ => None,
            },
            Ty::Named(name) => Some((name, true, false)),
            _ => None,
        },
        Ty::WithTask(data) => match data.as_ref() {
            Ty::Named(name) => Some((name, false, true)),
            _ => None,
        },
        Ty::Named(name) => Some((name, false, false)),
        _ => None,
    }
}

/// An answer for an operation outside the regular shapes, reflecting the store:
/// - with a `where` over `W` answering `R`s: the selected records when `W` is `R`; the `R`
///   each selected `W` names (a VM NIC's VM); or, when `R` points at `W` (a backup plan's
///   executions), a new `R` for each selected `W` (what running the operation creates);
/// - without one, answering one `R`: the record the request names (`id`, `<r>_id`), else
///   the tower's first (its settings, its license), updated with the params that fit it;
/// - otherwise the smallest value of the response type, its placeholders filled.
///
/// Each answer element of a task type names a real task on the record it holds.
fn schema_only(
    store: &mut Store,
    path: &str,
    response: Option<&Ty>,
    request: &Value,
) -> Result<Value, ApiError> {
    let Some(response) = response else {
        return Ok(Value::Null);
    };
    let request_type = schema().operation(path).and_then(|op| op.request.as_ref());
    let shape = response_shape(response);
    let resource = shape.and_then(|(name, _, _)| schema().resource(name).map(|r| r.name.as_str()));
    if let (Some(resource), Some((_, list, with_task))) = (resource, shape) {
        let records = match where_selection(store, request_type, request)? {
            Some((selected, ids)) => Some(related(store, path, selected, &ids, resource)),
            None if !list => match named_or_first(store, path, resource, request) {
                Some(id) => Some(vec![id]),
                // An update of a record the tower does not have is refused, as a tower does.
                None if path.starts_with("update-") => {
                    return Err(ApiError::no_such(format!(
                        "there is no {resource} to update"
                    )))
                }
                None => None,
            },
            None => None,
        };
        if let Some(ids) = records {
            let mut answers = Vec::new();
            for id in ids {
                let Some(record) = store.records.find(resource, &id).cloned() else {
                    continue;
                };
                answers.push(if with_task {
                    let task_id =
                        store.task(path, AsyncStatus::Updating, resource, &id, None, None);
                    json!({ "task_id": task_id, "data": record })
                } else {
                    record
                });
            }
            return Ok(if list {
                Value::Array(answers)
            } else {
                answers.pop().unwrap_or(Value::Null)
            });
        }
    }
    // A list of tasks on a value that is no resource (`ClusterPinInPerformanceInfo`): one
    // task per record the `where` selected, its value naming that record where it can.
    if let (None, Some((name, true, true))) = (resource, shape) {
        if let Some((selected, ids)) = where_selection(store, request_type, request)? {
            let field = crate::table::kebab(selected).replace('-', "_");
            let mut answers = Vec::new();
            for id in ids {
                let mut value = skeleton(&Ty::Named(name.to_owned()), 1, &mut || store.id());
                if crate::table::has_field(name, &field) {
                    if let Some(link) = store.records.nested(name, &field, selected, &id) {
                        value[field.as_str()] = link;
                    }
                }
                fill_placeholders(store, None, &mut value);
                let task_id = store.task(path, AsyncStatus::Updating, selected, &id, None, None);
                answers.push(json!({ "task_id": task_id, "data": value }));
            }
            return Ok(Value::Array(answers));
        }
    }
    let mut answer = skeleton(response, 0, &mut || store.id());
    fill_placeholders(store, None, &mut answer);
    // A `task<T>` answer names a real task (one that changes nothing).
    if answer.get("task_id").is_some_and(Value::is_null) && matches!(response, Ty::WithTask(_)) {
        answer["task_id"] = store
            .task(path, AsyncStatus::Updating, "", "", None, None)
            .into();
    }
    Ok(answer)
}

/// What [`schema_only`] does to the store for `path`, read from its types as that function
/// reads them (the coverage table's classes of schema-only operations).
pub(crate) enum SchemaOnlyEffect {
    /// A new record per record its `where` selects, pointing at it ([`related`]).
    CreatesRelated,
    /// The record it answers takes the params that name its fields ([`named_or_first`]).
    UpdatesNamed,
    Nothing,
}

/// See [`SchemaOnlyEffect`].
pub(crate) fn schema_only_effect(path: &str) -> SchemaOnlyEffect {
    let Some(op) = schema().operation(path) else {
        return SchemaOnlyEffect::Nothing;
    };
    let Some((name, list, _)) = op.response.as_ref().and_then(response_shape) else {
        return SchemaOnlyEffect::Nothing;
    };
    let Some(resource) = schema().resource(name) else {
        return SchemaOnlyEffect::Nothing;
    };
    let params = op
        .request
        .as_ref()
        .and_then(Ty::named)
        .and_then(|request| schema().fields(request))
        .unwrap_or_default();
    let selects = params
        .iter()
        .find(|f| f.name == "where")
        .and_then(|f| f.ty.named())
        .and_then(filtered_resource);
    let to_one = |holder: &str, target: &str| {
        schema()
            .resource(holder)
            .is_some_and(|s| s.relations.iter().any(|r| r.resource == target && !r.many))
    };
    match selects {
        Some(from) if from != resource.name && !to_one(from, &resource.name) => {
            if to_one(&resource.name, from) {
                SchemaOnlyEffect::CreatesRelated
            } else {
                SchemaOnlyEffect::Nothing
            }
        }
        Some(_) => SchemaOnlyEffect::Nothing,
        None if !list && path.starts_with("update-") => {
            let data = params
                .iter()
                .find(|f| f.name == "data")
                .and_then(|f| f.ty.named())
                .and_then(|data| schema().fields(data))
                .unwrap_or_default();
            let names_a_field = params
                .iter()
                .chain(data)
                .any(|f| f.name != "id" && has_field(&resource.name, &f.name));
            if names_a_field {
                SchemaOnlyEffect::UpdatesNamed
            } else {
                SchemaOnlyEffect::Nothing
            }
        }
        None => SchemaOnlyEffect::Nothing,
    }
}

/// The `resource` records an operation on the `selected` records of `from` answers (see
/// [`schema_only`]); new ones are created (recorded) when `resource` points at `from`.
fn related(
    store: &mut Store,
    path: &str,
    from: &str,
    selected: &[String],
    resource: &str,
) -> Vec<String> {
    if from == resource {
        return selected.to_vec();
    }
    let relation_to = |holder: &str, target: &str| {
        schema()
            .resource(holder)
            .and_then(|s| s.relations.iter().find(|r| r.resource == target && !r.many))
            .map(|r| r.field.clone())
    };
    if let Some(field) = relation_to(from, resource) {
        let mut out: Vec<String> = Vec::new();
        for id in selected {
            if let Some(target) = store
                .records
                .find(from, id)
                .and_then(|r| r[field.as_str()]["id"].as_str())
            {
                if !out.iter().any(|o| o == target) {
                    out.push(target.to_owned());
                }
            }
        }
        return out;
    }
    if let Some(field) = relation_to(resource, from) {
        let mut out = Vec::new();
        for id in selected {
            let Some(link) = store.records.nested(resource, &field, from, id) else {
                continue;
            };
            let mut record = store.new_record(resource);
            let local_id = store.uuid();
            if let Some(fields) = record.as_object_mut() {
                if fields.contains_key("local_id") {
                    fields.insert("local_id".into(), local_id.into());
                }
                if fields.contains_key("name") {
                    fields.insert("name".into(), format!("{path}-{id}").into());
                }
                fields.insert(field.clone(), link);
            }
            fill_placeholders(store, Some(resource), &mut record);
            out.push(store.create(resource, record));
        }
        return out;
    }
    Vec::new()
}

/// The record of `resource` a request without a `where` names (`id`, `<resource>_id`, at
/// the top or in `data`), else the first one; `update-*` operations apply the params that
/// fit it.
fn named_or_first(
    store: &mut Store,
    path: &str,
    resource: &str,
    request: &Value,
) -> Option<String> {
    let key = format!("{}_id", crate::table::kebab(resource).replace('-', "_"));
    let named = [request, &request["data"], &request["where"]]
        .into_iter()
        .flat_map(|v| [v.get("id"), v.get(key.as_str())])
        .flatten()
        .filter_map(Value::as_str)
        .find(|id| store.records.find(resource, id).is_some())
        .map(str::to_owned);
    let id = named.or_else(|| {
        store
            .records
            .of(resource)
            .first()
            .and_then(|r| r["id"].as_str().map(str::to_owned))
    })?;
    if path.starts_with("update-") {
        let params = if request["data"].is_object() {
            &request["data"]
        } else {
            request
        };
        if let Ok(mut set) = fields_by_name(store, resource, params) {
            set.remove("id");
            if !set.is_empty() {
                store.update(resource, &id, |record| record.extend(set));
            }
        }
    }
    Some(id)
}

/// Fills the placeholders a skeleton leaves (`{"id": ""}`) in `value` (a record of
/// `resource`, or an answer): a relation of the record points at the record its sibling
/// relations' targets name (a volume snapshot's cluster is its volume's), else at the first
/// record of its resource; a nested object named like a resource (`cluster`) likewise;
/// anything else gets a fresh id.
pub(crate) fn fill_placeholders(store: &mut Store, resource: Option<&str>, value: &mut Value) {
    let Some(fields) = value.as_object() else {
        if let Value::Array(items) = value {
            for item in items {
                fill_placeholders(store, resource, item);
            }
        }
        return;
    };
    let keys: Vec<String> = fields.keys().cloned().collect();
    for key in keys {
        let is_placeholder = value[key.as_str()].get("id").is_some_and(|id| id == "");
        if !is_placeholder {
            let child = &mut value[key.as_str()];
            if child.is_object() || child.is_array() {
                let nested_type = resource
                    .and_then(|r| crate::table::field_type(r, &key))
                    .and_then(Ty::named)
                    .and_then(|n| schema().resource(n).map(|r| r.name.as_str()));
                fill_placeholders(store, nested_type, child);
            }
            continue;
        }
        let target = resource
            .and_then(|r| schema().resource(r))
            .and_then(|s| s.relations.iter().find(|r| r.field == key))
            .map(|r| r.resource.as_str())
            .or_else(|| {
                let wanted = key.replace('_', "");
                schema()
                    .resources
                    .iter()
                    .find(|r| r.name.to_ascii_lowercase() == wanted)
                    .map(|r| r.name.as_str())
            });
        let from_sibling = target.and_then(|target| {
            value.as_object()?.values().find_map(|sibling| {
                let sibling_id = sibling.get("id")?.as_str().filter(|id| !id.is_empty())?;
                schema().resources.iter().find_map(|r| {
                    let held = store.records.find(&r.name, sibling_id)?;
                    let id = held.get(&key)?.get("id")?.as_str()?;
                    store.records.find(target, id).map(|_| id.to_owned())
                })
            })
        });
        let chosen = from_sibling.or_else(|| {
            target.and_then(|t| {
                store
                    .records
                    .of(t)
                    .first()
                    .and_then(|r| r["id"].as_str().map(str::to_owned))
            })
        });
        let filled = match (target, chosen) {
            (Some(t), Some(id)) => {
                let holder = resource.unwrap_or(t);
                store
                    .records
                    .nested(holder, &key, t, &id)
                    .unwrap_or_else(|| json!({"id": id}))
            }
            _ => {
                let mut fresh = value[key.as_str()].clone();
                fresh["id"] = store.id().into();
                fill_placeholders(store, None, &mut fresh);
                fresh
            }
        };
        value[key.as_str()] = filled;
    }
    if value.get("id").is_some_and(|id| id == "") {
        value["id"] = store.id().into();
    }
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
    // What no relation names but automation acts on at once: an open alert to resolve.
    referred.push("Alert");
    referred.sort_unstable();
    referred.dedup();
    // The VM slice's sample inventory comes first; every other type gets one record.
    let seeded: Vec<&str> = referred
        .into_iter()
        .filter(|r| store.records.of(r).is_empty())
        .collect();
    for resource in &seeded {
        let mut record = store.new_record(resource);
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
        if let Some(mut record) = store.records.find(resource, &id).cloned() {
            fill_placeholders(store, Some(resource), &mut record);
            if let Some(slot) = store.records.find_mut(resource, &id) {
                *slot = record;
            }
        }
    }
    settle(store);
}

/// Makes the seeded records agree: every relation shown on both sides, every `*_num` count
/// right.
fn settle(store: &mut Store) {
    for shape in &schema().resources {
        let ids: Vec<String> = store
            .records
            .of(&shape.name)
            .iter()
            .filter_map(|r| r["id"].as_str().map(str::to_owned))
            .collect();
        for id in ids {
            store.sync_inverse(&shape.name, &id, &Value::Null);
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
                store.sync_inverse(&resource, &id, &old);
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

/// An operation outside the regular shapes that still spells one: `delete-X` with a `where`
/// of a resource beside other params (`delete-iscsi-lun`'s `data.remove_snapshot`), or
/// `create-X` whose answer is the resource it creates (`create-security-group`).
pub(crate) enum OtherShape {
    Delete {
        resource: &'static str,
    },
    Create {
        resource: &'static str,
    },
    Copy {
        resource: &'static str,
    },
    /// `update-X…` (`set-`, `toggle-`, `move-`) taking `{where, data}` over the filter of a
    /// resource (a response of another
    /// shape than the regular update's: records without tasks, or another resource, as
    /// `update-vm-nic-basic-info` answers the NIC's VM).
    Update {
        resource: &'static str,
    },
    /// `add-Ys-to-X` / `remove-Ys-from-X` (and `mount-` / `unmount-`, `distribute-`): `{where, data: {ys:
    /// <Y filter>}}`, the Ys `data` selects added to (removed from) the to-many relation `ys`
    /// of each X `where` selects.
    Relate {
        resource: &'static str,
        relation: &'static cloudtower_schema::Relation,
        add: bool,
    },
}

/// The shape [`OtherShape`] of `path`, read from its name, request and response types.
pub(crate) fn other_shape(path: &str) -> Option<OtherShape> {
    let op = schema().operation(path)?;
    let request = op.request.as_ref()?;
    if path.starts_with("delete-") {
        let filter = schema()
            .fields(request.named()?)?
            .iter()
            .find(|f| f.name == "where")?
            .ty
            .named()?;
        let resource = schema().resources.iter().find(|r| r.filter == filter)?;
        return Some(OtherShape::Delete {
            resource: resource.name.as_str(),
        });
    }
    // The params type of one request (or of each element of a list of them).
    let params_type = match request {
        Ty::Array(element) => element.named()?,
        other => other.named()?,
    };
    if ["update-", "set-", "toggle-", "move-"]
        .iter()
        .any(|verb| path.starts_with(verb))
    {
        let params = schema().fields(params_type)?;
        let filter = params.iter().find(|f| f.name == "where")?.ty.named()?;
        let resource = filtered_resource(filter)?;
        // What it sets: `data`, else params beside `where` named as fields of the resource.
        let sets = params.iter().any(|f| {
            f.name == "data" || (f.name != "where" && crate::table::has_field(resource, &f.name))
        });
        return sets.then_some(OtherShape::Update { resource });
    }
    if ["add-", "remove-", "mount-", "unmount-", "distribute-"]
        .iter()
        .any(|verb| path.starts_with(verb))
    {
        let params = schema().fields(params_type)?;
        let filter = params.iter().find(|f| f.name == "where")?.ty.named()?;
        let resource = filtered_resource(filter)?;
        let data = params.iter().find(|f| f.name == "data")?.ty.named()?;
        let shape = schema().resource(resource)?;
        let relation = schema().fields(data)?.iter().find_map(|f| {
            let relation = shape
                .relations
                .iter()
                .find(|r| r.many && r.field == f.name)?;
            let filter = &schema().resource(&relation.resource)?.filter;
            (f.ty.named() == Some(filter.as_str())).then_some(relation)
        })?;
        return Some(OtherShape::Relate {
            resource,
            relation,
            add: !(path.starts_with("remove-") || path.starts_with("unmount-")),
        });
    }
    if path.starts_with("create-") || path.starts_with("clone-") || path.starts_with("copy-") {
        let (name, _, _) = response_shape(op.response.as_ref()?)?;
        let resource = schema().resource(name)?;
        let params = schema().fields(request.named()?)?;
        if let Some(filter) = params.iter().find(|f| f.name == "where") {
            // A copy of what `where` selects (`clone-vm-volume`).
            let selects = filter.ty.named().and_then(filtered_resource)?;
            return (selects == resource.name && !path.starts_with("create-")).then_some(
                OtherShape::Copy {
                    resource: resource.name.as_str(),
                },
            );
        }
        return Some(OtherShape::Create {
            resource: resource.name.as_str(),
        });
    }
    None
}

/// Deletes what `where` selects (whatever else the params carry); each answer a task when
/// the response type has tasks, else the deletion is done at once.
fn delete_selected(
    store: &mut Store,
    resource: &str,
    response: Option<&Ty>,
    request: &Value,
) -> Result<Value, ApiError> {
    let (with_task, one_task_for_all) = match response {
        Some(Ty::Array(element)) => match element.as_ref() {
            Ty::WithTask(data) => (true, matches!(data.as_ref(), Ty::Array(_))),
            _ => (false, false),
        },
        _ => (false, false),
    };
    if with_task && !one_task_for_all {
        return delete(store, resource, request);
    }
    if one_task_for_all {
        // `[task<[DeleteX]>]`: one task deleting every selected record.
        let ids = selected(store, resource, request)?;
        if ids.is_empty() {
            return Ok(json!([]));
        }
        let deleted: Vec<Value> = ids.iter().map(|id| json!({ "id": id })).collect();
        let (kind, gone) = (resource.to_owned(), ids.clone());
        let answer = Task::new("Delete", resource, "")
            .status(AsyncStatus::Deleting)
            .on_success(move |s: &mut Store| {
                for id in &gone {
                    s.delete(&kind, id);
                }
            })
            .answer(store, Value::Array(deleted));
        return Ok(json!([answer]));
    }
    let ids = selected(store, resource, request)?;
    for id in &ids {
        store.delete(resource, id);
    }
    Ok(Value::Array(
        ids.into_iter().map(|id| json!({ "id": id })).collect(),
    ))
}

/// The fields of a new `resource` record that `params` set, matched by name: a field of the
/// same name whose value is valid for the record's field; `x_id` (`x_ids`) naming the
/// record(s) the relation `x` (`xs`) holds; a filter over a related resource (`vms:
/// VmWhereInput`) selecting what a to-many relation holds. Other params are not recorded.
pub(crate) fn fields_by_name(
    store: &Store,
    resource: &str,
    params: &Value,
) -> Result<Map<String, Value>, ApiError> {
    let shape = schema().resource(resource);
    let relation = |field: &str| shape.and_then(|s| s.relations.iter().find(|r| r.field == field));
    let mut fields = Map::new();
    for (param, value) in params.as_object().into_iter().flatten() {
        if value.is_null() {
            continue;
        }
        if let Some(one) = param.strip_suffix("_id").and_then(&relation) {
            if let Some(id) = value.as_str() {
                let held = nested(store, resource, &one.field, &one.resource, id)?;
                fields.insert(one.field.clone(), held);
                continue;
            }
        }
        if let Some(many) = param
            .strip_suffix("_ids")
            .and_then(|f| relation(&format!("{f}s")))
        {
            let mut held = Vec::new();
            for id in crate::json::strings(value) {
                held.push(nested(store, resource, &many.field, &many.resource, &id)?);
            }
            fields.insert(many.field.clone(), Value::Array(held));
            continue;
        }
        if let Some(many) = relation(param).filter(|r| r.many) {
            let is_filter = value.is_object()
                && schema()
                    .resource(&many.resource)
                    .is_some_and(|r| schema().check(value, &Ty::Named(r.filter.clone())).is_ok());
            if is_filter {
                let mut held = Vec::new();
                for id in selected_ids(store, &many.resource, value)? {
                    held.push(nested(store, resource, &many.field, &many.resource, &id)?);
                }
                fields.insert(many.field.clone(), Value::Array(held));
                continue;
            }
        }
        if let Some(ty) = crate::table::field_type(resource, param) {
            if schema().check(value, ty).is_ok() {
                fields.insert(param.clone(), value.clone());
            }
        }
    }
    Ok(fields)
}

/// A create outside the regular shape (one params object, or a list): a record per params,
/// its fields matched by name ([`fields_by_name`]), answered as the response type says (with
/// a task, or the record itself, created at once).
fn create_by_name(
    store: &mut Store,
    resource: &str,
    response: Option<&Ty>,
    request: &Value,
) -> Result<Value, ApiError> {
    let list = request.is_array();
    let all: Vec<Value> = match request {
        Value::Array(items) => items.clone(),
        one => vec![one.clone()],
    };
    let mut records = Vec::new();
    for params in &all {
        let set = fields_by_name(store, resource, params)?;
        records.push(new_record_with(store, resource, Value::Object(set)));
    }
    let with_task = match response {
        Some(Ty::WithTask(_)) => true,
        Some(Ty::Array(element)) => matches!(**element, Ty::WithTask(_)),
        _ => false,
    };
    let mut answers = Vec::new();
    for record in records {
        if with_task {
            answers.push(create_task(
                store,
                resource,
                record,
                &format!("Create {resource}"),
                None,
            ));
        } else {
            let id = store.create(resource, record);
            answers.push(
                store
                    .records
                    .find(resource, &id)
                    .cloned()
                    .unwrap_or_default(),
            );
        }
    }
    Ok(if list {
        Value::Array(answers)
    } else {
        answers.pop().unwrap_or_default()
    })
}

/// An update outside the regular shape: the fields of `data` matched by name
/// ([`fields_by_name`]) set on every record `where` selects. Answering those records, as the
/// response type says: a task per record, applied when it ends, or the records updated at
/// once. Answering another resource (the NIC's VM): set at once, answered as
/// [`schema_only`] answers from the store.
fn update_by_name(
    store: &mut Store,
    path: &str,
    resource: &str,
    response: Option<&Ty>,
    request: &Value,
) -> Result<Value, ApiError> {
    // `data`, else the params beside `where` (`set-vm-disk-resident-in-cache`).
    let set = if request["data"].is_object() {
        fields_by_name(store, resource, &request["data"])?
    } else {
        let mut params = request.clone();
        if let Some(params) = params.as_object_mut() {
            params.remove("where");
        }
        fields_by_name(store, resource, &params)?
    };
    let shape = response.and_then(response_shape);
    if shape.is_none_or(|(answered, _, _)| answered != resource) {
        for id in selected(store, resource, request)? {
            store.update(resource, &id, |current| current.extend(set.clone()));
        }
        return schema_only(store, path, response, request);
    }
    let (list, with_task) = shape.map_or((true, false), |(_, list, with_task)| (list, with_task));
    let mut answers = Vec::new();
    for id in selected(store, resource, request)? {
        if with_task {
            let Some(mut record) = store.records.find(resource, &id).cloned() else {
                continue;
            };
            if let Value::Object(fields) = &mut record {
                fields.extend(set.clone());
            }
            let (kind, updated, set) = (resource.to_owned(), id.clone(), set.clone());
            let task = Task::new("Update", resource, &id).on_success(move |s: &mut Store| {
                s.update(&kind, &updated, |current| current.extend(set));
            });
            answers.push(task.answer(store, record));
        } else {
            store.update(resource, &id, |current| current.extend(set.clone()));
            answers.extend(store.records.find(resource, &id).cloned());
        }
    }
    Ok(if list {
        Value::Array(answers)
    } else {
        answers.pop().unwrap_or_default()
    })
}

/// A read that answers what the list operation `list` answers for the same query, without
/// the relations `omitted` (`get-backup-plans-without-executions`).
pub(crate) fn list_without(
    store: &mut Store,
    list: &str,
    request: &Value,
    omitted: &[&str],
) -> Result<Value, ApiError> {
    let mut answer = answer(store, list, request)?;
    for record in answer.as_array_mut().into_iter().flatten() {
        if let Some(fields) = record.as_object_mut() {
            for field in omitted {
                fields.remove(*field);
            }
        }
    }
    Ok(answer)
}

/// A list of `{where, data}` updates of `resource` (`move-node-topo`): each element as
/// [`update_by_name`] applies one; the answers of all, in order.
pub(crate) fn update_each(
    store: &mut Store,
    path: &str,
    resource: &str,
    request: &Value,
) -> Result<Value, ApiError> {
    let response = schema().operation(path).and_then(|op| op.response.as_ref());
    let mut answers = Vec::new();
    for element in request.as_array().into_iter().flatten() {
        if selected(store, resource, element)?.is_empty() {
            return Err(ApiError::nothing_selected(format!(
                "no {resource} matches `where`"
            )));
        }
        match update_by_name(store, path, resource, response, element)? {
            Value::Array(items) => answers.extend(items),
            one => answers.push(one),
        }
    }
    Ok(Value::Array(answers))
}

/// [`OtherShape::Relate`]: for each params (one, or each of a list), the records of the
/// relation's resource that `data.<relation>` selects join (or leave) the relation of every
/// record `where` selects, when the task per record ends; answered with those tasks.
fn relate(
    store: &mut Store,
    path: &str,
    resource: &str,
    relation: &cloudtower_schema::Relation,
    add: bool,
    request: &Value,
) -> Result<Value, ApiError> {
    let all: Vec<&Value> = match request {
        Value::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    let mut planned = Vec::new();
    for params in all {
        let picked = selected_ids(store, &relation.resource, &params["data"][&relation.field])?;
        let mut held = Vec::new();
        for id in &picked {
            held.push(nested(
                store,
                resource,
                &relation.field,
                &relation.resource,
                id,
            )?);
        }
        for id in selected(store, resource, params)? {
            planned.push((id, held.clone()));
        }
    }
    let verb = if add { "Add to" } else { "Remove from" };
    let mut answers = Vec::new();
    for (id, held) in planned {
        let Some(record) = store.records.find(resource, &id).cloned() else {
            continue;
        };
        let (kind, field, changed) = (resource.to_owned(), relation.field.clone(), id.clone());
        let task = Task::new(&format!("{verb} {field} ({path})"), resource, &id).on_success(
            move |s: &mut Store| {
                s.update(&kind, &changed, |record| {
                    if add {
                        add_to_list(record, &field, &held);
                    } else {
                        // The relation reads `[]` afterwards even where it held nothing.
                        list_mut(record, &field);
                        let gone: Vec<String> = held.iter().flat_map(relation_ids).collect();
                        remove_from_list(record, &field, &gone);
                    }
                })
            },
        );
        answers.push(task.answer(store, record));
    }
    Ok(Value::Array(answers))
}

/// A copy of each record of `resource` that `where` selects (each element's, for a list of
/// params), with the fields `data` sets by name; answered with a task per copy.
fn copy_selected(store: &mut Store, resource: &str, request: &Value) -> Result<Value, ApiError> {
    let all: Vec<Value> = match request {
        Value::Array(items) => items.clone(),
        one => vec![one.clone()],
    };
    let mut answers = Vec::new();
    for params in &all {
        let set = fields_by_name(store, resource, &params["data"])?;
        for id in selected_ids(store, resource, &params["where"])? {
            let Some(mut copy) = store.records.find(resource, &id).cloned() else {
                continue;
            };
            let new_id = store.id();
            let local_id = store.uuid();
            if let Some(fields) = copy.as_object_mut() {
                fields.insert("id".into(), new_id.clone().into());
                for (key, value) in [
                    ("local_id", Value::from(local_id)),
                    ("local_created_at", Value::from(now_rfc3339())),
                ] {
                    if fields.contains_key(key) {
                        fields.insert(key.into(), value);
                    }
                }
                // What points at the original does not point at the copy.
                if let Some(shape) = schema().resource(resource) {
                    for relation in shape.relations.iter().filter(|r| r.many) {
                        if fields.contains_key(&relation.field) {
                            fields.insert(relation.field.clone(), json!([]));
                        }
                    }
                }
                fields.extend(set.clone());
            }
            answers.push(create_task(
                store,
                resource,
                copy,
                &format!("Create {resource}"),
                None,
            ));
        }
    }
    Ok(Value::Array(answers))
}
