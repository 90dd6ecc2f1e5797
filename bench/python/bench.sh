#!/usr/bin/env bash
# Rust typed decode vs the official Python SDK (cloudtower-sdk from PyPI) on the same bytes:
# a `get-vms` answer of 10,000 VMs, written by the Rust decode bench, deserialized by the
# Python SDK's `ApiClient.deserialize(response, "list[Vm]")` into its `Vm` models. Prints
# both times and the ratio (goal: Rust at least 50x faster).
#
# Usage: bench/python/bench.sh [--reuse]
#   --reuse   use the payload and Rust figures of an earlier `cargo bench --bench decode` run
#             (as scripts/bench-all.sh does) instead of running it again.
# Environment: CLOUDTOWER_SDK_VERSION (default 2.23.0), BENCH_VENV (default
# $CARGO_TARGET_DIR/bench-python-venv), PYTHON (default python3), PY_RUNS (default 3).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
results=${CLOUDTOWER_BENCH_RESULTS:-$target/bench-results}
venv=${BENCH_VENV:-$target/bench-python-venv}
sdk_version=${CLOUDTOWER_SDK_VERSION:-2.23.0}
payload=$results/get-vms-10000.json
reuse=0
case "${1:-}" in
    --reuse) reuse=1 ;;
    "") ;;
    *) echo "usage: $0 [--reuse]" >&2; exit 2 ;;
esac
mkdir -p "$results"

if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import cloudtower, sys; sys.exit(cloudtower.__version__ != '$sdk_version')" 2>/dev/null; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check "cloudtower-sdk==$sdk_version"
fi

if [ "$reuse" = 0 ] || [ ! -s "$payload" ] || [ ! -s "$results/decode.json" ]; then
    CLOUDTOWER_BENCH_PAYLOAD_OUT="$payload" CLOUDTOWER_BENCH_RESULTS="$results" \
        cargo bench -p cloudtower-api-tests --bench decode
fi

"$venv/bin/python" bench/python/bench.py \
    --payload "$payload" --rust "$results/decode.json" --out "$results/python.json" \
    --runs "${PY_RUNS:-3}"
