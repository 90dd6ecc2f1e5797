//! `Client::call_operation` (feature `dynamic`) against a test tower on 127.0.0.1: it runs on
//! a 2 MiB stack (a tokio worker's) in a debug build, and a JSON request missing a required
//! field is refused before anything is sent.

use crate::common;
use cloudtower_api::error::{ConstructionError, ErrorKind};

use cloudtower_api::models::*;
use cloudtower_api::{codec, Client, RetryPolicy};
use common::{tower, Log, Reply, Seen};
use serde_json::{json, Value};

/// Answers reads with an empty list, `*-connection` reads with a count of 0, `export-csv`
/// with a CSV text, and mutations with one task.
fn answer(seen: &Seen, _: usize) -> Reply {
    let operation = seen.path.trim_start_matches("/v2/api/");
    if operation == "export-csv" {
        Reply::ok(json!("id,name\nvm-1,db-1\n"))
    } else if operation.ends_with("-connection") {
        Reply::ok(json!({ "aggregate": { "count": 0 } }))
    } else if operation.starts_with("get-") {
        Reply::ok(json!([]))
    } else {
        Reply::ok(json!([{ "task_id": "task-1", "data": { "id": "resource-1" } }]))
    }
}

fn client(url: &str) -> Client {
    Client::builder(url)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

/// The calls of the stack test: a complete request of each (every required field, as the
/// typed value encodes it), among them the operations with the largest request types.
fn calls() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("get-vms", codec::encode(&GetVmsRequestBody::default())),
        (
            "get-vms-connection",
            codec::encode(&GetVmsConnectionRequestBody::default()),
        ),
        (
            "create-vm",
            codec::encode(&[VmCreationParams::default()][..]),
        ),
        ("delete-vm", codec::encode(&VmDeleteParams::default())),
        // The largest request types of 4.6.0, 130–380 KB before the generator boxed the
        // filters they hold (`delete-graph`, `update-graph` and `export-csv` overflowed the
        // 2 MiB stack then).
        (
            "add-labels-to-resources",
            codec::encode(&AddLabelsToResourcesParams::default()),
        ),
        (
            "get-graphs",
            codec::encode(&GetGraphsRequestBody::default()),
        ),
        (
            "delete-graph",
            codec::encode(&GraphDeletionParams::default()),
        ),
        (
            "update-graph",
            codec::encode(&GraphUpdationParams::default()),
        ),
        ("export-csv", codec::encode(&TableReporterParams::default())),
    ]
}

#[test]
fn call_operation_runs_on_a_two_mib_stack_in_a_debug_build() {
    // The tower runs on a runtime of its own, so that only the client uses the small stack.
    let server = tokio::runtime::Runtime::new().unwrap();
    let log = Log::default();
    let url = server.block_on(tower(log.clone(), answer));
    let calls = calls();
    let count = calls.len();
    let outcomes = std::thread::Builder::new()
        .name("two-mib".into())
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let client = client(&url);
                let mut outcomes = Vec::new();
                for (path, body) in calls {
                    let answer = client.call_operation(path, &body).await;
                    outcomes.push((path, answer.map(|json| json.map(|j| j.len()))));
                }
                outcomes
            })
        })
        .unwrap()
        .join()
        .expect("the client thread panicked");
    for (path, outcome) in &outcomes {
        assert!(
            matches!(outcome, Ok(Some(len)) if *len > 0),
            "{path}: {outcome:?}"
        );
    }
    // One request per call, and the tower's version asked once (a client given a token asks
    // it before its first call of an operation some versions lack).
    let versions = log.count("/v2/api/get-version");
    assert!(versions <= 1, "{versions} version requests");
    assert_eq!(log.all().len(), count + versions);
}

/// `[VmCreationParams]` as JSON, with every required field.
fn create_vm_body() -> Value {
    serde_json::from_slice(&codec::encode(&[VmCreationParams::default()][..])).unwrap()
}

#[tokio::test]
async fn a_request_missing_a_required_field_is_refused_naming_it_and_not_sent() {
    let log = Log::default();
    let client = client(&tower(log.clone(), answer).await);
    let mut body = create_vm_body();
    body[0]
        .as_object_mut()
        .unwrap()
        .remove("cluster_id")
        .unwrap();
    let err = client
        .call_operation("create-vm", &serde_json::to_vec(&body).unwrap())
        .await
        .unwrap_err();
    match err.kind() {
        ErrorKind::Construction(ConstructionError::InvalidRequest { source, .. }) => {
            assert_eq!(err.operation(), Some("create-vm"));
            assert_eq!(source.path(), "/0");
            assert!(source.message().contains("`cluster_id`"), "{source}");
        }
        other => panic!("expected InvalidRequest, got {other:?}"),
    }
    assert!(err.to_string().contains("cluster_id"), "{err}");

    // A required field sent as `null` is refused the same way.
    let mut body = create_vm_body();
    body[0]["name"] = Value::Null;
    let err = client
        .call_operation("create-vm", &serde_json::to_vec(&body).unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Construction(ConstructionError::InvalidRequest { source, .. }) if source.path() == "/0/name"),
        "{err:?}"
    );
    assert!(log.all().is_empty(), "sent: {:?}", log.all());

    // The complete body is sent.
    let sent = client
        .call_operation("create-vm", &serde_json::to_vec(&create_vm_body()).unwrap())
        .await
        .unwrap();
    assert!(sent.is_some());
    assert_eq!(log.count("/v2/api/create-vm"), 1);
    assert_eq!(log.all()[0].body, create_vm_body());
}

#[tokio::test]
async fn an_unknown_path_is_refused_and_the_future_can_be_spawned() {
    let log = Log::default();
    let client = client(&tower(log.clone(), answer).await);
    // The future owns what it needs: it outlives the client handle and the body.
    let call = {
        let body = codec::encode(&GetVmsRequestBody::default());
        client.clone().call_operation("get-vms", &body)
    };
    assert!(tokio::spawn(call).await.unwrap().is_ok());
    let err = client
        .call_operation("no-such-operation", b"{}")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Construction(ConstructionError::Unsupported { .. })
        ),
        "{err:?}"
    );
    assert_eq!(log.all().len(), 1);
}

#[test]
fn the_largest_request_types_are_small_enough_to_build_on_a_stack() {
    // Before the generator boxed the filters they hold: 130–380 KB each.
    let sizes = [
        (
            "AddLabelsToResourcesParams",
            size_of::<AddLabelsToResourcesParams>(),
        ),
        ("GetGraphsRequestBody", size_of::<GetGraphsRequestBody>()),
        ("GraphDeletionParams", size_of::<GraphDeletionParams>()),
        ("GraphUpdationParams", size_of::<GraphUpdationParams>()),
        ("TableReporterParams", size_of::<TableReporterParams>()),
        ("GetAlertsRequestBody", size_of::<GetAlertsRequestBody>()),
    ];
    for (name, size) in sizes {
        assert!(size <= 64 * 1024, "{name} is {size} bytes");
    }
}

#[test]
fn a_boxed_filter_is_built_with_into_and_encodes_inline() {
    let filter = GraphWhereInput {
        cluster: ClusterWhereInput {
            id: "c-1".into(),
            ..Default::default()
        }
        .into(),
        ..Default::default()
    };
    let json: Value = serde_json::from_slice(&codec::encode(&filter)).unwrap();
    assert_eq!(json, json!({ "cluster": { "id": "c-1" } }));
}
