"""Doses named in a question: cell / platelet counts of the seed regenerative products
(`extract_doses`, `detect_therapies`) and amounts per period for any drug (`extract_amounts`,
e.g. "甲氨蝶呤 30 mg/周", "2.5 mg weekly", "7.5 mg/天" read as 52.5 mg per week).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from assistant.yamlfast import safe_load as yaml_load
from assistant.cues import AMOUNT_UNITS, PERIODS, clause_end, clause_start, compile_terms, normalise_text
from assistant.guard.drugs import corpus_dir
from assistant.quantities import Quantity, parse_quantities

_I = re.IGNORECASE | re.ASCII

# Seed products (count-based doses are attributed to the product named nearest the number); their
# surface forms are the `interventions:` groups of the seed rules file (one home for therapy terms).
PRODUCTS = ("PRP", "MSCs", "MPCs", "BMAC", "regenerative")


@lru_cache(maxsize=4)
def _product_terms(path: str) -> dict[str, re.Pattern[str]]:
    groups = (yaml_load(Path(path).read_text(encoding="utf-8")) or {}).get("interventions") or {}
    return {p: compile_terms(groups.get(p) or []) for p in PRODUCTS}


def detect_therapies(text: str) -> list[str]:
    """Seed products a question names, in PRODUCTS order (zh simplified/traditional and English)."""
    return _named(normalise_text(text), str(corpus_dir() / "rules.yaml"))


def _named(t: str, rules_path: str) -> list[str]:
    terms = _product_terms(rules_path)
    return [p for p in PRODUCTS if terms[p].search(t)]


@dataclass(frozen=True)
class ProposedDose:
    product: str | None
    quantity: Quantity


_DOSE_PRODUCT = [
    ("MPCs", re.compile(r"\bMPCs?\b|间充质前体|precursor cells?", _I)),
    ("BMAC", re.compile(r"\bBMAC\b|骨髓浓缩", _I)),
    ("PRP", re.compile(r"\bPRP\b|血小板|platelets?|富血小板", _I)),
    ("MSCs", re.compile(r"\bMSCs?\b|间充质|干细胞|stem cells?|mesenchymal", _I)),
    ("cells", re.compile(r"细胞|\bcells?\b", _I)),
]
_MULTIPLIER = re.compile(r"万|亿|thousand|million|billion|[×xX*]\s*10", _I)
_MONEY = re.compile(r"元|块|美元|dollars?|USD|RMB|CNY|[$¥￥€£]", _I)
_LAB_AROUND = re.compile(r"(计数|count|PLT)\s*(of|is|为|是|:|:)?\s*$", _I)


DOSE_CACHE_SIZE = 8192  # texts whose doses are remembered: each dose rule's check of a sentence reads them


def extract_doses(text: str) -> list[ProposedDose]:
    """Cell / platelet numbers (2亿个间充质干细胞, 10 billion platelets, 1.5×10^8个MSCs) with the product
    named nearest to them in the same clause; a bare 'cells' falls back to the question's therapy."""
    return list(_doses(normalise_text(text), str(corpus_dir() / "rules.yaml")))


@lru_cache(maxsize=DOSE_CACHE_SIZE)
def _doses(t: str, rules_path: str) -> tuple[ProposedDose, ...]:
    therapies = _named(t, rules_path)
    out = []
    for q in parse_quantities(t):
        big = q.high >= 1000 and (q.unit == "count" or _MULTIPLIER.search(q.text))
        if q.unit not in ("count", None) or not big:
            continue
        lab = "/" in q.text or re.match(r"\s*/\s*(L|μL|uL|µL|mm)", t[q.end:])
        if lab or _LAB_AROUND.search(t[max(0, q.start - 12):q.start]):
            continue
        lo, hi = clause_start(t, q.start), clause_end(t, q.end)
        best: tuple[int, str] | None = None
        for product, rx in _DOSE_PRODUCT:
            for m in rx.finditer(t, lo, hi):
                dist = m.start() - q.end if m.start() >= q.end else (q.start - m.end() if m.end() <= q.start else 0)
                if dist <= 20 and (best is None or dist < best[0]):
                    best = (dist, product)
        product = best[1] if best else None
        if product == "cells":
            cell_therapies = [p for p in ("MPCs", "BMAC", "MSCs") if p in therapies]
            product = cell_therapies[0] if len(cell_therapies) == 1 else "MSCs"
        named = [p for p in therapies if p != "regenerative"]
        if product is None and len(named) == 1 and q.high >= 10**6 and not _MONEY.search(
                t[max(0, q.start - 3):q.end + 4]):
            product = named[0]  # "We plan 7 billion." after a PRP turn: the conversation's one product
        out.append(ProposedDose(product, q))
    return tuple(out)


@dataclass(frozen=True)
class Amount:
    """An amount per period in the unit a rule asks for ("mg/week"): `value` converted, `quantity` as read."""
    value_low: Decimal
    value_high: Decimal
    quantity: Quantity
    period: str | None  # the period the text named (None: none named, the rule's period assumed)


def split_unit(unit: str) -> tuple[str, str | None]:
    """"mg/week" -> ("mg", "week"); "count" -> ("count", None)."""
    amount, _, period = unit.partition("/")
    return amount, (period or None)


def extract_amounts(text: str, unit: str) -> list[Amount]:
    """Amounts in `unit` ("mg/week"): "30 mg/周", "每周 7.5 mg", "10 mg每周", "7.5 mg/天" (x7 for a
    weekly unit); no period named -> the unit's own period. Comparisons ("超过15 mg") are not doses."""
    amount_unit, period = split_unit(unit)
    if amount_unit not in AMOUNT_UNITS:
        return []
    t = normalise_text(text)
    out = []
    for q in parse_quantities(t):
        m = re.match(AMOUNT_UNITS[amount_unit], t[q.end:])
        if q.comparator or not m or re.search(r"(超过|大于|高于|低于|小于|不超过|以上|以下|over|above|below|under)\s*$",
                                                t[max(0, q.start - 6):q.start]):
            continue
        after, before = t[q.end + m.end():], t[clause_start(t, q.start):q.start]
        if re.match(r"\s*(?:一片|每片|/片|的片|片|tablets?|pills?)", after, _I) or \
                re.search(r"(?:每片|一片|片剂|规格)\s*(?:为|是)?\s*$", before):
            continue  # a tablet's strength ("2.5 mg一片"), not a dose
        said = next((p for p, (a, b, _d) in PERIODS.items() if re.match(a, after, _I) or re.search(b, before, _I)), None)
        factor = Decimal(1)
        if said and period and said != period:
            factor = Decimal(PERIODS[period][2]) / Decimal(PERIODS[said][2])
        out.append(Amount(q.low * factor, q.high * factor, q, said))
    return out + _tablets(t, amount_unit, period)


_STRENGTH = re.compile(r"(?:每片|一片)\s*(\d+(?:\.\d+)?)\s*(?:mg|毫克)|(\d+(?:\.\d+)?)\s*(?:mg|毫克)\s*(?:一片|每片|/片|的片)"
                       r"|(\d+(?:\.\d+)?)\s*(?:mg|毫克)\s*(?:tablets?|pills?)", _I)
_TABLETS = re.compile(r"(?<![\d.])(\d+)\s*(?:片|tablets?|pills?)(?!\s*(?:mg|毫克))", _I)


def _tablets(t: str, amount_unit: str, period: str | None) -> list[Amount]:
    """"每天吃3片，2.5 mg一片" -> 7.5 mg a day (52.5 mg a week): tablets x strength, when both are said."""
    s = _STRENGTH.search(t) if amount_unit == "mg" else None
    if s is None:
        return []
    strength = Decimal(next(g for g in s.groups() if g))
    out = []
    for m in _TABLETS.finditer(t):
        if s.start() <= m.start() < s.end():
            continue
        before, after = t[clause_start(t, m.start()):m.start()], t[m.end():]
        said = next((p for p, (a, b, _d) in PERIODS.items() if re.search(b, before, _I) or re.match(a, after, _I)), None)
        factor = Decimal(PERIODS[period][2]) / Decimal(PERIODS[said][2]) if said and period and said != period \
            else Decimal(1)
        v = Decimal(m.group(1)) * strength * factor
        out.append(Amount(v, v, Quantity(v, v, None, None, m.group(), m.start(), m.end()), said))
    return out
