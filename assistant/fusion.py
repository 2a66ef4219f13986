"""Reciprocal-rank fusion (Cormack et al., 2009): combine rankings without calibrating scores; and the
interleaving of the two languages' candidate lists it makes."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from .model import ScoredPassage


def rrf(rankings: Sequence[Sequence[str]], k: int = 60, weights: Sequence[float] | None = None
        ) -> list[tuple[str, float]]:
    """Fuse ranked id lists; score(d) = sum_i w_i / (k + rank_i(d)), rank starting at 1.

    Ties are broken by the order of first appearance, so the result is deterministic. Scores are
    summed with `math.fsum` (correctly rounded, so independent of the order of the terms): a plain float
    sum of the same terms in another order can differ in the last bit, which would break a true tie by
    rounding noise instead of by first appearance. Exact fractions cost 5x as much; they would also keep
    the rare exact tie of different terms (1/3 + 1/6 = 1/4 + 1/4), which rounded terms may not.
    """
    weights = [1.0] * len(rankings) if weights is None else list(weights)
    if len(weights) != len(rankings):  # zip() would silently drop a retriever's whole list
        raise ValueError(f"rrf: {len(weights)} weights for {len(rankings)} rankings")
    terms: dict[str, list[float]] = {}  # in first-appearance order (dicts keep insertion order)
    for ranking, w in zip(rankings, weights):
        for rank, doc_id in enumerate(ranking, start=1):
            terms.setdefault(doc_id, []).append(w / (k + rank))
    scored = [(doc_id, math.fsum(ts)) for doc_id, ts in terms.items()]
    return sorted(scored, key=lambda kv: -kv[1])  # a stable sort: ties keep their first appearance


def interleave(pool: list[ScoredPassage], other: list[ScoredPassage]) -> list[ScoredPassage]:
    """The hybrid's passages and the other language's (`other_language`) fused by rank, each list's first
    before either's second: a Chinese question's English-guideline passages are among the top k, not after
    every Chinese passage (the answer cited them while the sources listed the seeds)."""
    if not other:
        return pool
    by_id = {h.passage.id: h for h in pool + other}
    fused = rrf([[h.passage.id for h in pool], [h.passage.id for h in other]])
    return [replace(by_id[pid], rank=r) for r, (pid, _) in enumerate(fused, start=1)]
