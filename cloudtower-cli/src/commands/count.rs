//! `cloudtower <module> count`: how many resources a filter matches (the resource's
//! connection operation).

use clap::{ArgMatches, Command};
use cloudtower_schema::ResourceSchema;

use super::args::{self, Filter};
use crate::context::Context;
use crate::dynamic::{DynList, DynResource};
use crate::failure::Result;

pub const NAME: &str = "count";

pub fn command(module: &str, resource: &ResourceSchema) -> Command {
    Command::new(NAME)
        .about(format!("Count the {}s a filter matches", resource.name))
        .after_help(format!(
            "Examples:\n  cloudtower {module} count --where name_contains=db"
        ))
        .args(args::filter_args(resource))
}

pub struct Options {
    pub filter: Filter,
}

impl Options {
    pub fn from_matches(matches: &ArgMatches) -> Options {
        Options {
            filter: Filter::from_matches(matches),
        }
    }
}

pub async fn run(
    context: &mut Context,
    resource: &'static ResourceSchema,
    options: Options,
) -> Result<()> {
    let client = context.client().await?;
    let list = DynList::new(options.filter.value(resource)?);
    let count = client
        .count_with(&DynResource::new(resource), &list)
        .await
        .map_err(|e| context.failure(e))?;
    context.printer.line(&count.to_string())
}
