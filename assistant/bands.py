"""A patient's value against a guideline's bands: "INR 6.5" falls in the "4.5～10.0" row and not in the
"≥10.0" one, "eGFR 50" in "45～59", "血小板80" in "50～100×10^9/L", "78岁" under "≥75 岁".

Dose tables and thresholds stratify by such values, and the row whose band holds the asked value is the
one that answers; a row of the same measure whose band does not hold it answers another patient. Raw
numbers are compared as written (a platelet count of 80 against "50～100×10^9/L"); units are not converted.
A graded class is a band over ordered grades: "Child-Pugh A" is not the B row, "CKD stage 4" is in "stage 3
or worse" (grades are ordinals: A-D, I-IV, 0-5).
"""
from __future__ import annotations

import re
from decimal import Decimal

from .lexicon import MEASURE_VERBS_EN
from .tokens import fold_text, tokenize

__all__ = ["band_counts", "band_holds", "asked_values", "band_fit"]

_NUM = r"\d+(?:\.\d+)?"
_UPPER = r"(?:～|~|-|–|—|至|到)"
BAND = re.compile(
    rf"(?P<op>≥|≤|>=|<=|>|<|＞|＜|不低于|不超过|不少于|不足|低于|高于|超过|大于|小于|at least|at most|no more than|"
    rf"less than|more than|greater than|below|under|above|over|exceeding)?\s*(?P<lo>{_NUM})"
    rf"(?:\s*[a-zμ/%]{{0,8}}\s*{_UPPER}\s*(?P<hi>{_NUM}))?(?P<rest>[^\d，。；、,;（）()≥≤<>＜＞=～~]{{0,12}})")
_AT_LEAST = {"≥", ">=", "不低于", "不少于", "at least"}
_ABOVE = {">", "＞", "高于", "超过", "大于", "more than", "greater than", "above", "over", "exceeding"}
_AT_MOST = {"≤", "<=", "不超过", "at most", "no more than"}
_BELOW = {"<", "＜", "低于", "小于", "不足", "less than", "below", "under"}
_AGE = re.compile(r"^\s*(?:岁|周岁|-?\s*years?\b|-?\s*year-old|yrs?\b)", re.I)
# Words between a measure and its value in a question ("INR 就2.8了", "eGFR is 50", "血小板只有80").
_FILLER = re.compile(r"(?:\s|是|为|就|才|只有|已经|已|仍|还|达到|达|到|了|约|大概|:|：|=|is|was|of|at|around|about)+$", re.I)
_QUESTION_VALUE = re.compile(rf"(?<![\d.～~\-–—至到])({_NUM})(?:\s*{_UPPER}\s*(?P<hi>{_NUM}))?(?![\d.])")
_AMOUNT = re.compile(r"^\s*(?:[周天日月年](?!剂量|量|龄)|[次个片支针袋万亿千%]|mg\b|μg|ug\b|g\b|iu\b|u\b|ml\b(?!\s*/)|h\b|d\b|"
                     r"hours?|days?|weeks?|months?|times|doses?|tablets?|million|billion)", re.I)
# A graded class ("Child-Pugh A级", "CKD stage 3 or worse", "NYHA III级"): a band over ordered grades.
_GRADED_CLASS = re.compile(r"(child[\s\-]?pugh|nyha|ckd|ecog)\s*(?:分级|分期|class|stage|grade)?\s*"
                    r"(iv|iii|ii|i|[a-d]|[0-5])(?![a-z0-9])\s*(?:级|期|类)?\s*(?P<rest>[^，。；,;]{0,12})", re.I)
_GRADED_ORDER = {"a": 1, "b": 2, "c": 3, "d": 4, "i": 1, "ii": 2, "iii": 3, "iv": 4}
_OR_WORSE = re.compile(r"^(?:or (?:worse|higher|above|more|greater)|及以上|以上|或以上|或更高)")
_OR_BETTER = re.compile(r"^(?:or (?:better|lower|less|below)|及以下|以下|或以下)")
AGE = "岁"  # the measure of "78岁", "78-year-old"
NEAR = 16  # characters looked at before a value for its measure
BAND_NEAR = 40  # before a band: a table's measure may carry its unit ("eGFR（mL/min/1.73 m²）: 45～59")
# What may stand between a measure and its band: "血小板计数 <100", "INR: ＜1.5", "eGFR为30～59" (not "INR目标范围
# 2.0～3.0", a target, nor "复查INR时间: 1～2周内", another quantity).
_GAP = r"(?:\s|:|：|（|\(|为|是|值|计数|水平|在|处于|介于|of|is|between|[（(][^（）()]{0,24}[）)])*"


def asked_values(question: str) -> list[tuple[str, Decimal]]:
    """(measure, value) pairs the question states: the word just before a number ("eGFR 50" -> egfr),
    or age for a number of years; a range asked about gives both its ends ("INR 1.5～1.9时" is in the
    1.5～1.9 row, in neither "＜1.5" nor "2.0～3.0"). A number without such a word is not a patient value."""
    text = fold_text(question)
    out: list[tuple[str, Decimal]] = []
    grades = list(_GRADED_CLASS.finditer(text))
    out += [(_measure(g), Decimal(_grade(g))) for g in grades]  # "Child-Pugh A级" -> (childpugh, 1)
    for m in _QUESTION_VALUE.finditer(text):
        if any(g.start() <= m.start() < g.end(2) for g in grades):
            continue  # the grade's own number ("CKD 3期")
        ends = [m.group(1)] + ([hi] if (hi := m.group("hi")) else [])
        if _AGE.match(text[m.end():]):
            out += [(AGE, Decimal(v)) for v in ends]
        elif _AMOUNT.match(text[m.end():]):
            continue  # "负重4周", "2亿个细胞", "15 mg": an amount the answer states, not the patient's value
        elif measure := _measure_before(text[max(0, m.start() - NEAR):m.start()]):
            out += [(measure, Decimal(v)) for v in ends]
    return out


def _measure_before(before: str) -> str:
    """The measure a question's value is of: the English word or Chinese word just before it (fillers aside)."""
    before = _FILLER.sub("", before)
    if word := re.search(r"[a-z][a-z0-9\-]*$", before):
        return MEASURE_VERBS_EN.get(word.group(), word.group())
    if (run := re.search(r"[\u3400-\u9fff]+$", before)) and (toks := tokenize(run.group(), search_mode=False)):
        return toks[-1]
    return ""


def _measure(g: re.Match) -> str:
    return re.sub(r"[\s\-]", "", g.group(1).lower())


def _grade(g: re.Match) -> int:
    mark = g.group(2).lower()
    return _GRADED_ORDER.get(mark) or int(mark)


def _holds(op: str | None, lo: Decimal, hi: Decimal | None, rest: str, v: Decimal) -> bool | None:
    """Whether the band holds v; None when the number is a plain value, not a band."""
    if hi is not None:
        return lo <= v <= hi
    if op in _AT_LEAST or (not op and "以上" in rest):
        return v >= lo
    if op in _ABOVE:
        return v > lo
    if op in _AT_MOST or (not op and "以下" in rest):
        return v <= lo
    if op in _BELOW:
        return v < lo
    return None


def band_fit(values: list[tuple[str, Decimal]], text: str) -> int:
    """+1 when a band of the text holds an asked value of the measure named just before it, -1 when the
    text has bands for such a measure and none holds the value, 0 when it says nothing about the measures."""
    fits, misses = band_counts(values, text)
    return 1 if fits else (-1 if misses else 0)


def band_holds(values: list[tuple[str, Decimal]], text: str) -> bool:
    """Every band of the text for an asked measure holds its value, and there is one: "年龄≥75岁" for a
    78-year-old, not "年龄≥75岁且体重＜50 kg" for one weighing 62 kg."""
    fits, misses = band_counts(values, text)
    return fits > 0 and not misses


def band_counts(values: list[tuple[str, Decimal]], text: str) -> tuple[int, int]:
    """(bands holding an asked value, bands of an asked measure that do not)."""
    fits = misses = 0
    if not values:
        return 0, 0
    for g in _GRADED_CLASS.finditer(text):
        for measure, v in values:
            if measure == _measure(g):
                rest, grade = g.group("rest"), Decimal(_grade(g))
                held = v >= grade if _OR_WORSE.match(rest) else v <= grade if _OR_BETTER.match(rest) else v == grade
                fits, misses = fits + held, misses + (not held)
    for m in BAND.finditer(text):
        age = bool(_AGE.match(m.group("rest")))
        before = text[max(0, m.start() - BAND_NEAR):m.start()]
        for measure, v in values:
            if (measure == AGE) != age or (measure != AGE and not re.search(re.escape(measure) + _GAP + "$", before)):
                continue  # a band of another quantity ("INR 4.5～10.0 · 暂停1～2次", "复查INR时间: 1～2周内")
            held = _holds(m.group("op"), Decimal(m.group("lo")),
                          Decimal(m.group("hi")) if m.group("hi") else None, m.group("rest"), v)
            if held is True:
                fits += 1
            elif held is False:
                misses += 1
    return fits, misses
