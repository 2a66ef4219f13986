"""The one Python API behind the CLI, the Gradio app and the REST endpoint.

    assistant = Assistant.load()
    answer = assistant.ask(["PRP注射前需要停用NSAIDs多久?"])

Data flows forward once: question -> (follow-up resolution) -> retrieve -> guard -> compose.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from . import guard as guard_mod
from .compose import SEE_ALSO, compose, make_citation, refusal
from .config import Settings
from .crosslingual import expand_query
from .lexicon import GENERIC, PHRASING_EN
from .conversation import resolve
from .embed import Embedder, get_embedder
from .faq import Faq, asks_personal_dose, load_faq
from .glossary import Glossary, install_jieba_terms, install_learnt_terms, load_glossary
from .index import Index, build, current_version
from .language import answer_language, is_traditional, to_simplified, to_traditional, validate_question
from .model import LEVEL_ORDER, Answer, Citation, GuardFinding, InputError, ScoredPassage
from .retrieve import BM25Searcher, DenseSearcher, HybridSearcher, Query, Searcher, SentenceSearcher
from .support import Support, SupportScorer
from .patient import PatientContext

BLOCK_LEAD = {"zh": "不建议：", "en": "Not recommended: "}
EXCLUDED_LEAD = {"zh": "这份指南说明其不涉及这个问题：", "en": "The guideline states that this is outside its scope: "}
WARN_LEAD = {"zh": "注意：", "en": "Caution: "}
FAQ_MIN_MATCH = 0.3  # word-overlap (Jaccard) with a sample question; below it we answer from passages


def make_searcher(kind: str, index: Index, settings: Settings) -> Searcher:
    if kind == "bm25":
        return BM25Searcher(index)
    if kind == "dense":
        return DenseSearcher(index)
    if kind == "hybrid":
        return HybridSearcher(BM25Searcher(index), DenseSearcher(index), settings.candidates, settings.rrf_k,
                              sentence=SentenceSearcher(index) if settings.sentence_search else None)
    raise ValueError(f"unknown retriever {kind!r}: use bm25, dense or hybrid")


@dataclass
class Assistant:
    settings: Settings
    index: Index
    embedder: Embedder
    glossary: Glossary
    searcher: Searcher
    scorer: SupportScorer
    rules: Any
    faq: Faq
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, settings: Settings | None = None, retriever: str | None = None, chunking: str = "sentences",
             build_if_missing: bool = True) -> "Assistant":
        settings = settings or Settings.load()
        glossary_path = str(settings.corpus_dir / "glossary.tsv")
        install_jieba_terms(glossary_path)
        if build_if_missing and current_version(settings, chunking) is None:
            build(settings, chunking)
        index = Index.open(settings, chunking)
        glossary = load_glossary(glossary_path).with_terms(index.learnt_terms)
        install_learnt_terms(glossary)
        rules = guard_mod.load_rulebooks(guard_mod.rule_files(settings), texts=index.texts)
        glossary = glossary.with_interventions({f for r in rules.rules for f in r.interventions
                                                if f.lower() not in r.book.umbrella})
        return cls(settings, index, get_embedder(settings.embedder), glossary,
                   make_searcher(retriever or settings.retriever, index, settings),
                   SupportScorer(index, glossary, index.bilingual), rules,
                   load_faq(str(settings.corpus_dir / "faq.yaml")))

    # -- public API -------------------------------------------------------------------------
    def retrieve(self, question: str, k: int | None = None) -> list[ScoredPassage]:
        return self._search(question, k)[0]

    def _search(self, question: str, k: int | None = None) -> tuple[list[ScoredPassage], Query]:
        expanded = expand_query(self.glossary.expand(question), self.index.bilingual, PHRASING_EN | GENERIC)
        q = Query(question, expanded, self.embedder)
        return self.searcher.search(q, k or self.settings.top_k), q

    def check(self, question: str, patient: dict | PatientContext | None = None, lang: str | None = None):
        question = validate_question(question, self.settings.max_question_chars)
        lang = lang or answer_language(question)
        simplified = to_simplified(question)
        with self._lock:
            pool = self.retrieve(simplified, self.settings.support_k)
        result = guard_mod.check(simplified, patient, lang=lang, rules=self.rules, context_docs=_context_docs(pool))
        cits: list[Citation] = []
        for f in result.findings:
            f.citation = self._quote_citation(f.source_doc, f.source_quote, cits)
        return result

    def ask(self, turns: list[str] | str, patient: dict | PatientContext | None = None,
            audience: str = "clinician") -> Answer:
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        turns = [turns] if isinstance(turns, str) else list(turns)
        if not turns:
            raise InputError("no question given")
        if audience not in ("clinician", "patient"):
            raise InputError(f"audience must be 'clinician' or 'patient', not {audience!r}")
        turns = [validate_question(t, self.settings.max_question_chars) for t in turns]
        question = turns[-1]
        lang = answer_language(question)
        traditional = is_traditional(question)
        simplified = [to_simplified(t) for t in turns]
        resolved = resolve(simplified, int(self.rules.settings.get("elderly_age", 65)))
        timings["prepare"] = _ms(t0)

        t = time.perf_counter()
        n = self.settings.max_answer_sentences if audience == "clinician" else 2
        with self._lock:  # jieba and Chroma clients are shared; keep one query at a time
            pool, q = self._search(resolved.query, max(self.settings.top_k, self.settings.support_k))
            hits = pool[:self.settings.top_k]
            support = self.scorer.score(resolved.query, pool, n, q.vector)
        timings["retrieve"] = _ms(t)

        t = time.perf_counter()
        g = guard_mod.check(resolved.guard_text, patient, lang=lang, rules=self.rules,
                            context_docs=_context_docs(pool))
        findings = list(g.findings)
        timings["guard"] = _ms(t)

        t = time.perf_counter()
        answer = Answer(text="", language=lang, query=resolved.query, passages=hits, level=g.level,
                        audience=audience)
        cits: list[Citation] = []
        text = ""
        supported = self._supported(support)
        if audience == "patient" and supported:
            text, cits = self._faq_answer(resolved.query, lang)
        if not text and supported and self.settings.llm_base_url:
            text, cits, llm_findings = self._llm_answer(resolved.query, lang, hits)
            findings += llm_findings
        if supported and support.excluded is not None and not text:
            text, cits = self._excluded_answer(support.excluded, lang)
            answer.refused = True
        if not text and supported:
            text, cits = compose(resolved.query, lang, support, self.scorer, self.index.sources, self.index.texts, n,
                                 correct_premise=not any(f.level != "none" for f in findings))
            if text and audience == "patient":
                text = self.faq.explain_terms(text, lang)
        if g.info and not any(f.level != "none" for f in findings):
            text = "\n".join(x for x in (text, self._rule_sentences(g.info, lang, cits, text)) if x)
        # When a rule fired, its verdict (led below, with the rule's quote and citation) is the answer.
        if not text and not any(f.level != "none" for f in findings):
            text, see_also = refusal(lang, support.missing, hits, self.index.sources, self.index.texts)
            answer.refused, answer.see_also = True, see_also
            # Sections only: a neighbouring passage's numbers must not appear next to a refusal.
            text += "\n" + SEE_ALSO[lang] + "".join(
                f"\n- {c.source_title} · {' / '.join(c.section)}" for c in see_also)
        if audience == "patient":
            if asks_personal_dose(question):
                text = self.faq.personal_dose[lang] + "\n" + text
            text += "\n\n" + self.faq.safety[lang]
        for f in findings:
            f.citation = self._quote_citation(f.source_doc, f.source_quote, cits)
        answer.citations = cits
        supporting = [c.quote + " " + c.quote_en for c in cits + answer.see_also]
        findings += guard_mod.check_answer(text, supporting, self.rules, question=resolved.query)
        answer.findings = findings
        answer.level = max((f.level for f in findings), key=LEVEL_ORDER.__getitem__, default="none")
        answer.text = (self._lead(findings, lang, audience) + text).strip()
        if traditional:
            answer.text = to_traditional(answer.text)
        timings["compose"] = _ms(t)
        timings["total"] = _ms(t0)
        answer.timings_ms = timings
        return answer

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "corpus_version": self.index.version, "passages": len(self.index.passages),
                "documents": list(self.index.sources), "embedder": self.index.manifest["embedder_name"],
                "chunking": self.index.manifest["chunking"]}

    # -- helpers ----------------------------------------------------------------------------
    def _supported(self, support: Support) -> bool:
        """A sentence gives what was asked, about what was asked, and the chosen sentences cover
        enough of the question; the dense floor applies when a dense retriever ran."""
        dense_ok = support.dense >= self.settings.min_dense_score or isinstance(self.searcher, BM25Searcher)
        return (support.answered and support.coverage >= self.settings.min_term_overlap
                and support.attribute_coverage >= self.settings.min_attribute_coverage and dense_ok)

    def _lead(self, findings: list[GuardFinding], lang: str, audience: str = "clinician") -> str:
        """Guard verdicts lead the answer in plain words, with the rule's quote."""
        lines = []
        for f in sorted(findings, key=lambda f: -LEVEL_ORDER[f.level]):
            if f.level == "none":
                continue
            lead = BLOCK_LEAD[lang] if f.level == "block" else WARN_LEAD[lang]
            if audience == "patient":
                lines.append(f"{lead}{guard_mod.plain_message(f, lang, self.rules)}" + (f" [{f.citation.n}]" if f.citation else ""))
                continue
            ref = f" [{f.citation.n}]" if f.citation else ""
            quote = f"「{f.source_quote}」" if f.source_quote and lang == "zh" else (
                f' (source: "{f.source_quote}")' if f.source_quote else "")
            lines.append(f"{lead}{f.message}{quote}{ref}")
        return ("\n".join(lines) + "\n\n") if lines else ""

    def _llm_answer(self, question: str, lang: str, hits: list[ScoredPassage]
                    ) -> tuple[str, list[Citation], list[GuardFinding]]:
        """Optional LLM wording, post-checked sentence by sentence; on any failure the extractive answer."""
        from .llm import LLMUnavailable, llm_compose

        try:
            return llm_compose(question, lang, hits, self.index.sources, self.index.texts, self.settings, self.rules)
        except LLMUnavailable as e:
            note = {"zh": f"语言模型不可用（{e}），以下为原文摘录。", "en": f"Language model unavailable ({e}); quoting the sources instead."}
            return "", [], [GuardFinding("llm_fallback", "none", note[lang])]

    def _faq_answer(self, question: str, lang: str) -> tuple[str, list[Citation]]:
        """A curated FAQ answer when the question matches one well; its quotes become citations."""
        entry, score = self.faq.match(question, lang)
        if entry is None or score < FAQ_MIN_MATCH:
            return "", []
        cits: list[Citation] = []
        refs = []
        for source, quote in entry.quotes:
            c = self._quote_citation(source, quote, cits)
            if c:
                refs.append(f"[{c.n}]")
        return f"{entry.answer[lang]} {''.join(refs)}", cits

    def _excluded_answer(self, s, lang: str) -> tuple[str, list[Citation]]:
        """The guideline's own statement that the question is outside its scope, cited."""
        cit = make_citation(1, s.passage, s.span, self.index.sources[s.passage.doc_id], self.index.texts[s.passage.doc_id], s.en)
        quote = cit.quote_en if lang == "en" and cit.quote_en else cit.quote
        lead = EXCLUDED_LEAD[lang]
        return f"{lead}{quote} [1]", [cit]

    def _rule_sentences(self, info: list[GuardFinding], lang: str, cits: list[Citation], text: str) -> str:
        """A general question a rule concerns ("孕妇能做PRP吗?") gets the rule's own source sentence,
        cited, as information: no verdict without a described patient, but never a refusal either."""
        lines = []
        for f in {f.source_quote: f for f in info if f.source_quote}.values():
            cit = self._quote_citation(f.source_doc, f.source_quote, cits)
            if cit is None or cit.quote in text or f"[{cit.n}]" in text:
                continue
            lines.append(f"{cit.quote_en if lang == 'en' and cit.quote_en else cit.quote} [{cit.n}]")
        return "\n".join(lines)

    def _quote_citation(self, source: str, quote: str, cits: list[Citation]) -> Citation | None:
        """Point a verbatim quote (rule or FAQ) at the passage containing it, numbered after `cits`."""
        if not quote:
            return None
        doc_id = (source or "").split("/")[-1].split(".")[0]
        text = self.index.texts.get(doc_id)
        if text is None:
            return None
        pos = text.find(quote)
        if pos < 0:
            return None
        span = (pos, pos + len(quote))
        for c in cits:
            if c.doc_id == doc_id and c.start <= span[0] and span[1] <= c.end:
                return c
        for p in self.index.passages:
            if p.doc_id == doc_id and any(s <= span[0] and span[1] <= e for s, e in p.sentences):
                en = next((tr for (s, e), tr in zip(p.sentences, p.sentences_en) if s <= span[0] and span[1] <= e), "")
                cit = make_citation(len(cits) + 1, p, span, self.index.sources[doc_id], text, en)
                cits.append(cit)
                return cit
        return None


CONTEXT_PASSAGES = 3  # the best passages whose documents decide which rules files' defaults hold


def _context_docs(pool: list[ScoredPassage]) -> set[str]:
    return {h.passage.doc_id for h in pool[:CONTEXT_PASSAGES]}


def _ms(t: float) -> float:
    return round((time.perf_counter() - t) * 1000, 2)
