"""Hostile input (issue 10, point 5): every case is a 4xx or a CLI `error:` line with exit code 2,
never a 500 or a traceback; patient numbers must be plausible (ranges in one place: patient.PLAUSIBLE).
"""
from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest_app import free_port, post_json, running_server, server_env  # noqa: E402

from assistant.config import Settings
from assistant.model import InputError
from assistant.guard.patient import PLAUSIBLE, PatientContext

REPO = Path(__file__).resolve().parents[1]
NSAID_Q = "PRP注射前需要停用NSAIDs多久?"
DEEP = 5000


def _nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


# ----------------------------------------------------------------------------------------- patient ranges
@pytest.mark.parametrize("name", sorted(n for n in PLAUSIBLE if n != "last_dose_days_ago"))
def test_plausible_ranges_bound_every_number_field(name):
    low, high, _ = PLAUSIBLE[name]
    assert getattr(PatientContext.from_dict({name: float(low)}), name) == float(low)
    assert getattr(PatientContext.from_dict({name: str(high)}), name) == float(high)
    for bad in (float(high) * 1.01 + 1, 1e308, float(low) - 0.1 if low > 0 else -0.1):
        with pytest.raises(InputError, match=name):
            PatientContext.from_dict({name: bad})


@pytest.mark.parametrize("patient,fragment", [
    ({"glucose_mmol_l": 1e308}, "between 0.5 and 60"),
    ({"glucose_mg_dl": 100000}, "between 9 and 1100"),
    ({"platelets_10e9_per_l": 1e9}, "between 0 and 2000"),
    ({"age": 131}, "between 0 and 130"),
    ({"age": float("inf")}, "non-negative number"),
    ({"age": float("nan")}, "non-negative number"),
    ({"age": 10 ** 5000}, "must be a number"),
    ({"age": "1" * 500}, "must be a number"),
    ({"measures": {"eGFR": 900}}, "between 0 and 250"),
    ({"measures": {"some_lab": 1e12}}, "between 0 and 1000000"),
    ({"last_dose_days_ago": {"布洛芬": 1e6}}, "between 0 and 36500"),
    ({"medications": ["\ud800"]}, "list of non-empty strings"),
    ({"medications": ["x" * 5000]}, "list of non-empty strings"),
    ({"planned_intervention": "PRP\udcff"}, "planned_intervention"),
    ({"\ud800": 1}, "unknown patient field"),
])
def test_implausible_or_unprintable_patient_values_are_input_errors(patient, fragment):
    with pytest.raises(InputError, match=fragment) as e:
        PatientContext.from_dict(patient)
    str(e.value).encode("utf-8")  # the message itself can always be printed and sent
    assert len(str(e.value)) < 400


def test_deeply_nested_patient_values_are_input_errors():
    deep = x = {}
    for _ in range(DEEP):
        x["a"] = {}
        x = x["a"]
    for patient in ({"measures": deep}, {"medications": [deep]}, {"age": deep}, {"conditions": deep}):
        with pytest.raises(InputError):
            PatientContext.from_dict(patient)


# ----------------------------------------------------------------------------------------- REST, real server
@pytest.fixture(scope="module")
def url(server_data, tmp_path_factory):
    with running_server(server_data, tmp_path_factory.mktemp("edges") / "server.log") as u:
        yield u


def _raw(url: str, raw: bytes) -> tuple[int, dict]:
    return post_json(url + "/api/ask", None, raw=raw)


REST_BAD = {
    "lone surrogate": b'{"turns": ["\\ud800"]}',
    "lone surrogate in an earlier turn": b'{"turns": ["\\udfff PRP", "PRP?"]}',
    "surrogate in audience": b'{"turns": ["PRP?"], "audience": "\\ud800"}',
    "surrogate field name": b'{"turns": ["PRP?"], "\\ud800": 1}',
    "surrogate patient key": b'{"turns": ["PRP?"], "patient": {"\\ud800": 1}}',
    "surrogate medication": b'{"turns": ["PRP?"], "patient": {"medications": ["\\udcff"]}}',
    "patient 5000 deep": b'{"turns": ["PRP?"], "patient": ' + _nested(DEEP).encode() + b"}",
    "patient object 5000 deep": b'{"turns": ["PRP?"], "patient": {"measures": '
                                + b'{"a": ' * DEEP + b"1" + b"}" * DEEP + b"}}",
    "patient 500 deep (under the parser's limit)": b'{"turns": ["PRP?"], "patient": {"measures": '
                                                    + _nested(500).encode() + b"}}",
    "turns 5000 deep": b'{"turns": ' + _nested(DEEP, '"a"').encode() + b"}",
    "glucose 1e308": b'{"turns": ["PRP?"], "patient": {"glucose_mmol_l": 1e308}}',
    "glucose 1e400 (inf)": b'{"turns": ["PRP?"], "patient": {"glucose_mmol_l": 1e400}}',
    "glucose NaN": b'{"turns": ["PRP?"], "patient": {"glucose_mmol_l": NaN}}',
    "glucose mg/dL 100000": b'{"turns": ["PRP?"], "patient": {"glucose_mg_dl": 100000}}',
    "platelets 1e9": b'{"turns": ["PRP?"], "patient": {"platelets_10e9_per_l": 1e9}}',
    "age with 5000 digits": b'{"turns": ["PRP?"], "patient": {"age": 1' + b"0" * DEEP + b"}}",
    "51 turns": json.dumps({"turns": ["PRP?"] * 51}).encode(),
    "invalid UTF-8": b'{"turns": ["\xff\xfe"]}',
}


@pytest.mark.parametrize("raw", list(REST_BAD.values()), ids=list(REST_BAD))
def test_hostile_bodies_are_4xx_with_a_message(url, raw):
    status, d = _raw(url, raw)
    assert 400 <= status < 500, (status, d)
    assert isinstance(d.get("error"), str) and len(d["error"]) > 5
    assert "Error" not in d["error"] or "internal" not in d["error"], d


def test_a_4xx_keeps_the_keep_alive_connection(url):
    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    try:
        statuses = []
        for raw in (REST_BAD["patient 5000 deep"], REST_BAD["lone surrogate"],
                    json.dumps({"turns": [NSAID_Q]}).encode()):
            conn.request("POST", "/api/ask", body=raw, headers={"Content-Type": "application/json"})
            if not statuses:
                sock = conn.sock
            r = conn.getresponse()
            r.read()
            statuses.append(r.status)
            assert conn.sock is sock, "the server closed the connection"
        assert statuses == [400, 400, 200]
    finally:
        conn.close()


# ----------------------------------------------------------------------------------------- a 500 is generic and keeps the connection
class _Exploding:
    """An assistant whose pipeline fails inside, with a patient value in the exception's message."""

    settings = Settings()  # the real defaults: every route reads its own limits from them

    def ask(self, turns, patient=None, audience="clinician"):
        raise RuntimeError("secret value 布洛芬 in the message")

    def health(self):
        return {"status": "ok"}


def test_an_internal_error_is_a_generic_500_and_keeps_the_connection(caplog):
    import uvicorn
    from fastapi import FastAPI

    from assistant.web import rest

    app = FastAPI()
    rest.install(app, _Exploding())
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/api/ask", body=b'{"turns": ["PRP?"]}', headers={"Content-Type": "application/json"})
        sock = conn.sock
        r = conn.getresponse()
        body = json.loads(r.read())
        assert r.status == 500 and "internal error" in body["error"] and "secret" not in body["error"]
        conn.request("GET", "/api/health")
        r = conn.getresponse()
        assert r.status == 200 and json.loads(r.read())["status"] == "ok"
        assert conn.sock is sock, "a 500 must not reset the keep-alive connection"
        conn.close()
    finally:
        server.should_exit = True
        t.join(10)
    assert not any("secret" in r.getMessage() for r in caplog.records), "logs never hold patient values"


# ----------------------------------------------------------------------------------------- CLI
def _cli(*args: bytes | str, data_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable.encode(), b"-m", b"assistant.cli",
                           *(a if isinstance(a, bytes) else a.encode() for a in args)], cwd=REPO,
                          env=server_env(data_dir), capture_output=True, timeout=300)


CLI_BAD = {
    "invalid UTF-8 argument": [b"ask", b"\xff\xfe PRP?"],
    "invalid UTF-8 in --patient": [b"ask", b"PRP?", b"--patient", b'{"medications": ["\xff"]}'],
    "deep --patient": ["ask", "PRP?", "--patient", _nested(DEEP)],
    "deep --patient object": ["ask", "PRP?", "--patient", '{"measures": ' + '{"a": ' * DEEP + "1" + "}" * DEEP + "}"],
    "implausible --patient": ["ask", "PRP?", "--patient", '{"glucose_mmol_l": 1e308}'],
    "digits --patient": ["ask", "PRP?", "--patient", '{"age": 1' + "0" * DEEP + "}"],
    "200 turns": ["ask", *(["PRP?"] * 200)],
    "51 turns": ["ask", *(["PRP?"] * 51)],
    "check: invalid UTF-8": [b"check", b"\xff PRP?"],
}


@pytest.mark.parametrize("args", list(CLI_BAD.values()), ids=list(CLI_BAD))
def test_cli_bad_input_is_one_error_line_and_exit_2(args, tmp_path):
    done = _cli(*args, data_dir=tmp_path / "no-index-needed")
    err = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2, err[-2000:]
    assert "Traceback" not in err and err.startswith("error: "), err[-2000:]
    assert len(err.strip().splitlines()) == 1


def test_cli_and_rest_share_the_turn_limit():
    from assistant.web import rest
    from assistant.config import Settings

    assert rest.MAX_TURNS == Settings().max_turns == 50
    with pytest.raises(rest.BadRequest):
        rest.parse_ask({"turns": ["q"] * 51})
    assert rest.parse_ask({"turns": ["q"] * 50})[0] == ["q"] * 50
    from assistant.api import check_turns

    check_turns(["q"] * 50, 50)
    with pytest.raises(InputError, match="at most 50"):
        check_turns(["q"] * 51, 50)


# ----------------------------------------------------------------------------------------- Gradio
def _gradio_fn(demo, api_name: str):
    fns = demo.fns.values() if isinstance(demo.fns, dict) else demo.fns
    return next(f.fn for f in fns if f.api_name == api_name)


def test_gradio_never_shows_internal_exception_text(tmp_path):
    import gradio as gr

    from assistant.web.ui import build_ui

    demo = build_ui(_Exploding(), eval_dir=tmp_path)
    api_ask = _gradio_fn(demo, "ask")
    with pytest.raises(gr.Error) as e:
        api_ask(NSAID_Q, "", "clinician")
    assert "secret" not in str(e.value) and "RuntimeError" not in str(e.value) and "Internal error" in str(e.value)
    for bad in (_nested(DEEP), '{"age": 1' + "0" * DEEP + "}"):
        with pytest.raises(gr.Error) as e:
            api_ask(NSAID_Q, bad, "clinician")
        assert "RecursionError" not in str(e.value)
    clinician_ask = _gradio_fn(demo, "clinician_ask")
    out = clinician_ask(NSAID_Q, [], "en", "", False, [], "", "mmol/L", "", "", "")
    assert "secret" not in out[-1] and "Internal error" in out[-1]


def test_gradio_client_gets_a_plain_error_for_hostile_input(url):
    from gradio_client import Client

    client = Client(url + "/", verbose=False)
    for args in ((NSAID_Q, _nested(DEEP), "clinician"), ("\ud800", "", "clinician"),
                 (NSAID_Q, '{"glucose_mg_dl": 100000}', "clinician")):
        with pytest.raises(Exception) as e:
            client.predict(*args, api_name="/ask")
        text = str(e.value)
        assert "Traceback" not in text and "RecursionError" not in text and "UnicodeEncodeError" not in text, text
