#!/usr/bin/env bash
# mcp-kubectl side by side with kubernetes-mcp-server (containers/kubernetes-mcp-server, its
# Linux binary from npm) on one simulated cluster of 312 pods (scenario.yaml), driven over
# stdio by one minimal MCP client (bench.py, JSON-RPC over the child's pipes, no library):
# start to tools/list, latency p50/p99 of equivalent calls, bytes returned, idle and peak
# RSS. Issue 3's benchmark.
#
#   bench/kubectl-peer/run.sh [REPEATS]          (default 3; ROUNDS=100 STARTS=10)
#
# Writes bench/kubectl-peer/RESULTS.md (BENCH_RESULTS to write elsewhere) and keeps the raw
# JSON lines and one sample answer per call in BENCH_OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."

REPEATS="${1:-3}"
ROUNDS="${ROUNDS:-100}"
STARTS="${STARTS:-10}"
PEER_VERSION="${PEER_VERSION:-0.0.67}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sopilot-bench-target}"
OUT="${BENCH_OUT:-$(mktemp -d -t sopilot-kubectl-peer.XXXXXX)}"
NPM_DIR="${BENCH_NPM:-$HOME/.cache/sopilot-bench/npm}"
RESULTS="${BENCH_RESULTS:-bench/kubectl-peer/RESULTS.md}"
mkdir -p "$OUT/samples" "$NPM_DIR"

echo "== building mcp-kubectl and sopilot (release) into $CARGO_TARGET_DIR" >&2
cargo build --release --quiet -p mcp-kubectl -p sopilot
OURS="$CARGO_TARGET_DIR/release/mcp-kubectl"
SOPILOT="$CARGO_TARGET_DIR/release/sopilot"

echo "== kubernetes-mcp-server $PEER_VERSION from npm into $NPM_DIR" >&2
PEER="$NPM_DIR/node_modules/kubernetes-mcp-server-linux-amd64/bin/kubernetes-mcp-server-linux-amd64"
PEER_ERROR=""
if ! { [ -x "$PEER" ] && "$PEER" --version 2>/dev/null | grep -q "$PEER_VERSION"; }; then
    npm install --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error \
        "kubernetes-mcp-server-linux-amd64@$PEER_VERSION" >&2 2> "$OUT/npm.log" \
        || PEER_ERROR="npm install kubernetes-mcp-server-linux-amd64@$PEER_VERSION failed: $(tail -3 "$OUT/npm.log" | tr '\n' ' ')"
fi
if [ -z "$PEER_ERROR" ] && ! "$PEER" --version > "$OUT/peer-version.txt" 2>&1; then
    PEER_ERROR="the peer binary does not run here: $(head -3 "$OUT/peer-version.txt" | tr '\n' ' ')"
fi
SERVERS=(--server "mcp-kubectl=$OURS --kubeconfig KUBECONFIG_FILE")
[ -z "$PEER_ERROR" ] && SERVERS+=(--server "kubernetes-mcp-server=$PEER --kubeconfig KUBECONFIG_FILE --read-only")
[ -n "$PEER_ERROR" ] && echo "!! $PEER_ERROR; measuring mcp-kubectl alone" >&2

PY=python3

echo "== simulator (bench/kubectl-peer/scenario.yaml)" >&2
"$SOPILOT" sim serve --scenario bench/kubectl-peer/scenario.yaml > "$OUT/sim.jsonl" 2> "$OUT/sim.log" &
SIM=$!
trap 'kill $SIM 2>/dev/null || true' EXIT
for _ in $(seq 600); do [ -s "$OUT/sim.jsonl" ] && break; sleep 0.1; done
[ -s "$OUT/sim.jsonl" ] || { echo "the simulator did not start; see $OUT/sim.log" >&2; exit 1; }
KUBECONFIG_FILE=$(head -1 "$OUT/sim.jsonl" | python3 -c 'import json, sys; print(json.load(sys.stdin)["kubeconfig"])')
if command -v kubectl >/dev/null; then
    echo "pods in the simulated cluster: $(kubectl --kubeconfig "$KUBECONFIG_FILE" get pods -A --no-headers | wc -l)" >&2
fi

for r in $(seq "$REPEATS"); do
    echo "== repeat $r/$REPEATS (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    "$PY" bench/kubectl-peer/bench.py "${SERVERS[@]//KUBECONFIG_FILE/$KUBECONFIG_FILE}" \
        --calls bench/kubectl-peer/calls.json --rounds "$ROUNDS" --starts "$STARTS" \
        --samples "$OUT/samples" > "$OUT/run$r.jsonl"
done

{
    echo "# mcp-kubectl vs kubernetes-mcp-server: measured results"
    echo
    echo "Issue 3's benchmark. Both MCP servers run as stdio child processes of one minimal MCP"
    echo "client (bench/kubectl-peer/bench.py: newline-delimited JSON-RPC over the pipes, one request"
    echo "in flight, no client library), against the same simulated Kubernetes API"
    echo "(\`sopilot sim serve --scenario bench/kubectl-peer/scenario.yaml\`: 10 nodes, 312 pods in"
    echo "7 namespaces, one pod crash-looping with 12 restarts, OOMKilled and ImagePullBackOff pods)."
    echo
    echo "- mcp-kubectl: this repository at $(git rev-parse --short HEAD), release build, default (read-only) mode."
    if [ -n "$PEER_ERROR" ]; then
        echo "- **kubernetes-mcp-server could not run here**: $PEER_ERROR. Only mcp-kubectl's figures below."
    else
    echo "- kubernetes-mcp-server $("$PEER" --version 2>/dev/null | head -1) (npm \`kubernetes-mcp-server-linux-amd64\`, the Linux binary that"
    echo "  npm's \`kubernetes-mcp-server\` wrapper package installs and runs), \`--read-only\`"
    echo "  (so both list only reading tools), default toolsets (core, config), default table output."
    fi
    echo "- Command: \`bench/kubectl-peer/run.sh $REPEATS\` (ROUNDS=$ROUNDS, STARTS=$STARTS)."
    echo "- Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/{print $2}') GiB, shared with other engineers' builds."
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo
    "$PY" bench/kubectl-peer/report.py mcp-kubectl kubernetes-mcp-server "$OUT"/run*.jsonl
    echo "Not comparable: the all-namespaces row. kubernetes-mcp-server's \`pods_list\` first asks the API for a"
    echo "SelfSubjectAccessReview; its client refuses that request before sending it (the simulator's"
    echo "discovery does not list \`authorization.k8s.io\`), so it falls back to the kubeconfig's namespace"
    echo "(\`default\`, no pods) and answers an empty text. Its row measures that, not a 312-pod listing."
    echo
    echo "Raw results and one sample answer of each call: \`$OUT\`."
} > "$RESULTS"
cat "$RESULTS"
