"""The `assistant` command line (issue "Core pipeline"): `ask --json` in-process on the session
index, its error handling (exit 2, one line on stderr), and the installed console script for real."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli import main

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
ZH = "PRP注射前需要停用NSAIDs多久?"
EN = "How long must NSAIDs be stopped before a PRP injection?"
PHONE = "骨髓浓缩液注射应该打哪个电话预约?"
PRP_QUOTE = "术前需停用 NSAIDs 至少 7 天"
KEYS = {"text", "language", "citations", "passages", "findings", "refused", "timings_ms"}


@pytest.fixture(scope="module")
def data_arg(assistant, settings) -> list[str]:
    """The session index (built by the `assistant` fixture) as the CLI's --data-dir."""
    return ["--data-dir", str(settings.data_dir)]


def ask_json(capsys, data_arg, *args: str) -> dict:
    rc = main([*data_arg, "ask", *args, "--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)


def check_citations(answer: dict, texts: dict[str, str]) -> None:
    numbers = {c["n"] for c in answer["citations"]}
    if answer["refused"]:  # a refusal numbers its "see also" passages
        numbers |= {c["n"] for c in answer.get("see_also", [])}
    for n in re.findall(r"\[(\d+)\]", answer["text"]):
        assert int(n) in numbers
    for c in answer["citations"] + answer.get("see_also", []):
        assert c["quote"] == texts[c["doc_id"]][c["start"]:c["end"]]


@pytest.fixture(scope="module")
def zh_json(data_arg):
    import io
    from contextlib import redirect_stderr, redirect_stdout

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main([*data_arg, "ask", ZH, "--json"])
    assert rc == 0, err.getvalue()
    return json.loads(out.getvalue())


def test_ask_json_in_chinese(zh_json, assistant):
    a = zh_json
    assert KEYS <= set(a)
    assert a["refused"] is False and a["language"] == "zh"
    assert "7 天" in a["text"]
    assert any(PRP_QUOTE in c["quote"] for c in a["citations"])
    assert a["passages"] and {"chunk_id", "doc_id", "section", "text", "start", "end", "score"} <= set(a["passages"][0])
    check_citations(a, assistant.index.texts)


def test_ask_json_in_english_cites_the_same_passage(capsys, data_arg, zh_json, assistant):
    a = ask_json(capsys, data_arg, EN)
    assert KEYS <= set(a)
    assert a["language"] == "en"
    assert a["refused"] is False, a["text"]
    assert "7 days" in a["text"]
    zh_chunks = {c["chunk_id"] for c in zh_json["citations"] if PRP_QUOTE in c["quote"]}
    assert zh_chunks & {c["chunk_id"] for c in a["citations"]}
    check_citations(a, assistant.index.texts)


def test_ask_json_refuses_the_hotline_question(capsys, data_arg, assistant):
    a = ask_json(capsys, data_arg, PHONE)
    assert a["refused"] is True
    assert "400" not in a["text"] and "139-6700-7000" not in a["text"]
    check_citations(a, assistant.index.texts)


def test_plain_text_output(capsys, data_arg):
    assert main([*data_arg, "ask", ZH]) == 0
    out = capsys.readouterr().out
    assert "7 天" in out and "[1]" in out
    assert re.search(r"^\s+\[1\] .+ · \d+-\d+: .*" + re.escape(PRP_QUOTE), out, re.M)


@pytest.mark.parametrize("args", [
    [""],
    ["   "],
    ["a" * 2001],
    ["PRP\x07?"],
    [ZH, "--patient", "{bad json"],
    [ZH, "--patient", '{"unknown": 1}'],
    [ZH, "--patient", "[1, 2]"],
], ids=["empty", "blank", "too-long", "control-char", "patient-bad-json", "patient-unknown-key", "patient-not-object"])
def test_bad_input_exits_2_with_one_error_line(capsys, data_arg, args):
    rc = main([*data_arg, "ask", *args, "--json"])
    out, err = capsys.readouterr()
    assert rc == 2
    assert out == ""
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("error: ") and len(lines[0]) > len("error: ")


def test_ask_without_any_documents_is_a_clear_error(capsys, tmp_path, monkeypatch):
    """`ask` with an empty --data-dir and a corpus with no documents: one error line, not a traceback."""
    empty_corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", empty_corpus, ignore=shutil.ignore_patterns("*.zh.*"))
    assert (empty_corpus / "sources").is_dir() and not list((empty_corpus / "sources").iterdir())
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(empty_corpus))
    rc = main(["--data-dir", str(tmp_path / "data"), "ask", ZH])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: ") and "no indexable documents" in err


def test_console_script_runs_for_real(settings, assistant):
    exe = Path(sys.executable).with_name("assistant")
    if not exe.exists():
        pytest.skip(f"console script not installed next to {sys.executable} (pip install -e . creates it)")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([str(exe), "--data-dir", str(settings.data_dir), "ask", ZH, "--json"],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    a = json.loads(proc.stdout)
    assert KEYS <= set(a) and a["refused"] is False
    assert any(PRP_QUOTE in c["quote"] for c in a["citations"])
    bad = subprocess.run([str(exe), "--data-dir", str(settings.data_dir), "ask", ""],
                         capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and bad.stdout == ""
