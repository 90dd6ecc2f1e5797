//! The call pipeline (`client/orchestrator.rs::invoke`) against a fake service: a
//! `tower::Service` put in reqwest's place through `ClientBuilder::layer`, answering scripted
//! responses, with no HTTP server. Each test says what went on the wire, in order: the
//! phases as a user's tower would see them.

use cloudtower_runtime::error::{ConstructionError, DispatchError, ErrorKind, WorkflowError};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::{json, Value};

use cloudtower_runtime::{
    ApiRequest, Authenticator, BoxError, Client, ClientBuilder, Error, FailoverStrategy,
    HttpService, LockedRetry, RetryPolicy, Secret,
};

/// One scripted answer.
#[derive(Clone)]
struct Scripted {
    status: u16,
    body: Value,
    retry_after: Option<&'static str>,
}

fn answer(status: u16, body: Value) -> Scripted {
    Scripted {
        status,
        body,
        retry_after: None,
    }
}

/// What the fake service saw of one request: `host /path auth`.
type Sent = String;

/// The answers still to give, by host and path.
type Script = HashMap<(String, String), VecDeque<Scripted>>;

/// Answers each `(host, path)` from its queue of scripted answers, in order; the last one
/// answers every later request. Logs every request.
#[derive(Clone, Default)]
struct Fake {
    answers: Arc<Mutex<Script>>,
    sent: Arc<Mutex<Vec<Sent>>>,
}

impl Fake {
    fn on(self, host: &str, path: &str, answers: impl IntoIterator<Item = Scripted>) -> Self {
        self.answers
            .lock()
            .unwrap()
            .entry((host.to_owned(), path.to_owned()))
            .or_default()
            .extend(answers);
        self
    }

    fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap().clone()
    }

    fn answer(&self, request: &reqwest::Request) -> reqwest::Response {
        let host = request.url().host_str().unwrap_or_default().to_owned();
        let path = request.url().path().to_owned();
        let authorization = request
            .headers()
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_else(|| "-".to_owned());
        self.sent
            .lock()
            .unwrap()
            .push(format!("{host} {path} {authorization}"));
        let scripted = {
            let mut answers = self.answers.lock().unwrap();
            match answers.get_mut(&(host, path)) {
                Some(queue) if queue.len() > 1 => queue.pop_front(),
                Some(queue) => queue.front().cloned(),
                None => None,
            }
        };
        // An unscripted request is answered with a status no policy acts on.
        let scripted = scripted.unwrap_or_else(|| answer(418, json!({"message": "unscripted"})));
        let mut response = http::Response::builder()
            .status(scripted.status)
            .header("content-type", "application/json")
            .header("x-tower-request-id", "fake-1");
        if let Some(wait) = scripted.retry_after {
            response = response.header("retry-after", wait);
        }
        reqwest::Response::from(response.body(scripted.body.to_string()).unwrap())
    }

    /// A builder for a client whose every exchange this fake answers.
    fn builder(&self, endpoint: &str) -> ClientBuilder {
        let fake = self.clone();
        let service = tower::service_fn(move |request: reqwest::Request| {
            let response = fake.answer(&request);
            async move { Ok::<_, BoxError>(response) }
        });
        Client::builder(endpoint)
            .layer(tower::layer::layer_fn(move |_reqwest: HttpService| {
                service.clone()
            }))
            .retry_policy(RetryPolicy {
                max_retries: 3,
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(2),
            })
    }
}

/// Logs in with `login` and takes `token` from its answer.
struct TokenLogin;

impl Authenticator for TokenLogin {
    fn authenticate<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, Result<Secret, Error>> {
        Box::pin(async move {
            let answer: Value = client
                .execute(ApiRequest::json("login", &json!({"username": "admin"})).anonymous())
                .await?
                .decode()?;
            Ok(Secret::new(answer["token"].as_str().unwrap_or_default()))
        })
    }
}

fn read() -> ApiRequest {
    ApiRequest::json("get-vms", &json!({})).read()
}

fn mutation() -> ApiRequest {
    ApiRequest::json("update-vm", &json!({"where": {"id": "vm-1"}}))
}

fn locked() -> Scripted {
    answer(
        400,
        json!({
            "code": "ResourceLocked",
            "message": "the resource is locked",
            "props": {"locked_resources": [{"id": "vm-1", "type": "Vm"}]},
        }),
    )
}

fn quick_locked_retry() -> LockedRetry {
    LockedRetry {
        retries: RetryPolicy {
            max_retries: 5,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
        },
        timeout: Duration::from_secs(10),
    }
}

#[tokio::test]
async fn a_401_logs_in_again_once_and_the_call_is_sent_again_with_the_fresh_token() {
    let fake = Fake::default()
        .on(
            "a.test",
            "/v2/api/get-vms",
            [
                answer(401, json!({"message": "expired"})),
                answer(200, json!([{"id": "vm-1"}])),
            ],
        )
        .on(
            "a.test",
            "/v2/api/login",
            [answer(200, json!({"token": "fresh"}))],
        );
    let client = fake
        .builder("http://a.test")
        .token("stale")
        .build()
        .unwrap();
    client.set_authenticator(Arc::new(TokenLogin));

    let vms: Value = client.execute(read()).await.unwrap().decode().unwrap();

    assert_eq!(vms, json!([{"id": "vm-1"}]));
    assert_eq!(
        fake.sent(),
        [
            "a.test /v2/api/get-vms stale",
            "a.test /v2/api/login -",
            "a.test /v2/api/get-vms fresh",
        ]
    );
    // The fresh token is the session's: the next call sends it without logging in.
    client.execute(read()).await.unwrap();
    assert_eq!(fake.sent().last().unwrap(), "a.test /v2/api/get-vms fresh");
}

#[tokio::test]
async fn a_fresh_token_refused_again_is_a_reauthentication_error_not_a_second_login() {
    let fake = Fake::default()
        .on(
            "a.test",
            "/v2/api/get-vms",
            [answer(401, json!({"message": "no"}))],
        )
        .on(
            "a.test",
            "/v2/api/login",
            [answer(200, json!({"token": "fresh"}))],
        );
    let client = fake
        .builder("http://a.test")
        .token("stale")
        .build()
        .unwrap();
    client.set_authenticator(Arc::new(TokenLogin));

    let error = client.execute(read()).await.err().expect("the call fails");

    assert!(
        matches!(
            error.kind(),
            ErrorKind::Workflow(WorkflowError::Reauthentication(_))
        ),
        "{error:?}"
    );
    assert!(error.is_unauthorized());
    assert_eq!(
        fake.sent(),
        [
            "a.test /v2/api/get-vms stale",
            "a.test /v2/api/login -",
            "a.test /v2/api/get-vms fresh",
        ]
    );
}

#[tokio::test]
async fn a_read_is_sent_again_after_503_but_a_mutation_is_not() {
    let unavailable = || answer(503, json!({"message": "restarting"}));
    let fake = Fake::default()
        .on(
            "a.test",
            "/v2/api/get-vms",
            [unavailable(), unavailable(), answer(200, json!([]))],
        )
        .on(
            "a.test",
            "/v2/api/update-vm",
            [unavailable(), answer(200, json!([]))],
        );
    let client = fake
        .builder("http://a.test")
        .api_key("key")
        .build()
        .unwrap();

    client.execute(read()).await.unwrap();
    let error = client
        .execute(mutation())
        .await
        .err()
        .expect("the call fails");

    assert_eq!(error.status(), Some(503));
    assert!(
        error.is_retryable(),
        "the caller may decide to send it again"
    );
    assert_eq!(error.request_id(), Some("fake-1"));
    assert_eq!(
        fake.sent(),
        [
            "a.test /v2/api/get-vms key",
            "a.test /v2/api/get-vms key",
            "a.test /v2/api/get-vms key",
            "a.test /v2/api/update-vm key",
        ]
    );
}

#[tokio::test]
async fn a_retry_after_longer_than_the_client_waits_ends_the_read_at_once() {
    let fake = Fake::default().on(
        "a.test",
        "/v2/api/get-vms",
        [Scripted {
            retry_after: Some("3600"),
            ..answer(503, json!({"message": "maintenance"}))
        }],
    );
    let client = fake
        .builder("http://a.test")
        .max_retry_after(Duration::from_secs(5))
        .build()
        .unwrap();

    let error = client.execute(read()).await.err().expect("the call fails");

    assert_eq!(error.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(fake.sent().len(), 1);
}

#[tokio::test]
async fn a_per_call_retry_policy_replaces_the_clients() {
    let fake = Fake::default().on(
        "a.test",
        "/v2/api/get-vms",
        [answer(503, json!({"message": "restarting"}))],
    );
    let client = fake.builder("http://a.test").build().unwrap();

    let error = client
        .with_retry_policy(RetryPolicy::none())
        .execute(read())
        .await
        .err()
        .expect("the call fails");
    assert_eq!(error.status(), Some(503));
    assert_eq!(fake.sent().len(), 1, "not retried");

    client.execute(read()).await.err().expect("the call fails");
    assert_eq!(fake.sent().len(), 1 + 4, "the client's policy: 3 retries");
}

#[tokio::test]
async fn resource_locked_is_waited_out_when_asked_and_reported_otherwise() {
    let fake = Fake::default().on(
        "a.test",
        "/v2/api/update-vm",
        [
            locked(),
            locked(),
            answer(200, json!([{"data": {}, "task_id": "t-1"}])),
        ],
    );
    let client = fake
        .builder("http://a.test")
        .api_key("key")
        .build()
        .unwrap();

    // Without a lock-wait policy, the refusal is the answer, with what holds the lock.
    let error = client
        .execute(mutation())
        .await
        .err()
        .expect("the call fails");
    assert!(error.is_resource_locked());
    assert_eq!(error.locked_resources().unwrap()[0].id, "vm-1");
    assert_eq!(fake.sent().len(), 1);

    // With one, the mutation is sent again until the lock clears.
    let response = client
        .with_locked_retry(quick_locked_retry())
        .execute(mutation())
        .await
        .unwrap();
    let answer: Value = response.decode().unwrap();
    assert_eq!(answer[0]["task_id"], "t-1");
    assert_eq!(fake.sent().len(), 3);
}

#[tokio::test]
async fn a_passive_endpoint_is_switched_over_and_the_call_sent_to_the_active_one() {
    let fake = Fake::default()
        // Before the switch: a active, b passive; after it, the other way round.
        .on(
            "a.test",
            "/api/healthz",
            [answer(200, json!({})), answer(307, json!({}))],
        )
        .on(
            "b.test",
            "/api/healthz",
            [answer(307, json!({})), answer(200, json!({}))],
        )
        .on(
            "a.test",
            "/v2/api/get-vms",
            [answer(200, json!([])), answer(307, json!({}))],
        )
        .on(
            "b.test",
            "/v2/api/get-vms",
            [answer(200, json!([{"id": "vm-1"}]))],
        )
        // A mutation too: the passive tower refused it before doing anything.
        .on("b.test", "/v2/api/update-vm", [answer(200, json!([]))]);
    let client = fake
        .builder("http://a.test")
        .endpoint("http://b.test")
        .api_key("key")
        .build()
        .unwrap();

    client.execute(read()).await.unwrap();
    assert_eq!(client.active_endpoint(), Some("http://a.test/v2/api"));
    let vms: Value = client.execute(read()).await.unwrap().decode().unwrap();
    client.execute(mutation()).await.unwrap();

    assert_eq!(vms, json!([{"id": "vm-1"}]));
    assert_eq!(client.active_endpoint(), Some("http://b.test/v2/api"));
    assert_eq!(
        fake.sent(),
        [
            "a.test /api/healthz -",
            "b.test /api/healthz -",
            "a.test /v2/api/get-vms key",
            "a.test /v2/api/get-vms key",
            "a.test /api/healthz -",
            "b.test /api/healthz -",
            "b.test /v2/api/get-vms key",
            "b.test /v2/api/update-vm key",
        ]
    );
}

#[tokio::test]
async fn the_manual_strategy_reports_the_switch_over_instead_of_making_it() {
    let fake = Fake::default()
        .on("a.test", "/api/healthz", [answer(200, json!({}))])
        .on("b.test", "/api/healthz", [answer(307, json!({}))])
        .on("a.test", "/v2/api/get-vms", [answer(307, json!({}))]);
    let client = fake
        .builder("http://a.test")
        .endpoint("http://b.test")
        .failover(FailoverStrategy::Manual)
        .build()
        .unwrap();

    let error = client.execute(read()).await.err().expect("the call fails");

    assert!(
        matches!(
            error.kind(),
            ErrorKind::Dispatch(DispatchError::FailoverNeeded)
        ) && error.endpoint() == Some("http://a.test/v2/api"),
        "{error:?}"
    );
    assert_eq!(
        fake.sent().len(),
        3,
        "two probes and the call, not sent again"
    );
}

/// Every phase in one call, in the order `invoke` lists them: a transient failure is retried
/// inside the session, a 401 inside the lock wait, and a lock wait starts the session (and the
/// route) again, so a 401 after it logs in again instead of counting as a refused fresh token.
#[tokio::test]
async fn the_phases_nest_retries_inside_the_session_inside_lock_waits() {
    let fake = Fake::default()
        .on(
            "a.test",
            "/v2/api/get-vms",
            [
                answer(503, json!({"message": "restarting"})),
                answer(401, json!({"message": "expired"})),
                locked(),
                answer(401, json!({"message": "expired again"})),
                answer(200, json!([])),
            ],
        )
        .on(
            "a.test",
            "/v2/api/login",
            [
                answer(200, json!({"token": "fresh"})),
                answer(200, json!({"token": "fresher"})),
            ],
        );
    let client = fake
        .builder("http://a.test")
        .token("stale")
        .retry_locked(quick_locked_retry())
        .build()
        .unwrap();
    client.set_authenticator(Arc::new(TokenLogin));

    client.execute(read()).await.unwrap();

    assert_eq!(
        fake.sent(),
        [
            "a.test /v2/api/get-vms stale",
            // 503: retried with the same token.
            "a.test /v2/api/get-vms stale",
            // 401: one re-login, and the call sent again with its token.
            "a.test /v2/api/login -",
            "a.test /v2/api/get-vms fresh",
            // ResourceLocked: waited out, the session's token taken again.
            "a.test /v2/api/get-vms fresh",
            // 401 in the new session: a re-login of its own.
            "a.test /v2/api/login -",
            "a.test /v2/api/get-vms fresher",
        ]
    );
}

/// What is refused before anything is sent is refused before every phase that sends.
#[tokio::test]
async fn a_refused_header_parameter_sends_nothing() {
    let fake = Fake::default();
    let client = fake.builder("http://a.test").build().unwrap();

    let error = client
        .execute(read().header("bad-header", "line\nbreak"))
        .await
        .err()
        .expect("the call fails");

    assert!(
        matches!(
            error.kind(),
            ErrorKind::Construction(ConstructionError::HeaderParameter { .. })
        ),
        "{error:?}"
    );
    assert!(fake.sent().is_empty());
}

/// Every kind of error a call can end with names the call's operation once (in its context
/// and at the head of its message), and the request id of the answer when one came: one
/// failure of each kind, each through the whole pipeline.
#[tokio::test]
async fn every_error_of_a_call_names_its_operation_and_the_answers_request_id() {
    /// A client whose every exchange `service` answers (or fails).
    fn served_by<S, F>(service: S) -> ClientBuilder
    where
        S: Fn(reqwest::Request) -> F + Clone + Send + Sync + 'static,
        F: std::future::Future<Output = Result<reqwest::Response, BoxError>> + Send + 'static,
    {
        let service = tower::service_fn(service);
        Client::builder("http://a.test")
            .layer(tower::layer::layer_fn(move |_reqwest: HttpService| {
                service.clone()
            }))
            .retry_policy(RetryPolicy {
                max_retries: 0,
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(1),
            })
    }
    let on_get_vms =
        |scripted: Scripted| Fake::default().on("a.test", "/v2/api/get-vms", [scripted]);
    let one = |fake: Fake| {
        fake.builder("http://a.test")
            .api_key("key")
            .build()
            .unwrap()
    };
    let pair = |healthz: [u16; 2], get_vms: u16| {
        let fake = Fake::default()
            .on("a.test", "/api/healthz", [answer(healthz[0], json!({}))])
            .on("b.test", "/api/healthz", [answer(healthz[1], json!({}))])
            .on("a.test", "/v2/api/get-vms", [answer(get_vms, json!({}))]);
        fake.builder("http://a.test")
            .endpoint("http://b.test")
            .failover(FailoverStrategy::Manual)
            .api_key("key")
            .build()
            .unwrap()
    };

    // (what, the call's error, the request id expected, the endpoint expected)
    let mut cases: Vec<(&str, Error, Option<&str>, Option<&str>)> = Vec::new();
    let a = Some("http://a.test/v2/api");

    let client = one(Fake::default());
    let refused = client.execute(ApiRequest::json("get-vms", &f64::NAN).read());
    cases.push(("Encode", refused.await.err().unwrap(), None, None));

    let header = client.execute(read().header("bad-header", "line\nbreak"));
    cases.push(("HeaderParameter", header.await.err().unwrap(), None, None));

    let fake = Fake::default().on(
        "a.test",
        "/v2/api/get-version",
        [answer(200, json!("3.4.4"))],
    );
    let client = one(fake);
    let version = client.fetch_server_version().await.unwrap();
    assert_eq!(version.map(|v| v.to_string()).as_deref(), Some("3.4.4"));
    let since = cloudtower_runtime::Since {
        first_seen: "4.0.0",
        last_absent: Some("3.4.4"),
    };
    let too_old = client.execute(read().since(since)).await.err().unwrap();
    cases.push(("ServerTooOld", too_old, None, None));

    let client = Client::builder("http://a.test")
        .token("line\nbreak")
        .build()
        .unwrap();
    cases.push((
        "Config",
        client.execute(read()).await.err().unwrap(),
        None,
        a,
    ));

    let client = served_by(|_| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Err::<reqwest::Response, BoxError>("never".into())
    })
    .api_key("key")
    .build()
    .unwrap()
    .with_call_timeout(Duration::from_millis(50));
    cases.push((
        "TimedOut",
        client.execute(read()).await.err().unwrap(),
        None,
        None,
    ));

    let client = served_by(|_| async { Err::<reqwest::Response, BoxError>("rate limited".into()) })
        .api_key("key")
        .build()
        .unwrap();
    cases.push((
        "Middleware",
        client.execute(read()).await.err().unwrap(),
        None,
        a,
    ));

    let none_active = pair([307, 307], 200).execute(read()).await.err().unwrap();
    cases.push(("NoActiveEndpoint", none_active, None, None));
    let both_active = pair([200, 200], 200).execute(read()).await.err().unwrap();
    cases.push(("SeveralActiveEndpoints", both_active, None, None));
    let passive = pair([200, 307], 307).execute(read()).await.err().unwrap();
    cases.push(("FailoverNeeded", passive, None, a));

    let client = one(on_get_vms(answer(301, json!({}))));
    cases.push((
        "Redirect",
        client.execute(read()).await.err().unwrap(),
        Some("fake-1"),
        a,
    ));

    let fake = on_get_vms(answer(200, json!([{"id": "vm-1"}])));
    let client = fake
        .builder("http://a.test")
        .api_key("key")
        .max_response_bytes(4)
        .build()
        .unwrap();
    cases.push((
        "BodyTooLarge",
        client.execute(read()).await.err().unwrap(),
        Some("fake-1"),
        a,
    ));

    let client = one(on_get_vms(answer(200, json!([1, "two"]))));
    let answer_ = client.execute(read()).await.unwrap();
    let undecodable = answer_.decode::<Vec<i64>>().err().unwrap();
    cases.push(("Decode", undecodable, Some("fake-1"), None));

    let client = one(on_get_vms(answer(404, json!({"message": "no such VM"}))));
    cases.push((
        "Status",
        client.execute(read()).await.err().unwrap(),
        Some("fake-1"),
        a,
    ));

    let fake = on_get_vms(answer(401, json!({"message": "expired"}))).on(
        "a.test",
        "/v2/api/login",
        [answer(400, json!({"message": "wrong password"}))],
    );
    let client = fake
        .builder("http://a.test")
        .token("stale")
        .build()
        .unwrap();
    client.set_authenticator(Arc::new(TokenLogin));
    let relogin = client.execute(read()).await.err().unwrap();
    cases.push(("Reauthentication", relogin, Some("fake-1"), None));

    for (what, error, request_id, endpoint) in &cases {
        assert_eq!(error.type_name(), *what, "{error:?}");
        assert_eq!(error.operation(), Some("get-vms"), "{what}: {error:?}");
        let message = error.to_string();
        assert!(message.starts_with("get-vms: "), "{what}: {message}");
        assert_eq!(message.matches("get-vms").count(), 1, "{what}: {message}");
        assert_eq!(error.request_id(), *request_id, "{what}: {error:?}");
        assert_eq!(error.endpoint(), *endpoint, "{what}: {error:?}");
    }
    // One case per kind of a call's failure (a workflow's own kinds are the helpers').
    let kinds: std::collections::HashSet<_> = cases
        .iter()
        .map(|(_, error, ..)| std::mem::discriminant(error.kind()))
        .collect();
    assert_eq!(
        kinds.len(),
        6,
        "construction, timeout, dispatch, response, service, workflow"
    );
}
