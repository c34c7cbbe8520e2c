"""Loads each Pairwise export with Hugging Face `datasets` and checks its columns and row count.

Usage: check_exports.py DIR PAIRS — DIR holds <format>.jsonl for every export format, PAIRS is the
version's pair count. Exits non-zero on the first mismatch.
"""

import sys

from datasets import load_dataset

EXPECTED = {
    "trl": ({"prompt", "chosen", "rejected", "metadata"}, 1),
    "trl-conversational": ({"prompt", "chosen", "rejected", "metadata"}, 1),
    "trl-implicit": ({"chosen", "rejected", "metadata"}, 1),
    "hh-rlhf": ({"chosen", "rejected", "metadata"}, 1),
    "kto": ({"prompt", "completion", "label", "metadata"}, 2),
}


def main():
    directory, pairs = sys.argv[1], int(sys.argv[2])
    for name, (columns, rows_per_pair) in EXPECTED.items():
        ds = load_dataset("json", data_files=f"{directory}/{name}.jsonl", split="train")
        if set(ds.column_names) != columns:
            sys.exit(f"{name}: columns {sorted(ds.column_names)}, expected {sorted(columns)}")
        if ds.num_rows != pairs * rows_per_pair:
            sys.exit(f"{name}: {ds.num_rows} rows, expected {pairs * rows_per_pair}")
        first = ds[0]
        if name == "trl-conversational" and first["chosen"][0]["role"] != "assistant":
            sys.exit(f"{name}: chosen is not an assistant message list")
        if name == "kto" and sorted(set(ds["label"])) != [False, True]:
            sys.exit(f"{name}: labels are not both true and false")
        if "pair_id" not in first["metadata"]:
            sys.exit(f"{name}: metadata has no pair_id")
        print(f"{name}: {ds.num_rows} rows, columns {sorted(ds.column_names)} ok")
    print(f"{len(EXPECTED)} passed, 0 failed")


if __name__ == "__main__":
    main()
