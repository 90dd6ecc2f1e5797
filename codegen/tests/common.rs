//! Helpers shared by the generator's integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cloudtower_codegen::{canonical, Generated, Provenance};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("codegen/ has a parent")
        .to_path_buf()
}

/// `spec/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    root().join("spec/fixtures").join(name)
}

/// The pinned upstream spec, found as `cargo xtask regen` finds it (`CLOUDTOWER_SPECS`,
/// `../shared/specs`, the download cache). A test that needs it fails, saying what to do,
/// when it is not on this machine and cannot be downloaded: it never passes without it.
pub fn pinned_spec() -> cloudtower_codegen::pinned::PinnedSpec {
    cloudtower_codegen::pinned::find_pinned_spec(&root()).unwrap_or_else(|e| panic!("{e}"))
}

/// What `cargo xtask regen-fixtures` writes into the header of the fixture crate's code.
/// Keep in step with xtask/src/main.rs (the staleness test fails otherwise).
pub fn fixture_provenance(spec: &serde_json::Value) -> Provenance {
    Provenance {
        description: "fixture spec/fixtures/constructs".into(),
        sha256: canonical::canonical_sha256(spec),
    }
}

/// Loads and generates `path` (a file or a module directory) without fixups.
pub fn generate(path: &Path) -> cloudtower_codegen::Result<Generated> {
    let (spec, origins) = cloudtower_codegen::load_spec_with_origins(path)?;
    let provenance = fixture_provenance(&spec);
    cloudtower_codegen::generate(spec, &[], &provenance).map_err(|e| origins.name_file(e))
}

/// The error message of generating `path`, which must fail.
pub fn generate_err(path: &Path) -> String {
    match generate(path) {
        Ok(_) => panic!("{} generated without error", path.display()),
        Err(e) => e.to_string(),
    }
}

pub fn files_of(generated: &Generated) -> &BTreeMap<String, String> {
    &generated.files
}

/// Generating from a module directory and from the merged file gives the same files, byte for
/// byte.
pub fn assert_same_files(from_modules: &Generated, from_merged: &Generated) {
    assert_eq!(
        from_modules.files.keys().collect::<Vec<_>>(),
        from_merged.files.keys().collect::<Vec<_>>()
    );
    for (name, text) in &from_modules.files {
        assert!(
            from_merged.files[name] == *text,
            "{name} differs between the module directory and the merged file"
        );
    }
}
