//! cloudtower-api's integration tests, one binary (Cargo.toml: `autotests = false`;
//! `cargo xtask test` checks that every file here is a module of it or its own binary): the
//! generated client, codec and helpers against servers on 127.0.0.1 and the mock tower. The
//! transport's own tests, which need no generated type, are cloudtower-runtime's.

// The test towers, shared with cloudtower-runtime's tests.
#[path = "../../cloudtower-runtime/tests/common/mod.rs"]
mod common;

mod auth;
mod client_options;
mod codec_limits;
mod dynamic;
mod dynamic_type;
mod fast_mock;
mod hardening;
mod helpers;
mod hostile;
mod mock_faults;
mod mock_helpers;
mod models;
mod pagination;
mod resolve;
mod response_fuzz;
// Not `mod serde`, which would shadow the serde crate in this binary.
#[path = "serde.rs"]
mod serde_formats;
mod tasks;
