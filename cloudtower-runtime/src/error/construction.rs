//! Errors before anything was sent: the request, the client's configuration or the tower's
//! version rules the call out.

use super::BoxError;
use crate::codec::{DecodeError, EncodeError};

/// Why a call was not sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConstructionError {
    /// A JSON request given to `Client::call_operation` does not decode into the operation's
    /// request type.
    #[error("invalid request: {source}")]
    #[non_exhaustive]
    InvalidRequest {
        #[source]
        source: Box<DecodeError>,
    },
    /// The request holds a number JSON cannot carry (NaN or an infinity; see
    /// [`codec::try_encode`](crate::codec::try_encode)).
    #[error("invalid request: {source}")]
    #[non_exhaustive]
    Encode {
        #[source]
        source: EncodeError,
    },
    /// The call cannot be made this way (`Client::call_operation` with an unknown path, or a
    /// multipart upload, which takes files rather than JSON).
    #[error("{reason}")]
    #[non_exhaustive]
    Unsupported { reason: &'static str },
    /// A header parameter the operation does not take (a client bound to an external
    /// CloudTower calling an operation this API version does not proxy), one it requires and
    /// was not given, or a value a header cannot carry: sending the call without it would act
    /// on another tower than the one meant.
    #[error("header `{header}`: {reason}; nothing was sent")]
    #[non_exhaustive]
    HeaderParameter {
        header: &'static str,
        reason: &'static str,
    },
    /// The client is misconfigured (endpoint, proxy, certificate, credentials).
    #[error("invalid configuration: {message}: {source}")]
    #[non_exhaustive]
    Config {
        message: String,
        #[source]
        source: BoxError,
    },
    /// The tower's version (learned at sign-in, see
    /// [`Client::server_version`](crate::Client::server_version)) predates the operation, as
    /// the published specs tell.
    #[error("{}; the tower runs {server_version}, so nothing was sent", .since.needs())]
    #[non_exhaustive]
    ServerTooOld {
        since: Since,
        server_version: String,
    },
}

/// Since which CloudTower version an operation exists, as the published specs tell it.
///
/// Not every published version's spec can be obtained (1.9.0, 4.4.0, 4.4.1 and 4.5.0 cannot),
/// so an operation first seen in one version may have been added in an unobtainable version
/// before it: `last_absent` is the newest obtainable version known to lack it.
///
/// Defined with the error that reports it ([`ConstructionError::ServerTooOld`]) so that the
/// error module depends on nothing above it; [`contract`](crate::contract) re-exports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Since {
    /// The oldest obtainable published version whose spec has the operation.
    pub first_seen: &'static str,
    /// The newest obtainable published version before `first_seen` whose spec lacks it;
    /// `None` when the oldest spec obtainable has it (so its real first version is unknown).
    pub last_absent: Option<&'static str>,
}

impl Since {
    /// "needs CloudTower 4.0.0 (…; 3.4.4 and older lack it)": what the published specs tell,
    /// which is exact only where no published version between them is unobtainable.
    fn needs(&self) -> String {
        match self.last_absent {
            Some(absent) => format!(
                "needs CloudTower {} (the first published spec with it; {absent} and older lack it)",
                self.first_seen
            ),
            None => format!("needs CloudTower {}", self.first_seen),
        }
    }
}
