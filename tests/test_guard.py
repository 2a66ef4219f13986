"""End-to-end verdicts of the deterministic guideline guard (issue "Deterministic guideline guard").

Hard cases met while building it (kept as regression tests below):
  * "我3天前吃了布洛芬,今天能打PRP吗" / "正在服用双氯芬酸,今天能打PRP吗": two time words in one question.
    The dose time is the "N天前/ago" quantity nearest the drug; 今天/昨天 only count in the drug's own
    clause, otherwise "今天能打PRP吗" turned an unknown-timing NSAID (warn) into "taken today" (block).
  * "PRP前需要停用布洛芬多久?": a drug named in a general question is not a medication; we need an
    intake cue (吃了/正在服用/took/on) that is not preceded by a modal (需要/能/should).
  * "80-year-old, 50 million MSCs" -> warn although 50 million IS the elderly low dose: the elderly rule
    also asks for liver/kidney/marrow assessment and longer intervals, and age >= 65 is our assumption.
  * "能做PRP吗": Python's Unicode \\b treats CJK as word characters, so \\bPRP\\b never matched inside
    Chinese; all mixed patterns are compiled with re.ASCII.
  * Negation: "没有糖尿病" / "非孕期" / "no history of cancer" must not trigger, while "血糖没控制好的糖尿病患者"
    and "非甾体抗炎药" must not be read as negated.
  * Cancer / infection words that are not patient facts: "干细胞会致癌吗", "NCCN 癌痛指南",
    "PRP 严重感染的发生率是多少".
  * Glucose boundary: 140 mg/dL = 7.78 mmol/L (none) but 140.4 mg/dL = 7.8 mmol/L (block).
  * "血小板 60 亿" is a PRP dose, "血小板计数 80×10^9/L" is a lab value (thrombocytopenia).
  * Thrombocytopenia: block for PRP (platelet count is part of the source's 凝血功能筛查, so a low count is
    a coagulation-screen failure, and PRP is made from the patient's own platelets), warn otherwise.
  * General questions vs a described patient: "孕妇能做PRP吗?", "糖尿病患者能做PRP吗", "服用华法林的患者做PRP前
    要停几天?" ask about a class of patients and get the rule as information (GuardResult.info), no verdict;
    "患者妊娠20周", "我有糖尿病", "这位患者在服用华法林", "I take warfarin", a form, or a measured value do.
    Telegraphic facts without a class noun ("凝血功能异常能打PRP吗", "pregnant, asking about PRP") still
    count as a described patient.
  * "指南说MSC常用剂量是2亿个细胞吧?" checks what the guideline says: a number attributed to the guideline
    is not a proposed dose unless a plan cue or a particular patient comes with it.
  * "I was expecting better results" is not pregnancy; "She is expecting (a baby)" is. "妊娠试验", "备孕"
    are not pregnancy either (corpus/rules.yaml conditions.pregnant exclude).
"""
from __future__ import annotations

import json

import os
import re
import shutil
from pathlib import Path

import pytest

from assistant.guard import GuardResult, check, check_answer, default_rules, load_rules, plain_message
from assistant.model import Citation, InputError
from assistant.guard.patient import PatientContext

SOURCES = Path(__file__).resolve().parents[1] / "corpus" / "sources"
ASPN = (SOURCES / "aspn-2024-regenerative-chronic-pain.zh.txt").read_text(encoding="utf-8")

# The verdicts required by the issue.
REQUIRED = [
    ("一位75岁的膝骨关节炎患者计划单次注射2亿个间充质干细胞", "zh", "block"),
    ("80-year-old, 50 million MSCs", "en", "warn"),
    ("糖尿病患者血糖9.2 mmol/L,能做PRP吗", "zh", "block"),
    ("glucose 130 mg/dL, diabetic, PRP?", "en", "none"),
    ("我3天前吃了布洛芬,今天能打PRP吗", "zh", "block"),
    ("stopped NSAIDs 10 days ago", "en", "none"),
    ("妊娠20周能做PRP吗", "zh", "block"),
    ("哪些患者禁用再生医学疗法?", "zh", "none"),
]

# Our own cases: (question, lang, level, rule ids expected among the findings).
OWN = [
    ("which patients are contraindicated?", "en", "none", []),
    ("PRP 单次注射 60 亿血小板可以吗", "zh", "block", ["prp_platelet_dose"]),
    ("PRP with 10 billion platelets", "en", "block", ["prp_platelet_dose"]),
    ("PRP 注射 10 亿血小板", "zh", "warn", ["prp_platelet_dose"]),
    ("PRP 单次注射 30 亿血小板", "zh", "none", []),
    ("1.5×10^8个MSCs注射膝关节", "zh", "block", ["msc_dose"]),
    ("52岁患者注射8000万个间充质干细胞", "zh", "none", []),
    ("8000 万 MSCs for a 52-year-old", "en", "none", []),
    ("3000万个间充质干细胞够吗", "zh", "warn", ["msc_dose"]),
    ("70岁,计划做干细胞治疗", "zh", "warn", ["elderly_low_dose"]),
    ("an 80 years old patient, 80 million MSCs", "en", "warn", ["elderly_low_dose"]),
    ("a 68-year-old asking about BMAC injection", "en", "warn", ["elderly_low_dose"]),
    ("70岁,计划做PRP", "zh", "none", []),
    ("60岁,干细胞治疗", "zh", "none", []),
    ("肺癌正在化疗,能打PRP吗", "zh", "block", ["contraindication_malignancy"]),
    ("severe urinary tract infection, can I get stem cell injection?", "en", "block",
     ["contraindication_severe_infection"]),
    ("肾衰竭患者能做干细胞治疗吗", "zh", "none", []),  # a class of patients: the rule as information only
    ("患者肾衰竭,能做干细胞治疗吗", "zh", "block", ["contraindication_organ_failure"]),
    ("decompensated liver failure, PRP for the knee?", "en", "block", ["contraindication_organ_failure"]),
    ("凝血功能异常能打PRP吗", "zh", "block", ["contraindication_coagulopathy"]),
    ("on warfarin, PRP for knee?", "en", "block", ["contraindication_coagulopathy"]),
    ("血小板减少的患者能做PRP吗", "zh", "none", []),
    ("血小板减少,能做PRP吗", "zh", "block", ["thrombocytopenia_screening"]),
    ("我血小板减少,能做干细胞治疗吗", "zh", "warn", ["thrombocytopenia_screening"]),
    ("血小板计数 80×10^9/L,想做PRP", "zh", "block", ["thrombocytopenia_screening"]),
    ("懷孕了能打富血小板血漿嗎", "zh", "block", ["contraindication_pregnancy"]),
    ("pregnant, asking about platelet-rich plasma", "en", "block", ["contraindication_pregnancy"]),
    ("严重感染、恶性肿瘤患者能用再生医学疗法吗?", "zh", "none", []),
    ("该患者有严重感染、恶性肿瘤,能用再生医学疗法吗?", "zh", "block",
     ["contraindication_severe_infection", "contraindication_malignancy"]),
    ("糖尿病患者血糖 150mg/dL,打PRP", "zh", "block", ["diabetic_glucose_prp"]),
    ("糖尿病患者血糖10.1,能打PRP嗎", "zh", "block", ["diabetic_glucose_prp"]),
    ("糖尿病患者血糖9.2 mmol/L", "zh", "block", ["diabetic_glucose_prp"]),  # therapy unspecified -> PRP rules
    ("diabetic, glucose 140.4 mg/dL, PRP?", "en", "block", ["diabetic_glucose_prp"]),
    ("diabetic, glucose 140 mg/dL, PRP?", "en", "none", []),
    ("glucose 6.5 mmol/L before PRP", "en", "none", []),
    ("糖尿病患者能做PRP吗", "zh", "none", []),
    ("我有糖尿病,能做PRP吗", "zh", "warn", ["diabetic_glucose_prp"]),
    ("血糖9.2 mmol/L,能做干细胞吗", "zh", "none", []),  # glucose rule is a PRP rule
    ("正在服用双氯芬酸,今天能打PRP吗", "zh", "warn", ["prp_nsaid_washout"]),
    ("昨天吃了芬必得,明天打PRP", "zh", "block", ["prp_nsaid_washout"]),
    ("took Advil yesterday, PRP today?", "en", "block", ["prp_nsaid_washout"]),
    ("布洛芬已经停了2周,可以打PRP了吗", "zh", "none", []),
    ("3天前吃了泰诺,能打PRP吗", "zh", "none", []),  # paracetamol is not an NSAID
    ("PRP前需要停用NSAIDs多久?", "zh", "none", []),
    ("椎间盘内注射 600 万 MPCs + 透明质酸", "zh", "none", []),
    ("椎间盘内注射 2000 万 MPCs", "zh", "warn", ["mpc_intradiscal_dose"]),
    ("血小板浓度是基线的2倍", "zh", "block", ["qc_prp_platelet_concentration"]),
    ("PRP 血小板浓度是基线的5倍", "zh", "none", []),
    ("活细胞率90%的干细胞能用吗", "zh", "block", ["qc_stem_cell_viability"]),
    ("stem cell viability 97%", "en", "none", []),
    ("静脉注射干细胞直径30微米", "zh", "block", ["qc_iv_stem_cell_diameter"]),
    ("干细胞直径30微米", "zh", "warn", ["qc_iv_stem_cell_diameter"]),
    ("静脉注射干细胞直径20微米", "zh", "none", []),
    ("打完PRP第二天能跑步吗", "zh", "warn", ["prp_weight_bearing"]),
    ("PRP 治疗后多久可以负重?", "zh", "none", []),
    ("PRP注射后肿胀3周了还没消", "zh", "warn", ["ae_minor_reactions"]),
    ("PRP后肿胀10天了", "zh", "none", []),
    ("PRP注射后发热、关节红肿热痛", "zh", "warn", ["ae_severe_risk"]),
    ("PRP 注射后感染的发生率是多少?", "zh", "none", []),
    ("干细胞注射后要不要常规用抗生素预防感染?", "zh", "none", []),  # a sign to prevent is not one reported
    ("After the PRP injection, how do I avoid infection?", "en", "none", []),
    ("PRP注射后没有发烧，膝盖有点肿", "zh", "none", []),
    ("after my PRP shot I have a fever and the knee is hot", "en", "warn", ["ae_severe_risk"]),
    ("没有糖尿病,没有怀孕,60岁,想做PRP", "zh", "none", []),
    ("no history of cancer, not pregnant, PRP for elbow", "en", "none", []),
    ("干细胞会致癌吗?", "zh", "none", []),
]


@pytest.mark.parametrize("question,lang,level", REQUIRED, ids=[c[0] for c in REQUIRED])
def test_required_verdicts(question: str, lang: str, level: str) -> None:
    assert check(question, lang=lang).level == level


@pytest.mark.parametrize("question,lang,level,rule_ids", OWN, ids=[c[0] for c in OWN])
def test_own_verdicts(question: str, lang: str, level: str, rule_ids: list[str]) -> None:
    result = check(question, lang=lang)
    assert result.level == level, [(f.rule_id, f.level) for f in result.findings]
    assert set(rule_ids) <= {f.rule_id for f in result.findings}
    if level == "none":
        assert result.findings == []


def test_at_least_30_own_cases() -> None:
    assert len(OWN) >= 30


# ------------------------------------------------------------------ structured patients
STRUCTURED = [
    ("能做PRP吗", {"pregnant": True}, "block"),
    ("PRP?", {"glucose_mg_dl": 160}, "block"),
    ("PRP?", {"glucose_mg_dl": 130, "conditions": ["diabetes"]}, "none"),
    ("PRP", {"glucose_mmol_l": "7.8"}, "block"),
    ("PRP", {"nsaid_last_dose_days_ago": 3}, "block"),
    ("PRP", {"nsaid_last_dose_days_ago": 7}, "none"),
    ("PRP", {"medications": ["Voltaren"]}, "warn"),
    ("PRP", {"medications": ["Tylenol"]}, "none"),
    ("PRP", {"medications": ["warfarin"]}, "block"),
    ("PRP", {"platelets_10e9_per_l": 90}, "block"),
    ("PRP", {"platelets_10e9_per_l": 220}, "none"),
    ("50 million MSCs", {"age": 80}, "warn"),
    ("干细胞治疗", {"conditions": ["malignancy"]}, "block"),
    ("干细胞治疗", {"conditions": ["thrombocytopenia"]}, "warn"),
    ("干细胞治疗", {"age": 40, "pregnant": False, "conditions": []}, "none"),
]


@pytest.mark.parametrize("question,patient,level", STRUCTURED, ids=[f"{c[0]}-{c[1]}" for c in STRUCTURED])
def test_structured_patient(question: str, patient: dict, level: str) -> None:
    assert check(question, patient).level == level


def test_patient_context_instance_is_accepted() -> None:
    assert check("PRP", PatientContext(pregnant=True)).level == "block"


def test_conflict_structured_vs_text() -> None:
    result = check("an 80-year-old, 50 million MSCs", {"age": 52}, lang="en")
    assert result.patient.age == 52
    assert result.conflicts and "80" in result.conflicts[0]
    ids = [f.rule_id for f in result.findings]
    assert ids == ["patient_conflict"] and result.level == "warn"


def test_conflict_glucose_units() -> None:
    result = check("glucose 160 mg/dL, PRP?", {"glucose_mmol_l": 6.5}, lang="en")
    assert result.level == "warn" and result.conflicts and result.conflicts[0].startswith("glucose")


@pytest.mark.parametrize("patient", [{"age": "old"}, {"foo": 1}, {"conditions": ["flu"]}])
def test_bad_patient_is_input_error(patient: dict) -> None:
    with pytest.raises(InputError):
        check("PRP", patient)


def test_bad_lang_and_question() -> None:
    with pytest.raises(InputError):
        check("PRP", lang="fr")
    with pytest.raises(InputError):
        check(None)  # type: ignore[arg-type]


# ------------------------------------------------------------------ finding contents
def test_findings_carry_verbatim_quote_source_and_language() -> None:
    for question, lang, _level, _ids in OWN:
        for f in check(question, lang=lang).findings:
            if f.rule_id == "patient_conflict":
                continue
            assert f.source_quote in ASPN and f.source_doc == "aspn-2024-regenerative-chronic-pain.zh.txt"
            assert "{" not in f.message
            cjk = bool(re.search(r"[\u4e00-\u9fff]", f.message))
            assert cjk == (lang == "zh"), f.message


def test_elderly_threshold_is_named_as_assumption() -> None:
    f = check("80-year-old, 50 million MSCs", lang="en").findings[0]
    assert "assumption" in f.message and "65" in f.message and f.assumption
    z = check("一位75岁的膝骨关节炎患者计划单次注射2亿个间充质干细胞").findings
    assert any("假设" in x.message for x in z)


def test_messages_name_the_values() -> None:
    msg = check("我3天前吃了布洛芬,今天能打PRP吗").findings[0].message
    assert "布洛芬" in msg and "3" in msg and "7" in msg
    msg = check("glucose 160 mg/dL, PRP?", lang="en").findings[0].message
    assert "160 mg/dL" in msg and "7.8" in msg


def test_deterministic_and_serialisable() -> None:
    a = check("一位75岁的膝骨关节炎患者计划单次注射2亿个间充质干细胞")
    b = check("一位75岁的膝骨关节炎患者计划单次注射2亿个间充质干细胞")
    assert isinstance(a, GuardResult) and a.to_dict() == b.to_dict()
    assert a.to_dict()["patient"]["age"] == 75
    round_trip = json.loads(json.dumps(a.to_dict(), ensure_ascii=False))  # JSON-safe, as the CLI prints it
    assert round_trip == a.to_dict() and round_trip["level"] == a.level
    # Assistant.check points findings at their passages: a Citation inside a finding serialises too
    a.findings[0].citation = Citation(1, "c1", "d1", "T", "f.txt", ["S"], "quote", 0, 5)
    assert json.loads(json.dumps(a.to_dict(), ensure_ascii=False))["findings"][0]["citation"]["quote"] == "quote"


def test_elderly_age_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = Path(__file__).resolve().parents[1] / "corpus"
    shutil.copytree(corpus / "sources", tmp_path / "sources")
    shutil.copy(corpus / "drugs.yaml", tmp_path / "drugs.yaml")
    text = (corpus / "rules.yaml").read_text(encoding="utf-8").replace("elderly_age: 65", "elderly_age: 70")
    (tmp_path / "rules.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(tmp_path))
    assert check("a 68-year-old asking about BMAC injection", lang="en").level == "none"
    assert check("a 72-year-old asking about BMAC injection", lang="en").level == "warn"
    assert load_rules().settings["elderly_age"] == 70
    monkeypatch.delenv("ASSISTANT_CORPUS_DIR")
    assert os.environ.get("ASSISTANT_CORPUS_DIR") is None
    assert check("a 68-year-old asking about BMAC injection", lang="en").level == "warn"


# ------------------------------------------------------------------ answer check
def test_check_answer_accepts_numbers_from_sources_and_rules() -> None:
    rb = default_rules()
    answer = ("PRP 推荐单次注射血小板数 20-50 亿,术前停用 NSAIDs 至少 7 天。术后限制负重 7-14 天。"
              "Glucose must be below 7.8 mmol/L (about 140 mg/dL).")
    assert check_answer(answer, [ASPN], rb) == []
    assert check_answer("The guideline recommends 2–5 billion platelets per injection.", [], rb) == []


def test_check_answer_flags_unsupported_numbers_with_sentence() -> None:
    rb = default_rules()
    findings = check_answer("MSCs 常用剂量 5000 万到 1 亿个细胞。老年人可用 3000 万个细胞。", [ASPN], rb)
    assert len(findings) == 1
    f = findings[0]
    assert f.rule_id == "unsupported_number" and f.level == "warn"
    assert "3000 万" in f.message and "老年人可用" in f.message
    en = check_answer("Swelling resolves within 3 weeks. See [1].", [ASPN], rb)
    assert len(en) == 1 and "3 weeks" in en[0].message


def test_check_answer_ignores_bare_numbers_and_calendar_years() -> None:
    assert check_answer("见参考文献[1],2024 年发布的指南。", [], default_rules()) == []


def test_check_answer_uses_only_given_sources() -> None:
    text = "BMLs 体积平均减少2.1cm³。"
    assert check_answer(text, [], default_rules())
    bmac = (SOURCES / "bmac-subchondral-knee-oa.zh.txt").read_text(encoding="utf-8")
    assert check_answer(text, [bmac], default_rules()) == []


# ------------------------------------------------------------------ plain language
JARGON = ("NSAID", "MSC", "mmol", "contraindicat", "coagul", "禁忌", "凝血功能障碍", "{")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_plain_message_for_every_rule_has_no_jargon(lang: str) -> None:
    rb = default_rules()
    for rule in rb.rules:
        from assistant.model import GuardFinding
        text = plain_message(GuardFinding(rule.id, "warn", "x"), lang, rb)
        assert text and not any(j.lower() in text.lower() for j in JARGON), (rule.id, text)


def test_plain_message_for_real_findings() -> None:
    f = check("妊娠20周能做PRP吗").findings[0]
    assert plain_message(f, "zh") == "怀孕期间不能做这类治疗。"
    assert "pregnan" in plain_message(f, "en")
    conflict = check("an 80-year-old, MSCs", {"age": 52}).findings[0]
    assert "match" in plain_message(conflict, "en")
    unknown = check_answer("需要 9 周。", [], default_rules())[0]
    assert plain_message(unknown, "zh")


# ------------------------------------------------------------------ properties
from decimal import Decimal  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(wan=st.integers(1, 50000))
def test_msc_dose_verdict_follows_bounds(wan: int) -> None:
    """N 万 MSCs for a 40-year-old: block above 1 亿, warn below 5000 万, none inside."""
    level = check(f"40岁患者计划注射{wan}万个间充质干细胞").level
    cells = wan * 10_000
    assert level == ("block" if cells > 100_000_000 else "warn" if cells < 50_000_000 else "none")


@settings(max_examples=60, deadline=None)
@given(tenths=st.integers(30, 300), mg=st.booleans())
def test_glucose_verdict_follows_threshold(tenths: int, mg: bool) -> None:
    mmol = Decimal(tenths) / 10
    text = f"diabetic, glucose {mmol * 18:f} mg/dL, PRP?" if mg else f"diabetic, glucose {mmol} mmol/L, PRP?"
    assert check(text, lang="en").level == ("block" if mmol >= Decimal("7.8") else "none")


@settings(max_examples=40, deadline=None)
@given(days=st.integers(0, 60), zh=st.booleans())
def test_nsaid_washout_follows_seven_days(days: int, zh: bool) -> None:
    text = f"我{days}天前吃了布洛芬,能打PRP吗" if zh else f"I took ibuprofen {days} days ago, PRP?"
    assert check(text, lang="zh" if zh else "en").level == ("block" if days < 7 else "none")


# ------------------------------------------------------------------ general questions vs a described patient
# A dose attributed to the guideline is not a proposal; a class of patients ("孕妇", "服用华法林的患者",
# "diabetics") gets the rule as information (GuardResult.info), not a verdict; a described patient does.
PRECISION = [
    ("指南说MSC常用剂量是2亿个细胞吧?", "zh", "none", []),
    ("The guideline says the usual MSC dose is 200 million cells, right?", "en", "none", []),
    ("计划注射2亿个MSC", "zh", "block", ["msc_dose"]),
    ("PRP 拟单次注射 6×10^9 个血小板,是否超量?", "zh", "block", ["prp_platelet_dose"]),
    ("We could only harvest 1.2 billion platelets for one PRP injection. Is that enough?", "en", "warn",
     ["prp_platelet_dose"]),
    ("患者 75 岁,膝骨关节炎。\nMSCs 计划 8000 万个,可以吗?", "zh", "warn", ["elderly_low_dose"]),
    ("富血小板血漿單次注射 70 億個血小板是否過量?", "zh", "block", ["prp_platelet_dose"]),
    ("What is the PRP platelet range per injection?\nWe plan 7 billion. OK?", "en", "block", ["prp_platelet_dose"]),
    ("My doctor wants to put 6 billion platelets in my PRP shot. Is that too many?", "en", "block",
     ["prp_platelet_dose"]),
    ("服用华法林的患者做PRP前要停几天?", "zh", "none", []),
    ("Patients on warfarin: can they have PRP?", "en", "none", []),
    ("这位患者在服用华法林,能做PRP吗?", "zh", "block", ["contraindication_coagulopathy"]),
    ("I take warfarin. Can I have PRP?", "en", "block", ["contraindication_coagulopathy"]),
    ("She is expecting a baby; can she have PRP?", "en", "block", ["contraindication_pregnancy"]),
    ("My wife is with child; PRP?", "en", "block", ["contraindication_pregnancy"]),
    ("怀了宝宝还能打PRP吗", "zh", "block", ["contraindication_pregnancy"]),
    ("我有喜了,能打PRP吗", "zh", "block", ["contraindication_pregnancy"]),
    ("我是准妈妈,能打PRP吗", "zh", "block", ["contraindication_pregnancy"]),
    ("我怀孕了,能打PRP吗", "zh", "block", ["contraindication_pregnancy"]),
    ("I was expecting better results from PRP. Should I repeat it?", "en", "none", []),
    ("打PRP前要做妊娠试验吗", "zh", "none", []),
    ("备孕期间能打PRP吗", "zh", "none", []),
    ("孕妇能做PRP吗?", "zh", "none", []),
    ("准妈妈能打PRP吗", "zh", "none", []),
    ("哪些患者禁用PRP?", "zh", "none", []),
    ("What blood glucose should diabetics reach before PRP?", "en", "none", []),
    ("I'm diabetic and my sugar this morning was 7.2 mmol/L. Is PRP still ok?", "en", "none", []),
    ("Should I take ibuprofen after PRP?", "en", "none", []),
]


@pytest.mark.parametrize("question,lang,level,rule_ids", PRECISION, ids=[c[0] for c in PRECISION])
def test_general_questions_and_described_patients(question: str, lang: str, level: str, rule_ids: list[str]) -> None:
    result = check(question, lang=lang)
    assert result.level == level, [(f.rule_id, f.level) for f in result.findings]
    assert {f.rule_id for f in result.findings} == set(rule_ids)


def test_general_question_carries_the_rule_as_information() -> None:
    result = check("孕妇能做PRP吗?")
    assert result.findings == [] and [(f.rule_id, f.level) for f in result.info] == [("contraindication_pregnancy",
                                                                                      "none")]
    assert result.info[0].source_quote in ASPN
    assert check("服用华法林的患者做PRP前要停几天?").info[0].rule_id == "contraindication_coagulopathy"
    assert check("PRP", {"medications": ["warfarin"]}).level == "block"  # the form describes a patient


@pytest.mark.parametrize("question", ["血小板计数低于多少不能做PRP?", "Is malignancy a contraindication to regenerative medicine injections?",
                                      "血糖多少以上就不能做PRP了?"])
def test_asking_for_the_threshold_or_the_rule_is_not_a_patient_fact(question):
    """Nobody's platelets are low in "低于多少": the rule is information, never a verdict."""
    assert check(question).level == "none"
