//! The SDK's generic workflows (pagination, counting, re-reading by id, resolving a name)
//! over resources known only from the table: list requests and items as JSON, and the
//! resource they are of as the workflow traits' `DynamicType`, [`DynResource`], given to the
//! client's `*_with` methods (`Client::resolve_with`, `paginate_with`, …). Each workflow
//! carries its own resource: workflows on different resources run at once.

use cloudtower_api::codec::{Decode, DecodeError, Decoder};
use cloudtower_api::pagination::{CountRequest, ListRequest};
use cloudtower_api::resolve::{Resolve, ResolveKey};
use cloudtower_api::{ApiRequest, ApiResponse, Client, Error, RereadById};
use cloudtower_schema::ResourceSchema;
use serde_json::{json, Map, Value};

use crate::schema::field;

/// The one resource of `resource` whose id, local id or exact name is `key`
/// (the SDK's `Client::resolve`).
pub async fn resolve(
    client: &Client,
    resource: &'static ResourceSchema,
    key: &str,
) -> Result<DynItem, Error> {
    client.resolve_with(&DynResource::new(resource), key).await
}

/// The resources `items` of `resource` as they are now (the SDK's `Client::reread`).
pub async fn reread(
    client: &Client,
    resource: &'static ResourceSchema,
    items: &[DynItem],
) -> Result<Vec<DynItem>, Error> {
    client.reread_with(&DynResource::new(resource), items).await
}

/// A resource of the table as the SDK's workflows need it: the `DynamicType` of [`DynList`]
/// and [`DynItem`].
#[derive(Clone, Copy, Debug)]
pub struct DynResource {
    schema: &'static ResourceSchema,
    /// The keys its filter has, in the order they win.
    keys: &'static [ResolveKey],
}

impl DynResource {
    /// The resource `schema` of the table, with the keys its filter has.
    pub fn new(schema: &'static ResourceSchema) -> DynResource {
        let has = |key: ResolveKey| usize::from(field(&schema.filter, key.as_str()).is_some());
        let set = has(ResolveKey::Id) | has(ResolveKey::LocalId) << 1 | has(ResolveKey::Name) << 2;
        DynResource {
            schema,
            keys: KEY_SETS[set],
        }
    }
}

/// Each ordered set of the resolve keys, by bits (`id` 1, `local_id` 2, `name` 4): a
/// resource's keys are `'static` (its errors name them) without being leaked.
const KEY_SETS: [&[ResolveKey]; 8] = {
    use ResolveKey::{Id, LocalId, Name};
    [
        &[],
        &[Id],
        &[LocalId],
        &[Id, LocalId],
        &[Name],
        &[Id, Name],
        &[LocalId, Name],
        &[Id, LocalId, Name],
    ]
};

/// A list operation's request body as JSON; which operation is its [`DynResource`]'s.
#[derive(Clone, Debug)]
pub struct DynList {
    pub body: Map<String, Value>,
}

impl DynList {
    /// A list request with `where`.
    pub fn new(filter: Option<Value>) -> DynList {
        let mut body = Map::new();
        if let Some(filter) = filter {
            body.insert("where".into(), filter);
        }
        DynList { body }
    }
}

/// An item of a list: a resource as JSON, with an `id`.
#[derive(Clone, Debug)]
pub struct DynItem(pub Value);

impl DynItem {
    pub fn id(&self) -> &str {
        self.0.get("id").and_then(Value::as_str).unwrap_or("")
    }
}

impl Decode for DynItem {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Value::decode(d).map(DynItem)
    }
}

impl ListRequest for DynList {
    type Item = DynItem;
    type DynamicType = DynResource;

    fn set_page(&mut self, first: i32, after: Option<String>) {
        for key in ["first", "after", "before", "last", "skip"] {
            self.body.remove(key);
        }
        self.body.insert("first".into(), first.into());
        if let Some(after) = after {
            self.body.insert("after".into(), after.into());
        }
    }

    fn cursor(item: &DynItem) -> &str {
        item.id()
    }

    fn request(&self, resource: &DynResource) -> ApiRequest {
        crate::schema::operation_info(&resource.schema.list).json(&Value::Object(self.body.clone()))
    }

    fn method(resource: &DynResource) -> &'static str {
        &resource.schema.list
    }
}

impl CountRequest for DynList {
    fn count_request(&self, resource: &DynResource) -> ApiRequest {
        let mut body = Map::new();
        if let Some(filter) = self.body.get("where") {
            body.insert("where".into(), filter.clone());
        }
        // A resource without a connection operation has no counting verb.
        let operation = resource
            .schema
            .connection
            .as_ref()
            .unwrap_or(&resource.schema.list);
        crate::schema::operation_info(operation).json(&Value::Object(body))
    }

    fn count(response: ApiResponse) -> Result<u64, Error> {
        response.count_at(&["aggregate", "count"])
    }
}

impl RereadById for DynItem {
    type DynamicType = DynResource;
    type Request = DynList;

    fn request_for_ids(_: &DynResource, ids: Vec<String>) -> DynList {
        DynList::new(Some(json!({ "id_in": ids })))
    }
}

impl Resolve for DynItem {
    fn resource(resource: &DynResource) -> &'static str {
        &resource.schema.name
    }

    fn keys(resource: &DynResource) -> &'static [ResolveKey] {
        resource.keys
    }

    fn request_by(resource: &DynResource, key: ResolveKey, value: &str) -> Option<DynList> {
        resource
            .keys
            .contains(&key)
            .then(|| DynList::new(Some(json!({ key.as_str(): value }))))
    }

    fn request_by_any(resource: &DynResource, value: &str) -> Option<DynList> {
        field(&resource.schema.filter, "OR")?;
        let any: Vec<Value> = resource
            .keys
            .iter()
            .map(|key| json!({ key.as_str(): value }))
            .collect();
        Some(DynList::new(Some(json!({ "OR": any }))))
    }

    fn key_of(&self, key: ResolveKey) -> Option<&str> {
        self.0.get(key.as_str()).and_then(Value::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::api;

    /// Each resource's keys are those its filter has, in the order they win (the table of
    /// key sets read by bits).
    #[test]
    fn a_resource_resolves_by_the_keys_its_filter_has() {
        let mut seen = std::collections::BTreeSet::new();
        for schema in &api().resources {
            let keys = DynResource::new(schema).keys;
            let filtered: Vec<ResolveKey> = [ResolveKey::Id, ResolveKey::LocalId, ResolveKey::Name]
                .into_iter()
                .filter(|key| field(&schema.filter, key.as_str()).is_some())
                .collect();
            assert_eq!(keys, filtered, "{}", schema.name);
            seen.insert(keys.len());
        }
        assert!(seen.len() >= 3, "resources with 1, 2 and 3 keys: {seen:?}");
        let vm = DynResource::new(api().resource("Vm").unwrap());
        use ResolveKey::{Id, LocalId, Name};
        assert_eq!(vm.keys, [Id, LocalId, Name]);
    }
}
