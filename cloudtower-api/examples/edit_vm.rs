//! Editing a VM: add a disk, a NIC and a CD-ROM, remove them again, then migrate the VM to
//! another host.
//!
//! ```sh
//! cargo run -p cloudtower-api --example edit_vm                 # embedded mock tower
//! cargo run -p cloudtower-api --example edit_vm -- --vm test-vm \
//!     --endpoint https://tower.example.com --username admin --password '…'
//! ```

mod common;

use std::process::ExitCode;

use clap::Parser;
use cloudtower_api::models::{
    Bus, ByteUnit, ClusterWhereInput, GetHostsRequestBody, GetVmDisksRequestBody,
    GetVmNicsRequestBody, HostWhereInput, MountNewCreateDisksParams,
    MountNewCreateDisksParamsVmVolume, VmAddCdRomParams, VmAddCdRomParamsData, VmAddDiskParams,
    VmAddDiskParamsData, VmAddDiskParamsDataVmDisks, VmAddNicParams, VmAddNicParamsData,
    VmCdRomParams, VmDisk, VmDiskType, VmDiskWhereInput, VmMigrateParams, VmMigrateParamsData,
    VmNic, VmNicParams, VmNicWhereInput, VmRemoveCdRomParams, VmRemoveCdRomParamsData,
    VmRemoveDiskParams, VmRemoveDiskParamsData, VmRemoveNicByWhereParams,
    VmRemoveNicByWhereParamsEffect, VmVolumeElfStoragePolicyType, VmWhereInput,
};
use cloudtower_api::{Client, WaitForTasks};
use common::{detail, step, Connection};

#[derive(Parser)]
#[command(about = "Add and remove a disk, a NIC and a CD-ROM; migrate a VM")]
struct Args {
    #[command(flatten)]
    connection: Connection,
    /// The VM to edit.
    #[arg(long, default_value = "web-2")]
    vm: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::run(edit(args))
}

fn this_vm(id: &str) -> VmWhereInput {
    VmWhereInput {
        id: id.into(),
        ..Default::default()
    }
}

async fn disks(client: &Client, vm_id: &str) -> common::Result<Vec<VmDisk>> {
    Ok(client
        .get_vm_disks(&GetVmDisksRequestBody {
            r#where: VmDiskWhereInput {
                vm: this_vm(vm_id).into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
        .await?)
}

async fn nics(client: &Client, vm_id: &str) -> common::Result<Vec<VmNic>> {
    Ok(client
        .get_vm_nics(&GetVmNicsRequestBody {
            r#where: VmNicWhereInput {
                vm: this_vm(vm_id).into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
        .await?)
}

async fn show(client: &Client, vm_id: &str) -> common::Result {
    let disks = disks(client, vm_id).await?;
    let nics = nics(client, vm_id).await?;
    let count = |t: VmDiskType| disks.iter().filter(|d| d.r#type == t).count();
    detail(format!(
        "{} disk(s), {} CD-ROM(s), {} NIC(s)",
        count(VmDiskType::Disk),
        count(VmDiskType::CdRom),
        nics.len()
    ));
    Ok(())
}

async fn edit(args: Args) -> common::Result {
    let session = common::connect(&args.connection).await?;
    let client = &session.client;
    let wait = || session.wait.clone();

    step(format!("finding VM {:?}", args.vm));
    let vm = common::find_vm(client, &args.vm).await?;
    detail(format!(
        "{} ({}) on {}",
        vm.name,
        vm.id,
        vm.host.as_ref().map_or("no host", |h| h.name.as_str())
    ));
    show(client, &vm.id).await?;
    let before: Vec<String> = disks(client, &vm.id)
        .await?
        .into_iter()
        .map(|d| d.id)
        .collect();

    step("adding a new 10 GiB disk");
    client
        .add_vm_disk(&VmAddDiskParams {
            r#where: this_vm(&vm.id),
            data: VmAddDiskParamsData {
                vm_disks: VmAddDiskParamsDataVmDisks {
                    mount_new_create_disks: Some(vec![MountNewCreateDisksParams {
                        boot: before.len() as i32,
                        bus: Bus::Virtio,
                        vm_volume: MountNewCreateDisksParamsVmVolume {
                            name: format!("{}-extra", vm.name),
                            size: 10,
                            size_unit: Some(ByteUnit::Gb),
                            // 4.8.0 deprecates `elf_storage_policy` for this field (and
                            // `elf_ec_storage_policy` for erasure coding).
                            elf_replica_storage_policy: Some(
                                VmVolumeElfStoragePolicyType::Replica2ThinProvision,
                            ),
                            ..Default::default()
                        },
                        ..Default::default()
                    }]),
                    ..Default::default()
                },
                ..Default::default()
            },
        })
        .await?
        .wait_with(client, wait())
        .await?;
    show(client, &vm.id).await?;

    step("adding a NIC on the VM network");
    let vlan = common::find_vm_network(client).await?;
    client
        .add_vm_nic(&VmAddNicParams {
            r#where: this_vm(&vm.id),
            data: VmAddNicParamsData {
                vm_nics: vec![VmNicParams {
                    connect_vlan_id: Some(vlan.id.clone()),
                    ..Default::default()
                }],
            },
        })
        .await?
        .wait_with(client, wait())
        .await?;
    show(client, &vm.id).await?;

    step("adding an empty CD-ROM");
    let added = client
        .add_vm_cd_rom(&VmAddCdRomParams {
            r#where: this_vm(&vm.id),
            data: VmAddCdRomParamsData {
                vm_cd_roms: vec![VmCdRomParams {
                    boot: before.len() as i32 + 1,
                    ..Default::default()
                }],
            },
        })
        .await?;
    // `None`: the tower answered 304 Not Modified (nothing to do).
    if let Some(tasks) = added {
        tasks.wait_with(client, wait()).await?;
    }
    show(client, &vm.id).await?;

    let added: Vec<VmDisk> = disks(client, &vm.id)
        .await?
        .into_iter()
        .filter(|d| !before.contains(&d.id))
        .collect();
    let new_disks: Vec<String> = added
        .iter()
        .filter(|d| d.r#type == VmDiskType::Disk)
        .map(|d| d.id.clone())
        .collect();
    let new_cd_roms: Vec<String> = added
        .iter()
        .filter(|d| d.r#type == VmDiskType::CdRom)
        .map(|d| d.id.clone())
        .collect();

    step("removing the new disk (its volume stays)");
    client
        .remove_vm_disk(&VmRemoveDiskParams {
            r#where: this_vm(&vm.id),
            data: VmRemoveDiskParamsData {
                disk_ids: new_disks,
            },
        })
        .await?
        .wait_with(client, wait())
        .await?;
    show(client, &vm.id).await?;

    step("removing the new NIC (by a filter on the VM's NICs)");
    let last_nic = nics(client, &vm.id)
        .await?
        .into_iter()
        .max_by_key(|n| n.order)
        .ok_or("the VM has no NIC")?;
    client
        .remove_vm_nic_by_where(&VmRemoveNicByWhereParams {
            r#where: VmNicWhereInput {
                id: last_nic.id.clone().into(),
                ..Default::default()
            },
            effect: VmRemoveNicByWhereParamsEffect {
                vm_ids: Some(vec![vm.id.clone()]),
            },
        })
        .await?
        .wait_with(client, wait())
        .await?;
    show(client, &vm.id).await?;

    step("removing the new CD-ROM");
    client
        .remove_vm_cd_rom(&VmRemoveCdRomParams {
            r#where: this_vm(&vm.id),
            data: VmRemoveCdRomParamsData {
                cd_rom_ids: new_cd_roms,
            },
        })
        .await?
        .wait_with(client, wait())
        .await?;
    show(client, &vm.id).await?;

    let cluster_id = vm
        .cluster
        .as_ref()
        .map(|c| c.id.clone())
        .unwrap_or_default();
    let current_host = vm.host.as_ref().map(|h| h.id.clone());
    let target = client
        .get_hosts(&GetHostsRequestBody {
            r#where: HostWhereInput {
                cluster: ClusterWhereInput {
                    id: cluster_id.into(),
                    ..Default::default()
                }
                .into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
        .await?
        .into_iter()
        .find(|h| Some(&h.id) != current_host.as_ref())
        .ok_or("the cluster has no other host to migrate to")?;
    step(format!("migrating the VM to host {}", target.name));
    client
        .migrate_vm(&VmMigrateParams {
            r#where: this_vm(&vm.id),
            data: Some(VmMigrateParamsData {
                host_id: target.id.clone(),
            }),
        })
        .await?
        .wait_with(client, wait())
        .await?;
    let vm = common::reload_vm(client, &vm.id).await?;
    detail(format!(
        "{} now runs on {}",
        vm.name,
        vm.host.as_ref().map_or("no host", |h| h.name.as_str())
    ));
    Ok(())
}
