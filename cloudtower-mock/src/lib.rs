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
//! `db-1`), and one record of every other type that others refer to (named like `vds-1`).
//! Every mutation answers with a task that goes PENDING → EXECUTING → SUCCESSED over
//! [`MockConfig::task_duration`], and applies its effect when it succeeds. Unknown paths
//! answer 404.
//!
//! The VM slice has hand-written behaviour, overriding the generic path: power states, the
//! recycle bin, disks, CD-ROMs and NICs, migration, snapshots backed by iSCSI LUN snapshots,
//! rebuilds and rollbacks, VNC, image uploads. Every other list, connection, create, update
//! and delete acts generically on the records (create params mapped onto the resource, `*_id`
//! references resolved into the nested `{id, name}` of what they name, a 400 for a reference to
//! nothing, relations kept consistent both ways, nested copies renamed with what they name),
//! and the remaining operations answer a value valid for their response schema, with tasks for
//! what their `where` selects. [`coverage()`] and the [`coverage`](mod@coverage) page say which
//! is which. A refusal caused by the store (a reference to nothing, a state that forbids the
//! action, a `where` that selects nothing) carries `props.mock_reason` (`NoSuchResource`,
//! `InvalidState`, `NothingSelected`) in its `ErrorBody`.
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
//! resource changes (10,000, older ones compacted away), and each request looks only at the
//! running tasks.

#![warn(missing_docs)]

mod faults;
pub mod filter;
mod generic;
mod pair;
mod server;
mod state;
mod vm;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudtower_api::models::UserSource;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use faults::{Fault, TaskOutcome};
pub use generic::Coverage;
pub use pair::{MockPair, Role};

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
        let shared = server::Shared::new(
            Arc::new(Mutex::new(new_store(&config))),
            Arc::new(Mutex::new(faults::Faults::new(config.seed))),
            config.version.clone(),
            pairing,
            config.max_recorded_requests,
        );
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

    /// Adds a user who can log in with `source` (`LOCAL`, `LDAP`, …).
    pub fn add_user(&self, username: &str, password: &str, source: UserSource) {
        self.shared
            .store()
            .users
            .push((username.into(), password.into(), source.to_string()));
    }

    /// Accepts `key` as a raw `Authorization` value (an API key).
    pub fn add_api_key(&self, key: &str) {
        self.shared.store().api_keys.insert(key.into());
    }

    /// Ends every session, as when tokens expire: the next call with a token answers 401 (on
    /// both towers of a [`MockPair`], which share their sessions).
    pub fn expire_sessions(&self) {
        self.shared.store().tokens.clear();
    }

    /// Sets how long tasks created from now on take.
    pub fn set_task_duration(&self, duration: Duration) {
        self.shared.store().task_duration = duration;
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

    /// Refuses (`true`) or allows (`false`) mutations of a VM or VM snapshot while a running
    /// task is changing it: see [`MockConfig::lock_resources_during_tasks`].
    pub fn set_lock_resources_during_tasks(&self, lock: bool) {
        self.shared.store().lock_busy = lock;
    }
}

/// The store a tower (or a pair) starts with.
pub(crate) fn new_store(config: &MockConfig) -> state::Store {
    let mut store = state::Store::new(config.task_duration);
    store.lock_busy = config.lock_resources_during_tasks;
    store.max_ended_tasks = config.max_ended_tasks;
    store.users.push((
        MOCK_USERNAME.into(),
        MOCK_PASSWORD.into(),
        UserSource::Local.to_string(),
    ));
    if config.seed_data {
        store.seed_vm_slice();
        generic::seed(&mut store);
        // Seeding is history, not news.
        store.events.clear();
        store.compact_revision = store.revision;
    }
    store
}

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
    generic::schema()
        .operations
        .iter()
        .map(|op| {
            let overridden = server::OVERRIDES.contains(&op.path.as_str());
            (op.path.as_str(), generic::coverage(&op.path, overridden))
        })
        .collect()
}

/// Per operation, what the mock does (generated by `tests/coverage.rs`; `UPDATE_COVERAGE=1
/// cargo test -p cloudtower-mock --test coverage` rewrites it).
#[doc = include_str!("../COVERAGE.md")]
pub mod coverage {}
