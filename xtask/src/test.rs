//! `cargo xtask test`: every test of the workspace, conformance and the published-version
//! sample, on one build.
//!
//! Order: the test layout is checked (every test file compiled); one build gives the test
//! binaries and the conformance binary (the same features and profile, so nothing is built
//! twice); the tests run (`cargo nextest` when installed: every test binary at once, one
//! process per test; then the doctests, which nextest does not run; else `cargo test`); then
//! the official MCP conformance suite against `cloudtower mcp --http`; then
//! conformance, alone on the machine (its phases run at once inside it: beside the tests, on 2
//! cores, Prism was starved into timeouts); then the version sample (a workspace build).

use std::path::Path;
use std::process::{Command, Stdio};

use crate::conformance::{self, Background};
use crate::{cargo, history_specs_dir, history_versions, layout, mcp, run_command, versions};

pub fn run(root: &Path, args: &[String]) -> Result<bool, String> {
    let xtask = versions::keep_own_binary(root)?;
    if !layout::check(root)? {
        return Ok(false);
    }
    if !run_command(root, &cargo(), conformance::BUILD)? {
        return Ok(false);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut passed = tests(root, &args)?;
    // On this build's binaries: the suite builds nothing.
    if std::env::var("CLOUDTOWER_MCP_CONFORMANCE").as_deref() == Ok("0") {
        eprintln!("mcp-conformance: SKIPPED (CLOUDTOWER_MCP_CONFORMANCE=0)");
    } else {
        match mcp::run(root)? {
            Ok(suite_passed) => passed &= suite_passed,
            // CI installs what the suite needs: there a skip would hide that it never ran.
            Err(why) if std::env::var_os("CI").is_some() => {
                eprintln!("mcp-conformance: FAILED: it cannot run under CI ({why})");
                passed = false;
            }
            Err(why) => eprintln!("mcp-conformance: SKIPPED ({why})"),
        }
    }
    match conformance::prepare(root)? {
        Ok(()) => passed &= Background::start(root)?.finish()?,
        Err(why) => eprintln!("conformance: SKIPPED ({why})"),
    }
    passed &= version_sample(root, &xtask)?;
    Ok(passed)
}

/// Whether `cargo nextest` is installed.
fn has_nextest() -> bool {
    Command::new(cargo())
        .args(["nextest", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The workspace's tests with every feature (every failing test reported, not just the
/// first binary's).
fn tests(root: &Path, args: &[&str]) -> Result<bool, String> {
    let common = ["--workspace", "--all-features"];
    if !has_nextest() {
        let mut test = vec!["test"];
        test.extend(common);
        test.push("--no-fail-fast");
        test.extend(args);
        return run_command(root, &cargo(), &test);
    }
    // Two tests per core: most tests wait on servers, subprocesses and timers, and with one
    // per core a third of the CPU time stayed idle (2 cores: 218 s with 2 at once, 159 s
    // with 4, 148 s with 6; 145 s with 4 and the slowest first, .config/nextest.toml).
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) * 2;
    let threads = threads.to_string();
    let mut nextest = vec!["nextest", "run"];
    nextest.extend(common);
    nextest.extend(["--no-fail-fast", "--final-status-level", "slow"]);
    if !args
        .iter()
        .any(|a| a.starts_with("--test-threads") || a.starts_with("-j"))
    {
        nextest.extend(["--test-threads", &threads]);
    }
    nextest.extend(args);
    let tests_passed = run_command(root, &cargo(), &nextest)?;
    let mut doc = vec!["test"];
    doc.extend(common);
    doc.extend(["--doc", "--no-fail-fast"]);
    doc.extend(args);
    let docs_passed = run_command(root, &cargo(), &doc)?;
    Ok(tests_passed && docs_passed)
}

/// Every published version end to end costs a workspace build each: the oldest by default,
/// CLOUDTOWER_VERSIONS=all (or a list) for more, 0 for none.
fn version_sample(root: &Path, xtask: &Path) -> Result<bool, String> {
    let wanted = std::env::var("CLOUDTOWER_VERSIONS").unwrap_or_else(|_| "1.8.0".into());
    if wanted == "0" {
        return Ok(true);
    }
    let dir = history_specs_dir(root);
    let versions = if wanted == "all" {
        history_versions(&dir)?
    } else {
        wanted
            .split([',', ' '])
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    };
    versions::run(root, xtask, &dir, &versions, versions::Depth::Run)
}
