"""The index against a real `chroma run` server (issue "Core pipeline").

Settings(chroma_host, chroma_port) switch the Chroma client from the embedded store to a server; the
rest of the index (passages, BM25, pointers) stays in the data dir.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.embed import get_embedder
from assistant.glossary import load_glossary
from assistant.index import Index, build
from assistant.versions import chroma_client, collection_name, current_version
from assistant.retrieve import DenseSearcher, Query

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
CHROMA = REPO / ".venv" / "bin" / "chroma"
QUESTION = "PRP注射前需要停用NSAIDs多久?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    exe = CHROMA if CHROMA.exists() else shutil.which("chroma")
    if not exe:
        pytest.skip("the `chroma` CLI is not installed (.venv/bin/chroma missing): cannot start a Chroma server")
    import chromadb

    root = tmp_path_factory.mktemp("chroma-server")
    port = _free_port()
    log = (root / "server.log").open("w")
    proc = subprocess.Popen([str(exe), "run", "--path", str(root / "db"), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        client = None
        for _ in range(1200):  # up to ~2 minutes on a slow machine; not a timed assertion
            if proc.poll() is not None:
                pytest.fail(f"chroma run exited with {proc.returncode}: {(root / 'server.log').read_text()[-2000:]}")
            try:
                client = chromadb.HttpClient(host="127.0.0.1", port=port)
                client.heartbeat()
                break
            except Exception:  # noqa: BLE001 - not listening yet
                client = None
                time.sleep(0.1)
        assert client is not None, "chroma server never answered its heartbeat"
        yield port, client
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def server_settings(server, settings, tmp_path_factory):
    port, client = server
    build(settings, progress=False)  # session index: its embedding cache spares re-embedding here
    d = tmp_path_factory.mktemp("data-server")
    shutil.copyfile(settings.data_dir / "embed-cache.sqlite", d / "embed-cache.sqlite")
    # someone else's collection on the same server: our garbage collection must leave it alone
    client.create_collection("someone-elses-notes", metadata={"hnsw:space": "cosine"}).add(
        ids=["n1"], embeddings=[[0.1] * 8], documents=["not ours"])
    s = Settings.load(data_dir=d, chroma_host="127.0.0.1", chroma_port=port)
    report = build(s, progress=False)
    return s, report


def test_build_stores_vectors_on_the_server(server, server_settings):
    _, client = server
    s, report = server_settings
    assert report.built
    name = collection_name(s, report.version)
    assert name in {c.name for c in client.list_collections()}
    n_views = client.get_collection(name).count()
    assert n_views >= report.passages  # zh view of every passage (+ en views where translated)
    assert not (s.data_dir / "chroma").exists()  # nothing went to the embedded store


def test_dense_retrieval_through_the_server(server_settings):
    s, report = server_settings
    index = Index.open(s)
    assert index.version == report.version
    glossary = load_glossary(str(s.corpus_dir / "glossary.tsv"))
    hits = DenseSearcher(index).search(Query(QUESTION, glossary.expand(QUESTION), get_embedder(s.embedder)), 3)
    assert "术前需停用 NSAIDs 至少 7 天" in hits[0].passage.text
    assert hits[0].score > hits[-1].score


def test_rebuild_on_the_server_keeps_foreign_collections(server, server_settings):
    _, client = server
    s, report = server_settings
    lib = s.data_dir / "library"
    lib.mkdir(exist_ok=True)
    (lib / "cryo.md").write_text("# 冷冻疗法\n\n冷冻疗法术后需冰敷 20 分钟。\n", encoding="utf-8")
    new = build(s, progress=False)
    assert new.built and new.version != report.version
    assert current_version(s) == new.version
    names = {c.name for c in chroma_client(s).list_collections()}
    assert collection_name(s, new.version) in names
    assert collection_name(s, report.version) not in names  # our superseded version is collected
    assert "someone-elses-notes" in names  # another user's collection is not ours to delete
    assert client.get_collection("someone-elses-notes").count() == 1
