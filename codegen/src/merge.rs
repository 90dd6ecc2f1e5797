//! Stage 2: merging spec modules into one document.
//!
//! Upstream publishes one document per tag plus one holding the components. Merging is a
//! union of `paths` and of each `components` section; the same entry in two modules is fine
//! when identical and an error (naming both files) when not.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{pointer_token, CodegenError, Result};
use crate::load::SpecDocument;

/// Top-level members whose value must be the same in every module that has them.
const SHARED_MEMBERS: &[&str] = &["openapi", "info", "servers", "security", "tags"];

pub fn merge(documents: Vec<SpecDocument>) -> Result<Value> {
    merge_with_origins(documents).map(|(merged, _)| merged)
}

/// Which spec module each path and component came from, to name it in errors found after
/// merging.
#[derive(Debug, Clone, Default)]
pub struct Origins(HashMap<String, PathBuf>);

impl Origins {
    /// The module an error's pointer is in, filled into an [`CodegenError::Invalid`] that does
    /// not name one (lowering only sees the merged document).
    pub fn name_file(&self, error: CodegenError) -> CodegenError {
        match error {
            CodegenError::Invalid {
                file,
                pointer,
                message,
            } if file.is_empty() => {
                let file = self
                    .module_of(&pointer)
                    // Schema pointers are written `#/components/…` already.
                    .map(|path| match pointer.starts_with('#') {
                        true => path.display().to_string(),
                        false => format!("{}#", path.display()),
                    })
                    .unwrap_or_default();
                CodegenError::Invalid {
                    file,
                    pointer,
                    message,
                }
            }
            other => other,
        }
    }

    /// The module defining the path or component a pointer is in (`/paths/~1get-vms/post/…`,
    /// `#/components/schemas/Vm/…`).
    fn module_of(&self, pointer: &str) -> Option<&PathBuf> {
        let tokens: Vec<&str> = pointer.trim_start_matches('#').split('/').collect();
        let depth = match tokens.get(1) {
            Some(&"paths") => 3,
            Some(&"components") => 4,
            _ => return None,
        };
        self.0.get(&tokens.get(..depth)?.join("/"))
    }
}

/// [`merge`], also saying where each path and component came from.
pub fn merge_with_origins(documents: Vec<SpecDocument>) -> Result<(Value, Origins)> {
    let mut merged = Map::new();
    // Which module first defined each merged pointer, to name both sides of a conflict.
    let mut origin: HashMap<String, PathBuf> = HashMap::new();
    for document in documents {
        let Value::Object(members) = document.value else {
            continue;
        };
        for (member, value) in members {
            match member.as_str() {
                "paths" => merge_entries(
                    &mut merged,
                    &mut origin,
                    &document.source,
                    &["paths"],
                    value,
                )?,
                "components" => {
                    let Value::Object(sections) = value else {
                        return Err(CodegenError::Invalid {
                            file: format!("{}#", document.source.display()),
                            pointer: "/components".into(),
                            message: "expected an object".into(),
                        });
                    };
                    for (section, entries) in sections {
                        merge_entries(
                            &mut merged,
                            &mut origin,
                            &document.source,
                            &["components", &section],
                            entries,
                        )?;
                    }
                }
                _ => {
                    let pointer = format!("/{}", pointer_token(&member));
                    let skip_check = !SHARED_MEMBERS.contains(&member.as_str());
                    match merged.get(&member) {
                        Some(existing) if existing != &value && !skip_check => {
                            return Err(CodegenError::Conflict {
                                pointer,
                                first: origin[&format!("/{member}")].clone(),
                                second: document.source.clone(),
                            });
                        }
                        Some(_) => {}
                        None => {
                            origin.insert(format!("/{member}"), document.source.clone());
                            merged.insert(member, value);
                        }
                    }
                }
            }
        }
    }
    Ok((Value::Object(merged), Origins(origin)))
}

fn merge_entries(
    merged: &mut Map<String, Value>,
    origin: &mut HashMap<String, PathBuf>,
    source: &Path,
    at: &[&str],
    entries: Value,
) -> Result<()> {
    let base: String = at
        .iter()
        .map(|t| format!("/{}", pointer_token(t)))
        .collect();
    let Value::Object(entries) = entries else {
        return Err(CodegenError::Invalid {
            file: format!("{}#", source.display()),
            pointer: base,
            message: "expected an object".into(),
        });
    };
    let mut target = &mut *merged;
    for token in at {
        target = target
            .entry(token.to_string())
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .ok_or_else(|| CodegenError::Invalid {
                file: format!("{}#", source.display()),
                pointer: base.clone(),
                message: "expected an object".into(),
            })?;
    }
    for (name, value) in entries {
        let pointer = format!("{base}/{}", pointer_token(&name));
        match target.get(&name) {
            Some(existing) if existing == &value => {}
            Some(_) => {
                return Err(CodegenError::Conflict {
                    first: origin[&pointer].clone(),
                    second: source.to_owned(),
                    pointer,
                });
            }
            None => {
                origin.insert(pointer, source.to_owned());
                target.insert(name, value);
            }
        }
    }
    Ok(())
}
