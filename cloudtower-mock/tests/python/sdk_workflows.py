"""The official CloudTower Python SDK (cloudtower-sdk) driving the mock: the workflows its
users run. Usage: python3 sdk_workflows.py ENDPOINT USERNAME PASSWORD. Exits 0 when every
check holds; prints the first one that does not and exits 1."""

import sys

from cloudtower import ApiClient, Configuration
from cloudtower.api.vm_api import VmApi
from cloudtower.api.vm_template_api import VmTemplateApi
from cloudtower.api.vlan_api import VlanApi
from cloudtower.api.vds_api import VdsApi
from cloudtower.api.cluster_api import ClusterApi
from cloudtower.api.iscsi_target_api import IscsiTargetApi
from cloudtower.api.iscsi_lun_api import IscsiLunApi
from cloudtower.api.iscsi_lun_snapshot_api import IscsiLunSnapshotApi
from cloudtower.api.global_settings_api import GlobalSettingsApi
from cloudtower.models import (
    ConvertVmTemplateToVmParams,
    GetClustersRequestBody,
    GetGlobalSettingsesRequestBody,
    GetIscsiLunSnapshotsRequestBody,
    GetIscsiLunsRequestBody,
    GetIscsiTargetsRequestBody,
    GetVdsesRequestBody,
    GetVlansRequestBody,
    GetVmTemplatesRequestBody,
    GetVmsRequestBody,
    GlobalRecycleBinUpdationParams,
    IscsiLunCloneParams,
    IscsiLunCreationParams,
    IscsiLunDeletionParams,
    IscsiLunDeletionParamsData,
    IscsiLunRollbackParams,
    IscsiLunSnapshotCreationParams,
    IscsiLunWhereInput,
    IscsiTargetCreationParams,
    IscsiTargetWhereInput,
    VlanWhereInput,
    VmCloneParams,
    VmTemplateCreationParams,
    VmTemplateWhereInput,
    VmVlanCreationParams,
    VmWhereInput,
)
from cloudtower.utils import login, wait_tasks


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}")
        sys.exit(1)
    print(f"ok: {what}")


def wait(client, answers):
    wait_tasks([a.task_id for a in answers if a.task_id], client, interval=0.05, timeout=30)


def main():
    endpoint, username, password = sys.argv[1:4]
    client = ApiClient(Configuration(host=f"{endpoint}/v2/api"))
    login(client, username, password)

    vms, templates = VmApi(client), VmTemplateApi(client)
    source = vms.get_vms(GetVmsRequestBody(where=VmWhereInput(name="web-2")))[0]

    # Clone a VM.
    cloned = vms.clone_vm([VmCloneParams(src_vm_id=source.id, name="web-2-clone")])
    wait(client, cloned)
    read = vms.get_vms(GetVmsRequestBody(where=VmWhereInput(id=cloned[0].data.id)))
    check(len(read) == 1 and read[0].name == "web-2-clone", "clone_vm creates the VM it answers")
    check(read[0].memory == source.memory, "the clone has the source's memory")

    # Clone a template from a VM; the VM stays.
    template = templates.clone_vm_template_from_vm(
        [VmTemplateCreationParams(vm_id=source.id, name="tpl-clone", cloud_init_supported=False)]
    )
    wait(client, template)
    read = templates.get_vm_templates(
        GetVmTemplatesRequestBody(where=VmTemplateWhereInput(id=template[0].data.id))
    )
    check(len(read) == 1 and read[0].name == "tpl-clone", "clone_vm_template_from_vm creates it")
    check(len(vms.get_vms(GetVmsRequestBody(where=VmWhereInput(id=source.id)))) == 1,
          "cloning a template keeps the VM")

    # Convert the VM to a template, and the template back to a VM.
    converted = templates.convert_vm_template_from_vm(
        [VmTemplateCreationParams(vm_id=source.id, name="tpl-conv", cloud_init_supported=True)]
    )
    wait(client, converted)
    check(len(vms.get_vms(GetVmsRequestBody(where=VmWhereInput(id=source.id)))) == 0,
          "convert_vm_template_from_vm: the VM became the template")
    back = vms.convert_vm_template_to_vm(
        [ConvertVmTemplateToVmParams(converted_from_template_id=converted[0].data.id, name="back")]
    )
    wait(client, back)
    check(len(vms.get_vms(GetVmsRequestBody(where=VmWhereInput(name="back")))) == 1,
          "convert_vm_template_to_vm creates the VM")
    check(len(templates.get_vm_templates(GetVmTemplatesRequestBody(
        where=VmTemplateWhereInput(id=converted[0].data.id)))) == 0,
          "the template became the VM")

    # A VLAN on a VDS, read back field by field.
    vds = VdsApi(client).get_vdses(GetVdsesRequestBody())[0]
    vlans = VlanApi(client)
    created = vlans.create_vm_vlan([VmVlanCreationParams(
        vds_id=vds.id, name="vlan-123", vlan_id=123, qos_priority=3, qos_burst=1000,
        qos_min_bandwidth=100, qos_max_bandwidth=1000)])
    wait(client, created)
    vlan = vlans.get_vlans(GetVlansRequestBody(where=VlanWhereInput(id=created[0].data.id)))[0]
    check(vlan.name == "vlan-123", "vlan name")
    check(vlan.vlan_id == 123, "vlan_id")
    check(str(vlan.type) == "VM", f"type VM ({vlan.type})")
    check(vlan.vds.id == vds.id, "the VDS")
    check(vlan.qos_priority == 3 and vlan.qos_burst == 1000, "QoS priority and burst")
    vds = VdsApi(client).get_vdses(GetVdsesRequestBody())[0]
    check(any(v.id == vlan.id for v in vds.vlans or []), "the VDS lists the VLAN")

    # iSCSI: target, LUN, LUN snapshot, clone and rollback from it, delete with remove_snapshot.
    cluster = ClusterApi(client).get_clusters(GetClustersRequestBody())[0]
    targets, luns, snapshots = IscsiTargetApi(client), IscsiLunApi(client), IscsiLunSnapshotApi(client)
    target = targets.create_iscsi_target([IscsiTargetCreationParams(
        cluster_id=cluster.id, name="target-a", stripe_num=4, thin_provision=True,
        replica_num=2, stripe_size=262144)])
    wait(client, target)
    check(len(targets.get_iscsi_targets(GetIscsiTargetsRequestBody(
        where=IscsiTargetWhereInput(id=target[0].data.id)))) == 1, "iSCSI target created")
    lun = luns.create_iscsi_lun([IscsiLunCreationParams(
        iscsi_target_id=target[0].data.id, name="lun-a", assigned_size=1 << 30, replica_num=2)])
    wait(client, lun)
    snap = snapshots.create_iscsi_lun_snapshot([IscsiLunSnapshotCreationParams(
        iscsi_lun_id=lun[0].data.id, iscsi_target_id=target[0].data.id, name="snap-a")])
    wait(client, snap)
    read = snapshots.get_iscsi_lun_snapshots(GetIscsiLunSnapshotsRequestBody())
    check(any(s.id == snap[0].data.id and s.iscsi_lun.id == lun[0].data.id for s in read),
          "the LUN snapshot names its LUN")
    clone = luns.clone_iscsi_lun_from_snapshot([IscsiLunCloneParams(
        snapshot_id=snap[0].data.id, iscsi_target_id=target[0].data.id, name="lun-b")])
    wait(client, clone)
    read = luns.get_iscsi_luns(GetIscsiLunsRequestBody(where=IscsiLunWhereInput(id=clone[0].data.id)))
    check(len(read) == 1 and read[0].name == "lun-b" and read[0].assigned_size == 1 << 30,
          "clone_iscsi_lun_from_snapshot creates a LUN like the snapshot's")
    rolled = luns.rollback_iscsi_lun_from_snapshot([IscsiLunRollbackParams(
        lun_id=lun[0].data.id, snapshot_id=snap[0].data.id)])
    wait(client, rolled)
    check(rolled[0].data.id == lun[0].data.id, "rollback_iscsi_lun_from_snapshot answers the LUN")
    deleted = luns.delete_iscsi_lun(IscsiLunDeletionParams(
        where=IscsiLunWhereInput(id=lun[0].data.id),
        data=IscsiLunDeletionParamsData(remove_snapshot=True)))
    wait(client, deleted)
    check(len(deleted) == 1, "delete_iscsi_lun answers the LUN it deletes")
    check(len(luns.get_iscsi_luns(GetIscsiLunsRequestBody(
        where=IscsiLunWhereInput(id=lun[0].data.id)))) == 0, "the LUN is gone")

    # The recycle-bin setting.
    settings = GlobalSettingsApi(client)
    updated = settings.update_global_recycle_bin_setting(
        GlobalRecycleBinUpdationParams(enabled=True, retain=14))
    wait(client, [updated])
    read = settings.get_global_settingses(GetGlobalSettingsesRequestBody())
    check(len(read) == 1 and read[0].vm_recycle_bin.retain == 14
          and read[0].vm_recycle_bin.enabled is True, "the recycle-bin setting reads back")
    print("all workflows passed")


if __name__ == "__main__":
    main()
