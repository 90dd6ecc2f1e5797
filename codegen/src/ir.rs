//! The intermediate representation: what the API is, in Rust terms, without any JSON or tokens.
//!
//! Every list is sorted (types by name, operations by path), so emission is deterministic
//! whatever order the spec documents listed things in.

use std::collections::BTreeSet;

/// The whole API.
#[derive(Debug, Clone, PartialEq)]
pub struct Api {
    pub title: String,
    pub version: String,
    /// Sorted by `name`.
    pub types: Vec<TypeDef>,
    /// Sorted by `path`.
    pub operations: Vec<Operation>,
    /// How many `components/schemas` entries the spec has (each is one of `types`).
    pub schema_count: usize,
}

/// One named Rust type.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeDef {
    /// The Rust name (UpperCamelCase, unique).
    pub name: String,
    /// Where it comes from: `#/components/schemas/Vm`, or the pointer of an inline schema.
    pub origin: String,
    /// Whether it is a component schema (as opposed to an inline one given a name).
    pub is_component: bool,
    pub doc: Option<String>,
    pub deprecated: bool,
    pub kind: TypeKind,
    /// Which codec directions the API needs (request bodies encode, responses decode).
    pub usage: Usage,
    /// The spec modules (tags) whose operations reach this type through non-cycle fields, in
    /// their snake_case form. Empty for types no operation reaches.
    pub modules: BTreeSet<String>,
    /// Reached (through non-cycle fields) from an always-on operation.
    pub always_on: bool,
    /// The operations whose request or response reaches this type through non-cycle fields,
    /// sorted (directly used first, then by path, requests before responses).
    pub used_by: Vec<OperationUse>,
}

/// How one operation uses a type (for the type's documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationUse {
    /// The type is the request body or the response itself (in a `Vec` or `WithTask` at
    /// most), rather than reached through the fields of other types.
    pub direct: bool,
    /// The operation's path (`get-vms`).
    pub path: String,
    /// In the request (else in the response).
    pub request: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Reached from a request body: needs encoding.
    pub request: bool,
    /// Reached from a response: needs decoding.
    pub response: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TypeKind {
    /// An object with declared properties.
    Struct { fields: Vec<Field> },
    /// A string enum; unknown values are kept in a catch-all variant.
    Enum { variants: Vec<Variant> },
    /// Another name for a type (scalar and array aliases, `$ref` aliases, `WithTask_X_`).
    Alias { target: TypeRef },
    /// The fields of a `multipart/form-data` request body.
    Multipart { fields: Vec<Field> },
    /// The query parameters of a `GET` operation.
    Query { fields: Vec<Field> },
    /// An `anyOf`/`oneOf`: a value of one of several types.
    Union {
        alternatives: Vec<Alternative>,
        /// Every alternative has its own [`Shape`] on the wire: a Rust enum, decoded by
        /// looking at the value once. Otherwise the JSON is kept, read on demand.
        told_apart: bool,
    },
}

/// One alternative of a [`TypeKind::Union`].
#[derive(Debug, Clone, PartialEq)]
pub struct Alternative {
    /// The Rust variant name (UpperCamelCase, unique within the union).
    pub name: String,
    pub ty: TypeRef,
    pub shape: Shape,
}

/// What a value looks like on the wire, as far as telling union alternatives apart goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    Bool,
    /// Integers and numbers alike.
    Number,
    String,
    Array,
    /// An object; `markers` are the keys it requires that no other object alternative of
    /// its union declares (empty when it is the union's only object alternative).
    Object {
        markers: Vec<String>,
    },
    /// Anything (free-form JSON): cannot be told apart from any other alternative.
    Any,
}

/// A struct field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The Rust field name; a raw identifier (`r#type`) where it is a keyword.
    pub name: String,
    /// The name on the wire.
    pub wire_name: String,
    pub doc: Option<String>,
    pub deprecated: bool,
    pub ty: TypeRef,
    pub required: bool,
    pub nullable: bool,
    /// How presence and `null` are represented.
    pub repr: Presence,
    /// How the value is held: inline, boxed, or (linking two types of one cycle) as JSON.
    pub holding: Holding,
    /// Holds a credential (password, secret, token, …): never shown by `Debug`.
    pub sensitive: bool,
}

/// How a field holds its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holding {
    /// By value: `T`.
    Inline,
    /// `Box<T>`: a large struct that would make its owner too large to build on a stack.
    Boxed,
    /// `Related<T>`, encoded JSON: links two types of one cycle of types containing each other
    /// by value (the `*WhereInput` filters).
    Related,
}

impl Field {
    /// Whether the field links two types of one cycle (see [`Holding::Related`]).
    pub fn in_cycle(&self) -> bool {
        self.holding == Holding::Related
    }
}

/// How a field's presence and nullability are represented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Always present, never null: `T`.
    Plain,
    /// `Option<T>`: absent (or null, in responses) is `None`.
    Optional,
    /// `Option<T>` on a required nullable request field: `None` is sent as `null`.
    RequiredNullable,
    /// `Nullable<T>`: a request field that can be absent, `null` or a value.
    Nullable,
}

/// A string enum value.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// The Rust variant name (UpperCamelCase, unique within the enum).
    pub name: String,
    pub wire_name: String,
}

/// The type of a field, a body, or an alias.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TypeRef {
    String,
    Bool,
    I32,
    I64,
    F32,
    F64,
    /// Free-form JSON.
    Json,
    /// A file in a multipart body.
    File,
    /// A named type of this API.
    Named(String),
    Array(Box<TypeRef>),
    /// `WithTask<T>`.
    WithTask(Box<TypeRef>),
}

impl TypeRef {
    /// The named types this reference mentions.
    pub fn named(&self) -> Option<&str> {
        match self {
            TypeRef::Named(name) => Some(name),
            TypeRef::Array(inner) | TypeRef::WithTask(inner) => inner.named(),
            _ => None,
        }
    }

    /// A short, stable rendering for inventories and summaries (`Vec<Vm>`, `WithTask<Task>`).
    pub fn describe(&self) -> String {
        match self {
            TypeRef::String => "String".into(),
            TypeRef::Bool => "bool".into(),
            TypeRef::I32 => "i32".into(),
            TypeRef::I64 => "i64".into(),
            TypeRef::F32 => "f32".into(),
            TypeRef::F64 => "f64".into(),
            TypeRef::Json => "Json".into(),
            TypeRef::File => "File".into(),
            TypeRef::Named(name) => name.clone(),
            TypeRef::Array(inner) => format!("Vec<{}>", inner.describe()),
            TypeRef::WithTask(inner) => format!("WithTask<{}>", inner.describe()),
        }
    }
}

/// One API operation: one generated method.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// The spec's `operationId`.
    pub id: String,
    /// The method name (snake_case of the operation id, unless [`Self::renamed`]).
    pub method_name: String,
    /// Why the method is not named after the operation id (another operation has that id,
    /// or the hand-written client that name): shown as a warning and in the inventory.
    pub renamed: Option<String>,
    /// The path under `/v2/api/`, without the leading slash (`get-vms`).
    pub path: String,
    pub http_method: HttpMethod,
    /// The spec module (tag) in snake_case.
    pub module: String,
    pub doc: Option<String>,
    pub deprecated: bool,
    pub body: Body,
    /// The 200 response; `None` when it has no content.
    pub response: Option<TypeRef>,
    /// The operation may answer 304 Not Modified (no content, not an error).
    pub not_modified: bool,
    /// The security scheme the spec names for it (`Authorization`, `Basic`): the session's
    /// credentials go in the `Authorization` header. `None`: sent without credentials
    /// (`security: []`: login, the version).
    pub auth: Option<String>,
    /// It changes nothing on the tower, so a transient failure may be retried: decided once,
    /// here, for the SDK, the command line and the mock alike (see `lower::operations`).
    pub read: bool,
    /// Its header parameters, besides `content-language` (which the client sends on every
    /// call it is configured for): `external-cloudtower-id` since 4.8.0.
    pub headers: Vec<HeaderParameter>,
    /// It declares the `content-language` header.
    pub content_language: bool,
    /// The hand-written client layer needs it (login, task polling): never behind a feature.
    pub always_on: bool,
    /// For a list operation that pages with `first` + `after` over items with an `id`: the
    /// item type. Set on the first such operation (in path order) of each request body type.
    pub pages_over: Option<String>,
    /// For a list operation: the path of the `*-connection` operation of its module that counts
    /// what it lists (same `where` type, answering `{aggregate: {count}}`).
    pub counted_by: Option<String>,
    /// For one list operation per item type whose filter has `id_in`: that filter type, to
    /// re-read items by id.
    pub rereads_by_id: Option<String>,
    /// Since which published version the operation exists (from the committed version
    /// history; [`crate::history::History::annotate`] sets it after lowering).
    pub since: Since,
}

/// A header parameter of an operation (a string on the wire).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderParameter {
    /// The header's name as the spec spells it (`external-cloudtower-id`).
    pub wire_name: String,
    /// The call must send it.
    pub required: bool,
    pub doc: Option<String>,
}

impl Operation {
    /// Whether it is sent with the session's credentials.
    pub fn authenticated(&self) -> bool {
        self.auth.is_some()
    }
}

/// Since which published CloudTower version an operation exists, as the version history
/// (`spec/history.txt`) tells it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Since {
    /// The oldest obtainable published version whose spec has it; the generated spec's own
    /// version when the history does not know the operation.
    pub first_seen: String,
    /// The newest obtainable published version before `first_seen` (whose spec lacks it);
    /// `None` when none is older (the oldest obtainable spec has it).
    pub last_absent: Option<String>,
    /// Published versions between `last_absent` and `first_seen` whose spec cannot be
    /// obtained: the operation may have been added in any of them.
    pub unobtainable_between: Vec<String>,
    /// Obtainable versions after `first_seen` whose spec lacks it (removed, at least for a
    /// while).
    pub absent_from: Vec<String>,
    /// Whether the history knows the operation (it does not for a spec newer than it).
    pub in_history: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Post,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    None,
    Json(TypeRef),
    /// A `multipart/form-data` body; the named type is a [`TypeKind::Multipart`].
    Multipart(String),
    /// Query parameters; the named type is a [`TypeKind::Query`].
    Query(String),
}

impl Api {
    pub fn type_named(&self, name: &str) -> Option<&TypeDef> {
        self.type_index(name).map(|i| &self.types[i])
    }

    /// The position of the named type in `types`.
    pub fn type_index(&self, name: &str) -> Option<usize> {
        self.types
            .binary_search_by(|t| t.name.as_str().cmp(name))
            .ok()
    }

    /// The fields of the named type, when it is a plain struct.
    pub fn struct_fields(&self, name: &str) -> Option<&[Field]> {
        match &self.type_named(name)?.kind {
            TypeKind::Struct { fields } => Some(fields),
            _ => None,
        }
    }

    /// The spec modules (snake_case tags) with at least one operation, sorted.
    pub fn modules(&self) -> BTreeSet<&str> {
        self.operations.iter().map(|o| o.module.as_str()).collect()
    }
}
