//! Stage 3: validating the merged spec and lowering it into the [IR](crate::ir).
//!
//! Everything the generator does not understand is an error naming the JSON pointer; nothing
//! is skipped silently.
//!
//! This file translates schemas; `union` the `anyOf`/`oneOf` schemas, `operations` the paths
//! and `method_names` their method names. Passes over the finished IR, in order:
//! `cycles` (fields held as `Related<T>`), `usage` (codec directions, modules),
//! `presence` (`Option`/`Nullable`), `lists` (paging, counting, re-reading).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use heck::ToUpperCamelCase;
use serde_json::{Map, Value};

use crate::error::{pointer_token, CodegenError, Result};
use crate::ir::{Api, Field, Presence, TypeDef, TypeKind, TypeRef, Usage, Variant};
use crate::names;

mod cycles;
mod lists;
pub mod method_names;
mod operations;
mod presence;
mod union;
mod usage;

const SCHEMAS: &str = "#/components/schemas/";

/// Lowers a merged (and fixed-up) OpenAPI 3.0 document.
pub fn lower(spec: &Value, always_on: &[String]) -> Result<Api> {
    let root = spec
        .as_object()
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
    let info = root.get("info");
    let text_at = |key: &str| {
        info.and_then(|i| i.get(key))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let empty = Map::new();
    let schemas = match root.get("components").and_then(|c| c.get("schemas")) {
        None => &empty,
        Some(value) => value
            .as_object()
            .ok_or_else(|| CodegenError::invalid("/components/schemas", "expected an object"))?,
    };

    let mut lowerer = Lowerer::new(schemas)?;
    let mut schema_names: Vec<&String> = schemas.keys().collect();
    schema_names.sort();
    for name in schema_names {
        lowerer.lower_component(name)?;
    }
    let operations = lowerer.lower_paths(root.get("paths"))?;
    let mut types: Vec<TypeDef> = lowerer.types.into_values().collect();
    types.sort_by(|a, b| a.name.cmp(&b.name));
    let mut api = Api {
        title: text_at("title"),
        version: text_at("version"),
        types,
        operations,
        schema_count: schemas.len(),
    };
    if let Some(unknown) = always_on
        .iter()
        .find(|id| !api.operations.iter().any(|o| &&o.id == id))
    {
        return Err(CodegenError::invalid(
            "/paths",
            format!("always-on operation `{unknown}` is not in the spec"),
        ));
    }
    for operation in &mut api.operations {
        operation.always_on = always_on.contains(&operation.id);
    }
    cycles::break_cycles(&mut api);
    usage::analyse_usage(&mut api);
    presence::assign_presence(&mut api);
    lists::find_list_operations(&mut api);
    lists::find_list_companions(&mut api);
    Ok(api)
}

struct Lowerer<'a> {
    schemas: &'a Map<String, Value>,
    /// Schema name → Rust type name.
    rust_names: HashMap<&'a str, String>,
    /// Rust type name → where it came from, to report clashes.
    claimed: HashMap<String, String>,
    /// Component schemas that are `WithTask_X_` wrappers: schema name → the wrapped type.
    with_task: HashMap<&'a str, TypeRef>,
    types: BTreeMap<String, TypeDef>,
}

/// A property gathered from an object schema (possibly across `allOf` parts).
struct Property<'a> {
    wire_name: &'a str,
    schema: &'a Value,
    pointer: String,
}

/// A lowered schema used in a field, body or alias position.
struct Lowered {
    ty: TypeRef,
    nullable: bool,
    deprecated: bool,
}

impl<'a> Lowerer<'a> {
    fn new(schemas: &'a Map<String, Value>) -> Result<Self> {
        let mut lowerer = Lowerer {
            schemas,
            rust_names: HashMap::new(),
            claimed: HashMap::new(),
            with_task: HashMap::new(),
            types: BTreeMap::new(),
        };
        let mut sorted: Vec<&String> = schemas.keys().collect();
        sorted.sort();
        for name in sorted {
            let rust = names::type_name(name);
            lowerer.claim(&rust, &format!("{SCHEMAS}{}", pointer_token(name)))?;
            lowerer.rust_names.insert(name, rust);
        }
        for name in schemas.keys() {
            if let Some(inner) = lowerer.with_task_payload(name)? {
                lowerer.with_task.insert(name, inner);
            }
        }
        Ok(lowerer)
    }

    /// Reserves a Rust type name; two spec names that normalise alike are an error.
    fn claim(&mut self, rust: &str, pointer: &str) -> Result<()> {
        if let Some(previous) = self.claimed.get(rust) {
            return Err(CodegenError::invalid(
                pointer,
                format!("its Rust name `{rust}` is already taken by {previous}"),
            ));
        }
        self.claimed.insert(rust.to_owned(), pointer.to_owned());
        Ok(())
    }

    /// `WithTask_X_` schemas: `{task_id: nullable string, data: X}` with `data` required.
    fn with_task_payload(&self, name: &str) -> Result<Option<TypeRef>> {
        let schema = &self.schemas[name];
        if !name.starts_with("WithTask_") {
            return Ok(None);
        }
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
            return Ok(None);
        };
        let required = required_set(schema);
        let task_id_ok = properties
            .get("task_id")
            .is_some_and(|t| t.get("type") == Some(&Value::from("string")));
        if properties.len() != 2 || !task_id_ok || !required.contains("data") {
            return Ok(None);
        }
        let Some(data) = properties.get("data") else {
            return Ok(None);
        };
        let pointer = format!("{SCHEMAS}{}/properties/data", pointer_token(name));
        // The payload is a reference or an array of references; anything inline would need a
        // synthesized type and is lowered as a plain struct instead.
        let payload = match (
            data.get("$ref"),
            data.get("items").and_then(|i| i.get("$ref")),
        ) {
            (Some(reference), _) => TypeRef::Named(self.resolve_name(reference, &pointer)?),
            (None, Some(reference)) if data.get("type") == Some(&Value::from("array")) => {
                TypeRef::Array(Box::new(TypeRef::Named(
                    self.resolve_name(reference, &format!("{pointer}/items"))?,
                )))
            }
            _ => return Ok(None),
        };
        Ok(Some(payload))
    }

    /// The Rust name of a `$ref` target (which must be a component schema).
    fn resolve_name(&self, reference: &Value, pointer: &str) -> Result<String> {
        let target = self.ref_target(reference, pointer)?;
        Ok(self.rust_names[target].clone())
    }

    fn ref_target(&self, reference: &Value, pointer: &str) -> Result<&'a str> {
        let text = reference
            .as_str()
            .ok_or_else(|| CodegenError::invalid(pointer, "`$ref` is not a string"))?;
        let name = text.strip_prefix(SCHEMAS).ok_or_else(|| {
            CodegenError::invalid(
                pointer,
                format!("`$ref` {text} does not point into #/components/schemas"),
            )
        })?;
        let name = name.replace("~1", "/").replace("~0", "~");
        self.schemas
            .get_key_value(&name)
            .map(|(k, _)| k.as_str())
            .ok_or_else(|| CodegenError::invalid(pointer, format!("dangling `$ref` {text}")))
    }

    fn lower_component(&mut self, name: &'a str) -> Result<()> {
        let schema = &self.schemas[name];
        let pointer = format!("{SCHEMAS}{}", pointer_token(name));
        let rust = self.rust_names[name].clone();
        let kind = if let Some(payload) = self.with_task.get(name) {
            TypeKind::Alias {
                target: TypeRef::WithTask(Box::new(payload.clone())),
            }
        } else {
            self.lower_definition(schema, &pointer, &rust)?
        };
        self.insert_type(rust, pointer, true, schema, kind);
        Ok(())
    }

    fn insert_type(
        &mut self,
        name: String,
        origin: String,
        is_component: bool,
        schema: &Value,
        kind: TypeKind,
    ) {
        self.types.insert(
            name.clone(),
            TypeDef {
                name,
                origin,
                is_component,
                doc: doc_of(schema),
                deprecated: is_deprecated(schema),
                kind,
                usage: Usage::default(),
                modules: BTreeSet::new(),
                always_on: false,
                used_by: Vec::new(),
            },
        );
    }

    /// What a named type is: a struct, an enum, or an alias of something else.
    fn lower_definition(
        &mut self,
        schema: &'a Value,
        pointer: &str,
        name: &str,
    ) -> Result<TypeKind> {
        let object = expect_object(schema, pointer)?;
        check_supported(object, pointer)?;
        if let (Some(values), true) = (object.get("enum"), is_string_enum(object, pointer)?) {
            return Ok(TypeKind::Enum {
                variants: enum_variants(object, values, pointer)?,
            });
        }
        if union::union_keyword(object).is_some() && self.union_parts(object, pointer)?.1.len() > 1
        {
            return self.lower_union(object, pointer, name);
        }
        if self.is_struct(object) {
            let properties = self.collect_properties(schema, pointer, &mut Vec::new())?;
            let fields = self.lower_fields(&properties.0, &properties.1, name)?;
            return Ok(TypeKind::Struct { fields });
        }
        let lowered = self.lower_use(schema, pointer, name)?;
        Ok(TypeKind::Alias { target: lowered.ty })
    }

    /// Objects with declared properties, and `allOf` compositions of several parts.
    fn is_struct(&self, object: &Map<String, Value>) -> bool {
        let has_properties = object
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| !p.is_empty());
        let composed = object
            .get("allOf")
            .and_then(Value::as_array)
            .is_some_and(|parts| parts.len() > 1 || parts.iter().any(|p| p.get("$ref").is_none()));
        has_properties || composed
    }

    /// The properties of an object schema, merging `allOf` parts (referenced or inline), with
    /// the set of required ones.
    fn collect_properties(
        &self,
        schema: &'a Value,
        pointer: &str,
        visiting: &mut Vec<String>,
    ) -> Result<(Vec<Property<'a>>, BTreeSet<&'a str>)> {
        let object = expect_object(schema, pointer)?;
        check_supported(object, pointer)?;
        let mut properties: Vec<Property<'a>> = Vec::new();
        let mut required: BTreeSet<&'a str> = BTreeSet::new();
        if let Some(reference) = object.get("$ref") {
            let target = self.ref_target(reference, pointer)?;
            if visiting.iter().any(|v| v == target) {
                return Err(CodegenError::invalid(
                    pointer,
                    "`allOf` composition refers to itself",
                ));
            }
            visiting.push(target.to_owned());
            let found = self.collect_properties(
                &self.schemas[target],
                &format!("{SCHEMAS}{}", pointer_token(target)),
                visiting,
            )?;
            visiting.pop();
            merge_properties(&mut properties, &mut required, found)?;
        }
        if let Some(parts) = object.get("allOf") {
            let parts = parts.as_array().ok_or_else(|| {
                CodegenError::invalid(format!("{pointer}/allOf"), "expected an array")
            })?;
            for (i, part) in parts.iter().enumerate() {
                let found =
                    self.collect_properties(part, &format!("{pointer}/allOf/{i}"), visiting)?;
                merge_properties(&mut properties, &mut required, found)?;
            }
        }
        if let Some(own) = object.get("properties") {
            let own = own.as_object().ok_or_else(|| {
                CodegenError::invalid(format!("{pointer}/properties"), "expected an object")
            })?;
            let listed = required_set(schema);
            for wire_name in own.keys() {
                if listed.contains(wire_name.as_str()) {
                    required.insert(wire_name);
                }
            }
            let found = (
                own.iter()
                    .map(|(wire_name, property_schema)| Property {
                        wire_name,
                        schema: property_schema,
                        pointer: format!("{pointer}/properties/{}", pointer_token(wire_name)),
                    })
                    .collect(),
                BTreeSet::new(),
            );
            merge_properties(&mut properties, &mut required, found)?;
        }
        Ok((properties, required))
    }

    fn lower_fields(
        &mut self,
        properties: &[Property<'a>],
        required: &BTreeSet<&str>,
        owner: &str,
    ) -> Result<Vec<Field>> {
        let mut fields: Vec<Field> = Vec::with_capacity(properties.len());
        for property in properties {
            let name = names::field_name(property.wire_name);
            let sensitive = is_credential(&name);
            if let Some(clash) = fields.iter().find(|f| f.name == name) {
                return Err(CodegenError::invalid(
                    &property.pointer,
                    format!(
                        "field name `{name}` is also the Rust name of property `{}`",
                        clash.wire_name
                    ),
                ));
            }
            let synthesized = format!("{owner}{}", property.wire_name.to_upper_camel_case());
            let lowered = self.lower_use(property.schema, &property.pointer, &synthesized)?;
            fields.push(Field {
                name,
                wire_name: property.wire_name.to_owned(),
                doc: doc_of(property.schema),
                deprecated: lowered.deprecated,
                ty: lowered.ty,
                required: required.contains(property.wire_name),
                nullable: lowered.nullable,
                repr: Presence::Plain,
                in_cycle: false,
                sensitive,
            });
        }
        Ok(fields)
    }

    /// Lowers a schema in a use position (field, items, body, alias target). Inline objects
    /// and enums become named types called `synthesized`.
    fn lower_use(
        &mut self,
        schema: &'a Value,
        pointer: &str,
        synthesized: &str,
    ) -> Result<Lowered> {
        let object = expect_object(schema, pointer)?;
        check_supported(object, pointer)?;
        let nullable = object
            .get("nullable")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let deprecated = is_deprecated(schema);
        if let Some(reference) = object.get("$ref") {
            let target = self.ref_target(reference, pointer)?;
            let ty = match self.with_task.get(target) {
                Some(payload) => TypeRef::WithTask(Box::new(payload.clone())),
                None => TypeRef::Named(self.rust_names[target].clone()),
            };
            let target_nullable = self.schemas[target]
                .get("nullable")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            return Ok(Lowered {
                ty,
                nullable: nullable || target_nullable,
                deprecated,
            });
        }
        if union::union_keyword(object).is_some() {
            let (keyword, parts) = self.union_parts(object, pointer)?;
            if let [single] = parts {
                // One alternative is no choice: that alternative, as `allOf: [X]` is X.
                let inner =
                    self.lower_use(single, &format!("{pointer}/{keyword}/0"), synthesized)?;
                return Ok(Lowered {
                    ty: inner.ty,
                    nullable: nullable || inner.nullable,
                    deprecated: deprecated || inner.deprecated,
                });
            }
            let ty = self.synthesize(schema, pointer, synthesized)?;
            return Ok(Lowered {
                ty,
                nullable,
                deprecated,
            });
        }
        if let Some(parts) = object.get("allOf").and_then(Value::as_array) {
            // `allOf: [{$ref}]` with `nullable`/`deprecated` beside it is how the spec spells a
            // nullable reference; it is not a new type.
            if let [single] = parts.as_slice() {
                if single.get("$ref").is_some() && !self.is_struct(object) {
                    let inner =
                        self.lower_use(single, &format!("{pointer}/allOf/0"), synthesized)?;
                    return Ok(Lowered {
                        ty: inner.ty,
                        nullable: nullable || inner.nullable,
                        deprecated: deprecated || inner.deprecated,
                    });
                }
            }
        }
        let (type_name, null_in_type) = schema_type(object, pointer)?;
        let nullable = nullable || null_in_type;
        let ty = if is_string_enum(object, pointer)? || self.is_struct(object) {
            self.synthesize(schema, pointer, synthesized)?
        } else {
            // Enums of numbers or booleans are their type (the values are not names).
            match type_name {
                Some("string") => match object.get("format").and_then(Value::as_str) {
                    Some("binary") => TypeRef::File,
                    _ => TypeRef::String,
                },
                Some("boolean") => TypeRef::Bool,
                Some("integer") => match object.get("format").and_then(Value::as_str) {
                    Some("int32") => TypeRef::I32,
                    _ => TypeRef::I64,
                },
                Some("number") => match object.get("format").and_then(Value::as_str) {
                    Some("float") => TypeRef::F32,
                    _ => TypeRef::F64,
                },
                Some("array") => {
                    let items = object.get("items").ok_or_else(|| {
                        CodegenError::invalid(pointer, "array schema without `items`")
                    })?;
                    let item = self.lower_use(
                        items,
                        &format!("{pointer}/items"),
                        &format!("{synthesized}Item"),
                    )?;
                    TypeRef::Array(Box::new(item.ty))
                }
                // Objects without declared properties, and `{}`, are free-form JSON.
                Some("object") | None => TypeRef::Json,
                Some(other) => {
                    return Err(CodegenError::invalid(
                        format!("{pointer}/type"),
                        format!("unsupported type `{other}`"),
                    ))
                }
            }
        };
        Ok(Lowered {
            ty,
            nullable,
            deprecated,
        })
    }

    /// Gives an inline object or enum a name of its own.
    fn synthesize(&mut self, schema: &'a Value, pointer: &str, name: &str) -> Result<TypeRef> {
        let rust = names::type_name(name);
        self.claim(&rust, pointer)?;
        let kind = self.lower_definition(schema, pointer, &rust)?;
        self.insert_type(rust.clone(), pointer.to_owned(), false, schema, kind);
        Ok(TypeRef::Named(rust))
    }
}

/// Adds properties gathered from one `allOf` part; the same property twice must be identical.
fn merge_properties<'a>(
    properties: &mut Vec<Property<'a>>,
    required: &mut BTreeSet<&'a str>,
    found: (Vec<Property<'a>>, BTreeSet<&'a str>),
) -> Result<()> {
    for property in found.0 {
        match properties
            .iter()
            .find(|p| p.wire_name == property.wire_name)
        {
            Some(existing) if existing.schema == property.schema => {}
            Some(existing) => {
                return Err(CodegenError::invalid(
                    &property.pointer,
                    format!(
                        "property `{}` is also defined, differently, at {}",
                        property.wire_name, existing.pointer
                    ),
                ))
            }
            None => properties.push(property),
        }
    }
    required.extend(found.1);
    Ok(())
}

/// A schema's `type`, and whether it admits `null` besides: a type name, or a list of one
/// name and `"null"` (OpenAPI 3.1's spelling of `nullable`).
fn schema_type<'v>(
    object: &'v Map<String, Value>,
    pointer: &str,
) -> Result<(Option<&'v str>, bool)> {
    let names = match object.get("type") {
        None => return Ok((None, false)),
        Some(Value::String(name)) => return Ok((Some(name), false)),
        Some(Value::Array(names)) => names,
        Some(_) => {
            return Err(CodegenError::invalid(
                format!("{pointer}/type"),
                "expected a type name or a list of them",
            ))
        }
    };
    let null = names.iter().any(|n| n == "null");
    match names
        .iter()
        .filter(|n| *n != "null")
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => Ok((None, null)),
        [Value::String(name)] => Ok((Some(name), null)),
        _ => Err(CodegenError::invalid(
            format!("{pointer}/type"),
            "several types in `type` are not supported (`anyOf` is)",
        )),
    }
}

/// An `enum` of strings (named variants); enums of other types are plain values of the type.
fn is_string_enum(object: &Map<String, Value>, pointer: &str) -> Result<bool> {
    Ok(object.contains_key("enum")
        && matches!(schema_type(object, pointer)?.0, None | Some("string")))
}

fn expect_object<'v>(schema: &'v Value, pointer: &str) -> Result<&'v Map<String, Value>> {
    schema
        .as_object()
        .ok_or_else(|| CodegenError::invalid(pointer, "expected a schema object"))
}

/// Constructs the generator does not handle are errors, never silently dropped.
fn check_supported(object: &Map<String, Value>, pointer: &str) -> Result<()> {
    for keyword in ["not", "discriminator"] {
        if object.contains_key(keyword) {
            return Err(CodegenError::invalid(
                format!("{pointer}/{keyword}"),
                format!("`{keyword}` is not supported"),
            ));
        }
    }
    if let Some(additional) = object.get("additionalProperties") {
        if additional.is_object() && additional.as_object().is_some_and(|a| !a.is_empty()) {
            return Err(CodegenError::invalid(
                format!("{pointer}/additionalProperties"),
                "typed `additionalProperties` (maps) are not supported",
            ));
        }
    }
    Ok(())
}

fn enum_variants(
    object: &Map<String, Value>,
    values: &Value,
    pointer: &str,
) -> Result<Vec<Variant>> {
    let at = format!("{pointer}/enum");
    if object
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("string")
        != "string"
    {
        return Err(CodegenError::invalid(
            &at,
            "only string enums are supported",
        ));
    }
    let values = values
        .as_array()
        .ok_or_else(|| CodegenError::invalid(&at, "expected an array"))?;
    let mut variants: Vec<Variant> = Vec::with_capacity(values.len());
    for (i, value) in values.iter().enumerate() {
        let Some(wire_name) = value.as_str() else {
            // `null` in a nullable enum's value list is not a variant.
            if value.is_null() {
                continue;
            }
            return Err(CodegenError::invalid(
                format!("{at}/{i}"),
                "enum value is not a string",
            ));
        };
        if variants.iter().any(|v| v.wire_name == wire_name) {
            continue;
        }
        let name = names::variant_name(wire_name);
        if name == crate::OTHER_VARIANT {
            return Err(CodegenError::invalid(
                format!("{at}/{i}"),
                format!("variant name `{name}` is reserved for unknown values"),
            ));
        }
        if let Some(clash) = variants.iter().find(|v| v.name == name) {
            return Err(CodegenError::invalid(
                format!("{at}/{i}"),
                format!(
                    "`{wire_name}` and `{}` both become variant `{name}`",
                    clash.wire_name
                ),
            ));
        }
        variants.push(Variant {
            name,
            wire_name: wire_name.to_owned(),
        });
    }
    Ok(variants)
}

/// Field names that hold credentials: passwords, secrets, SNMP pass phrases and community
/// strings, tokens, API keys (not filters on them, such as `password_expired`), and the VNC
/// console tokens and terminal URL of `VmVncInfo` (`redirect`, `direct`, `terminal`).
fn is_credential(field_name: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        "password",
        "secret",
        "pass_phrase",
        "token",
        "api_key",
        "community",
        "direct",
        "terminal",
    ];
    SUFFIXES.iter().any(|suffix| field_name.ends_with(suffix))
}

fn required_set(schema: &Value) -> BTreeSet<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn doc_of(schema: &Value) -> Option<String> {
    let text = schema
        .get("description")
        .or_else(|| schema.get("summary"))
        .and_then(Value::as_str)?
        .trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn is_deprecated(schema: &Value) -> bool {
    schema
        .get("deprecated")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}
