//! A client nobody here wrote: the official CloudTower Python SDK (`cloudtower-sdk`, pinned in
//! `tests/python/requirements.txt`) drives the mock program, started on 127.0.0.1 by this
//! test, through the workflows its users run (`tests/python/sdk_workflows.py`): clone a VM and
//! a template, convert template and VM both ways, a VLAN on a VDS read back field by field,
//! iSCSI target, LUN, LUN snapshot, clone and rollback from it, delete with
//! `remove_snapshot`, the recycle-bin setting.
//!
//! Without python3 or the package the test says so and passes, except under `CI=true`
//! (`.ci/run` installs the package), where that is a failure.
#![cfg(feature = "cli")]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use cloudtower_mock::{MOCK_PASSWORD, MOCK_USERNAME};

/// The mock program, stopped when dropped.
struct Program(Child);

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sdk_present() -> bool {
    Command::new("python3")
        .args(["-c", "import cloudtower"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn the_official_python_sdk_runs_its_users_workflows_against_the_mock() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python");
    if !sdk_present() {
        let how = format!("pip install -r {}", dir.join("requirements.txt").display());
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "python3 with cloudtower-sdk is needed under CI: {how}"
        );
        eprintln!("SKIPPED: python3 with cloudtower-sdk not found ({how})");
        return;
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_cloudtower-mock"))
        .args(["--listen", "127.0.0.1:0", "--task-ms", "20"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the mock program starts");
    let stdout = child.stdout.take().unwrap();
    let program = Program(child);
    let mut first = String::new();
    let mut lines = BufReader::new(stdout);
    lines.read_line(&mut first).unwrap();
    // The rest of what the program prints is read too: a closed pipe would fail its output.
    std::thread::spawn(move || std::io::copy(&mut lines, &mut std::io::sink()));
    let url = first
        .trim()
        .rsplit(' ')
        .next()
        .filter(|u| u.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("the program prints its URL first: {first:?}"))
        .to_owned();
    let output = Command::new("python3")
        .arg(dir.join("sdk_workflows.py"))
        .args([url.as_str(), MOCK_USERNAME, MOCK_PASSWORD])
        .output()
        .expect("python3 runs");
    drop(program);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("all workflows passed"),
        "the SDK's workflows failed:\n{stdout}\n{stderr}"
    );
}
