"""Patient mode: a curated FAQ tied to source quotes, plain-language wording, no personal dosing."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from .conversation import time_side
from .yamlfast import safe_load as yaml_load
from .tokens import content_terms

PERSONAL_DOSE = re.compile(
    r"我(该|应该|需要|要|得)?(打|用|注射|吃|做)?(多少|多大剂量|几个|几针)|给我(开|打|用)|我的剂量|我适合.{0,6}(剂量|多少)|"
    r"how (much|many).{0,30}should i|what dose (should|do) i|my dose|dose for me|right for me|should i (get|take|have)",
    re.I)


@dataclass(frozen=True)
class FaqEntry:
    id: str
    questions: dict[str, tuple[str, ...]]
    answer: dict[str, str]
    quotes: tuple[tuple[str, str], ...]  # (source file name, verbatim quote)

    def names(self, forms) -> bool:
        """Whether its questions or answers use any of these surface forms (case-insensitive)."""
        text = " ".join([*self.answer.values(), *(q for qs in self.questions.values() for q in qs)]).lower()
        return any(f and f.lower() in text for f in forms)


@dataclass(frozen=True)
class Faq:
    entries: tuple[FaqEntry, ...]
    safety: dict[str, str]
    personal_dose: dict[str, str]
    plain_terms: dict[str, dict[str, str]]

    @cached_property
    def _sample_terms(self) -> dict[str, set[str]]:
        return {}  # a sample question -> its content terms, cut once

    def match(self, question: str, lang: str) -> tuple[FaqEntry | None, float]:
        """Best entry by word overlap with its sample questions (either language)."""
        q = content_terms(question)
        best: tuple[FaqEntry | None, float] = (None, 0.0)
        if not q:
            return best
        for e in self.entries:
            for sample in e.questions.get(lang, ()) + e.questions.get("en" if lang == "zh" else "zh", ()):
                s = self._sample_terms.get(sample)
                if s is None:
                    s = self._sample_terms[sample] = content_terms(sample)
                if s and _same_ask(question, sample):
                    score = len(q & s) / len(q | s)
                    if score > best[1]:
                        best = (e, score)
        return best

    def explain_terms(self, text: str, lang: str) -> str:
        """Explain each jargon term once, on its first appearance."""
        for term, expl in self.plain_terms.items():
            m = re.search(rf"(?<![A-Za-z]){re.escape(term)}(?![A-Za-z])", text)
            if m and expl.get(lang):
                note = f"（{expl[lang]}）" if lang == "zh" else f" ({expl[lang]})"
                text = text[: m.end()] + note + text[m.end():]
        return text


@lru_cache(maxsize=4096)
def _asked(text: str) -> frozenset[str]:
    from .attributes import asked_attributes

    return frozenset(asked_attributes(text))


def _same_ask(question: str, sample: str) -> bool:
    """An entry answers a question only if it asks for the same kind of thing: "打完干细胞多久能洗澡?" (how long)
    is not "干细胞要打多少个?" (how many), however many words they share."""
    asked, offered = _asked(question), _asked(sample)
    sides = time_side(question), time_side(sample)  # "打完以后要注意什么" is not "打PRP前要注意什么"
    if None not in sides and sides[0] != sides[1]:
        return False
    return not asked or not offered or bool(asked & offered)


def asks_personal_dose(question: str) -> bool:
    return bool(PERSONAL_DOSE.search(question))


@lru_cache(maxsize=2)
def load_faq(path: str) -> Faq:
    p = Path(path)
    if not p.exists():
        return Faq((), {"zh": "", "en": ""}, {"zh": "", "en": ""}, {})
    d = yaml_load(p.read_text(encoding="utf-8"))
    entries = tuple(
        FaqEntry(e["id"], {k: tuple(v) for k, v in e["questions"].items()}, dict(e["answer"]),
                 tuple((q["source"], q["quote"]) for q in e["quotes"]))
        for e in d.get("entries", []))
    return Faq(entries, d["safety"], d["personal_dose"], d.get("plain_terms", {}))
