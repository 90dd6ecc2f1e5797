//! The history of operations across published CloudTower versions: which published specs have
//! each operation, as the committed table `spec/history.txt` records it.
//!
//! One job per stage: [`read_specs`] (the history specs on disk → one [`Snapshot`] per
//! version) → [`History::build`] (snapshots + the [`UNOBTAINABLE`] data → the table) →
//! [`History::render`] (table → the committed text) and [`History::parse`] (text → table: all
//! that `regen` reads, so it never needs the specs themselves) → [`History::since`] (table →
//! each operation's [`ir::Since`]) → [`History::annotate`] (into the IR).
//!
//! Versions compare numerically ([`Version`]): `1.10.0` comes after `1.8.0`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::path::Path;

use crate::ir;

/// Where the committed table lives, from the workspace root.
pub const TABLE_FILE: &str = "spec/history.txt";

/// The command that writes [`TABLE_FILE`].
pub const COMMAND: &str = "cargo xtask history";

/// Published versions whose spec cannot be obtained, in publication order, with the reason.
/// Data, not code: when one becomes obtainable, drop it here and add its spec.
pub const UNOBTAINABLE: &[(&str, &str)] = &[
    (
        "1.9.0",
        "published on the API documentation site, but its spec cannot be obtained",
    ),
    (
        "4.4.0",
        "published on the API documentation site, but its spec cannot be obtained",
    ),
    (
        "4.4.1",
        "published on the API documentation site, but its spec cannot be obtained",
    ),
    (
        "4.5.0",
        "published on the API documentation site, but its spec cannot be obtained",
    ),
    (
        "4.7.0",
        "published on the API documentation site, but its spec cannot be obtained",
    ),
    (
        "4.7.1",
        "published on the API documentation site, but its spec cannot be obtained",
    ),
    (
        "4.7.2",
        "published on the API documentation site, but its spec cannot be obtained",
    ),
    (
        "4.8.1",
        "published on the API documentation site, but its spec cannot be obtained",
    ),
];

/// What is known of versions newer than the newest obtainable one (a comment of the table).
pub const NEWER_NOTE: &str =
    "Versions published after the newest listed here are not known to this table:\n\
add them (obtainable or not) when they appear upstream.";

/// A CloudTower version (`4.4.1`), compared numerically part by part.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(Vec<u64>);

impl Version {
    pub fn parse(text: &str) -> Result<Version, String> {
        let parts: Result<Vec<u64>, _> = text.split('.').map(str::parse).collect();
        match parts {
            Ok(parts) if !parts.is_empty() => Ok(Version(parts)),
            _ => Err(format!(
                "`{text}` is not a version (numbers separated by dots)"
            )),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u64::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

/// One history spec, as far as the table goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub version: Version,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// Its operation paths (`/get-vms`).
    pub paths: BTreeSet<String>,
}

/// Reads every `cloudtower-<version>.json` in `dir` (any order; the result is oldest first).
/// The file name's version must be the document's `info.version`.
pub fn read_specs(dir: &Path) -> Result<Vec<Snapshot>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut snapshots = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let Some(version) = name
            .strip_prefix("cloudtower-")
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        let version = Version::parse(version).map_err(|e| format!("{}: {e}", path.display()))?;
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let document: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
        let stated = document["info"]["version"].as_str().unwrap_or("(none)");
        if Version::parse(stated).ok().as_ref() != Some(&version) {
            return Err(format!(
                "{}: the file is named for {version} but its info.version is {stated}",
                path.display()
            ));
        }
        let paths = document["paths"]
            .as_object()
            .ok_or_else(|| format!("{}: no `paths` object", path.display()))?
            .keys()
            .cloned()
            .collect();
        snapshots.push(Snapshot {
            version,
            sha256: crate::canonical::sha256_hex(&bytes),
            paths,
        });
    }
    snapshots.sort_by(|a, b| a.version.cmp(&b.version));
    if snapshots.is_empty() {
        return Err(format!(
            "{}: no cloudtower-<version>.json specs",
            dir.display()
        ));
    }
    Ok(snapshots)
}

/// A published version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// Its spec is in the history: the operations below say what it has.
    Obtainable { version: Version, sha256: String },
    /// Published, but its spec cannot be obtained: nothing is known of its operations.
    Unobtainable { version: Version, reason: String },
}

impl Published {
    pub fn version(&self) -> &Version {
        match self {
            Published::Obtainable { version, .. } | Published::Unobtainable { version, .. } => {
                version
            }
        }
    }
}

/// The table: every published version known, and which obtainable specs have each operation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// In publication order (numerically), obtainable or not.
    pub versions: Vec<Published>,
    /// Operation path (`/get-vms`) → the obtainable versions whose spec has it.
    pub operations: BTreeMap<String, BTreeSet<Version>>,
}

impl History {
    /// The table of `snapshots` (oldest first) and the unobtainable versions `unobtainable`
    /// (version, reason).
    pub fn build(snapshots: &[Snapshot], unobtainable: &[(&str, &str)]) -> Result<History, String> {
        let mut versions: Vec<Published> = snapshots
            .iter()
            .map(|s| Published::Obtainable {
                version: s.version.clone(),
                sha256: s.sha256.clone(),
            })
            .collect();
        for (version, reason) in unobtainable {
            let version = Version::parse(version)?;
            if snapshots.iter().any(|s| s.version == version) {
                return Err(format!(
                    "{version} is listed as unobtainable but its spec is in the history: drop \
                     it from history::UNOBTAINABLE"
                ));
            }
            versions.push(Published::Unobtainable {
                version,
                reason: (*reason).to_owned(),
            });
        }
        versions.sort_by(|a, b| a.version().cmp(b.version()));
        let mut operations: BTreeMap<String, BTreeSet<Version>> = BTreeMap::new();
        for snapshot in snapshots {
            for path in &snapshot.paths {
                operations
                    .entry(path.clone())
                    .or_default()
                    .insert(snapshot.version.clone());
            }
        }
        let history = History {
            versions,
            operations,
        };
        history.validate()?;
        Ok(history)
    }

    /// The obtainable versions, oldest first.
    pub fn obtainable(&self) -> Vec<&Version> {
        self.versions
            .iter()
            .filter_map(|p| match p {
                Published::Obtainable { version, .. } => Some(version),
                Published::Unobtainable { .. } => None,
            })
            .collect()
    }

    fn validate(&self) -> Result<(), String> {
        for pair in self.versions.windows(2) {
            if pair[0].version() >= pair[1].version() {
                return Err(format!(
                    "versions out of order or repeated: {} then {}",
                    pair[0].version(),
                    pair[1].version()
                ));
            }
        }
        let obtainable: BTreeSet<&Version> = self.obtainable().into_iter().collect();
        for (path, versions) in &self.operations {
            if let Some(unknown) = versions.iter().find(|v| !obtainable.contains(v)) {
                return Err(format!(
                    "operation {path}: version {unknown} is not an obtainable version"
                ));
            }
            if versions.is_empty() {
                return Err(format!("operation {path}: in no version"));
            }
        }
        Ok(())
    }

    /// The obtainable versions that have `path`, as runs of consecutive obtainable versions
    /// (first, last), oldest first.
    pub fn runs(&self, path: &str) -> Vec<(&Version, &Version)> {
        let Some(has) = self.operations.get(path) else {
            return Vec::new();
        };
        let mut runs: Vec<(&Version, &Version)> = Vec::new();
        let mut previous_had = false;
        for version in self.obtainable() {
            let had = has.contains(version);
            match (had, previous_had) {
                (true, true) => runs.last_mut().expect("a run is open").1 = version,
                (true, false) => runs.push((version, version)),
                _ => {}
            }
            previous_had = had;
        }
        runs
    }

    /// The obtainable versions after `path`'s first one that lack it (removed, at least for a
    /// while).
    pub fn absent_after_first(&self, path: &str) -> Vec<&Version> {
        let Some(has) = self.operations.get(path) else {
            return Vec::new();
        };
        let Some(first) = has.iter().next() else {
            return Vec::new();
        };
        self.obtainable()
            .into_iter()
            .filter(|v| *v > first && !has.contains(*v))
            .collect()
    }

    /// The committed text (see [`TABLE_FILE`]): one line per version and per operation, with
    /// a summary of what the lines say in comments.
    pub fn render(&self) -> String {
        let newest = self.obtainable().last().copied().cloned();
        let mut out = String::new();
        out.push_str(
            "# Which published CloudTower specs have each operation.\n\
             # @generated by `cargo xtask history` from the specs of every obtainable published\n\
             # version (the upstream history/ directory); do not edit by hand. `cargo xtask regen`\n\
             # reads this table (never the specs) to document since when each operation exists.\n\
             #\n\
             # Lines, in this order:\n\
             #   published VERSION sha256 SHA      a version whose spec this table was built from\n\
             #   unobtainable VERSION: REASON      a published version whose spec cannot be had:\n\
             #                                     nothing is known of its operations\n\
             #   (versions in publication order, compared numerically)\n\
             #   op PATH RUN...                    the obtainable specs that have POST /v2/api/PATH,\n\
             #                                     as runs of consecutive obtainable versions:\n\
             #                                     FIRST..LAST, or FIRST.. up to the newest spec\n",
        );
        for line in NEWER_NOTE.lines() {
            let _ = writeln!(out, "# {line}");
        }
        out.push_str("#\n# Summary (derived from the lines below):\n");
        let mut first_seen: BTreeMap<&Version, usize> = BTreeMap::new();
        for versions in self.operations.values() {
            if let Some(first) = versions.iter().next() {
                *first_seen.entry(first).or_default() += 1;
            }
        }
        for (version, count) in &first_seen {
            let _ = writeln!(out, "#   first seen in {version}: {count} operations");
        }
        for path in self.operations.keys() {
            let absent = self.absent_after_first(path);
            if absent.is_empty() {
                continue;
            }
            let absent: Vec<String> = absent.iter().map(ToString::to_string).collect();
            let runs = self.runs(path);
            let last = runs.last().map(|r| r.1);
            let _ = if last == newest.as_ref() {
                writeln!(
                    out,
                    "#   removed and re-added: {path} (not in {})",
                    absent.join(", ")
                )
            } else if runs.len() > 1 {
                writeln!(
                    out,
                    "#   removed, re-added, removed again: {path} (not in {})",
                    absent.join(", ")
                )
            } else {
                let last = last.map(ToString::to_string).unwrap_or_default();
                writeln!(out, "#   removed: {path} (last in {last})")
            };
        }
        out.push('\n');
        for published in &self.versions {
            match published {
                Published::Obtainable { version, sha256 } => {
                    let _ = writeln!(out, "published {version} sha256 {sha256}");
                }
                Published::Unobtainable { version, reason } => {
                    let _ = writeln!(out, "unobtainable {version}: {reason}");
                }
            }
        }
        out.push('\n');
        for path in self.operations.keys() {
            let _ = write!(out, "op {path}");
            for (first, last) in self.runs(path) {
                if Some(last) == newest.as_ref() {
                    let _ = write!(out, " {first}..");
                } else {
                    let _ = write!(out, " {first}..{last}");
                }
            }
            out.push('\n');
        }
        out
    }

    /// Reads the committed text back (what [`Self::render`] wrote).
    pub fn parse(text: &str) -> Result<History, String> {
        let mut history = History::default();
        let mut op_lines = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let at = |message: String| format!("line {}: {message}", number + 1);
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line.strip_prefix("published ") {
                let (version, sha256) = rest
                    .split_once(" sha256 ")
                    .ok_or_else(|| at("expected `published VERSION sha256 SHA`".into()))?;
                history.versions.push(Published::Obtainable {
                    version: Version::parse(version).map_err(at)?,
                    sha256: sha256.to_owned(),
                });
            } else if let Some(rest) = line.strip_prefix("unobtainable ") {
                let (version, reason) = rest
                    .split_once(": ")
                    .ok_or_else(|| at("expected `unobtainable VERSION: REASON`".into()))?;
                history.versions.push(Published::Unobtainable {
                    version: Version::parse(version).map_err(at)?,
                    reason: reason.to_owned(),
                });
            } else if let Some(rest) = line.strip_prefix("op ") {
                op_lines.push((number, rest));
            } else {
                return Err(at(format!("unknown line `{line}`")));
            }
        }
        let obtainable: Vec<Version> = history.obtainable().into_iter().cloned().collect();
        for (number, rest) in op_lines {
            let at = |message: String| format!("line {}: {message}", number + 1);
            let mut words = rest.split(' ');
            let path = words.next().unwrap_or_default().to_owned();
            let mut versions = BTreeSet::new();
            for run in words {
                let (first, last) = run
                    .split_once("..")
                    .ok_or_else(|| at(format!("`{run}` is not a run FIRST..LAST or FIRST..")))?;
                let first = Version::parse(first).map_err(at)?;
                let last = match last {
                    "" => obtainable.last().cloned().unwrap_or_else(|| first.clone()),
                    last => Version::parse(last).map_err(at)?,
                };
                for name in [&first, &last] {
                    if !obtainable.contains(name) {
                        return Err(at(format!("{name} is not a published line")));
                    }
                }
                versions.extend(
                    obtainable
                        .iter()
                        .filter(|v| **v >= first && **v <= last)
                        .cloned(),
                );
            }
            if history.operations.insert(path.clone(), versions).is_some() {
                return Err(at(format!("operation {path} listed twice")));
            }
        }
        history.validate()?;
        Ok(history)
    }

    /// The committed table of the workspace at `root` ([`TABLE_FILE`]).
    pub fn load(root: &Path) -> Result<History, String> {
        let path = root.join(TABLE_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: {e} (write it with `{COMMAND}`)", path.display()))?;
        History::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Since when the operation at `path` (`get-vms`, without the slash) exists, for a spec
    /// of version `spec_version`.
    ///
    /// When the table does not know the operation (a spec newer than the table, or edited),
    /// the honest answer is what this spec and the table tell: first seen in `spec_version`,
    /// and lacking from the newest obtainable version before it (if any) — with
    /// [`ir::Since::in_history`] false so that the docs say so.
    pub fn since(&self, path: &str, spec_version: &str) -> ir::Since {
        let path = format!("/{}", path.trim_start_matches('/'));
        let obtainable = self.obtainable();
        let Some(first) = self.operations.get(&path).and_then(|v| v.iter().next()) else {
            let own = Version::parse(spec_version).ok();
            let last_absent = own
                .as_ref()
                .and_then(|own| obtainable.iter().rev().find(|v| **v < own).copied());
            return ir::Since {
                first_seen: spec_version.to_owned(),
                last_absent: last_absent.map(ToString::to_string),
                unobtainable_between: Vec::new(),
                absent_from: Vec::new(),
                in_history: false,
            };
        };
        let position = obtainable.iter().position(|v| *v == first);
        let last_absent = position
            .and_then(|i| i.checked_sub(1))
            .map(|i| obtainable[i]);
        let unobtainable_between = self
            .versions
            .iter()
            .filter_map(|p| match p {
                Published::Unobtainable { version, .. }
                    if version < first && last_absent.is_none_or(|l| version > l) =>
                {
                    Some(version.to_string())
                }
                _ => None,
            })
            .collect();
        ir::Since {
            first_seen: first.to_string(),
            last_absent: last_absent.map(ToString::to_string),
            unobtainable_between,
            absent_from: self
                .absent_after_first(&path)
                .iter()
                .map(ToString::to_string)
                .collect(),
            in_history: true,
        }
    }

    /// Sets every operation's [`ir::Operation::since`].
    pub fn annotate(&self, api: &mut ir::Api) {
        for operation in &mut api.operations {
            operation.since = self.since(&operation.path, &api.version);
        }
    }

    /// The newest obtainable version, when the table has any.
    pub fn newest(&self) -> Option<&Version> {
        self.obtainable().last().copied()
    }
}

/// What a method's documentation says of since when its operation exists: `Since CloudTower
/// 4.0.0.` when the version before is obtainable and lacks it; `Added after 4.3.0, by 4.6.0
/// (no spec of the versions between can be obtained: …)` when versions whose spec cannot be obtained lie between; `In every published spec
/// since 1.8.0, the oldest obtainable.` when the oldest spec has it. Versions that lack it
/// after it first appeared are named too.
pub fn since_sentence(since: &ir::Since) -> String {
    let first = &since.first_seen;
    let absent = since.absent_from.join(", ");
    if !since.in_history {
        return match &since.last_absent {
            Some(last) => format!(
                "Not in the version history (`{TABLE_FILE}`): first seen in this spec, \
                 CloudTower {first}; the history's newest spec before it, {last}, lacks it."
            ),
            None => format!(
                "Not in the version history (`{TABLE_FILE}`): first seen in this spec, \
                 CloudTower {first}."
            ),
        };
    }
    let mut sentence = match (&since.last_absent, since.unobtainable_between.as_slice()) {
        (None, _) if since.absent_from.is_empty() => {
            format!("In every published spec since {first}, the oldest obtainable.")
        }
        (None, _) => format!(
            "In the published specs since {first}, the oldest obtainable, except those of \
             {absent}."
        ),
        (Some(_), []) => format!("Since CloudTower {first}."),
        (Some(last), between) => format!(
            "Added after {last}, by {first} (no spec of the versions between can be \
             obtained: {}).",
            between.join(", ")
        ),
    };
    if since.last_absent.is_some() && !since.absent_from.is_empty() {
        sentence.push_str(&format!(" Not in the published specs of {absent}."));
    }
    sentence
}

/// What differs between the committed table and a rebuilt one, line by line; `None` when they
/// are the same.
pub fn differences(committed: &str, rebuilt: &str) -> Option<String> {
    if committed == rebuilt {
        return None;
    }
    let old: BTreeSet<&str> = committed.lines().collect();
    let new: BTreeSet<&str> = rebuilt.lines().collect();
    let mut out = String::new();
    for line in old.difference(&new) {
        let _ = writeln!(out, "  - {line}");
    }
    for line in new.difference(&old) {
        let _ = writeln!(out, "  + {line}");
    }
    if out.is_empty() {
        out.push_str("  (the same lines, in another order or with other blank lines)\n");
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(version: &str, paths: &[&str]) -> Snapshot {
        Snapshot {
            version: Version::parse(version).unwrap(),
            sha256: format!("sha-{version}"),
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    fn sample() -> History {
        History::build(
            &[
                snapshot("1.10.0", &["/a", "/b", "/c"]),
                snapshot("1.8.0", &["/a", "/b"]),
                snapshot("2.0.0", &["/a", "/d"]),
                snapshot("3.0.0", &["/a", "/b", "/d", "/e"]),
            ],
            &[("1.9.0", "not obtainable"), ("2.5.0", "not obtainable")],
        )
        .unwrap()
    }

    #[test]
    fn versions_compare_numerically() {
        let v = |s| Version::parse(s).unwrap();
        assert!(v("1.10.0") > v("1.8.0"));
        assert!(v("4.4.1") > v("4.4.0"));
        assert!(v("4.4.1") < v("4.5.0"));
        assert_eq!(v("4.4.1").to_string(), "4.4.1");
        assert!(Version::parse("4.x").is_err());
    }

    #[test]
    fn the_table_renders_runs_and_reads_back() {
        let history = sample();
        let text = history.render();
        assert!(text.contains("\npublished 1.8.0 sha256 sha-1.8.0\nunobtainable 1.9.0: not obtainable\npublished 1.10.0 sha256 sha-1.10.0\n"), "{text}");
        assert!(text.contains("\nop /a 1.8.0..\n"), "{text}");
        assert!(text.contains("\nop /b 1.8.0..1.10.0 3.0.0..\n"), "{text}");
        assert!(text.contains("\nop /c 1.10.0..1.10.0\n"), "{text}");
        assert!(text.contains("\nop /d 2.0.0..\n"), "{text}");
        assert!(
            text.contains("#   removed and re-added: /b (not in 2.0.0)\n"),
            "{text}"
        );
        assert!(
            text.contains("#   removed: /c (last in 1.10.0)\n"),
            "{text}"
        );
        assert!(
            text.contains("#   first seen in 1.8.0: 2 operations\n"),
            "{text}"
        );
        assert_eq!(History::parse(&text).unwrap(), history);
    }

    #[test]
    fn since_follows_the_table() {
        let history = sample();
        let since = history.since("a", "3.0.0");
        assert_eq!(since.first_seen, "1.8.0");
        assert_eq!(since.last_absent, None);
        assert!(since.in_history);

        let since = history.since("c", "3.0.0");
        assert_eq!(
            (since.first_seen.as_str(), since.last_absent.as_deref()),
            ("1.10.0", Some("1.8.0"))
        );
        assert_eq!(since.unobtainable_between, ["1.9.0"]);
        assert_eq!(since.absent_from, ["2.0.0", "3.0.0"]);

        let since = history.since("e", "3.0.0");
        assert_eq!(since.last_absent.as_deref(), Some("2.0.0"));
        assert_eq!(since.unobtainable_between, ["2.5.0"]);

        let since = history.since("b", "3.0.0");
        assert_eq!(since.absent_from, ["2.0.0"]);

        // Unknown to the table: first seen in the spec itself, after the newest it knows.
        let since = history.since("new", "3.1.0");
        assert_eq!(
            (since.first_seen.as_str(), since.last_absent.as_deref()),
            ("3.1.0", Some("3.0.0"))
        );
        assert!(!since.in_history);
        let since = History::default().since("new", "0.1.0");
        assert_eq!(since.last_absent, None);
        assert!(!since.in_history);
    }

    #[test]
    fn the_sentences_say_what_is_known() {
        let history = sample();
        let sentence = |path: &str, version: &str| since_sentence(&history.since(path, version));
        assert_eq!(
            sentence("a", "3.0.0"),
            "In every published spec since 1.8.0, the oldest obtainable."
        );
        assert_eq!(
            sentence("b", "3.0.0"),
            "In the published specs since 1.8.0, the oldest obtainable, except those of 2.0.0."
        );
        assert_eq!(sentence("d", "3.0.0"), "Since CloudTower 2.0.0.");
        assert_eq!(
            sentence("e", "3.0.0"),
            "Added after 2.0.0, by 3.0.0 (no spec of the versions between can be obtained: \
             2.5.0)."
        );
        assert_eq!(
            sentence("c", "3.0.0"),
            "Added after 1.8.0, by 1.10.0 (no spec of the versions between can be obtained: \
             1.9.0). Not in the published specs of 2.0.0, 3.0.0."
        );
        assert_eq!(
            sentence("new", "3.1.0"),
            "Not in the version history (`spec/history.txt`): first seen in this spec, \
             CloudTower 3.1.0; the history's newest spec before it, 3.0.0, lacks it."
        );
    }

    #[test]
    fn contradictions_are_errors() {
        let err = History::build(&[snapshot("1.8.0", &["/a"])], &[("1.8.0", "x")]).unwrap_err();
        assert!(err.contains("listed as unobtainable"), "{err}");
        let err = History::parse("published 1.8.0 sha256 x\nop /a 1.9.0..\n").unwrap_err();
        assert!(err.contains("1.9.0 is not a published line"), "{err}");
    }

    #[test]
    fn differences_name_the_lines() {
        assert_eq!(differences("a\nb\n", "a\nb\n"), None);
        let diff = differences("a\nop /x 1.8.0..\n", "a\nop /x 2.0.0..\n").unwrap();
        assert_eq!(diff, "  - op /x 1.8.0..\n  + op /x 2.0.0..\n");
    }
}
