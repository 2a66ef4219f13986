"""What a question asks about: its concepts, read against one index's vocabulary.

A glossary term is one concept whatever form the question uses; every other word is one concept, read as
the corpus spells it (its stem, the nearest corpus word for an English typo, the corpus word inside a
jieba join). Words in the other language get the corpus's words for them: an English word the Chinese
sentences' words (`crosslingual.lookup`), a Chinese word the English of an English-language guideline
(`crosslingual.english_for`). `SupportScorer` reads questions through this mixin.
"""
from __future__ import annotations

import difflib
import re

import numpy as np

from .attributes import asking_spans, within
from .crosslingual import english_for, lookup
from .glossary import form_pattern
from .lexicon import is_ordinary, question_words
from .model import Concept, ScoredPassage, Sentence
from .retrieve import best_first
from .tokens import CJK, inflection_bases, known_word, stand_ins, stem

__all__ = ["ConceptReader"]

CONCEPT_CACHE_SIZE = 2048  # recent questions whose concepts a scorer remembers
LATIN_SHARE = 0.9  # of a document's sentences without Chinese that make it an English-language guideline
TYPO_CUTOFF = 0.85  # difflib ratio of an English typo to the corpus word it stands for (responce -> response)
TYPO_LENGTHS = TYPO_CUTOFF / (2 - TYPO_CUTOFF)  # shorter / longer at least this, or the ratio cannot reach it
GLUE_FREQ = 10_000  # jieba dictionary count of a character or word read as glue: 吃 36,799, 喝 10,053; 髋 30, 腰 3,532
# Sentences of the other language's guidelines that join the pool of a Chinese question (e5 ranks any
# Chinese passage above an English one, so the hybrid's pool would hold none of them).
OTHER_LANGUAGE_POOL = 5
_NUMERIC_TOKEN = re.compile(r"[\d.]+|[\d.]*[万亿千百十]+[个]?|[一二两三四五六七八九十百千万亿]+[个位岁]?")


def _inside(text: str, word: str, spans: list[tuple[int, int]]) -> bool:
    """Every occurrence of a Chinese word lies inside one of the spans."""
    starts = [m.start() for m in re.finditer(re.escape(word), text)] if not word.isascii() else []
    return bool(starts) and all(within(i, i + len(word), spans) for i in starts)


def _glue(rest: str) -> bool:
    """What a compound adds to its corpus part is everyday glue (打针 -> 针), not a qualifier that makes it
    another thing: 髋关节 is not any 关节, 类风湿关节炎 not any 关节炎 (the head of a Chinese compound is last)."""
    import jieba

    return bool(rest) and jieba.dt.FREQ.get(rest, 0) >= GLUE_FREQ


class ConceptReader:
    """Reads questions; also finds an English-language guideline's sentences for a Chinese one (`other_language`).
    Needs `glossary`, `df` (term -> sentences), `bilingual`, `synonyms`, `homophones`, `_en_vocab`, `_every`
    (the index's sentences), `vectors` (theirs), `_typos` and `_concepts` (empty dicts), `doc_freq`, `weight`,
    `subject_doc` and `_mentions` on the class that mixes it in."""

    def concepts(self, question: str) -> list[Concept]:
        """The question's concepts, remembered: one ask reads the same question for its answer, its guard
        (`concept_docs`), a follow-up's subjects and the patient FAQ."""
        memo = self._concepts
        if question not in memo:
            if len(memo) >= CONCEPT_CACHE_SIZE:
                memo.clear()
            memo[question] = tuple(self._read(question))
        return list(memo[question])

    def _read(self, question: str) -> list[Concept]:
        found = self.glossary.find(question)
        out = []
        for t in found:
            forms = t.forms + self.glossary.narrower(t)  # 干细胞 is also said "MSCs"
            out.append(Concept(t.zh or t.en, pattern=form_pattern(forms), intervention=t.kind == "intervention",
                               forms=forms))
        for c in out:
            question = c.pattern.sub(" ", question)  # type: ignore[union-attr]
        seen = set()
        words = question_words(question, self.df)
        alts = lookup(self.bilingual, [w for w in words if w.isascii()])
        asking = asking_spans(question)
        for word in words:
            if word not in self.df and _inside(question, word, asking):
                continue  # 多长时间, 几个月: how it asks, carried by the attribute
            token = self._known(word)
            if token not in self.df:  # 吃华法林, 华发林 -> 华法林
                token = next(iter(stand_ins(question, word, self.df, self.homophones)), token)
            if token not in seen and not _NUMERIC_TOKEN.fullmatch(word):  # numbers are the guard's business
                seen.add(token)
                alt = alts.get(word, ()) if word.isascii() else () if token in self.df else self.synonyms.get(word, ())
                en = tuple(k for _, k in self.english_of(word))
                out.append(Concept(word, token=token, word=word, alts=tuple(alt), en_alts=en))
        return out

    def _domain(self, c: Concept) -> bool:
        """A domain concept the corpus has (a term, or a word rare in general language): the question asks
        about something even when its idf is low, as a guideline's own drug is in nearly every sentence
        (华法林 in "喂奶期间能吃华法林吗": idf 1.0 in the warfarin consensus)."""
        return self.weight(c) > 0 and self.doc_freq(c) > 0 and (c.pattern is not None or not is_ordinary(c.word))

    def subjects(self, text: str) -> list[str]:
        """The words of a turn naming what a guideline is about (what a follow-up borrows or swaps): an
        intervention, a term a document taught (羟考酮（oxycodone）), or a concept nearly all of whose many
        mentions are in one document (华法林)."""
        out: list[str] = []
        learnt = {t.zh or t.en for t in self.glossary.find(text) if ":" in t.id}  # ids "doc:i" (`with_terms`)
        for c in self.concepts(text):
            if c.intervention or (c.pattern is not None and c.label in learnt) or (
                    self.subject_doc(c) and not (c.word and is_ordinary(c.word))):
                out += [m.group(0) for m in c.pattern.finditer(text)] if c.pattern is not None else [c.word]
        return [w for w in out if w and w in text]

    def concept_docs(self, question: str) -> tuple[frozenset[str], ...]:
        """For each concept of the question that weighs anything, the documents that mention it (none for
        痛风 over regenerative-medicine texts): a rule's default speaks only where its documents have them all."""
        return tuple(frozenset(d for d, n in self._mentions(c).items() if n) for c in self.concepts(question)
                     if self.weight(c) > 0)

    @property
    def latin(self) -> frozenset[int]:
        """Sentences (by order) of English-language guidelines: documents whose sentences, nearly all
        (`LATIN_SHARE`), have no Chinese; not a Chinese text's English author line or abstract."""
        if getattr(self, "_latin", None) is None:
            by_doc: dict[str, list[Sentence]] = {}
            for s in self._every:
                by_doc.setdefault(s.passage.doc_id, []).append(s)
            english = {d: [s.order for s in ss if not CJK.search(s.zh)] for d, ss in by_doc.items()}
            self._latin = frozenset(o for d, orders in english.items() if len(orders) >= LATIN_SHARE * len(by_doc[d])
                                    for o in orders)
            self._latin_vocab = frozenset(t for s in self._every if s.order in self._latin for t in s.terms)
            self._english: dict[str, list[tuple[str, str]]] = {}
        return self._latin

    def other_language(self, question: str, qvec, pool: list[ScoredPassage]) -> list[ScoredPassage]:
        """The passages of the English-language guidelines' best `OTHER_LANGUAGE_POOL` sentences for a Chinese
        question, those the pool lacks, ranked after it."""
        if qvec is None or self.vectors is None or not self.latin or not CJK.search(question):
            return []
        rows = getattr(self, "_latin_rows", None)
        if rows is None:
            rows = self._latin_rows = np.fromiter(sorted(self.latin), dtype=np.int64)
        sims = np.asarray(self.vectors[rows] @ qvec)
        have = {h.passage.id for h in pool}
        out: list[ScoredPassage] = []
        for i in best_first(sims, OTHER_LANGUAGE_POOL):  # a stable argsort's order, without sorting every row
            p = self._every[int(rows[i])].passage
            if p.id not in have:
                have.add(p.id)
                out.append(ScoredPassage(p, float(sims[i]), len(pool) + len(out) + 1, {"sentence": float(sims[i])}))
            if len(out) >= OTHER_LANGUAGE_POOL:
                break
        return out

    def english_of(self, word: str) -> list[tuple[str, str]]:
        """(surface, stem key) of a Chinese word in the English-language guidelines' words; none without such."""
        if word.isascii() or not self.latin:
            return []
        if word not in self._english:
            self._english[word] = english_for(word, self._latin_vocab)
        return self._english[word]

    def _anagram(self, word: str) -> str:
        """The corpus word with the same characters in another order (氨甲蝶呤, an older name of 甲氨蝶呤)."""
        if len(word) < 3:
            return ""
        if getattr(self, "_by_letters", None) is None:
            self._by_letters = {}
            for t in self.df:
                if len(t) >= 3 and not t.isascii():
                    self._by_letters.setdefault("".join(sorted(t)), t)
        return self._by_letters.get("".join(sorted(word)), "")

    def _known(self, word: str) -> str:
        """The corpus token for a question word: its stem, or the nearest corpus word for an English typo."""
        token = stem(word) if word.isascii() else word
        if token in self.df or len(word) < 3:
            return token
        if not word.isascii():  # a colloquial compound (膝盖骨): its longest part the corpus knows
            import jieba

            if not known_word(word):  # a jieba join (吃华法林): `stand_ins`
                return token
            parts = [t for t in jieba.cut_for_search(word) if len(t) > 1 and t != word and t in self.df
                     and (word.startswith(t) or _glue(word.replace(t, "", 1)))]
            return max(parts, key=len) if parts else self._anagram(word) or token
        if base := next((b for b in map(stem, inflection_bases(word)) if b in self.df), ""):
            return base  # dosed -> dose: the corpus has the word, not this form of it
        if len(word) < 5:
            return token
        if token not in self._typos:
            # A ratio of 0.85 needs lengths within 0.74 of each other: only those words are compared.
            near = [w for w in self._en_vocab if TYPO_LENGTHS * len(w) <= len(token) and TYPO_LENGTHS * len(token) <= len(w)]
            close = difflib.get_close_matches(token, near, n=1, cutoff=TYPO_CUTOFF)
            self._typos[token] = close[0] if close else token
        return self._typos[token]
