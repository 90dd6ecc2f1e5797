//! The copy of the spec that Prism can load and validate with.
//!
//! Prism 5.16 never finishes loading the raw spec (its `$ref` resolver walks every path through
//! the mutually recursive `*WhereInput` filters) and its validator (Ajv) refuses some OpenAPI 3.0
//! forms, after which it silently skips validating the operation. Each transformation here
//! keeps the accepted language of requests and responses as close to the original as Prism
//! allows; the original schemas are checked separately (`validate.rs`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use crate::spec::{ref_name, Spec};

/// What [`derive`](fn@derive) changed, for the report.
#[derive(Debug, Default)]
pub struct Changes {
    /// Links cut inside mutually recursive schema cycles.
    pub cycle_links_cut: usize,
    /// Schemas in cycles of two or more schemas.
    pub cycle_schemas: usize,
    pub nullable_all_of: usize,
    pub common_headers_renamed: usize,
    pub deprecated_refs: usize,
}

/// Builds the derived spec: `prefix` (`/v2/api`) is put in front of every path.
pub fn derive(spec: &Spec, prefix: &str) -> (Value, Changes) {
    let mut changes = Changes::default();
    let mut doc = spec.doc.clone();

    // 1. Cut links between different schemas inside each strongly connected component.
    let sccs = cyclic_components(spec.schemas());
    let mut component_of: BTreeMap<String, usize> = BTreeMap::new();
    for (i, comp) in sccs.iter().enumerate() {
        changes.cycle_schemas += comp.len();
        for name in comp {
            component_of.insert(name.clone(), i);
        }
    }
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (name, schema) in schemas.iter_mut() {
            if let Some(&c) = component_of.get(name) {
                cut_links(schema, name, c, &component_of, &mut changes.cycle_links_cut);
            }
        }
    }

    // 2-4. Nullable allOf, `$ref` + `deprecated`, the `CommonHeader` response header.
    rewrite(&mut doc, &mut changes);

    // 5. Paths under the API prefix (Prism ignores `servers`).
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        let old = std::mem::take(paths);
        for (path, item) in old {
            paths.insert(format!("{prefix}{path}"), item);
        }
    }
    (doc, changes)
}

/// Strongly connected components of two or more schemas in the `$ref` graph.
pub fn cyclic_components(schemas: &Map<String, Value>) -> Vec<Vec<String>> {
    let names: Vec<&String> = schemas.keys().collect();
    let index_of: BTreeMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let edges: Vec<Vec<usize>> = names
        .iter()
        .map(|n| {
            let mut refs = BTreeSet::new();
            collect_refs(&schemas[n.as_str()], &mut refs);
            refs.iter()
                .filter_map(|r| index_of.get(r.as_str()).copied())
                .collect()
        })
        .collect();

    let mut graph = petgraph::graph::DiGraph::<(), ()>::with_capacity(names.len(), 0);
    let nodes: Vec<_> = names.iter().map(|_| graph.add_node(())).collect();
    for (from, targets) in edges.iter().enumerate() {
        for &to in targets {
            graph.add_edge(nodes[from], nodes[to], ());
        }
    }
    let mut out: Vec<Vec<String>> = petgraph::algo::tarjan_scc(&graph)
        .into_iter()
        .filter(|members| members.len() > 1)
        .map(|members| {
            let mut comp: Vec<String> = members.iter().map(|m| names[m.index()].clone()).collect();
            comp.sort();
            comp
        })
        .collect();
    out.sort();
    out
}

fn collect_refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                out.insert(ref_name(r).to_owned());
            }
            for v in map.values() {
                collect_refs(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Replaces every `$ref` to another schema of the same component with `{"type":"object"}`.
fn cut_links(
    value: &mut Value,
    own: &str,
    component: usize,
    component_of: &BTreeMap<String, usize>,
    cut: &mut usize,
) {
    match value {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                let target = ref_name(r);
                if target != own && component_of.get(target) == Some(&component) {
                    map.remove("$ref");
                    map.insert("type".into(), json!("object"));
                    *cut += 1;
                }
            }
            for v in map.values_mut() {
                cut_links(v, own, component, component_of, cut);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| cut_links(v, own, component, component_of, cut)),
        _ => {}
    }
}

fn rewrite(value: &mut Value, changes: &mut Changes) {
    match value {
        Value::Object(map) => {
            // `{"allOf":[…],"nullable":true}` → `{"anyOf":[…, {"type":"null"}]}`.
            if map.get("nullable") == Some(&Value::Bool(true)) && map.contains_key("allOf") {
                let all_of = map.remove("allOf").unwrap_or(Value::Null);
                map.remove("nullable");
                let mut options = match all_of {
                    Value::Array(items) if items.len() == 1 => items,
                    other => vec![json!({ "allOf": other })],
                };
                options.push(json!({"type": "null"}));
                map.insert("anyOf".into(), Value::Array(options));
                changes.nullable_all_of += 1;
            }
            // `$ref` with a sibling `deprecated` → `allOf`.
            if map.contains_key("$ref") && map.contains_key("deprecated") {
                let reference = map.remove("$ref").unwrap_or(Value::Null);
                map.insert("allOf".into(), json!([{ "$ref": reference }]));
                changes.deprecated_refs += 1;
            }
            // The response header literally named `CommonHeader` is the schema of the headers
            // (`x-tower-request-id`); as an object-typed header it crashes Prism.
            if let Some(Value::Object(headers)) = map.get_mut("headers") {
                if headers.remove("CommonHeader").is_some() {
                    headers
                        .entry("x-tower-request-id")
                        .or_insert_with(|| json!({"schema": {"type": "string"}}));
                    changes.common_headers_renamed += 1;
                }
            }
            for v in map.values_mut() {
                rewrite(v, changes);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite(v, changes)),
        _ => {}
    }
}
