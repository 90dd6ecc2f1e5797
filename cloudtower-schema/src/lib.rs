//! The shape of the CloudTower API as data: every type with its wire fields, every operation
//! with its request and response, and the resources the regular operations list, create,
//! update and delete.
//!
//! The generator (`cloudtower-codegen`) writes this table from its intermediate representation
//! as `schema.json` beside the generated code of `cloudtower-api`, which embeds it (feature
//! `schema`, [`ApiSchema::parse`] reads it). What reads it is driven by the spec a crate was
//! generated from instead of by hand-written code per operation: the mock tower
//! (`cloudtower-mock`) and the command line. A regenerated crate brings its own table.
//!
//! Names are the generated Rust type names; field names are the names on the wire.

#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

mod check;
pub use check::{json_kind, Mismatch, MAX_CHECK_DEPTH};

/// The whole table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiSchema {
    /// What generated it, from which spec, and how to regenerate it (the generated-file header).
    pub generated: String,
    /// The spec's `info.title` (`CloudTower APIs`).
    pub title: String,
    /// The spec's `info.version` (`4.6.0`).
    pub version: String,
    /// Every named type, by its generated Rust name.
    pub types: BTreeMap<String, TypeSchema>,
    /// Every operation, sorted by path.
    pub operations: Vec<OperationSchema>,
    /// Every resource (a type some operation lists with a `where` filter), sorted by name.
    pub resources: Vec<ResourceSchema>,
}

/// One named type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TypeSchema {
    /// A JSON object with declared properties.
    Object {
        /// In the spec's order.
        fields: Vec<FieldSchema>,
    },
    /// A string enum.
    Enum {
        /// The values on the wire.
        values: Vec<String>,
    },
    /// Another name for a type.
    Alias {
        /// What it names.
        target: Ty,
    },
    /// A value of one of several types (`anyOf`/`oneOf`).
    Union {
        /// The alternatives.
        alternatives: Vec<Ty>,
    },
    /// The fields of a `multipart/form-data` body.
    Multipart {
        /// The form fields.
        fields: Vec<FieldSchema>,
    },
    /// The query parameters of a `GET` operation.
    Query {
        /// The parameters.
        fields: Vec<FieldSchema>,
    },
}

impl TypeSchema {
    /// The fields of an object (or multipart body, or query).
    pub fn fields(&self) -> Option<&[FieldSchema]> {
        match self {
            TypeSchema::Object { fields }
            | TypeSchema::Multipart { fields }
            | TypeSchema::Query { fields } => Some(fields),
            _ => None,
        }
    }
}

/// A field of an object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldSchema {
    /// The name on the wire.
    pub name: String,
    /// Its type.
    pub ty: Ty,
    /// The object must have it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// It may be `null`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nullable: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// The type of a field, a body or an alias. Written as a string in the table: `string`,
/// `boolean`, `int32`, `int64`, `float`, `double`, `json` (anything), `file`, a type name,
/// `[T]` (an array of `T`) and `task<T>` (`{task_id, data: T}`, a mutation's answer).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ty {
    /// A JSON string.
    String,
    /// `true` or `false`.
    Bool,
    /// A 32-bit integer.
    Int32,
    /// A 64-bit integer.
    Int64,
    /// A 32-bit float.
    Float,
    /// A 64-bit float.
    Double,
    /// Any JSON value.
    Json,
    /// A file (multipart bodies).
    File,
    /// A named type of [`ApiSchema::types`].
    Named(String),
    /// An array.
    Array(Box<Ty>),
    /// `WithTask<T>`: `{"task_id": string | null, "data": T}`.
    WithTask(Box<Ty>),
}

impl Ty {
    /// The named type this mentions (inside arrays and tasks), if any.
    pub fn named(&self) -> Option<&str> {
        match self {
            Ty::Named(name) => Some(name),
            Ty::Array(inner) | Ty::WithTask(inner) => inner.named(),
            _ => None,
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::String => f.write_str("string"),
            Ty::Bool => f.write_str("boolean"),
            Ty::Int32 => f.write_str("int32"),
            Ty::Int64 => f.write_str("int64"),
            Ty::Float => f.write_str("float"),
            Ty::Double => f.write_str("double"),
            Ty::Json => f.write_str("json"),
            Ty::File => f.write_str("file"),
            Ty::Named(name) => f.write_str(name),
            Ty::Array(inner) => write!(f, "[{inner}]"),
            Ty::WithTask(inner) => write!(f, "task<{inner}>"),
        }
    }
}

/// A [`Ty`] string that is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TyParseError(pub String);

impl fmt::Display for TyParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a type: {:?}", self.0)
    }
}

impl std::error::Error for TyParseError {}

impl FromStr for Ty {
    type Err = TyParseError;

    fn from_str(text: &str) -> Result<Ty, TyParseError> {
        let bad = || TyParseError(text.to_owned());
        Ok(match text {
            "string" => Ty::String,
            "boolean" => Ty::Bool,
            "int32" => Ty::Int32,
            "int64" => Ty::Int64,
            "float" => Ty::Float,
            "double" => Ty::Double,
            "json" => Ty::Json,
            "file" => Ty::File,
            _ => {
                if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
                    Ty::Array(Box::new(inner.parse().map_err(|_| bad())?))
                } else if let Some(inner) =
                    text.strip_prefix("task<").and_then(|t| t.strip_suffix('>'))
                {
                    Ty::WithTask(Box::new(inner.parse().map_err(|_| bad())?))
                } else if !text.is_empty()
                    && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    Ty::Named(text.to_owned())
                } else {
                    return Err(bad());
                }
            }
        })
    }
}

impl Serialize for Ty {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ty {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Ty, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The HTTP method of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// `GET` (query parameters).
    Get,
    /// `POST` (a JSON or multipart body).
    Post,
}

/// One operation: `POST /v2/api/<path>` (or `GET`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationSchema {
    /// The path under `/v2/api/` (`get-vms`).
    pub path: String,
    /// `POST` or `GET`.
    pub method: Method,
    /// The spec module (tag), as the cargo feature names it (`vm-snapshot`).
    pub module: String,
    /// The generated method's name (`get_vms`).
    pub method_name: String,
    /// The request body: a JSON type, or the named multipart or query type. `None`: no body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Ty>,
    /// The request is `multipart/form-data` (`request` names a [`TypeSchema::Multipart`]).
    #[serde(default, skip_serializing_if = "is_false")]
    pub multipart: bool,
    /// The 200 answer; `None` when it has no content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Ty>,
    /// It needs the `Authorization` header.
    pub authenticated: bool,
    /// The spec's security scheme for it (`Authorization`, `Basic`); `None` without
    /// credentials. The SDK sends the session's credentials in `Authorization` for either.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
    /// It changes nothing on the tower, so a transient failure may be retried. The one
    /// decision of it: the SDK's methods, the command line and the mock all read it from the
    /// generated table.
    #[serde(default, skip_serializing_if = "is_false")]
    pub read: bool,
    /// Its header parameters besides `content-language` (`external-cloudtower-id` since
    /// CloudTower 4.8.0).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderSchema>,
    /// It declares the `content-language` header.
    #[serde(default, skip_serializing_if = "is_false")]
    pub content_language: bool,
    /// The oldest published version known to have it.
    pub since: String,
    /// What it does to which resource, where it is one of the regular shapes.
    pub kind: OperationKind,
}

/// A header parameter of an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderSchema {
    /// Lower case, as the spec names it (`external-cloudtower-id`).
    pub name: String,
    /// Every call must send it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
}

/// What an operation does, for the regular shapes of the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OperationKind {
    /// `get-X`: `{where, orderBy, first, after, before, last, skip}` → `[X]`.
    List {
        /// The resource listed.
        resource: String,
    },
    /// `get-X-connection`: the same query → `{aggregate: {count}}`.
    Connection {
        /// The resource counted.
        resource: String,
    },
    /// `create-X`: `[params]` → `[task<X>]`, one resource per element.
    Create {
        /// The resource created.
        resource: String,
        /// How the params' fields map onto the resource's.
        fields: Vec<FieldMapping>,
    },
    /// `update-X`: `{where, data}` → `[task<X>]`, the data applied to every resource matched.
    Update {
        /// The resource updated.
        resource: String,
        /// How the data's fields map onto the resource's.
        fields: Vec<FieldMapping>,
    },
    /// `delete-X`: `{where}` → `[task<{id}>]`, every resource matched deleted.
    Delete {
        /// The resource deleted.
        resource: String,
    },
    /// Anything else: its effect is not one of the shapes above.
    Other,
}

impl OperationKind {
    /// The resource of a regular operation.
    pub fn resource(&self) -> Option<&str> {
        match self {
            OperationKind::List { resource }
            | OperationKind::Connection { resource }
            | OperationKind::Create { resource, .. }
            | OperationKind::Update { resource, .. }
            | OperationKind::Delete { resource } => Some(resource),
            OperationKind::Other => None,
        }
    }
}

/// How one field of create params or update data maps onto a field of the resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldMapping {
    /// The field of the params (`cluster_id`).
    pub param: String,
    /// The resource's field it sets (`cluster`).
    pub field: String,
    /// How the value is carried over.
    pub via: Via,
}

/// How a param's value becomes the resource field's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Via {
    /// As it is.
    Value,
    /// An id (`cluster_id`) of a resource, held as the nested `{id, name}` of it.
    Reference {
        /// The resource referred to.
        resource: String,
    },
    /// Ids (`label_ids`) of resources, held as a list of their nested `{id, name}`.
    References {
        /// The resource referred to.
        resource: String,
    },
}

/// A resource: a type some operation lists with a `where` filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceSchema {
    /// Its type (`Vm`).
    pub name: String,
    /// The operation listing it (`get-vms`).
    pub list: String,
    /// The operation counting it (`get-vms-connection`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    /// Its filter type (`VmWhereInput`).
    pub filter: String,
    /// Its order type (`VmOrderByInput`: `<field>_ASC`, `<field>_DESC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    /// The fields that hold other resources (`cluster: {id, name}`, `labels: [{id, name}]`).
    pub relations: Vec<Relation>,
}

/// A field of a resource that holds (the nested form of) other resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relation {
    /// The field (`cluster`, `labels`).
    pub field: String,
    /// The resource it holds (`Cluster`, `Label`).
    pub resource: String,
    /// A list of them (filtered with `_some`, `_every`, `_none`).
    pub many: bool,
}

impl ApiSchema {
    /// Reads the table (the generator's `schema.json`).
    pub fn parse(json: &str) -> Result<ApiSchema, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The operation at `path`.
    pub fn operation(&self, path: &str) -> Option<&OperationSchema> {
        self.operations
            .binary_search_by(|o| o.path.as_str().cmp(path))
            .ok()
            .map(|i| &self.operations[i])
    }

    /// The resource named `name`.
    pub fn resource(&self, name: &str) -> Option<&ResourceSchema> {
        self.resources
            .binary_search_by(|r| r.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.resources[i])
    }

    /// The type named `name`, aliases followed.
    pub fn resolve(&self, name: &str) -> Option<&TypeSchema> {
        let mut current = self.types.get(name)?;
        // Bounded: a cycle of aliases is not a type.
        for _ in 0..16 {
            match current {
                TypeSchema::Alias {
                    target: Ty::Named(next),
                } => current = self.types.get(next)?,
                other => return Some(other),
            }
        }
        None
    }

    /// The fields of the object type `name` (aliases followed).
    pub fn fields(&self, name: &str) -> Option<&[FieldSchema]> {
        self.resolve(name)?.fields()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_read_back_as_written() {
        for text in [
            "string",
            "int64",
            "Vm",
            "[Vm]",
            "task<Vm>",
            "[task<DeleteVm>]",
            "[[string]]",
        ] {
            let ty: Ty = text.parse().unwrap();
            assert_eq!(ty.to_string(), text);
        }
        assert_eq!("[task<Vm>]".parse::<Ty>().unwrap().named(), Some("Vm"));
        for bad in ["", "[Vm", "task<>", "Vm Vm", "a-b"] {
            assert!(bad.parse::<Ty>().is_err(), "{bad}");
        }
    }
}
