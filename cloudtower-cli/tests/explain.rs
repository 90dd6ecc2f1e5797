//! The command line explains itself: `cloudtower explain`, the required fields in `create`'s
//! help, every problem of a request at once, and `*_id` fields given names.

use crate::common;

use common::{bare, column, Cli};
use predicates::prelude::*;
use predicates::str::contains;

fn stdout_of(args: &[&str]) -> String {
    let output = bare(args).output().expect("the binary runs");
    assert!(
        output.status.success(),
        "cloudtower {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

#[test]
fn explain_lists_fields_required_first_with_types_enums_and_references() {
    let text = stdout_of(&["explain", "VmCreationParams"]);
    let fields = text.split("FIELDS").nth(1).expect("a FIELDS section");
    // Required ones first, marked, each with its type; an enum with its values; a `*_id`
    // with the resource it names.
    let required: Vec<&str> = fields
        .lines()
        .skip(1)
        .take_while(|line| {
            line.split_whitespace()
                .next()
                .is_some_and(|n| n.ends_with('*'))
        })
        .collect();
    for name in ["name*", "cluster_id*", "status*", "vm_disks*", "memory*"] {
        assert!(
            required
                .iter()
                .any(|line| line.trim_start().starts_with(name)),
            "{name} among the required fields:\n{text}"
        );
    }
    assert!(
        text.contains("VmStatus: DELETED | RUNNING | STOPPED"),
        "{text}"
    );
    assert!(
        text.contains("cluster_id*") && text.contains("→ Cluster (an id, local id or name)"),
        "{text}"
    );
    assert!(text.contains("USED BY:   create-vm (since "), "{text}");
    assert!(
        text.contains("(explain VmCreationParams.vm_disks)"),
        "{text}"
    );

    // Down a field, a resource by its module's name, an operation, an enum.
    let disks = stdout_of(&["explain", "VmCreationParams.vm_disks"]);
    assert!(disks.contains("mount_disks"), "{disks}");
    let vm = stdout_of(&["explain", "vm"]);
    assert!(vm.starts_with("OBJECT: Vm\n"), "{vm}");
    assert!(
        vm.contains("listed by get-vms (filter VmWhereInput"),
        "{vm}"
    );
    let delete = stdout_of(&["explain", "delete-vm"]);
    assert!(delete.contains("EFFECT:    destructive"), "{delete}");
    assert!(delete.contains("SINCE:     CloudTower "), "{delete}");
    let status = stdout_of(&["explain", "VmStatus"]);
    assert!(status.contains("VALUES:\n  DELETED\n  RUNNING"), "{status}");
    // A filter lists its operators with their field, not as 450 fields.
    let filter = stdout_of(&["explain", "VmWhereInput"]);
    let name = filter
        .lines()
        .find(|line| line.trim_start().starts_with("name "))
        .expect("the name field");
    assert!(name.contains("_contains") && name.contains("_in"), "{name}");
    assert!(!filter.contains("name_contains "), "{filter}");

    // JSON for scripts.
    let json: serde_json::Value =
        serde_json::from_str(&stdout_of(&["explain", "create-vm-snapshot", "-o", "json"]))
            .expect("JSON");
    assert_eq!(json["operation"]["effect"], "change");
    assert_eq!(json["fields"][0]["name"], "data");
    assert_eq!(json["fields"][0]["required"], true);
}

#[test]
fn explain_refuses_what_does_not_exist_with_the_closest_name() {
    bare(&["explain", "VmCreationParam"])
        .assert()
        .code(2)
        .stderr(contains("did you mean `VmCreationParams`?"));
    bare(&["explain", "Vm.nmae"])
        .assert()
        .code(2)
        .stderr(contains("Vm has no field `nmae` (did you mean `name`?)"));
    bare(&["explain", "Vm.name.length"])
        .assert()
        .code(2)
        .stderr(contains("`Vm.name` is string, which has no fields"));
}

#[test]
fn create_help_lists_the_required_fields() {
    let help = stdout_of(&["vm", "create", "--help"]);
    assert!(
        help.contains("Required fields of VmCreationParams: ")
            && help.contains("cluster_id")
            && help.contains("cloudtower explain VmCreationParams"),
        "{help}"
    );
}

#[tokio::test]
async fn a_request_check_names_every_problem_at_once() {
    let cli = Cli::signed_in().await;
    let sent = cli.tower.request_count("create-vm");
    let output = cli
        .cmd(&["vm", "create", "--set", "name=t1", "--set", "vcpu=2"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(" problems\n"), "{stderr}");
    for field in [
        "status",
        "firmware",
        "memory",
        "cpu_cores",
        "vm_disks",
        "cluster_id",
    ] {
        assert!(
            stderr.contains(&format!(
                "at `/0`: VmCreationParams needs the field `{field}`"
            )),
            "{field}: {stderr}"
        );
    }
    assert!(stderr.contains("cloudtower explain create-vm"), "{stderr}");
    assert_eq!(
        cli.tower.request_count("create-vm"),
        sent,
        "nothing was sent"
    );

    // Problems of several kinds and places, in one answer, with what to try.
    cli.cmd(&[
        "vm-snapshot",
        "create-vm-snapshot",
        "--data",
        r#"{"data": [{"nmae": "s", "consistent_type": "NOPE"}, {"name": 3, "vm_id": "x"}]}"#,
    ])
    .assert()
    .code(2)
    .stderr(
        contains(
            "at `/data/0`: VmSnapshotCreationParamsData has no field `nmae` (did you mean `name`?)",
        )
        .and(contains(
            "at `/data/0`: VmSnapshotCreationParamsData needs the field `vm_id`",
        ))
        .and(contains(
            "at `/data/0/consistent_type`: `NOPE` is not a ConsistentType",
        ))
        .and(contains(
            "at `/data/1/name`: expected a string, found a number",
        )),
    );
    // A misspelt --set key says which field it meant.
    cli.cmd(&["vm", "create", "--set", "nmae=t1"])
        .assert()
        .code(2)
        .stderr(
            contains("VmCreationParams has no field `nmae`").and(contains("did you mean `name`?")),
        );
    // A filter too.
    cli.cmd(&[
        "vm",
        "list",
        "--where-json",
        r#"{"nmae": "x", "status": "ASLEEP"}"#,
    ])
    .assert()
    .code(2)
    .stderr(
        contains("2 problems")
            .and(contains("nmae"))
            .and(contains("ASLEEP")),
    );
}

#[tokio::test]
async fn id_fields_take_a_name_or_local_id_resolved_as_get_resolves() {
    let cli = Cli::signed_in().await;
    let organizations = cli.json(&["organization", "list"]);
    let (name, id) = (
        column(&organizations, "name").remove(0),
        column(&organizations, "id").remove(0),
    );
    // By name: the request carries the id.
    let created = cli.json(&[
        "datacenter",
        "create",
        "--set",
        "name=dc-by-name",
        "--set",
        &format!("organization_id={name}"),
    ]);
    assert_eq!(column(&created, "name"), ["dc-by-name"]);
    let sent = cli
        .tower
        .recorded_requests()
        .into_iter()
        .rfind(|request| request.operation == "create-datacenter")
        .expect("create-datacenter was sent");
    assert_eq!(sent.body[0]["organization_id"], id.as_str());

    // The raw operation resolves too, and an id stays as it is.
    let folder = cli.json(&[
        "vm-folder",
        "create-vm-folder",
        "--data",
        r#"[{"name": "by-cluster-name", "cluster_id": "cluster-1"}]"#,
    ]);
    assert_eq!(column(&folder, "name"), ["by-cluster-name"]);

    // A name nothing has: exit 4, naming the field; nothing is sent.
    let before = cli.tower.request_count("create-datacenter");
    cli.cmd(&[
        "datacenter",
        "create",
        "--set",
        "name=dc-nowhere",
        "--set",
        "organization_id=no-such-organization",
    ])
    .assert()
    .code(4)
    .stderr(contains(
        "at `/0/organization_id`: no Organization has id or name \"no-such-organization\"",
    ));

    // A name two have: refused with both ids (exit 2).
    let twin = cli.json(&["organization", "create", "--set", &format!("name={name}")]);
    let twin_id = column(&twin, "id").remove(0);
    let output = cli
        .cmd(&[
            "datacenter",
            "create",
            "--set",
            "name=dc-ambiguous",
            "--set",
            &format!("organization_id={name}"),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("/0/organization_id")
            && stderr.contains("ambiguous")
            && stderr.contains(&id)
            && stderr.contains(&twin_id),
        "{stderr}"
    );
    assert_eq!(cli.tower.request_count("create-datacenter"), before);
}
