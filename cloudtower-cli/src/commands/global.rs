//! The flags every command takes (connection, output, task waits, and the header parameters
//! of the table), declared on the root with `global(true)` and parsed once into the
//! [`Context`] of the run.

use std::path::PathBuf;
use std::time::Duration;

use clap::{value_parser, Arg, ArgAction, ArgMatches};
use cloudtower_api::{Secret, WaitOptions};
use heck::ToShoutySnakeCase;

use crate::context::Context;
use crate::failure::Result;
use crate::output::{Format, Printer, FORMATS};
use crate::schema::header_parameters;
use crate::session::Global;

flag_ids! {
    PROFILE = "profile";
    ENDPOINT = "endpoint";
    USERNAME = "username";
    PASSWORD = "password";
    API_KEY = "api-key";
    SOURCE = "source";
    CA_CERT = "ca-cert";
    INSECURE = "insecure";
    TIMEOUT = "timeout";
    OUTPUT = "output";
    NO_COLOR = "no-color";
    NO_WAIT = "no-wait";
    WAIT_TIMEOUT = "wait-timeout";
}

pub fn args() -> Vec<Arg> {
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
            PROFILE,
            "CLOUDTOWER_PROFILE",
            "The profile of `login` to use [default: default]",
        )
        .value_name("NAME"),
        text(
            ENDPOINT,
            "CLOUDTOWER_ENDPOINT",
            "The tower's URL; the two of an active/passive pair comma-separated",
        )
        .value_name("URL[,URL]"),
        text(USERNAME, "CLOUDTOWER_USERNAME", "Log in as this user"),
        text(PASSWORD, "CLOUDTOWER_PASSWORD", "The user's password").hide_env_values(true),
        text(
            API_KEY,
            "CLOUDTOWER_API_KEY",
            "Authenticate with an API key",
        )
        .hide_env_values(true),
        text(
            SOURCE,
            "CLOUDTOWER_SOURCE",
            "Where the user is defined (LOCAL, LDAP, …)",
        ),
        text(
            CA_CERT,
            "CLOUDTOWER_CA_CERT",
            "Also trust the certificates of this PEM file",
        )
        .value_name("FILE")
        .value_parser(value_parser!(PathBuf)),
        Arg::new(INSECURE)
            .long(INSECURE)
            .global(true)
            .action(ArgAction::SetTrue)
            .help("Accept any TLS certificate (no environment variable: only on purpose)")
            .help_heading("Connection"),
        text(
            TIMEOUT,
            "CLOUDTOWER_TIMEOUT",
            "Seconds one request may take [default: 60]",
        )
        .value_name("SECONDS")
        .value_parser(value_parser!(u64)),
    ]
    .into_iter()
    .chain(header_parameters().iter().copied().map(header_arg))
    .chain([
        Arg::new(OUTPUT)
            .short('o')
            .long(OUTPUT)
            .env("CLOUDTOWER_OUTPUT")
            .global(true)
            .value_name("FORMAT")
            .help(format!(
                "Output format: {} (default: a table for resource verbs, JSON for operations)",
                FORMATS.join(", ")
            ))
            .help_heading("Output"),
        Arg::new(NO_COLOR)
            .long(NO_COLOR)
            .global(true)
            .action(ArgAction::SetTrue)
            .help("No colours, even on a terminal (also NO_COLOR)")
            .help_heading("Output"),
        Arg::new(NO_WAIT)
            .long(NO_WAIT)
            .global(true)
            .action(ArgAction::SetTrue)
            .help("Do not wait for a mutation's tasks: print their ids")
            .help_heading("Tasks"),
        Arg::new(WAIT_TIMEOUT)
            .long(WAIT_TIMEOUT)
            .global(true)
            .value_name("SECONDS")
            .default_value("300")
            .value_parser(value_parser!(u64))
            .help("How long to wait for tasks")
            .help_heading("Tasks"),
    ])
    .collect()
}

/// The environment variable of a header parameter's flag (`CLOUDTOWER_EXTERNAL_CLOUDTOWER_ID`).
fn header_env(name: &str) -> String {
    format!("CLOUDTOWER_{}", name.to_shouty_snake_case())
}

/// `--<header> VALUE`: sent with every call of an operation that takes the header; a call of
/// one that does not is refused before sending. Its id is the header's name, from the table.
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

/// The connection options (`--profile`, `--endpoint`, credentials, TLS, header parameters).
fn connection(matches: &ArgMatches) -> Global {
    let text = |id: &str| matches.get_one::<String>(id).cloned();
    Global {
        profile: text(PROFILE).unwrap_or_else(|| "default".to_owned()),
        endpoints: text(ENDPOINT)
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        username: text(USERNAME),
        password: text(PASSWORD).map(Secret::new),
        api_key: text(API_KEY).map(Secret::new),
        source: text(SOURCE),
        ca_cert: matches.get_one::<PathBuf>(CA_CERT).cloned(),
        insecure: matches.get_flag(INSECURE),
        timeout: matches
            .get_one::<u64>(TIMEOUT)
            .map(|s| Duration::from_secs(*s)),
        header_parameters: header_parameters()
            .iter()
            .copied()
            .filter_map(|name| Some((name, matches.get_one::<String>(name)?.clone())))
            .collect(),
    }
}

/// The context of a run from the global flags (a bad `-o` is refused here, before anything
/// runs).
pub fn context(matches: &ArgMatches) -> Result<Context> {
    let format = matches
        .get_one::<String>(OUTPUT)
        .map(|text| Format::parse(text))
        .transpose()?;
    let wait = WaitOptions {
        timeout: Duration::from_secs(*matches.get_one::<u64>(WAIT_TIMEOUT).expect("defaulted")),
        ..WaitOptions::default()
    };
    Ok(Context::new(
        connection(matches),
        Printer::stdout(matches.get_flag(NO_COLOR)),
        format,
        matches.get_flag(NO_WAIT),
        wait,
    ))
}
