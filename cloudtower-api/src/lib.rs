//! Typed async client for the SmartX CloudTower API.
//!
//! The generated code (`models`: every request and response type, and one [`Client`] method
//! per operation) sits on [`cloudtower_runtime`], the version-agnostic runtime, whose items
//! are re-exported here. The runtime's crate docs describe the contract between the two.

pub use cloudtower_runtime::union::UnionJson;
#[doc(no_inline)]
pub use cloudtower_runtime::{
    auth, client, codec, contract, error, pagination, tasks, union, ApiRequest, ApiResponse,
    Authenticator, ClientBuilder, CountRequest, Error, ErrorBody, FilePart, Language, ListRequest,
    Nullable, OnPaused, OperationInfo, Paginator, PasswordLogin, RawBody, Related, RereadById,
    RetryPolicy, Secret, TaskFailure, TaskFailureKind, WaitForTasks, WaitOptions, WithTask,
};
#[cfg(feature = "serde")]
#[doc(no_inline)]
pub use cloudtower_runtime::{from_value, serde_bridge, to_value};

/// Every request and response type of the API, generated from the spec.
// Generated code is formatted by the generator (prettyplease), not rustfmt.
#[rustfmt::skip]
#[path = "generated/mod.rs"]
pub mod models;

pub use models::Client;

// Helpers built on operations a spec may lack: compiled only when the spec has them.
models::cfg_upload! {
    pub mod upload;
}
models::cfg_vnc! {
    pub mod vnc;
}
models::cfg_watch! {
    pub mod watch;
}

// The README's code is compiled as a doctest, so that it stays true.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
