//! An active/passive pair of towers sharing one state, as a CloudTower deployed for high
//! availability is.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;

use crate::{server, MockConfig, MockTower, SharedState};

/// The role of one tower of an active/passive deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Serves the API; `GET /api/healthz` answers 200.
    Active,
    /// Serves nothing: every `/v2/api/*` call, and `GET /api/healthz`, answers
    /// `307 Temporary Redirect` with a `Location` header, without executing anything.
    Passive,
}

/// How one tower knows its role: the roles of the (one or two) towers, as one atomic value
/// so that a switch-over is never seen half done.
pub(crate) struct Pairing {
    /// Bit `i` set: tower `i` is active.
    roles: Arc<AtomicU8>,
    index: u8,
    /// Where passive answers point (`None`: `peer_url`); shared by both towers of a pair.
    location: Arc<Mutex<Option<String>>>,
    /// The other tower's URL (this tower's own for a lone one).
    peer_url: String,
}

impl Pairing {
    /// A lone tower: active, its passive answers pointing at itself.
    pub fn lone(own_url: String) -> Pairing {
        Pairing {
            roles: Arc::new(AtomicU8::new(1)),
            index: 0,
            location: Arc::new(Mutex::new(None)),
            peer_url: own_url,
        }
    }

    fn bit(&self) -> u8 {
        1 << self.index
    }

    pub fn role(&self) -> Role {
        if self.roles.load(Ordering::SeqCst) & self.bit() != 0 {
            Role::Active
        } else {
            Role::Passive
        }
    }

    pub fn set_role(&self, role: Role) {
        match role {
            Role::Active => self.roles.fetch_or(self.bit(), Ordering::SeqCst),
            Role::Passive => self.roles.fetch_and(!self.bit(), Ordering::SeqCst),
        };
    }

    /// The `Location` of a passive answer.
    pub fn location(&self) -> String {
        self.location
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_else(|| self.peer_url.clone())
    }

    pub fn set_location(&self, location: Option<&str>) {
        *self.location.lock().unwrap_or_else(|e| e.into_inner()) = location.map(str::to_owned);
    }
}

fn bits(first: Role, second: Role) -> u8 {
    u8::from(first == Role::Active) | (u8::from(second == Role::Active) << 1)
}

/// Two mock towers deployed as an active/passive pair, for testing failover.
///
/// Both towers share ONE state, as a real pair replicates its database: one inventory, one
/// set of users, sessions and API keys (a token from before a switch-over keeps working,
/// unless [`switch_over_with_new_sessions`](MockPair::switch_over_with_new_sessions) is
/// used), one set of tasks and one set of faults ([`MockTower::set_fault`] on either tower
/// sets them for the pair, and faults apply only to calls the active tower serves). Each
/// tower keeps its own request log ([`MockTower::requests`],
/// [`MockTower::recorded_requests`], [`MockTower::request_count`], which include the calls
/// a passive tower refused) and its own count of health probes
/// ([`MockTower::healthz_count`]).
///
/// The first tower starts active, the second passive. A passive tower answers every
/// `/v2/api/*` call, and `GET /api/healthz`, with `307 Temporary Redirect` and a `Location`
/// header (by default the other tower's URL; see
/// [`set_passive_location`](MockPair::set_passive_location)); it executes nothing. A client
/// must not follow that redirect but find the active tower among its endpoints itself.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use cloudtower_mock::{MockTower, Role};
///
/// let pair = MockTower::start_pair().await?;
/// let [first, second] = pair.urls();
/// assert_eq!(pair.active_url(), first);
/// pair.switch_over();
/// assert_eq!(pair.active_url(), second);
/// assert_eq!(pair.roles(), [Role::Passive, Role::Active]);
/// # Ok(()) }
/// ```
///
/// Stops both towers when dropped or on [`shutdown`](MockPair::shutdown).
pub struct MockPair {
    towers: [MockTower; 2],
    roles: Arc<AtomicU8>,
}

impl MockPair {
    /// Starts a pair with the default [`MockConfig`]: the same as
    /// [`MockTower::start_pair`].
    pub async fn start() -> std::io::Result<MockPair> {
        MockPair::start_with(MockConfig::default()).await
    }

    /// Starts a pair with `config`: both towers listen on `config.listen`'s IP address, on
    /// a free port each when its port is 0, else on that port and the next one. The same as
    /// [`MockTower::start_pair_with`].
    pub async fn start_with(config: MockConfig) -> std::io::Result<MockPair> {
        let second_addr = match config.listen.port() {
            0 => config.listen,
            port => SocketAddr::new(config.listen.ip(), port.wrapping_add(1)),
        };
        let listeners = [
            TcpListener::bind(config.listen).await?.into_std()?,
            TcpListener::bind(second_addr).await?.into_std()?,
        ];
        let urls = [
            format!("http://{}", listeners[0].local_addr()?),
            format!("http://{}", listeners[1].local_addr()?),
        ];
        let state = SharedState::new(&config);
        crate::load_fixtures(&config, &state)?;
        let roles = Arc::new(AtomicU8::new(bits(Role::Active, Role::Passive)));
        let location = Arc::new(Mutex::new(None));
        let [first, second] = listeners;
        let mut towers = Vec::with_capacity(2);
        for (index, listener) in [(0u8, first), (1, second)] {
            let pairing = Pairing {
                roles: roles.clone(),
                index,
                location: location.clone(),
                peer_url: urls[1 - usize::from(index)].clone(),
            };
            let shared = server::Shared::new(state.clone(), &config, pairing);
            towers.push(MockTower::serve(listener, shared)?);
        }
        let [first, second]: [MockTower; 2] = towers
            .try_into()
            .unwrap_or_else(|_| unreachable!("two towers"));
        Ok(MockPair {
            towers: [first, second],
            roles,
        })
    }

    /// Both towers, in a stable order (the first one started active).
    pub fn towers(&self) -> &[MockTower; 2] {
        &self.towers
    }

    /// Tower `index` (0 or 1) of [`towers`](MockPair::towers).
    ///
    /// # Panics
    /// When `index` is not 0 or 1.
    pub fn tower(&self, index: usize) -> &MockTower {
        &self.towers[index]
    }

    /// Both towers' URLs, in the order of [`towers`](MockPair::towers) (which does not change
    /// on a switch-over): the endpoints to configure a failover client with.
    pub fn urls(&self) -> [String; 2] {
        [self.towers[0].url(), self.towers[1].url()]
    }

    /// Both towers' roles, in the order of [`towers`](MockPair::towers).
    pub fn roles(&self) -> [Role; 2] {
        [self.towers[0].role(), self.towers[1].role()]
    }

    /// Sets both roles at once (atomically: no request sees one changed and not the other),
    /// including the states a real pair should never be in, for testing a client's
    /// discovery errors: both [`Role::Passive`] (no tower serves) or both [`Role::Active`].
    pub fn set_roles(&self, first: Role, second: Role) {
        self.roles.store(bits(first, second), Ordering::SeqCst);
    }

    /// Swaps the two towers' roles atomically: the passive one becomes active and the active
    /// one passive. Sessions survive (the state is shared), as on a real pair.
    pub fn switch_over(&self) {
        let _ = self
            .roles
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |bits| {
                Some(((bits & 1) << 1) | ((bits >> 1) & 1))
            });
    }

    /// [`switch_over`](MockPair::switch_over), then ends every session (API keys stay): the
    /// next call with a token from before answers 401, on either tower.
    pub fn switch_over_with_new_sessions(&self) {
        self.switch_over();
        self.towers[0].expire_sessions();
    }

    /// The active tower, when exactly one is.
    pub fn active(&self) -> Option<&MockTower> {
        match self.roles() {
            [Role::Active, Role::Passive] => Some(&self.towers[0]),
            [Role::Passive, Role::Active] => Some(&self.towers[1]),
            _ => None,
        }
    }

    /// The passive tower, when exactly one is.
    pub fn passive(&self) -> Option<&MockTower> {
        match self.roles() {
            [Role::Active, Role::Passive] => Some(&self.towers[1]),
            [Role::Passive, Role::Active] => Some(&self.towers[0]),
            _ => None,
        }
    }

    /// The active tower's URL.
    ///
    /// # Panics
    /// Unless exactly one tower is active (after [`set_roles`](MockPair::set_roles) made
    /// both passive or both active); use [`active`](MockPair::active) then.
    pub fn active_url(&self) -> String {
        self.active()
            .unwrap_or_else(|| panic!("no single active tower: roles {:?}", self.roles()))
            .url()
    }

    /// The passive tower's URL.
    ///
    /// # Panics
    /// Unless exactly one tower is passive; use [`passive`](MockPair::passive) then.
    pub fn passive_url(&self) -> String {
        self.passive()
            .unwrap_or_else(|| panic!("no single passive tower: roles {:?}", self.roles()))
            .url()
    }

    /// Where a passive tower's `307` answers point: `location` (such as a canary server's
    /// URL, to prove a client never follows them), or with `None` the default, the other
    /// tower's URL.
    pub fn set_passive_location(&self, location: Option<&str>) {
        self.towers[0].set_passive_location(location);
    }

    /// How many `GET /api/healthz` probes each tower received, in the order of
    /// [`towers`](MockPair::towers).
    pub fn healthz_counts(&self) -> [usize; 2] {
        [
            self.towers[0].healthz_count(),
            self.towers[1].healthz_count(),
        ]
    }

    /// Stops both towers and waits for them to finish.
    pub async fn shutdown(self) {
        let [first, second] = self.towers;
        first.shutdown().await;
        second.shutdown().await;
    }
}
