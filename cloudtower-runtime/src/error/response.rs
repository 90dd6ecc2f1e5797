//! Errors about an answer that came but cannot be used.

use super::body::RawBody;
use crate::codec::DecodeError;

/// Why an answer cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The server answered with a redirect. The client follows none: a CloudTower API never
    /// redirects, and following one would send the password or token to another host.
    #[error("HTTP {status} redirect to {} not followed", .location.as_deref().unwrap_or("an unnamed location"))]
    #[non_exhaustive]
    Redirect {
        status: u16,
        /// The `Location` header, as sent.
        location: Option<String>,
    },
    /// The response body is larger than the client's limit
    /// ([`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes)); the
    /// client stopped reading at the limit.
    #[error("the response body exceeds the limit of {limit} bytes")]
    #[non_exhaustive]
    BodyTooLarge { limit: u64 },
    /// The server answered 2xx but the body does not match the expected type.
    #[error("response does not decode: {source}")]
    #[non_exhaustive]
    Decode {
        /// What failed and at which JSON path (`/0/vm_disks/3/id`).
        #[source]
        source: Box<DecodeError>,
        /// The raw response body.
        raw: RawBody,
    },
    /// The server's answers cannot be used as they are: a list whose pages do not advance or
    /// come back to items already seen, a console host that is not a host.
    #[error("{reason}")]
    #[non_exhaustive]
    Protocol { reason: String },
}
