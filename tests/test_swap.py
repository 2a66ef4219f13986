"""Live index swap (issue 10): `assistant ingest` into the data dir of a running `assistant serve`.

Eight keep-alive clients ask for ~20 s while the ingest runs. No request may fail (no 5xx, no reset
connection), the pregnancy block must hold throughout, and after the ingest the new document must be
answered and cited, with no restart, and /api/health must show the new version. The figures are printed
(run with -s to see them): requests, errors, p95, when the new document became answerable.
"""
from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import swap_harness  # noqa: E402
from conftest_app import get_json, post_json, running_server, server_env  # noqa: E402

pytestmark = pytest.mark.integration
SECONDS = float(os.environ.get("ASSISTANT_TEST_SWAP_S", "20"))


@pytest.fixture(scope="module")
def swap_data(settings, tmp_path_factory):
    """A data dir of its own (the ingest changes it), with the session's embedding cache."""
    from assistant.index import build

    build(settings, progress=False)  # the session index; a no-op when it is there
    d = tmp_path_factory.mktemp("swap") / "data"
    d.mkdir()
    shutil.copyfile(settings.data_dir / "embed-cache.sqlite", d / "embed-cache.sqlite")
    return d


def test_ingest_while_serving_swaps_with_no_errors(swap_data, tmp_path):
    with running_server(swap_data, tmp_path / "server.log") as url:
        status, before = post_json(url + "/api/ask", {"turns": [swap_harness.NEW_QUESTION]})
        assert status == 200 and not swap_harness._cites_new_doc(before)  # not there yet

        fig = swap_harness.run(url, swap_data, seconds=SECONDS, ingest_at=min(5.0, SECONDS / 4),
                               doc_dir=tmp_path, env=server_env(swap_data), wait_switch_s=60)  # a loaded machine
        print("\n" + fig.summary())

        assert fig.ingest_rc == 0, fig.ingest_output
        assert fig.new_version and fig.new_version != fig.old_version
        assert len(fig.samples) > 8
        assert not fig.errors, [(s.status, s.error) for s in fig.errors[:5]]
        assert fig.health_errors == 0
        assert not fig.not_blocked, "the pregnancy block must hold before, during and after the swap"
        assert fig.health_switch is not None, fig.health[-5:]
        assert fig.first_answerable is not None, "the new document was never answered during the run"

        # and afterwards, still no restart: health names the new version, the new document is answered
        status, h = get_json(url + "/api/health")
        assert status == 200 and h["corpus_version"] == fig.new_version and swap_harness.NEW_DOC_ID in h["documents"]
        status, d = post_json(url + "/api/ask", {"turns": [swap_harness.NEW_QUESTION]})
        assert status == 200 and swap_harness._cites_new_doc(d), d["text"]

        # the old version is collected once the server let go of it (its lease); the new one stays
        index_root = swap_data / "index"
        deadline = time.monotonic() + 10
        while (index_root / fig.old_version).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not (index_root / fig.old_version).exists()
        assert (index_root / fig.new_version / "manifest.json").exists()
        assert "Traceback" not in (tmp_path / "server.log").read_text(encoding="utf-8", errors="replace")
