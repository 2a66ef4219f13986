"""Which sentences mention a term, a token or a pattern: found once, then looked up.

The same glossary terms and words come back question after question, and a corpus can hold 100,000
sentences (benchmarks/bench_scale.py): a regex per sentence per new term cost 3 s there, and even a
`str.find` per text that holds a common form, confirmed by the term's whole regex, took seconds for the
pattern of every intervention at 121,000 sentences. So each surface form's sentences are found at index
build (one regex over all texts joined) and shared by every term that has the form; a token's sentences come
from postings built once at load. Sentences are named by their `order` (their row in the whole index).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from .glossary import form_pattern
from .model import Sentence

__all__ = ["Mentions", "FILE", "Known", "compute", "save", "load"]

FILE = "mentions.npz"  # per index version: the glossary's forms' sentences, found at build (`compute`)
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_WORD_START, _WORD_END = r"(?<![A-Za-z0-9])", r"(?![A-Za-z0-9])"  # form_pattern's bounds of an ASCII form


@dataclass(frozen=True)
class Known:
    """What the build found: the sentences each glossary form's form_pattern matches (`_form_rows`)."""

    forms: dict[str, np.ndarray]


class Mentions:
    """Remembered lookups over one index's sentences (`every[i].order == i`); `known` from the index build."""

    def __init__(self, every: list[Sentence], known: Known | None = None) -> None:
        self.every = every
        self.known = known
        self.postings: dict[str, list[int]] = {}  # token -> sentences whose terms include it, ascending
        for s in every:
            for t in s.terms:
                self.postings.setdefault(t, []).append(s.order)
        self._terms: dict[str, frozenset[int]] = {}  # pattern -> sentences whose text it matches
        self._forms: dict[str, frozenset[int]] = {}  # form -> sentences its form_pattern matches
        self._tokens: dict[str, frozenset[int]] = {}  # `token`
        self._texts: dict[str, dict[str, bool]] = {}  # pattern -> {text: matched} for repeated texts

    def term(self, pattern: re.Pattern[str], forms: tuple[str, ...]) -> frozenset[int]:
        """The sentences whose text `pattern` (form_pattern of these `forms`: a glossary term) matches, the
        same as `pattern.search` one by one: the union of its forms' sentences, which the build found for
        every glossary form (`compute`) and a form new to this index is scanned for once (`_form_rows`)."""
        if pattern.pattern not in self._terms:
            if not forms:
                rows = frozenset(s.order for s in self.every if pattern.search(s.text))
            else:  # the pattern is one alternative per form: it matches where one of them does
                rows = frozenset().union(*(self.form(f) for f in set(forms)))
            self._terms[pattern.pattern] = rows
        return self._terms[pattern.pattern]

    def form(self, form: str) -> frozenset[int]:
        """The sentences that `form_pattern((form,))` matches (a glossary or learnt form)."""
        if form not in self._forms:
            found = self.known.forms.get(form) if self.known is not None else None
            self._forms[form] = frozenset(found.tolist() if found is not None else
                                          _form_rows(*self._haystack, self._odd, form))
        return self._forms[form]

    @cached_property
    def _haystack(self) -> tuple[str, np.ndarray, list[str]]:
        return _haystack([s.text for s in self.every])

    @cached_property
    def _odd(self) -> frozenset[int]:
        return _odd(*self._haystack)

    def token(self, token: str) -> frozenset[int]:
        """The sentences whose terms include `token` (English words' Chinese alternatives, where a sentence
        with two of them counts once)."""
        if token not in self._tokens:
            self._tokens[token] = frozenset(self.postings.get(token, ()))
        return self._tokens[token]

    def matches(self, pattern: re.Pattern[str], text: str) -> bool:
        """pattern.search(text), remembered: section paths and titles repeat across many sentences."""
        seen = self._texts.setdefault(pattern.pattern, {})
        if text not in seen:
            seen[text] = bool(pattern.search(text))
        return seen[text]


def _haystack(texts: list[str]) -> tuple[str, np.ndarray, list[str]]:
    """Every text after a newline, all joined; the offset of each newline; the texts."""
    lengths = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=len(texts))
    return "".join("\n" + t for t in texts), np.cumsum(lengths) - lengths, texts


def _rows(starts: np.ndarray, at: list[int]) -> set[int]:
    """The texts that hold these offsets of the joined texts."""
    return set((np.searchsorted(starts, at, side="right") - 1).tolist()) if at else set()


def _scan(big: str, starts: np.ndarray, texts: list[str], form: str) -> set[int]:
    """The texts that hold `form` (folded; ASCII: not inside a longer word, as form_pattern's bounds say).
    One scan of the joined texts by a regex that begins with the form itself, so it skips ahead at C speed
    (no form holds a newline); an ASCII form's word start is checked here, and a text where only a rejected
    occurrence was seen (it may hide an overlapping other) by the bounded regex itself."""
    literal = re.escape(form)
    at = [m.start() for m in re.finditer(literal + _WORD_END if form.isascii() else literal, big)]
    rows = _rows(starts, at)
    if not form.isascii():
        return rows
    good = _rows(starts, [i for i in at if big[i - 1] not in _WORD_CHARS])
    bounded = re.compile(_WORD_START + literal + _WORD_END)
    return good | {r for r in rows - good if bounded.search(texts[r])}


def _odd(big: str, starts: np.ndarray, texts: list[str]) -> frozenset[int]:
    """The texts with a cased letter outside ASCII: there re.IGNORECASE may match what lower() hides
    (found by the distinct characters of all texts: a corpus without any costs one pass in C)."""
    cased = "".join(c for c in set(big) if not c.isascii() and not c.lower() == c.upper() == c)
    return frozenset(_rows(starts, [m.start() for m in re.finditer(f"[{re.escape(cased)}]", big)] if cased else []))


def _form_rows(big: str, starts: np.ndarray, texts: list[str], odd: frozenset[int], form: str) -> set[int]:
    """The texts form_pattern((form,)) matches: found by `_scan` outside the `_odd` texts, by the regex in them."""
    single = form_pattern((form,))
    return (_scan(big, starts, texts, form.lower()) - odd) | {r for r in odd if single.search(texts[r])}


def compute(texts: list[str], forms: set[str]) -> Known:
    """At build, over the sentences' search texts (`sentence_features.search_text`): each glossary form's texts,
    so no question pays a scan of 100,000 texts for a glossary term (0.03 s per form there)."""
    hay = _haystack(texts)
    odd = _odd(*hay)
    return Known({f: np.array(sorted(_form_rows(*hay, odd, f)), dtype=np.int32) for f in sorted(forms)})


def save(path: Path, known: Known) -> None:
    forms = list(known.forms)
    sizes = [len(known.forms[f]) for f in forms]
    np.savez(path, forms=np.array(forms, dtype=str), ends=np.cumsum(sizes, dtype=np.int64),
             rows=np.concatenate([known.forms[f] for f in forms]) if forms else np.zeros(0, np.int32))


def load(root: Path) -> Known | None:
    """The build's `Known` of an index version (None for an older format: then every form is scanned)."""
    if not (root / FILE).exists():
        return None
    with np.load(root / FILE) as z:
        rows, ends = z["rows"], z["ends"].tolist()
        forms = {f: rows[a:b] for f, a, b in zip(z["forms"].tolist(), [0, *ends], ends)}
        return Known(forms)
