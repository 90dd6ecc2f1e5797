//! The client against cloudtower-mock's fault injection: what a user sees when a tower is
//! slow, flaky, drops connections, expires sessions, fails or pauses tasks, locks resources
//! or sends a broken body. Every case must end in a typed error or a success, never a panic.

use cloudtower_api::error::{DispatchError, ErrorKind, ResponseError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudtower_api::models::{
    GetAlertsRequestBody, GetLabelsRequestBody, GetVmsRequestBody, LabelCreationParams,
    LabelWhereInput, VmOperateParams, VmStartParams, VmStatus, VmWhereInput,
};
use cloudtower_api::{
    Client, PasswordLogin, RetryPolicy, TaskFailureKind, WaitForTasks, WaitOptions,
};
use cloudtower_mock::{Fault, MockConfig, MockTower, TaskOutcome, MOCK_PASSWORD, MOCK_USERNAME};

fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
    }
}

fn quick_waits() -> WaitOptions {
    WaitOptions {
        interval: Duration::from_millis(20),
        backoff: 1.0,
        timeout: Duration::from_secs(10),
        ..WaitOptions::default()
    }
}

async fn tower() -> MockTower {
    MockTower::start_with(MockConfig {
        task_duration: Duration::from_millis(30),
        ..MockConfig::default()
    })
    .await
    .expect("the mock starts")
}

async fn signed_in(tower: &MockTower, timeout: Duration) -> Client {
    let client = Client::builder(tower.url())
        .timeout(timeout)
        .retry_policy(quick_retries())
        .build()
        .unwrap();
    client
        .sign_in(PasswordLogin::new(MOCK_USERNAME, MOCK_PASSWORD))
        .await
        .unwrap();
    client
}

fn named(name: &str) -> VmWhereInput {
    VmWhereInput {
        name: name.into(),
        ..Default::default()
    }
}

async fn vm_status(client: &Client, name: &str) -> VmStatus {
    client
        .get_vms(&GetVmsRequestBody {
            r#where: named(name).into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .remove(0)
        .status
}

#[tokio::test]
async fn a_slow_read_times_out_and_is_retried() {
    let tower = tower().await;
    let client = signed_in(&tower, Duration::from_millis(300)).await;
    tower.set_fault(
        "get-vms",
        Fault::new().latency(Duration::from_secs(2)).times(1),
    );
    assert_eq!(vm_status(&client, "web-1").await, VmStatus::Running);
    assert_eq!(tower.request_count("get-vms"), 2, "one timeout, one retry");
}

#[tokio::test]
async fn a_slow_mutation_times_out_and_is_not_retried() {
    let tower = tower().await;
    let client = signed_in(&tower, Duration::from_millis(300)).await;
    tower.set_fault("shutdown-vm", Fault::new().latency(Duration::from_secs(2)));
    let error = client
        .shut_down_vm(&VmOperateParams {
            r#where: named("web-1"),
        })
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error}");
    assert_eq!(tower.request_count("shutdown-vm"), 1);
}

#[tokio::test]
async fn server_errors_are_retried_on_reads_only() {
    let tower = tower().await;
    let client = signed_in(&tower, Duration::from_secs(10)).await;
    tower.set_fault("get-vms", Fault::new().status_rate(503, 1.0).times(2));
    assert_eq!(vm_status(&client, "db-1").await, VmStatus::Running);
    assert_eq!(tower.request_count("get-vms"), 3);

    tower.set_fault("shutdown-vm", Fault::new().status_rate(503, 1.0).times(1));
    let error = client
        .shut_down_vm(&VmOperateParams {
            r#where: named("db-1"),
        })
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(503), "{error}");
    assert!(error.is_retryable());
    assert_eq!(
        tower.request_count("shutdown-vm"),
        1,
        "mutations are never resent"
    );

    // A read that keeps failing gives up after the policy's retries.
    tower.set_fault("get-vms", Fault::new().status_rate(502, 1.0));
    let before = tower.request_count("get-vms");
    let error = client
        .get_vms(&GetVmsRequestBody::default())
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(502));
    assert_eq!(
        tower.request_count("get-vms") - before,
        4,
        "1 try + 3 retries"
    );
}

#[tokio::test]
async fn an_expired_session_signs_in_again_once() {
    let tower = tower().await;
    let client = signed_in(&tower, Duration::from_secs(10)).await;
    tower.expire_sessions();
    assert_eq!(vm_status(&client, "web-2").await, VmStatus::Stopped);
    assert_eq!(tower.request_count("login"), 2);

    // The tower revokes the token in the middle of a session.
    tower.set_fault("get-vms", Fault::new().expire_token_rate(1.0).times(1));
    assert_eq!(vm_status(&client, "web-2").await, VmStatus::Stopped);
    assert_eq!(tower.request_count("login"), 3);
}

#[tokio::test]
async fn api_keys_are_the_raw_authorization_value() {
    let tower = tower().await;
    tower.add_api_key("key-123");
    let good = Client::builder(tower.url())
        .api_key("key-123")
        .build()
        .unwrap();
    assert_eq!(vm_status(&good, "web-1").await, VmStatus::Running);
    let bad = Client::builder(tower.url())
        .api_key("key-999")
        .build()
        .unwrap();
    let error = bad
        .get_vms(&GetVmsRequestBody::default())
        .await
        .unwrap_err();
    assert!(error.is_unauthorized(), "{error}");
    assert_eq!(tower.request_count("login"), 0);
}

#[tokio::test]
async fn other_sources_sign_in_with_their_source() {
    let tower = tower().await;
    tower.add_user("alice", "s3cret", cloudtower_api::models::UserSource::Ldap);
    let client = Client::new(&tower.url()).unwrap();
    let local = client
        .sign_in(PasswordLogin::new("alice", "s3cret"))
        .await
        .unwrap_err();
    assert_eq!(local.status(), Some(400), "alice is not a LOCAL user");
    client
        .sign_in(
            PasswordLogin::new("alice", "s3cret").source(cloudtower_api::models::UserSource::Ldap),
        )
        .await
        .unwrap();
    assert!(client.is_authenticated());
}

#[tokio::test]
async fn a_failed_task_is_a_task_error_and_changes_nothing() {
    let tower = tower().await;
    let client = signed_in(&tower, Duration::from_secs(10)).await;
    tower.set_fault("start-vm", Fault::new().task(TaskOutcome::Fail));
    let error = client
        .start_vm(&VmStartParams {
            r#where: named("web-2"),
            ..Default::default()
        })
        .await
        .unwrap()
        .wait_with(&client, quick_waits())
        .await
        .unwrap_err();
    let Some(failure) = error.task_failure() else {
        panic!("expected a task error, got {error}");
    };
    assert_eq!(failure.kind, TaskFailureKind::Failed);
    assert_eq!(failure.status.as_deref(), Some("FAILED"));
    assert!(failure.error_message.is_some());
    assert_eq!(vm_status(&client, "web-2").await, VmStatus::Stopped);
}

#[tokio::test]
async fn a_paused_task_stops_the_wait() {
    let tower = tower().await;
    let client = signed_in(&tower, Duration::from_secs(10)).await;
    tower.set_fault("suspend-vm", Fault::new().task(TaskOutcome::Pause));
    let error = client
        .suspend_vm(&VmOperateParams {
            r#where: named("web-1"),
        })
        .await
        .unwrap()
        .wait_with(&client, quick_waits())
        .await
        .unwrap_err();
    let Some(failure) = error.task_failure() else {
        panic!("expected a task error, got {error}");
    };
    assert_eq!(failure.kind, TaskFailureKind::Paused);
}

#[tokio::test]
async fn a_truncated_body_is_a_decode_error() {
    let tower = tower().await;
    let client = signed_in(&tower, Duration::from_secs(10)).await;
    tower.set_fault("get-vms", Fault::new().truncate_rate(1.0).times(1));
    let error = client
        .get_vms(&GetVmsRequestBody::default())
        .await
        .unwrap_err();
    let ErrorKind::Response(ResponseError::Decode { raw, .. }) = error.kind() else {
        panic!("expected a decode error, got {error}");
    };
    assert_eq!(error.operation(), Some("get-vms"));
    assert!(!raw.as_bytes().is_empty());
    // The next answer is whole again.
    assert_eq!(
        client
            .get_vms(&GetVmsRequestBody::default())
            .await
            .unwrap()
            .len(),
        4
    );
}

#[tokio::test]
async fn a_dropped_connection_is_a_transport_error() {
    let tower = tower().await;
    let client = signed_in(&tower, Duration::from_secs(10)).await;
    tower.set_fault("shutdown-vm", Fault::new().drop_rate(1.0).times(1));
    let error = client
        .shut_down_vm(&VmOperateParams {
            r#where: named("web-1"),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Dispatch(DispatchError::Transport(_))
        ),
        "{error:?}"
    );
    assert_eq!(tower.request_count("shutdown-vm"), 1);
}

#[tokio::test]
async fn a_locked_resource_says_what_holds_it() {
    let tower = tower().await;
    let client = signed_in(&tower, Duration::from_secs(10)).await;
    tower.set_fault("restart-vm", Fault::new().locked_rate(1.0));
    let error = client
        .restart_vm(&VmOperateParams {
            r#where: named("web-1"),
        })
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(400));
    assert!(error.is_resource_locked(), "{error}");
    assert!(error.locked_resources().is_some_and(|l| !l.is_empty()));
}

/// Beyond the VM slice, the mock answers from the generated table: a label created through the
/// typed client is read back as written.
#[tokio::test]
async fn operations_beyond_the_vm_slice_answer_with_state() {
    let tower = tower().await;
    let client = signed_in(&tower, Duration::from_secs(10)).await;
    let alerts = client
        .get_alerts(&GetAlertsRequestBody::default())
        .await
        .unwrap();
    // The seed's one open alert decodes as the typed client's `Alert`.
    assert_eq!(alerts.len(), 1, "one alert is seeded: {alerts:?}");
    let created = client
        .create_label(&[LabelCreationParams {
            key: "team".into(),
            value: Some("storage".into()),
        }])
        .await
        .unwrap()
        .wait(&client)
        .await
        .unwrap();
    let id = created[0].id.clone();
    let labels = client
        .get_labels(&GetLabelsRequestBody {
            r#where: LabelWhereInput {
                id: id.clone().into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(labels.len(), 1);
    assert_eq!(
        (labels[0].key.as_str(), labels[0].value.as_deref()),
        ("team", Some("storage"))
    );
}

/// The same seed gives the same faults.
#[tokio::test]
async fn faults_are_repeatable_with_a_seed() {
    async fn outcomes(seed: u64) -> Vec<bool> {
        let tower = MockTower::start_with(MockConfig {
            seed,
            ..MockConfig::default()
        })
        .await
        .unwrap();
        let client = Client::builder(tower.url())
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        client
            .sign_in(PasswordLogin::new(MOCK_USERNAME, MOCK_PASSWORD))
            .await
            .unwrap();
        tower.set_fault("get-vms", Fault::new().status_rate(500, 0.5));
        let mut seen = Vec::new();
        for _ in 0..16 {
            seen.push(client.get_vms(&GetVmsRequestBody::default()).await.is_ok());
        }
        seen
    }
    let first = outcomes(7).await;
    assert_eq!(first, outcomes(7).await);
    assert!(first.contains(&true) && first.contains(&false), "{first:?}");
}

#[tokio::test]
async fn pages_follow_the_after_cursor() {
    use futures_util::TryStreamExt;
    let tower = tower().await;
    let client = signed_in(&tower, Duration::from_secs(10)).await;
    let request = GetVmsRequestBody {
        order_by: cloudtower_api::models::VmOrderByInput::NameAsc.into(),
        ..Default::default()
    };
    let names: Vec<String> = client
        .paginate(request)
        .page_size(1)
        .items()
        .map_ok(|vm| vm.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names, ["backup-demo", "db-1", "web-1", "web-2"]);
}

#[tokio::test]
async fn concurrent_callers_share_one_relogin() {
    let tower = tower().await;
    let client = signed_in(&tower, Duration::from_secs(10)).await;
    tower.expire_sessions();
    let results = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for _ in 0..4 {
        let (client, results) = (client.clone(), results.clone());
        handles.push(async move {
            let ok = client.get_vms(&GetVmsRequestBody::default()).await.is_ok();
            results.lock().unwrap().push(ok);
        });
    }
    futures_util::future::join_all(handles).await;
    assert_eq!(*results.lock().unwrap(), vec![true; 4]);
    assert_eq!(
        tower.request_count("login"),
        2,
        "one sign-in, one shared re-login"
    );
}
