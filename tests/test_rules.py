"""corpus/rules.yaml and corpus/drugs.yaml: verbatim quotes, schema, coverage, drug lexicon; the rule-book
loader and `assistant rules check` (FILE:LINE errors)."""
from __future__ import annotations

import string
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from assistant.guard import KINDS, load_rules
from assistant.model import LEVEL_ORDER
from assistant.guard.patient import CONDITIONS, load_drugs
from assistant.guard.rulebook import RuleError, check_files, flat, load_rulebooks
from assistant.guard.ruleschema import PLACEHOLDERS, SPEC

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
RULES = yaml.safe_load((CORPUS / "rules.yaml").read_text(encoding="utf-8"))
DRUGS = yaml.safe_load((CORPUS / "drugs.yaml").read_text(encoding="utf-8"))
VERDICT_KEYS = {
    "dose_range": {"above", "below", "within"},
    "threshold": {"met", "unknown", "not_met"},
    "washout": {"within", "unknown_timing", "outside"},
    "contraindication": {"present", "present_prp"},
    "population_adjustment": {"above_low_dose", "no_dose", "at_or_below_low_dose"},
    "quality_standard": {"fails", "passes", "route_unknown"},
    "adverse_event_rate": {"exceeds", "reported"},
    "aftercare": {"too_early"},
}
REQUIRED_IDS = {
    "prp_platelet_dose", "prp_nsaid_washout", "prp_weight_bearing", "msc_dose", "elderly_low_dose",
    "diabetic_glucose_prp", "contraindication_severe_infection", "contraindication_malignancy",
    "contraindication_coagulopathy", "contraindication_organ_failure", "contraindication_pregnancy",
    "thrombocytopenia_screening", "mpc_intradiscal_dose", "qc_prp_platelet_concentration",
    "qc_stem_cell_viability", "qc_iv_stem_cell_diameter", "ae_minor_reactions", "ae_severe_risk",
}
RULE_IDS = [r["id"] for r in RULES["rules"]]


def _rule(rule_id: str) -> dict:
    return next(r for r in RULES["rules"] if r["id"] == rule_id)


@pytest.mark.parametrize("rule", RULES["rules"], ids=RULE_IDS)
def test_quote_is_verbatim_substring_of_source(rule: dict) -> None:
    text = (CORPUS / "sources" / rule["document"]).read_text(encoding="utf-8")
    assert rule["quote"] in text


@pytest.mark.parametrize("rule", RULES["rules"], ids=RULE_IDS)
def test_rule_schema(rule: dict) -> None:
    for key in ("id", "kind", "interventions", "document", "verdicts", "message_zh", "message_en", "quote",
                "assumption", "plain_zh", "plain_en"):
        assert key in rule, key
    assert rule["kind"] in KINDS and set(VERDICT_KEYS) == set(KINDS) == set(SPEC)
    terms = flat(rule["interventions"])
    assert isinstance(terms, list) and terms and all(isinstance(t, str) and t for t in terms)
    assert set(rule["verdicts"]) <= VERDICT_KEYS[rule["kind"]]
    assert set(rule["verdicts"].values()) <= set(LEVEL_ORDER)
    assert isinstance(rule["assumption"], str)
    for k, v in (rule.get("bounds") or {}).items():
        if k.endswith("unit"):
            assert isinstance(v, str) and v
        else:
            assert isinstance(v, str), f"{k} must be a string parsed with Decimal"
            Decimal(v)
    if rule["kind"] == "contraindication":
        assert rule["condition"] in CONDITIONS + ("pregnant",)
    for key, text in rule.items():
        if key.startswith(("message", "plain")):
            assert isinstance(text, str) and text.strip()
            names = {f for _, f, _, _ in string.Formatter().parse(text) if f}
            assert names <= PLACEHOLDERS, (key, names)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in rule["message_zh"])
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in rule["message_en"])


def test_seed_condition_lexicon_covers_the_form_conditions() -> None:
    assert set(RULES["conditions"]) == set(CONDITIONS) | {"pregnant"}
    rb = load_rules()
    assert rb.condition_keys == CONDITIONS


def test_required_rules_and_unique_ids() -> None:
    assert REQUIRED_IDS <= set(RULE_IDS)
    assert len(RULE_IDS) == len(set(RULE_IDS))


def test_settings() -> None:
    assert RULES["settings"]["elderly_age"] == 65
    assert RULES["settings"]["thrombocytopenia_below_10e9_per_l"] == 150
    assert RULES["settings"]["prp_rules_apply_when_therapy_unspecified"] is True
    assert "再生医学" in RULES["settings"]["umbrella_terms"]
    assert "ASSUMPTION" in (CORPUS / "rules.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("rule_id,bounds", [
    ("prp_platelet_dose", {"low": "2e9", "high": "5e9", "unit": "count"}),
    ("msc_dose", {"low": "5e7", "high": "1e8", "unit": "count"}),
    ("mpc_intradiscal_dose", {"low": "6e6", "high": "6e6", "unit": "count"}),
    ("prp_nsaid_washout", {"min_days": "7", "unit": "day"}),
    ("elderly_low_dose", {"low_dose": "5e7", "unit": "count"}),
    ("qc_prp_platelet_concentration", {"min": "3", "unit": "x_baseline"}),
    ("qc_stem_cell_viability", {"min": "95", "unit": "percent"}),
    ("qc_iv_stem_cell_diameter", {"max_exclusive": "25", "unit": "um"}),
    ("prp_weight_bearing", {"low": "1", "high": "2", "unit": "week"}),
])
def test_bounds_match_the_guideline(rule_id: str, bounds: dict) -> None:
    got = _rule(rule_id)["bounds"]
    for k, v in bounds.items():
        assert (got[k] == v) if k.endswith("unit") else Decimal(got[k]) == Decimal(v)


def test_glucose_threshold_matches_the_guideline() -> None:
    r = _rule("diabetic_glucose_prp")
    assert (r["measure"], r["comparator"], Decimal(r["value"]), r["unit"]) == ("glucose", ">=", Decimal("7.8"), "mmol/L")
    assert r["unknown_when"] == "diabetes"


def test_assumptions_are_stated_in_messages() -> None:
    elderly = _rule("elderly_low_dose")
    assert "65" in elderly["assumption"] and "假设" in elderly["message_zh"] and "assumption" in elderly["message_en"]
    assert _rule("thrombocytopenia_screening")["assumption"]
    assert "warfarin" in _rule("contraindication_coagulopathy")["assumption"]


def test_contraindications_cover_the_guideline_list() -> None:
    conds = {r["condition"] for r in RULES["rules"] if r["kind"] == "contraindication"}
    assert {"severe_infection", "malignancy", "coagulopathy", "organ_failure", "pregnant"} <= conds


def test_load_rules_validates_and_parses() -> None:
    rb = load_rules()
    assert {r.id for r in rb.rules} == set(RULE_IDS)
    assert rb.get("msc_dose").bounds["high"] == Decimal(100000000)  # type: ignore[union-attr]


def test_load_rules_rejects_a_paraphrased_quote(tmp_path: Path) -> None:
    (tmp_path / "sources").mkdir()
    for f in (CORPUS / "sources").glob("*.txt"):
        (tmp_path / "sources" / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "drugs.yaml").write_text((CORPUS / "drugs.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    text = (CORPUS / "rules.yaml").read_text(encoding="utf-8").replace('quote: "PRP:推荐单次注射血小板数 20-50 亿"',
                                                                       'quote: "PRP:推荐单次注射血小板数 20–50 亿"')
    (tmp_path / "rules.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="prp_platelet_dose"):
        load_rules(tmp_path)
    problems, _ = check_files([tmp_path / "rules.yaml"])
    assert len(problems) == 1
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "20–50 亿" in ln)
    assert problems[0] == (f"{tmp_path / 'rules.yaml'}:{line}: rule prp_platelet_dose: quote is not a verbatim "
                           "substring of aspn-2024-regenerative-chronic-pain.zh.txt")


RULE = """version: 2
rules:
  - id: r1
    kind: {kind}
    interventions: [甲氨蝶呤]
    document: doc.md
    verdicts: {verdicts}
    message_zh: "中文 {{value}}"
    message_en: "English {{value}}"
    quote: "{quote}"
{extra}"""


def _write(tmp_path: Path, kind: str = "dose_range", verdicts: str = "{above: block}", quote: str = "最大剂量 25 mg",
           extra: str = "    bounds: {high: \"25\", unit: mg/week}\n") -> Path:
    (tmp_path / "doc.md").write_text("# 标题\n\n最大剂量 25 mg，每周一次。\n", encoding="utf-8")
    f = tmp_path / "x.rules.yaml"
    f.write_text(RULE.format(kind=kind, verdicts=verdicts, quote=quote, extra=extra), encoding="utf-8")
    return f


def test_a_clinic_rules_file_loads_with_its_document_beside_it(tmp_path: Path) -> None:
    rb = load_rulebooks([CORPUS / "rules.yaml", _write(tmp_path)])
    r = rb.get("r1")
    assert r is not None and r.bounds["high"] == Decimal(25) and r.document == "doc.md" and r.line == 3
    assert len(rb.rules) == len(RULE_IDS) + 1


@pytest.mark.parametrize("kwargs,line,fragment", [
    ({"kind": "dosage"}, 4, "unknown kind 'dosage'"),
    ({"verdicts": "{above: stop}"}, 7, "must be one of"),
    ({"verdicts": "{over: block}"}, 7, "verdict key 'over'"),
    ({"quote": "最大剂量 30 mg"}, 10, "quote is not a verbatim substring of doc.md"),
    ({"extra": "    bounds: {high: lots, unit: mg/week}\n"}, 11, "bounds.high = 'lots' is not a number"),
    ({"extra": "    bounds: {unit: mg/week}\n"}, 11, "needs bounds.low or bounds.high"),
    ({"kind": "threshold", "verdicts": "{met: block}", "extra": "    measure: eGFR\n"}, 3, "missing 'unit'"),
    ({"kind": "contraindication", "verdicts": "{present: block}", "extra": "    condition: gout\n"}, 3,
     "condition 'gout' has no terms"),
    ({"extra": "    bounds: {high: \"25\", unit: mg/week}\n    qoute: x\n"}, 12, "unknown key 'qoute'"),
])
def test_rules_check_reports_file_line_rule_and_problem(tmp_path: Path, kwargs: dict, line: int,
                                                        fragment: str) -> None:
    f = _write(tmp_path, **kwargs)
    problems, summary = check_files([f])
    assert problems and "problem" in summary
    assert any(p.startswith(f"{f}:{line}: rule r1: ") and fragment in p for p in problems), problems
    with pytest.raises(RuleError) as e:
        load_rulebooks([f])
    assert fragment in str(e.value)


def test_rules_check_flags_unknown_top_level_keys(tmp_path: Path) -> None:
    f = _write(tmp_path)
    f.write_text(f.read_text(encoding="utf-8") + "setings:\n  elderly_age: 70\n", encoding="utf-8")
    problems, _ = check_files([f])
    assert problems == [f"{f}:12: unknown top-level key 'setings'; allowed: conditions, defaults, drugs, "
                        "interventions, rules, settings, treatment_classes, version"]


def test_rules_check_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from assistant.cli import main

    assert main(["rules", "check", str(CORPUS / "rules.yaml")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "18 rules" in out[0] and "ok" in out[0]
    bad = _write(tmp_path, quote="paraphrase")
    assert main(["rules", "check", str(bad)]) == 2
    assert capsys.readouterr().out.startswith(f"{bad}:10: rule r1: quote is not a verbatim substring")
    assert main(["rules", "check", str(tmp_path / "missing.yaml")]) == 2


# ------------------------------------------------------------------ drug lexicon
NSAID_NAMES = ["布洛芬", "ibuprofen", "芬必得", "Advil", "Motrin", "双氯芬酸", "diclofenac", "扶他林", "Voltaren",
               "塞来昔布", "celecoxib", "西乐葆", "Celebrex", "萘普生", "naproxen", "美洛昔康", "meloxicam", "莫比可",
               "洛索洛芬", "loxoprofen", "乐松", "依托考昔", "etoricoxib", "安康信", "阿司匹林", "aspirin",
               "拜阿司匹灵", "吲哚美辛", "indomethacin", "NSAID", "NSAIDs", "非甾体", "非甾体抗炎药", "消炎止痛药",
               "ADVIL", "nsaids"]


@pytest.mark.parametrize("name", NSAID_NAMES)
def test_nsaid_names(name: str) -> None:
    drug = load_drugs().lookup(name)
    assert drug is not None and drug.cls == "NSAID"


@pytest.mark.parametrize("name", ["对乙酰氨基酚", "paracetamol", "acetaminophen", "泰诺", "Tylenol"])
def test_paracetamol_is_not_an_nsaid(name: str) -> None:
    drug = load_drugs().lookup(name)
    assert drug is not None and drug.cls == "analgesic"


def test_lexicon_is_marked_as_pharmacology() -> None:
    assert DRUGS["basis"] == "pharmacology"
    head = (CORPUS / "drugs.yaml").read_text(encoding="utf-8").split("drugs:")[0]
    assert "NOT the guideline" in head
    for entry in DRUGS["drugs"]:
        assert entry["basis"] == "pharmacology" and entry["class"] in DRUGS["classes"]
        if entry.get("implies_condition"):
            assert entry["implies_condition"] in CONDITIONS and entry.get("note")


def test_warfarin_maps_to_coagulopathy_with_note() -> None:
    drug = load_drugs().lookup("华法林")
    assert drug is not None and drug.cls == "anticoagulant" and drug.implies_condition == "coagulopathy"
    assert "interpretation" in drug.note


def test_free_text_medication_lookup() -> None:
    assert load_drugs().lookup("ibuprofen 400 mg tid").id == "ibuprofen"  # type: ignore[union-attr]
    assert load_drugs().lookup("vitamin D") is None


def test_every_rule_kind_has_one_evaluator():
    """The registry of kinds (schema) and of evaluators (guard engine) are the same set."""
    from assistant.guard.engine import STEPS

    assert set(STEPS) == set(KINDS)
