"""Live index swap under load: 8 clients ask a real `assistant serve` for 60 s; `assistant ingest` of a new
document runs into the server's data dir in the middle. Prints requests, errors (target 0), p50/p95/max,
when /api/health showed the new version and when the new document was first answered with a citation.

    .venv/bin/python benchmarks/bench_swap.py [--seconds 60] [--clients 8] [--ingest-at 20] [--json out.json]

The server runs on a fresh temporary data dir (the ingest changes it); the repo's data/embed-cache.sqlite
is copied in when present, so only the new document is embedded.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import swap_harness  # noqa: E402
from conftest_app import running_server, server_env  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--ingest-at", type=float, help="seconds into the run (default: a third of it)")
    ap.add_argument("--cache", default=str(REPO / "data" / "embed-cache.sqlite"), help="embedding cache to copy in")
    ap.add_argument("--json", help="write the figures and every sample here")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-swap-"))
    data = work / "data"
    data.mkdir()
    if Path(args.cache).is_file():
        shutil.copyfile(args.cache, data / "embed-cache.sqlite")
    try:
        print(f"starting a server on {data} (builds the seed index first) ...", flush=True)
        with running_server(data, work / "server.log") as url:
            fig = swap_harness.run(url, data, seconds=args.seconds, clients=args.clients,
                                   ingest_at=args.ingest_at if args.ingest_at is not None else args.seconds / 3,
                                   doc_dir=work, env=server_env(data),
                                   log=lambda m: print(m, flush=True))
        print(fig.summary())
        if args.json:
            out = {k: v for k, v in asdict(fig).items() if k not in ("samples", "health")}
            lat = fig.latencies_ms()
            out.update(requests=len(fig.samples), errors=len(fig.errors), first_answerable=fig.first_answerable,
                       p95_ms=lat[min(len(lat) - 1, int(0.95 * len(lat)))] if lat else None,
                       samples=[asdict(s) for s in fig.samples])
            Path(args.json).write_text(json.dumps(out, indent=1), encoding="utf-8")
        return 0 if not fig.errors and fig.first_answerable is not None else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
