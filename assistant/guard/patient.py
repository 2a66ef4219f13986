"""Patient facts for the guideline guard: a validated form (`from_dict`) and deterministic
extraction from zh/en question text (`extract_patient`).

Extraction is rule-based on purpose: the guard must give the same verdict for the same words,
and every fact it acts on must be explainable by a phrase in the question. Condition terms are
data: the `conditions:` section of a rules file (seed: corpus/rules.yaml), see `ConditionTerms`.
"""
from __future__ import annotations

import re
import reprlib
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from assistant.yamlfast import safe_load as yaml_load
from assistant.cues import NOT_A_FACT_AFTER, clause_end, clause_start, compile_terms, negated, normalise_text
from assistant.guard.drugs import Drug, DrugLexicon, corpus_dir, drugs_from_entries, load_drugs, medications
from assistant.model import InputError
from assistant.quantities import GLUCOSE_MG_PER_MMOL, Quantity, parse_quantities

# The seed's condition keys (corpus/rules.yaml `conditions:`); a clinic's rules file may add more.
CONDITIONS = ("diabetes", "severe_infection", "malignancy", "coagulopathy", "thrombocytopenia", "organ_failure")
BARE_GLUCOSE_MG_DL_FROM = Decimal(35)  # a unit-less glucose >= 35 is read as mg/dL, below as mmol/L
_I = re.IGNORECASE | re.ASCII  # ASCII \b: Python treats CJK as word characters ("做PRP吗")
_NUMBER_FIELDS = ("age", "glucose_mmol_l", "glucose_mg_dl", "nsaid_last_dose_days_ago", "platelets_10e9_per_l")

# Plausible ranges of the patient form's numbers, in one place: a value outside is a typo or a unit
# mix-up (glucose 100000 mg/dL, platelets 1e9), never a fact the guard may act on. (low, high, unit).
PLAUSIBLE: dict[str, tuple[Decimal, Decimal, str]] = {
    "age": (Decimal(0), Decimal(130), "years"),
    "glucose_mmol_l": (Decimal("0.5"), Decimal(60), "mmol/L"),
    "glucose_mg_dl": (Decimal(9), Decimal(1100), "mg/dL"),
    "platelets_10e9_per_l": (Decimal(0), Decimal(2000), "×10⁹/L"),
    "nsaid_last_dose_days_ago": (Decimal(0), Decimal(36500), "days"),
    "last_dose_days_ago": (Decimal(0), Decimal(36500), "days"),  # every medication
}
# `measures`: a rules file names its own lab measures; the ones known here get their own range, any
# other one a wide finite one. Keys are lower case.
PLAUSIBLE_MEASURES: dict[str, tuple[Decimal, Decimal, str]] = {
    "glucose": PLAUSIBLE["glucose_mmol_l"],
    "egfr": (Decimal(0), Decimal(250), "mL/min/1.73m²"),
    "crcl": (Decimal(0), Decimal(250), "mL/min"),
    "hba1c": (Decimal(2), Decimal(25), "%"),
    "inr": (Decimal("0.5"), Decimal(20), ""),
    "platelets": PLAUSIBLE["platelets_10e9_per_l"],
    "alt": (Decimal(0), Decimal(20000), "U/L"),
    "ast": (Decimal(0), Decimal(20000), "U/L"),
    "wbc": (Decimal(0), Decimal(1000), "×10⁹/L"),
    "hemoglobin": (Decimal(0), Decimal(300), "g/L"),
}
ANY_MEASURE = (Decimal(0), Decimal(10) ** 6, "")
MAX_LIST_ITEMS = 100  # medications, conditions, measures, last doses
MAX_NAME_CHARS = 200  # one medication, condition, measure or intervention name


__all__ = ["CONDITIONS", "PLAUSIBLE", "PLAUSIBLE_MEASURES", "PatientContext", "ConditionTerms", "compile_conditions", "seed_conditions", "mentions",
           "extract_patient", "merge", "corpus_dir", "normalise_text", "negated", "clause_start", "clause_end",
           "Drug", "DrugLexicon", "load_drugs", "drugs_from_entries"]


# ----------------------------------------------------------------------------- patient context
@dataclass
class PatientContext:
    age: float | None = None
    pregnant: bool | None = None
    conditions: list[str] = field(default_factory=list)
    glucose_mmol_l: float | None = None
    glucose_mg_dl: float | None = None
    nsaid_last_dose_days_ago: float | None = None
    medications: list[str] = field(default_factory=list)
    platelets_10e9_per_l: float | None = None
    planned_intervention: str | None = None  # "PRP", "甲氨蝶呤": scopes the rules like a named therapy
    last_dose_days_ago: dict[str, float] = field(default_factory=dict)  # medication -> days since last dose
    measures: dict[str, float] = field(default_factory=dict)  # lab measure (rule's name, e.g. "eGFR") -> value

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None, conditions: Iterable[str] = ()) -> "PatientContext":
        """Validate a structured form; anything unexpected is an InputError the user can fix.
        `conditions`: condition keys the loaded rules define beyond the seed's CONDITIONS."""
        if d is None:
            return cls()
        if not isinstance(d, dict):
            raise InputError("patient must be an object (dict) of fields")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(_show(k, 40) for k in d if k not in known)
        if unknown:
            raise InputError(f"unknown patient field(s): {', '.join(unknown[:10])}; "
                             f"allowed: {', '.join(sorted(known))}")
        out = cls()
        for name in _NUMBER_FIELDS:
            if d.get(name) is not None:
                setattr(out, name, _number(name, d[name], PLAUSIBLE[name]))
        if d.get("pregnant") is not None:
            if not isinstance(d["pregnant"], bool):
                raise InputError(f"patient field 'pregnant' must be true or false, got {_show(d['pregnant'])}")
            out.pregnant = d["pregnant"]
        out.conditions = _str_list("conditions", d.get("conditions"))
        allowed = tuple(dict.fromkeys(CONDITIONS + tuple(conditions)))
        bad = [c for c in out.conditions if c not in allowed]
        if bad:
            raise InputError(f"unknown condition(s): {', '.join(_show(c, 40) for c in bad[:10])}; "
                             f"allowed: {', '.join(allowed)}")
        out.medications = _str_list("medications", d.get("medications"))
        if d.get("planned_intervention") is not None:
            v = d["planned_intervention"]
            if not isinstance(v, str) or not v.strip() or len(v) > MAX_NAME_CHARS or not _encodable(v):
                raise InputError(f"patient field 'planned_intervention' must be a non-empty name of at most "
                                 f"{MAX_NAME_CHARS} characters, got {_show(v)}")
            out.planned_intervention = v.strip()
        out.last_dose_days_ago = _number_map("last_dose_days_ago", d.get("last_dose_days_ago"))
        out.measures = _number_map("measures", d.get("measures"))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {name: (type(v)(v) if isinstance(v, (list, dict)) else v)
                for name, v in ((f, getattr(self, f)) for f in self.__dataclass_fields__)}

    def glucose(self) -> Decimal | None:
        """Glucose in mmol/L from whichever field is set (mg/dL / 18)."""
        if self.glucose_mmol_l is not None:
            return Decimal(str(self.glucose_mmol_l))
        if self.glucose_mg_dl is not None:
            return Decimal(str(self.glucose_mg_dl)) / GLUCOSE_MG_PER_MMOL
        return None

    def has_facts(self) -> bool:
        """Anything at all is known about this patient (a filled-in form describes a patient)."""
        return any(v not in (None, [], {}) for v in self.to_dict().values())


def _show(v: Any, limit: int = 60) -> str:
    """A value for an error message: short, printable, never the whole of a huge or deeply nested value
    (repr of 5,000 nested lists overflows the stack; repr of a 10,000-digit int raises)."""
    try:
        rp = reprlib.Repr()  # (keyword arguments only from Python 3.12)
        rp.maxlevel, rp.maxstring, rp.maxother, rp.maxlong = 2, limit, limit, limit
        r = rp.repr(v)
    except Exception:  # noqa: BLE001 - anything unprintable: its type is enough
        r = f"<{type(v).__name__}>"
    r = r.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates shown escaped
    return r if len(r) <= limit + 10 else r[:limit] + "…"


def _encodable(s: str) -> bool:
    """Valid Unicode text (no lone surrogate such as "\\ud800", which no UTF-8 output can carry)."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _number(name: str, v: Any, bounds: tuple[Decimal, Decimal, str] | None = None) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, str, Decimal)):
        raise InputError(f"patient field '{name}' must be a number, got {_show(v)}")
    if isinstance(v, str) and len(v) > 40:
        raise InputError(f"patient field '{name}' must be a number, got {_show(v)}")
    try:
        x = Decimal(str(v).strip().replace("_", "x"))  # "1_000" is no number a clinician writes
    except Exception:  # noqa: BLE001 - not a number (or an int too long to print)
        raise InputError(f"patient field '{name}' must be a number, got {_show(v)}") from None
    if not x.is_finite() or x < 0:
        raise InputError(f"patient field '{name}' must be a non-negative number, got {_show(v)}")
    low, high, unit = bounds or ANY_MEASURE
    if not low <= x <= high:
        raise InputError(f"patient field '{name}' must be between {low:f} and {high:f}"
                         f"{' ' + unit if unit else ''}, got {_show(v)}")
    return float(x)


def _str_list(name: str, v: Any) -> list[str]:
    if v is None:
        return []
    if (not isinstance(v, list) or len(v) > MAX_LIST_ITEMS
            or not all(isinstance(x, str) and x.strip() and len(x) <= MAX_NAME_CHARS and _encodable(x) for x in v)):
        raise InputError(f"patient field '{name}' must be a list of non-empty strings (at most {MAX_LIST_ITEMS}, "
                         f"each at most {MAX_NAME_CHARS} characters), got {_show(v)}")
    return [x.strip() for x in v]


def _number_map(name: str, v: Any) -> dict[str, float]:
    if v is None:
        return {}
    if (not isinstance(v, dict) or len(v) > MAX_LIST_ITEMS
            or not all(isinstance(k, str) and k.strip() and len(k) <= MAX_NAME_CHARS and _encodable(k) for k in v)):
        raise InputError(f"patient field '{name}' must be an object of name: number, got {_show(v)}")
    if name == "measures":
        return {k.strip(): _number(f"{name}.{k}", x, PLAUSIBLE_MEASURES.get(k.strip().lower(), ANY_MEASURE))
                for k, x in v.items()}
    return {k.strip(): _number(f"{name}.{k}", x, PLAUSIBLE[name]) for k, x in v.items()}


# ----------------------------------------------------------------------------- condition lexicon
@dataclass(frozen=True)
class ConditionTerms:
    """How a condition is said (a rules file's `conditions:` entry, or a rule's `condition_terms`):
    literal `terms` and regex `patterns`; a match with an `exclude` pattern around it does not count
    ("干细胞会致癌吗" is not cancer); `below` = (patient number field, limit) also makes it present."""
    key: str
    rx: re.Pattern[str]
    exclude: re.Pattern[str] | None = None
    below: tuple[str, Decimal, str] | None = None  # (field, limit, unit shown after the value)


def compile_conditions(specs: dict[str, dict], settings: dict | None = None) -> dict[str, ConditionTerms]:
    """{key: {terms, patterns, exclude, below: {field, value | setting}}} -> compiled ConditionTerms."""
    out = {}
    for key, spec in specs.items():
        excl = spec.get("exclude") or []
        below = spec.get("below")
        limit = None
        if below:
            raw = below.get("value", (settings or {}).get(below.get("setting", ""), None))
            limit = (str(below["field"]), Decimal(str(raw)), str(below.get("unit", ""))) if raw is not None else None
        out[key] = ConditionTerms(key, compile_terms(spec.get("terms") or [], spec.get("patterns") or []),
                                  re.compile("|".join(excl), _I) if excl else None, limit)
    return out


@lru_cache(maxsize=4)
def _seed_conditions(path: str) -> dict[str, ConditionTerms]:
    data = yaml_load(Path(path).read_text(encoding="utf-8"))
    return compile_conditions(data.get("conditions") or {}, data.get("settings") or {})


def seed_conditions() -> dict[str, ConditionTerms]:
    """The seed rules file's condition lexicon (corpus/rules.yaml `conditions:`)."""
    return _seed_conditions(str(corpus_dir() / "rules.yaml"))


def mentions(text: str, ct: ConditionTerms) -> list[re.Match[str]]:
    """Affirmative mentions: not negated (没有糖尿病), not a rate (感染的发生率), not excluded."""
    out = []
    for m in ct.rx.finditer(text):
        if NOT_A_FACT_AFTER.match(text[m.end():]) or negated(text, m.start(), m.end()):
            continue
        if ct.exclude and ct.exclude.search(text[max(0, m.start() - 6):m.end() + 8]):
            continue
        out.append(m)
    return out


def _pregnancy(text: str, ct: ConditionTerms | None) -> bool | None:
    """True if any mention is affirmative, False if all are negated (非孕期, not pregnant), else None."""
    if ct is None:
        return None
    hits = [not negated(text, m.start(), m.end()) for m in ct.rx.finditer(text)
            if not NOT_A_FACT_AFTER.match(text[m.end():])
            and not (ct.exclude and ct.exclude.search(text[max(0, m.start() - 6):m.end() + 8]))]
    return any(hits) if hits else None


# ----------------------------------------------------------------------------- numeric facts
_AGE_AFTER = re.compile(r"^\s*(多)?(old\b|周岁|岁|-?\s*years?[- ]old|-?\s*yrs?[- ]old|\s*y/?o\b|\s*yo\b)", _I)
_AGE_BEFORE = re.compile(r"(aged|age|年龄|年纪)\s*(:|:|is|of|为|是)?\s*$"
                         r"|\b(I'm|I am|(mother|father|mom|dad|patient|wife|husband|grand\w+|she|he) (is|was))\s*$", _I)
_GLUCOSE_KEY = re.compile(r"(血糖|葡萄糖|glucose|blood sugar|sugar|\bBG\b|\bFBG\b|\bFPG\b|\bGLU\b)", _I)
_GLUCOSE_FILLER = re.compile(r"(?:\s|:|：|,|(?:this|that|in the) (?:morning|evening)|today|yesterday|fasting|random|"
                             r"level|reading|was|is|of|at|about|around|今天|今晨|早上|空腹|餐后|为|是)*", _I)
_A1C_KEY = re.compile(r"(糖化|HbA1c|A1c)", _I)
_PLATELET_COUNT = re.compile(
    r"(血小板计数|血小板|PLT|platelet count|platelets?)\s*(?:of|is|was|为|是|:|:)?\s*"
    r"(\d+(?:\.\d+)?(?:,\d{3})*)\s*"
    r"(?:(?:[×xX*]\s*10\s*\^?\s*9|×10⁹)\s*/\s*L|(/\s*(?:μL|uL|µL|mm3|mm³))|(?=\s*$|\s*[,;。.]))", _I)


def _ages(text: str, qs: list[Quantity]) -> list[Decimal]:
    out = []
    for q in qs:
        if q.unit not in ("year", None) or q.is_range:
            continue
        own = q.text.lower()
        stated = (q.unit == "year" and any(k in own for k in ("岁", "old", "y/o"))) or _AGE_AFTER.match(text[q.end:])
        before = _AGE_BEFORE.search(text[max(0, q.start - 16):q.start]) and not text[q.end:].lstrip().startswith("%")
        if (stated or before) and 0 <= q.low <= 130:
            out.append(q.low)
    return out


def _glucose(text: str, qs: list[Quantity]) -> tuple[Decimal | None, str | None]:
    """First glucose value: a number right after 血糖/glucose in the same clause (not HbA1c, not a target)."""
    for q in qs:
        if q.unit not in ("mmol/L", "mg/dL", None) or q.comparator in ("<", "<=") or q.is_range:
            continue
        before = text[max(clause_start(text, q.start), q.start - 14):q.start]
        wide = text[max(clause_start(text, q.start), q.start - 40):q.start]
        if not _GLUCOSE_KEY.search(before) and _GLUCOSE_KEY.search(wide) and _GLUCOSE_FILLER.fullmatch(
                wide[list(_GLUCOSE_KEY.finditer(wide))[-1].end():]):
            before = wide  # "my sugar this morning was 7.2"
        key = list(_GLUCOSE_KEY.finditer(before))
        if not key or _A1C_KEY.search(before[max(0, key[-1].start() - 3):]):
            continue
        if re.match(r"\s*(以下|以内|以上|below|under|or (less|lower|more))", text[q.end:], _I):
            continue
        if q.unit is None:
            if text[q.end:q.end + 3].lstrip().startswith(("%", "mmol", "mg")):
                continue
            return q.low, ("mg/dL" if q.low >= BARE_GLUCOSE_MG_DL_FROM else "mmol/L")
        return q.low, q.unit
    return None, None


def _platelets(text: str) -> Decimal | None:
    for m in _PLATELET_COUNT.finditer(text):
        if re.match(r"\s*(万|亿|billion|million)", text[m.end(2):], _I):
            continue
        v = Decimal(m.group(2).replace(",", ""))
        return v / 1000 if m.group(3) else v
    return None


def extract_patient(text: str, drugs: DrugLexicon | None = None,
                    conditions: dict[str, ConditionTerms] | None = None) -> PatientContext:
    """Patient facts stated in a zh/en question; negated mentions (没有糖尿病, not pregnant) do not count.
    `conditions`: the loaded rules' condition lexicon (default: the seed's)."""
    t = normalise_text(text)
    qs = parse_quantities(t)
    lex = seed_conditions() if conditions is None else conditions
    p = PatientContext()
    p.age = next((float(a) for a in _ages(t, qs)), None)
    p.pregnant = _pregnancy(t, lex.get("pregnant"))
    p.conditions = [k for k, ct in lex.items() if k != "pregnant" and mentions(t, ct)]
    g, unit = _glucose(t, qs)
    if g is not None:
        setattr(p, "glucose_mg_dl" if unit == "mg/dL" else "glucose_mmol_l", float(g))
    plt = _platelets(t)
    p.platelets_10e9_per_l = float(plt) if plt is not None else None
    meds, days, last = medications(t, qs, drugs or load_drugs())
    p.medications, p.nsaid_last_dose_days_ago = meds, (float(days) if days is not None else None)
    p.last_dose_days_ago = last
    return p


def merge(structured: PatientContext | None, extracted: PatientContext) -> tuple[PatientContext, list[str]]:
    """Form values win over text values; every disagreement is reported so a human can resolve it."""
    s = structured or PatientContext()
    out = PatientContext(**extracted.to_dict())
    conflicts: list[str] = []

    def scalar(name: str, a: Any, b: Any, differ: bool) -> None:
        if a is not None and b is not None and differ:
            conflicts.append(f"{name}: form says {_fmt(a)}, question text says {_fmt(b)}; using the form value")

    for name in ("age", "nsaid_last_dose_days_ago", "platelets_10e9_per_l"):
        a, b = getattr(s, name), getattr(extracted, name)
        scalar(name, a, b, a is not None and b is not None and abs(a - b) >= 0.5)
        if a is not None:
            setattr(out, name, a)
    scalar("pregnant", s.pregnant, extracted.pregnant, s.pregnant != extracted.pregnant)
    if s.pregnant is not None:
        out.pregnant = s.pregnant
    gs, ge = s.glucose(), extracted.glucose()
    if gs is not None and ge is not None and abs(gs - ge) > Decimal("0.1"):
        conflicts.append(f"glucose: form says {_fmt(gs)} mmol/L, question text says {_fmt(ge)} mmol/L; "
                         "using the form value")
    if gs is not None:
        out.glucose_mmol_l, out.glucose_mg_dl = s.glucose_mmol_l, s.glucose_mg_dl
    out.conditions = list(dict.fromkeys(s.conditions + extracted.conditions))
    out.conditions.sort(key=lambda c: CONDITIONS.index(c) if c in CONDITIONS else len(CONDITIONS))
    out.medications = list(dict.fromkeys(s.medications + extracted.medications))
    out.last_dose_days_ago = extracted.last_dose_days_ago | s.last_dose_days_ago
    out.measures = extracted.measures | s.measures
    out.planned_intervention = s.planned_intervention or extracted.planned_intervention
    return out, conflicts


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    return f"{Decimal(str(v)).quantize(Decimal('0.1')).normalize():f}"
