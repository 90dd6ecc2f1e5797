//! The command line, one module per command (as `gh` does): each owns its clap `Command`,
//! a typed `Options` parsed from its `ArgMatches` once, and `run`. This module builds the
//! tree from them and the table (`cloudtower <module> <operation>` for every operation, the
//! resource verbs of each module, and the commands of the tool itself) and dispatches a
//! parsed command line to its command.
//!
//! Only the modules named on the command line get their subcommands: a run builds a few
//! dozen commands, not all 554 (completions and man pages build them all).
//!
//! Layers point one way: `main` → this module → the verbs' and commands' modules → the
//! shared helpers (`crate::call`, `crate::selection`, `crate::output`, …), which never
//! name a command.

/// Declares flag ids as constants (one per id, used where the flag is declared and where
/// it is read, with `get_one`/`get_flag`/`get_many`, which clap's debug assertions check),
/// and, for the tests, `FLAGS`: every id of the module.
macro_rules! flag_ids {
    ($($name:ident = $id:literal;)*) => {
        $(pub const $name: &str = $id;)*
        /// Every flag id of this module (each declared by some command: the tree's tests).
        #[cfg(test)]
        pub const FLAGS: &[&str] = &[$($name),*];
    };
}

mod act;
mod args;
mod backup;
mod completions;
mod count;
mod create;
mod delete;
mod explain;
mod get;
mod global;
mod list;
mod login;
mod logout;
mod man;
mod mcp;
mod operation;
mod profiles;
mod snapshot;
mod update;
mod verbs;
cloudtower_api::cfg_vnc_helper! {
    mod vnc;
}
cloudtower_api::cfg_upload_helper! {
    mod upload;
}
cloudtower_api::cfg_watch_helper! {
    mod watch;
}

use std::collections::BTreeSet;
use std::ffi::OsString;

use clap::{ArgMatches, Command};
use cloudtower_schema::OperationSchema;

use crate::failure::{Result, EXIT_CODES_HELP};
use crate::schema::{api, module_resource, modules};

/// Which modules get their subcommands.
pub enum Focus {
    All,
    /// The modules named anywhere on the command line.
    Named(BTreeSet<String>),
}

impl Focus {
    pub fn from_args(args: &[OsString]) -> Focus {
        Focus::Named(
            args.iter()
                .skip(1)
                .filter_map(|arg| arg.to_str())
                .map(str::to_owned)
                .collect(),
        )
    }

    fn includes(&self, module: &str) -> bool {
        match self {
            Focus::All => true,
            Focus::Named(names) => names.contains(module),
        }
    }
}

const ABOUT: &str = "A command line for the whole SmartX CloudTower API";

const EXAMPLES: &str = "\
Examples:
  cloudtower login --endpoint https://tower.example.com --username admin
  cloudtower vm list --where status=RUNNING
  cloudtower vm get db-01 -o yaml
  cloudtower vm start db-01
  cloudtower vm snapshot db-01 --name before-upgrade
  cloudtower vm get-vms --where-json '{\"name_starts_with\": \"web-\"}' --first 10 -o id
  cloudtower vm-snapshot delete-vm-snapshot --data @delete.json
  cloudtower task list --order-by local_created_at_DESC --first 5";

/// The whole command line.
pub fn command(focus: &Focus) -> Command {
    let mut root = Command::new("cloudtower")
        .version(env!("CARGO_PKG_VERSION"))
        .long_version(long_version())
        .about(ABOUT)
        .after_help(format!("{EXAMPLES}\n\n{EXIT_CODES_HELP}"))
        .subcommand_required(true)
        .arg_required_else_help(true)
        .max_term_width(100)
        .args(global::args())
        .subcommand(login::command())
        .subcommand(logout::command())
        .subcommand(profiles::command())
        .subcommand(completions::command())
        .subcommand(explain::command())
        .subcommand(mcp::command())
        .subcommand(man::command());
    for (module, operations) in modules() {
        root = root.subcommand(module_command(module, &operations, focus.includes(module)));
    }
    root
}

fn long_version() -> String {
    format!(
        "{} (CloudTower API {}, {} operations)",
        env!("CARGO_PKG_VERSION"),
        api().version,
        api().operations.len()
    )
}

/// `cloudtower <module>`: the resource's verbs, then every operation of the module (only
/// the summary unless `full`).
fn module_command(
    module: &'static str,
    operations: &[&'static OperationSchema],
    full: bool,
) -> Command {
    let resource = module_resource(module);
    let count = match operations.len() {
        1 => "1 operation".to_owned(),
        n => format!("{n} operations"),
    };
    let about = match resource {
        Some(resource) => format!("{} ({count})", resource.name),
        None => count,
    };
    let mut command = Command::new(module)
        .about(about)
        .subcommand_required(true)
        .arg_required_else_help(true);
    if !full {
        return command;
    }
    if let Some(resource) = resource {
        for verb in verbs::verbs(module, resource) {
            command = command.subcommand(verb.command(module, resource));
        }
    }
    for operation in operations {
        command = command.subcommand(operation::command(operation));
    }
    command
}

/// Runs the command line `matches` (parsed by [`command`]).
pub async fn run(matches: &ArgMatches) -> Result<()> {
    let (name, sub) = matches.subcommand().expect("a subcommand is required");
    let mut context = global::context(matches)?;
    match name {
        login::NAME => login::run(&context, login::Options::from_matches(sub)).await,
        logout::NAME => logout::run(&context),
        profiles::NAME => profiles::run(&mut context),
        completions::NAME => completions::run(
            completions::Options::from_matches(sub),
            command(&Focus::All),
        ),
        explain::NAME => explain::run(&mut context, explain::Options::from_matches(sub)),
        mcp::NAME => mcp::run(&mut context, mcp::Options::from_matches(sub)).await,
        man::NAME => man::run(man::Options::from_matches(sub), command(&Focus::All)),
        module => {
            let (name, matches) = sub.subcommand().expect("a module's subcommand is required");
            if let Some(operation) = api().operation(name).filter(|op| op.module == module) {
                let options = operation::Options::from_matches(operation, matches);
                return operation::run(&mut context, operation, options).await;
            }
            let resource = module_resource(module).expect("verbs exist for resources only");
            let verb = verbs::verbs(module, resource)
                .into_iter()
                .find(|verb| verb.name() == name)
                .expect("the tree offers only these verbs");
            verb.run(&mut context, resource, matches).await
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every argument id of `command` and its subcommands.
    fn declared_ids(command: &Command, ids: &mut BTreeSet<String>) {
        ids.extend(command.get_arguments().map(|arg| arg.get_id().to_string()));
        for sub in command.get_subcommands() {
            declared_ids(sub, ids);
        }
    }

    /// The whole tree, every module's verbs and operations included, passes clap's own
    /// consistency checks (no flag id or name given twice in a command, …).
    #[test]
    fn the_whole_tree_passes_clap_debug_assert() {
        let tree = command(&Focus::All);
        tree.clone().debug_assert();
        let modules = tree
            .get_subcommands()
            .filter(|sub| sub.get_subcommands().next().is_some())
            .count();
        assert_eq!(
            modules,
            crate::schema::modules().len(),
            "every module has its commands"
        );
    }

    /// Every flag id constant is the id of an argument some command declares: a constant
    /// that names no flag (a misspelling) would make `get_one` panic where it is read.
    #[test]
    fn every_flag_constant_is_declared_by_some_command() {
        let mut declared = BTreeSet::new();
        declared_ids(&command(&Focus::All), &mut declared);
        let constants = [
            global::FLAGS,
            args::FLAGS,
            login::FLAGS,
            completions::FLAGS,
            explain::FLAGS,
            mcp::FLAGS,
            man::FLAGS,
        ]
        .into_iter()
        .chain(verbs::HELPERS.iter().flatten().map(|helper| helper.flags))
        .flatten();
        let mut checked = 0;
        for id in constants {
            assert!(
                declared.contains(*id),
                "flag id `{id}` is declared by no command"
            );
            checked += 1;
        }
        assert!(checked > 30, "only {checked} flag constants were checked");
    }

    /// A command line of `command` with its required arguments only (`x` for each value).
    fn required_only(command: &Command) -> Vec<String> {
        let mut argv = vec![command.get_name().to_owned()];
        for arg in command.get_arguments().filter(|arg| arg.is_required_set()) {
            match arg.get_long() {
                Some(long) => argv.extend([format!("--{long}"), "x".to_owned()]),
                None => argv.push("x".to_owned()),
            }
        }
        argv
    }

    /// Every verb of every resource, and every operation, reads its options only from flags
    /// its own command declares: each is parsed from a command line of its required
    /// arguments (reading an id the command does not declare panics under clap's debug
    /// assertions); nothing is run.
    #[test]
    fn every_command_reads_only_the_flags_it_declares() {
        let global = crate::session::Global {
            profile: "default".into(),
            endpoints: Vec::new(),
            username: None,
            password: None,
            api_key: None,
            source: None,
            ca_cert: None,
            insecure: false,
            timeout: None,
            header_parameters: Vec::new(),
        };
        let mut context = crate::context::Context::new(
            global,
            crate::output::Printer::stdout(true),
            None,
            true,
            cloudtower_api::WaitOptions::default(),
        );
        let mut verbs_parsed = 0;
        for (module, operations) in modules() {
            if let Some(resource) = module_resource(module) {
                for verb in verbs::verbs(module, resource) {
                    let command = verb.command(module, resource);
                    let argv = required_only(&command);
                    let matches = command
                        .try_get_matches_from(&argv)
                        .unwrap_or_else(|error| panic!("{module} {argv:?}: {error}"));
                    // Parses now; the run it returns is dropped unpolled.
                    drop(verb.run(&mut context, resource, &matches));
                    verbs_parsed += 1;
                }
            }
            for operation in operations {
                let command = operation::command(operation);
                let matches = command
                    .try_get_matches_from([operation.path.as_str()])
                    .unwrap_or_else(|error| panic!("{}: {error}", operation.path));
                operation::Options::from_matches(operation, &matches);
            }
        }
        assert!(verbs_parsed > 300, "only {verbs_parsed} verbs were parsed");
    }

    /// Every operation of the spec has `cloudtower <module> <operation> --help`.
    #[test]
    fn every_operation_has_its_command_and_help() {
        for operation in &api().operations {
            let args = ["cloudtower", &operation.module, &operation.path, "--help"];
            let focus = Focus::from_args(&args.map(OsString::from));
            let error = command(&focus)
                .try_get_matches_from(args)
                .expect_err("--help stops the parse");
            assert_eq!(
                error.kind(),
                clap::error::ErrorKind::DisplayHelp,
                "{} {}: {error}",
                operation.module,
                operation.path
            );
            assert!(
                error.to_string().contains(&operation.path),
                "{}",
                operation.path
            );
        }
    }

    /// Layers point one way: no shared module (anything outside `commands/` but `main.rs`)
    /// names a command, and a command's module names no other command, the catalogue or the
    /// tree: only the shared flags (`args`, `global`).
    #[test]
    fn layers_point_one_way() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![src.clone()];
        let mut checked = 0;
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let relative = path
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            checked += 1;
            match relative.strip_prefix("commands/") {
                None if relative != "main.rs" => assert!(
                    !text.contains("commands::"),
                    "{relative}: a shared module names a command"
                ),
                Some("mod.rs" | "verbs.rs") | None => {}
                Some(command) => {
                    for (at, _) in text.match_indices("super::") {
                        let named = &text[at + "super::".len()..];
                        assert!(
                            ["args", "global"]
                                .iter()
                                .any(|shared| named.starts_with(shared)),
                            "commands/{command} names `super::{}`",
                            named
                                .split(|c: char| !c.is_alphanumeric() && c != '_')
                                .next()
                                .unwrap_or("")
                        );
                    }
                }
            }
        }
        assert!(checked > 30, "only {checked} source files were read");
    }

    #[test]
    fn fields_named_like_global_flags_get_a_prefix() {
        assert_eq!(operation::flag_name("orderBy"), "order-by");
        assert_eq!(operation::flag_name("password"), "body-password");
        assert_eq!(operation::flag_name("vm_id"), "vm-id");
        assert_eq!(operation::flag_name("no_color"), "body-no-color");
        assert_eq!(operation::flag_name("page_size"), "body-page-size");
        for header in crate::schema::header_parameters() {
            let field = header.replace('-', "_");
            assert_eq!(operation::flag_name(&field), format!("body-{header}"));
        }
    }
}
