//! Stage 6: writing the generated files, all or nothing, and comparing them with what is on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{CodegenError, Result};

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CodegenError + '_ {
    move |source| CodegenError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Replaces directory `dir` with exactly `files`. The new tree is written beside it first and
/// swapped in by renames, so a failure leaves the old tree as it was.
pub fn write_atomically(dir: &Path, files: &BTreeMap<String, String>) -> Result<()> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io_error(parent))?;
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("generated");
    let staging = parent.join(format!(".{name}.new-{}", std::process::id()));
    let retired = parent.join(format!(".{name}.old-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let result = (|| {
        std::fs::create_dir_all(&staging).map_err(io_error(&staging))?;
        for (file, text) in files {
            let path = staging.join(file);
            std::fs::write(&path, text).map_err(io_error(&path))?;
        }
        if dir.exists() {
            std::fs::rename(dir, &retired).map_err(io_error(dir))?;
        }
        if let Err(e) = std::fs::rename(&staging, dir) {
            let _ = std::fs::rename(&retired, dir);
            return Err(io_error(dir)(e));
        }
        let _ = std::fs::remove_dir_all(&retired);
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

/// How the files on disk differ from `files`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Staleness {
    pub changed: Vec<String>,
    pub missing: Vec<String>,
    pub extra: Vec<String>,
}

impl Staleness {
    pub fn is_fresh(&self) -> bool {
        self.changed.is_empty() && self.missing.is_empty() && self.extra.is_empty()
    }
}

pub fn compare(dir: &Path, files: &BTreeMap<String, String>) -> Result<Staleness> {
    let mut staleness = Staleness::default();
    for (file, text) in files {
        match std::fs::read_to_string(dir.join(file)) {
            Ok(existing) if &existing == text => {}
            Ok(_) => staleness.changed.push(file.clone()),
            Err(_) => staleness.missing.push(file.clone()),
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut on_disk: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        on_disk.sort();
        for path in on_disk {
            if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                if !files.contains_key(name) {
                    staleness.extra.push(name.to_owned());
                }
            }
        }
    }
    Ok(staleness)
}

/// The line that opens the generated `[features]` entries in the crate's `Cargo.toml`.
pub const FEATURES_BEGIN: &str = "# BEGIN generated features";
/// The line that closes them; hand-written features stay outside the two lines.
pub const FEATURES_END: &str = "# END generated features";

/// `manifest` with the generated features block replaced by `features`.
pub fn with_features(manifest: &str, features: &str) -> std::result::Result<String, String> {
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
