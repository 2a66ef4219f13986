"""The patient FAQ is curated data: every quote verbatim, every stated number backed by a quote."""
from __future__ import annotations

from pathlib import Path

import pytest

from assistant.faq import asks_personal_dose, load_faq
from assistant.quantities import values

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
FAQ = load_faq(str(CORPUS / "faq.yaml"))


@pytest.mark.parametrize("entry", FAQ.entries, ids=lambda e: e.id)
def test_quotes_are_verbatim(entry):
    for source, quote in entry.quotes:
        assert quote in (CORPUS / "sources" / source).read_text(encoding="utf-8"), (entry.id, quote)


@pytest.mark.parametrize("entry", FAQ.entries, ids=lambda e: e.id)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_answer_numbers_come_from_quotes(entry, lang):
    quoted: set = set()
    for _, quote in entry.quotes:
        quoted |= values(quote)
    assert values(entry.answer[lang]) <= quoted, (entry.id, lang, values(entry.answer[lang]) - quoted)


def test_safety_lines_have_no_numbers():
    for lang in ("zh", "en"):
        assert not values(FAQ.safety[lang]) and not values(FAQ.personal_dose[lang])


@pytest.mark.parametrize("q,expected", [
    ("我该打多少个干细胞?", True), ("我应该用多大剂量", True), ("给我开多少干细胞", True),
    ("How many stem cells should I get?", True), ("what dose is right for me", True),
    ("间充质干细胞常用剂量是多少?", False), ("What dose of MSCs is typical?", False),
])
def test_personal_dose_requests(q, expected):
    assert asks_personal_dose(q) is expected


@pytest.mark.parametrize("q,entry_id", [
    ("打完PRP多久能恢复?", "recovery"), ("PRP有什么副作用?", "side-effects"),
    ("哪些人不能做PRP?", "who-should-not"), ("how much does PRP cost?", "cost"),
])
def test_common_patient_questions_match_their_entry(q, entry_id):
    entry, score = FAQ.match(q, "en" if q.isascii() else "zh")
    assert entry is not None and entry.id == entry_id and score >= 0.3


def test_jargon_is_explained_once():
    text = FAQ.explain_terms("MSCs 注射可促进肌腱愈合。MSCs 很安全。", "zh")
    assert text.count("间充质干细胞") == 1 and text.startswith("MSCs（")


def test_an_entry_answers_only_the_kind_of_thing_asked():
    """"打完干细胞多久能洗澡?" shares words with "干细胞要打多少个?" but asks how long, not how many."""
    from assistant.faq import _same_ask

    assert not _same_ask("打完干细胞多久能洗澡?能喝酒不?", "干细胞要打多少个?")
    assert _same_ask("干细胞一般打多少个啊?", "干细胞要打多少个?")
    assert _same_ask("那严重的呢?发生率多少", "PRP有什么副作用?")  # the entry asks nothing specific


def test_an_entry_knows_which_words_it_uses():
    faq = load_faq(str(Path(__file__).parents[1] / "corpus" / "faq.yaml"))
    e = next(e for e in faq.entries if e.names(["干细胞"]))
    assert not e.names(["肩袖撕裂", "rotator cuff tear"])


def test_an_entry_about_before_the_injection_does_not_answer_after_it():
    from assistant.faq import _same_ask
    assert not _same_ask("PRP 要注意什么 那打完以后呢?", "打PRP前要注意什么")
    assert _same_ask("打针前要注意什么", "打PRP前要注意什么")
