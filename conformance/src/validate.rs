//! Request and response bodies against the original, unmodified schemas (JSON Schema draft 7,
//! with OpenAPI 3.0's `nullable` turned into its JSON Schema meaning).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde_json::{json, Map, Value};

use crate::spec::{OpSpec, Spec};

/// How many compiled validators are kept: enough for the operations a phase has in flight at
/// once (the default `--concurrency`), the least recently compiled evicted first, so that a
/// validator is compiled once per operation and phase. Each phase has a validator of its own,
/// so phases running at once never evict each other's.
const CACHED: usize = 12;

/// Where the spec's component schemas live in the registry every validator resolves its
/// `$ref`s in (`urn:cloudtower:spec#/components/schemas/Vm`).
const SPEC_URI: &str = "urn:cloudtower:spec";

pub struct RequestValidator {
    /// The spec's component schemas, indexed once: a validator compiles the schemas its
    /// operation's schema refers to and nothing else (a root holding a copy of all of them
    /// cost a copy, an index and a drop of the whole spec per validator).
    components: jsonschema::Registry<'static>,
    cache: HashMap<String, jsonschema::Validator>,
    /// The cached keys, least recently compiled first.
    order: VecDeque<String>,
}

impl RequestValidator {
    pub fn new(spec: &Spec) -> Result<Self, String> {
        let schemas = Value::Object(spec.schemas().clone());
        let document = json!({ "components": { "schemas": to_json_schema(&schemas) } });
        let components = jsonschema::Registry::new()
            .draft(jsonschema::Draft::Draft7)
            .add(
                SPEC_URI,
                jsonschema::Draft::Draft7.create_resource(document),
            )
            .and_then(|builder| builder.prepare())
            .map_err(|e| format!("the spec's component schemas do not index: {e}"))?;
        Ok(RequestValidator {
            components,
            cache: HashMap::new(),
            order: VecDeque::new(),
        })
    }

    /// Validates a request to `op` against its body schema ([`OpSpec::body_schema`]). Returns
    /// the violations, at most `limit`; none when the operation takes no body.
    pub fn validate_request(
        &mut self,
        op: &OpSpec,
        instance: &Value,
        limit: usize,
    ) -> Result<Vec<String>, String> {
        match op.body_schema() {
            Some(schema) => self.validate(&format!("{}#request", op.path), schema, instance, limit),
            None => Ok(Vec::new()),
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
            let mut root = to_json_schema(schema);
            refer_into_spec(&mut root);
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft7)
                .should_validate_formats(false)
                .with_registry(&self.components)
                .build(&root)
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

/// Runs `check` with `validator` off the runtime's workers: compiling a validator takes a
/// while, and the calls, proxies and towers of the operations in flight keep being served.
pub fn off_workers<T>(
    validator: &Mutex<RequestValidator>,
    check: impl FnOnce(&mut RequestValidator) -> T,
) -> T {
    tokio::task::block_in_place(|| check(&mut validator.lock().unwrap()))
}

/// Points an operation's `$ref`s (`#/components/schemas/Vm`) at the registered spec.
fn refer_into_spec(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                match child {
                    Value::String(target) if key == "$ref" && target.starts_with("#/") => {
                        *target = format!("{SPEC_URI}{target}");
                    }
                    _ => refer_into_spec(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(refer_into_spec),
        _ => {}
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A spec whose request filter nests a nullable schema two `$ref`s deep.
    fn spec() -> Spec {
        Spec {
            version: "test".into(),
            doc: json!({
                "components": { "schemas": {
                    "VmWhereInput": {
                        "type": "object",
                        "properties": {
                            "name": { "type": "string", "nullable": true },
                            "host": { "$ref": "#/components/schemas/HostWhereInput" }
                        },
                        "additionalProperties": false
                    },
                    "HostWhereInput": {
                        "type": "object",
                        "properties": { "cpu_cores": { "type": "integer", "nullable": true } },
                        "additionalProperties": false
                    }
                }}
            }),
        }
    }

    fn errors(instance: Value) -> Vec<String> {
        let schema = json!({
            "type": "object",
            "properties": { "where": { "$ref": "#/components/schemas/VmWhereInput" } }
        });
        RequestValidator::new(&spec())
            .unwrap()
            .validate("get-vms#json", &schema, &instance, 3)
            .unwrap()
    }

    #[test]
    fn references_resolve_in_the_registered_spec_and_are_enforced() {
        assert_eq!(
            errors(json!({ "where": { "name": null, "host": { "cpu_cores": 8 } } })),
            Vec::<String>::new()
        );
        let wrong = errors(json!({ "where": { "host": { "cpu_cores": "eight" } } }));
        assert_eq!(wrong.len(), 1, "{wrong:?}");
        assert!(wrong[0].contains("/where/host/cpu_cores"), "{wrong:?}");
        let unknown = errors(json!({ "where": { "hostname": "a" } }));
        assert_eq!(unknown.len(), 1, "{unknown:?}");
    }
}
