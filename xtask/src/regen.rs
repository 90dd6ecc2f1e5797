//! `cargo xtask regen` and `cargo xtask regen-fixtures`: generated code from a spec, written
//! (with the crate's features block, pin and changelog entry) or checked.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cloudtower_codegen::pinned::{self, Pin};
use cloudtower_codegen::{
    canonical, emit, fixups, history, inventory, output, semver, Generated, Options, Provenance,
    INVENTORY_FILE,
};
use serde_json::Value;

/// `cargo xtask regen-fixtures`: the fixture crate's code (fixture-check/src/generated) from
/// the hand-written fixture spec, or with `check`, whether it is fresh.
pub fn fixtures(root: &Path, check: bool) -> Result<bool, String> {
    let started = Instant::now();
    let spec_path = root.join("spec/fixtures/constructs");
    let spec = cloudtower_codegen::load_spec(&spec_path).map_err(|e| e.to_string())?;
    let loaded = started.elapsed();
    // Keep in step with codegen/tests/common.rs (its staleness test fails otherwise).
    let provenance = Provenance {
        description: "fixture spec/fixtures/constructs".into(),
        sha256: canonical::canonical_sha256(&spec),
    };
    let generated =
        cloudtower_codegen::generate(spec, &[], &provenance).map_err(|e| e.to_string())?;
    let out = root.join("fixture-check/src/generated");
    write_or_check(
        &generated,
        None,
        &out,
        check,
        started,
        loaded,
        "cargo xtask regen-fixtures",
    )
}

/// `cargo xtask regen`: from `spec` (default: the pinned spec, found as the tests find it).
pub fn run(
    root: &Path,
    spec: Option<PathBuf>,
    out: Option<&Path>,
    check: bool,
    update_pin: bool,
) -> Result<bool, String> {
    let spec_path = match spec {
        Some(path) => path,
        None => {
            let found = pinned::find_pinned_spec(root)?;
            eprintln!("spec: {}", found.merged_file.display());
            found.merged_file
        }
    };
    regen(root, &spec_path, out, check, update_pin)
}

/// Where `regen` writes by default: the crate's generated module.
fn crate_generated_dir(root: &Path) -> PathBuf {
    root.join("cloudtower-api/src/generated")
}

/// The fragment written to `--out DIR` instead of editing the crate's manifest.
const FEATURES_FRAGMENT: &str = "features.toml";
/// The would-be pin written to `--out DIR` with `--update-pin`.
const PIN_FILE: &str = "pin.json";

/// Generates from `spec_path` into `out` (default: the crate's generated module, whose
/// manifest features block and pin it also keeps up to date) or, with `check`, compares.
/// Writes nothing outside `out` when `out` is another directory. Whether it succeeded.
fn regen(
    root: &Path,
    spec_path: &Path,
    out: Option<&Path>,
    check: bool,
    update_pin: bool,
) -> Result<bool, String> {
    let started = Instant::now();
    let crate_dir = crate_generated_dir(root);
    let into_crate = out.is_none_or(|out| same_dir(out, &crate_dir));
    let out = out.unwrap_or(&crate_dir);
    let mut pin = Pin::load(root)?;
    let (spec, origins) =
        cloudtower_codegen::load_spec_with_origins(spec_path).map_err(|e| e.to_string())?;
    let loaded = started.elapsed();
    let canonical = canonical::canonical_sha256(&spec);
    // A single file is pinned by its bytes, as users download it; a directory of modules
    // by the content it merges to.
    let file_sha = if spec_path.is_file() {
        std::fs::read(spec_path)
            .ok()
            .map(|bytes| canonical::sha256_hex(&bytes))
    } else {
        None
    };
    let version = spec
        .pointer("/info/version")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_owned();
    let mut new_pin = None;
    if update_pin {
        let sha256 = match &file_sha {
            Some(sha) => sha.clone(),
            None if pin.canonical_sha256 == canonical => pin.sha256.clone(),
            None => {
                return Err(
                    "--update-pin needs the merged spec file as published upstream \
                            (its SHA-256 is what users verify), not a module directory"
                        .into(),
                )
            }
        };
        pin = Pin {
            url: pin.url.replace(&pin.version, &version),
            version,
            sha256,
            canonical_sha256: canonical,
            // Says where one version's copy came from; a new version's is another file.
            note: None,
        };
        new_pin = Some(pin.to_json());
    } else {
        let matches_file = file_sha.as_deref() == Some(pin.sha256.as_str());
        if !matches_file && canonical != pin.canonical_sha256 {
            return Err(format!(
                "{} is not the pinned spec (CloudTower {}, sha256 {}); to move to it, run \
                 `cargo xtask regen --spec {} --update-pin`",
                spec_path.display(),
                pin.version,
                pin.sha256,
                spec_path.display()
            ));
        }
    }

    let fixups_path = root.join("spec/fixups.json");
    let fixup_text = std::fs::read_to_string(&fixups_path)
        .map_err(|e| format!("{}: {e}", fixups_path.display()))?;
    let fixups = fixups::parse_fixups(&fixup_text).map_err(|e| e.to_string())?;
    let provenance = Provenance {
        description: format!("CloudTower API {}", pin.version),
        sha256: pin.sha256.clone(),
    };
    let options = Options {
        always_on_operations: cloudtower_codegen::runtime::CONTRACT_OPERATIONS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        feature_gates: true,
        dispatch: true,
        history: history::History::load(root)?,
    };
    let mut generated = cloudtower_codegen::generate_with(spec, &fixups, &provenance, &options)
        .map_err(|e| origins.name_file(e).to_string())?;
    let features = emit::cargo_features(&generated.api);
    let manifest = if into_crate {
        let manifest_path = root.join("cloudtower-api/Cargo.toml");
        let manifest = std::fs::read_to_string(&manifest_path)
            .map_err(|e| format!("{}: {e}", manifest_path.display()))?;
        let updated = output::with_features(&manifest, &features)
            .map_err(|e| format!("{}: {e}", manifest_path.display()))?;
        Some(ManifestUpdate {
            path: manifest_path,
            current: manifest,
            updated,
        })
    } else {
        let fragment = format!(
            "# The features block for the crate generated here (paste between the \
             `{}` and `{}` lines of its Cargo.toml).\n{features}",
            output::FEATURES_BEGIN,
            output::FEATURES_END
        );
        generated.files.insert(FEATURES_FRAGMENT.into(), fragment);
        if let Some(new_pin) = &new_pin {
            generated.files.insert(PIN_FILE.into(), new_pin.clone());
        }
        None
    };
    let classification = semver::classify(
        &std::fs::read_to_string(out.join(INVENTORY_FILE)).unwrap_or_default(),
        &generated.files[INVENTORY_FILE],
    );
    let changelog = changelog_update(
        root,
        out,
        into_crate,
        (!check)
            .then(|| classification.changelog_entry(&generated.api.version, &pin.sha256, &today())),
        classification.impact(),
    )?;
    if let Some(ChangelogUpdate::InOut(text)) = &changelog {
        generated.files.insert(CHANGELOG_FILE.into(), text.clone());
    }
    let fresh = write_or_check(
        &generated,
        manifest.as_ref(),
        out,
        check,
        started,
        loaded,
        "cargo xtask regen",
    )?;
    if check {
        if !fresh {
            eprint!("{}", classification.render(50));
        }
    } else {
        print!("{}", classification.render(50));
    }
    if let Some(ChangelogUpdate::Repository { path, text }) = &changelog {
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("recorded the change in {}", path.display());
    }
    if let Some(new_pin) = new_pin.filter(|_| into_crate && !check) {
        let path = root.join("spec/pin.json");
        std::fs::write(&path, new_pin).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("pinned CloudTower {} in {}", pin.version, path.display());
    }
    Ok(fresh)
}

/// The changelog: the repository's (beside the crate), or one inside `--out DIR`.
const CHANGELOG_FILE: &str = "CHANGELOG.md";

/// Where a regeneration's changelog entry goes.
enum ChangelogUpdate {
    /// The repository's `CHANGELOG.md`, written after the generated code.
    Repository { path: PathBuf, text: String },
    /// `DIR/CHANGELOG.md` with `--out DIR`, written (or, with `--check`, compared) with the
    /// generated files, since those replace everything in DIR.
    InOut(String),
}

/// The changelog with `entry` on top (`None` with `--check`, which records nothing), when
/// there is something to write or keep. Nothing when the API did not change.
fn changelog_update(
    root: &Path,
    out: &Path,
    into_crate: bool,
    entry: Option<String>,
    impact: semver::Impact,
) -> Result<Option<ChangelogUpdate>, String> {
    let path = if into_crate {
        root.join(CHANGELOG_FILE)
    } else {
        out.join(CHANGELOG_FILE)
    };
    let current = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let entry = entry.filter(|_| impact != semver::Impact::None);
    let text = match (entry, current) {
        (Some(entry), current) => {
            semver::prepend_entry(current.as_deref().unwrap_or_default(), &entry)
        }
        (None, Some(current)) if !into_crate => current,
        (None, _) => return Ok(None),
    };
    Ok(Some(if into_crate {
        ChangelogUpdate::Repository { path, text }
    } else {
        ChangelogUpdate::InOut(text)
    }))
}

/// Today's date (UTC) as `YYYY-MM-DD`, for changelog entries.
fn today() -> String {
    time::OffsetDateTime::now_utc().date().to_string()
}

/// Whether `a` and `b` name the same directory (either may not exist yet).
fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => std::path::absolute(a).ok() == std::path::absolute(b).ok(),
    }
}

/// The crate manifest with its generated `[features]` block brought up to date.
struct ManifestUpdate {
    path: PathBuf,
    current: String,
    updated: String,
}

/// Prints the counts and what changed, then writes `out` and the manifest (or, with `check`,
/// compares them). Whether it succeeded (with `check`: whether everything is fresh).
fn write_or_check(
    generated: &Generated,
    manifest: Option<&ManifestUpdate>,
    out: &Path,
    check: bool,
    started: Instant,
    loaded: Duration,
    regen_command: &str,
) -> Result<bool, String> {
    for warning in &generated.warnings {
        eprintln!("warning: {warning}");
    }
    let api = &generated.api;
    let component_types = api.types.iter().filter(|t| t.is_component).count();
    println!(
        "{} {}: {} schemas -> {} types ({} component, {} inline), {} operations -> {} methods",
        api.title,
        api.version,
        api.schema_count,
        api.types.len(),
        component_types,
        api.types.len() - component_types,
        api.operations.len(),
        api.operations.len(),
    );
    let old_inventory = std::fs::read_to_string(out.join(INVENTORY_FILE)).unwrap_or_default();
    let changes = inventory::summarize_changes(&old_inventory, &generated.files[INVENTORY_FILE]);

    if check {
        let staleness = output::compare(out, &generated.files).map_err(|e| e.to_string())?;
        let manifest_fresh = manifest.is_none_or(|m| m.current == m.updated);
        if let Some(stale) = manifest.filter(|_| !manifest_fresh) {
            eprintln!(
                "the generated features in {} are stale",
                stale.path.display()
            );
        }
        if staleness.is_fresh() && manifest_fresh {
            println!("generated code is up to date ({})", out.display());
            return Ok(true);
        }
        eprintln!("generated code in {} is stale:", out.display());
        for (label, files) in [
            ("changed", &staleness.changed),
            ("missing", &staleness.missing),
            ("not generated", &staleness.extra),
        ] {
            for file in files {
                eprintln!("  {label}: {file}");
            }
        }
        eprint!("{changes}");
        eprintln!("run `{regen_command}` and commit the result");
        return Ok(false);
    }

    let before_write = Instant::now();
    output::write_atomically(out, &generated.files).map_err(|e| e.to_string())?;
    if let Some(manifest) = manifest.filter(|m| m.current != m.updated) {
        std::fs::write(&manifest.path, &manifest.updated)
            .map_err(|e| format!("{}: {e}", manifest.path.display()))?;
    }
    let write = before_write.elapsed();
    print!("{changes}");
    let mut stages = format!("load+merge {:.0} ms", loaded.as_secs_f64() * 1e3);
    for (stage, took) in &generated.timings {
        stages.push_str(&format!(", {stage} {:.0} ms", took.as_secs_f64() * 1e3));
    }
    println!(
        "wrote {} files to {} in {:.2} s ({stages}, write {:.0} ms)",
        generated.files.len(),
        out.display(),
        started.elapsed().as_secs_f64(),
        write.as_secs_f64() * 1e3
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace_root;

    /// The repository files a regeneration into the crate would touch, with their bytes.
    fn crate_files(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut paths = vec![
            root.join("cloudtower-api/Cargo.toml"),
            root.join("spec/pin.json"),
            root.join(CHANGELOG_FILE),
        ];
        let generated = std::fs::read_dir(crate_generated_dir(root)).expect("the crate's code");
        paths.extend(generated.map(|entry| entry.expect("a directory entry").path()));
        paths.sort();
        paths
            .into_iter()
            .map(|path| {
                let bytes = std::fs::read(&path).expect("a readable file");
                (path, bytes)
            })
            .collect()
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("a directory")
            .map(|e| {
                e.expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    /// The checkout these tests were compiled in (the tests run inside it).
    fn this_checkout() -> PathBuf {
        workspace_root().expect("the tests run inside the checkout")
    }

    #[test]
    fn regen_with_out_writes_nothing_outside_out() {
        let root = this_checkout();
        let spec = pinned::find_pinned_spec(&root).unwrap_or_else(|e| panic!("{e}"));
        let before = crate_files(&root);
        let scratch = tempfile::tempdir().expect("a temporary directory");

        let out = scratch.path().join("generated");
        assert!(regen(&root, &spec.merged_file, Some(&out), false, false).unwrap());
        let written = names_in(&out);
        assert!(written.contains(&"mod.rs".to_owned()), "{written:?}");
        assert!(
            written.contains(&FEATURES_FRAGMENT.to_owned()),
            "{written:?}"
        );
        assert!(!written.contains(&PIN_FILE.to_owned()), "{written:?}");
        let fragment = std::fs::read_to_string(out.join(FEATURES_FRAGMENT)).unwrap();
        let manifest = std::fs::read_to_string(root.join("cloudtower-api/Cargo.toml")).unwrap();
        assert!(
            manifest.contains(&fragment[fragment.find('\n').unwrap() + 1..]),
            "the fragment is the crate's features block"
        );
        // A first generation adds everything, and says so in DIR's changelog.
        let changelog = std::fs::read_to_string(out.join(CHANGELOG_FILE)).unwrap();
        assert!(
            changelog.starts_with(&format!(
                "# Changelog\n\n## Unreleased: CloudTower {} (",
                spec.pin.version
            )),
            "{changelog}"
        );
        assert!(changelog.contains("API change: additive"), "{changelog}");
        assert!(
            changelog.contains(
                "- operation `/abort-migrate-vm-across-cluster` added (method \
                 `abort_migrate_vm_across_cluster`)"
            ),
            "{changelog}"
        );
        // What was written is what `--check` expects.
        assert!(regen(&root, &spec.merged_file, Some(&out), true, false).unwrap());
        // The same spec again changes nothing, so records nothing.
        assert!(regen(&root, &spec.merged_file, Some(&out), false, false).unwrap());
        assert_eq!(
            std::fs::read_to_string(out.join(CHANGELOG_FILE)).unwrap(),
            changelog
        );
        // Against an inventory with one more operation, the regeneration removes it: breaking,
        // recorded above the first entry.
        let inventory = std::fs::read_to_string(out.join(INVENTORY_FILE)).unwrap();
        let gone = "op /zz-gone ZzGone -> zz_gone(Vec<String>) -> Vec<Task>\n";
        let at = inventory.find("type ").unwrap();
        let with_gone = format!("{}{gone}{}", &inventory[..at], &inventory[at..]);
        std::fs::write(out.join(INVENTORY_FILE), with_gone).unwrap();
        assert!(regen(&root, &spec.merged_file, Some(&out), false, false).unwrap());
        let updated = std::fs::read_to_string(out.join(CHANGELOG_FILE)).unwrap();
        let (newest, older) = updated.rsplit_once("\n## Unreleased").unwrap();
        assert!(
            newest.contains("API change: breaking (1 breaking, 0 additive)"),
            "{newest}"
        );
        assert!(
            newest.contains("- operation `/zz-gone` removed (method `zz_gone`)"),
            "{newest}"
        );
        assert!(changelog.ends_with(older), "the first entry is kept below");

        // A new upstream version with --update-pin and --out: its pin goes to DIR only. (The
        // pinned spec under another version number; the crate's files must not move to it.)
        let mut other: Value =
            serde_json::from_slice(&std::fs::read(&spec.merged_file).unwrap()).unwrap();
        other["info"]["version"] = "9.9.9".into();
        let other_spec = scratch.path().join("cloudtower-9.9.9.json");
        std::fs::write(&other_spec, serde_json::to_vec(&other).unwrap()).unwrap();
        let pinned_out = scratch.path().join("pinned");
        assert!(regen(&root, &other_spec, Some(&pinned_out), false, true).unwrap());
        let pin: Value =
            serde_json::from_slice(&std::fs::read(pinned_out.join(PIN_FILE)).unwrap()).unwrap();
        assert_eq!(pin["version"], "9.9.9");
        let other_sha = canonical::sha256_hex(&std::fs::read(&other_spec).unwrap());
        assert_eq!(pin["sha256"], other_sha.as_str());

        assert_eq!(
            names_in(scratch.path()),
            ["cloudtower-9.9.9.json", "generated", "pinned"]
        );
        let after = crate_files(&root);
        assert_eq!(
            before.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            after.iter().map(|(p, _)| p).collect::<Vec<_>>()
        );
        for ((path, old), (_, new)) in before.iter().zip(&after) {
            assert!(old == new, "{} changed", path.display());
        }
    }
}
