#!/usr/bin/env bash
# Peer benchmark (issue 13): decode one `get-vms` answer with our codec, with the serde-derived
# types progenitor generates for the same schemas, and with serde_json::Value.
#
#   bench/progenitor/run.sh [SPEC.json]      (default /work/shared/specs/cloudtower-4.6.0.json)
#
# Generates everything into bench/progenitor/scratch/ (git-ignored): the spec reduced to
# /get-vms and the schemas it reaches, progenitor's crate for it, and a bench crate around
# main.rs. Needs python3 and cargo-progenitor (installed from crates.io when missing).
# ROUNDS=N sets the number of interleaved rounds (default 15). Builds in
# $CARGO_TARGET_DIR/bench-progenitor (default target/bench-progenitor).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
spec="${1:-/work/shared/specs/cloudtower-4.6.0.json}"
progenitor_version="0.15.1"
scratch="$here/scratch"
target="${CARGO_TARGET_DIR:-$repo/target}/bench-progenitor"

if ! cargo install --list | grep -q "^cargo-progenitor v$progenitor_version:"; then
    echo "installing cargo-progenitor $progenitor_version" >&2
    cargo install cargo-progenitor --version "$progenitor_version" --locked
fi

rm -rf "$scratch"
mkdir -p "$scratch"
python3 "$here/reduce_spec.py" "$spec" /get-vms "$scratch/get-vms.json"
cargo progenitor -i "$scratch/get-vms.json" -o "$scratch/progenitor-vms" \
    -n progenitor-vms -v 0.1.0 >&2
# A crate of its own, not a member of the repository's workspace.
printf '\n[workspace]\n' >> "$scratch/progenitor-vms/Cargo.toml"

mkdir -p "$scratch/bench"
cat > "$scratch/bench/Cargo.toml" <<TOML
[package]
name = "peer-bench"
version = "0.0.0"
edition = "2021"
publish = false

[[bin]]
name = "peer-bench"
path = "$here/main.rs"

[dependencies]
cloudtower-api = { path = "$repo/cloudtower-api", default-features = false, features = ["vm"] }
progenitor-vms = { path = "../progenitor-vms" }
serde_json = "1"

[profile.release]
debug = "line-tables-only"

[workspace]
TOML
cp "$repo/Cargo.lock" "$scratch/bench/Cargo.lock"

cargo run --release --manifest-path "$scratch/bench/Cargo.toml" --target-dir "$target"
