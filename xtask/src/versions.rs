//! `cargo xtask versions`: every published CloudTower version, end to end in the workspace.
//!
//! For each version: a scratch copy of the checkout under `target/versions/<version>/` is
//! regenerated from that version's spec (`regen --spec … --update-pin`, by this very xtask
//! binary run in the copy), the whole workspace is built, and the mock built for that version
//! is started on 127.0.0.1 and driven by the command line built for it (sign in, list and count
//! VMs, a mutation and its task) and by the SDK (`examples/version_session.rs`). Nothing is
//! written outside `target/` of the checkout it is run in. The copies' final artifacts go to
//! `target/versions/target`; their intermediate ones to the checkout's own build directory
//! (`target/`, cargo's `build-dir`), so the dependencies the checkout has built already, with
//! the same features, are not built again, and the checkout's own binaries are never
//! overwritten by a copy's.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use cloudtower_codegen::history;

use crate::processes::{cli_command, exe, run_checked, tail, Mock};

/// The versions checked without `--all`: the oldest, one per major line, the previous pin and
/// the newest.
pub const SAMPLE: &[&str] = &["1.8.0", "3.4.4", "4.3.0", "4.6.0", "4.8.0"];

/// What to do with each version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// `cargo check --workspace` only.
    Check,
    /// Build, start the mock, run the CLI and SDK sessions.
    Run,
}

/// A copy of this xtask binary under `target/versions/`, to regenerate the scratch copies with.
/// Taken before anything builds the workspace: a build with other features (`cargo test
/// --workspace --all-features`) relinks `target/debug/xtask`, and the running binary's own
/// path then names a deleted file.
pub fn keep_own_binary(root: &Path) -> Result<PathBuf, String> {
    let own = std::env::current_exe().map_err(|e| format!("xtask's own path: {e}"))?;
    let dir = root.join("target/versions");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let kept = dir.join(format!("xtask{}", std::env::consts::EXE_SUFFIX));
    std::fs::copy(&own, &kept).map_err(|e| format!("copying {}: {e}", own.display()))?;
    Ok(kept)
}

/// Runs the check for `versions` (the history specs in `specs`) with `xtask` (see
/// [`keep_own_binary`]); prints a line per version and the closing `versions: N passed, N
/// failed`. Whether all passed.
pub fn run(
    root: &Path,
    xtask: &Path,
    specs: &Path,
    versions: &[String],
    depth: Depth,
) -> Result<bool, String> {
    let base = root.join("target/versions");
    let target_dir = base.join("target");
    let build_dir = root.join("target");
    let mut failed = Vec::new();
    for version in versions {
        history::Version::parse(version)?;
        let started = Instant::now();
        let spec = specs.join(format!("cloudtower-{version}.json"));
        let result = if spec.is_file() {
            let dirs = Dirs {
                target: &target_dir,
                build: &build_dir,
            };
            one_version(root, xtask, &spec, &base.join(version), dirs, depth)
        } else {
            Err(format!("no spec {}", spec.display()))
        };
        match result {
            Ok(summary) => println!(
                "versions: {version}: ok in {:.0} s ({summary})",
                started.elapsed().as_secs_f64()
            ),
            Err(error) => {
                println!("versions: {version}: FAILED: {error}");
                failed.push(version.clone());
            }
        }
    }
    println!(
        "versions: {} passed, {} failed",
        versions.len() - failed.len(),
        failed.len()
    );
    Ok(failed.is_empty())
}

/// Where cargo puts a copy's artifacts: the final ones (binaries, examples) and the
/// intermediate ones (`build-dir`: dependencies, fingerprints).
#[derive(Clone, Copy)]
struct Dirs<'a> {
    target: &'a Path,
    build: &'a Path,
}

fn one_version(
    root: &Path,
    xtask: &Path,
    spec: &Path,
    copy: &Path,
    dirs: Dirs<'_>,
    depth: Depth,
) -> Result<String, String> {
    if copy.exists() {
        std::fs::remove_dir_all(copy).map_err(|e| format!("{}: {e}", copy.display()))?;
    }
    copy_checkout(root, copy).map_err(|e| format!("copying the checkout: {e}"))?;
    let regen = Command::new(xtask)
        .current_dir(copy)
        .args(["regen", "--update-pin", "--spec"])
        .arg(spec)
        .env_remove("CLOUDTOWER_SPEC")
        .output()
        .map_err(|e| format!("running xtask regen: {e}"))?;
    if !regen.status.success() {
        return Err(format!(
            "regen failed: {}",
            tail(&String::from_utf8_lossy(&regen.stderr))
        ));
    }
    let cargo = |args: &[&str]| -> Result<(), String> {
        let output = Command::new(crate::cargo())
            .current_dir(copy)
            .args(args)
            .env("CARGO_TARGET_DIR", dirs.target)
            .env("CARGO_BUILD_BUILD_DIR", dirs.build)
            .output()
            .map_err(|e| format!("running cargo: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "`cargo {}` failed: {}",
                args.join(" "),
                tail(&String::from_utf8_lossy(&output.stderr))
            ))
        }
    };
    if depth == Depth::Check {
        cargo(&["check", "--workspace"])?;
        return Ok("the workspace checks".into());
    }
    // One build, so that cloudtower-api is compiled once: every member's library and
    // binaries with every feature (the mock's binary among them), and the SDK's session
    // example. Every feature, as the checkout's test build has them: the dependencies then
    // resolve to the features that build gave them, and their artifacts in the shared build
    // directory are used as they are; only the copy's own crates are compiled.
    cargo(&[
        "build",
        "--workspace",
        "--all-features",
        "--lib",
        "--bins",
        "--example",
        "version_session",
    ])?;
    let bin = dirs.target.join("debug");
    let mock = Mock::start(&bin.join(exe("cloudtower-mock")))?;
    let cli = cli_session(&bin.join(exe("cloudtower")), &mock, copy)?;
    let sdk = run_checked(
        Command::new(bin.join("examples").join(exe("version_session"))).arg(&mock.url),
    )?;
    Ok(format!(
        "workspace built; CLI: {cli}; SDK: {}",
        sdk.lines().last().unwrap_or_default()
    ))
}

/// The CLI session: sign in, list and count VMs, create a label (waiting for its task), read
/// it back. A summary.
fn cli_session(cli: &Path, mock: &Mock, copy: &Path) -> Result<String, String> {
    let config = copy.join("cli-config");
    let run = |args: &[&str]| run_checked(cli_command(cli, &config).args(args));
    mock.sign_in(cli, &config)?;
    let listed: serde_json::Value = serde_json::from_str(&run(&["vm", "list", "-o", "json"])?)
        .map_err(|e| format!("`vm list -o json` is not JSON: {e}"))?;
    let listed = listed.as_array().map_or(0, Vec::len);
    let counted: u64 = run(&["vm", "count"])?
        .trim()
        .parse()
        .map_err(|e| format!("`vm count` is not a number: {e}"))?;
    if listed == 0 || counted != listed as u64 {
        return Err(format!("CLI: {listed} VMs listed but {counted} counted"));
    }
    run(&[
        "label",
        "create",
        "--set",
        "key=cli-session",
        "--set",
        "value=ok",
    ])?;
    let labels: serde_json::Value = serde_json::from_str(&run(&[
        "label",
        "list",
        "--where",
        "key=cli-session",
        "-o",
        "json",
    ])?)
    .map_err(|e| format!("`label list -o json` is not JSON: {e}"))?;
    if labels.as_array().map_or(0, Vec::len) != 1 {
        return Err(format!("CLI: the created label reads back as {labels}"));
    }
    Ok(format!(
        "{listed} VMs listed and counted, a label created and read back"
    ))
}

/// Copies the checkout at `from` into `to`: its sources, without build output, git data,
/// installed packages or caches.
pub fn copy_checkout(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if ["target", ".git", "node_modules", ".spec-cache"]
            .iter()
            .any(|skip| name == *skip)
        {
            continue;
        }
        let target: PathBuf = to.join(&name);
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_checkout(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
