"""Bilingual glossary: keeps jieba from splitting terms and bridges zh <-> en in queries.

corpus/glossary.tsv columns: id, zh, en, abbr, variants, kind
(abbr and variants are `|`-separated; kind is `intervention` for therapies, whose mention decides
which sentences and which guard rules a question is about; `umbrella` for a family of therapies
(再生医学), which names none of them; else `term`).
"""
from __future__ import annotations

import csv
import re
import threading
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from pathlib import Path

import jieba

FIND_CACHE_SIZE = 2048  # recent texts whose terms `Glossary.find` remembers
_jieba_lock = threading.Lock()
_loaded_dicts: set[str] = set()


@dataclass(frozen=True)
class Term:
    id: str
    zh: str
    en: str
    abbr: tuple[str, ...]
    variants: tuple[str, ...]
    kind: str = "term"

    @property
    def forms(self) -> tuple[str, ...]:
        return tuple(f for f in (self.zh, self.en, *self.abbr, *self.variants) if f)


@dataclass(frozen=True)
class Glossary:
    terms: tuple[Term, ...]

    @cached_property
    def _screens(self) -> list[tuple[Term, tuple[str, ...] | None]]:
        """Each term with its lower-cased forms when they are plain (ASCII or caseless, such as Chinese), else None."""
        return [(t, tuple(f.lower() for f in t.forms) if all(map(_plain, t.forms)) else None)
                for t in self.terms if t.forms]

    @cached_property
    def _compiled(self) -> dict[Term, re.Pattern[str]]:
        return {}

    @cached_property
    def _found(self) -> dict[str, list[Term]]:
        return {}  # text -> `find` (one ask looks up its question three times)

    def _pattern(self, t: Term) -> re.Pattern[str]:
        pat = self._compiled.get(t)
        if pat is None:
            pat = self._compiled[t] = form_pattern(t.forms)
        return pat

    def find(self, text: str) -> list[Term]:
        """Terms whose any surface form occurs in the text (case-insensitive; ASCII forms on word bounds).

        A term found only inside a longer found term (血小板 inside 富血小板血浆) is not reported.
        When text and forms are plain, a form can only match where its lower-case form is a substring, so
        that cheap test rules most terms out before their regex is compiled (~200 of them cost a second).
        """
        if (hit := self._found.get(text)) is not None:
            return list(hit)
        folded = text.lower() if _plain(text) else None
        spans: list[tuple[int, int, Term]] = []
        for t, lowered in self._screens:
            if folded is not None and lowered is not None and not any(f in folded for f in lowered):
                continue
            m = self._pattern(t).search(text)
            if m:
                spans.append((m.start(), m.end(), t))
        found = [t for s, e, t in spans
                 if not any(s2 <= s and e <= e2 and (e2 - s2) > (e - s) for s2, e2, _ in spans)]
        if len(self._found) >= FIND_CACHE_SIZE:
            self._found.clear()
        self._found[text] = found
        return list(found)

    def narrower(self, t: Term) -> tuple[str, ...]:
        """Forms of the terms that are kinds of `t`: a Chinese compound names its kind last, so 间充质干细胞
        (MSCs) is a 干细胞 and 膝骨关节炎 an 骨关节炎, while 富血小板血浆 is no 血小板. A sentence about
        "MSCs" answers a question about 干细胞."""
        if not t.zh or len(t.zh) < 2:
            return ()
        return tuple(f for o in self.terms if o.zh != t.zh and o.zh.endswith(t.zh) for f in o.forms)

    def synonym_groups(self, text: str) -> list[tuple[str, ...]]:
        """The surface forms of each term the text mentions: one concept for BM25, however many forms."""
        return [t.forms for t in self.find(text)]

    def with_terms(self, learnt: list[tuple[str, dict]]) -> "Glossary":
        """This glossary plus terms a document taught (zh + en + abbreviation), unless already known."""
        known = {f.lower() for t in self.terms for f in t.forms}
        extra = []
        for i, (doc_id, t) in enumerate(learnt):
            forms = [f for f in (t.get("zh", ""), t.get("en", ""), t.get("abbr", "")) if f]
            if len(forms) < 2 or any(f.lower() in known for f in forms):
                continue
            known |= {f.lower() for f in forms}
            extra.append(Term(f"{doc_id}:{i}", t.get("zh", ""), t.get("en", ""),
                              (t["abbr"],) if t.get("abbr") else (), ()))
        return Glossary(self.terms + tuple(extra)) if extra else self

    def with_interventions(self, forms: set[str]) -> "Glossary":
        """Terms named by a guard rule's `interventions` are interventions: they decide which sentences
        (and rules) a question is about. Rules files are the clinic's word on that, the glossary the seeds'."""
        lowered = {f.lower() for f in forms}
        terms = tuple(replace(t, kind="intervention") if t.kind == "term"
                      and any(f.lower() in lowered for f in t.forms) else t for t in self.terms)
        return Glossary(terms)

    def expand(self, text: str) -> str:
        """The query plus the other-language forms of every term it mentions."""
        extra: list[str] = []
        for t in self.find(text):
            for f in (t.zh, t.en, *t.abbr):
                if f and f.lower() not in text.lower() and f not in extra:
                    extra.append(f)
        return text if not extra else f"{text} {' '.join(extra)}"


def _plain(s: str) -> bool:
    """ASCII or caseless characters only: there, re.IGNORECASE matching is exactly lower-case equality."""
    return s.isascii() or all(c.isascii() or c.lower() == c.upper() == c for c in s)


@lru_cache(maxsize=4096)  # every question's terms: building the alternation was ~2 % of an ask
def form_pattern(forms: tuple[str, ...]) -> re.Pattern[str]:
    """One case-insensitive regex for all surface forms; ASCII forms only match whole words."""
    alts = sorted(forms, key=len, reverse=True)
    parts = [rf"(?<![A-Za-z0-9]){re.escape(f)}(?![A-Za-z0-9])" if f.isascii() else re.escape(f) for f in alts]
    return re.compile("|".join(parts), re.I)


@lru_cache(maxsize=4)
def load_glossary(path: str) -> Glossary:
    p = Path(path)
    if not p.exists():
        return Glossary(())
    terms = []
    with p.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            split = lambda v: tuple(x.strip() for x in (v or "").split("|") if x.strip())  # noqa: E731
            terms.append(Term(row["id"], (row.get("zh") or "").strip(), (row.get("en") or "").strip(),
                              split(row.get("abbr")), split(row.get("variants")),
                              (row.get("kind") or "term").strip()))
    return Glossary(tuple(terms))


def install_learnt_terms(glossary: Glossary) -> None:
    """Teach jieba the Chinese forms of learnt terms (idempotent: add_word on a known word is cheap)."""
    with _jieba_lock:
        for t in glossary.terms:
            if ":" in t.id and t.zh and " " not in t.zh:
                jieba.add_word(t.zh, freq=20000)


def install_jieba_terms(path: str) -> None:
    """Teach jieba every Chinese form in the glossary once per process."""
    with _jieba_lock:
        if path in _loaded_dicts:
            return
        glossary = load_glossary(path)
        jieba.setLogLevel(60)
        for t in glossary.terms:
            for f in t.forms:
                if f and not f.isascii() and " " not in f:
                    jieba.add_word(f, freq=20000)
        _loaded_dicts.add(path)
