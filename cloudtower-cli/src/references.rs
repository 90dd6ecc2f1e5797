//! The `*_id` and `*_ids` fields of create params and update data, given an id, a local id
//! or a name: each is resolved to the id of the resource it refers to, as `get` resolves
//! its keys (the SDK's `Client::resolve`), before the request is sent. Which fields refer to
//! which resource is the table's fact (`FieldMapping` with `Via::Reference(s)`).

use std::collections::HashMap;

use cloudtower_api::Client;
use cloudtower_schema::{OperationKind, OperationSchema, ResourceSchema, Via};
use serde_json::Value;

use crate::context::Context;
use crate::dynamic;
use crate::failure::{Failure, Result};
use crate::schema::api;

/// A field of an operation's params that holds the id (or ids) of another resource.
#[derive(Clone, Copy, Debug)]
pub struct Reference {
    /// The field (`cluster_id`).
    pub param: &'static str,
    /// The resource it refers to (`Cluster`).
    pub resource: &'static ResourceSchema,
    /// A list of ids (`label_ids`).
    pub many: bool,
}

/// The reference fields of a create or update operation (none for any other).
pub fn references(operation: &'static OperationSchema) -> Vec<Reference> {
    let fields = match &operation.kind {
        OperationKind::Create { fields, .. } | OperationKind::Update { fields, .. } => fields,
        _ => return Vec::new(),
    };
    fields
        .iter()
        .filter_map(|mapping| {
            let (resource, many) = match &mapping.via {
                Via::Reference { resource } => (resource, false),
                Via::References { resource } => (resource, true),
                Via::Value => return None,
            };
            Some(Reference {
                param: &mapping.param,
                resource: api().resource(resource)?,
                many,
            })
        })
        .collect()
}

/// A value of a reference field that was not an id, and the id it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// Where it is in the body (`/0/cluster_id`, `/data/vm_ids/1`).
    pub pointer: String,
    pub given: String,
    pub id: String,
}

/// Why a reference could not be resolved: none or several resources have the value.
#[derive(Debug)]
pub struct Unresolved {
    pub pointer: String,
    pub error: cloudtower_api::Error,
}

/// Replaces each id, local id or name in the reference fields of `body` (create params:
/// each element of the list; update: its `data`) with the id of the resource it names.
/// Returns those that were not ids already. Values that are not strings are left for the
/// request check to name.
pub async fn resolve(
    client: &Client,
    operation: &'static OperationSchema,
    body: &mut Value,
) -> std::result::Result<Vec<Resolved>, Unresolved> {
    let references = references(operation);
    if references.is_empty() {
        return Ok(Vec::new());
    }
    // The objects holding the params, with their pointers.
    let mut holders: Vec<(String, &mut Value)> = Vec::new();
    let (prefix, params) = match &operation.kind {
        OperationKind::Update { .. } => ("/data", body.get_mut("data")),
        _ => ("", Some(body)),
    };
    match params {
        Some(Value::Array(items)) => {
            for (i, item) in items.iter_mut().enumerate() {
                holders.push((format!("{prefix}/{i}"), item));
            }
        }
        Some(object @ Value::Object(_)) => holders.push((prefix.to_owned(), object)),
        _ => {}
    }
    let mut known: HashMap<(&str, String), String> = HashMap::new();
    let mut resolved = Vec::new();
    for (pointer, holder) in holders {
        for reference in &references {
            let Some(value) = holder.get_mut(reference.param) else {
                continue;
            };
            let at = format!("{pointer}/{}", reference.param);
            let slots: Vec<(String, &mut Value)> = match value {
                Value::Array(ids) if reference.many => ids
                    .iter_mut()
                    .enumerate()
                    .map(|(i, id)| (format!("{at}/{i}"), id))
                    .collect(),
                single => vec![(at, single)],
            };
            for (pointer, slot) in slots {
                let Some(given) = slot.as_str().map(str::to_owned) else {
                    continue;
                };
                let cache_key = (reference.resource.name.as_str(), given.clone());
                let id = match known.get(&cache_key) {
                    Some(id) => id.clone(),
                    None => {
                        let item = dynamic::resolve(client, reference.resource, &given)
                            .await
                            .map_err(|error| Unresolved {
                                pointer: pointer.clone(),
                                error,
                            })?;
                        let id = item.id().to_owned();
                        known.insert(cache_key, id.clone());
                        id
                    }
                };
                if id != given {
                    *slot = Value::String(id.clone());
                    resolved.push(Resolved { pointer, given, id });
                }
            }
        }
    }
    Ok(resolved)
}

/// [`resolve`] for a command: a value nothing or several resources have is refused, naming
/// the field (exit 4 for nothing, 2 for several, with their ids).
pub async fn resolve_for_command(
    context: &mut Context,
    operation: &'static OperationSchema,
    body: &mut Value,
) -> Result<()> {
    if references(operation).is_empty() {
        return Ok(());
    }
    let client = context.client().await?;
    match resolve(&client, operation, body).await {
        Ok(_) => Ok(()),
        Err(Unresolved { pointer, error }) => Err(Failure::At {
            pointer,
            failure: Box::new(context.failure(error)),
        }),
    }
}
