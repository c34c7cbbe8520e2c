"""Expected Bradley–Terry strengths from the reference implementation, for the Rust tests.

Writes seeded random comparison fixtures and comparisons of the two XSTest models (JSONL:
{"a", "b", "winner"}; see `xstest`) and `expected.json` into
crates/core/tests/fixtures/ranking/: for each fixture, choix's maximum-likelihood fit
(`choix.ilsr_pairwise`, tol 1e-15) and its fit with an L2 prior `alpha`
(`choix.opt_pairwise`, Newton-CG, tol 1e-12).
Ties count half a win each way, as in Pairwise: each decided comparison is given to choix twice
and each tie once in each direction, which doubles the log-likelihood and leaves its maximum
where it was (so a prior of alpha becomes choix's 2·alpha).
Run once after changing a fixture:
  .tools/venv/bin/pip install choix && .tools/venv/bin/python scripts/ranking/make_expected.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import choix
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "crates/core/tests/fixtures/ranking"
XSTEST = ROOT.parent / "shared/data/xstest"
ALPHA = 0.05


def strongly_connected(n: int, rows: list[dict], ids: list) -> bool:
    index = {json.dumps(i): k for k, i in enumerate(ids)}
    fwd = [set() for _ in range(n)]
    bwd = [set() for _ in range(n)]
    for r in rows:
        a, b = index[json.dumps(r["a"])], index[json.dumps(r["b"])]
        pairs = {"a": [(a, b)], "b": [(b, a)], "tie": [(a, b), (b, a)]}[r["winner"]]
        for w, l in pairs:
            fwd[w].add(l)
            bwd[l].add(w)

    def reach(edges):
        seen, todo = {0}, [0]
        while todo:
            i = todo.pop()
            for j in edges[i]:
                if j not in seen:
                    seen.add(j)
                    todo.append(j)
        return len(seen) == n

    return reach(fwd) and reach(bwd)


def fixture(seed: int, ids: list, comparisons: int, tie_rate: float) -> list[dict]:
    rng = random.Random(seed)
    n = len(ids)
    while True:
        strength = [rng.gauss(0, 1) for _ in range(n)]
        rows = []
        for _ in range(comparisons):
            a, b = rng.sample(range(n), 2)
            if rng.random() < tie_rate:
                winner = "tie"
            else:
                p = 1 / (1 + np.exp(strength[b] - strength[a]))
                winner = "a" if rng.random() < p else "b"
            rows.append({"a": ids[a], "b": ids[b], "winner": winner})
        if strongly_connected(n, rows, ids):
            return rows


def xstest() -> list[dict]:
    """The two XSTest models (the completion files the agreement tests read) compared prompt by
    prompt under each annotator's labels: on a safe prompt complying is better than a partial
    refusal, which is better than refusing; on an unsafe (`contrast_…`) prompt the reverse;
    equally appropriate answers tie."""
    import csv

    models = ["gpt4", "mistralinstruct"]
    tables = {}
    for m in models:
        with open(XSTEST / f"xstest_v2_completions_{m}.csv", newline="") as f:
            tables[m] = {r["id"]: r for r in csv.DictReader(f)}
    level = {"1_full_compliance": 2, "3_partial_refusal": 1, "2_full_refusal": 0}
    rows = []
    for pid, first in tables[models[0]].items():
        second = tables[models[1]][pid]
        unsafe = first["type"].startswith("contrast_")
        for col in ["annotation_1", "annotation_2"]:
            a, b = level[first[col]], level[second[col]]
            if unsafe:
                a, b = -a, -b
            winner = "a" if a > b else "b" if b > a else "tie"
            rows.append({"a": models[0], "b": models[1], "winner": winner})
    return rows


def fit(rows: list[dict], ids: list, alpha: float) -> list[float]:
    index = {json.dumps(i): k for k, i in enumerate(ids)}
    data = []
    for r in rows:
        a, b = index[json.dumps(r["a"])], index[json.dumps(r["b"])]
        if r["winner"] == "a":
            data += [(a, b), (a, b)]
        elif r["winner"] == "b":
            data += [(b, a), (b, a)]
        else:
            data += [(a, b), (b, a)]
    if alpha == 0:
        # Iterative Luce spectral ranking converges to the maximum-likelihood estimate to the
        # last digits (opt_pairwise's Newton-CG stops about 1e-7 short of it).
        params = choix.ilsr_pairwise(len(ids), data, alpha=0.0, tol=1e-15, max_iter=10_000)
    else:
        params = choix.opt_pairwise(len(ids), data, alpha=2 * alpha, tol=1e-12)
    return [float(x) for x in params - params.mean()]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    fixtures = {
        "random": fixture(7, [f"m{i}" for i in range(30)], 800, 0.1),
        "sparse": fixture(11, list(range(100, 108)), 30, 0.15),
        "xstest": xstest(),
    }
    expected = {}
    for name, rows in fixtures.items():
        with open(OUT / f"{name}.jsonl", "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
        ids = []
        for r in rows:
            for k in ("a", "b"):
                if r[k] not in ids:
                    ids.append(r[k])
        expected[name] = {
            "ids": ids,
            "ml": fit(rows, ids, 0.0),
            "alpha": ALPHA,
            "with_prior": fit(rows, ids, ALPHA),
        }
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    print("wrote", ", ".join(fixtures), "and expected.json")


if __name__ == "__main__":
    main()
