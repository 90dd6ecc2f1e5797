//! Logging in with a username and password, and logging in again when the session expires.
//!
//! An API key or a token the caller already has needs no login: pass it to
//! [`ClientBuilder::api_key`](crate::ClientBuilder::api_key) or
//! [`Client::set_token`].

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::contract::LoginRequest;
use crate::{Authenticator, Client, Error, Secret};

/// Username-and-password credentials for `Client::sign_in`. The password is kept as a
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
    // Wire values; the generated `LoginRequest` puts them in the fields its spec has.
    source: Option<String>,
    auth_config_id: Option<String>,
    mfa_type: Option<String>,
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

    /// Where the user is defined: `LOCAL`, `LDAP`, `AUTHN`, `SSO` (the generated `UserSource`
    /// enum, or its wire value).
    pub fn source(mut self, source: impl fmt::Display) -> Self {
        self.source = Some(source.to_string());
        self
    }

    /// The identity provider configuration to log in through, for non-local users.
    pub fn auth_config_id(mut self, id: impl Into<String>) -> Self {
        self.auth_config_id = Some(id.into());
        self
    }

    /// The second factor to use (the generated `MfaType` enum, or its wire value).
    pub fn mfa_type(mut self, mfa_type: impl fmt::Display) -> Self {
        self.mfa_type = Some(mfa_type.to_string());
        self
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    pub fn password(&self) -> &Secret {
        &self.password
    }

    /// The wire value of the user source, when one was given.
    pub fn source_value(&self) -> Option<&str> {
        self.source.as_deref()
    }

    pub fn auth_config_id_value(&self) -> Option<&str> {
        self.auth_config_id.as_deref()
    }

    /// The wire value of the second factor, when one was given.
    pub fn mfa_type_value(&self) -> Option<&str> {
        self.mfa_type.as_deref()
    }

    /// The error for an option this spec version's login has no field for.
    pub fn unsupported(reason: &'static str) -> Error {
        Error::unsupported("login", reason)
    }
}

/// Logs in with [`PasswordLogin`] through the API's [`LoginRequest`].
struct LoginWith<L> {
    login: PasswordLogin,
    request: PhantomData<fn() -> L>,
}

impl<L: LoginRequest + 'static> Authenticator for LoginWith<L> {
    fn authenticate<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, Result<Secret, Error>> {
        Box::pin(async move {
            let answer = client.execute(L::request(&self.login)?).await?;
            let token = L::token(answer)?;
            // Lenient decoding gives a missing token as "": sent, it would make every later
            // call unauthenticated instead of failing this login.
            if token.expose().trim().is_empty() {
                return Err(Error::protocol("login", "the login answer holds no token"));
            }
            Ok(token)
        })
    }
}

impl Client {
    /// Logs in through the API's login body `L`, sends the token with every later call, and
    /// keeps the credentials to log in again (once, shared by concurrent calls) when a call
    /// answers 401. Then asks the tower's version
    /// ([`server_version`](Client::server_version)). The generated client's `sign_in` calls
    /// this with its spec's login body.
    pub async fn sign_in_with<L: LoginRequest + 'static>(
        &self,
        login: PasswordLogin,
    ) -> Result<(), Error> {
        let login = Arc::new(LoginWith::<L> {
            login,
            request: PhantomData,
        });
        let token = login.authenticate(&self.without_reauthentication()).await?;
        self.set_session(token, login);
        self.learn_server_version().await;
        Ok(())
    }
}
