"""REST throughput and latency under concurrency: POST /api/ask from 1, 4, 16 and 32 clients at once.

    .venv/bin/python benchmarks/bench_rest.py                      # starts its own server on a free port
    .venv/bin/python benchmarks/bench_rest.py --url http://127.0.0.1:7860   # or use a running one
    .venv/bin/python benchmarks/bench_rest.py --servers 2          # two server processes, clients split

Each client is a thread with its own keep-alive httpx connection, sending questions from eval/dev.jsonl
(turns, patient and audience as written there: follow-ups, guard cases, refusals) for `--seconds` per level.
Prints req/s, p50/p95/p99 as the client sees them, and errors (anything but 200 or 400). `--servers 2`
measures processes against threads on the same machine in the same run: the clients alternate between two
independent server processes (what two workers behind a balancer would give). `--code DIR` serves from another
checkout (e.g. the commit before a change) over this data dir, for a before/after ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
LEVELS = (1, 4, 16, 32)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: str | None, code: Path = REPO) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False",
               PYTHONPATH=str(code))
    env.pop("ASSISTANT_AUTH", None)
    if data_dir:
        env["ASSISTANT_DATA_DIR"] = data_dir
    log = Path(tempfile.mkstemp(prefix="bench-rest-", suffix=".log")[1])
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)], cwd=code,
                            env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}", log


def wait_ready(url: str, proc: subprocess.Popen | None, log: Path | None, timeout: float = 300) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            sys.exit(f"server exited ({proc.returncode}):\n{log.read_text()[-3000:] if log else ''}")
        try:
            if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                return time.perf_counter() - t0
        except httpx.HTTPError:
            time.sleep(0.3)
    sys.exit(f"server at {url} not ready after {timeout:.0f} s")


def load_bodies(path: Path) -> list[dict]:
    bodies = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            it = json.loads(line)
            bodies.append({"turns": it["turns"], "patient": it.get("patient"),
                           "audience": it.get("audience", "clinician")})
    return bodies or [{"turns": ["PRP注射前需要停用NSAIDs多久?"]}]


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def run_level(urls: list[str], bodies: list[dict], clients: int, seconds: float) -> dict:
    """`clients` threads, each posting back to back for `seconds`; question i of client c is bodies[c*7+i]."""
    lat: list[float] = []
    codes: dict[int, int] = {}
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client(c: int) -> None:
        with httpx.Client(base_url=urls[c % len(urls)], timeout=120) as http:
            start.wait()
            i = 0
            while time.perf_counter() < deadline[0]:
                body = bodies[(c * 7 + i) % len(bodies)]
                t = time.perf_counter()
                try:
                    status = http.post("/api/ask", json=body).status_code
                except httpx.HTTPError:
                    status = -1
                ms = (time.perf_counter() - t) * 1000
                with lock:
                    lat.append(ms)
                    codes[status] = codes.get(status, 0) + 1
                i += 1

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
    for t in threads:
        t.start()
    deadline[0] = time.perf_counter() + seconds
    t0 = time.perf_counter()
    start.wait()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    errors = sum(n for s, n in codes.items() if s not in (200, 400))
    return {"clients": clients, "requests": len(lat), "req_s": len(lat) / wall, "p50_ms": pct(lat, 50),
            "p95_ms": pct(lat, 95), "p99_ms": pct(lat, 99), "errors": errors, "codes": dict(sorted(codes.items()))}


def measure(urls: list[str], bodies: list[dict], levels: list[int], seconds: float) -> list[dict]:
    for u in urls:  # warm-up, not counted: every question once (first embedding, first jieba cut)
        with httpx.Client(base_url=u, timeout=120) as http:
            for b in bodies:
                http.post("/api/ask", json=b)
    return [run_level(urls, bodies, c, seconds) for c in levels]


def table(rows: list[dict], label: str) -> str:
    out = [f"| {label} clients | req/s | p50 ms | p95 ms | p99 ms | errors |", "|---|---|---|---|---|---|"]
    out += [f"| {r['clients']} | {r['req_s']:.1f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['p99_ms']:.0f} | "
            f"{r['errors']} |" for r in rows]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="use a running server instead of starting one")
    ap.add_argument("--servers", type=int, default=1, help="server processes to start (clients alternate)")
    ap.add_argument("--levels", default=",".join(map(str, LEVELS)), help="comma list of client counts")
    ap.add_argument("--seconds", type=float, default=15.0, help="per level (default 15)")
    ap.add_argument("--set", default=str(REPO / "eval" / "dev.jsonl"), help="JSONL questions to cycle through")
    ap.add_argument("--code", help="serve from another checkout (same venv): the same run, another version")
    ap.add_argument("--limit", type=int, help="only the first N questions of the set")
    ap.add_argument("--data-dir", help="ASSISTANT_DATA_DIR for the servers it starts")
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args(argv)

    procs = []
    urls = [args.url.rstrip("/")] if args.url else []
    try:
        for _ in range(0 if args.url else args.servers):
            proc, url, log = start_server(args.data_dir or (str(REPO / "data") if args.code else None),
                                          Path(args.code) if args.code else REPO)
            procs.append(proc)
            ready = wait_ready(url, proc, log)
            print(f"server {url} ready in {ready:.1f} s (log {log})", file=sys.stderr)
            urls.append(url)
        if args.url:
            wait_ready(urls[0], None, None)
        bodies = load_bodies(Path(args.set))[:args.limit]
        rows = measure(urls, bodies, [int(x) for x in args.levels.split(",")], args.seconds)
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    label = f"{len(urls)} process{'es' if len(urls) > 1 else ''},"
    print(f"POST /api/ask, {len(bodies)} distinct questions from {Path(args.set).name}, {args.seconds:g} s per level")
    print(table(rows, label))
    if args.json:
        Path(args.json).write_text(json.dumps({"servers": len(urls), "rows": rows}, indent=1))
    return 0 if all(r["errors"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
