//! The table columns of the resources people list most, as data: `field`, `relation.field`,
//! with an optional `:bytes` (a size, printed in binary units) or `:count` (a list's length).
//! A column whose field this spec version lacks is left out; a resource not listed here gets
//! its `name` (or `id`) and the first few of a few common fields.

/// `(resource, default columns, the further columns of -o wide)`.
const COLUMNS: &[(&str, &str, &str)] = &[
    (
        "Vm",
        "name status cluster.name host.name vcpu memory:bytes ips",
        "id local_id vm_tools_status ha in_recycle_bin labels:count",
    ),
    (
        "VmSnapshot",
        "name vm.name consistent_type local_created_at",
        "id local_id size:bytes cluster.name",
    ),
    (
        "Host",
        "name status cluster.name management_ip running_vm_num",
        "id local_id data_ip total_cpu_cores total_memory_bytes:bytes os_version",
    ),
    (
        "Cluster",
        "name type version connect_state host_num vm_num",
        "id local_id ip management_vip architecture hypervisor",
    ),
    (
        "Vlan",
        "name vlan_id type vds.name",
        "id local_id mode_type gateway_ip subnetmask",
    ),
    (
        "VmVolume",
        "name size:bytes cluster.name type sharing mounting",
        "id local_id path elf_storage_policy",
    ),
    (
        "Label",
        "key value vm_num host_num total_num",
        "id createdAt",
    ),
    (
        "Task",
        "id description status progress local_created_at",
        "type user.name cluster.name error_code error_message finished_at",
    ),
    (
        "Alert",
        "severity message cluster.name ended local_start_time",
        "id local_id host.name cause solution",
    ),
    (
        "ElfImage",
        "name size:bytes cluster.name local_created_at",
        "id local_id path description",
    ),
    (
        "IscsiLunSnapshot",
        "name local_id iscsi_lun.name local_created_at",
        "id unique_size:bytes iscsi_target.name",
    ),
    (
        "User",
        "username name role source",
        "id email_address mobile_phone",
    ),
    (
        "Datacenter",
        "name cluster_num host_num vm_num",
        "id organization.name",
    ),
    (
        "VmTemplate",
        "name cluster.name vcpu memory:bytes size:bytes",
        "id local_id description",
    ),
];

/// The tables of the tool's own answers (`cloudtower profiles`).
const OWN_COLUMNS: &[(&str, &str, &str)] = &[("Profile", "name endpoints username session", "")];

/// Fields shown for a resource not in [`COLUMNS`], those it has, after its name or id.
const COMMON: &[&str] = &[
    "status",
    "state",
    "type",
    "severity",
    "description",
    "cluster.name",
    "local_created_at",
];

/// How a column's value is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Show {
    /// As it is (a nested resource by its name, a list of them by their names).
    Plain,
    /// A size in bytes, in binary units.
    Bytes,
    /// The length of a list.
    Count,
}

/// One column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// The field path (`cluster.name`).
    pub path: Vec<String>,
    pub show: Show,
}

impl Column {
    fn parse(spec: &str) -> Column {
        let (path, show) = match spec.split_once(':') {
            Some((path, "bytes")) => (path, Show::Bytes),
            Some((path, "count")) => (path, Show::Count),
            _ => (spec, Show::Plain),
        };
        Column {
            path: path.split('.').map(str::to_owned).collect(),
            show,
        }
    }

    /// The header: the field path in capitals (`CLUSTER` for `cluster.name`).
    pub fn header(&self) -> String {
        let path: Vec<&str> = match self.path.as_slice() {
            [relation, last] if last == "name" => vec![relation.as_str()],
            path => path.iter().map(String::as_str).collect(),
        };
        path.join("_").to_uppercase()
    }
}

/// The columns of `resource` (a type of the table), those its type has.
pub fn columns(resource: Option<&str>, wide: bool, has: impl Fn(&[String]) -> bool) -> Vec<Column> {
    let listed = resource.and_then(|name| {
        COLUMNS
            .iter()
            .chain(OWN_COLUMNS)
            .find(|(r, _, _)| *r == name)
    });
    let specs: Vec<&str> = match listed {
        Some((_, default, more)) => {
            let mut specs: Vec<&str> = default.split_whitespace().collect();
            if wide {
                specs.extend(more.split_whitespace());
            }
            specs
        }
        None => {
            let mut specs = vec![if has(&["name".to_owned()]) {
                "name"
            } else {
                "id"
            }];
            specs.extend(
                COMMON
                    .iter()
                    .copied()
                    .filter(|spec| has(&Column::parse(spec).path)),
            );
            if wide && specs[0] != "id" {
                specs.push("id");
            }
            specs
        }
    };
    specs
        .into_iter()
        .map(Column::parse)
        .filter(|column| has(&column.path))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::api;

    /// Every listed resource is a resource of this spec, and keeps a name-like first column.
    #[test]
    fn listed_resources_exist_with_their_first_column() {
        for (resource, default, _) in COLUMNS {
            assert!(api().resource(resource).is_some(), "{resource}");
            let has = |path: &[String]| crate::output::type_has_path(resource, path);
            let first = default.split_whitespace().next().unwrap();
            assert!(has(&Column::parse(first).path), "{resource}.{first}");
        }
    }
}
