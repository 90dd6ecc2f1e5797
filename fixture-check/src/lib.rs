//! The code generated for the hand-written fixture spec (`spec/fixtures/constructs`), compiled
//! against the runtime crate like cloudtower-api's, so that a snapshot of code that does not
//! compile cannot pass. Regenerate with `cargo xtask regen-fixtures`; codegen's tests fail when
//! `src/generated` is stale.

pub use cloudtower_runtime::{
    codec, union, Error, FilePart, Nullable, OperationInfo, Related, WithTask,
};

/// The fixture's generated types and operations.
// Generated code is formatted by the generator (prettyplease), not rustfmt.
#[rustfmt::skip]
#[path = "generated/mod.rs"]
pub mod models;

pub use models::Client;
