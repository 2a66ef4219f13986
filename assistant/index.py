"""Stage 4: build and open index versions (passages + BM25 + one Chroma collection per embedder).

A build writes everything into a new version directory and flips `CURRENT` (an atomic rename)
only when it is complete, so an interrupted ingest leaves the previous index serving.

Versions are shared with running servers: whoever opens a version holds a lease on it (assistant.lease),
and garbage collection removes only versions, collections and `.tmp-<version>-<pid>` builds nobody can
still be using (no lease, no pointer, the building process gone). A server that has a version open keeps
answering from it while a build runs, then switches on its next request (Assistant.refresh).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
import weakref
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

import bm25s
import numpy as np
from tqdm import tqdm

from . import homophones, ingest_journal, jieba_dict, lease, mentions, newwords, sentence_features, sentence_index
from .config import Settings
from .crosslingual import GLOSS_FILE, SYNONYM_FILE, corpus_dictionary, glosses, synonyms
from .documents import prepare, source_paths
from .embed import AssistantEmbeddingFunction, EmbeddingCache, get_embedder
from .glossary import install_jieba_terms, install_learnt_terms, load_glossary
from .loaders import DocumentError
from .model import Passage, Removal, SourceMeta
from .tokens import tokenize
from .versions import (chroma_client, chunking_label, collect, collection_exists, collection_name, current_version,
                       flip, is_complete)

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
INDEX_FORMAT = 17  # 2: understood.json (ingest report, learnt terms); 3: bilingual.json; 4: sentences.npy;
# 5: sentence_features.json (terms and attributes of every sentence, so a load does no jieba work), zipf.json
# 6: provenance in sources.json (added_by, sha256, added_at); 7: glosses.json (English glosses of corpus words);
# 8: synonyms.json (Chinese words the corpus lacks -> its words of the same meaning); 9: words.json; 10: dose and minute attributes;
# 11: homophones.json (sound keys of corpus terms, for typos like 华发林); 12: mentions.npz (the sentences of
# the glossary's forms), sentence_index/ (a large corpus's sentence vectors in clusters); 13: frequency attribute;
# 14: maximum and volume attributes; 15: threshold attribute; 16: a time of day is a duration ("下午或晚上");
# 17: grade attribute ("证据等级：C")


@dataclass
class BuildReport:
    version: str
    built: bool  # False when the current index was already up to date
    documents: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "path: reason"
    removals: list[Removal] = field(default_factory=list)
    passages: int = 0
    seconds: float = 0.0
    understood: list[dict] = field(default_factory=list)  # per document: what ingest made of it (`understanding`)
    notes: list[str] = field(default_factory=list)  # e.g. a --force rebuild skipped: the version is being served
    embedded: int = 0  # texts the model embedded (not in the cache), and the seconds it spent on them
    embed_s: float = 0.0


def index_text(p: Passage) -> str:
    """What BM25 and the embedder see: section path, Chinese text and its English translation."""
    return " / ".join(p.section) + "\n" + p.text + ("\n" + p.text_en if p.text_en else "")


def approximate(settings: Settings, passages: list[Passage]) -> bool:
    """Whether the version has an approximate sentence index (`Settings.sentence_index_min`)."""
    n = sum(len(p.sentences) for p in passages)
    return n > 0 and n >= settings.sentence_index_min


def _version_hash(settings: Settings, chunking: str, passages: list[Passage], metas: list[SourceMeta]) -> str:
    h = hashlib.sha1(f"{INDEX_FORMAT}|{settings.embedder}|{chunking_label(settings, chunking)}".encode())
    h.update(b"|sentence-index" if approximate(settings, passages) else b"")
    for m in metas:
        h.update(json.dumps(asdict(m), sort_keys=True, ensure_ascii=False).encode())
    for p in passages:
        h.update(f"{p.id}|{p.text_en}|{p.start}|{'/'.join(p.section)}".encode())
    return h.hexdigest()[:12]


def out_of_date(settings: Settings, chunking: str = "sentences") -> bool:
    """No CURRENT version, or one an older release built (its manifest's format is not INDEX_FORMAT): what
    it stores is not what this code reads (a new attribute, a new file), so answers would quietly differ."""
    version = current_version(settings, chunking)
    if version is None:
        return True
    try:
        return json.loads((settings.index_root / version / "manifest.json").read_text()).get("format") != INDEX_FORMAT
    except (OSError, ValueError):
        return False  # collected or being replaced under us: `Index.open` deals with it


def build(settings: Settings, chunking: str = "sentences", progress: bool | None = None,
          force: bool = False) -> BuildReport:
    """Index every source document as a new version and make it CURRENT (atomically, once complete); an
    unchanged corpus is not rebuilt (unless `force`), and a version a running server reads is never
    rebuilt under it. Leftovers nobody uses are collected either way."""
    t0 = time.perf_counter()
    ingest_journal.recover(settings)  # files a killed ingest copied into the library are not indexed
    jieba_dict.load(settings.data_dir / "cache")
    install_jieba_terms(str(settings.corpus_dir / "glossary.tsv"))
    metas, texts, passages, removals, skipped, understood = prepare(settings, source_paths(settings), chunking)
    if not passages:
        raise DocumentError("no indexable documents found under " + str(settings.corpus_dir / "sources"))
    version = _version_hash(settings, chunking, passages, metas)
    report = BuildReport(version, built=False, documents=[m.doc_id for m in metas], skipped=skipped,
                         removals=removals, passages=len(passages), understood=understood)
    final = settings.index_root / version
    if not force and is_complete(final) and current_version(settings, chunking) == version:
        collect(settings, chroma_client(settings), keep={version})  # a killed build's leftovers go even so
        report.seconds = time.perf_counter() - t0
        return report
    settings.index_root.mkdir(parents=True, exist_ok=True)
    client = chroma_client(settings)
    reused, held = _reuse(settings, chunking, report, client, force) if is_complete(final) else (False, None)
    if reused:
        report.seconds = time.perf_counter() - t0
        return report
    try:
        return _build_version(settings, chunking, progress, report, metas, texts, passages, removals, understood,
                              client, held, t0)
    finally:
        if held is not None:
            held.release()


def _reuse(settings: Settings, chunking: str, report: BuildReport, client, force: bool
           ) -> tuple[bool, "lease.Lease | None"]:
    """A complete copy of this version is on disk. If someone reads it (a server kept it alive), it is never
    rebuilt under them: it is what this build would produce, so point at it (True). Else it is rebuilt in place
    (--force, or its collection is missing), holding it exclusively so nobody opens it half-made: (False, our
    exclusive lease on it, held from before the rename until the pointer flip)."""
    root, version = settings.index_root, report.version
    final = root / version
    held = lease.acquire(root, version, exclusive=True, blocking=False)
    if held is not None and (force or not collection_exists(settings, client, final)):
        return False, held
    if held is not None:
        held.release()
    reader = lease.acquire(root, version)
    try:
        if is_complete(final) and collection_exists(settings, client, final):
            if force:
                report.notes.append(f"index {version} is in use by a running process; "
                                    "kept as it is instead of rebuilding it (stop the server to force)")
            report.built = current_version(settings, chunking) != version
            flip(settings, chunking, version)
            collect(settings, client, keep={version})
            return True, None
    finally:
        reader.release()
    return False, lease.acquire(root, version, exclusive=True, blocking=False)  # collected meanwhile: build it


def _build_version(settings: Settings, chunking: str, progress: bool | None, report: BuildReport,
                   metas: list[SourceMeta], texts: dict[str, str], passages: list[Passage],
                   removals: list[Removal], understood: list[dict], client, held: "lease.Lease | None",
                   t0: float) -> BuildReport:
    version = report.version
    final = settings.index_root / version
    tmp = settings.index_root / f".tmp-{version}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "docs").mkdir(parents=True)

    embedder = get_embedder(settings.embedder)
    views, vectors, sentence_vectors = _embed(settings, embedder, passages, texts, progress, report)
    name = _fill_collection(settings, client, version, views, vectors)
    _write_lexical(settings, tmp, passages, texts, understood)

    # 4. passages, documents, report, manifest; then the atomic switch
    with (tmp / "passages.jsonl").open("w", encoding="utf-8") as fh:
        for p in passages:
            fh.write(json.dumps(asdict(p), ensure_ascii=False) + "\n")
    for doc_id, text in texts.items():
        (tmp / "docs" / f"{doc_id}.txt").write_text(text, encoding="utf-8")
    (tmp / "sources.json").write_text(json.dumps([asdict(m) for m in metas], ensure_ascii=False, indent=1))
    zh_vocab = {t for p in passages for t in tokenize(p.text) if not t.isascii()}
    (tmp / "bilingual.json").write_text(json.dumps(corpus_dictionary(zh_vocab), ensure_ascii=False), encoding="utf-8")
    learnt = [t for u in understood for t in u.get("terms", [])]
    (tmp / GLOSS_FILE).write_text(json.dumps(glosses(zh_vocab, learnt), ensure_ascii=False), encoding="utf-8")
    (tmp / SYNONYM_FILE).write_text(json.dumps(synonyms(zh_vocab), ensure_ascii=False), encoding="utf-8")
    np.save(tmp / "sentences.npy", np.asarray(sentence_vectors, dtype=np.float32))
    if approximate(settings, passages):
        sentence_index.save(tmp / sentence_index.DIR, sentence_index.build(np.asarray(sentence_vectors, np.float32)))
    (tmp / "understood.json").write_text(json.dumps(understood, ensure_ascii=False, indent=1), encoding="utf-8")
    with (tmp / "removals.jsonl").open("w", encoding="utf-8") as fh:
        for r in removals:
            fh.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")
    manifest = {"version": version, "format": INDEX_FORMAT, "embedder": settings.embedder,
                "embedder_name": embedder.name, "collection": name,
                "chunking": chunking_label(settings, chunking), "passages": len(passages),
                "documents": [m.doc_id for m in metas], "built_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    # leased from before the rename to after the flip: another build's garbage collection never sees it unowned
    mine = lease.acquire(settings.index_root, version) if held is None else None
    try:
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        flip(settings, chunking, version)
        collect(settings, client, keep={version})
    finally:
        if mine is not None:
            mine.release()
    report.built = True
    report.seconds = time.perf_counter() - t0
    return report


def _embed(settings: Settings, embedder, passages: list[Passage], texts: dict[str, str], progress: bool | None,
           report: BuildReport) -> tuple[list[tuple[str, str]], np.ndarray, np.ndarray]:
    """1. embed (cached by content hash) the zh and en views of every passage, and every sentence: the answer
    is chosen sentence by sentence (support.py). (views, their vectors, the sentence vectors)."""
    cache = EmbeddingCache(settings.data_dir / "embed-cache.sqlite")
    views = [(p.id + ":zh", " / ".join(p.section) + "\n" + p.text) for p in passages]
    views += [(p.id + ":en", p.text_en) for p in passages if p.text_en]
    show = sys.stderr.isatty() if progress is None else progress
    with tqdm(total=len(views), desc="embedding passages", unit="passage", disable=not show) as bar:
        vectors = cache.embed(embedder, [v for _, v in views], "passage", progress=bar)
    sentences = [texts[p.doc_id][a:b] for p in passages for a, b in p.sentences]
    with tqdm(total=len(sentences), desc="embedding sentences", unit="sentence", disable=not show) as bar:
        sentence_vectors = cache.embed(embedder, sentences, "passage", progress=bar)
    report.embedded, report.embed_s = cache.embedded, cache.embed_s
    return views, vectors, sentence_vectors


def _fill_collection(settings: Settings, client, version: str, views: list[tuple[str, str]], vectors) -> str:
    """2. the Chroma collection named by embedder + version (switching models never mixes vectors); its name.
    Nobody reads it: its version dir does not exist yet, or we hold that version exclusively."""
    name = collection_name(settings, version)
    try:
        client.delete_collection(name)
    except Exception:  # noqa: BLE001 - absent collection: nothing to delete
        pass
    coll = client.create_collection(name, embedding_function=AssistantEmbeddingFunction(settings.embedder),
                                    metadata={"hnsw:space": "cosine"})
    for i in range(0, len(views), 500):
        part = views[i:i + 500]
        coll.add(ids=[k for k, _ in part], embeddings=vectors[i:i + 500].tolist(),
                 documents=[v for _, v in part],
                 metadatas=[{"passage_id": k.split(":")[0], "view": k.split(":")[1]} for k, _ in part])
    return name


def _write_lexical(settings: Settings, tmp: Path, passages: list[Passage], texts: dict[str, str],
                   understood: list[dict]) -> None:
    """3. BM25 over jieba tokens of both languages (learnt terms and the corpus's new words kept whole, as at
    query time), the sentence features (terms and attributes of every sentence) with the corpus's word frequencies,
    the sound keys of its terms (homophones: typos like 华发林), and the sentences of its glossary forms."""
    glossary = load_glossary(str(settings.corpus_dir / "glossary.tsv")).with_terms(
        [(u["doc_id"], t) for u in understood for t in u["terms"]])
    install_learnt_terms(glossary)
    words = newwords.discover([p.text for p in passages])  # 华法林: jieba would cut it, or glue it to 吃
    newwords.install(words)
    (tmp / newwords.FILE).write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")
    bm25 = bm25s.BM25()
    bm25.index([tokenize(index_text(p)) or ["∅"] for p in passages], show_progress=False)
    bm25.save(str(tmp / "bm25"))
    features = sentence_features.compute(passages, texts)
    sentence_features.save(tmp / sentence_features.FILE, features)
    mentions.save(tmp / mentions.FILE, mentions.compute(sentence_features.search_texts(passages, texts),
                                                        {f for t in glossary.terms for f in t.forms}))
    used: dict[str, int] = {}
    for terms, _ in features:
        for t in terms:
            used[t] = used.get(t, 0) + 1
    (tmp / homophones.FILE).write_text(json.dumps(homophones.sound_index(used), ensure_ascii=False), encoding="utf-8")
    (tmp / sentence_features.ZIPF_FILE).write_text(json.dumps(sentence_features.zipf_table(features),
                                                              ensure_ascii=False), encoding="utf-8")


def _optional(root: Path, name: str, default):
    """A JSON file of an index version that older formats lack: `default` when it is not there."""
    path = root / name
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else default


@dataclass
class Index:
    """An opened index version: passages, BM25, the Chroma collection, source texts."""

    version: str
    manifest: dict
    passages: list[Passage]
    sources: dict[str, SourceMeta]
    texts: dict[str, str]
    bm25: bm25s.BM25
    collection: object
    understood: list[dict] = field(default_factory=list)  # per document: the ingest report
    bilingual: dict[str, list[str]] = field(default_factory=dict)  # English key -> corpus Chinese words
    sentence_vectors: np.ndarray | None = None  # one row per sentence, passages and sentences in order
    held_lease: "lease.Lease | None" = field(default=None, repr=False, compare=False)  # held while open
    sentence_features: list | None = field(default=None, repr=False)  # (terms, attributes) per sentence
    zipf: dict[str, float] = field(default_factory=dict, repr=False)  # corpus word -> wordfreq Zipf value
    glosses: dict[str, str] = field(default_factory=dict, repr=False)  # corpus Chinese word -> English gloss
    synonyms: dict[str, list[str]] = field(default_factory=dict, repr=False)  # absent word -> corpus words
    words: list[str] = field(default_factory=list, repr=False)  # its words jieba's dictionary lacks (`newwords`)
    homophones: dict[str, str] = field(default_factory=dict, repr=False)  # sound key -> corpus word
    mentions: "mentions.Known | None" = field(default=None, repr=False)  # glossary forms' sentences (build)
    sentence_index: "sentence_index.SentenceIndex | None" = field(default=None, repr=False)  # large corpora

    @property
    def learnt_terms(self) -> list[tuple[str, dict]]:
        """(doc_id, term) pairs learnt from the documents' own bracketed bilingual terms."""
        return [(u["doc_id"], t) for u in self.understood for t in u.get("terms", [])]

    @cached_property
    def by_id(self) -> dict[str, Passage]:
        return {p.id: p for p in self.passages}

    @classmethod
    def open(cls, settings: Settings, chunking: str = "sentences", version: str | None = None) -> "Index":
        """Open the CURRENT version (or `version`) and hold its lease until `close()` or garbage collection."""
        tried: set[str] = set()
        for _ in range(20):
            v = version or current_version(settings, chunking)
            if not v:
                raise FileNotFoundError(f"no index under {settings.index_root}; run `assistant ingest` first")
            held = lease.acquire(settings.index_root, v)
            if not is_complete(settings.index_root / v):
                held.release()  # collected between reading CURRENT and locking it: read CURRENT again
                if version or v in tried:
                    raise FileNotFoundError(f"index version {v} is missing from {settings.index_root}; "
                                            "run `assistant ingest`")
                tried.add(v)
                continue
            try:
                index = cls._load(settings, v)
            except BaseException:
                held.release()
                raise
            index.held_lease = held
            weakref.finalize(index, held.release)
            return index
        raise FileNotFoundError(f"the index under {settings.index_root} keeps changing; try again")

    def close(self) -> None:
        """Let go of this version: garbage collection may remove it once nobody else holds it."""
        if self.held_lease is not None:
            self.held_lease.release()

    @classmethod
    def _load(cls, settings: Settings, version: str) -> "Index":
        root = settings.index_root / version
        manifest = json.loads((root / "manifest.json").read_text())
        passages = []
        for line in (root / "passages.jsonl").read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            d["section"] = tuple(d["section"])
            d["sentences"] = tuple(tuple(s) for s in d["sentences"])
            d["sentences_en"] = tuple(d.get("sentences_en", ()))
            passages.append(Passage(**d))
        sources = {m["doc_id"]: SourceMeta(**m) for m in json.loads((root / "sources.json").read_text())}
        texts = {d: (root / "docs" / f"{d}.txt").read_text(encoding="utf-8") for d in sources}
        bm25 = bm25s.BM25.load(str(root / "bm25"), mmap=True)  # scores paged in, not read whole
        # plain ndarray views of the same pages: numpy's memmap subclass costs ~20 us per slice, 17 per ask
        bm25.scores = {k: np.asarray(v) if isinstance(v, np.memmap) else v for k, v in bm25.scores.items()}
        coll = chroma_client(settings).get_collection(
            manifest["collection"], embedding_function=AssistantEmbeddingFunction(settings.embedder))
        understood, bilingual = _optional(root, "understood.json", []), _optional(root, "bilingual.json", {})
        sv = root / "sentences.npy"
        vectors = np.load(sv, mmap_mode="r") if sv.exists() else None
        return cls(version, manifest, passages, sources, texts, bm25, coll, understood, bilingual, vectors,
                   sentence_features=sentence_features.load(root), zipf=sentence_features.load_zipf(root),
                   glosses=_optional(root, GLOSS_FILE, {}), synonyms=_optional(root, SYNONYM_FILE, {}),
                   words=_optional(root, newwords.FILE, []), homophones=_optional(root, homophones.FILE, {}),
                   mentions=mentions.load(root),
                   sentence_index=sentence_index.load(root / sentence_index.DIR))

    def dense_search(self, query_vec: np.ndarray, n: int) -> list[tuple[str, float]]:
        """(passage id, cosine similarity), best view (zh or en) per passage."""
        # ids are "<passage id>:<view>" (as the metadata says): not fetching metadata halves the query's cost
        res = self.collection.query(query_embeddings=[query_vec.tolist()], n_results=min(2 * n, 2 * len(self.passages)),
                                    include=["distances"])
        best: dict[str, float] = {}
        for key, dist in zip(res["ids"][0], res["distances"][0]):
            pid = key.split(":")[0]
            best[pid] = max(best.get(pid, -1.0), 1.0 - float(dist))
        return sorted(best.items(), key=lambda kv: -kv[1])[:n]
