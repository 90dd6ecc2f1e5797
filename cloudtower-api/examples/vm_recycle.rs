//! The recycle bin: create a throwaway VM, move it to the recycle bin, recover it, move it
//! there again, and delete it for good.
//!
//! ```sh
//! cargo run -p cloudtower-api --example vm_recycle                # embedded mock tower
//! cargo run -p cloudtower-api --example vm_recycle -- \
//!     --endpoint https://tower.example.com --username admin --password '…'
//! ```

mod common;

use std::process::ExitCode;

use clap::Parser;
use cloudtower_api::models::{
    ByteUnit, VmCreationParams, VmDeleteParams, VmDeleteParamsEffect, VmDiskParams, VmFirmware,
    VmOperateParams, VmStatus, VmWhereInput,
};
use cloudtower_api::{Client, WaitForTasks};
use common::{detail, step, Connection};

#[derive(Parser)]
#[command(about = "Recycle, recover and delete a throwaway VM")]
struct Args {
    #[command(flatten)]
    connection: Connection,
    /// The throwaway VM's name.
    #[arg(long, default_value = "sdk-example-recycle")]
    name: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::run(recycle(args))
}

async fn show(client: &Client, id: &str) -> common::Result {
    match common::reload_vm(client, id).await {
        Ok(vm) => detail(format!(
            "{}: {}, in recycle bin: {}",
            vm.name, vm.status, vm.in_recycle_bin
        )),
        Err(_) => detail("the VM no longer exists"),
    }
    Ok(())
}

async fn recycle(args: Args) -> common::Result {
    let session = common::connect(&args.connection).await?;
    let client = &session.client;
    let wait = || session.wait.clone();

    let cluster = common::find_cluster(client, None).await?;
    step(format!(
        "creating throwaway VM {:?} in {}",
        args.name, cluster.name
    ));
    let vm = client
        .create_vm(&[VmCreationParams {
            memory_unit: Some(ByteUnit::Gb),
            ..VmCreationParams::new(
                VmStatus::Stopped,
                VmFirmware::Bios,
                false,                   // ha
                Vec::new(),              // vm_nics
                VmDiskParams::default(), // vm_disks: none
                1,                       // memory (GiB, memory_unit)
                1,                       // cpu_cores
                1,                       // cpu_sockets
                args.name.clone(),
                cluster.id.clone(),
            )
        }])
        .await?
        .wait_with(client, wait())
        .await?
        .into_iter()
        .next()
        .ok_or("the tower answered with no VM")?;
    show(client, &vm.id).await?;
    let this_vm = || VmWhereInput {
        id: vm.id.clone().into(),
        ..Default::default()
    };

    step("moving it to the recycle bin");
    client
        .move_vm_to_recycle_bin(&VmOperateParams { r#where: this_vm() })
        .await?
        .wait_with(client, wait())
        .await?;
    show(client, &vm.id).await?;

    step("recovering it");
    client
        .recover_vm_from_recycle_bin(&VmOperateParams { r#where: this_vm() })
        .await?
        .wait_with(client, wait())
        .await?;
    show(client, &vm.id).await?;

    step("recycling it again, then deleting it with its snapshots");
    client
        .move_vm_to_recycle_bin(&VmOperateParams { r#where: this_vm() })
        .await?
        .wait_with(client, wait())
        .await?;
    client
        .delete_vm(&VmDeleteParams {
            r#where: this_vm(),
            effect: Some(VmDeleteParamsEffect {
                include_snapshots: Some(true),
            }),
        })
        .await?
        .wait_with(client, wait())
        .await?;
    show(client, &vm.id).await?;
    Ok(())
}
