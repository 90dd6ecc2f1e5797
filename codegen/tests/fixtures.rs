//! The code generated for the hand-written fixture spec, which covers every construct the
//! generator handles (spec/fixtures/constructs/ as modules, and the same API merged in
//! spec/fixtures/constructs.json).
//!
//! Its one reviewed copy is `fixture-check/src/generated`: committed, compiled and exercised
//! by the `fixture-check` crate, and compared here with what the generator produces today
//! (the snapshot a generator change must update, with `cargo xtask regen-fixtures`).

mod common;

use common::{assert_same_files, fixture, fixture_provenance, generate, root};

#[test]
fn module_directory_and_merged_file_generate_identical_code() {
    let from_modules = generate(&fixture("constructs")).unwrap();
    let from_merged = generate(&fixture("constructs.json")).unwrap();
    assert_same_files(&from_modules, &from_merged);
    assert_eq!(from_modules.api, from_merged.api);
}

#[test]
fn every_fixture_schema_and_operation_is_generated() {
    let generated = generate(&fixture("constructs")).unwrap();
    let api = &generated.api;
    let components = api.types.iter().filter(|t| t.is_component).count();
    assert_eq!(api.schema_count, 40);
    assert_eq!(components, api.schema_count);
    assert_eq!(api.operations.len(), 14);
    let mod_rs = &generated.files["mod.rs"];
    assert_eq!(
        mod_rs
            .matches("::cloudtower_runtime::OperationInfo {")
            .count(),
        14
    );
    let methods: usize = generated
        .files
        .values()
        .map(|text| {
            text.matches(") -> ::cloudtower_runtime::CallFuture<")
                .count()
        })
        .sum();
    assert_eq!(methods, 14);
}

/// The committed generated code of the `fixture-check` crate (which compiles it and tests
/// its behaviour) must be what the fixture produces today: the fixture's output snapshot.
#[test]
fn fixture_check_crate_is_up_to_date() {
    let generated = generate(&fixture("constructs")).unwrap();
    let dir = root().join("fixture-check/src/generated");
    let staleness = cloudtower_codegen::output::compare(&dir, &generated.files).unwrap();
    assert!(
        staleness.is_fresh(),
        "fixture-check/src/generated is stale ({staleness:?}): run `cargo xtask regen-fixtures`"
    );
}

/// The count request sends the list body's filter alone (`{"where": …}`), so a counter that
/// requires another field gets no `CountRequest` (`Client::count` compiles out for that list)
/// rather than a request without what the counter requires.
#[test]
fn a_counter_that_requires_more_than_the_filter_gets_no_count_request() {
    let (mut spec, _) =
        cloudtower_codegen::load_spec_with_origins(&fixture("constructs.json")).unwrap();
    let counts_vms = |spec: serde_json::Value| {
        let provenance = fixture_provenance(&spec);
        let generated = cloudtower_codegen::generate(spec, &[], &provenance).unwrap();
        generated
            .files
            .values()
            .any(|file| file.contains("CountRequest for crate::models::GetVmsRequestBody"))
    };
    assert!(counts_vms(spec.clone()));
    spec["components"]["schemas"]["GetVmsConnectionRequestBody"]["required"] =
        serde_json::json!(["first"]);
    assert!(!counts_vms(spec));
}
