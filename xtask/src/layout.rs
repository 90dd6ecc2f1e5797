//! The test layout: every file under a crate's `tests/` is compiled. The crates with one
//! integration binary turn cargo's discovery off (`autotests = false`), so a new test file that
//! is neither a `[[test]]` target nor a module of one would never run, silently.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::metadata;

/// Prints the test files that no test target compiles; whether there are none.
pub fn check(root: &Path) -> Result<bool, String> {
    let metadata = metadata(root, &["--no-deps"])?;
    let mut stray = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let Some(manifest) = package["manifest_path"].as_str() else {
            continue;
        };
        let tests_dir = Path::new(manifest).with_file_name("tests");
        let targets: Vec<PathBuf> = package["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| {
                t["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "test"))
            })
            .filter_map(|t| t["src_path"].as_str().map(PathBuf::from))
            .collect();
        stray.extend(uncompiled(&tests_dir, &targets)?);
    }
    if stray.is_empty() {
        return Ok(true);
    }
    eprintln!(
        "test files no test target compiles (make each a module of the crate's \
         tests/integration.rs, or a [[test]] of its own):"
    );
    for path in &stray {
        eprintln!("  {}", path.display());
    }
    Ok(false)
}

/// The test files in `dir` (`*.rs`, and directories with a `mod.rs`) that are neither one of
/// `targets` nor declared as a module (`mod name;`) by one of them.
fn uncompiled(dir: &Path, targets: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut declared = BTreeSet::new();
    for target in targets {
        let source =
            std::fs::read_to_string(target).map_err(|e| format!("{}: {e}", target.display()))?;
        for line in source.lines() {
            let line = line.trim();
            // `#[path = "serde.rs"]` above a `mod` declares that file.
            if let Some(file) = line
                .strip_prefix("#[path = \"")
                .and_then(|rest| rest.strip_suffix("\"]"))
            {
                if let Some(stem) = Path::new(file).file_stem().and_then(|s| s.to_str()) {
                    declared.insert(stem.to_owned());
                }
            }
            if let Some(name) = line
                .strip_prefix("mod ")
                .or_else(|| line.strip_prefix("pub mod "))
                .and_then(|rest| rest.strip_suffix(';'))
            {
                declared.insert(name.trim().to_owned());
            }
        }
    }
    let mut stray = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        let module = if path.extension().is_some_and(|e| e == "rs") {
            path.file_stem()
        } else if path.join("mod.rs").is_file() {
            path.file_name()
        } else {
            continue;
        };
        let module = module.and_then(|m| m.to_str()).unwrap_or_default();
        if targets.contains(&path) || declared.contains(module) {
            continue;
        }
        stray.push(path);
    }
    stray.sort();
    Ok(stray)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_file_no_target_compiles_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let tests = dir.path();
        std::fs::write(
            tests.join("integration.rs"),
            "mod common;\nmod listed;\n#[path = \"serde.rs\"]\nmod serde_formats;\n",
        )
        .unwrap();
        std::fs::write(tests.join("serde.rs"), "").unwrap();
        std::fs::write(tests.join("listed.rs"), "").unwrap();
        std::fs::write(tests.join("forgotten.rs"), "").unwrap();
        std::fs::write(tests.join("alone.rs"), "").unwrap();
        std::fs::create_dir(tests.join("common")).unwrap();
        std::fs::write(tests.join("common/mod.rs"), "").unwrap();
        std::fs::create_dir(tests.join("snapshots")).unwrap();
        let targets = [tests.join("integration.rs"), tests.join("alone.rs")];
        assert_eq!(
            uncompiled(tests, &targets).unwrap(),
            [tests.join("forgotten.rs")]
        );
    }

    #[test]
    fn every_test_file_of_this_workspace_is_compiled() {
        let root = crate::workspace_root().expect("the tests run inside the checkout");
        assert!(check(&root).unwrap());
    }
}
