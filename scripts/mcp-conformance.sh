#!/usr/bin/env bash
# The official MCP conformance suite (@modelcontextprotocol/conformance, pinned below) against
# `cloudtower mcp --http` on 127.0.0.1, signed in to the mock tower; both started and stopped
# here. Every server scenario runs; those that do not apply are listed, with why, in
# cloudtower-cli/tests/mcp-conformance-baseline.yml, and the suite fails on any other failure
# (and on a listed scenario that passes).
#
# 0.1.13 is the newest release that runs on Node.js 20 (0.1.14 and later import fs.globSync,
# Node.js 22). Needs node and npm; installs the suite into target/mcp-conformance.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.1.13
target="${CARGO_TARGET_DIR:-target}"
suite_dir=target/mcp-conformance
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

npm install --no-save --no-audit --no-fund --prefix "$suite_dir" \
    "@modelcontextprotocol/conformance@$version" >/dev/null
# The binaries the tests ran (the build of `cargo xtask test`, xtask/src/conformance.rs BUILD): in
# CI nothing is built again; a build of only these two packages would unify other features and
# compile them a second time.
cargo build -q --workspace --all-features --bins --tests

# Waits for `pattern` in `file` and prints what follows it on that line.
first_match() {
    local file=$1 pattern=$2 found=
    for _ in $(seq 1 200); do
        found=$(sed -n "s|^.*$pattern||p" "$file" | head -n 1)
        [ -n "$found" ] && { echo "$found"; return; }
        sleep 0.05
    done
    echo "mcp-conformance: gave up waiting for '$pattern' in: $(cat "$file")" >&2
    exit 2
}

"$target/debug/cloudtower-mock" --listen 127.0.0.1:0 >"$work/mock.log" 2>&1 &
pids+=($!)
tower=$(first_match "$work/mock.log" "cloudtower-mock listening on ")

export CLOUDTOWER_CONFIG_DIR="$work" CLOUDTOWER_KEYRING=off NO_COLOR=1
"$target/debug/cloudtower" login --endpoint "$tower" --username root --password mock-password \
    2>/dev/null
"$target/debug/cloudtower" mcp --http 127.0.0.1:0 2>"$work/mcp.log" &
pids+=($!)
server=$(first_match "$work/mcp.log" "serving http://" | cut -d' ' -f1)

"$suite_dir/node_modules/.bin/conformance" server --url "http://$server" --suite all \
    --expected-failures cloudtower-cli/tests/mcp-conformance-baseline.yml \
    --output-dir "$work/results"
