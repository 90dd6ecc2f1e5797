//! The generated 4.8.0 types on the wire: what a request sends and what a response decodes to.

use cloudtower_api::codec::{decode, decode_strict, encode};
use cloudtower_api::models::{
    ConsistentType, GetVmsRequestBody, Task, TaskStatus, Vm, VmOrderByInput,
    VmSnapshotCreationParams, VmSnapshotCreationParamsData, VmStatus, VmWhereInput, OPERATIONS,
    SCHEMAS,
};
use cloudtower_api::{Nullable, WithTask};
use serde_json::{json, Value};

fn wire<T: cloudtower_api::codec::Encode>(value: &T) -> Value {
    serde_json::from_slice(&encode(value)).expect("the encoder writes valid JSON")
}

#[test]
fn every_operation_and_schema_is_generated() {
    assert_eq!(OPERATIONS.len(), 573);
    assert_eq!(SCHEMAS.len(), 1894);
    let get_vms = OPERATIONS.iter().find(|o| o.path == "get-vms").unwrap();
    assert_eq!(
        (get_vms.operation_id, get_vms.method, get_vms.module),
        ("GetVms", "get_vms", "vm")
    );
    assert!(SCHEMAS.contains(&("WithTask_Vm-Array_", "WithTaskVmArray")));
}

#[test]
fn filters_are_small_enough_to_build_on_the_stack() {
    // The *WhereInput types refer to each other; those links are boxed so that a filter holds
    // only its own fields.
    let size = std::mem::size_of::<VmWhereInput>();
    assert!(size < 64 * 1024, "VmWhereInput is {size} bytes");
}

#[test]
fn nested_where_with_and_or_not_and_explicit_null() {
    let body = GetVmsRequestBody {
        r#where: Nullable::Value(VmWhereInput {
            and: vec![
                VmWhereInput {
                    name_in: vec!["a".to_string(), "b".to_string()].into(),
                    ..Default::default()
                },
                VmWhereInput {
                    or: vec![
                        VmWhereInput {
                            status: VmStatus::Running.into(),
                            ..Default::default()
                        },
                        VmWhereInput {
                            not: vec![VmWhereInput {
                                description: Nullable::Null,
                                ..Default::default()
                            }]
                            .into(),
                            ..Default::default()
                        },
                    ]
                    .into(),
                    ..Default::default()
                },
            ]
            .into(),
            ..Default::default()
        }),
        order_by: VmOrderByInput::NameAsc.into(),
        first: 50.into(),
        after: Nullable::Null,
        ..Default::default()
    };
    assert_eq!(
        wire(&body),
        json!({
            "where": {"AND": [
                {"name_in": ["a", "b"]},
                {"OR": [{"status": "RUNNING"}, {"NOT": [{"description": null}]}]}
            ]},
            "orderBy": "name_ASC",
            "first": 50,
            "after": null
        })
    );
    // Absent fields are not sent at all.
    assert_eq!(wire(&GetVmsRequestBody::default()), json!({}));
}

#[test]
fn snapshot_creation_params_encode_required_and_optional_fields() {
    let params = VmSnapshotCreationParams {
        data: vec![
            VmSnapshotCreationParamsData {
                vm_id: "vm-1".into(),
                name: "nightly".into(),
                consistent_type: Some(ConsistentType::FileSystemConsistent),
            },
            VmSnapshotCreationParamsData {
                vm_id: "vm-2".into(),
                name: "crash".into(),
                consistent_type: None,
            },
        ],
    };
    assert_eq!(
        wire(&params),
        json!({"data": [
            {"consistent_type": "FILE_SYSTEM_CONSISTENT", "name": "nightly", "vm_id": "vm-1"},
            {"name": "crash", "vm_id": "vm-2"}
        ]})
    );
}

fn task_json(status: &str) -> String {
    json!({
        "args": {"vm_id": "vm-1"},
        "cluster": null,
        "description": "Create snapshot",
        "error_code": null,
        "id": "task-1",
        "internal": false,
        "local_created_at": "2026-11-27T05:00:00Z",
        "progress": 1,
        "snapshot": "{}",
        "status": status,
        "steps": [],
        "type": "SYSTEM",
        "extra_field_from_a_newer_tower": {"nested": [1, 2, 3]}
    })
    .to_string()
}

#[test]
fn task_decodes_null_absent_unknown_fields_and_integral_progress() {
    let task: Task = decode(task_json("SUCCESSED").as_bytes()).unwrap();
    assert_eq!(task.id, "task-1");
    assert_eq!(task.status, TaskStatus::Successed);
    assert_eq!(task.progress, 1.0);
    assert_eq!(task.error_code, None); // null
    assert_eq!(task.error_message, None); // absent
    assert_eq!(task.cluster, None);
    assert_eq!(task.args, json!({"vm_id": "vm-1"}));
}

#[test]
fn unknown_enum_values_are_kept() {
    let task: Task = decode(task_json("ARCHIVED").as_bytes()).unwrap();
    assert_eq!(task.status, TaskStatus::Other("ARCHIVED".into()));
    assert_eq!(task.status.as_str(), "ARCHIVED");
    let body = VmWhereInput {
        status: Nullable::Value(VmStatus::from_wire("MIGRATING")),
        ..Default::default()
    };
    assert_eq!(wire(&body), json!({"status": "MIGRATING"}));
}

fn minimal_vm() -> Value {
    json!({
        "id": "vm-1",
        "name": "web-1",
        "status": "RUNNING",
        "vm_tools_status": "RUNNING",
        "memory": 4294967296u64,
        "vcpu": 4,
        "vm_disks": [{"id": "disk-1"}],
        "cluster": {"id": "c-1", "name": "cluster-1"},
        "description": null
    })
}

#[test]
fn vm_decodes_leniently_and_strict_mode_names_the_missing_field() {
    let text = minimal_vm().to_string();
    let vm: Vm = decode(text.as_bytes()).unwrap();
    assert_eq!(vm.name, "web-1");
    assert_eq!(vm.memory, 4_294_967_296);
    assert_eq!(vm.status, VmStatus::Running);
    assert_eq!(vm.vm_disks.as_ref().map(Vec::len), Some(1));
    assert_eq!(
        vm.cluster.as_ref().map(|c| c.name.as_str()),
        Some("cluster-1")
    );
    // `description` is required and not nullable: a null keeps the default in lenient mode.
    assert_eq!(vm.description, "");

    let err = decode_strict::<Vm>(text.as_bytes()).unwrap_err();
    assert_eq!(err.path(), "/description");
    assert!(err.message().contains("null"), "{err}");
}

#[test]
fn decode_errors_name_the_json_path() {
    let mut vm = minimal_vm();
    vm["vm_disks"] = json!([{"id": "disk-1"}, {"id": 7}]);
    let text = serde_json::to_string(&vec![vm]).unwrap();
    let err = decode::<Vec<Vm>>(text.as_bytes()).unwrap_err();
    assert_eq!(err.path(), "/0/vm_disks/1/id");
    assert!(err.message().contains("expected a string"), "{err}");
}

#[test]
fn with_task_wraps_the_resource() {
    let text =
        json!([{"task_id": "t-1", "data": minimal_vm()}, {"task_id": null, "data": minimal_vm()}])
            .to_string();
    let results: Vec<WithTask<Vm>> = decode(text.as_bytes()).unwrap();
    assert_eq!(results[0].task_id.as_deref(), Some("t-1"));
    assert_eq!(results[1].task_id, None);
    assert_eq!(results[1].data.id, "vm-1");
}

#[test]
fn request_and_response_types_round_trip_with_the_server_feature() {
    let vm: Vm = decode(minimal_vm().to_string().as_bytes()).unwrap();
    let again: Vm = decode(&encode(&vm)).unwrap();
    assert_eq!(again, vm);

    let body = GetVmsRequestBody {
        r#where: Nullable::Value(VmWhereInput {
            name: Nullable::Null,
            id_in: vec!["x".to_string()].into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let decoded: GetVmsRequestBody = decode(&encode(&body)).unwrap();
    assert_eq!(decoded, body);
}

#[test]
fn a_task_holding_a_filter_across_an_await_can_be_spawned() {
    fn assert_spawnable<F: std::future::Future + Send + 'static>(_: &F) {}
    let client = cloudtower_api::Client::new("http://127.0.0.1:9").unwrap();
    let task = async move {
        let body = GetVmsRequestBody {
            r#where: Nullable::Value(VmWhereInput {
                name: "web-1".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let vms = client.get_vms(&body).await;
        (body, vms)
    };
    assert_spawnable(&task);
}

/// The crate root and `models` can both be glob-imported: no name means two things.
mod glob_imports {
    #[allow(unused_imports)]
    use cloudtower_api::models::*;
    #[allow(unused_imports)]
    use cloudtower_api::*;

    #[test]
    fn the_root_and_the_models_do_not_clash() {
        // The spec's strict `ErrorBody`, and the runtime's items by their plain names.
        let body = ErrorBody {
            message: "locked".into(),
            ..Default::default()
        };
        let error: Option<Error> = None;
        assert_eq!(body.message, "locked");
        assert!(error.is_none());
        let _: Nullable<Vm> = Nullable::Absent;
    }
}
