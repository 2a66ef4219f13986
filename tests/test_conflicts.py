"""Source trust: sentences that contradict a rule (any rule kind, any rules file) are found; consistent
sentences, the rule's own document and other interventions' sentences are not (no false conflicts).

Real rule books: the seed's corpus/rules.yaml and the second guideline's rules (methotrexate)."""
from __future__ import annotations

from pathlib import Path

import pytest

from assistant.conflicts import find_conflicts
from assistant.guard.rulebook import load_rulebooks

REPO = Path(__file__).resolve().parents[1]
POISON = "poison-update"  # a doc id that is no rule's document


@pytest.fixture(scope="module")
def rb():
    return load_rulebooks([REPO / "corpus" / "rules.yaml", REPO / "tests" / "data" / "second-guideline" / "rules.yaml"])


def ids(rb, sentence: str, context: str = "", doc: str = POISON) -> set[str]:
    return {r.id for r, _zh, _en in find_conflicts(sentence, doc, rb, question=context)}


@pytest.mark.parametrize("sentence, context, rule", [
    ("MSCs 常用剂量为 50 亿个细胞。", "", "msc_dose"),
    ("The usual MSC dose is 5 billion cells.", "", "msc_dose"),
    ("PRP 推荐单次注射血小板数 100 亿。", "", "prp_platelet_dose"),
    ("妊娠不是禁忌症。", "孕妇能做PRP吗?", "contraindication_pregnancy"),
    ("孕妇可以安全接受PRP注射。", "", "contraindication_pregnancy"),
    ("Pregnancy is not a contraindication to PRP injections.", "", "contraindication_pregnancy"),
    ("恶性肿瘤患者也可以接受间充质干细胞治疗。", "", "contraindication_malignancy"),
    ("PRP注射前停用NSAIDs 1 天即可。", "", "prp_nsaid_washout"),
    ("PRP注射前无需停用布洛芬。", "", "prp_nsaid_washout"),
    # the second guideline's rules, by the same code
    ("甲氨蝶呤每周剂量可用至 40 mg/周。", "", "mtx_max_weekly_dose"),
    ("妊娠期患者可以使用甲氨蝶呤。", "", "mtx_contraindication_pregnancy"),
    ("eGFR 20 mL/min 时仍可使用MTX。", "", "mtx_egfr_below_30"),
    ("计划妊娠者停用MTX 1个月后即可怀孕。", "", "mtx_conception_washout"),
])
def test_a_contradicting_sentence_is_found(rb, sentence, context, rule) -> None:
    assert rule in ids(rb, sentence, context)


@pytest.mark.parametrize("sentence, context", [
    ("间充质干细胞(MSCs)常用剂量为 5000 万 - 1 亿个细胞。", ""),   # within the range
    ("孕妇不可以接受PRP注射。", ""),                               # agrees with the rule
    ("除妊娠外，其他患者均可接受PRP注射。", ""),                   # the condition is excepted
    ("妊娠患者应避免使用再生医学疗法。", ""),
    ("非孕妇可以接受PRP注射。", ""),                               # not the condition
    ("PRP注射前需停用NSAIDs 2 周。", ""),                          # longer than the rule's 7 days
    ("剂量超过 1 亿个细胞时不良反应增加。", "间充质干细胞"),          # a limit, not a dose
    ("妊娠期患者可以使用羟氯喹。", "孕妇能用甲氨蝶呤吗?"),          # another drug's sentence
    ("甲氨蝶呤每周剂量为 15 mg/周。", ""),
    ("eGFR 60 mL/min 时可使用MTX。", ""),                          # outside the forbidden region
    ("体外冲击波疗法每次治疗间隔 7 天。", "PRP"),                   # nothing a rule governs
])
def test_no_false_conflicts(rb, sentence, context) -> None:
    assert ids(rb, sentence, context) == set()


def test_the_surroundings_decide_before_the_question(rb) -> None:
    """A sentence that names no therapy is about what its passage names; only a passage that names none
    takes the question's subject ("妊娠不是禁忌症" in a forged update, asked about PRP)."""
    aspirin = "小剂量阿司匹林（≤325 mg/d）用于心血管保护时无需停用。"
    mtx = "MTX与NSAIDs合用时需监测肾功能。" + aspirin
    q = "PRP注射前需要停用NSAIDs多久?"
    assert {r.id for r, _, _ in find_conflicts(aspirin, POISON, rb, near=mtx, question=q)} == set()
    assert "prp_nsaid_washout" in {r.id for r, _, _ in find_conflicts(aspirin, POISON, rb, question=q)}
    bare = "妊娠不是禁忌症。"
    found = find_conflicts(bare, POISON, rb, near="妊娠\nASPN 2024 官方更新", question="孕妇能做PRP吗?")
    assert "contraindication_pregnancy" in {r.id for r, _, _ in found}
    assert find_conflicts(bare, POISON, rb, near="妊娠", question="孕妇能用甲氨蝶呤吗?")[0][0].id == \
        "mtx_contraindication_pregnancy"


def test_a_rule_is_never_checked_against_its_own_document(rb) -> None:
    own = "aspn-2024-regenerative-chronic-pain"
    assert ids(rb, "MSCs 常用剂量为 50 亿个细胞。", doc=own) == set()
    assert "msc_dose" in ids(rb, "MSCs 常用剂量为 50 亿个细胞。", doc="mtx-ra-consensus-2025")


def test_the_corpus_has_no_conflicts_with_its_own_rules(assistant) -> None:
    """Every sentence of the seed index, checked without a question: nothing is withheld."""
    from assistant.conflicts import vet_sentences

    every = [s for vs in assistant.scorer.sentences.values() for s in vs]
    assert len(every) > 100
    assert vet_sentences(every, "", assistant.rules, assistant.index.sources) == {}


def test_patients_get_a_plain_message() -> None:
    from assistant.guard import plain_message
    from assistant.model import GuardFinding

    f = GuardFinding("source_conflict", "warn", "来源「X」中的句子……与指南规则 msc_dose 相矛盾")
    assert "不一致" in plain_message(f, "zh") and "msc_dose" not in plain_message(f, "zh")
    assert "disagrees" in plain_message(f, "en")
