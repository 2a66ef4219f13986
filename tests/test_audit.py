"""Audit log: one record per answer (in-process, CLI and REST asks), never patient values or question text
(unless ASSISTANT_AUDIT_TEXT=1), safe under concurrent threads and processes; `assistant audit` numbers.
Server logs (REST and the Gradio app) never hold patient values either (issue 10, point 6)."""
from __future__ import annotations

import json
import multiprocessing
import os
import stat
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest_app import post_json, running_server  # noqa: E402

from assistant import audit  # noqa: E402
from assistant.config import Settings  # noqa: E402

# Patient values and a question no other test uses: they must never reach the audit files or the logs.
MED = "Zyxoprofenat"
PATIENT = {"age": 83, "medications": [MED], "glucose_mmol_l": 12.34, "conditions": ["diabetes"]}
QUESTION = "这位患者能做PRP注射吗?审计测试专用问题甲乙丙"
SECRETS = (MED, "12.34", "审计测试专用问题甲乙丙")


def records(data_dir: Path) -> list[dict]:
    return list(audit.read(Settings.load(data_dir=data_dir)))


def audit_bytes(data_dir: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted((data_dir / "audit").glob("*.jsonl")))


def mine(data_dir: Path, question: str) -> list[dict]:
    key = audit.salt(Settings.load(data_dir=data_dir))
    return [r for r in records(data_dir) if r["question_hash"] == audit.question_hash(question, key)]


def test_an_answer_appends_one_record_without_patient_values_or_question(assistant, settings) -> None:
    before = len(mine(settings.data_dir, QUESTION))
    ans = assistant.ask([QUESTION], patient=PATIENT)
    (rec,) = mine(settings.data_dir, QUESTION)[before:]
    assert rec["index_version"] == assistant.index.version and len(rec["corpus_hash"]) == 64
    assert rec["audience"] == "clinician" and rec["language"] == "zh" and rec["turns"] == 1
    assert rec["passage_ids"] == [sp.passage.id for sp in ans.passages]
    assert [(c["doc_id"], c["start"], c["end"]) for c in rec["cited"]] == \
        [(c.doc_id, c.start, c.end) for c in ans.citations]
    assert {f["rule_id"] for f in rec["findings"]} == {f.rule_id for f in ans.findings}
    assert rec["level"] == ans.level and rec["refused"] is ans.refused
    assert rec["latency_ms"] == ans.timings_ms["total"] > 0
    assert "question" not in rec
    text = audit_bytes(settings.data_dir)
    assert not [s for s in SECRETS if s in text]
    for f in ans.findings:  # finding messages may name patient values: only rule ids are recorded
        assert f.message not in text


def test_files_are_private(assistant, settings) -> None:
    assistant.ask(["PRP注射前需要停用NSAIDs多久?"])
    d = settings.data_dir / "audit"
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert stat.S_IMODE((d / ".salt").stat().st_mode) == 0o600
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in d.glob("*.jsonl"))
    assert len((d / ".salt").read_bytes().strip()) == 64


def test_question_text_only_when_asked_for(assistant, settings) -> None:
    rec = audit.record(assistant.ask(["What is PRP?"]), assistant.index, ["What is PRP?"], b"k", with_text=True)
    assert rec["question"] == "What is PRP?"
    assert Settings.load(data_dir=settings.data_dir).audit_text is False
    os.environ["ASSISTANT_AUDIT_TEXT"] = "1"
    try:
        assert Settings.load().audit_text is True
    finally:
        del os.environ["ASSISTANT_AUDIT_TEXT"]


def test_a_cli_ask_is_audited(settings) -> None:
    q = "间充质干细胞常用剂量是多少?审计CLI"
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(settings.data_dir)}
    done = subprocess.run([sys.executable, "-m", "assistant.cli", "ask", q, "--patient", json.dumps(PATIENT)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    (rec,) = mine(settings.data_dir, q)
    assert rec["audience"] == "clinician" and rec["passage_ids"]
    assert not [s for s in SECRETS if s in audit_bytes(settings.data_dir)]


def test_rest_and_ui_asks_are_audited_and_logs_hold_no_patient_values(server_data, tmp_path) -> None:
    from gradio_client import Client

    log = tmp_path / "server.log"
    with running_server(server_data, log) as url:
        status, d = post_json(url + "/api/ask", {"turns": [QUESTION], "patient": PATIENT, "audience": "patient"})
        assert status == 200, d
        bad = dict(PATIENT, glucose_mmol_l=1e308)  # a 4xx that names the patient's other values nowhere
        assert post_json(url + "/api/ask", {"turns": [QUESTION], "patient": bad})[0] == 400
        client = Client(url + "/", verbose=False)
        client.predict(QUESTION, json.dumps(PATIENT), "clinician", api_name="/ask")
        with pytest.raises(Exception):
            client.predict(QUESTION, json.dumps(dict(PATIENT, weight=70)), "clinician", api_name="/ask")
    recs = mine(server_data, QUESTION)
    assert [r["audience"] for r in recs] == ["patient", "clinician"]
    assert not [s for s in SECRETS if s in audit_bytes(server_data)]
    assert not [s for s in SECRETS if s in log.read_text(encoding="utf-8", errors="replace")]


# ----------------------------------------------------------------------------- concurrency (real files)
def _writer(data_dir: str, tag: str, n: int) -> None:
    s = Settings.load(data_dir=Path(data_dir))
    for i in range(n):
        audit.append(s, {"time": "2026-12-01T10:00:00.000+00:00", "tag": tag, "i": i, "pad": "x" * 9000})


def test_concurrent_threads_and_processes_never_interleave(tmp_path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), f"p{k}", 150)) for k in range(3)]
    threads = [threading.Thread(target=_writer, args=(str(tmp_path), f"t{k}", 150)) for k in range(3)]
    for w in procs + threads:
        w.start()
    for w in procs + threads:
        w.join(timeout=300)
    lines = (tmp_path / "audit" / "2026-12-01.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 900
    got = [json.loads(line) for line in lines]  # every line whole
    assert {(r["tag"], r["i"]) for r in got} == {(f"{w}{k}", i) for w in "pt" for k in range(3) for i in range(150)}


# ----------------------------------------------------------------------------- the summary
def _rec(day: str, audience: str, lang: str, latency: float, level: str = "none", refused: bool = False,
         rules: tuple[str, ...] = ()) -> dict:
    return {"time": f"{day}T08:00:00.000+00:00", "index_version": "v1", "audience": audience, "language": lang,
            "findings": [{"rule_id": r, "level": level} for r in rules], "conflicts": [], "level": level,
            "refused": refused, "latency_ms": latency, "question_hash": "h"}


def test_summary_numbers_and_cli(tmp_path) -> None:
    s = Settings.load(data_dir=tmp_path)
    recs = [_rec("2026-11-30", "clinician", "zh", 10.0),
            _rec("2026-12-01", "clinician", "en", 20.0, refused=True),
            _rec("2026-12-01", "patient", "zh", 30.0, "block", rules=("contraindication_pregnancy",)),
            _rec("2026-12-01", "clinician", "zh", 40.0, "block", rules=("contraindication_pregnancy", "msc_dose")),
            _rec("2026-12-02", "clinician", "zh", 1000.0, "warn", rules=("source_conflict",))]
    for r in recs:
        audit.append(s, r)
    (tmp_path / "audit" / "2026-12-02.jsonl").open("a").write('{"torn":')  # a killed writer's last line
    out = audit.summarise(audit.read(s))
    assert out["answers"] == 5 and out["refused"] == 1 and out["blocked"] == 2
    assert out["by_day"] == {"2026-11-30": 1, "2026-12-01": 3, "2026-12-02": 1}
    assert out["by_audience"] == {"clinician": 4, "patient": 1} and out["by_language"] == {"zh": 4, "en": 1}
    assert out["blocks_by_rule"] == {"contraindication_pregnancy": 2, "msc_dose": 1}
    assert out["warnings_by_rule"] == {"source_conflict": 1}
    assert out["latency_ms_p50"] == 30.0 and out["latency_ms_p95"] == 1000.0
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path)}
    run = [sys.executable, "-m", "assistant.cli", "audit"]
    done = subprocess.run(run + ["--since", "2026-12-01", "--json"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    since = json.loads(done.stdout)
    assert since["answers"] == 4 and since["by_day"] == {"2026-12-01": 3, "2026-12-02": 1}
    assert since["latency_ms_p50"] == 30.0
    done = subprocess.run(run, env=env, capture_output=True, text=True)
    assert "answers: 5 (refused 1, blocked 2)" in done.stdout
    assert "blocks by rule: contraindication_pregnancy 2, msc_dose 1" in done.stdout
    done = subprocess.run(run + ["--since", "yesterday"], env=env, capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.startswith("error:") and len(done.stderr.splitlines()) == 1


def test_auditing_can_be_switched_off(tmp_path, assistant) -> None:
    off = replace(assistant.settings, data_dir=tmp_path, audit=False)
    audit.log_answer(off, assistant.index, ["q"], assistant.ask(["What is PRP?"]))
    assert not list((tmp_path / "audit").glob("*.jsonl")) if (tmp_path / "audit").exists() else True
