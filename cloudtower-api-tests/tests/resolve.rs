//! Finding a resource by id, local id or name (`Client::resolve`), and waiting until no task
//! changes it (`Client::wait_until_idle`): against cloudtower-mock for the lookups, and a
//! scripted test tower for capped answers and `entityAsyncStatus`.

use crate::common;
use crate::fast_mock::signed_in;
use cloudtower_api::error::{ErrorKind, WorkflowError};

use std::time::Duration;

use cloudtower_api::models::{
    GetVmsRequestBody, Vm, VmUpdateParams, VmUpdateParamsData, VmWhereInput,
};
use cloudtower_api::{Client, ResolveKey, WaitForTasks, WaitOptions};
use common::{tower, Log, Reply};
use serde_json::json;

/// The seeded VM named `name`, read with a plain filter.
async fn vm_named(client: &Client, name: &str) -> Vm {
    let mut vms = client
        .get_vms(&GetVmsRequestBody {
            r#where: VmWhereInput {
                name: name.to_owned().into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(vms.len(), 1, "one seeded VM named {name}");
    vms.pop().unwrap()
}

/// Renames the VM `id` to `name`, and waits for the task.
async fn rename(client: &Client, id: &str, name: &str) {
    let params = VmUpdateParams {
        r#where: VmWhereInput {
            id: id.to_owned().into(),
            ..Default::default()
        },
        data: VmUpdateParamsData {
            name: Some(name.to_owned()),
            ..Default::default()
        },
    };
    client
        .update_vm(&params)
        .await
        .unwrap()
        .wait_with(client, quick(Duration::from_secs(10)))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_vm_is_found_by_id_by_local_id_and_by_name_in_one_request() {
    let (tower, client) = signed_in().await;
    let web1 = vm_named(&client, "web-1").await;
    assert_ne!(web1.local_id, web1.id);
    let before = tower.request_count("get-vms");

    let by_id: Vm = client.resolve(&web1.id).await.unwrap();
    let by_local_id: Vm = client.resolve(&web1.local_id).await.unwrap();
    let by_name = client.resolve::<Vm>("web-1").await.unwrap();
    for vm in [&by_id, &by_local_id, &by_name] {
        assert_eq!(
            (vm.id.as_str(), vm.name.as_str()),
            (web1.id.as_str(), "web-1")
        );
    }

    // One request per lookup: `where: {OR: [{id}, {local_id}, {name}]}`, capped.
    let sent: Vec<_> = tower
        .recorded_requests()
        .into_iter()
        .filter(|r| r.operation == "get-vms")
        .skip(before)
        .collect();
    assert_eq!(sent.len(), 3);
    assert_eq!(
        sent[2].body,
        json!({
            "where": {"OR": [{"id": "web-1"}, {"local_id": "web-1"}, {"name": "web-1"}]},
            "first": 101,
        })
    );
}

#[tokio::test]
async fn an_unknown_key_is_not_found_naming_the_key_and_the_resource() {
    let (_tower, client) = signed_in().await;
    let error = client.resolve::<Vm>("no-such-vm").await.unwrap_err();
    match error.kind() {
        ErrorKind::Workflow(WorkflowError::NotFound {
            resource,
            key,
            searched,
            ..
        }) => {
            assert_eq!((*resource, key.as_str()), ("Vm", "no-such-vm"));
            assert_eq!(
                *searched,
                [ResolveKey::Id, ResolveKey::LocalId, ResolveKey::Name]
            );
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        r#"no Vm has id, local_id or name "no-such-vm""#
    );
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn a_name_two_vms_share_is_ambiguous_listing_both_ids() {
    let (_tower, client) = signed_in().await;
    let web1 = vm_named(&client, "web-1").await;
    let web2 = vm_named(&client, "web-2").await;
    rename(&client, &web2.id, "web-1").await;

    let error = client.resolve::<Vm>("web-1").await.unwrap_err();
    let ErrorKind::Workflow(WorkflowError::Ambiguous {
        resource,
        key,
        matched,
        candidates,
        more,
        ..
    }) = error.kind()
    else {
        panic!("expected Ambiguous, got {error:?}");
    };
    assert_eq!(
        (*resource, key.as_str(), *matched),
        ("Vm", "web-1", ResolveKey::Name)
    );
    let mut ids = candidates.clone();
    ids.sort();
    let mut expected = vec![web1.id.clone(), web2.id.clone()];
    expected.sort();
    assert_eq!(ids, expected);
    assert!(!more);
    let shown = error.to_string();
    assert!(
        shown.starts_with(r#""web-1" is ambiguous: 2 Vms have name "web-1""#),
        "{shown}"
    );
    assert!(
        shown.contains(&web1.id) && shown.contains(&web2.id),
        "{shown}"
    );
    assert!(!error.is_retryable());

    // Either of them is still found by id.
    assert_eq!(client.resolve::<Vm>(&web2.id).await.unwrap().id, web2.id);
}

#[tokio::test]
async fn an_id_wins_over_another_vm_named_after_it() {
    let (_tower, client) = signed_in().await;
    let web1 = vm_named(&client, "web-1").await;
    let db1 = vm_named(&client, "db-1").await;
    rename(&client, &db1.id, &web1.id).await;

    let found = client.resolve::<Vm>(&web1.id).await.unwrap();
    assert_eq!(
        (found.id, found.name),
        (web1.id.clone(), "web-1".to_owned())
    );
    // And the local id wins over a name too.
    rename(&client, &db1.id, &web1.local_id).await;
    assert_eq!(
        client.resolve::<Vm>(&web1.local_id).await.unwrap().id,
        web1.id
    );
}

/// A VM as `get-vms` answers it, with the fields these tests read.
fn vm_json(id: &str, name: &str, status: Option<&str>) -> serde_json::Value {
    json!({"id": id, "local_id": format!("local-{id}"), "name": name, "entityAsyncStatus": status})
}

#[tokio::test]
async fn a_capped_answer_is_asked_again_key_by_key_and_reported_as_at_least() {
    let log = Log::default();
    // 101 VMs named `dup` (the request's cap); no VM has `dup` as its id or local id.
    let url = tower(log.clone(), |seen, _| {
        let filter = &seen.body["where"];
        if filter.get("OR").is_some() || filter.get("name").is_some() {
            let first = seen.body["first"].as_u64().unwrap() as usize;
            let vms: Vec<_> = (0..first)
                .map(|i| vm_json(&format!("vm-{i:03}"), "dup", None))
                .collect();
            Reply::ok(json!(vms))
        } else {
            Reply::ok(json!([]))
        }
    })
    .await;
    let client = Client::new(&url).unwrap();

    let error = client.resolve::<Vm>("dup").await.unwrap_err();
    let ErrorKind::Workflow(WorkflowError::Ambiguous {
        candidates, more, ..
    }) = error.kind()
    else {
        panic!("expected Ambiguous, got {error:?}");
    };
    assert_eq!(candidates.len(), 100);
    assert!(more);
    assert!(
        error
            .to_string()
            .starts_with(r#""dup" is ambiguous: at least 100 Vms have name "dup""#),
        "{error}"
    );
    // The full answer might have left out a VM whose id is `dup`: asked by id, by local
    // id, then by name.
    let filters: Vec<_> = log
        .all()
        .into_iter()
        .map(|s| s.body["where"].clone())
        .collect();
    assert_eq!(
        filters,
        [
            json!({"OR": [{"id": "dup"}, {"local_id": "dup"}, {"name": "dup"}]}),
            json!({"id": "dup"}),
            json!({"local_id": "dup"}),
            json!({"name": "dup"}),
        ]
    );
}

fn quick(timeout: Duration) -> WaitOptions {
    WaitOptions {
        interval: Duration::from_millis(10),
        backoff: 1.0,
        timeout,
        ..WaitOptions::default()
    }
}

/// A tower answering `get-vms` by `where.id_in`, each VM with `status(id, read)`.
async fn status_tower(
    log: &Log,
    status: fn(&str, usize) -> Option<Option<&'static str>>,
) -> Client {
    let url = tower(log.clone(), move |seen, read| {
        let vms: Vec<_> = common::requested_ids(seen)
            .iter()
            .filter_map(|id| status(id, read).map(|s| vm_json(id, id, s)))
            .collect();
        Reply::ok(json!(vms))
    })
    .await;
    Client::new(&url).unwrap()
}

#[tokio::test]
async fn the_wait_ends_once_entity_async_status_clears() {
    let log = Log::default();
    // `a` is updated for two reads, `b` idle from the start.
    let client = status_tower(&log, |id, read| match id {
        "a" if read < 2 => Some(Some("UPDATING")),
        _ => Some(None),
    })
    .await;
    let ids = ["a".to_owned(), "b".to_owned(), "a".to_owned()];
    let vms: Vec<Vm> = client
        .wait_until_idle(&ids, &quick(Duration::from_secs(10)))
        .await
        .unwrap();
    let got: Vec<_> = vms.iter().map(|vm| vm.id.as_str()).collect();
    assert_eq!(got, ["a", "b", "a"]);
    assert!(vms.iter().all(|vm| vm.entity_async_status.is_none()));
    // Read three times; only the busy one after the first.
    let reads: Vec<_> = log.all().iter().map(common::requested_ids).collect();
    assert_eq!(reads.len(), 3);
    assert_eq!(reads[1], ["a"]);
    assert_eq!(reads[2], ["a"]);
}

#[tokio::test]
async fn a_resource_that_stays_busy_ends_the_wait_at_its_timeout() {
    let log = Log::default();
    let client = status_tower(&log, |id, _| match id {
        "busy" => Some(Some("DELETING")),
        _ => Some(None),
    })
    .await;
    let ids = ["idle".to_owned(), "busy".to_owned()];
    let started = tokio::time::Instant::now();
    let error = client
        .wait_until_idle::<Vm>(&ids, &quick(Duration::from_millis(200)))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    match error.kind() {
        ErrorKind::Workflow(WorkflowError::StillBusy {
            resource,
            timeout,
            busy,
            ..
        }) => {
            assert_eq!((*resource, *timeout), ("Vm", Duration::from_millis(200)));
            assert_eq!(busy, &[("busy".to_owned(), "DELETING".to_owned())]);
        }
        other => panic!("expected StillBusy, got {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        "1 Vm(s) still busy after 200ms: busy (DELETING)"
    );
    assert!(error.is_timeout());
    assert!(!error.is_retryable());
    assert!(log.all().len() >= 3, "read again while busy");
}

#[tokio::test]
async fn a_resource_deleted_while_waiting_is_not_found() {
    let log = Log::default();
    let client = status_tower(&log, |_, read| match read {
        0 => Some(Some("DELETING")),
        _ => None,
    })
    .await;
    let error = client
        .wait_until_idle::<Vm>(&["gone".to_owned()], &quick(Duration::from_secs(10)))
        .await
        .unwrap_err();
    match error.kind() {
        ErrorKind::Workflow(WorkflowError::NotFound { resource, key, .. }) => {
            assert_eq!((*resource, key.as_str()), ("Vm", "gone"));
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(error.to_string(), r#"no Vm has id "gone""#);
}
