#!/usr/bin/env bash
# The CUDA check, run on a machine with an NVIDIA GPU and CUDA 13 runtime libraries installed as
# Python `nvidia-*` wheels (what `onnxruntime-gpu` 1.31's `[cuda,cudnn]` extras install). It needs
#   $1  a folder with libonnxruntime.so.1.31.1, libonnxruntime_providers_shared.so and
#       libonnxruntime_providers_cuda.so from the PyPI `onnxruntime-gpu==1.31.1` wheel
#   $2  a release `pairwise` binary
# and writes JSON under ${OUT:-bench/results}: greedy token ids of the tiny test model on CUDA and
# CPU (they must agree), and `bench generate` on CUDA and CPU for a decoder with SmolLM2-135M's
# layer shapes (random weights, made here: the real weights cannot be downloaded on such hosts).
set -euo pipefail
LIB=$(cd "$1" && pwd)
BIN=$2
OUT=${OUT:-bench/results}
mkdir -p "$OUT" /tmp/gpu-models
PY=${PYTHON:-python3}

# The CUDA, cuBLAS and cuDNN libraries of the nvidia-* wheels beside this Python.
site=$("$PY" -c 'import nvidia, os; print(os.path.dirname(list(nvidia.__path__)[0]))' 2>/dev/null || true)
nv=""
[ -n "$site" ] && nv=$(find "$site/nvidia" -maxdepth 3 -type d -name lib | sort | paste -sd: -)
export LD_LIBRARY_PATH="$LIB:$nv${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export ORT_DYLIB_PATH="$LIB/libonnxruntime.so.1.31.1"

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
"$PY" scripts/models/make_tiny_decoder.py --out /tmp/gpu-models/tiny >/dev/null
"$PY" scripts/models/make_tiny_decoder.py --shape smollm2-135m --out /tmp/gpu-models/smol >/dev/null

for device in cuda cpu; do
    "$BIN" generate --model /tmp/gpu-models/tiny --device "$device" --prompt "Hello there" \
        --n 2 --temperature 0 --max-new-tokens 16 --json > "$OUT/tiny-$device.json"
done
"$PY" - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
rows = {d: [json.loads(l) for l in open(f"{out}/tiny-{d}.json") if l.strip()] for d in ("cuda", "cpu")}
print("providers:", {d: sorted({r["provider"] for r in v}) for d, v in rows.items()})
assert all(r["provider"] == "cuda" for r in rows["cuda"]), "not on CUDA"
ids = {d: [r["token_ids"] for r in v] for d, v in rows.items()}
assert ids["cuda"] == ids["cpu"], f"greedy tokens differ: {ids}"
print("greedy token ids identical on CUDA and CPU")
PY
for device in cuda cpu; do
    "$BIN" bench generate --model /tmp/gpu-models/smol --device "$device" --n 8 \
        --max-new-tokens 48 --python none --out "$OUT/generate-smollm2-shape-$device.json"
done
