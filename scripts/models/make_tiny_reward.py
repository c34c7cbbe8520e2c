"""Make a tiny random-weight sequence-classification (reward) model for tests.

No registry package ships a real reward model, so tests use this one: the tokenizer and chat
template of models/tiny, and an ONNX graph with the inputs and outputs of an optimum
`*ForSequenceClassification` export:

    input_ids      int64 [batch, sequence]
    attention_mask int64 [batch, sequence]
    logits         float [batch, 1]

The graph embeds the tokens, mean-pools them over the attention mask, applies tanh and a linear
head. Weights come from a fixed seed, so the scores are deterministic; `verify.json` holds the
onnxruntime scores of two fixed inputs, which the Rust tests compare against.

Usage: make_tiny_reward.py --tiny models/tiny --out models/tiny-reward
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HIDDEN = 32
SEED = 20261127


def build_graph(vocab: int) -> onnx.ModelProto:
    rng = np.random.default_rng(SEED)
    embedding = rng.normal(0.0, 1.0, (vocab, HIDDEN)).astype(np.float32)
    weight = rng.normal(0.0, 1.0 / np.sqrt(HIDDEN), (HIDDEN, 1)).astype(np.float32)
    bias = np.array([0.1], dtype=np.float32)
    inits = [
        numpy_helper.from_array(embedding, "embed.weight"),
        numpy_helper.from_array(weight, "score.weight"),
        numpy_helper.from_array(bias, "score.bias"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array([1.0], dtype=np.float32), "one"),
    ]
    nodes = [
        helper.make_node("Gather", ["embed.weight", "input_ids"], ["tokens"]),  # [b, s, h]
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),  # [b, s]
        helper.make_node("Unsqueeze", ["mask_f", "axis2"], ["mask3"]),  # [b, s, 1]
        helper.make_node("Mul", ["tokens", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis1"], ["summed"], keepdims=0),  # [b, h]
        helper.make_node("ReduceSum", ["mask3", "axis1"], ["count"], keepdims=0),  # [b, 1]
        helper.make_node("Max", ["count", "one"], ["count1"]),
        helper.make_node("Div", ["summed", "count1"], ["pooled"]),
        helper.make_node("Tanh", ["pooled"], ["hidden"]),
        helper.make_node("MatMul", ["hidden", "score.weight"], ["projected"]),
        helper.make_node("Add", ["projected", "score.bias"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny-reward",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"]),
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", type=Path, required=True, help="models/tiny (tokenizer source)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    tmp = args.out.with_name(args.out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in ["tokenizer.json", "tokenizer_config.json", "generation_config.json"]:
        shutil.copy(args.tiny / name, tmp / name)
    config = json.loads((args.tiny / "config.json").read_text())
    config["architectures"] = ["LlamaForSequenceClassification"]
    config["num_labels"] = 1
    config["id2label"] = {"0": "LABEL_0"}
    (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    model = build_graph(int(config["vocab_size"]))
    onnx.save(model, str(tmp / "model.onnx"))

    import onnxruntime as ort

    session = ort.InferenceSession(str(tmp / "model.onnx"), providers=["CPUExecutionProvider"])
    ids = np.array([[5, 17, 42, 7], [9, 3, 0, 0]], dtype=np.int64)
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=np.int64)
    (logits,) = session.run(["logits"], {"input_ids": ids, "attention_mask": mask})
    verify = {"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "logits": logits[:, 0].tolist()}
    (tmp / "verify.json").write_text(json.dumps(verify, indent=2) + "\n")
    shutil.rmtree(args.out, ignore_errors=True)
    tmp.rename(args.out)
    print(f"tiny reward model -> {args.out} (logits {verify['logits']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
