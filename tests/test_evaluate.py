"""`assistant eval`: metric functions on hand-made fakes, the set loader, thresholds and exit codes,
the report writer, and one integration run against the real Assistant."""
from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import pytest

from assistant.evaluation import metrics, scoring
from assistant.evaluation import run as ev
from assistant.evaluation import report
from assistant.compose import TRANSLATION_NOTE
from assistant.model import Answer, Citation, GuardFinding, InputError, Passage, ScoredPassage

SRC = "000_e6a413e21e3238c2.txt"
OTHER = "004_ea6a453a3e40e1f5.txt"
FILES = {"aspn": SRC, "bmac": OTHER}
QUOTE = "PRP:推荐单次注射血小板数 20-50 亿"


# ------------------------------------------------------------------------------------------ fakes
def fake_item(**kw) -> dict:
    item = {"id": "t1", "lang": "zh", "audience": "clinician", "category": "fact", "turns": ["问题?"],
            "patient": None, "expected_source": SRC, "expected_facts": [], "expected_guard": "none",
            "evidence_quote": None, "must_not_say": [], "notes": ""}
    item.update(kw)
    return item


def fake_citation(n: int, quote: str, quote_en: str = "") -> Citation:
    return Citation(n=n, chunk_id=f"c{n}", doc_id="aspn", source_title="ASPN", original_file=SRC, section=[],
                    quote=quote, start=0, end=len(quote), quote_en=quote_en)


def fake_answer(text: str = "", citations=(), level: str = "none", refused: bool = False, findings=()) -> Answer:
    return Answer(text=text, language="zh", query="q", citations=list(citations), findings=list(findings),
                  level=level, refused=refused)


def fake_passages(*specs: tuple[str, str]) -> list[ScoredPassage]:
    return [ScoredPassage(Passage(id=f"p{i}", doc_id=doc, section=(), start=0, end=len(t), text=t), 1.0, i + 1)
            for i, (doc, t) in enumerate(specs)]


def original_file(doc_id: str) -> str:
    return FILES.get(doc_id, "")


# ------------------------------------------------------------------------------------------ matching
def test_norm_equates_width_case_dashes_ranges_and_separators():
    assert scoring.norm("20-50 亿") == scoring.norm("20–50亿") == scoring.norm("20～50 亿") == scoring.norm("20 至 50 亿")
    assert scoring.norm("1-2 weeks") == scoring.norm("1 to 2 Weeks")
    assert scoring.norm("5,000 万") == scoring.norm("5000万")
    assert scoring.norm("（VAS）") == scoring.norm("(vas)")  # full-width vs half-width punctuation
    assert scoring.norm("間充質幹細胞") == scoring.norm("间充质干细胞")
    assert scoring.norm("up to 5 days") != scoring.norm("up-5days")  # "to" only counts as a dash between digits


def test_overlap_is_longest_common_substring_share():
    assert scoring.overlap("推荐单次注射", "PRP:推荐 单次注射血小板") == 1.0  # whitespace-insensitive containment
    assert scoring.overlap("ABCDEFGHIJ", "xxABCDExx") == 0.5
    assert scoring.overlap("ABCDEFGHIJ", "xxABCDxxHIJ") == 0.4
    assert scoring.overlap("", "anything") == 0.0


def test_first_hit_ranks_and_requires_expected_source():
    ps = fake_passages(("bmac", QUOTE), ("aspn", "无关的句子。"), ("aspn", "前文。" + QUOTE + "。后文"))
    assert scoring.first_hit(QUOTE, SRC, ps, original_file) == 3  # rank 1 is the right text from the wrong file
    assert scoring.first_hit(QUOTE, None, ps, original_file) == 1
    assert scoring.first_hit(QUOTE, SRC, ps[:2], original_file) is None
    half = fake_passages(("aspn", "推荐单次注射血小板数"))  # 10 of 19 characters
    assert scoring.first_hit(QUOTE, SRC, half, original_file) == 1


def test_missing_facts_and_forbidden_strings():
    response = "PRP：推荐单次注射血小板数 20–50 亿 [1]\n術前需停用 NSAIDs 至少 7 天"
    assert scoring.missing_facts(["20-50 亿", "7 天", "术前"], response) == []
    assert scoring.missing_facts(["1-2 周"], response) == ["1-2 周"]
    assert scoring.forbidden(["400-622-0089", "nsaids 至少"], response) == ["nsaids 至少"]


def test_response_includes_guard_messages():
    ans = fake_answer("正文", findings=[GuardFinding("r1", "block", "距上次服用仅 3 天")])
    assert scoring.missing_facts(["3 天"], scoring.response_text(ans)) == []


def test_refusal_see_also_passages_do_not_count_as_facts_but_are_scanned_for_forbidden_strings():
    text = ("这些指南资料没有涉及这个问题。\n另见（最接近的段落，并未回答该问题）：\n- 术前需停用 NSAIDs 至少 7 天\n"
            "- 热线 400-622-0089\n\n以上是指南中的一般信息。")
    ans = fake_answer(text, refused=True, findings=[GuardFinding("r", "warn", "停药 3 天")])
    r = scoring.score_item(fake_item(expected_facts=["7 天"], must_not_say=["400-622-0089"]), ans, [], original_file)
    assert r.failures == ["fact missing: 7 天", "refused but in scope", "said forbidden: 400-622-0089"]
    assert "一般信息" in scoring.response_text(ans, see_also=False) and "3 天" in scoring.response_text(ans, see_also=False)
    assert "7 天" not in scoring.response_text(ans, see_also=False)


# ------------------------------------------------------------------------------------------ citations
def test_answer_sentences_skip_notes_guard_leads_and_refusals():
    text = ("注意：年龄 70 岁「原文」 [2]\n\nPRP 更适用于早期骨关节炎。 [1]\n" + TRANSLATION_NOTE +
            "\nThe guideline sources here do not cover this question.\n没有标注的句子讲到软骨\n"
            "以上是指南中的一般信息，不是针对您个人的诊疗建议。")
    assert scoring.answer_sentences(text) == [("PRP 更适用于早期骨关节炎。", [1]), ("没有标注的句子讲到软骨", [])]


def test_citation_supports_needs_numbers_and_a_shared_term():
    q = "PRP:推荐单次注射血小板数 20-50 亿"
    assert scoring.supports("推荐单次注射血小板数 20-50 亿", q)
    assert not scoring.supports("推荐单次注射血小板数 30 亿", q)  # number not in the quote
    assert not scoring.supports("康复训练很重要", q)  # no shared content term
    assert scoring.supports("The recommended platelet count is 2-5 billion", "中文", "platelet count 2-5 billion")


def test_citation_precision_and_recall_counts():
    good = fake_citation(1, "推荐单次注射血小板数 20-50 亿")
    bad = fake_citation(2, "术后需限制负重 1-2 周")
    ans = fake_answer("推荐单次注射血小板数 20-50 亿 [1][2]\n术后限制负重 3 周 [2]\n康复训练必不可少", [good, bad])
    supported, pairs, cited, sentences, problems = scoring.citation_check(ans)
    assert (supported, pairs, cited, sentences) == (1, 3, 1, 3)
    assert [p.split(":")[0] for p in problems] == ["citation [2] irrelevant", "unsupported sentence",
                                                   "uncited sentence"]


def test_citations_that_support_a_sentence_only_jointly_are_all_precise():
    a = fake_citation(1, "推荐单次注射血小板数 20-50 亿")
    b = fake_citation(2, "术后需限制负重 1-2 周")
    ans = fake_answer("推荐血小板数 20-50 亿，术后负重 1-2 周 [1][2]", [a, b])
    assert scoring.citation_check(ans)[:4] == (2, 2, 1, 1)
    ans = fake_answer("推荐血小板数 20-50 亿 [3]", [a])  # [3] points nowhere
    assert scoring.citation_check(ans)[:4] == (0, 1, 0, 1)


# ------------------------------------------------------------------------------------------ items and metrics
def test_score_item_failure_strings():
    item = fake_item(category="dose", expected_facts=["7 天", "20-50 亿"], expected_guard="block",
                     evidence_quote=QUOTE, must_not_say=["400-622-0089"])
    ans = fake_answer("推荐单次注射血小板数 20-50 亿 [1]\n热线 400-622-0089", [fake_citation(1, QUOTE)])
    r = scoring.score_item(item, ans, fake_passages(("aspn", "无关")), original_file, 40.0)
    assert not r.passed
    assert "hit@5 miss" in r.failures
    assert "fact missing: 7 天" in r.failures
    assert "guard: expected block got none" in r.failures
    assert "said forbidden: 400-622-0089" in r.failures


def test_score_item_refusals_both_ways():
    oos = scoring.score_item(fake_item(category="out_of_scope", expected_source=None), fake_answer("答"), [],
                        original_file)
    assert oos.failures == ["answered but out of scope"]
    inscope = scoring.score_item(fake_item(), fake_answer("资料没有涉及", refused=True), [], original_file)
    assert inscope.failures == ["refused but in scope"]
    assert inscope.cits is None  # refused answers are not scored for citations


class FakeAssistant:
    """Stands in for assistant.api.Assistant: canned answers, one retrieval list, no index."""

    def __init__(self, answers: dict[str, Answer], passages: list[ScoredPassage]):
        self.answers, self.passages = answers, passages
        self.index = argparse.Namespace(sources={d: argparse.Namespace(original_file=f) for d, f in FILES.items()})

    def ask(self, turns, patient=None, audience="clinician"):
        if not turns[-1].strip():
            raise InputError("the question is empty")
        return self.answers[turns[-1]]

    def retrieve(self, question, k):
        return self.passages[:k]


def fake_results() -> list[scoring.ItemResult]:
    passages = fake_passages(("aspn", "无关"), ("aspn", QUOTE))
    a = FakeAssistant({
        "q1": fake_answer("推荐单次注射血小板数 20-50 亿 [1]", [fake_citation(1, QUOTE)], level="block"),
        "q2": fake_answer("不在资料中", refused=True),
        "q3": fake_answer("资料没有涉及", refused=True),
    }, passages)
    items = [
        fake_item(id="a", category="dose", turns=["q1"], expected_facts=["20-50 亿"], expected_guard="block",
                  evidence_quote=QUOTE),
        fake_item(id="b", category="out_of_scope", turns=["q2"], expected_source=None, lang="en"),
        fake_item(id="c", category="fact", turns=["q3"], expected_facts=["7 天"], evidence_quote=QUOTE,
                  patient={"age": 70}, expected_guard="warn", audience="patient"),
        fake_item(id="d", category="fact", turns=["   "], expected_facts=["x"]),  # InputError -> failure
    ]
    return ev.run(a, items)


def test_aggregate_metrics_on_fakes():
    res = fake_results()
    m = metrics.aggregate(res)
    assert m["n"] == 4 and m["errors"] == 1
    assert m["hit_at_1"] == 0.0 and m["hit_at_5"] == 1.0 and m["mrr_at_10"] == 0.5
    assert m["fact_accuracy"] == pytest.approx(1 / 3, abs=1e-3)  # a ok, c missing, d error
    assert m["guard_accuracy"] == 0.5  # a block==block, c none!=warn
    assert m["refusal_accuracy"] == 1.0
    assert m["false_refusal_rate"] == 0.5  # c refused; d (error) not counted
    assert m["citation_precision"] == 1.0 and m["citation_recall"] == 1.0
    assert m["must_not_say_violations"] == 0
    assert m["latency_ms_p50"] is not None and m["pass_rate"] == 0.5
    assert [r.passed for r in res] == [True, True, False, False]
    assert res[3].failures == ["error: InputError: the question is empty"]
    conf = metrics.confusion(res)
    assert conf["block"]["block"] == 1 and conf["warn"]["none"] == 1
    assert set(metrics.breakdown(res, "lang")) == {"en", "zh"}


def test_progress_bar_only_when_asked(capsys):
    a = FakeAssistant({"q1": fake_answer("答")}, [])
    ev.run(a, [fake_item(turns=["q1"])], "cfg", progress=False)
    assert "%|" not in capsys.readouterr().err
    ev.run(a, [fake_item(turns=["q1"])], "cfg", progress=True)
    assert "cfg" in capsys.readouterr().err


def test_invalid_item_is_a_failure_not_a_crash():
    r = ev.evaluate_item(FakeAssistant({}, []), fake_item(turns="not a list"))
    assert r.failures == ["error: invalid item: turns must be a non-empty list of strings"]


# ------------------------------------------------------------------------------------------ loader
def _write(tmp_path: Path, rows: list) -> Path:
    p = tmp_path / "set.jsonl"
    p.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows),
                 encoding="utf-8")
    return p


def test_loader_reads_a_valid_set_and_defaults_must_not_say(tmp_path):
    item = fake_item()
    del item["must_not_say"]
    assert scoring.load_set(_write(tmp_path, [item]))[0]["must_not_say"] == []


def test_loader_names_the_line_of_a_missing_key(tmp_path):
    bad = fake_item(id="t2")
    del bad["expected_guard"]
    with pytest.raises(scoring.EvalSetError, match=r"set.jsonl:2: item 't2' is missing required key\(s\): expected_guard"):
        scoring.load_set(_write(tmp_path, [fake_item(), bad]))


def test_loader_rejects_bad_json_and_non_objects(tmp_path):
    with pytest.raises(scoring.EvalSetError, match=r":1: not valid JSON"):
        scoring.load_set(_write(tmp_path, ["{not json"]))
    with pytest.raises(scoring.EvalSetError, match=r":1: expected a JSON object"):
        scoring.load_set(_write(tmp_path, ["[1, 2]"]))
    with pytest.raises(scoring.EvalSetError, match="not found"):
        scoring.load_set(tmp_path / "missing.jsonl")


def test_loader_warns_about_unknown_keys(tmp_path):
    with pytest.warns(UserWarning, match="unknown key 'difficulty'"):
        items = scoring.load_set(_write(tmp_path, [fake_item(difficulty="hard")]))
    assert len(items) == 1


# ------------------------------------------------------------------------------------------ thresholds
def test_parse_and_check_thresholds():
    th = metrics.parse_thresholds(["fact_accuracy=0.9"], ["false_refusal_rate=0.1"])
    assert th == [("fact_accuracy", ">=", 0.9), ("false_refusal_rate", "<=", 0.1)]
    assert metrics.check_thresholds({"fact_accuracy": 0.95, "false_refusal_rate": 0.1}, th) == []
    failed = metrics.check_thresholds({"fact_accuracy": 0.8, "false_refusal_rate": 0.2}, th)
    assert len(failed) == 2 and "fact_accuracy = 0.8" in failed[0]
    assert "not computed" in metrics.check_thresholds({"fact_accuracy": None}, th[:1])[0]
    for bad in (["nonsense=1"], ["fact_accuracy"], ["fact_accuracy=high"]):
        with pytest.raises(metrics.ThresholdError):
            metrics.parse_thresholds(bad, [])


def _args(tmp_path, set_path, **kw):
    base = dict(sets=[str(set_path)], compare=None, out=None, json_out=None, mins=[], maxes=[], quiet=True)
    base.update(kw)
    return argparse.Namespace(**base)


@pytest.fixture
def fake_load(monkeypatch):
    import assistant.api

    fake = FakeAssistant({"q1": fake_answer("推荐单次注射血小板数 20-50 亿 [1]", [fake_citation(1, QUOTE)])},
                         fake_passages(("aspn", QUOTE)))
    loads = []
    monkeypatch.setattr(assistant.api.Assistant, "load",
                        classmethod(lambda cls, settings=None, retriever=None, chunking="sentences":
                                    loads.append((retriever, chunking)) or fake))
    return loads


def test_main_exit_codes(tmp_path, fake_load, capsys):
    from assistant.config import Settings

    s = Settings.load(data_dir=tmp_path / "data")
    p = _write(tmp_path, [fake_item(turns=["q1"], expected_facts=["20-50 亿"], evidence_quote=QUOTE)])
    assert ev.main(_args(tmp_path, p, mins=["fact_accuracy=0.9"], maxes=["false_refusal_rate=0"]), s) == 0
    assert ev.main(_args(tmp_path, p, mins=["hit_at_1=1.1"]), s) == 1
    assert "EVAL THRESHOLDS FAILED" in capsys.readouterr().err
    assert ev.main(_args(tmp_path, p, maxes=["pass_rate=0.5"]), s) == 1
    assert ev.main(_args(tmp_path, p, mins=["bogus=1"]), s) == 2
    assert "unknown metric 'bogus'" in capsys.readouterr().err
    assert ev.main(_args(tmp_path, p, compare="bm25,nope"), s) == 2
    assert ev.main(_args(tmp_path, tmp_path / "none.jsonl"), s) == 2


def test_main_compare_writes_json_and_report(tmp_path, fake_load, capsys):
    from assistant.config import Settings

    s = Settings.load(data_dir=tmp_path / "data")
    p = _write(tmp_path, [fake_item(turns=["q1"], expected_facts=["20-50 亿"], evidence_quote=QUOTE),
                          fake_item(id="t2", turns=[""], expected_facts=["x"])])
    args = _args(tmp_path, p, compare="bm25,dense,hybrid,chatchat750", out=str(tmp_path / "rep"),
                 json_out=str(tmp_path / "out.json"))
    assert ev.main(args, s) == 0
    assert fake_load == [("bm25", "sentences"), ("dense", "sentences"), ("hybrid", "sentences"),
                         ("dense", "chatchat750")]
    out = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert {"n", "metrics", "by_category", "by_language", "by_audience", "confusion", "items", "configs"} <= set(out)
    assert set(out["configs"]) == {"bm25", "dense", "hybrid", "chatchat750"} and out["config"] == "hybrid"
    assert set(scoring.METRICS) <= set(out["metrics"])
    item = out["items"][1]
    assert {"id", "passed", "failures", "answer", "citations", "level", "refused", "latency_ms"} <= set(item)
    assert item["passed"] is False and item["failures"][0].startswith("error: InputError")
    md = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert "Configurations side by side" in md and "20 worst items" in md and "t2" in md
    assert (tmp_path / "rep" / "chart.png").stat().st_size > 1000
    assert "items" not in json.loads((tmp_path / "rep" / "metrics.json").read_text(encoding="utf-8"))
    stdout = capsys.readouterr().out
    assert "chatchat750" in stdout and "fact_accuracy" in stdout and "1/2 items passed" in stdout


def test_single_config_chart_is_by_category(tmp_path):
    out = report.build_payload({"hybrid": fake_results()}, "hybrid")
    report.write_report(tmp_path, out)
    assert (tmp_path / "chart.png").stat().st_size > 1000
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "## By category" in md and "Configurations side by side" not in md
    reasons = dict(report.failure_reasons(out["items"]))
    assert reasons == {"fact missing": 1, "refused but in scope": 1, "guard: expected warn got none": 1, "error": 1}


# ------------------------------------------------------------------------------------------ integration
@pytest.mark.integration
def test_eval_against_the_real_assistant(assistant, tmp_path):
    rows = [
        fake_item(id="i1", turns=["PRP 单次注射推荐的血小板数是多少?"], category="dose", expected_facts=["20-50 亿"],
                  evidence_quote="PRP:推荐单次注射血小板数 20-50 亿"),
        fake_item(id="i2", lang="en", turns=["What is the recommended platelet dose per PRP injection?"],
                  category="dose", expected_facts=["5 billion"], evidence_quote="PRP:推荐单次注射血小板数 20-50 亿"),
        fake_item(id="i3", turns=["PRP 术前需要停用 NSAIDs 多久?"], category="dose", expected_facts=["7 天"],
                  patient={"nsaid_last_dose_days_ago": 3}, expected_guard="block",
                  evidence_quote="术前需停用 NSAIDs 至少 7 天以避免抑制血小板活性"),
        fake_item(id="i4", lang="en", turns=["Does PRP work for migraine?"], category="out_of_scope",
                  expected_source=None, must_not_say=["400-622-0089"]),
        fake_item(id="i5", turns=["間充質幹細胞對哪些情況可能更有效?"], expected_facts=["中重度软骨损伤"],
                  evidence_quote="间充质干细胞(MSCs)对中重度软骨损伤或神经病理性疼痛可能更有效"),
        fake_item(id="i6", turns=[""]),  # invalid: InputError, reported as a failure
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        items = scoring.load_set(_write(tmp_path, rows))
    res = ev.run(assistant, items)
    m = metrics.aggregate(res)
    assert m["n"] == 6 and m["errors"] == 1
    assert res[5].failures[0].startswith("error: InputError")
    assert m["hit_at_5"] == 1.0 and m["fact_accuracy"] >= 0.75
    assert m["refusal_accuracy"] == 1.0 and m["must_not_say_violations"] == 0
    assert m["latency_ms_p50"] > 0
    out = report.build_payload({"hybrid": res}, "hybrid")
    report.write_report(tmp_path / "rep", out)
    assert (tmp_path / "rep" / "report.md").is_file() and (tmp_path / "rep" / "chart.png").is_file()


def test_an_evidence_quote_written_as_the_source_file_has_it_is_found():
    from assistant.evaluation.scoring import holds
    row = "<tr><td>45–59</td><td>50 mg once daily</td><td>+50 mg every 4 weeks</td><td>600 mg</td></tr>"
    ingested = ("Table 3. Allopurinol dose by renal function · eGFR (mL/min/1.73 m²): 45–59 · Starting dose: 50 mg once "
                "daily，Titration step: +50 mg every 4 weeks，Maximum daily dose: 600 mg。")
    assert holds(row, ingested)
    assert not holds(row, ingested.replace("600 mg", "400 mg"))  # another row: one cell differs
    assert holds(r"urate remains $\geq 6 \mathrm{mg/dL}$ after 4 weeks", "if serum urate remains ≥6 mg/dL after 4 weeks")
    assert not holds("remains below 5 mg/dL", "if serum urate remains ≥6 mg/dL after 4 weeks")
