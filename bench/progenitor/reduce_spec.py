#!/usr/bin/env python3
"""Reduce a CloudTower spec to one operation and the schemas it reaches (for the peer bench).

usage: reduce_spec.py SPEC.json PATH OUT.json
"""
import json
import sys


def refs(node, found):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            refs(value, found)
    elif isinstance(node, list):
        for value in node:
            refs(value, found)


def main():
    spec_path, path, out_path = sys.argv[1:]
    with open(spec_path) as f:
        spec = json.load(f)
    schemas = spec["components"]["schemas"]
    operation = spec["paths"][path]
    todo = set()
    refs(operation, todo)
    kept = set()
    while todo:
        name = todo.pop()
        if name in kept:
            continue
        kept.add(name)
        refs(schemas[name], todo)
    spec["paths"] = {path: operation}
    spec["components"]["schemas"] = {k: v for k, v in schemas.items() if k in kept}
    with open(out_path, "w") as f:
        json.dump(spec, f, indent=1)
    print(f"{path}: {len(kept)} of {len(schemas)} schemas", file=sys.stderr)


main()
