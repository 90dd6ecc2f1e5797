//! The fixture's generated operations against a local server: query parameters, multipart
//! uploads, body-less POSTs, string and 304 responses.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::Router;
use fixture_check::models::*;
use fixture_check::{Client, FilePart};

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: Method,
    uri: String,
    content_type: String,
    authorization: Option<String>,
    body: Vec<u8>,
}

/// Serves canned answers per path and records every request.
async fn serve() -> (Client, Arc<Mutex<Vec<Seen>>>) {
    let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let recorder = log.clone();
    let router = Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let recorder = recorder.clone();
            async move {
                let content_type = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let authorization = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                recorder.lock().unwrap().push(Seen {
                    method,
                    uri: uri.to_string(),
                    content_type,
                    authorization,
                    body: body.to_vec(),
                });
                let json = |text: &'static str| {
                    (StatusCode::OK, [("content-type", "application/json")], text).into_response()
                };
                match uri.path() {
                    "/v2/api/get-version" => json(r#""4.6.0""#),
                    "/v2/api/export-csv" => json(r#""aWQsbmFtZQo=""#),
                    "/v2/api/resource-changes" => json(
                        r#"{"currentRevision":"7","data":[{"action":"RENAME","resource_id":"vm-1"}]}"#,
                    ),
                    "/v2/api/get-task-summary" => {
                        json(r#"{"total":3,"by_status":{"running":1,"failed":null}}"#)
                    }
                    "/v2/api/upload-vm-image" => json(r#"[{"id":"t","status":"PENDING","progress":0}]"#),
                    "/v2/api/update-vm" => StatusCode::NOT_MODIFIED.into_response(),
                    "/v2/api/move-topology" | "/v2/api/get-topology" => json(
                        r#"[{"id":"n-1","label":{"row":1,"column":2},"weight":5},{"id":"n-2","label":"top"}]"#,
                    ),
                    "/v2/api/get-topology-audit-log" => json(r#"["moved n-1"]"#),
                    _ => StatusCode::NOT_FOUND.into_response(),
                }
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (Client::new(&format!("http://{addr}")).unwrap(), log)
}

#[test]
fn query_parameters_leave_out_unset_ones() {
    let params = GetResourceChangesParams {
        resource_type: "vm".into(),
        ..Default::default()
    };
    assert_eq!(params.to_query(), vec![("resource_type", "vm".to_string())]);
    let params = GetResourceChangesParams {
        resource_type: "vm".into(),
        start_revision: Some("5".into()),
        limit: Some(100),
        status: Some(VmStatus::Other("HIBERNATING".into())),
    };
    assert_eq!(
        params.to_query(),
        vec![
            ("resource_type", "vm".to_string()),
            ("start_revision", "5".to_string()),
            ("limit", "100".to_string()),
            ("status", "HIBERNATING".to_string()),
        ]
    );
}

#[test]
fn multipart_fields_leave_out_unset_ones() {
    let body = UploadVmImageRequestBody {
        file: FilePart::new("disk.qcow2", b"QFI\xfb".to_vec()),
        cluster_id: "c1".into(),
        ..Default::default()
    };
    assert_eq!(body.to_fields().len(), 2);
    let body = UploadVmImageRequestBody {
        size: Some(4),
        description: Some("d".into()),
        ..body
    };
    assert_eq!(body.to_fields().len(), 4);
}

#[tokio::test]
async fn get_with_query_sends_the_parameters_and_decodes_unknown_enums() {
    let (client, log) = serve().await;
    let params = GetResourceChangesParams {
        resource_type: "vm".into(),
        limit: Some(10),
        status: Some(VmStatus::Running),
        ..Default::default()
    };
    let changes = client.get_resource_changes(&params).await.unwrap();
    assert_eq!(changes.current_revision, "7");
    assert_eq!(
        changes.data[0].action,
        ResourceChangeResponseDataItemAction::Other("RENAME".into())
    );
    let seen = log.lock().unwrap()[0].clone();
    assert_eq!(seen.method, Method::GET);
    assert_eq!(
        seen.uri,
        "/v2/api/resource-changes?resource_type=vm&limit=10&status=RUNNING"
    );
    assert!(seen.body.is_empty());
}

#[tokio::test]
async fn multipart_upload_sends_the_file_and_the_set_fields() {
    let (client, log) = serve().await;
    let body = UploadVmImageRequestBody {
        file: FilePart::new("disk.qcow2", b"QFI-bytes".to_vec()),
        cluster_id: "c1".into(),
        size: Some(9),
        description: None,
    };
    let tasks = client.upload_vm_image(&body).await.unwrap().unwrap();
    assert_eq!(tasks[0].status, TaskStatus::Pending);
    let seen = log.lock().unwrap()[0].clone();
    assert_eq!(seen.method, Method::POST);
    assert_eq!(seen.uri, "/v2/api/upload-vm-image");
    assert!(seen
        .content_type
        .starts_with("multipart/form-data; boundary="));
    let text = String::from_utf8_lossy(&seen.body);
    assert!(
        text.contains(r#"name="file"; filename="disk.qcow2""#),
        "{text}"
    );
    // The file part says what it is (RFC 7578 4.4); Prism and some proxies refuse it otherwise.
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: application/octet-stream\r\n\r\nqfi-bytes"),
        "{text}"
    );
    assert!(text.contains("QFI-bytes"));
    assert!(text.contains("name=\"cluster_id\"\r\n\r\nc1\r\n"), "{text}");
    assert!(text.contains("name=\"size\"\r\n\r\n9\r\n"), "{text}");
    assert!(!text.contains("description"), "unset fields are not sent");
}

#[tokio::test]
async fn not_modified_is_none_not_an_error() {
    let (client, _log) = serve().await;
    let params = VmUpdationParams {
        name: "n".into(),
        ..Default::default()
    };
    assert_eq!(client.update_vm(&params).await.unwrap(), None);
}

#[tokio::test]
async fn string_responses_and_bodyless_posts() {
    let (client, log) = serve().await;
    assert_eq!(client.get_api_version().await.unwrap(), "4.6.0");
    let csv = client
        .export_csv(&TableReporterParams {
            columns: vec!["id".into(), "name".into()],
            filter: None,
        })
        .await
        .unwrap();
    assert_eq!(csv, "aWQsbmFtZQo=", "base64 is handed over as sent");
    let summary = client.get_task_summary().await.unwrap();
    assert_eq!(summary.total, 3);
    assert_eq!(summary.by_status.running, Some(1));
    assert_eq!(summary.by_status.failed, None);

    let seen = log.lock().unwrap().clone();
    assert_eq!(seen[0].method, Method::GET);
    assert_eq!(seen[0].uri, "/v2/api/get-version");
    assert_eq!(seen[1].body, br#"{"columns":["id","name"]}"#);
    assert_eq!(seen[2].method, Method::POST);
    assert_eq!(seen[2].uri, "/v2/api/get-task-summary");
    assert!(
        seen[2].body.is_empty() || seen[2].body == b"{}",
        "{:?}",
        seen[2].body
    );
}

#[tokio::test]
async fn operations_without_security_send_no_credentials() {
    let (client, log) = serve().await;
    client.set_token("secret-token");
    // `/get-version` has `security: []` in the spec; `/export-csv` needs the token.
    client.get_api_version().await.unwrap();
    client
        .export_csv(&TableReporterParams::default())
        .await
        .unwrap();
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen[0].uri, "/v2/api/get-version");
    assert_eq!(seen[0].authorization, None);
    assert_eq!(seen[1].authorization.as_deref(), Some("secret-token"));
}

#[tokio::test]
async fn union_bodies_are_sent_and_union_responses_decoded() {
    let (client, log) = serve().await;
    let nodes = client
        .move_topology(&TopologyMoveParams {
            data: TopologyMoveParamsDataVariant1 {
                cluster_id: "c-1".into(),
                position: TopologyPosition { row: 1, column: 2 },
            }
            .into(),
            r#where: fixture_check::Nullable::Value(vec!["n-1".to_string()].into()),
        })
        .await
        .unwrap();
    assert_eq!(
        nodes[0].label,
        TopologyLabel::TopologyPosition(TopologyPosition { row: 1, column: 2 })
    );
    assert_eq!(
        nodes[0].weight.as_ref().unwrap().try_as_integer().unwrap(),
        5
    );
    assert_eq!(nodes[1].label, TopologyLabel::String("top".into()));
    let seen = log.lock().unwrap().clone();
    assert_eq!(
        seen[0].body,
        br#"{"data":{"cluster_id":"c-1","position":{"row":1,"column":2}},"where":["n-1"]}"#
    );
}

#[tokio::test]
async fn two_paths_sharing_an_operation_id_each_get_a_method() {
    let (client, log) = serve().await;
    assert_eq!(client.get_topology().await.unwrap().len(), 2);
    assert_eq!(
        client.get_topology_audit_log().await.unwrap(),
        ["moved n-1"]
    );
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen[0].uri, "/v2/api/get-topology");
    assert_eq!(seen[1].uri, "/v2/api/get-topology-audit-log");
    let audit = OPERATIONS
        .iter()
        .find(|o| o.path == "get-topology-audit-log")
        .unwrap();
    assert_eq!(audit.operation_id, "GetTopology");
    assert_eq!(audit.method, "get_topology_audit_log");
}
