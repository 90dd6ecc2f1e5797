//! `cloudtower man`: a man page per command (`cloudtower.1`, `cloudtower-vm.1`,
//! `cloudtower-vm-list.1`, …).

use std::path::PathBuf;

use clap::{value_parser, Arg, ArgMatches, Command};

use crate::failure::{Failure, Result};

pub const NAME: &str = "man";

flag_ids! {
    DIR = "dir";
}

pub fn command() -> Command {
    Command::new(NAME)
        .about("Write man pages (one per command) to a directory")
        .arg(
            Arg::new(DIR)
                .long(DIR)
                .value_name("DIR")
                .default_value("man")
                .value_parser(value_parser!(PathBuf)),
        )
}

pub struct Options {
    pub dir: PathBuf,
}

impl Options {
    pub fn from_matches(matches: &ArgMatches) -> Options {
        Options {
            dir: matches.get_one::<PathBuf>(DIR).expect("defaulted").clone(),
        }
    }
}

/// Writes the pages of `tree` (the whole command line) to the directory.
pub fn run(options: Options, tree: Command) -> Result<()> {
    let dir = &options.dir;
    let failed = |error: std::io::Error| {
        Failure::Other(format!("writing man pages to {}: {error}", dir.display()))
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    clap_mangen::generate_to(tree, dir).map_err(failed)?;
    eprintln!("wrote man pages to {}", dir.display());
    Ok(())
}
