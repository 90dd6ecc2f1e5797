#!/usr/bin/env bash
# What `cloudtower mcp` costs an agent's context (cloudtower-cli/README.md, "MCP server"): the
# tool list (tools, bytes, of which schemas) and the bytes and approximate tokens (bytes / 4)
# of typical answers, as the Python MCP SDK's client receives them from the server signed in
# to the mock tower. Needs python3 with `pip install mcp==2.3.0`.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import mcp" 2>/dev/null || {
    echo "mcp-budget: python3 cannot import mcp: pip install mcp==2.3.0" >&2
    exit 2
}
cargo test -q -p cloudtower-cli --test mcp the_python_sdk_client_drives_the_server_over_stdio \
    -- --nocapture 2>/dev/null | grep -E '^(MCP tool list|  )'
