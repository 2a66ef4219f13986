"""Converter markup -> text (markup.clean_markup): MinerU-style Markdown from guideline PDFs.

What matters: numbers read as the guideline printed them ("≥60 mL/min", never "6 0"), a table row
is one sentence that carries its caption, row and column headers, and every clean character
points back to the raw character it came from.
"""
from __future__ import annotations

import pytest

from assistant.chunk import sentence_spans
from assistant.markup import circled, clean_markup, has_markup, raw_span
from assistant.model import Segment


def clean(raw: str) -> str:
    text, offsets = clean_markup(raw)
    assert len(offsets) == len(text)
    assert all(0 <= o < len(raw) for o in offsets)
    return text


@pytest.mark.parametrize("raw, expected", [
    (r"$8 2 \%$", "82%"),
    (r"$1 5 \mathrm{mg}$", "15 mg"),
    (r"$\geqslant 6 0 \mathrm{mL/min}$", "≥60 mL/min"),
    (r"$\leqslant 3 0$", "≤30"),
    (r"$\geq 1 8$ 岁", "≥18 岁"),
    (r"$\leq 5$", "≤5"),
    (r"$< 3 0 \mathrm{mL/min}$", "<30 mL/min"),
    (r"$> 1 5 \mathrm{mg}$", ">15 mg"),
    (r"$< 3 . 0 \times 1 0 ^ { 9 } / \mathrm{L}$", "<3.0×10^9/L"),
    (r"$\textcircled{2}$", "②"),
    (r"$\textcircled{20}$", "⑳"),
    (r"$7 . 5 \sim 1 5 \mathrm{mg}$", "7.5～15 mg"),
    (r"$\pm 2 . 5$", "±2.5"),
    (r"$\mathrm{mL} \cdot \mathrm{min}^{-1}$", "mL·min^-1"),
    (r"$5 \mu \mathrm{mol/L}$", "5 μmol/L"),
    (r"$\text{eGFR}$", "eGFR"),
    (r"$\mathbf{A}$", "A"),
    (r"$3 7 ^ {\circ} \mathrm{C}$", "37°C"),
    (r"$\mathrm{HbA}_{1c}$", "HbA1c"),
    (r"$1 5\,\mathrm{mg}$", "15 mg"),
    (r"$\left( 1 . 7 3 \mathrm{m}^{2} \right)$", "(1.73 m^2)"),
    (r"$\frac{1}{2}$", "1/2"),
    (r"$\unknowncommand$", "unknowncommand"),
])
def test_latex_fragments_read_as_printed(raw, expected):
    assert clean(raw) == expected


def test_fragments_inside_guideline_sentences():
    raw = ("仅 $3 8 . 6 \\%$ 的患者起始剂量达到10 mg/周以上；白细胞计数 $< 3 . 0 \\times 1 0 ^ { 9 } / \\mathrm{L}$ 、"
           "血小板计数 $< 1 0 0 \\times 1 0 ^ { 9 } / \\mathrm{L}$ 时停药。同意率 $\\geqslant 8 0 \\%$ 即视为达成共识。")
    assert clean(raw) == ("仅 38.6% 的患者起始剂量达到10 mg/周以上；白细胞计数 <3.0×10^9/L、"
                          "血小板计数 <100×10^9/L 时停药。同意率 ≥80% 即视为达成共识。")
    # no space is left between a formula and Chinese punctuation or brackets
    assert clean(r"（剂量 $\geqslant 2 5 \mathrm{mg}$ ）") == "（剂量 ≥25 mg）"


def test_circled_numbers_outside_math():
    raw = r"应逐项核实：\textcircled{1} 剂量是否已达到15 mg/周；\textcircled{2} 是否规律用药8～12周。"
    assert clean(raw) == "应逐项核实：① 剂量是否已达到15 mg/周；② 是否规律用药8～12周。"
    assert [circled(n) for n in (1, 10, 20)] == ["①", "⑩", "⑳"] and circled(21) == "(21)"


def test_affiliation_markers_are_dropped_and_exponents_kept():
    assert clean("王建华 $^{1}$  李明 $^{2,3}$  张晓燕 $^{1}$") == "王建华 李明 张晓燕"
    assert clean("张三 $^{1}$ ，李四 $^{[2]}$ ，王五 $^{*}$") == "张三，李四，王五"
    assert clean("$^{1}$ 华北医科大学第一医院风湿免疫科，石家庄 050031；$^{2}$ 东海大学附属中山医院") \
        == "华北医科大学第一医院风湿免疫科，石家庄 050031；东海大学附属中山医院"
    assert clean("按体表面积 1.73 m $^{2}$ 校正") == "按体表面积 1.73 m^2 校正"
    html = "张三<sup>1,2</sup>，研究显示<sup>[3]</sup>，10<sup>9</sup>/L，CD4<sup>+</sup>，HbA<sub>1c</sub>"
    assert clean(html) == "张三，研究显示，10^9/L，CD4+，HbA1c"


def test_images_bold_italic_and_inline_tags():
    raw = ("## 十四、小结\n\n![](images/8c1f0e7a.jpg)\n\n图1 临床路径\n\n**推荐意见1**：MTX是RA的*一线*治疗药物。"
           "<br>第二行 &amp; &lt;5 mg<span>。</span>")
    assert clean(raw) == "## 十四、小结\n\n\n\n图1 临床路径\n\n推荐意见1：MTX是RA的一线治疗药物。\n第二行 & <5 mg。"
    # a "*" bullet is a bullet, not emphasis
    assert clean("**注意**\n* 条目一\n* 条目二") == "注意\n* 条目一\n* 条目二"


def test_plain_text_is_untouched():
    for text in ("富血小板血浆(PRP)注射。\n术前停用 NSAIDs 至少 7 天。\n", "控制血糖 < 7.8mmol/L，a|b", "# 标题\n\n- 条目\n"):
        assert not has_markup(text)
        assert clean_markup(text) == (text, list(range(len(text))))


# -- tables -----------------------------------------------------------------------------------

RENAL = """## 6.2 肾功能不全患者

表2 肾功能不全患者甲氨蝶呤的剂量调整

<table><tr><td>eGFR（mL/min）</td><td>剂量调整</td><td>最大剂量</td><td>监测频率</td></tr><tr><td>$\\geqslant 6 0$</td><td>无需调整</td><td>25 mg/周</td><td>常规监测</td></tr><tr><td>30～44</td><td>常规剂量减少50%；起始剂量不超过5 mg/周</td><td>10 mg/周</td><td></td></tr><tr><td>$< 3 0$</td><td colspan="3">禁用</td></tr><tr><td>血液透析</td><td>禁用</td><td>—</td><td>—</td></tr></table>

注：eGFR为估算肾小球滤过率。
"""


def test_html_table_rows_become_captioned_sentences():
    text = clean(RENAL)
    rows = [ln for ln in text.split("\n") if " · " in ln]
    assert rows == [
        # a bare range as row header ("30～44") is named by its column's header: the row says it is an eGFR
        "表2 肾功能不全患者甲氨蝶呤的剂量调整 · eGFR（mL/min）: ≥60 · 剂量调整: 无需调整，最大剂量: 25 mg/周，监测频率: 常规监测。",
        "表2 肾功能不全患者甲氨蝶呤的剂量调整 · eGFR（mL/min）: 30～44 · 剂量调整: 常规剂量减少50%，起始剂量不超过5 mg/周，"
        "最大剂量: 10 mg/周。",
        "表2 肾功能不全患者甲氨蝶呤的剂量调整 · eGFR（mL/min）: <30 · 剂量调整/最大剂量/监测频率: 禁用。",
        "表2 肾功能不全患者甲氨蝶呤的剂量调整 · 血液透析 · 剂量调整: 禁用。",
    ]
    assert "<" not in text.replace("<30", "")  # no tag survives
    assert "注：eGFR为估算肾小球滤过率。" in text.split("\n")
    for row in rows:  # each row is exactly one sentence for chunking and citing
        seg = Segment("d", 0, len(row), row, "paragraph")
        assert sentence_spans(seg) == [(0, len(row))]


def test_table_header_rows_rowspan_and_group_rows():
    raw = """### 不良反应监测

<table><thead><tr><th rowspan="2">药物</th><th colspan="2">监测</th></tr><tr><th>基线</th><th>随访</th></tr></thead>
<tbody><tr><td colspan="3">传统合成DMARDs</td></tr><tr><td rowspan="2">MTX</td><td>血常规、肝功能</td><td>每4～8周</td></tr>
<tr><td>胸片</td><td></td></tr></tbody></table>
"""
    rows = [ln for ln in clean(raw).split("\n") if " · " in ln]
    # no "表N" caption right above the table: the nearest heading names it
    assert rows == ["不良反应监测 · 传统合成DMARDs · MTX · 监测 基线: 血常规、肝功能，监测 随访: 每4～8周。",
                    "不良反应监测 · 传统合成DMARDs · MTX · 监测 基线: 胸片。"]


def test_markdown_pipe_table():
    raw = "表3：叶酸补充方案\n\n| 方案 | 剂量 | 频次 |\n|---|:---:|---|\n| 叶酸 | 5 mg | 每周1次 |\n| 亚叶酸钙 | $1 5 \\mathrm{mg}$ | |\n\n正文。"
    assert clean(raw) == ("表3：叶酸补充方案\n\n表3：叶酸补充方案 · 叶酸 · 剂量: 5 mg，频次: 每周1次。\n"
                          "表3：叶酸补充方案 · 亚叶酸钙 · 剂量: 15 mg。\n\n正文。")
    # lines with pipes but no |---| separator are not a table
    assert clean("| a | b |\n| c | d |\n**x**") == "| a | b |\n| c | d |\nx"


# -- offsets ----------------------------------------------------------------------------------

def test_offsets_point_back_into_the_raw_text():
    raw = "MTX 起始剂量 $7 . 5 \\sim 1 5 \\mathrm{mg}$ /周，**每周1次**。\n\n" + RENAL
    text, offsets = clean_markup(raw)
    # characters copied verbatim map to themselves
    first = text.split("\n")[0]
    assert first == "MTX 起始剂量 7.5～15 mg/周，每周1次。"
    for i, c in enumerate(first):
        if c in "MTX起始剂量每周次，。":
            assert raw[offsets[i]] == c, (i, c)
    # a rendered number maps into its formula, and the raw span covers the whole formula
    i = text.index("7.5～15 mg")
    s, e = raw_span(raw, offsets, i, i + len("7.5～15 mg"))
    assert raw[s:e] == "7 . 5 \\sim 1 5 \\mathrm{mg}$"
    # a table row's generated text maps to its <tr>, its values to their <td>
    row = next(ln for ln in text.split("\n") if "血液透析" in ln)
    start = text.index(row)
    assert raw[offsets[start]:].startswith("<tr><td>血液透析")
    s, e = raw_span(raw, offsets, start, start + len(row))
    assert raw[s:e].startswith("<tr><td>血液透析</td><td>禁用</td>") and "30～44" not in raw[s:e]
