//! Typed async client for the SmartX CloudTower API.

pub mod client;
pub mod codec;
pub mod error;

pub use client::{Authenticator, Client, ClientBuilder, FilePart, Language, RetryPolicy, Secret};
pub use codec::{Nullable, WithTask};
pub use error::{Error, ErrorBody, RawBody, TaskFailure, TaskFailureKind};
