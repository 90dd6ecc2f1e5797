//! Powering VMs in batches: one request starts, restarts or shuts down every VM whose id is
//! in a list (`id_in`), and one `get-tasks` poll follows all their tasks.
//!
//! ```sh
//! cargo run -p cloudtower-api --example vm_power                 # embedded mock tower
//! cargo run -p cloudtower-api --example vm_power -- --vms web-1,web-2 \
//!     --endpoint https://tower.example.com --username admin --password '…'
//! ```

mod common;

use std::process::ExitCode;

use clap::Parser;
use cloudtower_api::models::{
    GetVmsRequestBody, VmOperateParams, VmStartParams, VmStatus, VmWhereInput,
};
use cloudtower_api::{Client, WaitForTasks};
use common::{detail, step, Connection};

#[derive(Parser)]
#[command(about = "Start, restart and shut down VMs in batches")]
struct Args {
    #[command(flatten)]
    connection: Connection,
    /// The VMs, by name, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "web-1,web-2")]
    vms: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::run(power(args))
}

async fn show(client: &Client, ids: &[String]) -> common::Result {
    let vms = client
        .get_vms(&GetVmsRequestBody {
            r#where: common::vms_with_ids(ids).into(),
            ..Default::default()
        })
        .await?;
    for vm in vms {
        detail(format!("{:<12} {}", vm.name, vm.status));
    }
    Ok(())
}

async fn power(args: Args) -> common::Result {
    let session = common::connect(&args.connection).await?;
    let client = &session.client;

    step(format!("finding VMs {}", args.vms.join(", ")));
    let vms = client
        .get_vms(&GetVmsRequestBody {
            r#where: VmWhereInput {
                name_in: args.vms.clone().into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
        .await?;
    if vms.len() != args.vms.len() {
        return Err(format!("found {} of {} VMs", vms.len(), args.vms.len()).into());
    }
    let ids: Vec<String> = vms.iter().map(|vm| vm.id.clone()).collect();
    show(client, &ids).await?;

    let stopped: Vec<String> = vms
        .iter()
        .filter(|vm| vm.status == VmStatus::Stopped)
        .map(|vm| vm.id.clone())
        .collect();
    if !stopped.is_empty() {
        step(format!(
            "starting {} stopped VM(s) in one request",
            stopped.len()
        ));
        let tasks = client
            .start_vm(&VmStartParams {
                r#where: common::vms_with_ids(&stopped),
                ..Default::default()
            })
            .await?;
        tasks.wait_with(client, session.wait.clone()).await?;
        show(client, &ids).await?;
    }

    step(format!("restarting {} VM(s)", ids.len()));
    let tasks = client
        .restart_vm(&VmOperateParams {
            r#where: common::vms_with_ids(&ids),
        })
        .await?;
    tasks.wait_with(client, session.wait.clone()).await?;
    show(client, &ids).await?;

    step(format!("shutting down {} VM(s)", ids.len()));
    let tasks = client
        .shut_down_vm(&VmOperateParams {
            r#where: common::vms_with_ids(&ids),
        })
        .await?;
    tasks.wait_with(client, session.wait.clone()).await?;
    show(client, &ids).await?;
    Ok(())
}
