#!/usr/bin/env bash
# mcp-cloudwatch side by side with AWS's own CloudWatch MCP server (PyPI
# `awslabs.cloudwatch-mcp-server`) against the same endpoint (the simulated CloudWatch of
# `sopilot sim serve`), both over stdio from one small JSON-RPC client: time from process start to
# the tools/list answer and idle memory. Issue 4's benchmark.
#
#   bench/cloudwatch-peer/run.sh [REPEATS]        (default 3; STARTS=10 per repeat)
#
# Writes bench/cloudwatch-peer/RESULTS.md (BENCH_RESULTS to write elsewhere); raw JSON lines
# stay in BENCH_OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."

REPEATS="${1:-3}"
STARTS="${STARTS:-10}"
PEER_VERSION="${PEER_VERSION:-0.3.1}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sopilot-bench-target}"
OUT="${BENCH_OUT:-$(mktemp -d -t sopilot-cloudwatch-peer.XXXXXX)}"
VENV="${BENCH_CW_VENV:-$HOME/.cache/sopilot-bench/cloudwatch-venv}"
RESULTS="${BENCH_RESULTS:-bench/cloudwatch-peer/RESULTS.md}"
mkdir -p "$OUT"

echo "== building mcp-cloudwatch and sopilot (release) into $CARGO_TARGET_DIR" >&2
cargo build --release --quiet -p mcp-cloudwatch -p sopilot
OURS="$CARGO_TARGET_DIR/release/mcp-cloudwatch"
SOPILOT="$CARGO_TARGET_DIR/release/sopilot"

echo "== awslabs.cloudwatch-mcp-server $PEER_VERSION from PyPI into $VENV" >&2
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "awslabs.cloudwatch-mcp-server==$PEER_VERSION" >&2
PEER="$VENV/bin/awslabs.cloudwatch-mcp-server"
PY="$VENV/bin/python"

echo "== simulator (scenarios/demo.yaml)" >&2
"$SOPILOT" sim serve --scenario scenarios/demo.yaml > "$OUT/sim.jsonl" 2> "$OUT/sim.log" &
SIM=$!
trap 'kill $SIM 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$OUT/sim.jsonl" ] && break; sleep 0.1; done
AWS_URL=$(head -1 "$OUT/sim.jsonl" | python3 -c 'import json, sys; print(json.load(sys.stdin)["aws"])')

for r in $(seq "$REPEATS"); do
    echo "== repeat $r/$REPEATS (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    "$PY" bench/cloudwatch-peer/bench.py --aws-url "$AWS_URL" --starts "$STARTS" \
        --server "mcp-cloudwatch=$OURS" \
        --server "awslabs.cloudwatch-mcp-server=$PEER" > "$OUT/run$r.jsonl"
done

{
    echo "# mcp-cloudwatch vs awslabs.cloudwatch-mcp-server: measured results"
    echo
    echo "Issue 4's benchmark. Both servers run as stdio child processes of one small JSON-RPC"
    echo "client (bench/kubectl-peer/bench.py), with the same environment, pointed at the same endpoint: the simulated"
    echo "CloudWatch of \`sopilot sim serve --scenario scenarios/demo.yaml\` (\`AWS_ENDPOINT_URL\`)."
    echo "Start is the wall time from spawning the process to the tools/list answer; idle memory"
    echo "is the server process's VmRSS one second after it (median over every start)."
    echo
    echo "- mcp-cloudwatch: this repository at $(git rev-parse --short HEAD), release build."
    echo "- awslabs.cloudwatch-mcp-server $PEER_VERSION from PyPI (Python $("$PY" -c 'import sys; print(sys.version.split()[0])'))."
    echo "- Command: \`bench/cloudwatch-peer/run.sh $REPEATS\` (STARTS=$STARTS per repeat, servers alternating)."
    echo "- Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/{print $2}') GiB, shared with other engineers' builds."
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo
    "$PY" - "$OUT"/run*.jsonl <<'PYEOF'
import json, sys
rows, loads = {}, []
for i, path in enumerate(sys.argv[1:], 1):
    for line in open(path):
        d = json.loads(line)
        if d["kind"] == "start":
            rows.setdefault(d["server"], []).append((i, d))
        elif d["kind"].startswith("load"):
            loads.append(d["loadavg"])
print("| repeat | server | tools | start median (min–max) | idle RSS | ours is faster / lighter by |")
print("|---:|---|---:|---:|---:|---:|")
ours, peer = "mcp-cloudwatch", "awslabs.cloudwatch-mcp-server"
by_repeat = {}
for server, items in rows.items():
    for i, d in items:
        by_repeat.setdefault(i, {})[server] = d
for i in sorted(by_repeat):
    o, p = by_repeat[i][ours], by_repeat[i][peer]
    for name, d in ((ours, o), (peer, p)):
        ratio = "—" if name == ours else f"{d['median_ms'] / o['median_ms']:.0f}× / {d['idle_rss_kib'] / o['idle_rss_kib']:.1f}×"
        print(f"| {i} | {name} | {d['tools']} | {d['median_ms']:.1f} ms ({d['min_ms']:.1f}–{d['max_ms']:.1f}) | {d['idle_rss_kib'] / 1024:.1f} MiB | {ratio} |")
print()
print("Load average (1, 5, 15 min) before and after each repeat: " + "; ".join(loads) + ".")
PYEOF
    echo
    echo "Raw results: \`$OUT\`."
} > "$RESULTS"
cat "$RESULTS"
