//! Project tasks: `cargo xtask regen`, `cargo xtask regen-fixtures`, `cargo xtask fetch-spec`,
//! `cargo xtask conformance`, `cargo xtask test`, `cargo xtask history`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use cloudtower_codegen::pinned::{self, Pin};
use cloudtower_codegen::{
    canonical, emit, fixups, history, inventory, output, semver, Generated, Options, Provenance,
    INVENTORY_FILE,
};
use serde_json::Value;

mod versions;

#[derive(Parser)]
#[command(name = "xtask", about = "cloudtower-rs project tasks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerate cloudtower-api's generated code from the pinned spec.
    Regen {
        /// The spec: a merged JSON/YAML file or a directory of spec modules. Default: the
        /// pinned version's file found in $CLOUDTOWER_SPECS, else ../shared/specs beside the
        /// workspace, else the hash-checked download cache .spec-cache/ (downloaded when
        /// missing, as `fetch-spec` does).
        #[arg(long, env = "CLOUDTOWER_SPEC")]
        spec: Option<PathBuf>,
        /// Change nothing; fail if the committed code differs from what the spec produces.
        #[arg(long, conflicts_with = "update_pin")]
        check: bool,
        /// Accept a new spec version: record its version and hashes in spec/pin.json. With
        /// --out DIR (another directory than the crate's), the repository's pin is left alone:
        /// the spec is taken without checking it against the pin and its would-be pin is
        /// written to DIR/pin.json.
        #[arg(long)]
        update_pin: bool,
        /// Where the generated files go (default cloudtower-api/src/generated, which also
        /// updates the features block of cloudtower-api/Cargo.toml). Any other DIR gets
        /// everything inside it and nothing outside it: the features block as the fragment
        /// DIR/features.toml (to paste into a crate's Cargo.toml), and DIR/pin.json with
        /// --update-pin. The files are written into a scratch directory beside DIR first and
        /// renamed into place, so a failed write leaves DIR as it was.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Regenerate the fixture crate's code (fixture-check/src/generated) from the hand-written
    /// fixture spec (spec/fixtures/constructs/), which the generator's snapshot tests cover.
    RegenFixtures {
        /// Change nothing; fail if the committed fixture code is stale.
        #[arg(long)]
        check: bool,
    },
    /// Every operation against Stoplight Prism and the 4.3.0 spec (README, "Conformance"):
    /// `cargo run --release -p cloudtower-conformance -- ARGS` (needs `npm ci` in conformance/).
    Conformance {
        /// Passed to the conformance binary (`--help` lists them).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// All tests: `cargo test --workspace --all-features`, then `conformance` when Node.js and
    /// npm are present (after `npm ci` in conformance/). CLOUDTOWER_CONFORMANCE=0 skips it.
    Test {
        /// Passed to `cargo test` after `--workspace --all-features`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Rebuild the version history table (spec/history.txt: which published specs have each
    /// operation) from the spec of every obtainable published version.
    History {
        /// The directory of history specs (`cloudtower-<version>.json`). Default:
        /// $CLOUDTOWER_SPECS/history, else ../shared/specs/history beside the workspace.
        #[arg(long)]
        specs: Option<PathBuf>,
        /// Change nothing; fail if the committed table differs from what the specs give.
        #[arg(long)]
        check: bool,
    },
    /// Every published version end to end: regenerate a scratch copy of the workspace under
    /// target/versions/ for each, build it, start its mock and run a CLI and an SDK session
    /// against it (sign in, list and count VMs, a mutation and its task).
    Versions {
        /// The versions (default: a sample, 1.8.0 3.4.4 4.3.0 4.6.0 4.8.0).
        versions: Vec<String>,
        /// Every version of the history (23).
        #[arg(long, conflicts_with = "versions")]
        all: bool,
        /// Only `cargo check --workspace` each copy (no build, no sessions).
        #[arg(long)]
        check: bool,
        /// The directory of history specs. Default: as for `history`.
        #[arg(long)]
        specs: Option<PathBuf>,
    },
    /// Download the pinned spec into the git-ignored cache (.spec-cache/), checking its hash
    /// (`regen`, the tests and conformance use it when CLOUDTOWER_SPECS and ../shared/specs
    /// do not have the spec).
    FetchSpec {
        /// Download from here instead of the pinned address.
        #[arg(long)]
        url: Option<String>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| "cargo".into(), PathBuf::from)
}

/// Runs `program args` in `dir`; whether it succeeded.
fn run_command(dir: &Path, program: &Path, args: &[&str]) -> Result<bool, String> {
    std::process::Command::new(program)
        .current_dir(dir)
        .args(args)
        .status()
        .map(|status| status.success())
        .map_err(|e| format!("running {}: {e}", program.display()))
}

/// The conformance binary, in release: it is kept out of xtask's dependencies because
/// cloudtower-api with every operation is slow to build, and `regen` must stay fast.
fn run_conformance(root: &Path, args: &[String]) -> Result<bool, String> {
    let mut run = vec!["run", "--release", "-p", "cloudtower-conformance", "--"];
    run.extend(args.iter().map(String::as_str));
    run_command(root, &cargo(), &run)
}

fn exit_code(succeeded: Result<bool, String>) -> Result<ExitCode, String> {
    Ok(if succeeded? {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The checkout this run works on: the cargo workspace around the current directory, found at
/// run time. Not the one xtask was compiled in (`CARGO_MANIFEST_DIR`): cargo does not rebuild
/// xtask for a second checkout that shares its target directory (a global
/// `CARGO_TARGET_DIR`), and that binary would otherwise write into the first checkout.
fn workspace_root() -> Result<PathBuf, String> {
    let output = std::process::Command::new(cargo())
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("running `cargo locate-project`: {e}"))?;
    if !output.status.success() {
        return Err(
            "no cargo workspace around the current directory: run xtask inside a \
             cloudtower-rs checkout"
                .into(),
        );
    }
    let manifest = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let root = manifest
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("{} has no directory", manifest.display()))?;
    checkout_at(&root)
}

/// `root` when it is a cloudtower-rs checkout (it has the pin and the generated crate).
fn checkout_at(root: &Path) -> Result<PathBuf, String> {
    for marker in [
        PIN_FILE_PATH,
        "cloudtower-api/Cargo.toml",
        "xtask/Cargo.toml",
    ] {
        if !root.join(marker).is_file() {
            return Err(format!(
                "{} is not a cloudtower-rs checkout (no {marker}): run xtask inside one",
                root.display()
            ));
        }
    }
    Ok(root.to_path_buf())
}

/// The pin, from a checkout's root.
const PIN_FILE_PATH: &str = "spec/pin.json";

fn run(cli: Cli) -> Result<ExitCode, String> {
    let root = workspace_root()?;
    eprintln!("checkout: {}", root.display());
    match cli.command {
        Command::Conformance { args } => exit_code(run_conformance(&root, &args)),
        Command::Test { args } => {
            // Every failing test binary is reported, not just the first.
            let mut test = vec!["test", "--workspace", "--all-features", "--no-fail-fast"];
            test.extend(args.iter().map(String::as_str));
            if !run_command(&root, &cargo(), &test)? {
                return Ok(ExitCode::FAILURE);
            }
            // Every published version end to end costs a workspace build each: the oldest by
            // default, CLOUDTOWER_VERSIONS=all (or a list) for more, 0 for none.
            let wanted = std::env::var("CLOUDTOWER_VERSIONS").unwrap_or_else(|_| "1.8.0".into());
            if wanted != "0" {
                let dir = history_specs_dir(&root);
                let versions = if wanted == "all" {
                    history_versions(&dir)?
                } else {
                    wanted
                        .split([',', ' '])
                        .filter(|v| !v.is_empty())
                        .map(str::to_owned)
                        .collect()
                };
                if !versions::run(&root, &dir, &versions, versions::Depth::Run)? {
                    return Ok(ExitCode::FAILURE);
                }
            }
            let has = |tool: &str| {
                std::process::Command::new(tool)
                    .arg("--version")
                    .stdout(std::process::Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            };
            if std::env::var("CLOUDTOWER_CONFORMANCE").as_deref() == Ok("0") {
                eprintln!("conformance: SKIPPED (CLOUDTOWER_CONFORMANCE=0)");
            } else if !has("node") || !has("npm") {
                eprintln!(
                    "conformance: SKIPPED (no Node.js/npm on this machine; Prism needs them)"
                );
            } else if !run_command(
                &root.join("conformance"),
                Path::new("npm"),
                &["ci", "--no-audit", "--no-fund", "--loglevel=error"],
            )? {
                eprintln!(
                    "conformance: SKIPPED (npm ci could not install Prism: no access to the npm registry?)"
                );
            } else {
                let known = ["--known-failures", "conformance/known-failures.txt"];
                return exit_code(run_conformance(&root, &known.map(String::from)));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Versions {
            versions,
            all,
            check,
            specs,
        } => {
            let dir = specs.unwrap_or_else(|| history_specs_dir(&root));
            let versions = if all {
                history_versions(&dir)?
            } else if versions.is_empty() {
                versions::SAMPLE.iter().map(|v| (*v).to_owned()).collect()
            } else {
                versions
            };
            let depth = if check {
                versions::Depth::Check
            } else {
                versions::Depth::Run
            };
            exit_code(versions::run(&root, &dir, &versions, depth))
        }
        Command::History { specs, check } => {
            let dir = specs.unwrap_or_else(|| history_specs_dir(&root));
            exit_code(history_table(&root, &dir, check))
        }
        Command::FetchSpec { url } => {
            let pin = Pin::load(&root)?;
            eprintln!("fetching {}", url.as_deref().unwrap_or(&pin.url));
            let saved = pinned::fetch(&root, &pin, url.as_deref())?;
            eprintln!("saved {}", saved.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::RegenFixtures { check } => {
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
            exit_code(write_or_check(
                &generated,
                None,
                &out,
                check,
                started,
                loaded,
                "cargo xtask regen-fixtures",
            ))
        }
        Command::Regen {
            spec,
            check,
            update_pin,
            out,
        } => {
            let spec_path = match spec {
                Some(path) => path,
                None => {
                    let found = pinned::find_pinned_spec(&root)?;
                    eprintln!("spec: {}", found.merged_file.display());
                    found.merged_file
                }
            };
            exit_code(regen(&root, &spec_path, out.as_deref(), check, update_pin))
        }
    }
}

/// The history specs' default directory: `$CLOUDTOWER_SPECS/history` (a relative
/// `CLOUDTOWER_SPECS` from the current directory, else from the workspace root), else
/// `../shared/specs/history` beside the workspace.
/// The versions of the history specs in `dir`, oldest first.
fn history_versions(dir: &Path) -> Result<Vec<String>, String> {
    let snapshots = history::read_specs(dir)?;
    Ok(snapshots.iter().map(|s| s.version.to_string()).collect())
}

fn history_specs_dir(root: &Path) -> PathBuf {
    match std::env::var_os(pinned::SPECS_ENV) {
        Some(dir) => {
            let dir = PathBuf::from(dir).join("history");
            if dir.is_absolute() || dir.is_dir() {
                dir
            } else {
                root.join(dir)
            }
        }
        None => root.join("../shared/specs/history"),
    }
}

/// `cargo xtask history`: writes the table, or with `check` says whether the committed one is
/// what the specs in `dir` give (naming the lines that differ when not).
fn history_table(root: &Path, dir: &Path, check: bool) -> Result<bool, String> {
    let started = Instant::now();
    let snapshots = history::read_specs(dir)?;
    let read = started.elapsed();
    let table = history::History::build(&snapshots, history::UNOBTAINABLE)?;
    let text = table.render();
    let path = root.join(history::TABLE_FILE);
    println!(
        "{} published versions ({} with a spec, from {}), {} operations, in {:.2} s (reading {:.2} s)",
        table.versions.len(),
        snapshots.len(),
        dir.display(),
        table.operations.len(),
        started.elapsed().as_secs_f64(),
        read.as_secs_f64()
    );
    if check {
        let committed = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        return Ok(match history::differences(&committed, &text) {
            None => {
                println!("{} is up to date", path.display());
                true
            }
            Some(differences) => {
                eprintln!(
                    "{} is stale: the specs in {} give other lines (- committed, + rebuilt):\n{differences}run `{}` and commit the result",
                    path.display(),
                    dir.display(),
                    history::COMMAND
                );
                false
            }
        });
    }
    std::fs::write(&path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(true)
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
