//! The runtime's integration tests, one binary (Cargo.toml: `autotests = false`;
//! `cargo xtask test` checks that every file here is a module of it): the client against real
//! HTTP servers on 127.0.0.1 (and the call pipeline against a fake service, `pipeline.rs`), with no generated code (requests are built as the generated
//! methods build them, logins through a test implementation of the contract).

mod common;
mod pipeline;
mod production_towers;
mod redaction;
mod tls;
mod transport;
