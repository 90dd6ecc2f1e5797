//! Fault injection, configured per operation and drawn from a seeded generator so that a
//! test sees the same faults every run.

use std::collections::HashMap;
use std::time::Duration;

/// How the tasks created by an operation end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TaskOutcome {
    /// PENDING → EXECUTING → SUCCESSED (the default).
    #[default]
    Succeed,
    /// PENDING → EXECUTING → FAILED, with an error code and message; the mutation's effect is
    /// not applied (a created resource is removed again).
    Fail,
    /// PENDING → EXECUTING → PAUSED, where it stays.
    Pause,
}

/// What can go wrong with one operation. Every rate is a probability in `0.0..=1.0`; the
/// fault applies to the first [`times`](Fault::times) matching calls only, when set.
///
/// ```
/// use std::time::Duration;
/// use cloudtower_mock::{Fault, TaskOutcome};
/// // The next two `get-vms` calls answer 503, then the operation behaves again.
/// let flaky = Fault::new().status_rate(503, 1.0).times(2);
/// // Every `start-vm` task fails.
/// let failing = Fault::new().task(TaskOutcome::Fail);
/// // Half of all calls are slow.
/// let slow = Fault::new().latency(Duration::from_millis(200));
/// # let _ = (flaky, failing, slow);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fault {
    /// How long to wait before answering (every call the fault applies to).
    pub latency: Duration,
    /// The HTTP status answered at `status_rate` (500–599, or any other error status).
    pub status: u16,
    /// How often to answer [`status`](Fault::status) instead of serving the call.
    pub status_rate: f64,
    /// Close the connection without an answer.
    pub drop_rate: f64,
    /// Answer 200 with the body cut in half.
    pub truncate_rate: f64,
    /// Revoke the caller's token and answer 401, as a tower does when a session expires.
    pub expire_token_rate: f64,
    /// Answer 400 `ResourceLocked` before any effect, with `props.locked_resources` naming
    /// `[{"id": …, "type": …}]` the resources the request's `where` selects (VMs, or VM
    /// snapshots for `*-snapshot` operations), or [`locked_resource`](Fault::locked_resource)
    /// when set.
    pub locked_rate: f64,
    /// The resource (`(type, id)`, such as `("Vm", "clmock…")`) a `ResourceLocked` answer
    /// names, instead of the ones the request's `where` selects.
    pub locked_resource: Option<(String, String)>,
    /// How the tasks this operation creates end.
    pub task: TaskOutcome,
    /// Apply to this many calls, then stop (`None`: every call).
    pub times: Option<u32>,
}

impl Fault {
    /// No fault (every rate 0, tasks succeed); `status` 503 for
    /// [`status_rate`](Fault::status_rate)'s answers.
    pub fn new() -> Self {
        Fault {
            status: 503,
            ..Fault::default()
        }
    }
    /// Sets [`latency`](Fault::latency).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }
    /// Answers `status` at `rate`: `Fault::new().status_rate(503, 1.0).times(2)` fails the
    /// next two calls.
    pub fn status_rate(mut self, status: u16, rate: f64) -> Self {
        self.status = status;
        self.status_rate = rate;
        self
    }
    /// Sets [`drop_rate`](Fault::drop_rate).
    pub fn drop_rate(mut self, rate: f64) -> Self {
        self.drop_rate = rate;
        self
    }
    /// Sets [`truncate_rate`](Fault::truncate_rate).
    pub fn truncate_rate(mut self, rate: f64) -> Self {
        self.truncate_rate = rate;
        self
    }
    /// Sets [`expire_token_rate`](Fault::expire_token_rate).
    pub fn expire_token_rate(mut self, rate: f64) -> Self {
        self.expire_token_rate = rate;
        self
    }
    /// Sets [`locked_rate`](Fault::locked_rate): `Fault::new().locked_rate(1.0).times(2)`
    /// refuses the next two calls with `ResourceLocked`, `Fault::new().locked_rate(1.0)`
    /// every call.
    pub fn locked_rate(mut self, rate: f64) -> Self {
        self.locked_rate = rate;
        self
    }
    /// Sets [`locked_resource`](Fault::locked_resource): the `type` (`Vm`, …) and `id` a
    /// `ResourceLocked` answer names.
    pub fn locked_resource(mut self, resource_type: &str, id: &str) -> Self {
        self.locked_resource = Some((resource_type.to_owned(), id.to_owned()));
        self
    }
    /// Sets how the tasks this operation creates end ([`task`](Fault::task)).
    pub fn task(mut self, outcome: TaskOutcome) -> Self {
        self.task = outcome;
        self
    }
    /// Applies the fault to the next `times` calls only ([`times`](Fault::times)).
    pub fn times(mut self, times: u32) -> Self {
        self.times = Some(times);
        self
    }
}

/// What one call will suffer, drawn from its [`Fault`].
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Plan {
    pub latency: Duration,
    pub status: Option<u16>,
    pub drop: bool,
    pub truncate: bool,
    pub expire_token: bool,
    pub locked: bool,
    pub locked_resource: Option<(String, String)>,
    pub task: TaskOutcome,
}

/// The faults of every operation, and the seeded generator they draw from.
pub(crate) struct Faults {
    rules: HashMap<String, Fault>,
    rng: fastrand::Rng,
}

impl Faults {
    pub fn new(seed: u64) -> Self {
        Faults {
            rules: HashMap::new(),
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    pub fn set(&mut self, operation: &str, fault: Fault) {
        self.rules.insert(operation.to_owned(), fault);
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// Draws the plan for one call of `operation` (the `*` rule applies to every operation
    /// without one of its own).
    pub fn plan(&mut self, operation: &str) -> Plan {
        let key = if self.rules.contains_key(operation) {
            operation
        } else {
            "*"
        };
        let Some(fault) = self.rules.get_mut(key) else {
            return Plan::default();
        };
        match &mut fault.times {
            Some(0) => return Plan::default(),
            Some(n) => *n -= 1,
            None => {}
        }
        let fault = fault.clone();
        let mut draw = |rate: f64| rate > 0.0 && self.rng.f64() < rate;
        Plan {
            latency: fault.latency,
            status: draw(fault.status_rate).then_some(fault.status),
            drop: draw(fault.drop_rate),
            truncate: draw(fault.truncate_rate),
            expire_token: draw(fault.expire_token_rate),
            locked: draw(fault.locked_rate),
            locked_resource: fault.locked_resource,
            task: fault.task,
        }
    }
}
