"""The bilingual glossary (issue "Core pipeline"): it must parse, keep jieba from splitting the
corpus's key terms, and bridge English questions to the Chinese text."""
from __future__ import annotations

import csv
from pathlib import Path

import jieba
import pytest

from assistant.glossary import Glossary, Term, install_jieba_terms, load_glossary
from assistant.tokens import tokenize

PATH = Path(__file__).resolve().parents[1] / "corpus" / "glossary.tsv"
COLUMNS = ["id", "zh", "en", "abbr", "variants", "kind"]


@pytest.fixture(scope="module")
def glossary() -> Glossary:
    install_jieba_terms(str(PATH))
    return load_glossary(str(PATH))


def test_tsv_parses_with_the_documented_columns():
    with PATH.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    assert rows[0] == COLUMNS
    bad = [(n, r) for n, r in enumerate(rows[1:], start=2) if len(r) != len(COLUMNS)]
    assert not bad, f"rows with the wrong number of tab-separated fields: {bad[:3]}"
    ids = [r[0] for r in rows[1:]]
    assert len(ids) == len(set(ids)) and all(ids)
    assert all(r[1].strip() and r[2].strip() for r in rows[1:]), "every term needs zh and en"
    assert all(r[5] in ("intervention", "umbrella", "term") for r in rows[1:]), "kind: intervention, umbrella, term"


def test_loaded_terms(glossary):
    assert len(glossary.terms) >= 20
    by_id = {t.id: t for t in glossary.terms}
    for tid, zh in (("prp", "富血小板血浆"), ("msc", "间充质干细胞"), ("bmac", "骨髓浓缩液"), ("oa", "骨关节炎")):
        assert by_id[tid].zh == zh
    assert "PRP" in by_id["prp"].abbr
    assert all(f == f.strip() and f for t in glossary.terms for f in t.forms)


def test_no_surface_form_belongs_to_two_terms(glossary):
    owner: dict[str, str] = {}
    clashes = []
    for t in glossary.terms:
        for f in {f.lower() for f in t.forms}:
            if f in owner and owner[f] != t.id:
                clashes.append((f, owner[f], t.id))
            owner[f] = t.id
    assert not clashes


@pytest.mark.integration  # real jieba
@pytest.mark.parametrize("sentence,term", [
    ("富血小板血浆注射可延缓软骨退变", "富血小板血浆"),
    ("间充质干细胞治疗膝骨关节炎", "间充质干细胞"),
    ("骨髓浓缩液注射至软骨下骨", "骨髓浓缩液"),
])
def test_jieba_keeps_glossary_terms_whole(glossary, sentence, term):
    assert term in jieba.lcut(sentence)
    assert term in jieba.lcut(sentence, HMM=False)
    assert term in tokenize(sentence, search_mode=False)


@pytest.mark.integration
def test_install_is_idempotent(glossary):
    install_jieba_terms(str(PATH))
    assert "富血小板血浆" in jieba.lcut("富血小板血浆注射")


def test_expand_bridges_english_to_chinese(glossary):
    expanded = glossary.expand("stem cells for knee OA")
    assert expanded.startswith("stem cells for knee OA")
    added = expanded.split()[5:]
    assert "干细胞" in added and "膝骨关节炎" in added  # knee OA -> 膝骨关节炎 (which reads 骨关节炎 too)
    assert any("骨关节炎" in w for w in added)
    expanded = glossary.expand("mesenchymal stem cells for knee OA")
    assert "间充质干细胞" in expanded.split()
    assert glossary.expand("How long must NSAIDs be stopped before a PRP injection?").count("富血小板血浆") == 1


def test_expand_bridges_chinese_to_english(glossary):
    expanded = glossary.expand("PRP注射前需要停用NSAIDs多久?")
    assert "platelet-rich plasma" in expanded and "非甾体抗炎药" in expanded
    assert expanded.count("PRP") == 1  # forms already in the question are not repeated


def test_find_matches_ascii_forms_on_word_boundaries_only(glossary):
    ids = {t.id for t in glossary.find("The BOARD approved a PRPX kit")}
    assert "oa" not in ids and "prp" not in ids
    assert {"oa", "prp"} <= {t.id for t in glossary.find("prp for oa")}
    assert "prp" in {t.id for t in glossary.find("富血小板血漿")}  # traditional-script variant


def test_missing_glossary_is_empty(tmp_path):
    g = load_glossary(str(tmp_path / "none.tsv"))
    assert g.terms == () and g.expand("PRP") == "PRP"


def test_term_forms_order_and_blanks():
    t = Term("x", "中文", "English", ("AB",), ("变体",))
    assert t.forms == ("中文", "English", "AB", "变体")
    assert Term("y", "中文", "", (), ()).forms == ("中文",)


def test_a_compound_that_ends_with_a_term_is_a_kind_of_it(glossary):
    """A Chinese compound names its kind last: 间充质干细胞 (MSCs) is a 干细胞 and 膝骨关节炎 an 骨关节炎, so
    their forms count for the broader term; 富血小板血浆 is no 血小板 (its head is 血浆)."""
    by_zh = {t.zh: t for t in glossary.terms}
    assert {"MSCs", "间充质干细胞", "滑膜间充质干细胞"} <= set(glossary.narrower(by_zh["干细胞"]))
    assert "膝骨关节炎" in glossary.narrower(by_zh["骨关节炎"])
    assert glossary.narrower(by_zh["富血小板血浆"]) == ()
