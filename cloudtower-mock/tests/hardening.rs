//! The mock's own correctness against bodies a careless or hostile client sends: full-size
//! upload chunks, filters it cannot evaluate, numbers that overflow; and the request record.

use cloudtower_api::ErrorKind;
use std::time::Duration;

use cloudtower_api::models::{
    ClusterWhereInput, GetVmsConnectionRequestBody, VmCreationParams, VmDeleteParams, VmFirmware,
    VmSnapshotCreationParams, VmSnapshotCreationParamsData, VmStatus, VmUpdateParams,
    VmUpdateParamsData, VmWhereInput,
};
use cloudtower_api::upload::{ElfImageUpload, DEFAULT_CHUNK_SIZE};
use cloudtower_api::{Client, Error, PasswordLogin, Related};
use cloudtower_mock::{
    MockConfig, MockTower, MAX_BODY_DEPTH, MAX_FILTER_DEPTH, MOCK_PASSWORD, MOCK_USERNAME,
};
use serde_json::json;

async fn setup() -> (MockTower, Client) {
    let tower = MockTower::start_with(MockConfig {
        task_duration: Duration::from_millis(20),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let client = Client::new(&tower.url()).unwrap();
    client
        .sign_in(PasswordLogin::new(MOCK_USERNAME, MOCK_PASSWORD))
        .await
        .unwrap();
    (tower, client)
}

async fn vm_count(client: &Client) -> i32 {
    client
        .get_vms_connection(&GetVmsConnectionRequestBody::default())
        .await
        .unwrap()
        .aggregate
        .count
}

/// The status and `ErrorBody` message of a call that must fail with an HTTP error.
fn status_of<T: std::fmt::Debug>(result: Result<T, Error>) -> (u16, String) {
    let error = result.expect_err("expected an HTTP error answer");
    match error.into_kind() {
        ErrorKind::Service(refusal) => (
            refusal.status,
            refusal.body.map(|b| b.message).unwrap_or_default(),
        ),
        other => panic!("expected an HTTP error answer, got {other:?}"),
    }
}

/// A raw `POST /v2/api/OPERATION` with an API key: bodies the typed client cannot produce.
async fn post_raw(tower: &MockTower, operation: &str, body: Vec<u8>) -> (u16, serde_json::Value) {
    tower.add_api_key("raw-key");
    let response = reqwest::Client::new()
        .post(format!("{}/v2/api/{operation}", tower.url()))
        .header("authorization", "raw-key")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

#[tokio::test]
async fn a_full_size_upload_chunk_is_accepted() {
    let (tower, client) = setup().await;
    let cluster = client.get_clusters(&Default::default()).await.unwrap()[0]
        .id
        .clone();
    // One full default chunk (8 MiB) and a small remainder.
    let size = DEFAULT_CHUNK_SIZE + 1000;
    let data: Vec<u8> = (0..size).map(|i| i as u8).collect();
    let upload = ElfImageUpload::new(cluster, "big.iso")
        .wait(Duration::from_secs(10), Duration::from_millis(10));
    let task = client
        .upload_elf_image(data.as_slice(), size as u64, upload)
        .await
        .unwrap();
    assert_eq!(task.size, size as i64);
    let uploads: Vec<_> = tower
        .recorded_requests()
        .into_iter()
        .filter(|r| r.operation == "upload-elf-image")
        .collect();
    assert_eq!(uploads.len(), 2);
    assert_eq!(
        uploads[0].body["file"],
        json!({ "bytes": DEFAULT_CHUNK_SIZE })
    );
    assert_eq!(uploads[0].body["name"], "big.iso");
    assert_eq!(uploads[1].body["file"], json!({ "bytes": 1000 }));
}

/// `NOT [ NOT [ … { name: "web-1" } … ] ]`, `levels` deep.
fn nested_not(levels: usize) -> VmWhereInput {
    let mut filter = VmWhereInput {
        name: "web-1".into(),
        ..Default::default()
    };
    for _ in 0..levels {
        filter = VmWhereInput {
            not: vec![filter].into(),
            ..Default::default()
        };
    }
    filter
}

#[tokio::test]
async fn a_filter_nested_too_deep_is_refused_and_deletes_nothing() {
    let (_tower, client) = setup().await;
    let before = vm_count(&client).await;
    // Each NOT level is two JSON levels: this body is nested beyond MAX_BODY_DEPTH.
    let deep = nested_not(MAX_BODY_DEPTH);
    let (status, message) = status_of(
        client
            .delete_vm(&VmDeleteParams {
                r#where: deep,
                effect: None,
            })
            .await,
    );
    assert_eq!(status, 400);
    assert!(message.contains("deeper than 32"), "{message}");
    assert_eq!(vm_count(&client).await, before);
}

/// A related filter (`{"cluster": {"vms_some": {"cluster": …}}}`) adds one JSON level per
/// filter level, so the filter bound is what refuses it.
#[tokio::test]
async fn related_filters_nested_beyond_the_bound_are_refused() {
    let (_tower, client) = setup().await;
    let before = vm_count(&client).await;
    let related = |levels: usize| {
        let mut vm = VmWhereInput::default();
        for _ in 0..levels {
            vm = VmWhereInput {
                cluster: ClusterWhereInput {
                    vms_some: Related::new(vm).into(),
                    ..Default::default()
                }
                .into(),
                ..Default::default()
            };
        }
        vm
    };
    // Within the bounds: evaluated (an even number of NOTs keeps the one match).
    let count = client
        .get_vms_connection(&GetVmsConnectionRequestBody {
            r#where: nested_not(MAX_BODY_DEPTH / 2 - 2).into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(count.aggregate.count, 1);

    // Two filter levels per step (the relation, then `vms_some`): one step past the bound.
    let (status, message) = status_of(
        client
            .delete_vm(&VmDeleteParams {
                r#where: related(MAX_FILTER_DEPTH / 2 + 1),
                effect: None,
            })
            .await,
    );
    assert_eq!(status, 400);
    assert!(message.contains("deeper than 16"), "{message}");
    assert_eq!(vm_count(&client).await, before);
}

#[tokio::test]
async fn filters_the_mock_cannot_read_answer_400_and_delete_nothing() {
    let (tower, client) = setup().await;
    let before = vm_count(&client).await;
    // Invalid UTF-8 inside a related filter (kept as raw JSON by the typed request).
    let mut invalid_utf8 = br#"{"where":{"cluster":{"name":""#.to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe]);
    invalid_utf8.extend_from_slice(br#""}}}"#);
    // Wrong types where filters belong, inside a related filter.
    let not_filters = br#"{"where":{"cluster":{"AND":[5, "x"]}}}"#.to_vec();
    let relation_not_object = br#"{"where":{"cluster":{"vms_some":7}}}"#.to_vec();
    for body in [invalid_utf8, not_filters, relation_not_object] {
        let shown = String::from_utf8_lossy(&body).into_owned();
        for operation in ["delete-vm", "get-vms"] {
            let (status, answer) = post_raw(&tower, operation, body.clone()).await;
            assert_eq!(status, 400, "{operation} {shown}: {answer}");
            assert_eq!(answer["status"], 400, "an ErrorBody: {answer}");
            assert!(answer["message"].as_str().is_some(), "{answer}");
        }
    }
    assert_eq!(vm_count(&client).await, before);
}

#[tokio::test]
async fn cpu_counts_that_overflow_answer_400() {
    let (_tower, client) = setup().await;
    let update = |cores: i32, sockets: i32| VmUpdateParams {
        r#where: VmWhereInput {
            name: "web-1".into(),
            ..Default::default()
        },
        data: VmUpdateParamsData {
            cpu_cores: Some(cores),
            cpu_sockets: Some(sockets),
            ..Default::default()
        },
    };
    let (status, message) = status_of(client.update_vm(&update(i32::MAX, 2)).await);
    assert_eq!(status, 400);
    assert!(message.contains("too large"), "{message}");
    let (status, _) = status_of(client.update_vm(&update(-1, 2)).await);
    assert_eq!(status, 400);

    let cluster = client.get_clusters(&Default::default()).await.unwrap()[0]
        .id
        .clone();
    let (status, message) = status_of(
        client
            .create_vm(&[VmCreationParams {
                cluster_id: cluster,
                name: "huge".into(),
                cpu_cores: 65_536,
                cpu_sockets: 65_536,
                memory: 1,
                status: VmStatus::Stopped,
                firmware: VmFirmware::Bios,
                ..Default::default()
            }])
            .await,
    );
    assert_eq!(status, 400);
    assert!(message.contains("too large"), "{message}");
    // The server is still there, and a sane update goes through.
    assert_eq!(client.update_vm(&update(2, 2)).await.unwrap().len(), 1);
}

#[tokio::test]
async fn request_bodies_are_recorded_for_tests_to_assert_on() {
    let (tower, client) = setup().await;
    let vm = client.get_vms(&Default::default()).await.unwrap()[0]
        .id
        .clone();
    client
        .create_vm_snapshot(&VmSnapshotCreationParams {
            data: vec![VmSnapshotCreationParamsData {
                vm_id: vm.clone(),
                name: "nightly".into(),
                consistent_type: None,
            }],
        })
        .await
        .unwrap();
    let recorded = tower.recorded_requests();
    let operations: Vec<&str> = recorded.iter().map(|r| r.operation.as_str()).collect();
    // Signing in also asks the tower's version.
    assert_eq!(
        operations,
        ["login", "get-version", "get-vms", "create-vm-snapshot"]
    );
    assert_eq!(recorded[0].body["username"], MOCK_USERNAME);
    assert_eq!(
        recorded[3].body,
        json!({ "data": [{ "vm_id": vm, "name": "nightly" }] })
    );
}

#[tokio::test]
async fn a_negated_starts_with_under_not_deletes_only_what_it_names() {
    let (tower, client) = setup().await;
    let (status, all) = post_raw(&tower, "get-vms", br#"{}"#.to_vec()).await;
    assert_eq!(status, 200, "{all}");
    let names: Vec<String> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(!names.is_empty());
    let prod = names.iter().filter(|n| n.starts_with("prod")).count();
    let body = br#"{"where":{"NOT":[{"name_not_starts_with":"prod"}]}}"#.to_vec();
    let (status, answer) = post_raw(&tower, "get-vms", body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer.as_array().unwrap().len(), prod, "{answer}");
    let (status, answer) = post_raw(&tower, "delete-vm", body).await;
    if prod == 0 {
        assert_eq!(status, 404, "nothing to delete: {answer}");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(vm_count(&client).await as usize, names.len() - prod);
}

#[tokio::test]
async fn an_empty_or_matches_nothing() {
    let (tower, _client) = setup().await;
    let (status, answer) = post_raw(&tower, "get-vms", br#"{"where":{"OR":[]}}"#.to_vec()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!([]));
    let (status, answer) = post_raw(&tower, "get-vms", br#"{"where":{"AND":[]}}"#.to_vec()).await;
    assert_eq!(status, 200, "{answer}");
    assert!(!answer.as_array().unwrap().is_empty());
}

/// The body limit fits a full upload chunk of the SDK's default size and its form fields.
#[test]
fn the_body_limit_fits_the_sdks_default_upload_chunk() {
    assert_eq!(
        cloudtower_mock::MAX_BODY_BYTES,
        DEFAULT_CHUNK_SIZE + (1 << 20)
    );
}
