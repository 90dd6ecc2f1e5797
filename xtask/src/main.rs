//! Project tasks: `cargo xtask regen`, `cargo xtask regen-fixtures`, `cargo xtask fetch-spec`,
//! `cargo xtask conformance`, `cargo xtask test`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use cloudtower_codegen::{
    canonical, emit, fixups, inventory, output, Generated, Options, Provenance, INVENTORY_FILE,
};
use serde_json::{json, Value};

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
        /// cached download of the pinned version (see `fetch-spec`).
        #[arg(long, env = "CLOUDTOWER_SPEC")]
        spec: Option<PathBuf>,
        /// Change nothing; fail if the committed code differs from what the spec produces.
        #[arg(long, conflicts_with = "update_pin")]
        check: bool,
        /// Accept a new spec version: record its version and hashes in spec/pin.json.
        #[arg(long)]
        update_pin: bool,
        /// Where the generated files go.
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
    /// Download the pinned spec into the git-ignored cache (.spec-cache/), checking its hash.
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

const FEATURES_BEGIN: &str = "# BEGIN generated features";
const FEATURES_END: &str = "# END generated features";

/// `manifest` with the generated features block replaced by `features`.
fn with_features(manifest: &str, features: &str) -> Result<String, String> {
    let begin = manifest
        .find(FEATURES_BEGIN)
        .ok_or_else(|| format!("no `{FEATURES_BEGIN}` line in the manifest"))?;
    let body_start = manifest[begin..]
        .find('\n')
        .map(|i| begin + i + 1)
        .ok_or("unterminated features block")?;
    let end = manifest[body_start..]
        .find(FEATURES_END)
        .map(|i| body_start + i)
        .ok_or_else(|| format!("no `{FEATURES_END}` line in the manifest"))?;
    Ok(format!(
        "{}{features}{}",
        &manifest[..body_start],
        &manifest[end..]
    ))
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

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// `spec/pin.json`: which upstream spec the committed code was generated from.
struct Pin {
    path: PathBuf,
    value: Value,
}

impl Pin {
    fn load(root: &Path) -> Result<Pin, String> {
        let path = root.join("spec/pin.json");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Pin { path, value })
    }

    fn text(&self, key: &str) -> Result<&str, String> {
        self.value
            .get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{}: missing `{key}`", self.path.display()))
    }

    fn cache_path(&self, root: &Path) -> Result<PathBuf, String> {
        Ok(root
            .join(".spec-cache")
            .join(format!("cloudtower-{}.json", self.text("version")?)))
    }

    fn save(&self) -> Result<(), String> {
        let text = serde_json::to_string_pretty(&self.value).map_err(|e| e.to_string())? + "\n";
        std::fs::write(&self.path, text).map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    let root = workspace_root();
    let mut pin = Pin::load(&root)?;
    match cli.command {
        Command::Conformance { args } => exit_code(run_conformance(&root, &args)),
        Command::Test { args } => {
            let mut test = vec!["test", "--workspace", "--all-features"];
            test.extend(args.iter().map(String::as_str));
            if !run_command(&root, &cargo(), &test)? {
                return Ok(ExitCode::FAILURE);
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
        Command::FetchSpec { url } => {
            let url = match url {
                Some(url) => url,
                None => pin.text("url")?.to_owned(),
            };
            let cache = pin.cache_path(&root)?;
            eprintln!("fetching {url}");
            let bytes = ureq::get(&url)
                .call()
                .map_err(|e| format!("{url}: {e}"))?
                .body_mut()
                .read_to_vec()
                .map_err(|e| format!("{url}: {e}"))?;
            let actual = canonical::sha256_hex(&bytes);
            if actual != pin.text("sha256")? {
                return Err(format!(
                    "{url}: sha256 {actual} does not match the pin {} (spec/pin.json)",
                    pin.text("sha256")?
                ));
            }
            if let Some(dir) = cache.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            std::fs::write(&cache, bytes).map_err(|e| format!("{}: {e}", cache.display()))?;
            eprintln!("saved {}", cache.display());
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
        Command::Regen {
            spec,
            check,
            update_pin,
            out,
        } => {
            let spec_path = match spec {
                Some(path) => path,
                None => {
                    let cache = pin.cache_path(&root)?;
                    if !cache.exists() {
                        return Err(format!(
                            "no spec given: pass --spec PATH (a file or a directory of spec \
                             modules), set CLOUDTOWER_SPEC, or run `cargo xtask fetch-spec` \
                             to download the pinned version to {}",
                            cache.display()
                        ));
                    }
                    cache
                }
            };
            let out = out.unwrap_or_else(|| root.join("cloudtower-api/src/generated"));
            regen(&root, &mut pin, &spec_path, &out, check, update_pin)
        }
    }
}

fn regen(
    root: &Path,
    pin: &mut Pin,
    spec_path: &Path,
    out: &Path,
    check: bool,
    update_pin: bool,
) -> Result<ExitCode, String> {
    let started = Instant::now();
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
    if update_pin {
        let sha256 = match &file_sha {
            Some(sha) => sha.clone(),
            None if pin.text("canonical_sha256").ok() == Some(canonical.as_str()) => {
                pin.text("sha256")?.to_owned()
            }
            None => {
                return Err(
                    "--update-pin needs the merged spec file as published upstream \
                            (its SHA-256 is what users verify), not a module directory"
                        .into(),
                )
            }
        };
        let url = pin.text("url")?.replace(pin.text("version")?, &version);
        pin.value = json!({
            "version": version,
            "url": url,
            "sha256": sha256,
            "canonical_sha256": canonical,
        });
        pin.save()?;
        eprintln!("pinned CloudTower {version} in {}", pin.path.display());
    } else {
        let matches_file = file_sha.as_deref() == Some(pin.text("sha256")?);
        let matches_content = canonical == pin.text("canonical_sha256")?;
        if !matches_file && !matches_content {
            return Err(format!(
                "{} is not the pinned spec (CloudTower {}, sha256 {}); to move to it, run \
                 `cargo xtask regen --spec {} --update-pin`",
                spec_path.display(),
                pin.text("version")?,
                pin.text("sha256")?,
                spec_path.display()
            ));
        }
    }

    let fixups_path = root.join("spec/fixups.json");
    let fixup_text = std::fs::read_to_string(&fixups_path)
        .map_err(|e| format!("{}: {e}", fixups_path.display()))?;
    let fixups = fixups::parse_fixups(&fixup_text).map_err(|e| e.to_string())?;
    let provenance = Provenance {
        description: format!("CloudTower API {}", pin.text("version")?),
        sha256: pin.text("sha256")?.to_owned(),
    };
    let options = Options {
        always_on_operations: cloudtower_codegen::runtime::CONTRACT_OPERATIONS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        feature_gates: true,
        dispatch: true,
    };
    let generated = cloudtower_codegen::generate_with(spec, &fixups, &provenance, &options)
        .map_err(|e| origins.name_file(e).to_string())?;
    let manifest_path = root.join("cloudtower-api/Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path)
        .map_err(|e| format!("{}: {e}", manifest_path.display()))?;
    let updated = with_features(&manifest, &emit::cargo_features(&generated.api))
        .map_err(|e| format!("{}: {e}", manifest_path.display()))?;
    let manifest = ManifestUpdate {
        path: manifest_path,
        current: manifest,
        updated,
    };
    write_or_check(
        &generated,
        Some(&manifest),
        out,
        check,
        started,
        loaded,
        "cargo xtask regen",
    )
}

/// The crate manifest with its generated `[features]` block brought up to date.
struct ManifestUpdate {
    path: PathBuf,
    current: String,
    updated: String,
}

/// Prints the counts and what changed, then writes `out` and the manifest (or, with `check`,
/// compares them).
fn write_or_check(
    generated: &Generated,
    manifest: Option<&ManifestUpdate>,
    out: &Path,
    check: bool,
    started: Instant,
    loaded: Duration,
    regen_command: &str,
) -> Result<ExitCode, String> {
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
            return Ok(ExitCode::SUCCESS);
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
        return Ok(ExitCode::FAILURE);
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
    Ok(ExitCode::SUCCESS)
}
