"""Time the official Python SDK deserializing a get-vms answer, and compare with Rust.

Run by bench/python/bench.sh, which installs cloudtower-sdk into a virtualenv and has the Rust
decode bench write the payload and its figures first.
"""

import argparse
import json
import statistics
import sys
import time

import cloudtower
from cloudtower import ApiClient
from cloudtower.models import Vm


class Response:
    """What ApiClient.deserialize reads: the body, already decoded to text, in `.data`."""

    def __init__(self, data):
        self.data = data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--payload", required=True)
    parser.add_argument("--rust", required=True, help="decode.json of the Rust decode bench")
    parser.add_argument("--out", required=True)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with open(args.payload, "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8")  # what ApiClient.__call_api hands to deserialize
    with open(args.rust) as f:
        rust = json.load(f)

    client = ApiClient()
    times = []
    vms = None
    for _ in range(args.runs):
        vms = None
        start = time.perf_counter()
        vms = client.deserialize(Response(text), "list[Vm]")
        times.append(time.perf_counter() - start)
    loads = []
    for _ in range(args.runs):
        start = time.perf_counter()
        json.loads(text)
        loads.append(time.perf_counter() - start)

    # The same VMs came out, as typed models.
    expected = json.loads(text)
    assert len(vms) == len(expected), (len(vms), len(expected))
    assert all(isinstance(v, Vm) for v in vms)
    assert [v.name for v in vms[:100]] == [e["name"] for e in expected[:100]]
    assert vms[7].cpu.cores == expected[7]["cpu"]["cores"]

    python_secs = statistics.median(times)
    rust_secs = rust.get("typed_vec_vm_secs")
    mb = len(raw) / 1e6
    lines = [
        f"payload: {len(vms)} VMs, {mb:.1f} MB; cloudtower-sdk {cloudtower.__version__}, "
        f"Python {sys.version.split()[0]}",
        f"Python ApiClient.deserialize(list[Vm]) median of {args.runs}: {python_secs:.2f} s "
        f"({mb / python_secs:.1f} MB/s; of which json.loads {statistics.median(loads):.3f} s)",
    ]
    figures = {
        "sdk_version": cloudtower.__version__,
        "python_version": sys.version.split()[0],
        "python_deserialize_secs": python_secs,
        "python_deserialize_runs": times,
        "python_json_loads_secs": statistics.median(loads),
    }
    if rust_secs:
        ratio = python_secs / rust_secs
        lines.append(
            f"Rust codec::decode::<Vec<Vm>> (same run's cargo bench): {rust_secs * 1e3:.1f} ms "
            f"({mb / rust_secs:.1f} MB/s)"
        )
        lines.append(
            f"ratio: Rust is {ratio:.0f}x faster than the Python SDK (goal: >= 50x) -> "
            + ("PASS" if ratio >= 50 else "FAIL")
        )
        figures["rust_typed_decode_secs"] = rust_secs
        figures["rust_over_python_speedup"] = ratio
    else:
        lines.append("no Rust timing in decode.json (run `cargo bench --bench decode`)")
    print("\n=== python: figures of this run ===")
    print("\n".join(lines))
    with open(args.out, "w") as f:
        json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
