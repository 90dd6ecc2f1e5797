//! The OS keyring, where there is one: the macOS Keychain, the Windows Credential Manager,
//! the Secret Service (GNOME Keyring, KWallet) elsewhere. One entry per profile, service
//! `cloudtower`. Built with the `keyring` feature (the default).

/// Whether to try the keyring: built with it, and not turned off with `CLOUDTOWER_KEYRING=off`
/// (tests, and machines whose keyring prompts where no one can answer).
pub fn enabled() -> bool {
    cfg!(feature = "keyring") && std::env::var("CLOUDTOWER_KEYRING").map_or(true, |v| v != "off")
}

#[cfg(feature = "keyring")]
mod os {
    const SERVICE: &str = "cloudtower";

    fn entry(profile: &str) -> Result<keyring::Entry, String> {
        keyring::Entry::new(SERVICE, profile).map_err(|error| error.to_string())
    }

    /// The secret stored for `profile`; `Ok(None)` when there is none.
    pub fn get(profile: &str) -> Result<Option<String>, String> {
        match entry(profile)?.get_password() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(error.to_string()),
        }
    }

    pub fn set(profile: &str, secret: &str) -> Result<(), String> {
        entry(profile)?
            .set_password(secret)
            .map_err(|error| error.to_string())
    }

    pub fn delete(profile: &str) -> Result<(), String> {
        match entry(profile)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(error) => Err(error.to_string()),
        }
    }
}

#[cfg(not(feature = "keyring"))]
mod os {
    const ABSENT: &str = "built without the keyring feature";

    pub fn get(_profile: &str) -> Result<Option<String>, String> {
        Err(ABSENT.into())
    }

    pub fn set(_profile: &str, _secret: &str) -> Result<(), String> {
        Err(ABSENT.into())
    }

    pub fn delete(_profile: &str) -> Result<(), String> {
        Err(ABSENT.into())
    }
}

pub use os::{delete, get, set};
