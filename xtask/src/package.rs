//! `cargo xtask package`: the published crates packaged as `cargo publish` would upload them,
//! then each one unpacked alone and compiled from its package with its default features, the
//! published crates it depends on taken from their packages too, as a user downloading them
//! gets them.
//!
//! What `cargo package`'s own verification does, but with `cargo check` instead of `cargo
//! build`: a file left out of a package, a feature a crate uses without declaring it or a
//! dependency declared only in the workspace all fail the check the same way, and codegen and
//! linking compile nothing the packages choose. It costs less (CI's package step 137 → 62–66 s):
//! the verification built each crate's dependency tree again with that crate's features
//! (tokio, hyper and the ~2,000-type API crate three times), where a check reuses what clippy
//! checked (bench/README.md, "Less work in every step").

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::{cargo, metadata, run_command};

/// A published workspace member, as `cargo metadata` describes it.
struct Published {
    name: String,
    version: String,
    /// The published members it needs from a registry once packaged: normal and build
    /// dependencies, and dev-dependencies that give a version (`cargo package` drops the
    /// path-only ones).
    needs: BTreeSet<String>,
}

/// Packages and checks every published crate; whether all of them compiled.
pub fn run(root: &Path) -> Result<bool, String> {
    let metadata = metadata(root, &["--no-deps"])?;
    let crates = published(&metadata)?;
    let target = PathBuf::from(
        metadata["target_directory"]
            .as_str()
            .ok_or("`cargo metadata` names no target directory")?,
    );

    let mut package = vec!["package", "--no-verify", "--allow-dirty"];
    for krate in &crates {
        package.extend(["-p", &krate.name]);
    }
    if !run_command(root, &cargo(), &package)? {
        return Ok(false);
    }

    // Unpacked fresh each time: a copy left by an earlier run would be checked instead.
    let unpacked = target.join("package-check");
    if unpacked.exists() {
        std::fs::remove_dir_all(&unpacked)
            .map_err(|e| format!("removing {}: {e}", unpacked.display()))?;
    }
    std::fs::create_dir_all(&unpacked)
        .map_err(|e| format!("creating {}: {e}", unpacked.display()))?;
    for krate in &crates {
        let file = target
            .join("package")
            .join(format!("{}.crate", krate.dir_name()));
        let status = Command::new("tar")
            .arg("-xzf")
            .arg(&file)
            .arg("-C")
            .arg(&unpacked)
            .status()
            .map_err(|e| format!("running tar: {e}"))?;
        if !status.success() {
            return Err(format!("unpacking {} failed", file.display()));
        }
    }

    let mut passed = true;
    for krate in &crates {
        let dir = unpacked.join(krate.dir_name());
        let manifest = dir.join("Cargo.toml");
        standalone(&manifest, &krate.patches(&crates))?;
        eprintln!("==> {} {} as packaged", krate.name, krate.version);
        let ok = Command::new(cargo())
            .current_dir(&dir)
            .args(["check", "--manifest-path"])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target)
            .status()
            .map_err(|e| format!("running cargo check: {e}"))?
            .success();
        if !ok {
            eprintln!("error: {} does not compile as packaged", krate.name);
        }
        passed &= ok;
    }
    Ok(passed)
}

impl Published {
    /// The directory a package unpacks into, and its file's stem.
    fn dir_name(&self) -> String {
        format!("{}-{}", self.name, self.version)
    }

    /// Every published crate this one reaches, with the unpacked directory that stands in
    /// for it (a sibling of this crate's).
    fn patches(&self, crates: &[Published]) -> Vec<(String, String)> {
        let mut reached = BTreeSet::new();
        let mut stack: Vec<&str> = self.needs.iter().map(String::as_str).collect();
        while let Some(name) = stack.pop() {
            let Some(krate) = crates.iter().find(|c| c.name == name) else {
                continue;
            };
            if name != self.name && reached.insert(name) {
                stack.extend(krate.needs.iter().map(String::as_str));
            }
        }
        crates
            .iter()
            .filter(|c| reached.contains(c.name.as_str()))
            .map(|c| (c.name.clone(), format!("../{}", c.dir_name())))
            .collect()
    }
}

/// Makes the unpacked manifest a workspace of its own (it lies inside this checkout, whose
/// workspace does not list it) whose registry dependencies on published crates resolve to
/// their unpacked packages; nothing else in it changes.
fn standalone(manifest: &Path, patches: &[(String, String)]) -> Result<(), String> {
    let mut text = std::fs::read_to_string(manifest)
        .map_err(|e| format!("reading {}: {e}", manifest.display()))?;
    text.push_str("\n[workspace]\n");
    if !patches.is_empty() {
        text.push_str("\n[patch.crates-io]\n");
        for (name, path) in patches {
            text.push_str(&format!("{name} = {{ path = {path:?} }}\n"));
        }
    }
    std::fs::write(manifest, text).map_err(|e| format!("writing {}: {e}", manifest.display()))
}

/// The workspace members that may be published (`publish` is not `false`), in `cargo
/// metadata`'s order.
fn published(metadata: &Value) -> Result<Vec<Published>, String> {
    let members: Vec<&Value> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["publish"] != Value::Array(Vec::new()))
        .collect();
    let names: BTreeSet<&str> = members.iter().filter_map(|p| p["name"].as_str()).collect();
    if names.is_empty() {
        return Err("no publishable workspace member".into());
    }
    Ok(members
        .iter()
        .map(|p| {
            let needs = p["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["path"].is_string() && (d["kind"] != "dev" || d["req"] != "*"))
                .filter_map(|d| d["name"].as_str())
                .filter(|name| names.contains(name))
                .map(str::to_owned)
                .collect();
            Published {
                name: p["name"].as_str().unwrap_or_default().to_owned(),
                version: p["version"].as_str().unwrap_or_default().to_owned(),
                needs,
            }
        })
        .collect())
}
