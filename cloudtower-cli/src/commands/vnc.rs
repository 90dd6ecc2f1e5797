//! `cloudtower vm vnc KEY…`: the noVNC console URL of VMs (the SDK's `vnc` helper; compiled
//! only where the regenerated crate has it, `cloudtower_api::cfg_vnc_helper!`).

use clap::{ArgMatches, Command};
use cloudtower_schema::ResourceSchema;
use serde_json::{json, Value};

use super::args;
use crate::context::Context;
use crate::failure::Result;
use crate::selection::resolve_all;

pub const NAME: &str = "vnc";

/// VMs have consoles.
pub fn offered(resource: &ResourceSchema) -> bool {
    resource.name == "Vm"
}

pub fn command(module: &str, resource: &'static ResourceSchema) -> Command {
    Command::new(NAME)
        .about("The noVNC console URL of a VM (get-vm-vnc-info)")
        .after_help(format!(
            "Examples:\n  cloudtower {module} vnc NAME\n  \
             cloudtower {module} vnc NAME OTHER-NAME -o json"
        ))
        .arg(args::keys_arg(resource, true))
}

pub struct Options {
    pub keys: Vec<String>,
}

impl Options {
    pub fn from_matches(matches: &ArgMatches) -> Options {
        Options {
            keys: args::keys(matches),
        }
    }
}

pub async fn run(
    context: &mut Context,
    resource: &'static ResourceSchema,
    options: Options,
) -> Result<()> {
    let vms = resolve_all(context, resource, &options.keys).await?;
    let client = context.client().await?;
    let mut consoles = Vec::new();
    for vm in &vms {
        let unique = cloudtower_api::models::VmWhereUniqueInput {
            id: vm.id().to_owned().into(),
            ..Default::default()
        };
        let console = client
            .vm_vnc_console(unique)
            .await
            .map_err(|e| context.failure(e))?;
        consoles.push(json!({ "id": vm.id(), "url": console.url, "direct_url": console.direct_url }));
    }
    match &context.format {
        Some(format) => {
            let format = format.clone();
            context
                .printer
                .print(&Value::Array(consoles), &format, None)
        }
        None => {
            for console in consoles {
                context
                    .printer
                    .line(console["url"].as_str().unwrap_or_default())?;
            }
            Ok(())
        }
    }
}
