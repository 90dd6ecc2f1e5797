//! Logging in with a username and password, and logging in again when the session expires.
//!
//! An API key or a token the caller already has needs no login: pass it to
//! [`ClientBuilder::api_key`](crate::ClientBuilder::api_key) or
//! [`Client::set_token`].

use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::models::{LoginInput, MfaType, UserSource};
use crate::{Authenticator, Client, Error, Nullable, Secret};

/// Username-and-password credentials for [`Client::sign_in`]. The password is kept as a
/// [`Secret`], so printing these credentials does not print it.
///
/// ```no_run
/// # async fn demo() -> Result<(), cloudtower_api::Error> {
/// use cloudtower_api::{Client, PasswordLogin};
/// use cloudtower_api::models::UserSource;
///
/// let client = Client::new("https://tower.example.com")?;
/// client
///     .sign_in(PasswordLogin::new("alice", "correct horse").source(UserSource::Ldap))
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct PasswordLogin {
    username: String,
    password: Secret,
    source: Option<UserSource>,
    auth_config_id: Option<String>,
    mfa_type: Option<MfaType>,
}

impl PasswordLogin {
    /// A local user (source `LOCAL` unless [`source`](Self::source) says otherwise).
    pub fn new(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        PasswordLogin {
            username: username.into(),
            password: password.into(),
            source: None,
            auth_config_id: None,
            mfa_type: None,
        }
    }

    /// Where the user is defined: `LOCAL`, `LDAP`, `AUTHN`, `SSO`.
    pub fn source(mut self, source: UserSource) -> Self {
        self.source = Some(source);
        self
    }

    /// The identity provider configuration to log in through, for non-local users.
    pub fn auth_config_id(mut self, id: impl Into<String>) -> Self {
        self.auth_config_id = Some(id.into());
        self
    }

    /// The second factor to use.
    pub fn mfa_type(mut self, mfa_type: MfaType) -> Self {
        self.mfa_type = Some(mfa_type);
        self
    }

    fn input(&self) -> LoginInput {
        LoginInput {
            username: self.username.clone(),
            password: self.password.expose().to_owned(),
            source: optional(&self.source),
            auth_config_id: optional(&self.auth_config_id),
            mfa_type: optional(&self.mfa_type),
        }
    }
}

fn optional<T: Clone>(value: &Option<T>) -> Nullable<T> {
    value.clone().map_or(Nullable::Absent, Nullable::Value)
}

impl Authenticator for PasswordLogin {
    fn authenticate<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, Result<Secret, Error>> {
        Box::pin(async move {
            let answer = client.login(&self.input()).await?;
            Ok(Secret::new(answer.data.token))
        })
    }
}

impl Client {
    /// Logs in, sends the token with every later call, and keeps the credentials to log in
    /// again (once, shared by concurrent calls) when a call answers 401.
    pub async fn sign_in(&self, login: PasswordLogin) -> Result<(), Error> {
        let login = Arc::new(login);
        let token = login.authenticate(&self.without_reauthentication()).await?;
        self.set_token(token);
        self.set_authenticator(login);
        Ok(())
    }
}
