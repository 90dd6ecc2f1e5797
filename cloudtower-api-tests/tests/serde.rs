//! The `serde` feature: every generated type is `Serialize` and `Deserialize` through its
//! codec, in any serde format.

use cloudtower_api::models::{ConsistentType, Vm};
use cloudtower_api::models::{
    VmCreationParams, VmDiskParams, VmFirmware, VmNicParams, VmSnapshotCreationParams,
    VmSnapshotCreationParamsData, VmStatus,
};
use cloudtower_mock::{MockTower, MOCK_PASSWORD, MOCK_USERNAME};
use serde_json::{json, Value};

/// A `get-vms` answer as the mock tower sends it over HTTP, raw.
async fn get_vms_body(tower: &MockTower) -> Vec<u8> {
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{}/v2/api/login", tower.url()))
        .json(&json!({"username": MOCK_USERNAME, "password": MOCK_PASSWORD, "source": "LOCAL"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["data"]["token"].as_str().expect("a token").to_owned();
    let answer = http
        .post(format!("{}/v2/api/get-vms", tower.url()))
        .header("authorization", token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    answer.bytes().await.unwrap().to_vec()
}

/// `value` with every object field that is `null` left out.
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

#[tokio::test]
async fn vms_decoded_from_an_answer_serialize_to_the_same_json() {
    let tower = MockTower::start().await.unwrap();
    let body = get_vms_body(&tower).await;
    let vms: Vec<Vm> = cloudtower_api::codec::decode_strict(&body).unwrap();
    assert!(!vms.is_empty());
    // A tower spells an absent nullable field as `null`; serialized, it is left out.
    let sent = without_nulls(serde_json::from_slice(&body).unwrap());
    assert_eq!(serde_json::to_value(&vms).unwrap(), sent);
    assert_eq!(cloudtower_api::to_value(&vms).unwrap(), sent);
    // Pretty JSON reads back into the same VMs, with serde_json alone.
    let pretty = serde_json::to_string_pretty(&vms).unwrap();
    assert_eq!(serde_json::from_str::<Vec<Vm>>(&pretty).unwrap(), vms);
    // Wire names, not Rust names: `r#type` is `type`, and field order is the wire order.
    let first_key = pretty
        .lines()
        .nth(2)
        .unwrap()
        .trim()
        .split(':')
        .next()
        .unwrap();
    // The answer's first present field (a `Vm`'s spec order is alphabetical, as the mock's
    // records are).
    let first_present = sent[0].as_object().unwrap().keys().next().unwrap();
    assert_eq!(first_key, format!("\"{first_present}\""));
    // A field whose Rust name is a raw identifier (`r#where`) has its wire name.
    let request = cloudtower_api::models::GetVmsRequestBody {
        r#where: cloudtower_api::models::VmWhereInput {
            name: "web-1".to_owned().into(),
            ..Default::default()
        }
        .into(),
        ..Default::default()
    };
    let request = serde_json::to_value(&request).unwrap();
    assert_eq!(request, serde_json::json!({ "where": { "name": "web-1" } }));
}

const CONFIG: &str = "
cluster_id: c-1
name: web-1
cpu_cores: 2
cpu_sockets: 1
memory: 4294967296
ha: true
firmware: BIOS
status: STOPPED
vm_disks: {}
vm_nics:
  - connect_vlan_id: vlan-1
    enabled: true
description: from a YAML file
";

#[test]
fn creation_params_load_from_yaml_and_name_a_missing_field() {
    let params: VmCreationParams = serde_norway::from_str(CONFIG).unwrap();
    let expected = VmCreationParams {
        description: Some("from a YAML file".into()),
        ..VmCreationParams::new(
            VmStatus::Stopped,
            VmFirmware::Bios,
            true,
            vec![VmNicParams {
                connect_vlan_id: Some("vlan-1".into()),
                enabled: Some(true),
                ..Default::default()
            }],
            VmDiskParams::default(),
            4 << 30,
            2,
            1,
            "web-1",
            "c-1",
        )
    };
    assert_eq!(params, expected);
    // And back to YAML, which loads again to the same value.
    let yaml = serde_norway::to_string(&params).unwrap();
    assert_eq!(
        serde_norway::from_str::<VmCreationParams>(&yaml).unwrap(),
        params
    );

    let without_cluster = CONFIG.replace("cluster_id: c-1\n", "");
    let err = serde_norway::from_str::<VmCreationParams>(&without_cluster).unwrap_err();
    assert!(err.to_string().contains("`cluster_id`"), "{err}");
    let wrong_type = CONFIG.replace("cpu_cores: 2", "cpu_cores: two");
    let err = serde_norway::from_str::<VmCreationParams>(&wrong_type).unwrap_err();
    assert!(err.to_string().contains("/cpu_cores"), "{err}");
}

#[test]
fn values_round_trip() {
    let params = VmSnapshotCreationParams {
        data: vec![VmSnapshotCreationParamsData {
            consistent_type: Some(ConsistentType::FileSystemConsistent),
            ..VmSnapshotCreationParamsData::new("nightly", "vm-1")
        }],
    };
    let value = cloudtower_api::to_value(&params).unwrap();
    assert_eq!(
        value,
        json!({"data": [{"vm_id": "vm-1", "name": "nightly", "consistent_type": "FILE_SYSTEM_CONSISTENT"}]})
    );
    assert_eq!(
        cloudtower_api::from_value::<VmSnapshotCreationParams>(value.clone()).unwrap(),
        params
    );
    // serde_json's own conversions agree.
    assert_eq!(serde_json::to_value(&params).unwrap(), value);
    assert_eq!(
        serde_json::from_value::<VmSnapshotCreationParams>(value).unwrap(),
        params
    );
    let err =
        cloudtower_api::from_value::<VmSnapshotCreationParams>(json!({"data": [{}]})).unwrap_err();
    assert!(err.to_string().contains("/data/0"), "{err}");
}
