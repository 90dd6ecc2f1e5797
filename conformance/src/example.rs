//! Schema-driven JSON examples: request bodies (minimal, rich, explicit nulls) and response
//! bodies (for the cross-version runs), plus response mutations (unknown fields and enum values).

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use crate::spec::{ref_name, Spec};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Required fields only, empty arrays.
    Minimal,
    /// Optional fields too: nested `where` with `AND`/`OR`/`NOT`, relations, `orderBy`,
    /// pagination, some explicit nulls; large filter inputs get a selection of their fields.
    Rich,
    /// Every nullable field sent as `null`.
    Nulls,
    /// Every field, no nulls (response bodies).
    Full,
}

impl Variant {
    pub fn name(self) -> &'static str {
        match self {
            Variant::Minimal => "minimal",
            Variant::Rich => "rich",
            Variant::Nulls => "nulls",
            Variant::Full => "full",
        }
    }
}

/// Objects with more properties than this are filters: only a selection of them is set.
const LARGE_OBJECT: usize = 24;
/// A filter's scalar fields set in the rich variant.
const FILTER_SCALARS: usize = 6;
const MAX_LEVEL: usize = 7;

pub struct Generator<'a> {
    spec: &'a Spec,
    variant: Variant,
    counter: usize,
    stack: Vec<String>,
}

impl<'a> Generator<'a> {
    pub fn new(spec: &'a Spec, variant: Variant) -> Self {
        Generator {
            spec,
            variant,
            counter: 0,
            stack: Vec::new(),
        }
    }

    pub fn generate(&mut self, schema: &Value) -> Value {
        self.value(schema, 0)
    }

    fn tick(&mut self) -> usize {
        self.counter += 1;
        self.counter
    }

    fn value(&mut self, schema: &Value, level: usize) -> Value {
        if level > 40 {
            // Only a cycle of required fields gets here; no finite value exists.
            return Value::Null;
        }
        let Some(obj) = schema.as_object() else {
            return json!({});
        };
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            let name = ref_name(r).to_owned();
            let Some(target) = self.spec.lookup(r) else {
                return json!({});
            };
            self.stack.push(name);
            let v = self.value(target, level);
            self.stack.pop();
            return v;
        }
        if let Some(Value::Array(parts)) = obj.get("allOf") {
            if parts.len() == 1 {
                return self.value(&parts[0], level);
            }
            let mut merged = Map::new();
            for p in parts {
                if let Value::Object(m) = self.value(p, level) {
                    merged.extend(m);
                }
            }
            return Value::Object(merged);
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(options)) = obj.get(key) {
                let first = options
                    .iter()
                    .find(|o| o.get("type").and_then(Value::as_str) != Some("null"));
                return first.map_or(Value::Null, |o| self.value(o, level));
            }
        }
        if let Some(Value::Array(values)) = obj.get("enum") {
            let values: Vec<&Value> = values.iter().filter(|v| !v.is_null()).collect();
            if values.is_empty() {
                return Value::Null;
            }
            let i = match self.variant {
                Variant::Minimal => 0,
                _ => self.tick() % values.len(),
            };
            return values[i].clone();
        }
        match obj.get("type").and_then(Value::as_str) {
            Some("string") => self.string(obj),
            Some("integer") => {
                let lo = obj.get("minimum").and_then(Value::as_i64);
                let hi = obj.get("maximum").and_then(Value::as_i64);
                let want = if self.variant == Variant::Minimal {
                    1
                } else {
                    7
                };
                let mut v = lo.map_or(want, |lo| lo.max(want.min(lo + 1)));
                if let Some(hi) = hi {
                    v = v.min(hi);
                }
                json!(v)
            }
            Some("number") => {
                let lo = obj.get("minimum").and_then(Value::as_f64);
                let hi = obj.get("maximum").and_then(Value::as_f64);
                let mut v = lo.map_or(1.5, |lo| lo.max(1.5));
                if let Some(hi) = hi {
                    v = v.min(hi);
                }
                json!(v)
            }
            Some("boolean") => json!(true),
            Some("array") => {
                let min = obj.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
                let n = match self.variant {
                    Variant::Minimal => min,
                    _ => min.max(1),
                };
                let items = obj.get("items").cloned().unwrap_or(json!({}));
                Value::Array((0..n).map(|_| self.value(&items, level + 1)).collect())
            }
            _ if obj.contains_key("properties") => self.object(obj, level),
            Some("object") => self.free_form(obj, level),
            _ => json!({}),
        }
    }

    fn string(&mut self, obj: &Map<String, Value>) -> Value {
        match obj.get("format").and_then(Value::as_str) {
            Some("date-time") => return json!("2024-05-06T07:08:09.000Z"),
            Some("byte") => return json!("Y29uZm9ybWFuY2U="),
            _ => {}
        }
        let n = self.tick();
        let mut s = format!("conformance-{n}");
        let min = obj.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
        while s.len() < min {
            s.push('x');
        }
        json!(s)
    }

    fn free_form(&mut self, obj: &Map<String, Value>, level: usize) -> Value {
        if matches!(self.variant, Variant::Minimal) {
            return json!({});
        }
        match obj.get("additionalProperties") {
            Some(Value::Object(schema)) if !schema.is_empty() => {
                let schema = Value::Object(schema.clone());
                json!({ "conformance_key": self.value(&schema, level + 1) })
            }
            _ => json!({}),
        }
    }

    /// How often the schema at the top of the stack is already being generated.
    fn depth_of(&self, name: &str) -> usize {
        self.stack.iter().filter(|n| n.as_str() == name).count()
    }

    fn object(&mut self, obj: &Map<String, Value>, level: usize) -> Value {
        let empty = Map::new();
        let props = obj
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let required: BTreeSet<&str> = obj
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let large = props.len() > LARGE_OBJECT;
        let mut scalars = 0;
        let mut relations = 0;
        let mut out = Map::new();
        for (name, schema) in props {
            let is_required = required.contains(name.as_str());
            let nullable = schema.get("nullable") == Some(&Value::Bool(true));
            let target = target_name(schema);
            let scalar = target.is_none() && is_scalar(schema);
            let recursive = target
                .as_deref()
                .is_some_and(|t| self.depth_of(t) >= if large { 2 } else { 1 });
            let include = is_required
                || match self.variant {
                    Variant::Minimal => false,
                    Variant::Nulls => nullable,
                    Variant::Full => level < MAX_LEVEL && !recursive,
                    Variant::Rich => {
                        if level >= MAX_LEVEL || recursive {
                            false
                        } else if !large {
                            true
                        } else if matches!(name.as_str(), "AND" | "OR" | "NOT") {
                            level < 4
                        } else if scalar {
                            scalars += 1;
                            scalars <= FILTER_SCALARS
                        } else {
                            relations += 1;
                            relations <= 1 && level < 2
                        }
                    }
                };
            if !include {
                continue;
            }
            let null = nullable
                && match self.variant {
                    Variant::Nulls => true,
                    // Some explicit nulls among the optional scalar fields.
                    Variant::Rich => !is_required && scalar && self.tick().is_multiple_of(4),
                    _ => false,
                };
            let value = if null {
                Value::Null
            } else {
                self.value(schema, level + 1)
            };
            out.insert(name.clone(), value);
        }
        Value::Object(out)
    }
}

/// The component schema a property points to (`$ref`, `allOf: [$ref]`, array of `$ref`).
fn target_name(schema: &Value) -> Option<String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return Some(ref_name(r).to_owned());
    }
    if let Some(Value::Array(parts)) = schema.get("allOf") {
        return parts.iter().find_map(target_name);
    }
    if let Some(items) = schema.get("items") {
        return target_name(items);
    }
    None
}

fn is_scalar(schema: &Value) -> bool {
    match schema.get("type").and_then(Value::as_str) {
        Some("string" | "integer" | "number" | "boolean") => true,
        Some("array") => schema.get("items").is_some_and(is_scalar),
        _ => false,
    }
}

/// The value every mutated enum gets: no version of the spec has it.
pub const UNKNOWN_ENUM: &str = "CONFORMANCE_UNKNOWN_ENUM_VALUE";
/// The field every mutated object gets.
pub const UNKNOWN_FIELD: &str = "conformance_unknown_field";

#[derive(Debug, Default)]
pub struct Mutations {
    pub fields: usize,
    pub enums: usize,
}

/// Adds an unknown field to every object the schema describes and replaces every enum value
/// with one the spec does not have.
pub fn mutate(spec: &Spec, schema: &Value, value: &mut Value, m: &mut Mutations) {
    mutate_at(spec, schema, value, m, 0);
}

fn mutate_at(spec: &Spec, schema: &Value, value: &mut Value, m: &mut Mutations, depth: usize) {
    if depth > 64 || value.is_null() {
        return;
    }
    let Some(obj) = schema.as_object() else {
        return;
    };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        if let Some(target) = spec.lookup(r) {
            mutate_at(spec, target, value, m, depth + 1);
        }
        return;
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(parts)) = obj.get(key) {
            // The first branch that is not `null` describes the value.
            if let Some(p) = parts
                .iter()
                .find(|p| p.get("type").and_then(Value::as_str) != Some("null"))
            {
                mutate_at(spec, p, value, m, depth + 1);
            }
            return;
        }
    }
    if obj.contains_key("enum") {
        if value.is_string() {
            *value = json!(UNKNOWN_ENUM);
            m.enums += 1;
        }
        return;
    }
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = obj.get("properties") {
                for (k, v) in map.iter_mut() {
                    if let Some(s) = props.get(k) {
                        mutate_at(spec, s, v, m, depth + 1);
                    }
                }
                map.insert(
                    UNKNOWN_FIELD.into(),
                    json!({"nested": [1, "two", null, {"three": 3.5}], "flag": false}),
                );
                m.fields += 1;
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = obj.get("items") {
                for v in items {
                    mutate_at(spec, item_schema, v, m, depth + 1);
                }
            }
        }
        _ => {}
    }
}
