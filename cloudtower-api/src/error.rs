//! The one error type of the SDK.

use crate::codec::DecodeError;

/// Anything that can go wrong calling CloudTower.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request did not get an HTTP answer (connect, TLS, timeout, broken connection).
    #[error("{operation}: transport error: {source}")]
    Transport {
        operation: &'static str,
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error status.
    #[error("{operation}: HTTP {status}{}", .body.as_ref().map(|b| format!(": {}", b.message)).unwrap_or_default())]
    Status {
        operation: &'static str,
        status: u16,
        /// The decoded `ErrorBody`, when the server sent one.
        body: Option<Box<ErrorBody>>,
        /// The raw response body.
        raw: bytes::Bytes,
        request_id: Option<String>,
    },
    /// The server answered 2xx but the body does not match the expected type.
    #[error("{operation}: response does not decode: {source}")]
    Decode {
        operation: &'static str,
        #[source]
        source: DecodeError,
        /// The raw response body.
        raw: bytes::Bytes,
        request_id: Option<String>,
    },
}

/// CloudTower's error body (`ErrorBody` in the spec), decoded leniently so that any error
/// answer, even from another version, keeps what it says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ErrorBody {
    /// The error code (`ResourceLocked`, …), kept as text so codes newer than the spec survive.
    pub code: Option<String>,
    pub message: String,
    pub status: Option<i64>,
    pub path: Option<String>,
    pub operation_name: Option<String>,
    pub props: Option<serde_json::Value>,
}

impl crate::codec::Decode for ErrorBody {
    fn decode(d: &mut crate::codec::Decoder<'_>) -> Result<Self, DecodeError> {
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
