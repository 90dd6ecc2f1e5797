//! Connecting: the endpoint and credentials from flags, `CLOUDTOWER_*` variables and the
//! profile, in that order; `cloudtower login` and `logout`.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cloudtower_api::contract::LoginRequest;
use cloudtower_api::models::LoginInput;
use cloudtower_api::{Authenticator, Client, PasswordLogin, Secret};
use futures_util::future::BoxFuture;

use crate::config::{Credentials, Profile, Store};
use crate::failure::{Failure, Result};

/// The connection options every command takes.
#[derive(Clone)]
pub struct Global {
    pub profile: String,
    pub endpoints: Vec<String>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub api_key: Option<Secret>,
    pub source: Option<String>,
    pub ca_cert: Option<PathBuf>,
    pub insecure: bool,
    pub timeout: Option<Duration>,
    /// Header parameters given as flags or variables (`--external-cloudtower-id`), sent with
    /// every call of an operation that takes them.
    pub header_parameters: Vec<(&'static str, String)>,
}

/// A client for the profile's tower, with the endpoints and TLS options of flags and profile.
fn build_client(global: &Global, profile: &Profile) -> Result<Client> {
    let endpoints = if global.endpoints.is_empty() {
        &profile.endpoints
    } else {
        &global.endpoints
    };
    let Some((first, others)) = endpoints.split_first() else {
        return Err(Failure::Usage(format!(
            "no endpoint for profile `{}`: pass --endpoint, set CLOUDTOWER_ENDPOINT, or run \
             `cloudtower login --endpoint URL`",
            global.profile
        )));
    };
    let mut builder = others
        .iter()
        .fold(Client::builder(first.clone()), |builder, other| {
            builder.endpoint(other.clone())
        })
        .user_agent(concat!("cloudtower-cli/", env!("CARGO_PKG_VERSION")))
        .danger_accept_invalid_certs(global.insecure || profile.insecure);
    if let Some(timeout) = global.timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(path) = global.ca_cert.as_ref().or(profile.ca_cert.as_ref()) {
        let pem = std::fs::read(path)
            .map_err(|error| Failure::Usage(format!("--ca-cert {}: {error}", path.display())))?;
        builder = builder.root_certificate_pem(pem);
    }
    let client: Client = builder.build()?;
    Ok(global
        .header_parameters
        .iter()
        .fold(client, |client, (name, value)| {
            client.with_header_parameter(name, value.clone())
        }))
}

fn password_login(username: &str, password: Secret, source: Option<&str>) -> PasswordLogin {
    let login = PasswordLogin::new(username, password);
    match source {
        Some(source) => login.source(source),
        None => login,
    }
}

/// Logs in through `client` and returns the session token (the spec's login body, built by
/// the generated `LoginRequest`).
async fn login_token(
    client: &cloudtower_api::client::Client,
    login: &PasswordLogin,
) -> std::result::Result<Secret, cloudtower_api::Error> {
    let answer = client.execute(LoginInput::request(login)?).await?;
    LoginInput::token(answer)
}

/// A login the tower answered with 400–403 refused the credentials.
fn login_failure(error: cloudtower_api::Error) -> Failure {
    match error.status() {
        Some(400..=403) => Failure::Auth(format!("login refused: {error}")),
        _ => Failure::from(error),
    }
}

/// Logs in again when the stored session expires, and stores the new token.
struct StoredLogin {
    login: PasswordLogin,
    store: Store,
    profile: String,
    credentials: Credentials,
}

impl Authenticator for StoredLogin {
    fn authenticate<'a>(
        &'a self,
        client: &'a cloudtower_api::client::Client,
    ) -> BoxFuture<'a, std::result::Result<Secret, cloudtower_api::Error>> {
        Box::pin(async move {
            let token = login_token(client, &self.login).await?;
            let credentials = Credentials {
                token: Some(token.expose().to_owned()),
                ..self.credentials.clone()
            };
            if let Err(error) = self
                .store
                .save_credentials(&self.profile, Some(credentials))
            {
                eprintln!("warning: logged in again but could not store the session: {error}");
            }
            Ok(token)
        })
    }
}

/// A client signed in with what the flags, the environment and the profile give:
/// an API key, else a username and password, else the stored session.
pub async fn connect(global: &Global) -> Result<Client> {
    let store = Store::locate()?;
    let config = store.config()?;
    let profile = config.profile(&global.profile);
    let client = build_client(global, &profile)?;
    if let Some(key) = &global.api_key {
        client.set_token(key.clone());
        return Ok(client);
    }
    let stored = store.credentials(&global.profile)?;
    let username = global.username.clone().or(profile.username.clone());
    let source = global.source.clone().or(profile.source.clone());
    if let (Some(username), Some(password)) = (&username, &global.password) {
        let login = password_login(username, password.clone(), source.as_deref());
        client.sign_in(login).await.map_err(login_failure)?;
        return Ok(client);
    }
    if let Some(key) = &stored.api_key {
        client.set_token(Secret::new(key.clone()));
        return Ok(client);
    }
    let Some(token) = stored.token() else {
        return Err(Failure::Auth(format!(
            "not signed in (profile `{}`): run `cloudtower login`, or pass --api-key or \
             --username and --password (CLOUDTOWER_API_KEY, CLOUDTOWER_USERNAME, \
             CLOUDTOWER_PASSWORD)",
            global.profile
        )));
    };
    client.set_token(token);
    if let (Some(username), Some(password)) = (&username, &stored.password) {
        client.set_authenticator(Arc::new(StoredLogin {
            login: password_login(username, Secret::new(password.clone()), source.as_deref()),
            store,
            profile: global.profile.clone(),
            credentials: stored.clone(),
        }));
    }
    Ok(client)
}

/// What a 401 means for a command that used the stored session.
pub fn session_refused(global: &Global, error: cloudtower_api::Error) -> Failure {
    if error.is_unauthorized() && global.api_key.is_none() && global.password.is_none() {
        Failure::Auth(format!(
            "the tower refused the session stored for profile `{}` (expired or revoked): run \
             `cloudtower login` again ({error})",
            global.profile
        ))
    } else {
        Failure::from(error)
    }
}

/// How `login` gets the password when `--password` is not given.
pub enum PasswordSource {
    /// The first line of stdin (`--password-stdin`).
    Stdin,
    /// Asked for on the terminal.
    Prompt,
}

/// `cloudtower login`: checks the credentials and stores the profile and its session (the
/// password too with `save_password`, to log in again when the session expires).
pub async fn login(
    global: &Global,
    password_source: PasswordSource,
    save_password: bool,
) -> Result<String> {
    let store = Store::locate()?;
    let mut config = store.config()?;
    let mut profile = config.profile(&global.profile);
    if !global.endpoints.is_empty() {
        profile.endpoints = global.endpoints.clone();
    }
    if global.ca_cert.is_some() {
        profile.ca_cert = global.ca_cert.clone();
    }
    profile.insecure = global.insecure;
    if global.source.is_some() {
        profile.source = global.source.clone();
    }
    let client = build_client(global, &profile)?;
    let (credentials, who) = if let Some(key) = &global.api_key {
        client.set_token(key.clone());
        verify(&client).await?;
        profile.username = None;
        let credentials = Credentials {
            api_key: Some(key.expose().to_owned()),
            ..Default::default()
        };
        (credentials, "an API key".to_owned())
    } else {
        let username = match global.username.clone().or(profile.username.clone()) {
            Some(username) => username,
            None => prompt("Username: ", false)?,
        };
        let password = match &global.password {
            Some(password) => password.clone(),
            None => match password_source {
                PasswordSource::Stdin => Secret::new(read_stdin_line()?),
                PasswordSource::Prompt => {
                    Secret::new(prompt(&format!("Password for {username}: "), true)?)
                }
            },
        };
        let login = password_login(&username, password.clone(), profile.source.as_deref());
        let token = login_token(&client, &login).await.map_err(login_failure)?;
        client.set_token(token.clone());
        profile.username = Some(username.clone());
        let credentials = Credentials {
            token: Some(token.expose().to_owned()),
            password: save_password.then(|| password.expose().to_owned()),
            ..Default::default()
        };
        (credentials, username)
    };
    let version = client
        .fetch_server_version()
        .await
        .ok()
        .flatten()
        .map(|v| v.as_str().to_owned());
    config
        .profiles
        .insert(global.profile.clone(), profile.clone());
    store.save_config(&config)?;
    store.save_credentials(&global.profile, Some(credentials))?;
    Ok(format!(
        "signed in to {} as {who} (profile `{}`{})",
        profile.endpoints.join(", "),
        global.profile,
        version.map_or_else(String::new, |v| format!(", CloudTower {v}"))
    ))
}

/// Makes one authenticated read, so that `login` never stores a key the tower refuses.
async fn verify(client: &Client) -> Result<()> {
    let api = crate::schema::api();
    let Some(count) = api
        .resources
        .iter()
        .find_map(|resource| resource.connection.as_deref())
    else {
        return Ok(());
    };
    let request = crate::schema::operation_info(count).json(&serde_json::json!({}));
    match client.execute(request).await {
        Ok(_) => Ok(()),
        Err(error) if error.is_unauthorized() => Err(Failure::Auth(format!(
            "the tower refused the API key: {error}"
        ))),
        Err(error) => Err(Failure::from(error)),
    }
}

/// `cloudtower profiles`: each profile's endpoints and user, and whether it holds a session.
pub fn profiles() -> Result<serde_json::Value> {
    let store = Store::locate()?;
    let config = store.config()?;
    let mut rows = Vec::new();
    for (name, profile) in &config.profiles {
        let credentials = store.credentials(name)?;
        let session = if credentials.api_key.is_some() {
            "api key"
        } else if credentials.token.is_some() {
            "token"
        } else {
            "none"
        };
        rows.push(serde_json::json!({
            "name": name,
            "endpoints": profile.endpoints,
            "username": profile.username,
            "session": session,
        }));
    }
    Ok(serde_json::Value::Array(rows))
}

/// `cloudtower logout`: forgets the profile's session (its endpoints stay).
pub fn logout(global: &Global) -> Result<String> {
    Store::locate()?.save_credentials(&global.profile, None)?;
    Ok(format!("signed out (profile `{}`)", global.profile))
}

fn prompt(question: &str, secret: bool) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::Usage(format!(
            "{} not given and stdin is not a terminal: pass --username and --password \
             (or --password-stdin)",
            question.trim_end_matches([':', ' '])
        )));
    }
    let answer = if secret {
        rpassword::prompt_password(question)
    } else {
        eprint!("{question}");
        read_stdin_line_io()
    };
    answer.map_err(|error| Failure::Other(format!("reading the answer: {error}")))
}

fn read_stdin_line() -> Result<String> {
    read_stdin_line_io().map_err(|error| Failure::Usage(format!("reading stdin: {error}")))
}

fn read_stdin_line_io() -> std::io::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// A client for the profile's tower that sends no credentials (`get-version`, `login`).
pub fn anonymous_client(global: &Global) -> Result<Client> {
    let config = Store::locate()?.config()?;
    let profile = config.profile(&global.profile);
    build_client(global, &profile)
}
