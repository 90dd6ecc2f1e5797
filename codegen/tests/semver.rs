//! A regeneration's semver classification on real generations: the fixture specs
//! spec/fixtures/semver/additive.json and breaking.json against base.json.

mod common;

use cloudtower_codegen::semver::{classify, Classification, Impact};
use cloudtower_codegen::INVENTORY_FILE;
use common::{fixture, generate};

fn inventory(name: &str) -> String {
    let generated = generate(&fixture(&format!("semver/{name}.json")))
        .unwrap_or_else(|e| panic!("semver/{name}.json: {e}"));
    generated.files[INVENTORY_FILE].clone()
}

fn classify_against_base(name: &str) -> Classification {
    classify(&inventory("base"), &inventory(name))
}

#[test]
fn only_additions_are_additive() {
    let classification = classify_against_base("additive");
    assert_eq!(classification.breaking, Vec::<String>::new());
    assert_eq!(
        classification.additive,
        [
            "operation `/stop-vm` added (method `stop_vm`)",
            "type `VmStopParams` added",
            "field `GetVmsRequestBody::skip` (`Option<i32>`) added",
            "field `Vm::memory` (`Option<i64>`) added",
            "variant `VmStatus::Paused` added",
        ]
    );
    assert_eq!(classification.impact(), Impact::Additive);
}

#[test]
fn removals_and_changes_are_breaking() {
    let classification = classify_against_base("breaking");
    assert_eq!(
        classification.breaking,
        [
            "operation `/start-vm` removed (method `start_vm`)",
            "type `VmStartParams` removed",
            "field `GetVmsRequestBody::first`: type `Option<i32>` became `i32`",
            "field `GetVmsRequestBody::first` became required",
            "field `Vm::name` removed",
            "variant `VmStatus::Stopped` removed",
            "field `VmWhereInput::id`: type `Option<String>` became `Option<i64>`",
        ]
    );
    assert_eq!(classification.additive, Vec::<String>::new());
    assert_eq!(classification.impact(), Impact::Breaking);
}

#[test]
fn the_same_spec_is_no_change() {
    assert_eq!(classify_against_base("base").impact(), Impact::None);
}
