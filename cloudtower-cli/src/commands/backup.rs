//! `cloudtower vm backup KEY…`: the guide's backup walk-through: snapshot the VM, wait, read
//! the snapshot's disks, and find the iSCSI LUN snapshots behind them (their `local_id` is
//! what a backup tool reads).

use clap::{ArgMatches, Command};
use cloudtower_api::Client;
use cloudtower_schema::{OperationSchema, ResourceSchema};
use serde_json::{json, Value};

use super::args::{self, SnapshotNaming};
use crate::call;
use crate::context::Context;
use crate::dynamic::{DynList, DynResource};
use crate::failure::{Failure, Result};
use crate::output::Format;
use crate::schema::api;
use crate::selection::resolve_all;

pub const NAME: &str = "backup";

/// What the walk-through needs: the snapshot operation and the LUN snapshots' resource.
pub struct Backup {
    pub create_snapshot: &'static OperationSchema,
    pub luns: &'static ResourceSchema,
}

pub fn command(module: &str, resource: &ResourceSchema) -> Command {
    Command::new(NAME)
        .about(
            "The guide's backup walk-through: snapshot a VM and list the LUN snapshots a \
             backup tool reads",
        )
        .after_help(format!(
            "Examples:\n  cloudtower {module} backup NAME --name nightly\n  \
             cloudtower {module} backup NAME -o json"
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
    vms: &'static ResourceSchema,
    backup: &Backup,
    options: Options,
) -> Result<()> {
    let vm_list = resolve_all(context, vms, &options.keys).await?;
    let data: Vec<Value> = vm_list.iter().map(|vm| options.naming.params(vm)).collect();
    let answer = call::send_checked(context, backup.create_snapshot, json!({ "data": data }))
        .await?
        .unwrap_or_default();
    let ids = call::task_ids(&answer);
    call::wait(context, &ids).await?;
    let snapshot_ids: Vec<Value> = answer
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item.pointer("/data/id").cloned())
        .collect();
    let snapshots = api().resource("VmSnapshot").ok_or_else(|| {
        Failure::Other("this spec lists no VM snapshots (get-vm-snapshots)".into())
    })?;
    let client = context.client().await?;
    let snapshots = list_where(&client, snapshots, json!({ "id_in": snapshot_ids }))
        .await
        .map_err(|error| context.failure(error))?;
    let names: Vec<Value> = snapshots
        .iter()
        .flat_map(|snapshot| {
            snapshot
                .get("vm_disks")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter(|disk| disk.get("type").and_then(Value::as_str) == Some("DISK"))
        .filter_map(|disk| {
            disk.get("snapshot_local_id")
                .filter(|id| id.is_string())
                .cloned()
        })
        .collect();
    let luns = backup.luns;
    let found = list_where(&client, luns, json!({ "name_in": names }))
        .await
        .map_err(|error| context.failure(error))?;
    if found.len() != names.len() {
        return Err(Failure::Other(format!(
            "the snapshot has {} disk snapshot(s) but the tower lists {} LUN snapshot(s) for them",
            names.len(),
            found.len()
        )));
    }
    let format = context.format_or(Format::Table);
    context
        .printer
        .print(&Value::Array(found), &format, Some(&luns.name))
}

/// The resources of `resource` matching `filter`, every page.
async fn list_where(
    client: &Client,
    resource: &'static ResourceSchema,
    filter: Value,
) -> std::result::Result<Vec<Value>, cloudtower_api::Error> {
    let list = DynList::new(Some(filter));
    let items = client
        .paginate_with(&DynResource::new(resource), list)
        .collect()
        .await?;
    Ok(items.into_iter().map(|item| item.0).collect())
}
