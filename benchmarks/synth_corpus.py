"""Synthetic guideline corpora for benchmarks/bench_scale.py: F times the seed corpus, made of real sentences.

Every synthetic document is Markdown with real section headings and real source sentences (with their aligned
English translations), recombined: sections are drawn from the seed passages, and in about half the sentences
one glossary term is swapped for another term, in Chinese and in the English translation alike. So the text
reads like the seed (vocabulary, length, numbers, bilingual views) but is not a copy of it, and BM25 and the
dense index see realistic term statistics. The seed documents themselves are part of every corpus.

`synthetic_vectors` gives, for corpora too large to embed on 2 cores, vectors derived from the seed's real
vectors (the origin sentence's vector, or the mean over a passage's sentences, plus a little noise) instead of
running the model: bench_scale says so in its output wherever they are used.
"""
from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path

import numpy as np

__all__ = ["SeedSentence", "seed_sentences", "write_corpus", "synthetic_vectors"]


class SeedSentence:
    __slots__ = ("zh", "en", "section", "vector")

    def __init__(self, zh: str, en: str, section: tuple[str, ...], vector: np.ndarray | None):
        self.zh, self.en, self.section, self.vector = zh, en, section, vector


def seed_sentences(index) -> list[list[SeedSentence]]:
    """The seed index's passages as lists of sentences (text, translation, section, real vector)."""
    out, row = [], 0
    vectors = index.sentence_vectors
    for p in index.passages:
        text = index.texts[p.doc_id]
        ens = p.sentences_en or ("",) * len(p.sentences)
        group = []
        for (a, b), en in zip(p.sentences, ens):
            group.append(SeedSentence(text[a:b], en, p.section, None if vectors is None else np.asarray(vectors[row])))
            row += 1
        out.append(group)
    return out


def _swap(s: SeedSentence, terms: list[tuple[str, str]], rng: random.Random) -> tuple[str, str]:
    """The sentence with one glossary term it contains replaced by another term (zh and en alike)."""
    present = [(zh, en) for zh, en in terms if zh in s.zh]
    if not present or rng.random() < 0.5:
        return s.zh, s.en
    old_zh, old_en = rng.choice(present)
    new_zh, new_en = rng.choice(terms)
    en = re.sub(re.escape(old_en), new_en, s.en, flags=re.I) if old_en and s.en else s.en
    return s.zh.replace(old_zh, new_zh), en


def write_corpus(corpus_src: Path, corpus_dst: Path, seed: list[list[SeedSentence]], factor: int,
                 rng_seed: int = 11) -> dict[str, SeedSentence]:
    """corpus_dst = the seed corpus + (factor - 1) x as many synthetic passages; returns synthetic zh -> origin."""
    shutil.rmtree(corpus_dst, ignore_errors=True)
    shutil.copytree(corpus_src, corpus_dst)
    rng = random.Random(rng_seed)
    terms = []
    for line in (corpus_src / "glossary.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) > 2 and cols[1] and cols[2] and " " not in cols[1]:
            terms.append((cols[1], cols[2]))
    origin: dict[str, SeedSentence] = {}
    per_doc = 60  # passages per synthetic document: the seed's size
    todo = (factor - 1) * sum(1 for g in seed if g)
    for d in range((todo + per_doc - 1) // per_doc):
        lines, records, pos = [], [], 0
        title = f"# 合成指南 {d:05d}:再生医学与慢性疼痛(合成)\n\n"
        lines.append(title)
        pos += len(title)
        for _ in range(min(per_doc, todo - d * per_doc)):
            group = rng.choice([g for g in seed if g])
            heading = f"## {' / '.join(group[0].section[-1:]) or '要点'} {rng.randint(1, 999)}\n\n"
            lines.append(heading)
            pos += len(heading)
            for s in group:
                zh, en = _swap(s, terms, rng)
                origin.setdefault(zh, s)
                records.append({"start": pos, "end": pos + len(zh), "zh": zh, "en": en})
                lines.append(zh)
                pos += len(zh)
            lines.append("\n\n")
            pos += 2
        doc_id = f"synthetic-{d:05d}"
        (corpus_dst / "sources" / f"{doc_id}.md").write_text("".join(lines), encoding="utf-8")
        meta = {"doc_id": doc_id, "title": f"合成指南 {d:05d}", "publisher": "synthetic (bench_scale)", "year": 2026,
                "language": "zh", "provenance": "recombined from the seed corpus and glossary; not a guideline",
                "original_file": f"{doc_id}.md", "medical": True}
        (corpus_dst / "sources" / f"{doc_id}.meta.json").write_text(json.dumps(meta, ensure_ascii=False))
        with (corpus_dst / "translations" / f"{doc_id}.en.jsonl").open("w", encoding="utf-8") as fh:
            for r in records:
                fh.write(json.dumps({"doc_id": doc_id, **r}, ensure_ascii=False) + "\n")
    return origin


def synthetic_vectors(passages, texts: dict[str, str], origin: dict[str, SeedSentence], dim: int,
                      rng_seed: int = 5) -> dict[str, np.ndarray]:
    """Model-free vectors for every text a build embeds (zh and en passage views, sentences): a sentence gets
    its origin sentence's real vector, a passage view the mean over its sentences; each plus a little noise."""
    rng = np.random.default_rng(rng_seed)
    known = [s.vector for s in origin.values() if s.vector is not None]

    def noisy(v: np.ndarray) -> np.ndarray:
        v = v + rng.normal(0, 0.02, dim)
        return (v / np.linalg.norm(v)).astype(np.float32)

    out: dict[str, np.ndarray] = {}
    for p in passages:
        sents = [texts[p.doc_id][a:b] for a, b in p.sentences]
        vecs = [origin[x].vector if x in origin and origin[x].vector is not None else known[rng.integers(len(known))]
                for x in sents]
        for x, v in zip(sents, vecs):
            out.setdefault(x, noisy(v))
        mean = np.mean(vecs, axis=0)
        out.setdefault(" / ".join(p.section) + "\n" + p.text, noisy(mean))
        if p.text_en:
            out.setdefault(p.text_en, noisy(mean))
    return out
