//! An embedded, stateful mock of SmartX CloudTower for testing code written against
//! `cloudtower-api`, offline and repeatably.
//!
//! Add it as a dev-dependency, start a tower in your test, point the client at its URL:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use cloudtower_api::models::{GetVmsRequestBody, VmWhereInput};
//! use cloudtower_api::{Client, PasswordLogin};
//! use cloudtower_mock::{MockTower, MOCK_PASSWORD, MOCK_USERNAME};
//!
//! let tower = MockTower::start().await?;
//! let client = Client::new(&tower.url())?;
//! client.sign_in(PasswordLogin::new(MOCK_USERNAME, MOCK_PASSWORD)).await?;
//! let vms = client
//!     .get_vms(&GetVmsRequestBody {
//!         r#where: VmWhereInput { name: "web-1".into(), ..Default::default() }.into(),
//!         ..Default::default()
//!     })
//!     .await?;
//! assert_eq!(vms.len(), 1);
//! # Ok(()) }
//! ```
//!
//! Every operation of the API answers, from one store of JSON records per resource type,
//! driven by the table the generator emits with `cloudtower-api` (`cloudtower_api::SCHEMA_JSON`):
//! a regenerated crate gets a regenerated mock. Each request is checked against its type in
//! the table first (an unknown key, a missing required field, a wrong type or an unknown enum
//! value answers 400 naming the JSON pointer), so the mock compiles none of the generated
//! codecs. It starts with consistent state: a cluster with three hosts, a VDS with a VM
//! network, an ISO image, a cloud-init template and four VMs (`backup-demo`, `web-1`, `web-2`,
//! `db-1`), a trial license, the record of the built-in user ([`MOCK_USERNAME`], whom
//! `get-my-info` answers once signed in), and one record of every other type that others
//! refer to (named like `vds-1`).
//! Every mutation answers with a task that goes PENDING → EXECUTING → SUCCESSED over
//! [`MockConfig::task_duration`], and applies its effect when it succeeds. Unknown paths
//! answer 404.
//!
//! How it is built, layers pointing one way: the HTTP layer (routing, authentication,
//! faults, request checks, the tower a call is for) calls the reactors; reactors (one
//! registry: the VM slice, uploads, metrics, clones and conversions, …, and the generic
//! behaviour of each shape read from the table) call the task engine and the store; the store
//! (records per type, relations kept both ways, the change log, ids) knows only the table.
//! [`coverage()`] and the [`coverage`](mod@coverage) page say which reactor serves each
//! operation. Every mutation has the effect its name and answer promise: creates, clones and
//! conversions create what they say and answer its real id, deletes delete whatever else
//! their params carry, an operation on what a `where` selects answers those records (or the
//! records they name, or new records pointing at them, such as a backup plan's executions),
//! and no answer holds a placeholder id. The records agree with each other:
//! [`MockTower::violations`] checks it (every nested `{id, …}` resolves, both sides of a
//! relation agree, `*_num` counts match, timestamps are RFC 3339), and the seed data and
//! randomised sequences of operations keep it empty. A refusal caused by the store (a
//! reference to nothing, a state that forbids the action, a `where` that selects nothing)
//! carries `props.mock_reason` (`NoSuchResource`, `InvalidState`, `NothingSelected`) in its
//! `ErrorBody`.
//!
//! As strict as a tower where a tower is strict, and as lenient where it is lenient: unknown
//! keys, missing required fields, wrong kinds and unknown enum values answer 400 naming the
//! JSON pointer, as a tower's request validation does; a whole-number float where an integer
//! is expected (`262144.0`, what Python and JavaScript clients send) is read as the integer
//! it is, as a tower's JSON parser reads it, and `NOT` as one filter rather than a list is
//! read as a list of one, as Prisma (whose filter language the API follows) reads it.
//!
//! A tower of [`MockConfig::version`] has the operations of that version: a newer one
//! answers 404, as the path does not exist there. A call with the header
//! [`EXTERNAL_CLOUDTOWER_HEADER`] (`external-cloudtower-id`, what CloudTower 4.8.0 sends to
//! act on behalf of another CloudTower it manages) works on that external tower's resources,
//! kept apart from the local ones (each starts with the sample inventory, ids of its own; at
//! most [`MAX_EXTERNAL_TOWERS`]).
//!
//! Open to users: [`MockTower::insert`] adds records checked against the table,
//! [`MockConfig::fixtures`] starts from a file of them, [`MockTower::records`] and
//! [`MockTower::with_records`] read the store in assertions, [`MockTower::react`] overrides or
//! wraps one operation with a reactor of your own, and [`MockTower::save_state`] writes the
//! store to a file to start from later (the program: `--fixtures`, `--state`).
//!
//! Faults are injected per operation with [`MockTower::set_fault`] ([`Fault`]): latency, 5xx
//! answers, dropped connections, truncated bodies, expired sessions (401), failing or paused
//! tasks and `ResourceLocked` errors, drawn from a generator seeded by [`MockConfig::seed`].
//!
//! Like a production tower, it answers `GET /api/healthz` (200 when active), `GET
//! /v2/api/get-version` ([`MockConfig::version`], a bare JSON string; 404 for a tower older
//! than 2.3.0) and, while a task is changing a resource, shows it in the resource's
//! `entityAsyncStatus` (`CREATING`, `UPDATING` or `DELETING`, back to null when the task
//! ends), refusing other mutations of it with `ResourceLocked` if
//! [`MockConfig::lock_resources_during_tasks`]. [`MockTower::start_pair`] starts an
//! active/passive pair ([`MockPair`]) sharing one state, whose passive tower answers `307`.
//!
//! Every request is recorded with its body ([`MockTower::recorded_requests`]), so a test can
//! assert what was sent. Bounds: bodies up to [`MAX_BODY_BYTES`] (a full 8 MiB upload chunk
//! fits), nested at most [`MAX_BODY_DEPTH`] levels, filters at most [`MAX_FILTER_DEPTH`]; a
//! filter the mock cannot evaluate, and numbers whose arithmetic would overflow (such as
//! `cpu_cores × cpu_sockets`), answer 400 with an `ErrorBody`, never "match everything". A
//! long-running mock stays bounded: it keeps the most recent requests
//! ([`MockConfig::max_recorded_requests`]), ended tasks ([`MockConfig::max_ended_tasks`]) and
//! resource changes (10,000, older ones compacted away), sessions ([`MAX_SESSIONS`]: a new
//! login beyond it ends the oldest), uploads ([`MAX_UPLOADS`]: an abandoned one is forgotten
//! with its record) and external towers; each request looks only at the running tasks. What
//! one request decides (an injected task outcome) never lives in the shared store, and a
//! reactor that panics answers 500 and leaves the tower serving.

#![warn(missing_docs)]

mod auth;
mod faults;
pub mod filter;
mod invariants;
mod json;
mod pair;
mod reactors;
mod server;
mod state;
mod table;
mod tasks;
mod user;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudtower_api::models::UserSource;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use auth::MAX_SESSIONS;
pub use faults::{Fault, TaskOutcome};
pub use pair::{MockPair, Role};
pub use reactors::{Coverage, SchemaOnly};
pub use server::{EXTERNAL_CLOUDTOWER_HEADER, MAX_EXTERNAL_TOWERS};
pub use state::MAX_UPLOADS;
pub use user::{InsertError, Reaction, Records, UserReactor};

/// The CloudTower version of the spec `cloudtower-api` was generated from (`spec/pin.json`):
/// what [`MockConfig::version`] answers by default. (A test checks it against the pin.)
pub const SPEC_VERSION: &str = cloudtower_api::models::SPEC_VERSION;

/// The username of the mock's built-in local user.
pub const MOCK_USERNAME: &str = "root";
/// The password of the mock's built-in local user.
pub const MOCK_PASSWORD: &str = "mock-password";

/// How many requests (with their bodies) a tower keeps for [`MockTower::recorded_requests`]
/// by default ([`MockConfig::max_recorded_requests`]): the most recent ones; older ones are
/// dropped, so a long-running mock's memory stays bounded.
pub const MAX_RECORDED_REQUESTS: usize = 10_000;

pub use filter::MAX_FILTER_DEPTH;
pub use server::{MAX_BODY_BYTES, MAX_BODY_DEPTH};

/// A request the tower received, for tests to assert on what a client sent.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    /// The operation: the path under `/v2/api/` (`get-vms`, `upload-elf-image`, …).
    pub operation: String,
    /// The body as JSON (`null` when empty; a body that is not JSON is kept as a string). An
    /// upload's multipart form is an object of its text fields, with `file` as
    /// `{"bytes": LENGTH}`.
    pub body: serde_json::Value,
}

/// How a [`MockTower`] starts.
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// Where to listen (default `127.0.0.1:0`, a free port).
    pub listen: SocketAddr,
    /// How long each task takes from creation to its end (default 300 ms).
    pub task_duration: Duration,
    /// The seed of the fault generator (default 0).
    pub seed: u64,
    /// Start with the sample inventory (default true); otherwise only the users exist.
    pub seed_data: bool,
    /// What `GET /v2/api/get-version` answers, as a bare JSON string (default
    /// `Some(`[`SPEC_VERSION`]`)`). `None` makes it answer 404, as a tower older than 2.3.0
    /// (which has no such operation) does.
    pub version: Option<String>,
    /// Refuse a mutation of a VM or VM snapshot that a running task (PENDING or EXECUTING)
    /// is changing, with 400 `ResourceLocked` naming it, as a real tower does (default
    /// false, so that tests firing mutations back to back keep working; see
    /// [`MockTower::set_lock_resources_during_tasks`]).
    pub lock_resources_during_tasks: bool,
    /// How many requests a tower keeps with their bodies for
    /// [`MockTower::recorded_requests`] and [`MockTower::requests`]: the most recent ones
    /// (default [`MAX_RECORDED_REQUESTS`]), so that a long-running mock's memory stays bounded.
    pub max_recorded_requests: usize,
    /// How many ended tasks `get-tasks` keeps answering (default 10,000): the oldest go first.
    /// Running tasks are always kept.
    pub max_ended_tasks: usize,
    /// A fixture or state file to start from (default none): a JSON object of resource
    /// types to lists of records, `{"Vm": [{…}], "Vlan": [{…}]}`, as
    /// [`MockTower::save_state`] writes. Each record is checked against the table (missing
    /// required fields take their smallest values); a record whose id the tower already
    /// holds replaces it. A file that does not load stops the start with `InvalidData`.
    pub fixtures: Option<std::path::PathBuf>,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            task_duration: Duration::from_millis(300),
            seed: 0,
            seed_data: true,
            version: Some(SPEC_VERSION.to_owned()),
            lock_resources_during_tasks: false,
            max_recorded_requests: MAX_RECORDED_REQUESTS,
            max_ended_tasks: 10_000,
            fixtures: None,
        }
    }
}

/// The stack of the mock's server thread. The request check and the filter evaluator recurse
/// per nesting level (bounded by [`MAX_BODY_DEPTH`]), so the server runs on a thread of its
/// own rather than on the caller's runtime, whose threads (a test's, a tokio worker's) have
/// 2 MiB.
pub(crate) const SERVER_STACK_BYTES: usize = 16 << 20;

/// A running mock tower. Stops when dropped or on [`shutdown`](MockTower::shutdown).
///
/// It serves from a thread of its own (with its own single-threaded tokio runtime), so it
/// works from any runtime, and a request's decoding never runs on the caller's stack.
pub struct MockTower {
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    stop: Option<oneshot::Sender<()>>,
    stopped: Option<oneshot::Receiver<()>>,
}

impl MockTower {
    /// Starts a tower with the default [`MockConfig`] on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<MockTower> {
        MockTower::start_with(MockConfig::default()).await
    }

    /// Starts a tower with `config`.
    pub async fn start_with(config: MockConfig) -> std::io::Result<MockTower> {
        let listener = TcpListener::bind(config.listen).await?.into_std()?;
        let addr = listener.local_addr()?;
        let pairing = pair::Pairing::lone(format!("http://{addr}"));
        let state = SharedState::new(&config);
        load_fixtures(&config, &state)?;
        let shared = server::Shared::new(state, &config, pairing);
        MockTower::serve(listener, shared)
    }

    /// Starts an active/passive pair with the default [`MockConfig`] (each tower on a free
    /// port of 127.0.0.1): see [`MockPair`].
    pub async fn start_pair() -> std::io::Result<MockPair> {
        MockPair::start_with(MockConfig::default()).await
    }

    /// Starts an active/passive pair with `config` (both towers on `config.listen`'s IP; its
    /// port is ignored unless 0, each tower takes a free port): see [`MockPair`].
    pub async fn start_pair_with(config: MockConfig) -> std::io::Result<MockPair> {
        MockPair::start_with(config).await
    }

    /// Serves `shared` on `listener` from a thread of its own.
    pub(crate) fn serve(
        listener: std::net::TcpListener,
        shared: Arc<server::Shared>,
    ) -> std::io::Result<MockTower> {
        let addr = listener.local_addr()?;
        let (stop, stop_requested) = oneshot::channel::<()>();
        let (finished, stopped) = oneshot::channel::<()>();
        let app = server::router(shared.clone());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("cloudtower-mock".into())
            .stack_size(SERVER_STACK_BYTES)
            .spawn(move || {
                runtime.block_on(async move {
                    let serve = async {
                        let listener = TcpListener::from_std(listener)?;
                        axum::serve(listener, app)
                            .with_graceful_shutdown(async {
                                let _ = stop_requested.await;
                            })
                            .await
                    };
                    if let Err(error) = serve.await {
                        eprintln!("cloudtower-mock: server error: {error}");
                    }
                });
                let _ = finished.send(());
            })?;
        Ok(MockTower {
            addr,
            shared,
            stop: Some(stop),
            stopped: Some(stopped),
        })
    }

    /// The endpoint to give a client (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the tower listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server and waits for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(stopped) = self.stopped.take() {
            // Graceful: open connections finish their call; after 5 s this returns anyway
            // (the server thread ends when its last connection does).
            let _ = tokio::time::timeout(Duration::from_secs(5), stopped).await;
        }
    }

    /// Injects `fault` into every later call of `operation` (a path under `/v2/api/`, such
    /// as `get-vms`), or of every operation without a fault of its own for `"*"`. The two
    /// towers of a [`MockPair`] share their faults (which apply to the calls the active one
    /// serves).
    pub fn set_fault(&self, operation: &str, fault: Fault) {
        self.shared.faults().set(operation, fault);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.shared.faults().clear();
    }

    /// Adds a user who can log in with `source` (`LOCAL`, `LDAP`, …), and their `User`
    /// record (an administrator) unless the tower holds one.
    pub fn add_user(&self, username: &str, password: &str, source: UserSource) {
        self.shared
            .sessions()
            .users
            .push((username.into(), password.into(), source.to_string()));
        let mut store = self.shared.store();
        store.advance();
        reactors::tower::ensure_user(&mut store, username, &source.to_string());
    }

    /// Accepts `key` as a raw `Authorization` value (an API key).
    pub fn add_api_key(&self, key: &str) {
        self.shared.sessions().api_keys.insert(key.into());
    }

    /// Ends every session, as when tokens expire: the next call with a token answers 401 (on
    /// both towers of a [`MockPair`], which share their sessions).
    pub fn expire_sessions(&self) {
        self.shared.sessions().end_all();
    }

    /// Sets how long tasks created from now on take.
    pub fn set_task_duration(&self, duration: Duration) {
        self.shared.store().tasks.duration = duration;
    }

    /// Forgets the resource-change log before `revision`: watchers behind it get a
    /// compaction error.
    pub fn compact_changes(&self, revision: u64) {
        let mut store = self.shared.store();
        store.advance();
        store.compact(revision);
    }

    /// The current resource-change revision (after the tasks that are due have ended).
    pub fn revision(&self) -> u64 {
        let mut store = self.shared.store();
        store.advance();
        store.revision
    }

    /// Sets the VMTools status of the VM named `vm_name` (`true`: running).
    pub fn set_vm_tools_running(&self, vm_name: &str, running: bool) {
        let status = if running { "RUNNING" } else { "NOT_RUNNING" };
        let mut store = self.shared.store();
        let ids: Vec<String> = store
            .records
            .of("Vm")
            .iter()
            .filter(|vm| vm["name"] == vm_name)
            .filter_map(|vm| vm["id"].as_str().map(str::to_owned))
            .collect();
        for id in ids {
            if let Some(vm) = store.records.fields_mut("Vm", &id) {
                vm.insert("vm_tools_status".into(), status.into());
            }
        }
    }

    /// The operations of the most recent requests (at most
    /// [`MockConfig::max_recorded_requests`]), in call order.
    pub fn requests(&self) -> Vec<String> {
        self.shared
            .recorded()
            .iter()
            .map(|r| r.operation.clone())
            .collect()
    }

    /// The most recent requests (at most [`MAX_RECORDED_REQUESTS`]) with their bodies, in
    /// call order, e.g. to assert what a client sent:
    /// `tower.recorded_requests().iter().filter(|r| r.operation == "create-vm")`.
    pub fn recorded_requests(&self) -> Vec<RecordedRequest> {
        self.shared.recorded().iter().cloned().collect()
    }

    /// How many calls `operation` received since the tower started (counted, not bounded
    /// by [`MockConfig::max_recorded_requests`]).
    pub fn request_count(&self, operation: &str) -> usize {
        self.shared.counts().get(operation).copied().unwrap_or(0)
    }

    /// Whether this tower is active (answers the API) or passive (answers every
    /// `/v2/api/*` call and `GET /api/healthz` with `307 Temporary Redirect`). A lone tower
    /// starts active.
    pub fn role(&self) -> Role {
        self.shared.pairing.role()
    }

    /// Makes this tower active or passive (in a [`MockPair`], the other tower keeps its
    /// role: use [`MockPair::switch_over`] or [`MockPair::set_roles`] to change both at once).
    pub fn set_role(&self, role: Role) {
        self.shared.pairing.set_role(role);
    }

    /// Where this tower's `307` answers point when it is passive: `location`, or with
    /// `None` the default (the other tower of a [`MockPair`], this tower's own URL for a lone
    /// one). In a pair the setting is shared by both towers.
    pub fn set_passive_location(&self, location: Option<&str>) {
        self.shared.pairing.set_location(location);
    }

    /// How many `GET /api/healthz` probes this tower received (whatever its role). Probes
    /// are not part of [`requests`](MockTower::requests).
    pub fn healthz_count(&self) -> usize {
        self.shared.healthz.load(Ordering::SeqCst)
    }

    /// Adds a record of `resource` (`Vm`, `Vlan`, …) to the local tower: `fields` over the
    /// smallest valid record (a fresh `id` unless given), checked against the table, what it
    /// names shown on both sides. Its id; an error naming what is wrong, and nothing added,
    /// for a record that is not one of its type or names a record that does not exist.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use cloudtower_mock::MockTower;
    /// use serde_json::json;
    ///
    /// let tower = MockTower::start().await?;
    /// let cluster = tower.records("Cluster")[0]["id"].clone();
    /// let vds = tower.insert("Vds", json!({"name": "vds-lab", "cluster": {"id": cluster, "name": "cluster-1"}}))?;
    /// assert!(tower.insert("Vds", json!({"nmae": "typo"})).is_err());
    /// assert_eq!(tower.records("Vds").iter().filter(|v| v["id"] == vds.as_str()).count(), 1);
    /// # Ok(()) }
    /// ```
    pub fn insert(&self, resource: &str, fields: serde_json::Value) -> Result<String, InsertError> {
        let mut store = self.shared.store();
        user::insert(&mut store, resource, fields)
    }

    /// Every record of `resource` the local tower holds, in creation order (after the tasks
    /// that are due have ended), for assertions.
    pub fn records(&self, resource: &str) -> Vec<serde_json::Value> {
        let mut store = self.shared.store();
        store.advance();
        store.records.of(resource).to_vec()
    }

    /// Runs `f` on the local tower's records (read, insert, update), with the store held.
    pub fn with_records<T>(&self, f: impl FnOnce(&mut Records<'_>) -> T) -> T {
        let mut store = self.shared.store();
        store.advance();
        f(&mut Records { store: &mut store })
    }

    /// Puts a reactor of your own in front of `operation` (a path under `/v2/api/`): it sees
    /// each checked request body and the records, and decides ([`Reaction`]): answer it
    /// itself, fail it, or pass it on to the mock's own behaviour (after looking, or after
    /// changing the records). One per operation; a later one replaces it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use cloudtower_mock::{MockTower, Reaction};
    ///
    /// let tower = MockTower::start().await?;
    /// // Every `delete-vm` is refused, as a tower with protected VMs would.
    /// tower.react("delete-vm", |_, _| Reaction::Fail(400, "VM is protected".into()));
    /// # Ok(()) }
    /// ```
    pub fn react(
        &self,
        operation: &str,
        reactor: impl Fn(&mut Records<'_>, &serde_json::Value) -> Reaction + Send + Sync + 'static,
    ) {
        self.shared
            .user_reactors()
            .insert(operation.to_owned(), Arc::new(reactor));
    }

    /// Writes every record of the local tower to `path` as JSON (`{"Vm": [...], ...}`): a
    /// file [`MockConfig::fixtures`] (and the program's `--state`) starts from.
    pub fn save_state(&self, path: &std::path::Path) -> std::io::Result<()> {
        let dump = {
            let mut store = self.shared.store();
            store.advance();
            user::dump(&store)
        };
        let text = serde_json::to_vec_pretty(&dump).map_err(std::io::Error::other)?;
        std::fs::write(path, text)
    }

    /// Where the records of this tower (the local one) contradict each other, one sentence
    /// per violation: a nested `{id, …}` naming nothing, a relation one side of which does
    /// not name the other, a `*_num` count that is not the length of what it counts, a
    /// timestamp that is not RFC 3339. Empty for the seed data and after any operation.
    pub fn violations(&self) -> Vec<String> {
        let mut store = self.shared.store();
        store.advance();
        invariants::violations(&store)
    }

    /// Refuses (`true`) or allows (`false`) mutations of a VM or VM snapshot while a running
    /// task is changing it: see [`MockConfig::lock_resources_during_tasks`].
    pub fn set_lock_resources_during_tasks(&self, lock: bool) {
        self.shared.store().lock_busy = lock;
    }
}

/// What the towers of a pair share (a lone tower has it to itself): the local store, the
/// external towers' stores, sessions and faults.
#[derive(Clone)]
pub(crate) struct SharedState {
    pub store: Arc<Mutex<state::Store>>,
    pub externals: Arc<Mutex<std::collections::HashMap<String, Arc<Mutex<state::Store>>>>>,
    pub sessions: Arc<Mutex<auth::Sessions>>,
    pub faults: Arc<Mutex<faults::Faults>>,
}

impl SharedState {
    pub fn new(config: &MockConfig) -> SharedState {
        let mut sessions = auth::Sessions::default();
        sessions.users.push((
            MOCK_USERNAME.into(),
            MOCK_PASSWORD.into(),
            UserSource::Local.to_string(),
        ));
        SharedState {
            store: Arc::new(Mutex::new(new_store(config))),
            externals: Arc::default(),
            sessions: Arc::new(Mutex::new(sessions)),
            faults: Arc::new(Mutex::new(faults::Faults::new(config.seed))),
        }
    }
}

/// Loads `config.fixtures` into the local store of `state`.
pub(crate) fn load_fixtures(config: &MockConfig, state: &SharedState) -> std::io::Result<()> {
    let Some(path) = &config.fixtures else {
        return Ok(());
    };
    let text = std::fs::read(path)?;
    let invalid = |e: String| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    };
    let file: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| invalid(e.to_string()))?;
    let mut store = state.store.lock().unwrap_or_else(|e| e.into_inner());
    user::load(&mut store, &file).map_err(|e| invalid(e.to_string()))?;
    Ok(())
}

/// The store a tower (or a pair) starts with.
pub(crate) fn new_store(config: &MockConfig) -> state::Store {
    new_store_at(config, 0)
}

/// The store a tower starts with, its ids counted from `id_offset`.
pub(crate) fn new_store_at(config: &MockConfig, id_offset: u64) -> state::Store {
    let mut store = if config.seed_data {
        seeded_store(id_offset)
    } else {
        state::Store::with_id_offset(config.task_duration, id_offset)
    };
    store.tasks.duration = config.task_duration;
    store.lock_busy = config.lock_resources_during_tasks;
    store.tasks.max_ended = config.max_ended_tasks;
    store
}

/// The sample inventory, its ids counted from `id_offset`: seeded once per process and id
/// offset, then copied. Seeding derives records of every resource type from the table, most
/// of what a tower's start costs, and the tests and the conformance suite start hundreds of
/// towers. At most [`SEEDS_KEPT`] offsets are kept (a tower and its external towers use a
/// few).
fn seeded_store(id_offset: u64) -> state::Store {
    static SEEDED: Mutex<Vec<(u64, state::Store)>> = Mutex::new(Vec::new());
    let mut seeded = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(copy) = seeded
        .iter()
        .find(|(offset, _)| *offset == id_offset)
        .and_then(|(_, store)| store.copy_at_rest())
    {
        return copy;
    }
    let mut store = state::Store::with_id_offset(Duration::ZERO, id_offset);
    store.seed_vm_slice();
    reactors::tower::seed(&mut store);
    reactors::generic::seed(&mut store);
    // Seeding is history, not news.
    store.events.clear();
    store.compact_revision = store.revision;
    if let Some(copy) = store.copy_at_rest() {
        if seeded.len() == SEEDS_KEPT {
            seeded.remove(0);
        }
        seeded.push((id_offset, copy));
    }
    store
}

/// How many seeded stores (one per id offset) a process keeps.
const SEEDS_KEPT: usize = 8;

impl Drop for MockTower {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// How the mock answers each operation of the API it was built with, sorted by path: with
/// hand-written behaviour, the generic behaviour of the operation's shape, or an answer valid
/// for its response schema. The same table is in the docs: [`coverage`](mod@coverage).
pub fn coverage() -> Vec<(&'static str, Coverage)> {
    table::schema()
        .operations
        .iter()
        .map(|op| (op.path.as_str(), reactors::coverage(&op.path).0))
        .collect()
}

/// The reactor that serves `operation` (`vm`, `uploads`, `iscsi`, …, `generic` for the
/// generic behaviour of its shape, `schema-only`), as the coverage table names it. For a
/// schema-only operation, [`coverage()`] says which kind it is ([`SchemaOnly`]).
pub fn reactor_of(operation: &str) -> &'static str {
    reactors::coverage(operation).1
}

/// Per operation, what the mock does (generated by `tests/coverage.rs`; `UPDATE_COVERAGE=1
/// cargo test -p cloudtower-mock --all-features --test integration coverage` rewrites it).
#[doc = include_str!("../COVERAGE.md")]
pub mod coverage {}
