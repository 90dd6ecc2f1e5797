//! Every mutating operation of the table, on a fresh mock, with a request built from the table
//! whose ids name records that exist: it answers 200 (or refuses, 400/404, for the state of
//! what it selected), never a 5xx; a 200 never holds a placeholder id (`"id": ""`), and an
//! operation whose `where` selected something, or that creates something, never answers `[]`.
//! Every mutation that answered 200 changed the store (a change in the resource-change log
//! once its tasks ended), unless the coverage table says it has nothing to change; the gaps
//! the table still lists are counted and must have no effect, so that a gap closed is a row
//! of the table changed.

use crate::common;

use cloudtower_mock::{Coverage, SchemaOnly};
use cloudtower_schema::OperationKind;
use common::requests::{one_id_per_resource, schema, Builder};
use common::Session;
use serde_json::{json, Value};

/// Paths of `"id": ""` inside `value`.
fn placeholder_ids(value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            if fields.get("id") == Some(&Value::from("")) {
                out.push(at.to_owned());
            }
            for (key, v) in fields {
                placeholder_ids(v, &format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                placeholder_ids(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mutation_has_its_effect_and_answers_what_it_selected_or_created() {
    let schema = schema();
    let mutations: Vec<_> = schema
        .operations
        .iter()
        .filter(|op| {
            !matches!(
                op.kind,
                OperationKind::List { .. } | OperationKind::Connection { .. }
            ) && !op.path.starts_with("get-")
                && op.method == cloudtower_schema::Method::Post
                && !op.multipart
                && op.path != "login"
        })
        .collect();
    assert!(mutations.len() > 250, "{} mutations", mutations.len());
    let coverage: std::collections::HashMap<&str, Coverage> =
        cloudtower_mock::coverage().into_iter().collect();
    let (mut ok, mut refused, mut gaps) = (0, Vec::new(), Vec::new());
    let mut problems = Vec::new();
    for op in mutations {
        let (tower, session) = Session::start().await;
        let ids = one_id_per_resource(&session, &schema).await;
        let builder = Builder {
            schema: &schema,
            ids: &ids,
        };
        let body = match &op.request {
            Some(ty) => builder.value(ty, "", 0),
            None => Value::Null,
        };
        let before = tower.revision();
        let (status, answer) = session.call(&op.path, &body).await;
        match status {
            200 => ok += 1,
            400 | 404 => {
                refused.push(format!("{} {status}", op.path));
                continue;
            }
            other => {
                problems.push(format!("{}: {other} {answer} for {body}", op.path));
                continue;
            }
        }
        if let Some(ty) = &op.response {
            if let Err(mismatch) = schema.check(&answer, ty) {
                problems.push(format!("{}: not a {ty}: {mismatch}", op.path));
            }
        }
        let mut holes = Vec::new();
        placeholder_ids(&answer, "", &mut holes);
        if !holes.is_empty() {
            problems.push(format!(
                "{}: placeholder ids at {holes:?}: {answer}",
                op.path
            ));
        }
        let selected = body.get("where").is_some_and(|w| w.get("id").is_some());
        let creates = matches!(op.kind, OperationKind::Create { .. })
            || op.path.starts_with("create-")
            || op.path.starts_with("clone-");
        if answer == json!([]) && (selected || creates) {
            problems.push(format!("{}: answered [] for {body}", op.path));
        }
        // The store agrees with itself after it (tasks given time to end).
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        let changed = tower.revision() > before;
        // `[]`: its `where` selected nothing (checked above when it named a record).
        let acted = answer != json!([]);
        match coverage[op.path.as_str()] {
            Coverage::SchemaOnly(SchemaOnly::NothingToChange(_) | SchemaOnly::Read) => {}
            Coverage::SchemaOnly(SchemaOnly::Gap) if changed => problems.push(format!(
                "{}: changed the store, but the coverage table calls it a gap",
                op.path
            )),
            Coverage::SchemaOnly(SchemaOnly::Gap) => gaps.push(op.path.clone()),
            _ if acted && !changed => problems.push(format!(
                "{}: answered 200 and changed nothing for {body}",
                op.path
            )),
            _ => {}
        }
        let violations = tower.violations();
        if !violations.is_empty() {
            problems.push(format!("{}: {}", op.path, violations.join("; ")));
        }
    }
    eprintln!(
        "{ok} answered 200; {} refused: {refused:?}; {} gaps: {gaps:?}",
        refused.len(),
        gaps.len()
    );
    assert!(
        problems.is_empty(),
        "{}\n{}",
        problems.len(),
        problems.join("\n")
    );
}
