//! Runs the `cloudtower` binary as a real process against a mock tower on 127.0.0.1, with a
//! configuration directory of its own.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use cloudtower_mock::{MockTower, MOCK_PASSWORD, MOCK_USERNAME};

pub struct Cli {
    pub tower: MockTower,
    dir: tempfile::TempDir,
}

impl Cli {
    /// A mock tower, not signed in yet.
    pub async fn new() -> Cli {
        Cli {
            tower: MockTower::start().await.expect("the mock starts"),
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    /// `tower`, not signed in yet.
    pub fn with_tower(tower: MockTower) -> Cli {
        Cli {
            tower,
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    /// A mock tower, signed in as its local user (profile `default`).
    pub async fn signed_in() -> Cli {
        let cli = Cli::new().await;
        cli.login(&[]).success();
        cli
    }

    pub fn config_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn credentials_file(&self) -> PathBuf {
        self.dir.path().join("credentials.toml")
    }

    /// `cloudtower ARGS` with this directory, and nothing of the caller's environment that
    /// the tool reads.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut command = bare(args);
        command.env("CLOUDTOWER_CONFIG_DIR", self.dir.path());
        command
    }

    /// `cloudtower login` against the mock, with `extra` flags.
    pub fn login(&self, extra: &[&str]) -> assert_cmd::assert::Assert {
        self.login_to(&self.tower.url(), extra).assert()
    }

    /// `cloudtower login` as the mock's user at `endpoints`, with `extra` flags, to run.
    pub fn login_to(&self, endpoints: &str, extra: &[&str]) -> Command {
        let mut args = vec![
            "login",
            "--endpoint",
            endpoints,
            "--username",
            MOCK_USERNAME,
            "--password",
            MOCK_PASSWORD,
        ];
        args.extend_from_slice(extra);
        self.cmd(&args)
    }

    /// The standard output of a command that must succeed.
    pub fn stdout(&self, args: &[&str]) -> String {
        let output = self.cmd(args).output().expect("the binary runs");
        assert!(
            output.status.success(),
            "cloudtower {args:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8 output")
    }

    /// The JSON a command prints with `-o json`.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut args = args.to_vec();
        args.extend(["-o", "json"]);
        serde_json::from_str(&self.stdout(&args)).expect("JSON output")
    }
}

/// The value of `field` of every item of a JSON list.
pub fn column(items: &serde_json::Value, field: &str) -> Vec<String> {
    items
        .as_array()
        .expect("a list")
        .iter()
        .map(|item| item[field].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// `cloudtower ARGS` with nothing of the caller's environment that the tool reads, and no
/// keyring: what it prints does not depend on who runs the tests.
pub fn bare(args: &[&str]) -> Command {
    let mut command = Command::cargo_bin("cloudtower").expect("the binary is built");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CLOUDTOWER_") {
            command.env_remove(name);
        }
    }
    command
        // Never the keyring of whoever runs the tests: `credentials.toml` in the directory.
        .env("CLOUDTOWER_KEYRING", "off")
        .env("NO_COLOR", "1")
        .args(args);
    command
}
