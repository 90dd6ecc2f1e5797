//! The CloudTower API guide's VM backup walk-through: find a VM by name, snapshot it
//! (file-system consistent when VMTools run in it, crash consistent otherwise), wait for the
//! task, read the snapshot's disks, and look up the iSCSI LUN snapshots behind them: each
//! one's `local_id` is the ZBS identifier a backup tool reads the disk's data from.
//!
//! ```sh
//! cargo run -p cloudtower-api --example vm_backup                      # embedded mock tower
//! cargo run -p cloudtower-api --example vm_backup -- --vm web-1 \
//!     --endpoint https://tower.example.com --username admin --password '…'
//! ```

mod common;

use std::process::ExitCode;

use clap::Parser;
use cloudtower_api::models::{
    ConsistentType, GetIscsiLunSnapshotsRequestBody, IscsiLunSnapshotWhereInput, VmDiskType,
    VmSnapshotCreationParams, VmSnapshotCreationParamsData, VmToolsStatus,
};
use cloudtower_api::WaitForTasks;
use common::{detail, step, Connection};

#[derive(Parser)]
#[command(about = "Snapshot a VM and list the LUN snapshots a backup tool reads")]
struct Args {
    #[command(flatten)]
    connection: Connection,
    /// The VM to back up.
    #[arg(long, default_value = "backup-demo")]
    vm: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::run(backup(args))
}

async fn backup(args: Args) -> common::Result {
    let session = common::connect(&args.connection).await?;
    let client = &session.client;

    step(format!("finding VM {:?}", args.vm));
    let vm = common::find_vm(client, &args.vm).await?;
    detail(format!(
        "{} ({}), {}, VMTools {}",
        vm.name, vm.id, vm.status, vm.vm_tools_status
    ));

    let consistent_type = if vm.vm_tools_status == VmToolsStatus::Running {
        ConsistentType::FileSystemConsistent
    } else {
        ConsistentType::CrashConsistent
    };
    let name = format!("{}-backup-{}", vm.name, std::process::id());
    step(format!("creating snapshot {name:?} ({consistent_type})"));
    let created = client
        .create_vm_snapshot(&VmSnapshotCreationParams {
            data: vec![VmSnapshotCreationParamsData {
                consistent_type: Some(consistent_type),
                ..VmSnapshotCreationParamsData::new(name, vm.id.clone())
            }],
        })
        .await?;
    let task_id = created.first().and_then(|c| c.task_id.clone());
    detail(format!("task {}", task_id.as_deref().unwrap_or("(none)")));

    step("waiting for the snapshot task");
    let created = created.wait_with(client, session.wait.clone()).await?;
    let snapshot_id = created
        .first()
        .map(|s| s.id.clone())
        .ok_or("the tower answered with no snapshot")?;

    // Only the id is stable while a task runs: read the snapshot as it is now.
    step(format!("reading snapshot {snapshot_id}"));
    let snapshot = client
        .reread(&created)
        .await?
        .into_iter()
        .next()
        .ok_or("the snapshot is gone")?;
    let disks: Vec<_> = snapshot
        .vm_disks
        .iter()
        .flatten()
        .filter(|disk| disk.r#type == VmDiskType::Disk)
        .collect();
    for disk in &disks {
        detail(format!(
            "disk {} ({}): snapshot_local_id {}",
            disk.index,
            disk.disk_name.as_deref().unwrap_or("unnamed"),
            disk.snapshot_local_id.as_deref().unwrap_or("(none)")
        ));
    }
    let names: Vec<String> = disks
        .iter()
        .filter_map(|disk| disk.snapshot_local_id.clone())
        .collect();

    step(format!(
        "looking up {} LUN snapshot(s) by name",
        names.len()
    ));
    let lun_snapshots = client
        .get_iscsi_lun_snapshots(&GetIscsiLunSnapshotsRequestBody {
            r#where: IscsiLunSnapshotWhereInput {
                name_in: names.clone().into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
        .await?;
    if lun_snapshots.len() != names.len() {
        return Err(format!(
            "expected {} LUN snapshots, found {}",
            names.len(),
            lun_snapshots.len()
        )
        .into());
    }
    for lun_snapshot in &lun_snapshots {
        detail(format!(
            "LUN snapshot {} -> local_id {}",
            lun_snapshot.name, lun_snapshot.local_id
        ));
    }
    step(format!(
        "backup tool input: {}",
        lun_snapshots
            .iter()
            .map(|l| l.local_id.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    ));
    Ok(())
}
