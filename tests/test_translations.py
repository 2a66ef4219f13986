"""English translations of the guideline sentences (issue "Core pipeline").

English answers quote these translations, so a translation is only usable when it is aligned to an
exact span of the Chinese source and states exactly the same numbers. Numbers are compared after
unit normalisation by `assistant.quantities.values` (20-50 亿 == 2-5 billion, 5000 万 == 50 million).

The files are being filled by another engineer: below 90 % filled, the completeness test xfails
(with the count) instead of failing; the alignment and number checks run on whatever is filled.
"""
from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from assistant.chunk import all_sentences
from assistant.normalise import load_noise_rules, normalise
from assistant.quantities import values

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
FILES = sorted((CORPUS / "translations").glob("*.en.jsonl"))
RULES = load_noise_rules(str(CORPUS / "noise.yaml"))
# "1) ", "2、", "(3)" at the start of a list item: a marker, not an amount
_LIST_MARKER = re.compile(r"^\s*(?:\(?\d{1,2}[)）、]|\d{1,2}\.(?!\d))\s*")


def _records(path: Path) -> list[dict]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            rec = json.loads(line)  # a JSON error here names the line in the traceback
            rec["_line"] = n
            out.append(rec)
    return out


def _doc_id(path: Path) -> str:
    return path.name.removesuffix(".en.jsonl")


def _source(doc_id: str) -> str:
    return (CORPUS / "sources" / f"{doc_id}.zh.txt").read_text(encoding="utf-8")


def _numbers(text: str) -> set[Decimal]:
    return values(_LIST_MARKER.sub("", text))


def _is_reference(rec: dict) -> bool:
    return bool(rec.get("section")) and rec["section"][0] in RULES.reference_headings


def test_there_is_one_translation_file_per_source():
    sources = {p.name.removesuffix(".zh.txt") for p in (CORPUS / "sources").glob("*.zh.txt")}
    assert {_doc_id(p) for p in FILES} == sources


def test_the_unit_normalisation_this_test_relies_on():
    assert values("20-50 亿") == values("2-5 billion") == {Decimal(2_000_000_000), Decimal(5_000_000_000)}
    assert values("5000 万") == values("50 million") == {Decimal(50_000_000)}
    assert _numbers("1) 增加软骨下骨内压") == set()
    assert _numbers("2. From a biological view, 3.5 times") == {Decimal("3.5")}


@pytest.mark.parametrize("path", FILES, ids=_doc_id)
def test_every_record_is_an_exact_span_of_a_source_sentence(path):
    doc_id = _doc_id(path)
    text = _source(doc_id)
    sentences = {sp: seg for seg, sp in all_sentences(normalise(doc_id, text, RULES))}
    seen = set()
    for r in _records(path):
        where = f"{path.name}:{r['_line']}"
        assert r["doc_id"] == doc_id, where
        assert r["zh"] == text[r["start"]:r["end"]], where
        span = (r["start"], r["end"])
        assert span in sentences, f"{where}: not a sentence span of the normalised source"
        assert span not in seen, f"{where}: duplicate record"
        seen.add(span)
        assert tuple(r["section"]) == sentences[span].section, where
        assert len(r.get("section_en", [])) == len(r["section"]), where


@pytest.mark.parametrize("path", FILES, ids=_doc_id)
def test_numbers_in_english_equal_numbers_in_chinese(path):
    problems = []
    for r in _records(path):
        if not r.get("en") or _is_reference(r):
            continue
        zh, en = _numbers(r["zh"]), _numbers(r["en"])
        if en - zh:
            problems.append(f"{path.name}:{r['_line']} English has {sorted(map(str, en - zh))}: {r['en']!r}")
        if zh - en:
            problems.append(f"{path.name}:{r['_line']} English lacks {sorted(map(str, zh - en))}: {r['en']!r}")
    assert not problems, "\n".join(problems)


def test_the_prp_dose_sentence_is_translated_with_its_numbers():
    recs = _records(CORPUS / "translations" / "aspn-2024-regenerative-chronic-pain.en.jsonl")
    prp = next(r for r in recs if "术前需停用 NSAIDs 至少 7 天" in r["zh"])
    if not prp.get("en"):
        pytest.xfail("the PRP sentence is not translated yet")
    assert "7 days" in prp["en"] and "NSAID" in prp["en"]
    assert {Decimal(2_000_000_000), Decimal(5_000_000_000), Decimal(7)} <= values(prp["en"])


@pytest.mark.parametrize("path", FILES, ids=_doc_id)
def test_every_sentence_has_an_english_translation(path):
    doc_id = _doc_id(path)
    spans = [sp for _, sp in all_sentences(normalise(doc_id, _source(doc_id), RULES))]
    filled = {(r["start"], r["end"]) for r in _records(path) if (r.get("en") or "").strip()}
    missing = [sp for sp in spans if sp not in filled]
    share = 1 - len(missing) / len(spans)
    if share < 0.9:
        pytest.xfail(f"translations still being filled: {len(spans) - len(missing)}/{len(spans)} sentences")
    assert not missing, f"{len(missing)} sentences without English, first at {missing[:3]}"
