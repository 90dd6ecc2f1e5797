//! The command line's integration tests, one binary (Cargo.toml: `autotests = false`;
//! `cargo xtask test` checks that every file here is a module of it).

mod common;
mod explain;
mod mcp;
mod requests;
mod resources;
mod sessions;
mod table;
