"""The one Python API behind the CLI, the Gradio app and the REST endpoint.

    assistant = Assistant.load()
    answer = assistant.ask(["PRP注射前需要停用NSAIDs多久?"])

Data flows forward once: question -> (follow-up resolution) -> retrieve -> guard -> compose.

Live index swap (assistant.serving): each request pins the index version it started with and finishes on it;
a completed build is picked up on the next request.
"""
from __future__ import annotations

import functools
import time
from dataclasses import replace
from typing import Any

from . import audit
from . import guard as guard_mod
from .attributes import sentence_attributes
from .compose import REFUSAL, SEE_ALSO, compose, make_citation, refusal
from .config import Settings
from .conversation import resolve
from .crosslingual import chinese_groups, corpus_forms, expand_query, query_groups
from .embed import Embedder, get_embedder
from .fusion import interleave
from .faq import Faq, asks_personal_dose, load_faq
from .glossary import Glossary
from .guard.patient import PatientContext
from .guard.leads import BLOCK_LEAD, lead_text  # noqa: F401 - BLOCK_LEAD: the OpenAI adapter's refusal lead
from .guard.rulebook import doc_id as doc_id_of
from .index import Index, build, out_of_date
from .language import answer_language, is_traditional, to_simplified, to_traditional, validate_question
from .lexicon import GENERIC, PHRASING_EN, is_phrasing
from .model import LEVEL_ORDER, Answer, Citation, GuardFinding, InputError, ScoredPassage, Support
from .query_embed import query_embedder
from .retrieve import BM25Searcher, Query, Searcher
from .rwlock import RWLock
from .serving import LiveIndex, Serving, open_serving
from .support import SupportScorer
from .tokens import stand_ins, tokenize
from .versions import pointer_path

CONTRAINDICATION_TOPIC = "禁忌症 禁忌证 contraindication"  # what a contraindication verdict's sources are found by
EXCLUDED_LEAD = {"zh": "这份指南说明其不涉及这个问题：", "en": "The guideline states that this is outside its scope: "}


def check_turns(turns: list, max_turns: int) -> None:
    """Input limits shared by the CLI, REST and the web app: how many turns, and text that is valid
    Unicode (a lone surrogate such as "\\ud800" from JSON, or an undecodable byte of a command-line
    argument, cannot be answered or even printed)."""
    if len(turns) > max_turns:
        raise InputError(f"{len(turns)} turns given; at most {max_turns} are accepted (start a new conversation)")
    for i, t in enumerate(turns):
        if isinstance(t, str):
            try:
                t.encode("utf-8")
            except UnicodeEncodeError as e:
                where = "the question" if i == len(turns) - 1 else f"turn {i + 1}"
                raise InputError(f"{where} is not valid text: character {e.start + 1} is "
                                 f"U+{ord(t[e.start]):04X}, a lone surrogate (invalid UTF-8)") from None


def _pinned(method):
    """Run a public method on one index version from start to end (see `Assistant.pinned`)."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with self.pinned():
            return method(self, *args, **kwargs)
    return run


class Assistant(LiveIndex):
    """The assistant over the live index version; `index`, `searcher`, `scorer`, `rules` and `glossary`
    are those of the version the calling request pinned (else the one serving now)."""

    def __init__(self, settings: Settings, index: Index | Serving, embedder: Embedder, glossary: Glossary | None = None,
                 searcher: Searcher | None = None, scorer: SupportScorer | None = None, rules: Any = None,
                 faq: Faq | None = None, retriever: str | None = None, chunking: str = "sentences"):
        self.settings = settings
        self.embedder = query_embedder(embedder, settings)  # cached, micro-batched query vectors
        self.faq = faq
        self._serving = index if isinstance(index, Serving) else Serving(index, glossary, searcher, scorer, rules)
        self._retriever, self._chunking = retriever, chunking
        # Requests search concurrently (shared); installing a new version's terms into jieba's global
        # dictionary is exclusive. The model serialises itself (query_embed); Chroma clients are thread-safe.
        self._lock = RWLock()
        self._init_live(pointer_path(settings, chunking))

    @classmethod
    def load(cls, settings: Settings | None = None, retriever: str | None = None, chunking: str = "sentences",
             build_if_missing: bool = True) -> "Assistant":
        settings = settings or Settings.load()
        if build_if_missing and out_of_date(settings, chunking):  # also an index an older release built
            build(settings, chunking)
        serving = open_serving(settings, retriever, chunking)
        return cls(settings, serving, get_embedder(settings.embedder),
                   faq=load_faq(str(settings.corpus_dir / "faq.yaml")), retriever=retriever, chunking=chunking)

    # -- public API -------------------------------------------------------------------------
    @_pinned
    def retrieve(self, question: str, k: int | None = None, searcher: Searcher | None = None) -> list[ScoredPassage]:
        """The best `k` (default top_k) passages for a (simplified-Chinese or English) question, best first,
        by `searcher` (default: this index's), all from one index version. Retrieval only: no refusal, no guard.
        Safe from many threads (LangChain's batch): retrieval takes the assistant's lock."""
        with self._lock.shared():
            return self._search(question, k, searcher)[0]

    def _search(self, question: str, k: int | None = None,
                searcher: Searcher | None = None) -> tuple[list[ScoredPassage], Query]:
        q = self._query(question)
        return (searcher or self.searcher).search(q, k or self.settings.top_k), q

    def _query(self, question: str) -> Query:
        """The question prepared for every searcher: expansions, concept groups and what is embedded."""
        skip = PHRASING_EN | GENERIC
        expanded = expand_query(self.glossary.expand(question), self.index.bilingual, skip)
        terms = self.glossary.synonym_groups(question)  # the glossary's and the documents' own term pairs
        groups = terms + query_groups(question, self.index.bilingual, skip)
        zh = [w for w in tokenize(question, search_mode=False) if not w.isascii() and not is_phrasing(w)]
        same = chinese_groups(zh, self.index.synonyms)  # stand-ins: corpus words (index.zipf) for typos
        same += [(w, s) for w in zh for s in stand_ins(question, w, self.index.zipf, self.index.homophones)]
        english = [(w, *(e for e, _ in en)) for w in zh if (en := self.scorer.english_of(w))]  # 痛风 -> gout
        same += english
        if same:  # 怀孕 -> 妊娠, 吃华法林 -> 华法林: the guideline's word for the question's
            expanded += " " + " ".join(dict.fromkeys(w for g in same for w in g[1:]))
            groups += same
        # embedded with the question: the English words of its Chinese ones, the sources' own forms (甲氨蝶呤 -> MTX)
        extra = [e for g in english for e in g[1:]] + corpus_forms(question, terms, self.scorer.mentions.form)
        dense = f"{question} {' '.join(dict.fromkeys(extra))}" if extra else ""
        return Query(question, expanded, self.embedder, tuple(groups), dense)

    @_pinned
    def check(self, question: str, patient: dict | PatientContext | None = None, lang: str | None = None):
        """The guard alone (`assistant check`): a GuardResult for the question and patient, no answer text.

        Promises: deterministic (no model: the same question, patient and rules give the same verdict); every
        finding carries its rule's verbatim guideline quote, pointed at the passage that holds it (`citation`)
        when the index has it; the level is the worst finding's (block > warn > none). Raises InputError for
        a question it cannot read."""
        check_turns([question], self.settings.max_turns)
        question = validate_question(question, self.settings.max_question_chars)
        lang = lang or answer_language(question)
        simplified = to_simplified(question)
        pool = self.retrieve(simplified, self.settings.support_k)
        with self._lock.shared():
            concept_docs = self.scorer.concept_docs(simplified)
        result = guard_mod.check(simplified, patient, lang=lang, rules=self.rules, concept_docs=concept_docs,
                                 context_docs=_context_docs(pool, self.settings.context_passages))
        cits: list[Citation] = []
        for f in result.findings:
            f.citation = self._quote_citation(f.source_doc, f.source_quote, cits)
        return result

    @_pinned
    def ask(self, turns: list[str] | str, patient: dict | PatientContext | None = None,
            audience: str = "clinician") -> Answer:
        """Answer the last of `turns` (earlier turns resolve follow-ups) for a clinician or a patient.

        Promises: every sentence of the text is a source sentence (or its aligned translation) with its [n]
        citation, or a fixed line (guard lead, refusal, safety notice); guard verdicts on the rules lead the
        text with the rule's quote; a question the sources do not answer is refused (`refused`, with "see
        also" sections, never their numbers); numbers not found in a cited source are flagged. The whole
        answer comes from one index version. Raises InputError for input it cannot answer (empty, too long,
        too many turns, invalid text, unknown audience); deterministic for a given index and question."""
        t0 = time.perf_counter()
        turns, lang, traditional, resolved = self._prepare(turns, audience)
        timings = {"prepare": _ms(t0)}

        t = time.perf_counter()
        n = self.settings.max_answer_sentences if audience == "clinician" else self.settings.patient_answer_sentences
        pool, hits, support = self._gather(resolved.query, n)
        timings["retrieve"] = _ms(t)

        t = time.perf_counter()
        with self._lock.shared():
            concept_docs = self.scorer.concept_docs(resolved.query)
        g = guard_mod.check(resolved.guard_text, patient, lang=lang, rules=self.rules, concept_docs=concept_docs,
                            context_docs=_context_docs(pool, self.settings.context_passages))
        findings = list(g.findings)
        if self._contraindicated(findings):  # a patient case with a contraindication is a question about it
            resolved = replace(resolved, query=f"{resolved.query} {CONTRAINDICATION_TOPIC}")
            pool, hits, support = self._gather(resolved.query, n)
        timings["guard"] = _ms(t)

        t = time.perf_counter()
        answer = Answer(text="", language=lang, query=resolved.query, passages=hits, level=g.level,
                        audience=audience, support={"coverage": round(support.coverage, 4), "answered": support.answered,
                                                    "attribute_coverage": round(support.attribute_coverage, 4),
                                                    "dense": round(support.dense, 4)})
        text, cits = self._body(answer, resolved.query, turns[-1], support, g, findings, n)
        self._finish(answer, text, cits, findings, support, resolved.query, traditional)
        timings["compose"] = _ms(t)
        timings["total"] = _ms(t0)
        answer.timings_ms = timings
        audit.log_answer(self.settings, self.index, turns, answer)
        return answer

    def _prepare(self, turns: list[str] | str, audience: str):
        """Validated turns, the answer language, whether to answer in traditional characters, and the
        resolved (simplified) question."""
        turns = [turns] if isinstance(turns, str) else list(turns)
        if not turns:
            raise InputError("no question given")
        if audience not in ("clinician", "patient"):
            raise InputError(f"audience must be 'clinician' or 'patient', not {audience!r}")
        check_turns(turns, self.settings.max_turns)
        turns = [validate_question(t, self.settings.max_question_chars) for t in turns]
        question = turns[-1]
        simplified = [to_simplified(t) for t in turns]
        resolved = resolve(simplified, int(self.rules.elderly_age), self._subjects)  # one turn: asked as is
        return turns, answer_language(question), is_traditional(question), resolved

    def _subjects(self, text: str) -> list[str]:
        """The words of a turn naming what a guideline is about (`ConceptReader.subjects`)."""
        with self._lock.shared():
            return self.scorer.subjects(text)

    def _gather(self, query: str, n: int) -> tuple[list[ScoredPassage], list[ScoredPassage], Support]:
        """The support pool, the top-k hits and the sentences that may answer (at most n)."""
        with self._lock.shared():  # a swap's jieba terms go in between requests, never during one
            pool, q = self._search(query, max(self.settings.top_k, self.settings.support_k))
            pool = interleave(pool, self.scorer.other_language(query, q.vector, pool))
            return pool, pool[:self.settings.top_k], self.scorer.score(query, pool, n, q.vector)

    def _body(self, answer: Answer, query: str, question: str, support: Support, g, findings: list[GuardFinding],
              n: int) -> tuple[str, list[Citation]]:
        """The answer text before the guard lead: FAQ (patients), LLM (if configured), the guideline's own
        out-of-scope statement, or extracted sentences; else a refusal with "see also" sections."""
        lang, audience = answer.language, answer.audience
        cits: list[Citation] = []
        text = ""
        supported = self._supported(support)
        if audience == "patient" and supported:
            text, cits = self._faq_answer(query, lang, support)
        if not text and supported and self.settings.llm_base_url:
            text, cits, llm_findings = self._llm_answer(query, lang, answer.passages)
            findings += llm_findings
        if supported and support.excluded is not None and not text:
            text, cits = self._excluded_answer(support.excluded, lang)
            answer.refused = True
        if not text and supported:
            text, cits = compose(query, lang, support, self.scorer, self.index.sources, self.index.texts, n,
                                 correct_premise=not any(f.level != "none" for f in findings))
            if text and audience == "patient":
                text = self.faq.explain_terms(text, lang)
        if g.info and not any(f.level != "none" for f in findings):
            info, gives = self._rule_sentences(g.info, lang, cits, text, support.attributes)
            if info and not text and not gives:  # "血小板计数低于多少": the rule names the test, not the cut-off asked
                text, answer.refused = REFUSAL[lang].format(missing=""), True
            text = "\n".join(x for x in (text, info) if x)
        # When a rule fired, its verdict (led below, with the rule's quote and citation) is the answer.
        if not text and not any(f.level != "none" for f in findings) and support.excluded is not None:
            text, cits = self._excluded_answer(support.excluded, lang)  # the guideline's own "not covered"
            answer.refused = True
        if not text and not any(f.level != "none" for f in findings):
            text, see_also = refusal(lang, support.missing, answer.passages, self.index.sources, self.index.texts)
            answer.refused, answer.see_also = True, see_also
            # Sections only: a neighbouring passage's numbers must not appear next to a refusal.
            text += "\n" + SEE_ALSO[lang] + "".join(
                f"\n- {c.source_title} · {' / '.join(c.section)}" for c in see_also)
        if audience == "patient":
            if asks_personal_dose(question):
                text = self.faq.personal_dose[lang] + "\n" + text
            text += "\n\n" + self.faq.safety[lang]
        return text, cits

    def _finish(self, answer: Answer, text: str, cits: list[Citation], findings: list[GuardFinding],
                support: Support, query: str, traditional: bool) -> None:
        """Source conflicts and the number check join the findings; citations, level and the led text."""
        lang = answer.language
        answer.conflicts = list(support.withheld)  # sentences contradicting a rule: findings, not facts
        findings += [c.finding(lang) for c in answer.conflicts]
        for f in findings:
            f.citation = self._quote_citation(f.source_doc, f.source_quote, cits)
        answer.citations = cits
        supporting = [c.quote + " " + c.quote_en for c in cits + answer.see_also]
        findings += guard_mod.check_answer(text, supporting, self.rules, question=query)
        answer.findings = findings
        answer.level = max((f.level for f in findings), key=LEVEL_ORDER.__getitem__, default="none")
        answer.text = (lead_text(findings, lang, self.rules, answer.audience) + text).strip()
        if traditional:
            answer.text = to_traditional(answer.text)

    def health(self) -> dict[str, Any]:
        """The version actually serving (after picking up a completed build, like any request)."""
        self.poll()
        index = self._current().index
        return {"status": "ok", "corpus_version": index.version, "passages": len(index.passages),
                "documents": list(index.sources), "embedder": index.manifest["embedder_name"],
                "chunking": index.manifest["chunking"], "built_at": index.manifest.get("built_at"),
                "index_switches": self.swaps, "index_loading": self._loading}

    # -- helpers ----------------------------------------------------------------------------
    def _supported(self, support: Support) -> bool:
        """A sentence gives what was asked, about what was asked, and the chosen sentences cover
        enough of the question; the dense floor applies when a dense retriever ran."""
        dense_ok = support.dense >= self.settings.min_dense_score or isinstance(self.searcher, BM25Searcher)
        return (support.answered and support.coverage >= self.settings.min_term_overlap
                and support.attribute_coverage >= self.settings.min_attribute_coverage and dense_ok)

    def _llm_answer(self, question: str, lang: str, hits: list[ScoredPassage]
                    ) -> tuple[str, list[Citation], list[GuardFinding]]:
        """Optional LLM wording, post-checked sentence by sentence; on any failure the extractive answer."""
        from .llm import LLMUnavailable, llm_compose

        try:
            return llm_compose(question, lang, hits, self.index.sources, self.index.texts, self.settings, self.rules)
        except LLMUnavailable as e:
            note = {"zh": f"语言模型不可用（{e}），以下为原文摘录。", "en": f"Language model unavailable ({e}); quoting the sources instead."}
            return "", [], [GuardFinding("llm_fallback", "none", note[lang])]

    def _faq_answer(self, question: str, lang: str, support: Support) -> tuple[str, list[Citation]]:
        """A curated FAQ answer when the question matches one well and is about the entry's own document
        (the seed FAQ's PRP cost never answers "华法林一盒多少钱"); its quotes become citations."""
        entry, score = self.faq.match(question, lang)
        if entry is None or score < self.settings.faq_min_match:  # below it we answer from passages
            return "", []
        if not self._entry_names_key(entry, question):  # "肩袖撕裂打prp能不能…": not the contraindication entry
            return "", []
        about = {s.passage.doc_id for s, _ in support.chosen}
        if not about & {doc_id_of(source) for source, _ in entry.quotes}:
            return "", []
        cits: list[Citation] = []
        refs = []
        for source, quote in entry.quotes:
            c = self._quote_citation(source, quote, cits)
            if c:
                refs.append(f"[{c.n}]")
        return f"{entry.answer[lang]} {''.join(refs)}", cits

    def _entry_names_key(self, entry, question: str) -> bool:
        """The entry names what the question is most specifically about (its heaviest concept): sharing "打",
        "能不能" and PRP with a sample is not enough."""
        with self._lock.shared():
            key = max((c for c in self.scorer.concepts(question) if self.scorer.weight(c) > 0),
                      key=self.scorer.weight, default=None)
        return key is None or entry.names(key.forms or (key.word, key.token))

    def _excluded_answer(self, s, lang: str) -> tuple[str, list[Citation]]:
        """The guideline's own statement that the question is outside its scope, cited."""
        cit = make_citation(1, s.passage, s.span, self.index.sources[s.passage.doc_id], self.index.texts[s.passage.doc_id], s.en)
        quote = cit.quote_en if lang == "en" and cit.quote_en else cit.quote
        lead = EXCLUDED_LEAD[lang]
        return f"{lead}{quote} [1]", [cit]

    def _contraindicated(self, findings: list[GuardFinding]) -> bool:
        return any(f.level != "none" and (r := self.rules.get(f.rule_id)) is not None and r.kind == "contraindication"
                   for f in findings)

    def _rule_sentences(self, info: list[GuardFinding], lang: str, cits: list[Citation], text: str,
                        asked: list[str]) -> tuple[str, bool]:
        """A general question a rule concerns ("孕妇能做PRP吗?") gets the rule's own source sentence, cited, as
        information: no verdict without a described patient; and whether they give every `asked` attribute."""
        lines, gives = [], False
        for f in {f.source_quote: f for f in info if f.source_quote}.values():
            cit = self._quote_citation(f.source_doc, f.source_quote, cits)
            if cit is None or cit.quote in text or f"[{cit.n}]" in text:
                continue
            lines.append(f"{cit.quote_en if lang == 'en' and cit.quote_en else cit.quote} [{cit.n}]")
            gives = gives or all(a in sentence_attributes(cit.quote) for a in asked)
        return "\n".join(lines), gives

    def _quote_citation(self, source: str, quote: str, cits: list[Citation]) -> Citation | None:
        """Point a verbatim quote (rule or FAQ) at the passage containing it, numbered after `cits`."""
        if not quote:
            return None
        doc_id = doc_id_of(source or "")
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


def _context_docs(pool: list[ScoredPassage], n: int) -> set[str]:
    """Documents of the best `n` passages (Settings.context_passages)."""
    return {h.passage.doc_id for h in pool[:n]}


def _ms(t: float) -> float:
    return round((time.perf_counter() - t) * 1000, 2)
