"""The web app's server end to end: a real `assistant serve` subprocess, REST and gradio_client.

One server per module (the index is built once per session into the shared server data dir).
"""
from __future__ import annotations

import base64
import inspect
import json
import os
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest_app import get_json, post_json, running_server  # noqa: E402

pytestmark = pytest.mark.integration
ANSWER_KEYS = {"text", "language", "query", "citations", "passages", "findings", "level", "refused", "see_also",
               "audience", "timings_ms", "support", "conflicts"}
CITATION_KEYS = {"n", "chunk_id", "doc_id", "source_title", "original_file", "section", "quote", "start", "end",
                 "quote_en", "added_by"}
NSAID_Q = "PRP注射前需要停用NSAIDs多久?"


@pytest.fixture(scope="module")
def url(server_data, tmp_path_factory):
    with running_server(server_data, tmp_path_factory.mktemp("log") / "server.log") as u:
        yield u


def ask(url: str, body: object, **kw) -> tuple[int, dict]:
    return post_json(url + "/api/ask", body, **kw)


# ----------------------------------------------------------------------------------------- REST
def test_health(url):
    status, h = get_json(url + "/api/health")
    assert status == 200
    assert h["status"] == "ok"
    assert h["passages"] > 0 and h["documents"] and h["corpus_version"]


def test_ask_zh_nsaid_answer_has_7_days_and_citation(url):
    status, d = ask(url, {"turns": [NSAID_Q], "patient": None, "audience": "clinician"})
    assert status == 200, d
    assert set(d) == ANSWER_KEYS
    assert "7" in d["text"] and not d["refused"]
    assert d["language"] == "zh" and d["audience"] == "clinician"
    assert d["citations"], d["text"]
    c = d["citations"][0]
    assert set(c) == CITATION_KEYS
    assert "7 天" in c["quote"] and f"[{c['n']}]" in d["text"]
    assert c["end"] - c["start"] == len(c["quote"])


def test_ask_defaults_and_single_string_turn(url):
    status, d = ask(url, {"turns": NSAID_Q})
    assert status == 200 and d["audience"] == "clinician" and "7" in d["text"]


def test_ask_with_pregnant_patient_blocks_with_rule_quote(url):
    status, d = ask(url, {"turns": ["能做PRP吗?"], "patient": {"pregnant": True}})
    assert status == 200, d
    assert d["level"] == "block"
    block = [f for f in d["findings"] if f["level"] == "block"]
    assert block and any("妊娠" in f["source_quote"] for f in block)


def test_ask_patient_audience_gives_no_personal_dose(url):
    status, d = ask(url, {"turns": ["我该打多少个干细胞?"], "audience": "patient"})
    assert status == 200 and d["audience"] == "patient"
    assert "医生" in d["text"]


def test_ask_follow_up_turns(url):
    status, d = ask(url, {"turns": [NSAID_Q, "那术后呢?"]})
    assert status == 200 and d["text"]


BAD = {
    "empty question": {"turns": [""]},
    "blank question": {"turns": ["   "]},
    "missing turns": {"patient": None},
    "turns empty list": {"turns": []},
    "turns wrong type": {"turns": 42},
    "turns items wrong type": {"turns": [1, 2]},
    "turns null": {"turns": None},
    "unknown patient key": {"turns": [NSAID_Q], "patient": {"weight": 80}},
    "patient not an object": {"turns": [NSAID_Q], "patient": "pregnant"},
    "patient bad value": {"turns": [NSAID_Q], "patient": {"age": "old"}},
    "patient bad condition": {"turns": [NSAID_Q], "patient": {"conditions": ["flu"]}},
    "patient pregnant not bool": {"turns": [NSAID_Q], "patient": {"pregnant": "yes"}},
    "too long": {"turns": ["PRP" * 1000]},
    "control characters": {"turns": ["PRP\x00\x07注射"]},
    "bad audience": {"turns": [NSAID_Q], "audience": "nurse"},
    "unknown top-level key": {"turns": [NSAID_Q], "question": "x"},
    "body is a list": [NSAID_Q],
    "too many turns": {"turns": ["PRP?"] * 51},
}


@pytest.mark.parametrize("body", list(BAD.values()), ids=list(BAD))
def test_bad_requests_are_4xx_with_error_message(url, body):
    status, d = ask(url, body)
    assert status in (400, 422), (status, d)
    assert isinstance(d.get("error"), str) and len(d["error"]) > 5, d


@pytest.mark.parametrize("raw", [b"not json", b"", b"\xff\xfe{", b'{"turns": ["a"'], ids=["text", "empty", "bytes", "cut"])
def test_malformed_bodies_are_4xx(url, raw):
    status, d = ask(url, None, raw=raw)
    assert status in (400, 422), (status, d)
    assert "error" in d


def test_get_on_ask_explains_post(url):
    status, d = get_json(url + "/api/ask")
    assert status == 405 and "POST" in d["error"]


def test_concurrent_asks_all_succeed(url):
    results: list[tuple[int, dict]] = []

    def one(q: str) -> None:
        results.append(ask(url, {"turns": [q]}))

    qs = [NSAID_Q, "我该打多少个干细胞?", "What are the contraindications of regenerative medicine therapies?"] * 3
    threads = [threading.Thread(target=one, args=(q,)) for q in qs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == len(qs) and all(s == 200 for s, _ in results)


# ----------------------------------------------------------------------------------------- gradio_client
def test_gradio_client_named_endpoint(url):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from gradio_client import Client

    client = Client(url + "/", verbose=False)
    assert "/ask" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    d = client.predict(NSAID_Q, "", "clinician", api_name="/ask")
    assert set(d) == ANSWER_KEYS and "7" in d["text"] and d["citations"]
    d = client.predict("能做PRP吗?", json.dumps({"pregnant": True}), "clinician", api_name="/ask")
    assert d["level"] == "block"
    for bad in (("", "", "clinician"), (NSAID_Q, "{not json", "clinician"), (NSAID_Q, '{"weight": 1}', "clinician")):
        with pytest.raises(Exception) as e:
            client.predict(*bad, api_name="/ask")
        assert "AppError" in type(e.value).__name__ or "error" in str(e.value).lower()


def test_ui_page_served(url):
    import urllib.request

    with urllib.request.urlopen(url + "/", timeout=30) as r:
        assert r.status == 200 and "<html" in r.read().decode("utf-8", "replace").lower()


# ----------------------------------------------------------------------------------------- login
def test_auth_protects_ui_and_rest(server_data, tmp_path):
    creds = tmp_path / "users.txt"
    creds.write_text("# users\nalice:s3cret\n\nbob:pw:with:colons\n", encoding="utf-8")
    with running_server(server_data, tmp_path / "auth.log", ASSISTANT_AUTH=str(creds)) as u:
        status, d = get_json(u + "/api/health")  # open for load balancers, but only the basics
        assert status == 200 and d["status"] == "ok" and "documents" not in d
        status, _ = ask(u, {"turns": [NSAID_Q]})
        assert status == 401
        good = {"Authorization": "Basic " + base64.b64encode(b"bob:pw:with:colons").decode()}
        status, d = ask(u, {"turns": [NSAID_Q]}, headers=good)
        assert status == 200 and "7" in d["text"]
        bad = {"Authorization": "Basic " + base64.b64encode(b"alice:nope").decode()}
        assert ask(u, {"turns": [NSAID_Q]}, headers=bad)[0] == 401
        status, d = get_json(u + "/config")  # Gradio's own config needs the login cookie
        assert status == 401

        from gradio_client import Client

        with pytest.raises(Exception):
            Client(u + "/", verbose=False)
        client = Client(u + "/", auth=("alice", "s3cret"), verbose=False)
        assert "7" in client.predict(NSAID_Q, "", "clinician", api_name="/ask")["text"]


# ----------------------------------------------------------------------------------------- units
def test_parse_auth(tmp_path):
    from assistant.accounts import parse_auth

    assert parse_auth(None) is None and parse_auth("  ") is None
    assert parse_auth("a:1, b:2") == [("a", "1"), ("b", "2")]
    f = tmp_path / "u.txt"
    f.write_text("x:y\n#c\n", encoding="utf-8")
    assert parse_auth(str(f)) == [("x", "y")]
    for bad in ("nocolon", "a:", ":b", "a:1,,b"):
        with pytest.raises(ValueError):
            parse_auth(bad)


def test_serve_binds_loopback_by_default():
    from assistant.web.server import serve
    from assistant.cli import parser

    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    assert parser().parse_args(["serve"]).host == "127.0.0.1"


def _fake_assistant(text: str, chunk_id: str, p_start: int, p_end: int):
    passage = SimpleNamespace(id=chunk_id, start=p_start, end=p_end)
    return SimpleNamespace(index=SimpleNamespace(texts={"doc": text}, passages=[passage]))


def test_passage_and_citations_html_highlight_exact_span_and_escape():
    from assistant.web.render import citations_html, passage_html

    text = "前文。PRP<b>:术前需停用 NSAIDs 至少 7 天。后文 & 更多。"
    start = text.index("术前")
    end = text.index("。后文")
    c = {"n": 1, "chunk_id": "c1", "doc_id": "doc", "source_title": "T <x>", "original_file": "f.txt",
         "section": ["A", "B"], "quote": text[start:end], "start": start, "end": end, "quote_en": "stop 7 days"}
    a = _fake_assistant(text, "c1", text.index("PRP"), len(text))
    h = passage_html(a, c)
    assert "<mark>术前需停用 NSAIDs 至少 7 天</mark>" in h
    assert "PRP&lt;b&gt;:" in h and "<b>" not in h and "&amp;" in h  # context is escaped, never raw HTML
    page = citations_html(a, {"citations": [c]}, 0, "zh")
    assert "id='cit-0-1'" in page and "<details" in page and "T &lt;x&gt;" in page and "A / B" in page
    wrong = dict(c, start=0, end=3)  # span does not match the quote: show the quote itself, marked
    assert passage_html(a, wrong) == f"<mark>{c['quote']}</mark>"


def test_banner_html_levels_and_export_markdown():
    from assistant.web.render import banner_html, export_markdown, link_markers

    block = {"rule_id": "r1", "level": "block", "message": "妊娠禁忌", "source_quote": "妊娠患者应避免",
             "source_doc": "d", "citation": {"n": 2}, "assumption": ""}
    warn = dict(block, rule_id="r2", level="warn", message="注意剂量", citation=None)
    assert banner_html({"findings": []}, "zh") == "" and banner_html(None, "en") == ""
    b = banner_html({"findings": [warn, block]}, "zh")
    assert "guard-banner block" in b and "妊娠患者应避免" in b and "[2]" in b and "注意剂量" in b
    assert "guard-banner warn" in banner_html({"findings": [warn]}, "en")
    assert link_markers("a [1][2]", 3) == "a [[1]](#cit-3-1)[[2]](#cit-3-2)"
    rec = [{"question": "q?", "patient": {"pregnant": True},
            "answer": {"text": "answer [1]", "findings": [block], "citations": [
                {"n": 1, "source_title": "T", "section": ["S"], "original_file": "f.txt", "start": 1, "end": 5,
                 "quote": "quote", "quote_en": "q-en"}]}}]
    md = export_markdown(rec, "en")
    assert "## Q1: q?" in md and "answer [1]" in md and "- [1] T · S · `f.txt` 1–5: 「quote」" in md
    assert "BLOCK" in md and '"pregnant": true' in md and "q-en" in md


def test_form_patient_builds_guard_dict():
    from assistant.web.ui import form_patient
    from assistant.model import InputError

    assert form_patient("", False, [], "", "mmol/L", "", "", "") is None
    assert form_patient("70", True, ["diabetes"], "150", "mg/dL", "0", "布洛芬, 阿司匹林", "") == {
        "age": 70.0, "pregnant": True, "conditions": ["diabetes"], "glucose_mg_dl": 150.0,
        "nsaid_last_dose_days_ago": 0.0, "medications": ["布洛芬", "阿司匹林"]}
    assert form_patient("", False, [], "８.２", "mmol/L", "", "", "120") == {"glucose_mmol_l": 8.2,
                                                                           "platelets_10e9_per_l": 120.0}
    with pytest.raises(InputError):
        form_patient("seventy", False, [], "", "mmol/L", "", "", "")
