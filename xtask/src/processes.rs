//! Processes the tasks start and stop: the mock binary, the command line, tools on the PATH.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether `tool --version` runs and succeeds.
pub fn has_tool(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The command line at `cli`, with its session kept in `config`, no keyring, and none of the
/// caller's `CLOUDTOWER_*` settings.
pub fn cli_command(cli: &Path, config: &Path) -> Command {
    let mut command = Command::new(cli);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CLOUDTOWER_") {
            command.env_remove(name);
        }
    }
    command
        .env("CLOUDTOWER_CONFIG_DIR", config)
        .env("CLOUDTOWER_KEYRING", "off")
        .env("NO_COLOR", "1");
    command
}

/// Stops `child` (kills it, then reaps it so that it leaves no zombie); a child that has
/// ended already is only reaped.
pub fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// The mock binary, started on a free port of 127.0.0.1 and stopped when dropped.
pub struct Mock {
    child: Child,
    pub url: String,
    /// The user it prints it lets in (`log in as USER / PASSWORD`).
    pub username: String,
    pub password: String,
}

impl Mock {
    pub fn start(bin: &Path) -> Result<Mock, String> {
        let mut child = Command::new(bin)
            .args(["--listen", "127.0.0.1:0", "--task-ms", "50"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        let stdout = child.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        // Its first two lines say where it listens and whom it lets in (bounded: two lines).
        let mut next = || lines.next().and_then(Result::ok).unwrap_or_default();
        let (first, second) = (next(), next());
        let url = first
            .strip_prefix("cloudtower-mock listening on ")
            .map(|u| u.trim().trim_end_matches('/').to_owned());
        let user = second
            .strip_prefix("log in as ")
            .and_then(|rest| rest.split(';').next())
            .and_then(|user| user.split_once(" / "));
        match (url, user) {
            (Some(url), Some((username, password))) => Ok(Mock {
                child,
                url,
                username: username.to_owned(),
                password: password.to_owned(),
            }),
            _ => {
                stop(&mut child);
                Err(format!("the mock did not start: {first:?} {second:?}"))
            }
        }
    }

    /// Signs the command line at `cli` in to this mock, keeping its session in `config`.
    pub fn sign_in(&self, cli: &Path, config: &Path) -> Result<(), String> {
        run_checked(cli_command(cli, config).args([
            "login",
            "--endpoint",
            &self.url,
            "--username",
            &self.username,
            "--password",
            &self.password,
        ]))
        .map(drop)
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// Runs `command` (within a bound of 5 minutes); its standard output, or an error with the
/// end of what it printed.
pub fn run_checked(command: &mut Command) -> Result<String, String> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{command:?}: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            break;
        }
        if Instant::now() > deadline {
            stop(&mut child);
            return Err(format!("{command:?}: no end within 5 minutes"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{:?} {:?} failed ({}): {}{}",
            command.get_program(),
            command.get_args().collect::<Vec<_>>(),
            output.status,
            tail(&stdout),
            tail(&String::from_utf8_lossy(&output.stderr))
        ))
    }
}

/// The last lines of `text`, for an error message.
pub fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

pub fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}
