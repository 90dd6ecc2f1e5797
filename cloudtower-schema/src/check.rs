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

impl ApiSchema {
    /// Checks that `value` is a `ty`: its objects have only declared keys and every required
    /// one, its enums known values, its numbers the right kind.
    pub fn check(&self, value: &Value, ty: &Ty) -> Result<(), Mismatch> {
        let mut pointer = String::new();
        self.check_at(value, ty, &mut pointer, 0)
    }

    fn check_at(
        &self,
        value: &Value,
        ty: &Ty,
        pointer: &mut String,
        depth: usize,
    ) -> Result<(), Mismatch> {
        let fail = |pointer: &str, problem: String| {
            Err(Mismatch {
                pointer: pointer.to_owned(),
                problem,
            })
        };
        if depth > MAX_CHECK_DEPTH {
            return fail(
                pointer,
                format!("nested deeper than {MAX_CHECK_DEPTH} levels"),
            );
        }
        let expected = |what: &str| format!("expected {what}, found {}", json_kind(value));
        match ty {
            Ty::Json => Ok(()),
            Ty::String | Ty::File => match value {
                Value::String(_) => Ok(()),
                _ => fail(pointer, expected("a string")),
            },
            Ty::Bool => match value {
                Value::Bool(_) => Ok(()),
                _ => fail(pointer, expected("a boolean")),
            },
            Ty::Int32 | Ty::Int64 => {
                let fits = match value {
                    Value::Number(n) if *ty == Ty::Int32 => {
                        n.as_i64().is_some_and(|n| i32::try_from(n).is_ok())
                    }
                    Value::Number(n) => n.is_i64() || n.is_u64(),
                    _ => false,
                };
                if fits {
                    Ok(())
                } else {
                    fail(pointer, expected(&format!("an integer ({ty})")))
                }
            }
            Ty::Float | Ty::Double => match value {
                Value::Number(_) => Ok(()),
                _ => fail(pointer, expected("a number")),
            },
            Ty::Array(element) => {
                let Value::Array(items) = value else {
                    return fail(pointer, expected("an array"));
                };
                for (i, item) in items.iter().enumerate() {
                    let len = pointer.len();
                    pointer.push_str(&format!("/{i}"));
                    self.check_at(item, element, pointer, depth + 1)?;
                    pointer.truncate(len);
                }
                Ok(())
            }
            Ty::WithTask(data) => {
                let Value::Object(fields) = value else {
                    return fail(pointer, expected("an object {task_id, data}"));
                };
                if let Some(task_id) = fields.get("task_id") {
                    if !task_id.is_null() && !task_id.is_string() {
                        return fail(pointer, "`task_id` must be a string or null".into());
                    }
                }
                let len = pointer.len();
                pointer.push_str("/data");
                self.check_at(
                    fields.get("data").unwrap_or(&Value::Null),
                    data,
                    pointer,
                    depth + 1,
                )?;
                pointer.truncate(len);
                Ok(())
            }
            Ty::Named(name) => match self.resolve(name) {
                None => fail(pointer, format!("the table has no type `{name}`")),
                Some(TypeSchema::Alias { target }) => {
                    self.check_at(value, target, pointer, depth + 1)
                }
                Some(TypeSchema::Enum { values }) => match value {
                    Value::String(s) if values.iter().any(|v| v == s) => Ok(()),
                    Value::String(s) => fail(
                        pointer,
                        format!("`{s}` is not a {name} (one of {})", values.join(", ")),
                    ),
                    _ => fail(pointer, expected(&format!("a {name} (a string)"))),
                },
                Some(TypeSchema::Union { alternatives }) => {
                    let mut first = None;
                    for alternative in alternatives {
                        match self.check_at(value, alternative, pointer, depth + 1) {
                            Ok(()) => return Ok(()),
                            Err(mismatch) => {
                                first.get_or_insert(mismatch);
                            }
                        }
                    }
                    Err(first.unwrap_or_else(|| Mismatch {
                        pointer: pointer.clone(),
                        problem: format!("{name} has no alternatives"),
                    }))
                }
                Some(shape) => {
                    let declared = shape.fields().unwrap_or(&[]);
                    let Value::Object(object) = value else {
                        return fail(pointer, expected(&format!("a {name} (an object)")));
                    };
                    for key in object.keys() {
                        if !declared.iter().any(|f| &f.name == key) {
                            return fail(pointer, format!("{name} has no field `{key}`"));
                        }
                    }
                    for field in declared {
                        let len = pointer.len();
                        pointer.push('/');
                        pointer.push_str(&field.name.replace('~', "~0").replace('/', "~1"));
                        match object.get(&field.name) {
                            None if field.required => {
                                pointer.truncate(len);
                                return fail(
                                    pointer,
                                    format!("{name} needs the field `{}`", field.name),
                                );
                            }
                            None => {}
                            Some(Value::Null) if field.nullable || !field.required => {}
                            Some(field_value) => {
                                self.check_at(field_value, &field.ty, pointer, depth + 1)?
                            }
                        }
                        pointer.truncate(len);
                    }
                    Ok(())
                }
            },
        }
    }
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
}
