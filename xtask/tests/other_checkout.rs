//! xtask works on the checkout it is run in, not the one it was compiled in: two checkouts
//! that share a target directory (a global `CARGO_TARGET_DIR`) share one xtask binary.

use std::path::{Path, PathBuf};
use std::process::Command;

const GENERATED: &str = "cloudtower-api/src/generated/mod.rs";

/// Copies the checkout at `from` into `to`, without its build output and git data.
fn copy_checkout(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let skip = ["target", ".git", "node_modules", ".spec-cache"];
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_checkout(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn this_checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn regen_run_in_a_second_checkout_writes_that_checkout_only() {
    let first = this_checkout();
    let spec =
        cloudtower_codegen::pinned::find_pinned_spec(&first).unwrap_or_else(|e| panic!("{e}"));
    let scratch = tempfile::tempdir().unwrap();
    let second = scratch.path().join("second-checkout");
    copy_checkout(&first, &second);

    // The second checkout's generated code is stale (a line of it is gone).
    let original = std::fs::read_to_string(first.join(GENERATED)).unwrap();
    let stale = original.replacen("/// Every operation of the API", "/// (edited)", 1);
    assert_ne!(stale, original, "the edit applies");
    std::fs::write(second.join(GENERATED), &stale).unwrap();

    // The xtask binary built in the first checkout, run from the second.
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .current_dir(&second)
        .args(["regen", "--spec"])
        .arg(&spec.merged_file)
        .env_remove("CLOUDTOWER_SPEC")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let second_canonical = second.canonicalize().unwrap();
    assert!(
        stderr.contains(&format!("checkout: {}", second_canonical.display())),
        "it says which checkout it works on: {stderr}"
    );

    assert_eq!(
        std::fs::read_to_string(second.join(GENERATED)).unwrap(),
        original,
        "the second checkout is regenerated"
    );
    assert_eq!(
        std::fs::read_to_string(first.join(GENERATED)).unwrap(),
        original,
        "the first checkout is untouched"
    );

    // Outside any checkout it refuses, writing nothing.
    let outside = scratch.path().join("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .current_dir(&outside)
        .args(["regen", "--check"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("cloudtower-rs checkout"), "{stderr}");
}
