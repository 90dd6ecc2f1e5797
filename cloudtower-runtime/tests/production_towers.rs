//! Towers as they run in production, against servers on 127.0.0.1: an active/passive pair
//! (switched over under load, each failover strategy, each discovery error), a tower whose
//! version predates an operation, and resources locked by other tasks.

use crate::common;
use cloudtower_runtime::error::{ConstructionError, DispatchError, ErrorKind, ResponseError};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cloudtower_runtime::client::Client;
use cloudtower_runtime::RetryPolicy;
use cloudtower_runtime::{ApiRequest, EndpointHealth, Error, FailoverStrategy, LockedRetry, Since};
use common::{tower, Log, Reply, Seen};
use serde_json::{json, Value};

/// Which tower of a pair is active: an index, or `NONE`/`BOTH`.
#[derive(Clone)]
struct Roles(Arc<AtomicUsize>);

const NONE: usize = usize::MAX;
const BOTH: usize = usize::MAX - 1;

impl Roles {
    fn new(active: usize) -> Self {
        Roles(Arc::new(AtomicUsize::new(active)))
    }
    fn set(&self, active: usize) {
        self.0.store(active, Ordering::SeqCst);
    }
    fn is_active(&self, me: usize) -> bool {
        let active = self.0.load(Ordering::SeqCst);
        active == me || active == BOTH
    }
}

/// A server that counts whatever reaches it: where a passive tower's `Location` points.
async fn canary() -> (String, Log) {
    let log = Log::default();
    let url = tower(log.clone(), |_, _| Reply::ok(json!([]))).await;
    (url, log)
}

/// One tower of a pair: health 200 when active, 307 when passive; a passive tower refuses
/// every API call with 307 to `location`; an active one answers `answer(call)`.
async fn pair_member(
    me: usize,
    roles: Roles,
    location: String,
    log: Log,
    answer: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
) -> String {
    tower(log, move |seen, _| {
        let active = roles.is_active(me);
        match (seen.path.as_str(), active) {
            ("/api/healthz", true) => Reply::ok(json!({"status": "ok"})),
            (_, false) => redirect(&location),
            _ => answer(seen),
        }
    })
    .await
}

fn redirect(location: &str) -> Reply {
    Reply::redirect(307, &format!("{location}/v2/api/get-vms"))
}

struct Pair {
    urls: [String; 2],
    logs: [Log; 2],
    roles: Roles,
    canary: Log,
}

impl Pair {
    async fn start(active: usize) -> Pair {
        Pair::start_answering(active, |seen| match seen.path.as_str() {
            "/v2/api/get-version" => Reply::ok(json!("4.6.0")),
            _ => Reply::ok(json!([{"id": "vm-1"}])),
        })
        .await
    }

    async fn start_answering(
        active: usize,
        answer: impl Fn(&Seen) -> Reply + Clone + Send + Sync + 'static,
    ) -> Pair {
        let roles = Roles::new(active);
        let (canary_url, canary) = canary().await;
        let logs = [Log::default(), Log::default()];
        let mut urls = Vec::new();
        for (me, log) in logs.iter().enumerate() {
            urls.push(
                pair_member(
                    me,
                    roles.clone(),
                    canary_url.clone(),
                    log.clone(),
                    answer.clone(),
                )
                .await,
            );
        }
        Pair {
            urls: [urls[0].clone(), urls[1].clone()],
            logs,
            roles,
            canary,
        }
    }

    fn client(&self, strategy: FailoverStrategy) -> Client {
        Client::builder(&self.urls[0])
            .endpoint(&self.urls[1])
            .failover(strategy)
            .api_key("key-1")
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap()
    }

    fn probes(&self, member: usize) -> usize {
        self.logs[member].count("/api/healthz")
    }

    fn calls(&self, member: usize, path: &str) -> usize {
        self.logs[member].count(path)
    }
}

async fn get_vms(client: &Client) -> Result<Value, Error> {
    client
        .execute(ApiRequest::json("get-vms", &json!({})).read())
        .await?
        .decode()
}

async fn delete_vm(client: &Client) -> Result<Value, Error> {
    client
        .execute(ApiRequest::json(
            "delete-vm",
            &json!({"where": {"id": "vm-1"}}),
        ))
        .await?
        .decode()
}

#[tokio::test]
async fn a_pair_switched_over_under_twenty_concurrent_calls_serves_every_call() {
    let pair = Pair::start(0).await;
    let client = pair.client(FailoverStrategy::Automatic);
    assert_eq!(client.active_endpoint(), None, "not probed before a call");
    get_vms(&client).await.unwrap();
    assert_eq!(
        client.active_endpoint(),
        Some(format!("{}/v2/api", pair.urls[0]).as_str())
    );
    assert_eq!((pair.probes(0), pair.probes(1)), (1, 1), "one probe round");

    pair.roles.set(1);
    let calls = (0..20).map(|i| {
        let client = client.clone();
        tokio::spawn(async move {
            // Reads and mutations alike: the passive tower refused them before any effect.
            if i % 2 == 0 {
                get_vms(&client).await
            } else {
                delete_vm(&client).await
            }
        })
    });
    for result in futures_util::future::join_all(calls).await {
        let result = result.unwrap();
        assert!(result.is_ok(), "{result:?}");
    }
    assert_eq!(
        client.active_endpoint(),
        Some(format!("{}/v2/api", pair.urls[1]).as_str())
    );
    // The 20 calls that found the switch shared one probe round.
    assert_eq!((pair.probes(0), pair.probes(1)), (2, 2));
    assert!(pair.canary.all().is_empty(), "a Location was followed");
    assert_eq!(pair.calls(1, "/v2/api/get-vms"), 10);
    assert_eq!(pair.calls(1, "/v2/api/delete-vm"), 10);
    // The key went to the configured endpoints only.
    for seen in pair.logs[1]
        .all()
        .iter()
        .filter(|s| s.path.starts_with("/v2/"))
    {
        assert_eq!(seen.header("authorization"), Some("key-1"));
    }
    for seen in pair.logs[0].all().iter().chain(pair.logs[1].all().iter()) {
        if seen.path == "/api/healthz" {
            assert_eq!(
                seen.header("authorization"),
                None,
                "probes carry no credentials"
            );
        }
    }
}

#[tokio::test]
async fn the_manual_strategy_says_a_failover_is_needed_and_switches_when_told() {
    let pair = Pair::start(0).await;
    let client = pair.client(FailoverStrategy::Manual);
    get_vms(&client).await.unwrap();
    pair.roles.set(1);
    let error = delete_vm(&client).await.unwrap_err();
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Dispatch(DispatchError::FailoverNeeded)
        ) && error.operation() == Some("delete-vm")
            && error.endpoint() == Some(&*format!("{}/v2/api", pair.urls[0])),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert_eq!(pair.probes(0), 1, "manual: no probe without being told");
    let active = client.discover_active_endpoint().await.unwrap();
    assert_eq!(active, format!("{}/v2/api", pair.urls[1]));
    delete_vm(&client).await.unwrap();
    assert_eq!(pair.calls(1, "/v2/api/delete-vm"), 1);
    assert!(pair.canary.all().is_empty());
}

#[tokio::test]
async fn probing_before_every_call_follows_a_switch_without_a_refused_call() {
    let pair = Pair::start(0).await;
    let client = pair.client(FailoverStrategy::ProbeEveryCall);
    for _ in 0..3 {
        get_vms(&client).await.unwrap();
    }
    assert_eq!((pair.probes(0), pair.probes(1)), (3, 3));
    pair.roles.set(1);
    get_vms(&client).await.unwrap();
    // The passive tower never saw an API call: the probe found the switch first.
    assert_eq!(pair.calls(0, "/v2/api/get-vms"), 3);
    assert_eq!(pair.calls(1, "/v2/api/get-vms"), 1);
}

#[tokio::test]
async fn no_active_endpoint_names_what_each_answered_and_is_retryable() {
    let pair = Pair::start(NONE).await;
    let client = pair.client(FailoverStrategy::Automatic);
    let error = get_vms(&client).await.unwrap_err();
    let ErrorKind::Dispatch(DispatchError::NoActiveEndpoint { answers, .. }) = error.kind() else {
        panic!("{error:?}");
    };
    assert_eq!(answers.len(), 2);
    assert!(answers
        .iter()
        .all(|a| matches!(a.health, EndpointHealth::Passive)));
    let message = error.to_string();
    assert!(
        message.contains(&pair.urls[0]) && message.contains(&pair.urls[1]),
        "{message}"
    );
    assert!(error.is_retryable(), "a pair between roles comes back");
    assert_eq!(
        pair.calls(0, "/v2/api/get-vms") + pair.calls(1, "/v2/api/get-vms"),
        0
    );

    // A tower that does not answer at all.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        format!("http://{addr}")
    };
    let client = Client::builder(&pair.urls[0])
        .endpoint(&dead)
        .api_key("key-1")
        .build()
        .unwrap();
    let error = get_vms(&client).await.unwrap_err();
    let ErrorKind::Dispatch(DispatchError::NoActiveEndpoint { answers, .. }) = error.kind() else {
        panic!("{error:?}");
    };
    assert!(
        matches!(answers[1].health, EndpointHealth::Unreachable(_)),
        "{error}"
    );

    // The pair comes back: the next call probes again.
    pair.roles.set(1);
    get_vms(&pair.client(FailoverStrategy::Automatic))
        .await
        .unwrap();
}

#[tokio::test]
async fn several_active_endpoints_are_refused_without_sending() {
    let pair = Pair::start(BOTH).await;
    let client = pair.client(FailoverStrategy::Automatic);
    let error = get_vms(&client).await.unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Dispatch(DispatchError::SeveralActiveEndpoints { answers, .. }) if answers.len() == 2),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert_eq!(
        pair.calls(0, "/v2/api/get-vms") + pair.calls(1, "/v2/api/get-vms"),
        0
    );
}

#[tokio::test]
async fn a_lone_endpoint_is_never_probed_and_its_redirect_is_not_followed() {
    let (canary_url, canary) = canary().await;
    let log = Log::default();
    let url = tower(log.clone(), move |_, _| redirect(&canary_url)).await;
    let client = Client::builder(&url).api_key("key-1").build().unwrap();
    let error = get_vms(&client).await.unwrap_err();
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Response(ResponseError::Redirect { status: 307, .. })
        ),
        "{error:?}"
    );
    assert_eq!(log.count("/api/healthz"), 0);
    assert!(canary.all().is_empty());
}

#[test]
fn an_endpoint_given_twice_is_a_configuration_error() {
    let error = Client::builder("https://a.example.com")
        .endpoint("https://a.example.com/v2/api/")
        .build()
        .unwrap_err();
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Construction(ConstructionError::Config { .. })
        ),
        "{error:?}"
    );
}

/// The version check, through a request that says since when its operation exists (as the
/// generated methods do).
fn vnc_info() -> ApiRequest {
    ApiRequest::json("get-vm-vnc-info", &json!({"where": {"id": "vm-1"}}))
        .read()
        .since(Since {
            first_seen: "4.0.0",
            last_absent: Some("3.4.4"),
        })
}

/// A tower answering `get-version` with `version` (`None`: 404, as before 2.3.0), and logins.
async fn versioned_tower(version: Option<&'static str>) -> (String, Log) {
    let log = Log::default();
    let url = tower(log.clone(), move |seen, _| match seen.path.as_str() {
        "/v2/api/get-version" => match version {
            Some(version) => Reply::ok(json!(version)),
            None => Reply::json(404, json!({"message": "Cannot GET /v2/api/get-version"})),
        },
        "/v2/api/login" => Reply::ok(json!({"data": {"token": "tok-1"}})),
        _ => Reply::ok(json!({"vnc": "ok"})),
    })
    .await;
    (url, log)
}

#[tokio::test]
async fn a_tower_older_than_an_operation_refuses_it_before_sending() {
    let (url, log) = versioned_tower(Some("3.4.4")).await;
    let client = Client::builder(&url).api_key("key-1").build().unwrap();
    assert_eq!(client.server_version(), None, "not asked yet");
    let version = client.fetch_server_version().await.unwrap().unwrap();
    assert_eq!(version.as_str(), "3.4.4");
    assert_eq!(client.server_version().unwrap().as_str(), "3.4.4");
    let Err(error) = client.execute(vnc_info()).await else {
        panic!("sent to a tower too old for it");
    };
    let ErrorKind::Construction(ConstructionError::ServerTooOld {
        since,
        server_version,
        ..
    }) = error.kind()
    else {
        panic!("{error:?}");
    };
    assert_eq!(error.operation(), Some("get-vm-vnc-info"));
    assert_eq!(since.first_seen, "4.0.0");
    assert_eq!(server_version, "3.4.4");
    assert!(
        error.to_string().contains("needs CloudTower 4.0.0"),
        "{error}"
    );
    assert_eq!(log.count("/v2/api/get-vm-vnc-info"), 0, "nothing was sent");
}

#[tokio::test]
async fn a_tower_new_enough_or_of_unknown_version_is_asked() {
    for (version, expected) in [(Some("4.6.0"), Some("4.6.0")), (None, None)] {
        let (url, log) = versioned_tower(version).await;
        let client = Client::builder(&url).api_key("key-1").build().unwrap();
        let learned = client.fetch_server_version().await.unwrap();
        assert_eq!(learned.as_ref().map(|v| v.as_str()), expected);
        client.execute(vnc_info()).await.unwrap();
        assert_eq!(log.count("/v2/api/get-vm-vnc-info"), 1);
    }
}

#[tokio::test]
async fn the_version_is_read_again_after_a_failover() {
    // A pair in the middle of an upgrade: the standby already runs the newer version.
    let roles = Roles::new(0);
    let (canary_url, _canary) = canary().await;
    let logs = [Log::default(), Log::default()];
    let mut urls = Vec::new();
    for (me, version) in [(0, "3.4.4"), (1, "4.6.0")] {
        urls.push(
            pair_member(
                me,
                roles.clone(),
                canary_url.clone(),
                logs[me].clone(),
                move |seen| match seen.path.as_str() {
                    "/v2/api/get-version" => Reply::ok(json!(version)),
                    _ => Reply::ok(json!({"vnc": "ok"})),
                },
            )
            .await,
        );
    }
    let client = Client::builder(&urls[0])
        .endpoint(&urls[1])
        .api_key("key-1")
        .build()
        .unwrap();
    client.fetch_server_version().await.unwrap();
    assert_eq!(client.server_version().unwrap().as_str(), "3.4.4");
    let Err(error) = client.execute(vnc_info()).await else {
        panic!("sent to a tower too old for it");
    };
    assert!(matches!(
        error.kind(),
        ErrorKind::Construction(ConstructionError::ServerTooOld { .. })
    ));
    roles.set(1);
    client
        .execute(ApiRequest::json("get-vms", &json!({})).read())
        .await
        .unwrap();
    assert_eq!(client.server_version().unwrap().as_str(), "4.6.0");
    client.execute(vnc_info()).await.unwrap();
}

/// A tower refusing `update-vm` with `ResourceLocked` `refusals` times, then doing it.
async fn locking_tower(refusals: usize) -> (String, Log) {
    let log = Log::default();
    let url = tower(log.clone(), move |_, n| {
        if n < refusals {
            Reply::json(
                400,
                json!({
                    "code": "ResourceLocked",
                    "message": "the VM is being changed by another task",
                    "props": {"locked_resources": [{"id": "vm-1", "type": "Vm"}]},
                }),
            )
        } else {
            Reply::ok(json!([{"task_id": "task-1", "data": {"id": "vm-1"}}]))
        }
    })
    .await;
    (url, log)
}

fn quick_locked_retry(max_retries: u32, timeout: Duration) -> LockedRetry {
    LockedRetry {
        retries: RetryPolicy {
            max_retries,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
        },
        timeout,
    }
}

async fn update_vm(client: &Client) -> Result<Value, Error> {
    client
        .execute(ApiRequest::json(
            "update-vm",
            &json!({"where": {"id": "vm-1"}, "data": {"vcpu": 4}}),
        ))
        .await?
        .decode()
}

#[tokio::test]
async fn a_locked_resource_is_waited_out_when_asked() {
    let (url, log) = locking_tower(3).await;
    let client = Client::builder(&url)
        .api_key("key-1")
        .retry_locked(quick_locked_retry(5, Duration::from_secs(10)))
        .build()
        .unwrap();
    update_vm(&client).await.unwrap();
    assert_eq!(log.count("/v2/api/update-vm"), 4);
}

#[tokio::test]
async fn a_lock_that_never_clears_ends_in_the_refusal_bounded_in_attempts_and_time() {
    let (url, log) = locking_tower(usize::MAX).await;
    let client = Client::builder(&url).api_key("key-1").build().unwrap();
    // Off by default: the refusal at once, typed.
    let error = update_vm(&client).await.unwrap_err();
    assert!(error.is_resource_locked());
    let locked = error.locked_resources().unwrap();
    assert_eq!(locked[0].id, "vm-1");
    assert_eq!(locked[0].resource_type.as_deref(), Some("Vm"));
    assert_eq!(log.count("/v2/api/update-vm"), 1);

    // Bounded by attempts.
    let error =
        update_vm(&client.with_locked_retry(quick_locked_retry(4, Duration::from_secs(60))))
            .await
            .unwrap_err();
    assert!(error.is_resource_locked(), "{error:?}");
    assert_eq!(log.count("/v2/api/update-vm"), 1 + 5);

    // Bounded by time: 40 ms apart at most, within 150 ms.
    let started = std::time::Instant::now();
    let error =
        update_vm(&client.with_locked_retry(quick_locked_retry(1000, Duration::from_millis(150))))
            .await
            .unwrap_err();
    assert!(error.is_resource_locked());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let attempts = log.count("/v2/api/update-vm") - 6;
    assert!((2..=16).contains(&attempts), "{attempts}");
}

#[tokio::test]
async fn locked_retry_retries_nothing_but_resource_locked() {
    let log = Log::default();
    let url = tower(log.clone(), |_, _| {
        Reply::json(400, json!({"code": "VmNotFound", "message": "no such VM"}))
    })
    .await;
    let client = Client::builder(&url)
        .api_key("key-1")
        .retry_locked(quick_locked_retry(5, Duration::from_secs(10)))
        .build()
        .unwrap();
    assert_eq!(update_vm(&client).await.unwrap_err().status(), Some(400));
    assert_eq!(log.count("/v2/api/update-vm"), 1);
}

/// A layer that counts the exchanges going through it and stamps a header on each.
#[derive(Clone)]
struct Stamp {
    seen: Arc<AtomicUsize>,
}

impl<S> tower::Layer<S> for Stamp {
    type Service = Stamped<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Stamped {
            inner,
            seen: self.seen.clone(),
        }
    }
}

#[derive(Clone)]
struct Stamped<S> {
    inner: S,
    seen: Arc<AtomicUsize>,
}

impl<S: tower::Service<reqwest::Request>> tower::Service<reqwest::Request> for Stamped<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: reqwest::Request) -> Self::Future {
        let n = self.seen.fetch_add(1, Ordering::SeqCst);
        request
            .headers_mut()
            .insert("x-stamp", n.to_string().parse().unwrap());
        self.inner.call(request)
    }
}

#[tokio::test]
async fn layers_wrap_every_exchange_retries_logins_and_probes_included() {
    let pair = Pair::start_answering(0, |seen| match seen.path.as_str() {
        "/v2/api/login" => Reply::ok(json!({"data": {"token": "tok-1"}})),
        "/v2/api/get-version" => Reply::ok(json!("4.6.0")),
        // Every first read fails once, so that a retry goes through the layer too.
        _ if seen.header("x-stamp").is_some_and(|n| n == "4") => {
            Reply::json(503, json!({"message": "restarting"}))
        }
        _ => Reply::ok(json!([])),
    })
    .await;
    let stamp = Stamp {
        seen: Arc::new(AtomicUsize::new(0)),
    };
    let client = cloudtower_runtime::Client::builder(&pair.urls[0])
        .endpoint(&pair.urls[1])
        .layer(stamp.clone())
        .layer(tower::limit::ConcurrencyLimitLayer::new(2))
        .retry_policy(RetryPolicy {
            max_retries: 1,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(1),
        })
        .build()
        .unwrap();
    client
        .sign_in_with::<Login>(cloudtower_runtime::PasswordLogin::new("admin", "pw"))
        .await
        .unwrap();
    get_vms(&client).await.unwrap();
    // 2 probes, the login, get-version, the read and its retry.
    assert_eq!(stamp.seen.load(Ordering::SeqCst), 6);
    let stamped = |log: &Log| {
        log.all()
            .iter()
            .filter(|s| s.header("x-stamp").is_some())
            .count()
    };
    assert_eq!(stamped(&pair.logs[0]) + stamped(&pair.logs[1]), 6);
    assert_eq!(pair.calls(0, "/v2/api/get-vms"), 2);
}

/// A layer that refuses every request: its error is the client's `Middleware` error.
#[tokio::test]
async fn a_layer_refusing_is_a_middleware_error_and_nothing_is_sent() {
    let log = Log::default();
    let url = tower(log.clone(), |_, _| Reply::ok(json!([]))).await;
    let refuse = tower::layer::layer_fn(|_inner: cloudtower_runtime::client::HttpService| {
        tower::service_fn(|_request: reqwest::Request| async {
            Err::<reqwest::Response, cloudtower_runtime::client::BoxError>(
                "rate limit exceeded".into(),
            )
        })
    });
    let client = Client::builder(&url)
        .api_key("k")
        .layer(refuse)
        .build()
        .unwrap();
    let error = get_vms(&client).await.unwrap_err();
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Dispatch(DispatchError::Middleware(_))
        ) && error.operation() == Some("get-vms"),
        "{error:?}"
    );
    assert!(error.to_string().contains("rate limit exceeded"), "{error}");
    assert!(log.all().is_empty());
}

/// The `login` body as a generated crate implements the contract (`LoginRequest`), for the
/// runtime's own tests of `sign_in_with`: `{"username", "password"}` in, `data.token` out.
struct Login;

impl cloudtower_runtime::LoginRequest for Login {
    fn request(
        login: &cloudtower_runtime::PasswordLogin,
    ) -> Result<cloudtower_runtime::ApiRequest, cloudtower_runtime::Error> {
        let body = serde_json::json!({
            "username": login.username(),
            "password": login.password().expose(),
        });
        Ok(cloudtower_runtime::ApiRequest::json("login", &body).anonymous())
    }

    fn token(
        response: cloudtower_runtime::ApiResponse,
    ) -> Result<cloudtower_runtime::Secret, cloudtower_runtime::Error> {
        let answer: serde_json::Value = response.decode()?;
        let token = answer
            .pointer("/data/token")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        Ok(cloudtower_runtime::Secret::new(token))
    }
}
