//! Paging through list operations with `first` + `after` against a test tower.

use crate::common;
use cloudtower_api::error::{ErrorKind, ResponseError};

use cloudtower_api::models::{GetVmsRequestBody, VmOrderByInput, VmWhereInput};
use cloudtower_api::Client;
use common::{tower, Log, Reply};
use futures_util::TryStreamExt;
use serde_json::json;

/// A tower with `total` VMs (`vm-000`, …) that pages like CloudTower: `first` items after
/// the one whose id is `after`. With `ignore_after` it always answers the first page.
async fn vm_tower(log: &Log, total: usize, ignore_after: bool) -> Client {
    let url = tower(log.clone(), move |seen, _| {
        let ids: Vec<String> = (0..total).map(|i| format!("vm-{i:03}")).collect();
        let start = match seen.body["after"].as_str() {
            Some(after) if !ignore_after => ids.iter().position(|id| id == after).unwrap() + 1,
            _ => 0,
        };
        let first = seen.body["first"].as_u64().unwrap() as usize;
        let page: Vec<_> = ids[start..]
            .iter()
            .take(first)
            .map(|id| json!({"id": id, "name": format!("name-{id}")}))
            .collect();
        Reply::ok(json!(page))
    })
    .await;
    Client::new(&url).unwrap()
}

fn request() -> GetVmsRequestBody {
    GetVmsRequestBody {
        r#where: VmWhereInput {
            name_starts_with: "name-".to_string().into(),
            ..Default::default()
        }
        .into(),
        order_by: VmOrderByInput::NameAsc.into(),
        skip: 5.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn items_stream_across_pages_keeping_where_and_order() {
    let log = Log::default();
    let client = vm_tower(&log, 25, false).await;
    let vms: Vec<_> = client
        .paginate(request())
        .page_size(10)
        .items()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<String> = vms.iter().map(|vm| vm.id.clone()).collect();
    let expected: Vec<String> = (0..25).map(|i| format!("vm-{i:03}")).collect();
    assert_eq!(ids, expected);

    let calls = log.all();
    assert_eq!(calls.len(), 3);
    let afters: Vec<_> = calls.iter().map(|c| c.body.get("after").cloned()).collect();
    assert_eq!(afters, [None, Some(json!("vm-009")), Some(json!("vm-019"))]);
    for call in &calls {
        assert_eq!(call.path, "/v2/api/get-vms");
        assert_eq!(call.body["first"], 10);
        assert_eq!(call.body["where"], json!({"name_starts_with": "name-"}));
        assert_eq!(call.body["orderBy"], "name_ASC");
        // `skip` would drop items from every page after the cursor.
        assert!(call.body.get("skip").is_none(), "{}", call.body);
    }
}

#[tokio::test]
async fn a_last_full_page_ends_with_one_empty_request() {
    let log = Log::default();
    let client = vm_tower(&log, 20, false).await;
    let pages: Vec<Vec<_>> = client
        .paginate(request())
        .page_size(10)
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10]);
    assert_eq!(log.all().len(), 3);
    let all = client.paginate(request()).collect().await.unwrap();
    assert_eq!(all.len(), 20);
}

#[tokio::test]
async fn a_server_that_ignores_the_cursor_does_not_loop_forever() {
    let log = Log::default();
    let client = vm_tower(&log, 50, true).await;
    let err = client
        .paginate(request())
        .page_size(10)
        .collect()
        .await
        .unwrap_err();
    // The first page comes back: paging stops there with an error (the repeated page is not
    // yielded; tests/hostile.rs checks the items seen before the error).
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Response(ResponseError::Protocol { .. })
        ),
        "{err:?}"
    );
    assert_eq!(log.all().len(), 2);
}

#[tokio::test]
async fn errors_end_the_stream() {
    let url = tower(Log::default(), |_, _| Reply::text(403, "forbidden")).await;
    let client = Client::new(&url).unwrap();
    let err = client.paginate(request()).collect().await.unwrap_err();
    assert_eq!(err.status(), Some(403));
}

/// A tower holding the VMs with these ids: `get-vms` filters by `where.id_in` and pages like
/// CloudTower, answering in the tower's order; `get-vms-connection` counts the `id_in` matches.
async fn id_filtering_tower(log: &Log, present: Vec<String>) -> Client {
    let url = tower(log.clone(), move |seen, _| {
        let matches: Vec<&String> = match seen.body["where"]["id_in"].as_array() {
            Some(wanted) => present
                .iter()
                .filter(|id| wanted.iter().any(|w| w == id.as_str()))
                .collect(),
            None => present.iter().collect(),
        };
        if seen.path.ends_with("/get-vms-connection") {
            return Reply::ok(json!({"aggregate": {"count": matches.len()}}));
        }
        let start = seen.body["after"].as_str().map_or(0, |after| {
            matches.iter().position(|id| *id == after).unwrap() + 1
        });
        let first = seen.body["first"].as_u64().unwrap() as usize;
        let page: Vec<_> = matches[start..]
            .iter()
            .take(first)
            .map(|id| json!({"id": id, "name": format!("now-{id}")}))
            .collect();
        Reply::ok(json!(page))
    })
    .await;
    Client::new(&url).unwrap()
}

#[tokio::test]
async fn count_sends_the_where_to_the_connection_operation_without_paging() {
    let log = Log::default();
    let client = id_filtering_tower(&log, vec!["a".into(), "b".into(), "c".into()]).await;
    let mut request = GetVmsRequestBody {
        r#where: VmWhereInput {
            id_in: vec!["a".to_string(), "c".to_string(), "zz".to_string()].into(),
            ..Default::default()
        }
        .into(),
        order_by: VmOrderByInput::NameAsc.into(),
        ..Default::default()
    };
    request.first = 1.into();
    assert_eq!(client.count(&request).await.unwrap(), 2);

    let calls = log.all();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].path, "/v2/api/get-vms-connection");
    // Only the filter: `first` would cap the count, and ordering means nothing to it.
    assert_eq!(calls[0].body, json!({"where": {"id_in": ["a", "c", "zz"]}}));
}

#[tokio::test]
async fn reread_returns_current_state_in_the_callers_order_without_vanished_ones() {
    let log = Log::default();
    // 250 VMs exist; the caller asks for 150 of them (3 pages of ids) plus 2 deleted ones.
    let present: Vec<String> = (0..250).map(|i| format!("vm-{i:03}")).collect();
    let client = id_filtering_tower(&log, present).await;
    let mut wanted: Vec<String> = (0..150).rev().map(|i| format!("vm-{i:03}")).collect();
    wanted.insert(7, "deleted-1".into());
    wanted.push("deleted-2".into());
    let stale: Vec<cloudtower_api::models::Vm> = wanted
        .iter()
        .map(|id| cloudtower_api::models::Vm {
            id: id.clone(),
            name: "stale".into(),
            ..Default::default()
        })
        .collect();

    let fresh = client.reread(&stale).await.unwrap();

    let expected: Vec<&String> = wanted.iter().filter(|id| id.starts_with("vm-")).collect();
    let ids: Vec<&String> = fresh.iter().map(|vm| &vm.id).collect();
    assert_eq!(ids, expected);
    assert!(fresh.iter().all(|vm| vm.name == format!("now-{}", vm.id)));
    let calls = log.all();
    // 152 ids, 100 per request, each request naming only its own ids; an id an answer left
    // out is asked for once more (a server may cap its answers), and then given up.
    assert_eq!(calls.len(), 4);
    let asked: Vec<Vec<String>> = calls
        .iter()
        .map(|call| {
            assert_eq!(call.path, "/v2/api/get-vms");
            serde_json::from_value(call.body["where"]["id_in"].clone()).unwrap()
        })
        .collect();
    assert_eq!(asked[0], wanted[..100]);
    assert_eq!(asked[1], ["deleted-1"]);
    assert_eq!(asked[2], wanted[100..]);
    assert_eq!(asked[3], ["deleted-2"]);
    assert!(client
        .reread::<cloudtower_api::models::Vm>(&[])
        .await
        .unwrap()
        .is_empty());
    assert_eq!(log.all().len(), 4, "nothing to re-read, no request");
}
