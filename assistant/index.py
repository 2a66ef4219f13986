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
import re
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

from . import homophones, ingest_journal, lease, newwords, orphans, provenance, sentence_features
from .chunk import chunk, fixed_chunks
from .config import Settings
from .embed import AssistantEmbeddingFunction, EmbeddingCache, get_embedder
from .glossary import install_jieba_terms, install_learnt_terms, load_glossary
from .loaders import DocumentError, discover, read_document, read_meta
from .model import Passage, Removal, SourceMeta
from .normalise import load_noise_rules, normalise
from .crosslingual import GLOSS_FILE, SYNONYM_FILE, corpus_dictionary, glosses, load_glosses, load_table, synonyms
from .terms import learn_terms
from .tokens import tokenize

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
INDEX_FORMAT = 11  # 2: understood.json (ingest report, learnt terms); 3: bilingual.json; 4: sentences.npy;
# 5: sentence_features.json (terms and attributes of every sentence, so a load does no jieba work), zipf.json
# 6: provenance in sources.json (added_by, sha256, added_at); 7: glosses.json (English glosses of corpus words);
# 8: synonyms.json (Chinese words the corpus lacks -> its words of the same meaning); 9: words.json; 10: dose and minute attributes;
# 11: homophones.json (sound keys of corpus terms, for typos like 华发林)
_VERSION = re.compile(r"[0-9a-f]{12}")
_TMP = re.compile(r"\.tmp-([0-9a-f]{12})-(\d+)")


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


def understanding(meta: SourceMeta, norm, passages: list[Passage], terms: list) -> dict:
    """What ingest understood of one document: sections, table rows, sentences, set-aside lines, terms."""
    set_aside: dict[str, int] = {}
    for r in norm.removals:
        set_aside[r.reason] = set_aside.get(r.reason, 0) + 1
    sections = {p.section[:1] for p in passages if p.section}
    table_rows = sum(1 for seg in norm.segments if " · " in seg.text and seg.text.rstrip().endswith("。")
                     and ":" in seg.text)
    return {"doc_id": meta.doc_id, "title": meta.title, "original_file": meta.original_file,
            "sections": len(sections), "table_rows": table_rows,
            "sentences": sum(len(p.sentences) for p in passages), "passages": len(passages),
            "set_aside": set_aside, "terms": [t if isinstance(t, dict) else asdict(t) for t in terms]}


def chroma_client(settings: Settings):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    cs = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        return chromadb.HttpClient(host=settings.chroma_host, port=int(settings.chroma_port or 8000), settings=cs)
    return chromadb.PersistentClient(path=str(settings.data_dir / "chroma"), settings=cs)


def source_paths(settings: Settings) -> list[Path]:
    """The shipped corpus plus documents users added with `assistant ingest PATH`."""
    roots = [settings.corpus_dir / "sources", settings.data_dir / "library"]
    return provenance.kept(settings, discover([r for r in roots if r.exists()]))  # less those removed


def _translations(settings: Settings, doc_id: str) -> dict[tuple[int, int], str]:
    path = settings.corpus_dir / "translations" / f"{doc_id}.en.jsonl"
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            if r.get("en"):
                out[(r["start"], r["end"])] = r["en"]
    return out


def index_text(p: Passage) -> str:
    """What BM25 and the embedder see: section path, Chinese text and its English translation."""
    return " / ".join(p.section) + "\n" + p.text + ("\n" + p.text_en if p.text_en else "")


def chunking_label(settings: Settings, chunking: str) -> str:
    return f"sent{settings.chunk_chars}" if chunking == "sentences" else chunking


def prepare(settings: Settings, paths: list[Path], chunking: str = "sentences"
            ) -> tuple[list[SourceMeta], dict[str, str], list[Passage], list[Removal], list[str], list[dict]]:
    """Read, normalise and chunk every document; also what was understood of each (`understanding`)."""
    rules = load_noise_rules(str(settings.corpus_dir / "noise.yaml"))
    metas, texts, passages, removals, skipped, understood = [], {}, [], [], [], []
    for path in paths:
        try:
            meta = provenance.stamp(read_meta(path), path, settings)
            doc = read_document(path)
            text = doc.text
        except DocumentError as e:
            skipped.append(str(e))
            continue
        if meta.doc_id in texts:
            skipped.append(f"{path}: duplicate doc_id {meta.doc_id!r}; give it another in its .meta.json")
            continue
        norm = normalise(meta.doc_id, text, rules, doc.noise)  # page headers/footers found by the loader
        if chunking == "chatchat750":
            doc_passages = fixed_chunks(meta.doc_id, text)
        else:
            # translations are aligned to the seed texts' spans: a clinic file under a seed's id gets none
            en = _translations(settings, meta.doc_id) if meta.added_by == provenance.SEED else {}
            doc_passages = chunk(norm, settings.chunk_chars, en)
        if not doc_passages:
            skipped.append(f"{path}: no content left after removing page noise")
            continue
        metas.append(meta)
        texts[meta.doc_id] = text
        passages.extend(doc_passages)
        removals.extend(norm.removals)
        body = "\n".join(seg.text for seg in norm.segments)  # front matter and references teach no terms
        understood.append(understanding(meta, norm, doc_passages, learn_terms(body)))
    return metas, texts, passages, removals, skipped, understood


def _version_hash(settings: Settings, chunking: str, passages: list[Passage], metas: list[SourceMeta]) -> str:
    h = hashlib.sha1(f"{INDEX_FORMAT}|{settings.embedder}|{chunking_label(settings, chunking)}".encode())
    for m in metas:
        h.update(json.dumps(asdict(m), sort_keys=True, ensure_ascii=False).encode())
    for p in passages:
        h.update(f"{p.id}|{p.text_en}|{p.start}|{'/'.join(p.section)}".encode())
    return h.hexdigest()[:12]


def collection_name(settings: Settings, version: str) -> str:
    """`<embedder>-<version>`: the version must survive intact (`_gc` reads it back from the name),
    so a long model name is shortened instead, and characters Chroma refuses become "-"."""
    emb = re.sub(r"[^A-Za-z0-9.-]+", "-", get_embedder(settings.embedder).name).strip("-.") or "embedder"
    return f"{emb[:60 - len(version) - 1].rstrip('-.')}-{version}"


def _pointer(settings: Settings, chunking: str) -> Path:
    """One CURRENT pointer per (chunking, embedder): each configuration has its own live version."""
    emb = settings.embedder.replace(":", "_").replace("/", "_")
    return settings.index_root / f"CURRENT-{chunking_label(settings, chunking)}-{emb}"


def current_version(settings: Settings, chunking: str = "sentences") -> str | None:
    ptr = _pointer(settings, chunking)
    try:
        return ptr.read_text().strip() or None
    except FileNotFoundError:
        return None


def pointer_path(settings: Settings, chunking: str = "sentences") -> Path:
    """The CURRENT pointer file a server watches (its stat changes on every flip: os.replace)."""
    return _pointer(settings, chunking)


def _flip(settings: Settings, chunking: str, version: str) -> None:
    ptr = _pointer(settings, chunking)
    ptr_tmp = ptr.with_suffix(f".tmp{os.getpid()}")
    ptr_tmp.write_text(version)
    os.replace(ptr_tmp, ptr)


def _complete(root: Path) -> bool:
    return (root / "manifest.json").is_file()


def _collection_exists(settings: Settings, client, root: Path) -> bool:
    try:
        client.get_collection(json.loads((root / "manifest.json").read_text())["collection"])
        return True
    except Exception:  # noqa: BLE001 - missing collection or unreadable manifest: rebuild
        return False


def build(settings: Settings, chunking: str = "sentences", progress: bool | None = None,
          force: bool = False) -> BuildReport:
    t0 = time.perf_counter()
    ingest_journal.recover(settings)  # files a killed ingest copied into the library are not indexed
    install_jieba_terms(str(settings.corpus_dir / "glossary.tsv"))
    metas, texts, passages, removals, skipped, understood = prepare(settings, source_paths(settings), chunking)
    if not passages:
        raise DocumentError("no indexable documents found under " + str(settings.corpus_dir / "sources"))
    version = _version_hash(settings, chunking, passages, metas)
    report = BuildReport(version, built=False, documents=[m.doc_id for m in metas], skipped=skipped,
                         removals=removals, passages=len(passages), understood=understood)
    final = settings.index_root / version
    if not force and _complete(final) and current_version(settings, chunking) == version:
        _gc(settings, chroma_client(settings), keep={version})  # a killed build's leftovers go even so
        report.seconds = time.perf_counter() - t0
        return report
    settings.index_root.mkdir(parents=True, exist_ok=True)
    root = settings.index_root
    client = chroma_client(settings)
    held: lease.Lease | None = None  # our lease on `version` from before the rename until the pointer flip
    if _complete(final):
        # A complete copy of this version is on disk. If someone reads it (a server kept it alive), it is never
        # rebuilt under them: it is what this build would produce, so point at it. Else it is rebuilt in place
        # (--force, or its collection is missing), holding it exclusively so nobody opens it half-made.
        held = lease.acquire(root, version, exclusive=True, blocking=False)
        if held is None or (not force and _collection_exists(settings, client, final)):
            if held is not None:
                held.release()
            reader = lease.acquire(root, version)
            try:
                if _complete(final) and _collection_exists(settings, client, final):
                    if force:
                        report.notes.append(f"index {version} is in use by a running process; "
                                            "kept as it is instead of rebuilding it (stop the server to force)")
                    report.built = current_version(settings, chunking) != version
                    _flip(settings, chunking, version)
                    _gc(settings, client, keep={version})
                    report.seconds = time.perf_counter() - t0
                    return report
            finally:
                reader.release()
            held = lease.acquire(root, version, exclusive=True, blocking=False)  # collected meanwhile: build it
    try:
        return _build_version(settings, chunking, progress, report, metas, texts, passages, removals, understood,
                              client, held, t0)
    finally:
        if held is not None:
            held.release()


def _build_version(settings: Settings, chunking: str, progress: bool | None, report: BuildReport,
                   metas: list[SourceMeta], texts: dict[str, str], passages: list[Passage],
                   removals: list[Removal], understood: list[dict], client, held: "lease.Lease | None",
                   t0: float) -> BuildReport:
    version = report.version
    final = settings.index_root / version
    tmp = settings.index_root / f".tmp-{version}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "docs").mkdir(parents=True)

    # 1. embed (cached by content hash), zh and en views of every passage
    embedder = get_embedder(settings.embedder)
    cache = EmbeddingCache(settings.data_dir / "embed-cache.sqlite")
    views = [(p.id + ":zh", " / ".join(p.section) + "\n" + p.text) for p in passages]
    views += [(p.id + ":en", p.text_en) for p in passages if p.text_en]
    show = sys.stderr.isatty() if progress is None else progress
    with tqdm(total=len(views), desc="embedding passages", unit="passage", disable=not show) as bar:
        vectors = cache.embed(embedder, [v for _, v in views], "passage", progress=bar)
    # every sentence too: the answer is chosen sentence by sentence (support.py)
    sentences = [texts[p.doc_id][a:b] for p in passages for a, b in p.sentences]
    with tqdm(total=len(sentences), desc="embedding sentences", unit="sentence", disable=not show) as bar:
        sentence_vectors = cache.embed(embedder, sentences, "passage", progress=bar)
    report.embedded, report.embed_s = cache.embedded, cache.embed_s

    # 2. Chroma collection named by embedder + version: switching models never mixes vectors.
    # Nobody reads it: its version dir does not exist yet, or we hold that version exclusively.
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

    # 3. BM25 over jieba tokens of both languages (learnt terms kept whole, as at query time)
    install_learnt_terms(load_glossary(str(settings.corpus_dir / "glossary.tsv")).with_terms(
        [(u["doc_id"], t) for u in understood for t in u["terms"]]))
    words = newwords.discover([p.text for p in passages])  # 华法林: jieba would cut it, or glue it to 吃
    newwords.install(words)
    (tmp / newwords.FILE).write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")
    bm25 = bm25s.BM25()
    bm25.index([tokenize(index_text(p)) or ["∅"] for p in passages], show_progress=False)
    bm25.save(str(tmp / "bm25"))
    features = sentence_features.compute(passages, texts)
    sentence_features.save(tmp / sentence_features.FILE, features)
    used: dict[str, int] = {}
    for terms, _ in features:
        for t in terms:
            used[t] = used.get(t, 0) + 1
    (tmp / homophones.FILE).write_text(json.dumps(homophones.sound_index(used), ensure_ascii=False), encoding="utf-8")
    (tmp / sentence_features.ZIPF_FILE).write_text(json.dumps(sentence_features.zipf_table(features),
                                                              ensure_ascii=False), encoding="utf-8")

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
        _flip(settings, chunking, version)
        _gc(settings, client, keep={version})
    finally:
        if mine is not None:
            mine.release()
    report.built = True
    report.seconds = time.perf_counter() - t0
    return report


def gc(settings: Settings) -> None:
    """Remove what no pointer names and nobody uses (a server calls it after letting go of an old version)."""
    if settings.index_root.is_dir():
        _gc(settings, chroma_client(settings), keep=set())


def _gc(settings: Settings, client, keep: set[str]) -> None:
    """Drop leftovers of interrupted builds and versions no pointer refers to, unless someone still uses them.

    - a version dir goes only if no CURRENT pointer names it and we get its lease exclusively (no reader);
      its collection goes with it, while that lock is held, so nobody can open it half-deleted;
    - a `.tmp-<version>-<pid>` dir goes only when process <pid> is gone (a build still running keeps it).
    Only collections of versions this data dir built are dropped: a shared `chroma run` server also holds
    other users' collections.
    """
    root = settings.index_root
    live = {p.read_text().strip() for p in root.glob("CURRENT-*") if p.is_file()} | keep
    dropped: set[str] = set()
    busy: set[str] = set()
    for d in sorted(root.iterdir()):
        if not d.is_dir():
            continue
        m = _TMP.fullmatch(d.name)
        if m:
            if lease.pid_alive(int(m.group(2))):
                busy.add(m.group(1))
            else:
                shutil.rmtree(d, ignore_errors=True)
                dropped.add(m.group(1))
        elif _VERSION.fullmatch(d.name) and d.name not in live:
            with lease.exclusive(root, d.name) as ex:
                if ex is None:
                    busy.add(d.name)  # a server (or this process) still answers from it
                    continue
                shutil.rmtree(d, ignore_errors=True)
                _drop_collections(client, {d.name})
                lease.forget(ex)
    _drop_collections(client, dropped - live - busy)
    orphans.sweep(settings, client, protected=live | busy)  # killed builds' collections and segment folders
    leases = root / lease.LEASE_DIR
    for f in sorted(leases.glob("*.lock")) if leases.is_dir() else []:  # leases of versions long gone
        v = f.stem
        if _VERSION.fullmatch(v) and not (root / v).exists() and v not in busy:
            with lease.exclusive(root, v) as ex:
                if ex is not None:
                    lease.forget(ex)


def _drop_collections(client, versions: set[str]) -> None:
    if not versions:
        return
    try:
        for c in client.list_collections():
            cname = c if isinstance(c, str) else c.name
            m = re.fullmatch(r".+-([0-9a-f]{12})", cname)
            if m and m.group(1) in versions:
                client.delete_collection(cname)
    except Exception:  # noqa: BLE001 - best effort; a server may refuse listing
        pass


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
            if not _complete(settings.index_root / v):
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
        coll = chroma_client(settings).get_collection(
            manifest["collection"], embedding_function=AssistantEmbeddingFunction(settings.embedder))
        und = root / "understood.json"
        understood = json.loads(und.read_text(encoding="utf-8")) if und.exists() else []
        bil = root / "bilingual.json"
        bilingual = json.loads(bil.read_text(encoding="utf-8")) if bil.exists() else {}
        sv = root / "sentences.npy"
        vectors = np.load(sv, mmap_mode="r") if sv.exists() else None
        return cls(version, manifest, passages, sources, texts, bm25, coll, understood, bilingual, vectors,
                   sentence_features=sentence_features.load(root), zipf=sentence_features.load_zipf(root),
                   glosses=load_glosses(root), synonyms=load_table(root, SYNONYM_FILE),
                   words=load_table(root, newwords.FILE) or [], homophones=load_table(root, homophones.FILE))

    def dense_search(self, query_vec: np.ndarray, n: int) -> list[tuple[str, float]]:
        """(passage id, cosine similarity), best view (zh or en) per passage."""
        res = self.collection.query(query_embeddings=[query_vec.tolist()], n_results=min(2 * n, 2 * len(self.passages)),
                                    include=["distances", "metadatas"])
        best: dict[str, float] = {}
        for meta, dist in zip(res["metadatas"][0], res["distances"][0]):
            pid = meta["passage_id"]
            best[pid] = max(best.get(pid, -1.0), 1.0 - float(dist))
        return sorted(best.items(), key=lambda kv: -kv[1])[:n]
