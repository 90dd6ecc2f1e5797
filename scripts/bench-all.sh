#!/usr/bin/env bash
# Every benchmark of bench/README.md in one run, then a summary of the ratios.
#
# Usage: scripts/bench-all.sh [--quick] [--skip-build-cost] [--skip-python] [--skip-regen]
#   --quick            skip the two slowest parts (build cost, Python SDK).
#   --skip-build-cost  skip scripts/build-cost.sh (full and the vm/vm-snapshot/iscsi subset).
#   --skip-python      skip bench/python/bench.sh (needs PyPI for the first install).
#   --skip-regen       skip scripts/bench-regen.sh.
# Environment: CARGO_TARGET_DIR (default target/). Figures land in
# $CARGO_TARGET_DIR/bench-results/*.json and in the log $CARGO_TARGET_DIR/bench-results/all.log.
# Exit status: 0 when every part ran (a missed goal is reported, not an error), else 1.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
results=$CARGO_TARGET_DIR/bench-results
export CLOUDTOWER_BENCH_RESULTS=$results
build_cost=1 python=1 regen=1
for arg in "$@"; do
    case "$arg" in
        --quick) build_cost=0; python=0 ;;
        --skip-build-cost) build_cost=0 ;;
        --skip-python) python=0 ;;
        --skip-regen) regen=0 ;;
        -h|--help) sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) echo "bench-all: unknown argument $arg" >&2; exit 2 ;;
    esac
done
mkdir -p "$results"
rm -f "$results"/*.json
log=$results/all.log
failed=()
run() {
    local name=$1
    shift
    echo
    echo "################ $name: $*"
    if ! "$@"; then
        failed+=("$name")
    fi
}

{
    echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB memory, $(rustc --version)"
    echo "started: $(date -u +%FT%TZ); uptime:$(uptime)"
    # The decode bench also writes the payload the Python comparison decodes.
    run decode env CLOUDTOWER_BENCH_PAYLOAD_OUT="$results/get-vms-10000.json" \
        cargo bench -p cloudtower-api-tests --bench decode
    run encode cargo bench -p cloudtower-api-tests --bench encode
    run client cargo bench -p cloudtower-api-tests --bench client
    run tasks cargo bench -p cloudtower-api-tests --bench tasks
    [ "$python" = 1 ] && run python bench/python/bench.sh --reuse
    [ "$regen" = 1 ] && run regen scripts/bench-regen.sh
    if [ "$build_cost" = 1 ]; then
        run build-full scripts/build-cost.sh
        run build-subset scripts/build-cost.sh --no-default-features \
            --features "vm vm-snapshot iscsi-lun-snapshot"
    fi
    echo
    echo "################ summary (finished $(date -u +%FT%TZ); uptime:$(uptime))"
    python3 - "$results" <<'EOF'
import json, os, sys
d = sys.argv[1]
def load(name):
    try:
        with open(os.path.join(d, name + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}
dec, enc, cli, tsk, py = (load(n) for n in ("decode", "encode", "client", "tasks", "python"))
def show(label, text):
    print(f"{label:<28} {text}")
if "typed_vec_vm_secs" in dec:
    show("decode typed vs Value", f"{dec['typed_vs_codec_value_speedup']:.2f}x (codec Value), "
         f"{dec['typed_vs_serde_json_value_speedup']:.2f}x (serde_json Value); "
         f"typed {dec['typed_vec_vm_mb_per_s']:.0f} MB/s, peak heap "
         f"{dec['typed_vec_vm_peak_heap_bytes'] / 1e6:.0f} MB vs "
         f"{dec['serde_json_value_peak_heap_bytes'] / 1e6:.0f} MB (payload {dec['payload_bytes'] / 1e6:.1f} MB)")
if "codec_vs_serde_json_speedup" in enc:
    show("encode deep where", f"codec::encode {enc['codec_vs_serde_json_speedup']:.2f}x as fast as serde_json::to_vec(&Value)")
if "vms_1_interleaved_client_over_raw_decode" in cli:
    show("client overhead", f"{(cli['vms_1_interleaved_client_over_raw_decode'] - 1) * 100:+.1f}% time/request vs raw "
         f"reqwest + decode (1 VM, interleaved; {(cli['vms_1_interleaved_client_over_raw'] - 1) * 100:+.1f}% vs bytes only); "
         f"20 VMs: {(cli['vms_20_interleaved_client_over_raw_decode'] - 1) * 100:+.1f}%")
if "batch_requests" in tsk:
    show("task waiting (100 tasks)", f"{tsk['batch_requests']} requests batched vs {tsk['per_task_requests']} one-per-task "
         f"({tsk['per_task_over_batch']:.0f}x), {tsk['python_wait_task_requests']} Python wait_task")
if "rust_over_python_speedup" in py:
    show("vs Python SDK", f"Rust {py['rust_over_python_speedup']:.0f}x faster ({py['python_deserialize_secs']:.2f} s vs "
         f"{py['rust_typed_decode_secs'] * 1e3:.0f} ms)")
EOF
    if [ ${#failed[@]} -gt 0 ]; then
        echo "parts that failed to run: ${failed[*]}"
        exit 1
    fi
} 2>&1 | tee "$log"
exit "${PIPESTATUS[0]}"
