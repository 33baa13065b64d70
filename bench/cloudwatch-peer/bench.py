"""mcp-cloudwatch against AWS's own CloudWatch MCP server (PyPI
`awslabs.cloudwatch-mcp-server`), both over stdio, driven by the same client (the small JSON-RPC client of
bench/kubectl-peer/bench.py) against the same endpoint (the simulated CloudWatch of `sopilot sim serve`).

    python3 bench.py --aws-url URL --starts N --server NAME=CMD ...

Measured per server, the servers alternating so that the machine's load falls on both alike:
- start: wall time from spawning the process to the answer of the first tools/list
  (initialize, initialized, tools/list), over --starts fresh processes;
- idle memory: VmRSS one second after tools/list, of the server process (read from /proc).
One JSON line per measurement on stdout.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kubectl-peer"))
from bench import Server, emit, loadavg, mem_kib  # noqa: E402  (bench/kubectl-peer/bench.py)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--aws-url", required=True)
    ap.add_argument("--server", action="append", required=True, help="NAME=COMMAND LINE")
    ap.add_argument("--starts", type=int, default=10)
    a = ap.parse_args()
    env = dict(
        os.environ,
        AWS_ENDPOINT_URL=a.aws_url,
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="sopilot-sim",
        AWS_SECRET_ACCESS_KEY="sopilot-sim",
        AWS_EC2_METADATA_DISABLED="true",
        RUST_LOG="warn",
        FASTMCP_LOG_LEVEL="ERROR",
    )
    servers = []
    for spec in a.server:
        name, _, cmd = spec.partition("=")
        servers.append((name, shlex.split(cmd)))
    emit(kind="load_before", loadavg=loadavg())
    starts: dict[str, list[float]] = {n: [] for n, _ in servers}
    idle: dict[str, list[int]] = {n: [] for n, _ in servers}
    tools: dict[str, int] = {}
    for _ in range(a.starts):
        for name, cmd in servers:
            s = Server(name, cmd, env)
            secs, count, _size = s.start()
            starts[name].append(secs)
            tools[name] = count
            time.sleep(1.0)
            if s.proc is not None:
                idle[name].append(mem_kib(s.proc.pid).get("VmRSS", 0))
            s.close()
    for name, _ in servers:
        xs = starts[name]
        emit(kind="start", server=name, n=len(xs), tools=tools[name],
             median_ms=statistics.median(xs) * 1e3, min_ms=min(xs) * 1e3, max_ms=max(xs) * 1e3,
             idle_rss_kib=statistics.median(idle[name]) if idle[name] else None)
    emit(kind="load_after", loadavg=loadavg())


if __name__ == "__main__":
    main()
