//! Reactors for operations whose effect the table's shapes do not say: clones and
//! conversions of VMs and templates, VM folders, GPUs and PCI NICs, iSCSI LUN clones and
//! rollbacks, plans, and the flags of hosts, disks and alerts.

use serde_json::{json, Value};

use super::generic::{self, nested, Task};
use super::vm::{self, set_field, vms_or_error, VmChange};
use crate::json::{
    add_to_list, id_name, items, merge, now_rfc3339, opt_text, remove_from_list, text,
};
use crate::state::{ApiError, Store};
use crate::tasks::{AsyncStatus, Effect};

/// The elements of an array body.
fn params(body: &Value) -> &[Value] {
    body.as_array().map_or(&[], Vec::as_slice)
}

fn find(store: &Store, resource: &str, id: &str, what: &str) -> Result<Value, ApiError> {
    store
        .records
        .find(resource, id)
        .cloned()
        .ok_or_else(|| ApiError::no_such(format!("{what} {id} does not exist")))
}

/// `VmDiskParams` like the disks of a VM: a new volume of the same size per disk (named
/// `<name>-disk-<i>`), a CD-ROM with the same image per CD-ROM.
fn disks_of_vm(store: &Store, vm_id: &str, name: &str) -> Value {
    let cd_roms: Vec<Value> = store
        .of_vm("VmDisk", vm_id)
        .iter()
        .filter(|d| d["type"] == "CD_ROM")
        .map(|d| json!({"boot": d["boot"], "elf_image_id": d["elf_image"]["id"]}))
        .map(|mut cd| {
            if cd["elf_image_id"].is_null() {
                cd.as_object_mut().map(|c| c.remove("elf_image_id"));
            }
            cd
        })
        .collect();
    let disks: Vec<Value> = store
        .of_vm("VmDisk", vm_id)
        .iter()
        .filter(|d| d["type"] == "DISK")
        .enumerate()
        .map(|(i, d)| {
            let size = d["vm_volume"]["id"]
                .as_str()
                .and_then(|id| store.records.find("VmVolume", id))
                .and_then(|v| v["size"].as_i64())
                .unwrap_or(0);
            json!({
                "boot": d["boot"],
                "bus": d["bus"],
                "vm_volume": {
                    "name": format!("{name}-disk-{i}"),
                    "size": size,
                    "elf_storage_policy": "REPLICA_2_THIN_PROVISION",
                },
            })
        })
        .collect();
    json!({"mount_new_create_disks": disks, "mount_cd_roms": cd_roms})
}

/// The NICs of a VM as `VmNicParams` (on the same VLANs).
fn nics_of_vm(store: &Store, vm_id: &str) -> Vec<Value> {
    store
        .of_vm("VmNic", vm_id)
        .iter()
        .map(|n| json!({"connect_vlan_id": n["vlan"]["id"], "model": n["model"]}))
        .collect()
}

/// `clone-vm`: a new VM like `src_vm_id` (its CPU, memory, disks as new volumes of the same
/// size, NICs on the same VLANs), with what the params change.
pub(crate) fn clone_vm(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let mut creations = Vec::new();
    for p in params(body) {
        let source = find(store, "Vm", text(p, "src_vm_id"), "VM")?;
        let source_id = text(&source, "id");
        let name = text(p, "name");
        let or = |key: &str, fallback: Value| match &p[key] {
            Value::Null => fallback,
            value => value.clone(),
        };
        let disks = match &p["vm_disks"] {
            Value::Null => disks_of_vm(store, source_id, name),
            given => given.clone(),
        };
        creations.push(json!({
            "cluster_id": or("cluster_id", source["cluster"]["id"].clone()),
            "host_id": p["host_id"],
            "folder_id": p["folder_id"],
            "name": name,
            "description": or("description", source["description"].clone()),
            "cpu_cores": or("cpu_cores", source["cpu"]["cores"].clone()),
            "cpu_sockets": or("cpu_sockets", source["cpu"]["sockets"].clone()),
            "vcpu": p["vcpu"],
            "memory": or("memory", source["memory"].clone()),
            "memory_unit": p["memory_unit"],
            "ha": or("ha", source["ha"].clone()),
            "firmware": or("firmware", source["firmware"].clone()),
            "guest_os_type": or("guest_os_type", source["guest_os_type"].clone()),
            "status": p["status"].as_str().unwrap_or("STOPPED"),
            "vm_disks": disks,
            "vm_nics": or("vm_nics", Value::Array(nics_of_vm(store, source_id))),
        }));
    }
    let creations: Vec<Value> = creations
        .into_iter()
        .map(|mut c| {
            if let Some(fields) = c.as_object_mut() {
                fields.retain(|_, v| !v.is_null());
            }
            c
        })
        .collect();
    vm::create_vms(store, &creations)
}

/// The frozen disks of a template made from VM `vm_id`.
fn frozen_disks(store: &mut Store, vm_id: &str) -> Vec<Value> {
    let disks = store.of_vm("VmDisk", vm_id);
    let mut frozen = Vec::new();
    for (index, disk) in disks.iter().enumerate() {
        let volume = disk["vm_volume"]["id"]
            .as_str()
            .and_then(|id| store.records.find("VmVolume", id))
            .cloned()
            .unwrap_or(Value::Null);
        let mut fields = vm::frozen_disk(disk, &volume, index);
        fields["vm_volume_template_uuid"] = store.uuid().into();
        frozen.push(store.fill("NestedFrozenDisks", fields));
    }
    frozen
}

/// `clone-vm-template-from-vm` (the VM stays) and `convert-vm-template-from-vm` (the VM
/// becomes the template: it is gone when the task succeeds).
pub(crate) fn template_from_vm(
    store: &mut Store,
    body: &Value,
    convert: bool,
) -> Result<Value, ApiError> {
    let mut sources = Vec::new();
    for p in params(body) {
        let source = find(store, "Vm", text(p, "vm_id"), "VM")?;
        if convert && source["status"] != "STOPPED" {
            return Err(ApiError::invalid_state(format!(
                "VM {} must be stopped to become a template",
                text(&source, "name")
            )));
        }
        let cluster = match p["cluster_id"].as_str() {
            Some(id) => id_name(&find(store, "Cluster", id, "cluster")?),
            None => source["cluster"].clone(),
        };
        sources.push((p.clone(), source, cluster));
    }
    let mut answers = Vec::new();
    for (p, source, cluster) in sources {
        let vm_id = text(&source, "id").to_owned();
        let disks = frozen_disks(store, &vm_id);
        let nics: Vec<Value> = store
            .of_vm("VmNic", &vm_id)
            .iter()
            .enumerate()
            .map(|(index, n)| {
                json!({
                    "index": index,
                    "enabled": n["enabled"],
                    "model": n["model"],
                    "mac_address": n["mac_address"],
                    "vlan": n["vlan"]["id"].clone(),
                })
            })
            .collect();
        let nics: Vec<Value> = nics
            .into_iter()
            .map(|mut n| {
                let vlan = n["vlan"]
                    .as_str()
                    .and_then(|id| store.records.find("Vlan", id))
                    .cloned()
                    .unwrap_or_default();
                n["vlan"] = store.fill(
                    "NestedFrozenVlan",
                    json!({
                        "name": vlan["name"],
                        "vlan_id": vlan["vlan_id"],
                        "vlan_local_id": vlan["local_id"],
                        "vds_ovs": vlan["vds"]["name"],
                    }),
                );
                store.fill("NestedTemplateNic", n)
            })
            .collect();
        let mut template = store.new_record("VmTemplate");
        let local_id = store.uuid();
        merge(
            &mut template,
            json!({
                "local_id": local_id,
                "name": text(&p, "name"),
                "description": p["description"].as_str().unwrap_or_default(),
                "cloud_init_supported": p["cloud_init_supported"] == true,
                "cluster": cluster,
                "clock_offset": source["clock_offset"],
                "cpu": source["cpu"],
                "cpu_model": source["cpu_model"],
                "firmware": source["firmware"],
                "ha": source["ha"],
                "memory": source["memory"],
                "vcpu": source["vcpu"],
                "size": source["size"].as_i64().unwrap_or(0),
                "win_opt": source["win_opt"],
                "local_created_at": now_rfc3339(),
                "vm_disks": disks,
                "vm_nics": nics,
            }),
        );
        let verb = if convert { "Convert" } else { "Clone" };
        let description = format!("{verb} VM {} to template", text(&source, "name"));
        let then: Option<Effect> =
            convert.then(|| Box::new(move |s: &mut Store| s.delete_vm(&vm_id, true)) as Effect);
        answers.push(generic::create_task(
            store,
            "VmTemplate",
            template,
            &description,
            then,
        ));
    }
    Ok(Value::Array(answers))
}

/// `convert-vm-template-to-vm`: a VM like the template (CPU, memory, a new volume per frozen
/// disk); the template is gone when the task succeeds.
pub(crate) fn template_to_vm(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let mut creations = Vec::new();
    for p in params(body) {
        let template_id = text(p, "converted_from_template_id");
        let template = find(store, "VmTemplate", template_id, "VM template")?;
        let name = text(p, "name");
        let disks: Vec<Value> = items(&template, "vm_disks")
            .iter()
            .filter(|d| d["type"] == "DISK")
            .enumerate()
            .map(|(i, d)| {
                json!({
                    "boot": d["boot"],
                    "bus": d["bus"],
                    "vm_volume": {
                        "name": format!("{name}-disk-{i}"),
                        "size": d["size"].as_i64().unwrap_or(0),
                        "elf_storage_policy": "REPLICA_2_THIN_PROVISION",
                    },
                })
            })
            .collect();
        let cd_roms: Vec<Value> = items(&template, "vm_disks")
            .iter()
            .filter(|d| d["type"] == "CD_ROM")
            .map(|d| json!({"boot": d["boot"]}))
            .collect();
        let creation = json!({
            "cluster_id": template["cluster"]["id"],
            "name": name,
            "description": template["description"],
            "cpu_cores": template["cpu"]["cores"],
            "cpu_sockets": template["cpu"]["sockets"],
            "memory": template["memory"],
            "ha": template["ha"],
            "firmware": template["firmware"],
            "vm_disks": {"mount_new_create_disks": disks, "mount_cd_roms": cd_roms},
        });
        store.check_vm_params(&creation)?;
        creations.push((template_id.to_owned(), creation));
    }
    let mut answers = Vec::new();
    for (template_id, creation) in creations {
        let vm = store.create_vm(&creation)?;
        let id = text(&vm, "id").to_owned();
        let failed = id.clone();
        let description = format!("Convert template to VM {}", text(&vm, "name"));
        answers.push(
            Task::new(&description, "Vm", &id)
                .status(AsyncStatus::Creating)
                .on_success(move |s: &mut Store| {
                    s.delete("VmTemplate", &template_id);
                })
                .on_failure(move |s: &mut Store| s.delete_vm(&failed, true))
                .answer(store, vm),
        );
    }
    Ok(Value::Array(answers))
}

/// `add-vm-to-folder`: the selected VMs move into the folder (which lists them).
pub(crate) fn add_vm_to_folder(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let ids = vms_or_error(store, &body["where"])?;
    let folder = nested(
        store,
        "Vm",
        "folder",
        "VmFolder",
        text(&body["data"], "folder_id"),
    )?;
    let change: VmChange = Box::new(move |vm| set_field(vm, "folder", folder.clone()));
    Ok(Value::Array(vm::vm_answers(
        store,
        &ids,
        "Add VM to folder",
        Some(change),
    )))
}

/// `add-vm-gpu-device`: the GPUs named by `data[].gpu_id` are passed through to the VMs.
pub(crate) fn add_vm_gpu_device(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let ids = vms_or_error(store, &body["where"])?;
    let gpus = items(body, "data")
        .iter()
        .map(|g| nested(store, "Vm", "gpu_devices", "GpuDevice", text(g, "gpu_id")))
        .collect::<Result<Vec<_>, _>>()?;
    let change: VmChange = Box::new(move |vm| add_to_list(vm, "gpu_devices", &gpus));
    Ok(Value::Array(vm::vm_answers(
        store,
        &ids,
        "Add GPU device to VM",
        Some(change),
    )))
}

/// `add-vm-pci-nic`: the host NICs `data.pci_nics` selects are passed through to the VMs.
pub(crate) fn add_vm_pci_nic(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let ids = vms_or_error(store, &body["where"])?;
    let nic_ids = generic::selected_ids(store, "Nic", &body["data"]["pci_nics"])?;
    if nic_ids.is_empty() {
        return Err(ApiError::nothing_selected("no NIC matches `data.pci_nics`"));
    }
    let nics = nic_ids
        .iter()
        .map(|id| nested(store, "Vm", "pci_nics", "Nic", id))
        .collect::<Result<Vec<_>, _>>()?;
    let change: VmChange = Box::new(move |vm| add_to_list(vm, "pci_nics", &nics));
    Ok(Value::Array(vm::vm_answers(
        store,
        &ids,
        "Add PCI NIC to VM",
        Some(change),
    )))
}

/// `clone-iscsi-lun-from-snapshot`: a new LUN on the target, like the snapshot's LUN.
pub(crate) fn clone_lun_from_snapshot(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let mut planned = Vec::new();
    for p in params(body) {
        let snapshot = find(
            store,
            "IscsiLunSnapshot",
            text(p, "snapshot_id"),
            "LUN snapshot",
        )?;
        let target = nested(
            store,
            "IscsiLun",
            "iscsi_target",
            "IscsiTarget",
            text(p, "iscsi_target_id"),
        )?;
        let source = snapshot["iscsi_lun"]["id"]
            .as_str()
            .and_then(|id| store.records.find("IscsiLun", id))
            .cloned();
        planned.push((text(p, "name").to_owned(), target, source));
    }
    let mut answers = Vec::new();
    for (name, target, source) in planned {
        let mut lun = store.new_record("IscsiLun");
        let id = text(&lun, "id").to_owned();
        if let (Some(fields), Some(Value::Object(source))) = (lun.as_object_mut(), source) {
            for (key, value) in source {
                if !matches!(key.as_str(), "id" | "labels" | "consistency_group") {
                    fields.insert(key, value);
                }
            }
        }
        let local_id = store.uuid();
        let lun_number = store.records.of("IscsiLun").len() + 1;
        merge(
            &mut lun,
            json!({
                "id": id,
                "name": name,
                "iscsi_target": target,
                "local_id": local_id,
                "zbs_volume_id": local_id,
                "lun_id": lun_number,
                "snapshot_num": 0,
                "local_created_at": now_rfc3339(),
                "entityAsyncStatus": null,
            }),
        );
        store.records.insert("IscsiLun", lun.clone());
        let (created, failed) = (id.clone(), id.clone());
        answers.push(
            Task::new("Clone iSCSI LUN from snapshot", "IscsiLun", &id)
                .status(AsyncStatus::Creating)
                .on_success(move |s: &mut Store| {
                    s.sync_inverse("IscsiLun", &created, &Value::Null);
                    s.record("IscsiLun", "CREATE", &created, None);
                })
                .on_failure(move |s: &mut Store| {
                    s.records.remove("IscsiLun", &failed);
                })
                .answer(store, lun),
        );
    }
    Ok(Value::Array(answers))
}

/// A device that rolls back to one of its own snapshots: its resource, the param naming it,
/// its snapshots' resource and the field by which a snapshot names it, and what users call it.
pub(crate) struct RollsBack {
    resource: &'static str,
    id_param: &'static str,
    snapshot: &'static str,
    snapshot_of: &'static str,
    noun: &'static str,
}

/// `rollback-iscsi-lun-from-snapshot`.
pub(crate) const LUN: RollsBack = RollsBack {
    resource: "IscsiLun",
    id_param: "lun_id",
    snapshot: "IscsiLunSnapshot",
    snapshot_of: "iscsi_lun",
    noun: "LUN",
};

/// `rollback-nvmf-namespace-from-snapshot`.
pub(crate) const NAMESPACE: RollsBack = RollsBack {
    resource: "NvmfNamespace",
    id_param: "namespace_id",
    snapshot: "NvmfNamespaceSnapshot",
    snapshot_of: "nvmf_namespace",
    noun: "namespace",
};

/// A LUN or namespace goes back to the snapshot, which must be one of its own; the device
/// shows the change (an UPDATE in the resource changes) when the task succeeds.
pub(crate) fn rollback_from_snapshot(
    store: &mut Store,
    body: &Value,
    device: &RollsBack,
) -> Result<Value, ApiError> {
    let noun = device.noun;
    let mut planned = Vec::new();
    for p in params(body) {
        let target = find(store, device.resource, text(p, device.id_param), noun)?;
        let snapshot = find(
            store,
            device.snapshot,
            text(p, "snapshot_id"),
            &format!("{noun} snapshot"),
        )?;
        if snapshot[device.snapshot_of]["id"] != target["id"] {
            return Err(ApiError::invalid_state(format!(
                "{noun} snapshot {} is not a snapshot of {noun} {}",
                text(&snapshot, "name"),
                text(&target, "name")
            )));
        }
        planned.push((target, snapshot));
    }
    let mut answers = Vec::new();
    for (target, snapshot) in planned {
        let id = text(&target, "id").to_owned();
        let (resource, restored) = (device.resource, id.clone());
        let description = format!(
            "Roll back {noun} {} to {}",
            text(&target, "name"),
            text(&snapshot, "name")
        );
        answers.push(
            Task::new(&description, resource, &id)
                .on_success(move |s: &mut Store| restore(s, resource, &restored, &snapshot))
                .answer(store, target),
        );
    }
    Ok(Value::Array(answers))
}

/// Device `resource`/`id` goes back to `snapshot`: the bytes are the snapshot's again, what
/// only the data path sees (its `unique_size`).
fn restore(store: &mut Store, resource: &str, id: &str, snapshot: &Value) {
    store.update(resource, id, |device| {
        set_field(device, "unique_size", snapshot["unique_size"].clone())
    })
}

/// `rollback-consistency-snapshot-group`: every LUN and namespace of each selected group
/// goes back to its snapshot in it (as `rollback-iscsi-lun-from-snapshot` does), when the
/// group's task ends.
pub(crate) fn rollback_consistency_group(
    store: &mut Store,
    body: &Value,
) -> Result<Value, ApiError> {
    task_per_selected(
        store,
        &body["where"],
        "ConsistencyGroupSnapshot",
        "consistency group snapshot",
        |store, group| {
            let mut restores: Vec<(&'static str, String, Value)> = Vec::new();
            for (device, held) in [
                (&LUN, "Iscsi_lun_snapshots"),
                (&NAMESPACE, "nvmf_namespace_snapshots"),
            ] {
                for nested in items(group, held) {
                    let Some(snapshot) = store.records.find(device.snapshot, text(nested, "id"))
                    else {
                        continue;
                    };
                    if let Some(target) = opt_text(&snapshot[device.snapshot_of], "id") {
                        restores.push((device.resource, target, snapshot.clone()));
                    }
                }
            }
            let effect: Effect = Box::new(move |s: &mut Store| {
                for (resource, id, snapshot) in &restores {
                    restore(s, resource, id, snapshot);
                }
            });
            let description = format!("Roll back consistency group to {}", text(group, "name"));
            (description, effect)
        },
    )
}

/// A regular create with what the operation implies (`create-vm-vlan`: a VLAN of `type`
/// VM) set before the params.
pub(crate) fn create_with_defaults(
    store: &mut Store,
    body: &Value,
    operation: &str,
    defaults: &Value,
) -> Result<Value, ApiError> {
    match crate::table::schema()
        .operation(operation)
        .map(|op| &op.kind)
    {
        Some(cloudtower_schema::OperationKind::Create { resource, fields }) => {
            generic::create(store, resource, fields, body, defaults)
        }
        _ => generic::answer(store, operation, body),
    }
}

/// `create-host`: the hosts of each element join its cluster when the task succeeds; the
/// answer (`BatchHosts`) names the task.
pub(crate) fn create_hosts(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let mut planned = Vec::new();
    for p in params(body) {
        let cluster = nested(store, "Host", "cluster", "Cluster", text(p, "cluster_id"))?;
        let mut hosts = Vec::new();
        for data in items(p, "data") {
            let mut host = store.new_record("Host");
            let local_id = store.uuid();
            merge(
                &mut host,
                json!({
                    "name": text(data, "hostname"),
                    "local_id": data["host_uuid"].as_str().map_or(local_id, str::to_owned),
                    "management_ip": text(data, "host_ip"),
                    "cluster": cluster,
                    "status": "CONNECTED_HEALTHY",
                    "state": "IN_USE",
                }),
            );
            hosts.push(host);
        }
        planned.push(hosts);
    }
    let mut answers = Vec::new();
    for hosts in planned {
        let task_id = store.task(
            "Add hosts to cluster",
            AsyncStatus::Creating,
            "",
            "",
            Some(Box::new(move |s: &mut Store| {
                for host in hosts {
                    s.create("Host", host);
                }
            })),
            None,
        );
        let held = store
            .records
            .nested("BatchHosts", "task", "Task", &task_id)
            .unwrap_or_else(|| json!({"id": task_id}));
        let task = store.fill("NestedTask", held);
        answers.push(json!({"task_id": task_id, "data": {"task": task}}));
    }
    Ok(Value::Array(answers))
}

/// `remove-vm-from-folder`: the VMs leave their folder.
pub(crate) fn remove_vm_from_folder(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let ids = vms_or_error(store, &body["where"])?;
    let change: VmChange = Box::new(|vm| set_field(vm, "folder", Value::Null));
    Ok(Value::Array(vm::vm_answers(
        store,
        &ids,
        "Remove VM from folder",
        Some(change),
    )))
}

/// `remove-vm-gpu-device`: the GPUs named by `data[].gpu_id` are no longer passed through.
pub(crate) fn remove_vm_gpu_device(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let ids = vms_or_error(store, &body["where"])?;
    let gone: Vec<String> = items(body, "data")
        .iter()
        .map(|g| text(g, "gpu_id").to_owned())
        .collect();
    let change: VmChange = Box::new(move |vm| remove_from_list(vm, "gpu_devices", &gone));
    Ok(Value::Array(vm::vm_answers(
        store,
        &ids,
        "Remove GPU device from VM",
        Some(change),
    )))
}

/// `remove-vm-pci-nic`: the host NICs `data.pci_nics` selects are no longer passed through.
pub(crate) fn remove_vm_pci_nic(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let ids = vms_or_error(store, &body["where"])?;
    let gone = generic::selected_ids(store, "Nic", &body["data"]["pci_nics"])?;
    let change: VmChange = Box::new(move |vm| remove_from_list(vm, "pci_nics", &gone));
    Ok(Value::Array(vm::vm_answers(
        store,
        &ids,
        "Remove PCI NIC from VM",
        Some(change),
    )))
}

/// A task per record of `resource` that `where` selects (none: refused, naming `what`),
/// each answered with its record as it is now; `plan(record)` gives the task's description
/// and what its success does.
pub(crate) fn task_per_selected(
    store: &mut Store,
    filter: &Value,
    resource: &'static str,
    what: &str,
    mut plan: impl FnMut(&Store, &Value) -> (String, Effect),
) -> Result<Value, ApiError> {
    let ids = generic::selected_some(store, resource, filter, what)?;
    let mut answers = Vec::new();
    for id in ids {
        let Some(record) = store.records.find(resource, &id).cloned() else {
            continue;
        };
        let (description, effect) = plan(store, &record);
        answers.push(
            Task::new(&description, resource, &id)
                .on_success(effect)
                .answer(store, record),
        );
    }
    Ok(Value::Array(answers))
}

/// Each record of `resource` that `where` selects takes `fields` when its task ends
/// (`suspend-snapshot-plan`: `status`; `resolve-alert`: `ended`).
pub(crate) fn set_on_selected(
    store: &mut Store,
    body: &Value,
    resource: &'static str,
    fields: Value,
) -> Result<Value, ApiError> {
    task_per_selected(store, &body["where"], resource, resource, |_, record| {
        let (changed, fields) = (text(record, "id").to_owned(), fields.clone());
        let effect: Effect = Box::new(move |s: &mut Store| {
            s.update(resource, &changed, |r| crate::json::set(r, fields))
        });
        (format!("Update {resource}"), effect)
    })
}

/// The VM disks `where` selects, by VM: what the CD-ROM and disk operations act on.
fn disks_by_vm(store: &Store, filter: &Value) -> Result<Vec<(String, Vec<Value>)>, ApiError> {
    let ids = generic::selected_ids(store, "VmDisk", filter)?;
    if ids.is_empty() {
        return Err(ApiError::nothing_selected("no VM disk matches `where`"));
    }
    let mut by_vm: Vec<(String, Vec<Value>)> = Vec::new();
    for id in ids {
        let Some(disk) = store.records.find("VmDisk", &id).cloned() else {
            continue;
        };
        let vm = text(&disk["vm"], "id").to_owned();
        match by_vm.iter_mut().find(|(v, _)| *v == vm) {
            Some((_, disks)) => disks.push(disk),
            None => by_vm.push((vm, vec![disk])),
        }
    }
    Ok(by_vm)
}

/// A task per VM that applies `change` to each of its selected disks when it ends.
fn disk_answers(
    store: &mut Store,
    by_vm: Vec<(String, Vec<Value>)>,
    description: &str,
    change: impl Fn(&mut Store, &Value) + Clone + Send + 'static,
) -> Value {
    let mut answers = Vec::new();
    for (vm_id, disks) in by_vm {
        let Some(vm) = store.records.find("Vm", &vm_id).cloned() else {
            continue;
        };
        let change = change.clone();
        answers.push(
            Task::new(description, "Vm", &vm_id)
                .on_success(move |s: &mut Store| {
                    for disk in &disks {
                        change(s, disk);
                    }
                })
                .answer(store, vm),
        );
    }
    Value::Array(answers)
}

/// `eject-iso-from-vm-cd-rom`: the selected CD-ROMs hold no image.
pub(crate) fn eject_iso(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let by_vm = disks_by_vm(store, &body["where"])?;
    Ok(disk_answers(
        store,
        by_vm,
        "Eject ISO from CD-ROM",
        |s, disk| {
            s.update("VmDisk", text(disk, "id"), |d| {
                set_field(d, "elf_image", Value::Null);
                set_field(d, "svt_image", Value::Null);
            })
        },
    ))
}

/// `toggle-vm-cd-rom-disable`: the selected CD-ROMs are disabled or enabled.
pub(crate) fn toggle_cd_rom(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let disabled = body["disabled"]
        .as_bool()
        .ok_or_else(|| ApiError::bad_request("`disabled` must be a boolean"))?;
    let by_vm = disks_by_vm(store, &body["where"])?;
    Ok(disk_answers(
        store,
        by_vm,
        "Toggle CD-ROM",
        move |s, disk| {
            s.update("VmDisk", text(disk, "id"), |d| {
                set_field(d, "disabled", disabled)
            })
        },
    ))
}

/// `expand-vm-disk`: the volume behind each selected disk grows to `size` (`size_unit`); a
/// tower refuses to shrink one, and so does the mock, before anything changes.
pub(crate) fn expand_vm_disk(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let size = body["size"]
        .as_i64()
        .or_else(|| {
            body["size"]
                .as_f64()
                .filter(|f| f.fract() == 0.0)
                .map(|f| f as i64)
        })
        .ok_or_else(|| ApiError::bad_request("`size` must be an integer"))?;
    let size = crate::json::scale(size, body["size_unit"].as_str());
    let by_vm = disks_by_vm(store, &body["where"])?;
    for (_, disks) in &by_vm {
        for disk in disks {
            let volume = disk["vm_volume"]["id"]
                .as_str()
                .and_then(|id| store.records.find("VmVolume", id))
                .ok_or_else(|| ApiError::invalid_state("a CD-ROM has no volume to expand"))?;
            let current = volume["size"].as_f64().unwrap_or(0.0);
            if (size as f64) < current {
                return Err(ApiError::invalid_state(format!(
                    "volume {} holds {current} bytes: a disk only grows",
                    text(volume, "name")
                )));
            }
        }
    }
    Ok(disk_answers(
        store,
        by_vm,
        "Expand VM disk",
        move |s, disk| {
            let volume = text(&disk["vm_volume"], "id").to_owned();
            s.update("VmVolume", &volume, |v| set_field(v, "size", size));
            let vm = text(&disk["vm"], "id").to_owned();
            s.refresh_vm_size(&vm);
        },
    ))
}

/// `rollback-vm-volume`: each volume goes back to the size its snapshot froze.
pub(crate) fn rollback_vm_volume(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let mut planned = Vec::new();
    for p in params(body) {
        let snapshot = find(
            store,
            "VmVolumeSnapshot",
            text(p, "volume_snapshot_id"),
            "volume snapshot",
        )?;
        let volume = find(
            store,
            "VmVolume",
            text(&snapshot["vm_volume"], "id"),
            "volume of the snapshot",
        )?;
        planned.push((volume, snapshot));
    }
    let mut answers = Vec::new();
    for (volume, snapshot) in planned {
        let id = text(&volume, "id").to_owned();
        let restored = id.clone();
        let description = format!("Roll back volume {}", text(&volume, "name"));
        answers.push(
            Task::new(&description, "VmVolume", &id)
                .on_success(move |s: &mut Store| {
                    s.update("VmVolume", &restored, |v| {
                        if !snapshot["size"].is_null() {
                            set_field(v, "size", snapshot["size"].clone());
                        }
                    })
                })
                .answer(store, volume),
        );
    }
    Ok(Value::Array(answers))
}

/// `create-vm-volume-snapshot`: a snapshot of each volume `volume_id` names (the table maps
/// no field to it), freezing the volume's size, cluster and storage policy.
pub(crate) fn create_vm_volume_snapshot(
    store: &mut Store,
    body: &Value,
) -> Result<Value, ApiError> {
    let mut planned = Vec::new();
    for p in params(body) {
        let volume = find(store, "VmVolume", text(p, "volume_id"), "volume")?;
        let held = nested(
            store,
            "VmVolumeSnapshot",
            "vm_volume",
            "VmVolume",
            text(&volume, "id"),
        )?;
        let mut frozen = json!({ "vm_volume": held, "volume_size": volume["size"] });
        for key in [
            "cluster",
            "size",
            "elf_storage_policy",
            "elf_storage_policy_replica_num",
            "elf_storage_policy_thin_provision",
            "resident_in_cache",
            "volume_sharing",
        ] {
            if !volume[key].is_null() {
                frozen[key] = volume[key].clone();
            }
        }
        planned.push((p.clone(), frozen));
    }
    let mut answers = Vec::new();
    for (params, frozen) in planned {
        let answer = create_with_defaults(
            store,
            &json!([params]),
            "create-vm-volume-snapshot",
            &frozen,
        )?;
        answers.extend(answer.as_array().cloned().unwrap_or_default());
    }
    Ok(Value::Array(answers))
}

/// `set-vm-disk-resident-in-cache`: the volume behind each selected disk is (or is no
/// longer) kept resident in the cache tier.
pub(crate) fn set_disk_resident_in_cache(
    store: &mut Store,
    body: &Value,
) -> Result<Value, ApiError> {
    let resident = body["resident_in_cache"]
        .as_bool()
        .ok_or_else(|| ApiError::bad_request("`resident_in_cache` must be a boolean"))?;
    let by_vm = disks_by_vm(store, &body["where"])?;
    Ok(disk_answers(
        store,
        by_vm,
        "Set disk resident in cache",
        move |s, disk| {
            if let Some(volume) = disk["vm_volume"]["id"].as_str() {
                s.update("VmVolume", volume, |v| {
                    set_field(v, "resident_in_cache", resident)
                });
            }
        },
    ))
}

/// `execute-snapshot-plan`: when its task ends, each selected plan snapshots its VMs (a VM
/// snapshot each, LUN snapshots behind their volumes) as one snapshot group, and records the
/// run (`last_execute_status`, `last_execute_end_time`).
pub(crate) fn execute_snapshot_plan(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let task_name = opt_text(&body["data"], "task_name");
    task_per_selected(
        store,
        &body["where"],
        "SnapshotPlan",
        "snapshot plan",
        |_, plan| {
            let description = task_name
                .clone()
                .unwrap_or_else(|| format!("Execute snapshot plan {}", text(plan, "name")));
            let run = plan.clone();
            let effect: Effect = Box::new(move |s: &mut Store| s.run_snapshot_plan(&run));
            (description, effect)
        },
    )
}

/// `generate-from-report-template`: a report per template `where` selects, named after the
/// template and when it was asked for, `EXECUTING` while its task runs and `SUCCESSED` (or
/// `FAILED`) when it ends; the template lists and counts it (`tasks`, `task_num`).
pub(crate) fn generate_report(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let templates =
        generic::selected_some(store, "ReportTemplate", &body["where"], "report template")?;
    let mut answers = Vec::new();
    for id in templates {
        let Some(template) = store.records.find("ReportTemplate", &id).cloned() else {
            continue;
        };
        let link = generic::nested(store, "ReportTask", "template", "ReportTemplate", &id)?;
        let now = now_rfc3339();
        let stamp: String = now.chars().filter(char::is_ascii_digit).take(14).collect();
        let record = generic::new_record_with(
            store,
            "ReportTask",
            json!({
                "name": format!("{}_{stamp}", text(&template, "name")),
                "template": link,
                "status": "EXECUTING",
                "internal": false,
                "plan_id": null,
                "createdAt": now,
            }),
        );
        let report = store.create("ReportTask", record);
        let answer = store
            .records
            .find("ReportTask", &report)
            .cloned()
            .unwrap_or_default();
        let (done, failed) = (report.clone(), report.clone());
        answers.push(
            Task::new("Generate report", "ReportTask", &report)
                .on_success(move |s: &mut Store| {
                    s.update("ReportTask", &done, |r| set_field(r, "status", "SUCCESSED"))
                })
                .on_failure(move |s: &mut Store| {
                    s.update("ReportTask", &failed, |r| set_field(r, "status", "FAILED"))
                })
                .answer(store, answer),
        );
    }
    Ok(Value::Array(answers))
}

impl Store {
    fn run_snapshot_plan(&mut self, plan: &Value) {
        let plan_id = text(plan, "id").to_owned();
        let name = format!("{}-{}", text(plan, "name"), self.serial());
        let mut snapshots = Vec::new();
        let mut vm_info = Vec::new();
        for vm in items(plan, "vms") {
            let vm_id = text(vm, "id");
            // A VM deleted since it joined the plan is skipped, as a tower skips it.
            if let Ok(snapshot) = self.create_snapshot(vm_id, &name, "CRASH_CONSISTENT") {
                snapshots.push(id_name(&snapshot));
                vm_info.push(json!({"vm_id": vm_id, "vm_name": text(vm, "name")}));
            }
        }
        let mut group = self.new_record("SnapshotGroup");
        let local_id = self.uuid();
        merge(
            &mut group,
            json!({
                "name": name,
                "local_id": local_id,
                "cluster": plan["cluster"],
                "local_created_at": now_rfc3339(),
                "object_num": snapshots.len(),
                "vm_snapshots": snapshots,
            }),
        );
        if let Some(fields) = group.as_object_mut() {
            // The nested VM info is filled as its schema says (every required field).
            let info: Vec<Value> = vm_info
                .into_iter()
                .map(|i| self.fill("NestedSnapshotGroupVmInfo", i))
                .collect();
            fields.insert("vm_info".into(), Value::Array(info));
        }
        let group_id = text(&group, "id").to_owned();
        // The run itself, which the group and the plan's history name.
        let mut run = self.new_record("SnapshotPlanTask");
        let run_local_id = self.uuid();
        merge(
            &mut run,
            json!({
                "local_id": run_local_id,
                "cluster": plan["cluster"],
                "snapshotPlan": id_name(plan),
                "snapshotGroup": id_name(&group),
                "start_time": now_rfc3339(),
                "end_time": now_rfc3339(),
                "status": "SUCCEED",
                "type": "TASK_TYPE_PROTECT",
            }),
        );
        group["snapshotPlanTask"] = json!({ "id": run["id"] });
        let run_id = text(&run, "id").to_owned();
        self.insert_linked("SnapshotPlanTask", run);
        self.record("SnapshotPlanTask", "CREATE", &run_id, None);
        self.insert_linked("SnapshotGroup", group);
        self.record("SnapshotGroup", "CREATE", &group_id, None);
        self.update("SnapshotPlan", &plan_id, |p| {
            set_field(p, "last_execute_status", "SUCCEED");
            set_field(p, "last_execute_end_time", now_rfc3339());
        });
    }
}

/// `enter-maintance-mode` / `exit-maintance-mode` (the spec's spelling): the host named by
/// `where.host_id` is in (or out of) maintenance mode when the task ends.
pub(crate) fn maintenance_mode(
    store: &mut Store,
    body: &Value,
    enter: bool,
) -> Result<Value, ApiError> {
    let host = find(store, "Host", text(&body["where"], "host_id"), "host")?;
    let id = text(&host, "id").to_owned();
    let changed = id.clone();
    let state = if enter {
        json!({"state": "MAINTENANCE_MODE", "enter_maintenance_time": now_rfc3339(),
               "maintenance_job_id": store.uuid()})
    } else {
        json!({"state": "IN_USE", "enter_maintenance_time": null, "maintenance_job_id": null})
    };
    let description = if enter {
        "Enter maintenance mode"
    } else {
        "Exit maintenance mode"
    };
    Ok(Task::new(description, "Host", &id)
        .on_success(move |s: &mut Store| {
            s.update("Host", &changed, |h| {
                let nested = h.entry("host_state").or_insert_with(|| json!({}));
                if !nested.is_object() {
                    *nested = json!({});
                }
                merge(nested, state);
            })
        })
        .answer(store, host))
}

/// `install-vmtools`: VMTools run in the selected VMs when the task ends.
pub(crate) fn install_vmtools(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let ids = vms_or_error(store, &body["where"])?;
    let change: VmChange = Box::new(|vm| set_field(vm, "vm_tools_status", "RUNNING"));
    Ok(Value::Array(vm::vm_answers(
        store,
        &ids,
        "Install VMTools",
        Some(change),
    )))
}

/// `rollback-snapshot-group`: each VM of the group goes back to its snapshot in it (as
/// `rollback-vm` does), when the group's task ends.
pub(crate) fn rollback_snapshot_group(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    task_per_selected(
        store,
        &body["where"],
        "SnapshotGroup",
        "snapshot group",
        |store, group| {
            let snapshots: Vec<Value> = items(group, "vm_snapshots")
                .iter()
                .filter_map(|s| store.records.find("VmSnapshot", text(s, "id")).cloned())
                .collect();
            let effect: Effect = Box::new(move |s: &mut Store| {
                for snapshot in &snapshots {
                    let vm = text(&snapshot["vm"], "id").to_owned();
                    s.roll_back_vm(&vm, snapshot);
                }
            });
            let description = format!("Roll back snapshot group {}", text(group, "name"));
            (description, effect)
        },
    )
}

/// `migrate-vm-across-cluster`: the VMs move to `data.cluster_id` (on `data.host_id`, else
/// the cluster's first host), renamed to `vm_config.new_name` if given, when the task ends.
pub(crate) fn migrate_vm_across_cluster(
    store: &mut Store,
    body: &Value,
) -> Result<Value, ApiError> {
    let ids = vms_or_error(store, &body["where"])?;
    let cluster = nested(
        store,
        "Vm",
        "cluster",
        "Cluster",
        text(&body["data"], "cluster_id"),
    )?;
    let host_id = match opt_text(&body["data"], "host_id") {
        Some(host) => host,
        None => store
            .records
            .of("Host")
            .iter()
            .find(|h| h["cluster"]["id"] == cluster["id"])
            .and_then(|h| opt_text(h, "id"))
            .ok_or_else(|| ApiError::invalid_state("the target cluster has no host"))?,
    };
    let host = nested(store, "Vm", "host", "Host", &host_id)?;
    let new_name = opt_text(&body["data"]["vm_config"], "new_name");
    let change: VmChange = Box::new(move |vm| {
        set_field(vm, "cluster", cluster.clone());
        set_field(vm, "host", host.clone());
        if let Some(name) = &new_name {
            set_field(vm, "name", name.clone());
        }
    });
    Ok(Value::Array(vm::vm_answers(
        store,
        &ids,
        "Migrate VM across clusters",
        Some(change),
    )))
}

/// `create-vm-from-content-library-template-batch`: a VM per `vms` element, from the one
/// template, as `create-vm-from-content-library-template` creates each; answered as one task
/// holding them all (the spec's `task<[Vm]>`).
pub(crate) fn create_vms_from_template_batch(
    store: &mut Store,
    body: &Value,
) -> Result<Value, ApiError> {
    let each: Vec<Value> = items(body, "vms")
        .iter()
        .map(|vm| {
            let mut params = vm.clone();
            params["template_id"] = body["template_id"].clone();
            params
        })
        .collect();
    if each.is_empty() {
        // Nothing to create: a task that ends with none, as an empty batch gives.
        let task_id = store.task(
            "create-vm-from-content-library-template-batch",
            AsyncStatus::Creating,
            "",
            "",
            None,
            None,
        );
        return Ok(json!({ "task_id": task_id, "data": [] }));
    }
    let answers = vm::create_vm_from_template(store, &Value::Array(each))?;
    let answers = answers.as_array().cloned().unwrap_or_default();
    let task_id = answers
        .first()
        .map_or(Value::Null, |a| a["task_id"].clone());
    let vms: Vec<Value> = answers.iter().map(|a| a["data"].clone()).collect();
    Ok(json!({ "task_id": task_id, "data": vms }))
}

/// `rebuild-vm-volume`: a new volume from each volume snapshot, of its size and policy.
pub(crate) fn rebuild_vm_volume(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let mut answers = Vec::new();
    let mut planned = Vec::new();
    for p in params(body) {
        let snapshot = find(
            store,
            "VmVolumeSnapshot",
            text(p, "volume_snapshot_id"),
            "volume snapshot",
        )?;
        let mut frozen = json!({});
        for key in ["cluster", "size", "elf_storage_policy", "resident_in_cache"] {
            if !snapshot[key].is_null() {
                frozen[key] = snapshot[key].clone();
            }
        }
        let named = json!({"name": p["name"], "description": p["description"]});
        planned.push((named, frozen));
    }
    for (named, frozen) in planned {
        let answer = generic::create(store, "VmVolume", &[], &json!([named]), &frozen)?;
        answers.extend(answer.as_array().cloned().unwrap_or_default());
    }
    Ok(Value::Array(answers))
}
