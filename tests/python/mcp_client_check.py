"""An independent MCP client (the official Python SDK) speaking to a SOPilot MCP server.

Usage:
  mcp_client_check.py [--env NAME=VALUE ...] --stdio COMMAND [ARG...] --call NAME JSON [--call NAME JSON ...]
  mcp_client_check.py --http URL --call NAME JSON ...

Prints one JSON object: {"server", "protocol", "tools": [names], "calls": [{"name", "is_error",
"text", "structured"}]}. `--env` adds variables to the stdio server's environment (the SDK
passes it only a few by default). Exits 1 with a message when the SDK is missing or the session fails.
"""

import argparse
import asyncio
import json
import sys

try:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import get_default_environment, stdio_client
    from mcp.client.streamable_http import streamable_http_client
except ImportError as e:  # pragma: no cover
    print(f"the Python MCP SDK is missing ({e}); install it with: pip install mcp", file=sys.stderr)
    sys.exit(1)


async def exercise(session, calls):
    init = await session.initialize()
    tools = await session.list_tools()
    out = {
        "server": init.server_info.name,
        "protocol": str(init.protocol_version),
        "tools": sorted(t.name for t in tools.tools),
        "calls": [],
    }
    for name, args in calls:
        r = await session.call_tool(name, args)
        text = "\n".join(c.text for c in r.content if getattr(c, "type", "") == "text")
        out["calls"].append({
            "name": name,
            "is_error": bool(r.is_error),
            "text": text,
            "structured": r.structured_content,
        })
    return out


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--http")
    p.add_argument("--stdio", nargs=argparse.REMAINDER)
    args, _ = p.parse_known_args()
    calls = []
    argv = sys.argv[1:]
    stdio_cmd = []
    env = {}
    i = 0
    while i < len(argv):
        if argv[i] == "--call":
            calls.append((argv[i + 1], json.loads(argv[i + 2])))
            i += 3
        elif argv[i] == "--http":
            i += 2
        elif argv[i] == "--env":
            name, _, value = argv[i + 1].partition("=")
            env[name] = value
            i += 2
        elif argv[i] == "--stdio":
            i += 1
            while i < len(argv) and argv[i] != "--call":
                stdio_cmd.append(argv[i])
                i += 1
        else:
            i += 1
    if args.http:
        async with streamable_http_client(args.http) as streams:
            read, write = streams[0], streams[1]
            async with ClientSession(read, write) as session:
                result = await exercise(session, calls)
    elif stdio_cmd:
        params = StdioServerParameters(
            command=stdio_cmd[0],
            args=stdio_cmd[1:],
            env={**get_default_environment(), **env} if env else None,
        )
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                result = await exercise(session, calls)
    else:
        print("give --stdio COMMAND... or --http URL", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
