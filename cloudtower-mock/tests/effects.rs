//! The effects of the operations that used to answer from their response schema alone: each
//! called as a user calls it, its tasks waited for, and what it promised read back through the
//! API (exports and imports, content-library templates and images, cluster pinning and
//! settings, host power, backup restores, applications, security settings).

use crate::common;

use common::{first, id_of, Session};
use serde_json::{json, Value};

async fn count(session: &Session, list: &str, filter: Value) -> usize {
    let (status, found) = session.call(list, &json!({ "where": filter })).await;
    assert_eq!(status, 200, "{list}: {found}");
    found.as_array().unwrap().len()
}

#[tokio::test]
async fn exports_create_an_export_file_per_selected_record() {
    let (_tower, session) = Session::start().await;
    let vm = first(&session, "get-vms", json!({})).await;
    let files = session
        .mutate(
            "export-vm",
            &json!({"where": {"id": id_of(&vm)}, "data": {"type": "VMDK"}}),
        )
        .await;
    assert_eq!(files.len(), 1);
    let stored = session.read("get-vm-export-files", &id_of(&files[0])).await;
    assert_eq!(stored[0]["vm"]["id"], vm["id"], "{stored:?}");
    assert_eq!(stored[0]["type"], "VMDK");
    assert!(stored[0]["files"][0]["fileName"]
        .as_str()
        .unwrap()
        .ends_with(".vmdk"));

    let volume = first(&session, "get-vm-volumes", json!({})).await;
    let files = session
        .mutate(
            "export-vm-volume",
            &json!({"where": {"id": id_of(&volume)}, "data": {"type": "QCOW2"}}),
        )
        .await;
    let stored = session.read("get-vm-export-files", &id_of(&files[0])).await;
    assert_eq!(stored[0]["vm_volume"]["id"], volume["id"]);
    assert_eq!(stored[0]["files"][0]["fileSize"], volume["size"]);

    // Nothing selected: refused, nothing created.
    let (status, _) = session
        .call(
            "export-vm",
            &json!({"where": {"id": "no-such-vm"}, "data": {"type": "OVF"}}),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(count(&session, "get-vm-export-files", json!({})).await, 2);
}

#[tokio::test]
async fn import_vm_creates_the_vm_its_ovf_describes() {
    let (_tower, session) = Session::start().await;
    let cluster = first(&session, "get-clusters", json!({})).await;
    let vlan = first(&session, "get-vlans", json!({"type": "VM"})).await;
    let ovf = json!({
        "name": "appliance", "description": "from an OVF", "firmware": "UEFI",
        "cpu": {"cores": 2, "sockets": 2}, "vcpu": 4, "memory": 4_294_967_296_i64,
        "disks": [{"name": "root", "size": 10_737_418_240_i64, "type": "DISK", "bus": "VIRTIO"}],
        "nics": [],
    });
    let vms = session
        .mutate(
            "import-vm",
            &json!([{
                "cluster_id": id_of(&cluster), "name": "imported", "upload_tasks": [],
                "parsed_ovf": ovf, "memory": 2, "memory_unit": "GB",
                "vm_nics": [{"connect_vlan_id": id_of(&vlan), "model": "VIRTIO"}],
            }]),
        )
        .await;
    let vm = &session.read("get-vms", &id_of(&vms[0])).await[0];
    assert_eq!(vm["name"], "imported");
    assert_eq!(vm["vcpu"], 4, "{vm}");
    assert_eq!(vm["firmware"], "UEFI");
    assert_eq!(vm["memory"], 2_i64 << 30, "the params win over the OVF");
    assert_eq!(vm["description"], "from an OVF");
    let disks = session
        .call("get-vm-disks", &json!({"where": {"vm": {"id": vm["id"]}}}))
        .await
        .1;
    assert_eq!(disks.as_array().unwrap().len(), 1, "{disks}");
    let nics = session
        .call("get-vm-nics", &json!({"where": {"vm": {"id": vm["id"]}}}))
        .await
        .1;
    assert_eq!(nics[0]["vlan"]["id"], vlan["id"], "{nics}");
}

#[tokio::test]
async fn import_vm_volume_creates_the_volume_in_its_cluster() {
    let (_tower, session) = Session::start().await;
    let cluster = first(&session, "get-clusters", json!({})).await;
    let volumes = session
        .mutate(
            "import-vm-volume",
            &json!([{"cluster_id": id_of(&cluster), "name": "imported-disk",
                     "upload_task_id": "none", "storage_policy": "REPLICA_3_THIN_PROVISION"}]),
        )
        .await;
    let volume = &session.read("get-vm-volumes", &id_of(&volumes[0])).await[0];
    assert_eq!(volume["name"], "imported-disk");
    assert_eq!(volume["cluster"]["id"], cluster["id"]);
    assert_eq!(volume["elf_storage_policy"], "REPLICA_3_THIN_PROVISION");
}

#[tokio::test]
async fn content_library_templates_are_cloned_converted_and_imported() {
    let (_tower, session) = Session::start().await;
    let vm = first(&session, "get-vms", json!({"status": "STOPPED"})).await;
    let cluster = vm["cluster"].clone();
    let params = |name: &str| {
        json!([{"name": name, "vm": {"id": vm["id"]},
                "clusters": {"id": cluster["id"]}, "cloud_init_supported": true}])
    };
    let cloned = session
        .mutate(
            "clone-content-library-vm-template-from-vm",
            &params("golden"),
        )
        .await;
    let template = &session
        .read("get-content-library-vm-templates", &id_of(&cloned[0]))
        .await[0];
    assert_eq!(template["name"], "golden");
    assert_eq!(template["memory"], vm["memory"]);
    assert_eq!(template["vcpu"], vm["vcpu"]);
    assert_eq!(template["cloud_init_supported"], true);
    assert_eq!(template["clusters"][0]["id"], cluster["id"], "{template}");
    assert_eq!(session.read("get-vms", &id_of(&vm)).await.len(), 1);

    let converted = session
        .mutate(
            "convert-content-library-vm-template-from-vm",
            &params("frozen"),
        )
        .await;
    assert_eq!(
        session
            .read("get-content-library-vm-templates", &id_of(&converted[0]))
            .await
            .len(),
        1
    );
    assert!(
        session.read("get-vms", &id_of(&vm)).await.is_empty(),
        "the VM became the template"
    );

    let imported = session
        .mutate(
            "import-content-library-vm-template",
            &json!([{
                "cluster_id": cluster["id"], "name": "from-ovf", "upload_tasks": [],
                "parsed_ovf": {"name": "x", "firmware": "BIOS", "cpu": {"cores": 1, "sockets": 2},
                               "vcpu": 2, "memory": 1_073_741_824_i64, "nics": [],
                               "disks": [{"name": "d", "size": 1024, "type": "DISK", "bus": "SCSI"}]},
            }]),
        )
        .await;
    let template = &session
        .read("get-content-library-vm-templates", &id_of(&imported[0]))
        .await[0];
    assert_eq!(template["memory"], 1_073_741_824_i64);
    assert_eq!(template["size"], 1024);

    let exported = session
        .mutate(
            "export-content-library-vm-template",
            &json!({"where": {"id": template["id"]}}),
        )
        .await;
    let file = &session
        .read("get-vm-export-files", &id_of(&exported[0]))
        .await[0];
    assert_eq!(file["content_library_vm_template"]["id"], template["id"]);
}

#[tokio::test]
async fn import_content_library_image_creates_the_image_and_a_finished_upload() {
    let (_tower, session) = Session::start().await;
    let cluster = first(&session, "get-clusters", json!({})).await;
    let (status, upload) = session
        .call(
            "import-content-library-image",
            &json!({"data": {"name": "ubuntu.iso", "url": "http://images/ubuntu.iso",
                             "cluster": {"id": cluster["id"]}}}),
        )
        .await;
    assert_eq!(status, 200, "{upload}");
    assert_eq!(upload["status"], "SUCCESSED");
    let image_id = upload["args"]["content_library_image_id"].as_str().unwrap();
    let image = &session.read("get-content-library-images", image_id).await[0];
    assert_eq!(image["name"], "ubuntu.iso");
    assert_eq!(image["clusters"][0]["id"], cluster["id"]);
    assert_eq!(
        session
            .read("get-upload-tasks", &id_of(&upload))
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn cluster_pin_in_performance_is_enabled_read_and_disabled() {
    let (_tower, session) = Session::start().await;
    let cluster = first(&session, "get-clusters", json!({})).await;
    let filter = json!({"where": {"id": cluster["id"]}});
    session
        .mutate(
            "enable-cluster-pin-in-performance",
            &json!({"where": {"id": cluster["id"]},
                    "data": {"cluster_default_prio_percentage": 30.0, "hosts": []}}),
        )
        .await;
    let (_, info) = session
        .call("get-cluster-pin-in-performance-info", &filter)
        .await;
    assert_eq!(info[0]["pin_in_performance_enabled"], true, "{info}");
    assert_eq!(info[0]["prio_space_percentage"], 30.0);
    assert!(!info[0]["hosts"].as_array().unwrap().is_empty());
    assert_eq!(info[0]["hosts"][0]["prio_space_percentage"], 30.0);
    let stored = &session.read("get-clusters", &id_of(&cluster)).await[0];
    assert_eq!(stored["prio_space_percentage"], 30.0);

    session
        .mutate("disable-cluster-pin-in-performance", &filter)
        .await;
    let (_, info) = session
        .call("get-cluster-pin-in-performance-info", &filter)
        .await;
    assert_eq!(info[0]["pin_in_performance_enabled"], false, "{info}");
}

#[tokio::test]
async fn powering_a_host_off_stops_its_vms_and_disconnects_it() {
    let (_tower, session) = Session::start().await;
    let vm = first(&session, "get-vms", json!({"status": "RUNNING"})).await;
    let host_id = vm["host"]["id"].as_str().unwrap().to_owned();
    let body = |force: bool| {
        json!({"where": {"host_id": host_id},
               "data": {"action": "poweroff", "force": force}})
    };
    let (status, refused) = session.call("operate-host-power", &body(false)).await;
    assert_eq!(status, 400, "running VMs and no force: {refused}");
    session.mutate("operate-host-power", &body(true)).await;
    let host = &session.read("get-hosts", &host_id).await[0];
    assert_eq!(host["connect_status"], "DISCONNECTED");
    let vm = &session.read("get-vms", &id_of(&vm)).await[0];
    assert_eq!(vm["status"], "STOPPED");
}

#[tokio::test]
async fn backup_restores_record_an_execution_and_rebuild_a_vm() {
    let (_tower, session) = Session::start().await;
    let point = first(&session, "get-backup-restore-points", json!({})).await;
    let cluster = first(&session, "get-clusters", json!({})).await;
    let executions = session
        .mutate(
            "backup-restore-vm-in-place",
            &json!({"where": {"id": point["id"]}, "data": {"startup_after_restore": false}}),
        )
        .await;
    let execution = &session
        .read("get-backup-restore-executions", &id_of(&executions[0]))
        .await[0];
    assert_eq!(execution["mode"], "INPLACE");
    assert_eq!(execution["backup_restore_point"]["id"], point["id"]);

    session
        .mutate(
            "backup-rebuild-vm",
            &json!({"where": {"id": point["id"]},
                    "data": {"rebuild_name": "restored", "rebuild_target_cluster_id": cluster["id"],
                             "rebuild_target_host_id": "AUTO_SCHEDULE", "rebuild_network_mapping": [],
                             "startup_after_restore": true}}),
        )
        .await;
    let vm = first(&session, "get-vms", json!({"name": "restored"})).await;
    assert_eq!(vm["status"], "RUNNING", "{vm}");
    assert_eq!(vm["cluster"]["id"], cluster["id"]);
    assert_eq!(
        count(
            &session,
            "get-backup-restore-executions",
            json!({"mode": "REBUILD"})
        )
        .await,
        1
    );
}

#[tokio::test]
async fn applications_are_deployed_upgraded_and_uninstalled() {
    let (_tower, session) = Session::start().await;
    let (status, app) = session
        .call(
            "deploy-cloudtower-application",
            &json!({"name": "observability", "targetPackage": "obs-1.0", "vmSpec": {}}),
        )
        .await;
    assert_eq!(status, 200, "{app}");
    let stored = &session
        .read("get-cloudtower-applications", &id_of(&app))
        .await[0];
    assert_eq!(stored["targetPackage"], "obs-1.0");
    let (status, upgraded) = session
        .call(
            "upgrade-cloudtower-application",
            &json!({"where": {"id": app["id"]}, "data": {"targetPackage": "obs-1.1"}}),
        )
        .await;
    assert_eq!(status, 200, "{upgraded}");
    let stored = &session
        .read("get-cloudtower-applications", &id_of(&app))
        .await[0];
    assert_eq!(stored["targetPackage"], "obs-1.1");
    assert_eq!(stored["resourceVersion"], 2);
    let (status, gone) = session
        .call(
            "uninstall-cloudtower-application",
            &json!({"where": {"id": app["id"]}}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(gone[0]["id"], app["id"]);
    assert!(session
        .read("get-cloudtower-applications", &id_of(&app))
        .await
        .is_empty());
}

#[tokio::test]
async fn security_and_cluster_settings_are_read_back() {
    let (_tower, session) = Session::start().await;
    session
        .mutate("update-session-timeout", &json!({"session_max_age": 3600}))
        .await;
    session
        .mutate(
            "update-password-security",
            &json!({"password_complexity": "HIGH", "password_expire_days": 90}),
        )
        .await;
    session
        .mutate(
            "update-access-restriction",
            &json!({"access_mode": "ALLOW", "access_list": ["10.0.0.0/8"]}),
        )
        .await;
    let settings = first(&session, "get-global-settingses", json!({})).await;
    let auth = &settings["auth"];
    assert_eq!(auth["session_max_age"], 3600, "{settings}");
    assert_eq!(auth["password_complexity"], "HIGH");
    assert_eq!(auth["password_expire_days"], 90);
    assert_eq!(auth["access_list"], json!(["10.0.0.0/8"]));
    assert_eq!(auth["access_mode"], "ALLOW");

    let cluster = first(&session, "get-clusters", json!({})).await;
    let selected = json!({"id": cluster["id"]});
    session
        .mutate(
            "update-cluster-ha-setting",
            &json!({"where": selected, "ha": true}),
        )
        .await;
    session
        .mutate(
            "update-cluster-enable-iscsi-setting",
            &json!({"where": selected, "enable_iscsi": true}),
        )
        .await;
    session
        .mutate(
            "create-cluster-recycle-bin-setting",
            &json!({"where": selected, "data": {"enabled": true, "retain": 7}}),
        )
        .await;
    let settings = first(
        &session,
        "get-cluster-settingses",
        json!({"cluster": {"id": cluster["id"]}}),
    )
    .await;
    assert_eq!(settings["default_ha"], true, "{settings}");
    assert_eq!(settings["enabled_iscsi"], true);
    assert_eq!(
        settings["vm_recycle_bin"],
        json!({"enabled": true, "retain": 7})
    );
    assert_eq!(
        count(
            &session,
            "get-cluster-settingses",
            json!({"cluster": {"id": cluster["id"]}})
        )
        .await,
        1,
        "one settings record per cluster"
    );
}

#[tokio::test]
async fn connect_cluster_creates_a_connected_cluster_in_its_datacenter() {
    let (_tower, session) = Session::start().await;
    let datacenter = first(&session, "get-datacenters", json!({})).await;
    let clusters = session
        .mutate(
            "connect-cluster",
            &json!([{"ip": "10.0.9.9", "username": "root", "password": "secret",
                     "datacenter_id": datacenter["id"]}]),
        )
        .await;
    let cluster = &session.read("get-clusters", &id_of(&clusters[0])).await[0];
    assert_eq!(cluster["ip"], "10.0.9.9");
    assert_eq!(cluster["connect_state"], "CONNECTED");
    assert_eq!(cluster["datacenters"][0]["id"], datacenter["id"]);
    let datacenter = &session.read("get-datacenters", &id_of(&datacenter)).await[0];
    assert!(
        datacenter["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == cluster["id"]),
        "the datacenter lists it: {datacenter}"
    );
}

#[tokio::test]
async fn devices_accounts_topology_and_log_collections_take_their_changes() {
    let (_tower, session) = Session::start().await;
    let gpu = first(&session, "get-gpu-devices", json!({})).await;
    session
        .mutate(
            "switch-gpu-device-sriov",
            &json!({"where": {"id": gpu["id"]}, "data": {"enable": true}}),
        )
        .await;
    assert_eq!(
        session.read("get-gpu-devices", &id_of(&gpu)).await[0]["is_nvidia_vfs_enabled"],
        true
    );

    let account = first(&session, "get-vsphere-esxi-accounts", json!({})).await;
    session
        .mutate(
            "update-vsphere-esxi-account",
            &json!({"data": [{"esxi_account_id": account["id"], "ip": "10.1.1.1",
                              "username": "administrator", "port": 8443}]}),
        )
        .await;
    let stored = &session
        .read("get-vsphere-esxi-accounts", &id_of(&account))
        .await[0];
    assert_eq!(stored["ip"], "10.1.1.1");
    assert_eq!(stored["port"], 8443);

    let brick = first(&session, "get-brick-topoes", json!({})).await;
    session
        .mutate(
            "move-brick-topo",
            &json!({"where": {"id": brick["id"]}, "data": {"position": 7}}),
        )
        .await;
    assert_eq!(
        session.read("get-brick-topoes", &id_of(&brick)).await[0]["position"],
        7
    );

    let cluster = first(&session, "get-clusters", json!({})).await;
    let collections = session
        .mutate(
            "create-log-collection",
            &json!([{"cluster_id": cluster["id"], "hosts": {},
                     "log_started_at": "2026-01-01T00:00:00Z",
                     "log_ended_at": "2026-01-02T00:00:00Z"}]),
        )
        .await;
    let id = id_of(&collections[0]);
    session
        .mutate("force-stop-log-collection", &json!({"where": {"id": id}}))
        .await;
    assert_eq!(
        session.read("get-log-collections", &id).await[0]["status"],
        "FAILED"
    );
}

#[tokio::test]
async fn stopping_a_vm_in_cutover_stops_the_vm_its_migration_moves() {
    let (_tower, session) = Session::start().await;
    let vm = first(&session, "get-vms", json!({"status": "RUNNING"})).await;
    let (status, answer) = session
        .call(
            "migrate-vm",
            &json!({"where": {"id": vm["id"]}, "data": {"host_id": vm["host"]["id"]}}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let task = answer[0]["task_id"].as_str().unwrap().to_owned();
    session
        .mutate(
            "stop-vm-in-cutover-migration",
            &json!({"tasks": {"id": task}, "force": true}),
        )
        .await;
    assert_eq!(
        session.read("get-vms", &id_of(&vm)).await[0]["status"],
        "STOPPED"
    );
}

#[tokio::test]
async fn rolling_back_a_consistency_group_snapshot_restores_its_luns() {
    let (tower, session) = Session::start().await;
    let lun = first(&session, "get-iscsi-luns", json!({})).await;
    let group = first(&session, "get-consistency-groups", json!({})).await;
    let snapshot = session
        .mutate(
            "create-iscsi-lun-snapshot",
            &json!([{"name": "before", "iscsi_lun_id": lun["id"], "iscsi_target_id": lun["iscsi_target"]["id"]}]),
        )
        .await;
    let snapshot_id = id_of(&snapshot[0]);
    // The LUN's data moves on after the snapshot: its unique bytes differ from the snapshot's.
    let frozen = session.read("get-iscsi-lun-snapshots", &snapshot_id).await[0]["unique_size"]
        .as_i64()
        .unwrap();
    tower
        .with_records(|records| {
            records.update(
                "IscsiLun",
                &id_of(&lun),
                json!({"unique_size": frozen + 4096}),
            )
        })
        .unwrap();
    let group_snapshot = tower
        .with_records(|records| {
            records.insert(
                "ConsistencyGroupSnapshot",
                json!({"name": "cg-snap", "consistency_group": {"id": group["id"], "name": group["name"]},
                       "Iscsi_lun_snapshots": [{"id": snapshot_id, "name": "before"}]}),
            )
        })
        .unwrap();
    session
        .mutate(
            "rollback-consistency-snapshot-group",
            &json!({"where": {"id": group_snapshot}}),
        )
        .await;
    let lun = &session.read("get-iscsi-luns", &id_of(&lun)).await[0];
    assert_eq!(lun["unique_size"], frozen, "{lun}");
}

#[tokio::test]
async fn node_topologies_move_and_floating_ips_are_created_in_batches() {
    let (_tower, session) = Session::start().await;
    let node = first(&session, "get-node-topoes", json!({})).await;
    let brick = first(&session, "get-brick-topoes", json!({})).await;
    session
        .mutate(
            "move-node-topo",
            &json!([{"where": {"id": node["id"]},
                     "data": {"brick_topo_id": brick["id"], "position": {"row": 2, "column": 1}}}]),
        )
        .await;
    let moved = &session.read("get-node-topoes", &id_of(&node)).await[0];
    assert_eq!(moved["position"], json!({"row": 2, "column": 1}), "{moved}");
    assert_eq!(moved["brick_topo"]["id"], brick["id"]);

    let vpc = first(&session, "get-virtual-private-clouds", json!({})).await;
    let created = session
        .mutate(
            "batch-create-virtual-private-cloud-floating-ips",
            &json!({"vpc_id": vpc["id"], "ip_addresses": ["203.0.113.7", "203.0.113.8"]}),
        )
        .await;
    assert_eq!(created.len(), 2);
    let (_, ips) = session
        .call(
            "get-virtual-private-cloud-floating-ips",
            &json!({"where": {"vpc": {"id": vpc["id"]}, "external_ip_in": ["203.0.113.7", "203.0.113.8"]}}),
        )
        .await;
    assert_eq!(ips.as_array().unwrap().len(), 2, "{ips}");
    assert!(ips
        .as_array()
        .unwrap()
        .iter()
        .any(|ip| ip["local_id"] == created[0]["local_id"]));
}

/// One multipart chunk of `operation`: `file` holds `bytes` bytes, beside the text `fields`.
async fn upload(
    session: &Session,
    operation: &str,
    bytes: usize,
    fields: &[(&str, String)],
) -> Value {
    let mut form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(vec![7_u8; bytes]).file_name("file.bin"),
    );
    for (name, value) in fields {
        form = form.text(name.to_string(), value.clone());
    }
    let answer = session
        .http
        .post(format!("{}/v2/api/{operation}", session.url))
        .header("authorization", &session.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200, "{operation}");
    answer.json().await.unwrap()
}

/// Polls the upload task `id` until it SUCCESSED (2 s at most); the task.
async fn uploaded(session: &Session, id: &str) -> Value {
    for _ in 0..200 {
        let task = session.read("get-upload-tasks", id).await[0].clone();
        if task["status"] == "SUCCESSED" {
            return task;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("upload {id} did not finish");
}

#[tokio::test]
async fn every_upload_operation_becomes_what_it_uploads() {
    let (_tower, session) = Session::start().await;
    let cluster = first(&session, "get-clusters", json!({})).await;
    let cluster_id = id_of(&cluster);
    for (operation, list, resource_list, extra) in [
        (
            "upload-content-library-image",
            true,
            Some("get-content-library-images"),
            ("clusters", cluster_id.clone()),
        ),
        (
            "upload-svt-image",
            true,
            Some("get-svt-images"),
            ("version", "3".to_owned()),
        ),
        (
            "upload-cloudtower-application-package",
            true,
            Some("get-cloudtower-application-packages"),
            ("size_unit", "B".to_owned()),
        ),
        (
            "upload-elf-file",
            false,
            None,
            ("size_unit", "B".to_owned()),
        ),
    ] {
        let name = format!("{operation}.qcow2");
        let fields = [
            ("name", name.clone()),
            ("size", "1000".to_owned()),
            ("cluster_id", cluster_id.clone()),
            extra,
        ];
        // Two chunks: the first gives the size, the second the remainder.
        let answer = upload(&session, operation, 600, &fields).await;
        let task = if list { answer[0].clone() } else { answer };
        assert_eq!(task["status"], "UPLOADING", "{operation}: {task}");
        let id = id_of(&task);
        upload(&session, operation, 400, &[("upload_task_id", id.clone())]).await;
        let task = uploaded(&session, &id).await;
        let Some(list_op) = resource_list else {
            assert_eq!(task["resource_type"], "VM_VOLUME_QCOW2", "{task}");
            continue;
        };
        let made = task["args"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(key, _)| key.ends_with("_id") && *key != "cluster_id")
            .map(|(_, v)| v.as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("{operation}: {task}"));
        let record = &session.read(list_op, &made).await[0];
        assert_eq!(record["name"], name.as_str(), "{operation}: {record}");
        if operation == "upload-content-library-image" {
            assert_eq!(record["clusters"][0]["id"], cluster["id"], "{record}");
            assert_eq!(record["size"], 1000);
        }
        if operation == "upload-svt-image" {
            assert_eq!(record["version"], 3, "{record}");
        }
    }
}

#[tokio::test]
async fn aborting_a_cross_cluster_migration_leaves_the_vm_where_it_was() {
    let (_tower, session) = Session::start_with(cloudtower_mock::MockConfig {
        task_duration: std::time::Duration::from_secs(30),
        ..cloudtower_mock::MockConfig::default()
    })
    .await;
    let vm = first(&session, "get-vms", json!({})).await;
    // A migration that would rename the VM (the seed has one cluster).
    let (status, answer) = session
        .call(
            "migrate-vm-across-cluster",
            &json!({"where": {"id": vm["id"]},
                    "data": {"cluster_id": vm["cluster"]["id"], "vm_config": {"new_name": "moved", "network_mapping": [], "migrate_type": "LIVE_MIGRATE"}}}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let task = answer[0]["task_id"].as_str().unwrap().to_owned();
    let (status, aborted) = session
        .call(
            "abort-migrate-vm-across-cluster",
            &json!({"tasks": {"id": task}}),
        )
        .await;
    assert_eq!(status, 200, "{aborted}");
    assert_eq!(aborted[0]["status"], "FAILED", "{aborted}");
    assert_eq!(aborted[0]["error_code"], "Aborted");
    let stored = &session.read("get-tasks", &task).await[0];
    assert_eq!(stored["status"], "FAILED");
    let vm_now = &session.read("get-vms", &id_of(&vm)).await[0];
    assert_eq!(vm_now["name"], vm["name"], "it did not move: {vm_now}");
    // Ended: nothing left to abort.
    let (status, _) = session
        .call(
            "abort-migrate-vm-across-cluster",
            &json!({"tasks": {"id": task}}),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn reads_of_plans_and_export_links_answer_from_the_store() {
    let (_tower, session) = Session::start().await;
    let (_, plans) = session.call("get-backup-plans", &json!({})).await;
    let (status, without) = session
        .call("get-backup-plans-without-executions", &json!({}))
        .await;
    assert_eq!(status, 200, "{without}");
    assert_eq!(
        without.as_array().unwrap().len(),
        plans.as_array().unwrap().len()
    );
    assert_eq!(without[0]["id"], plans[0]["id"]);
    assert!(
        without[0].get("backup_plan_executions").is_none(),
        "{without}"
    );

    let vm = first(&session, "get-vms", json!({})).await;
    let files = session
        .mutate(
            "export-vm",
            &json!({"where": {"id": vm["id"]}, "data": {"type": "OVF"}}),
        )
        .await;
    let (status, links) = session
        .call(
            "get-export-file-download-links",
            &json!({"where": {"data_port_id": files[0]["data_port_id"]}}),
        )
        .await;
    assert_eq!(status, 200, "{links}");
    assert_eq!(links[0]["filename"], files[0]["files"][0]["fileName"]);
    assert!(links[0]["link"]
        .as_str()
        .unwrap()
        .contains(files[0]["files"][0]["fileUUID"].as_str().unwrap()));
}
