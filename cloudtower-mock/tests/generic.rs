//! The generic path: for every resource type with create, update and delete operations, a
//! create → read → update → read → delete → read round trip with bodies built from the schema
//! table (required fields, references to the seed data), reading back what was written.

use crate::common;

use cloudtower_schema::{ApiSchema, FieldMapping, OperationKind, Ty, TypeSchema, Via};
use common::Session;
use serde_json::{json, Map, Value};

/// A value for `ty` that shows where it went: strings named after the field.
fn value_for(schema: &ApiSchema, ty: &Ty, field: &str, depth: usize) -> Value {
    match ty {
        Ty::String => Value::from(format!("rt-{field}")),
        Ty::Bool => Value::from(true),
        Ty::Int32 | Ty::Int64 => Value::from(7),
        Ty::Float | Ty::Double => Value::from(1.5),
        Ty::Json => json!({}),
        Ty::File => Value::Null,
        Ty::Array(inner) if depth < 4 => json!([value_for(schema, inner, field, depth + 1)]),
        Ty::Array(_) => json!([]),
        Ty::WithTask(_) => Value::Null,
        Ty::Named(name) => match schema.resolve(name) {
            Some(TypeSchema::Enum { values }) => Value::from(values[0].clone()),
            Some(TypeSchema::Object { fields }) if depth < 4 => {
                let mut out = Map::new();
                for f in fields.iter().filter(|f| f.required) {
                    out.insert(f.name.clone(), value_for(schema, &f.ty, &f.name, depth + 1));
                }
                Value::Object(out)
            }
            Some(TypeSchema::Alias { target }) => value_for(schema, target, field, depth + 1),
            _ => Value::Null,
        },
    }
}

/// The params for a create or the data of an update: every required field, plus every mapped
/// one, references pointing at the first record of what they name.
async fn params(
    session: &Session,
    schema: &ApiSchema,
    ty: &str,
    mappings: &[FieldMapping],
    all: bool,
) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    for field in schema.fields(ty)? {
        let mapping = mappings.iter().find(|m| m.param == field.name);
        let mapped = all && mapping.is_some_and(|m| m.via == Via::Value);
        if !(field.required || mapped) {
            continue;
        }
        let value = match mapping.map(|m| &m.via) {
            Some(Via::Reference { resource }) | Some(Via::References { resource }) => {
                let list = &schema.resource(resource)?.list;
                let (_, found) = session.call(list, &json!({ "first": 1 })).await;
                let id = found[0]["id"].clone();
                if id.is_null() {
                    return None; // nothing to refer to
                }
                if matches!(mapping.map(|m| &m.via), Some(Via::References { .. })) {
                    json!([id])
                } else {
                    id
                }
            }
            _ => value_for(schema, &field.ty, &field.name, 0),
        };
        out.insert(field.name.clone(), value);
    }
    Some(out)
}

fn parse_schema() -> ApiSchema {
    ApiSchema::parse(cloudtower_api::SCHEMA_JSON).unwrap()
}

#[tokio::test]
async fn every_resource_with_create_update_and_delete_round_trips() {
    let schema = parse_schema();
    let (_tower, session) = Session::start().await;
    let mut round_trips = 0;
    let mut skipped = Vec::new();
    for resource in &schema.resources {
        let find = |want: fn(&OperationKind) -> bool| {
            schema
                .operations
                .iter()
                .find(|op| want(&op.kind) && op.kind.resource() == Some(resource.name.as_str()))
        };
        let create = find(|k| matches!(k, OperationKind::Create { .. }));
        let update = find(|k| matches!(k, OperationKind::Update { .. }));
        let delete = find(|k| matches!(k, OperationKind::Delete { .. }));
        let (Some(create), Some(update), Some(delete)) = (create, update, delete) else {
            continue;
        };
        let OperationKind::Create {
            fields: create_fields,
            ..
        } = &create.kind
        else {
            unreachable!()
        };
        let OperationKind::Update {
            fields: update_fields,
            ..
        } = &update.kind
        else {
            unreachable!()
        };
        let Some(Ty::Array(element)) = &create.request else {
            skipped.push(format!("{}: create takes no list", resource.name));
            continue;
        };
        let Some(params_type) = element.named() else {
            continue;
        };
        let Some(written) = params(&session, &schema, params_type, create_fields, true).await
        else {
            skipped.push(format!("{}: nothing to refer to", resource.name));
            continue;
        };

        let created = session.mutate(&create.path, &json!([written])).await;
        assert_eq!(created.len(), 1, "{}", create.path);
        let id = created[0]["id"].as_str().unwrap().to_owned();
        let read = session.read(&resource.list, &id).await;
        assert_eq!(read.len(), 1, "{} after {}", resource.list, create.path);
        for mapping in create_fields {
            let Some(sent) = written.get(&mapping.param) else {
                continue;
            };
            let held = &read[0][&mapping.field];
            match &mapping.via {
                Via::Value => assert_eq!(held, sent, "{}.{}", resource.name, mapping.field),
                Via::Reference { .. } => {
                    assert_eq!(&held["id"], sent, "{}.{}", resource.name, mapping.field)
                }
                Via::References { .. } => {
                    assert_eq!(
                        &held[0]["id"], &sent[0],
                        "{}.{}",
                        resource.name, mapping.field
                    )
                }
            }
        }

        // Update one string field the data maps directly.
        let data_type = schema
            .fields(update.request.as_ref().and_then(Ty::named).unwrap())
            .and_then(|f| f.iter().find(|f| f.name == "data"))
            .and_then(|f| f.ty.named().map(str::to_owned));
        let changed = update_fields.iter().find(|m| {
            m.via == Via::Value
                && data_type
                    .as_deref()
                    .and_then(|t| schema.fields(t))
                    .is_some_and(|fields| {
                        fields
                            .iter()
                            .any(|f| f.name == m.param && f.ty == Ty::String)
                    })
        });
        if let Some(changed) = changed {
            let updated = session
                .mutate(
                    &update.path,
                    &json!({ "where": { "id": id }, "data": { changed.param.clone(): "rt-updated" } }),
                )
                .await;
            assert_eq!(updated.len(), 1, "{}", update.path);
            let read = session.read(&resource.list, &id).await;
            assert_eq!(read[0][&changed.field], "rt-updated", "{}", update.path);
        }

        let deleted = session
            .mutate(&delete.path, &json!({ "where": { "id": id } }))
            .await;
        assert_eq!(deleted.len(), 1, "{}", delete.path);
        assert!(
            session.read(&resource.list, &id).await.is_empty(),
            "{}",
            delete.path
        );
        round_trips += 1;
    }
    eprintln!("{round_trips} round trips; skipped: {skipped:?}");
    assert!(
        round_trips >= 20,
        "only {round_trips} round trips; skipped: {skipped:?}"
    );
}

#[tokio::test]
async fn a_reference_to_nothing_is_refused_and_creates_nothing() {
    let schema = parse_schema();
    let (_tower, session) = Session::start().await;
    let (create, resource, mapping) = schema
        .operations
        .iter()
        .find_map(|op| match &op.kind {
            OperationKind::Create { resource, fields } => fields
                .iter()
                .find(|m| matches!(m.via, Via::Reference { .. }))
                .filter(|_| {
                    cloudtower_mock::coverage()
                        .iter()
                        .any(|(p, how)| *p == op.path && *how == cloudtower_mock::Coverage::Generic)
                })
                .map(|m| (op, resource, m)),
            _ => None,
        })
        .expect("a generic create with a reference");
    let list = &schema.resource(resource).unwrap().list;
    let (_, before) = session.call(list, &json!({})).await;
    let params_type = create.request.as_ref().and_then(Ty::named).unwrap();
    let mut written = params(&session, &schema, params_type, &[], false)
        .await
        .unwrap();
    written.insert(mapping.param.clone(), Value::from("no-such-id"));
    let (status, answer) = session.call(&create.path, &json!([written])).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.to_string().contains("no-such-id"), "{answer}");
    let (_, after) = session.call(list, &json!({})).await;
    assert_eq!(before, after);
}

#[tokio::test]
async fn schema_only_answers_hold_tasks_for_what_their_where_selects() {
    let (_tower, session) = Session::start().await;
    // `add-labels-to-resources` has no generic shape; the mock answers with what it selects.
    let (status, labels) = session.call("get-labels", &json!({})).await;
    assert_eq!(status, 200, "{labels}");
    let label = labels[0]["id"].as_str().expect("a seeded label").to_owned();
    let (status, answer) = session
        .call(
            "add-labels-to-resources",
            &json!({ "where": { "id": label }, "data": { "vms": { "name": "web-1" } } }),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer[0]["data"]["id"], label.as_str(), "{answer}");
    assert!(answer[0]["task_id"].is_string());
}
