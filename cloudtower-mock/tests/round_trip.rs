//! Create → read → update → delete for every resource type the table has all four operations
//! of, on a fresh mock each, with requests built from the table (every field the table maps
//! onto the record set, to a value told apart from the seed's; ids naming records that exist):
//! what a create or update set reads back as it was sent, the records agree after each step,
//! and a deleted record is gone from its list and its count.

use crate::common;

use cloudtower_schema::{ApiSchema, FieldMapping, OperationKind, OperationSchema, Ty, TypeSchema};
use cloudtower_schema::{ResourceSchema, Via};
use common::requests::{one_id_per_resource, schema, snake, Builder};
use common::Session;
use serde_json::{json, Value};

/// A value of `ty` for the field `param` that no seed record holds: `round` 0 for a create, 1
/// for the update after it (so an update is seen to change what the create set).
fn distinct(schema: &ApiSchema, ty: &Ty, param: &str, round: usize) -> Option<Value> {
    Some(match ty {
        Ty::String if param.ends_with("_at") || param.ends_with("_time") => return None,
        Ty::String => Value::from(format!("round-trip-{round}-{param}")),
        Ty::Int32 | Ty::Int64 => Value::from(2 + round),
        Ty::Float | Ty::Double => Value::from(2.5 + round as f64),
        Ty::Bool => Value::from(round == 0),
        Ty::Named(name) => match schema.resolve(name)? {
            TypeSchema::Enum { values } if values.len() > 1 => {
                Value::from(values[(values.len() - 1 - round) % values.len()].clone())
            }
            TypeSchema::Alias { target } => return distinct(schema, target, param, round),
            _ => return None,
        },
        _ => return None,
    })
}

/// How a request carries the params or data it names.
enum Carried {
    /// `[params]`.
    List,
    /// `{data: [params]}` or `{where, data: params}`.
    InData { list: bool },
    /// The request is the params.
    Itself,
}

/// The object type of a create's params or an update's data in `request`, and how the request
/// carries it.
fn params_type<'a>(schema: &'a ApiSchema, request: &'a Ty) -> Option<(&'a str, Carried)> {
    match request {
        Ty::Array(element) => Some((element.named()?, Carried::List)),
        Ty::Named(name) => {
            let fields = schema.fields(name)?;
            match fields.iter().find(|f| f.name == "data") {
                Some(data) => match &data.ty {
                    Ty::Array(element) => Some((element.named()?, Carried::InData { list: true })),
                    other => Some((other.named()?, Carried::InData { list: false })),
                },
                None => Some((name, Carried::Itself)),
            }
        }
        _ => None,
    }
}

/// The mappings of an operation the table gives no regular kind (its answer or request has
/// another shape): the params' fields the resource has under the same name.
fn same_named_fields(schema: &ApiSchema, params: &str, resource: &str) -> Vec<FieldMapping> {
    let held = schema.fields(resource).unwrap_or(&[]);
    schema
        .fields(params)
        .unwrap_or(&[])
        .iter()
        .filter(|f| f.name != "id" && held.iter().any(|h| h.name == f.name && h.ty == f.ty))
        .map(|f| FieldMapping {
            param: f.name.clone(),
            field: f.name.clone(),
            via: Via::Value,
        })
        .collect()
}

/// Sets every field of `mappings` that a value of its own can be given for, references to the
/// first record of the resource the table says they name; the mappings set, or the resource a
/// reference found no record of.
fn set_mapped<'m>(
    builder: &Builder,
    params: &mut Value,
    params_type: &str,
    mappings: &'m [FieldMapping],
    round: usize,
) -> Result<Vec<&'m FieldMapping>, String> {
    let fields = builder.schema.fields(params_type).unwrap_or(&[]);
    let mut set = Vec::new();
    for mapping in mappings {
        let Some(field) = fields.iter().find(|f| f.name == mapping.param) else {
            continue;
        };
        let value = match &mapping.via {
            Via::Value => distinct(builder.schema, &field.ty, &mapping.param, round),
            Via::Reference { resource } | Via::References { resource } => {
                let id = builder.id_of(resource).ok_or_else(|| {
                    format!("skipped: no {resource} for `{}` to name", mapping.param)
                })?;
                Some(match mapping.via {
                    Via::References { .. } => json!([id]),
                    _ => Value::from(id),
                })
            }
        };
        if let Some(value) = value {
            params[&mapping.param] = value;
            set.push(mapping);
        }
    }
    Ok(set)
}

/// How `record` differs from what `params` set through `mappings`.
fn differences(record: &Value, params: &Value, mappings: &[&FieldMapping]) -> Vec<String> {
    let ids = |value: &Value| -> Vec<String> {
        let mut ids: Vec<String> = match value {
            Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str().or_else(|| i["id"].as_str()))
                .map(str::to_owned)
                .collect(),
            Value::String(id) => vec![id.clone()],
            other => other["id"]
                .as_str()
                .map(str::to_owned)
                .into_iter()
                .collect(),
        };
        ids.sort();
        ids
    };
    let mut out = Vec::new();
    for mapping in mappings {
        let sent = &params[&mapping.param];
        let held = &record[&mapping.field];
        let same = match &mapping.via {
            Via::Value => match (sent.as_f64(), held.as_f64()) {
                (Some(a), Some(b)) => a == b,
                _ => sent == held,
            },
            Via::Reference { .. } | Via::References { .. } => ids(sent) == ids(held),
        };
        if !same {
            out.push(format!(
                "`{}` sent as {sent}, `{}` reads {held}",
                mapping.param, mapping.field
            ));
        }
    }
    out
}

struct Operations<'a> {
    create: &'a OperationSchema,
    create_fields: Vec<FieldMapping>,
    update: &'a OperationSchema,
    update_fields: Vec<FieldMapping>,
    delete: &'a OperationSchema,
}

/// `create-X`, `update-X`, `delete-X` of `resource`: the operations of those kinds, else the
/// ones of those names (whose answers or requests have another shape, e.g. a delete with
/// `data` beside `where`).
fn operations<'a>(schema: &'a ApiSchema, resource: &str) -> Option<Operations<'a>> {
    let kebab = snake(resource).replace('_', "-");
    let find = |verb: &str| {
        let of_kind = schema.operations.iter().find(|op| {
            op.kind.resource() == Some(resource)
                && matches!(
                    (&op.kind, verb),
                    (OperationKind::Create { .. }, "create")
                        | (OperationKind::Update { .. }, "update")
                        | (OperationKind::Delete { .. }, "delete")
                )
        });
        of_kind.or_else(|| schema.operation(&format!("{verb}-{kebab}")))
    };
    let (create, update, delete) = (find("create")?, find("update")?, find("delete")?);
    let fields = |op: &OperationSchema| match &op.kind {
        OperationKind::Create { fields, .. } | OperationKind::Update { fields, .. } => {
            fields.clone()
        }
        _ => op
            .request
            .as_ref()
            .and_then(|r| params_type(schema, r))
            .map(|(params, _)| same_named_fields(schema, params, resource))
            .unwrap_or_default(),
    };
    Some(Operations {
        create_fields: fields(create),
        update_fields: fields(update),
        create,
        update,
        delete,
    })
}

async fn count(session: &Session, resource: &ResourceSchema) -> Option<u64> {
    let path = resource.connection.as_ref()?;
    let (_, answer) = session.call(path, &json!({})).await;
    answer["aggregate"]["count"].as_u64()
}

/// One resource's round trip; what went wrong, if anything.
async fn round_trip(schema: &ApiSchema, resource: &ResourceSchema) -> Result<(), String> {
    let ops = operations(schema, &resource.name).ok_or("not all four operations")?;
    let (tower, session) = Session::start().await;
    let ids = one_id_per_resource(&session, schema).await;
    let builder = Builder { schema, ids: &ids };
    let violations = |step: &str| {
        let found = tower.violations();
        if found.is_empty() {
            Ok(())
        } else {
            Err(format!("after {step}: {}", found.join("; ")))
        }
    };
    let before = count(&session, resource).await;

    // Create.
    let request = ops
        .create
        .request
        .as_ref()
        .ok_or("create takes no request")?;
    let (params_ty, carried) = params_type(schema, request).ok_or("create's params type")?;
    let mut params = builder.named(params_ty, "", 1);
    if params.get("name").is_some() {
        params["name"] = Value::from(format!("round-trip-{}", snake(&resource.name)));
    }
    let set = set_mapped(&builder, &mut params, params_ty, &ops.create_fields, 0)?;
    let body = match carried {
        Carried::List => json!([params]),
        Carried::InData { list: true } => json!({ "data": [params] }),
        Carried::InData { list: false } => json!({ "data": params }),
        Carried::Itself => params.clone(),
    };
    let created = session.try_mutate(&ops.create.path, &body).await?;
    let id = created
        .first()
        .and_then(|c| c["id"].as_str())
        .filter(|id| !id.is_empty())
        .ok_or_else(|| format!("{} answered no id: {created:?}", ops.create.path))?
        .to_owned();
    let read = session.read(&resource.list, &id).await;
    let [record] = read.as_slice() else {
        return Err(format!(
            "{} lists {} records for {id}",
            resource.list,
            read.len()
        ));
    };
    let wrong = differences(record, &params, &set);
    if !wrong.is_empty() {
        return Err(format!("created: {}", wrong.join("; ")));
    }
    violations("create")?;
    if let (Some(before), Some(after)) = (before, count(&session, resource).await) {
        if after != before + 1 {
            return Err(format!("count {before} → {after} after a create"));
        }
    }

    // Update.
    let request = ops
        .update
        .request
        .as_ref()
        .ok_or("update takes no request")?;
    let (data_ty, carried) = params_type(schema, request).ok_or("update's data type")?;
    let mut data = json!({});
    let set = set_mapped(&builder, &mut data, data_ty, &ops.update_fields, 1)?;
    let mut update = builder.value(request, "", 0);
    let (target, select) = match carried {
        // The params name the record (`id`) beside the fields they set.
        Carried::Itself => (&mut update, ("id", Value::from(id.clone()))),
        _ => (&mut update["data"], ("where", json!({ "id": id }))),
    };
    let filled = std::mem::take(target);
    for (key, value) in filled.as_object().into_iter().flatten() {
        data.as_object_mut()
            .unwrap()
            .entry(key.clone())
            .or_insert(value.clone());
    }
    *target = data.clone();
    update[select.0] = select.1;
    session.try_mutate(&ops.update.path, &update).await?;
    let read = session.read(&resource.list, &id).await;
    let [record] = read.as_slice() else {
        return Err(format!(
            "updated: {} lists {} records",
            resource.list,
            read.len()
        ));
    };
    let wrong = differences(record, &data, &set);
    if !wrong.is_empty() {
        return Err(format!("updated: {}", wrong.join("; ")));
    }
    violations("update")?;

    // Delete.
    let mut delete = match &ops.delete.request {
        Some(request) => builder.value(request, "", 0),
        None => json!({}),
    };
    delete["where"] = json!({ "id": id });
    session.try_mutate(&ops.delete.path, &delete).await?;
    let read = session.read(&resource.list, &id).await;
    if !read.is_empty() {
        return Err(format!("deleted, {} still lists it", resource.list));
    }
    violations("delete")?;
    if let (Some(before), Some(after)) = (before, count(&session, resource).await) {
        if after != before {
            return Err(format!("count {before} → {after} after create and delete"));
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_resource_with_create_update_delete_round_trips() {
    let schema = schema();
    let mut consistent = Vec::new();
    let mut problems = Vec::new();
    for resource in &schema.resources {
        if operations(&schema, &resource.name).is_none() {
            continue;
        }
        match round_trip(&schema, resource).await {
            Ok(()) => consistent.push(resource.name.as_str()),
            Err(why) => problems.push(format!("{}: {why}", resource.name)),
        }
    }
    let total = consistent.len() + problems.len();
    eprintln!("{} of {total} resource types round-trip", consistent.len());
    // 4.8.0 has 41 such types; an older table has fewer, none has none.
    assert!(
        total > 10,
        "only {total} resource types have all four operations"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
