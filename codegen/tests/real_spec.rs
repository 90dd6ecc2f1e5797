//! The generator against the real CloudTower 4.8.0 spec, found by `common::pinned_spec`
//! (`CLOUDTOWER_SPECS`, else `../shared/specs` as in CI, else the download cache).

mod common;

use std::path::PathBuf;

use cloudtower_codegen::{fixups, Generated, Provenance, INVENTORY_FILE};
use common::{assert_same_files, pinned_spec, root};

fn generate(spec: PathBuf) -> Generated {
    let spec = cloudtower_codegen::load_spec(&spec)
        .unwrap_or_else(|e| panic!("loading {}: {e}", spec.display()));
    let fixup_text = std::fs::read_to_string(root().join("spec/fixups.json")).unwrap();
    let fixups = fixups::parse_fixups(&fixup_text).unwrap();
    let provenance = Provenance {
        description: "CloudTower API 4.8.0".into(),
        sha256: "test".into(),
    };
    cloudtower_codegen::generate(spec, &fixups, &provenance).unwrap()
}

/// One test, so the (large) spec is generated only twice.
#[test]
fn real_spec_modules_and_merged_file_generate_the_same_complete_api() {
    let spec = pinned_spec();
    let from_merged = generate(spec.merged_file.clone());

    // (a) Byte-identical output either way. The download cache holds only the published
    // merged file; the module directory is in CLOUDTOWER_SPECS or ../shared/specs (as in CI).
    match spec.modules_dir {
        Some(modules) => assert_same_files(&generate(modules), &from_merged),
        None => eprintln!(
            "real_spec: no spec-module directory beside {}: only the merged file is checked",
            spec.merged_file.display()
        ),
    }

    // (b) Every component schema is one type, every operation one method.
    let api = &from_merged.api;
    assert_eq!(api.schema_count, 1894);
    assert_eq!(api.types.iter().filter(|t| t.is_component).count(), 1894);
    assert_eq!(api.operations.len(), 573);
    let files = &from_merged.files;
    let mod_rs = &files["mod.rs"];
    assert_eq!(
        mod_rs
            .matches("::cloudtower_runtime::OperationInfo {")
            .count(),
        573
    );
    let schemas = mod_rs
        .split("pub const SCHEMAS")
        .nth(1)
        .and_then(|rest| rest.split("];").next())
        .expect("mod.rs lists the schemas");
    // One `(wire name, Rust name),` tuple each (long ones are broken over lines).
    assert_eq!(schemas.matches("),").count(), 1894);
    let methods: usize = files
        .values()
        .map(|text| {
            text.matches(") -> ::cloudtower_runtime::CallFuture<")
                .count()
        })
        .sum();
    assert_eq!(methods, 573);
    let declared_types: usize = files
        .values()
        .map(|text| {
            ["pub struct ", "pub enum ", "pub type "]
                .iter()
                .map(|item| text.matches(item).count())
                .sum::<usize>()
        })
        .sum();
    // Every type, plus the client.
    assert_eq!(declared_types, api.types.len() + 1);

    // (c) The inventory: any regeneration shows what changed.
    insta::assert_snapshot!("inventory_4_8_0", files[INVENTORY_FILE]);
}

/// The API's shape as data (`schema.json`): the regular shapes classified as they are, and the
/// file reads back as the table.
#[test]
fn the_schema_table_classifies_the_regular_shapes() {
    use cloudtower_schema::{ApiSchema, OperationKind, Relation, Via};

    let generated = generate(pinned_spec().merged_file);
    let table = ApiSchema::parse(&generated.files[cloudtower_codegen::SCHEMA_FILE]).unwrap();
    assert_eq!(
        table,
        cloudtower_codegen::schema_table::schema_table(&generated.api, &table.generated)
    );
    assert_eq!(table.operations.len(), 573);
    let kind = |path: &str| &table.operation(path).unwrap().kind;
    let resource = |name: &str| OperationKind::List {
        resource: name.into(),
    };
    assert_eq!(kind("get-vms"), &resource("Vm"));
    assert_eq!(
        kind("get-vms-connection"),
        &OperationKind::Connection {
            resource: "Vm".into()
        }
    );
    let OperationKind::Create { resource, fields } = kind("create-vm-vlan") else {
        panic!("create-vm-vlan: {:?}", kind("create-vm-vlan"))
    };
    assert_eq!(resource, "Vlan");
    let vds = fields.iter().find(|m| m.param == "vds_id").unwrap();
    assert_eq!(
        (vds.field.as_str(), &vds.via),
        (
            "vds",
            &Via::Reference {
                resource: "Vds".into()
            }
        )
    );
    assert!(
        matches!(kind("update-label"), OperationKind::Update { resource, .. } if resource == "Label")
    );
    assert_eq!(
        kind("delete-vm-vlan"),
        &OperationKind::Delete {
            resource: "Vlan".into()
        }
    );
    // Actions on a resource are not updates, though they take `where` and `data`.
    assert_eq!(kind("start-vm"), &OperationKind::Other);
    let vm = table.resource("Vm").unwrap();
    assert_eq!(
        (vm.list.as_str(), vm.filter.as_str()),
        ("get-vms", "VmWhereInput")
    );
    assert_eq!(vm.order.as_deref(), Some("VmOrderByInput"));
    for (field, target, many) in [("cluster", "Cluster", false), ("labels", "Label", true)] {
        let relation = Relation {
            field: field.into(),
            resource: target.into(),
            many,
        };
        assert!(vm.relations.contains(&relation), "{relation:?}");
    }
    let count = |want: fn(&OperationKind) -> bool| {
        table.operations.iter().filter(|o| want(&o.kind)).count()
    };
    assert_eq!(table.resources.len(), 119);
    assert_eq!(count(|k| matches!(k, OperationKind::List { .. })), 119);
    assert!(count(|k| matches!(k, OperationKind::Create { .. })) >= 45);
    assert!(count(|k| matches!(k, OperationKind::Update { .. })) >= 55);
    assert!(count(|k| matches!(k, OperationKind::Delete { .. })) >= 45);
}
