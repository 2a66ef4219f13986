"""Source trust: a source sentence that contradicts a guard rule is never stated as fact.

Any document can be ingested under any title ("ASPN 2024 官方更新"), so every candidate answer
sentence is checked against the loaded rules before it may be cited: a dose outside a dose-range
rule's range, a washout shorter than a washout rule's, a permission where a threshold rule forbids,
or a denial of a contraindication ("妊娠不是禁忌症", "孕妇可以安全接受PRP注射"). Such a sentence is
withheld from the answer and reported as a `Conflict` naming both sources (the sentence's document
and file, the rule's id, document and verbatim quote). Deterministic code over rule data, one
function per rule kind; a rule speaks only about the interventions it governs, and never against
its own document (the text its quote comes from is the rule's authority, not a rival).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from decimal import Decimal
from typing import Callable

from .config import ELDERLY_AGE
from .cues import clause_start, compile_terms, normalise_text
from .guard import stated_doses
from .guard.patient import mentions
from .guard.rulebook import Rule, RuleBook, doc_id
from .model import GuardFinding, SourceMeta, Support
from .quantities import format_en, format_zh, parse_quantities
from .support import MIN_PART_COVERAGE, SupportScorer

__all__ = ["Conflict", "SentenceKey", "VettedScorer", "contradictions", "find_conflicts", "vet_sentences", "source_file",
           "CONFLICT_RULE_ID"]

CONFLICT_RULE_ID = "source_conflict"
SentenceKey = tuple[str, int, int]  # (passage id, start, end) of a source sentence

_I = re.IGNORECASE
# "X is not a contraindication", "X can safely receive ...": the sentence allows what a rule forbids.
_PERMIT_ZH = re.compile(
    r"(?:不是|并非|不属于|不算|不再是|不构成|并不是)[^。;；,，]{0,12}禁忌|(?:无|没有|并无)(?:任何)?禁忌|"
    r"(?<![不非勿禁])(?:可以|可|能够|能|均可|也可)(?:放心|安全)?(?:地)?(?:接受|使用|进行|注射|应用|采用|服用|继续)|"
    r"(?<!不)安全(?:有效)?(?:的|地)?(?:接受|使用|进行|注射|应用)|是安全的|(?:无需|无须|不必|不需要|不用)(?:避免|停用|停药|禁用)")
_PERMIT_EN = re.compile(
    r"\bnot (?:a |an )?contraindicat\w*|\bno contraindications?\b|\b(?<!not )(?:is|are) safe\b|\bsafe(?:ly)? (?:to|for|in)\b|"
    r"\b(?<!not )(?<!cannot )(?:can|may) (?:safely )?(?:receive|use|be given|be used|undergo|have|continue)\b|"
    r"\bno need to (?:stop|avoid|withhold)\b", _I)
_terms_rx = lru_cache(maxsize=256)(compile_terms)
FIRED_CACHE_SIZE = 20_000  # sentences whose rule contradictions a scorer remembers (`vet_sentences`)
_NEG_BEFORE = re.compile(r"(?:不|非|勿|禁|not|never|cannot|n't)\s*$", _I)
_NO_STOP = re.compile(r"(?:无需|无须|不必|不需要|不用)(?:提前)?停|可(?:以)?继续(?:服用|使用)|"
                      r"\bno need to (?:stop|withhold)|\bneed not be (?:stopped|withheld)|\bcan be continued\b", _I)
_STOP = re.compile(r"停|stop|discontinu|withh|hold", _I)
_LIMIT_BEFORE = re.compile(r"(?:超过|高于|大于|多于|不超过|不宜超过|最多|至多|above|exceed\w*|more than|over|up to)\s*$", _I)
_ELDERLY = re.compile(r"老年|高龄|elderly|older (?:adults|patients|people)", _I)
ON_TOPIC = MIN_PART_COVERAGE  # a retrieved conflicting sentence this much about the question is reported
_DAYS = {"day": Decimal(1), "week": Decimal(7), "month": Decimal(30), "hour": Decimal(1) / 24}


@dataclass(frozen=True)
class Conflict:
    """A source sentence that contradicts a rule: both sources, and why."""

    rule_id: str
    kind: str
    sentence: str  # verbatim, as in its document
    doc_id: str
    source_title: str
    source_file: str  # the document's file name (its metadata), else its title
    start: int
    end: int
    rule_quote: str
    rule_document: str
    reason_zh: str
    reason_en: str

    def finding(self, lang: str) -> GuardFinding:
        """A warn finding (leads the answer) citing the rule's quote; the sentence is quoted, not cited."""
        src = self.source_title if self.source_file in ("", self.source_title) else \
            f"{self.source_title}（{self.source_file}）" if lang == "zh" else f"{self.source_title} ({self.source_file})"
        if lang == "zh":
            msg = (f"来源「{src}」中的句子“{self.sentence.strip()}”与指南规则 {self.rule_id}（{self.rule_document}）"
                   f"相矛盾：{self.reason_zh}。该句未作为事实引用")
        else:
            msg = (f"The sentence \"{self.sentence.strip()}\" in \"{src}\" contradicts guideline rule {self.rule_id} "
                   f"({self.rule_document}): {self.reason_en}. It is not cited as fact")
        return GuardFinding(CONFLICT_RULE_ID, "warn", msg, self.rule_quote, self.rule_document,
                            assumption=f"rule {self.rule_id}; source sentence in {self.doc_id} "
                                       f"[{self.start}:{self.end}]")

    def to_dict(self) -> dict:
        return dict(vars(self))


def source_file(meta: SourceMeta | None) -> str:
    """The file name a document came from (provenance metadata when present), else its title."""
    if meta is None:
        return ""
    for name in ("file_name", "original_name", "original_file"):
        v = getattr(meta, name, "") or ""
        if v:
            return str(v)
    return meta.title


# ----------------------------------------------------------------------------- scope
def _other_intervention(rule: Rule, text: str, rb: RuleBook) -> bool:
    """The text names a therapy this rule does not govern (another rule's, or a treatment drug)."""
    for r in rb.rules:
        if r.interventions != rule.interventions and (m := r.specific_rx.search(text)) and \
                not rule.specific_rx.search(m.group()):
            return True
    return any(d is not None and d.cls in rb.drugs.treatment_classes and not rule.specific_rx.search(m.group())
               for d, m in rb.drugs.find(text))


def _concerns(rule: Rule, sentence: str, near: str, question: str, rb: RuleBook) -> bool:
    """The sentence is about one of the rule's interventions: it names one; or names no other therapy and
    its surroundings (section, passage, title) name one; or they name none either and the question does.
    Family words (生物制剂, biologic) name no one therapy. The rule's context terms, if any, must be there."""
    if rule.context_rx is not None and not any(rule.context_rx.search(t) for t in (sentence, near, question)):
        return False  # the rule is only about, say, starting doses
    for text in (sentence, near):
        if rule.specific_rx.search(text):
            return True
        if _other_intervention(rule, text, rb):
            return False
    return bool(rule.specific_rx.search(question))


# ----------------------------------------------------------------------------- one check per kind
def _permits(text: str, start: int = 0) -> bool:
    """A permission cue after `start` that is not itself negated (不可以, cannot)."""
    for rx in (_PERMIT_ZH, _PERMIT_EN):
        for m in rx.finditer(text, start):
            if not _NEG_BEFORE.search(text[max(0, m.start() - 4):m.start()]):
                return True
    return False


def _contraindication(rule: Rule, text: str, rb: RuleBook) -> tuple[str, str] | None:
    ct = rb.conditions.get(rule.raw["condition"])
    if ct is None:
        return None
    for m in mentions(text, ct):
        if re.search(r"除(?:了)?\s*$|except\s*(?:for\s*)?$|other than\s*$", text[clause_start(text, m.start()):m.start()], _I):
            continue  # "除妊娠外均可…" excludes the condition
        if _permits(text, clause_start(text, m.start())):
            return (f"规则将“{m.group()}”列为禁忌症，该句却称其可以接受或不是禁忌",
                    f"the rule lists '{m.group()}' as a contraindication; the sentence says it is allowed or not one")
    return None


def _dose_range(rule: Rule, text: str, rb: RuleBook) -> tuple[str, str] | None:
    pop, unless = rule.raw.get("population"), rule.raw.get("unless_population")
    if (pop is not None and not _names_population(text, pop)) or (unless is not None and _names_population(text, unless)):
        return None
    low, high = rule.bounds.get("low"), rule.bounds.get("high")
    for lo, hi, shown, start in stated_doses(text, rule, rb):
        if _LIMIT_BEFORE.search(text[max(0, start - 8):start]):
            continue  # "超过 X 时不良反应增加" states a limit, not a dose
        side = "above" if high is not None and hi > high else "below" if low is not None and lo < low else ""
        if side and rule.verdicts.get(side, "none") != "none":
            rng_zh = f"{format_zh(low) if low is not None else ''}–{format_zh(high) if high is not None else ''}"
            rng_en = f"{format_en(low) if low is not None else ''}–{format_en(high) if high is not None else ''}"
            return (f"所述剂量 {shown} 在规则范围 {rng_zh} 之外", f"the stated dose {shown} is outside the rule's range {rng_en}")
    return None


def _names_population(text: str, spec) -> bool:
    if spec == "elderly":
        return bool(_ELDERLY.search(text))
    limit = Decimal(str(spec.get("age_at_least", 0))) if isinstance(spec, dict) else Decimal(ELDERLY_AGE)
    ages = [q.low for q in parse_quantities(text) if q.unit == "year" and ("岁" in q.text or "old" in q.text)]
    return bool(_ELDERLY.search(text)) or any(a >= limit for a in ages)


def _washout(rule: Rule, text: str, rb: RuleBook) -> tuple[str, str] | None:
    cls, names = rule.raw.get("drug_class"), {str(n).lower() for n in rule.raw.get("drugs") or []}
    ours = [m for d, m in rb.drugs.find(text) if m.group().lower() in names or (
        d is not None and (d.cls == cls or d.id.lower() in names or any(n.lower() in names for n in d.names)))]
    if not ours:
        return None
    min_days = rule.bounds["min_days"]
    if _NO_STOP.search(text):
        return ("规则要求停药，该句称无需停药", "the rule requires stopping the drug; the sentence says there is no need")
    if not _STOP.search(text):
        return None
    days = [q.high * _DAYS[q.unit] for q in parse_quantities(text) if q.unit in _DAYS]
    if days and max(days) < min_days:
        return (f"所述停药时间短于规则要求的至少 {min_days.normalize():f} 天",
                f"the stated washout is shorter than the rule's at least {min_days.normalize():f} days")
    return None


def _threshold(rule: Rule, text: str, rb: RuleBook) -> tuple[str, str] | None:
    """A permission at a value where the rule blocks ("eGFR 20 mL/min 时仍可使用")."""
    if rule.verdicts.get("met", "none") == "none":
        return None
    terms = rule.raw.get("measure_terms") or [rule.raw["measure"]]
    rx, unit, limit = _terms_rx(tuple(terms)), rule.bounds["unit"].lower(), rule.bounds["value"]
    if not rx.search(text):
        return None
    ops = {"<": lambda v: v < limit, "<=": lambda v: v <= limit, ">": lambda v: v > limit, ">=": lambda v: v >= limit}
    met = ops[rule.raw["comparator"]]
    for q in parse_quantities(text):
        shown = text[q.start:q.end + 12].lower().replace(" ", "")
        if unit.replace(" ", "") in shown and met(q.low) and met(q.high) and _permits(text, q.start):
            return (f"规则在 {rule.raw['measure']} {rule.raw['comparator']} {limit.normalize():f} 时禁止，该句却允许",
                    f"the rule forbids at {rule.raw['measure']} {rule.raw['comparator']} {limit.normalize():f}; "
                    "the sentence allows it")
    return None


CHECKS: dict[str, Callable[[Rule, str, RuleBook], tuple[str, str] | None]] = {
    "contraindication": _contraindication, "dose_range": _dose_range, "washout": _washout, "threshold": _threshold}


# ----------------------------------------------------------------------------- entry points
_NUMBER = re.compile(r"[\d一二两三四五六七八九十百千万亿]")
_NEEDS_NUMBER = {"dose_range", "threshold"}


def contradictions(sentence: str, doc: str, rb: RuleBook) -> list[tuple[Rule, str, str]]:
    """(rule, reason_zh, reason_en) for each rule whose kind check fires on the sentence, whatever it is
    about (the expensive, question-independent part). A rule is never checked against its own document."""
    text = normalise_text(sentence)
    numeric = bool(_NUMBER.search(text))
    out = []
    for rule in rb.rules:
        check = CHECKS.get(rule.kind)
        if check is None or doc_id(rule.document) == doc or (rule.kind in _NEEDS_NUMBER and not numeric):
            continue
        reason = check(rule, text, rb)
        if reason:
            out.append((rule, *reason))
    return out


def find_conflicts(sentence: str, doc: str, rb: RuleBook, near: str = "", question: str = "",
                   fired: list | None = None) -> list[tuple[Rule, str, str]]:
    """The contradictions (`fired`, else computed) of rules the sentence is about: `near` is its section and
    passage, `question` what was asked (the subject of a sentence whose surroundings name no therapy)."""
    fired = contradictions(sentence, doc, rb) if fired is None else fired
    if not fired:
        return []
    text, near_n, q = normalise_text(sentence), normalise_text(near), normalise_text(question)
    return [(r, zh, en) for r, zh, en in fired if _concerns(r, text, near_n, q, rb)]


def vet_sentences(sentences, question: str, rb: RuleBook, sources: dict[str, SourceMeta],
                  cache: dict | None = None) -> dict[SentenceKey, Conflict]:
    """Conflicts of support sentences (`model.Sentence`), by sentence key: the first rule each contradicts.
    `cache` (per index version and rule book) keeps each sentence's question-independent contradictions."""
    out: dict[SentenceKey, Conflict] = {}
    cache = {} if cache is None else cache
    for s in sentences:
        key = (s.passage.id, s.span[0], s.span[1])
        if key not in cache:
            if len(cache) >= FIRED_CACHE_SIZE:
                cache.clear()  # a 1,000x corpus has 121,000 sentences: remember the recent ones, not all
            cache[key] = contradictions(f"{s.zh}\n{s.en}", s.passage.doc_id, rb)
        if not cache[key]:
            continue
        meta = sources.get(s.passage.doc_id)
        near = " ".join(s.passage.section) + "\n" + s.passage.text + "\n" + (meta.title if meta else "")
        found = find_conflicts(f"{s.zh}\n{s.en}", s.passage.doc_id, rb, near, question, cache[key])
        if not found:
            continue
        rule, zh, en = found[0]
        out[key] = Conflict(rule.id, rule.kind, s.zh, s.passage.doc_id, meta.title if meta else s.passage.doc_id,
                            source_file(meta), s.span[0], s.span[1], rule.quote, rule.document, zh, en)
    return out


class VettedScorer(SupportScorer):
    """A SupportScorer that never chooses a sentence contradicting a rule. `Support.withheld`: the ones it
    would have chosen, and retrieved ones about the question (the user sees retrieved passages too);
    `Support.conflicts`: every conflicting sentence of the hits (compose drops them from lists too)."""

    def __init__(self, index, glossary, bilingual, rules: RuleBook) -> None:
        super().__init__(index, glossary, bilingual)
        self.rules, self.sources = rules, index.sources
        self._fired: dict = {}  # sentence key -> its contradictions (this index version, these rules)

    def score(self, question, hits, max_sentences: int = 3, qvec=None, skip: frozenset = frozenset()) -> Support:
        pool = [s for h in hits for s in self.sentences.get(h.passage.id, ())]
        found = vet_sentences(pool, question, self.rules, self.sources, self._fired)
        plain = super().score(question, hits, max_sentences, qvec, skip)
        if not found:
            return plain
        vetted = super().score(question, hits, max_sentences, qvec, skip | frozenset(found))
        vetted.conflicts = found
        chosen = {(s.passage.id, *s.span) for s, _ in plain.chosen}
        concepts = self.concepts(question)
        vetted.withheld = [c for s in pool if (k := (s.passage.id, *s.span)) in found and (
            k in chosen or self.coverage(concepts, s) >= ON_TOPIC) for c in [found[k]]]
        return vetted
