//! Task waiting: how many `get-tasks` requests it takes to wait for 100 tasks that finish at
//! different times (spread over the first minute), against a local axum server that answers
//! `where.id_in` / `where.id` from a simulated clock.
//!
//! `cargo bench -p cloudtower-api-tests --bench tasks`. A count, not a timing: time runs 50x faster
//! than on a real tower (one simulated second is 20 ms), so the whole run takes seconds.
//! Compared:
//! - `Client::wait_tasks_with`: all pending tasks in one request per poll, default schedule
//!   (1 s, x1.5, at most 5 s);
//! - one request per task per poll, on the same schedule (`wait_task_with` for each task,
//!   concurrently);
//! - the official Python SDK's `wait_task` (one task per request, every 5 s), for each task;
//! - the official Python SDK's `wait_tasks` (all pending tasks per request, every 5 s).

#![recursion_limit = "512"]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use cloudtower_api::models::{GetTasksRequestBody, TaskStatus, TaskWhereInput};
use cloudtower_api::{Client, RetryPolicy, WaitOptions};
use futures_util::future::join_all;
use serde_json::{json, Value};

const TASKS: usize = 100;

/// The simulated tower: task `i` succeeds `finish[i]` after `epoch`.
struct Tower {
    epoch: Mutex<Instant>,
    finish: Vec<Duration>,
    ids: Vec<String>,
    requests: AtomicUsize,
    ids_asked: AtomicUsize,
}

impl Tower {
    fn reset(&self) {
        *self.epoch.lock().unwrap() = Instant::now();
        self.requests.store(0, Relaxed);
        self.ids_asked.store(0, Relaxed);
    }

    fn answer(&self, body: &[u8]) -> Value {
        self.requests.fetch_add(1, Relaxed);
        let elapsed = self.epoch.lock().unwrap().elapsed();
        let query: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let filter = &query["where"];
        let wanted: Vec<&str> = match (&filter["id_in"], &filter["id"]) {
            (Value::Array(ids), _) => ids.iter().filter_map(Value::as_str).collect(),
            (_, Value::String(id)) => vec![id.as_str()],
            _ => self.ids.iter().map(String::as_str).collect(),
        };
        self.ids_asked.fetch_add(wanted.len(), Relaxed);
        let tasks = wanted
            .iter()
            .filter_map(|id| self.ids.iter().position(|known| known == id))
            .map(|i| {
                let done = elapsed >= self.finish[i];
                let progress = if done {
                    1.0
                } else {
                    elapsed.as_secs_f64() / self.finish[i].as_secs_f64()
                };
                json!({
                    "args": {"vm_id": format!("vm-{i}")},
                    "cluster": null,
                    "description": "Start VM",
                    "error_code": null,
                    "error_message": null,
                    "finished_at": null,
                    "id": self.ids[i],
                    "internal": false,
                    "key": "vm.start",
                    "local_created_at": "2025-01-01T00:00:00.000Z",
                    "progress": (progress * 100.0).round() / 100.0,
                    "resource_id": format!("vm-{i}"),
                    "snapshot": "{}",
                    "status": if done { "SUCCESSED" } else { "EXECUTING" },
                    "steps": [],
                })
            })
            .collect();
        Value::Array(tasks)
    }
}

fn tower_app(tower: Arc<Tower>) -> Router {
    Router::new()
        .route(
            "/v2/api/get-tasks",
            post(|State(tower): State<Arc<Tower>>, body: Bytes| async move {
                let answer = serde_json::to_vec(&tower.answer(&body)).unwrap();
                ([(CONTENT_TYPE, "application/json")], answer)
            }),
        )
        .with_state(tower)
}

struct Outcome {
    requests: usize,
    ids_asked: usize,
    /// How long after the last task finished the waiting noticed, in simulated seconds.
    lag: f64,
}

fn main() {
    // One simulated second; much shorter under `cargo test --benches` (counts stay similar).
    let second = if common::test_mode() {
        Duration::from_millis(4)
    } else {
        Duration::from_millis(20)
    };
    let mut rng = common::Rng::new(100);
    let ids: Vec<String> = (0..TASKS).map(|_| rng.cuid()).collect();
    // Finishing between 0.2 s and 60 s (simulated), each at its own time.
    let finish: Vec<Duration> = (0..TASKS)
        .map(|_| second.mul_f64(0.2 + rng.below(59_800) as f64 / 1000.0))
        .collect();
    let last = finish.iter().max().copied().unwrap();
    let tower = Arc::new(Tower {
        epoch: Mutex::new(Instant::now()),
        finish,
        ids: ids.clone(),
        requests: AtomicUsize::new(0),
        ids_asked: AtomicUsize::new(0),
    });
    let server = common::Server::start(tower_app(tower.clone()));
    let client = Client::builder(format!("http://{}", server.addr))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let scaled = |interval: f64, backoff: f64, max: f64| WaitOptions {
        interval: second.mul_f64(interval),
        backoff,
        max_interval: second.mul_f64(max),
        timeout: second * 300,
        not_found_grace: second * 30,
        ..Default::default()
    };
    let defaults = WaitOptions::default();
    let default_schedule = scaled(
        defaults.interval.as_secs_f64(),
        defaults.backoff,
        defaults.max_interval.as_secs_f64(),
    );
    let every_5s = scaled(5.0, 1.0, 5.0);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let measure = |name: &str, run: &dyn Fn()| -> Outcome {
        tower.reset();
        let started = Instant::now();
        run();
        let lag = (started.elapsed().saturating_sub(last)).as_secs_f64() / second.as_secs_f64();
        let outcome = Outcome {
            requests: tower.requests.load(Relaxed),
            ids_asked: tower.ids_asked.load(Relaxed),
            lag,
        };
        eprintln!("{name}: {} requests", outcome.requests);
        outcome
    };

    let batch = measure("batch", &|| {
        let tasks = rt
            .block_on(client.wait_tasks_with(&ids, &default_schedule))
            .unwrap();
        assert_eq!(tasks.len(), TASKS);
        assert!(tasks.iter().all(|t| t.status == TaskStatus::Successed));
    });
    let per_task = measure("per-task", &|| {
        rt.block_on(join_all(
            ids.iter()
                .map(|id| client.wait_task_with(id, &default_schedule)),
        ))
        .into_iter()
        .for_each(|t| assert_eq!(t.unwrap().status, TaskStatus::Successed));
    });
    // The Python SDK's `wait_task(id)`: `where: {id}`, every 5 s, one loop per task.
    let python_wait_task = measure("python wait_task", &|| {
        rt.block_on(join_all(ids.iter().map(|id| {
            let client = &client;
            let every = every_5s.interval;
            async move {
                let body = GetTasksRequestBody {
                    r#where: TaskWhereInput {
                        id: id.clone().into(),
                        ..Default::default()
                    }
                    .into(),
                    ..Default::default()
                };
                loop {
                    let tasks = client.get_tasks(&body).await.unwrap();
                    if tasks
                        .first()
                        .is_some_and(|t| t.status == TaskStatus::Successed)
                    {
                        break;
                    }
                    tokio::time::sleep(every).await;
                }
            }
        })));
    });
    // The Python SDK's `wait_tasks(ids)`: pending ids in `id_in`, every 5 s.
    let python_wait_tasks = measure("python wait_tasks", &|| {
        rt.block_on(client.wait_tasks_with(&ids, &every_5s))
            .unwrap();
    });
    drop(server); // stops it

    let mut report = common::Report::default();
    report.line(format!(
        "{TASKS} tasks finishing between 0.2 s and {:.1} s (simulated; 1 s = {} ms here)",
        last.as_secs_f64() / second.as_secs_f64(),
        second.as_millis()
    ));
    for (key, label, outcome) in [
        ("batch", "Client::wait_tasks (batch, 1s x1.5 <=5s)", &batch),
        ("per_task", "one request per task, same schedule", &per_task),
        (
            "python_wait_task",
            "Python SDK wait_task per task (5 s)",
            &python_wait_task,
        ),
        (
            "python_wait_tasks",
            "Python SDK wait_tasks (batch, 5 s)",
            &python_wait_tasks,
        ),
    ] {
        report.line(format!(
            "{label:<42} {:>5} requests ({:>5} task lookups), done {:.1} s after the last task",
            outcome.requests, outcome.ids_asked, outcome.lag
        ));
        report.figure(&format!("{key}_requests"), outcome.requests);
        report.figure(&format!("{key}_task_lookups"), outcome.ids_asked);
        report.figure(&format!("{key}_lag_secs"), outcome.lag);
    }
    report.line(format!(
        "ratio: batch waiting makes {:.1}x fewer requests than one request per task on the same \
         schedule, {:.1}x fewer than the Python SDK's wait_task per task",
        per_task.requests as f64 / batch.requests as f64,
        python_wait_task.requests as f64 / batch.requests as f64
    ));
    report.figure(
        "per_task_over_batch",
        per_task.requests as f64 / batch.requests as f64,
    );
    report.finish("tasks");
}
