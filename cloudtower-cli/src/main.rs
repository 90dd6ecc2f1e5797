//! `cloudtower`: every operation of the CloudTower API as `cloudtower <module> <operation>`,
//! resource verbs for the common work, sessions per profile. The command tree is the
//! generated API table read at run time (`cloudtower_api::SCHEMA_JSON`), so a crate
//! regenerated for another CloudTower version brings its own command line.

mod body;
mod call;
mod columns;
mod config;
mod dynamic;
mod effect;
mod explain;
mod failure;
mod keyring;
mod mcp;
mod output;
mod references;
mod schema;
mod session;
mod tree;
mod verbs;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::ArgMatches;

use crate::call::Context;
use crate::failure::{Failure, Result};
use crate::tree::Focus;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let matches = match tree::command(&Focus::from_args(&args)).try_get_matches_from(&args) {
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
    match runtime.block_on(run(&matches)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            failure.exit_code()
        }
    }
}

async fn run(matches: &ArgMatches) -> Result<()> {
    let (name, sub) = matches.subcommand().expect("a subcommand is required");
    let mut context = Context::new(matches)?;
    match name {
        "login" => {
            let message = session::login(&context.global, sub).await?;
            eprintln!("{message}");
            Ok(())
        }
        "logout" => {
            let message = session::logout(&context.global)?;
            eprintln!("{message}");
            Ok(())
        }
        "profiles" => {
            let profiles = session::profiles()?;
            let format = context.format_or(output::Format::Table);
            context.printer.print(&profiles, &format, Some("Profile"))
        }
        "completions" => {
            let shell = *sub
                .get_one::<clap_complete::Shell>("shell")
                .expect("required");
            let mut command = tree::command(&Focus::All);
            clap_complete::generate(shell, &mut command, "cloudtower", &mut std::io::stdout());
            Ok(())
        }
        "explain" => {
            let query = sub.get_one::<String>("name").expect("required");
            let explanation = explain::explain(query, usize::MAX).map_err(Failure::Usage)?;
            match &context.format {
                None | Some(output::Format::Table | output::Format::Wide) => context
                    .printer
                    .line(explain::render(&explanation).trim_end()),
                Some(format) => {
                    let value = serde_json::to_value(&explanation).expect("serializes");
                    let format = format.clone();
                    context.printer.print(&value, &format, None)
                }
            }
        }
        "mcp" => mcp::run(&mut context, sub).await,
        "man" => write_man_pages(sub.get_one::<std::path::PathBuf>("dir").expect("defaulted")),
        module => {
            let (verb, args) = sub.subcommand().expect("a module's subcommand is required");
            if let Some(operation) = schema::api()
                .operation(verb)
                .filter(|op| op.module == module)
            {
                return call::run_operation(&mut context, operation, args).await;
            }
            let resource = schema::module_resource(module).expect("verbs exist for resources only");
            verbs::run(&mut context, module, resource, verb, args).await
        }
    }
}

/// `cloudtower man`: a page per command (`cloudtower.1`, `cloudtower-vm.1`,
/// `cloudtower-vm-list.1`, …).
fn write_man_pages(dir: &std::path::Path) -> Result<()> {
    let failed = |error: std::io::Error| {
        Failure::Other(format!("writing man pages to {}: {error}", dir.display()))
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    let command = tree::command(&Focus::All);
    clap_mangen::generate_to(command, dir).map_err(failed)?;
    eprintln!("wrote man pages to {}", dir.display());
    Ok(())
}
