"""Index build time (cold, fresh data dir) and warm ask latency p50/p95 over the dev-set questions.

    python benchmarks/bench_ask.py [--n 200]
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from assistant.api import Assistant
from assistant.config import Settings
from assistant.index import build


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main(n: int = 200) -> None:
    with tempfile.TemporaryDirectory() as d:
        s = Settings.load(data_dir=Path(d))
        t = time.perf_counter()
        report = build(s, progress=False)
        print(f"index build (cold, {report.passages} passages, embedder {s.embedder}): {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        build(s, progress=False)
        print(f"index rebuild when nothing changed: {time.perf_counter() - t:.2f} s")
        t = time.perf_counter()
        a = Assistant.load(s)
        print(f"Assistant.load: {time.perf_counter() - t:.2f} s")
        items = [json.loads(line) for line in open("eval/dev.jsonl", encoding="utf-8")]
        a.ask(["warm-up PRP"])
        lat = []
        for i in range(n):
            it = items[i % len(items)]
            t = time.perf_counter()
            a.ask(it["turns"], it["patient"], audience=it["audience"])
            lat.append((time.perf_counter() - t) * 1000)
        print(f"ask latency over {n} warm calls: p50 {pct(lat, 50):.1f} ms, p95 {pct(lat, 95):.1f} ms, "
              f"mean {statistics.mean(lat):.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[sys.argv.index("--n") + 1]) if "--n" in sys.argv else 200)
