"""An English-language guideline (eval/fifth-guideline/: gout and urate-lowering therapy) next to the
Chinese seeds, ingested with `assistant ingest FILE` and nothing else. Chinese questions reach its English
sentences through CC-CEDICT (痛风 -> gout) and get them quoted as written, with a note saying so; its own
Markdown headings are its sections and its front matter names it; no seed rule speaks about gout drugs.
Floors sit below the measured figures (regression guards, not goals).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from assistant.compose import ENGLISH_SOURCE_NOTE
from assistant.crosslingual import english_for
from assistant.evaluation.metrics import aggregate
from assistant.evaluation.run import run
from assistant.evaluation.scoring import load_set
from conftest import ingest_cli, own_data_dir

pytestmark = pytest.mark.integration

FIFTH = Path(__file__).parents[1] / "eval" / "fifth-guideline"
DOC = "gout-ult-guideline-2025"


@pytest.fixture(scope="module")
def gout(settings, tmp_path_factory):
    from assistant.api import Assistant
    from assistant.config import Settings

    data = own_data_dir(settings, tmp_path_factory, "fifth")
    ingest_cli(data, FIFTH / f"{DOC}.md")
    return Assistant.load(Settings.load(data_dir=data))


@pytest.fixture(scope="module")
def results(gout):
    return run(gout, load_set(FIFTH / "fifth.jsonl"))


def test_chinese_words_find_the_guidelines_english():
    vocab = {"gout", "dialysi", "pregnant", "colchicine"}
    assert english_for("痛风", vocab) == [("gout", "gout")]
    assert english_for("透析", vocab) == [("dialysis", "dialysi")]
    assert english_for("尿酸", vocab) == []  # CC-CEDICT lacks it: dense retrieval carries such words


def test_the_document_names_itself_and_keeps_its_sections(gout):
    meta = gout.index.sources[DOC]
    assert meta.title.startswith("2025 Practice Guideline on the Management of Gout")
    sections = {p.section[0] for p in gout.index.passages if p.doc_id == DOC and p.section}
    assert "6. Xanthine oxidase inhibitors" in sections and "1. Introduction" in sections


def test_a_chinese_question_gets_the_english_sentence_as_written(gout):
    ans = gout.ask("透析病人痛风发作可以用秋水仙碱吗")
    assert ans.level == "none"  # the seed's regenerative-medicine rule says nothing about colchicine
    if not ans.refused:
        assert ENGLISH_SOURCE_NOTE in ans.text and all(c.doc_id == DOC for c in ans.citations)


def test_english_answers_from_english_text_carry_no_translation_note(gout):
    ans = gout.ask("What is the maximum daily dose of febuxostat?")
    assert "No English translation" not in ans.text and "translation of the Chinese" not in ans.text


def test_no_seed_rule_gives_a_verdict_and_scores_hold(results):
    assert not [(r.item["id"], f.rule_id) for r in results for f in r.answer.findings if f.level != "none"]
    m = aggregate(results)
    assert m["pass_rate"] >= 0.36 and m["guard_accuracy"] == 1.0, m  # measured 0.420 (session 6)


def test_a_chinese_question_reaches_the_english_guideline_without_a_dictionary_word(gout):
    """别嘌醇 (allopurinol) is in no dictionary here: the English guideline's best sentences join the pool and,
    with nothing to check in them, their similarity decides, so the question is not refused out of hand."""
    ans = gout.ask("别嘌醇起始剂量是多少？")
    assert not ans.refused, ans.text
    assert any(c.doc_id == DOC for c in ans.citations)
