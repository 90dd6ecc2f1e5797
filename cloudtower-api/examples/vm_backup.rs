//! The CloudTower API guide's VM backup flow: log in, find a VM by name, snapshot it
//! file-system consistently, wait for the task, then look up the LUN snapshots behind the
//! snapshot's disks.
//!
//! `cargo run --example vm_backup -- https://tower.example.com admin password vm-name`

use cloudtower_api::models::{
    ConsistentType, GetIscsiLunSnapshotsRequestBody, GetVmSnapshotsRequestBody, GetVmsRequestBody,
    IscsiLunSnapshotWhereInput, VmDiskType, VmSnapshotCreationParams, VmSnapshotCreationParamsData,
    VmSnapshotWhereInput, VmWhereInput,
};
use cloudtower_api::{Client, PasswordLogin, WaitForTasks};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, username, password, vm_name] = args.as_slice() else {
        return Err("usage: vm_backup ENDPOINT USERNAME PASSWORD VM_NAME".into());
    };

    let client = Client::new(endpoint)?;
    client
        .sign_in(PasswordLogin::new(username, password.as_str()))
        .await?;

    let vm_filter = VmWhereInput {
        name: vm_name.clone().into(),
        ..Default::default()
    };
    let vms = client
        .get_vms(&GetVmsRequestBody {
            r#where: vm_filter.into(),
            ..Default::default()
        })
        .await?;
    let vm = vms.first().ok_or("no VM has that name")?;

    let params = VmSnapshotCreationParams {
        data: vec![VmSnapshotCreationParamsData {
            vm_id: vm.id.clone(),
            name: format!("{}-backup", vm.name),
            consistent_type: Some(ConsistentType::FileSystemConsistent),
        }],
    };
    // Waits for the snapshot task; only the id is stable while it runs, so read it again.
    let created = client
        .create_vm_snapshot(&params)
        .await?
        .wait(&client)
        .await?;
    let snapshot_filter = VmSnapshotWhereInput {
        id: created[0].id.clone().into(),
        ..Default::default()
    };
    let snapshots = client
        .get_vm_snapshots(&GetVmSnapshotsRequestBody {
            r#where: snapshot_filter.into(),
            ..Default::default()
        })
        .await?;
    let snapshot = snapshots.first().ok_or("the snapshot vanished")?;

    let lun_snapshot_names: Vec<String> = snapshot
        .vm_disks
        .iter()
        .flatten()
        .filter(|disk| disk.r#type == VmDiskType::Disk)
        .filter_map(|disk| disk.snapshot_local_id.clone())
        .collect();
    let lun_filter = IscsiLunSnapshotWhereInput {
        name_in: lun_snapshot_names.into(),
        ..Default::default()
    };
    let lun_snapshots = client
        .get_iscsi_lun_snapshots(&GetIscsiLunSnapshotsRequestBody {
            r#where: lun_filter.into(),
            ..Default::default()
        })
        .await?;
    for lun_snapshot in lun_snapshots {
        println!("{} {}", lun_snapshot.id, lun_snapshot.name);
    }
    Ok(())
}
