"""BM25 with synonym groups: a concept counts once per passage, by its best form (real bm25s)."""
from __future__ import annotations

from types import SimpleNamespace

import bm25s
import pytest

from assistant.model import Passage
from assistant.retrieve import BM25Searcher, Query
from assistant.tokens import tokenize

TEXTS = ["甲氨蝶呤（methotrexate，MTX）是类风湿关节炎的锚定药物，本共识介绍其应用。",
         "MTX起始剂量为7.5～15 mg/周，此后每2～4周增加2.5～5 mg。",
         "叶酸每周5 mg，于服药后24小时服用。"]


@pytest.fixture(scope="module")
def index():
    passages = [Passage(id=f"p{i}", doc_id="d", text=t, section=("s",), start=0, end=len(t), sentences=((0, len(t)),))
                for i, t in enumerate(TEXTS)]
    bm25 = bm25s.BM25()
    bm25.index([tokenize(t) for t in TEXTS], show_progress=False)
    return SimpleNamespace(bm25=bm25, passages=passages)


def _ranked(index, groups):
    q = Query("甲氨蝶呤的起始剂量", "甲氨蝶呤的起始剂量 methotrexate MTX", embedder=None, groups=groups)
    return [h.passage.id for h in BM25Searcher(index).search(q, 3)]


def test_forms_counted_separately_favour_the_passage_that_spells_them_all(index):
    assert _ranked(index, ())[0] == "p0"


def test_a_group_counts_once_and_the_dose_sentence_wins(index):
    assert _ranked(index, (("甲氨蝶呤", "methotrexate", "MTX"),))[0] == "p1"


def test_group_score_is_the_best_form_score(index):
    q = Query("x", "甲氨蝶呤 MTX", embedder=None, groups=(("甲氨蝶呤", "MTX"),))
    scores = BM25Searcher(index)._scores(q.tokens, q.groups)
    each = [index.bm25.get_scores(tokenize(f)) for f in ("甲氨蝶呤", "MTX")]
    assert list(scores) == pytest.approx([max(a, b) for a, b in zip(*each)])
