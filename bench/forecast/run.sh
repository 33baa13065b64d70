#!/usr/bin/env bash
# Fit + forecast time and accuracy of sopilot-forecast side by side with Python
# Prophet (and statsmodels' STL + ETS) on one series: 7 days of 5-minute points
# (2016) from 24 origins, 6 hours ahead. The Rust example writes the series as
# CSV once, so both sides read identical data.
#
#   bench/forecast/run.sh [REPEAT_RUST [REPEAT_PYTHON]]     (defaults 20 and 1)
#
# Python packages go into a virtualenv outside the repository
# (BENCH_VENV, default ~/.cache/sopilot-bench/venv); output into BENCH_OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."

REPEAT_RUST="${1:-20}"
REPEAT_PYTHON="${2:-1}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sopilot-target-forecast}"
OUT="${BENCH_OUT:-$(mktemp -d -t sopilot-forecast-bench.XXXXXX)}"
VENV="${BENCH_VENV:-$HOME/.cache/sopilot-bench/venv}"
mkdir -p "$OUT"

echo "== building the Rust side (release)" >&2
cargo build --release --quiet -p sopilot-forecast --example forecast_bench
BIN="$CARGO_TARGET_DIR/release/examples/forecast_bench"
"$BIN" write "$OUT"

echo "== Python side: $VENV" >&2
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
if ! "$VENV/bin/python" -c 'import prophet, statsmodels' 2>/dev/null; then
    # Failure is reported in the table rather than stopping the Rust half.
    "$VENV/bin/pip" install --quiet 'prophet>=1.1' 'statsmodels>=0.14' >&2 \
        || echo "pip install prophet statsmodels failed; the table says which could not run" >&2
fi

echo "== timing sopilot-forecast ($REPEAT_RUST runs per origin)" >&2
"$BIN" time "$OUT" "$REPEAT_RUST" > "$OUT/results.jsonl"
echo "== timing Python ($REPEAT_PYTHON run per origin per model)" >&2
"$VENV/bin/python" bench/forecast/python_bench.py "$OUT" "$REPEAT_PYTHON" 2>/dev/null >> "$OUT/results.jsonl" \
    || echo '{"name": "python", "error": "python_bench.py failed"}' >> "$OUT/results.jsonl"

echo >&2
python3 bench/forecast/report.py "$OUT/results.jsonl"
echo
echo "Series, plan and raw results: $OUT"
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "Python: $("$VENV/bin/python" -c 'import sys, prophet, statsmodels; print(sys.version.split()[0], "prophet", prophet.__version__, "statsmodels", statsmodels.__version__)' 2>/dev/null || echo 'prophet/statsmodels unavailable')"
