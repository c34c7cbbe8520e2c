"""Anchor for `pairwise bench generate`: the same batched workload in onnxruntime-genai (PyPI),
the ONNX Runtime team's own generation loop, on the same ONNX model files.

onnxruntime-genai reads a `genai_config.json` beside the model; this script writes one (from the
model's Hugging Face `config.json` and the ONNX graph's input and output names) into a temporary
directory that links the model's files, so the model directory itself is left as it is. It then
generates `--n` rows of `--max-new-tokens` tokens from one prompt (end-of-sequence ignored via
`min_length`), sampling with the given temperature and top-p, once to warm up and once timed
(prefill included, as in the Rust run), and prints one JSON object. Run with the venv made by
`make setup-genai`.
"""

import argparse
import json
import os
import tempfile
import time

import numpy as np
import onnxruntime_genai as og


def genai_config(model_dir: str, threads: int) -> dict:
    with open(os.path.join(model_dir, "config.json")) as f:
        hf = json.load(f)
    heads = hf["num_attention_heads"]
    eos = hf.get("eos_token_id", 2)
    return {
        "model": {
            "bos_token_id": hf.get("bos_token_id", 1),
            "context_length": hf.get("max_position_embeddings", 2048),
            "decoder": {
                "session_options": {
                    "log_id": "onnxruntime-genai",
                    "intra_op_num_threads": threads,
                    "provider_options": [],
                },
                "filename": "model.onnx",
                "head_size": hf.get("head_dim", hf["hidden_size"] // heads),
                "hidden_size": hf["hidden_size"],
                "inputs": {
                    "input_ids": "input_ids",
                    "attention_mask": "attention_mask",
                    "position_ids": "position_ids",
                    "past_key_names": "past_key_values.%d.key",
                    "past_value_names": "past_key_values.%d.value",
                },
                "outputs": {
                    "logits": "logits",
                    "present_key_names": "present.%d.key",
                    "present_value_names": "present.%d.value",
                },
                "num_attention_heads": heads,
                "num_hidden_layers": hf["num_hidden_layers"],
                "num_key_value_heads": hf.get("num_key_value_heads", heads),
            },
            "eos_token_id": eos,
            "pad_token_id": hf.get("pad_token_id", eos),
            "type": hf["model_type"],
            "vocab_size": hf["vocab_size"],
        },
        "search": {
            "do_sample": True,
            "early_stopping": False,
            "max_length": hf.get("max_position_embeddings", 2048),
            "min_length": 0,
            "num_beams": 1,
            "num_return_sequences": 1,
            "past_present_share_buffer": False,
            "repetition_penalty": 1.0,
            "temperature": 1.0,
            "top_k": 0,
            "top_p": 1.0,
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompt-ids", required=True, help="JSON list of token ids")
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--top-p", type=float, default=0.95)
    args = ap.parse_args()
    prompt = json.loads(args.prompt_ids)
    model_dir = os.path.abspath(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        for name in os.listdir(model_dir):
            os.symlink(os.path.join(model_dir, name), os.path.join(tmp, name))
        with open(os.path.join(tmp, "genai_config.json"), "w") as f:
            json.dump(genai_config(model_dir, args.threads), f, indent=1)
        model = og.Model(tmp)
        length = len(prompt) + args.max_new_tokens

        def batched(rows: int, new_tokens: int) -> tuple[float, int]:
            params = og.GeneratorParams(model)
            total = len(prompt) + new_tokens
            params.set_search_options(
                do_sample=True,
                temperature=args.temperature,
                top_p=args.top_p,
                max_length=total,
                min_length=total,
                batch_size=rows,
            )
            generator = og.Generator(model, params)
            start = time.perf_counter()
            generator.append_tokens(np.array([prompt] * rows, dtype=np.int32))
            steps = 1
            while not generator.is_done():
                generator.generate_next_token()
                steps += 1
            seconds = time.perf_counter() - start
            produced = sum(len(generator.get_sequence(r)) - len(prompt) for r in range(rows))
            return seconds, produced

        batched(args.n, 4)  # warm-up
        seconds, produced = batched(args.n, args.max_new_tokens)
        single_seconds, single_produced = batched(1, args.max_new_tokens)
    print(
        json.dumps(
            {
                "onnxruntime_genai": og.__version__ if hasattr(og, "__version__") else "unknown",
                "max_length": length,
                "rows": args.n,
                "generated_tokens": produced,
                "batched_tokens_per_s": produced / seconds,
                "single_tokens_per_s": single_produced / single_seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
