//! The session: the `Authorization` value, who may replace it, and logging in again after a
//! 401 (once for all the calls that got it, with a backoff after failures).

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;

use super::{ApiResponse, Client, RetryPolicy};
use crate::error::{Error, WorkflowError};

// What the re-logins so far tell about the next one.
#[derive(Default)]
struct Relogins {
    // The last re-login that did not give a working session.
    failure: Option<LoginFailure>,
    // Re-logins in a row that did not give a working session: those that failed, and those
    // whose fresh token the tower refused at once (sessions not shared behind a load
    // balancer, 401 meaning "no permission"). A call that succeeds with a fresh token ends the
    // run; the backoff grows with it.
    in_a_row: u32,
}

impl Relogins {
    /// Records that the session of `generation` does not work: `error` is every 401's answer
    /// at that generation until the next re-login is due, `pause` from now (decided here,
    /// once, from how many failed in a row), and what this one returns.
    fn failed(
        &mut self,
        generation: u64,
        error: Error,
        pause: impl FnOnce(&Error, u32) -> Duration,
    ) -> Error {
        self.in_a_row = self.in_a_row.saturating_add(1);
        let retry_after = pause(&error, self.in_a_row);
        let error = Arc::new(error);
        self.failure = Some(LoginFailure {
            generation,
            error: error.clone(),
            at: Instant::now(),
            retry_after,
        });
        WorkflowError::Reauthentication(error).into()
    }
}

/// The first pause after the tower refused the token of a fresh login (a session revoked
/// again at once, or not shared behind a load balancer): the login itself worked, so a retry
/// soon is cheap and often enough works; the pause doubles while it does not.
const FRESH_TOKEN_REFUSED_FIRST_PAUSE: Duration = Duration::from_secs(1);

/// Why a re-login did not give a working session, which decides the pause before the next.
#[derive(Clone, Copy)]
enum Refusal {
    /// The login failed (refused credentials, or no answer).
    Login,
    /// The login worked but the tower refused its token at once.
    FreshToken,
}

// A re-login that did not give a working session.
struct LoginFailure {
    // The session generation it failed at: a new token (`set_token`) makes it moot.
    generation: u64,
    error: Arc<Error>,
    at: Instant,
    // How long after `at` the next re-login may be tried: decided when it failed, so every
    // caller sees the same moment (its jitter is drawn once).
    retry_after: Duration,
}

#[derive(Default)]
struct Session {
    authorization: Option<Secret>,
    // Bumped at every change of `authorization`: a call that got a 401 with generation `g`
    // logs in again only if nobody has done so since `g`.
    generation: u64,
}

/// A credential (token, password, API key): its `Debug` prints `Secret(<redacted>)`, so it
/// can sit in structs that are logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself; call it only where it is sent.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

/// Obtains a fresh `Authorization` value when a call answers 401.
///
/// The client calls it at most once per expired session however many calls fail at once,
/// and retries each failed call once with the new value. [`Client::sign_in_with`] (the
/// generated client's `sign_in`) installs one that logs in with a username and password;
/// implement it to fetch credentials elsewhere.
pub trait Authenticator: Send + Sync + 'static {
    /// Logs in through `client` (which does not itself re-authenticate) and returns the
    /// token.
    fn authenticate<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, Result<Secret, Error>>;
}

/// The session every clone of a client shares: the `Authorization` value and the hook that
/// renews it.
#[derive(Default)]
pub(super) struct SessionStore {
    session: RwLock<Session>,
    authenticator: RwLock<Option<Arc<dyn Authenticator>>>,
}

impl SessionStore {
    pub(super) fn new(authorization: Option<Secret>) -> Self {
        SessionStore {
            session: RwLock::new(Session {
                authorization,
                generation: 0,
            }),
            authenticator: RwLock::new(None),
        }
    }

    // A poisoned lock only means another thread panicked mid-assignment; the slot holds a
    // whole value either way.
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Session> {
        self.session.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The token (or API key) and its generation.
    pub(super) fn current(&self) -> (Option<Secret>, u64) {
        let session = self.session.read().unwrap_or_else(|e| e.into_inner());
        (session.authorization.clone(), session.generation)
    }

    pub(super) fn set(&self, value: Secret) {
        let mut session = self.write();
        session.authorization = Some(value);
        session.generation += 1;
    }

    pub(super) fn set_authenticator(&self, authenticator: Arc<dyn Authenticator>) {
        *self
            .authenticator
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(authenticator);
    }

    /// `token` and `authenticator` as one change (see [`Client::set_session`]).
    fn set_with(&self, token: Secret, authenticator: Arc<dyn Authenticator>) {
        let mut session = self.write();
        // Under the session's lock: a call reads the session, then (after its 401) the
        // authenticator, so one that sees this token sees this authenticator.
        self.set_authenticator(authenticator);
        session.authorization = Some(token);
        session.generation += 1;
    }

    /// Installs `token` if the session is still at `generation`; returns what is installed
    /// then, with its generation.
    fn replace(&self, generation: u64, token: Secret) -> (Secret, u64) {
        let mut session = self.write();
        match &session.authorization {
            Some(current) if session.generation != generation => {
                (current.clone(), session.generation)
            }
            _ => {
                session.authorization = Some(token.clone());
                session.generation += 1;
                (token, session.generation)
            }
        }
    }

    fn authenticator(&self) -> Option<Arc<dyn Authenticator>> {
        self.authenticator
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The session as one call uses it: the credentials it sends, and whether a 401 may start a
/// re-login.
pub(super) struct CallSession {
    authorization: Option<Secret>,
    generation: u64,
    relogin: CallRelogin,
}

#[derive(Clone, Copy, PartialEq)]
enum CallRelogin {
    /// A 401 is the call's answer (anonymous calls, calls made while logging in).
    Never,
    /// A 401 starts (or joins) one re-login, and the call is sent again once.
    Allowed,
    /// Sent again with the session of this generation, just logged in: a 401 now means that
    /// logging in does not help.
    Fresh(u64),
}

impl CallSession {
    /// The credentials of the store, for an `anonymous` call none; `relogin_on_401` says
    /// whether a 401 may start a re-login.
    pub(super) fn start(store: &SessionStore, anonymous: bool, relogin_on_401: bool) -> Self {
        if anonymous {
            return CallSession {
                authorization: None,
                generation: 0,
                relogin: CallRelogin::Never,
            };
        }
        let (authorization, generation) = store.current();
        CallSession {
            authorization,
            generation,
            relogin: if relogin_on_401 {
                CallRelogin::Allowed
            } else {
                CallRelogin::Never
            },
        }
    }

    pub(super) fn authorization(&self) -> Option<&Secret> {
        self.authorization.as_ref()
    }

    /// Whether a 401 may start a re-login (once per call).
    pub(super) fn may_relogin(&self) -> bool {
        self.relogin == CallRelogin::Allowed
    }
}

/// The re-login policy every clone of a client shares: one re-login for all the calls that
/// got a 401 at once, and storm protection (after re-logins that did not give a working
/// session, later 401s share that failure until the next re-login is due).
pub(super) struct ReloginPolicy {
    // Held while logging in again, so that concurrent 401s share one login; keeps the last
    // failed login, which the calls waiting on it and those until the next attempt share.
    relogins: tokio::sync::Mutex<Relogins>,
    // The first pause after refused credentials, and the longest pause.
    refused_credentials: Duration,
    max_pause: Duration,
    // The pauses after a login that got no answer (the builder's retry policy's values).
    no_answer: RetryPolicy,
}

impl ReloginPolicy {
    pub(super) fn new(
        refused_credentials: Duration,
        max_pause: Duration,
        no_answer: RetryPolicy,
    ) -> Self {
        ReloginPolicy {
            relogins: tokio::sync::Mutex::new(Relogins::default()),
            refused_credentials,
            max_pause,
            no_answer,
        }
    }

    /// After a 401 to `call`: logs in again through `login_client` (a client that does not
    /// itself re-authenticate) unless a concurrent call already did since the call's
    /// session, and makes `call` send the fresh token once. `Ok(false)`: nothing to log in
    /// with (no authenticator); the 401 is the call's answer.
    pub(super) async fn relogin(
        &self,
        store: &SessionStore,
        login_client: &Client,
        call: &mut CallSession,
    ) -> Result<bool, Error> {
        let Some(authenticator) = store.authenticator() else {
            return Ok(false);
        };
        let (authorization, generation) = self
            .shared_relogin(store, &*authenticator, login_client, call.generation)
            .await?;
        call.authorization = Some(authorization);
        call.generation = generation;
        call.relogin = CallRelogin::Fresh(generation);
        Ok(true)
    }

    async fn shared_relogin(
        &self,
        store: &SessionStore,
        authenticator: &dyn Authenticator,
        login_client: &Client,
        generation: u64,
    ) -> Result<(Secret, u64), Error> {
        let mut relogins = self.relogins.lock().await;
        let (current, now) = store.current();
        if let Some(current) = current {
            if now != generation {
                return Ok((current, now));
            }
        }
        // A login that failed at this generation, not long ago, is everyone's outcome: the
        // calls that waited for it, and those that come before the next attempt is due.
        if let Some(failure) = relogins.failure.as_ref() {
            if failure.generation == now && failure.at.elapsed() < failure.retry_after {
                return Err(WorkflowError::Reauthentication(failure.error.clone()).into());
            }
        }
        tracing::info!("session expired, logging in again");
        match authenticator.authenticate(login_client).await {
            Ok(token) => {
                relogins.failure = None;
                // A token set meanwhile (`set_token`, a sign-in, maybe as another user) is
                // newer than the one this login started from: it stays.
                Ok(store.replace(now, token))
            }
            Err(error) => {
                tracing::warn!(%error, "logging in again failed");
                Err(relogins.failed(now, error, |error, in_a_row| {
                    self.pause(Refusal::Login, error, in_a_row)
                }))
            }
        }
    }

    /// The outcome of `call` as the session sees it: after a re-login, a 401 again means
    /// that logging in does not help for now, which is recorded as a failed login (so later
    /// 401s wait for the pause instead of logging in once each) and reported as
    /// [`WorkflowError::Reauthentication`]; a success ends a run of such failures.
    pub(super) async fn judge(
        &self,
        call: &CallSession,
        result: Result<ApiResponse, Error>,
    ) -> Result<ApiResponse, Error> {
        let CallRelogin::Fresh(fresh) = call.relogin else {
            return result;
        };
        match result {
            Err(error) if error.status() == Some(401) => {
                tracing::warn!(%error, "the tower refused the token of a fresh login");
                let mut relogins = self.relogins.lock().await;
                Err(relogins.failed(fresh, error, |error, in_a_row| {
                    self.pause(Refusal::FreshToken, error, in_a_row)
                }))
            }
            Ok(response) => {
                self.relogins.lock().await.in_a_row = 0;
                Ok(response)
            }
            other => other,
        }
    }

    /// How long after the last of `in_a_row` re-logins that did not give a working session
    /// (this one failing with `error`, for `why`) the next one may be tried.
    fn pause(&self, why: Refusal, error: &Error, in_a_row: u32) -> Duration {
        let retry = in_a_row.saturating_sub(1);
        let first = match why {
            // The tower did not answer: it may be back soon, and no password was refused.
            Refusal::Login if error.is_retryable() => return self.no_answer.backoff(retry),
            // Refused credentials: a handful of failed logins an hour, not one per call.
            Refusal::Login => self.refused_credentials,
            Refusal::FreshToken => FRESH_TOKEN_REFUSED_FIRST_PAUSE.min(self.refused_credentials),
        };
        first
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.max_pause)
    }
}

impl Client {
    /// Sends `token` (or an API key) as the `Authorization` value of every later call.
    pub fn set_token(&self, token: impl Into<Secret>) {
        self.inner.session.set(token.into());
    }

    /// Whether the client holds a token or API key.
    pub fn is_authenticated(&self) -> bool {
        self.inner.session.current().0.is_some()
    }

    /// Installs the hook that logs in again when a call answers 401.
    pub fn set_authenticator(&self, authenticator: Arc<dyn Authenticator>) {
        self.inner.session.set_authenticator(authenticator);
    }

    /// Installs `token` and the `authenticator` that logs in again when it expires, as one
    /// change: no call sees the token without the authenticator (a 401 in between would have
    /// none, or the one of an earlier sign-in, perhaps as another user).
    pub(crate) fn set_session(&self, token: Secret, authenticator: Arc<dyn Authenticator>) {
        self.inner.session.set_with(token, authenticator);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{CallTimeout, ServiceError};

    /// The policy of a client built with `.retry_policy(8 s backoff)` and the default
    /// `relogin_backoff` (30 s, 15 min).
    fn policy() -> ReloginPolicy {
        ReloginPolicy::new(
            Duration::from_secs(30),
            Duration::from_secs(15 * 60),
            RetryPolicy {
                max_retries: 0,
                initial_backoff: Duration::from_secs(8),
                max_backoff: Duration::from_secs(8),
            },
        )
    }

    /// A re-login that got no answer pauses the next one for the retry policy's jittered
    /// backoff, drawn once when it failed: the moment every later 401 compares with.
    #[tokio::test]
    async fn the_jittered_pause_after_a_relogin_without_answer_is_drawn_once() {
        let policy = policy();
        let mut relogins = policy.relogins.lock().await;
        let no_answer = Error::from(CallTimeout {
            timeout: Duration::from_secs(1),
        })
        .with_operation("login");
        let mut draws = 0;
        relogins.failed(0, no_answer, |error, in_a_row| {
            draws += 1;
            policy.pause(Refusal::Login, error, in_a_row)
        });
        assert_eq!(draws, 1);
        let pause = relogins.failure.as_ref().unwrap().retry_after;
        assert!(
            (Duration::from_secs(4)..=Duration::from_secs(8)).contains(&pause),
            "{pause:?}"
        );
    }

    /// Refused fresh tokens pause re-logins from one second, doubling; refused credentials
    /// from the re-login backoff (30 s), doubling; both up to the maximum (15 min).
    #[test]
    fn relogin_pauses_grow_from_their_first() {
        let policy = policy();
        let refused =
            Error::from(ServiceError::new(400, None, Default::default())).with_operation("login");
        let pauses = |why| -> Vec<u64> {
            (1..=7)
                .map(|n| policy.pause(why, &refused, n).as_secs())
                .collect()
        };
        assert_eq!(pauses(Refusal::FreshToken), [1, 2, 4, 8, 16, 32, 64]);
        assert_eq!(pauses(Refusal::Login), [30, 60, 120, 240, 480, 900, 900]);
    }
}
