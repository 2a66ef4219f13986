"""Leases on index versions (issue 10): garbage collection never removes what another process may use.

Real flock locks across real processes; the fake embedder keeps the builds quick (plumbing, not retrieval).
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from assistant import lease
from assistant.config import Settings
from assistant.index import Index, build
from assistant.versions import chroma_client, collection_name, current_version, gc

REPO = Path(__file__).resolve().parents[1]
DOC = "# 冷冻疗法指引\n\n## 术后护理\n\n冷冻疗法术后需冰敷 20 分钟以减轻肿胀。\n"

# a reader in another process: opens the current version, says so, and holds it until killed
HOLDER = textwrap.dedent("""
    import sys, time
    from assistant.config import Settings
    from assistant.index import Index
    index = Index.open(Settings.load(data_dir=sys.argv[1], embedder="fake"))
    print(index.version, flush=True)
    time.sleep(600)
""")


@pytest.fixture
def fake(tmp_path) -> Settings:
    s = Settings.load(data_dir=tmp_path / "data", embedder="fake", reload_check_s=0.0)
    build(s, progress=False)
    return s


def _add_doc(s: Settings, name: str = "cryo", text: str = DOC) -> None:
    lib = s.data_dir / "library"
    lib.mkdir(exist_ok=True)
    (lib / f"{name}.md").write_text(text, encoding="utf-8")


def _collections(s: Settings) -> set[str]:
    return {c.name for c in chroma_client(s).list_collections()}


def _holder(s: Settings) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False", HF_HUB_OFFLINE="1")
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(s.data_dir)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line:
        proc.kill()
        pytest.fail(f"holder did not open the index: {proc.stderr.read()[-2000:]}")
    return proc, line


def _stop(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(timeout=30)
    proc.stdout.close(), proc.stderr.close()


def test_shared_lease_blocks_exclusive_until_released(tmp_path):
    root = tmp_path / "index"
    v = "0123456789ab"
    reader = lease.acquire(root, v)
    assert reader is not None and reader.held
    assert lease.acquire(root, v, exclusive=True, blocking=False) is None  # another open file: conflicts
    assert lease.in_use(root, v)
    second = lease.acquire(root, v)  # readers share
    reader.release(), second.release()
    assert not lease.in_use(root, v)
    with lease.exclusive(root, v) as ex:
        assert ex is not None
        assert lease.acquire(root, v, blocking=False) is None
        lease.forget(ex)
    assert not lease.lease_path(root, v).exists()
    with pytest.raises(ValueError):
        lease.lease_path(root, "../etc")


def test_a_lease_dies_with_its_process(fake):
    proc, version = _holder(fake)
    try:
        assert lease.in_use(fake.index_root, version)
    finally:
        _stop(proc)
    assert not lease.in_use(fake.index_root, version)


def test_gc_keeps_a_version_another_process_serves(fake):
    old = current_version(fake)
    proc, held = _holder(fake)
    try:
        assert held == old
        _add_doc(fake)
        new = build(fake, progress=False)
        assert new.built and new.version != old and current_version(fake) == new.version
        # the reader's version survived the build: its files and its collection
        assert (fake.index_root / old / "manifest.json").exists()
        assert collection_name(fake, old) in _collections(fake)
        assert Index.open(fake, version=old).collection.count() > 0
        gc(fake)  # a later collection pass keeps it too, as long as the reader is there
        assert (fake.index_root / old).exists()
    finally:
        _stop(proc)
    gc(fake)  # the reader is gone: now it goes
    assert not (fake.index_root / old).exists()
    assert collection_name(fake, old) not in _collections(fake)
    assert (fake.index_root / new.version / "manifest.json").exists()
    assert collection_name(fake, new.version) in _collections(fake)


def test_an_open_index_in_this_process_is_kept_too(fake):
    old = Index.open(fake)
    _add_doc(fake)
    new = build(fake, progress=False)
    assert (fake.index_root / old.version).exists()  # our own reader holds it
    assert old.collection.count() > 0
    old.close()
    gc(fake)
    assert not (fake.index_root / old.version).exists() and current_version(fake) == new.version


def test_tmp_builds_go_only_when_their_process_is_gone(fake):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        alive_tmp = fake.index_root / f".tmp-aaaaaaaaaaaa-{sleeper.pid}"
        dead_tmp = fake.index_root / f".tmp-bbbbbbbbbbbb-{dead.pid}"
        alive_tmp.mkdir(), dead_tmp.mkdir()
        gc(fake)
        assert alive_tmp.exists(), "a build still running keeps its temporary dir"
        assert not dead_tmp.exists(), "a killed build's leftovers are removed"
    finally:
        sleeper.kill()
        sleeper.wait()
    gc(fake)
    assert not alive_tmp.exists()


def test_forced_rebuild_of_a_served_version_leaves_it_alone(fake):
    proc, held = _holder(fake)
    try:
        report = build(fake, progress=False, force=True)
        assert report.version == held and not report.built and report.notes
        assert Index.open(fake).collection.count() > 0
    finally:
        _stop(proc)
    report = build(fake, progress=False, force=True)  # nobody reads it: rebuilt in place
    assert report.built and not report.notes and Index.open(fake).version == held


def test_a_version_still_on_disk_is_reused_not_rebuilt(fake):
    old = Index.open(fake)  # keeps the old version on disk through the next build
    _add_doc(fake)
    build(fake, progress=False)
    (fake.data_dir / "library" / "cryo.md").unlink()  # back to the old corpus: the old version again
    report = build(fake, progress=False)
    assert report.version == old.version and report.built and current_version(fake) == old.version
    assert Index.open(fake).collection.count() == old.collection.count()
    old.close()


# -- the Assistant picks up a completed build ------------------------------------------------------

def test_assistant_switches_on_its_next_request_and_releases_the_old_version_after_its_last(fake):
    from assistant.api import Assistant

    a = Assistant.load(fake)
    old = a.health()["corpus_version"]
    started, finish = threading.Event(), threading.Event()
    pinned_version: list[str] = []

    def slow_request():
        with a.pinned() as s:  # a request in flight on the old version
            pinned_version.append(s.index.version)
            started.set()
            finish.wait(60)
            pinned_version.append(a.index.version)  # still its own version after the swap

    t = threading.Thread(target=slow_request)
    t.start()
    started.wait(30)
    _add_doc(fake)
    new = build(fake, progress=False).version
    assert a.refresh() == new  # what the next request does in the background, done here and waited for
    assert a.health()["corpus_version"] == new and a.health()["index_switches"] == 1
    assert "cryo" in a.index.sources
    assert (fake.index_root / old).exists() and lease.in_use(fake.index_root, old)  # the old request holds it
    finish.set()
    t.join(30)
    assert pinned_version == [old, old]
    deadline = time.monotonic() + 10
    while (fake.index_root / old).exists() and time.monotonic() < deadline:  # collected in the background
        time.sleep(0.05)
    assert not (fake.index_root / old).exists()
    ans = a.ask(["冷冻疗法术后需冰敷多久?"])
    assert ans.text


def test_assistant_polls_in_the_background_and_keeps_serving_on_a_bad_version(fake, caplog):
    from assistant.api import Assistant

    a = Assistant.load(fake)
    old = a.index.version
    _add_doc(fake)
    new = build(fake, progress=False).version
    deadline = time.monotonic() + 30
    while a.health()["corpus_version"] != new and time.monotonic() < deadline:
        a.retrieve("冷冻疗法")  # any request notices the flip; the open happens in the background
        time.sleep(0.05)
    assert a.index.version == new != old
    # a pointer naming a version that cannot be opened: the server keeps answering from what it has
    (fake.index_root / f"CURRENT-sent{fake.chunk_chars}-fake").write_text("ffffffffffff")
    a.refresh()
    assert a.index.version == new and a.retrieve("冷冻疗法")
    assert any("could not open" in r.message for r in caplog.records)
