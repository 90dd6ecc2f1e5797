//! Which resources a verb acts on: the ones named (each by id, local id or exact name, as the
//! SDK's `Client::resolve` finds them), else those a filter (`--where`, `--where-json`)
//! selects.

use cloudtower_schema::{ResourceSchema, Ty};
use serde_json::{json, Map, Value};

use crate::body::{merge, parse_json, refuse, set_pair};
use crate::context::Context;
use crate::dynamic::{self, DynItem};
use crate::failure::{Failure, Result};
use crate::schema::api;

/// A filter of `resource` from its JSON form and `key=value` pairs over it (each checked
/// against the resource's filter type), if either is given.
pub fn filter(
    resource: &ResourceSchema,
    json: Option<&str>,
    pairs: &[String],
) -> Result<Option<Value>> {
    let mut filter: Option<Value> = None;
    if let Some(json) = json {
        filter = Some(parse_json("where-json", json)?);
    }
    if !pairs.is_empty() {
        let mut object = Map::new();
        for pair in pairs {
            set_pair(&mut object, &resource.filter, pair)?;
        }
        let target = filter.get_or_insert_with(|| Value::Object(Map::new()));
        merge(target, Value::Object(object));
    }
    if let Some(filter) = &filter {
        let mismatches = api().check_all(filter, &Ty::Named(resource.filter.clone()));
        refuse("invalid filter", &mismatches)?;
    }
    Ok(filter)
}

/// The resources named by the keys, each by id, local id or exact name: one each, or an
/// error saying which is missing or ambiguous.
pub async fn resolve_all(
    context: &mut Context,
    resource: &'static ResourceSchema,
    keys: &[String],
) -> Result<Vec<DynItem>> {
    let mut items = Vec::with_capacity(keys.len());
    for key in keys {
        items.push(resolve_one(context, resource, key).await?);
    }
    Ok(items)
}

/// The one resource whose id, local id or exact name is `key` (the SDK's `Client::resolve`:
/// none is `WorkflowError::NotFound`, exit 4; several are `WorkflowError::Ambiguous`, exit 2).
pub async fn resolve_one(
    context: &mut Context,
    resource: &'static ResourceSchema,
    key: &str,
) -> Result<DynItem> {
    let client = context.client().await?;
    dynamic::resolve(&client, resource, key)
        .await
        .map_err(|error| context.failure(error))
}

/// The `where` of a verb: the resources named, else the filter (its JSON form and pairs,
/// read only when no resource is named); one of them is needed.
pub async fn select(
    context: &mut Context,
    resource: &'static ResourceSchema,
    keys: &[String],
    json: Option<&str>,
    pairs: &[String],
) -> Result<Value> {
    if !keys.is_empty() {
        let ids: Vec<String> = resolve_all(context, resource, keys)
            .await?
            .iter()
            .map(|item| item.id().to_owned())
            .collect();
        return Ok(json!({ "id_in": ids }));
    }
    filter(resource, json, pairs)?.ok_or_else(|| {
        Failure::Usage(format!(
            "name the {}s (id, local id or name), or select them with --where",
            resource.name
        ))
    })
}
