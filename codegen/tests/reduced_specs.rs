//! The runtime contract holds for specs shaped unlike the pinned one: cloudtower-api,
//! regenerated from reduced copies of the 4.6.0 spec, builds (`cargo check`) with its
//! hand-written files unchanged.
//!
//! - `minimal`: only `login`, `get-tasks` and `get-vms`, and the schemas they reach;
//! - `all-optional`: the same with every `required` list removed, as older specs reshape
//!   fields (the generated contract impls must follow the new presence of each field).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use cloudtower_codegen::{runtime, Options, Provenance};
use common::{pinned_spec, root};
use serde_json::Value;

const KEPT_PATHS: &[&str] = &["/login", "/get-tasks", "/get-vms"];

/// The spec with only `KEPT_PATHS` and the component schemas they reach.
fn reduced(spec: &Value) -> Value {
    let mut reduced = spec.clone();
    let paths = reduced["paths"].as_object_mut().expect("paths");
    paths.retain(|path, _| KEPT_PATHS.contains(&path.as_str()));
    let mut reached = BTreeSet::new();
    let mut pending: Vec<Value> = paths.values().cloned().collect();
    while let Some(value) = pending.pop() {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    if let Some(name) = target.strip_prefix("#/components/schemas/") {
                        if reached.insert(name.to_owned()) {
                            pending.push(spec["components"]["schemas"][name].clone());
                        }
                    }
                }
                pending.extend(map.into_iter().map(|(_, v)| v));
            }
            Value::Array(items) => pending.extend(items),
            _ => {}
        }
    }
    let schemas = reduced["components"]["schemas"]
        .as_object_mut()
        .expect("schemas");
    schemas.retain(|name, _| reached.contains(name));
    reduced
}

fn without_required(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("required");
            map.values_mut().for_each(without_required);
        }
        Value::Array(items) => items.iter_mut().for_each(without_required),
        _ => {}
    }
}

/// Generates cloudtower-api from `spec` into a scratch copy of the crate and checks it.
fn builds(name: &str, spec: Value) {
    let options = Options {
        always_on_operations: runtime::CONTRACT_OPERATIONS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        feature_gates: true,
        dispatch: true,
    };
    let provenance = Provenance {
        description: format!("reduced spec {name}"),
        sha256: String::new(),
    };
    let generated = cloudtower_codegen::generate_with(spec, &[], &provenance, &options)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join("cloudtower-api");
    let generated_dir = crate_dir.join("src/generated");
    std::fs::create_dir_all(&generated_dir).unwrap();
    for (file, text) in &generated.files {
        std::fs::write(generated_dir.join(file), text).unwrap();
    }
    let api = root().join("cloudtower-api");
    for file in ["lib.rs", "upload.rs", "vnc.rs", "watch.rs"] {
        std::fs::copy(api.join("src").join(file), crate_dir.join("src").join(file)).unwrap();
    }
    // lib.rs includes the README as a doctest.
    std::fs::write(dir.path().join("README.md"), "").unwrap();
    std::fs::copy(root().join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();
    let runtime_dir = root().join("cloudtower-runtime");
    let manifest = format!(
        "[package]\nname = \"cloudtower-api\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
         [workspace]\n\n[features]\nserver = []\ndynamic = [\"server\"]\n{features}\n\
         [dependencies]\ncloudtower-runtime = {{ path = {runtime:?} }}\n\
         serde_json = \"1\"\ntokio = {{ version = \"1\", features = [\"io-util\", \"fs\", \"time\"] }}\n\
         tracing = \"0.1\"\nbytes = \"1\"\nfutures-util = \"0.3\"\n",
        features = cloudtower_codegen::emit::cargo_features(&generated.api),
        runtime = runtime_dir.display().to_string(),
    );
    std::fs::write(crate_dir.join("Cargo.toml"), manifest).unwrap();
    let target = root().join("target/reduced-specs");
    for features in [&["--all-features"][..], &["--no-default-features"][..]] {
        let status = Command::new(env!("CARGO"))
            .args(["check", "--quiet", "--manifest-path"])
            .arg(crate_dir.join("Cargo.toml"))
            .args(features)
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .unwrap();
        assert!(status.success(), "{name} {features:?}: cargo check failed");
    }
}

fn pinned() -> Value {
    cloudtower_codegen::load_spec(Path::new(&pinned_spec().merged_file)).unwrap()
}

#[test]
fn a_spec_with_only_login_tasks_and_one_list_operation_builds() {
    builds("minimal", reduced(&pinned()));
}

#[test]
fn a_spec_whose_fields_are_all_optional_builds() {
    let mut spec = reduced(&pinned());
    without_required(&mut spec["components"]);
    builds("all-optional", spec);
}
