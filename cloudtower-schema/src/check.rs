//! Whether a JSON value is one of the table's types: what a server (the mock tower) checks
//! before it acts on a request, and a command line before it sends one.
//!
//! Strict where a typo would otherwise go unnoticed: an object key the type does not declare,
//! an enum value it does not list, a number that is not an integer where one is expected.
//! A field that is not required may be `null` (Prisma-style inputs read it as absent).

use std::fmt;

use serde_json::Value;

use crate::{ApiSchema, Ty, TypeSchema};

/// How deep [`ApiSchema::check`] follows a value before it gives up: far beyond any request
/// (the mock refuses bodies nested deeper than 32 levels before it checks them).
pub const MAX_CHECK_DEPTH: usize = 64;

/// Where a value differs from its type, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The JSON pointer (RFC 6901) of the offending part (`""` for the whole value).
    pub pointer: String,
    /// What is wrong there.
    pub problem: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.is_empty() {
            f.write_str(&self.problem)
        } else {
            write!(f, "at `{}`: {}", self.pointer, self.problem)
        }
    }
}

impl std::error::Error for Mismatch {}

/// The most mismatches [`ApiSchema::check_all`] reports: a body far off its type (a list of
/// a thousand wrong items) is refused with the first ones, not with a page per item.
pub const MAX_MISMATCHES: usize = 100;

/// An enum with more values than this is named by its closest values, not listed whole
/// (`VmOrderByInput` has hundreds).
const MAX_LISTED_VALUES: usize = 16;

impl ApiSchema {
    /// Checks that `value` is a `ty`: its objects have only declared keys and every required
    /// one, its enums known values, its numbers the right kind. The first mismatch found, in
    /// the order [`check_all`](Self::check_all) lists them.
    pub fn check(&self, value: &Value, ty: &Ty) -> Result<(), Mismatch> {
        let mut found = Vec::with_capacity(1);
        self.check_at(value, ty, &mut String::new(), 0, &mut found, 1);
        match found.pop() {
            Some(mismatch) => Err(mismatch),
            None => Ok(()),
        }
    }

    /// Every way `value` differs from `ty` (at most [`MAX_MISMATCHES`]), in document order:
    /// in each object its unknown keys, then its fields in the type's order (a missing
    /// required one, or what is wrong inside one). Empty when `value` is a `ty`.
    ///
    /// Where it helps to fix one, the problem says what to try: the declared field closest
    /// to an unknown key, the closest values of an enum, the type of a missing field.
    pub fn check_all(&self, value: &Value, ty: &Ty) -> Vec<Mismatch> {
        let mut found = Vec::new();
        self.check_at(value, ty, &mut String::new(), 0, &mut found, MAX_MISMATCHES);
        found
    }

    /// Appends the mismatches of `value` at `pointer` to `found`, until it holds `limit`.
    fn check_at(
        &self,
        value: &Value,
        ty: &Ty,
        pointer: &mut String,
        depth: usize,
        found: &mut Vec<Mismatch>,
        limit: usize,
    ) {
        if found.len() >= limit {
            return;
        }
        if depth > MAX_CHECK_DEPTH {
            return push(
                found,
                pointer,
                format!("nested deeper than {MAX_CHECK_DEPTH} levels"),
            );
        }
        let expected = |what: &str| format!("expected {what}, found {}", json_kind(value));
        match ty {
            Ty::Json => {}
            Ty::String | Ty::File => {
                if !value.is_string() {
                    push(found, pointer, expected("a string"))
                }
            }
            Ty::Bool => {
                if !value.is_boolean() {
                    push(found, pointer, expected("a boolean"))
                }
            }
            Ty::Int32 | Ty::Int64 => {
                let fits = match value {
                    Value::Number(n) if *ty == Ty::Int32 => {
                        n.as_i64().is_some_and(|n| i32::try_from(n).is_ok())
                    }
                    Value::Number(n) => n.is_i64() || n.is_u64(),
                    _ => false,
                };
                if !fits {
                    push(found, pointer, expected(&format!("an integer ({ty})")))
                }
            }
            Ty::Float | Ty::Double => {
                if !value.is_number() {
                    push(found, pointer, expected("a number"))
                }
            }
            Ty::Array(element) => {
                let Value::Array(items) = value else {
                    return push(found, pointer, expected("an array"));
                };
                for (i, item) in items.iter().enumerate() {
                    let len = pointer.len();
                    pointer.push_str(&format!("/{i}"));
                    self.check_at(item, element, pointer, depth + 1, found, limit);
                    pointer.truncate(len);
                }
            }
            Ty::WithTask(data) => {
                let Value::Object(fields) = value else {
                    return push(found, pointer, expected("an object {task_id, data}"));
                };
                if let Some(task_id) = fields.get("task_id") {
                    if !task_id.is_null() && !task_id.is_string() {
                        push(found, pointer, "`task_id` must be a string or null".into());
                    }
                }
                let len = pointer.len();
                pointer.push_str("/data");
                self.check_at(
                    fields.get("data").unwrap_or(&Value::Null),
                    data,
                    pointer,
                    depth + 1,
                    found,
                    limit,
                );
                pointer.truncate(len);
            }
            Ty::Named(name) => match self.resolve(name) {
                None => push(found, pointer, format!("the table has no type `{name}`")),
                Some(TypeSchema::Alias { target }) => {
                    self.check_at(value, target, pointer, depth + 1, found, limit)
                }
                Some(TypeSchema::Enum { values }) => match value {
                    Value::String(s) if values.iter().any(|v| v == s) => {}
                    Value::String(s) => push(
                        found,
                        pointer,
                        format!("`{s}` is not a {name} ({})", enum_hint(values, s)),
                    ),
                    _ => push(found, pointer, expected(&format!("a {name} (a string)"))),
                },
                Some(TypeSchema::Union { alternatives }) => {
                    // The problems of the alternative the value is closest to (fewest
                    // problems; the first of equals).
                    let mut closest: Option<Vec<Mismatch>> = None;
                    for alternative in alternatives {
                        let mut problems = Vec::new();
                        let room = limit - found.len();
                        self.check_at(value, alternative, pointer, depth + 1, &mut problems, room);
                        if problems.is_empty() {
                            return;
                        }
                        if closest.as_ref().is_none_or(|c| problems.len() < c.len()) {
                            closest = Some(problems);
                        }
                    }
                    match closest {
                        Some(problems) => found.extend(problems),
                        None => push(found, pointer, format!("{name} has no alternatives")),
                    }
                }
                Some(shape) => {
                    let declared = shape.fields().unwrap_or(&[]);
                    let Value::Object(object) = value else {
                        return push(found, pointer, expected(&format!("a {name} (an object)")));
                    };
                    for key in object.keys() {
                        if !declared.iter().any(|f| &f.name == key) {
                            let hint = closest(declared.iter().map(|f| f.name.as_str()), key)
                                .map(|near| format!(" (did you mean `{near}`?)"))
                                .unwrap_or_default();
                            push(found, pointer, format!("{name} has no field `{key}`{hint}"));
                        }
                    }
                    for field in declared {
                        let len = pointer.len();
                        pointer.push('/');
                        pointer.push_str(&field.name.replace('~', "~0").replace('/', "~1"));
                        match object.get(&field.name) {
                            None if field.required => {
                                pointer.truncate(len);
                                push(
                                    found,
                                    pointer,
                                    format!(
                                        "{name} needs the field `{}` ({})",
                                        field.name, field.ty
                                    ),
                                );
                            }
                            None => {}
                            Some(Value::Null) if field.nullable || !field.required => {}
                            Some(field_value) => self.check_at(
                                field_value,
                                &field.ty,
                                pointer,
                                depth + 1,
                                found,
                                limit,
                            ),
                        }
                        pointer.truncate(len);
                    }
                }
            },
        }
        found.truncate(limit);
    }
}

fn push(found: &mut Vec<Mismatch>, pointer: &str, problem: String) {
    found.push(Mismatch {
        pointer: pointer.to_owned(),
        problem,
    });
}

/// The candidate closest to `given` in spelling, if one is close enough to be a typo of it.
fn closest<'a>(candidates: impl Iterator<Item = &'a str>, given: &str) -> Option<&'a str> {
    candidates
        .map(|candidate| (strsim::jaro_winkler(candidate, given), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// What an enum accepts, for a value it does not: all of them when they are few, else the
/// closest few and how many there are.
fn enum_hint(values: &[String], given: &str) -> String {
    if values.len() <= MAX_LISTED_VALUES {
        return format!("one of {}", values.join(", "));
    }
    let mut ranked: Vec<(f64, &str)> = values
        .iter()
        .map(|v| (strsim::jaro_winkler(v, given), v.as_str()))
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let near: Vec<&str> = ranked.iter().take(3).map(|(_, v)| *v).collect();
    format!(
        "one of {} values, such as {}",
        values.len(),
        near.join(", ")
    )
}

/// How a message names the kind of a JSON value (`a string`, `null`, …).
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> ApiSchema {
        ApiSchema::parse(
            &json!({
                "generated": "test", "title": "t", "version": "1",
                "types": {
                    "Color": {"kind": "enum", "values": ["RED", "BLUE"]},
                    "Params": {"kind": "object", "fields": [
                        {"name": "name", "ty": "string", "required": true},
                        {"name": "count", "ty": "int32"},
                        {"name": "color", "ty": "Color", "nullable": true},
                        {"name": "tags", "ty": "[string]"}
                    ]}
                },
                "operations": [], "resources": []
            })
            .to_string(),
        )
        .unwrap()
    }

    #[test]
    fn a_value_of_the_type_passes_and_every_kind_of_mistake_is_named_where_it_is() {
        let schema = schema();
        let ty: Ty = "[Params]".parse().unwrap();
        let ok = json!([{"name": "a", "count": 3, "color": null, "tags": ["x"]}]);
        assert_eq!(schema.check(&ok, &ty), Ok(()));
        for (bad, pointer, problem) in [
            (json!([{"count": 1}]), "/0", "needs the field `name`"),
            (
                json!([{"name": "a", "colour": "RED"}]),
                "/0",
                "no field `colour`",
            ),
            (
                json!([{"name": "a", "color": "GREEN"}]),
                "/0/color",
                "not a Color",
            ),
            (
                json!([{"name": "a", "count": 1.5}]),
                "/0/count",
                "an integer",
            ),
            (
                json!([{"name": "a", "count": 1i64 << 40}]),
                "/0/count",
                "int32",
            ),
            (json!([{"name": "a", "tags": [1]}]), "/0/tags/0", "a string"),
            (json!({"name": "a"}), "", "an array"),
        ] {
            let mismatch = schema.check(&bad, &ty).unwrap_err();
            assert_eq!(mismatch.pointer, pointer, "{bad}");
            assert!(mismatch.problem.contains(problem), "{bad}: {mismatch}");
        }
    }

    #[test]
    fn check_all_names_every_problem_at_once_with_what_to_try() {
        let schema = schema();
        let ty: Ty = "[Params]".parse().unwrap();
        let bad = json!([
            {"nmae": "a", "count": "3", "color": "GREN"},
            {"name": "b", "tags": [1, "x", true]}
        ]);
        let found: Vec<String> = schema
            .check_all(&bad, &ty)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            [
                "at `/0`: Params has no field `nmae` (did you mean `name`?)",
                "at `/0`: Params needs the field `name` (string)",
                "at `/0/count`: expected an integer (int32), found a string",
                "at `/0/color`: `GREN` is not a Color (one of RED, BLUE)",
                "at `/1/tags/0`: expected a string, found a number",
                "at `/1/tags/2`: expected a string, found a boolean",
            ]
        );
        // `check` reports the first of them.
        assert_eq!(schema.check(&bad, &ty).unwrap_err().to_string(), found[0]);
        assert!(schema.check_all(&json!([{"name": "ok"}]), &ty).is_empty());
        // Bounded, however many items are wrong.
        let many = Value::Array(vec![json!({}); 1000]);
        assert_eq!(schema.check_all(&many, &ty).len(), MAX_MISMATCHES);
    }
}
