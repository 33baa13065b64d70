#!/usr/bin/env bash
# 1,000 Alertmanager notifications per second for 30 s against `sopilot serve`, 95 % of them
# repeats of a group already sent (open loop; bench/serve-load/src). Checks that no alarm is
# lost and dedup is exact (from the answers, then from the store), and reports the intake
# latency and the server's peak RSS. Issue 6's benchmark.
#
#   bench/serve-load/run.sh [REPEATS]      (default 3; RATE=1000 LOAD_SECONDS=30 DUPLICATES=95)
#
# Each repeat starts a fresh server and store. The runs are cheap on purpose: model `none`,
# one SOP (bench/serve-load/sops) with one read-only tool block against the simulator.
# Writes bench/serve-load/RESULTS.md (BENCH_RESULTS to write elsewhere); raw data in BENCH_OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."

REPEATS="${1:-3}"
RATE="${RATE:-1000}"
SECONDS_="${LOAD_SECONDS:-30}"
DUPLICATES="${DUPLICATES:-95}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sopilot-bench-target}"
OUT="${BENCH_OUT:-$(mktemp -d -t sopilot-serve-load.XXXXXX)}"
RESULTS="${BENCH_RESULTS:-bench/serve-load/RESULTS.md}"
mkdir -p "$OUT"
export SOPILOT_ALERTMANAGER_TOKEN="bench-alertmanager-token"
export SOPILOT_API_TOKEN="bench-api-token"
unset SLACK_BOT_TOKEN SLACK_SIGNING_SECRET AWS_REGION AWS_DEFAULT_REGION AWS_PROFILE
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "== building sopilot and serve-load (release) into $CARGO_TARGET_DIR" >&2
cargo build --release --quiet -p sopilot -p sopilot-bench-serve-load
SOPILOT="$CARGO_TARGET_DIR/release/sopilot"
LOADGEN="$CARGO_TARGET_DIR/release/serve-load"

echo "== simulator (tests/scenarios/payment-incident.yaml)" >&2
"$SOPILOT" sim serve --scenario tests/scenarios/payment-incident.yaml > "$OUT/sim.jsonl" 2> "$OUT/sim.log" &
SIM=$!
SERVER=""
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
    kill $SIM 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 600); do [ -s "$OUT/sim.jsonl" ] && break; sleep 0.1; done
[ -s "$OUT/sim.jsonl" ] || { echo "the simulator did not start; see $OUT/sim.log" >&2; exit 1; }
export KUBECONFIG
KUBECONFIG=$(head -1 "$OUT/sim.jsonl" | python3 -c 'import json, sys; print(json.load(sys.stdin)["kubeconfig"])')

metric() { # metric NAME: the sum of a counter's series on /metrics
    curl -s "$URL/metrics" | awk -v n="$1" '$1 == n || index($1, n "{") == 1 {s += $2} END {print s + 0}'
}
vmhwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

for r in $(seq "$REPEATS"); do
    D="$OUT/repeat$r"
    mkdir -p "$D"
    cat > "$D/sopilot.yaml" <<EOF
store: $D/sopilot.db
approval_timeout: 1m
builtin: [kubectl]
serve:
  listen: 127.0.0.1:0
  sops: [bench/serve-load/sops]
  policy: [policies/]
  model: none
  dedup_window: 10m
  max_concurrent_runs: 64
  queue_size: 100000
EOF
    RUST_LOG=info "$SOPILOT" serve --config "$D/sopilot.yaml" 2> "$D/serve.log" &
    SERVER=$!
    URL=""
    for _ in $(seq 300); do
        URL=$(grep -o 'listening on http://[0-9.:]*' "$D/serve.log" | head -1 | sed 's/listening on //') || true
        [ -n "$URL" ] && break
        sleep 0.1
    done
    [ -n "$URL" ] || { echo "sopilot serve did not start; see $D/serve.log" >&2; exit 1; }
    sleep 1
    IDLE_KIB=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status")

    echo "== repeat $r/$REPEATS: $RATE/s for $SECONDS_ s, $DUPLICATES % repeats, at $URL (load $(load))" >&2
    LOAD_BEFORE=$(load)
    "$LOADGEN" --url "$URL" --rate "$RATE" --seconds "$SECONDS_" --duplicates "$DUPLICATES" \
        --tag "r$r" > "$D/load.json"
    LOAD_AFTER=$(load)
    PEAK_AT_END_OF_LOAD=$(vmhwm "$SERVER")

    # Let the queued runs finish, then count from the store.
    T0=$(date +%s.%N)
    STARTED=$(metric sopilot_runs_started_total)
    for _ in $(seq 600); do
        [ "$(metric sopilot_runs_finished_total)" -ge "$STARTED" ] && break
        sleep 0.5
    done
    DRAIN_S=$(python3 -c "import time; print(round(time.time() - $T0, 1))")
    PEAK_KIB=$(vmhwm "$SERVER")
    CHILD_KIB=0
    for c in $(cat /proc/"$SERVER"/task/*/children 2>/dev/null); do
        CHILD_KIB=$((CHILD_KIB + $(vmhwm "$c")))
    done
    curl -s "$URL/metrics" | grep -E '^sopilot_(triggers|runs)_' > "$D/metrics.txt" || true
    kill -INT "$SERVER"
    wait "$SERVER" 2>/dev/null || true
    SERVER=""
    python3 - "$D" <<PY > "$D/summary.json"
import json, sqlite3, sys
d = sys.argv[1]
db = sqlite3.connect(f"{d}/sopilot.db")
q = lambda sql: db.execute(sql).fetchall()
load = json.load(open(f"{d}/load.json"))
runs = q("SELECT status, COUNT(*) FROM runs GROUP BY status")
keys = q("SELECT COUNT(DISTINCT json_extract(trigger, '$.group.group_key')) FROM runs")[0][0]
notes = q("SELECT COUNT(*) FROM events WHERE body LIKE '%a repeat of the trigger joined this run%'")[0][0]
print(json.dumps({"load": load, "store_runs": sum(n for _, n in runs), "store_runs_by_status": dict(runs),
                  "store_distinct_group_keys": keys, "store_repeat_notes": notes,
                  "idle_rss_kib": int("$IDLE_KIB"), "peak_rss_kib_end_of_load": int("$PEAK_AT_END_OF_LOAD"),
                  "peak_rss_kib": int("$PEAK_KIB"), "children_peak_rss_kib": int("$CHILD_KIB"),
                  "drain_s": float("$DRAIN_S"), "load_before": "$LOAD_BEFORE", "load_after": "$LOAD_AFTER",
                  "metrics": open(f"{d}/metrics.txt").read().splitlines()}))
PY
    python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); l = s["load"]; print("   lost %s, exact dedup %s, p99 %.1f ms, runs in store %s of %s groups" % (l["lost"], l["exact_dedup"], l["latency_from_due"]["p99_ms"], s["store_runs"], l["distinct_groups"]), file=sys.stderr)' "$D/summary.json"
done
kill $SIM 2>/dev/null || true

{
    echo "# \`sopilot serve\` under alarm load: measured results"
    echo
    echo "Issue 6's benchmark. \`serve-load\` (bench/serve-load) posts Alertmanager v4 notifications to"
    echo "\`/hooks/alertmanager\` at a fixed rate (open loop: each request leaves when it is due, answered"
    echo "or not; latency counts from that moment), one new alert group in every 20 and otherwise a"
    echo "repeat of one of the 50 most recent groups, the newest included, so repeats race their"
    echo "group's first notification. \`sopilot serve\` runs with model \`none\`, one cheap SOP"
    echo "(bench/serve-load/sops: one read-only \`describe_pod\` per run) against"
    echo "\`sopilot sim serve --scenario tests/scenarios/payment-incident.yaml\`, 64 concurrent runs,"
    echo "a queue of 100,000, a 10-minute dedup window and its SQLite store on disk. Each repeat"
    echo "starts a fresh server and store; the load generator (one thread) runs on the same machine."
    echo
    echo "- sopilot: this repository at $(git rev-parse --short HEAD), release build."
    echo "- Command: \`bench/serve-load/run.sh $REPEATS\` (RATE=$RATE, LOAD_SECONDS=$SECONDS_, DUPLICATES=$DUPLICATES)."
    echo "- Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/{print $2}') GiB, $(findmnt -no FSTYPE -T "$OUT") for the store, shared with other engineers' builds."
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo
    python3 bench/serve-load/report.py "$OUT"/repeat*/summary.json
    echo "Raw results: \`$OUT\`."
} > "$RESULTS"
cat "$RESULTS"
