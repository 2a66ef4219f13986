"""Answers that say what the sources say (assistant.completion): a sentence restating a chosen one's figure
joins it. The figures are matched with their units, so "5%～10%" is not "10%～15%" and "10%" not "10 mg"."""
from __future__ import annotations

from assistant.completion import figures


def test_figures_are_read_with_their_units():
    row = "inr: 1.5～1.9 · 剂量调整: 周剂量增加5%～10%，既往稳定且单次偏低者可暂不调整，复查inr时间: 1～2周内。"
    clause = "inr 1.5～1.9时，周剂量增加5%～10%，1～2周内复查inr；"
    other = "inr: 3.6～4.0 · 剂量调整: 停服1次或当日剂量减半，此后周剂量减少10%～15%，复查inr时间: 1周内。"
    assert figures(row) == figures(clause) == {"1.5～1.9", "5～10%", "1～2周"}
    assert not figures(other) & figures(row)


def test_lone_digits_years_and_reference_marks_are_no_figures():
    assert figures("2021年的研究[35]显示第1周服用2次") == set()
    assert figures("最大剂量不超过25 mg/周") == {"25mg/周"}
    assert figures("间充质干细胞常用剂量为 5000 万 - 1 亿个细胞") == {"5000万"}


def test_a_bound_counts_only_when_the_question_names_its_number():
    """"eGFR低于30还能用吗": the table row "<30 mL/min · 禁用" and the clause "eGFR < 30 mL/min时禁用MTX" restate
    the same bound; a population's bound the question does not name ("体重≥50 kg") restates nothing."""
    from assistant.completion import bounds

    asked = frozenset({"30"})
    assert bounds("表2 · eGFR（mL/min/1.73 m²）: <30 mL/min · 剂量调整: 禁用", asked) == {"30"}
    assert bounds("eGFR < 30 mL/min时禁用MTX", asked) == {"30"}
    assert bounds("一般成人（＜75岁、体重≥50 kg）", asked) == set()
