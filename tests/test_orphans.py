"""Leftovers of killed builds (issue 10, point 6): a SIGKILLed `assistant ingest` leaves a `.tmp-` build, a
Chroma collection, segment folders and library copies; the next ingest removes them all (never what a
lease protects) and does not index the killed ingest's file, while a running server keeps answering."""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest import ingest_cli  # noqa: E402
from conftest_app import get_json, post_json, running_server  # noqa: E402

from assistant import versions as versions_mod  # noqa: E402
from assistant import lease  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.ingest_journal import Journal, recover  # noqa: E402
from assistant.orphans import orphan_collections, orphan_segment_dirs  # noqa: E402

pytestmark = pytest.mark.integration
BIG = "killed-build"  # doc id of the file whose ingest is killed
NSAID_Q = "PRP注射前需要停用NSAIDs多久?"


@pytest.fixture(scope="module")
def data(tmp_path_factory, settings, assistant):
    d = tmp_path_factory.mktemp("orphans-data")
    shutil.copyfile(settings.data_dir / "embed-cache.sqlite", d / "embed-cache.sqlite")
    ingest_cli(d)  # the seeds
    return d


def collections(d: Path) -> list[str]:
    con = sqlite3.connect(f"file:{d / 'chroma' / 'chroma.sqlite3'}?mode=ro", uri=True, timeout=10)
    try:
        return [r[0] for r in con.execute("SELECT name FROM collections")]
    finally:
        con.close()


def leftovers(d: Path) -> dict:
    s = Settings.load(data_dir=d)
    root = s.index_root
    live = {p.read_text().strip() for p in root.glob("CURRENT-*")}
    versions = {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")}
    return {"tmp": sorted(p.name for p in root.glob(".tmp-*")),
            "collections": sorted(c for c in collections(d) if c.rsplit("-", 1)[1] not in versions),
            "segments": [p.name for p in orphan_segment_dirs(d / "chroma")],
            "versions": sorted(versions - live),
            "library": sorted(p.name for p in (d / "library").glob(f"{BIG}*")) if (d / "library").exists() else [],
            "journals": sorted(p.name for p in (d / "library").glob(".ingest-*")) if (d / "library").exists() else []}


CLEAN = {"tmp": [], "collections": [], "segments": [], "versions": [], "library": [], "journals": []}


def big_doc(path: Path) -> Path:
    """Enough passages that the collection is written in several batches: time to kill the build."""
    lines = ["# 被中断的构建测试"]
    for i in range(700):
        lines += [f"## 条目 {i}", f"测试条目第 {i} 号的说明文字，编号 {i * 7919 % 100003}。"]
    path.write_text("\n\n".join(lines), encoding="utf-8")
    return path


def test_rebuilds_leave_no_segment_folders(data, tmp_path) -> None:
    doc = tmp_path / "eswt-orphans.md"
    doc.write_text("# 冲击波\n\n## 疗程\n\n体外冲击波疗法每次治疗间隔 7 天。\n", encoding="utf-8")
    ingest_cli(data, doc)
    assert leftovers(data) == CLEAN
    (data / "library" / "eswt-orphans.md").unlink()
    (data / "library" / "eswt-orphans.meta.json").unlink()
    ingest_cli(data)  # back to the seeds: the other version's collection and its folder go
    assert leftovers(data) == CLEAN


def test_a_killed_ingest_leaves_nothing_the_next_one_uses(data, tmp_path) -> None:
    before = set(collections(data))
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data)}
    with running_server(data, tmp_path / "server.log") as url:
        assert post_json(url + "/api/ask", {"turns": [NSAID_Q]})[0] == 200
        _, health = get_json(url + "/api/health")
        proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "ingest", "--quiet",
                                 str(big_doc(tmp_path / f"{BIG}.md"))], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None:
            if set(collections(data)) - before:  # the new version's collection is being written
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        left = leftovers(data)
        assert left["tmp"] and left["collections"] and left["library"] and left["journals"], left
        assert post_json(url + "/api/ask", {"turns": [NSAID_Q]})[0] == 200  # the server never noticed

        out = ingest_cli(data)
        assert leftovers(data) == CLEAN
        assert "killed-build" not in out
        status, d = post_json(url + "/api/ask", {"turns": [NSAID_Q]})
        assert status == 200 and "7" in d["text"]
        _, after = get_json(url + "/api/health")
        assert after["corpus_version"] == health["corpus_version"] and BIG not in after["documents"]


def test_gc_never_drops_a_collection_a_lease_protects(data) -> None:
    s = Settings.load(data_dir=data)
    client = versions_mod.chroma_client(s)
    version = "0123456789ab"
    name = f"leased-test-{version}"
    coll = client.get_or_create_collection(name, embedding_function=None)
    coll.add(ids=[str(i) for i in range(50)], embeddings=[[float(i), 1.0] for i in range(50)])
    held = lease.acquire(s.index_root, version)
    try:
        versions_mod.gc(s)
        assert name in collections(data)
        assert (name, version) in orphan_collections(client, s.index_root, set())
    finally:
        held.release()
    versions_mod.gc(s)
    assert name not in collections(data)
    assert orphan_segment_dirs(data / "chroma") == []


def test_ingest_prints_its_report_notes(data) -> None:
    s = Settings.load(data_dir=data)
    version = versions_mod.current_version(s)
    held = lease.acquire(s.index_root, version)  # as a running server holds it
    try:
        out = ingest_cli(data, "--force")
    finally:
        held.release()
    assert f"note: index {version} is in use by a running process" in out


def test_a_dead_ingest_journal_rolls_back_unless_its_build_switched(tmp_path) -> None:
    s = Settings.load(data_dir=tmp_path)
    library = tmp_path / "library"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    for doc, live in (("a-doc", set()), ("b-doc", {"b-doc"})):
        j = Journal(library, pid=dead.pid)
        j.add(library / f"{doc}.md", doc)
        (library / f"{doc}.md").write_text("x", encoding="utf-8")
        (library / "kept.md").write_text("already there", encoding="utf-8")
        j.add(library / "kept.md", doc)  # existed before: never listed
        rolled = recover(s, live_docs=live)
        assert rolled == ([] if live else [f"{doc}.md"])
        assert (library / f"{doc}.md").exists() == bool(live)
        assert (library / "kept.md").exists() and not list(library.glob(".ingest-*"))
    mine = Journal(library)  # a live process's journal is left alone
    mine.add(library / "c-doc.md", "c-doc")
    (library / "c-doc.md").write_text("x", encoding="utf-8")
    assert recover(s, live_docs=set()) == [] and (library / "c-doc.md").exists()
    assert json.loads(mine.path.read_text())["files"] == ["c-doc.md"]
