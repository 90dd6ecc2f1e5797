//! The HTTP layer: routing, authentication, fault injection, request checks, the tower a
//! call is for (`external-cloudtower-id`), then the reactors (`reactors/`).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query as UrlQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use crate::auth::Sessions;
use crate::faults::{Faults, Plan};
use crate::pair::{Pairing, Role};
use crate::reactors::{self, generic, uploads, Serve};
use crate::state::{ApiError, Store};
use crate::table::{schema, tower_has};
use crate::RecordedRequest;

/// The header with which a CloudTower (4.8.0 and later) is asked to act on behalf of another
/// CloudTower it manages: the call works on that tower's resources.
pub const EXTERNAL_CLOUDTOWER_HEADER: &str = "external-cloudtower-id";

/// How many external towers one mock keeps resources for: a call naming one more answers
/// 400, so a client cannot grow the mock without bound by inventing ids.
pub const MAX_EXTERNAL_TOWERS: usize = 16;

/// A lock that a panicking request left poisoned is taken anyway, its poison cleared: a
/// request's own state never lives in what is shared (the injected task outcome is applied
/// to the tasks the request started, after it), and the store's records stay well-formed
/// JSON whatever a reactor did half-way.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| {
        mutex.clear_poison();
        poisoned.into_inner()
    })
}

/// One tower's server state: the store and faults (shared by both towers of a pair), its
/// own request log, role and health-probe count.
pub(crate) struct Shared {
    /// The local tower's store.
    pub store: Arc<Mutex<Store>>,
    /// The stores of the external towers this one acts for (`external-cloudtower-id`),
    /// at most [`MAX_EXTERNAL_TOWERS`]; shared by both towers of a pair.
    pub externals: Arc<Mutex<HashMap<String, Arc<Mutex<Store>>>>>,
    /// How an external tower's store starts.
    pub config: crate::MockConfig,
    /// Users, sessions and API keys (of the local tower, which authenticates every call).
    pub sessions: Arc<Mutex<Sessions>>,
    pub faults: Arc<Mutex<Faults>>,
    /// Users' reactors, by operation ([`crate::MockTower::react`]).
    pub user_reactors: Mutex<HashMap<String, crate::UserReactor>>,
    /// How many requests each operation received since the tower started.
    pub counts: Mutex<HashMap<String, usize>>,
    /// The most recent requests with their bodies, at most `max_recorded`.
    pub recorded: Mutex<VecDeque<RecordedRequest>>,
    pub max_recorded: usize,
    /// What `get-version` answers (`None`: 404).
    pub version: Option<String>,
    pub pairing: Pairing,
    /// How many `GET /api/healthz` probes this tower received.
    pub healthz: AtomicUsize,
}

/// How many distinct operation names the request counts keep: the API's (under 600) and
/// then some; names beyond it (a client sending random paths) are counted together.
const MAX_COUNTED_NAMES: usize = 2_000;

impl Shared {
    pub fn new(
        state: crate::SharedState,
        config: &crate::MockConfig,
        pairing: Pairing,
    ) -> Arc<Shared> {
        Arc::new(Shared {
            store: state.store,
            externals: state.externals,
            config: config.clone(),
            sessions: state.sessions,
            faults: state.faults,
            user_reactors: Mutex::new(HashMap::new()),
            counts: Mutex::new(HashMap::new()),
            recorded: Mutex::new(VecDeque::new()),
            max_recorded: config.max_recorded_requests,
            version: config.version.clone(),
            pairing,
            healthz: AtomicUsize::new(0),
        })
    }
    pub fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }
    pub fn sessions(&self) -> MutexGuard<'_, Sessions> {
        lock(&self.sessions)
    }
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }
    pub fn recorded(&self) -> MutexGuard<'_, VecDeque<RecordedRequest>> {
        lock(&self.recorded)
    }
    pub fn user_reactors(&self) -> MutexGuard<'_, HashMap<String, crate::UserReactor>> {
        lock(&self.user_reactors)
    }
    pub fn counts(&self) -> MutexGuard<'_, HashMap<String, usize>> {
        lock(&self.counts)
    }

    /// The store of the tower a call is for: the local one without `external` (the value of
    /// [`EXTERNAL_CLOUDTOWER_HEADER`]), else that external tower's, started on first use
    /// with the same sample inventory (its own ids); 400 beyond [`MAX_EXTERNAL_TOWERS`].
    pub fn store_for(&self, external: Option<&str>) -> Result<Arc<Mutex<Store>>, ApiError> {
        let Some(external) = external else {
            return Ok(self.store.clone());
        };
        if external.is_empty() || external.len() > 256 {
            return Err(ApiError::bad_request(format!(
                "`{EXTERNAL_CLOUDTOWER_HEADER}` must be a non-empty id of at most 256 bytes"
            )));
        }
        let mut externals = lock(&self.externals);
        if let Some(store) = externals.get(external) {
            return Ok(store.clone());
        }
        if externals.len() >= MAX_EXTERNAL_TOWERS {
            return Err(ApiError::bad_request(format!(
                "this mock acts for at most {MAX_EXTERNAL_TOWERS} external CloudTowers; \
                 `{external}` would be one more"
            )));
        }
        // Ids of their own: an external tower's ids never name a record of another tower.
        let offset = (externals.len() as u64 + 1) * 1_000_000_000_000;
        let store = Arc::new(Mutex::new(crate::new_store_at(&self.config, offset)));
        externals.insert(external.to_owned(), store.clone());
        Ok(store)
    }
}

/// The largest request body accepted: the SDK's default upload chunk
/// (`cloudtower_api::upload::DEFAULT_CHUNK_SIZE`, 8 MiB; a test checks it) plus 1 MiB for the multipart
/// framing and the form's text fields. axum's default (2 MB) refused every full chunk.
pub const MAX_BODY_BYTES: usize = (8 << 20) + (1 << 20);

type App = Arc<Shared>;

pub(crate) fn router(app: App) -> Router {
    let mut router = Router::new();
    for kind in uploads::UPLOADS {
        router = router.route(
            &format!("/v2/api/{}", kind.operation),
            post(move |state, headers, multipart| upload(state, headers, multipart, kind))
                .fallback(method_not_allowed),
        );
    }
    router
        .route("/api/healthz", get(healthz))
        .route(
            "/v2/api/get-version",
            get(get_version).fallback(method_not_allowed),
        )
        .route(
            "/v2/api/resource-changes",
            get(resource_changes).fallback(method_not_allowed),
        )
        .route("/v2/api/{operation}", post(operation))
        .fallback(|State(app): State<App>, uri: axum::http::Uri| async move {
            if uri.path().starts_with("/v2/api/") && app.pairing.role() == Role::Passive {
                return redirect(&app);
            }
            error_response(
                &ApiError::not_found("no such path (the API is under /v2/api/)"),
                "",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(app)
}

/// A method the operation does not take (`POST get-version`): 405 with an `ErrorBody`, as
/// every other error answers.
async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let operation = uri.path().trim_start_matches("/v2/api/").to_owned();
    error_response(
        &ApiError::new(405, format!("`{operation}` does not take {method}")),
        &operation,
    )
}

/// The `ErrorBody` of `error`.
fn error_response(error: &ApiError, operation: &str) -> Response {
    let mut props = error.props.as_deref().cloned();
    if let Some(reason) = error.reason {
        let props = props.get_or_insert_with(|| json!({}));
        if let Some(props) = props.as_object_mut() {
            props.insert("mock_reason".into(), reason.into());
        }
    }
    let mut body = json!({
        "message": error.message,
        "status": error.status,
        "path": format!("/v2/api/{operation}"),
    });
    for (key, value) in [
        ("code", error.code.clone().map(Value::from)),
        ("props", props),
        (
            "operationName",
            (!operation.is_empty()).then(|| operation.into()),
        ),
    ] {
        if let Some(value) = value {
            body[key] = value;
        }
    }
    json_response(
        StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body.to_string().into_bytes(),
    )
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// A passive tower's answer: `307 Temporary Redirect` to its configured `Location`.
fn redirect(app: &App) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::TEMPORARY_REDIRECT;
    if let Ok(location) = HeaderValue::from_str(&app.pairing.location()) {
        response.headers_mut().insert("location", location);
    }
    response
}

/// `GET /api/healthz`: 200 on an active tower, 307 on a passive one. Counted, not recorded.
async fn healthz(State(app): State<App>) -> Response {
    app.healthz.fetch_add(1, Ordering::SeqCst);
    match app.pairing.role() {
        Role::Active => {
            let mut response = Response::new(Body::from("ok"));
            response
                .headers_mut()
                .insert("content-type", HeaderValue::from_static("text/plain"));
            response
        }
        Role::Passive => redirect(&app),
    }
}

/// `GET /v2/api/get-version`: the configured version as a bare JSON string; 404 without one
/// (a tower older than 2.3.0). Needs no authentication.
async fn get_version(State(app): State<App>, headers: HeaderMap) -> Response {
    let version = app.version.clone();
    call(
        &app,
        "get-version",
        &headers,
        Value::Null,
        move |_| match version {
            Some(version) => Ok(Value::from(version)),
            None => Err(ApiError::not_found(
                "no such operation (this tower is older than 2.3.0)",
            )),
        },
    )
    .await
}

/// A response whose body fails at once: the server closes the connection mid-answer.
fn dropped_connection() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "connection dropped by cloudtower-mock",
        ))
    });
    Response::new(Body::from_stream(stream))
}

/// The 400 `ResourceLocked` answer naming `resources` (`(type, id)`), shaped as a tower's:
/// `props.locked_resources` is `[{"id": …, "type": …}]`.
fn resource_locked(resources: Vec<(String, String)>) -> ApiError {
    let mut error = ApiError::bad_request(
        "the resource is being changed by another task; retry once it has ended",
    );
    error.code = Some("ResourceLocked".into());
    let locked: Vec<Value> = resources
        .into_iter()
        .map(|(kind, id)| json!({"id": id, "type": kind}))
        .collect();
    error.props = Some(Box::new(json!({ "locked_resources": locked })));
    error
}

/// Whether `operation` changes nothing a task could be changing: the table's fact (`read`),
/// and the routes that are not about a resource.
fn is_read(operation: &str) -> bool {
    schema().operation(operation).is_some_and(|op| op.read)
        || matches!(operation, "login" | "resource-changes")
        || uploads::upload_of(operation).is_some()
}

/// The resource type an operation's `where` selects: its kind's resource, else the
/// resource its answer's tasks hold (`start-vm` → `Vm`).
fn target_resource(operation: &str) -> Option<&'static str> {
    let op = schema().operation(operation)?;
    if let Some(resource) = op.kind.resource() {
        return Some(resource);
    }
    let data = op.response.as_ref()?.named()?;
    schema().resource(data).map(|r| r.name.as_str())
}

/// The resources (`(type, id)`) that the `where` of a request selects; none without a
/// `where` the mock can evaluate.
fn targets(store: &Store, operation: &str, body: &Value) -> Vec<(String, String)> {
    let (Some(filter), Some(kind)) = (body.get("where"), target_resource(operation)) else {
        return Vec::new();
    };
    generic::selected_ids(store, kind, filter)
        .unwrap_or_default()
        .into_iter()
        .map(|id| (kind.to_owned(), id))
        .collect()
}

/// The resources a mutation selects that a running task is changing.
fn busy_targets(store: &mut Store, operation: &str, body: &Value) -> Vec<(String, String)> {
    if is_read(operation) {
        return Vec::new();
    }
    store.advance();
    targets(store, operation, body)
        .into_iter()
        .filter(|(_, id)| store.tasks.is_busy(id))
        .collect()
}

/// Everything every operation goes through: recording, a passive tower's redirect, the
/// tower's version, faults, authentication, the tower the call is for, `ResourceLocked`
/// refusals, then `handler` on that tower's store. The tasks `handler` starts end as the
/// injected fault says; a panicking handler answers 500 and leaves nothing behind.
async fn call(
    app: &App,
    operation: &str,
    headers: &HeaderMap,
    body: Value,
    handler: impl FnOnce(&mut Store) -> Result<Value, ApiError>,
) -> Response {
    {
        let mut counts = app.counts();
        if counts.len() < MAX_COUNTED_NAMES || counts.contains_key(operation) {
            *counts.entry(operation.to_owned()).or_default() += 1;
        } else {
            *counts.entry("(other)".to_owned()).or_default() += 1;
        }
    }
    let request = body.clone();
    {
        let mut recorded = app.recorded();
        while recorded.len() >= app.max_recorded.max(1) {
            recorded.pop_front();
        }
        recorded.push_back(RecordedRequest {
            operation: operation.to_owned(),
            body,
        });
    }
    if app.pairing.role() == Role::Passive {
        return redirect(app);
    }
    if let (Some(op), Some(version)) = (schema().operation(operation), &app.version) {
        if !tower_has(op, version) {
            // What a tower of that version answers: the path does not exist there.
            let error = ApiError::not_found(format!(
                "no such operation `{operation}` in CloudTower {version} (it is new in {})",
                op.since
            ));
            return error_response(&error, operation);
        }
    }
    let plan: Plan = app.faults().plan(operation);
    if !plan.latency.is_zero() {
        tokio::time::sleep(plan.latency).await;
    }
    if plan.drop {
        return dropped_connection();
    }
    if let Some(status) = plan.status {
        let error = ApiError::new(status, format!("injected HTTP {status} (cloudtower-mock)"));
        return error_response(&error, operation);
    }
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let authenticated = {
        let mut sessions = app.sessions();
        let public = schema()
            .operation(operation)
            .is_some_and(|op| !op.authenticated)
            || operation == "login"
            || operation == "get-version";
        let known = sessions.knows(authorization);
        if plan.expire_token && known {
            sessions.end(authorization);
            Err(ApiError::new(
                401,
                "the session has expired (cloudtower-mock)",
            ))
        } else if public
            || known
            || operation == "resource-changes" && sessions.basic_ok(authorization)
        {
            Ok(())
        } else {
            Err(ApiError::new(
                401,
                "Unauthorized: log in or send an API key",
            ))
        }
    };
    let external = headers
        .get(EXTERNAL_CLOUDTOWER_HEADER)
        .map(|v| v.to_str().unwrap_or_default());
    let result = authenticated
        .and_then(|()| app.store_for(external))
        .and_then(|tower| {
            let mut store = lock(&tower);
            if plan.locked {
                store.advance();
                let named = match plan.locked_resource {
                    Some(resource) => vec![resource],
                    None => targets(&store, operation, &request),
                };
                return Err(resource_locked(if named.is_empty() {
                    vec![("Vm".to_owned(), "mock-locked-resource".to_owned())]
                } else {
                    named
                }));
            }
            if store.lock_busy {
                let busy = busy_targets(&mut store, operation, &request);
                if !busy.is_empty() {
                    return Err(resource_locked(busy));
                }
            }
            store.advance();
            let mark = store.tasks.mark();
            let result =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(&mut store)))
                    .unwrap_or_else(|panic| {
                        let what = panic
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_default();
                        Err(ApiError::new(
                            500,
                            format!("cloudtower-mock failed while answering `{operation}`: {what}"),
                        ))
                    });
            store.tasks.set_outcome_since(mark, plan.task);
            store.advance();
            result
        });
    match result {
        Ok(answer) => {
            let mut body = answer.to_string().into_bytes();
            if plan.truncate {
                body.truncate(body.len() / 2);
            }
            let mut response = json_response(StatusCode::OK, body);
            response.headers_mut().insert(
                "x-tower-request-id",
                HeaderValue::from_static("mock-request"),
            );
            response
        }
        Err(error) => error_response(&error, operation),
    }
}

/// A JSON body as JSON (`null` when empty); one that is not JSON as its text.
fn recorded_body(body: &[u8]) -> Value {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// How deep a request body's arrays and objects may nest, checked before decoding: the typed
/// decoder recurses per level, and a `*WhereInput` level (hundreds of fields) takes tens of
/// KiB of stack in a debug build (14 nested `NOT`s overflowed a 2 MiB test thread before the
/// server got a thread of its own). 32 levels (16 nested `AND`/`OR`/`NOT`) is far beyond
/// real filters.
pub const MAX_BODY_DEPTH: usize = 32;

/// How deep arrays and objects nest in `json`, read without recursion (strings skipped).
fn nesting_depth(json: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &byte in json {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// The body of a request to `operation` as JSON, checked against the operation's request
/// type in the table (unknown keys, missing required fields, wrong types and unknown enum
/// values answer 400 naming the JSON pointer); `null` for an operation without a body.
fn read_request(operation: &str, body: &[u8]) -> Result<Value, ApiError> {
    let Some(op) = schema().operation(operation) else {
        return Err(ApiError::not_found(format!(
            "no such operation `{operation}` in CloudTower {}",
            schema().version
        )));
    };
    let Some(request_type) = op.request.as_ref().filter(|_| !op.multipart) else {
        return Ok(Value::Null);
    };
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    // Checked before parsing: serde_json's own limit (128) is for its stack, this one for
    // what the mock is willing to evaluate.
    if nesting_depth(body) > MAX_BODY_DEPTH {
        return Err(ApiError::bad_request(format!(
            "invalid request body: nested deeper than {MAX_BODY_DEPTH} levels"
        )));
    }
    let mut request: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid request body: not JSON: {e}")))?;
    // Each pass fixes one lenient spelling the checker pointed at; bounded by the body's size.
    for _ in 0..=body.len() {
        match schema().check(&request, request_type) {
            Ok(()) => return Ok(request),
            Err(mismatch) if read_leniently(&mut request, &mismatch.pointer) => {}
            Err(mismatch) => {
                return Err(ApiError::bad_request(format!(
                    "invalid request body: {mismatch}"
                )))
            }
        }
    }
    Err(ApiError::bad_request("invalid request body"))
}

/// Reads the value at `pointer` as a tower does, where a tower is lenient; whether it
/// changed anything. A tower is lenient about:
/// - a whole-number float where an integer is expected (`262144.0`, what Python and
///   JavaScript clients send): its JSON parser reads the integer it is. (`262144.5` is
///   still refused: no integer reads so.)
/// - `NOT` given as one filter rather than a list of them: Prisma, whose filter language
///   the API follows, accepts both.
///
/// Everything else stays strict, as a tower's request validation is: unknown keys, missing
/// required fields, wrong kinds, unknown enum values.
fn read_leniently(request: &mut Value, pointer: &str) -> bool {
    let Some(value) = request.pointer_mut(pointer) else {
        return false;
    };
    if let Some(float) = value.as_f64().filter(|_| value.is_f64()) {
        if float.fract() == 0.0 && float.abs() < 9.0e15 {
            *value = Value::from(float as i64);
            return true;
        }
        return false;
    }
    if pointer.ends_with("/NOT") && value.is_object() {
        *value = Value::Array(vec![value.take()]);
        return true;
    }
    false
}

async fn operation(
    State(app): State<App>,
    Path(operation): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let op = operation.clone();
    let sessions = app.sessions.clone();
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let user_reactor = app.user_reactors().get(&operation).cloned();
    call(
        &app,
        &operation,
        &headers,
        recorded_body(&body),
        move |store| {
            let request = read_request(&op, &body)?;
            if let Some(react) = user_reactor {
                let mut records = crate::Records { store: &mut *store };
                match react(&mut records, &request) {
                    crate::Reaction::Pass => {}
                    crate::Reaction::Answer(answer) => return Ok(answer),
                    crate::Reaction::Fail(status, message) => {
                        return Err(ApiError::new(status, message))
                    }
                }
            }
            match reactors::entry(&op).map(|e| e.serve) {
                Some(Serve::Auth) => lock(&sessions).login(&request),
                Some(Serve::Caller(react)) => {
                    let (username, source) = lock(&sessions)
                        .user_of(&authorization)
                        .ok_or_else(|| ApiError::new(401, "Unauthorized: log in first"))?;
                    react(store, &reactors::Caller { username, source }, &request)
                }
                _ => reactors::dispatch(store, &op, &request),
            }
        },
    )
    .await
}

/// An upload operation ([`uploads::UPLOADS`]): its multipart form read, then one chunk taken.
async fn upload(
    State(app): State<App>,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
    kind: &'static uploads::Upload,
) -> Response {
    // Read the form first (outside the store lock); errors are reported like any other.
    let mut fields: Vec<(String, Bytes)> = Vec::new();
    let mut problem = None;
    match multipart {
        Ok(mut form) => loop {
            match form.next_field().await {
                Ok(Some(field)) => {
                    let name = field.name().unwrap_or_default().to_owned();
                    match field.bytes().await {
                        Ok(bytes) => fields.push((name, bytes)),
                        Err(e) => {
                            problem = Some(e.to_string());
                            break;
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    problem = Some(e.to_string());
                    break;
                }
            }
        },
        Err(e) => problem = Some(e.to_string()),
    }
    // Recorded as the form's text fields, with the file part as its length.
    let form: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(name, value)| {
            let value = if name == "file" {
                json!({ "bytes": value.len() })
            } else {
                Value::String(String::from_utf8_lossy(value).into_owned())
            };
            (name.clone(), value)
        })
        .collect();
    let recorded = Value::Object(form);
    let other_fields = recorded.clone();
    call(&app, kind.operation, &headers, recorded, move |store| {
        if let Some(problem) = problem {
            return Err(ApiError::bad_request(format!(
                "invalid multipart body: {problem}"
            )));
        }
        let text = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        };
        let file = fields
            .iter()
            .find(|(n, _)| n == "file")
            .map(|(_, v)| v.len() as i64)
            .ok_or_else(|| ApiError::bad_request("the `file` part is required"))?;
        uploads::upload_chunk(
            store,
            uploads::Chunk {
                kind,
                form: other_fields,
                upload_task_id: text("upload_task_id"),
                file_len: file,
                name: text("name"),
                size: text("size"),
                size_unit: text("size_unit"),
                cluster_id: text("cluster_id"),
                description: text("description"),
            },
        )
    })
    .await
}

#[derive(serde::Deserialize)]
struct ChangesQuery {
    start_revision: Option<String>,
    limit: Option<usize>,
    resource_type: Option<String>,
    resource_id: Option<String>,
    action: Option<String>,
}

async fn resource_changes(
    State(app): State<App>,
    headers: HeaderMap,
    query: Result<UrlQuery<ChangesQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    call(
        &app,
        "resource-changes",
        &headers,
        Value::Null,
        move |store| {
            let UrlQuery(q) = query.map_err(|e| ApiError::bad_request(e.to_string()))?;
            let start = match &q.start_revision {
                Some(s) => Some(s.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!("start_revision is not a decimal number: {s:?}"))
                })?),
                None => None,
            };
            let limit = q.limit.unwrap_or(100).clamp(1, 1000);
            let mut response = json!({
                "currentRevision": store.revision.to_string(),
                "compactRevision": store.compact_revision.to_string(),
                "data": [],
                "ec": "",
            });
            match start {
                Some(start) if start < store.compact_revision => {
                    response["ec"] = "ErrCompacted".into();
                    response["error"] = json!({
                        "message": format!(
                            "required revision {start} has been compacted (compact revision {})",
                            store.compact_revision
                        )
                    });
                }
                Some(start) => {
                    let wanted = |event: &Value, key: &str, value: &Option<String>| {
                        value.as_ref().is_none_or(|v| event[key] == v.as_str())
                    };
                    let data: Vec<Value> = store
                        .events
                        .iter()
                        .filter(|e| {
                            e["revision"]
                                .as_str()
                                .and_then(|r| r.parse::<u64>().ok())
                                .is_some_and(|r| r >= start)
                        })
                        .filter(|e| wanted(e, "resource_type", &q.resource_type))
                        .filter(|e| wanted(e, "resource_id", &q.resource_id))
                        .filter(|e| wanted(e, "action", &q.action))
                        .take(limit)
                        .cloned()
                        .collect();
                    response["data"] = Value::Array(data);
                }
                None => {}
            }
            Ok(response)
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MockConfig;

    /// Every record of the seed data is a value of its type (the hand-written parts too).
    #[test]
    fn every_seed_record_is_valid_for_its_type() {
        let store = crate::new_store(&MockConfig::default());
        let mut checked = 0;
        for resource in &schema().resources {
            let ty = cloudtower_schema::Ty::Named(resource.name.clone());
            for record in store.records.of(&resource.name) {
                if let Err(mismatch) = schema().check(record, &ty) {
                    panic!("{}: {mismatch}: {record}", resource.name);
                }
                checked += 1;
            }
        }
        assert!(checked > 100, "{checked} records");
    }

    /// A VM deleted since it was selected is left out of the answers instead of panicking.
    #[test]
    fn a_vm_deleted_since_it_was_selected_is_skipped() {
        let mut store = crate::new_store(&MockConfig::default());
        let ids: Vec<String> = store
            .records
            .of("Vm")
            .iter()
            .take(2)
            .filter_map(|v| crate::json::opt_text(v, "id"))
            .collect();
        assert_eq!(ids.len(), 2, "the seed has two VMs");
        store.delete_vm(&ids[1], false);
        let answers = reactors::vm::vm_answers(&mut store, &ids, "Start VM", None);
        assert_eq!(answers.len(), 1);
        assert_eq!(answers[0]["data"]["id"], ids[0].as_str());
    }
}
