"""REST latency: N sequential POST /api/ask against a real `assistant serve` (default 200).

    .venv/bin/python benchmarks/bench_rest.py                 # starts its own server on a free port
    .venv/bin/python benchmarks/bench_rest.py --url http://127.0.0.1:7860   # or use a running one
    .venv/bin/python benchmarks/bench_rest.py --openai        # the same questions via POST /v1/chat/completions

Questions cycle through eval/dev.jsonl (turns, patient and audience as written there), so the mix has
follow-ups, guard cases and refusals. Prints p50 / p95 / max wall time per request, as the client sees it.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: str | None) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    env.pop("ASSISTANT_AUTH", None)
    if data_dir:
        env["ASSISTANT_DATA_DIR"] = data_dir
    log = Path(tempfile.mkstemp(prefix="bench-rest-", suffix=".log")[1])
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)], cwd=REPO,
                            env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}", log


def wait_ready(url: str, proc: subprocess.Popen | None, log: Path | None, timeout: float = 300) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            sys.exit(f"server exited ({proc.returncode}):\n{log.read_text()[-3000:] if log else ''}")
        try:
            with urllib.request.urlopen(url + "/api/health", timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - t0
        except OSError:
            time.sleep(0.3)
    sys.exit(f"server at {url} not ready after {timeout:.0f} s")


def load_bodies(path: Path) -> list[dict]:
    bodies = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            it = json.loads(line)
            bodies.append({"turns": it["turns"], "patient": it.get("patient"), "audience": it.get("audience",
                                                                                                  "clinician")})
    return bodies or [{"turns": ["PRP注射前需要停用NSAIDs多久?"]}]


def as_chat(body: dict) -> dict:
    """An /api/ask body as an OpenAI chat completions body (assistant.openai_api)."""
    return {"model": "guideline-assistant-patient" if body["audience"] == "patient" else "guideline-assistant",
            "messages": [{"role": "user", "content": t} for t in body["turns"]], "patient": body["patient"]}


def post(url: str, body: dict, route: str = "/api/ask") -> tuple[int, float]:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(url + route, data=data, method="POST",
                                 headers={"Content-Type": "application/json"})
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        e.read()
        status = e.code
    return status, (time.perf_counter() - t) * 1000


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="use a running server instead of starting one")
    ap.add_argument("-n", type=int, default=200, help="number of sequential requests (default 200)")
    ap.add_argument("--set", default=str(REPO / "eval" / "dev.jsonl"), help="JSONL questions to cycle through")
    ap.add_argument("--openai", action="store_true", help="POST /v1/chat/completions instead of /api/ask")
    ap.add_argument("--data-dir", help="ASSISTANT_DATA_DIR for the server it starts (default: its own default)")
    args = ap.parse_args()

    proc = log = None
    url = args.url.rstrip("/") if args.url else None
    if url is None:
        proc, url, log = start_server(args.data_dir)
        print(f"server {url} (log {log})", file=sys.stderr)
    try:
        ready = wait_ready(url, proc, log)
        if proc is not None:
            print(f"server ready in {ready:.1f} s", file=sys.stderr)
        bodies = load_bodies(Path(args.set))
        route = "/v1/chat/completions" if args.openai else "/api/ask"
        if args.openai:
            bodies = [as_chat(b) for b in bodies]
        post(url, bodies[0], route)  # warm-up, not counted
        lat, codes = [], {}
        t0 = time.perf_counter()
        for i in range(args.n):
            status, ms = post(url, bodies[i % len(bodies)], route)
            lat.append(ms)
            codes[status] = codes.get(status, 0) + 1
        wall = time.perf_counter() - t0
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(f"POST {route} x {args.n} sequential ({len(bodies)} distinct questions from {Path(args.set).name})")
    print(f"  p50 {pct(lat, 50):.1f} ms   p95 {pct(lat, 95):.1f} ms   mean {statistics.fmean(lat):.1f} ms   "
          f"max {max(lat):.1f} ms")
    print(f"  throughput {args.n / wall:.1f} req/s   status codes {dict(sorted(codes.items()))}")
    return 0 if set(codes) <= {200, 400} else 1


if __name__ == "__main__":
    sys.exit(main())
