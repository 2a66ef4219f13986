"""A statement cut at "；" is answered whole: the clause it began with comes along, enumerations do not.

Plumbing unit test: `FakeScorer` holds one passage's sentences; `previous` and `following` walk them as
SupportScorer's do.
"""
from __future__ import annotations

from assistant.compose import _opening_clause, _with_clause_chain
from assistant.model import Passage, Sentence
from assistant.support import SupportScorer


class FakeScorer:
    def __init__(self, sentences: list[Sentence]) -> None:
        self.sentences = {sentences[0].passage.id: sentences}

    previous = SupportScorer.previous  # the real walks over `sentences`
    following = SupportScorer.following


def _passage(*clauses: str) -> tuple[FakeScorer, list[Sentence]]:
    text = "".join(clauses)
    p = Passage("p", "d", ("s",), 0, len(text), text)
    out, at = [], 0
    for i, c in enumerate(clauses):
        out.append(Sentence(p, (at, at + len(c)), c, "", c, frozenset(), "", frozenset(), i, i))
        at += len(c)
    return FakeScorer(out), out


def test_the_second_half_of_a_statement_brings_its_first():
    sc, (first, second) = _passage("答：可短期使用对乙酰氨基酚，但每日剂量不宜超过2 g；", "应避免使用布洛芬等非甾体抗炎药。")
    assert _opening_clause(second, sc) is first
    assert _with_clause_chain([second], sc, 5) == ([first, second], {first: second})


def test_enumerated_items_do_not_pull_the_item_before():
    sc, (header, one, two) = _passage("禁忌证包括：", "① 妊娠；", "② 活动性感染；")
    assert _opening_clause(two, sc) is None and _opening_clause(one, sc) is None


def test_a_run_of_clauses_is_an_enumeration():
    sc, (a, b, c) = _passage("甲；", "乙；", "丙。")
    assert _opening_clause(c, sc) is None  # b follows another "；" clause: a list, not one statement
    assert _opening_clause(b, sc) is a


def test_clauses_for_another_band_than_the_asked_value_stay_out():
    """INR 5.2: the 4.0～6.0 clause answers; the 2.0～3.9 one it opens with and the >6.0 one after are another
    patient's dose (the warfarin set's "said forbidden: 25 IU/kg")."""
    from assistant.bands import asked_values

    sc, (low, mid, high) = _passage("4因子PCC的剂量根据治疗前INR确定：INR 2.0～3.9时，25 IU/kg；", "INR 4.0～6.0时，35 IU/kg；",
                                    "INR＞6.0时，50 IU/kg。")
    sentences = [Sentence(s.passage, s.span, s.zh, "", s.zh.lower(), frozenset(), "", frozenset(), s.order, s.pos)
                 for s in (low, mid, high)]
    sc = FakeScorer(sentences)
    low, mid, high = sentences
    assert _with_clause_chain([mid], sc, 5)[0] == [low, mid, high]  # no value asked: the whole statement
    assert _with_clause_chain([mid], sc, 5, asked_values("INR 5.2，大出血，PCC用多少？"))[0] == [mid]


def test_a_cell_listing_every_band_gives_way_to_the_clause_for_the_asked_value():
    """INR 5.2: "INR 4.0～6.0时，35 IU/kg" answers; the table cell with all three bands (25 and 50 IU/kg for other
    patients) goes once that clause is there, and stays when nothing else answers."""
    from assistant.bands import asked_values
    from assistant.compose import _for_the_asked_patient

    _, (clause,) = _passage("inr 4.0～6.0时，35 iu/kg（最大剂量3500 iu）；")
    _, (cell,) = _passage("其他措施: 4因子pcc：inr 2.0～3.9时25 iu/kg，inr 4.0～6.0时35 iu/kg，inr＞6.0时50 iu/kg")
    values = asked_values("大出血，INR 5.2，4F-PCC用多少？")
    assert _for_the_asked_patient([clause, cell], values) == [clause]
    assert _for_the_asked_patient([cell], values) == [cell]
    assert _for_the_asked_patient([clause, cell], []) == [clause, cell]
