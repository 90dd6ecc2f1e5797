//! One table of operation facts: the command line and the SDK decide a call the same way,
//! from the generated table (retries, the version an operation needs, header parameters).

use crate::common;
use cloudtower_api::error::{ConstructionError, ErrorKind};

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use cloudtower_api::models::{GetBusinessHostsRequestBody, GetVmsRequestBody};
use cloudtower_api::{Client, PasswordLogin};
use cloudtower_mock::{Fault, MockConfig, MockTower, MOCK_PASSWORD, MOCK_USERNAME};
use common::Cli;

const EXTERNAL: &str = "external-cloudtower-id";

/// A request as the recording proxy saw it.
#[derive(Clone, Debug)]
struct Seen {
    operation: String,
    external: Option<String>,
}

/// A proxy on 127.0.0.1 in front of a mock tower that records each request's operation and
/// `external-cloudtower-id` header: what was sent, whoever sent it. Stopped with the runtime.
struct Recorder {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

#[derive(Clone)]
struct Forward {
    target: String,
    http: reqwest::Client,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn forward(
    State(state): State<Forward>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    state.seen.lock().unwrap().push(Seen {
        operation: path.trim_start_matches("/v2/api/").to_owned(),
        external: headers
            .get(EXTERNAL)
            .map(|v| v.to_str().unwrap().to_owned()),
    });
    let url = format!(
        "{}{}",
        state.target,
        uri.path_and_query().map_or("", |p| p.as_str())
    );
    let mut request = state
        .http
        .request(
            reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap(),
            url,
        )
        .body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name.as_str(), value.as_bytes());
        }
    }
    let answer = request.send().await.expect("the mock answers");
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
    let content_type = answer
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = answer.bytes().await.unwrap();
    let mut response = (status, bytes.to_vec()).into_response();
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert("content-type", content_type.parse().unwrap());
    }
    response
}

impl Recorder {
    async fn start(tower: &MockTower) -> Recorder {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let state = Forward {
            target: tower.url().trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            seen: seen.clone(),
        };
        let app = axum::Router::new().fallback(forward).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Recorder { url, seen }
    }

    /// The `external-cloudtower-id` of each request of `operation`, in order, and forgets them.
    fn take(&self, operation: &str) -> Vec<Option<String>> {
        let mut seen = self.seen.lock().unwrap();
        let taken = seen
            .iter()
            .filter(|s| s.operation == operation)
            .map(|s| s.external.clone())
            .collect();
        seen.clear();
        taken
    }
}

async fn sdk_client(url: &str) -> Client {
    let client = Client::new(url).unwrap();
    client
        .sign_in(PasswordLogin::new(MOCK_USERNAME, MOCK_PASSWORD))
        .await
        .unwrap();
    client
}

/// `external-cloudtower-id` goes with a call when asked for, and only then: by the SDK (a
/// client bound to the external tower, or not) and by the command line (the flag or the
/// variable, or neither).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_external_cloudtower_header_is_sent_when_asked_for_and_only_then() {
    let cli = Cli::new().await;
    let recorder = Recorder::start(&cli.tower).await;

    let client = sdk_client(&recorder.url).await;
    recorder.take("get-vms");
    client.get_vms(&GetVmsRequestBody::default()).await.unwrap();
    assert_eq!(recorder.take("get-vms"), [None]);
    let external = client.with_external_cloudtower_id("tower-b");
    external
        .get_vms(&GetVmsRequestBody::default())
        .await
        .unwrap();
    assert_eq!(recorder.take("get-vms"), [Some("tower-b".to_owned())]);
    // The binding belongs to the clone: the original still acts on its own tower.
    client.get_vms(&GetVmsRequestBody::default()).await.unwrap();
    assert_eq!(recorder.take("get-vms"), [None]);

    cli.login_to(&recorder.url, &[]).assert().success();
    cli.stdout(&["vm", "list"]);
    assert_eq!(recorder.take("get-vms"), [None]);
    cli.stdout(&["vm", "list", "--external-cloudtower-id", "tower-c"]);
    assert_eq!(recorder.take("get-vms"), [Some("tower-c".to_owned())]);
    let output = cli
        .cmd(&["vm", "list"])
        .env("CLOUDTOWER_EXTERNAL_CLOUDTOWER_ID", "tower-d")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(recorder.take("get-vms"), [Some("tower-d".to_owned())]);
}

/// An operation whose table entry does not take a header the client is bound to is refused
/// before anything is sent: sent without it, it would act on the wrong tower.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_the_operation_does_not_take_is_refused_before_sending() {
    static NO_HEADERS: cloudtower_api::OperationInfo = cloudtower_api::OperationInfo {
        headers: &[],
        ..cloudtower_api::models::operations::GET_VMS
    };
    let tower = MockTower::start().await.unwrap();
    let recorder = Recorder::start(&tower).await;
    let client = sdk_client(&recorder.url).await;
    recorder.take("get-vms");
    let bound = client.with_external_cloudtower_id("tower-b");
    let Err(error) = bound
        .execute(NO_HEADERS.json(&GetVmsRequestBody::default()))
        .await
    else {
        panic!("a call with a header its operation does not take was sent");
    };
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Construction(ConstructionError::HeaderParameter {
                header: EXTERNAL,
                ..
            })
        ),
        "{error}"
    );
    assert!(error.to_string().contains("nothing was sent"), "{error}");
    assert!(recorder.take("get-vms").is_empty());
}

/// A tower that reports an older version than an operation needs: the SDK and the command
/// line both refuse the call, naming both versions, and send nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_and_the_cli_refuse_the_same_too_new_operation_before_sending() {
    let tower = MockTower::start_with(MockConfig {
        version: Some("4.6.0".into()),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let since = cloudtower_api::models::operations::GET_BUSINESS_HOSTS.since;
    assert_eq!(since.first_seen, "4.8.0");

    let client = sdk_client(&tower.url()).await;
    let error = client
        .get_business_hosts(&GetBusinessHostsRequestBody::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Construction(ConstructionError::ServerTooOld { .. })
        ),
        "{error}"
    );
    let sdk_message = error.to_string();
    assert!(
        sdk_message.contains("4.8.0") && sdk_message.contains("4.6.0"),
        "{sdk_message}"
    );

    let cli = Cli::with_tower(tower);
    cli.login(&[]).success();
    // A stored session: the CLI asks the version before an operation some versions lack.
    let output = cli.cmd(&["business-host", "list"]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("4.8.0")
            && stderr.contains("runs 4.6.0")
            && stderr.contains("nothing was sent"),
        "{stderr}"
    );
    assert!(
        !cli.tower
            .requests()
            .iter()
            .any(|operation| operation == "get-business-hosts"),
        "nothing was sent"
    );
}

/// A read the table marks as one (`get-my-info`, which is of no list or count shape) is sent
/// again after a 503 by the SDK and by the command line alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_and_the_cli_retry_the_same_read_after_a_503() {
    assert!(cloudtower_api::models::operations::GET_MY_INFO.read);
    let cli = Cli::signed_in().await;
    let flaky = || Fault::new().status_rate(503, 1.0).times(1);
    let count = |tower: &MockTower| {
        tower
            .requests()
            .iter()
            .filter(|operation| *operation == "get-my-info")
            .count()
    };

    cli.tower.set_fault("get-my-info", flaky());
    let client = sdk_client(&cli.tower.url()).await;
    let me = client.get_my_info().await.unwrap();
    assert_eq!(count(&cli.tower), 2, "one 503, then the answer");

    cli.tower.set_fault("get-my-info", flaky());
    let answer = cli.json(&["user", "get-my-info"]);
    assert_eq!(answer["username"], me.username.as_str(), "the same answer");
    assert_eq!(count(&cli.tower), 4, "one 503, then the answer");
}
