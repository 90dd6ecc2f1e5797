//! `cloudtower <module> <action> KEY…|--where …`: the generic verbs, one per operation
//! `<action>-<resource>` that takes the resource's selection (`{where, data?}`): `start`,
//! `shutdown`, `force-restart`, …

use clap::{ArgMatches, Command};
use cloudtower_schema::{OperationSchema, ResourceSchema};
use serde_json::json;

use super::args::{self, Selection, Setting};
use crate::call;
use crate::context::Context;
use crate::failure::Result;

/// An action of a resource, as the verb catalogue found it.
pub struct Act {
    /// The verb (`force-restart` of `force-restart-vm`).
    pub name: String,
    pub operation: &'static OperationSchema,
    /// The type of its `data`, when it takes one.
    pub set_type: Option<&'static str>,
}

/// `force-restart` → `Force restart`.
fn sentence(verb: &str) -> String {
    let words = verb.replace('-', " ");
    let mut chars = words.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub fn command(module: &str, resource: &ResourceSchema, act: &Act) -> Command {
    let name = &act.name;
    let command = Command::new(name.clone())
        .about(format!(
            "{} {}s ({})",
            sentence(name),
            resource.name,
            act.operation.path
        ))
        .after_help(format!(
            "Examples:\n  cloudtower {module} {name} NAME\n  \
             cloudtower {module} {name} --where name_starts_with=test- --no-wait"
        ))
        .args(Selection::args(resource));
    match act.set_type {
        Some(set_type) => command.args(args::set_args(set_type)),
        None => command,
    }
}

pub struct Options {
    pub selection: Selection,
    pub setting: Option<Setting>,
}

impl Options {
    pub fn from_matches(act: &Act, matches: &ArgMatches) -> Options {
        Options {
            selection: Selection::from_matches(matches),
            setting: act.set_type.map(|_| Setting::from_matches(matches)),
        }
    }
}

pub async fn run(
    context: &mut Context,
    resource: &'static ResourceSchema,
    act: &Act,
    options: Options,
) -> Result<()> {
    let selection = options.selection.value(context, resource).await?;
    let mut body = json!({ "where": selection });
    if let (Some(setting), Some(set_type)) = (&options.setting, act.set_type) {
        // `data` is optional for an action: sent only when something is set.
        let data = setting.object(set_type)?;
        if data.as_object().is_some_and(|o| !o.is_empty()) {
            body["data"] = data;
        }
    }
    call::mutate(context, act.operation, body).await
}
