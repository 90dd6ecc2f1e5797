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
//! It speaks CloudTower's wire format through the SDK's own generated types (request bodies
//! are decoded and responses encoded with `cloudtower_api::codec`), and keeps consistent
//! state: a cluster with three hosts, a VM network, an ISO image, a cloud-init template and
//! four VMs (`backup-demo`, `web-1`, `web-2`, `db-1`) to begin with. Every mutation answers
//! with a task that goes PENDING → EXECUTING → SUCCESSED over [`MockConfig::task_duration`],
//! and applies its effect when it succeeds. Operations of the API that the mock does not
//! implement answer 501 with an `ErrorBody`; unknown paths answer 404.
//!
//! Faults are injected per operation with [`MockTower::set_fault`] ([`Fault`]): latency, 5xx
//! answers, dropped connections, truncated bodies, expired sessions (401), failing or paused
//! tasks and `ResourceLocked` errors, drawn from a generator seeded by [`MockConfig::seed`].

mod faults;
pub mod filter;
mod server;
mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudtower_api::models::UserSource;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use faults::{Fault, TaskOutcome};

/// The username of the mock's built-in local user.
pub const MOCK_USERNAME: &str = "root";
/// The password of the mock's built-in local user.
pub const MOCK_PASSWORD: &str = "mock-password";

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
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            task_duration: Duration::from_millis(300),
            seed: 0,
            seed_data: true,
        }
    }
}

/// A running mock tower. Stops when dropped or on [`shutdown`](MockTower::shutdown).
pub struct MockTower {
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl MockTower {
    /// Starts a tower with the default [`MockConfig`] on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<MockTower> {
        MockTower::start_with(MockConfig::default()).await
    }

    /// Starts a tower with `config`.
    pub async fn start_with(config: MockConfig) -> std::io::Result<MockTower> {
        let mut store = state::Store::new(config.task_duration);
        store.users.push((
            MOCK_USERNAME.into(),
            MOCK_PASSWORD.into(),
            UserSource::Local,
        ));
        if config.seed_data {
            store.seed();
        }
        let shared = Arc::new(server::Shared {
            store: Mutex::new(store),
            faults: Mutex::new(faults::Faults::new(config.seed)),
            requests: Mutex::new(Vec::new()),
        });
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = server::router(shared.clone());
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serve.await {
                eprintln!("cloudtower-mock: server error: {error}");
            }
        });
        Ok(MockTower {
            addr,
            shared,
            stop: Some(stop),
            server: Some(server),
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
        if let Some(mut server) = self.server.take() {
            // Graceful: open connections finish their call; a stuck one is cut after 5 s.
            if tokio::time::timeout(Duration::from_secs(5), &mut server)
                .await
                .is_err()
            {
                server.abort();
            }
        }
    }

    /// Injects `fault` into every later call of `operation` (a path under `/v2/api/`, such
    /// as `get-vms`), or of every operation without a fault of its own for `"*"`.
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
            .push((username.into(), password.into(), source));
    }

    /// Accepts `key` as a raw `Authorization` value (an API key).
    pub fn add_api_key(&self, key: &str) {
        self.shared.store().api_keys.insert(key.into());
    }

    /// Ends every session, as when tokens expire: the next call with a token answers 401.
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
        use cloudtower_api::models::VmToolsStatus;
        let mut store = self.shared.store();
        for vm in store.vms.iter_mut().filter(|v| v.name == vm_name) {
            vm.vm_tools_status = if running {
                VmToolsStatus::Running
            } else {
                VmToolsStatus::NotRunning
            };
        }
    }

    /// The operations called so far, in call order (`["login", "get-vms", …]`).
    pub fn requests(&self) -> Vec<String> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// How many calls `operation` received.
    pub fn request_count(&self, operation: &str) -> usize {
        self.requests().iter().filter(|r| *r == operation).count()
    }
}

impl Drop for MockTower {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
