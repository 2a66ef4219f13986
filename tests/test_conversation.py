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
