//! The bodies an error keeps: CloudTower's error body, decoded leniently, and the raw bytes
//! of an answer, both with credentials masked in `Debug`.

use std::fmt;

use crate::codec::{Decode, DecodeError, Decoder};

/// CloudTower's error body (`ErrorBody` in the spec), decoded leniently so that any error
/// answer, even from another version, keeps what it says. Its `Debug` masks the values of
/// credential-like keys in `props`, as [`RawBody`]'s does for the same bytes.
#[derive(Clone, Default, PartialEq)]
pub struct ErrorBody {
    /// The error code (`ResourceLocked`, …), kept as text so codes newer than the spec survive.
    pub code: Option<String>,
    pub message: String,
    pub status: Option<i64>,
    pub path: Option<String>,
    pub operation_name: Option<String>,
    pub props: Option<serde_json::Value>,
}

impl fmt::Debug for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let props = self.props.clone().map(|mut props| {
            redact(&mut props);
            props
        });
        f.debug_struct("ErrorBody")
            .field("code", &self.code)
            .field("message", &self.message)
            .field("status", &self.status)
            .field("path", &self.path)
            .field("operation_name", &self.operation_name)
            .field("props", &props)
            .finish()
    }
}

impl Decode for ErrorBody {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let mut out = ErrorBody::default();
        let mut key = d.first_key("ErrorBody")?;
        while let Some(k) = key {
            match k {
                "code" => d.field(&mut out.code, "code")?,
                "message" => d.field(&mut out.message, "message")?,
                "status" => d.field(&mut out.status, "status")?,
                "path" => d.field(&mut out.path, "path")?,
                "operationName" => d.field(&mut out.operation_name, "operationName")?,
                "props" => d.field(&mut out.props, "props")?,
                _ => d.skip()?,
            }
            key = d.next_key()?;
        }
        Ok(out)
    }
}

/// A response body kept for diagnosis. Its `Debug` shows the text with the values of
/// credential-like keys (`token`, `password`, `key`, `secret`, `authorization`, `cookie`, and
/// the VNC answer's `redirect`, `direct` and `terminal`) masked, because a login answer that
/// fails to decode still carries the token.
#[derive(Clone, Default, PartialEq)]
pub struct RawBody(pub bytes::Bytes);

impl RawBody {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for RawBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match serde_json::from_slice::<serde_json::Value>(&self.0) {
            Ok(mut value) => {
                redact(&mut value);
                write!(f, "{value}")
            }
            Err(_) => write!(f, "<{} bytes, not JSON>", self.0.len()),
        }
    }
}

fn redact(value: &mut serde_json::Value) {
    // Keys that hold a credential wherever they appear in the name.
    const SENSITIVE: [&str; 7] = [
        "token",
        "password",
        "secret",
        "key",
        "credential",
        "authorization",
        "cookie",
    ];
    // Keys that are credentials only as whole names: a VNC answer's console tokens
    // (`redirect`, `direct`) and terminal URL.
    const SENSITIVE_NAMES: [&str; 3] = ["redirect", "direct", "terminal"];
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let k = k.to_ascii_lowercase();
                let sensitive = SENSITIVE.iter().any(|s| k.contains(s))
                    || SENSITIVE_NAMES.contains(&k.as_str());
                if sensitive && !v.is_null() {
                    *v = serde_json::Value::String("<redacted>".into());
                } else {
                    redact(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}
