"""Aggregate metrics of scored items (overall, per group, the guard confusion matrix) and the
--min / --max thresholds checked against them."""
from __future__ import annotations

import re
from typing import Any

import numpy as np

from .scoring import LEVELS, METRICS, ItemResult


def _share(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def aggregate(results: list[ItemResult]) -> dict[str, Any]:
    ranks = [r.rank for r in results if r.item.get("evidence_quote")]
    cits = [r.cits for r in results if r.cits]
    pairs, lines = sum(c[1] for c in cits), sum(c[3] for c in cits)
    answered = [r for r in results if r.answer is not None]
    oos = [r for r in results if r.item.get("category") == "out_of_scope"]
    lat = [r.latency_ms for r in answered if r.latency_ms is not None]
    return {
        "n": len(results),
        "hit_at_1": _share([x == 1 for x in ranks]),
        "hit_at_5": _share([x is not None and x <= 5 for x in ranks]),
        "mrr_at_10": round(float(np.mean([1 / x if x and x <= 10 else 0.0 for x in ranks])), 4) if ranks else None,
        "fact_accuracy": _share([r.facts_ok for r in results if r.facts_ok is not None]),
        "citation_precision": round(sum(c[0] for c in cits) / pairs, 4) if pairs else None,
        "citation_recall": round(sum(c[2] for c in cits) / lines, 4) if lines else None,
        "guard_accuracy": _share([r.guard_ok for r in results if r.guard_ok is not None]),
        "refusal_accuracy": _share([bool(r.answer and r.answer.refused) for r in oos]),
        "false_refusal_rate": _share([r.answer.refused for r in answered
                                      if r.item.get("category") != "out_of_scope"]),
        "must_not_say_violations": sum(bool(r.forbidden) for r in results),
        "latency_ms_p50": round(float(np.percentile(lat, 50)), 1) if lat else None,
        "latency_ms_p95": round(float(np.percentile(lat, 95)), 1) if lat else None,
        "pass_rate": _share([r.passed for r in results]),
        "errors": sum(r.answer is None for r in results),
    }


def breakdown(results: list[ItemResult], key: str) -> dict[str, dict]:
    groups: dict[str, list[ItemResult]] = {}
    for r in results:
        groups.setdefault(str(r.item.get(key)), []).append(r)
    return {g: aggregate(rs) for g, rs in sorted(groups.items())}


def confusion(results: list[ItemResult]) -> dict[str, dict[str, int]]:
    """expected level -> got level -> count, over the guard-scored items that were answered."""
    m = {e: {g: 0 for g in LEVELS} for e in LEVELS}
    for r in results:
        if r.guard_ok is not None and r.answer is not None:
            m[r.item["expected_guard"]][r.answer.level] += 1
    return m


# ------------------------------------------------------------------------------------------ thresholds
class ThresholdError(ValueError):
    pass


def parse_thresholds(mins: list[str] | None, maxes: list[str] | None) -> list[tuple[str, str, float]]:
    out = []
    for op, specs in ((">=", mins or []), ("<=", maxes or [])):
        for spec in specs:
            name, sep, value = (x.strip() for x in spec.partition("="))
            if not sep:
                raise ThresholdError(f"threshold {spec!r}: expected METRIC=VALUE")
            if name not in METRICS:
                raise ThresholdError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")
            if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)", value):
                raise ThresholdError(f"threshold {spec!r}: {value!r} is not a number")
            out.append((name, op, float(value)))
    return out


def check_thresholds(metrics: dict[str, Any], thresholds: list[tuple[str, str, float]]) -> list[str]:
    failed = []
    for name, op, limit in thresholds:
        v = metrics.get(name)
        if v is None:
            failed.append(f"{name} was not computed (no applicable items); required {op} {limit:g}")
        elif (op == ">=" and v < limit) or (op == "<=" and v > limit):
            failed.append(f"{name} = {v:g}, required {op} {limit:g}")
    return failed
