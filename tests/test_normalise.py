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
    # under the page's 参考资料 heading, so the reference list takes it (it is never answer material either way)
    assert len(alz) == 1 and alz[0].reason in ("navigation (linked article title)", "reference list")
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


# -- the seeds normalise exactly as before the journal-article rules were added ---------------

# (start, end, kind) of every segment, recorded before front/back matter, loader noise, list and
# PDF-line rules existed; sections and removal reasons are locked by hash.
SEED_SEGMENTS = {
    ASPN_ID: (
        "0-132p 135-144h 147-295i 298-344i 347-358h 361-435i 438-536i 539-581i 584-591h 594-661p 664-672h "
        "675-725i 728-794i 797-804h 807-879i 882-922i 925-932h 935-1015i 1018-1096i 1099-1107h 1110-1164i "
        "1167-1212i 1215-1221h 1224-1263i 1266-1321i 1324-1331h 1334-1380p 1383-1435p 1438-1444h 1447-1498p "
        "1501-1551p 1554-1566h 1569-1633i 1636-1689i 1692-1698h 1701-1751p 1754-1787p 1790-1796h 1799-1846i "
        "1849-1891i 1894-1900h 1903-1955p 1958-1990p 1993-1999h 2002-2041i 2044-2089i 2092-2100h 2103-2142p "
        "2143-2312p", "1ff6da306b556cf4", "", "97d170e1550eee4a"),
    BMAC_ID: (
        "112-141h 143-273p 275-410p 474-568p 570-706i 708-872p 874-899h 901-1037p 1039-1145p 1147-1169h "
        "1171-1237p 1239-1348p 1350-1358p 1364-1390p 1395-1460p 1462-1482h 1484-1657p 1659-1776p 1778-1801h "
        "1803-1938p 1944-1991i 1996-2042i 2047-2108i 2110-2230p 2232-2298p 2300-2309h 2311-2445p 2447-2516p "
        "2615-2669p 2671-2920p 2922-3055p 3057-3228p 3230-3386p 3388-3429h 3431-3469h 3471-3652p 3654-3792p "
        "3794-3825h 3827-3866p 3868-4002i 4004-4216i 4218-4252h 4254-4418p 4420-4437p 4439-4516i 4518-4613i "
        "4615-4674i 4676-4735p 4737-4765h 4767-4822p 4824-4946i 4948-5014i 5016-5158i 5160-5162h 5164-5296p "
        "5298-5441i", "9c58b78afc3230fd",
        # the web page's reference (参考资料 + [1]…DOI) is set aside as a reference list since issue 9
        "0-30 34-40 45-53 56-62 67-110 412-441 443-472 2518-2552 2553-2587 2588-2600 2601-2613 5443-5448 "
        "5450-5860 5862-5940 5942-5974 5975-5991", "f74ed942e6136286"),
}


def _digest(items) -> str:
    import hashlib
    import json

    return hashlib.sha1(json.dumps(items, ensure_ascii=False).encode()).hexdigest()[:16]


@pytest.mark.parametrize("doc_id", [ASPN_ID, BMAC_ID])
def test_seed_segments_and_removals_are_locked(doc_id, request):
    norm: Normalised = request.getfixturevalue("aspn" if doc_id == ASPN_ID else "bmac")
    segments, sections, removals, reasons = SEED_SEGMENTS[doc_id]
    assert " ".join(f"{s.start}-{s.end}{s.kind[0]}" for s in norm.segments) == segments
    assert _digest([list(s.section) for s in norm.segments]) == sections
    assert " ".join(f"{r.start}-{r.end}" for r in norm.removals) == removals
    assert _digest([r.reason for r in norm.removals]) == reasons


# -- journal articles: front matter, back matter, page furniture ------------------------------

ARTICLE = r"""中华风湿病学杂志 2025年3月 第29卷 第3期 Chin J Rheumatol, March 2025, Vol.29, No.3

·共识与指南·

# 甲氨蝶呤治疗类风湿关节炎中国专家共识（2025版）

全国风湿病合理用药协作组

王建华 $^{1}$  李明 $^{2}$  张晓燕 $^{1}$

$^{1}$ 华北医科大学第一医院风湿免疫科，石家庄 050031；$^{2}$ 东海大学附属中山医院风湿免疫科，上海 200032

通信作者：王建华，Email：wangjianhua@hbfh.example.cn

DOI: 10.3760/cma.j.cn141217-20250301-00123

【摘要】 甲氨蝶呤（methotrexate，MTX）是类风湿关节炎治疗的锚定药物。本共识形成14条推荐意见，以期为临床医师规范使用MTX提供参考。

【关键词】 关节炎，类风湿；甲氨蝶呤；专家共识

基金项目：国家重点研发计划（2022YFC2509800）

# Chinese expert consensus on methotrexate in rheumatoid arthritis (2025 edition)

National Collaborative Group on Rational Use of Antirheumatic Drugs

Corresponding author: Wang Jianhua, Email: wangjianhua@hbfh.example.cn

【Abstract】 Methotrexate (MTX) is the anchor drug in the treatment of rheumatoid arthritis. The panel developed 14 recommendations.

收稿日期：2025-01-06  修回日期：2025-02-18  本文编辑：沈冰

引用本文：全国风湿病合理用药协作组. 甲氨蝶呤治疗类风湿关节炎中国专家共识（2025版）[J]. 中华风湿病学杂志, 2025, 29(3): 161-170.

ORCID: 0000-0002-1825-0097

类风湿关节炎（rheumatoid arthritis，RA）是一种慢性系统性自身免疫病，未经规范治疗者可在发病后2年内出现骨侵蚀[1-2]。

# 一、剂量方案

推荐意见3：MTX起始剂量为7.5～15 mg/周（证据等级：B，推荐强度：强）。

中华风湿病学杂志 2025年3月 第29卷 第3期 Chin J Rheumatol, March 2025, Vol.29, No.3

· 213 ·

MTX的绝对禁忌证包括：

- 妊娠及哺乳期

- 严重肝损害

- 活动性感染

作者贡献声明 王建华：共识设计；李明：文献检索

利益冲突 所有作者均声明不存在利益冲突

# 参考文献

[1] Smolen JS, Aletaha D, McInnes IB. Rheumatoid arthritis[J]. Lancet, 2016, 388(10055): 2023-2038.

[2] 中华医学会风湿病学分会. 2018中国类风湿关节炎诊疗指南[J]. 中华内科杂志, 2018, 57(4): 242-251.

Arthritis Rheumatol, 2014, 66(5): 1101-1110.

# 附录 常见临床问题解答

问题1：体重较低的患者是否需要按体重计算MTX剂量？

答：一般按固定剂量给药。
"""


@pytest.fixture(scope="module")
def article(rules) -> Normalised:
    from assistant.markup import clean_markup

    return normalise("mtx", clean_markup(ARTICLE)[0], rules)


def _reason_of(doc: Normalised, needle: str) -> str | None:
    hits = [r.reason for r in doc.removals if needle in r.text]
    assert len(hits) <= 1, hits
    return hits[0] if hits else None


@pytest.mark.parametrize("needle", [
    "中华风湿病学杂志 2025年3月", "·共识与指南·", "全国风湿病合理用药协作组", "王建华 李明 张晓燕",
    "华北医科大学第一医院风湿免疫科", "通信作者", "DOI:", "基金项目", "Chinese expert consensus",
    "National Collaborative Group", "Corresponding author", "收稿日期", "引用本文", "ORCID", "作者贡献声明"])
def test_front_matter_is_set_aside(article, needle):
    found = [r for r in article.removals if needle in r.text]
    assert found and all(r.reason == "front matter" for r in found), [(r.text, r.reason) for r in found]
    assert not [s.text for s in article.segments if needle in s.text]


def test_title_and_body_stay_abstract_and_keywords_go(article):
    """The abstract restates the body and the keywords answer nothing: both are set aside, with a reason."""
    texts = [s.text for s in article.segments]
    assert texts[0] == "# 甲氨蝶呤治疗类风湿关节炎中国专家共识（2025版）" and article.segments[0].kind == "heading"
    assert not any(t.startswith(("【摘要】", "【Abstract】", "【关键词】", "【Key words】")) for t in texts)
    assert _reason_of(article, "【摘要】") == _reason_of(article, "【Abstract】") == "abstract (restated in the body)"
    assert _reason_of(article, "【关键词】") == "keywords"
    body = next(s for s in article.segments if s.text.startswith("类风湿关节炎（rheumatoid arthritis"))
    assert body.section == ("甲氨蝶呤治疗类风湿关节炎中国专家共识（2025版）",)
    for s in article.segments:
        assert s.text == article.text[s.start:s.end]


def test_back_matter_and_page_furniture(article):
    assert _reason_of(article, "利益冲突") == "conflict of interest"
    assert _reason_of(article, "· 213 ·") == "page header/footer"
    refs = [r for r in article.removals if r.reason == "reference list"]
    assert [r.text[:8] for r in refs] == ["# 参考文献", "[1] Smol", "[2] 中华医学", "Arthriti"]
    # the appendix after the reference list is content again
    assert any(s.text.startswith("问题1：") for s in article.segments)
    assert any(s.text == "答：一般按固定剂量给药。" for s in article.segments)


def test_list_items_after_a_list_header_are_not_headings(article):
    items = [s for s in article.segments if s.text in ("妊娠及哺乳期", "严重肝损害", "活动性感染")]
    assert [s.kind for s in items] == ["paragraph"] * 3
    assert all(s.section == ("一、剂量方案",) for s in items)


def test_reference_entries_are_removed_anywhere_but_the_seed_format_is_not(rules):
    text = ("结果\nMTX单药疗效确切。\n[12] Smolen JS, Aletaha D. EULAR recommendations[J]. Ann Rheum Dis, 2023, 82(1): 3-18.\n"
            "[1]:Nallakumarasamy A, Jeyaraman M. World J Stem Cells 2025; 17(12): 112778\n[3] 推荐意见见下文\n")
    n = normalise("r", text, rules)
    assert [(r.text[:8], r.reason) for r in n.removals] == [("[12] Smo", "reference list")]
    assert [s.text[:8] for s in n.segments] == ["结果", "MTX单药疗效确", "[1]:Nall", "[3] 推荐意见"]


def test_loader_noise_spans_are_set_aside(rules):
    text = "Chin J Rheumatol 2025\n正文第一段。\n· 3 ·\n正文第二段。\n"
    noise = [(0, 21, "page header/footer"), (text.index("· 3 ·"), text.index("· 3 ·") + 5, "page header/footer")]
    n = normalise("p", text, rules, noise)
    assert [(r.text, r.reason) for r in n.removals] == [("Chin J Rheumatol 2025", "page header/footer"),
                                                        ("· 3 ·", "page header/footer")]
    assert [s.text for s in n.segments] == ["正文第一段。", "正文第二段。"]


def test_dotted_headings_nest_and_pdf_line_fragments_are_not_headings(rules):
    text = ("一、共识制订方法\n1.1 共识制订小组\n共识制订小组由指导委员会组成。\n1.2 文献检索\n"
            "检索时间为建库至2024年10月，\n影响依从性的原因包括（特别是\n项目\n起始剂量\n最大剂量\n目标剂量\n"
            "推荐意见如下。\n")
    n = normalise("d", text, rules)
    heads = [(s.text, s.section) for s in n.segments if s.kind == "heading"]
    assert heads == [("一、共识制订方法", ("一、共识制订方法",)),
                     ("1.1 共识制订小组", ("一、共识制订方法", "1.1 共识制订小组")),
                     ("1.2 文献检索", ("一、共识制订方法", "1.2 文献检索"))]
    # a clause ("，"), an unclosed bracket and a run of short table cells are paragraphs
    assert all(s.section == ("一、共识制订方法", "1.2 文献检索") for s in n.segments[5:])


MTX = Path(__file__).resolve().parent / "data" / "second-guideline" / "mtx-ra-consensus-2025"


@pytest.mark.parametrize("suffix", [".md", ".pdf"])
def test_real_guideline_conversion_if_present(rules, suffix):
    """A realistic converted guideline: no apparatus reaches a segment, and every span is exact."""
    path = MTX.with_suffix(suffix)
    if not path.exists():
        pytest.skip(f"{path.name} not present")
    from assistant.loaders import read_document

    doc = read_document(path)
    n = normalise("mtx", doc.text, rules, doc.noise)
    known = {"front matter", "reference list", "conflict of interest", "page header/footer",
             "image or table caption", "repeated line (caption or banner)", "abstract (restated in the body)",
             "keywords"}
    assert {r.reason for r in n.removals} <= known
    assert {"front matter", "reference list"} <= {r.reason for r in n.removals}
    for s in n.segments:
        assert s.text == doc.text[s.start:s.end]
        assert not any(x in s.text for x in ("@", "DOI:", "$", "<td>", "\\mathrm", "[J]."))


def test_markdown_sections_under_the_title_do_not_nest(rules):
    """"## 1." and "## 2." right under a "# Title" (or with no title at all) are siblings, and a "---" thematic
    break in Markdown is not the dashed-list layout of a scraped page."""
    scope = "This guideline covers the long-term management of adults with gout in primary and secondary care."
    start = "Allopurinol should be started at no more than 100 mg daily and titrated by 100 mg every 4 weeks."
    after = "Patients should be reviewed every 4 weeks during titration until the serum urate target is reached."
    renal = "In patients with an eGFR below 30 mL/min the starting dose of allopurinol is 50 mg daily."
    text = f"# Guideline\n\n## 1. Scope\n\n{scope}\n\n---\n\n## 2. Dosing\n\n{start}\n\n---\n\n{after}\n\n---\n\n" \
           f"### 2.1 Renal\n\n{renal}\n"
    for body, top in ((text, ("Guideline",)), (text.replace("# Guideline\n\n", ""), ())):
        sections = {s.text: s.section for s in normalise("g", body, rules).segments}
        assert sections[start] == sections[after] == top + ("2. Dosing",), sections
        assert sections[renal] == top + ("2. Dosing", "2.1 Renal")


def test_a_long_english_authoring_group_line_is_front_matter(rules):
    """A Chinese consensus's English front matter: its authoring groups on one 240-character line, no
    sentence in it (it was answer material, and made "the guideline is English-only" notes)."""
    groups = ("Thrombosis Prevention and Treatment Committee of Cardiovascular Physicians Branch of Chinese Medical "
              "Doctor Association; Pulmonary Vascular Disease Group of Chinese Society of Cardiology; Writing Group "
              "of Chinese Expert Consensus on Standardized Management of Warfarin Anticoagulation")
    text = f"# 华法林抗凝治疗规范管理中国专家共识\n\n{groups}\n\n华法林是维生素K拮抗剂的代表药物，至今仍是重要的口服抗凝药。\n"
    doc = normalise("warfarin", text, rules)
    assert len(groups) > 200 and _reason_of(doc, "Writing Group") == "front matter"
    assert any("维生素K拮抗剂" in s.text for s in doc.segments)
