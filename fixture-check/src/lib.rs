//! The code generated for the hand-written fixture spec (`spec/fixtures/constructs`), compiled
//! against cloudtower-api's own runtime files so that a snapshot of code that does not compile
//! cannot pass. Regenerate with `cargo xtask regen-fixtures`; codegen's tests fail when
//! `src/generated` is stale.

#[path = "../../cloudtower-api/src/client.rs"]
pub mod client;
#[path = "../../cloudtower-api/src/codec.rs"]
pub mod codec;
// Crate-private helpers of the runtime that only cloudtower-api's hand-written layer calls
// are unused here.
#[allow(dead_code)]
#[path = "../../cloudtower-api/src/error.rs"]
pub mod error;
#[path = "../../cloudtower-api/src/pagination.rs"]
pub mod pagination;
#[path = "../../cloudtower-api/src/union.rs"]
pub mod union;

/// The fixture's generated types and operations.
// Generated code is formatted by the generator (prettyplease), not rustfmt.
#[rustfmt::skip]
#[path = "generated/mod.rs"]
pub mod models;

pub use client::{Client, FilePart};
pub use codec::{Nullable, Related, WithTask};
pub use error::Error;

/// One API operation, as listed in [`models::OPERATIONS`] (the same as cloudtower-api's).
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
