//! The OpenAPI document: loading, `$ref` resolution and the list of operations.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Map, Value};

/// A loaded OpenAPI 3.0 document.
pub struct Spec {
    pub doc: Value,
    pub version: String,
}

/// What the conformance run needs to know about one operation.
#[derive(Clone, Debug)]
pub struct OpSpec {
    /// Path without the leading slash (`get-vms`).
    pub path: String,
    /// The HTTP method, lower case (`post`; `get` for `get-version` and `resource-changes`).
    pub method: String,
    /// The JSON request body schema; for GET operations an object schema built from the query
    /// parameters.
    pub request: Option<Value>,
    /// `multipart/form-data` request schema.
    pub multipart: Option<Value>,
    /// The `200` JSON response schema.
    pub response: Option<Value>,
    /// Whether the operation requires credentials (`security` with a requirement).
    pub secured: bool,
}

impl OpSpec {
    /// The request body's schema: the `multipart/form-data` one when the operation has one
    /// (its form is what is sent), else the JSON one.
    pub fn body_schema(&self) -> Option<&Value> {
        self.multipart.as_ref().or(self.request.as_ref())
    }
}

impl Spec {
    pub fn load(path: &Path) -> Result<Spec, String> {
        let text = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        let doc: Value = serde_json::from_slice(&text)
            .map_err(|e| format!("parsing {}: {e}", path.display()))?;
        let version = doc
            .pointer("/info/version")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        Ok(Spec { doc, version })
    }

    pub fn schemas(&self) -> &Map<String, Value> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        self.doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
    }

    /// The component schema a `$ref` names (`#/components/schemas/Vm`).
    pub fn lookup(&self, reference: &str) -> Option<&Value> {
        self.schemas().get(ref_name(reference))
    }

    /// Every operation, by path.
    pub fn operations(&self) -> BTreeMap<String, OpSpec> {
        let mut out = BTreeMap::new();
        let Some(paths) = self.doc.get("paths").and_then(Value::as_object) else {
            return out;
        };
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for (method, op) in item {
                if !matches!(method.as_str(), "get" | "post" | "put" | "delete" | "patch") {
                    continue;
                }
                let content = op.pointer("/requestBody/content");
                let mut request = content
                    .and_then(|c| c.pointer("/application~1json/schema"))
                    .cloned();
                let multipart = content
                    .and_then(|c| c.pointer("/multipart~1form-data/schema"))
                    .cloned();
                if request.is_none() && multipart.is_none() {
                    request = query_schema(op);
                }
                let response = op
                    .pointer("/responses/200/content/application~1json/schema")
                    .cloned();
                let security = op.get("security").or_else(|| self.doc.get("security"));
                let secured = security
                    .and_then(Value::as_array)
                    .is_some_and(|reqs| !reqs.is_empty());
                let path = path.trim_start_matches('/').to_owned();
                out.insert(
                    path.clone(),
                    OpSpec {
                        path,
                        method: method.clone(),
                        request,
                        multipart,
                        response,
                        secured,
                    },
                );
            }
        }
        out
    }
}

/// The schema name of a local `$ref`.
pub fn ref_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

/// An object schema for an operation's query parameters, `None` when it has none.
fn query_schema(op: &Value) -> Option<Value> {
    let params = op.get("parameters")?.as_array()?;
    let mut properties = Map::new();
    let mut required = Vec::new();
    for p in params {
        if p.get("in").and_then(Value::as_str) != Some("query") {
            continue;
        }
        let Some(name) = p.get("name").and_then(Value::as_str) else {
            continue;
        };
        properties.insert(
            name.to_owned(),
            p.get("schema").cloned().unwrap_or(json!({})),
        );
        if p.get("required").and_then(Value::as_bool) == Some(true) {
            required.push(json!(name));
        }
    }
    if properties.is_empty() {
        return None;
    }
    Some(json!({"type": "object", "properties": properties, "required": required}))
}
