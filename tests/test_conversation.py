"""Follow-up resolution and language detection: deterministic, so tested as plain functions."""
from __future__ import annotations

import pytest

from assistant.conversation import resolve
from assistant.language import answer_language, detect, is_traditional, to_simplified, validate_question
from assistant.model import InputError


@pytest.mark.parametrize("turns,must_contain,must_not_contain", [
    (["间充质干细胞常用剂量是多少?", "那老年人呢?"], ["间充质干细胞", "老年人"], []),
    (["What dose of MSCs is typical?", "And in patients over 75?"], ["MSCs", "elderly"], []),
    (["PRP 适合哪些骨关节炎患者?", "那间充质干细胞呢?"], ["间充质干细胞", "适合"], ["PRP"]),
    (["What quality standard applies to PRP platelet concentration?", "And for stem cell viability?"],
     ["stem cell viability", "quality standard"], ["PRP"]),
    (["PRP注射前要停药吗?", "间充质干细胞的剂量是多少?"], ["间充质干细胞的剂量"], ["PRP"]),
    (["PRP 术后要注意什么?", "注射后呢?"], ["PRP", "注射后"], []),
])
def test_follow_ups_become_standalone(turns, must_contain, must_not_contain):
    r = resolve(turns)
    for s in must_contain:
        assert s in r.query
    for s in must_not_contain:
        assert s not in r.query
    assert all(t in r.guard_text for t in turns)  # patient facts said earlier still reach the guard


def test_single_turn_is_unchanged():
    assert resolve(["PRP注射前需要停用NSAIDs多久?"]).query == "PRP注射前需要停用NSAIDs多久?"


@pytest.mark.parametrize("text,lang", [
    ("PRP注射前需要停用NSAIDs多久?", "zh"), ("How long must NSAIDs be stopped?", "en"),
    ("間充質幹細胞有什麼好處", "zh"), ("PRP 和 stem cells 哪个好", "zh"),
])
def test_answer_language(text, lang):
    assert answer_language(text) == lang
    assert detect(text) in ("zh", "en", "mixed")


def test_traditional_script_is_detected_and_converted():
    assert is_traditional("富血小板血漿") and not is_traditional("富血小板血浆")
    assert to_simplified("間充質幹細胞") == "间充质干细胞"
    assert to_simplified("停用") == "停用"  # t2s, not tw2sp: meaning must not change


@pytest.mark.parametrize("bad", ["", "   ", "a" * 2001, "PRP\x07?", "PRP\x00", 42])
def test_bad_questions_raise_input_error(bad):
    with pytest.raises(InputError):
        validate_question(bad, 2000)


def _warfarin_subjects(text: str) -> list[str]:
    """A clinic's guideline subjects as the index would name them (here: a fixed list, for the resolver alone)."""
    return [w for w in ("华法林", "甲氨蝶呤") if w in text]


@pytest.mark.parametrize("turns,must_contain", [
    (["华法林一般成人起始剂量多少？", "那75岁以上的老人呢？"], ["华法林", "起始剂量", "75岁", "老年人"]),
    (["医生给我开了甲氨蝶呤，一次吃4片", "那最多能加到多少？"], ["甲氨蝶呤", "最多"]),
])
def test_follow_up_borrows_an_added_guidelines_subject(turns, must_contain):
    r = resolve(turns, subjects=_warfarin_subjects)
    assert r.rewritten and all(s in r.query for s in must_contain), r.query


def test_follow_up_without_any_subject_borrows_the_turn_before():
    r = resolve(["INR目标范围是多少？", "那高龄的呢？"], subjects=_warfarin_subjects)
    assert r.rewritten and "INR目标范围" in r.query and "高龄" in r.query


def test_comparison_follow_up_keeps_the_earlier_therapy():
    r = resolve(["我网球肘想打PRP,效果好吗?", "跟打激素比,哪个更省钱?"], subjects=lambda t: ["激素"] * ("激素" in t))
    assert "PRP" in r.query and "省钱" in r.query


def test_a_turn_naming_its_own_subject_stands_alone():
    turns = ["华法林一般成人起始剂量多少？", "甲氨蝶呤的禁忌证有哪些？"]
    assert resolve(turns, subjects=_warfarin_subjects).query == turns[-1]


def test_a_follow_up_about_the_other_side_of_the_procedure_drops_the_earlier_time_word():
    assert resolve(["PRP打之前要注意什么?", "那打完以后呢?"]).query == "PRP打 要注意什么 那打完以后呢?"
    assert "before" not in resolve(["What should I avoid before PRP?", "and after?"]).query
    assert "术前" in resolve(["PRP术前要停什么药?", "那糖尿病患者呢?"]).query  # no time word: nothing goes
