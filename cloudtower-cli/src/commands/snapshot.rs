//! `cloudtower vm snapshot KEY…`: snapshot VMs (`create-vm-snapshot`), each named and made
//! consistent as the flags say or by default.

use clap::{ArgMatches, Command};
use cloudtower_schema::{OperationSchema, ResourceSchema};
use serde_json::json;

use super::args::{self, SnapshotNaming};
use crate::call;
use crate::context::Context;
use crate::failure::Result;
use crate::selection::resolve_all;

pub const NAME: &str = "snapshot";

pub fn command(module: &str, resource: &ResourceSchema) -> Command {
    Command::new(NAME)
        .about("Snapshot VMs (create-vm-snapshot)")
        .after_help(format!(
            "Examples:\n  cloudtower {module} snapshot NAME --name before-upgrade\n  \
             cloudtower {module} snapshot NAME OTHER-NAME --no-wait"
        ))
        .arg(args::keys_arg(resource, true))
        .args(args::snapshot_args())
}

pub struct Options {
    pub keys: Vec<String>,
    pub naming: SnapshotNaming,
}

impl Options {
    pub fn from_matches(matches: &ArgMatches) -> Options {
        Options {
            keys: args::keys(matches),
            naming: SnapshotNaming::from_matches(matches),
        }
    }
}

pub async fn run(
    context: &mut Context,
    resource: &'static ResourceSchema,
    create_snapshot: &'static OperationSchema,
    options: Options,
) -> Result<()> {
    let vms = resolve_all(context, resource, &options.keys).await?;
    let data: Vec<_> = vms.iter().map(|vm| options.naming.params(vm)).collect();
    call::mutate(context, create_snapshot, json!({ "data": data })).await
}
