"""Lab measures a threshold rule asks for, read from question text ("eGFR 25 mL/min", "ALT 4×ULN").

A value counts when it follows one of the measure's terms in the same clause; comparisons and
targets ("eGFR低于30", "eGFR < 30", "控制在7.8以下") and hypotheticals are not a patient's value.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from assistant.cues import HYPOTHETICAL_BEFORE, MEASURE_UNITS, NOT_A_VALUE_AFTER, clause_end, normalise_text
from assistant.quantities import parse_quantities

_I = re.IGNORECASE | re.ASCII
_NUMBER_PART = re.compile(r"^[<>≤≥=~\s]*[\d.,]+")


@dataclass(frozen=True)
class Reading:
    value: Decimal
    text: str  # as written ("25 mL/min")


def read_measure(text: str, terms: re.Pattern[str], unit: str, window: int = 14) -> Reading | None:
    """The first value of a measure (terms: compiled surface forms) in `unit` stated in the text."""
    t = normalise_text(text)
    after_rx, bare_ok = MEASURE_UNITS.get(unit, (r"\s*" + re.escape(unit), True))
    qs = parse_quantities(t)
    for m in terms.finditer(t):
        end = clause_end(t, m.end())
        for q in qs:
            if q.start < m.end() or q.start > min(end, m.end() + window):
                continue
            gap = t[m.end():q.start]
            if q.comparator or HYPOTHETICAL_BEFORE.search(gap) or re.search(r"[\d]", gap):
                break
            num = _NUMBER_PART.match(q.text)
            rest = (q.text[num.end():] if num else "") + t[q.end:]
            if NOT_A_VALUE_AFTER.match(rest):
                break
            u = re.match(after_rx, rest, _I)
            if u or (bare_ok and not re.match(r"\s*[A-Za-z%倍×]", rest)):
                shown = t[q.start:q.start + (num.end() if num else len(q.text))].strip()
                return Reading(q.low, f"{shown} {unit}" if unit not in ("x_ULN",) else f"{shown}×ULN")
            break
    return None
