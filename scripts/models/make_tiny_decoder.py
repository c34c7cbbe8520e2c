#!/usr/bin/env python3
"""Write a tiny random-weight llama decoder for fast Rust tests.

``models/tiny/`` gets the same files, graph signature and graph builder as
the converted SmolLM2 model (see ``convert_gguf_llama.py``), at a size of a
few hundred kB, so tests can exercise tokenisation, the chat template, the KV
cache and sampling in milliseconds. Its output is gibberish by design;
``verify.json`` pins the greedy tokens the Python onnxruntime loop produced.

Everything is deterministic: the tokenizer is trained on a fixed corpus and
the weights come from a fixed numpy seed.

Usage (from the repo root, inside .tools/venv):

    python scripts/models/make_tiny_decoder.py --out models/tiny
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

# The converter lives next to this file; when run as a script its directory
# is already on sys.path, this makes importing it as a module work too.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from convert_gguf_llama import (  # noqa: E402
    CHATML_TEMPLATE,
    LlamaConfig,
    build_decoder_model,
    save_onnx_model,
    verify_model_dir,
    write_hf_files,
)

SEED = 20240611
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]  # ids 0, 1, 2 as in SmolLM2
TARGET_VOCAB = 384
RESIDUAL_GAIN = 4.0

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Pairwise compares two answers to the same question and picks the better one.",
    "What is the capital of France? The capital of France is Paris.",
    "Hello there! How are you today? I am fine, thank you.",
    "A language model predicts the next token from the previous tokens.",
    "Numbers like 1, 2, 3, 42 and 2024 are split into single digits.",
    "user assistant system: You are a helpful AI assistant.",
    "Write a short poem about the sea, the wind and the stars.",
]

PROMPTS = [
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>user\nHello there<|im_end|>\n<|im_start|>assistant\n",
]


def build_tokenizer():
    """Small byte-level BPE with the same pre-tokenizer shape as SmolLM2's."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE(fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=TARGET_VOCAB,
        min_frequency=1,
        special_tokens=SPECIAL_TOKENS,
        # Seeding all 256 byte symbols keeps every UTF-8 input encodable.
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 4, trainer)
    for i, t in enumerate(SPECIAL_TOKENS):
        assert tok.token_to_id(t) == i, f"{t} did not get id {i}"
    return tok


def random_weights(cfg: LlamaConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random weights in the builder's HF naming and orientation.

    Linear layers use 1/sqrt(fan_in) scaling so activations stay O(1); the
    embedding uses unit variance so the tied-lm_head logits are spread wide
    and the greedy argmax has clear margins (robust across thread counts).
    The residual-branch outputs (o_proj, down_proj) are scaled up: with a
    tied lm_head the input embedding otherwise dominates the residual stream
    and the model just repeats its last token, which would hide cache bugs.
    """
    H, I, D = cfg.hidden_size, cfg.intermediate_size, cfg.head_dim
    q_out, kv_out = cfg.num_attention_heads * D, cfg.num_key_value_heads * D

    def lin(out_f: int, in_f: int, gain: float = 1.0) -> np.ndarray:
        return (gain * rng.standard_normal((out_f, in_f)) / np.sqrt(in_f)).astype(np.float32)

    def norm() -> np.ndarray:
        return (1.0 + 0.1 * rng.standard_normal(H)).astype(np.float32)

    w = {"embed_tokens": rng.standard_normal((cfg.vocab_size, H)).astype(np.float32)}
    for i in range(cfg.num_hidden_layers):
        p = f"layers.{i}."
        w[p + "input_layernorm"] = norm()
        w[p + "post_attention_layernorm"] = norm()
        w[p + "q_proj"] = lin(q_out, H)
        w[p + "k_proj"] = lin(kv_out, H)
        w[p + "v_proj"] = lin(kv_out, H)
        w[p + "o_proj"] = lin(H, q_out, RESIDUAL_GAIN)
        w[p + "gate_proj"] = lin(I, H)
        w[p + "up_proj"] = lin(I, H)
        w[p + "down_proj"] = lin(H, I, RESIDUAL_GAIN)
    # Zero-mean final-norm gains decorrelate the hidden state from the tied
    # embedding of the last input token (see above).
    w["norm"] = rng.standard_normal(H).astype(np.float32)
    return w


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("models/tiny"))
    ap.add_argument("--force", action="store_true", help="rebuild even if verify.json exists")
    ap.add_argument("--shape", choices=["tiny", "smollm2-135m"], default="tiny",
                    help="layer shapes: tiny (tests) or SmolLM2-135M's (30 layers, hidden 576; "
                         "random weights, tiny vocabulary) for throughput checks on a GPU "
                         "machine that cannot download the real model")
    args = ap.parse_args(argv)
    out: Path = args.out
    if not args.force and (out / "verify.json").exists():
        print(f"{out} is complete, skipping")
        return 0

    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)

    tokenizer = build_tokenizer()
    dims = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, head_dim=16)
    if args.shape == "smollm2-135m":
        dims = dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                    num_attention_heads=9, num_key_value_heads=3, head_dim=64)
    cfg = LlamaConfig(
        vocab_size=tokenizer.get_vocab_size(with_added_tokens=True),
        **dims,
        rope_theta=10000.0,
        rms_norm_eps=1e-5,
        max_position_embeddings=2048,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
    )
    print(f"  tiny config: {cfg}")
    special = {"bos": "<|im_start|>", "eos": "<|im_end|>", "pad": "<|im_end|>",
               "unk": "<|endoftext|>"}
    write_hf_files(tmp, cfg, tokenizer, CHATML_TEMPLATE, special, add_bos_token=False)

    model = build_decoder_model(cfg, random_weights(cfg, np.random.default_rng(SEED)),
                                producer="pairwise-make_tiny_decoder")
    save_onnx_model(model, tmp)
    verify_model_dir(tmp, PROMPTS, max_new_tokens=16)

    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    print(f"  wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
