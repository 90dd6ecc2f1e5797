//! Stage 3: validating the merged spec and lowering it into the [IR](crate::ir).
//!
//! Everything the generator does not understand is an error naming the JSON pointer; nothing
//! is skipped silently.
//!
//! This file translates schemas; `union` the `anyOf`/`oneOf` schemas, `operations` the paths
//! and `method_names` their method names. Passes over the finished IR, in order:
//! `cycles` (fields held as `Related<T>`), `usage` (codec directions, modules),
//! `presence` (`Option`/`Nullable`), `lists` (paging, counting, re-reading).

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use heck::ToUpperCamelCase;
use indexmap::IndexMap;
use openapiv3::{
    AdditionalProperties, IntegerFormat, NumberFormat, ReferenceOr, Schema, SchemaData, SchemaKind,
    StringFormat, Type, VariantOrUnknownOrEmpty,
};
use serde_json::Value;

use crate::error::{pointer_token, CodegenError, Result};
use crate::ir::{Api, Field, Holding, Presence, TypeDef, TypeKind, TypeRef, Usage, Variant};
use crate::names;

mod boxing;
mod cycles;
mod lists;
pub mod method_names;
mod operations;
mod presence;
mod typed;
mod union;
mod usage;

const SCHEMAS: &str = "#/components/schemas/";

/// Lowers a merged (and fixed-up) OpenAPI 3.0 document.
pub fn lower(spec: Value, always_on: &[String]) -> Result<Api> {
    let (document, rewrites) = typed::read(spec)?;
    lower_document(&document, always_on).map_err(|e| rewrites.original(e))
}

fn lower_document(document: &openapiv3::OpenAPI, always_on: &[String]) -> Result<Api> {
    let empty = IndexMap::new();
    let schemas = document
        .components
        .as_ref()
        .map_or(&empty, |components| &components.schemas);

    let mut lowerer = Lowerer::new(schemas)?;
    let mut schema_names: Vec<&String> = schemas.keys().collect();
    schema_names.sort();
    for name in schema_names {
        lowerer.lower_component(name)?;
    }
    let operations = lowerer.lower_paths(&document.paths)?;
    let mut types: Vec<TypeDef> = lowerer.types.into_values().collect();
    types.sort_by(|a, b| a.name.cmp(&b.name));
    let mut api = Api {
        title: document.info.title.clone(),
        version: document.info.version.clone(),
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
    // Before the list passes: they use only inline `where` fields.
    boxing::box_large_fields(&mut api);
    lists::find_list_operations(&mut api);
    lists::find_list_companions(&mut api);
    Ok(api)
}

/// A schema position of the typed model: a reference, or a schema written there.
#[derive(Debug, Clone, Copy, PartialEq)]
enum SchemaNode<'a> {
    Ref(&'a str),
    Inline(&'a Schema),
}

impl<'a> SchemaNode<'a> {
    /// The model spells schema positions `ReferenceOr<Schema>` or `ReferenceOr<Box<Schema>>`.
    fn of<S: Borrow<Schema>>(position: &'a ReferenceOr<S>) -> Self {
        match position {
            ReferenceOr::Reference { reference } => SchemaNode::Ref(reference),
            ReferenceOr::Item(schema) => SchemaNode::Inline(schema.borrow()),
        }
    }

    /// Description, nullability, deprecation… (a reference has none: see `typed`).
    fn data(self) -> Option<&'a SchemaData> {
        match self {
            SchemaNode::Ref(_) => None,
            SchemaNode::Inline(schema) => Some(&schema.schema_data),
        }
    }
}

/// What lowering reads of a schema, whichever [`SchemaKind`] the model filed it under (a
/// plain type, a composition, or `Any` for the combinations in between).
#[derive(Clone, Copy)]
struct Facets<'a> {
    type_name: Option<&'a str>,
    format: Option<&'a str>,
    enum_values: Option<EnumValues<'a>>,
    properties: Option<&'a IndexMap<String, ReferenceOr<Box<Schema>>>>,
    required: &'a [String],
    additional_properties: Option<&'a AdditionalProperties>,
    items: Option<&'a ReferenceOr<Box<Schema>>>,
    all_of: &'a [ReferenceOr<Schema>],
    /// `Some` when the keyword is there (the model keeps an empty list only for a schema that
    /// has nothing else).
    any_of: Option<&'a [ReferenceOr<Schema>]>,
    one_of: Option<&'a [ReferenceOr<Schema>]>,
    not: bool,
}

/// The values of an `enum`: typed for a plain string schema, JSON otherwise.
#[derive(Clone, Copy)]
enum EnumValues<'a> {
    Strings(&'a [Option<String>]),
    Json(&'a [Value]),
}

impl<'a> Facets<'a> {
    fn of(schema: &'a Schema) -> Self {
        let mut facets = Facets {
            type_name: None,
            format: None,
            enum_values: None,
            properties: None,
            required: &[],
            additional_properties: None,
            items: None,
            all_of: &[],
            any_of: None,
            one_of: None,
            not: false,
        };
        let listed = |values: &'a [ReferenceOr<Schema>]| (!values.is_empty()).then_some(values);
        match &schema.schema_kind {
            SchemaKind::Type(Type::String(string)) => {
                facets.type_name = Some("string");
                facets.format = format_name(&string.format, |f| match f {
                    StringFormat::Date => "date",
                    StringFormat::DateTime => "date-time",
                    StringFormat::Password => "password",
                    StringFormat::Byte => "byte",
                    StringFormat::Binary => "binary",
                });
                facets.enum_values = (!string.enumeration.is_empty())
                    .then_some(EnumValues::Strings(&string.enumeration));
            }
            SchemaKind::Type(Type::Number(number)) => {
                facets.type_name = Some("number");
                facets.format = format_name(&number.format, |f| match f {
                    NumberFormat::Float => "float",
                    NumberFormat::Double => "double",
                });
            }
            SchemaKind::Type(Type::Integer(integer)) => {
                facets.type_name = Some("integer");
                facets.format = format_name(&integer.format, |f| match f {
                    IntegerFormat::Int32 => "int32",
                    IntegerFormat::Int64 => "int64",
                });
            }
            SchemaKind::Type(Type::Boolean(_)) => facets.type_name = Some("boolean"),
            SchemaKind::Type(Type::Object(object)) => {
                facets.type_name = Some("object");
                facets.properties = Some(&object.properties);
                facets.required = &object.required;
                facets.additional_properties = object.additional_properties.as_ref();
            }
            SchemaKind::Type(Type::Array(array)) => {
                facets.type_name = Some("array");
                facets.items = array.items.as_ref();
            }
            SchemaKind::OneOf { one_of } => facets.one_of = Some(one_of),
            SchemaKind::AllOf { all_of } => facets.all_of = all_of,
            SchemaKind::AnyOf { any_of } => facets.any_of = Some(any_of),
            SchemaKind::Not { .. } => facets.not = true,
            SchemaKind::Any(any) => {
                facets.type_name = any.typ.as_deref();
                facets.format = any.format.as_deref();
                facets.enum_values =
                    (!any.enumeration.is_empty()).then_some(EnumValues::Json(&any.enumeration));
                facets.properties = Some(&any.properties);
                facets.required = &any.required;
                facets.additional_properties = any.additional_properties.as_ref();
                facets.items = any.items.as_ref();
                facets.all_of = &any.all_of;
                facets.any_of = listed(&any.any_of);
                facets.one_of = listed(&any.one_of);
                facets.not = any.not.is_some();
            }
        }
        facets
    }

    fn has_properties(&self) -> bool {
        self.properties.is_some_and(|p| !p.is_empty())
    }
}

/// A format's name as written in the spec.
fn format_name<T>(
    format: &VariantOrUnknownOrEmpty<T>,
    name: impl Fn(&T) -> &'static str,
) -> Option<&str> {
    match format {
        VariantOrUnknownOrEmpty::Item(known) => Some(name(known)),
        VariantOrUnknownOrEmpty::Unknown(other) => Some(other),
        VariantOrUnknownOrEmpty::Empty => None,
    }
}

struct Lowerer<'a> {
    schemas: &'a IndexMap<String, ReferenceOr<Schema>>,
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
    schema: SchemaNode<'a>,
    pointer: String,
}

/// A lowered schema used in a field, body or alias position.
struct Lowered {
    ty: TypeRef,
    nullable: bool,
    deprecated: bool,
}

impl<'a> Lowerer<'a> {
    fn new(schemas: &'a IndexMap<String, ReferenceOr<Schema>>) -> Result<Self> {
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

    /// The component schema called `name` (which exists).
    fn component(&self, name: &str) -> SchemaNode<'a> {
        SchemaNode::of(&self.schemas[name])
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
        if !name.starts_with("WithTask_") {
            return Ok(None);
        }
        let SchemaNode::Inline(schema) = self.component(name) else {
            return Ok(None);
        };
        let facets = Facets::of(schema);
        let Some(properties) = facets.properties else {
            return Ok(None);
        };
        let task_id_ok = properties.get("task_id").is_some_and(|t| {
            matches!(SchemaNode::of(t), SchemaNode::Inline(s) if Facets::of(s).type_name == Some("string"))
        });
        if properties.len() != 2 || !task_id_ok || !facets.required.iter().any(|r| r == "data") {
            return Ok(None);
        }
        let Some(data) = properties.get("data") else {
            return Ok(None);
        };
        let pointer = format!("{SCHEMAS}{}/properties/data", pointer_token(name));
        // The payload is a reference or an array of references; anything inline would need a
        // synthesized type and is lowered as a plain struct instead.
        let payload = match SchemaNode::of(data) {
            SchemaNode::Ref(reference) => TypeRef::Named(self.resolve_name(reference, &pointer)?),
            SchemaNode::Inline(array) => {
                let facets = Facets::of(array);
                match (facets.type_name, facets.items.map(SchemaNode::of)) {
                    (Some("array"), Some(SchemaNode::Ref(reference))) => TypeRef::Array(Box::new(
                        TypeRef::Named(self.resolve_name(reference, &format!("{pointer}/items"))?),
                    )),
                    _ => return Ok(None),
                }
            }
        };
        Ok(Some(payload))
    }

    /// The Rust name of a `$ref` target (which must be a component schema).
    fn resolve_name(&self, reference: &str, pointer: &str) -> Result<String> {
        let target = self.ref_target(reference, pointer)?;
        Ok(self.rust_names[target].clone())
    }

    fn ref_target(&self, reference: &str, pointer: &str) -> Result<&'a str> {
        let name = reference.strip_prefix(SCHEMAS).ok_or_else(|| {
            CodegenError::invalid(
                pointer,
                format!("`$ref` {reference} does not point into #/components/schemas"),
            )
        })?;
        let name = name.replace("~1", "/").replace("~0", "~");
        self.schemas
            .get_key_value(&name)
            .map(|(k, _)| k.as_str())
            .ok_or_else(|| CodegenError::invalid(pointer, format!("dangling `$ref` {reference}")))
    }

    fn lower_component(&mut self, name: &'a str) -> Result<()> {
        let schema = self.component(name);
        let pointer = format!("{SCHEMAS}{}", pointer_token(name));
        let rust = self.rust_names[name].clone();
        let kind = if let Some(payload) = self.with_task.get(name) {
            TypeKind::Alias {
                target: TypeRef::WithTask(Box::new(payload.clone())),
            }
        } else {
            self.lower_definition(schema, &pointer, &rust)?
        };
        self.insert_type(rust, pointer, true, schema.data(), kind);
        Ok(())
    }

    fn insert_type(
        &mut self,
        name: String,
        origin: String,
        is_component: bool,
        data: Option<&SchemaData>,
        kind: TypeKind,
    ) {
        self.types.insert(
            name.clone(),
            TypeDef {
                name,
                origin,
                is_component,
                doc: data.and_then(|d| doc_of(d.description.as_deref())),
                deprecated: data.is_some_and(|d| d.deprecated),
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
        node: SchemaNode<'a>,
        pointer: &str,
        name: &str,
    ) -> Result<TypeKind> {
        if let SchemaNode::Inline(schema) = node {
            check_supported(schema, pointer)?;
            let facets = Facets::of(schema);
            if let (Some(values), true) = (facets.enum_values, is_string_enum(&facets)) {
                return Ok(TypeKind::Enum {
                    variants: enum_variants(values, pointer)?,
                });
            }
            if union::union_keyword(&facets).is_some()
                && self.union_parts(&facets, pointer)?.1.len() > 1
            {
                return self.lower_union(&facets, pointer, name);
            }
            if is_struct(&facets) {
                let properties = self.collect_properties(node, pointer, &mut Vec::new())?;
                let fields = self.lower_fields(&properties.0, &properties.1, name)?;
                return Ok(TypeKind::Struct { fields });
            }
        }
        let lowered = self.lower_use(node, pointer, name)?;
        Ok(TypeKind::Alias { target: lowered.ty })
    }

    /// The properties of an object schema, merging `allOf` parts (referenced or inline), with
    /// the set of required ones.
    fn collect_properties(
        &self,
        node: SchemaNode<'a>,
        pointer: &str,
        visiting: &mut Vec<String>,
    ) -> Result<(Vec<Property<'a>>, BTreeSet<&'a str>)> {
        let mut properties: Vec<Property<'a>> = Vec::new();
        let mut required: BTreeSet<&'a str> = BTreeSet::new();
        let schema = match node {
            SchemaNode::Ref(reference) => {
                let target = self.ref_target(reference, pointer)?;
                if visiting.iter().any(|v| v == target) {
                    return Err(CodegenError::invalid(
                        pointer,
                        "`allOf` composition refers to itself",
                    ));
                }
                visiting.push(target.to_owned());
                let found = self.collect_properties(
                    self.component(target),
                    &format!("{SCHEMAS}{}", pointer_token(target)),
                    visiting,
                )?;
                visiting.pop();
                return Ok(found);
            }
            SchemaNode::Inline(schema) => schema,
        };
        check_supported(schema, pointer)?;
        let facets = Facets::of(schema);
        for (i, part) in facets.all_of.iter().enumerate() {
            let found = self.collect_properties(
                SchemaNode::of(part),
                &format!("{pointer}/allOf/{i}"),
                visiting,
            )?;
            merge_properties(&mut properties, &mut required, found)?;
        }
        if let Some(own) = facets.properties {
            for wire_name in own.keys() {
                if facets.required.contains(wire_name) {
                    required.insert(wire_name);
                }
            }
            let found = (
                own.iter()
                    .map(|(wire_name, property_schema)| Property {
                        wire_name,
                        schema: SchemaNode::of(property_schema),
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
                doc: property
                    .schema
                    .data()
                    .and_then(|d| doc_of(d.description.as_deref())),
                deprecated: lowered.deprecated,
                ty: lowered.ty,
                required: required.contains(property.wire_name),
                nullable: lowered.nullable,
                repr: Presence::Plain,
                holding: Holding::Inline,
                sensitive,
            });
        }
        Ok(fields)
    }

    /// Lowers a schema in a use position (field, items, body, alias target). Inline objects
    /// and enums become named types called `synthesized`.
    fn lower_use(
        &mut self,
        node: SchemaNode<'a>,
        pointer: &str,
        synthesized: &str,
    ) -> Result<Lowered> {
        let schema = match node {
            SchemaNode::Ref(reference) => {
                let target = self.ref_target(reference, pointer)?;
                let ty = match self.with_task.get(target) {
                    Some(payload) => TypeRef::WithTask(Box::new(payload.clone())),
                    None => TypeRef::Named(self.rust_names[target].clone()),
                };
                let target_nullable = self.component(target).data().is_some_and(|d| d.nullable);
                return Ok(Lowered {
                    ty,
                    nullable: target_nullable,
                    deprecated: false,
                });
            }
            SchemaNode::Inline(schema) => schema,
        };
        check_supported(schema, pointer)?;
        let facets = Facets::of(schema);
        let nullable = schema.schema_data.nullable;
        let deprecated = schema.schema_data.deprecated;
        if union::union_keyword(&facets).is_some() {
            let (keyword, parts) = self.union_parts(&facets, pointer)?;
            if let [single] = parts {
                // One alternative is no choice: that alternative, as `allOf: [X]` is X.
                let inner = self.lower_use(
                    SchemaNode::of(single),
                    &format!("{pointer}/{keyword}/0"),
                    synthesized,
                )?;
                return Ok(Lowered {
                    ty: inner.ty,
                    nullable: nullable || inner.nullable,
                    deprecated: deprecated || inner.deprecated,
                });
            }
            let ty = self.synthesize(node, pointer, synthesized)?;
            return Ok(Lowered {
                ty,
                nullable,
                deprecated,
            });
        }
        // `allOf: [{$ref}]` with `nullable`/`deprecated` beside it is how the spec spells a
        // nullable reference (and what `typed` makes of a `$ref` with siblings); it is not a
        // new type.
        if let [single] = facets.all_of {
            if matches!(single, ReferenceOr::Reference { .. }) && !is_struct(&facets) {
                let inner = self.lower_use(
                    SchemaNode::of(single),
                    &format!("{pointer}/allOf/0"),
                    synthesized,
                )?;
                return Ok(Lowered {
                    ty: inner.ty,
                    nullable: nullable || inner.nullable,
                    deprecated: deprecated || inner.deprecated,
                });
            }
        }
        let ty = if is_string_enum(&facets) || is_struct(&facets) {
            self.synthesize(node, pointer, synthesized)?
        } else {
            // Enums of numbers or booleans are their type (the values are not names).
            match facets.type_name {
                Some("string") => match facets.format {
                    Some("binary") => TypeRef::File,
                    _ => TypeRef::String,
                },
                Some("boolean") => TypeRef::Bool,
                Some("integer") => match facets.format {
                    Some("int32") => TypeRef::I32,
                    _ => TypeRef::I64,
                },
                Some("number") => match facets.format {
                    Some("float") => TypeRef::F32,
                    _ => TypeRef::F64,
                },
                Some("array") => {
                    let items = facets.items.ok_or_else(|| {
                        CodegenError::invalid(pointer, "array schema without `items`")
                    })?;
                    let item = self.lower_use(
                        SchemaNode::of(items),
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
    fn synthesize(&mut self, node: SchemaNode<'a>, pointer: &str, name: &str) -> Result<TypeRef> {
        let rust = names::type_name(name);
        self.claim(&rust, pointer)?;
        let kind = self.lower_definition(node, pointer, &rust)?;
        self.insert_type(rust.clone(), pointer.to_owned(), false, node.data(), kind);
        Ok(TypeRef::Named(rust))
    }
}

/// Objects with declared properties, and `allOf` compositions of several parts.
fn is_struct(facets: &Facets) -> bool {
    let composed = facets.all_of.len() > 1
        || facets
            .all_of
            .iter()
            .any(|p| matches!(p, ReferenceOr::Item(_)));
    facets.has_properties() || composed
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

/// An `enum` of strings (named variants); enums of other types are plain values of the type.
fn is_string_enum(facets: &Facets) -> bool {
    facets.enum_values.is_some() && matches!(facets.type_name, None | Some("string"))
}

/// Constructs the generator does not handle are errors, never silently dropped.
fn check_supported(schema: &Schema, pointer: &str) -> Result<()> {
    let facets = Facets::of(schema);
    for (keyword, present) in [
        ("not", facets.not),
        ("discriminator", schema.schema_data.discriminator.is_some()),
    ] {
        if present {
            return Err(CodegenError::invalid(
                format!("{pointer}/{keyword}"),
                format!("`{keyword}` is not supported"),
            ));
        }
    }
    if let Some(AdditionalProperties::Schema(additional)) = facets.additional_properties {
        let free_form =
            matches!(&**additional, ReferenceOr::Item(schema) if is_empty_schema(schema));
        if !free_form {
            return Err(CodegenError::invalid(
                format!("{pointer}/additionalProperties"),
                "typed `additionalProperties` (maps) are not supported",
            ));
        }
    }
    Ok(())
}

/// `{}`: any value.
fn is_empty_schema(schema: &Schema) -> bool {
    schema.schema_data == SchemaData::default()
        && schema.schema_kind == SchemaKind::Any(Default::default())
}

fn enum_variants(values: EnumValues, pointer: &str) -> Result<Vec<Variant>> {
    let at = format!("{pointer}/enum");
    // Each value as a string, `Ok(None)` for `null`, `Err(())` for anything else.
    let values: Vec<Result<Option<&str>, ()>> = match values {
        EnumValues::Strings(values) => values.iter().map(|v| Ok(v.as_deref())).collect(),
        EnumValues::Json(values) => values
            .iter()
            .map(|v| match v {
                Value::String(text) => Ok(Some(text.as_str())),
                Value::Null => Ok(None),
                _ => Err(()),
            })
            .collect(),
    };
    let mut variants: Vec<Variant> = Vec::with_capacity(values.len());
    for (i, value) in values.into_iter().enumerate() {
        let wire_name = match value {
            Ok(Some(wire_name)) => wire_name,
            // `null` in a nullable enum's value list is not a variant.
            Ok(None) => continue,
            Err(()) => {
                return Err(CodegenError::invalid(
                    format!("{at}/{i}"),
                    "enum value is not a string",
                ))
            }
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

/// Documentation text, when there is any.
fn doc_of(text: Option<&str>) -> Option<String> {
    let text = text?.trim();
    (!text.is_empty()).then(|| text.to_owned())
}
