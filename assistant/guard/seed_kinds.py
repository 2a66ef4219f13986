"""The seed guideline's special rule kinds, scoped like every rule (guard.check only calls these when
the question concerns one of the rule's interventions): quality_standard (×baseline concentration,
viability %, IV cell diameter µm), adverse_event_rate (reactions lasting too long, signs of infection
or thrombosis) and aftercare (weight-bearing sooner than the guideline allows).

Each takes the guard's context `c` (text, lang, find) and one rule; each returns findings.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from assistant.cues import negated
from assistant.model import GuardFinding
from assistant.quantities import Quantity, parse_quantities

_VIABILITY = re.compile(r"(活细胞率|细胞活性|细胞活率|存活率|活率|viability|viable)", re.I | re.A)
_DIAMETER = re.compile(r"(直径|粒径|diameter|size)", re.I | re.A)
_IV = re.compile(r"(静脉|静注|输注|intravenous|infusion|(?<![A-Za-z])IV(?![A-Za-z])|i\.v\.)", re.I | re.A)
_SYMPTOM = re.compile(r"(瘀血|淤血|淤青|瘀青|瘀斑|肿胀|肿|bruis\w*|swelling|swollen)", re.I | re.A)
_SEVERE_SIGN = re.compile(r"(发热|发烧|化脓|流脓|红肿热痛|感染|血栓|小腿肿痛|fever|pus|infect\w*|thrombos\w*|blood clot|DVT)",
                          re.I | re.A)
# "预防感染", "to prevent infection": a sign someone wants to avoid is not a sign they have.
_PREVENTED = re.compile(r"(预防|防止|避免|降低|减少|防|prevent(ing)?|avoid(ing)?|reduc(e|ing) the risk of|lower(ing)? the risk of)"
                        r"\s*(术后|注射后|的)?\s*$", re.I | re.A)
_AFTER_TX = re.compile(r"(注射后|打完|打了|术后|治疗后|after (the |my |an? )?(injection|PRP|treatment|procedure|shot))",
                       re.I | re.A)
_RATE_Q = re.compile(r"(发生率|风险|概率|几率|多少|多常见|rate|risk|how (common|often|likely)|incidence)", re.I | re.A)
_ACTIVITY = re.compile(r"(负重|跑步|慢跑|跑|打球|爬山|爬楼|跳|运动|健身|weight[- ]bearing|run\w*|jog\w*|sports?|hik\w*|gym)",
                       re.I | re.A)
_SOON = re.compile(r"(第二天|次日|明天|当天|马上|立即|立刻|next day|tomorrow|same day|immediately|right away)", re.I | re.A)
_DAYS = {"day": Decimal(1), "week": Decimal(7), "month": Decimal(30)}


def _near(text: str, q: Quantity, rx: re.Pattern[str], window: int = 10) -> bool:
    return bool(rx.search(text[max(0, q.start - window):q.end]))


def quality_standard(c: Any, rule: Any) -> list[GuardFinding]:
    """Quality values stated in the question (concentration ×baseline, viability %, IV diameter µm)."""
    out: list[GuardFinding] = []
    unit = rule.bounds["unit"]
    for q in (q for q in parse_quantities(c.text) if q.unit == unit):
        if unit == "percent" and not _near(c.text, q, _VIABILITY):
            continue
        if unit == "um" and not _near(c.text, q, _DIAMETER, 12):
            continue
        value = f"{q.low.normalize():f}"
        if "min" in rule.bounds and q.low < rule.bounds["min"]:
            out += c.find(rule, "fails", value=value, min=f"{rule.bounds['min']:f}")
        elif "max_exclusive" in rule.bounds:
            limit = rule.bounds["max_exclusive"]
            ok = q.high < limit or (q.comparator in ("<", "<=") and q.high <= limit)
            if not ok:
                iv = bool(_IV.search(c.text))
                out += c.find(rule, "fails" if iv else "route_unknown", "" if iv else "route_unknown",
                              value=value, max=f"{limit:f}")
    return out


def adverse_event_rate(c: Any, rule: Any) -> list[GuardFinding]:
    """Reported reactions: bruising/swelling beyond 1-2 weeks, or suspected infection/thrombosis."""
    if "resolve_max_weeks" in rule.bounds:
        limit = rule.bounds["resolve_max_weeks"] * 7
        for q in parse_quantities(c.text):
            if q.unit in _DAYS and _near(c.text, q, _SYMPTOM, 12) and q.high * _DAYS[q.unit] > limit \
                    and not re.match(r"\s*(前|ago)", c.text[q.end:]):
                return c.find(rule, "exceeds", value=q.text)
        return []
    signs = [m for m in _SEVERE_SIGN.finditer(c.text) if not _PREVENTED.search(c.text[max(0, m.start() - 12):m.start()])
             and not negated(c.text, m.start(), m.end())]
    if _AFTER_TX.search(c.text) and signs and not _RATE_Q.search(c.text):
        return c.find(rule, "reported")
    return []


def aftercare(c: Any, rule: Any) -> list[GuardFinding]:
    """Weight-bearing / sport sooner than the rule's bounds.low weeks after treatment ('打完PRP第二天能跑步吗')."""
    if not _ACTIVITY.search(c.text) or not (_AFTER_TX.search(c.text) or re.search(r"后|after|post", c.text, re.I)):
        return []
    min_days = rule.bounds["low"] * 7
    early = [q for q in parse_quantities(c.text) if q.unit in _DAYS and q.low * _DAYS[q.unit] < min_days
             and not re.match(r"\s*(前|ago)", c.text[q.end:])]
    soon = _SOON.search(c.text)
    if early or soon:
        return c.find(rule, "too_early", value=soon.group() if soon else early[0].text)
    return []
