#![doc = include_str!("crate-doc.md")]
// docs.rs (`--cfg docsrs`, nightly) labels every feature-gated item with its features.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use cloudtower_runtime::union::UnionJson;
// Not `ErrorBody`: the spec has its own (`models::ErrorBody`, strict); the one errors carry,
// lenient across versions, stays at `error::ErrorBody` so that glob imports never clash.
#[doc(no_inline)]
pub use cloudtower_runtime::{
    auth, client, codec, contract, error, find_operation, idle, pagination, resolve, tasks, union,
    ApiRequest, ApiResponse, AsyncStatus, Authenticator, CallFuture, ClientBuilder, CountRequest,
    EndpointAnswer, EndpointHealth, Error, FailoverStrategy, FilePart, HeaderInfo, HttpMethod,
    Language, ListRequest, LockedResource, LockedRetry, Nullable, OnPaused, OperationInfo,
    Paginator, PasswordLogin, RawBody, Related, RereadById, Resolve, ResolveKey, RetryPolicy,
    Secret, ServerVersion, Since, TaskFailure, TaskFailureKind, TransportError, WaitForTasks,
    WaitOptions, WaitProgress, WithTask,
};
#[cfg(feature = "serde")]
#[doc(no_inline)]
pub use cloudtower_runtime::{from_value, serde_bridge, to_value};

/// Every request and response type of the API, generated from the spec: each under its own
/// name here, and grouped by spec module (tag) in the modules below, which also list their
/// operations (the methods of [`Client`]).
// Generated code is formatted by the generator (prettyplease), not rustfmt.
#[rustfmt::skip]
#[path = "generated/mod.rs"]
pub mod models;

pub use models::Client;

/// The API's shape as data, generated with the code from the same spec: every type with its
/// wire fields, every operation with its request, response and kind, every resource with its
/// filter, order and relations. Read it with `cloudtower_schema::ApiSchema::parse`; the mock
/// tower and the command line are driven by it.
#[cfg(feature = "schema")]
pub const SCHEMA_JSON: &str = include_str!("generated/schema.json");

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
