"""Validate the hand-written evaluation set eval/dev.jsonl (schema, coverage, exact evidence quotes).

Pure file checks: no network, no model, no index.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "eval" / "dev.jsonl"
SOURCES = ROOT / "corpus" / "sources"

REQUIRED_KEYS = {
    "id", "lang", "audience", "category", "turns", "patient", "expected_source",
    "expected_facts", "expected_guard", "evidence_quote", "notes",
}
OPTIONAL_KEYS = {"must_not_say"}
LANGS = {"zh", "en"}
AUDIENCES = {"clinician", "patient"}
CATEGORIES = {"fact", "dose", "contraindication", "multiturn", "out_of_scope"}
GUARDS = {"none", "warn", "block"}
PATIENT_KEYS = {
    "age", "pregnant", "conditions", "glucose_mmol_l", "glucose_mg_dl",
    "nsaid_last_dose_days_ago", "medications", "platelets_10e9_per_l",
}
CONDITIONS = {"diabetes", "severe_infection", "malignancy", "coagulopathy", "thrombocytopenia", "organ_failure"}
NUMERIC_PATIENT_KEYS = {"age", "glucose_mmol_l", "glucose_mg_dl", "nsaid_last_dose_days_ago", "platelets_10e9_per_l"}
MIN_PER_CATEGORY = {"fact": 60, "dose": 30, "contraindication": 25, "multiturn": 20, "out_of_scope": 25}
MIN_ITEMS = 150
# Page noise of the BMAC scrape: never a valid answer or evidence.
NOISE = ["400-622-0089", "139-6700-7000", "中国,浙江,杭州", "上一篇", "免责说明", "阿尔茨海默"]
CJK = re.compile(r"[\u3400-\u9fff]")


def norm(s: str) -> str:
    """The comparison used by the scorer: ignore whitespace, case and thousands separators."""
    s = re.sub(r"\s+", "", s)
    s = re.sub(r"(?<=\d),(?=\d{3}\b)", "", s)
    return s.lower()


def _load_sources() -> dict[str, str]:
    out: dict[str, str] = {}
    for meta_path in sorted(SOURCES.glob("*.meta.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        text_path = meta_path.with_name(meta_path.name.replace(".meta.json", ".txt"))
        out[meta["original_file"]] = text_path.read_text(encoding="utf-8")
    return out


def _load_items() -> list[dict]:
    items = []
    for n, line in enumerate(DEV.read_text(encoding="utf-8").splitlines(), 1):
        assert line.strip(), f"line {n}: blank line"
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as e:  # pragma: no cover - message only
            pytest.fail(f"line {n}: not JSON: {e}")
    return items


SRC = _load_sources()
ITEMS = _load_items()
IDS = [it.get("id", f"line{i}") for i, it in enumerate(ITEMS, 1)]


def test_sources_found():
    assert len(SRC) >= 2
    assert "000_e6a413e21e3238c2.txt" in SRC and "004_ea6a453a3e40e1f5.txt" in SRC


def test_size_and_category_minimums():
    assert len(ITEMS) >= MIN_ITEMS
    cats = Counter(it["category"] for it in ITEMS)
    for cat, need in MIN_PER_CATEGORY.items():
        assert cats[cat] >= need, f"{cat}: {cats[cat]} < {need}"


def test_ids_unique_and_well_formed():
    assert len(set(IDS)) == len(IDS), [k for k, v in Counter(IDS).items() if v > 1]
    for i in IDS:
        assert re.fullmatch(r"d\d{3,}", i), i


def test_mix_of_languages_audiences_and_sources():
    n = len(ITEMS)
    zh = sum(it["lang"] == "zh" for it in ITEMS) / n
    patient = sum(it["audience"] == "patient" for it in ITEMS) / n
    assert 0.45 <= zh <= 0.65, zh
    assert 0.18 <= patient <= 0.40, patient
    facts = [it for it in ITEMS if it["category"] == "fact"]
    for src in ("000_e6a413e21e3238c2.txt", "004_ea6a453a3e40e1f5.txt"):
        for lang in LANGS:
            assert any(it["expected_source"] == src and it["lang"] == lang for it in facts), (src, lang)
    assert sum(len(it["turns"]) >= 3 for it in ITEMS if it["category"] == "multiturn") >= 1
    for g in GUARDS:
        assert any(it["expected_guard"] == g for it in ITEMS), g


@pytest.mark.parametrize("item", ITEMS, ids=IDS)
def test_item_schema(item):
    keys = set(item)
    assert REQUIRED_KEYS <= keys, REQUIRED_KEYS - keys
    assert keys <= REQUIRED_KEYS | OPTIONAL_KEYS, keys - REQUIRED_KEYS - OPTIONAL_KEYS
    assert item["lang"] in LANGS
    assert item["audience"] in AUDIENCES
    assert item["category"] in CATEGORIES
    assert item["expected_guard"] in GUARDS
    assert isinstance(item["notes"], str)

    turns = item["turns"]
    assert isinstance(turns, list) and turns
    assert all(isinstance(t, str) and t.strip() for t in turns)
    if item["category"] == "multiturn":
        assert 2 <= len(turns) <= 3
    else:
        assert len(turns) == 1
    last = turns[-1]
    if item["lang"] == "zh":
        assert CJK.search(last), "zh item whose scored turn has no Chinese"
    else:
        assert not any(CJK.search(t) for t in turns), "en item with Chinese text"

    facts = item["expected_facts"]
    assert isinstance(facts, list) and all(isinstance(f, str) and f.strip() for f in facts)
    mns = item.get("must_not_say", [])
    assert isinstance(mns, list) and all(isinstance(m, str) and m.strip() for m in mns)
    for m in mns:
        for f in facts:
            assert norm(m) not in norm(f) and norm(f) not in norm(m), (m, f)
    for f in facts:
        assert not any(norm(n) in norm(f) for n in NOISE), f"noise used as a fact: {f}"


@pytest.mark.parametrize("item", ITEMS, ids=IDS)
def test_patient_context(item):
    p = item["patient"]
    if p is None:
        return
    assert isinstance(p, dict) and p
    assert set(p) <= PATIENT_KEYS, set(p) - PATIENT_KEYS
    for k in NUMERIC_PATIENT_KEYS & set(p):
        assert isinstance(p[k], (int, float)) and not isinstance(p[k], bool), k
        assert p[k] >= 0, k
    if "pregnant" in p:
        assert isinstance(p["pregnant"], bool)
    if "conditions" in p:
        assert isinstance(p["conditions"], list) and set(p["conditions"]) <= CONDITIONS
    if "medications" in p:
        assert isinstance(p["medications"], list) and all(isinstance(m, str) and m for m in p["medications"])


@pytest.mark.parametrize("item", ITEMS, ids=IDS)
def test_source_and_evidence(item):
    src, quote, facts = item["expected_source"], item["evidence_quote"], item["expected_facts"]
    if item["category"] == "out_of_scope":
        assert src is None and quote is None and facts == []
        assert item["expected_guard"] == "none"
        return
    assert src in SRC, f"unknown expected_source {src!r}"
    assert isinstance(quote, str) and 10 <= len(quote) <= 80, quote
    assert quote in SRC[src], "evidence_quote is not an exact substring of its source"
    assert not any(n in quote for n in NOISE), "evidence quote taken from page noise"
    assert 1 <= len(facts) <= 3
    if item["lang"] == "zh":
        # Chinese answers quote the source, so each fact must be in the evidence sentence.
        for f in facts:
            assert norm(f) in norm(quote), f"fact {f!r} not in evidence quote"
