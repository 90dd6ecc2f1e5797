//! The environment variables cargo sets for one package when it runs that package's program
//! (`cargo run`) or its tests: the one list that `cargo xtask` and the generator's tests share
//! when they start cargo themselves.
//!
//! A cargo started with them inherits them, and a build script that watches one (ring's
//! watches `CARGO_MANIFEST_DIR`) then reruns whenever builds alternate between a shell and
//! such a program, and everything above it is built again (bench/README.md, "The rebuilds
//! between steps").

/// Whether `name` is one of the variables cargo sets for the package whose program or test it
/// runs (its manifest, name, version, binaries, test scratch directory).
pub fn set_for_own_package(name: &str) -> bool {
    const NAMES: &[&str] = &[
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_CRATE_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
    ];
    NAMES.contains(&name) || name.starts_with("CARGO_PKG_") || name.starts_with("CARGO_BIN_")
}
