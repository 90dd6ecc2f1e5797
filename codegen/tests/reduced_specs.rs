//! The runtime contract holds for specs shaped unlike the pinned one: cloudtower-api,
//! regenerated from reduced copies of the 4.6.0 spec, builds (`cargo check`) with its
//! hand-written files unchanged.
//!
//! - `minimal`: only `login`, `get-tasks` and `get-vms`, and the schemas they reach;
//! - `all-optional`: the same with every `required` list removed, as older specs reshape
//!   fields (the generated contract impls must follow the new presence of each field);
//! - every published version in `spec/compatible.json` (4.3.0), whole;
//! - a sample of older published versions of the version history (1.8.0, 3.4.4), whole.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use cloudtower_codegen::history::{History, Published};
use cloudtower_codegen::{runtime, Generated, Options, Provenance};
use common::{pinned_spec, root};
use serde_json::Value;

const KEPT_PATHS: &[&str] = &["/login", "/get-tasks", "/get-vms"];

/// The operations of the `upload` helper (codegen/src/helpers.rs).
const UPLOAD_PATHS: &[&str] = &[
    "/upload-elf-image",
    "/get-upload-tasks",
    "/cancel-upload-task",
];

/// The spec with only `KEPT_PATHS` and the component schemas they reach.
fn reduced(spec: &Value) -> Value {
    reduced_to(spec, KEPT_PATHS)
}

/// The spec with only `kept` paths and the component schemas they reach.
fn reduced_to(spec: &Value, kept: &[&str]) -> Value {
    let mut reduced = spec.clone();
    let paths = reduced["paths"].as_object_mut().expect("paths");
    paths.retain(|path, _| kept.contains(&path.as_str()));
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

/// Generates cloudtower-api from `spec` as `cargo xtask regen` does (the committed version
/// history, no fixups).
fn generate(name: &str, spec: Value) -> Generated {
    let options = Options {
        always_on_operations: runtime::CONTRACT_OPERATIONS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        feature_gates: true,
        dispatch: true,
        history: History::load(&root()).unwrap_or_else(|e| panic!("{e}")),
    };
    let provenance = Provenance {
        description: format!("reduced spec {name}"),
        sha256: String::new(),
    };
    cloudtower_codegen::generate_with(spec, &[], &provenance, &options)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Generates cloudtower-api from `spec` into a scratch copy of the crate and checks it with
/// all features and with none; what it generated.
fn builds(name: &str, spec: Value) -> Generated {
    let generated = generate(name, spec);
    checks(
        name,
        &generated,
        &[&["--all-features"], &["--no-default-features"]],
    );
    generated
}

/// `cargo check` of a scratch copy of the crate holding `generated`, once per feature set.
/// In the checkout's own target directory: the dependencies other checks (clippy, `cargo xtask
/// package`) checked with the same features are used as they are (a directory of its own
/// checked them all again first: 107 s of CPU for these tests instead of 74 s).
fn checks(name: &str, generated: &Generated, feature_sets: &[&[&str]]) {
    let dir = tempfile::tempdir().unwrap();
    scratch_crate(dir.path(), generated);
    let crate_dir = dir.path().join("cloudtower-api");
    let target = root().join("target");
    for features in feature_sets {
        let mut check = Command::new(env!("CARGO"));
        check
            .args(["check", "--quiet", "--lib", "--manifest-path"])
            .arg(crate_dir.join("Cargo.toml"))
            .args(*features)
            .env("CARGO_TARGET_DIR", &target);
        // What cargo tells this test about its own package (`CARGO_MANIFEST_DIR`, …) must not
        // reach the build: ring's build script watches `CARGO_MANIFEST_DIR`, and a run of it
        // with another value makes the next build of the workspace rerun it and rebuild
        // everything above ring (the doctests after nextest did: 46 s).
        for (name, _) in std::env::vars_os() {
            if cloudtower_codegen::cargo_env::set_for_own_package(&name.to_string_lossy()) {
                check.env_remove(&name);
            }
        }
        let status = check.status().unwrap();
        assert!(status.success(), "{name} {features:?}: cargo check failed");
    }
}

/// A workspace at `dir` holding cloudtower-api as committed (its manifest, hand-written
/// sources and the workspace settings it inherits) with `generated` as its generated code.
/// Dev-dependencies, benches and examples are left out: only the library is checked.
fn scratch_crate(dir: &Path, generated: &cloudtower_codegen::Generated) {
    let real = root().join("cloudtower-api");
    let crate_dir = dir.join("cloudtower-api");
    copy_tree(
        &real.join("src"),
        &crate_dir.join("src"),
        &real.join("src/generated"),
    );
    let generated_dir = crate_dir.join("src/generated");
    std::fs::create_dir_all(&generated_dir).unwrap();
    for (file, text) in &generated.files {
        std::fs::write(generated_dir.join(file), text).unwrap();
    }
    // The crate docs include the README (a doctest) from the workspace root.
    std::fs::copy(root().join("README.md"), dir.join("README.md")).unwrap();
    std::fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();

    let manifest = std::fs::read_to_string(real.join("Cargo.toml")).unwrap();
    let features = cloudtower_codegen::emit::cargo_features(&generated.api);
    let manifest = cloudtower_codegen::output::with_features(&manifest, &features).unwrap();
    let mut manifest: toml::Table = manifest.parse().unwrap();
    for section in ["dev-dependencies", "bench", "example", "test"] {
        manifest.remove(section);
    }
    // Path dependencies point back into the real workspace.
    if let Some(toml::Value::Table(dependencies)) = manifest.get_mut("dependencies") {
        for (_, dependency) in dependencies.iter_mut() {
            if let Some(path) = dependency.get_mut("path") {
                let absolute = real.join(path.as_str().unwrap()).display().to_string();
                *path = toml::Value::String(absolute);
            }
        }
    }
    std::fs::write(crate_dir.join("Cargo.toml"), manifest.to_string()).unwrap();

    let workspace: toml::Table = std::fs::read_to_string(root().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let mut inherited = workspace["workspace"].as_table().unwrap().clone();
    inherited.retain(|key, _| key == "package" || key == "dependencies" || key == "resolver");
    inherited.insert("members".into(), toml::Value::from(vec!["cloudtower-api"]));
    let mut scratch = toml::Table::new();
    scratch.insert("workspace".into(), toml::Value::Table(inherited));
    std::fs::write(dir.join("Cargo.toml"), scratch.to_string()).unwrap();
}

/// Copies the directory `from` to `to`, leaving out `skip`.
fn copy_tree(from: &Path, to: &Path, skip: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path == skip {
            continue;
        } else if path.is_dir() {
            copy_tree(&path, &target, skip);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// Every object key `key` in `value`, removed.
fn remove_key(value: &mut Value, key: &str) -> usize {
    match value {
        Value::Object(map) => {
            let removed = usize::from(map.remove(key).is_some());
            removed + map.values_mut().map(|v| remove_key(v, key)).sum::<usize>()
        }
        Value::Array(items) => items.iter_mut().map(|v| remove_key(v, key)).sum(),
        _ => 0,
    }
}

fn pinned() -> Value {
    cloudtower_codegen::load_spec(Path::new(&pinned_spec().merged_file)).unwrap()
}

/// Older towers are many in the field: the crate regenerated from each listed version builds
/// with its hand-written code unchanged.
#[test]
fn every_compatible_version_regenerates_and_builds() {
    let pins = cloudtower_codegen::pinned::Pin::load_compatible(&root()).unwrap();
    assert!(!pins.is_empty(), "spec/compatible.json lists no version");
    for pin in pins {
        let found =
            cloudtower_codegen::pinned::find_spec(&root(), &pin).unwrap_or_else(|e| panic!("{e}"));
        let bytes = std::fs::read(&found.merged_file).unwrap();
        assert_eq!(
            cloudtower_codegen::canonical::sha256_hex(&bytes),
            pin.sha256,
            "{} is not the published {} spec",
            found.merged_file.display(),
            pin.version
        );
        let spec = cloudtower_codegen::load_spec(&found.merged_file).unwrap();
        let generated = generate(&pin.version, spec);
        // Every operation of a version in the history has its `Since` from the table.
        let unknown: Vec<&str> = generated
            .api
            .operations
            .iter()
            .filter(|o| !o.since.in_history)
            .map(|o| o.path.as_str())
            .collect();
        assert_eq!(
            unknown,
            Vec::<&str>::new(),
            "{}: not in the history",
            pin.version
        );
        checks(
            &pin.version,
            &generated,
            &[&["--all-features"], &["--no-default-features"]],
        );
    }
}

/// Older versions of the version history, regenerated whole (without fixups, as the
/// compatible ones are): a sample, since each `cargo check` of the crate takes minutes. 3.4.4
/// is the newest before 4.0.0. The oldest obtainable, 1.8.0 (no GET operation yet, operations
/// later removed), is not checked here because `cargo xtask test` regenerates it and builds
/// and runs the whole workspace with it (`cargo xtask versions 1.8.0`), which checks more.
const HISTORY_SAMPLE: &[&str] = &["3.4.4"];

/// The history specs: `$CLOUDTOWER_SPECS/history`, else `../shared/specs/history`.
fn history_specs_dir() -> PathBuf {
    match std::env::var_os(cloudtower_codegen::pinned::SPECS_ENV) {
        Some(dir) => {
            let dir = PathBuf::from(dir).join("history");
            if dir.is_absolute() {
                dir
            } else {
                root().join(dir)
            }
        }
        None => root().join("../shared/specs/history"),
    }
}

#[test]
fn a_sample_of_older_published_versions_regenerates_and_builds() {
    let history = History::load(&root()).unwrap_or_else(|e| panic!("{e}"));
    for version in HISTORY_SAMPLE {
        let path = history_specs_dir().join(format!("cloudtower-{version}.json"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (point CLOUDTOWER_SPECS at the upstream specs, whose history/ holds \
                 every obtainable version)",
                path.display()
            )
        });
        let sha256 = cloudtower_codegen::canonical::sha256_hex(&bytes);
        assert!(
            history.versions.iter().any(|p| matches!(p,
                Published::Obtainable { version: v, sha256: s }
                    if v.to_string() == *version && *s == sha256)),
            "{} is not the {version} spec that spec/history.txt was built from",
            path.display()
        );
        let spec = cloudtower_codegen::load_spec(&path).unwrap();
        let generated = generate(version, spec);
        assert!(
            generated.api.operations.iter().all(|o| o.since.in_history),
            "{version}: every operation is in the history"
        );
        // All features only, to halve the cost: it compiles all that the crate with none does
        // (login and get-tasks are never behind a feature), and the rest.
        checks(version, &generated, &[&["--all-features"]]);
    }
}

#[test]
fn a_spec_with_only_login_tasks_and_one_list_operation_builds() {
    builds("minimal", reduced(&pinned()));
}

#[test]
fn a_spec_whose_fields_are_all_optional_builds() {
    let mut spec = reduced(&pinned());
    remove_key(&mut spec["components"], "required");
    builds("all-optional", spec);
}

/// Filters without `OR`: `Resolve` asks key by key instead of in one request.
#[test]
fn a_spec_whose_filters_lack_or_builds() {
    let mut spec = reduced(&pinned());
    assert!(
        remove_key(&mut spec["components"], "OR") > 0,
        "the filters have OR"
    );
    let generated = builds("without-or", spec);
    let vm = &generated.files["vm.rs"];
    assert!(vm.contains("impl ::cloudtower_runtime::Resolve for crate::models::Vm"));
    assert!(vm.contains("let _ = value;"), "request_by_any is None");
}

/// A version whose upload form lacks a field the upload helper sets: the helper is compiled
/// out with a warning saying why, and the rest of the crate builds.
#[test]
fn a_helper_whose_fields_a_spec_reshapes_is_compiled_out() {
    let kept: Vec<&str> = KEPT_PATHS.iter().chain(UPLOAD_PATHS).copied().collect();
    let mut spec = reduced_to(&pinned(), &kept);
    let upload = &mut spec["paths"]["/upload-elf-image"];
    assert_eq!(
        remove_key(upload, "size_unit"),
        1,
        "the upload form has size_unit"
    );
    let warnings = builds("upload-reshaped", spec).warnings;
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("`upload` helper is compiled out")
                && w.contains("`CreateElfImageRequestBody` has no field `size_unit`")),
        "{warnings:?}"
    );
}
