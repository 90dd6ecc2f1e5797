//! The reactors: what each operation does to the store, registered in one table
//! ([`REGISTRY`]). An operation without an entry takes the generic path
//! ([`generic::answer`]): the behaviour of its shape (list, connection, create, update,
//! delete) read from the API table, or an answer valid for its response schema.
//!
//! Reactors sit above the store and the task engine and below the HTTP layer: they call down
//! into [`Store`](crate::state::Store), never the other way.

pub(crate) mod admin;
pub(crate) mod generic;
pub(crate) mod metrics;
pub(crate) mod more;
pub(crate) mod tower;
pub(crate) mod transfer;
pub(crate) mod uploads;
pub(crate) mod vm;

use std::collections::HashMap;
use std::sync::OnceLock;

use cloudtower_schema::OperationKind;
use serde_json::{json, Value};

use crate::state::{ApiError, Store};
use crate::table::schema;

/// A reactor over the store: `(store, request body, operation)` → answer.
pub(crate) type StoreReactor = fn(&mut Store, &Value, &str) -> Result<Value, ApiError>;

/// Who makes a call: the user a session was opened for (an API key acts as the built-in
/// user), as the HTTP layer knows it.
pub(crate) struct Caller {
    pub username: String,
    /// `UserSource` (`LOCAL`, `LDAP`, …).
    pub source: String,
}

/// A reactor that needs to know who calls (`get-my-info`).
pub(crate) type CallerReactor = fn(&mut Store, &Caller, &Value) -> Result<Value, ApiError>;

/// How a registered operation is served.
#[derive(Clone, Copy)]
pub(crate) enum Serve {
    /// By a reactor over the store of the tower the call is for.
    Store(StoreReactor),
    /// By the sessions (`login`), not the store.
    Auth,
    /// By a reactor over the store that is told who calls.
    Caller(CallerReactor),
    /// By an HTTP route of its own (a `GET` with a query, a multipart form).
    Route,
}

/// One entry of the registry.
pub(crate) struct Entry {
    pub operation: &'static str,
    /// The reactor family, for the coverage table (`vm`, `uploads`, …).
    pub reactor: &'static str,
    pub serve: Serve,
}

const fn store(operation: &'static str, reactor: &'static str, f: StoreReactor) -> Entry {
    Entry {
        operation,
        reactor,
        serve: Serve::Store(f),
    }
}

/// Every operation with behaviour of its own: the one list (the coverage table, the HTTP
/// routes and dispatch all read it).
pub(crate) const REGISTRY: &[Entry] = &[
    Entry {
        operation: "login",
        reactor: "auth",
        serve: Serve::Auth,
    },
    Entry {
        operation: "get-version",
        reactor: "version",
        serve: Serve::Route,
    },
    Entry {
        operation: "resource-changes",
        reactor: "changes",
        serve: Serve::Route,
    },
    Entry {
        operation: "upload-elf-image",
        reactor: "uploads",
        serve: Serve::Route,
    },
    Entry {
        operation: "upload-content-library-image",
        reactor: "uploads",
        serve: Serve::Route,
    },
    Entry {
        operation: "upload-svt-image",
        reactor: "uploads",
        serve: Serve::Route,
    },
    Entry {
        operation: "upload-cloudtower-application-package",
        reactor: "uploads",
        serve: Serve::Route,
    },
    Entry {
        operation: "upload-elf-file",
        reactor: "uploads",
        serve: Serve::Route,
    },
    Entry {
        operation: "get-my-info",
        reactor: "auth",
        serve: Serve::Caller(|s, caller, _| tower::my_info(s, caller)),
    },
    store("update-license", "settings", |s, b, _| {
        tower::update_license(s, b)
    }),
    store("get-cluster-storage-info", "cluster", |s, b, _| {
        tower::cluster_storage_info(s, b)
    }),
    store("get-discover-hosts", "hosts", |s, b, _| {
        tower::discover_hosts(s, b)
    }),
    store("get-meta-leader", "cluster", |s, b, _| {
        tower::meta_leader(s, b)
    }),
    store("get-witness-services", "cluster", |s, b, _| {
        tower::witness_services(s, b)
    }),
    store("get-vm-gpu-device-info", "vm", |s, b, _| {
        tower::vm_gpu_device_info(s, b)
    }),
    store("get-detail-vm-info-by-gpu-devices", "host", |s, b, _| {
        tower::gpu_device_vm_info(s, b)
    }),
    store("get-backup-restore-point-metadata", "backup", |s, b, _| {
        tower::backup_restore_point_metadata(s, b)
    }),
    store("execute-backup-plan", "backup", |s, b, _| {
        admin::execute_backup_plan(s, b)
    }),
    store("generate-from-report-template", "report", |s, b, _| {
        more::generate_report(s, b)
    }),
    store("cancel-upload-task", "uploads", |s, b, _| {
        uploads::cancel(s, b)
    }),
    store("add-labels-to-resources", "labels", |s, b, _| {
        generic::link(s, "Label", b, true)
    }),
    store("remove-labels-from-resources", "labels", |s, b, _| {
        generic::link(s, "Label", b, false)
    }),
    store("create-vm", "vm", |s, b, _| vm::create_vm(s, b)),
    store(
        "create-vm-from-content-library-template",
        "vm",
        |s, b, _| vm::create_vm_from_template(s, b),
    ),
    store("update-vm-basic-info", "vm", |s, b, _| {
        vm::update_vm_basic_info(s, b)
    }),
    store("start-vm", "vm", |s, b, _| {
        vm::power(s, b, "start", crate::json::opt_text(&b["data"], "host_id"))
    }),
    store("shutdown-vm", "vm", vm::power_op),
    store("poweroff-vm", "vm", vm::power_op),
    store("restart-vm", "vm", vm::power_op),
    store("force-restart-vm", "vm", vm::power_op),
    store("suspend-vm", "vm", vm::power_op),
    store("resume-vm", "vm", vm::power_op),
    store("move-vm-to-recycle", "vm", vm::recycle),
    store("recover-vm-from-recycle", "vm", vm::recycle),
    store("delete-vm", "vm", |s, b, _| vm::delete_vm(s, b)),
    store("remove-vm-nic-by-where", "vm", |s, b, _| {
        vm::remove_nics_by_where(s, b)
    }),
    store("add-vm-disk", "vm", vm::edit_vm),
    store("remove-vm-disk", "vm", vm::edit_vm),
    store("add-vm-nic", "vm", vm::edit_vm),
    store("remove-vm-nic", "vm", vm::edit_vm),
    store("add-vm-cd-rom", "vm", vm::edit_vm),
    store("remove-vm-cd-rom", "vm", vm::edit_vm),
    store("migrate-vm", "vm", vm::edit_vm),
    store("get-vm-vnc-info", "vm", |s, b, _| vm::vnc_info(s, b)),
    store("create-vm-snapshot", "vm-snapshot", |s, b, _| {
        vm::create_vm_snapshot(s, b)
    }),
    store("delete-vm-snapshot", "vm-snapshot", |s, b, _| {
        vm::delete_vm_snapshot(s, b)
    }),
    store("rebuild-vm-from-snapshot", "vm-snapshot", |s, b, _| {
        vm::rebuild_vm(s, b)
    }),
    store("rollback-vm", "vm-snapshot", |s, b, _| {
        vm::rollback_vm(s, b)
    }),
    store("clone-vm", "vm", |s, b, _| more::clone_vm(s, b)),
    store("add-vm-to-folder", "vm", |s, b, _| {
        more::add_vm_to_folder(s, b)
    }),
    store("add-vm-gpu-device", "vm", |s, b, _| {
        more::add_vm_gpu_device(s, b)
    }),
    store("add-vm-pci-nic", "vm", |s, b, _| more::add_vm_pci_nic(s, b)),
    store("remove-vm-from-folder", "vm", |s, b, _| {
        more::remove_vm_from_folder(s, b)
    }),
    store("remove-vm-gpu-device", "vm", |s, b, _| {
        more::remove_vm_gpu_device(s, b)
    }),
    store("remove-vm-pci-nic", "vm", |s, b, _| {
        more::remove_vm_pci_nic(s, b)
    }),
    store("expand-vm-disk", "vm", |s, b, _| more::expand_vm_disk(s, b)),
    store("eject-iso-from-vm-cd-rom", "vm", |s, b, _| {
        more::eject_iso(s, b)
    }),
    store("set-vm-disk-resident-in-cache", "vm", |s, b, _| {
        more::set_disk_resident_in_cache(s, b)
    }),
    store("toggle-vm-cd-rom-disable", "vm", |s, b, _| {
        more::toggle_cd_rom(s, b)
    }),
    store("create-vm-volume-snapshot", "vm-volume", |s, b, _| {
        more::create_vm_volume_snapshot(s, b)
    }),
    store("rollback-vm-volume", "vm-volume", |s, b, _| {
        more::rollback_vm_volume(s, b)
    }),
    store(
        "rollback-nvmf-namespace-from-snapshot",
        "nvmf",
        |s, b, _| more::rollback_from_snapshot(s, b, &more::NAMESPACE),
    ),
    store("resolve-alert", "alert", |s, b, _| {
        let now = crate::json::now_rfc3339();
        more::set_on_selected(s, b, "Alert", json!({"ended": true, "local_end_time": now}))
    }),
    store("execute-snapshot-plan", "snapshot-plan", |s, b, _| {
        more::execute_snapshot_plan(s, b)
    }),
    store("enter-maintance-mode", "host", |s, b, _| {
        more::maintenance_mode(s, b, true)
    }),
    store("exit-maintance-mode", "host", |s, b, _| {
        more::maintenance_mode(s, b, false)
    }),
    store("install-vmtools", "vm", |s, b, _| {
        more::install_vmtools(s, b)
    }),
    store("rollback-snapshot-group", "snapshot-plan", |s, b, _| {
        more::rollback_snapshot_group(s, b)
    }),
    store("keep-snapshot-group", "snapshot-plan", |s, b, _| {
        more::set_on_selected(s, b, "SnapshotGroup", json!({"keep": true}))
    }),
    store("migrate-vm-across-cluster", "vm", |s, b, _| {
        more::migrate_vm_across_cluster(s, b)
    }),
    store(
        "create-vm-from-content-library-template-batch",
        "vm",
        |s, b, _| more::create_vms_from_template_batch(s, b),
    ),
    store("rebuild-vm-volume", "vm-volume", |s, b, _| {
        more::rebuild_vm_volume(s, b)
    }),
    store("mount-disk", "host", |s, b, _| {
        let mut fields = json!({"mounted": true});
        if let Some(function) = b["data"]["function"].as_str() {
            fields["function"] = function.into();
        }
        more::set_on_selected(s, b, "Disk", fields)
    }),
    store("unmount-disk", "host", |s, b, _| {
        more::set_on_selected(s, b, "Disk", json!({"mounted": false}))
    }),
    store("suspend-snapshot-plan", "snapshot-plan", |s, b, _| {
        more::set_on_selected(s, b, "SnapshotPlan", json!({"status": "SUSPENDED"}))
    }),
    store("resume-snapshot-plan", "snapshot-plan", |s, b, _| {
        more::set_on_selected(s, b, "SnapshotPlan", json!({"status": "NORMAL"}))
    }),
    store("suspend-backup-plan", "backup", |s, b, _| {
        more::set_on_selected(s, b, "BackupPlan", json!({"status": "PAUSED"}))
    }),
    store("resume-backup-plan", "backup", |s, b, _| {
        more::set_on_selected(s, b, "BackupPlan", json!({"status": "WORKING"}))
    }),
    store("clone-vm-template-from-vm", "vm-template", |s, b, _| {
        more::template_from_vm(s, b, false)
    }),
    store("convert-vm-template-from-vm", "vm-template", |s, b, _| {
        more::template_from_vm(s, b, true)
    }),
    store("convert-vm-template-to-vm", "vm-template", |s, b, _| {
        more::template_to_vm(s, b)
    }),
    store("clone-iscsi-lun-from-snapshot", "iscsi", |s, b, _| {
        more::clone_lun_from_snapshot(s, b)
    }),
    store("rollback-iscsi-lun-from-snapshot", "iscsi", |s, b, _| {
        more::rollback_from_snapshot(s, b, &more::LUN)
    }),
    store("create-host", "hosts", |s, b, _| more::create_hosts(s, b)),
    store("create-vm-vlan", "network", |s, b, op| {
        more::create_with_defaults(s, b, op, &serde_json::json!({"type": "VM"}))
    }),
    store(
        "update-global-recycle-bin-setting",
        "settings",
        |s, b, _| admin::update_global_recycle_bin(s, b),
    ),
    store(
        "update-access-restriction",
        "settings",
        admin::update_auth_settings,
    ),
    store(
        "update-password-security",
        "settings",
        admin::update_auth_settings,
    ),
    store(
        "update-session-timeout",
        "settings",
        admin::update_auth_settings,
    ),
    store(
        "create-cluster-recycle-bin-setting",
        "settings",
        |s, b, _| {
            let bin = json!({"enabled": b["data"]["enabled"], "retain": b["data"]["retain"]});
            admin::cluster_settings(s, b, json!({ "vm_recycle_bin": bin }))
        },
    ),
    store("update-cluster-ha-setting", "settings", |s, b, _| {
        admin::cluster_settings(s, b, json!({"default_ha": b["ha"]}))
    }),
    store(
        "update-cluster-enable-iscsi-setting",
        "settings",
        |s, b, _| admin::cluster_settings(s, b, json!({"enabled_iscsi": b["enable_iscsi"]})),
    ),
    store("export-vm", "transfer", |s, b, _| {
        transfer::export(s, b, "Vm", "vm")
    }),
    store("export-vm-volume", "transfer", |s, b, _| {
        transfer::export(s, b, "VmVolume", "vm_volume")
    }),
    store(
        "export-content-library-vm-template",
        "transfer",
        |s, b, _| {
            transfer::export(
                s,
                b,
                "ContentLibraryVmTemplate",
                "content_library_vm_template",
            )
        },
    ),
    store("import-vm", "transfer", |s, b, _| transfer::import_vm(s, b)),
    store("import-vm-volume", "transfer", |s, b, _| {
        transfer::import_vm_volume(s, b)
    }),
    store(
        "import-content-library-vm-template",
        "transfer",
        |s, b, _| transfer::import_content_library_template(s, b),
    ),
    store("import-content-library-image", "transfer", |s, b, _| {
        transfer::import_content_library_image(s, b)
    }),
    store(
        "clone-content-library-vm-template-from-vm",
        "transfer",
        |s, b, _| transfer::content_library_template_from_vm(s, b, false),
    ),
    store(
        "convert-content-library-vm-template-from-vm",
        "transfer",
        |s, b, _| transfer::content_library_template_from_vm(s, b, true),
    ),
    store("connect-cluster", "cluster", |s, b, _| {
        admin::connect_cluster(s, b)
    }),
    store("enable-cluster-pin-in-performance", "cluster", |s, b, _| {
        admin::pin_in_performance(s, b, true)
    }),
    store(
        "disable-cluster-pin-in-performance",
        "cluster",
        |s, b, _| admin::pin_in_performance(s, b, false),
    ),
    store(
        "get-cluster-pin-in-performance-info",
        "cluster",
        |s, b, _| admin::pin_in_performance_info(s, b),
    ),
    store("operate-host-power", "host", |s, b, _| {
        admin::operate_host_power(s, b)
    }),
    store("switch-gpu-device-sriov", "host", |s, b, _| {
        let enable = b["data"]["enable"] == true;
        more::set_on_selected(
            s,
            b,
            "GpuDevice",
            json!({ "is_nvidia_vfs_enabled": enable }),
        )
    }),
    store("backup-restore-vm-in-place", "backup", |s, b, _| {
        admin::backup_restore(s, b, false)
    }),
    store("backup-rebuild-vm", "backup", |s, b, _| {
        admin::backup_restore(s, b, true)
    }),
    store(
        "deploy-cloudtower-application",
        "applications",
        |s, b, _| admin::deploy_application(s, b),
    ),
    store(
        "upgrade-cloudtower-application",
        "applications",
        |s, b, _| admin::upgrade_application(s, b),
    ),
    store(
        "uninstall-cloudtower-application",
        "applications",
        |s, b, _| admin::uninstall_applications(s, b),
    ),
    store("update-vsphere-esxi-account", "host", |s, b, _| {
        admin::update_esxi_accounts(s, b)
    }),
    store("force-stop-log-collection", "log-collection", |s, b, _| {
        admin::force_stop_log_collection(s, b)
    }),
    store("rollback-consistency-snapshot-group", "iscsi", |s, b, _| {
        more::rollback_consistency_group(s, b)
    }),
    store("move-node-topo", "topology", |s, b, op| {
        generic::update_each(s, op, "NodeTopo", b)
    }),
    store(
        "batch-create-virtual-private-cloud-floating-ips",
        "network",
        |s, b, _| admin::create_floating_ips(s, b),
    ),
    store("abort-migrate-vm-across-cluster", "vm", |s, b, _| {
        admin::abort_tasks(s, b)
    }),
    store(
        "get-backup-plans-without-executions",
        "backup",
        |s, b, _| generic::list_without(s, "get-backup-plans", b, &["backup_plan_executions"]),
    ),
    store(
        "get-replication-plans-without-executions",
        "backup",
        |s, b, _| {
            generic::list_without(
                s,
                "get-replication-plans",
                b,
                &[
                    "replication_plan_executions",
                    "replication_target_executions",
                ],
            )
        },
    ),
    store("get-export-file-download-links", "transfer", |s, b, _| {
        transfer::download_links(s, b)
    }),
    store("stop-vm-in-cutover-migration", "vm", |s, b, _| {
        admin::stop_vm_in_cutover(s, b)
    }),
];

fn by_operation() -> &'static HashMap<&'static str, &'static Entry> {
    static MAP: OnceLock<HashMap<&'static str, &'static Entry>> = OnceLock::new();
    MAP.get_or_init(|| REGISTRY.iter().map(|e| (e.operation, e)).collect())
}

/// The registry's entry for `operation`.
pub(crate) fn entry(operation: &str) -> Option<&'static Entry> {
    by_operation().get(operation).copied()
}

/// Answers `operation` on `store` (its body already checked against the table).
pub(crate) fn dispatch(
    store: &mut Store,
    operation: &str,
    body: &Value,
) -> Result<Value, ApiError> {
    match entry(operation).map(|e| e.serve) {
        Some(Serve::Store(react)) => react(store, body, operation),
        _ if metrics::serves(operation) => metrics::answer(store, operation, body),
        _ => generic::answer(store, operation, body),
    }
}

/// What the mock does with an operation (the coverage table's column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// A reactor of its own ([`crate::reactor_of`] names it).
    Override,
    /// The generic behaviour of its shape (list, connection, create, update, delete; for an
    /// operation outside the regular shapes, the create, delete or update its name and
    /// request spell).
    Generic,
    /// An answer valid for its response schema, reflecting the store where it can; what that
    /// does to the store says which kind of exception it is.
    SchemaOnly(SchemaOnly),
}

/// Why an operation is answered from its response schema, and what that answer does to the
/// store: a read or an operation with nothing to change is an exception by design; a
/// mutation with no effect is a gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaOnly {
    /// A read of something the store does not hold (`get-…`).
    Read,
    /// A mutation whose effect is a new record per record its `where` selects, pointing at it
    /// (as a plan's execution points at the plan it runs).
    CreatesRelated,
    /// A mutation whose effect is the update of the one record it answers, with the params
    /// that name fields of it (`update-alert-notifier`).
    UpdatesRecord,
    /// A mutation with nothing to change in any record of the API; why
    /// (the mock's `NOTHING_TO_CHANGE` table).
    NothingToChange(&'static str),
    /// A mutation that changes nothing although it should: a gap.
    Gap,
}

/// Operations that change no record of the API, and why: what they do happens outside the
/// records (a file, a LED, a guest's password, a link the table has no resource for) or they
/// only read.
pub(crate) const NOTHING_TO_CHANGE: &[(&str, &str)] = &[
    (
        "enter-maintenance-mode-precheck",
        "a precheck: it answers the id of the check's task and changes nothing",
    ),
    (
        "enter-maintance-mode-precheck-result",
        "reads the outcome of a precheck",
    ),
    (
        "exit-maintance-mode-precheck-result",
        "reads the outcome of a precheck",
    ),
    (
        "export-csv",
        "renders a list as a CSV file; no record keeps it",
    ),
    (
        "parse-ovf",
        "parses the uploaded OVF descriptor and answers it; nothing is stored",
    ),
    (
        "trigger-disk-blink",
        "lights a disk's LED; no field records the LED",
    ),
    (
        "disassociate-system-service-from-obs-service",
        "no record of the table holds a service's link to an observability service",
    ),
    (
        "clear-system-service-alert-notification-config",
        "no record of the table holds a service's alert notification config",
    ),
    (
        "reset-vm-guest-os-password",
        "the password lives in the guest, in no record; a task per VM",
    ),
];

/// How the mock answers `path` (an operation of the table), and which reactor serves it.
pub(crate) fn coverage(path: &str) -> (Coverage, &'static str) {
    if let Some(entry) = entry(path) {
        return (Coverage::Override, entry.reactor);
    }
    if metrics::serves(path) {
        return (Coverage::Override, "metrics");
    }
    let schema_only = (Coverage::SchemaOnly(schema_only_kind(path)), "schema-only");
    let Some(op) = schema().operation(path) else {
        return schema_only;
    };
    match &op.kind {
        OperationKind::Other if generic::other_shape(path).is_some() => {
            (Coverage::Generic, "generic")
        }
        OperationKind::Other => schema_only,
        _ => (Coverage::Generic, "generic"),
    }
}

/// What the schema-only answer of `path` is: read from its name, [`NOTHING_TO_CHANGE`], and
/// what [`generic::schema_only_effect`] reads from its types.
fn schema_only_kind(path: &str) -> SchemaOnly {
    if let Some((_, why)) = NOTHING_TO_CHANGE.iter().find(|(op, _)| *op == path) {
        return SchemaOnly::NothingToChange(why);
    }
    let read = path.starts_with("get-")
        || schema()
            .operation(path)
            .is_some_and(|op| op.method == cloudtower_schema::Method::Get);
    if read {
        return SchemaOnly::Read;
    }
    match generic::schema_only_effect(path) {
        generic::SchemaOnlyEffect::CreatesRelated => SchemaOnly::CreatesRelated,
        generic::SchemaOnlyEffect::UpdatesNamed => SchemaOnly::UpdatesRecord,
        generic::SchemaOnlyEffect::Nothing => SchemaOnly::Gap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every entry names an operation of the table, once.
    #[test]
    fn the_registry_names_operations_of_the_table_once() {
        let mut seen = std::collections::HashSet::new();
        for entry in REGISTRY {
            assert!(
                schema().operation(entry.operation).is_some(),
                "`{}` is not an operation of the table",
                entry.operation
            );
            assert!(seen.insert(entry.operation), "`{}` twice", entry.operation);
        }
    }

    /// An operation with nothing to change is one of the table, served by no reactor.
    #[test]
    fn nothing_to_change_names_schema_only_operations_of_the_table() {
        for (operation, _) in NOTHING_TO_CHANGE {
            assert!(schema().operation(operation).is_some(), "`{operation}`");
            assert!(
                matches!(
                    coverage(operation).0,
                    Coverage::SchemaOnly(SchemaOnly::NothingToChange(_))
                ),
                "`{operation}` has a reactor: take it out of NOTHING_TO_CHANGE"
            );
        }
    }
}
