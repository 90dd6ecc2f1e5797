//! `cargo xtask mcp-conformance`: the official MCP conformance suite
//! (`@modelcontextprotocol/conformance`) against `cloudtower mcp --http` on 127.0.0.1, signed
//! in to the mock tower; both are started and stopped here, with the binaries of the test build
//! ([`crate::conformance::BUILD`]). Every server scenario runs; those that do not apply are
//! listed, with why, in [`BASELINE`], and the suite fails on any other failure (and on a
//! listed scenario that passes). The suite is installed into `target/mcp-conformance`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::processes::{cli_command, exe, has_tool, stop, Mock};
use crate::run_command;

/// 0.1.13 is the newest release that runs on Node.js 20 (0.1.14 and later import
/// `fs.globSync`, Node.js 22).
const SUITE: &str = "@modelcontextprotocol/conformance@0.1.13";

/// The scenarios expected to fail, each with why.
const BASELINE: &str = "cloudtower-cli/tests/mcp-conformance-baseline.yml";

/// How long the MCP server may take to say where it serves.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the suite against the test build's binaries. `Err(why)` inside when it cannot run
/// here (no Node.js/npm, or the suite cannot be installed); else whether it passed.
pub fn run(root: &Path) -> Result<Result<bool, String>, String> {
    if !has_tool("node") || !has_tool("npm") {
        return Ok(Err(
            "no Node.js/npm on this machine; the suite needs them".into()
        ));
    }
    let work = root.join("target/mcp-conformance");
    let installed = run_command(
        root,
        Path::new("npm"),
        &[
            "install",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--prefix",
            &work.to_string_lossy(),
            SUITE,
        ],
    )?;
    if !installed {
        return Ok(Err(format!(
            "npm could not install {SUITE}: no access to the npm registry?"
        )));
    }
    let bin = crate::debug_dir(root)?;
    let mock = Mock::start(&bin.join(exe("cloudtower-mock")))?;
    let config = work.join("cli-config");
    // A session of an earlier run must not stand in for this one's.
    if config.exists() {
        std::fs::remove_dir_all(&config).map_err(|e| format!("{}: {e}", config.display()))?;
    }
    let cli = bin.join(exe("cloudtower"));
    mock.sign_in(&cli, &config)?;
    let server =
        McpServer::start(cli_command(&cli, &config).args(["mcp", "--http", "127.0.0.1:0"]))?;
    println!("mcp-conformance: {SUITE} against {}", server.url);
    let status = Command::new(work.join("node_modules/.bin/conformance"))
        .current_dir(root)
        .args(["server", "--url", &server.url, "--suite", "all"])
        .args(["--expected-failures", BASELINE, "--output-dir"])
        .arg(work.join("results"))
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("running the MCP conformance suite: {e}"))?;
    Ok(Ok(status.success()))
}

/// `cloudtower mcp --http`, stopped when dropped.
struct McpServer {
    child: Child,
    /// `http://127.0.0.1:PORT/mcp`, from the line it prints when it serves.
    url: String,
}

impl McpServer {
    fn start(command: &mut Command) -> Result<McpServer, String> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting `cloudtower mcp --http`: {e}"))?;
        let stderr = child.stderr.take().expect("piped");
        // Its log is read to its end on a thread of its own, so the server never blocks on a
        // full pipe; the first line that says where it serves is passed on.
        let (found, serving) = mpsc::channel();
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("serving http://").nth(1) {
                    if let Some(found) = found.take() {
                        let address = rest.split_whitespace().next().unwrap_or_default();
                        let _ = found.send(format!("http://{address}"));
                    }
                }
            }
        });
        match serving.recv_timeout(START_TIMEOUT) {
            Ok(url) => Ok(McpServer { child, url }),
            Err(_) => {
                stop(&mut child);
                Err(format!(
                    "`cloudtower mcp --http` did not say where it serves within {} s",
                    START_TIMEOUT.as_secs()
                ))
            }
        }
    }
}

impl Drop for McpServer {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}
