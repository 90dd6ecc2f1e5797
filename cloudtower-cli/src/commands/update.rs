//! `cloudtower <module> update KEY…|--where …`: change the resources selected with
//! `--set KEY=VALUE` and `--data` (the update operation's `data`).

use clap::{ArgMatches, Command};
use cloudtower_schema::{OperationSchema, ResourceSchema};
use serde_json::json;

use super::args::{self, Selection, Setting};
use crate::call;
use crate::context::Context;
use crate::failure::Result;

pub const NAME: &str = "update";

/// The update operation of a resource, as the verb catalogue found it.
pub struct Update {
    pub operation: &'static OperationSchema,
    /// The type of its `data`, which `--set` and `--data` give.
    pub set_type: Option<&'static str>,
}

pub fn command(module: &str, resource: &ResourceSchema, update: &Update) -> Command {
    let command = Command::new(NAME)
        .about(format!(
            "Change {}s ({})",
            resource.name, update.operation.path
        ))
        .after_help(format!(
            "Examples:\n  cloudtower {module} update NAME --set name=NEW-NAME"
        ))
        .args(Selection::args(resource));
    match update.set_type {
        Some(set_type) => command.args(args::set_args(set_type)),
        None => command,
    }
}

pub struct Options {
    pub selection: Selection,
    pub setting: Option<Setting>,
}

impl Options {
    pub fn from_matches(update: &Update, matches: &ArgMatches) -> Options {
        Options {
            selection: Selection::from_matches(matches),
            setting: update.set_type.map(|_| Setting::from_matches(matches)),
        }
    }
}

pub async fn run(
    context: &mut Context,
    resource: &'static ResourceSchema,
    update: &Update,
    options: Options,
) -> Result<()> {
    let selection = options.selection.value(context, resource).await?;
    let mut body = json!({ "where": selection });
    if let (Some(setting), Some(set_type)) = (&options.setting, update.set_type) {
        body["data"] = setting.object(set_type)?;
    }
    call::mutate(context, update.operation, body).await
}
