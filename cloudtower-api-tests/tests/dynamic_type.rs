//! Resources known only at run time, through the workflow traits' `DynamicType` and the
//! client's `*_with` methods: JSON requests and items of a resource named by a string and
//! described by the API table (`SCHEMA_JSON`), as the CLI and its MCP server use them.
//! Against cloudtower-mock, and a test tower that answers only once two resources' requests
//! are both in flight.

use crate::common;
use crate::fast_mock::signed_in;

use std::collections::BTreeSet;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::Router;
use cloudtower_api::codec::{Decode, DecodeError, Decoder};
use cloudtower_api::error::{ErrorKind, WorkflowError};
use cloudtower_api::models::{
    GetClustersRequestBody, GetVmsRequestBody, Vm, VmUpdateParams, VmUpdateParamsData, VmWhereInput,
};
use cloudtower_api::{
    ApiRequest, ApiResponse, Client, CountRequest, Error, ListRequest, OperationInfo, RereadById,
    Resolve, ResolveKey, RetryPolicy, WaitForTasks,
};
use cloudtower_schema::{ApiSchema, ResourceSchema};
use serde_json::{json, Map, Value};

static API: LazyLock<ApiSchema> =
    LazyLock::new(|| ApiSchema::parse(cloudtower_api::SCHEMA_JSON).unwrap());

/// A resource of the table, the `DynamicType` of [`JsonList`] and [`JsonItem`].
#[derive(Clone, Debug)]
struct JsonResource {
    schema: &'static ResourceSchema,
    list: &'static OperationInfo,
    count: &'static OperationInfo,
    /// The keys its filter has (`'static`: errors name them).
    keys: &'static [ResolveKey],
}

const KEYS: [ResolveKey; 3] = [ResolveKey::Id, ResolveKey::LocalId, ResolveKey::Name];

impl JsonResource {
    /// The resource named `name` in the table (a name read at run time).
    fn named(name: &str) -> JsonResource {
        let schema = API.resource(name).unwrap();
        let operation = |path: &str| {
            cloudtower_api::find_operation(cloudtower_api::models::OPERATIONS, path).unwrap()
        };
        let filter = API.fields(&schema.filter).unwrap();
        let keys: Vec<ResolveKey> = KEYS
            .into_iter()
            .filter(|key| filter.iter().any(|f| f.name == key.as_str()))
            .collect();
        // The resources these tests use have all three keys.
        assert_eq!(keys, KEYS, "{name}'s filter has id, local_id and name");
        JsonResource {
            schema,
            list: operation(&schema.list),
            count: operation(schema.connection.as_deref().unwrap()),
            keys: &KEYS,
        }
    }
}

/// A list request as JSON.
#[derive(Clone, Debug, Default)]
struct JsonList(Map<String, Value>);

impl JsonList {
    fn with_where(filter: Value) -> JsonList {
        JsonList(Map::from_iter([("where".to_owned(), filter)]))
    }
}

/// A resource as JSON.
#[derive(Clone, Debug, PartialEq)]
struct JsonItem(Value);

impl JsonItem {
    fn id(&self) -> &str {
        self.0["id"].as_str().unwrap_or_default()
    }
    fn name(&self) -> &str {
        self.0["name"].as_str().unwrap_or_default()
    }
}

impl Decode for JsonItem {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Value::decode(d).map(JsonItem)
    }
}

impl ListRequest for JsonList {
    type Item = JsonItem;
    type DynamicType = JsonResource;

    fn set_page(&mut self, first: i32, after: Option<String>) {
        self.0.insert("first".into(), first.into());
        match after {
            Some(after) => self.0.insert("after".into(), after.into()),
            None => self.0.remove("after"),
        };
    }
    fn cursor(item: &JsonItem) -> &str {
        item.id()
    }
    fn request(&self, resource: &JsonResource) -> ApiRequest {
        resource.list.json(&Value::Object(self.0.clone()))
    }
    fn method(resource: &JsonResource) -> &'static str {
        resource.list.path
    }
}

impl CountRequest for JsonList {
    fn count_request(&self, resource: &JsonResource) -> ApiRequest {
        let mut body = Map::new();
        if let Some(filter) = self.0.get("where") {
            body.insert("where".into(), filter.clone());
        }
        resource.count.json(&Value::Object(body))
    }
    fn count(response: ApiResponse) -> Result<u64, Error> {
        response.count_at(&["aggregate", "count"])
    }
}

impl RereadById for JsonItem {
    type DynamicType = JsonResource;
    type Request = JsonList;

    fn request_for_ids(_: &JsonResource, ids: Vec<String>) -> JsonList {
        JsonList::with_where(json!({ "id_in": ids }))
    }
}

impl Resolve for JsonItem {
    fn resource(resource: &JsonResource) -> &'static str {
        &resource.schema.name
    }
    fn keys(resource: &JsonResource) -> &'static [ResolveKey] {
        resource.keys
    }
    fn request_by(resource: &JsonResource, key: ResolveKey, value: &str) -> Option<JsonList> {
        let has = resource.keys.contains(&key);
        has.then(|| JsonList::with_where(json!({ key.as_str(): value })))
    }
    fn request_by_any(resource: &JsonResource, value: &str) -> Option<JsonList> {
        let any: Vec<Value> = resource
            .keys
            .iter()
            .map(|key| json!({ key.as_str(): value }))
            .collect();
        Some(JsonList::with_where(json!({ "OR": any })))
    }
    fn key_of(&self, key: ResolveKey) -> Option<&str> {
        self.0.get(key.as_str()).and_then(Value::as_str)
    }
}

fn ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    ids.into_iter().map(str::to_owned).collect()
}

#[tokio::test]
async fn a_resource_known_only_at_run_time_is_listed_counted_resolved_and_reread() {
    let (_tower, client) = signed_in().await;
    let vms = JsonResource::named("Vm");
    let typed: Vec<Vm> = client
        .paginate(GetVmsRequestBody::default())
        .collect()
        .await
        .unwrap();
    assert!(typed.len() > 3, "the mock seeds several VMs");

    // Listed in pages of 2, with the same VMs as the generated type lists.
    let listed = client
        .paginate_with(&vms, JsonList::default())
        .page_size(2)
        .collect()
        .await
        .unwrap();
    assert_eq!(
        ids(listed.iter().map(JsonItem::id)),
        ids(typed.iter().map(|vm| vm.id.as_str()))
    );
    let count = client.count_with(&vms, &JsonList::default()).await.unwrap();
    assert_eq!(count, typed.len() as u64);
    let web = JsonList::with_where(json!({ "name_starts_with": "web-" }));
    let web_count = client.count_with(&vms, &web).await.unwrap();
    let web_typed = typed
        .iter()
        .filter(|vm| vm.name.starts_with("web-"))
        .count();
    assert_eq!(web_count, web_typed as u64);
    assert!(web_count > 0 && web_count < count);

    // Resolved by name, local id and id, as the generated type is.
    let web1 = client.resolve::<Vm>("web-1").await.unwrap();
    for key in [&web1.name, &web1.local_id, &web1.id] {
        let found: JsonItem = client.resolve_with(&vms, key).await.unwrap();
        assert_eq!((found.id(), found.name()), (web1.id.as_str(), "web-1"));
    }
    let missing = client
        .resolve_with::<JsonItem>(&vms, "no-such-vm")
        .await
        .unwrap_err();
    assert!(
        matches!(missing.kind(), ErrorKind::Workflow(WorkflowError::NotFound { resource: "Vm", key, .. }) if key == "no-such-vm"),
        "{missing:?}"
    );

    // Re-read after a rename: the current state, in the order given, a copy given twice.
    let before: JsonItem = client.resolve_with(&vms, "web-1").await.unwrap();
    let other = listed.iter().find(|vm| vm.id() != before.id()).unwrap();
    let params = VmUpdateParams {
        r#where: VmWhereInput {
            id: web1.id.clone().into(),
            ..Default::default()
        },
        data: VmUpdateParamsData {
            name: Some("web-1-renamed".to_owned()),
            ..Default::default()
        },
    };
    client
        .update_vm(&params)
        .await
        .unwrap()
        .wait(&client)
        .await
        .unwrap();
    let given = [before.clone(), other.clone(), before];
    let current = client.reread_with(&vms, &given).await.unwrap();
    let names: Vec<&str> = current.iter().map(JsonItem::name).collect();
    assert_eq!(names, ["web-1-renamed", other.name(), "web-1-renamed"]);

    // Another resource through the same types, told apart only by its `DynamicType`.
    let clusters = JsonResource::named("Cluster");
    let listed = client
        .paginate_with(&clusters, JsonList::default())
        .collect()
        .await
        .unwrap();
    let typed = client
        .paginate(GetClustersRequestBody::default())
        .collect()
        .await
        .unwrap();
    assert_eq!(
        ids(listed.iter().map(JsonItem::id)),
        ids(typed.iter().map(|cluster| cluster.id.as_str()))
    );
    let count = client
        .count_with(&clusters, &JsonList::default())
        .await
        .unwrap();
    assert_eq!(count, typed.len() as u64);
    let cluster: JsonItem = client
        .resolve_with(&clusters, &typed[0].name)
        .await
        .unwrap();
    assert_eq!(cluster.id(), typed[0].id);
}

/// Answers `get-vms` and `get-clusters` only once a request of each is in flight (503 when
/// the other has not come within 10 s): the two resources' workflows must run at once.
async fn rendezvous_tower() -> String {
    let both = Arc::new(tokio::sync::Barrier::new(2));
    let router = Router::new().fallback(move |request: axum::extract::Request| {
        let both = both.clone();
        async move {
            let path = request.uri().path().to_owned();
            let body = axum::body::to_bytes(request.into_body(), 1 << 20)
                .await
                .unwrap();
            let body: Value = serde_json::from_slice(&body).unwrap();
            let key = &body["where"]["OR"][0]["id"];
            let id = match path.as_str() {
                "/v2/api/get-vms" => "vm-1",
                "/v2/api/get-clusters" => "cluster-1",
                _ => return (axum::http::StatusCode::NOT_FOUND, String::new()),
            };
            if tokio::time::timeout(Duration::from_secs(10), both.wait())
                .await
                .is_err()
            {
                return (axum::http::StatusCode::SERVICE_UNAVAILABLE, String::new());
            }
            let item = json!([{ "id": id, "local_id": id, "name": key }]);
            (axum::http::StatusCode::OK, item.to_string())
        }
    });
    common::serve(router).await
}

#[tokio::test]
async fn workflows_on_two_resources_run_at_once() {
    let url = rendezvous_tower().await;
    let client = Client::builder(&url)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let resolve = |resource: &str, key: &'static str| {
        let (client, resource) = (client.clone(), JsonResource::named(resource));
        tokio::spawn(async move { client.resolve_with::<JsonItem>(&resource, key).await })
    };
    let vm = resolve("Vm", "web-1");
    let cluster = resolve("Cluster", "cluster-a");
    let (vm, cluster) = (vm.await.unwrap().unwrap(), cluster.await.unwrap().unwrap());
    assert_eq!((vm.id(), vm.name()), ("vm-1", "web-1"));
    assert_eq!((cluster.id(), cluster.name()), ("cluster-1", "cluster-a"));
}
