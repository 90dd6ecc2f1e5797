//! Requests built from the table: every required field filled, ids naming records that exist.

use std::collections::HashMap;

use cloudtower_schema::{ApiSchema, Ty, TypeSchema};
use serde_json::{json, Map, Value};

use super::Session;

pub fn schema() -> ApiSchema {
    ApiSchema::parse(cloudtower_api::SCHEMA_JSON).unwrap()
}

/// `snake_case` of a type name (`VmPlacementGroup` → `vm_placement_group`).
pub fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

pub struct Builder<'a> {
    pub schema: &'a ApiSchema,
    /// The id of one record of each resource (`None`: it holds none).
    pub ids: &'a HashMap<String, Option<String>>,
}

impl Builder<'_> {
    /// The resource an `x_id` / `x_ids` field names: the longest suffix of `x` that is a
    /// resource's snake name (`src_vm_id` → `Vm`, `iscsi_target_id` → `IscsiTarget`).
    pub fn resource_named(&self, field: &str) -> Option<&str> {
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

    pub fn id_of(&self, resource: &str) -> Option<String> {
        self.ids.get(resource).cloned().flatten()
    }

    pub fn value(&self, ty: &Ty, field: &str, depth: usize) -> Value {
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

    pub fn named(&self, name: &str, field: &str, depth: usize) -> Value {
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

/// The id of the first record of every resource (`None`: the tower holds none).
pub async fn one_id_per_resource(
    session: &Session,
    schema: &ApiSchema,
) -> HashMap<String, Option<String>> {
    let mut ids = HashMap::new();
    for resource in &schema.resources {
        let (_, found) = session.call(&resource.list, &json!({"first": 1})).await;
        ids.insert(
            resource.name.clone(),
            found[0]["id"].as_str().map(str::to_owned),
        );
    }
    ids
}
