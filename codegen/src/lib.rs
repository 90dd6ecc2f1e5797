//! Generates the `cloudtower-api` crate from CloudTower's OpenAPI 3.0 spec.
//!
//! The pipeline has one stage per module, each with one job:
//! [`load`] (read documents) → [`merge`] (spec modules into one document) → [`fixups`]
//! (upstream bugs, as data) → [`lower`] (validate; build the [`ir`]) → [`emit`] (IR to tokens)
//! → [`format`](mod@format) (tokens to source) → [`output`] (write all or nothing). After
//! lowering, [`history`] (the committed table of which published versions have each
//! operation) says since when each operation exists.

pub mod canonical;
pub mod cargo_env;
pub mod emit;
pub mod error;
pub mod fixups;
pub mod format;
pub mod helpers;
pub mod history;
pub mod inventory;
pub mod ir;
pub mod load;
pub mod lower;
pub mod merge;
pub mod names;
pub mod output;
pub mod pinned;
pub mod runtime;
pub mod schema_table;
pub mod semver;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

pub use emit::OTHER_VARIANT;
pub use error::{CodegenError, Result};

/// The name of the inventory file written beside the generated code.
pub const INVENTORY_FILE: &str = "inventory.txt";

/// The name of the API's shape as data ([`schema_table`]) written beside the generated code.
pub const SCHEMA_FILE: &str = "schema.json";

/// What the generated files' header says about their source.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// E.g. `CloudTower APIs 4.6.0`.
    pub description: String,
    /// SHA-256 of the pinned upstream document.
    pub sha256: String,
}

/// The generated crate sources and what went into them.
#[derive(Debug)]
pub struct Generated {
    /// File name → contents (Rust sources plus [`INVENTORY_FILE`]).
    pub files: BTreeMap<String, String>,
    pub api: ir::Api,
    /// What the generator worked around (an operation renamed, …): print them at regeneration.
    pub warnings: Vec<String>,
    /// Wall time of each stage, in order.
    pub timings: Vec<(&'static str, Duration)>,
}

/// Loads a spec (a file or a directory of modules) and merges it into one document.
pub fn load_spec(path: &Path) -> Result<serde_json::Value> {
    merge::merge(load::load(path)?)
}

/// [`load_spec`], also saying which module each path and component came from: pass errors of
/// the later stages through [`merge::Origins::name_file`] to name the module file.
pub fn load_spec_with_origins(path: &Path) -> Result<(serde_json::Value, merge::Origins)> {
    merge::merge_with_origins(load::load(path)?)
}

/// Choices that differ between the real crate and fixture crates.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Operations the hand-written client layer calls (login, task polling): they and the
    /// types they reach are never behind a feature.
    pub always_on_operations: Vec<String>,
    /// Put each spec module's operations and types behind a cargo feature (see
    /// [`emit::cargo_features`]).
    pub feature_gates: bool,
    /// Generate `Client::call_operation` ([`emit::emit_dispatch`]) in `dispatch.rs`, declared
    /// behind the `dynamic` feature.
    pub dispatch: bool,
    /// The version history (`spec/history.txt`, read with [`history::History::parse`]): each
    /// operation's [`ir::Since`]. Empty by default: every operation is then first seen in
    /// the spec generated.
    pub history: history::History,
}

/// Spec modules must leave the generated crate's own names free: the module of operation
/// table entries (`models::operations`) and the helpers' features (`upload`, `vnc`, `watch`).
fn reserved_names(api: &ir::Api) -> Result<()> {
    for module in api.modules() {
        let feature = emit::feature_name(module);
        let taken =
            module == "operations" || helpers::HELPERS.iter().any(|helper| helper.name == feature);
        if taken {
            let operation = api.operations.iter().find(|o| o.module == module);
            let pointer = operation.map_or_else(
                || "/tags".to_owned(),
                |o| {
                    format!(
                        "/paths/{}/tags",
                        error::pointer_token(&format!("/{}", o.path))
                    )
                },
            );
            return Err(CodegenError::invalid(
                pointer,
                format!(
                    "the spec module `{module}` would take a name the generated crate uses \
                     for itself (`models::operations`, the helper features): rename its tag \
                     with a fixup"
                ),
            ));
        }
    }
    Ok(())
}

/// Runs the pipeline after loading with default [`Options`] (no feature gates).
pub fn generate(
    spec: serde_json::Value,
    fixups: &[fixups::Fixup],
    provenance: &Provenance,
) -> Result<Generated> {
    generate_with(spec, fixups, provenance, &Options::default())
}

/// Runs the pipeline after loading: fixups, lowering, emitting, formatting.
pub fn generate_with(
    mut spec: serde_json::Value,
    fixups: &[fixups::Fixup],
    provenance: &Provenance,
    options: &Options,
) -> Result<Generated> {
    let mut timings = Vec::new();
    let mut clock = Instant::now();
    let mut lap = |stage: &'static str, timings: &mut Vec<(&'static str, Duration)>| {
        timings.push((stage, clock.elapsed()));
        clock = Instant::now();
    };
    fixups::apply_fixups(&mut spec, fixups)?;
    let mut api = lower::lower(spec, &options.always_on_operations)?;
    options.history.annotate(&mut api);
    reserved_names(&api)?;
    lap("ir", &mut timings);
    let mut plans = emit::plan(&api);
    if options.dispatch {
        plans.push(emit::FilePlan {
            name: emit::DISPATCH_FILE.into(),
            types: Vec::new(),
            operations: Vec::new(),
        });
    }
    // The shared files are by far the largest: format them first.
    let largest = [emit::SHARED_FILTERS_MODULE, emit::SHARED_MODULE].map(|m| format!("{m}.rs"));
    plans.sort_by_key(|p| !largest.contains(&p.name));
    let header = format!(
        "// @generated by cloudtower-codegen: do not edit by hand.\n\
         // Source: {} (sha256 {}).\n\
         // Regenerate with `cargo xtask regen` (see README.md).\n",
        provenance.description, provenance.sha256
    );
    let names: Vec<String> = plans.iter().map(|p| p.name.clone()).collect();
    let gates = emit::Gates::new(&api, options.feature_gates);
    let mut files = format::format_files(
        &names,
        |i| emit::emit_file(&api, &plans[i], &plans, &gates),
        &header,
    )?;
    lap("emit+format", &mut timings);
    files.insert(INVENTORY_FILE.into(), inventory::inventory(&api));
    let table = schema_table::schema_table(&api, &header);
    files.insert(SCHEMA_FILE.into(), schema_table::schema_json(&table));
    let mut warnings: Vec<String> = api
        .operations
        .iter()
        .filter_map(|o| Some(format!("/{}: {}", o.path, o.renamed.as_ref()?)))
        .collect();
    warnings.extend(helpers::unsupported(&api));
    Ok(Generated {
        files,
        api,
        warnings,
        timings,
    })
}
