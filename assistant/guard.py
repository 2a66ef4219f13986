"""Deterministic guideline guard: patient facts + proposed doses vs corpus/rules.yaml.

No model and no network: the same question and patient always give the same verdict, and every
finding carries the verbatim guideline quote (and our assumption, where the guideline is vague).
`check_answer` keeps generated answers honest about numbers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from assistant.model import LEVEL_ORDER, GuardFinding, InputError, Level
from assistant.patient import (PRODUCTS, DrugLexicon, PatientContext, ProposedDose, corpus_dir, detect_therapies,
                               extract_doses, extract_patient, load_drugs, merge, normalise_text)
from assistant.quantities import Quantity, format_en, format_zh, parse_quantities

KINDS = ("dose_range", "threshold", "washout", "contraindication", "population_adjustment", "quality_standard",
         "adverse_event_rate", "aftercare")
_REQUIRED = ("id", "kind", "product", "verdicts", "message_zh", "message_en", "source", "quote")


# ----------------------------------------------------------------------------- rules
@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    product: str
    verdicts: dict[str, str]
    source: str
    quote: str
    bounds: dict[str, Any] = field(default_factory=dict)  # Decimal values, str units (keys ending in "unit")
    assumption: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str, variant: str = "", **params: Any) -> str:
        """The message for a variant (message_<variant>_<lang>, falling back to message_<lang>)."""
        tpl = self.raw.get(f"message_{variant}_{lang}") or self.raw[f"message_{lang}"]
        return tpl.format(**params)


@dataclass
class RuleBook:
    rules: list[Rule]
    settings: dict[str, Any]
    drugs: DrugLexicon
    corpus_dir: Path

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def of_kind(self, kind: str) -> list[Rule]:
        return [r for r in self.rules if r.kind == kind]


def load_rules(path: str | Path | None = None) -> RuleBook:
    """Read and validate rules.yaml + drugs.yaml (path: the corpus dir or the rules file)."""
    p = Path(path) if path else corpus_dir()
    rules_file = p / "rules.yaml" if p.is_dir() else p
    base = rules_file.parent
    data = yaml.safe_load(rules_file.read_text(encoding="utf-8"))
    rules, sources = [], {}
    for i, r in enumerate(data.get("rules") or []):
        missing = [k for k in _REQUIRED if not r.get(k)]
        if missing:
            raise ValueError(f"{rules_file}: rule #{i} ({r.get('id')}) lacks {missing}")
        if r["kind"] not in KINDS or r["product"] not in PRODUCTS:
            raise ValueError(f"{rules_file}: rule {r['id']} has unknown kind/product {r['kind']}/{r['product']}")
        if not set(r["verdicts"].values()) <= set(LEVEL_ORDER):
            raise ValueError(f"{rules_file}: rule {r['id']} has a verdict that is not one of {list(LEVEL_ORDER)}")
        bounds = {k: (str(v) if k.endswith("unit") else Decimal(str(v))) for k, v in (r.get("bounds") or {}).items()}
        if r["source"] not in sources:
            sources[r["source"]] = (base / "sources" / r["source"]).read_text(encoding="utf-8")
        if r["quote"] not in sources[r["source"]]:
            raise ValueError(f"{rules_file}: rule {r['id']} quote is not a verbatim substring of {r['source']}")
        rules.append(Rule(r["id"], r["kind"], r["product"], dict(r["verdicts"]), r["source"], r["quote"], bounds,
                          r.get("assumption") or "", dict(r)))
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{rules_file}: duplicate rule ids")
    return RuleBook(rules, dict(data.get("settings") or {}), load_drugs(base / "drugs.yaml"), base)


@lru_cache(maxsize=4)
def _cached_rules(path: str) -> RuleBook:
    return load_rules(path)


def default_rules() -> RuleBook:
    return _cached_rules(str(corpus_dir()))


# ----------------------------------------------------------------------------- check
@dataclass
class GuardResult:
    level: Level
    findings: list[GuardFinding]
    patient: PatientContext
    conflicts: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "findings": [vars(f).copy() for f in self.findings],
                "patient": self.patient.to_dict(), "conflicts": list(self.conflicts)}


@dataclass
class _Ctx:
    text: str  # normalised question
    lang: str
    patient: PatientContext
    therapies: list[str]
    doses: list[ProposedDose]
    rb: RuleBook

    @property
    def unspecified(self) -> bool:
        return not [t for t in self.therapies if t != "regenerative"]

    @property
    def prp_applies(self) -> bool:
        """PRP-only rules: PRP named, or no specific therapy named (settings switch)."""
        return "PRP" in self.therapies or (self.unspecified and bool(
            self.rb.settings.get("prp_rules_apply_when_therapy_unspecified", True)))

    def num(self, v: Decimal) -> str:
        return format_zh(v) if self.lang == "zh" else format_en(v)

    def qty(self, q: Quantity) -> str:
        return self.num(q.low) if not q.is_range else f"{self.num(q.low)}–{self.num(q.high)}"

    def find(self, rule: Rule, verdict: str, variant: str = "", assumption: str | None = None, **params: Any
             ) -> list[GuardFinding]:
        level = rule.verdicts.get(verdict, "none")
        if level == "none":
            return []
        msg = rule.text(self.lang, variant, **params)
        return [GuardFinding(rule.id, level, msg, rule.quote, rule.source,
                             assumption=rule.assumption if assumption is None else assumption)]


def check(question: str, patient: dict | PatientContext | None = None, lang: str = "zh",
          rules: RuleBook | None = None) -> GuardResult:
    """Verdict for a question (+ optional structured patient): block > warn > none, with findings."""
    if not isinstance(question, str):
        raise InputError("the question must be text")
    if lang not in ("zh", "en"):
        raise InputError(f"lang must be 'zh' or 'en', got {lang!r}")
    rb = rules or default_rules()
    structured = patient if isinstance(patient, PatientContext) else PatientContext.from_dict(patient)
    ctx_patient, conflicts = merge(structured, extract_patient(question, rb.drugs))
    text = normalise_text(question)
    c = _Ctx(text, lang, ctx_patient, detect_therapies(text), extract_doses(text), rb)
    findings: list[GuardFinding] = []
    for step in (_contraindications, _doses, _elderly, _nsaid, _glucose, _quality, _adverse, _aftercare):
        findings += step(c)
    for conflict in conflicts:
        findings.append(GuardFinding("patient_conflict", "warn", (
            f"表单与问题中的患者信息不一致:{conflict}" if lang == "zh" else f"Form and question disagree: {conflict}"),
            assumption="Structured form values are used over values read from the question text."))
    level: Level = max((f.level for f in findings), key=LEVEL_ORDER.__getitem__, default="none")
    return GuardResult(level, findings, ctx_patient, conflicts)


def _contraindications(c: _Ctx) -> list[GuardFinding]:
    p, out = c.patient, []
    plt_limit = Decimal(str(c.rb.settings.get("thrombocytopenia_below_10e9_per_l", 150)))
    implied = {d.implies_condition: m for m in p.medications if (d := c.rb.drugs.lookup(m)) and d.implies_condition}
    for rule in c.rb.of_kind("contraindication"):
        cond = rule.raw.get("condition", "")
        present = (p.pregnant is True) if cond == "pregnant" else cond in p.conditions
        assumption = rule.assumption
        variant = ""
        if cond in implied and not present:
            present, variant = True, "drug"
            assumption = f"{implied[cond]}: {c.rb.drugs.lookup(implied[cond]).note}"  # type: ignore[union-attr]
        low_count = p.platelets_10e9_per_l is not None and Decimal(str(p.platelets_10e9_per_l)) < plt_limit
        if cond == "thrombocytopenia" and (present or low_count):
            plts = "" if p.platelets_10e9_per_l is None else \
                f"{'' if c.lang == 'zh' else ' '}({p.platelets_10e9_per_l:g}×10^9/L)"
            prp = c.prp_applies
            out += c.find(rule, "present_prp" if prp else "present", "" if prp else "other", platelets=plts)
        elif present:
            out += c.find(rule, "present", variant, assumption=assumption, drug=implied.get(cond, ""))
    return out


def _doses(c: _Ctx) -> list[GuardFinding]:
    out = []
    for rule in c.rb.of_kind("dose_range"):
        low, high = rule.bounds["low"], rule.bounds["high"]
        for d in (d for d in c.doses if d.product == rule.product):
            q = d.quantity
            params = dict(value=c.qty(q), low=c.num(low), high=c.num(high))
            if q.high > high:
                out += c.find(rule, "above", **params)
            elif q.low < low:
                out += c.find(rule, "below", "below", **params)
    return out


def _elderly(c: _Ctx) -> list[GuardFinding]:
    age, out = c.patient.age, []
    elderly_age = Decimal(str(c.rb.settings.get("elderly_age", 65)))
    if age is None or Decimal(str(age)) < elderly_age:
        return out
    for rule in c.rb.of_kind("population_adjustment"):
        scope = set(rule.raw.get("applies_to") or [rule.product])
        doses = [d for d in c.doses if d.product == rule.product]
        if not (scope & set(c.therapies) or doses):
            continue
        params = dict(age=f"{age:g}", elderly_age=f"{elderly_age:f}", low_dose=c.num(rule.bounds["low_dose"]))
        if not doses:
            out += c.find(rule, "no_dose", "no_dose", value="", **params)
            continue
        worst = max(doses, key=lambda d: d.quantity.high).quantity
        above = worst.high > rule.bounds["low_dose"]
        out += c.find(rule, "above_low_dose" if above else "at_or_below_low_dose", "" if above else "low_dose",
                      value=c.qty(worst), **params)
    return out


def _nsaid(c: _Ctx) -> list[GuardFinding]:
    if not c.prp_applies:
        return []
    p, out = c.patient, []
    nsaids = [m for m in p.medications if (d := c.rb.drugs.lookup(m)) and d.cls == "NSAID"]
    drug = "、".join(nsaids) if c.lang == "zh" else ", ".join(nsaids)
    for rule in c.rb.of_kind("washout"):
        min_days = rule.bounds["min_days"]
        params = dict(drug=drug or "NSAIDs", min_days=f"{min_days:f}")
        if p.nsaid_last_dose_days_ago is not None:
            days = Decimal(str(p.nsaid_last_dose_days_ago))
            if days < min_days:
                out += c.find(rule, "within", days=f"{days.normalize():f}", **params)
        elif nsaids:
            out += c.find(rule, "unknown_timing", "unknown", **params)
    return out


def _glucose(c: _Ctx) -> list[GuardFinding]:
    if not c.prp_applies:
        return []
    p, out = c.patient, []
    g = p.glucose()
    for rule in c.rb.of_kind("threshold"):
        limit = rule.bounds["max_exclusive"]
        if g is not None and g >= limit:
            shown = g.quantize(Decimal("0.1"))
            if p.glucose_mmol_l is None:
                txt = f"{p.glucose_mg_dl:g} mg/dL(约 {shown} mmol/L)" if c.lang == "zh" else \
                    f"{p.glucose_mg_dl:g} mg/dL (about {shown} mmol/L)"
            else:
                txt = f"{p.glucose_mmol_l:g} mmol/L"
            out += c.find(rule, "at_or_above", glucose=txt, max=f"{limit:f}")
        elif g is None and "diabetes" in p.conditions:
            out += c.find(rule, "unknown", "unknown", max=f"{limit:f}")
    return out


_VIABILITY = re.compile(r"(活细胞率|细胞活性|细胞活率|存活率|活率|viability|viable)", re.I | re.A)
_DIAMETER = re.compile(r"(直径|粒径|diameter|size)", re.I | re.A)
_IV = re.compile(r"(静脉|静注|输注|intravenous|infusion|(?<![A-Za-z])IV(?![A-Za-z])|i\.v\.)", re.I | re.A)


def _near(text: str, q: Quantity, rx: re.Pattern[str], window: int = 10) -> bool:
    return bool(rx.search(text[max(0, q.start - window):q.end]))


def _quality(c: _Ctx) -> list[GuardFinding]:
    """Quality values stated in the question (concentration ×baseline, viability %, IV diameter µm)."""
    out, qs = [], parse_quantities(c.text)
    for rule in c.rb.of_kind("quality_standard"):
        unit = rule.bounds["unit"]
        for q in (q for q in qs if q.unit == unit):
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


_SYMPTOM = re.compile(r"(瘀血|淤血|淤青|瘀青|瘀斑|肿胀|肿|bruis\w*|swelling|swollen)", re.I | re.A)
_SEVERE_SIGN = re.compile(r"(发热|发烧|化脓|流脓|红肿热痛|感染|血栓|小腿肿痛|fever|pus|infect\w*|thrombos\w*|blood clot|DVT)",
                          re.I | re.A)
_AFTER_TX = re.compile(r"(注射后|打完|打了|术后|治疗后|after (the |my |an? )?(injection|PRP|treatment|procedure|shot))",
                       re.I | re.A)
_RATE_Q = re.compile(r"(发生率|风险|概率|几率|多少|多常见|rate|risk|how (common|often|likely)|incidence)", re.I | re.A)
_DAYS = {"day": Decimal(1), "week": Decimal(7), "month": Decimal(30)}


def _adverse(c: _Ctx) -> list[GuardFinding]:
    """Reported reactions: bruising/swelling beyond 1-2 weeks, or suspected infection/thrombosis."""
    out, qs = [], parse_quantities(c.text)
    for rule in c.rb.of_kind("adverse_event_rate"):
        if "resolve_max_weeks" in rule.bounds:
            limit = rule.bounds["resolve_max_weeks"] * 7
            for q in qs:
                if q.unit in _DAYS and _near(c.text, q, _SYMPTOM, 12) and q.high * _DAYS[q.unit] > limit \
                        and not re.match(r"\s*(前|ago)", c.text[q.end:]):
                    out += c.find(rule, "exceeds", value=q.text)
                    break
        elif _AFTER_TX.search(c.text) and _SEVERE_SIGN.search(c.text) and not _RATE_Q.search(c.text):
            out += c.find(rule, "reported")
    return out


_ACTIVITY = re.compile(r"(负重|跑步|慢跑|跑|打球|爬山|爬楼|跳|运动|健身|weight[- ]bearing|run\w*|jog\w*|sports?|hik\w*|gym)",
                       re.I | re.A)
_SOON = re.compile(r"(第二天|次日|明天|当天|马上|立即|立刻|next day|tomorrow|same day|immediately|right away)", re.I | re.A)


def _aftercare(c: _Ctx) -> list[GuardFinding]:
    """Weight-bearing / sport sooner than 1 week after PRP ('打完PRP第二天能跑步吗')."""
    if "PRP" not in c.therapies or not _ACTIVITY.search(c.text) or not (
            _AFTER_TX.search(c.text) or re.search(r"后|after|post", c.text, re.I)):
        return []
    out = []
    for rule in c.rb.of_kind("aftercare"):
        min_days = rule.bounds["low"] * 7
        early = [q for q in parse_quantities(c.text) if q.unit in _DAYS and q.low * _DAYS[q.unit] < min_days
                 and not re.match(r"\s*(前|ago)", c.text[q.end:])]
        soon = _SOON.search(c.text)
        if early or soon:
            out += c.find(rule, "too_early", value=soon.group() if soon else early[0].text)
    return out


# ----------------------------------------------------------------------------- answer check
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


def _supported_values(texts: list[str], rb: RuleBook) -> set[tuple[str, Decimal]]:
    vals = set()
    for t in texts + [r.quote for r in rb.rules]:
        for q in parse_quantities(t):
            vals |= {_family(q.unit, q.low), _family(q.unit, q.high)}
    for r in rb.rules:
        for k, v in r.bounds.items():
            if isinstance(v, Decimal):
                unit = r.bounds.get(f"{k.split('_')[0]}_unit") or r.bounds.get("unit")
                vals.add(_family(unit, v))
    vals.add(("year", Decimal(str(rb.settings.get("elderly_age", 65)))))
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


# ----------------------------------------------------------------------------- plain language
_PLAIN_BUILTIN = {
    "unsupported_number": ("回答里有一个数字无法在资料中核实,请以医生的意见为准。",
                           "A number in this answer could not be checked against the sources; rely on your doctor."),
    "patient_conflict": ("你填写的信息和问题里说的不一致,请核对后再问。",
                         "The details you entered and what you wrote in the question do not match. Please check them."),
}
_PLAIN_LEVEL = {"block": ("根据指南,这种情况不适合进行该治疗,请和医生商量。",
                          "According to the guideline, this treatment is not suitable here. Talk to your doctor."),
                "warn": ("这种情况需要医生先评估一下再决定。", "A doctor should check this before going ahead."),
                "none": ("", "")}


def plain_message(finding: GuardFinding, lang: str = "zh", rules: RuleBook | None = None) -> str:
    """A patient-facing version of a finding: short, no jargon, no rule ids."""
    i = 0 if lang == "zh" else 1
    if finding.rule_id in _PLAIN_BUILTIN:
        return _PLAIN_BUILTIN[finding.rule_id][i]
    rule = (rules or default_rules()).get(finding.rule_id)
    if rule and rule.raw.get(f"plain_{'zh' if i == 0 else 'en'}"):
        return str(rule.raw[f"plain_{'zh' if i == 0 else 'en'}"])
    return _PLAIN_LEVEL.get(finding.level, _PLAIN_LEVEL["warn"])[i]
