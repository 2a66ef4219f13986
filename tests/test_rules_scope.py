"""Rules know their scope: a clinic's second guideline (methotrexate for RA, tests/data/second-guideline)
next to the seed (PRP / MSCs). A rule speaks only about its own interventions; rules are data.

Hard cases met while building it:
  * "一位孕妇能否使用甲氨蝶呤?" used to get the seed's regenerative-medicine pregnancy verdict: the seed's
    contraindications fired whatever the therapy. Now a rule needs one of its interventions named (or,
    for the seed file only, no therapy named at all: settings.prp_rules_apply_when_therapy_unspecified).
  * "叶酸 5 mg/周" next to "MTX 15 mg/周" is not a methotrexate dose: an amount belongs to the drug
    named nearest before it (folic acid is in the MTX file's `drugs:`).
  * "78岁 ... MTX 5 mg/周起始" is within the elderly start (5–7.5) and must not get the adult
    "below 7.5" warning: the adult rule has unless_population {age_at_least: 65}.
  * "eGFR低于30还能用甲氨蝶呤吗?" is a comparison, not a patient's eGFR.
  * PDF text of the same guideline breaks lines inside the long contraindication list, so the quotes
    are fragments that read the same in the .md and the .pdf where that was possible.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from assistant.guard import check, default_rules, load_rulebooks, plain_message
from assistant.loaders import read_text
from assistant.model import GuardFinding
from assistant.guard.rulebook import RuleError, check_files, rule_files

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "corpus" / "rules.yaml"
MTX_DIR = REPO / "tests" / "data" / "second-guideline"
MTX_RULES = MTX_DIR / "rules.yaml"
MTX_DOC = "mtx-ra-consensus-2025.md"
RB = load_rulebooks([SEED, MTX_RULES])
SEED_ONLY = load_rulebooks([SEED])
MTX_IDS = {r.id for r in RB.rules if r.document == MTX_DOC}
SEED_IDS = {r.id for r in RB.rules} - MTX_IDS


def _ids(question: str, patient: dict | None = None, lang: str = "zh") -> set[str]:
    return {f.rule_id for f in check(question, patient, lang=lang, rules=RB).findings}


def test_the_mtx_file_loads_and_passes_the_check() -> None:
    assert len(MTX_IDS) >= 8 and len(SEED_IDS) == 18
    problems, summary = check_files([MTX_RULES])
    assert problems == [] and "ok" in summary
    text = read_text(MTX_DIR / MTX_DOC)
    for r in RB.rules:
        if r.id in MTX_IDS:
            assert r.quote in text and "$" not in r.quote and "<td>" not in r.quote


# ------------------------------------------------------------------ the seed never fires on MTX questions
MTX_CASES = [
    ("一位孕妇能否使用甲氨蝶呤?", {"pregnant": True}, "block", {"mtx_contraindication_pregnancy"}),
    ("一位孕妇能否使用甲氨蝶呤?", None, "block", {"mtx_contraindication_pregnancy"}),
    ("患者 eGFR 25 mL/min，拟用甲氨蝶呤 10 mg/周", None, "block", {"mtx_egfr_below_30"}),
    ("拟用甲氨蝶呤 30 mg/周", None, "block", {"mtx_max_weekly_dose"}),
    ("拟用甲氨蝶呤 2.5 mg/周", None, "warn", {"mtx_start_dose_low"}),
    ("甲氨蝶呤 7.5 mg/天,准备这样吃", None, "block", {"mtx_max_weekly_dose"}),  # daily: 52.5 mg a week
    ("目前口服MTX 20 mg/周仍未达标，打算加到30 mg/周，行吗？", {"age": 46}, "block", {"mtx_max_weekly_dose"}),
    ("皮下MTX 20 mg/周，病情还没达标，准备加到25 mg/周", {"age": 50}, "none", set()),
    ("40岁女性，新诊断RA，计划MTX 2.5 mg/周起始，合适吗？", {"age": 40}, "warn", {"mtx_start_dose_low"}),
    ("78岁，肾功能正常，准备MTX 5 mg/周起始，配叶酸", {"age": 78}, "none", set()),
    ("70-year-old with normal eGFR, planning to start MTX at 2.5 mg weekly.", None, "warn",
     {"mtx_elderly_start_dose"}),
    ("75岁患者拟以甲氨蝶呤 15 mg/周起始", None, "warn", {"mtx_elderly_start_dose"}),
    ("71岁女性，eGFR 25 mL/min，准备MTX 5 mg/周起始", None, "block", {"mtx_egfr_below_30"}),
    ("男，52岁，天天喝白酒半斤，能开MTX 10 mg每周吗", None, "block", {"mtx_contraindication_alcohol"}),
    ("患者38岁，活动性肺结核正在抗结核治疗，想现在启动甲氨蝶呤", None, "block",
     {"mtx_contraindication_active_infection"}),
    ("I'm 31 and breastfeeding. My rheumatologist wants to start methotrexate.", None, "block",
     {"mtx_contraindication_lactation"}),
    ("患者在做血液透析,能用甲氨蝶呤吗", None, "block", {"mtx_contraindication_dialysis"}),
    ("ALT 4倍ULN，还能继续用MTX吗", None, "block", {"mtx_alt_above_3_uln"}),
    ("我停用甲氨蝶呤1个月了，现在想要孩子", None, "warn", {"mtx_conception_washout"}),
    ("I stopped methotrexate 4 months ago and we want to try for a baby.", None, "none", set()),
    ("MTX 15 mg/周 + 叶酸 5 mg/周", None, "none", set()),  # 5 mg is folic acid's
    # general questions: the rule as information, no verdict
    ("甲氨蝶呤的禁忌证有哪些？", None, "none", set()),
    ("eGFR低于30还能用甲氨蝶呤吗？", None, "none", set()),
    ("喂奶期间能吃甲氨喋呤吗", None, "none", set()),
    ("孕妇能用甲氨蝶呤吗?", None, "none", set()),
    ("我老公在吃甲氨蝶呤，我们想要孩子，他要停多久？", None, "none", set()),
    ("Recommended starting dose of methotrexate for patients aged 65 or older?", None, "none", set()),
    ("For a patient with eGFR 50, what is the maximum weekly methotrexate dose?", None, "none", set()),
    ("甲氨蝶呤最多能吃到多少啊？", None, "none", set()),
]


@pytest.mark.parametrize("question,patient,level,ids", MTX_CASES, ids=[c[0] for c in MTX_CASES])
def test_mtx_questions_get_only_mtx_rules(question: str, patient: dict | None, level: str, ids: set[str]) -> None:
    lang = "en" if question[0].isascii() and not re.search(r"[\u4e00-\u9fff]", question) else "zh"
    result = check(question, patient, lang=lang, rules=RB)
    got = {f.rule_id for f in result.findings}
    assert result.level == level, [(f.rule_id, f.level) for f in result.findings]
    assert got == ids
    assert not got & SEED_IDS
    for f in result.findings:
        assert f.source_doc == MTX_DOC and "{" not in f.message
        assert bool(re.search(r"[\u4e00-\u9fff]", f.message)) == (lang == "zh"), f.message


@pytest.mark.parametrize("question,patient", [(q, p) for q, p, _l, _i in MTX_CASES])
def test_seed_alone_is_silent_on_mtx_questions(question: str, patient: dict | None) -> None:
    """The guideline ingested without a rules file: methotrexate (a csDMARD, corpus/drugs.yaml
    treatment_classes) is a therapy named, so the seed's "therapy unspecified" default does not apply."""
    assert check(question, patient, rules=SEED_ONLY).findings == []


def test_general_mtx_question_carries_the_rule_as_information() -> None:
    result = check("孕妇能用甲氨蝶呤吗?", rules=RB)
    assert result.level == "none" and result.findings == []
    assert [(f.rule_id, f.level) for f in result.info] == [("mtx_contraindication_pregnancy", "none")]


# ------------------------------------------------------------------ MTX rules never fire on seed questions
SEED_CASES = [
    ("孕妇可以打PRP吗? 患者妊娠20周", None, {"contraindication_pregnancy"}),
    ("PRP 拟单次注射 60 亿血小板", None, {"prp_platelet_dose"}),
    ("患者妊娠20周,膝盖疼", None, {"contraindication_pregnancy"}),  # no therapy named: the seed file's default
    ("患者在做血液透析,能打PRP吗", None, {"contraindication_organ_failure"}),
    ("糖尿病患者血糖9.2 mmol/L,能做PRP吗", None, {"diabetic_glucose_prp"}),
    ("我3天前吃了布洛芬,今天能打PRP吗", None, {"prp_nsaid_washout"}),
    ("能做PRP吗", {"pregnant": True, "measures": {"eGFR": 20}}, {"contraindication_pregnancy"}),
    ("一位75岁的膝骨关节炎患者计划单次注射2亿个间充质干细胞", None, {"msc_dose", "elderly_low_dose"}),
]


@pytest.mark.parametrize("question,patient,ids", SEED_CASES, ids=[c[0] for c in SEED_CASES])
def test_seed_questions_get_only_seed_rules(question: str, patient: dict | None, ids: set[str]) -> None:
    assert _ids(question, patient) == ids


def test_both_therapies_named_both_books_speak() -> None:
    got = _ids("患者妊娠20周,在用甲氨蝶呤,还想打PRP")
    assert {"contraindication_pregnancy", "mtx_contraindication_pregnancy"} <= got


def test_the_forms_planned_intervention_scopes_the_rules() -> None:
    assert _ids("能用吗?", {"pregnant": True, "planned_intervention": "甲氨蝶呤"}) == {"mtx_contraindication_pregnancy"}
    assert _ids("能用吗?", {"pregnant": True, "planned_intervention": "PRP"}) == {"contraindication_pregnancy"}
    assert _ids("能用吗?", {"measures": {"eGFR": 25}, "planned_intervention": "MTX"}) == {"mtx_egfr_below_30"}
    # the seed file applies when no therapy is named; the MTX file (default false) does not
    assert _ids("能用吗?", {"pregnant": True}) == {"contraindication_pregnancy"}


def test_clinic_conditions_are_valid_form_values() -> None:
    assert _ids("甲氨蝶呤可以吗", {"conditions": ["active_infection"]}) == {"mtx_contraindication_active_infection"}
    from assistant.model import InputError
    with pytest.raises(InputError, match="unknown condition"):
        check("甲氨蝶呤可以吗", {"conditions": ["gout"]}, rules=RB)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_mtx_plain_messages(lang: str) -> None:
    for rid in MTX_IDS:
        text = plain_message(GuardFinding(rid, "block", "x"), lang, RB)
        assert text and "{" not in text and "MTX" not in text


# ------------------------------------------------------------------ where the rules and texts come from
def test_index_texts_are_used_for_quotes(tmp_path: Path) -> None:
    """An ingested document's text lives in the index: a rules file without its document beside it
    loads when the API passes the index texts (by doc id)."""
    f = tmp_path / "mtx.rules.yaml"
    shutil.copy(MTX_RULES, f)
    with pytest.raises(RuleError, match="not found"):
        load_rulebooks([SEED, f])
    rb = load_rulebooks([SEED, f], texts={"mtx-ra-consensus-2025": read_text(MTX_DIR / MTX_DOC)})
    assert MTX_IDS <= {r.id for r in rb.rules}


def test_default_rules_include_the_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = tmp_path / "library"
    lib.mkdir()
    shutil.copy(MTX_DIR / MTX_DOC, lib / MTX_DOC)
    shutil.copy(MTX_RULES, lib / "mtx-ra-consensus-2025.rules.yaml")
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path))
    assert rule_files()[1:] == [lib / "mtx-ra-consensus-2025.rules.yaml"]
    rb = default_rules()
    assert MTX_IDS <= {r.id for r in rb.rules} and SEED_IDS <= {r.id for r in rb.rules}
    assert check("拟用甲氨蝶呤 30 mg/周").level == "block"
    monkeypatch.delenv("ASSISTANT_DATA_DIR")
    assert check("拟用甲氨蝶呤 30 mg/周").level == "none"  # the seed alone has no MTX rule


def test_rules_check_cli_default_files(tmp_path: Path, capsys: pytest.CaptureFixture,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.cli import main

    lib = tmp_path / "library"
    lib.mkdir()
    shutil.copy(MTX_DIR / MTX_DOC, lib / MTX_DOC)
    (lib / "mtx-ra-consensus-2025.rules.yaml").write_text(
        MTX_RULES.read_text(encoding="utf-8").replace("最大剂量不超过25 mg/周", "最大剂量不超过 25 mg/周"), encoding="utf-8")
    assert main(["--data-dir", str(tmp_path), "rules", "check"]) == 2
    out = capsys.readouterr().out
    assert "mtx-ra-consensus-2025.rules.yaml:" in out and "rule mtx_max_weekly_dose: quote is not a verbatim" in out


@pytest.mark.parametrize("text,values", [
    ("拟用甲氨蝶呤 30 mg/周", ["30"]),
    ("每周 7.5 mg", ["7.5"]),
    ("MTX 10 mg每周", ["10"]),
    ("start MTX at 2.5 mg weekly", ["2.5"]),
    ("甲氨蝶呤 7.5 mg/天", ["52.5"]),  # a daily amount, as a weekly one
    ("他每天吃3片，2.5 mg一片", ["52.5"]),  # tablets x strength
    ("口服超过15 mg/周可以分次吃吗", []),  # a comparison, not a dose
    ("15 mg/kg", []),
])
def test_extract_amounts(text: str, values: list[str]) -> None:
    from decimal import Decimal

    from assistant.guard.doses import extract_amounts

    assert [a.value_low for a in extract_amounts(text, "mg/week")] == [Decimal(v) for v in values]


def test_daily_tablets_over_the_weekly_maximum_in_a_conversation() -> None:
    turns = "一位66岁的患者说他把甲氨蝶呤当成每天吃的药\n他每天吃3片，2.5 mg一片，这样一周总量多少？是否超量？"
    assert _ids(turns) == {"mtx_max_weekly_dose"}


@pytest.mark.parametrize("question", ["透析病人痛风发作可以用秋水仙碱吗", "怀孕24周痛风发作能吃萘普生吗"])
def test_a_question_about_what_no_source_has_gets_no_seed_verdict(question: str) -> None:
    """No therapy the rules know is named, and the question is about things no source here has (痛风,
    秋水仙碱): the seed's "therapy unspecified" default must not give a regenerative-medicine verdict."""
    assert check(question, None, rules=SEED_ONLY, context_docs=set()).level != "none"  # the default alone
    seeds = frozenset({"aspn-2024-regenerative-chronic-pain", "bmac-subchondral-knee-oa"})
    gout = (frozenset({"gout-ult-guideline-2025"}),)  # 痛风: only the clinic's English guideline has it (gout)
    assert check(question, None, rules=SEED_ONLY, context_docs=set(), concept_docs=(seeds, frozenset())).findings == []
    assert check(question, None, rules=SEED_ONLY, context_docs=set(), concept_docs=(seeds,) + gout).findings == []
    assert check(question, None, rules=SEED_ONLY, context_docs=set(), concept_docs=(seeds,)).level != "none"
