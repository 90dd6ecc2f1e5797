//! The HTTP side: routing, authentication, fault injection, request checks, and the
//! hand-written behaviour of the VM slice (the overrides of the generic path).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query as UrlQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use crate::faults::{Faults, Plan, TaskOutcome};
use crate::generic::{self, schema, Task};
use crate::pair::{Pairing, Role};
use crate::state::{now_rfc3339, ApiError, Effect, Store};
use crate::vm::{items, opt_text, scale, text, vcpu_count};
use crate::RecordedRequest;

/// One tower's server state: the store and faults (shared by both towers of a pair), its
/// own request log, role and health-probe count.
pub(crate) struct Shared {
    pub store: Arc<Mutex<Store>>,
    pub faults: Arc<Mutex<Faults>>,
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
        store: Arc<Mutex<Store>>,
        faults: Arc<Mutex<Faults>>,
        version: Option<String>,
        pairing: Pairing,
        max_recorded: usize,
    ) -> Arc<Shared> {
        Arc::new(Shared {
            store,
            faults,
            counts: Mutex::new(HashMap::new()),
            recorded: Mutex::new(VecDeque::new()),
            max_recorded,
            version,
            pairing,
            healthz: AtomicUsize::new(0),
        })
    }
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub fn recorded(&self) -> MutexGuard<'_, VecDeque<RecordedRequest>> {
        self.recorded.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub fn counts(&self) -> MutexGuard<'_, HashMap<String, usize>> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The largest request body accepted: the SDK's default upload chunk
/// (`cloudtower_api::upload::DEFAULT_CHUNK_SIZE`, 8 MiB; a test checks it) plus 1 MiB for the multipart
/// framing and the form's text fields. axum's default (2 MB) refused every full chunk.
pub const MAX_BODY_BYTES: usize = (8 << 20) + (1 << 20);

type App = Arc<Shared>;

pub(crate) fn router(app: App) -> Router {
    Router::new()
        .route("/api/healthz", get(healthz))
        .route(
            "/v2/api/get-version",
            get(get_version).fallback(method_not_allowed),
        )
        .route(
            "/v2/api/upload-elf-image",
            post(upload_elf_image).fallback(method_not_allowed),
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

/// Whether `operation` reads only (or is not about a resource).
fn is_read(operation: &str) -> bool {
    operation.starts_with("get-")
        || matches!(operation, "login" | "resource-changes" | "upload-elf-image")
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
        .filter(|(_, id)| store.is_busy(id))
        .collect()
}

/// Everything every operation goes through: recording, a passive tower's redirect, faults,
/// authentication, `ResourceLocked` refusals, then `handler`.
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
    let result = {
        let mut store = app.store();
        let authorization = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let public = operation == "login" || operation == "get-version";
        let known = store.tokens.contains(authorization) || store.api_keys.contains(authorization);
        if plan.expire_token && known {
            store.tokens.remove(authorization);
            Err(ApiError::new(
                401,
                "the session has expired (cloudtower-mock)",
            ))
        } else if !public && !known && !basic_ok(&store, operation, authorization) {
            Err(ApiError::new(
                401,
                "Unauthorized: log in or send an API key",
            ))
        } else if plan.locked {
            store.advance();
            let named = match plan.locked_resource {
                Some(resource) => vec![resource],
                None => targets(&store, operation, &request),
            };
            Err(resource_locked(if named.is_empty() {
                vec![("Vm".to_owned(), "mock-locked-resource".to_owned())]
            } else {
                named
            }))
        } else if let Some(busy) = store
            .lock_busy
            .then(|| busy_targets(&mut store, operation, &request))
            .filter(|busy| !busy.is_empty())
        {
            Err(resource_locked(busy))
        } else {
            store.outcome = plan.task;
            store.advance();
            let result = handler(&mut store);
            store.outcome = TaskOutcome::Succeed;
            result
        }
    };
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

/// `resource-changes` also takes HTTP Basic credentials of a known user.
fn basic_ok(store: &Store, operation: &str, authorization: &str) -> bool {
    if operation != "resource-changes" {
        return false;
    }
    let Some(encoded) = authorization.strip_prefix("Basic ") else {
        return false;
    };
    let Some(decoded) = base64_decode(encoded) else {
        return false;
    };
    store
        .users
        .iter()
        .any(|(user, password, _)| decoded == format!("{user}:{password}"))
}

fn base64_decode(text: &str) -> Option<String> {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.trim_end_matches('=').bytes() {
        let v = TABLE.iter().position(|&t| t == c)? as u32;
        bits = (bits << 6) | v;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8(out).ok()
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
    let request: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid request body: not JSON: {e}")))?;
    schema()
        .check(&request, request_type)
        .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))?;
    Ok(request)
}

async fn operation(
    State(app): State<App>,
    Path(operation): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let op = operation.clone();
    call(
        &app,
        &operation,
        &headers,
        recorded_body(&body),
        move |store| {
            let request = read_request(&op, &body)?;
            dispatch(store, &op, &request)
        },
    )
    .await
}

/// The operations with hand-written behaviour (the arms of [`dispatch`] and the routes of
/// [`router`]); every other operation of the API takes the generic path ([`generic::answer`]).
pub(crate) const OVERRIDES: &[&str] = &[
    "add-labels-to-resources",
    "add-vm-cd-rom",
    "add-vm-disk",
    "add-vm-nic",
    "create-vm",
    "create-vm-from-content-library-template",
    "create-vm-snapshot",
    "delete-vm",
    "delete-vm-snapshot",
    "force-restart-vm",
    "get-version",
    "get-vm-vnc-info",
    "login",
    "migrate-vm",
    "move-vm-to-recycle",
    "poweroff-vm",
    "rebuild-vm-from-snapshot",
    "recover-vm-from-recycle",
    "remove-labels-from-resources",
    "remove-vm-cd-rom",
    "remove-vm-disk",
    "remove-vm-nic",
    "remove-vm-nic-by-where",
    "resource-changes",
    "restart-vm",
    "resume-vm",
    "rollback-vm",
    "shutdown-vm",
    "start-vm",
    "suspend-vm",
    "update-vm-basic-info",
    "upload-elf-image",
];

type Handler = fn(&mut Store, &Value, &str) -> Result<Value, ApiError>;

/// The hand-written behaviour of an override (`None`: the generic path, or one of the
/// routes of its own in [`router`]).
fn handler(op: &str) -> Option<Handler> {
    Some(match op {
        "login" => |s, b, _| login(s, b),
        "add-labels-to-resources" => |s, b, _| generic::link(s, "Label", b, true),
        "remove-labels-from-resources" => |s, b, _| generic::link(s, "Label", b, false),
        "create-vm" => |s, b, _| create_vm(s, b),
        "create-vm-from-content-library-template" => |s, b, _| create_vm_from_template(s, b),
        "update-vm-basic-info" => |s, b, _| update_vm_basic_info(s, b),
        "start-vm" => |s, b, _| power(s, b, "start", opt_text(&b["data"], "host_id")),
        "shutdown-vm" | "poweroff-vm" | "restart-vm" | "force-restart-vm" | "suspend-vm"
        | "resume-vm" => |s, b, op| power(s, b, op.trim_end_matches("-vm"), None),
        "move-vm-to-recycle" | "recover-vm-from-recycle" => recycle,
        "delete-vm" => |s, b, _| delete_vm(s, b),
        "remove-vm-nic-by-where" => |s, b, _| remove_nics_by_where(s, b),
        "add-vm-disk" | "remove-vm-disk" | "add-vm-nic" | "remove-vm-nic" | "add-vm-cd-rom"
        | "remove-vm-cd-rom" | "migrate-vm" => edit_vm,
        "create-vm-snapshot" => |s, b, _| create_vm_snapshot(s, b),
        "delete-vm-snapshot" => |s, b, _| delete_vm_snapshot(s, b),
        "rebuild-vm-from-snapshot" => |s, b, _| rebuild_vm(s, b),
        "rollback-vm" => |s, b, _| rollback_vm(s, b),
        "get-vm-vnc-info" => |s, b, _| vnc_info(s, b),
        _ => return None,
    })
}

/// The operations [`router`] routes to handlers of their own (not through [`handler`]).
#[cfg(test)]
const ROUTED: &[&str] = &["get-version", "resource-changes", "upload-elf-image"];

fn dispatch(store: &mut Store, op: &str, body: &Value) -> Result<Value, ApiError> {
    match handler(op) {
        Some(handle) => handle(store, body, op),
        None => generic::answer(store, op, body),
    }
}

fn login(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let source = body["source"].as_str().unwrap_or("LOCAL");
    let known = store.users.iter().any(|(u, p, s)| {
        *u == text(body, "username") && *p == text(body, "password") && s == source
    });
    if !known {
        return Err(ApiError::bad_request(
            "login failed: wrong username, password or source",
        ));
    }
    let token = store.token();
    store.tokens.insert(token.clone());
    Ok(json!({"task_id": null, "data": {"token": token}}))
}

fn vms_or_error(store: &Store, filter: &Value) -> Result<Vec<String>, ApiError> {
    let ids = generic::selected_ids(store, "Vm", filter)?;
    if ids.is_empty() {
        return Err(ApiError::nothing_selected(
            "no VM matches the `where` filter",
        ));
    }
    Ok(ids)
}

type VmChange = Box<dyn Fn(&mut Map<String, Value>) + Send + Sync>;

/// A task per VM of `ids` that applies `change` when it succeeds; the answers hold each VM
/// as it is now. A VM gone since it was selected (`store.task` advances other tasks, and an
/// older delete may end there) is left out, never a panic.
fn vm_answers(
    store: &mut Store,
    ids: &[String],
    description: &str,
    change: Option<VmChange>,
) -> Vec<Value> {
    let change = change.map(Arc::new);
    ids.iter()
        .filter_map(|id| {
            let vm_id = id.clone();
            let change = change.clone();
            let effect = change.map(|change| {
                Box::new(move |s: &mut Store| s.update("Vm", &vm_id, |vm| change(vm))) as Effect
            });
            let task = store.task(description, "Vm", id, effect, None);
            let vm = store.records.find("Vm", id)?.clone();
            Some(json!({"task_id": task, "data": vm}))
        })
        .collect()
}

/// What the create-like operations do with each `VmCreationParams`: a VM now, and a task
/// that gives it `status` (or deletes it, when the task fails).
fn created_vm_task(store: &mut Store, vm: Value, status: &str) -> Value {
    let id = text(&vm, "id").to_owned();
    let status = status.to_owned();
    let failed = id.clone();
    Task::new(&format!("Create VM {}", text(&vm, "name")), "Vm", &id)
        .on_success(move |s: &mut Store| s.update("Vm", &id, |v| set_field(v, "status", status)))
        .on_failure(move |s: &mut Store| s.delete_vm(&failed, true))
        .answer(store, vm)
}

/// The elements of an array body (params of several resources at once).
fn items_of(body: &Value) -> &[Value] {
    body.as_array().map_or(&[], Vec::as_slice)
}

fn set_field(record: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    record.insert(key.into(), value.into());
}

/// Creates one VM for each element of `params`, each checked before any is created.
fn create_vms(store: &mut Store, params: &[Value]) -> Result<Value, ApiError> {
    for p in params {
        store.check_vm_params(p)?;
    }
    let mut out = Vec::new();
    for p in params {
        let vm = store.create_vm(p)?;
        out.push(created_vm_task(
            store,
            vm,
            p["status"].as_str().unwrap_or("STOPPED"),
        ));
    }
    Ok(Value::Array(out))
}

fn create_vm(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    create_vms(store, items_of(body))
}

/// A new volume for each disk of a template or snapshot (`type: DISK`).
fn disks_like(disks: &[Value], name: impl Fn(usize, &Value) -> String, size: i64) -> Value {
    Value::Array(
        disks
            .iter()
            .filter(|d| d["type"] == "DISK")
            .enumerate()
            .map(|(i, d)| {
                json!({
                    "boot": d["boot"],
                    "bus": d["bus"],
                    "vm_volume": {
                        "name": name(i, d),
                        "size": d["size"].as_i64().unwrap_or(size),
                        "elf_storage_policy": "REPLICA_2_THIN_PROVISION",
                    },
                })
            })
            .collect(),
    )
}

/// `VmCreationParams` from params shaped like them (`p`) and the template or snapshot they
/// copy (`source`: its `cpu`, `memory`, disks).
fn creation_like(p: &Value, source: &Value, cluster_id: &str, disks: Value) -> Value {
    let or = |key: &str, fallback: &Value| match &p[key] {
        Value::Null => fallback.clone(),
        value => value.clone(),
    };
    json!({
        "cluster_id": cluster_id,
        "host_id": p["host_id"],
        "name": p["name"],
        "description": p["description"],
        "cpu_cores": or("cpu_cores", &source["cpu"]["cores"]),
        "cpu_sockets": or("cpu_sockets", &source["cpu"]["sockets"]),
        "memory": or("memory", &source["memory"]),
        "memory_unit": p["memory_unit"],
        "status": p["status"].as_str().unwrap_or("STOPPED"),
        "vm_disks": {"mount_new_create_disks": disks},
        "vm_nics": or("vm_nics", &json!([])),
    })
}

fn create_vm_from_template(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let mut creations = Vec::new();
    let mut hostnames = Vec::new();
    for p in items_of(body) {
        let template_id = text(p, "template_id");
        let template = store
            .records
            .find("ContentLibraryVmTemplate", template_id)
            .cloned()
            .ok_or_else(|| ApiError::no_such(format!("template {template_id} does not exist")))?;
        if !p["cloud_init"].is_null() && template["cloud_init_supported"] != true {
            return Err(ApiError::invalid_state(format!(
                "template {} does not support cloud-init",
                text(&template, "name")
            )));
        }
        let mut source = template.clone();
        if source["cpu"].is_null() {
            source["cpu"] = json!({"cores": 1, "sockets": 1});
        }
        let name = text(p, "name").to_owned();
        let disks = disks_like(
            items(&template, "vm_disks"),
            |i, _| format!("{name}-disk-{i}"),
            template["size"].as_i64().unwrap_or(0),
        );
        creations.push(creation_like(p, &source, text(p, "cluster_id"), disks));
        hostnames.push(opt_text(&p["cloud_init"], "hostname"));
    }
    let answers = create_vms(store, &creations)?;
    // The guest's hostname, as cloud-init sets it on first boot.
    for (answer, hostname) in answers.as_array().into_iter().flatten().zip(hostnames) {
        if let Some(hostname) = hostname {
            store.update("Vm", text(&answer["data"], "id"), |vm| {
                set_field(vm, "hostname", hostname)
            });
        }
    }
    let refreshed = answers
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let vm = store.records.find("Vm", text(&a["data"], "id"));
            json!({"task_id": a["task_id"], "data": vm.cloned().unwrap_or(a["data"].clone())})
        })
        .collect();
    Ok(Value::Array(refreshed))
}

fn update_vm_basic_info(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let ids = vms_or_error(store, &body["where"])?;
    let data = body["data"].clone();
    // The new vCPU count of each VM, checked now: the task's effect cannot answer a 400.
    for id in &ids {
        let Some(vm) = store.records.find("Vm", id) else {
            continue;
        };
        if data["vcpu"].is_null() {
            vcpu_count(
                data["cpu_cores"]
                    .as_i64()
                    .or(vm["cpu"]["cores"].as_i64())
                    .unwrap_or(1),
                data["cpu_sockets"]
                    .as_i64()
                    .or(vm["cpu"]["sockets"].as_i64())
                    .unwrap_or(1),
            )?;
        }
    }
    // What the table maps, then what the VM slice decides (memory units, the vCPU count).
    let mapped = generic::mapped(store, "update-vm-basic-info", &data)?;
    let change: VmChange = Box::new(move |vm| {
        vm.extend(mapped.clone());
        if let Some(memory) = data["memory"].as_i64() {
            set_field(vm, "memory", scale(memory, data["memory_unit"].as_str()));
        }
        let mut cpu = vm.get("cpu").cloned().unwrap_or_else(|| json!({}));
        for (key, field) in [("cpu_cores", "cores"), ("cpu_sockets", "sockets")] {
            if !data[key].is_null() {
                cpu[field] = data[key].clone();
            }
        }
        let product = cpu["cores"]
            .as_i64()
            .unwrap_or(1)
            .saturating_mul(cpu["sockets"].as_i64().unwrap_or(1));
        set_field(vm, "cpu", cpu);
        set_field(vm, "vcpu", data["vcpu"].as_i64().unwrap_or(product));
    });
    Ok(Value::Array(vm_answers(
        store,
        &ids,
        "Update VM",
        Some(change),
    )))
}

fn power(
    store: &mut Store,
    body: &Value,
    action: &str,
    host_id: Option<String>,
) -> Result<Value, ApiError> {
    let ids = vms_or_error(store, &body["where"])?;
    for id in &ids {
        let Some(vm) = store.records.find("Vm", id) else {
            continue;
        };
        let status = text(vm, "status");
        let allowed = match action {
            "start" => status != "SUSPENDED",
            "shutdown" | "poweroff" | "restart" | "force-restart" | "suspend" => {
                status == "RUNNING"
                    || (action != "suspend" && action != "restart" && status == "STOPPED")
            }
            "resume" => status == "SUSPENDED",
            _ => false,
        };
        if !allowed {
            return Err(ApiError::invalid_state(format!(
                "cannot {action} VM {} while it is {status}",
                text(vm, "name")
            )));
        }
        if vm["in_recycle_bin"] == true {
            return Err(ApiError::invalid_state(format!(
                "VM {} is in the recycle bin",
                text(vm, "name")
            )));
        }
    }
    if let Some(host) = host_id {
        if store.records.find("Host", &host).is_none() {
            return Err(ApiError::no_such(format!("host {host} does not exist")));
        }
    }
    let (description, status) = match action {
        "start" => ("Start VM", "RUNNING"),
        "shutdown" => ("Shut down VM", "STOPPED"),
        "poweroff" => ("Power off VM", "STOPPED"),
        "suspend" => ("Suspend VM", "SUSPENDED"),
        "resume" => ("Resume VM", "RUNNING"),
        _ => ("Restart VM", "RUNNING"),
    };
    let change: VmChange = Box::new(move |vm| set_field(vm, "status", status));
    Ok(Value::Array(vm_answers(
        store,
        &ids,
        description,
        Some(change),
    )))
}

/// A task per VM of `ids` whose answer holds only the VM's id (`DeleteVm`).
fn id_answers(
    store: &mut Store,
    ids: &[String],
    description: &str,
    effect: impl Fn(&mut Store, &str) + Clone + Send + 'static,
) -> Value {
    Value::Array(
        ids.iter()
            .map(|id| {
                let (vm_id, effect) = (id.clone(), effect.clone());
                Task::new(description, "Vm", id)
                    .on_success(move |s: &mut Store| effect(s, &vm_id))
                    .answer(store, json!({ "id": id }))
            })
            .collect(),
    )
}

fn recycle(store: &mut Store, body: &Value, op: &str) -> Result<Value, ApiError> {
    let ids = vms_or_error(store, &body["where"])?;
    let into_bin = op == "move-vm-to-recycle";
    for id in &ids {
        let Some(vm) = store.records.find("Vm", id) else {
            continue;
        };
        let name = text(vm, "name");
        if into_bin && vm["status"] == "RUNNING" {
            return Err(ApiError::invalid_state(format!(
                "VM {name} is running: shut it down before moving it to the recycle bin"
            )));
        }
        if (vm["in_recycle_bin"] == true) == into_bin {
            let state = if into_bin { "already" } else { "not" };
            return Err(ApiError::invalid_state(format!(
                "VM {name} is {state} in the recycle bin"
            )));
        }
    }
    let description = if into_bin {
        "Move VM to the recycle bin"
    } else {
        "Recover VM from the recycle bin"
    };
    Ok(id_answers(store, &ids, description, move |s, id| {
        s.update("Vm", id, |vm| {
            set_field(vm, "in_recycle_bin", into_bin);
            set_field(vm, "deleted_at", into_bin.then(now_rfc3339));
        })
    }))
}

fn delete_vm(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let ids = vms_or_error(store, &body["where"])?;
    let include_snapshots = body["effect"]["include_snapshots"] == true;
    for id in &ids {
        if let Some(vm) = store
            .records
            .find("Vm", id)
            .filter(|v| v["status"] == "RUNNING")
        {
            return Err(ApiError::invalid_state(format!(
                "VM {} is running",
                text(vm, "name")
            )));
        }
    }
    Ok(id_answers(store, &ids, "Delete VM", move |s, id| {
        s.delete_vm(id, include_snapshots)
    }))
}

type Edit = Box<dyn Fn(&mut Store, &str) -> Result<(), ApiError>>;

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// Disk, NIC and CD-ROM changes and migration: applied at once, reported through a task.
fn edit_vm(store: &mut Store, body: &Value, op: &str) -> Result<Value, ApiError> {
    let data = body["data"].clone();
    let apply: Edit = match op {
        "add-vm-disk" => Box::new(move |s, id| {
            let disks = &data["vm_disks"];
            s.add_disks(
                id,
                items(disks, "mount_new_create_disks"),
                items(disks, "mount_disks"),
            )
        }),
        "remove-vm-disk" | "remove-vm-cd-rom" => {
            let key = if op == "remove-vm-disk" {
                "disk_ids"
            } else {
                "cd_rom_ids"
            };
            let ids = strings(&data[key]);
            Box::new(move |s, id| {
                s.remove_disks(id, &ids);
                Ok(())
            })
        }
        "add-vm-nic" => Box::new(move |s, id| s.add_nics(id, items(&data, "vm_nics"))),
        "remove-vm-nic" => {
            let orders: Vec<i64> = items(&data, "nic_index")
                .iter()
                .filter_map(Value::as_i64)
                .collect();
            Box::new(move |s, id| {
                s.remove_nics(id, &orders);
                Ok(())
            })
        }
        "add-vm-cd-rom" => Box::new(move |s, id| s.add_cd_roms(id, items(&data, "vm_cd_roms"))),
        _ => {
            let target = opt_text(&data, "host_id");
            Box::new(move |s, id| {
                let current = s
                    .records
                    .find("Vm", id)
                    .ok_or_else(|| ApiError::not_found(format!("VM {id} was deleted")))?["host"]
                    ["id"]
                    .clone();
                let host = match &target {
                    Some(h) => s.records.find("Host", h),
                    None => s.records.of("Host").iter().find(|x| x["id"] != current),
                }
                .map(Store::nested_host)
                .ok_or_else(|| ApiError::no_such("no host to migrate to"))?;
                s.update("Vm", id, |vm| set_field(vm, "host", host));
                Ok(())
            })
        }
    };
    let ids = vms_or_error(store, &body["where"])?;
    for id in &ids {
        apply(store, id)?;
        store.update("Vm", id, |_| {});
    }
    Ok(Value::Array(vm_answers(store, &ids, "Edit VM", None)))
}

fn remove_nics_by_where(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let only = body["effect"]["vm_ids"]
        .as_array()
        .map(|ids| strings(&Value::Array(ids.clone())));
    let picked: Vec<(String, i64)> = generic::selected_ids(store, "VmNic", &body["where"])?
        .iter()
        .filter_map(|id| store.records.find("VmNic", id))
        .filter(|n| {
            only.as_ref()
                .is_none_or(|ids| ids.iter().any(|id| n["vm"]["id"] == id.as_str()))
        })
        .map(|n| {
            (
                text(&n["vm"], "id").to_owned(),
                n["order"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    if picked.is_empty() {
        return Err(ApiError::nothing_selected(
            "no VM NIC matches the `where` filter",
        ));
    }
    let mut vm_ids: Vec<String> = picked.iter().map(|(vm, _)| vm.clone()).collect();
    vm_ids.dedup();
    for vm_id in &vm_ids {
        let orders: Vec<i64> = picked
            .iter()
            .filter(|(vm, _)| vm == vm_id)
            .map(|(_, order)| *order)
            .collect();
        store.remove_nics(vm_id, &orders);
        store.update("Vm", vm_id, |_| {});
    }
    Ok(Value::Array(vm_answers(
        store,
        &vm_ids,
        "Remove VM NIC",
        None,
    )))
}

fn create_vm_snapshot(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let mut out = Vec::new();
    for data in items(body, "data") {
        let snapshot = store.create_snapshot(
            text(data, "vm_id"),
            text(data, "name"),
            data["consistent_type"]
                .as_str()
                .unwrap_or("CRASH_CONSISTENT"),
        )?;
        let id = text(&snapshot, "id").to_owned();
        let description = format!("Create snapshot {}", text(&snapshot, "name"));
        let failed = id.clone();
        out.push(
            Task::new(&description, "VmSnapshot", &id)
                .on_failure(move |s: &mut Store| s.delete_snapshot(&failed))
                .answer(store, snapshot),
        );
    }
    Ok(Value::Array(out))
}

fn delete_vm_snapshot(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let ids = generic::selected_ids(store, "VmSnapshot", &body["where"])?;
    let out = ids
        .iter()
        .map(|id| {
            let snapshot_id = id.clone();
            Task::new("Delete snapshot", "VmSnapshot", id)
                .on_success(move |s: &mut Store| s.delete_snapshot(&snapshot_id))
                .answer(store, json!({ "id": id }))
        })
        .collect();
    Ok(Value::Array(out))
}

fn rebuild_vm(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let mut creations = Vec::new();
    for p in items_of(body) {
        let snapshot_id = text(p, "rebuild_from_snapshot_id");
        let snapshot = store
            .records
            .find("VmSnapshot", snapshot_id)
            .cloned()
            .ok_or_else(|| ApiError::no_such(format!("snapshot {snapshot_id} does not exist")))?;
        let name = text(p, "name").to_owned();
        let disks = disks_like(
            items(&snapshot, "vm_disks"),
            |_, d| format!("{name}-{}", text(d, "disk_name")),
            0,
        );
        let cluster_id = p["cluster_id"]
            .as_str()
            .unwrap_or(text(&snapshot["cluster"], "id"))
            .to_owned();
        creations.push(creation_like(p, &snapshot, &cluster_id, disks));
    }
    create_vms(store, &creations)
}

fn rollback_vm(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let ids = vms_or_error(store, &body["where"])?;
    let snapshot_id = text(&body["data"], "snapshot_id");
    let snapshot = store
        .records
        .find("VmSnapshot", snapshot_id)
        .cloned()
        .ok_or_else(|| ApiError::no_such(format!("snapshot {snapshot_id} does not exist")))?;
    if ids.len() != 1 || snapshot["vm"]["id"] != ids[0].as_str() {
        return Err(ApiError::invalid_state(format!(
            "snapshot {} does not belong to the selected VM",
            text(&snapshot, "name")
        )));
    }
    let description = format!("Roll back to snapshot {}", text(&snapshot, "name"));
    let change: VmChange = Box::new(move |vm| {
        for key in ["cpu", "vcpu", "memory"] {
            set_field(vm, key, snapshot[key].clone());
        }
        set_field(vm, "status", "STOPPED");
    });
    let answers = vm_answers(store, &ids, &description, Some(change));
    if answers.is_empty() {
        // Vanished since selection (an older delete finished in `store.task`).
        return Err(ApiError::not_found(
            "the VM was deleted while the request ran",
        ));
    }
    Ok(Value::Array(answers))
}

fn vnc_info(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let unique = &body["vm"];
    if unique["id"].is_null() && unique["local_id"].is_null() {
        return Err(ApiError::nothing_selected(
            "`vm` names no VM (give `id` or `local_id`)",
        ));
    }
    let vm = generic::selected_ids(store, "Vm", unique)?
        .first()
        .and_then(|id| store.records.find("Vm", id))
        .cloned()
        .ok_or_else(|| ApiError::nothing_selected("no VM matches `vm`"))?;
    let cluster_ip = vm["cluster"]["id"]
        .as_str()
        .and_then(|id| store.records.find("Cluster", id))
        .map(|c| text(c, "ip").to_owned())
        .unwrap_or_default();
    // Base64 with `/`, `+` and `=`, as a tower's proxy token is.
    let redirect = format!("bW9jay1{}/+v=", store.token().replace('-', ""));
    let terminal = store.token();
    let direct = store.token();
    Ok(json!({
        "vm": vm,
        "terminal": terminal,
        "redirect": redirect,
        "direct": direct,
        "cluster_ip": cluster_ip,
    }))
}

async fn upload_elf_image(
    State(app): State<App>,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
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
    call(
        &app,
        "upload-elf-image",
        &headers,
        Value::Object(form),
        move |store| {
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
            let size = match text("size") {
                Some(s) => Some(s.trim().parse::<i64>().map_err(|_| {
                    ApiError::bad_request(format!("`size` is not a number: {s:?}"))
                })?),
                None => None,
            };
            let unit = text("size_unit");
            let size = size.map(|s| scale(s, unit.as_deref()));
            let task = store.upload_chunk(
                text("upload_task_id").as_deref(),
                file,
                text("name"),
                size,
                text("cluster_id"),
                text("description"),
            )?;
            Ok(json!([task]))
        },
    )
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
    use std::time::Duration;

    /// Every override has its behaviour, and nothing else has any.
    #[test]
    fn the_overrides_are_exactly_the_operations_with_handlers() {
        for op in OVERRIDES {
            assert!(
                handler(op).is_some() != ROUTED.contains(op),
                "`{op}`: listed as an override, but no handler (or routed twice)"
            );
        }
        for op in &schema().operations {
            if handler(&op.path).is_some() {
                assert!(OVERRIDES.contains(&op.path.as_str()), "{}", op.path);
            }
        }
    }

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

    /// `store.task` advances other tasks: an older delete that finishes there removes a VM
    /// the mutation selected earlier. The answer leaves it out instead of panicking.
    #[test]
    fn a_vm_deleted_by_an_older_task_mid_answer_is_skipped() {
        let mut store = crate::new_store(&MockConfig::default());
        store.task_duration = Duration::from_millis(1);
        let ids: Vec<String> = store
            .records
            .of("Vm")
            .iter()
            .take(2)
            .filter_map(|v| opt_text(v, "id"))
            .collect();
        assert_eq!(ids.len(), 2, "the seed has two VMs");
        let gone = ids[1].clone();
        store.task(
            "Delete VM",
            "Vm",
            &gone.clone(),
            Some(Box::new(move |s: &mut Store| s.delete_vm(&gone, false))),
            None,
        );
        std::thread::sleep(Duration::from_millis(10));
        // Selected while both exist; the first task created advances the delete.
        let answers = vm_answers(&mut store, &ids, "Start VM", None);
        assert_eq!(answers.len(), 1);
        assert_eq!(answers[0]["data"]["id"], ids[0].as_str());
        assert!(store.records.find("Vm", &ids[1]).is_none());
    }
}
