"""Stage 6: an extractive answer with inline [n] citations, or a refusal with "see also".

Every sentence of an answer is a source sentence (or its aligned translation), so every number it
states is in the passage its [n] points to. No LLM is involved.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .model import Citation, Passage, ScoredPassage, SourceMeta
from .retrieve import SupportScorer
from .tokens import content_terms, fold_text

_QUANTITY_QUESTION = re.compile(
    r"多少|几|多久|多长|剂量|数量|浓度|比例|时间|阈值|范围|标准|"
    r"how (many|much|long|often)|dose|dosage|amount|number|rate|threshold|range|percent|level", re.I)
_NUMBER = re.compile(r"\d")

# A number is only stated when its own sentence covers most of what was asked (dev-set calibrated).
NUMERIC_MIN_COVERAGE = 0.6
REFUSAL = {
    "zh": "这些指南资料没有涉及这个问题{missing}。为安全起见，这里不给出来源之外的数字或建议；请咨询医生。",
    "en": "The guideline sources here do not cover this question{missing}. To stay safe, no figures or "
          "advice beyond the sources are given; please ask a clinician.",
}
SEE_ALSO = {"zh": "另见（最接近的段落，并未回答该问题）：", "en": "See also (nearest passages; they do not answer the question):"}
TRANSLATION_NOTE = "(English translation of the Chinese guideline text; the Chinese original is authoritative.)"


@dataclass
class Candidate:
    passage: Passage
    span: tuple[int, int]
    text_en: str
    score: float
    order: int
    coverage: float = 0.0
    numeric: bool = False


def make_citation(n: int, passage: Passage, span: tuple[int, int], meta: SourceMeta, text: str,
                  quote_en: str = "") -> Citation:
    return Citation(n=n, chunk_id=passage.id, doc_id=passage.doc_id, source_title=meta.title,
                    original_file=meta.original_file, section=list(passage.section),
                    quote=text[span[0]:span[1]], start=span[0], end=span[1], quote_en=quote_en)


def _candidates(question: str, hits: list[ScoredPassage], scorer: SupportScorer, texts: dict[str, str],
                lang: str) -> list[Candidate]:
    concepts = scorer.concepts(question)
    wants_number = bool(_QUANTITY_QUESTION.search(question))
    out = []
    order = 0
    for h in hits:
        p = h.passage
        section_terms = content_terms(" ".join(p.section))
        ens = p.sentences_en or ("",) * len(p.sentences)
        for span, en in zip(p.sentences, ens):
            zh = texts[p.doc_id][span[0]:span[1]]
            if lang == "en" and not en:
                continue  # an English answer needs the aligned translation of the sentence
            text = fold_text(" ".join(p.section) + " " + zh + " " + en)
            cov, _ = scorer.coverage_of(concepts, text, content_terms(zh + " " + en) | section_terms)
            numeric = bool(_NUMBER.search(zh))
            score = cov + 0.1 / h.rank + (0.15 if wants_number and numeric else 0.0)
            out.append(Candidate(p, span, en, score, order, cov, numeric))
            order += 1
    return sorted(out, key=lambda c: (-c.score, c.order))


def compose(question: str, lang: str, hits: list[ScoredPassage], scorer: SupportScorer,
            sources: dict[str, SourceMeta], texts: dict[str, str], max_sentences: int = 3,
            min_coverage: float = 0.0) -> tuple[str, list[Citation]]:
    """Pick the best-supported sentences; each carries the [n] of the passage that contains it.

    A question asking for an amount is only answered by a sentence that states one and still covers
    the question: otherwise a neighbouring passage's number would be borrowed (returns "").
    """
    cands = _candidates(question, hits, scorer, texts, lang)
    if _QUANTITY_QUESTION.search(question):
        cands = [c for c in cands if c.numeric]
        min_coverage = max(min_coverage, NUMERIC_MIN_COVERAGE)
    if not cands or cands[0].coverage < min_coverage:
        return "", []
    best = cands[0].score
    chosen = [c for c in cands if c.score >= 0.8 * best][:max_sentences]
    chosen.sort(key=lambda c: c.order)  # keep the source's own order: reads like the guideline
    citations: list[Citation] = []
    lines: list[str] = []
    for c in chosen:
        n = len(citations) + 1
        cit = make_citation(n, c.passage, c.span, sources[c.passage.doc_id], texts[c.passage.doc_id], c.text_en)
        citations.append(cit)
        lines.append(f"{c.text_en if lang == 'en' else cit.quote} [{n}]")
    text = "\n".join(lines)
    if lang == "en":
        text += "\n" + TRANSLATION_NOTE
    return text, citations


def refusal(lang: str, missing: list[str], hits: list[ScoredPassage], sources: dict[str, SourceMeta],
            texts: dict[str, str], n: int = 3) -> tuple[str, list[Citation]]:
    miss = ""
    if missing:
        shown = "、".join(missing[:4]) if lang == "zh" else ", ".join(missing[:4])
        miss = f"（资料中未提及：{shown}）" if lang == "zh" else f" (not mentioned: {shown})"
    see_also = []
    for h in hits[:n]:
        p = h.passage
        span = p.sentences[0] if p.sentences else (p.start, p.end)
        en = p.sentences_en[0] if p.sentences_en else ""
        see_also.append(make_citation(len(see_also) + 1, p, span, sources[p.doc_id], texts[p.doc_id], en))
    return REFUSAL[lang].format(missing=miss), see_also
