//! A VM's console: the noVNC websocket URL from `get-vm-vnc-info`
//! (`wss://TOWER/websockify/?uuid=…&token=…&host=…`).
//!
//! ```sh
//! cargo run -p cloudtower-api --example vnc                  # embedded mock tower
//! cargo run -p cloudtower-api --example vnc -- --vm web-1 \
//!     --endpoint https://tower.example.com --username admin --password '…'
//! ```

mod common;

use std::process::ExitCode;

use clap::Parser;
use cloudtower_api::models::VmWhereUniqueInput;
use common::{detail, step, Connection};

#[derive(Parser)]
#[command(about = "Print the websocket URL of a VM's console")]
struct Args {
    #[command(flatten)]
    connection: Connection,
    /// The VM.
    #[arg(long, default_value = "web-1")]
    vm: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::run(vnc(args))
}

async fn vnc(args: Args) -> common::Result {
    let session = common::connect(&args.connection).await?;
    let client = &session.client;

    step(format!("finding VM {:?}", args.vm));
    let vm = common::find_vm(client, &args.vm).await?;
    detail(format!("{} ({}), local id {}", vm.name, vm.id, vm.local_id));

    step("asking the tower for console credentials (get-vm-vnc-info)");
    let console = client
        .vm_vnc_console(VmWhereUniqueInput {
            id: vm.id.clone().into(),
            ..Default::default()
        })
        .await?;
    detail(format!("cluster {}", console.info.cluster_ip));
    step("console through the tower (open with noVNC):");
    println!("{}", console.url);
    if let Some(direct) = &console.direct_url {
        step("console straight to the cluster, where it is reachable:");
        println!("{direct}");
    }
    Ok(())
}
