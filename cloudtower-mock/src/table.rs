//! The API table the mock is driven by (`cloudtower_api::SCHEMA_JSON`, read as a
//! [`cloudtower_schema::ApiSchema`]) and what is derived from it alone: skeleton values of a
//! type, which fields a type has, the operations a tower of a given version has.

use std::sync::OnceLock;

use cloudtower_schema::{ApiSchema, OperationSchema, Ty, TypeSchema};
use serde_json::{json, Map, Value};

/// The table `cloudtower-api` was generated with.
pub(crate) fn schema() -> &'static ApiSchema {
    static SCHEMA: OnceLock<ApiSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        // Generated and checked with the crate (`cargo xtask regen --check`, this crate's tests):
        // a table that does not parse is a build defect, not a request's.
        ApiSchema::parse(cloudtower_api::SCHEMA_JSON)
            .expect("cloudtower-api's generated schema.json parses")
    })
}

/// How deep a skeleton value nests before optional parts are left out.
const MAX_SKELETON_DEPTH: usize = 12;

/// The smallest value of `ty`: required fields only, `null` where allowed, empty lists, the
/// first enum value; `{task_id: null, data}` for a `task<T>` (the caller starts the task).
/// `fresh_id` names a top-level object's `id`.
pub(crate) fn skeleton(ty: &Ty, depth: usize, fresh_id: &mut dyn FnMut() -> String) -> Value {
    match ty {
        Ty::String => Value::from(""),
        Ty::Bool => Value::from(false),
        Ty::Int32 | Ty::Int64 => Value::from(0),
        Ty::Float | Ty::Double => Value::from(0.0),
        Ty::Json => json!({}),
        Ty::File => Value::Null,
        Ty::Array(_) => json!([]),
        Ty::WithTask(data) => {
            json!({ "task_id": null, "data": skeleton(data, depth + 1, fresh_id) })
        }
        Ty::Named(name) => match schema().resolve(name) {
            Some(TypeSchema::Enum { values }) => {
                values.first().cloned().map_or(Value::Null, Value::from)
            }
            Some(TypeSchema::Union { alternatives }) => match alternatives.first() {
                Some(first) => skeleton(first, depth + 1, fresh_id),
                None => Value::Null,
            },
            Some(TypeSchema::Alias { target }) => skeleton(target, depth + 1, fresh_id),
            Some(_) => skeleton_object(name, depth, fresh_id),
            None => Value::Null,
        },
    }
}

/// The smallest object of type `name` (at `depth` 0 the nullable fields too, as `null`, and
/// a fresh `id`).
pub(crate) fn skeleton_object(
    name: &str,
    depth: usize,
    fresh_id: &mut dyn FnMut() -> String,
) -> Value {
    let mut out = Map::new();
    for field in schema().fields(name).unwrap_or(&[]) {
        let kept = field.required || (depth == 0 && field.nullable);
        if !kept {
            continue;
        }
        let value = if field.nullable || depth >= MAX_SKELETON_DEPTH {
            Value::Null
        } else {
            skeleton(&field.ty, depth + 1, fresh_id)
        };
        out.insert(field.name.clone(), value);
    }
    if depth == 0 && out.get("id").is_some_and(|id| id == "") {
        out.insert("id".into(), Value::from(fresh_id()));
    }
    Value::Object(out)
}

/// Whether a string field named `name` holds a point in time (`createdAt`,
/// `local_created_at`, `start_time`, …).
pub(crate) fn is_timestamp_field(name: &str) -> bool {
    name.ends_with("_at") || name.ends_with("At") || name.ends_with("_time")
}

/// The string fields of the object type `name` that hold points in time.
pub(crate) fn timestamp_fields(name: &str) -> impl Iterator<Item = &'static str> {
    schema()
        .fields(name)
        .unwrap_or(&[])
        .iter()
        .filter(|f| f.ty == Ty::String && is_timestamp_field(&f.name))
        .map(|f| f.name.as_str())
}

/// Whether the type `resource` has the field `field`.
pub(crate) fn has_field(resource: &str, field: &str) -> bool {
    field_type(resource, field).is_some()
}

/// The type of field `field` of the object type `resource`.
pub(crate) fn field_type(resource: &str, field: &str) -> Option<&'static Ty> {
    schema()
        .fields(resource)?
        .iter()
        .find(|f| f.name == field)
        .map(|f| &f.ty)
}

/// `VmPlacementGroup` → `vm-placement-group`.
pub(crate) fn kebab(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// A version as numbers (`4.6.0` → `[4, 6, 0]`; `4.8.0-rc1` → `[4, 8, 0]`).
fn version_numbers(version: &str) -> Vec<u64> {
    version
        .split('.')
        .map(|part| {
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().unwrap_or(0)
        })
        .collect()
}

/// Whether a tower of `version` has `op` (its `since` is not newer than the tower).
pub(crate) fn tower_has(op: &OperationSchema, version: &str) -> bool {
    let (mut since, mut tower) = (version_numbers(&op.since), version_numbers(version));
    let len = since.len().max(tower.len());
    since.resize(len, 0);
    tower.resize(len, 0);
    since <= tower
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tower_has_the_operations_of_its_version_and_older() {
        let op = schema().operation("create-isolation-policy").unwrap();
        assert_eq!(op.since, "4.6.0");
        assert!(tower_has(op, "4.6.0"));
        assert!(tower_has(op, "4.10"));
        assert!(!tower_has(op, "4.5.9"));
        assert!(!tower_has(op, "3.4.4"));
    }
}
