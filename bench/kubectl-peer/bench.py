"""Drive two Kubernetes MCP servers over stdio with the same minimal client against the same
simulated cluster, and print one JSON line per measurement.

    python3 bench.py --rounds N --starts N --server NAME=CMD ... --calls calls.json

The client is a few lines of JSON-RPC over the child's stdin/stdout (newline-delimited, as
the MCP stdio transport is), synchronous, one request in flight: what is timed is the
server's answer and the pipe, not a client library's validation. Both servers get exactly
the same client. Measured per server:
- start: wall time from spawning the process to the answer of the first tools/list
  (initialize, initialized, tools/list), median of --starts fresh processes;
- memory: VmRSS after tools/list (idle) and VmHWM (peak) after the whole workload, read
  from /proc for the server process;
- latency of each call, --rounds times, the servers interleaved call by call so that the
  machine's load falls on both alike;
- bytes: the UTF-8 text the model reads (text content) and the structured content.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time

PROTOCOL = "2025-06-18"


def mem_kib(pid: int) -> dict[str, int]:
    vals = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    vals[key] = int(rest.split()[0])
    except OSError:
        pass
    return vals


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def pct(xs: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, -(-len(s) * p // 100) - 1))
    return s[int(k)]


class McpError(Exception):
    pass


class Server:
    """One MCP server as a child process, spoken to over its stdio."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str]):
        self.name = name
        self.cmd = cmd
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.next_id = 0

    def request(self, method: str, params: dict | None = None) -> dict:
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.proc.stdin.write(json.dumps(msg, separators=(",", ":")).encode() + b"\n")
        self.proc.stdin.flush()
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise McpError(f"{self.name} closed its stdout (exit {self.proc.poll()})")
            if not line.strip():
                continue
            r = json.loads(line)
            if r.get("id") != self.next_id or "method" in r:
                continue  # a notification (or a request we never asked for): skip
            if "error" in r:
                raise McpError(f"{self.name} {method}: {r['error']}")
            return r["result"]

    def notify(self, method: str) -> None:
        assert self.proc is not None and self.proc.stdin
        self.proc.stdin.write(json.dumps({"jsonrpc": "2.0", "method": method}).encode() + b"\n")
        self.proc.stdin.flush()

    def start(self) -> tuple[float, int, int]:
        """Spawns, initializes, lists tools; returns (seconds, tool count, tools/list bytes)."""
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.request("initialize", {"protocolVersion": PROTOCOL, "capabilities": {},
                                    "clientInfo": {"name": "sopilot-bench", "version": "1"}})
        self.notify("notifications/initialized")
        tools = self.request("tools/list")
        elapsed = time.perf_counter() - t0
        size = len(json.dumps(tools, separators=(",", ":")).encode())
        return elapsed, len(tools.get("tools", [])), size

    def call(self, tool: str, args: dict) -> tuple[float, int, int, bool, str]:
        t0 = time.perf_counter()
        r = self.request("tools/call", {"name": tool, "arguments": args})
        elapsed = time.perf_counter() - t0
        text = "\n".join(c.get("text", "") for c in r.get("content", []) if c.get("type") == "text")
        sc = r.get("structuredContent")
        structured = len(json.dumps(sc, separators=(",", ":")).encode()) if sc is not None else 0
        return elapsed, len(text.encode()), structured, bool(r.get("isError")), text

    def close(self) -> None:
        if self.proc is None:
            return
        assert self.proc.stdin
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def emit(**kw) -> None:
    print(json.dumps(kw), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", action="append", required=True, help="NAME=COMMAND LINE")
    ap.add_argument("--calls", required=True, help="JSON: [{id, what, NAME: [tool, args]}]")
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--starts", type=int, default=10)
    ap.add_argument("--samples", default="", help="folder for one sample answer per call")
    a = ap.parse_args()
    env = dict(os.environ, RUST_LOG="warn")
    servers = []
    for spec in a.server:
        name, _, cmd = spec.partition("=")
        servers.append((name, shlex.split(cmd)))
    with open(a.calls) as f:
        calls = json.load(f)
    emit(kind="load_before", loadavg=loadavg())

    # Start time: fresh processes, alternating servers.
    starts: dict[str, list[float]] = {n: [] for n, _ in servers}
    for _ in range(a.starts):
        for name, cmd in servers:
            s = Server(name, cmd, env)
            secs, _, _ = s.start()
            starts[name].append(secs)
            s.close()
    for name, _ in servers:
        xs = starts[name]
        emit(kind="start", server=name, n=len(xs), median_ms=statistics.median(xs) * 1e3,
             min_ms=min(xs) * 1e3, max_ms=max(xs) * 1e3)

    # One long-lived session per server for memory and latency.
    live = []
    for name, cmd in servers:
        s = Server(name, cmd, env)
        _, count, size = s.start()
        live.append((s, count, size))
    time.sleep(1.0)
    for s, count, size in live:
        assert s.proc is not None
        idle = mem_kib(s.proc.pid)
        emit(kind="tools", server=s.name, tools=count, tools_list_bytes=size,
             idle_rss_kib=idle.get("VmRSS"), pid=s.proc.pid)
    live_servers = [s for s, _, _ in live]

    for c in calls:
        lat: dict[str, list[float]] = {s.name: [] for s in live_servers}
        last = {}
        # One warm-up call each (connections, caches), not timed.
        for s in live_servers:
            s.call(*c[s.name])
        for _ in range(a.rounds):
            for s in live_servers:
                secs, text_b, struct_b, err, text = s.call(*c[s.name])
                lat[s.name].append(secs)
                last[s.name] = (text_b, struct_b, err, text)
        for s in live_servers:
            xs = lat[s.name]
            text_b, struct_b, err, text = last[s.name]
            if a.samples:
                with open(os.path.join(a.samples, f"{c['id']}.{s.name}.txt"), "w") as f:
                    f.write(text)
            emit(kind="call", call=c["id"], what=c["what"], server=s.name,
                 tool=c[s.name][0], args=c[s.name][1], n=len(xs),
                 p50_ms=pct(xs, 50) * 1e3, p99_ms=pct(xs, 99) * 1e3,
                 mean_ms=statistics.fmean(xs) * 1e3,
                 text_bytes=text_b, structured_bytes=struct_b, is_error=err)

    for s in live_servers:
        assert s.proc is not None
        m = mem_kib(s.proc.pid)
        emit(kind="memory", server=s.name, rss_kib=m.get("VmRSS"), peak_rss_kib=m.get("VmHWM"))
    for s in live_servers:
        s.close()
    emit(kind="load_after", loadavg=loadavg())


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
