//! The VM slice: VMs with their volumes, disks, CD-ROMs and NICs, power states, the recycle
//! bin, migration, snapshots backed by iSCSI LUN snapshots, rebuilds and rollbacks, VNC, and
//! the sample inventory.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::generic::{self, Task};
use crate::json::{id_name, items, merge, now_rfc3339, opt_text, scale, set, strings, text};
use crate::state::{ApiError, Store};
use crate::tasks::{AsyncStatus, Effect};

pub(crate) const GIB: i64 = 1 << 30;
/// The data capacity of each seeded host (4 TiB), and what is used of it.
const HOST_DATA_CAPACITY: i64 = 4096 * GIB;
const HOST_USED_DATA_SPACE: i64 = 160 * GIB;

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
    pub(crate) fn cluster(&self, id: &str) -> Result<Value, ApiError> {
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
        let mapped = generic::mapped(self, "create-vm", &generic_params)?;
        let mut vm = self.new_record("Vm");
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
        self.insert_linked("Vm", vm);
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
                // `insert_linked` may have listed it already (the relation kept both ways).
                if !list.iter().any(|item| item["id"] == id) {
                    list.push(json!({ "id": id }));
                }
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
            let mut volume = self.new_record("VmVolume");
            let volume_id = text(&volume, "id").to_owned();
            let local_id = self.uuid();
            let size = scale(int(spec, "size").unwrap_or(0), spec["size_unit"].as_str());
            let lun = self.volume_lun(&local_id, size);
            merge(
                &mut volume,
                json!({
                    "local_id": local_id,
                    "name": text(spec, "name"),
                    "size": size,
                    "path": format!(
                        "iscsi://iqn.2016-02.com.smartx:system:zbs-iscsi-datastore/{local_id}"
                    ),
                    "cluster": cluster,
                    "elf_storage_policy": spec["elf_storage_policy"],
                    "local_created_at": now_rfc3339(),
                    "mounting": true,
                    "type": "KVM_VOLUME_ISCSI",
                    "lun": lun,
                    "vm_disks": [],
                }),
            );
            self.insert_linked("VmVolume", volume);
            attach.push((volume_id, disk["bus"].clone(), disk["boot"].clone()));
        }
        for disk in existing {
            let volume_id = text(disk, "vm_volume_id").to_owned();
            attach.push((volume_id, disk["bus"].clone(), disk["boot"].clone()));
        }
        for (volume_id, bus, boot) in attach {
            let index = self.next_disk_index(vm_id);
            let vm = self.vm_nested(vm_id);
            let mut disk = self.new_record("VmDisk");
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
            self.insert_linked("VmDisk", disk);
            self.push_to_vm(vm_id, "vm_disks", &disk_id);
        }
        self.refresh_vm_size(vm_id);
        Ok(())
    }

    /// The iSCSI LUN behind a new volume (`zbs-lun-<volume local id>`, on the first iSCSI
    /// target), its nested form; `null` on a tower without a target.
    fn volume_lun(&mut self, volume_local_id: &str, size: i64) -> Value {
        let Some(target) = self.records.of("IscsiTarget").first().map(id_name) else {
            return Value::Null;
        };
        let mut lun = self.new_record("IscsiLun");
        let local_id = self.uuid();
        let number = self.records.of("IscsiLun").len() + 1;
        merge(
            &mut lun,
            json!({
                "name": format!("zbs-lun-{volume_local_id}"),
                "local_id": local_id,
                "zbs_volume_id": volume_local_id,
                "lun_id": number,
                "assigned_size": size,
                "iscsi_target": target,
                "replica_num": 2,
                "thin_provision": true,
                "local_created_at": now_rfc3339(),
            }),
        );
        let nested = id_name(&lun);
        self.create("IscsiLun", lun);
        nested
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
            let mut disk = self.new_record("VmDisk");
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
            self.insert_linked("VmDisk", disk);
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
            let mut record = self.new_record("VmNic");
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
            self.insert_linked("VmNic", record);
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
            let Some(disk) = self.remove_linked("VmDisk", disk_id) else {
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
        for id in &gone {
            self.remove_linked("VmNic", id);
        }
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

    pub(crate) fn refresh_vm_size(&mut self, vm_id: &str) {
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
        for volume in &volumes {
            let unused = self
                .records
                .find("VmVolume", volume)
                .is_some_and(|v| v["mounting"] != true);
            if unused {
                self.remove_linked("VmVolume", volume);
            }
        }
        let nics: Vec<String> = self
            .of_vm("VmNic", vm_id)
            .iter()
            .filter_map(|n| opt_text(n, "id"))
            .collect();
        for nic in nics {
            self.remove_linked("VmNic", &nic);
        }
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
        self.remove_linked("Vm", vm_id);
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
                let mut lun_snapshot = self.new_record("IscsiLunSnapshot");
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
                self.insert_linked("IscsiLunSnapshot", lun_snapshot);
            }
            let volume = volume.unwrap_or(Value::Null);
            let mut fields = frozen_disk(disk, &volume, index);
            fields["snapshot_local_id"] = json!(snapshot_local_id);
            frozen.push(self.fill("NestedFrozenDisks", fields));
        }
        let mut snapshot = self.new_record("VmSnapshot");
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
        self.insert_linked("VmSnapshot", snapshot);
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
        let Some(snapshot) = self.remove_linked("VmSnapshot", id) else {
            return;
        };
        let names: HashSet<String> = items(&snapshot, "vm_disks")
            .iter()
            .filter_map(|d| opt_text(d, "snapshot_local_id"))
            .collect();
        let lun_snapshots: Vec<String> = self
            .records
            .of("IscsiLunSnapshot")
            .iter()
            .filter(|l| l["name"].as_str().is_some_and(|n| names.contains(n)))
            .filter_map(|l| opt_text(l, "id"))
            .collect();
        for lun_snapshot in lun_snapshots {
            self.remove_linked("IscsiLunSnapshot", &lun_snapshot);
        }
        let gone = HashSet::from([id.to_owned()]);
        if let Some(vm_id) = snapshot["vm"]["id"].as_str() {
            self.drop_from_list("Vm", vm_id, "snapshots", &gone);
        }
        self.record("VmSnapshot", "DELETE", id, Some(snapshot));
    }

    // -----------------------------------------------------------------------------------------
    // Seed data

    /// The sample inventory: a cluster with three hosts, a VDS with a VM network, an ISO
    /// image, a cloud-init template and four VMs.
    pub fn seed_vm_slice(&mut self) {
        let mut cluster = self.new_record("Cluster");
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
                "stretch": false,
                "total_data_capacity": 3 * HOST_DATA_CAPACITY,
                "used_data_space": 3 * HOST_USED_DATA_SPACE,
                "failure_data_space": 0,
                "valid_data_space": 3 * HOST_DATA_CAPACITY,
            }),
        );
        let nested_cluster = id_name(&cluster);
        let cluster_id = text(&cluster, "id").to_owned();
        self.records.insert("Cluster", cluster);
        for n in 1..=3 {
            let mut host = self.new_record("Host");
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
                    "total_data_capacity": HOST_DATA_CAPACITY,
                    "used_data_space": HOST_USED_DATA_SPACE,
                    "failure_data_space": 0,
                    "cpu_model": "Intel Xeon",
                }),
            );
            self.records.insert("Host", host);
        }
        let mut vds = self.new_record("Vds");
        merge(
            &mut vds,
            json!({"name": "vds-1", "cluster": nested_cluster}),
        );
        let nested_vds = id_name(&vds);
        self.records.insert("Vds", vds);
        let mut vlan = self.new_record("Vlan");
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
        let mut target = self.new_record("IscsiTarget");
        let target_local = self.uuid();
        merge(
            &mut target,
            json!({
                "name": "zbs-iscsi-datastore",
                "local_id": target_local,
                "cluster": nested_cluster,
                "iqn_name": "iqn.2016-02.com.smartx:system:zbs-iscsi-datastore",
                "internal": true,
                "replica_num": 2,
                "thin_provision": true,
                "stripe_num": 8,
                "stripe_size": 262_144,
            }),
        );
        self.records.insert("IscsiTarget", target);
        let mut settings = self.new_record("GlobalSettings");
        merge(
            &mut settings,
            json!({"vm_recycle_bin": {"enabled": true, "retain": 7}}),
        );
        self.records.insert("GlobalSettings", settings);
        let mut image = self.new_record("ElfImage");
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
        let template_disk = self.fill(
            "NestedContentLibraryVmTemplateDisk",
            json!({"boot": 0, "bus": "VIRTIO", "index": 0, "size": 40 * GIB, "type": "DISK"}),
        );
        let mut template = self.new_record("ContentLibraryVmTemplate");
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

// ---------------------------------------------------------------------------------------------
// The VM operations

pub(crate) fn vms_or_error(store: &Store, filter: &Value) -> Result<Vec<String>, ApiError> {
    let ids = generic::selected_ids(store, "Vm", filter)?;
    if ids.is_empty() {
        return Err(ApiError::nothing_selected(
            "no VM matches the `where` filter",
        ));
    }
    Ok(ids)
}

pub(crate) type VmChange = Box<dyn Fn(&mut Map<String, Value>) + Send + Sync>;

/// A task per VM of `ids` that applies `change` when it succeeds; the answers hold each VM
/// as it is now. A VM gone since it was selected (`store.task` advances other tasks, and an
/// older delete may end there) is left out, never a panic.
pub(crate) fn vm_answers(
    store: &mut Store,
    ids: &[String],
    description: &str,
    change: Option<VmChange>,
) -> Vec<Value> {
    let change = change.map(Arc::new);
    ids.iter()
        .filter_map(|id| {
            let vm_id = id.clone();
            let change = change.clone();
            let effect = change.map(|change| {
                Box::new(move |s: &mut Store| s.update("Vm", &vm_id, |vm| change(vm))) as Effect
            });
            let task = store.task(description, AsyncStatus::Updating, "Vm", id, effect, None);
            let vm = store.records.find("Vm", id)?.clone();
            Some(json!({"task_id": task, "data": vm}))
        })
        .collect()
}

/// What the create-like operations do with each `VmCreationParams`: a VM now, and a task
/// that gives it `status` (or deletes it, when the task fails).
fn created_vm_task(store: &mut Store, vm: Value, status: &str) -> Value {
    let id = text(&vm, "id").to_owned();
    let status = status.to_owned();
    let failed = id.clone();
    Task::new(&format!("Create VM {}", text(&vm, "name")), "Vm", &id)
        .status(AsyncStatus::Creating)
        .on_success(move |s: &mut Store| s.update("Vm", &id, |v| set_field(v, "status", status)))
        .on_failure(move |s: &mut Store| s.delete_vm(&failed, true))
        .answer(store, vm)
}

/// The elements of an array body (params of several resources at once).
fn items_of(body: &Value) -> &[Value] {
    body.as_array().map_or(&[], Vec::as_slice)
}

/// What a snapshot or template freezes of a VM's disk `disk` (the `index`th) over its volume
/// `volume` (`null` for a CD-ROM): the fields of a `NestedFrozenDisks`.
pub(crate) fn frozen_disk(disk: &Value, volume: &Value, index: usize) -> Value {
    json!({
        "boot": disk["boot"],
        "bus": disk["bus"],
        "index": index,
        "key": disk["key"],
        "path": text(volume, "path"),
        "size": volume["size"].as_i64().unwrap_or(0),
        "disk_name": volume["name"],
        "type": disk["type"],
        "vm_volume_local_id": text(volume, "local_id"),
        "image_name": disk["elf_image"]["name"],
    })
}

pub(crate) fn set_field(record: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    record.insert(key.into(), value.into());
}

/// Creates one VM for each element of `params`, each checked before any is created.
pub(crate) fn create_vms(store: &mut Store, params: &[Value]) -> Result<Value, ApiError> {
    for p in params {
        store.check_vm_params(p)?;
    }
    let mut out = Vec::new();
    for p in params {
        let vm = store.create_vm(p)?;
        out.push(created_vm_task(
            store,
            vm,
            p["status"].as_str().unwrap_or("STOPPED"),
        ));
    }
    Ok(Value::Array(out))
}

pub(crate) fn create_vm(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    create_vms(store, items_of(body))
}

/// A new volume for each disk of a template or snapshot (`type: DISK`).
fn disks_like(disks: &[Value], name: impl Fn(usize, &Value) -> String, size: i64) -> Value {
    Value::Array(
        disks
            .iter()
            .filter(|d| d["type"] == "DISK")
            .enumerate()
            .map(|(i, d)| {
                json!({
                    "boot": d["boot"],
                    "bus": d["bus"],
                    "vm_volume": {
                        "name": name(i, d),
                        "size": d["size"].as_i64().unwrap_or(size),
                        "elf_storage_policy": "REPLICA_2_THIN_PROVISION",
                    },
                })
            })
            .collect(),
    )
}

/// `VmCreationParams` from params shaped like them (`p`) and the template or snapshot they
/// copy (`source`: its `cpu`, `memory`, disks).
fn creation_like(p: &Value, source: &Value, cluster_id: &str, disks: Value) -> Value {
    let or = |key: &str, fallback: &Value| match &p[key] {
        Value::Null => fallback.clone(),
        value => value.clone(),
    };
    json!({
        "cluster_id": cluster_id,
        "host_id": p["host_id"],
        "name": p["name"],
        "description": p["description"],
        "cpu_cores": or("cpu_cores", &source["cpu"]["cores"]),
        "cpu_sockets": or("cpu_sockets", &source["cpu"]["sockets"]),
        "memory": or("memory", &source["memory"]),
        "memory_unit": p["memory_unit"],
        "status": p["status"].as_str().unwrap_or("STOPPED"),
        "vm_disks": {"mount_new_create_disks": disks},
        "vm_nics": or("vm_nics", &json!([])),
    })
}

pub(crate) fn create_vm_from_template(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let mut creations = Vec::new();
    let mut hostnames = Vec::new();
    for p in items_of(body) {
        let template_id = text(p, "template_id");
        let template = store
            .records
            .find("ContentLibraryVmTemplate", template_id)
            .cloned()
            .ok_or_else(|| ApiError::no_such(format!("template {template_id} does not exist")))?;
        if !p["cloud_init"].is_null() && template["cloud_init_supported"] != true {
            return Err(ApiError::invalid_state(format!(
                "template {} does not support cloud-init",
                text(&template, "name")
            )));
        }
        let mut source = template.clone();
        if source["cpu"].is_null() {
            source["cpu"] = json!({"cores": 1, "sockets": 1});
        }
        let name = text(p, "name").to_owned();
        let disks = disks_like(
            items(&template, "vm_disks"),
            |i, _| format!("{name}-disk-{i}"),
            template["size"].as_i64().unwrap_or(0),
        );
        creations.push(creation_like(p, &source, text(p, "cluster_id"), disks));
        hostnames.push(opt_text(&p["cloud_init"], "hostname"));
    }
    let answers = create_vms(store, &creations)?;
    // The guest's hostname, as cloud-init sets it on first boot.
    for (answer, hostname) in answers.as_array().into_iter().flatten().zip(hostnames) {
        if let Some(hostname) = hostname {
            store.update("Vm", text(&answer["data"], "id"), |vm| {
                set_field(vm, "hostname", hostname)
            });
        }
    }
    let refreshed = answers
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let vm = store.records.find("Vm", text(&a["data"], "id"));
            json!({"task_id": a["task_id"], "data": vm.cloned().unwrap_or(a["data"].clone())})
        })
        .collect();
    Ok(Value::Array(refreshed))
}

pub(crate) fn update_vm_basic_info(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let ids = vms_or_error(store, &body["where"])?;
    let data = body["data"].clone();
    // The new vCPU count of each VM, checked now: the task's effect cannot answer a 400.
    for id in &ids {
        let Some(vm) = store.records.find("Vm", id) else {
            continue;
        };
        if data["vcpu"].is_null() {
            vcpu_count(
                data["cpu_cores"]
                    .as_i64()
                    .or(vm["cpu"]["cores"].as_i64())
                    .unwrap_or(1),
                data["cpu_sockets"]
                    .as_i64()
                    .or(vm["cpu"]["sockets"].as_i64())
                    .unwrap_or(1),
            )?;
        }
    }
    // What the table maps, then what the VM slice decides (memory units, the vCPU count).
    let mapped = generic::mapped(store, "update-vm-basic-info", &data)?;
    let change: VmChange = Box::new(move |vm| {
        vm.extend(mapped.clone());
        if let Some(memory) = data["memory"].as_i64() {
            set_field(vm, "memory", scale(memory, data["memory_unit"].as_str()));
        }
        let mut cpu = vm.get("cpu").cloned().unwrap_or_else(|| json!({}));
        for (key, field) in [("cpu_cores", "cores"), ("cpu_sockets", "sockets")] {
            if !data[key].is_null() {
                cpu[field] = data[key].clone();
            }
        }
        let product = cpu["cores"]
            .as_i64()
            .unwrap_or(1)
            .saturating_mul(cpu["sockets"].as_i64().unwrap_or(1));
        set_field(vm, "cpu", cpu);
        set_field(vm, "vcpu", data["vcpu"].as_i64().unwrap_or(product));
    });
    Ok(Value::Array(vm_answers(
        store,
        &ids,
        "Update VM",
        Some(change),
    )))
}

pub(crate) fn power(
    store: &mut Store,
    body: &Value,
    action: &str,
    host_id: Option<String>,
) -> Result<Value, ApiError> {
    let ids = vms_or_error(store, &body["where"])?;
    for id in &ids {
        let Some(vm) = store.records.find("Vm", id) else {
            continue;
        };
        let status = text(vm, "status");
        let allowed = match action {
            "start" => status != "SUSPENDED",
            "shutdown" | "poweroff" | "restart" | "force-restart" | "suspend" => {
                status == "RUNNING"
                    || (action != "suspend" && action != "restart" && status == "STOPPED")
            }
            "resume" => status == "SUSPENDED",
            _ => false,
        };
        if !allowed {
            return Err(ApiError::invalid_state(format!(
                "cannot {action} VM {} while it is {status}",
                text(vm, "name")
            )));
        }
        if vm["in_recycle_bin"] == true {
            return Err(ApiError::invalid_state(format!(
                "VM {} is in the recycle bin",
                text(vm, "name")
            )));
        }
    }
    if let Some(host) = host_id {
        if store.records.find("Host", &host).is_none() {
            return Err(ApiError::no_such(format!("host {host} does not exist")));
        }
    }
    let (description, status) = match action {
        "start" => ("Start VM", "RUNNING"),
        "shutdown" => ("Shut down VM", "STOPPED"),
        "poweroff" => ("Power off VM", "STOPPED"),
        "suspend" => ("Suspend VM", "SUSPENDED"),
        "resume" => ("Resume VM", "RUNNING"),
        _ => ("Restart VM", "RUNNING"),
    };
    let change: VmChange = Box::new(move |vm| set_field(vm, "status", status));
    Ok(Value::Array(vm_answers(
        store,
        &ids,
        description,
        Some(change),
    )))
}

/// A task per VM of `ids` whose answer holds only the VM's id (`DeleteVm`).
fn id_answers(
    store: &mut Store,
    ids: &[String],
    description: &str,
    status: AsyncStatus,
    effect: impl Fn(&mut Store, &str) + Clone + Send + 'static,
) -> Value {
    Value::Array(
        ids.iter()
            .map(|id| {
                let (vm_id, effect) = (id.clone(), effect.clone());
                Task::new(description, "Vm", id)
                    .status(status)
                    .on_success(move |s: &mut Store| effect(s, &vm_id))
                    .answer(store, json!({ "id": id }))
            })
            .collect(),
    )
}

pub(crate) fn recycle(store: &mut Store, body: &Value, op: &str) -> Result<Value, ApiError> {
    let ids = vms_or_error(store, &body["where"])?;
    let into_bin = op == "move-vm-to-recycle";
    for id in &ids {
        let Some(vm) = store.records.find("Vm", id) else {
            continue;
        };
        let name = text(vm, "name");
        if into_bin && vm["status"] == "RUNNING" {
            return Err(ApiError::invalid_state(format!(
                "VM {name} is running: shut it down before moving it to the recycle bin"
            )));
        }
        if (vm["in_recycle_bin"] == true) == into_bin {
            let state = if into_bin { "already" } else { "not" };
            return Err(ApiError::invalid_state(format!(
                "VM {name} is {state} in the recycle bin"
            )));
        }
    }
    let description = if into_bin {
        "Move VM to the recycle bin"
    } else {
        "Recover VM from the recycle bin"
    };
    Ok(id_answers(
        store,
        &ids,
        description,
        AsyncStatus::Updating,
        move |s, id| {
            s.update("Vm", id, |vm| {
                set_field(vm, "in_recycle_bin", into_bin);
                set_field(vm, "deleted_at", into_bin.then(now_rfc3339));
            })
        },
    ))
}

pub(crate) fn delete_vm(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let ids = vms_or_error(store, &body["where"])?;
    let include_snapshots = body["effect"]["include_snapshots"] == true;
    for id in &ids {
        if let Some(vm) = store
            .records
            .find("Vm", id)
            .filter(|v| v["status"] == "RUNNING")
        {
            return Err(ApiError::invalid_state(format!(
                "VM {} is running",
                text(vm, "name")
            )));
        }
    }
    Ok(id_answers(
        store,
        &ids,
        "Delete VM",
        AsyncStatus::Deleting,
        move |s, id| s.delete_vm(id, include_snapshots),
    ))
}

type Edit = Box<dyn Fn(&mut Store, &str) -> Result<(), ApiError>>;

/// Disk, NIC and CD-ROM changes and migration: applied at once, reported through a task.
pub(crate) fn edit_vm(store: &mut Store, body: &Value, op: &str) -> Result<Value, ApiError> {
    let data = body["data"].clone();
    let apply: Edit = match op {
        "add-vm-disk" => Box::new(move |s, id| {
            let disks = &data["vm_disks"];
            s.add_disks(
                id,
                items(disks, "mount_new_create_disks"),
                items(disks, "mount_disks"),
            )
        }),
        "remove-vm-disk" | "remove-vm-cd-rom" => {
            let key = if op == "remove-vm-disk" {
                "disk_ids"
            } else {
                "cd_rom_ids"
            };
            let ids = strings(&data[key]);
            Box::new(move |s, id| {
                s.remove_disks(id, &ids);
                Ok(())
            })
        }
        "add-vm-nic" => Box::new(move |s, id| s.add_nics(id, items(&data, "vm_nics"))),
        "remove-vm-nic" => {
            let orders: Vec<i64> = items(&data, "nic_index")
                .iter()
                .filter_map(Value::as_i64)
                .collect();
            Box::new(move |s, id| {
                s.remove_nics(id, &orders);
                Ok(())
            })
        }
        "add-vm-cd-rom" => Box::new(move |s, id| s.add_cd_roms(id, items(&data, "vm_cd_roms"))),
        _ => {
            let target = opt_text(&data, "host_id");
            Box::new(move |s, id| {
                let current = s
                    .records
                    .find("Vm", id)
                    .ok_or_else(|| ApiError::not_found(format!("VM {id} was deleted")))?["host"]
                    ["id"]
                    .clone();
                let host = match &target {
                    Some(h) => s.records.find("Host", h),
                    None => s.records.of("Host").iter().find(|x| x["id"] != current),
                }
                .map(Store::nested_host)
                .ok_or_else(|| ApiError::no_such("no host to migrate to"))?;
                s.update("Vm", id, |vm| set_field(vm, "host", host));
                Ok(())
            })
        }
    };
    let ids = vms_or_error(store, &body["where"])?;
    for id in &ids {
        apply(store, id)?;
        store.update("Vm", id, |_| {});
    }
    Ok(Value::Array(vm_answers(store, &ids, "Edit VM", None)))
}

pub(crate) fn remove_nics_by_where(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let only = body["effect"]["vm_ids"]
        .as_array()
        .map(|ids| strings(&Value::Array(ids.clone())));
    let picked: Vec<(String, i64)> = generic::selected_ids(store, "VmNic", &body["where"])?
        .iter()
        .filter_map(|id| store.records.find("VmNic", id))
        .filter(|n| {
            only.as_ref()
                .is_none_or(|ids| ids.iter().any(|id| n["vm"]["id"] == id.as_str()))
        })
        .map(|n| {
            (
                text(&n["vm"], "id").to_owned(),
                n["order"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    if picked.is_empty() {
        return Err(ApiError::nothing_selected(
            "no VM NIC matches the `where` filter",
        ));
    }
    let mut vm_ids: Vec<String> = picked.iter().map(|(vm, _)| vm.clone()).collect();
    vm_ids.dedup();
    for vm_id in &vm_ids {
        let orders: Vec<i64> = picked
            .iter()
            .filter(|(vm, _)| vm == vm_id)
            .map(|(_, order)| *order)
            .collect();
        store.remove_nics(vm_id, &orders);
        store.update("Vm", vm_id, |_| {});
    }
    Ok(Value::Array(vm_answers(
        store,
        &vm_ids,
        "Remove VM NIC",
        None,
    )))
}

pub(crate) fn create_vm_snapshot(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let mut out = Vec::new();
    for data in items(body, "data") {
        let snapshot = store.create_snapshot(
            text(data, "vm_id"),
            text(data, "name"),
            data["consistent_type"]
                .as_str()
                .unwrap_or("CRASH_CONSISTENT"),
        )?;
        let id = text(&snapshot, "id").to_owned();
        let description = format!("Create snapshot {}", text(&snapshot, "name"));
        let failed = id.clone();
        out.push(
            Task::new(&description, "VmSnapshot", &id)
                .status(AsyncStatus::Creating)
                .on_failure(move |s: &mut Store| s.delete_snapshot(&failed))
                .answer(store, snapshot),
        );
    }
    Ok(Value::Array(out))
}

pub(crate) fn delete_vm_snapshot(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let ids = generic::selected_ids(store, "VmSnapshot", &body["where"])?;
    let out = ids
        .iter()
        .map(|id| {
            let snapshot_id = id.clone();
            Task::new("Delete snapshot", "VmSnapshot", id)
                .status(AsyncStatus::Deleting)
                .on_success(move |s: &mut Store| s.delete_snapshot(&snapshot_id))
                .answer(store, json!({ "id": id }))
        })
        .collect();
    Ok(Value::Array(out))
}

pub(crate) fn rebuild_vm(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let mut creations = Vec::new();
    for p in items_of(body) {
        let snapshot_id = text(p, "rebuild_from_snapshot_id");
        let snapshot = store
            .records
            .find("VmSnapshot", snapshot_id)
            .cloned()
            .ok_or_else(|| ApiError::no_such(format!("snapshot {snapshot_id} does not exist")))?;
        let name = text(p, "name").to_owned();
        let disks = disks_like(
            items(&snapshot, "vm_disks"),
            |_, d| format!("{name}-{}", text(d, "disk_name")),
            0,
        );
        let cluster_id = p["cluster_id"]
            .as_str()
            .unwrap_or(text(&snapshot["cluster"], "id"))
            .to_owned();
        creations.push(creation_like(p, &snapshot, &cluster_id, disks));
    }
    create_vms(store, &creations)
}

pub(crate) fn rollback_vm(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let ids = vms_or_error(store, &body["where"])?;
    let snapshot_id = text(&body["data"], "snapshot_id");
    let snapshot = store
        .records
        .find("VmSnapshot", snapshot_id)
        .cloned()
        .ok_or_else(|| ApiError::no_such(format!("snapshot {snapshot_id} does not exist")))?;
    if ids.len() != 1 || snapshot["vm"]["id"] != ids[0].as_str() {
        return Err(ApiError::invalid_state(format!(
            "snapshot {} does not belong to the selected VM",
            text(&snapshot, "name")
        )));
    }
    let description = format!("Roll back to snapshot {}", text(&snapshot, "name"));
    let vm_id = ids[0].clone();
    let Some(vm) = store.records.find("Vm", &vm_id).cloned() else {
        return Err(ApiError::not_found(
            "the VM was deleted while the request ran",
        ));
    };
    let task = Task::new(&description, "Vm", &vm_id)
        .on_success(move |s: &mut Store| s.roll_back_vm(&vm_id, &snapshot));
    Ok(json!([task.answer(store, vm)]))
}

impl Store {
    /// The VM as `snapshot` froze it: its configuration, the sizes of the volumes it held, and
    /// no disk it gained since (a tower rolls the VM's disks back with it). Volumes deleted
    /// since are not brought back.
    pub(crate) fn roll_back_vm(&mut self, vm_id: &str, snapshot: &Value) {
        self.update("Vm", vm_id, |vm| {
            for key in [
                "cpu",
                "vcpu",
                "memory",
                "firmware",
                "clock_offset",
                "cpu_model",
                "ha",
            ] {
                if !snapshot[key].is_null() {
                    set_field(vm, key, snapshot[key].clone());
                }
            }
            set_field(vm, "status", "STOPPED");
        });
        let frozen: Vec<(String, Value)> = items(snapshot, "vm_disks")
            .iter()
            .filter_map(|d| Some((opt_text(d, "vm_volume_local_id")?, d["size"].clone())))
            .collect();
        let mut gained = Vec::new();
        for disk in self.of_vm("VmDisk", vm_id) {
            let Some(volume_id) = disk["vm_volume"]["id"].as_str() else {
                continue; // A CD-ROM: not part of what a snapshot restores.
            };
            let local_id = self
                .records
                .find("VmVolume", volume_id)
                .and_then(|v| opt_text(v, "local_id"));
            match frozen.iter().find(|(l, _)| Some(l) == local_id.as_ref()) {
                Some((_, size)) if !size.is_null() => {
                    let size = size.clone();
                    self.update("VmVolume", volume_id, |volume| {
                        set_field(volume, "size", size)
                    });
                }
                Some(_) => {}
                None => gained.extend(opt_text(&disk, "id")),
            }
        }
        self.remove_disks(vm_id, &gained);
        self.refresh_vm_size(vm_id);
    }
}

pub(crate) fn vnc_info(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let unique = &body["vm"];
    if unique["id"].is_null() && unique["local_id"].is_null() {
        return Err(ApiError::nothing_selected(
            "`vm` names no VM (give `id` or `local_id`)",
        ));
    }
    let vm = generic::selected_ids(store, "Vm", unique)?
        .first()
        .and_then(|id| store.records.find("Vm", id))
        .cloned()
        .ok_or_else(|| ApiError::nothing_selected("no VM matches `vm`"))?;
    let cluster_ip = vm["cluster"]["id"]
        .as_str()
        .and_then(|id| store.records.find("Cluster", id))
        .map(|c| text(c, "ip").to_owned())
        .unwrap_or_default();
    // Base64 with `/`, `+` and `=`, as a tower's proxy token is.
    let redirect = format!("bW9jay1{}/+v=", store.token().replace('-', ""));
    let terminal = store.token();
    let direct = store.token();
    Ok(json!({
        "vm": vm,
        "terminal": terminal,
        "redirect": redirect,
        "direct": direct,
        "cluster_ip": cluster_ip,
    }))
}

/// `shutdown-vm`, `poweroff-vm`, `restart-vm`, `force-restart-vm`, `suspend-vm`, `resume-vm`.
pub(crate) fn power_op(store: &mut Store, body: &Value, op: &str) -> Result<Value, ApiError> {
    power(store, body, op.trim_end_matches("-vm"), None)
}
