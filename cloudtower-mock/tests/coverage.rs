//! The coverage table in the crate docs (COVERAGE.md) is what the mock does, and every
//! operation with hand-written behaviour has it.

use std::collections::BTreeMap;

use cloudtower_mock::{coverage, reactor_of, Coverage, MockTower, SchemaOnly};

fn table() -> String {
    let rows = coverage();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut schema_only: BTreeMap<&str, usize> = BTreeMap::new();
    let mut body = String::new();
    for (path, how) in &rows {
        let (family, kind, why) = match how {
            Coverage::Override => ("override", "", ""),
            Coverage::Generic => ("generic", "", ""),
            Coverage::SchemaOnly(kind) => {
                let (kind, why) = match kind {
                    SchemaOnly::Read => ("read", ""),
                    SchemaOnly::CreatesRelated => ("creates related", ""),
                    SchemaOnly::UpdatesRecord => ("updates record", ""),
                    SchemaOnly::NothingToChange(why) => ("nothing to change", *why),
                    SchemaOnly::Gap => ("gap", ""),
                };
                *schema_only.entry(kind).or_default() += 1;
                ("schema-only", kind, why)
            }
        };
        *counts.entry(family).or_default() += 1;
        let how = if kind.is_empty() {
            family.to_owned()
        } else {
            format!("{family}: {kind}")
        };
        body.push_str(&format!(
            "| `{path}` | {how} | {} | {why} |\n",
            reactor_of(path)
        ));
    }
    let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let split: Vec<String> = schema_only
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    format!(
        "# Coverage\n\n\
         What the mock does for each of the {} operations of the API: **override** \
         (a reactor of its own, named in the third column), **generic** (the behaviour of its shape \
         over the store: list, connection, create, update, delete, each mutation a task that \
         applies its effect when it succeeds; for an operation outside the regular shapes, the \
         create, delete, copy, update or relation change its name and types spell) or \
         **schema-only** (an answer valid for its response schema that reflects the store where \
         it can: tasks for what its `where` selects). A schema-only operation is one of: a \
         **read** with nothing in the store to read; a mutation that **creates related** \
         records (one per record its `where` selects, pointing at it) or **updates the record** \
         it answers with the params that name its fields; a mutation with **nothing to change** \
         in any record (the last column says why); or a **gap**, a mutation that changes \
         nothing although it should. No operation answers 501.\n\n\
         Regenerate: `UPDATE_COVERAGE=1 cargo test -p cloudtower-mock --all-features --test \
         integration coverage`.\n\n{}; schema-only: {}.\n\n\
         | operation | how | reactor | why nothing changes |\n|---|---|---|---|\n{body}",
        rows.len(),
        summary.join(", "),
        split.join(", ")
    )
}

#[test]
fn the_published_table_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/COVERAGE.md");
    let expected = table();
    if std::env::var_os("UPDATE_COVERAGE").is_some() {
        std::fs::write(path, &expected).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == expected,
        "COVERAGE.md is stale: run `UPDATE_COVERAGE=1 cargo test -p cloudtower-mock --all-features --test integration coverage`"
    );
}

#[tokio::test]
async fn a_method_an_operation_does_not_take_answers_an_error_body() {
    let tower = MockTower::start().await.unwrap();
    let answer = reqwest::Client::new()
        .post(format!("{}/v2/api/get-version", tower.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 405);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["status"], 405, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("get-version"),
        "{body}"
    );
}
