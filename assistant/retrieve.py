"""Stage 5: find passages for a question (BM25, dense, or both fused) and measure support.

A searcher implements one method, `search(query, k)`. `GuidelineRetriever` wraps any of them as a
langchain-core BaseRetriever so other langchain code can use our index unchanged.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property

import jieba.posseg as pseg
import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .embed import Embedder
from .fusion import rrf
from .glossary import Glossary, form_pattern
from .index import Index, index_text
from .model import Passage, ScoredPassage
from .tokens import content_terms, fold_text, tokenize

_NUMERIC = re.compile(r"[\d.]+|[\d.]*[万亿千百十]+[个]?|[一二两三四五六七八九十百千万亿]+[个位岁]?")


@dataclass
class Query:
    """A question prepared once for every searcher: simplified text, glossary expansion, embedding."""

    text: str
    expanded: str
    embedder: Embedder

    @cached_property
    def tokens(self) -> list[str]:
        return tokenize(self.expanded)

    @cached_property
    def vector(self) -> np.ndarray:
        return self.embedder.embed_query(self.text)


class Searcher:
    name = "base"

    def search(self, query: Query, k: int) -> list[ScoredPassage]:
        raise NotImplementedError


@dataclass
class BM25Searcher(Searcher):
    index: Index
    name: str = "bm25"

    def search(self, query: Query, k: int) -> list[ScoredPassage]:
        vocab = self.index.bm25.vocab_dict
        toks = [t for t in query.tokens if t in vocab]
        if not toks:
            return []
        scores = self.index.bm25.get_scores(toks)
        order = np.argsort(-scores, kind="stable")[:k]
        return [ScoredPassage(self.index.passages[i], float(scores[i]), r + 1, {"bm25": float(scores[i])})
                for r, i in enumerate(order) if scores[i] > 0]


@dataclass
class DenseSearcher(Searcher):
    index: Index
    name: str = "dense"

    def search(self, query: Query, k: int) -> list[ScoredPassage]:
        by_id = self.index.by_id
        hits = self.index.dense_search(query.vector, k)
        return [ScoredPassage(by_id[pid], s, r + 1, {"dense": s}) for r, (pid, s) in enumerate(hits)]


@dataclass
class HybridSearcher(Searcher):
    sparse: Searcher
    dense: Searcher
    candidates: int = 20
    rrf_k: int = 60
    name: str = "hybrid"

    def search(self, query: Query, k: int) -> list[ScoredPassage]:
        lists = [self.sparse.search(query, self.candidates), self.dense.search(query, self.candidates)]
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


@dataclass
class Support:
    """How well the best passages cover the question: the basis of refusal."""

    coverage: float  # idf-weighted share of the question's concepts found in the best passage
    dense: float  # best dense similarity among the results
    missing: list[str] = field(default_factory=list)  # question terms no passage mentions


@dataclass(frozen=True)
class Concept:
    """One thing a question asks about: a glossary term (any of its forms) or a single word."""

    label: str
    pattern: re.Pattern[str] | None = None  # glossary term: matched against the passage text
    token: str = ""  # plain word: matched against the passage's tokens


# Generic question words: they say what kind of answer is wanted, not what it is about, so a
# corpus that never uses them still covers the question.
GENERIC = frozenset("""好处 作用 效果 疗效 区别 优点 缺点 风险 原因 禁用 适合 适用 推荐 建议 注意 注意事项 安全 有效
    情况 方面 问题 结果 证据 指南 资料 介绍 说明 意思 定义 患者 病人 治疗 疗法 方法 主要 哪些 什么样
    医生 计划 方式 这位 这批 准备 膝盖 膝关节 老人 我妈 我爸 一次 一般 大概 正常 合适 可以 能用 使用
    benefit effect effective work difference advantage risk reason recommend recommended advice safe
    suitable guideline evidence patient treatment therapy explain mean say""".split())


def _is_noun(word: str) -> bool:
    """jieba's part-of-speech tag for a Chinese word; English words are never called topics here."""
    if word.isascii():
        return False
    tags = [f for _, f in pseg.lcut(word)]
    return len(tags) == 1 and tags[0] in {"n", "nz", "nr", "ns", "nt", "nw", "vn"}


class SupportScorer:
    """Idf-weighted coverage of a question's concepts by a passage: the basis of refusal."""

    def __init__(self, index: Index, glossary: Glossary) -> None:
        self.glossary = glossary
        self.texts = {p.id: fold_text(index_text(p)) for p in index.passages}
        self.terms = {p.id: content_terms(index_text(p)) for p in index.passages}
        self.n = max(1, len(self.terms))
        self.df: dict[str, int] = {}
        for ts in self.terms.values():
            for t in ts:
                self.df[t] = self.df.get(t, 0) + 1
        # A noun the corpus never mentions (电话, 偏头痛) is what the question is about: it weighs most.
        # Other unknown words (计划, 合适, "put") are phrasing, and weigh like a common word.
        self.unknown_topic_idf = math.log(1 + self.n) * 2.5
        self.unknown_word_idf = 1.0
        self._weights: dict[str, float] = {}

    def concepts(self, question: str) -> list[Concept]:
        found = self.glossary.find(question)
        out = [Concept(t.zh or t.en, pattern=form_pattern(t.forms)) for t in found]
        for c in out:
            question = c.pattern.sub(" ", question)  # type: ignore[union-attr]
        for tok in sorted(content_terms(question, search_mode=False)):
            if not _NUMERIC.fullmatch(tok):  # a patient's own numbers are the guard's business
                out.append(Concept(tok, token=tok))
        return out

    def weight(self, c: Concept) -> float:
        if c.label not in self._weights:
            if c.pattern is not None:
                df = sum(1 for t in self.texts.values() if c.pattern.search(t))
            else:
                df = self.df.get(c.token, 0)
            if df:
                w = math.log(1 + self.n / df)
            elif c.pattern is not None or _is_noun(c.token):
                w = self.unknown_topic_idf
            else:
                w = self.unknown_word_idf
            if c.token in GENERIC:
                w = min(w, 1.0)
            self._weights[c.label] = w
        return self._weights[c.label]

    def covers(self, c: Concept, text: str, terms: set[str]) -> bool:
        return bool(c.pattern.search(text)) if c.pattern is not None else c.token in terms

    def coverage_of(self, concepts: list[Concept], text: str, terms: set[str]) -> tuple[float, list[str]]:
        if not concepts:
            return 0.0, []
        total = sum(self.weight(c) for c in concepts)
        hit = [c for c in concepts if self.covers(c, text, terms)]
        missing = [c.label for c in concepts if c not in hit]
        return sum(self.weight(c) for c in hit) / total, missing

    def score(self, question: str, hits: list[ScoredPassage], top: int = 3) -> Support:
        """Coverage by the best single passage or by the top passages together, whichever is higher."""
        concepts = self.concepts(question)
        views = []
        for h in hits:
            pid = h.passage.id
            views.append((self.texts.get(pid) or fold_text(index_text(h.passage)),
                          self.terms.get(pid) or content_terms(index_text(h.passage))))
        best: tuple[float, list[str]] = (0.0, [c.label for c in concepts])
        union = ("\n".join(t for t, _ in views[:top]), set().union(*[ts for _, ts in views[:top]]))
        for text, terms in views + ([union] if views else []):
            cov = self.coverage_of(concepts, text, terms)
            if cov[0] > best[0]:
                best = cov
        dense = max((h.scores.get("dense", 0.0) for h in hits), default=0.0)
        return Support(best[0], dense, best[1])


class GuidelineRetriever(BaseRetriever):
    """langchain-core adapter: our searchers return `Document`s with score and citation metadata."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    searcher: Searcher
    embedder: Embedder
    glossary: Glossary
    k: int = 5

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun
                                ) -> list[Document]:
        q = Query(query, self.glossary.expand(query), self.embedder)
        return [to_document(h) for h in self.searcher.search(q, self.k)]


def to_document(h: ScoredPassage) -> Document:
    p = h.passage
    return Document(page_content=p.text, id=p.id, metadata={
        "chunk_id": p.id, "doc_id": p.doc_id, "section": " / ".join(p.section), "start": p.start,
        "end": p.end, "text_en": p.text_en, "score": h.score, "rank": h.rank, **h.scores})
