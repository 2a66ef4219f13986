"""Golden table for assistant.quantities: what each surface form must parse to.

Rows marked "cn2an" are the ones cn2an gets wrong (or crashes on) in at least
some releases; they pin the exact Decimal answer.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from assistant.quantities import (
    Quantity,
    format_en,
    format_zh,
    parse_number,
    parse_quantities,
    values,
)

D = Decimal
Row = tuple[str, str, str | None, str | None]  # low, high, unit, comparator


def q(low: str, high: str | None = None, unit: str | None = None, cmp: str | None = None) -> Row:
    return (low, high if high is not None else low, unit, cmp)


GOLDEN: list[tuple[str, list[Row]]] = [
    # --- corpus: aspn-2024-regenerative-chronic-pain.zh.txt -------------------
    ("推荐单次注射血小板数 20-50 亿", [q("2e9", "5e9")]),
    ("术前需停用 NSAIDs 至少 7 天以避免", [q("7", unit="day", cmp=">=")]),
    ("术后需限制负重 1-2 周并结合康复训练", [q("1", "2", "week")]),
    ("常用剂量为 5000 万 - 1 亿个细胞", [q("5e7", "1e8", "count")]),
    ("如椎间盘内注射 600 万 MPCs + 透明质酸", [q("6e6", unit="count")]),
    ("显著缓解慢性腰痛至少 2 年", [q("2", unit="year", cmp=">=")]),
    ("长期(6-12 个月)镇痛效果", [q("6", "12", "month")]),
    ("在 5 年随访中", [q("5", unit="year")]),
    ("VAS 评分降低 50% 以上", [q("50", unit="percent", cmp=">=")]),
    ("VAS 评分下降 40%-60%", [q("40", "60", "percent")]),
    ("尤其适用于病程 < 68 个月的患者", [q("68", unit="month", cmp="<")]),
    ("亚急性期(损伤 < 6 个月)患者", [q("6", unit="month", cmp="<")]),
    ("PRP 注射的 1 年复发率", [q("1", unit="year")]),
    ("肿胀发生率约 5%-10%,通常在 1-2 周内自行消退",
     [q("5", "10", "percent"), q("1", "2", "week")]),
    ("感染、血栓形成罕见(<0.5%)", [q("0.5", unit="percent", cmp="<")]),
    ("染色体异常(如 7 号染色体三体)", [q("7")]),
    ("确保血小板浓度≥基线值的 3 倍、干细胞活细胞率≥95%",
     [q("3", unit="x_baseline", cmp=">="), q("95", unit="percent", cmp=">=")]),
    ("建议干细胞直径 < 25 微米以降低栓塞风险", [q("25", unit="um", cmp="<")]),
    ("PRP 单次费用较高(约 2000-5000 美元)", [q("2000", "5000", "usd")]),
    ("建议采用低剂量(如 5000 万 MSCs)", [q("5e7", unit="count")]),
    ("PRP 治疗前需控制血糖 < 7.8mmol/L", [q("7.8", unit="mmol/L", cmp="<")]),
    ("2024 年发布的《多专业工作组共识报告》", [q("2024", unit="year")]),
    ("在脊髓损伤后神经性疼痛的 II 期试验中", []),
    ("抗炎因子(如 IL-10)表达", [q("10")]),
    ("如抗 CCP 抗体、CXCL13", []),
    ("凝血功能筛查(如血小板计数、D - 二聚体)", []),
    # --- corpus: bmac-subchondral-knee-oa.zh.txt ----------------------------
    ("每年额外丢失1.14%的体积", [q("1.14", unit="percent")]),
    ("并使患者在4年内接受全膝关节置换术", [q("4", unit="year")]),
    ("体积显著缩小(例如平均减少2.1cm³)", [q("2.1", unit="cm3")]),
    ("KSS评分从57大幅提升至87.3", [q("57"), q("87.3")]),
    ("KOOS评分在12个月时从49.1提高到61.2", [q("12", unit="month"), q("49.1"), q("61.2")]),
    ("总计298个膝关节", [q("298", unit="count")]),
    ("该研究对60名双侧膝骨关节炎患者", [q("60", unit="count")]),
    ("Silva等人(2022)的随机对照试验", [q("2022")]),
    ("并在长达13年的随访中使80%的膝关节避免了", [q("13", unit="year"), q("80", unit="percent")]),
    ("经过平均约15年的长期随访", [q("15", unit="year")]),
    ("持续2年以上的临床获益", [q("2", unit="year", cmp=">=")]),
    ("有研究显示2年内增加约2.4%", [q("2", unit="year"), q("2.4", unit="percent")]),
    ("开展样本量超过200例的多中心RCT", [q("200", unit="count", cmp=">")]),
    ("进行至少5年的长期随访", [q("5", unit="year", cmp=">=")]),
    ("共纳入五项研究(三项随机对照试验、两项前瞻性队列研究)",
     [q("5", unit="count"), q("3", unit="count"), q("2", unit="count")]),
    ("治疗两年后KSS评分", [q("2", unit="year")]),
    ("2026年1月21日", [q("2026", unit="year"), q("1", unit="month"), q("21", unit="day")]),
    ("World J Stem Cells 2025; 17(12): 112778", [q("2025"), q("17"), q("12"), q("112778")]),
    ("DOI: 10.4252/wjsc.v17.i12.112778", [q("10.4252")]),
    # --- Chinese magnitudes and ranges -------------------------------------
    ("20-50亿", [q("2e9", "5e9")]),
    ("20~50亿", [q("2e9", "5e9")]),
    ("20～50亿", [q("2e9", "5e9")]),
    ("20－50亿", [q("2e9", "5e9")]),
    ("20—50亿", [q("2e9", "5e9")]),
    ("20至50亿", [q("2e9", "5e9")]),
    ("20 至 50 亿", [q("2e9", "5e9")]),
    ("20到50亿", [q("2e9", "5e9")]),
    ("二十至五十亿", [q("2e9", "5e9")]),
    ("5000万-1亿", [q("5e7", "1e8")]),
    ("5000 万 - 1 亿", [q("5e7", "1e8")]),
    ("1-2亿个细胞", [q("1e8", "2e8", "count")]),
    ("2亿个间充质干细胞", [q("2e8", unit="count")]),
    ("1.5亿", [q("1.5e8")]),
    ("16.4亿", [q("1640000000")]),  # cn2an via float: 1639999999
    ("13万2", [q("132000")]),  # cn2an: 13万2 is colloquial 13.2万
    ("十万零一千", [q("101000")]),  # cn2an
    ("一亿二", [q("120000000")]),  # cn2an 0.5.24 raises KeyError
    ("十三万二", [q("132000")]),
    ("三点五亿", [q("3.5e8")]),
    ("两千五百万", [q("25000000")]),
    ("两百", [q("200")]),
    ("5千万", [q("5e7")]),
    ("1亿2000万", [q("1.2e8")]),
    ("0.5亿", [q("5e7")]),
    ("5万元", [q("50000", unit="cny")]),
    ("十二万三千四百五十六元", [q("123456", unit="cny")]),
    ("不超过5000万个细胞", [q("5e7", unit="count", cmp="<=")]),
    ("超过 1 亿", [q("1e8", cmp=">")]),
    ("一百二十五名患者", [q("125", unit="count")]),
    ("百分之五十", [q("50", unit="percent")]),
    ("百分之十五点五", [q("15.5", unit="percent")]),
    ("二〇二四年", [q("2024", unit="year")]),
    ("三四天", [q("3", "4", "day")]),
    ("七八个", [q("7", "8", "count")]),
    ("一至两年", [q("1", "2", "year")]),
    ("两至三周", [q("2", "3", "week")]),
    ("六十岁", [q("60", unit="year")]),
    # --- Chinese units and comparators -------------------------------------
    ("妊娠20周", [q("20", unit="week")]),
    ("3天前", [q("3", unit="day")]),
    ("连续7日", [q("7", unit="day")]),
    ("每2星期一次", [q("2", unit="week")]),
    ("75岁", [q("75", unit="year")]),
    ("第1天", [q("1", unit="day")]),
    ("约 2 周", [q("2", unit="week")]),
    ("2 小时", [q("2", unit="hour")]),
    ("注射 5 毫升", [q("5", unit="mL")]),
    ("3 立方厘米", [q("3", unit="cm3")]),
    ("约 3000 元人民币", [q("3000", unit="cny")]),
    ("500人民币", [q("500", unit="cny")]),
    ("达到 2 倍", [q("2", unit="x_baseline")]),
    ("0.5%以下", [q("0.5", unit="percent", cmp="<=")]),
    ("2年以内", [q("2", unit="year", cmp="<=")]),
    ("少于10%", [q("10", unit="percent", cmp="<")]),
    ("低于 7.8 mmol/L", [q("7.8", unit="mmol/L", cmp="<")]),
    ("不低于 95%", [q("95", unit="percent", cmp=">=")]),
    ("不少于 3 次", [q("3", cmp=">=")]),
    ("大于 18 岁", [q("18", unit="year", cmp=">")]),
    ("小于 25 μm", [q("25", unit="um", cmp="<")]),
    ("不到 1 年", [q("1", unit="year", cmp="<")]),
    ("最多 3 周", [q("3", unit="week", cmp="<=")]),
    ("≤ 5%", [q("5", unit="percent", cmp="<=")]),
    ("＜25 微米", [q("25", unit="um", cmp="<")]),
    ("≧3倍", [q("3", unit="x_baseline", cmp=">=")]),
    ("１２３天", [q("123", unit="day")]),
    ("血糖７.８ｍｍｏｌ／Ｌ", [q("7.8", unit="mmol/L")]),
    ("５０％", [q("50", unit="percent")]),
    # --- Chinese prose that is not an amount ---------------------------------
    ("一种影响整个关节器官的复杂疾病", []),
    ("十分重要", []),
    ("进一步明确", []),
    ("一侧膝关节接受注射", []),
    ("万一出现感染", []),
    ("是最强指标之一", []),
    ("一个观点", []),
    ("一一对应", []),
    ("5,6 号", [q("5"), q("6")]),
    ("5，6", [q("5"), q("6")]),
    ("1、2、3", [q("1"), q("2"), q("3")]),
    # --- English -----------------------------------------------------------
    ("2–5 billion", [q("2e9", "5e9")]),
    ("2-5 billion", [q("2e9", "5e9")]),
    ("2 to 5 billion platelets", [q("2e9", "5e9", "count")]),
    ("20 to 50 billion platelets", [q("2e10", "5e10", "count")]),
    ("50 to 100 million", [q("5e7", "1e8")]),
    ("50 million to 100 million cells", [q("5e7", "1e8", "count")]),
    ("10 billion platelets", [q("1e10", unit="count")]),
    ("2.5 billion", [q("2.5e9")]),
    ("6 million MPCs", [q("6e6", unit="count")]),
    ("1.5×10^8 MSCs", [q("1.5e8", unit="count")]),
    ("1.5-2×10^8 cells", [q("1.5e8", "2e8", "count")]),
    ("3.5 x 10^9 cells", [q("3.5e9", unit="count")]),
    ("1e5 cells", [q("1e5", unit="count")]),
    ("1,000,000 cells", [q("1e6", unit="count")]),
    ("5,000-10,000", [q("5000", "10000")]),
    ("at least 7 days", [q("7", unit="day", cmp=">=")]),
    ("At least 7 days", [q("7", unit="day", cmp=">=")]),
    ("glucose 160 mg/dL", [q("160", unit="mg/dL")]),
    ("100 mg/dl", [q("100", unit="mg/dL")]),
    ("below 7.8 mmol/L", [q("7.8", unit="mmol/L", cmp="<")]),
    ("5.5 mmol/l", [q("5.5", unit="mmol/L")]),
    ("5 mM", [q("5", unit="mmol/L")]),
    ("an 80-year-old", [q("80", unit="year")]),
    ("under 18 years old", [q("18", unit="year", cmp="<")]),
    ("a 5-year follow-up", [q("5", unit="year")]),
    ("2 yrs", [q("2", unit="year")]),
    ("an 80 y/o man", [q("80", unit="year")]),
    ("10 days ago", [q("10", unit="day")]),
    ("5 d", [q("5", unit="day")]),
    ("1-2 weeks", [q("1", "2", "week")]),
    ("3 wk", [q("3", unit="week")]),
    ("6-12 months", [q("6", "12", "month")]),
    ("6 mo", [q("6", unit="month")]),
    ("24h", [q("24", unit="hour")]),
    ("2 to 3 hours", [q("2", "3", "hour")]),
    ("48 hrs", [q("48", unit="hour")]),
    ("40%-60%", [q("40", "60", "percent")]),
    ("40-60%", [q("40", "60", "percent")]),
    ("5%-10%", [q("5", "10", "percent")]),
    ("20 percent", [q("20", unit="percent")]),
    ("≥95%", [q("95", unit="percent", cmp=">=")]),
    ("(<0.5%)", [q("0.5", unit="percent", cmp="<")]),
    ("more than 50%", [q("50", unit="percent", cmp=">")]),
    ("over 200 patients", [q("200", cmp=">")]),
    ("up to 3 times baseline", [q("3", unit="x_baseline", cmp="<=")]),
    ("no more than 5 mL", [q("5", unit="mL", cmp="<=")]),
    ("5 ml", [q("5", unit="mL")]),
    ("less than 25 μm", [q("25", unit="um", cmp="<")]),
    ("5 µm", [q("5", unit="um")]),
    ("10 microns", [q("10", unit="um")]),
    ("3 cubic centimeters", [q("3", unit="cm3")]),
    ("2.1 cm3", [q("2.1", unit="cm3")]),
    ("3-fold", [q("3", unit="x_baseline")]),
    ("1.5 fold", [q("1.5", unit="x_baseline")]),
    ("3x baseline", [q("3", unit="x_baseline")]),
    ("2× baseline", [q("2", unit="x_baseline")]),
    ("4 times the baseline", [q("4", unit="x_baseline")]),
    ("about $2,000-$5,000", [q("2000", "5000", "usd")]),
    ("$2000", [q("2000", unit="usd")]),
    ("US$ 300", [q("300", unit="usd")]),
    ("100 USD", [q("100", unit="usd")]),
    ("2000 to 5000 dollars", [q("2000", "5000", "usd")]),
    ("RMB 500", [q("500", unit="cny")]),
    ("¥500", [q("500", unit="cny")]),
    ("3.5×10^9/L", [q("3.5e9")]),  # per-litre concentrations keep unit None
    ("10^9/L", [q("1e9")]),
    ("P < 0.05", [q("0.05", cmp="<")]),
    ("2 weeks or more", [q("2", unit="week", cmp=">=")]),
    ("one to two weeks", [q("1", "2", "week")]),
    ("seven days", [q("7", unit="day")]),
    ("five studies", [q("5")]),
    ("twenty-five patients", [q("25")]),
    ("three hundred", [q("300")]),
    ("one of the studies", []),
    ("in 2024 the panel", [q("2024")]),
    ("Hernigou et al. (2021)", [q("2021")]),
    ("CXCL13 and IL-10", [q("10")]),
    ("", []),
]


def _rows(text: str) -> list[tuple[Decimal, Decimal, str | None, str | None]]:
    return [(x.low, x.high, x.unit, x.comparator) for x in parse_quantities(text)]


@pytest.mark.parametrize(("text", "expected"), GOLDEN, ids=[f"row{i:03d}" for i in range(len(GOLDEN))])
def test_golden(text: str, expected: list[Row]) -> None:
    want = [(D(lo), D(hi), unit, cmp) for lo, hi, unit, cmp in expected]
    assert _rows(text) == want


def test_golden_table_is_big_enough() -> None:
    assert len(GOLDEN) >= 150


@pytest.mark.parametrize("text", [t for t, _ in GOLDEN])
def test_spans_point_into_the_original(text: str) -> None:
    for x in parse_quantities(text):
        assert text[x.start:x.end] == x.text
        assert x.low <= x.high


PARSE_NUMBER: list[tuple[str, str]] = [
    ("两百", "200"),
    ("三千", "3000"),
    ("十万零一千", "101000"),
    ("5000万", "50000000"),
    ("5000 万", "50000000"),
    ("1.5亿", "150000000"),
    ("16.4亿", "1640000000"),
    ("13万2", "132000"),
    ("13万2千", "132000"),
    ("一亿二", "120000000"),
    ("1,000,000", "1000000"),
    ("10,000,000", "10000000"),
    ("1,234.5", "1234.5"),
    ("3.5×10^9", "3500000000"),
    ("3.5x10^9", "3500000000"),
    ("3.5X10^9", "3500000000"),
    ("3.5*10^9", "3500000000"),
    ("3.5 × 10^9", "3500000000"),
    ("3.5e9", "3500000000"),
    ("3.5E9", "3500000000"),
    ("10⁸", "100000000"),
    ("1.5×10⁸", "150000000"),
    ("10^9", "1000000000"),
    ("2.5 billion", "2500000000"),
    ("50 million", "50000000"),
    ("fifty million", "50000000"),
    ("1 trillion", "1000000000000"),
    ("三点五亿", "350000000"),
    ("两千五百万", "25000000"),
    ("二点零五", "2.05"),
    ("零点五", "0.5"),
    ("一万亿", "1000000000000"),
    ("十", "10"),
    ("十二", "12"),
    ("一百零五", "105"),
    ("一百二", "120"),
    ("三万五", "35000"),
    ("二十万零三", "200003"),
    ("１２３", "123"),
    ("0.5", "0.5"),
    ("007", "7"),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_NUMBER)
def test_parse_number(text: str, expected: str) -> None:
    assert parse_number(text) == D(expected)


@pytest.mark.parametrize("text", ["", "   ", "abc", "万", "亿万", "百", "千万", "十十",
                                  "1.2.3", "5 apples", "3.5×", "一亿万", "五六十", "x10^9"])
def test_parse_number_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        parse_number(text)


def test_parse_number_is_exact_decimal() -> None:
    value = parse_number("16.4亿")
    assert isinstance(value, Decimal)
    assert value == D(1640000000) and str(value) == "1640000000"


@pytest.mark.parametrize(("value", "zh", "en"), [
    ("50000000", "5000万", "50 million"),
    ("1640000000", "16.4亿", "1.64 billion"),
    ("100000000", "1亿", "100 million"),
    ("132000", "13.2万", "132,000"),
    ("200", "200", "200"),
    ("0.5", "0.5", "0.5"),
    ("1234.5", "1234.5", "1,234.5"),
    ("1000000000000", "10000亿", "1 trillion"),
])
def test_format(value: str, zh: str, en: str) -> None:
    assert format_zh(D(value)) == zh
    assert format_en(D(value)) == en
    assert parse_number(zh) == D(value) == parse_number(en)


def test_quantity_fields_and_span() -> None:
    text = "术前需停用 NSAIDs 至少 7 天以避免"
    (x,) = parse_quantities(text)
    assert x.text == "至少 7 天" and text[x.start:x.end] == x.text
    assert not x.is_range
    (r,) = parse_quantities("约 2000-5000 美元")
    assert r.is_range and r.text == "2000-5000 美元"


def test_in_unit_glucose_is_exact() -> None:
    (x,) = parse_quantities("< 7.8mmol/L")
    mg = x.in_unit("mg/dL")
    assert (mg.low, mg.unit, mg.comparator) == (D("140.4"), "mg/dL", "<")
    assert mg.in_unit("mmol/L").low == D("7.8")
    (y,) = parse_quantities("glucose 180 mg/dL")
    assert y.in_unit("mmol/L").low == D(10)


def test_in_unit_weeks_to_days() -> None:
    (x,) = parse_quantities("1-2 周")
    d = x.in_unit("day")
    assert (d.low, d.high, d.unit) == (D(7), D(14), "day")
    assert x.in_unit("week") is x


@pytest.mark.parametrize(("text", "unit"), [
    ("6 个月", "day"), ("1 年", "day"), ("3 天", "week"), ("50%", "mmol/L"), ("5000万", "count"),
])
def test_in_unit_rejects_incompatible(text: str, unit: str) -> None:
    (x,) = parse_quantities(text)
    with pytest.raises(ValueError):
        x.in_unit(unit)


def test_values_match_between_source_and_translation() -> None:
    zh = "推荐单次注射血小板数 20-50 亿,术前需停用 NSAIDs 至少 7 天,术后需限制负重 1-2 周"
    en = ("A single injection of 2 to 5 billion platelets is recommended; NSAIDs are stopped "
          "at least 7 days before, and weight bearing is limited for 1-2 weeks afterwards")
    assert values(zh) == values(en) == {D("2e9"), D("5e9"), D(7), D(1), D(2)}


def test_quantity_is_frozen() -> None:
    (x,) = parse_quantities("5 天")
    assert isinstance(x, Quantity)
    with pytest.raises(AttributeError):
        x.low = D(1)  # type: ignore[misc]


@pytest.mark.parametrize("text", [
    "400-622-0089", "+86-139-6700-7000", "1e999999", "10^999", "９９９９９９９９９９９９９９９９亿亿",
    "点点点", "万万亿亿", "--5--", "~~~", "3.5×10^", "10⁻⁻", "$", "约", "≥", "至少", "1 万 2 千",
    "二十至", "至五十亿", "3.", ".5", "1,", ",000", "1,0000", "五六十岁", "\u3000１\u3000",
])
def test_odd_input_does_not_crash(text: str) -> None:
    for x in parse_quantities(text):
        assert text[x.start:x.end] == x.text


def test_exact_under_a_low_precision_caller_context() -> None:
    import decimal

    with decimal.localcontext() as ctx:
        ctx.prec = 3
        assert parse_number("123456789") == D(123456789)
        (x,) = parse_quantities("1234-5678亿")
        assert (x.low, x.high) == (D("1.234e11"), D("5.678e11"))
