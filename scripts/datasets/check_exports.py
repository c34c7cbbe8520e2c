"""Loads each Pairwise export with Hugging Face `datasets` and checks its columns and row count.

Usage: check_exports.py DIR PAIRS — DIR holds <format>.jsonl and <format>.parquet for every export
format, PAIRS is the version's pair count. Exits non-zero on the first mismatch.
"""

import json
import sys

from datasets import load_dataset

EXPECTED = {
    "trl": ({"prompt", "chosen", "rejected", "metadata"}, 1),
    "trl-conversational": ({"prompt", "chosen", "rejected", "metadata"}, 1),
    "trl-implicit": ({"chosen", "rejected", "metadata"}, 1),
    "hh-rlhf": ({"chosen", "rejected", "metadata"}, 1),
    "kto": ({"prompt", "completion", "label", "metadata"}, 2),
    "trl-stepwise": ({"prompt", "completions", "labels", "metadata"}, 2),
    "sft": ({"messages", "metadata"}, 1),
    # One row per prompt: its rows are counted by the pairs they list.
    "listwise": ({"prompt", "completions", "strengths", "metadata"}, None),
}


def main():
    directory, pairs = sys.argv[1], int(sys.argv[2])
    checked = 0
    for name, (columns, rows_per_pair) in EXPECTED.items():
        for container in ["json", "parquet"]:
            extension = "jsonl" if container == "json" else "parquet"
            label = f"{name}.{extension}"
            ds = load_dataset(container, data_files=f"{directory}/{label}", split="train")
            if set(ds.column_names) != columns:
                sys.exit(f"{label}: columns {sorted(ds.column_names)}, expected {sorted(columns)}")
            if rows_per_pair is None:
                metas = [json.loads(m) if isinstance(m, str) else m for m in ds["metadata"]]
                listed = sum(len(m["pair_ids"]) for m in metas)
                if listed != pairs or not 0 < ds.num_rows <= pairs:
                    sys.exit(f"{label}: {ds.num_rows} rows listing {listed} pairs, expected {pairs}")
                for completions, strengths in zip(ds["completions"], ds["strengths"]):
                    if len(completions) != len(strengths) or len(completions) < 2:
                        sys.exit(f"{label}: a row's answers and strengths do not match")
                    if any(a < b for a, b in zip(strengths, strengths[1:])):
                        sys.exit(f"{label}: a row's answers are not strongest first")
            elif ds.num_rows != pairs * rows_per_pair:
                sys.exit(f"{label}: {ds.num_rows} rows, expected {pairs * rows_per_pair}")
            first = ds[0]
            if name == "trl-conversational" and first["chosen"][0]["role"] != "assistant":
                sys.exit(f"{label}: chosen is not an assistant message list")
            if name == "sft" and first["messages"][-1]["role"] != "assistant":
                sys.exit(f"{label}: the last message of an SFT row is not the assistant's")
            if name == "kto" and sorted(set(ds["label"])) != [False, True]:
                sys.exit(f"{label}: labels are not both true and false")
            if name == "trl-stepwise" and any(
                len(c) != len(l) for c, l in zip(ds["completions"], ds["labels"])
            ):
                sys.exit(f"{label}: a row has a label count unlike its step count")
            metadata = first["metadata"]
            if isinstance(metadata, str):  # Parquet keeps metadata as JSON text
                metadata = json.loads(metadata)
            if "pair_id" not in metadata and "pair_ids" not in metadata:
                sys.exit(f"{label}: metadata has no pair_id")
            if name == "trl" and (
                metadata["chosen_chars"] != len(first["chosen"])
                or metadata["rejected_chars"] != len(first["rejected"])
                or not isinstance(metadata["chosen_refusal"], bool)
            ):
                sys.exit(f"{label}: metadata lengths or refusal flags do not match the row")
            checked += 1
            print(f"{label}: {ds.num_rows} rows, columns {sorted(ds.column_names)} ok")
    print(f"{checked} passed, 0 failed")


if __name__ == "__main__":
    main()
