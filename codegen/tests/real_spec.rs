//! The generator against the real CloudTower 4.6.0 spec, found by `common::pinned_spec`
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
        description: "CloudTower API 4.6.0".into(),
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
    assert_eq!(api.schema_count, 1813);
    assert_eq!(api.types.iter().filter(|t| t.is_component).count(), 1813);
    assert_eq!(api.operations.len(), 554);
    let files = &from_merged.files;
    let mod_rs = &files["mod.rs"];
    assert_eq!(
        mod_rs
            .matches("::cloudtower_runtime::OperationInfo {")
            .count(),
        554
    );
    let schemas = mod_rs
        .split("pub const SCHEMAS")
        .nth(1)
        .and_then(|rest| rest.split("];").next())
        .expect("mod.rs lists the schemas");
    // One `(wire name, Rust name),` tuple each (long ones are broken over lines).
    assert_eq!(schemas.matches("),").count(), 1813);
    let methods: usize = files
        .values()
        .map(|text| text.matches("impl ::std::future::Future<").count())
        .sum();
    assert_eq!(methods, 554);
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
    insta::assert_snapshot!("inventory_4_6_0", files[INVENTORY_FILE]);
}
