"""File access (issue 10): the evaluator reads sets only from eval/ or an upload, never another server path;
exports are private (0700 dir, 0600 file), served once by the app's own route and removed, and hold
patient fields only when the user ticks the box.
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest_app import get_json, running_server  # noqa: E402

from assistant.web.ui import build_ui
from assistant.web.ui_eval import allowed_set, run_eval
from assistant.web.exports import PREFIX, ExportStore, install, sweep

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO / "eval"
SECRET_ID = "SECRET-RECORD-ID-4711"


def _gradio_fn(demo, api_name: str):
    fns = demo.fns.values() if isinstance(demo.fns, dict) else demo.fns
    return next(f.fn for f in fns if f.api_name == api_name)


@pytest.fixture
def outside(tmp_path) -> Path:
    """A question set somewhere else on the server, with a record id that must never be echoed."""
    p = tmp_path / "private" / "set.jsonl"
    p.parent.mkdir()
    p.write_text(json.dumps({"id": SECRET_ID, "turns": ["PRP?"]}) + "\n", encoding="utf-8")
    return p


# ----------------------------------------------------------------------------------------- evaluator
def test_allowed_set_is_eval_dir_or_upload_only(outside, tmp_path, monkeypatch):
    assert allowed_set("eval/dev.jsonl", None, EVAL) == (EVAL / "dev.jsonl").resolve()
    assert allowed_set(str(EVAL / "dev.jsonl"), None, EVAL) == (EVAL / "dev.jsonl").resolve()
    assert allowed_set("dev.jsonl", None, EVAL) == (EVAL / "dev.jsonl").resolve()
    for bad in (str(outside), "/etc/passwd", "eval/../pyproject.toml", "eval/../../../etc/x.jsonl",
                "../tests/data/x.jsonl", str(EVAL / "reports"), "eval/dev.json", ""):
        assert allowed_set(bad, None, EVAL) is None, bad
    ev = tmp_path / "eval"
    ev.mkdir()
    (ev / "escape.jsonl").symlink_to(outside)  # a link out of eval/ is outside eval/
    assert allowed_set(str(ev / "escape.jsonl"), None, ev) is None
    up = tmp_path / "uploads"
    (up / "abc").mkdir(parents=True)
    (up / "abc" / "mine.jsonl").write_text("{}\n")
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(up))
    assert allowed_set(None, str(up / "abc" / "mine.jsonl"), EVAL) == (up / "abc" / "mine.jsonl").resolve()
    assert allowed_set(None, str(outside), EVAL) is None  # an "upload" that Gradio never stored
    assert allowed_set("eval/dev.jsonl", str(outside), EVAL) is None  # the upload decides; it is not allowed


def test_run_eval_refuses_other_paths_without_revealing_them(outside):
    a = SimpleNamespace(settings=SimpleNamespace(retriever="hybrid"))
    answers = {p: run_eval(a, p, None, "en") for p in (str(outside), str(outside.parent / "missing.jsonl"),
                                                       "/etc/passwd", "/etc/hostname", "eval/../README.md")}
    assert len({r[0] for r in answers.values()}) == 1, answers  # one message: exists or not, readable or not
    status = next(iter(answers.values()))[0]
    assert "only question sets under eval/" in status and SECRET_ID not in status
    assert all(r[1:] == (None, None, None) for r in answers.values())
    assert run_eval(a, None, str(outside), "zh")[0].count("eval/") == 1


# ----------------------------------------------------------------------------------------- exports
def test_export_store_is_private_single_use_and_expires(tmp_path):
    store = ExportStore(ttl_s=60, parent=tmp_path)
    token = store.put("conversation-1.md", "# 对话\n")
    path = store.root / token / "conversation-1.md"
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.take(token, "other.md") is None and path.exists()  # the name must match too
    assert store.take(token, "conversation-1.md") == ("conversation-1.md", "# 对话\n".encode())
    assert not path.exists() and not path.parent.exists()  # removed as it was downloaded
    assert store.take(token) is None  # once only
    old = store.put("old.md", "x")
    store._items[old] = (store._items[old][0], time.monotonic() - 61)  # not downloaded within the ttl
    assert store.pending() == 0 and not (store.root / old).exists()
    store.put("x.md", "y")
    store.close()
    assert not store.root.exists()
    with pytest.raises(ValueError):
        store.put("../escape.md", "x")


def test_exports_are_removed_at_exit_and_leftovers_of_killed_servers_swept(tmp_path):
    script = ("import sys; from assistant.web.exports import ExportStore; s = ExportStore(parent=sys.argv[1]); "
              "s.put('c.md', 'patient data'); print(s.root)")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not Path(done.stdout.strip()).exists()  # gone with the process (atexit)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{PREFIX}{dead.pid}-abc"  # a killed server's: its exit handler never ran
    live = tmp_path / f"{PREFIX}{os.getpid()}-def"
    stale.mkdir(), live.mkdir()
    sweep(tmp_path)
    assert not stale.exists() and live.exists()


DRUG_MSG = "正在或近期服用非甾体抗炎药(布洛芬),但停药时间不明;PRP 术前需停用 NSAIDs 至少 7 天。"
AGE_MSG = "34 岁患者按老年人处理(年龄 ≥ 65 岁是本系统的假设)"
RECORDS = [{"question": "能做PRP吗?", "patient": {"pregnant": True, "medications": ["布洛芬"], "age": 34},
            "answer": {"text": f"注意：{DRUG_MSG}「术前需停用」 [1]\n注意：{AGE_MSG}\n\n不建议 [1]，共 34 项研究",
                       "citations": [],
                       "findings": [{"rule_id": "nsaid", "level": "warn", "message": DRUG_MSG, "source_quote": "",
                                     "source_doc": "d"},
                                    {"rule_id": "age", "level": "warn", "message": AGE_MSG, "source_quote": "",
                                     "source_doc": "d"}]}}]


def test_export_button_holds_patient_fields_only_when_ticked(tmp_path):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    store = ExportStore(parent=tmp_path)
    demo = build_ui(SimpleNamespace(settings=SimpleNamespace(retriever="hybrid")), eval_dir=EVAL, exports=store)
    export = _gradio_fn(demo, "export")
    app = FastAPI()
    install(app, store)
    client = TestClient(app)

    def download(update) -> str:
        html = update["value"]
        href = html.split("href='")[1].split("'")[0]
        assert href.startswith("export/") and href.endswith(".md")  # relative: works under any root path
        r = client.get("/" + href)
        assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
        assert r.headers["cache-control"] == "no-store"
        again = client.get("/" + href)
        assert again.status_code == 404 and "export again" in again.json()["error"]
        return r.content.decode("utf-8")

    plain = download(export(RECORDS, "zh", False))
    assert "能做PRP吗?" in plain and "布洛芬" not in plain and "pregnant" not in plain
    assert "34 岁" not in plain and "共 34 项研究" in plain  # only the guard's patient-derived words are cut
    assert "至少 7 天" in plain and "［患者信息已省略］" in plain
    full = download(export(RECORDS, "en", True))
    assert "布洛芬" in full and '"pregnant": true' in full
    assert store.pending() == 0 and not any(store.root.iterdir())  # nothing left on disk after download
    assert export([], "en", True)["visible"] is False
    store.close()


# ----------------------------------------------------------------------------------------- the real server
@pytest.fixture(scope="module")
def url(server_data, tmp_path_factory):
    with running_server(server_data, tmp_path_factory.mktemp("files") / "server.log") as u:
        yield u


def test_evaluate_endpoint_reads_no_server_path(url, outside):
    from gradio_client import Client, handle_file

    client = Client(url + "/", verbose=False)
    seen = []
    for path in (str(outside), str(outside.parent / "missing.jsonl"), "/etc/passwd", "eval/../pyproject.toml"):
        try:
            out = client.predict(path, None, "en", api_name="/evaluate")
            seen.append(str(out[0]))
        except Exception as e:  # noqa: BLE001 - Gradio refuses a value that is not one of the eval sets
            seen.append(type(e).__name__)
        assert SECRET_ID not in seen[-1] and "No such file" not in seen[-1]
    assert len(set(seen)) == 1, seen  # no oracle: existing, missing and unreadable paths look the same
    # a file handed over as if uploaded, but naming a server path (raw HTTP: gradio_client would upload
    # a local file of that name itself): refused as well
    fake_upload = {"path": str(outside), "meta": {"_type": "gradio.FileData"}, "orig_name": "set.jsonl"}
    events = _gradio_call(url, "evaluate", [None, fake_upload, "en"])
    assert SECRET_ID not in events and "1 items" not in events, events
    # a real upload is read
    one = outside.parent / "one.jsonl"
    one.write_text((EVAL / "dev.jsonl").read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    out = client.predict(None, handle_file(str(one)), "en", api_name="/evaluate")
    assert "one.jsonl: 1 items" in out[0], out[0]


def _gradio_call(url: str, api_name: str, data: list) -> str:
    """Gradio's HTTP API without gradio_client: POST the call, read its event stream to the end."""
    import urllib.request

    req = urllib.request.Request(f"{url}/gradio_api/call/{api_name}", data=json.dumps({"data": data}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=60) as r:
        event_id = json.loads(r.read())["event_id"]
    with urllib.request.urlopen(f"{url}/gradio_api/call/{api_name}/{event_id}", timeout=120) as r:
        return r.read().decode("utf-8", "replace")


def test_export_route_is_wired_before_the_ui(url):
    status, d = get_json(url + "/export/not-a-token/conversation.md")
    assert status == 404 and "export again" in d["error"]
