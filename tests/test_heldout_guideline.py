"""A guideline nobody here has read (eval/heldout/: cancer-pain opioids, written with its questions by
someone outside the code), ingested with `assistant ingest FILE` and nothing else: no rules file, no
glossary, no translation. It guards two things: no other guideline's rule gives a verdict on it, and its
scores do not regress (floors just below the measured figures; not goals, and never tuned on).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.evaluation.metrics import aggregate
from assistant.evaluation.run import run
from assistant.evaluation.scoring import load_set
from conftest import ingest_cli, own_data_dir

pytestmark = pytest.mark.integration

HELD = Path(__file__).parents[1] / "eval" / "heldout"
RAW_MARKUP = re.compile(r"<\s*/?\s*(table|tr|td|th|sup|sub|br)\b|\\(mathrm|textcircled|geqslant|leqslant|times)|\$")


@pytest.fixture(scope="module")
def results(settings, tmp_path_factory):
    from assistant.api import Assistant
    from assistant.config import Settings

    data = own_data_dir(settings, tmp_path_factory, "heldout")  # the seeds' vectors from the session cache
    ingest_cli(data, HELD / "cancer-pain-opioids-2025.md")
    return run(Assistant.load(Settings.load(data_dir=data)), load_set(HELD / "heldout.jsonl"))


def test_no_other_guidelines_rule_gives_a_verdict(results):
    verdicts = [(r.item["id"], f.rule_id) for r in results for f in r.answer.findings if f.level == "block"]
    assert not verdicts


def test_answers_carry_no_raw_markup(results):
    assert not [r.item["id"] for r in results if RAW_MARKUP.search(r.answer.text)]


def test_scores_do_not_regress(results):
    # measured (session 4): hit@5 0.864, pass 0.480, guard 1.0, OOS refused 0.857; session 7: pass 0.427 (0.440
    # before: one item of 75 lost to the changes of 3f857c1, which gained the fourth guideline two, unseen one)
    m = aggregate(results)
    assert m["hit_at_5"] >= 0.80, m
    assert m["pass_rate"] >= 0.41, m
    assert m["guard_accuracy"] >= 0.95, m
