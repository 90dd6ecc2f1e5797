//! Every operator family of the `*WhereInput` language, on the seed VMs, against a reference
//! evaluation written out here: what the mock selects is what the filter means.

use crate::common;

use common::Session;
use serde_json::{json, Value};

type Predicate = fn(&Value, &[Value]) -> bool;

fn names(vms: &Value) -> Vec<String> {
    let mut names: Vec<String> = vms
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort_unstable();
    names
}

/// The disks of `vm` (full records) among `disks`.
fn disks_of<'a>(vm: &Value, disks: &'a [Value]) -> Vec<&'a Value> {
    disks.iter().filter(|d| d["vm"]["id"] == vm["id"]).collect()
}

#[tokio::test]
async fn every_operator_family_selects_what_a_reference_evaluation_selects() {
    let (_tower, session) = Session::start().await;
    let (_, all) = session.call("get-vms", &json!({})).await;
    let (_, disks) = session.call("get-vm-disks", &json!({})).await;
    let (vms, disks) = (all.as_array().unwrap(), disks.as_array().unwrap());
    assert_eq!(vms.len(), 4);
    let name = |vm: &Value| vm["name"].as_str().unwrap().to_owned();
    let cases: Vec<(Value, Predicate)> = vec![
        (json!({"name": "web-1"}), |v, _| v["name"] == "web-1"),
        (json!({"name_not": "web-1"}), |v, _| v["name"] != "web-1"),
        (json!({"name_in": ["web-1", "db-1", "none"]}), |v, _| {
            ["web-1", "db-1"].contains(&v["name"].as_str().unwrap())
        }),
        (json!({"name_not_in": ["web-1"]}), |v, _| {
            v["name"] != "web-1"
        }),
        (json!({"name_contains": "eb"}), |v, _| {
            v["name"].as_str().unwrap().contains("eb")
        }),
        (json!({"name_not_contains": "eb"}), |v, _| {
            !v["name"].as_str().unwrap().contains("eb")
        }),
        (json!({"name_starts_with": "web"}), |v, _| {
            v["name"].as_str().unwrap().starts_with("web")
        }),
        (json!({"name_not_starts_with": "web"}), |v, _| {
            !v["name"].as_str().unwrap().starts_with("web")
        }),
        (json!({"name_ends_with": "-1"}), |v, _| {
            v["name"].as_str().unwrap().ends_with("-1")
        }),
        (json!({"name_not_ends_with": "-1"}), |v, _| {
            !v["name"].as_str().unwrap().ends_with("-1")
        }),
        (json!({"size_gt": 21474836480i64}), |v, _| {
            v["size"].as_i64().unwrap() > 21474836480
        }),
        (json!({"size_gte": 21474836480i64}), |v, _| {
            v["size"].as_i64().unwrap() >= 21474836480
        }),
        (json!({"size_lt": 42949672960i64}), |v, _| {
            v["size"].as_i64().unwrap() < 42949672960
        }),
        (json!({"size_lte": 42949672960i64}), |v, _| {
            v["size"].as_i64().unwrap() <= 42949672960
        }),
        (json!({"status": "RUNNING"}), |v, _| {
            v["status"] == "RUNNING"
        }),
        (json!({"status_in": ["STOPPED", "SUSPENDED"]}), |v, _| {
            v["status"] == "STOPPED" || v["status"] == "SUSPENDED"
        }),
        (json!({"in_recycle_bin": false}), |v, _| {
            v["in_recycle_bin"] == false
        }),
        (json!({"hostname": null}), |v, _| v["hostname"].is_null()),
        (
            json!({"AND": [{"status": "RUNNING"}, {"name_starts_with": "web"}]}),
            |v, _| v["status"] == "RUNNING" && v["name"].as_str().unwrap().starts_with("web"),
        ),
        (json!({"AND": []}), |_, _| true),
        (
            json!({"OR": [{"name": "db-1"}, {"status": "STOPPED"}]}),
            |v, _| v["name"] == "db-1" || v["status"] == "STOPPED",
        ),
        (json!({"OR": []}), |_, _| false),
        (json!({"NOT": [{"status": "RUNNING"}]}), |v, _| {
            v["status"] != "RUNNING"
        }),
        (json!({"NOT": [{"name_not_starts_with": "web"}]}), |v, _| {
            v["name"].as_str().unwrap().starts_with("web")
        }),
        (json!({"NOT": []}), |_, _| true),
        // Relations, evaluated against the related record (a VM holds only `{id, name}` of
        // its cluster and `{id}` of its disks).
        (json!({"cluster": {"type": "SMTX_OS"}}), |_, _| true),
        (json!({"cluster": {"type": "SMTX_ZBS"}}), |_, _| false),
        (json!({"host": {"management_ip": "192.0.2.11"}}), |v, _| {
            v["host"]["management_ip"] == "192.0.2.11"
        }),
        (json!({"vm_disks_some": {"type": "CD_ROM"}}), |v, d| {
            disks_of(v, d).iter().any(|d| d["type"] == "CD_ROM")
        }),
        (json!({"vm_disks_none": {"type": "CD_ROM"}}), |v, d| {
            !disks_of(v, d).iter().any(|d| d["type"] == "CD_ROM")
        }),
        (json!({"vm_disks_every": {"type": "DISK"}}), |v, d| {
            disks_of(v, d).iter().all(|d| d["type"] == "DISK")
        }),
        (json!({"vm_disks_some": {"device": "vdc"}}), |v, d| {
            disks_of(v, d).iter().any(|d| d["device"] == "vdc")
        }),
        (
            json!({"vm_nics_some": {"vlan": {"name": "default"}}}),
            |_, _| true,
        ),
    ];
    for (filter, reference) in cases {
        let (status, selected) = session.call("get-vms", &json!({ "where": filter })).await;
        assert_eq!(status, 200, "{filter}: {selected}");
        let mut expected: Vec<String> = vms
            .iter()
            .filter(|v| reference(v, disks))
            .map(name)
            .collect();
        expected.sort_unstable();
        assert_eq!(names(&selected), expected, "{filter}");
        let (_, count) = session
            .call("get-vms-connection", &json!({ "where": filter }))
            .await;
        assert_eq!(
            count["aggregate"]["count"],
            expected.len(),
            "{filter} counted"
        );
    }
}

#[tokio::test]
async fn order_and_paging_follow_the_request() {
    let (_tower, session) = Session::start().await;
    let (_, by_name) = session
        .call("get-vms", &json!({"orderBy": "name_ASC"}))
        .await;
    assert_eq!(names(&by_name), ["backup-demo", "db-1", "web-1", "web-2"]);
    let in_order: Vec<&str> = by_name
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(in_order, ["backup-demo", "db-1", "web-1", "web-2"]);
    let (_, page) = session
        .call(
            "get-vms",
            &json!({"orderBy": "name_DESC", "skip": 1, "first": 2}),
        )
        .await;
    let page: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(page, ["web-1", "db-1"]);
    let (status, error) = session
        .call("get-vms", &json!({"orderBy": "shoe_size_ASC"}))
        .await;
    assert_eq!(status, 400, "{error}");
}
