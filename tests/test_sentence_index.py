"""From `Settings.sentence_index_min` sentences the build also clusters the sentence vectors
(`assistant.sentence_index`) and sentence search compares the query with the nearest clusters' sentences only,
instead of with every one. On the seed corpus, built with the clusters (threshold 0), it finds the passages
exact search finds; below the threshold a version has none."""
from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest import own_data_dir  # noqa: E402

from assistant import sentence_index  # noqa: E402
from assistant.embed import get_embedder  # noqa: E402
from assistant.index import Index, build  # noqa: E402
from assistant.retrieve import Query, SentenceSearcher  # noqa: E402

pytestmark = pytest.mark.integration
DEV = Path(__file__).resolve().parents[1] / "eval" / "dev.jsonl"


def test_clustered_sentence_search_finds_what_exact_search_finds(settings, tmp_path_factory):
    s = replace(settings, data_dir=own_data_dir(settings, tmp_path_factory, "clustered"), sentence_index_min=0)
    build(s, progress=False)
    index = Index.open(s)
    try:
        clusters = index.sentence_index
        assert clusters is not None and sorted(clusters.order.tolist()) == list(range(len(index.sentence_vectors)))
        assert np.array_equal(clusters.vectors, np.asarray(index.sentence_vectors)[clusters.order])
        exact = replace(index, sentence_index=None, held_lease=None)  # the same vectors, every one compared
        embedder = get_embedder(s.embedder)
        questions = [json.loads(x)["turns"][-1] for x in DEV.read_text(encoding="utf-8").splitlines() if x.strip()]
        same = 0
        for q in questions[::3]:
            query = Query(q, q, embedder)
            got, want = SentenceSearcher(index).search(query, 20), SentenceSearcher(exact).search(query, 20)
            assert [h.passage.id for h in got[:5]] == [h.passage.id for h in want[:5]], q
            assert np.allclose([h.score for h in got[:5]], [h.score for h in want[:5]], atol=1e-6)
            same += [h.passage.id for h in got] == [h.passage.id for h in want]
        assert same >= 0.9 * len(questions[::3])
    finally:
        index.close()


def test_below_the_threshold_a_version_has_none(assistant):
    assert assistant.index.sentence_index is None
    assert not (assistant.settings.index_root / assistant.index.version / sentence_index.DIR).exists()


def test_clusters_partition_the_vectors():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(3000, 16)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    ix = sentence_index.build(v)
    assert len(ix.centres) == 54 and ix.bounds[0] == 0 and ix.bounds[-1] == 3000
    rows, sims = ix.candidates(v[7], 10)
    assert 7 in rows.tolist() and np.allclose(sims, v[rows] @ v[7])
    rows, _ = ix.candidates(v[7], 3000)  # asked for every row: every cluster
    assert sorted(rows.tolist()) == list(range(3000))
