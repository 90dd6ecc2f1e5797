//! The command tree, built at run time from the table: `cloudtower <module> <operation>` for
//! every operation, the resource verbs of each module whose operations the spec has, and
//! the commands of the tool itself (login, logout, completions, man).
//!
//! Only the modules named on the command line get their subcommands: a run builds a few
//! dozen commands, not all 554 (completions and man pages build them all).

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, Str};
use clap::{value_parser, Arg, ArgAction, Command};
use cloudtower_schema::{OperationKind, OperationSchema, ResourceSchema, Ty, TypeSchema};
use heck::{ToKebabCase, ToShoutySnakeCase};

use crate::body::object_type;
use crate::failure::EXIT_CODES_HELP;
use crate::output::FORMATS;
use crate::schema::{api, field, fields, module_resource, modules};
use crate::verbs::{self, Action, Verb};

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

/// The names of flags every command takes: an operation's field of the same name gets
/// `--body-<name>` instead.
const RESERVED: &[&str] = &[
    "profile",
    "endpoint",
    "username",
    "password",
    "api-key",
    "source",
    "ca-cert",
    "insecure",
    "timeout",
    "output",
    "no-wait",
    "wait-timeout",
    "no-color",
    "data",
    "all",
    "page-size",
    "help",
    "version",
];

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
        .args(global_args())
        .subcommand(login_command())
        .subcommand(Command::new("logout").about("Forget the session stored for the profile"))
        .subcommand(
            Command::new("profiles")
                .about("List the profiles: their endpoints, user, and whether a session is stored"),
        )
        .subcommand(
            Command::new("completions")
                .about("Print a shell completion script (bash, zsh, fish, elvish, powershell)")
                .arg(
                    Arg::new("shell")
                        .required(true)
                        .value_parser(value_parser!(clap_complete::Shell)),
                ),
        )
        .subcommand(
            Command::new("man")
                .about("Write man pages (one per command) to a directory")
                .arg(
                    Arg::new("dir")
                        .long("dir")
                        .value_name("DIR")
                        .default_value("man")
                        .value_parser(value_parser!(PathBuf)),
                ),
        );
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

fn global_args() -> Vec<Arg> {
    let text = |name: &'static str, env: &'static str, help: &'static str| {
        Arg::new(name)
            .long(name)
            .env(env)
            .global(true)
            .help(help)
            .help_heading("Connection")
    };
    vec![
        text(
            "profile",
            "CLOUDTOWER_PROFILE",
            "The profile of `login` to use [default: default]",
        )
        .value_name("NAME"),
        text(
            "endpoint",
            "CLOUDTOWER_ENDPOINT",
            "The tower's URL; the two of an active/passive pair comma-separated",
        )
        .value_name("URL[,URL]"),
        text("username", "CLOUDTOWER_USERNAME", "Log in as this user"),
        text("password", "CLOUDTOWER_PASSWORD", "The user's password").hide_env_values(true),
        text(
            "api-key",
            "CLOUDTOWER_API_KEY",
            "Authenticate with an API key",
        )
        .hide_env_values(true),
        text(
            "source",
            "CLOUDTOWER_SOURCE",
            "Where the user is defined (LOCAL, LDAP, …)",
        ),
        text(
            "ca-cert",
            "CLOUDTOWER_CA_CERT",
            "Also trust the certificates of this PEM file",
        )
        .value_name("FILE")
        .value_parser(value_parser!(PathBuf)),
        Arg::new("insecure")
            .long("insecure")
            .global(true)
            .action(ArgAction::SetTrue)
            .help("Accept any TLS certificate (no environment variable: only on purpose)")
            .help_heading("Connection"),
        text(
            "timeout",
            "CLOUDTOWER_TIMEOUT",
            "Seconds one request may take [default: 60]",
        )
        .value_name("SECONDS")
        .value_parser(value_parser!(u64)),
    ]
    .into_iter()
    .chain(header_parameters().into_iter().map(header_arg))
    .chain([
        Arg::new("output")
            .short('o')
            .long("output")
            .env("CLOUDTOWER_OUTPUT")
            .global(true)
            .value_name("FORMAT")
            .help(format!(
                "Output format: {} (default: a table for resource verbs, JSON for operations)",
                FORMATS.join(", ")
            ))
            .help_heading("Output"),
        Arg::new("no-color")
            .long("no-color")
            .global(true)
            .action(ArgAction::SetTrue)
            .help("No colours, even on a terminal (also NO_COLOR)")
            .help_heading("Output"),
        Arg::new("no-wait")
            .long("no-wait")
            .global(true)
            .action(ArgAction::SetTrue)
            .help("Do not wait for a mutation's tasks: print their ids")
            .help_heading("Tasks"),
        Arg::new("wait-timeout")
            .long("wait-timeout")
            .global(true)
            .value_name("SECONDS")
            .default_value("300")
            .value_parser(value_parser!(u64))
            .help("How long to wait for tasks")
            .help_heading("Tasks"),
    ])
    .collect()
}

/// The header parameters the operations of this build take (`external-cloudtower-id`),
/// from the generated table.
pub fn header_parameters() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = cloudtower_api::models::OPERATIONS
        .iter()
        .flat_map(|operation| operation.headers.iter().map(|h| h.name))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The environment variable of a header parameter's flag (`CLOUDTOWER_EXTERNAL_CLOUDTOWER_ID`).
pub fn header_env(name: &str) -> String {
    format!("CLOUDTOWER_{}", name.to_shouty_snake_case())
}

/// `--<header> VALUE`: sent with every call of an operation that takes the header; a call of
/// one that does not is refused before sending.
fn header_arg(name: &'static str) -> Arg {
    let help = if name == "external-cloudtower-id" {
        "Act on the CloudTower with this id that this tower manages (the header \
         external-cloudtower-id on every call)"
            .to_owned()
    } else {
        format!("Send the header parameter {name} with every call")
    };
    Arg::new(name)
        .long(name)
        .env(header_env(name))
        .global(true)
        .value_name("VALUE")
        .help(help)
        .help_heading("Connection")
}

fn login_command() -> Command {
    Command::new("login")
        .about("Sign in and store the session for the profile")
        .long_about(
            "Sign in and store the session for the profile (--profile, default `default`).\n\n\
             The endpoints and options go to config.toml, the token (or API key) to the OS \
             keyring where there is one, else to credentials.toml, readable by its owner \
             only; both files in $CLOUDTOWER_CONFIG_DIR, else $XDG_CONFIG_HOME/cloudtower, \
             else ~/.config/cloudtower. The password is asked \
             for when not given, and kept only with --save-password (to log in again when \
             the session expires).",
        )
        .after_help(
            "Examples:\n  cloudtower login --endpoint https://tower.example.com --username admin\n  \
             cloudtower login --profile lab --endpoint https://a.example.com,https://b.example.com \
             --api-key \"$KEY\"\n  echo \"$PASSWORD\" | cloudtower login --username admin --password-stdin",
        )
        .arg(
            Arg::new("password-stdin")
                .long("password-stdin")
                .action(ArgAction::SetTrue)
                .help("Read the password from the first line of stdin"),
        )
        .arg(
            Arg::new("save-password")
                .long("save-password")
                .action(ArgAction::SetTrue)
                .help("Keep the password with the session, to log in again when it expires"),
        )
}

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
            command = command.subcommand(verb_command(module, resource, &verb));
        }
    }
    for operation in operations {
        command = command.subcommand(operation_command(operation));
    }
    command
}

/// `POST get-vms: [Vm] (since 1.8.0)`.
fn operation_about(operation: &OperationSchema) -> String {
    let method = match operation.method {
        cloudtower_schema::Method::Get => "GET",
        cloudtower_schema::Method::Post => "POST",
    };
    let request = operation
        .request
        .as_ref()
        .map_or_else(|| "no body".to_owned(), Ty::to_string);
    let response = operation
        .response
        .as_ref()
        .map_or_else(|| "no content".to_owned(), Ty::to_string);
    format!(
        "{method} /v2/api/{}: {request} → {response} (since {})",
        operation.path, operation.since
    )
}

fn operation_command(operation: &'static OperationSchema) -> Command {
    let mut command = Command::new(operation.path.as_str())
        .about(operation_about(operation))
        .after_help(
            "The request is --data (JSON, @FILE or - for stdin), with the flags' fields set \
             over it; it is checked against the operation's request type before it is sent.",
        );
    if operation.request.is_some() && !operation.multipart {
        command = command.arg(data_arg());
    }
    if let Some(request) = &operation.request {
        let type_fields = match request {
            Ty::Named(name) => fields(name),
            _ => &[],
        };
        for field in type_fields {
            command = command.args(field_args(field));
        }
    }
    if matches!(operation.kind, OperationKind::List { .. }) {
        command = command.args(paging_args());
    }
    command
}

fn data_arg() -> Arg {
    Arg::new("data")
        .long("data")
        .short('d')
        .value_name("JSON|@FILE|-")
        .help("The request body: JSON, @FILE (a file of JSON) or - (stdin)")
}

fn paging_args() -> Vec<Arg> {
    vec![
        Arg::new("all")
            .long("all")
            .action(ArgAction::SetTrue)
            .help("Every page: streams all items, page by page (first/after are its own)"),
        Arg::new("page-size")
            .long("page-size")
            .value_name("N")
            .default_value("100")
            .value_parser(value_parser!(i32).range(1..))
            .help("Items per request with --all"),
    ]
}

/// The flag of a request field: its name in kebab case, unless every command has that flag.
pub fn flag_name(field: &str) -> String {
    let kebab = field.to_kebab_case();
    if RESERVED.contains(&kebab.as_str()) || header_parameters().contains(&kebab.as_str()) {
        format!("body-{kebab}")
    } else {
        kebab
    }
}

/// The id of a field's flag (`field:where`) and of its JSON form (`json:where`).
pub fn field_id(name: &str) -> String {
    format!("field:{name}")
}

pub fn json_id(name: &str) -> String {
    format!("json:{name}")
}

fn field_args(field: &'static cloudtower_schema::FieldSchema) -> Vec<Arg> {
    let flag = flag_name(&field.name);
    let required = if field.required { ", required" } else { "" };
    let help = format!("`{}`: {}{required}", field.name, field.ty);
    let arg = Arg::new(field_id(&field.name))
        .long(flag.clone())
        .help_heading("Request fields");
    if let Some(object) = object_type(&field.ty) {
        return vec![
            arg.value_name("KEY=VALUE")
                .action(ArgAction::Append)
                .help(format!(
                    "{help}: set one field of it (a.b=v for nested ones)"
                ))
                .long_help(format!(
                    "{help}: set one field of it; repeat for more, a.b=v for nested ones, \
                     a,b for lists. Its fields: see `{object}` in `--data` terms."
                )),
            Arg::new(json_id(&field.name))
                .long(format!("{flag}-json"))
                .value_name("JSON")
                .help(format!("`{}` as JSON", field.name))
                .help_heading("Request fields"),
        ];
    }
    let arg = arg.value_name(value_name(&field.ty)).help(help);
    vec![match enum_values(&field.ty) {
        Some(values) => arg.value_parser(PossibleValuesParser::new(values)),
        None if field.ty == Ty::Bool => arg.value_parser(["true", "false"]),
        None => arg,
    }]
}

fn value_name(ty: &Ty) -> &'static str {
    match ty {
        Ty::String => "TEXT",
        Ty::Bool => "BOOL",
        Ty::Int32 | Ty::Int64 => "INT",
        Ty::Float | Ty::Double => "NUMBER",
        Ty::File => "PATH",
        Ty::Array(_) => "A,B,…|JSON",
        Ty::Named(_) if enum_values(ty).is_some() => "VALUE",
        _ => "JSON",
    }
}

/// The values of an enum type.
pub fn enum_values(ty: &Ty) -> Option<Vec<Str>> {
    match ty {
        Ty::Named(name) => match api().resolve(name)? {
            TypeSchema::Enum { values } => {
                Some(values.iter().map(|v| Str::from(v.as_str())).collect())
            }
            _ => None,
        },
        _ => None,
    }
}

/// The flags a resource verb takes, and its help.
fn verb_command(module: &str, resource: &'static ResourceSchema, verb: &Verb) -> Command {
    let mut command = Command::new(verb.name.clone())
        .about(verb.about.clone())
        .after_help(verb_examples(module, verb));
    if verb.keys {
        command = command.arg(
            Arg::new("keys")
                .value_name("ID|LOCAL_ID|NAME")
                .num_args(1..)
                .required(!verb.filter)
                .help(format!(
                    "The {}s, each by id, local id or exact name",
                    resource.name
                )),
        );
    }
    if verb.filter {
        command = command.args(filter_args(resource));
    }
    if verb.list {
        command = command.args(list_args(resource)).args(paging_args());
    }
    if let Some(set_type) = verb.set_type {
        command = command.args(set_args(set_type));
    }
    command.args(verb.extra_args.clone())
}

fn verb_examples(module: &str, verb: &Verb) -> String {
    let name = &verb.name;
    let lines: Vec<String> = match verb.action {
        Action::List => vec![
            format!("cloudtower {module} list --first 10 -o wide"),
            format!("cloudtower {module} list --where-json '{{\"name_starts_with\": \"web-\"}}' --all -o id"),
        ],
        Action::Get => vec![format!("cloudtower {module} get NAME -o yaml")],
        Action::Count => vec![format!("cloudtower {module} count --where name_contains=db")],
        Action::Create(..) => vec![
            format!("cloudtower {module} create --set name=NAME --set FIELD=VALUE"),
            format!("cloudtower {module} create --data @new.json --no-wait"),
        ],
        Action::Update(_) => vec![format!("cloudtower {module} update NAME --set name=NEW-NAME")],
        Action::Delete(_) => vec![format!("cloudtower {module} delete NAME OTHER-NAME")],
        Action::Upload => vec![format!("cloudtower {module} upload ubuntu.iso --cluster CLUSTER")],
        Action::Watch => vec![format!("cloudtower {module} watch -o json | jq .resource_id")],
        _ => vec![
            format!("cloudtower {module} {name} NAME"),
            format!("cloudtower {module} {name} --where name_starts_with=test- --no-wait"),
        ],
    };
    format!("Examples:\n  {}", lines.join("\n  "))
}

fn filter_args(resource: &ResourceSchema) -> Vec<Arg> {
    vec![
        Arg::new("where")
            .long("where")
            .value_name("KEY=VALUE")
            .action(ArgAction::Append)
            .help(format!(
                "Select by a field of {} (repeat for more; a.b=v, a,b for lists)",
                resource.filter
            )),
        Arg::new("where-json")
            .long("where-json")
            .value_name("JSON")
            .help(format!("Select with a {} as JSON", resource.filter)),
    ]
}

fn list_args(resource: &ResourceSchema) -> Vec<Arg> {
    let mut args = Vec::new();
    let order = resource
        .order
        .as_ref()
        .map(|order| Ty::Named(order.clone()));
    if let Some(values) = order.as_ref().and_then(enum_values) {
        args.push(
            Arg::new("order-by")
                .long("order-by")
                .value_name("FIELD_ASC|FIELD_DESC")
                .value_parser(PossibleValuesParser::new(values))
                .hide_possible_values(true)
                .help("Order by a field (name_ASC, local_created_at_DESC, …)"),
        );
    }
    let list_request = api()
        .operation(&resource.list)
        .and_then(|op| op.request.as_ref())
        .and_then(|ty| ty.named())
        .unwrap_or_default();
    for (name, help) in [
        ("first", "At most this many items"),
        ("skip", "Skip this many items first"),
    ] {
        if field(list_request, name).is_some() {
            args.push(
                Arg::new(name)
                    .long(name)
                    .value_name("N")
                    .value_parser(value_parser!(i64).range(0..))
                    .help(help),
            );
        }
    }
    if field(list_request, "after").is_some() {
        args.push(
            Arg::new("after")
                .long("after")
                .value_name("ID")
                .help("The items after the one with this id"),
        );
    }
    args
}

fn set_args(type_name: &str) -> Vec<Arg> {
    vec![
        Arg::new("set")
            .long("set")
            .short('s')
            .value_name("KEY=VALUE")
            .action(ArgAction::Append)
            .help(format!(
                "Set a field of {type_name} (repeat for more; a.b=v, a,b for lists)"
            )),
        data_arg().help(format!(
            "The {type_name} as JSON, @FILE or - (stdin); --set over it"
        )),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation of the spec has `cloudtower <module> <operation> --help`, and the whole
    /// tree passes clap's own consistency checks (no flag given twice, …).
    #[test]
    fn every_operation_has_its_command_and_help() {
        command(&Focus::All).debug_assert();
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

    #[test]
    fn fields_named_like_global_flags_get_a_prefix() {
        assert_eq!(flag_name("orderBy"), "order-by");
        assert_eq!(flag_name("password"), "body-password");
        assert_eq!(flag_name("vm_id"), "vm-id");
    }
}
