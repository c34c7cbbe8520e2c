"""Reference loop for `pairwise bench generate`: the same workload in Python with onnxruntime.

Given prompt token ids, it decodes `max_new_tokens` tokens (end-of-sequence ignored) with the KV
cache, sampling each row with the same processing as the Rust run (temperature, then top-p as in
transformers' TopPLogitsWarper; greedy when the temperature is 0), (a) for one sequence and (c)
for N rows sharing one prefill, and prints one JSON object with tokens per second. Run with the
venv made by `make setup`.
"""

import argparse
import json
import time

import numpy as np
import onnxruntime as ort


def load(model_dir, threads):
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(f"{model_dir}/model.onnx", options, providers=["CPUExecutionProvider"])
    with open(f"{model_dir}/config.json") as f:
        config = json.load(f)
    return session, config


def pick(logits, temperature, top_p, rng):
    """Next token per row: greedy at temperature 0, else temperature + top-p sampling."""
    if temperature == 0:
        return np.argmax(logits, axis=-1)
    out = np.empty(logits.shape[0], dtype=np.int64)
    for r, row in enumerate(logits.astype(np.float64) / temperature):
        probs = np.exp(row - row.max())
        probs /= probs.sum()
        if top_p < 1.0:
            order = np.argsort(-probs, kind="stable")
            cumulative = np.cumsum(probs[order])
            keep = int(np.searchsorted(cumulative, top_p)) + 1
            kept = order[:keep]
            probs = np.zeros_like(probs)
            probs[kept] = 1.0
            probs = probs * np.exp(row - row.max())
            probs /= probs.sum()
        out[r] = rng.choice(probs.shape[0], p=probs)
    return out


def run(session, config, prompt_ids, rows, max_new_tokens, temperature=0.0, top_p=1.0, seed=0):
    rng = np.random.default_rng(seed)
    layers = config["num_hidden_layers"]
    heads = config.get("num_key_value_heads", config["num_attention_heads"])
    head_dim = config.get("head_dim", config["hidden_size"] // config["num_attention_heads"])
    names = {i.name for i in session.get_inputs()}
    ids = np.array([prompt_ids], dtype=np.int64)
    feed = {
        "input_ids": ids,
        "attention_mask": np.ones_like(ids),
    }
    if "position_ids" in names:
        feed["position_ids"] = np.arange(ids.shape[1], dtype=np.int64)[None, :]
    for i in range(layers):
        for kind in ("key", "value"):
            feed[f"past_key_values.{i}.{kind}"] = np.zeros((1, heads, 0, head_dim), dtype=np.float32)
    out_names = [o.name for o in session.get_outputs()]
    outputs = dict(zip(out_names, session.run(None, feed)))
    past = {k: np.repeat(v, rows, axis=0) for k, v in outputs.items() if k.startswith("present.")}
    first = outputs["logits"][:, -1, :].repeat(rows, axis=0)
    token = pick(first, temperature, top_p, rng)
    length = ids.shape[1]
    generated = 1
    while generated < max_new_tokens:
        feed = {
            "input_ids": token[:, None].astype(np.int64),
            "attention_mask": np.ones((rows, length + 1), dtype=np.int64),
        }
        if "position_ids" in names:
            feed["position_ids"] = np.full((rows, 1), length, dtype=np.int64)
        for i in range(layers):
            for kind in ("key", "value"):
                feed[f"past_key_values.{i}.{kind}"] = past[f"present.{i}.{kind}"]
        outputs = dict(zip(out_names, session.run(None, feed)))
        past = {k: v for k, v in outputs.items() if k.startswith("present.")}
        token = pick(outputs["logits"][:, -1, :], temperature, top_p, rng)
        length += 1
        generated += 1
    return rows * max_new_tokens


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--prompt-ids", required=True, help="JSON list of token ids")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--top-p", type=float, default=1.0)
    args = parser.parse_args()
    session, config = load(args.model, args.threads)
    prompt_ids = json.loads(args.prompt_ids)
    run(session, config, prompt_ids, 1, 4)  # warm-up
    result = {"onnxruntime_version": ort.__version__}
    for label, rows in (("single", 1), ("batched", args.n)):
        start = time.perf_counter()
        tokens = run(session, config, prompt_ids, rows, args.max_new_tokens, args.temperature, args.top_p)
        seconds = time.perf_counter() - start
        result[f"{label}_tokens_per_s"] = tokens / seconds
        result[f"{label}_seconds"] = seconds
    print(json.dumps(result))


if __name__ == "__main__":
    main()
