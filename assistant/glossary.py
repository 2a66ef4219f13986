"""Bilingual glossary: keeps jieba from splitting terms and bridges zh <-> en in queries.

corpus/glossary.tsv columns: id, zh, en, abbr, variants, jieba_freq, pos
(abbr and variants are `|`-separated).
"""
from __future__ import annotations

import csv
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jieba

_jieba_lock = threading.Lock()
_loaded_dicts: set[str] = set()


@dataclass(frozen=True)
class Term:
    id: str
    zh: str
    en: str
    abbr: tuple[str, ...]
    variants: tuple[str, ...]

    @property
    def forms(self) -> tuple[str, ...]:
        return tuple(f for f in (self.zh, self.en, *self.abbr, *self.variants) if f)


@dataclass(frozen=True)
class Glossary:
    terms: tuple[Term, ...]

    def find(self, text: str) -> list[Term]:
        """Terms whose any surface form occurs in the text (case-insensitive; ASCII forms on word bounds)."""
        low = text.lower()
        hits = []
        for t in self.terms:
            for f in t.forms:
                if _contains(low, f.lower()):
                    hits.append(t)
                    break
        return hits

    def expand(self, text: str) -> str:
        """The query plus the other-language forms of every term it mentions."""
        extra: list[str] = []
        for t in self.find(text):
            for f in (t.zh, t.en, *t.abbr):
                if f and f.lower() not in text.lower() and f not in extra:
                    extra.append(f)
        return text if not extra else f"{text} {' '.join(extra)}"


def _contains(low_text: str, form: str) -> bool:
    if not form:
        return False
    if form.isascii():
        return re.search(rf"(?<![a-z0-9]){re.escape(form)}(?![a-z0-9])", low_text) is not None
    return form in low_text


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
                              split(row.get("abbr")), split(row.get("variants"))))
    return Glossary(tuple(terms))


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
