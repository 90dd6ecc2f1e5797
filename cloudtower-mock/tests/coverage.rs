//! The coverage table in the crate docs (COVERAGE.md) is what the mock does, and every
//! operation with hand-written behaviour has it.

use std::collections::BTreeMap;

use cloudtower_mock::{coverage, reactor_of, Coverage, MockTower};

fn table() -> String {
    let rows = coverage();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut body = String::new();
    for (path, how) in &rows {
        let how = match how {
            Coverage::Override => "override",
            Coverage::Generic => "generic",
            Coverage::SchemaOnly => "schema-only",
        };
        *counts.entry(how).or_default() += 1;
        body.push_str(&format!("| `{path}` | {how} | {} |\n", reactor_of(path)));
    }
    let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    format!(
        "# Coverage\n\n\
         What the mock does for each of the {} operations of the API: **override** \
         (a reactor of its own, named in the last column), **generic** (the behaviour of its shape \
         over the store: list, connection, create, update, delete, each mutation a task that \
         applies its effect when it succeeds; for an operation outside the regular shapes, the \
         create or delete its name and types spell) or **schema-only** (an answer valid for its \
         response schema that reflects the store where it can: tasks for what its `where` \
         selects). No operation answers 501.\n\n{}.\n\n| operation | how | reactor |\n|---|---|---|\n{body}",
        rows.len(),
        summary.join(", ")
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
        "COVERAGE.md is stale: run `UPDATE_COVERAGE=1 cargo test -p cloudtower-mock --test coverage`"
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
