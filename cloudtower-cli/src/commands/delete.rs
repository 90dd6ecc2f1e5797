//! `cloudtower <module> delete KEY…|--where …`: delete the resources selected.

use clap::{ArgMatches, Command};
use cloudtower_schema::{OperationSchema, ResourceSchema};
use serde_json::json;

use super::args::Selection;
use crate::call;
use crate::context::Context;
use crate::failure::Result;

pub const NAME: &str = "delete";

pub fn command(module: &str, resource: &ResourceSchema, delete: &OperationSchema) -> Command {
    Command::new(NAME)
        .about(format!("Delete {}s ({})", resource.name, delete.path))
        .after_help(format!(
            "Examples:\n  cloudtower {module} delete NAME OTHER-NAME"
        ))
        .args(Selection::args(resource))
}

pub struct Options {
    pub selection: Selection,
}

impl Options {
    pub fn from_matches(matches: &ArgMatches) -> Options {
        Options {
            selection: Selection::from_matches(matches),
        }
    }
}

pub async fn run(
    context: &mut Context,
    resource: &'static ResourceSchema,
    delete: &'static OperationSchema,
    options: Options,
) -> Result<()> {
    let selection = options.selection.value(context, resource).await?;
    call::mutate(context, delete, json!({ "where": selection })).await
}
