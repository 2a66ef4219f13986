"""Patient facts: form validation, extraction from zh/en question text, merge, doses, therapies."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.model import InputError
from assistant.guard.doses import detect_therapies, extract_doses
from assistant.guard.patient import (CONDITIONS, PatientContext, extract_patient,
                               merge)

# (question, expected fields; a field not named must keep its default)
EXTRACTION_CASES: list[tuple[str, dict]] = [
    # age
    ("75岁", {"age": 75}),
    ("患者78岁,膝关节疼痛", {"age": 78}),
    ("an 80-year-old with knee OA", {"age": 80}),
    ("she is 80 years old", {"age": 80}),
    ("aged 70, asking about stem cells", {"age": 70}),
    ("七十五岁老人", {"age": 75}),
    ("My mother is 82 and wants stem cell injections", {"age": 82}),
    ("5 年随访结果如何", {}),  # a duration in years is not an age
    # pregnancy
    ("妊娠20周能做PRP吗", {"pregnant": True}),
    ("我怀孕了", {"pregnant": True}),
    ("pregnant woman with tennis elbow", {"pregnant": True}),
    ("懷孕三個月可以打富血小板血漿嗎", {"pregnant": True}),
    ("非孕期女性", {"pregnant": False}),
    ("not pregnant, 35 years old", {"pregnant": False, "age": 35}),
    ("目前没有怀孕", {"pregnant": False}),
    # glucose
    ("空腹血糖9.2 mmol/L", {"glucose_mmol_l": 9.2}),
    ("glucose 160 mg/dL", {"glucose_mg_dl": 160}),
    ("血糖 150mg/dL", {"glucose_mg_dl": 150}),
    ("血糖7.2", {"glucose_mmol_l": 7.2}),  # bare number < 35 read as mmol/L
    ("blood sugar 180", {"glucose_mg_dl": 180}),  # bare number >= 35 read as mg/dL
    ("HbA1c 8.5%", {}),
    ("血糖控制在7.8以下的患者", {}),  # a target, not a measurement
    # conditions
    ("糖尿病患者", {"conditions": ["diabetes"]}),
    ("diabetic, 60 years old", {"conditions": ["diabetes"], "age": 60}),
    ("没有糖尿病", {}),
    ("non-diabetic", {}),
    ("血糖没控制好的糖尿病患者", {"conditions": ["diabetes"]}),
    ("肺癌正在化疗", {"conditions": ["malignancy"]}),
    ("no history of cancer", {}),
    ("干细胞会致癌吗", {}),
    ("NCCN 癌痛指南和再生医学指南有什么不同", {}),
    ("severe urinary tract infection", {"conditions": ["severe_infection"]}),
    ("PRP 严重感染的发生率是多少", {}),
    ("decompensated liver failure", {"conditions": ["organ_failure"]}),
    ("肾衰竭,正在透析", {"conditions": ["organ_failure"]}),
    ("凝血功能异常", {"conditions": ["coagulopathy"]}),
    ("血友病患者", {"conditions": ["coagulopathy"]}),
    ("血小板减少", {"conditions": ["thrombocytopenia"]}),
    ("否认糖尿病、恶性肿瘤病史", {}),
    ("有糖尿病,但没有感染", {"conditions": ["diabetes"]}),
    ("血小板计数 80×10^9/L", {"platelets_10e9_per_l": 80}),
    ("platelet count 120,000/μL", {"platelets_10e9_per_l": 120}),
    # medications and NSAID timing
    ("3天前还在吃布洛芬", {"nsaid_last_dose_days_ago": 3, "medications": ["布洛芬"], "last_dose_days_ago": {"布洛芬": 3}}),
    ("我3天前吃了布洛芬,今天能打PRP吗", {"nsaid_last_dose_days_ago": 3, "medications": ["布洛芬"], "last_dose_days_ago": {"布洛芬": 3}}),
    ("stopped NSAIDs 10 days ago", {"nsaid_last_dose_days_ago": 10, "medications": ["NSAIDs"], "last_dose_days_ago": {"NSAIDs": 10}}),
    ("昨天吃了芬必得", {"nsaid_last_dose_days_ago": 1, "medications": ["芬必得"], "last_dose_days_ago": {"芬必得": 1}}),
    ("正在服用双氯芬酸,今天能打PRP吗", {"medications": ["双氯芬酸"]}),
    ("took Advil yesterday", {"nsaid_last_dose_days_ago": 1, "medications": ["Advil"], "last_dose_days_ago": {"Advil": 1}}),
    ("布洛芬已经停了2周", {"nsaid_last_dose_days_ago": 14, "medications": ["布洛芬"], "last_dose_days_ago": {"布洛芬": 14}}),
    ("12小时前吃了扶他林", {"nsaid_last_dose_days_ago": 0.5, "medications": ["扶他林"], "last_dose_days_ago": {"扶他林": 0.5}}),
    ("停用扶他林3天了", {"nsaid_last_dose_days_ago": 3, "medications": ["扶他林"], "last_dose_days_ago": {"扶他林": 3}}),
    ("大前天吃了洛索洛芬", {"nsaid_last_dose_days_ago": 3, "medications": ["洛索洛芬"], "last_dose_days_ago": {"洛索洛芬": 3}}),
    ("I take warfarin", {"medications": ["warfarin"]}),
    ("Should I take ibuprofen after PRP?", {}),  # a question, not an intake
    ("I'm diabetic and my sugar this morning was 7.2 mmol/L", {"conditions": ["diabetes"], "glucose_mmol_l": 7.2}),
    ("She is expecting a baby", {"pregnant": True}),
    ("I was expecting better results", {}),
    ("打PRP前要做妊娠试验吗", {}),
    ("He stopped taking naproxen 5 days ago", {"nsaid_last_dose_days_ago": 5, "medications": ["naproxen"], "last_dose_days_ago": {"naproxen": 5}}),
    ("3天前吃了泰诺", {"medications": ["泰诺"], "last_dose_days_ago": {"泰诺": 3}}),  # not an NSAID: no NSAID timing
    ("on warfarin", {"medications": ["warfarin"]}),
    ("PRP前需要停用布洛芬多久?", {}),  # a general question, nobody is taking anything
    ("没吃过布洛芬", {}),
    ("not taking any NSAIDs", {}),
    ("正在服用雙氯芬酸", {"medications": ["双氯芬酸"]}),  # traditional script normalised
]


@pytest.mark.parametrize("text,expected", EXTRACTION_CASES, ids=[c[0] for c in EXTRACTION_CASES])
def test_extract_patient(text: str, expected: dict) -> None:
    got = extract_patient(text).to_dict()
    want = PatientContext().to_dict() | expected
    assert got == want


def test_there_are_at_least_40_extraction_cases() -> None:
    assert len(EXTRACTION_CASES) >= 40


# ------------------------------------------------------------------ form validation
def test_from_dict_round_trip() -> None:
    d = {"age": 70, "pregnant": False, "conditions": ["diabetes"], "glucose_mmol_l": 6.5,
         "nsaid_last_dose_days_ago": 10, "medications": ["布洛芬"], "platelets_10e9_per_l": 200}
    p = PatientContext.from_dict(d)
    assert p.age == 70.0 and p.conditions == ["diabetes"]
    assert PatientContext.from_dict(p.to_dict()) == p


def test_from_dict_accepts_numeric_strings_and_none() -> None:
    p = PatientContext.from_dict({"age": "52", "glucose_mg_dl": None})
    assert p.age == 52.0 and p.glucose_mg_dl is None


@pytest.mark.parametrize("bad,fragment", [
    ({"agee": 70}, "unknown patient field"),
    ({"age": "old"}, "must be a number"),
    ({"age": True}, "must be a number"),
    ({"age": -3}, "non-negative"),
    ({"age": 200}, "between 0 and 130"),
    ({"pregnant": "yes"}, "true or false"),
    ({"conditions": "diabetes"}, "list"),
    ({"conditions": ["diabetes", "gout"]}, "unknown condition"),
    ({"medications": [1]}, "list of non-empty strings"),
    ({"glucose_mmol_l": [9]}, "must be a number"),
])
def test_from_dict_rejects_bad_input(bad: dict, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        PatientContext.from_dict(bad)


def test_from_dict_new_fields_and_clinic_conditions() -> None:
    p = PatientContext.from_dict({"planned_intervention": " 甲氨蝶呤 ", "measures": {"eGFR": "25"},
                                  "last_dose_days_ago": {"甲氨蝶呤": 30}, "conditions": ["active_infection"]},
                                 conditions=["active_infection"])
    assert p.planned_intervention == "甲氨蝶呤" and p.measures == {"eGFR": 25.0}
    assert p.last_dose_days_ago == {"甲氨蝶呤": 30.0} and p.has_facts()
    assert PatientContext.from_dict(p.to_dict(), conditions=["active_infection"]) == p
    assert not PatientContext().has_facts()
    for bad in ({"planned_intervention": 3}, {"measures": {"eGFR": "low"}}, {"measures": [25]},
                {"last_dose_days_ago": {"MTX": -1}}, {"conditions": ["active_infection"]}):
        with pytest.raises(InputError):
            PatientContext.from_dict(bad)


def test_from_dict_rejects_non_dict() -> None:
    with pytest.raises(InputError):
        PatientContext.from_dict(["age", 70])  # type: ignore[arg-type]


def test_glucose_from_either_field() -> None:
    assert PatientContext(glucose_mmol_l=9.2).glucose() == Decimal("9.2")
    assert PatientContext(glucose_mg_dl=180).glucose() == Decimal(10)
    assert PatientContext(glucose_mg_dl=140.4).glucose() == Decimal("7.8")
    assert PatientContext().glucose() is None


@given(age=st.one_of(st.none(), st.integers(0, 130)), preg=st.one_of(st.none(), st.booleans()),
       conds=st.lists(st.sampled_from(CONDITIONS), unique=True),
       days=st.one_of(st.none(), st.integers(0, 365)))
def test_from_dict_to_dict_property(age, preg, conds, days) -> None:
    p = PatientContext.from_dict({"age": age, "pregnant": preg, "conditions": conds, "nsaid_last_dose_days_ago": days})
    assert PatientContext.from_dict(p.to_dict()) == p


# ------------------------------------------------------------------ merge
def test_merge_structured_wins_and_reports_conflict() -> None:
    merged, conflicts = merge(PatientContext(age=52), extract_patient("an 80-year-old, 50 million MSCs"))
    assert merged.age == 52
    assert len(conflicts) == 1 and "age" in conflicts[0] and "52" in conflicts[0] and "80" in conflicts[0]


def test_merge_fills_missing_from_text_without_conflict() -> None:
    merged, conflicts = merge(PatientContext(conditions=["diabetes"]), extract_patient("空腹血糖9.2 mmol/L"))
    assert merged.glucose_mmol_l == 9.2 and merged.conditions == ["diabetes"] and conflicts == []


def test_merge_glucose_conflict_across_units() -> None:
    merged, conflicts = merge(PatientContext(glucose_mmol_l=6.5), extract_patient("glucose 160 mg/dL"))
    assert merged.glucose() == Decimal("6.5") and merged.glucose_mg_dl is None
    assert conflicts and conflicts[0].startswith("glucose")


def test_merge_same_value_in_other_unit_is_no_conflict() -> None:
    _, conflicts = merge(PatientContext(glucose_mmol_l=10), extract_patient("glucose 180 mg/dL"))
    assert conflicts == []


def test_merge_pregnancy_conflict_and_union_of_lists() -> None:
    merged, conflicts = merge(PatientContext(pregnant=False, medications=["aspirin"]),
                              extract_patient("怀孕了,昨天吃了布洛芬"))
    assert merged.pregnant is False and merged.medications == ["aspirin", "布洛芬"]
    assert any(c.startswith("pregnant") for c in conflicts)


# ------------------------------------------------------------------ doses and therapies
DOSE_CASES = [
    ("2亿个间充质干细胞", "MSCs", "2e8"),
    ("10 billion platelets", "PRP", "1e10"),
    ("1.5×10^8个MSCs", "MSCs", "1.5e8"),
    ("50 million MSCs", "MSCs", "5e7"),
    ("8000 万 MSCs", "MSCs", "8e7"),
    ("血小板 60 亿", "PRP", "6e9"),
    ("椎间盘内注射 600 万 MPCs", "MPCs", "6e6"),
    ("PRP 单次注射 30 亿血小板", "PRP", "3e9"),
    ("计划用干细胞治疗,注射1亿个细胞", "MSCs", "1e8"),
]


@pytest.mark.parametrize("text,product,value", DOSE_CASES)
def test_extract_doses(text: str, product: str, value: str) -> None:
    doses = extract_doses(text)
    assert [(d.product, d.quantity.low) for d in doses] == [(product, Decimal(value))]


def test_extract_doses_ignores_labs_money_and_ages() -> None:
    assert extract_doses("75岁,血小板计数 80×10^9/L,费用 2000-5000 美元") == []


@pytest.mark.parametrize("text,therapies", [
    ("富血小板血浆治疗网球肘", ["PRP"]),
    ("富血小板血漿", ["PRP"]),
    ("能做PRP吗", ["PRP"]),
    ("platelet-rich plasma for tendons", ["PRP"]),
    ("間充質幹細胞", ["MSCs"]),
    ("stem cell injection", ["MSCs"]),
    ("MSCs 注射", ["MSCs"]),
    ("软骨下注射骨髓浓缩液(BMAC)", ["BMAC"]),
    ("600 万 MPCs + 透明质酸", ["MPCs"]),
    ("哪些患者禁用再生医学疗法?", ["regenerative"]),
    ("膝盖疼怎么办", []),
])
def test_detect_therapies(text: str, therapies: list[str]) -> None:
    assert detect_therapies(text) == therapies
