//! `cloudtower <module> watch`: changes of the module's resources as they happen (the SDK's
//! `watch` helper over `resource-changes`; compiled only where the regenerated crate has it,
//! `cloudtower_api::cfg_watch_helper!`).

use clap::{value_parser, Arg, ArgMatches, Command};
use cloudtower_schema::ResourceSchema;
use futures_util::StreamExt;
use serde_json::json;

use crate::context::Context;
use crate::failure::{Failure, Result};
use crate::output::Format;

pub const NAME: &str = "watch";

flag_ids! {
    FROM = "from";
    ACTION = "action";
    ID = "id";
    LIMIT = "limit";
}

/// Every resource's changes can be watched.
pub fn offered(_resource: &ResourceSchema) -> bool {
    true
}

pub fn command(module: &str, resource: &'static ResourceSchema) -> Command {
    Command::new(NAME)
        .about(format!(
            "Print changes of {}s as they happen (resource-changes)",
            resource.name
        ))
        .after_help(format!(
            "Examples:\n  cloudtower {module} watch -o json | jq .resource_id"
        ))
        .args([
            Arg::new(FROM)
                .long(FROM)
                .value_name("REVISION")
                .help("Start at this revision [default: changes from now on]"),
            Arg::new(ACTION)
                .long(ACTION)
                .value_name("ACTION")
                .help("Only changes of this kind (CREATE, UPDATE, DELETE)"),
            Arg::new(ID)
                .long(ID)
                .value_name("ID")
                .help("Only changes of this resource"),
            Arg::new(LIMIT)
                .long(LIMIT)
                .value_name("N")
                .value_parser(value_parser!(u64).range(1..))
                .help("Stop after this many changes"),
        ])
}

pub struct Options {
    pub from: Option<String>,
    pub action: Option<String>,
    pub id: Option<String>,
    pub limit: Option<u64>,
}

impl Options {
    pub fn from_matches(matches: &ArgMatches) -> Options {
        Options {
            from: matches.get_one::<String>(FROM).cloned(),
            action: matches.get_one::<String>(ACTION).cloned(),
            id: matches.get_one::<String>(ID).cloned(),
            limit: matches.get_one::<u64>(LIMIT).copied(),
        }
    }
}

pub async fn run(
    context: &mut Context,
    resource: &'static ResourceSchema,
    options: Options,
) -> Result<()> {
    let client = context.client().await?;
    let watch = cloudtower_api::watch::WatchOptions {
        start_revision: options.from,
        resource_type: Some(resource.name.clone()),
        resource_id: options.id,
        action: options.action,
        ..Default::default()
    };
    let format = context.format_or(Format::Table);
    let mut changes = std::pin::pin!(client.watch_resource_changes(watch));
    let mut seen = 0;
    while let Some(change) = changes.next().await {
        match change {
            Ok(event) => {
                let value = json!({
                    "revision": event.revision,
                    "action": event.action,
                    "resource_type": event.resource_type,
                    "resource_id": event.resource_id,
                    "created_at": event.created_at,
                });
                let text = match &format {
                    Format::Table | Format::Wide => format!(
                        "{}\t{}\t{}\t{}",
                        event.revision,
                        event.action.as_deref().unwrap_or("-"),
                        event.resource_type.as_deref().unwrap_or("-"),
                        event.resource_id.as_deref().unwrap_or("-")
                    ),
                    // One compact document per line (JSON Lines), for `| jq`.
                    Format::Json => value.to_string(),
                    other => crate::output::render(&value, other, None, false)?
                        .trim_end()
                        .to_owned(),
                };
                context.printer.line(&text)?;
                seen += 1;
                if options.limit.is_some_and(|limit| seen >= limit) {
                    return Ok(());
                }
            }
            Err(error) if error.is_transient() => eprintln!("warning: {error} (still watching)"),
            Err(error) => return Err(Failure::Other(error.to_string())),
        }
    }
    Ok(())
}
