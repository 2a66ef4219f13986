"""The guideline library from the command line (issue 14) and document provenance (issue 10).

`assistant docs list|show|remove|restore` and `assistant ingest FILE --replace ID`, run in-process on a
data dir of their own (real index builds, real answers): provenance is recorded for seeds and clinic files,
a typed title is shown with the file name, a removed document is no longer cited, a replaced one is cited
in its new wording, seeds need --force, and rules quoting a removed or replaced document are reported.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from assistant.cli import main
from conftest import own_data_dir

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[1]
SEED = "aspn-2024-regenerative-chronic-pain"
DOC_ID = "knee-cold"
DOC_V1 = "# 膝关节冷敷指引\n\n## 疗程安排\n\n膝关节冷敷疗法每次治疗间隔 2 天，共进行 5 次治疗。\n"
DOC_V2 = "# 膝关节冷敷指引（修订）\n\n## 疗程安排\n\n膝关节冷敷疗法每次治疗间隔 3 天，共进行 4 次治疗。\n"
QUESTION = "膝关节冷敷疗法每次治疗间隔多久?"
MINI = """# 甲氨蝶呤用药要点（测试）

## 禁忌

eGFR < 30 mL/min时禁用MTX。

## 剂量

甲氨蝶呤起始剂量为每周 7.5 mg。
"""
MINI_RULES = """version: 2
settings:
  rules_apply_when_therapy_unspecified: false
defaults:
  document: mtx-mini.md
  interventions: [甲氨蝶呤, MTX, methotrexate]
rules:
  - id: mini_egfr_below_30
    kind: threshold
    measure: eGFR
    measure_terms: [eGFR, 肾小球滤过率]
    unit: mL/min
    comparator: "<"
    value: "30"
    verdicts: {met: block, not_met: none}
    message_zh: "eGFR {value},低于 {limit} mL/min;共识规定 eGFR < {limit} mL/min 时禁用甲氨蝶呤。"
    message_en: "eGFR is {value}, below {limit} mL/min; the consensus contraindicates methotrexate."
    quote: "eGFR < 30 mL/min时禁用MTX"
"""


@pytest.fixture(scope="module")
def data(settings, tmp_path_factory) -> Path:
    """A data dir of its own (these tests change the library), with the session's embedding cache."""
    return own_data_dir(settings, tmp_path_factory, "library")


def run(capsys, data: Path, *args: str) -> tuple[int, str, str]:
    rc = main(["--data-dir", str(data), *args])
    out, err = capsys.readouterr()
    return rc, out, err


def listing(capsys, data: Path) -> dict:
    rc, out, err = run(capsys, data, "docs", "list", "--json")
    assert rc == 0, err
    return json.loads(out)


def ask(capsys, data: Path, *turns: str, patient: dict | None = None) -> dict:
    extra = ["--patient", json.dumps(patient)] if patient else []
    rc, out, err = run(capsys, data, "ask", *turns, *extra, "--json")
    assert rc == 0, err
    return json.loads(out)


def cites(answer: dict, doc_id: str) -> bool:
    return any(c["doc_id"] == doc_id for c in answer["citations"] + answer.get("see_also", []))


def test_seed_provenance_is_recorded(capsys, data):
    rc, _, err = run(capsys, data, "ingest", "--quiet")
    assert rc == 0, err
    docs = {d["doc_id"]: d for d in listing(capsys, data)["documents"]}
    seed = docs[SEED]
    raw = (REPO / "corpus" / "sources" / "aspn-2024-regenerative-chronic-pain.zh.txt").read_bytes()
    assert seed["added_by"] == "seed" and seed["sha256"] == hashlib.sha256(raw).hexdigest()
    assert seed["original_file"] == "000_e6a413e21e3238c2.txt" and seed["added_at"]
    assert seed["rules"] > 0 and seed["passages"] > 0
    assert seed["shown_as"] == seed["title"]  # a seed is shown by its own title


def test_docs_show_gives_the_ingest_report(capsys, data):
    rc, out, err = run(capsys, data, "docs", "show", "bmac-subchondral-knee-oa", "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["report"]["sentences"] > 0 and d["report"]["set_aside"]
    assert any("400-622-0089" in r["text"] for r in d["set_aside_lines"])  # the hotline was set aside
    rc, _, err = run(capsys, data, "docs", "show", "no-such-doc")
    assert rc == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1


def test_clinic_document_added_replaced_and_removed(capsys, data, tmp_path):
    """One document's life, in order: added under a typed title, replaced, removed."""
    doc = tmp_path / "knee-cold.md"
    doc.write_text(DOC_V1, encoding="utf-8")
    side = tmp_path / "knee-cold.meta.json"  # a sidecar cannot claim to be a seed or forge the hash
    side.write_text(json.dumps({"added_by": "seed", "sha256": "0" * 64}), encoding="utf-8")
    rc, out, err = run(capsys, data, "ingest", str(doc), "--title", "ASPN 2024 官方更新", "--quiet")
    assert rc == 0, err
    row = {d["doc_id"]: d for d in listing(capsys, data)["documents"]}[DOC_ID]
    assert row["added_by"] == "clinic" and row["original_file"] == "knee-cold.md"
    assert row["sha256"] == hashlib.sha256(DOC_V1.encode()).hexdigest()
    assert row["shown_as"] == "ASPN 2024 官方更新 [knee-cold.md]"
    answer = ask(capsys, data, QUESTION)
    cit = next(c for c in answer["citations"] if c["doc_id"] == DOC_ID)
    assert "间隔 2 天" in cit["quote"]
    assert cit["source_title"] == "ASPN 2024 官方更新 [knee-cold.md]" and cit["added_by"] == "clinic"
    rc, out, _ = run(capsys, data, "ask", QUESTION)  # the plain CLI output shows it too
    assert "ASPN 2024 官方更新 [knee-cold.md]" in out

    # replaced: the new wording is cited, the old copy kept aside
    v2 = tmp_path / "knee-cold-2026.md"
    v2.write_text(DOC_V2, encoding="utf-8")
    rc, out, err = run(capsys, data, "ingest", str(v2), "--replace", DOC_ID, "--quiet")
    assert rc == 0, err
    assert f"replaced: {DOC_ID}" in out
    row = {d["doc_id"]: d for d in listing(capsys, data)["documents"]}[DOC_ID]
    assert row["original_file"] == "knee-cold-2026.md"
    quotes = " ".join(c["quote"] for c in ask(capsys, data, QUESTION)["citations"])
    assert "间隔 3 天" in quotes and "间隔 2 天" not in quotes
    assert list((data / "removed").glob(f"*-{DOC_ID}/knee-cold.md"))  # the old copy is kept aside
    rc, _, err = run(capsys, data, "ingest", str(v2), "--replace", "no-such-doc")
    assert rc == 2 and "no document" in err

    # removed: no longer listed, cited or in the library
    rc, out, err = run(capsys, data, "docs", "remove", DOC_ID, "-q")
    assert rc == 0, err
    assert f"removed: {DOC_ID}" in out
    assert DOC_ID not in {d["doc_id"] for d in listing(capsys, data)["documents"]}
    answer = ask(capsys, data, QUESTION)
    assert not cites(answer, DOC_ID) and "3 天" not in answer["text"]
    assert not list((data / "library").glob(f"{DOC_ID}.*"))
    rc, _, err = run(capsys, data, "docs", "remove", DOC_ID)
    assert rc == 2 and "no document" in err


def test_replacing_a_documents_text_reports_the_rules_it_loses(capsys, data, tmp_path):
    doc = tmp_path / "mtx-mini.md"
    doc.write_text(MINI, encoding="utf-8")
    (tmp_path / "mtx-mini.rules.yaml").write_text(MINI_RULES, encoding="utf-8")
    rc, _, err = run(capsys, data, "ingest", str(doc), "--quiet")
    assert rc == 0, err
    assert {d["doc_id"]: d for d in listing(capsys, data)["documents"]}["mtx-mini"]["rules"] == 1
    blocked = ask(capsys, data, "患者eGFR 25 mL/min，能用甲氨蝶呤吗?")
    assert blocked["level"] == "block"
    new = tmp_path / "new" / "mtx-mini.md"
    new.parent.mkdir()
    new.write_text(MINI.replace("eGFR < 30 mL/min时禁用MTX。", "肾功能不全者慎用。"), encoding="utf-8")
    rc, out, err = run(capsys, data, "ingest", str(new), "--replace", "mtx-mini", "--quiet")
    assert rc == 0, err
    assert "rules quoting it that no longer apply (1): mini_egfr_below_30" in out
    state = listing(capsys, data)
    assert [d["rule_id"] for d in state["rules_disabled"]] == ["mini_egfr_below_30"]
    assert "no longer in the document" in state["rules_disabled"][0]["reason"]
    after = ask(capsys, data, "患者eGFR 25 mL/min，能用甲氨蝶呤吗?")
    assert not any(f["rule_id"] == "mini_egfr_below_30" for f in after["findings"])  # its quote is gone


def test_a_seed_needs_force_and_its_rules_are_reported(capsys, data):
    rc, out, err = run(capsys, data, "docs", "remove", SEED)
    assert rc == 2 and "--force" in err and len(err.strip().splitlines()) == 1
    assert SEED in {d["doc_id"] for d in listing(capsys, data)["documents"]}
    rc, out, err = run(capsys, data, "docs", "remove", SEED, "--force", "-q")
    assert rc == 0, err
    assert "rules quoting it that no longer apply" in out and "contraindication_pregnancy" in out
    state = listing(capsys, data)
    assert SEED not in {d["doc_id"] for d in state["documents"]}
    assert "contraindication_pregnancy" in {d["rule_id"] for d in state["rules_disabled"]}
    answer = ask(capsys, data, "PRP注射前需要停用NSAIDs多久?")
    assert not cites(answer, SEED) and not any(f.get("source_doc", "").startswith(SEED) for f in answer["findings"])
    rc, out, err = run(capsys, data, "docs", "restore", SEED)
    assert rc == 0, err
    assert SEED in {d["doc_id"] for d in listing(capsys, data)["documents"]}
    assert cites(ask(capsys, data, "PRP注射前需要停用NSAIDs多久?"), SEED)
    assert ask(capsys, data, "能做PRP吗?", patient={"pregnant": True})["level"] == "block"
