//! `cloudtower <module> get KEY…`: resources by id, local id or exact name.

use clap::{ArgMatches, Command};
use cloudtower_schema::ResourceSchema;
use serde_json::Value;

use super::args;
use crate::context::Context;
use crate::failure::Result;
use crate::output::Format;
use crate::selection::resolve_all;

pub const NAME: &str = "get";

pub fn command(module: &str, resource: &ResourceSchema) -> Command {
    Command::new(NAME)
        .about(format!("Show {}s by id, local id or name", resource.name))
        .after_help(format!("Examples:\n  cloudtower {module} get NAME -o yaml"))
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
    let items = resolve_all(context, resource, &options.keys).await?;
    let format = context.format_or(Format::Table);
    let value = Value::Array(items.into_iter().map(|item| item.0).collect());
    context.printer.print(&value, &format, Some(&resource.name))
}
