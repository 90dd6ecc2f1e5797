//! The second hardening round: what a hostile server, a faulty tower or an unusual caller
//! used to break (a panic, an abort, a flood of requests or logins, a wrong answer, a leaked
//! secret), against servers on 127.0.0.1. Each test asserts what a user sees.

use crate::common;
use cloudtower_api::error::{ConstructionError, ErrorKind, ResponseError, WorkflowError};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cloudtower_api::models::{GetVmsRequestBody, Vm};
use cloudtower_api::tasks::WaitOptions;
use cloudtower_api::upload::ElfImageUpload;
use cloudtower_api::watch::{WatchError, WatchOptions};
use cloudtower_api::{codec, Client, Error, PasswordLogin, RetryPolicy, TaskFailureKind};
use common::{tasks_reply, tower, Log, Reply, Seen};
use futures_util::StreamExt;
use serde_json::{json, Value};

const LOGIN: &str = "/v2/api/login";
const GET_VMS: &str = "/v2/api/get-vms";

fn fast_retries(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
    }
}

fn client(url: &str) -> Client {
    Client::builder(url)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

/// Signed in, and logging in again soon after a login that got no answer (the retry
/// policy's backoff, here milliseconds).
async fn signed_in_with_fast_relogins(url: &str) -> Client {
    let client = Client::builder(url)
        .retry_policy(fast_retries(0))
        .build()
        .unwrap();
    client
        .sign_in(PasswordLogin::new("admin", "pw"))
        .await
        .unwrap();
    client
}

fn get_vms() -> GetVmsRequestBody {
    GetVmsRequestBody::default()
}

fn vm(id: &str) -> Value {
    json!({"id": id, "name": format!("name-{id}")})
}

fn ids(vms: &[Vm]) -> Vec<&str> {
    vms.iter().map(|vm| vm.id.as_str()).collect()
}

fn login_ok(token: &str) -> Reply {
    Reply::ok(json!({"task_id": null, "data": {"token": token}}))
}

fn unauthorized(seen: &Seen) -> Reply {
    Reply::json(
        401,
        json!({"message": "unauthorized", "status": 401, "path": seen.path}),
    )
}

// ---------------------------------------------------------------------------------------------
// The process can no longer be killed or stalled

#[tokio::test]
async fn eight_mib_of_empty_objects_is_refused_instead_of_gigabytes_of_default_vms() {
    let mut body = String::with_capacity(8 << 20);
    body.push('[');
    while body.len() < (8 << 20) - 3 {
        body.push_str("{},");
    }
    body.push_str("{}]");
    let body = Arc::new(body);
    let log = Log::default();
    let url = tower(log, move |_, _| Reply::text(200, &body)).await;
    let err = client(&url).get_vms(&get_vms()).await.unwrap_err();
    let ErrorKind::Response(ResponseError::Decode { source, .. }) = err.kind() else {
        panic!("expected a decode error, got {err:?}");
    };
    assert!(source.message().contains("max_alloc_ratio"), "{err}");
    // Refused as soon as the budget ran out (16 bytes per byte of body plus 1 MiB), in VMs
    // of 1.4 KB, not after millions of them.
    let index: usize = source.path().trim_start_matches('/').parse().unwrap();
    let vm_size = std::mem::size_of::<Vm>();
    let budget = (8 << 20) * codec::DEFAULT_MAX_ALLOC_RATIO as usize + (1 << 20);
    assert!(index * vm_size <= budget, "{index} VMs of {vm_size} bytes");
    assert!(index > 10_000, "{index}");
}

#[test]
fn the_decode_budget_is_configurable_and_counts_free_form_lists_too() {
    // 300 KB of `[],` is 100,000 `Value`s: megabytes.
    let nested = format!("[{}[]]", "[],".repeat(100_000));
    let tight = codec::DecodeOptions::default().max_alloc_ratio(1);
    let err = codec::decode_with_options::<Value>(nested.as_bytes(), &tight).unwrap_err();
    assert!(err.message().contains("max_alloc_ratio"), "{err}");
    let loose = codec::DecodeOptions::default().max_alloc_ratio(64);
    let value = codec::decode_with_options::<Value>(nested.as_bytes(), &loose).unwrap();
    assert_eq!(value.as_array().unwrap().len(), 100_001);
}

/// `call_operation` decodes the caller's JSON into the typed, recursive `VmWhereInput`: a
/// filter of 100 nested `NOT`s used to overflow a tokio worker's stack and abort the process.
#[test]
fn a_caller_filter_nested_100_deep_is_refused_on_a_worker_thread_without_overflow() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_stack_size(2 << 20)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let log = Log::default();
        let url = tower(log.clone(), |_, _| Reply::ok(json!([]))).await;
        let mut filter = json!({"name": "db-1"});
        for _ in 0..100 {
            filter = json!({"NOT": [filter]});
        }
        let body = serde_json::to_vec(&json!({"where": filter})).unwrap();
        let client = client(&url);
        // On a worker: the call's decoding runs on its 2 MiB stack.
        let answer = tokio::spawn(async move { client.call_operation("get-vms", &body).await })
            .await
            .unwrap();
        let err = answer.unwrap_err();
        let ErrorKind::Construction(ConstructionError::InvalidRequest { source, .. }) = err.kind()
        else {
            panic!("expected an invalid request, got {err:?}");
        };
        assert!(source.message().contains("max_stack_bytes"), "{err}");
        assert_eq!(log.count(GET_VMS), 0, "nothing is sent");

        // A filter as deep as real ones still goes through.
        let mut filter = json!({"name": "db-1"});
        for _ in 0..3 {
            filter = json!({"NOT": [filter]});
        }
        let body = serde_json::to_vec(&json!({"where": filter})).unwrap();
        let client = self::client(&url);
        tokio::spawn(async move { client.call_operation("get-vms", &body).await })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(log.count(GET_VMS), 1);
    });
}

/// Every depth of nested `NOT`s up to the depth limit decodes, or is refused, on a 2 MiB
/// thread: none overflows it. Prints the stack one level of `VmWhereInput` takes.
#[test]
fn no_depth_of_caller_filter_overflows_a_2_mib_stack() {
    let deepest = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let mut deepest = 0;
            let mut filter = json!({"name": "db-1"});
            for depth in 1..=128 {
                filter = json!({"NOT": [filter]});
                let body = serde_json::to_vec(&json!({"where": filter})).unwrap();
                match codec::decode_strict::<GetVmsRequestBody>(&body) {
                    Ok(_) => deepest = depth,
                    Err(err) => assert!(err.message().contains("max_stack_bytes"), "{err}"),
                }
            }
            deepest
        })
        .unwrap()
        .join()
        .expect("no stack overflow");
    let per_level = codec::DEFAULT_MAX_STACK_BYTES / (deepest + 1);
    eprintln!(
        "caller filters: {deepest} nested NOTs decode within the 1 MiB stack budget \
         (about {} KiB of stack per level in this build)",
        per_level / 1024
    );
    assert!(deepest >= 4, "{deepest}");
}

#[tokio::test]
async fn waits_of_forever_and_infinite_backoffs_do_not_panic() {
    let log = Log::default();
    let url = tower(log.clone(), |seen, n| {
        tasks_reply(seen, n, |_, poll| {
            Some(if poll < 2 { "EXECUTING" } else { "SUCCESSED" })
        })
    })
    .await;
    let options = WaitOptions {
        interval: Duration::from_millis(10),
        backoff: f64::INFINITY,
        max_interval: Duration::from_millis(20),
        timeout: Duration::MAX,
        ..Default::default()
    };
    let tasks = client(&url)
        .wait_tasks_with(&["task-1".to_owned()], &options)
        .await
        .unwrap();
    assert_eq!(tasks[0].id, "task-1");
    assert_eq!(log.count("/v2/api/get-tasks"), 3);

    // A NaN factor polls at the fixed interval.
    let options = WaitOptions {
        backoff: f64::NAN,
        ..options
    };
    client(&url)
        .wait_tasks_with(&["task-1".to_owned()], &options)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_huge_watch_backoff_does_not_overflow() {
    let log = Log::default();
    let url = tower(log, |_, _| Reply::text(503, "restarting")).await;
    let options = WatchOptions {
        initial_backoff: Duration::MAX,
        max_backoff: Duration::MAX,
        ..Default::default()
    };
    let client = client(&url);
    let mut changes = std::pin::pin!(client.watch_resource_changes(options));
    let first = changes.next().await.unwrap().unwrap_err();
    assert!(first.is_transient(), "{first}");
}

fn changes(current: &str, events: &[&str]) -> Reply {
    let data: Vec<Value> = events
        .iter()
        .map(|revision| json!({"revision": revision, "resource_type": "Vm", "action": "UPDATE"}))
        .collect();
    Reply::ok(json!({
        "current_revision": current, "compact_revision": "1", "data": data, "ec": "", "error": null,
    }))
}

#[tokio::test]
async fn a_full_page_of_old_changes_pauses_instead_of_flooding_the_tower() {
    // A tower that ignores `start_revision`: always the same full page of revisions 5 and 6.
    let log = Log::default();
    let url = tower(log.clone(), |_, _| changes("6", &["5", "6"])).await;
    let options = WatchOptions {
        start_revision: Some("5".into()),
        limit: Some(2),
        poll_interval: Duration::from_millis(200),
        ..Default::default()
    };
    let client = client(&url);
    let mut stream = std::pin::pin!(client.watch_resource_changes(options));
    let mut seen = Vec::new();
    let watched = tokio::time::timeout(Duration::from_millis(800), async {
        while let Some(event) = stream.next().await {
            seen.push(event.unwrap().revision);
        }
    })
    .await;
    assert!(watched.is_err(), "the watch goes on");
    assert_eq!(seen, ["5", "6"], "each change once");
    let requests = log.count("/v2/api/resource-changes");
    // One request per poll interval, not hundreds.
    assert!((2..=8).contains(&requests), "{requests} requests in 800 ms");
}

#[tokio::test]
async fn a_watch_rides_out_its_call_timeout() {
    let log = Log::default();
    let url = tower(log.clone(), |seen, n| {
        // A client given a token asks the version before its first call of an operation some
        // versions lack (`resource-changes` is not in 1.8.0).
        if seen.path == "/v2/api/get-version" {
            return Reply::ok(serde_json::json!("4.8.0"));
        }
        let reply = changes("8", &["8"]);
        if n == 0 {
            reply.after(Duration::from_secs(5))
        } else {
            reply
        }
    })
    .await;
    let options = WatchOptions {
        start_revision: Some("8".into()),
        initial_backoff: Duration::from_millis(10),
        ..Default::default()
    };
    let client = client(&url).with_call_timeout(Duration::from_millis(200));
    let mut stream = std::pin::pin!(client.watch_resource_changes(options));
    let first = stream.next().await.unwrap().unwrap_err();
    assert!(
        matches!(&first, WatchError::Request(error) if matches!(error.kind(), ErrorKind::Timeout(_))),
        "{first:?}"
    );
    assert!(first.is_transient());
    assert_eq!(stream.next().await.unwrap().unwrap().revision, "8");
}

#[tokio::test]
async fn a_watch_rides_out_a_restart_that_dropped_the_sessions() {
    let log = Log::default();
    let url = tower(log.clone(), |seen, n| match seen.path.as_str() {
        LOGIN if n == 0 => login_ok("token-1"),
        LOGIN if n < 3 => Reply::text(503, "starting"),
        LOGIN => login_ok("token-2"),
        _ if seen.header("authorization") != Some("token-2") => unauthorized(seen),
        _ => changes("8", &["8"]),
    })
    .await;
    let client = signed_in_with_fast_relogins(&url).await;
    let options = WatchOptions {
        start_revision: Some("8".into()),
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(20),
        ..Default::default()
    };
    let mut stream = std::pin::pin!(client.watch_resource_changes(options));
    let mut errors = 0;
    let event = loop {
        match stream.next().await.unwrap() {
            Ok(event) => break event,
            Err(error) => {
                assert!(
                    matches!(&error, WatchError::Request(error)
                        if matches!(error.kind(), ErrorKind::Workflow(WorkflowError::Reauthentication(_)))),
                    "{error:?}"
                );
                assert!(error.is_transient(), "{error}");
                errors += 1;
                assert!(errors < 500, "the watch never recovered");
            }
        }
    };
    assert_eq!(event.revision, "8");
    assert_eq!(log.count(LOGIN), 4);
}

// ---------------------------------------------------------------------------------------------
// Sessions

#[tokio::test]
async fn a_login_answer_without_a_token_fails_the_sign_in() {
    for answer in [
        json!({"task_id": null, "data": {}}),
        json!({"task_id": null, "data": {"token": ""}}),
        json!({}),
    ] {
        let log = Log::default();
        let body = answer.clone();
        let url = tower(log.clone(), move |_, _| Reply::ok(body.clone())).await;
        let client = client(&url);
        let err = client
            .sign_in(PasswordLogin::new("admin", "pw"))
            .await
            .unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Response(ResponseError::Protocol { reason, .. }) if reason.contains("no token"))
                && err.operation() == Some("login"),
            "{answer}: {err:?}"
        );
        assert!(!client.is_authenticated());
    }
}

#[tokio::test]
async fn a_tower_refusing_every_fresh_token_gets_one_login_not_one_per_call() {
    let log = Log::default();
    let url = tower(log.clone(), move |seen, n| {
        if seen.path == LOGIN {
            login_ok(&format!("token-{n}"))
        } else {
            unauthorized(seen)
        }
    })
    .await;
    let client = client(&url);
    client
        .sign_in(PasswordLogin::new("admin", "pw"))
        .await
        .unwrap();
    for call in 0..20 {
        let err = client.get_vms(&get_vms()).await.unwrap_err();
        assert!(err.is_unauthorized(), "call {call}: {err:?}");
    }
    // The sign-in, and one re-login whose token was refused at once: the later calls wait for
    // the pause after a refused fresh token (1 s) instead of logging in again.
    assert_eq!(log.count(LOGIN), 2);
    assert_eq!(log.count(GET_VMS), 20 + 1);
}

#[tokio::test]
async fn a_token_set_during_a_relogin_is_not_overwritten_by_it() {
    let log = Log::default();
    let url = tower(log.clone(), |seen, n| match seen.path.as_str() {
        LOGIN if n == 0 => login_ok("token-old"),
        // The re-login is slow: the user sets a token of their own meanwhile.
        LOGIN => login_ok("token-relogin").after(Duration::from_millis(400)),
        _ if seen.header("authorization") == Some("token-old") => unauthorized(seen),
        _ => Reply::ok(json!([])),
    })
    .await;
    let client = client(&url);
    client
        .sign_in(PasswordLogin::new("admin", "pw"))
        .await
        .unwrap();
    let call = {
        let client = client.clone();
        tokio::spawn(async move { client.get_vms(&get_vms()).await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    client.set_token("token-user");
    call.await.unwrap().unwrap();
    client.get_vms(&get_vms()).await.unwrap();

    let sent: Vec<Option<String>> = log
        .all()
        .iter()
        .filter(|seen| seen.path == GET_VMS)
        .map(|seen| seen.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(
        sent.last().unwrap().as_deref(),
        Some("token-user"),
        "{sent:?}"
    );
    assert!(!sent.contains(&Some("token-relogin".into())), "{sent:?}");
}

#[tokio::test]
async fn a_task_wait_rides_out_a_restart_that_dropped_the_sessions() {
    // The tower restarts: sessions are gone (401), and logging in answers 503 for a while.
    let log = Log::default();
    let url = tower(log.clone(), |seen, n| match seen.path.as_str() {
        LOGIN if n == 0 => login_ok("token-1"),
        LOGIN if n < 4 => Reply::text(503, "starting"),
        LOGIN => login_ok("token-2"),
        _ if seen.header("authorization") != Some("token-2") && n > 0 => unauthorized(seen),
        _ => tasks_reply(seen, n, |_, poll| {
            Some(if poll < 3 { "EXECUTING" } else { "SUCCESSED" })
        }),
    })
    .await;
    let client = signed_in_with_fast_relogins(&url).await;
    let options = WaitOptions {
        interval: Duration::from_millis(10),
        max_interval: Duration::from_millis(20),
        timeout: Duration::from_secs(20),
        ..Default::default()
    };
    let tasks = client
        .wait_tasks_with(&["task-1".to_owned()], &options)
        .await
        .unwrap();
    assert_eq!(tasks[0].id, "task-1");
    assert_eq!(log.count(LOGIN), 5);
}

// ---------------------------------------------------------------------------------------------
// Wrong results

#[tokio::test]
async fn a_lone_surrogate_becomes_a_replacement_character_not_an_undecodable_page() {
    let log = Log::default();
    let url = tower(log, |_, _| {
        Reply::text(
            200,
            r#"[{"id":"vm-1","name":"db-\ud83d"},{"id":"vm-2","name":"ok \udc00!"}]"#,
        )
    })
    .await;
    let vms = client(&url).get_vms(&get_vms()).await.unwrap();
    assert_eq!(vms[0].name, "db-\u{FFFD}");
    assert_eq!(vms[1].name, "ok \u{FFFD}!");
    // Strict decoding keeps refusing it, and a real pair is still one character.
    assert!(codec::decode_strict::<String>(br#""\ud83d""#).is_err());
    assert_eq!(codec::decode::<String>(br#""\ud83d\ude00""#).unwrap(), "😀");
    assert_eq!(
        codec::decode::<String>(br#""\ud83d\u0041""#).unwrap(),
        "\u{FFFD}A"
    );
}

/// Items `first` at most `cap` at a time, after `after`, out of `total`.
fn capped_list(seen: &Seen, cap: usize, total: usize) -> Reply {
    let first = seen.body["first"].as_u64().unwrap_or(100) as usize;
    let start = match seen.body["after"].as_str() {
        Some(after) => after.trim_start_matches("vm-").parse::<usize>().unwrap() + 1,
        None => 0,
    };
    let items: Vec<Value> = (start..total.min(start + first.min(cap)))
        .map(|i| vm(&format!("vm-{i}")))
        .collect();
    Reply::ok(Value::Array(items))
}

/// Pages with `page_size` through a list of `total` VMs from a server answering at most `cap`
/// at a time; returns the VMs and the requests it took.
async fn list_capped(cap: usize, total: usize, page_size: i32) -> (Vec<Vm>, usize) {
    let log = Log::default();
    let url = tower(log.clone(), move |seen, _| capped_list(seen, cap, total)).await;
    let vms = client(&url)
        .paginate(get_vms())
        .page_size(page_size)
        .collect()
        .await
        .unwrap();
    (vms, log.count(GET_VMS))
}

#[tokio::test]
async fn pagination_does_not_end_at_a_page_that_a_server_capped() {
    let (vms, requests) = list_capped(3, 8, 5).await;
    assert_eq!(vms.len(), 8, "{:?}", ids(&vms));
    // 3 + 3 + 2: the page shorter than the others is the last.
    assert_eq!(requests, 3);
    // A list shorter than one page takes one more request, which comes back empty.
    let (vms, requests) = list_capped(100, 4, 10).await;
    assert_eq!(vms.len(), 4);
    assert_eq!(requests, 2);
}

#[tokio::test]
async fn an_item_that_moves_while_paged_is_yielded_once_and_the_list_goes_on() {
    // Page 2 brings vm-1 again (renamed, it moved under `orderBy: name`) beside new items.
    let log = Log::default();
    let url = tower(log, |_, n| {
        Reply::ok(match n {
            0 => json!([vm("vm-0"), vm("vm-1")]),
            1 => json!([vm("vm-1"), vm("vm-2")]),
            2 => json!([vm("vm-3")]),
            _ => json!([]),
        })
    })
    .await;
    let vms = client(&url)
        .paginate(get_vms())
        .page_size(2)
        .collect()
        .await
        .unwrap();
    assert_eq!(ids(&vms), ["vm-0", "vm-1", "vm-2", "vm-3"]);
}

#[tokio::test]
async fn reread_gives_one_resource_per_one_asked_and_asks_again_past_a_cap() {
    let log = Log::default();
    let url = tower(log.clone(), |seen, _| {
        // At most 2 per answer, whatever `first` says; vm-gone no longer exists.
        let wanted: Vec<String> =
            serde_json::from_value(seen.body["where"]["id_in"].clone()).unwrap();
        let found: Vec<Value> = wanted
            .iter()
            .filter(|id| *id != "vm-gone")
            .take(2)
            .map(|id| vm(id))
            .collect();
        Reply::ok(Value::Array(found))
    })
    .await;
    let given: Vec<Vm> = ["vm-1", "vm-2", "vm-1", "vm-gone", "vm-3"]
        .iter()
        .map(|id| codec::decode(vm(id).to_string().as_bytes()).unwrap())
        .collect();
    let current = client(&url).reread(&given).await.unwrap();
    assert_eq!(ids(&current), ["vm-1", "vm-2", "vm-1", "vm-3"]);
    // [1,2,gone,3] -> 1,2; [gone,3] -> 3; [gone] -> nothing: gone.
    assert_eq!(log.count(GET_VMS), 3);
}

#[tokio::test]
async fn a_count_without_a_count_is_an_error_not_zero() {
    for (answer, expected) in [
        (json!({"aggregate": {"count": 7}}), Ok(7)),
        (json!({"aggregate": {"count": 0}}), Ok(0)),
        (json!({}), Err("holds no aggregate.count")),
        (json!({"aggregate": null}), Err("holds no aggregate.count")),
        (json!({"aggregate": {"count": -3}}), Err("negative")),
    ] {
        let body = answer.clone();
        let url = tower(Log::default(), move |_, _| Reply::ok(body.clone())).await;
        let counted = client(&url).count(&get_vms()).await;
        match (counted, expected) {
            (Ok(count), Ok(expected)) => assert_eq!(count, expected, "{answer}"),
            (Err(error), Err(expected)) => {
                let ErrorKind::Response(ResponseError::Protocol { reason, .. }) = error.kind()
                else {
                    panic!("{answer}: {error:?}");
                };
                assert!(reason.contains(expected), "{answer}: {reason}")
            }
            (other, _) => panic!("{answer}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn numbers_beyond_f64_and_negative_zero_survive_a_round_trip() {
    let url = tower(Log::default(), |_, _| {
        Reply::text(
            200,
            r#"[{"id":"vm-1","memory_usage":1e400,"cpu_usage":-0}]"#,
        )
    })
    .await;
    let vms = client(&url).get_vms(&get_vms()).await.unwrap();
    let memory_usage = vms[0].memory_usage.unwrap();
    assert_eq!(memory_usage, f64::MAX);
    let cpu_usage = vms[0].cpu_usage.unwrap();
    assert!(cpu_usage == 0.0 && cpu_usage.is_sign_negative());
    // The same model can be sent back.
    let json = codec::try_encode(&vms[0]).unwrap();
    let again: Vm = codec::decode(&json).unwrap();
    assert_eq!(again.memory_usage, Some(f64::MAX));
    // Strict decoding refuses what it cannot hold.
    assert!(codec::decode_strict::<f64>(b"1e400").is_err());
    assert!(codec::decode_strict::<f32>(b"1e39").is_err());
    assert_eq!(codec::decode::<f32>(b"-1e39").unwrap(), f32::MIN);
}

// ---------------------------------------------------------------------------------------------
// Uploads

fn upload_task(id: &str, status: &str) -> Value {
    json!({
        "id": id, "args": {}, "chunk_size": 1000, "current_chunk": 1,
        "resource_type": "ELF_IMAGE", "size": 2000, "status": status,
        "updatedAt": "2024-01-01T00:00:00Z",
    })
}

fn cancels(log: &Log) -> Vec<Value> {
    log.all()
        .into_iter()
        .filter(|s| s.path == "/v2/api/cancel-upload-task")
        .map(|s| s.body)
        .collect()
}

async fn upload(url: &str, wait: Duration) -> Result<cloudtower_api::models::UploadTask, Error> {
    let upload = ElfImageUpload::new("cluster-1", "disk.iso")
        .chunk_size(1000)
        .wait(wait, Duration::from_millis(20));
    let data = vec![1u8; 2000];
    client(url)
        .upload_elf_image(data.as_slice(), 2000, upload)
        .await
}

#[tokio::test]
async fn a_chunk_answered_with_another_upload_task_is_refused_and_ours_cancelled() {
    let log = Log::default();
    let url = tower(log.clone(), |seen, n| match seen.path.as_str() {
        "/v2/api/upload-elf-image" if n == 0 => {
            Reply::ok(json!([upload_task("upload-1", "UPLOADING")]))
        }
        "/v2/api/upload-elf-image" => Reply::ok(json!([upload_task("upload-9", "UPLOADING")])),
        _ => Reply::ok(json!([])),
    })
    .await;
    let err = upload(&url, Duration::from_secs(5)).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Response(ResponseError::Protocol { reason, .. }) if reason.contains("upload-9") && reason.contains("upload-1")),
        "{err:?}"
    );
    assert_eq!(cancels(&log), [json!({"where": {"id": "upload-1"}})]);
}

#[tokio::test]
async fn an_upload_whose_wait_times_out_cancels_its_task_and_a_slow_poll_is_bounded() {
    let log = Log::default();
    let url = tower(log.clone(), |seen, _| match seen.path.as_str() {
        "/v2/api/upload-elf-image" => Reply::ok(json!([upload_task("upload-1", "UPLOADING")])),
        // The poll after the last chunk hangs.
        "/v2/api/get-upload-tasks" => {
            Reply::ok(json!([upload_task("upload-1", "UPLOADING")])).after(Duration::from_secs(30))
        }
        _ => Reply::ok(json!([])),
    })
    .await;
    let started = Instant::now();
    let err = upload(&url, Duration::from_millis(300)).await.unwrap_err();
    assert!(
        matches!(err.task_failure(), Some(f) if f.kind == TaskFailureKind::TimedOut),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(cancels(&log), [json!({"where": {"id": "upload-1"}})]);
}

#[tokio::test]
async fn a_dropped_upload_cancels_its_task() {
    let log = Log::default();
    let chunks = Arc::new(AtomicUsize::new(0));
    let counted = chunks.clone();
    let url = tower(log.clone(), move |seen, n| match seen.path.as_str() {
        "/v2/api/upload-elf-image" if n == 0 => {
            counted.fetch_add(1, Ordering::SeqCst);
            Reply::ok(json!([upload_task("upload-1", "UPLOADING")]))
        }
        "/v2/api/upload-elf-image" => {
            Reply::ok(json!([upload_task("upload-1", "UPLOADING")])).after(Duration::from_secs(30))
        }
        _ => Reply::ok(json!([])),
    })
    .await;
    let dropped =
        tokio::time::timeout(Duration::from_millis(500), upload(&url, Duration::MAX)).await;
    assert!(dropped.is_err(), "the upload was still running");
    assert_eq!(chunks.load(Ordering::SeqCst), 1);
    // The cancel is spawned when the future is dropped.
    let deadline = Instant::now() + Duration::from_secs(5);
    while cancels(&log).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(cancels(&log), [json!({"where": {"id": "upload-1"}})]);
}

// ---------------------------------------------------------------------------------------------
// Secrets

#[tokio::test]
async fn an_error_answer_masks_its_secrets_in_every_rendering() {
    let url = tower(Log::default(), |_, _| {
        Reply::json(
            400,
            json!({"code": "Bad", "message": "bad request", "status": 400,
                   "props": {"password": "hunter2", "nested": {"api_key": "k-123"}}}),
        )
    })
    .await;
    let err = client(&url).get_vms(&get_vms()).await.unwrap_err();
    for rendering in [format!("{err:?}"), format!("{err}"), format!("{err:#?}")] {
        assert!(!rendering.contains("hunter2"), "{rendering}");
        assert!(!rendering.contains("k-123"), "{rendering}");
    }
    // The values stay readable where asked for.
    let props = err.error_body().unwrap().props.as_ref().unwrap();
    assert_eq!(props["password"], "hunter2");
}

#[tokio::test]
async fn an_endpoint_with_credentials_is_refused_without_printing_them() {
    let log = Log::default();
    let url = tower(log.clone(), |_, _| Reply::ok(json!([]))).await;
    let with_userinfo = url.replace("http://", "http://admin:hunter2@");
    let builder = Client::builder(&with_userinfo);
    assert!(!format!("{builder:?}").contains("hunter2"));
    let err = builder.build().unwrap_err();
    let rendered = format!("{err} {err:?}");
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Construction(ConstructionError::Config { .. })
        ),
        "{rendered}"
    );
    assert!(rendered.contains("credentials"), "{rendered}");
    assert!(!rendered.contains("hunter2"), "{rendered}");
    assert_eq!(log.all().len(), 0);
}
