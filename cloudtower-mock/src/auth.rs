//! Who may call: users, sessions (bounded) and API keys, shared by the local tower and the
//! external towers it acts for, and by both towers of a pair.

use std::collections::{HashMap, HashSet, VecDeque};

use serde_json::{json, Value};

use crate::json::{base64_decode, text};
use crate::state::ApiError;

/// How many sessions a tower keeps: a new login beyond it ends the oldest session (its next
/// call answers 401, as an expired session does), so a client that logs in on every call
/// cannot grow the mock without bound.
pub const MAX_SESSIONS: usize = 10_000;

/// Users, sessions and API keys.
#[derive(Default)]
pub(crate) struct Sessions {
    /// `(username, password, source)`.
    pub users: Vec<(String, String, String)>,
    /// Session tokens and who opened each: `(username, source)`.
    tokens: HashMap<String, (String, String)>,
    /// Session tokens, oldest first.
    order: VecDeque<String>,
    pub api_keys: HashSet<String>,
    next: u64,
}

impl Sessions {
    /// Whether `authorization` is a session token or an API key.
    pub fn knows(&self, authorization: &str) -> bool {
        self.tokens.contains_key(authorization) || self.api_keys.contains(authorization)
    }

    /// Who calls with `authorization`, as `(username, source)`: the user who opened the
    /// session, or for an API key the built-in user (the first one).
    pub fn user_of(&self, authorization: &str) -> Option<(String, String)> {
        if let Some(user) = self.tokens.get(authorization) {
            return Some(user.clone());
        }
        if self.api_keys.contains(authorization) {
            let (username, _, source) = self.users.first()?;
            return Some((username.clone(), source.clone()));
        }
        None
    }

    /// Ends the session `token`; whether there was one.
    pub fn end(&mut self, token: &str) -> bool {
        self.order.retain(|t| t != token);
        self.tokens.remove(token).is_some()
    }

    /// Ends every session.
    pub fn end_all(&mut self) {
        self.tokens.clear();
        self.order.clear();
    }

    /// How many sessions are open.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// A new session token for `user`, the oldest session ended beyond [`MAX_SESSIONS`].
    fn open(&mut self, user: (String, String)) -> String {
        self.next += 1;
        let token = format!(
            "mock-session-{:016x}",
            self.next.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        );
        self.tokens.insert(token.clone(), user);
        self.order.push_back(token.clone());
        while self.order.len() > MAX_SESSIONS {
            if let Some(old) = self.order.pop_front() {
                self.tokens.remove(&old);
            }
        }
        token
    }

    /// `login`: a session for a known user with the right password and source.
    pub fn login(&mut self, body: &Value) -> Result<Value, ApiError> {
        let source = body["source"].as_str().unwrap_or("LOCAL");
        let known = self.users.iter().any(|(u, p, s)| {
            *u == text(body, "username") && *p == text(body, "password") && s == source
        });
        if !known {
            return Err(ApiError::bad_request(
                "login failed: wrong username, password or source",
            ));
        }
        let token = self.open((text(body, "username").to_owned(), source.to_owned()));
        Ok(json!({"task_id": null, "data": {"token": token}}))
    }

    /// HTTP Basic credentials (`resource-changes` takes them) of a known user.
    pub fn basic_ok(&self, authorization: &str) -> bool {
        let Some(encoded) = authorization.strip_prefix("Basic ") else {
            return false;
        };
        let Some(decoded) = base64_decode(encoded) else {
            return false;
        };
        self.users
            .iter()
            .any(|(user, password, _)| decoded == format!("{user}:{password}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_bounded_and_the_oldest_ends_first() {
        let mut sessions = Sessions::default();
        sessions
            .users
            .push(("u".into(), "p".into(), "LOCAL".into()));
        let body = json!({"username": "u", "password": "p"});
        let first = sessions.login(&body).unwrap()["data"]["token"]
            .as_str()
            .unwrap()
            .to_owned();
        for _ in 0..MAX_SESSIONS {
            sessions.login(&body).unwrap();
        }
        assert_eq!(sessions.len(), MAX_SESSIONS);
        assert!(!sessions.knows(&first), "the oldest session ended");
    }
}
