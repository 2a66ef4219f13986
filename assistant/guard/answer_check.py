"""Generated answers stay honest about numbers: every number with a unit must be found in a cited
source or in a rule's bounds / quote (`check_answer`; re-exported by assistant.guard)."""
from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

from assistant.cues import normalise_text
from assistant.model import GuardFinding
from assistant.quantities import Quantity, parse_quantities
from assistant.guard.rulebook import RuleBook, default_rules


def _family(unit: str | None, v: Decimal) -> tuple[str, Decimal]:
    if unit == "mg/dL":
        return "glucose", v / Decimal("18.0")
    if unit == "mmol/L":
        return "glucose", v
    if unit in ("day", "week"):
        return "day", v * (7 if unit == "week" else 1)
    return ("count" if unit in (None, "count") else unit), v


_MULTIPLIER = re.compile(r"(万|亿|million|billion|thousand|[×x]\s*10)", re.I | re.A)


def _claims(text: str) -> list[Quantity]:
    """Numbers that make a claim: with a unit or a 万/亿/million multiplier; not calendar years."""
    out = []
    for q in parse_quantities(text):
        if q.unit is None and not _MULTIPLIER.search(q.text):
            continue
        if q.unit == "year" and "岁" not in q.text and "old" not in q.text and 1900 <= q.low <= 2100:
            continue
        out.append(q)
    return out


@lru_cache(maxsize=8192)
def _families(text: str) -> frozenset[tuple[str, Decimal]]:
    """The (unit family, value) pairs a text states; cited passages and rule quotes recur across answers."""
    return frozenset(f for q in parse_quantities(text) for f in (_family(q.unit, q.low), _family(q.unit, q.high)))


def _supported_values(texts: list[str], rb: RuleBook) -> set[tuple[str, Decimal]]:
    vals = set()
    for t in texts + [r.quote for r in rb.rules]:
        vals |= _families(t)
    for r in rb.rules:
        for k, v in r.bounds.items():
            if isinstance(v, Decimal):
                unit = r.bounds.get(f"{k.split('_')[0]}_unit") or r.bounds.get("unit")
                vals.add(_family(unit, v))
    vals.add(("year", rb.elderly_age))
    return vals


def _matches(fam: tuple[str, Decimal], supported: set[tuple[str, Decimal]]) -> bool:
    name, v = fam
    return any(n == name and (v == s or (s != 0 and abs(v - s) / abs(s) <= Decimal("0.005"))) for n, s in supported)


# Lines that quote the question's own figures back (a premise correction, a refusal's "not
# mentioned" list): those figures are the user's, not claims of the answer.
ECHO_LINES = re.compile(r"^(来源写的是|The source says|这些指南资料没有涉及|The guideline sources here do not cover)")
_SENTENCE = re.compile(r"[^。!?\n]+(?:[。!?]|$)|(?:[^.!?\n]|\.(?=\d))+")


def check_answer(answer_text: str, supporting_texts: list[str], rules: RuleBook | None = None,
                 question: str = "") -> list[GuardFinding]:
    """Every number with a unit in the answer must appear (after unit normalisation) in a supporting
    text or in a rule's bounds/quote; otherwise a warn finding naming the sentence. Figures from the
    question are allowed in the lines that echo it (`ECHO_LINES`)."""
    rb = rules or default_rules()
    supported = _supported_values([normalise_text(t) for t in supporting_texts], rb)
    echoed = _supported_values([normalise_text(question)], rb) if question else set()
    zh = bool(re.search(r"[\u4e00-\u9fff]", answer_text))
    out: list[GuardFinding] = []
    for line in answer_text.split("\n"):
        allowed = supported | echoed if ECHO_LINES.match(line.strip()) else supported
        text = normalise_text(line)
        for m in _SENTENCE.finditer(text):
            sentence = line[m.start():m.end()].strip()
            for q in _claims(m.group()):
                if all(_matches(_family(q.unit, v), allowed) for v in {q.low, q.high}):
                    continue
                msg = (f"回答中的数字“{q.text}”在引用资料和指南规则中找不到依据,所在句子:“{sentence}”" if zh else
                       f"The number '{q.text}' in the answer is not supported by the cited sources or the guideline "
                       f"rules; sentence: \"{sentence}\"")
                out.append(GuardFinding("unsupported_number", "warn", msg))
    return out


