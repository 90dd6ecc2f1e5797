//! The tower's own records and the reads it derives from its inventory, called as a user
//! calls them: the license updated and read back, the signed-in user, backup plans run and
//! reports generated (the records they leave agreeing), cluster storage, meta leaders,
//! witness services, GPU assignments and restore-point metadata.

use crate::common;

use cloudtower_api::models::UserSource;
use std::time::Duration;

use cloudtower_mock::{MockConfig, MockTower};
use common::{first, id_of, Session};
use serde_json::{json, Value};

/// Calls `operation` and checks that it answers 200 with a value of its response type (as a
/// tower's answer is); that value.
async fn answered(session: &Session, operation: &str, body: &Value) -> Value {
    let (status, answer) = session.call(operation, body).await;
    assert_eq!(status, 200, "{operation}: {answer}");
    static SCHEMA: std::sync::OnceLock<cloudtower_schema::ApiSchema> = std::sync::OnceLock::new();
    let schema = SCHEMA.get_or_init(common::requests::schema);
    let response = schema
        .operation(operation)
        .unwrap()
        .response
        .as_ref()
        .unwrap();
    if let Err(mismatch) = schema.check(&answer, response) {
        panic!("{operation}: not a {response}: {mismatch}: {answer}");
    }
    answer
}

async fn license(session: &Session) -> Value {
    let licenses = answered(session, "get-licenses", &json!({})).await;
    assert_eq!(
        licenses.as_array().unwrap().len(),
        1,
        "a tower has one license"
    );
    licenses[0].clone()
}

#[tokio::test]
async fn update_license_changes_the_license_get_licenses_reads() {
    let (tower, session) = Session::start().await;
    let trial = license(&session).await;
    assert_eq!(trial["type"], "TRIAL", "{trial}");

    // A code describing the license: what it describes is read back.
    let code = json!({
        "license_serial": "SN-2027-0042", "type": "SUBSCRIPTION",
        "software_edition": "ENTERPRISE", "max_cluster_num": 16, "max_chunk_num": 128,
        "sign_date": "2026-12-01T00:00:00.000Z", "expire_date": "2027-12-01T00:00:00.000Z",
    });
    let answered = session
        .mutate(
            "update-license",
            &json!({"data": {"license": code.to_string()}}),
        )
        .await;
    assert_eq!(
        answered[0]["id"], trial["id"],
        "the tower's license is updated"
    );
    let updated = license(&session).await;
    for field in [
        "license_serial",
        "type",
        "software_edition",
        "max_cluster_num",
        "max_chunk_num",
        "sign_date",
        "expire_date",
    ] {
        assert_eq!(updated[field], code[field], "{field}: {updated}");
    }

    // The same, base64-encoded (as license codes are): `{"max_cluster_num":24}`.
    session
        .mutate(
            "update-license",
            &json!({"data": {"license": "eyJtYXhfY2x1c3Rlcl9udW0iOjI0fQ=="}}),
        )
        .await;
    let updated = license(&session).await;
    assert_eq!(updated["max_cluster_num"], 24, "{updated}");
    assert_eq!(updated["license_serial"], code["license_serial"]);

    // A code the mock cannot look into: a new serial (the same for the same code), signed now.
    let opaque = json!({"data": {"license": "AAAB-opaque-license-code"}});
    session.mutate("update-license", &opaque).await;
    let first_read = license(&session).await;
    assert_ne!(first_read["license_serial"], updated["license_serial"]);
    assert!(
        first_read["sign_date"].as_str().unwrap() > updated["sign_date"].as_str().unwrap(),
        "{first_read}"
    );
    assert_eq!(
        first_read["type"], "SUBSCRIPTION",
        "what it does not say is kept"
    );
    session.mutate("update-license", &opaque).await;
    assert_eq!(
        license(&session).await["license_serial"],
        first_read["license_serial"]
    );

    // Refused, and nothing changes: an empty code, a field no license has, a wrong value.
    let before = license(&session).await;
    for bad in [
        String::new(),
        json!({"seats": 3}).to_string(),
        json!({"type": "LIFETIME"}).to_string(),
        json!({"expire_date": "next year"}).to_string(),
    ] {
        let (status, error) = session
            .call("update-license", &json!({"data": {"license": bad}}))
            .await;
        assert_eq!(status, 400, "{bad}: {error}");
    }
    assert_eq!(license(&session).await, before);
    assert_eq!(tower.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn get_my_info_answers_the_signed_in_user() {
    let (tower, session) = Session::start().await;
    let me = answered(&session, "get-my-info", &Value::Null).await;
    assert_eq!(me["username"], cloudtower_mock::MOCK_USERNAME);
    assert_eq!(me["source"], "LOCAL");
    assert_eq!(me["role"], "ROOT");
    // The record `get-users` lists.
    let listed = session.read("get-users", &id_of(&me)).await;
    assert_eq!(listed[0], me);

    // Another user, signed in from LDAP: their own record.
    tower.add_user("alice", "secret", UserSource::Ldap);
    let login: Value = session
        .http
        .post(format!("{}/v2/api/login", session.url))
        .json(&json!({"username": "alice", "password": "secret", "source": "LDAP"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let alice = Session {
        http: session.http.clone(),
        url: session.url.clone(),
        token: login["data"]["token"].as_str().unwrap().to_owned(),
    };
    let (status, info) = alice.call("get-my-info", &Value::Null).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["username"], "alice");
    assert_eq!(info["source"], "LDAP");
    assert_ne!(info["id"], me["id"]);
    // Signed out: refused.
    tower.expire_sessions();
    let (status, _) = alice.call("get-my-info", &Value::Null).await;
    assert_eq!(status, 401);
    assert_eq!(tower.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn executing_a_backup_plan_records_a_manual_run_and_a_restore_point_per_vm() {
    // Tasks long enough to read a run while it runs.
    let (tower, session) = Session::start_with(MockConfig {
        task_duration: Duration::from_millis(500),
        ..MockConfig::default()
    })
    .await;
    let plan = first(&session, "get-backup-plans", json!({})).await;
    let plan_id = id_of(&plan);
    session
        .mutate(
            "update-backup-plan",
            &json!({"where": {"id": plan_id}, "data": {"vms": {"name_in": ["web-1", "db-1"]}}}),
        )
        .await;
    let points_before = session.read("get-backup-plans", &plan_id).await.remove(0)
        ["backup_restore_points"]
        .as_array()
        .map_or(0, Vec::len);

    let answer = answered(
        &session,
        "execute-backup-plan",
        &json!({"where": {"id": plan_id}, "data": {"type": "INCREMENTAL"}}),
    )
    .await;
    let running = &answer[0]["data"];
    assert_eq!(running["status"], "RUNNING", "{running}");
    assert_eq!(running["method"], "MANUAL");
    assert_eq!(running["type"], "INCREMENTAL");
    assert_eq!(running["total_job_count"], 2);
    let execution = id_of(running);
    // Listed while it runs.
    assert_eq!(
        session.read("get-backup-plan-executions", &execution).await[0]["status"],
        "RUNNING"
    );

    session
        .mutate(
            "execute-backup-plan",
            &json!({"where": {"id": plan_id}, "data": {"type": "FULL"}}),
        )
        .await;
    // Both runs ended (the first one's task is older than the second's).
    let ended = session.read("get-backup-plan-executions", &execution).await;
    let ended = &ended[0];
    assert_eq!(ended["status"], "SUCCESS", "{ended}");
    assert_eq!(ended["state"], "SUCCEED");
    assert_eq!(ended["success_job_count"], 2);
    assert_eq!(ended["backup_plan"]["id"], plan_id.as_str());

    let plan = session.read("get-backup-plans", &plan_id).await.remove(0);
    assert_eq!(plan["last_execute_status"], "SUCCESS", "{plan}");
    assert_eq!(plan["last_manual_execute_status"], "SUCCESS");
    assert_eq!(plan["last_manual_execute_success_job_count"], 2);
    assert!(plan["last_executed_at"].as_str().unwrap() >= ended["executed_at"].as_str().unwrap());
    assert!(plan["backup_plan_executions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["id"] == execution.as_str()));
    let points = plan["backup_restore_points"].as_array().unwrap();
    assert_eq!(points.len(), points_before + 4, "two runs of two VMs");
    assert_eq!(plan["backup_restore_point_count"], points.len());

    // The incremental points of web-1 and the full ones; each restores its VM.
    let (_, web_points) = session
        .call(
            "get-backup-restore-points",
            &json!({"where": {"backup_plan": {"id": plan_id}, "vm": {"name": "web-1"}}}),
        )
        .await;
    let kinds: Vec<&str> = web_points
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["INCREMENTAL", "FULL"], "{web_points}");
    let meta = answered(
        &session,
        "get-backup-restore-point-metadata",
        &json!({"where": {"id": id_of(&web_points[1])}}),
    )
    .await;
    let web = first(&session, "get-vms", json!({"name": "web-1"})).await;
    assert_eq!(meta["name"], "web-1");
    assert_eq!(meta["vcpu"], web["vcpu"]);
    assert_eq!(meta["cpu_cores"], web["cpu"]["cores"]);
    assert_eq!(
        meta["vm_disks"].as_array().unwrap().len(),
        web["vm_disks"].as_array().unwrap().len()
    );
    assert_eq!(tower.violations(), Vec::<String>::new());

    // Nothing selected: refused, nothing recorded.
    let (status, _) = session
        .call(
            "execute-backup-plan",
            &json!({"where": {"id": "no-such-plan"}, "data": {"type": "FULL"}}),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn generating_a_report_records_a_report_task_of_its_template() {
    let (tower, session) = Session::start().await;
    let template = first(&session, "get-report-templates", json!({})).await;
    let count = template["task_num"].as_i64().unwrap();
    let answer = answered(
        &session,
        "generate-from-report-template",
        &json!({"where": {"id": id_of(&template)}}),
    )
    .await;
    let report = &answer[0]["data"];
    assert_eq!(report["status"], "EXECUTING", "{report}");
    assert_eq!(report["template"]["id"], template["id"]);
    assert!(report["name"]
        .as_str()
        .unwrap()
        .starts_with(template["name"].as_str().unwrap()));
    session
        .mutate(
            "generate-from-report-template",
            &json!({"where": {"id": id_of(&template)}}),
        )
        .await;
    let stored = session.read("get-report-tasks", &id_of(report)).await;
    assert_eq!(stored[0]["status"], "SUCCESSED", "{stored:?}");
    assert_eq!(stored[0]["internal"], false);
    let template = session
        .read("get-report-templates", &id_of(&template))
        .await
        .remove(0);
    assert_eq!(template["task_num"], count + 2, "{template}");
    assert!(template["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == report["id"]));
    assert_eq!(tower.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn cluster_reads_answer_from_the_clusters_hosts() {
    let (_tower, session) = Session::start().await;
    let cluster = first(&session, "get-clusters", json!({})).await;
    let info = answered(
        &session,
        "get-cluster-storage-info",
        &json!({"where": {"id": id_of(&cluster)},
                    "effect": {"replica": [2, 3], "ec": [{"k": 4, "m": 2}]}}),
    )
    .await;
    let info = &info[0];
    assert_eq!(info["id"], cluster["id"]);
    assert_eq!(info["total_data_capacity"], cluster["total_data_capacity"]);
    let (total, used) = (
        info["total_data_capacity"].as_i64().unwrap(),
        info["used_data_space"].as_i64().unwrap(),
    );
    assert!(total > 0 && used > 0 && used < total, "{info}");
    let free = info["free_data_space"].as_i64().unwrap();
    assert_eq!(
        free,
        total - used - info["failure_data_space"].as_i64().unwrap()
    );
    let replica = &info["allocable_storage_capacity"]["replica"];
    assert_eq!(replica[0]["replica_num"], 2);
    assert_eq!(replica[0]["capacity"].as_f64().unwrap(), free as f64 / 2.0);
    assert_eq!(replica[1]["capacity"].as_f64().unwrap(), free as f64 / 3.0);
    let ec = &info["allocable_storage_capacity"]["ec"][0];
    assert_eq!(ec["capacity"].as_f64().unwrap(), free as f64 * 4.0 / 6.0);

    let leaders = answered(
        &session,
        "get-meta-leader",
        &json!({"where": {"id": id_of(&cluster)}}),
    )
    .await;
    let (_, hosts) = session
        .call(
            "get-hosts",
            &json!({"where": {"cluster": {"id": id_of(&cluster)}}}),
        )
        .await;
    let addresses: Vec<&Value> = hosts
        .as_array()
        .unwrap()
        .iter()
        .map(|h| &h["management_ip"])
        .collect();
    assert_eq!(leaders[0]["cluster_id"], cluster["id"]);
    assert!(addresses.contains(&&leaders[0]["meta_leader"]), "{leaders}");

    let witness = first(&session, "get-witnesses", json!({})).await;
    let services = answered(
        &session,
        "get-witness-services",
        &json!({"where": {"id": id_of(&witness)}}),
    )
    .await;
    let services = services.as_array().unwrap();
    assert!(!services.is_empty());
    assert!(services.iter().all(|s| s["state"] == "running"));
    let (_, none) = session
        .call(
            "get-witness-services",
            &json!({"where": {"id": "no-such-witness"}}),
        )
        .await;
    assert_eq!(none, json!([]));
}

#[tokio::test]
async fn gpu_reads_follow_the_devices_passed_through_to_vms() {
    let (tower, session) = Session::start().await;
    let gpu = first(&session, "get-gpu-devices", json!({})).await;
    let (_, before) = session
        .call(
            "get-vm-gpu-device-info",
            &json!({"where": {"name": "web-1"}}),
        )
        .await;
    assert_eq!(before[0]["gpu_devices"], json!([]), "{before}");

    session
        .mutate(
            "add-vm-gpu-device",
            &json!({"where": {"name": "web-1"}, "data": [{"gpu_id": id_of(&gpu), "amount": 1}]}),
        )
        .await;
    let info = answered(
        &session,
        "get-vm-gpu-device-info",
        &json!({"where": {"name": "web-1"}}),
    )
    .await;
    assert_eq!(info[0]["name"], "web-1");
    assert_eq!(info[0]["gpu_devices"][0]["id"], gpu["id"], "{info}");
    assert_eq!(info[0]["gpu_devices"][0]["host"]["id"], gpu["host"]["id"]);

    let detail = answered(
        &session,
        "get-detail-vm-info-by-gpu-devices",
        &json!({"where": {"id": id_of(&gpu)}}),
    )
    .await;
    let vms: Vec<&Value> = detail[0]["vms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["name"])
        .collect();
    assert_eq!(vms, [&json!("web-1")], "{detail}");
    assert_eq!(tower.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn an_added_user_has_a_record_before_signing_in() {
    let tower = MockTower::start().await.unwrap();
    tower.add_user("bob", "pw", UserSource::Local);
    let bob: Vec<Value> = tower
        .records("User")
        .into_iter()
        .filter(|u| u["username"] == "bob")
        .collect();
    assert_eq!(bob.len(), 1);
    assert_eq!(bob[0]["source"], "LOCAL");
}

#[tokio::test]
async fn discovered_nodes_join_the_cluster_and_are_no_longer_discovered() {
    let (tower, session) = Session::start().await;
    let cluster = first(&session, "get-clusters", json!({})).await;
    let host = first(&session, "get-hosts", json!({})).await;
    let discover = json!({
        "cluster": {"id": id_of(&cluster)},
        "host_address": ["198.51.100.21", host["management_ip"], "198.51.100.22"],
    });
    let found = answered(&session, "get-discover-hosts", &discover).await;
    let addresses: Vec<&Value> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|h| &h["host_ip"])
        .collect();
    assert_eq!(
        addresses,
        [&json!("198.51.100.21"), &json!("198.51.100.22")],
        "a host of the tower is not discovered: {found}"
    );
    let node = &found[0];
    assert_eq!(node["version"], cluster["version"]);
    assert_eq!(node["deployed"], false);
    // The same node is found with the same identity.
    let (_, again) = session.call("get-discover-hosts", &discover).await;
    assert_eq!(again[0]["host_uuid"], node["host_uuid"]);

    session
        .mutate(
            "create-host",
            &json!([{"cluster_id": id_of(&cluster), "data": [{
                "host_ip": node["host_ip"], "host_uuid": node["host_uuid"],
                "hostname": node["hostname"], "ifaces": [], "disks": [],
            }]}]),
        )
        .await;
    let joined = first(
        &session,
        "get-hosts",
        json!({"management_ip": "198.51.100.21"}),
    )
    .await;
    assert_eq!(joined["local_id"], node["host_uuid"], "{joined}");
    let (_, after) = session.call("get-discover-hosts", &discover).await;
    assert_eq!(after.as_array().unwrap().len(), 1, "{after}");
    assert_eq!(after[0]["host_ip"], "198.51.100.22");

    let (_, none) = session
        .call(
            "get-discover-hosts",
            &json!({"cluster": {"id": id_of(&cluster)}}),
        )
        .await;
    assert_eq!(none, json!([]));
    let (status, _) = session
        .call(
            "get-discover-hosts",
            &json!({"cluster": {"id": "no-such-cluster"}, "host_address": ["198.51.100.23"]}),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(tower.violations(), Vec::<String>::new());
}
