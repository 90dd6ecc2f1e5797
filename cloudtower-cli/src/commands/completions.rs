//! `cloudtower completions SHELL`: a shell completion script for the whole command tree.

use clap::{value_parser, Arg, ArgMatches, Command};
use clap_complete::Shell;

use crate::failure::Result;

pub const NAME: &str = "completions";

flag_ids! {
    SHELL = "shell";
}

pub fn command() -> Command {
    Command::new(NAME)
        .about("Print a shell completion script (bash, zsh, fish, elvish, powershell)")
        .arg(
            Arg::new(SHELL)
                .required(true)
                .value_parser(value_parser!(Shell)),
        )
}

pub struct Options {
    pub shell: Shell,
}

impl Options {
    pub fn from_matches(matches: &ArgMatches) -> Options {
        Options {
            shell: *matches.get_one::<Shell>(SHELL).expect("required"),
        }
    }
}

/// Prints the script completing `tree` (the whole command line, every module's commands).
pub fn run(options: Options, mut tree: Command) -> Result<()> {
    clap_complete::generate(
        options.shell,
        &mut tree,
        "cloudtower",
        &mut std::io::stdout(),
    );
    Ok(())
}
