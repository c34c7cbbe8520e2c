#!/usr/bin/env python3
"""Convert a llama-architecture GGUF checkpoint into an ONNX decoder directory.

The output follows the optimum / transformers.js layout that the Rust
inference crate loads:

    model.onnx, model.onnx_data      float32 decoder with KV cache (opset 18)
    tokenizer.json                   byte-level BPE rebuilt from the GGUF vocab
    tokenizer_config.json            special tokens + chat template
    config.json                      HF LlamaConfig fields
    generation_config.json
    verify.json                      greedy reference tokens for the Rust tests

Graph signature (``L`` layers, ``Hkv`` KV heads, ``D`` head dim, ``V`` vocab):

    inputs   input_ids                 int64   [batch_size, sequence_length]
             attention_mask            int64   [batch_size, total_sequence_length]
             position_ids              int64   [batch_size, sequence_length]
             past_key_values.{i}.key   float32 [batch_size, Hkv, past_sequence_length, D]
             past_key_values.{i}.value float32 [batch_size, Hkv, past_sequence_length, D]
    outputs  logits                    float32 [batch_size, sequence_length, V]
             present.{i}.key           float32 [batch_size, Hkv, total_sequence_length, D]
             present.{i}.value         float32 [batch_size, Hkv, total_sequence_length, D]

Only standard ONNX ops are used for the fp32 graph so that any ONNX Runtime
build (and other runtimes) can execute it. An optional second output
directory receives a 4-bit (MatMulNBits, block 32, symmetric) variant.

The graph builder, the HF metadata writers and the onnxruntime verification
loop are also used by ``make_tiny_decoder.py``; keep them free of GGUF
specifics.

Usage (from the repo root, inside .tools/venv):

    python scripts/models/convert_gguf_llama.py --gguf X.gguf \\
        --out models/demo --out-q4 models/demo-q4
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 18
# Opset 18 needs IR >= 8; pinning the minimum keeps the files loadable by older
# runtimes than the onnx package we build with would otherwise claim.
IR_VERSION = 8
EXTERNAL_DATA_NAME = "model.onnx_data"

# SmolLM2-Instruct's ChatML template, used verbatim when a GGUF carries none
# and by the tiny test model so both behave identically in the Rust crate.
CHATML_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# Verification prompts: a short factual answer (should say Paris) and one
# whose answer fills the whole token budget, so the cache runs many steps.
DEFAULT_PROMPTS = [
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>user\nGive me three tips for staying healthy.<|im_end|>\n<|im_start|>assistant\n",
]


# ---------------------------------------------------------------------------
# Model description
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class LlamaConfig:
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    rope_theta: float
    rms_norm_eps: float
    max_position_embeddings: int
    bos_token_id: int
    eos_token_id: int
    pad_token_id: int

    def to_hf_dict(self) -> dict[str, Any]:
        """HF ``LlamaConfig`` JSON (what transformers / transformers.js expect)."""
        return {
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "attention_bias": False,
            "attention_dropout": 0.0,
            "bos_token_id": self.bos_token_id,
            "eos_token_id": self.eos_token_id,
            "pad_token_id": self.pad_token_id,
            "head_dim": self.head_dim,
            "hidden_act": "silu",
            "hidden_size": self.hidden_size,
            "initializer_range": 0.02,
            "intermediate_size": self.intermediate_size,
            "max_position_embeddings": self.max_position_embeddings,
            "mlp_bias": False,
            "num_attention_heads": self.num_attention_heads,
            "num_hidden_layers": self.num_hidden_layers,
            "num_key_value_heads": self.num_key_value_heads,
            "pretraining_tp": 1,
            "rms_norm_eps": self.rms_norm_eps,
            "rope_scaling": None,
            "rope_theta": self.rope_theta,
            "tie_word_embeddings": True,
            "torch_dtype": "float32",
            "use_cache": True,
            "vocab_size": self.vocab_size,
        }


# Weight names used by the builder (HF naming, HF [out_features, in_features]
# orientation for linear layers):
#   embed_tokens [V, H], norm [H], and per layer i the prefix "layers.{i}." +
#   input_layernorm, post_attention_layernorm [H],
#   q_proj [Hq*D, H], k_proj / v_proj [Hkv*D, H], o_proj [H, Hq*D],
#   gate_proj / up_proj [I, H], down_proj [H, I].
LINEAR_NAMES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


# ---------------------------------------------------------------------------
# ONNX graph builder
# ---------------------------------------------------------------------------


class _GraphBuilder:
    """Accumulates nodes and initializers with unique, readable names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._names: set[str] = set()

    def _unique(self, base: str) -> str:
        name, n = base, 1
        while name in self._names:
            n += 1
            name = f"{base}_{n}"
        self._names.add(name)
        return name

    def op(self, op_type: str, inputs: list[str], name: str, outputs: list[str] | None = None,
           n_out: int = 1, domain: str = "", **attrs: Any):
        node_name = self._unique(name)
        if outputs is None:
            outputs = [f"{node_name}/output_{k}" for k in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outputs, name=node_name,
                                           domain=domain, **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    def init(self, name: str, array: np.ndarray) -> str:
        name = self._unique(name)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def i64(self, name: str, values: Iterable[int]) -> str:
        return self.init(name, np.asarray(list(values), dtype=np.int64))

    def f32(self, name: str, value: float) -> str:
        return self.init(name, np.asarray(value, dtype=np.float32))


def _rms_norm(g: _GraphBuilder, x: str, weight: str, eps: str, axes_last: str, two: str,
              prefix: str) -> str:
    # Pow -> ReduceMean -> Add -> Sqrt -> Div -> Mul is the exact pattern that
    # ONNX Runtime's SimplifiedLayerNormFusion recognises, so the CPU provider
    # runs a single fused kernel instead of six ops.
    sq = g.op("Pow", [x, two], f"{prefix}/Pow")
    mean = g.op("ReduceMean", [sq, axes_last], f"{prefix}/ReduceMean", keepdims=1)
    var = g.op("Add", [mean, eps], f"{prefix}/Add")
    std = g.op("Sqrt", [var], f"{prefix}/Sqrt")
    normed = g.op("Div", [x, std], f"{prefix}/Div")
    return g.op("Mul", [normed, weight], f"{prefix}/Mul")


def _rotary(g: _GraphBuilder, x: str, cos: str, sin: str, prefix: str) -> str:
    """HF ``apply_rotary_pos_emb``: x*cos + rotate_half(x)*sin on [B, H, S, D]."""
    x1, x2 = g.op("Split", [x], f"{prefix}/Split", n_out=2, axis=-1, num_outputs=2)
    neg_x2 = g.op("Neg", [x2], f"{prefix}/Neg")
    rotated = g.op("Concat", [neg_x2, x1], f"{prefix}/Concat", axis=-1)
    a = g.op("Mul", [x, cos], f"{prefix}/MulCos")
    b = g.op("Mul", [rotated, sin], f"{prefix}/MulSin")
    return g.op("Add", [a, b], f"{prefix}/Add")


def build_decoder_model(cfg: LlamaConfig, weights: dict[str, np.ndarray],
                        producer: str = "pairwise-convert_gguf_llama") -> onnx.ModelProto:
    """Build the float32 llama decoder graph with KV cache.

    ``weights`` is consumed (entries are popped) so that callers converting
    big checkpoints do not hold two float32 copies of every tensor.
    """
    H, D = cfg.hidden_size, cfg.head_dim
    n_q, n_kv = cfg.num_attention_heads, cfg.num_key_value_heads
    if n_q % n_kv:
        raise ValueError(f"num_attention_heads {n_q} not a multiple of num_key_value_heads {n_kv}")
    n_rep = n_q // n_kv
    g = _GraphBuilder()
    f32 = TensorProto.FLOAT

    def linear(x: str, name: str, layer_prefix: str) -> str:
        # Stored as [in, out] so MatMul needs no Transpose and the MatMulNBits
        # quantizer (which wants a rank-2 constant B) can pick it up.
        w = weights.pop(f"{layer_prefix}.{name}")
        w_name = g.init(f"model.{layer_prefix}.{name}.weight_t", w.T.astype(np.float32))
        return g.op("MatMul", [x, w_name], f"/model/{layer_prefix}/{name}/MatMul")

    # -- graph inputs / outputs ------------------------------------------------
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64,
                                      ["batch_size", "total_sequence_length"]),
        helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
    ]
    outputs = [helper.make_tensor_value_info("logits", f32, ["batch_size", "sequence_length", cfg.vocab_size])]
    for i in range(cfg.num_hidden_layers):
        for kind in ("key", "value"):
            inputs.append(helper.make_tensor_value_info(
                f"past_key_values.{i}.{kind}", f32, ["batch_size", n_kv, "past_sequence_length", D]))
            outputs.append(helper.make_tensor_value_info(
                f"present.{i}.{kind}", f32, ["batch_size", n_kv, "total_sequence_length", D]))

    # -- shared constants --------------------------------------------------------
    c_axes_last = g.i64("const_axes_last", [-1])
    c_two = g.f32("const_two", 2.0)
    c_eps = g.f32("const_rms_eps", cfg.rms_norm_eps)
    c_zero_f = g.f32("const_zero_f", 0.0)
    c_mask_min = g.f32("const_mask_min", float(np.finfo(np.float32).min))
    c_scale = g.f32("const_attn_scale", 1.0 / float(np.sqrt(D)))
    c_one_i = g.init("const_one_i", np.asarray(1, dtype=np.int64))
    c_zero_i = g.init("const_zero_i", np.asarray(0, dtype=np.int64))
    c_ax0 = g.i64("const_axes_0", [0])
    c_ax1 = g.i64("const_axes_1", [1])
    c_ax2 = g.i64("const_axes_2", [2])
    c_ax12 = g.i64("const_axes_1_2", [1, 2])
    shape_q = g.i64("const_shape_q", [0, 0, n_q, D])
    shape_kv = g.i64("const_shape_kv", [0, 0, n_kv, D])
    shape_q5 = g.i64("const_shape_q5", [0, n_kv, n_rep, -1, D])
    shape_ctx4 = g.i64("const_shape_ctx4", [0, n_q, -1, D])
    shape_ctx3 = g.i64("const_shape_ctx3", [0, 0, n_q * D])
    shape_2d = g.i64("const_shape_2d", [-1, H])
    c_vocab = g.i64("const_vocab", [cfg.vocab_size])
    inv_freq = 1.0 / (cfg.rope_theta ** (np.arange(0, D, 2, dtype=np.float64) / D))
    c_inv_freq = g.init("const_rope_inv_freq", inv_freq.astype(np.float32))

    # -- attention bias: causal AND attention_mask, shape [B, 1, 1, S, T] -------
    # Query i sits at absolute slot past+i of the cache; it may see slot j iff
    # j <= past+i and attention_mask[b, j] == 1. Indexing by cache slot (not by
    # position_ids) is what makes left-padded batches work.
    seq_len = g.op("Shape", ["input_ids"], "/model/mask/ShapeSeq", start=1, end=2)
    total_len = g.op("Shape", ["attention_mask"], "/model/mask/ShapeTotal", start=1, end=2)
    past_len = g.op("Sub", [total_len, seq_len], "/model/mask/PastLen")
    total_s = g.op("Squeeze", [total_len, c_ax0], "/model/mask/TotalScalar")
    past_s = g.op("Squeeze", [past_len, c_ax0], "/model/mask/PastScalar")
    q_pos = g.op("Range", [past_s, total_s, c_one_i], "/model/mask/QueryPos")
    k_pos = g.op("Range", [c_zero_i, total_s, c_one_i], "/model/mask/KeyPos")
    q_col = g.op("Unsqueeze", [q_pos, c_ax1], "/model/mask/QueryCol")   # [S, 1]
    k_row = g.op("Unsqueeze", [k_pos, c_ax0], "/model/mask/KeyRow")     # [1, T]
    causal = g.op("LessOrEqual", [k_row, q_col], "/model/mask/Causal")  # [S, T]
    pad = g.op("Cast", ["attention_mask"], "/model/mask/PadBool", to=TensorProto.BOOL)
    pad4 = g.op("Unsqueeze", [pad, c_ax12], "/model/mask/Pad4")          # [B, 1, 1, T]
    allowed = g.op("And", [causal, pad4], "/model/mask/Allowed")        # [B, 1, S, T]
    # A finite minimum (not -inf) keeps fully padded query rows NaN-free.
    bias4 = g.op("Where", [allowed, c_zero_f, c_mask_min], "/model/mask/Bias")
    bias5 = g.op("Unsqueeze", [bias4, c_ax1], "/model/mask/Bias5")       # [B, 1, 1, S, T]

    # -- rotary tables from position_ids: cos/sin [B, 1, S, D] ------------------
    pos_f = g.op("Cast", ["position_ids"], "/model/rotary/Cast", to=f32)
    pos_3 = g.op("Unsqueeze", [pos_f, c_ax2], "/model/rotary/Unsqueeze")  # [B, S, 1]
    freqs = g.op("Mul", [pos_3, c_inv_freq], "/model/rotary/Freqs")        # [B, S, D/2]
    emb = g.op("Concat", [freqs, freqs], "/model/rotary/Concat", axis=-1)  # [B, S, D]
    cos = g.op("Unsqueeze", [g.op("Cos", [emb], "/model/rotary/Cos"), c_ax1], "/model/rotary/CosU")
    sin = g.op("Unsqueeze", [g.op("Sin", [emb], "/model/rotary/Sin"), c_ax1], "/model/rotary/SinU")

    # -- embeddings ---------------------------------------------------------------
    # One initializer serves both the input Gather and the tied lm_head Gemm.
    embed = g.init("model.embed_tokens.weight", weights.pop("embed_tokens").astype(np.float32))
    x = g.op("Gather", [embed, "input_ids"], "/model/embed_tokens/Gather", axis=0)

    for i in range(cfg.num_hidden_layers):
        lp = f"layers.{i}"
        p = f"/model/{lp}"
        w_in = g.init(f"model.{lp}.input_layernorm.weight", weights.pop(f"{lp}.input_layernorm"))
        w_post = g.init(f"model.{lp}.post_attention_layernorm.weight",
                        weights.pop(f"{lp}.post_attention_layernorm"))

        h = _rms_norm(g, x, w_in, c_eps, c_axes_last, c_two, f"{p}/input_layernorm")
        q = linear(h, "q_proj", lp)
        k = linear(h, "k_proj", lp)
        v = linear(h, "v_proj", lp)
        q = g.op("Transpose", [g.op("Reshape", [q, shape_q], f"{p}/attn/q/Reshape")],
                 f"{p}/attn/q/Transpose", perm=[0, 2, 1, 3])                 # [B, Hq, S, D]
        k = g.op("Transpose", [g.op("Reshape", [k, shape_kv], f"{p}/attn/k/Reshape")],
                 f"{p}/attn/k/Transpose", perm=[0, 2, 1, 3])                 # [B, Hkv, S, D]
        v = g.op("Transpose", [g.op("Reshape", [v, shape_kv], f"{p}/attn/v/Reshape")],
                 f"{p}/attn/v/Transpose", perm=[0, 2, 1, 3])
        q = _rotary(g, q, cos, sin, f"{p}/attn/q_rotary")
        k = _rotary(g, k, cos, sin, f"{p}/attn/k_rotary")

        k_all = g.op("Concat", [f"past_key_values.{i}.key", k], f"{p}/attn/k/ConcatPast",
                     outputs=[f"present.{i}.key"], axis=2)                   # [B, Hkv, T, D]
        v_all = g.op("Concat", [f"past_key_values.{i}.value", v], f"{p}/attn/v/ConcatPast",
                     outputs=[f"present.{i}.value"], axis=2)

        # GQA: rather than materialising n_rep copies of each KV head, group the
        # query heads as [B, Hkv, n_rep, S, D] and let MatMul broadcast the KV
        # head over the n_rep axis. Query head h uses KV head h // n_rep, the
        # same pairing as HF's repeat_kv.
        q5 = g.op("Reshape", [g.op("Mul", [q, c_scale], f"{p}/attn/q/Scale"), shape_q5],
                  f"{p}/attn/q/Reshape5")
        k5 = g.op("Unsqueeze", [k_all, c_ax2], f"{p}/attn/k/Unsqueeze5")     # [B, Hkv, 1, T, D]
        v5 = g.op("Unsqueeze", [v_all, c_ax2], f"{p}/attn/v/Unsqueeze5")
        k5t = g.op("Transpose", [k5], f"{p}/attn/k/Transpose5", perm=[0, 1, 2, 4, 3])
        scores = g.op("MatMul", [q5, k5t], f"{p}/attn/QK")                  # [B, Hkv, n_rep, S, T]
        scores = g.op("Add", [scores, bias5], f"{p}/attn/AddMask")
        probs = g.op("Softmax", [scores], f"{p}/attn/Softmax", axis=-1)
        ctx = g.op("MatMul", [probs, v5], f"{p}/attn/PV")                    # [B, Hkv, n_rep, S, D]
        ctx = g.op("Reshape", [ctx, shape_ctx4], f"{p}/attn/ctx/Reshape4")   # [B, Hq, S, D]
        ctx = g.op("Transpose", [ctx], f"{p}/attn/ctx/Transpose", perm=[0, 2, 1, 3])
        ctx = g.op("Reshape", [ctx, shape_ctx3], f"{p}/attn/ctx/Reshape3")   # [B, S, Hq*D]
        x = g.op("Add", [x, linear(ctx, "o_proj", lp)], f"{p}/attn/Residual")

        h = _rms_norm(g, x, w_post, c_eps, c_axes_last, c_two, f"{p}/post_attention_layernorm")
        gate = linear(h, "gate_proj", lp)
        up = linear(h, "up_proj", lp)
        silu = g.op("Mul", [gate, g.op("Sigmoid", [gate], f"{p}/mlp/Sigmoid")], f"{p}/mlp/SiLU")
        act = g.op("Mul", [silu, up], f"{p}/mlp/GateUp")
        x = g.op("Add", [x, linear(act, "down_proj", lp)], f"{p}/mlp/Residual")

    w_norm = g.init("model.norm.weight", weights.pop("norm"))
    x = _rms_norm(g, x, w_norm, c_eps, c_axes_last, c_two, "/model/norm")

    # Tied lm_head: Gemm(transB=1) reads the embedding matrix as stored. A
    # MatMul against Transpose(embed) would make ORT constant-fold a second
    # [H, V] copy at session start.
    x2 = g.op("Reshape", [x, shape_2d], "/lm_head/Reshape2D")
    logits2 = g.op("Gemm", [x2, embed], "/lm_head/Gemm", transB=1)
    out_shape = g.op("Concat", [g.op("Shape", ["input_ids"], "/lm_head/ShapeIds"), c_vocab],
                     "/lm_head/OutShape", axis=0)
    g.op("Reshape", [logits2, out_shape], "/lm_head/Reshape3D", outputs=["logits"])

    if weights:
        raise ValueError(f"unused weights: {sorted(weights)[:8]}")

    graph = helper.make_graph(g.nodes, "llama_decoder", inputs, outputs, initializer=g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name=producer)
    model.ir_version = IR_VERSION
    return model


def save_onnx_model(model: onnx.ModelProto, out_dir: Path) -> None:
    """Write ``model.onnx`` with every weight in one ``model.onnx_data`` file."""
    path = out_dir / "model.onnx"
    data = out_dir / EXTERNAL_DATA_NAME
    if data.exists():
        data.unlink()  # onnx appends to an existing external data file
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=EXTERNAL_DATA_NAME, size_threshold=1024)
    os.chmod(data, 0o644)  # onnx creates it 0600; match model.onnx
    # Path-based check so that >2 GB models would also be validated.
    onnx.checker.check_model(str(path), full_check=False)


# ---------------------------------------------------------------------------
# HF metadata files
# ---------------------------------------------------------------------------


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_hf_files(out_dir: Path, cfg: LlamaConfig, tokenizer, chat_template: str,
                   special_tokens: dict[str, str], add_bos_token: bool) -> None:
    """Write tokenizer.json, tokenizer_config.json, config.json, generation_config.json.

    ``special_tokens`` maps the roles bos/eos/pad/unk to token strings.
    """
    tokenizer.save(str(out_dir / "tokenizer.json"))
    added = {
        str(tid): {"content": tok.content, "lstrip": tok.lstrip, "normalized": tok.normalized,
                   "rstrip": tok.rstrip, "single_word": tok.single_word, "special": tok.special}
        for tid, tok in sorted(tokenizer.get_added_tokens_decoder().items())
    }
    tok_cfg = {
        "add_bos_token": add_bos_token,
        "add_eos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": added,
        "additional_special_tokens": [
            t for t in ("<|im_start|>", "<|im_end|>") if tokenizer.token_to_id(t) is not None
        ],
        "bos_token": special_tokens["bos"],
        "chat_template": chat_template,
        "clean_up_tokenization_spaces": False,
        "eos_token": special_tokens["eos"],
        "model_max_length": cfg.max_position_embeddings,
        "pad_token": special_tokens["pad"],
        "tokenizer_class": "GPT2Tokenizer",
        "unk_token": special_tokens["unk"],
    }
    _write_json(out_dir / "tokenizer_config.json", tok_cfg)
    _write_json(out_dir / "config.json", cfg.to_hf_dict())
    _write_json(out_dir / "generation_config.json", {
        "bos_token_id": cfg.bos_token_id,
        "eos_token_id": cfg.eos_token_id,
        "pad_token_id": cfg.pad_token_id,
        # SmolLM2-Instruct's model card recommends temperature 0.2, top_p 0.9.
        "do_sample": True,
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 50,
        "repetition_penalty": 1.0,
        "max_new_tokens": 256,
    })


# ---------------------------------------------------------------------------
# onnxruntime verification
# ---------------------------------------------------------------------------


class OrtDecoder:
    """Minimal KV-cache driver for the exported graph (mirrors the Rust crate)."""

    def __init__(self, model_dir: Path) -> None:
        import onnxruntime as ort

        hf = json.loads((model_dir / "config.json").read_text())
        self.n_layers = hf["num_hidden_layers"]
        self.n_kv = hf["num_key_value_heads"]
        self.head_dim = hf["head_dim"]
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(model_dir / "model.onnx"), opts,
                                            providers=["CPUExecutionProvider"])

    def empty_past(self, batch: int) -> list[np.ndarray]:
        z = np.zeros((batch, self.n_kv, 0, self.head_dim), dtype=np.float32)
        return [z] * (2 * self.n_layers)

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray, position_ids: np.ndarray,
            past: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        feeds = {"input_ids": input_ids.astype(np.int64),
                 "attention_mask": attention_mask.astype(np.int64),
                 "position_ids": position_ids.astype(np.int64)}
        for i in range(self.n_layers):
            feeds[f"past_key_values.{i}.key"] = past[2 * i]
            feeds[f"past_key_values.{i}.value"] = past[2 * i + 1]
        out = self.session.run(None, feeds)
        return out[0], out[1:]

    def greedy(self, prompt_ids: list[int], max_new_tokens: int, eos_id: int | None):
        """Prefill once, then one token per step through the cache.

        Returns the new token ids (stopping after ``eos_id`` if produced, which
        is included) and the per-step logits.
        """
        ids = np.asarray([prompt_ids], dtype=np.int64)
        n = ids.shape[1]
        logits, past = self.run(ids, np.ones((1, n), np.int64), np.arange(n)[None], self.empty_past(1))
        step_logits = [logits[0, -1]]
        out: list[int] = []
        while True:
            tok = int(np.argmax(step_logits[-1]))
            out.append(tok)
            if tok == eos_id or len(out) == max_new_tokens:
                return out, step_logits
            total = n + len(out)
            logits, past = self.run(np.asarray([[tok]]), np.ones((1, total), np.int64),
                                    np.asarray([[total - 1]]), past)
            step_logits.append(logits[0, -1])


def _check_left_padding(dec: OrtDecoder, long_ids: list[int], short_ids: list[int],
                        steps: int = 3) -> dict[str, Any]:
    """Batch a left-padded short prompt with a long one; compare with solo runs."""
    pad = len(long_ids) - len(short_ids)
    assert pad > 0
    ids = np.asarray([long_ids, [0] * pad + short_ids], dtype=np.int64)
    mask = np.asarray([[1] * len(long_ids), [0] * pad + [1] * len(short_ids)], dtype=np.int64)
    worst = 0.0
    agree = True
    batch_past = dec.empty_past(2)
    solo_past = [dec.empty_past(1), dec.empty_past(1)]
    solo_ids = [np.asarray([long_ids]), np.asarray([short_ids])]
    solo_len = [len(long_ids), len(short_ids)]
    for _ in range(steps):
        # HF convention: positions count real tokens only; pads get a dummy 1.
        pos = np.where(mask == 1, np.cumsum(mask, axis=1) - 1, 1)[:, -ids.shape[1]:]
        b_logits, batch_past = dec.run(ids, mask, pos, batch_past)
        next_ids = []
        for r in range(2):
            n = solo_len[r]
            s_ids = solo_ids[r]
            s_logits, solo_past[r] = dec.run(s_ids, np.ones((1, n), np.int64),
                                             np.arange(n - s_ids.shape[1], n)[None], solo_past[r])
            a, b = b_logits[r, -1], s_logits[0, -1]
            worst = max(worst, float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b))))))
            agree &= int(np.argmax(a)) == int(np.argmax(b))
            tok = int(np.argmax(b))
            next_ids.append(tok)
            solo_ids[r] = np.asarray([[tok]])
            solo_len[r] += 1
        ids = np.asarray([[t] for t in next_ids], dtype=np.int64)
        mask = np.concatenate([mask, np.ones((2, 1), np.int64)], axis=1)
    return {"argmax_match": bool(agree), "max_rel_logit_diff": worst}


def verify_model_dir(model_dir: Path, prompts: list[str], max_new_tokens: int = 24,
                     check_parity: bool = True) -> dict[str, Any]:
    """Greedy-decode each prompt with the KV cache and write ``verify.json``.

    With ``check_parity`` each case's cached greedy tokens are compared with a
    single no-cache forward pass over prompt+generated tokens, and the first
    two prompts are batched with left padding and compared with unbatched
    runs. Raises SystemExit if any check disagrees.

    verify.json: {max_new_tokens, stops_at_eos, eos_token_id, cases: [{prompt,
    prompt_ids, generated_ids (greedy, ends with eos if it was produced),
    generated_text, first_step_top5: [{id, logit}], min_top2_margin,
    parity}], left_padding}. prompt_ids are encoded without special-token
    insertion (the ChatML markers are in the prompt text).
    """
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    hf = json.loads((model_dir / "config.json").read_text())
    eos_id = hf["eos_token_id"]
    dec = OrtDecoder(model_dir)
    label = model_dir.name.removesuffix(".tmp")
    result: dict[str, Any] = {
        "max_new_tokens": max_new_tokens,
        "stops_at_eos": True,
        "eos_token_id": eos_id,
        "cases": [],
    }
    all_ids = []
    for prompt in prompts:
        prompt_ids = tok.encode(prompt, add_special_tokens=False).ids
        all_ids.append(prompt_ids)
        t0 = time.perf_counter()
        gen, step_logits = dec.greedy(prompt_ids, max_new_tokens, eos_id)
        gen_s = time.perf_counter() - t0
        text = tok.decode(gen, skip_special_tokens=False)
        print(f"  [{label}] greedy ({len(gen)} tokens, {gen_s:.2f}s): {text!r}")
        first = step_logits[0]
        # Smallest top-1 vs top-2 logit gap over all steps: tells the Rust
        # tests how much numerical drift the pinned greedy ids can tolerate.
        margin = min(float(np.diff(np.sort(sl)[-2:])[0]) for sl in step_logits)
        case: dict[str, Any] = {
            "prompt": prompt,
            "prompt_ids": prompt_ids,
            "generated_ids": gen,
            "generated_text": text,
            "first_step_top5": [{"id": int(t), "logit": float(first[t])}
                                for t in np.argsort(-first)[:5]],
            "min_top2_margin": margin,
        }
        if check_parity:
            full = np.asarray([prompt_ids + gen[:-1]], dtype=np.int64)
            n = full.shape[1]
            logits, _ = dec.run(full, np.ones((1, n), np.int64), np.arange(n)[None],
                                dec.empty_past(1))
            no_cache = logits[0, len(prompt_ids) - 1:]
            no_cache_ids = [int(t) for t in np.argmax(no_cache, axis=-1)]
            diff = max(float(np.max(np.abs(a - b))) for a, b in zip(no_cache, step_logits))
            ok = no_cache_ids == gen
            print(f"  [{label}] parity cache vs no-cache: argmax "
                  f"{'MATCH' if ok else 'MISMATCH'}, max |dlogit| = {diff:.3e}")
            case["parity"] = {"argmax_match": ok, "max_abs_logit_diff": diff}
            if not ok:
                raise SystemExit(f"parity check failed for {model_dir}: "
                                 f"cached {gen} vs no-cache {no_cache_ids}")
        result["cases"].append(case)

    if check_parity:
        long_ids, short_ids = sorted(all_ids[:2], key=len, reverse=True) if len(all_ids) > 1 \
            else (all_ids[0], all_ids[0][len(all_ids[0]) // 2:])
        if len(short_ids) == len(long_ids):
            short_ids = short_ids[1:]
        lp = _check_left_padding(dec, long_ids, short_ids)
        print(f"  [{label}] left padding batch vs solo: argmax "
              f"{'MATCH' if lp['argmax_match'] else 'MISMATCH'}, max rel |dlogit| = "
              f"{lp['max_rel_logit_diff']:.3e}")
        result["left_padding"] = lp
        if not lp["argmax_match"] or lp["max_rel_logit_diff"] > 1e-3:
            raise SystemExit(f"left-padding check failed for {model_dir}: {lp}")

    _write_json(model_dir / "verify.json", result)
    return result


# ---------------------------------------------------------------------------
# GGUF reading
# ---------------------------------------------------------------------------


def _field(reader, key: str, default: Any = None) -> Any:
    f = reader.fields.get(key)
    if f is None:
        if default is None:
            raise SystemExit(f"GGUF is missing metadata key {key!r}")
        return default
    return f.contents()


def _f32(value: float) -> float:
    """GGUF stores float32; print 1e-05 rather than 9.999999747378752e-06."""
    return float(str(np.float32(value)))


def read_gguf_config(reader) -> LlamaConfig:
    arch = _field(reader, "general.architecture")
    if arch != "llama":
        raise SystemExit(f"unsupported GGUF architecture {arch!r} (only llama)")
    n_tokens = len(reader.fields["tokenizer.ggml.tokens"].data)
    hidden = int(_field(reader, "llama.embedding_length"))
    n_heads = int(_field(reader, "llama.attention.head_count"))
    head_dim = int(_field(reader, "llama.attention.key_length", hidden // n_heads))
    rope_dim = int(_field(reader, "llama.rope.dimension_count", head_dim))
    if rope_dim != head_dim:
        raise SystemExit(f"partial rotary (rope dim {rope_dim} != head dim {head_dim}) unsupported")
    if "llama.rope.scaling.type" in reader.fields:
        raise SystemExit("RoPE scaling is not supported by this converter")
    eos = int(_field(reader, "tokenizer.ggml.eos_token_id"))
    return LlamaConfig(
        vocab_size=int(_field(reader, "llama.vocab_size", n_tokens)),
        hidden_size=hidden,
        intermediate_size=int(_field(reader, "llama.feed_forward_length")),
        num_hidden_layers=int(_field(reader, "llama.block_count")),
        num_attention_heads=n_heads,
        num_key_value_heads=int(_field(reader, "llama.attention.head_count_kv", n_heads)),
        head_dim=head_dim,
        rope_theta=_f32(_field(reader, "llama.rope.freq_base", 10000.0)),
        rms_norm_eps=_f32(_field(reader, "llama.attention.layer_norm_rms_epsilon")),
        max_position_embeddings=int(_field(reader, "llama.context_length")),
        bos_token_id=int(_field(reader, "tokenizer.ggml.bos_token_id")),
        eos_token_id=eos,
        pad_token_id=int(_field(reader, "tokenizer.ggml.padding_token_id", eos)),
    )


def unpermute_qk(w: np.ndarray, n_head: int) -> np.ndarray:
    """Undo llama.cpp's Q/K row permutation.

    llama.cpp's convert_hf_to_gguf.py (LlamaModel.permute) reorders the rows of
    q_proj / k_proj from HF's rotate_half layout (first half / second half of
    each head) to GGML's interleaved-pair RoPE layout:

        w.reshape(n_head, 2, rows // n_head // 2, *rest).swapaxes(1, 2).reshape(w.shape)

    (n_head is head_count for Q and head_count_kv for K). Swapping the same
    two axes back restores the HF order, so the graph can use rotate_half.
    """
    rows = w.shape[0]
    return (w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:])
            .swapaxes(1, 2)
            .reshape(w.shape))


_GGUF_TO_HF = {
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
    "attn_q": "q_proj",
    "attn_k": "k_proj",
    "attn_v": "v_proj",
    "attn_output": "o_proj",
    "ffn_gate": "gate_proj",
    "ffn_up": "up_proj",
    "ffn_down": "down_proj",
}


def read_gguf_weights(reader, cfg: LlamaConfig) -> dict[str, np.ndarray]:
    """Dequantize every tensor to float32 in HF naming and orientation."""
    from gguf.quants import dequantize

    weights: dict[str, np.ndarray] = {}
    for t in reader.tensors:
        # GGUF lists dims innermost-first; numpy's row-major shape is the
        # reverse, which for 2-D weights is HF's [out_features, in_features].
        shape = tuple(int(d) for d in reversed(t.shape.tolist()))
        arr = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32).reshape(shape)
        name = t.name.removesuffix(".weight")
        if name == "token_embd":
            weights["embed_tokens"] = arr
        elif name == "output_norm":
            weights["norm"] = arr
        elif name == "output":
            # Untied checkpoints are rejected below: the graph ties lm_head.
            weights["lm_head"] = arr
        elif name.startswith("blk."):
            _, idx, part = name.split(".", 2)
            if part not in _GGUF_TO_HF:
                raise SystemExit(f"unexpected GGUF tensor {t.name}")
            if part == "attn_q":
                arr = unpermute_qk(arr, cfg.num_attention_heads)
            elif part == "attn_k":
                arr = unpermute_qk(arr, cfg.num_key_value_heads)
            weights[f"layers.{idx}.{_GGUF_TO_HF[part]}"] = arr
        elif name == "rope_freqs":
            raise SystemExit("GGUF carries rope_freqs (llama3-style scaling); unsupported")
        else:
            raise SystemExit(f"unexpected GGUF tensor {t.name}")
    if "lm_head" in weights:
        lm = weights.pop("lm_head")
        if not np.array_equal(lm, weights["embed_tokens"]):
            raise SystemExit("GGUF has an untied output.weight; this converter only ties lm_head")
    return weights


# llama.cpp pre-tokenizer names -> whether digits are split one by one before
# the GPT-2 byte-level regex (llama-vocab.cpp groups smollm with starcoder).
_PRE_TOKENIZERS = {
    "smollm": True,
    "starcoder": True,
    "refact": True,
    "gpt2": False,
    "default": False,
}


def build_tokenizer_from_gguf(reader):
    """Rebuild an HF byte-level BPE ``Tokenizer`` from GGUF tokenizer metadata."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    model = _field(reader, "tokenizer.ggml.model")
    if model != "gpt2":
        raise SystemExit(f"unsupported GGUF tokenizer model {model!r} (only gpt2 byte-level BPE)")
    pre = _field(reader, "tokenizer.ggml.pre", "default")
    if pre not in _PRE_TOKENIZERS:
        raise SystemExit(f"unsupported GGUF pre-tokenizer {pre!r}")
    tokens = _field(reader, "tokenizer.ggml.tokens")
    types = _field(reader, "tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ", 1)) for m in _field(reader, "tokenizer.ggml.merges")]

    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges,
                               fuse_unk=False, byte_fallback=False))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if _PRE_TOKENIZERS[pre]:
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True), byte_level])
    else:
        tok.pre_tokenizer = byte_level
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)

    # GGUF token types: 3 = CONTROL (special), 4 = USER_DEFINED (plain added).
    special = [AddedToken(tokens[i], special=True, normalized=False)
               for i, ty in enumerate(types) if ty == 3]
    user = [AddedToken(tokens[i], special=False, normalized=False)
            for i, ty in enumerate(types) if ty == 4]
    tok.add_special_tokens(special)
    if user:
        tok.add_tokens(user)
    return tok


def convert(gguf_path: Path, out_dir: Path, prompts: list[str], max_new_tokens: int) -> None:
    import gguf

    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)

    t0 = time.perf_counter()
    reader = gguf.GGUFReader(str(gguf_path))
    cfg = read_gguf_config(reader)
    print(f"  config: {cfg}")
    tokenizer = build_tokenizer_from_gguf(reader)
    tokens = _field(reader, "tokenizer.ggml.tokens")
    unk_id = int(_field(reader, "tokenizer.ggml.unknown_token_id", cfg.eos_token_id))
    special = {"bos": tokens[cfg.bos_token_id], "eos": tokens[cfg.eos_token_id],
               "pad": tokens[cfg.pad_token_id], "unk": tokens[unk_id]}
    chat_template = _field(reader, "tokenizer.chat_template", CHATML_TEMPLATE)
    add_bos = bool(_field(reader, "tokenizer.ggml.add_bos_token", False))
    write_hf_files(tmp, cfg, tokenizer, chat_template, special, add_bos)

    weights = read_gguf_weights(reader, cfg)
    del reader
    print(f"  dequantized {len(weights)} tensors ({time.perf_counter() - t0:.1f}s)")
    model = build_decoder_model(cfg, weights)
    save_onnx_model(model, tmp)
    del model
    print(f"  wrote {tmp / 'model.onnx'} ({time.perf_counter() - t0:.1f}s)")

    verify_model_dir(tmp, prompts, max_new_tokens)
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)


def quantize_q4(src_dir: Path, out_dir: Path, prompts: list[str], max_new_tokens: int) -> None:
    """4-bit MatMulNBits copy of ``src_dir`` (block 32, symmetric)."""
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    # The quantizer module calls logging.basicConfig(level=INFO) on import and
    # then logs a line per node; keep only warnings.
    logging.getLogger().setLevel(logging.WARNING)

    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    t0 = time.perf_counter()
    model = onnx.load(str(src_dir / "model.onnx"))
    # Only MatMul is quantized: the tied embedding feeds Gather and the Gemm
    # lm_head, which stay float32 so the embedding is still stored once.
    quant = MatMulNBitsQuantizer(model, bits=4, block_size=32, is_symmetric=True)
    quant.process()
    quant.model.topological_sort()
    save_onnx_model(quant.model.model, tmp)
    del quant, model
    for name in ("tokenizer.json", "tokenizer_config.json", "config.json", "generation_config.json"):
        shutil.copy2(src_dir / name, tmp / name)
    print(f"  wrote {tmp / 'model.onnx'} ({time.perf_counter() - t0:.1f}s)")
    # The cache-vs-no-cache check is cheap and catches a broken quantized graph.
    verify_model_dir(tmp, prompts, max_new_tokens)
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gguf", type=Path, required=True, help="input llama GGUF file")
    ap.add_argument("--out", type=Path, required=True, help="float32 output directory")
    ap.add_argument("--out-q4", type=Path, help="optional 4-bit output directory")
    ap.add_argument("--prompt", action="append", dest="prompts",
                    help="verification prompt, ChatML-formatted (repeatable; default: built-in pair)")
    ap.add_argument("--max-new-tokens", type=int, default=24)
    ap.add_argument("--force", action="store_true",
                    help="rebuild outputs even if their verify.json already exists")
    args = ap.parse_args(argv)
    prompts = args.prompts or DEFAULT_PROMPTS

    # verify.json is written last, so its presence marks a complete directory.
    if args.force or not (args.out / "verify.json").exists():
        print(f"converting {args.gguf} -> {args.out}")
        convert(args.gguf, args.out, prompts, args.max_new_tokens)
    else:
        print(f"{args.out} is complete, skipping")
    if args.out_q4 is not None:
        if args.force or not (args.out_q4 / "verify.json").exists():
            print(f"quantizing {args.out} -> {args.out_q4} (MatMulNBits 4-bit, block 32, symmetric)")
            quantize_q4(args.out, args.out_q4, prompts, args.max_new_tokens)
        else:
            print(f"{args.out_q4} is complete, skipping")
    return 0


if __name__ == "__main__":
    sys.exit(main())
