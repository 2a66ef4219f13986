"""Domain types shared by every pipeline stage.

They are plain dataclasses so that each stage can be read (and tested) on its own and the
CLI / REST layers can turn them into JSON with `to_dict`.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Level = Literal["none", "warn", "block"]
LEVEL_ORDER: dict[str, int] = {"none": 0, "warn": 1, "block": 2}


class InputError(ValueError):
    """Bad user input (question or document). The CLI prints it on one line and exits 2."""


@dataclass(frozen=True)
class SourceMeta:
    doc_id: str  # stable slug, e.g. "aspn-2024-regenerative-chronic-pain"
    title: str
    publisher: str = ""
    year: int | None = None
    language: str = "zh"
    provenance: str = ""
    original_file: str = ""  # the seed file name evaluators refer to, e.g. 000_e6a413e21e3238c2.txt
    path: str = ""  # where the text lives, relative to the corpus dir
    medical: bool = True
    # provenance, set at build time (assistant.provenance), never trusted from a user's sidecar
    added_by: str = ""  # "seed" (shipped in corpus/sources) | "clinic" (assistant ingest FILE)
    sha256: str = ""  # of the indexed file's bytes
    added_at: str = ""  # date added (YYYY-MM-DD)


@dataclass(frozen=True)
class Segment:
    """A line (or part of one) of the original text that survived noise removal."""

    doc_id: str
    start: int  # character offsets into the original text: text == original[start:end]
    end: int
    text: str
    kind: Literal["heading", "item", "paragraph"]
    section: tuple[str, ...] = ()


@dataclass(frozen=True)
class Removal:
    """Page noise dropped by normalisation, kept for the ingest report."""

    doc_id: str
    start: int
    end: int
    text: str
    reason: str


@dataclass(frozen=True)
class Passage:
    """The unit we index and cite: a run of whole sentences from one section."""

    id: str  # content hash: same text in the same doc -> same id (a repeat: numbered, chunk.content_id)
    doc_id: str
    section: tuple[str, ...]
    start: int
    end: int
    text: str  # Chinese original, == original[start:end] modulo removed noise lines
    text_en: str = ""  # aligned English translation (labelled as such wherever shown)
    sentences: tuple[tuple[int, int], ...] = ()  # sentence spans inside the original text
    sentences_en: tuple[str, ...] = ()  # aligned translation of each sentence ("" where none)


@dataclass
class ScoredPassage:
    passage: Passage
    score: float
    rank: int = 0
    scores: dict[str, float] = field(default_factory=dict)  # per retriever, for the UI and eval


@dataclass
class Citation:
    n: int
    chunk_id: str
    doc_id: str
    source_title: str
    original_file: str
    section: list[str]
    quote: str  # exact substring of the original source text
    start: int
    end: int
    quote_en: str = ""
    added_by: str = ""  # seed | clinic: who added the cited document


@dataclass
class GuardFinding:
    rule_id: str
    level: Level
    message: str
    source_quote: str = ""
    source_doc: str = ""
    citation: Citation | None = None
    assumption: str = ""


@dataclass
class Answer:
    text: str
    language: str
    query: str  # the standalone question actually answered (after follow-up rewriting)
    citations: list[Citation] = field(default_factory=list)
    passages: list[ScoredPassage] = field(default_factory=list)
    findings: list[GuardFinding] = field(default_factory=list)
    level: Level = "none"
    refused: bool = False
    see_also: list[Citation] = field(default_factory=list)
    audience: str = "clinician"
    timings_ms: dict[str, float] = field(default_factory=dict)
    support: dict[str, Any] = field(default_factory=dict)  # the answerability figures behind `refused`
    conflicts: list[Any] = field(default_factory=list)  # assistant.conflicts.Conflict: withheld source sentences

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["passages"] = [
            {
                "chunk_id": sp.passage.id,
                "doc_id": sp.passage.doc_id,
                "section": list(sp.passage.section),
                "text": sp.passage.text,
                "text_en": sp.passage.text_en,
                "start": sp.passage.start,
                "end": sp.passage.end,
                "score": sp.score,
                "rank": sp.rank,
                "scores": sp.scores,
            }
            for sp in self.passages
        ]
        return d


# ----------------------------------------------------------------------------- answerability (`support`)
@dataclass(frozen=True)
class Concept:
    """One thing a question asks about: a glossary term (any of its forms) or a single word."""

    label: str
    pattern: re.Pattern[str] | None = None  # glossary term: matched against the sentence text
    token: str = ""  # plain word: matched against the sentence's tokens (stemmed, typo-corrected)
    intervention: bool = False
    word: str = ""  # the word as asked: its ordinariness is judged on this form
    alts: tuple[str, ...] = ()  # Chinese words the corpus uses for an English word (`crosslingual`)
    forms: tuple[str, ...] = ()  # glossary term: its surface forms (what `pattern` matches)
    en_alts: tuple[str, ...] = ()  # a Chinese word's English on English-language guidelines (stem keys)


@dataclass(frozen=True)
class Sentence:
    """A source sentence prepared once at load: what it mentions and which attributes it gives."""

    passage: Passage
    span: tuple[int, int]
    zh: str
    en: str
    text: str  # folded section path + sentence + translation: what term patterns search
    terms: frozenset[str]
    context: str  # folded section path + document title: the sentence's implied subject
    attrs: frozenset[str]
    order: int  # position in the whole index (row of the sentence vectors)
    pos: int = 0  # position in its passage


@dataclass
class Support:
    """How well the best sentences answer the question: the basis of refusal and of the answer."""

    coverage: float  # weighted share of the question's concepts covered by the chosen sentences
    dense: float  # best dense similarity among the results
    missing: list[str] = field(default_factory=list)  # concepts no chosen sentence mentions
    chosen: list[tuple[Sentence, float]] = field(default_factory=list)  # (sentence, own coverage), best first
    attributes: list[str] = field(default_factory=list)
    answered: bool = False  # an attribute-and-subject-matching sentence exists
    attribute_coverage: float = 1.0  # own coverage of the weakest sentence that gives an asked attribute
    excluded: Sentence | None = None  # the source says it does not cover what was asked
    # Source trust (assistant.conflicts): sentences of the hits that contradict a rule, by (passage id, start,
    # end), never chosen; `withheld`: those the answer would have used, reported as conflict findings.
    conflicts: dict = field(default_factory=dict)
    withheld: list = field(default_factory=list)
