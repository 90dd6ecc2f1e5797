//! Chunked uploads (`upload-elf-image`, `upload-content-library-image`, `upload-svt-image`,
//! `upload-cloudtower-application-package`, `upload-elf-file`; multipart: the HTTP layer reads
//! the form and hands its fields here) and `cancel-upload-task`. An upload whose bytes all
//! arrived becomes what its operation uploads ([`UPLOADS`]) one task duration later (a timer
//! of the task engine).

use serde_json::{json, Value};

use super::generic;
use crate::json::{now_rfc3339, scale, text};
use crate::state::{ApiError, Store, UploadMeta};

/// A multipart upload operation: the `UploadTask.resource_type` it shows, the resource an
/// upload of it becomes (none: the upload itself is the result, as `upload-elf-file`'s
/// files for `import-vm` are), and whether it answers a list.
pub(crate) struct Upload {
    pub operation: &'static str,
    resource_type: &'static str,
    creates: Option<&'static str>,
    list: bool,
}

/// Every upload operation the mock serves (the HTTP layer routes each to [`upload_chunk`]).
pub(crate) const UPLOADS: &[Upload] = &[
    Upload {
        operation: "upload-elf-image",
        resource_type: "ELF_IMAGE",
        creates: Some("ElfImage"),
        list: true,
    },
    Upload {
        operation: "upload-content-library-image",
        resource_type: "CONTENT_LIBRARY_IMAGE",
        creates: Some("ContentLibraryImage"),
        list: true,
    },
    Upload {
        operation: "upload-svt-image",
        resource_type: "SVT_IMAGE",
        creates: Some("SvtImage"),
        list: true,
    },
    Upload {
        operation: "upload-cloudtower-application-package",
        resource_type: "CLOUDTOWER_APPLICATION_PACKAGE",
        creates: Some("CloudTowerApplicationPackage"),
        list: true,
    },
    Upload {
        operation: "upload-elf-file",
        resource_type: "VM_VOLUME_QCOW2",
        creates: None,
        list: false,
    },
];

/// The upload operation `operation`, if it is one.
pub(crate) fn upload_of(operation: &str) -> Option<&'static Upload> {
    UPLOADS.iter().find(|u| u.operation == operation)
}

/// One request of an upload: the form's text fields and the file part's length.
pub(crate) struct Chunk {
    pub kind: &'static Upload,
    /// The form's other text fields (`clusters`, `version`).
    pub form: Value,
    pub upload_task_id: Option<String>,
    pub file_len: i64,
    pub name: Option<String>,
    /// The `size` field and its `size_unit`, as sent.
    pub size: Option<String>,
    pub size_unit: Option<String>,
    pub cluster_id: Option<String>,
    pub description: Option<String>,
}

/// Takes one chunk of an upload; answers its `UploadTask` (in a list, for most).
pub(crate) fn upload_chunk(store: &mut Store, chunk: Chunk) -> Result<Value, ApiError> {
    let size = match &chunk.size {
        Some(s) => Some(
            s.trim()
                .parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("`size` is not a number: {s:?}")))?,
        ),
        None => None,
    };
    let size = size.map(|s| scale(s, chunk.size_unit.as_deref()));
    let id = match chunk.upload_task_id.as_deref() {
        Some(id) => {
            if !store.uploads.contains(id) {
                return Err(ApiError::not_found(format!(
                    "upload task {id} does not exist"
                )));
            }
            id.to_owned()
        }
        None => start_upload(store, &chunk, size)?,
    };
    let (Some(task), Some(meta)) = (
        store.records.fields_mut("UploadTask", &id),
        store.uploads.get_mut(&id),
    ) else {
        return Err(ApiError::not_found(format!(
            "upload task {id} does not exist"
        )));
    };
    if meta.complete || task["status"] != "INITIALIZING" && task["status"] != "UPLOADING" {
        return Err(ApiError::invalid_state(format!(
            "upload task {id} takes no more chunks (it is {})",
            task["status"].as_str().unwrap_or_default()
        )));
    }
    let total = task["size"].as_i64().unwrap_or(0);
    let chunk_size = task["chunk_size"].as_i64().unwrap_or(0);
    let remaining = total.saturating_sub(meta.received);
    let expected = chunk_size.min(remaining);
    if chunk.file_len != expected {
        return Err(ApiError::bad_request(format!(
            "chunk {} of upload task {id} has {} bytes, expected {expected} \
             (chunk size {chunk_size}, {remaining} bytes remaining)",
            meta.chunks, chunk.file_len
        )));
    }
    meta.received = meta.received.saturating_add(chunk.file_len);
    meta.chunks += 1;
    task.insert("current_chunk".into(), meta.chunks.into());
    task.insert("updatedAt".into(), now_rfc3339().into());
    task.insert("status".into(), "UPLOADING".into());
    if meta.received == total {
        meta.complete = true;
        let upload = id.clone();
        let after = store.tasks.duration;
        store
            .tasks
            .schedule(after, Box::new(move |s: &mut Store| finish(s, &upload)));
    }
    let answer = store
        .records
        .find("UploadTask", &id)
        .cloned()
        .unwrap_or_default();
    Ok(if chunk.kind.list {
        json!([answer])
    } else {
        answer
    })
}

fn start_upload(store: &mut Store, chunk: &Chunk, size: Option<i64>) -> Result<String, ApiError> {
    let size =
        size.ok_or_else(|| ApiError::bad_request("the first chunk must give the total `size`"))?;
    if size < 1 {
        return Err(ApiError::bad_request(format!(
            "`size` must be at least 1 byte, not {size}"
        )));
    }
    let name = chunk
        .name
        .clone()
        .ok_or_else(|| ApiError::bad_request("the first chunk must give the image `name`"))?;
    if let Some(c) = &chunk.cluster_id {
        store.cluster(c)?;
    }
    let mut task = store.new_record("UploadTask");
    let id = text(&task, "id").to_owned();
    crate::json::merge(
        &mut task,
        json!({
            "chunk_size": chunk.file_len,
            "size": size,
            "current_chunk": 0,
            "status": "INITIALIZING",
            "resource_type": resource_type(chunk.kind, &name),
            "started_at": now_rfc3339(),
            "updatedAt": now_rfc3339(),
            "args": {"name": name, "cluster_id": chunk.cluster_id, "size": size},
        }),
    );
    store.records.insert("UploadTask", task);
    let forgotten = store.uploads.insert(
        id.clone(),
        UploadMeta {
            kind: chunk.kind,
            form: chunk.form.clone(),
            received: 0,
            chunks: 0,
            complete: false,
            name,
            cluster_id: chunk.cluster_id.clone(),
            description: chunk.description.clone().unwrap_or_default(),
        },
    );
    // An upload forgotten before all its bytes arrived was abandoned: its record goes too.
    for (old, complete) in forgotten {
        if !complete {
            store.records.remove("UploadTask", &old);
        }
    }
    Ok(id)
}

/// What an upload shows as its resource type: its operation's, and for `upload-elf-file` the
/// kind of disk file its name says (`.ovf`, `.vmdk`, `.raw`, else QCOW2).
fn resource_type(kind: &Upload, name: &str) -> &'static str {
    if kind.creates.is_some() {
        return kind.resource_type;
    }
    let name = name.to_ascii_lowercase();
    [
        (".ovf", "OVF"),
        (".vmdk", "VM_VOLUME_VMDK"),
        (".raw", "VM_VOLUME_RAW"),
    ]
    .into_iter()
    .find(|(ext, _)| name.ends_with(ext))
    .map_or(kind.resource_type, |(_, t)| t)
}

/// The clusters an upload's `clusters` form field names: a `ClusterWhereInput` as JSON, else
/// ids separated by commas.
fn clusters_of(store: &Store, held_by: &str, field: &str) -> Vec<Value> {
    let ids = match serde_json::from_str::<Value>(field) {
        Ok(filter @ Value::Object(_)) => {
            generic::selected_ids(store, "Cluster", &filter).unwrap_or_default()
        }
        _ => field
            .split(',')
            .map(|id| id.trim().trim_matches('"').to_owned())
            .collect(),
    };
    ids.iter()
        .filter_map(|id| generic::nested(store, held_by, "clusters", "Cluster", id).ok())
        .collect()
}

/// The upload `id` has all its bytes: what it uploads exists (an ELF image, a content-library
/// image, …), the upload task SUCCESSED and names it in its `args`.
fn finish(store: &mut Store, id: &str) {
    // Gone (cancelled meanwhile): nothing to finish.
    let Some(meta) = store.uploads.remove(id) else {
        return;
    };
    if store
        .records
        .find("UploadTask", id)
        .is_none_or(|t| t["status"] != "UPLOADING")
    {
        return;
    }
    let created = meta.kind.creates.map(|resource| {
        let cluster = meta
            .cluster_id
            .as_deref()
            .and_then(|c| store.cluster(c).ok());
        let clusters = clusters_of(store, resource, text(&meta.form, "clusters"));
        let local_id = store.uuid();
        let version = meta.form["version"]
            .as_str()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(1);
        let fields: serde_json::Map<String, Value> = json!({
            "local_id": local_id,
            "name": meta.name,
            "description": meta.description,
            "size": meta.received,
            "path": format!("/usr/share/smartx/images/{local_id}"),
            "cluster": cluster,
            "clusters": clusters,
            "version": version,
            "local_created_at": now_rfc3339(),
            "createdAt": now_rfc3339(),
        })
        .as_object()
        .into_iter()
        .flatten()
        // What this resource has of them, of its type (a package has no cluster).
        .filter(|(key, value)| {
            crate::table::field_type(resource, key)
                .is_some_and(|ty| crate::table::schema().check(value, ty).is_ok())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
        let record = generic::new_record_with(store, resource, Value::Object(fields));
        let made = store.create(resource, record);
        (crate::table::kebab(resource).replace('-', "_"), made)
    });
    store.update("UploadTask", id, |task| {
        task.insert("status".into(), "SUCCESSED".into());
        task.insert("finished_at".into(), now_rfc3339().into());
        task.insert("updatedAt".into(), now_rfc3339().into());
        if let (Some(args), Some((resource, made))) =
            (task.get_mut("args").and_then(Value::as_object_mut), created)
        {
            args.insert(format!("{resource}_id"), json!(made));
        }
    });
}

/// `cancel-upload-task`: the selected uploads that have not finished stop (status FAILED,
/// as a tower shows a cancelled upload), their bytes are forgotten; answers their ids.
pub(crate) fn cancel(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let ids = generic::selected_ids(store, "UploadTask", &body["where"])?;
    if ids.is_empty() {
        return Err(ApiError::nothing_selected(
            "no upload task matches the `where` filter",
        ));
    }
    let mut cancelled = Vec::new();
    for id in ids {
        let running = store
            .records
            .find("UploadTask", &id)
            .is_some_and(|t| t["status"] == "INITIALIZING" || t["status"] == "UPLOADING");
        if !running {
            continue;
        }
        store.uploads.remove(&id);
        store.update("UploadTask", &id, |task| {
            task.insert("status".into(), "FAILED".into());
            task.insert("finished_at".into(), now_rfc3339().into());
            task.insert("updatedAt".into(), now_rfc3339().into());
        });
        cancelled.push(Value::from(id));
    }
    if cancelled.is_empty() {
        return Err(ApiError::invalid_state(
            "the selected upload tasks have already ended",
        ));
    }
    Ok(Value::Array(cancelled))
}
