//! Reactors for the tower's own records and for reads a tower derives from its inventory:
//! the license, the signed-in user, a cluster's storage capacity and meta leader, a witness's
//! services, which GPUs a VM holds (and which VMs a GPU serves), and the VM a backup restore
//! point holds.

use serde_json::{json, Map, Value};

use super::generic::{self, Task};
use super::vm::GIB;
use super::Caller;
use crate::json::{base64_decode, is_rfc3339, items, merge, now_rfc3339, opt_text, text};
use crate::state::{ApiError, Store};
use crate::table::{field_type, has_field, schema};

/// How long the seeded trial license runs.
const TRIAL_DAYS: i64 = 60;

/// The tower's own records in the sample inventory: its (trial) license and the record of the
/// built-in user ([`crate::MOCK_USERNAME`]).
pub(crate) fn seed(store: &mut Store) {
    let license = trial_license(store);
    store.insert_linked("License", license);
    let user = user_record(store, crate::MOCK_USERNAME, "LOCAL", "ROOT");
    store.insert_linked("User", user);
}

/// A trial license signed now.
fn trial_license(store: &mut Store) -> Value {
    let serial = store.uuid();
    generic::new_record_with(
        store,
        "License",
        json!({
            "license_serial": format!("TRIAL-{}", &serial[serial.len() - 12..]),
            "type": "TRIAL",
            "software_edition": "TRIAL",
            "sign_date": now_rfc3339(),
            "expire_date": crate::json::days_from_now_rfc3339(TRIAL_DAYS),
            "max_cluster_num": 8,
            "max_chunk_num": 64,
        }),
    )
}

/// The record of user `username` signing in from `source`, with `role`.
fn user_record(store: &mut Store, username: &str, source: &str, role: &str) -> Value {
    generic::new_record_with(
        store,
        "User",
        json!({
            "username": username,
            "name": username,
            "display_username": username,
            "source": source,
            "role": role,
            "internal": false,
            "password_expired": false,
            "password_updated_at": now_rfc3339(),
        }),
    )
}

/// The id of the record of user `username` from `source`; made (an administrator) when the
/// store has none, as a tower makes one for a user's first sign-in from a directory.
pub(crate) fn ensure_user(store: &mut Store, username: &str, source: &str) -> String {
    let held = store
        .records
        .of("User")
        .iter()
        .find(|u| u["username"] == username && u["source"] == source)
        .and_then(|u| opt_text(u, "id"));
    if let Some(id) = held {
        return id;
    }
    let record = user_record(store, username, source, "ADMIN");
    store.create("User", record)
}

/// `get-my-info`: the record of the user the call's session was opened for.
pub(crate) fn my_info(store: &mut Store, caller: &Caller) -> Result<Value, ApiError> {
    let id = ensure_user(store, &caller.username, &caller.source);
    store
        .records
        .find("User", &id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no user `{}`", caller.username)))
}

/// `update-license`: the tower's license becomes the one the code describes, when the task
/// ends. A tower checks the code's signature, which the mock cannot: it reads a code that is
/// a JSON object of `License` fields (or base64 of one) as those fields, checked against the
/// table (dates RFC 3339); any other code as a license it cannot look into, signed now, its
/// serial derived from the code. An empty code, or an object naming what no license has, is
/// refused.
pub(crate) fn update_license(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let code = text(&body["data"], "license").trim();
    if code.is_empty() {
        return Err(ApiError::bad_request("the license code is empty"));
    }
    let described = license_fields(code)?;
    let held = store
        .records
        .of("License")
        .first()
        .and_then(|l| opt_text(l, "id"));
    let id = match held {
        Some(id) => id,
        None => {
            let record = trial_license(store);
            store.create("License", record)
        }
    };
    let mut answer = store
        .records
        .find("License", &id)
        .cloned()
        .unwrap_or_default();
    merge(&mut answer, Value::Object(described.clone()));
    let changed = id.clone();
    Ok(Task::new("Update license", "License", &id)
        .on_success(move |s: &mut Store| s.update("License", &changed, |l| l.extend(described)))
        .answer(store, answer))
}

/// The `License` fields a license code describes (see [`update_license`]).
fn license_fields(code: &str) -> Result<Map<String, Value>, ApiError> {
    let object = serde_json::from_str::<Value>(code)
        .ok()
        .or_else(|| base64_decode(code).and_then(|t| serde_json::from_str(&t).ok()))
        .and_then(|v| match v {
            Value::Object(fields) => Some(fields),
            _ => None,
        });
    let Some(fields) = object else {
        let mut opaque = Map::new();
        opaque.insert("license_serial".into(), serial_of(code).into());
        opaque.insert("sign_date".into(), now_rfc3339().into());
        return Ok(opaque);
    };
    for (name, value) in &fields {
        let ty = field_type("License", name)
            .filter(|_| name != "id")
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "invalid license: it names `{name}`, which a license does not have"
                ))
            })?;
        if value.is_null() && name.starts_with("maintenance_") {
            continue;
        }
        if let Err(why) = schema().check(value, ty) {
            return Err(ApiError::bad_request(format!(
                "invalid license: `{name}`: {why}"
            )));
        }
        if name.ends_with("_date") && !value.as_str().is_some_and(is_rfc3339) {
            return Err(ApiError::bad_request(format!(
                "invalid license: `{name}` is {value}, not an RFC 3339 date"
            )));
        }
    }
    Ok(fields)
}

/// A license serial derived from an opaque code: the same code, the same serial.
fn serial_of(code: &str) -> String {
    format!("MOCK-{:016X}", digest(code))
}

/// FNV-1a of `text`: what the mock derives stable identities from (serials, node UUIDs).
fn digest(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `get-discover-hosts`: the nodes found at the addresses `host_address` names that no host
/// of the tower is (by management IP or UUID), each an undeployed node ready to join the
/// cluster (its version; a system SSD and a data HDD; one interface at that address), its
/// UUID and serial derived from the address (what `create-host` takes). None without
/// addresses: no node announces itself on the mock's network. A cluster the tower does not
/// hold is refused.
pub(crate) fn discover_hosts(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let ids = generic::selected_some(store, "Cluster", &body["cluster"], "cluster")?;
    let version = store
        .records
        .find("Cluster", &ids[0])
        .and_then(|c| opt_text(c, "version"))
        .unwrap_or_default();
    let mut found: Vec<Value> = Vec::new();
    for address in crate::json::strings(&body["host_address"]) {
        let hash = digest(&address);
        let uuid = format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            hash >> 32,
            (hash >> 16) & 0xffff,
            hash & 0xfff,
            (hash >> 12) & 0xfff,
            hash & 0xffff_ffff_ffff
        );
        let joined = store
            .records
            .of("Host")
            .iter()
            .any(|h| h["management_ip"] == address.as_str() || h["local_id"] == uuid.as_str());
        if joined || found.iter().any(|f| f["host_ip"] == address.as_str()) {
            continue;
        }
        let mac: Vec<String> = (0..3)
            .map(|i| format!("{:02x}", (hash >> (8 * i)) & 0xff))
            .collect();
        found.push(json!({
            "host_ip": address,
            "host_uuid": uuid,
            "hostname": format!("node-{}", address.replace(['.', ':'], "-")),
            "serial": format!("MOCKSN{:010X}", hash & 0xff_ffff_ffff),
            "version": version,
            "product": "SMTX OS",
            "sockets": 2,
            "all_flash": false,
            "deployed": false,
            "is_os_in_raid1": false,
            "disks": [
                {"drive": "sda", "model": "MOCK SSD 480G", "serial": format!("S{hash:X}"),
                 "size": 480 * GIB, "type": "SSD", "function": "SMTX_SYSTEM"},
                {"drive": "sdb", "model": "MOCK HDD 4T", "serial": format!("H{hash:X}"),
                 "size": 4096 * GIB, "type": "HDD", "function": "DATA"},
            ],
            "ifaces": [
                {"name": "eth0", "mac_address": format!("52:54:00:{}", mac.join(":")),
                 "mtu": 1500, "up": true, "ipv4": address, "speed": 10_000.0},
            ],
        }));
    }
    Ok(Value::Array(found))
}

/// The integer at `field` of `record`, else the sum of it over `parts` (a cluster's figure
/// from its hosts').
fn figure(record: &Value, parts: &[Value], field: &str) -> i64 {
    record[field]
        .as_i64()
        .unwrap_or_else(|| parts.iter().filter_map(|p| p[field].as_i64()).sum())
}

/// The hosts of cluster `id`.
fn hosts_of(store: &Store, cluster: &str) -> Vec<Value> {
    store
        .records
        .of("Host")
        .iter()
        .filter(|h| h["cluster"]["id"] == cluster)
        .cloned()
        .collect()
}

/// `get-cluster-storage-info`: for each cluster `where` selects, its data capacity, used,
/// failed and free space (the cluster's figures, else the sums of its hosts'), and what can
/// still be allocated with each redundancy `effect` asks about (free space over the replica
/// count; over `(k + m) / k` for erasure coding).
pub(crate) fn cluster_storage_info(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let ids = generic::selected_ids(store, "Cluster", &body["where"])?;
    let mut answers = Vec::new();
    for id in ids {
        let Some(cluster) = store.records.find("Cluster", &id).cloned() else {
            continue;
        };
        let hosts = hosts_of(store, &id);
        let total = figure(&cluster, &hosts, "total_data_capacity");
        let used = figure(&cluster, &hosts, "used_data_space");
        let failure = figure(&cluster, &hosts, "failure_data_space");
        let free = (total - used - failure).max(0);
        let replica: Vec<Value> = items(&body["effect"], "replica")
            .iter()
            .filter_map(Value::as_i64)
            .filter(|n| *n > 0)
            .map(|n| json!({"replica_num": n, "capacity": free as f64 / n as f64}))
            .collect();
        let ec: Vec<Value> = items(&body["effect"], "ec")
            .iter()
            .filter_map(|c| Some((c["k"].as_i64()?, c["m"].as_i64()?)))
            .filter(|(k, m)| *k > 0 && *m >= 0)
            .map(|(k, m)| json!({"k": k, "m": m, "capacity": free as f64 * k as f64 / (k + m) as f64}))
            .collect();
        answers.push(store.fill(
            "ClusterStorageInfo",
            json!({
                "id": id,
                "name": cluster["name"],
                "type": cluster["type"],
                "stretch": cluster["stretch"] == true,
                "total_data_capacity": total,
                "used_data_space": used,
                "failure_data_space": failure,
                "free_data_space": free,
                "allocable_storage_capacity": {"replica": replica, "ec": ec},
                "storage_cluster": [],
            }),
        ));
    }
    Ok(Value::Array(answers))
}

/// `get-meta-leader`: for each cluster `where` selects that has hosts, the address of the
/// host leading its metadata service (its first connected host's data IP, else management
/// IP).
pub(crate) fn meta_leader(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let ids = generic::selected_ids(store, "Cluster", &body["where"])?;
    let mut answers = Vec::new();
    for id in ids {
        let hosts = hosts_of(store, &id);
        let leader = hosts
            .iter()
            .find(|h| {
                h["status"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("CONNECTED"))
            })
            .or_else(|| hosts.first())
            .and_then(|h| opt_text(h, "data_ip").or_else(|| opt_text(h, "management_ip")));
        if let Some(address) = leader {
            answers.push(json!({"cluster_id": id, "meta_leader": address}));
        }
    }
    Ok(Value::Array(answers))
}

/// The services a witness node runs, with the role each plays in its cluster.
const WITNESS_SERVICES: &[(&str, &str)] = &[("zookeeper", "follower"), ("zbs-metad", "witness")];

/// `get-witness-services`: the services of the witness `where` names (by `id` or
/// `local_id`), running since the witness joined its cluster; none for a witness the tower
/// does not hold.
pub(crate) fn witness_services(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let wanted = &body["where"];
    let witness = store.records.of("Witness").iter().find(|w| {
        ["id", "local_id"]
            .iter()
            .any(|key| wanted[*key].is_string() && wanted[*key] == w[*key])
    });
    let Some(witness) = witness else {
        return Ok(json!([]));
    };
    let local_id = opt_text(witness, "local_id").unwrap_or_else(|| text(witness, "id").into());
    Ok(Value::Array(
        WITNESS_SERVICES
            .iter()
            .map(|(name, role)| {
                json!({
                    "id": format!("{local_id}-{name}"),
                    "name": name,
                    "role": role,
                    "state": "running",
                    "state_duration": 0.0,
                })
            })
            .collect(),
    ))
}

/// A value of type `name` holding the fields of `record` that it has and whose values are
/// valid for it; its other required fields at their smallest values.
fn project(store: &mut Store, name: &str, record: &Value, extra: Value) -> Value {
    let mut kept = Map::new();
    for field in schema().fields(name).unwrap_or_default() {
        let Some(value) = record.get(&field.name).filter(|v| !v.is_null()) else {
            continue;
        };
        if schema().check(value, &field.ty).is_ok() {
            kept.insert(field.name.clone(), value.clone());
        }
    }
    let mut value = Value::Object(kept);
    merge(&mut value, extra);
    store.fill(name, value)
}

/// The records of `resource` whose ids the relation `field` of `record` holds.
fn related(store: &Store, record: &Value, field: &str, resource: &str) -> Vec<Value> {
    crate::json::relation_ids(&record[field])
        .iter()
        .filter_map(|id| store.records.find(resource, id).cloned())
        .collect()
}

/// `get-vm-gpu-device-info`: for each VM the query selects (as `get-vms` reads it), the GPU
/// devices passed through to it.
pub(crate) fn vm_gpu_device_info(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let vms = generic::answer(store, "get-vms", body)?;
    let mut answers = Vec::new();
    for vm in vms.as_array().into_iter().flatten() {
        let devices = gpus_of(store, vm);
        let details: Vec<Value> = devices
            .iter()
            .map(|d| {
                project(
                    store,
                    "VmGpuDetail",
                    d,
                    json!({"vgpu_instance_on_vm_num": 1}),
                )
            })
            .collect();
        answers.push(json!({
            "id": vm["id"], "name": vm["name"], "local_id": vm["local_id"],
            "gpu_devices": details,
        }));
    }
    Ok(Value::Array(answers))
}

/// The GPU devices of `vm`: those its `gpu_devices` names, and those whose `vms` name it.
fn gpus_of(store: &Store, vm: &Value) -> Vec<Value> {
    let mut devices = related(store, vm, "gpu_devices", "GpuDevice");
    for device in store.records.of("GpuDevice") {
        let serves = crate::json::relation_ids(&device["vms"])
            .iter()
            .any(|id| vm["id"] == id.as_str());
        if serves && !devices.iter().any(|d| d["id"] == device["id"]) {
            devices.push(device.clone());
        }
    }
    devices
}

/// `get-detail-vm-info-by-gpu-devices`: each GPU device the query selects (as
/// `get-gpu-devices` reads it), with the VMs it is passed through to in detail.
pub(crate) fn gpu_device_vm_info(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let devices = generic::answer(store, "get-gpu-devices", body)?;
    let mut answers = Vec::new();
    for device in devices.as_array().into_iter().flatten() {
        let vms: Vec<Value> = store
            .records
            .of("Vm")
            .iter()
            .filter(|vm| gpus_of(store, vm).iter().any(|d| d["id"] == device["id"]))
            .cloned()
            .collect();
        let mut details = Vec::new();
        for vm in &vms {
            let node_ip = opt_text(&vm["host"], "id")
                .and_then(|id| store.records.find("Host", &id))
                .and_then(|h| opt_text(h, "management_ip"))
                .unwrap_or_default();
            let ips = vm["ips"].as_str().unwrap_or_default().to_owned();
            details.push(project(
                store,
                "GpuVmDetail",
                vm,
                json!({"node_ip": node_ip, "ips": ips, "vgpu_instance_on_vm_num": 1}),
            ));
        }
        answers.push(project(
            store,
            "GpuVmInfo",
            device,
            json!({ "vms": details }),
        ));
    }
    Ok(Value::Array(answers))
}

/// `get-backup-restore-point-metadata`: the VM the restore point `where` names holds, as it
/// is now (its CPU, memory, disks and NICs, its cluster and host), named as the point names
/// it.
pub(crate) fn backup_restore_point_metadata(
    store: &mut Store,
    body: &Value,
) -> Result<Value, ApiError> {
    let ids = generic::selected_some(
        store,
        "BackupRestorePoint",
        &body["where"],
        "backup restore point",
    )?;
    let point = store
        .records
        .find("BackupRestorePoint", &ids[0])
        .cloned()
        .unwrap_or_default();
    let vm = opt_text(&point["vm"], "id")
        .and_then(|id| store.records.find("Vm", &id))
        .cloned()
        .unwrap_or_else(|| json!({"name": point["vm_name"], "local_id": point["vm_local_id"]}));
    let cluster = opt_text(&vm["cluster"], "id")
        .and_then(|id| store.records.find("Cluster", &id))
        .cloned()
        .unwrap_or(Value::Null);
    let host = opt_text(&vm["host"], "id")
        .and_then(|id| store.records.find("Host", &id))
        .cloned()
        .unwrap_or(Value::Null);
    let disks: Vec<Value> = related(store, &vm, "vm_disks", "VmDisk")
        .iter()
        .map(|d| project(store, "VmDiskMetaData", d, json!({})))
        .collect();
    let nics: Vec<Value> = related(store, &vm, "vm_nics", "VmNic")
        .iter()
        .map(|n| project(store, "VmNicMetaData", n, json!({})))
        .collect();
    let mut extra = json!({
        "cpu_cores": vm["cpu"]["cores"],
        "cpu_sockets": vm["cpu"]["sockets"],
        "vm_disks": disks,
        "vm_nics": nics,
        "cluster_local_id": cluster["local_id"],
        "cluster_type": cluster["type"],
        "cluster_version": cluster["version"],
        "cluster_architecture": cluster["architecture"],
        "host_local_id": host["local_id"],
    });
    if let Some(fields) = extra.as_object_mut() {
        fields.retain(|name, value| !value.is_null() && has_field("VmMetaData", name));
    }
    Ok(project(store, "VmMetaData", &vm, extra))
}
