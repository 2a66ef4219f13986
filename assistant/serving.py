"""The serving index version and the live swap: a running Assistant notices a completed build (the CURRENT
pointer changed) on its next request, opens the new version in the background while requests go on with the
old one, and swaps under a lock. Each request pins the version it started with (`pinned`), so it finishes on
one consistent index; the old version's lease is released when its last request ends, and only then may it be
collected (assistant.versions.gc)."""
from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from . import guard as guard_mod
from . import jieba_dict, newwords
from .config import ConfigError, Settings
from .conflicts import VettedScorer
from .glossary import Glossary, install_jieba_terms, install_learnt_terms, load_glossary
from .index import Index
from .lexicon import remember
from .retrieve import BM25Searcher, DenseSearcher, HybridSearcher, Searcher, SentenceSearcher
from .rwlock import RWLock
from .support import SupportScorer
from .versions import current_version, gc

RETRY_FAILED_OPEN_S = 5.0  # a version that failed to open is tried again after this long
log = logging.getLogger("assistant.api")  # the swap's messages keep the logger name they always had


def make_searcher(kind: str, index: Index, settings: Settings) -> Searcher:
    if kind == "bm25":
        return BM25Searcher(index)
    if kind == "dense":
        return DenseSearcher(index)
    if kind == "hybrid":
        return HybridSearcher(BM25Searcher(index), DenseSearcher(index), settings.candidates, settings.rrf_k,
                              sentence=SentenceSearcher(index) if settings.sentence_search else None)
    raise ConfigError(f"unknown retriever {kind!r}: use bm25, dense or hybrid")


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
    jieba_dict.load(settings.data_dir / "cache")
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


class LiveIndex:
    """The live-swap half of Assistant: `_serving` is the version new requests get; `pinned` holds one for a
    request; `poll` / `refresh` pick up a completed build. Needs `settings`, `_retriever`, `_chunking` and
    `_lock` (the jieba lock) on the instance, and `_init_live` called once."""

    settings: Settings
    _serving: Serving
    _retriever: str | None
    _chunking: str
    _lock: RWLock

    def _init_live(self, pointer: Path) -> None:
        self._swap_lock = threading.Lock()  # guards _serving, users/retired and the loader state
        self._local = threading.local()
        self._pointer = pointer
        self._pointer_key: tuple | None = None  # None: the first poll reads the pointer (it may have moved already)
        self._next_check = 0.0
        self._loading = False
        self._failed: tuple[str, float] | None = None  # (version, when) of the last open that failed
        self.swaps = 0  # versions switched to since start (health)

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
            gc(self.settings)
        except Exception as e:  # noqa: BLE001 - best effort: the next build collects again
            log.warning("index garbage collection failed: %s: %s", type(e).__name__, e)
