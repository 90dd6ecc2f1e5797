//! Stage 1: reading spec documents (one file, or a directory of spec modules) from disk.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{CodegenError, Result};

/// One parsed spec document and where it came from.
#[derive(Debug, Clone)]
pub struct SpecDocument {
    pub source: PathBuf,
    pub value: Value,
}

/// Reads `path`: a single `.json`/`.yaml`/`.yml` document, or a directory whose such files
/// (not recursive, in file-name order) are the spec modules.
pub fn load(path: &Path) -> Result<Vec<SpecDocument>> {
    let metadata = std::fs::metadata(path).map_err(|source| CodegenError::Io {
        path: path.to_owned(),
        source,
    })?;
    if !metadata.is_dir() {
        return Ok(vec![load_file(path)?]);
    }
    let entries = std::fs::read_dir(path).map_err(|source| CodegenError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| CodegenError::Io {
            path: path.to_owned(),
            source,
        })?;
        let file = entry.path();
        if file.is_file() && format_of(&file).is_some() {
            files.push(file);
        }
    }
    if files.is_empty() {
        return Err(CodegenError::NoModules {
            path: path.to_owned(),
        });
    }
    files.sort();
    files.iter().map(|f| load_file(f)).collect()
}

fn format_of(path: &Path) -> Option<&'static str> {
    match path.extension()?.to_str()? {
        "json" => Some("JSON"),
        "yaml" | "yml" => Some("YAML"),
        _ => None,
    }
}

fn load_file(path: &Path) -> Result<SpecDocument> {
    let text = std::fs::read_to_string(path).map_err(|source| CodegenError::Io {
        path: path.to_owned(),
        source,
    })?;
    let format = format_of(path).unwrap_or("JSON");
    let parsed = if format == "YAML" {
        serde_norway::from_str::<Value>(&text).map_err(|e| e.to_string())
    } else {
        serde_json::from_str::<Value>(&text).map_err(|e| e.to_string())
    };
    let value = parsed.map_err(|message| CodegenError::Parse {
        path: path.to_owned(),
        format,
        message,
    })?;
    if !value.is_object() {
        return Err(CodegenError::Parse {
            path: path.to_owned(),
            format,
            message: "the document is not an object".into(),
        });
    }
    Ok(SpecDocument {
        source: path.to_owned(),
        value,
    })
}
