//! `cargo xtask check-features`: cloudtower-api builds, warning-free, with spec-module
//! features alone. Features are additive, so a module that builds alone builds with any
//! others.

use std::path::Path;

use crate::{cargo, run_command};

/// What CI checks: no features, and a few modules alone and together.
const SAMPLE: &[&str] = &[
    "",
    "vm",
    "task",
    "user",
    "cluster",
    "vm-snapshot,iscsi-lun-snapshot",
    "vm,vm-snapshot,iscsi-lun-snapshot",
];

/// Runs clippy (warnings denied) on cloudtower-api's library for each feature set: the sample,
/// or with `all` every module feature alone (the generated `full = [...]` line lists them).
/// Prints a line per set and the closing `features: N passed, M failed`.
pub fn run(root: &Path, all: bool) -> Result<bool, String> {
    let sets: Vec<String> = if all {
        module_features(root)?
    } else {
        SAMPLE.iter().map(|s| (*s).to_owned()).collect()
    };
    let mut failed = Vec::new();
    for features in &sets {
        println!("==> cloudtower-api with features [{features}]");
        let args = [
            "clippy",
            "--quiet",
            "-p",
            "cloudtower-api",
            "--lib",
            "--no-default-features",
            "--features",
            features,
            "--",
            "-D",
            "warnings",
        ];
        if !run_command(root, &cargo(), &args)? {
            failed.push(format!("[{features}]"));
        }
    }
    if failed.is_empty() {
        println!("features: {} passed, 0 failed", sets.len());
    } else {
        println!(
            "features: {} passed, {} failed: {}",
            sets.len() - failed.len(),
            failed.len(),
            failed.join(" ")
        );
    }
    Ok(failed.is_empty())
}

/// Every module feature, from the `full = [...]` line of cloudtower-api's manifest.
fn module_features(root: &Path) -> Result<Vec<String>, String> {
    let path = root.join("cloudtower-api/Cargo.toml");
    let manifest =
        std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let list = manifest
        .lines()
        .find_map(|line| line.strip_prefix("full = [")?.strip_suffix(']'))
        .ok_or_else(|| format!("{}: no `full = [...]` line", path.display()))?;
    Ok(list
        .split(',')
        .map(|f| f.trim().trim_matches('"').to_owned())
        .filter(|f| !f.is_empty())
        .collect())
}
