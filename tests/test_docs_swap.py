"""A document removed while clients are asking (issue 14): `assistant docs remove ID` into the data dir of a
running `assistant serve`, eight keep-alive clients asking throughout (tests/swap_harness.py).

No request may fail, the pregnancy block must hold, the server must switch to the version without the
document with no restart, and afterwards the document is no longer cited. Run with -s for the figures.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import swap_harness  # noqa: E402
from conftest import ingest_cli, own_data_dir  # noqa: E402
from conftest_app import get_json, post_json, running_server, server_env  # noqa: E402

pytestmark = pytest.mark.integration
SECONDS = float(os.environ.get("ASSISTANT_TEST_SWAP_S", "20"))


@pytest.fixture(scope="module")
def removal_data(settings, tmp_path_factory):
    """A data dir of its own holding the harness's document, ready to be removed."""
    d = own_data_dir(settings, tmp_path_factory, "docs-swap")
    ingest_cli(d, swap_harness.write_new_doc(d.parent), "--quiet")
    return d


def test_removal_while_serving_has_no_errors(removal_data, tmp_path):
    with running_server(removal_data, tmp_path / "server.log") as url:
        status, before = post_json(url + "/api/ask", {"turns": [swap_harness.NEW_QUESTION]})
        assert status == 200 and swap_harness._cites_new_doc(before), before["text"]  # there to begin with

        fig = swap_harness.run(url, removal_data, seconds=SECONDS, ingest_at=min(5.0, SECONDS / 4),
                               doc_dir=tmp_path, env=server_env(removal_data),
                               command=["docs", "remove", swap_harness.NEW_DOC_ID, "--quiet"], wait_switch_s=120)
        print("\n" + fig.summary().replace("`assistant ingest`", "`assistant docs remove`"))

        assert fig.ingest_rc == 0, fig.ingest_output
        assert f"removed: {swap_harness.NEW_DOC_ID}" in fig.ingest_output
        assert fig.new_version and fig.new_version != fig.old_version
        assert len(fig.samples) > 8
        assert not fig.errors, [(s.status, s.error) for s in fig.errors[:5]]
        assert fig.health_errors == 0
        assert not fig.not_blocked, "the pregnancy block must hold before, during and after the removal"
        assert fig.health_switch is not None, fig.health[-5:]

        status, h = get_json(url + "/api/health")
        assert status == 200 and h["corpus_version"] == fig.new_version
        assert swap_harness.NEW_DOC_ID not in h["documents"]
        status, d = post_json(url + "/api/ask", {"turns": [swap_harness.NEW_QUESTION]})
        assert status == 200 and not swap_harness._cites_new_doc(d), d["text"]
        assert not any(c["doc_id"] == swap_harness.NEW_DOC_ID for c in d["citations"] + d["see_also"])
        assert "Traceback" not in (tmp_path / "server.log").read_text(encoding="utf-8", errors="replace")
