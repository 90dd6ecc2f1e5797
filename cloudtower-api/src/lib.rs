//! Typed async client for the SmartX CloudTower API.

pub mod auth;
pub mod client;
pub mod codec;
pub mod error;
pub mod pagination;
pub mod tasks;
pub mod union;
#[cfg(all(feature = "elf-image", feature = "upload-task"))]
pub mod upload;
#[cfg(feature = "vm")]
pub mod vnc;
#[cfg(feature = "resource-change")]
pub mod watch;

/// Every request and response type of the API, generated from the spec.
// Generated code is formatted by the generator (prettyplease), not rustfmt.
#[rustfmt::skip]
#[path = "generated/mod.rs"]
pub mod models;

pub use auth::PasswordLogin;
pub use client::{Authenticator, Client, ClientBuilder, FilePart, Language, RetryPolicy, Secret};
pub use codec::{Nullable, Related, WithTask};
pub use error::{Error, ErrorBody, RawBody, TaskFailure, TaskFailureKind};
pub use pagination::{CountRequest, ListRequest, Paginator, RereadById};
pub use tasks::{OnPaused, WaitForTasks, WaitOptions};
pub use union::UnionJson;

/// One API operation, as listed in [`models::OPERATIONS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperationInfo {
    /// The spec's `operationId` (`GetVms`).
    pub operation_id: &'static str,
    /// The path under `/v2/api/` (`get-vms`).
    pub path: &'static str,
    /// The [`Client`] method (`get_vms`).
    pub method: &'static str,
    /// The spec module (tag) it belongs to, in snake_case (`vm`).
    pub module: &'static str,
}

// The README's code is compiled as a doctest, so that it stays true.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
