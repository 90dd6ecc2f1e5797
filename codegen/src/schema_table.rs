//! IR → the API's shape as data ([`cloudtower_schema::ApiSchema`], written as `schema.json`):
//! what drives the mock tower and the command line, so that a regenerated crate brings theirs.
//!
//! Besides the types and operations as they are, it classifies the regular shapes of the API
//! (list, connection, create, update, delete of one resource) from the IR alone, and says how
//! create params and update data map onto the resource's fields.

use std::collections::BTreeMap;

use cloudtower_schema::{
    ApiSchema, FieldMapping, FieldSchema, HeaderSchema, Method, OperationKind, OperationSchema,
    Relation, ResourceSchema, Ty, TypeSchema, Via,
};

use crate::emit::feature_name;
use crate::ir::{Api, Body, Field, HttpMethod, Operation, TypeKind, TypeRef};

/// The table of `api`; `generated` is the header text of the generated files.
pub fn schema_table(api: &Api, generated: &str) -> ApiSchema {
    let types = api
        .types
        .iter()
        .map(|def| (def.name.clone(), type_schema(&def.kind)))
        .collect();
    let resources = resources(api);
    let by_name: BTreeMap<&str, &ResourceSchema> =
        resources.iter().map(|r| (r.name.as_str(), r)).collect();
    let operations = api
        .operations
        .iter()
        .map(|op| operation_schema(api, op, &by_name))
        .collect();
    ApiSchema {
        generated: generated.trim_end().to_owned(),
        title: api.title.clone(),
        version: api.version.clone(),
        types,
        operations,
        resources,
    }
}

/// The table as reviewable JSON: pretty-printed, in a deterministic order, ending in a newline.
pub fn schema_json(table: &ApiSchema) -> String {
    let mut text = serde_json::to_string_pretty(table).expect("the table serializes");
    text.push('\n');
    text
}

fn ty(reference: &TypeRef) -> Ty {
    match reference {
        TypeRef::String => Ty::String,
        TypeRef::Bool => Ty::Bool,
        TypeRef::I32 => Ty::Int32,
        TypeRef::I64 => Ty::Int64,
        TypeRef::F32 => Ty::Float,
        TypeRef::F64 => Ty::Double,
        TypeRef::Json => Ty::Json,
        TypeRef::File => Ty::File,
        TypeRef::Named(name) => Ty::Named(name.clone()),
        TypeRef::Array(inner) => Ty::Array(Box::new(ty(inner))),
        TypeRef::WithTask(inner) => Ty::WithTask(Box::new(ty(inner))),
    }
}

fn fields(fields: &[Field]) -> Vec<FieldSchema> {
    fields
        .iter()
        .map(|f| FieldSchema {
            name: f.wire_name.clone(),
            ty: ty(&f.ty),
            required: f.required,
            nullable: f.nullable,
        })
        .collect()
}

fn type_schema(kind: &TypeKind) -> TypeSchema {
    match kind {
        TypeKind::Struct { fields: f } => TypeSchema::Object { fields: fields(f) },
        TypeKind::Enum { variants } => TypeSchema::Enum {
            values: variants.iter().map(|v| v.wire_name.clone()).collect(),
        },
        TypeKind::Alias { target } => TypeSchema::Alias { target: ty(target) },
        TypeKind::Multipart { fields: f } => TypeSchema::Multipart { fields: fields(f) },
        TypeKind::Query { fields: f } => TypeSchema::Query { fields: fields(f) },
        TypeKind::Union { alternatives, .. } => TypeSchema::Union {
            alternatives: alternatives.iter().map(|a| ty(&a.ty)).collect(),
        },
    }
}

fn field<'a>(api: &'a Api, ty: &str, wire_name: &str) -> Option<&'a Field> {
    api.struct_fields(ty)?
        .iter()
        .find(|f| f.wire_name == wire_name)
}

/// The named type of the request body's field `wire_name`.
fn body_field_type<'a>(api: &'a Api, op: &Operation, wire_name: &str) -> Option<&'a str> {
    let Body::Json(TypeRef::Named(body)) = &op.body else {
        return None;
    };
    field(api, body, wire_name)?.ty.named()
}

/// One resource per item type that a list operation pages through with a `where` filter: the
/// operation that re-reads it by id where there is one, else the first in path order.
fn resources(api: &Api) -> Vec<ResourceSchema> {
    let mut lists: BTreeMap<&str, &Operation> = BTreeMap::new();
    for op in &api.operations {
        let Some(item) = &op.pages_over else { continue };
        if body_field_type(api, op, "where").is_none() {
            continue;
        }
        let better = lists
            .get(item.as_str())
            .is_none_or(|held| held.rereads_by_id.is_none() && op.rereads_by_id.is_some());
        if better {
            lists.insert(item, op);
        }
    }
    let filters: BTreeMap<&str, &str> = lists
        .iter()
        .filter_map(|(item, op)| Some((body_field_type(api, op, "where")?, *item)))
        .collect();
    lists
        .iter()
        .map(|(item, op)| {
            let filter = body_field_type(api, op, "where").unwrap_or_default();
            let relations = api
                .struct_fields(item)
                .unwrap_or_default()
                .iter()
                .filter_map(|f| {
                    let one = field(api, filter, &f.wire_name).and_then(|g| g.ty.named());
                    let many = field(api, filter, &format!("{}_some", f.wire_name))
                        .and_then(|g| g.ty.named());
                    let (target, many) = match (one, many) {
                        (_, Some(t)) => (t, true),
                        (Some(t), None) => (t, false),
                        (None, None) => return None,
                    };
                    Some(Relation {
                        field: f.wire_name.clone(),
                        resource: (*filters.get(target)?).to_owned(),
                        many,
                    })
                })
                .collect();
            ResourceSchema {
                name: (*item).to_owned(),
                list: op.path.clone(),
                connection: op.counted_by.clone(),
                filter: filter.to_owned(),
                order: body_field_type(api, op, "orderBy").map(str::to_owned),
                relations,
            }
        })
        .collect()
}

fn operation_schema(
    api: &Api,
    op: &Operation,
    resources: &BTreeMap<&str, &ResourceSchema>,
) -> OperationSchema {
    let (request, multipart) = match &op.body {
        Body::None => (None, false),
        Body::Json(reference) => (Some(ty(reference)), false),
        Body::Multipart(name) => (Some(Ty::Named(name.clone())), true),
        Body::Query(name) => (Some(Ty::Named(name.clone())), false),
    };
    OperationSchema {
        path: op.path.clone(),
        method: match op.http_method {
            HttpMethod::Get => Method::Get,
            HttpMethod::Post => Method::Post,
        },
        module: feature_name(&op.module),
        method_name: op.method_name.clone(),
        request,
        multipart,
        response: op.response.as_ref().map(ty),
        authenticated: op.authenticated(),
        auth: op.auth.clone(),
        read: op.read,
        headers: op
            .headers
            .iter()
            .map(|h| HeaderSchema {
                name: h.wire_name.clone(),
                required: h.required,
            })
            .collect(),
        content_language: op.content_language,
        since: op.since.first_seen.clone(),
        kind: kind(api, op, resources),
    }
}

/// The resource `[task<X>]` answers are about.
fn task_resource<'a>(
    op: &Operation,
    resources: &BTreeMap<&str, &'a ResourceSchema>,
) -> Option<&'a ResourceSchema> {
    let Some(TypeRef::Array(element)) = &op.response else {
        return None;
    };
    // One resource per task: `task<[X]>` answers are another shape.
    let TypeRef::WithTask(data) = element.as_ref() else {
        return None;
    };
    let TypeRef::Named(data) = data.as_ref() else {
        return None;
    };
    resources.get(data.as_str()).copied()
}

fn kind(api: &Api, op: &Operation, resources: &BTreeMap<&str, &ResourceSchema>) -> OperationKind {
    if let Some(resource) = resources.values().find(|r| r.list == op.path) {
        return OperationKind::List {
            resource: resource.name.clone(),
        };
    }
    if let Some(resource) = resources
        .values()
        .find(|r| r.connection.as_deref() == Some(op.path.as_str()))
    {
        return OperationKind::Connection {
            resource: resource.name.clone(),
        };
    }
    let verb = op.path.split('-').next().unwrap_or_default();
    match verb {
        "create" => {
            let Body::Json(TypeRef::Array(params)) = &op.body else {
                return OperationKind::Other;
            };
            let (Some(params), Some(resource)) = (params.named(), task_resource(op, resources))
            else {
                return OperationKind::Other;
            };
            match mappings(api, params, resource) {
                Some(fields) => OperationKind::Create {
                    resource: resource.name.clone(),
                    fields,
                },
                None => OperationKind::Other,
            }
        }
        "update" => {
            let Some(resource) = task_resource(op, resources) else {
                return OperationKind::Other;
            };
            let selects = body_field_type(api, op, "where") == Some(resource.filter.as_str());
            match body_field_type(api, op, "data").filter(|_| selects) {
                Some(data) => match mappings(api, data, resource) {
                    Some(fields) => OperationKind::Update {
                        resource: resource.name.clone(),
                        fields,
                    },
                    None => OperationKind::Other,
                },
                None => OperationKind::Other,
            }
        }
        "delete" => {
            let (Body::Json(TypeRef::Named(body)), Some(TypeRef::Array(element))) =
                (&op.body, &op.response)
            else {
                return OperationKind::Other;
            };
            let deleted = match element.as_ref() {
                TypeRef::WithTask(data) => match data.as_ref() {
                    TypeRef::Named(data) => Some(data.as_str()),
                    _ => None,
                },
                _ => None,
            };
            let answers_ids = deleted
                .and_then(|d| field(api, d, "id"))
                .is_some_and(|f| f.ty == TypeRef::String);
            // The resource whose filter the body's `where` is (answers hold `{id}` only).
            let filter = body_field_type(api, op, "where");
            let resource = resources
                .values()
                .find(|r| Some(r.filter.as_str()) == filter);
            let only_where = api
                .struct_fields(body)
                .is_some_and(|f| f.iter().all(|f| f.wire_name == "where" || !f.required));
            match resource {
                Some(resource) if answers_ids && only_where => OperationKind::Delete {
                    resource: resource.name.clone(),
                },
                _ => OperationKind::Other,
            }
        }
        _ => OperationKind::Other,
    }
}

/// How the fields of `params` map onto `resource`: a field of the same name and type as it
/// is; `x_id` onto the to-one relation `x`; `x_ids` onto the to-many relation `xs` (or `x`).
/// `None` when `params` is not an object.
fn mappings(api: &Api, params: &str, resource: &ResourceSchema) -> Option<Vec<FieldMapping>> {
    let params = api.struct_fields(params)?;
    let held = api.struct_fields(&resource.name).unwrap_or_default();
    let relation = |name: &str, many: bool| {
        resource
            .relations
            .iter()
            .find(|r| r.field == name && r.many == many)
    };
    let mut out = Vec::new();
    for param in params {
        let name = &param.wire_name;
        let same = held.iter().find(|f| &f.wire_name == name);
        let mapping = if let Some(same) = same.filter(|f| f.ty == param.ty) {
            // A relation field holds nested objects, never a param's value as it is.
            (relation(&same.wire_name, false).is_none()
                && relation(&same.wire_name, true).is_none())
            .then(|| (same.wire_name.clone(), Via::Value))
        } else if let Some(base) = name.strip_suffix("_ids") {
            [format!("{base}s"), base.to_owned()]
                .into_iter()
                .find_map(|f| relation(&f, true))
                .filter(|_| param.ty == TypeRef::Array(Box::new(TypeRef::String)))
                .map(|r| {
                    let via = Via::References {
                        resource: r.resource.clone(),
                    };
                    (r.field.clone(), via)
                })
        } else if let Some(base) = name.strip_suffix("_id") {
            relation(base, false)
                .filter(|_| param.ty == TypeRef::String)
                .map(|r| {
                    let via = Via::Reference {
                        resource: r.resource.clone(),
                    };
                    (r.field.clone(), via)
                })
        } else {
            None
        };
        if let Some((field, via)) = mapping {
            out.push(FieldMapping {
                param: name.clone(),
                field,
                via,
            });
        }
    }
    Some(out)
}
