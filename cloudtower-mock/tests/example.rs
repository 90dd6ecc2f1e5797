//! How to use cloudtower-mock in your own tests: start a tower, point a client at it, run
//! your code, and check what it did.

use cloudtower_api::error::{ErrorKind, WorkflowError};
use std::time::Duration;

use cloudtower_api::models::{
    ConsistentType, GetIscsiLunSnapshotsRequestBody, GetVmsConnectionRequestBody,
    GetVmsRequestBody, IscsiLunSnapshotWhereInput, VmOperateParams, VmSnapshotCreationParams,
    VmSnapshotCreationParamsData, VmStatus, VmWhereInput,
};
use cloudtower_api::{Client, PasswordLogin, WaitForTasks, WaitOptions};
use cloudtower_mock::{Fault, MockConfig, MockTower, TaskOutcome, MOCK_PASSWORD, MOCK_USERNAME};

fn fast_waits() -> WaitOptions {
    WaitOptions {
        interval: Duration::from_millis(20),
        backoff: 1.0,
        timeout: Duration::from_secs(10),
        ..Default::default()
    }
}

async fn signed_in(tower: &MockTower) -> Client {
    let client = Client::new(&tower.url()).unwrap();
    client
        .sign_in(PasswordLogin::new(MOCK_USERNAME, MOCK_PASSWORD))
        .await
        .unwrap();
    client
}

fn by_name(name: &str) -> VmWhereInput {
    VmWhereInput {
        name: name.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn shutting_down_a_vm_changes_its_status_once_the_task_succeeds() {
    let tower = MockTower::start_with(MockConfig {
        task_duration: Duration::from_millis(50),
        ..Default::default()
    })
    .await
    .unwrap();
    let client = signed_in(&tower).await;

    let answer = client
        .shut_down_vm(&VmOperateParams {
            r#where: by_name("web-1"),
        })
        .await
        .unwrap();
    assert_eq!(answer.len(), 1);
    answer.wait_with(&client, fast_waits()).await.unwrap();

    let vms = client
        .get_vms(&GetVmsRequestBody {
            r#where: by_name("web-1").into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(vms[0].status, VmStatus::Stopped);
    let running = client
        .get_vms_connection(&GetVmsConnectionRequestBody {
            r#where: VmWhereInput {
                status: VmStatus::Running.into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(running.aggregate.count, 2, "backup-demo and db-1 still run");
    tower.shutdown().await;
}

#[tokio::test]
async fn a_snapshot_is_backed_by_one_lun_snapshot_per_disk() {
    let tower = MockTower::start().await.unwrap();
    tower.set_task_duration(Duration::ZERO);
    let client = signed_in(&tower).await;
    let vm = client
        .get_vms(&GetVmsRequestBody {
            r#where: by_name("db-1").into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .remove(0);
    let snapshot = client
        .create_vm_snapshot(&VmSnapshotCreationParams {
            data: vec![VmSnapshotCreationParamsData {
                vm_id: vm.id.clone(),
                name: "nightly".into(),
                consistent_type: Some(ConsistentType::FileSystemConsistent),
            }],
        })
        .await
        .unwrap()
        .wait_with(&client, fast_waits())
        .await
        .unwrap()
        .remove(0);
    let names: Vec<String> = snapshot
        .vm_disks
        .unwrap_or_default()
        .into_iter()
        .filter_map(|d| d.snapshot_local_id)
        .collect();
    assert_eq!(names.len(), 3, "db-1 has three disks");
    let luns = client
        .get_iscsi_lun_snapshots(&GetIscsiLunSnapshotsRequestBody {
            r#where: IscsiLunSnapshotWhereInput {
                name_in: names.clone().into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(luns.len(), 3);
    assert!(luns
        .iter()
        .all(|l| names.contains(&l.name) && !l.local_id.is_empty()));
}

#[tokio::test]
async fn injected_faults_reach_the_client() {
    let tower = MockTower::start().await.unwrap();
    tower.set_task_duration(Duration::ZERO);
    let client = signed_in(&tower).await;

    // A failing task: the error says which task, and the VM keeps running.
    tower.set_fault("shutdown-vm", Fault::new().task(TaskOutcome::Fail));
    let error = client
        .shut_down_vm(&VmOperateParams {
            r#where: by_name("db-1"),
        })
        .await
        .unwrap()
        .wait_with(&client, fast_waits())
        .await
        .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Workflow(WorkflowError::Task(_))),
        "{error}"
    );

    // A locked resource.
    tower.set_fault("start-vm", Fault::new().locked_rate(1.0).times(1));
    let error = client
        .start_vm(&cloudtower_api::models::VmStartParams {
            r#where: by_name("web-2"),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(error.is_resource_locked(), "{error}");
    assert!(error.locked_resources().is_some());
}
