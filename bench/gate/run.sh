#!/usr/bin/env bash
# The gate's overhead per tool call (Gate::handle vs a direct MCP call of the same tool over
# the same stdio connection to `sopilot mcp-server kubectl`, against the simulator), and
# `sopilot demo`'s wall time and peak memory. Issue 5's benchmark.
#
#   bench/gate/run.sh [REPEATS [DEMO_RUNS]]      (defaults 3 and 5; ROUNDS=400 per case)
#
# Writes bench/gate/RESULTS.md (BENCH_RESULTS to write elsewhere); raw JSON lines in BENCH_OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."

REPEATS="${1:-3}"
DEMO_RUNS="${2:-5}"
ROUNDS="${ROUNDS:-400}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sopilot-bench-target}"
OUT="${BENCH_OUT:-$(mktemp -d -t sopilot-gate-bench.XXXXXX)}"
RESULTS="${BENCH_RESULTS:-bench/gate/RESULTS.md}"
mkdir -p "$OUT"
load() { printf '{"kind": "%s", "loadavg": "%s"}\n' "$1" "$(cut -d' ' -f1-3 /proc/loadavg)"; }

echo "== building sopilot and gate-bench (release) into $CARGO_TARGET_DIR" >&2
cargo build --release --quiet -p sopilot -p sopilot-bench-gate
SOPILOT="$CARGO_TARGET_DIR/release/sopilot"

echo "== simulator (tests/scenarios/payment-incident.yaml)" >&2
"$SOPILOT" sim serve --scenario tests/scenarios/payment-incident.yaml > "$OUT/sim.jsonl" 2> "$OUT/sim.log" &
SIM=$!
trap 'kill $SIM 2>/dev/null || true' EXIT
for _ in $(seq 600); do [ -s "$OUT/sim.jsonl" ] && break; sleep 0.1; done
[ -s "$OUT/sim.jsonl" ] || { echo "the simulator did not start; see $OUT/sim.log" >&2; exit 1; }
KUBECONFIG_FILE=$(head -1 "$OUT/sim.jsonl" | python3 -c 'import json, sys; print(json.load(sys.stdin)["kubeconfig"])')

for r in $(seq "$REPEATS"); do
    echo "== gate, repeat $r/$REPEATS (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    {
        load load_before
        "$CARGO_TARGET_DIR/release/gate-bench" --sopilot "$SOPILOT" --kubeconfig "$KUBECONFIG_FILE" \
            --policy policies/ --rounds "$ROUNDS"
        load load_after
    } > "$OUT/gate$r.jsonl"
done
kill $SIM 2>/dev/null || true

echo "== sopilot demo x $DEMO_RUNS" >&2
DEMO_DIR=$(mktemp -d -t sopilot-demo-bench.XXXXXX)
{
    load load_before
    for _ in $(seq "$DEMO_RUNS"); do
        # From an empty folder with its own state home: the demo uses only what it embeds.
        (cd "$DEMO_DIR" && XDG_STATE_HOME="$DEMO_DIR/state" python3 "$OLDPWD/bench/gate/treemem.py" -- "$SOPILOT" demo)
    done
    load load_after
} > "$OUT/demo.jsonl"
rm -rf "$DEMO_DIR"

{
    echo "# Gate overhead and demo: measured results"
    echo
    echo "Issue 5's benchmark. \`gate-bench\` (bench/gate) connects the real \`sopilot_runtime::Gateway\`"
    echo "to \`sopilot mcp-server kubectl --allow-write\` (a child process over stdio) against"
    echo "\`sopilot sim serve --scenario tests/scenarios/payment-incident.yaml\`, with the shipped"
    echo "\`policies/default.yaml\`, and times each call directly through the gateway and through"
    echo "\`Gate::handle\`, interleaved round by round. The gate's store is SQLite on disk (WAL,"
    echo "synced to disk before a mutating call executes, as \`sopilot run\` and \`sopilot serve\` use it)"
    echo "or in memory."
    echo
    echo "- sopilot: this repository at $(git rev-parse --short HEAD), release build."
    echo "- Command: \`bench/gate/run.sh $REPEATS $DEMO_RUNS\` (ROUNDS=$ROUNDS timed calls per case and variant per repeat)."
    echo "- Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/{print $2}') GiB, $(findmnt -no FSTYPE -T "${TMPDIR:-/tmp}") for the store, shared with other engineers' builds."
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo
    python3 bench/gate/report.py "$OUT"/gate*.jsonl "$OUT/demo.jsonl"
    echo "Raw results: \`$OUT\`."
} > "$RESULTS"
cat "$RESULTS"
