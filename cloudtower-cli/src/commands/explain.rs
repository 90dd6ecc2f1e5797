//! `cloudtower explain NAME`: a type, a field, a resource or an operation explained from the
//! table (the explanation itself is `crate::explain`, shared with the MCP server).

use clap::{Arg, ArgMatches, Command};

use crate::context::Context;
use crate::explain::{self, explain};
use crate::failure::{Failure, Result};
use crate::output::Format;

pub const NAME: &str = "explain";

flag_ids! {
    QUERY = "name";
}

pub fn command() -> Command {
    Command::new(NAME)
        .about("Explain a type, a field, a resource or an operation: fields, required ones, enum values, versions")
        .after_help(explain::examples())
        .arg(
            Arg::new(QUERY)
                .required(true)
                .value_name("TYPE[.FIELD…]|OPERATION")
                .help("VmCreationParams, VmCreationParams.vm_disks, Vm, vm-snapshot, create-vm"),
        )
}

pub struct Options {
    pub query: String,
}

impl Options {
    pub fn from_matches(matches: &ArgMatches) -> Options {
        Options {
            query: matches.get_one::<String>(QUERY).expect("required").clone(),
        }
    }
}

pub fn run(context: &mut Context, options: Options) -> Result<()> {
    let explanation = explain(&options.query, usize::MAX).map_err(Failure::Usage)?;
    match &context.format {
        None | Some(Format::Table | Format::Wide) => context
            .printer
            .line(explain::render(&explanation).trim_end()),
        Some(format) => {
            let value = serde_json::to_value(&explanation).expect("serializes");
            let format = format.clone();
            context.printer.print(&value, &format, None)
        }
    }
}
