//! Reactors for running the tower and its clusters: connecting a cluster, its settings and
//! pin-in-performance, host power, the tower's security settings, CloudTower applications,
//! backup restores, and the ESXi accounts of hosts.

use serde_json::{json, Map, Value};

use super::generic::{self, nested, Task};
use super::more::task_per_selected;
use super::vm::{self, set_field};
use crate::json::{items, merge, now_rfc3339, opt_text, text};
use crate::state::{ApiError, Store};
use crate::table::{field_type, schema};
use crate::tasks::Effect;

/// The elements of an array body.
fn params(body: &Value) -> &[Value] {
    body.as_array().map_or(&[], Vec::as_slice)
}

/// `connect-cluster`: a cluster per params at its `ip`, connected, in the datacenter it
/// names; created when its task ends.
pub(crate) fn connect_cluster(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let mut planned = Vec::new();
    for p in params(body) {
        let datacenters = match opt_text(p, "datacenter_id") {
            Some(id) => vec![nested(store, "Cluster", "datacenters", "Datacenter", &id)?],
            None => Vec::new(),
        };
        planned.push(json!({
            "name": p["ip"],
            "ip": p["ip"],
            "management_vip": p["ip"],
            "connect_state": "CONNECTED",
            "datacenters": datacenters,
        }));
    }
    Ok(generic::create_all(store, "Cluster", planned, |cluster| {
        format!("Connect cluster {}", text(cluster, "ip"))
    }))
}

/// What `get-cluster-pin-in-performance-info` answers for `cluster`, and the pin operations'
/// tasks hold: its prioritised-space figures and its hosts'.
fn pin_info(store: &mut Store, cluster: &Value) -> Value {
    let hosts: Vec<Value> = store
        .records
        .of("Host")
        .iter()
        .filter(|h| h["cluster"]["id"] == cluster["id"])
        .cloned()
        .collect();
    let hosts: Vec<Value> = hosts
        .iter()
        .map(|h| {
            store.fill(
                "HostPinInPerformanceInfo",
                json!({
                    "id": h["id"],
                    "name": h["name"],
                    "prio_space_percentage": h["prio_space_percentage"],
                    "allocated_prioritized_space": h["allocated_prioritized_space"],
                    "planned_prioritized_space": h["planned_prioritized_space"],
                }),
            )
        })
        .collect();
    let percentage = cluster["prio_space_percentage"].as_f64().unwrap_or(0.0);
    store.fill(
        "ClusterPinInPerformanceInfo",
        json!({
            "id": cluster["id"],
            "name": cluster["name"],
            "pin_in_performance_enabled": percentage > 0.0,
            "prio_space_percentage": percentage,
            "allocated_prioritized_space": cluster["allocated_prioritized_space"],
            "planned_prioritized_space": cluster["planned_prioritized_space"],
            "total_prio_volume_size": cluster["total_prio_volume_size"],
            "hosts": hosts,
        }),
    )
}

/// `get-cluster-pin-in-performance-info`: the pin-in-performance figures of the clusters
/// `where` selects, as the enable and disable operations leave them.
pub(crate) fn pin_in_performance_info(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let ids = generic::selected_ids(store, "Cluster", &body["where"])?;
    let mut answers = Vec::new();
    for id in ids {
        if let Some(cluster) = store.records.find("Cluster", &id).cloned() {
            answers.push(pin_info(store, &cluster));
        }
    }
    Ok(Value::Array(answers))
}

/// `enable-cluster-pin-in-performance` (`data`: the cluster's default percentage and each
/// host's) and `disable-…` (every percentage 0): applied when each cluster's task ends.
pub(crate) fn pin_in_performance(
    store: &mut Store,
    body: &Value,
    enable: bool,
) -> Result<Value, ApiError> {
    let ids = generic::selected_some(store, "Cluster", &body["where"], "cluster")?;
    let default = if enable {
        body["data"]["cluster_default_prio_percentage"]
            .as_f64()
            .unwrap_or(0.0)
    } else {
        0.0
    };
    let mut per_host: Vec<(String, f64)> = Vec::new();
    for host in items(&body["data"], "hosts") {
        let percentage = host["percentage"].as_f64().unwrap_or(default);
        for id in generic::selected_ids(store, "Host", &host["where"])? {
            per_host.push((id, percentage));
        }
    }
    let mut answers = Vec::new();
    for id in ids {
        let hosts: Vec<(String, f64)> = store
            .records
            .of("Host")
            .iter()
            .filter(|h| h["cluster"]["id"] == id.as_str())
            .filter_map(|h| opt_text(h, "id"))
            .map(|host| {
                let given = per_host.iter().find(|(h, _)| *h == host).map(|(_, p)| *p);
                let percentage = if enable {
                    given.unwrap_or(default)
                } else {
                    0.0
                };
                (host, percentage)
            })
            .collect();
        let Some(mut after) = store.records.find("Cluster", &id).cloned() else {
            continue;
        };
        after["prio_space_percentage"] = default.into();
        let info = pin_info(store, &after);
        let cluster = id.clone();
        let effect = move |s: &mut Store| {
            s.update("Cluster", &cluster, |c| {
                set_field(c, "prio_space_percentage", default)
            });
            for (host, percentage) in &hosts {
                s.update("Host", host, |h| {
                    set_field(h, "prio_space_percentage", *percentage)
                });
            }
        };
        let verb = if enable { "Enable" } else { "Disable" };
        answers.push(
            Task::new(&format!("{verb} pin-in-performance"), "Cluster", &id)
                .on_success(effect)
                .answer(store, info),
        );
    }
    Ok(Value::Array(answers))
}

/// `operate-host-power`: `poweroff` stops the host's running VMs and leaves it disconnected;
/// `reboot` stops them and brings the host back. Applied when the task ends.
pub(crate) fn operate_host_power(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let host_id = text(&body["where"], "host_id").to_owned();
    let host = store
        .records
        .find("Host", &host_id)
        .cloned()
        .ok_or_else(|| ApiError::no_such(format!("host {host_id} does not exist")))?;
    let power_off = body["data"]["action"] != "reboot";
    let running: Vec<String> = store
        .records
        .of("Vm")
        .iter()
        .filter(|v| v["host"]["id"] == host_id.as_str() && v["status"] == "RUNNING")
        .filter_map(|v| opt_text(v, "id"))
        .collect();
    if !running.is_empty() && body["data"]["force"] != true {
        return Err(ApiError::invalid_state(format!(
            "host {} runs {} VMs: stop them first, or force",
            text(&host, "name"),
            running.len()
        )));
    }
    let changed = host_id.clone();
    let effect = move |s: &mut Store| {
        for id in &running {
            s.update("Vm", id, |v| set_field(v, "status", "STOPPED"));
        }
        let status = if power_off {
            json!({"connect_status": "DISCONNECTED", "merged_status": "DISCONNECTED"})
        } else {
            json!({"connect_status": "CONNECTED", "merged_status": "HEALTHY"})
        };
        s.update("Host", &changed, |h| crate::json::set(h, status));
    };
    let verb = if power_off { "Power off" } else { "Reboot" };
    Ok(Task::new(&format!("{verb} host"), "Host", &host_id)
        .on_success(effect)
        .answer(store, host))
}

/// The settings record of cluster `cluster_id`: the one it points at, else a new one
/// pointing at it (created now).
fn settings_of(store: &mut Store, cluster_id: &str) -> Result<String, ApiError> {
    let held = store
        .records
        .find("Cluster", cluster_id)
        .and_then(|c| opt_text(&c["settings"], "id"))
        .filter(|id| store.records.find("ClusterSettings", id).is_some())
        .or_else(|| {
            store
                .records
                .of("ClusterSettings")
                .iter()
                .find(|s| s["cluster"]["id"] == cluster_id)
                .and_then(|s| opt_text(s, "id"))
        });
    if let Some(id) = held {
        return Ok(id);
    }
    let cluster = nested(store, "ClusterSettings", "cluster", "Cluster", cluster_id)?;
    let record = generic::new_record_with(store, "ClusterSettings", json!({"cluster": cluster}));
    Ok(store.create("ClusterSettings", record))
}

/// `create-cluster-recycle-bin-setting`, `update-cluster-ha-setting`,
/// `update-cluster-enable-iscsi-setting`: the settings record of each cluster `where`
/// selects takes `fields` when its task ends.
pub(crate) fn cluster_settings(
    store: &mut Store,
    body: &Value,
    fields: Value,
) -> Result<Value, ApiError> {
    let clusters = generic::selected_some(store, "Cluster", &body["where"], "cluster")?;
    let mut answers = Vec::new();
    for cluster in clusters {
        let id = settings_of(store, &cluster)?;
        let mut after = store
            .records
            .find("ClusterSettings", &id)
            .cloned()
            .unwrap_or_default();
        merge(&mut after, fields.clone());
        let (changed, set) = (id.clone(), fields.clone());
        answers.push(
            Task::new("Update cluster settings", "ClusterSettings", &id)
                .on_success(move |s: &mut Store| {
                    s.update("ClusterSettings", &changed, |r| crate::json::set(r, set))
                })
                .answer(store, after),
        );
    }
    Ok(Value::Array(answers))
}

/// The tower's settings record takes `change` when the task ends; answered with the record as
/// it will be (`update-global-recycle-bin-setting`, the `auth` settings).
pub(crate) fn update_global_settings(
    store: &mut Store,
    description: &str,
    change: impl Fn(&mut Map<String, Value>) + Send + 'static,
) -> Result<Value, ApiError> {
    let id = store
        .records
        .of("GlobalSettings")
        .first()
        .and_then(|s| opt_text(s, "id"))
        .ok_or_else(|| ApiError::not_found("this tower has no settings record"))?;
    let mut answer = store
        .records
        .find("GlobalSettings", &id)
        .cloned()
        .unwrap_or_default();
    if let Some(fields) = answer.as_object_mut() {
        change(fields);
    }
    let settings = id.clone();
    Ok(Task::new(description, "GlobalSettings", &id)
        .on_success(move |s: &mut Store| s.update("GlobalSettings", &settings, change))
        .answer(store, answer))
}

/// `update-global-recycle-bin-setting`: the settings record's `vm_recycle_bin`.
pub(crate) fn update_global_recycle_bin(
    store: &mut Store,
    body: &Value,
) -> Result<Value, ApiError> {
    let bin = json!({"enabled": body["enabled"], "retain": body["retain"]});
    update_global_settings(store, "Update recycle bin setting", move |settings| {
        set_field(settings, "vm_recycle_bin", bin.clone())
    })
}

/// `update-access-restriction`, `update-password-security`, `update-session-timeout`: the
/// params that name fields of the settings' `auth` (read from the table) are set there.
pub(crate) fn update_auth_settings(
    store: &mut Store,
    body: &Value,
    _operation: &str,
) -> Result<Value, ApiError> {
    let auth_type = field_type("GlobalSettings", "auth")
        .and_then(|ty| ty.named())
        .unwrap_or("NestedAuthSettings")
        .to_owned();
    let known = schema().fields(&auth_type).unwrap_or_default();
    let mut set = Map::new();
    for (param, value) in body.as_object().into_iter().flatten() {
        if known.iter().any(|f| &f.name == param) && !value.is_null() {
            set.insert(param.clone(), value.clone());
        }
    }
    let filled = store.fill(&auth_type, json!({}));
    update_global_settings(store, "Update security settings", move |settings| {
        let auth = settings.entry("auth").or_insert_with(|| filled.clone());
        if !auth.is_object() {
            *auth = filled.clone();
        }
        merge(auth, Value::Object(set.clone()));
    })
}

/// `deploy-cloudtower-application`: the application, installing, at once (the response has
/// no task).
pub(crate) fn deploy_application(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let record = generic::new_record_with(
        store,
        "CloudTowerApplication",
        json!({
            "name": body["name"],
            "targetPackage": body["targetPackage"],
            "vmSpec": body["vmSpec"],
            "state": "INSTALLING",
            "resourceVersion": 1,
            "instanceStatuses": {},
        }),
    );
    let id = store.create("CloudTowerApplication", record);
    Ok(store
        .records
        .find("CloudTowerApplication", &id)
        .cloned()
        .unwrap_or_default())
}

/// `upgrade-cloudtower-application`: the application targets `data.targetPackage`, upgrading,
/// its resource version one up.
pub(crate) fn upgrade_application(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let id = text(&body["where"], "id").to_owned();
    if store.records.find("CloudTowerApplication", &id).is_none() {
        return Err(ApiError::no_such(format!(
            "application {id} does not exist"
        )));
    }
    let target = body["data"]["targetPackage"].clone();
    store.update("CloudTowerApplication", &id, |app| {
        let version = app["resourceVersion"].as_i64().unwrap_or(0) + 1;
        crate::json::set(
            app,
            json!({"targetPackage": target, "state": "UPGRADING", "resourceVersion": version}),
        );
    });
    Ok(store
        .records
        .find("CloudTowerApplication", &id)
        .cloned()
        .unwrap_or_default())
}

/// `uninstall-cloudtower-application`: the applications `where` selects are gone; answered
/// as they were.
pub(crate) fn uninstall_applications(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let ids = generic::selected_ids(store, "CloudTowerApplication", &body["where"])?;
    Ok(Value::Array(
        ids.iter()
            .filter_map(|id| store.delete("CloudTowerApplication", id))
            .collect(),
    ))
}

/// `backup-restore-vm-in-place` (`rebuild: false`) and `backup-rebuild-vm`: a restore
/// execution per restore point `where` selects; in place, the point's VM runs afterwards if
/// asked; rebuilt, a new VM like the point's (`data.rebuild_name`, on the target cluster and
/// host) exists when the task ends.
pub(crate) fn backup_restore(
    store: &mut Store,
    body: &Value,
    rebuild: bool,
) -> Result<Value, ApiError> {
    let points = generic::selected_some(
        store,
        "BackupRestorePoint",
        &body["where"],
        "backup restore point",
    )?;
    let data = &body["data"];
    let startup = data["startup_after_restore"] == true;
    let mut answers = Vec::new();
    for point_id in points {
        let point = store
            .records
            .find("BackupRestorePoint", &point_id)
            .cloned()
            .unwrap_or_default();
        let vm_id = opt_text(&point["vm"], "id");
        let link = nested(
            store,
            "BackupRestoreExecution",
            "backup_restore_point",
            "BackupRestorePoint",
            &point_id,
        )?;
        let mut fields = json!({
            "name": format!("restore-{}", text(&point, "vm_name")),
            "backup_restore_point": link,
            "mode": if rebuild { "REBUILD" } else { "INPLACE" },
            "status": "SUCCESS",
            "startup_after_restore": startup,
            "executed_at": now_rfc3339(),
            "total_bytes": point["size"],
            "read_bytes": point["size"],
        });
        let then: Option<Effect> = if rebuild {
            let source = vm_id
                .as_deref()
                .and_then(|id| store.records.find("Vm", id))
                .cloned()
                .unwrap_or_default();
            fields["rebuild_name"] = data["rebuild_name"].clone();
            fields["rebuild_target_cluster"] = data["rebuild_target_cluster_id"].clone();
            let creation = json!({
                "name": data["rebuild_name"],
                "cluster_id": data["rebuild_target_cluster_id"],
                "host_id": data["rebuild_target_host_id"],
                "cpu_cores": source["cpu"]["cores"].as_i64().unwrap_or(1),
                "cpu_sockets": source["cpu"]["sockets"].as_i64().unwrap_or(1),
                "memory": source["memory"].as_i64().unwrap_or(0),
                "firmware": source["firmware"].as_str().unwrap_or("BIOS"),
                "description": source["description"].as_str().unwrap_or_default(),
            });
            store.check_vm_params(&creation)?;
            let status = if startup { "RUNNING" } else { "STOPPED" };
            Some(Box::new(move |s: &mut Store| {
                if let Ok(created) = s.create_vm(&creation) {
                    s.update("Vm", text(&created, "id"), |v| {
                        set_field(v, "status", status)
                    });
                }
            }))
        } else {
            vm_id.filter(|_| startup).map(|vm| {
                Box::new(move |s: &mut Store| {
                    s.update("Vm", &vm, |v| set_field(v, "status", "RUNNING"))
                }) as Effect
            })
        };
        let record = generic::new_record_with(store, "BackupRestoreExecution", fields);
        let description = if rebuild {
            "Rebuild VM from backup"
        } else {
            "Restore VM from backup in place"
        };
        answers.push(generic::create_task(
            store,
            "BackupRestoreExecution",
            record,
            description,
            then,
        ));
    }
    Ok(Value::Array(answers))
}

/// `execute-backup-plan`: a manual run of each plan `where` selects, of the type `data`
/// asks for (`FULL` or `INCREMENTAL`). Its execution is recorded at once (`MANUAL`,
/// `RUNNING`, a job per VM of the plan) and the plan shows it running as its last run; when
/// the task ends each VM has a backup of that type (a target execution and the restore point
/// it wrote, an incremental one on top of the VM's latest point), the execution has
/// succeeded with every job, and the plan's last run (`last_execute_*`, and
/// `last_manual_execute_*` for a manual run) says so. A failed task leaves both `FAILED`.
pub(crate) fn execute_backup_plan(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let plans = generic::selected_some(store, "BackupPlan", &body["where"], "backup plan")?;
    let kind = body["data"]["type"].as_str().unwrap_or("FULL").to_owned();
    let mut answers = Vec::new();
    for plan_id in plans {
        let Some(plan) = store.records.find("BackupPlan", &plan_id).cloned() else {
            continue;
        };
        let vms: Vec<String> = crate::json::relation_ids(&plan["vms"])
            .into_iter()
            .filter(|id| store.records.find("Vm", id).is_some())
            .collect();
        let started = now_rfc3339();
        let link = nested(
            store,
            "BackupPlanExecution",
            "backup_plan",
            "BackupPlan",
            &plan_id,
        )?;
        let record = generic::new_record_with(
            store,
            "BackupPlanExecution",
            json!({
                "backup_plan": link,
                "method": "MANUAL",
                "type": kind,
                "status": "RUNNING",
                "state": "RUNNING",
                "executed_at": started,
                "total_job_count": vms.len(),
                "success_job_count": 0,
                "deletable_flag_marked": false,
            }),
        );
        let execution = store.create("BackupPlanExecution", record);
        store.update("BackupPlan", &plan_id, |p| {
            last_run(p, "RUNNING", &started, 0, vms.len())
        });
        let answer = store
            .records
            .find("BackupPlanExecution", &execution)
            .cloned()
            .unwrap_or_default();
        let (ok_plan, ok_run, kind) = (plan_id.clone(), execution.clone(), kind.clone());
        let (failed_plan, failed_run) = (plan_id.clone(), execution.clone());
        let failed_started = started.clone();
        let jobs = vms.len();
        answers.push(
            Task::new("Execute backup plan", "BackupPlanExecution", &execution)
                .on_success(move |s: &mut Store| {
                    let seconds = s.tasks.duration.as_secs();
                    for vm in &vms {
                        s.back_up_vm(&ok_plan, &ok_run, vm, &kind, &started);
                    }
                    s.update("BackupPlanExecution", &ok_run, |e| {
                        set_field(e, "status", "SUCCESS");
                        set_field(e, "state", "SUCCEED");
                        set_field(e, "success_job_count", jobs);
                        set_field(e, "duration", seconds);
                    });
                    s.update("BackupPlan", &ok_plan, |p| {
                        last_run(p, "SUCCESS", &started, jobs, jobs);
                        let points = p["backup_restore_points"].as_array().map_or(0, Vec::len);
                        set_field(p, "backup_restore_point_count", points);
                    });
                })
                .on_failure(move |s: &mut Store| {
                    s.update("BackupPlanExecution", &failed_run, |e| {
                        set_field(e, "status", "FAILED");
                        set_field(e, "state", "FAILED");
                    });
                    s.update("BackupPlan", &failed_plan, |p| {
                        last_run(p, "FAILED", &failed_started, 0, jobs)
                    });
                })
                .answer(store, answer),
        );
    }
    Ok(Value::Array(answers))
}

/// A backup plan's fields about its last run (a manual one: the API runs plans by hand).
fn last_run(plan: &mut Map<String, Value>, status: &str, at: &str, done: usize, jobs: usize) {
    for prefix in ["last_execute", "last_manual_execute"] {
        set_field(plan, &format!("{prefix}_status"), status);
        set_field(plan, &format!("{prefix}_status_message"), Value::Null);
        set_field(plan, &format!("{prefix}_success_job_count"), done);
        set_field(plan, &format!("{prefix}_total_job_count"), jobs);
    }
    set_field(plan, "last_executed_at", at);
    set_field(plan, "last_manual_executed_at", at);
}

impl Store {
    /// One VM's backup in run `execution` of plan `plan`: the target execution that wrote it
    /// and the restore point it wrote (an incremental one names the VM's latest point of the
    /// plan as its parent).
    fn back_up_vm(&mut self, plan: &str, execution: &str, vm_id: &str, kind: &str, at: &str) {
        let Some(vm) = self.records.find("Vm", vm_id).cloned() else {
            return;
        };
        let parent = (kind == "INCREMENTAL")
            .then(|| {
                self.records
                    .of("BackupRestorePoint")
                    .iter()
                    .rev()
                    .find(|p| p["backup_plan"]["id"] == plan && p["vm"]["id"] == vm_id)
                    .and_then(|p| opt_text(p, "local_id"))
            })
            .flatten();
        let size = vm["provisioned_size"]
            .as_i64()
            .or_else(|| vm["size"].as_i64())
            .unwrap_or(0);
        let (Ok(run), Ok(held_vm), Ok(held_plan)) = (
            nested(
                self,
                "BackupTargetExecution",
                "backup_plan_execution",
                "BackupPlanExecution",
                execution,
            ),
            nested(self, "BackupTargetExecution", "vm", "Vm", vm_id),
            nested(
                self,
                "BackupRestorePoint",
                "backup_plan",
                "BackupPlan",
                plan,
            ),
        ) else {
            return;
        };
        let group = self
            .records
            .find("BackupPlanExecution", execution)
            .and_then(|e| opt_text(e, "local_id"))
            .unwrap_or_default();
        let target = generic::new_record_with(
            self,
            "BackupTargetExecution",
            json!({
                "backup_plan_execution": run,
                "vm": held_vm,
                "vm_name": vm["name"],
                "vm_local_id": vm["local_id"],
                "type": kind,
                "status": "SUCCESS",
                "executed_at": at,
                "duration": self.tasks.duration.as_secs(),
                "backup_group": group,
                "parent_backup": parent.clone().unwrap_or_default(),
                "total_bytes": size,
                "read_bytes": size,
                "retry_times": 0,
            }),
        );
        let target_id = self.create("BackupTargetExecution", target);
        let Ok(held_target) = nested(
            self,
            "BackupRestorePoint",
            "backup_target_execution",
            "BackupTargetExecution",
            &target_id,
        ) else {
            return;
        };
        let held_vm = nested(self, "BackupRestorePoint", "vm", "Vm", vm_id).ok();
        let point = generic::new_record_with(
            self,
            "BackupRestorePoint",
            json!({
                "backup_plan": held_plan,
                "backup_target_execution": held_target,
                "vm": held_vm,
                "vm_name": vm["name"],
                "vm_local_id": vm["local_id"],
                "type": kind,
                "parent_restore_point": parent,
                "slice": group,
                "size": size,
                "logical_size": size,
                "local_created_at": now_rfc3339(),
            }),
        );
        self.create("BackupRestorePoint", point);
    }
}

/// `update-vsphere-esxi-account`: each account `data[].esxi_account_id` names takes the
/// `ip`, `username` and `port` given; one task for them all.
pub(crate) fn update_esxi_accounts(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let mut planned = Vec::new();
    for data in items(body, "data") {
        let id = text(data, "esxi_account_id").to_owned();
        let Some(mut account) = store.records.find("VsphereEsxiAccount", &id).cloned() else {
            return Err(ApiError::no_such(format!(
                "ESXi account {id} does not exist"
            )));
        };
        let mut set = json!({"ip": data["ip"], "username": data["username"]});
        if let Some(port) = data["port"].as_i64() {
            set["port"] = port.into();
        }
        merge(&mut account, set.clone());
        planned.push((id, set, account));
    }
    let accounts: Vec<Value> = planned.iter().map(|(_, _, a)| a.clone()).collect();
    let changes: Vec<(String, Value)> = planned.into_iter().map(|(i, s, _)| (i, s)).collect();
    let answer = Task::new("Update ESXi accounts", "VsphereEsxiAccount", "")
        .on_success(move |s: &mut Store| {
            for (id, set) in changes {
                s.update("VsphereEsxiAccount", &id, |a| crate::json::set(a, set));
            }
        })
        .answer(store, Value::Array(accounts));
    Ok(json!([answer]))
}

/// `force-stop-log-collection`: each selected collection still running stops (FAILED, as a
/// tower shows one stopped by force) when its task ends.
pub(crate) fn force_stop_log_collection(
    store: &mut Store,
    body: &Value,
) -> Result<Value, ApiError> {
    task_per_selected(
        store,
        &body["where"],
        "LogCollection",
        "log collection",
        |_, record| {
            let id = text(record, "id").to_owned();
            let effect: Effect = Box::new(move |s: &mut Store| {
                s.update("LogCollection", &id, |c| {
                    if c.get("status").and_then(Value::as_str) != Some("SUCCESSED") {
                        set_field(c, "status", "FAILED");
                    }
                })
            });
            ("Force stop log collection".to_owned(), effect)
        },
    )
}

/// `stop-vm-in-cutover-migration`: the VMs the selected migration tasks move are stopped
/// when their task ends.
pub(crate) fn stop_vm_in_cutover(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let tasks = generic::selected_ids(store, "Task", &body["tasks"])?;
    let vms: Vec<String> = tasks
        .iter()
        .filter_map(|t| store.records.find("Task", t))
        .filter(|t| t["resource_type"] == "Vm")
        .filter_map(|t| opt_text(t, "resource_id"))
        .filter(|id| store.records.find("Vm", id).is_some())
        .collect();
    if vms.is_empty() {
        return Err(ApiError::nothing_selected(
            "no task of a VM matches `tasks`",
        ));
    }
    let change: vm::VmChange = Box::new(|v| set_field(v, "status", "STOPPED"));
    Ok(Value::Array(vm::vm_answers(
        store,
        &vms,
        "Stop VM in cutover migration",
        Some(change),
    )))
}

/// `batch-create-virtual-private-cloud-floating-ips`: a floating IP of the VPC per address
/// given (or `auto_allocate_number` of them), each created by its task; answered with each
/// one's `local_id`.
pub(crate) fn create_floating_ips(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let vpc = nested(
        store,
        "VirtualPrivateCloudFloatingIp",
        "vpc",
        "VirtualPrivateCloud",
        text(body, "vpc_id"),
    )?;
    let mut addresses = crate::json::strings(&body["ip_addresses"]);
    let auto = body["auto_allocate_number"]
        .as_f64()
        .unwrap_or(0.0)
        .max(0.0);
    // Bounded: a client's number never makes more than a /24 of addresses.
    for i in 0..(auto as usize).min(254) {
        addresses.push(format!("192.168.255.{}", i + 1));
    }
    let mut answers = Vec::new();
    for address in addresses {
        let record = generic::new_record_with(
            store,
            "VirtualPrivateCloudFloatingIp",
            json!({"vpc": vpc, "external_ip": address}),
        );
        let local_id = record["local_id"].clone();
        let mut answer = generic::create_task(
            store,
            "VirtualPrivateCloudFloatingIp",
            record,
            &format!("Create floating IP {address}"),
            None,
        );
        answer["data"] = json!({ "local_id": local_id });
        answers.push(answer);
    }
    Ok(Value::Array(answers))
}

/// `abort-migrate-vm-across-cluster`: the running tasks `tasks` selects fail now (what they
/// would have changed stays as it was), shown as aborted; answered with those tasks.
pub(crate) fn abort_tasks(store: &mut Store, body: &Value) -> Result<Value, ApiError> {
    let selected = generic::selected_some(store, "Task", &body["tasks"], "task")?;
    let aborted: Vec<String> = selected
        .into_iter()
        .filter(|id| store.tasks.abort(id))
        .collect();
    if aborted.is_empty() {
        return Err(ApiError::invalid_state(
            "the selected tasks have already ended",
        ));
    }
    store.advance();
    let mut answers = Vec::new();
    for id in &aborted {
        if let Some(task) = store.records.fields_mut("Task", id) {
            let description = task["description"].as_str().unwrap_or_default().to_owned();
            task.insert("error_code".into(), "Aborted".into());
            task.insert(
                "error_message".into(),
                format!("{description}: aborted by the user").into(),
            );
            answers.push(Value::Object(task.clone()));
        }
    }
    Ok(Value::Array(answers))
}
