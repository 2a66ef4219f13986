"""Stage 1, noise removal and structure (issue "Core pipeline").

The BMAC file is a real company web-page scrape: hotline, address, slogan, navigation, a linked
article title, repeated title and captions and a disclaimer surround the medical text. None of that
may reach a segment (and so an answer or citation), and every segment must still be an exact span
of the original text so that citations can be highlighted.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from assistant.normalise import Normalised, fold, load_noise_rules, normalise

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
BMAC_ID = "bmac-subchondral-knee-oa"
ASPN_ID = "aspn-2024-regenerative-chronic-pain"


@pytest.fixture(scope="module")
def rules():
    return load_noise_rules(str(CORPUS / "noise.yaml"))


def _norm(doc_id: str, rules) -> Normalised:
    text = (CORPUS / "sources" / f"{doc_id}.zh.txt").read_text(encoding="utf-8")
    return normalise(doc_id, text, rules)


@pytest.fixture(scope="module")
def bmac(rules) -> Normalised:
    return _norm(BMAC_ID, rules)


@pytest.fixture(scope="module")
def aspn(rules) -> Normalised:
    return _norm(ASPN_ID, rules)


def _removed(doc: Normalised, needle: str) -> list:
    return [r for r in doc.removals if needle in r.text]


# -- the BMAC web scrape -----------------------------------------------------------------------

def test_bmac_page_noise_is_removed_with_reasons(bmac):
    hotline = _removed(bmac, "400-622-0089")
    assert len(hotline) == 1 and hotline[0].reason.startswith("contact")
    assert "139-6700-7000" in hotline[0].text  # the Telegram number sits on the same line
    address = _removed(bmac, "中国,浙江,杭州")
    assert len(address) == 1 and address[0].reason.startswith("contact")
    assert [r.reason for r in _removed(bmac, "即时推送国内外干细胞临床医学资讯")] == ["site slogan"]
    assert [r.reason for r in _removed(bmac, "上一篇")] == ["navigation"]
    alz = _removed(bmac, "阿尔茨海默")
    assert len(alz) == 1 and "linked article title" in alz[0].reason
    assert [r.reason for r in _removed(bmac, "免责说明")] == ["disclaimer"]


def test_bmac_repeated_title_and_both_caption_copies_are_removed(bmac):
    title = "干细胞治疗骨关节炎:选择软骨下还是关节内注射?那种效果好?"
    # the title occurs three times; the first is the page heading, the two repeats are banners
    assert len(_removed(bmac, title)) == 2
    assert [s.kind for s in bmac.segments if s.text == title] == ["heading"]
    fig = _removed(bmac, "图1:系统评价和荟萃分析")
    tab = _removed(bmac, "表1:纳入研究的特征表")
    assert len(fig) == 2 and len(tab) == 2
    assert all("caption" in r.reason for r in fig + tab)
    # a sentence that mentions the figure is content, not a caption
    assert any("研究纳入流程图见图1" in s.text for s in bmac.segments)


@pytest.mark.parametrize("needle", ["400-622-0089", "139-6700-7000", "免责", "上一篇", "阿尔茨海默",
                                    "即时推送", "公司地址", "联系我们"])
def test_no_segment_carries_page_noise(bmac, needle):
    assert not [s.text for s in bmac.segments if needle in s.text]


@pytest.mark.parametrize("doc", ["bmac", "aspn"])
def test_every_segment_and_removal_is_an_exact_span(doc, request):
    norm: Normalised = request.getfixturevalue(doc)
    assert norm.segments
    for s in norm.segments:
        assert s.text == norm.text[s.start:s.end]
        assert s.text == s.text.strip() and s.text
    for r in norm.removals:
        assert r.text == norm.text[r.start:r.end]
    # segments come in text order and never overlap each other or a removal
    spans = sorted([(s.start, s.end) for s in norm.segments] + [(r.start, r.end) for r in norm.removals])
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def test_bmac_medical_content_is_kept(bmac):
    joined = "\n".join(s.text for s in bmac.segments)
    for needle in ("膝关节骨关节炎是一种影响整个关节器官的复杂疾病", "80%的膝关节避免了全膝关节置换术",
                   "开展样本量超过200例的多中心RCT"):
        assert needle in joined


def test_bmac_headings(bmac):
    headings = {s.text: s for s in bmac.segments if s.kind == "heading"}
    assert "结论" in headings
    assert "一、 研究范式转变:从“软骨中心论”到“全关节观”" in headings
    assert "四、 再生医学新策略:靶向软骨下的BMAC疗法" in headings
    # "1、..." questions nest under the section heading before them
    q1 = next(s for s in bmac.segments if s.text.startswith("1、与传统的关节腔内注射相比"))
    assert q1.kind == "heading"
    assert q1.section == ("软骨下注射对比关节腔内注射BMAC治疗膝骨关节炎:优势证据、作用机制与临床范式转变", q1.text)
    # a paragraph under 结论 carries the 结论 section
    p = next(s for s in bmac.segments if s.text.startswith("长期随访对于评估软骨下BMAC疗法"))
    assert p.section == ("结论",)
    # long sentences are never headings
    assert all(len(s.text) <= 60 for s in headings.values())


def test_bmac_bullets_are_stripped_from_the_span(bmac):
    item = next(s for s in bmac.segments if "增加软骨下骨内压" in s.text)
    assert item.text.startswith("1) 增加软骨下骨内压")
    assert "•" not in item.text
    assert item.section == ("二、 核心驱动因素:软骨下骨髓病变的病理作用",)


# -- the ASPN guideline: "-" separator lines are structure ------------------------------------

def test_aspn_dash_separators_become_structure(aspn):
    assert not any(s.text in "-–—" for s in aspn.segments)
    assert not aspn.removals  # separators are structure, not noise worth a report line
    prp = next(s for s in aspn.segments if s.text.startswith("PRP:推荐单次注射"))
    assert prp.kind == "item"
    assert prp.section == ("生物制剂选择与剂量优化", "PRP")
    assert "术前需停用 NSAIDs 至少 7 天" in prp.text
    heading = next(s for s in aspn.segments if s.text == "生物制剂选择与剂量优化")
    assert heading.kind == "heading" and heading.section == ("生物制剂选择与剂量优化",)
    stem = next(s for s in aspn.segments if s.text.startswith("干细胞疗法:"))
    assert stem.section == ("生物制剂选择与剂量优化", "干细胞疗法")


def test_aspn_free_paragraphs_close_the_last_section(aspn):
    first, last = aspn.segments[0], aspn.segments[-1]
    assert first.text.startswith("2024 年发布的") and first.section == ()
    assert last.text.startswith("2024 年再生医学指南为慢性疼痛管理") and last.section == ()
    # a paragraph right after its heading keeps the heading's section
    multi = next(s for s in aspn.segments if s.text.startswith("指南建议再生医学疗法与物理治疗"))
    assert multi.kind == "paragraph" and multi.section == ("多模式联合策略",)


# -- small synthetic cases ---------------------------------------------------------------------

def test_markdown_headings_nest(rules):
    text = "# 指南标题\n\n## 适应症\n\n早期骨关节炎可考虑 PRP 注射。\n\n## 禁忌症\n\n妊娠患者应避免使用。\n\n# 附录\n\n其他内容。\n"
    n = normalise("md", text, rules)
    kinds = [(s.kind, s.section) for s in n.segments]
    assert kinds == [
        ("heading", ("指南标题",)),
        ("heading", ("指南标题", "适应症")),
        ("paragraph", ("指南标题", "适应症")),
        ("heading", ("指南标题", "禁忌症")),
        ("paragraph", ("指南标题", "禁忌症")),
        ("heading", ("附录",)),
        ("paragraph", ("附录",)),
    ]
    assert n.segments[1].text == "## 适应症" == text[n.segments[1].start:n.segments[1].end]


def test_bullet_list_items(rules):
    text = "注意事项\n  • 禁忌症:严重感染者禁用本疗法。\n  - 术后需限制负重 1-2 周。\n  * 第三项说明内容。\n"
    n = normalise("b", text, rules)
    items = n.segments[1:]
    assert [s.text for s in items] == ["禁忌症:严重感染者禁用本疗法。", "术后需限制负重 1-2 周。", "第三项说明内容。"]
    assert items[0].kind == "item" and items[0].section == ("注意事项", "禁忌症")
    assert items[1].kind == "paragraph" and items[1].section == ("注意事项",)
    for s in n.segments:
        assert s.text == text[s.start:s.end]


def test_caption_lines_are_removed_but_references_to_them_are_kept(rules):
    text = "结果\n详见图2所示的流程。\n图2: 纳入流程图\nTable 3. Baseline characteristics\n表3纳入标准的说明文字。\n"
    n = normalise("c", text, rules)
    assert [r.text for r in n.removals] == ["图2: 纳入流程图", "Table 3. Baseline characteristics"]
    assert all("caption" in r.reason for r in n.removals)
    assert [s.text for s in n.segments] == ["结果", "详见图2所示的流程。", "表3纳入标准的说明文字。"]


def test_repeated_line_keeps_the_first_copy_only(rules):
    text = "再生医学新闻\n第一段正文内容。\n再生医学新闻\n再生医学新闻\n"
    n = normalise("r", text, rules)
    assert [s.text for s in n.segments] == ["再生医学新闻", "第一段正文内容。"]
    assert [r.start for r in n.removals] == [text.index("再生医学新闻", 1), text.rindex("再生医学新闻")]


def test_fold_matches_full_width_and_case():
    assert fold("ＰＲＰ 注射") == fold("prp注射") == "prp注射"
