#!/usr/bin/env bash
# The CUDA build of ONNX Runtime and the CUDA libraries it needs, from PyPI only, for
# `make gpu-check` on a machine with an NVIDIA GPU: the `onnxruntime-gpu` wheel (which carries
# libonnxruntime_providers_cuda.so) with its `cuda` and `cudnn` extras (nvidia-* packages).
#
# Run from the repository root. Installs into .tools/ort-gpu (gitignored) and prints the two
# environment variables the `pairwise` binary needs, as `export` lines:
#   ORT_DYLIB_PATH   the CUDA-enabled libonnxruntime.so
#   LD_LIBRARY_PATH  the nvidia-* library folders (cuDNN, cuBLAS, CUDA runtime, …)
set -euo pipefail

ORT_VERSION=1.31.1  # the newest onnxruntime-gpu on PyPI (CUDA 13)
TARGET=.tools/ort-gpu
PYTHON=${PYTHON:-python3}

[ -f Cargo.toml ] && [ -d scripts/models ] || { echo "run from the repository root" >&2; exit 1; }

if [ ! -f "$TARGET/.complete-$ORT_VERSION" ]; then
    echo "==> onnxruntime-gpu $ORT_VERSION with CUDA and cuDNN from PyPI into $TARGET (large download)" >&2
    rm -rf "$TARGET"
    "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
        --target "$TARGET" "onnxruntime-gpu[cuda,cudnn]==$ORT_VERSION" >&2
    touch "$TARGET/.complete-$ORT_VERSION"
fi

lib="$(cd "$TARGET/onnxruntime/capi" && pwd)/libonnxruntime.so.$ORT_VERSION"
[ -f "$lib" ] || { echo "missing $lib" >&2; exit 1; }
[ -f "$(dirname "$lib")/libonnxruntime_providers_cuda.so" ] || { echo "the wheel has no CUDA provider library" >&2; exit 1; }
dirs=$(find "$(cd "$TARGET" && pwd)/nvidia" -type d -name lib 2>/dev/null | sort | paste -sd: -)
echo "export ORT_DYLIB_PATH=$lib"
echo "export LD_LIBRARY_PATH=$(dirname "$lib")${dirs:+:$dirs}\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
