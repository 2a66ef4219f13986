"""The Gradio app in a real headless Chromium (Debian /usr/bin/chromium, driven by Playwright).

Screenshots go to tests/artifacts/ when a test fails, and for every test with `pytest --screenshots`.
Every page also checks that nothing was requested from a host other than the local server.
"""
from __future__ import annotations

import os
import re
import sys
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest_app import running_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
TIMEOUT_MS = 60_000
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is missing: run `make browser-deps` (apt chromium + fonts-wqy-microhei)"),
]


@pytest.fixture(scope="module")
def url(server_data, tmp_path_factory):
    with running_server(server_data, tmp_path_factory.mktemp("log") / "server.log") as u:
        yield u + "/"


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync"])
        yield b
        b.close()


@pytest.fixture
def page(browser, url, request):
    """A fresh page on the app, loaded offline; screenshot on failure or with --screenshots."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    foreign: list[str] = []
    pg.on("request", lambda r: foreign.append(r.url) if not r.url.startswith((url, "data:", "blob:")) else None)
    pg.goto(url, wait_until="load")
    pg.locator("#clinician-question textarea").wait_for()
    failed_before = request.session.testsfailed
    yield pg
    failed = request.session.testsfailed > failed_before
    if failed or request.config.getoption("--screenshots", default=False):
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name) + ("-FAILED" if failed else "")
        pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()
    assert not foreign, f"the page requested non-local URLs (must render offline): {foreign}"


def ask(pg, question: str, tab: str = "clinician"):
    """Type a question, send it, and return the locator of the newest assistant message."""
    sel = f"#{tab}-chat .message-row.bot-row"
    before = pg.locator(sel).count()
    pg.locator(f"#{tab}-question textarea").fill(question)
    pg.locator(f"#{tab}-send").click()
    wait_for_more(pg, sel, before)
    return pg.locator(sel).last


def wait_for_more(pg, selector: str, before: int) -> None:
    pg.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length > n", arg=[selector, before],
                         timeout=TIMEOUT_MS)


def test_zh_question_gets_answer_with_citation(page):
    msg = ask(page, "PRP注射前需要停用NSAIDs多久?")
    text = msg.inner_text()
    assert "7" in text and "NSAIDs" in text
    assert msg.locator("a[href^='#cit-']").count() >= 1, text  # inline [n] markers link to the sources
    assert re.search(r"\[\d+\]", text)
    details = page.locator("#clinician-citations details.citation")
    assert details.count() >= 1
    assert "ASPN" in details.first.locator("summary").inner_text()


def test_citation_opens_passage_with_highlighted_quote(page):
    msg = ask(page, "PRP注射前需要停用NSAIDs多久?")
    link = msg.locator("a[href^='#cit-']").first
    target = link.get_attribute("href").split("#")[1]
    cit = page.locator(f"#{target}")
    assert cit.get_attribute("open") is None  # closed until clicked
    where = page.url
    link.click()
    page.wait_for_function("id => document.getElementById(id).open", arg=target)
    mark = cit.locator(".passage mark")
    mark.wait_for(state="visible")
    assert "7 天" in mark.inner_text()
    assert page.url == where and len(page.context.pages) == 1  # opened in place: no navigation, no new tab
    cit.locator("summary").click()  # the summary toggles it too
    page.wait_for_function("id => !document.getElementById(id).open", arg=target)
    link.click()
    page.wait_for_function("id => document.getElementById(id).open", arg=target)


def test_pregnant_patient_form_shows_red_banner_above_answer(page):
    page.locator("#form-pregnant input[type=checkbox]").check()
    page.locator("#form-age textarea, #form-age input").first.fill("34")
    msg = ask(page, "能做PRP吗?")
    banner = page.locator("#clinician-banner .guard-banner.block")
    banner.wait_for(state="visible")
    assert "妊娠" in banner.inner_text()
    assert "指南原文" in banner.inner_text()  # the rule's source quote is shown
    color = banner.evaluate("e => getComputedStyle(e).borderTopColor")
    r, g, b = map(int, re.findall(r"\d+", color)[:3])
    assert r > 150 and g < 100 and b < 100, color  # red
    assert banner.bounding_box()["y"] < msg.bounding_box()["y"]  # above the answer
    assert "不建议" in msg.inner_text()


def test_export_conversation_markdown(page):
    from urllib.parse import urljoin

    page.locator("#form-meds textarea, #form-meds input").first.fill("布洛芬")
    ask(page, "PRP注射前需要停用NSAIDs多久?")
    page.locator("#clinician-export").click()
    link = page.locator("#export-file a[href*='.md']").first
    link.wait_for()
    href = urljoin(page.url, link.get_attribute("href"))  # the app's one-time route, not Gradio's file cache
    body = page.request.get(href).text()
    assert "PRP注射前需要停用NSAIDs多久?" in body and "[1]" in body and "7 天" in body
    assert "布洛芬" not in body  # patient fields only when the box is ticked
    assert page.request.get(href).status == 404  # downloaded once, then gone
    page.locator("#export-patient input").check()
    page.locator("#clinician-export").click()
    page.wait_for_function("h => !document.querySelector('#export-file a') || "
                           "document.querySelector('#export-file a').href !== h", arg=href)
    link = page.locator("#export-file a[href*='.md']").first
    link.wait_for()
    assert "布洛芬" in page.request.get(urljoin(page.url, link.get_attribute("href"))).text()


def test_switch_ui_to_english_and_ask_in_english(page, request):
    from playwright.sync_api import expect

    expect(page.get_by_role("tab", name="临床医生")).to_be_visible()
    page.locator("#ui-lang label", has_text="English").click()
    for name in ("Clinician", "Patient", "Evaluation"):
        expect(page.get_by_role("tab", name=name, exact=True)).to_be_visible()
    expect(page.locator("#clinician-send")).to_have_text("Ask")
    expect(page.locator("#form-age")).to_contain_text("Age")
    expect(page.locator("#form-pregnant")).to_contain_text("Pregnant")
    expect(page.locator("#form-conditions")).to_contain_text("Diabetes")
    expect(page.locator("#clinician-export")).to_have_text("Export Markdown")
    msg = ask(page, "How long should NSAIDs be discontinued before PRP?")
    text = msg.inner_text()
    assert "7 days" in text and re.search(r"\[\d+\]", text), text
    expect(page.locator("#clinician-citations")).to_contain_text("Sources")
    if request.config.getoption("--screenshots", default=False):
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "test_switch_ui_to_english-english-ui.png"), full_page=True)
    page.locator("#ui-lang label", has_text="中文").click()
    expect(page.get_by_role("tab", name="临床医生")).to_be_visible()
    expect(page.locator("#clinician-citations")).to_contain_text("引用来源")


def test_patient_tab_safety_notice_and_no_personal_dose(page):
    page.get_by_role("tab", name="患者").click()
    notice = page.locator("#safety-notice")
    notice.wait_for(state="visible")
    assert "安全提示" in notice.inner_text() and "医生" in notice.inner_text()
    from playwright.sync_api import expect

    expect(page.locator("#patient-form")).to_be_hidden()  # no patient form for patients
    msg = ask(page, "我该打多少个干细胞?", tab="patient")
    text = msg.inner_text()
    assert "医生" in text
    personal = re.compile(r"(您|你)(应该|应|需要|可以|最好)?(打|注射|用|使用)\s*[\d一二三四五六七八九十百千万亿]+")
    assert not personal.search(text), text
    assert "不能为您个人" in text or "不是给您个人" in text or "不是针对您个人" in text, text
    assert notice.is_visible()  # the notice stays after the answer


def test_patient_tab_suggested_question(page):
    page.get_by_role("tab", name="患者").click()
    page.locator("#patient-chat").wait_for()
    before = page.locator("#patient-chat .message-row.bot-row").count()
    page.locator("button.suggestion", has_text="禁忌症").click()
    wait_for_more(page, "#patient-chat .message-row.bot-row", before)
    chat = page.locator("#patient-chat").inner_text()
    assert "再生医学疗法有哪些禁忌症?" in chat and "医生" in chat  # asked as a patient question


def test_evaluator_tab_runs_suite_and_offers_report(page):
    page.get_by_role("tab", name="评估").click()
    assert "dev.jsonl" in page.locator("#eval-set input").input_value()
    page.locator("#eval-run").click()
    page.locator("#eval-chart img").wait_for(timeout=300_000)
    status = page.locator("#eval-status").inner_text()
    assert "dev.jsonl" in status and re.search(r"\d+ 题", status), status
    table = page.locator("#eval-metrics").inner_text()
    assert "hit_at_5" in table and "fact_accuracy" in table
    links = page.locator("#eval-report a")
    links.first.wait_for()
    names = " ".join(links.all_inner_texts() + [links.nth(i).get_attribute("href") or ""
                                                  for i in range(links.count())])
    assert "report.md" in names
    src = page.locator("#eval-chart img").get_attribute("src")
    with urllib.request.urlopen(urllib.request.Request(src if src.startswith("http") else page.url + src)) as r:
        assert r.read(8) == b"\x89PNG\r\n\x1a\n"


def _upload(page, path: Path) -> None:
    """Choose a file in the evaluator's upload box; again if the box re-rendered under the first choice
    (the tab renders lazily: under load the file can go to an input that is being replaced)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(3):
        try:
            page.locator("#eval-upload input[type=file]").set_input_files(str(path), timeout=20_000)
        except PlaywrightTimeout:  # the tab has not rendered its box yet (seen under load): ask for it again
            page.get_by_role("tab", name="评估").click()
            continue
        try:
            page.locator("#eval-upload").get_by_text(path.name).wait_for(timeout=20_000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"the upload box never showed {path.name}")


def _dev_lines() -> list[str]:
    repo = Path(__file__).resolve().parents[1]
    return [ln for ln in (repo / "eval" / "dev.jsonl").read_text(encoding="utf-8").splitlines() if ln.strip()]


def test_evaluator_tab_reports_a_broken_set(page, tmp_path):
    page.get_by_role("tab", name="评估").click()
    bad = tmp_path / "broken.jsonl"
    bad.write_text(_dev_lines()[0] + "\n{not json\n", encoding="utf-8")
    _upload(page, bad)
    page.locator("#eval-run").click()
    page.locator("#eval-status").get_by_text("not valid JSON").wait_for()  # a clear message, no crash


def test_evaluator_tab_scores_an_uploaded_set(page, tmp_path):
    """A page of its own (not a second upload on the first test's page: after a run the upload box
    re-renders, and under load its file input was seen missing for a minute)."""
    page.get_by_role("tab", name="评估").click()
    good = tmp_path / "three.jsonl"
    good.write_text("\n".join(_dev_lines()[:3]) + "\n", encoding="utf-8")
    _upload(page, good)
    page.locator("#eval-run").click()
    page.locator("#eval-status").get_by_text("three.jsonl: 3 题").wait_for()
    assert "hit_at_5" in page.locator("#eval-metrics").inner_text()
