//! The library helpers (chunked upload, VNC console, resource watch) against cloudtower-mock.

use crate::fast_mock::signed_in;
use cloudtower_api::error::ErrorKind;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudtower_api::models::{
    ElfImageWhereInput, GetElfImagesRequestBody, GetVmsRequestBody, UploadTaskStatus,
    VmOperateParams, VmWhereInput, VmWhereUniqueInput,
};
use cloudtower_api::upload::{ElfImageUpload, UploadProgress};
use cloudtower_api::watch::{WatchError, WatchOptions};
use cloudtower_api::{Client, WaitForTasks, WaitOptions};
use cloudtower_mock::Fault;
use futures_util::StreamExt;

async fn cluster_id(client: &Client) -> String {
    client
        .get_clusters(&Default::default())
        .await
        .unwrap()
        .remove(0)
        .id
}

#[tokio::test]
async fn uploads_go_in_chunks_and_the_last_is_the_remainder() {
    let (tower, client) = signed_in().await;
    let data: Vec<u8> = (0..2500u32).map(|i| i as u8).collect();
    let progress: Arc<Mutex<Vec<UploadProgress>>> = Arc::default();
    let seen = progress.clone();
    let upload = ElfImageUpload::new(cluster_id(&client).await, "tiny.iso")
        .chunk_size(1000)
        .wait(Duration::from_secs(10), Duration::from_millis(10))
        .on_progress(move |p| seen.lock().unwrap().push(p));
    let task = client
        .upload_elf_image(data.as_slice(), data.len() as u64, upload)
        .await
        .unwrap();
    assert_eq!(task.status, UploadTaskStatus::Successed);
    assert_eq!(task.size, 2500);
    let progress = progress.lock().unwrap().clone();
    let sent: Vec<u64> = progress.iter().map(|p| p.sent).collect();
    assert_eq!(
        sent,
        [1000, 2000, 2500],
        "the mock rejects a wrong-sized chunk"
    );
    assert!(progress.iter().all(|p| p.chunks == 3 && p.total == 2500));
    assert_eq!(tower.request_count("upload-elf-image"), 3);
    let images = client
        .get_elf_images(&GetElfImagesRequestBody {
            r#where: ElfImageWhereInput {
                name: "tiny.iso".into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(images.len(), 1);
    assert_eq!(images[0].size, 2500);
}

#[tokio::test]
async fn an_upload_source_that_ends_early_is_an_error() {
    let (tower, client) = signed_in().await;
    let data = vec![7u8; 1500];
    let upload = ElfImageUpload::new(cluster_id(&client).await, "short.iso").chunk_size(1000);
    let error = client
        .upload_elf_image(data.as_slice(), 4000, upload)
        .await
        .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Io(_)), "{error}");
    assert!(
        error.to_string().contains("after 1000 of 4000 bytes"),
        "{error}"
    );
    assert_eq!(tower.request_count("upload-elf-image"), 1);
    // The upload task that will never get its other chunks is cancelled.
    assert_eq!(tower.request_count("cancel-upload-task"), 1);
}

#[tokio::test]
async fn the_vnc_console_url_follows_the_endpoint() {
    let (_tower, client) = signed_in().await;
    let vm = client
        .get_vms(&GetVmsRequestBody {
            r#where: VmWhereInput {
                name: "web-1".into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .remove(0);
    let console = client
        .vm_vnc_console(VmWhereUniqueInput {
            id: vm.id.clone().into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let endpoint = client
        .base_url()
        .trim_end_matches("/v2/api")
        .replace("http://", "ws://");
    assert!(
        console.url.starts_with(&format!(
            "{endpoint}/websockify/?uuid={}&token=",
            vm.local_id
        )),
        "{}",
        console.url
    );
    assert!(
        !console.url.contains('+') && console.url.contains("%2B"),
        "token escaped"
    );
    let host = vm.host.unwrap().management_ip;
    assert!(
        console.url.ends_with(&format!("&host={host}")),
        "{}",
        console.url
    );
}

fn quick_watch() -> WatchOptions {
    WatchOptions {
        poll_interval: Duration::from_millis(20),
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        ..WatchOptions::default()
    }
}

#[tokio::test]
async fn the_watch_streams_changes_from_now_on_and_survives_errors() {
    let (tower, client) = signed_in().await;
    // The first poll fails (a 503 the client retries by itself; a 500 reaches the watch).
    tower.set_fault(
        "resource-changes",
        Fault::new().status_rate(500, 1.0).times(1),
    );
    let mut changes = pin!(client.watch_resource_changes(WatchOptions {
        resource_type: Some("Vm".into()),
        ..quick_watch()
    }));
    let first = tokio::time::timeout(Duration::from_secs(5), changes.next())
        .await
        .expect("the failed poll is reported at once");
    match first {
        Some(Err(error)) => {
            assert!(error.is_transient(), "{error}");
            assert!(error.to_string().contains("HTTP 500"), "{error}");
        }
        other => panic!("expected the injected error, got {other:?}"),
    }
    // The watch goes on: it learns the current revision, and nothing has changed yet.
    let quiet = tokio::time::timeout(Duration::from_millis(300), changes.next()).await;
    assert!(quiet.is_err(), "nothing changed yet: {quiet:?}");
    assert!(tower.request_count("resource-changes") >= 2);

    client
        .shut_down_vm(&VmOperateParams {
            r#where: VmWhereInput {
                name: "db-1".into(),
                ..Default::default()
            },
        })
        .await
        .unwrap()
        .wait_with(
            &client,
            WaitOptions {
                interval: Duration::from_millis(10),
                ..WaitOptions::default()
            },
        )
        .await
        .unwrap();
    let event = match tokio::time::timeout(Duration::from_secs(5), changes.next()).await {
        Ok(Some(Ok(event))) => event,
        other => panic!("expected the shutdown, got {other:?}"),
    };
    assert_eq!(event.action.as_deref(), Some("UPDATE"));
    assert_eq!(event.resource_type.as_deref(), Some("Vm"));
    assert!(event
        .new_value
        .as_deref()
        .is_some_and(|v| v.contains("STOPPED")));
    assert!(event
        .old_value
        .as_deref()
        .is_some_and(|v| v.contains("RUNNING")));
}

#[tokio::test]
async fn a_compacted_start_revision_ends_the_watch_with_an_error() {
    let (tower, client) = signed_in().await;
    let old = tower.revision();
    client
        .shut_down_vm(&VmOperateParams {
            r#where: VmWhereInput {
                name: "web-1".into(),
                ..Default::default()
            },
        })
        .await
        .unwrap()
        .wait(&client)
        .await
        .unwrap();
    assert_eq!(tower.revision(), old + 1, "the shutdown is one change");
    tower.compact_changes(old + 1);
    let mut changes = pin!(client.watch_resource_changes(WatchOptions {
        start_revision: Some(old.to_string()),
        ..quick_watch()
    }));
    let first = tokio::time::timeout(Duration::from_secs(5), changes.next())
        .await
        .unwrap();
    match first {
        Some(Err(WatchError::Compacted {
            requested,
            compact_revision,
        })) => {
            assert_eq!(requested, old.to_string());
            assert_eq!(compact_revision, (old + 1).to_string());
        }
        other => panic!("expected a compaction error, got {other:?}"),
    }
    assert!(changes.next().await.is_none(), "the stream ends");
}
