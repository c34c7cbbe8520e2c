"""Expected agreement statistics from the reference implementations, for the Rust tests.

Writes random rating fixtures (seeded) and `expected.json` into
crates/core/tests/fixtures/agreement/, with, for every fixture and for the two annotation columns
of shared/data/xstest/xstest_v2_completions_*.csv:
  cohen (per annotator pair)  sklearn.metrics.cohen_kappa_score
  fleiss_kappa                statsmodels.stats.inter_rater.fleiss_kappa (method="fleiss") on the
                              items rated by the most common number (>= 2) of annotators
  krippendorff_alpha          krippendorff.alpha(level_of_measurement="nominal"), missing = nan
Run once after changing a fixture:  .tools/venv/bin/python scripts/agreement/make_expected.py
"""

from __future__ import annotations

import csv
import json
import math
import random
import sys
from collections import Counter
from pathlib import Path

import krippendorff
import numpy as np
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "crates/core/tests/fixtures/agreement"
XSTEST = ROOT.parent / "shared/data/xstest"


def clean(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def statistics(ratings: list[tuple[str, str, str]]) -> dict:
    cell = {}
    for item, annotator, label in ratings:
        cell[(item, annotator)] = label
    items = sorted({i for i, _ in cell})
    annotators = sorted({a for _, a in cell})
    labels = sorted(set(cell.values()))
    cohen = []
    for x in range(len(annotators)):
        for y in range(x + 1, len(annotators)):
            a, b = annotators[x], annotators[y]
            shared = [i for i in items if (i, a) in cell and (i, b) in cell]
            kappa = None
            if shared:
                la = [cell[(i, a)] for i in shared]
                lb = [cell[(i, b)] for i in shared]
                if len(set(la) | set(lb)) > 1:
                    kappa = clean(cohen_kappa_score(la, lb))
            cohen.append({"a": a, "b": b, "kappa": kappa, "n": len(shared)})
    index = {l: k for k, l in enumerate(labels)}
    data = np.full((len(annotators), len(items)), np.nan)
    for (item, annotator), label in cell.items():
        data[annotators.index(annotator), items.index(item)] = index[label]
    alpha = clean(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    per_item = {i: [cell[(i, a)] for a in annotators if (i, a) in cell] for i in items}
    sizes = Counter(len(v) for v in per_item.values() if len(v) >= 2)
    fleiss = None
    if sizes:
        modal = max(sizes.items(), key=lambda kv: (kv[1], kv[0]))[0]
        table = np.array([[v.count(l) for l in labels] for v in per_item.values() if len(v) == modal],
                         dtype=float)
        fleiss = clean(fleiss_kappa(table, method="fleiss"))
    return {"cohen": cohen, "fleiss_kappa": fleiss, "krippendorff_alpha": alpha}


def fixture(seed: int, annotators: int, items: int, labels: list[str], missing: float,
            agree: float) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(items):
        truth = rng.choice(labels)
        for a in range(annotators):
            if rng.random() < missing:
                continue
            label = truth if rng.random() < agree else rng.choice(labels)
            out.append((f"item-{i}", f"ann-{a}", label))
    return out


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    expected = {}
    specs = {
        "full3": (11, 3, 30, ["A", "B", "tie"], 0.0, 0.7),
        "missing5": (12, 5, 40, ["A", "B", "tie", "both_bad"], 0.3, 0.6),
        "binary2": (13, 2, 50, ["safe", "unsafe"], 0.0, 0.8),
        "noisy4": (14, 4, 25, ["1", "2", "3"], 0.15, 0.3),
    }
    for name, spec in specs.items():
        ratings = fixture(*spec)
        with open(OUT / f"{name}.jsonl", "w") as f:
            for item, annotator, label in ratings:
                f.write(json.dumps({"item": item, "annotator": annotator, "label": label}) + "\n")
        expected[name] = statistics(ratings)
    for model in ["gpt4", "mistralinstruct"]:
        path = XSTEST / f"xstest_v2_completions_{model}.csv"
        ratings = []
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                for col in ["annotation_1", "annotation_2"]:
                    if row[col].strip():
                        ratings.append((row["id"].strip(), col, row[col].strip()))
        expected[f"xstest_{model}"] = statistics(ratings)
    (OUT / "expected.json").write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")
    print(f"wrote {OUT}/expected.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
