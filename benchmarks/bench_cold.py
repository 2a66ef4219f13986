"""Cold start: `assistant ask "…"` from the shell, the whole process, and where its time goes.

    .venv/bin/python benchmarks/bench_cold.py [--repeat 5] [--baseline /path/to/older/checkout]

Runs the real command `repeat` times and reports the median wall time and CPU time (user + sys of the child:
on a shared machine CPU time is the steadier figure), then one `python -X importtime` run: import time by
top-level package, and whether gradio, langsmith, langchain or matplotlib were imported (they must not be).
Inside one process it also splits imports / Assistant.load / the first ask. `--baseline DIR` runs the same
command from another checkout (same venv, same data dir) interleaved with this one: the ratio of the two
is what to quote, since both ran under the same load.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUESTION = "PRP注射前需要停用NSAIDs多久?"
MUST_NOT_IMPORT = ("gradio", "langsmith", "langchain_core", "matplotlib")
SPLIT = """
import time, json
t0 = time.perf_counter()
from assistant import cli
from assistant.api import Assistant
t1 = time.perf_counter()
a = Assistant.load()
t2 = time.perf_counter()
a.ask([%r])
t3 = time.perf_counter()
print(json.dumps({"imports_s": t1 - t0, "load_s": t2 - t1, "first_ask_s": t3 - t2}))
""" % QUESTION

__all__ = ["main"]


def env_for(root: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(root), "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1",
            "GRADIO_ANALYTICS_ENABLED": "False", "ASSISTANT_DATA_DIR": os.environ.get(
                "ASSISTANT_DATA_DIR", str(REPO / "data"))}


def timed(cmd: list[str], root: Path) -> tuple[float, float]:
    """(wall s, CPU s) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run(cmd, cwd=root, env=env_for(root), capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed in {root}:\n{done.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def import_profile(root: Path) -> tuple[dict[str, float], list[str]]:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "assistant.cli", "ask", QUESTION], cwd=root,
                          env=env_for(root), capture_output=True, text=True)
    by_pkg: Counter = Counter()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, _, name = line[len("import time:"):].split("|")
            by_pkg[name.strip().split(".")[0]] += int(self_us)
    heavy = [m for m in MUST_NOT_IMPORT if m in by_pkg]
    return {k: v / 1e6 for k, v in by_pkg.most_common(8)}, heavy


def measure(root: Path, repeat: int, baseline: Path | None) -> dict:
    cmd = [sys.executable, "-m", "assistant.cli", "ask", QUESTION]
    runs: dict[str, list[tuple[float, float]]] = {"this": [], "baseline": []}
    timed(cmd, root)  # warm the OS file cache (and jieba's dictionary cache), not counted
    for _ in range(repeat):
        runs["this"].append(timed(cmd, root))
        if baseline:
            runs["baseline"].append(timed(cmd, baseline))
    out = {}
    for name, rs in runs.items():
        if rs:
            out[name] = {"wall_s": statistics.median(r[0] for r in rs), "cpu_s": statistics.median(r[1] for r in rs)}
    split = subprocess.run([sys.executable, "-c", SPLIT], cwd=root, env=env_for(root), capture_output=True, text=True)
    out["split"] = json.loads(split.stdout.strip().splitlines()[-1]) if split.returncode == 0 else {}
    out["imports_by_package_s"], out["heavy_imported"] = import_profile(root)
    return out


def report(r: dict) -> str:
    t = r["this"]
    lines = [f"`assistant ask` whole process: {t['wall_s']:.2f} s wall, {t['cpu_s']:.2f} s CPU (median)"]
    if "baseline" in r:
        b = r["baseline"]
        lines.append(f"baseline checkout: {b['wall_s']:.2f} s wall, {b['cpu_s']:.2f} s CPU; this / baseline = "
                     f"{t['wall_s'] / b['wall_s']:.2f} (wall), {t['cpu_s'] / b['cpu_s']:.2f} (CPU)")
    s = r["split"]
    if s:
        lines.append(f"in one process: imports {s['imports_s']:.2f} s, Assistant.load {s['load_s']:.2f} s, "
                     f"first ask {s['first_ask_s']:.2f} s")
    lines.append("imports by package (s, self time): " + ", ".join(f"{k} {v:.2f}" for k, v in
                                                                    r["imports_by_package_s"].items()))
    lines.append("gradio / langsmith / langchain / matplotlib imported by `ask`: "
                 + (", ".join(r["heavy_imported"]) or "none"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--baseline", help="another checkout to run the same command from, interleaved")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)
    r = measure(REPO, args.repeat, Path(args.baseline) if args.baseline else None)
    print(report(r))
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=1))
    return 1 if r["heavy_imported"] else 0


if __name__ == "__main__":
    sys.exit(main())
