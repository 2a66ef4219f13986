"""Reciprocal-rank fusion (Cormack et al., 2009): combine rankings without calibrating scores."""
from __future__ import annotations

import math
from collections.abc import Sequence


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
