#!/usr/bin/env bash
# Checks that cloudtower-api builds, warning-free, with each spec-module feature alone.
#
# Usage: scripts/check-features.sh [--all | --sample]
#   --sample (default)  no features, and a few modules alone and together (what CI runs).
#   --all               every one of the module features alone (about two hours on 2 cores).
# Features are additive, so a module that builds alone builds with any others.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:---sample}
manifest=cloudtower-api/Cargo.toml

case "$mode" in
    --all)
        # The generated `full = [...]` line lists every module feature.
        mapfile -t sets < <(sed -n 's/^full = \[\(.*\)\]$/\1/p' "$manifest" | tr -d '" ' | tr ',' '\n')
        ;;
    --sample)
        sets=("" "vm" "task" "user" "cluster" "vm-snapshot,iscsi-lun-snapshot" "vm,vm-snapshot,iscsi-lun-snapshot")
        ;;
    *)
        echo "usage: $0 [--all | --sample]" >&2
        exit 2
        ;;
esac

failed=()
for features in "${sets[@]}"; do
    echo "==> cloudtower-api with features [${features}]"
    if ! cargo clippy --quiet -p cloudtower-api --lib --no-default-features --features "$features" -- -D warnings; then
        failed+=("[${features}]")
    fi
done
checked=${#sets[@]}
if [ ${#failed[@]} -gt 0 ]; then
    echo "features: $((checked - ${#failed[@]})) passed, ${#failed[@]} failed: ${failed[*]}"
    exit 1
fi
echo "features: $checked passed, 0 failed"
