//! Resource verbs against the mock: list, get, count, create, update, delete, actions,
//! the guide's backup walk-through, pagination, and every output format.

use crate::common;

use common::{column, Cli};

#[tokio::test]
async fn labels_are_created_listed_updated_and_deleted() {
    let cli = Cli::signed_in().await;
    let created = cli.json(&["label", "create", "--set", "key=env", "--set", "value=prod"]);
    assert_eq!(column(&created, "value"), ["prod"]);
    let id = column(&created, "id").remove(0);

    let listed = cli.json(&["label", "list", "--where", "key=env"]);
    assert_eq!(column(&listed, "id"), std::slice::from_ref(&id));

    let updated = cli.json(&["label", "update", &id, "--set", "value=staging"]);
    assert_eq!(column(&updated, "value"), ["staging"]);
    let got = cli.json(&["label", "get", &id]);
    assert_eq!(column(&got, "value"), ["staging"]);

    cli.cmd(&["label", "delete", &id]).assert().success();
    let listed = cli.json(&["label", "list", "--where", "key=env"]);
    assert_eq!(listed, serde_json::json!([]));
    cli.cmd(&["label", "get", &id]).assert().code(4);
}

#[tokio::test]
async fn datacenters_round_trip_by_name() {
    let cli = Cli::signed_in().await;
    let organization = cli.stdout(&["organization", "list", "-o", "id"]);
    let organization = organization
        .lines()
        .next()
        .expect("the seed has an organization");
    let created = cli.json(&[
        "datacenter",
        "create",
        "--set",
        "name=dc-test",
        "--set",
        &format!("organization_id={organization}"),
    ]);
    assert_eq!(column(&created, "name"), ["dc-test"]);
    // By name from here on.
    let renamed = cli.json(&[
        "datacenter",
        "update",
        "dc-test",
        "--set",
        "name=dc-renamed",
    ]);
    assert_eq!(column(&renamed, "name"), ["dc-renamed"]);
    assert_eq!(
        cli.stdout(&["datacenter", "count", "--where", "name=dc-renamed"]),
        "1\n"
    );
    cli.cmd(&["datacenter", "delete", "dc-renamed"])
        .assert()
        .success();
    assert_eq!(
        cli.stdout(&["datacenter", "count", "--where", "name=dc-renamed"]),
        "0\n"
    );
    cli.cmd(&["datacenter", "get", "dc-renamed"])
        .assert()
        .code(4)
        .stderr(predicates::str::contains("no Datacenter has"));
}

#[tokio::test]
async fn vm_power_actions_wait_for_their_tasks() {
    let cli = Cli::signed_in().await;
    let vms = cli.json(&["vm", "get", "web-2"]);
    assert_eq!(column(&vms, "status"), ["STOPPED"]);
    // The answer is read again once the task ended: the VM as it is now.
    let started = cli.json(&["vm", "start", "web-2"]);
    assert_eq!(column(&started, "status"), ["RUNNING"]);
    let stopped = cli.json(&["vm", "poweroff", "web-2"]);
    assert_eq!(column(&stopped, "status"), ["STOPPED"]);

    // --no-wait prints the task ids, one per line.
    let ids = cli.stdout(&["vm", "start", "web-2", "--no-wait"]);
    let ids: Vec<&str> = ids.lines().collect();
    assert_eq!(ids.len(), 1);
    let task = cli.json(&["task", "get", ids[0]]);
    assert_eq!(column(&task, "id"), [ids[0]]);
}

#[tokio::test]
async fn a_failed_task_prints_its_error_and_exits_1() {
    let cli = Cli::signed_in().await;
    cli.tower.set_fault(
        "start-vm",
        cloudtower_mock::Fault::new().task(cloudtower_mock::TaskOutcome::Fail),
    );
    let output = cli.cmd(&["vm", "start", "web-2"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("failed") && stderr.contains("MockInjectedFailure"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_backup_walk_through_lists_the_lun_snapshots_of_the_vm_disks() {
    let cli = Cli::signed_in().await;
    let luns = cli.json(&["vm", "backup", "backup-demo", "--name", "nightly"]);
    let names = column(&luns, "name");
    assert!(!names.is_empty(), "{luns}");
    // Each is the LUN snapshot behind a disk of the snapshot just taken.
    let snapshots = cli.json(&["vm-snapshot", "list", "--where", "name=nightly"]);
    let disks: Vec<String> = snapshots[0]["vm_disks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|disk| disk["type"] == "DISK")
        .map(|disk| disk["snapshot_local_id"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    let mut disks_sorted = disks;
    disks_sorted.sort();
    assert_eq!(sorted, disks_sorted);
    assert!(column(&luns, "local_id").iter().all(|id| !id.is_empty()));
}

#[tokio::test]
async fn all_pages_are_listed_with_all() {
    let cli = Cli::signed_in().await;
    let data: Vec<serde_json::Value> = (0..25)
        .map(|i| serde_json::json!({"key": "bulk", "value": format!("v{i:02}")}))
        .collect();
    let data = serde_json::Value::Array(data).to_string();
    cli.cmd(&["label", "create-label", "--data", &data])
        .assert()
        .success();
    let before = cli.tower.request_count("get-labels");
    let ids = cli.stdout(&[
        "label",
        "list",
        "--where",
        "key=bulk",
        "--all",
        "--page-size",
        "10",
        "-o",
        "id",
    ]);
    assert_eq!(ids.lines().count(), 25);
    // Three full-or-short pages, and the empty one that ends a list whose pages were full.
    assert!(cli.tower.request_count("get-labels") - before >= 3);
    let table = cli.stdout(&[
        "label",
        "list",
        "--where",
        "key=bulk",
        "--all",
        "--page-size",
        "7",
    ]);
    assert_eq!(table.lines().count(), 26, "a header and 25 rows:\n{table}");
    let first = cli.stdout(&[
        "label", "list", "--where", "key=bulk", "--first", "5", "-o", "id",
    ]);
    assert_eq!(first.lines().count(), 5);
}

#[tokio::test]
async fn every_output_format() {
    let cli = Cli::signed_in().await;
    let table = cli.stdout(&["vm", "list", "--order-by", "name_ASC"]);
    insta::assert_snapshot!("vm_list_table", table);
    let wide = cli.stdout(&["vm", "get", "web-1", "-o", "wide"]);
    assert!(wide.lines().next().unwrap().contains("LOCAL_ID"), "{wide}");

    let json = cli.json(&["vm", "list", "--order-by", "name_ASC"]);
    let names = column(&json, "name");
    assert_eq!(names, ["backup-demo", "db-1", "web-1", "web-2"]);

    let yaml = cli.stdout(&["vm", "get", "web-1", "-o", "yaml"]);
    let parsed: serde_json::Value = serde_norway::from_str(&yaml).unwrap();
    assert_eq!(parsed, cli.json(&["vm", "get", "web-1"]));

    let ids = cli.stdout(&["vm", "list", "--order-by", "name_ASC", "-o", "id"]);
    assert_eq!(ids.lines().collect::<Vec<_>>(), column(&json, "id"));

    let names = cli.stdout(&[
        "vm",
        "list",
        "--order-by",
        "name_ASC",
        "-o",
        "jsonpath=$[*].name",
    ]);
    assert_eq!(names, "backup-demo\ndb-1\nweb-1\nweb-2\n");

    // Stable machine output: the same bytes for the same answer.
    let again = cli.stdout(&["vm", "get", "web-1", "-o", "json"]);
    assert_eq!(again, cli.stdout(&["vm", "get", "web-1", "-o", "json"]));

    cli.cmd(&["vm", "list", "-o", "xml"]).assert().code(2);
}

#[tokio::test]
async fn tables_of_several_resources() {
    let cli = Cli::signed_in().await;
    let mut tables = String::new();
    // Not elf-image, task, …: their times are when the mock started.
    for module in ["cluster", "host", "vlan", "vm-volume", "datacenter"] {
        tables.push_str(&format!("$ cloudtower {module} list\n"));
        tables.push_str(&cli.stdout(&[module, "list", "--order-by", "name_ASC"]));
    }
    insta::assert_snapshot!("resource_tables", tables);
}

#[tokio::test]
async fn the_vnc_console_url_of_a_vm() {
    let cli = Cli::signed_in().await;
    let url = cli.stdout(&["vm", "vnc", "web-1"]);
    let host = cli.tower.addr().to_string();
    assert!(
        url.starts_with(&format!("ws://{host}/websockify/?uuid=")),
        "{url}"
    );
    assert!(
        url.contains("&token=") && url.trim_end().lines().count() == 1,
        "{url}"
    );
}

#[tokio::test]
async fn an_image_is_uploaded_in_chunks() {
    let cli = Cli::signed_in().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tiny.iso");
    std::fs::write(&file, vec![7u8; 300_000]).unwrap();
    let task = cli.json(&[
        "elf-image",
        "upload",
        file.to_str().unwrap(),
        "--cluster",
        "cluster-1",
    ]);
    assert_eq!(task["status"], "SUCCESSED", "{task}");
    let images = cli.json(&["elf-image", "list", "--where", "name=tiny.iso"]);
    assert_eq!(column(&images, "name"), ["tiny.iso"]);
    cli.cmd(&[
        "elf-image",
        "upload",
        file.to_str().unwrap(),
        "--cluster",
        "no-such-cluster",
    ])
    .assert()
    .code(4);
}

#[tokio::test]
async fn watch_prints_the_changes_of_one_resource_type() {
    let cli = Cli::signed_in().await;
    let from = cli.tower.revision().to_string();
    cli.cmd(&["vm", "start", "web-2"]).assert().success();
    let lines = cli.stdout(&["vm", "watch", "--from", &from, "--limit", "1", "-o", "json"]);
    let change: serde_json::Value = serde_json::from_str(lines.trim()).unwrap();
    assert_eq!(change["resource_type"], "Vm", "{change}");
    let web2 = cli.json(&["vm", "get", "web-2"]);
    assert_eq!(change["resource_id"], web2[0]["id"]);
}

#[tokio::test]
async fn a_name_several_resources_share_is_refused_with_their_ids() {
    let cli = Cli::signed_in().await;
    let organization = cli.stdout(&["organization", "list", "-o", "id"]);
    let organization = format!("organization_id={}", organization.lines().next().unwrap());
    let mut ids = Vec::new();
    for _ in 0..2 {
        let created = cli.json(&[
            "datacenter",
            "create",
            "--set",
            "name=dup",
            "--set",
            &organization,
        ]);
        ids.extend(column(&created, "id"));
    }
    let output = cli.cmd(&["datacenter", "delete", "dup"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("ambiguous") && ids.iter().all(|id| stderr.contains(id.as_str())),
        "{stderr}"
    );
    // By id, each is one.
    cli.cmd(&["datacenter", "delete", &ids[0], &ids[1]])
        .assert()
        .success();
    assert_eq!(
        cli.stdout(&["datacenter", "count", "--where", "name=dup"]),
        "0\n"
    );
}

#[tokio::test]
async fn list_operations_page_with_all_too() {
    let cli = Cli::signed_in().await;
    let before = cli.tower.request_count("get-vms");
    let ids = cli.stdout(&["vm", "get-vms", "--all", "--page-size", "1", "-o", "id"]);
    assert_eq!(ids.lines().count(), 4);
    assert!(cli.tower.request_count("get-vms") - before >= 4);
    let all = cli.json(&["vm", "get-vms", "--all", "--page-size", "3"]);
    assert_eq!(all.as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn snapshots_are_created_from_their_own_module_too() {
    let cli = Cli::signed_in().await;
    let vm = cli.stdout(&["vm", "get", "web-1", "-o", "id"]);
    let created = cli.json(&[
        "vm-snapshot",
        "create",
        "--set",
        "name=from-module",
        "--set",
        &format!("vm_id={}", vm.trim()),
    ]);
    assert_eq!(column(&created, "name"), ["from-module"]);
    cli.cmd(&["vm-snapshot", "delete", "from-module"])
        .assert()
        .success();
    assert_eq!(
        cli.stdout(&["vm-snapshot", "count", "--where", "name=from-module"]),
        "0\n"
    );
}
