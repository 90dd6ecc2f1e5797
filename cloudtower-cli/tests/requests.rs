//! Raw operations: requests from --data, files, stdin and flags, checked strictly before
//! anything is sent; help for every command; exit codes.

use crate::common;

use common::{column, Cli};
use predicates::prelude::*;
use predicates::str::contains;

#[tokio::test]
async fn requests_come_from_data_files_stdin_and_flags() {
    let cli = Cli::signed_in().await;
    let by_flags = cli.json(&[
        "vm",
        "get-vms",
        "--where",
        "status=RUNNING",
        "--order-by",
        "name_DESC",
        "--first",
        "2",
    ]);
    assert_eq!(column(&by_flags, "name"), ["web-1", "db-1"]);

    let body = r#"{"where": {"status": "RUNNING"}, "orderBy": "name_DESC", "first": 2}"#;
    assert_eq!(cli.json(&["vm", "get-vms", "--data", body]), by_flags);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("request.json");
    std::fs::write(&file, body).unwrap();
    let at_file = format!("@{}", file.display());
    assert_eq!(cli.json(&["vm", "get-vms", "--data", &at_file]), by_flags);

    let from_stdin = cli
        .cmd(&["vm", "get-vms", "--data", "-"])
        .write_stdin(body)
        .output()
        .unwrap();
    assert!(from_stdin.status.success());
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&from_stdin.stdout).unwrap(),
        by_flags
    );

    // Flags over --data, a filter as JSON, and lists as a,b.
    let where_json = cli.json(&[
        "vm",
        "get-vms",
        "--data",
        body,
        "--where-json",
        r#"{"name_in": ["db-1", "web-2"]}"#,
    ]);
    assert_eq!(column(&where_json, "name"), ["db-1"]);
    let listed = cli.json(&[
        "vm",
        "get-vms",
        "--where",
        "name_in=web-1,web-2",
        "--order-by",
        "name_ASC",
    ]);
    assert_eq!(column(&listed, "name"), ["web-1", "web-2"]);
    let nested = cli.json(&[
        "vm",
        "get-vms",
        "--where",
        "cluster.name=cluster-1",
        "--first",
        "1",
    ]);
    assert_eq!(nested.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn invalid_requests_are_refused_before_anything_is_sent() {
    let cli = Cli::signed_in().await;
    let sent = cli.tower.request_count("get-vms");
    cli.cmd(&["vm", "get-vms", "--data", "{not json"])
        .assert()
        .code(2)
        .stderr(contains("is not JSON"));
    cli.cmd(&["vm", "get-vms", "--data", r#"{"where": {"nmae": "x"}}"#])
        .assert()
        .code(2)
        .stderr(contains("/where").and(contains("nmae")));
    cli.cmd(&["vm", "get-vms", "--where", "nmae=x"])
        .assert()
        .code(2)
        .stderr(contains("VmWhereInput has no field `nmae`"));
    cli.cmd(&["vm", "get-vms", "--first", "ten"])
        .assert()
        .code(2)
        .stderr(contains("not an integer"));
    cli.cmd(&["vm", "get-vms", "--where", "status=ASLEEP"])
        .assert()
        .code(2)
        .stderr(contains("ASLEEP"));
    assert_eq!(cli.tower.request_count("get-vms"), sent);

    let snapshots = cli.tower.request_count("create-vm-snapshot");
    cli.cmd(&[
        "vm-snapshot",
        "create-vm-snapshot",
        "--data",
        r#"{"data": [{"name": "s"}]}"#,
    ])
    .assert()
    .code(2)
    .stderr(contains("/data/0").and(contains("vm_id")));
    assert_eq!(cli.tower.request_count("create-vm-snapshot"), snapshots);
}

#[tokio::test]
async fn mutations_wait_and_print_the_resources_as_they_are_after() {
    let cli = Cli::signed_in().await;
    let started = cli.json(&["vm", "start-vm", "--where", "name=web-2"]);
    assert_eq!(column(&started, "status"), ["RUNNING"]);
    let ids = cli.stdout(&["vm", "shutdown-vm", "--where", "name=web-2", "--no-wait"]);
    assert_eq!(ids.lines().count(), 1);
    assert!(ids.starts_with("cl"), "a task id: {ids}");
}

#[tokio::test]
async fn anonymous_operations_need_no_session() {
    let cli = Cli::new().await;
    let url = cli.tower.url();
    let version = cli.stdout(&["--endpoint", &url, "api-info", "get-version"]);
    assert_eq!(
        version.trim(),
        format!("\"{}\"", cloudtower_mock::SPEC_VERSION)
    );
}

#[test]
fn help_shows_examples_exit_codes_and_every_module() {
    let cli_help = common::bare(&["--help"]).output().unwrap();
    assert!(cli_help.status.success());
    let help = String::from_utf8(cli_help.stdout).unwrap();
    assert!(
        help.contains("Examples:") && help.contains("Exit codes:"),
        "{help}"
    );
    insta::assert_snapshot!("help_root", help);

    let vm_help = common::bare(&["vm", "--help"]).output().unwrap();
    insta::assert_snapshot!("help_vm", String::from_utf8(vm_help.stdout).unwrap());

    let list_help = common::bare(&["vm", "list", "--help"]).output().unwrap();
    insta::assert_snapshot!("help_vm_list", String::from_utf8(list_help.stdout).unwrap());
}

#[test]
fn completions_and_man_pages() {
    for shell in ["bash", "zsh", "fish"] {
        let output = common::bare(&["completions", shell]).output().unwrap();
        assert!(output.status.success(), "{shell}");
        let script = String::from_utf8(output.stdout).unwrap();
        assert!(
            script.contains("get-vms") && script.contains("vm-snapshot"),
            "{shell}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man");
    common::bare(&["man", "--dir"]).arg(&out).assert().success();
    let page = std::fs::read_to_string(out.join("cloudtower-vm-get-vms.1")).unwrap();
    assert!(page.contains("where"), "{page}");
    assert!(out.join("cloudtower.1").exists());
}

#[test]
fn usage_errors_exit_2() {
    common::bare(&["vm", "no-such-operation"]).assert().code(2);
    common::bare(&["vm", "list", "--first", "-1"])
        .assert()
        .code(2);
}
