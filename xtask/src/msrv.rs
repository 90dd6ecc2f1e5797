//! `cargo xtask check-msrv`: the workspace's `rust-version` is at least the highest
//! `rust-version` declared in the dependency tree of the published crates (normal and build
//! dependencies, every target, every feature), so users on the declared minimum can build
//! them. Only one toolchain is installed here, so the minimum is checked against the tree
//! rather than built with.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use serde_json::Value;

use crate::metadata;

/// `1.88` is `1.88.0`.
fn version(text: &str) -> Option<(u64, u64, u64)> {
    let mut parts = text.split('.').map(|p| p.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next().unwrap_or(Some(0))?;
    let patch = parts.next().unwrap_or(Some(0))?;
    Some((major, minor, patch))
}

fn shown((major, minor, patch): (u64, u64, u64)) -> String {
    if patch == 0 {
        format!("{major}.{minor}")
    } else {
        format!("{major}.{minor}.{patch}")
    }
}

/// Prints each published crate's declared minimum and what its tree needs; whether every
/// declared minimum covers its tree.
pub fn run(root: &Path) -> Result<bool, String> {
    let metadata = metadata(root, &["--all-features"])?;
    let packages: HashMap<&str, &Value> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let nodes: HashMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let members: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    // The published crates: members that may be published (`publish` is not `false`).
    let mut published: Vec<&str> = members
        .iter()
        .copied()
        .filter(|id| packages[id]["publish"] != Value::Array(Vec::new()))
        .collect();
    published.sort_by_key(|id| packages[id]["name"].as_str().unwrap_or_default());
    if published.is_empty() {
        return Err("no publishable workspace member".into());
    }
    let mut ok = true;
    for root_id in published {
        let name = packages[root_id]["name"].as_str().unwrap_or_default();
        let Some(declared) = packages[root_id]["rust_version"].as_str() else {
            println!("error: {name} declares no rust-version");
            ok = false;
            continue;
        };
        let mut seen = BTreeSet::from([root_id]);
        let mut stack = vec![root_id];
        while let Some(id) = stack.pop() {
            for dep in nodes[id]["deps"].as_array().into_iter().flatten() {
                // A `null` kind is a normal dependency; dev-dependencies do not reach users.
                let reaches_users = dep["dep_kinds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|k| k["kind"].is_null() || k["kind"] == "build");
                let Some(pkg) = dep["pkg"].as_str() else {
                    continue;
                };
                if reaches_users && seen.insert(pkg) {
                    stack.push(pkg);
                }
            }
        }
        let declared_by: Vec<((u64, u64, u64), String)> = seen
            .iter()
            .filter(|id| !members.contains(*id))
            .filter_map(|id| {
                let p = packages[id];
                let v = version(p["rust_version"].as_str()?)?;
                Some((
                    v,
                    format!(
                        "{} {}",
                        p["name"].as_str().unwrap_or_default(),
                        p["version"].as_str().unwrap_or_default()
                    ),
                ))
            })
            .collect();
        let needed = declared_by
            .iter()
            .map(|(v, _)| *v)
            .max()
            .unwrap_or((0, 0, 0));
        let mut by: Vec<&str> = declared_by
            .iter()
            .filter(|(v, _)| *v == needed)
            .map(|(_, c)| c.as_str())
            .collect();
        by.sort();
        let by = if by.is_empty() {
            "none".to_owned()
        } else {
            by.join(", ")
        };
        let declared_version =
            version(declared).ok_or_else(|| format!("{name}: rust-version {declared}"))?;
        if declared_version < needed {
            println!(
                "error: {name} declares rust-version {declared}, but {by} in its dependency \
                 tree needs {}: raise the workspace rust-version",
                shown(needed)
            );
            ok = false;
        } else {
            println!(
                "{name}: rust-version {declared}; its {} dependencies need {} at most ({by})",
                seen.len() - 1,
                shown(needed)
            );
        }
    }
    Ok(ok)
}
