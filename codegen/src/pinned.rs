//! Where the pinned upstream spec (`spec/pin.json`) is on this machine: the one lookup that
//! `cargo xtask regen`, the generator's tests and the conformance suite share.
//!
//! In order: the directory named by [`SPECS_ENV`] (`CLOUDTOWER_SPECS`) when set (a relative
//! path from the current directory, else from the workspace root); else
//! `../shared/specs` beside the workspace when it holds the pinned file; else the
//! hash-checked download cache `.spec-cache/` (what `cargo xtask fetch-spec` fills),
//! downloaded from the pinned URL when missing. When none works, the error says what to do.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variable naming a directory of upstream specs (`cloudtower-4.6.0.json`,
/// optionally the module directory `cloudtower-4.6.0/` and older versions).
pub const SPECS_ENV: &str = "CLOUDTOWER_SPECS";

/// The command that downloads the pinned spec into the cache.
pub const FETCH_COMMAND: &str = "cargo xtask fetch-spec";

/// `spec/pin.json`: the upstream spec the committed code was generated from.
#[derive(Debug, Clone)]
pub struct Pin {
    pub version: String,
    /// Where the merged spec file is published.
    pub url: String,
    /// SHA-256 of the published file's bytes.
    pub sha256: String,
    /// SHA-256 of the merged document's canonical form (modules and file agree on it).
    pub canonical_sha256: String,
    /// Where the copy the hashes were taken from comes from, when it is not the published
    /// address itself (4.8.0: a public copy, the published file cannot be downloaded here).
    pub note: Option<String>,
}

/// `spec/compatible.json`: older published specs that the hand-written code must keep
/// building against (the tests regenerate the crate from each).
pub const COMPATIBLE_FILE: &str = "spec/compatible.json";

impl Pin {
    /// Reads `spec/pin.json` under the workspace `root`.
    pub fn load(root: &Path) -> Result<Pin, String> {
        let path = root.join("spec/pin.json");
        let value = read_json(&path)?;
        Pin::from_json(&value).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Reads [`COMPATIBLE_FILE`] under the workspace `root`: a list of pins.
    pub fn load_compatible(root: &Path) -> Result<Vec<Pin>, String> {
        let path = root.join(COMPATIBLE_FILE);
        let value = read_json(&path)?;
        let entries = value
            .as_array()
            .ok_or_else(|| format!("{}: not a list", path.display()))?;
        entries
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                Pin::from_json(entry).map_err(|e| format!("{}: /{i}: {e}", path.display()))
            })
            .collect()
    }

    fn from_json(value: &serde_json::Value) -> Result<Pin, String> {
        let field = |key: &str| {
            value
                .get(key)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("missing `{key}`"))
        };
        Ok(Pin {
            version: field("version")?,
            url: field("url")?,
            sha256: field("sha256")?,
            canonical_sha256: field("canonical_sha256")?,
            note: value
                .get("note")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned),
        })
    }

    /// The merged file's name in a specs directory and in the cache.
    pub fn file_name(&self) -> String {
        format!("cloudtower-{}.json", self.version)
    }

    /// The spec-module directory's name in a specs directory.
    pub fn modules_name(&self) -> String {
        format!("cloudtower-{}", self.version)
    }

    /// Where [`fetch`] keeps the download.
    pub fn cache_path(&self, root: &Path) -> PathBuf {
        root.join(".spec-cache").join(self.file_name())
    }
}

/// Where the pinned spec was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The directory named by `CLOUDTOWER_SPECS`.
    Env,
    /// `../shared/specs` beside the workspace.
    Shared,
    /// The download cache `.spec-cache/` (downloaded now or earlier).
    Cache,
}

/// The pinned spec on this machine.
#[derive(Debug, Clone)]
pub struct PinnedSpec {
    pub pin: Pin,
    pub source: Source,
    /// The merged spec file, as published upstream.
    pub merged_file: PathBuf,
    /// The directory of spec modules, when the specs directory has it (the cache does not).
    pub modules_dir: Option<PathBuf>,
    /// The directory holding the merged file (older versions may sit beside it).
    pub specs_dir: PathBuf,
}

fn read_json(path: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Finds the pinned spec for the workspace at `root` (see the module docs for the order),
/// downloading it into the cache when nothing else has it.
pub fn find_pinned_spec(root: &Path) -> Result<PinnedSpec, String> {
    find_spec(root, &Pin::load(root)?)
}

/// Finds the spec `pin` names, as [`find_pinned_spec`] finds the pinned one.
pub fn find_spec(root: &Path, pin: &Pin) -> Result<PinnedSpec, String> {
    let in_dir = |dir: PathBuf, source: Source| {
        let modules = dir.join(pin.modules_name());
        PinnedSpec {
            pin: pin.clone(),
            source,
            merged_file: dir.join(pin.file_name()),
            modules_dir: modules.is_dir().then_some(modules),
            specs_dir: dir,
        }
    };
    if let Some(dir) = std::env::var_os(SPECS_ENV) {
        let found = in_dir(
            specs_dir_from_env(root, PathBuf::from(dir), pin),
            Source::Env,
        );
        if !found.merged_file.is_file() {
            return Err(format!(
                "{SPECS_ENV} is set to {}, which has no {} (the CloudTower {} spec); \
                 point {SPECS_ENV} at a directory that has it, or unset it to use the \
                 download cache (`{FETCH_COMMAND}`)",
                found.specs_dir.display(),
                pin.file_name(),
                pin.version
            ));
        }
        return Ok(found);
    }
    let shared = root.join("../shared/specs");
    if shared.join(pin.file_name()).is_file() {
        return Ok(in_dir(shared, Source::Shared));
    }
    let cache = pin.cache_path(root);
    let cached_ok = std::fs::read(&cache).is_ok_and(|bytes| sha256_matches(pin, &bytes));
    if !cached_ok {
        fetch(root, pin, None).map_err(|e| not_found_message(root, pin, &e))?;
    }
    let dir = cache.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(in_dir(dir, Source::Cache))
}

/// A relative `CLOUDTOWER_SPECS` names a directory from where the command runs, but cargo runs
/// tests in their crate's directory: so the workspace root is tried when the current directory
/// has no such spec.
fn specs_dir_from_env(root: &Path, dir: PathBuf, pin: &Pin) -> PathBuf {
    if dir.is_absolute() || dir.join(pin.file_name()).is_file() {
        return dir;
    }
    let from_root = root.join(&dir);
    if from_root.join(pin.file_name()).is_file() {
        from_root
    } else {
        dir
    }
}

fn sha256_matches(pin: &Pin, bytes: &[u8]) -> bool {
    crate::canonical::sha256_hex(bytes) == pin.sha256
}

fn not_found_message(root: &Path, pin: &Pin, fetch_error: &str) -> String {
    format!(
        "the CloudTower {version} spec ({file}) is not on this machine: {SPECS_ENV} is \
         not set, {shared} does not have it, and downloading it into the cache failed: \
         {fetch_error}. Either set {SPECS_ENV}=DIR, a directory holding {file} (and \
         optionally the module directory {modules}/), or download it with `{FETCH_COMMAND}` \
         (`{FETCH_COMMAND} --url URL` for a mirror; its SHA-256 is checked against \
         spec/pin.json either way)",
        version = pin.version,
        file = pin.file_name(),
        modules = pin.modules_name(),
        shared = root.join("../shared/specs").display(),
    )
}

/// Downloads the pinned spec (from `url`, else the pinned URL) into the cache, checking its
/// SHA-256 against the pin; the path it was saved to.
pub fn fetch(root: &Path, pin: &Pin, url: Option<&str>) -> Result<PathBuf, String> {
    let url = url.unwrap_or(&pin.url);
    let agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_global(Some(Duration::from_secs(300)))
        .build()
        .new_agent();
    let bytes = agent
        .get(url)
        .call()
        .map_err(|e| format!("{url}: {e}"))?
        .body_mut()
        .with_config()
        .limit(256 * 1024 * 1024)
        .read_to_vec()
        .map_err(|e| format!("{url}: {e}"))?;
    if !sha256_matches(pin, &bytes) {
        return Err(format!(
            "{url}: sha256 {} does not match the pin {} (spec/pin.json)",
            crate::canonical::sha256_hex(&bytes),
            pin.sha256
        ));
    }
    let cache = pin.cache_path(root);
    if let Some(dir) = cache.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    // Written whole under another name, then renamed: a cut download never looks complete.
    let partial = cache.with_extension("json.partial");
    std::fs::write(&partial, &bytes).map_err(|e| format!("{}: {e}", partial.display()))?;
    std::fs::rename(&partial, &cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    Ok(cache)
}

impl Pin {
    /// The pin as `spec/pin.json` holds it.
    pub fn to_json(&self) -> String {
        let mut value = serde_json::json!({
            "version": self.version,
            "url": self.url,
            "sha256": self.sha256,
            "canonical_sha256": self.canonical_sha256,
        });
        if let Some(note) = &self.note {
            value["note"] = note.as_str().into();
        }
        serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_specs_dir_is_found_from_the_workspace_root() {
        let root = tempfile::tempdir().unwrap();
        let pin = Pin {
            version: "9.9.9".into(),
            url: String::new(),
            sha256: String::new(),
            canonical_sha256: String::new(),
            note: None,
        };
        let relative = PathBuf::from("specs-beside-root-only");
        std::fs::create_dir(root.path().join(&relative)).unwrap();
        std::fs::write(root.path().join(&relative).join(pin.file_name()), "{}").unwrap();
        assert_eq!(
            specs_dir_from_env(root.path(), relative.clone(), &pin),
            root.path().join(&relative)
        );
        // A path that exists nowhere is kept as given, so the error names what the user set.
        let missing = PathBuf::from("no-such-specs-dir");
        assert_eq!(
            specs_dir_from_env(root.path(), missing.clone(), &pin),
            missing
        );
    }
}
