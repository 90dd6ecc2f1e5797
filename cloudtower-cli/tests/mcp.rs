//! `cloudtower mcp` driven by a client nobody here wrote: the Python MCP SDK's
//! (`tests/mcp_client.py`, pip package `mcp`, the version `.ci/run` installs), against the
//! mock tower, over stdio and over streamable HTTP. The script checks each step (tools, find,
//! a filtered list, a refused mutation, a dry run, a snapshot waited for with progress, the
//! change feed, a delete once destructive operations are allowed) and that no secret appears in any answer or in the server's log; it prints
//! the sizes of the tool list and of typical answers, which this test prints too
//! (`scripts/mcp-budget.sh`).
//!
//! Without python3 or its `mcp` package the test says so and passes, except under CI
//! (`CI` set), where a missing package is a failure.

use crate::common;

use std::process::Command;

use cloudtower_mock::MOCK_PASSWORD;
use common::Cli;

/// Whether `python3 -c "import mcp"` works; `Err` with why not.
fn python_with_mcp() -> Result<(), String> {
    match Command::new("python3").args(["-c", "import mcp"]).output() {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(format!(
            "python3 cannot import the `mcp` package ({})",
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Err(error) => Err(format!("python3 does not run: {error}")),
    }
}

/// Runs the client script over `transport`, returning its report (one line of JSON).
async fn drive(transport: &str) -> Option<serde_json::Value> {
    drive_with(transport, None).await
}

/// [`drive`], the tower answering `version` when given (and the script told so).
async fn drive_with(transport: &str, version: Option<&str>) -> Option<serde_json::Value> {
    if let Err(why) = python_with_mcp() {
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
        assert!(
            !ci,
            "{why}: under CI the MCP client test must run (`.ci/run` installs the package)"
        );
        println!("SKIPPED: {why} (pip install mcp==2.3.0 to run this test)");
        return None;
    }
    let cli = match version {
        None => Cli::signed_in().await,
        Some(version) => {
            let config = cloudtower_mock::MockConfig {
                version: Some(version.to_owned()),
                ..Default::default()
            };
            let tower = cloudtower_mock::MockTower::start_with(config)
                .await
                .expect("the mock starts");
            let cli = Cli::with_tower(tower);
            cli.login(&[]).success();
            cli
        }
    };
    let credentials = std::fs::read_to_string(cli.credentials_file()).expect("a stored session");
    let token = credentials
        .lines()
        .find_map(|line| line.strip_prefix("token = "))
        .map(|quoted| quoted.trim_matches('"').to_owned())
        .expect("the session token is stored in the file (keyring off)");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp_client.py");
    let mut command = Command::new("python3");
    if version.is_some() {
        command.arg(script).arg("--older-tower");
    } else {
        command.arg(script);
    }
    let output = command
        .args(["--binary", env!("CARGO_BIN_EXE_cloudtower")])
        .args(["--secret", &token, "--secret", MOCK_PASSWORD])
        .args(["--transport", transport])
        .env("CLOUDTOWER_CONFIG_DIR", cli.config_dir())
        .env("CLOUDTOWER_KEYRING", "off")
        .env("NO_COLOR", "1")
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the MCP client over {transport} failed:\n{stderr}\n{stdout}"
    );
    let report: serde_json::Value =
        serde_json::from_str(stdout.trim().lines().last().unwrap_or(""))
            .unwrap_or_else(|error| panic!("the client's report is JSON ({error}): {stdout}"));
    Some(report)
}

/// Prints the measured sizes: tools and the bytes of their schemas, and each typical
/// answer's bytes and approximate tokens (bytes / 4).
fn print_budget(report: &serde_json::Value) {
    println!(
        "MCP tool list: {} tools, {} bytes (~{} tokens), of which schemas {} bytes",
        report["tools"],
        report["tool_list_bytes"],
        report["tool_list_bytes"].as_u64().unwrap_or(0) / 4,
        report["schema_bytes"]
    );
    if let Some(answers) = report["answers"].as_object() {
        for (label, bytes) in answers {
            let bytes = bytes.as_u64().unwrap_or(0);
            println!("  {label:<40} {bytes:>6} bytes  ~{:>5} tokens", bytes / 4);
        }
    }
}

#[tokio::test]
async fn the_python_sdk_client_drives_the_server_over_stdio() {
    let Some(report) = drive("stdio").await else {
        return;
    };
    print_budget(&report);
    // The budget an agent pays in every conversation stays small.
    let tool_list = report["tool_list_bytes"].as_u64().unwrap();
    assert!(
        tool_list < 10_000,
        "the tool list grew to {tool_list} bytes"
    );
    for (label, bytes) in report["answers"].as_object().unwrap() {
        assert!(
            bytes.as_u64().unwrap() <= 24 * 1024,
            "{label}: {bytes} bytes, more than an answer may hold"
        );
    }
}

#[tokio::test]
async fn the_python_sdk_client_drives_the_server_over_streamable_http() {
    drive("http").await;
}

#[test]
fn the_server_is_only_offered_on_loopback_and_destructive_needs_mutations() {
    for address in ["0.0.0.0:8765", "192.0.2.1:8765", "localhost:8765"] {
        common::bare(&["mcp", "--http", address])
            .assert()
            .code(2)
            .stderr(predicates::str::contains("loopback"));
    }
    common::bare(&["mcp", "--allow-destructive"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--allow-destructive needs --allow-mutations",
        ));
}

/// Operations newer than the tower are marked by `find` and refused before anything is sent,
/// as the SDK refuses them: a 4.6.0 tower lacks what 4.8.0 brought (`get-disk-pools`).
#[tokio::test]
async fn operations_the_tower_predates_are_marked_and_refused() {
    assert!(
        cloudtower_api::SCHEMA_JSON.contains("\"get-disk-pools\""),
        "this test needs a table with get-disk-pools (CloudTower 4.8.0)"
    );
    drive_with("stdio", Some("4.6.0")).await;
}
