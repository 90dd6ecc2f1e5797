#!/usr/bin/env bash
# The `cloudtower` command line's costs (issue 20, bench/README.md): the release build from
# clean on this machine, the binary's size, and its start-up in a shell loop: `--version`, and
# a `vm list` against the mock program on 127.0.0.1 (started and stopped here).
#
# Usage: scripts/bench-cli.sh [--keep]   (--keep: reuse the target dir, skip the clean build)
#
# Uses its own target dirs (target/bench-cli, target/bench-cli-no-keyring; git-ignored). Times with hyperfine when it is
# installed (Debian package hyperfine), else with a loop of 50 runs.
set -euo pipefail
cd "$(dirname "$0")/.."

keep=0
[ "${1:-}" = "--keep" ] && keep=1
target=target/bench-cli
export CARGO_TARGET_DIR="$target" CARGO_INCREMENTAL=0
config_dir=$(mktemp -d)
mock_pid=
cleanup() {
    [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null || true
    rm -rf "$config_dir"
}
trap cleanup EXIT

cargo fetch -q
# Each build from clean in its own target dir: the keyring feature changes which features of
# shared dependencies are on, so building one after the other would rebuild, not add.
timed_clean_build() {
    local dir=$1
    shift
    rm -rf "$dir"
    local start end
    start=$(date +%s.%N)
    CARGO_TARGET_DIR="$dir" cargo build -q --release -p cloudtower-cli "$@"
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}
if [ "$keep" = 0 ]; then
    printf 'release build of cloudtower-cli from clean, %s cores: %.0f s\n' "$(nproc)" \
        "$(timed_clean_build "$target")"
    printf '  without the keyring feature (no libdbus, no keyring), from clean: %.0f s\n' \
        "$(timed_clean_build "$target-no-keyring" --no-default-features)"
    rm -rf "$target-no-keyring"
fi
cargo build -q --release -p cloudtower-cli
cargo build -q --release -p cloudtower-mock --features cli
bin="$target/release/cloudtower"
printf 'binary: %s MiB\n' "$(( $(stat -c %s "$bin") / 1048576 ))"

log="$config_dir/mock.log"
"$target/release/cloudtower-mock" --listen 127.0.0.1:0 >"$log" 2>&1 &
mock_pid=$!
url=
for _ in $(seq 1 100); do
    url=$(sed -n 's/^cloudtower-mock listening on //p' "$log")
    [ -n "$url" ] && break
    sleep 0.05
done
[ -n "$url" ] || { echo "bench-cli: the mock did not start: $(cat "$log")" >&2; exit 2; }

export CLOUDTOWER_CONFIG_DIR="$config_dir" CLOUDTOWER_KEYRING=off NO_COLOR=1
"$bin" login --endpoint "$url" --username root --password mock-password 2>/dev/null

commands=("$bin --version" "$bin vm list" "$bin vm get web-1 -o json")
if command -v hyperfine >/dev/null; then
    hyperfine --warmup 5 --runs 50 --shell=none --style basic "${commands[@]}"
else
    for command in "${commands[@]}"; do
        start=$(date +%s%N)
        for _ in $(seq 1 50); do $command >/dev/null; done
        end=$(date +%s%N)
        printf '%s: %.1f ms per run (mean of 50)\n' "$command" "$(echo "($end - $start) / 50000000" | bc -l)"
    done
fi
