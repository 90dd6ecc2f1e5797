//! Profiles: `config.toml` for endpoints and options, and the sessions (tokens, API keys,
//! and passwords when asked to keep them) in the OS keyring where there is one, else in
//! `credentials.toml`, which only its owner can read.
//!
//! The directory is `$CLOUDTOWER_CONFIG_DIR`, else `$XDG_CONFIG_HOME/cloudtower`, else
//! `~/.config/cloudtower`. Files are written whole (a temporary file renamed over the old
//! one), so an interrupted write never leaves half a file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use cloudtower_api::Secret;
use serde::{Deserialize, Serialize};

use crate::failure::{Failure, Result};

/// `config.toml`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

impl Config {
    /// The profile `name` (empty when there is none yet: nothing stored).
    pub fn profile(&self, name: &str) -> Profile {
        self.profiles.get(name).cloned().unwrap_or_default()
    }
}

/// A profile: one tower (or active/passive pair) and how to reach it. Holds no secret.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
pub struct Profile {
    /// The endpoints of the tower: one, or the two of an active/passive pair.
    #[serde(default)]
    pub endpoints: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Where the user is defined (`LOCAL`, `LDAP`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// A PEM file of certificates to trust besides the built-in roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
    /// Accept any certificate: set only by `cloudtower login --insecure`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
}

/// The secrets of one profile.
#[derive(Default, Clone, Serialize, Deserialize, PartialEq)]
pub struct Credentials {
    /// The session token from `login`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// An API key, sent instead of a token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// The password, kept only with `login --save-password`, to log in again when the
    /// session expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |secret: &Option<String>| secret.as_ref().map(|_| "<redacted>");
        f.debug_struct("Credentials")
            .field("token", &shown(&self.token))
            .field("api_key", &shown(&self.api_key))
            .field("password", &shown(&self.password))
            .finish()
    }
}

impl Credentials {
    pub fn token(&self) -> Option<Secret> {
        self.token.clone().map(Secret::new)
    }
}

/// The configuration directory and its two files, and the keyring.
#[derive(Clone, Debug)]
pub struct Store {
    dir: PathBuf,
    keyring: bool,
}

impl Store {
    pub fn locate() -> Result<Store> {
        let dir = if let Some(dir) = std::env::var_os("CLOUDTOWER_CONFIG_DIR") {
            PathBuf::from(dir)
        } else if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
            PathBuf::from(dir).join("cloudtower")
        } else if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
            PathBuf::from(home).join(".config").join("cloudtower")
        } else {
            return Err(Failure::Other(
                "no configuration directory: set CLOUDTOWER_CONFIG_DIR or HOME".into(),
            ));
        };
        Ok(Store {
            dir,
            keyring: crate::keyring::enabled(),
        })
    }

    fn config_path(&self) -> PathBuf {
        self.dir.join("config.toml")
    }

    fn credentials_path(&self) -> PathBuf {
        self.dir.join("credentials.toml")
    }

    pub fn config(&self) -> Result<Config> {
        read_toml(&self.config_path())
    }

    pub fn save_config(&self, config: &Config) -> Result<()> {
        write_toml(&self.dir, &self.config_path(), config, false)
    }

    /// The secrets of `profile`: from the file when it holds them (no keyring was usable when
    /// they were stored), else from the keyring.
    pub fn credentials(&self, profile: &str) -> Result<Credentials> {
        let all: BTreeMap<String, Credentials> = read_toml(&self.credentials_path())?;
        if let Some(credentials) = all.get(profile) {
            return Ok(credentials.clone());
        }
        if !self.keyring {
            return Ok(Credentials::default());
        }
        match crate::keyring::get(profile) {
            Ok(Some(text)) => toml::from_str(&text).map_err(|error| {
                Failure::Other(format!("the keyring entry of profile `{profile}`: {error}"))
            }),
            // No keyring here, or nothing in it: not signed in.
            Ok(None) | Err(_) => Ok(Credentials::default()),
        }
    }

    /// Replaces the secrets of `profile` (`None`: forgets them). They go to the keyring when
    /// one takes them, else to the file.
    pub fn save_credentials(&self, profile: &str, credentials: Option<Credentials>) -> Result<()> {
        let path = self.credentials_path();
        let mut all: BTreeMap<String, Credentials> = read_toml(&path)?;
        let in_file = all.contains_key(profile);
        match credentials {
            Some(credentials) => {
                let text = toml::to_string(&credentials)
                    .map_err(|error| Failure::Other(format!("encoding the session: {error}")))?;
                if self.keyring && crate::keyring::set(profile, &text).is_ok() {
                    if !in_file {
                        return Ok(());
                    }
                    all.remove(profile);
                } else {
                    all.insert(profile.to_owned(), credentials);
                }
            }
            None => {
                if self.keyring {
                    // Nothing to forget where there is no keyring.
                    let _ = crate::keyring::delete(profile);
                }
                if !in_file {
                    return Ok(());
                }
                all.remove(profile);
            }
        }
        write_toml(&self.dir, &path, &all, true)
    }
}

fn read_toml<T: for<'de> Deserialize<'de> + Default>(path: &Path) -> Result<T> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text)
            .map_err(|error| Failure::Other(format!("{}: {error}", path.display()))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(error) => Err(Failure::Other(format!(
            "reading {}: {error}",
            path.display()
        ))),
    }
}

/// Writes `value` to `path` through a temporary file in the same directory. `secret`: the
/// file is readable and writable by its owner only (from its creation on, so the secrets
/// are never readable by others, not even for a moment).
fn write_toml<T: Serialize>(dir: &Path, path: &Path, value: &T, secret: bool) -> Result<()> {
    let failed = |what: &str, error: &dyn fmt::Display| {
        Failure::Other(format!("{what} {}: {error}", path.display()))
    };
    let text = toml::to_string(value).map_err(|error| failed("encoding", &error))?;
    std::fs::create_dir_all(dir).map_err(|error| failed("creating the directory of", &error))?;
    let temporary = path.with_extension("toml.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    let _ = secret;
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        // A temporary file left by an earlier, interrupted run may have other permissions.
        let _ = std::fs::remove_file(&temporary);
        let mut file = options.open(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    };
    write().map_err(|error| failed("writing", &error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_print_their_secrets() {
        let credentials = Credentials {
            token: Some("tok-123".into()),
            api_key: None,
            password: Some("hunter2".into()),
        };
        let printed = format!("{credentials:?}");
        assert!(
            !printed.contains("tok-123") && !printed.contains("hunter2"),
            "{printed}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_credentials_file_is_for_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = Store {
            dir: dir.path().join("nested"),
            keyring: false,
        };
        let credentials = Credentials {
            token: Some("tok".into()),
            ..Default::default()
        };
        store
            .save_credentials("lab", Some(credentials.clone()))
            .unwrap();
        let mode = std::fs::metadata(store.credentials_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(store.credentials("lab").unwrap(), credentials);
        assert_eq!(store.credentials("other").unwrap(), Credentials::default());
        store.save_credentials("lab", None).unwrap();
        assert_eq!(store.credentials("lab").unwrap(), Credentials::default());
    }
}
