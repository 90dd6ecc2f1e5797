//! The generic path's refusals and answers outside the regular shapes (the round trips of
//! every resource type are in `round_trip.rs`).

use crate::common;

use cloudtower_schema::{OperationKind, Ty, Via};
use common::requests::{one_id_per_resource, schema, Builder};
use common::Session;
use serde_json::{json, Value};

#[tokio::test]
async fn a_reference_to_nothing_is_refused_and_creates_nothing() {
    let schema = schema();
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
    let ids = one_id_per_resource(&session, &schema).await;
    let builder = Builder {
        schema: &schema,
        ids: &ids,
    };
    let mut written = builder.named(params_type, "", 1);
    written[&mapping.param] = Value::from("no-such-id");
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
