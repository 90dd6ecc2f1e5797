//! The client against hostile and faulty servers on 127.0.0.1: endless bodies, redirects to
//! other hosts, a refused password under load, outages during a task wait, cycling cursors,
//! `Retry-After`. Each test asserts what a user sees.

use crate::common;
use cloudtower_api::error::{ConstructionError, ErrorKind, ResponseError, WorkflowError};

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Router;
use cloudtower_api::client::ApiRequest;
use cloudtower_api::models::{GetVmsRequestBody, Vm};
use cloudtower_api::tasks::WaitOptions;
use cloudtower_api::{Client, Error, PasswordLogin, RawBody, RetryPolicy, TaskFailureKind};
use common::{tasks_reply, tower, Log, Reply};
use futures_util::TryStreamExt;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const MIB: u64 = 1024 * 1024;

fn fast_retries(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
    }
}

/// `get-vms` as its generated method sends it: a read.
async fn get_vms(client: &Client) -> Result<Value, Error> {
    client
        .execute(ApiRequest::json("get-vms", &json!({})).read())
        .await?
        .decode()
}

/// What a raw server wrote, and whether it stopped writing.
#[derive(Clone, Default)]
struct Written {
    bytes: Arc<AtomicU64>,
    stopped: Arc<AtomicBool>,
}

impl Written {
    /// Waits (up to 10 s) until the server stopped writing; returns the body bytes written.
    async fn when_stopped(&self) -> u64 {
        for _ in 0..1000 {
            if self.stopped.load(Ordering::SeqCst) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            self.stopped.load(Ordering::SeqCst),
            "the server is still writing"
        );
        self.bytes.load(Ordering::SeqCst)
    }
}

/// A raw HTTP/1.1 server that answers every request with `head` and then a chunked body of
/// `chunk` repeated every `pause`, until the client goes away or 2 GiB were sent.
async fn endless(head: &'static str, chunk: Vec<u8>, pause: Duration) -> (String, Written) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let written = Written::default();
    let report = written.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let written = report.clone();
            let chunk = chunk.clone();
            tokio::spawn(async move {
                // The request head is enough; the answer does not depend on it.
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                let framed = [
                    format!("{:x}\r\n", chunk.len()).into_bytes(),
                    chunk,
                    b"\r\n".to_vec(),
                ]
                .concat();
                let mut ok = stream.write_all(head.as_bytes()).await.is_ok()
                    && stream.write_all(b"1\r\n[\r\n").await.is_ok();
                while ok && written.bytes.load(Ordering::SeqCst) < 2048 * MIB {
                    ok = stream.write_all(&framed).await.is_ok();
                    if ok {
                        written
                            .bytes
                            .fetch_add(framed.len() as u64, Ordering::SeqCst);
                    }
                    if !pause.is_zero() {
                        tokio::time::sleep(pause).await;
                    }
                }
                written.stopped.store(true, Ordering::SeqCst);
            });
        }
    });
    (format!("http://{addr}"), written)
}

const OK_CHUNKED: &str =
    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";

#[tokio::test]
async fn an_endless_body_stops_at_the_size_limit() {
    let (url, written) = endless(OK_CHUNKED, vec![b' '; 64 * 1024], Duration::ZERO).await;
    let client = Client::builder(&url)
        .max_response_bytes(MIB)
        .build()
        .unwrap();
    let err = get_vms(&client).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Response(ResponseError::BodyTooLarge { limit, .. }) if *limit == MIB)
            && err.operation() == Some("get-vms"),
        "{err:?}"
    );
    assert!(!err.is_retryable(), "a body too large is not read again");
    // The client stopped reading: the server stopped at what the socket buffers hold.
    let sent = written.when_stopped().await;
    assert!(sent < 64 * MIB, "the server sent {sent} bytes");
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_before_reading() {
    let log = Log::default();
    let url = tower(log, |_, _| Reply::ok(json!(vec!["x"; 1000]))).await;
    let client = Client::builder(&url)
        .max_response_bytes(1000)
        .build()
        .unwrap();
    let err = get_vms(&client).await.unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Response(ResponseError::BodyTooLarge { limit: 1000, .. })
        ),
        "{err:?}"
    );
    // Just under the limit is fine.
    let client = Client::builder(&url)
        .max_response_bytes(10_000)
        .build()
        .unwrap();
    assert_eq!(
        get_vms(&client).await.unwrap().as_array().unwrap().len(),
        1000
    );
}

#[tokio::test]
async fn an_endless_error_body_is_cut_at_64_kib_and_keeps_its_status() {
    const ERROR_CHUNKED: &str = "HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/html\r\n\
         transfer-encoding: chunked\r\n\r\n";
    let (url, written) = endless(ERROR_CHUNKED, vec![b'x'; 16 * 1024], Duration::ZERO).await;
    let client = Client::new(&url).unwrap();
    let err = get_vms(&client).await.unwrap_err();
    assert_eq!(err.status(), Some(500), "{err:?}");
    assert_eq!(err.raw_body().unwrap().len(), 64 * 1024);
    assert!(err.error_body().is_none());
    assert!(written.when_stopped().await < 64 * MIB);
}

#[tokio::test]
async fn the_timeout_bounds_a_body_that_trickles() {
    let (url, written) = endless(OK_CHUNKED, vec![b' '], Duration::from_millis(50)).await;
    let client = Client::builder(&url)
        .timeout(Duration::from_millis(500))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = get_vms(&client).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    written.when_stopped().await;
}

/// A server that records every call it gets (the "other host" of a redirect).
async fn other_host() -> (String, Log) {
    let log = Log::default();
    let url = tower(log.clone(), |_, _| {
        Reply::ok(json!({"task_id": null, "data": {"token": "stolen"}}))
    })
    .await;
    (url, log)
}

/// Answers every call with `status` and a `Location` on `target` (same path).
fn redirecting(status: u16, target: String) -> Router {
    Router::new().fallback(move |request: axum::extract::Request| {
        let location = format!("{target}{}", request.uri().path());
        async move {
            let mut headers = HeaderMap::new();
            headers.insert("location", HeaderValue::from_str(&location).unwrap());
            (axum::http::StatusCode::from_u16(status).unwrap(), headers).into_response()
        }
    })
}

#[tokio::test]
async fn a_redirect_of_the_login_is_not_followed_and_the_password_stays_home() {
    let (other, other_log) = other_host().await;
    for status in [301, 302, 303, 307, 308] {
        let url = common::serve(redirecting(status, other.clone())).await;
        let client = Client::new(&url).unwrap();
        let err = client
            .sign_in(PasswordLogin::new("admin", "hunter2"))
            .await
            .unwrap_err();
        let expected_location = format!("{other}/v2/api/login");
        assert!(
            matches!(err.kind(), ErrorKind::Response(ResponseError::Redirect { status: s, location: Some(l), .. })
                if *s == status && *l == expected_location)
                && err.operation() == Some("login"),
            "{err:?}"
        );
        assert!(err.to_string().contains(&expected_location), "{err}");
        assert!(!client.is_authenticated());
    }
    assert!(
        other_log.all().is_empty(),
        "the other host got {:?}",
        other_log.all()
    );
}

#[tokio::test]
async fn a_redirect_of_a_call_does_not_carry_the_token_away() {
    let (other, other_log) = other_host().await;
    let url = common::serve(redirecting(308, other)).await;
    let client = Client::builder(&url).token("my-token").build().unwrap();
    let err = get_vms(&client).await.unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Response(ResponseError::Redirect { status: 308, .. })
        ),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(other_log.all().is_empty());
}

#[tokio::test]
async fn a_redirect_from_https_to_http_is_not_followed() {
    let (plain, plain_log) = other_host().await;
    let (https, pem) = common::serve_https(redirecting(301, plain.clone())).await;
    let client = Client::builder(&https)
        .root_certificate_pem(pem)
        .token("my-token")
        .build()
        .unwrap();
    let err = get_vms(&client).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Response(ResponseError::Redirect { status: 301, location: Some(l), .. }) if l.starts_with("http://")),
        "{err:?}"
    );
    assert!(
        plain_log.all().is_empty(),
        "the token went out in clear text"
    );
}

const LOGIN: &str = "/v2/api/login";

/// A tower whose password was changed after the first login: every later login is refused,
/// and every other call answers 401.
async fn password_changed_tower(log: &Log) -> String {
    tower(log.clone(), |seen, n| {
        if seen.path == LOGIN {
            if n == 0 {
                return Reply::ok(json!({"task_id": null, "data": {"token": "token-1"}}));
            }
            // Slow enough that all the calls queue behind it.
            return Reply::json(
                400,
                json!({"message": "invalid username or password", "status": 400}),
            )
            .after(Duration::from_millis(100));
        }
        Reply::json(401, json!({"message": "unauthorized", "status": 401}))
    })
    .await
}

#[tokio::test]
async fn a_refused_password_under_50_concurrent_calls_makes_one_login() {
    let log = Log::default();
    let url = password_changed_tower(&log).await;
    let client = Client::builder(&url)
        .relogin_backoff(Duration::from_millis(300), Duration::from_secs(1))
        .build()
        .unwrap();
    client
        .sign_in(PasswordLogin::new("admin", "old-password"))
        .await
        .unwrap();

    let calls: Vec<_> = (0..50)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { get_vms(&client).await })
        })
        .collect();
    for call in calls {
        let err = call.await.unwrap().unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::Workflow(WorkflowError::Reauthentication(_))
            ),
            "{err:?}"
        );
        assert_eq!(err.status(), Some(400), "the login's own answer: {err}");
    }
    assert_eq!(log.count(LOGIN), 2, "the sign-in, then one failed re-login");

    // Until the backoff has passed, a 401 gets the same failure without a login.
    let error = get_vms(&client).await.unwrap_err();
    assert!(matches!(
        error.kind(),
        ErrorKind::Workflow(WorkflowError::Reauthentication(_))
    ));
    assert_eq!(log.count(LOGIN), 2);

    // Then one call tries again, and the delay doubles.
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(get_vms(&client).await.is_err());
    assert_eq!(log.count(LOGIN), 3);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(get_vms(&client).await.is_err());
    assert_eq!(log.count(LOGIN), 3, "600 ms after the second failure");
}

#[tokio::test]
async fn a_new_token_ends_the_login_backoff() {
    let log = Log::default();
    let url = tower(log.clone(), |seen, n| match seen.path.as_str() {
        LOGIN if n == 0 => Reply::ok(json!({"task_id": null, "data": {"token": "token-1"}})),
        LOGIN => Reply::json(400, json!({"message": "invalid username or password"})),
        _ if seen.header("authorization") == Some("fresh") => Reply::ok(json!([])),
        _ => Reply::json(401, json!({"message": "unauthorized"})),
    })
    .await;
    let client = Client::new(&url).unwrap();
    client
        .sign_in(PasswordLogin::new("admin", "pw"))
        .await
        .unwrap();
    assert!(get_vms(&client).await.is_err());
    client.set_token("fresh");
    assert_eq!(get_vms(&client).await.unwrap(), json!([]));
}

#[tokio::test]
async fn a_task_wait_outlasts_an_outage_longer_than_the_not_found_grace() {
    let log = Log::default();
    let outage = Instant::now() + Duration::from_millis(600);
    let url = tower(log.clone(), move |seen, poll| {
        if Instant::now() < outage {
            return Reply::json(503, json!({"message": "tower restarting"}));
        }
        tasks_reply(seen, poll, |_, _| Some("SUCCESSED"))
    })
    .await;
    let client = Client::builder(&url)
        .retry_policy(fast_retries(1))
        .build()
        .unwrap();
    let options = WaitOptions {
        interval: Duration::from_millis(20),
        max_interval: Duration::from_millis(50),
        not_found_grace: Duration::from_millis(100),
        timeout: Duration::from_secs(10),
        ..Default::default()
    };
    let task = client.wait_task_with("task-1", &options).await.unwrap();
    assert_eq!(task.id, "task-1");
    assert!(
        log.count("/v2/api/get-tasks") > 3,
        "polled through the outage"
    );
}

#[tokio::test]
async fn a_task_wait_in_an_endless_outage_times_out_rather_than_not_found() {
    let log = Log::default();
    let url = tower(log, |_, _| Reply::json(503, json!({"message": "down"}))).await;
    let client = Client::builder(&url)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let options = WaitOptions {
        interval: Duration::from_millis(20),
        max_interval: Duration::from_millis(50),
        not_found_grace: Duration::from_millis(50),
        timeout: Duration::from_millis(500),
        ..Default::default()
    };
    let err = client.wait_task_with("task-1", &options).await.unwrap_err();
    let Some(failure) = err.task_failure() else {
        panic!("{err:?}")
    };
    assert_eq!(failure.kind, TaskFailureKind::TimedOut);
}

#[tokio::test]
async fn the_wait_timeout_bounds_a_poll_in_flight() {
    let log = Log::default();
    let url = tower(log, |seen, poll| {
        tasks_reply(seen, poll, |_, _| Some("EXECUTING")).after(Duration::from_secs(30))
    })
    .await;
    let client = Client::new(&url).unwrap();
    let options = WaitOptions {
        timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let started = Instant::now();
    let err = client.wait_task_with("task-1", &options).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    // The poll takes 30 s and the client's own timeout is 60 s: only the wait's stopped it.
    assert!(started.elapsed() < Duration::from_secs(10));
}

fn vm(id: &str) -> Value {
    json!({"id": id, "name": id})
}

/// Pages VMs by `after` as `next(after)` says.
async fn paging_tower(next: fn(Option<&str>) -> Vec<&'static str>) -> (Client, Log) {
    let log = Log::default();
    let url = tower(log.clone(), move |seen, _| {
        let page: Vec<Value> = next(seen.body["after"].as_str())
            .into_iter()
            .map(vm)
            .collect();
        Reply::ok(Value::Array(page))
    })
    .await;
    (Client::new(&url).unwrap(), log)
}

async fn items_until_error(client: &Client) -> (Vec<String>, Error) {
    let mut items = std::pin::pin!(client
        .paginate(GetVmsRequestBody::default())
        .page_size(2)
        .items());
    let mut ids = Vec::new();
    loop {
        match items.try_next().await {
            Ok(Some(vm)) => ids.push(vm.id),
            Ok(None) => panic!("the stream ended without an error after {ids:?}"),
            Err(err) => return (ids, err),
        }
    }
}

#[tokio::test]
async fn a_cycling_cursor_ends_with_an_error_and_no_item_twice() {
    let (client, log) = paging_tower(|after| match after {
        None => vec!["a", "b"],
        Some("b") => vec!["c", "d"],
        // Back to the start.
        _ => vec!["a", "b"],
    })
    .await;
    let (ids, err) = items_until_error(&client).await;
    assert_eq!(ids, ["a", "b", "c", "d"]);
    assert!(
        matches!(err.kind(), ErrorKind::Response(ResponseError::Protocol { reason, .. }) if reason.contains("\"a\""))
            && err.operation() == Some("get_vms"),
        "{err:?}"
    );
    assert_eq!(log.all().len(), 3);
}

#[tokio::test]
async fn a_server_ignoring_after_yields_its_page_once() {
    let (client, log) = paging_tower(|_| vec!["a", "b"]).await;
    let (ids, err) = items_until_error(&client).await;
    assert_eq!(ids, ["a", "b"]);
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Response(ResponseError::Protocol { .. })
        ),
        "{err:?}"
    );
    assert_eq!(log.all().len(), 2);
    // An item a page repeats within itself is yielded once, and such a server is caught at
    // the next page.
    let (client, _) = paging_tower(|_| vec!["a", "a"]).await;
    let (ids, err) = items_until_error(&client).await;
    assert_eq!(ids, ["a"]);
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Response(ResponseError::Protocol { .. })
        ),
        "{err:?}"
    );
}

/// Answers `get-vms` and `delete-vm` with `status` and `Retry-After: retry_after` the first
/// `failures` times, then 200; logs when each call arrived.
async fn busy_tower(
    status: u16,
    retry_after: &'static str,
    failures: usize,
) -> (String, Arc<std::sync::Mutex<Vec<(String, Instant)>>>) {
    let arrivals = Arc::new(std::sync::Mutex::new(Vec::<(String, Instant)>::new()));
    let seen = arrivals.clone();
    let router = Router::new().fallback(move |request: axum::extract::Request| {
        let seen = seen.clone();
        async move {
            let path = request.uri().path().to_owned();
            let n = {
                let mut seen = seen.lock().unwrap();
                seen.push((path.clone(), Instant::now()));
                seen.iter().filter(|(p, _)| *p == path).count() - 1
            };
            let response: Response = if n < failures {
                let mut headers = HeaderMap::new();
                headers.insert("retry-after", HeaderValue::from_static(retry_after));
                (
                    axum::http::StatusCode::from_u16(status).unwrap(),
                    headers,
                    axum::Json(json!({"message": "slow down"})),
                )
                    .into_response()
            } else {
                axum::Json(json!([])).into_response()
            };
            response
        }
    });
    (common::serve(router).await, arrivals)
}

#[tokio::test]
async fn a_read_waits_as_long_as_retry_after_says() {
    for status in [429, 503] {
        let (url, arrivals) = busy_tower(status, "1", 1).await;
        let client = Client::builder(&url)
            .retry_policy(fast_retries(3))
            .build()
            .unwrap();
        assert_eq!(get_vms(&client).await.unwrap(), json!([]));
        let arrivals = arrivals.lock().unwrap().clone();
        assert_eq!(arrivals.len(), 2, "{status}");
        let waited = arrivals[1].1 - arrivals[0].1;
        // The backoff alone would be 5 ms.
        assert!(waited >= Duration::from_millis(950), "{status}: {waited:?}");
    }
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_ends_the_call_with_it() {
    let (url, arrivals) = busy_tower(503, "3600", 10).await;
    let client = Client::builder(&url)
        .retry_policy(fast_retries(3))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = get_vms(&client).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(arrivals.lock().unwrap().len(), 1);

    // An HTTP date works too, and a cap can be raised.
    let (url, arrivals) = busy_tower(429, "Thu, 01 Jan 1970 00:00:00 GMT", 1).await;
    let client = Client::builder(&url)
        .retry_policy(fast_retries(3))
        .max_retry_after(Duration::from_secs(1))
        .build()
        .unwrap();
    assert_eq!(get_vms(&client).await.unwrap(), json!([]));
    assert_eq!(
        arrivals.lock().unwrap().len(),
        2,
        "a date in the past: at once"
    );
}

#[tokio::test]
async fn a_mutation_answered_429_is_not_sent_again() {
    let (url, arrivals) = busy_tower(429, "0", 10).await;
    let client = Client::builder(&url)
        .retry_policy(fast_retries(3))
        .build()
        .unwrap();
    let err = client
        .execute(ApiRequest::json(
            "delete-vm",
            &json!({"where": {"id": "vm-1"}}),
        ))
        .await
        .err()
        .unwrap();
    assert_eq!(err.status(), Some(429));
    assert!(err.is_retryable(), "the caller may try again");
    assert_eq!(arrivals.lock().unwrap().len(), 1);
}

#[test]
fn secrets_stay_out_of_debug_and_errors() {
    let builder = Client::builder("https://tower.example.com")
        .proxy("http://proxy-user:proxy-pass@proxy.example.com:3128")
        .token("the-token");
    let debug = format!("{builder:?}");
    assert!(
        !debug.contains("proxy-pass") && !debug.contains("the-token"),
        "{debug}"
    );
    assert!(debug.contains("proxy.example.com:3128"), "{debug}");

    let err = Client::builder("https://tower.example.com")
        .proxy("http://proxy-user:proxy-pass@[not a host")
        .build()
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Construction(ConstructionError::Config { .. })
        ),
        "{err:?}"
    );
    assert!(!shown.contains("proxy-pass"), "{shown}");

    let vnc = RawBody(
        json!({"redirect": "vnc-tok", "direct": "direct-tok", "terminal": "ws://t?tok",
               "cluster_ip": "192.0.2.2", "Authorization": "Bearer x", "set-cookie": "s=1"})
        .to_string()
        .into(),
    );
    let debug = format!("{vnc:?}");
    for secret in ["vnc-tok", "direct-tok", "ws://t", "Bearer", "s=1"] {
        assert!(!debug.contains(secret), "{debug}");
    }
    assert!(debug.contains("192.0.2.2"), "{debug}");

    let info = cloudtower_api::models::VmVncInfo {
        vm: Vm::default(),
        terminal: "ws://terminal?token=t".into(),
        redirect: "vnc-tok".into(),
        direct: Some("direct-tok".into()),
        cluster_ip: "192.0.2.2".into(),
    };
    let debug = format!("{info:?}");
    for secret in ["vnc-tok", "direct-tok", "ws://terminal"] {
        assert!(!debug.contains(secret), "{debug}");
    }
}

#[tokio::test]
async fn a_chunk_that_hangs_times_out_and_its_upload_task_is_cancelled() {
    let log = Log::default();
    let url = tower(log.clone(), |seen, n| match seen.path.as_str() {
        "/v2/api/upload-elf-image" if n == 0 => Reply::ok(json!([{
            "id": "upload-1", "args": {}, "chunk_size": 1000, "current_chunk": 1,
            "resource_type": "ELF_IMAGE", "size": 3000, "status": "UPLOADING",
            "updatedAt": "2024-01-01T00:00:00Z",
        }])),
        // The second chunk never gets an answer in time.
        "/v2/api/upload-elf-image" => Reply::ok(json!([])).after(Duration::from_secs(30)),
        _ => Reply::ok(json!(["upload-1"])),
    })
    .await;
    let client = Client::new(&url).unwrap();
    let upload = cloudtower_api::upload::ElfImageUpload::new("cluster-1", "disk.iso")
        .chunk_size(1000)
        .chunk_timeout(Duration::from_millis(300));
    let data = vec![1u8; 3000];
    let err = client
        .upload_elf_image(data.as_slice(), 3000, upload)
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    let cancels: Vec<_> = log
        .all()
        .into_iter()
        .filter(|s| s.path == "/v2/api/cancel-upload-task")
        .collect();
    assert_eq!(cancels.len(), 1);
    assert_eq!(cancels[0].body, json!({"where": {"id": "upload-1"}}));
}
