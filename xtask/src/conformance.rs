//! `cargo xtask conformance`: every operation against Stoplight Prism (README,
//! "Conformance"), with the conformance binary of the test build.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::processes::{has_tool, stop};
use crate::{cargo, run_command};

/// The build that gives the conformance binary: the test run's (every workspace member, every
/// feature, the tests' dev-dependencies), so that the binary reuses the test build's
/// artifacts instead of building cloudtower-api with every module a second time (the release
/// build alone took 2 min 12 s on 2 cores; a debug call costs Prism's time, not ours).
pub const BUILD: &[&str] = &[
    "build",
    "--workspace",
    "--all-features",
    "--bins",
    "--tests",
];

/// `cargo xtask conformance ARGS`: builds (as [`BUILD`]) and runs the binary in the
/// foreground.
pub fn run(root: &Path, args: &[String]) -> Result<bool, String> {
    if !run_command(root, &cargo(), BUILD)? {
        return Ok(false);
    }
    let status = Command::new(binary(root)?)
        .current_dir(root)
        .args(args)
        .status()
        .map_err(|e| format!("running the conformance binary: {e}"))?;
    Ok(status.success())
}

/// The conformance binary of the test build.
fn binary(root: &Path) -> Result<PathBuf, String> {
    Ok(crate::debug_dir(root)?.join("cloudtower-conformance"))
}

/// Whether conformance can run here, and why not: it needs Node.js and npm for Prism, and
/// installs Prism with `npm ci` in conformance/.
pub fn prepare(root: &Path) -> Result<Result<(), String>, String> {
    if std::env::var("CLOUDTOWER_CONFORMANCE").as_deref() == Ok("0") {
        return Ok(Err("CLOUDTOWER_CONFORMANCE=0".into()));
    }
    if !has_tool("node") || !has_tool("npm") {
        return Ok(Err(
            "no Node.js/npm on this machine; Prism needs them".into()
        ));
    }
    if !run_command(
        &root.join("conformance"),
        Path::new("npm"),
        &["ci", "--no-audit", "--no-fund", "--loglevel=error"],
    )? {
        return Ok(Err(
            "npm ci could not install Prism: no access to the npm registry?".into(),
        ));
    }
    Ok(Ok(()))
}

/// A conformance run in the background (the known failures allowed), its output going to a
/// log printed when it is awaited.
pub struct Background {
    child: Child,
    log: PathBuf,
}

impl Background {
    /// Starts the binary (built by [`BUILD`]).
    pub fn start(root: &Path) -> Result<Background, String> {
        let binary = binary(root)?;
        let log = binary.with_file_name("conformance.log");
        let out = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(&binary)
            .current_dir(root)
            .args(["--known-failures", "conformance/known-failures.txt"])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", binary.display()))?;
        Ok(Background { child, log })
    }

    /// Waits for the run, prints its output; whether it passed.
    pub fn finish(mut self) -> Result<bool, String> {
        let status = self
            .child
            .wait()
            .map_err(|e| format!("waiting for conformance: {e}"))?;
        let output = std::fs::read_to_string(&self.log)
            .map_err(|e| format!("{}: {e}", self.log.display()))?;
        println!("\n==> conformance ({})", self.log.display());
        print!("{output}");
        Ok(status.success())
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        // An early return (a failed build step) must not leave Prism running: the binary's
        // Prism processes die with it.
        if matches!(self.child.try_wait(), Ok(None)) {
            stop(&mut self.child);
        }
    }
}
