"""LangChain objects that are the pipeline itself (needs the `langchain` extra: langchain-core).

    from assistant.integrations.langchain import GuidelineRetriever, as_runnable, llm_chain
    docs = GuidelineRetriever.from_default().invoke("PRP注射前需要停用NSAIDs多久?")   # Documents + citation metadata
    answer = as_runnable().invoke({"turns": ["能做PRP吗?"], "patient": {"pregnant": True}})   # an Answer
    out = llm_chain().invoke("PRP注射前需要停用NSAIDs多久?")  # with an LLM configured (ASSISTANT_LLM_*)

`as_runnable()` is the whole `Assistant.ask` (follow-ups, retrieval, the deterministic guard, cited
composition) as a Runnable; `llm_chain()` is only the optional generator path, retriever -> prompt ->
ChatOpenAI -> post-check, with no guard verdicts on the question: use it to compose, `as_runnable` to answer.
All of them default to one Assistant per process over the default index (built on first use).
"""
from __future__ import annotations

import functools
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough
from pydantic import ConfigDict, PrivateAttr

from ..api import Assistant
from ..serving import make_searcher
from ..language import answer_language, to_simplified, validate_question
from ..llm import MAX_PASSAGES, LLMUnavailable, generator_chain
from ..model import Answer, InputError, ScoredPassage, SourceMeta
from ..retrieve import Searcher
from ..web.rest import BadRequest, parse_ask

__all__ = ["GuidelineRetriever", "as_runnable", "llm_chain", "default_assistant", "to_document"]


@functools.lru_cache(maxsize=1)
def default_assistant() -> Assistant:
    """One Assistant per process over the default settings (ASSISTANT_* / assistant.toml)."""
    return Assistant.load()


def to_document(h: ScoredPassage, meta: SourceMeta | None = None) -> Document:
    """A passage as a Document whose metadata is enough to cite it (title, file, section, character span)."""
    p = h.passage
    return Document(page_content=p.text, id=p.id, metadata={
        "chunk_id": p.id, "doc_id": p.doc_id, "source_title": meta.title if meta else "",
        "original_file": meta.original_file if meta else "", "section": " / ".join(p.section),
        "start": p.start, "end": p.end, "text_en": p.text_en, "score": h.score, "rank": h.rank, **h.scores})


class GuidelineRetriever(BaseRetriever):
    """Any of our searchers as a langchain-core retriever, over an Assistant's live index.

    `searcher` is a Searcher instance, or the name of one ("bm25", "dense", "hybrid"), built for the index
    version serving at each call (so an ingest into a running process is picked up); None is the
    assistant's own. The query gets the same glossary and cross-language expansion as `Assistant.ask`.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)
    assistant: Any
    searcher: Any = None
    k: int = 5
    _built: dict = PrivateAttr(default_factory=dict)

    @classmethod
    def from_default(cls, k: int = 5, searcher: Searcher | str | None = None) -> "GuidelineRetriever":
        return cls(assistant=default_assistant(), searcher=searcher, k=k)

    def _searcher(self) -> Searcher | None:
        if not isinstance(self.searcher, str):
            return self.searcher
        a = self.assistant
        key = (a.index.version, self.searcher)
        if key not in self._built:
            self._built.clear()  # only the serving version's searcher is kept
            self._built[key] = make_searcher(self.searcher, a.index, a.settings)
        return self._built[key]

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun
                                ) -> list[Document]:
        a = self.assistant
        question = to_simplified(validate_question(query, a.settings.max_question_chars))
        with a.pinned():
            hits = a.retrieve(question, self.k, self._searcher())
            return [to_document(h, a.index.sources.get(h.passage.doc_id)) for h in hits]


def _ask_inputs(x: Any, max_turns: int) -> tuple[list[str], dict | None, str]:
    """{turns, patient, audience} (or a bare question string), checked like a POST /api/ask body."""
    if isinstance(x, str):
        x = {"turns": [x]}
    try:
        return parse_ask(x, max_turns)
    except BadRequest as e:
        raise InputError(str(e)) from None


def as_runnable(assistant: Assistant | None = None) -> Runnable:
    """The whole `ask` as a Runnable: input {turns, patient, audience} (or a question), output an Answer."""

    def ask(x: Any) -> Answer:
        a = assistant or default_assistant()
        turns, patient, audience = _ask_inputs(x, a.settings.max_turns)
        return a.ask(turns, patient, audience)

    return RunnableLambda(ask, name="guideline_assistant")


def llm_chain(assistant: Assistant | None = None, llm=None, retriever: BaseRetriever | None = None) -> Runnable:
    """The optional generator path as one LCEL chain: retriever -> prompt -> chat model -> our post-check.

    Input a question; output {"text", "citations", "findings"} where every kept sentence cites a retrieved
    passage and states only numbers in it. `llm` defaults to ChatOpenAI for ASSISTANT_LLM_* settings."""
    a = assistant or default_assistant()
    if llm is None and not a.settings.llm_base_url:
        raise LLMUnavailable("no LLM configured: set ASSISTANT_LLM_BASE_URL (and _MODEL, _API_KEY) or pass llm=")
    retriever = retriever or GuidelineRetriever(assistant=a, k=MAX_PASSAGES)

    def inputs(x: dict) -> dict:
        by_id = a.index.by_id
        passages = [by_id[d.metadata["chunk_id"]] for d in x["docs"] if d.metadata.get("chunk_id") in by_id]
        if not passages:
            raise LLMUnavailable("no passages to answer from")
        return {"question": x["question"], "lang": answer_language(x["question"]), "passages": passages,
                "sources": a.index.sources, "texts": a.index.texts, "rules": a.rules}

    def output(result: tuple) -> dict:
        text, citations, findings = result
        return {"text": text, "citations": citations, "findings": findings}

    question = RunnableLambda(lambda q: {"question": q} if isinstance(q, str) else dict(q), name="question")
    return (question | RunnablePassthrough.assign(docs=(lambda x: x["question"]) | retriever)
            | RunnableLambda(inputs, name="passages") | generator_chain(a.settings, llm)
            | RunnableLambda(output, name="answer"))
