//! The fixture's generated types, encoded and decoded for real: explicit null vs absent,
//! unknown enum values, recursive filters, strict vs lenient decoding.

use fixture_check::codec::{decode, decode_strict, encode};
use fixture_check::models::*;
use fixture_check::{Nullable, WithTask};

fn json<T: fixture_check::codec::Encode + ?Sized>(value: &T) -> String {
    String::from_utf8(encode(value)).unwrap()
}

#[test]
fn nullable_request_fields_distinguish_absent_null_and_value() {
    let absent = VmWhereInput::default();
    assert_eq!(json(&absent), "{}");

    let null = VmWhereInput {
        name_contains: Nullable::Null,
        ..Default::default()
    };
    assert_eq!(json(&null), r#"{"name_contains":null}"#);

    let value = VmWhereInput {
        name_contains: "web".into(),
        status: Nullable::Value(VmStatus::Running),
        ..Default::default()
    };
    assert_eq!(
        json(&value),
        r#"{"name_contains":"web","status":"RUNNING"}"#
    );

    // And back: null and absent stay apart.
    for text in [r#"{}"#, r#"{"name_contains":null}"#] {
        let decoded: VmWhereInput = decode(text.as_bytes()).unwrap();
        assert_eq!(json(&decoded), text);
    }
    let decoded: VmWhereInput = decode(br#"{"name_contains":null}"#).unwrap();
    assert!(decoded.name_contains.is_null());
    assert!(decoded.id.is_absent());
}

#[test]
fn required_nullable_request_fields_are_sent_as_null() {
    let params = VmCreationParams {
        name: "vm-1".into(),
        vlan_id: 4095,
        owner: None,
        ..Default::default()
    };
    assert_eq!(
        json(&params),
        r#"{"name":"vm-1","vlan_id":4095,"owner":null}"#
    );
    let params = VmCreationParams {
        owner: Some("alice".into()),
        description: Nullable::Null,
        nics: Some(vec![VmNicParams {
            vlan_id: 7,
            mac: Nullable::Null,
            enabled: Some(true),
        }]),
        status: Some(VmStatus::Stopped),
        ..params
    };
    let text = json(&params);
    assert_eq!(
        text,
        r#"{"name":"vm-1","vlan_id":4095,"description":null,"owner":"alice","nics":[{"vlan_id":7,"mac":null,"enabled":true}],"status":"STOPPED"}"#
    );
    let back: VmCreationParams = decode(text.as_bytes()).unwrap();
    assert_eq!(back, params);
}

#[test]
fn recursive_where_input_encodes_and_or_not() {
    let filter = GetVmsRequestBody {
        r#where: Nullable::Value(VmWhereInput {
            and: Nullable::Value(vec![
                VmWhereInput {
                    or: Nullable::Value(vec![
                        VmWhereInput {
                            id_in: vec!["a".to_string(), "b".to_string()].into(),
                            ..Default::default()
                        },
                        VmWhereInput {
                            not: Nullable::Value(vec![VmWhereInput {
                                status: VmStatus::Unknown.into(),
                                ..Default::default()
                            }]),
                            ..Default::default()
                        },
                    ]),
                    ..Default::default()
                },
                VmWhereInput {
                    // Links inside the VmWhereInput <-> HostWhereInput cycle are `Related`
                    // (encoded) filters: `.into()` builds one.
                    host: Nullable::Value(
                        HostWhereInput {
                            name: Nullable::Null,
                            vms_some: Nullable::Value(
                                VmWhereInput {
                                    id: "vm-1".into(),
                                    ..Default::default()
                                }
                                .into(),
                            ),
                            ..Default::default()
                        }
                        .into(),
                    ),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        }),
        order_by: VmOrderByInput::CreatedAtDesc.into(),
        first: 10.into(),
        ..Default::default()
    };
    let text = json(&filter);
    let expected = serde_json::json!({
        "where": { "AND": [
            { "OR": [ { "id_in": ["a", "b"] }, { "NOT": [ { "status": "UNKNOWN" } ] } ] },
            { "host": { "name": null, "vms_some": { "id": "vm-1" } } }
        ]},
        "orderBy": "createdAt_DESC",
        "first": 10
    });
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        expected
    );
    // Keys in spec order, exactly.
    assert_eq!(
        text,
        r#"{"where":{"AND":[{"OR":[{"id_in":["a","b"]},{"NOT":[{"status":"UNKNOWN"}]}]},{"host":{"name":null,"vms_some":{"id":"vm-1"}}}]},"orderBy":"createdAt_DESC","first":10}"#
    );
    let back: GetVmsRequestBody = decode(text.as_bytes()).unwrap();
    assert_eq!(back, filter);
}

#[test]
fn odd_enum_values_map_to_clean_variants_and_back() {
    assert_eq!(ContentLanguage::from_wire("zh-CN"), ContentLanguage::ZhCn);
    assert_eq!(ContentLanguage::Asterisk.as_str(), "*");
    assert_eq!(VmOrderByInput::CreatedAtAsc.to_string(), "createdAt_ASC");
    assert_eq!(VmStatus::from_wire("UNKNOWN"), VmStatus::Unknown);
    for variant in VmOrderByInput::ALL {
        let text = json(&variant);
        assert_eq!(decode::<VmOrderByInput>(text.as_bytes()).unwrap(), variant);
    }
}

#[test]
// The fixture's `io_policy` is deprecated in its spec; deprecated fields still decode.
#[allow(deprecated)]
fn unknown_enum_values_decode_into_other_and_reencode_unchanged() {
    let vm: Vm = decode(
        br#"{"id":"1","name":"n","status":"HIBERNATING","type":"XEN","vlan":null,"nics":[],
            "io_policy":"RESTRICT_NEW"}"#,
    )
    .unwrap();
    assert_eq!(vm.status, VmStatus::Other("HIBERNATING".into()));
    assert_eq!(vm.r#type, VmType::Other("XEN".into()));
    assert_eq!(
        vm.io_policy,
        Some(VmDiskIoPolicy::Other("RESTRICT_NEW".into()))
    );
    assert_eq!(json(&vm.status), r#""HIBERNATING""#);
    let text = json(&vm);
    assert_eq!(
        text,
        r#"{"id":"1","name":"n","status":"HIBERNATING","type":"XEN","vlan":null,"io_policy":"RESTRICT_NEW","nics":[]}"#
    );
    assert_eq!(decode::<Vm>(text.as_bytes()).unwrap(), vm);
    // What a (mock) server encodes, a strict client decodes: required keys are all there.
    assert_eq!(decode_strict::<Vm>(text.as_bytes()).unwrap(), vm);
}

#[test]
fn responses_decode_null_and_absent_alike_and_keep_wire_names() {
    let text = br#"{"id":"1","name":"n","status":"RUNNING","type":"KVM","vlan":12,
        "description":{"zh-CN":"\u865a\u62df\u673a","en-US":"virtual machine"},
        "nics":[{"mac":"52:54:00:00:00:01","vlan_id":3}],
        "labels":null,"cpu_usage":0.5,"disk_usage":2,"extra":{"any":[1,"x"]},
        "config":{},"__typename":"Vm","unknown_field":{"ignored":true}}"#;
    let vm: Vm = decode(text).unwrap();
    assert_eq!(vm.vlan, Some(12));
    let description = vm.description.as_ref().unwrap();
    assert_eq!(description.zh_cn, "虚拟机");
    assert_eq!(description.en_us, "virtual machine");
    assert_eq!(vm.nics[0].vlan_id, Some(3));
    assert_eq!(vm.labels, None);
    assert_eq!(vm.cpu_usage, Some(0.5));
    assert_eq!(vm.disk_usage, Some(2.0));
    assert_eq!(vm.extra, Some(serde_json::json!({ "any": [1, "x"] })));
    assert_eq!(vm.config, Some(serde_json::json!({})));
    assert_eq!(vm.typename.as_deref(), Some("Vm"));
    let absent: Vm =
        decode(br#"{"id":"1","name":"n","status":"RUNNING","type":"KVM","nics":[]}"#).unwrap();
    assert_eq!(absent.labels, None);
    assert_eq!(absent.vlan, None);

    let task: Task = decode(
        br#"{"id":"t","status":"SUCCESSED","progress":1,"_vm":{"id":"v","name":"n"},
            "storage":{"id":"c","name":"c","type":"SMTX_OS",
                       "storage_cluster":[{"id":"s","name":"s","type":"SMTX_ZBS","storage_cluster":[]}]},
            "__typename":"Task"}"#,
    )
    .unwrap();
    assert_eq!(task.vm.as_ref().unwrap().id, "v");
    let storage = task.storage.as_ref().unwrap();
    assert_eq!(
        storage.storage_cluster.as_ref().unwrap()[0].r#type,
        ClusterType::SmtxZbs
    );

    let header: CommonHeader = decode(br#"{"x-tower-request-id":"req-1"}"#).unwrap();
    assert_eq!(header.x_tower_request_id, "req-1");
}

#[test]
fn with_task_wrappers_decode_into_the_generic_type() {
    let created: Vec<WithTaskVm> = decode(
        br#"[{"task_id":"t1","data":{"id":"1","name":"a","status":"RUNNING","type":"KVM","vlan":1,"nics":[]}},
             {"task_id":null,"data":{"id":"2","name":"b","status":"STOPPED","type":"KVM","vlan":null,"nics":[]}}]"#,
    )
    .unwrap();
    assert_eq!(created[0].task_id.as_deref(), Some("t1"));
    assert_eq!(created[1].task_id, None);
    assert_eq!(created[1].data.name, "b");
    let many: WithTask<Vec<Vm>> = decode(br#"{"task_id":"t","data":[]}"#).unwrap();
    let alias: WithTaskVmArray = many.clone();
    assert_eq!(alias.data.len(), 0);
    assert_eq!(json(&many), r#"{"task_id":"t","data":[]}"#);
}

#[test]
fn strict_decoding_reports_what_lenient_decoding_tolerates() {
    // `name` is required but missing; `status` is required but null.
    let text = br#"{"id":"1","status":null,"type":"KVM","vlan":null,"nics":[]}"#;
    let lenient: Vm = decode(text).unwrap();
    assert_eq!(lenient.name, "");
    let error = decode_strict::<Vm>(text).unwrap_err();
    assert!(
        error.message().contains("status") || error.path().contains("status"),
        "{error}"
    );
    let missing = br#"{"id":"1","status":"RUNNING","type":"KVM","vlan":null,"nics":[]}"#;
    let error = decode_strict::<Vm>(missing).unwrap_err();
    assert!(error.to_string().contains("name"), "{error}");
    // A complete document decodes strictly.
    let complete =
        br#"{"id":"1","name":"n","status":"RUNNING","type":"KVM","vlan":null,"nics":[]}"#;
    assert!(decode_strict::<Vm>(complete).is_ok());
    // Type errors are errors in both modes, with the path.
    let wrong =
        br#"{"id":"1","name":"n","status":"RUNNING","type":"KVM","vlan":null,"nics":[{"mac":5}]}"#;
    let error = decode::<Vm>(wrong).unwrap_err();
    assert_eq!(error.path(), "/nics/0/mac");
}

#[test]
fn all_of_composition_merges_the_parts() {
    let params = VmUpdationParams {
        name: "renamed".into(),
        cpu_cores: Some(4),
        r#where: VmWhereInput {
            id: "vm-1".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(
        json(&params),
        r#"{"name":"renamed","cpu_cores":4,"where":{"id":"vm-1"}}"#
    );
}

#[test]
fn the_fixture_lists_every_schema_and_operation() {
    assert_eq!(SCHEMAS.len(), 40);
    assert_eq!(OPERATIONS.len(), 14);
    assert!(SCHEMAS.contains(&("WithTask_Vm-Array_", "WithTaskVmArray")));
    let version = OPERATIONS.iter().find(|o| o.path == "get-version").unwrap();
    assert_eq!(version.method, "get_api_version");
    assert_eq!(version.module, "api_info");
}
