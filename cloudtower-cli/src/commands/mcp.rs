//! `cloudtower mcp`: the command that starts the Model Context Protocol server
//! (`crate::mcp`) for the profile's tower.

use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::context::Context;
use crate::failure::Result;
use crate::mcp::{self, Policy};

pub const NAME: &str = "mcp";

flag_ids! {
    HTTP = "http";
    ALLOW_MUTATIONS = "allow-mutations";
    ALLOW_DESTRUCTIVE = "allow-destructive";
}

pub fn command() -> Command {
    Command::new(NAME)
        .about("Serve the profile's tower to AI agents: a Model Context Protocol server (stdio, or --http on loopback)")
        .long_about(
            "Serve the profile's tower to AI agents as a Model Context Protocol server: over \
             stdio (for a client that starts it), or over streamable HTTP at \
             http://ADDRESS/mcp with --http (loopback addresses only). It signs in as every \
             command does (flags, CLOUDTOWER_* variables, the profile's stored session): \
             credentials never enter the conversation.\n\n\
             Read-only unless --allow-mutations; destructive operations (delete, poweroff, \
             rollback, force-*, remove, …) also need --allow-destructive. A dry run is always \
             allowed.",
        )
        .after_help(
            "Examples:\n  cloudtower mcp\n  cloudtower --profile lab mcp --allow-mutations\n  \
             cloudtower mcp --http 127.0.0.1:8765\n\nA client's configuration (stdio): \
             {\"command\": \"cloudtower\", \"args\": [\"mcp\"]}",
        )
        .arg(
            Arg::new(HTTP)
                .long(HTTP)
                .value_name("ADDRESS:PORT")
                .help("Serve streamable HTTP at http://ADDRESS:PORT/mcp (127.0.0.1 or [::1]; port 0 picks one)"),
        )
        .arg(
            Arg::new(ALLOW_MUTATIONS)
                .long(ALLOW_MUTATIONS)
                .action(ArgAction::SetTrue)
                .help("Allow operations that change something (off: read-only)"),
        )
        .arg(
            Arg::new(ALLOW_DESTRUCTIVE)
                .long(ALLOW_DESTRUCTIVE)
                .action(ArgAction::SetTrue)
                .help("Also allow destructive ones (delete, poweroff, rollback, …); needs --allow-mutations"),
        )
}

pub struct Options {
    pub http: Option<String>,
    pub allow_mutations: bool,
    pub allow_destructive: bool,
}

impl Options {
    pub fn from_matches(matches: &ArgMatches) -> Options {
        Options {
            http: matches.get_one::<String>(HTTP).cloned(),
            allow_mutations: matches.get_flag(ALLOW_MUTATIONS),
            allow_destructive: matches.get_flag(ALLOW_DESTRUCTIVE),
        }
    }
}

pub async fn run(context: &mut Context, options: Options) -> Result<()> {
    let policy = Policy::new(options.allow_mutations, options.allow_destructive)?;
    mcp::serve(context, policy, options.http.as_deref()).await
}
