"""langchain-core adapter over our searchers, kept out of `retrieve` so that answering a question never
imports langchain (and its langsmith tracing): `assistant.retrieve.GuidelineRetriever` loads it on first use."""
from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .embed import Embedder
from .glossary import Glossary
from .model import ScoredPassage
from .retrieve import Query, Searcher

__all__ = ["GuidelineRetriever", "to_document"]


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
