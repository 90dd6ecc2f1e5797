//! Every way generation can fail. Each error says where: a file, and a JSON pointer into it
//! (or into the merged document once modules are merged).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not valid {format}: {message}")]
    Parse {
        path: PathBuf,
        format: &'static str,
        message: String,
    },
    #[error("{path}: no spec modules (.json, .yaml, .yml) found")]
    NoModules { path: PathBuf },
    #[error("{pointer}: defined differently in {first} and {second}")]
    Conflict {
        pointer: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("{file}{pointer}: {message}")]
    Invalid {
        /// The module the pointer is in, when known (`file.json#`), else empty.
        file: String,
        pointer: String,
        message: String,
    },
    #[error(
        "spec fixup `{id}` no longer applies at {pointer}: {message} (reason it existed: {reason})"
    )]
    StaleFixup {
        id: String,
        pointer: String,
        message: String,
        reason: String,
    },
    #[error("formatting generated file {file}: {message}")]
    Format { file: String, message: String },
}

impl CodegenError {
    pub(crate) fn invalid(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        CodegenError::Invalid {
            file: String::new(),
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = CodegenError> = std::result::Result<T, E>;

/// Escapes one JSON pointer reference token (RFC 6901).
pub fn pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
