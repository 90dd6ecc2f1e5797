#!/usr/bin/env bash
# Regeneration cost: wall time and peak memory of `cargo xtask regen` on the full spec, in all
# and per stage (load+merge, ir, emit+format, write). Documented in bench/README.md.
#
# Usage: scripts/bench-regen.sh [--no-stages] [SPEC]
#   SPEC   a merged spec file or a directory of spec modules; default $CLOUDTOWER_SPEC, else
#          the module directory cloudtower-4.6.0 in $CLOUDTOWER_SPECS or ../shared/specs when
#          present, else xtask's own default (the pinned spec's merged file, README "Quick start").
#   --no-stages   only the headline run (no per-stage run into a scratch directory).
#
# 1. Builds the release xtask and runs `xtask regen --check --spec SPEC` (writes nothing) under
#    GNU `/usr/bin/time -v` (installed with apt-get when missing): total wall time, CPU, peak RSS.
# 2. `--check` does not print the stage timings, so a second run regenerates in write mode
#    into an empty scratch directory (`--out $CARGO_TARGET_DIR/bench-regen/generated`), printing
#    each stage's time, while a sampler reads the process's RSS every 5 ms; each stage's peak
#    RSS is the largest sample inside that stage's time window (approximate: 5 ms sampling).
# Environment: CARGO_TARGET_DIR (default target/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
stages=1
spec=${CLOUDTOWER_SPEC:-}
while [ $# -gt 0 ]; do
    case "$1" in
        --no-stages) stages=0; shift ;;
        -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) spec=$1; shift ;;
    esac
done
specs_dir=${CLOUDTOWER_SPECS:-$root/../shared/specs}
if [ -z "$spec" ] && [ -d "$specs_dir/cloudtower-4.6.0" ]; then
    spec=$specs_dir/cloudtower-4.6.0
fi
spec_args=()
[ -n "$spec" ] && spec_args=(--spec "$spec")

if [ ! -x /usr/bin/time ]; then
    echo "bench-regen: installing GNU time" >&2
    apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
fi

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(rustc --version); load:$(uptime | sed 's/.*load average://')"
cargo build --release --quiet -p xtask
out=$CARGO_TARGET_DIR/bench-regen
mkdir -p "$out"

echo "== xtask regen --check ${spec_args[*]} (under /usr/bin/time -v)"
/usr/bin/time -v -o "$out/time-check.txt" "$CARGO_TARGET_DIR/release/xtask" regen --check "${spec_args[@]}"
awk -F': ' '
    /Elapsed \(wall clock\)/ {print "wall time:        " $2}
    /User time/ {u=$2} /System time/ {s=$2}
    /Maximum resident set size/ {printf "peak RSS:         %.0f MB\n", $2/1024; rss=$2}
    /Percent of CPU/ {print "CPU:              " $2}
    END {printf "user+sys:         %.2f s\n", u+s}
' "$out/time-check.txt"

[ "$stages" = 1 ] || exit 0

echo "== per stage: xtask regen (write mode) into a scratch directory"
scratch=$out/generated
rm -rf "$scratch"
python3 - "$CARGO_TARGET_DIR/release/xtask" "${spec_args[@]}" --out "$scratch" <<'EOF'
import os, re, subprocess, sys, threading, time

cmd = [sys.argv[1], "regen", *sys.argv[2:]]
samples = []  # (seconds since start, RSS bytes)
start = time.monotonic()
proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
def sample():
    path = f"/proc/{proc.pid}/status"
    while proc.poll() is None:
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        samples.append((time.monotonic() - start, int(line.split()[1]) * 1024))
                        break
        except OSError:
            break
        time.sleep(0.005)
thread = threading.Thread(target=sample)
thread.start()
output = proc.stdout.read()
_, status, usage = os.wait4(proc.pid, 0)
proc.returncode = os.waitstatus_to_exitcode(status)
thread.join()
wall = time.monotonic() - start
print(output, end="")
if proc.returncode != 0:
    sys.exit(f"xtask regen failed with {proc.returncode}")
m = re.search(r"in ([\d.]+) s \((.*)\)", output)
if not m:
    sys.exit("no stage timings in the output")
stages = [(name.strip(), float(ms) / 1000) for name, ms in re.findall(r"([a-z+]+) (\d+) ms", m.group(2))]
# Stages run back to back from the start of main (write comes last, after compare/inventory).
print(f"{'stage':<12} {'wall':>9} {'peak RSS':>10}")
t = 0.0
ends = []
for i, (name, secs) in enumerate(stages):
    begin, end = t, t + secs
    if name == "write":  # after the summary work: the window ending at the process's end
        end = wall
        begin = end - secs
    window = [rss for (at, rss) in samples if begin <= at < end + 0.005]
    # A stage shorter than the sampling period: the last sample before it ended.
    window = window or [rss for (at, rss) in samples if at < end][-1:]
    peak = max(window) / 1e6 if window else float("nan")
    print(f"{name:<12} {secs * 1e3:>7.0f} ms {peak:>7.0f} MB")
    t = end
print(f"{'total':<12} {wall * 1e3:>7.0f} ms {usage.ru_maxrss / 1024:>7.0f} MB (process peak, getrusage); "
      f"CPU {usage.ru_utime + usage.ru_stime:.2f} s")
EOF
