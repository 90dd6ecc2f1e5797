//! The transport against real HTTP servers: headers, errors, retries, timeouts, re-login.

use crate::common;
use cloudtower_runtime::error::{
    ConstructionError, DispatchError, ErrorKind, ResponseError, WorkflowError,
};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cloudtower_runtime::client::{ApiRequest, MultipartField};
use cloudtower_runtime::{Authenticator, Client, Error, FilePart, Language, RetryPolicy, Secret};
use common::{tower, Log, Reply};
use futures_util::future::BoxFuture;
use serde_json::{json, Value};

fn fast_retries(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
    }
}

/// Calls `operation` as its generated method would: `get-*` operations are reads.
async fn call(client: &Client, operation: &'static str) -> Result<Value, Error> {
    let mut request = ApiRequest::json(operation, &json!({"where": {"id": "vm-1"}}));
    if operation.starts_with("get-") {
        request = request.read();
    }
    client.execute(request).await?.decode()
}

#[tokio::test]
async fn calls_post_json_to_v2_api_with_key_language_and_user_agent() {
    let log = Log::default();
    let url = tower(log.clone(), |_, _| Reply::ok(json!([{"id": "vm-1"}]))).await;
    let client = Client::builder(format!("{url}/"))
        .api_key("key-123")
        .content_language(Language::ZhCn)
        .user_agent("my-tool/1.0")
        .build()
        .unwrap();

    assert_eq!(
        call(&client, "get-vms").await.unwrap(),
        json!([{"id": "vm-1"}])
    );
    call(&client.with_language(Language::EnUs), "get-vms")
        .await
        .unwrap();
    // The original client keeps its language.
    call(&client, "get-vms").await.unwrap();

    let seen = log.all();
    assert_eq!(seen[0].path, "/v2/api/get-vms");
    assert_eq!(seen[0].body, json!({"where": {"id": "vm-1"}}));
    assert_eq!(seen[0].header("authorization"), Some("key-123"));
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    assert_eq!(seen[0].header("user-agent"), Some("my-tool/1.0"));
    let languages: Vec<_> = seen.iter().map(|s| s.header("content-language")).collect();
    assert_eq!(languages, [Some("zh-CN"), Some("en-US"), Some("zh-CN")]);
}

#[tokio::test]
async fn endpoint_already_ending_in_v2_api_is_kept() {
    let log = Log::default();
    let url = tower(log.clone(), |_, _| Reply::ok(json!([]))).await;
    let client = Client::new(&format!("{url}/v2/api")).unwrap();
    call(&client, "get-hosts").await.unwrap();
    assert_eq!(log.all()[0].path, "/v2/api/get-hosts");
    assert_eq!(log.all()[0].header("authorization"), None);
    assert_eq!(log.all()[0].header("content-language"), None);
}

#[tokio::test]
async fn bad_configuration_is_a_config_error() {
    for builder in [
        Client::builder("not a url"),
        Client::builder("ftp://tower"),
        Client::builder("https://tower").proxy("::bad proxy::"),
        Client::builder("https://tower").root_certificate_pem("not a certificate"),
    ] {
        let err = builder.build().unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::Construction(ConstructionError::Config { .. })
            ),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn get_and_multipart_requests_reach_the_server() {
    let log = Log::default();
    let url = tower(log.clone(), |s, _| match s.path.as_str() {
        "/v2/api/get-version" => Reply::ok(json!("4.6.0")),
        _ => Reply::ok(json!([{"task_id": "t1", "data": {"id": "upload-1"}}])),
    })
    .await;
    let client = Client::new(&url).unwrap();
    let version: String = client
        .execute(ApiRequest::get(
            "get-version",
            vec![("detail", "true".into())],
        ))
        .await
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!(version, "4.6.0");
    let file = FilePart::new("disk.iso", b"ISO BYTES".to_vec());
    let fields = vec![
        MultipartField::text("name", "disk"),
        MultipartField::file("file", file),
    ];
    client
        .execute(ApiRequest::multipart("upload-elf-image", fields))
        .await
        .unwrap();
    let seen = log.all();
    assert!(seen[1]
        .header("content-type")
        .unwrap()
        .starts_with("multipart/form-data"));
}

#[tokio::test]
async fn not_modified_answers_decode_to_none() {
    let url = tower(Log::default(), |_, _| Reply::text(304, "")).await;
    let client = Client::new(&url).unwrap();
    let response = client
        .execute(ApiRequest::empty("get-something"))
        .await
        .unwrap();
    assert_eq!(
        response.decode_unless_not_modified::<Value>().unwrap(),
        None
    );
}

#[tokio::test]
async fn error_answers_keep_error_body_request_id_and_locked_resources() {
    let url = tower(Log::default(), |_, _| {
        Reply::json(
            400,
            json!({
                "code": "ResourceLocked",
                "message": "vm is locked by another operation",
                "status": 400,
                "path": "/v2/api/update-vm",
                "operationName": "updateVm",
                "props": {"locked_resources": [{"id": "vm-1", "type": "VM"}]},
            }),
        )
    })
    .await;
    let client = Client::new(&url).unwrap();
    let err = call(&client, "update-vm").await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.operation(), Some("update-vm"));
    assert_eq!(err.request_id(), Some("req-0"));
    let body = err.error_body().unwrap();
    assert_eq!(body.message, "vm is locked by another operation");
    assert_eq!(body.operation_name.as_deref(), Some("updateVm"));
    assert!(err.is_resource_locked());
    assert_eq!(
        err.locked_resources(),
        Some(vec![cloudtower_runtime::LockedResource {
            id: "vm-1".into(),
            resource_type: Some("VM".into()),
        }])
    );
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("vm is locked"), "{err}");
}

#[tokio::test]
async fn error_answers_that_are_not_json_keep_the_raw_body() {
    let url = tower(Log::default(), |_, _| Reply::text(500, "<html>oops</html>")).await;
    let client = Client::new(&url).unwrap();
    let err = call(&client, "get-vms").await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert!(err.error_body().is_none());
    assert_eq!(err.raw_body(), Some(&b"<html>oops</html>"[..]));
    assert!(!err.is_resource_locked());
}

#[tokio::test]
async fn bodies_that_do_not_decode_name_operation_and_json_path() {
    let url = tower(Log::default(), |_, _| Reply::ok(json!([1, 2, "three"]))).await;
    let client = Client::new(&url).unwrap();
    let err = client
        .execute(ApiRequest::empty("get-numbers"))
        .await
        .unwrap()
        .decode::<Vec<i64>>()
        .unwrap_err();
    let ErrorKind::Response(ResponseError::Decode { source, raw, .. }) = err.kind() else {
        panic!("{err:?}")
    };
    assert_eq!(err.operation(), Some("get-numbers"));
    assert_eq!(source.path(), "/2");
    assert_eq!(raw.as_bytes(), br#"[1,2,"three"]"#);
    assert_eq!(err.request_id(), Some("req-0"));
    assert!(err.to_string().contains("/2"), "{err}");
}

#[tokio::test]
async fn reads_are_retried_after_transient_statuses() {
    let log = Log::default();
    let url = tower(log.clone(), |_, n| match n {
        0 => Reply::text(503, "starting"),
        1 => Reply::text(502, "bad gateway"),
        _ => Reply::ok(json!([])),
    })
    .await;
    let client = Client::builder(&url)
        .retry_policy(fast_retries(3))
        .build()
        .unwrap();
    assert_eq!(call(&client, "get-vms").await.unwrap(), json!([]));
    assert_eq!(log.count("/v2/api/get-vms"), 3);
}

#[tokio::test]
async fn retries_are_bounded() {
    let log = Log::default();
    let url = tower(log.clone(), |_, _| Reply::text(504, "timeout")).await;
    let client = Client::builder(&url)
        .retry_policy(fast_retries(2))
        .build()
        .unwrap();
    let err = call(&client, "get-vms").await.unwrap_err();
    assert_eq!(err.status(), Some(504));
    assert!(err.is_retryable());
    assert_eq!(log.count("/v2/api/get-vms"), 3);
}

#[tokio::test]
async fn mutations_and_permanent_errors_are_never_retried() {
    let log = Log::default();
    let url = tower(log.clone(), |s, _| match s.path.as_str() {
        "/v2/api/create-vm" => Reply::text(503, "busy"),
        _ => Reply::json(500, json!({"message": "boom", "status": 500, "path": "x"})),
    })
    .await;
    let client = Client::builder(&url)
        .retry_policy(fast_retries(3))
        .build()
        .unwrap();
    assert_eq!(
        call(&client, "create-vm").await.unwrap_err().status(),
        Some(503)
    );
    assert_eq!(
        call(&client, "get-vms").await.unwrap_err().status(),
        Some(500)
    );
    assert_eq!(log.count("/v2/api/create-vm"), 1);
    assert_eq!(log.count("/v2/api/get-vms"), 1);
}

#[tokio::test]
async fn refused_connections_are_retryable_transport_errors() {
    // A port that was free a moment ago and has no listener now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder(format!("http://127.0.0.1:{port}"))
        .retry_policy(fast_retries(1))
        .build()
        .unwrap();
    let err = call(&client, "get-vms").await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Dispatch(DispatchError::Transport(_)))
            && err.operation() == Some("get-vms"),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

/// A server that drops the first `drops` connections once it has read their request, and
/// answers `[]` on the others; counts the connections.
async fn dropping_server(drops: usize) -> (String, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                // Headers, then the (small) body: enough to know the request was sent.
                while !String::from_utf8_lossy(&request).contains("\r\n\r\n{") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => request.extend_from_slice(&buf[..k]),
                    }
                }
                if n >= drops {
                    let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n[]";
                    let _ = socket.write_all(answer.as_bytes()).await;
                }
            });
        }
    });
    (url, connections)
}

#[tokio::test]
async fn reads_are_retried_when_the_connection_drops_before_the_answer() {
    let (url, connections) = dropping_server(2).await;
    let client = Client::builder(&url)
        .retry_policy(fast_retries(3))
        .build()
        .unwrap();
    assert_eq!(call(&client, "get-vms").await.unwrap(), json!([]));
    assert_eq!(connections.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_mutation_whose_connection_drops_is_not_resent() {
    let (url, connections) = dropping_server(1).await;
    let client = Client::builder(&url)
        .retry_policy(fast_retries(3))
        .build()
        .unwrap();
    let err = call(&client, "create-vm").await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Dispatch(DispatchError::Transport(_)))
            && err.operation() == Some("create-vm"),
        "{err:?}"
    );
    // The tower may have created the VM: only the caller can tell whether to send it again.
    assert!(err.is_retryable());
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn slow_answers_end_in_a_timeout_error() {
    let url = tower(Log::default(), |_, _| {
        Reply::ok(json!([])).after(Duration::from_secs(5))
    })
    .await;
    let client = Client::builder(&url)
        .timeout(Duration::from_millis(200))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = call(&client, "get-vms").await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn unauthorized_without_credentials_is_a_401_error_sent_once() {
    let log = Log::default();
    let url = tower(log.clone(), |_, _| {
        Reply::json(
            401,
            json!({"message": "unauthorized", "status": 401, "path": "x"}),
        )
    })
    .await;
    let client = Client::builder(&url).api_key("revoked").build().unwrap();
    let err = call(&client, "get-vms").await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    assert_eq!(log.count("/v2/api/get-vms"), 1);
}

/// Logs in through the client's `login` operation and counts how often it did.
struct CountingLogin(Arc<AtomicUsize>);

impl Authenticator for CountingLogin {
    fn authenticate<'a>(
        &'a self,
        client: &'a cloudtower_runtime::client::Client,
    ) -> BoxFuture<'a, Result<Secret, Error>> {
        Box::pin(async move {
            self.0.fetch_add(1, Ordering::SeqCst);
            let answer: Value = client
                .execute(ApiRequest::json("login", &json!({"username": "admin"})))
                .await?
                .decode()?;
            Ok(Secret::new(
                answer["data"]["token"].as_str().unwrap_or_default(),
            ))
        })
    }
}

fn unauthorized() -> Reply {
    Reply::json(
        401,
        json!({"message": "token expired", "status": 401, "path": "x"}),
    )
}

#[tokio::test]
async fn concurrent_401s_share_one_login_and_are_retried_with_the_new_token() {
    let log = Log::default();
    let url = tower(log.clone(), |s, _| match s.path.as_str() {
        "/v2/api/login" => Reply::ok(json!({"task_id": null, "data": {"token": "fresh"}}))
            .after(Duration::from_millis(100)),
        _ if s.header("authorization") == Some("fresh") => Reply::ok(json!([])),
        _ => unauthorized(),
    })
    .await;
    let client = Client::builder(&url).token("stale").build().unwrap();
    let logins = Arc::new(AtomicUsize::new(0));
    client.set_authenticator(Arc::new(CountingLogin(logins.clone())));

    let calls = (0..8).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { call(&client, "get-vms").await })
    });
    for result in futures_util::future::join_all(calls).await {
        assert_eq!(result.unwrap().unwrap(), json!([]));
    }
    assert_eq!(logins.load(Ordering::SeqCst), 1);
    assert_eq!(log.count("/v2/api/login"), 1);
    // The new token stays for later calls.
    call(&client, "get-hosts").await.unwrap();
    assert_eq!(log.count("/v2/api/get-hosts"), 1);
}

#[tokio::test]
async fn a_401_after_logging_in_again_is_returned_not_retried_forever() {
    let log = Log::default();
    let url = tower(log.clone(), |s, _| match s.path.as_str() {
        "/v2/api/login" => Reply::ok(json!({"data": {"token": "also-rejected"}})),
        _ => unauthorized(),
    })
    .await;
    let client = Client::builder(&url).token("stale").build().unwrap();
    let logins = Arc::new(AtomicUsize::new(0));
    client.set_authenticator(Arc::new(CountingLogin(logins.clone())));
    let err = call(&client, "get-vms").await.unwrap_err();
    assert!(err.is_unauthorized());
    assert_eq!(logins.load(Ordering::SeqCst), 1);
    assert_eq!(log.count("/v2/api/get-vms"), 2);
}

#[tokio::test]
async fn a_failing_login_is_reported_without_looping() {
    let log = Log::default();
    let url = tower(log.clone(), |_, _| unauthorized()).await;
    let client = Client::builder(&url).token("stale").build().unwrap();
    let logins = Arc::new(AtomicUsize::new(0));
    client.set_authenticator(Arc::new(CountingLogin(logins.clone())));
    let err = call(&client, "get-vms").await.unwrap_err();
    // The call that failed, and the login's own failure inside it.
    assert_eq!(err.operation(), Some("get-vms"));
    let ErrorKind::Workflow(WorkflowError::Reauthentication(login)) = err.kind() else {
        panic!("{err:?}");
    };
    assert_eq!(login.operation(), Some("login"));
    assert!(
        err.to_string()
            .starts_with("get-vms: logging in again failed: login: HTTP 401"),
        "{err}"
    );
    assert!(err.is_unauthorized());
    assert_eq!(log.count("/v2/api/login"), 1);
    assert_eq!(log.count("/v2/api/get-vms"), 1);
}

#[tokio::test]
async fn two_clients_never_share_a_session() {
    let log = Log::default();
    let url = tower(log.clone(), |_, _| Reply::ok(json!([]))).await;
    let a = Client::new(&url).unwrap();
    let b = Client::new(&url).unwrap();
    a.set_token("token-a");
    call(&a.clone(), "get-vms").await.unwrap();
    call(&b, "get-vms").await.unwrap();
    let seen = log.all();
    assert_eq!(seen[0].header("authorization"), Some("token-a"));
    assert_eq!(seen[1].header("authorization"), None);
    assert!(a.is_authenticated() && !b.is_authenticated());
}

/// One fresh token refused right after a re-login (the session revoked again at once) does not
/// shut the client for the whole re-login backoff (30 s by default): the next re-login may
/// come a second later, and with a token the tower keeps, calls work again.
#[tokio::test]
async fn one_refused_fresh_token_pauses_relogins_a_second_not_the_whole_backoff() {
    let log = Log::default();
    let url = tower(log.clone(), |s, n| match s.path.as_str() {
        "/v2/api/login" => Reply::ok(json!({"data": {"token": format!("tok-{n}")}})),
        // The first re-login's session is revoked at once; later ones are kept.
        _ if kept_session(s.header("authorization")) => Reply::ok(json!([])),
        _ => unauthorized(),
    })
    .await;
    let client = Client::builder(&url).token("stale").build().unwrap();
    let logins = Arc::new(AtomicUsize::new(0));
    client.set_authenticator(Arc::new(CountingLogin(logins.clone())));

    let err = call(&client, "get-vms").await.unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Workflow(WorkflowError::Reauthentication(_))
        ),
        "{err:?}"
    );
    // Within the pause, a 401 gets that failure without a login.
    let err = call(&client, "get-vms").await.unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Workflow(WorkflowError::Reauthentication(_))
        ),
        "{err:?}"
    );
    assert_eq!(logins.load(Ordering::SeqCst), 1);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(call(&client, "get-vms").await.unwrap(), json!([]));
    assert_eq!(logins.load(Ordering::SeqCst), 2);
}

/// Whether `token` is one the tower keeps: `tok-N` (N counts the logins before it) from a
/// login after the first re-login (`tok-0`).
fn kept_session(token: Option<&str>) -> bool {
    token
        .and_then(|t| t.strip_prefix("tok-"))
        .and_then(|n| n.parse::<usize>().ok())
        .is_some_and(|n| n >= 1)
}
