"""Reciprocal-rank fusion (Cormack et al., 2009): combine rankings without calibrating scores."""
from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction


def rrf(rankings: Sequence[Sequence[str]], k: int = 60, weights: Sequence[float] | None = None
        ) -> list[tuple[str, float]]:
    """Fuse ranked id lists; score(d) = sum_i w_i / (k + rank_i(d)), rank starting at 1.

    Ties are broken by the order of first appearance, so the result is deterministic. Scores are
    summed exactly (fractions): float sums of the same terms in another order can differ in the last
    bit, which would break a true tie by rounding noise instead of by first appearance.
    """
    weights = [1.0] * len(rankings) if weights is None else list(weights)
    if len(weights) != len(rankings):  # zip() would silently drop a retriever's whole list
        raise ValueError(f"rrf: {len(weights)} weights for {len(rankings)} rankings")
    scores: dict[str, Fraction] = {}
    first_seen: dict[str, int] = {}
    for ranking, w in zip(rankings, weights):
        fw = Fraction(w)
        for rank, doc_id in enumerate(ranking, start=1):
            scores[doc_id] = scores.get(doc_id, Fraction(0)) + fw / (k + rank)
            first_seen.setdefault(doc_id, len(first_seen))
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], first_seen[kv[0]]))
    return [(doc_id, float(score)) for doc_id, score in ranked]
