"""An approximate index of a large corpus's sentence vectors: clusters (k-means over cosine), searched by
comparing the query with the clusters' centres and then, exactly, with the sentences of the nearest few.

Multiplying every sentence vector by the query took 24-28 ms at 121,000 sentences (benchmarks/bench_scale.py,
about one pass over 186 MB); the clusters nearest the query hold a few per cent of them. A Chroma HNSW
collection of the same vectors was tried first: 7 ms per query there, and its best sentence was often not
the best one (the synthetic corpus's many near-copies of each sentence defeat its graph), where these
clusters found the same top 20 as the exact search for 99-100 % of the dev questions. Built only from
`Settings.sentence_index_min` sentences (`index.approximate`): below that every vector is compared.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["DIR", "SentenceIndex", "build", "save", "load"]

DIR = "sentence_index"  # per index version: centres.npy, order.npy, bounds.npy, vectors.npy
PROBE = 12  # clusters searched per query (8: 99 % of the exact top 20 found; 16: 100 %, twice the rows)
TRAIN_SAMPLE = 40_000  # k-means learns its centres from this many sentences, then every one is assigned
TRAIN_ROUNDS = 8
SEED = 5


@dataclass(frozen=True)
class SentenceIndex:
    """`vectors` are the sentence vectors grouped by cluster (a copy, so a cluster is one contiguous slice);
    `order[i]` is the sentence row of `vectors[i]`; cluster c is `bounds[c]:bounds[c + 1]`."""

    centres: np.ndarray
    order: np.ndarray
    bounds: np.ndarray
    vectors: np.ndarray

    def candidates(self, query: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
        """(sentence rows, their exact similarities) of the PROBE clusters nearest the query, and of further
        ones, nearest first, until there are at least m rows."""
        near = np.argsort(-(self.centres @ query), kind="stable")
        picked, rows = [], 0
        for c in near:
            if len(picked) >= PROBE and rows >= m:
                break
            picked.append(c)
            rows += int(self.bounds[c + 1] - self.bounds[c])
        spans = [slice(int(self.bounds[c]), int(self.bounds[c + 1])) for c in picked]
        return (np.concatenate([self.order[s] for s in spans]),
                np.concatenate([self.vectors[s] @ query for s in spans]))


def build(vectors: np.ndarray) -> SentenceIndex:
    """About sqrt(n) clusters: their centres learnt by spherical k-means on a sample, every sentence then
    in the cluster of its nearest centre (deterministic: a fixed seed)."""
    rng = np.random.default_rng(SEED)
    k = max(1, int(np.sqrt(len(vectors))))
    sample = vectors[np.sort(rng.choice(len(vectors), min(TRAIN_SAMPLE, len(vectors)), replace=False))]
    centres = sample[rng.choice(len(sample), k, replace=False)].copy()
    for _ in range(TRAIN_ROUNDS):
        nearest = np.argmax(sample @ centres.T, axis=1)
        for c in range(k):
            members = sample[nearest == c]
            if len(members):  # an empty cluster keeps its centre
                centres[c] = members.mean(axis=0)
        centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    cluster = np.concatenate([np.argmax(vectors[i:i + 20_000] @ centres.T, axis=1)
                              for i in range(0, len(vectors), 20_000)])
    order = np.argsort(cluster, kind="stable")  # by cluster, rows ascending within each
    bounds = np.searchsorted(cluster[order], np.arange(k + 1))
    return SentenceIndex(centres.astype(np.float32), order.astype(np.int64), bounds.astype(np.int64),
                         np.ascontiguousarray(vectors[order], dtype=np.float32))


def save(path: Path, index: SentenceIndex) -> None:
    path.mkdir(parents=True, exist_ok=True)
    for name in ("centres", "order", "bounds", "vectors"):
        np.save(path / f"{name}.npy", getattr(index, name))


def load(path: Path) -> SentenceIndex | None:
    """The version's index, read whole (memory-mapped, each question's clusters were first paged in then:
    p95 22 ms at 121,000 sentences); None when the version has none (a small corpus, an older format)."""
    if not path.is_dir():
        return None
    return SentenceIndex(**{n: np.load(path / f"{n}.npy") for n in ("centres", "order", "bounds", "vectors")})
