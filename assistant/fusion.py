"""Reciprocal-rank fusion (Cormack et al., 2009): combine rankings without calibrating scores; and the
interleaving of the two languages' candidate lists it makes."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction

from .model import ScoredPassage

NEAR_TIE = 1e-12  # relative: float sums this close may be an exact tie rounded apart


def rrf(rankings: Sequence[Sequence[str]], k: int = 60, weights: Sequence[float] | None = None
        ) -> list[tuple[str, float]]:
    """Fuse ranked id lists; score(d) = sum_i w_i / (k + rank_i(d)), rank starting at 1.

    Ties are broken by the order of first appearance, so the result is deterministic. Scores are
    summed with `math.fsum` (correctly rounded, so independent of the order of the terms), and the rare
    scores within rounding noise of each other are ordered by their exact fractions: an exact tie of
    different terms (1/4 + 1/4 + 1/6 = 1/5 + 1/5 + 1/6 + 1/10) can round apart in the last bit, which would
    break it by noise instead of by first appearance (exact fractions for every score cost 5x as much).
    """
    weights = [1.0] * len(rankings) if weights is None else list(weights)
    if len(weights) != len(rankings):  # zip() would silently drop a retriever's whole list
        raise ValueError(f"rrf: {len(weights)} weights for {len(rankings)} rankings")
    terms: dict[str, list[tuple[float, int]]] = {}  # in first-appearance order (dicts keep insertion order)
    for ranking, w in zip(rankings, weights):
        for rank, doc_id in enumerate(ranking, start=1):
            terms.setdefault(doc_id, []).append((w, k + rank))
    scored = [(doc_id, math.fsum(w / d for w, d in ts)) for doc_id, ts in terms.items()]
    out = sorted(scored, key=lambda kv: -kv[1])  # a stable sort: ties keep their first appearance
    return _exact_near_ties(out, terms)


def _exact_near_ties(out: list[tuple[str, float]], terms: dict[str, list[tuple[float, int]]]
                     ) -> list[tuple[str, float]]:
    """Runs of scores within NEAR_TIE of each other, re-ordered by exact score, then first appearance."""
    first = {d: i for i, d in enumerate(terms)}
    i = 0
    while i < len(out):
        j = i + 1
        while j < len(out) and out[i][1] - out[j][1] <= NEAR_TIE * max(1.0, abs(out[i][1])):
            j += 1
        if j - i > 1:
            exact = {d: sum((Fraction(w) / dd for w, dd in terms[d]), Fraction(0)) for d, _ in out[i:j]}
            out[i:j] = sorted(out[i:j], key=lambda kv: (-exact[kv[0]], first[kv[0]]))
        i = j
    return out


def interleave(pool: list[ScoredPassage], other: list[ScoredPassage]) -> list[ScoredPassage]:
    """The hybrid's passages and the other language's (`other_language`) fused by rank, each list's first
    before either's second: a Chinese question's English-guideline passages are among the top k, not after
    every Chinese passage (the answer cited them while the sources listed the seeds)."""
    if not other:
        return pool
    by_id = {h.passage.id: h for h in pool + other}
    fused = rrf([[h.passage.id for h in pool], [h.passage.id for h in other]])
    return [replace(by_id[pid], rank=r) for r, (pid, _) in enumerate(fused, start=1)]
