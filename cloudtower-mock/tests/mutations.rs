//! Every mutating operation of the table, on a fresh mock, with a request built from the table
//! whose ids name records that exist: it answers 200 (or refuses, 400/404, for the state of
//! what it selected), never a 5xx; a 200 never holds a placeholder id (`"id": ""`), and an
//! operation whose `where` selected something, or that creates something, never answers `[]`.

use crate::common;

use std::collections::HashMap;

use cloudtower_schema::{ApiSchema, OperationKind, Ty, TypeSchema};
use common::Session;
use serde_json::{json, Map, Value};

fn schema() -> ApiSchema {
    ApiSchema::parse(cloudtower_api::SCHEMA_JSON).unwrap()
}

/// `snake_case` of a type name (`VmPlacementGroup` → `vm_placement_group`).
fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

struct Builder<'a> {
    schema: &'a ApiSchema,
    /// The id of one record of each resource (`None`: it holds none).
    ids: &'a HashMap<String, Option<String>>,
}

impl Builder<'_> {
    /// The resource an `x_id` / `x_ids` field names: the longest suffix of `x` that is a
    /// resource's snake name (`src_vm_id` → `Vm`, `iscsi_target_id` → `IscsiTarget`).
    fn resource_named(&self, field: &str) -> Option<&str> {
        let stem = field
            .strip_suffix("_ids")
            .or_else(|| field.strip_suffix("_id"))?;
        let parts: Vec<&str> = stem.split('_').collect();
        for start in 0..parts.len() {
            let candidate = parts[start..].join("_");
            if let Some(r) = self
                .schema
                .resources
                .iter()
                .find(|r| snake(&r.name) == candidate)
            {
                return Some(&r.name);
            }
        }
        None
    }

    fn id_of(&self, resource: &str) -> Option<String> {
        self.ids.get(resource).cloned().flatten()
    }

    fn value(&self, ty: &Ty, field: &str, depth: usize) -> Value {
        match ty {
            Ty::String if field.ends_with("_at") || field.ends_with("_time") => {
                Value::from("2026-01-01T00:00:00.000Z")
            }
            Ty::String => {
                let id = self.resource_named(field).and_then(|r| self.id_of(r));
                Value::from(id.unwrap_or_else(|| format!("{field}-1")))
            }
            Ty::Bool => Value::from(false),
            Ty::Int32 | Ty::Int64 => Value::from(1),
            Ty::Float | Ty::Double => Value::from(1.0),
            Ty::Json => json!({}),
            Ty::File => Value::Null,
            Ty::Array(element) => {
                if field.ends_with("_ids") {
                    let id = self.resource_named(field).and_then(|r| self.id_of(r));
                    return json!(id.into_iter().collect::<Vec<_>>());
                }
                json!([self.value(element, field, depth + 1)])
            }
            Ty::WithTask(_) => Value::Null,
            Ty::Named(name) => self.named(name, field, depth),
        }
    }

    fn named(&self, name: &str, field: &str, depth: usize) -> Value {
        if let Some(resource) = self.schema.resources.iter().find(|r| r.filter == name) {
            // A filter: the first record of its resource.
            return match self.id_of(&resource.name) {
                Some(id) => json!({ "id": id }),
                None => json!({}),
            };
        }
        if name.ends_with("WhereUniqueInput") {
            let resource = name.trim_end_matches("WhereUniqueInput");
            return json!({ "id": self.id_of(resource) });
        }
        match self.schema.resolve(name) {
            Some(TypeSchema::Enum { values }) => Value::from(values[0].clone()),
            Some(TypeSchema::Alias { target }) => self.value(target, field, depth + 1),
            Some(TypeSchema::Union { alternatives }) => {
                self.value(&alternatives[0], field, depth + 1)
            }
            Some(TypeSchema::Object { fields }) if depth < 8 => {
                let mut out = Map::new();
                for f in fields.iter().filter(|f| f.required) {
                    out.insert(f.name.clone(), self.value(&f.ty, &f.name, depth + 1));
                }
                Value::Object(out)
            }
            _ => json!({}),
        }
    }
}

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
    let (mut ok, mut refused) = (0, Vec::new());
    let mut problems = Vec::new();
    for op in mutations {
        let (tower, session) = Session::start().await;
        let mut ids = HashMap::new();
        for resource in &schema.resources {
            let (_, found) = session.call(&resource.list, &json!({"first": 1})).await;
            ids.insert(
                resource.name.clone(),
                found[0]["id"].as_str().map(str::to_owned),
            );
        }
        let builder = Builder {
            schema: &schema,
            ids: &ids,
        };
        let body = match &op.request {
            Some(ty) => builder.value(ty, "", 0),
            None => Value::Null,
        };
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
        let violations = tower.violations();
        if !violations.is_empty() {
            problems.push(format!("{}: {}", op.path, violations.join("; ")));
        }
    }
    eprintln!("{ok} answered 200; {} refused: {refused:?}", refused.len());
    assert!(
        problems.is_empty(),
        "{}\n{}",
        problems.len(),
        problems.join("\n")
    );
}
