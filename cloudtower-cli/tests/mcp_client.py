"""Drives `cloudtower mcp` with the Python MCP SDK's client (a client nobody here wrote).

Run by tests/mcp.rs, which starts the mock tower, signs in and passes:
  --binary PATH        the `cloudtower` binary
  --secret TEXT        a secret (the session token, the password) no answer or log may hold;
                       repeatable
  --transport stdio|http

The configuration directory comes from CLOUDTOWER_CONFIG_DIR in the environment. Exits 0
when every step behaved; otherwise prints what did not and exits 1. On success it prints one
line of JSON with the measured sizes (the tool list, typical answers), for the README.
"""

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


class Recorder:
    """Every text the server sent back, to search for secrets, and the sizes to report."""

    def __init__(self):
        self.texts = []
        self.sizes = {}

    def keep(self, label, result):
        text = "".join(block.text for block in result.content if block.type == "text")
        self.texts.append(text)
        if result.structured_content is not None:
            self.texts.append(json.dumps(result.structured_content))
        if label:
            self.sizes[label] = len(text.encode())
        return text


async def call(session, recorder, name, arguments, label=None, progress=None):
    result = await session.call_tool(name, arguments, progress_callback=progress)
    text = recorder.keep(label, result)
    return result, text


async def read_only_session(session, recorder, report):
    init = await session.initialize()
    check(init.server_info.name == "cloudtower", f"server name: {init.server_info}")
    check("read-only" in (init.instructions or ""), f"instructions: {init.instructions}")
    recorder.texts.append(init.instructions or "")

    tools = await session.list_tools()
    names = [tool.name for tool in tools.tools]
    check({"find", "describe", "list", "call", "wait"} <= set(names), f"tools: {names}")
    listed = [tool.model_dump(by_alias=True, exclude_none=True, mode="json") for tool in tools.tools]
    report["tools"] = len(names)
    report["tool_list_bytes"] = len(json.dumps(listed, separators=(",", ":")).encode())
    report["schema_bytes"] = sum(
        len(json.dumps(t.get("inputSchema", {}), separators=(",", ":")).encode())
        + len(json.dumps(t.get("outputSchema", {}), separators=(",", ":")).encode())
        for t in listed
    )
    list_tool = next(t for t in tools.tools if t.name == "list")
    check("Vm" in list_tool.input_schema["properties"]["resource"]["enum"],
          "the list tool's resources come from the table")

    # Find the VM operations by words.
    result, text = await call(session, recorder, "find", {"query": "vm snapshot"}, "find vm snapshot")
    found = [op["operation"] for op in result.structured_content["operations"]]
    check(not result.is_error and "create-vm-snapshot" in found, f"find: {text}")
    result, _ = await call(session, recorder, "find", {"query": "start vm"})
    check("start-vm" in [op["operation"] for op in result.structured_content["operations"]],
          "find start vm")

    result, text = await call(session, recorder, "describe", {"name": "create-vm-snapshot"},
                              "describe create-vm-snapshot")
    check(result.structured_content["operation"]["effect"] == "change", f"describe: {text}")
    result, text = await call(session, recorder, "describe", {"name": "VmCreationParams"},
                              "describe VmCreationParams")
    for name in ["Vm", "VmWhereInput"]:
        await call(session, recorder, "describe", {"name": name}, f"describe {name}")
    cluster = [f for f in result.structured_content["fields"] if f["name"] == "cluster_id"]
    check(cluster and cluster[0]["refers_to"] == "Cluster" and cluster[0]["required"],
          f"describe VmCreationParams: {text[:300]}")

    # List VMs with a filter, a field selection and a page size.
    result, text = await call(session, recorder, "list",
                              {"resource": "Vm", "where": {"name_starts_with": "web-"}},
                              "list Vm (filter, default fields)")
    vms = result.structured_content["items"]
    check(sorted(vm["name"] for vm in vms) == ["web-1", "web-2"], f"list: {text}")
    check(all("cluster" in vm and "id" in vm for vm in vms), "default fields: a summary with id")
    # The same with every field: what the summary saves.
    result, _ = await call(session, recorder, "list",
                           {"resource": "Vm", "where": {"name_starts_with": "web-"}, "fields": ["*"]},
                           "list Vm (filter, all fields)")
    check(len(result.structured_content["items"]) == 2, "all fields")
    result, text = await call(session, recorder, "list",
                              {"resource": "Vm", "fields": ["name"], "first": 2})
    page = result.structured_content
    check(len(page["items"]) == 2 and "next_cursor" in page, f"first page: {text}")
    check(all(set(item) == {"name"} for item in page["items"]), f"selected fields: {text}")
    result, text = await call(session, recorder, "list",
                              {"resource": "Vm", "fields": ["name"], "first": 2,
                               "after": page["next_cursor"]})
    second = [item["name"] for item in result.structured_content["items"]]
    check(second and not set(second) & {i["name"] for i in page["items"]}, f"next page: {text}")
    result, text = await call(session, recorder, "list",
                              {"resource": "Vm", "keys": ["web-1"], "where": {"name": "x"}})
    check(result.is_error and "drop `where`" in text, f"keys and where: {text}")
    result, text = await call(session, recorder, "list", {"resource": "Vm", "count": True})
    check(result.structured_content["count"] == 4, f"count: {text}")
    result, text = await call(session, recorder, "list",
                              {"resource": "Vm", "where": {"nmae": "web-1", "status": "RUNING"}})
    check(result.is_error and "2 problems" in text and "did you mean `name`" in text
          and "/status" in text, f"every problem of a filter at once: {text}")

    # A mutation is refused in read-only mode; its dry run says what its `where` selects.
    result, text = await call(session, recorder, "call",
                              {"operation": "start-vm", "body": {"where": {"name": "web-2"}}},
                              "refused mutation")
    check(result.is_error and "read-only" in text, f"refused: {text}")
    result, text = await call(session, recorder, "call",
                              {"operation": "start-vm", "body": {"where": {"name": "web-2"}},
                               "dry_run": True}, "dry run of start-vm")
    dry = result.structured_content
    check(not result.is_error and dry["dry_run"] and not dry["allowed"], f"dry run: {text}")
    check(dry["selects"]["count"] == 1 and dry["selects"]["items"][0]["name"] == "web-2",
          f"dry run selection: {text}")
    # The VM was not started.
    result, _ = await call(session, recorder, "list",
                           {"resource": "Vm", "keys": ["web-2"], "fields": ["status"]})
    check(result.structured_content["items"][0]["status"] == "STOPPED", "nothing changed")

    # A body is checked before anything is sent: every problem at once, by JSON pointer.
    result, text = await call(session, recorder, "call",
                              {"operation": "create-vm-snapshot",
                               "body": {"data": [{"nmae": "x", "consistent_type": "NOPE"}]},
                               "dry_run": True}, "invalid body")
    check(result.is_error and "/data/0" in text and "vm_id" in text and "name" in text
          and "NOPE" in text and "describe create-vm-snapshot" in text, f"body check: {text}")


async def mutating_session(session, recorder, report):
    await session.initialize()
    result, _ = await call(session, recorder, "list",
                           {"resource": "Vm", "keys": ["web-1"], "fields": ["id"]})
    vm_id = result.structured_content["items"][0]["id"]
    progress = []

    async def on_progress(value, total, message):
        progress.append((value, total, message))

    result, text = await call(
        session, recorder, "call",
        {"operation": "create-vm-snapshot",
         "body": {"data": [{"vm_id": vm_id, "name": "mcp-snapshot",
                            "consistent_type": "CRASH_CONSISTENT"}]}},
        "create-vm-snapshot (waited)", on_progress)
    check(not result.is_error, f"snapshot: {text}")
    answer = result.structured_content
    check([t["status"] for t in answer["tasks"]] == ["SUCCESSED"], f"tasks: {text}")
    check(answer["resources"][0]["name"] == "mcp-snapshot", f"resources: {text}")
    check(progress and progress[-1][0] == progress[-1][1], f"progress notifications: {progress}")
    report["progress_notifications"] = len(progress)
    result, text = await call(session, recorder, "list",
                              {"resource": "VmSnapshot", "where": {"name": "mcp-snapshot"}})
    check(len(result.structured_content["items"]) == 1, f"the snapshot exists: {text}")

    # Without waiting: the task ids, then `wait` with progress.
    result, text = await call(session, recorder, "call",
                              {"operation": "start-vm", "body": {"where": {"name": "web-2"}},
                               "wait": False})
    task_ids = result.structured_content["task_ids"]
    check(task_ids, f"task ids: {text}")
    progress.clear()
    result, text = await call(session, recorder, "wait", {"task_ids": task_ids}, "wait", on_progress)
    check(result.structured_content["succeeded"], f"wait: {text}")
    check(progress, "wait sends progress notifications")

    # Destructive operations need --allow-destructive too.
    result, text = await call(session, recorder, "call",
                              {"operation": "delete-vm-snapshot",
                               "body": {"where": {"name": "mcp-snapshot"}}})
    check(result.is_error and "destructive" in text, f"destructive refused: {text}")

    # The change feed shows what was created.
    result, _ = await call(session, recorder, "changes", {})
    start = result.structured_content["next"]
    result, text = await call(session, recorder, "call",
                              {"operation": "create-label",
                               "body": [{"key": "mcp", "value": "yes"}]})
    check(not result.is_error, f"label: {text}")
    result, text = await call(session, recorder, "changes", {"from": start}, "changes")
    kinds = [(c["action"], c["resource_type"]) for c in result.structured_content["changes"]]
    check(("CREATE", "Label") in kinds, f"changes: {text}")


async def destructive_session(session, recorder, report):
    await session.initialize()
    result, text = await call(session, recorder, "call",
                              {"operation": "delete-vm-snapshot",
                               "body": {"where": {"name": "mcp-snapshot"}}, "dry_run": True})
    check(result.structured_content["allowed"] and result.structured_content["selects"]["count"] == 1,
          f"dry run of a delete: {text}")
    result, text = await call(session, recorder, "call",
                              {"operation": "delete-vm-snapshot",
                               "body": {"where": {"name": "mcp-snapshot"}}})
    check(not result.is_error and result.structured_content["tasks"][0]["status"] == "SUCCESSED",
          f"delete with --allow-destructive: {text}")
    result, text = await call(session, recorder, "list",
                              {"resource": "VmSnapshot", "where": {"name": "mcp-snapshot"}, "count": True})
    check(result.structured_content["count"] == 0, f"deleted: {text}")


async def older_tower_session(session, recorder, report):
    """Against a tower older than some operations of the table: `find` marks them, and
    calling or listing them is refused before anything is sent."""
    await session.initialize()
    result, text = await call(session, recorder, "find", {"query": "disk pools"})
    found = {op["operation"]: op for op in result.structured_content["operations"]}
    check("unavailable" in found.get("get-disk-pools", {}), f"find marks what the tower lacks: {text}")
    check(all("unavailable" not in op for name, op in found.items() if name == "get-disks"),
          f"what it has is not marked: {text}")
    result, text = await call(session, recorder, "call", {"operation": "get-disk-pools", "body": {}})
    check(result.is_error and "has no get-disk-pools" in text, f"call refused: {text}")
    result, text = await call(session, recorder, "list", {"resource": "DiskPool"})
    check(result.is_error and "has no get-disk-pools" in text, f"list refused: {text}")
    result, text = await call(session, recorder, "list", {"resource": "Vm", "count": True})
    check(not result.is_error, f"what it has still works: {text}")


async def run(args, report):
    recorder = Recorder()
    base = [args.binary, "mcp"]
    env = dict(os.environ)
    with tempfile.TemporaryFile(mode="w+") as server_log:
        if args.older_tower:
            params = StdioServerParameters(command=args.binary, args=["mcp"], env=env)
            async with stdio_client(params, errlog=server_log) as (read, write):
                async with ClientSession(read, write) as session:
                    await older_tower_session(session, recorder, report)
        elif args.transport == "stdio":
            for extra, body in SESSIONS:
                params = StdioServerParameters(command=args.binary, args=["mcp", *extra], env=env)
                async with stdio_client(params, errlog=server_log) as (read, write):
                    async with ClientSession(read, write) as session:
                        await body(session, recorder, report)
        else:
            for extra, body in SESSIONS:
                server = subprocess.Popen(base + ["--http", "127.0.0.1:0", *extra], env=env,
                                          stderr=subprocess.PIPE, text=True)
                try:
                    line = server.stderr.readline()
                    server_log.write(line)
                    match = re.search(r"http://(\S+)/mcp", line)
                    check(match, f"the server's first line names its URL: {line!r}")
                    async with streamable_http_client(f"http://{match.group(1)}/mcp") as streams:
                        read, write = streams[0], streams[1]
                        async with ClientSession(read, write) as session:
                            await body(session, recorder, report)
                finally:
                    server.terminate()
                    rest = server.communicate(timeout=10)[1]
                    server_log.write(rest or "")
        server_log.seek(0)
        logged = server_log.read()
    for secret in args.secret:
        for text in recorder.texts + [logged]:
            check(secret not in text, "a secret appears in an answer or the server's log")
    report["answers"] = recorder.sizes


SESSIONS = [
    ([], read_only_session),
    (["--allow-mutations"], mutating_session),
    (["--allow-mutations", "--allow-destructive"], destructive_session),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--secret", action="append", default=[])
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--older-tower", action="store_true",
                        help="the tower is older than some operations (4.6.0 against 4.8.0's table)")
    args = parser.parse_args()
    report = {"transport": args.transport}
    try:
        asyncio.run(run(args, report))
    except Failed as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
