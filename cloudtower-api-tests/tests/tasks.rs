//! Waiting for tasks against a test tower that answers `get-tasks` from a script.

use crate::common;

use std::time::Duration;

use cloudtower_api::models::{TaskStatus, VmSnapshotCreationParams};
use cloudtower_api::{
    Client, Error, OnPaused, RetryPolicy, TaskFailureKind, WaitForTasks, WaitOptions,
};
use common::{requested_ids, tasks_reply, tower, Log, Reply};
use serde_json::json;

const GET_TASKS: &str = "/v2/api/get-tasks";

fn quick() -> WaitOptions {
    WaitOptions {
        interval: Duration::from_millis(10),
        max_interval: Duration::from_millis(20),
        timeout: Duration::from_secs(10),
        not_found_grace: Duration::from_secs(5),
        ..WaitOptions::default()
    }
}

/// A tower whose `get-tasks` follows `status(id, poll)`.
async fn task_tower(
    log: &Log,
    status: impl Fn(&str, usize) -> Option<&'static str> + Send + Sync + 'static,
) -> Client {
    let url = tower(log.clone(), move |seen, n| match seen.path.as_str() {
        GET_TASKS => tasks_reply(seen, n, &status),
        _ => Reply::ok(json!([
            {"task_id": "snap-task-1", "data": {"id": "snap-1", "name": "a"}},
            {"task_id": "snap-task-2", "data": {"id": "snap-2", "name": "b"}},
            {"task_id": null, "data": {"id": "snap-3", "name": "c"}},
        ])),
    })
    .await;
    Client::builder(&url)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

fn task_failure(err: &Error) -> &cloudtower_api::TaskFailure {
    err.task_failure()
        .unwrap_or_else(|| panic!("expected a task error, got {err:?}"))
}

#[tokio::test]
async fn a_task_is_polled_until_it_succeeds() {
    let log = Log::default();
    let client = task_tower(&log, |_, poll| {
        Some(["PENDING", "EXECUTING", "SUCCESSED"][poll.min(2)])
    })
    .await;
    let task = client.wait_task_with("t-1", &quick()).await.unwrap();
    assert_eq!(task.id, "t-1");
    assert_eq!(task.status, TaskStatus::Successed);
    let polls = log.all();
    assert_eq!(polls.len(), 3);
    assert!(polls.iter().all(|p| requested_ids(p) == ["t-1"]));
}

#[tokio::test]
async fn a_failed_task_is_an_error_with_its_code_message_and_record() {
    let log = Log::default();
    let client = task_tower(&log, |_, poll| Some(["EXECUTING", "FAILED"][poll.min(1)])).await;
    let err = client.wait_task_with("t-1", &quick()).await.unwrap_err();
    let failure = task_failure(&err);
    assert_eq!(failure.kind, TaskFailureKind::Failed);
    assert_eq!(failure.task_id, "t-1");
    assert_eq!(failure.error_code.as_deref(), Some("VM_NOT_FOUND"));
    assert_eq!(failure.error_message.as_deref(), Some("the VM vanished"));
    assert_eq!(failure.status.as_deref(), Some(TaskStatus::Failed.as_str()));
    assert!(err.to_string().contains("the VM vanished"), "{err}");
}

#[tokio::test]
async fn a_paused_task_stops_the_wait_unless_told_to_wait() {
    let log = Log::default();
    let client = task_tower(&log, |_, poll| {
        Some(["PAUSED", "PAUSED", "EXECUTING", "SUCCESSED"][poll.min(3)])
    })
    .await;
    let err = client.wait_task_with("t-1", &quick()).await.unwrap_err();
    assert_eq!(task_failure(&err).kind, TaskFailureKind::Paused);
    assert_eq!(log.count(GET_TASKS), 1);

    let waiting = WaitOptions {
        on_paused: OnPaused::Wait,
        ..quick()
    };
    let task = client.wait_task_with("t-1", &waiting).await.unwrap();
    assert_eq!(task.status, TaskStatus::Successed);
}

#[tokio::test]
async fn a_task_that_appears_late_is_waited_for_but_not_forever() {
    let log = Log::default();
    let client = task_tower(&log, |id, poll| match (id, poll) {
        ("late", 0 | 1) => None,
        ("late", _) => Some("SUCCESSED"),
        _ => None,
    })
    .await;
    let task = client.wait_task_with("late", &quick()).await.unwrap();
    assert_eq!(task.id, "late");

    let short_grace = WaitOptions {
        not_found_grace: Duration::from_millis(100),
        ..quick()
    };
    let err = client
        .wait_task_with("never", &short_grace)
        .await
        .unwrap_err();
    let failure = task_failure(&err);
    assert_eq!(failure.kind, TaskFailureKind::NotFound);
    assert_eq!(failure.task_id, "never");
    assert!(failure.status.is_none());
}

#[tokio::test]
async fn a_task_that_runs_too_long_times_out_with_its_last_status() {
    let log = Log::default();
    let client = task_tower(&log, |_, _| Some("EXECUTING")).await;
    let options = WaitOptions {
        timeout: Duration::from_millis(150),
        ..quick()
    };
    let err = client.wait_task_with("slow", &options).await.unwrap_err();
    let failure = task_failure(&err);
    assert_eq!(failure.kind, TaskFailureKind::TimedOut);
    assert_eq!(failure.status.as_deref(), Some("EXECUTING"));
    assert_eq!(failure.progress, Some(0.4));
    assert!(err.is_timeout());
    assert!(err.to_string().contains("EXECUTING"), "{err}");
}

#[tokio::test]
async fn a_hundred_tasks_cost_one_request_per_poll() {
    let log = Log::default();
    // Task i succeeds at poll i % 4.
    let client = task_tower(&log, |id, poll| {
        let i: usize = id.trim_start_matches("t-").parse().unwrap();
        Some(if poll >= i % 4 {
            "SUCCESSED"
        } else {
            "EXECUTING"
        })
    })
    .await;
    let ids: Vec<String> = (0..100).map(|i| format!("t-{i}")).collect();
    let tasks = client.wait_tasks_with(&ids, &quick()).await.unwrap();
    let returned: Vec<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(returned, ids.iter().map(String::as_str).collect::<Vec<_>>());
    let polls = log.all();
    assert_eq!(polls.len(), 4);
    // Each poll asks only for the tasks still running.
    let asked: Vec<usize> = polls.iter().map(|p| requested_ids(p).len()).collect();
    assert_eq!(asked, [100, 75, 50, 25]);
}

#[tokio::test]
async fn transient_errors_while_polling_are_retried() {
    let log = Log::default();
    let url = tower(log.clone(), |seen, n| match n {
        0 => Reply::text(503, "restarting"),
        _ => tasks_reply(seen, n, |_, _| Some("SUCCESSED")),
    })
    .await;
    let client = Client::builder(&url)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let task = client.wait_task_with("t-1", &quick()).await.unwrap();
    assert_eq!(task.status, TaskStatus::Successed);
    assert_eq!(log.count(GET_TASKS), 2);

    // A permanent error ends the wait at once.
    let log = Log::default();
    let url = tower(log.clone(), |_, _| Reply::text(403, "forbidden")).await;
    let client = Client::new(&url).unwrap();
    let err = client.wait_task_with("t-1", &quick()).await.unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert_eq!(log.count(GET_TASKS), 1);
}

#[tokio::test]
async fn a_mutations_tasks_are_waited_for_together_and_its_data_returned() {
    let log = Log::default();
    let client = task_tower(&log, |_, poll| {
        Some(if poll == 0 { "EXECUTING" } else { "SUCCESSED" })
    })
    .await;
    let snapshots = client
        .create_vm_snapshot(&VmSnapshotCreationParams::default())
        .await
        .unwrap()
        .wait_with(&client, quick())
        .await
        .unwrap();
    let ids: Vec<&str> = snapshots.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["snap-1", "snap-2", "snap-3"]);
    let polls: Vec<_> = log
        .all()
        .into_iter()
        .filter(|s| s.path == GET_TASKS)
        .collect();
    assert_eq!(polls.len(), 2);
    assert_eq!(requested_ids(&polls[0]).len(), 2);
}

#[tokio::test]
async fn dropping_the_wait_stops_polling() {
    let log = Log::default();
    let client = task_tower(&log, |_, _| Some("EXECUTING")).await;
    let options = quick();
    let wait = client.wait_task_with("t-1", &options);
    assert!(tokio::time::timeout(Duration::from_millis(100), wait)
        .await
        .is_err());
    // A poll already on the wire when the wait is dropped may still reach the tower (CI saw
    // one land after the count under load): let it land before counting.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let polls = log.count(GET_TASKS);
    assert!(polls >= 1);
    // At the quick options' pace, a wait still polling would poll several times in this.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(log.count(GET_TASKS), polls);
}

#[tokio::test]
async fn waiting_for_all_tasks_returns_every_outcome_in_order() {
    let log = Log::default();
    // t-fail fails at the second poll, t-ok succeeds at the third, t-gone is never known.
    let client = task_tower(&log, |id, poll| match id {
        "t-fail" => Some(["EXECUTING", "FAILED"][poll.min(1)]),
        "t-ok" => Some(["PENDING", "EXECUTING", "SUCCESSED"][poll.min(2)]),
        _ => None,
    })
    .await;
    let ids = ["t-fail", "t-ok", "t-gone"].map(String::from);
    let options = WaitOptions {
        not_found_grace: Duration::from_millis(200),
        ..quick()
    };
    let outcomes = client.wait_tasks_all(&ids, &options).await.unwrap();
    assert_eq!(outcomes.len(), 3);
    let failed = outcomes[0].as_ref().unwrap_err();
    assert_eq!(failed.kind, TaskFailureKind::Failed);
    assert_eq!(failed.task_id, "t-fail");
    assert_eq!(failed.error_message.as_deref(), Some("the VM vanished"));
    let succeeded = outcomes[1].as_ref().unwrap();
    assert_eq!(succeeded.id, "t-ok");
    assert_eq!(succeeded.status, TaskStatus::Successed);
    assert_eq!(
        outcomes[2].as_ref().unwrap_err().kind,
        TaskFailureKind::NotFound
    );
    // The wait went on after the failure: the successful task was polled until it ended, and
    // a task that has an outcome is not asked for again. (A poll may take two requests: the
    // ids an answer left out, t-gone here, are asked again, as for a capping tower.)
    let polls = log.all();
    assert!(polls.len() >= 3, "{} polls", polls.len());
    let asked_for_failed: Vec<usize> = (0..polls.len())
        .filter(|&n| requested_ids(&polls[n]).contains(&"t-fail".to_owned()))
        .collect();
    // The tower answers FAILED from its second request on: the first request after that to
    // name t-fail is the last one.
    let failed_seen = asked_for_failed.iter().copied().find(|&n| n >= 1);
    assert_eq!(
        asked_for_failed.last().copied(),
        failed_seen,
        "{asked_for_failed:?}"
    );

    // The same tasks through `wait_tasks`: the first failure ends the wait.
    let err = client.wait_tasks_with(&ids, &options).await.unwrap_err();
    assert_eq!(task_failure(&err).task_id, "t-fail");
}

#[tokio::test]
async fn waiting_for_all_tasks_reports_those_unfinished_at_the_timeout() {
    let log = Log::default();
    let client = task_tower(&log, |id, _| {
        Some(if id == "t-ok" {
            "SUCCESSED"
        } else {
            "EXECUTING"
        })
    })
    .await;
    let ids = ["t-ok", "t-slow"].map(String::from);
    let options = WaitOptions {
        timeout: Duration::from_millis(150),
        ..quick()
    };
    let outcomes = client.wait_tasks_all(&ids, &options).await.unwrap();
    assert_eq!(outcomes[0].as_ref().unwrap().id, "t-ok");
    let slow = outcomes[1].as_ref().unwrap_err();
    assert_eq!(slow.kind, TaskFailureKind::TimedOut);
    assert_eq!(slow.status.as_deref(), Some("EXECUTING"));
}

/// A wait observed poll by poll: the tasks ended so far and their mean progress, up to all.
#[tokio::test]
async fn an_observed_wait_reports_progress_after_every_poll() {
    let log = Log::default();
    let client = task_tower(&log, |id, poll| match (id, poll) {
        ("t-quick", _) => Some("SUCCESSED"),
        ("t-slow", 0 | 1) => Some("EXECUTING"),
        ("t-slow", _) => Some("SUCCESSED"),
        _ => None,
    })
    .await;
    let ids = vec![
        "t-quick".to_owned(),
        "t-slow".to_owned(),
        "t-quick".to_owned(),
    ];
    let mut seen = Vec::new();
    let outcomes = client
        .wait_tasks_all_observed_as::<cloudtower_api::models::Task>(&ids, &quick(), &mut |p| {
            seen.push(p)
        })
        .await
        .unwrap();
    assert!(outcomes.iter().all(Result::is_ok));
    let first = seen.first().expect("a report per poll");
    // A task given twice is one task.
    assert_eq!((first.ended, first.total), (1, 2));
    // One ended (1.0), one at its last progress (0.4).
    assert!((first.fraction - 0.7).abs() < 1e-9, "{first:?}");
    let last = seen.last().unwrap();
    assert_eq!((last.ended, last.total, last.fraction), (2, 2, 1.0));
    assert!(seen.windows(2).all(|w| w[0].ended <= w[1].ended));
}

/// A tower that caps its answers (as a tower's page limit does) answers each `get-tasks`
/// with at most 2 tasks whatever it is asked: every task is still seen ending, none ends as
/// `NotFound`, and each request asks for as many tasks (`first`) as ids it names.
#[tokio::test]
async fn a_tower_capping_its_answers_still_ends_every_task() {
    let log = Log::default();
    let url = tower(log.clone(), |seen, _| {
        let capped: Vec<_> = requested_ids(seen)
            .iter()
            .take(2)
            .map(|id| common::task_json(id, "SUCCESSED"))
            .collect();
        Reply::ok(json!(capped))
    })
    .await;
    let client: Client = Client::builder(&url)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let ids: Vec<String> = (1..=5).map(|n| format!("t-{n}")).collect();
    let options = WaitOptions {
        not_found_grace: Duration::from_millis(50),
        ..quick()
    };
    let outcomes = client.wait_tasks_all(&ids, &options).await.unwrap();
    let ended: Vec<&str> = outcomes
        .iter()
        .map(|o| o.as_ref().map(|t| t.id.as_str()).unwrap_or("failed"))
        .collect();
    assert_eq!(ended, ["t-1", "t-2", "t-3", "t-4", "t-5"]);
    for seen in log.all() {
        assert_eq!(
            seen.body["first"],
            json!(requested_ids(&seen).len()),
            "{}",
            seen.body
        );
    }
}
