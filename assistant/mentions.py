"""Which sentences mention a term, a token or a pattern: found once, then looked up.

The same glossary terms and words come back question after question, and a corpus can hold 100,000
sentences (benchmarks/bench_scale.py): a regex per sentence per new term cost 3 s there. Sentences are
named by their `order` (their row in the whole index).
"""
from __future__ import annotations

import bisect
import re
from functools import cached_property

from .model import Sentence

__all__ = ["Mentions"]

_NO_ASCII = dict.fromkeys(range(128))  # str.translate: drop ASCII


class Mentions:
    """Remembered lookups over one index's sentences (`every[i].order == i`)."""

    def __init__(self, every: list[Sentence]) -> None:
        self.every = every
        self._terms: dict[str, frozenset[int]] = {}  # pattern -> sentences whose text it matches
        self._tokens: dict[str, frozenset[int]] = {}  # token -> sentences whose terms include it
        self._texts: dict[str, dict[str, bool]] = {}  # pattern -> {text: matched} for repeated texts

    def term(self, pattern: re.Pattern[str], forms: tuple[str, ...]) -> frozenset[int]:
        """The sentences whose text `pattern` (a glossary term of these `forms`) matches. Texts are folded
        to lower case, so a match needs a lower-cased form as a substring; `str.find` over all texts joined
        finds those sentences at C speed. A caseless (Chinese) form found is a match; the regex confirms the
        rest (word bounds of Latin forms) and checks the few texts with cased non-ASCII letters (μ) whatever
        they hold. The same sentences as `pattern.search` one by one: at 121,000 sentences 0.1 s per new
        term instead of 3 s."""
        if pattern.pattern not in self._terms:
            big, starts, odd = self._haystack
            sure: set[int] = set()
            check = set(odd)
            for f in {f.lower() for f in forms}:
                found = sure if not f.isascii() and f.upper() == f else check  # caseless: a hit is a match
                i = big.find(f)
                while i != -1:
                    r = bisect.bisect_right(starts, i) - 1
                    found.add(r)
                    i = big.find(f, starts[r + 1]) if r + 1 < len(starts) else -1  # on to the next text
            rows = self.every if not forms else [self.every[r] for r in check - sure]
            self._terms[pattern.pattern] = frozenset(sure | {s.order for s in rows if pattern.search(s.text)})
        return self._terms[pattern.pattern]

    @cached_property
    def _haystack(self) -> tuple[str, list[int], frozenset[int]]:
        """Every sentence's text joined by newlines (no form holds one), where each starts, and the texts
        with a cased letter outside ASCII (where re.IGNORECASE may match what lower() hides)."""
        starts, pos = [], 0
        for s in self.every:
            starts.append(pos)
            pos += len(s.text) + 1
        odd = frozenset(i for i, s in enumerate(self.every)
                        if (r := s.text.translate(_NO_ASCII)) and not r.lower() == r.upper() == r)
        return "\n".join(s.text for s in self.every), starts, odd

    def token(self, token: str) -> frozenset[int]:
        """The sentences whose terms include `token` (one scan per token: English words' Chinese
        alternatives, where a sentence with two of them counts once)."""
        if token not in self._tokens:
            self._tokens[token] = frozenset(s.order for s in self.every if token in s.terms)
        return self._tokens[token]

    def matches(self, pattern: re.Pattern[str], text: str) -> bool:
        """pattern.search(text), remembered: section paths and titles repeat across many sentences."""
        seen = self._texts.setdefault(pattern.pattern, {})
        if text not in seen:
            seen[text] = bool(pattern.search(text))
        return seen[text]
