"""Refusal calibration by k-fold cross-validation on the dev set (never on a held-out set).

    python benchmarks/calibrate_refusal.py [SET[@DATA_DIR] ...] [--folds 5] [--out eval/reports/calibration]

Several sets pool their items, each answered from its own index: `eval/dev.jsonl
eval/second-guideline.jsonl@/tmp/mtx` (the second guideline ingested into /tmp/mtx) calibrates on two
guidelines at once, so the thresholds are not the seed texts' alone.

For every question the support features are computed once (joint coverage, coverage of the sentence
giving the asked attribute, whether such a sentence exists). Each fold picks the thresholds that
maximise balanced accuracy (out-of-scope refused, in-scope answered) on the other folds and is scored
on its own items; the recommended setting is the median of the fold choices, so no single fit of the
whole set decides it. Writes calibration.json and an ROC curve of the coverage score (roc.png).
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import numpy as np

from dataclasses import replace

from assistant.api import Assistant
from assistant.config import Settings
from assistant.conversation import resolve
from assistant.language import to_simplified

GRID_COVERAGE = [x / 20 for x in range(2, 15)]  # 0.10 .. 0.70
GRID_ATTRIBUTE = [x / 20 for x in range(4, 17)]  # 0.20 .. 0.80


def features(a: Assistant, path: str) -> list[dict]:
    rows = []
    for line in open(path, encoding="utf-8"):
        if not line.strip():
            continue
        item = json.loads(line)
        q = resolve([to_simplified(t) for t in item["turns"]], int(a.rules.settings.get("elderly_age", 65))).query
        pool, query = a._search(q, max(a.settings.top_k, a.settings.support_k))
        sup = a.scorer.score(q, pool, a.settings.max_answer_sentences, query.vector)
        rows.append({"id": item["id"], "oos": item["category"] == "out_of_scope", "coverage": sup.coverage,
                     "attribute": sup.attribute_coverage, "answered": sup.answered, "dense": sup.dense})
    return rows


def answers(r: dict, cov: float, attr: float, dense_floor: float) -> bool:
    return r["answered"] and r["coverage"] >= cov and r["attribute"] >= attr and r["dense"] >= dense_floor


def balanced(rows: list[dict], cov: float, attr: float, dense_floor: float) -> tuple[float, float, float]:
    oos = [r for r in rows if r["oos"]]
    ins = [r for r in rows if not r["oos"]]
    refused = sum(not answers(r, cov, attr, dense_floor) for r in oos) / max(1, len(oos))
    false_ref = sum(not answers(r, cov, attr, dense_floor) for r in ins) / max(1, len(ins))
    return (refused + 1 - false_ref) / 2, refused, false_ref


def best(rows: list[dict], dense_floor: float) -> tuple[float, float]:
    scored = [(balanced(rows, c, t, dense_floor)[0], -abs(c - 0.4), c, t) for c in GRID_COVERAGE for t in GRID_ATTRIBUTE]
    _, _, c, t = max(scored)
    return c, t


def cross_validate(rows: list[dict], folds: int, dense_floor: float, seed: int = 0) -> dict:
    order = np.random.default_rng(seed).permutation(len(rows))
    chosen, held = [], []
    for k in range(folds):
        test = [rows[i] for i in order[k::folds]]
        train = [rows[i] for j, i in enumerate(order) if j % folds != k]
        c, t = best(train, dense_floor)
        chosen.append((c, t))
        held.append(balanced(test, c, t, dense_floor))
    rec = (statistics.median(c for c, _ in chosen), statistics.median(t for _, t in chosen))
    return {"folds": folds, "fold_choices": chosen,
            "cv_balanced_accuracy": round(float(np.mean([h[0] for h in held])), 4),
            "cv_refusal_accuracy": round(float(np.mean([h[1] for h in held])), 4),
            "cv_false_refusal_rate": round(float(np.mean([h[2] for h in held])), 4),
            "recommended": {"min_term_overlap": rec[0], "min_attribute_coverage": rec[1]}}


def roc(rows: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    score = [(r["coverage"] if r["answered"] else 0.0, r["oos"]) for r in rows]
    pts = []
    for t in sorted({s for s, _ in score} | {0.0, 1.01}):
        tpr = sum(s < t for s, o in score if o) / max(1, sum(o for _, o in score))
        fpr = sum(s < t for s, o in score if not o) / max(1, sum(not o for _, o in score))
        pts.append((fpr, tpr))
    pts.sort()
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=".")
    ax.plot([0, 1], [0, 1], ls=":", c="grey")
    ax.set_xlabel("in-scope questions refused (false refusal rate)")
    ax.set_ylabel("out-of-scope questions refused")
    ax.set_title("Refusal decision: ROC of support coverage")
    fig.tight_layout()
    fig.savefig(out / "roc.png", dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sets", nargs="*", default=["eval/dev.jsonl"], metavar="SET[@DATA_DIR]")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--out", default="eval/reports/calibration")
    ap.add_argument("--absent-factor", type=float, default=None,
                    help="weigh absent concepts with this factor instead of support.ABSENT_IDF_FACTOR")
    ap.add_argument("--absent-common", type=float, default=None,
                    help="weigh an absent everyday English noun with this share instead of lexicon.ABSENT_COMMON_EN")
    args = ap.parse_args()
    if args.absent_factor is not None:
        import assistant.support

        assistant.support.ABSENT_IDF_FACTOR = args.absent_factor
    if args.absent_common is not None:
        import assistant.lexicon

        assistant.lexicon.ABSENT_COMMON_EN = args.absent_common
    rows: list[dict] = []
    for spec in args.sets:
        path, _, data_dir = spec.partition("@")
        settings = Settings.load()
        a = Assistant.load(replace(settings, data_dir=Path(data_dir)) if data_dir else settings)
        rows += features(a, path)
    result = cross_validate(rows, args.folds, a.settings.min_dense_score)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "calibration.json").write_text(json.dumps(result, indent=1))
    roc(rows, out)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
