"""Deterministic guideline guard: patient facts + proposed doses vs the loaded rule books.

No model and no network: the same question and patient always give the same verdict, and every
finding carries the verbatim guideline quote (and our assumption, where the guideline is vague).
A rule only speaks when the question, the conversation or the form's planned_intervention concerns
one of its interventions (or names no therapy and the rule's file says its rules apply then), and
patient-fact verdicts need a described patient: a general question gets them as `info` only.
`check_answer` keeps generated answers honest about numbers.
"""
from __future__ import annotations

import operator
import re
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from functools import lru_cache
from typing import Any

from assistant.guard import seed_kinds
from assistant.guard.answer_check import ECHO_LINES, check_answer
from assistant.cues import GESTATION, attributed, compile_terms, general_question, individual, plan_cue
from assistant.guard.doses import ProposedDose, extract_amounts, extract_doses
from assistant.guard.measures import read_measure
from assistant.model import LEVEL_ORDER, GuardFinding, InputError, Level
from assistant.guard.patient import PatientContext, extract_patient, merge, normalise_text
from assistant.quantities import Quantity, format_en, format_zh
from assistant.guard.rulebook import (KINDS, Book, Rule, RuleBook, RuleError, check_files, default_rules, doc_id,
                                load_rulebooks, load_rules, rule_files)

__all__ = ["KINDS", "Book", "Rule", "RuleBook", "RuleError", "GuardResult", "check", "check_answer", "plain_message",
           "stated_doses",
           "default_rules", "load_rules", "load_rulebooks", "rule_files", "check_files", "doc_id", "ECHO_LINES"]
_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_NUMERIC_FACTS = ("age", "glucose_mmol_l", "glucose_mg_dl", "nsaid_last_dose_days_ago", "platelets_10e9_per_l")


@lru_cache(maxsize=256)
def _terms(terms: tuple[str, ...]) -> re.Pattern[str]:
    return compile_terms(terms)


# ----------------------------------------------------------------------------- check
@dataclass
class GuardResult:
    level: Level
    findings: list[GuardFinding]
    patient: PatientContext
    conflicts: list[str]
    # rules a general question concerns, as level-none findings (the answer may quote them)
    info: list[GuardFinding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (findings with their citations as plain dicts): what `assistant check --json` prints."""
        return {"level": self.level, "findings": [asdict(f) for f in self.findings],
                "patient": self.patient.to_dict(), "conflicts": list(self.conflicts)}


@dataclass
class _Ctx:
    text: str  # normalised question (all turns)
    lang: str
    patient: PatientContext
    rb: RuleBook
    described: bool  # a particular patient (text or form), not a class of patients
    particular: bool  # someone in particular: a form, a measured fact, a pronoun / 这位 / my patient
    doses: list[ProposedDose]
    scope: str = ""  # text + the form's planned intervention
    named: bool = False  # some rule's specific intervention is named
    info: list[GuardFinding] = field(default_factory=list)
    context_docs: frozenset[str] | None = None  # documents the question's best passages come from
    concept_docs: tuple[frozenset[str], ...] = ()  # per concept of the question: the documents that have it

    def concerns(self, rule: Rule) -> bool:
        """Named (or a count dose of its product given); else, if no therapy is named at all, a family
        word of the rule (再生医学) or the rule's applies_when_unspecified."""
        if rule.specific_rx.search(self.scope) or (rule.product and any(d.product == rule.product for d in self.doses)):
            return True
        if self.named:
            return False
        if rule.umbrella_rx.search(self.scope):
            return True
        # A rules file's "no therapy named" default holds only where its own guidelines are all that was
        # retrieved (settings.home_documents): an opioid question in a clinic's library is not a PRP question.
        home = rule.book.home | {doc_id(r.document) for r in self.rb.rules if r.book is rule.book}
        # Nor where the question names something its guidelines do not have: "痛风发作能吃萘普生吗" is about
        # another guideline's therapy, or one no source here has.
        if any(not docs & home for docs in self.concept_docs):
            return False
        in_context = self.context_docs is None or self.context_docs <= home
        return rule.applies_when_unspecified and in_context

    def num(self, v: Decimal) -> str:
        return format_zh(v) if self.lang == "zh" else format_en(v)

    def qty(self, q: Quantity) -> str:
        return self.num(q.low) if not q.is_range else f"{self.num(q.low)}–{self.num(q.high)}"

    def find(self, rule: Rule, verdict: str, variant: str = "", assumption: str | None = None, fact: bool = False,
             **params: Any) -> list[GuardFinding]:
        """A finding at the rule's level for `verdict`; a patient-fact verdict (`fact`) on a general
        question goes to `info` at level none instead."""
        level = rule.verdicts.get(verdict, "none")
        if level == "none":
            return []
        f = GuardFinding(rule.id, level, rule.text(self.lang, variant, **params), rule.quote, rule.document,
                         assumption=rule.assumption if assumption is None else assumption)
        if fact and not self.described:
            self.info.append(replace(f, level="none"))
            return []
        return [f]


def check(question: str, patient: dict | PatientContext | None = None, lang: str = "zh",
          rules: RuleBook | None = None, context_docs: set[str] | frozenset[str] | None = None,
          concept_docs: tuple[frozenset[str], ...] = ()) -> GuardResult:
    """Verdict for a question (+ optional structured patient): block > warn > none, with findings.
    `context_docs`: doc ids of the passages retrieved for it (None: every rules file's default holds);
    `concept_docs`: for each concept of the question, the documents that have it (a rule whose own documents
    lack one speaks about the question only when it names the rule's therapy)."""
    if not isinstance(question, str):
        raise InputError("the question must be text")
    if lang not in ("zh", "en"):
        raise InputError(f"lang must be 'zh' or 'en', got {lang!r}")
    rb = rules or default_rules()
    structured = patient if isinstance(patient, PatientContext) else PatientContext.from_dict(patient,
                                                                                               rb.condition_keys)
    extracted = extract_patient(question, rb.drugs, rb.conditions)
    ctx_patient, conflicts = merge(structured, extracted)
    text = normalise_text(question)
    particular = _particular(text, structured, extracted)
    c = _Ctx(text, lang, ctx_patient, rb, particular or _described(text), particular, extract_doses(text),
             context_docs=frozenset(context_docs) if context_docs is not None else None,
             concept_docs=tuple(concept_docs))
    c.scope = text + "\n" + normalise_text(ctx_patient.planned_intervention or "")
    c.named = any(r.specific_rx.search(c.scope) for r in rb.rules) or any(
        d is not None and d.cls in rb.drugs.treatment_classes for d, _m in rb.drugs.find(c.scope))
    findings: list[GuardFinding] = []
    for kind, step in STEPS.items():
        for rule in rb.of_kind(kind):
            if c.concerns(rule) and (rule.context_rx is None or rule.context_rx.search(text)):
                findings += step(c, rule)
    for conflict in conflicts:
        findings.append(GuardFinding("patient_conflict", "warn", (
            f"表单与问题中的患者信息不一致:{conflict}" if lang == "zh" else f"Form and question disagree: {conflict}"),
            assumption="Structured form values are used over values read from the question text."))
    level: Level = max((f.level for f in findings), key=LEVEL_ORDER.__getitem__, default="none")
    return GuardResult(level, findings, ctx_patient, conflicts, c.info)


def _particular(text: str, structured: PatientContext, extracted: PatientContext) -> bool:
    """Someone in particular: a filled-in form, a measured fact (age, a lab value, days since a dose,
    weeks of pregnancy) or a person cue (这位, 我, she, my patient)."""
    if structured.has_facts() or any(getattr(extracted, f) is not None for f in _NUMERIC_FACTS):
        return True
    return bool(extracted.last_dose_days_ago or GESTATION.search(text)) or individual(text)


def _described(text: str) -> bool:
    """Telegraphic facts ("凝血功能异常能打PRP吗", "pregnant, asking about PRP") describe a patient too;
    a question about a class of patients ("孕妇能做PRP吗?", "服用华法林的患者…") does not."""
    return not general_question(text)


# ----------------------------------------------------------------------------- one function per kind
def _contraindication(c: _Ctx, rule: Rule) -> list[GuardFinding]:
    p, cond = c.patient, rule.raw["condition"]
    ct = c.rb.conditions.get(cond)
    present = (p.pregnant is True) if cond == "pregnant" else cond in p.conditions
    variant, assumption, drug, value = "", rule.assumption, "", ""
    if ct is not None and ct.below is not None:
        fld, limit, unit = ct.below
        v = getattr(p, fld, None) if hasattr(p, fld) else p.measures.get(fld)
        if v is not None:
            value = f"{'' if c.lang == 'zh' else ' '}({v:g}{unit})"
            present = present or Decimal(str(v)) < limit
    if not present:
        for m in p.medications:
            d = c.rb.drugs.lookup(m)
            if d is not None and d.implies_condition == cond:
                present, variant, drug, assumption = True, "drug", m, f"{m}: {d.note}"
                break
    if not present:
        return []
    verdict, esc = "present", rule.raw.get("escalate")
    if esc:
        up = bool(_terms(tuple(esc["interventions"])).search(c.scope)) or (not c.named and rule.applies_when_unspecified)
        verdict, variant = (esc["verdict"], variant) if up else ("present", esc.get("else_variant") or variant)
    return c.find(rule, verdict, variant, assumption=assumption, fact=True, drug=drug, value=value)


def _washout(c: _Ctx, rule: Rule) -> list[GuardFinding]:
    """Days since the last dose of the rule's drugs (class or names; the form's `days_field`) vs bounds.min_days."""
    p, lex = c.patient, c.rb.drugs
    cls, names = rule.raw.get("drug_class"), {str(n).lower() for n in rule.raw.get("drugs") or []}

    def ours(name: str) -> bool:
        d = lex.lookup(name)
        return name.lower() in names or (d is not None and (d.cls == cls or d.id.lower() in names
                                                            or any(n.lower() in names for n in d.names)))
    taken = [m for m in p.medications if ours(m)]
    days_seen = [Decimal(str(v)) for k, v in p.last_dose_days_ago.items() if ours(k)]
    form_days = getattr(p, rule.raw["days_field"]) if rule.raw.get("days_field") else None
    if form_days is not None:  # the form's field for these drugs (days_field) wins over the text
        days_seen = [Decimal(str(form_days))]
    min_days = rule.bounds["min_days"]
    label = cls or next(iter(rule.raw.get("drugs") or []), "")
    params = dict(drug=("、" if c.lang == "zh" else ", ").join(taken) or (f"{label}s" if cls else label),
                  min_days=f"{min_days:f}")
    if days_seen:
        days = min(days_seen)
        verdict = "within" if days < min_days else "outside"
        return c.find(rule, verdict, "" if verdict == "within" else "outside", fact=True,
                      days=f"{days.normalize():f}", **params)
    return c.find(rule, "unknown_timing", "unknown", fact=True, **params) if taken else []


def _threshold(c: _Ctx, rule: Rule) -> list[GuardFinding]:
    """A measure (form `measures`, the glucose fields, or the text) vs comparator + value."""
    limit, unit, measure = rule.bounds["value"], rule.bounds["unit"], str(rule.raw["measure"])
    params = dict(limit=f"{limit:f}", unit=unit, measure=measure)
    value, shown = _measure(c, rule)
    if value is None:
        if rule.raw.get("unknown_when") in c.patient.conditions:
            return c.find(rule, "unknown", "unknown", fact=True, **params)
        return []
    met = _OPS[rule.raw["comparator"]](value, limit)
    return c.find(rule, "met" if met else "not_met", "" if met else "not_met", value=shown, **params)


def _measure(c: _Ctx, rule: Rule) -> tuple[Decimal | None, str]:
    p, measure, unit = c.patient, str(rule.raw["measure"]), rule.bounds["unit"]
    form = {k.lower(): v for k, v in p.measures.items()}
    if measure.lower() in form:
        v = Decimal(str(form[measure.lower()]))
        return v, f"{v.normalize():f} {unit}"
    if measure == "glucose":
        g = p.glucose()
        if g is None:
            return None, ""
        shown = g.quantize(Decimal("0.1"))
        if p.glucose_mmol_l is None:
            return g, (f"{p.glucose_mg_dl:g} mg/dL(约 {shown} mmol/L)" if c.lang == "zh" else
                       f"{p.glucose_mg_dl:g} mg/dL (about {shown} mmol/L)")
        return g, f"{p.glucose_mmol_l:g} mmol/L"
    r = read_measure(c.text, _terms(tuple(rule.raw["measure_terms"])), unit)
    return (r.value, r.text) if r else (None, "")


def _dose_range(c: _Ctx, rule: Rule) -> list[GuardFinding]:
    """Proposed doses (count of the rule's product, or amount per period near its intervention)
    vs bounds.low / bounds.high, for the rule's population."""
    if not (_in_population(c, rule.raw.get("population"), True)
            and not _in_population(c, rule.raw.get("unless_population"), False)):
        return []
    low, high = rule.bounds.get("low"), rule.bounds.get("high")
    out = []
    for lo, hi, shown in _proposed(c, rule):
        params = dict(value=shown, low=c.num(low) if low is not None else "",
                      high=c.num(high) if high is not None else "")
        if high is not None and hi > high:
            out += c.find(rule, "above", **params)
        elif low is not None and lo < low:
            out += c.find(rule, "below", "below", **params)
        else:
            out += c.find(rule, "within", "within", **params)
    return out


def _in_population(c: _Ctx, spec: Any, default: bool) -> bool:
    if spec is None:
        return default
    age = c.patient.age
    limit = c.rb.elderly_age if spec == "elderly" else Decimal(str(spec["age_at_least"]))
    return age is not None and Decimal(str(age)) >= limit


def _proposed(c: _Ctx, rule: Rule) -> list[tuple[Decimal, Decimal, str]]:
    """(low, high, shown) of each dose for this rule that someone proposes: a plan cue or a described
    patient, or a dose not attributed to the guideline ("指南说常用剂量是2亿吧?" is not a proposal)."""
    unit = rule.bounds["unit"]
    out = []
    if unit == "count":
        for d in c.doses:
            if d.product == (rule.product or None) and _proposing(c, d.quantity.start):
                out.append((d.quantity.low, d.quantity.high, c.qty(d.quantity)))
        return out
    for a in extract_amounts(c.text, unit):
        if _proposing(c, a.quantity.start) and _nearest_is(c, rule, a.quantity.start):
            shown = c.num(a.value_low) if a.value_low == a.value_high else \
                f"{c.num(a.value_low)}–{c.num(a.value_high)}"
            out.append((a.value_low, a.value_high, shown))
    return out


def stated_doses(text: str, rule: Rule, rules: RuleBook) -> list[tuple[Decimal, Decimal, str, int]]:
    """Every dose a source sentence states for the rule's product or drug, proposed or not, as (low, high,
    shown, start in the normalised text): the source-trust check (assistant.conflicts) compares them."""
    t = normalise_text(text)
    c = _Ctx(t, "zh", PatientContext(), rules, True, True, extract_doses(t), scope=t)
    if rule.bounds["unit"] == "count":
        return [(d.quantity.low, d.quantity.high, d.quantity.text.strip(), d.quantity.start)
                for d in c.doses if d.product == (rule.product or None)]
    return [(a.value_low, a.value_high, a.quantity.text.strip(), a.quantity.start)
            for a in extract_amounts(t, rule.bounds["unit"]) if _nearest_is(c, rule, a.quantity.start)]


def _proposing(c: _Ctx, start: int) -> bool:
    return not attributed(c.text, start) or plan_cue(c.text) or c.particular


def _nearest_is(c: _Ctx, rule: Rule, pos: int) -> bool:
    """The drug named nearest before an amount (else after it, in the sentence) is the rule's."""
    ours = [(m.start(), m.end(), True) for m in rule.specific_rx.finditer(c.text)]
    others = [(m.start(), m.end(), False) for _d, m in c.rb.drugs.find(c.text)
              if not rule.specific_rx.search(m.group())]
    s0 = max((m.end() for m in re.finditer(r"[。!?\n]|\.\s", c.text[:pos])), default=0)
    near = [(pos - e if e <= pos else 1000 + s - pos, mine) for s, e, mine in ours + others if s >= s0]
    if not near:
        return True  # named elsewhere in the conversation (the rule concerns the question)
    return min(near)[1]


def _population_adjustment(c: _Ctx, rule: Rule) -> list[GuardFinding]:
    """The seed's elderly rule: age >= settings.elderly_age and a cell therapy (or its dose)."""
    age = c.patient.age
    elderly_age = c.rb.elderly_age
    if age is None or Decimal(str(age)) < elderly_age:
        return []
    doses = [d for d in c.doses if d.product == rule.product and _proposing(c, d.quantity.start)]
    params = dict(age=f"{age:g}", elderly_age=f"{elderly_age:f}", low_dose=c.num(rule.bounds["low_dose"]))
    if not doses:
        return c.find(rule, "no_dose", "no_dose", fact=True, value="", **params)
    worst = max(doses, key=lambda d: d.quantity.high).quantity
    above = worst.high > rule.bounds["low_dose"]
    return c.find(rule, "above_low_dose" if above else "at_or_below_low_dose", "" if above else "low_dose",
                  fact=True, value=c.qty(worst), **params)


STEPS = {"contraindication": _contraindication, "dose_range": _dose_range,
         "population_adjustment": _population_adjustment, "washout": _washout, "threshold": _threshold,
         "quality_standard": seed_kinds.quality_standard, "adverse_event_rate": seed_kinds.adverse_event_rate,
         "aftercare": seed_kinds.aftercare}
# The registry: every kind the schema accepts (ruleschema.SPEC; a rules file with another kind fails to load)
# has exactly one evaluator, which reads its measure, drug class or product from the rule's data.
if set(STEPS) != set(KINDS):
    raise RuntimeError(f"rule kinds without an evaluator, or evaluators without a kind: {sorted(set(STEPS) ^ set(KINDS))}")
# ----------------------------------------------------------------------------- plain language
_PLAIN_BUILTIN = {
    "unsupported_number": ("回答里有一个数字无法在资料中核实,请以医生的意见为准。",
                           "A number in this answer could not be checked against the sources; rely on your doctor."),
    "source_conflict": ("有一份资料和指南的规定不一致，这里没有采用它的说法，请以医生的意见为准。",
                        "One source disagrees with the guideline's rules, so it was not used here; rely on your doctor."),
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
