//! Project tasks: `cargo xtask regen`, `regen-fixtures`, `fetch-spec`, `conformance`,
//! `mcp-conformance`, `test`, `history`, `versions`, `check-features`, `check-msrv`,
//! `package`. One module per command (and `processes`, the processes they start); this file
//! parses the command line and holds what they share (the checkout, running cargo).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cloudtower_codegen::history;
use cloudtower_codegen::pinned::{self, Pin};

#[cfg(test)]
mod architecture;
mod conformance;
mod features;
mod history_table;
mod layout;
mod mcp;
mod msrv;
mod package;
mod processes;
mod regen;
mod test;
mod versions;

#[derive(Parser)]
#[command(name = "xtask", about = "cloudtower-rs project tasks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerate cloudtower-api's generated code from the pinned spec.
    Regen {
        /// The spec: a merged JSON/YAML file or a directory of spec modules. Default: the
        /// pinned version's file found in $CLOUDTOWER_SPECS, else ../shared/specs beside the
        /// workspace, else the hash-checked download cache .spec-cache/ (downloaded when
        /// missing, as `fetch-spec` does).
        #[arg(long, env = "CLOUDTOWER_SPEC")]
        spec: Option<PathBuf>,
        /// Change nothing; fail if the committed code differs from what the spec produces.
        #[arg(long, conflicts_with = "update_pin")]
        check: bool,
        /// Accept a new spec version: record its version and hashes in spec/pin.json. With
        /// --out DIR (another directory than the crate's), the repository's pin is left alone:
        /// the spec is taken without checking it against the pin and its would-be pin is
        /// written to DIR/pin.json.
        #[arg(long)]
        update_pin: bool,
        /// Where the generated files go (default cloudtower-api/src/generated, which also
        /// updates the features block of cloudtower-api/Cargo.toml). Any other DIR gets
        /// everything inside it and nothing outside it: the features block as the fragment
        /// DIR/features.toml (to paste into a crate's Cargo.toml), and DIR/pin.json with
        /// --update-pin. The files are written into a scratch directory beside DIR first and
        /// renamed into place, so a failed write leaves DIR as it was.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Regenerate the fixture crate's code (fixture-check/src/generated) from the hand-written
    /// fixture spec (spec/fixtures/constructs/), which the generator's snapshot tests cover.
    RegenFixtures {
        /// Change nothing; fail if the committed fixture code is stale.
        #[arg(long)]
        check: bool,
    },
    /// Every operation against Stoplight Prism and the older spec (README, "Conformance"):
    /// the conformance binary of the test build (`cargo build --workspace --all-features
    /// --bins --tests`, debug), run with ARGS (needs `npm ci` in conformance/).
    Conformance {
        /// Passed to the conformance binary (`--help` lists them).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// All tests on one build: the test layout check, the workspace's tests with every
    /// feature (`cargo nextest run` and the doctests when cargo-nextest is installed, else
    /// `cargo test`), then, when Node.js and npm are present, the MCP conformance suite and
    /// conformance (after `npm ci` in conformance/), then the published-version sample
    /// (CLOUDTOWER_VERSIONS). CLOUDTOWER_MCP_CONFORMANCE=0 and CLOUDTOWER_CONFORMANCE=0 skip
    /// those two.
    Test {
        /// Passed to `cargo nextest run` / `cargo test` after `--workspace --all-features`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The official MCP conformance suite (@modelcontextprotocol/conformance) against
    /// `cloudtower mcp --http`, signed in to the mock, with the test build's binaries (built
    /// first, as for `conformance`); the expected failures are listed with why in
    /// cloudtower-cli/tests/mcp-conformance-baseline.yml. Needs Node.js and npm.
    McpConformance,
    /// Rebuild the version history table (spec/history.txt: which published specs have each
    /// operation) from the spec of every obtainable published version.
    History {
        /// The directory of history specs (`cloudtower-<version>.json`). Default:
        /// $CLOUDTOWER_SPECS/history, else ../shared/specs/history beside the workspace.
        #[arg(long)]
        specs: Option<PathBuf>,
        /// Change nothing; fail if the committed table differs from what the specs give.
        #[arg(long)]
        check: bool,
    },
    /// Every published version end to end: regenerate a scratch copy of the workspace under
    /// target/versions/ for each, build it, start its mock and run a CLI and an SDK session
    /// against it (sign in, list and count VMs, a mutation and its task).
    Versions {
        /// The versions (default: a sample, 1.8.0 3.4.4 4.3.0 4.6.0 4.8.0).
        versions: Vec<String>,
        /// Every version of the history (23).
        #[arg(long, conflicts_with = "versions")]
        all: bool,
        /// Only `cargo check --workspace` each copy (no build, no sessions).
        #[arg(long)]
        check: bool,
        /// The directory of history specs. Default: as for `history`.
        #[arg(long)]
        specs: Option<PathBuf>,
    },
    /// cloudtower-api builds warning-free (clippy) with each spec-module feature alone: a
    /// sample (no features, a few modules alone and together; what CI runs), or every one.
    CheckFeatures {
        /// Every module feature alone (about two hours on 2 cores).
        #[arg(long)]
        all: bool,
    },
    /// The workspace's `rust-version` covers the highest `rust-version` in the dependency
    /// tree of the published crates (normal and build dependencies, every feature).
    CheckMsrv,
    /// The published crates packaged as `cargo publish` would upload them, each then unpacked
    /// alone and compiled (`cargo check`, default features) from its package, the published
    /// crates it depends on from theirs.
    Package,
    /// Download the pinned spec into the git-ignored cache (.spec-cache/), checking its hash
    /// (`regen`, the tests and conformance use it when CLOUDTOWER_SPECS and ../shared/specs
    /// do not have the spec).
    FetchSpec {
        /// Download from here instead of the pinned address.
        #[arg(long)]
        url: Option<String>,
    },
}

fn main() -> ExitCode {
    forget_own_package_env();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo run` (the `cargo xtask` alias) describes xtask's own package to it in environment
/// variables, which every command xtask runs would inherit. A build script that watches one
/// (ring's watches `CARGO_MANIFEST_DIR`) then reruns whenever builds alternate between the
/// shell and xtask, and everything above it is built again: `.ci/run`'s clippy, docs and
/// MCP steps rebuilt what its xtask steps had built, and back. Run before any thread starts.
fn forget_own_package_env() {
    for (name, _) in std::env::vars_os() {
        if cloudtower_codegen::cargo_env::set_for_own_package(&name.to_string_lossy()) {
            std::env::remove_var(&name);
        }
    }
}

fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| "cargo".into(), PathBuf::from)
}

/// Runs `program args` in `dir`; whether it succeeded.
fn run_command(dir: &Path, program: &Path, args: &[&str]) -> Result<bool, String> {
    std::process::Command::new(program)
        .current_dir(dir)
        .args(args)
        .status()
        .map(|status| status.success())
        .map_err(|e| format!("running {}: {e}", program.display()))
}

fn exit_code(succeeded: Result<bool, String>) -> Result<ExitCode, String> {
    Ok(if succeeded? {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The checkout this run works on: the cargo workspace around the current directory, found at
/// run time. Not the one xtask was compiled in (`CARGO_MANIFEST_DIR`): cargo does not rebuild
/// xtask for a second checkout that shares its target directory (a global
/// `CARGO_TARGET_DIR`), and that binary would otherwise write into the first checkout.
fn workspace_root() -> Result<PathBuf, String> {
    let output = std::process::Command::new(cargo())
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("running `cargo locate-project`: {e}"))?;
    if !output.status.success() {
        return Err(
            "no cargo workspace around the current directory: run xtask inside a \
             cloudtower-rs checkout"
                .into(),
        );
    }
    let manifest = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let root = manifest
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("{} has no directory", manifest.display()))?;
    checkout_at(&root)
}

/// `root` when it is a cloudtower-rs checkout (it has the pin and the generated crate).
fn checkout_at(root: &Path) -> Result<PathBuf, String> {
    for marker in [
        PIN_FILE_PATH,
        "cloudtower-api/Cargo.toml",
        "xtask/Cargo.toml",
    ] {
        if !root.join(marker).is_file() {
            return Err(format!(
                "{} is not a cloudtower-rs checkout (no {marker}): run xtask inside one",
                root.display()
            ));
        }
    }
    Ok(root.to_path_buf())
}

/// The pin, from a checkout's root.
const PIN_FILE_PATH: &str = "spec/pin.json";

fn run(cli: Cli) -> Result<ExitCode, String> {
    let root = workspace_root()?;
    eprintln!("checkout: {}", root.display());
    match cli.command {
        Command::Conformance { args } => exit_code(conformance::run(&root, &args)),
        Command::Test { args } => exit_code(test::run(&root, &args)),
        Command::McpConformance => {
            if !run_command(&root, &cargo(), conformance::BUILD)? {
                return Ok(ExitCode::FAILURE);
            }
            match mcp::run(&root)? {
                Ok(passed) => exit_code(Ok(passed)),
                Err(why) => Err(format!("mcp-conformance cannot run here: {why}")),
            }
        }
        Command::Versions {
            versions,
            all,
            check,
            specs,
        } => {
            let dir = specs.unwrap_or_else(|| history_specs_dir(&root));
            let versions = if all {
                history_versions(&dir)?
            } else if versions.is_empty() {
                versions::SAMPLE.iter().map(|v| (*v).to_owned()).collect()
            } else {
                versions
            };
            let depth = if check {
                versions::Depth::Check
            } else {
                versions::Depth::Run
            };
            let xtask = versions::keep_own_binary(&root)?;
            exit_code(versions::run(&root, &xtask, &dir, &versions, depth))
        }
        Command::History { specs, check } => {
            let dir = specs.unwrap_or_else(|| history_specs_dir(&root));
            exit_code(history_table::run(&root, &dir, check))
        }
        Command::FetchSpec { url } => {
            let pin = Pin::load(&root)?;
            eprintln!("fetching {}", url.as_deref().unwrap_or(&pin.url));
            let saved = pinned::fetch(&root, &pin, url.as_deref())?;
            eprintln!("saved {}", saved.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::RegenFixtures { check } => exit_code(regen::fixtures(&root, check)),
        Command::Regen {
            spec,
            check,
            update_pin,
            out,
        } => exit_code(regen::run(&root, spec, out.as_deref(), check, update_pin)),
        Command::CheckFeatures { all } => exit_code(features::run(&root, all)),
        Command::CheckMsrv => exit_code(msrv::run(&root)),
        Command::Package => exit_code(package::run(&root)),
    }
}

/// The versions of the history specs in `dir`, oldest first.
fn history_versions(dir: &Path) -> Result<Vec<String>, String> {
    let snapshots = history::read_specs(dir)?;
    Ok(snapshots.iter().map(|s| s.version.to_string()).collect())
}

/// The history specs' default directory: `$CLOUDTOWER_SPECS/history` (a relative
/// `CLOUDTOWER_SPECS` from the current directory, else from the workspace root), else
/// `../shared/specs/history` beside the workspace.
fn history_specs_dir(root: &Path) -> PathBuf {
    match std::env::var_os(pinned::SPECS_ENV) {
        Some(dir) => {
            let dir = PathBuf::from(dir).join("history");
            if dir.is_absolute() || dir.is_dir() {
                dir
            } else {
                root.join(dir)
            }
        }
        None => root.join("../shared/specs/history"),
    }
}

/// Where the checkout's debug builds put their binaries (`target/debug`, or under
/// `CARGO_TARGET_DIR`).
fn debug_dir(root: &Path) -> Result<PathBuf, String> {
    let metadata = metadata(root, &["--no-deps"])?;
    let target = metadata["target_directory"]
        .as_str()
        .ok_or("`cargo metadata` names no target directory")?;
    Ok(Path::new(target).join("debug"))
}

/// `cargo metadata --no-deps` of the checkout: its packages and target directory.
fn metadata(root: &Path, extra: &[&str]) -> Result<serde_json::Value, String> {
    let output = std::process::Command::new(cargo())
        .current_dir(root)
        .args(["metadata", "--format-version", "1"])
        .args(extra)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("running `cargo metadata`: {e}"))?;
    if !output.status.success() {
        return Err("`cargo metadata` failed".into());
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("`cargo metadata`: {e}"))
}
