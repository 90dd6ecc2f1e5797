//! The SDK's generic workflows (pagination, counting, re-reading by id, resolving a name)
//! over resources known only from the table: list requests and items as JSON.
//!
//! Those traits describe a resource with associated functions, not methods; a run of the
//! command line works on one module's resource, which [`target`] records for them.

use std::sync::RwLock;

use cloudtower_api::codec::{Decode, DecodeError, Decoder};
use cloudtower_api::pagination::{CountRequest, ListRequest};
use cloudtower_api::resolve::{Resolve, ResolveKey};
use cloudtower_api::{ApiRequest, ApiResponse, Error, RereadById};
use cloudtower_schema::ResourceSchema;
use serde_json::{json, Map, Value};

use crate::schema::field;

static TARGET: RwLock<Option<&'static Target>> = RwLock::new(None);

/// The resource the workflows of this run work on, and the filter keys it has.
struct Target {
    resource: &'static ResourceSchema,
    keys: &'static [ResolveKey],
}

/// Records the resource the next workflows work on (a command runs them one after another).
pub fn target(resource: &'static ResourceSchema) {
    let mut slot = TARGET.write().unwrap_or_else(|e| e.into_inner());
    if slot.is_some_and(|current| std::ptr::eq(current.resource, resource)) {
        return;
    }
    let keys: Vec<ResolveKey> = [ResolveKey::Id, ResolveKey::LocalId, ResolveKey::Name]
        .into_iter()
        .filter(|key| field(&resource.filter, key.as_str()).is_some())
        .collect();
    // One per resource a run switches to: leaked, so that the traits' functions can hand
    // out `'static` keys.
    let target = Box::leak(Box::new(Target {
        resource,
        keys: keys.leak(),
    }));
    *slot = Some(target);
}

fn current() -> &'static Target {
    TARGET
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .expect("dynamic::target is called before the resource workflows")
}

/// A list operation's request as JSON.
#[derive(Clone, Debug)]
pub struct DynList {
    pub operation: &'static str,
    pub connection: Option<&'static str>,
    pub body: Map<String, Value>,
}

impl DynList {
    /// The resource's list request with `where`.
    pub fn new(resource: &'static ResourceSchema, filter: Option<Value>) -> DynList {
        let mut body = Map::new();
        if let Some(filter) = filter {
            body.insert("where".into(), filter);
        }
        DynList {
            operation: &resource.list,
            connection: resource.connection.as_deref(),
            body,
        }
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

    fn request(&self) -> ApiRequest {
        crate::schema::operation_info(self.operation).json(&Value::Object(self.body.clone()))
    }
}

impl CountRequest for DynList {
    fn count_request(&self) -> ApiRequest {
        let mut body = Map::new();
        if let Some(filter) = self.body.get("where") {
            body.insert("where".into(), filter.clone());
        }
        // A resource without a connection operation has no counting verb.
        let operation = self.connection.unwrap_or(self.operation);
        crate::schema::operation_info(operation).json(&Value::Object(body))
    }

    fn count(response: ApiResponse) -> Result<u64, Error> {
        response.count_at(&["aggregate", "count"])
    }
}

impl RereadById for DynItem {
    type Request = DynList;

    fn request_for_ids(ids: Vec<String>) -> DynList {
        DynList::new(current().resource, Some(json!({ "id_in": ids })))
    }
}

impl Resolve for DynItem {
    fn resource() -> &'static str {
        &current().resource.name
    }

    fn keys() -> &'static [ResolveKey] {
        current().keys
    }

    fn request_by(key: ResolveKey, value: &str) -> Option<DynList> {
        current()
            .keys
            .contains(&key)
            .then(|| DynList::new(current().resource, Some(json!({ key.as_str(): value }))))
    }

    fn request_by_any(value: &str) -> Option<DynList> {
        let target = current();
        field(&target.resource.filter, "OR")?;
        let any: Vec<Value> = target
            .keys
            .iter()
            .map(|key| json!({ key.as_str(): value }))
            .collect();
        Some(DynList::new(target.resource, Some(json!({ "OR": any }))))
    }

    fn key_of(&self, key: ResolveKey) -> Option<&str> {
        self.0.get(key.as_str()).and_then(Value::as_str)
    }
}
