//! Every workflow example runs green against its embedded mock tower, printing its steps.
//!
//! `cargo test` builds the examples next to this test; when they are missing (a filtered
//! `cargo test --test examples`), the test builds them first.
#![cfg(feature = "full")]

use std::path::PathBuf;
use std::process::Command;
use std::sync::Once;

fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/examples-<hash> → target/<profile>/examples/<name>
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>")
        .join("examples");
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

static BUILD: Once = Once::new();

fn run(name: &str, args: &[&str]) -> String {
    let mut path = example(name);
    if !path.exists() {
        BUILD.call_once(|| {
            let status = Command::new(env!("CARGO"))
                .args(["build", "-p", "cloudtower-api", "--examples"])
                .status()
                .expect("cargo runs");
            assert!(status.success(), "building the examples failed");
        });
        path = example(name);
    }
    let output = Command::new(&path)
        .args(args)
        .env_remove("CLOUDTOWER_ENDPOINT")
        .env_remove("CLOUDTOWER_USERNAME")
        .env_remove("CLOUDTOWER_PASSWORD")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{name} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains("embedded mock CloudTower"), "{stdout}");
    assert!(stdout.trim_end().ends_with("==> done"), "{stdout}");
    stdout
}

#[test]
fn vm_backup_prints_the_lun_snapshot_local_ids() {
    let out = run("vm_backup", &[]);
    assert!(out.contains("(FILE_SYSTEM_CONSISTENT)"), "{out}");
    assert_eq!(out.matches("-> local_id ").count(), 2, "{out}");
    // Without VMTools, the snapshot is crash consistent.
    let out = run("vm_backup", &["--vm", "web-1"]);
    assert!(out.contains("(CRASH_CONSISTENT)"), "{out}");
    assert_eq!(out.matches("-> local_id ").count(), 1, "{out}");
}

#[test]
fn vm_backup_reports_an_unknown_vm() {
    let output = Command::new(example("vm_backup"))
        .args(["--vm", "no-such-vm"])
        .env_remove("CLOUDTOWER_ENDPOINT")
        .output();
    if let Ok(output) = output {
        assert!(!output.status.success());
        assert!(String::from_utf8_lossy(&output.stderr).contains("no VM is named \"no-such-vm\""));
    }
}

#[test]
fn create_vm_makes_a_blank_and_a_cloud_init_vm() {
    let out = run("create_vm", &[]);
    assert!(
        out.contains("sdk-example-blank (") && out.contains("1 NIC(s)"),
        "{out}"
    );
    assert!(out.contains("hostname sdk-example-cloud-init"), "{out}");
}

#[test]
fn vm_power_starts_restarts_and_shuts_down() {
    let out = run("vm_power", &[]);
    assert!(out.contains("starting 1 stopped VM(s)"), "{out}");
    let last = out.rsplit("shutting down").next().unwrap();
    assert_eq!(last.matches("STOPPED").count(), 2, "{out}");
}

#[test]
fn edit_vm_adds_removes_and_migrates() {
    let out = run("edit_vm", &[]);
    assert!(out.contains("2 disk(s), 2 CD-ROM(s), 2 NIC(s)"), "{out}");
    assert!(out.contains("now runs on node-2"), "{out}");
}

#[test]
fn vm_recycle_ends_with_the_vm_deleted() {
    let out = run("vm_recycle", &[]);
    assert!(out.contains("in recycle bin: true"), "{out}");
    assert!(out.contains("the VM no longer exists"), "{out}");
}

#[test]
fn upload_image_sends_three_chunks() {
    let out = run("upload_image", &[]);
    assert!(out.contains("chunk 3/3: 2621440 of 2621440 bytes"), "{out}");
    assert!(out.contains("ended SUCCESSED"), "{out}");
}

#[test]
fn vnc_prints_a_websocket_url() {
    let out = run("vnc", &[]);
    assert!(
        out.contains("ws://127.0.0.1:") && out.contains("/websockify/?uuid="),
        "{out}"
    );
}

#[test]
fn watch_sees_the_changes_it_causes() {
    let out = run("watch", &["--seconds", "20"]);
    assert!(out.contains("saw 2 change(s)"), "{out}");
}

/// Runs `name` against both towers of a mock active/passive pair, switching the pair over
/// when the example prints a line containing `switch_at`; returns what it printed. `held`, the
/// example's first call after that line, waits 1 s on the first tower, so that the switch
/// lands before the calls after it however fast the example runs on (it printed and went on
/// while the test read the line: under load, all of its calls could reach the first tower).
/// `then`, a later call, must have reached the second tower.
fn run_through_failover(
    name: &str,
    args: &[&str],
    switch_at: &str,
    held: &str,
    then: &str,
) -> String {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let path = example(name);
    if !path.exists() {
        run(name, &[]);
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let pair = runtime
        .block_on(cloudtower_mock::MockPair::start())
        .unwrap();
    // Where the passive tower points: nothing listens there, so following it would fail.
    pair.set_passive_location(Some("http://127.0.0.1:9/followed"));
    pair.tower(0).set_fault(
        held,
        cloudtower_mock::Fault::new()
            .latency(std::time::Duration::from_secs(1))
            .times(1),
    );
    let [first, second] = pair.urls();
    let mut child = Command::new(&path)
        .args(["--endpoint", &first, "--endpoint", &second])
        .args(["--username", cloudtower_mock::MOCK_USERNAME])
        .args(["--password", cloudtower_mock::MOCK_PASSWORD])
        .args(args)
        .env_remove("CLOUDTOWER_ENDPOINT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = String::new();
    let mut switched = false;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if !switched && line.contains(switch_at) {
            pair.switch_over();
            switched = true;
        }
        stdout.push_str(&line);
        stdout.push('\n');
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(switched, "never printed {switch_at:?}:\n{stdout}\n{stderr}");
    assert!(
        output.status.success(),
        "{name} failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.trim_end().ends_with("==> done"), "{stdout}");
    assert!(
        stdout.contains(&format!("active endpoint {first}/v2/api")),
        "{stdout}"
    );
    // Calls after the switch went to the second tower, which probed itself into service.
    assert!(pair.tower(1).request_count(then) > 0, "{stdout}");
    assert!(pair.healthz_counts()[1] >= 2, "{:?}", pair.healthz_counts());
    stdout
}

#[test]
fn vm_power_runs_through_a_failover_of_an_active_passive_pair() {
    let out = run_through_failover("vm_power", &[], "restarting", "restart-vm", "get-vms");
    let last = out.rsplit("shutting down").next().unwrap();
    assert_eq!(last.matches("STOPPED").count(), 2, "{out}");
}

#[test]
fn vm_backup_runs_through_a_failover_of_an_active_passive_pair() {
    let out = run_through_failover(
        "vm_backup",
        &[],
        "active endpoint",
        "get-vms",
        "create-vm-snapshot",
    );
    assert!(out.contains("(FILE_SYSTEM_CONSISTENT)"), "{out}");
}

#[test]
fn vnc_against_a_tower_too_old_for_it_says_which_version_it_needs() {
    let path = example("vnc");
    if !path.exists() {
        run("vnc", &[]);
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let tower = runtime
        .block_on(cloudtower_mock::MockTower::start_with(
            cloudtower_mock::MockConfig {
                version: Some("3.4.4".into()),
                ..Default::default()
            },
        ))
        .unwrap();
    let output = Command::new(&path)
        .args(["--endpoint", &tower.url()])
        .args(["--username", cloudtower_mock::MOCK_USERNAME])
        .args(["--password", cloudtower_mock::MOCK_PASSWORD])
        .env_remove("CLOUDTOWER_ENDPOINT")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("CloudTower 3.4.4"), "{stdout}");
    assert!(
        stderr.contains("get-vm-vnc-info: needs CloudTower 4.0.0"),
        "{stdout}\n{stderr}"
    );
    // Refused before sending.
    assert_eq!(tower.request_count("get-vm-vnc-info"), 0);
}
