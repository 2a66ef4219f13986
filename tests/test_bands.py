"""Patient values against a guideline's bands (assistant.bands): the row whose band holds the value."""
from __future__ import annotations

from decimal import Decimal

import pytest

from assistant.bands import AGE, asked_values, band_fit
from assistant.tokens import fold_text


@pytest.mark.parametrize("question, want", [
    ("INR 6.5，没有出血，华法林怎么处理？", [("inr", Decimal("6.5"))]),
    ("For a patient with eGFR 50, what is the maximum weekly methotrexate dose?", [("egfr", Decimal("50"))]),
    ("血小板80能用华法林吗", [("血小板", Decimal("80"))]),
    ("刚开始吃华法林第三天INR就2.8了", [("inr", Decimal("2.8"))]),
    ("80岁老太太，华法林从多少开始吃", [(AGE, Decimal("80"))]),
    ("a 78-year-old patient", [(AGE, Decimal("78"))]),
    ("eGFR 30-44 MTX咋调", [("egfr", Decimal("30")), ("egfr", Decimal("44"))]),  # a range asked: both its ends
    ("维持期INR 1.5～1.9时剂量如何调整", [("inr", Decimal("1.5")), ("inr", Decimal("1.9"))]),
    ("70-80岁的老人", [(AGE, Decimal("70")), (AGE, Decimal("80"))]),
    ("2～3周后复查", []),  # an amount of time, not a patient's value
])
def test_asked_values(question, want):
    assert asked_values(question) == want


ROWS = {
    "ge10": "表7 · INR≥10.0，无出血 · 华法林: 停用，维生素K1: 口服2.5～5 mg",
    "4to10": "表7 · INR 4.5～10.0，无出血 · 暂停华法林1～2次",
    "below": "表3 维持阶段华法林剂量调整（INR目标范围2.0～3.0） · INR: ＜1.5 · 周剂量增加10%～20%",
    "1.5to1.9": "表3 （INR目标范围2.0～3.0） · INR: 1.5～1.9 · 复查INR时间: 1～2周内",
    "egfr45": "eGFR 45～59 mL/min时，剂量减少25%",
    "egfr30": "eGFR 30～44 mL/min时，剂量减少50%",
    "age75": "年龄 ≥75 岁患者起始剂量推荐为2 mg/d",
    "platelets": "血小板计数（50～100）×10^9/L",
    "none": "华法林应在每天固定时间服用",
    "unit45": "表2 · eGFR（mL/min/1.73 m²）: 45～59 · 最大剂量: 15 mg/周",  # the measure's unit stands between
    "unit30": "表2 · eGFR（mL/min/1.73 m²）: 30～44 · 最大剂量: 10 mg/周",
}


@pytest.mark.parametrize("question, fits, misses", [
    ("INR 6.5，没有出血", {"4to10"}, {"ge10", "below", "1.5to1.9"}),
    ("INR is 12, not bleeding", {"ge10"}, {"4to10", "below", "1.5to1.9"}),
    ("维持期INR 1.3", {"below"}, {"ge10", "4to10", "1.5to1.9"}),  # not 1.3 in "复查INR时间: 1～2周内"
    ("eGFR 50", {"egfr45", "unit45"}, {"egfr30", "unit30"}),
    ("80岁", {"age75"}, set()),
    ("血小板80", {"platelets"}, set()),
])
def test_band_fit(question, fits, misses):
    values = asked_values(question)
    got = {k: band_fit(values, fold_text(v)) for k, v in ROWS.items()}
    assert {k for k, v in got.items() if v == 1} == fits
    assert {k for k, v in got.items() if v == -1} == misses


@pytest.mark.parametrize("question", ["PRP术后限制负重4周对吧?", "指南说MSC常用剂量是2亿个细胞吧?", "MTX 15 mg 一周够吗"])
def test_an_amount_is_not_a_patient_value(question):
    assert asked_values(question) == []


def test_a_weekly_dose_after_the_value_is_not_its_unit():
    assert asked_values("维持期INR 1.3 周剂量加多少") == [("inr", Decimal("1.3"))]


def test_every_band_of_an_asked_measure_must_hold_it():
    """A sentence added for its band names the patient asked about: "≥75岁" holds a 78-year-old weighing 62 kg,
    "≥75岁且体重＜50 kg" does not (its weight band misses), though band_fit counts its age band as a fit."""
    from assistant.bands import band_holds

    values = asked_values("78岁、体重62 kg的房颤患者")
    assert band_holds(values, fold_text(ROWS["age75"]))
    both = fold_text("年龄≥75岁且体重＜50 kg者，起始剂量为1.5 mg/d")
    assert band_fit(values, both) == 1 and not band_holds(values, both)
    assert not band_holds(values, fold_text(ROWS["none"]))


def test_an_english_verb_names_the_measure():
    assert asked_values("a 78-year-old patient weighing 62 kg") == [(AGE, Decimal("78")), ("weight", Decimal("62"))]


@pytest.mark.parametrize("question, text, fit", [
    ("Warfarin 起始剂量 for a Child-Pugh A liver patient?", "child-pugh a级患者可使用华法林，起始剂量为2 mg/d；", 1),
    ("Warfarin 起始剂量 for a Child-Pugh A liver patient?", "child-pugh b级患者应慎用，起始剂量为1.5 mg/d", -1),
    ("Child-Pugh C级能用吗", "重度肝功能不全（child-pugh c级）患者不推荐使用华法林", 1),
    ("CKD stage 4 patient", "ult should be considered in patients with ckd stage 3 or worse", 1),
    ("CKD 2期", "ult should be considered in patients with ckd stage 3 or worse", -1),
    ("NYHA II级", "nyha iii级心衰患者慎用", -1),
])
def test_a_graded_class_is_a_band_of_grades(question, text, fit):
    """"Child-Pugh A" asks about one grade: the clauses for B and C answer other patients (a question about A
    got all three); "stage 3 or worse" holds stage 4. The grade's own number is no patient value."""
    assert band_fit(asked_values(question), text) == fit


def test_a_grades_number_is_not_read_twice():
    assert asked_values("CKD 3期, eGFR 40") == [("ckd", Decimal("3")), ("egfr", Decimal("40"))]


@pytest.mark.parametrize("text, fit", [
    ("allopurinol should be started at 50 mg daily in patients with egfr below 60 ml/min", 1),
    ("nsaids should be avoided when egfr is below 30 ml/min/1.73 m2", 1),
    ("febuxostat is preferred when egfr is at least 30", -1),
    ("colchicine should not be used when egfr is under 15", -1),
])
def test_english_bounds_are_bands(text, fit):
    """An English guideline writes its bands in words ("eGFR below 60"): eGFR 20 is in it, not in "at least 30"."""
    assert band_fit(asked_values("Starting dose of allopurinol when eGFR is 20?"), text) == fit
