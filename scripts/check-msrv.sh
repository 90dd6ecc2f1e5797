#!/usr/bin/env bash
# Checks that the workspace's `rust-version` is at least the highest `rust-version` declared in
# the dependency tree of the published crates (normal and build dependencies, every target,
# every feature), so users on the declared minimum can build them. Only one toolchain can be
# installed here, so the declared minimum is checked against the tree rather than built with.
#
# Usage: scripts/check-msrv.sh   (prints the published crates' minimum and which crate sets it)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo metadata --format-version 1 --all-features | python3 -c '
import json, sys

metadata = json.load(sys.stdin)
packages = {p["id"]: p for p in metadata["packages"]}
nodes = {n["id"]: n for n in metadata["resolve"]["nodes"]}
members = set(metadata["workspace_members"])

def version(text):
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))  # 1.88 is 1.88.0

def shown(v):
    return ".".join(map(str, v[:2] if v[2] == 0 else v))

# The published crates: workspace members that may be published (`publish` is not false).
published = [i for i in members if packages[i].get("publish") != []]
if not published:
    sys.exit("error: no publishable workspace member")

failed = False
for root in sorted(published, key=lambda i: packages[i]["name"]):
    name, declared = packages[root]["name"], packages[root].get("rust_version")
    if declared is None:
        print(f"error: {name} declares no rust-version")
        failed = True
        continue
    seen, stack = {root}, [root]
    while stack:
        for dep in nodes[stack.pop()]["deps"]:
            kinds = {k["kind"] for k in dep["dep_kinds"]}
            # `None` is a normal dependency; dev-dependencies do not reach users.
            if kinds & {None, "build"} and dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                stack.append(dep["pkg"])
    declared_by = [(version(packages[i]["rust_version"]), packages[i]["name"] + " " + packages[i]["version"])
                   for i in seen - members if packages[i].get("rust_version")]
    needed = max((v for v, _ in declared_by), default=(0, 0, 0))
    by = ", ".join(sorted(crate for v, crate in declared_by if v == needed)) or "none"
    if version(declared) < needed:
        print(f"error: {name} declares rust-version {declared}, but {by} in its dependency "
              f"tree needs {shown(needed)}: raise the workspace rust-version")
        failed = True
    else:
        print(f"{name}: rust-version {declared}; its {len(seen) - 1} dependencies need "
              f"{shown(needed)} at most ({by})")
sys.exit(1 if failed else 0)
'
