"""SentenceSearcher's partial ranking (`retrieve.best_first`) gives exactly a stable argsort's order."""
from __future__ import annotations

import numpy as np
import pytest

from assistant.retrieve import best_first


@pytest.mark.parametrize("n", [1, 7, 300, 5000])
def testbest_first_is_the_stable_argsort_order(n):
    rng = np.random.default_rng(n)
    for _ in range(10):
        sims = (rng.integers(0, 25, n) / 9).astype(np.float32)  # many ties, as rounded cosines have
        want = np.argsort(-sims, kind="stable").tolist()
        for m in (1, 3, 40, n, n + 1):
            assert [int(i) for i in best_first(sims, m)] == want
