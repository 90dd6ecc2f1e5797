//! Reactors for what moves in and out of a tower: VM and volume export (an export file per
//! record), VM and volume import (a VM or volume from an OVF or an upload), and the content
//! library's images and templates (imported, or made from a VM).

use serde_json::{json, Value};

use super::generic::{self, nested};
use super::vm;
use crate::json::{items, now_rfc3339, text};
use crate::state::{ApiError, Store};
use crate::tasks::Effect;

/// The elements of an array body.
fn params(body: &Value) -> &[Value] {
    body.as_array().map_or(&[], Vec::as_slice)
}

/// `params` without its `null` fields (what a tower does not read as given).
fn without_nulls(mut params: Value) -> Value {
    if let Some(fields) = params.as_object_mut() {
        fields.retain(|_, v| !v.is_null());
    }
    params
}

/// `export-vm`, `export-vm-volume`, `export-content-library-vm-template`: an export file per
/// record of `from` that `where` selects, naming it (`field`), of `data.type` (OVF for a
/// template), one file as large as the record; created when its task ends.
pub(crate) fn export(
    store: &mut Store,
    body: &Value,
    from: &'static str,
    field: &'static str,
) -> Result<Value, ApiError> {
    let ids = generic::selected_some(store, from, &body["where"], from)?;
    let kind = body["data"]["type"].as_str().unwrap_or("OVF").to_owned();
    let mut planned = Vec::new();
    for id in ids {
        let Some(source) = store.records.find(from, &id).cloned() else {
            continue;
        };
        let link = nested(store, "VmExportFile", field, from, &id)?;
        let cluster = source["cluster"]["id"]
            .as_str()
            .or_else(|| source["clusters"][0]["id"].as_str())
            .unwrap_or_default()
            .to_owned();
        let (file_uuid, secret, data_port) = (store.uuid(), store.uuid(), store.uuid());
        let file = store.fill(
            "VmExportFileFile",
            json!({
                "fileName": format!("{}.{}", text(&source, "name"), kind.to_lowercase()),
                "fileSize": source["size"].as_i64().unwrap_or(0),
                "fileUUID": file_uuid,
                "fileSecret": secret,
                "type": kind,
            }),
        );
        planned.push(json!({
            field: link,
            "type": kind,
            "files": [file],
            "storage_cluster_id": cluster,
            "data_port_id": data_port,
            "damaged": false,
            "createdAt": now_rfc3339(),
        }));
    }
    Ok(generic::create_all(
        store,
        "VmExportFile",
        planned,
        |file| {
            let name = &file[field]["name"];
            format!("Export {from} {}", name.as_str().unwrap_or_default())
        },
    ))
}

/// The disks an OVF describes, as new disks (`mount_new_create_disks`) named after the VM.
fn ovf_disks(ovf: &Value, name: &str) -> Vec<Value> {
    items(ovf, "disks")
        .iter()
        .filter(|d| d["type"] != "CD_ROM")
        .enumerate()
        .map(|(i, d)| {
            json!({
                "boot": i,
                "bus": d["bus"],
                "vm_volume": {
                    "name": format!("{name}-disk-{i}"),
                    "size": d["size"].as_i64().unwrap_or(0),
                    "elf_storage_policy": "REPLICA_2_THIN_PROVISION",
                },
            })
        })
        .collect()
}

/// `import-vm`: a VM per params, from its parsed OVF (CPU, memory, firmware, its disks as
/// new volumes) with what the params change, on the VLANs its NICs name.
pub(crate) fn import_vm(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let mut creations = Vec::new();
    for p in params(body) {
        let ovf = &p["parsed_ovf"];
        let name = text(p, "name");
        let or = |key: &str, fallback: &Value| match &p[key] {
            Value::Null => fallback.clone(),
            value => value.clone(),
        };
        let mut disks = ovf_disks(ovf, name);
        disks.extend(
            items(&p["disk_operate"]["new_disks"], "mount_new_create_disks")
                .iter()
                .cloned(),
        );
        let nics: Vec<Value> = items(p, "vm_nics")
            .iter()
            .map(|n| {
                without_nulls(json!({
                    "connect_vlan_id": n["connect_vlan_id"],
                    "model": n["model"],
                    "mac_address": n["mac_address"],
                    "enabled": n["enabled"],
                    "mirror": n["mirror"],
                }))
            })
            .collect();
        creations.push(without_nulls(json!({
            "cluster_id": p["cluster_id"],
            "host_id": p["host_id"],
            "folder_id": p["folder_id"],
            "name": name,
            "description": or("description", &ovf["description"]),
            "cpu_cores": or("cpu_cores", &ovf["cpu"]["cores"]),
            "cpu_sockets": or("cpu_sockets", &ovf["cpu"]["sockets"]),
            "memory": or("memory", &ovf["memory"]),
            "memory_unit": p["memory_unit"],
            "ha": p["ha"],
            "firmware": ovf["firmware"],
            "guest_os_type": p["guest_os_type"],
            "status": p["status"],
            "vm_disks": {"mount_new_create_disks": disks},
            "vm_nics": nics,
        })));
    }
    vm::create_vms(store, &creations)
}

/// `import-vm-volume`: a volume per params in its cluster, as large as the upload it names
/// (when the mock holds it), with the storage policy asked for.
pub(crate) fn import_vm_volume(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let mut planned = Vec::new();
    for p in params(body) {
        let size = store
            .records
            .find("UploadTask", text(p, "upload_task_id"))
            .and_then(|upload| upload["size"].as_i64())
            .unwrap_or(0);
        let policy = p["storage_policy"]
            .as_str()
            .or_else(|| p["elf_replica_storage_policy"].as_str())
            .unwrap_or("REPLICA_2_THIN_PROVISION");
        let named = json!({"name": p["name"], "cluster_id": p["cluster_id"]});
        planned.push((
            named,
            json!({"size": size, "elf_storage_policy": policy, "type": "KVM_VOLUME"}),
        ));
    }
    let mut answers = Vec::new();
    for (named, fields) in planned {
        let answer = generic::create(store, "VmVolume", &[], &json!([named]), &fields)?;
        answers.extend(answer.as_array().cloned().unwrap_or_default());
    }
    Ok(Value::Array(answers))
}

/// `import-content-library-vm-template`: a template per params in its cluster, shaped by
/// its parsed OVF (CPU, memory, firmware, the disks' total size) and what the params change.
pub(crate) fn import_content_library_template(
    store: &mut Store,
    body: &Value,
) -> Result<Value, ApiError> {
    let mut planned = Vec::new();
    for p in params(body) {
        let cluster = nested(
            store,
            "ContentLibraryVmTemplate",
            "clusters",
            "Cluster",
            text(p, "cluster_id"),
        )?;
        let ovf = &p["parsed_ovf"];
        let or = |key: &str, fallback: &Value| match &p[key] {
            Value::Null => fallback.clone(),
            value => value.clone(),
        };
        let size: i64 = items(ovf, "disks")
            .iter()
            .filter_map(|d| d["size"].as_i64())
            .sum();
        let memory = crate::json::scale(
            or("memory", &ovf["memory"]).as_i64().unwrap_or(0),
            p["memory_unit"].as_str(),
        );
        let fields = without_nulls(json!({
            "name": p["name"],
            "description": p["description"].as_str().unwrap_or_default(),
            "clusters": [cluster],
            "cpu": {
                "cores": or("cpu_cores", &ovf["cpu"]["cores"]),
                "sockets": or("cpu_sockets", &ovf["cpu"]["sockets"]),
            },
            "vcpu": or("vcpu", &ovf["vcpu"]),
            "memory": memory,
            "firmware": ovf["firmware"],
            "ha": p["ha"],
            "size": size,
        }));
        planned.push(fields);
    }
    Ok(generic::create_all(
        store,
        "ContentLibraryVmTemplate",
        planned,
        |template| format!("Import template {}", text(template, "name")),
    ))
}

/// `clone-content-library-vm-template-from-vm` (the VM stays) and
/// `convert-content-library-vm-template-from-vm` (the VM becomes the template: it is gone
/// when the task succeeds): a template like the VM (CPU, memory, firmware, size) in the
/// clusters `clusters` selects.
pub(crate) fn content_library_template_from_vm(
    store: &mut Store,
    body: &Value,
    convert: bool,
) -> Result<Value, ApiError> {
    let mut planned = Vec::new();
    for p in params(body) {
        let vm_id = generic::selected_ids(store, "Vm", &p["vm"])?
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::no_such("the VM `vm` names does not exist"))?;
        let source = store
            .records
            .find("Vm", &vm_id)
            .cloned()
            .unwrap_or_default();
        if convert && source["status"] != "STOPPED" {
            return Err(ApiError::invalid_state(format!(
                "VM {} must be stopped to become a template",
                text(&source, "name")
            )));
        }
        let mut clusters = Vec::new();
        for id in generic::selected_ids(store, "Cluster", &p["clusters"])? {
            clusters.push(nested(
                store,
                "ContentLibraryVmTemplate",
                "clusters",
                "Cluster",
                &id,
            )?);
        }
        let fields = without_nulls(json!({
            "name": p["name"],
            "description": p["description"].as_str().unwrap_or_default(),
            "cloud_init_supported": p["cloud_init_supported"] == true,
            "clusters": clusters,
            "cpu": source["cpu"],
            "cpu_model": source["cpu_model"],
            "clock_offset": source["clock_offset"],
            "vcpu": source["vcpu"],
            "memory": source["memory"],
            "firmware": source["firmware"],
            "ha": source["ha"],
            "win_opt": source["win_opt"],
            "size": source["size"].as_i64().unwrap_or(0),
        }));
        planned.push((vm_id, text(&source, "name").to_owned(), fields));
    }
    let mut answers = Vec::new();
    for (vm_id, vm_name, fields) in planned {
        let record = generic::new_record_with(store, "ContentLibraryVmTemplate", fields);
        let verb = if convert { "Convert" } else { "Clone" };
        let then: Option<Effect> =
            convert.then(|| Box::new(move |s: &mut Store| s.delete_vm(&vm_id, true)) as Effect);
        answers.push(generic::create_task(
            store,
            "ContentLibraryVmTemplate",
            record,
            &format!("{verb} VM {vm_name} to a content-library template"),
            then,
        ));
    }
    Ok(Value::Array(answers))
}

/// `import-content-library-image`: the image at `data.url` in the clusters `data.cluster`
/// selects, answered with the (finished) upload task that brought it in.
pub(crate) fn import_content_library_image(
    store: &mut Store,
    body: &Value,
) -> Result<Value, ApiError> {
    let data = &body["data"];
    let mut clusters = Vec::new();
    for id in generic::selected_ids(store, "Cluster", &data["cluster"])? {
        clusters.push(nested(
            store,
            "ContentLibraryImage",
            "clusters",
            "Cluster",
            &id,
        )?);
    }
    if clusters.is_empty() {
        return Err(ApiError::nothing_selected(
            "no cluster matches `data.cluster`",
        ));
    }
    let image = generic::new_record_with(
        store,
        "ContentLibraryImage",
        json!({
            "name": data["name"],
            "description": data["description"].as_str().unwrap_or_default(),
            "path": data["url"],
            "clusters": clusters,
            "createdAt": now_rfc3339(),
        }),
    );
    let image_id = store.create("ContentLibraryImage", image);
    let upload = generic::new_record_with(
        store,
        "UploadTask",
        json!({
            "status": "SUCCESSED",
            "resource_type": "CONTENT_LIBRARY_IMAGE",
            "started_at": now_rfc3339(),
            "finished_at": now_rfc3339(),
            "updatedAt": now_rfc3339(),
            "args": {"name": data["name"], "url": data["url"],
                     "content_library_image_id": image_id},
        }),
    );
    let upload_id = store.create("UploadTask", upload);
    Ok(store
        .records
        .find("UploadTask", &upload_id)
        .cloned()
        .unwrap_or_default())
}

/// `get-export-file-download-links`: a link per file of the export file `where` names (by id
/// or data port), where the tower serves it.
pub(crate) fn download_links(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let filter = &body["where"];
    let file = store
        .records
        .of("VmExportFile")
        .iter()
        .find(|f| {
            (filter["id"].is_string() && f["id"] == filter["id"])
                || (filter["data_port_id"].is_string()
                    && f["data_port_id"] == filter["data_port_id"])
        })
        .cloned()
        .ok_or_else(|| ApiError::no_such("no export file matches `where`"))?;
    let port = text(&file, "data_port_id");
    Ok(Value::Array(
        items(&file, "files")
            .iter()
            .map(|f| {
                json!({
                    "link": format!("/v2/api/export-files/{port}/{}", text(f, "fileUUID")),
                    "filename": f["fileName"],
                })
            })
            .collect(),
    ))
}
