//! The merged document as the `openapiv3` crate's typed model, which lowering reads.
//!
//! Two spellings the specs may use are rewritten on the JSON first, because the typed model
//! (OpenAPI 3.0) cannot hold them:
//! - `type: [X, "null"]` (OpenAPI 3.1's `nullable`) becomes `type: X` with `nullable: true`;
//! - a `$ref` with members beside it (CloudTower marks deprecated references
//!   `{$ref, deprecated: true}`; OpenAPI 3.0 ignores such members and so does the typed
//!   model) becomes `allOf: [{$ref}]` beside them, the spelling 3.0 gives them a meaning in.
//!
//! Errors name pointers into the document as written: [`Rewrites::original`] takes the
//! `/allOf/0` a rewrite added back out. When the typed model rejects the document, the deepest
//! part that does not deserialize is named ([`locate`]): serde's own error path stops at the
//! model's flattened and untagged types, which are at nearly every level.

use std::collections::HashSet;

use openapiv3::{Components, OpenAPI, Operation, Parameter, PathItem, ReferenceOr, Response};
use openapiv3::{MediaType, RequestBody, Schema};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{pointer_token, CodegenError, Result};

/// Where the rewrites of `$ref`s with siblings put the reference.
const REWRITTEN_REF: &str = "/allOf/0";

/// The pointers of the `$ref`s rewritten into `allOf: [{$ref}]`.
#[derive(Debug, Default)]
pub(super) struct Rewrites(HashSet<String>);

impl Rewrites {
    /// The error with its pointer into the document as written.
    pub(super) fn original(&self, error: CodegenError) -> CodegenError {
        match error {
            CodegenError::Invalid {
                file,
                mut pointer,
                message,
            } => {
                let mut from = 0;
                while let Some(found) = pointer[from..].find(REWRITTEN_REF).map(|i| i + from) {
                    if self.0.contains(&pointer[..found]) {
                        pointer.replace_range(found..found + REWRITTEN_REF.len(), "");
                    } else {
                        from = found + 1;
                    }
                }
                CodegenError::Invalid {
                    file,
                    pointer,
                    message,
                }
            }
            other => other,
        }
    }
}

/// Reads the merged (and fixed-up) document into the typed model.
pub(super) fn read(mut spec: Value) -> Result<(OpenAPI, Rewrites)> {
    let root = spec
        .as_object_mut()
        .ok_or_else(|| CodegenError::invalid("", "the spec is not an object"))?;
    let openapi = root
        .get("openapi")
        .and_then(Value::as_str)
        .ok_or_else(|| CodegenError::invalid("/openapi", "missing OpenAPI version"))?;
    if !openapi.starts_with("3.") {
        return Err(CodegenError::invalid(
            "/openapi",
            format!("OpenAPI {openapi} is not supported (3.0.x is)"),
        ));
    }
    // A document of components only has no operations (the model requires `paths`).
    let paths = root
        .entry("paths")
        .or_insert_with(|| Value::Object(Map::new()));
    // The model drops such paths silently.
    if let Some(path) = paths.as_object().and_then(|paths| {
        paths
            .keys()
            .find(|path| !path.starts_with('/') && !path.starts_with("x-"))
    }) {
        return Err(CodegenError::invalid(
            format!("/paths/{}", pointer_token(path)),
            format!("path `{path}` does not start with `/`"),
        ));
    }
    let rewrites = respell(&mut spec)?;
    // The components and the rest deserialize on two threads: the model buffers every schema
    // level (its types are untagged and flattened), which makes this the slowest part of
    // lowering.
    let components_json = spec
        .as_object_mut()
        .and_then(|root| root.remove("components"));
    let (document, components) = std::thread::scope(|scope| {
        let components = scope.spawn(|| {
            components_json
                .as_ref()
                .map(|c| Components::deserialize(c).map_err(|_| ()))
                .transpose()
        });
        let document = OpenAPI::deserialize(&spec).map_err(|_| ());
        (document, components.join().unwrap_or(Err(())))
    });
    match (document, components) {
        (Ok(mut document), Ok(components)) => {
            document.components = components;
            Ok((document, rewrites))
        }
        _ => {
            let (pointer, message) = locate(Part::Document, &spec, &mut String::new())
                .or_else(|| {
                    let components = components_json.as_ref()?;
                    locate(Part::Components, components, &mut "#/components".to_owned())
                })
                .unwrap_or_else(|| (String::new(), "not an OpenAPI 3.0 document".into()));
            Err(rewrites.original(CodegenError::invalid(pointer, message)))
        }
    }
}

/// What a JSON value is in the typed model.
#[derive(Debug, Clone, Copy)]
enum Part {
    Document,
    Info,
    Components,
    PathItem,
    Operation,
    Parameter,
    RequestBody,
    Response,
    MediaType,
    Schema,
}

/// One step from a part to a member: `/name`, `/name/key` or `/name/index`.
#[derive(Debug, Clone, Copy)]
enum Step<'v> {
    Member(&'static str),
    Entry(&'static str, &'v str),
    Item(&'static str, usize),
    /// `#/components`: schema pointers are written `#/components/…`, as lowering writes them.
    Components,
}

impl Step<'_> {
    fn push_to(self, pointer: &mut String) {
        use std::fmt::Write;
        let _ = match self {
            Step::Member(name) => write!(pointer, "/{name}"),
            Step::Entry(name, key) => write!(pointer, "/{name}/{}", pointer_token(key)),
            Step::Item(name, i) => write!(pointer, "/{name}/{i}"),
            Step::Components => write!(pointer, "#/components"),
        };
    }
}

/// The members of `value` (a `part`) that are parts of the model lowering reads.
fn children(part: Part, value: &Value) -> Vec<(Part, &Value, Step<'_>)> {
    let Some(object) = value.as_object() else {
        return Vec::new();
    };
    let member =
        |name: &'static str, part: Part| object.get(name).map(|v| (part, v, Step::Member(name)));
    let entries = |name: &'static str, part: Part| -> Vec<(Part, &Value, Step<'_>)> {
        match object.get(name) {
            Some(Value::Object(entries)) => entries
                .iter()
                // Extensions beside named entries (`x-…`), except in `properties`.
                .filter(|(key, _)| matches!(part, Part::Schema) || !key.starts_with("x-"))
                .map(|(key, v)| (part, v, Step::Entry(name, key)))
                .collect(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (part, v, Step::Item(name, i)))
                .collect(),
            _ => Vec::new(),
        }
    };
    let mut found = Vec::new();
    match part {
        Part::Document => {
            found.extend(member("info", Part::Info));
            let components = object.get("components");
            found.extend(components.map(|v| (Part::Components, v, Step::Components)));
            found.extend(entries("paths", Part::PathItem));
        }
        Part::Components => found.extend(entries("schemas", Part::Schema)),
        Part::PathItem => {
            for method in [
                "delete", "get", "head", "options", "patch", "post", "put", "trace",
            ] {
                found.extend(member(method, Part::Operation));
            }
            found.extend(entries("parameters", Part::Parameter));
        }
        Part::Operation => {
            found.extend(entries("parameters", Part::Parameter));
            found.extend(member("requestBody", Part::RequestBody));
            found.extend(entries("responses", Part::Response));
        }
        Part::Info => {}
        Part::Parameter | Part::MediaType => found.extend(member("schema", Part::Schema)),
        Part::RequestBody | Part::Response => found.extend(entries("content", Part::MediaType)),
        Part::Schema => {
            found.extend(entries("properties", Part::Schema));
            for single in ["items", "not", "additionalProperties"] {
                found.extend(member(single, Part::Schema));
            }
            for list in ["allOf", "anyOf", "oneOf"] {
                found.extend(entries(list, Part::Schema));
            }
        }
    }
    found
}

/// Whether `value` deserializes as `part`, and serde's message if not.
fn check(part: Part, value: &Value) -> Result<(), String> {
    fn as_type<'v, T: Deserialize<'v>>(value: &'v Value) -> Result<(), String> {
        T::deserialize(value).map(|_| ()).map_err(|e| e.to_string())
    }
    match part {
        Part::Document => as_type::<OpenAPI>(value),
        Part::Info => as_type::<openapiv3::Info>(value),
        Part::Components => as_type::<Components>(value),
        Part::PathItem => as_type::<ReferenceOr<PathItem>>(value),
        Part::Operation => as_type::<Operation>(value),
        Part::Parameter => as_type::<ReferenceOr<Parameter>>(value),
        Part::RequestBody => as_type::<ReferenceOr<RequestBody>>(value),
        Part::Response => as_type::<ReferenceOr<Response>>(value),
        Part::MediaType => as_type::<MediaType>(value),
        // `additionalProperties: true` is a schema position holding a boolean.
        Part::Schema if value.is_boolean() => Ok(()),
        Part::Schema => as_type::<ReferenceOr<Schema>>(value),
    }
}

/// The deepest part of `value` (a `part` at `pointer`) that does not deserialize, and
/// why; `None` when `value` deserializes.
fn locate(part: Part, value: &Value, pointer: &mut String) -> Option<(String, String)> {
    let message = check(part, value).err()?;
    for (child, child_value, step) in children(part, value) {
        let at = pointer.len();
        step.push_to(pointer);
        if let Some(found) = locate(child, child_value, pointer) {
            return Some(found);
        }
        pointer.truncate(at);
    }
    // Serde's message does not name the member at fault: the one without which the part
    // deserializes, if there is one.
    let culprit = value.as_object().and_then(|object| {
        object.keys().find(|key| {
            let mut without = object.clone();
            without.remove(*key);
            check(part, &Value::Object(without)).is_ok()
        })
    });
    if let Some(key) = culprit {
        return Some((format!("{pointer}/{}", pointer_token(key)), message));
    }
    Some((pointer.clone(), message))
}

/// Rewrites the spellings the typed model cannot hold (see the module docs), in every schema.
fn respell(spec: &mut Value) -> Result<Rewrites> {
    let mut schemas = Vec::new();
    collect_schemas(Part::Document, spec, &mut String::new(), &mut schemas);
    let mut rewrites = Rewrites::default();
    for pointer in schemas {
        // `#/components/…` pointers are `/components/…` into the document.
        let Some(Value::Object(schema)) = spec.pointer_mut(pointer.trim_start_matches('#')) else {
            continue;
        };
        respell_type(schema, &pointer)?;
        if let Some(reference) = schema.get("$ref") {
            if !reference.is_string() {
                return Err(CodegenError::invalid(&pointer, "`$ref` is not a string"));
            }
            if schema.len() > 1 {
                if schema.contains_key("allOf") {
                    return Err(CodegenError::invalid(
                        &pointer,
                        "`$ref` beside `allOf` is not supported",
                    ));
                }
                let reference = schema.remove("$ref").unwrap_or_default();
                let only = Map::from_iter([("$ref".to_owned(), reference)]);
                schema.insert("allOf".into(), Value::Array(vec![Value::Object(only)]));
                rewrites.0.insert(pointer);
            }
        }
    }
    Ok(rewrites)
}

/// The pointers of the schemas that need a rewrite, in `value` (a `part` at `pointer`).
fn collect_schemas(part: Part, value: &Value, pointer: &mut String, found: &mut Vec<String>) {
    if let (Part::Schema, Some(schema)) = (part, value.as_object()) {
        let odd_ref = schema
            .get("$ref")
            .is_some_and(|r| schema.len() > 1 || !r.is_string());
        if odd_ref || schema.get("type").is_some_and(|t| !t.is_string()) {
            found.push(pointer.clone());
        }
    }
    for (child, child_value, step) in children(part, value) {
        let at = pointer.len();
        step.push_to(pointer);
        collect_schemas(child, child_value, pointer, found);
        pointer.truncate(at);
    }
}

/// `type: [X, "null"]` → `type: X, nullable: true`; other non-names are errors.
fn respell_type(schema: &mut Map<String, Value>, pointer: &str) -> Result<()> {
    let at = format!("{pointer}/type");
    let names = match schema.get("type") {
        None | Some(Value::String(_)) => return Ok(()),
        Some(Value::Array(names)) if names.iter().all(Value::is_string) => names,
        Some(_) => {
            return Err(CodegenError::invalid(
                at,
                "expected a type name or a list of them",
            ))
        }
    };
    let null = names.iter().any(|n| n == "null");
    let named: Vec<Value> = names.iter().filter(|n| *n != "null").cloned().collect();
    match <[Value; 1]>::try_from(named) {
        Ok([name]) => {
            schema.insert("type".into(), name);
        }
        Err(named) if named.is_empty() => {
            schema.remove("type");
        }
        Err(_) => {
            return Err(CodegenError::invalid(
                at,
                "several types in `type` are not supported (`anyOf` is)",
            ))
        }
    }
    if null {
        schema.insert("nullable".into(), Value::Bool(true));
    }
    Ok(())
}
