//! Streams over list operations that page with `first` and `after`.
//!
//! ```no_run
//! # async fn demo(client: cloudtower_api::Client) -> Result<(), cloudtower_api::Error> {
//! use futures_util::TryStreamExt;
//! use cloudtower_api::models::{GetVmsRequestBody, VmOrderByInput, VmWhereInput};
//!
//! let request = GetVmsRequestBody {
//!     r#where: VmWhereInput { name_starts_with: "web-".to_string().into(), ..Default::default() }.into(),
//!     order_by: VmOrderByInput::NameAsc.into(),
//!     ..Default::default()
//! };
//! let mut vms = std::pin::pin!(client.paginate(request).page_size(200).items());
//! while let Some(vm) = vms.try_next().await? {
//!     println!("{}", vm.name);
//! }
//! # Ok(()) }
//! ```

use futures_util::future::BoxFuture;
use futures_util::{stream, Stream, TryStreamExt};

use crate::{Client, Error};

/// A `get-*` request body that pages with `first` + `after` (an item id), over items that
/// have an `id`. Implemented for every such operation of the API.
pub trait ListRequest: Clone + Send + Sync + 'static {
    type Item: Send + 'static;
    /// Asks for `first` items after the one with id `after`; clears the other paging fields.
    fn set_page(&mut self, first: i32, after: Option<String>);
    /// The id of `item`, the cursor for the next page.
    fn cursor(item: &Self::Item) -> &str;
    /// Sends the request.
    fn fetch(client: &Client, request: Self) -> BoxFuture<'static, Result<Vec<Self::Item>, Error>>;
}

/// The pages of a list request; see [`Client::paginate`].
#[derive(Clone, Debug)]
#[must_use = "a paginator does nothing until its stream is polled"]
pub struct Paginator<R> {
    client: Client,
    request: R,
    page_size: i32,
}

impl Client {
    /// Pages through a list operation, keeping the request's `where` and `orderBy`.
    pub fn paginate<R: ListRequest>(&self, request: R) -> Paginator<R> {
        Paginator {
            client: self.clone(),
            request,
            page_size: 100,
        }
    }
}

impl<R: ListRequest> Paginator<R> {
    /// Items per request (default 100; at least 1).
    pub fn page_size(mut self, page_size: i32) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// The pages, one request each, until a page comes back short.
    pub fn pages(self) -> impl Stream<Item = Result<Vec<R::Item>, Error>> + Send {
        let Paginator {
            client,
            request,
            page_size,
        } = self;
        // The state is the cursor of the next page: `None` when done, `Some(None)` at first.
        stream::try_unfold(Some(None), move |cursor: Option<Option<String>>| {
            let (client, mut request) = (client.clone(), request.clone());
            async move {
                let Some(after) = cursor else {
                    return Ok(None);
                };
                request.set_page(page_size, after.clone());
                let page = R::fetch(&client, request).await?;
                let next = match page.last() {
                    // A server that ignores `after` would repeat the same page forever.
                    Some(last) if page.len() >= page_size as usize => {
                        let id = R::cursor(last);
                        (after.as_deref() != Some(id)).then(|| Some(id.to_owned()))
                    }
                    _ => None,
                };
                Ok((!page.is_empty()).then_some((page, next)))
            }
        })
    }

    /// The items of all pages, one by one.
    pub fn items(self) -> impl Stream<Item = Result<R::Item, Error>> + Send {
        self.pages()
            .map_ok(|page| stream::iter(page.into_iter().map(Ok)))
            .try_flatten()
    }

    /// All items of all pages.
    pub async fn collect(self) -> Result<Vec<R::Item>, Error> {
        self.pages().try_concat().await
    }
}

macro_rules! list_requests {
    ($($feature:literal $request:ident => $item:ident, $method:ident;)*) => {$(
        #[cfg(feature = $feature)]
        impl ListRequest for crate::models::$request {
            type Item = crate::models::$item;
            fn set_page(&mut self, first: i32, after: Option<String>) {
                self.first = first.into();
                self.after = after.map_or(crate::Nullable::Absent, crate::Nullable::Value);
                self.skip = crate::Nullable::Absent;
                self.before = crate::Nullable::Absent;
                self.last = crate::Nullable::Absent;
            }
            fn cursor(item: &Self::Item) -> &str {
                &item.id
            }
            fn fetch(client: &Client, request: Self) -> BoxFuture<'static, Result<Vec<Self::Item>, Error>> {
                let client = client.clone();
                Box::pin(async move { client.$method(&request).await })
            }
        }
    )*};
}

// Every `get-*` operation whose body has `first` and `after` and whose items have an `id`,
// behind the Cargo feature of its spec module.
// (`get-vm-gpu-device-info` shares `GetVmsRequestBody` with `get-vms`, which owns it here.)
// TODO(generator): emit this invocation with the generated code so that it follows the spec.
list_requests! {
    "alert" GetAlertsRequestBody => Alert, get_alerts;
    "alert-notifier" GetAlertNotifiersRequestBody => AlertNotifier, get_alert_notifiers;
    "alert-rule" GetAlertRulesRequestBody => AlertRule, get_alert_rules;
    "application" GetApplicationsRequestBody => Application, get_applications;
    "backup-plan" GetBackupPlansRequestBody => BackupPlan, get_backup_plans;
    "backup-plan-execution" GetBackupPlanExecutionsRequestBody => BackupPlanExecution, get_backup_plan_executions;
    "backup-restore-execution" GetBackupRestoreExecutionsRequestBody => BackupRestoreExecution, get_backup_restore_executions;
    "backup-restore-point" GetBackupRestorePointsRequestBody => BackupRestorePoint, get_backup_restore_points;
    "backup-service" GetBackupServicesRequestBody => BackupService, get_backup_services;
    "backup-store-repository" GetBackupStoreRepositoriesRequestBody => BackupStoreRepository, get_backup_store_repositories;
    "backup-target-execution" GetBackupTargetExecutionsRequestBody => BackupTargetExecution, get_backup_target_executions;
    "brick-topo" GetBrickTopoesRequestBody => BrickTopo, get_brick_topoes;
    "cloud-tower-application" GetCloudTowerApplicationsRequestBody => CloudTowerApplication, get_cloud_tower_applications;
    "cloud-tower-application-package" GetCloudTowerApplicationPackagesRequestBody => CloudTowerApplicationPackage, get_cloud_tower_application_packages;
    "cluster" GetClustersRequestBody => Cluster, get_clusters;
    "cluster-image" GetClusterImagesRequestBody => ClusterImage, get_cluster_images;
    "cluster-settings" GetClusterSettingsesRequestBody => ClusterSettings, get_cluster_settingses;
    "cluster-topo" GetClusterTopoesRequestBody => ClusterTopo, get_cluster_topoes;
    "cluster-upgrade-history" GetClusterUpgradeHistoriesRequestBody => ClusterUpgradeHistory, get_cluster_upgrade_histories;
    "consistency-group" GetConsistencyGroupsRequestBody => ConsistencyGroup, get_consistency_groups;
    "consistency-group-snapshot" GetConsistencyGroupSnapshotsRequestBody => ConsistencyGroupSnapshot, get_consistency_group_snapshots;
    "content-library-image" GetContentLibraryImagesRequestBody => ContentLibraryImage, get_content_library_images;
    "content-library-vm-template" GetContentLibraryVmTemplatesRequestBody => ContentLibraryVmTemplate, get_content_library_vm_templates;
    "datacenter" GetDatacentersRequestBody => Datacenter, get_datacenters;
    "deploy" GetDeploysRequestBody => Deploy, get_deploys;
    "disk" GetDisksRequestBody => Disk, get_disks;
    "elf-data-store" GetElfDataStoresRequestBody => ElfDataStore, get_elf_data_stores;
    "elf-image" GetElfImagesRequestBody => ElfImage, get_elf_images;
    "elf-storage-policy" GetElfStoragePoliciesRequestBody => ElfStoragePolicy, get_elf_storage_policies;
    "entity-filter" GetEntityFiltersRequestBody => EntityFilter, get_entity_filters;
    "everoute-cluster" GetEverouteClustersRequestBody => EverouteCluster, get_everoute_clusters;
    "everoute-license" GetEverouteLicensesRequestBody => EverouteLicense, get_everoute_licenses;
    "everoute-package" GetEveroutePackagesRequestBody => EveroutePackage, get_everoute_packages;
    "global-alert-rule" GetGlobalAlertRulesRequestBody => GlobalAlertRule, get_global_alert_rules;
    "global-settings" GetGlobalSettingsesRequestBody => GlobalSettings, get_global_settingses;
    "gpu-device" GetGpuDevicesRequestBody => GpuDevice, get_gpu_devices;
    "graph" GetGraphsRequestBody => Graph, get_graphs;
    "host" GetHostsRequestBody => Host, get_hosts;
    "ipmi" GetIpmisRequestBody => Ipmi, get_ipmis;
    "iscsi-connection" GetIscsiConnectionsRequestBody => IscsiConnection, get_iscsi_connections;
    "iscsi-lun" GetIscsiLunsRequestBody => IscsiLun, get_iscsi_luns;
    "iscsi-lun-snapshot" GetIscsiLunSnapshotsRequestBody => IscsiLunSnapshot, get_iscsi_lun_snapshots;
    "iscsi-target" GetIscsiTargetsRequestBody => IscsiTarget, get_iscsi_targets;
    "isolation-policy" GetIsolationPoliciesRequestBody => IsolationPolicy, get_isolation_policies;
    "label" GetLabelsRequestBody => Label, get_labels;
    "license" GetLicensesRequestBody => License, get_licenses;
    "log-collection" GetLogCollectionsRequestBody => LogCollection, get_log_collections;
    "namespace-group" GetNamespaceGroupsRequestBody => NamespaceGroup, get_namespace_groups;
    "network-policy-rule-service" GetNetworkPolicyRuleServicesRequestBody => NetworkPolicyRuleService, get_network_policy_rule_services;
    "nfs-export" GetNfsExportsRequestBody => NfsExport, get_nfs_exports;
    "nfs-inode" GetNfsInodesRequestBody => NfsInode, get_nfs_inodes;
    "nic" GetNicsRequestBody => Nic, get_nics;
    "node-topo" GetNodeTopoesRequestBody => NodeTopo, get_node_topoes;
    "nvmf-namespace" GetNvmfNamespacesRequestBody => NvmfNamespace, get_nvmf_namespaces;
    "nvmf-namespace-snapshot" GetNvmfNamespaceSnapshotsRequestBody => NvmfNamespaceSnapshot, get_nvmf_namespace_snapshots;
    "nvmf-subsystem" GetNvmfSubsystemsRequestBody => NvmfSubsystem, get_nvmf_subsystems;
    "organization" GetOrganizationsRequestBody => Organization, get_organizations;
    "pci-device" GetPciDevicesRequestBody => PciDevice, get_pci_devices;
    "pmem-dimm" GetPmemDimmsRequestBody => PmemDimm, get_pmem_dimms;
    "rack-topo" GetRackTopoesRequestBody => RackTopo, get_rack_topoes;
    "replica-vm" GetReplicaVmsRequestBody => ReplicaVm, get_replica_vms;
    "replication-plan" GetReplicationPlansRequestBody => ReplicationPlan, get_replication_plans;
    "report-task" GetReportTasksRequestBody => ReportTask, get_report_tasks;
    "report-template" GetReportTemplatesRequestBody => ReportTemplate, get_report_templates;
    "security-group" GetSecurityGroupsRequestBody => SecurityGroup, get_security_groups;
    "security-policy" GetSecurityPoliciesRequestBody => SecurityPolicy, get_security_policies;
    "smtp-server" GetSmtpServersRequestBody => SmtpServer, get_smtp_servers;
    "snapshot-group" GetSnapshotGroupsRequestBody => SnapshotGroup, get_snapshot_groups;
    "snapshot-plan" GetSnapshotPlansRequestBody => SnapshotPlan, get_snapshot_plans;
    "snapshot-plan-task" GetSnapshotPlanTasksRequestBody => SnapshotPlanTask, get_snapshot_plan_tasks;
    "snmp-transport" GetSnmpTransportsRequestBody => SnmpTransport, get_snmp_transports;
    "snmp-trap-receiver" GetSnmpTrapReceiversRequestBody => SnmpTrapReceiver, get_snmp_trap_receivers;
    "svt-image" GetSvtImagesRequestBody => SvtImage, get_svt_images;
    "system-audit-log" GetSystemAuditLogsRequestBody => SystemAuditLog, get_system_audit_logs;
    "task" GetTasksRequestBody => Task, get_tasks;
    "upload-task" GetUploadTasksRequestBody => UploadTask, get_upload_tasks;
    "usb-device" GetUsbDevicesRequestBody => UsbDevice, get_usb_devices;
    "user" GetUsersRequestBody => User, get_users;
    "user-audit-log" GetUserAuditLogsRequestBody => UserAuditLog, get_user_audit_logs;
    "user-role-next" GetUserRoleNextsRequestBody => UserRoleNext, get_user_role_nexts;
    "v2-everoute-license" GetV2EverouteLicensesRequestBody => V2EverouteLicense, get_v2_everoute_licenses;
    "vcenter-account" GetVcenterAccountsRequestBody => VcenterAccount, get_vcenter_accounts;
    "vds" GetVdsesRequestBody => Vds, get_vdses;
    "view" GetViewsRequestBody => View, get_views;
    "virtual-private-cloud" GetVirtualPrivateCloudsRequestBody => VirtualPrivateCloud, get_virtual_private_clouds;
    "virtual-private-cloud-cluster-binding" GetVirtualPrivateCloudClusterBindingsRequestBody => VirtualPrivateCloudClusterBinding, get_virtual_private_cloud_cluster_bindings;
    "virtual-private-cloud-edge-gateway" GetVirtualPrivateCloudEdgeGatewaysRequestBody => VirtualPrivateCloudEdgeGateway, get_virtual_private_cloud_edge_gateways;
    "virtual-private-cloud-edge-gateway-group" GetVirtualPrivateCloudEdgeGatewayGroupsRequestBody => VirtualPrivateCloudEdgeGatewayGroup, get_virtual_private_cloud_edge_gateway_groups;
    "virtual-private-cloud-external-subnet" GetVirtualPrivateCloudExternalSubnetsRequestBody => VirtualPrivateCloudExternalSubnet, get_virtual_private_cloud_external_subnets;
    "virtual-private-cloud-external-subnet-group" GetVirtualPrivateCloudExternalSubnetGroupsRequestBody => VirtualPrivateCloudExternalSubnetGroup, get_virtual_private_cloud_external_subnet_groups;
    "virtual-private-cloud-floating-ip" GetVirtualPrivateCloudFloatingIpsRequestBody => VirtualPrivateCloudFloatingIp, get_virtual_private_cloud_floating_ips;
    "virtual-private-cloud-nat-gateway" GetVirtualPrivateCloudNatGatewaysRequestBody => VirtualPrivateCloudNatGateway, get_virtual_private_cloud_nat_gateways;
    "virtual-private-cloud-route-table" GetVirtualPrivateCloudRouteTablesRequestBody => VirtualPrivateCloudRouteTable, get_virtual_private_cloud_route_tables;
    "virtual-private-cloud-router-gateway" GetVirtualPrivateCloudRouterGatewaysRequestBody => VirtualPrivateCloudRouterGateway, get_virtual_private_cloud_router_gateways;
    "virtual-private-cloud-security-group" GetVirtualPrivateCloudSecurityGroupsRequestBody => VirtualPrivateCloudSecurityGroup, get_virtual_private_cloud_security_groups;
    "virtual-private-cloud-security-policy" GetVirtualPrivateCloudSecurityPoliciesRequestBody => VirtualPrivateCloudSecurityPolicy, get_virtual_private_cloud_security_policies;
    "virtual-private-cloud-subnet" GetVirtualPrivateCloudSubnetsRequestBody => VirtualPrivateCloudSubnet, get_virtual_private_cloud_subnets;
    "vlan" GetVlansRequestBody => Vlan, get_vlans;
    "vm" GetVmsRequestBody => Vm, get_vms;
    "vm-disk" GetVmDisksRequestBody => VmDisk, get_vm_disks;
    "vm-entity-filter-result" GetVmEntityFilterResultsRequestBody => VmEntityFilterResult, get_vm_entity_filter_results;
    "vm-export-file" GetVmExportFilesRequestBody => VmExportFile, get_vm_export_files;
    "vm-folder" GetVmFoldersRequestBody => VmFolder, get_vm_folders;
    "vm-nic" GetVmNicsRequestBody => VmNic, get_vm_nics;
    "vm-placement-group" GetVmPlacementGroupsRequestBody => VmPlacementGroup, get_vm_placement_groups;
    "vm-snapshot" GetVmSnapshotsRequestBody => VmSnapshot, get_vm_snapshots;
    "vm-template" GetVmTemplatesRequestBody => VmTemplate, get_vm_templates;
    "vm-volume" GetVmVolumesRequestBody => VmVolume, get_vm_volumes;
    "vm-volume-snapshot" GetVmVolumeSnapshotsRequestBody => VmVolumeSnapshot, get_vm_volume_snapshots;
    "vsphere-esxi-account" GetVsphereEsxiAccountsRequestBody => VsphereEsxiAccount, get_vsphere_esxi_accounts;
    "witness" GetWitnessesRequestBody => Witness, get_witnesses;
    "zone" GetZonesRequestBody => Zone, get_zones;
    "zone-topo" GetZoneTopoesRequestBody => ZoneTopo, get_zone_topoes;
}
