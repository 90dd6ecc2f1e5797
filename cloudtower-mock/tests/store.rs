//! The store as a user's test sees it over HTTP: requests checked against the table,
//! relations kept consistent both ways, nested copies renamed, and bounded growth.

use crate::common;

use std::time::Duration;

use cloudtower_mock::{MockConfig, MockTower};
use common::Session;
use serde_json::{json, Value};

fn id_of(record: &Value) -> String {
    record["id"].as_str().expect("an id").to_owned()
}

#[tokio::test]
async fn a_request_that_is_not_its_type_is_a_400_naming_where_and_changes_nothing() {
    let (tower, session) = Session::start().await;
    for (path, body, pointer, problem) in [
        (
            "get-vms",
            json!({"where": {"nmae": "web-1"}}),
            "/where",
            "no field `nmae`",
        ),
        (
            "get-vms",
            json!({"where": {"status": "SLEEPING"}}),
            "/where/status",
            "not a VmStatus",
        ),
        ("get-vms", json!({"first": "10"}), "/first", "an integer"),
        ("start-vm", json!({}), "", "needs the field `where`"),
        (
            "delete-vm",
            json!({"where": {"name_starts_with": "web", "AND": [{"cluster": {"nmae": "x"}}]}}),
            "/where/AND/0/cluster",
            "no field `nmae`",
        ),
    ] {
        let (status, error) = session.call(path, &body).await;
        assert_eq!(status, 400, "{path} {body}: {error}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains(problem) && message.contains(&format!("`{pointer}`"))
                || pointer.is_empty() && message.contains(problem),
            "{path} {body}: {message}"
        );
    }
    // Nothing was deleted or started: every VM is where the seed put it.
    let (_, vms) = session.call("get-vms", &json!({})).await;
    assert_eq!(vms.as_array().unwrap().len(), 4);
    assert_eq!(tower.request_count("delete-vm"), 1);
}

#[tokio::test]
async fn labels_added_to_vms_show_on_the_vms_and_on_the_label_and_go_from_both() {
    let (_tower, session) = Session::start().await;
    let label = session
        .mutate("create-label", &json!([{"key": "tier", "value": "web"}]))
        .await
        .remove(0);
    let label_id = id_of(&label);
    let add = json!({
        "where": {"id": label_id},
        "data": {"vms": {"name_starts_with": "web-"}},
    });
    session.mutate("add-labels-to-resources", &add).await;

    let (_, vms) = session
        .call(
            "get-vms",
            &json!({"where": {"labels_some": {"id": label_id}}}),
        )
        .await;
    let mut names: Vec<&str> = vms
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["web-1", "web-2"], "{vms}");
    let label = session.read("get-labels", &label_id).await.remove(0);
    let mut on_label: Vec<&str> = label["vms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    on_label.sort_unstable();
    assert_eq!(on_label, ["web-1", "web-2"], "{label}");

    let remove = json!({"where": {"id": label_id}, "data": {"vms": {"name": "web-1"}}});
    session
        .mutate("remove-labels-from-resources", &remove)
        .await;
    let label = session.read("get-labels", &label_id).await.remove(0);
    assert_eq!(label["vms"].as_array().unwrap().len(), 1, "{label}");
    assert_eq!(label["vms"][0]["name"], "web-2");
    let (_, web_1) = session
        .call("get-vms", &json!({"where": {"name": "web-1"}}))
        .await;
    assert_eq!(web_1[0]["labels"], json!([]), "{web_1}");
}

#[tokio::test]
async fn a_created_record_shows_on_what_it_refers_to() {
    let (_tower, session) = Session::start().await;
    let (_, vms) = session
        .call("get-vms", &json!({"where": {"name_in": ["web-1", "db-1"]}}))
        .await;
    let vm_ids: Vec<String> = vms.as_array().unwrap().iter().map(id_of).collect();
    let plan = session
        .mutate(
            "create-snapshot-plan",
            &json!([{
                "name": "nightly",
                "cluster_id": vms[0]["cluster"]["id"],
                "vm_ids": vm_ids,
                "execute_plan_type": "DAY",
                "execute_intervals": [1],
                "start_time": "2026-12-02T01:00:00.000Z",
                "remain_snapshot_num": 3,
            }]),
        )
        .await;
    let plan_id = id_of(&plan[0]);
    let (_, held) = session
        .call(
            "get-vms",
            &json!({"where": {"snapshot_plan": {"id": plan_id}}}),
        )
        .await;
    assert_eq!(held.as_array().unwrap().len(), 2, "{held}");
    assert_eq!(held[0]["snapshot_plan"]["name"], "nightly");
}

#[tokio::test]
async fn a_renamed_vm_is_renamed_where_its_disks_and_nics_name_it() {
    let (_tower, session) = Session::start().await;
    let (_, vm) = session
        .call("get-vms", &json!({"where": {"name": "web-2"}}))
        .await;
    let vm_id = id_of(&vm[0]);
    session
        .mutate(
            "update-vm-basic-info",
            &json!({"where": {"id": vm_id}, "data": {"name": "web-2-renamed"}}),
        )
        .await;
    for list in ["get-vm-disks", "get-vm-nics"] {
        let (_, held) = session
            .call(list, &json!({"where": {"vm": {"id": vm_id}}}))
            .await;
        let held = held.as_array().unwrap();
        assert!(!held.is_empty(), "{list}");
        for record in held {
            assert_eq!(record["vm"]["name"], "web-2-renamed", "{list}: {record}");
        }
    }
}

#[tokio::test]
async fn ended_tasks_and_recorded_requests_stay_within_their_bounds() {
    let (tower, session): (MockTower, Session) = Session::start_with(MockConfig {
        task_duration: Duration::ZERO,
        max_ended_tasks: 20,
        max_recorded_requests: 5,
        ..MockConfig::default()
    })
    .await;
    for i in 0..60 {
        let (status, answer) = session
            .call(
                "create-label",
                &json!([{"key": "k", "value": format!("v{i}")}]),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
    }
    let (_, tasks) = session.call("get-tasks-connection", &json!({})).await;
    let kept = tasks["aggregate"]["count"].as_u64().unwrap();
    assert!((20..=22).contains(&kept), "{kept} tasks kept");
    // The newest are the ones kept.
    let (_, newest) = session
        .call(
            "get-tasks",
            &json!({"orderBy": "local_created_at_DESC", "first": 1}),
        )
        .await;
    assert_eq!(newest[0]["status"], "SUCCESSED");
    let (_, labels) = session.call("get-labels-connection", &json!({})).await;
    assert!(labels["aggregate"]["count"].as_u64().unwrap() >= 60);
    assert_eq!(tower.requests().len(), 5);
    assert_eq!(tower.request_count("create-label"), 60);
}
