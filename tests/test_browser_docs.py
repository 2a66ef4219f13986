"""The Documents tab in a real headless Chromium (issue 14): the library list with provenance, an upload of
a small guideline, then a question about it in the Clinician tab, answered and cited with no restart.

Its own server and data dir (the upload changes the library); login is off, so the admin controls show.
Screenshots of both tabs are saved under tests/artifacts/.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest import own_data_dir  # noqa: E402
from conftest_app import running_server  # noqa: E402
from test_browser import ARTIFACTS, CHROMIUM, ask, browser, page  # noqa: E402,F401 - fixtures reused (on our url)

pytestmark = [pytest.mark.browser, pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing: run `make browser-deps`")]
GUIDE = "# 肩袖损伤康复指引\n\n## 康复训练\n\n肩袖修补术后第 6 周开始主动活动度训练，每日 2 次。\n"
QUESTION = "肩袖修补术后第几周开始主动活动度训练?"
BUILD_MS = 600_000  # an upload rebuilds the index: minutes on two busy cores


@pytest.fixture(scope="module")
def url(settings, tmp_path_factory):
    data = own_data_dir(settings, tmp_path_factory, "docs-ui")
    with running_server(data, tmp_path_factory.mktemp("log") / "docs-ui.log") as u:
        yield u + "/"


def test_upload_in_documents_tab_then_ask_in_clinician_tab(page, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    page.get_by_role("tab", name="文档").click()
    table = page.locator("#docs-table")
    expect(table).to_contain_text("aspn-2024-regenerative-chronic-pain")
    expect(table).to_contain_text("seed")
    expect(page.locator("#docs-detail")).to_contain_text("SHA-256")
    expect(page.locator("#docs-admin")).to_be_visible()  # login off: the library may be changed

    guide = tmp_path / "rotator-cuff-rehab.md"
    guide.write_text(GUIDE, encoding="utf-8")
    page.locator("#docs-file input[type=file]").set_input_files(str(guide))
    page.locator("#docs-file").get_by_text("rotator-cuff-rehab.md").wait_for()
    page.locator("#docs-title textarea, #docs-title input").first.fill("肩袖康复（诊所版）")
    page.locator("#docs-add").click()
    expect(page.locator("#docs-result")).to_contain_text("已添加", timeout=BUILD_MS)
    expect(table).to_contain_text("rotator-cuff-rehab")
    expect(table).to_contain_text("clinic")
    expect(page.locator("#docs-detail")).to_contain_text("rotator-cuff-rehab.md")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "documents-tab-upload.png"), full_page=True)

    page.get_by_role("tab", name="临床医生").click()
    msg = ask(page, QUESTION)
    text = msg.inner_text()
    assert "第 6 周" in text and re.search(r"\[\d+\]", text), text
    summary = page.locator("#clinician-citations details.citation summary").first
    expect(summary).to_contain_text("肩袖康复（诊所版） [rotator-cuff-rehab.md]")  # the typed title + file name
    page.screenshot(path=str(ARTIFACTS / "documents-tab-then-clinician-answer.png"), full_page=True)
