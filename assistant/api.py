"""The one Python API behind the CLI, the Gradio app and the REST endpoint.

    assistant = Assistant.load()
    answer = assistant.ask(["PRP注射前需要停用NSAIDs多久?"])

Data flows forward once: question -> (follow-up resolution) -> retrieve -> guard -> compose.

Live index swap: a running Assistant notices a completed build (the CURRENT pointer changed) on its next
request, opens the new version in the background while requests go on with the old one, and swaps under a
lock. Each request pins the version it started with (`pinned`), so it finishes on one consistent index;
the old version's lease is released when its last request ends, and only then may it be collected.
"""
from __future__ import annotations

import functools
import logging
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Iterator

from . import audit
from . import guard as guard_mod
from .compose import SEE_ALSO, compose, make_citation, refusal
from .config import Settings
from .crosslingual import chinese_groups, expand_query, query_groups
from .lexicon import GENERIC, PHRASING_EN, is_phrasing, remember
from .conversation import resolve
from .embed import Embedder, get_embedder
from .faq import Faq, asks_personal_dose, load_faq
from . import newwords
from .glossary import Glossary, install_jieba_terms, install_learnt_terms, load_glossary
from .homophones import correct
from . import index as index_mod
from .index import Index, build, current_version, pointer_path
from .language import answer_language, is_traditional, to_simplified, to_traditional, validate_question
from .model import LEVEL_ORDER, Answer, Citation, GuardFinding, InputError, ScoredPassage
from .retrieve import BM25Searcher, DenseSearcher, HybridSearcher, Query, Searcher, SentenceSearcher
from .support import Support, SupportScorer
from .tokens import corpus_part, known_word, tokenize
from .conflicts import VettedScorer
from .patient import PatientContext
from .query_embed import query_embedder
from .rwlock import RWLock

BLOCK_LEAD = {"zh": "不建议：", "en": "Not recommended: "}
CONTRAINDICATION_TOPIC = "禁忌症 禁忌证 contraindication"  # what a contraindication verdict's sources are found by
EXCLUDED_LEAD = {"zh": "这份指南说明其不涉及这个问题：", "en": "The guideline states that this is outside its scope: "}
WARN_LEAD = {"zh": "注意：", "en": "Caution: "}
FAQ_MIN_MATCH = 0.3  # word-overlap (Jaccard) with a sample question; below it we answer from passages
RETRY_FAILED_OPEN_S = 5.0  # a version that failed to open is tried again after this long
log = logging.getLogger(__name__)


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
class Serving:
    """One opened index version and everything derived from it; requests pin one for their whole run."""

    index: Index
    glossary: Glossary
    searcher: Searcher
    scorer: SupportScorer
    rules: Any
    users: int = 0  # requests running on it (under Assistant._swap_lock)
    retired: bool = False  # swapped out: released when `users` drops to 0


def open_serving(settings: Settings, retriever: str | None = None, chunking: str = "sentences",
                 jieba_lock: RWLock | threading.Lock | None = None) -> Serving:
    """Open the CURRENT index version (holding its lease) with its glossary, searcher, scorer and rules."""
    glossary_path = str(settings.corpus_dir / "glossary.tsv")
    install_jieba_terms(glossary_path)
    index = Index.open(settings, chunking)
    try:
        remember(index.zipf)  # the corpus's words: no wordfreq lists to load for them
        glossary = load_glossary(glossary_path).with_terms(index.learnt_terms)
        with jieba_lock or threading.Lock():  # exclusive: requests tokenise holding it shared
            install_learnt_terms(glossary)
            newwords.install(index.words)
        rules = guard_mod.load_rulebooks(guard_mod.rule_files(settings), texts=index.texts, indexed_only=True)
        glossary = glossary.with_interventions({f for r in rules.rules for f in r.interventions
                                                if f.lower() not in r.book.umbrella})
        return Serving(index, glossary, make_searcher(retriever or settings.retriever, index, settings),
                       VettedScorer(index, glossary, index.bilingual, rules), rules)
    except BaseException:
        index.close()
        raise


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


class Assistant:
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
        self._swap_lock = threading.Lock()  # guards _serving, users/retired and the loader state
        self._local = threading.local()
        self._pointer = pointer_path(settings, chunking)
        self._pointer_key: tuple | None = None  # None: the first poll reads the pointer (it may have moved already)
        self._next_check = 0.0
        self._loading = False
        self._failed: tuple[str, float] | None = None  # (version, when) of the last open that failed
        self.swaps = 0  # versions switched to since start (health)

    @classmethod
    def load(cls, settings: Settings | None = None, retriever: str | None = None, chunking: str = "sentences",
             build_if_missing: bool = True) -> "Assistant":
        settings = settings or Settings.load()
        if build_if_missing and current_version(settings, chunking) is None:
            build(settings, chunking)
        serving = open_serving(settings, retriever, chunking)
        return cls(settings, serving, get_embedder(settings.embedder),
                   faq=load_faq(str(settings.corpus_dir / "faq.yaml")), retriever=retriever, chunking=chunking)

    # -- the serving version ------------------------------------------------------------------
    def _current(self) -> Serving:
        return getattr(self._local, "serving", None) or self._serving

    index = property(lambda self: self._current().index)
    glossary = property(lambda self: self._current().glossary)
    searcher = property(lambda self: self._current().searcher)
    scorer = property(lambda self: self._current().scorer)
    rules = property(lambda self: self._current().rules)

    @contextmanager
    def pinned(self) -> Iterator[Serving]:
        """Pin the serving version for this thread (nested calls share the outer pin). The first pin of a
        request also checks whether a newer build is there, and starts opening it in the background."""
        outer = getattr(self._local, "serving", None)
        if outer is not None:
            yield outer
            return
        self.poll()
        with self._swap_lock:
            serving = self._serving
            serving.users += 1
        self._local.serving = serving
        try:
            yield serving
        finally:
            self._local.serving = None
            with self._swap_lock:
                serving.users -= 1
                done = serving.retired and serving.users == 0
            if done:
                self._release(serving)

    def _stat_pointer(self) -> tuple | None:
        try:
            st = os.stat(self._pointer)
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def poll(self, wait: bool = False) -> bool:
        """Cheap check of the CURRENT pointer (one stat, at most every `reload_check_s`); when it names
        another version, open it in a background thread (or here, with `wait`). True if one is opening."""
        if not self.settings.reload_index:
            return False
        now = time.monotonic()
        if now < self._next_check and not wait:
            return self._loading
        self._next_check = now + self.settings.reload_check_s
        key = self._stat_pointer()
        if key is None or key == self._pointer_key:
            return self._loading
        version = current_version(self.settings, self._chunking)
        with self._swap_lock:
            if version is None or version == self._serving.index.version:
                self._pointer_key = key
                return self._loading
            if self._loading:
                return True
            if self._failed and self._failed[0] == version and now - self._failed[1] < RETRY_FAILED_OPEN_S:
                return False
            self._loading = True
        if wait:
            self._open_next(key)
        else:
            threading.Thread(target=self._open_next, args=(key,), name="index-reload", daemon=True).start()
        return True

    def refresh(self) -> str:
        """Switch to the CURRENT version now, if it changed; the version serving afterwards."""
        self._next_check = 0.0
        self.poll(wait=True)
        return self._serving.index.version

    def _open_next(self, key: tuple) -> None:
        t0 = time.perf_counter()
        try:
            serving = open_serving(self.settings, self._retriever, self._chunking, self._lock)
        except Exception as e:  # noqa: BLE001 - keep serving the old version; tried again later
            log.warning("could not open the new index version (%s: %s); still serving %s",
                        type(e).__name__, e, self._serving.index.version)
            with self._swap_lock:
                self._failed = (current_version(self.settings, self._chunking) or "", time.monotonic())
                self._loading = False
            return
        with self._swap_lock:
            old = self._serving
            if serving.index.version == old.index.version:  # pointer flipped back meanwhile
                self._pointer_key, self._loading = key, False
                old, serving.retired = serving, True
                done = True
            else:
                self._serving = serving
                self._pointer_key, self._loading, self._failed = key, False, None
                old.retired = True
                done = old.users == 0
                self.swaps += 1
        log.info("index %s now serving (opened in %.1f s)", serving.index.version, time.perf_counter() - t0)
        if done:
            self._release(old)

    def _release(self, serving: Serving) -> None:
        """The last request on a retired version ended: drop its lease, then collect what nobody uses."""
        serving.index.close()
        if self.settings.reload_index:
            threading.Thread(target=self._collect, name="index-gc", daemon=True).start()

    def _collect(self) -> None:
        try:
            index_mod.gc(self.settings)
        except Exception as e:  # noqa: BLE001 - best effort: the next build collects again
            log.warning("index garbage collection failed: %s: %s", type(e).__name__, e)

    # -- public API -------------------------------------------------------------------------
    @_pinned
    def retrieve(self, question: str, k: int | None = None, searcher: Searcher | None = None) -> list[ScoredPassage]:
        """Passages for a (simplified-Chinese or English) question, by `searcher` (default: this index's).
        Safe from many threads (LangChain's batch): retrieval takes the assistant's lock."""
        with self._lock.shared():
            return self._search(question, k, searcher)[0]

    def _search(self, question: str, k: int | None = None,
                searcher: Searcher | None = None) -> tuple[list[ScoredPassage], Query]:
        skip = PHRASING_EN | GENERIC
        expanded = expand_query(self.glossary.expand(question), self.index.bilingual, skip)
        groups = self.glossary.synonym_groups(question) + query_groups(question, self.index.bilingual, skip)
        zh = [w for w in tokenize(question, search_mode=False) if not w.isascii() and not is_phrasing(w)]
        vocab = self.index.zipf  # every corpus word
        joins = [w for w in zh if w not in vocab and not known_word(w)]  # jieba's HMM joins: 吃华法林
        same = chinese_groups(zh, self.index.synonyms) + [(w, p) for w in joins if (p := corpus_part(w, vocab))]
        same += [(w, h) for w in zh if w not in vocab and (h := correct(question, w, self.index.homophones))]
        if same:  # 怀孕 -> 妊娠, 吃华法林 -> 华法林: the guideline's word for the question's
            expanded += " " + " ".join(dict.fromkeys(w for g in same for w in g[1:]))
            groups += same
        q = Query(question, expanded, self.embedder, tuple(groups))
        return (searcher or self.searcher).search(q, k or self.settings.top_k), q

    @_pinned
    def check(self, question: str, patient: dict | PatientContext | None = None, lang: str | None = None):
        check_turns([question], self.settings.max_turns)
        question = validate_question(question, self.settings.max_question_chars)
        lang = lang or answer_language(question)
        simplified = to_simplified(question)
        pool = self.retrieve(simplified, self.settings.support_k)
        result = guard_mod.check(simplified, patient, lang=lang, rules=self.rules, context_docs=_context_docs(pool))
        cits: list[Citation] = []
        for f in result.findings:
            f.citation = self._quote_citation(f.source_doc, f.source_quote, cits)
        return result

    @_pinned
    def ask(self, turns: list[str] | str, patient: dict | PatientContext | None = None,
            audience: str = "clinician") -> Answer:
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        turns = [turns] if isinstance(turns, str) else list(turns)
        if not turns:
            raise InputError("no question given")
        if audience not in ("clinician", "patient"):
            raise InputError(f"audience must be 'clinician' or 'patient', not {audience!r}")
        check_turns(turns, self.settings.max_turns)
        turns = [validate_question(t, self.settings.max_question_chars) for t in turns]
        question = turns[-1]
        lang = answer_language(question)
        traditional = is_traditional(question)
        simplified = [to_simplified(t) for t in turns]
        resolved = resolve(simplified, int(self.rules.settings.get("elderly_age", 65)))
        timings["prepare"] = _ms(t0)

        t = time.perf_counter()
        n = self.settings.max_answer_sentences if audience == "clinician" else 2
        with self._lock.shared():  # a swap's jieba terms go in between requests, never during one
            pool, q = self._search(resolved.query, max(self.settings.top_k, self.settings.support_k))
            hits = pool[:self.settings.top_k]
            support = self.scorer.score(resolved.query, pool, n, q.vector)
        timings["retrieve"] = _ms(t)

        t = time.perf_counter()
        g = guard_mod.check(resolved.guard_text, patient, lang=lang, rules=self.rules,
                            context_docs=_context_docs(pool))
        findings = list(g.findings)
        if self._contraindicated(findings):  # a patient case with a contraindication is a question about it
            resolved = replace(resolved, query=f"{resolved.query} {CONTRAINDICATION_TOPIC}")
            with self._lock.shared():
                pool, q = self._search(resolved.query, max(self.settings.top_k, self.settings.support_k))
                hits = pool[:self.settings.top_k]
                support = self.scorer.score(resolved.query, pool, n, q.vector)
        timings["guard"] = _ms(t)

        t = time.perf_counter()
        answer = Answer(text="", language=lang, query=resolved.query, passages=hits, level=g.level,
                        audience=audience, support={"coverage": round(support.coverage, 4), "answered": support.answered,
                                                    "attribute_coverage": round(support.attribute_coverage, 4),
                                                    "dense": round(support.dense, 4)})
        cits: list[Citation] = []
        text = ""
        supported = self._supported(support)
        if audience == "patient" and supported:
            text, cits = self._faq_answer(resolved.query, lang, support)
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
        if not text and not any(f.level != "none" for f in findings) and support.excluded is not None:
            text, cits = self._excluded_answer(support.excluded, lang)  # the guideline's own "not covered"
            answer.refused = True
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
        answer.conflicts = list(support.withheld)  # sentences contradicting a rule: findings, not facts
        findings += [c.finding(lang) for c in answer.conflicts]
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
        audit.log_answer(self.settings, self.index, turns, answer)
        return answer

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

    def _faq_answer(self, question: str, lang: str, support: Support) -> tuple[str, list[Citation]]:
        """A curated FAQ answer when the question matches one well and is about the entry's own document
        (the seed FAQ's PRP cost never answers "华法林一盒多少钱"); its quotes become citations."""
        entry, score = self.faq.match(question, lang)
        if entry is None or score < FAQ_MIN_MATCH:
            return "", []
        about = {s.passage.doc_id for s, _ in support.chosen}
        if not about & {source.split("/")[-1].split(".")[0] for source, _ in entry.quotes}:
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

    def _contraindicated(self, findings: list[GuardFinding]) -> bool:
        return any(f.level != "none" and (r := self.rules.get(f.rule_id)) is not None and r.kind == "contraindication"
                   for f in findings)

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


CONTEXT_PASSAGES = 3  # the best passages' documents decide whose "no therapy named" default holds


def _context_docs(pool: list[ScoredPassage]) -> set[str]:
    return {h.passage.doc_id for h in pool[:CONTEXT_PASSAGES]}


def _ms(t: float) -> float:
    return round((time.perf_counter() - t) * 1000, 2)
