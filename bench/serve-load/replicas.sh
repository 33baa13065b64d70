#!/usr/bin/env bash
# Issue 15's benchmark: alarm intake of `sopilot serve` as one process on SQLite (today's
# default) against one, two and three replicas on one PostgreSQL store, side by side in one
# run. The same open-loop load as run.sh (bench/serve-load/src): RATE Alertmanager
# notifications per second for LOAD_SECONDS, DUPLICATES % of them repeats of a recent group;
# with several replicas request i goes to replica i mod n, so a group's repeats reach every
# replica and dedup must hold across them. Checks that no alarm is lost and dedup is exact
# (from the answers, then from the store), and reports intake throughput and latency.
#
#   bench/serve-load/replicas.sh [REPEATS]   (default 1; RATE=1000 LOAD_SECONDS=20 DUPLICATES=95
#                                             PG=postgres://postgres@127.0.0.1:5432/test
#                                             CONFIGS="sqlite:1 postgres:1 postgres:2 postgres:3")
#
# Each configuration of each repeat starts fresh servers and a fresh store (a schema of its
# own on PG); the configurations are interleaved within a repeat. Every process (servers,
# simulator, load generator, PostgreSQL) shares the machine. Writes
# bench/serve-load/RESULTS-replicas.md (BENCH_RESULTS to write elsewhere); raw data in BENCH_OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."

REPEATS="${1:-1}"
RATE="${RATE:-1000}"
SECONDS_="${LOAD_SECONDS:-20}"
DUPLICATES="${DUPLICATES:-95}"
PG="${PG:-postgres://postgres@127.0.0.1:5432/test}"
CONFIGS="${CONFIGS:-sqlite:1 postgres:1 postgres:2 postgres:3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sopilot-bench-target}"
OUT="${BENCH_OUT:-$(mktemp -d -t sopilot-serve-replicas.XXXXXX)}"
RESULTS="${BENCH_RESULTS:-bench/serve-load/RESULTS-replicas.md}"
mkdir -p "$OUT"
export PGOPTIONS='-c client_min_messages=warning'
export SOPILOT_ALERTMANAGER_TOKEN="bench-alertmanager-token"
export SOPILOT_API_TOKEN="bench-api-token"
unset SLACK_BOT_TOKEN SLACK_SIGNING_SECRET AWS_REGION AWS_DEFAULT_REGION AWS_PROFILE SOPILOT_STORE
load() { cut -d' ' -f1-3 /proc/loadavg; }
case " $CONFIGS " in *" postgres:"*)
    pg_isready -q -d "$PG" || { echo "PostgreSQL does not answer at $PG (set PG=postgres://...)" >&2; exit 1; } ;;
esac

if [ -n "${SOPILOT_BIN:-}" ] && [ -n "${LOADGEN_BIN:-}" ]; then
    # Binaries built elsewhere (a smoke run of this script with debug builds, say).
    SOPILOT="$SOPILOT_BIN" LOADGEN="$LOADGEN_BIN" BUILT="given, not built here"
else
    BUILT="a release build made by this script"
    echo "== building sopilot and serve-load (release) into $CARGO_TARGET_DIR" >&2
    cargo build --release --quiet -p sopilot -p sopilot-bench-serve-load
    SOPILOT="$CARGO_TARGET_DIR/release/sopilot"
    LOADGEN="$CARGO_TARGET_DIR/release/serve-load"
fi

echo "== simulator (tests/scenarios/payment-incident.yaml)" >&2
"$SOPILOT" sim serve --scenario tests/scenarios/payment-incident.yaml > "$OUT/sim.jsonl" 2> "$OUT/sim.log" &
SIM=$!
SERVERS=()
cleanup() {
    for p in "${SERVERS[@]}"; do kill "$p" 2>/dev/null || true; done
    kill $SIM 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 600); do [ -s "$OUT/sim.jsonl" ] && break; sleep 0.1; done
[ -s "$OUT/sim.jsonl" ] || { echo "the simulator did not start; see $OUT/sim.log" >&2; exit 1; }
export KUBECONFIG
KUBECONFIG=$(head -1 "$OUT/sim.jsonl" | python3 -c 'import json, sys; print(json.load(sys.stdin)["kubeconfig"])')

metric() { # metric NAME URL...: the sum of a counter's series over the replicas' /metrics
    local n="$1"; shift
    for u in "$@"; do curl -s "$u/metrics"; done | awk -v n="$n" '$1 == n || index($1, n "{") == 1 {s += $2} END {print s + 0}'
}
vmhwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# run_config REPEAT BACKEND N: one measurement; writes $OUT/<backend>-<n>-r<repeat>/summary.json
run_config() {
    local r="$1" backend="$2" n="$3"
    local D="$OUT/$backend-$n-r$r" store schema=""
    mkdir -p "$D"
    if [ "$backend" = sqlite ]; then
        store="$D/sopilot.db"
    else
        schema="bench_${n}_r${r}_$$"
        psql "$PG" -q -v ON_ERROR_STOP=1 -c "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null
        store="$PG?options=-c%20search_path%3D$schema"
    fi
    cat > "$D/sopilot.yaml" <<EOF
store: "$store"
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
    local urls=() pids=()
    for i in $(seq "$n"); do
        RUST_LOG=info "$SOPILOT" serve --config "$D/sopilot.yaml" 2> "$D/serve$i.log" &
        pids+=($!)
        SERVERS+=($!)
        local url=""
        for _ in $(seq 300); do
            url=$(grep -o 'listening on http://[0-9.:]*' "$D/serve$i.log" | head -1 | sed 's/listening on //') || true
            [ -n "$url" ] && break
            sleep 0.1
        done
        [ -n "$url" ] || { echo "sopilot serve did not start; see $D/serve$i.log" >&2; exit 1; }
        urls+=("$url")
    done
    sleep 1
    local args=()
    for u in "${urls[@]}"; do args+=(--url "$u"); done
    echo "== repeat $r: $backend x$n, $RATE/s for $SECONDS_ s, $DUPLICATES % repeats (load $(load))" >&2
    local load_before load_after
    load_before=$(load)
    "$LOADGEN" "${args[@]}" --rate "$RATE" --seconds "$SECONDS_" --duplicates "$DUPLICATES" \
        --tag "$backend$n-r$r" > "$D/load.json"
    load_after=$(load)
    local t0 started drain peak=0
    t0=$(date +%s.%N)
    started=$(metric sopilot_runs_started_total "${urls[@]}")
    for _ in $(seq 600); do
        [ "$(metric sopilot_runs_finished_total "${urls[@]}")" -ge "$started" ] && break
        sleep 0.5
    done
    drain=$(python3 -c "import time; print(round(time.time() - $t0, 1))")
    for p in "${pids[@]}"; do
        local k; k=$(vmhwm "$p"); [ "$k" -gt "$peak" ] && peak=$k
    done
    for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    SERVERS=()

    if [ "$backend" = sqlite ]; then
        q() { python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$store" "$1"; }
        q_keys="SELECT COUNT(DISTINCT json_extract(trigger, '\$.group.group_key')) FROM runs"
    else
        q() { psql "$PG" -At -c "SET search_path TO $schema; $1" | tail -1; }
        q_keys="SELECT COUNT(DISTINCT (trigger::jsonb)->'group'->>'group_key') FROM runs"
    fi
    local runs keys notes
    runs=$(q "SELECT COUNT(*) FROM runs")
    keys=$(q "$q_keys")
    notes=$(q "SELECT COUNT(*) FROM events WHERE body LIKE '%a repeat of the trigger joined this run%'")
    [ -n "$schema" ] && psql "$PG" -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null
    python3 - "$D" "$backend" "$n" "$runs" "$keys" "$notes" "$peak" "$drain" "$load_before" "$load_after" <<'PY' > "$D/summary.json"
import json, sys
d, backend, n, runs, keys, notes, peak, drain, before, after = sys.argv[1:]
print(json.dumps({"config": f"{backend} x{n}", "backend": backend, "replicas": int(n),
                  "load": json.load(open(f"{d}/load.json")), "store_runs": int(runs),
                  "store_distinct_group_keys": int(keys), "store_repeat_notes": int(notes),
                  "peak_rss_kib": int(peak), "drain_s": float(drain),
                  "load_before": before, "load_after": after}))
PY
    python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); l = s["load"]; print("   lost %s, exact dedup %s, p99 %.1f ms, runs in store %s of %s groups" % (l["lost"], l["exact_dedup"], l["latency_from_due"]["p99_ms"], s["store_runs"], l["distinct_groups"]), file=sys.stderr)' "$D/summary.json"
}

for r in $(seq "$REPEATS"); do
    for c in $CONFIGS; do run_config "$r" "${c%%:*}" "${c##*:}"; done
done
kill $SIM 2>/dev/null || true

{
    echo "# \`sopilot serve\` replicas on PostgreSQL under alarm load: measured results"
    echo
    echo "Issue 15's benchmark (bench/serve-load/replicas.sh). The load of run.sh (open loop: each"
    echo "request leaves when it is due, answered or not; latency counts from that moment; one new"
    echo "alert group in every $((100 / (100 - DUPLICATES))), otherwise a repeat of one of the 50 most recent groups) against"
    echo "\`sopilot serve\` as one process on its SQLite store and as one, two and three replicas"
    echo "on one PostgreSQL store. With several replicas request i goes to replica i mod n (a load"
    echo "balancer without affinity), so a group's repeats reach every replica and must join the"
    echo "run one of them started. Model \`none\`, one cheap SOP (bench/serve-load/sops), 64"
    echo "concurrent runs per replica and a run queue of 100,000 (shared by the replicas on"
    echo "PostgreSQL), a 10-minute dedup window."
    echo
    echo "- sopilot: this repository at $(git rev-parse --short HEAD); binary $SOPILOT ($BUILT)."
    echo "- Command: \`bench/serve-load/replicas.sh $REPEATS\` (RATE=$RATE, LOAD_SECONDS=$SECONDS_, DUPLICATES=$DUPLICATES, CONFIGS=\"$CONFIGS\")."
    echo "- PostgreSQL: $(psql "$PG" -At -c 'SHOW server_version' 2>/dev/null || echo 'not used') on the same machine."
    echo "- Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/{print $2}') GiB; the servers, the simulator, PostgreSQL and the load generator share it."
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo
    python3 bench/serve-load/report_replicas.py "$OUT"/*/summary.json
    echo "Raw results: \`$OUT\`."
} > "$RESULTS"
cat "$RESULTS"
