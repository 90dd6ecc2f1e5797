//! Request and response bodies against the original, unmodified schemas (JSON Schema draft 7,
//! with OpenAPI 3.0's `nullable` turned into its JSON Schema meaning).

use std::collections::{HashMap, VecDeque};

use serde_json::{json, Map, Value};

use crate::spec::{OpSpec, Spec};

/// How many compiled validators are kept. Each holds the whole spec, so not one per operation
/// (gigabytes); but enough for the operations a phase has in flight at once (the default
/// `--concurrency`), the least recently compiled evicted first, so that a validator is
/// compiled once per operation and phase. Each phase has a validator of its own, so phases
/// running at once never evict each other's.
const CACHED: usize = 12;

pub struct RequestValidator {
    components: Value,
    cache: HashMap<String, jsonschema::Validator>,
    /// The cached keys, least recently compiled first.
    order: VecDeque<String>,
}

impl RequestValidator {
    pub fn new(spec: &Spec) -> Self {
        let schemas = Value::Object(spec.schemas().clone());
        RequestValidator {
            components: json!({ "schemas": to_json_schema(&schemas) }),
            cache: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Validates an answer to `op` against its `200` JSON response schema. Returns the
    /// violations, at most `limit`; none when the operation's answer has no schema.
    pub fn validate_response(
        &mut self,
        op: &OpSpec,
        instance: &Value,
        limit: usize,
    ) -> Result<Vec<String>, String> {
        match &op.response {
            Some(schema) => {
                self.validate(&format!("{}#response", op.path), schema, instance, limit)
            }
            None => Ok(Vec::new()),
        }
    }

    /// Validates `instance` against `schema` (an operation's request or response schema,
    /// whose `$ref`s point into the spec's components). Returns the violations, at most
    /// `limit`.
    pub fn validate(
        &mut self,
        key: &str,
        schema: &Value,
        instance: &Value,
        limit: usize,
    ) -> Result<Vec<String>, String> {
        if !self.cache.contains_key(key) {
            if self.order.len() >= CACHED {
                if let Some(oldest) = self.order.pop_front() {
                    self.cache.remove(&oldest);
                }
            }
            let mut root = match to_json_schema(schema) {
                Value::Object(m) => m,
                other => {
                    let mut m = Map::new();
                    m.insert("allOf".into(), json!([other]));
                    m
                }
            };
            root.insert("components".into(), self.components.clone());
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft7)
                .should_validate_formats(false)
                .build(&Value::Object(root))
                .map_err(|e| format!("the schema does not compile: {e}"))?;
            self.cache.insert(key.to_owned(), validator);
            self.order.push_back(key.to_owned());
        }
        let validator = &self.cache[key];
        Ok(validator
            .iter_errors(instance)
            .take(limit)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect())
    }
}

/// OpenAPI 3.0 → JSON Schema: `nullable: true` admits `null`.
pub fn to_json_schema(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let converted = match k.as_str() {
                    // Maps of names to schemas: convert each schema, keep the names.
                    "properties" | "schemas" | "definitions" => match v {
                        Value::Object(m) => Value::Object(
                            m.iter()
                                .map(|(name, s)| (name.clone(), to_json_schema(s)))
                                .collect(),
                        ),
                        other => other.clone(),
                    },
                    "enum" | "required" | "example" | "default" => v.clone(),
                    _ => to_json_schema(v),
                };
                out.insert(k.clone(), converted);
            }
            if out.remove("nullable") == Some(Value::Bool(true)) {
                let simple = !out.contains_key("$ref")
                    && !out.contains_key("allOf")
                    && !out.contains_key("anyOf")
                    && !out.contains_key("oneOf");
                match out.get("type").and_then(Value::as_str) {
                    Some(t) if simple => {
                        let t = t.to_owned();
                        out.insert("type".into(), json!([t, "null"]));
                        if let Some(Value::Array(values)) = out.get_mut("enum") {
                            values.push(Value::Null);
                        }
                        Value::Object(out)
                    }
                    _ => json!({ "anyOf": [Value::Object(out), {"type": "null"}] }),
                }
            } else {
                Value::Object(out)
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(to_json_schema).collect()),
        other => other.clone(),
    }
}
