"""Loads the math builder's `trl-stepwise` export (JSONL and Parquet) with Hugging Face `datasets`
as TRL's PRM trainer would, and checks the process-supervision rows: one label per step, chosen
solutions all `true`, rejected ones `true` up to their first wrong step and `false` from there on,
every error type present.

Usage: check_stepwise.py DIR — DIR holds trl-stepwise.jsonl and trl-stepwise.parquet.
"""

import collections
import json
import sys

from datasets import load_dataset


def main():
    directory = sys.argv[1]
    for extension, container in [("jsonl", "json"), ("parquet", "parquet")]:
        label = f"trl-stepwise.{extension}"
        ds = load_dataset(container, data_files=f"{directory}/{label}", split="train")
        if set(ds.column_names) != {"prompt", "completions", "labels", "metadata"}:
            sys.exit(f"{label}: columns {sorted(ds.column_names)}")
        if ds.num_rows % 2 or ds.num_rows < 4000:
            sys.exit(f"{label}: {ds.num_rows} rows")
        errors = collections.Counter()
        for i, row in enumerate(ds):
            steps, labels = row["completions"], row["labels"]
            if len(steps) != len(labels) or not steps:
                sys.exit(f"{label}: row {i}: {len(steps)} steps, {len(labels)} labels")
            metadata = row["metadata"]
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            extra = metadata.get("extra") or metadata
            if i % 2 == 0:
                if not all(labels):
                    sys.exit(f"{label}: row {i}: a chosen solution has a false label")
                continue
            first = extra["first_wrong_step"]
            if labels != [j < first for j in range(len(labels))]:
                sys.exit(f"{label}: row {i}: labels {labels} do not start failing at step {first}")
            errors[extra["error_type"]] += 1
        if len(errors) != 4:
            sys.exit(f"{label}: error types {dict(errors)}")
        print(f"{label}: {ds.num_rows} rows, labels follow the first wrong step; {dict(errors)}")


if __name__ == "__main__":
    main()
