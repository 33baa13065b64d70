#!/usr/bin/env bash
# sopilot-correlate side by side with scipy and numpy on the same seeded series: r at lag 0,
# the lag within ±15 steps with the largest |r| and its r, for 60 to 10,080 points (an hour
# to a week of minutes), five cases per length with a planted lead of 0-10 steps. The Rust
# example writes the cases as JSON once, so both sides read identical data. The tables: how
# often the lags agree and the largest difference in r; median times as ratios.
#
#   bench/correlate/run.sh [REPEAT_RUST [REPEAT_PYTHON]]     (defaults 200 and 50)
#
# numpy and scipy go into a virtualenv outside the repository (BENCH_VENV, default
# ~/.cache/sopilot-bench/venv); output into BENCH_OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."

REPEAT_RUST="${1:-200}"
REPEAT_PYTHON="${2:-50}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sopilot-target}"
OUT="${BENCH_OUT:-$(mktemp -d -t sopilot-correlate-bench.XXXXXX)}"
VENV="${BENCH_VENV:-$HOME/.cache/sopilot-bench/venv}"
mkdir -p "$OUT"

echo "== building the Rust side (release)" >&2
cargo build --release --quiet -p sopilot-correlate --example correlate_bench
BIN="$CARGO_TARGET_DIR/release/examples/correlate_bench"
"$BIN" write "$OUT"

echo "== Python side: $VENV" >&2
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
if ! "$VENV/bin/python" -c 'import numpy, scipy' 2>/dev/null; then
    "$VENV/bin/pip" install --quiet 'numpy>=1.26' 'scipy>=1.11' >&2 \
        || echo "pip install numpy scipy failed; the table says what could not run" >&2
fi

echo "== timing sopilot-correlate ($REPEAT_RUST runs per case)" >&2
"$BIN" time "$OUT" "$REPEAT_RUST" > "$OUT/results.jsonl"
echo "== timing scipy and numpy ($REPEAT_PYTHON runs per case)" >&2
"$VENV/bin/python" bench/correlate/python_bench.py "$OUT" "$REPEAT_PYTHON" >> "$OUT/results.jsonl" \
    || echo '{"error": "python_bench.py failed"}' >> "$OUT/results.jsonl"

echo >&2
python3 bench/correlate/report.py "$OUT/results.jsonl"
echo
echo "Cases and raw results: $OUT"
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Python: $("$VENV/bin/python" -c 'import sys, numpy, scipy; print(sys.version.split()[0], "numpy", numpy.__version__, "scipy", scipy.__version__)' 2>/dev/null || echo 'numpy/scipy unavailable')"
