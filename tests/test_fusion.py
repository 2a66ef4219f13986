"""Reciprocal-rank fusion (issue "Core pipeline"): checked against a plain peer implementation.

The peer below is written from the formula in the docstring, score(d) = sum_i w_i / (k + rank_i(d)),
with exact fractions, and ties broken by first appearance (ranking by ranking, top to bottom).
"""
from __future__ import annotations

import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.fusion import rrf


def peer_rrf(rankings, k=60, weights=None):
    weights = [1] * len(rankings) if weights is None else weights
    score: dict[str, Fraction] = {}
    order: list[str] = []
    for ranking, w in zip(rankings, weights, strict=True):
        for pos, d in enumerate(ranking):
            if d not in score:
                score[d] = Fraction(0)
                order.append(d)
            score[d] += Fraction(w) / (k + pos + 1)
    return sorted(order, key=lambda d: (-score[d], order.index(d))), score


IDS = [f"p{i}" for i in range(12)]
ranking = st.lists(st.sampled_from(IDS), unique=True, max_size=len(IDS))


@settings(max_examples=300, deadline=None)
@given(rankings=st.lists(ranking, max_size=4), k=st.integers(min_value=1, max_value=100))
def test_matches_peer_implementation(rankings, k):
    got = rrf(rankings, k=k)
    want_order, want_score = peer_rrf(rankings, k=k)
    assert [d for d, _ in got] == want_order
    for d, s in got:
        assert s == pytest.approx(float(want_score[d]), rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(rankings=st.lists(ranking, min_size=1, max_size=3),
       weights=st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0]), min_size=3, max_size=3))
def test_weighted_matches_peer(rankings, weights):
    weights = weights[: len(rankings)]
    got = rrf(rankings, k=60, weights=weights)
    want_order, want_score = peer_rrf(rankings, k=60, weights=[Fraction(w) for w in weights])
    assert [d for d, _ in got] == want_order
    assert {d: s for d, s in got} == pytest.approx({d: float(s) for d, s in want_score.items()}, rel=1e-12)


def test_seeded_random_rankings_like_the_hybrid_searcher():
    """20 candidates from each of two retrievers over a 70-passage corpus, as HybridSearcher calls it."""
    rng = random.Random(20240601)
    pool = [f"{rng.getrandbits(64):016x}" for _ in range(70)]
    for _ in range(200):
        lists = [rng.sample(pool, 20), rng.sample(pool, 20)]
        got = rrf(lists, k=60)
        want_order, _ = peer_rrf(lists, k=60)
        assert [d for d, _ in got] == want_order
        assert len(got) == len(set(lists[0]) | set(lists[1]))


def test_textbook_values():
    got = dict(rrf([["a", "b"], ["b", "c"]], k=60))
    assert got["a"] == pytest.approx(1 / 61)
    assert got["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert got["c"] == pytest.approx(1 / 62)
    assert [d for d, _ in rrf([["a", "b"], ["b", "c"]], k=60)] == ["b", "a", "c"]


def test_ties_are_broken_by_first_appearance_deterministically():
    # a and x have identical ranks (1 and 2 in swapped lists): an exact tie
    rankings = [["a", "x"], ["x", "a"]]
    assert [d for d, _ in rrf(rankings)] == ["a", "x"]
    assert [d for d, _ in rrf(rankings[::-1])] == ["x", "a"]
    # three lists: the float sums of the same three terms in different orders must still tie
    three = [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]
    fused = rrf(three)
    assert [d for d, _ in fused] == ["a", "b", "c"]
    assert fused[0][1] == fused[1][1] == fused[2][1]
    # the same input always gives the same output
    assert all(rrf(three) == fused for _ in range(5))


def test_exact_ties_are_not_broken_by_float_rounding():
    # b and e get the same four terms (ranks 1, 1, 6, 6 at k=58) summed in different orders; as floats
    # the sums differed in the last bit and e came first although b appears first.
    lists = [["f"], ["b", "a", "d", "f"], ["e", "d", "a"], ["e", "d", "f", "a", "c", "b"],
             ["b", "c", "a", "d", "f", "e"]]
    order = [d for d, _ in rrf(lists, k=58)]
    assert order == peer_rrf(lists, k=58)[0]
    assert order.index("b") < order.index("e")
    # different terms, same exact sum: 1/4 + 1/12 == 1/3 (k=1)
    lists = [["z", "y", "B"], ["w", "A"], ["v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "B"]]
    order = [d for d, _ in rrf(lists, k=1)]
    assert order.index("B") == order.index("A") - 1


def test_weights_change_the_winner_and_zero_weight_only_registers():
    lists = [["bm25-top", "b2"], ["dense-top", "d2"]]
    assert rrf(lists)[0][0] == "bm25-top"  # a tie: first appearance wins
    assert rrf(lists, weights=[3.0, 1.0])[0][0] == "bm25-top"
    assert rrf(lists, weights=[1.0, 3.0])[0][0] == "dense-top"
    assert dict(rrf(lists, weights=[2.0, 1.0]))["bm25-top"] == pytest.approx(2 / 61)
    zero = dict(rrf(lists, weights=[0.0, 1.0]))
    assert zero["bm25-top"] == 0.0
    assert zero["dense-top"] == pytest.approx(1 / 61)


def test_weights_must_match_the_rankings():
    with pytest.raises(ValueError, match="2 rankings"):
        rrf([["a"], ["b"]], weights=[1.0])
    with pytest.raises(ValueError):
        rrf([["a"]], weights=[1.0, 1.0])


def test_empty_inputs():
    assert rrf([]) == []
    assert rrf([[], []]) == []


def test_interleave_puts_each_lists_first_before_either_second():
    """A Chinese question's English-guideline passages (`other_language`) are among the top k, ranked anew."""
    from assistant.fusion import interleave
    from assistant.model import Passage, ScoredPassage

    def hits(*ids):
        return [ScoredPassage(Passage(i, "d", ("s",), 0, 1, "x"), 1.0, r) for r, i in enumerate(ids, start=1)]

    fused = interleave(hits("zh1", "zh2", "zh3"), hits("en1", "en2"))
    assert [h.passage.id for h in fused] == ["zh1", "en1", "zh2", "en2", "zh3"]
    assert [h.rank for h in fused] == [1, 2, 3, 4, 5]
    same = hits("zh1")
    assert interleave(same, []) is same


def test_an_exact_tie_of_different_terms_keeps_first_appearance():
    """p1: 1/4 + 1/4 + 1/6 and p3: 1/5 + 1/5 + 1/6 + 1/10 are both exactly 2/3, but their float sums differ in
    the last bit (hypothesis found it): the tie goes to first appearance, as the exact peer has it."""
    rankings = [["p1", "p3"], ["p1", "p3"], ["p4", "p5", "p3"], ["p4", "p5", "p1", "p0", "p6", "p7", "p3"]]
    assert [d for d, _ in rrf(rankings, k=3)] == peer_rrf(rankings, k=3)[0]
