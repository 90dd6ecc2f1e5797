//! The VM slice's behaviour over the store's JSON records: VMs with their volumes, disks,
//! CD-ROMs and NICs, snapshots backed by iSCSI LUN snapshots, image uploads, and the sample
//! inventory. The handlers in `server.rs` that override the generic path call these.

use std::collections::HashSet;
use std::time::Instant;

use serde_json::{json, Map, Value};

use crate::generic::{fill, new_record};
use crate::state::{now_rfc3339, ApiError, Store, UploadMeta};

const GIB: i64 = 1 << 30;

/// `{id, name}` of a record: the nested form most relations hold.
pub(crate) fn id_name(record: &Value) -> Value {
    json!({"id": record["id"], "name": record["name"]})
}

/// The string at `key` (`""` when absent or not a string).
pub(crate) fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or_default()
}

/// The string at `key`, when there is one.
pub(crate) fn opt_text(value: &Value, key: &str) -> Option<String> {
    value[key].as_str().map(str::to_owned)
}

/// The elements of the array at `key` (none when absent or null).
pub(crate) fn items<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value[key].as_array().map_or(&[], Vec::as_slice)
}

/// Sets the fields of `record` (a JSON object) from `fields` (another).
pub(crate) fn merge(record: &mut Value, fields: Value) {
    if let Some(record) = record.as_object_mut() {
        set(record, fields);
    }
}

/// Sets the fields of `object` (a JSON object) from `fields` (another).
pub(crate) fn set(record: &mut Map<String, Value>, fields: Value) {
    if let Value::Object(fields) = fields {
        record.extend(fields);
    }
}

/// Bytes from a size and its `ByteUnit` (bytes without one).
pub(crate) fn scale(value: i64, unit: Option<&str>) -> i64 {
    let shift = match unit {
        Some("KB") => 10,
        Some("MB") => 20,
        Some("GB") => 30,
        Some("TB") => 40,
        Some("PB") => 50,
        _ => 0,
    };
    value.saturating_mul(1 << shift)
}

/// `cores × sockets`, or a 400 for counts below 1 or a product beyond `i32` (client input).
pub(crate) fn vcpu_count(cores: i64, sockets: i64) -> Result<i64, ApiError> {
    if cores < 1 || sockets < 1 {
        return Err(ApiError::bad_request(format!(
            "cpu_cores ({cores}) and cpu_sockets ({sockets}) must be at least 1"
        )));
    }
    cores
        .checked_mul(sockets)
        .filter(|n| i32::try_from(*n).is_ok())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "cpu_cores × cpu_sockets ({cores} × {sockets}) is too large"
            ))
        })
}

fn int(value: &Value, key: &str) -> Option<i64> {
    value[key].as_i64()
}

impl Store {
    fn cluster(&self, id: &str) -> Result<Value, ApiError> {
        self.records
            .of("Cluster")
            .iter()
            .find(|c| c["id"] == id || c["local_id"] == id)
            .map(id_name)
            .ok_or_else(|| ApiError::no_such(format!("cluster {id} does not exist")))
    }

    /// The nested form a VM holds of its host.
    pub(crate) fn nested_host(host: &Value) -> Value {
        json!({"id": host["id"], "name": host["name"], "management_ip": host["management_ip"]})
    }

    /// The records of `resource` that belong to VM `vm_id` (their `vm.id`).
    pub fn of_vm(&self, resource: &str, vm_id: &str) -> Vec<Value> {
        self.records
            .of(resource)
            .iter()
            .filter(|r| r["vm"]["id"] == vm_id)
            .cloned()
            .collect()
    }

    /// Checks what a VM's disks, CD-ROMs and NICs refer to, before anything is created.
    fn check_devices(
        &self,
        existing: &[Value],
        cd_roms: &[Value],
        nics: &[Value],
    ) -> Result<(), ApiError> {
        for disk in existing {
            let id = text(disk, "vm_volume_id");
            if self.records.find("VmVolume", id).is_none() {
                return Err(ApiError::no_such(format!("VM volume {id} does not exist")));
            }
        }
        for cd in cd_roms {
            if let Some(id) = cd["elf_image_id"].as_str() {
                if self.records.find("ElfImage", id).is_none() {
                    return Err(ApiError::no_such(format!("ELF image {id} does not exist")));
                }
            }
        }
        for nic in nics {
            if let Some(id) = nic["connect_vlan_id"].as_str() {
                let known = self
                    .records
                    .of("Vlan")
                    .iter()
                    .any(|v| v["id"] == id || v["local_id"] == id);
                if !known {
                    return Err(ApiError::no_such(format!("VLAN {id} does not exist")));
                }
            }
        }
        Ok(())
    }

    /// Checks `VmCreationParams` (its name, what it refers to, its vCPU count) without
    /// creating anything.
    pub fn check_vm_params(&self, p: &Value) -> Result<(), ApiError> {
        if text(p, "name").is_empty() {
            return Err(ApiError::bad_request("name must not be empty"));
        }
        self.cluster(text(p, "cluster_id"))?;
        if let Some(id) = p["host_id"].as_str().filter(|id| *id != "AUTO_SCHEDULE") {
            if self.records.find("Host", id).is_none() {
                return Err(ApiError::no_such(format!("host {id} does not exist")));
            }
        }
        if int(p, "vcpu").is_none() {
            vcpu_count(
                int(p, "cpu_cores").unwrap_or(1),
                int(p, "cpu_sockets").unwrap_or(1),
            )?;
        }
        let disks = &p["vm_disks"];
        self.check_devices(
            items(disks, "mount_disks"),
            items(disks, "mount_cd_roms"),
            items(p, "vm_nics"),
        )
    }

    /// Creates a VM from `VmCreationParams` with its volumes, disks, CD-ROMs and NICs
    /// (status STOPPED; the caller's task effect sets the requested status). Every reference
    /// is checked first: a bad one creates nothing.
    pub fn create_vm(&mut self, p: &Value) -> Result<Value, ApiError> {
        self.check_vm_params(p)?;
        let name = text(p, "name");
        let cluster = self.cluster(text(p, "cluster_id"))?;
        let host = match p["host_id"].as_str() {
            Some(id) if id != "AUTO_SCHEDULE" => {
                self.records.find("Host", id).map(Store::nested_host)
            }
            _ => self
                .records
                .of("Host")
                .iter()
                .find(|h| h["cluster"]["id"] == cluster["id"])
                .map(Store::nested_host),
        };
        let (cores, sockets) = (
            int(p, "cpu_cores").unwrap_or(1),
            int(p, "cpu_sockets").unwrap_or(1),
        );
        let vcpu = match int(p, "vcpu") {
            Some(vcpu) => vcpu,
            None => vcpu_count(cores, sockets)?,
        };
        let disks = &p["vm_disks"];
        let (new, existing, cd_roms) = (
            items(disks, "mount_new_create_disks"),
            items(disks, "mount_disks"),
            items(disks, "mount_cd_roms"),
        );
        // What the table maps (a folder, I/O limits, …), then what the VM slice decides.
        let mut generic_params = p.clone();
        if p["host_id"] == "AUTO_SCHEDULE" {
            generic_params["host_id"] = Value::Null;
        }
        let mapped = crate::generic::mapped(self, "create-vm", &generic_params)?;
        let mut vm = new_record(self, "Vm");
        let id = text(&vm, "id").to_owned();
        let local_id = self.uuid();
        if let Some(fields) = vm.as_object_mut() {
            fields.extend(mapped);
            set(
                fields,
                json!({
                    "local_id": local_id,
                    "name": name,
                    "description": text(p, "description"),
                    "cluster": cluster,
                    "host": host,
                    "cpu": {"cores": cores, "sockets": sockets},
                    "vcpu": vcpu,
                    "memory": scale(int(p, "memory").unwrap_or(0), p["memory_unit"].as_str()),
                    "ha": p["ha"].as_bool().unwrap_or(false),
                    "firmware": p["firmware"].as_str().unwrap_or("BIOS"),
                    "status": "STOPPED",
                    "vm_tools_status": "NOT_INSTALLED",
                    "guest_os_type": p["guest_os_type"],
                    "cpu_model": "cluster_default",
                    "clock_offset": "UTC",
                    "in_recycle_bin": false,
                    "local_created_at": now_rfc3339(),
                    "vm_disks": [],
                    "vm_nics": [],
                    "snapshots": [],
                }),
            );
        }
        self.records.insert("Vm", vm);
        self.add_disks(&id, new, existing)?;
        self.add_cd_roms(&id, cd_roms)?;
        self.add_nics(&id, items(p, "vm_nics"))?;
        self.record("Vm", "CREATE", &id, None);
        Ok(self.records.find("Vm", &id).cloned().unwrap_or(Value::Null))
    }

    fn vm_nested(&self, vm_id: &str) -> Value {
        self.records
            .find("Vm", vm_id)
            .map_or_else(|| json!({"id": vm_id, "name": ""}), id_name)
    }

    fn next_disk_index(&self, vm_id: &str) -> i64 {
        self.of_vm("VmDisk", vm_id).len() as i64
    }

    /// Adds `{id}` to the list `field` of VM `vm_id`.
    fn push_to_vm(&mut self, vm_id: &str, field: &str, id: &str) {
        if let Some(vm) = self.records.fields_mut("Vm", vm_id) {
            let list = vm.entry(field).or_insert_with(|| json!([]));
            if let Value::Array(list) = list {
                list.push(json!({ "id": id }));
            } else {
                *list = json!([{ "id": id }]);
            }
        }
    }

    /// Disks on new volumes (`MountNewCreateDisksParams`) and on existing ones
    /// (`MountDisksParams`).
    pub fn add_disks(
        &mut self,
        vm_id: &str,
        new: &[Value],
        existing: &[Value],
    ) -> Result<(), ApiError> {
        self.check_devices(existing, &[], &[])?;
        let cluster = self
            .records
            .find("Vm", vm_id)
            .map(|vm| vm["cluster"].clone())
            .unwrap_or(Value::Null);
        let mut attach: Vec<(String, Value, Value)> = Vec::new();
        for disk in new {
            let spec = &disk["vm_volume"];
            let mut volume = new_record(self, "VmVolume");
            let volume_id = text(&volume, "id").to_owned();
            let local_id = self.uuid();
            let lun_id = self.id();
            merge(
                &mut volume,
                json!({
                    "local_id": local_id,
                    "name": text(spec, "name"),
                    "size": scale(int(spec, "size").unwrap_or(0), spec["size_unit"].as_str()),
                    "path": format!(
                        "iscsi://iqn.2016-02.com.smartx:system:zbs-iscsi-datastore/{local_id}"
                    ),
                    "cluster": cluster,
                    "elf_storage_policy": spec["elf_storage_policy"],
                    "local_created_at": now_rfc3339(),
                    "mounting": true,
                    "type": "KVM_VOLUME_ISCSI",
                    "lun": {"id": lun_id, "name": format!("zbs-lun-{local_id}")},
                    "vm_disks": [],
                }),
            );
            self.records.insert("VmVolume", volume);
            attach.push((volume_id, disk["bus"].clone(), disk["boot"].clone()));
        }
        for disk in existing {
            let volume_id = text(disk, "vm_volume_id").to_owned();
            attach.push((volume_id, disk["bus"].clone(), disk["boot"].clone()));
        }
        for (volume_id, bus, boot) in attach {
            let index = self.next_disk_index(vm_id);
            let vm = self.vm_nested(vm_id);
            let mut disk = new_record(self, "VmDisk");
            let disk_id = text(&disk, "id").to_owned();
            let Some(volume) = self.records.fields_mut("VmVolume", &volume_id) else {
                continue;
            };
            volume.insert("mounting".into(), true.into());
            match volume.get_mut("vm_disks") {
                Some(Value::Array(disks)) => disks.push(json!({ "id": disk_id })),
                _ => {
                    volume.insert("vm_disks".into(), json!([{ "id": disk_id }]));
                }
            }
            let nested_volume = json!({"id": volume["id"], "name": volume["name"]});
            merge(
                &mut disk,
                json!({
                    "boot": boot,
                    "bus": bus,
                    "type": "DISK",
                    "vm": vm,
                    "vm_volume": nested_volume,
                    "device": format!("vd{}", (b'a' + (index % 26) as u8) as char),
                    "key": index,
                }),
            );
            self.records.insert("VmDisk", disk);
            self.push_to_vm(vm_id, "vm_disks", &disk_id);
        }
        self.refresh_vm_size(vm_id);
        Ok(())
    }

    /// CD-ROMs (`VmCdRomParams`), with their ISO image when they name one.
    pub fn add_cd_roms(&mut self, vm_id: &str, cd_roms: &[Value]) -> Result<(), ApiError> {
        self.check_devices(&[], cd_roms, &[])?;
        for cd in cd_roms {
            let image = cd["elf_image_id"]
                .as_str()
                .and_then(|id| self.records.find("ElfImage", id))
                .map_or(Value::Null, id_name);
            let vm = self.vm_nested(vm_id);
            let index = self.next_disk_index(vm_id);
            let mut disk = new_record(self, "VmDisk");
            let disk_id = text(&disk, "id").to_owned();
            merge(
                &mut disk,
                json!({
                    "boot": cd["boot"],
                    "bus": "IDE",
                    "type": "CD_ROM",
                    "elf_image": image,
                    "vm": vm,
                    "key": index,
                }),
            );
            self.records.insert("VmDisk", disk);
            self.push_to_vm(vm_id, "vm_disks", &disk_id);
        }
        Ok(())
    }

    /// NICs (`VmNicParams`), on the VLAN they name.
    pub fn add_nics(&mut self, vm_id: &str, nics: &[Value]) -> Result<(), ApiError> {
        self.check_devices(&[], &[], nics)?;
        for nic in nics {
            let vlan = nic["connect_vlan_id"]
                .as_str()
                .and_then(|id| {
                    self.records
                        .of("Vlan")
                        .iter()
                        .find(|v| v["id"] == id || v["local_id"] == id)
                })
                .map_or(Value::Null, id_name);
            let order = self.of_vm("VmNic", vm_id).len() as i64;
            let vm = self.vm_nested(vm_id);
            let mut record = new_record(self, "VmNic");
            let nic_id = text(&record, "id").to_owned();
            let local_id = self.uuid();
            let mac = opt_text(nic, "mac_address").unwrap_or_else(|| {
                format!("52:54:00:00:{:02x}:{:02x}", order, self.serial() % 256)
            });
            merge(
                &mut record,
                json!({
                    "local_id": local_id,
                    "vm": vm,
                    "vlan": vlan,
                    "order": order,
                    "mac_address": mac,
                    "model": nic["model"].as_str().unwrap_or("VIRTIO"),
                    "enabled": nic["enabled"].as_bool().unwrap_or(true),
                    "ip_address": nic["ip_address"],
                    "gateway": nic["gateway"],
                    "subnet_mask": nic["subnet_mask"],
                }),
            );
            self.records.insert("VmNic", record);
            self.push_to_vm(vm_id, "vm_nics", &nic_id);
        }
        Ok(())
    }

    /// Removes `{id}`s in `gone` from the list `field` of record `resource`/`id`.
    fn drop_from_list(&mut self, resource: &str, id: &str, field: &str, gone: &HashSet<String>) {
        if let Some(Value::Array(list)) = self
            .records
            .fields_mut(resource, id)
            .and_then(|r| r.get_mut(field))
        {
            list.retain(|item| !item["id"].as_str().is_some_and(|i| gone.contains(i)));
        }
    }

    pub fn remove_disks(&mut self, vm_id: &str, disk_ids: &[String]) {
        for disk_id in disk_ids {
            let belongs = self
                .records
                .find("VmDisk", disk_id)
                .is_some_and(|d| d["vm"]["id"] == vm_id);
            if !belongs {
                continue;
            }
            let Some(disk) = self.records.remove("VmDisk", disk_id) else {
                continue;
            };
            let gone = HashSet::from([disk_id.clone()]);
            if let Some(volume_id) = disk["vm_volume"]["id"].as_str() {
                self.drop_from_list("VmVolume", volume_id, "vm_disks", &gone);
                if let Some(volume) = self.records.fields_mut("VmVolume", volume_id) {
                    let mounted = volume["vm_disks"].as_array().is_some_and(|d| !d.is_empty());
                    volume.insert("mounting".into(), mounted.into());
                }
            }
            self.drop_from_list("Vm", vm_id, "vm_disks", &gone);
        }
        self.refresh_vm_size(vm_id);
    }

    /// Removes the NICs of VM `vm_id` at `orders`; the others are renumbered.
    pub fn remove_nics(&mut self, vm_id: &str, orders: &[i64]) {
        let nics = self.of_vm("VmNic", vm_id);
        let gone: HashSet<String> = nics
            .iter()
            .filter(|n| orders.contains(&n["order"].as_i64().unwrap_or(-1)))
            .filter_map(|n| opt_text(n, "id"))
            .collect();
        self.records.retain("VmNic", |n| {
            !n["id"].as_str().is_some_and(|i| gone.contains(i))
        });
        let left: Vec<String> = self
            .of_vm("VmNic", vm_id)
            .iter()
            .filter_map(|n| opt_text(n, "id"))
            .collect();
        for (order, id) in left.iter().enumerate() {
            if let Some(nic) = self.records.fields_mut("VmNic", id) {
                nic.insert("order".into(), order.into());
            }
        }
        self.drop_from_list("Vm", vm_id, "vm_nics", &gone);
    }

    fn refresh_vm_size(&mut self, vm_id: &str) {
        let size = self
            .of_vm("VmDisk", vm_id)
            .iter()
            .filter_map(|d| d["vm_volume"]["id"].as_str())
            .filter_map(|id| self.records.find("VmVolume", id))
            .filter_map(|v| v["size"].as_i64())
            .fold(0i64, i64::saturating_add);
        if let Some(vm) = self.records.fields_mut("Vm", vm_id) {
            vm.insert("size".into(), size.into());
            vm.insert("provisioned_size".into(), size.into());
        }
    }

    /// Removes a VM with its disks, NICs and the volumes only it used.
    pub fn delete_vm(&mut self, vm_id: &str, include_snapshots: bool) {
        let Some(old) = self.records.find("Vm", vm_id).cloned() else {
            return;
        };
        let disks = self.of_vm("VmDisk", vm_id);
        let disk_ids: Vec<String> = disks.iter().filter_map(|d| opt_text(d, "id")).collect();
        let volumes: HashSet<String> = disks
            .iter()
            .filter_map(|d| d["vm_volume"]["id"].as_str().map(str::to_owned))
            .collect();
        self.remove_disks(vm_id, &disk_ids);
        self.records.retain("VmVolume", |v| {
            !v["id"].as_str().is_some_and(|id| volumes.contains(id)) || v["mounting"] == true
        });
        self.records.retain("VmNic", |n| n["vm"]["id"] != vm_id);
        if include_snapshots {
            let snapshots: Vec<String> = self
                .of_vm("VmSnapshot", vm_id)
                .iter()
                .filter_map(|s| opt_text(s, "id"))
                .collect();
            for id in snapshots {
                self.delete_snapshot(&id);
            }
        }
        self.records.remove("Vm", vm_id);
        self.record("Vm", "DELETE", vm_id, Some(old));
    }

    /// Snapshots a VM: frozen disks, and one iSCSI LUN snapshot per disk (named after the
    /// disk's `snapshot_local_id`).
    pub fn create_snapshot(
        &mut self,
        vm_id: &str,
        name: &str,
        consistent_type: &str,
    ) -> Result<Value, ApiError> {
        let vm = self
            .records
            .find("Vm", vm_id)
            .cloned()
            .ok_or_else(|| ApiError::no_such(format!("VM {vm_id} does not exist")))?;
        if consistent_type == "FILE_SYSTEM_CONSISTENT" && vm["vm_tools_status"] != "RUNNING" {
            return Err(ApiError::invalid_state(format!(
                "a file-system-consistent snapshot needs VMTools running in VM {}",
                text(&vm, "name")
            )));
        }
        let target = self
            .records
            .of("IscsiTarget")
            .first()
            .map(id_name)
            .unwrap_or_else(|| json!({"id": "zbs-iscsi-datastore", "name": "zbs-iscsi-datastore"}));
        let mut frozen = Vec::new();
        for (index, disk) in self.of_vm("VmDisk", vm_id).iter().enumerate() {
            let volume = disk["vm_volume"]["id"]
                .as_str()
                .and_then(|id| self.records.find("VmVolume", id))
                .cloned();
            let snapshot_local_id = volume.as_ref().map(|_| self.uuid());
            if let (Some(volume), Some(snap_name)) = (&volume, &snapshot_local_id) {
                let mut lun_snapshot = new_record(self, "IscsiLunSnapshot");
                let local_id = self.uuid();
                merge(
                    &mut lun_snapshot,
                    json!({
                        "local_id": local_id,
                        "name": snap_name,
                        "iscsi_lun": volume["lun"],
                        "iscsi_target": target,
                        "local_created_at": now_rfc3339(),
                        "unique_size": 0,
                    }),
                );
                self.records.insert("IscsiLunSnapshot", lun_snapshot);
            }
            let volume = volume.unwrap_or(Value::Null);
            frozen.push(fill(
                self,
                "NestedFrozenDisks",
                json!({
                    "boot": disk["boot"],
                    "bus": disk["bus"],
                    "index": index,
                    "key": disk["key"],
                    "path": text(&volume, "path"),
                    "size": volume["size"].as_i64().unwrap_or(0),
                    "disk_name": volume["name"],
                    "type": disk["type"],
                    "vm_volume_local_id": text(&volume, "local_id"),
                    "snapshot_local_id": snapshot_local_id,
                    "image_name": disk["elf_image"]["name"],
                }),
            ));
        }
        let mut snapshot = new_record(self, "VmSnapshot");
        let id = text(&snapshot, "id").to_owned();
        let local_id = self.uuid();
        merge(
            &mut snapshot,
            json!({
                "local_id": local_id,
                "name": name,
                "consistent_type": consistent_type,
                "vm": id_name(&vm),
                "cluster": vm["cluster"],
                "cpu": vm["cpu"],
                "vcpu": vm["vcpu"],
                "memory": vm["memory"],
                "size": vm["size"].as_i64().unwrap_or(0),
                "firmware": vm["firmware"],
                "clock_offset": vm["clock_offset"],
                "cpu_model": vm["cpu_model"],
                "ha": vm["ha"],
                "local_created_at": now_rfc3339(),
                "vm_disks": frozen,
                "vm_nics": [],
            }),
        );
        self.records.insert("VmSnapshot", snapshot);
        if let Some(Value::Array(list)) = self
            .records
            .fields_mut("Vm", vm_id)
            .and_then(|v| v.get_mut("snapshots"))
        {
            list.push(json!({"id": id, "name": name}));
        }
        self.record("VmSnapshot", "CREATE", &id, None);
        Ok(self
            .records
            .find("VmSnapshot", &id)
            .cloned()
            .unwrap_or(Value::Null))
    }

    pub fn delete_snapshot(&mut self, id: &str) {
        let Some(snapshot) = self.records.remove("VmSnapshot", id) else {
            return;
        };
        let names: HashSet<String> = items(&snapshot, "vm_disks")
            .iter()
            .filter_map(|d| opt_text(d, "snapshot_local_id"))
            .collect();
        self.records.retain("IscsiLunSnapshot", |l| {
            !l["name"].as_str().is_some_and(|n| names.contains(n))
        });
        let gone = HashSet::from([id.to_owned()]);
        if let Some(vm_id) = snapshot["vm"]["id"].as_str() {
            self.drop_from_list("Vm", vm_id, "snapshots", &gone);
        }
        self.record("VmSnapshot", "DELETE", id, Some(snapshot));
    }

    // -----------------------------------------------------------------------------------------
    // Uploads

    /// Takes one chunk of an ELF image upload; returns the upload task.
    pub fn upload_chunk(
        &mut self,
        upload_task_id: Option<&str>,
        chunk_len: i64,
        name: Option<String>,
        size: Option<i64>,
        cluster_id: Option<String>,
        description: Option<String>,
    ) -> Result<Value, ApiError> {
        let id = match upload_task_id {
            Some(id) => {
                if !self.upload_meta.contains_key(id) {
                    return Err(ApiError::not_found(format!(
                        "upload task {id} does not exist"
                    )));
                }
                id.to_owned()
            }
            None => {
                let size = size.ok_or_else(|| {
                    ApiError::bad_request("the first chunk must give the total `size`")
                })?;
                if size < 1 {
                    return Err(ApiError::bad_request(format!(
                        "`size` must be at least 1 byte, not {size}"
                    )));
                }
                let name = name.ok_or_else(|| {
                    ApiError::bad_request("the first chunk must give the image `name`")
                })?;
                if let Some(c) = &cluster_id {
                    self.cluster(c)?;
                }
                let mut task = new_record(self, "UploadTask");
                let id = text(&task, "id").to_owned();
                merge(
                    &mut task,
                    json!({
                        "chunk_size": chunk_len,
                        "size": size,
                        "current_chunk": 0,
                        "status": "INITIALIZING",
                        "resource_type": "ELF_IMAGE",
                        "started_at": now_rfc3339(),
                        "updatedAt": now_rfc3339(),
                        "args": {"name": name, "cluster_id": cluster_id, "size": size},
                    }),
                );
                self.records.insert("UploadTask", task);
                self.upload_meta.insert(
                    id.clone(),
                    UploadMeta {
                        received: 0,
                        chunks: 0,
                        finished_at: None,
                        name,
                        cluster_id,
                        description: description.unwrap_or_default(),
                    },
                );
                id
            }
        };
        let (Some(task), Some(meta)) = (
            self.records.fields_mut("UploadTask", &id),
            self.upload_meta.get_mut(&id),
        ) else {
            return Err(ApiError::not_found(format!(
                "upload task {id} does not exist"
            )));
        };
        if meta.finished_at.is_some() || task["status"] == "SUCCESSED" {
            return Err(ApiError::invalid_state(format!(
                "upload task {id} already has all its bytes"
            )));
        }
        let total = task["size"].as_i64().unwrap_or(0);
        let chunk_size = task["chunk_size"].as_i64().unwrap_or(0);
        let remaining = total.saturating_sub(meta.received);
        let expected = chunk_size.min(remaining);
        if chunk_len != expected {
            return Err(ApiError::bad_request(format!(
                "chunk {} of upload task {id} has {chunk_len} bytes, expected {expected} \
                 (chunk size {chunk_size}, {remaining} bytes remaining)",
                meta.chunks
            )));
        }
        meta.received = meta.received.saturating_add(chunk_len);
        meta.chunks += 1;
        task.insert("current_chunk".into(), meta.chunks.into());
        task.insert("updatedAt".into(), now_rfc3339().into());
        task.insert("status".into(), "UPLOADING".into());
        if meta.received == total {
            meta.finished_at = Some(Instant::now());
        }
        advance_uploads(self, Instant::now());
        Ok(self
            .records
            .find("UploadTask", &id)
            .cloned()
            .unwrap_or(Value::Null))
    }

    // -----------------------------------------------------------------------------------------
    // Seed data

    /// The sample inventory: a cluster with three hosts, a VDS with a VM network, an ISO
    /// image, a cloud-init template and four VMs.
    pub fn seed_vm_slice(&mut self) {
        let mut cluster = new_record(self, "Cluster");
        let cluster_local = self.uuid();
        merge(
            &mut cluster,
            json!({
                "name": "cluster-1",
                "ip": "192.0.2.10",
                "local_id": cluster_local,
                "version": "6.1.0",
                "type": "SMTX_OS",
                "hypervisor": "ELF",
                "architecture": "X86_64",
                "connect_state": "CONNECTED",
                "management_vip": "192.0.2.10",
            }),
        );
        let nested_cluster = id_name(&cluster);
        let cluster_id = text(&cluster, "id").to_owned();
        self.records.insert("Cluster", cluster);
        for n in 1..=3 {
            let mut host = new_record(self, "Host");
            let local_id = self.uuid();
            merge(
                &mut host,
                json!({
                    "local_id": local_id,
                    "name": format!("node-{n}"),
                    "management_ip": format!("192.0.2.{}", 10 + n),
                    "cluster": nested_cluster,
                    "status": "CONNECTED_HEALTHY",
                    "state": "IN_USE",
                    "total_cpu_cores": 32,
                    "total_memory_bytes": 256 * GIB,
                    "cpu_model": "Intel Xeon",
                }),
            );
            self.records.insert("Host", host);
        }
        let mut vds = new_record(self, "Vds");
        merge(
            &mut vds,
            json!({"name": "vds-1", "cluster": nested_cluster}),
        );
        let nested_vds = id_name(&vds);
        self.records.insert("Vds", vds);
        let mut vlan = new_record(self, "Vlan");
        let vlan_local = self.uuid();
        let vlan_id = text(&vlan, "id").to_owned();
        merge(
            &mut vlan,
            json!({
                "local_id": vlan_local,
                "name": "default",
                "type": "VM",
                "vds": nested_vds,
                "vlan_id": 0,
            }),
        );
        self.records.insert("Vlan", vlan);
        let mut image = new_record(self, "ElfImage");
        let image_local = self.uuid();
        merge(
            &mut image,
            json!({
                "local_id": image_local,
                "name": "ubuntu-22.04.iso",
                "path": format!("/usr/share/smartx/images/{image_local}"),
                "size": 2 * GIB,
                "cluster": nested_cluster,
                "local_created_at": now_rfc3339(),
            }),
        );
        self.records.insert("ElfImage", image);
        let template_disk = fill(
            self,
            "NestedContentLibraryVmTemplateDisk",
            json!({"boot": 0, "bus": "VIRTIO", "index": 0, "size": 40 * GIB, "type": "DISK"}),
        );
        let mut template = new_record(self, "ContentLibraryVmTemplate");
        merge(
            &mut template,
            json!({
                "name": "ubuntu-cloud-template",
                "description": "Ubuntu 22.04 cloud image with cloud-init",
                "cloud_init_supported": true,
                "clusters": [nested_cluster],
                "memory": 4 * GIB,
                "vcpu": 2,
                "cpu": {"cores": 2, "sockets": 1},
                "size": 40 * GIB,
                "createdAt": now_rfc3339(),
                "architecture": "X86_64",
                "vm_disks": [template_disk],
            }),
        );
        self.records.insert("ContentLibraryVmTemplate", template);
        let vms = [
            ("backup-demo", "RUNNING", "RUNNING", 2),
            ("web-1", "RUNNING", "NOT_RUNNING", 1),
            ("web-2", "STOPPED", "NOT_RUNNING", 1),
            ("db-1", "RUNNING", "RUNNING", 3),
        ];
        for (name, status, tools, disks) in vms {
            let new_disks: Vec<Value> = (0..disks)
                .map(|i| {
                    json!({
                        "boot": i,
                        "bus": "VIRTIO",
                        "vm_volume": {
                            "name": format!("{name}-disk-{i}"),
                            "size": 20 * GIB,
                            "elf_storage_policy": "REPLICA_2_THIN_PROVISION",
                        },
                    })
                })
                .collect();
            let params = json!({
                "cluster_id": cluster_id,
                "name": name,
                "cpu_cores": 2,
                "cpu_sockets": 1,
                "memory": 4 * GIB,
                "firmware": "BIOS",
                "status": status,
                "vm_disks": {
                    "mount_new_create_disks": new_disks,
                    "mount_cd_roms": [{"boot": disks}],
                },
                "vm_nics": [{"connect_vlan_id": vlan_id}],
            });
            if let Ok(vm) = self.create_vm(&params) {
                if let Some(fields) = self.records.fields_mut("Vm", text(&vm, "id")) {
                    set(fields, json!({"status": status, "vm_tools_status": tools}));
                }
            }
        }
    }
}

/// An upload whose bytes all arrived becomes an ELF image after the task duration.
pub(crate) fn advance_uploads(store: &mut Store, now: Instant) {
    let ready: Vec<String> = store
        .upload_meta
        .iter()
        .filter(|(_, m)| {
            m.finished_at
                .is_some_and(|at| now - at >= store.task_duration)
        })
        .map(|(id, _)| id.clone())
        .collect();
    for id in ready {
        // Kept (its clock stopped): a later chunk for it is refused as one too many.
        let Some(meta) = store.upload_meta.get_mut(&id) else {
            continue;
        };
        meta.finished_at = None;
        let meta = UploadMeta {
            name: meta.name.clone(),
            cluster_id: meta.cluster_id.clone(),
            description: meta.description.clone(),
            ..*meta
        };
        let cluster = meta
            .cluster_id
            .as_deref()
            .and_then(|c| store.cluster(c).ok());
        let mut image = new_record(store, "ElfImage");
        let image_id = text(&image, "id").to_owned();
        let local_id = store.uuid();
        merge(
            &mut image,
            json!({
                "local_id": local_id,
                "name": meta.name,
                "description": meta.description,
                "size": meta.received,
                "path": format!("/usr/share/smartx/images/{local_id}"),
                "cluster": cluster,
                "local_created_at": now_rfc3339(),
            }),
        );
        store.records.insert("ElfImage", image);
        if let Some(task) = store.records.fields_mut("UploadTask", &id) {
            task.insert("status".into(), "SUCCESSED".into());
            task.insert("finished_at".into(), now_rfc3339().into());
            task.insert("updatedAt".into(), now_rfc3339().into());
            if let Some(args) = task.get_mut("args").and_then(Value::as_object_mut) {
                args.insert("elf_image_id".into(), json!(image_id));
            }
        }
        store.record("ElfImage", "CREATE", &image_id, None);
    }
}
