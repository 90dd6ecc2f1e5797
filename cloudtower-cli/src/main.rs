//! `cloudtower`: every operation of the CloudTower API as `cloudtower <module> <operation>`,
//! resource verbs for the common work, sessions per profile. The command tree is the
//! generated API table read at run time (`cloudtower_api::SCHEMA_JSON`), so a crate
//! regenerated for another CloudTower version brings its own command line.

mod body;
mod call;
mod columns;
mod commands;
mod config;
mod context;
mod dynamic;
mod effect;
mod explain;
mod failure;
mod keyring;
mod mcp;
mod output;
mod references;
mod schema;
mod selection;
mod session;

use std::ffi::OsString;
use std::process::ExitCode;

use crate::commands::Focus;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let matches = match commands::command(&Focus::from_args(&args)).try_get_matches_from(&args) {
        Ok(matches) => matches,
        Err(error) => {
            // Help and --version print to stdout and succeed; usage errors exit 2.
            let _ = error.print();
            return ExitCode::from(error.exit_code().clamp(0, 255) as u8);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: starting the async runtime: {error}");
            return ExitCode::from(failure::EXIT_FAILED);
        }
    };
    match runtime.block_on(commands::run(&matches)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            failure.exit_code()
        }
    }
}
