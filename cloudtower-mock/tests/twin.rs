//! The mock as a tower's twin: records that agree, mutations with their effect, external
//! towers kept apart, operations newer than the tower refused.

use crate::common;

use cloudtower_mock::{
    MockConfig, MockTower, Reaction, EXTERNAL_CLOUDTOWER_HEADER, MAX_EXTERNAL_TOWERS,
};
use common::{first, id_of, Session};
use serde_json::{json, Value};

#[tokio::test]
async fn the_seed_data_satisfies_every_invariant() {
    let tower = MockTower::start().await.unwrap();
    let violations = tower.violations();
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    let empty = MockTower::start_with(MockConfig {
        seed_data: false,
        ..MockConfig::default()
    })
    .await
    .unwrap();
    assert_eq!(empty.violations(), Vec::<String>::new());
}

async fn call_as(
    session: &Session,
    tower_id: Option<&str>,
    path: &str,
    body: &Value,
) -> (u16, Value) {
    let mut request = session
        .http
        .post(format!("{}/v2/api/{path}", session.url))
        .header("authorization", &session.token)
        .json(body);
    if let Some(id) = tower_id {
        request = request.header(EXTERNAL_CLOUDTOWER_HEADER, id);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_external_towers_resources_are_kept_apart_from_the_local_ones() {
    let (_tower, session) = Session::start().await;
    let (_, clusters) = call_as(&session, Some("tower-b"), "get-clusters", &json!({})).await;
    let cluster = id_of(&clusters[0]);
    let (status, created) = call_as(
        &session,
        Some("tower-b"),
        "create-vm",
        &json!([{"cluster_id": cluster, "name": "only-on-b", "cpu_cores": 1, "cpu_sockets": 1,
                 "memory": 1073741824, "ha": false, "status": "STOPPED", "firmware": "BIOS", "vm_disks": {}, "vm_nics": []}]),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let named = json!({"where": {"name": "only-on-b"}});
    let (_, on_b) = call_as(&session, Some("tower-b"), "get-vms", &named).await;
    assert_eq!(on_b.as_array().unwrap().len(), 1, "{on_b}");
    let (_, local) = call_as(&session, None, "get-vms", &named).await;
    assert_eq!(local, json!([]), "the local tower has no such VM");
    let (_, on_c) = call_as(&session, Some("tower-c"), "get-vms", &named).await;
    assert_eq!(on_c, json!([]), "nor has another external tower");
    // Bounded: one external tower more than the mock keeps is refused, naming the bound.
    for n in 0..MAX_EXTERNAL_TOWERS - 2 {
        let (status, _) = call_as(&session, Some(&format!("t{n}")), "get-vms", &json!({})).await;
        assert_eq!(status, 200);
    }
    let (status, error) = call_as(&session, Some("one-too-many"), "get-vms", &json!({})).await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("at most 16"),
        "{error}"
    );
}

#[tokio::test]
async fn an_operation_newer_than_the_tower_is_not_found() {
    let (_tower, session) = Session::start_with(MockConfig {
        version: Some("4.5.0".into()),
        ..MockConfig::default()
    })
    .await;
    // `create-isolation-policy` is new in 4.6.0.
    let (status, error) = session.call("create-isolation-policy", &json!({})).await;
    assert_eq!(status, 404, "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("4.6.0"),
        "{error}"
    );
    let (status, _) = session.call("get-vms", &json!({})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn clones_and_conversions_create_what_they_say_with_real_ids() {
    let (tower, session) = Session::start().await;
    let web2 = first(&session, "get-vms", json!({"name": "web-2"})).await;
    let disks = web2["vm_disks"].as_array().unwrap().len();
    let clone = &session
        .mutate(
            "clone-vm",
            &json!([{"src_vm_id": id_of(&web2), "name": "web-2-clone"}]),
        )
        .await[0];
    let read = first(&session, "get-vms", json!({"id": id_of(clone)})).await;
    assert_eq!(read["name"], "web-2-clone");
    assert_eq!(read["memory"], web2["memory"]);
    assert_eq!(read["vm_disks"].as_array().unwrap().len(), disks);

    let template = &session
        .mutate(
            "clone-vm-template-from-vm",
            &json!([{"vm_id": id_of(&web2), "name": "t-clone", "cloud_init_supported": false}]),
        )
        .await[0];
    let read = first(&session, "get-vm-templates", json!({"id": id_of(template)})).await;
    assert_eq!(read["name"], "t-clone");
    assert_eq!(read["memory"], web2["memory"]);
    assert_eq!(
        session.read("get-vms", &id_of(&web2)).await.len(),
        1,
        "a clone keeps the VM"
    );

    let converted = &session
        .mutate(
            "convert-vm-template-from-vm",
            &json!([{"vm_id": id_of(&web2), "name": "t-conv", "cloud_init_supported": true}]),
        )
        .await[0];
    assert_eq!(
        session
            .read("get-vm-templates", &id_of(converted))
            .await
            .len(),
        1
    );
    assert!(
        session.read("get-vms", &id_of(&web2)).await.is_empty(),
        "the VM became the template"
    );

    let vm = &session
        .mutate(
            "convert-vm-template-to-vm",
            &json!([{"converted_from_template_id": id_of(converted), "name": "back"}]),
        )
        .await[0];
    let read = first(&session, "get-vms", json!({"id": id_of(vm)})).await;
    assert_eq!(read["name"], "back");
    assert_eq!(read["vm_disks"].as_array().unwrap().len(), disks);
    assert!(session
        .read("get-vm-templates", &id_of(converted))
        .await
        .is_empty());
    assert_eq!(tower.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn folders_gpus_and_pci_nics_are_added_to_vms_and_show_on_both_sides() {
    let (tower, session) = Session::start().await;
    let folder = first(&session, "get-vm-folders", json!({})).await;
    let gpu = first(&session, "get-gpu-devices", json!({})).await;
    let nic = first(&session, "get-nics", json!({})).await;
    let web = json!({"name": "web-1"});
    session
        .mutate(
            "add-vm-to-folder",
            &json!({"where": web, "data": {"folder_id": id_of(&folder)}}),
        )
        .await;
    session
        .mutate(
            "add-vm-gpu-device",
            &json!({"where": web, "data": [{"gpu_id": id_of(&gpu), "amount": 1}]}),
        )
        .await;
    session
        .mutate(
            "add-vm-pci-nic",
            &json!({"where": web, "data": {"pci_nics": {"id": id_of(&nic)}}}),
        )
        .await;
    let vm = first(&session, "get-vms", web.clone()).await;
    assert_eq!(vm["folder"]["id"], folder["id"]);
    assert_eq!(vm["gpu_devices"][0]["id"], gpu["id"]);
    assert_eq!(vm["pci_nics"][0]["id"], nic["id"]);
    let folder = first(&session, "get-vm-folders", json!({"id": id_of(&folder)})).await;
    assert!(
        folder["vms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["id"] == vm["id"]),
        "{folder}"
    );
    assert_eq!(folder["vm_num"], folder["vms"].as_array().unwrap().len());
    assert_eq!(tower.violations(), Vec::<String>::new());

    // And removed again, from both sides.
    session
        .mutate("remove-vm-from-folder", &json!({"where": web}))
        .await;
    session
        .mutate(
            "remove-vm-gpu-device",
            &json!({"where": web, "data": [{"gpu_id": id_of(&gpu), "amount": 1}]}),
        )
        .await;
    session
        .mutate(
            "remove-vm-pci-nic",
            &json!({"where": web, "data": {"pci_nics": {"id": id_of(&nic)}}}),
        )
        .await;
    let vm = first(&session, "get-vms", web.clone()).await;
    assert!(vm["folder"].is_null(), "{vm}");
    assert_eq!(vm["gpu_devices"], json!([]));
    assert_eq!(vm["pci_nics"], json!([]));
    let folder = first(&session, "get-vm-folders", json!({"id": id_of(&folder)})).await;
    assert!(!folder["vms"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["id"] == vm["id"]));
    assert_eq!(tower.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn luns_clone_roll_back_and_delete_with_data_beside_where() {
    let (tower, session) = Session::start().await;
    let target = first(&session, "get-iscsi-targets", json!({})).await;
    let lun = &session
        .mutate(
            "create-iscsi-lun",
            &json!([{"iscsi_target_id": id_of(&target), "name": "lun-a",
                      "assigned_size": 1073741824, "replica_num": 2}]),
        )
        .await[0];
    let snapshot = &session
        .mutate(
            "create-iscsi-lun-snapshot",
            &json!([{"iscsi_lun_id": id_of(lun), "iscsi_target_id": id_of(&target), "name": "snap-a"}]),
        )
        .await[0];
    let read = first(
        &session,
        "get-iscsi-lun-snapshots",
        json!({"id": id_of(snapshot)}),
    )
    .await;
    assert_eq!(read["iscsi_lun"]["id"], lun["id"], "{read}");
    let clone = &session
        .mutate(
            "clone-iscsi-lun-from-snapshot",
            &json!([{"snapshot_id": id_of(snapshot), "iscsi_target_id": id_of(&target), "name": "lun-b"}]),
        )
        .await[0];
    let read = first(&session, "get-iscsi-luns", json!({"id": id_of(clone)})).await;
    assert_eq!(read["name"], "lun-b");
    assert_eq!(read["assigned_size"], 1073741824);
    let rolled = session
        .mutate(
            "rollback-iscsi-lun-from-snapshot",
            &json!([{"lun_id": id_of(lun), "snapshot_id": id_of(snapshot)}]),
        )
        .await;
    assert_eq!(rolled[0]["id"], lun["id"]);
    // A snapshot of another LUN is refused.
    let (status, _) = session
        .call(
            "rollback-iscsi-lun-from-snapshot",
            &json!([{"lun_id": id_of(clone), "snapshot_id": id_of(snapshot)}]),
        )
        .await;
    assert_eq!(status, 400);
    let deleted = session
        .mutate(
            "delete-iscsi-lun",
            &json!({"where": {"id": id_of(clone)}, "data": {"remove_snapshot": true}}),
        )
        .await;
    assert_eq!(deleted[0]["id"], clone["id"]);
    assert!(session
        .read("get-iscsi-luns", &id_of(clone))
        .await
        .is_empty());
    assert_eq!(tower.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn settings_security_groups_and_isolation_policies_are_read_back() {
    let (tower, session) = Session::start().await;
    let (status, answer) = session
        .call(
            "update-global-recycle-bin-setting",
            &json!({"enabled": false, "retain": 3}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["task_id"].is_string());
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let settings = first(&session, "get-global-settingses", json!({})).await;
    assert_eq!(
        settings["vm_recycle_bin"],
        json!({"enabled": false, "retain": 3})
    );

    let everoute = first(&session, "get-everoute-clusters", json!({})).await;
    let (status, group) = session
        .call(
            "create-security-group",
            &json!({"name": "sg", "everoute_cluster_id": id_of(&everoute), "vms": {"name_starts_with": "web"}}),
        )
        .await;
    assert_eq!(status, 200, "{group}");
    let id = id_of(&group["data"]);
    assert!(!id.is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let read = first(&session, "get-security-groups", json!({"id": id})).await;
    assert_eq!(read["name"], "sg");
    assert_eq!(read["vms"].as_array().unwrap().len(), 2, "{read}");

    let vm = first(&session, "get-vms", json!({"name": "db-1"})).await;
    let (status, policy) = session
        .call(
            "create-isolation-policy",
            &json!({"vm_id": id_of(&vm), "everoute_cluster_id": id_of(&everoute), "mode": "ALL"}),
        )
        .await;
    assert_eq!(status, 200, "{policy}");
    let read = first(
        &session,
        "get-isolation-policies",
        json!({"id": id_of(&policy)}),
    )
    .await;
    assert_eq!(read["vm"]["id"], vm["id"]);
    let vm = first(&session, "get-vms", json!({"name": "db-1"})).await;
    assert_eq!(vm["isolation_policy"]["id"], policy["id"]);
    assert_eq!(tower.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn a_vm_vlan_keeps_what_it_was_created_with() {
    let (tower, session) = Session::start().await;
    let vds = first(&session, "get-vdses", json!({})).await;
    let vlan = &session
        .mutate(
            "create-vm-vlan",
            &json!([{"vds_id": id_of(&vds), "name": "v123", "vlan_id": 123,
                     "qos_priority": 2, "qos_burst": 1000}]),
        )
        .await[0];
    let read = first(&session, "get-vlans", json!({"id": id_of(vlan)})).await;
    assert_eq!(read["vlan_id"], 123, "{read}");
    assert_eq!(read["type"], "VM");
    assert_eq!(read["qos_priority"], 2);
    assert_eq!(read["qos_burst"], 1000);
    let vds = first(&session, "get-vdses", json!({"id": id_of(&vds)})).await;
    assert!(vds["vlans"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["id"] == vlan["id"]));
    assert_eq!(vds["vlans_num"], vds["vlans"].as_array().unwrap().len());
    assert_eq!(tower.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn whole_number_floats_and_a_single_not_are_read_as_a_tower_reads_them() {
    let (_tower, session) = Session::start().await;
    let (status, vms) = session
        .call(
            "get-vms",
            &json!({"first": 2.0, "where": {"NOT": {"name": "web-1"}}}),
        )
        .await;
    assert_eq!(status, 200, "{vms}");
    let names: Vec<&str> = vms
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(!names.contains(&"web-1"), "{names:?}");
    // Not an integer, however it is spelled: still a 400 naming where.
    let (status, error) = session.call("get-vms", &json!({"first": 2.5})).await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("/first"),
        "{error}"
    );
}

/// Randomised sequences of operations (a seeded generator: the same sequence every run)
/// leave records that agree.
#[tokio::test]
async fn records_agree_after_randomised_sequences_of_operations() {
    for seed in 0..3u64 {
        let (tower, session) = Session::start().await;
        let mut rng = fastrand::Rng::with_seed(seed);
        let cluster = id_of(&first(&session, "get-clusters", json!({})).await);
        let vlan = id_of(&first(&session, "get-vlans", json!({})).await);
        let vds = id_of(&first(&session, "get-vdses", json!({})).await);
        let folder = id_of(&first(&session, "get-vm-folders", json!({})).await);
        for step in 0..25 {
            let (_, vms) = session.call("get-vms", &json!({})).await;
            let vms = vms.as_array().unwrap().clone();
            let picked = rng.usize(..vms.len().max(1));
            let some_vm = || vms[picked].clone();
            let (path, body) = match rng.u8(..8) {
                0 => (
                    "create-vm",
                    json!([{"cluster_id": cluster, "name": format!("r{seed}-{step}"),
                    "cpu_cores": 1, "cpu_sockets": 1, "memory": 1, "memory_unit": "GB", "ha": false,
                    "firmware": "BIOS", "status": "STOPPED",
                    "vm_disks": {"mount_new_create_disks": [{"boot": 0, "bus": "VIRTIO",
                        "vm_volume": {"name": format!("d{step}"), "size": 1, "size_unit": "GB",
                                      "elf_storage_policy": "REPLICA_2_THIN_PROVISION"}}]},
                    "vm_nics": [{"connect_vlan_id": vlan}]}]),
                ),
                1 if !vms.is_empty() => (
                    "clone-vm",
                    json!([{"src_vm_id": some_vm()["id"], "name": format!("c{seed}-{step}")}]),
                ),
                2 if !vms.is_empty() => {
                    let vm = some_vm();
                    if vm["status"] == "RUNNING" {
                        ("poweroff-vm", json!({"where": {"id": vm["id"]}}))
                    } else {
                        ("delete-vm", json!({"where": {"id": vm["id"]}}))
                    }
                }
                3 if !vms.is_empty() => (
                    "create-vm-snapshot",
                    json!({"data": [{"vm_id": some_vm()["id"], "name": format!("s{step}")}]}),
                ),
                4 => (
                    "create-vm-vlan",
                    json!([{"vds_id": vds, "name": format!("v{step}"), "vlan_id": step}]),
                ),
                5 if !vms.is_empty() => (
                    "add-vm-to-folder",
                    json!({"where": {"id": some_vm()["id"]}, "data": {"folder_id": folder}}),
                ),
                6 => (
                    "create-label",
                    json!([{"key": "k", "value": format!("{step}")}]),
                ),
                _ => (
                    "add-labels-to-resources",
                    json!({"where": {"value": format!("{}", step.max(1) - 1)}, "data": {"vms": {"name_starts_with": "r"}}}),
                ),
            };
            let (status, answer) = session.call(path, &body).await;
            assert!(
                status == 200 || status == 400 || status == 404,
                "{path} {body}: {status} {answer}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
        let violations = tower.violations();
        assert!(
            violations.is_empty(),
            "seed {seed}:\n{}",
            violations.join("\n")
        );
    }
}

#[tokio::test]
async fn users_seed_records_override_operations_and_save_the_state() {
    let (tower, session) = Session::start().await;
    let cluster = tower.records("Cluster")[0]["id"].clone();
    // A record checked against the table, shown on what it names.
    let vds = tower
        .insert(
            "Vds",
            json!({"name": "vds-lab", "cluster": {"id": cluster, "name": "cluster-1"}}),
        )
        .unwrap();
    let read = first(&session, "get-vdses", json!({"id": vds})).await;
    assert_eq!(read["name"], "vds-lab");
    let error = tower.insert("Vds", json!({"nmae": "typo"})).unwrap_err();
    assert!(error.to_string().contains("nmae"), "{error}");
    let error = tower
        .insert(
            "Vlan",
            json!({"name": "x", "vds": {"id": "nothing", "name": "x"}}),
        )
        .unwrap_err();
    assert!(error.to_string().contains("does not exist"), "{error}");
    assert_eq!(tower.violations(), Vec::<String>::new());

    // A reactor of the user's: refuses one VM's deletion, passes the others on.
    tower.react("delete-vm", |records, body| {
        let protected = records
            .all("Vm")
            .iter()
            .any(|vm| vm["name"] == "db-1" && body["where"]["name"] == "db-1");
        if protected {
            Reaction::Fail(400, "db-1 is protected".into())
        } else {
            Reaction::Pass
        }
    });
    let (status, error) = session
        .call("delete-vm", &json!({"where": {"name": "db-1"}}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(error["message"], "db-1 is protected");
    session
        .mutate("delete-vm", &json!({"where": {"name": "web-2"}}))
        .await;
    assert!(tower.records("Vm").iter().all(|vm| vm["name"] != "web-2"));

    // A reactor that panics answers 500 and leaves the tower working.
    tower.react("get-hosts", |_, _| panic!("a bug in a user's reactor"));
    let (status, error) = session.call("get-hosts", &json!({})).await;
    assert_eq!(status, 500, "{error}");
    let (status, _) = session.call("get-vms", &json!({})).await;
    assert_eq!(status, 200);

    // The state saved and loaded again: the same records.
    let dir = std::env::temp_dir().join(format!("cloudtower-mock-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("state.json");
    tower.save_state(&path).unwrap();
    let again = MockTower::start_with(MockConfig {
        seed_data: false,
        fixtures: Some(path.clone()),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    assert_eq!(again.records("Vm"), tower.records("Vm"));
    assert_eq!(again.records("Vds").len(), tower.records("Vds").len());
    assert_eq!(again.violations(), Vec::<String>::new());
    // A new record there does not take an id of the loaded ones.
    let id = again
        .insert("Label", json!({"key": "k", "value": "v"}))
        .unwrap();
    assert!(tower
        .records("Label")
        .iter()
        .all(|l| l["id"] != id.as_str()));
    // A file that is not fixtures stops the start, naming it.
    std::fs::write(&path, "{\"Vm\": 3}").unwrap();
    let error = MockTower::start_with(MockConfig {
        fixtures: Some(path.clone()),
        ..MockConfig::default()
    })
    .await
    .err()
    .unwrap();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn metrics_answer_a_plausible_series_per_existing_resource() {
    let (_tower, session) = Session::start().await;
    let (status, metrics) = session
        .call(
            "get-vm-metrics",
            &json!({"range": "1h", "metrics": ["elf_vm_cpu_overall_usage_percent"],
                    "vms": {"name_starts_with": "web"}}),
        )
        .await;
    assert_eq!(status, 200, "{metrics}");
    let metric = &metrics[0]["data"];
    assert_eq!(metric["unit"], "PERCENT");
    let streams = metric["sample_streams"].as_array().unwrap();
    assert_eq!(streams.len(), 2, "one series per VM selected");
    let vm = first(&session, "get-vms", json!({"name": "web-1"})).await;
    assert!(
        streams.iter().any(|s| s["labels"]["_vm"] == vm["id"]),
        "{metric}"
    );
    let points = streams[0]["points"].as_array().unwrap();
    assert!(points.len() >= 10, "{}", points.len());
    for pair in points.windows(2) {
        assert!(
            pair[0]["t"].as_i64() < pair[1]["t"].as_i64(),
            "time moves on"
        );
    }
    assert!(points
        .iter()
        .all(|p| (0.0..=100.0).contains(&p["v"].as_f64().unwrap())));
    // Nothing measured for VMs that do not exist.
    let (_, none) = session
        .call(
            "get-vm-metrics",
            &json!({"range": "1h", "metrics": ["x"], "vms": {"name": "no-such-vm"}}),
        )
        .await;
    assert_eq!(none, json!([]));
}

#[tokio::test]
async fn a_vm_rolled_back_to_its_snapshot_has_its_configuration_and_disks_again() {
    let (tower, session) = Session::start().await;
    let before = first(&session, "get-vms", json!({"name": "web-2"})).await;
    let id = id_of(&before);
    let disks = before["vm_disks"].as_array().unwrap().len();
    let snapshot = &session
        .mutate(
            "create-vm-snapshot",
            &json!({"data": [{"vm_id": id, "name": "before-changes"}]}),
        )
        .await[0];

    let vcpu = before["vcpu"].as_i64().unwrap();
    session
        .mutate(
            "update-vm-basic-info",
            &json!({"where": {"id": id}, "data": {"vcpu": vcpu * 2, "cpu_cores": vcpu * 2, "cpu_sockets": 1}}),
        )
        .await;
    session
        .mutate(
            "add-vm-disk",
            &json!({"where": {"id": id}, "data": {"vm_disks": {"mount_new_create_disks": [{
                "boot": 9, "bus": "VIRTIO",
                "vm_volume": {"name": "added-after", "size": 1, "size_unit": "GB",
                              "elf_storage_policy": "REPLICA_2_THIN_PROVISION"}}]}}}),
        )
        .await;
    let volume = first(
        &session,
        "get-vm-volumes",
        json!({"vm_disks_some": {"vm": {"id": id}}}),
    )
    .await;
    let grown = volume["size"].as_i64().unwrap() * 2;
    session
        .mutate(
            "update-vm-volume",
            &json!({"where": {"id": volume["id"]}, "data": {"size": grown}}),
        )
        .await;
    let changed = first(&session, "get-vms", json!({"id": id})).await;
    assert_eq!(changed["vcpu"], vcpu * 2);
    assert_eq!(changed["vm_disks"].as_array().unwrap().len(), disks + 1);

    session
        .mutate(
            "rollback-vm",
            &json!({"where": {"id": id}, "data": {"snapshot_id": id_of(snapshot)}}),
        )
        .await;
    let after = first(&session, "get-vms", json!({"id": id})).await;
    assert_eq!(after["vcpu"], before["vcpu"]);
    assert_eq!(after["cpu"], before["cpu"]);
    assert_eq!(after["memory"], before["memory"]);
    assert_eq!(after["status"], "STOPPED");
    assert_eq!(
        after["vm_disks"].as_array().unwrap().len(),
        disks,
        "the disk added after the snapshot is gone: {after}"
    );
    let restored = first(&session, "get-vm-volumes", json!({"id": volume["id"]})).await;
    assert_eq!(
        restored["size"], volume["size"],
        "the volume's size is the snapshot's"
    );
    assert_eq!(after["size"], before["size"]);
    assert_eq!(tower.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn disks_grow_cd_roms_eject_plans_pause_and_volumes_roll_back() {
    let (tower, session) = Session::start().await;
    let vm = first(&session, "get-vms", json!({"name": "web-2"})).await;
    let disk = first(
        &session,
        "get-vm-disks",
        json!({"vm": {"id": vm["id"]}, "type": "DISK"}),
    )
    .await;
    let volume = first(
        &session,
        "get-vm-volumes",
        json!({"id": disk["vm_volume"]["id"]}),
    )
    .await;
    let size = volume["size"].as_f64().unwrap();

    // A snapshot of the volume as it is, then the disk grows (and never shrinks).
    let snapshot = &session
        .mutate(
            "create-vm-volume-snapshot",
            &json!([{"volume_id": volume["id"], "name": "before-growth", "description": ""}]),
        )
        .await[0];
    let grown = (size as i64 >> 30) * 2 + 1;
    session
        .mutate(
            "expand-vm-disk",
            &json!({"where": {"id": disk["id"]}, "size": grown, "size_unit": "GB"}),
        )
        .await;
    let read = first(&session, "get-vm-volumes", json!({"id": volume["id"]})).await;
    assert_eq!(read["size"].as_f64().unwrap(), (grown << 30) as f64);
    let (status, answer) = session
        .call(
            "expand-vm-disk",
            &json!({"where": {"id": disk["id"]}, "size": 1, "size_unit": "MB"}),
        )
        .await;
    assert_eq!(status, 400, "a disk does not shrink: {answer}");
    session
        .mutate(
            "rollback-vm-volume",
            &json!([{"volume_snapshot_id": id_of(snapshot)}]),
        )
        .await;
    let read = first(&session, "get-vm-volumes", json!({"id": volume["id"]})).await;
    assert_eq!(
        read["size"].as_f64().unwrap(),
        size,
        "the snapshot's size again"
    );
    let rebuilt = &session
        .mutate(
            "rebuild-vm-volume",
            &json!([{"volume_snapshot_id": id_of(snapshot), "name": "rebuilt", "description": "from a snapshot"}]),
        )
        .await[0];
    let read = first(&session, "get-vm-volumes", json!({"id": rebuilt["id"]})).await;
    assert_eq!(read["name"], "rebuilt");
    assert_eq!(
        read["size"].as_f64().unwrap(),
        size,
        "a volume of the snapshot's size"
    );

    // A host's disk unmounted and mounted again.
    let host_disk = first(&session, "get-disks", json!({})).await;
    session
        .mutate("unmount-disk", &json!({"where": {"id": host_disk["id"]}}))
        .await;
    assert_eq!(
        first(&session, "get-disks", json!({"id": host_disk["id"]})).await["mounted"],
        false
    );
    session
        .mutate(
            "mount-disk",
            &json!({"where": {"id": host_disk["id"]}, "data": {"function": "DATA"}}),
        )
        .await;
    let read = first(&session, "get-disks", json!({"id": host_disk["id"]})).await;
    assert_eq!(read["mounted"], true);
    assert_eq!(read["function"], "DATA");

    // CD-ROMs: ejected, disabled.
    let (_, cd_roms) = session
        .call("get-vm-disks", &json!({"where": {"type": "CD_ROM"}}))
        .await;
    if let Some(cd_rom) = cd_roms.as_array().and_then(|c| c.first()) {
        session
            .mutate(
                "eject-iso-from-vm-cd-rom",
                &json!({"where": {"id": cd_rom["id"]}}),
            )
            .await;
        session
            .mutate(
                "toggle-vm-cd-rom-disable",
                &json!({"where": {"id": cd_rom["id"]}, "disabled": true}),
            )
            .await;
        let read = first(&session, "get-vm-disks", json!({"id": cd_rom["id"]})).await;
        assert!(read["elf_image"].is_null(), "{read}");
        assert_eq!(read["disabled"], true);
    } else {
        panic!("the seed holds a CD-ROM: {cd_roms}");
    }

    // Snapshot plans pause and resume.
    let (_, plans) = session.call("get-snapshot-plans", &json!({})).await;
    let plan = plans[0].clone();
    assert!(plan.is_object(), "the seed holds a snapshot plan: {plans}");
    session
        .mutate(
            "suspend-snapshot-plan",
            &json!({"where": {"id": plan["id"]}}),
        )
        .await;
    let read = first(&session, "get-snapshot-plans", json!({"id": plan["id"]})).await;
    assert_eq!(read["status"], "SUSPENDED");
    session
        .mutate(
            "resume-snapshot-plan",
            &json!({"where": {"id": plan["id"]}}),
        )
        .await;
    let read = first(&session, "get-snapshot-plans", json!({"id": plan["id"]})).await;
    assert_eq!(read["status"], "NORMAL");
    assert_eq!(tower.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn relations_join_and_leave_flags_are_set_and_alerts_resolve() {
    let (tower, session) = Session::start().await;
    // add-Ys-to-X / remove-Ys-from-X, over a list of params.
    let datacenter = first(&session, "get-datacenters", json!({})).await;
    let cluster = first(&session, "get-clusters", json!({})).await;
    let params =
        json!([{"where": {"id": datacenter["id"]}, "data": {"clusters": {"id": cluster["id"]}}}]);
    session
        .mutate("remove-clusters-from-datacenter", &params)
        .await;
    let read = first(&session, "get-datacenters", json!({"id": datacenter["id"]})).await;
    assert!(
        !read["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == cluster["id"]),
        "{read}"
    );
    session.mutate("add-clusters-to-datacenter", &params).await;
    let read = first(&session, "get-datacenters", json!({"id": datacenter["id"]})).await;
    assert!(
        read["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == cluster["id"]),
        "{read}"
    );
    let cluster = first(&session, "get-clusters", json!({"id": cluster["id"]})).await;
    assert_eq!(
        cluster["datacenters"][0]["id"], datacenter["id"],
        "{cluster}"
    );

    // distribute-X-clusters / remove-X-clusters: a content-library image on clusters.
    let image = first(&session, "get-content-library-images", json!({})).await;
    let on = json!({"where": {"id": image["id"]}, "data": {"clusters": {"id": cluster["id"]}}});
    session
        .mutate("remove-content-library-image-clusters", &on)
        .await;
    let read = first(
        &session,
        "get-content-library-images",
        json!({"id": image["id"]}),
    )
    .await;
    assert!(!read["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == cluster["id"]));
    session
        .mutate("distribute-content-library-image-clusters", &on)
        .await;
    let read = first(
        &session,
        "get-content-library-images",
        json!({"id": image["id"]}),
    )
    .await;
    assert!(
        read["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == cluster["id"]),
        "{read}"
    );

    // A flag beside `where`.
    let disk = first(&session, "get-vm-disks", json!({"type": "DISK"})).await;
    session
        .mutate(
            "set-vm-disk-resident-in-cache",
            &json!({"where": {"id": disk["id"]}, "resident_in_cache": true}),
        )
        .await;
    let read = first(
        &session,
        "get-vm-volumes",
        json!({"id": disk["vm_volume"]["id"]}),
    )
    .await;
    assert_eq!(read["resident_in_cache"], true, "{read}");

    // Alerts resolve.
    let (_, alerts) = session
        .call("get-alerts", &json!({"where": {"ended": false}}))
        .await;
    let alert = alerts[0].clone();
    assert!(alert.is_object(), "the seed holds an open alert: {alerts}");
    session
        .mutate("resolve-alert", &json!({"where": {"id": alert["id"]}}))
        .await;
    let read = first(&session, "get-alerts", json!({"id": alert["id"]})).await;
    assert_eq!(read["ended"], true);
    assert!(read["local_end_time"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    assert_eq!(tower.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn a_snapshot_plan_run_snapshots_its_vms_and_hosts_enter_maintenance() {
    let (tower, session) = Session::start().await;
    let cluster = first(&session, "get-clusters", json!({})).await;
    let vm = first(&session, "get-vms", json!({"name": "web-1"})).await;
    let plan = &session
        .mutate(
            "create-snapshot-plan",
            &json!([{"name": "nightly", "vm_ids": [vm["id"]], "cluster_id": cluster["id"],
                     "execute_intervals": [1], "execute_plan_type": "DAY",
                     "start_time": "2026-01-01T00:00:00.000Z", "remain_snapshot_num": 3}]),
        )
        .await[0];
    assert_eq!(plan["vms"][0]["id"], vm["id"], "{plan}");
    let (_, snapshots) = session
        .call(
            "get-vm-snapshots",
            &json!({"where": {"vm": {"id": vm["id"]}}}),
        )
        .await;
    let before_of_vm = snapshots.as_array().unwrap().len();
    session
        .mutate(
            "execute-snapshot-plan",
            &json!({"where": {"id": plan["id"]}, "data": {"task_name": "run now"}}),
        )
        .await;
    let (_, snapshots) = session
        .call(
            "get-vm-snapshots",
            &json!({"where": {"vm": {"id": vm["id"]}}}),
        )
        .await;
    assert_eq!(snapshots.as_array().unwrap().len(), before_of_vm + 1);
    let (_, groups) = session
        .call(
            "get-snapshot-groups",
            &json!({"where": {"name_starts_with": "nightly-"}}),
        )
        .await;
    assert_eq!(groups.as_array().unwrap().len(), 1, "{groups}");
    assert_eq!(groups[0]["vm_snapshots"].as_array().unwrap().len(), 1);
    let read = first(&session, "get-snapshot-plans", json!({"id": plan["id"]})).await;
    assert_eq!(read["last_execute_status"], "SUCCEED");

    // The group is kept, and the VM rolls back to it.
    let group = &groups[0];
    session
        .mutate(
            "keep-snapshot-group",
            &json!({"where": {"id": group["id"]}}),
        )
        .await;
    let read = first(&session, "get-snapshot-groups", json!({"id": group["id"]})).await;
    assert_eq!(read["keep"], true);
    let vcpu = vm["vcpu"].as_i64().unwrap();
    session
        .mutate(
            "update-vm-basic-info",
            &json!({"where": {"id": vm["id"]}, "data": {"vcpu": vcpu * 2, "cpu_cores": vcpu * 2, "cpu_sockets": 1}}),
        )
        .await;
    session
        .mutate(
            "rollback-snapshot-group",
            &json!({"where": {"id": group["id"]}}),
        )
        .await;
    let read = first(&session, "get-vms", json!({"id": vm["id"]})).await;
    assert_eq!(
        read["vcpu"], vm["vcpu"],
        "the group's snapshot of the VM restored"
    );

    // Across clusters: to a second cluster's host.
    let other = tower
        .insert("Cluster", json!({"name": "cluster-b"}))
        .expect("a cluster");
    let host = tower
        .insert(
            "Host",
            json!({"name": "node-b", "cluster": {"id": other, "name": "cluster-b"}}),
        )
        .expect("a host");
    session
        .mutate(
            "migrate-vm-across-cluster",
            &json!({"where": {"id": vm["id"]}, "data": {"cluster_id": other, "vm_config": {
                "network_mapping": [], "migrate_type": "COLD_MIGRATE", "new_name": "web-1-b"}}}),
        )
        .await;
    let read = first(&session, "get-vms", json!({"id": vm["id"]})).await;
    assert_eq!(read["cluster"]["id"], other.as_str());
    assert_eq!(read["host"]["id"], host.as_str());
    assert_eq!(read["name"], "web-1-b");

    let host = first(&session, "get-hosts", json!({})).await;
    session
        .mutate(
            "enter-maintance-mode",
            &json!({"where": {"host_id": host["id"]}, "data": {}}),
        )
        .await;
    let read = first(&session, "get-hosts", json!({"id": host["id"]})).await;
    assert_eq!(read["host_state"]["state"], "MAINTENANCE_MODE", "{read}");
    session
        .mutate(
            "exit-maintance-mode",
            &json!({"where": {"host_id": host["id"]}, "data": {}}),
        )
        .await;
    let read = first(&session, "get-hosts", json!({"id": host["id"]})).await;
    assert_eq!(read["host_state"]["state"], "IN_USE");
    assert_eq!(tower.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn a_records_last_updated_time_moves_when_its_update_task_ends() {
    let (tower, session) = Session::start().await;
    let cluster = first(&session, "get-clusters", json!({})).await;
    let group = &session
        .mutate(
            "create-vm-placement-group",
            &json!([{"name": "spread", "cluster_id": cluster["id"], "enabled": true,
                     "vm_vm_policy_enabled": true, "vm_vm_policy": "MUST_DIFFERENT"}]),
        )
        .await[0];
    let created = first(
        &session,
        "get-vm-placement-groups",
        json!({"id": group["id"]}),
    )
    .await;
    let before = created["local_updated_at"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    session
        .mutate(
            "update-vm-placement-group",
            &json!({"where": {"id": group["id"]}, "data": {"name": "spread-2"}}),
        )
        .await;
    let updated = first(
        &session,
        "get-vm-placement-groups",
        json!({"id": group["id"]}),
    )
    .await;
    let after = updated["local_updated_at"].as_str().expect("a time");
    assert_eq!(updated["name"], "spread-2");
    assert!(after > before.as_str(), "{before} → {after}");
    assert_eq!(tower.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn a_batch_from_a_content_library_template_creates_every_vm_in_one_task() {
    let (tower, session) = Session::start().await;
    let template = first(&session, "get-content-library-vm-templates", json!({})).await;
    let cluster = first(&session, "get-clusters", json!({})).await;
    let answer = &session
        .mutate(
            "create-vm-from-content-library-template-batch",
            &json!({"template_id": template["id"], "vms": [
                {"name": "batch-1", "cluster_id": cluster["id"], "is_full_copy": false},
                {"name": "batch-2", "cluster_id": cluster["id"], "is_full_copy": false}]}),
        )
        .await[0];
    assert_eq!(answer.as_array().map(Vec::len), Some(2), "{answer}");
    let (_, vms) = session
        .call("get-vms", &json!({"where": {"name_starts_with": "batch-"}}))
        .await;
    assert_eq!(vms.as_array().unwrap().len(), 2, "{vms}");
    assert_eq!(tower.violations(), Vec::<String>::new());
}
