//! The tower's version: asked once at sign-in (`GET get-version`, since CloudTower 2.3.0) and
//! after a failover, and used to refuse, before sending, a call to an operation that the
//! tower's version predates.

use std::cmp::Ordering;
use std::fmt;
use std::sync::RwLock;

use super::{ApiRequest, ApiResponse, Client};
use crate::error::Error;
use crate::error::{ConstructionError, Since};

/// The operation that says a tower's version (a bare JSON string such as `"4.6.0"`).
const GET_VERSION: &str = "get-version";

pub(super) fn version_request() -> ApiRequest {
    ApiRequest::get(GET_VERSION, Vec::new()).anonymous().read()
}

/// A longer answer is not a version (a proxy's page, a hostile tower).
const MAX_VERSION_CHARS: usize = 64;

/// A CloudTower version as its tower reports it (`4.6.0`, `4.6.0-rc1`).
///
/// Ordered by its numeric release parts (`4.10.0` > `4.9.2`, `4.6` = `4.6.0`); a suffix
/// after `-` or `+` is kept in the text but not compared.
#[derive(Clone, Debug)]
pub struct ServerVersion {
    text: String,
    release: Vec<u64>,
}

impl ServerVersion {
    /// `None` when `text` does not start with a numeric release (`4.6.0`).
    pub fn parse(text: &str) -> Option<ServerVersion> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_VERSION_CHARS {
            return None;
        }
        let release_part = text.split(['-', '+', ' ']).next()?;
        let release = release_part
            .split('.')
            .map(|part| part.parse::<u64>().ok())
            .collect::<Option<Vec<_>>>()?;
        Some(ServerVersion {
            text: text.to_owned(),
            release,
        })
    }

    /// The version as the tower sent it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether a tower of this version lacks the operation, as `since` tells: it is no newer
    /// than the newest published version known to lack it. A version between that one and
    /// the first known to have it is not refused (the published specs cannot tell).
    pub fn predates(&self, since: &Since) -> bool {
        since
            .last_absent
            .and_then(ServerVersion::parse)
            .is_some_and(|absent| *self <= absent)
    }

    fn part(&self, i: usize) -> u64 {
        self.release.get(i).copied().unwrap_or(0)
    }
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for ServerVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ServerVersion {}

impl PartialOrd for ServerVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ServerVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let parts = self.release.len().max(other.release.len());
        (0..parts)
            .map(|i| self.part(i).cmp(&other.part(i)))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

/// What the client knows of its tower's version.
#[derive(Clone, Debug, Default)]
enum KnownVersion {
    /// Not asked yet (a client given a token or API key, before
    /// [`Client::fetch_server_version`]).
    #[default]
    NotAsked,
    /// Asked, and the tower did not say (older than 2.3.0, or an unreadable answer).
    Unknown,
    Known(ServerVersion),
}

/// The version gate every clone of a client shares: what the client knows of its tower's
/// version, and the calls it refuses for it.
#[derive(Default)]
pub(super) struct VersionGate {
    known: RwLock<KnownVersion>,
}

impl VersionGate {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, KnownVersion> {
        self.known.read().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, known: KnownVersion) {
        *self.known.write().unwrap_or_else(|e| e.into_inner()) = known;
    }

    pub(super) fn version(&self) -> Option<ServerVersion> {
        match &*self.read() {
            KnownVersion::Known(version) => Some(version.clone()),
            _ => None,
        }
    }

    /// Whether the version was asked for (so it is asked again after a failover).
    pub(super) fn was_asked(&self) -> bool {
        !matches!(*self.read(), KnownVersion::NotAsked)
    }

    /// Whether the version must be asked before `request` can be judged: an operation some
    /// published versions lack, on a tower whose version nobody asked yet (a client given a
    /// token or an API key).
    pub(super) fn must_ask_before(&self, request: &ApiRequest) -> bool {
        request.since.is_some_and(|s| s.last_absent.is_some()) && !self.was_asked()
    }

    /// Refuses, before anything is sent, a call that the tower's known version predates.
    pub(super) fn check(&self, request: &ApiRequest) -> Result<(), Error> {
        let (Some(since), Some(version)) = (request.availability(), self.version()) else {
            return Ok(());
        };
        if version.predates(&since) {
            // The pipeline names the operation.
            return Err(ConstructionError::ServerTooOld {
                since,
                server_version: version.to_string(),
            }
            .into());
        }
        Ok(())
    }

    /// Keeps what `get-version` answered: a tower that has no such operation (older than
    /// 2.3.0: 404) or answers something that is not a version leaves it unknown
    /// (`Ok(None)`); other failures are errors and change nothing.
    pub(super) fn keep(
        &self,
        answer: Result<ApiResponse, Error>,
    ) -> Result<Option<ServerVersion>, Error> {
        let known = match answer {
            Ok(response) => match response.decode::<String>() {
                Ok(text) => match ServerVersion::parse(&text) {
                    Some(version) => KnownVersion::Known(version),
                    None => {
                        tracing::warn!(
                            chars = text.chars().count(),
                            "get-version answered something that is not a version"
                        );
                        KnownVersion::Unknown
                    }
                },
                Err(error) => {
                    tracing::warn!(%error, "get-version's answer does not decode");
                    KnownVersion::Unknown
                }
            },
            Err(error) if error.status() == Some(404) => KnownVersion::Unknown,
            Err(error) => return Err(error),
        };
        let version = match &known {
            KnownVersion::Known(version) => Some(version.clone()),
            _ => None,
        };
        tracing::debug!(
            version = version.as_ref().map(ServerVersion::as_str),
            "tower version"
        );
        self.set(known);
        Ok(version)
    }

    /// [`keep`](Self::keep), where a failure to answer leaves the version unknown (to be
    /// asked again after a failover) rather than failing what asked (a sign-in, a call).
    pub(super) fn keep_or_forget(&self, answer: Result<ApiResponse, Error>) {
        if let Err(error) = self.keep(answer) {
            tracing::warn!(%error, "asking the tower's version failed; it stays unknown");
            self.set(KnownVersion::Unknown);
        }
    }
}

impl Client {
    /// The tower's version, as learned when the client signed in (or by
    /// [`fetch_server_version`](Self::fetch_server_version)), and again after a failover.
    /// `None` when not asked yet, or when the tower does not say (older than 2.3.0).
    pub fn server_version(&self) -> Option<ServerVersion> {
        self.inner.version.version()
    }

    /// Asks the tower its version (`GET get-version`) and keeps it for
    /// [`server_version`](Self::server_version) and for refusing calls that the version
    /// predates. A tower that has no such operation (older than 2.3.0: 404) or answers
    /// something that is not a version leaves it unknown (`Ok(None)`); other failures are
    /// errors and change nothing.
    pub async fn fetch_server_version(&self) -> Result<Option<ServerVersion>, Error> {
        let answer = self.execute(version_request()).await;
        self.inner.version.keep(answer)
    }

    /// Asks the tower's version at sign-in: a failure to answer leaves it unknown (and the
    /// sign-in successful), to be asked again after a failover.
    pub(crate) async fn learn_server_version(&self) {
        let answer = self.execute(version_request()).await;
        self.inner.version.keep_or_forget(answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> ServerVersion {
        ServerVersion::parse(text).unwrap()
    }

    #[test]
    fn versions_order_by_their_numbers() {
        assert!(v("4.10.0") > v("4.9.2"));
        assert!(v("3.4.4") < v("4.0.0"));
        assert_eq!(v("4.6"), v("4.6.0"));
        assert_eq!(v("4.6.0-rc1"), v("4.6.0"));
        assert_eq!(v("4.6.0-rc1").as_str(), "4.6.0-rc1");
        for bad in ["", "latest", "4.x", &"9".repeat(65), "<html>"] {
            assert!(ServerVersion::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_version_predates_only_what_a_version_at_or_above_it_lacked() {
        let since = Since {
            first_seen: "4.0.0",
            last_absent: Some("3.4.4"),
        };
        assert!(v("3.4.4").predates(&since));
        assert!(v("2.3.0").predates(&since));
        assert!(!v("4.0.0").predates(&since));
        // Between the last version known to lack it and the first known to have it.
        let gap = Since {
            first_seen: "4.6.0",
            last_absent: Some("4.3.0"),
        };
        assert!(!v("4.5.0").predates(&gap));
        let always = Since {
            first_seen: "1.8.0",
            last_absent: None,
        };
        assert!(!v("1.0.0").predates(&always));
    }
}
