//! `cloudtower <module> list`: the resources a filter selects, a page or every page.

use clap::{ArgMatches, Command};
use cloudtower_schema::ResourceSchema;
use serde_json::Value;

use super::args::{self, Filter, Listing, Paging};
use crate::call;
use crate::context::Context;
use crate::dynamic::DynList;
use crate::failure::Result;
use crate::output::Format;
use crate::schema::api;

pub const NAME: &str = "list";

pub fn command(module: &str, resource: &ResourceSchema) -> Command {
    Command::new(NAME)
        .about(format!(
            "List {}s (a table; -o for other formats)",
            resource.name
        ))
        .after_help(format!(
            "Examples:\n  cloudtower {module} list --first 10 -o wide\n  \
             cloudtower {module} list --where-json '{{\"name_starts_with\": \"web-\"}}' --all -o id"
        ))
        .args(args::filter_args(resource))
        .args(args::list_args(resource))
        .args(args::paging_args())
}

pub struct Options {
    pub filter: Filter,
    pub listing: Listing,
    pub paging: Paging,
}

impl Options {
    pub fn from_matches(resource: &ResourceSchema, matches: &ArgMatches) -> Options {
        Options {
            filter: Filter::from_matches(matches),
            listing: Listing::from_matches(resource, matches),
            paging: Paging::from_matches(matches),
        }
    }
}

pub async fn run(
    context: &mut Context,
    resource: &'static ResourceSchema,
    options: Options,
) -> Result<()> {
    let mut list = DynList::new(options.filter.value(resource)?);
    let listing = options.listing;
    if let Some(order) = listing.order_by {
        list.body.insert("orderBy".into(), order.into());
    }
    if options.paging.all {
        return call::print_all(
            context,
            resource,
            list,
            options.paging.page_size,
            Some(&resource.name),
            Format::Table,
        )
        .await;
    }
    for (name, value) in [("first", listing.first), ("skip", listing.skip)] {
        if let Some(value) = value {
            list.body.insert(name.into(), value.into());
        }
    }
    if let Some(after) = listing.after {
        list.body.insert("after".into(), after.into());
    }
    let operation = api()
        .operation(&resource.list)
        .expect("a resource's list operation");
    let answer = call::send_checked(context, operation, Value::Object(list.body)).await?;
    call::finish(context, operation, answer, Format::Table).await
}
