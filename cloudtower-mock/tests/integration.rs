//! cloudtower-mock's integration tests, one binary (Cargo.toml: `autotests = false`;
//! `cargo xtask test` checks that every file here is a module of it).

mod common;
mod coverage;
mod effects;
mod example;
mod filters;
mod generic;
mod hardening;
mod mutations;
mod pair;
mod python_sdk;
mod round_trip;
mod store;
mod tower;
mod twin;
