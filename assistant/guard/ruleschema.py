"""The rules-file schema: keys per kind, verdict keys, levels, numbers, message placeholders.

`problems(rule)` lists what is wrong with one rule as (key, problem) pairs; `rule_lines(text)` maps
rules to their YAML lines (node marks) so `assistant rules check` can say FILE:LINE.
"""
from __future__ import annotations

import re
import string
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from assistant import yamlfast
from assistant.model import LEVEL_ORDER

COMMON = ("id", "kind", "interventions", "document", "quote", "verdicts", "message_zh", "message_en")
# kind -> (verdict keys, required keys, bounds keys of which one is needed, required bounds keys)
SPEC: dict[str, tuple[set[str], tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "contraindication": ({"present"}, ("condition",), (), ()),
    "washout": ({"within", "unknown_timing", "outside"}, (), (), ("min_days",)),
    "threshold": ({"met", "unknown", "not_met"}, ("measure", "unit", "comparator", "value"), (), ()),
    "dose_range": ({"above", "below", "within"}, (), ("low", "high"), ("unit",)),
    "population_adjustment": ({"above_low_dose", "no_dose", "at_or_below_low_dose"}, ("population",), (),
                              ("low_dose",)),
    "quality_standard": ({"fails", "passes", "route_unknown"}, (), ("min", "max_exclusive"), ("unit",)),
    "adverse_event_rate": ({"exceeds", "reported"}, (), ("resolve_max_weeks", "rate_max_exclusive"), ()),
    "aftercare": ({"too_early"}, (), (), ("low",)),
}
KINDS = tuple(SPEC)
OPTIONAL = {"assumption", "plain_zh", "plain_en", "product", "applies_when_unspecified", "context_terms", "bounds",
            "population", "unless_population", "condition_terms", "condition_patterns", "escalate", "drug_class",
            "drugs", "measure_terms", "unknown_when", "route", "days_field"}
COMPARATORS = ("<", "<=", ">", ">=")
PLACEHOLDERS = {"value", "low", "high", "days", "min_days", "drug", "limit", "unit", "measure", "min", "max", "age",
                "elderly_age", "low_dose"}
BUILTIN_MEASURES = ("glucose",)  # read from the PatientContext glucose fields
# washout `days_field`: patient-form fields that count the days since the last dose of the rule's drugs
DAYS_FIELDS = ("nsaid_last_dose_days_ago",)


def rule_lines(text: str) -> list[tuple[int, dict[str, int]]]:
    """(line of each rule, {key: line}) from the YAML node marks (1-based)."""
    try:
        root = yamlfast.compose(text)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for k, v in root.value:
        if k.value == "rules" and isinstance(v, yaml.SequenceNode):
            return [(n.start_mark.line + 1, {kk.value: vv.start_mark.line + 1 for kk, vv in n.value}
                     if isinstance(n, yaml.MappingNode) else {}) for n in v.value]
    return []


def _number(v: Any) -> Decimal | None:
    if isinstance(v, bool):
        return None
    try:
        d = Decimal(str(v))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def _str_list(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, str) and x.strip() for x in v)


def problems(r: dict) -> list[tuple[str, str]]:
    """(key, problem) pairs for one rule, by the schema of its kind."""
    out = [(k, f"missing '{k}'") for k in COMMON if r.get(k) in (None, "", [], {})]
    kind = r.get("kind")
    if kind not in SPEC:
        return out + [("kind", f"unknown kind {kind!r}; one of {', '.join(KINDS)}")]
    verdict_keys, required, any_bounds, req_bounds = SPEC[kind]
    if isinstance(r.get("escalate"), dict):
        verdict_keys = verdict_keys | {str(r["escalate"].get("verdict"))}
    out += [(k, f"missing '{k}' (required for {kind})") for k in required if r.get(k) in (None, "")]
    for k in r:
        if k not in COMMON and k not in OPTIONAL and k not in required and not re.fullmatch(r"(message|plain)_\w+", str(k)):
            out.append((k, f"unknown key '{k}'"))
    if r.get("interventions") is not None and not _str_list(r["interventions"]):
        out.append(("interventions", "'interventions' must be a non-empty list of surface forms"))
    if isinstance(r.get("verdicts"), dict):
        for vk, lvl in r["verdicts"].items():
            if vk not in verdict_keys:
                out.append(("verdicts", f"verdict key '{vk}' is not one of {sorted(verdict_keys)}"))
            if lvl not in LEVEL_ORDER:
                out.append(("verdicts", f"verdict '{vk}: {lvl}' must be one of {list(LEVEL_ORDER)}"))
    elif r.get("verdicts") is not None:
        out.append(("verdicts", "'verdicts' must be a mapping of verdict key: level"))
    bounds = r.get("bounds") or {}
    if not isinstance(bounds, dict):
        return out + [("bounds", "'bounds' must be a mapping")]
    for k, v in bounds.items():
        if not str(k).endswith("unit") and _number(v) is None:
            out.append(("bounds", f"bounds.{k} = {v!r} is not a number"))
    out += [("bounds", f"missing bounds.{k} (required for {kind})") for k in req_bounds if k not in bounds]
    if any_bounds and not any(k in bounds for k in any_bounds):
        out.append(("bounds", f"{kind} needs bounds.{' or bounds.'.join(any_bounds)}"))
    out += _kind_problems(kind, r)
    for k, tpl in r.items():
        if re.fullmatch(r"(message|plain)_\w+", str(k)):
            if not isinstance(tpl, str) or not tpl.strip():
                out.append((k, f"'{k}' must be non-empty text"))
                continue
            try:
                names = {f for _, f, _, _ in string.Formatter().parse(tpl) if f}
            except ValueError as e:
                out.append((k, f"'{k}' is not a valid template ({e})"))
                continue
            if names - PLACEHOLDERS:
                out.append((k, f"'{k}' uses unknown placeholder(s) {sorted(names - PLACEHOLDERS)}"))
    return out


def _kind_problems(kind: str, r: dict) -> list[tuple[str, str]]:
    out = []
    if kind == "threshold":
        if r.get("comparator") not in COMPARATORS:
            out.append(("comparator", f"comparator {r.get('comparator')!r} must be one of {list(COMPARATORS)}"))
        if r.get("value") is not None and _number(r["value"]) is None:
            out.append(("value", f"value {r['value']!r} is not a number"))
        if r.get("measure") not in BUILTIN_MEASURES and not _str_list(r.get("measure_terms")):
            out.append(("measure_terms", "threshold needs 'measure_terms' (surface forms of the measure)"))
    if kind == "washout" and not (r.get("drug_class") or _str_list(r.get("drugs"))):
        out.append(("drugs", "washout needs 'drug_class' or 'drugs'"))
    if r.get("days_field") is not None and r["days_field"] not in DAYS_FIELDS:
        out.append(("days_field", f"days_field {r['days_field']!r} must be one of {list(DAYS_FIELDS)}"))
    for key in ("population", "unless_population"):
        pop = r.get(key)
        if pop is not None and not (pop == "elderly" or (isinstance(pop, dict) and _number(pop.get("age_at_least")))):
            out.append((key, f"'{key}' must be elderly or {{age_at_least: N}}"))
    for key in ("context_terms", "condition_terms", "condition_patterns", "measure_terms"):
        if r.get(key) is not None and not _str_list(r[key]):
            out.append((key, f"'{key}' must be a non-empty list of text"))
    esc = r.get("escalate")
    if esc is not None and not (isinstance(esc, dict) and esc.get("verdict") and _str_list(esc.get("interventions"))):
        out.append(("escalate", "'escalate' must be {verdict, interventions, else_variant}"))
    return out


def bad_patterns(spec: dict) -> list[str]:
    out = []
    for p in (spec.get("patterns") or []) + (spec.get("exclude") or []):
        try:
            re.compile(str(p))
        except re.error as e:
            out.append(f"invalid pattern {p!r} ({e})")
    return out


def drug_problems(entries: Any) -> list[str]:
    if not isinstance(entries, list):
        return ["'drugs' must be a list of {id, class, names}"]
    return [f"drug #{i + 1} ({e.get('id') if isinstance(e, dict) else e!r}) needs id, class and a list of names"
            for i, e in enumerate(entries) if not (isinstance(e, dict) and e.get("id") and e.get("class")
                                                   and _str_list(e.get("names")))]
