//! Nothing to build: this crate holds cloudtower-api's integration tests (`tests/`) and
//! benchmarks (`benches/`) that need heavy dev-dependencies (the generator, criterion, TLS,
//! tower), so that `cargo run -p cloudtower-api --example …` compiles none of them.
//!
//! `cargo test -p cloudtower-api-tests`, `cargo bench -p cloudtower-api-tests` (bench/README.md).
