//! Retry classification: what a failed attempt calls for, so that the pipeline hands it to the
//! one policy it concerns (the retry policy, endpoint selection, the re-login policy, lock
//! waits) or ends the call with it. Whether a failure is transient at all is the error's to
//! say ([`Error::is_retryable`], per kind, for the client and its users alike); which policy
//! acts on it is the client's, here.

use std::time::Duration;

use crate::error::{Error, ErrorKind, ResponseError};

/// What a failed attempt calls for.
#[derive(Debug, PartialEq)]
pub(super) enum Failure {
    /// A transient failure ([`Error::is_retryable`], the one definition of an outage): the
    /// same call may work later; a read may be sent again, after `retry_after` when the
    /// tower said how long to wait.
    Transient { retry_after: Option<Duration> },
    /// A 307 from the tower the call was sent to: it is the passive one of a pair now.
    Passive,
    /// A 401: the session's token is not (or no longer) accepted.
    Unauthorized,
    /// A `ResourceLocked` refusal: another task holds a lock on the resource; nothing was
    /// done, and the same call may work once that task ends.
    Locked,
    /// Nothing to try: the failure is the call's answer.
    Final,
}

/// Classifies a failed attempt.
pub(super) fn classify(error: &Error) -> Failure {
    if error.is_retryable() {
        Failure::Transient {
            retry_after: error.retry_after(),
        }
    } else if matches!(
        error.kind(),
        ErrorKind::Response(ResponseError::Redirect { status: 307, .. })
    ) {
        Failure::Passive
    } else if error.status() == Some(401) {
        Failure::Unauthorized
    } else if error.is_resource_locked() {
        Failure::Locked
    } else {
        Failure::Final
    }
}

/// The `Retry-After` of an answer that may carry one (429, 503): delay-seconds or an HTTP
/// date (RFC 9110 §10.2.3).
pub(super) fn retry_after(status: u16, headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    if !matches!(status, 429 | 503) {
        return None;
    }
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    // A date in the past means now.
    Some(
        date.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorBody, RawBody, ServiceError};

    fn status(status: u16, code: Option<&str>) -> Error {
        let body = code.map(|code| ErrorBody {
            code: Some(code.to_owned()),
            ..ErrorBody::default()
        });
        ServiceError::new(status, body, RawBody::default())
            .with_retry_after((status == 503).then_some(Duration::from_secs(2)))
            .into()
    }

    fn redirect(status: u16) -> Error {
        ResponseError::Redirect {
            status,
            location: None,
        }
        .into()
    }

    #[test]
    fn each_failure_goes_to_one_policy() {
        assert_eq!(
            classify(&status(503, None)),
            Failure::Transient {
                retry_after: Some(Duration::from_secs(2))
            }
        );
        assert_eq!(
            classify(&status(502, None)),
            Failure::Transient { retry_after: None }
        );
        assert_eq!(classify(&redirect(307)), Failure::Passive);
        assert_eq!(classify(&redirect(301)), Failure::Final);
        assert_eq!(classify(&status(401, None)), Failure::Unauthorized);
        assert_eq!(
            classify(&status(400, Some("ResourceLocked"))),
            Failure::Locked
        );
        assert_eq!(classify(&status(400, Some("VmNotFound"))), Failure::Final);
    }

    #[test]
    fn retry_after_is_read_from_429_and_503_only() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(503, &headers), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(429, &headers), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(500, &headers), None);
        headers.insert(
            reqwest::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(503, &headers), Some(Duration::ZERO));
    }
}
