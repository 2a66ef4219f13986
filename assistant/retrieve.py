"""Stage 5: find passages for a question (BM25, dense, or both fused); support is `support.py`.

A searcher implements one method, `search(query, k)`. `assistant.integrations.langchain.GuidelineRetriever`
wraps any of them as a langchain-core BaseRetriever (langchain-core is an optional extra: nothing here needs it).
"""
from __future__ import annotations

from abc import ABC, abstractmethod

from dataclasses import dataclass, field
from functools import cached_property
from itertools import islice

import numpy as np

from .embed import Embedder
from .fusion import rrf
from .index import Index
from .model import ScoredPassage
from .tokens import tokenize

FORM_CACHE_SIZE = 4096  # synonym forms whose BM25 tokens a searcher remembers

__all__ = ["Query", "Searcher", "BM25Searcher", "DenseSearcher", "SentenceSearcher", "HybridSearcher",
           "GuidelineRetriever", "to_document", "best_first"]


@dataclass
class Query:
    """A question prepared once for every searcher: simplified text, glossary expansion, embedding."""

    text: str
    expanded: str
    embedder: Embedder
    groups: tuple[tuple[str, ...], ...] = ()  # synonymous forms (MTX | 甲氨蝶呤 | methotrexate): one concept each
    # What is embedded, when not the text: a Chinese question with the English of its words, so that an
    # English-language guideline is not outranked by any Chinese passage (e5 favours its own language).
    dense_text: str = ""

    @cached_property
    def tokens(self) -> list[str]:
        return tokenize(self.expanded)

    @cached_property
    def vector(self) -> np.ndarray:
        return self.embedder.embed_query(self.dense_text or self.text)


class Searcher(ABC):
    """One retriever: the k best passages for a query, best first, each with its scores by name."""

    name = "base"

    @abstractmethod
    def search(self, query: Query, k: int) -> list[ScoredPassage]:
        """At most k passages, best first; never raises for an empty or unmatched query."""


@dataclass
class BM25Searcher(Searcher):
    index: Index
    name: str = "bm25"
    _forms: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False, compare=False)  # `_form_tokens`

    def search(self, query: Query, k: int) -> list[ScoredPassage]:
        vocab = self.index.bm25.vocab_dict
        toks = [t for t in query.tokens if t in vocab]
        if not toks:
            return []
        scores = self._scores(toks, query.groups)
        order = islice(best_first(scores, k), k)  # a stable argsort's first k, without sorting every passage
        return [ScoredPassage(self.index.passages[i], float(scores[i]), r + 1, {"bm25": float(scores[i])})
                for r, i in enumerate(order) if scores[i] > 0]

    def _scores(self, toks: list[str], groups: tuple[tuple[str, ...], ...]) -> np.ndarray:
        """BM25 with each group of synonyms scored once, by its best form in each passage: a passage
        that spells out 甲氨蝶呤 (methotrexate，MTX) must not outscore one that just says MTX threefold."""
        bm25 = self.index.bm25
        forms = [[self._form_tokens(f) for f in g] for g in groups]
        grouped = {t for g in forms for f in g for t in f}
        rest = [t for t in toks if t not in grouped]
        scores = bm25.get_scores(rest) if rest else np.zeros(len(self.index.passages))
        for g in forms:
            per_form = [bm25.get_scores(f) for f in g if f]
            if per_form:  # in place: np.max over the list would first copy it into one (forms x passages) array
                best = per_form[0]
                for other in per_form[1:]:
                    np.maximum(best, other, out=best)
                scores = scores + best
        return scores

    def _form_tokens(self, form: str) -> list[str]:
        """A synonym's index tokens, remembered: the glossary's forms come back in question after question
        (one searcher per index version, so a swap's new jieba words start afresh)."""
        cache = self._forms
        if form not in cache:
            if len(cache) >= FORM_CACHE_SIZE:
                cache.clear()
            cache[form] = [t for t in tokenize(form) if t in self.index.bm25.vocab_dict]
        return cache[form]


@dataclass
class DenseSearcher(Searcher):
    index: Index
    name: str = "dense"

    def search(self, query: Query, k: int) -> list[ScoredPassage]:
        by_id = self.index.by_id
        hits = self.index.dense_search(query.vector, k)
        return [ScoredPassage(by_id[pid], s, r + 1, {"dense": s}) for r, (pid, s) in enumerate(hits)]


@dataclass
class SentenceSearcher(Searcher):
    """Dense search over single sentences (vectors stored at index build), returned as their passages:
    in a long guideline one sentence matches a question far better than a 400-character passage."""

    index: Index
    name: str = "sentence"

    @cached_property
    def owners(self) -> list[int]:
        return [i for i, p in enumerate(self.index.passages) for _ in p.sentences]

    def search(self, query: Query, k: int) -> list[ScoredPassage]:
        out: list[ScoredPassage] = []
        seen: set[int] = set()
        for row, sim in self._ranked(query.vector, SENTENCES_PER_PASSAGE * k):
            owner = self.owners[row]
            if owner not in seen:
                seen.add(owner)
                out.append(ScoredPassage(self.index.passages[owner], sim, len(out) + 1, {"sentence": sim}))
                if len(out) >= k:
                    break
        return out

    def _ranked(self, vector: np.ndarray, m: int):
        """(row, similarity) best first: of every row (ranked in full only if the caller reads beyond the
        best m), or, where the build clustered a large corpus's sentences, of the clusters nearest the query."""
        clustered = self.index.sentence_index
        if clustered is not None:
            rows, sims = clustered.candidates(vector, m)
            yield from ((int(rows[i]), float(sims[i])) for i in best_first(sims, m))
            return
        vectors = self.index.sentence_vectors
        if vectors is None or not len(vectors):
            return
        sims = np.asarray(vectors) @ vector
        yield from ((row, float(sims[row])) for row in best_first(sims, m))


SENTENCES_PER_PASSAGE = 8  # rows looked at first per passage wanted; all of them only if too few passages


def best_first(sims: np.ndarray, m: int):
    """Row indexes by descending similarity, ties by row (a stable argsort's order), without sorting every
    row: the best m (and every row tied with the m-th) first, then, only if the caller reads on, the rest."""
    if m >= len(sims):
        yield from np.argsort(-sims, kind="stable")
        return
    cut = sims[np.argpartition(-sims, m - 1)[m - 1]]
    head = np.flatnonzero(sims >= cut)
    head = head[np.lexsort((head, -sims[head]))]
    yield from head
    rest = np.flatnonzero(sims < cut)
    yield from rest[np.lexsort((rest, -sims[rest]))]


@dataclass
class HybridSearcher(Searcher):
    sparse: Searcher
    dense: Searcher
    candidates: int = 20
    rrf_k: int = 60
    name: str = "hybrid"
    sentence: Searcher | None = None  # a third ranking, fused alike

    def search(self, query: Query, k: int) -> list[ScoredPassage]:
        lists = [self.sparse.search(query, self.candidates), self.dense.search(query, self.candidates)]
        if self.sentence is not None:
            lists.append(self.sentence.search(query, self.candidates))
        by_id: dict[str, ScoredPassage] = {}
        for hits in lists:
            for h in hits:
                prev = by_id.setdefault(h.passage.id, ScoredPassage(h.passage, 0.0))
                prev.scores.update(h.scores)
        fused = rrf([[h.passage.id for h in hits] for hits in lists], k=self.rrf_k)
        out = []
        for rank, (pid, score) in enumerate(fused[:k], start=1):
            sp = by_id[pid]
            sp.score, sp.rank = score, rank
            sp.scores["rrf"] = score
            out.append(sp)
        return out
