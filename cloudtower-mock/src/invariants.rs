//! What records of a tower must agree on, checked over a whole store: the invariants the
//! seed data satisfies and every operation keeps ([`crate::MockTower::violations`]).

use serde_json::Value;

use crate::json::{is_rfc3339, relation_ids};
use crate::state::{num_fields, Store};
use crate::table::{is_timestamp_field, schema};

/// Every violation of the invariants in `store`, one sentence each (none: the records
/// agree):
/// - every nested `{id, …}` a relation holds names a record of its type;
/// - both sides of a relation agree (where each type has exactly one relation to the other);
/// - `<relation>_num` counts equal the length of the relation they count;
/// - timestamps are RFC 3339 (or null), never `""`;
/// - sizes and counts are never negative, usages (percentages or ratios) lie in 0..=100, and a
///   used size is no more than the size it is part of.
pub(crate) fn violations(store: &Store) -> Vec<String> {
    let schema = schema();
    let mut out = Vec::new();
    for shape in &schema.resources {
        let records = store.records.of(&shape.name);
        if records.is_empty() {
            continue;
        }
        let timestamps: Vec<&str> = schema
            .fields(&shape.name)
            .unwrap_or(&[])
            .iter()
            .filter(|f| f.ty == cloudtower_schema::Ty::String && is_timestamp_field(&f.name))
            .map(|f| f.name.as_str())
            .collect();
        for record in records {
            let id = record["id"].as_str().unwrap_or_default();
            let at = format!("{} {id}", shape.name);
            for field in &timestamps {
                if let Some(Value::String(time)) = record.get(*field) {
                    if !is_rfc3339(time) {
                        out.push(format!("{at}: `{field}` is {time:?}, not RFC 3339"));
                    }
                }
            }
            out.extend(implausible_sizes(&at, record));
            for relation in &shape.relations {
                let held = relation_ids(&record[relation.field.as_str()]);
                for target in &held {
                    if store.records.find(&relation.resource, target).is_none() {
                        out.push(format!(
                            "{at}: `{}` names {} {target:?}, which does not exist",
                            relation.field, relation.resource
                        ));
                    }
                }
                if relation.many {
                    for count in num_fields(&relation.field) {
                        if let Some(n) = record.get(&count).and_then(Value::as_u64) {
                            let has = record[relation.field.as_str()]
                                .as_array()
                                .map_or(0, Vec::len);
                            if n as usize != has {
                                out.push(format!(
                                    "{at}: `{count}` is {n}, but `{}` holds {has}",
                                    relation.field
                                ));
                            }
                        }
                    }
                }
                // Both sides, where each type has exactly one relation to the other.
                let Some(target) = schema.resource(&relation.resource) else {
                    continue;
                };
                let mut back = target.relations.iter().filter(|r| r.resource == shape.name);
                let (Some(inverse), None) = (back.next(), back.next()) else {
                    continue;
                };
                let forward = shape
                    .relations
                    .iter()
                    .filter(|r| r.resource == relation.resource)
                    .count();
                if forward != 1 {
                    continue;
                }
                for target_id in &held {
                    let Some(other) = store.records.find(&relation.resource, target_id) else {
                        continue;
                    };
                    if !relation_ids(&other[inverse.field.as_str()])
                        .iter()
                        .any(|i| i == id)
                    {
                        out.push(format!(
                            "{at}: `{}` names {} {target_id}, whose `{}` does not name it back",
                            relation.field, relation.resource, inverse.field
                        ));
                    }
                }
            }
        }
    }
    out
}

/// Sizes, counts and usages of one record that no tower would show.
fn implausible_sizes(at: &str, record: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(fields) = record.as_object() else {
        return out;
    };
    for (name, value) in fields {
        let Some(number) = value.as_f64() else {
            continue;
        };
        let sized = name.ends_with("_size") || name == "size" || name.ends_with("_num");
        if sized && number < 0.0 {
            out.push(format!("{at}: `{name}` is {number}, below 0"));
        }
        if name.ends_with("_usage") && !(0.0..=100.0).contains(&number) {
            out.push(format!("{at}: `{name}` is {number}, not a usage"));
        }
    }
    for (part, whole) in [("used_size", "size"), ("used_size", "total_size")] {
        let value = |field: &str| fields.get(field).and_then(Value::as_f64);
        if let (Some(used), Some(total)) = (value(part), value(whole)) {
            if total > 0.0 && used > total {
                out.push(format!("{at}: `{part}` {used} exceeds `{whole}` {total}"));
            }
        }
    }
    out
}
