//! The mock tower's state: typed resources (the generated models), tasks that progress over
//! time, and the resource-change log.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cloudtower_api::codec::{self, Encode};
use cloudtower_api::models::*;
use serde_json::{json, Value};

use crate::faults::TaskOutcome;

/// Encodes a generated type with the SDK's codec and reads it back as JSON.
pub(crate) fn to_json<T: Encode + ?Sized>(value: &T) -> Value {
    serde_json::from_slice(&codec::encode(value)).unwrap_or(Value::Null)
}

/// A decoded request (or its `where` filter) as JSON, or a 400: a filter that cannot be read
/// back (invalid UTF-8 or too deep in a related filter, which is kept as raw JSON) must never
/// become `null`, which matches everything.
pub(crate) fn request_json<T: Encode + ?Sized>(value: &T) -> Result<Value, ApiError> {
    serde_json::from_slice(&codec::encode(value))
        .map_err(|e| ApiError::bad_request(format!("the request's filter cannot be read: {e}")))
}

/// A `where` filter as JSON, checked by [`crate::filter::check`] (else a 400).
pub(crate) fn filter_json<T: Encode + ?Sized>(filter: &T) -> Result<Value, ApiError> {
    let value = request_json(filter)?;
    crate::filter::check(&value)
        .map_err(|e| ApiError::bad_request(format!("invalid `where` filter: {e}")))?;
    Ok(value)
}

/// An error answer: HTTP status and CloudTower `ErrorBody`.
#[derive(Clone, Debug)]
pub(crate) struct ApiError {
    pub status: u16,
    pub message: String,
    pub code: Option<ErrorCode>,
    pub props: Option<Box<Value>>,
}

impl ApiError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            code: None,
            props: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(404, message)
    }
}

type Effect = Box<dyn FnOnce(&mut Store) + Send>;

struct TaskMeta {
    started: Instant,
    duration: Duration,
    outcome: TaskOutcome,
    on_success: Option<Effect>,
    on_failure: Option<Effect>,
    done: bool,
}

struct UploadMeta {
    received: i64,
    chunks: i32,
    finished_at: Option<Instant>,
    name: String,
    cluster_id: Option<String>,
    description: String,
}

/// The in-memory tower.
pub(crate) struct Store {
    pub clusters: Vec<Cluster>,
    pub hosts: Vec<Host>,
    pub vlans: Vec<Vlan>,
    pub vms: Vec<Vm>,
    pub vm_disks: Vec<VmDisk>,
    pub vm_volumes: Vec<VmVolume>,
    pub vm_nics: Vec<VmNic>,
    pub vm_snapshots: Vec<VmSnapshot>,
    pub iscsi_lun_snapshots: Vec<IscsiLunSnapshot>,
    pub elf_images: Vec<ElfImage>,
    pub content_library_vm_templates: Vec<ContentLibraryVmTemplate>,
    pub tasks: Vec<Task>,
    pub upload_tasks: Vec<UploadTask>,
    pub events: Vec<ResourceChangeEvent>,
    pub revision: u64,
    pub compact_revision: u64,
    pub task_duration: Duration,
    /// How the tasks of the request being handled end.
    pub outcome: TaskOutcome,
    pub users: Vec<(String, String, UserSource)>,
    pub tokens: HashSet<String>,
    pub api_keys: HashSet<String>,
    /// Refuse mutations of resources a running task is changing (`ResourceLocked`).
    pub lock_busy: bool,
    /// The resources the generic path holds (every type the typed fields above do not).
    pub records: crate::generic::Records,
    task_meta: HashMap<String, TaskMeta>,
    upload_meta: HashMap<String, UploadMeta>,
    next: u64,
}

pub(crate) fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

const GIB: i64 = 1 << 30;

impl Store {
    pub fn new(task_duration: Duration) -> Self {
        Store {
            clusters: Vec::new(),
            hosts: Vec::new(),
            vlans: Vec::new(),
            vms: Vec::new(),
            vm_disks: Vec::new(),
            vm_volumes: Vec::new(),
            vm_nics: Vec::new(),
            vm_snapshots: Vec::new(),
            iscsi_lun_snapshots: Vec::new(),
            elf_images: Vec::new(),
            content_library_vm_templates: Vec::new(),
            tasks: Vec::new(),
            upload_tasks: Vec::new(),
            events: Vec::new(),
            revision: 1000,
            compact_revision: 1000,
            task_duration,
            outcome: TaskOutcome::Succeed,
            users: Vec::new(),
            tokens: HashSet::new(),
            api_keys: HashSet::new(),
            lock_busy: false,
            records: crate::generic::Records::default(),
            task_meta: HashMap::new(),
            upload_meta: HashMap::new(),
            next: 0,
        }
    }

    /// A fresh id in CloudTower's style (`cl…`, 25 characters).
    pub fn id(&mut self) -> String {
        self.next += 1;
        format!("clmock{:019}", self.next)
    }

    /// A fresh UUID-shaped local id (what SMTX OS calls things).
    pub fn uuid(&mut self) -> String {
        self.next += 1;
        format!("00000000-0000-4000-8000-{:012x}", self.next)
    }

    pub fn token(&mut self) -> String {
        self.next += 1;
        format!("mock-token-{:08x}", self.next.wrapping_mul(0x9e37_79b9))
    }

    // -----------------------------------------------------------------------------------------
    // Seed data

    pub fn seed(&mut self) {
        let cluster_id = self.id();
        let cluster_local = self.uuid();
        let cluster = Cluster {
            id: cluster_id.clone(),
            name: "cluster-1".into(),
            ip: "192.0.2.10".into(),
            local_id: Some(cluster_local),
            version: "6.1.0".into(),
            r#type: ClusterType::SmtxOs,
            hypervisor: Some(Hypervisor::Elf),
            architecture: Architecture::X8664,
            connect_state: ConnectState::Connected,
            management_vip: Some("192.0.2.10".into()),
            ..Default::default()
        };
        self.clusters.push(cluster);
        let nested_cluster = NestedCluster {
            id: cluster_id.clone(),
            name: "cluster-1".into(),
        };
        for n in 1..=3 {
            let id = self.id();
            let local_id = self.uuid();
            self.hosts.push(Host {
                id,
                local_id,
                name: format!("node-{n}"),
                management_ip: format!("192.0.2.{}", 10 + n),
                cluster: nested_cluster.clone(),
                status: HostStatus::ConnectedHealthy,
                state: HostState::InUse,
                total_cpu_cores: 32,
                total_memory_bytes: 256 * GIB,
                cpu_model: "Intel Xeon".into(),
                ..Default::default()
            });
        }
        let vlan_id = self.id();
        let vlan_local = self.uuid();
        let vds_id = self.id();
        self.vlans.push(Vlan {
            id: vlan_id,
            local_id: vlan_local,
            name: "default".into(),
            r#type: NetworkType::Vm,
            vds: NestedVds {
                id: vds_id,
                name: "vds-1".into(),
            },
            vlan_id: 0,
            ..Default::default()
        });
        let image_id = self.id();
        let image_local = self.uuid();
        self.elf_images.push(ElfImage {
            id: image_id,
            local_id: image_local.clone(),
            name: "ubuntu-22.04.iso".into(),
            path: format!("/usr/share/smartx/images/{image_local}"),
            size: 2 * GIB,
            cluster: Some(nested_cluster.clone()),
            local_created_at: now_rfc3339(),
            ..Default::default()
        });
        let template_id = self.id();
        self.content_library_vm_templates
            .push(ContentLibraryVmTemplate {
                id: template_id,
                name: "ubuntu-cloud-template".into(),
                description: "Ubuntu 22.04 cloud image with cloud-init".into(),
                cloud_init_supported: true,
                clusters: Some(vec![nested_cluster]),
                memory: 4 * GIB,
                vcpu: 2,
                cpu: Some(NestedCpu {
                    cores: 2,
                    sockets: 1,
                }),
                size: 40 * GIB,
                created_at: now_rfc3339(),
                architecture: Architecture::X8664,
                vm_disks: Some(vec![NestedContentLibraryVmTemplateDisk {
                    boot: 0,
                    bus: Bus::Virtio,
                    index: 0,
                    size: Some(40 * GIB),
                    r#type: VmDiskType::Disk,
                    ..Default::default()
                }]),
                ..Default::default()
            });
        let vms = [
            ("backup-demo", VmStatus::Running, VmToolsStatus::Running, 2),
            ("web-1", VmStatus::Running, VmToolsStatus::NotRunning, 1),
            ("web-2", VmStatus::Stopped, VmToolsStatus::NotRunning, 1),
            ("db-1", VmStatus::Running, VmToolsStatus::Running, 3),
        ];
        for (name, status, tools, disks) in vms {
            let params = VmCreationParams {
                cluster_id: cluster_id.clone(),
                name: name.into(),
                cpu_cores: 2,
                cpu_sockets: 1,
                memory: 4 * GIB,
                firmware: VmFirmware::Bios,
                status: status.clone(),
                vm_disks: VmDiskParams {
                    mount_new_create_disks: Some(
                        (0..disks)
                            .map(|i| MountNewCreateDisksParams {
                                boot: i,
                                bus: Bus::Virtio,
                                vm_volume: MountNewCreateDisksParamsVmVolume {
                                    name: format!("{name}-disk-{i}"),
                                    size: 20 * GIB,
                                    elf_storage_policy:
                                        VmVolumeElfStoragePolicyType::Replica2ThinProvision,
                                    ..Default::default()
                                },
                                ..Default::default()
                            })
                            .collect(),
                    ),
                    mount_cd_roms: Some(vec![VmCdRomParams {
                        boot: disks,
                        ..Default::default()
                    }]),
                    ..Default::default()
                },
                vm_nics: vec![VmNicParams {
                    connect_vlan_id: Some(self.vlans[0].id.clone()),
                    ..Default::default()
                }],
                ..Default::default()
            };
            if let Ok(vm) = self.create_vm(&params) {
                let i = self.vm_index(&vm.id).expect("just created");
                self.vms[i].status = status;
                self.vms[i].vm_tools_status = tools;
            }
        }
        // Seeding is history, not news.
        self.events.clear();
        self.compact_revision = self.revision;
    }

    // -----------------------------------------------------------------------------------------
    // Tasks

    /// Creates a task that ends after the configured duration; `on_success` runs when it
    /// succeeds, `on_failure` when it fails.
    pub fn task(
        &mut self,
        description: &str,
        resource_type: &str,
        resource_id: &str,
        on_success: Option<Effect>,
        on_failure: Option<Effect>,
    ) -> String {
        let id = self.id();
        let cluster = self.clusters.first().map(|c| NestedCluster {
            id: c.id.clone(),
            name: c.name.clone(),
        });
        self.tasks.push(Task {
            id: id.clone(),
            description: description.into(),
            status: TaskStatus::Pending,
            progress: 0.0,
            local_created_at: now_rfc3339(),
            resource_id: Some(resource_id.into()),
            resource_type: Some(resource_type.into()),
            snapshot: "{}".into(),
            args: json!({}),
            cluster,
            ..Default::default()
        });
        let status = if description.starts_with("Create") {
            EntityAsyncStatus::Creating
        } else if description.starts_with("Delete") {
            EntityAsyncStatus::Deleting
        } else {
            EntityAsyncStatus::Updating
        };
        self.set_async_status(resource_type, resource_id, Some(status));
        self.task_meta.insert(
            id.clone(),
            TaskMeta {
                started: Instant::now(),
                duration: self.task_duration,
                outcome: self.outcome,
                on_success,
                on_failure,
                done: false,
            },
        );
        self.advance();
        id
    }

    /// Whether a running (PENDING or EXECUTING) task is changing resource `id`.
    pub fn is_busy(&self, id: &str) -> bool {
        self.tasks.iter().any(|t| {
            matches!(t.status, TaskStatus::Pending | TaskStatus::Executing)
                && t.resource_id.as_deref() == Some(id)
        })
    }

    /// Sets the `entityAsyncStatus` of a VM or VM snapshot (other resource types have none
    /// in the mock), without recording a change.
    fn set_async_status(
        &mut self,
        resource_type: &str,
        id: &str,
        status: Option<EntityAsyncStatus>,
    ) {
        match resource_type {
            "Vm" => {
                if let Some(vm) = self.vms.iter_mut().find(|v| v.id == id) {
                    vm.entity_async_status = status;
                }
            }
            "VmSnapshot" => {
                if let Some(snapshot) = self.vm_snapshots.iter_mut().find(|v| v.id == id) {
                    snapshot.entity_async_status = status;
                }
            }
            other => {
                let status = status.map(|s| to_json(&s));
                self.records
                    .set_async_status(other, id, status.as_ref().and_then(Value::as_str));
            }
        }
    }

    /// Moves every task on to where its clock says it is, applying finished tasks' effects.
    /// A resource's `entityAsyncStatus` is cleared when its last running task ends (succeeds,
    /// fails or pauses), before the task's effect applies.
    pub fn advance(&mut self) {
        let now = Instant::now();
        let mut effects: Vec<Effect> = Vec::new();
        let mut ended: Vec<(String, String)> = Vec::new();
        for task in &mut self.tasks {
            let Some(meta) = self.task_meta.get_mut(&task.id) else {
                continue;
            };
            if meta.done {
                continue;
            }
            let elapsed = now - meta.started;
            let fraction = if meta.duration.is_zero() {
                1.0
            } else {
                (elapsed.as_secs_f64() / meta.duration.as_secs_f64()).min(1.0)
            };
            if fraction >= 1.0 {
                meta.done = true;
                task.finished_at = Some(now_rfc3339());
                if let (Some(kind), Some(id)) = (&task.resource_type, &task.resource_id) {
                    ended.push((kind.clone(), id.clone()));
                }
                match meta.outcome {
                    TaskOutcome::Succeed => {
                        task.status = TaskStatus::Successed;
                        task.progress = 1.0;
                        effects.extend(meta.on_success.take());
                    }
                    TaskOutcome::Fail => {
                        task.status = TaskStatus::Failed;
                        task.progress = 0.5;
                        task.error_code = Some("MockInjectedFailure".into());
                        task.error_message = Some(format!(
                            "{} failed (injected by the mock)",
                            task.description
                        ));
                        effects.extend(meta.on_failure.take());
                    }
                    TaskOutcome::Pause => {
                        task.status = TaskStatus::Paused;
                        task.progress = 0.5;
                        task.finished_at = None;
                    }
                }
            } else if fraction >= 0.2 {
                if task.started_at.is_none() {
                    task.started_at = Some(now_rfc3339());
                }
                task.status = TaskStatus::Executing;
                task.progress = (fraction * 100.0).round() / 100.0;
            }
        }
        for (kind, id) in ended {
            if !self.is_busy(&id) {
                self.set_async_status(&kind, &id, None);
            }
        }
        for effect in effects {
            effect(self);
        }
        self.advance_uploads(now);
    }

    // -----------------------------------------------------------------------------------------
    // Resource changes

    pub fn record(&mut self, resource_type: &str, action: &str, id: &str, old: Option<Value>) {
        let new = match action {
            "DELETE" => None,
            _ => self.current_json(resource_type, id),
        };
        let prev = self.revision;
        self.revision += 1;
        self.events.push(ResourceChangeEvent {
            prev_revision: Some(prev.to_string()),
            created_at: Some(now_rfc3339()),
            new_value: new.map(|v| v.to_string()),
            old_value: old.map(|v| v.to_string()),
            resource_id: Some(id.into()),
            resource_type: Some(resource_type.into()),
            action: Some(action.into()),
            revision: self.revision.to_string(),
        });
    }

    pub fn current_json(&self, resource_type: &str, id: &str) -> Option<Value> {
        match resource_type {
            "Vm" => self.vms.iter().find(|v| v.id == id).map(to_json),
            "VmSnapshot" => self.vm_snapshots.iter().find(|v| v.id == id).map(to_json),
            "ElfImage" => self.elf_images.iter().find(|v| v.id == id).map(to_json),
            other => self.records.find(other, id).cloned(),
        }
    }

    /// Forgets the change log before `revision` (what a tower does to its history).
    pub fn compact(&mut self, revision: u64) {
        self.compact_revision = self.compact_revision.max(revision.min(self.revision));
        let keep = self.compact_revision;
        self.events
            .retain(|e| e.revision.parse::<u64>().is_ok_and(|r| r >= keep));
    }

    // -----------------------------------------------------------------------------------------
    // Lookups

    pub fn vm_index(&self, id: &str) -> Option<usize> {
        self.vms.iter().position(|v| v.id == id)
    }

    /// The positions of `items` that `filter` (a `*WhereInput`) selects; a 400 when the
    /// filter cannot be evaluated.
    pub fn select<T: Encode, F: Encode>(items: &[T], filter: &F) -> Result<Vec<usize>, ApiError> {
        let filter = filter_json(filter)?;
        Ok((0..items.len())
            .filter(|&i| crate::filter::matches(&to_json(&items[i]), &filter))
            .collect())
    }

    pub fn vms_where(&self, filter: &VmWhereInput) -> Result<Vec<usize>, ApiError> {
        Store::select(&self.vms, filter)
    }

    fn nested_cluster(&self, id: &str) -> Result<NestedCluster, ApiError> {
        self.clusters
            .iter()
            .find(|c| c.id == id || c.local_id.as_deref() == Some(id))
            .map(|c| NestedCluster {
                id: c.id.clone(),
                name: c.name.clone(),
            })
            .ok_or_else(|| ApiError::bad_request(format!("cluster {id} does not exist")))
    }

    fn nested_host(&self, id: &str) -> Result<NestedHost, ApiError> {
        self.hosts
            .iter()
            .find(|h| h.id == id)
            .map(|h| NestedHost {
                id: h.id.clone(),
                name: h.name.clone(),
                management_ip: h.management_ip.clone(),
            })
            .ok_or_else(|| ApiError::bad_request(format!("host {id} does not exist")))
    }

    fn first_host_of(&self, cluster_id: &str) -> Option<NestedHost> {
        self.hosts
            .iter()
            .find(|h| h.cluster.id == cluster_id)
            .map(|h| NestedHost {
                id: h.id.clone(),
                name: h.name.clone(),
                management_ip: h.management_ip.clone(),
            })
    }

    // -----------------------------------------------------------------------------------------
    // VMs

    /// Creates a VM with its volumes, disks, CD-ROMs and NICs (status STOPPED; the caller's
    /// task effect sets the requested status).
    pub fn create_vm(&mut self, p: &VmCreationParams) -> Result<Vm, ApiError> {
        if p.name.is_empty() {
            return Err(ApiError::bad_request("name must not be empty"));
        }
        let cluster = self.nested_cluster(&p.cluster_id)?;
        let host = match &p.host_id {
            Some(id) if id != "AUTO_SCHEDULE" => Some(self.nested_host(id)?),
            _ => self.first_host_of(&cluster.id),
        };
        let id = self.id();
        let local_id = self.uuid();
        let memory = scale(p.memory, p.memory_unit.as_ref());
        let vm = Vm {
            id: id.clone(),
            local_id,
            name: p.name.clone(),
            description: p.description.clone().unwrap_or_default(),
            cluster: Some(cluster),
            host,
            cpu: NestedCpu {
                cores: p.cpu_cores,
                sockets: p.cpu_sockets,
            },
            vcpu: match p.vcpu {
                Some(vcpu) => vcpu,
                None => vcpu_count(p.cpu_cores, p.cpu_sockets)?,
            },
            memory,
            ha: p.ha,
            firmware: p.firmware.clone(),
            status: VmStatus::Stopped,
            vm_tools_status: VmToolsStatus::NotInstalled,
            guest_os_type: p.guest_os_type.clone(),
            cpu_model: "cluster_default".into(),
            clock_offset: VmClockOffset::Utc,
            local_created_at: Some(now_rfc3339()),
            vm_disks: Some(Vec::new()),
            vm_nics: Some(Vec::new()),
            snapshots: Some(Vec::new()),
            ..Default::default()
        };
        self.vms.push(vm);
        self.add_disks(
            &id,
            p.vm_disks.mount_new_create_disks.as_deref().unwrap_or(&[]),
            p.vm_disks.mount_disks.as_deref().unwrap_or(&[]),
        )?;
        self.add_cd_roms(&id, p.vm_disks.mount_cd_roms.as_deref().unwrap_or(&[]))?;
        self.add_nics(&id, &p.vm_nics)?;
        self.record("Vm", "CREATE", &id, None);
        let i = self.vm_index(&id).expect("just added");
        Ok(self.vms[i].clone())
    }

    fn vm_nested(&self, vm_id: &str) -> NestedVm {
        let name = self
            .vms
            .iter()
            .find(|v| v.id == vm_id)
            .map(|v| v.name.clone())
            .unwrap_or_default();
        NestedVm {
            id: vm_id.into(),
            name,
        }
    }

    fn next_disk_index(&self, vm_id: &str) -> i32 {
        self.vm_disks.iter().filter(|d| d.vm.id == vm_id).count() as i32
    }

    pub fn add_disks(
        &mut self,
        vm_id: &str,
        new: &[MountNewCreateDisksParams],
        existing: &[MountDisksParams],
    ) -> Result<(), ApiError> {
        let cluster = self.vms[self.vm_index(vm_id).expect("vm")]
            .cluster
            .clone()
            .unwrap_or_default();
        let mut attach: Vec<(String, Bus, i32)> = Vec::new();
        for disk in new {
            let volume_id = self.id();
            let local_id = self.uuid();
            let lun_id = self.id();
            self.vm_volumes.push(VmVolume {
                id: volume_id.clone(),
                local_id: local_id.clone(),
                name: disk.vm_volume.name.clone(),
                size: scale(disk.vm_volume.size, disk.vm_volume.size_unit.as_ref()),
                path: format!(
                    "iscsi://iqn.2016-02.com.smartx:system:zbs-iscsi-datastore/{local_id}"
                ),
                cluster: cluster.clone(),
                elf_storage_policy: disk.vm_volume.elf_storage_policy.clone(),
                local_created_at: now_rfc3339(),
                mounting: true,
                r#type: Some(VmVolumeType::KvmVolumeIscsi),
                lun: Some(NestedIscsiLun {
                    id: lun_id,
                    name: format!("zbs-lun-{local_id}"),
                }),
                vm_disks: Some(Vec::new()),
                ..Default::default()
            });
            attach.push((volume_id, disk.bus.clone(), disk.boot));
        }
        for disk in existing {
            if !self.vm_volumes.iter().any(|v| v.id == disk.vm_volume_id) {
                return Err(ApiError::bad_request(format!(
                    "VM volume {} does not exist",
                    disk.vm_volume_id
                )));
            }
            attach.push((disk.vm_volume_id.clone(), disk.bus.clone(), disk.boot));
        }
        for (volume_id, bus, boot) in attach {
            let disk_id = self.id();
            let index = self.next_disk_index(vm_id);
            let volume = self
                .vm_volumes
                .iter_mut()
                .find(|v| v.id == volume_id)
                .expect("checked");
            volume.mounting = true;
            volume
                .vm_disks
                .get_or_insert_with(Vec::new)
                .push(NestedVmDisk {
                    id: disk_id.clone(),
                });
            let nested_volume = NestedVmVolume {
                id: volume.id.clone(),
                name: volume.name.clone(),
            };
            let vm = self.vm_nested(vm_id);
            self.vm_disks.push(VmDisk {
                id: disk_id.clone(),
                boot,
                bus,
                r#type: VmDiskType::Disk,
                vm,
                vm_volume: Some(nested_volume),
                device: Some(format!("vd{}", (b'a' + (index as u8 % 26)) as char)),
                key: Some(index),
                ..Default::default()
            });
            let i = self.vm_index(vm_id).expect("vm");
            self.vms[i]
                .vm_disks
                .get_or_insert_with(Vec::new)
                .push(NestedVmDisk { id: disk_id });
        }
        self.refresh_vm_size(vm_id);
        Ok(())
    }

    pub fn add_cd_roms(&mut self, vm_id: &str, cd_roms: &[VmCdRomParams]) -> Result<(), ApiError> {
        for cd in cd_roms {
            let elf_image = match &cd.elf_image_id {
                Some(id) => Some(
                    self.elf_images
                        .iter()
                        .find(|i| &i.id == id)
                        .map(|i| NestedElfImage {
                            id: i.id.clone(),
                            name: i.name.clone(),
                        })
                        .ok_or_else(|| {
                            ApiError::bad_request(format!("ELF image {id} does not exist"))
                        })?,
                ),
                None => None,
            };
            let disk_id = self.id();
            let vm = self.vm_nested(vm_id);
            let index = self.next_disk_index(vm_id);
            self.vm_disks.push(VmDisk {
                id: disk_id.clone(),
                boot: cd.boot,
                bus: Bus::Ide,
                r#type: VmDiskType::CdRom,
                elf_image,
                vm,
                key: Some(index),
                ..Default::default()
            });
            let i = self.vm_index(vm_id).expect("vm");
            self.vms[i]
                .vm_disks
                .get_or_insert_with(Vec::new)
                .push(NestedVmDisk { id: disk_id });
        }
        Ok(())
    }

    pub fn add_nics(&mut self, vm_id: &str, nics: &[VmNicParams]) -> Result<(), ApiError> {
        for nic in nics {
            let vlan = match &nic.connect_vlan_id {
                Some(id) => Some(
                    self.vlans
                        .iter()
                        .find(|v| &v.id == id || &v.local_id == id)
                        .map(|v| NestedVlan {
                            id: v.id.clone(),
                            name: v.name.clone(),
                        })
                        .ok_or_else(|| {
                            ApiError::bad_request(format!("VLAN {id} does not exist"))
                        })?,
                ),
                None => None,
            };
            let nic_id = self.id();
            let local_id = self.uuid();
            let order = self.vm_nics.iter().filter(|n| n.vm.id == vm_id).count() as i32;
            let mac = nic
                .mac_address
                .clone()
                .unwrap_or_else(|| format!("52:54:00:00:{:02x}:{:02x}", order, self.next % 256));
            let vm = self.vm_nested(vm_id);
            self.vm_nics.push(VmNic {
                id: nic_id.clone(),
                local_id,
                vm,
                vlan,
                order: Some(order),
                mac_address: Some(mac),
                model: Some(nic.model.clone().unwrap_or(VmNicModel::Virtio)),
                enabled: Some(nic.enabled.unwrap_or(true)),
                ip_address: nic.ip_address.clone(),
                gateway: nic.gateway.clone(),
                subnet_mask: nic.subnet_mask.clone(),
                ..Default::default()
            });
            let i = self.vm_index(vm_id).expect("vm");
            self.vms[i]
                .vm_nics
                .get_or_insert_with(Vec::new)
                .push(NestedVmNic { id: nic_id });
        }
        Ok(())
    }

    pub fn remove_disks(&mut self, vm_id: &str, disk_ids: &[String]) {
        for disk_id in disk_ids {
            let Some(pos) = self
                .vm_disks
                .iter()
                .position(|d| &d.id == disk_id && d.vm.id == vm_id)
            else {
                continue;
            };
            let disk = self.vm_disks.remove(pos);
            if let Some(volume) = disk.vm_volume {
                if let Some(v) = self.vm_volumes.iter_mut().find(|v| v.id == volume.id) {
                    if let Some(disks) = &mut v.vm_disks {
                        disks.retain(|d| &d.id != disk_id);
                        v.mounting = !disks.is_empty();
                    }
                }
            }
            if let Some(i) = self.vm_index(vm_id) {
                if let Some(disks) = &mut self.vms[i].vm_disks {
                    disks.retain(|d| &d.id != disk_id);
                }
            }
        }
        self.refresh_vm_size(vm_id);
    }

    pub fn remove_nics(&mut self, vm_id: &str, indexes: &[i32]) {
        let removed: Vec<String> = self
            .vm_nics
            .iter()
            .filter(|n| n.vm.id == vm_id && indexes.contains(&n.order.unwrap_or(-1)))
            .map(|n| n.id.clone())
            .collect();
        self.vm_nics.retain(|n| !removed.contains(&n.id));
        for (order, nic) in self
            .vm_nics
            .iter_mut()
            .filter(|n| n.vm.id == vm_id)
            .enumerate()
        {
            nic.order = Some(order as i32);
        }
        if let Some(i) = self.vm_index(vm_id) {
            if let Some(nics) = &mut self.vms[i].vm_nics {
                nics.retain(|n| !removed.contains(&n.id));
            }
        }
    }

    fn refresh_vm_size(&mut self, vm_id: &str) {
        let size: i64 = self
            .vm_disks
            .iter()
            .filter(|d| d.vm.id == vm_id)
            .filter_map(|d| d.vm_volume.as_ref())
            .filter_map(|v| self.vm_volumes.iter().find(|x| x.id == v.id))
            .map(|v| v.size)
            .fold(0i64, i64::saturating_add);
        if let Some(i) = self.vm_index(vm_id) {
            self.vms[i].size = Some(size);
            self.vms[i].provisioned_size = Some(size);
        }
    }

    /// Removes a VM with its disks, NICs and the volumes only it used.
    pub fn delete_vm(&mut self, vm_id: &str, include_snapshots: bool) {
        let Some(i) = self.vm_index(vm_id) else {
            return;
        };
        let old = to_json(&self.vms[i]);
        let disk_ids: Vec<String> = self
            .vm_disks
            .iter()
            .filter(|d| d.vm.id == vm_id)
            .map(|d| d.id.clone())
            .collect();
        let volumes: Vec<String> = self
            .vm_disks
            .iter()
            .filter(|d| d.vm.id == vm_id)
            .filter_map(|d| d.vm_volume.as_ref().map(|v| v.id.clone()))
            .collect();
        self.remove_disks(vm_id, &disk_ids);
        self.vm_volumes
            .retain(|v| !volumes.contains(&v.id) || v.mounting);
        self.vm_nics.retain(|n| n.vm.id != vm_id);
        if include_snapshots {
            let snapshots: Vec<String> = self
                .vm_snapshots
                .iter()
                .filter(|s| s.vm.as_ref().is_some_and(|v| v.id == vm_id))
                .map(|s| s.id.clone())
                .collect();
            for id in snapshots {
                self.delete_snapshot(&id);
            }
        }
        self.vms.retain(|v| v.id != vm_id);
        self.record("Vm", "DELETE", vm_id, Some(old));
    }

    /// Changes a VM and records the change.
    pub fn update_vm(&mut self, vm_id: &str, change: impl FnOnce(&mut Vm)) {
        if let Some(i) = self.vm_index(vm_id) {
            let old = to_json(&self.vms[i]);
            change(&mut self.vms[i]);
            let name = self.vms[i].name.clone();
            for disk in self.vm_disks.iter_mut().filter(|d| d.vm.id == vm_id) {
                disk.vm.name = name.clone();
            }
            self.record("Vm", "UPDATE", vm_id, Some(old));
        }
    }

    // -----------------------------------------------------------------------------------------
    // Snapshots

    /// Snapshots a VM: frozen disks, and one iSCSI LUN snapshot per disk (named after the
    /// disk's `snapshot_local_id`).
    pub fn create_snapshot(
        &mut self,
        vm_id: &str,
        name: &str,
        consistent_type: ConsistentType,
    ) -> Result<VmSnapshot, ApiError> {
        let i = self
            .vm_index(vm_id)
            .ok_or_else(|| ApiError::bad_request(format!("VM {vm_id} does not exist")))?;
        let vm = self.vms[i].clone();
        if consistent_type == ConsistentType::FileSystemConsistent
            && vm.vm_tools_status != VmToolsStatus::Running
        {
            return Err(ApiError::bad_request(format!(
                "a file-system-consistent snapshot needs VMTools running in VM {}",
                vm.name
            )));
        }
        let id = self.id();
        let local_id = self.uuid();
        let disks: Vec<VmDisk> = self
            .vm_disks
            .iter()
            .filter(|d| d.vm.id == vm_id)
            .cloned()
            .collect();
        let mut frozen = Vec::new();
        for (index, disk) in disks.iter().enumerate() {
            let volume = disk
                .vm_volume
                .as_ref()
                .and_then(|v| self.vm_volumes.iter().find(|x| x.id == v.id))
                .cloned();
            let snapshot_local_id = volume.as_ref().map(|_| self.uuid());
            if let (Some(volume), Some(snap_name)) = (&volume, &snapshot_local_id) {
                let lun_snapshot_id = self.id();
                let lun_local_id = self.uuid();
                let target_id = self.id();
                self.iscsi_lun_snapshots.push(IscsiLunSnapshot {
                    id: lun_snapshot_id,
                    local_id: lun_local_id,
                    name: snap_name.clone(),
                    iscsi_lun: volume.lun.clone(),
                    iscsi_target: NestedIscsiTarget {
                        id: target_id,
                        name: "zbs-iscsi-datastore".into(),
                    },
                    local_created_at: now_rfc3339(),
                    unique_size: 0,
                    ..Default::default()
                });
            }
            frozen.push(NestedFrozenDisks {
                boot: disk.boot,
                bus: disk.bus.clone(),
                index: index as i32,
                key: disk.key,
                path: volume.as_ref().map(|v| v.path.clone()).unwrap_or_default(),
                size: volume.as_ref().map_or(0, |v| v.size),
                disk_name: volume.as_ref().map(|v| v.name.clone()),
                r#type: disk.r#type.clone(),
                vm_volume_local_id: volume
                    .as_ref()
                    .map(|v| v.local_id.clone())
                    .unwrap_or_default(),
                snapshot_local_id,
                elf_image_local_id: String::new(),
                svt_image_local_id: String::new(),
                storage_policy_uuid: String::new(),
                image_name: disk.elf_image.as_ref().map(|i| i.name.clone()),
                ..Default::default()
            });
        }
        let snapshot = VmSnapshot {
            id: id.clone(),
            local_id,
            name: name.into(),
            consistent_type,
            vm: Some(NestedVm {
                id: vm.id.clone(),
                name: vm.name.clone(),
            }),
            cluster: vm.cluster.clone().unwrap_or_default(),
            cpu: vm.cpu.clone(),
            vcpu: vm.vcpu,
            memory: vm.memory,
            size: vm.size.unwrap_or_default(),
            firmware: vm.firmware.clone(),
            clock_offset: vm.clock_offset.clone(),
            cpu_model: vm.cpu_model.clone(),
            ha: vm.ha,
            local_created_at: Some(now_rfc3339()),
            vm_disks: Some(frozen),
            vm_nics: Some(Vec::new()),
            ..Default::default()
        };
        self.vm_snapshots.push(snapshot.clone());
        self.vms[i]
            .snapshots
            .get_or_insert_with(Vec::new)
            .push(NestedVmSnapshot {
                id: id.clone(),
                name: name.into(),
            });
        self.record("VmSnapshot", "CREATE", &id, None);
        Ok(snapshot)
    }

    pub fn delete_snapshot(&mut self, id: &str) {
        let Some(pos) = self.vm_snapshots.iter().position(|s| s.id == id) else {
            return;
        };
        let snapshot = self.vm_snapshots.remove(pos);
        let names: Vec<String> = snapshot
            .vm_disks
            .iter()
            .flatten()
            .filter_map(|d| d.snapshot_local_id.clone())
            .collect();
        self.iscsi_lun_snapshots
            .retain(|l| !names.contains(&l.name));
        for vm in &mut self.vms {
            if let Some(snapshots) = &mut vm.snapshots {
                snapshots.retain(|s| s.id != id);
            }
        }
        self.record("VmSnapshot", "DELETE", id, Some(to_json(&snapshot)));
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
    ) -> Result<UploadTask, ApiError> {
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
                    self.nested_cluster(c)?;
                }
                let id = self.id();
                self.upload_tasks.push(UploadTask {
                    id: id.clone(),
                    chunk_size: chunk_len,
                    size,
                    status: UploadTaskStatus::Initializing,
                    resource_type: UploadResourceType::ElfImage,
                    started_at: Some(now_rfc3339()),
                    updated_at: now_rfc3339(),
                    args: json!({"name": name, "cluster_id": cluster_id, "size": size}),
                    ..Default::default()
                });
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
        let task = self
            .upload_tasks
            .iter_mut()
            .find(|t| t.id == id)
            .expect("upload task");
        let meta = self.upload_meta.get_mut(&id).expect("meta");
        if meta.finished_at.is_some() || task.status == UploadTaskStatus::Successed {
            return Err(ApiError::bad_request(format!(
                "upload task {id} already has all its bytes"
            )));
        }
        let remaining = task.size.saturating_sub(meta.received);
        let expected = task.chunk_size.min(remaining);
        if chunk_len != expected {
            return Err(ApiError::bad_request(format!(
                "chunk {} of upload task {id} has {chunk_len} bytes, expected {expected} \
                 (chunk size {}, {remaining} bytes remaining)",
                meta.chunks, task.chunk_size
            )));
        }
        meta.received = meta.received.saturating_add(chunk_len);
        meta.chunks += 1;
        task.current_chunk = meta.chunks;
        task.updated_at = now_rfc3339();
        task.status = UploadTaskStatus::Uploading;
        if meta.received == task.size {
            meta.finished_at = Some(Instant::now());
        }
        let out = task.clone();
        self.advance_uploads(Instant::now());
        Ok(self
            .upload_tasks
            .iter()
            .find(|t| t.id == id)
            .cloned()
            .unwrap_or(out))
    }

    /// An upload whose bytes all arrived becomes an ELF image after the task duration.
    fn advance_uploads(&mut self, now: Instant) {
        let ready: Vec<String> = self
            .upload_meta
            .iter()
            .filter(|(_, m)| {
                m.finished_at
                    .is_some_and(|at| now - at >= self.task_duration)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in ready {
            let meta = self.upload_meta.get_mut(&id).expect("meta");
            meta.finished_at = None;
            let (name, cluster_id, description, size) = (
                meta.name.clone(),
                meta.cluster_id.clone(),
                meta.description.clone(),
                meta.received,
            );
            let image_id = self.id();
            let local_id = self.uuid();
            let cluster = cluster_id.and_then(|c| self.nested_cluster(&c).ok());
            self.elf_images.push(ElfImage {
                id: image_id.clone(),
                local_id: local_id.clone(),
                name,
                description,
                size,
                path: format!("/usr/share/smartx/images/{local_id}"),
                cluster,
                local_created_at: now_rfc3339(),
                ..Default::default()
            });
            if let Some(task) = self.upload_tasks.iter_mut().find(|t| t.id == id) {
                task.status = UploadTaskStatus::Successed;
                task.finished_at = Some(now_rfc3339());
                task.updated_at = now_rfc3339();
                if let Some(args) = task.args.as_object_mut() {
                    args.insert("elf_image_id".into(), json!(image_id));
                }
            }
            self.record("ElfImage", "CREATE", &image_id, None);
        }
    }
}

/// Bytes from a size and its unit (bytes when there is no unit).
/// `cores × sockets`, or a 400 for counts below 1 or a product beyond `i32` (client input).
pub(crate) fn vcpu_count(cores: i32, sockets: i32) -> Result<i32, ApiError> {
    if cores < 1 || sockets < 1 {
        return Err(ApiError::bad_request(format!(
            "cpu_cores ({cores}) and cpu_sockets ({sockets}) must be at least 1"
        )));
    }
    cores.checked_mul(sockets).ok_or_else(|| {
        ApiError::bad_request(format!(
            "cpu_cores × cpu_sockets ({cores} × {sockets}) is too large"
        ))
    })
}

pub(crate) fn scale(value: i64, unit: Option<&ByteUnit>) -> i64 {
    let shift = match unit {
        Some(ByteUnit::Kb) => 10,
        Some(ByteUnit::Mb) => 20,
        Some(ByteUnit::Gb) => 30,
        Some(ByteUnit::Tb) => 40,
        Some(ByteUnit::Pb) => 50,
        _ => 0,
    };
    value.saturating_mul(1 << shift)
}
