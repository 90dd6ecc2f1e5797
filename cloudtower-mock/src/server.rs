//! The HTTP side: routing, authentication, fault injection and one handler per operation.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query as UrlQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use cloudtower_api::codec::{self, Decode, Encode};

use crate::generic;
use cloudtower_api::models::*;
use cloudtower_api::WithTask;
use serde_json::{json, Value};

use crate::faults::{Faults, Plan, TaskOutcome};
use crate::filter::Query;
use crate::pair::{Pairing, Role};
use crate::state::{request_json, to_json, vcpu_count, ApiError, Store};
use crate::{RecordedRequest, MAX_RECORDED_REQUESTS};

/// One tower's server state: the store and faults (shared by both towers of a pair), its
/// own request log, role and health-probe count.
pub(crate) struct Shared {
    pub store: Arc<Mutex<Store>>,
    pub faults: Arc<Mutex<Faults>>,
    pub requests: Mutex<Vec<String>>,
    /// The most recent requests with their bodies, at most [`MAX_RECORDED_REQUESTS`].
    pub recorded: Mutex<VecDeque<RecordedRequest>>,
    /// What `get-version` answers (`None`: 404).
    pub version: Option<String>,
    pub pairing: Pairing,
    /// How many `GET /api/healthz` probes this tower received.
    pub healthz: AtomicUsize,
}

impl Shared {
    pub fn new(
        store: Arc<Mutex<Store>>,
        faults: Arc<Mutex<Faults>>,
        version: Option<String>,
        pairing: Pairing,
    ) -> Arc<Shared> {
        Arc::new(Shared {
            store,
            faults,
            requests: Mutex::new(Vec::new()),
            recorded: Mutex::new(VecDeque::new()),
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
}

/// The largest request body accepted: the SDK's default upload chunk
/// (`cloudtower_api::upload::DEFAULT_CHUNK_SIZE`, 8 MiB) plus 1 MiB for the multipart
/// framing and the form's text fields. axum's default (2 MB) refused every full chunk.
pub const MAX_BODY_BYTES: usize = cloudtower_api::upload::DEFAULT_CHUNK_SIZE + (1 << 20);

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

fn error_response(error: &ApiError, operation: &str) -> Response {
    let body = ErrorBody {
        code: error.code.clone(),
        props: error.props.as_deref().cloned(),
        message: error.message.clone(),
        status: i32::from(error.status),
        operation_name: (!operation.is_empty()).then(|| operation.to_owned()),
        path: format!("/v2/api/{operation}"),
        ..Default::default()
    };
    json_response(
        StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        codec::encode(&body),
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
            Some(version) => ok(&version),
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
    error.code = Some(ErrorCode::ResourceLocked);
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

/// The resources (`(type, id)`) that the `where` of a request selects: VM snapshots for the
/// `*-snapshot` operations, VMs otherwise; none without a `where` the mock can evaluate.
fn targets(store: &Store, operation: &str, body: &Value) -> Vec<(String, String)> {
    let Some(filter) = body.get("where") else {
        return Vec::new();
    };
    let Ok(query) = Query::from_json(&json!({ "where": filter })) else {
        return Vec::new();
    };
    let (kind, items): (&str, Vec<Value>) =
        if operation.ends_with("-snapshot") && !operation.starts_with("rebuild-") {
            (
                "VmSnapshot",
                store.vm_snapshots.iter().map(to_json).collect(),
            )
        } else {
            ("Vm", store.vms.iter().map(to_json).collect())
        };
    query
        .select(&items)
        .into_iter()
        .filter_map(|i| items[i].get("id")?.as_str().map(str::to_owned))
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
    handler: impl FnOnce(&mut Store) -> Result<Vec<u8>, ApiError>,
) -> Response {
    app.requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(operation.to_owned());
    let request = body.clone();
    {
        let mut recorded = app.recorded();
        if recorded.len() == MAX_RECORDED_REQUESTS {
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
        Ok(mut body) => {
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

fn decode<T: Decode>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    if nesting_depth(body) > MAX_BODY_DEPTH {
        return Err(ApiError::bad_request(format!(
            "invalid request body: nested deeper than {MAX_BODY_DEPTH} levels"
        )));
    }
    // The decoder's stack budget is for a 2 MiB thread; this one has more (and every handler
    // runs on it), which MAX_BODY_DEPTH's filters need in a debug build.
    let options = codec::DecodeOptions::default().max_stack_bytes(crate::SERVER_STACK_BYTES / 2);
    codec::decode_with_options(body, &options)
        .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))
}

fn ok<T: Encode + ?Sized>(value: &T) -> Result<Vec<u8>, ApiError> {
    Ok(codec::encode(value))
}

/// `get-*`: the resources that the request's `where`, `orderBy` and paging select.
fn list<R: Decode + Encode, T: Encode + Clone>(
    body: &[u8],
    items: &[T],
) -> Result<Vec<u8>, ApiError> {
    let query = query_of::<R>(body)?;
    let all: Vec<Value> = items.iter().map(to_json).collect();
    let picked: Vec<T> = query
        .select(&all)
        .into_iter()
        .map(|i| items[i].clone())
        .collect();
    ok(&picked)
}

/// `get-*-connection`: how many resources match the request's `where`.
fn count<R: Decode + Encode, T: Encode>(body: &[u8], items: &[T]) -> Result<i32, ApiError> {
    let query = query_of::<R>(body)?;
    let all: Vec<Value> = items.iter().map(to_json).collect();
    Ok(query.count(&all) as i32)
}

/// The `where`, `orderBy` and paging of a list request; a 400 when its filter cannot be
/// evaluated.
fn query_of<R: Decode + Encode>(body: &[u8]) -> Result<Query, ApiError> {
    let request: R = decode(body)?;
    Query::from_json(&request_json(&request)?)
        .map_err(|e| ApiError::bad_request(format!("invalid `where` filter: {e}")))
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
        move |store| dispatch(store, &op, &body),
    )
    .await
}

macro_rules! connection {
    ($body:expr, $items:expr, $Req:ty, $Conn:ident, $Agg:ident) => {{
        let n = count::<$Req, _>($body, $items)?;
        ok(&$Conn {
            aggregate: $Agg { count: n },
        })
    }};
}

/// The operations with hand-written behaviour (the arms of [`dispatch`] and the routes of
/// [`router`]); every other operation of the API takes the generic path ([`generic::answer`]).
pub(crate) const OVERRIDES: &[&str] = &[
    "add-vm-cd-rom",
    "add-vm-disk",
    "add-vm-nic",
    "create-vm",
    "create-vm-from-content-library-template",
    "create-vm-snapshot",
    "delete-vm",
    "delete-vm-snapshot",
    "force-restart-vm",
    "get-clusters",
    "get-clusters-connection",
    "get-content-library-vm-templates",
    "get-content-library-vm-templates-connection",
    "get-elf-images",
    "get-elf-images-connection",
    "get-hosts",
    "get-hosts-connection",
    "get-iscsi-lun-snapshots",
    "get-iscsi-lun-snapshots-connection",
    "get-tasks",
    "get-tasks-connection",
    "get-upload-tasks",
    "get-upload-tasks-connection",
    "get-version",
    "get-vlans",
    "get-vlans-connection",
    "get-vm-disks",
    "get-vm-disks-connection",
    "get-vm-nics",
    "get-vm-nics-connection",
    "get-vm-snapshots",
    "get-vm-snapshots-connection",
    "get-vm-vnc-info",
    "get-vm-volumes",
    "get-vm-volumes-connection",
    "get-vms",
    "get-vms-connection",
    "login",
    "migrate-vm",
    "move-vm-to-recycle",
    "poweroff-vm",
    "rebuild-vm-from-snapshot",
    "recover-vm-from-recycle",
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

fn dispatch(store: &mut Store, op: &str, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    if !OVERRIDES.contains(&op) {
        return generic::answer(store, op, body).map(|answer| answer.to_string().into_bytes());
    }
    match op {
        "login" => login(store, body),
        "get-clusters" => list::<GetClustersRequestBody, _>(body, &store.clusters),
        "get-clusters-connection" => connection!(
            body,
            &store.clusters,
            GetClustersConnectionRequestBody,
            ClusterConnection,
            NestedAggregateCluster
        ),
        "get-hosts" => list::<GetHostsRequestBody, _>(body, &store.hosts),
        "get-hosts-connection" => connection!(
            body,
            &store.hosts,
            GetHostsConnectionRequestBody,
            HostConnection,
            NestedAggregateHost
        ),
        "get-vlans" => list::<GetVlansRequestBody, _>(body, &store.vlans),
        "get-vlans-connection" => connection!(
            body,
            &store.vlans,
            GetVlansConnectionRequestBody,
            VlanConnection,
            NestedAggregateVlan
        ),
        "get-vms" => list::<GetVmsRequestBody, _>(body, &store.vms),
        "get-vms-connection" => connection!(
            body,
            &store.vms,
            GetVmsConnectionRequestBody,
            VmConnection,
            NestedAggregateVm
        ),
        "get-vm-disks" => list::<GetVmDisksRequestBody, _>(body, &store.vm_disks),
        "get-vm-disks-connection" => connection!(
            body,
            &store.vm_disks,
            GetVmDisksConnectionRequestBody,
            VmDiskConnection,
            NestedAggregateVmDisk
        ),
        "get-vm-volumes" => list::<GetVmVolumesRequestBody, _>(body, &store.vm_volumes),
        "get-vm-volumes-connection" => connection!(
            body,
            &store.vm_volumes,
            GetVmVolumesConnectionRequestBody,
            VmVolumeConnection,
            NestedAggregateVmVolume
        ),
        "get-vm-nics" => list::<GetVmNicsRequestBody, _>(body, &store.vm_nics),
        "get-vm-nics-connection" => connection!(
            body,
            &store.vm_nics,
            GetVmNicsConnectionRequestBody,
            VmNicConnection,
            NestedAggregateVmNic
        ),
        "get-vm-snapshots" => list::<GetVmSnapshotsRequestBody, _>(body, &store.vm_snapshots),
        "get-vm-snapshots-connection" => connection!(
            body,
            &store.vm_snapshots,
            GetVmSnapshotsConnectionRequestBody,
            VmSnapshotConnection,
            NestedAggregateVmSnapshot
        ),
        "get-iscsi-lun-snapshots" => {
            list::<GetIscsiLunSnapshotsRequestBody, _>(body, &store.iscsi_lun_snapshots)
        }
        "get-iscsi-lun-snapshots-connection" => connection!(
            body,
            &store.iscsi_lun_snapshots,
            GetIscsiLunSnapshotsConnectionRequestBody,
            IscsiLunSnapshotConnection,
            NestedAggregateIscsiLunSnapshot
        ),
        "get-tasks" => list::<GetTasksRequestBody, _>(body, &store.tasks),
        "get-tasks-connection" => connection!(
            body,
            &store.tasks,
            GetTasksConnectionRequestBody,
            TaskConnection,
            NestedAggregateTask
        ),
        "get-upload-tasks" => list::<GetUploadTasksRequestBody, _>(body, &store.upload_tasks),
        "get-upload-tasks-connection" => connection!(
            body,
            &store.upload_tasks,
            GetUploadTasksConnectionRequestBody,
            UploadTaskConnection,
            NestedAggregateUploadTask
        ),
        "get-elf-images" => list::<GetElfImagesRequestBody, _>(body, &store.elf_images),
        "get-elf-images-connection" => connection!(
            body,
            &store.elf_images,
            GetElfImagesConnectionRequestBody,
            ElfImageConnection,
            NestedAggregateElfImage
        ),
        "get-content-library-vm-templates" => list::<GetContentLibraryVmTemplatesRequestBody, _>(
            body,
            &store.content_library_vm_templates,
        ),
        "get-content-library-vm-templates-connection" => connection!(
            body,
            &store.content_library_vm_templates,
            GetContentLibraryVmTemplatesConnectionRequestBody,
            ContentLibraryVmTemplateConnection,
            NestedAggregateContentLibraryVmTemplate
        ),
        "create-vm" => create_vm(store, body),
        "create-vm-from-content-library-template" => create_vm_from_template(store, body),
        "update-vm-basic-info" => update_vm_basic_info(store, body),
        "start-vm" => {
            let p: VmStartParams = decode(body)?;
            power(store, &p.r#where, "start", p.data.map(|d| d.host_id))
        }
        "shutdown-vm" | "poweroff-vm" | "restart-vm" | "force-restart-vm" | "suspend-vm"
        | "resume-vm" => {
            let p: VmOperateParams = decode(body)?;
            power(store, &p.r#where, op.trim_end_matches("-vm"), None)
        }
        "move-vm-to-recycle" | "recover-vm-from-recycle" => recycle(store, body, op),
        "delete-vm" => delete_vm(store, body),
        "remove-vm-nic-by-where" => remove_nics_by_where(store, body),
        "add-vm-disk" | "remove-vm-disk" | "add-vm-nic" | "remove-vm-nic" | "add-vm-cd-rom"
        | "remove-vm-cd-rom" | "migrate-vm" => edit_vm(store, body, op),
        "create-vm-snapshot" => create_vm_snapshot(store, body),
        "delete-vm-snapshot" => delete_vm_snapshot(store, body),
        "rebuild-vm-from-snapshot" => rebuild_vm(store, body),
        "rollback-vm" => rollback_vm(store, body),
        "get-vm-vnc-info" => vnc_info(store, body),
        // Listed in OVERRIDES without an arm (a test calls every override).
        _ => Err(ApiError::new(
            500,
            format!("`{op}` is listed as an override of cloudtower-mock but has no handler"),
        )),
    }
}

fn login(store: &mut Store, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let input: LoginInput = decode(body)?;
    let source = input
        .source
        .as_option()
        .cloned()
        .unwrap_or(UserSource::Local);
    let known = store
        .users
        .iter()
        .any(|(u, p, s)| *u == input.username && *p == input.password && *s == source);
    if !known {
        return Err(ApiError::bad_request(
            "login failed: wrong username, password or source",
        ));
    }
    let token = store.token();
    store.tokens.insert(token.clone());
    ok(&WithTask {
        task_id: None,
        data: LoginResponse { token },
    })
}

fn vms_or_error(store: &Store, filter: &VmWhereInput) -> Result<Vec<String>, ApiError> {
    let ids: Vec<String> = store
        .vms_where(filter)?
        .into_iter()
        .map(|i| store.vms[i].id.clone())
        .collect();
    if ids.is_empty() {
        return Err(ApiError::not_found("no VM matches the `where` filter"));
    }
    Ok(ids)
}

fn vm_answers(
    store: &mut Store,
    ids: &[String],
    description: &str,
    effect: fn(&mut Vm),
) -> Vec<WithTask<Vm>> {
    ids.iter()
        .map(|id| {
            let vm_id = id.clone();
            let task = store.task(
                description,
                "Vm",
                id,
                Some(Box::new(move |s: &mut Store| s.update_vm(&vm_id, effect))),
                None,
            );
            let i = store.vm_index(id).expect("selected");
            WithTask {
                task_id: Some(task),
                data: store.vms[i].clone(),
            }
        })
        .collect()
}

fn create_vm(store: &mut Store, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let params: Vec<VmCreationParams> = decode(body)?;
    let mut out = Vec::new();
    for p in &params {
        let vm = store.create_vm(p)?;
        out.push(created_vm_task(store, vm, p.status.clone()));
    }
    ok(&out)
}

fn created_vm_task(store: &mut Store, vm: Vm, status: VmStatus) -> WithTask<Vm> {
    let (a, b) = (vm.id.clone(), vm.id.clone());
    let task = store.task(
        &format!("Create VM {}", vm.name),
        "Vm",
        &vm.id,
        Some(Box::new(move |s: &mut Store| {
            s.update_vm(&a, |v| v.status = status);
        })),
        Some(Box::new(move |s: &mut Store| s.delete_vm(&b, true))),
    );
    WithTask {
        task_id: Some(task),
        data: vm,
    }
}

fn create_vm_from_template(store: &mut Store, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let params: Vec<VmCreateVmFromContentLibraryTemplateParams> = decode(body)?;
    let mut out = Vec::new();
    for p in &params {
        let template = store
            .content_library_vm_templates
            .iter()
            .find(|t| t.id == p.template_id)
            .cloned()
            .ok_or_else(|| {
                ApiError::bad_request(format!("template {} does not exist", p.template_id))
            })?;
        if p.cloud_init.is_some() && !template.cloud_init_supported {
            return Err(ApiError::bad_request(format!(
                "template {} does not support cloud-init",
                template.name
            )));
        }
        let cpu = template.cpu.clone().unwrap_or(NestedCpu {
            cores: 1,
            sockets: 1,
        });
        let disks = template
            .vm_disks
            .iter()
            .flatten()
            .filter(|d| d.r#type == VmDiskType::Disk)
            .enumerate()
            .map(|(i, d)| MountNewCreateDisksParams {
                boot: d.boot,
                bus: d.bus.clone(),
                vm_volume: MountNewCreateDisksParamsVmVolume {
                    name: format!("{}-disk-{i}", p.name),
                    size: d.size.unwrap_or(template.size),
                    elf_storage_policy: VmVolumeElfStoragePolicyType::Replica2ThinProvision,
                    ..Default::default()
                },
                ..Default::default()
            })
            .collect();
        let creation = VmCreationParams {
            cluster_id: p.cluster_id.clone(),
            host_id: p.host_id.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            cpu_cores: p.cpu_cores.unwrap_or(cpu.cores),
            cpu_sockets: p.cpu_sockets.unwrap_or(cpu.sockets),
            memory: p.memory.unwrap_or(template.memory),
            memory_unit: p.memory_unit.clone(),
            status: p.status.clone().unwrap_or(VmStatus::Stopped),
            vm_disks: VmDiskParams {
                mount_new_create_disks: Some(disks),
                ..Default::default()
            },
            vm_nics: p.vm_nics.clone().unwrap_or_default(),
            ..Default::default()
        };
        let mut vm = store.create_vm(&creation)?;
        if let Some(hostname) = p.cloud_init.as_ref().and_then(|c| c.hostname.clone()) {
            let id = vm.id.clone();
            store.update_vm(&id, |v| v.hostname = Some(hostname.clone()));
            vm.hostname = Some(hostname);
        }
        out.push(created_vm_task(store, vm, creation.status));
    }
    ok(&out)
}

fn update_vm_basic_info(store: &mut Store, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let p: VmUpdateParams = decode(body)?;
    let ids = vms_or_error(store, &p.r#where)?;
    let data = p.data;
    // The new vCPU count of each VM, checked now: the task's effect cannot answer a 400.
    for id in &ids {
        let cpu = &store.vms[store.vm_index(id).expect("selected")].cpu;
        if data.vcpu.is_none() {
            vcpu_count(
                data.cpu_cores.unwrap_or(cpu.cores),
                data.cpu_sockets.unwrap_or(cpu.sockets),
            )?;
        }
    }
    let out: Vec<WithTask<Vm>> = ids
        .iter()
        .map(|id| {
            let (vm_id, data) = (id.clone(), data.clone());
            let task = store.task(
                "Update VM",
                "Vm",
                id,
                Some(Box::new(move |s: &mut Store| {
                    s.update_vm(&vm_id, |v| {
                        if let Some(name) = data.name {
                            v.name = name;
                        }
                        if let Some(description) = data.description {
                            v.description = description;
                        }
                        if let Some(ha) = data.ha {
                            v.ha = ha;
                        }
                        if let Some(memory) = data.memory {
                            v.memory = crate::state::scale(memory, data.memory_unit.as_ref());
                        }
                        if let Some(cores) = data.cpu_cores {
                            v.cpu.cores = cores;
                        }
                        if let Some(sockets) = data.cpu_sockets {
                            v.cpu.sockets = sockets;
                        }
                        v.vcpu = data
                            .vcpu
                            .unwrap_or(v.cpu.cores.saturating_mul(v.cpu.sockets));
                    })
                })),
                None,
            );
            let i = store.vm_index(id).expect("selected");
            WithTask {
                task_id: Some(task),
                data: store.vms[i].clone(),
            }
        })
        .collect();
    ok(&out)
}

fn power(
    store: &mut Store,
    filter: &VmWhereInput,
    action: &str,
    host_id: Option<String>,
) -> Result<Vec<u8>, ApiError> {
    let ids = vms_or_error(store, filter)?;
    for id in &ids {
        let vm = &store.vms[store.vm_index(id).expect("selected")];
        let allowed = match action {
            "start" => vm.status != VmStatus::Suspended,
            "shutdown" | "poweroff" | "restart" | "force-restart" | "suspend" => {
                vm.status == VmStatus::Running
                    || (action != "suspend"
                        && action != "restart"
                        && vm.status == VmStatus::Stopped)
            }
            "resume" => vm.status == VmStatus::Suspended,
            _ => false,
        };
        if !allowed {
            return Err(ApiError::bad_request(format!(
                "cannot {action} VM {} while it is {}",
                vm.name, vm.status
            )));
        }
        if vm.in_recycle_bin {
            return Err(ApiError::bad_request(format!(
                "VM {} is in the recycle bin",
                vm.name
            )));
        }
    }
    if let Some(host) = host_id {
        if !store.hosts.iter().any(|h| h.id == host) {
            return Err(ApiError::bad_request(format!("host {host} does not exist")));
        }
    }
    let (description, effect): (&str, fn(&mut Vm)) = match action {
        "start" => ("Start VM", |v| v.status = VmStatus::Running),
        "shutdown" => ("Shut down VM", |v| v.status = VmStatus::Stopped),
        "poweroff" => ("Power off VM", |v| v.status = VmStatus::Stopped),
        "suspend" => ("Suspend VM", |v| v.status = VmStatus::Suspended),
        "resume" => ("Resume VM", |v| v.status = VmStatus::Running),
        _ => ("Restart VM", |v| v.status = VmStatus::Running),
    };
    ok(&vm_answers(store, &ids, description, effect))
}

fn recycle(store: &mut Store, body: &[u8], op: &str) -> Result<Vec<u8>, ApiError> {
    let p: VmOperateParams = decode(body)?;
    let ids = vms_or_error(store, &p.r#where)?;
    let into_bin = op == "move-vm-to-recycle";
    for id in &ids {
        let vm = &store.vms[store.vm_index(id).expect("selected")];
        if into_bin && vm.status == VmStatus::Running {
            return Err(ApiError::bad_request(format!(
                "VM {} is running: shut it down before moving it to the recycle bin",
                vm.name
            )));
        }
        if vm.in_recycle_bin == into_bin {
            let state = if into_bin { "already" } else { "not" };
            return Err(ApiError::bad_request(format!(
                "VM {} is {state} in the recycle bin",
                vm.name
            )));
        }
    }
    let out: Vec<WithTask<DeleteVm>> = ids
        .iter()
        .map(|id| {
            let vm_id = id.clone();
            let task = store.task(
                if into_bin {
                    "Move VM to the recycle bin"
                } else {
                    "Recover VM from the recycle bin"
                },
                "Vm",
                id,
                Some(Box::new(move |s: &mut Store| {
                    s.update_vm(&vm_id, |v| {
                        v.in_recycle_bin = into_bin;
                        v.deleted_at = into_bin.then(crate::state::now_rfc3339);
                    })
                })),
                None,
            );
            WithTask {
                task_id: Some(task),
                data: DeleteVm { id: id.clone() },
            }
        })
        .collect();
    ok(&out)
}

fn delete_vm(store: &mut Store, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let p: VmDeleteParams = decode(body)?;
    let ids = vms_or_error(store, &p.r#where)?;
    let include_snapshots = p
        .effect
        .as_ref()
        .and_then(|e| e.include_snapshots)
        .unwrap_or(false);
    for id in &ids {
        let vm = &store.vms[store.vm_index(id).expect("selected")];
        if vm.status == VmStatus::Running {
            return Err(ApiError::bad_request(format!("VM {} is running", vm.name)));
        }
    }
    let out: Vec<WithTask<DeleteVm>> = ids
        .iter()
        .map(|id| {
            let vm_id = id.clone();
            let task = store.task(
                "Delete VM",
                "Vm",
                id,
                Some(Box::new(move |s: &mut Store| {
                    s.delete_vm(&vm_id, include_snapshots)
                })),
                None,
            );
            WithTask {
                task_id: Some(task),
                data: DeleteVm { id: id.clone() },
            }
        })
        .collect();
    ok(&out)
}

type Edit = Box<dyn Fn(&mut Store, &str) -> Result<(), ApiError>>;

/// Disk, NIC and CD-ROM changes and migration: applied at once, reported through a task.
fn edit_vm(store: &mut Store, body: &[u8], op: &str) -> Result<Vec<u8>, ApiError> {
    let (filter, apply): (VmWhereInput, Edit) = match op {
        "add-vm-disk" => {
            let p: VmAddDiskParams = decode(body)?;
            let disks = p.data.vm_disks;
            (
                p.r#where,
                Box::new(move |s, id| {
                    s.add_disks(
                        id,
                        disks.mount_new_create_disks.as_deref().unwrap_or(&[]),
                        disks.mount_disks.as_deref().unwrap_or(&[]),
                    )
                }),
            )
        }
        "remove-vm-disk" => {
            let p: VmRemoveDiskParams = decode(body)?;
            let ids = p.data.disk_ids;
            (
                p.r#where,
                Box::new(move |s, id| {
                    s.remove_disks(id, &ids);
                    Ok(())
                }),
            )
        }
        "add-vm-nic" => {
            let p: VmAddNicParams = decode(body)?;
            let nics = p.data.vm_nics;
            (p.r#where, Box::new(move |s, id| s.add_nics(id, &nics)))
        }
        "remove-vm-nic" => {
            let p: VmRemoveNicParams = decode(body)?;
            let indexes = p.data.nic_index;
            (
                p.r#where,
                Box::new(move |s, id| {
                    s.remove_nics(id, &indexes);
                    Ok(())
                }),
            )
        }
        "add-vm-cd-rom" => {
            let p: VmAddCdRomParams = decode(body)?;
            let cd_roms = p.data.vm_cd_roms;
            (
                p.r#where,
                Box::new(move |s, id| s.add_cd_roms(id, &cd_roms)),
            )
        }
        "remove-vm-cd-rom" => {
            let p: VmRemoveCdRomParams = decode(body)?;
            let ids = p.data.cd_rom_ids;
            (
                p.r#where,
                Box::new(move |s, id| {
                    s.remove_disks(id, &ids);
                    Ok(())
                }),
            )
        }
        _ => {
            let p: VmMigrateParams = decode(body)?;
            let target = p.data.map(|d| d.host_id);
            (
                p.r#where,
                Box::new(move |s, id| {
                    let i = s.vm_index(id).expect("selected");
                    let current = s.vms[i].host.as_ref().map(|h| h.id.clone());
                    let host = match &target {
                        Some(h) => s.hosts.iter().find(|x| &x.id == h),
                        None => s.hosts.iter().find(|x| Some(&x.id) != current.as_ref()),
                    }
                    .ok_or_else(|| ApiError::bad_request("no host to migrate to"))?;
                    let nested = NestedHost {
                        id: host.id.clone(),
                        name: host.name.clone(),
                        management_ip: host.management_ip.clone(),
                    };
                    s.update_vm(id, |v| v.host = Some(nested));
                    Ok(())
                }),
            )
        }
    };
    let ids = vms_or_error(store, &filter)?;
    for id in &ids {
        apply(store, id)?;
        store.update_vm(id, |_| {});
    }
    ok(&vm_answers(store, &ids, "Edit VM", |_| {}))
}

fn remove_nics_by_where(store: &mut Store, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let p: VmRemoveNicByWhereParams = decode(body)?;
    let picked: Vec<(String, i32)> = Store::select(&store.vm_nics, &p.r#where)?
        .into_iter()
        .map(|i| &store.vm_nics[i])
        .filter(|n| {
            p.effect
                .vm_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&n.vm.id))
        })
        .map(|n| (n.vm.id.clone(), n.order.unwrap_or(-1)))
        .collect();
    if picked.is_empty() {
        return Err(ApiError::not_found("no VM NIC matches the `where` filter"));
    }
    let mut vm_ids: Vec<String> = picked.iter().map(|(vm, _)| vm.clone()).collect();
    vm_ids.dedup();
    for vm_id in &vm_ids {
        let orders: Vec<i32> = picked
            .iter()
            .filter(|(vm, _)| vm == vm_id)
            .map(|(_, order)| *order)
            .collect();
        store.remove_nics(vm_id, &orders);
        store.update_vm(vm_id, |_| {});
    }
    ok(&vm_answers(store, &vm_ids, "Remove VM NIC", |_| {}))
}

fn create_vm_snapshot(store: &mut Store, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let p: VmSnapshotCreationParams = decode(body)?;
    let mut out = Vec::new();
    for data in &p.data {
        let snapshot = store.create_snapshot(
            &data.vm_id,
            &data.name,
            data.consistent_type
                .clone()
                .unwrap_or(ConsistentType::CrashConsistent),
        )?;
        let id = snapshot.id.clone();
        let task = store.task(
            &format!("Create snapshot {}", snapshot.name),
            "VmSnapshot",
            &snapshot.id,
            None,
            Some(Box::new(move |s: &mut Store| s.delete_snapshot(&id))),
        );
        out.push(WithTask {
            task_id: Some(task),
            data: snapshot,
        });
    }
    ok(&out)
}

fn delete_vm_snapshot(store: &mut Store, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let p: VmSnapshotDeletionParams = decode(body)?;
    let ids: Vec<String> = Store::select(&store.vm_snapshots, &p.r#where)?
        .into_iter()
        .map(|i| store.vm_snapshots[i].id.clone())
        .collect();
    let out: Vec<WithTask<DeleteVmSnapshot>> = ids
        .iter()
        .map(|id| {
            let snapshot_id = id.clone();
            let task = store.task(
                "Delete snapshot",
                "VmSnapshot",
                id,
                Some(Box::new(move |s: &mut Store| {
                    s.delete_snapshot(&snapshot_id)
                })),
                None,
            );
            WithTask {
                task_id: Some(task),
                data: DeleteVmSnapshot { id: id.clone() },
            }
        })
        .collect();
    ok(&out)
}

fn rebuild_vm(store: &mut Store, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let params: Vec<VmRebuildParams> = decode(body)?;
    let mut out = Vec::new();
    for p in &params {
        let snapshot = store
            .vm_snapshots
            .iter()
            .find(|s| s.id == p.rebuild_from_snapshot_id)
            .cloned()
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "snapshot {} does not exist",
                    p.rebuild_from_snapshot_id
                ))
            })?;
        let disks = snapshot
            .vm_disks
            .iter()
            .flatten()
            .filter(|d| d.r#type == VmDiskType::Disk)
            .map(|d| MountNewCreateDisksParams {
                boot: d.boot,
                bus: d.bus.clone(),
                vm_volume: MountNewCreateDisksParamsVmVolume {
                    name: format!("{}-{}", p.name, d.disk_name.clone().unwrap_or_default()),
                    size: d.size,
                    elf_storage_policy: VmVolumeElfStoragePolicyType::Replica2ThinProvision,
                    ..Default::default()
                },
                ..Default::default()
            })
            .collect();
        let creation = VmCreationParams {
            cluster_id: p.cluster_id.clone().unwrap_or(snapshot.cluster.id.clone()),
            host_id: p.host_id.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            cpu_cores: p.cpu_cores.unwrap_or(snapshot.cpu.cores),
            cpu_sockets: p.cpu_sockets.unwrap_or(snapshot.cpu.sockets),
            memory: p.memory.unwrap_or(snapshot.memory),
            memory_unit: p.memory_unit.clone(),
            status: p.status.clone().unwrap_or(VmStatus::Stopped),
            vm_disks: VmDiskParams {
                mount_new_create_disks: Some(disks),
                ..Default::default()
            },
            vm_nics: p.vm_nics.clone().unwrap_or_default(),
            ..Default::default()
        };
        let vm = store.create_vm(&creation)?;
        out.push(created_vm_task(store, vm, creation.status));
    }
    ok(&out)
}

fn rollback_vm(store: &mut Store, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let p: VmRollbackParams = decode(body)?;
    let ids = vms_or_error(store, &p.r#where)?;
    let snapshot = store
        .vm_snapshots
        .iter()
        .find(|s| s.id == p.data.snapshot_id)
        .cloned()
        .ok_or_else(|| {
            ApiError::bad_request(format!("snapshot {} does not exist", p.data.snapshot_id))
        })?;
    if ids.len() != 1 || snapshot.vm.as_ref().map(|v| &v.id) != ids.first() {
        return Err(ApiError::bad_request(format!(
            "snapshot {} does not belong to the selected VM",
            snapshot.name
        )));
    }
    let vm_id = ids[0].clone();
    let task = store.task(
        &format!("Roll back to snapshot {}", snapshot.name),
        "Vm",
        &ids[0],
        Some(Box::new(move |s: &mut Store| {
            s.update_vm(&vm_id, |v| {
                v.cpu = snapshot.cpu.clone();
                v.vcpu = snapshot.vcpu;
                v.memory = snapshot.memory;
                v.status = VmStatus::Stopped;
            })
        })),
        None,
    );
    let i = store.vm_index(&ids[0]).expect("selected");
    ok(&vec![WithTask {
        task_id: Some(task),
        data: store.vms[i].clone(),
    }])
}

fn vnc_info(store: &mut Store, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let p: GetVmVncInfoParams = decode(body)?;
    let i = Store::select(&store.vms, &p.vm)?
        .into_iter()
        .next()
        .filter(|_| !p.vm.id.is_absent() || !p.vm.local_id.is_absent())
        .ok_or_else(|| ApiError::not_found("no VM matches `vm`"))?;
    let vm = store.vms[i].clone();
    let cluster_ip = vm
        .cluster
        .as_ref()
        .and_then(|c| store.clusters.iter().find(|x| x.id == c.id))
        .map(|c| c.ip.clone())
        .unwrap_or_default();
    // Base64 with `/`, `+` and `=`, as a tower's proxy token is.
    let redirect = format!("bW9jay1{}/+v=", store.token().replace('-', ""));
    let terminal = store.token();
    let direct = store.token();
    ok(&VmVncInfo {
        vm,
        terminal,
        redirect,
        direct: Some(direct),
        cluster_ip,
    })
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
            let unit = text("size_unit").map(|u| ByteUnit::from_wire(&u));
            let size = size.map(|s| crate::state::scale(s, unit.as_ref()));
            let task = store.upload_chunk(
                text("upload_task_id").as_deref(),
                file,
                text("name"),
                size,
                text("cluster_id"),
                text("description"),
            )?;
            ok(&vec![task])
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
            let mut response = ResourceChangeResponse {
                current_revision: store.revision.to_string(),
                compact_revision: store.compact_revision.to_string(),
                ..Default::default()
            };
            match start {
                Some(start) if start < store.compact_revision => {
                    response.ec = "ErrCompacted".into();
                    response.error = Some(json!({
                        "message": format!(
                            "required revision {start} has been compacted (compact revision {})",
                            store.compact_revision
                        )
                    }));
                }
                Some(start) => {
                    response.data = store
                        .events
                        .iter()
                        .filter(|e| e.revision.parse::<u64>().is_ok_and(|r| r >= start))
                        .filter(|e| q.resource_type.is_none() || e.resource_type == q.resource_type)
                        .filter(|e| q.resource_id.is_none() || e.resource_id == q.resource_id)
                        .filter(|e| q.action.is_none() || e.action == q.action)
                        .take(limit)
                        .cloned()
                        .collect();
                }
                None => {}
            }
            ok(&response)
        },
    )
    .await
}
