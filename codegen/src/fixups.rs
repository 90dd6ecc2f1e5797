//! Spec fixups: corrections for upstream bugs, kept as data (`spec/fixups.json`), each with the
//! reason it exists. A fixup whose expected value is no longer found fails loudly, so that it is
//! removed (or updated) once upstream fixes the bug instead of silently rewriting a new spec.

use serde_json::Value;

use crate::error::{CodegenError, Result};

/// One correction: at `pointer`, the spec holds `expect`; use `replace` instead.
#[derive(Debug, Clone, PartialEq)]
pub struct Fixup {
    pub id: String,
    pub pointer: String,
    pub expect: Value,
    pub replace: Value,
    pub reason: String,
}

/// Parses the fixup list (a JSON array of `{id, pointer, expect, replace, reason}`).
pub fn parse_fixups(text: &str) -> Result<Vec<Fixup>> {
    let invalid = |pointer: String, message: &str| CodegenError::Invalid {
        file: "fixups#".into(),
        pointer,
        message: message.into(),
    };
    let value: Value = serde_json::from_str(text).map_err(|e| CodegenError::Parse {
        path: "fixups".into(),
        format: "JSON",
        message: e.to_string(),
    })?;
    let Value::Array(items) = value else {
        return Err(invalid(String::new(), "expected an array of fixups"));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let text_member = |name: &str| {
                item.get(name)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| invalid(format!("/{i}/{name}"), "expected a string"))
            };
            let value_member = |name: &str| {
                item.get(name)
                    .cloned()
                    .ok_or_else(|| invalid(format!("/{i}/{name}"), "missing"))
            };
            let fixup = Fixup {
                id: text_member("id")?,
                pointer: text_member("pointer")?,
                expect: value_member("expect")?,
                replace: value_member("replace")?,
                reason: text_member("reason")?,
            };
            if fixup.reason.trim().is_empty() {
                return Err(invalid(
                    format!("/{i}/reason"),
                    "every fixup needs a reason",
                ));
            }
            Ok(fixup)
        })
        .collect()
}

/// Applies every fixup to the merged document.
pub fn apply_fixups(spec: &mut Value, fixups: &[Fixup]) -> Result<()> {
    for fixup in fixups {
        let stale = |message: String| CodegenError::StaleFixup {
            id: fixup.id.clone(),
            pointer: fixup.pointer.clone(),
            message,
            reason: fixup.reason.clone(),
        };
        let slot = spec
            .pointer_mut(&fixup.pointer)
            .ok_or_else(|| stale("the pointer no longer exists".into()))?;
        if *slot != fixup.expect {
            return Err(stale(format!("expected {}, found {}", fixup.expect, slot)));
        }
        *slot = fixup.replace.clone();
    }
    Ok(())
}
